/* SPDX-License-Identifier: MIT */
/*
 * What the files of src/fs share: the page cache's entry points (page_cache.c), file setup
 * (file.c), reading pages in (filemap.c), dropping them (truncate.c) and dirty accounting
 * (page-writeback.c).
 *
 * Locks, outermost first: mapping->i_rwsem (size changes); the page lock; the page cache's own
 * lock (innermost, never held across anything that sleeps). Once a page is in a cache, its
 * mapping and index change only with the page locked and the cache lock held, so either lock
 * keeps them stable.
 */
#ifndef PINMM_FS_INTERNAL_H
#define PINMM_FS_INTERNAL_H

/* fault.h for the vm_operations contract only (struct vm_fault, vm_fault_t): the address-space
 * layer calls filemap_fault() and shmem's ->fault through vm_ops, a call that points down. */
#include <pinmm/fault.h>
#include <pinmm/fs.h>

#include "block/internal.h"

/*
 * PG_uptodate publishes a page's contents: whoever fills the page sets the bit with release
 * order after writing them, and whoever reads them without the page lock tests the bit with
 * acquire order first (Linux's SetPageUptodate() smp_wmb() and PageUptodate() smp_rmb()).
 * Under the page lock the plain accessors are enough: unlock_page() releases, lock_page()
 * acquires.
 */
static inline void set_page_uptodate_release(struct page *page)
{
	atomic_fetch_or_explicit(&compound_head(page)->flags, 1UL << PG_uptodate,
				 memory_order_release);
}

static inline bool page_uptodate_acquire(const struct page *page)
{
	return (atomic_load_explicit(&compound_head(page)->flags, memory_order_acquire) >>
		PG_uptodate) & 1;
}

/* The number of pages that hold the file's bytes: indices from this one on lie beyond EOF. */
static inline pgoff_t i_size_pages(const struct address_space *mapping)
{
	return (pgoff_t)((i_size_read(mapping) + (loff_t)PAGE_SIZE - 1) >> PAGE_SHIFT);
}

/* ---- page_cache.c ---- */

/* An empty index, or NULL (no memory). Destroying it frees its nodes; it must hold no page. */
struct page_cache *page_cache_create(void);
void page_cache_destroy(struct page_cache *cache);

/* A fresh page for mapping's cache (zeroed and PG_swapbacked for shmem), or NULL. */
struct page *page_cache_alloc(struct address_space *mapping);

/* Insert a new page at index: it is locked, gets mapping and index, and the cache takes its
 * own reference. Returns 0, -EEXIST (another page is there) or -ENOMEM; on failure the page is
 * as it was. */
int add_to_page_cache(struct page *page, struct address_space *mapping, pgoff_t index);
/* The same, then onto the LRU (inactive list, anon for shmem) once inserted: every page-cache
 * page but hugetlbfs's (which calls add_to_page_cache()) comes in here. */
int add_to_page_cache_lru(struct page *page, struct address_space *mapping, pgoff_t index);

/*
 * Reclaim's removal of a clean page-cache page (Linux's __remove_mapping()): page locked,
 * isolated from the LRU, unmapped, the caller holding exactly one reference (the isolation's).
 * Freezes the refcount at 0 from the caller's and the cache's references and takes the page
 * out of the cache; the caller then frees the frame. False, and nothing changed, when anyone
 * else holds a reference (a pin, a lookup, a mapping), when the page is dirty again, or when
 * it is no longer mapping's page.
 */
bool __remove_mapping(struct address_space *mapping, struct page *page);

/* Remove a page from its cache and drop the cache's reference. Page locked; the caller holds
 * a reference of its own. */
void delete_from_page_cache(struct page *page);
/* Migration (src/vm/migrate.c): put new (locked, one reference: the caller's) in old's place
 * in the page cache, with old's contents, mapping and index, if old (locked, unmapped) is
 * held only by the cache and the caller: old's refcount is then frozen at 0 (it still has its
 * mapping, which the caller clears) and new holds the cache's reference too. 0, or -EAGAIN
 * when old has another reference (a pin, a GUP or lookup reference) or left the cache:
 * nothing changes. */
int page_cache_migrate(struct page *old, struct page *new);

/* The page at index, locked and referenced, or NULL. find_or_create_page() adds a new
 * (locked, not uptodate) page when there is none; NULL then means no memory. */
struct page *find_lock_page(struct address_space *mapping, pgoff_t index);
struct page *find_or_create_page(struct address_space *mapping, pgoff_t index);

/* Up to nr_pages cached pages with indices >= *start, in index order, each with a reference.
 * Returns how many; *start moves past the last one. */
unsigned int find_get_pages(struct address_space *mapping, pgoff_t *start,
			    unsigned int nr_pages, struct page **pages);

/* Pages handled per batch by the walks over a whole cache (Linux's pagevec). */
#define PAGEVEC_SIZE 15

/* ---- file.c ---- */

/* 0 if file is a live file (between alloc_file() and its last fput()); otherwise WARN and
 * -EBADF, having read nothing of it. */
int file_check(struct file *file);

/* A new file with f_count 1 and an empty page cache of size bytes, or NULL (no memory).
 * host_fd is -1 for shmem; the file owns it from here on. */
struct file *alloc_file(int host_fd, loff_t size, unsigned int f_flags, unsigned int f_mode,
			const struct file_operations *fop);

/* Call fn on the address_space of every open file, under the lock of the list of files (fn
 * may take the page cache's lock, never open or close a file). */
void for_each_address_space(void (*fn)(struct address_space *mapping, void *arg), void *arg);

