/* SPDX-License-Identifier: MIT */
/*
 * Memory offlining and onlining (Linux's mm/memory_hotplug.c), and alloc_contig_range(), which
 * empties a range the same way to allocate it.
 *
 * offline_pages() isolates the range (no allocation is served from it any more; pages freed in
 * it stay there), migrates every page in use out of it, and, once the whole range is free,
 * leaves it offline: out of nr_free_pages until online_pages() gives it back. A page that
 * cannot be moved — a pin, above all — makes it fail with -EBUSY after a bounded number of
 * passes (Linux retries until a signal), with each blocker named on the log stream and the
 * range online as before. Only ZONE_MOVABLE and the CMA area can be offlined: under Linux 5.7 a
 * long-term pin may sit in ZONE_MOVABLE and block it; under modern rules FOLL_LONGTERM has
 * migrated it out before pinning (docs/rule-sets.md).
 *
 * Ranges are in pfns, aligned to the memory block (memory_block_size_bytes(), 4 MiB here:
 * pinmm's zones are multiples of 4 MiB; Linux's x86-64 block is 128 MiB or more).
 */
#ifndef PINMM_MEMORY_HOTPLUG_H
#define PINMM_MEMORY_HOTPLUG_H

#include "gfp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The memory block size: offline_pages() and online_pages() work in multiples of it. */
unsigned long memory_block_size_bytes(void);

/*
 * Take [start_pfn, start_pfn + nr_pages) offline. Returns 0, or (nothing changed):
 *   -EINVAL  nr_pages is 0, or start_pfn or nr_pages is not a multiple of the memory block;
 *            or the range is not all ZONE_MOVABLE and not all inside the CMA area.
 *   -ERANGE  the range is not all RAM.
 *   -EBUSY   a page of the range stayed in use after every pass (pinned, referenced,
 *            unmovable): each such page is reported on the log stream
 *                offline_pages: pfn 0x12345 blocks [mem 0x...-0x...]: pinned
 *            followed by its dump_page() when it is mapped (the first 8; then a count of the
 *            rest); or part of the range is
 *            offline already, or isolated by a concurrent offline_pages()/alloc_contig_range().
 *   -ENODEV  not booted.
 * Thread-safe; sleeps (page locks) and runs in the calling thread.
 */
int offline_pages(unsigned long start_pfn, unsigned long nr_pages);

/*
 * Bring an offline range back: its pages are free again. Returns 0, or (nothing changed)
 * -EINVAL (as offline_pages(), or a memory block of the range is not offline), -ERANGE,
 * -ENODEV.
 */
int online_pages(unsigned long start_pfn, unsigned long nr_pages);

/*
 * Allocate the frames [start_pfn, end_pfn) (Linux's alloc_contig_range(), without its
 * migratetype and gfp arguments): isolate the range, migrate everything in use out of it
 * (THPs are split and their pages moved, as the rest), and take it. The range is a power of
 * two of at least MAX_ORDER_NR_PAGES pages, naturally aligned, inside one zone of RAM. On
 * success the first page holds the allocation's reference: free the range with
 * free_contig_range(start_pfn, end_pfn - start_pfn).
 * Returns 0, -EINVAL (a bad range), -EBUSY (a page stayed, or the range is isolated or offline
 * already; nothing changed, nothing logged), -ENODEV (not booted).
 */
int alloc_contig_range(unsigned long start_pfn, unsigned long end_pfn);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MEMORY_HOTPLUG_H */
