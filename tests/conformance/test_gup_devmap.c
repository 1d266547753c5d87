/* SPDX-License-Identifier: MIT */
/*
 * Conformance: device memory (ZONE_DEVICE) and GUP on it, against Linux 5.7 (mm/gup.c,
 * mm/memremap.c of v5.7): scenarios 31, 39 and 40 below.
 *
 * What is checked: memremap_pages() / memunmap_pages() / get_dev_pagemap() and the state of
 * fresh device pages; dax_file_setup() and DAX mappings (devmap PTEs, devmap PMD leaves, their
 * split by munmap or mprotect, fork); pins and references on device pages through the fast and
 * the slow path (R 1 -> 1025 per pin, the bias scheme: device pages are order 0), the driver's
 * page_free() callback when a page comes back to refcount 1; FOLL_LONGTERM refused with
 * -EOPNOTSUPP; the fast walk undoing what it grabbed when a pagemap lookup fails part-way
 * (undo_dev_pagemap); and shutdown reporting a device page still referenced.
 *
 * The machine has DEVICE_PAGES pfns of device area after 1 GiB of RAM. Its first pfn is 2 MiB
 * aligned (RAM is a multiple of 4 MiB) and memremap_pages() hands out 512-page sections first
 * fit, so consecutive calls get consecutive ranges and every 2 MiB-aligned run of device pfns
 * lies inside one pagemap. The dev_pagemaps live in static storage (the machine keeps pointers
 * to them until shutdown); their page_free() callback counts calls per device pfn.
 *
 * Pictures of address ranges below: one letter per 2 MiB block, "P" a devmap PMD leaf, "t" a
 * block of devmap PTEs, "." nothing mapped.
 */
#include <errno.h>
#include <fcntl.h>

#include "gup_conformance.h"

#define SECTION 512UL                      /* memremap_pages() granularity, pages */
#define DEVICE_PAGES 4096UL                /* 16 MiB of device pfns */
#define BIAS ((int)GUP_PIN_COUNTING_BIAS)
/* 2 MiB-aligned user addresses for MAP_FIXED DAX mappings (1 GiB apart: nothing shares their
 * page tables). */
#define DAX_BASE 0x40000000UL
#define DAX_BASE2 0x80000000UL

/* ---- the driver side: pagemaps and their page_free() callback ---- */

static atomic_int freed[DEVICE_PAGES]; /* page_free() calls, by device pfn - max_pfn */
static atomic_long freed_other;        /* calls for a page outside the device area (a bug) */

static void count_page_free(struct page *page)
{
	unsigned long i = page_to_pfn(page) - max_pfn;

	if (i < DEVICE_PAGES)
		atomic_fetch_add(&freed[i], 1);
	else
		atomic_fetch_add(&freed_other, 1);
}

static const struct dev_pagemap_ops counting_ops = {.page_free = count_page_free};

#define NR_PGMAPS 10
static struct dev_pagemap pgmaps[NR_PGMAPS];

/* pgmaps[i], cleared and filled in for memremap_pages(). */
static struct dev_pagemap *new_pgmap(int i, enum memory_type type, unsigned long nr_pages)
{
	struct dev_pagemap *pgmap = &pgmaps[i];

	memset(pgmap, 0, sizeof(*pgmap));
	pgmap->type = type;
	pgmap->nr_pages = nr_pages;
	pgmap->ops = &counting_ops;
	return pgmap;
}

/* A live FS_DAX pagemap of nr_pages in pgmaps[i]. */
static struct dev_pagemap *remap(int i, unsigned long nr_pages, const char *what)
{
	struct dev_pagemap *pgmap = new_pgmap(i, MEMORY_DEVICE_FS_DAX, nr_pages);
	int ret = memremap_pages(pgmap);

	if (ret)
		fail_msg("%s: memremap_pages(%lu pages) is %d, expected 0", what, nr_pages, ret);
	return pgmap;
}

static int freed_count(unsigned long pfn)
{
	return atomic_load(&freed[pfn - max_pfn]);
}

/* The page_free() calls for pfns [pfn, pfn + n) each moved by `delta` since `before` (a copy of
 * freed[] taken earlier), and no call came for a page outside the device area. */
static void expect_freed(const int *before, unsigned long pfn, unsigned long n, int delta,
			 const char *what)
{
	for (unsigned long i = 0; i < n; i++) {
		int now = freed_count(pfn + i);
		int was = before[pfn + i - max_pfn];

		if (now - was != delta)
			fail_msg("%s: page_free() called %d time(s) for device pfn %#lx (page %lu), "
				 "expected %d", what, now - was, pfn + i, i, delta);
	}
	check_eq(atomic_load(&freed_other), 0, "%s: page_free() calls for non-device pages", what);
}

static void snapshot_freed(int *to)
{
	for (unsigned long i = 0; i < DEVICE_PAGES; i++)
		to[i] = atomic_load(&freed[i]);
}

/* Every page of [pfn, pfn + n) has refcount r and page_maybe_dma_pinned() == mdp. */
static void expect_refs(unsigned long pfn, unsigned long n, int r, bool mdp, const char *what)
{
	for (unsigned long i = 0; i < n; i++) {
		struct page *page = pfn_to_page(pfn + i);

		if (page_ref_count(page) != r)
			fail_msg("%s: device pfn %#lx (page %lu) has refcount %d, expected %d", what,
				 pfn + i, i, page_ref_count(page), r);
		if (page_maybe_dma_pinned(page) != mdp)
			fail_msg("%s: page_maybe_dma_pinned(pfn %#lx) is %d, expected %d (R %d)",
				 what, pfn + i, page_maybe_dma_pinned(page), mdp,
				 page_ref_count(page));
	}
}

/* pages[i] is the struct page of pfn + i, for i < n. */
static void expect_pages(struct page **pages, unsigned long pfn, unsigned long n, const char *what)
{
	for (unsigned long i = 0; i < n; i++)
		if (pages[i] != pfn_to_page(pfn + i))
			fail_msg("%s: pages[%lu] is pfn %#lx, expected device pfn %#lx", what, i,
				 page_to_pfn(pages[i]), pfn + i);
}

/* ---- fixtures ---- */

static struct pinmm_config device_config(void)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.device_bytes = DEVICE_PAGES * PAGE_SIZE;
	return cfg;
}

static void reset_driver(void)
{
	memset(pgmaps, 0, sizeof(pgmaps));
	for (unsigned long i = 0; i < DEVICE_PAGES; i++)
		atomic_store(&freed[i], 0);
	atomic_store(&freed_other, 0);
}

/* Boot with a device area and run this thread in a fresh mm. */
static int devmap_setup(void **state)
{
	struct pinmm_config cfg = device_config();

	reset_driver();
	return boot_with_mm(state, &cfg);
}

#define devmap_test(f) cmocka_unit_test_setup_teardown(f, devmap_setup, teardown_mm)

/* The same under 5.7 rules, whatever PINMM_RULES says: for a scenario that takes long-term
 * references (modern rules refuse FOLL_LONGTERM without FOLL_PIN). */
static int devmap_setup_57(void **state)
{
	struct pinmm_config cfg = device_config();

	cfg.rules = PINMM_RULES_5_7;
	reset_driver();
	return boot_with_mm(state, &cfg);
}

#define devmap_test_57(f) cmocka_unit_test_setup_teardown(f, devmap_setup_57, teardown_mm)

/* ---- mappings and their page-table entries (the test thread is alone in its mm) ---- */

