/* SPDX-License-Identifier: MIT */
/*
 * Swap I/O (Linux's mm/page_io.c): a page of the swap cache written to its slot, or read from
 * it, as one request to the block device (src/block): the device's threads do the transfer and
 * call back here when it is over.
 *
 * A write runs with PG_writeback set, from submission to completion, and the page unlocked (as
 * Linux's swap_writepage() leaves it). The device checksums what it copies out: a page that
 * changed under the write (a device still writing into a pinned page, under 5.7 rules) is a
 * torn write the device refuses. A failed write, torn or refused by the host (fault injection
 * "io:write"), leaves the page dirty in the swap cache (Linux's end_swap_bio_write()): the
 * slot's contents are not trusted, the page is not freed, the next swap-out writes it again and
 * a fault maps it back, so nothing is lost. A read runs with the page locked and unlocks it at
 * the end, PG_uptodate set if it worked (Linux's end_swap_bio_read()).
 *
 * The rule that is easy to break: the completion must not touch the page after
 * end_page_writeback() (or unlock_page() for a read): the page may be freed right then.
 */
#include "swap.h"

static void end_swap_bio_write(struct bio *bio)
{
	struct page *page = bio->page;

	if (bio->bi_status) {
		/* Linux logs "Write-error on swap-device" and redirties the page. */
		SetPageDirty(page);
		ClearPageReclaim(page);
	}
	end_page_writeback(page);
	bio_put(bio);
}

void swap_writepage(struct page *page)
{
	struct bio *bio = bio_alloc();

	SetPageWriteback(page);
	bio->page = page;
	bio->data = page_address(page);
	bio->fd = swap_fd();
	bio->pos = (off_t)(swp_offset((swp_entry_t){page->private}) * PAGE_SIZE);
	bio->len = PAGE_SIZE;
	bio->bi_end_io = end_swap_bio_write;
	count_vm_event(PSWPOUT);
	unlock_page(page);
	race_point("page_io:swap_write_submitting");
	submit_bio(bio);
}

static void end_swap_bio_read(struct bio *bio)
{
	struct page *page = bio->page;

	if (!bio->bi_status)
		SetPageUptodate(page);
	bio_put(bio);
	unlock_page(page);
}

void swap_readpage(struct page *page)
{
	struct bio *bio = bio_alloc();

	bio->page = page;
	bio->bi_read = true;
	bio->fd = swap_fd();
	bio->pos = (off_t)(swp_offset((swp_entry_t){page->private}) * PAGE_SIZE);
	bio->len = PAGE_SIZE;
	bio->bi_end_io = end_swap_bio_read;
	count_vm_event(PSWPIN);
	submit_bio(bio);
}
