/* SPDX-License-Identifier: MIT */
/*
 * Conformance: pins of compound pages (mm/gup.c of v5.7), scenarios 6-12, 14, 45 and 50
 * (THP half): the exact pin count of compound pages of order > 1 (THP order 9, hugetlb
 * orders 9 and 18), the bias for order 1 under 5.7 rules and its exact count under modern
 * rules (rule_pincount_in_first_tail()), the subpage pointers returned, the counters, and
 * dump_page() of a pinned THP subpage. The THP and hugetlb scenarios run under the rule set
 * PINMM_RULES names (make check runs both): their counts are the same under both, only the
 * word that holds P differs (pincount_slot()).
 *
 * THPs come from write faults in 2 MiB aligned anonymous ranges (THP "always", the default
 * machine). hugetlb pages come from a 4 GiB machine with one 1 GiB and two 2 MiB pool pages.
 *
 * Scenario 12 needs an order-1 compound page in a user mapping, which pinmm cannot make (THP is
 * order 9; nothing maps order-1 pages). It is checked on the grab primitive that every GUP path
 * takes its pins with (try_grab_page(), src/gup/internal.h), with the public unpin and query
 * calls.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "gup_conformance.h"
#include "gup/internal.h" /* try_grab_page(): scenario 12 only */

#define THP_BASE 0x40000000UL /* 2 MiB aligned */
#define THP_NR 512

static bool tail_refcounts_zero(struct page *head, unsigned long nr, unsigned long *bad)
{
	for (unsigned long i = 1; i < nr; i++)
		if (atomic_load(&head[i]._refcount) != 0) {
			*bad = i;
			return false;
		}
	return true;
}

/* Map n 2 MiB THPs at THP_BASE and fault them in; returns the head of the first. */
static struct page *map_thps(struct mm_struct *mm, int n, const char *what)
{
	struct page *head;

	map(THP_BASE, SZ_2M * (unsigned long)n, RW, ANON | MAP_FIXED, what);
	for (int i = 0; i < n; i++) {
		unsigned long size, a = THP_BASE + SZ_2M * (unsigned long)i;

		touch_write(a, 1, (unsigned char)(0x30 + i), what);
		leaf_at(mm, a, &size);
		check_eq(size, PMD_SIZE, "%s: THP %d is mapped by a PMD leaf", what, i);
	}
	head = mapped_page(mm, THP_BASE, what);
	check_true(PageHead(head) && compound_order(head) == 9, "%s: an order-9 head", what);
	check_eq(page_ref_count(head), 1, "%s: R of a THP mapped once", what);
	check_eq(compound_pincount(head), 0, "%s: P of a fresh THP", what);
	check_eq(compound_mapcount(head), 1, "%s: compound_mapcount of a THP mapped once", what);
	return head;
}

/* ---- scenarios 6, 7, 9, 10: all 512 subpages in one call ---- */

static void check_whole_thp(struct mm_struct *mm, const struct gup_variant *var, int scenario)
{
	struct page *head = mapped_page(mm, THP_BASE, "whole THP");
	struct page **pages = malloc(sizeof(*pages) * THP_NR);
	struct pin_state s0 = pin_state_of(head);
	unsigned long bad;

	assert_non_null(pages);
	check_eq(var->call(THP_BASE, THP_NR, FOLL_WRITE, pages), THP_NR,
		 "S%d: %s of all 512 subpages of a THP", scenario, var->name);
	for (unsigned long i = 0; i < THP_NR; i++)
		if (pages[i] != head + i)
			gup_fail("S%d: %s: pages[%lu] is %p, expected subpage %lu (%p)", scenario,
				 var->name, i, (void *)pages[i], i, (void *)(head + i));
	if (var->pin)
		expect_pin_state(&s0, head, THP_NR, THP_NR, true, THP_NR, 0, 0,
				 "S%d: %s of 512 THP subpages: R +512, P +512, A +512", scenario,
				 var->name);
	else
		expect_pin_state(&s0, head, THP_NR, 0, false, 0, 0, 0,
				 "S%d: %s of 512 THP subpages: R +512, P and MDP untouched",
				 scenario, var->name);
	check_true(tail_refcounts_zero(head, THP_NR, &bad),
		   "S%d: %s: every tail's _refcount stays 0 (subpage %lu is not)", scenario,
		   var->name, bad);
	for (unsigned long i = 0; i < THP_NR; i += 73)
		check_eq(page_maybe_dma_pinned(head + i), var->pin, "S%d: %s: MDP of subpage %lu",
			 scenario, var->name, i);
	gup_variant_release(var, pages, THP_NR);
	expect_pin_state(&s0, head, 0, 0, false, var->pin ? THP_NR : 0, var->pin ? THP_NR : 0, 0,
			 "S%d: %s of 512 THP subpages, then released (S7 for the pins)", scenario,
			 var->name);
	for (unsigned long i = 0; i < THP_NR; i += 73)
		check_true(!page_maybe_dma_pinned(head + i),
			   "S7: MDP of subpage %lu after the unpin", i);
	free(pages);
}

