/* SPDX-License-Identifier: MIT */
/*
 * Conformance: the GUP entry points' argument rules that differ between the rule sets, each
 * case run on a machine booted with each rule set explicitly.
 *
 * - FOLL_LONGTERM requires FOLL_PIN under modern rules (Linux 6.3, is_valid_gup_args()):
 *   get_user_pages(), get_user_pages_remote(), get_user_pages_fast() and
 *   get_user_pages_fast_only() refuse it with a WARN and -EINVAL; 5.7 takes long-term
 *   references. pin_* with FOLL_LONGTERM works under both.
 * - get_user_pages_fast_only() returns errors under modern rules (6.3), 0 under 5.7's
 *   never-negative contract (5.8): refused arguments, a range beyond the user address space.
 * - What pin_user_pages(), pin_user_pages_remote() and pin_user_pages_unlocked() return for
 *   arguments they refuse (FOLL_GET, no pages array, *locked != 1): 5.7 -EINVAL, modern 0
 *   (Linux 6.3 on); a WARN and nothing pinned under both. pin_user_pages_fast() keeps -EINVAL.
 * - FOLL_LONGTERM in pin_user_pages_unlocked() and in pin_user_pages_remote() with a locked
 *   argument: 5.7 refuses it (WARN, -EINVAL), modern pins (6.3).
 *
 * Every case that expects a WARN runs in a forked child (the checks are WARN_ON_ONCE sites),
 * on a faulted-in page and then on a never-touched one, which a refused call must not fault in.
 * A call that succeeds is released and must leave the page as it found it.
 */
#include "gup_conformance.h"

struct rules_ctx {
	unsigned long addr;      /* faulted in, page below */
	unsigned long untouched; /* never touched */
	struct page *page;
};

static struct rules_ctx ctx;

enum { R57, RMODERN };

/* One call and what it gives under each rule set: a page (1, released afterwards) or a refusal
 * (expect <= 0) with `warns` WARNs from warned_in. */
struct rule_case {
	const char *what;
	long (*call)(unsigned long start, unsigned long nr, unsigned int flags,
		     struct page **pages);
	bool pin;
	unsigned int flags;
	bool null_pages;
	long expect[2];
	long warns[2];
	const char *warned_in;
};

static long v_pin_remote_locked_0(unsigned long s, unsigned long n, unsigned int f,
				  struct page **p)
{
	struct mm_struct *mm = current_mm();
	int locked = 0;
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages_remote(mm, s, n, f, p, &locked);
	mmap_read_unlock(mm);
	if (locked != 0)
		gup_fail("pin_user_pages_remote(*locked = 0) changed *locked to %d", locked);
	return ret;
}

