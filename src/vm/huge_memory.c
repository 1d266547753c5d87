/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages on PMD leaves: the anonymous THP fault, write faults on a shared
 * THP, splitting a PMD mapping into 512 PTEs, and unmapping and copying PMD leaves.
 *
 * References: a PMD mapping holds one reference on the head and one compound_mapcount; after a
 * split, each of the 512 PTEs holds one reference on the head and one _mapcount of its subpage.
 * Every PMD leaf has a PTE table deposited beside it (in the PMD table page), so a split never
 * needs to allocate and cannot fail.
 *
 * Not done (Linux does): the huge zero page (a read fault here maps a real THP), splitting the
 * compound page itself (split_huge_page) and the deferred split queue; a partly unmapped THP
 * stays whole until its last mapping and reference go.
 */
#include <errno.h>

#include "internal.h"
#include "lib/internal.h"

bool transparent_hugepage_enabled(const struct vm_area_struct *vma, unsigned long haddr)
{
	enum pinmm_thp_mode mode = pinmm_machine_config()->thp;

	if (!vma_is_anonymous(vma) || (vma->vm_flags & (VM_HUGETLB | VM_NOHUGEPAGE | VM_SHARED)))
		return false;
	if (mode == PINMM_THP_NEVER || (mode == PINMM_THP_MADVISE && !(vma->vm_flags & VM_HUGEPAGE)))
		return false;
	return haddr >= vma->vm_start && haddr + HPAGE_PMD_SIZE <= vma->vm_end;
}

static pmd_t maybe_pmd_mkwrite(pmd_t pmd, const struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_WRITE) ? pmd_mkwrite(pmd) : pmd;
}

vm_fault_t do_huge_pmd_anonymous_page(struct vm_area_struct *vma, pmd_t *pmd,
				      unsigned long address)
{
	unsigned long haddr = address & PMD_MASK;
	pthread_spinlock_t *ptl = entry_ptl(pmd);
	struct page *page, *table;
	pmd_t entry;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = alloc_pages(GFP_TRANSHUGE | __GFP_ZERO, HPAGE_PMD_ORDER);
	if (!page) {
		count_vm_event(THP_FAULT_FALLBACK);
		return VM_FAULT_FALLBACK;
	}
	set_compound_page_dtor(page, TRANSHUGE_PAGE_DTOR);
	CDS_INIT_LIST_HEAD(&page[2].deferred_list);
	table = pgtable_alloc(vma->vm_mm);
	if (!table) {
		put_page(page);
		return VM_FAULT_OOM;
	}
	entry = maybe_pmd_mkwrite(pmd_mkdirty(pmd_mkhuge(pfn_pmd(page_to_pfn(page),
							      vm_get_page_prot(vma)))),
				  vma);
	pthread_spin_lock(ptl);
	if (!pmd_none(pmdp_get(pmd))) {
		pthread_spin_unlock(ptl);
		pgtable_free(vma->vm_mm, table);
		put_page(page);
		return 0;
	}
	page_add_new_anon_rmap(page, vma, haddr, true);
	pgtable_trans_huge_deposit(pmd, table);
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, HPAGE_PMD_NR);
	set_pmd(pmd, entry);
	pthread_spin_unlock(ptl);
	count_vm_event(THP_FAULT_ALLOC);
	return 0;
}

/* Is the THP mapped by this PMD only (no other PMD, no PTE of any subpage)? */
static bool thp_exclusive(struct page *head)
{
	if (compound_mapcount(head) != 1)
		return false;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (atomic_load_explicit(&head[i]._mapcount, memory_order_relaxed) != -1)
			return false;
	return true;
}

