/* SPDX-License-Identifier: MIT */
/*
 * <pinmm/inject.h>: registering hooks, the patterns they match, and fault injection by count
 * (one-shot and persistent), by probability with a seed, by site and with a limit, seen
 * through the library's real allocation sites (alloc_page() is "alloc:pages", mm_alloc()
 * "alloc:kmalloc" then "alloc:pgtable").
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_mm_util.h"

#define NR_TRIES 64

static char seen[16][64];
static int nr_seen;

static void record(const char *point, void *arg)
{
	(void)arg;
	if (nr_seen < 16)
		snprintf(seen[nr_seen++], sizeof(seen[0]), "%s", point);
}

static int teardown_inject(void **state)
{
	pinmm_hook_clear_all();
	nr_seen = 0;
	return shutdown_clean(state);
}

#define inject_test(f) cmocka_unit_test_setup_teardown(f, boot_default, teardown_inject)

/* alloc_page() NR_TRIES times; bit i of the result is set when try i failed. */
static unsigned long long alloc_pattern(void)
{
	unsigned long long failed = 0;

	for (int i = 0; i < NR_TRIES; i++) {
		struct page *page = alloc_page(GFP_KERNEL);

		if (page)
			__free_page(page);
		else
			failed |= 1ULL << i;
	}
	return failed;
}

static void test_hook_set_errors(void **state)
{
	char name[80];

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	check_eq(pinmm_hook_set(NULL, record, NULL), -EINVAL, "a NULL pattern");
	check_eq(pinmm_hook_set("", record, NULL), -EINVAL, "an empty pattern");
	check_eq(pinmm_hook_set(name, record, NULL), -EINVAL, "a 79-character pattern");
	check_eq(pinmm_hook_set("alloc:pages", NULL, NULL), -ENOENT,
		 "removing a pattern never registered");
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "x:%d", i);
		check_eq(pinmm_hook_set(name, record, NULL), 0, "hook %d of 16", i);
	}
	check_eq(pinmm_hook_set("x:16", record, NULL), -ENOSPC, "a 17th hook");
	check_eq(pinmm_hook_set("x:3", record, NULL), 0, "replacing a registered pattern");
	check_eq(pinmm_hook_set("x:3", NULL, NULL), 0, "removing it");
	check_eq(pinmm_hook_set("x:16", record, NULL), 0, "room again for one more");
}

static void test_hooks_match_exactly_or_by_prefix(void **state)
{
	struct page *page;
	struct mm_struct *mm;

	(void)state;
	check_eq(pinmm_hook_set("alloc:pages", record, NULL), 0, "exact");
	page = alloc_page(GFP_KERNEL);
	assert_non_null(page);
	__free_page(page);
	check_eq(nr_seen, 1, "alloc_page() reaches \"alloc:pages\" once");
	check_true(strcmp(seen[0], "alloc:pages") == 0, "the hook is told its point (got %s)",
		   seen[0]);
	nr_seen = 0;
	check_eq(pinmm_hook_set("alloc:*", record, NULL), 0, "prefix");
	mm = mm_alloc();
	assert_non_null(mm);
	mmput(mm);
	/* mm_alloc(): the struct, then the PGD (pgtable, then its page); the exact pattern for
	 * "alloc:pages" fires too. */
	check_eq(nr_seen, 4, "mm_alloc() reaches four sites through two hooks");
	check_true(strcmp(seen[0], "alloc:kmalloc") == 0 && strcmp(seen[1], "alloc:pgtable") == 0,
		   "in allocation order (got %s, %s)", seen[0], seen[1]);
	pinmm_hook_clear_all();
	nr_seen = 0;
	page = alloc_page(GFP_KERNEL);
	__free_page(page);
	check_eq(nr_seen, 0, "nothing runs after pinmm_hook_clear_all()");
}