/* Every open file of this machine, each with a reference the caller drops with fput(), in a
 * malloc'd array (*files; NULL when there was no memory): returns how many. */
size_t get_open_files(struct file ***files);

static inline void i_size_write(struct address_space *mapping, loff_t size)
{
	/* seq_cst, paired with the loads in i_size_read(): see truncate.c for the race with
	 * page-cache insertion that it closes. */
	atomic_store(&mapping->i_size, size);
}

/* ---- filemap.c ---- */

extern const struct file_operations host_file_operations;

/* vm_operations_struct.fault of host files and shmem. */
vm_fault_t filemap_fault(struct vm_fault *vmf);

/* ---- truncate.c ---- */

/* Drop every cached page from byte lstart on and zero the cached tail of the page lstart
 * falls in. The caller has made sure that none of them is mapped. */
void truncate_inode_pages(struct address_space *mapping, loff_t lstart);

/* ---- balloc.c ---- */

/* page_mkwrite: reserve a block for the page unless it has one (PG_private). 0 or -ENOSPC.
 * Page locked. */
int fs_reserve_block(struct page *page);

/* The page leaves the cache (truncation) or is not written (beyond EOF): give its
 * reservation back, if it has one. Page locked. */
void fs_release_reservation(struct page *page);

/* Writeback of a page about to be written: consume its reservation, or, without one (WARN,
 * counted), take a free block. 0 (one block is now in flight, freed by fs_free_block() at
 * completion) or -ENOSPC (counted as lost). Page locked. */
int fs_alloc_block_for_write(struct page *page);
void fs_free_block(void);

/* The blocks reserved now (pages with PG_private), for pinmm_check_invariants(). */
unsigned long fs_reserved_blocks(void);

/* ---- page-writeback.c ---- */

/*
 * A CPU store into a host-file page through a reference GUP took with FOLL_WRITE
 * (copy_to_user()): the fault that made the page writable also dirtied it and reserved its
 * block; if it is clean now, writeback cleaned it (write-protecting every PTE and consuming
 * the reservation) since, and a real CPU's store would fault again. True then: the caller
 * drops the page and takes it again. Page locked (the store and its set_page_dirty() happen
 * under the same lock, so writeback cannot come between).
 */
bool page_needs_write_fault(struct page *page);

/* A page leaves the cache: clear PG_dirty without writing it (truncation). Page locked. */
void cancel_dirty_page(struct page *page);

/* Clear PG_dirty, paying back nr_dirty if this call cleared it; 1 if it was set. Page locked.
 * The PTEs are not looked at: enough only for a page that nothing maps. */
int test_clear_page_dirty(struct page *page);

/* What writeback does with one dirty page (writeback_control.prepare's answer). */
enum wb_action {
	WB_SKIP,          /* not dirty after all: nothing to write */
	WB_WRITE,         /* PG_dirty was cleared: write the page itself */
	WB_WRITE_STABLE,  /* still dirty (a device may be writing it): write a snapshot of it,
			   * keep PG_dirty and the page's reservation */
};

/* writeback_control.prepare for a page nothing maps: test_clear_page_dirty(). */
enum wb_action wb_prepare_unmapped(struct page *page);

enum writeback_sync_modes {
	WB_SYNC_NONE, /* background (the flusher): skip pages under writeback, do not wait */
	WB_SYNC_ALL,  /* data integrity (fsync, the last fput): wait for each, and for all */
};

struct writeback_control {
	enum writeback_sync_modes sync_mode;
	/* Decide for a dirty, locked page not under writeback, clearing PG_dirty for WB_WRITE:
	 * clear_page_dirty_for_io()'s part (src/writeback) while the file may be mapped, or
	 * test_clear_page_dirty() once it cannot be (the last fput()). */
	enum wb_action (*prepare)(struct page *page);
	unsigned long nr_written; /* out: writes submitted */
};

/*
 * Write every dirty page of mapping to the host file through the block device: lock each,
 * ask wbc->prepare, submit (PG_writeback until the device completes). WB_SYNC_ALL then waits
 * for every page's writeback and returns the mapping's writeback errors (AS_EIO: -EIO, else
 * AS_ENOSPC: -ENOSPC), clearing them; WB_SYNC_NONE returns 0 and leaves the errors for fsync.
 * shmem: 0, nothing written.
 */
int write_dirty_pages(struct address_space *mapping, struct writeback_control *wbc);

/*
 * Reclaim's write of one dirty page-cache page of a host file (Linux's pageout() calling
 * ->writepage()): page locked, unmapped (try_to_unmap() moved the PTEs' dirty bits onto it),
 * not under writeback. Clears PG_dirty and submits the write (PG_writeback until the device
 * completes it). Returns 0 (submitted, or nothing to write), -ENOSPC (no block for it: the
 * data is lost and the error recorded, as any writeback's), -EINVAL for a shmem or truncated
 * page or one under writeback, -EBUSY for a mapped page.
 */
int pageout_file_page(struct page *page);

/* Record a writeback error (-ENOSPC, or anything else as -EIO) for the next fsync. */
void mapping_set_error(struct address_space *mapping, int err);

/* Set by the flusher (src/writeback): called by set_page_dirty() when nr_dirty exceeds
 * threshold pages (0: never). */
void set_dirty_exceeded_notify(void (*fn)(void), unsigned long threshold);

/* Monotonic milliseconds, the unit of dirtied_when. */
long fs_now_ms(void);

#endif /* PINMM_FS_INTERNAL_H */
