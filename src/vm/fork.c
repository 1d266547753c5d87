/* SPDX-License-Identifier: MIT */
/*
 * fork: duplicating an address space (Linux's dup_mmap() and copy_page_range(), 5.7 rules).
 *
 * Every VMA but VM_DONTCOPY ones is copied. Private writable entries are write-protected in
 * both parent and child, so that the first write on either side copies (or, if the other side
 * has unmapped it by then, reuses) the page; shared entries are copied as they are. Each copied
 * entry takes a reference and a mapcount on its page. As in 5.7, pinned pages are shared like
 * any other: the parent's pins are not considered (later kernels copy them at fork).
 * VMAs of shared files without anonymous pages are not copied entry by entry: the child faults
 * them in from the page cache.
 */
#include <errno.h>

#include "internal.h"

struct copy_args {
	struct vm_area_struct *dst, *src;
};

static int copy_pte(pte_t *src_pte, unsigned long addr, void *arg)
{
	struct copy_args *c = arg;
	struct mm_struct *dst_mm = c->dst->vm_mm;
	pmd_t *dst_pmd = pmd_alloc(dst_mm, addr);
	pte_t *dst_pte = dst_pmd ? pte_alloc(dst_mm, dst_pmd, addr) : NULL;
	pte_t v = ptep_get(src_pte);
	struct page *page;

	if (!dst_pte)
		return -ENOMEM;
	if (is_migration_entry(v)) {
		/* The page is moving: the child gets an entry too, found again by the rmap walk
		 * that ends the migration. Private COW entries become read-only on both sides. */
		if (is_cow_mapping(c->src->vm_flags) && pte_write(v)) {
			v = pte_wrprotect(v);
			set_pte(src_pte, v);
		}
		add_mm_counter(dst_mm, MM_ANONPAGES, 1);
		pthread_spin_lock(entry_ptl(dst_pte));
		set_pte(dst_pte, v);
		pthread_spin_unlock(entry_ptl(dst_pte));
		return 0;
	}
	if (is_cow_mapping(c->src->vm_flags) && pte_write(v)) {
		v = pte_wrprotect(v);
		set_pte(src_pte, v);
	}
	if (c->src->vm_flags & VM_SHARED)
		v = pte_mkclean(v);
	page = vm_normal_page(c->src, addr, v);
	if (page) {
		get_page(page);
		page_dup_rmap(page, false);
		add_mm_counter(dst_mm, mm_counter(page), 1);
	}
	pthread_spin_lock(entry_ptl(dst_pte));
	set_pte(dst_pte, pte_mkold(v));
	pthread_spin_unlock(entry_ptl(dst_pte));
	return 0;
}

/* A hugetlb leaf (PMD or PUD). */
static int copy_huge_entry(void *src_entry, unsigned long addr, struct copy_args *c)
{
	unsigned long *dst = huge_pte_offset(c->dst, addr, true);
	unsigned long v = pt_entry_load_acquire(src_entry);
	struct page *head = pfn_to_page((v & PTE_PFN_MASK) >> PAGE_SHIFT);
	pthread_spinlock_t *dst_ptl;

	if (!dst)
		return -ENOMEM;
	if (is_cow_mapping(c->src->vm_flags) && (v & _PAGE_RW)) {
		v &= ~_PAGE_RW;
		pt_entry_store_release(src_entry, v);
	}
	get_page(head);
	page_dup_rmap(head, true);
	dst_ptl = huge_pte_lockptr(c->dst, dst);
	pthread_spin_lock(dst_ptl);
	pt_entry_store_release(dst, v);
	pthread_spin_unlock(dst_ptl);
	return 0;
}

static int copy_pud(pud_t *pud, unsigned long addr, unsigned long end, void *arg)
{
	(void)end;
	return copy_huge_entry(pud, addr, arg);
}

static int copy_pmd(pmd_t *pmd, unsigned long addr, unsigned long end, void *arg)
{
	struct copy_args *c = arg;

	(void)end;
	if (c->src->vm_flags & VM_HUGETLB)
		return copy_huge_entry(pmd, addr, c);
	if (pmd_devmap(pmdp_get(pmd)))
		return 0; /* DAX: the child refaults it */
	return copy_huge_pmd(c->dst, c->src, pmd, addr);
}

int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	static const struct mm_walk_ops ops = {
		.pud_leaf = copy_pud, .pmd_leaf = copy_pmd, .pte_entry = copy_pte};
	struct copy_args c = {.dst = dst_vma, .src = src_vma};

	if (!(src_vma->vm_flags & (VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP)) && !src_vma->anon_vma)
		return 0;
	return walk_page_range(src_vma, src_vma->vm_start, src_vma->vm_end, &ops, &c);
}

struct mm_struct *pinmm_fork(struct mm_struct *oldmm)
{
	struct mm_struct *mm;
	int ret = 0;

	if (!oldmm)
		return ERR_PTR(-EINVAL);
	if (mm_check(oldmm))
		return ERR_PTR(-ESRCH);
	mm = mm_alloc();
	if (!mm)
		return ERR_PTR(-ENOMEM);
	mmap_write_lock(oldmm);
	mmap_write_lock(mm);
	for (unsigned long i = 0; i < oldmm->nr_vmas && !ret; i++) {
		struct vm_area_struct *vma = oldmm->vmas[i], *new;

		if (vma->vm_flags & VM_DONTCOPY)
			continue;
		new = vm_area_dup(vma);
		if (!new) {
			ret = -ENOMEM;
			break;
		}
		new->vm_mm = mm;
		/* The child of a private hugetlb mapping holds no reservations (Linux's
		 * reset_vma_resv_huge_pages() in dup_mmap()). */
		if (new->vm_flags & VM_HUGETLB)
			reset_vma_resv_huge_pages(new);
		if (vma_insert(mm, new)) {
			vm_area_free(new);
			ret = -ENOMEM;
			break;
		}
		vma_link_rmap(new);
		race_point("fork:vma_linked");
		ret = copy_page_range(new, vma);
	}
	mmap_write_unlock(mm);
	mmap_write_unlock(oldmm);
	if (ret) {
		mmput(mm);
		return ERR_PTR(ret);
	}
	return mm;
}
