/* SPDX-License-Identifier: MIT */
/*
 * copy_to_user / copy_from_user / access_remote_vm: a CPU's loads and stores. Each page is
 * found with follow_user_page(), which takes a reference so that a concurrent MADV_DONTNEED
 * (mmap lock held for read, like us) cannot free the frame under the copy.
 */
#include <string.h>

#include "internal.h"

/* The page mapped at addr with the access allowed, referenced, or NULL. Read lock held. */
static struct page *lookup_page(struct vm_area_struct *vma, unsigned long addr, bool write,
				bool force)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long *huge = NULL;
	struct page *page = NULL;
	pmd_t *pmd;

	if (vma->vm_flags & VM_HUGETLB) {
		huge = huge_pte_offset(vma, addr, false);
		if (huge) {
			unsigned long v = pt_entry_read(huge);
			unsigned long mask = (1UL << vma->vm_huge_shift) - 1;

			if ((v & _PAGE_PRESENT) && (!write || (v & _PAGE_RW) ||
						    (force && (v & _PAGE_DIRTY)))) {
				page = pfn_to_page(((v & PTE_PFN_MASK) >> PAGE_SHIFT) +
						   ((addr & mask) >> PAGE_SHIFT));
				get_page(page);
			}
		}
		return page;
	}
	pmd = pmd_lookup(mm, addr);
	if (!pmd)
		return NULL;
	{
		pthread_spinlock_t *ptl = entry_ptl(pmd);
		pmd_t v;

		pthread_spin_lock(ptl);
		v = pmdp_get(pmd);
		if (pmd_trans_huge(v) && (v.pmd & _PAGE_PRESENT) &&
		    (!write || pmd_write(v) || (force && pmd_dirty(v)))) {
			page = pfn_to_page(pmd_pfn(v) + pte_index(addr));
			get_page(page);
		}
		pthread_spin_unlock(ptl);
		if (pmd_leaf(v) || pmd_none(v))
			return page;
	}
	{
		pte_t *pte = pte_offset(pmdp_get(pmd), addr);
		pthread_spinlock_t *ptl = entry_ptl(pte);
		pte_t v;

		pthread_spin_lock(ptl);
		v = ptep_get(pte);
		if ((v.pte & _PAGE_PRESENT) && (!write || pte_write(v) || (force && pte_dirty(v)))) {
			page = pfn_to_page(pte_pfn(v));
			get_page(page);
		}
		pthread_spin_unlock(ptl);
	}
	return page;
}

/* The page at addr for the access, faulting as needed; referenced, or NULL. */
static struct page *follow_user_page(struct mm_struct *mm, unsigned long addr, bool write,
				     bool force)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	unsigned long need = write ? VM_WRITE : VM_READ;

	if (!vma)
		return NULL;
	if (!(vma->vm_flags & need)) {
		/* FOLL_FORCE: a write only to a private mapping that may be written (COW). */
		if (!force || (write && !is_cow_mapping(vma->vm_flags)) ||
		    (!write && !(vma->vm_flags & VM_MAYREAD)))
			return NULL;
	}
	for (int tries = 0; tries < 3; tries++) {
		struct page *page = lookup_page(vma, addr, write, force);
		vm_fault_t ret;

		if (page)
			return page;
		ret = handle_mm_fault(vma, addr, write ? FAULT_FLAG_WRITE : 0);
		if (ret & VM_FAULT_ERROR)
			return NULL;
	}
	return NULL;
}

/* Copy between buf and [addr, addr + len) of mm; returns the bytes copied. */
static unsigned long access_vm(struct mm_struct *mm, unsigned long addr, void *buf,
			       unsigned long len, bool write, bool force)
{
	unsigned long done = 0;

	mmap_read_lock(mm);
	while (done < len) {
		unsigned long off = (addr + done) & ~PAGE_MASK;
		unsigned long n = PAGE_SIZE - off < len - done ? PAGE_SIZE - off : len - done;
		struct page *page = follow_user_page(mm, addr + done, write, force);
		char *kaddr;

		if (!page)
			break;
		kaddr = (char *)page_address(page) + off;
		if (write)
			memcpy(kaddr, (char *)buf + done, n);
		else
			memcpy((char *)buf + done, kaddr, n);
		put_page(page);
		done += n;
	}
	mmap_read_unlock(mm);
	return done;
}

unsigned long copy_to_user(unsigned long uaddr, const void *from, unsigned long n)
{
	struct mm_struct *mm = current_mm();

	if (!mm)
		return n;
	return n - access_vm(mm, uaddr, (void *)from, n, true, false);
}

unsigned long copy_from_user(void *to, unsigned long uaddr, unsigned long n)
{
	struct mm_struct *mm = current_mm();

	if (!mm)
		return n;
	return n - access_vm(mm, uaddr, to, n, false, false);
}

int access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf, int len,
		     unsigned int gup_flags)
{
	if (!mm || len <= 0)
		return 0;
	return (int)access_vm(mm, addr, buf, (unsigned long)len, gup_flags & FOLL_WRITE,
			      gup_flags & FOLL_FORCE);
}
