/* SPDX-License-Identifier: MIT */
/*
 * Page migration (Linux's mm/migrate.c, for order-0 anonymous pages): move a page's contents
 * to a new frame and every mapping with them. Used by FOLL_LONGTERM to get pages out of CMA.
 *
 * Steps, with the page locked: replace every PTE mapping the page by a migration entry
 * (dropping the mapping's reference and mapcount); freeze the refcount at the one reference
 * the caller holds — any other holder (a GUP pin, a get_user_pages reference) makes the freeze
 * fail and the migration is undone; copy; point every migration entry at the new page.
 * The anon_vma is held across, so the entries can be found again even if every VMA that
 * had them is being unmapped. Faults that meet a migration entry wait on the page lock.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

struct remap_args {
	struct page *from, *to;
	unsigned long found;
};

/* Replace the PTE mapping page at addr by a migration entry. */
static bool set_migration_entry(struct page *page, struct vm_area_struct *vma, unsigned long addr,
				void *arg)
{
	struct remap_args *r = arg;
	pthread_spinlock_t *ptl;
	pte_t *pte = pte_lookup_lock(vma->vm_mm, addr, &ptl), old;

	if (!pte)
		return true;
	old = ptep_get(pte);
	if (pte_present(old) && pte_pfn(old) == page_to_pfn(page)) {
		set_pte(pte, (pte_t){(old.pte & ~(_PAGE_PRESENT | _PAGE_PROTNONE)) |
				     _PAGE_MIGRATION});
		if (pte_dirty(old))
			SetPageDirty(page);
		page_remove_rmap(page, false);
		put_page(page);
		r->found++;
	}
	pthread_spin_unlock(ptl);
	return true;
}

/* Turn migration entries for r->from into present PTEs mapping r->to. */
static bool remove_migration_pte(struct page *page, struct vm_area_struct *vma,
				 unsigned long addr, void *arg)
{
	struct remap_args *r = arg;
	pthread_spinlock_t *ptl;
	pte_t *pte = pte_lookup_lock(vma->vm_mm, addr, &ptl), old;

	(void)page;
	if (!pte)
		return true;
	old = ptep_get(pte);
	if (is_migration_entry(old) && pte_pfn(old) == page_to_pfn(r->from)) {
		unsigned long bits = old.pte & ~(PTE_PFN_MASK | _PAGE_MIGRATION);
		/* The entry forgot whether it was PROT_NONE; the VMA says (as Linux rebuilds the
		 * PTE from vm_page_prot). */
		unsigned long present = (vma->vm_flags & VM_ACCESS_FLAGS) ? _PAGE_PRESENT
									   : _PAGE_PROTNONE;

		get_page(r->to);
		page_add_anon_rmap(r->to);
		set_pte(pte, (pte_t){bits | present | (page_to_pfn(r->to) << PAGE_SHIFT)});
		r->found++;
	}
	pthread_spin_unlock(ptl);
	return true;
}

unsigned long set_migration_ptes(struct anon_vma *av, struct page *page)
{
	struct remap_args unmap = {.from = page};

	rmap_walk_anon_vma(av, page, set_migration_entry, &unmap);
	return unmap.found;
}

unsigned long remove_migration_ptes(struct anon_vma *av, struct page *old, struct page *new)
{
	struct remap_args remap = {.from = old, .to = new};

	rmap_walk_anon_vma(av, old, remove_migration_pte, &remap);
	return remap.found;
}

int migrate_anon_page(struct page *page, gfp_t gfp)
{
	struct anon_vma *av;
	struct page *new;
	int ret = 0;

	if (PageCompound(page) || !PageAnon(page))
		return -EBUSY;
	new = alloc_page(gfp | __GFP_NOWARN);
	if (!new)
		return -ENOMEM;
	lock_page(page);
	av = page_get_anon_vma(page);
	if (!av) {
		ret = -EAGAIN;
		goto out;
	}
	set_migration_ptes(av, page);
	/* Only the caller's reference may remain: anything else is a pin or a GUP reference. */
	if (!page_ref_freeze(page, 1)) {
		remove_migration_ptes(av, page, page);
		ret = -EAGAIN;
		goto out_av;
	}
	memcpy(page_address(new), page_address(page), PAGE_SIZE);
	new->mapping = page->mapping;
	new->index = page->index;
	atomic_fetch_or(&new->flags, atomic_load(&page->flags) &
				     (1UL << PG_dirty | 1UL << PG_swapbacked | 1UL << PG_referenced |
				      1UL << PG_uptodate));
	remove_migration_ptes(av, page, new);
	/* The old frame is ours alone (refcount frozen at 0): give it back. */
	unlock_page(page);
	atomic_store(&page->flags, 0);
	free_pages_ok(page, 0);
	page_put_anon_vma(av);
	put_page(new);
	count_vm_event(PGMIGRATE_SUCCESS);
	return 0;
out_av:
	page_put_anon_vma(av);
out:
	unlock_page(page);
	put_page(new);
	count_vm_event(PGMIGRATE_FAIL);
	return ret;
}

/* Fault on a migration entry: wait until the migration is over (it holds the page lock). */
void migration_entry_wait(pte_t entry)
{
	struct page *page = pfn_to_page(pte_pfn(entry));

	wait_on_page_locked(page);
}
