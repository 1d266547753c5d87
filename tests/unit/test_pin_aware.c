/* SPDX-License-Identifier: MIT */
/*
 * Pin-aware writeback (pinmm_config.pin_aware_writeback, src/writeback/writeback.c) against
 * the writeback Linux ships, on a shared host-file mapping whose page a device writes through
 * a pin:
 *  - off (the default under either rule set): writeback cleans the pinned page and consumes its
 *    block reservation; the device's store lands behind its back, and unpin with make_dirty
 *    dirties a page without page_mkwrite (WARN, counted); a store while the page is under I/O
 *    is a torn write;
 *  - on: writeback writes a stable copy of the pinned page and leaves it dirty, its
 *    reservation kept; no torn write, nothing dirtied behind the file system's back; after
 *    unpin (with or without make_dirty) the normal path writes the device's data;
 *  - a FOLL_GET reference is invisible to it (page_maybe_dma_pinned() is false): the torn
 *    write happens, as the pin series says it must.
 * The device here is the test itself, storing through page_address() with relaxed atomics
 * (a hook at "block:copying" stores while the block device copies the page out).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/blkdev.h>
#include <pinmm/err.h>
#include <pinmm/fs.h>
#include <pinmm/inject.h>
#include <pinmm/writeback.h>

#include "test_mm_util.h"

static char path[64];

struct fixture {
	struct file *file;
	unsigned long addr;
	struct page *page;
};

static struct file *host_file(void)
{
	struct file *file;
	int fd;

	strcpy(path, "/tmp/pinmm-pinaware-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, PAGE_SIZE), 0);
	close(fd);
	file = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(file));
	return file;
}

static int boot_pin_aware(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.pin_aware_writeback = true;
	return boot_with_mm(state, &cfg);
}

/* Map the file's page shared, store 0x11 at 0 through the mapping (page_mkwrite reserves),
 * and pin it for writing as a driver does before DMA. */
static struct fixture setup_pinned(bool pin)
{
	struct fixture f = {.file = host_file()};

	f.addr = vm_mmap(f.file, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(f.addr));
	assert_int_equal(copy_to_user(f.addr, "\x11", 1), 0);
	if (pin)
		assert_int_equal(pin_user_pages_fast(f.addr, 1, FOLL_WRITE, &f.page), 1);
	else
		assert_int_equal(get_user_pages_fast(f.addr, 1, FOLL_WRITE, &f.page), 1);
	return f;
}

static void teardown_fixture(struct fixture *f)
{
	vm_munmap(f->addr, PAGE_SIZE);
	fput(f->file);
	unlink(path);
}

static void device_store(struct page *page, unsigned int off, unsigned char val)
{
	__atomic_store_n((unsigned char *)page_address(page) + off, val, __ATOMIC_RELAXED);
}

static struct pinmm_fs_stats fs_stats(void)
{
	struct pinmm_fs_stats st;

	assert_int_equal(pinmm_fs_stats(&st), 0);
	return st;
}

static unsigned long torn(void)
{
	struct pinmm_bdev_stats st;

	assert_int_equal(pinmm_bdev_stats(&st), 0);
	return st.torn;
}

static void test_off_by_default(void **state)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	check_eq(cfg.pin_aware_writeback, false, "pinmm_config_default(): off");
	check_eq(pinmm_machine_config()->pin_aware_writeback, false,
		 "the booted machine (rules %s): off", pinmm_rules_name(pinmm_rules()));
}

/* Linux's writeback: the 5.7 problem, step by step. */
static void test_unaware_writeback_loses_track(void **state)
{
	struct fixture f = setup_pinned(true);
	unsigned long warns = pinmm_warn_count();

	(void)state;
	check_eq(vfs_fsync(f.file, 0), 0, "fsync while pinned");
	check_eq(PageDirty(f.page), false, "writeback cleaned the pinned page");
	check_eq(PagePrivate(f.page), false, "and consumed its reservation");
	device_store(f.page, 8, 0x22);
	check_eq(vfs_fsync(f.file, 0), 0, "fsync: the device's store is invisible to it");
	check_eq(host_file_byte(path, 8), 0, "the device's byte is not on storage");
	unpin_user_pages_dirty_lock(&f.page, 1, true);
	check_eq(vfs_fsync(f.file, 0), 0, "fsync after the dirtying unpin");
	check_eq(host_file_byte(path, 8), 0x22, "written now");
	check_eq(fs_stats().dirtied_without_mkwrite, 1, "but dirtied without page_mkwrite");
	check_eq(pinmm_warn_count() - warns, 1, "the WARN");
	teardown_fixture(&f);
}

