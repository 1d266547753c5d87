/* SPDX-License-Identifier: MIT */
/*
 * Stress: pin_user_pages_fast_runs() racing fork. One thread pins windows of a range (4 KiB
 * pages and a THP) as runs, checks each run against what the mm maps there, and unpins them;
 * the other forks the mm again and again (pinmm_fork() write-protects the range and bumps
 * mm->write_protect_seq, which the fast walk backs off from under modern rules) and puts each
 * child. Nobody writes the range during the race, so a page pinned is the page mapped there
 * when the pin returns, under both rule sets. At the end every pin is released (A = Rel since
 * the start) and pinmm_check_invariants() finds nothing. The rule set is PINMM_RULES's (make
 * check runs the stress tier under the default one; run it with PINMM_RULES=modern too).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "gup_conformance.h"
#include "test_stress.h"

#define BASE 0x40000000UL
#define NR (2 * 512)  /* a THP, then 512 pages of 4 KiB */
#define ROUNDS 3000

struct race {
	struct mm_struct *mm;
	atomic_bool ready, stop;
	unsigned long pins, runs, forks;
	char failure[512];
	struct stress_clock clock;
};

static void race_fail(struct race *r, const char *what, unsigned long it, unsigned long k)
{
	if (!r->failure[0])
		snprintf(r->failure, sizeof(r->failure), "iteration %lu, page %lu: %s", it, k, what);
	atomic_store(&r->stop, true);
}

static void *pinner(void *p)
{
	struct race *r = p;
	static struct page_run runs[NR];

	kthread_use_mm(r->mm);
	map(BASE, NR * PAGE_SIZE, RW, ANON | MAP_FIXED, "runs fork");
	do_madvise(r->mm, BASE + SZ_2M, SZ_2M, MADV_NOHUGEPAGE);
	touch_write(BASE, NR, 0x3c, "runs fork");
	atomic_store(&r->ready, true);
	for (unsigned long it = 0; stress_more(&r->clock, (long)it, ROUNDS) &&
				   !atomic_load(&r->stop); it++) {
		unsigned long off = (it * 97) % (NR - 64), n = (it & 1) ? 64 : NR - off;
		unsigned long nr_runs = (it % 5 == 4) ? 2 : NR;
		unsigned int flags = (it & 2) ? FOLL_WRITE : 0;
		long got = pin_user_pages_fast_runs(BASE + PG(off), n, flags, runs, &nr_runs);
		unsigned long k = 0;

		if (got <= 0) {
			race_fail(r, "pin_user_pages_fast_runs pinned nothing", it, 0);
			break;
		}
		for (unsigned long q = 0; q < nr_runs; q++)
			for (unsigned long j = 0; j < runs[q].nr_pages; j++, k++)
				if (page_at(r->mm, BASE + PG(off + k)) != runs[q].page + j ||
				    !page_maybe_dma_pinned(runs[q].page + j))
					race_fail(r, "a pinned page is not the page mapped there",
						  it, k);
		if (k != (unsigned long)got)
			race_fail(r, "the runs do not hold the pages returned", it, k);
		r->pins++;
		r->runs += nr_runs;
		unpin_user_page_runs(runs, nr_runs);
	}
	atomic_store(&r->stop, true);
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void *forker(void *p)
{
	struct race *r = p;

	kthread_use_mm(r->mm);
	while (!atomic_load(&r->ready) && !atomic_load(&r->stop))
		sched_yield();
	while (!atomic_load(&r->stop)) {
		struct mm_struct *child = pinmm_fork(r->mm);

		if (IS_ERR(child)) {
			race_fail(r, "pinmm_fork failed", r->forks, 0);
			break;
		}
		r->forks++;
		mmput(child);
	}
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void test_runs_pin_vs_fork(void **state)
{
	static struct race r;
	long a0 = nr_acquired(), rel0 = nr_released();
	pthread_t t[2];
	long bad;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.mm = mm_alloc();
	assert_non_null(r.mm);
	stress_start(&r.clock);
	assert_int_equal(pthread_create(&t[0], NULL, pinner, &r), 0);
	assert_int_equal(pthread_create(&t[1], NULL, forker, &r), 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	bad = pinmm_check_invariants();
	mmput(r.mm);
	if (r.failure[0])
		fail_msg("runs vs fork (%s rules): %s", pinmm_rules() == PINMM_RULES_MODERN ?
			 "modern" : "5.7", r.failure);
	if (r.forks == 0 || r.pins == 0)
		fail_msg("runs vs fork: %lu pins and %lu forks ran, expected some of each", r.pins,
			 r.forks);
	if (nr_acquired() - a0 != nr_released() - rel0)
		fail_msg("runs vs fork: nr_foll_pin_acquired moved by %ld, released by %ld: "
			 "expected equal", nr_acquired() - a0, nr_released() - rel0);
	if (bad)
		fail_msg("runs vs fork: pinmm_check_invariants() found %ld violations, expected none",
			 bad);
	print_message("runs vs fork: %lu pins in %lu runs, %lu forks\n", r.pins, r.runs, r.forks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_machine(test_runs_pin_vs_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
