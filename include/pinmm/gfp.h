/* SPDX-License-Identifier: MIT */
/*
 * The page allocator: a buddy allocator per zone, as Linux's, for orders 0 .. MAX_ORDER - 1
 * (4 KiB .. 4 MiB), plus contiguous ranges beyond that for gigantic (1 GiB) pages.
 */
#ifndef PINMM_GFP_H
#define PINMM_GFP_H

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int gfp_t;

/* Linux 5.7's bit values. The reclaim and I/O bits are accepted and have no effect: the
 * simulated machine never sleeps for memory. */
#define __GFP_HIGHMEM 0x02u
#define __GFP_MOVABLE 0x08u          /* may come from ZONE_MOVABLE or CMA */
#define __GFP_IO 0x40u
#define __GFP_FS 0x80u
#define __GFP_ZERO 0x100u            /* zero the memory */
#define __GFP_DIRECT_RECLAIM 0x400u
#define __GFP_KSWAPD_RECLAIM 0x800u
#define __GFP_NOWARN 0x2000u         /* no WARN when the request cannot be met */
#define __GFP_RETRY_MAYFAIL 0x4000u
#define __GFP_NORETRY 0x10000u
#define __GFP_COMP 0x40000u          /* prepare a compound page */
#define __GFP_HARDWALL 0x100000u
#define __GFP_THISNODE 0x200000u

#define __GFP_RECLAIM (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_USER (GFP_KERNEL | __GFP_HARDWALL)
#define GFP_HIGHUSER (GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE (GFP_HIGHUSER | __GFP_MOVABLE)
#define GFP_TRANSHUGE_LIGHT ((GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOWARN) & ~__GFP_RECLAIM)
#define GFP_TRANSHUGE (GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM)

/* Every bit alloc_pages() accepts; others are refused with a WARN. */
#define __GFP_KNOWN                                                                                \
	(__GFP_HIGHMEM | __GFP_MOVABLE | __GFP_IO | __GFP_FS | __GFP_ZERO | __GFP_RECLAIM |        \
	 __GFP_NOWARN | __GFP_RETRY_MAYFAIL | __GFP_NORETRY | __GFP_COMP | __GFP_HARDWALL |         \
	 __GFP_THISNODE)

#define MAX_ORDER 11
#define MAX_ORDER_NR_PAGES (1UL << (MAX_ORDER - 1))
#define pageblock_order 9
#define pageblock_nr_pages (1UL << pageblock_order)
#define HPAGE_PMD_ORDER 9
#define HPAGE_PUD_ORDER 18

/*
 * Allocate 2^order contiguous frames. The first page gets a reference count of 1; the others
 * 0. With __GFP_COMP (order >= 1) they form a compound page: PG_head on page[0], every tail
 * pointing at it, the order and destructor in page[1], compound_mapcount -1, and for order > 1
 * hpage_pinned_refcount 0 in page[2]. Without __GFP_MOVABLE the frames come from ZONE_NORMAL
 * outside CMA; with it from ZONE_MOVABLE, then ZONE_NORMAL, then CMA.
 * Returns NULL when no block is free, when gfp has unknown bits, or when order >= MAX_ORDER
 * (those two WARN unless __GFP_NOWARN); NULL, with a WARN, when the machine is not booted.
 * Thread-safe.
 */
struct page *alloc_pages(gfp_t gfp, unsigned int order);

static inline struct page *alloc_page(gfp_t gfp)
{
	return alloc_pages(gfp, 0);
}

/*
 * Drop the caller's reference to a block from alloc_pages(gfp, order); the block goes back to
 * the buddy lists when that was the last one. order must be the order it was allocated with.
 * A tail page, a page whose count is already 0 (a double free) or a bad order WARNs and changes
 * nothing. A block that comes back with a nonzero mapcount, a mapping, a pin count, flags that
 * must be clear, or tails not pointing at their head is a bad page: reported (WARN + dump_page)
 * and quarantined, never handed out again.
 */
void __free_pages(struct page *page, unsigned int order);

static inline void __free_page(struct page *page)
{
	__free_pages(page, 0);
}

/*
 * Allocate nr_pages contiguous frames, naturally aligned, from ZONE_NORMAL outside CMA (or
 * anywhere, with __GFP_MOVABLE). nr_pages is a power of two >= MAX_ORDER_NR_PAGES. With
 * __GFP_COMP the range becomes one compound page (order up to 18 and beyond), freed by
 * put_page() on its last reference; otherwise free it with free_contig_range().
 * Returns NULL when no such range is free; NULL with a WARN for a bad nr_pages or gfp.
 */
struct page *alloc_contig_pages(unsigned long nr_pages, gfp_t gfp);

/* Free a range from alloc_contig_pages() without __GFP_COMP; every page must hold exactly the
 * reference the allocation gave (the first page 1, the rest 0), else WARN and nothing changes
 * for that page. */
void free_contig_range(unsigned long pfn, unsigned long nr_pages);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_GFP_H */
