/* SPDX-License-Identifier: MIT */
/*
 * Conformance: the runs calls (pin_user_pages_fast_runs(), pin_user_pages_runs(),
 * unpin_user_page_runs*(), <pinmm/gup.h>), pinmm's own API beyond Linux. A runs call is the
 * page-array call's walk writing into runs: the pages it pins, their counts (R, P), A / Rel and
 * the rules (migration out of ZONE_MOVABLE under modern rules) must be the page-array call's,
 * and the runs must be exactly the maximal runs of physically consecutive frames of what is
 * mapped, in address order: consecutive frames merge, a gap starts a new run, a THP or hugetlb
 * leaf lies inside one run. A runs array that fills up stops the call before the page that did
 * not fit, and exactly what was pinned is counted. Bad inputs return -EINVAL and change nothing.
 *
 * Scenarios that hold under both rule sets run under the one PINMM_RULES names (make check
 * runs both); those whose answer differs boot each rule set. Every scenario ends with
 * pinmm_check_invariants(). The machine is the default one (THP always, 128 MiB of
 * ZONE_MOVABLE, 64 MiB of CMA; user pages fault into ZONE_MOVABLE first) or, for hugetlb,
 * a 4 GiB machine with two 2 MiB pool pages.
 */
#include <string.h>

#include "gup_conformance.h"

#define BASE 0x40000000UL /* 2 MiB aligned */
#define MAX_RUNS 4096

typedef long (*runs_call)(unsigned long start, unsigned long nr, unsigned int flags,
			  struct page_run *runs, unsigned long *nr_runs);

static long runs_slow(unsigned long start, unsigned long nr, unsigned int flags,
		      struct page_run *runs, unsigned long *nr_runs)
{
	struct mm_struct *mm = current_mm();
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages_runs(start, nr, flags, runs, nr_runs);
	mmap_read_unlock(mm);
	return ret;
}

static const struct {
	const char *name;
	runs_call call;
} calls[] = {
	{ "pin_user_pages_fast_runs", pin_user_pages_fast_runs },
	{ "pin_user_pages_runs", runs_slow },
};

#define NR_CALLS (sizeof(calls) / sizeof(calls[0]))

static bool modern(void)
{
	return pinmm_rules() == PINMM_RULES_MODERN;
}

static void expect_invariants(const char *what)
{
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
}

/* The number of maximal runs of physically consecutive frames among the n pages mapped from
 * addr; the lengths of the first cap of them summed into *first_pages (NULL: not asked). */
static unsigned long count_runs(struct mm_struct *mm, unsigned long addr, unsigned long n,
				unsigned long cap, unsigned long *first_pages)
{
	struct page *prev = NULL;
	unsigned long nr = 0, in_first = 0;

	for (unsigned long i = 0; i < n; i++) {
		struct page *page = mapped_page(mm, addr + PG(i), "count_runs");

		if (!prev || page != prev + 1)
			nr++;
		if (nr <= cap)
			in_first++;
		prev = page;
	}
	if (first_pages)
		*first_pages = in_first;
	return nr;
}

/*
 * runs[0 .. nr_runs) holds exactly the npinned pages mapped from addr, in order, each pinned,
 * and each run is maximal (it does not continue the run before it physically).
 */
