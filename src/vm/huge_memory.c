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
 * A write to a THP mapped more than once follows the rule set (rule_thp_cow_splits()): 5.7
 * copies it whole into a new THP, or into 512 small pages when no THP can be had; modern rules
 * (5.8 on) split the PMD and copy one subpage. fork shares a THP by its PMD, except under
 * modern rules one that may be pinned: copy_huge_pmd() splits the parent's PMD and fork copies
 * the subpages for the child (5.9 on, page_try_dup_anon_rmap()).
 * Whether the THP is reused rather than copied follows rule_cow_reuses_exclusive_only(): 5.7
 * reuses it when no other PMD or PTE maps it, modern rules when it is PageAnonExclusive or the
 * PMD holds its only reference.
 *
 * PageAnonExclusive (modern rules) lives on the head page while a PMD maps the THP; splitting
 * the PMD gives every subpage the head's bit, as Linux's __split_huge_pmd_locked() does, and
 * split_huge_page() keeps each subpage's own bit.
 *
 * The rule that is easy to break: a PMD leaf never reads as none while it is replaced. A split
 * invalidates it (pmdp_invalidate(): not present, still a huge PMD) until the table is in, and
 * walkers that meet an invalidated PMD wait on its ptl; a copy replaces the leaf in one store.
 *
 * split_huge_page() takes the compound page itself apart (5.7's refcount freeze): its mappings
 * become migration entries while the refcount is frozen at the caller's reference, so a pin
 * taken before the unmap refuses the split, and a lookup after it waits on the entries.
 *
 * Not done (Linux does): the huge zero page (a read fault here maps a real THP) and the
 * deferred split queue; a partly unmapped THP stays whole until its last mapping and reference
 * go, or until split_huge_page().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pinmm/huge_mm.h>

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
	lru_cache_add_inactive_or_unevictable(page, vma);
	pgtable_trans_huge_deposit(pmd, table);
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, HPAGE_PMD_NR);
	set_pmd(pmd, entry);
	pthread_spin_unlock(ptl);
	count_vm_event(THP_FAULT_ALLOC);
	return 0;
}

/* 5.7's reuse test: is the THP mapped by this PMD only (no other PMD, no PTE of any subpage)?
 * Pins and other references do not count. */
static bool thp_exclusive(struct page *head)
{
	if (compound_mapcount(head) != 1)
		return false;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (atomic_load_explicit(&head[i]._mapcount, memory_order_relaxed) != -1)
			return false;
	return true;
}

/* 5.7's do_huge_pmd_wp_page_fallback(): no THP for the copy, so copy the 512 subpages into
 * small pages and map those by PTEs in the deposited table. We hold a reference on page.
 * Returns VM_FAULT_WRITE, 0 (the PMD changed: retry) or VM_FAULT_OOM. */
static vm_fault_t do_huge_pmd_wp_page_fallback(struct vm_area_struct *vma, pmd_t *pmd,
					       unsigned long haddr, pmd_t orig, struct page *page)
{
	pthread_spinlock_t *ptl = entry_ptl(pmd);
	struct page **pages = calloc(HPAGE_PMD_NR, sizeof(*pages));
	struct page *table;
	pte_t *ptes;
	unsigned long i;

	if (!pages)
		return VM_FAULT_OOM;
	for (i = 0; i < HPAGE_PMD_NR; i++) {
		pages[i] = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!pages[i])
			goto free;
		memcpy(page_address(pages[i]), page_address(page + i), PAGE_SIZE);
	}
	pthread_spin_lock(ptl);
	if (pmdp_get(pmd).pmd != orig.pmd) {
		pthread_spin_unlock(ptl);
		i = HPAGE_PMD_NR;
		goto free;
	}
	/* The table is filled before anyone can see it and replaces the PMD leaf in one store,
	 * so the PMD never reads as none (5.7 clears it first, for the TLB flush). */
	table = pgtable_trans_huge_withdraw(pmd);
	ptes = page_address(table);
	for (i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t entry = pte_mkdirty(pfn_pte(page_to_pfn(pages[i]), vm_get_page_prot(vma)));

		page_add_new_anon_rmap(pages[i], vma, haddr + i * PAGE_SIZE, false);
		lru_cache_add_inactive_or_unevictable(pages[i], vma);
		set_pte(&ptes[i], (vma->vm_flags & VM_WRITE) ? pte_mkwrite(entry) : entry);
	}
	set_pmd(pmd, (pmd_t){(page_to_pfn(table) << PAGE_SHIFT) | _PAGE_TABLE});
	page_remove_rmap(page, true);
	put_page(page); /* the PMD's reference */
	pthread_spin_unlock(ptl);
	free(pages);
	return VM_FAULT_WRITE;
