/* SPDX-License-Identifier: MIT */
/*
 * Conformance: the fast path gives what the slow path gives. For each row of the scenario table
 * the same address space is built afresh (a new mm, the same mappings at the same fixed
 * addresses, the same faults) once per call, and the pairs pin_user_pages (under
 * mmap_read_lock) / pin_user_pages_fast and get_user_pages / get_user_pages_fast are run on it
 * with the same arguments. The two runs of a pair must agree on:
 *   - the return value (and both on the row's expected one);
 *   - pages[]: each entry must be the (sub)page mapped at its address, found by walking the page
 *     tables again after the call, or the zero page; the runs compare that, the offset in the
 *     compound page, its order and whether it is anonymous (the pfns differ from run to run:
 *     the memory is faulted in afresh each time);
 *   - the head refcount R, exact pin count P, page_maybe_dma_pinned() and mapcount of every
 *     page returned, and of every page mapped in and around the range, before the call, after
 *     it, and after everything was released;
 *   - the deltas of nr_foll_pin_acquired / nr_foll_pin_released across the call and across the
 *     release, net (the pins outstanding) and raw.
 *
 * The rule that is easy to break: the two runs must start from the same state, so a run
 * releases everything it took and tears its mm down (and its forked child's) before the next
 * one; the state before each call is described and compared too.
 *
 * Not compared: the accessed and dirty bits of the entries and PG_referenced / PG_dirty. 5.7's
 * pin_user_pages() passes no FOLL_TOUCH, the lockless walk marks pages referenced, and its
 * fallback passes FOLL_TOUCH: Linux's two paths leave those bits differently.
 *
 * test_gup_rules_through_both_paths runs the GUP rules of Linux 5.7 (mm/gup.c, the
 * pin_user_pages series, commit 47e29d32afba "mm/gup: page->hpage_pinned_refcount: exact pin
 * counts for huge pages") for order-0 pages and THPs, scenarios labelled S1-S50 in its
 * table, once per path through struct gup_path (a pin and a get function pointer), so both
 * paths meet the same written expectations. test_where_linux_paths_differ pins down the one
 * place where Linux's paths are meant to answer differently (the fast path's own range check).
 * test_force_read_of_prot_none_hugetlb shows a slow-path bug that both paths share
 * (the fast path falls back to it): it fails until the bug is fixed.
 */
#include <fcntl.h>

#include "gup_conformance.h"

#define BASE 0x40000000UL /* 1 GiB aligned: fits a THP, a 2 MiB and a 1 GiB hugetlb page */
#define THP_NR 512
#define MARGIN 2 /* pages described on each side of the range */

/* ---- the calls compared ---- */

/* Slow, then fast, for each pair (pin_user_pages under mmap_read_lock: v_pin). */
static const struct gup_variant pin_pair[2] = {
	{"pin_user_pages", true, false, v_pin},
	{"pin_user_pages_fast", true, false, v_pin_fast},
};
static const struct gup_variant get_pair[2] = {
	{"get_user_pages", false, false, v_get},
	{"get_user_pages_fast", false, false, v_get_fast},
};

/* ---- a fresh address space for each run ---- */

/* Switch the thread from the fixture's mm to a new empty one; returns the fixture's. */
static struct mm_struct *fresh_mm_begin(const char *what)
{
	struct mm_struct *fixture = current_mm(), *mm = mm_alloc();

	if (!mm)
		gup_fail("%s: mm_alloc() failed", what);
	kthread_unuse_mm(fixture);
	kthread_use_mm(mm);
	return fixture;
}

/* A child forked by a scenario's setup: it shares the run's pages until the run ends. */
static struct mm_struct *run_child;

/* Tear the run's mm (and its child's) down, everything in it freed, and go back to the
 * fixture's. */
static void fresh_mm_end(struct mm_struct *fixture)
{
	struct mm_struct *mm = current_mm();

	kthread_unuse_mm(mm);
	mmput(mm);
	mmput(run_child);
	run_child = NULL;
	kthread_use_mm(fixture);
}

/* A check that failed inside a run left the run's mm current: go back to the fixture's first
 * (the pins the run held are then reported as leaks by the shutdown). */
static int fvs_teardown(void **state)
{
	struct mm_struct *mm = current_mm();

	if (mm != *state) {
		kthread_unuse_mm(mm);
		mmput(mm);
		mmput(run_child);
		run_child = NULL;
		kthread_use_mm(*state);
	}
	return gup_teardown(state);
}

/* The hugetlb rows' machine: 4 GiB with one 1 GiB and two 2 MiB pool pages. */
static int setup_hugetlb(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_1g = 1;
	cfg.nr_hugepages_2m = 2;
	return gup_setup_with(state, &cfg);
}

#define fvs_test(f) cmocka_unit_test_setup_teardown(f, gup_setup, fvs_teardown)
/* Rows that expect 5.7's accounting of the zero page (pinned like any page) boot 5.7. */
#define fvs_test_57(f) cmocka_unit_test_setup_teardown(f, setup_mm_57, fvs_teardown)
#define fvs_huge_test(f) cmocka_unit_test_setup_teardown(f, setup_hugetlb, fvs_teardown)

/* ---- what an address maps, described so that two runs can be compared ---- */

#define LEAF_BITS (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_RW | _PAGE_PSE | _PAGE_SPECIAL)

struct addr_state {
	unsigned long size; /* the leaf's size; 0: nothing mapped */
	unsigned long bits; /* the leaf's LEAF_BITS (not accessed / dirty: see the top) */
	bool zero;          /* the zero page */
	bool anon;
	bool hugetlb;
	int order;          /* of the compound page */
	long sub;           /* the page's offset in its compound page */
	int R, P, mapcount;
	bool MDP;
	struct page *page;  /* this run's page: never compared across runs */
};

static void describe_addr(struct mm_struct *mm, unsigned long addr, struct addr_state *st)
{
	unsigned long size, e = leaf_at(mm, addr, &size);
	struct page *page, *head;

	memset(st, 0, sizeof(*st));
	if (!(e & (_PAGE_PRESENT | _PAGE_PROTNONE)))
		return;
	page = pfn_to_page(((e & PTE_PFN_MASK) >> PAGE_SHIFT) + ((addr & (size - 1)) >> PAGE_SHIFT));
	head = compound_head(page);
	st->size = size;
	st->bits = e & LEAF_BITS;
	st->page = page;
	st->zero = page == ZERO_PAGE(0);
	st->anon = PageAnon(head);
	st->hugetlb = PageHuge(head);
	st->order = (int)compound_order(head);
	st->sub = page - head;
	st->R = page_ref_count(head);
	st->P = pincount_of(page);
	st->mapcount = page_mapcount(page);
	st->MDP = page_maybe_dma_pinned(page);
}

/* One pages[] entry. */
enum { ENT_MAPPED = 1, ENT_ZERO = 2 };

struct entry_state {
	int rel; /* ENT_MAPPED: the page mapped at its address; ENT_ZERO: the zero page */
	bool anon;
	int order;
	long sub;
	int R, P;
	bool MDP;
};

/* ---- the scenario table ---- */

enum machine { M_DEFAULT, M_HUGETLB };

struct scenario {
	const char *name;
	enum machine machine;
	void (*setup)(const char *what); /* build the state at BASE in the current (fresh) mm */
	unsigned long start;             /* offset from BASE in bytes, maybe not page aligned
					  * (-PG(4): 4 pages below BASE) */
	unsigned long nr;
	unsigned int flags;
	long expect;                     /* what every call of the row returns (under modern
					  * rules: modern_expect[] may say otherwise) */
};

/* Rows whose calls return something else under modern rules, and what. */
static const struct {
	const char *name;
	long expect;
} modern_expect[] = {
	/* hugetlb takes no FOLL_FORCE writes (check_vma_flags() since Linux 6.0). */
	{"PROT_READ 2 MiB hugetlb: FOLL_FORCE write", -EFAULT},
};

static long row_expect(const struct scenario *sc)
{
	if (pinmm_rules() == PINMM_RULES_MODERN)
		for (size_t i = 0; i < sizeof(modern_expect) / sizeof(modern_expect[0]); i++)
			if (!strcmp(modern_expect[i].name, sc->name))
				return modern_expect[i].expect;
	return sc->expect;
}

static unsigned long map_fixed(unsigned long off, unsigned long len, unsigned long prot,
			       unsigned long flags, const char *what)
{
	return map(BASE + off, len, prot, flags | MAP_FIXED, what);
}

static void expect_leaf_size(unsigned long addr, unsigned long want, const char *what)
{
	unsigned long size;

	leaf_at(current_mm(), addr, &size);
	if (size != want)
		gup_fail("%s (setup): %#lx is mapped by a leaf of %#lx bytes, expected %#lx", what,
			 addr, size, want);
}

static void su_anon_untouched(const char *what)
{
	map_fixed(0, PG(16), RW, ANON, what);
}

static void su_anon_written(const char *what)
{
	su_anon_untouched(what);
	touch_write(BASE, 16, 0x11, what);
}

static void su_anon_read_faulted(const char *what)
{
	struct addr_state st;

	su_anon_untouched(what);
	touch_read(BASE, 16, what);
	describe_addr(current_mm(), BASE, &st);
	check_true(st.zero && (st.bits & _PAGE_SPECIAL),
		   "%s (setup): a read fault maps the zero page (a special entry)", what);
}

