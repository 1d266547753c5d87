/* SPDX-License-Identifier: MIT */
/*
 * Conformance: FOLL_LONGTERM and ZONE_MOVABLE, under both rule sets. On the default machine
 * (128 MiB of ZONE_MOVABLE, 64 MiB of CMA) user pages fault into ZONE_MOVABLE first. A
 * long-term pin of them:
 *  - 5.7 (CMA is the only memory a long-term pin avoids): pins them where they are;
 *  - modern (5.13, d1e153fea2a8 "mm/gup: migrate pinned pages out of movable zone"): pins,
 *    finds them not long-term pinnable, unpins everything, migrates them to ZONE_NORMAL
 *    outside CMA and pins again: the caller gets the new pages, mapped in place of the old
 *    ones with their data; A counts both passes, Rel the first.
 * When a page cannot be migrated (another pin or reference holds it, no memory to move it to)
 * modern rules fail the pin with -ENOMEM and leave nothing pinned (5.13, f0f4463837da); 5.7
 * never tries. While a long-term GUP faults pages in, modern rules keep them out of
 * ZONE_MOVABLE and CMA (5.13, 8e3560d963d2: PF_MEMALLOC_PIN); 5.7 keeps them out of CMA only.
 *
 * Backings: order-0 anonymous pages, a PMD-mapped THP (which pinmm splits before migrating its
 * pinned pages: docs/design.md), memfd (shmem) and host-file page-cache pages, the zero page.
 * Every scenario runs under both rule sets and ends with pinmm_check_invariants().
 */
#include <string.h>

#include "gup_conformance.h"

static bool modern(void)
{
	return pinmm_rules() == PINMM_RULES_MODERN;
}

static const char *rules_name(void)
{
	return modern() ? "modern" : "5.7";
}

static unsigned long nr_migrated(void)
{
	return global_vm_event_count(PGMIGRATE_SUCCESS);
}

static unsigned long nr_migrate_failed(void)
{
	return global_vm_event_count(PGMIGRATE_FAIL);
}

static bool movable(const struct page *page)
{
	return page_zonenum(page) == ZONE_MOVABLE;
}

/* Where a long-term pin may leave a page under modern rules. */
static bool normal_outside_cma(const struct page *page)
{
	return page_zonenum(page) == ZONE_NORMAL && !is_migrate_cma_page(page);
}

/* A shared or private mapping of len bytes of f, failing the scenario on error. */
static unsigned long map_file(struct file *f, unsigned long len, unsigned long flags,
			      const char *what)
{
	unsigned long addr = vm_mmap(f, 0, len, RW, flags, 0);

	if (IS_ERR_VALUE(addr))
		gup_fail("%s: vm_mmap of the file failed with %ld", what, (long)addr);
	return addr;
}

/* An unnamed host file (cow.c's tmpfile backing); NULL, the test skipped, when the host's
 * /tmp cannot hold one. */
static struct file *open_tmpfile(void)
{
	struct file *f = filp_open("/tmp", O_TMPFILE | O_RDWR, 0600);

	if (IS_ERR(f) && (PTR_ERR(f) == -EOPNOTSUPP || PTR_ERR(f) == -EISDIR)) {
		skip();
		return NULL;
	}
	assert_false(IS_ERR(f));
	return f;
}

static void expect_invariants(const char *what)
{
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
}

/* Every pin the scenario took is released: A and Rel moved alike since a0 / rel0. */
static void expect_no_pin_outstanding(long a0, long rel0, const char *what)
{
	check_eq(nr_acquired() - a0, nr_released() - rel0, "%s: pins acquired = pins released",
		 what);
}

/*
 * The pages a long-term pin of [addr, addr + n pages) returned, against old[] (what was mapped
 * before): under modern rules each page that was in ZONE_MOVABLE was replaced by a pinned page
 * in ZONE_NORMAL outside CMA, mapped in its place, and the old frame freed; under 5.7 (or for
 * a page that was pinnable already) the page itself is pinned.
 */
