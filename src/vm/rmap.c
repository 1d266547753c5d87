/* SPDX-License-Identifier: MIT */
/*
 * The reverse map: anon_vma objects, the mapcount bookkeeping of every mapping and unmapping,
 * and the walks from a page to its mappings (page_mkclean, try_to_unmap).
 *
 * pinmm keeps one anon_vma per family of processes: a VMA that first faults an anonymous page
 * gets one, and every VMA split from it or copied from it by fork links to the same object.
 * Linux builds a tree of anon_vmas per fork generation so that walks visit fewer VMAs; the set
 * of PTEs found is the same.
 *
 * The rule that is easy to break: a walker may only look at a VMA's page tables while the VMA
 * is linked (anon_vma->lock or i_mmap_rwsem held); munmap unlinks before it frees tables. And
 * an anon_vma's VMAs are walked oldest first (a VMA joins at the tail, as Linux's anon_vma
 * chains put a parent before its children): fork copies a child's entries after linking its
 * VMA and without the anon_vma lock, so a walk that visited the child before the parent could
 * find the page in neither while fork copies it across.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *av = kzalloc(sizeof(*av));

	if (!av)
		return NULL;
	atomic_init(&av->refcount, 0);
	pthread_rwlock_init(&av->lock, NULL);
	CDS_INIT_LIST_HEAD(&av->vmas);
	return av;
}

/*
 * A new VMA goes to the tail: a walk visits a VMA that fork copies (or a split or mremap makes)
 * after the VMA it came from, as Linux's anon_vma chains order them. fork links the child and
 * then copies PTEs without the anon_vma lock, so a walk that visited the child first could
 * miss a PTE copied behind it and leave the page mapped there after unmapping the parent's.
 */
void __anon_vma_link(struct vm_area_struct *vma, struct anon_vma *av)
{
	atomic_fetch_add(&av->refcount, 1);
	vma->anon_vma = av;
	cds_list_add_tail(&vma->anon_vma_node, &av->vmas);
}

void anon_vma_link(struct vm_area_struct *vma, struct anon_vma *av)
{
	pthread_rwlock_wrlock(&av->lock);
	__anon_vma_link(vma, av);
	pthread_rwlock_unlock(&av->lock);
}

void __anon_vma_unlink(struct vm_area_struct *vma)
{
	cds_list_del(&vma->anon_vma_node);
	vma->anon_vma = NULL;
}

void anon_vma_unlink(struct vm_area_struct *vma)
{
	struct anon_vma *av = vma->anon_vma;

	pthread_rwlock_wrlock(&av->lock);
	cds_list_del(&vma->anon_vma_node);
	pthread_rwlock_unlock(&av->lock);
	vma->anon_vma = NULL;
	/* Pages may still point at av after the last VMA goes (pinned, say); they are never
	 * walked again because they are unmapped, and the object is freed with its last VMA as
	 * Linux frees its anon_vma once no VMA and no page keeps it: pages keep no reference
	 * here, so page->mapping of such a page must not be followed (page_mapped() is false). */
	page_put_anon_vma(av);
}

int anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct anon_vma *av;
	bool won;

	if (__atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE))
		return 0;
	av = anon_vma_alloc();
	if (!av)
		return -ENOMEM;
	/* Two threads may fault in the same new VMA under the read lock; one wins. The locks are
	 * taken in the documented order (anon_vma lock, then page_table_lock), as Linux's
	 * __anon_vma_prepare() does, although no one else can see the new object yet. */
	pthread_rwlock_wrlock(&av->lock);
	pthread_spin_lock(&mm->page_table_lock);
	won = !vma->anon_vma;
	if (won) {
		atomic_fetch_add(&av->refcount, 1);
		cds_list_add_tail(&vma->anon_vma_node, &av->vmas);
		__atomic_store_n(&vma->anon_vma, av, __ATOMIC_RELEASE);
	}
	pthread_spin_unlock(&mm->page_table_lock);
	pthread_rwlock_unlock(&av->lock);
	if (!won) {
		pthread_rwlock_destroy(&av->lock);
		free(av);
	}
	return 0;
}

/* ---- mapcounts ----
 *
 * nr_anon_pages counts anonymous 4 KiB pages mapped at least once. A THP counts 512 while a
 * PMD maps it, else the number of its subpages that PTEs map. Both facts live in one atomic
 * word, page[1].nr_pages_mapped = COMPOUND_MAPPED x (PMD mappings becoming first/last) +
 * (subpages mapped by PTEs), as Linux 6.x's _nr_pages_mapped; every change is one atomic
 * add, and the counter moves by the difference of the word's worth before and after, so
 * racing PMD and PTE (un)mappings under different locks can never skew it.
 */