static unsigned long map_file(struct file *file, unsigned long addr, unsigned long len,
			      unsigned long flags, unsigned long pgoff, const char *what)
{
	unsigned long ret = vm_mmap(file, addr, len, RW, flags, pgoff);

	if (IS_ERR_VALUE(ret))
		fail_msg("%s: vm_mmap(%#lx, %#lx, flags %#lx, pgoff %#lx) is %ld, expected an "
			 "address", what, addr, len, flags, pgoff, (long)ret);
	if ((flags & MAP_FIXED) && ret != addr)
		fail_msg("%s: MAP_FIXED vm_mmap returned %#lx, expected %#lx", what, ret, addr);
	return ret;
}

static struct file *dax_file(unsigned long pfn, unsigned long nr, const char *what)
{
	struct file *file = dax_file_setup(pfn, nr);

	if (IS_ERR(file))
		fail_msg("%s: dax_file_setup(%#lx, %lu) is %ld, expected a file", what, pfn, nr,
			 PTR_ERR(file));
	return file;
}

/* addr is mapped by a devmap PMD leaf of pfn (the 2 MiB-aligned block's first pfn). */
static void expect_devmap_pmd(struct mm_struct *mm, unsigned long addr, unsigned long pfn,
			      const char *what)
{
	unsigned long size, e = leaf_at(mm, addr, &size);

	if (size != PMD_SIZE || !(e & _PAGE_PRESENT) || !(e & _PAGE_DEVMAP) || !(e & _PAGE_PSE))
		fail_msg("%s: %#lx should be mapped by a present devmap PMD leaf; found entry %#lx "
			 "of size %#lx", what, addr, e, size);
	check_eq((e & PTE_PFN_MASK) >> PAGE_SHIFT, pfn, "%s: the PMD leaf's pfn", what);
}

/* addr is mapped by a devmap, special PTE of pfn. */
static void expect_devmap_pte(struct mm_struct *mm, unsigned long addr, unsigned long pfn,
			      const char *what)
{
	unsigned long size, e = leaf_at(mm, addr, &size);

	if (size != PAGE_SIZE || !(e & _PAGE_PRESENT) || !(e & _PAGE_DEVMAP) ||
	    !(e & _PAGE_SPECIAL))
		fail_msg("%s: %#lx should be mapped by a present devmap special PTE; found entry "
			 "%#lx of size %#lx", what, addr, e, size);
	check_eq((e & PTE_PFN_MASK) >> PAGE_SHIFT, pfn, "%s: the PTE's pfn (address %#lx)", what,
		 addr);
}

/* Write byte val(i) = seed + i to the first byte of each of n pages from addr. */
static void fill(unsigned long addr, unsigned long n, unsigned char seed, const char *what)
{
	for (unsigned long i = 0; i < n; i++) {
		unsigned char v = (unsigned char)(seed + i);

		if (copy_to_user(addr + PG(i), &v, 1))
			fail_msg("%s: copy_to_user(%#lx) failed", what, addr + PG(i));
	}
}

static unsigned char read_byte(unsigned long addr, const char *what)
{
	unsigned char v;

	if (copy_from_user(&v, addr, 1))
		fail_msg("%s: copy_from_user(%#lx) failed", what, addr);
	return v;
}

static void put_pages(struct page **pages, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		put_page(pages[i]);
}

/* ==== memremap_pages / memunmap_pages / get_dev_pagemap ==== */

/* No machine: -ENODEV, and the pgmap is left alone. Runs before any machine is booted. */
static void test_memremap_not_booted(void **state)
{
	struct dev_pagemap *pgmap = new_pgmap(0, MEMORY_DEVICE_FS_DAX, SECTION);

	(void)state;
	check_true(!pinmm_booted(), "memremap not booted: no machine yet");
	check_eq(memremap_pages(pgmap), -ENODEV, "memremap_pages(512 pages) with no machine");
	check_eq(pgmap->start_pfn, 0, "memremap not booted: the refused pgmap got no pfns");
	check_eq(memunmap_pages(pgmap), -EINVAL, "memunmap_pages of a pgmap never mapped");
}

static void test_memremap_rejects_bad_pagemaps(void **state)
{
	static const unsigned long bad_sizes[] = {0, 1, 100, 511, 513, 1000};
	static const int bad_types[] = {0, 3, -1, 1000};
	struct dev_pagemap *pgmap;

	(void)state;
	check_eq(memremap_pages(NULL), -EINVAL, "memremap_pages(NULL)");
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		pgmap = new_pgmap(0, MEMORY_DEVICE_FS_DAX, bad_sizes[i]);
		check_eq(memremap_pages(pgmap), -EINVAL,
			 "memremap_pages with nr_pages %lu (0 or not a multiple of 512)",
			 bad_sizes[i]);
		check_eq(pgmap->start_pfn, 0, "nr_pages %lu refused: no pfns given", bad_sizes[i]);
	}
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		pgmap = new_pgmap(0, (enum memory_type)bad_types[i], SECTION);
		check_eq(memremap_pages(pgmap), -EINVAL, "memremap_pages with type %d",
			 bad_types[i]);
		check_eq(pgmap->start_pfn, 0, "type %d refused: no pfns given", bad_types[i]);
	}

	/* Nothing refused took device space: the first good one starts the area. */
	pgmap = remap(0, SECTION, "memremap after refusals");
	check_eq(pgmap->start_pfn, max_pfn, "the first pagemap starts at the device area (max_pfn)");
	check_eq(memremap_pages(pgmap), -EINVAL, "memremap_pages of a pgmap already mapped");
	check_eq(pgmap->start_pfn, max_pfn, "the second memremap_pages left the mapping alone");
	check_ptr(get_dev_pagemap(max_pfn + 5, NULL), pgmap,
		  "get_dev_pagemap inside the pagemap after the refused second mapping");
	put_dev_pagemap(pgmap);
	check_eq(memunmap_pages(pgmap), 0, "memunmap_pages of the idle pagemap");
	check_eq(memunmap_pages(pgmap), -EINVAL, "memunmap_pages of a pgmap already unmapped");
	check_eq(memunmap_pages(NULL), -EINVAL, "memunmap_pages(NULL)");
	check_true(get_dev_pagemap(max_pfn + 5, NULL) == NULL,
		   "get_dev_pagemap of a pfn whose pagemap was unmapped returns NULL");
}

/* -ENOMEM once the device area is full; consecutive calls get consecutive ranges; a freed
 * range is reused first fit. */
static void test_memremap_fills_the_device_area(void **state)
{
	struct dev_pagemap *big, *more;
	unsigned long n = DEVICE_PAGES / SECTION;

	(void)state;
	big = new_pgmap(0, MEMORY_DEVICE_FS_DAX, DEVICE_PAGES + SECTION);
	check_eq(memremap_pages(big), -ENOMEM, "memremap_pages of more than the whole device area");
	check_eq(big->start_pfn, 0, "the refused pagemap got no pfns");

	big = remap(0, DEVICE_PAGES, "memremap of the whole device area");
	check_eq(big->start_pfn, max_pfn, "whole area: start pfn");
	check_eq(max_pfn + DEVICE_PAGES, device_end_pfn, "the device area is DEVICE_PAGES long");
	more = new_pgmap(1, MEMORY_DEVICE_FS_DAX, SECTION);
	check_eq(memremap_pages(more), -ENOMEM, "memremap_pages(512) with the device area full");
	check_eq(more->start_pfn, 0, "full area: the refused pagemap got no pfns");
	check_eq(memunmap_pages(big), 0, "memunmap_pages of the whole-area pagemap");

	for (unsigned long i = 0; i < n; i++) {
		struct dev_pagemap *p = remap((int)i + 1, SECTION, "sections");

		check_eq(p->start_pfn, max_pfn + i * SECTION,
			 "section %lu: consecutive memremap_pages calls get consecutive pfns", i);
	}
	more = new_pgmap(0, MEMORY_DEVICE_FS_DAX, SECTION);
	check_eq(memremap_pages(more), -ENOMEM, "memremap_pages after %lu sections filled it", n);

	check_eq(memunmap_pages(&pgmaps[3]), 0, "memunmap_pages of section 2");
	more = new_pgmap(0, MEMORY_DEVICE_FS_DAX, 2 * SECTION);
	check_eq(memremap_pages(more), -ENOMEM,
		 "memremap_pages(1024) when the only hole is one 512-page section");
	more = remap(0, SECTION, "refill the hole");
	check_eq(more->start_pfn, max_pfn + 2 * SECTION, "the freed section is reused first fit");
	for (unsigned long i = 0; i < n; i++)
		check_eq(memunmap_pages(i == 2 ? &pgmaps[0] : &pgmaps[i + 1]), 0,
			 "memunmap_pages of section %lu", i);
}

