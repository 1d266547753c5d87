/* SPDX-License-Identifier: MIT */
/*
 * The LRU lists' page-level API (Linux's include/linux/mm_inline.h and the LRU half of
 * include/linux/swap.h): which list a page belongs on, putting pages on the lists, taking them
 * off for reclaim, compaction or migration, and the accessed-page aging steps.
 *
 * Who is on a list: every anonymous page (THPs as one entry of 512 pages) and every page-cache
 * page of a host file, shmem or memfd, from the moment it becomes one (the fault, COW, THP fault
 * and collapse, fork's copy of a pinned page, migration's new page, a page-cache insertion)
 * until it is freed: the last put_page() takes it off (Linux's __page_cache_release()).
 * hugetlb pages are never on the lists, as in Linux. A page that is truncated or unmapped but
 * still referenced (pinned, say) stays on its list until that last reference goes, as in Linux.
 *
 * Flags, as Linux: PG_lru (on a list), PG_active (on an active list), PG_unevictable (on the
 * unevictable list), PG_referenced (one recent access seen; a second activates), PG_swapbacked
 * (anonymous and shmem pages: the anon lists; file pages without it: the file lists). All on the
 * head page.
 *
 * Linux 5.7 batches additions in per-CPU pagevecs; pinmm adds and removes under the node's
 * lru_lock at once (docs/design.md, differences), so PG_lru is set as soon as the call returns.
 */
#ifndef PINMM_MM_INLINE_H
#define PINMM_MM_INLINE_H

#include <stdbool.h>

#include "mm_types.h"
#include "mmzone.h"
#include "page-flags.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A page on the file lists: a page-cache page of a host file. Anonymous and shmem pages are
 * swap-backed (Linux 5.8's name; 5.7 called it page_is_file_cache()). */
static inline bool page_is_file_lru(const struct page *page)
{
	return !PageSwapBacked(page);
}

/* Linux's page_evictable(): not mlocked. pinmm has no mlock() and no unevictable mappings
 * (ramfs, SHM_LOCK), so every page is evictable today; the list and its counter exist so that
 * the accounting and the OOM report have Linux's shape. */
static inline bool page_evictable(const struct page *page)
{
	return !PageMlocked(page);
}

static inline enum lru_list page_lru_base_type(const struct page *page)
{
	return page_is_file_lru(page) ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON;
}

/* The list a page on the LRU is on, from its flags. */
static inline enum lru_list page_lru(const struct page *page)
{
	if (PageUnevictable(page))
		return LRU_UNEVICTABLE;
	return (enum lru_list)(page_lru_base_type(page) + (PageActive(page) ? LRU_ACTIVE : 0));
}

/*
 * Put page (an order-0 page or a THP head; not on the LRU, not hugetlb, referenced by the
 * caller) on the list its flags choose: the unevictable list if it is not evictable (PG_active
 * cleared), else its active or inactive list, at the head. Sets PG_lru. WARNs and does nothing
 * for a tail page, a hugetlb page, or a page already on the LRU.
 */
void lru_cache_add(struct page *page);

/*
 * A new anonymous page of vma (after page_add_new_anon_rmap()): 5.7 puts it on the active
 * list (lru_cache_add_active_or_unevictable()), 5.9 on the inactive one
 * (lru_cache_add_inactive_or_unevictable(); rule_new_anon_page_active() in src/mm/rules.h);
 * the unevictable list for a VM_LOCKED vma under both.
 */
void lru_cache_add_inactive_or_unevictable(struct page *page, struct vm_area_struct *vma);

/*
 * Take page off the LRU for the caller (Linux's isolate_lru_page()): on success PG_lru is
 * clear, the page is on no list, and the caller holds one more reference, which
 * putback_lru_page() (or its own put_page() once the page is freed by it) gives back.
 * Returns 0, or -EBUSY: the page is not on the LRU (another isolator has it, or it was never
 * added) or its last reference is going. A tail page is isolated through its head.
 */
int isolate_lru_page(struct page *page);

/*
 * Is page, which the caller holds a reference to, on an LRU list? Read under the LRU lock, so
 * that what its owner wrote before the page joined a list (its mapping and index, PG_anon
 * and PG_swapcache state) is seen too: compaction and offlining ask it of a page they do not
 * see mapped, where nothing else orders those reads after the writes. A tail: false.
 */
bool page_on_lru(struct page *page);

/* Give an isolated page back to the LRU (its list chosen by its flags, as lru_cache_add()) and
 * drop the isolation's reference, which may free it. */
void putback_lru_page(struct page *page);

/*
 * Isolate up to nr_to_scan pages from the tail of list lru (reclaim's isolate_lru_pages()):
 * each page taken gets a reference and PG_lru cleared and is moved to dst (threaded through
 * page->lru; the caller owns dst and must give every page back with putback_lru_page() or
 * free it). A page whose last reference is going is left where it is (its put_page() takes
 * it off). *nr_scanned gets the number of base pages looked at, including those left.
 * Returns the number of base pages isolated.
 */
unsigned long isolate_lru_pages(enum lru_list lru, unsigned long nr_to_scan,
				struct cds_list_head *dst, unsigned long *nr_scanned);

/* Move pages of the caller's private list (isolated pages) to another one, or take one off.
 * page->lru is read by the lockless GUP walk (compound_head shares its first word), so these
 * store with relaxed atomics, as the LRU itself does. */
void isolated_list_add_tail(struct page *page, struct cds_list_head *head);
void isolated_list_del(struct page *page);

/*
 * The aging step of an access (Linux's mark_page_accessed(), 5.7): inactive,unreferenced ->
 * inactive,referenced -> active,unreferenced -> active,referenced. Activation moves a page on
 * the LRU to its active list (pgactivate). Any page; for one off the LRU (isolated, hugetlb,
 * the zero page) the second step only clears PG_referenced: nothing sets PG_active on a page
 * that is on no list.
 */
void mark_page_accessed(struct page *page);

/* Move a page on an inactive list to its active list's head (pgactivate); nothing otherwise. */
void activate_page(struct page *page);

/* Move a page on an active list to the head of its inactive list, clearing PG_active and
 * PG_referenced (Linux's deactivate_page(), MADV_COLD's step; pgdeactivate); nothing for a
 * page not on an evictable active list. */
void deactivate_page(struct page *page);

/* Move a page on an inactive list to its tail, where reclaim looks next (Linux's
 * rotate_reclaimable_page(), when writeback of a page reclaim wanted ends; pgrotated). */
void rotate_reclaimable_page(struct page *page);

/* Base pages on list lru (a moment's value). */
unsigned long lruvec_lru_size(enum lru_list lru);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MM_INLINE_H */