/* Page i written if i % 3 == 0, read-faulted (zero page) if i % 3 == 1, else never touched. */
static void su_anon_mixed(const char *what)
{
	su_anon_untouched(what);
	for (unsigned long i = 0; i < 16; i++) {
		if (i % 3 == 0)
			touch_write(BASE + PG(i), 1, (unsigned char)i, what);
		else if (i % 3 == 1)
			touch_read(BASE + PG(i), 1, what);
	}
}

static void su_thp_untouched(const char *what)
{
	map_fixed(0, SZ_2M, RW, ANON, what);
}

static void su_thp(const char *what)
{
	su_thp_untouched(what);
	touch_write(BASE, 1, 0x22, what);
	expect_leaf_size(BASE, PMD_SIZE, what);
}

/* A 2 MiB aligned THP and 8 small pages after it, in one VMA (too short for a second THP). */
static void su_thp_then_4k_untouched(const char *what)
{
	map_fixed(0, SZ_2M + PG(8), RW, ANON, what);
}

static void su_thp_then_4k(const char *what)
{
	su_thp_then_4k_untouched(what);
	touch_write(BASE, 1, 0x33, what);
	touch_write(BASE + SZ_2M, 8, 0x34, what);
	expect_leaf_size(BASE, PMD_SIZE, what);
	expect_leaf_size(BASE + SZ_2M, PAGE_SIZE, what);
}

static void su_huge2m_untouched(const char *what)
{
	map_fixed(0, SZ_2M, RW, ANON | MAP_HUGETLB | MAP_HUGE_2MB, what);
}

static void su_huge2m(const char *what)
{
	su_huge2m_untouched(what);
	touch_write(BASE, 1, 0x44, what);
	expect_leaf_size(BASE, PMD_SIZE, what);
}

static void su_huge1g_untouched(const char *what)
{
	map_fixed(0, SZ_1G, RW, ANON | MAP_HUGETLB | MAP_HUGE_1GB, what);
}

static void su_huge1g(const char *what)
{
	su_huge1g_untouched(what);
	touch_write(BASE, 1, 0x55, what);
	expect_leaf_size(BASE, PUD_SIZE, what);
}

/* A 3-page VMA with nothing after it. */
static void su_vma3_untouched(const char *what)
{
	map_fixed(0, PG(3), RW, ANON, what);
}

static void su_vma3(const char *what)
{
	su_vma3_untouched(what);
	touch_write(BASE, 3, 0x66, what);
}

/* Pages 0, 2, 3 written; page 1 a hole. */
static void su_hole(const char *what)
{
	map_fixed(0, PG(4), RW, ANON, what);
	touch_write(BASE, 4, 0x77, what);
	unmap(BASE + PG(1), PG(1), what);
}

static void su_ro_written(const char *what)
{
	map_fixed(0, PG(4), RW, ANON, what);
	touch_write(BASE, 4, 0x88, what);
	check_eq(vm_mprotect(BASE, PG(4), PROT_READ), 0, "%s (setup): mprotect(PROT_READ)", what);
}

/* Written pages, the last two made PROT_READ (a VMA of its own). */
static void su_ro_tail(const char *what)
{
	map_fixed(0, PG(4), RW, ANON, what);
	touch_write(BASE, 4, 0x99, what);
	check_eq(vm_mprotect(BASE + PG(2), PG(2), PROT_READ), 0,
		 "%s (setup): mprotect(PROT_READ) of the last 2 pages", what);
}

static void su_ro_zero(const char *what)
{
	map_fixed(0, PG(4), RW, ANON, what);
	touch_read(BASE, 4, what);
	check_eq(vm_mprotect(BASE, PG(4), PROT_READ), 0, "%s (setup): mprotect(PROT_READ)", what);
}

static void su_ro_untouched(const char *what)
{
	map_fixed(0, PG(4), PROT_READ, ANON, what);
}

/* Pages 0 and 1 written, 2 and 3 never touched, then all PROT_NONE. */
static void su_protnone(const char *what)
{
	map_fixed(0, PG(4), RW, ANON, what);
	touch_write(BASE, 2, 0xaa, what);
	check_eq(vm_mprotect(BASE, PG(4), PROT_NONE), 0, "%s (setup): mprotect(PROT_NONE)", what);
}

/* A shmem file of npages mapped at BASE (the mapping holds the file). */
static void map_shmem(unsigned long npages, unsigned long prot, unsigned long flags,
		      const char *what)
{
	struct file *file = shmem_file_setup("pinmm-fast-vs-slow", (loff_t)PG(npages), 0);
	unsigned long addr;

	if (IS_ERR(file))
		gup_fail("%s (setup): shmem_file_setup() failed with %ld", what, PTR_ERR(file));
	addr = vm_mmap(file, BASE, PG(npages), prot, flags | MAP_FIXED, 0);
	fput(file);
	if (addr != BASE)
		gup_fail("%s (setup): vm_mmap(shmem, %#lx) returned %#lx (%ld)", what, BASE, addr,
			 (long)addr);
}

static void su_shmem_untouched(const char *what)
{
	map_shmem(16, RW, MAP_SHARED, what);
}

static void su_shmem_written(const char *what)
{
	su_shmem_untouched(what);
	touch_write(BASE, 16, 0xbb, what);
}

static void su_shmem_read_faulted(const char *what)
{
	su_shmem_untouched(what);
	touch_read(BASE, 16, what);
}

/* A PROT_READ MAP_PRIVATE mapping of a shmem file: pages 0 and 1 read-faulted (the page cache
 * pages mapped), 2 and 3 never touched. */
static void su_shmem_private_ro(const char *what)
{
	map_shmem(4, PROT_READ, MAP_PRIVATE, what);
	touch_read(BASE, 2, what);
	check_true(page_at(current_mm(), BASE) && !PageAnon(page_at(current_mm(), BASE)),
		   "%s (setup): the read fault maps the page cache page", what);
}

/* A THP whose PMD was split into PTEs by unmapping its last 8 subpages. */
static void su_thp_pte_mapped(const char *what)
{
	su_thp(what);
	unmap(BASE + SZ_2M - PG(8), PG(8), what);
	expect_leaf_size(BASE, PAGE_SIZE, what);
	check_true(PageHead(compound_head(page_at(current_mm(), BASE))),
		   "%s (setup): the PTEs still map subpages of the THP", what);
}

/* A THP whose second half was made PROT_READ: two VMAs, the PMD split into PTEs. */
static void su_thp_half_ro(const char *what)
{
	su_thp(what);
	check_eq(vm_mprotect(BASE + SZ_2M / 2, SZ_2M / 2, PROT_READ), 0,
		 "%s (setup): mprotect(PROT_READ) of the second half", what);
	expect_leaf_size(BASE, PAGE_SIZE, what);
}

/* A whole PMD-mapped THP made PROT_READ / PROT_NONE: the PMD leaf stays. */
static void su_thp_ro(const char *what)
{
	su_thp(what);
	check_eq(vm_mprotect(BASE, SZ_2M, PROT_READ), 0, "%s (setup): mprotect(PROT_READ)", what);
	expect_leaf_size(BASE, PMD_SIZE, what);
}

static void su_thp_protnone(const char *what)
{
	su_thp(what);
	check_eq(vm_mprotect(BASE, SZ_2M, PROT_NONE), 0, "%s (setup): mprotect(PROT_NONE)", what);
}

/* 8 small pages, then a THP, in one VMA starting 8 pages below BASE. */
static void su_4k_then_thp(const char *what)
{
	map(BASE - PG(8), SZ_2M + PG(8), RW, ANON | MAP_FIXED, what);
	touch_write(BASE - PG(8), 8, 0x35, what);
	touch_write(BASE, 1, 0x36, what);
	expect_leaf_size(BASE - PG(1), PAGE_SIZE, what);
	expect_leaf_size(BASE, PMD_SIZE, what);
}

static void su_two_thps(const char *what)
{
	map_fixed(0, 2 * SZ_2M, RW, ANON, what);
	touch_write(BASE, 1, 0x37, what);
	touch_write(BASE + SZ_2M, 1, 0x38, what);
	expect_leaf_size(BASE + SZ_2M, PMD_SIZE, what);
}

static void su_huge2m_protnone(const char *what)
{
	su_huge2m(what);
	check_eq(vm_mprotect(BASE, SZ_2M, PROT_NONE), 0, "%s (setup): mprotect(PROT_NONE)", what);
}

static void su_huge2m_ro(const char *what)
{
	su_huge2m(what);
	check_eq(vm_mprotect(BASE, SZ_2M, PROT_READ), 0, "%s (setup): mprotect(PROT_READ)", what);
}

static void su_huge1g_protnone(const char *what)
{
	su_huge1g(what);
	check_eq(vm_mprotect(BASE, SZ_1G, PROT_NONE), 0, "%s (setup): mprotect(PROT_NONE)", what);
}

static void fork_child(const char *what)
{
	run_child = pinmm_fork(current_mm());
	if (IS_ERR(run_child)) {
		long err = PTR_ERR(run_child);

		run_child = NULL;
		gup_fail("%s (setup): pinmm_fork() failed with %ld", what, err);
	}
}

/* Written anonymous pages (a THP) shared copy-on-write with a forked child. */
static void su_anon_forked(const char *what)
{
	su_anon_written(what);
	fork_child(what);
}