/* Fresh device pages: refcount 1, PG_reserved, page->pgmap, ZONE_DEVICE, order 0. */
static void test_memremap_initialises_device_pages(void **state)
{
	struct dev_pagemap *dax = remap(0, 2 * SECTION, "fsdax pagemap");
	struct dev_pagemap *gen = new_pgmap(1, MEMORY_DEVICE_GENERIC, SECTION);
	struct dev_pagemap *got;

	(void)state;
	check_eq(memremap_pages(gen), 0, "memremap_pages of a MEMORY_DEVICE_GENERIC pagemap");
	check_eq(dax->start_pfn % SECTION, 0, "the pagemap's first pfn is 2 MiB aligned");
	check_eq(gen->start_pfn, dax->start_pfn + 2 * SECTION, "the next pagemap follows it");
	for (unsigned long pfn = dax->start_pfn; pfn < gen->start_pfn + SECTION; pfn++) {
		struct page *page = pfn_to_page(pfn);
		struct dev_pagemap *own = pfn < gen->start_pfn ? dax : gen;

		check_eq(page_ref_count(page), 1, "fresh device pfn %#lx: refcount", pfn);
		check_true(PageReserved(page), "fresh device pfn %#lx: PG_reserved", pfn);
		check_ptr(page->pgmap, own, "fresh device pfn %#lx: page->pgmap", pfn);
		check_eq(page_zonenum(page), ZONE_DEVICE, "fresh device pfn %#lx: page_zonenum",
			 pfn);
		check_true(is_zone_device_page(page), "fresh device pfn %#lx: is_zone_device_page",
			   pfn);
		check_eq(page_is_devmap_managed(page), own == dax,
			 "device pfn %#lx: page_is_devmap_managed (fsdax only)", pfn);
		check_true(!PageHead(page) && compound_head(page) == page,
			   "device pfn %#lx is an order-0 page", pfn);
		check_eq(page_mapcount(page), 0, "fresh device pfn %#lx: mapcount", pfn);
		check_true(!page_maybe_dma_pinned(page), "fresh device pfn %#lx is not pinned", pfn);
	}

	/* Lookups: a reference per holder; the cached pagemap is returned again. */
	check_eq(atomic_load(&dax->ref), 1, "a live pagemap nobody looked up has ref 1");
	got = get_dev_pagemap(dax->start_pfn + 700, NULL);
	check_ptr(got, dax, "get_dev_pagemap(pfn inside the fsdax pagemap)");
	check_eq(atomic_load(&dax->ref), 2, "get_dev_pagemap took a reference");
	check_ptr(get_dev_pagemap(dax->start_pfn + 3, got), dax, "get_dev_pagemap with cached");
	check_eq(atomic_load(&dax->ref), 3, "the cached lookup took another reference");
	got = get_dev_pagemap(gen->start_pfn, dax);
	check_ptr(got, gen, "get_dev_pagemap with a cached pagemap that does not cover the pfn");
	put_dev_pagemap(got);
	put_dev_pagemap(dax);
	put_dev_pagemap(dax);
	check_eq(atomic_load(&dax->ref), 1, "the references went with put_dev_pagemap");
	check_true(get_dev_pagemap(0, NULL) == NULL, "get_dev_pagemap(RAM pfn 0) is NULL");
	check_true(get_dev_pagemap(gen->start_pfn + SECTION, NULL) == NULL,
		   "get_dev_pagemap(device pfn outside any pagemap) is NULL");
	check_true(get_dev_pagemap(device_end_pfn, NULL) == NULL,
		   "get_dev_pagemap(device_end_pfn) is NULL");
	check_eq(memunmap_pages(gen), 0, "memunmap_pages(generic)");
	check_eq(memunmap_pages(dax), 0, "memunmap_pages(fsdax)");
}

/* memunmap_pages: -EBUSY while a page is referenced or a lookup holds the pagemap (and
 * lookups fail from then on), 0 once they are gone. */
static void test_memunmap_busy_until_idle(void **state)
{
	struct dev_pagemap *pgmap = remap(0, SECTION, "memunmap busy");
	struct dev_pagemap *held = remap(1, SECTION, "memunmap busy (held)");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, SECTION, "memunmap busy");
	unsigned long addr = map_file(file, 0, PG(8), MAP_SHARED, 0, "memunmap busy");
	struct page *pages[8];
	int before[DEVICE_PAGES];

	(void)state;
	fill(addr, 8, 0x10, "memunmap busy");
	check_eq(get_user_pages_fast(addr + PG(2), 1, 0, pages), 1,
		 "memunmap busy: get_user_pages_fast(1 devmap page)");
	check_ptr(pages[0], pfn_to_page(pfn + 2), "memunmap busy: the page returned");
	check_eq(page_ref_count(pages[0]), 2, "memunmap busy: R after the get");

	check_eq(memunmap_pages(pgmap), -EBUSY, "memunmap_pages with a page at refcount 2");
	check_eq(pgmap->start_pfn, pfn, "memunmap busy: the pagemap keeps its range");
	check_true(get_dev_pagemap(pfn, NULL) == NULL,
		   "memunmap busy: get_dev_pagemap fails once memunmap_pages started");
	check_true(atomic_load(&pgmap->dead), "memunmap busy: the pagemap is marked dead");
	/* GUP on the other (still idle) pages of the dying pagemap now fails. */
	check_eq(get_user_pages_fast(addr + PG(3), 1, 0, pages + 1), -EFAULT,
		 "get_user_pages_fast of a devmap page whose pagemap is being torn down");
	check_eq(pin_locked(addr + PG(3), 1, 0, pages + 1), -EFAULT,
		 "pin_user_pages of a devmap page whose pagemap is being torn down");
	check_eq(page_ref_count(pfn_to_page(pfn + 3)), 1,
		 "memunmap busy: the refused GUPs took nothing");

	snapshot_freed(before);
	put_page(pages[0]);
	check_eq(page_ref_count(pfn_to_page(pfn + 2)), 1, "memunmap busy: R after put_page");
	expect_freed(before, pfn + 2, 1, 1, "memunmap busy: put_page back to refcount 1");
	check_eq(memunmap_pages(pgmap), 0, "memunmap_pages once the page is idle again");
	check_eq(memunmap_pages(pgmap), -EINVAL, "memunmap_pages once more");

	/* A lookup holding the pagemap keeps it busy too. */
	check_ptr(get_dev_pagemap(held->start_pfn, NULL), held, "memunmap busy: lookup");
	check_eq(memunmap_pages(held), -EBUSY, "memunmap_pages while a lookup holds the pagemap");
	check_true(get_dev_pagemap(held->start_pfn, NULL) == NULL,
		   "memunmap busy: no new lookup once memunmap_pages started");
	check_true(get_dev_pagemap(held->start_pfn, held) == NULL,
		   "memunmap busy: no cached lookup of a dying pagemap");
	put_dev_pagemap(held);
	check_eq(memunmap_pages(held), 0, "memunmap_pages once the lookup's reference is gone");
	unmap(addr, PG(8), "memunmap busy");
	fput(file);
}

/* ==== dax_file_setup and DAX mappings ==== */