#define COMPOUND_MAPPED 0x100000

static bool thp_subpage(const struct page *page)
{
	const struct page *head = compound_head(page);

	return PageHead(head) && !PageHuge(head);
}

static long thp_worth(long v)
{
	return v >= COMPOUND_MAPPED ? (long)HPAGE_PMD_NR : v;
}

/* Add delta to head's nr_pages_mapped and account the change in what the THP is worth. */
static void thp_mapped_add(struct page *head, long delta)
{
	long old = atomic_fetch_add(&head[1].nr_pages_mapped, (int)delta);

	mod_node_page_state(NR_ANON_MAPPED, thp_worth(old + delta) - thp_worth(old));
}

/* A PMD mapping of head became the first (added) or the last went. */
static void compound_mapped(struct page *head, bool added)
{
	if (PageHuge(head) || !PageAnon(head))
		return;
	thp_mapped_add(head, added ? COMPOUND_MAPPED : -COMPOUND_MAPPED);
	mod_node_page_state(NR_ANON_THPS, added ? 1 : -1);
}

/* A subpage's first PTE mapping appeared, or its last went. */
static void subpage_mapped(struct page *page, bool added)
{
	if (!PageAnon(page))
		return;
	if (thp_subpage(page))
		thp_mapped_add(compound_head(page), added ? 1 : -1);
	else
		mod_node_page_state(NR_ANON_MAPPED, added ? 1 : -1);
}

void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long address,
			    bool compound)
{
	unsigned long nr = compound ? compound_nr(page) : 1;

	if (rule_tracks_anon_exclusive())
		SetPageAnonExclusive(page);
	__SetPageSwapBacked(page);
	page->mapping = (struct address_space *)((unsigned long)vma->anon_vma | PAGE_MAPPING_ANON);
	if (compound) {
		address &= ~((nr << PAGE_SHIFT) - 1);
		page->index = linear_page_index(vma, address);
		/* Release: compaction reads mapping and index once it sees the page mapped. */
		atomic_store_explicit(&page[1].compound_mapcount, 0, memory_order_release);
		compound_mapped(page, true);
	} else {
		page->index = linear_page_index(vma, address);
		/* Release, as the compound case. */
		atomic_store_explicit(&page->_mapcount, 0, memory_order_release);
		subpage_mapped(page, true);
	}
}

void page_add_swapin_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long addr,
			       bool exclusive)
{
	if (exclusive && rule_tracks_anon_exclusive())
		SetPageAnonExclusive(page);
	if (atomic_load_explicit(&page->_mapcount, memory_order_relaxed) == -1) {
		/* Linux's __page_set_anon_rmap() on the first mapping: the anon_vma the page had
		 * may have gone with its last VMA while the page sat in the swap cache. Atomic:
		 * compaction and offlining may be asking PageAnon() of this unmapped swap-cache
		 * page (on the LRU) meanwhile, with only the page lock of ours between. */
		__atomic_store_n(&page->mapping,
				 (struct address_space *)((unsigned long)vma->anon_vma |
							  PAGE_MAPPING_ANON),
				 __ATOMIC_RELAXED);
		page->index = linear_page_index(vma, addr);
	}
	page_add_anon_rmap(page);
}

void page_add_anon_rmap(struct page *page)
{
	if (atomic_fetch_add(&page->_mapcount, 1) == -1)
		subpage_mapped(page, true);
}

void page_add_file_rmap(struct page *page, bool compound)
{
	if (compound) {
		atomic_fetch_add(&page[1].compound_mapcount, 1);
		return;
	}
	if (atomic_fetch_add(&page->_mapcount, 1) == -1)
		mod_node_page_state(NR_FILE_MAPPED, 1);
}

void page_dup_rmap(struct page *page, bool compound)
{
	atomic_fetch_add(compound ? &page[1].compound_mapcount : &page->_mapcount, 1);
}

/*
 * Under modern rules the parent's pin must keep the page it pinned: a page that fork shared
 * would be copied away from the parent by the parent's next write, leaving the device with a
 * page the process no longer sees. So fork gives the child a copy instead (Linux 5.9; the
 * name and shape are 5.19's). The pin count is per compound page, so every subpage of a
 * maybe-pinned THP may answer -EBUSY. With the exclusive mark (5.19) only an exclusive page is
 * copied: a page that is not exclusive is shared already, and a pin of it was taken with an
 * unshare that made it exclusive first. A page fork shares is exclusive no longer.
 */
int page_try_dup_anon_rmap(struct page *page, bool compound, struct vm_area_struct *src_vma)
{
	bool exclusive = PageAnonExclusive(page);

	if (rule_fork_copies_pinned_anon() && (exclusive || !rule_tracks_anon_exclusive()) &&
	    page_needs_cow_for_dma(src_vma, page))
		return -EBUSY;
	if (exclusive)
		ClearPageAnonExclusive(page);
	page_dup_rmap(page, compound);
	return 0;
}