static const struct rule_case cases[] = {
	/* FOLL_LONGTERM without FOLL_PIN. */
	{"get_user_pages(FOLL_LONGTERM)", v_get, false, FOLL_LONGTERM, false, {1, -EINVAL},
	 {0, 1}, "get_user_pages"},
	{"get_user_pages(FOLL_LONGTERM | FOLL_WRITE)", v_get, false, FOLL_LONGTERM | FOLL_WRITE,
	 false, {1, -EINVAL}, {0, 1}, "get_user_pages"},
	{"get_user_pages_remote(FOLL_LONGTERM, locked NULL)", v_get_remote, false, FOLL_LONGTERM,
	 false, {1, -EINVAL}, {0, 1}, "get_user_pages_remote"},
	{"get_user_pages_fast(FOLL_LONGTERM)", v_get_fast, false, FOLL_LONGTERM, false,
	 {1, -EINVAL}, {0, 1}, "get_user_pages_fast"},
	{"get_user_pages_fast_only(FOLL_LONGTERM)", v_get_fast_only, false, FOLL_LONGTERM, false,
	 {1, -EINVAL}, {0, 1}, "get_user_pages_fast_only"},
	/* FOLL_LONGTERM with FOLL_PIN: the same under both. */
	{"pin_user_pages(FOLL_LONGTERM)", v_pin, true, FOLL_LONGTERM, false, {1, 1}, {0, 0},
	 NULL},
	{"pin_user_pages_fast(FOLL_LONGTERM)", v_pin_fast, true, FOLL_LONGTERM, false, {1, 1},
	 {0, 0}, NULL},
	/* FOLL_LONGTERM where 5.7 feared a dropped lock: refused by 5.7, a pin since 6.3. */
	{"pin_user_pages_unlocked(FOLL_LONGTERM)", v_pin_unlocked, true, FOLL_LONGTERM, false,
	 {-EINVAL, 1}, {1, 0}, "pin_user_pages_unlocked"},
	{"pin_user_pages_remote(FOLL_LONGTERM, locked = &1)", v_pin_remote_locked, true,
	 FOLL_LONGTERM, false, {-EINVAL, 1}, {1, 0}, "pin_user_pages_remote"},
	/* The pin_ calls' refusals: -EINVAL (5.7), 0 (modern). */
	{"pin_user_pages(FOLL_GET)", v_pin, true, FOLL_GET, false, {-EINVAL, 0}, {1, 1},
	 "pin_user_pages"},
	{"pin_user_pages(pages NULL)", v_pin, true, 0, true, {-EINVAL, 0}, {1, 1},
	 "pin_user_pages"},
	{"pin_user_pages_remote(FOLL_GET)", v_pin_remote, true, FOLL_GET, false, {-EINVAL, 0},
	 {1, 1}, "pin_user_pages_remote"},
	{"pin_user_pages_remote(pages NULL)", v_pin_remote, true, 0, true, {-EINVAL, 0}, {1, 1},
	 "pin_user_pages_remote"},
	{"pin_user_pages_remote(*locked = 0)", v_pin_remote_locked_0, true, 0, false,
	 {-EINVAL, 0}, {1, 1}, "*locked != 1"},
	{"pin_user_pages_unlocked(FOLL_GET)", v_pin_unlocked, true, FOLL_GET, false,
	 {-EINVAL, 0}, {1, 1}, "pin_user_pages_unlocked"},
	{"pin_user_pages_unlocked(pages NULL)", v_pin_unlocked, true, 0, true, {-EINVAL, 0},
	 {1, 1}, "pin_user_pages_unlocked"},
	/* pin_user_pages_fast() returns -EINVAL under both. */
	{"pin_user_pages_fast(FOLL_GET)", v_pin_fast, true, FOLL_GET, false, {-EINVAL, -EINVAL},
	 {1, 1}, "pin_user_pages_fast"},
	{"pin_user_pages_fast(pages NULL)", v_pin_fast, true, 0, true, {-EINVAL, -EINVAL},
	 {1, 1}, "pin_user_pages_fast"},
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

static int rules_of_this_machine(void)
{
	return pinmm_rules() == PINMM_RULES_MODERN ? RMODERN : R57;
}

static void run_case(void *arg)
{
	const struct rule_case *c = arg;
	int r = rules_of_this_machine();
	const char *rules = r == RMODERN ? "modern" : "5.7";

	for (int which = 0; which < 2; which++) {
		unsigned long start = which ? ctx.untouched : ctx.addr;
		struct pin_state s0 = pin_state_of(ctx.page);
		struct page *pages[2];
		char what[256];
		long ret;

		snprintf(what, sizeof(what), "%s rules: %s (on the %s page)", rules, c->what,
			 which ? "never-touched" : "faulted-in");
		if (c->expect[r] > 0 && which)
			break; /* a call that works would fault the untouched page in: not a refusal */
		poison_pages(pages, 2);
		ret = c->call(start, 1, c->flags, c->null_pages ? NULL : pages);
		check_eq(ret, c->expect[r], "%s", what);
		if (ret > 0) {
			check_true(pages[0] == ctx.page, "%s: pages[0] is the page mapped there", what);
			expect_pin_state(&s0, ctx.page, c->pin ? GUP_PIN_COUNTING_BIAS : 1, 0, c->pin,
					 c->pin, 0, 0, "%s: the page taken", what);
			if (c->pin)
				unpin_user_page(pages[0]);
			else
				put_page(pages[0]);
			expect_pin_state(&s0, ctx.page, 0, 0, false, c->pin, c->pin, 0,
					 "%s: the page after its release", what);
		} else {
			expect_unchanged(&s0, ctx.page, which ? 0 : c->warns[r], "%s", what);
			expect_pages_untouched(pages, 2, what);
		}
		expect_pages_untouched(pages + 1, 1, what);
		check_true(page_at(current_mm(), ctx.untouched) == NULL,
			   "%s: the never-touched page must not be faulted in", what);
	}
}

static void run_all_cases(struct mm_struct *mm, enum pinmm_rules want)
{
	check_eq(pinmm_rules(), want, "the machine's rule set (booted explicitly)");
	ctx.addr = map(0, PG(4), RW, ANON, "rules");
	ctx.untouched = ctx.addr + PG(2);
	touch_write(ctx.addr, 2, 0x12, "rules");
	{
		/* Under modern rules a long-term pin first migrates a ZONE_MOVABLE page out
		 * (tests/conformance/test_gup_longterm.c); one such pin here puts the page where
		 * the long-term cases below pin it in place, as under 5.7. */
		struct page *lt;

		check_eq(pin_user_pages_fast(ctx.addr, 1, FOLL_LONGTERM, &lt), 1,
			 "rules: the long-term pin that places the page");
		unpin_user_page(lt);
	}
	ctx.page = mapped_page(mm, ctx.addr, "rules");
	for (size_t i = 0; i < NR_CASES; i++) {
		const struct rule_case *c = &cases[i];
		long warns = c->warns[rules_of_this_machine()];

		if (warns)
			run_in_child(c->what, run_case, (void *)c, (unsigned long)warns,
				     c->warned_in);
		else
			run_case((void *)c); /* no WARN expected: here, where a WARN would count */
	}
	check_eq(nr_acquired() - nr_released(), 0, "pins outstanding after the cases");
	check_eq(page_ref_count(ctx.page), 1, "R of the page the cases named");
	unmap(ctx.addr, PG(4), "rules");
}

/* A range the fast walk cannot take at all: past the user address space. */
static void fast_only_beyond_user_space(enum pinmm_rules want)
{
	struct page *pages[2];
	int ret;

	check_eq(pinmm_rules(), want, "the machine's rule set (booted explicitly)");
	poison_pages(pages, 2);
	ret = get_user_pages_fast_only(TASK_SIZE, 1, 0, pages);
	check_eq(ret, want == PINMM_RULES_MODERN ? -EFAULT : 0,
		 "%s rules: get_user_pages_fast_only(TASK_SIZE)",
		 want == PINMM_RULES_MODERN ? "modern" : "5.7");
	expect_pages_untouched(pages, 2, "get_user_pages_fast_only(TASK_SIZE)");
}

static void test_gup_argument_rules_57(void **state)
{
	run_all_cases(*state, PINMM_RULES_5_7);
	fast_only_beyond_user_space(PINMM_RULES_5_7);
}

static void test_gup_argument_rules_modern(void **state)
{
	run_all_cases(*state, PINMM_RULES_MODERN);
	fast_only_beyond_user_space(PINMM_RULES_MODERN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test_57(test_gup_argument_rules_57),
		gup_test_modern(test_gup_argument_rules_modern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
