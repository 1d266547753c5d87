/* SPDX-License-Identifier: MIT */
/*
 * gup_benchmark_ioctl(), Linux 5.7's gup_benchmark kernel side (mm/gup_benchmark.c of v5.7):
 * scenarios 51 (PIN_FAST_BENCHMARK with the tool's defaults: A and Rel +32768, no WARN), 52
 * (unknown commands refused, flags filtered to FOLL_WRITE) and 53 (a failed call shortens the
 * size), the 5.7 arithmetic of short calls, the release of every command, the mmap lock the
 * slow commands take, and the "NOT dma-pinned" WARN of the pin check.
 *
 * Each test runs in a fresh mm on the default machine (1 GiB, THP always). The ranges drawn
 * in the comments: "A" = a mapped, touched page, "." = a hole.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include <pinmm/debugfs/gup_benchmark.h>

#include "test_mm_util.h"

#include "debugfs/bench_walk.h" /* gup_bench_check_pinned(): the WARN path no real pin can reach */

#define MiB (1UL << 20)

/* "A" pages then "." pages: map both, unmap the hole so nothing can merge into it. */
static unsigned long map_then_hole(unsigned long mapped, unsigned long hole)
{
	unsigned long addr = map_touched(PG(mapped + hole));

	assert_int_equal(vm_munmap(addr + PG(mapped), PG(hole)), 0);
	return addr;
}

/* The head refcount of the page mapped at addr (taking and dropping a reference to look). */
static int refcount_at(unsigned long addr)
{
	struct page *page;
	int count;

	assert_int_equal(get_user_pages_fast(addr, 1, 0, &page), 1);
	count = page_count(page) - 1;
	put_page(page);
	return count;
}

static struct gup_benchmark request(unsigned long addr, unsigned long size, unsigned int nr)
{
	return (struct gup_benchmark){ .addr = addr, .size = size, .nr_pages_per_call = nr };
}

/* Scenario 51: the tool's defaults (128 MiB, one page per call) with -a. */
static void test_pin_fast_defaults(void **state)
{
	unsigned long addr = map_touched(128 * MiB);
	struct gup_benchmark gup = request(addr, 128 * MiB, 1);
	long a0 = nr_acquired(), r0 = nr_released();
	unsigned long w0 = pinmm_warn_count();

	(void)state;
	check_eq(gup_benchmark_ioctl(PIN_FAST_BENCHMARK, &gup), 0, "S51 ioctl");
	check_eq(gup.size, 128 * MiB, "S51 size (not truncated)");
	check_eq(nr_acquired() - a0, 32768, "S51 A");
	check_eq(nr_released() - r0, 32768, "S51 Rel");
	check_eq(pinmm_warn_count() - w0, 0, "S51 WARNs");
}

/* Every command takes the whole range and gives it all back: refcounts as before; pins
 * counted only for the PIN commands. Slow and fast, read and write, several per call. */
static void test_every_command_releases(void **state)
{
	static const struct {
		unsigned int cmd;
		bool pins;
		const char *name;
	} cmds[] = {
		{ GUP_FAST_BENCHMARK, false, "GUP_FAST_BENCHMARK" },
		{ GUP_LONGTERM_BENCHMARK, false, "GUP_LONGTERM_BENCHMARK" },
		{ GUP_BENCHMARK, false, "GUP_BENCHMARK" },
		{ PIN_FAST_BENCHMARK, true, "PIN_FAST_BENCHMARK" },
		{ PIN_BENCHMARK, true, "PIN_BENCHMARK" },
	};
	unsigned long addr = map_touched(PG(64));
	unsigned long w0 = pinmm_warn_count();

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (unsigned int flags = 0; flags <= FOLL_WRITE; flags += FOLL_WRITE) {
			struct gup_benchmark gup = request(addr, PG(64), 7);
			int r0 = refcount_at(addr + PG(33));
			long a0 = nr_acquired(), rel0 = nr_released();

			gup.flags = flags;
			if (gup_benchmark_ioctl(cmds[i].cmd, &gup) != 0)
				fail_msg("%s flags %#x: ioctl failed", cmds[i].name, flags);
			check_eq(gup.size, PG(64), "%s", cmds[i].name);
			check_eq(refcount_at(addr + PG(33)), r0, "%s", cmds[i].name);
			check_eq(nr_acquired() - a0, cmds[i].pins ? 64 : 0, "%s", cmds[i].name);
			check_eq(nr_released() - rel0, cmds[i].pins ? 64 : 0, "%s", cmds[i].name);
		}
	}
	check_eq(pinmm_warn_count() - w0, 0, "every command: WARNs");
}

/* Scenario 52: an unsupported number fails with EINVAL and leaves the struct alone; flags
 * other than FOLL_WRITE never reach GUP (FOLL_PIN there would WARN and fail). */
