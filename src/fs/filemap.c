/* SPDX-License-Identifier: MIT */
/*
 * Getting file pages in: read_mapping_page(), the fault handler that the VMA code calls
 * through vm_ops (filemap_fault(), also shmem's), page_mkwrite for shared writable mappings of
 * host files, and the mmap hook that installs them.
 *
 * A page enters the cache locked and not uptodate (page_cache.c); whoever created it fills it
 * (pread from the host file, or nothing for shmem's zeroed pages), sets PG_uptodate and unlocks.
 *
 * The rule that is easy to break: i_size is checked with the new page locked, after it went
 * into the cache. Either the check sees a concurrent truncation's smaller size, or that
 * truncation's walk will find the page (truncate.c). A page that fails the check and was
 * never filled is deleted again, so nothing stale stays beyond EOF.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Fill a locked, not uptodate page: the host file's bytes, zeroes past its end. Returns 0
 * (page uptodate) or -EIO (PG_error set, still not uptodate). */
static int readpage(struct address_space *mapping, struct page *page)
{
	char *buf = page_address(page);
	off_t pos = (off_t)page->index << PAGE_SHIFT;
	size_t done = 0;

	/* shmem pages come zeroed from page_cache_alloc(): there is nothing to read. */
	if (!mapping->shmem) {
		ClearPageError(page);
		while (done < PAGE_SIZE) {
			ssize_t n = should_fail("io:read") ? (errno = EIO, -1)
						: pread(mapping->host_fd, buf + done, PAGE_SIZE - done,
							pos + (off_t)done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				SetPageError(page);
				return -EIO;
			}
			if (n == 0)
				break;
			done += (size_t)n;
		}
		memset(buf + done, 0, PAGE_SIZE - done);
	}
	set_page_uptodate_release(page);
	return 0;
}

/*
 * The uptodate page at index, locked and with a reference, or ERR_PTR(-EINVAL: beyond EOF,
 * -EIO, -ENOMEM). *major is set when it had to be read from the host file.
 */
static struct page *filemap_get_page(struct address_space *mapping, pgoff_t index, bool *major)
{
	struct page *page;
	int err;

	if (index >= i_size_pages(mapping))
		return ERR_PTR(-EINVAL);
	page = find_or_create_page(mapping, index);
	if (!page)
		return ERR_PTR(-ENOMEM);
	if (index >= i_size_pages(mapping)) {
		if (!PageUptodate(page))
			delete_from_page_cache(page);
		err = -EINVAL;
		goto fail;
	}
	if (!PageUptodate(page)) {
		*major = !mapping->shmem;
		err = readpage(mapping, page);
		if (err)
			goto fail;
	}
	return page;
fail:
	unlock_page(page);
	put_page(page);
	return ERR_PTR(err);
}

struct page *read_mapping_page(struct address_space *mapping, pgoff_t index)
{
	struct page *page;
	bool major = false;

	if (index >= i_size_pages(mapping))
		return ERR_PTR(-EINVAL);
	/* The common case: cached and filled, no page lock needed. */
	page = find_get_page(mapping, index);
	if (page) {
		if (page_uptodate_acquire(page))
			return page;
		put_page(page);
	}
	page = filemap_get_page(mapping, index, &major);
	if (!IS_ERR(page))
		unlock_page(page);
	return page;
}

/* A fault that may not wait (FAULT_FLAG_RETRY_NOWAIT, GUP's FOLL_NOWAIT): the page if it is
 * cached, uptodate and its lock free, else VM_FAULT_RETRY, as 5.7's filemap_fault() gives up
 * instead of reading the file or sleeping on the lock. shmem pages need no I/O. */
static vm_fault_t filemap_fault_nowait(struct vm_fault *vmf, struct address_space *mapping)
{
	struct page *page = find_get_page(mapping, vmf->pgoff);

	if (!page)
		return VM_FAULT_RETRY;
	if (!trylock_page(page)) {
		put_page(page);
		return VM_FAULT_RETRY;
	}
	if (page->mapping != mapping || !PageUptodate(page) ||
	    vmf->pgoff >= i_size_pages(mapping)) {
		unlock_page(page);
		put_page(page);
		return VM_FAULT_RETRY;
	}
	vmf->page = page;
	return VM_FAULT_LOCKED;
}

vm_fault_t filemap_fault(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	bool major = false;
	struct page *page;

	if ((vmf->flags & FAULT_FLAG_RETRY_NOWAIT) && !mapping->shmem)
		return filemap_fault_nowait(vmf, mapping);
	page = filemap_get_page(mapping, vmf->pgoff, &major);

	if (IS_ERR(page))
		return PTR_ERR(page) == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	vmf->page = page;
	if (!major)
		return VM_FAULT_LOCKED;
	/* Counted here, not by the caller, as Linux's filemap_fault() does. */
	count_vm_event(PGMAJFAULT);
	return VM_FAULT_MAJOR | VM_FAULT_LOCKED;
}

/*
 * A write fault is about to make vmf->page writable in a shared mapping: reserve its block
 * (delayed allocation, balloc.c) and dirty it, so that writeback will see it. The page is
 * stable while under writeback (the device checksums it, as Linux's wait_for_stable_page()
 * when the device needs stable pages): the fault waits for a write in flight to complete.
 * Returns VM_FAULT_LOCKED (the caller unlocks), VM_FAULT_NOPAGE if the page was truncated
 * meanwhile (the caller retries the access), or VM_FAULT_SIGBUS when no block is left
 * (ext4's -ENOSPC from page_mkwrite).
 */
static vm_fault_t filemap_page_mkwrite(struct vm_fault *vmf)
{
	struct page *page = vmf->page;

	lock_page(page);
	if (page->mapping != vmf->vma->vm_file->f_mapping) {
		unlock_page(page);
		return VM_FAULT_NOPAGE;
	}
	wait_on_page_writeback(page);
	if (fs_reserve_block(page)) {
		unlock_page(page);
		return VM_FAULT_SIGBUS;
	}
	set_page_dirty(page);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct generic_file_vm_ops = {
	.fault = filemap_fault,
	.page_mkwrite = filemap_page_mkwrite,
};

static int generic_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* vm_mmap() checks this too; a file's own hook must not rely on it. */
	if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE) &&
	    !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	vma->vm_ops = &generic_file_vm_ops;
	return 0;
}

const struct file_operations host_file_operations = {
	.mmap = generic_file_mmap,
};