static void test_dax_file_setup_rejects(void **state)
{
	struct dev_pagemap *pgmap = remap(0, SECTION, "dax_file_setup");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file;

	(void)state;
	check_eq(PTR_ERR(dax_file_setup(pfn, 0)), -EINVAL, "dax_file_setup(0 pages)");
	check_eq(PTR_ERR(dax_file_setup(0, 1)), -EINVAL, "dax_file_setup(RAM pfn 0)");
	check_eq(PTR_ERR(dax_file_setup(max_pfn - 1, 2)), -EINVAL,
		 "dax_file_setup starting in RAM, ending in the pagemap");
	check_eq(PTR_ERR(dax_file_setup(pfn, SECTION + 1)), -EINVAL,
		 "dax_file_setup running one page past the only pagemap");
	check_eq(PTR_ERR(dax_file_setup(pfn + SECTION, 1)), -EINVAL,
		 "dax_file_setup of a device pfn no pagemap covers");
	check_eq(PTR_ERR(dax_file_setup(device_end_pfn, 1)), -EINVAL,
		 "dax_file_setup(device_end_pfn)");
	check_eq(PTR_ERR(dax_file_setup(pfn, ~0UL)), -EINVAL, "dax_file_setup(~0 pages)");
	check_eq(atomic_load(&pgmap->ref), 1, "dax_file_setup refusals left no lookup held");

	file = dax_file(pfn + 1, SECTION - 1, "dax_file_setup inside the pagemap");
	check_eq(i_size_read(file->f_mapping), (long long)PG(SECTION - 1), "the DAX file's size");
	check_eq((long)vm_mmap(file, 0, PG(4), RW, MAP_PRIVATE, 0), -EINVAL,
		 "vm_mmap(DAX file, RW, MAP_PRIVATE)");
	check_eq((long)vm_mmap(file, 0, PG(4), PROT_READ, MAP_PRIVATE, 0), -EINVAL,
		 "vm_mmap(DAX file, PROT_READ, MAP_PRIVATE)");
	unmap(map_file(file, 0, PG(4), MAP_SHARED, 0, "DAX MAP_SHARED"), PG(4), "DAX MAP_SHARED");
	fput(file);

	check_eq(memunmap_pages(pgmap), 0, "dax_file_setup: memunmap_pages");
	check_eq(PTR_ERR(dax_file_setup(pfn, 1)), -EINVAL,
		 "dax_file_setup over a pagemap that was unmapped");
}

/* munmap of 4 KiB inside a devmap PMD clears the PMD; the rest refaults as devmap PTEs with
 * the same data, and no reference moved (a DAX mapping holds none). copy_from_user() reads
 * through GUP (a FOLL_GET reference and put_page), so each read brings its page back to 1
 * once: one page_free() call per page read. */
static void test_dax_partial_munmap_splits_pmd(void **state)
{
	struct mm_struct *mm = *state;
	struct dev_pagemap *pgmap = remap(0, SECTION, "DAX partial munmap");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, SECTION, "DAX partial munmap");
	unsigned long addr = map_file(file, DAX_BASE, PMD_SIZE, MAP_SHARED | MAP_FIXED, 0,
				      "DAX partial munmap");
	int before[DEVICE_PAGES];
	unsigned long size;
	unsigned char c;

	fill(addr, SECTION, 0x40, "DAX partial munmap");
	/* "P" */
	expect_devmap_pmd(mm, addr, pfn, "DAX partial munmap: after writing every page");
	expect_refs(pfn, SECTION, 1, false, "DAX partial munmap: a DAX PMD holds no reference");
	snapshot_freed(before);

	unmap(addr + PG(100), PG(1), "DAX partial munmap of page 100");
	/* "t": [0, 100) and [101, 512) left, neither a whole 2 MiB block */
	check_true(leaf_at(mm, addr, &size) == 0 && size != PMD_SIZE,
		   "DAX partial munmap: the PMD leaf was cleared (found size %#lx)", size);
	expect_refs(pfn, SECTION, 1, false, "DAX partial munmap: refcounts after the munmap");
	expect_freed(before, pfn, SECTION, 0, "DAX partial munmap: the munmap dropped no reference");
	for (unsigned long i = 0; i < SECTION; i++) {
		if (i == 100)
			continue;
		check_eq(read_byte(addr + PG(i), "DAX partial munmap"), (unsigned char)(0x40 + i),
			 "DAX partial munmap: the byte of page %lu after the refault", i);
		expect_devmap_pte(mm, addr + PG(i), pfn + i, "DAX partial munmap: refaulted");
	}
	check_true(copy_from_user(&c, addr + PG(100), 1) != 0,
		   "DAX partial munmap: page 100 is no longer mapped");
	check_eq(*(unsigned char *)page_address(pfn_to_page(pfn + 100)), 0x40 + 100,
		 "DAX partial munmap: the unmapped page's device memory keeps its data");
	expect_refs(pfn, SECTION, 1, false, "DAX partial munmap: refcounts after the refaults");
	expect_freed(before, pfn, 100, 1, "DAX partial munmap: one get/put per copy_from_user");
	expect_freed(before, pfn + 100, 1, 0, "DAX partial munmap: page 100 was not read");
	expect_freed(before, pfn + 101, SECTION - 101, 1,
		     "DAX partial munmap: one get/put per copy_from_user");
	unmap(addr, PMD_SIZE, "DAX partial munmap");
	fput(file);
}

/* mprotect of 4 KiB inside a devmap PMD splits it as well; the read-only page refuses a
 * FOLL_WRITE pin; after mprotect back to RW, writes and write pins work again. */
static void test_dax_mprotect_splits_pmd(void **state)
{
	struct mm_struct *mm = *state;
	struct dev_pagemap *pgmap = remap(0, SECTION, "DAX mprotect");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, SECTION, "DAX mprotect");
	unsigned long addr = map_file(file, DAX_BASE, PMD_SIZE, MAP_SHARED | MAP_FIXED, 0,
				      "DAX mprotect");
	long a0 = nr_acquired(), r0 = nr_released();
	struct page *pages[SECTION];
	unsigned long size;

	(void)state;
	fill(addr, 4, 1, "DAX mprotect");
	expect_devmap_pmd(mm, addr, pfn, "DAX mprotect: before");
	check_eq(vm_mprotect(addr + PG(7), PG(1), PROT_READ), 0, "mprotect(page 7, PROT_READ)");
	check_true(leaf_at(mm, addr, &size) == 0 || size == PAGE_SIZE,
		   "DAX mprotect: the PMD leaf is gone after mprotect of one page (size %#lx)",
		   size);
	check_eq(pin_user_pages_fast(addr + PG(7), 1, FOLL_WRITE, pages), -EFAULT,
		 "DAX mprotect: pin_user_pages_fast(FOLL_WRITE) of the read-only page");
	check_eq(pin_user_pages_fast(addr + PG(7), 1, 0, pages), 1,
		 "DAX mprotect: pin_user_pages_fast(read) of the read-only page");
	check_ptr(pages[0], pfn_to_page(pfn + 7), "DAX mprotect: the read pin's page");
	unpin_user_page(pages[0]);
	check_eq(pin_user_pages_fast(addr, 7, FOLL_WRITE, pages), 7,
		 "DAX mprotect: pin_user_pages_fast(FOLL_WRITE) of the writable pages before it");
	unpin_user_pages(pages, 7);

	check_eq(vm_mprotect(addr + PG(7), PG(1), RW), 0, "mprotect(page 7, RW) back");
	fill(addr + PG(7), 1, 0x77, "DAX mprotect: write after mprotect back to RW");
	check_eq(pin_user_pages_fast(addr + PG(7), 1, FOLL_WRITE, pages), 1,
		 "DAX mprotect: FOLL_WRITE pin of page 7 after mprotect back to RW");
	check_eq(*(unsigned char *)page_address(pages[0]), 0x77, "DAX mprotect: page 7's data");
	unpin_user_page(pages[0]);
	check_eq(vm_mprotect(addr, PMD_SIZE, PROT_READ), 0, "mprotect(whole 2 MiB, PROT_READ)");
	check_eq(vm_mprotect(addr, PMD_SIZE, RW), 0, "mprotect(whole 2 MiB, RW)");
	check_eq(pin_user_pages_fast(addr, SECTION, FOLL_WRITE, pages), SECTION,
		 "DAX mprotect: FOLL_WRITE pin of all 512 pages after RO -> RW of the whole VMA");
	expect_pages(pages, pfn, SECTION, "DAX mprotect: RO -> RW");
	unpin_user_pages(pages, SECTION);
	expect_refs(pfn, SECTION, 1, false, "DAX mprotect: all unpinned");
	check_eq(nr_acquired() - a0, nr_released() - r0, "DAX mprotect: A == Rel at the end");
	unmap(addr, PMD_SIZE, "DAX mprotect");
	fput(file);
}