static void expect_runs(struct mm_struct *mm, unsigned long addr, unsigned long npinned,
			const struct page_run *runs, unsigned long nr_runs, const char *what)
{
	unsigned long k = 0;

	for (unsigned long r = 0; r < nr_runs; r++) {
		check_true(runs[r].page && runs[r].nr_pages >= 1, "%s: run %lu is not empty", what,
			   r);
		if (r)
			check_true(runs[r].page != runs[r - 1].page + runs[r - 1].nr_pages,
				   "%s: run %lu (pfn %#lx) does not continue run %lu physically "
				   "(the runs are maximal)",
				   what, r, page_to_pfn(runs[r].page), r - 1);
		for (unsigned long j = 0; j < runs[r].nr_pages; j++, k++) {
			struct page *page = page_at(mm, addr + PG(k));

			check_true(page == runs[r].page + j,
				   "%s: page %lu (run %lu, entry %lu) is the page mapped at %#lx "
				   "(expected pfn %#lx, found %#lx)",
				   what, k, r, j, addr + PG(k), page ? page_to_pfn(page) : 0UL,
				   page_to_pfn(runs[r].page + j));
			check_true(page_maybe_dma_pinned(runs[r].page + j),
				   "%s: page %lu is pinned", what, k);
		}
	}
	check_eq(k, npinned, "%s: the runs hold the pages pinned", what);
}

/* A THP at addr (2 MiB aligned, mapped), faulted in and checked to be a PMD leaf. */
static void fault_thp(struct mm_struct *mm, unsigned long addr, unsigned char val,
		      const char *what)
{
	unsigned long size;

	touch_write(addr, 1, val, what);
	leaf_at(mm, addr, &size);
	check_eq(size, PMD_SIZE, "%s: a THP is mapped by a PMD leaf at %#lx", what, addr);
}

/*
 * 200 PTE-mapped pages from BASE: the first 100 and the last 99 are subpages of one THP (its
 * PMD split by MADV_DONTNEED of page 100), page 100 a fresh order-0 page faulted in after: so
 * three runs, two of them merged from 100 and 99 consecutive frames, with gaps around page 100.
 */
static void map_gap_range(struct mm_struct *mm, const char *what)
{
	map(BASE, SZ_2M, RW, ANON | MAP_FIXED, what);
	fault_thp(mm, BASE, 0x11, what);
	check_eq(do_madvise(mm, BASE + PG(100), PAGE_SIZE, MADV_DONTNEED), 0,
		 "%s: MADV_DONTNEED of page 100", what);
	touch_write(BASE + PG(100), 1, 0x22, what);
	check_true(page_at(mm, BASE + PG(100)) != page_at(mm, BASE + PG(99)) + 1 &&
			   page_at(mm, BASE + PG(101)) == page_at(mm, BASE + PG(99)) + 2,
		   "%s: the construction: page 100 is a frame of its own between THP subpages",
		   what);
	check_eq(count_runs(mm, BASE, 200, 0, NULL), 3, "%s: three maximal runs", what);
}

/* ---- runs of 4 KiB pages: consecutive frames merge, a gap starts a new run ---- */

static void test_runs_4k_merge_and_gap(void **state)
{
	struct mm_struct *mm = *state;

	map_gap_range(mm, "4k gap");
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		struct page_run runs[8];
		unsigned long nr_runs = 8;
		long a0 = nr_acquired(), rel0 = nr_released();
		long got = calls[c].call(BASE, 200, FOLL_WRITE, runs, &nr_runs);

		check_eq(got, 200, "4k gap, %s: pages pinned", calls[c].name);
		check_eq(nr_runs, 3, "4k gap, %s: runs used", calls[c].name);
		check_eq(runs[0].nr_pages, 100, "4k gap, %s: run 0 is 100 pages", calls[c].name);
		check_eq(runs[1].nr_pages, 1, "4k gap, %s: run 1 is page 100 alone", calls[c].name);
		check_eq(runs[2].nr_pages, 99, "4k gap, %s: run 2 is 99 pages", calls[c].name);
		expect_runs(mm, BASE, 200, runs, nr_runs, calls[c].name);
		check_eq(nr_acquired() - a0, 200, "4k gap, %s: A counts every page", calls[c].name);
		unpin_user_page_runs(runs, nr_runs);
		check_eq(nr_released() - rel0, 200, "4k gap, %s: Rel counts every page",
			 calls[c].name);
		check_true(!page_maybe_dma_pinned(runs[1].page), "4k gap, %s: unpinned",
			   calls[c].name);
	}
	expect_invariants("4k gap");
}