static void expect_pinned_pages(struct mm_struct *mm, unsigned long addr, struct page **old,
				struct page **pages, unsigned int n, const char *what)
{
	for (unsigned int i = 0; i < n; i++) {
		struct page *got = pages[i];

		check_true(page_at(mm, addr + PG(i)) == got,
			   "%s (%s rules): page %u returned is the page mapped there", what,
			   rules_name(), i);
		check_true(page_maybe_dma_pinned(got), "%s (%s rules): page %u is pinned", what,
			   rules_name(), i);
		if (modern() && movable(old[i])) {
			check_true(got != old[i], "%s (modern rules): page %u was migrated", what, i);
			check_true(normal_outside_cma(got),
				   "%s (modern rules): page %u (pfn %#lx) is in ZONE_NORMAL outside "
				   "CMA",
				   what, i, page_to_pfn(got));
		} else {
			check_true(got == old[i], "%s (%s rules): page %u is pinned where it is",
				   what, rules_name(), i);
		}
	}
}

/* ---- order-0 anonymous pages ---- */

static void anon_movable_pages(bool fast)
{
	const char *what = fast ? "pin_user_pages_fast(FOLL_LONGTERM) of 4 ZONE_MOVABLE anon pages"
				: "pin_user_pages(FOLL_LONGTERM) of 4 ZONE_MOVABLE anon pages";
	struct mm_struct *mm = current_mm();
	unsigned long addr = map(0, PG(4), RW, ANON, what);
	struct page *old[4], *pages[4];
	unsigned long mig0;
	long a0, rel0, ret;

	tag_pages(addr, 4, 0xa0, what);
	for (int i = 0; i < 4; i++) {
		old[i] = mapped_page(mm, addr + PG(i), what);
		check_true(movable(old[i]), "%s setup: page %d faulted into ZONE_MOVABLE", what, i);
	}
	mig0 = nr_migrated();
	a0 = nr_acquired();
	rel0 = nr_released();
	ret = fast ? pin_user_pages_fast(addr, 4, FOLL_LONGTERM | FOLL_WRITE, pages)
		   : pin_locked(addr, 4, FOLL_LONGTERM | FOLL_WRITE, pages);
	check_eq(ret, 4, "%s (%s rules)", what, rules_name());
	expect_pinned_pages(mm, addr, old, pages, 4, what);
	expect_tags(addr, 4, 0xa0, what);
	for (int i = 0; i < 4; i++) {
		check_eq(*(unsigned long *)page_address(pages[i]), 0xa0 + (unsigned long)i,
			 "%s: the data of page %d is in the pinned page", what, i);
		if (modern())
			check_eq(page_ref_count(old[i]), 0, "%s: the old frame of page %d is free",
				 what, i);
	}
	/* Modern: the first pass pinned 4 and released them, the second pinned the new 4. */
	check_eq(nr_acquired() - a0, modern() ? 8 : 4, "%s (%s rules): A", what, rules_name());
	check_eq(nr_released() - rel0, modern() ? 4 : 0, "%s (%s rules): Rel", what, rules_name());
	check_eq(nr_migrated() - mig0, modern() ? 4 : 0, "%s (%s rules): pgmigrate_success", what,
		 rules_name());
	unpin_user_pages(pages, 4);
	expect_no_pin_outstanding(a0, rel0, what);
	/* Pinned again: now every page is where a long-term pin may stay. */
	mig0 = nr_migrated();
	check_eq(pin_user_pages_fast(addr, 4, FOLL_LONGTERM | FOLL_WRITE, pages), 4,
		 "%s, then again", what);
	check_eq(nr_migrated() - mig0, 0, "%s, then again: nothing left to migrate", what);
	unpin_user_pages(pages, 4);
	unmap(addr, PG(4), what);
	expect_invariants(what);
}

static void test_anon_movable_slow(void **state)
{
	(void)state;
	anon_movable_pages(false);
}

static void test_anon_movable_fast(void **state)
{
	(void)state;
	anon_movable_pages(true);
}

