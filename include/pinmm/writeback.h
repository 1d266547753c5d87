/* SPDX-License-Identifier: MIT */
/*
 * Writing file pages back while they may be mapped: the PTEs that map a page are cleaned and
 * write-protected (page_mkclean() through the reverse map) before the page is written, so
 * that the next store through any mapping faults and dirties the page again. These calls
 * belong to the pin consumers' layer (src/writeback/): they act on what the layers below own
 * (page caches, address spaces) and, later, on what GUP says about pins.
 */
#ifndef PINMM_WRITEBACK_H
#define PINMM_WRITEBACK_H

#include "fs.h"
#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Before writing a page back: write-protect and clean every PTE that maps it (page_mkclean),
 * then clear PG_dirty. Returns 1 if the page was dirty. Page locked. */
int clear_page_dirty_for_io(struct page *page);

/* Write every dirty page of mapping back to the host file (PG_writeback while it is written)
 * and wait for it. Returns 0 or the first write error (-EIO ...). shmem: 0, nothing written. */
int filemap_write_and_wait(struct address_space *mapping);

/* fsync(2): filemap_write_and_wait() then the host file's fsync/fdatasync. -EBADF (with a
 * WARN): a stale file (after its last fput(), or of a machine shut down: fs.h). */
int vfs_fsync(struct file *file, int datasync);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_WRITEBACK_H */
