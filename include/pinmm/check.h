/* SPDX-License-Identifier: MIT */
/*
 * The expensive invariant check: a walk over the whole machine that finds state no correct
 * sequence of calls can produce (mimalloc's mi_assert_expensive level; Linux has pieces of it in
 * CONFIG_DEBUG_VM and check_pages at free, but no single walk).
 */
#ifndef PINMM_CHECK_H
#define PINMM_CHECK_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Walk every frame, page table, page cache, hugetlb pool and free list and check that:
 *   - every allocated frame is reachable: mapped by a page table, in a page cache or a hugetlb
 *     pool, pinned, held by a DMA engine (<pinmm/dma.h>), or a known kernel user (a page table
 *     of a live mm, a PTE table deposited for a THP split, the zero page); a frame held only by
 *     a FOLL_GET reference of the caller's counts as unreachable, so call it when the caller
 *     holds no such reference;
 *   - refcount >= mappings + the page cache's reference + pins, per counting scheme (pins are
 *     GUP_PIN_COUNTING_BIAS each on pages without an exact count, 1 each plus the exact count
 *     on those with one: under 5.7 rules compound pages of order > 1, the count in page[2];
 *     under modern rules every compound page, the count in page[1]); the exact count is never
 *     negative, and the slot the rule set does not use holds 0;
 *   - tail pages point at their head and have refcount 0;
 *   - the page tables and the reverse map agree: each subpage's _mapcount and each compound
 *     page's compound_mapcount equal the PTE and PMD/PUD entries that map it; every present
 *     entry lies inside a VMA of its mm; every PMD table holds one deposited PTE table per THP
 *     leaf; every page table belongs to its mm;
 *   - nr_foll_pin_acquired - nr_foll_pin_released equals the pins the counts show (on pages
 *     without an exact count: what the refcount holds beyond mappings and the cache, in whole
 *     biases), and, with pin owners on (<pinmm/pin_owner.h>), the pins their open records hold;
 *   - the free lists hold only free blocks of their order and migrate type, their counts are
 *     right, every free block is on one, and the hugetlb pools hold only unused huge pages;
 *     an isolated pageblock's free blocks are on the MIGRATE_ISOLATE lists and nowhere else
 *     (and out of nr_free_pages); an offline pageblock is isolated and wholly free;
 *   - the counters agree with what was found: each zone's nr_free_pages with its free lists,
 *     nr_page_table_pages and each mm's pgtables_bytes with the tables, each mm's rss_stat
 *     with what its entries map (a THP's PMD counts all its pages, hugetlb none), each page
 *     cache's nrpages and nr_file_pages / nr_shmem with the cached pages, nr_anon_pages,
 *     nr_mapped and nr_anon_transparent_hugepages with the mapped pages;
 *   - PageAnonExclusive (modern rules only; under 5.7 rules no page carries it) only on
 *     anonymous pages, on the head alone of a hugetlb page, and only on a page mapped at most
 *     once (one PTE, or one PMD/PUD leaf of its compound page, not both);
 *   - the LRU lists (<pinmm/mm_inline.h>) hold only pages that may be on them (no tail, no
 *     hugetlb page, no free page), each with PG_lru and on the list its flags name, none twice;
 *     each list's size in base pages equals its lru_size and its nr_<list> counter; every
 *     PG_lru page is on a list, and every mapped anonymous page and every page-cache page
 *     (hugetlb's excepted) is on one (nothing is isolated on a quiescent machine);
 *   - PG_longterm (the mark of a long-term pin, <pinmm/page-flags.h>) only on the head of a
 *     page that is pinned;
 *   - no page is locked or under writeback (nothing is in flight: no request at the block
 *     device);
 *   - block reservations (PG_private of a host file's cache page, <pinmm/fs.h>) are only on
 *     dirty pages of host files, never outside a page cache, and their number is the file
 *     system's count of blocks reserved.
 * Each violation is reported on the log stream with a one-line reason ("pinmm: check: ...")
 * and dump_page() (the first 64 of them; a line says how many more there were).
 *
 * The machine must be quiescent: booted, and no other thread using it during the call (counts
 * in flight would read as violations). The walk takes the locks Linux would (each mm's mmap
 * lock for read, the page-table locks, the page cache, pool and zone locks), so a stray thread
 * cannot corrupt anything, only make the answer wrong. It waits for deferred page-table frees
 * first (rcu_barrier()), so the caller must not be inside an RCU read-side section.
 *
 * Returns the number of violations (0: all held), or -ENODEV when the machine is not booted,
 * -ENOMEM when the host has no memory for the walk's bookkeeping.
 *
 * pinmm_shutdown() runs it in the debug build (PINMM_HOOKS, the default).
 */
long pinmm_check_invariants(void);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_CHECK_H */