static void test_s6_s7_s9_s10_whole_thp(void **state)
{
	struct mm_struct *mm = *state;

	map_thps(mm, 1, "S6");
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];
		int scenario = !var->pin ? 10 : var->call == v_pin ? 9 : 6;

		check_whole_thp(mm, var, scenario);
	}
	unmap(THP_BASE, SZ_2M, "S6");
}

/* A range from subpage 100: the pointers start there; only those subpages count. */
static void test_thp_partial_range_from_the_middle(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thps(mm, 1, "THP partial");

	for (int slow = 0; slow < 2; slow++) {
		struct page *pages[20];
		struct pin_state s0 = pin_state_of(head);

		poison_pages(pages, 20);
		check_eq(slow ? pin_locked(THP_BASE + PG(100) + 123, 10, 0, pages)
			      : pin_user_pages_fast(THP_BASE + PG(100) + 123, 10, 0, pages),
			 10, "THP subpages 100-109 (%s, unaligned start)", slow ? "slow" : "fast");
		for (int i = 0; i < 10; i++)
			check_true(pages[i] == head + 100 + i,
				   "THP partial range: pages[%d] is subpage %d", i, 100 + i);
		expect_pages_untouched(pages + 10, 10, "THP partial range: past the 10 asked for");
		expect_pin_state(&s0, head, 10, 10, true, 10, 0, 0, "THP partial range of 10 (%s)",
				 slow ? "slow" : "fast");
		unpin_user_pages(pages, 10);
		expect_pin_state(&s0, head, 0, 0, false, 10, 10, 0, "THP partial range, unpinned");
	}
	unmap(THP_BASE, SZ_2M, "THP partial");
}

/* A range across two THPs: each head gets the pins of its own subpages. */
static void test_thp_range_across_two_thps(void **state)
{
	struct mm_struct *mm = *state;
	struct page *h0 = map_thps(mm, 2, "two THPs");
	struct page *h1 = mapped_page(mm, THP_BASE + SZ_2M, "two THPs");
	struct page **pages = malloc(sizeof(*pages) * 2 * THP_NR);
	struct pin_state s0 = pin_state_of(h0), s1 = pin_state_of(h1);

	assert_non_null(pages);
	check_true(h1 != h0 && PageHead(h1), "two THPs: two different heads");
	check_eq(pin_user_pages_fast(THP_BASE + PG(312), 400, 0, pages), 400,
		 "two THPs: 400 subpages from subpage 312 of the first");
	for (int i = 0; i < 400; i++)
		check_true(pages[i] == (i < 200 ? h0 + 312 + i : h1 + (i - 200)),
			   "two THPs: pages[%d]", i);
	expect_pin_state(&s0, h0, 200, 200, true, 400, 0, 0, "two THPs: the first head");
	expect_pin_state(&s1, h1, 200, 200, true, 400, 0, 0, "two THPs: the second head");
	unpin_user_pages(pages, 400);
	expect_pin_state(&s0, h0, 0, 0, false, 400, 400, 0, "two THPs unpinned: the first head");
	expect_pin_state(&s1, h1, 0, 0, false, 400, 400, 0, "two THPs unpinned: the second head");
	free(pages);
	unmap(THP_BASE, 2 * SZ_2M, "two THPs");
}

/* ---- scenarios 8, 10, 11: exact counts never read pinned without a pin ---- */

static void test_s8_pin_twice_unpin_once(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thps(mm, 1, "S8");
	struct page *pages[2];
	struct pin_state s0 = pin_state_of(head);

	check_eq(pin_user_pages_fast(THP_BASE + PG(7), 1, 0, &pages[0]), 1, "S8: first pin (fast)");
	check_eq(pin_locked(THP_BASE + PG(7), 1, 0, &pages[1]), 1, "S8: second pin (slow)");
	check_true(pages[0] == head + 7 && pages[1] == head + 7, "S8: both return subpage 7");
	expect_pin_state(&s0, head, 2, 2, true, 2, 0, 0, "S8: subpage 7 pinned twice");
	unpin_user_page(pages[0]);
	expect_pin_state(&s0, head, 1, 1, true, 2, 1, 0, "S8: pinned twice, unpinned once");
	check_true(page_maybe_dma_pinned(head + 300), "S8: every subpage reads the head's pin");
	unpin_user_page(pages[1]);
	expect_pin_state(&s0, head, 0, 0, false, 2, 2, 0, "S8: both pins released");
	unmap(THP_BASE, SZ_2M, "S8");
}