/*
 * A mixed range: a ZONE_MOVABLE page, a page a long-term pin faulted in (modern: ZONE_NORMAL;
 * 5.7: ZONE_MOVABLE), and the zero page (read-only pin). Modern migrates only the first, and
 * unshares the zero page into a new anonymous page (6.2); 5.7 pins the zero page.
 */
static void test_mixed_range(void **state)
{
	const char *what = "long-term R/O pin of {movable page, long-term-faulted page, zero page}";
	struct mm_struct *mm = current_mm();
	unsigned long addr = map(0, PG(3), RW, ANON, what);
	struct page *old[3], *pages[3], *lt;
	unsigned long mig0;
	long a0, rel0;

	(void)state;
	put_word(addr, 0x51, what);
	check_eq(pin_locked(addr + PG(1), 1, FOLL_LONGTERM | FOLL_WRITE, &lt), 1,
		 "%s setup: the long-term pin that faults page 1 in", what);
	check_eq(modern() ? !movable(lt) : movable(lt), 1,
		 "%s setup (%s rules): page 1 faulted into %s", what, rules_name(),
		 modern() ? "ZONE_NORMAL" : "ZONE_MOVABLE");
	unpin_user_page(lt);
	touch_read(addr + PG(2), 1, what);
	for (int i = 0; i < 2; i++)
		old[i] = mapped_page(mm, addr + PG(i), what);
	/* page_at() leaves special entries out: read the zero page's PTE itself. */
	check_true(pte_present(pte_at(mm, addr + PG(2))) &&
			   is_zero_pfn(pte_pfn(pte_at(mm, addr + PG(2)))),
		   "%s setup: the zero page is mapped at page 2", what);
	old[2] = pfn_to_page(pte_pfn(pte_at(mm, addr + PG(2))));
	mig0 = nr_migrated();
	a0 = nr_acquired();
	rel0 = nr_released();
	check_eq(pin_locked(addr, 3, FOLL_LONGTERM, pages), 3, "%s (%s rules)", what, rules_name());
	for (int i = 0; i < 2; i++)
		check_true(page_at(mm, addr + PG(i)) == pages[i],
			   "%s: page %d returned is the page mapped there", what, i);
	check_true(modern() ? pages[0] != old[0] && normal_outside_cma(pages[0]) : pages[0] == old[0],
		   "%s (%s rules): the ZONE_MOVABLE page %s", what, rules_name(),
		   modern() ? "was migrated to ZONE_NORMAL" : "is pinned where it is");
	check_true(pages[1] == old[1], "%s: page 1 is pinned where it is", what);
	if (modern()) {
		/* 6.2: a R/O long-term pin in a COW mapping unshares the zero page first. */
		check_true(pages[2] != old[2] && PageAnon(pages[2]) &&
				   page_at(mm, addr + PG(2)) == pages[2],
			   "%s (modern rules): the zero page was unshared into an anonymous page "
			   "mapped there", what);
		check_eq(get_word(addr + PG(2), what), 0, "%s: the unshared page reads zero", what);
	} else {
		check_true(pages[2] == old[2], "%s (5.7 rules): the zero page is pinned", what);
	}
	check_eq(get_word(addr, what), 0x51, "%s: page 0's data", what);
	check_eq(nr_migrated() - mig0, modern() ? 1 : 0, "%s (%s rules): pgmigrate_success", what,
		 rules_name());
	unpin_user_pages(pages, 3);
	expect_no_pin_outstanding(a0, rel0, what);
	unmap(addr, PG(3), what);
	expect_invariants(what);
}

/* ---- a PMD-mapped THP ---- */