free:
	while (i-- > 0)
		put_page(pages[i]);
	free(pages);
	return pmdp_get(pmd).pmd == orig.pmd ? VM_FAULT_OOM : 0;
}

/* 5.7's copy of a shared THP: into a new THP if one can be had, else into small pages. We hold
 * a reference on page, which this drops. */
static vm_fault_t wp_huge_copy(struct vm_area_struct *vma, pmd_t *pmd, unsigned long haddr,
			       pmd_t orig, struct page *page)
{
	pthread_spinlock_t *ptl = entry_ptl(pmd);
	struct page *new = NULL;
	vm_fault_t ret;

	if (transparent_hugepage_enabled(vma, haddr))
		new = alloc_pages(GFP_TRANSHUGE, HPAGE_PMD_ORDER);
	if (!new) {
		ret = do_huge_pmd_wp_page_fallback(vma, pmd, haddr, orig, page);
		if (ret & VM_FAULT_OOM) {
			/* As 5.7: split, and let the PTE fault try with one small page. */
			split_huge_pmd_address(vma, haddr);
			ret |= VM_FAULT_FALLBACK;
		}
		put_page(page);
		count_vm_event(THP_FAULT_FALLBACK);
		return ret;
	}
	set_compound_page_dtor(new, TRANSHUGE_PAGE_DTOR);
	CDS_INIT_LIST_HEAD(&new[2].deferred_list);
	count_vm_event(THP_FAULT_ALLOC);
	memcpy(page_address(new), page_address(page), HPAGE_PMD_SIZE);
	pthread_spin_lock(ptl);
	put_page(page); /* ours; the PMD still holds one if it is unchanged */
	if (pmdp_get(pmd).pmd != orig.pmd) {
		pthread_spin_unlock(ptl);
		put_page(new);
		return 0;
	}
	page_add_new_anon_rmap(new, vma, haddr, true);
	lru_cache_add_inactive_or_unevictable(new, vma);
	/* One store replaces the old leaf: the deposited table stays with the PMD. */
	set_pmd(pmd, maybe_pmd_mkwrite(pmd_mkyoung(pmd_mkdirty(pmd_mkhuge(
				pfn_pmd(page_to_pfn(new), vm_get_page_prot(vma))))), vma));
	page_remove_rmap(page, true);
	put_page(page); /* the old PMD's reference */
	pthread_spin_unlock(ptl);
	trace_event(TRACE_MM_COW, haddr, page_to_pfn(page), page_to_pfn(new), HPAGE_PMD_NR);
	return VM_FAULT_WRITE;
}

/* The modern reuse test (5.19's do_huge_pmd_wp_page()): the THP is exclusive, or the PMD
 * holds its only reference (then it becomes exclusive). Page lock and ptl held. */
static bool thp_wp_can_reuse(struct page *head)
{
	if (PageAnonExclusive(head))
		return true;
	if (page_ref_count(head) != 1)
		return false;
	SetPageAnonExclusive(head);
	return true;
}