/* ---- a runs array that fills up ---- */

static void test_runs_array_fills_up(void **state)
{
	struct mm_struct *mm = *state;

	map_gap_range(mm, "full");
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		for (unsigned long cap = 1; cap <= 3; cap++) {
			static const long expect[] = { 0, 100, 101, 200 };
			struct page_run runs[4];
			unsigned long nr_runs = cap;
			struct pin_state thp = pin_state_of(page_at(mm, BASE));
			struct pin_state lone = pin_state_of(page_at(mm, BASE + PG(100)));
			long got;

			memset(runs, 0x5a, sizeof(runs));
			got = calls[c].call(BASE, 200, FOLL_WRITE, runs, &nr_runs);
			check_eq(got, expect[cap], "full, %s, capacity %lu: pages pinned",
				 calls[c].name, cap);
			check_eq(nr_runs, cap, "full, %s, capacity %lu: runs used", calls[c].name,
				 cap);
			check_true(runs[cap].page == (struct page *)0x5a5a5a5a5a5a5a5aUL,
				   "full, %s, capacity %lu: nothing written past the capacity",
				   calls[c].name, cap);
			/* Only the pins taken are held (a long-term pass that migrated pages out of
			 * ZONE_MOVABLE counts its first pass in A and Rel alike), and the page that
			 * did not fit is untouched. */
			check_eq((nr_acquired() - thp.A) - (nr_released() - thp.Rel), got,
				 "full, %s, capacity %lu: A - Rel", calls[c].name, cap);
			if (cap == 1 && page_at(mm, BASE) == thp.head)
				expect_pin_state(&lone, page_at(mm, BASE + PG(100)), 0, 0, false, 100, 0,
						 0, "full, %s, capacity 1: page 100 untouched",
						 calls[c].name);
			expect_runs(mm, BASE, (unsigned long)got, runs, nr_runs, calls[c].name);
			unpin_user_page_runs(runs, nr_runs);
			check_eq(nr_acquired() - thp.A, nr_released() - thp.Rel,
				 "full, %s, capacity %lu: every pin released", calls[c].name, cap);
			check_true(!page_maybe_dma_pinned(page_at(mm, BASE)),
				   "full, %s, capacity %lu: unpinned", calls[c].name, cap);
		}
	}
	expect_invariants("full");
}

/* ---- THP and hugetlb leaves: one run each ---- */

/* No leaf is cut between two runs: the pages on either side of each run boundary belong to
 * different compound pages. */
static void expect_leaves_in_runs(const struct page_run *runs, unsigned long nr_runs,
				  const char *what)
{
	for (unsigned long r = 1; r < nr_runs; r++) {
		struct page *last = runs[r - 1].page + runs[r - 1].nr_pages - 1;

		check_true(compound_head(last) != compound_head(runs[r].page),
			   "%s: the leaf of pfn %#lx lies inside one run, not across runs %lu and %lu",
			   what, page_to_pfn(last), r - 1, r);
	}
}

