/* SPDX-License-Identifier: MIT */
/*
 * Compaction, offlining and contiguous allocation against faults, pins and fork. Two worker
 * threads, each in its own mm, write and read their 2 MiB regions, drop parts with
 * MADV_DONTNEED, pin and unpin pages (short- and long-term, at most four at a time),
 * fork and put the child; meanwhile a third thread compacts the machine, offlines and onlines
 * a ZONE_MOVABLE memory block, offlines and onlines the CMA area and takes and frees 4 MiB
 * with alloc_contig_range(). Each worker keeps a shadow of the word at the start of every page
 * it wrote; at the end every word is read back, every pin released and
 * pinmm_check_invariants() must find nothing. Runs under both rule sets; clean under TSan.
 *
 * The machine: 64 MiB, 16 MiB of it ZONE_MOVABLE and 8 MiB CMA, THP always (see setup()): the
 * workers' pages live where offlining and compaction move them.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <urcu.h>

#include "test_stress.h"
#include "test_mm_util.h"

#define NR_WORKERS 2
#define REGION_PAGES 512UL
#define ITERATIONS 400
#define MAX_PINS 4

struct worker {
	struct mm_struct *mm;
	unsigned long base;
	uint32_t rng;
	unsigned long word[REGION_PAGES]; /* 0: never written, or dropped */
	struct page *pins[MAX_PINS];
	unsigned int nr_pins;
	unsigned long forks, pinned, longterm;
	char failure[256];
};

static atomic_bool stop, mover_running;

static uint32_t next(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 17;
	w->rng ^= w->rng << 5;
	return w->rng;
}

static void worker_fail(struct worker *w, const char *msg, unsigned long p, unsigned long a,
		 unsigned long b)
{
	if (!w->failure[0])
		snprintf(w->failure, sizeof(w->failure), "%s: page %lu: found %#lx, expected %#lx",
			 msg, p, a, b);
}

