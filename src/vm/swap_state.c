/* SPDX-License-Identifier: MIT */
/*
 * The swap cache's side of swap-out (Linux's mm/swap_state.c, and the anonymous case of
 * mm/vmscan.c's shrink_page_list() with mm/rmap.c's try_to_unmap_one()): a page gets a slot
 * (add_to_swap()), every PTE that maps it becomes a swap entry, it is written to the slot, and
 * once the write is over and nothing else holds it, it is freed. MADV_PAGEOUT reclaims the
 * pages of a range so (madvise_pageout()); MADV_COLD only makes them the first to go
 * (madvise_cold()).
 *
 * The rule set decides three things, each asked where Linux's code changed:
 *  - rule_swap_cache_refuses_maybe_pinned() (5.11): a page that may be pinned does not get a
 *    slot; 5.7 gives it one like any other;
 *  - rule_tracks_anon_exclusive() (5.19): an exclusive page's PTE becomes an exclusive swap
 *    entry, and a maybe-pinned exclusive page is not unmapped at all (Linux's
 *    page_try_share_anon_rmap() refuses to share it);
 *  - rule_reclaim_keeps_unmapped_pinned() (6.3): a page found maybe-pinned once unmapped is
 *    kept (activated) instead of written and freed.
 * Under 5.7 a pinned page is unmapped, written and kept in the swap cache (its refcount never
 * freezes): the process's entries name a slot while the device writes the page, and a fork
 * then shares those entries without the early copy a present pinned page gets (tested in
 * tests/unit/test_swap_rules.c).
 *
 * The rule that is easy to break: the PTE is cleared before the pin is looked at (as GUP-fast
 * pins first and checks the PTE after), and a refused unmap puts the very PTE back.
 */
#include <errno.h>

#include <pinmm/huge_mm.h>
#include <pinmm/mm_inline.h>

#include "swap.h"

bool add_to_swap(struct page *page)
{
	swp_entry_t entry = get_swap_page();

	if (!entry.val)
		return false;
	add_to_swap_cache(page, entry);
	/* Its contents are valid in memory: a fault finding it in the cache maps it as it is
	 * (a page read in gets the bit when its read worked). */
	SetPageUptodate(page);
	/* Its contents are in memory only until the slot is written (Linux's add_to_swap()
	 * dirties the page so that pageout writes it even if no PTE was dirty). */
	SetPageDirty(page);
	return true;
}

struct unmap_swap {
	swp_entry_t entry;
	bool refused;
};

/* try_to_unmap_one() for an anonymous page of the swap cache: the PTE mapping page at addr
 * becomes a swap entry for its slot. */
static bool unmap_to_swap_one(struct page *page, struct vm_area_struct *vma, unsigned long addr,
			      void *arg)
{
	struct unmap_swap *u = arg;
	pthread_spinlock_t *ptl;
	pte_t *pte = pte_lookup_lock(vma->vm_mm, addr, &ptl), old, swp;
	bool exclusive;

	if (!pte)
		return true;
	old = ptep_get(pte);
	if (!pte_present(old) || pte_pfn(old) != page_to_pfn(page)) {
		pthread_spin_unlock(ptl);
		return true;
	}
	exclusive = PageAnonExclusive(page);
	old = ptep_get_and_clear(pte);
	race_point("swap:pte_cleared");
	/* 5.19's page_try_share_anon_rmap(): the entry will not say the page is exclusive to
	 * this mm any more once it is back, so a page a device may be writing (only an exclusive
	 * page can be pinned under these rules) stays mapped. */
	if (exclusive && rule_tracks_anon_exclusive() && page_maybe_dma_pinned(page)) {
		set_pte(pte, old);
		pthread_spin_unlock(ptl);
		u->refused = true;
		return false;
	}
	swap_duplicate(u->entry);
	swp = swp_entry_to_pte(u->entry);
	if (exclusive) {
		swp = pte_swp_mkexclusive(swp);
		ClearPageAnonExclusive(page);
	}
	set_pte(pte, swp);
	if (pte_dirty(old))
		SetPageDirty(page);
	page_remove_rmap(page, false);
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, -1);
	add_mm_counter(vma->vm_mm, MM_SWAPENTS, 1);
	pthread_spin_unlock(ptl);
	put_page(page);
	return true;
}

