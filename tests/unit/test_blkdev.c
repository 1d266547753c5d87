/* SPDX-License-Identifier: MIT */
/*
 * The block device under the host files (src/block/) and the file system's delayed allocation
 * (src/fs/balloc.c): writeback submits requests that the device's threads complete; a page
 * changed while under I/O is a detected torn write (-EILSEQ, counted, reported as -EIO by
 * fsync, storage unchanged); a failed write ("io:write") leaves the page clean with PG_error
 * and -EIO for the next fsync only; page_mkwrite reserves a block (PG_private), writeback
 * consumes it; a page dirtied without page_mkwrite WARNs once, is counted and gets a block if
 * one is left, else its data is lost and fsync says -ENOSPC; a full file system refuses write
 * faults (-EFAULT through copy_to_user); truncation gives reservations back; shmem files never
 * reserve; CPU stores racing writeback never dirty a page behind the file system. Every test
 * ends with pinmm_check_invariants() through the shutdown (reservations
 * against PG_private, nothing under writeback).
 *
 * Host files are temporary files in /tmp, removed at the end of each test.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/blkdev.h>
#include <pinmm/err.h>
#include <pinmm/fs.h>
#include <pinmm/inject.h>
#include <pinmm/writeback.h>

#include "test_mm_util.h"

static char path[64];

/* A host file of npages pages of 0x5A, opened read-write. */
static struct file *host_file(unsigned long npages)
{
	char buf[4096];
	struct file *file;
	int fd;

	strcpy(path, "/tmp/pinmm-blkdev-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(buf, 0x5A, sizeof(buf));
	for (unsigned long i = 0; i < npages; i++)
		assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	file = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(file));
	return file;
}

static void done_with(struct file *file)
{
	fput(file);
	unlink(path);
}

static struct pinmm_fs_stats fs_stats(void)
{
	struct pinmm_fs_stats st;

	assert_int_equal(pinmm_fs_stats(&st), 0);
	return st;
}

static struct pinmm_bdev_stats bdev_stats(void)
{
	struct pinmm_bdev_stats st;

	assert_int_equal(pinmm_bdev_stats(&st), 0);
	return st;
}

static unsigned long map_shared(struct file *file, unsigned long npages)
{
	unsigned long addr = vm_mmap(file, 0, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_SHARED, 0);

	assert_false(IS_ERR_VALUE(addr));
	return addr;
}

static struct page *cached(struct file *file, pgoff_t index)
{
	struct page *page = find_get_page(file->f_mapping, index);

	assert_non_null(page);
	put_page(page);
	return page;
}

/* ---- the device ---- */

static void test_writeback_goes_through_the_device(void **state)
{
	struct file *file = host_file(4);
	unsigned long addr = map_shared(file, 4);
	struct pinmm_bdev_stats before = bdev_stats(), after;

	(void)state;
	check_eq(pinmm_bdev_set_delay(200), 0, "a slow device");
	for (int i = 0; i < 4; i++)
		check_eq(copy_to_user(addr + i * PAGE_SIZE + 3, "\x11", 1), 0, "write page %d", i);
	check_eq(vfs_fsync(file, 0), 0, "fsync through the device");
	after = bdev_stats();
	check_eq(after.submitted - before.submitted, 4, "four requests submitted");
	check_eq(after.completed - before.completed, 4, "and completed before fsync returned");
	check_eq(after.in_flight, 0, "nothing in flight after fsync");
	check_eq(after.torn, 0, "nothing torn");
	for (int i = 0; i < 4; i++)
		check_eq(host_file_byte(path, i * PAGE_SIZE + 3), 0x11, "page %d reached the host file", i);
	check_eq(global_node_page_state(NR_WRITEBACK), 0, "nr_writeback back to 0");
	vm_munmap(addr, 4 * PAGE_SIZE);
	done_with(file);
}

/* A store that lands after submission and before the device copies the data out: the
 * hook at "block:copying" plays the part of a device writing the page. */
static void store_into_page(const char *point, void *arg)
{
	(void)point;
	__atomic_store_n((unsigned char *)arg, 0x77, __ATOMIC_RELAXED);
}