static void test_unknown_command_and_flags(void **state)
{
	static const unsigned int bad[] = {
		0, 1, 4, 5,                                 /* bare numbers */
		_IOWR('g', 0, struct gup_benchmark), _IOWR('g', 6, struct gup_benchmark),
		_IOWR('h', 1, struct gup_benchmark),        /* another ioctl type */
		_IOR('g', 1, struct gup_benchmark),         /* another direction */
		_IOWR('g', 2, char[80]),                    /* gup_test's PIN_FAST_BENCHMARK */
	};
	unsigned long addr = map_touched(PG(8));
	struct gup_benchmark gup = request(addr, PG(8), 1), before;
	unsigned long w0 = pinmm_warn_count();

	(void)state;
	gup.flags = FOLL_WRITE | FOLL_PIN | FOLL_GET | FOLL_DUMP | FOLL_LONGTERM | 0x80000000u;
	before = gup;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_eq(gup_benchmark_ioctl(bad[i], &gup), -EINVAL, "S52 unknown command");
		if (memcmp(&gup, &before, sizeof(gup)))
			fail_msg("S52: command %#x changed the struct", bad[i]);
	}
	check_eq(gup_benchmark_ioctl(GUP_FAST_BENCHMARK, &gup), 0, "S52 filtered flags");
	check_eq(gup.flags, FOLL_WRITE, "S52 flags after the call");
	check_eq(gup.size, PG(8), "S52 size");
	check_eq(pinmm_warn_count() - w0, 0, "S52 WARNs");
}

/*
 * Scenario 53: "AAAAAAAA........", one page per call: the call at the first hole page fails,
 * the walk stops there, size = 8 pages. Pins taken and released: 8.
 */
static void test_failure_truncates(void **state)
{
	unsigned long addr = map_then_hole(8, 8);
	struct gup_benchmark gup = request(addr, PG(16), 1);
	long a0 = nr_acquired(), r0 = nr_released();

	(void)state;
	check_eq(gup_benchmark_ioctl(PIN_FAST_BENCHMARK, &gup), 0, "S53 ioctl");
	check_eq(gup.size, PG(8), "S53 size");
	check_eq(nr_acquired() - a0, 8, "S53 A");
	check_eq(nr_released() - r0, 8, "S53 Rel");

	gup = request(addr, PG(16), 1);
	check_eq(gup_benchmark_ioctl(PIN_BENCHMARK, &gup), 0, "S53 slow ioctl");
	check_eq(gup.size, PG(8), "S53 slow size");

	/* A range that starts in the hole: nothing taken, size 0. */
	gup = request(addr + PG(8), PG(8), 1);
	check_eq(gup_benchmark_ioctl(GUP_BENCHMARK, &gup), 0, "S53 hole ioctl");
	check_eq(gup.size, 0, "S53 hole size");
}

/*
 * 5.7's arithmetic for short calls, four pages per call:
 *   "AAA....." : the first call returns 3 of 4; size = the whole first call, 4 pages;
 *   "AAAAAA.." : the second (last) call returns 2 of 4 and ends the range: size stays 8.
 */
static void test_short_calls(void **state)
{
	unsigned long addr = map_then_hole(3, 5);
	struct gup_benchmark gup = request(addr, PG(8), 4);
	long a0 = nr_acquired();

	(void)state;
	check_eq(gup_benchmark_ioctl(PIN_FAST_BENCHMARK, &gup), 0, "AAA..... ioctl");
	check_eq(gup.size, PG(4), "AAA..... size");
	check_eq(nr_acquired() - a0, 3, "AAA..... A");

	addr = map_then_hole(6, 2);
	gup = request(addr, PG(8), 4);
	a0 = nr_acquired();
	check_eq(gup_benchmark_ioctl(PIN_BENCHMARK, &gup), 0, "AAAAAA.. ioctl");
	check_eq(gup.size, PG(8), "AAAAAA.. size");
	check_eq(nr_acquired() - a0, 6, "AAAAAA.. A");
}

/* More pages per call than the range has: one call, cut to the range, nothing truncated.
 * Zero per call: 5.7 walks nothing and reports size 0. */
static void test_pages_per_call_extremes(void **state)
{
	unsigned long addr = map_touched(PG(4));
	struct gup_benchmark gup = request(addr, PG(4), 512);
	long a0 = nr_acquired();

	(void)state;
	check_eq(gup_benchmark_ioctl(PIN_FAST_BENCHMARK, &gup), 0, "n 512 ioctl");
	check_eq(gup.size, PG(4), "n 512 size");
	check_eq(nr_acquired() - a0, 4, "n 512 A");

	gup = request(addr, PG(4), UINT32_MAX);
	check_eq(gup_benchmark_ioctl(PIN_BENCHMARK, &gup), 0, "n UINT32_MAX ioctl");
	check_eq(gup.size, PG(4), "n UINT32_MAX size");

	gup = request(addr, PG(4), 0);
	a0 = nr_acquired();
	check_eq(gup_benchmark_ioctl(PIN_FAST_BENCHMARK, &gup), 0, "n 0 ioctl");
	check_eq(gup.size, 0, "n 0 size");
	check_eq(nr_acquired() - a0, 0, "n 0 A");

	gup = request(addr, 0, 1);
	check_eq(gup_benchmark_ioctl(PIN_FAST_BENCHMARK, &gup), 0, "size 0 ioctl");
	check_eq(gup.size, 0, "size 0 size");
}