static void su_thp_forked(const char *what)
{
	su_thp(what);
	fork_child(what);
}

static void su_huge2m_forked(const char *what)
{
	su_huge2m(what);
	fork_child(what);
}

static void su_shared_anon_untouched(const char *what)
{
	map_fixed(0, PG(16), RW, MAP_SHARED | MAP_ANONYMOUS, what);
}

static void su_shared_anon_written(const char *what)
{
	su_shared_anon_untouched(what);
	touch_write(BASE, 16, 0xcc, what);
}

/* A PROT_READ | PROT_WRITE MAP_PRIVATE mapping of a shmem file, read-faulted. */
static void su_shmem_private_read_faulted(const char *what)
{
	map_shmem(16, RW, MAP_PRIVATE, what);
	touch_read(BASE, 16, what);
}

#define W FOLL_WRITE
#define F FOLL_FORCE
#define L FOLL_LONGTERM

static const struct scenario scenarios[] = {
	/* anonymous 4 KiB pages */
	{"anonymous 4 KiB pages, written: read", M_DEFAULT, su_anon_written, 0, 16, 0, 16},
	{"anonymous 4 KiB pages, written: write", M_DEFAULT, su_anon_written, 0, 16, W, 16},
	{"anonymous 4 KiB pages, written: 8 from page 3 + 0x123", M_DEFAULT, su_anon_written,
	 PG(3) + 0x123, 8, W, 8},
	{"never-touched anonymous memory: read (the zero page is faulted in)", M_DEFAULT,
	 su_anon_untouched, 0, 16, 0, 16},
	{"never-touched anonymous memory: write", M_DEFAULT, su_anon_untouched, 0, 16, W, 16},
	{"the zero page (read-faulted first): read", M_DEFAULT, su_anon_read_faulted, 0, 16, 0, 16},
	{"the zero page (read-faulted first): write breaks COW", M_DEFAULT, su_anon_read_faulted, 0,
	 16, W, 16},
	{"written, zero-page and never-touched pages mixed: read", M_DEFAULT, su_anon_mixed, 0, 16,
	 0, 16},
	{"written, zero-page and never-touched pages mixed: write", M_DEFAULT, su_anon_mixed, 0, 16,
	 W, 16},
	/* THP (THP always, 2 MiB aligned) */
	{"PMD-mapped THP: all 512 subpages, write", M_DEFAULT, su_thp, 0, THP_NR, W, THP_NR},
	{"PMD-mapped THP: 10 subpages from 100 + 123 bytes, read", M_DEFAULT, su_thp, PG(100) + 123,
	 10, 0, 10},
	{"never-touched THP range: all 512, write (the slow path faults a THP in)", M_DEFAULT,
	 su_thp_untouched, 0, THP_NR, W, THP_NR},
	{"never-touched THP range: 16 from subpage 300, read", M_DEFAULT, su_thp_untouched, PG(300),
	 16, 0, 16},
	{"partial THP: 12 subpages from 500, then 8 small pages, write", M_DEFAULT, su_thp_then_4k,
	 PG(500), 20, W, 20},
	{"partial THP: 12 subpages from 500, then 8 small pages, read", M_DEFAULT, su_thp_then_4k,
	 PG(500), 20, 0, 20},
	{"partial THP, never touched: 12 subpages from 500, then 8 small pages, write", M_DEFAULT,
	 su_thp_then_4k_untouched, PG(500), 20, W, 20},
	{"PTE-mapped THP (its PMD split): 16 subpages from 100, write", M_DEFAULT,
	 su_thp_pte_mapped, PG(100), 16, W, 16},
	{"PTE-mapped THP (its PMD split): 504 subpages and 4 past the VMA, read", M_DEFAULT,
	 su_thp_pte_mapped, 0, 508, 0, 504},
	{"THP with its second half PROT_READ: write of all 512 stops at 256", M_DEFAULT,
	 su_thp_half_ro, 0, THP_NR, W, 256},
	{"PROT_READ PMD-mapped THP: write", M_DEFAULT, su_thp_ro, 0, THP_NR, W, -EFAULT},
	{"PROT_READ PMD-mapped THP: FOLL_FORCE write", M_DEFAULT, su_thp_ro, 0, THP_NR, W | F,
	 THP_NR},
	{"PROT_NONE PMD-mapped THP: read", M_DEFAULT, su_thp_protnone, 0, 16, 0, -EFAULT},
	{"PROT_NONE PMD-mapped THP: FOLL_FORCE read", M_DEFAULT, su_thp_protnone, 0, 16, F, 16},
	{"8 small pages then a THP: 4 small pages and 8 subpages, write", M_DEFAULT,
	 su_4k_then_thp, -PG(4), 12, W, 12},
	{"two THPs: 12 subpages of the first, 12 of the second, read", M_DEFAULT, su_two_thps,
	 PG(500), 24, 0, 24},
	/* hugetlb (a 4 GiB machine with one 1 GiB and two 2 MiB pool pages) */
	{"2 MiB hugetlb: all 512 subpages, write", M_HUGETLB, su_huge2m, 0, THP_NR, W, THP_NR},
	{"2 MiB hugetlb: 8 from subpage 508, the VMA ends after 4", M_HUGETLB, su_huge2m, PG(508), 8,
	 0, 4},
	{"2 MiB hugetlb, never touched: all 512, write", M_HUGETLB, su_huge2m_untouched, 0, THP_NR,
	 W, THP_NR},
	{"PROT_NONE 2 MiB hugetlb: read", M_HUGETLB, su_huge2m_protnone, 0, 16, 0, -EFAULT},
	{"PROT_READ 2 MiB hugetlb: write", M_HUGETLB, su_huge2m_ro, 0, 16, W, -EFAULT},
	{"PROT_READ 2 MiB hugetlb: FOLL_FORCE write", M_HUGETLB, su_huge2m_ro, 0, 16, W | F, 16},
	{"PROT_NONE 1 GiB hugetlb: read", M_HUGETLB, su_huge1g_protnone, PG(1000), 16, 0, -EFAULT},
	{"2 MiB hugetlb shared with a forked child: read", M_HUGETLB, su_huge2m_forked, 0, THP_NR,
	 0, THP_NR},
	{"2 MiB hugetlb shared with a forked child: write (COW)", M_HUGETLB, su_huge2m_forked,
	 PG(100), 16, W, 16},
	{"1 GiB hugetlb: 64 from subpage 100000, write", M_HUGETLB, su_huge1g, PG(100000), 64, W,
	 64},
	{"1 GiB hugetlb: the last 4 subpages and 4 past the VMA", M_HUGETLB, su_huge1g,
	 SZ_1G - PG(4), 8, 0, 4},
	{"1 GiB hugetlb, never touched: 64 from subpage 262000, read", M_HUGETLB,
	 su_huge1g_untouched, PG(262000), 64, 0, 64},
	/* ranges */
	{"range running out of its VMA (3 of 8, written): write", M_DEFAULT, su_vma3, 0, 8, W, 3},
	{"range running out of its VMA (3 of 8, never touched): read", M_DEFAULT, su_vma3_untouched,
	 0, 8, 0, 3},
	{"range running out of its VMA (3 of 8, never touched): write", M_DEFAULT,
	 su_vma3_untouched, 0, 8, W, 3},
	{"range starting in a hole", M_DEFAULT, su_hole, PG(1), 2, 0, -EFAULT},
	{"range running into a hole after one page", M_DEFAULT, su_hole, 0, 3, W, 1},
	/* VMA permissions */
	{"write pin of a PROT_READ private mapping", M_DEFAULT, su_ro_written, 0, 4, W, -EFAULT},
	{"read pin of a PROT_READ private mapping", M_DEFAULT, su_ro_written, 0, 4, 0, 4},
	{"write pin running into a PROT_READ part after 2 pages", M_DEFAULT, su_ro_tail, 0, 4, W,
	 2},
	{"read of a PROT_NONE mapping", M_DEFAULT, su_protnone, 0, 4, 0, -EFAULT},
	{"FOLL_FORCE read of a PROT_NONE mapping (2 written, 2 never touched)", M_DEFAULT,
	 su_protnone, 0, 4, F, 4},
	{"FOLL_FORCE write to a PROT_NONE private mapping (2 written, 2 never touched)", M_DEFAULT,
	 su_protnone, 0, 4, W | F, 4},
	{"FOLL_FORCE write to a PROT_READ private anonymous mapping, written", M_DEFAULT,
	 su_ro_written, 0, 4, W | F, 4},
	{"FOLL_FORCE write to a PROT_READ private mapping of the zero page (COW)", M_DEFAULT,
	 su_ro_zero, 0, 4, W | F, 4},
	{"FOLL_FORCE write to a never-touched PROT_READ private mapping", M_DEFAULT,
	 su_ro_untouched, 0, 4, W | F, 4},
	{"FOLL_FORCE write to a PROT_READ private shmem mapping (COW of the file pages)", M_DEFAULT,
	 su_shmem_private_ro, 0, 4, W | F, 4},
	{"private shmem mapping, read-faulted: read (the page cache pages)", M_DEFAULT,
	 su_shmem_private_read_faulted, 0, 16, 0, 16},
	{"private shmem mapping, read-faulted: write (COW)", M_DEFAULT,
	 su_shmem_private_read_faulted, 0, 16, W, 16},
	/* fork */
	{"anonymous pages shared with a forked child: read", M_DEFAULT, su_anon_forked, 0, 16, 0,
	 16},
	{"anonymous pages shared with a forked child: write (COW)", M_DEFAULT, su_anon_forked, 0, 16,
	 W, 16},
	{"THP shared with a forked child: read", M_DEFAULT, su_thp_forked, 0, THP_NR, 0, THP_NR},
	{"THP shared with a forked child: write (COW)", M_DEFAULT, su_thp_forked, PG(200), 16, W,
	 16},
	/* FOLL_LONGTERM */
	{"FOLL_LONGTERM on written anonymous memory: write", M_DEFAULT, su_anon_written, 0, 16,
	 L | W, 16},
	{"FOLL_LONGTERM on never-touched anonymous memory: read (the zero page)", M_DEFAULT,
	 su_anon_untouched, 0, 16, L, 16},
	{"FOLL_LONGTERM on never-touched anonymous memory: write", M_DEFAULT, su_anon_untouched, 0,
	 16, L | W, 16},
	{"FOLL_LONGTERM on a PMD-mapped THP: write", M_DEFAULT, su_thp, 0, THP_NR, L | W, THP_NR},
	/* shmem MAP_SHARED */
	{"shmem MAP_SHARED, written: read", M_DEFAULT, su_shmem_written, 0, 16, 0, 16},
	{"shmem MAP_SHARED, written: write", M_DEFAULT, su_shmem_written, 0, 16, W, 16},
	{"shmem MAP_SHARED, read-faulted: write", M_DEFAULT, su_shmem_read_faulted, 0, 16, W, 16},
	{"shmem MAP_SHARED, never touched: read", M_DEFAULT, su_shmem_untouched, 0, 16, 0, 16},
	{"shmem MAP_SHARED, never touched: write", M_DEFAULT, su_shmem_untouched, 0, 16, W, 16},
	{"MAP_SHARED | MAP_ANONYMOUS, written: write", M_DEFAULT, su_shared_anon_written, 0, 16,
	 W, 16},
	{"MAP_SHARED | MAP_ANONYMOUS, never touched: read", M_DEFAULT, su_shared_anon_untouched, 0,
	 16, 0, 16},
	{"shmem MAP_SHARED, written: FOLL_LONGTERM write", M_DEFAULT, su_shmem_written, 0, 16, L | W,
	 16},
};