static void test_runs_thp_leaves(void **state)
{
	struct mm_struct *mm = *state;
	struct page *heads[4];

	map(BASE, 4 * SZ_2M, RW, ANON | MAP_FIXED, "THP runs");
	for (int i = 0; i < 4; i++) {
		fault_thp(mm, BASE + SZ_2M * (unsigned long)i, (unsigned char)i, "THP runs");
		heads[i] = page_at(mm, BASE + SZ_2M * (unsigned long)i);
	}
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		/* From subpage 3 of the first THP to subpage 5 of the last: partial leaves too. */
		unsigned long start = BASE + PG(3), n = 3 * 512 + 2;
		unsigned long expect_runs_nr = count_runs(mm, start, n, 0, NULL);
		struct page_run runs[8];
		unsigned long nr_runs = 8;
		struct pin_state before[4];
		long got;

		for (int i = 0; i < 4; i++)
			before[i] = pin_state_of(heads[i]);
		got = calls[c].call(start, n, FOLL_WRITE, runs, &nr_runs);
		check_eq(got, (long)n, "THP runs, %s: pages pinned", calls[c].name);
		check_eq(nr_runs, count_runs(mm, start, n, 0, NULL),
			 "THP runs, %s: the maximal runs", calls[c].name);
		expect_runs(mm, start, n, runs, nr_runs, calls[c].name);
		check_eq(nr_runs, expect_runs_nr, "THP runs, %s: runs", calls[c].name);
		{
			expect_leaves_in_runs(runs, nr_runs, calls[c].name);
			expect_pin_state(&before[0], heads[0], 509, 509, true, (long)n, 0, 0,
					 "THP runs, %s: first THP, 509 subpages", calls[c].name);
			expect_pin_state(&before[1], heads[1], 512, 512, true, (long)n, 0, 0,
					 "THP runs, %s: second THP, whole", calls[c].name);
			expect_pin_state(&before[3], heads[3], 5, 5, true, (long)n, 0, 0,
					 "THP runs, %s: last THP, 5 subpages", calls[c].name);
		}
		check_eq(before[0].A + got, nr_acquired(), "THP runs, %s: A", calls[c].name);
		unpin_user_page_runs_dirty_lock(runs, nr_runs, true);
		check_eq(nr_acquired() - before[0].A, nr_released() - before[0].Rel,
			 "THP runs, %s: every pin released", calls[c].name);
		for (unsigned long r = 0; r < nr_runs; r++)
			check_true(PageDirty(compound_head(runs[r].page)) &&
					   !page_maybe_dma_pinned(runs[r].page),
				   "THP runs, %s: run %lu dirty and unpinned", calls[c].name, r);
		for (int i = 0; i < 4; i++)
			heads[i] = page_at(mm, BASE + SZ_2M * (unsigned long)i);
	}
	expect_invariants("THP runs");
}

static int setup_hugetlb(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_2m = 2;
	return gup_setup_with(state, &cfg);
}

static void test_runs_hugetlb_leaves(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, 2 * SZ_2M, RW, ANON | MAP_HUGETLB | MAP_HUGE_2MB, "hugetlb");
	struct page *heads[2];

	touch_write(addr, 1, 1, "hugetlb");
	touch_write(addr + SZ_2M, 1, 2, "hugetlb");
	heads[0] = mapped_page(mm, addr, "hugetlb");
	heads[1] = mapped_page(mm, addr + SZ_2M, "hugetlb");
	check_true(PageHuge(heads[0]) && PageHuge(heads[1]), "hugetlb: pool pages mapped");
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		struct page_run runs[4];
		unsigned long nr_runs = 4;
		struct pin_state before = pin_state_of(heads[1]);
		long got = calls[c].call(addr, 1024, FOLL_WRITE | FOLL_LONGTERM, runs, &nr_runs);

		check_eq(got, 1024, "hugetlb, %s: pages pinned", calls[c].name);
		check_eq(nr_runs, count_runs(mm, addr, 1024, 0, NULL), "hugetlb, %s: maximal runs",
			 calls[c].name);
		check_true(nr_runs <= 2, "hugetlb, %s: at most one run per leaf", calls[c].name);
		expect_runs(mm, addr, 1024, runs, nr_runs, calls[c].name);
		expect_leaves_in_runs(runs, nr_runs, calls[c].name);
		expect_pin_state(&before, heads[1], 512, 512, true, 1024, 0, 0,
				 "hugetlb, %s: second leaf pinned by its 512 pages", calls[c].name);
		unpin_user_page_runs(runs, nr_runs);
		expect_pin_state(&before, heads[1], 0, 0, false, 1024, 1024, 0,
				 "hugetlb, %s: unpinned", calls[c].name);
	}
	unmap(addr, 2 * SZ_2M, "hugetlb");
	expect_invariants("hugetlb");
}