static void test_s11_many_plain_references_on_a_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thps(mm, 1, "S11");
	struct pin_state s0 = pin_state_of(head);

	for (int i = 0; i < 5000; i++)
		get_page(head + (i % THP_NR));
	expect_pin_state(&s0, head, 5000, 0, false, 0, 0, 0,
			 "S11: a THP with 5000 plain references and no pin is not maybe-pinned");
	for (int i = 0; i < 5000; i++)
		put_page(head + (i % THP_NR));
	expect_pin_state(&s0, head, 0, 0, false, 0, 0, 0, "S11: the references dropped");
	unmap(THP_BASE, SZ_2M, "S11");
}

/* ---- scenario 12: which compound pages count their pins exactly ----
 *
 * 5.7: order 1 keeps the bias (no page[2]); order 2 is the first with an exact count.
 * Modern (5.18, commit 5232c63f46fd): the count is in page[1], so order 1 counts exactly too.
 * Order 0 keeps the bias under both. */

static void s12_orders(bool modern)
{
	const char *rules = modern ? "modern" : "5.7";

	for (unsigned int order = 0; order <= 3; order++) {
		struct page *head = alloc_pages(GFP_KERNEL | (order ? __GFP_COMP : 0), order);
		struct page *sub;
		struct pin_state s0;
		bool exact = order > (modern ? 0U : 1U);

		assert_non_null(head);
		sub = head + (order ? 1 : 0);
		check_eq(hpage_pincount_available(sub), exact,
			 "S12 (%s): hpage_pincount_available() of an order-%u page", rules, order);
		if (exact)
			check_true(pincount_slot(head) ==
					   (modern ? &head[1]._pincount : &head[2].hpage_pinned_refcount),
				   "S12 (%s): order %u: the count's slot", rules, order);
		s0 = pin_state_of(sub);
		check_eq(s0.P, exact ? 0 : -1, "S12 (%s): P of a fresh order-%u page", rules, order);
		check_true(try_grab_page(sub, FOLL_PIN), "S12 (%s): grab a pin on an order-%u page",
			   rules, order);
		expect_pin_state(&s0, sub, exact ? 1 : GUP_PIN_COUNTING_BIAS, exact ? 1 : 0, true,
				 1, 0, 0, "S12 (%s): one pin of an order-%u page (%s)", rules, order,
				 exact ? "exact: R +1, P +1" : "bias: R +1024, no P");
		if (order)
			check_eq(atomic_load(&sub->_refcount), 0,
				 "S12 (%s): the tail's own _refcount (order %u)", rules, order);
		/* The slot the rule set does not use is untouched. */
		if (order)
			check_eq(atomic_load(modern ? (order > 1 ? &head[2].hpage_pinned_refcount
								 : &head[1]._pincount)
						    : &head[1]._pincount),
				 modern && order == 1 ? 1 : 0,
				 "S12 (%s): order %u: the other slot", rules, order);
		unpin_user_page(sub);
		expect_pin_state(&s0, sub, 0, 0, false, 1, 1, 0, "S12 (%s): order-%u page unpinned",
				 rules, order);
		__free_pages(head, order);
	}
}

static void test_s12_order1_bias_order2_exact_57(void **state)
{
	(void)state;
	s12_orders(false);
}

static void test_s12_every_compound_order_exact_modern(void **state)
{
	(void)state;
	s12_orders(true);
}

/* An order-1 page whose refcount is 10 below INT_MAX: a pin needs +1024 under 5.7 (refused,
 * nothing changes) and +1 under modern rules (taken, exactly counted). */
static void s12_order1_overflow(bool modern)
{
	const char *rules = modern ? "modern" : "5.7";
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	long a0;

	assert_non_null(head);
	atomic_store(&head->_refcount, INT_MAX - 10);
	a0 = nr_acquired();
	check_eq(try_grab_page(head + 1, FOLL_PIN), modern,
		 "S12 (%s): pin an order-1 page at refcount INT_MAX - 10", rules);
	check_eq(page_ref_count(head), INT_MAX - 10 + (modern ? 1 : 0),
		 "S12 (%s): the order-1 head's refcount after the pin", rules);
	check_eq(nr_acquired() - a0, modern ? 1 : 0, "S12 (%s): nr_foll_pin_acquired delta",
		 rules);
	if (modern) {
		check_eq(compound_pincount(head), 1, "S12 (modern): the order-1 page's pincount");
		unpin_user_page(head + 1);
		check_eq(compound_pincount(head), 0, "S12 (modern): unpinned");
	}
	atomic_store(&head->_refcount, 1);
	__free_pages(head, 1);
}