static void test_torn_write_is_detected(void **state)
{
	struct file *file = host_file(1);
	struct page *page = read_mapping_page(file->f_mapping, 0);
	unsigned char *data = page_address(page);
	unsigned long warns;

	(void)state;
	assert_false(IS_ERR(page));
	data[0] = 0x66;
	set_page_dirty_lock(page);
	warns = pinmm_warn_count();
	check_eq(pinmm_hook_set("block:copying", store_into_page, data + 9), 0, "the hook");
	check_eq(vfs_fsync(file, 0), -EIO, "fsync reports the torn write as an I/O error");
	pinmm_hook_clear_all();
	check_eq(bdev_stats().torn, 1, "one torn write counted");
	check_eq(host_file_byte(path, 0), 0x5A, "storage does not hold torn data");
	check_eq(host_file_byte(path, 9), 0x5A, "nor the late store");
	check_true(PageError(page), "PG_error on the page");
	check_eq(vfs_fsync(file, 0), 0, "reported once");
	check_eq(pinmm_warn_count() - warns, 1, "the page was dirtied without page_mkwrite: WARN");
	check_eq(fs_stats().dirtied_without_mkwrite, 1, "and counted");
	put_page(page);
	done_with(file);
}

static void test_write_error_reaches_fsync_once(void **state)
{
	struct file *file = host_file(2);
	unsigned long addr = map_shared(file, 2);
	struct pinmm_fail_attr fail = {.sites = "io:write", .nth = 1};

	(void)state;
	check_eq(copy_to_user(addr, "\x22", 1), 0, "write page 0");
	check_eq(copy_to_user(addr + PAGE_SIZE, "\x23", 1), 0, "write page 1");
	check_eq(pinmm_fail_set(&fail), 0, "fail the next host write");
	check_eq(vfs_fsync(file, 0), -EIO, "fsync reports the failed write");
	pinmm_fail_set(NULL);
	check_eq(bdev_stats().errors, 1, "one write error counted by the device");
	check_true(PageError(cached(file, 0)) != PageError(cached(file, 1)),
		   "exactly one page has PG_error");
	check_eq(PageDirty(cached(file, 0)) || PageDirty(cached(file, 1)), false,
		 "both clean: the failed page's data is lost, as Linux loses it");
	check_eq(host_file_byte(path, 0) == 0x22 || host_file_byte(path, PAGE_SIZE) == 0x23, true,
		 "the other page was written");
	check_eq(vfs_fsync(file, 0), 0, "the error is reported once");
	vm_munmap(addr, 2 * PAGE_SIZE);
	done_with(file);
}

/* ---- reservations ---- */

static void test_mkwrite_reserves_writeback_consumes(void **state)
{
	struct file *file = host_file(2);
	unsigned long addr = map_shared(file, 2);
	unsigned long warns = pinmm_warn_count();

	(void)state;
	check_eq(copy_to_user(addr, "\x31", 1), 0, "write fault");
	check_true(PagePrivate(cached(file, 0)), "page_mkwrite reserved a block (PG_private)");
	check_eq(fs_stats().reserved, 1, "one block reserved");
	check_eq(copy_to_user(addr + 1, "\x32", 1), 0, "a second store: no new fault");
	check_eq(fs_stats().reserved, 1, "still one");
	check_eq(vfs_fsync(file, 0), 0, "fsync");
	check_eq(PagePrivate(cached(file, 0)), false, "writeback consumed the reservation");
	check_eq(fs_stats().reserved, 0, "no block reserved");
	check_eq(fs_stats().in_flight, 0, "no block in flight");
	check_eq(copy_to_user(addr + 2, "\x33", 1), 0, "a store after writeback faults again");
	check_true(PagePrivate(cached(file, 0)), "and reserves again");
	check_eq(pinmm_warn_count(), warns, "no WARN on the page_mkwrite path");
	check_eq(fs_stats().dirtied_without_mkwrite, 0, "nothing dirtied behind the fs's back");
	vm_munmap(addr, 2 * PAGE_SIZE);
	done_with(file);
	check_eq(fs_stats().reserved, 0, "the last fput() wrote the page: no reservation left");
}

