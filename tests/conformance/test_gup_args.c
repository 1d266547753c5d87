/* SPDX-License-Identifier: MIT */
/*
 * Conformance: the argument checks of the GUP entry points (mm/gup.c of v5.7), scenarios
 * 15-18, 28-30 and 37 (each test says what it checks), the 5.8 _fast_only calls (scenario 34's first half), and the
 * misuse the fixes pinmm adopts call out (FOLL_PIN without pages, unpin_user_pages with an
 * error-valued count).
 *
 * Every refused call must leave everything as it was: the return value, the WARN it should (or
 * should not) report, and then R, P, MDP, A and Rel of the page the call named, the pages array
 * (filled with a poison value that must still be there) and, where the page was never touched,
 * that it was not faulted in.
 *
 * The WARNs are WARN_ON_ONCE sites, which report only the first time in a process. So each case
 * that expects a WARN runs in a forked child (run_in_child()), where its site is still armed,
 * and the child also checks that exactly one WARN was reported in all and names the function
 * that refused.
 */
#include "gup_conformance.h"

/* What each case works on: a faulted-in page and a never-touched page next to it. */
struct args_ctx {
	struct mm_struct *mm;
	unsigned long addr;      /* faulted in, page below */
	unsigned long untouched; /* never touched */
	struct page *page;
};

static struct args_ctx ctx;

static void ctx_setup(struct mm_struct *mm)
{
	ctx.mm = mm;
	ctx.addr = map(0, PG(4), RW, ANON, "args");
	ctx.untouched = ctx.addr + PG(2);
	touch_write(ctx.addr, 2, 0x11, "args");
	ctx.page = mapped_page(mm, ctx.addr, "args");
}

/* A refused call: ret is what it returned, expect what it should; dW WARNs. */
static void expect_refused(long ret, long expect, const struct pin_state *s0, long dW,
			   struct page **pages, unsigned long n, const char *what)
{
	check_eq(ret, expect, "%s", what);
	expect_unchanged(s0, ctx.page, dW, "%s", what);
	expect_pages_untouched(pages, n, what);
	check_true(page_at(ctx.mm, ctx.untouched) == NULL,
		   "%s: the never-touched page must not be faulted in", what);
}

/*
 * One refused call. call(addr, nr, flags, pages) must return `expect` with `warns` WARNs (0 or
 * 1), touching nothing. It is tried on the faulted-in page and on the never-touched one.
 */
struct refusal {
	const char *what;
	long (*call)(unsigned long start, unsigned long nr, unsigned int flags,
		     struct page **pages);
	unsigned int flags;
	bool null_pages;
	long expect;
	long warns;
	const char *warned_in; /* the function whose WARN is expected */
};

static void run_refusal(void *arg)
{
	const struct refusal *r = arg;
	struct page *pages[2];

	for (int which = 0; which < 2; which++) {
		unsigned long start = which ? ctx.untouched : ctx.addr;
		struct pin_state s0 = pin_state_of(ctx.page);
		long ret;

		poison_pages(pages, 2);
		ret = r->call(start, 1, r->flags, r->null_pages ? NULL : pages);
		expect_refused(ret, r->expect, &s0, which ? 0 : r->warns, pages, 2,
			       scenario_text("%s (on the %s page)", r->what,
					     which ? "never-touched" : "faulted-in"));
	}
}