static void test_s12_order1_overflow_57(void **state)
{
	(void)state;
	s12_order1_overflow(false);
}

static void test_s12_order1_overflow_modern(void **state)
{
	(void)state;
	s12_order1_overflow(true);
}

/* ---- scenario 45: pin a whole THP, unpin each subpage on its own ---- */

static void test_s45_pin_whole_unpin_each_subpage(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thps(mm, 1, "S45");
	struct page **pages = malloc(sizeof(*pages) * THP_NR);
	struct pin_state s0 = pin_state_of(head);

	assert_non_null(pages);
	check_eq(pin_locked(THP_BASE, THP_NR, FOLL_WRITE, pages), THP_NR,
		 "S45: pin_user_pages of a whole THP");
	for (int i = THP_NR - 1; i >= 0; i--) {
		unpin_user_page(pages[i]);
		if (i == THP_NR / 2)
			expect_pin_state(&s0, head, THP_NR / 2, THP_NR / 2, true, THP_NR,
					 THP_NR / 2, 0,
					 "S45: half of the subpages unpinned one by one");
	}
	expect_pin_state(&s0, head, 0, 0, false, THP_NR, THP_NR, 0,
			 "S45: every subpage unpinned one by one: A == Rel == 512");
	free(pages);
	unmap(THP_BASE, SZ_2M, "S45");
}

/* ---- unpin_user_pages_dirty_lock on a THP: the head is dirtied ---- */

static void test_s35_dirty_lock_on_a_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thps(mm, 1, "S35 THP");
	struct page **pages = malloc(sizeof(*pages) * THP_NR);
	struct pin_state s0;

	assert_non_null(pages);
	ClearPageDirty(head);
	s0 = pin_state_of(head);
	check_eq(pin_user_pages_fast(THP_BASE, THP_NR, 0, pages), THP_NR, "S35 THP: pin");
	unpin_user_pages_dirty_lock(pages, THP_NR, true);
	expect_pin_state(&s0, head, 0, 0, false, THP_NR, THP_NR, 0,
			 "S35: unpin_user_pages_dirty_lock(make_dirty) of 512 THP subpages");
	check_true(PageDirty(head), "S35: the THP's head is dirty after the unpin");
	free(pages);
	unmap(THP_BASE, SZ_2M, "S35 THP");
}

/* ---- scenario 50: dump_page of a pinned THP subpage ---- */

static char *first_line(char *log)
{
	char *eol = strchr(log, '\n');

	if (eol)
		*eol = '\0';
	return log;
}

static void test_s50_dump_page_of_a_pinned_thp_subpage(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thps(mm, 1, "S50 THP");
	struct page *pages[3];
	char expect[160], *log;

	check_eq(pin_user_pages_fast(THP_BASE + PG(19), 3, 0, pages), 3, "S50: pin 3 subpages");
	free(test_log_take());
	dump_page(head + 20, "S50");
	log = first_line(test_log_take());
	snprintf(expect, sizeof(expect), "page:%016lx refcount:4 mapcount:1 ",
		 (unsigned long)(head + 20));
	if (strncmp(log, expect, strlen(expect)) != 0)
		gup_fail("S50: the dump of a pinned THP subpage should start \"%s\"; it was \"%s\"",
			 expect, log);
	snprintf(expect, sizeof(expect),
		 " head:%016lx order:9 compound_mapcount:1 compound_pincount:3",
		 (unsigned long)head);
	if (strlen(log) < strlen(expect) || strcmp(log + strlen(log) - strlen(expect), expect))
		gup_fail("S50: the dump's first line should end \"%s\"; it was \"%s\"", expect,
			 log);
	free(log);
	unpin_user_pages(pages, 3);
	unmap(THP_BASE, SZ_2M, "S50 THP");
}

/* ---- hugetlb: 2 MiB (PMD) and 1 GiB (PUD) pool pages ---- */

static int setup_hugetlb(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_1g = 1;
	cfg.nr_hugepages_2m = 2;
	return gup_setup_with(state, &cfg);
}

static unsigned long map_huge(unsigned long len, unsigned long size_flag, const char *what)
{
	unsigned long addr = map(0, len, RW, ANON | MAP_HUGETLB | size_flag, what);

	touch_write(addr, 1, 0x77, what);
	return addr;
}

