/* SPDX-License-Identifier: MIT */
/*
 * The reverse map: from a page to every page-table entry that maps it. Anonymous pages reach
 * their VMAs through page->mapping = anon_vma | PAGE_MAPPING_ANON (one anon_vma is shared by a
 * process and the children it forks), file pages through their address_space's i_mmap list.
 * The address inside a VMA is vm_start + ((page->index - vm_pgoff) << PAGE_SHIFT).
 *
 * _mapcount counts PTE mappings of each page; compound_mapcount counts PMD/PUD mappings of a
 * whole compound page. Both are exact.
 */
#ifndef PINMM_RMAP_H
#define PINMM_RMAP_H

#include <stdbool.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Account a new mapping (compound: the whole page by a PMD/PUD leaf; else one PTE). Under
 * modern rules the page (a compound page: its head) becomes PageAnonExclusive: a page just
 * faulted, copied or collapsed is mapped by one process only. */
void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long address,
			    bool compound);
void page_add_file_rmap(struct page *page, bool compound);
/* Another mapping of an already mapped page (fork). */
void page_dup_rmap(struct page *page, bool compound);
/*
 * fork's decision for an anonymous page the parent maps (Linux's folio_try_dup_anon_rmap_pte()
 * and _pmd()): 0 when the child may share it, after the mapping is counted (page_dup_rmap())
 * and, under modern rules, the page's PageAnonExclusive cleared, since two processes now map
 * it; -EBUSY when the child must get its own copy instead, and then nothing is changed (not
 * returned yet: pinmm's fork shares maybe-pinned pages under both rule sets, as 5.7 does).
 * compound: page is the head of a THP or hugetlb page mapped by a PMD or PUD leaf; else one
 * PTE's page. src_vma is the parent's VMA. Caller holds the parent's mmap lock for write and
 * the page-table lock of the parent's entry, which is write-protected already.
 */
int page_try_dup_anon_rmap(struct page *page, bool compound, struct vm_area_struct *src_vma);
void page_remove_rmap(struct page *page, bool compound);

/* Write-protect and clean every PTE mapping page (a page-cache page about to be written
 * back). Returns the number of entries changed. Page locked. */
int page_mkclean(struct page *page);

/* Unmap page from every page table (moving its dirty bits to PG_dirty). Returns true if it is
 * no longer mapped anywhere. Page locked. */
bool try_to_unmap(struct page *page);

/*
 * How many mappings of page (a THP: of any of its pages, PMD or PTEs) have their accessed bit
 * set since the last look: each such bit is cleared (Linux's page_referenced(), reclaim's
 * aging step). *vm_flags gets the union of those mappings' VMA flags (VM_EXEC matters to
 * reclaim). The caller holds a reference; the page lock is not needed (the walk takes the
 * rmap locks, then each page-table lock). 0 for a page nothing maps.
 */
int page_referenced(struct page *page, unsigned long *vm_flags);

/* Call fn for every (vma, address) that maps page; fn returns false to stop the walk. The
 * anon_vma or i_mmap lock is held (read) across the walk. */
void rmap_walk(struct page *page,
	       bool (*fn)(struct page *page, struct vm_area_struct *vma, unsigned long address,
			  void *arg),
	       void *arg);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_RMAP_H */