/* NULL struct: -EFAULT; no current mm: -ESRCH; both leave everything alone. */
static void test_errors(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(2));
	struct gup_benchmark gup = request(addr, PG(2), 1), before = gup;

	check_eq(gup_benchmark_ioctl(PIN_FAST_BENCHMARK, NULL), -EFAULT, "NULL struct");
	kthread_unuse_mm(mm);
	check_eq(gup_benchmark_ioctl(PIN_BENCHMARK, &gup), -ESRCH, "no mm, slow");
	check_eq(gup_benchmark_ioctl(GUP_FAST_BENCHMARK, &gup), -ESRCH, "no mm, fast");
	kthread_use_mm(mm);
	if (memcmp(&gup, &before, sizeof(gup)))
		fail_msg("a failed ioctl changed the struct");
}

struct locked_run {
	struct mm_struct *mm;
	unsigned int cmd;
	struct gup_benchmark gup;
	atomic_bool done;
	int ret;
};

static void *run_ioctl(void *arg)
{
	struct locked_run *run = arg;

	kthread_use_mm(run->mm);
	run->ret = gup_benchmark_ioctl(run->cmd, &run->gup);
	kthread_unuse_mm(run->mm);
	atomic_store(&run->done, true);
	return NULL;
}

/* The slow commands take the mmap read lock (the 5.10 fix): with the write lock held
 * elsewhere they wait, and they finish once it is dropped. */
static void test_slow_commands_take_mmap_lock(void **state)
{
	static const unsigned int slow[] = { GUP_BENCHMARK, GUP_LONGTERM_BENCHMARK, PIN_BENCHMARK };
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(4));
	unsigned long w0 = pinmm_warn_count();

	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
		struct locked_run run = { .mm = mm, .cmd = slow[i], .gup = request(addr, PG(4), 1) };
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		pthread_t thread;

		mmap_write_lock(mm);
		assert_int_equal(pthread_create(&thread, NULL, run_ioctl, &run), 0);
		nanosleep(&pause, NULL);
		if (atomic_load(&run.done))
			fail_msg("command %zu finished while the mmap lock was held for writing", i);
		mmap_write_unlock(mm);
		assert_int_equal(pthread_join(thread, NULL), 0);
		check_eq(run.ret, 0, "slow command after the lock was dropped");
		check_eq(run.gup.size, PG(4), "slow command size");
	}
	check_eq(pinmm_warn_count() - w0, 0, "no mmap_assert_locked WARN");
}

/* The pin check's WARN: pages that hold only references (FOLL_GET) are not dma-pinned; the
 * first is reported and dumped, and the check stops there. */
static void test_check_warns_on_unpinned(void **state)
{
	unsigned long addr = map_touched(PG(3));
	struct page *pages[3];
	struct gup_bench b = { .pages = pages, .nr_pages = 3 };
	unsigned long w0;

	(void)state;
	assert_int_equal(get_user_pages_fast(addr, 3, 0, pages), 3);
	free(test_log_take()); /* start from an empty log */
	w0 = pinmm_warn_count();
	gup_bench_check_pinned(&b, false, false, "gup_benchmark failure");
	check_eq(pinmm_warn_count() - w0, 1, "one WARN for three unpinned pages");
	test_log_expect("pages[0] is NOT dma-pinned");
	for (int i = 0; i < 3; i++)
		put_page(pages[i]);

	assert_int_equal(pin_user_pages_fast(addr, 3, 0, pages), 3);
	w0 = pinmm_warn_count();
	gup_bench_check_pinned(&b, false, false, "gup_benchmark failure");
	check_eq(pinmm_warn_count() - w0, 0, "pinned pages pass the check");
	unpin_user_pages(pages, 3);
}

/* The WARN's report: the WARNING line and the dump of the page with the 5.7 reason. */
static void test_check_report_format(void **state)
{
	unsigned long addr = map_touched(PG(2));
	struct page *pages[2];
	struct gup_bench b = { .pages = pages, .nr_pages = 2 };
	char *log;

	(void)state;
	assert_int_equal(pin_user_pages_fast(addr, 1, 0, pages), 1);
	assert_int_equal(get_user_pages_fast(addr + PG(1), 1, 0, pages + 1), 1);
	free(test_log_take()); /* start from an empty log */
	gup_bench_check_pinned(&b, false, false, "gup_benchmark failure");
	log = test_log_take();
	if (!strstr(log, "WARNING: at ") || !strstr(log, "pages[1] is NOT dma-pinned") ||
	    !strstr(log, "page dumped because: gup_benchmark failure"))
		fail_msg("the check's report should name pages[1] and dump it; it was:\n%s", log);
	free(log);
	unpin_user_page(pages[0]);
	put_page(pages[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pin_fast_defaults, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_every_command_releases, setup_mm_57,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_unknown_command_and_flags, setup_mm,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_failure_truncates, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_short_calls, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_pages_per_call_extremes, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_errors, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_slow_commands_take_mmap_lock, setup_mm_57,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_check_warns_on_unpinned, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_check_report_format, setup_mm, teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
