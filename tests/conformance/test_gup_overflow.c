/* SPDX-License-Identifier: MIT */
/*
 * Conformance: counts that would overflow, and scenario 44 (a head refcount <= 0).
 *
 * pinmm's rule (gup.h): a grab that would take the head's refcount, or
 * the exact pin count, past INT_MAX WARNs and fails; the slow path returns -ENOMEM, the fast
 * path falls back to the slow path, which returns -ENOMEM. So no count ever wraps. The
 * refusal edge is checked exactly, for the bias (order 0: 2^21 - 1 pins fit in a refcount of
 * 1, the 2^21-th does not) and for the exact count (THP). A refusal in the middle of a range
 * of subpages gives the short count, as any failure after progress does.
 *
 * The exact count's point (scenario 14's motivation): 4096 full pins of a 2 MiB THP, and
 * hundreds of full pins of a 1 GiB hugetlb page, count exactly, where the bias would have
 * wrapped a signed 32-bit refcount after 8 full pins of the 1 GiB page.
 *
 * Every case that expects a WARN runs in a forked child (the sites are WARN_ONCE). The slowest
 * variants are cut down under TSan or with PINMM_TEST_QUICK set (gup_quick()): the 2^21 real
 * one-page pins are replaced by a refcount set just below the edge, and the 1 GiB page is
 * pinned 16 times instead of 2000 (300 under ASan, gup_asan()).
 */
#include <time.h>

#include "gup_conformance.h"

#define THP_BASE 0x40000000UL
#define THP_NR 512
/* The largest refcount a bias pin still fits on: INT_MAX - 1024. */
#define BIAS_EDGE (INT_MAX - (int)GUP_PIN_COUNTING_BIAS)

struct ovf_ctx {
	unsigned long addr;
	struct page *page; /* order 0, or a THP head */
};

static struct ovf_ctx ctx;

static void setup_order0(struct mm_struct *mm)
{
	ctx.addr = map(0, PG(2), RW, ANON, "overflow");
	touch_write(ctx.addr, 1, 0x42, "overflow");
	ctx.page = mapped_page(mm, ctx.addr, "overflow");
}