void page_remove_rmap(struct page *page, bool compound)
{
	struct page *head = compound_head(page);

	if (compound) {
		if (atomic_fetch_sub(&head[1].compound_mapcount, 1) == 0)
			compound_mapped(head, false);
		return;
	}
	if (atomic_fetch_sub(&page->_mapcount, 1) != 0)
		return;
	if (PageAnon(page))
		subpage_mapped(page, false);
	else
		mod_node_page_state(NR_FILE_MAPPED, -1);
}

/* ---- walks ---- */

static unsigned long vma_address(struct page *page, struct vm_area_struct *vma)
{
	pgoff_t pgoff = compound_head(page)->index + (unsigned long)(page - compound_head(page));
	unsigned long pages = (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;

	if (pgoff < vma->vm_pgoff || pgoff >= vma->vm_pgoff + pages)
		return 0;
	return vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
}

struct anon_vma *page_get_anon_vma(struct page *page)
{
	unsigned long mapping = (unsigned long)compound_head(page)->mapping;
	struct anon_vma *av = (struct anon_vma *)(mapping & ~PAGE_MAPPING_FLAGS);

	/* Mapped: some VMA linked to av holds it, so it is alive while we take our reference. */
	if (!(mapping & PAGE_MAPPING_ANON) || !page_mapped(page))
		return NULL;
	atomic_fetch_add(&av->refcount, 1);
	return av;
}

void page_put_anon_vma(struct anon_vma *av)
{
	if (atomic_fetch_sub(&av->refcount, 1) == 1) {
		pthread_rwlock_destroy(&av->lock);
		free(av);
	}
}

void rmap_walk_anon_vma(struct anon_vma *av, struct page *page,
			bool (*fn)(struct page *page, struct vm_area_struct *vma,
				   unsigned long address, void *arg),
			void *arg)
{
	struct vm_area_struct *vma;

	pthread_rwlock_rdlock(&av->lock);
	cds_list_for_each_entry(vma, &av->vmas, anon_vma_node) {
		unsigned long addr = vma_address(page, vma);

		if (addr && !fn(page, vma, addr, arg))
			break;
		race_point("rmap:anon_vma_visited");
	}
	pthread_rwlock_unlock(&av->lock);
}

void rmap_walk(struct page *page,
	       bool (*fn)(struct page *page, struct vm_area_struct *vma, unsigned long address,
			  void *arg),
	       void *arg)
{
	struct page *head = compound_head(page);
	unsigned long mapping = (unsigned long)head->mapping;
	struct vm_area_struct *vma;

	if (!mapping)
		return;
	if (mapping & PAGE_MAPPING_ANON) {
		struct anon_vma *av = (struct anon_vma *)(mapping & ~PAGE_MAPPING_FLAGS);

		if (!page_mapped(page))
			return; /* av may be gone with its last VMA: see anon_vma_unlink() */
		rmap_walk_anon_vma(av, page, fn, arg);
		return;
	}
	pthread_rwlock_rdlock(&head->mapping->i_mmap_rwsem);
	cds_list_for_each_entry(vma, &head->mapping->i_mmap, shared) {
		unsigned long addr = vma_address(page, vma);

		if (addr && !fn(page, vma, addr, arg))
			break;
	}
	pthread_rwlock_unlock(&head->mapping->i_mmap_rwsem);
}

/* The PTE of vma at addr if it maps page, with its ptl locked (*ptl set); else NULL. A PMD
 * leaf mapping the page is split first; one mapping another page means not here. */
static pte_t *page_vma_mapped_pte(struct page *page, struct vm_area_struct *vma,
				  unsigned long addr, pthread_spinlock_t **ptl)
{
	pmd_t *pmd = pmd_lookup(vma->vm_mm, addr);
	pte_t *pte;

	/* Split only a THP leaf that maps this page (Linux passes the page to
	 * split_huge_pmd_address()): VMAs of one anon_vma may cover the same offsets (mremap's
	 * MREMAP_DONTUNMAP leaves such a pair), and another THP may be mapped here. */
	if (pmd && pmd_trans_huge(pmdp_get(pmd)) &&
	    pmd_pfn(pmdp_get(pmd)) != page_to_pfn(compound_head(page)))
		return NULL;
	split_huge_pmd_address(vma, addr);
	pte = pte_lookup_lock(vma->vm_mm, addr, ptl);
	if (!pte)
		return NULL;
	if (pte_present(ptep_get(pte)) && pte_pfn(ptep_get(pte)) == page_to_pfn(page))
		return pte;
	pthread_spin_unlock(*ptl);
	return NULL;
}

static bool mkclean_one(struct page *page, struct vm_area_struct *vma, unsigned long addr,
			void *arg)
{
	pthread_spinlock_t *ptl;
	pte_t *pte;
	pte_t v;

	if (!(vma->vm_flags & VM_SHARED))
		return true;
	pte = page_vma_mapped_pte(page, vma, addr, &ptl);
	if (!pte)
		return true;
	v = ptep_get(pte);
	if (pte_write(v) || pte_dirty(v)) {
		set_pte(pte, pte_wrprotect(pte_mkclean(v)));
		(*(int *)arg)++;
	}
	pthread_spin_unlock(ptl);
	return true;
}

int page_mkclean(struct page *page)
{
	int cleaned = 0;

	if (!page_mapped(page) || PageAnon(page) || !compound_head(page)->mapping)
		return 0;
	rmap_walk(page, mkclean_one, &cleaned);
	return cleaned;
}

/* What page_referenced() found. */
struct referenced_arg {
	int referenced;         /* mappings whose accessed bit was set */
	unsigned long vm_flags; /* of the VMAs that had one */
};

/* Test and clear the accessed bit of a PTE mapping pfn in vma at addr, under its ptl. */
static bool pte_test_and_clear_young(struct vm_area_struct *vma, unsigned long addr,
				     unsigned long pfn)
{
	pthread_spinlock_t *ptl;
	pte_t *pte = pte_lookup_lock(vma->vm_mm, addr, &ptl);
	bool young = false;
	pte_t v;

	if (!pte)
		return false;
	v = ptep_get(pte);
	if (pte_present(v) && pte_pfn(v) == pfn && pte_young(v)) {
		set_pte(pte, pte_mkold(v));
		young = true;
	}
	pthread_spin_unlock(ptl);
	return young;
}

/* One VMA mapping page (a THP: its head): a PMD leaf mapping it, else each PTE of its range
 * that maps one of its pages. Walks never split anything here (Linux's page_referenced_one()
 * through page_vma_mapped_walk()). */
static bool referenced_one(struct page *page, struct vm_area_struct *vma, unsigned long addr,
			   void *arg)
{
	struct referenced_arg *r = arg;
	unsigned long nr = PageHead(page) ? compound_nr(page) : 1;
	unsigned long pfn = page_to_pfn(page);
	bool young = false;
	pmd_t *pmd = pmd_lookup(vma->vm_mm, addr);

	if (pmd && pmd_trans_huge(pmdp_get(pmd))) {
		pthread_spinlock_t *ptl = entry_ptl(pmd);
		pmd_t v;

		pthread_spin_lock(ptl);
		v = pmdp_get(pmd);
		if (pmd_trans_huge(v) && pmd_pfn(v) == pfn && pmd_young(v)) {
			set_pmd(pmd, pmd_mkold(v));
			young = true;
		}
		pthread_spin_unlock(ptl);
	} else {
		for (unsigned long i = 0; i < nr; i++) {
			unsigned long a = addr + i * PAGE_SIZE;

			if (a >= vma->vm_start && a < vma->vm_end &&
			    pte_test_and_clear_young(vma, a, pfn + i))
				young = true;
		}
	}
	if (young) {
		r->referenced++;
		r->vm_flags |= vma->vm_flags;
	}
	return true;
}

int page_referenced(struct page *page, unsigned long *vm_flags)
{
	struct page *head = compound_head(page);
	struct referenced_arg r = {0};

	*vm_flags = 0;
	if (!page_mapped(head) || !head->mapping)
		return 0;
	rmap_walk(head, referenced_one, &r);
	*vm_flags = r.vm_flags;
	return r.referenced;
}

static bool unmap_one(struct page *page, struct vm_area_struct *vma, unsigned long addr,
		      void *arg)
{
	pthread_spinlock_t *ptl;
	pte_t *pte = page_vma_mapped_pte(page, vma, addr, &ptl);
	pte_t v;

	(void)arg;
	if (!pte)
		return true;
	v = ptep_get_and_clear(pte);
	pthread_spin_unlock(ptl);
	if (pte_dirty(v))
		set_page_dirty(page);
	page_remove_rmap(page, false);
	add_mm_counter(vma->vm_mm, mm_counter(page), -1);
	put_page(page);
	return true;
}

bool try_to_unmap(struct page *page)
{
	struct page *head = compound_head(page);

	if (PageHead(head)) {
		for (unsigned long i = 0; i < compound_nr(head); i++)
			rmap_walk(head + i, unmap_one, NULL);
	} else {
		rmap_walk(page, unmap_one, NULL);
	}
	return !page_mapped(page);
}