vm_fault_t do_huge_pmd_wp_page(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address,
			       unsigned int flags)
{
	pthread_spinlock_t *ptl = entry_ptl(pmd);
	unsigned long haddr = address & PMD_MASK;
	bool unshare = flags & FAULT_FLAG_UNSHARE;
	struct page *page;
	pmd_t orig;

	pthread_spin_lock(ptl);
	orig = pmdp_get(pmd);
	if (!pmd_trans_huge(orig)) {
		pthread_spin_unlock(ptl);
		return VM_FAULT_FALLBACK;
	}
	page = pfn_to_page(pmd_pfn(orig));
	/* The reuse test runs under the page lock, as 5.7's reuse_swap_page() does. */
	if (!trylock_page(page)) {
		get_page(page);
		pthread_spin_unlock(ptl);
		lock_page(page);
		pthread_spin_lock(ptl);
		if (pmdp_get(pmd).pmd != orig.pmd) {
			pthread_spin_unlock(ptl);
			unlock_page(page);
			put_page(page);
			return 0;
		}
		put_page(page);
	}
	if (rule_cow_reuses_exclusive_only() ? thp_wp_can_reuse(page) : thp_exclusive(page)) {
		unlock_page(page);
		if (unshare) {
			/* Exclusive now: the pin may take it as it is mapped. */
			pthread_spin_unlock(ptl);
			return 0;
		}
		set_pmd(pmd, maybe_pmd_mkwrite(pmd_mkyoung(pmd_mkdirty(orig)), vma));
		pthread_spin_unlock(ptl);
		return VM_FAULT_WRITE;
	}
	unlock_page(page);
	if (rule_thp_cow_splits() || unshare) {
		/* 5.8 on: split the mapping; the PTE fault copies the subpage written to (or, for
		 * an unshare, the subpage to be pinned). */
		split_huge_pmd_locked(vma, pmd, haddr);
		pthread_spin_unlock(ptl);
		return VM_FAULT_FALLBACK;
	}
	get_page(page);
	pthread_spin_unlock(ptl);
	return wp_huge_copy(vma, pmd, haddr, orig, page);
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
	/* The PMD's exclusive bit becomes every subpage's (only ever set under modern rules). */
	bool exclusive = PageAnonExclusive(head);

	(void)haddr;
	(void)vma;
	race_point("huge_memory:split_pmd_invalidated");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		set_pte(&ptes[i], (pte_t){((pmd_pfn(old) + i) << PAGE_SHIFT) | bits});
		page_add_anon_rmap(head + i);
		if (exclusive)
			SetPageAnonExclusive(head + i);
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

/* fork's copy of an anonymous THP's PMD leaf (src's ptl held). */
int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma, pmd_t *dst,
		  pmd_t *src, unsigned long addr, struct page **deposit)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm;
	pmd_t v = pmdp_get(src);
	struct page *head = pfn_to_page(pmd_pfn(v));
	pthread_spinlock_t *dst_ptl;

	get_page(head);
	if (page_try_dup_anon_rmap(head, true, src_vma)) {
		/* Maybe pinned (modern rules): split the parent's PMD, keeping its bits, so
		 * that fork copies the subpages for the child by their PTEs (Linux 5.9). The
		 * deposit table is left for the next THP. */
		put_page(head);
		split_huge_pmd_locked(src_vma, src, addr & PMD_MASK);
		return -EAGAIN;
	}
	if (is_cow_mapping(src_vma->vm_flags) && pmd_write(v)) {
		v = pmd_wrprotect(v);
		set_pmd(src, v);
	}
	add_mm_counter(dst_mm, MM_ANONPAGES, HPAGE_PMD_NR);
	dst_ptl = entry_ptl(dst);
	pthread_spin_lock(dst_ptl);
	pgtable_trans_huge_deposit(dst, *deposit);
	*deposit = NULL;
	set_pmd(dst, pmd_mkold(v));
	pthread_spin_unlock(dst_ptl);
	return 0;
}

/* ---- split_huge_page: the compound page itself ---- */

static bool split_pmd_one(struct page *page, struct vm_area_struct *vma, unsigned long addr,
			  void *arg)
{
	(void)page;
	(void)arg;
	split_huge_pmd_address(vma, addr);
	return true;
}

int total_mapcount(struct page *head)
{
	int n;

	if (!PageCompound(head))
		return page_mapcount(head);
	n = compound_mapcount(head);

	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		n += atomic_load_explicit(&head[i]._mapcount, memory_order_relaxed) + 1;
	return n;
}

