/* SPDX-License-Identifier: MIT */
/*
 * Page migration (Linux's mm/migrate.c): move a page's contents to a new frame and every
 * mapping with them. Used by FOLL_LONGTERM to get pages out of memory a long-term pin may not
 * hold (CMA; under modern rules ZONE_MOVABLE too), by compaction (into the free pages its free
 * scanner took: the caller supplies the new page, Linux's new_page_t) and by memory offlining.
 * A failure says why (enum pinmm_migrate_fail, <pinmm/migrate.h>). Handles order-0 anonymous pages, order-0
 * page-cache pages of pinmm's files (shmem / memfd and host files), and anonymous THPs, which
 * it splits (Linux's fallback when no THP can be allocated: pinmm never moves a THP whole).
 * hugetlb pages never need it: their pools are filled from ZONE_NORMAL outside CMA.
 *
 * The page is first taken off the LRU (isolate_lru_page(), as Linux's callers of
 * migrate_pages() do), so reclaim and compaction leave it alone and its frame can be freed
 * directly; the new page goes onto the LRU with the old one's active state at the end.
 *
 * Steps, with the page locked: replace every PTE mapping the page by a migration entry
 * (dropping the mapping's reference and mapcount); freeze the refcount at the references the
 * caller and (a file page) the page cache hold — any other holder (a GUP pin, a get_user_pages
 * reference) makes the freeze fail and the migration is undone; copy; point every migration
 * entry at the new page. An anonymous page's anon_vma is held across, so the entries can be
 * found again even if every VMA that had them is being unmapped; a file page's VMAs are found
 * through its mapping, which the page keeps until the entries are gone. Faults that meet a
 * migration entry wait on the page lock.
 *
 * PageAnonExclusive (modern rules) travels in the entry: cleared on the page when its PTE
 * becomes a migration entry, set on the page the entry becomes a PTE for (fork clears it in
 * entries it shares).
 *
 * The rule that is easy to break: the old page's mapping stays set until the last migration
 * entry has been turned back, and the new page is locked before anyone can find it.
 */
#include <errno.h>
#include <string.h>

#include <pinmm/huge_mm.h>
#include <pinmm/migrate.h>

#include "swap.h"

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
		/* A file page's dirtiness is accounted (nr_dirty): set_page_dirty(), as zap. */
		if (pte_dirty(old) && !PageAnon(page))
			set_page_dirty(page);
		else if (pte_dirty(old))
			SetPageDirty(page);
		if (PageAnon(page) && PageAnonExclusive(page)) {
			ClearPageAnonExclusive(page);
			set_pte(pte, (pte_t){ptep_get(pte).pte | _PAGE_MIGRATION_EXCLUSIVE});
		}
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
		unsigned long bits = old.pte &
				     ~(PTE_PFN_MASK | _PAGE_MIGRATION | _PAGE_MIGRATION_EXCLUSIVE);
		/* The entry forgot whether it was PROT_NONE; the VMA says (as Linux rebuilds the
		 * PTE from vm_page_prot). */
		unsigned long present = (vma->vm_flags & VM_ACCESS_FLAGS) ? _PAGE_PRESENT
									   : _PAGE_PROTNONE;

		get_page(r->to);
		if (PageAnon(r->to))
			page_add_anon_rmap(r->to);
		else
			page_add_file_rmap(r->to, false);
		if (old.pte & _PAGE_MIGRATION_EXCLUSIVE)
			SetPageAnonExclusive(r->to);
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

/* Keep the flags of old that describe its contents and state, on new: a host-file page's
 * block reservation (PG_private, src/fs/balloc.c) too, as Linux moves a page's buffers. */
static void migrate_page_flags(struct page *new, struct page *old)
{
	atomic_fetch_or(&new->flags, atomic_load(&old->flags) &
				     (1UL << PG_dirty | 1UL << PG_swapbacked | 1UL << PG_referenced |
				      1UL << PG_uptodate | 1UL << PG_private | 1UL << PG_active |
				      1UL << PG_workingset | 1UL << PG_unevictable));
}

