/* SPDX-License-Identifier: MIT */
/*
 * Writing file pages back while they may be mapped: the PTEs that map a page are cleaned and
 * write-protected (page_mkclean() through the reverse map) before the page is written, so
 * that the next store through any mapping faults and dirties the page again. These calls
 * belong to the pin consumers' layer (src/writeback/): they act on what the layers below own
 * (page caches, address spaces) and on what GUP says about pins (pinmm_config's
 * pin_aware_writeback, <pinmm/boot.h>).
 *
 * Writes go to the block device (<pinmm/blkdev.h>) and complete on its threads; the calls below
 * that "wait" return once every write they started (and any already in flight) completed, and
 * report the mapping's writeback errors as Linux's filemap_check_errors() does: a failed write
 * leaves its page clean with PG_error, and the next of these calls reports -EIO (or -ENOSPC,
 * <pinmm/fs.h>) once.
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
 * and wait for it and for every write already in flight. Returns 0, or the writeback errors
 * since the last such call: -EIO (a failed or torn write) before -ENOSPC (a page dirtied
 * without page_mkwrite found no block, fs.h). shmem: 0, nothing written. */
int filemap_write_and_wait(struct address_space *mapping);

/* fsync(2): filemap_write_and_wait() then the host file's fsync/fdatasync; its errors, or the
 * host's. -EBADF (with a WARN): a stale file (after its last fput(), or of a machine shut
 * down: fs.h). */
int vfs_fsync(struct file *file, int datasync);

/*
 * The flusher: the machine's background writeback thread (Linux's per-bdi flusher and its
 * sysctls). It wakes every dirty_writeback_centisecs and writes back each host file whose
 * oldest dirty page is at least dirty_expire_centisecs old, and it is woken at once when the
 * dirty host-file pages exceed dirty_ratio percent of RAM, to write everything back. It does
 * not wait for its writes (background writeback skips pages already under writeback) and
 * leaves write errors to the next fsync. Off until started, so that a machine's writeback
 * happens only when its user asks; pinmm_shutdown() stops a running one first.
 */
struct pinmm_flusher_settings {
	unsigned int dirty_expire_centisecs;    /* 0..360000; Linux's default 3000 */
	unsigned int dirty_writeback_centisecs; /* the period, 0..360000 (0: no periodic
						 * writeback, thresholds only); default 500 */
	unsigned int dirty_ratio;               /* percent of RAM, 1..100; default 20 */
};

struct pinmm_flusher_stats {
	unsigned long rounds;         /* wake-ups that looked at the files */
	unsigned long threshold_wakeups; /* of which, woken by dirty_ratio */
	unsigned long pages_written;  /* writes submitted */
};

/* Linux's defaults into *settings (3000, 500, 20). */
void pinmm_flusher_default(struct pinmm_flusher_settings *settings);

/* Start the flusher with settings (NULL: the defaults). Returns 0, or -EINVAL (a setting out of
 * range), -ENODEV (no machine), -EBUSY (already running), -EAGAIN (the host refused a
 * thread). Nothing changes on error. */
int pinmm_flusher_start(const struct pinmm_flusher_settings *settings);

/* Change a running flusher's settings; they apply from its next wake-up (which this call
 * brings forward). Returns 0, -EINVAL (settings NULL or out of range), -ESRCH (not running). */
int pinmm_flusher_set(const struct pinmm_flusher_settings *settings);

/* Stop the flusher and wait for the writes it submitted. Returns 0, or -ESRCH (not
 * running). */
int pinmm_flusher_stop(void);

/* The running machine's flusher counters (since boot). Returns 0, -EINVAL (stats NULL),
 * -ENODEV (no machine). */
int pinmm_flusher_stats(struct pinmm_flusher_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_WRITEBACK_H */
