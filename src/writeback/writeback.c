/* SPDX-License-Identifier: MIT */
/*
 * Writeback of pages that may be mapped: clear_page_dirty_for_io() cleans and write-protects
 * every PTE that maps a page (rmap's page_mkclean()) before PG_dirty is cleared, and
 * filemap_write_and_wait() and vfs_fsync() write a mapping's dirty pages with it. The page
 * cache's side (dirty accounting, block reservations, the requests to the block device) is
 * src/fs/page-writeback.c's and src/fs/balloc.c's; the background flusher is flusher.c.
 *
 * This is the first of the pin consumers: it sits above the address spaces because it walks
 * their mappings, and above GUP because it asks GUP's view of the page: with pin-aware
 * writeback on (pinmm_config.pin_aware_writeback), a page that page_maybe_dma_pinned()
 * reports is written as a stable copy and stays dirty, with its block reservation, until the
 * pin is gone (docs/gup-dma-problem.md).
 *
 * The rules that are easy to break: the hardware dirty bits move to the page before PG_dirty
 * is cleared, under the page lock, or a store made through a writable PTE is lost. And the pin
 * is looked at after page_mkclean(), with a full fence between: GUP-fast takes its reference
 * and then reads the PTE again, so either it sees the cleaned PTE (and falls back to a fault,
 * which waits for this writeback) or this side sees its pin.
 */
#include <errno.h>
#include <unistd.h>

#include "internal.h"

static bool pin_aware_writeback(void)
{
	const struct pinmm_config *cfg = pinmm_machine_config();

	return cfg && cfg->pin_aware_writeback;
}

/* Move the PTEs' dirty bits to the page and write-protect it everywhere. Page locked. */
static void page_mkclean_dirty(struct page *page)
{
	if (page_mkclean(page))
		set_page_dirty(page);
}

int clear_page_dirty_for_io(struct page *page)
{
	VM_BUG_ON(!PageLocked(page));
	page_mkclean_dirty(page);
	return test_clear_page_dirty(page);
}

/* writeback_control.prepare while the file may be mapped. */
static enum wb_action wb_prepare_mapped(struct page *page)
{
	page_mkclean_dirty(page);
	if (pin_aware_writeback() && PagePrivate(page)) {
		/* Pairs with GUP-fast's grab-then-recheck of the PTE. */
		atomic_thread_fence(memory_order_seq_cst);
		if (page_maybe_dma_pinned(page))
			return WB_WRITE_STABLE;
	}
	return test_clear_page_dirty(page) ? WB_WRITE : WB_SKIP;
}

int writeback_mapping(struct address_space *mapping, enum writeback_sync_modes mode,
		      unsigned long *nr_written)
{
	struct writeback_control wbc = {.sync_mode = mode, .prepare = wb_prepare_mapped};
	int ret = write_dirty_pages(mapping, &wbc);

	if (nr_written)
		*nr_written += wbc.nr_written;
	return ret;
}

int filemap_write_and_wait(struct address_space *mapping)
{
	return writeback_mapping(mapping, WB_SYNC_ALL, NULL);
}

int vfs_fsync(struct file *file, int datasync)
{
	struct address_space *mapping;
	int err, ret;

	if (file_check(file))
		return -EBADF;
	mapping = file->f_mapping;
	err = filemap_write_and_wait(mapping);

	if (mapping->shmem)
		return err;
	if (should_fail("io:write"))
		ret = -1, errno = EIO;
	else
		ret = datasync ? fdatasync(mapping->host_fd) : fsync(mapping->host_fd);
	if (ret < 0 && !err)
		err = -errno;
	return err;
}