static void test_pin_aware_keeps_the_page_dirty(void **state)
{
	struct fixture f = setup_pinned(true);
	unsigned long warns = pinmm_warn_count();

	(void)state;
	check_eq(vfs_fsync(f.file, 0), 0, "fsync while pinned");
	check_eq(host_file_byte(path, 0), 0x11, "a stable copy was written");
	check_eq(PageDirty(f.page), true, "the pinned page stays dirty");
	check_eq(PagePrivate(f.page), true, "with its reservation");
	check_eq(fs_stats().reserved, 1, "one block reserved");
	device_store(f.page, 8, 0x22);
	check_eq(vfs_fsync(f.file, 0), 0, "fsync again while pinned");
	check_eq(host_file_byte(path, 8), 0x22, "each writeback writes the page as it is then");
	device_store(f.page, 16, 0x33);
	unpin_user_pages_dirty_lock(&f.page, 1, true);
	check_eq(vfs_fsync(f.file, 0), 0, "fsync after the unpin");
	check_eq(host_file_byte(path, 16), 0x33, "the last device store is on storage");
	check_eq(PageDirty(f.page) || PagePrivate(f.page), false,
		 "unpinned: the normal path cleaned it and consumed the reservation");
	check_eq(fs_stats().dirtied_without_mkwrite, 0, "nothing dirtied behind the fs");
	check_eq(pinmm_warn_count(), warns, "no WARN");
	teardown_fixture(&f);
}

/* A driver that unpins without make_dirty (it believes it only read) loses nothing either:
 * the page was kept dirty. */
static void test_pin_aware_unpin_without_dirty(void **state)
{
	struct fixture f = setup_pinned(true);

	(void)state;
	check_eq(vfs_fsync(f.file, 0), 0, "fsync while pinned");
	device_store(f.page, 24, 0x44);
	unpin_user_page(f.page);
	check_eq(vfs_fsync(f.file, 0), 0, "fsync after a clean unpin");
	check_eq(host_file_byte(path, 24), 0x44, "the store made while pinned is on storage");
	teardown_fixture(&f);
}

static void store_into_page(const char *point, void *arg)
{
	(void)point;
	device_store(arg, 32, 0x55);
}

/* A device store while the block device copies the page out. */
static unsigned long fsync_with_store(struct fixture *f)
{
	unsigned long before = torn();

	assert_int_equal(pinmm_hook_set("block:copying", store_into_page, f->page), 0);
	vfs_fsync(f->file, 0);
	pinmm_hook_clear_all();
	return torn() - before;
}

static void test_unaware_writeback_tears(void **state)
{
	struct fixture f = setup_pinned(true);

	(void)state;
	check_eq(fsync_with_store(&f), 1, "pin-unaware writeback: a torn write");
	unpin_user_pages_dirty_lock(&f.page, 1, true);
	teardown_fixture(&f);
}

static void test_pin_aware_does_not_tear(void **state)
{
	struct fixture f = setup_pinned(true);

	(void)state;
	check_eq(fsync_with_store(&f), 0, "pin-aware writeback: the bounce copy cannot tear");
	check_eq(host_file_byte(path, 0), 0x11, "the copy was written");
	unpin_user_pages_dirty_lock(&f.page, 1, true);
	check_eq(vfs_fsync(f.file, 0), 0, "fsync after the unpin");
	check_eq(host_file_byte(path, 32), 0x55, "the store that raced the copy is on storage");
	teardown_fixture(&f);
}

/* What the pin series is for: without a pin, writeback cannot tell. */
static void test_pin_aware_cannot_see_foll_get(void **state)
{
	struct fixture f = setup_pinned(false);

	(void)state;
	check_eq(page_maybe_dma_pinned(f.page), false, "a FOLL_GET reference is not a pin");
	check_eq(fsync_with_store(&f), 1, "so writeback tears under it, pin-aware or not");
	set_page_dirty_lock(f.page);
	put_page(f.page);
	teardown_fixture(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm_57(test_off_by_default),
		test_with_mm_modern(test_off_by_default),
		test_with_mm_57(test_unaware_writeback_loses_track),
		test_with_mm_modern(test_unaware_writeback_loses_track),
		cmocka_unit_test_setup_teardown(test_pin_aware_keeps_the_page_dirty, boot_pin_aware,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_pin_aware_unpin_without_dirty, boot_pin_aware,
						teardown_mm),
		test_with_mm_57(test_unaware_writeback_tears),
		cmocka_unit_test_setup_teardown(test_pin_aware_does_not_tear, boot_pin_aware,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_pin_aware_cannot_see_foll_get, boot_pin_aware,
						teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
