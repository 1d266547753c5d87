/* SPDX-License-Identifier: MIT */
/*
 * Dirty pages and writing them to the host file: set_page_dirty() and its accounting, the
 * test-and-clear of PG_dirty that pays the count back, and the write of a mapping's dirty pages
 * (write_dirty_pages()) through the block device (src/block/): a request per page, completed
 * on a device thread by end_bio_write(). Cleaning the PTEs that map a page before it is
 * written (clear_page_dirty_for_io(), through rmap's page_mkclean()) and the decision to write
 * a stable snapshot of a pinned page are the writeback layer's, above the address spaces
 * (src/writeback/); they come in as writeback_control.prepare, so the last fput(), which finds
 * no mapping left, writes back without rmap.
 *
 * Only host-file pages count in nr_dirty: shmem pages just carry PG_dirty (tmpfs has no dirty
 * accounting in Linux) and anonymous pages too.
 *
 * The rules that are easy to break: page->mapping must not change under set_page_dirty(), or
 * the dirty count leaks. Callers hold the page lock, or the page is mapped (truncation refuses
 * mapped pages; the last fput() comes after the last unmap). Every path that clears PG_dirty of
 * a cache page (here and truncation) does so with the page locked, and pays back the count
 * only if its own test-and-clear found the bit set. And a page under writeback keeps its
 * mapping alive: the completion reports into it, so truncation waits for PG_writeback to clear
 * before the page leaves the cache (and the last fput() before the file goes).
 */
#include <errno.h>
#include <time.h>
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

long fs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Never 0, which means "no dirty page" in dirtied_when. */
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

/* The flusher's wake-up when nr_dirty passes its threshold (set_dirty_exceeded_notify()). */
static void (*_Atomic dirty_exceeded_fn)(void);
static atomic_ulong dirty_threshold;

void set_dirty_exceeded_notify(void (*fn)(void), unsigned long threshold)
{
	atomic_store(&dirty_threshold, fn ? threshold : 0);
	atomic_store(&dirty_exceeded_fn, fn);
}

static void dirty_exceeded_check(void)
{
	unsigned long thresh = atomic_load_explicit(&dirty_threshold, memory_order_relaxed);
	void (*fn)(void);

	if (!thresh || global_node_page_state(NR_FILE_DIRTY) <= (long)thresh)
		return;
	fn = atomic_load(&dirty_exceeded_fn);
	if (fn)
		fn();
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
		long none = 0;

		mod_node_page_state(NR_FILE_DIRTY, 1);
		mod_node_page_state(NR_DIRTIED, 1);
		atomic_compare_exchange_strong(&mapping->dirtied_when, &none, fs_now_ms());
		dirty_exceeded_check();
	}
	if (mapping)
		trace_event(TRACE_WRITEBACK_DIRTY_PAGE, (unsigned long)(long)mapping->host_fd,
			    page->index);
	return 1;
}