static void test_full_fs_refuses_write_faults(void **state)
{
	struct file *file = host_file(3);
	unsigned long addr = map_shared(file, 3);

	(void)state;
	check_eq(pinmm_fs_set_capacity(2), 0, "capacity 2 blocks");
	check_eq(copy_to_user(addr, "\x41", 1), 0, "page 0 reserves");
	check_eq(copy_to_user(addr + PAGE_SIZE, "\x42", 1), 0, "page 1 reserves");
	check_eq(pinmm_fs_set_capacity(1), -EBUSY, "capacity below what is reserved");
	check_eq(copy_to_user(addr + 2 * PAGE_SIZE, "\x43", 1), 1,
		 "page 2: no block left, the fault fails (SIGBUS)");
	check_eq(fs_stats().enospc_faults, 1, "counted");
	check_eq(vfs_fsync(file, 0), 0, "fsync frees the blocks");
	check_eq(copy_to_user(addr + 2 * PAGE_SIZE, "\x43", 1), 0, "page 2 now reserves");
	check_eq(vfs_fsync(file, 0), 0, "fsync");
	check_eq(host_file_byte(path, 2 * PAGE_SIZE), 0x43, "written");
	vm_munmap(addr, 3 * PAGE_SIZE);
	done_with(file);
}

static void test_dirtied_without_mkwrite_enospc_loses_data(void **state)
{
	/* The block goes to a page of another file, which is not written back meanwhile. */
	struct file *other = host_file(1);
	char other_path[sizeof(path)];
	unsigned long addr = map_shared(other, 1);
	struct file *file;
	struct page *page;
	unsigned long warns = pinmm_warn_count();

	(void)state;
	strcpy(other_path, path);
	file = host_file(2);
	page = read_mapping_page(file->f_mapping, 1);
	assert_false(IS_ERR(page));
	check_eq(pinmm_fs_set_capacity(1), 0, "capacity 1 block");
	check_eq(copy_to_user(addr, "\x51", 1), 0, "the other file's page takes the block");
	((unsigned char *)page_address(page))[0] = 0x52;
	set_page_dirty_lock(page); /* as a driver releasing a GUP page does */
	check_eq(vfs_fsync(file, 0), -ENOSPC, "no block for the page dirtied behind the fs");
	check_eq(fs_stats().dirtied_without_mkwrite, 1, "counted");
	check_eq(fs_stats().lost_pages, 1, "its data lost");
	check_eq(pinmm_warn_count() - warns, 1, "one WARN");
	check_eq(host_file_byte(path, PAGE_SIZE), 0x5A, "the page was not written");
	check_true(PageError(page) && !PageDirty(page), "clean, PG_error");
	check_eq(vfs_fsync(file, 0), 0, "reported once");

	/* With a block free, the same page gets one: counted, not lost. */
	check_eq(vfs_fsync(other, 0), 0, "the other file's block is written and freed");
	((unsigned char *)page_address(page))[0] = 0x53;
	set_page_dirty_lock(page);
	check_eq(vfs_fsync(file, 0), 0, "a block was free");
	check_eq(fs_stats().dirtied_without_mkwrite, 2, "counted again");
	check_eq(fs_stats().lost_pages, 1, "not lost");
	check_eq(pinmm_warn_count() - warns, 1, "the WARN is once per machine");
	check_eq(host_file_byte(path, PAGE_SIZE), 0x53, "written");
	put_page(page);
	done_with(file);
	vm_munmap(addr, PAGE_SIZE);
	fput(other);
	unlink(other_path);
}

static void test_truncate_returns_reservations(void **state)
{
	struct file *file = host_file(2);
	unsigned long addr = map_shared(file, 2);

	(void)state;
	check_eq(copy_to_user(addr + PAGE_SIZE, "\x61", 1), 0, "page 1 reserves");
	check_eq(fs_stats().reserved, 1, "one reserved");
	vm_munmap(addr, 2 * PAGE_SIZE);
	check_eq(vfs_truncate(file, PAGE_SIZE), 0, "truncate page 1 away");
	check_eq(fs_stats().reserved, 0, "its reservation went with it");
	done_with(file);
}