static void test_hugetlb_2m_exact_count_fast_and_slow(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_huge(SZ_2M, MAP_HUGE_2MB, "hugetlb 2M");
	struct page *head = mapped_page(mm, addr, "hugetlb 2M");
	struct page **pages = malloc(sizeof(*pages) * THP_NR);

	assert_non_null(pages);
	check_true(PageHuge(head) && compound_order(head) == 9, "hugetlb 2M: an order-9 pool page");
	for (int slow = 0; slow < 2; slow++) {
		struct pin_state s0 = pin_state_of(head);

		check_eq(slow ? pin_locked(addr, THP_NR, FOLL_WRITE, pages)
			      : pin_user_pages_fast(addr, THP_NR, FOLL_WRITE, pages),
			 THP_NR, "hugetlb 2M: pin all 512 subpages (%s)", slow ? "slow" : "fast");
		for (int i = 0; i < THP_NR; i++)
			check_true(pages[i] == head + i, "hugetlb 2M: pages[%d] is subpage %d", i,
				   i);
		expect_pin_state(&s0, head, THP_NR, THP_NR, true, THP_NR, 0, 0,
				 "hugetlb 2M: 512 subpages pinned (%s)", slow ? "slow" : "fast");
		unpin_user_pages(pages, THP_NR);
		expect_pin_state(&s0, head, 0, 0, false, THP_NR, THP_NR, 0,
				 "hugetlb 2M: unpinned (%s)", slow ? "slow" : "fast");
	}
	free(pages);
	unmap(addr, SZ_2M, "hugetlb 2M");
}

/* S14: every subpage of a 1 GiB page in one fast call: R, P and A +262144 (the bias would have
 * added 2^28 to R). */
static void test_s14_pin_all_subpages_of_a_1g_page(void **state)
{
	struct mm_struct *mm = *state;
	const unsigned long nr = 1UL << 18;
	unsigned long addr = map_huge(SZ_1G, MAP_HUGE_1GB, "S14");
	struct page *head = mapped_page(mm, addr, "S14");
	struct page **pages = malloc(sizeof(*pages) * nr);
	struct pin_state s0 = pin_state_of(head);
	unsigned long size, bad;

	assert_non_null(pages);
	leaf_at(mm, addr, &size);
	check_eq(size, PUD_SIZE, "S14: the 1 GiB page is mapped by a PUD leaf");
	check_true(compound_order(head) == 18 && PageHuge(head), "S14: an order-18 pool page");
	check_eq(s0.R, 1, "S14: R of the 1 GiB page mapped once");
	check_eq(pin_user_pages_fast(addr, (int)nr, FOLL_WRITE, pages), (long)nr,
		 "S14: pin_user_pages_fast of all 262144 subpages");
	for (unsigned long i = 0; i < nr; i++)
		if (pages[i] != head + i)
			gup_fail("S14: pages[%lu] is %p, expected subpage %lu", i, (void *)pages[i],
				 i);
	expect_pin_state(&s0, head, (long)nr, (long)nr, true, (long)nr, 0, 0,
			 "S14: all 262144 subpages of a 1 GiB page pinned");
	check_true(tail_refcounts_zero(head, nr, &bad),
		   "S14: every tail's _refcount stays 0 (subpage %lu is not)", bad);
	unpin_user_pages(pages, nr);
	expect_pin_state(&s0, head, 0, 0, false, (long)nr, (long)nr, 0,
			 "S14: all 262144 unpinned");

	/* The slow path, subpage by subpage (5.7) or the window with one grab (modern): the
	 * same counts. A 4096-page window in the middle keeps it short. */
	check_eq(pin_locked(addr + PG(100000), 4096, 0, pages), 4096,
		 "S14: pin_user_pages of 4096 subpages from subpage 100000");
	for (unsigned long i = 0; i < 4096; i++)
		if (pages[i] != head + 100000 + i)
			gup_fail("S14 (slow): pages[%lu] is not subpage %lu", i, 100000 + i);
	expect_pin_state(&s0, head, 4096, 4096, true, (long)nr + 4096, (long)nr, 0,
			 "S14: 4096 subpages pinned by the slow path");
	unpin_user_pages(pages, 4096);
	expect_pin_state(&s0, head, 0, 0, false, (long)nr + 4096, (long)nr + 4096, 0,
			 "S14: the slow-path pins released");

	/* dump_page of a pinned subpage of the gigantic page. */
	check_eq(pin_user_pages_fast(addr + PG(5), 1, 0, pages), 1, "S50 (1 GiB): pin one");
	free(test_log_take());
	dump_page(pages[0], "S50");
	{
		char *log = first_line(test_log_take());

		if (!strstr(log, " order:18 compound_mapcount:1 compound_pincount:1"))
			gup_fail("S50: a pinned 1 GiB subpage dumps \"order:18 compound_mapcount:1 "
				 "compound_pincount:1\"; the line was \"%s\"", log);
		free(log);
	}
	unpin_user_pages(pages, 1);
	free(pages);
	unmap(addr, SZ_1G, "S14");
}

