/* SPDX-License-Identifier: MIT */
/*
 * Writeback of pages that may be mapped: clear_page_dirty_for_io() cleans and write-protects
 * every PTE that maps a page (rmap's page_mkclean()) before PG_dirty is cleared, and
 * filemap_write_and_wait() and vfs_fsync() write a mapping's dirty pages with it. The page
 * cache's side (dirty accounting, the host write) is src/fs/page-writeback.c's.
 *
 * This is the first of the pin consumers: it sits above the address spaces because it walks
 * their mappings, and above GUP because the writeback-against-DMA rules (a pinned page may be
 * written by a device while it is written back) will ask GUP's view of the page.
 *
 * The rule that is easy to break: the hardware dirty bits move to the page before PG_dirty is
 * cleared, under the page lock, or a store made through a writable PTE is lost.
 */
#include <errno.h>
#include <unistd.h>

#include "internal.h"

int clear_page_dirty_for_io(struct page *page)
{
	VM_BUG_ON(!PageLocked(page));
	/* A PTE that was writable may have dirtied the page without PG_dirty (the hardware
	 * dirty bit); move that to the page before clearing it, as Linux does. */
	if (page_mkclean(page))
		set_page_dirty(page);
	return test_clear_page_dirty(page);
}

int filemap_write_and_wait(struct address_space *mapping)
{
	return write_dirty_pages(mapping, clear_page_dirty_for_io);
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