static void test_shmem_has_no_reservations(void **state)
{
	struct file *file = shmem_file_setup("blkdev", 2 * PAGE_SIZE, 0);
	unsigned long addr;

	(void)state;
	assert_false(IS_ERR(file));
	addr = map_shared(file, 2);
	check_eq(pinmm_fs_set_capacity(0), 0, "no blocks at all");
	check_eq(copy_to_user(addr, "\x71", 1), 0, "a shmem page needs none");
	check_eq(PagePrivate(cached(file, 0)), false, "no PG_private");
	check_eq(fs_stats().reserved, 0, "nothing reserved");
	vm_munmap(addr, 2 * PAGE_SIZE);
	fput(file);
}

/* CPU stores (copy_to_user(): GUP, then the store) against writeback on another CPU: a store
 * must never land in a page that writeback cleaned after the fault that made it writable
 * (it would be dirtied without page_mkwrite, or tear the write in flight). The window is a
 * few instructions wide and this loop rarely hits it; dma_writeback's long pin-aware run is
 * what found it (5 pages dirtied without page_mkwrite and 1 torn write in 100,000 cycles). */
struct fsync_loop {
	struct file *file;
	atomic_bool stop;
};

static void *fsync_loop(void *p)
{
	struct fsync_loop *l = p;

	while (!atomic_load(&l->stop))
		vfs_fsync(l->file, 0);
	return NULL;
}

static void test_cpu_stores_against_writeback(void **state)
{
	struct file *file = host_file(2);
	unsigned long addr = map_shared(file, 2);
	struct fsync_loop l = {.file = file};
	pthread_t t;

	(void)state;
	atomic_init(&l.stop, false);
	pthread_create(&t, NULL, fsync_loop, &l);
	for (int i = 0; i < 20000; i++) {
		unsigned char b = (unsigned char)i;

		if (copy_to_user(addr + (i & 1) * PAGE_SIZE + (i % 512) * 8, &b, 1))
			break;
	}
	atomic_store(&l.stop, true);
	pthread_join(t, NULL);
	check_eq(fs_stats().dirtied_without_mkwrite, 0, "no store dirtied a page behind the fs");
	check_eq(bdev_stats().torn, 0, "no store tore a write");
	check_eq(vfs_fsync(file, 0), 0, "fsync");
	check_eq(host_file_byte(path, PAGE_SIZE + (19999 % 512) * 8), (unsigned char)19999,
		 "the last store reached the host file");
	vm_munmap(addr, 2 * PAGE_SIZE);
	done_with(file);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	check_eq(pinmm_fs_stats(NULL), -EINVAL, "pinmm_fs_stats(NULL)");
	check_eq(pinmm_bdev_stats(NULL), -EINVAL, "pinmm_bdev_stats(NULL)");
	check_eq(pinmm_bdev_set_delay(100001), -EINVAL, "a delay above 100 ms");
}

static void test_no_machine(void **state)
{
	struct pinmm_fs_stats fs;
	struct pinmm_bdev_stats bd;

	(void)state;
	check_eq(pinmm_fs_stats(&fs), -ENODEV, "pinmm_fs_stats without a machine");
	check_eq(pinmm_fs_set_capacity(1), -ENODEV, "pinmm_fs_set_capacity without a machine");
	check_eq(pinmm_bdev_stats(&bd), -ENODEV, "pinmm_bdev_stats without a machine");
	check_eq(pinmm_bdev_set_delay(1), -ENODEV, "pinmm_bdev_set_delay without a machine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_writeback_goes_through_the_device),
		test_with_mm(test_torn_write_is_detected),
		test_with_mm(test_write_error_reaches_fsync_once),
		test_with_mm(test_mkwrite_reserves_writeback_consumes),
		test_with_mm(test_full_fs_refuses_write_faults),
		test_with_mm(test_dirtied_without_mkwrite_enospc_loses_data),
		test_with_mm(test_truncate_returns_reservations),
		test_with_mm(test_shmem_has_no_reservations),
		test_with_mm(test_cpu_stores_against_writeback),
		test_with_mm(test_bad_arguments),
		cmocka_unit_test(test_no_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
