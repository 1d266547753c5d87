/* SPDX-License-Identifier: MIT */
/*
 * Swap I/O (Linux's mm/page_io.c): pages of the swap cache written to their slots, or read
 * from them, as requests to the block device (src/block): the device's threads do the
 * transfer and call back here when it is over. Pages whose slots follow each other go in one
 * request of several pages (Linux's bio of several segments, built under a plug:
 * struct swap_plug), so that a batch of swap-outs, or a swap-in and its readahead, pays the
 * request's cost and its hand-off between threads once, not once per page.
 *
 * A write runs with PG_writeback set on each page, from the moment it joins the request to
 * the request's completion, and the page unlocked (as Linux's swap_writepage() leaves it).
 * The device checksums what it copies out: a page that changed under the write (a device still
 * writing into a pinned page, under 5.7 rules) is a torn write the device refuses. A failed
 * write, torn or refused by the host (fault injection "io:write"), leaves every page of the
 * request dirty in the swap cache (Linux's end_swap_bio_write(), for each segment): the slots'
 * contents are not trusted, no page is freed, the next swap-out writes them again and a fault
 * maps them back, so nothing is lost. A read runs with the pages locked and unlocks each at
 * the end, PG_uptodate set if it worked (Linux's end_swap_bio_read()).
 *
 * The rule that is easy to break: the completion must not touch a page after its
 * end_page_writeback() (or unlock_page() for a read): the page may be freed right then; and
 * a plug's holder submits before it waits on any of its pages.
 */
#include <string.h>

#include "swap.h"

static void end_swap_bio_write(struct bio *bio)
{
	int status = bio->bi_status;
	unsigned int n = bio->bi_vcnt;
	struct page *pages[BIO_MAX_PAGES];

	/* Copied out first: the request is freed before the pages are let go, which is the
	 * order that keeps a freed page from being reached through it. */
	memcpy(pages, bio->bi_io_vec, n * sizeof(pages[0]));
	bio_put(bio);
	for (unsigned int i = 0; i < n; i++) {
		if (status) {
			/* Linux logs "Write-error on swap-device" and redirties the page. */
			SetPageDirty(pages[i]);
			ClearPageReclaim(pages[i]);
		}
		end_page_writeback(pages[i]);
	}
}

static void end_swap_bio_read(struct bio *bio)
{
	int status = bio->bi_status;
	unsigned int n = bio->bi_vcnt;
	struct page *pages[BIO_MAX_PAGES];

	memcpy(pages, bio->bi_io_vec, n * sizeof(pages[0]));
	bio_put(bio);
	for (unsigned int i = 0; i < n; i++) {
		if (!status)
			SetPageUptodate(pages[i]);
		unlock_page(pages[i]);
	}
}

void swap_plug_flush(struct swap_plug *plug)
{
	struct bio *bio = plug->bio;

	if (!bio)
		return;
	plug->bio = NULL;
	if (!bio->bi_read)
		race_point("page_io:swap_write_submitting");
	submit_bio(bio);
}

/* Add page (slot off) to the plug's request, or start a new one after submitting it. */
static void swap_plug_add(struct swap_plug *plug, struct page *page, bool read)
{
	off_t pos = (off_t)(swp_offset((swp_entry_t){page->private}) * PAGE_SIZE);
	struct bio *bio = plug->bio;

	if (bio && (bio->bi_read != read ||
		    bio->pos + (off_t)bio->bi_vcnt * (off_t)PAGE_SIZE != pos ||
		    !bio_add_page(bio, page))) {
		swap_plug_flush(plug);
		bio = NULL;
	}
	if (bio)
		return;
	bio = bio_alloc();
	bio->bi_read = read;
	bio->fd = swap_fd();
	bio->pos = pos;
	bio->bi_end_io = read ? end_swap_bio_read : end_swap_bio_write;
	bio_add_page(bio, page);
	plug->bio = bio;
}

void swap_writepage(struct page *page, struct swap_plug *plug)
{
	struct swap_plug own = {0};

	SetPageWriteback(page);
	count_vm_event(PSWPOUT);
	swap_plug_add(plug ? plug : &own, page, false);
	unlock_page(page);
	if (!plug)
		swap_plug_flush(&own);
}

void swap_readpage(struct page *page, struct swap_plug *plug)
{
	struct swap_plug own = {0};

	count_vm_event(PSWPIN);
	swap_plug_add(plug ? plug : &own, page, true);
	if (!plug)
		swap_plug_flush(&own);
}
