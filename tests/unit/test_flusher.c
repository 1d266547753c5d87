/* SPDX-License-Identifier: MIT */
/*
 * The flusher (src/writeback/flusher.c): its start / set / stop / stats contract and errors;
 * periodic writeback of files whose dirty data expired (the page cleaned through
 * page_mkclean(), so the next store faults and reserves again); data younger than
 * dirty_expire_centisecs left alone; a wake-up when nr_dirty passes dirty_ratio of RAM with no
 * periodic writeback at all; pinmm_shutdown() stopping a flusher left running.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/err.h>
#include <pinmm/fs.h>
#include <pinmm/writeback.h>

#include "test_mm_util.h"

static char path[64];

static struct file *host_file(unsigned long npages)
{
	struct file *file;
	int fd;

	strcpy(path, "/tmp/pinmm-flusher-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(npages * PAGE_SIZE)), 0);
	close(fd);
	file = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(file));
	return file;
}

static unsigned long map_shared(struct file *file, unsigned long npages)
{
	unsigned long addr = vm_mmap(file, 0, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_SHARED, 0);

	assert_false(IS_ERR_VALUE(addr));
	return addr;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait up to 5 s for nr_dirty to reach 0 and nothing to be in flight. */
static bool wait_clean(void)
{
	for (int i = 0; i < 500; i++) {
		if (global_node_page_state(NR_FILE_DIRTY) == 0 &&
		    global_node_page_state(NR_WRITEBACK) == 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

static struct pinmm_flusher_stats flusher_stats(void)
{
	struct pinmm_flusher_stats st;

	assert_int_equal(pinmm_flusher_stats(&st), 0);
	return st;
}

static void test_contract(void **state)
{
	struct pinmm_flusher_settings s, bad;

	(void)state;
	pinmm_flusher_default(&s);
	check_eq(s.dirty_expire_centisecs, 3000, "default dirty_expire_centisecs");
	check_eq(s.dirty_writeback_centisecs, 500, "default dirty_writeback_centisecs");
	check_eq(s.dirty_ratio, 20, "default dirty_ratio");
	check_eq(pinmm_flusher_stop(), -ESRCH, "stop without a flusher");
	check_eq(pinmm_flusher_set(&s), -ESRCH, "set without a flusher");
	bad = s;
	bad.dirty_ratio = 0;
	check_eq(pinmm_flusher_start(&bad), -EINVAL, "dirty_ratio 0");
	bad.dirty_ratio = 101;
	check_eq(pinmm_flusher_start(&bad), -EINVAL, "dirty_ratio 101");
	bad = s;
	bad.dirty_expire_centisecs = 360001;
	check_eq(pinmm_flusher_start(&bad), -EINVAL, "dirty_expire_centisecs too large");
	bad = s;
	bad.dirty_writeback_centisecs = 360001;
	check_eq(pinmm_flusher_start(&bad), -EINVAL, "dirty_writeback_centisecs too large");
	check_eq(pinmm_flusher_start(NULL), 0, "start with the defaults");
	check_eq(pinmm_flusher_start(NULL), -EBUSY, "start twice");
	check_eq(pinmm_flusher_set(NULL), -EINVAL, "set(NULL)");
	check_eq(pinmm_flusher_set(&bad), -EINVAL, "set out of range");
	check_eq(pinmm_flusher_set(&s), 0, "set");
	check_eq(pinmm_flusher_stats(NULL), -EINVAL, "stats(NULL)");
	check_eq(pinmm_flusher_stop(), 0, "stop");
	check_eq(pinmm_flusher_stop(), -ESRCH, "stop twice");
	check_eq(pinmm_flusher_start(&s), 0, "start again");
	check_eq(pinmm_flusher_stop(), 0, "and stop");
}

static void test_periodic_writeback_of_expired_data(void **state)
{
	struct pinmm_flusher_settings s = {.dirty_expire_centisecs = 0,
					   .dirty_writeback_centisecs = 1,
					   .dirty_ratio = 100};
	struct file *file = host_file(2);
	unsigned long addr = map_shared(file, 2);
	struct page *page;

	(void)state;
	check_eq(copy_to_user(addr + PAGE_SIZE, "\x81", 1), 0, "dirty page 1 through the mapping");
	check_eq(pinmm_flusher_start(&s), 0, "start: every 10 ms, everything expired");
	check_true(wait_clean(), "the flusher cleaned the page within 5 s");
	check_eq(host_file_byte(path, PAGE_SIZE), 0x81, "and wrote it");
	check_true(flusher_stats().pages_written >= 1, "pages_written counts it");
	page = find_get_page(file->f_mapping, 1);
	check_eq(PagePrivate(page), false, "its reservation consumed");
	check_eq(copy_to_user(addr + PAGE_SIZE + 1, "\x82", 1), 0, "a store after writeback");
	check_true(PagePrivate(page), "faulted (page_mkclean write-protected it) and reserved");
	put_page(page);
	check_true(wait_clean(), "cleaned again");
	check_eq(host_file_byte(path, PAGE_SIZE + 1), 0x82, "and written again");
	check_eq(pinmm_flusher_stop(), 0, "stop");
	vm_munmap(addr, 2 * PAGE_SIZE);
	fput(file);
	unlink(path);
}

static void test_young_data_waits_for_expiry(void **state)
{
	struct pinmm_flusher_settings s = {.dirty_expire_centisecs = 360000,
					   .dirty_writeback_centisecs = 1,
					   .dirty_ratio = 100};
	struct file *file = host_file(1);
	unsigned long addr = map_shared(file, 1);
	unsigned long rounds;

	(void)state;
	check_eq(copy_to_user(addr, "\x91", 1), 0, "dirty the page");
	check_eq(pinmm_flusher_start(&s), 0, "start: every 10 ms, expiry one hour");
	rounds = flusher_stats().rounds;
	sleep_ms(100);
	check_true(flusher_stats().rounds > rounds, "the flusher woke up");
	check_eq(global_node_page_state(NR_FILE_DIRTY), 1, "but left the young page dirty");
	check_eq(host_file_byte(path, 0), 0, "unwritten");
	s.dirty_expire_centisecs = 0;
	check_eq(pinmm_flusher_set(&s), 0, "expire everything now");
	check_true(wait_clean(), "written after the setting changed");
	check_eq(host_file_byte(path, 0), 0x91, "the byte reached the host");
	check_eq(pinmm_flusher_stop(), 0, "stop");
	vm_munmap(addr, PAGE_SIZE);
	fput(file);
	unlink(path);
}

static int boot_16m(void **state)
{
	struct pinmm_config cfg = cfg_of(16ULL << 20, 0, 0);

	return boot_with_mm(state, &cfg);
}

/* 1% of a 16 MiB machine is 40 pages: dirtying 64 wakes a flusher that has no period. */
static void test_dirty_ratio_wakes_the_flusher(void **state)
{
	struct pinmm_flusher_settings s = {.dirty_expire_centisecs = 360000,
					   .dirty_writeback_centisecs = 0,
					   .dirty_ratio = 1};
	struct file *file = host_file(64);
	unsigned long addr = map_shared(file, 64);
	int written;

	(void)state;
	check_eq(pinmm_flusher_start(&s), 0, "start: no period, dirty_ratio 1%%");
	for (int i = 0; i < 30; i++)
		check_eq(copy_to_user(addr + i * PAGE_SIZE, "\xa1", 1), 0, "dirty page %d", i);
	sleep_ms(50);
	check_eq(flusher_stats().rounds, 0, "below the threshold: asleep");
	for (int i = 30; i < 64; i++)
		check_eq(copy_to_user(addr + i * PAGE_SIZE, "\xa1", 1), 0, "dirty page %d", i);
	/* The round writes what is dirty when it runs (at least the 41 that woke it); what is
	 * dirtied after it, below the threshold, waits for its expiry. */
	for (int i = 0; i < 500 && flusher_stats().pages_written < 41; i++)
		sleep_ms(10);
	check_true(flusher_stats().threshold_wakeups >= 1, "a threshold wake-up");
	check_true(flusher_stats().pages_written >= 41, "at least 41 pages written, found %lu",
		   flusher_stats().pages_written);
	check_eq(pinmm_flusher_stop(), 0, "stop (waits for the writes)");
	written = 0;
	for (int i = 0; i < 64; i++)
		written += host_file_byte(path, i * PAGE_SIZE) == 0xa1;
	/* The page whose fault crossed the threshold may have been written before the store
	 * that followed its fault: 40 hold the byte for sure. */
	check_true(written >= 40, "at least 40 pages on the host, found %d", written);
	check_true(global_node_page_state(NR_FILE_DIRTY) <= 40, "below the threshold again");
	vm_munmap(addr, 64 * PAGE_SIZE);
	fput(file);
	unlink(path);
}

static void test_shutdown_stops_the_flusher(void **state)
{
	(void)state;
	check_eq(pinmm_flusher_start(NULL), 0, "start, left running for the teardown");
}

static void test_no_machine(void **state)
{
	struct pinmm_flusher_stats st;

	(void)state;
	check_eq(pinmm_flusher_start(NULL), -ENODEV, "start without a machine");
	check_eq(pinmm_flusher_stats(&st), -ENODEV, "stats without a machine");
	check_eq(pinmm_flusher_stop(), -ESRCH, "stop: the shutdown stopped it");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_contract),
		test_with_mm(test_periodic_writeback_of_expired_data),
		test_with_mm(test_young_data_waits_for_expiry),
		cmocka_unit_test_setup_teardown(test_dirty_ratio_wakes_the_flusher, boot_16m,
						teardown_mm),
		test_with_mm(test_shutdown_stops_the_flusher),
		cmocka_unit_test(test_no_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