/* ---- the slow path's grab of a huge leaf: per subpage (5.7) or per leaf (modern, 6.5) ----
 *
 * Under both rule sets the counts after the call are the same: R +n, P +n (in page[2] under
 * 5.7, page[1] under modern rules), nr_foll_pin_acquired +n, pages[] the subpages in order.
 * What differs is how many lookups (each taking the leaf's page-table lock and grabbing) the
 * slow path made, which the race point "gup:page_looked_up" counts: one per subpage under 5.7,
 * one per leaf under modern rules (commit 57edfcfd3419). */

static void count_lookup(const char *point, void *arg)
{
	(void)point;
	atomic_fetch_add((atomic_long *)arg, 1);
}

/* Take n subpages from addr with the slow path (pin, or get when get is set) and check the
 * counts on the leaf head (subpage first of it is at addr), and the lookups made: leaves under
 * modern rules; under 5.7, n for a THP (follow_page_mask() per subpage) and leaves for a
 * hugetlb page (5.7's follow_hugetlb_page() grabs its subpages one by one under the leaf's
 * lock, taken once). Releases them again. */
static void slow_leaf_grab(struct page *head, unsigned long first, unsigned long addr,
			   unsigned long n, unsigned long leaves, bool get, bool modern,
			   const char *what)
{
	const char *rules = modern ? "modern" : "5.7";
	struct page **pages = malloc(sizeof(*pages) * n);
	struct pin_state s0 = pin_state_of(head);
	atomic_long lookups = 0;
	unsigned long bad;
	long ret;

	assert_non_null(pages);
	assert_int_equal(pinmm_hook_set("gup:page_looked_up", count_lookup, &lookups), 0);
	ret = get ? get_locked(addr, n, FOLL_WRITE, pages) : pin_locked(addr, n, FOLL_WRITE, pages);
	assert_int_equal(pinmm_hook_set("gup:page_looked_up", NULL, NULL), 0);
	check_eq(ret, (long)n, "%s (%s): %s_user_pages of %lu subpages", what, rules,
		 get ? "get" : "pin", n);
	for (unsigned long i = 0; i < n; i++)
		if (pages[i] != head + first + i)
			gup_fail("%s (%s): pages[%lu] is %p, expected subpage %lu (%p)", what, rules,
				 i, (void *)pages[i], first + i, (void *)(head + first + i));
	bool per_leaf = modern || PageHuge(head);

	check_eq(atomic_load(&lookups), per_leaf ? (long)leaves : (long)n,
		 "%s (%s): lookups by the slow path (one per %s)", what, rules,
		 per_leaf ? "leaf" : "subpage");
	expect_pin_state(&s0, head, (long)n, get ? 0 : (long)n, !get, get ? 0 : (long)n, 0, 0,
			 "%s (%s): %lu subpages %s", what, rules, n, get ? "referenced" : "pinned");
	if (!get) {
		atomic_int *other = modern ? &head[2].hpage_pinned_refcount : &head[1]._pincount;

		check_true(pincount_slot(head) == (modern ? &head[1]._pincount
							  : &head[2].hpage_pinned_refcount),
			   "%s (%s): the count's slot", what, rules);
		check_eq(atomic_load(pincount_slot(head)), (int)n, "%s (%s): P in page[%d]", what,
			 rules, modern ? 1 : 2);
		check_eq(atomic_load(other), 0, "%s (%s): the unused slot page[%d]", what, rules,
			 modern ? 2 : 1);
	}
	check_true(tail_refcounts_zero(head, compound_nr(head), &bad),
		   "%s (%s): every tail's _refcount stays 0 (subpage %lu is not)", what, rules, bad);
	if (get) {
		for (unsigned long i = 0; i < n; i++)
			put_page(pages[i]);
	} else {
		unpin_user_pages(pages, n);
	}
	expect_pin_state(&s0, head, 0, 0, false, get ? 0 : (long)n, get ? 0 : (long)n, 0,
			 "%s (%s): released", what, rules);
	free(pages);
}