#undef W
#undef F
#undef L

#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* ---- one run: build, call, describe, release, describe ---- */

struct run {
	long ret;
	long dA, dRel;       /* nr_foll_pin_acquired / _released across the call */
	long rA, rRel;       /* ... across the release */
	bool scribbled;      /* an entry past the count returned was written */
	struct entry_state *ent;
	struct addr_state *before, *after, *released;
};

static unsigned long window_pages(const struct scenario *sc)
{
	return sc->nr + 2 * MARGIN;
}

static unsigned long window_start(const struct scenario *sc)
{
	return ((BASE + sc->start) & PAGE_MASK) - PG(MARGIN);
}

static void describe_window(const struct scenario *sc, struct addr_state *st)
{
	struct mm_struct *mm = current_mm();

	for (unsigned long i = 0; i < window_pages(sc); i++)
		describe_addr(mm, window_start(sc) + PG(i), &st[i]);
}

static void run_alloc(const struct scenario *sc, struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->ent = calloc(sc->nr, sizeof(*r->ent));
	r->before = calloc(window_pages(sc), sizeof(*r->before));
	r->after = calloc(window_pages(sc), sizeof(*r->after));
	r->released = calloc(window_pages(sc), sizeof(*r->released));
	assert_true(r->ent && r->before && r->after && r->released);
}

static void run_free(struct run *r)
{
	free(r->ent);
	free(r->before);
	free(r->after);
	free(r->released);
}

/* pages[i] against what the page tables map at its address now. */
static void describe_entry(const struct scenario *sc, const struct gup_variant *c,
			   unsigned long addr, unsigned long i, struct page *page,
			   struct entry_state *e)
{
	struct addr_state st;
	struct page *head = compound_head(page);

	describe_addr(current_mm(), addr, &st);
	e->rel = (st.page == page ? ENT_MAPPED : 0) | (page == ZERO_PAGE(0) ? ENT_ZERO : 0);
	if (!e->rel)
		gup_fail("%s: %s: pages[%lu] (%p) is neither the page now mapped at %#lx (%p) nor "
			 "the zero page",
			 sc->name, c->name, i, (void *)page, addr, (void *)st.page);
	e->anon = PageAnon(head);
	e->order = (int)compound_order(head);
	e->sub = page - head;
	e->R = page_ref_count(head);
	e->P = pincount_of(page);
	e->MDP = page_maybe_dma_pinned(page);
}

static void run_scenario(const struct scenario *sc, const struct gup_variant *c, struct run *r)
{
	unsigned long start = BASE + sc->start;
	struct page **pages = calloc(sc->nr, sizeof(*pages));
	struct mm_struct *fixture;
	unsigned long n;
	long a0, rel0;

	assert_non_null(pages);
	fixture = fresh_mm_begin(sc->name);
	sc->setup(sc->name);
	describe_window(sc, r->before);
	poison_pages(pages, sc->nr);
	a0 = nr_acquired();
	rel0 = nr_released();
	r->ret = c->call(start, sc->nr, sc->flags, pages);
	r->dA = nr_acquired() - a0;
	r->dRel = nr_released() - rel0;
	n = r->ret > 0 ? (unsigned long)r->ret : 0;
	for (unsigned long i = 0; i < n; i++)
		describe_entry(sc, c, (start & PAGE_MASK) + PG(i), i, pages[i], &r->ent[i]);
	for (unsigned long i = n; i < sc->nr; i++)
		r->scribbled |= pages[i] != POISON_PAGE;
	describe_window(sc, r->after);

	a0 = nr_acquired();
	rel0 = nr_released();
	gup_variant_release(c, pages, n);
	r->rA = nr_acquired() - a0;
	r->rRel = nr_released() - rel0;
	describe_window(sc, r->released);
	/* Everything given back: a page mapped as it was before the call holds what it held
	 * (unless the call changed how its compound page is mapped: a COW splits a THP's PMD). */
	for (unsigned long i = 0; i < window_pages(sc); i++) {
		const struct addr_state *b = &r->before[i], *e = &r->released[i];

		if (b->page && b->page == e->page && b->size == e->size && b->bits == e->bits &&
		    (b->R != e->R || b->P != e->P || b->MDP != e->MDP))
			gup_fail("%s: %s: after the release the page at %#lx has R %d, P %d, MDP %d; "
				 "before the call R %d, P %d, MDP %d",
				 sc->name, c->name, window_start(sc) + PG(i), e->R, e->P, e->MDP,
				 b->R, b->P, b->MDP);
		if (e->MDP)
			gup_fail("%s: %s: after the release the page at %#lx is still maybe-DMA-"
				 "pinned (R %d, P %d)",
				 sc->name, c->name, window_start(sc) + PG(i), e->R, e->P);
	}
	fresh_mm_end(fixture);
	free(pages);
}

/* ---- comparing two runs ---- */

struct diff_log {
	const struct scenario *sc;
	const struct gup_variant *pair; /* [0] slow, [1] fast */
	unsigned long count;
};

/* Differences and wrong return values found by the current test. */
static unsigned long total_diffs;

