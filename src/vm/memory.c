/* SPDX-License-Identifier: MIT */
/*
 * The fault handler for PTE-mapped memory (Linux's mm/memory.c): anonymous faults (the zero
 * page for reads, a zeroed page for writes), copy-on-write, and file faults through vm_ops.
 * THP faults are in huge_memory.c, hugetlb faults in hugetlb_fault.c.
 *
 * When a write fault may reuse a private anonymous page follows the rule set
 * (rule_cow_reuses_exclusive_only()): 5.7 reuses a page no other PTE maps; modern rules reuse
 * a PageAnonExclusive page, or a small page whose only reference is the mapping's (which then
 * becomes exclusive), and copy everything else. FAULT_FLAG_UNSHARE (modern rules only: GUP's
 * read-only pin of a page that may be shared) takes the same decision but leaves the mapping
 * read-only.
 *
 * A new mapping is installed only under the PTE table's ptl and only if the entry is still
 * what the fault saw; a fault that loses the race drops what it prepared and returns 0, and
 * the access is retried, as on a CPU.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include <pinmm/mm_inline.h>

#include "swap.h"

void add_mm_counter(struct mm_struct *mm, int member, long value)
{
	atomic_fetch_add_explicit(&mm->rss_stat[member], value, memory_order_relaxed);
}

int mm_counter(const struct page *page)
{
	if (PageAnon(page))
		return MM_ANONPAGES;
	return PageSwapBacked(page) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	unsigned long pfn = pte_pfn(pte);

	(void)vma;
	(void)addr;
	if (pte_special(pte) || !pfn_valid(pfn))
		return NULL;
	return pfn_to_page(pfn);
}

/* maybe_mkwrite(): only a VMA that allows writing gets a writable PTE (a FOLL_FORCE write to
 * a read-only private mapping gets a dirty, read-only copy). */
static pte_t maybe_mkwrite(pte_t pte, const struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_WRITE) ? pte_mkwrite(pte) : pte;
}

static pte_t mk_pte(struct page *page, const struct vm_area_struct *vma)
{
	return pfn_pte(page_to_pfn(page), vm_get_page_prot(vma));
}

static vm_fault_t do_anonymous_page(struct vm_area_struct *vma, pte_t *pte, unsigned long addr,
				    unsigned int flags)
{
	pthread_spinlock_t *ptl = entry_ptl(pte);
	struct page *page;
	pte_t entry;

	if (!(flags & FAULT_FLAG_WRITE)) {
		entry = pte_mkspecial(pfn_pte(zero_pfn(), vm_get_page_prot(vma)));
		pthread_spin_lock(ptl);
		if (pte_none(ptep_get(pte)))
			set_pte(pte, entry);
		pthread_spin_unlock(ptl);
		return 0;
	}
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_ZERO | __GFP_NOWARN);
	if (!page)
		return VM_FAULT_OOM;
	entry = maybe_mkwrite(pte_mkdirty(mk_pte(page, vma)), vma);
	pthread_spin_lock(ptl);
	if (!pte_none(ptep_get(pte))) {
		pthread_spin_unlock(ptl);
		put_page(page);
		return 0;
	}
	page_add_new_anon_rmap(page, vma, addr, false);
	lru_cache_add_inactive_or_unevictable(page, vma);
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, 1);
	set_pte(pte, entry);
	pthread_spin_unlock(ptl);
	return 0;
}

/* 5.7's reuse_swap_page() for a page of the swap cache: its mappings and the swap entries
 * naming its slot together must be this one mapping. Then it leaves the swap cache (its slot
 * will not be written again; the page is dirty, its only copy) unless it is under writeback:
 * the swap device writes stably (Linux's SWP_STABLE_WRITES), so a page being written is not
 * reused but copied. The page lock is tried, as 5.7's do_wp_page() does; ptl held. */
static bool reuse_swap_page(struct page *page)
{
	bool reuse;

	if (!trylock_page(page))
		return false;
	reuse = PageSwapCache(page) &&
		page_mapcount(page) + (int)swap_count((swp_entry_t){page->private}) == 1;
	if (reuse) {
		if (PageWriteback(page))
			reuse = false;
		else
			try_to_free_swap(page);
	}
	unlock_page(page);
	return reuse;
}

/* 5.7's reuse test (reuse_swap_page() without swap): no subpage of the page is mapped more
 * than once. Pins and other references do not count: a child's pin or vmsplice() reference
 * keeps reading what the parent writes after the child unmapped the page (CVE-2020-29374). */