static void setup_thp(struct mm_struct *mm)
{
	unsigned long size;

	ctx.addr = map(THP_BASE, SZ_2M, RW, ANON | MAP_FIXED, "overflow THP");
	touch_write(ctx.addr, 1, 0x42, "overflow THP");
	leaf_at(mm, ctx.addr, &size);
	check_eq(size, PMD_SIZE, "overflow THP: mapped by a PMD leaf");
	ctx.page = mapped_page(mm, ctx.addr, "overflow THP");
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- order 0: the bias edge ---- */

/* The refused grab, by the slow path or the fast one: -ENOMEM, dW WARNs (the site is
 * WARN_ONCE: 1 the first time in the process), nothing changed. */
static void expect_bias_refusal(bool fast, long dW, const char *what)
{
	struct page *pages[1];
	struct pin_state s0 = pin_state_of(ctx.page);

	poison_pages(pages, 1);
	check_eq(fast ? pin_user_pages_fast(ctx.addr, 1, 0, pages)
		      : pin_locked(ctx.addr, 1, 0, pages),
		 -ENOMEM, "%s: the pin that would pass INT_MAX (%s)", what,
		 fast ? "fast path, then its slow fallback" : "slow path");
	expect_unchanged(&s0, ctx.page, dW, "%s: refused pin (%s)", what, fast ? "fast" : "slow");
	expect_pages_untouched(pages, 1, what);
	/* A plain reference may still fit; it must not wrap either. */
	check_eq(page_ref_count(ctx.page), s0.R, "%s: R unchanged", what);
}

struct edge_case {
	bool fast;
};

/* R set to INT_MAX - 1024: one more pin fits exactly, the next is refused. */
static void run_bias_edge(void *arg)
{
	const struct edge_case *e = arg;
	struct page *pages[1];
	struct pin_state s0;

	set_page_count(ctx.page, BIAS_EDGE);
	s0 = pin_state_of(ctx.page);
	check_eq(e->fast ? pin_user_pages_fast(ctx.addr, 1, 0, pages)
			 : pin_locked(ctx.addr, 1, 0, pages),
		 1, "bias edge: a pin from R = INT_MAX - 1024 (%s)", e->fast ? "fast" : "slow");
	expect_pin_state(&s0, ctx.page, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
			 "bias edge: the last pin that fits takes R to INT_MAX");
	check_eq(page_ref_count(ctx.page), INT_MAX, "bias edge: R after the last pin");
	expect_bias_refusal(e->fast, 1, "bias edge");
	expect_bias_refusal(!e->fast, 0, "bias edge, the other path");
	unpin_user_page(pages[0]);
	expect_pin_state(&s0, ctx.page, 0, 0, true, 1, 1, 1, "bias edge: the last pin released");
	set_page_count(ctx.page, 1);
}

static void test_bias_edge_slow_and_fast(void **state)
{
	static const struct edge_case slow = {false}, fast = {true};

	setup_order0(*state);
	run_in_child("bias edge, slow path", run_bias_edge, (void *)&slow, 1,
		     "refusing to grab page");
	run_in_child("bias edge, fast path", run_bias_edge, (void *)&fast, 1,
		     "refusing to grab page");
	check_eq(page_ref_count(ctx.page), 1, "bias edge: the parent's page is untouched");
	unmap(ctx.addr, PG(2), "bias edge");
}

/* 2^21 - 1 real pins of one 4 KiB page fit (R = 1 + 1024 * (2^21 - 1) = INT_MAX - 1022); the
 * 2^21-th is refused; unpinning them all brings R and the counters back. */
static void run_bias_full(void *arg)
{
	const long max_pins = (1L << 21) - 1;
	struct pin_state s0 = pin_state_of(ctx.page);
	struct page *pages[1];
	struct timespec t0;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < max_pins; i++)
		if (pin_user_pages_fast(ctx.addr, 1, 0, pages) != 1 || pages[0] != ctx.page)
			gup_fail("bias, 2^21 pins: pin number %ld of one page failed (R %d)", i + 1,
				 page_ref_count(ctx.page));
	expect_pin_state(&s0, ctx.page, max_pins * GUP_PIN_COUNTING_BIAS, 0, true, max_pins, 0,
			 0, "bias: 2^21 - 1 pins of one 4 KiB page");
	check_eq(page_ref_count(ctx.page), INT_MAX - 1022, "bias: R after 2^21 - 1 pins");
	expect_bias_refusal(true, 1, "bias: the 2^21-th pin");
	expect_bias_refusal(false, 0, "bias: the 2^21-th pin, again by the slow path");
	for (long i = 0; i < max_pins; i++)
		unpin_user_page(ctx.page);
	expect_pin_state(&s0, ctx.page, 0, 0, false, max_pins, max_pins, 1,
			 "bias: all 2^21 - 1 pins released");
	print_message("      2^21 pins and unpins of one page: %.2f s\n", seconds_since(&t0));
}

static void test_bias_2_to_the_21_pins(void **state)
{
	setup_order0(*state);
	if (gup_quick()) {
		print_message("      (quick run: the refusal edge is checked by "
			      "test_bias_edge_slow_and_fast only)\n");
		skip();
	}
	run_in_child("2^21 pins of one 4 KiB page", run_bias_full, NULL, 1,
		     "refusing to grab page");
	unmap(ctx.addr, PG(2), "bias 2^21");
}

/* ---- scenario 44: a head refcount <= 0 is never grabbed ---- */

struct bad_count {
	int count;
	bool fast;
	bool get;
};

static void run_bad_count(void *arg)
{
	const struct bad_count *b = arg;
	struct page *pages[1];
	struct pin_state s0;
	long ret;

	set_page_count(ctx.page, b->count);
	s0 = pin_state_of(ctx.page);
	poison_pages(pages, 1);
	if (b->get)
		ret = b->fast ? get_user_pages_fast(ctx.addr, 1, 0, pages)
			      : get_locked(ctx.addr, 1, 0, pages);
	else
		ret = b->fast ? pin_user_pages_fast(ctx.addr, 1, 0, pages)
			      : pin_locked(ctx.addr, 1, 0, pages);
	check_eq(ret, -ENOMEM, "S44: %s_user_pages%s of a page whose R is %d",
		 b->get ? "get" : "pin", b->fast ? "_fast" : "", b->count);
	expect_unchanged(&s0, ctx.page, 1, "S44: %s%s of a page whose R is %d",
			 b->get ? "get" : "pin", b->fast ? "_fast" : "", b->count);
	expect_pages_untouched(pages, 1, "S44");
}