/* ---- the slow path: faults, holes, PROT_NONE ---- */

static void test_runs_slow_path_faults_holes_protnone(void **state)
{
	struct mm_struct *mm = *state;

	/* 16 pages never touched, THP off: every page faulted in by the slow path. */
	map(BASE, PG(16), RW, ANON | MAP_FIXED, "faults");
	check_eq(do_madvise(mm, BASE, PG(16), MADV_NOHUGEPAGE), 0, "faults: MADV_NOHUGEPAGE");
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		struct page_run runs[16];
		unsigned long nr_runs = 16;
		long got = calls[c].call(BASE, 16, FOLL_WRITE, runs, &nr_runs);

		check_eq(got, 16, "faults, %s: every page faulted in and pinned", calls[c].name);
		expect_runs(mm, BASE, 16, runs, nr_runs, calls[c].name);
		unpin_user_page_runs(runs, nr_runs);
	}
	/* A hole after page 8, then PROT_NONE from page 4: the pages before, then the error
	 * when the first page cannot be pinned. */
	unmap(BASE + PG(8), PG(8), "hole");
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		struct page_run runs[16];
		unsigned long nr_runs = 16;
		long a0 = nr_acquired(), rel0 = nr_released();
		long got = calls[c].call(BASE, 16, FOLL_WRITE, runs, &nr_runs);

		check_eq(got, 8, "hole, %s: the pages before the hole", calls[c].name);
		expect_runs(mm, BASE, 8, runs, nr_runs, calls[c].name);
		unpin_user_page_runs(runs, nr_runs);
		nr_runs = 5;
		got = calls[c].call(BASE + PG(8), 4, 0, runs, &nr_runs);
		check_eq(got, -EFAULT, "hole, %s: a range starting in the hole", calls[c].name);
		check_eq(nr_runs, 5, "hole, %s: *nr_runs untouched on error", calls[c].name);
		check_eq(nr_acquired() - a0, 8, "hole, %s: A", calls[c].name);
		check_eq(nr_released() - rel0, 8, "hole, %s: Rel", calls[c].name);
	}
	check_eq(vm_mprotect(BASE + PG(4), PG(4), PROT_NONE), 0, "PROT_NONE: mprotect");
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		struct page_run runs[16];
		unsigned long nr_runs = 16;
		long got = calls[c].call(BASE, 8, 0, runs, &nr_runs);

		check_eq(got, 4, "PROT_NONE, %s: the pages before it", calls[c].name);
		expect_runs(mm, BASE, 4, runs, nr_runs, calls[c].name);
		unpin_user_page_runs(runs, nr_runs);
		got = calls[c].call(BASE + PG(4), 4, 0, runs, &nr_runs);
		check_eq(got, -EFAULT, "PROT_NONE, %s: a range starting there", calls[c].name);
	}
	expect_invariants("slow path");
}

/* ---- FOLL_LONGTERM: out of ZONE_MOVABLE under modern rules, in place under 5.7 ---- */