/* A 2 MiB-aligned anonymous range of 2 MiB, written so that a PMD THP maps it. */
static unsigned long map_thp(struct mm_struct *mm, struct page **head, const char *what)
{
	unsigned long raw = map(0, 2 * SZ_2M, RW, ANON, what);
	unsigned long addr = (raw + SZ_2M - 1) & ~(SZ_2M - 1);

	if (addr != raw)
		unmap(raw, addr - raw, what);
	unmap(addr + SZ_2M, raw + SZ_2M - addr, what);
	tag_pages(addr, 512, 0x7000, what);
	expect_level(mm, addr, LEAF_PMD, "%s setup: a PMD THP maps the range", what);
	*head = mapped_page(mm, addr, what);
	check_true(PageHead(*head) && movable(*head), "%s setup: the THP is in ZONE_MOVABLE", what);
	return addr;
}

static void test_thp(void **state)
{
	const char *what = "pin_user_pages(FOLL_LONGTERM) of 4 pages of a ZONE_MOVABLE THP";
	struct mm_struct *mm = current_mm();
	struct page *head, *old[4], *pages[4];
	unsigned long addr = map_thp(mm, &head, what), split0, mig0;
	long a0, rel0;

	(void)state;
	for (int i = 0; i < 4; i++)
		old[i] = head + 8 + i;
	split0 = global_vm_event_count(THP_SPLIT_PAGE);
	mig0 = nr_migrated();
	a0 = nr_acquired();
	rel0 = nr_released();
	check_eq(pin_locked(addr + PG(8), 4, FOLL_LONGTERM | FOLL_WRITE, pages), 4, "%s (%s rules)",
		 what, rules_name());
	expect_pinned_pages(mm, addr + PG(8), old, pages, 4, what);
	/* Modern: split (pinmm's fallback; Linux moves the THP whole when it can allocate one),
	 * then the 4 pinned pages migrated. 5.7: the THP pinned in place. */
	check_eq(global_vm_event_count(THP_SPLIT_PAGE) - split0, modern() ? 1 : 0,
		 "%s (%s rules): thp_split_page", what, rules_name());
	check_eq(nr_migrated() - mig0, modern() ? 4 : 0, "%s (%s rules): pgmigrate_success", what,
		 rules_name());
	if (!modern())
		check_eq(compound_pincount(head), 4, "%s (5.7 rules): the THP's exact pin count",
			 what);
	expect_tags(addr, 512, 0x7000, what);
	unpin_user_pages(pages, 4);
	expect_no_pin_outstanding(a0, rel0, what);
	unmap(addr, SZ_2M, what);
	expect_invariants(what);
}

/*
 * A THP the range meets twice: its subpage 7 replaced by a lone page (MADV_DONTNEED, then a
 * fault), so the pages array holds subpages 0-6, the lone page, subpages 8-511. The pass
 * collects each folio once (Linux's isolation from the LRU refuses the second look): a THP
 * collected twice held a reference too many, its split failed, and the first long-term pin of
 * the range failed with -ENOMEM under modern rules.
 */
static void test_thp_met_twice(void **state)
{
	const char *what = "pin_user_pages(FOLL_LONGTERM) of a ZONE_MOVABLE THP with a lone page "
			   "inside";
	struct mm_struct *mm = current_mm();
	struct page *head, *pages[512];
	unsigned long addr = map_thp(mm, &head, what);
	long a0, rel0;

	(void)state;
	check_eq(do_madvise(mm, addr + PG(7), PAGE_SIZE, MADV_DONTNEED), 0,
		 "%s setup: MADV_DONTNEED of subpage 7", what);
	put_word(addr + PG(7), 0x7007, what);
	check_true(compound_head(mapped_page(mm, addr + PG(7), what)) != head,
		   "%s setup: page 7 is a page of its own", what);
	a0 = nr_acquired();
	rel0 = nr_released();
	check_eq(pin_locked(addr, 512, FOLL_LONGTERM | FOLL_WRITE, pages), 512, "%s (%s rules)",
		 what, rules_name());
	for (int i = 0; i < 512; i++)
		check_true(modern() ? normal_outside_cma(pages[i]) : true,
			   "%s (%s rules): page %d out of ZONE_MOVABLE", what, rules_name(), i);
	expect_tags(addr, 512, 0x7000, what);
	unpin_user_pages(pages, 512);
	expect_no_pin_outstanding(a0, rel0, what);
	unmap(addr, SZ_2M, what);
	expect_invariants(what);
}