static void test_fail_set_errors(void **state)
{
	(void)state;
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){0}), -EINVAL,
		 "neither a count nor a probability");
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){.probability = 1000001}), -EINVAL,
		 "a probability over a million");
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){.nth = 1, .sites = ""}), -EINVAL,
		 "an empty site pattern");
	check_eq(pinmm_fail_set(NULL), 0, "disarming when nothing is armed");
	check_eq(alloc_pattern(), 0, "nothing fails when disarmed");
}

static void test_fail_nth_once(void **state)
{
	unsigned long injected = pinmm_fail_injected();

	(void)state;
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){.nth = 3, .times = 1}), 0, "arm");
	check_eq(alloc_pattern(), 1ULL << 2, "only the third allocation fails");
	check_eq(pinmm_fail_injected() - injected, 1, "one failure injected");
	check_eq(pinmm_fail_calls(), 3, "counting stops once times is reached (disarmed)");
}

static void test_fail_nth_without_limit_fails_once(void **state)
{
	(void)state;
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){.nth = 5}), 0, "arm");
	check_eq(alloc_pattern(), 1ULL << 4, "the fifth fails; no later call is the fifth");
	check_eq(pinmm_fail_calls(), NR_TRIES, "every call counted");
}

static void test_fail_persistent(void **state)
{
	(void)state;
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){.nth = 4, .persistent = true}), 0, "arm");
	check_eq(alloc_pattern(), ~0ULL << 3, "the fourth and every later allocation fail");
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){.nth = 4, .persistent = true,
							  .times = 2}), 0, "arm, two at most");
	check_eq(alloc_pattern(), 3ULL << 3, "the fourth and fifth fail, then it disarms");
}

static void test_fail_probability_is_seeded(void **state)
{
	struct pinmm_fail_attr attr = {.probability = 500000, .seed = 42};
	unsigned long long a, b, c;
	int n = 0;

	(void)state;
	check_eq(pinmm_fail_set(&attr), 0, "arm 1");
	a = alloc_pattern();
	check_eq(pinmm_fail_set(&attr), 0, "arm 2, same seed");
	b = alloc_pattern();
	attr.seed = 43;
	check_eq(pinmm_fail_set(&attr), 0, "arm 3, another seed");
	c = alloc_pattern();
	check_true(a == b, "the same seed fails the same calls (%#llx, %#llx)", a, b);
	check_true(a != c, "another seed fails others");
	for (int i = 0; i < NR_TRIES; i++)
		n += (a >> i) & 1;
	check_true(n > NR_TRIES / 4 && n < 3 * NR_TRIES / 4,
		   "about half of %d calls fail at 50%% (%d did)", NR_TRIES, n);
	attr = (struct pinmm_fail_attr){.probability = 1000000};
	check_eq(pinmm_fail_set(&attr), 0, "arm, always");
	check_eq(alloc_pattern(), ~0ULL, "a million per million fails every call");
}

static void test_fail_only_matching_sites(void **state)
{
	struct mm_struct *mm;

	(void)state;
	check_eq(pinmm_fail_set(&(struct pinmm_fail_attr){.sites = "alloc:pgtable", .nth = 1}), 0,
		 "arm on page tables only");
	check_eq(alloc_pattern(), 0, "alloc_page() is not a page-table site");
	check_eq(pinmm_fail_calls(), 0, "and is not counted");
	mm = mm_alloc();
	check_true(mm == NULL, "mm_alloc() fails when its PGD cannot be allocated");
	check_eq(pinmm_fail_calls(), 1, "one page-table allocation counted");
	mm = mm_alloc();
	check_true(mm != NULL, "the next one works");
	mmput(mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		inject_test(test_hook_set_errors),
		inject_test(test_hooks_match_exactly_or_by_prefix),
		inject_test(test_fail_set_errors),
		inject_test(test_fail_nth_once),
		inject_test(test_fail_nth_without_limit_fails_once),
		inject_test(test_fail_persistent),
		inject_test(test_fail_probability_is_seeded),
		inject_test(test_fail_only_matching_sites),
	};

	if (pinmm_fail_set(NULL) == -EOPNOTSUPP) {
		printf("test_inject: skipped, the library is built without its points (HOOKS=0)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