static void longterm_movable(bool thp)
{
	struct mm_struct *mm = current_mm();
	const char *what = thp ? "long-term, THP" : "long-term, 4k";
	unsigned long n = thp ? 512 : 32;
	struct page *old[512];

	map(BASE, SZ_2M, RW, ANON | MAP_FIXED, what);
	if (!thp)
		check_eq(do_madvise(mm, BASE, SZ_2M, MADV_NOHUGEPAGE), 0, "%s: no THP", what);
	touch_write(BASE, n, 0x5c, what);
	for (unsigned long i = 0; i < n; i++)
		old[i] = page_at(mm, BASE + PG(i));
	check_true(page_zonenum(old[0]) == ZONE_MOVABLE,
		   "%s: the construction: a fresh mm faults into ZONE_MOVABLE", what);
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		struct page_run runs[512];
		unsigned long nr_runs = 512;
		long got = calls[c].call(BASE, n, FOLL_WRITE | FOLL_LONGTERM, runs, &nr_runs);

		check_eq(got, (long)n, "%s, %s: pages pinned", what, calls[c].name);
		expect_runs(mm, BASE, n, runs, nr_runs, calls[c].name);
		for (unsigned long i = 0; i < n; i++) {
			struct page *now = page_at(mm, BASE + PG(i));

			if (modern())
				check_true(is_longterm_pinnable_page(now) &&
						   page_zonenum(now) == ZONE_NORMAL,
					   "%s, %s (modern): page %lu moved out of ZONE_MOVABLE", what,
					   calls[c].name, i);
			else
				check_true(now == old[i], "%s, %s (5.7): page %lu pinned in place",
					   what, calls[c].name, i);
			check_eq(get_word(BASE + PG(i), what) & 0xff, 0x5c,
				 "%s, %s: page %lu keeps its data", what, calls[c].name, i);
			check_true(PageLongterm(compound_head(now)), "%s, %s: page %lu PG_longterm",
				   what, calls[c].name, i);
		}
		unpin_user_page_runs(runs, nr_runs);
	}
	expect_invariants(what);
}

static void test_runs_longterm_movable_4k(void **state)
{
	(void)state;
	longterm_movable(false);
}

static void test_runs_longterm_movable_thp(void **state)
{
	(void)state;
	longterm_movable(true);
}

/* ---- the same counts as the page-array call ---- */

static void test_runs_count_like_pages_array(void **state)
{
	struct mm_struct *mm = *state;
	static struct page *pages[1024];
	const unsigned int flag_sets[] = { 0, FOLL_WRITE, FOLL_WRITE | FOLL_LONGTERM };

	/* A THP, then 512 pages of another THP split into PTEs with a lone page inside. */
	map(BASE, 2 * SZ_2M, RW, ANON | MAP_FIXED, "like array");
	fault_thp(mm, BASE, 1, "like array");
	fault_thp(mm, BASE + SZ_2M, 2, "like array");
	check_eq(do_madvise(mm, BASE + SZ_2M + PG(7), PAGE_SIZE, MADV_DONTNEED), 0,
		 "like array: split the second THP's PMD");
	touch_write(BASE + SZ_2M + PG(7), 1, 3, "like array");
	for (unsigned int f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
		for (unsigned int c = 0; c < NR_CALLS; c++) {
			unsigned int flags = flag_sets[f];
			struct page_run runs[MAX_RUNS];
			unsigned long nr_runs = MAX_RUNS;
			struct pin_state s0, s1, s2, a0, a1, a2;
			long got_array, got_runs;

			/* A long-term pin moves pages out of ZONE_MOVABLE (modern rules): let one
			 * pin and unpin settle where the pages live before comparing. */
			{
				long got = pin_user_pages_fast(BASE, 1024, flags, pages);

				check_eq(got, 1024L, "like array, flags %#x: the settling pin", flags);
				unpin_user_pages(pages, (unsigned long)got);
			}

			/* The page-array call first: its deltas are the reference. */
			s0 = pin_state_of(page_at(mm, BASE));
			s1 = pin_state_of(page_at(mm, BASE + SZ_2M));
			s2 = pin_state_of(page_at(mm, BASE + SZ_2M + PG(7)));
			got_array = c == 0 ? pin_user_pages_fast(BASE, 1024, flags, pages)
					   : pin_locked(BASE, 1024, flags, pages);
			a0 = pin_state_of(page_at(mm, BASE));
			a1 = pin_state_of(page_at(mm, BASE + SZ_2M));
			a2 = pin_state_of(page_at(mm, BASE + SZ_2M + PG(7)));
			/* The reference: the array call's deltas. */
			a0.R -= s0.R, a0.P -= s0.P, a0.A -= s0.A;
			a1.R -= s1.R, a1.P -= s1.P, a1.A -= s1.A;
			a2.R -= s2.R, a2.A -= s2.A;
			unpin_user_pages(pages, (unsigned long)got_array);
			s0 = pin_state_of(page_at(mm, BASE));
			s1 = pin_state_of(page_at(mm, BASE + SZ_2M));
			s2 = pin_state_of(page_at(mm, BASE + SZ_2M + PG(7)));
			got_runs = calls[c].call(BASE, 1024, flags, runs, &nr_runs);
			check_eq(got_runs, got_array, "like array, %s, flags %#x: pages", calls[c].name,
				 flags);
			for (long i = 0, r = 0, j = 0; i < got_runs; i++) {
				check_true(runs[r].page + j == pages[i],
					   "like array, %s, flags %#x: page %ld as in the array",
					   calls[c].name, flags, i);
				if ((unsigned long)++j == runs[r].nr_pages) {
					r++;
					j = 0;
				}
			}
			expect_pin_state(&s0, page_at(mm, BASE), a0.R, a0.P, a0.MDP, a0.A, 0, 0,
					 "like array, %s, flags %#x: THP", calls[c].name, flags);
			expect_pin_state(&s1, page_at(mm, BASE + SZ_2M), a1.R, a1.P, a1.MDP, a1.A, 0,
					 0, "like array, %s, flags %#x: PTE-mapped THP", calls[c].name,
					 flags);
			expect_pin_state(&s2, page_at(mm, BASE + SZ_2M + PG(7)), a2.R, 0, a2.MDP,
					 a2.A, 0, 0,
					 "like array, %s, flags %#x: the lone page", calls[c].name,
					 flags);
			expect_runs(mm, BASE, (unsigned long)got_runs, runs, nr_runs, calls[c].name);
			unpin_user_page_runs(runs, nr_runs);
			expect_pin_state(&s0, page_at(mm, BASE), 0, 0, false, got_runs, got_runs, 0,
					 "like array, %s, flags %#x: THP restored", calls[c].name,
					 flags);
			expect_pin_state(&s2, page_at(mm, BASE + SZ_2M + PG(7)), 0, 0, false,
					 got_runs, got_runs, 0,
					 "like array, %s, flags %#x: lone page restored",
					 calls[c].name, flags);
		}
	}
	expect_invariants("like array");
}