static void differs(struct diff_log *d, long long slow, long long fast, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void differs(struct diff_log *d, long long slow, long long fast, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (d->count++ >= 8)
		return; /* the first few name the problem; the total is reported */
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	print_error("%s: %s gives %s = %lld, %s gives %lld (expected the same)\n", d->sc->name,
		    d->pair[1].name, what, fast, d->pair[0].name, slow);
}

static void expect_ret(struct diff_log *d, const struct gup_variant *c, const struct run *r)
{
	long want = row_expect(d->sc);

	if (r->ret == want)
		return;
	d->count++;
	print_error("%s: %s(%#lx, %lu, flags %#x) returned %ld, expected %ld (%s rules)\n",
		    d->sc->name, c->name, BASE + d->sc->start, d->sc->nr, d->sc->flags, r->ret,
		    want, pinmm_rules_name(pinmm_rules()));
}

#define SAME(d, s, f, field, ...)                                                                  \
	do {                                                                                       \
		if ((long long)(s)->field != (long long)(f)->field)                                \
			differs(d, (long long)(s)->field, (long long)(f)->field, __VA_ARGS__);     \
	} while (0)

static void compare_addrs(struct diff_log *d, const struct addr_state *s,
			  const struct addr_state *f, unsigned long n, const char *when)
{
	unsigned long first = window_start(d->sc);

	for (unsigned long i = 0; i < n; i++) {
		unsigned long a = first + PG(i);

		SAME(d, &s[i], &f[i], size, "%s: leaf size at %#lx", when, a);
		SAME(d, &s[i], &f[i], bits, "%s: leaf bits (present/protnone/rw/pse/special) at %#lx",
		     when, a);
		SAME(d, &s[i], &f[i], zero, "%s: zero page mapped at %#lx", when, a);
		SAME(d, &s[i], &f[i], anon, "%s: PageAnon of the page at %#lx", when, a);
		SAME(d, &s[i], &f[i], hugetlb, "%s: PageHuge of the page at %#lx", when, a);
		SAME(d, &s[i], &f[i], order, "%s: order of the page at %#lx", when, a);
		SAME(d, &s[i], &f[i], sub, "%s: subpage index of the page at %#lx", when, a);
		SAME(d, &s[i], &f[i], R, "%s: head refcount R of the page at %#lx", when, a);
		SAME(d, &s[i], &f[i], P, "%s: exact pin count P of the page at %#lx", when, a);
		SAME(d, &s[i], &f[i], mapcount, "%s: mapcount of the page at %#lx", when, a);
		SAME(d, &s[i], &f[i], MDP, "%s: page_maybe_dma_pinned of the page at %#lx", when,
		     a);
	}
}

static void compare_runs(const struct scenario *sc, const struct gup_variant *pair,
			 const struct run *s, const struct run *f)
{
	struct diff_log d = {sc, pair, 0};
	unsigned long n = s->ret > 0 ? (unsigned long)s->ret : 0;

	expect_ret(&d, &pair[0], s);
	expect_ret(&d, &pair[1], f);
	SAME(&d, s, f, ret, "the return value");
	compare_addrs(&d, s->before, f->before, window_pages(sc), "before the call (setup)");
	if (s->ret == f->ret) {
		for (unsigned long i = 0; i < n; i++) {
			const struct entry_state *a = &s->ent[i], *b = &f->ent[i];

			SAME(&d, a, b, rel,
			     "pages[%lu]: what it is (1: the page mapped there, 2: the zero page)",
			     i);
			SAME(&d, a, b, anon, "pages[%lu]: PageAnon", i);
			SAME(&d, a, b, order, "pages[%lu]: order", i);
			SAME(&d, a, b, sub, "pages[%lu]: subpage index", i);
			SAME(&d, a, b, R, "pages[%lu]: head refcount R", i);
			SAME(&d, a, b, P, "pages[%lu]: exact pin count P", i);
			SAME(&d, a, b, MDP, "pages[%lu]: page_maybe_dma_pinned", i);
		}
	}
	SAME(&d, s, f, scribbled, "entries past the count returned written");
	compare_addrs(&d, s->after, f->after, window_pages(sc), "after the call");
	compare_addrs(&d, s->released, f->released, window_pages(sc), "after the release");
	/*
	 * The pins outstanding must match. The raw deltas too, but for a grab the fast path has
	 * to undo, which Linux's fast path counts as acquired and released: under a race (the
	 * entry changed under it, scenario 41; nothing here changes an entry during a call), or
	 * a read-only pin of a page it must leave to the slow path to unshare first (modern
	 * rules: it grabs, then looks, as Linux's gup_fast_pte_range() does). There the fast
	 * path's extra is the same on both counters.
	 */
	if (s->dA - s->dRel != f->dA - f->dRel)
		differs(&d, s->dA - s->dRel, f->dA - f->dRel,
			"pins outstanding after the call (A - Rel)");
	if (pinmm_rules() != PINMM_RULES_MODERN || (sc->flags & FOLL_WRITE) || !pair[1].pin) {
		SAME(&d, s, f, dA, "the nr_foll_pin_acquired delta of the call");
		SAME(&d, s, f, dRel, "the nr_foll_pin_released delta of the call");
	} else if (f->dA < s->dA) {
		differs(&d, s->dA, f->dA, "the nr_foll_pin_acquired delta of the call (the fast "
			"path's at least the slow path's)");
	}
	SAME(&d, s, f, rA, "the nr_foll_pin_acquired delta of the release");
	SAME(&d, s, f, rRel, "the nr_foll_pin_released delta of the release");
	/* Each run on its own: a pin call counts its pins, a get call none. */
	for (int k = 0; k < 2; k++) {
		const struct run *r = k ? f : s;
		long want = pair[k].pin && r->ret > 0 ? r->ret : 0;

		if (r->dA - r->dRel != want || r->rRel - r->rA != want)
			gup_fail("%s: %s returned %ld: A - Rel moved by %+ld over the call and "
				 "Rel - A by %+ld over the release, expected %ld each",
				 sc->name, pair[k].name, r->ret, r->dA - r->dRel, r->rRel - r->rA,
				 want);
	}
	total_diffs += d.count;
}

/* Run every row of table[0 .. n) for machine through both pairs; the number of problems. */
static unsigned long compare_rows(const struct scenario *table, size_t n, enum machine machine)
{
	unsigned long rows = 0;

	total_diffs = 0;
	for (size_t i = 0; i < n; i++) {
		const struct scenario *sc = &table[i];

		if (sc->machine != machine)
			continue;
		rows++;
		for (int p = 0; p < 2; p++) {
			const struct gup_variant *pair = p ? get_pair : pin_pair;
			struct run slow, fast;

			run_alloc(sc, &slow);
			run_alloc(sc, &fast);
			run_scenario(sc, &pair[0], &slow);
			run_scenario(sc, &pair[1], &fast);
			compare_runs(sc, pair, &slow, &fast);
			run_free(&slow);
			run_free(&fast);
		}
	}
	check_true(rows > 0, "the scenario table has rows for machine %d", machine);
	return total_diffs;
}

static void compare_table(enum machine machine)
{
	unsigned long n = compare_rows(scenarios, NR_SCENARIOS, machine);

	if (n)
		fail_msg("%lu difference(s) between the fast and the slow path or wrong return "
			 "value(s), listed above; expected none",
			 n);
}

static void test_fast_vs_slow_default_machine(void **state)
{
	(void)state;
	compare_table(M_DEFAULT);
}

static void test_fast_vs_slow_hugetlb(void **state)
{
	(void)state;
	compare_table(M_HUGETLB);
}

/*
 * A fixed bug (follow_hugetlb() used to follow only entries with _PAGE_PRESENT).
 *
 * A FOLL_FORCE read of a PROT_NONE hugetlb mapping. check_vma_flags() lets it through
 * (VM_MAYREAD), as 5.7 does, but follow_hugetlb() only follows an entry with _PAGE_PRESENT,
 * and a PROT_NONE entry has _PAGE_PROTNONE instead; hugetlb_fault() (src/vm/hugetlb_fault.c)
 * finds the entry there and does nothing, so __get_user_pages() retries 8 times and returns
 * -EFAULT. Linux 5.7's follow_hugetlb_page() takes such an entry as present (pte_present() is
 * true for PROTNONE on x86, so it is neither absent nor is_swap_pte()) and returns the pages,
 * as pinmm's own slow path does for a PROT_NONE PTE (follow_page_pte) and a PROT_NONE THP
 * PMD (the FOLL_FORCE rows of the table pass). The fast path declines PROT_NONE leaves and
 * falls back to that slow path, so both paths agreed with each other (the comparison passed)
 * and both returned -EFAULT where Linux returns 16. The 1 GiB page went the same way.
 */
static const struct scenario bug_scenarios[] = {
	{"PROT_NONE 2 MiB hugetlb: FOLL_FORCE read", M_HUGETLB, su_huge2m_protnone, 0, 16,
	 FOLL_FORCE, 16},
	{"PROT_NONE 1 GiB hugetlb: FOLL_FORCE read", M_HUGETLB, su_huge1g_protnone, PG(1000), 16,
	 FOLL_FORCE, 16},
};

static void test_force_read_of_prot_none_hugetlb(void **state)
{
	unsigned long n;

	(void)state;
	n = compare_rows(bug_scenarios, sizeof(bug_scenarios) / sizeof(bug_scenarios[0]),
			 M_HUGETLB);
	if (n)
		fail_msg("regression (src/gup/gup.c follow_hugetlb ignoring _PAGE_PROTNONE): "
			 "%lu problem(s) listed above for a FOLL_FORCE read of a PROT_NONE hugetlb "
			 "page, which Linux 5.7 pins",
			 n);
}

/* ---- the GUP rules through both paths ---- */

/* A path: its pin call and its get call, same signature. */
struct gup_path {
	const char *name;
	long (*pin)(unsigned long start, unsigned long nr, unsigned int flags,
		    struct page **pages);
	long (*get)(unsigned long start, unsigned long nr, unsigned int flags,
		    struct page **pages);
};

static const struct gup_path gup_paths[] = {
	{"slow path", v_pin, v_get},
	{"fast path", v_pin_fast, v_get_fast},
};

/* Map one THP at BASE, faulted in by a write; its head. */
static struct page *map_thp(const char *what)
{
	struct page *head;

	su_thp(what);
	head = mapped_page(current_mm(), BASE, what);
	check_true(PageHead(head) && compound_order(head) == 9, "%s: an order-9 THP head", what);
	check_eq(page_ref_count(head), 1, "%s: R of a THP mapped once", what);
	check_eq(compound_pincount(head), 0, "%s: P of a fresh THP", what);
	return head;
}

static struct page *map_written_page(unsigned long npages, const char *what)
{
	map_fixed(0, PG(npages), RW, ANON, what);
	touch_write(BASE, 1, 0xa5, what);
	return mapped_page(current_mm(), BASE, what);
}

static void s1_s2(const struct gup_path *p)
{
	struct page *page = map_written_page(4, "S1"), *pages[2];
	struct pin_state s0 = pin_state_of(page), s1;

	check_eq(s0.R, 1, "S1 (%s): R of an anonymous page mapped once", p->name);
	poison_pages(pages, 2);
	check_eq(p->pin(BASE, 1, FOLL_WRITE, pages), 1, "S1 (%s): pin 1 faulted-in page", p->name);
	check_true(pages[0] == page, "S1 (%s): pages[0] is the page mapped there", p->name);
	expect_pages_untouched(pages + 1, 1, "S1: only one entry may be written");
	expect_pin_state(&s0, page, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
			 "S1 (%s): R 1 -> 1025, A +1, MDP", p->name);
	s1 = pin_state_of(page);
	unpin_user_page(pages[0]);
	expect_pin_state(&s1, page, -(long)GUP_PIN_COUNTING_BIAS, 0, false, 0, 1, 0,
			 "S2 (%s): unpin_user_page: R 1025 -> 1, Rel +1, MDP false", p->name);
}

static void s3(const struct gup_path *p)
{
	struct page *page = map_written_page(4, "S3"), *pages[1];
	struct pin_state s0 = pin_state_of(page);

	check_eq(p->get(BASE, 1, 0, pages), 1, "S3 (%s): get 1 page", p->name);
	check_true(pages[0] == page, "S3 (%s): pages[0] is the page mapped there", p->name);
	expect_pin_state(&s0, page, 1, 0, false, 0, 0, 0, "S3 (%s): R +1, no pin", p->name);
	put_page(pages[0]);
	expect_pin_state(&s0, page, 0, 0, false, 0, 0, 0, "S3 (%s): put_page", p->name);
}

/* S4 with the references taken by the path's get call. */
static void s4(const struct gup_path *p)
{
	struct page *page = map_written_page(1, "S4"), *pages[1];
	struct pin_state s0 = pin_state_of(page);

	for (int i = 0; i < 1022; i++)
		if (p->get(BASE, 1, 0, pages) != 1 || pages[0] != page)
			gup_fail("S4 (%s): get number %d of the page failed", p->name, i + 1);
	expect_pin_state(&s0, page, 1022, 0, false, 0, 0, 0,
			 "S4 (%s): R = 1023 from 1022 gets: below the bias, not pinned", p->name);
	check_eq(p->get(BASE, 1, 0, pages), 1, "S4 (%s): get number 1023", p->name);
	expect_pin_state(&s0, page, 1023, 0, true, 0, 0, 0,
			 "S4 (%s): R = 1024 from 1023 gets: the documented false positive",
			 p->name);
	for (int i = 0; i < 1023; i++)
		put_page(page);
	expect_pin_state(&s0, page, 0, 0, false, 0, 0, 0, "S4 (%s): the references dropped",
			 p->name);
}

/* S6 / S9 (pin all 512 subpages) and S7 (unpin them). */
static void s6_s7_s9(const struct gup_path *p)
{
	struct page *head = map_thp("S6"), **pages = calloc(THP_NR, sizeof(*pages));
	struct pin_state s0 = pin_state_of(head);

	assert_non_null(pages);
	check_eq(p->pin(BASE, THP_NR, FOLL_WRITE, pages), THP_NR,
		 "S6/S9 (%s): pin all 512 subpages of a THP", p->name);
	for (unsigned long i = 0; i < THP_NR; i++)
		if (pages[i] != head + i)
			gup_fail("S6/S9 (%s): pages[%lu] is %p, expected subpage %lu (%p)", p->name,
				 i, (void *)pages[i], i, (void *)(head + i));
	expect_pin_state(&s0, head, THP_NR, THP_NR, true, THP_NR, 0, 0,
			 "S6/S9 (%s): R +512, P 0 -> 512, A +512", p->name);
	for (unsigned long i = 1; i < THP_NR; i++)
		if (page_ref_count(head + i) != 0)
			gup_fail("S6/S9 (%s): tail %lu has _refcount %d, expected 0", p->name, i,
				 page_ref_count(head + i));
	unpin_user_pages(pages, THP_NR);
	expect_pin_state(&s0, head, 0, 0, false, THP_NR, THP_NR, 0,
			 "S7 (%s): unpin_user_pages of the 512: P -> 0, R back, Rel +512",
			 p->name);
	free(pages);
}

static void s8(const struct gup_path *p)
{
	struct page *head = map_thp("S8"), *pages[2];
	struct pin_state s0 = pin_state_of(head);

	check_eq(p->pin(BASE + PG(7), 1, 0, &pages[0]), 1, "S8 (%s): first pin", p->name);
	check_eq(p->pin(BASE + PG(7), 1, 0, &pages[1]), 1, "S8 (%s): second pin", p->name);
	check_true(pages[0] == head + 7 && pages[1] == head + 7,
		   "S8 (%s): both pins return subpage 7", p->name);
	unpin_user_page(pages[0]);
	expect_pin_state(&s0, head, 1, 1, true, 2, 1, 0,
			 "S8 (%s): pinned twice, unpinned once: P = 1, MDP", p->name);
	unpin_user_page(pages[1]);
	expect_pin_state(&s0, head, 0, 0, false, 2, 2, 0, "S8 (%s): both unpinned", p->name);
}

static void s10(const struct gup_path *p)
{
	struct page *head = map_thp("S10"), **pages = calloc(THP_NR, sizeof(*pages));
	struct pin_state s0 = pin_state_of(head);

	assert_non_null(pages);
	check_eq(p->get(BASE, THP_NR, FOLL_WRITE, pages), THP_NR,
		 "S10 (%s): get all 512 subpages of a THP", p->name);
	for (unsigned long i = 0; i < THP_NR; i++)
		if (pages[i] != head + i)
			gup_fail("S10 (%s): pages[%lu] is not subpage %lu", p->name, i, i);
	expect_pin_state(&s0, head, THP_NR, 0, false, 0, 0, 0,
			 "S10 (%s): R +512, P unchanged, MDP false", p->name);
	for (unsigned long i = 0; i < THP_NR; i++)
		put_page(pages[i]);
	expect_pin_state(&s0, head, 0, 0, false, 0, 0, 0, "S10 (%s): put", p->name);
	free(pages);
}

/* S11 with the references taken by the path's get call: 10 x 512 = 5120 >= 5000. */
static void s11(const struct gup_path *p)
{
	struct page *head = map_thp("S11"), **pages = calloc(10 * THP_NR, sizeof(*pages));
	struct pin_state s0 = pin_state_of(head);

	assert_non_null(pages);
	for (int k = 0; k < 10; k++)
		check_eq(p->get(BASE, THP_NR, 0, pages + k * THP_NR), THP_NR,
			 "S11 (%s): get number %d of the THP", p->name, k + 1);
	expect_pin_state(&s0, head, 10 * THP_NR, 0, false, 0, 0, 0,
			 "S11 (%s): a THP with 5120 plain references and no pin is not "
			 "maybe-pinned",
			 p->name);
	for (int i = 0; i < 10 * THP_NR; i++)
		put_page(pages[i]);
	expect_pin_state(&s0, head, 0, 0, false, 0, 0, 0, "S11 (%s): put", p->name);
	free(pages);
}

static void s19(const struct gup_path *p)
{
	struct page *page = map_written_page(2, "S19"), *pages[2];
	struct pin_state s0 = pin_state_of(page);

	poison_pages(pages, 2);
	check_eq(p->pin(BASE, 0, FOLL_WRITE, pages), 0, "S19 (%s): pin of 0 pages", p->name);
	check_eq(p->get(BASE, 0, FOLL_WRITE, pages), 0, "S19 (%s): get of 0 pages", p->name);
	check_eq(p->pin(BASE + PG(1), 0, FOLL_WRITE, pages), 0,
		 "S19 (%s): pin of 0 pages, never touched", p->name);
	expect_unchanged(&s0, page, 0, "S19 (%s): nr_pages 0", p->name);
	expect_pages_untouched(pages, 2, "S19: nr_pages 0");
	check_true(page_at(current_mm(), BASE + PG(1)) == NULL,
		   "S19 (%s): nr_pages 0 must not fault anything in", p->name);
}

static void s20(const struct gup_path *p)
{
	struct page *after, *pages[2];
	struct pin_state s0;

	su_hole("S20");
	after = mapped_page(current_mm(), BASE + PG(2), "S20");
	s0 = pin_state_of(after);
	poison_pages(pages, 2);
	check_eq(p->pin(BASE + PG(1), 2, 0, pages), -EFAULT,
		 "S20 (%s): pin of 2 pages starting in a hole", p->name);
	check_eq(p->get(BASE + PG(1), 2, 0, pages), -EFAULT,
		 "S20 (%s): get of 2 pages starting in a hole", p->name);
	expect_unchanged(&s0, after, 0, "S20 (%s): the page after the hole, A 0", p->name);
	expect_pages_untouched(pages, 2, "S20: a range starting in a hole");
}

static void s21(const struct gup_path *p)
{
	for (int prefault = 0; prefault < 2; prefault++) {
		const char *how = prefault ? "faulted in" : "never touched";
		struct page *pages[8];
		long a0, r0;

		map_fixed(0, PG(8), RW, ANON, "S21");
		unmap(BASE + PG(3), PG(5), "S21: cut the VMA to 3 pages");
		if (prefault)
			touch_write(BASE, 3, 3, "S21");
		a0 = nr_acquired();
		r0 = nr_released();
		poison_pages(pages, 8);
		check_eq(p->pin(BASE, 8, FOLL_WRITE, pages), 3,
			 "S21 (%s): pin of 8 pages, 3 in the VMA (%s)", p->name, how);
		for (int i = 0; i < 3; i++) {
			struct page *pg = mapped_page(current_mm(), BASE + PG(i), "S21");

			check_true(pages[i] == pg, "S21 (%s, %s): pages[%d] is the mapped page",
				   p->name, how, i);
			check_eq(page_ref_count(pg), 1 + GUP_PIN_COUNTING_BIAS,
				 "S21 (%s, %s): R of page %d", p->name, how, i);
		}
		expect_pages_untouched(pages + 3, 5, "S21: entries past the short count");
		check_eq(nr_acquired() - a0, 3, "S21 (%s, %s): A", p->name, how);
		unpin_user_pages(pages, 3);
		check_eq(nr_released() - r0, 3, "S21 (%s, %s): Rel", p->name, how);
		unmap(BASE, PG(3), "S21");
	}
}

/* The slow path has no range check of its own (no VMA there: -EFAULT); the fast path refuses
 * the range (-EFAULT). Same answer, different reasons. */
static void s23(const struct gup_path *p)
{
	struct page *pages[2];
	long a0 = nr_acquired();

	poison_pages(pages, 2);
	check_eq(p->pin(TASK_SIZE, 1, 0, pages), -EFAULT, "S23 (%s): pin of the page at TASK_SIZE",
		 p->name);
	check_eq(p->get(TASK_SIZE - PAGE_SIZE, 2, 0, pages), -EFAULT,
		 "S23 (%s): get of 2 pages from the last user page", p->name);
	check_eq(nr_acquired() - a0, 0, "S23 (%s): A", p->name);
	expect_pages_untouched(pages, 2, "S23");
}

static void s24(const struct gup_path *p)
{
	struct page *page, *pages[1];
	struct pin_state s0;

	su_ro_written("S24");
	page = mapped_page(current_mm(), BASE, "S24");
	s0 = pin_state_of(page);
	poison_pages(pages, 1);
	check_eq(p->pin(BASE, 1, FOLL_WRITE, pages), -EFAULT,
		 "S24 (%s): FOLL_WRITE pin of a PROT_READ private mapping", p->name);
	check_eq(p->get(BASE, 1, FOLL_WRITE, pages), -EFAULT,
		 "S24 (%s): FOLL_WRITE get of a PROT_READ private mapping", p->name);
	expect_unchanged(&s0, page, 0, "S24 (%s): refused", p->name);
	expect_pages_untouched(pages, 1, "S24");
}

/* A host file of one page of 'F'; its path in path[]; an fd open on it. */
static int make_host_file(char *path, size_t len)
{
	char buf[PAGE_SIZE];
	int fd;

	snprintf(path, len, "/tmp/pinmm-fvs-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		gup_fail("S25: mkstemp(%s) failed", path);
	memset(buf, 'F', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		gup_fail("S25: writing the host file %s failed", path);
	return fd;
}

static void s25(const struct gup_path *p)
{
	char path[64], c = 0;
	int fd = make_host_file(path, sizeof(path));
	struct file *file = filp_open(path, O_RDONLY, 0);
	struct page *pages[1], *cache, *cow;
	unsigned long addr;

	if (IS_ERR(file))
		gup_fail("S25 (%s): filp_open(%s, O_RDONLY) = %ld", p->name, path, PTR_ERR(file));
	addr = vm_mmap(file, BASE, PG(1), PROT_READ, MAP_PRIVATE | MAP_FIXED, 0);
	fput(file);
	check_eq(addr, BASE, "S25 (%s): vm_mmap(PROT_READ, MAP_PRIVATE, file)", p->name);
	touch_read(BASE, 1, "S25");
	cache = mapped_page(current_mm(), BASE, "S25");
	check_true(!PageAnon(cache), "S25 (%s): the read fault maps the page cache page", p->name);
	check_eq(p->pin(BASE, 1, FOLL_WRITE | FOLL_FORCE, pages), 1,
		 "S25 (%s): FOLL_WRITE | FOLL_FORCE pin of a PROT_READ private file page", p->name);
	cow = pages[0];
	check_true(cow == page_at(current_mm(), BASE) && PageAnon(cow) && cow != cache,
		   "S25 (%s): the pinned page is the anonymous COW copy now mapped", p->name);
	check_eq(page_ref_count(cow), 1 + GUP_PIN_COUNTING_BIAS, "S25 (%s): R of the copy",
		 p->name);
	check_eq(*(char *)page_address(cow), 'F', "S25 (%s): the copy holds the file's data",
		 p->name);
	check_true(!page_maybe_dma_pinned(cache) && !PageDirty(cache),
		   "S25 (%s): the page cache page is neither pinned nor dirtied", p->name);
	*(char *)page_address(cow) = 'D';
	unpin_user_pages_dirty_lock(pages, 1, true);
	check_eq(page_ref_count(cow), 1, "S25 (%s): R of the copy after the unpin", p->name);
	unmap(BASE, PG(1), "S25");
	if (pread(fd, &c, 1, 0) != 1 || c != 'F')
		gup_fail("S25 (%s): the host file's first byte is %#x, expected 'F' (untouched)",
			 p->name, (unsigned char)c);
	close(fd);
	unlink(path);
}

static void s26(const struct gup_path *p)
{
	struct page *page, *pages[1];
	struct pin_state s0;

	map_shmem(1, PROT_READ, MAP_SHARED, "S26");
	touch_read(BASE, 1, "S26");
	page = mapped_page(current_mm(), BASE, "S26");
	s0 = pin_state_of(page);
	poison_pages(pages, 1);
	check_eq(p->pin(BASE, 1, FOLL_WRITE | FOLL_FORCE, pages), -EFAULT,
		 "S26 (%s): FOLL_WRITE | FOLL_FORCE pin of a PROT_READ MAP_SHARED shmem page",
		 p->name);
	check_eq(p->get(BASE, 1, FOLL_WRITE | FOLL_FORCE, pages), -EFAULT,
		 "S26 (%s): FOLL_WRITE | FOLL_FORCE get of a PROT_READ MAP_SHARED shmem page",
		 p->name);
	expect_unchanged(&s0, page, 0, "S26 (%s): refused", p->name);
	expect_pages_untouched(pages, 1, "S26");
	check_eq(p->pin(BASE, 1, FOLL_FORCE, pages), 1, "S26 (%s): a FOLL_FORCE read pin of it",
		 p->name);
	check_true(pages[0] == page, "S26 (%s): the read pin returns the shmem page", p->name);
	expect_pin_state(&s0, page, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
			 "S26 (%s): the read pin", p->name);
	unpin_user_page(pages[0]);
}

static void s27(const struct gup_path *p)
{
	struct page *page, *pages[1];
	struct pin_state s0;

	struct addr_state st;

	su_protnone("S27");
	describe_addr(current_mm(), BASE, &st);
	check_true(st.page && (st.bits & _PAGE_PROTNONE),
		   "S27 (%s): the written page stays mapped, PROT_NONE", p->name);
	page = st.page;
	s0 = pin_state_of(page);
	for (int which = 0; which < 4; which += 3) {
		poison_pages(pages, 1);
		check_eq(p->pin(BASE + PG(which), 1, 0, pages), -EFAULT,
			 "S27 (%s): read pin of a PROT_NONE page (%s)", p->name,
			 which ? "never touched" : "written before the mprotect");
		check_eq(p->get(BASE + PG(which), 1, 0, pages), -EFAULT,
			 "S27 (%s): read get of a PROT_NONE page (%s)", p->name,
			 which ? "never touched" : "written before the mprotect");
		expect_unchanged(&s0, page, 0, "S27 (%s): refused", p->name);
		expect_pages_untouched(pages, 1, "S27");
	}
	describe_addr(current_mm(), BASE + PG(3), &st);
	check_true(st.size == 0, "S27 (%s): the never-touched page stays unmapped", p->name);
}

/* S35 (make_dirty) and S36 (not) on a clean pinned anonymous page, pinned through the path. */
static void s35_s36(const struct gup_path *p)
{
	struct page *page = map_written_page(1, "S35"), *pages[1];

	for (int make_dirty = 1; make_dirty >= 0; make_dirty--) {
		struct pin_state s0;

		ClearPageDirty(page);
		s0 = pin_state_of(page);
		check_eq(p->pin(BASE, 1, 0, pages), 1, "S35/36 (%s): read pin", p->name);
		unpin_user_pages_dirty_lock(pages, 1, make_dirty);
		expect_pin_state(&s0, page, 0, 0, false, 1, 1, 0,
				 "S%d (%s): unpin_user_pages_dirty_lock(make_dirty=%d)",
				 make_dirty ? 35 : 36, p->name, make_dirty);
		check_eq(PageDirty(page), make_dirty,
			 "S%d (%s): PG_dirty of a clean page after the unpin (make_dirty=%d)",
			 make_dirty ? 35 : 36, p->name, make_dirty);
	}
}

/* S38 (the later rule pinmm adopts): unpin_user_pages() skips NULL entries. */
static void s38(const struct gup_path *p)
{
	struct page *pages[5], *p0, *p1;
	struct pin_state s0, s1;

	map_fixed(0, PG(2), RW, ANON, "S38");
	touch_write(BASE, 2, 1, "S38");
	p0 = mapped_page(current_mm(), BASE, "S38");
	p1 = mapped_page(current_mm(), BASE + PG(1), "S38");
	s0 = pin_state_of(p0);
	s1 = pin_state_of(p1);
	check_eq(p->pin(BASE, 2, 0, pages + 1), 2, "S38 (%s): pin 2 pages", p->name);
	pages[0] = NULL;
	pages[4] = pages[2];
	pages[2] = NULL;
	pages[3] = NULL;
	unpin_user_pages(pages, 5);
	expect_pin_state(&s0, p0, 0, 0, false, 2, 2, 0,
			 "S38 (%s): unpin_user_pages of {NULL, p0, NULL, NULL, p1}: p0", p->name);
	expect_pin_state(&s1, p1, 0, 0, false, 2, 2, 0,
			 "S38 (%s): unpin_user_pages of {NULL, p0, NULL, NULL, p1}: p1", p->name);
}

static void s45(const struct gup_path *p)
{
	struct page *head = map_thp("S45"), **pages = calloc(THP_NR, sizeof(*pages));
	struct pin_state s0 = pin_state_of(head);

	assert_non_null(pages);
	check_eq(p->pin(BASE, THP_NR, FOLL_WRITE, pages), THP_NR, "S45 (%s): pin a whole THP",
		 p->name);
	for (int i = 0; i < THP_NR; i++)
		unpin_user_page(pages[i]);
	expect_pin_state(&s0, head, 0, 0, false, THP_NR, THP_NR, 0,
			 "S45 (%s): every subpage unpinned one by one: A == Rel == 512", p->name);
	free(pages);
}

/* S46: read-faulted (zero page mapped) and never-touched anonymous memory. */
static void s46(const struct gup_path *p)
{
	struct page *zero = ZERO_PAGE(0);

	map_fixed(0, PG(4), RW, ANON, "S46");
	touch_read(BASE, 1, "S46");
	for (int which = 0; which < 2; which++) {
		const char *how = which ? "never touched" : "read-faulted";
		/* The pin and the get each on a page of their own when never touched. */
		unsigned long addr = which ? BASE + PG(1) : BASE, get_addr = which ? BASE + PG(2) : BASE;
		struct page *pages[1];
		struct pin_state s0 = pin_state_of(zero);

		check_eq(p->pin(addr, 1, 0, pages), 1, "S46 (%s): read pin, %s", p->name, how);
		check_true(pages[0] == zero, "S46 (%s): the read pin (%s) returns the zero page",
			   p->name, how);
		expect_pin_state(&s0, zero, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
				 "S46 (%s): 5.7 pins the zero page (%s): R +1024, A +1", p->name,
				 how);
		unpin_user_page(pages[0]);
		expect_pin_state(&s0, zero, 0, 0, false, 1, 1, 0, "S46 (%s): unpinned (%s)",
				 p->name, how);
		check_eq(p->get(get_addr, 1, 0, pages), 1, "S46 (%s): read get, %s", p->name, how);
		check_true(pages[0] == zero, "S46 (%s): the get returns the zero page", p->name);
		expect_pin_state(&s0, zero, 1, 0, false, 1, 1, 0,
				 "S46 (%s): get of the zero page: R +1, no pin", p->name);
		put_page(pages[0]);
	}
}

static char *first_line(char *log)
{
	char *eol = strchr(log, '\n');

	if (eol)
		*eol = '\0';
	return log;
}

/* S50: dump_page of a page pinned through the path, order 0 and a THP subpage. */
static void s50(const struct gup_path *p)
{
	struct page *page = map_written_page(1, "S50"), *head, *pages[3];
	char expect[160], *log;

	check_eq(p->pin(BASE, 1, FOLL_WRITE, pages), 1, "S50 (%s): pin an order-0 page", p->name);
	free(test_log_take());
	dump_page(page, "S50");
	log = first_line(test_log_take());
	snprintf(expect, sizeof(expect), "page:%016lx refcount:1025 mapcount:1 mapping:",
		 (unsigned long)page);
	if (strncmp(log, expect, strlen(expect)) != 0 || strstr(log, "pincount"))
		gup_fail("S50 (%s): the dump of a pinned order-0 page should start \"%s\" and show "
			 "no pincount; it was \"%s\"",
			 p->name, expect, log);
	free(log);
	unpin_user_page(pages[0]);
	unmap(BASE, PG(1), "S50");

	head = map_thp("S50 THP");
	check_eq(p->pin(BASE + PG(19), 3, 0, pages), 3, "S50 (%s): pin 3 THP subpages", p->name);
	free(test_log_take());
	dump_page(head + 20, "S50");
	log = first_line(test_log_take());
	snprintf(expect, sizeof(expect),
		 " head:%016lx order:9 compound_mapcount:1 compound_pincount:3",
		 (unsigned long)head);
	if (strlen(log) < strlen(expect) || strcmp(log + strlen(log) - strlen(expect), expect))
		gup_fail("S50 (%s): the dump of a pinned THP subpage should end \"%s\"; it was "
			 "\"%s\"",
			 p->name, expect, log);
	free(log);
	unpin_user_pages(pages, 3);
}

static const struct {
	const char *name;
	void (*run)(const struct gup_path *p);
} gup_rules[] = {
	{"S1, S2: pin and unpin a small page", s1_s2},
	{"S3: get and put a small page", s3},
	{"S4: page_maybe_dma_pinned() of a small page with many references", s4},
	{"S6, S7, S9: pin and unpin all 512 subpages of a THP", s6_s7_s9},
	{"S8: a THP pinned twice, unpinned once", s8},
	{"S10: get and put THP subpages: no exact pin count moves", s10},
	{"S11: 5120 references to a THP never read as pinned", s11},
	{"S19: nr_pages 0", s19},
	{"S20: a range starting in a hole", s20},
	{"S21: a range running into a hole", s21},
	{"S23: a range past the last user page", s23},
	{"S24: a write pin of a read-only mapping", s24},
	{"S25: a FOLL_FORCE write to a private file mapping (COW)", s25},
	{"S26: a read pin of a shared file page", s26},
	{"S27: a PROT_NONE mapping", s27},
	{"S35, S36: unpin_user_pages_dirty_lock with and without make_dirty", s35_s36},
	{"S38: unpin_user_pages() skips NULL entries", s38},
	{"S45: a whole THP pinned, each subpage unpinned on its own", s45},
	{"S46: pins of the shared zero page and of never-touched memory", s46},
	{"S50: dump_page of pinned pages, order 0 and THP", s50},
};

/*
 * Each scenario about order-0 pages or THPs that a get or pin call can drive (Sn: its label,
 * here and in the failure messages), once per path, each run in a fresh mm. Not here: S5
 * (page_maybe_dma_pinned() false positives, no GUP call), S12 (an order-1 compound page keeps
 * the bias: no user mapping of one exists; test_gup_huge.c checks the grab primitive), S14
 * (1 GiB hugetlb: the table above), S22 (a range wrapping the address space: the paths
 * differ, test_where_linux_paths_differ), S34 (the _fast_only calls have no slow twin), and
 * the argument checks (S15-S18, S28-S30, S37), overflow (S44, a head refcount <= 0, both
 * paths, in test_gup_overflow.c), devmap, CMA and race scenarios, which have their own files.
 */
static void test_gup_rules_through_both_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(gup_rules) / sizeof(gup_rules[0]); i++) {
		for (size_t k = 0; k < sizeof(gup_paths) / sizeof(gup_paths[0]); k++) {
			struct mm_struct *fixture = fresh_mm_begin(gup_rules[i].name);
			long a0 = nr_acquired(), r0 = nr_released();

			gup_rules[i].run(&gup_paths[k]);
			check_eq((nr_acquired() - a0) - (nr_released() - r0), 0,
				 "%s (%s): pins left outstanding by the scenario", gup_rules[i].name,
				 gup_paths[k].name);
			fresh_mm_end(fixture);
		}
	}
}

/*
 * S22: a range that wraps the address space. 5.7's fast path checks the range itself and
 * returns 0 (modern: -EOVERFLOW) without falling back; the slow path finds no VMA there and
 * returns -EFAULT. Linux's paths disagree here by design.
 */
static void test_where_linux_paths_differ(void **state)
{
	unsigned long start = ~0UL & PAGE_MASK;
	struct page *pages[2];
	long a0 = nr_acquired();

	(void)state;
	poison_pages(pages, 2);
	check_eq(pin_user_pages_fast(start, 2, 0, pages), 0,
		 "S22: pin_user_pages_fast of a range that wraps");
	check_eq(get_user_pages_fast(start, 2, 0, pages), 0,
		 "S22: get_user_pages_fast of a range that wraps");
	check_eq(pin_locked(start, 2, 0, pages), -EFAULT,
		 "S22: pin_user_pages of a range that wraps (no VMA)");
	check_eq(get_locked(start, 2, 0, pages), -EFAULT,
		 "S22: get_user_pages of a range that wraps (no VMA)");
	check_eq(nr_acquired() - a0, 0, "S22: A");
	expect_pages_untouched(pages, 2, "S22");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fvs_test_57(test_fast_vs_slow_default_machine),
		fvs_huge_test(test_fast_vs_slow_hugetlb),
		fvs_test_57(test_gup_rules_through_both_paths),
		fvs_test(test_where_linux_paths_differ),
		fvs_huge_test(test_force_read_of_prot_none_hugetlb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
