/* SPDX-License-Identifier: MIT */
/*
 * A DMA engine: a device model with threads of its own, for writing drivers against GUP.
 *
 * A driver hands the engine the pages array that get_user_pages*() (FOLL_GET) or
 * pin_user_pages*() (FOLL_PIN) filled (dma_map_pages(): the references become the engine's),
 * submits transfers between those pages and buffers of its own (dma_submit()), which the
 * engine's threads carry out at their own pace through the kernel mapping (page_address()),
 * as a device's DMA does, and waits for their completions (dma_wait()). Releasing the pages
 * (dma_unmap()) is done the way the driver was written: a driver of each era releases its
 * pages differently, and that is what struct dma_release names.
 *
 * A transfer into memory (DMA_FROM_DEVICE) stores to the page behind the back of the page
 * tables: no fault, no page_mkwrite, no dirty bit. Whether the file system learns of it is up
 * to the release (set_page_dirty_lock() or unpin_user_pages_dirty_lock(..., true)), and when
 * (docs/gup-dma-problem.md shows what goes wrong).
 *
 * Every call refuses what it was not given, with a negative errno and no change: an engine
 * that is not live, a buffer id that is not mapped (never, or already released: a double
 * release), a page that is not in the buffer, a completion already reaped (a double
 * completion). Stores by the engine to a page are 8-byte relaxed atomic stores: a CPU or a
 * device reading the page at the same time sees each word old or new, never undefined
 * behaviour.
 *
 * An engine belongs to the machine it was created in; destroy it (after unmapping every
 * buffer) before pinmm_shutdown(): pages it still holds are reported as leaked there.
 */
#ifndef PINMM_DMA_H
#define PINMM_DMA_H

#include <stdbool.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dma_engine;

/* How the driver took the pages it hands over. */
enum dma_ref {
	DMA_REF_GET, /* get_user_pages*(): FOLL_GET references */
	DMA_REF_PIN, /* pin_user_pages*(): FOLL_PIN pins */
};

/* How the driver releases them at dma_unmap(). */
enum dma_release {
	DMA_RELEASE_PUT_PAGE,       /* put_page() alone: a driver that never dirties, or that
				     * dirtied the pages when it took them (too early) */
	DMA_RELEASE_DIRTY_PUT_PAGE, /* set_page_dirty_lock() then put_page(): drivers before 5.7 */
	DMA_RELEASE_UNPIN,          /* unpin_user_pages(): a pin used for reading only */
	DMA_RELEASE_UNPIN_DIRTY,    /* unpin_user_pages_dirty_lock(pages, n, true): 5.7 on */
};

enum dma_data_direction {
	DMA_TO_DEVICE,   /* the device reads the page: page -> buffer */
	DMA_FROM_DEVICE, /* the device writes the page: buffer -> page */
};

struct dma_engine_stats {
	unsigned long buffers;        /* mapped now */
	unsigned long pages;          /* held now (references or pins) */
	unsigned long submitted;      /* transfers submitted */
	unsigned long completed;      /* transfers done (reaped or not) */
	unsigned long bytes_to_device;
	unsigned long bytes_from_device;
};

#define DMA_MAX_THREADS 64
#define DMA_MAX_DELAY_US 100000

/*
 * A new engine with nr_threads threads; each transfer waits a time drawn in [0, max_delay_us]
 * (the device's pace) before it copies, and copies in 512-byte bursts. Returns the engine or
 * ERR_PTR(): -EINVAL (nr_threads 0 or above DMA_MAX_THREADS, max_delay_us above
 * DMA_MAX_DELAY_US), -ENODEV (no machine), -ENOMEM, -EAGAIN (the host refused a thread).
 */
struct dma_engine *dma_engine_create(unsigned int nr_threads, unsigned int max_delay_us);

/* Stop the threads and free the engine. Returns 0, -EINVAL (not a live engine), -EBUSY
 * (buffers still mapped: unmap them first; nothing changed). */
int dma_engine_destroy(struct dma_engine *engine);

/*
 * Give the engine nr pages (the array GUP filled; the array is copied) and the duty to release
 * them as release says. Returns the buffer's id (>= 0), or: -EINVAL (not a live engine, pages
 * NULL, nr 0 or above 1 << 20, a NULL page, a release that does not match ref: an unpin of
 * FOLL_GET references or a put_page() of pins, a page that does not carry what ref says: no
 * reference, or for DMA_REF_PIN not page_maybe_dma_pinned()), -ENOMEM. On error the caller
 * keeps its references.
 */
int dma_map_pages(struct dma_engine *engine, struct page **pages, unsigned long nr,
		  enum dma_ref ref, enum dma_release release);

/*
 * Queue a transfer of len bytes between buf (the driver's memory, which must stay valid until
 * dma_wait() returns for it) and page at offset, in direction dir. offset and len are
 * multiples of 8, len > 0, offset + len <= PAGE_SIZE. Returns the transfer's id (> 0), or:
 * -EINVAL (not a live engine, buf NULL, bad offset/len/dir, page not in the buffer: a page
 * the engine was not given), -ENOENT (buffer_id not mapped), -ENOMEM.
 */
long dma_submit(struct dma_engine *engine, int buffer_id, struct page *page, unsigned int offset,
		void *buf, unsigned int len, enum dma_data_direction dir);

/* Wait for transfer id to complete and reap it. Returns 0, or -EINVAL (not a live engine),
 * -ENOENT (not a transfer of this engine, or already reaped: a double completion). */
int dma_wait(struct dma_engine *engine, long id);

/* Has transfer id completed? 1 yes, 0 not yet (nothing is reaped), or -EINVAL / -ENOENT as
 * dma_wait(). */
int dma_done(struct dma_engine *engine, long id);

/* Release the buffer's pages as its dma_release says, and forget it. Returns 0, or -EINVAL
 * (not a live engine), -ENOENT (not mapped: never, or already released), -EBUSY (transfers
 * of it not reaped yet; nothing changed). */
int dma_unmap(struct dma_engine *engine, int buffer_id);

/* The engine's counters. Returns 0 or -EINVAL (not a live engine, stats NULL). */
int dma_engine_stats(struct dma_engine *engine, struct dma_engine_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_DMA_H */