static bool can_reuse_anon(struct page *page)
{
	struct page *head = compound_head(page);

	if (!PageHead(head)) {
		if (PageSwapCache(page))
			return reuse_swap_page(page);
		return page_mapcount(page) == 1;
	}
	for (unsigned long i = 0; i < compound_nr(head); i++)
		if (page_mapcount(head + i) > 1)
			return false;
	return true;
}

/* The modern reuse test (5.19's do_wp_page() with wp_can_reuse_anon_folio()): an exclusive
 * page is ours; otherwise only a small page whose one reference is this mapping's, checked
 * again under the page lock as Linux does, and that page becomes exclusive. Anything else
 * holding a reference (another mapping, a pin, a vmsplice()'d pipe buffer, a GUP reference)
 * makes the fault copy; a THP subpage is always copied (Linux does not reuse part of a large
 * folio). ptl held. */
static bool wp_can_reuse_anon(struct page *page)
{
	bool reuse;

	if (PageAnonExclusive(page))
		return true;
	/* The swap cache's reference may go first (Linux's wp_can_reuse_anon_folio() frees
	 * the swap slot when no entry names it any more). */
	if (PageCompound(page) || page_ref_count(page) > 1 + PageSwapCache(page) ||
	    !trylock_page(page))
		return false;
	if (PageSwapCache(page))
		try_to_free_swap(page);
	reuse = page_ref_count(page) == 1;
	if (reuse)
		SetPageAnonExclusive(page);
	unlock_page(page);
	return reuse;
}

/* Copy the page a write or unshare fault found write-protected (or the zero page) into a new
 * anonymous page and map that instead: writable and dirty for a write, read-only for an
 * unshare. Entered with the ptl held; returns with it released. */
static vm_fault_t wp_page_copy(struct vm_area_struct *vma, pte_t *pte, unsigned long addr,
			       pte_t orig, struct page *old, bool unshare)
{
	pthread_spinlock_t *ptl = entry_ptl(pte);
	struct page *new;

	if (old)
		get_page(old);
	pthread_spin_unlock(ptl);
	if (anon_vma_prepare(vma))
		goto oom;
	new = alloc_page(GFP_HIGHUSER_MOVABLE | (old ? 0 : __GFP_ZERO) | __GFP_NOWARN);
	if (!new)
		goto oom;
	if (old)
		memcpy(page_address(new), page_address(old), PAGE_SIZE);
	pthread_spin_lock(ptl);
	if (ptep_get(pte).pte != orig.pte) {
		pthread_spin_unlock(ptl);
		put_page(new);
		if (old)
			put_page(old);
		return 0;
	}
	if (old) {
		page_remove_rmap(old, false);
		add_mm_counter(vma->vm_mm, mm_counter(old), -1);
		put_page(old); /* the mapping's reference */
	}
	page_add_new_anon_rmap(new, vma, addr, false);
	lru_cache_add_inactive_or_unevictable(new, vma);
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, 1);
	set_pte(pte, unshare ? pte_mkyoung(mk_pte(new, vma))
			     : maybe_mkwrite(pte_mkyoung(pte_mkdirty(mk_pte(new, vma))), vma));
	pthread_spin_unlock(ptl);
	/* old_pfn 0: there was no page (a write to the zero page's entry, or none). */
	trace_event(TRACE_MM_COW, addr, old ? page_to_pfn(old) : 0, page_to_pfn(new), 1);
	if (old)
		put_page(old); /* ours */
	return unshare ? 0 : VM_FAULT_WRITE;
oom:
	if (old)
		put_page(old);
	return VM_FAULT_OOM;
}

/* A write to a write-protected page of a shared file mapping: let the file know
 * (page_mkwrite), then make the PTE writable and the page dirty. ptl held on entry, released. */
static vm_fault_t wp_page_shared(struct vm_area_struct *vma, pte_t *pte, unsigned long addr,
				 pte_t orig, struct page *page)
{
	pthread_spinlock_t *ptl = entry_ptl(pte);
	struct vm_fault vmf = {.vma = vma, .flags = FAULT_FLAG_WRITE, .address = addr,
			       .pgoff = linear_page_index(vma, addr), .page = page};
	vm_fault_t ret = 0;

	get_page(page);
	pthread_spin_unlock(ptl);
	if (vma->vm_ops->page_mkwrite) {
		ret = vma->vm_ops->page_mkwrite(&vmf);
		if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
			put_page(page);
			return ret & ~VM_FAULT_NOPAGE;
		}
	} else {
		lock_page(page);
	}
	pthread_spin_lock(ptl);
	if (ptep_get(pte).pte == orig.pte)
		set_pte(pte, pte_mkwrite(pte_mkyoung(pte_mkdirty(orig))));
	pthread_spin_unlock(ptl);
	set_page_dirty(page);
	unlock_page(page);
	put_page(page);
	return VM_FAULT_WRITE;
}

