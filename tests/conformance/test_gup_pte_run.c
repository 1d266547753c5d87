/* SPDX-License-Identifier: MIT */
/*
 * The slow path's run along a PTE table (src/gup/gup.c, follow_pte_run()): a lookup that finds
 * a PTE-mapped page goes on along the same table under the same page-table lock while the
 * entries pass every test a lookup of each alone would make. The race point
 * "gup:page_looked_up" counts the lookups: one per table for a populated range; and the run
 * stops, leaving the page to a lookup of its own, at a hole (faulted in), at the zero page (a
 * write faults a copy), at a page shared with a fork (a write copies it; a read-only pin
 * unshares it under modern rules, and takes the shared page under 5.7). Under both rule sets
 * the pages, the counts and nr_foll_pin_acquired are what a page-by-page walk gives.
 */
#include "gup_conformance.h"

static void count_lookup(const char *point, void *arg)
{
	(void)point;
	atomic_fetch_add((atomic_long *)arg, 1);
}

/* The lookups a populated range of pages takes: one per table, or with pin owners on
 * (PINMM_PIN_OWNER=1) one per page, since each pin then records its own backtrace and the
 * slow path takes no run. */
static long populated_lookups(long tables, long pages)
{
	return pinmm_pin_owner_enabled() ? pages : tables;
}

/* The run's stops are the subject: with pin owners on there is no run to stop. */
static void skip_without_runs(void)
{
	if (pinmm_pin_owner_enabled())
		skip();
}

/* pin (or get) n pages from addr with the slow path; the lookups it made. */
static long slow_call(bool pin, unsigned long addr, unsigned long n, unsigned int flags,
		      struct page **pages, long *lookups)
{
	atomic_long count = 0;
	long ret;

	assert_int_equal(pinmm_hook_set("gup:page_looked_up", count_lookup, &count), 0);
	ret = pin ? pin_locked(addr, n, flags, pages) : get_locked(addr, n, flags, pages);
	assert_int_equal(pinmm_hook_set("gup:page_looked_up", NULL, NULL), 0);
	*lookups = atomic_load(&count);
	return ret;
}

/* pages[i] is what the page tables map at addr + i pages now, each referenced or pinned once
 * by the call (order-0 pages: refcount 1 mapped + 1 or GUP_PIN_COUNTING_BIAS). */
static void expect_pages(struct mm_struct *mm, unsigned long addr, unsigned long n,
			 struct page **pages, bool pin, const char *what)
{
	for (unsigned long i = 0; i < n; i++) {
		struct page *now = page_at(mm, addr + PG(i));
		int want = 1 + (pin ? GUP_PIN_COUNTING_BIAS : 1);

		if (pages[i] != now)
			gup_fail("%s: pages[%lu] is %p, the page mapped there is %p", what, i,
				 (void *)pages[i], (void *)now);
		if (page_ref_count(pages[i]) != want)
			gup_fail("%s: pages[%lu] refcount %d, expected %d (mapped once, %s once)",
				 what, i, page_ref_count(pages[i]), want, pin ? "pinned" : "got");
	}
}

static void release(struct page **pages, unsigned long n, bool pin)
{
	if (pin) {
		unpin_user_pages(pages, n);
		return;
	}
	for (unsigned long i = 0; i < n; i++)
		put_page(pages[i]);
}

/* 1024 populated pages: one lookup per PTE table the range spans, for pin and get. */
static void test_one_lookup_per_table(void **state)
{
	enum { N = 1024 };
	struct mm_struct *mm = current_mm();
	struct page **pages = calloc(N, sizeof(*pages));
	unsigned long addr = map(0, PG(N), RW, ANON, "populated");
	long tables = (long)(((addr + PG(N) - 1) >> PMD_SHIFT) - (addr >> PMD_SHIFT) + 1);

	(void)state;
	assert_non_null(pages);
	assert_int_equal(do_madvise(mm, addr, PG(N), MADV_NOHUGEPAGE), 0);
	touch_write(addr, N, 1, "populated");
	for (int pin = 0; pin <= 1; pin++) {
		long a0 = global_node_page_state(NR_FOLL_PIN_ACQUIRED), lookups;
		long ret = slow_call(pin, addr, N, FOLL_WRITE, pages, &lookups);

		check_eq(ret, (long)N, "%s_user_pages of %d populated pages",
			 pin ? "pin" : "get", N);
		check_eq(lookups, populated_lookups(tables, N), "%s of %d populated pages: lookups "
			 "(one per PTE table spanned)", pin ? "pin" : "get", N);
		check_eq(global_node_page_state(NR_FOLL_PIN_ACQUIRED) - a0, pin ? (long)N : 0L,
			 "%s: nr_foll_pin_acquired delta", pin ? "pin" : "get");
		expect_pages(mm, addr, N, pages, pin, pin ? "pin, populated" : "get, populated");
		release(pages, N, pin);
	}
	/* From the middle of a table across into the next: still one lookup per table. */
	{
		unsigned long from = ((addr >> PMD_SHIFT) + 1) << PMD_SHIFT;
		long lookups, ret;

		if (from - PG(8) >= addr && from + PG(8) <= addr + PG(N)) {
			ret = slow_call(true, from - PG(8), 16, FOLL_WRITE, pages, &lookups);
			check_eq(ret, 16L, "pin of 16 pages across a table boundary");
			check_eq(lookups, populated_lookups(2, 16),
				 "pin across a table boundary: lookups");
			expect_pages(mm, from - PG(8), 16, pages, true, "across a table boundary");
			unpin_user_pages(pages, 16);
		}
	}
	unmap(addr, PG(N), "populated");
	free(pages);
}