static void test_s44_refcount_zero_or_negative(void **state)
{
	static const struct bad_count cases[] = {
		{0, false, false}, {0, true, false}, {-5, false, false},
		{-5, true, false}, {0, false, true}, {INT_MIN, true, true},
	};

	setup_order0(*state);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_in_child(scenario_text("S44: R = %d, %s%s", cases[i].count,
					   cases[i].get ? "get" : "pin",
					   cases[i].fast ? ", fast" : ""),
			     run_bad_count, (void *)&cases[i], 1, "refusing to grab page");
	check_eq(page_ref_count(ctx.page), 1, "S44: the parent's page is untouched");
	unmap(ctx.addr, PG(2), "S44");
}

/* ---- the exact count (THP) ---- */

/* 4096 full pins of a THP: P = 4096 * 512 = 2^21 exactly; all released, all back. */
static void test_thp_4096_full_pins(void **state)
{
	struct page **pages = malloc(sizeof(*pages) * THP_NR);
	struct pin_state s0;
	struct timespec t0;

	assert_non_null(pages);
	setup_thp(*state);
	s0 = pin_state_of(ctx.page);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 4096; i++)
		if (pin_user_pages_fast(THP_BASE, THP_NR, 0, pages) != THP_NR)
			gup_fail("THP: full pin number %d failed (R %d, P %d)", i + 1,
				 page_ref_count(ctx.page), compound_pincount(ctx.page));
	expect_pin_state(&s0, ctx.page, 4096L * THP_NR, 4096L * THP_NR, true, 4096L * THP_NR, 0, 0,
			 "THP: 4096 full pins of 512 subpages");
	check_eq(compound_pincount(ctx.page), 1 << 21, "THP: P after 4096 full pins");
	for (int i = 0; i < 4096; i++)
		unpin_user_pages(pages, THP_NR);
	expect_pin_state(&s0, ctx.page, 0, 0, false, 4096L * THP_NR, 4096L * THP_NR, 0,
			 "THP: 4096 full pins released");
	print_message("      4096 full pins of a THP and their release: %.2f s\n",
		      seconds_since(&t0));
	free(pages);
	unmap(THP_BASE, SZ_2M, "THP 4096");
}

struct thp_edge {
	bool pincount; /* push P to the edge, else R */
	int room;      /* how many more subpage pins fit */
};

/*
 * P (or R) set so that `room` more subpage pins fit. A fast pin of all 512 subpages: if they
 * fit, it succeeds; otherwise the fast path's one grab of 512 is refused (a WARN) and the slow
 * fallback, grabbing subpage by subpage, stops after `room`: the short count (-ENOMEM when
 * room is 0). Then a pin of one more subpage, fast or slow, is refused outright: -ENOMEM,
 * nothing changed. One WARN in all.
 */
static void run_thp_edge(void *arg)
{
	const struct thp_edge *e = arg;
	struct page **pages = malloc(sizeof(*pages) * THP_NR);
	const char *which = e->pincount ? "P" : "R";
	struct pin_state s0;
	long ret;

	if (!pages)
		gup_fail("malloc");
	if (e->pincount)
		atomic_store(pincount_slot(ctx.page), INT_MAX - e->room);
	else
		set_page_count(ctx.page, INT_MAX - e->room);
	s0 = pin_state_of(ctx.page);
	poison_pages(pages, THP_NR);
	ret = pin_user_pages_fast(THP_BASE, THP_NR, 0, pages);
	check_eq(ret, e->room ? e->room : -ENOMEM,
		 "THP %s edge: pin_user_pages_fast of 512 subpages with room for %d", which,
		 e->room);
	/* Entries past the count are not checked: like Linux's record_subpages(), the fast
	 * path fills them in before its grab of the leaf is refused. */
	for (int i = 0; i < e->room; i++)
		check_true(pages[i] == ctx.page + i, "THP %s edge: pages[%d]", which, i);
	expect_pin_state(&s0, ctx.page, e->room, e->room, e->pincount || e->room > 0, e->room, 0,
			 e->room < THP_NR, "THP %s edge: %d subpages pinned, the rest refused",
			 which, e->room);
	check_eq(e->pincount ? compound_pincount(ctx.page) : page_ref_count(ctx.page), INT_MAX,
		 "THP %s edge: %s reaches INT_MAX exactly", which, which);
	{
		struct pin_state s1 = pin_state_of(ctx.page);
		struct page *one[1];

		check_eq(pin_user_pages_fast(THP_BASE + PG(300), 1, 0, one), -ENOMEM,
			 "THP %s edge: one more subpage (fast)", which);
		poison_pages(one, 1);
		check_eq(pin_locked(THP_BASE + PG(300), 1, 0, one), -ENOMEM,
			 "THP %s edge: one more subpage (slow)", which);
		expect_unchanged(&s1, ctx.page, e->room == THP_NR,
				 "THP %s edge: refused pins at INT_MAX", which);
		expect_pages_untouched(one, 1, "THP edge: refused");
	}
	if (e->room > 0)
		unpin_user_pages(pages, (unsigned long)e->room);
	expect_pin_state(&s0, ctx.page, 0, 0, e->pincount, e->room, e->room, 1,
			 "THP %s edge: the pins that fitted released", which);
	free(pages);
}

