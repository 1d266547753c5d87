/* SPDX-License-Identifier: MIT */
/*
 * MADV_COLLAPSE against GUP-fast pins, with no hook forcing the order: two pinner threads pin
 * and unpin random pages of a 2 MiB block with pin_user_pages_fast() while the main thread
 * collapses the block and splits the THP again (mprotect of one page and back: a PTE-mapped
 * THP for the next collapse to copy). A few pages are zapped before the threads start, for the
 * first collapse to fill with zeros. Each collapse returns 0 or -EAGAIN (a pin was counted).
 * Yield hooks on the fast walk's window (between reading a PTE and grabbing its page) and on
 * collapse's race points make the interesting orders likelier.
 *
 * While it holds a pin, a pinner checks that the page is live, pinned (the zero page is not,
 * under modern rules), holds the tag written for its address before the threads started (zero
 * for a zapped page), and, after a yield, is still mapped: nothing in this test unmaps a page,
 * so a pinned page that lost its mapping was collapsed away under the pin, where a device's
 * writes would be lost. Without the wait for lockless walks in collapse
 * (tlb_remove_table_sync_one()) a 3-second run (`make check-stress DURATION=3`) finds such
 * pages; the brief run is too short to count on it, which is why test_collapse forces that
 * order with hooks. Only the setup writes page
 * contents, before the pinners start, so the test itself has no data race.
 *
 * The run fails unless a collapse succeeded and pins were taken, and it ends with the pins
 * balanced, every tag in place, pinmm_check_invariants() clean with the block mapped and after
 * it is unmapped, and shutdown clean.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include "test_mm_util.h"
#include "test_stress.h"

#define BASE 0x40000000UL
#define NPAGES 512u
#define TAG 0x7a6e0000UL
#define ROUNDS 60
#define PINNERS 2
/* Pages left empty before the pinners start: the first collapse fills them with zeros. */
#define ZAPPED(i) ((i) % 61 == 7)

struct shared {
	struct mm_struct *mm;
	atomic_bool stop;
	atomic_long pins, bad, unmapped;
};

/* A zapped page read before a collapse refills it is the shared zero page, which modern rules
 * hand out without a pin (6.5, c8070b787519). */
static bool pinned_as_the_rules_say(struct page *page)
{
	if (is_zero_pfn(page_to_pfn(page)) && pinmm_rules() == PINMM_RULES_MODERN)
		return !page_maybe_dma_pinned(page);
	return page_maybe_dma_pinned(page);
}

static void *pinner(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;

	kthread_use_mm(s->mm);
	while (!atomic_load(&s->stop)) {
		unsigned int i = (unsigned int)rand_r(&seed) % NPAGES;
		struct page *page = NULL;
		unsigned long word;

		if (pin_user_pages_fast(BASE + PG(i), 1, 0, &page) != 1)
			continue;
		atomic_fetch_add(&s->pins, 1);
		word = atomic_load_explicit((_Atomic unsigned long *)page_address(page),
					    memory_order_relaxed);
		if (page_ref_count(compound_head(page)) <= 0 || !pinned_as_the_rules_say(page) ||
		    word != (ZAPPED(i) ? 0 : TAG + i))
			atomic_fetch_add(&s->bad, 1);
		sched_yield();
		/* Nothing here unmaps a page: a pinned page that lost its mapping was collapsed
		 * away under the pin (a device's later writes to it would be lost). */
		if (!is_zero_pfn(page_to_pfn(page)) && page_mapcount(page) == 0)
			atomic_fetch_add(&s->unmapped, 1);
		unpin_user_page(page);
		usleep(20);
	}
	kthread_unuse_mm(s->mm);
	return NULL;
}

static void test_collapse_vs_gup_fast(void **state)
{
	struct mm_struct *mm = *state;
	struct shared s = {.mm = mm};
	pthread_t threads[PINNERS];
	long collapsed = 0, again = 0, round;
	struct stress_clock clock;
	long acquired0 = nr_acquired(), released0 = nr_released();

	/* Yield at the fast walk's window between reading a PTE and grabbing its page, and in
	 * collapse once the PMD is cleared: the orders the test is about get likelier. */
	assert_int_equal(pinmm_hook_set("gup_fast:pte_read", pinmm_hook_yield, NULL), 0);
	assert_int_equal(pinmm_hook_set("khugepaged:*", pinmm_hook_yield, NULL), 0);
	map(BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "the block");
	tag_pages(BASE, NPAGES, TAG, "the block");
	for (unsigned int i = 0; i < NPAGES; i++)
		if (ZAPPED(i))
			check_eq(do_madvise(mm, BASE + PG(i), PAGE_SIZE, MADV_DONTNEED), 0,
				 "zap page %u", i);
	for (int t = 0; t < PINNERS; t++)
		assert_int_equal(pthread_create(&threads[t], NULL, pinner, &s), 0);
	stress_start(&clock);
	for (round = 0; stress_more(&clock, round, ROUNDS) || collapsed == 0; round++) {
		int ret = do_madvise(mm, BASE, PMD_SIZE, MADV_COLLAPSE);

		if (ret == 0)
			collapsed++;
		else if (ret == -EAGAIN)
			again++;
		else
			test_fail("round %ld: MADV_COLLAPSE returned %d, expected 0 or -EAGAIN", round,
				  ret);
		if (collapsed == 0 && round > 100 * ROUNDS)
			test_fail("no collapse succeeded in %ld rounds (%ld -EAGAIN)", round, again);
		/* Let the pinners run: on two CPUs a pinner that yields while it holds its pin
		 * may otherwise hold it across many rounds. */
		usleep(200);
		check_eq(vm_mprotect(BASE, PAGE_SIZE, PROT_READ), 0, "round %ld: split", round);
		check_eq(vm_mprotect(BASE, PAGE_SIZE, RW), 0, "round %ld: mprotect back", round);
	}
	atomic_store(&s.stop, true);
	for (int t = 0; t < PINNERS; t++)
		assert_int_equal(pthread_join(threads[t], NULL), 0);
	pinmm_hook_clear_all();
	print_message("    %ld rounds: %ld collapsed, %ld -EAGAIN; %ld pins\n", round, collapsed,
		      again, atomic_load(&s.pins));
	check_eq(atomic_load(&s.bad), 0, "pins that found a freed, unpinned or foreign page");
	check_eq(atomic_load(&s.unmapped), 0, "pinned pages that collapse unmapped");
	check_true(atomic_load(&s.pins) > 0, "the pinners pinned something");
	check_eq(nr_acquired() - acquired0, nr_released() - released0,
		 "nr_foll_pin_acquired == nr_foll_pin_released over the run");
	for (unsigned int i = 0; i < NPAGES; i++)
		check_eq(get_word(BASE + PG(i), "after the run"), ZAPPED(i) ? 0 : TAG + i,
			 "after the run: page %u (%s)", i, ZAPPED(i) ? "zapped" : "tagged");
	check_eq(pinmm_check_invariants(), 0, "after the run: pinmm_check_invariants() (log above)");
	unmap(BASE, PMD_SIZE, "the block");
	check_eq(pinmm_check_invariants(), 0, "unmapped: pinmm_check_invariants() (log above)");
}

static int setup_never(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.thp = PINMM_THP_NEVER;
	return boot_with_mm(state, &cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_collapse_vs_gup_fast, setup_never, teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