/* The new frame for page, from the target (NULL: none). */
static struct page *target_alloc(const struct migrate_target *t, struct page *page)
{
	return t->alloc(page, t->arg);
}

/* A new frame that was not used goes back to the target (its allocation reference). */
static void target_release(const struct migrate_target *t, struct page *new)
{
	if (t->release)
		t->release(new, t->arg);
	else
		put_page(new);
}

/* Lock the page to migrate: async mode (compaction's first try) does not wait for a holder. */
static bool migrate_lock_page(struct page *page, enum migrate_mode mode)
{
	if (mode == MIGRATE_ASYNC)
		return trylock_page(page);
	lock_page(page);
	return true;
}

/* An order-0 anonymous page (the caller holds one reference). 0: done, the caller's reference
 * consumed, the old frame freed; or -EAGAIN (someone else holds a reference: a pin; the page
 * is unmapped and not in the swap cache) / -ENOMEM / -EBUSY (locked, async mode), and the
 * caller still holds its reference. */
static int migrate_anon_page(struct page *page, const struct migrate_target *t,
			     enum migrate_mode mode)
{
	struct anon_vma *av;
	struct page *new;
	bool swapcache;
	int ret = 0;

	new = target_alloc(t, page);
	if (!new)
		return -ENOMEM;
	if (!migrate_lock_page(page, mode)) {
		target_release(t, new);
		return -EBUSY;
	}
	/* A swap-cache page nobody maps (compaction and offlining take those too) has no
	 * entries to replace: the page lock keeps a fault from mapping it meanwhile. */
	av = page_get_anon_vma(page);
	if (!av && (!PageSwapCache(page) || page_mapped(page))) {
		ret = -EAGAIN;
		goto out;
	}
	/* A page of the swap cache being written keeps its frame until the write is over. */
	if (PageWriteback(page)) {
		ret = -EAGAIN;
		goto out_av;
	}
	if (av)
		set_migration_ptes(av, page);
	/* Only the caller's reference (and the swap cache's) may remain: anything else is a
	 * pin or a GUP reference. */
	swapcache = PageSwapCache(page);
	if (!page_ref_freeze(page, 1 + swapcache)) {
		if (av)
			remove_migration_ptes(av, page, page);
		ret = -EAGAIN;
		goto out_av;
	}
	memcpy(page_address(new), page_address(page), PAGE_SIZE);
	new->mapping = page->mapping;
	new->index = page->index;
	migrate_page_flags(new, page);
	if (swapcache) {
		/* Linux's migrate_page_move_mapping() for the swap cache: its slot and its
		 * reference move to new, locked until its PTEs are back. */
		__SetPageLocked(new);
		swap_cache_migrate(page, new);
	}
	if (av)
		remove_migration_ptes(av, page, new);
	trace_event(TRACE_MM_MIGRATE_PAGE, page_to_pfn(page), page_to_pfn(new), 0, 0);
	if (swapcache)
		unlock_page(new);
	/* The old frame is ours alone (refcount frozen at 0): give it back. */
	unlock_page(page);
	atomic_store(&page->flags, 0);
	free_pages_ok(page, 0);
	if (av)
		page_put_anon_vma(av);
	putback_lru_page(new); /* onto the old page's list; the allocation's reference */
	return 0;
out_av:
	if (av)
		page_put_anon_vma(av);
out:
	unlock_page(page);
	target_release(t, new);
	return ret;
}

/* An order-0 page-cache page: the cache's reference moves to the new page with the slot.
 * Returns as migrate_anon_page(); -EAGAIN also for a page truncated or under writeback. */
static int migrate_file_page(struct page *page, const struct migrate_target *t,
			     enum migrate_mode mode)
{
	struct remap_args unmap = {.from = page}, remap = {.from = page};
	struct page *new;
	int ret;