/* A hole and the zero page in one table: the run stops at each, the loop faults a page in and
 * runs on from it. A write pin of 64 pages: lookups at 0, 10 (after its fault) and 20 (after
 * the COW of the zero page). */
static void test_run_stops_at_hole_and_zero_page(void **state)
{
	enum { N = 64 };
	struct mm_struct *mm = current_mm();
	struct page *pages[N];
	unsigned long addr = map(0, PG(N) + PMD_SIZE, RW, ANON, "holes");
	unsigned long start = (addr + PMD_SIZE - 1) & PMD_MASK; /* one table */
	long lookups, ret;

	(void)state;
	skip_without_runs();
	assert_int_equal(do_madvise(mm, addr, PG(N) + PMD_SIZE, MADV_NOHUGEPAGE), 0);
	touch_write(start, N, 1, "holes");
	assert_int_equal(do_madvise(mm, start + PG(10), PAGE_SIZE, MADV_DONTNEED), 0);
	assert_int_equal(do_madvise(mm, start + PG(20), PAGE_SIZE, MADV_DONTNEED), 0);
	touch_read(start + PG(20), 1, "holes: the zero page");
	{
		struct leaf l = pt_walk(mm, start + PG(20));

		check_true((l.entry & _PAGE_PRESENT) && leaf_pfn(l, start + PG(20)) == zero_pfn(),
			   "holes: page 20 maps the zero page after a read");
	}
	ret = slow_call(true, start, N, FOLL_WRITE, pages, &lookups);
	check_eq(ret, (long)N, "holes: pin_user_pages(FOLL_WRITE) of %d pages", N);
	check_eq(lookups, 3L, "holes: lookups (runs 0-9, 10-19 after the fault, 20-63 after the "
			      "zero page's copy)");
	check_true(pages[20] != ZERO_PAGE(0), "holes: pages[20] is a copy, not the zero page");
	expect_pages(mm, start, N, pages, true, "holes");
	unpin_user_pages(pages, N);
	unmap(addr, PG(N) + PMD_SIZE, "holes");
}

/* Pages shared with a fork: a write pin copies each (the run stops at every read-only entry:
 * one lookup per page); a read-only pin unshares each under modern rules (FAULT_FLAG_UNSHARE,
 * one lookup per page) and takes the shared pages under 5.7 (one lookup). */
static void shared_with_fork(bool modern)
{
	enum { N = 16 };
	const char *rules = modern ? "modern" : "5.7";
	struct mm_struct *mm = current_mm(), *child;
	struct page *pages[N];
	unsigned long addr = map(0, PG(N), RW, ANON, "fork");
	long lookups, ret;

	skip_without_runs();

	assert_int_equal(do_madvise(mm, addr, PG(N), MADV_NOHUGEPAGE), 0);
	touch_write(addr, N, 1, "fork");
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));

	ret = slow_call(true, addr, N, 0, pages, &lookups);
	check_eq(ret, (long)N, "fork (%s): read-only pin of %d shared pages", rules, N);
	check_eq(lookups, modern ? (long)N : 1L,
		 "fork (%s): lookups of a read-only pin (%s)", rules,
		 modern ? "each page unshared" : "the shared pages taken in one run");
	for (int i = 0; i < N; i++) {
		bool shared = pages[i] == page_at(child, addr + PG(i));

		if (shared == modern)
			gup_fail("fork (%s): read-only pin, pages[%d] is %s the child's page", rules,
				 i, shared ? "still" : "not");
	}
	unpin_user_pages(pages, N);

	/* The pages the parent maps now are its own under modern rules: fork again. */
	mmput(child);
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	ret = slow_call(true, addr, N, FOLL_WRITE, pages, &lookups);
	check_eq(ret, (long)N, "fork (%s): write pin of %d shared pages", rules, N);
	check_eq(lookups, (long)N, "fork (%s): lookups of a write pin (one per copied page)", rules);
	for (int i = 0; i < N; i++)
		if (pages[i] == page_at(child, addr + PG(i)))
			gup_fail("fork (%s): write pin, pages[%d] is the child's page, not a copy",
				 rules, i);
	expect_pages(mm, addr, N, pages, true, modern ? "fork, write pin (modern)"
						      : "fork, write pin (5.7)");
	unpin_user_pages(pages, N);
	mmput(child);
	unmap(addr, PG(N), "fork");
}

static void test_shared_with_fork_57(void **state)
{
	(void)state;
	shared_with_fork(false);
}

static void test_shared_with_fork_modern(void **state)
{
	(void)state;
	shared_with_fork(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test_57(test_one_lookup_per_table),
		gup_test_modern(test_one_lookup_per_table),
		gup_test_57(test_run_stops_at_hole_and_zero_page),
		gup_test_modern(test_run_stops_at_hole_and_zero_page),
		gup_test_57(test_shared_with_fork_57),
		gup_test_modern(test_shared_with_fork_modern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