bool page_needs_write_fault(struct page *page)
{
	struct address_space *mapping = page_file_mapping(page);

	VM_BUG_ON(!PageLocked(page));
	return mapping && mapping_cap_account_dirty(mapping) && !PageDirty(page);
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

enum wb_action wb_prepare_unmapped(struct page *page)
{
	return test_clear_page_dirty(page) ? WB_WRITE : WB_SKIP;
}

void cancel_dirty_page(struct page *page)
{
	test_clear_page_dirty(page);
}

void mapping_set_error(struct address_space *mapping, int err)
{
	atomic_fetch_or(&mapping->writeback_errors, err == -ENOSPC ? AS_ENOSPC : AS_EIO);
}

/* Linux's filemap_check_errors(): report and clear; -EIO wins over -ENOSPC. */
static int filemap_check_errors(struct address_space *mapping)
{
	int bits = atomic_exchange(&mapping->writeback_errors, 0);

	if (bits & AS_EIO)
		return -EIO;
	return bits & AS_ENOSPC ? -ENOSPC : 0;
}

/* Leave writeback: the accounting, the wake-up. The request held no reference of its own:
 * the page cache's keeps the page, since nothing takes a page under writeback out of the
 * cache (truncation waits), so the waiter that this wakes may free it at once. */
static void bio_end_page(struct bio *bio)
{
	trace_event(TRACE_WRITEBACK_END_PAGE, (unsigned long)(long)bio->fd,
		    (unsigned long)bio->pos >> PAGE_SHIFT, (unsigned long)(long)bio->bi_status);
	mod_node_page_state(NR_WRITEBACK, -1);
	mod_node_page_state(NR_WRITTEN, 1);
	end_page_writeback(bio->page);
	bio_put(bio);
}

/* A device thread: a write of the page itself finished. As in Linux, a failed page stays
 * clean with PG_error: its data is lost, and the error waits for the next fsync. */
static void end_bio_write(struct bio *bio)
{
	struct address_space *mapping = bio->bi_private;

	if (bio->bi_status) {
		SetPageError(bio->page);
		mapping_set_error(mapping, bio->bi_status);
	} else {
		ClearPageError(bio->page);
	}
	fs_free_block();
	bio_end_page(bio);
}

/* A device thread: a snapshot's write finished. The page is still dirty and will be written
 * again, so a failure loses nothing; it is reported all the same, as any write error. */
static void end_bio_snapshot(struct bio *bio)
{
	if (bio->bi_status)
		mapping_set_error(bio->bi_private, bio->bi_status);
	bio_end_page(bio);
}

/* The bytes of the page that lie inside the file (0: wholly beyond EOF). */
static size_t page_bytes_in_file(struct address_space *mapping, struct page *page)
{
	loff_t pos = (loff_t)page->index << PAGE_SHIFT;
	loff_t size = i_size_read(mapping);

	if (pos >= size)
		return 0;
	return size - pos < (loff_t)PAGE_SIZE ? (size_t)(size - pos) : PAGE_SIZE;
}

static void bio_submit_page(struct bio *bio, struct address_space *mapping, struct page *page,
			    size_t len, void (*end_io)(struct bio *))
{
	SetPageWriteback(page);
	mod_node_page_state(NR_WRITEBACK, 1);
	bio->page = page;
	bio->fd = mapping->host_fd;
	bio->pos = (off_t)page->index << PAGE_SHIFT;
	bio->len = len;
	bio->bi_end_io = end_io;
	bio->bi_private = mapping;
	trace_event(TRACE_WRITEBACK_WRITE_PAGE, (unsigned long)(long)mapping->host_fd, page->index);
	submit_bio(bio);
}

/*
 * Write a locked page whose PG_dirty was just cleared: consume its block reservation (or
 * find it has none: fs_alloc_block_for_write()) and submit it. Takes bio. Returns 0 or
 * -ENOSPC (the data is lost, the page left clean with PG_error, the error recorded).
 */
static int writepage(struct address_space *mapping, struct page *page, struct bio *bio)
{
	size_t len = page_bytes_in_file(mapping, page);
	int err;

	if (!len) {
		/* Wholly beyond EOF: truncation is about to drop it. */
		fs_release_reservation(page);
		bio_put(bio);
		return 0;
	}
	err = fs_alloc_block_for_write(page);
	if (err) {
		SetPageError(page);
		mapping_set_error(mapping, err);
		bio_put(bio);
		return err;
	}
	bio->data = page_address(page);
	bio_submit_page(bio, mapping, page, len, end_bio_write);
	return 0;
}

/* Write a stable copy of a locked, still dirty page that a device may be writing: the
 * request carries its own bounce copy, and the page keeps PG_dirty and its reservation.
 * Takes bio. Returns 0. */
static int writepage_stable(struct address_space *mapping, struct page *page, struct bio *bio)
{
	size_t len = page_bytes_in_file(mapping, page);

	if (!len) {
		bio_put(bio);
		return 0;
	}
	bio->bounce = bio_alloc_bounce();
	page_copy_racy(bio->bounce, page_address(page), PAGE_SIZE);
	bio->data = bio->bounce;
	bio_submit_page(bio, mapping, page, len, end_bio_snapshot);
	return 0;
}

/* One dirty page found by the walk (a reference held). Returns 0 or an error of its own. */
static int write_one_page(struct address_space *mapping, struct page *page,
			  struct writeback_control *wbc)
{
	struct bio *bio = bio_alloc();
	int ret = 0;

	lock_page(page);
	if (page->mapping != mapping || !PageDirty(page))
		goto skip;
	if (PageWriteback(page)) {
		if (wbc->sync_mode == WB_SYNC_NONE)
			goto skip;
		wait_on_page_writeback(page);
	}
	switch (wbc->prepare(page)) {
	case WB_WRITE:
		ret = writepage(mapping, page, bio);
		break;
	case WB_WRITE_STABLE: {
		long none = 0;

		ret = writepage_stable(mapping, page, bio);
		/* Still dirty: the flusher's expiry keeps counting for it. */
		atomic_compare_exchange_strong(&mapping->dirtied_when, &none, fs_now_ms());
		break;
	}
	case WB_SKIP:
		goto skip;
	}
	if (!ret)
		wbc->nr_written++;
	unlock_page(page);
	return ret;
skip:
	unlock_page(page);
	bio_put(bio);
	return 0;
}

/* Wait for every page of mapping under writeback (Linux's filemap_fdatawait()). */
static void wait_on_mapping_writeback(struct address_space *mapping)
{
	struct page *pages[PAGEVEC_SIZE];
	pgoff_t index = 0;
	unsigned int nr;

	while ((nr = find_get_pages(mapping, &index, PAGEVEC_SIZE, pages))) {
		for (unsigned int i = 0; i < nr; i++) {
			wait_on_page_writeback(pages[i]);
			put_page(pages[i]);
		}
	}
}

int pageout_file_page(struct page *page)
{
	struct address_space *mapping = page->mapping;

	VM_BUG_ON(!PageLocked(page));
	if (!mapping || mapping->shmem || PageWriteback(page))
		return -EINVAL;
	if (page_mapped(page))
		return -EBUSY;
	if (!test_clear_page_dirty(page))
		return 0;
	/* -ENOSPC: recorded for fsync; the page is clean and its data lost, as any writeback's. */
	return writepage(mapping, page, bio_alloc());
}

int write_dirty_pages(struct address_space *mapping, struct writeback_control *wbc)
{
	struct page *pages[PAGEVEC_SIZE];
	pgoff_t index = 0;
	unsigned int nr;

	if (mapping->shmem)
		return 0;
	/* Dirtied from now on counts from now for the flusher's expiry. */
	atomic_store(&mapping->dirtied_when, 0);
	while ((nr = find_get_pages(mapping, &index, PAGEVEC_SIZE, pages))) {
		for (unsigned int i = 0; i < nr; i++) {
			/* An error (-ENOSPC) is recorded in the mapping, reported below. */
			if (PageDirty(pages[i]))
				write_one_page(mapping, pages[i], wbc);
			put_page(pages[i]);
		}
	}
	if (wbc->sync_mode == WB_SYNC_NONE)
		return 0;
	wait_on_mapping_writeback(mapping);
	return filemap_check_errors(mapping);
}