/* A write (or an unshare) found a present PTE without write permission. ptl held on entry,
 * released. */
static vm_fault_t do_wp_page(struct vm_area_struct *vma, pte_t *pte, unsigned long addr,
			     pte_t orig, unsigned int flags)
{
	struct page *page = vm_normal_page(vma, addr, orig);
	bool unshare = flags & FAULT_FLAG_UNSHARE;

	if (page && PageAnon(page) &&
	    (rule_cow_reuses_exclusive_only() ? wp_can_reuse_anon(page) : can_reuse_anon(page))) {
		if (unshare) {
			/* Exclusive now: the pin may take it as it is mapped. */
			pthread_spin_unlock(entry_ptl(pte));
			return 0;
		}
		set_pte(pte, maybe_mkwrite(pte_mkyoung(pte_mkdirty(orig)), vma));
		pthread_spin_unlock(entry_ptl(pte));
		return VM_FAULT_WRITE;
	}
	if (page && !PageAnon(page) && !unshare &&
	    (vma->vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED))
		return wp_page_shared(vma, pte, addr, orig, page);
	return wp_page_copy(vma, pte, addr, orig, page, unshare);
}

/* Ask the file for the page at the fault's offset: locked and referenced on success. */
static vm_fault_t do_file_fault(struct vm_fault *vmf)
{
	vm_fault_t ret = vmf->vma->vm_ops->fault(vmf);

	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		return ret;
	if (!(ret & VM_FAULT_LOCKED))
		lock_page(vmf->page);
	return ret;
}

/* Map vmf->page (locked, referenced: the reference goes to the PTE) at pte. */
static void finish_fault(struct vm_fault *vmf, pte_t *pte, pte_t entry, bool anon)
{
	struct vm_area_struct *vma = vmf->vma;
	pthread_spinlock_t *ptl = entry_ptl(pte);
	struct page *page = anon ? vmf->cow_page : vmf->page;

	pthread_spin_lock(ptl);
	if (!pte_none(ptep_get(pte))) {
		pthread_spin_unlock(ptl);
		put_page(page);
		return;
	}
	if (anon) {
		page_add_new_anon_rmap(page, vma, vmf->address, false);
		lru_cache_add_inactive_or_unevictable(page, vma);
		add_mm_counter(vma->vm_mm, MM_ANONPAGES, 1);
	} else {
		page_add_file_rmap(page, false);
		add_mm_counter(vma->vm_mm, mm_counter(page), 1);
	}
	set_pte(pte, entry);
	pthread_spin_unlock(ptl);
}

static vm_fault_t do_fault(struct vm_area_struct *vma, pte_t *pte, unsigned long addr,
			   unsigned int flags)
{
	struct vm_fault vmf = {.vma = vma, .flags = flags, .address = addr,
			       .pgoff = linear_page_index(vma, addr)};
	bool write = flags & FAULT_FLAG_WRITE;
	vm_fault_t ret;

	if (write && !(vma->vm_flags & VM_SHARED)) {
		/* do_cow_fault(): a private copy of the file page. */
		if (anon_vma_prepare(vma))
			return VM_FAULT_OOM;
		vmf.cow_page = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!vmf.cow_page)
			return VM_FAULT_OOM;
		ret = do_file_fault(&vmf);
		if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) {
			put_page(vmf.cow_page);
			return ret;
		}
		memcpy(page_address(vmf.cow_page), page_address(vmf.page), PAGE_SIZE);
		unlock_page(vmf.page);
		put_page(vmf.page);
		finish_fault(&vmf, pte,
			     maybe_mkwrite(pte_mkdirty(mk_pte(vmf.cow_page, vma)), vma), true);
		return ret & VM_FAULT_MAJOR;
	}
	ret = do_file_fault(&vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		return ret;
	if (write && vma->vm_ops->page_mkwrite) {
		vm_fault_t mk;

		unlock_page(vmf.page);
		mk = vma->vm_ops->page_mkwrite(&vmf);
		if (mk & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
			put_page(vmf.page);
			return mk & ~VM_FAULT_NOPAGE;
		}
	}
	if (write) {
		get_page(vmf.page);
		finish_fault(&vmf, pte, pte_mkwrite(pte_mkdirty(mk_pte(vmf.page, vma))), false);
		set_page_dirty(vmf.page);
		unlock_page(vmf.page);
		put_page(vmf.page);
	} else {
		finish_fault(&vmf, pte, mk_pte(vmf.page, vma), false);
		unlock_page(vmf.page);
	}
	return ret & VM_FAULT_MAJOR;
}