/* ---- page-cache pages ---- */

static void file_pages(struct file *f, unsigned long flags, unsigned int gup_flags,
		       const char *what)
{
	struct mm_struct *mm = current_mm();
	struct address_space *mapping = f->f_mapping;
	struct page *old[4], *pages[4];
	bool dirty[4];
	unsigned long addr, mig0;
	long a0, rel0, shmem0, dirty0;

	assert_int_equal(vfs_truncate(f, (loff_t)PG(4)), 0);
	addr = map_file(f, PG(4), flags, what);
	tag_pages(addr, 4, 0xf0, what);
	for (int i = 0; i < 4; i++) {
		old[i] = mapped_page(mm, addr + PG(i), what);
		dirty[i] = PageDirty(old[i]);
		check_true(!PageAnon(old[i]) && movable(old[i]),
			   "%s setup: page %d is a ZONE_MOVABLE page-cache page", what, i);
	}
	shmem0 = global_node_page_state(NR_SHMEM);
	dirty0 = global_node_page_state(NR_FILE_DIRTY);
	mig0 = nr_migrated();
	a0 = nr_acquired();
	rel0 = nr_released();
	check_eq(pin_locked(addr, 4, gup_flags, pages), 4, "%s (%s rules)", what, rules_name());
	expect_pinned_pages(mm, addr, old, pages, 4, what);
	check_eq(nr_migrated() - mig0, modern() ? 4 : 0, "%s (%s rules): pgmigrate_success", what,
		 rules_name());
	for (int i = 0; i < 4; i++) {
		struct page *cached = find_get_page(mapping, (pgoff_t)i);

		check_true(cached == pages[i], "%s: the page cache holds pinned page %d", what, i);
		if (cached)
			put_page(cached);
		check_eq(PageDirty(pages[i]), dirty[i], "%s: page %d's PG_dirty", what, i);
	}
	check_eq(global_node_page_state(NR_SHMEM), shmem0, "%s: nr_shmem unchanged", what);
	check_eq(global_node_page_state(NR_FILE_DIRTY), dirty0, "%s: nr_dirty unchanged", what);
	expect_tags(addr, 4, 0xf0, what);
	unpin_user_pages(pages, 4);
	expect_no_pin_outstanding(a0, rel0, what);
	if (!mapping->shmem) {
		unsigned long word = 0;

		check_eq(vfs_fsync(f, 0), 0, "%s: fsync", what);
		check_eq(pread(mapping->host_fd, &word, sizeof(word), (off_t)PG(3)),
			 (ssize_t)sizeof(word), "%s: pread of the host file", what);
		check_eq(word, 0xf3, "%s: the host file holds page 3's data", what);
	}
	unmap(addr, PG(4), what);
	expect_invariants(what);
}

static void test_memfd_pages(void **state)
{
	struct file *f = memfd_file_create("longterm", 0);

	(void)state;
	assert_false(IS_ERR(f));
	file_pages(f, MAP_SHARED, FOLL_LONGTERM | FOLL_WRITE,
		   "pin_user_pages(FOLL_LONGTERM | FOLL_WRITE) of 4 shared memfd pages");
	fput(f);
}

static void test_host_file_pages(void **state)
{
	struct file *f = open_tmpfile();

	(void)state;
	if (!f)
		return;
	/* Read-only: a writable long-term pin of a shared host-file mapping is refused under
	 * modern rules (test_gup_longterm_file.c). */
	file_pages(f, MAP_SHARED, FOLL_LONGTERM,
		   "pin_user_pages(FOLL_LONGTERM) of 4 shared host-file pages");
	fput(f);
}

/* ---- migration failure ---- */

enum blocker { BLOCK_PIN, BLOCK_GET, BLOCK_ALLOC, BLOCK_THP_PIN };