/* fork: the child maps the same device memory; its writes show in the parent and back. */
static void test_dax_fork_shares_device_memory(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct dev_pagemap *pgmap = remap(0, SECTION, "DAX fork");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, SECTION, "DAX fork");
	unsigned long addr = map_file(file, DAX_BASE, PMD_SIZE, MAP_SHARED | MAP_FIXED, 0,
				      "DAX fork");
	unsigned long small = map_file(file, 0, PG(4), MAP_SHARED, 8, "DAX fork (PTEs)");
	unsigned char v;

	fill(addr, SECTION, 0x20, "DAX fork: parent");
	fill(small, 4, 0x90, "DAX fork: parent, PTE mapping");
	expect_devmap_pmd(mm, addr, pfn, "DAX fork: parent before fork");
	child = pinmm_fork(mm);
	check_true(!IS_ERR(child), "DAX fork: pinmm_fork is %ld", IS_ERR(child) ? PTR_ERR(child) : 0);

	kthread_unuse_mm(mm);
	kthread_use_mm(child);
	for (unsigned long i = 0; i < SECTION; i += 37)
		check_eq(read_byte(addr + PG(i), "DAX fork: child"), (unsigned char)(0x20 + i),
			 "DAX fork: the child reads the parent's byte of page %lu", i);
	expect_devmap_pmd(child, addr, pfn, "DAX fork: the child's (re)faulted mapping");
	check_eq(read_byte(small + PG(1), "DAX fork: child"), 0x91,
		 "DAX fork: the child reads the parent's byte through the PTE mapping (file page 9)");
	v = 0xc3;
	check_eq(copy_to_user(addr + PG(300), &v, 1), 0, "DAX fork: the child writes page 300");
	check_eq(copy_to_user(small + PG(2), &v, 1), 0, "DAX fork: the child writes file page 10");
	kthread_unuse_mm(child);
	kthread_use_mm(mm);

	check_eq(read_byte(addr + PG(300), "DAX fork: parent"), 0xc3,
		 "DAX fork: the parent sees the child's write (shared device memory, no COW)");
	check_eq(read_byte(addr + PG(10), "DAX fork: parent"), 0xc3,
		 "DAX fork: file page 10 written by the child through its PTE mapping");
	expect_devmap_pmd(mm, addr, pfn, "DAX fork: the parent's PMD after the fork");
	mmput(child);
	expect_refs(pfn, SECTION, 1, false, "DAX fork: refcounts after the child is gone");
	unmap(addr, PMD_SIZE, "DAX fork");
	unmap(small, PG(4), "DAX fork");
	fput(file);
}

/* ==== scenario 39: pin, unpin, get, put of devmap pages ==== */

/* One pin call over [addr, addr + n pages) that map pfn.. : R 1 -> 1025, MDP, A +n; unpin_user_pages
 * -> R 1, page_free() once per page, Rel +n. */
static void pin_unpin_round(const char *how, long (*call)(unsigned long, unsigned long,
							   unsigned int, struct page **),
			    unsigned long addr, unsigned long pfn, unsigned long n)
{
	struct page **pages = calloc(n, sizeof(*pages));
	int *before = calloc(DEVICE_PAGES, sizeof(*before));
	long a0 = nr_acquired(), r0 = nr_released();

	assert_non_null(pages);
	assert_non_null(before);
	expect_refs(pfn, n, 1, false, scenario_text("S39 %s: before the pin", how));
	check_eq(call(addr, n, FOLL_WRITE, pages), (long)n, "S39 %s(%lu devmap pages, FOLL_WRITE)",
		 how, n);
	expect_pages(pages, pfn, n, scenario_text("S39 %s", how));
	expect_refs(pfn, n, 1 + BIAS, true, scenario_text("S39 %s: pinned (R 1 + 1024)", how));
	check_eq(nr_acquired() - a0, (long)n, "S39 %s: A", how);
	check_eq(nr_released() - r0, 0, "S39 %s: Rel before the unpin", how);
	for (unsigned long i = 0; i < n; i++)
		check_eq(*(unsigned char *)page_address(pages[i]), (unsigned char)(0x30 + i),
			 "S39 %s: the pinned page %lu holds what was written at its address", how,
			 i);

	snapshot_freed(before);
	unpin_user_pages(pages, n);
	expect_refs(pfn, n, 1, false, scenario_text("S39 %s: after unpin_user_pages", how));
	expect_freed(before, pfn, n, 1,
		     scenario_text("S39 %s: page_free() once per page back at refcount 1", how));
	check_eq(nr_acquired() - a0, (long)n, "S39 %s: A after the unpin", how);
	check_eq(nr_released() - r0, (long)n, "S39 %s: Rel after the unpin", how);
	free(before);
	free(pages);
}

/* get_user_pages_fast / get_user_pages: R 1 -> 2, no pin; put_page -> 1 and page_free(). */
static void get_put_round(const char *how, long (*call)(unsigned long, unsigned long, unsigned int,
							 struct page **),
			  unsigned long addr, unsigned long pfn, unsigned long n)
{
	struct page **pages = calloc(n, sizeof(*pages));
	int *before = calloc(DEVICE_PAGES, sizeof(*before));
	long a0 = nr_acquired(), r0 = nr_released();

	assert_non_null(pages);
	assert_non_null(before);
	check_eq(call(addr, n, 0, pages), (long)n, "S39 %s(%lu devmap pages)", how, n);
	expect_pages(pages, pfn, n, scenario_text("S39 %s", how));
	expect_refs(pfn, n, 2, false, scenario_text("S39 %s: one plain reference each", how));
	snapshot_freed(before);
	put_pages(pages, n);
	expect_refs(pfn, n, 1, false, scenario_text("S39 %s: after put_page", how));
	expect_freed(before, pfn, n, 1, scenario_text("S39 %s: put_page back to 1 frees", how));
	check_eq(nr_acquired() - a0, 0, "S39 %s: A", how);
	check_eq(nr_released() - r0, 0, "S39 %s: Rel", how);
	free(before);
	free(pages);
}