	new = target_alloc(t, page);
	if (!new)
		return -ENOMEM;
	if (!migrate_lock_page(page, mode)) {
		target_release(t, new);
		return -EBUSY;
	}
	/* Truncated since the caller found it, or being written to the host: not now. */
	if (!page->mapping || PageWriteback(page)) {
		ret = -EAGAIN;
		goto out;
	}
	rmap_walk(page, set_migration_entry, &unmap);
	/* Nobody can find new before page_cache_migrate() publishes it: the plain flag update
	 * is safe, and whoever finds it then waits for the lock until the PTEs are back. */
	__SetPageLocked(new);
	ret = page_cache_migrate(page, new);
	if (ret) {
		__ClearPageLocked(new);
		remap.to = page;
		rmap_walk(page, remove_migration_pte, &remap);
		goto out;
	}
	migrate_page_flags(new, page);
	remap.to = new;
	rmap_walk(page, remove_migration_pte, &remap);
	unlock_page(new);
	trace_event(TRACE_MM_MIGRATE_PAGE, page_to_pfn(page), page_to_pfn(new), 0, 0);
	/* The old frame is ours alone (refcount frozen at 0): give it back. Its dirtiness moved
	 * to new with the flag, so the counters stay as they are. */
	page->mapping = NULL;
	unlock_page(page);
	atomic_store(&page->flags, 0);
	free_pages_ok(page, 0);
	putback_lru_page(new); /* onto the old page's list; the allocation's reference */
	return 0;
out:
	unlock_page(page);
	target_release(t, new);
	return ret;
}

/*
 * Linux migrates only pages it took off the LRU first (isolate_lru_page()), so that reclaim and
 * other migrations leave them alone meanwhile, and the frame can be freed directly. The
 * isolation's reference stands in for the caller's while the page is off the LRU. Returns as
 * migrate_anon_page(); -EAGAIN also when another isolator has the page.
 */
static int migrate_isolated(struct page *page, const struct migrate_target *t,
			    enum migrate_mode mode)
{
	/* A swap-cache page read ahead and not mapped yet has no anon_vma: anonymous still. */
	bool anon = PageAnon(page) || PageSwapCache(page);
	enum node_stat_item isolated =
		(enum node_stat_item)(NR_ISOLATED_ANON + page_is_file_lru(page));
	int ret;

	if (isolate_lru_page(page))
		return -EAGAIN;
	mod_node_page_state(isolated, 1);
	put_page(page); /* the caller's */
	ret = anon ? migrate_anon_page(page, t, mode) : migrate_file_page(page, t, mode);
	mod_node_page_state(isolated, -1);
	if (ret) {
		get_page(page); /* the caller's again */
		putback_lru_page(page);
	}
	return ret;
}

/* An anonymous THP: split it; its subpages are order-0 pages the caller's next pass moves.
 * split_huge_page()'s result (-EINVAL: not an anonymous THP). */
static int split_for_migration(struct page *head)
{
	int ret;

	lock_page(head);
	ret = split_huge_page(head);
	unlock_page(head);
	return ret;
}

/* How often a migration that met another reference is tried again before it counts as failed
 * (Linux's migrate_pages(): NR_MAX_MIGRATE_PAGES_RETRY passes over -EAGAIN): the holder may
 * be a lookup or a fault that lets go at once. */
#define MIGRATE_RETRIES 10

static const char *const fail_names[NR_MIGRATE_FAIL] = {
	[MIGRATE_FAIL_NONE] = "none",
	[MIGRATE_FAIL_PINNED] = "pinned",
	[MIGRATE_FAIL_EXTRA_REF] = "extra reference",
	[MIGRATE_FAIL_UNMOVABLE] = "unmovable",
	[MIGRATE_FAIL_HUGETLB] = "hugetlb",
	[MIGRATE_FAIL_LOCKED] = "locked",
	[MIGRATE_FAIL_WRITEBACK] = "writeback",
	[MIGRATE_FAIL_NOMEM] = "no target page",
};