/* Flags a subpage inherits from the head when the THP is split (5.7's list, without swap). */
#define SPLIT_PAGE_FLAGS                                                                           \
	(1UL << PG_locked | 1UL << PG_referenced | 1UL << PG_uptodate | 1UL << PG_dirty |           \
	 1UL << PG_swapbacked | 1UL << PG_active | 1UL << PG_workingset | 1UL << PG_unevictable |  \
	 1UL << PG_mlocked)

/* Turn the frozen, unmapped THP at head into 512 order-0 pages, each with refcount 1 and the
 * head's anon_vma, index and flags; every subpage is left locked. The tails join head on the
 * LRU (or list: see split_huge_page_to_list()) before head is unfrozen. */
static void __split_huge_page(struct page *head, struct cds_list_head *list)
{
	unsigned long flags = atomic_load_explicit(&head->flags, memory_order_relaxed) &
			      SPLIT_PAGE_FLAGS;

	for (unsigned long i = 1; i < HPAGE_PMD_NR; i++) {
		struct page *tail = head + i;

		/* page[1] and page[2] carry the compound fields in these words: clear them. */
		tail->lru.prev = NULL;
		tail->mapping = head->mapping;
		tail->index = head->index + i;
		tail->private = 0;
		atomic_fetch_or_explicit(&tail->flags, flags, memory_order_relaxed);
		/* The tail is a page of its own only once the words above are: release. */
		atomic_store_explicit(&tail->compound_head, 0, memory_order_release);
		page_ref_unfreeze(tail, 1);
	}
	ClearPageHead(head);
	lru_add_split_tails(head, HPAGE_PMD_NR, list);
	page_ref_unfreeze(head, 1);
	count_vm_event(THP_SPLIT_PAGE);
}

int split_huge_page(struct page *page)
{
	return split_huge_page_to_list(page, NULL);
}

int split_huge_page_to_list(struct page *page, struct cds_list_head *list)
{
	struct page *head = compound_head(page);
	struct anon_vma *av = NULL;

	if (WARN_ON_ONCE(!PageLocked(head)) || WARN_ON_ONCE(page_ref_count(head) <= 0))
		return -EINVAL;
	if (!PageHead(head) || PageHuge(head) || compound_order(head) != HPAGE_PMD_ORDER ||
	    page_compound_dtor(head) != TRANSHUGE_PAGE_DTOR)
		return -EINVAL;
	if (!PageAnon(head))
		return -EBUSY; /* 5.7: a THP no longer in any anon_vma or file */
	/* Every reference but the caller's must be a mapping's (5.7's can_split_huge_page()). */
	if (total_mapcount(head) != page_count(head) - 1)
		return -EBUSY;
	if (page_mapped(head)) {
		av = page_get_anon_vma(head);
		if (!av)
			return -EBUSY;
		/* unmap_page(): PMDs become PTEs, and every PTE a migration entry. */
		rmap_walk_anon_vma(av, head, split_pmd_one, NULL);
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			set_migration_ptes(av, head + i);
	}
	race_point("huge_memory:split_page_unmapped");
	/* Only the caller's reference may be left: a pin or a GUP reference taken before the
	 * unmap keeps the THP whole. */
	if (page_mapped(head) || !page_ref_freeze(head, 1)) {
		for (unsigned long i = 0; av && i < HPAGE_PMD_NR; i++)
			remove_migration_ptes(av, head + i, head + i);
		if (av)
			page_put_anon_vma(av);
		return -EBUSY;
	}
	__split_huge_page(head, list);
	/* Split, still mapped by migration entries: an exit or a fork may read them now. */
	race_point("huge_memory:split_page_remapping");
	for (unsigned long i = 0; av && i < HPAGE_PMD_NR; i++)
		remove_migration_ptes(av, head + i, head + i);
	if (av)
		page_put_anon_vma(av);
	/* The caller keeps its reference and the lock on page; the others are dropped. */
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		if (head + i == page)
			continue;
		unlock_page(head + i);
		put_page(head + i);
	}
	return 0;
}