/* Devmap PTEs (a 16-page mapping: never a PMD). */
static void test_s39_devmap_ptes(void **state)
{
	struct mm_struct *mm = *state;
	struct dev_pagemap *pgmap = remap(0, SECTION, "S39 PTE");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, SECTION, "S39 PTE");
	unsigned long addr = map_file(file, 0, PG(32), MAP_SHARED, 0, "S39 PTE");
	struct page *pages[16];
	int before[DEVICE_PAGES];

	fill(addr, 32, 0x30, "S39 PTE");
	for (unsigned long i = 0; i < 32; i++)
		expect_devmap_pte(mm, addr + PG(i), pfn + i, "S39 PTE: after the write fault");
	expect_refs(pfn, 32, 1, false, "S39 PTE: a DAX PTE holds no reference");

	/* The fast walk alone (fast_only never falls back), then the other entry points. */
	pin_unpin_round("pin_user_pages_fast_only/PTE", v_pin_fast_only, addr, pfn, 16);
	pin_unpin_round("pin_user_pages_fast/PTE", v_pin_fast, addr, pfn, 16);
	pin_unpin_round("pin_user_pages/PTE", pin_locked, addr, pfn, 16);
	pin_unpin_round("pin_user_pages_unlocked/PTE", v_pin_unlocked, addr, pfn, 16);
	pin_unpin_round("pin_user_pages_remote/PTE", v_pin_remote, addr, pfn, 16);
	get_put_round("get_user_pages_fast_only/PTE", v_get_fast_only, addr, pfn, 16);
	get_put_round("get_user_pages_fast/PTE", v_get_fast, addr, pfn, 16);
	get_put_round("get_user_pages/PTE", get_locked, addr, pfn, 16);

	/* Two pins of one page stack (2 biases); only the second unpin frees it. */
	check_eq(pin_user_pages_fast(addr, 1, 0, pages), 1, "S39 PTE: first pin of page 0");
	check_eq(pin_locked(addr, 1, 0, pages + 1), 1, "S39 PTE: second pin of page 0");
	check_eq(page_ref_count(pages[0]), 1 + 2 * BIAS, "S39 PTE: R after two pins");
	snapshot_freed(before);
	unpin_user_page(pages[0]);
	check_eq(page_ref_count(pages[0]), 1 + BIAS, "S39 PTE: R after one of two unpins");
	expect_freed(before, pfn, 1, 0, "S39 PTE: no page_free while a pin is left");
	unpin_user_page(pages[1]);
	expect_freed(before, pfn, 1, 1, "S39 PTE: page_free after the last unpin");

	/* The slow path faults in what is not mapped yet: unmap and pin again. */
	unmap(addr, PG(32), "S39 PTE");
	addr = map_file(file, 0, PG(16), MAP_SHARED, 0, "S39 PTE: fresh mapping");
	check_eq(leaf_at(mm, addr, &(unsigned long){0}), 0, "S39 PTE: fresh mapping not faulted");
	pin_unpin_round("pin_user_pages_fast/PTE not faulted in", v_pin_fast, addr, pfn, 16);
	expect_devmap_pte(mm, addr + PG(15), pfn + 15, "S39 PTE: faulted in by the pin");
	unmap(addr, PG(16), "S39 PTE");
	fput(file);
}

/* A 2 MiB devmap PMD leaf: pfn and address both 2 MiB aligned; 1024 pages = two leaves. */
static void test_s39_devmap_pmd(void **state)
{
	struct mm_struct *mm = *state;
	struct dev_pagemap *pgmap = remap(0, 2 * SECTION, "S39 PMD");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, 2 * SECTION, "S39 PMD");
	unsigned long addr;
	unsigned long size;

	check_eq(pfn % SECTION, 0, "S39 PMD: the pagemap's first pfn is 2 MiB aligned");
	addr = map_file(file, DAX_BASE, 2 * PMD_SIZE, MAP_SHARED | MAP_FIXED, 0, "S39 PMD");
	fill(addr, SECTION, 0x30, "S39 PMD: first 2 MiB");
	/* "P." */
	expect_devmap_pmd(mm, addr, pfn, "S39 PMD: after writing the first 2 MiB");
	check_eq(leaf_at(mm, addr + PMD_SIZE, &size), 0, "S39 PMD: second 2 MiB not faulted yet");
	expect_refs(pfn, 2 * SECTION, 1, false, "S39 PMD: a DAX PMD holds no reference");

	pin_unpin_round("pin_user_pages_fast_only/PMD", v_pin_fast_only, addr, pfn, SECTION);
	pin_unpin_round("pin_user_pages_fast/PMD", v_pin_fast, addr, pfn, SECTION);
	pin_unpin_round("pin_user_pages/PMD", pin_locked, addr, pfn, SECTION);
	get_put_round("get_user_pages_fast_only/PMD", v_get_fast_only, addr, pfn, SECTION);
	get_put_round("get_user_pages_fast/PMD", v_get_fast, addr, pfn, SECTION);
	get_put_round("get_user_pages/PMD", get_locked, addr, pfn, SECTION);
	/* Part of a leaf, from its middle. */
	fill(addr + PG(100), 200, 0x30, "S39 PMD: middle");
	pin_unpin_round("pin_user_pages_fast/PMD middle", v_pin_fast, addr + PG(100), pfn + 100,
			200);

	/* Across both blocks: the fast walk takes the first leaf, the slow path faults in the
	 * second as a PMD leaf ("PP"). */
	{
		struct page **pages = calloc(2 * SECTION, sizeof(*pages));
		long a0 = nr_acquired(), r0 = nr_released();
		int *before = calloc(DEVICE_PAGES, sizeof(*before));

		assert_non_null(pages);
		assert_non_null(before);
		check_eq(pin_user_pages_fast(addr, (int)(2 * SECTION), 0, pages), 2 * SECTION,
			 "S39 PMD: pin_user_pages_fast over both 2 MiB blocks");
		expect_devmap_pmd(mm, addr + PMD_SIZE, pfn + SECTION,
				  "S39 PMD: the slow path faulted the second block in as a PMD");
		expect_pages(pages, pfn, 2 * SECTION, "S39 PMD: both blocks");
		expect_refs(pfn, 2 * SECTION, 1 + BIAS, true, "S39 PMD: both blocks pinned");
		check_eq(nr_acquired() - a0, 2 * SECTION, "S39 PMD: A for both blocks");
		snapshot_freed(before);
		unpin_user_pages(pages, 2 * SECTION);
		expect_refs(pfn, 2 * SECTION, 1, false, "S39 PMD: both blocks unpinned");
		expect_freed(before, pfn, 2 * SECTION, 1, "S39 PMD: page_free once per page");
		check_eq(nr_released() - r0, 2 * SECTION, "S39 PMD: Rel for both blocks");
		free(before);
		free(pages);
	}
	unmap(addr, 2 * PMD_SIZE, "S39 PMD");
	fput(file);
}

/* unpin_user_pages_dirty_lock(make_dirty) on device pages: the page is dirtied, then comes back
 * to 1, and the free callback runs with PG_dirty cleared (free_devmap_managed_page()). */
static void test_s39_unpin_dirty_devmap(void **state)
{
	struct dev_pagemap *pgmap = remap(0, SECTION, "S39 dirty");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, SECTION, "S39 dirty");
	unsigned long addr = map_file(file, 0, PG(4), MAP_SHARED, 0, "S39 dirty");
	struct page *pages[4];
	long r0 = nr_released();
	int before[DEVICE_PAGES];

	(void)state;
	check_eq(pin_user_pages_fast(addr, 4, FOLL_WRITE, pages), 4, "S39 dirty: pin 4 pages");
	snapshot_freed(before);
	unpin_user_pages_dirty_lock(pages, 4, true);
	expect_refs(pfn, 4, 1, false, "S39 dirty: after unpin_user_pages_dirty_lock");
	expect_freed(before, pfn, 4, 1, "S39 dirty: page_free once per page");
	check_eq(nr_released() - r0, 4, "S39 dirty: Rel");
	for (unsigned long i = 0; i < 4; i++)
		check_true(!PageDirty(pfn_to_page(pfn + i)),
			   "S39 dirty: the freed device page %lu is clean again", i);
	unmap(addr, PG(4), "S39 dirty");
	fput(file);
}