const char *pinmm_migrate_fail_name(enum pinmm_migrate_fail why)
{
	return (unsigned int)why < NR_MIGRATE_FAIL ? fail_names[why] : NULL;
}

/* Why a migration that met another reference failed: a pin shows in the refcount's bias (or
 * a compound page's pin count), writeback holds its own reference while the flag is set;
 * anything else is a reference nobody accounts for (a get_user_pages() FOLL_GET, a lookup,
 * another isolator). */
static enum pinmm_migrate_fail busy_reason(struct page *page)
{
	if (page_maybe_dma_pinned(page))
		return MIGRATE_FAIL_PINNED;
	if (PageWriteback(page))
		return MIGRATE_FAIL_WRITEBACK;
	return MIGRATE_FAIL_EXTRA_REF;
}

static enum pinmm_migrate_fail errno_reason(struct page *page, int ret)
{
	switch (ret) {
	case -ENOMEM:
		return MIGRATE_FAIL_NOMEM;
	case -EBUSY:
		return MIGRATE_FAIL_LOCKED;
	default:
		return busy_reason(page);
	}
}

int migrate_page_to(struct page *page, const struct migrate_target *t, enum migrate_mode mode,
		    enum pinmm_migrate_fail *why)
{
	enum pinmm_migrate_fail reason = MIGRATE_FAIL_UNMOVABLE;
	int ret = -EBUSY;

	if (PageHuge(page)) {
		/* hugetlb pages are never migrated here: their pools live outside ZONE_MOVABLE
		 * and CMA, and compaction leaves them (docs/design.md). */
		reason = MIGRATE_FAIL_HUGETLB;
	} else if (PageCompound(page)) {
		if (PageAnon(page)) {
			ret = split_for_migration(page);
			if (!ret)
				ret = MIGRATE_SPLIT;
			else if (ret != -EINVAL)
				reason = busy_reason(page);
		}
		if (ret == -EINVAL)
			ret = -EBUSY;
	} else if (PageAnon(page) || PageSwapCache(page) || page->mapping) {
		for (int pass = 0; pass < MIGRATE_RETRIES; pass++) {
			ret = migrate_isolated(page, t, mode);
			if (!ret) {
				/* The reference went with the old frame. */
				count_vm_event(PGMIGRATE_SUCCESS);
				if (why)
					*why = MIGRATE_FAIL_NONE;
				return 0;
			}
			if (ret != -EAGAIN)
				break;
		}
		reason = errno_reason(page, ret);
	}
	/* One failure per page, as Linux counts (a split THP counts nothing: its pages do). */
	if (ret < 0) {
		count_vm_event(PGMIGRATE_FAIL);
		/* new_pfn 0: nothing moved. */
		trace_event(TRACE_MM_MIGRATE_PAGE, page_to_pfn(page), 0,
			    compound_order(compound_head(page)), (unsigned long)ret);
	}
	if (why)
		*why = ret < 0 ? reason : MIGRATE_FAIL_NONE;
	put_page(page);
	return ret;
}

static struct page *alloc_gfp_target(struct page *old, void *arg)
{
	(void)old;
	return alloc_page(*(gfp_t *)arg | __GFP_NOWARN);
}

int migrate_unpinnable_page(struct page *page, gfp_t gfp)
{
	struct migrate_target t = {.alloc = alloc_gfp_target, .arg = &gfp};
	int ret = migrate_page_to(page, &t, MIGRATE_SYNC, NULL);

	return ret == MIGRATE_SPLIT ? 0 : ret;
}

/* Fault on a migration entry: wait until the migration is over (it holds the page lock). */
void migration_entry_wait(pte_t entry)
{
	struct page *page = pfn_to_page(pte_pfn(entry));

	wait_on_page_locked(page);
}
