/* SPDX-License-Identifier: MIT */
/*
 * Conformance under concurrency: two CPUs (threads, each kthread_use_mm() of one mm) for a
 * bounded time. The pinner takes pins and references on random pages of a shared region with
 * pin_user_pages_fast, pin_user_pages (under mmap_read_lock), pin_user_pages_fast_only and
 * get_user_pages_fast, checks each returned page reads as pinned, and releases it; the mutator
 * meanwhile munmaps and re-mmaps (MAP_FIXED) parts of the region, writes to it (copy_to_user,
 * faulting pages and THPs in), and MADV_DONTNEEDs parts of it. So pages are unmapped, freed and
 * reused under the lockless walk, and its re-check-and-undo (scenario 41: the entry changed
 * between grab and re-check; the grab is undone, A +1 and Rel +1, and the walk falls back)
 * gets exercised; the number of undone fast-path grabs is printed (it cannot be forced).
 *
 * At the end: nr_foll_pin_acquired == nr_foll_pin_released, acquired minus the pins the
 * pinner was handed is the number of grabs undone (never negative), and after unmapping, the
 * shutdown finds every page freed (no reference or pin leaked, none dropped twice).
 *
 * Bounded by time: 400 ms of mixing (the same under TSan, where fewer iterations fit), or
 * PINMM_STRESS_SECONDS (make check-stress DURATION=<seconds>).
 *
 * Two bugs this test found, both fixed, both regression cases now: the fast path's speculative
 * grab chose between the bias and the exact count before its reference landed, so a frame freed
 * and reused as a THP head in between got 1024 added and 1 taken off by the undo (left with
 * 1023 references and a pin count of -1; "pincount would overflow" on the next pin) — the grab
 * now re-checks the scheme once its reference holds the page; and follow_page_mask() read the
 * PMD twice, so a MADV_DONTNEED in between made it walk frame 0 as a page table (1022 pages
 * lost at shutdown).
 */
#include <pthread.h>
#include <time.h>
#include <urcu.h> /* rcu_barrier(): let deferred page-table frees run */

#include "gup_conformance.h"
#include "test_stress.h"

#define REGION 0x40000000UL          /* 2 MiB aligned */
#define REGION_LEN (4 * SZ_2M)      /* 4 THPs' worth: some PMD-mapped, some split */
#define REGION_PAGES (REGION_LEN / PAGE_SIZE)
#define RUN_SECONDS 0.4 /* make check; PINMM_STRESS_SECONDS for longer */
#define MAX_BATCH 16

struct stress {
	struct mm_struct *mm;
	atomic_bool stop;
	/* pinner results */
	long pins_returned;   /* pages handed out by the pin calls */
	long gets_returned;
	long calls, failures;
	long bad_mdp;         /* a returned pinned page that did not read as pinned */
	unsigned long bad_page_addr;
	long mutations;
};

