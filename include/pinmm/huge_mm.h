/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages: splitting one into order-0 pages (Linux's include/linux/huge_mm.h).
 */
#ifndef PINMM_HUGE_MM_H
#define PINMM_HUGE_MM_H

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Split the anonymous THP that page belongs to into 512 order-0 pages, as Linux 5.7's
 * split_huge_page(): every PMD mapping it is split into PTEs, every PTE is replaced by a
 * migration entry, the refcount is frozen at the caller's one reference, the compound page is
 * taken apart (each subpage gets the head's anon_vma, its own index and the head's flags) and
 * the PTEs are pointed at the subpages again. The caller holds the page lock and one reference
 * on page; on success it holds them on page (the subpage) alone, and every other subpage is
 * unlocked and holds one reference per mapping.
 * Returns 0; -EBUSY when a reference other than the mappings' and the caller's is held (a pin,
 * a get_user_pages() reference) or the THP belongs to no anon_vma any more: nothing changes,
 * except that its PMD mappings may have become PTEs, as in Linux; -EINVAL when page is not
 * part of a THP (order-0, other compound orders, hugetlb); -EINVAL with a WARN when the page
 * is not locked or not referenced.
 */
int split_huge_page(struct page *page);

/*
 * split_huge_page() of a THP the caller has isolated from the LRU (reclaim's batch, Linux's
 * split_huge_page_to_list()): the new order-0 pages other than page each get one more
 * reference and are appended to list (threaded through page->lru, isolated: PG_lru clear), for
 * the caller to treat as it treats page. With a THP on the LRU, or list NULL, they go on the
 * LRU beside it instead. Returns as split_huge_page().
 */
int split_huge_page_to_list(struct page *page, struct cds_list_head *list);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_HUGE_MM_H */
