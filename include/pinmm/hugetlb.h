/* SPDX-License-Identifier: MIT */
/*
 * The hugetlb pools: 2 MiB (order 9) and 1 GiB (order 18) pages set aside at boot, as
 * hugepages=N on Linux's command line does. Pool pages are compound pages with the
 * HUGETLB_PAGE_DTOR destructor: put_page() of the last reference returns them to the pool,
 * never to the buddy allocator. The pools are emptied back into the buddy lists at shutdown.
 *
 * Reservations (Linux's resv_huge_pages): a MAP_HUGETLB mapping without MAP_NORESERVE reserves
 * its pages at mmap time (or the mmap fails with -ENOMEM); a reserved page stays free in the
 * pool until the mapping's fault takes it, and only free_huge_pages - resv_huge_pages pages
 * are there for anyone else (an unreserved mapping, a copy-on-write, dequeue_huge_page()).
 */
#ifndef PINMM_HUGETLB_H
#define PINMM_HUGETLB_H

#include <stdio.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hstate_idx {
	HSTATE_2M,
	HSTATE_1G,
	HUGE_MAX_HSTATE,
};

struct hstate {
	unsigned int order;
	pthread_mutex_t lock; /* protects the free list and the counts */
	struct cds_list_head hugepage_freelist;
	unsigned long nr_huge_pages;   /* pool size */
	unsigned long free_huge_pages; /* in the pool, not handed out */
	unsigned long resv_huge_pages; /* of the free ones, promised to mappings */
};

/* The pool of size huge pages (2 MiB or 1 GiB), or NULL for another size or when not booted. */
struct hstate *size_to_hstate(unsigned long size);

static inline unsigned long huge_page_size(const struct hstate *h)
{
	return 4096UL << h->order;
}

/* Take a free page from the pool: a compound page with refcount 1, mapcount and pincount
 * zeroed. NULL when no free page is left that is not reserved (the SIGBUS case of a hugetlb
 * fault). Thread-safe.
 * The last put_page() returns it to the pool; one that comes back still mapped or pinned is
 * reported as a bad page and kept out of the pool. */
struct page *dequeue_huge_page(struct hstate *h);

/* True for a page (head or tail) of a hugetlb pool page. */
int PageHuge(const struct page *page);

/* Write the HugePages_Total / _Free / _Rsvd and Hugepagesize lines of /proc/meminfo, one
 * block per pool.
 * Returns 0, -EINVAL for a NULL stream, -ENODEV when not booted. */
int pinmm_hugetlb_report(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_HUGETLB_H */
