/* SPDX-License-Identifier: MIT */
/*
 * Misuse of the unpin and dirtying calls, caught by the machine's debug checks
 * (pinmm_config.debug_checks, on by default): each misuse WARNs at the call, dump_page()s the
 * page, and leaves the counts as they were. Linux without CONFIG_DEBUG_VM corrupts the counts
 * in silence here (a refcount below the bias, an exact pin count of -1, a still-mapped THP
 * freed), so these cases pass in silence there and must not here.
 *
 * The cases: unpin of a page never pinned; a double unpin of an order-0 page and of a THP;
 * unpin of the zero page without a pin and a dirty unpin of a read pin of it (5.7 rules, booted
 * explicitly: modern rules never pin the zero page, and every unpin of it is a no-op, which
 * test_gup_pin.c's scenario 46 checks); an unpin
 * range (and a batched unpin) that runs past the end of its compound page; set_page_dirty() of
 * a free page; and, with the checks off, that they are off.
 *
 * A put_page() that drops a pin cannot be told from correct use by the counts: not tested.
 */
#include <pthread.h>
#include <string.h>

#include "gup_conformance.h"

#define THP_ADDR 0x40000000UL /* 2 MiB aligned */

/* The log since the last call must hold the WARN and the dump of the page. */
static void expect_misuse_logged(struct page *page, const char *what)
{
	char *log = test_log_take();
	char needle[64];

	snprintf(needle, sizeof(needle), "page:%016lx ", (unsigned long)page);
	if (!strstr(log, "misuse caught by the debug checks") || !strstr(log, needle))
		gup_fail("%s: expected a WARN and dump_page() of %p in the log; found:\n%s", what,
			 (void *)page, log);
	free(log);
}

static void test_unpin_of_a_page_never_pinned(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "never pinned");
	struct page *page;
	struct pin_state s0;

	touch_write(addr, 1, 1, "never pinned");
	page = mapped_page(mm, addr, "never pinned");
	s0 = pin_state_of(page);
	log_clear();
	unpin_user_page(page);
	expect_unchanged(&s0, page, 1, "unpin_user_page() of a mapped page never pinned (R 1)");
	expect_misuse_logged(page, "unpin_user_page() of a page never pinned");
	check_eq(page_ref_count(page), 1, "never pinned: R stays the mapping's 1");
	unmap(addr, PG(1), "never pinned");
}

static void test_double_unpin_of_an_order0_page(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "double unpin");
	struct page *pages[1], *page;
	struct pin_state s0;

	touch_write(addr, 1, 1, "double unpin");
	page = mapped_page(mm, addr, "double unpin");
	check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, pages), 1, "double unpin: pin");
	unpin_user_pages(pages, 1);
	s0 = pin_state_of(page);
	log_clear();
	unpin_user_pages(pages, 1);
	expect_unchanged(&s0, page, 1, "a second unpin_user_pages() of a page pinned once");
	expect_misuse_logged(page, "double unpin of an order-0 page");
	unpin_user_page(page);
	expect_unchanged(&s0, page, 2, "a third unpin, by unpin_user_page()");
	unmap(addr, PG(1), "double unpin");
}

static void test_double_unpin_of_a_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct page *pages[1], *page, *head;
	struct pin_state s0;

	map(THP_ADDR, SZ_2M, RW, ANON | MAP_FIXED, "THP double unpin");
	touch_write(THP_ADDR, 1, 1, "THP double unpin");
	page = mapped_page(mm, THP_ADDR + PG(3), "THP double unpin");
	head = compound_head(page);
	check_true(PageHead(head) && compound_order(head) == HPAGE_PMD_ORDER,
		   "THP double unpin: the write faulted a THP in");
	check_eq(pin_user_pages_fast(THP_ADDR + PG(3), 1, FOLL_WRITE, pages), 1,
		 "THP double unpin: pin one subpage");
	unpin_user_page(pages[0]);
	s0 = pin_state_of(page);
	check_eq(s0.P, 0, "THP double unpin: P after one pin and one unpin");
	log_clear();
	unpin_user_page(pages[0]);
	expect_unchanged(&s0, page, 1, "a second unpin_user_page() of a THP subpage pinned once");
	expect_misuse_logged(head, "double unpin of a THP");
	check_true(mapped_page(mm, THP_ADDR, "THP double unpin") == head,
		   "THP double unpin: the THP is still mapped, not freed");
	check_eq(page_ref_count(head), s0.R, "THP double unpin: R is the mapping's");
	/* The same through the batched and the range unpin. */
	unpin_user_pages_dirty_lock(pages, 1, true);
	expect_unchanged(&s0, page, 2, "a dirty batched unpin of the unpinned THP subpage");
	unpin_user_page_range_dirty_lock(pages[0], 1, false);
	expect_unchanged(&s0, page, 3, "a range unpin of the unpinned THP subpage");
	unmap(THP_ADDR, SZ_2M, "THP double unpin");
}