static const struct refusal refusals[] = {
	/* S15: FOLL_GET given to the pin_* calls. */
	{"S15: pin_user_pages(FOLL_GET)", v_pin, FOLL_GET, false, -EINVAL, 1, "pin_user_pages"},
	{"S15: pin_user_pages_remote(FOLL_GET)", v_pin_remote, FOLL_GET, false, -EINVAL, 1,
	 "pin_user_pages_remote"},
	{"S15: pin_user_pages_unlocked(FOLL_GET)", v_pin_unlocked, FOLL_GET, false, -EINVAL, 1,
	 "pin_user_pages_unlocked"},
	{"S15: pin_user_pages_fast(FOLL_GET)", v_pin_fast, FOLL_GET, false, -EINVAL, 1,
	 "pin_user_pages_fast"},
	{"S15: pin_user_pages_fast(FOLL_GET | FOLL_WRITE)", v_pin_fast, FOLL_GET | FOLL_WRITE,
	 false, -EINVAL, 1, "pin_user_pages_fast"},
	/* S16, S17: FOLL_PIN given to the get_* calls. */
	{"S16: get_user_pages(FOLL_PIN)", v_get, FOLL_PIN, false, -EINVAL, 1, "get_user_pages"},
	{"S16: get_user_pages_remote(FOLL_PIN)", v_get_remote, FOLL_PIN, false, -EINVAL, 1,
	 "get_user_pages_remote"},
	{"S16: get_user_pages_unlocked(FOLL_PIN)", v_get_unlocked, FOLL_PIN, false, -EINVAL, 1,
	 "get_user_pages_unlocked"},
	{"S17: get_user_pages_fast(FOLL_PIN)", v_get_fast, FOLL_PIN, false, -EINVAL, 1,
	 "get_user_pages_fast"},
	{"S17: get_user_pages_fast_only(FOLL_PIN) (never negative)", v_get_fast_only, FOLL_PIN,
	 false, 0, 1, "get_user_pages_fast_only"},
	/* S18: flags outside the fast path's {WRITE, LONGTERM, FORCE}. */
	{"S18: pin_user_pages_fast(FOLL_DUMP)", v_pin_fast, FOLL_DUMP, false, -EINVAL, 1,
	 "internal_get_user_pages_fast"},
	{"S18: pin_user_pages_fast(FOLL_TOUCH)", v_pin_fast, FOLL_TOUCH, false, -EINVAL, 1,
	 "internal_get_user_pages_fast"},
	{"S18: pin_user_pages_fast(FOLL_WRITE | FOLL_ANON)", v_pin_fast, FOLL_WRITE | FOLL_ANON,
	 false, -EINVAL, 1, "internal_get_user_pages_fast"},
	{"S18: pin_user_pages_fast(FOLL_SPLIT_PMD)", v_pin_fast, FOLL_SPLIT_PMD, false, -EINVAL,
	 1, "internal_get_user_pages_fast"},
	{"S18: get_user_pages_fast(FOLL_DUMP)", v_get_fast, FOLL_DUMP, false, -EINVAL, 1,
	 "internal_get_user_pages_fast"},
	{"S18: get_user_pages_fast(FOLL_NOWAIT)", v_get_fast, FOLL_NOWAIT, false, -EINVAL, 1,
	 "internal_get_user_pages_fast"},
	{"S18: pin_user_pages_fast_only(FOLL_DUMP) (never negative)", v_pin_fast_only, FOLL_DUMP,
	 false, 0, 1, "internal_get_user_pages_fast"},
	/* FOLL_PIN without a pages array (the later fix pinmm adopts). */
	{"FOLL_PIN without pages: pin_user_pages(pages NULL)", v_pin, 0, true, -EINVAL, 1,
	 "pin_user_pages"},
	{"FOLL_PIN without pages: pin_user_pages_remote(pages NULL)", v_pin_remote, 0, true,
	 -EINVAL, 1, "pin_user_pages_remote"},
	{"FOLL_PIN without pages: pin_user_pages_unlocked(pages NULL)", v_pin_unlocked, 0, true,
	 -EINVAL, 1, "pin_user_pages_unlocked"},
	{"FOLL_PIN without pages: pin_user_pages_fast(pages NULL)", v_pin_fast, 0, true, -EINVAL,
	 1, "pin_user_pages_fast"},
	{"FOLL_PIN without pages: pin_user_pages_fast_only(pages NULL)", v_pin_fast_only, 0,
	 true, 0, 1, "pin_user_pages_fast_only"},
	/* S28: FOLL_LONGTERM without pages: -EINVAL; 5.7 does not WARN for the get_ calls (the
	 * check is __gup_longterm_locked's plain "if (!pages) return -EINVAL"). */
	{"S28: get_user_pages(FOLL_LONGTERM, pages NULL)", v_get, FOLL_LONGTERM, true, -EINVAL, 0,
	 NULL},
	{"S28: get_user_pages_remote(FOLL_LONGTERM, pages NULL, locked NULL)", v_get_remote,
	 FOLL_LONGTERM, true, -EINVAL, 0, NULL},
	{"S28: pin_user_pages(FOLL_LONGTERM, pages NULL)", v_pin, FOLL_LONGTERM, true, -EINVAL, 1,
	 "pin_user_pages"},
	{"S28: pin_user_pages_remote(FOLL_LONGTERM, pages NULL, locked NULL)", v_pin_remote,
	 FOLL_LONGTERM, true, -EINVAL, 1, "pin_user_pages_remote"},
	/* S29: the _unlocked calls cannot do FOLL_LONGTERM (5.7; pin_ as 5.8's wrapper). */
	{"S29: get_user_pages_unlocked(FOLL_LONGTERM)", v_get_unlocked, FOLL_LONGTERM, false,
	 -EINVAL, 1, "get_user_pages_unlocked"},
	{"S29: pin_user_pages_unlocked(FOLL_LONGTERM)", v_pin_unlocked, FOLL_LONGTERM, false,
	 -EINVAL, 1, "pin_user_pages_unlocked"},
	/* S30: the _remote calls with FOLL_LONGTERM and a non-NULL locked. */
	{"S30: get_user_pages_remote(FOLL_LONGTERM, locked = &1)", v_get_remote_locked,
	 FOLL_LONGTERM, false, -EINVAL, 1, "get_user_pages_remote"},
	{"S30: pin_user_pages_remote(FOLL_LONGTERM, locked = &1)", v_pin_remote_locked,
	 FOLL_LONGTERM, false, -EINVAL, 1, "pin_user_pages_remote"},
	/* 5.8: pin_user_pages_fast_only() with FOLL_GET WARNs and returns 0, never negative. */
	{"S34: pin_user_pages_fast_only(FOLL_GET)", v_pin_fast_only, FOLL_GET, false, 0, 1,
	 "pin_user_pages_fast_only"},
};