static void test_thp_exact_count_edges(void **state)
{
	static const struct thp_edge cases[] = {
		{true, THP_NR}, {true, 100}, {true, 0}, {false, THP_NR}, {false, 37}, {false, 0},
	};

	setup_thp(*state);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_in_child(scenario_text("THP %s edge with room for %d",
					   cases[i].pincount ? "P" : "R", cases[i].room),
			     run_thp_edge, (void *)&cases[i], 1,
			     cases[i].pincount ? "pincount would overflow"
					       : "refusing to grab page");
	check_eq(page_ref_count(ctx.page), 1, "THP edges: the parent's THP is untouched");
	check_eq(compound_pincount(ctx.page), 0, "THP edges: the parent's P is untouched");
	unmap(THP_BASE, SZ_2M, "THP edges");
}

/* ---- the exact count of a 1 GiB page never wraps ---- */

static int setup_1g(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_1g = 1;
	return gup_setup_with(state, &cfg);
}

static void test_1g_page_pinned_hundreds_of_times(void **state)
{
	struct mm_struct *mm = *state;
	const long nr = 1L << 18;
	const int full_pins = gup_quick() ? 16 : gup_asan() ? 300 : 2000;
	struct page **pages = malloc(sizeof(*pages) * (size_t)nr);
	unsigned long addr = map(0, SZ_1G, RW, ANON | MAP_HUGETLB | MAP_HUGE_1GB, "1 GiB");
	struct pin_state s0;
	struct page *head;
	struct timespec t0;

	assert_non_null(pages);
	touch_write(addr, 1, 1, "1 GiB");
	head = mapped_page(mm, addr, "1 GiB");
	s0 = pin_state_of(head);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < full_pins; i++) {
		if (pin_user_pages_fast(addr, (int)nr, 0, pages) != nr)
			gup_fail("1 GiB: full pin number %d failed (R %d, P %d)", i + 1,
				 page_ref_count(head), compound_pincount(head));
		if (i == 7)
			/* With the bias, these 8 pins would be 8 * 2^18 * 1024 = 2^31: wrapped. */
			expect_pin_state(&s0, head, 8 * nr, 8 * nr, true, 8 * nr, 0, 0,
					 "1 GiB: 8 full pins, exact (the bias would have wrapped)");
	}
	expect_pin_state(&s0, head, full_pins * nr, full_pins * nr, true, full_pins * nr, 0, 0,
			 "1 GiB: %d full pins of 262144 subpages", full_pins);
	check_true(page_ref_count(head) > 0, "1 GiB: R stays positive");
	for (int i = 0; i < full_pins; i++)
		unpin_user_pages(pages, (unsigned long)nr);
	expect_pin_state(&s0, head, 0, 0, false, full_pins * nr, full_pins * nr, 0,
			 "1 GiB: %d full pins released", full_pins);
	print_message("      %d full pins of a 1 GiB page and their release: %.2f s\n", full_pins,
		      seconds_since(&t0));
	free(pages);
	unmap(addr, SZ_1G, "1 GiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test(test_bias_edge_slow_and_fast),
		gup_test(test_bias_2_to_the_21_pins),
		gup_test(test_s44_refcount_zero_or_negative),
		gup_test(test_thp_4096_full_pins),
		gup_test(test_thp_exact_count_edges),
		cmocka_unit_test_setup_teardown(test_1g_page_pinned_hundreds_of_times, setup_1g,
						gup_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
