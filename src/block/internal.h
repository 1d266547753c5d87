/* SPDX-License-Identifier: MIT */
/*
 * What the block layer (src/block/) gives the file system and swap above it: the request
 * (struct bio: a page written, or a page read for swap-in), its submission and completion, and
 * the writeback state of a page (PG_writeback set at
 * submission, cleared at completion, waited on by whoever needs the page stable).
 *
 * Data a device may be writing at the same time (a page under a DMA engine's transfer) is
 * copied with page_copy_racy(): word by word with relaxed atomics, the C11 way to say that a
 * concurrent store is expected and that a torn value is an outcome, not undefined behaviour.
 */
#ifndef PINMM_BLOCK_INTERNAL_H
#define PINMM_BLOCK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <pinmm/blkdev.h>

#include "mm/internal.h"

/*
 * One write request: len bytes at data to the host file fd at pos. The page whose contents
 * these are (PG_writeback set; the page cache's reference keeps it) is page; data is either
 * page_address(page) (the page itself goes to the device) or bounce, a copy the request owns
 * and frees. bi_end_io runs on a device thread once the request is done, with bi_status 0,
 * -EILSEQ (torn), or the write's error (-EIO, -ENOSPC, ...); it must not sleep on anything a
 * submitter may hold (the page lock), and it ends with end_page_writeback(), after which it
 * must not touch the page (a waiter may free it), or the page stays under writeback.
 */
/* The most pages one request covers (Linux's BIO_MAX_PAGES is 256; 32 is 128 KiB, enough for
 * the per-request cost to vanish). */
#define BIO_MAX_PAGES 32

struct bio {
	struct page *page;
	const void *data;
	void *bounce;
	int fd;
	off_t pos;
	size_t len;
	/* A read (swap-in): len bytes at pos into page_address(page), no checksum; bi_end_io
	 * unlocks the page. Writes leave it false. */
	bool bi_read;
	uint32_t csum;       /* of data at submission */
	/*
	 * A request of several pages (Linux's bio of several segments): when bi_vcnt is not 0,
	 * the request covers the whole pages bi_io_vec[0..bi_vcnt-1], in that order, at
	 * consecutive PAGE_SIZE places of the host file from pos, and page, data, bounce and len
	 * are unused (submit_bio() sets len). A write is checksummed page by page (bi_csums) and
	 * goes to the host in one pwrite(); a read is one pread() of the whole span. bi_status
	 * is the whole request's: one torn or failed page fails them all, and bi_end_io sees
	 * every page.
	 */
	unsigned int bi_vcnt;
	struct page *bi_io_vec[BIO_MAX_PAGES];
	uint32_t bi_csums[BIO_MAX_PAGES];
	int bi_status;
	void (*bi_end_io)(struct bio *bio);
	void *bi_private;
	struct bio *next;    /* the device's queue */
};

/* A zeroed request, and a page-sized bounce buffer for one. As Linux's bio_alloc() from its
 * mempool, they wait for memory instead of failing: writeback does not fail for want of a
 * request. */
struct bio *bio_alloc(void);
/* Add page as the next segment of a several-page request: false (nothing changed) when the
 * request is full or is a single-page one (page set). */
bool bio_add_page(struct bio *bio, struct page *page);
void *bio_alloc_bounce(void);

/* Free a request that was never submitted, and its bounce buffer. */
void bio_put(struct bio *bio);

/* Queue bio for the device: its checksum is computed now, from data. The device will call
 * bio->bi_end_io; from then on the request is the callee's (bi_end_io frees it with
 * bio_put()). */
void submit_bio(struct bio *bio);

/* The page's write finished: clear PG_writeback and wake wait_on_page_writeback(). */
void end_page_writeback(struct page *page);

/* Sleep until the page is not under writeback (returns at once if it is not). */
void wait_on_page_writeback(struct page *page);

/* Sleep until no request is in flight. */
void blk_drain(void);

/* The checksum the device verifies (FNV-1a over 64-bit words in four lanes, read racily). */
uint32_t blk_csum(const void *data, size_t len);

/* Copy len bytes (a multiple of 8, both pointers 8-byte aligned) from src to dst while a
 * device or another CPU may be storing to either. */
static inline void page_copy_racy(void *dst, const void *src, size_t len)
{
	uint64_t *d = dst;
	const uint64_t *s = src;

	for (size_t i = 0; i < len / 8; i++)
		__atomic_store_n(&d[i], __atomic_load_n(&s[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

#endif /* PINMM_BLOCK_INTERNAL_H */
