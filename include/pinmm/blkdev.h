/* SPDX-License-Identifier: MIT */
/*
 * The block device under the host files: the storage that writeback writes pages to, and
 * that swap writes pages to and reads them back from (<pinmm/swap.h>).
 *
 * Writeback does not write a page itself: it submits a request (a bio) and goes on; the
 * device's own threads take the request at their pace, copy the data out of memory as a
 * controller's DMA would, and write it to the host file. A checksum of the data is computed
 * when the request is submitted and verified over what the device copied out: a page that
 * changed while it was under I/O is a torn write. The device refuses it, as a device with data
 * integrity (T10 PI) checking does, so storage never holds torn data; the request completes
 * with -EILSEQ, which the file system reports as a writeback error (-EIO at the next fsync).
 *
 * A request covers one page (writeback's) or several whole pages at consecutive places of the
 * host file (swap's: Linux's bio of several segments, up to 32 pages): the device copies and
 * checks each page, writes or reads the span in one host call, and completes the request once,
 * for all its pages; a torn or failed page fails the whole request.
 *
 * The settings and counters below belong to the machine: pinmm_boot() resets them.
 */
#ifndef PINMM_BLKDEV_H
#define PINMM_BLKDEV_H

#ifdef __cplusplus
extern "C" {
#endif

struct pinmm_bdev_stats {
	unsigned long submitted; /* requests submitted */
	unsigned long completed; /* requests completed, whatever their status */
	unsigned long torn;      /* completed with -EILSEQ: the data changed under I/O */
	unsigned long errors;    /* completed with an I/O error (fault injection "io:write" or
				  * "io:read", or the host's pwrite() / pread() error) */
	unsigned long in_flight; /* submitted, not completed yet */
	unsigned long pages;     /* pages transferred by the completed requests: a request
				  * covers one page or, as swap's do, up to 32 pages at
				  * consecutive places of the host file (a bio of several
				  * segments), so pages / completed is the mean request size */
};

/* The running machine's block-device counters into *stats. Returns 0, -EINVAL (stats NULL)
 * or -ENODEV (no machine booted). */
int pinmm_bdev_stats(struct pinmm_bdev_stats *stats);

/*
 * The device's pace: each request waits a time drawn in [0, max_delay_us] before its data is
 * copied, and the copy is made in 512-byte sectors with a pause between them (a device slower
 * than the CPUs, which is what gives a concurrent store the window to tear a write). 0 (the
 * boot setting) copies at once. Returns 0, -EINVAL (max_delay_us above 100000) or -ENODEV.
 */
int pinmm_bdev_set_delay(unsigned int max_delay_us);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_BLKDEV_H */