#define NR_REFUSALS (sizeof(refusals) / sizeof(refusals[0]))

/* One machine and one mm for the whole group: every case leaves them as it found them, and
 * the children work on copies. */
static int args_setup(void **state)
{
	/* 5.7's argument rules; test_gup_rules.c has the ones modern rules change. */
	if (setup_mm_57(state))
		return -1;
	ctx_setup(*state);
	return 0;
}

static int args_teardown(void **state)
{
	unmap(ctx.addr, PG(4), "args teardown");
	return gup_teardown(state);
}

static void run_refusal_case(size_t i)
{
	const struct refusal *r = &refusals[i];

	if (r->warns)
		run_in_child(r->what, run_refusal, (void *)r, (unsigned long)r->warns,
			     r->warned_in);
	else
		run_refusal((void *)r); /* no WARN expected: here, where a WARN would count too */
}

#define REFUSAL_TEST(n)                                                                            \
	static void test_refusal_##n(void **state)                                                 \
	{                                                                                          \
		(void)state;                                                                       \
		for (size_t i = (n) * 8; i < (n) * 8 + 8 && i < NR_REFUSALS; i++)                  \
			run_refusal_case(i);                                                       \
	}

REFUSAL_TEST(0)
REFUSAL_TEST(1)
REFUSAL_TEST(2)
REFUSAL_TEST(3)

static void test_refusal_table_is_covered(void **state)
{
	(void)state;
	check_true(NR_REFUSALS <= 4 * 8, "the refusal table has %zu cases; add a REFUSAL_TEST",
		   NR_REFUSALS);
}

/* *locked must be 1 for the _remote calls (pinmm's rule: it never drops the lock). */
struct locked_case {
	bool pin;
	int locked;
};

static void run_bad_locked(void *arg)
{
	const struct locked_case *c = arg;
	struct mm_struct *mm = ctx.mm;
	struct pin_state s0 = pin_state_of(ctx.page);
	struct page *pages[1];
	int locked = c->locked;
	long ret;

	poison_pages(pages, 1);
	mmap_read_lock(mm);
	ret = c->pin ? pin_user_pages_remote(mm, ctx.addr, 1, 0, pages, &locked)
		     : get_user_pages_remote(mm, ctx.addr, 1, 0, pages, &locked);
	mmap_read_unlock(mm);
	expect_refused(ret, -EINVAL, &s0, 1, pages, 1,
		       scenario_text("%s_user_pages_remote(*locked = %d)", c->pin ? "pin" : "get",
				     c->locked));
	check_eq(locked, c->locked, "%s_user_pages_remote: *locked left alone",
		 c->pin ? "pin" : "get");
}

static void test_remote_with_locked_not_1(void **state)
{
	static const struct locked_case cases[] = {{false, 0}, {true, 0}, {true, 2}};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_in_child(scenario_text("_remote with *locked = %d", cases[i].locked),
			     run_bad_locked, (void *)&cases[i], 1, "*locked != 1");
}

/* ---- S37: unpin_user_pages() with an error-valued count ---- */

enum unpin_kind { UNPIN_PAGES, UNPIN_DIRTY, UNPIN_RANGE };

static void run_unpin_error_count(void *arg)
{
	enum unpin_kind kind = *(const enum unpin_kind *)arg;
	static const char *const names[] = {"unpin_user_pages", "unpin_user_pages_dirty_lock",
					    "unpin_user_page_range_dirty_lock"};
	static const long errs[] = {-EFAULT, -EINVAL, -ENOMEM, -4095};
	struct page *pages[1];
	struct pin_state s0;

	check_eq(pin_user_pages_fast(ctx.addr, 1, 0, pages), 1, "S37: the pin to release");
	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		unsigned long n = (unsigned long)errs[e];

		ClearPageDirty(ctx.page);
		s0 = pin_state_of(ctx.page);
		if (kind == UNPIN_PAGES)
			unpin_user_pages(pages, n);
		else if (kind == UNPIN_DIRTY)
			unpin_user_pages_dirty_lock(pages, n, true);
		else
			unpin_user_page_range_dirty_lock(pages[0], n, true);
		/* WARN_ON (not _ONCE): every error-valued call reports. */
		expect_unchanged(&s0, ctx.page, 1, "S37: %s(pages, (unsigned long)%ld)",
				 names[kind], errs[e]);
		check_true(!PageDirty(ctx.page), "S37: %s(%ld) must not dirty the page",
			   names[kind], errs[e]);
	}
	s0 = pin_state_of(ctx.page);
	unpin_user_pages(pages, 1);
	expect_pin_state(&s0, ctx.page, -(long)GUP_PIN_COUNTING_BIAS, 0, false, 0, 1, 0,
			 "S37: the pin is still there to release afterwards");
}

