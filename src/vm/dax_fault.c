/* SPDX-License-Identifier: MIT */
/*
 * Faults on DAX mappings: map the file's device pfns directly, with devmap entries — a PMD
 * leaf when a whole 2 MiB-aligned block of the file fits in the VMA, PTEs otherwise. As in
 * Linux's fsdax, a mapping takes no reference on the device page and no mapcount; GUP takes
 * references. Entries are never copied on write: DAX mappings are shared.
 */
#include "internal.h"

bool vma_is_dax(const struct vm_area_struct *vma)
{
	return vma->vm_file && vma->vm_file->f_mapping->dax_nr_pages;
}

static unsigned long dax_bits(struct vm_area_struct *vma, bool write)
{
	unsigned long bits = vm_get_page_prot(vma).pgprot | _PAGE_DEVMAP;

	if (write)
		bits |= _PAGE_DIRTY;
	return bits;
}

static vm_fault_t dax_pmd_fault(struct vm_area_struct *vma, pmd_t *pmd, unsigned long pfn,
				bool write)
{
	pthread_spinlock_t *ptl = entry_ptl(pmd);

	pthread_spin_lock(ptl);
	if (pmd_none(pmdp_get(pmd)))
		set_pmd(pmd, (pmd_t){(pfn << PAGE_SHIFT) | dax_bits(vma, write) | _PAGE_PSE});
	else if (write && pmd_leaf(pmdp_get(pmd)))
		set_pmd(pmd, pmd_mkdirty(pmd_mkyoung(pmdp_get(pmd))));
	pthread_spin_unlock(ptl);
	return 0;
}

vm_fault_t dax_fault(struct vm_area_struct *vma, unsigned long addr, unsigned int flags)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	bool write = flags & FAULT_FLAG_WRITE;
	unsigned long haddr = addr & PMD_MASK;
	pgoff_t pgoff = linear_page_index(vma, addr);
	pgoff_t hoff = linear_page_index(vma, haddr);
	pthread_spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;

	if (pgoff >= mapping->dax_nr_pages)
		return VM_FAULT_SIGBUS;
	pmd = pmd_alloc(vma->vm_mm, addr);
	if (!pmd)
		return VM_FAULT_OOM;
	if (haddr >= vma->vm_start && haddr + PMD_SIZE <= vma->vm_end &&
	    (vma->vm_flags & VM_HUGEPAGE) && hoff + HPAGE_PMD_NR <= mapping->dax_nr_pages &&
	    ((mapping->dax_start_pfn + hoff) & (HPAGE_PMD_NR - 1)) == 0 &&
	    (pmd_none(pmdp_get(pmd)) || pmd_leaf(pmdp_get(pmd))))
		return dax_pmd_fault(vma, pmd, mapping->dax_start_pfn + hoff, write);
	pte = pte_alloc(vma->vm_mm, pmd, addr);
	if (!pte)
		return pmd_leaf(pmdp_get(pmd)) ? 0 : VM_FAULT_OOM;
	ptl = entry_ptl(pte);
	pthread_spin_lock(ptl);
	if (pte_none(ptep_get(pte)))
		set_pte(pte, (pte_t){((mapping->dax_start_pfn + pgoff) << PAGE_SHIFT) |
				     dax_bits(vma, write) | _PAGE_SPECIAL});
	else if (write)
		set_pte(pte, pte_mkdirty(pte_mkyoung(ptep_get(pte))));
	pthread_spin_unlock(ptl);
	return 0;
}