/* page (new, referenced by the caller) enters the swap cache for entry, whose slot the caller
 * claimed (swapcache_prepare()), and its read joins plug's request: it stays locked until the
 * read is over. */
static void swapin_submit(struct page *page, swp_entry_t entry, struct swap_plug *plug)
{
	lock_page(page);
	__SetPageSwapBacked(page);
	add_to_swap_cache(page, entry);
	/* __read_swap_cache_async(): on the inactive anonymous list from the start. */
	lru_cache_add(page);
	race_point("swap:read_submitting");
	swap_readpage(page, plug); /* unlocked when the read is over */
}

/*
 * Linux's swap_cluster_readahead() and the window of swap_vma_readahead(): the slots after
 * the one faulted on, which a sequential access is about to want, are read with it, in the
 * same request (their slots follow each other), so that the fault pays one request for the
 * whole window. The window is SWAP_RA_MIN pages (2^page_cluster, Linux's default 8) and
 * doubles, up to a request's BIO_MAX_PAGES, while each miss falls where the previous window
 * ended (a sequential access: Linux grows its window on readahead hits the same way); any
 * other miss starts again at SWAP_RA_MIN. The window's state is a hint shared by all faults,
 * read and written relaxed: a race between two faults costs a window size, never a page.
 * A slot that is free or cached already ends the window; a page read ahead is the swap
 * cache's alone until a fault maps it.
 */
#define SWAP_RA_MIN 8

static unsigned long swap_ra_next; /* the slot after the last window's end */
static unsigned int swap_ra_win = SWAP_RA_MIN;

static unsigned int swapin_ra_window(swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);
	unsigned int win = __atomic_load_n(&swap_ra_win, __ATOMIC_RELAXED);

	if (off == __atomic_load_n(&swap_ra_next, __ATOMIC_RELAXED))
		win = win * 2 > BIO_MAX_PAGES ? BIO_MAX_PAGES : win * 2;
	else
		win = SWAP_RA_MIN;
	__atomic_store_n(&swap_ra_win, win, __ATOMIC_RELAXED);
	return win;
}

static void swapin_readahead(swp_entry_t entry, struct swap_plug *plug)
{
	unsigned int win = swapin_ra_window(entry);
	unsigned long i;

	for (i = 1; i < win; i++) {
		swp_entry_t next = swp_entry(swp_type(entry), swp_offset(entry) + i);
		struct page *page;

		if (!swap_count(next))
			break;
		page = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!page)
			break;
		if (swapcache_prepare(next)) {
			put_page(page);
			break;
		}
		swapin_submit(page, next, plug);
		put_page(page);
	}
	__atomic_store_n(&swap_ra_next, swp_offset(entry) + i, __ATOMIC_RELAXED);
}

/* Get the page for a swap entry into the swap cache, locked and referenced: from the cache,
 * or read from the slot into a new page. NULL with *ret set when there is none to be had
 * (VM_FAULT_OOM, VM_FAULT_SIGBUS: the read failed) or the entry went stale (*ret 0: the PTE
 * changed; the access is retried). */
static struct page *swapin_page(swp_entry_t entry, vm_fault_t *ret)
{
	struct swap_plug plug = {0};
	struct page *page;