static void test_unpin_of_the_zero_page_without_a_pin(void **state)
{
	struct page *zero = ZERO_PAGE(0);
	struct pin_state s0;

	(void)state;
	s0 = pin_state_of(zero);
	log_clear();
	unpin_user_page(zero);
	expect_unchanged(&s0, zero, 1, "unpin_user_page() of the zero page, never pinned");
	expect_misuse_logged(zero, "unpin of the zero page");
	unpin_user_pages(&zero, 1);
	expect_unchanged(&s0, zero, 2, "unpin_user_pages() of the zero page, never pinned");
}

static void test_dirty_unpin_of_a_read_pin_of_the_zero_page(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "zero dirty");
	struct page *pages[1], *zero = ZERO_PAGE(0);
	struct pin_state s0;

	(void)mm;
	touch_read(addr, 1, "zero dirty");
	s0 = pin_state_of(zero);
	check_eq(pin_user_pages_fast(addr, 1, 0, pages), 1, "zero dirty: read pin");
	check_true(pages[0] == zero, "zero dirty: a read pin of an unwritten page is the zero page");
	log_clear();
	unpin_user_pages_dirty_lock(pages, 1, true);
	/* The pin was real: it goes. The dirtying was not: refused. */
	expect_pin_state(&s0, zero, 0, 0, false, 1, 1, 1,
			 "a dirty unpin of a read pin of the zero page");
	expect_misuse_logged(zero, "dirty unpin of the zero page");
	check_true(!PageDirty(zero), "zero dirty: PG_dirty stays clear on the zero page");
	unmap(addr, PG(1), "zero dirty");
}

/* A THP with every subpage pinned, and the frame after it, which nobody pinned. */
static struct page *pin_whole_thp(struct mm_struct *mm, struct page **pages, const char *what)
{
	struct page *head;

	map(THP_ADDR, SZ_2M, RW, ANON | MAP_FIXED, what);
	touch_write(THP_ADDR, 1, 1, what);
	head = compound_head(mapped_page(mm, THP_ADDR, what));
	check_true(PageHead(head) && compound_order(head) == HPAGE_PMD_ORDER,
		   "%s: the write faulted a THP in", what);
	check_eq(pin_user_pages_fast(THP_ADDR, HPAGE_PMD_NR, FOLL_WRITE, pages), HPAGE_PMD_NR,
		 "%s: pin all 512 subpages", what);
	return head;
}

static void test_unpin_range_past_the_end_of_its_compound_page(void **state)
{
	struct mm_struct *mm = *state;
	static struct page *pages[HPAGE_PMD_NR];
	struct page *head = pin_whole_thp(mm, pages, "range past the end");
	struct page *next = head + HPAGE_PMD_NR;
	struct pin_state s0 = pin_state_of(head), n0 = pin_state_of(next);

	check_eq(s0.P, HPAGE_PMD_NR, "range past the end: P after pinning every subpage");
	log_clear();
	unpin_user_page_range_dirty_lock(head, HPAGE_PMD_NR + 1, true);
	expect_unchanged(&s0, head, 1, "unpin_user_page_range_dirty_lock(head, 513): the THP");
	expect_unchanged(&n0, next, 1, "unpin_user_page_range_dirty_lock(head, 513): the frame "
				       "after the THP");
	expect_misuse_logged(next, "a range unpin past the end of a THP");
	unpin_user_page_range_dirty_lock(head, HPAGE_PMD_NR, false);
	expect_pin_state(&s0, head, -(long)HPAGE_PMD_NR, -(long)HPAGE_PMD_NR, false, 0, (long)HPAGE_PMD_NR, 1,
			 "the correct range unpin afterwards releases all 512 pins");
	unmap(THP_ADDR, SZ_2M, "range past the end");
}