static void test_s37_unpin_with_error_valued_count(void **state)
{
	static const enum unpin_kind kinds[] = {UNPIN_PAGES, UNPIN_DIRTY, UNPIN_RANGE};

	(void)state;
	for (size_t i = 0; i < 3; i++)
		run_in_child("S37: an error-valued npages", run_unpin_error_count,
			     (void *)&kinds[i], 4, "IS_ERR_VALUE(npages)");
}

/* ---- the _fast_only calls (5.8): no fault, no fallback, never negative ---- */

static void test_s34_fast_only_never_faults(void **state)
{
	struct mm_struct *mm = ctx.mm;
	unsigned long zero_addr = ctx.addr + PG(3);
	struct page *pages[2];
	struct pin_state s0 = pin_state_of(ctx.page);
	struct pin_state z0;

	(void)state;
	touch_read(zero_addr, 1, "S34");
	z0 = pin_state_of(ZERO_PAGE(0));
	poison_pages(pages, 2);
	check_eq(pin_user_pages_fast_only(ctx.untouched, 1, 0, pages), 0,
		 "S34: pin_user_pages_fast_only on a never-touched page");
	check_eq(pin_user_pages_fast_only(ctx.untouched, 1, FOLL_WRITE, pages), 0,
		 "S34: pin_user_pages_fast_only(FOLL_WRITE) on a never-touched page");
	check_eq(get_user_pages_fast_only(ctx.untouched, 1, 0, pages), 0,
		 "S34: get_user_pages_fast_only on a never-touched page");
	check_true(page_at(mm, ctx.untouched) == NULL, "S34: _fast_only must not fault in");
	check_eq(pin_user_pages_fast_only(zero_addr, 1, 0, pages), 0,
		 "S34: pin_user_pages_fast_only on the zero page (a special PTE)");
	expect_pages_untouched(pages, 2, "S34: nothing taken");
	expect_unchanged(&s0, ctx.page, 0, "S34: the faulted-in page");
	expect_unchanged(&z0, ZERO_PAGE(0), 0, "S34: the zero page");

	/* A mapped page it can take; it stops at the first page it cannot. */
	check_eq(pin_user_pages_fast_only(ctx.addr + PG(1), 2, 0, pages), 1,
		 "S34: pin_user_pages_fast_only of a mapped page then an untouched one");
	check_true(pages[0] == page_at(mm, ctx.addr + PG(1)), "S34: the mapped page is returned");
	expect_pages_untouched(pages + 1, 1, "S34: the short count");
	unpin_user_page(pages[0]);
	check_true(page_at(mm, ctx.untouched) == NULL, "S34: still not faulted in");
}

/* compound_pincount() of a page without an exact count WARNs and reads 0 (gup.h). */
static void run_pincount_of_order0(void *arg)
{
	(void)arg;
	check_true(!hpage_pincount_available(ctx.page), "an order-0 page has no exact count");
	check_eq(compound_pincount(ctx.page), 0, "compound_pincount() of an order-0 page");
}

static void test_compound_pincount_of_order0_warns(void **state)
{
	(void)state;
	run_in_child("compound_pincount() of an order-0 page", run_pincount_of_order0, NULL, 1,
		     "compound_pincount");
}

/* The refused calls leave the machine clean: the teardown's shutdown finds no leak, and the
 * counters balance in this (parent) process. */
static void test_no_pins_outstanding(void **state)
{
	(void)state;
	check_eq(nr_acquired() - nr_released(), 0, "pins outstanding after the refusals");
	check_eq(page_ref_count(ctx.page), 1, "R of the page the refusals named");
}

#define args_test(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		args_test(test_refusal_table_is_covered),
		args_test(test_refusal_0),
		args_test(test_refusal_1),
		args_test(test_refusal_2),
		args_test(test_refusal_3),
		args_test(test_remote_with_locked_not_1),
		args_test(test_s37_unpin_with_error_valued_count),
		args_test(test_s34_fast_only_never_faults),
		args_test(test_compound_pincount_of_order0_warns),
		args_test(test_no_pins_outstanding),
	};

	return cmocka_run_group_tests(tests, args_setup, args_teardown);
}