vm_fault_t do_huge_pmd_wp_page(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address)
{
	pthread_spinlock_t *ptl = entry_ptl(pmd);
	pmd_t v;
	vm_fault_t ret = VM_FAULT_FALLBACK;

	pthread_spin_lock(ptl);
	v = pmdp_get(pmd);
	if (!pmd_trans_huge(v)) {
		pthread_spin_unlock(ptl);
		return VM_FAULT_FALLBACK;
	}
	if (thp_exclusive(pfn_to_page(pmd_pfn(v)))) {
		set_pmd(pmd, maybe_pmd_mkwrite(pmd_mkyoung(pmd_mkdirty(v)), vma));
		ret = VM_FAULT_WRITE;
	} else {
		/* 5.7 copies a shared THP one subpage at a time: split the mapping and let the
		 * PTE fault copy the subpage written to. */
		split_huge_pmd_locked(vma, pmd, address & PMD_MASK);
	}
	pthread_spin_unlock(ptl);
	return ret;
}

void split_huge_pmd_locked(struct vm_area_struct *vma, pmd_t *pmd, unsigned long haddr)
{
	/* Not cleared: invalidated. A walker under the read lock (MADV_DONTNEED, GUP, a fault)
	 * that read none here would skip a THP that is about to be mapped again by PTEs; an
	 * invalidated PMD sends it to the ptl, which it gets once the table is in. */
	pmd_t old = pmdp_invalidate(pmd);
	struct page *head = pfn_to_page(pmd_pfn(old));
	struct page *table = pgtable_trans_huge_withdraw(pmd);
	pte_t *ptes = page_address(table);
	unsigned long bits = old.pmd & ~(PTE_PFN_MASK | _PAGE_PSE);

	(void)haddr;
	(void)vma;
	race_point("huge_memory:split_pmd_invalidated");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		set_pte(&ptes[i], (pte_t){((pmd_pfn(old) + i) << PAGE_SHIFT) | bits});
		page_add_anon_rmap(head + i);
	}
	page_ref_add(head, HPAGE_PMD_NR - 1);
	page_remove_rmap(head, true);
	/* Publishes the filled table: a walker that sees the new entry sees the PTEs. */
	set_pmd(pmd, (pmd_t){(page_to_pfn(table) << PAGE_SHIFT) | _PAGE_TABLE});
	count_vm_event(THP_SPLIT_PMD);
}

void split_huge_pmd_address(struct vm_area_struct *vma, unsigned long addr)
{
	pmd_t *pmd = pmd_lookup(vma->vm_mm, addr);
	pthread_spinlock_t *ptl;

	if (!pmd || (vma->vm_flags & VM_HUGETLB) || !pmd_leaf(pmdp_get(pmd)))
		return;
	ptl = entry_ptl(pmd);
	pthread_spin_lock(ptl);
	if (pmd_trans_huge(pmdp_get(pmd)))
		split_huge_pmd_locked(vma, pmd, addr & PMD_MASK);
	else if (pmd_devmap(pmdp_get(pmd)))
		pmdp_get_and_clear(pmd); /* DAX: no reference held; refaults as PTEs */
	pthread_spin_unlock(ptl);
}

void zap_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd)
{
	pmd_t old = pmdp_get_and_clear(pmd);
	struct page *head = pfn_to_page(pmd_pfn(old));

	pgtable_free(vma->vm_mm, pgtable_trans_huge_withdraw(pmd));
	page_remove_rmap(head, true);
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, -(long)HPAGE_PMD_NR);
	put_page(head);
}

int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma, pmd_t *src,
		  unsigned long addr)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm;
	pmd_t *dst = pmd_alloc(dst_mm, addr);
	struct page *table = dst ? pgtable_alloc(dst_mm) : NULL;
	pmd_t v = pmdp_get(src);
	struct page *head = pfn_to_page(pmd_pfn(v));
	pthread_spinlock_t *dst_ptl;

	if (!table)
		return -ENOMEM;
	if (is_cow_mapping(src_vma->vm_flags) && pmd_write(v)) {
		v = pmd_wrprotect(v);
		set_pmd(src, v);
	}
	get_page(head);
	page_dup_rmap(head, true);
	add_mm_counter(dst_mm, MM_ANONPAGES, HPAGE_PMD_NR);
	dst_ptl = entry_ptl(dst);
	pthread_spin_lock(dst_ptl);
	pgtable_trans_huge_deposit(dst, table);
	set_pmd(dst, pmd_mkold(v));
	pthread_spin_unlock(dst_ptl);
	return 0;
}