/* Unmap page (locked, in the swap cache) everywhere: true if no PTE maps it any more. */
static bool try_to_unmap_swap(struct page *page)
{
	struct unmap_swap u = {.entry = {page->private}};
	struct anon_vma *av = page_get_anon_vma(page);

	if (!av)
		return !page_mapped(page);
	rmap_walk_anon_vma(av, page, unmap_to_swap_one, &u);
	page_put_anon_vma(av);
	return !u.refused && !page_mapped(page);
}

/* A page kept in memory by reclaim goes back to the active list (Linux's activate_locked): the
 * page is isolated, and putback_lru_page() puts it where its flags say. */
static void keep_active(struct page *page)
{
	SetPageActive(page);
	unlock_page(page);
}

/*
 * Linux's shrink_page_list() for one anonymous order-0 page (the caller isolated it from the
 * LRU, isolate_lru_page(), and so holds a reference; the page is not locked). Returns 1 when the page's write was submitted (the caller waits for
 * it and then frees the page: pageout_anon_finish()), 0 when the page was unmapped and is clean
 * already (free it the same way), or a negative errno when it stays in memory, mapped or in
 * the swap cache: -EAGAIN (locked by someone else, or under writeback), -EBUSY (may be pinned,
 * by the rule set's decision), -ENOSPC (no free slot), -EINVAL (not an anonymous swap-backed
 * order-0 page).
 */
int pageout_anon_plugged(struct page *page, struct swap_plug *plug)
{
	if (!trylock_page(page))
		return -EAGAIN;
	if (!PageAnon(page) || PageCompound(page) || !PageSwapBacked(page)) {
		unlock_page(page);
		return -EINVAL;
	}
	if (PageWriteback(page)) {
		unlock_page(page);
		return -EAGAIN;
	}
	if (!PageSwapCache(page)) {
		/* 5.11: a page that may be pinned cannot be freed anyway, and unmapping it would
		 * cut the process off the page the device writes. */
		if (rule_swap_cache_refuses_maybe_pinned() && page_maybe_dma_pinned(page)) {
			unlock_page(page);
			return -EBUSY;
		}
		if (!add_to_swap(page)) {
			keep_active(page);
			return -ENOSPC;
		}
	}
	if (page_mapped(page) && !try_to_unmap_swap(page)) {
		keep_active(page);
		return -EBUSY;
	}
	race_point("swap:page_unmapped");
	/* 6.3: unmapped, it cannot be newly pinned; one pinned meanwhile is not reclaimed. */
	if (rule_reclaim_keeps_unmapped_pinned() && page_maybe_dma_pinned(page)) {
		keep_active(page);
		return -EBUSY;
	}
	if (!PageDirty(page)) {
		unlock_page(page);
		return 0;
	}
	ClearPageDirty(page);
	SetPageReclaim(page);
	swap_writepage(page, plug); /* unlocks */
	return 1;
}

int pageout_anon(struct page *page)
{
	return pageout_anon_plugged(page, NULL);
}

/* After pageout_anon(): wait for the write and free the page if nothing but the caller and
 * the swap cache hold it (5.7: a pinned page stays in the swap cache). Consumes the caller's
 * isolation: a page that stays goes back to the LRU. True if the page was freed. */
bool pageout_anon_finish(struct page *page)
{
	bool freed = false;

	wait_on_page_writeback(page);
	lock_page(page);
	ClearPageReclaim(page);
	if (PageSwapCache(page))
		freed = swap_cache_try_release(page);
	unlock_page(page);
	if (freed)
		put_page(page); /* the last reference: the page is freed */
	else
		putback_lru_page(page);
	return freed;
}

/* ---- MADV_PAGEOUT / MADV_COLD ---- */

struct madv_batch {
	struct vm_area_struct *vma;
	bool pageout;
	struct page **pages;
	size_t nr, cap;
	struct page *last_compound; /* one reference per THP: the split needs the others free */
	int err;
};

static int madv_pmd(pmd_t *pmd, unsigned long addr, unsigned long end, void *arg)
{
	struct madv_batch *b = arg;

	(void)end;
	if (pmd_devmap(pmdp_get(pmd)))
		return 0;
	/* The THP's subpages are handled as PTEs (Linux 5.7 splits it for pageout too). */
	split_huge_pmd_locked(b->vma, pmd, addr & PMD_MASK);
	return WALK_DESCEND;
}

