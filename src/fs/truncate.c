/* SPDX-License-Identifier: MIT */
/*
 * Changing a file's size (vfs_truncate()) and dropping cached pages (truncate_inode_pages()).
 *
 * Linux unmaps the pages it truncates (unmap_mapping_range()); pinmm refuses instead: shrinking
 * a file whose pages beyond the new end are mapped fails with -EBUSY and changes nothing.
 * Pages that are only referenced (pinned, or held by a caller) are dropped from the cache and
 * live on, detached, until their last put_page().
 *
 * The rule that is easy to break: a shrink stores the new i_size before it looks at any page.
 * Readers insert a page and then check i_size with it locked (filemap.c); both sides are
 * seq_cst, so a page that the walk below does not find was inserted after the store, and its
 * creator sees the new size and deletes it again. A page that the walk has locked once cannot
 * be mapped or written back past the new end afterwards: faults and writeback read i_size
 * under the page lock, after our unlock.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void truncate_inode_pages(struct address_space *mapping, loff_t lstart)
{
	pgoff_t start = (pgoff_t)((lstart + (loff_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
	size_t partial = (size_t)lstart & (PAGE_SIZE - 1);
	struct page *pages[PAGEVEC_SIZE];
	pgoff_t index = start;
	struct page *page;
	unsigned int nr;

	while ((nr = find_get_pages(mapping, &index, PAGEVEC_SIZE, pages))) {
		for (unsigned int i = 0; i < nr; i++) {
			page = pages[i];
			lock_page(page);
			/* The completion of a write in flight reports into the mapping. */
			wait_on_page_writeback(page);
			if (page->mapping == mapping) {
				/* Callers made sure of this; a mapped page would keep a PTE to
				 * a page that no longer belongs to the file. */
				WARN_ON_ONCE(page_mapped(page));
				cancel_dirty_page(page);
				fs_release_reservation(page);
				delete_from_page_cache(page);
			}
			unlock_page(page);
			put_page(page);
		}
	}
	if (!partial)
		return;
	/* The bytes past the new end must read as zero if the file grows again. */
	page = find_lock_page(mapping, start - 1);
	if (!page)
		return;
	if (PageUptodate(page))
		memset((char *)page_address(page) + partial, 0, PAGE_SIZE - partial);
	unlock_page(page);
	put_page(page);
}

/*
 * i_size has just become size. Lock each cached page from the one that size falls in onwards,
 * which waits out any fault or writeback that read the old size; return true if one lying
 * wholly beyond size is mapped.
 */
static bool pages_mapped_beyond(struct address_space *mapping, loff_t size)
{
	pgoff_t end = (pgoff_t)((size + (loff_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
	pgoff_t index = (pgoff_t)(size >> PAGE_SHIFT);
	struct page *pages[PAGEVEC_SIZE];
	bool mapped = false;
	unsigned int nr;

	while (!mapped && (nr = find_get_pages(mapping, &index, PAGEVEC_SIZE, pages))) {
		for (unsigned int i = 0; i < nr; i++) {
			struct page *page = pages[i];

			if (!mapped) {
				lock_page(page);
				mapped = page->mapping == mapping && page->index >= end &&
					 page_mapped(page);
				unlock_page(page);
			}
			put_page(page);
		}
	}
	return mapped;
}

/* Shrink to size. i_rwsem held. */
static int truncate_shrink(struct address_space *mapping, loff_t old, loff_t size)
{
	int err = 0;

	i_size_write(mapping, size);
	if (pages_mapped_beyond(mapping, size))
		err = -EBUSY;
	else if (mapping->host_fd >= 0 && ftruncate(mapping->host_fd, size) < 0)
		err = -errno;
	if (err) {
		i_size_write(mapping, old);
		return err;
	}
	truncate_inode_pages(mapping, size);
	return 0;
}

int vfs_truncate(struct file *file, loff_t size)
{
	struct address_space *mapping;
	loff_t old;
	int err = 0;

	if (file_check(file))
		return -EBADF;
	mapping = file->f_mapping;
	if (size < 0)
		return -EINVAL;
	/* What ftruncate(2) says for a file not open for writing. A hugetlb file keeps its
	 * size here (see hugetlb_file_setup()). */
	if (!(file->f_mode & FMODE_WRITE) || is_file_hugepages(file))
		return -EINVAL;
	pthread_rwlock_wrlock(&mapping->i_rwsem);
	old = i_size_read(mapping);
	if (size < old) {
		err = truncate_shrink(mapping, old, size);
	} else if (size > old) {
		/* The host grows first, so that whoever sees the new size can read it. */
		if (mapping->host_fd >= 0 && ftruncate(mapping->host_fd, size) < 0)
			err = -errno;
		else
			i_size_write(mapping, size);
	}
	pthread_rwlock_unlock(&mapping->i_rwsem);
	return err;
}
