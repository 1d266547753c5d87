/* SPDX-License-Identifier: MIT */
/*
 * Dirty pages and writing them to the host file: set_page_dirty() and its accounting, the
 * test-and-clear of PG_dirty that pays the count back, and the write of a mapping's dirty pages
 * (write_dirty_pages()). Cleaning the PTEs that map a page before it is written
 * (clear_page_dirty_for_io(), through rmap's page_mkclean()) is the writeback layer's, above
 * the address spaces (src/writeback/writeback.c); this file only writes what its caller has
 * cleaned, so the last fput(), which finds no mapping left, writes back without rmap.
 *
 * Only host-file pages count in nr_dirty: shmem pages just carry PG_dirty (tmpfs has no dirty
 * accounting in Linux) and anonymous pages too.
 *
 * The rule that is easy to break: page->mapping must not change under set_page_dirty(), or
 * the dirty count leaks. Callers hold the page lock, or the page is mapped (truncation refuses
 * mapped pages; the last fput() comes after the last unmap). Every path that clears PG_dirty of
 * a cache page (here and truncation) does so with the page locked, and pays back the count
 * only if its own test-and-clear found the bit set.
 */
#include <errno.h>
#include <unistd.h>

#include "internal.h"

/* Does this mapping's dirty state count in nr_dirty (Linux's mapping_cap_account_dirty())? */
static bool mapping_cap_account_dirty(const struct address_space *mapping)
{
	return !mapping->shmem;
}

/* page->mapping when it is an address_space; NULL for anonymous and detached pages. */
static struct address_space *page_file_mapping(const struct page *page)
{
	struct address_space *mapping = compound_head(page)->mapping;

	if ((unsigned long)mapping & PAGE_MAPPING_ANON)
		return NULL;
	return mapping;
}

int set_page_dirty(struct page *page)
{
	struct address_space *mapping;

	/* Nobody may dirty a page they hold no reference to, nor the zero page (a dirty unpin of
	 * a page pinned for reading): with the debug checks on, refuse and name the page. */
	if (debug_checks() &&
	    (WARN_MISUSE_PAGE(page_ref_count(compound_head(page)) <= 0, page,
			      "set_page_dirty() of a free page") ||
	     WARN_MISUSE_PAGE(is_zero_pfn(page_to_pfn(page)), page,
			      "set_page_dirty() of the zero page")))
		return 0;
	mapping = page_file_mapping(page);
	if (TestSetPageDirty(page))
		return 0;
	if (mapping && mapping_cap_account_dirty(mapping)) {
		mod_node_page_state(NR_FILE_DIRTY, 1);
		mod_node_page_state(NR_DIRTIED, 1);
	}
	return 1;
}

int set_page_dirty_lock(struct page *page)
{
	int ret;

	lock_page(page);
	ret = set_page_dirty(page);
	unlock_page(page);
	return ret;
}

int test_clear_page_dirty(struct page *page)
{
	struct address_space *mapping = page_file_mapping(page);

	if (!TestClearPageDirty(page))
		return 0;
	if (mapping && mapping_cap_account_dirty(mapping))
		mod_node_page_state(NR_FILE_DIRTY, -1);
	return 1;
}

void cancel_dirty_page(struct page *page)
{
	test_clear_page_dirty(page);
}

/* The host's error as Linux reports writeback errors (mapping_set_error()): -ENOSPC, or -EIO
 * for everything else. */
static int writeback_error(int err)
{
	return err == -ENOSPC ? -ENOSPC : -EIO;
}

/* Write len bytes of the page at pos. 0 or a negative errno. */
static int host_write(int fd, const char *buf, size_t len, off_t pos)
{
	while (len) {
		ssize_t n = should_fail("io:write") ? (errno = EIO, -1) : pwrite(fd, buf, len, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		pos += n;
	}
	return 0;
}

/*
 * Write a locked page whose PG_dirty was just cleared, up to the end of the file. As in Linux,
 * a failed page stays clean with PG_error set: its data is lost, and the error waits in
 * writeback_errors for the next fsync.
 */
static int writepage(struct address_space *mapping, struct page *page)
{
	off_t pos = (off_t)page->index << PAGE_SHIFT;
	loff_t size = i_size_read(mapping);
	int err;

	if (pos >= size)
		return 0; /* wholly beyond EOF: truncation is about to drop it */
	SetPageWriteback(page);
	mod_node_page_state(NR_WRITEBACK, 1);
	err = host_write(mapping->host_fd, page_address(page),
			 size - pos < (loff_t)PAGE_SIZE ? (size_t)(size - pos) : PAGE_SIZE, pos);
	ClearPageWriteback(page);
	mod_node_page_state(NR_WRITEBACK, -1);
	mod_node_page_state(NR_WRITTEN, 1);
	if (!err) {
		ClearPageError(page);
		return 0;
	}
	SetPageError(page);
	atomic_fetch_add(&mapping->writeback_errors, 1);
	return writeback_error(err);
}

int write_dirty_pages(struct address_space *mapping, int (*clear_dirty)(struct page *page))
{
	struct page *pages[PAGEVEC_SIZE];
	pgoff_t index = 0;
	unsigned int nr;
	int err = 0;

	if (mapping->shmem)
		return 0;
	while ((nr = find_get_pages(mapping, &index, PAGEVEC_SIZE, pages))) {
		for (unsigned int i = 0; i < nr; i++) {
			struct page *page = pages[i];
			int ret = 0;

			if (PageDirty(page)) {
				lock_page(page);
				if (page->mapping == mapping && clear_dirty(page))
					ret = writepage(mapping, page);
				unlock_page(page);
			}
			if (ret && !err)
				err = ret;
			put_page(page);
		}
	}
	/* Errors of writebacks that others ran since the last check are reported once. */
	if (atomic_exchange(&mapping->writeback_errors, 0) && !err)
		err = -EIO;
	return err;
}