/* MEMORY_DEVICE_GENERIC pages are not devmap-managed: back at 1, no page_free() call. */
static void test_s39_generic_pages_are_not_freed_to_the_driver(void **state)
{
	struct dev_pagemap *pgmap = new_pgmap(0, MEMORY_DEVICE_GENERIC, SECTION);
	unsigned long pfn;
	struct file *file;
	unsigned long addr;
	struct page *pages[4];
	int before[DEVICE_PAGES];

	(void)state;
	check_eq(memremap_pages(pgmap), 0, "S39 generic: memremap_pages");
	pfn = pgmap->start_pfn;
	file = dax_file(pfn, SECTION, "S39 generic");
	addr = map_file(file, 0, PG(4), MAP_SHARED, 0, "S39 generic");
	snapshot_freed(before);
	check_eq(pin_user_pages_fast(addr, 4, 0, pages), 4, "S39 generic: pin 4 pages");
	expect_refs(pfn, 4, 1 + BIAS, true, "S39 generic: pinned");
	unpin_user_pages(pages, 4);
	check_eq(get_user_pages_fast(addr, 4, 0, pages), 4, "S39 generic: get 4 pages");
	put_pages(pages, 4);
	expect_refs(pfn, 4, 1, false, "S39 generic: released");
	expect_freed(before, pfn, 4, 0, "S39 generic: no page_free() for non-fsdax pages");
	unmap(addr, PG(4), "S39 generic");
	fput(file);
}

/* ==== scenario 31: FOLL_LONGTERM on fsdax ==== */

static void expect_longterm_refused(const char *how, unsigned long addr, unsigned long pfn,
				    unsigned long n)
{
	struct page **pages = calloc(n, sizeof(*pages));
	long a0 = nr_acquired(), r0 = nr_released();
	long ret;

	assert_non_null(pages);
	if (!strcmp(how, "pin_user_pages"))
		ret = pin_locked(addr, n, FOLL_LONGTERM | FOLL_WRITE, pages);
	else if (!strcmp(how, "pin_user_pages_fast"))
		ret = pin_user_pages_fast(addr, (int)n, FOLL_LONGTERM | FOLL_WRITE, pages);
	else if (!strcmp(how, "pin_user_pages_remote"))
		ret = v_pin_remote(addr, n, FOLL_LONGTERM | FOLL_WRITE, pages);
	else
		ret = get_locked(addr, n, FOLL_LONGTERM | FOLL_WRITE, pages);
	check_eq(ret, -EOPNOTSUPP, "S31 %s(FOLL_LONGTERM, %lu fsdax pages)", how, n);
	expect_refs(pfn, n, 1, false, scenario_text("S31 %s: no pin or reference left", how));
	check_eq(nr_acquired() - a0, nr_released() - r0,
		 "S31 %s: A == Rel (A %+ld, Rel %+ld)", how, nr_acquired() - a0, nr_released() - r0);
	free(pages);
}

static void test_s31_longterm_on_fsdax(void **state)
{
	struct mm_struct *mm = *state;
	struct dev_pagemap *pgmap = remap(0, 2 * SECTION, "S31");
	unsigned long pfn = pgmap->start_pfn;
	struct file *file = dax_file(pfn, 2 * SECTION, "S31");
	unsigned long pmd_addr = map_file(file, DAX_BASE, PMD_SIZE, MAP_SHARED | MAP_FIXED, 0, "S31");
	unsigned long pte_addr = map_file(file, 0, PG(8), MAP_SHARED, SECTION, "S31 PTEs");
	static const char *const hows[] = {"pin_user_pages", "pin_user_pages_fast",
					   "pin_user_pages_remote", "get_user_pages"};

	fill(pmd_addr, 1, 1, "S31");
	fill(pte_addr, 8, 1, "S31");
	expect_devmap_pmd(mm, pmd_addr, pfn, "S31: PMD mapping");
	expect_devmap_pte(mm, pte_addr, pfn + SECTION, "S31: PTE mapping");
	for (size_t h = 0; h < sizeof(hows) / sizeof(hows[0]); h++) {
		expect_longterm_refused(hows[h], pmd_addr, pfn, SECTION);
		expect_longterm_refused(hows[h], pte_addr, pfn + SECTION, 8);
	}

	/* Not yet faulted in: the same refusal. */
	unmap(pte_addr, PG(8), "S31");
	pte_addr = map_file(file, 0, PG(8), MAP_SHARED, SECTION, "S31 PTEs, fresh");
	expect_longterm_refused("pin_user_pages_fast", pte_addr, pfn + SECTION, 8);

	/* An anonymous page in front of the DAX pages: the slow path refuses the whole call
	 * and gives the anonymous pin back too. */
	{
		unsigned long base = 0x7000000000UL;
		struct page *pages[8], *anon;
		long a0 = nr_acquired(), r0 = nr_released();
		unsigned long size;

		check_eq(vm_mmap(NULL, base, PG(4), RW, ANON | MAP_FIXED, 0), base, "S31 mixed: anon");
		check_eq(vm_mmap(file, base + PG(4), PG(4), RW, MAP_SHARED | MAP_FIXED, SECTION),
			 base + PG(4), "S31 mixed: DAX after it");
		fill(base, 8, 1, "S31 mixed");
		anon = pfn_to_page((leaf_at(mm, base, &size) & PTE_PFN_MASK) >> PAGE_SHIFT);
		check_eq(page_ref_count(anon), 1, "S31 mixed: the anonymous page, before");
		check_eq(pin_locked(base, 8, FOLL_LONGTERM, pages), -EOPNOTSUPP,
			 "S31 mixed: pin_user_pages(FOLL_LONGTERM) of 4 anon + 4 fsdax pages");
		check_eq(page_ref_count(anon), 1, "S31 mixed: the anonymous pin was given back");
		expect_refs(pfn + SECTION, 4, 1, false, "S31 mixed: fsdax pages");
		check_eq(nr_acquired() - a0, nr_released() - r0, "S31 mixed: A == Rel");
		unmap(base, PG(8), "S31 mixed");
	}
	unmap(pmd_addr, PMD_SIZE, "S31");
	unmap(pte_addr, PG(8), "S31");
	fput(file);
}

/* ==== scenario 40: the fast walk fails a pagemap lookup part-way ==== */

/* Two adjacent 512-page pagemaps A and B under one DAX file; a 2 MiB-aligned virtual block
 * that maps file pages 256..767 (pfn not 2 MiB aligned, so PTEs): its one PTE table holds 256
 * pages of A then 256 of B. With B unmapped, the fast walk grabs A's 256, fails the lookup at
 * page 256 and undoes them (undo_dev_pagemap: A +256, Rel +256); the slow path then pins A's
 * 256 again and stops at B with -EFAULT, dropped because pages were done: returns 256. */