static void thp_leaf_grabs(struct mm_struct *mm, bool modern)
{
	struct page *head = map_thps(mm, 2, "leaf grab");
	struct page *head2 = mapped_page(mm, THP_BASE + SZ_2M, "leaf grab");

	slow_leaf_grab(head, 0, THP_BASE, THP_NR, 1, false, modern, "THP, whole");
	slow_leaf_grab(head, 0, THP_BASE, THP_NR, 1, true, modern, "THP, whole, FOLL_GET");
	slow_leaf_grab(head, 100, THP_BASE + PG(100), 300, 1, false, modern,
		       "THP, 300 subpages from subpage 100");
	slow_leaf_grab(head, 511, THP_BASE + PG(511), 1, 1, false, modern, "THP, its last subpage");
	/* Across two THPs: 12 subpages of the first, 12 of the second; two leaves. */
	{
		struct page *pages[24];
		struct pin_state a0 = pin_state_of(head), b0 = pin_state_of(head2);
		atomic_long lookups = 0;

		assert_int_equal(pinmm_hook_set("gup:page_looked_up", count_lookup, &lookups), 0);
		check_eq(pin_locked(THP_BASE + PG(500), 24, 0, pages), 24, "two THPs: pin 24");
		assert_int_equal(pinmm_hook_set("gup:page_looked_up", NULL, NULL), 0);
		for (int i = 0; i < 24; i++)
			check_true(pages[i] == (i < 12 ? head + 500 + i : head2 + (i - 12)),
				   "two THPs: pages[%d]", i);
		check_eq(atomic_load(&lookups), modern ? 2L : 24L,
			 "two THPs (%s): lookups by the slow path", modern ? "modern" : "5.7");
		expect_pin_state(&a0, head, 12, 12, true, 24, 0, 0, "two THPs: the first");
		expect_pin_state(&b0, head2, 12, 12, true, 24, 0, 0, "two THPs: the second");
		unpin_user_pages(pages, 24);
	}
	unmap(THP_BASE, 2 * SZ_2M, "leaf grab");
}

static void test_thp_leaf_grab_per_subpage_57(void **state)
{
	thp_leaf_grabs(*state, false);
}

static void test_thp_leaf_grab_once_per_leaf_modern(void **state)
{
	thp_leaf_grabs(*state, true);
}

static void hugetlb_leaf_grabs(struct mm_struct *mm, bool modern)
{
	unsigned long a2 = map_huge(SZ_2M, MAP_HUGE_2MB, "leaf grab 2M");
	unsigned long a1 = map_huge(SZ_1G, MAP_HUGE_1GB, "leaf grab 1G");
	struct page *h2 = mapped_page(mm, a2, "leaf grab 2M");
	struct page *h1 = mapped_page(mm, a1, "leaf grab 1G");

	slow_leaf_grab(h2, 0, a2, THP_NR, 1, false, modern, "hugetlb 2M, whole");
	slow_leaf_grab(h2, 7, a2 + PG(7), 64, 1, true, modern, "hugetlb 2M, 64, FOLL_GET");
	slow_leaf_grab(h1, 100000, a1 + PG(100000), 4096, 1, false, modern,
		       "hugetlb 1G, 4096 from subpage 100000");
	slow_leaf_grab(h1, 0, a1, 1UL << 14, 1, false, modern, "hugetlb 1G, the first 16384");
	unmap(a2, SZ_2M, "leaf grab 2M");
	unmap(a1, SZ_1G, "leaf grab 1G");
}

static int setup_hugetlb_rules(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_1g = 1;
	cfg.nr_hugepages_2m = 2;
	cfg.rules = rules;
	return gup_setup_with(state, &cfg);
}

static int setup_hugetlb_57(void **state)
{
	return setup_hugetlb_rules(state, PINMM_RULES_5_7);
}

static int setup_hugetlb_modern(void **state)
{
	return setup_hugetlb_rules(state, PINMM_RULES_MODERN);
}

static void test_hugetlb_leaf_grab_per_subpage_under_one_lock_57(void **state)
{
	hugetlb_leaf_grabs(*state, false);
}

static void test_hugetlb_leaf_grab_once_per_leaf_modern(void **state)
{
	hugetlb_leaf_grabs(*state, true);
}

/* Two threads (CPUs) pin the same huge page with the slow path at once, ROUNDS times each,
 * keeping every pin: the counts are exact, 2 x ROUNDS x n, whichever way the leaf is grabbed. */
#define ROUNDS 40

struct pinner {
	struct mm_struct *mm;
	unsigned long addr, n;
	atomic_int *go;
	struct page **pages; /* ROUNDS x n */
	long failed;
};

static void *pinner_thread(void *arg)
{
	struct pinner *p = arg;

	kthread_use_mm(p->mm);
	while (!atomic_load(p->go))
		;
	for (int r = 0; r < ROUNDS; r++) {
		long got;

		mmap_read_lock(p->mm);
		got = pin_user_pages(p->addr, p->n, FOLL_WRITE, p->pages + (unsigned long)r * p->n);
		mmap_read_unlock(p->mm);
		if (got != (long)p->n)
			p->failed++;
	}
	kthread_unuse_mm(p->mm);
	return NULL;
}