static void test_batched_unpin_past_the_end_of_its_compound_page(void **state)
{
	struct mm_struct *mm = *state;
	static struct page *pages[HPAGE_PMD_NR + 1];
	struct page *head = pin_whole_thp(mm, pages, "batch past the end");
	struct page *next = head + HPAGE_PMD_NR;
	struct pin_state s0 = pin_state_of(head), n0 = pin_state_of(next);

	pages[HPAGE_PMD_NR] = next;
	log_clear();
	unpin_user_pages(pages, HPAGE_PMD_NR + 1);
	/* Each entry is its own pin: the THP's 512 are released, the stray one is refused. */
	expect_pin_state(&s0, head, -(long)HPAGE_PMD_NR, -(long)HPAGE_PMD_NR, false, 0, (long)HPAGE_PMD_NR, 1,
			 "unpin_user_pages() of the THP's 512 pages and the frame after it");
	expect_pin_state(&n0, next, 0, 0, n0.MDP, 0, (long)HPAGE_PMD_NR, 1,
			 "unpin_user_pages(): the frame after the THP is left as it was");
	expect_misuse_logged(next, "a batched unpin past the end of a THP");
	unmap(THP_ADDR, SZ_2M, "batch past the end");
}

static void test_set_page_dirty_of_a_free_page(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long w0;

	(void)state;
	assert_non_null(page);
	__free_page(page);
	w0 = pinmm_warn_count();
	log_clear();
	check_eq(set_page_dirty(page), 0, "set_page_dirty() of a free page returns 0");
	check_eq(pinmm_warn_count() - w0, 1, "set_page_dirty() of a free page: WARNs");
	expect_misuse_logged(page, "set_page_dirty() of a free page");
	check_true(!PageDirty(page), "set_page_dirty() of a free page leaves PG_dirty clear");
	check_eq(page_ref_count(page), 0, "set_page_dirty() of a free page: R stays 0");
}

/* Two threads race to unpin a page pinned once: exactly one release lands. */
struct racer {
	struct page *page;
	pthread_barrier_t *barrier;
};

static void *race_unpin(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->barrier);
	unpin_user_page(r->page);
	return NULL;
}

static void test_racing_double_unpin(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "racing unpin");
	struct page *pages[1], *page;
	pthread_barrier_t barrier;
	struct racer r;
	pthread_t t[2];

	touch_write(addr, 1, 1, "racing unpin");
	page = mapped_page(mm, addr, "racing unpin");
	pthread_barrier_init(&barrier, NULL, 2);
	r = (struct racer){page, &barrier};
	for (int round = 0; round < 200; round++) {
		struct pin_state s0 = pin_state_of(page);

		check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, pages), 1, "racing unpin: pin");
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, race_unpin, &r), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		expect_pin_state(&s0, page, 0, 0, false, 1, 1, 1,
				 "round %d: two threads unpin a page pinned once", round);
	}
	pthread_barrier_destroy(&barrier);
	log_clear();
	unmap(addr, PG(1), "racing unpin");
}

/* With the checks off (the benchmarks' choice) the calls do not look: set_page_dirty() of the
 * zero page sets the bit, as Linux does; nothing WARNs. */
static void test_debug_checks_off(void **state)
{
	struct pinmm_config cfg;
	struct page *zero;
	unsigned long w0;

	(void)state;
	pinmm_config_default(&cfg);
	check_true(cfg.debug_checks, "pinmm_config_default() turns the debug checks on");
	cfg.debug_checks = false;
	assert_int_equal(boot_with(&cfg), 0);
	zero = ZERO_PAGE(0);
	w0 = pinmm_warn_count();
	check_eq(set_page_dirty(zero), 1, "checks off: set_page_dirty() of the zero page");
	check_eq(pinmm_warn_count() - w0, 0, "checks off: no WARN");
	ClearPageDirty(zero);
	assert_int_equal(shutdown_clean(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test(test_unpin_of_a_page_never_pinned),
		gup_test(test_double_unpin_of_an_order0_page),
		gup_test(test_double_unpin_of_a_thp),
		gup_test_57(test_unpin_of_the_zero_page_without_a_pin),
		gup_test_57(test_dirty_unpin_of_a_read_pin_of_the_zero_page),
		gup_test(test_unpin_range_past_the_end_of_its_compound_page),
		gup_test(test_batched_unpin_past_the_end_of_its_compound_page),
		gup_test(test_set_page_dirty_of_a_free_page),
		gup_test(test_racing_double_unpin),
		cmocka_unit_test_teardown(test_debug_checks_off, teardown_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