static void step(struct worker *w, unsigned long iter)
{
	unsigned long p = next(w) % REGION_PAGES, addr = w->base + PG(p), val;

	switch (next(w) % 8) {
	case 0:
	case 1:
		val = ((unsigned long)next(w) << 8) | 1;
		if (copy_to_user(addr, &val, sizeof(val)))
			worker_fail(w, "write", p, 1, 0);
		else
			w->word[p] = val;
		break;
	case 2:
	case 3:
		if (copy_from_user(&val, addr, sizeof(val)))
			worker_fail(w, "read", p, 1, 0);
		else if (val != w->word[p])
			worker_fail(w, "read back", p, val, w->word[p]);
		break;
	case 4: {
		/* A pin, long-term every other time; the oldest goes when four are held. */
		unsigned int flags = FOLL_WRITE | (iter & 1 ? FOLL_LONGTERM : 0);
		struct page *page;

		if (w->nr_pins == MAX_PINS) {
			unpin_user_page(w->pins[0]);
			memmove(w->pins, w->pins + 1, (MAX_PINS - 1) * sizeof(w->pins[0]));
			w->nr_pins--;
		}
		if (pin_user_pages_fast(addr, 1, flags, &page) == 1) {
			w->pins[w->nr_pins++] = page;
			w->pinned++;
			w->longterm += !!(flags & FOLL_LONGTERM);
		}
		break;
	}
	case 5: {
		struct mm_struct *child = pinmm_fork(w->mm);

		if (IS_ERR_OR_NULL(child)) {
			worker_fail(w, "fork", 0, (unsigned long)child, 0);
			break;
		}
		w->forks++;
		mmput(child);
		break;
	}
	case 6: {
		/* Drop a few pages (splitting a THP): they read as zero afterwards. */
		unsigned long n = 1 + next(w) % 8;

		if (p + n > REGION_PAGES)
			n = REGION_PAGES - p;
		if (do_madvise(w->mm, addr, PG(n), MADV_DONTNEED))
			worker_fail(w, "MADV_DONTNEED", p, 1, 0);
		for (unsigned long i = p; i < p + n; i++)
			w->word[i] = 0;
		break;
	}
	default:
		/* Let the pins go now and then, so offlining can succeed between. */
		while (w->nr_pins)
			unpin_user_page(w->pins[--w->nr_pins]);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stress_clock clock;

	/* Start together with the mover, so that the two overlap even when one side is slow
	 * (ASan, TSan). */
	while (!atomic_load(&mover_running))
		sched_yield();
	kthread_use_mm(w->mm);
	w->base = vm_mmap(NULL, 0, PG(REGION_PAGES) * 2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	/* 2 MiB aligned inside the 4 MiB mapping (a THP's place, were THPs on). */
	w->base = (w->base + (2UL << 20) - 1) & ~((2UL << 20) - 1);
	stress_start(&clock);
	for (unsigned long i = 0; stress_more(&clock, i, ITERATIONS) && !w->failure[0]; i++)
		step(w, i);
	kthread_unuse_mm(w->mm);
	return NULL;
}

struct mover {
	unsigned long compactions, offlined, cma_offlined, contig;
};

static void *mover_main(void *arg)
{
	struct mover *m = arg;
	struct zone *movable = pinmm_zone(ZONE_MOVABLE), *normal = pinmm_zone(ZONE_NORMAL);
	unsigned long block = memory_block_size_bytes() >> PAGE_SHIFT;
	unsigned long cma = normal->cma_start_pfn, cma_nr = normal->cma_end_pfn - cma;

	atomic_store(&mover_running, true);
	/* At least one round, however fast the workers are. */
	for (unsigned long i = 0; i == 0 || !atomic_load(&stop); i++) {
		unsigned long start = movable->zone_start_pfn + (i % 4) * block;

		compact_node(0, NULL);
		m->compactions++;
		if (!offline_pages(start, block)) {
			m->offlined++;
			if (online_pages(start, block))
				break;
		}
		if (!offline_pages(cma, cma_nr)) {
			m->cma_offlined++;
			if (online_pages(cma, cma_nr))
				break;
		}
		if (!alloc_contig_range(start, start + block)) {
			m->contig++;
			free_contig_range(start, block);
		}
	}
	return NULL;
}

static int setup(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	cfg.movable_bytes = 16ULL << 20;
	cfg.cma_bytes = 8ULL << 20;
	/* THPs where a 2 MiB block is free: offlining and compaction split them under the
	 * workers' forks (test_split_huge_page.c's test_child_exits_during_split is that race). */
	cfg.thp = PINMM_THP_ALWAYS;
	cfg.rules = rules;
	return boot_with(&cfg);
}

static int setup_57(void **state)
{
	return setup(state, PINMM_RULES_5_7);
}

static int setup_modern(void **state)
{
	return setup(state, PINMM_RULES_MODERN);
}

static void test_faults_pins_fork_against_compaction_and_offlining(void **state)
{
	static struct worker workers[NR_WORKERS];
	pthread_t threads[NR_WORKERS], mover_thread;
	struct mover mover = {0};
	FILE *quiet = tmpfile();

	(void)state;
	assert_non_null(quiet);
	/* Failed offlines name their blockers: kept out of the test's output. */
	quiet = pinmm_set_log_stream(quiet);
	atomic_store(&stop, false);
	atomic_store(&mover_running, false);
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].mm = mm_alloc();
		assert_non_null(workers[i].mm);
		workers[i].rng = 0x9e3779b9u * (i + 1);
		assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
	}
	assert_int_equal(pthread_create(&mover_thread, NULL, mover_main, &mover), 0);
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	atomic_store(&stop, true);
	assert_int_equal(pthread_join(mover_thread, NULL), 0);
	fclose(pinmm_set_log_stream(quiet));

	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		struct worker *w = &workers[i];

		if (w->failure[0])
			fail_msg("worker %u (%s rules): %s", i, pinmm_rules_name(pinmm_rules()),
				 w->failure);
		kthread_use_mm(w->mm);
		/* Every word read back. */
		for (unsigned long p = 0; p < REGION_PAGES; p++) {
			unsigned long val = ~0UL;

			if (copy_from_user(&val, w->base + PG(p), sizeof(val)) || val != w->word[p])
				fail_msg("worker %u, page %lu at the end: found %#lx, expected %#lx", i,
					 p, val, w->word[p]);
		}
		while (w->nr_pins)
			unpin_user_page(w->pins[--w->nr_pins]);
		kthread_unuse_mm(w->mm);
		if (!w->pinned || !w->forks)
			fail_msg("worker %u pinned %lu pages and forked %lu times: expected both", i,
				 w->pinned, w->forks);
	}
	if (!mover.compactions)
		fail_msg("the compacting thread never ran");
	if (pinmm_check_invariants() != 0)
		fail_msg("after the run: pinmm_check_invariants() found violations (log above)");
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		mmput(workers[i].mm);
	rcu_barrier();
	print_message("compactions %lu, movable blocks offlined %lu, CMA offlined %lu, "
		      "contiguous ranges %lu; THPs faulted %lu, split %lu\n", mover.compactions,
		      mover.offlined, mover.cma_offlined, mover.contig,
		      global_vm_event_count(THP_FAULT_ALLOC), global_vm_event_count(THP_SPLIT_PAGE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_faults_pins_fork_against_compaction_and_offlining, setup_57,
			shutdown_clean),
		cmocka_unit_test_setup_teardown(
			test_faults_pins_fork_against_compaction_and_offlining, setup_modern,
			shutdown_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