static unsigned long xorshift(unsigned long *s)
{
	unsigned long x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static bool time_up(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9 >=
	       stress_seconds(RUN_SECONDS);
}

static void *pinner(void *arg)
{
	struct stress *st = arg;
	unsigned long seed = 0x9e3779b97f4a7c15UL;
	struct page *pages[MAX_BATCH];

	kthread_use_mm(st->mm);
	while (!atomic_load(&st->stop)) {
		unsigned long r = xorshift(&seed);
		int nr = 1 + (int)(r % MAX_BATCH);
		unsigned long idx = (r >> 8) % (REGION_PAGES - (unsigned long)nr);
		unsigned long addr = REGION + PG(idx);
		unsigned int flags = (r >> 40) & 1 ? FOLL_WRITE : 0;
		int op = (int)((r >> 32) % 4);
		long ret;

		switch (op) {
		case 0:
			ret = pin_user_pages_fast(addr, nr, flags, pages);
			break;
		case 1:
			ret = pin_locked(addr, (unsigned long)nr, flags, pages);
			break;
		case 2:
			ret = pin_user_pages_fast_only(addr, nr, flags, pages);
			break;
		default:
			ret = get_user_pages_fast(addr, nr, flags, pages);
			break;
		}
		st->calls++;
		if (ret <= 0) {
			st->failures++;
			continue;
		}
		if (ret > nr) {
			st->bad_mdp++;
			st->bad_page_addr = addr;
			continue;
		}
		if (op == 3) {
			st->gets_returned += ret;
			for (long i = 0; i < ret; i++)
				put_page(pages[i]);
			continue;
		}
		st->pins_returned += ret;
		for (long i = 0; i < ret; i++)
			if (!page_maybe_dma_pinned(pages[i])) {
				st->bad_mdp++;
				st->bad_page_addr = addr + PG(i);
			}
		/* Only a write pin may be unpinned dirty: a read pin may hold the zero page,
		 * which the debug checks refuse to dirty. */
		if ((r >> 41) & 1)
			unpin_user_pages_dirty_lock(pages, (unsigned long)ret,
						    (flags & FOLL_WRITE) && ((r >> 42) & 1));
		else
			for (long i = 0; i < ret; i++)
				unpin_user_page(pages[i]);
	}
	kthread_unuse_mm(st->mm);
	return NULL;
}

static void *mutator(void *arg)
{
	struct stress *st = arg;
	unsigned long seed = 0x2545f4914f6cdd1dUL;
	unsigned char buf[3 * PAGE_SIZE];

	memset(buf, 0x5c, sizeof(buf));
	kthread_use_mm(st->mm);
	while (!atomic_load(&st->stop)) {
		unsigned long r = xorshift(&seed);
		unsigned long npg = 1 + r % 8;
		unsigned long idx = (r >> 8) % (REGION_PAGES - npg);
		unsigned long addr = REGION + PG(idx);

		switch ((r >> 32) % 6) {
		case 0: /* replace a few pages (splits a THP's PMD) */
			vm_mmap(NULL, addr, PG(npg), RW, ANON | MAP_FIXED, 0);
			break;
		case 1: /* replace a whole 2 MiB block: the next write faults a THP in */
			vm_mmap(NULL, REGION + ((r >> 16) % 4) * SZ_2M, SZ_2M, RW, ANON | MAP_FIXED,
				0);
			break;
		case 2: /* a hole for a while */
			vm_munmap(addr, PG(npg));
			vm_mmap(NULL, addr, PG(npg), RW, ANON | MAP_FIXED, 0);
			break;
		case 3:
			do_madvise(st->mm, addr, PG(npg), MADV_DONTNEED);
			break;
		default: /* writes: fault pages in (copy_to_user stops at a hole) */
			copy_to_user(addr, buf, npg > 3 ? sizeof(buf) : PG(npg));
			break;
		}
		st->mutations++;
	}
	kthread_unuse_mm(st->mm);
	return NULL;
}

static void test_pin_while_the_region_changes(void **state)
{
	struct mm_struct *mm = *state;
	struct stress st = {.mm = mm};
	long a0 = nr_acquired(), r0 = nr_released();
	unsigned long w0 = pinmm_warn_count();
	pthread_t t[2];
	struct timespec t0;
	long undone;

	map(REGION, REGION_LEN, RW, ANON | MAP_FIXED, "stress");
	touch_write(REGION, REGION_PAGES, 1, "stress");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&t[0], NULL, pinner, &st), 0);
	assert_int_equal(pthread_create(&t[1], NULL, mutator, &st), 0);
	while (!time_up(&t0)) {
		struct timespec nap = {0, 10000000};

		nanosleep(&nap, NULL);
	}
	atomic_store(&st.stop, true);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	check_eq(pinmm_check_invariants(), 0, "stress: the invariant check after the run");

	undone = (nr_acquired() - a0) - st.pins_returned;
	print_message("      %ld calls (%ld failed), %ld pins and %ld references handed out, "
		      "%ld mutations, %ld fast-path grabs undone\n",
		      st.calls, st.failures, st.pins_returned, st.gets_returned, st.mutations,
		      undone);
	check_true(st.calls > 0 && st.mutations > 0, "stress: both threads ran");
	if (pinmm_warn_count() != w0)
		gup_fail("stress: %lu WARN(s), expected none; \"pincount would overflow\" is the "
			 "scheme race described at the top of this file (src/gup/grab.c, the "
			 "speculative grab's re-check)",
			 pinmm_warn_count() - w0);
	check_eq(st.bad_mdp, 0, "stress: pinned pages that did not read as pinned (last at %#lx)",
		 st.bad_page_addr);
	check_eq(nr_acquired() - a0, nr_released() - r0,
		 "stress: nr_foll_pin_acquired and nr_foll_pin_released moved alike");
	check_true(undone >= 0,
		   "stress: acquired (%ld) counts at least the %ld pins handed out (undone %ld)",
		   nr_acquired() - a0, st.pins_returned, undone);
	unmap(REGION, REGION_LEN, "stress");
	/* The teardown's shutdown checks that every page and page table was freed. */
}

/* The same region, with the pinner keeping its pins while the mutator unmaps: each pinned
 * page outlives its mapping, holds what was written when it was pinned, and is freed by the
 * last unpin. */
static void test_pins_outlive_their_mappings(void **state)
{
	struct mm_struct *mm = *state;
	enum { N = 64 };
	struct page *pages[N];
	long a0 = nr_acquired(), r0 = nr_released();
	unsigned long free0;

	map(REGION, PG(N), RW, ANON | MAP_FIXED, "outlive");
	for (int i = 0; i < N; i++)
		touch_write(REGION + PG(i), 1, (unsigned char)i, "outlive");
	check_eq(pin_user_pages_fast(REGION, N, FOLL_WRITE, pages), N, "outlive: pin %d pages", N);
	unmap(REGION, PG(N), "outlive: unmap the pinned pages");
	rcu_barrier(); /* the page tables are freed after a grace period: not counted below */
	free0 = (unsigned long)global_zone_page_state(NR_FREE_PAGES);
	check_eq(pinmm_check_invariants(), 0, "outlive: the invariant check, pinned and unmapped");
	for (int i = 0; i < N; i++) {
		check_eq(page_ref_count(pages[i]), GUP_PIN_COUNTING_BIAS,
			 "outlive: R of unmapped pinned page %d: the pin alone", i);
		check_eq(page_mapcount(pages[i]), 0, "outlive: page %d is unmapped", i);
		check_eq(*(unsigned char *)page_address(pages[i]), i, "outlive: page %d's data", i);
	}
	unpin_user_pages(pages, N);
	check_eq((unsigned long)global_zone_page_state(NR_FREE_PAGES) - free0, N,
		 "outlive: the last unpin frees each of the %d pages", N);
	check_eq(nr_acquired() - a0, N, "outlive: A");
	check_eq(nr_released() - r0, N, "outlive: Rel");
	check_eq(pinmm_check_invariants(), 0, "outlive: the invariant check after the unpins");
	(void)mm;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test(test_pins_outlive_their_mappings),
		gup_test_57(test_pin_while_the_region_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