/* ---- bad inputs: -EINVAL, nothing changed ---- */

static void test_runs_bad_inputs(void **state)
{
	struct mm_struct *mm = *state;
	const unsigned int bad_flags[] = { FOLL_GET, FOLL_PIN, FOLL_GET | FOLL_WRITE };
	struct page_run runs[4];
	struct page *page;
	struct pin_state before;

	map(BASE, PG(4), RW, ANON | MAP_FIXED, "bad inputs");
	check_eq(do_madvise(mm, BASE, PG(4), MADV_NOHUGEPAGE), 0, "bad inputs: no THP");
	touch_write(BASE, 4, 9, "bad inputs");
	page = page_at(mm, BASE);
	before = pin_state_of(page);
	for (unsigned int c = 0; c < NR_CALLS; c++) {
		unsigned long nr_runs = 4, zero = 0;

		memset(runs, 0x5a, sizeof(runs));
		check_eq(calls[c].call(BASE, 4, 0, NULL, &nr_runs), -EINVAL, "%s: runs NULL",
			 calls[c].name);
		check_eq(calls[c].call(BASE, 4, 0, runs, NULL), -EINVAL, "%s: nr_runs NULL",
			 calls[c].name);
		check_eq(calls[c].call(BASE, 4, 0, runs, &zero), -EINVAL, "%s: zero capacity",
			 calls[c].name);
		check_eq(zero, 0, "%s: zero capacity left as it was", calls[c].name);
		check_eq(calls[c].call(BASE, (unsigned long)LONG_MAX + 1, 0, runs, &nr_runs),
			 -EINVAL, "%s: nr_pages above LONG_MAX", calls[c].name);
		for (unsigned int f = 0; f < sizeof(bad_flags) / sizeof(bad_flags[0]); f++)
			check_eq(calls[c].call(BASE, 4, bad_flags[f], runs, &nr_runs), -EINVAL,
				 "%s: flags %#x refused", calls[c].name, bad_flags[f]);
		check_eq(nr_runs, 4, "%s: *nr_runs untouched by refused calls", calls[c].name);
		check_true(runs[0].page == (struct page *)0x5a5a5a5a5a5a5a5aUL,
			   "%s: runs untouched by refused calls", calls[c].name);
		expect_unchanged(&before, page, 0, "%s: refused calls", calls[c].name);
		/* nr_pages 0: nothing to do, no run used. */
		check_eq(calls[c].call(BASE, 0, 0, runs, &nr_runs), 0, "%s: nr_pages 0",
			 calls[c].name);
		check_eq(nr_runs, 0, "%s: nr_pages 0 uses no run", calls[c].name);
	}
	/* The fast call takes only FOLL_WRITE, FOLL_LONGTERM and FOLL_FORCE, without a WARN. */
	{
		unsigned long nr_runs = 4;

		check_eq(pin_user_pages_fast_runs(BASE, 4, FOLL_TOUCH, runs, &nr_runs), -EINVAL,
			 "pin_user_pages_fast_runs: FOLL_TOUCH refused");
		check_eq(pin_user_pages_fast_runs(BASE, 4, FOLL_FAST_ONLY, runs, &nr_runs), -EINVAL,
			 "pin_user_pages_fast_runs: FOLL_FAST_ONLY refused");
		check_eq(nr_runs, 4, "fast: *nr_runs untouched by refused calls");
		expect_unchanged(&before, page, 0, "FOLL_TOUCH, FOLL_FAST_ONLY refused");
	}
	unpin_user_page_runs(NULL, 0);
	expect_unchanged(&before, page, 0, "unpin of no runs");
	expect_invariants("bad inputs");
}

