/* SPDX-License-Identifier: MIT */
/*
 * hugetlb mappings: a VM_HUGETLB VMA maps pool pages (hugetlb.h) with PMD leaves (2 MiB) or PUD
 * leaves (1 GiB). A fault takes a page from the pool or fails with SIGBUS when the pool is
 * empty (pinmm makes no reservation at mmap time; Linux reserves unless MAP_NORESERVE, and
 * then fails the mmap instead). Private mappings copy on write after fork, a whole huge page
 * at a time.
 *
 * Entries are locked with the PMD table's ptl (2 MiB) or mm->page_table_lock (1 GiB), through
 * huge_pte_lockptr(). An entry here is an unsigned long slot read and written atomically.
 */
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

struct hstate *hstate_vma(const struct vm_area_struct *vma)
{
	return size_to_hstate(1UL << vma->vm_huge_shift);
}

unsigned long *huge_pte_offset(struct vm_area_struct *vma, unsigned long addr, bool alloc)
{
	struct mm_struct *mm = vma->vm_mm;

	if (vma->vm_huge_shift == PUD_SHIFT)
		return (unsigned long *)(alloc ? pud_alloc(mm, addr) : pud_lookup(mm, addr));
	return (unsigned long *)(alloc ? pmd_alloc(mm, addr) : pmd_lookup(mm, addr));
}

pthread_spinlock_t *huge_pte_lockptr(struct vm_area_struct *vma, unsigned long *entry)
{
	return vma->vm_huge_shift == PUD_SHIFT ? &vma->vm_mm->page_table_lock : entry_ptl(entry);
}

/* Zero a huge page by giving its host memory back: the host refills it with zeros on first
 * touch, so a 1 GiB page costs nothing until it is used. */
static void clear_huge_page(struct page *head, unsigned long size)
{
	if (madvise(page_address(head), size, MADV_DONTNEED))
		memset(page_address(head), 0, size);
}

/* The entry for page; a write makes it dirty, and writable if the VMA allows writing. */
static unsigned long make_huge_entry(struct page *page, struct vm_area_struct *vma, bool write)
{
	unsigned long e = (page_to_pfn(page) << PAGE_SHIFT) | vm_get_page_prot(vma).pgprot |
			  _PAGE_PSE;

	if (write)
		e |= _PAGE_DIRTY | ((vma->vm_flags & VM_WRITE) ? _PAGE_RW : 0);
	return e;
}

static vm_fault_t hugetlb_no_page(struct vm_area_struct *vma, unsigned long *entry,
				  unsigned long haddr, unsigned int flags, struct hstate *h)
{
	pthread_spinlock_t *ptl = huge_pte_lockptr(vma, entry);
	bool write = flags & FAULT_FLAG_WRITE;
	struct page *page;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = dequeue_huge_page(h);
	if (!page)
		return VM_FAULT_SIGBUS;
	clear_huge_page(page, huge_page_size(h));
	pthread_spin_lock(ptl);
	if (pt_entry_load_acquire(entry)) {
		pthread_spin_unlock(ptl);
		put_page(page);
		return 0;
	}
	page_add_new_anon_rmap(page, vma, haddr, true);
	pt_entry_store_release(entry, make_huge_entry(page, vma, write));
	pthread_spin_unlock(ptl);
	return 0;
}

/* A write to a write-protected entry of a private mapping: reuse the page if this is its only
 * mapping, else copy it whole. */
static vm_fault_t hugetlb_cow(struct vm_area_struct *vma, unsigned long *entry,
			      unsigned long haddr, unsigned long orig, struct hstate *h)
{
	pthread_spinlock_t *ptl = huge_pte_lockptr(vma, entry);
	struct page *old = pfn_to_page((orig & PTE_PFN_MASK) >> PAGE_SHIFT);
	struct page *new;

	pthread_spin_lock(ptl);
	if (pt_entry_load_acquire(entry) != orig) {
		pthread_spin_unlock(ptl);
		return 0;
	}
	if (compound_mapcount(old) == 1) {
		pt_entry_store_release(entry, orig | _PAGE_DIRTY | _PAGE_ACCESSED |
					      ((vma->vm_flags & VM_WRITE) ? _PAGE_RW : 0));
		pthread_spin_unlock(ptl);
		return VM_FAULT_WRITE;
	}
	get_page(old);
	pthread_spin_unlock(ptl);
	new = dequeue_huge_page(h);
	if (!new) {
		put_page(old);
		return VM_FAULT_SIGBUS;
	}
	memcpy(page_address(new), page_address(old), huge_page_size(h));
	pthread_spin_lock(ptl);
	if (pt_entry_load_acquire(entry) == orig) {
		page_remove_rmap(old, true);
		put_page(old); /* the mapping's */
		page_add_new_anon_rmap(new, vma, haddr, true);
		pt_entry_store_release(entry, make_huge_entry(new, vma, true));
		new = NULL;
	}
	pthread_spin_unlock(ptl);
	if (new)
		put_page(new);
	put_page(old);
	return VM_FAULT_WRITE;
}

vm_fault_t hugetlb_fault(struct vm_area_struct *vma, unsigned long address, unsigned int flags)
{
	struct hstate *h = hstate_vma(vma);
	unsigned long haddr = address & ~(huge_page_size(h) - 1);
	unsigned long *entry = huge_pte_offset(vma, haddr, true);
	unsigned long v;

	if (!entry)
		return VM_FAULT_OOM;
	v = pt_entry_load_acquire(entry);
	if (!v)
		return hugetlb_no_page(vma, entry, haddr, flags, h);
	if ((flags & FAULT_FLAG_WRITE) && !(v & _PAGE_RW))
		return hugetlb_cow(vma, entry, haddr, v, h);
	return 0;
}
