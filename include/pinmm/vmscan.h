/* SPDX-License-Identifier: MIT */
/*
 * Page reclaim (src/vm/vmscan.c): kswapd, direct reclaim, reclaim of a given list of pages
 * (MADV_PAGEOUT's), and the out-of-memory report.
 *
 * When reclaim runs. Every zone has three watermarks, computed at boot as Linux 5.7's
 * __setup_per_zone_wmarks() does from the zone's size: min (the zone's share of
 * min_free_kbytes = sqrt(16 * RAM in KiB), clamped to 128 KiB .. 64 MiB), low = min + d and
 * high = min + 2d, d = max(min / 4, 0.1% of the zone: watermark_scale_factor 10). An allocation
 * that would take a zone below low wakes the node's kswapd thread, which reclaims until a zone
 * the allocation could use is above high again and then sleeps; one that would take every zone
 * it may use below min reclaims itself first (direct reclaim, allocstall_*), unless its gfp
 * mask lacks __GFP_DIRECT_RECLAIM. pinmm has no OOM killer: when reclaim frees nothing, the
 * allocation may still use the free pages below min (Linux would kill a task instead and let
 * its exit refill the zone), and it fails only when its zones have no free page at all; then
 * one out-of-memory report goes to the log stream (below) and alloc_pages() returns NULL, which
 * a fault turns into VM_FAULT_OOM (handle_mm_fault()), GUP into -ENOMEM.
 *
 * What reclaim frees, as 5.7: clean page-cache pages of host files, unmapped first
 * (try_to_unmap()); dirty ones are written to the host file (PG_reclaim, PG_writeback) and
 * freed by a later pass once clean, having been moved to the tail of the inactive list when
 * their write ended (pgrotated). A page is freed only when the references reclaim can account
 * for (its own isolation reference and the page cache's) are all it has: the refcount freeze in
 * __remove_mapping() fails on any other, so a pinned page (page_maybe_dma_pinned(), whatever
 * the rule set), a page under get_user_pages() or held by a DMA engine is never freed nor
 * written over; it goes back to its list. Anonymous and shmem pages need swap, which pinmm does
 * not have yet: as in Linux without swap, the anon lists are not scanned by kswapd and direct
 * reclaim, and an anonymous page handed to reclaim_pages() goes back to the active list.
 * Aging: pages referenced since the last scan (the accessed bits page_referenced() finds
 * through the rmap, and PG_referenced from mark_page_accessed()) are kept or activated, and the
 * active lists are shrunk into the inactive ones when these grow too small, as 5.7's
 * shrink_active_list() / shrink_inactive_list().
 *
 * Counters (/proc/vmstat): pgscan_kswapd, pgscan_direct, pgsteal_kswapd, pgsteal_direct,
 * pgrefill, pgactivate, pgdeactivate, pgrotated, allocstall_normal / _movable, pageoutrun,
 * kswapd_low_wmark_hit_quickly, kswapd_high_wmark_hit_quickly, oom_kill (the number of
 * out-of-memory reports: pinmm kills nothing).
 */
#ifndef PINMM_VMSCAN_H
#define PINMM_VMSCAN_H

#include "mm_types.h"
#include "mmzone.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Reclaim the isolated pages on page_list (each taken with isolate_lru_page(), so off the
 * LRU and holding the isolation's reference), ignoring how recently they were used: Linux 5.7's
 * reclaim_pages(), the step of MADV_PAGEOUT. Pages reclaimed are freed; the others (pinned,
 * dirty: written and left for a later pass, anonymous without swap, locked by someone else)
 * are put back on the LRU. page_list is empty on return. Returns the number of base pages
 * freed. The caller must hold no page lock and no page-table lock.
 */
unsigned long reclaim_pages(struct cds_list_head *page_list);

/*
 * Reclaim up to nr_to_reclaim pages as kswapd would (Linux's shrink_all_memory(), the
 * hibernation step; also what writing 1 to /proc/sys/vm/drop_caches asks of the page cache):
 * every priority from the gentlest to the hardest, file lists only while there is no swap.
 * Returns the number of pages freed (0 also when not booted). Any thread, no locks held.
 */
unsigned long shrink_all_memory(unsigned long nr_to_reclaim);

/*
 * Wait until kswapd is asleep with no wake-up pending (pinmm's, for tests and tools that must
 * see its work done). Returns 0; -ENODEV when not booted or when the machine runs without
 * kswapd (pinmm_config.kswapd false); -ETIMEDOUT after timeout_ms milliseconds.
 */
int pinmm_kswapd_wait_idle(unsigned int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_VMSCAN_H */