	for (;;) {
		int err;

		page = lookup_swap_cache(entry);
		if (page) {
			lock_page(page);
			if (PageUptodate(page) || !PageSwapCache(page))
				return page;
			/* Read ahead of its fault, and the read failed: drop it, read again. */
			delete_from_swap_cache(page);
			unlock_page(page);
			put_page(page);
			continue;
		}
		page = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!page) {
			*ret = VM_FAULT_OOM;
			return NULL;
		}
		err = swapcache_prepare(entry);
		if (err) {
			put_page(page);
			if (err == -ENOENT) {
				*ret = 0;
				return NULL;
			}
			/* Another fault is reading it in, or the page is being freed: look
			 * again (Linux's __read_swap_cache_async() loop). */
			sched_yield();
			continue;
		}
		swapin_submit(page, entry, &plug);
		swapin_readahead(entry, &plug);
		swap_plug_flush(&plug); /* before the wait for page's read */
		count_vm_event(PGMAJFAULT);
		*ret = VM_FAULT_MAJOR;
		lock_page(page);
		if (!PageUptodate(page)) {
			/* The slot could not be read: the page goes, the entry stays. */
			delete_from_swap_cache(page);
			unlock_page(page);
			put_page(page);
			*ret = VM_FAULT_SIGBUS;
			return NULL;
		}
		return page;
	}
}

vm_fault_t do_swap_page(struct vm_area_struct *vma, pte_t *pte, unsigned long addr, pte_t orig,
			unsigned int flags)
{
	pthread_spinlock_t *ptl = entry_ptl(pte);
	swp_entry_t entry = pte_to_swp_entry(orig);
	vm_fault_t ret = 0;
	struct page *page;
	bool exclusive, write;
	pte_t new;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = swapin_page(entry, &ret);
	if (!page)
		return ret;
	/* The page lock keeps it in the swap cache; it may have left it before we took it. */
	if (!PageSwapCache(page) || page->private != entry.val) {
		unlock_page(page);
		put_page(page);
		return ret & ~VM_FAULT_MAJOR;
	}
	pthread_spin_lock(ptl);
	if (ptep_get(pte).pte != orig.pte) {
		pthread_spin_unlock(ptl);
		unlock_page(page);
		put_page(page);
		return ret & ~VM_FAULT_MAJOR;
	}
	/* Modern rules: the entry says whether the page was exclusive to this mm (5.19's
	 * SWP_EXCLUSIVE). A page still under writeback is not made exclusive: it could then be
	 * written through a writable PTE while the device copies it (6.x's SWP_STABLE_WRITES
	 * test in do_swap_page()). */
	exclusive = rule_tracks_anon_exclusive() && pte_swp_exclusive(orig) &&
		    !PageWriteback(page);
	swap_free(entry);
	add_mm_counter(vma->vm_mm, MM_ANONPAGES, 1);
	add_mm_counter(vma->vm_mm, MM_SWAPENTS, -1);
	write = flags & FAULT_FLAG_WRITE;
	/* Free the slot when keeping it costs: swap half full, or a write that will dirty the
	 * page anyway (Linux 6.x's should_try_to_free_swap(); 5.7 frees on a write only through
	 * reuse_swap_page() below). */
	if (vm_swap_full() || (vma->vm_flags & VM_LOCKED) ||
	    (rule_tracks_anon_exclusive() && write && page_ref_count(page) == 2))
		try_to_free_swap(page);
	new = pfn_pte(page_to_pfn(page), vm_get_page_prot(vma));
	if (rule_tracks_anon_exclusive()) {
		/* A page nobody else references is exclusive too (6.x: folio_ref_count() == 1,
		 * ours). */
		if (!exclusive && !PageSwapCache(page) && page_ref_count(page) == 1)
			exclusive = true;
		if (exclusive && (vma->vm_flags & VM_WRITE)) {
			new = pte_mkwrite(new);
			if (write) {
				new = pte_mkdirty(new);
				write = false;
			}
		}
	} else if (write && page_mapcount(page) == 0 &&
		   (int)swap_count(entry) == 0 && !PageWriteback(page)) {
		/* 5.7's reuse_swap_page() on a write fault: no other mapping, no other entry. */
		if (PageSwapCache(page))
			try_to_free_swap(page);
		new = maybe_mkwrite(pte_mkdirty(new), vma);
		write = false;
	}
	if (!PageSwapCache(page))
		SetPageDirty(page); /* its only copy */
	page_add_swapin_anon_rmap(page, vma, addr, exclusive);
	new = pte_mkyoung(new);
	set_pte(pte, new);
	unlock_page(page);
	/* Our reference is the mapping's now. */
	if (write) {
		/* Mapped read-only: the write copies, or reuses it, as any write fault. */
		return ret | do_wp_page(vma, pte, addr, new, flags);
	}
	pthread_spin_unlock(ptl);
	return ret;
}