static const char *const blocker_names[] = {
	[BLOCK_PIN] = "page 1 pinned elsewhere",
	[BLOCK_GET] = "page 1 held by a get_user_pages() reference",
	[BLOCK_ALLOC] = "the migration's page allocation fails (alloc:pages)",
	[BLOCK_THP_PIN] = "a THP with a page pinned elsewhere",
};

static void migration_failure(enum blocker b)
{
	const char *what = blocker_names[b];
	struct mm_struct *mm = current_mm();
	struct page *old[2], *pages[2], *held = NULL, *head = NULL;
	unsigned long addr, fail0, mig0;
	struct pin_state s1;
	long a0, rel0, ret;

	if (b == BLOCK_THP_PIN) {
		addr = map_thp(mm, &head, what);
	} else {
		addr = map(0, PG(2), RW, ANON, what);
		tag_pages(addr, 2, 0xb0, what);
	}
	for (int i = 0; i < 2; i++)
		old[i] = mapped_page(mm, addr + PG(i), what);
	if (b == BLOCK_PIN || b == BLOCK_THP_PIN)
		check_eq(pin_user_pages_fast(addr + PG(1), 1, 0, &held), 1, "%s: the other pin",
			 what);
	if (b == BLOCK_GET)
		check_eq(get_user_pages_fast(addr + PG(1), 1, 0, &held), 1,
			 "%s: the other reference", what);
	if (b == BLOCK_ALLOC) {
		struct pinmm_fail_attr fa = {.sites = "alloc:pages", .nth = 1, .persistent = true};

		if (pinmm_fail_set(&fa) == -EOPNOTSUPP) {
			unmap(addr, PG(2), what);
			skip();
			return;
		}
	}
	s1 = pin_state_of(old[1]);
	fail0 = nr_migrate_failed();
	mig0 = nr_migrated();
	a0 = nr_acquired();
	rel0 = nr_released();
	poison_pages(pages, 2);
	ret = pin_locked(addr, 2, FOLL_LONGTERM | FOLL_WRITE, pages);
	if (b == BLOCK_ALLOC)
		pinmm_fail_set(NULL);
	if (modern()) {
		check_eq(ret, -ENOMEM, "long-term pin, %s (modern rules)", what);
		/* Nothing left pinned: every pin the call took it released. */
		expect_no_pin_outstanding(a0, rel0, what);
		check_true(!page_maybe_dma_pinned(mapped_page(mm, addr, what)) ||
				   b == BLOCK_THP_PIN,
			   "%s (modern rules): page 0 is not pinned", what);
		check_true(page_at(mm, addr + PG(1)) == old[1],
			   "%s (modern rules): page 1 is still mapped where it was", what);
		check_eq(page_ref_count(compound_head(old[1])), s1.R,
			 "%s (modern rules): page 1's refcount after the failed call", what);
		check_eq(page_maybe_dma_pinned(old[1]), s1.MDP,
			 "%s (modern rules): page 1's maybe-pinned after the failed call", what);
		check_true(nr_migrate_failed() > fail0, "%s (modern rules): pgmigrate_fail", what);
		if (b == BLOCK_THP_PIN)
			check_eq(nr_migrated() - mig0, 0, "%s: nothing migrated", what);
	} else {
		check_eq(ret, 2, "long-term pin, %s (5.7 rules)", what);
		expect_pinned_pages(mm, addr, old, pages, 2, what);
		check_eq(nr_migrated() - mig0, 0, "%s (5.7 rules): nothing migrated", what);
		unpin_user_pages(pages, 2);
		expect_no_pin_outstanding(a0, rel0, what);
	}
	if (b == BLOCK_THP_PIN) {
		expect_tags(addr, 512, 0x7000, what);
	} else {
		expect_tags(addr, 2, 0xb0, what);
	}
	if (held && b == BLOCK_GET)
		put_page(held);
	else if (held)
		unpin_user_page(held);
	unmap(addr, b == BLOCK_THP_PIN ? SZ_2M : PG(2), what);
	expect_invariants(what);
}