/* ---- is_longterm_pinnable_page() from the pfn: the zone and pageblock's answer ---- */

static void test_longterm_pinnable_by_pfn(void **state)
{
	(void)state;
	for (unsigned long pfn = 0; pfn < max_pfn; pfn++) {
		struct page *page = pfn_to_page(pfn);
		bool expect = !is_migrate_cma_page(page) &&
			      (!modern() || is_zero_pfn(pfn) || page_zonenum(page) != ZONE_MOVABLE);

		if (is_longterm_pinnable_page(page) != expect)
			check_true(false,
				   "is_longterm_pinnable_page(pfn %#lx) (%s rules, zone %d, CMA %d) "
				   "is %d, the zone and pageblock say %d",
				   pfn, modern() ? "modern" : "5.7", (int)page_zonenum(page),
				   is_migrate_cma_page(page), !expect, expect);
	}
	expect_invariants("pinnable by pfn");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test(test_runs_4k_merge_and_gap),
		gup_test(test_runs_array_fills_up),
		gup_test(test_runs_thp_leaves),
		cmocka_unit_test_setup_teardown(test_runs_hugetlb_leaves, setup_hugetlb,
						gup_teardown),
		gup_test(test_runs_slow_path_faults_holes_protnone),
		gup_test_57(test_runs_longterm_movable_4k),
		gup_test_modern(test_runs_longterm_movable_4k),
		gup_test_57(test_runs_longterm_movable_thp),
		gup_test_modern(test_runs_longterm_movable_thp),
		gup_test_57(test_runs_count_like_pages_array),
		gup_test_modern(test_runs_count_like_pages_array),
		gup_test(test_runs_bad_inputs),
		gup_test_57(test_longterm_pinnable_by_pfn),
		gup_test_modern(test_longterm_pinnable_by_pfn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
