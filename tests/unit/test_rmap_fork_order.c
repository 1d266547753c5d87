/* SPDX-License-Identifier: MIT */
/*
 * The order of a reverse-map walk against fork: an anon_vma's VMAs are walked oldest first, so
 * a try_to_unmap() that runs while fork copies the page tables finds each page either in the
 * parent (before fork copies it: the child never gets it) or in the child (after). Walking the
 * child first, it could look at the child before the copy and at the parent after it, and leave
 * the child mapping the page.
 *
 * Made deterministic with two race points: fork stops once the child's VMA is linked
 * ("fork:vma_linked") until the walk has visited its first VMA ("rmap:anon_vma_visited"), and
 * the walk waits there for fork to finish. Found as the flaky
 * test_thp.c:test_split_pmd_by_rmap_vs_fork (about one run in ten), at 8e9ed46.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "test_mm_util.h"
#include "test_race.h"

struct fork_race {
	struct mm_struct *mm, *child;
	struct race_pair pair; /* fork:vma_linked, then rmap:anon_vma_visited */
};

static void *forker(void *arg)
{
	struct fork_race *r = arg;

	r->child = pinmm_fork(r->mm);
	atomic_store(&r->pair.done, 1);
	return NULL;
}

static void test_try_to_unmap_vs_fork_finds_every_copy(void **state)
{
	struct mm_struct *mm = *state;
	struct fork_race r = {.mm = mm};
	unsigned long a = map(0, PG(1), RW, ANON, "page");
	struct page *page;
	pthread_t t;
	bool unmapped;

	put_word(a, 0xf0f0, "page");
	page = page_at(mm, a);
	race_pair_reset(&r.pair, 1000);
	if (pinmm_hook_set("fork:vma_linked", race_pair_at_first, &r.pair) == -EOPNOTSUPP) {
		skip(); /* built with HOOKS=0 */
		return;
	}
	assert_int_equal(pinmm_hook_set("rmap:anon_vma_visited", race_pair_at_second, &r.pair), 0);
	assert_int_equal(pthread_create(&t, NULL, forker, &r), 0);
	check_true(wait_flag(&r.pair.at_first, 1000), "fork linked the child's VMA");
	get_page(page);
	lock_page(page);
	unmapped = try_to_unmap(page);
	unlock_page(page);
	pthread_join(t, NULL);
	pinmm_hook_clear_all();
	assert_false(IS_ERR_OR_NULL(r.child));
	check_true(unmapped, "try_to_unmap() during fork reports the page unmapped");
	check_eq(page_mapcount(page), 0, "mapcount of the page after try_to_unmap during fork");
	expect_level(r.child, a, LEAF_NONE, "the child's address");
	expect_level(mm, a, LEAF_NONE, "the parent's address");
	check_eq(rss_anon(r.child), 0, "the child's rss");
	put_page(page);
	mmput(r.child);
	unmap(a, PG(1), "page");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_try_to_unmap_vs_fork_finds_every_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