static void test_s40_pte_table_lookup_fails_part_way(void **state)
{
	struct mm_struct *mm = *state;
	struct dev_pagemap *a = remap(0, SECTION, "S40 PTE");
	struct dev_pagemap *b = remap(1, SECTION, "S40 PTE");
	unsigned long pfn = a->start_pfn, bpfn = b->start_pfn;
	struct file *file;
	unsigned long addr;
	struct page *pages[SECTION];
	int before[DEVICE_PAGES];
	long a0, r0;
	const unsigned long k = SECTION / 2;

	check_eq(bpfn, pfn + SECTION, "S40 PTE: consecutive memremap_pages calls are adjacent");
	file = dax_file(pfn, 2 * SECTION, "S40 PTE");
	addr = map_file(file, DAX_BASE, PMD_SIZE, MAP_SHARED | MAP_FIXED, k, "S40 PTE");
	fill(addr, SECTION, 0x30, "S40 PTE");
	/* "t": pfn + 256 .. pfn + 767 */
	expect_devmap_pte(mm, addr, pfn + k, "S40 PTE: first page");
	expect_devmap_pte(mm, addr + PG(k), bpfn, "S40 PTE: page 256 is B's first");
	check_eq(memunmap_pages(b), 0, "S40 PTE: memunmap_pages(B) while idle");
	check_true(get_dev_pagemap(bpfn, NULL) == NULL, "S40 PTE: B's lookups fail");

	/* The fast walk alone. */
	a0 = nr_acquired();
	r0 = nr_released();
	snapshot_freed(before);
	check_eq(pin_user_pages_fast_only(addr, (int)SECTION, 0, pages), 0,
		 "S40 PTE: pin_user_pages_fast_only over A's 256 then B's 256 pages");
	check_eq(nr_acquired() - a0, k, "S40 PTE fast-only: A (256 grabbed, then undone)");
	check_eq(nr_released() - r0, k, "S40 PTE fast-only: Rel (the undo unpins them)");
	expect_refs(pfn + k, k, 1, false, "S40 PTE fast-only: A's pages after the undo");
	expect_freed(before, pfn + k, k, 1, "S40 PTE fast-only: the undo brings each to 1");

	/* The fast walk, then the slow path. */
	a0 = nr_acquired();
	r0 = nr_released();
	check_eq(pin_user_pages_fast(addr, (int)SECTION, 0, pages), k,
		 "S40 PTE: pin_user_pages_fast over A's 256 then B's 256 pages");
	check_eq(nr_acquired() - a0, 2 * k, "S40 PTE: A (256 undone by the fast walk + 256 slow)");
	check_eq(nr_released() - r0, k, "S40 PTE: Rel before the caller's unpin");
	expect_pages(pages, pfn + k, k, "S40 PTE: the pages returned are A's");
	expect_refs(pfn + k, k, 1 + BIAS, true, "S40 PTE: A's pages pinned once");
	expect_refs(bpfn, k, 1, false, "S40 PTE: B's pages untouched");
	unpin_user_pages(pages, k);
	expect_refs(pfn + k, k, 1, false, "S40 PTE: after unpinning");
	check_eq(nr_acquired() - a0, nr_released() - r0, "S40 PTE: A == Rel after unpinning");

	/* FOLL_GET: the same walk, put_page for the undo. */
	check_eq(get_user_pages_fast(addr, (int)SECTION, 0, pages), k,
		 "S40 PTE: get_user_pages_fast over A then B");
	expect_refs(pfn + k, k, 2, false, "S40 PTE: get");
	put_pages(pages, k);
	expect_refs(pfn + k, k, 1, false, "S40 PTE: put");
	unmap(addr, PMD_SIZE, "S40 PTE");
	fput(file);
}

/* The construction with PMD leaves: A and B adjacent, 1024 file pages mapped at a 2 MiB-aligned
 * address ("PP"), B unmapped after the faults. Every 2 MiB-aligned run of pfns lies inside one
 * pagemap, so a leaf's lookups all succeed or all fail: the fast walk takes A's leaf whole
 * (A +512), fails B's leaf at its first page with nothing to undo, and the slow path stops
 * there with -EFAULT: 512 returned, A +512, Rel 0. */
static void test_s40_second_pmd_lookup_fails(void **state)
{
	struct mm_struct *mm = *state;
	struct dev_pagemap *a = remap(0, SECTION, "S40 PMD");
	struct dev_pagemap *b = remap(1, SECTION, "S40 PMD");
	unsigned long pfn = a->start_pfn, bpfn = b->start_pfn;
	struct file *file;
	unsigned long addr;
	struct page **pages = calloc(2 * SECTION, sizeof(*pages));
	long a0, r0;

	assert_non_null(pages);
	check_eq(bpfn, pfn + SECTION, "S40 PMD: consecutive memremap_pages calls are adjacent");
	file = dax_file(pfn, 2 * SECTION, "S40 PMD");
	addr = map_file(file, DAX_BASE, 2 * PMD_SIZE, MAP_SHARED | MAP_FIXED, 0, "S40 PMD");
	fill(addr, 1, 1, "S40 PMD");
	fill(addr + PMD_SIZE, 1, 1, "S40 PMD");
	expect_devmap_pmd(mm, addr, pfn, "S40 PMD: A's leaf");
	expect_devmap_pmd(mm, addr + PMD_SIZE, bpfn, "S40 PMD: B's leaf");
	check_eq(memunmap_pages(b), 0, "S40 PMD: memunmap_pages(B) after the faults");

	a0 = nr_acquired();
	r0 = nr_released();
	check_eq(pin_user_pages_fast(addr, (int)(2 * SECTION), 0, pages), SECTION,
		 "S40 PMD: pin_user_pages_fast over A's leaf and B's leaf");
	check_eq(nr_acquired() - a0, SECTION, "S40 PMD: A");
	check_eq(nr_released() - r0, 0, "S40 PMD: Rel before the caller's unpin");
	expect_pages(pages, pfn, SECTION, "S40 PMD: A's pages");
	expect_refs(pfn, SECTION, 1 + BIAS, true, "S40 PMD: A's pages pinned");
	expect_refs(bpfn, SECTION, 1, false, "S40 PMD: B's pages untouched");
	unpin_user_pages(pages, SECTION);
	expect_refs(pfn, SECTION, 1, false, "S40 PMD: after unpinning");
	check_eq(nr_acquired() - a0, nr_released() - r0, "S40 PMD: A == Rel after unpinning");
	free(pages);
	unmap(addr, 2 * PMD_SIZE, "S40 PMD");
	fput(file);
}

/* ==== shutdown with a device page still referenced ==== */

static int boot_devmap_only(void **state)
{
	struct pinmm_config cfg = device_config();

	(void)state;
	reset_driver();
	return boot_with(&cfg);
}

static void test_shutdown_reports_referenced_device_page(void **state)
{
	struct mm_struct *mm = mm_alloc();
	struct dev_pagemap *pgmap;
	struct file *file;
	struct page *page;
	unsigned long addr;
	int ret;

	(void)state;
	assert_non_null(mm);
	kthread_use_mm(mm);
	pgmap = remap(0, SECTION, "shutdown");
	file = dax_file(pgmap->start_pfn, SECTION, "shutdown");
	addr = map_file(file, 0, PG(2), MAP_SHARED, 0, "shutdown");
	check_eq(get_user_pages_fast(addr + PG(1), 1, 0, &page), 1, "shutdown: get one device page");
	unmap(addr, PG(2), "shutdown");
	fput(file);
	kthread_unuse_mm(mm);
	mmput(mm);

	ret = pinmm_shutdown();
	check_eq(ret, -EBUSY, "pinmm_shutdown with a device page at refcount 2");
	test_log_expect("device page still referenced");
	test_log_stop();
	check_true(!pinmm_booted(), "the machine is down all the same");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memremap_not_booted),
		devmap_test(test_memremap_rejects_bad_pagemaps),
		devmap_test(test_memremap_fills_the_device_area),
		devmap_test(test_memremap_initialises_device_pages),
		devmap_test(test_memunmap_busy_until_idle),
		devmap_test(test_dax_file_setup_rejects),
		devmap_test(test_dax_partial_munmap_splits_pmd),
		devmap_test(test_dax_mprotect_splits_pmd),
		devmap_test(test_dax_fork_shares_device_memory),
		devmap_test(test_s39_devmap_ptes),
		devmap_test(test_s39_devmap_pmd),
		devmap_test(test_s39_unpin_dirty_devmap),
		devmap_test(test_s39_generic_pages_are_not_freed_to_the_driver),
		devmap_test_57(test_s31_longterm_on_fsdax),
		devmap_test(test_s40_pte_table_lookup_fails_part_way),
		devmap_test(test_s40_second_pmd_lookup_fails),
		cmocka_unit_test_setup(test_shutdown_reports_referenced_device_page,
				       boot_devmap_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
