/* SPDX-License-Identifier: MIT */
/*
 * Range operations on mapped entries, all built on walk_page_range(): unmapping
 * (zap_page_range: munmap, MADV_DONTNEED, exit) and changing protection (mprotect).
 *
 * Unmapping drops each mapping's reference right away (a swap entry its count on the slot); a
 * dirty PTE of a file page first
 * passes its dirty bit to the page (set_page_dirty), as Linux's zap_pte_range() does. A PMD
 * leaf only partly inside the range is split first.
 */
#include "swap.h"

struct zap_args {
	struct vm_area_struct *vma;
	unsigned long start, end;
};

/* A hugetlb entry: hugetlb pages are not counted in the mm's rss, as in Linux. */
static void zap_huge_entry(unsigned long *entry)
{
	unsigned long v = pt_entry_xchg_acq_rel(entry, 0);
	struct page *head = pfn_to_page((v & PTE_PFN_MASK) >> PAGE_SHIFT);

	page_remove_rmap(head, true);
	put_page(head);
}

static int zap_pud(pud_t *pud, unsigned long addr, unsigned long end, void *arg)
{
	(void)arg;
	(void)addr;
	(void)end;
	zap_huge_entry((unsigned long *)pud);
	return 0;
}

static int zap_pmd(pmd_t *pmd, unsigned long addr, unsigned long end, void *arg)
{
	struct zap_args *z = arg;

	if (z->vma->vm_flags & VM_HUGETLB) {
		zap_huge_entry((unsigned long *)pmd);
		return 0;
	}
	if (pmd_devmap(pmdp_get(pmd))) {
		/* A DAX mapping holds no reference: clearing it is all (it refaults as PTEs if
		 * only part of it was meant). */
		pmdp_get_and_clear(pmd);
		return 0;
	}
	if ((addr & ~PMD_MASK) == 0 && end - addr == PMD_SIZE) {
		zap_huge_pmd(z->vma, pmd);
		return 0;
	}
	split_huge_pmd_locked(z->vma, pmd, addr & PMD_MASK);
	return WALK_DESCEND;
}

static int zap_pte(pte_t *pte, unsigned long addr, void *arg)
{
	struct zap_args *z = arg;
	pte_t v = ptep_get_and_clear(pte);
	struct page *page;

	if (is_migration_entry(v)) {
		/* The entry holds no reference; the page it names is the migration's, and keeps
		 * its mapping (anonymous or a file's) until the migration ends. */
		add_mm_counter(z->vma->vm_mm, mm_counter(pfn_to_page(pte_pfn(v))), -1);
		return 0;
	}
	if (is_swap_pte(v)) {
		/* Linux's zap_pte_range(): the entry's count goes, and the swap-cache page with
		 * it when nothing else names the slot. */
		add_mm_counter(z->vma->vm_mm, MM_SWAPENTS, -1);
		free_swap_and_cache(pte_to_swp_entry(v));
		return 0;
	}
	page = vm_normal_page(z->vma, addr, v);
	if (!page)
		return 0;
	if (!PageAnon(page) && pte_dirty(v))
		set_page_dirty(page);
	page_remove_rmap(page, false);
	add_mm_counter(z->vma->vm_mm, mm_counter(page), -1);
	if (PageAnon(page))
		free_swap_cache(page);
	put_page(page);
	return 0;
}

void zap_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	static const struct mm_walk_ops ops = {
		.pud_leaf = zap_pud, .pmd_leaf = zap_pmd, .pte_entry = zap_pte};
	struct zap_args z = {.vma = vma, .start = start, .end = end};

	walk_page_range(vma, start, end, &ops, &z);
}

/* ---- change_protection ---- */

struct prot_args {
	struct vm_area_struct *vma;
	pgprot_t prot;
	bool writenotify_dirty; /* shared mapping with dirty tracking: dirty entries stay writable */
};

static unsigned long new_prot_bits(unsigned long old, struct prot_args *p)
{
	unsigned long keep = old & (PTE_PFN_MASK | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PSE |
				    _PAGE_SPECIAL | _PAGE_DEVMAP);
	unsigned long v = keep | p->prot.pgprot;

	if (p->writenotify_dirty && (old & _PAGE_DIRTY) && (p->vma->vm_flags & VM_WRITE))
		v |= _PAGE_RW;
	return v;
}

static int prot_huge(void *entry, struct prot_args *p)
{
	pt_entry_store_release(entry, new_prot_bits(pt_entry_load_acquire(entry), p));
	return 0;
}

static int prot_pud(pud_t *pud, unsigned long addr, unsigned long end, void *arg)
{
	(void)addr;
	(void)end;
	return prot_huge(pud, arg);
}

static int prot_pmd(pmd_t *pmd, unsigned long addr, unsigned long end, void *arg)
{
	(void)addr;
	(void)end;
	return prot_huge(pmd, arg);
}

static int prot_pte(pte_t *pte, unsigned long addr, void *arg)
{
	struct prot_args *p = arg;
	pte_t v = ptep_get(pte);

	(void)addr;
	if (is_swap_pte(v))
		return 0; /* a swap-in takes the VMA's protection */
	if (is_migration_entry(v)) {
		/* Keep it an entry; only write permission can change under it. */
		if (!(p->prot.pgprot & _PAGE_RW))
			set_pte(pte, pte_wrprotect(v));
		return 0;
	}
	return prot_huge(pte, arg);
}

void change_protection(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	static const struct mm_walk_ops ops = {
		.pud_leaf = prot_pud, .pmd_leaf = prot_pmd, .pte_entry = prot_pte};
	struct prot_args p = {.vma = vma, .prot = vm_get_page_prot(vma),
			      .writenotify_dirty = vma_wants_writenotify(vma)};

	walk_page_range(vma, start, end, &ops, &p);
}