static void test_failure_other_pin(void **state)
{
	(void)state;
	migration_failure(BLOCK_PIN);
}

static void test_failure_other_reference(void **state)
{
	(void)state;
	migration_failure(BLOCK_GET);
}

static void test_failure_no_memory(void **state)
{
	(void)state;
	migration_failure(BLOCK_ALLOC);
}

static void test_failure_thp_pinned_elsewhere(void **state)
{
	(void)state;
	migration_failure(BLOCK_THP_PIN);
}

/* ---- faults under FOLL_LONGTERM ---- */

static void test_longterm_faults(void **state)
{
	const char *what = "pin_user_pages(FOLL_LONGTERM) faulting in untouched pages";
	struct mm_struct *mm = current_mm();
	unsigned long addr = map(0, PG(4), RW, ANON, what), shared, mig0;
	struct file *f = memfd_file_create("lt-fault", 0);
	struct page *pages[4];
	long a0;

	(void)state;
	assert_false(IS_ERR(f));
	mig0 = nr_migrated();
	a0 = nr_acquired();
	check_eq(pin_locked(addr, 4, FOLL_LONGTERM | FOLL_WRITE, pages), 4, "%s (%s rules)", what,
		 rules_name());
	for (int i = 0; i < 4; i++) {
		check_true(page_at(mm, addr + PG(i)) == pages[i], "%s: page %d is mapped", what, i);
		/* 5.7's memalloc_nocma_save() keeps CMA out only: the fault takes ZONE_MOVABLE. */
		check_true(modern() ? normal_outside_cma(pages[i])
				    : movable(pages[i]),
			   "%s (%s rules): page %d (pfn %#lx) is in %s", what, rules_name(), i,
			   page_to_pfn(pages[i]), modern() ? "ZONE_NORMAL outside CMA" : "ZONE_MOVABLE");
	}
	check_eq(nr_acquired() - a0, 4, "%s: A (one pass: nothing to migrate)", what);
	check_eq(nr_migrated() - mig0, 0, "%s: pgmigrate_success", what);
	unpin_user_pages(pages, 4);

	/* The same for shmem pages faulted in by the long-term pin. */
	assert_int_equal(vfs_truncate(f, (loff_t)PG(2)), 0);
	shared = map_file(f, PG(2), MAP_SHARED, what);
	check_eq(pin_locked(shared, 2, FOLL_LONGTERM | FOLL_WRITE, pages), 2,
		 "%s: memfd (%s rules)", what, rules_name());
	for (int i = 0; i < 2; i++)
		check_true(modern() ? normal_outside_cma(pages[i]) : movable(pages[i]),
			   "%s: memfd page %d (%s rules) is in %s", what, i, rules_name(),
			   modern() ? "ZONE_NORMAL outside CMA" : "ZONE_MOVABLE");
	check_eq(nr_migrated() - mig0, 0, "%s: memfd: pgmigrate_success", what);
	unpin_user_pages(pages, 2);
	/* After the call, ordinary faults use ZONE_MOVABLE again: the context was restored. */
	{
		unsigned long other = map(0, PG(1), RW, ANON, what);

		put_word(other, 1, what);
		check_true(movable(mapped_page(mm, other, what)),
			   "%s: a fault after the call uses ZONE_MOVABLE", what);
		unmap(other, PG(1), what);
	}
	unmap(shared, PG(2), what);
	unmap(addr, PG(4), what);
	fput(f);
	expect_invariants(what);
}

#define both(f) gup_test_57(f), gup_test_modern(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		both(test_anon_movable_slow),
		both(test_anon_movable_fast),
		both(test_mixed_range),
		both(test_thp),
		both(test_thp_met_twice),
		both(test_memfd_pages),
		both(test_host_file_pages),
		both(test_failure_other_pin),
		both(test_failure_other_reference),
		both(test_failure_no_memory),
		both(test_failure_thp_pinned_elsewhere),
		both(test_longterm_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