static vm_fault_t handle_pte_fault(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
				   unsigned int flags)
{
	pte_t *pte = pte_alloc(vma->vm_mm, pmd, addr);
	pthread_spinlock_t *ptl;
	pte_t entry;

	if (!pte)
		return pmd_leaf(pmdp_get(pmd)) ? 0 : VM_FAULT_OOM; /* a THP raced in: retry */
	entry = ptep_get(pte);
	if (pte_none(entry))
		return vma_is_anonymous(vma) ? do_anonymous_page(vma, pte, addr, flags)
					     : do_fault(vma, pte, addr, flags);
	if (is_migration_entry(entry)) {
		migration_entry_wait(entry);
		return 0;
	}
	if (is_swap_pte(entry))
		return do_swap_page(vma, pte, addr, entry, flags);
	ptl = entry_ptl(pte);
	pthread_spin_lock(ptl);
	if (ptep_get(pte).pte != entry.pte) {
		pthread_spin_unlock(ptl);
		return 0;
	}
	if (pte_protnone(entry) && (vma->vm_flags & VM_ACCESS_FLAGS)) {
		/* Left from a PROT_NONE the VMA no longer has (5.7's do_numa_page() restores
		 * the VMA's protection). Store the entry before working from it: the COW below
		 * re-checks the PTE against the entry it is given. A PROT_NONE VMA keeps its
		 * entry as it is (a FOLL_FORCE write COWs it as it stands, old or young). */
		entry = pte_mkyoung(pte_modify(entry, vm_get_page_prot(vma)));
		set_pte(pte, entry);
	}
	if ((flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !pte_write(entry))
		return do_wp_page(vma, pte, addr, entry, flags);
	/* An unshare that finds the PTE writable has nothing to do: a writable PTE maps an
	 * exclusive page. */
	entry = pte_mkyoung(entry);
	if (flags & FAULT_FLAG_WRITE)
		entry = pte_mkdirty(entry);
	set_pte(pte, entry);
	pthread_spin_unlock(ptl);
	return 0;
}

static vm_fault_t __handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
				    unsigned int flags)
{
	unsigned long addr = address & PAGE_MASK;
	pmd_t *pmd;
	pmd_t v;
	vm_fault_t ret;

	mmap_assert_locked(vma->vm_mm);
	/* Linux's sanitize_fault_flags(): an unshare is a modern-rules fault of a private
	 * mapping, and never a write. */
	if ((flags & FAULT_FLAG_UNSHARE) &&
	    WARN_ON_ONCE(!rule_ro_pin_unshares() || (flags & FAULT_FLAG_WRITE) ||
			 !is_cow_mapping(vma->vm_flags)))
		return VM_FAULT_SIGSEGV;
	count_vm_event(PGFAULT);
	if (vma->vm_flags & VM_HUGETLB)
		return hugetlb_fault(vma, addr, flags);
	if (vma_is_dax(vma))
		return dax_fault(vma, addr, flags);
	pmd = pmd_alloc(vma->vm_mm, addr);
	if (!pmd)
		return VM_FAULT_OOM;
	v = pmd_read_settled(pmd);
	if (pmd_none(v) && transparent_hugepage_enabled(vma, addr & PMD_MASK)) {
		ret = do_huge_pmd_anonymous_page(vma, pmd, addr);
		if (!(ret & VM_FAULT_FALLBACK))
			return ret;
	} else if (pmd_trans_huge(v)) {
		if (!(flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) || pmd_write(v))
			return 0;
		ret = do_huge_pmd_wp_page(vma, pmd, addr, flags);
		if (!(ret & VM_FAULT_FALLBACK))
			return ret;
	}
	return handle_pte_fault(vma, pmd, addr, flags);
}

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long address, unsigned int flags)
{
	vm_fault_t ret = __handle_mm_fault(vma, address, flags);

	trace_event(TRACE_MM_FAULT, address, flags, ret);
	return ret;
}

int fixup_user_fault(struct mm_struct *mm, unsigned long address, unsigned int fault_flags)
{
	struct vm_area_struct *vma = vma_lookup(mm, address);
	unsigned long need = (fault_flags & FAULT_FLAG_WRITE) ? VM_WRITE : VM_READ;
	vm_fault_t ret;

	if (!vma || !(vma->vm_flags & need))
		return -EFAULT;
	ret = handle_mm_fault(vma, address, fault_flags);
	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & VM_FAULT_HWPOISON)
		return -EHWPOISON;
	if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
		return -EFAULT;
	return 0;
}