static void concurrent_pins(struct mm_struct *mm, struct page *head, unsigned long addr,
			    unsigned long n, bool modern, const char *what)
{
	const char *rules = modern ? "modern" : "5.7";
	struct pin_state s0 = pin_state_of(head);
	atomic_int go = 0;
	struct pinner p[2];
	pthread_t t[2];

	for (int i = 0; i < 2; i++) {
		p[i] = (struct pinner){.mm = mm, .addr = addr, .n = n, .go = &go};
		p[i].pages = malloc(sizeof(struct page *) * ROUNDS * n);
		assert_non_null(p[i].pages);
		assert_int_equal(pthread_create(&t[i], NULL, pinner_thread, &p[i]), 0);
	}
	atomic_store(&go, 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	check_eq(p[0].failed + p[1].failed, 0, "%s (%s): short pins", what, rules);
	expect_pin_state(&s0, head, 2L * ROUNDS * (long)n, 2L * ROUNDS * (long)n, true,
			 2L * ROUNDS * (long)n, 0, 0, "%s (%s): two threads x %d pins of %lu subpages",
			 what, rules, ROUNDS, n);
	for (int i = 0; i < 2; i++) {
		for (unsigned long j = 0; j < ROUNDS * n; j++)
			if (p[i].pages[j] != head + j % n)
				gup_fail("%s (%s): thread %d's pages[%lu] is not subpage %lu", what,
					 rules, i, j, j % n);
		unpin_user_pages(p[i].pages, ROUNDS * n);
		free(p[i].pages);
	}
	expect_pin_state(&s0, head, 0, 0, false, 2L * ROUNDS * (long)n, 2L * ROUNDS * (long)n, 0,
			 "%s (%s): all unpinned", what, rules);
}

static void concurrent_leaf_pins(struct mm_struct *mm, bool modern)
{
	struct page *thp = map_thps(mm, 1, "concurrent");
	unsigned long a2 = map_huge(SZ_2M, MAP_HUGE_2MB, "concurrent 2M");

	concurrent_pins(mm, thp, THP_BASE, THP_NR, modern, "one THP");
	concurrent_pins(mm, mapped_page(mm, a2, "concurrent 2M"), a2, THP_NR, modern,
			"one hugetlb 2M page");
	unmap(THP_BASE, SZ_2M, "concurrent");
	unmap(a2, SZ_2M, "concurrent 2M");
}

static void test_two_threads_pin_one_huge_page_57(void **state)
{
	concurrent_leaf_pins(*state, false);
}

static void test_two_threads_pin_one_huge_page_modern(void **state)
{
	concurrent_leaf_pins(*state, true);
}

#define huge_test(f) cmocka_unit_test_setup_teardown(f, setup_hugetlb, gup_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test(test_s6_s7_s9_s10_whole_thp),
		gup_test(test_thp_partial_range_from_the_middle),
		gup_test(test_thp_range_across_two_thps),
		gup_test(test_s8_pin_twice_unpin_once),
		gup_test(test_s11_many_plain_references_on_a_thp),
		gup_test_57(test_s12_order1_bias_order2_exact_57),
		gup_test_modern(test_s12_every_compound_order_exact_modern),
		gup_test_57(test_s12_order1_overflow_57),
		gup_test_modern(test_s12_order1_overflow_modern),
		gup_test(test_s45_pin_whole_unpin_each_subpage),
		gup_test(test_s35_dirty_lock_on_a_thp),
		gup_test(test_s50_dump_page_of_a_pinned_thp_subpage),
		huge_test(test_hugetlb_2m_exact_count_fast_and_slow),
		huge_test(test_s14_pin_all_subpages_of_a_1g_page),
		gup_test_57(test_thp_leaf_grab_per_subpage_57),
		gup_test_modern(test_thp_leaf_grab_once_per_leaf_modern),
		cmocka_unit_test_setup_teardown(test_hugetlb_leaf_grab_per_subpage_under_one_lock_57,
						setup_hugetlb_57, gup_teardown),
		cmocka_unit_test_setup_teardown(test_hugetlb_leaf_grab_once_per_leaf_modern,
						setup_hugetlb_modern, gup_teardown),
		cmocka_unit_test_setup_teardown(test_two_threads_pin_one_huge_page_57,
						setup_hugetlb_57, gup_teardown),
		cmocka_unit_test_setup_teardown(test_two_threads_pin_one_huge_page_modern,
						setup_hugetlb_modern, gup_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