static int madv_pte(pte_t *pte, unsigned long addr, void *arg)
{
	struct madv_batch *b = arg;
	pte_t v = ptep_get(pte);
	struct page *page;

	if (!pte_present(v))
		return 0;
	page = vm_normal_page(b->vma, addr, v);
	/* Linux's madvise_cold_or_pageout_pte_range(): private pages only (mapped once). */
	if (!page || !PageAnon(page) || page_mapcount(page) != 1)
		return 0;
	if (pte_young(v))
		set_pte(pte, pte_mkold(v));
	ClearPageReferenced(page);
	if (!b->pageout) {
		/* The first to go when reclaim looks for anonymous pages. */
		deactivate_page(compound_head(page));
		return 0;
	}
	if (PageCompound(page)) {
		if (compound_head(page) == b->last_compound)
			return 0;
		b->last_compound = compound_head(page);
	}
	if (b->nr == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct page **pages = krealloc(b->pages, cap * sizeof(*pages));

		if (!pages) {
			b->err = -ENOMEM;
			return -ENOMEM;
		}
		b->pages = pages;
		b->cap = cap;
	}
	/* A THP is split before it is isolated (its subpages are isolated then); an order-0
	 * page another isolator holds is left, as Linux's walk leaves it. */
	if (PageCompound(page))
		get_page(page);
	else if (isolate_lru_page(page))
		return 0;
	else
		ClearPageActive(page); /* Linux's reclaim_pages(): from an inactive list, as it were */
	b->pages[b->nr++] = page;
	return 0;
}

/* Split a THP found by the walk (the batch holds one reference, on page): every subpage,
 * isolated, into the batch in its place. */
static void split_for_pageout(struct madv_batch *b, size_t i, struct page ***out, size_t *nout)
{
	struct page *page = b->pages[i], *head = compound_head(page);
	int ret;

	lock_page(page);
	ret = split_huge_page(page);
	unlock_page(page);
	if (ret) {
		put_page(page);
		return;
	}
	for (unsigned long k = 0; k < HPAGE_PMD_NR; k++) {
		if (isolate_lru_page(head + k))
			continue;
		ClearPageActive(head + k);
		(*out)[(*nout)++] = head + k;
	}
	put_page(page);
}

/* Reclaim the anonymous pages of the batch: split THPs, swap every page out, wait for the
 * writes, free. */
static void reclaim_batch(struct madv_batch *b)
{
	size_t nr_thp = 0, n = 0;
	struct page **pages = b->pages;
	struct swap_plug plug = {0};

	for (size_t i = 0; i < b->nr; i++)
		nr_thp += PageCompound(b->pages[i]);
	if (nr_thp) {
		pages = kmalloc((b->nr + nr_thp * HPAGE_PMD_NR) * sizeof(*pages));
		if (!pages) {
			pages = b->pages; /* reclaim the order-0 ones */
			for (size_t i = 0; i < b->nr; i++) {
				if (PageCompound(b->pages[i]))
					put_page(b->pages[i]);
				else
					pages[n++] = b->pages[i];
			}
		} else {
			for (size_t i = 0; i < b->nr; i++) {
				if (PageCompound(b->pages[i]))
					split_for_pageout(b, i, &pages, &n);
				else
					pages[n++] = b->pages[i];
			}
		}
	} else {
		n = b->nr;
	}
	/* The writes of pages whose slots follow each other (add_to_swap() hands out slots in
	 * order) go in one request, as Linux's reclaim_pages() under a block plug: submitted
	 * before the first wait. */
	for (size_t i = 0; i < n; i++) {
		int ret = pageout_anon_plugged(pages[i], &plug);

		if (ret < 0) {
			putback_lru_page(pages[i]);
			pages[i] = NULL;
		}
	}
	swap_plug_flush(&plug);
	for (size_t i = 0; i < n; i++)
		if (pages[i])
			pageout_anon_finish(pages[i]);
	if (pages != b->pages)
		free(pages);
}

int madvise_pageout(struct mm_struct *mm, unsigned long start, unsigned long end, bool pageout)
{
	static const struct mm_walk_ops ops = {.pmd_leaf = madv_pmd, .pte_entry = madv_pte};
	int ret = 0;

	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
	     v = find_vma(mm, v->vm_end)) {
		struct madv_batch b = {.vma = v, .pageout = pageout};

		/* Linux's can_madv_lru_vma(). */
		if (v->vm_flags & (VM_LOCKED | VM_HUGETLB | VM_PFNMAP))
			return -EINVAL;
		walk_page_range(v, start > v->vm_start ? start : v->vm_start,
				end < v->vm_end ? end : v->vm_end, &ops, &b);
		if (b.nr)
			reclaim_batch(&b);
		free(b.pages);
		if (b.err)
			ret = b.err;
	}
	return ret;
}
