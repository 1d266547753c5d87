/* SPDX-License-Identifier: MIT */
/*
 * The GUP slow path (Linux 5.7's mm/gup.c): for each page, check the VMA allows the access,
 * look the page up in the page tables (follow_page_mask), fault it in when it is absent or not
 * writable enough, and grab it with the caller's FOLL_GET / FOLL_PIN. And the public
 * get_user_pages* / pin_user_pages* entry points with their argument checks, and pinmm's runs
 * calls (pin_user_pages_runs(), unpin_user_page_runs*()).
 *
 * Every lookup emits what it grabbed into the walk's output (struct gup_out, internal.h): a
 * pages array or runs, one implementation for both. A lookup asks the output for room before
 * it grabs (a full runs array ends the call there), never after.
 *
 * The lookup grabs under the page-table lock that maps the page, so a page is never grabbed
 * after it was unmapped and freed. A lookup that finds a PTE-mapped page goes on along the
 * same PTE table under the same lock while the entries pass the same tests (follow_pte_run()):
 * one lock per table, not per page. Under 5.7 rules every subpage of a huge page is looked up
 * and grabbed one by one; under modern rules (rule_gup_grabs_whole_leaf(), 6.5) the loop takes
 * the rest of a PMD-mapped THP or hugetlb leaf that lies in the range with one more grab on the
 * reference the lookup holds (leaf_rest()). The counts after the call are the same.
 * Under modern rules a read-only FOLL_PIN of an anonymous page that may be shared is not
 * grabbed: the lookup says -EMLINK, faultin_page() unshares it with FAULT_FLAG_UNSHARE, and the
 * lookup runs again (gup_must_unshare()); and a FOLL_FORCE write only follows a read-only entry
 * of an exclusive anonymous page (can_follow_write()).
 */
#include <errno.h>
#include <limits.h>

#include <pinmm/huge_mm.h>

#include "internal.h"
#include "lib/internal.h"

/* Does the file system need to know when this mapping's pages are written (Linux's
 * vma_needs_dirty_tracking())? A shared, writable mapping of a host file: its dirty pages are
 * written back. shmem / memfd files are memory only, hugetlb files are never written back,
 * and DAX files have no page cache (a long-term GUP of them is refused before this). */
static bool vma_needs_dirty_tracking(const struct vm_area_struct *vma)
{
	const struct address_space *mapping;

	if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE) || !vma->vm_file)
		return false;
	mapping = vma->vm_file->f_mapping;
	return !mapping->shmem && !mapping->huge_shift && !mapping->dax_nr_pages;
}

/* A write through a long-term pin would dirty the page behind the file system's back (Linux's
 * writable_file_mapping_allowed(), 6.5): refused under modern rules. */
static bool writable_file_mapping_allowed(const struct vm_area_struct *vma,
					  unsigned int gup_flags)
{
	if ((gup_flags & (FOLL_PIN | FOLL_LONGTERM)) != (FOLL_PIN | FOLL_LONGTERM))
		return true;
	return !rule_longterm_refuses_dirty_tracked_file() || !vma_needs_dirty_tracking(vma);
}

static int check_vma_flags(struct vm_area_struct *vma, unsigned int gup_flags)
{
	unsigned long vm_flags = vma->vm_flags;

	if (vm_flags & (VM_IO | VM_PFNMAP))
		return -EFAULT;
	if ((gup_flags & FOLL_ANON) && !vma_is_anonymous(vma))
		return -EFAULT;
	if (gup_flags & FOLL_WRITE) {
		if (!vma_is_anonymous(vma) && !writable_file_mapping_allowed(vma, gup_flags))
			return -EFAULT;
		if (!(vm_flags & VM_WRITE)) {
			if (!(gup_flags & FOLL_FORCE))
				return -EFAULT;
			/* Only a private mapping that may be written can be COW-written. */
			if (!is_cow_mapping(vm_flags))
				return -EFAULT;
			/* Modern rules: hugetlb does not take FOLL_FORCE writes (6.0, with the
			 * rule's commit: hugetlb_wp() never maps a copy read-only). */
			if ((vm_flags & VM_HUGETLB) && rule_foll_force_needs_exclusive())
				return -EFAULT;
		}
	} else if (!(vm_flags & VM_READ)) {
		if (!(gup_flags & FOLL_FORCE))
			return -EFAULT;
		if (!(vm_flags & VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

/*
 * One lookup's output. The lookup grabs the page at its address into out, and, for a
 * PTE-mapped page, the rest of a run the slow path takes under the same page-table lock
 * (follow_pte_run()). Every grab asks gup_out_fits() first: a runs array that is full makes the
 * lookup answer ERR_PTR(-ENOSPC) with nothing grabbed, and the call stops there.
 */
struct pte_run {
	struct gup_out *out;
	unsigned long max; /* pages the caller may still take, the first included */
	unsigned long got; /* pages taken after the first (follow_pte_run()) */
	bool emitted;      /* the lookup emitted its first page into out already */
};

/* The lookup's grab of page: ERR_PTR(-ENOSPC) when out has no room for it, -ENOMEM when the
 * grab fails, else page. */
static struct page *lookup_grab(struct pte_run *run, struct page *page, unsigned int flags)
{
	if (!gup_out_fits(run->out, page))
		return ERR_PTR(-ENOSPC);
	if (!try_grab_page(page, flags))
		return ERR_PTR(-ENOMEM);
	return page;
}

/* A device page (devmap entry): hold its pagemap while grabbing it, as 5.7's
 * follow_devmap_pmd() and follow_page_pte() do; a pagemap being torn down refuses. */
static struct page *grab_devmap_page(unsigned long pfn, unsigned int flags, struct pte_run *run)
{
	struct dev_pagemap *pgmap = get_dev_pagemap(pfn, NULL);
	struct page *page;

	if (!pgmap)
		return ERR_PTR(-EFAULT);
	page = lookup_grab(run, pfn_to_page(pfn), flags);
	put_dev_pagemap(pgmap);
	return page;
}

/* May a FOLL_WRITE lookup use this entry (page: the page it maps, NULL for the zero page;
 * the head for a PMD or hugetlb leaf)? rule_foll_force_needs_exclusive() decides when
 * FOLL_FORCE may use a read-only one. 5.7, the Dirty-COW rule: once a COW has happened for it
 * (FOLL_COW) and the entry is dirty, i.e. it maps our private copy. Modern (Linux 6.0's
 * can_follow_write_pte() and _pmd()): in a private mapping that may be written but is not
 * writable now, when the page is an exclusive anonymous page (so a write fault would only make
 * the entry writable); hugetlb entries never (check_vma_flags() refuses those first). */
static bool can_follow_write(bool writable, bool dirty, struct page *page,
			     const struct vm_area_struct *vma, unsigned int flags)
{
	if (writable)
		return true;
	if (!(flags & FOLL_FORCE))
		return false;
	if (!rule_foll_force_needs_exclusive())
		return (flags & FOLL_COW) && dirty;
	if ((vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_HUGETLB)) ||
	    !(vma->vm_flags & VM_MAYWRITE) || (vma->vm_flags & VM_WRITE))
		return false;
	return page && PageAnon(page) && PageAnonExclusive(page);
}

static struct page *no_page_table(struct vm_area_struct *vma, unsigned int flags)
{
	/* FOLL_DUMP: an error rather than faulting in memory nobody wrote. */
	if ((flags & FOLL_DUMP) && (vma_is_anonymous(vma) || !vma->vm_ops->fault))
		return ERR_PTR(-EFAULT);
	return NULL;
}

static struct page *follow_hugetlb(struct vm_area_struct *vma, unsigned long addr,
				   unsigned int flags, struct pte_run *run)
{
	unsigned long *entry = huge_pte_offset(vma, addr, false);
	unsigned long mask = (1UL << vma->vm_huge_shift) - 1;
	pthread_spinlock_t *ptl;
	struct page *page = NULL;
	unsigned long v;

	if (!entry)
		return no_page_table(vma, flags);
	ptl = huge_pte_lockptr(vma, entry);
	pthread_spin_lock(ptl);
	v = pt_entry_load_acquire(entry);
	/* A PROT_NONE entry is still a mapping (x86's pte_present()): FOLL_FORCE may follow it,
	 * as check_vma_flags() allowed. */
	if ((v & (_PAGE_PRESENT | _PAGE_PROTNONE)) &&
	    (!(flags & FOLL_WRITE) ||
	     can_follow_write(v & _PAGE_RW, v & _PAGE_DIRTY,
			      pfn_to_page((v & PTE_PFN_MASK) >> PAGE_SHIFT), vma, flags))) {
		page = pfn_to_page(((v & PTE_PFN_MASK) >> PAGE_SHIFT) + ((addr & mask) >> PAGE_SHIFT));
		if (!(v & _PAGE_RW) && gup_must_unshare(vma, flags, page))
			page = ERR_PTR(-EMLINK); /* hugetlb_wp() unshares it first */
		else if ((page = lookup_grab(run, page, flags)) == ERR_PTR(-ENOMEM))
			WARN_ONCE(1, "hugetlb grab failed");
	}
	pthread_spin_unlock(ptl);
	if (!page && !v)
		return no_page_table(vma, flags);
	return page;
}

static struct page *follow_trans_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd,
					  unsigned long addr, unsigned int flags,
					  struct pte_run *run)
{
	pmd_t v = pmdp_get(pmd);
	struct page *head = pfn_to_page(pmd_pfn(v));
	struct page *page;

	if ((flags & FOLL_WRITE) &&
	    !can_follow_write(pmd_write(v), pmd_dirty(v), head, vma, flags))
		return NULL;
	/* The PMD's exclusive bit is its head's. */
	if (!pmd_write(v) && gup_must_unshare(vma, flags, head))
		return ERR_PTR(-EMLINK);
	page = lookup_grab(run, pfn_to_page(pmd_pfn(v) + pte_index(addr)), flags);
	if (IS_ERR(page))
		return page;
	if (flags & FOLL_TOUCH) {
		v = pmd_mkyoung(v);
		if (flags & FOLL_WRITE)
			v = pmd_mkdirty(v);
		set_pmd(pmd, v);
	}
	return page;
}

/* FOLL_SPLIT: split the THP page belongs to (5.7's follow_page_pte() and follow_pmd_mask()).
 * We hold a reference on page, which this drops. 0 or split_huge_page()'s error. */
static int follow_split(struct page *page)
{
	int ret;

	lock_page(page);
	ret = split_huge_page(page);
	unlock_page(page);
	put_page(page);
	return ret;
}

/*
 * The rest of a run the slow path takes under one page-table lock: after the lookup at addr
 * grabbed its page (emitted into the output first, here), the entries that follow in the same PTE
 * table, inside the VMA and the range, are looked at under the same lock, each with every
 * test follow_page_pte() makes, and grabbed while each passes as a plain present page would
 * (no zero page, no device page, no FOLL_SPLIT of a THP, no unshare, a writable or followable
 * entry). The first that does not stops the run: the caller's loop looks it up alone, as
 * before, and faults, unshares or fails there. So every page gets the decision it would have
 * got alone; the page-table lock is taken once per table, not once per page. Linux takes it
 * per page in follow_page_pte() (mm/gup.c); the result is the same as a per-page walk during
 * which nothing changed the table, which the lock guarantees.
 */
/* The loop, compiled twice from this one body: runs is a constant in each copy, so the
 * pages-array copy carries no test of the output's kind per page. */
static inline __attribute__((always_inline)) void
__follow_pte_run(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr, struct page *first,
		 unsigned int flags, struct pte_run *run, const bool runs)
{
	unsigned long left = PTRS_PER_PTE - 1 - pte_index(addr);
	bool grab = flags & (FOLL_GET | FOLL_PIN);
	struct gup_out *out = run->out;
	/* A pages array's slots, indexed by k (slot[0] is first's): the array calls' loop stores
	 * by its own index, with nothing of the output reloaded across the out-of-line grabs.
	 * NULL for runs (gup_out_add() per page) or when nothing is kept. */
	struct page **slot;
	unsigned long k;

	if (left > run->max - 1)
		left = run->max - 1;
	if (left > ((vma->vm_end - addr) >> PAGE_SHIFT) - 1)
		left = ((vma->vm_end - addr) >> PAGE_SHIFT) - 1;
	gup_out_add(out, first, 1);
	run->emitted = true;
	slot = !runs && out->pages ? out->pages + out->nr - 1 : NULL;
	for (k = 1; k <= left; k++) {
		unsigned long a = addr + (k << PAGE_SHIFT);
		pte_t pte = ptep_get(ptep + k);
		struct page *page;

		if (!pte_present(pte) || (pte_protnone(pte) && !(flags & FOLL_FORCE)))
			break;
		page = vm_normal_page(vma, a, pte);
		if (!page || ((flags & FOLL_WRITE) &&
			      !can_follow_write(pte_write(pte), pte_dirty(pte), page, vma, flags)))
			break;
		if ((flags & FOLL_SPLIT) && PageCompound(page) && !PageHuge(page))
			break;
		if (!pte_write(pte) && gup_must_unshare(vma, flags, page))
			break;
		if (runs && !gup_out_fits(out, page))
			break;
		/* try_grab_page() without its per-page vmstat update: the run counts its pins
		 * once below (never the zero page here: vm_normal_page() left it out). */
		if (grab && !__grab_compound_head(page, 1, flags, false))
			break;
		if (flags & FOLL_TOUCH) {
			if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !PageDirty(page))
				set_page_dirty(page);
			mark_page_referenced(page);
		}
		if (runs)
			gup_out_add(out, page, 1);
		else if (slot)
			slot[k] = page;
	}
	run->got = k - 1;
	if (!runs)
		out->nr += run->got;
	if (run->got && (flags & FOLL_PIN))
		__mod_node_page_state(NR_FOLL_PIN_ACQUIRED, (long)run->got);
}

static void follow_pte_run(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr,
			   struct page *first, unsigned int flags, struct pte_run *run)
{
	if (run->out->runs)
		__follow_pte_run(vma, ptep, addr, first, flags, run, true);
	else
		__follow_pte_run(vma, ptep, addr, first, flags, run, false);
}

static struct page *follow_page_pte(struct vm_area_struct *vma, pmd_t pmdv, unsigned long addr,
				    unsigned int flags, struct pte_run *run)
{
	pte_t *ptep = pte_offset(pmdv, addr);
	pthread_spinlock_t *ptl = entry_ptl(ptep);
	struct page *page;
	pte_t pte;
	int ret;

retry:
	page = NULL;
	pthread_spin_lock(ptl);
	pte = ptep_get(ptep);
	if ((flags & FOLL_MIGRATION) && is_migration_entry(pte)) {
		/* 5.7: wait here for the migration instead of leaving it to the fault. */
		pthread_spin_unlock(ptl);
		migration_entry_wait(pte);
		goto retry;
	}
	if (!pte_present(pte))
		goto out;
	/* A PROT_NONE entry is only followed for FOLL_FORCE (5.7: FOLL_NUMA, which GUP adds
	 * without FOLL_FORCE, is what stops the others). */
	if (pte_protnone(pte) && !(flags & FOLL_FORCE))
		goto out;
	page = vm_normal_page(vma, addr, pte);
	if ((flags & FOLL_WRITE) &&
	    !can_follow_write(pte_write(pte), pte_dirty(pte), page, vma, flags)) {
		page = NULL;
		goto out;
	}
	if (!page && pte_devmap(pte) && (flags & (FOLL_GET | FOLL_PIN))) {
		page = grab_devmap_page(pte_pfn(pte), flags, run);
		goto out;
	}
	if (!page) {
		if (!is_zero_pfn(pte_pfn(pte)) || (flags & FOLL_DUMP)) {
			page = ERR_PTR(-EFAULT);
			goto out;
		}
		page = pfn_to_page(pte_pfn(pte));
	}
	if ((flags & FOLL_SPLIT) && PageCompound(page) && !PageHuge(page)) {
		get_page(page);
		pthread_spin_unlock(ptl);
		ret = follow_split(page);
		if (ret)
			return ERR_PTR(ret);
		goto retry;
	}
	if (!pte_write(pte) && gup_must_unshare(vma, flags, page)) {
		page = ERR_PTR(-EMLINK); /* the caller unshares it first */
		goto out;
	}
	page = lookup_grab(run, page, flags);
	if (IS_ERR(page))
		goto out;
	if (flags & FOLL_TOUCH) {
		if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !PageDirty(page))
			set_page_dirty(page);
		mark_page_accessed(page);
	}
	/* Pin owners (<pinmm/pin_owner.h>) name each pin by the backtrace of its grab: with them
	 * on, every page keeps the lookup's own grab, so one call stays one call site. */
	if (run->max > 1 && !pin_owner_enabled())
		follow_pte_run(vma, ptep, addr, page, flags, run);
out:
	pthread_spin_unlock(ptl);
	if (!page && pte_none(pte))
		return no_page_table(vma, flags);
	return page;
}

/* The page at addr, grabbed per flags; NULL if it must be faulted in; ERR_PTR on error
 * (-ENOSPC: no room in the output). run: the output, and the PTE-mapped pages after it taken
 * under the same lock (follow_pte_run()). */
static struct page *follow_page_mask(struct vm_area_struct *vma, unsigned long addr,
				     unsigned int flags, struct pte_run *run)
{
	pmd_t *pmd;
	pmd_t v;

	if (vma->vm_flags & VM_HUGETLB)
		return follow_hugetlb(vma, addr, flags, run);
	pmd = pmd_lookup(vma->vm_mm, addr);
	if (!pmd)
		return no_page_table(vma, flags);
	/* Read the entry once and work from that value: MADV_DONTNEED (also under the read
	 * lock) may clear a THP's PMD at any moment. */
	v = pmdp_get(pmd);
	if (pmd_none(v))
		return no_page_table(vma, flags);
	if (pmd_leaf(v) && pmd_devmap(v)) {
		pthread_spinlock_t *ptl = entry_ptl(pmd);
		struct page *page = NULL;

		pthread_spin_lock(ptl);
		v = pmdp_get(pmd);
		if (pmd_leaf(v) && (!(flags & FOLL_WRITE) || pmd_write(v)))
			page = (flags & (FOLL_GET | FOLL_PIN))
				       ? grab_devmap_page(pmd_pfn(v) + pte_index(addr), flags, run)
				       : pfn_to_page(pmd_pfn(v) + pte_index(addr));
		pthread_spin_unlock(ptl);
		return page;
	}
	if (pmd_trans_huge(v)) {
		pthread_spinlock_t *ptl = entry_ptl(pmd);
		struct page *page = NULL;

		pthread_spin_lock(ptl);
		v = pmdp_get(pmd);
		if (pmd_trans_huge(v)) {
			if (flags & FOLL_SPLIT) {
				struct page *head = pfn_to_page(pmd_pfn(v));
				int ret;

				if (!try_get_page(head)) {
					pthread_spin_unlock(ptl);
					return ERR_PTR(-ENOMEM);
				}
				pthread_spin_unlock(ptl);
				ret = follow_split(head);
				return ret ? ERR_PTR(ret) : follow_page_mask(vma, addr, flags, run);
			}
			if (flags & FOLL_SPLIT_PMD)
				split_huge_pmd_locked(vma, pmd, addr & PMD_MASK);
			else
				page = follow_trans_huge_pmd(vma, pmd, addr, flags, run);
			v = pmdp_get(pmd);
		}
		pthread_spin_unlock(ptl);
		if (page || pmd_leaf(v))
			return page;
		if (pmd_none(v))
			return no_page_table(vma, flags);
	}
	return follow_page_pte(vma, v, addr, flags, run);
}

/* Fault addr in for the lookup (unshare: the lookup said -EMLINK, make the anonymous page
 * exclusive with FAULT_FLAG_UNSHARE); 0 to retry, else the error (-EBUSY: FOLL_NOWAIT and the
 * fault would have had to wait). */
static int faultin_page(struct vm_area_struct *vma, unsigned long addr, unsigned int *flags,
			bool unshare)
{
	unsigned int fault_flags = 0;
	vm_fault_t ret;

	if (unshare)
		fault_flags |= FAULT_FLAG_UNSHARE; /* never with FOLL_WRITE: see gup_must_unshare() */
	else if (*flags & FOLL_WRITE)
		fault_flags |= FAULT_FLAG_WRITE;
	if (*flags & FOLL_REMOTE)
		fault_flags |= FAULT_FLAG_REMOTE;
	if (*flags & FOLL_NOWAIT)
		fault_flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT;
	ret = handle_mm_fault(vma, addr, fault_flags);
	if (ret & VM_FAULT_RETRY)
		return -EBUSY; /* FOLL_NOWAIT: the fault would have waited */
	if (ret & VM_FAULT_ERROR) {
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & VM_FAULT_HWPOISON)
			return (*flags & FOLL_HWPOISON) ? -EHWPOISON : -EFAULT;
		return -EFAULT;
	}
	/* 5.7: a COW into a VMA we may not write (FOLL_FORCE): the dirty read-only PTE is ours.
	 * Modern rules need no FOLL_COW: the page the fault left there is exclusive. */
	if (!rule_foll_force_needs_exclusive() && (ret & VM_FAULT_WRITE) &&
	    !(vma->vm_flags & VM_WRITE))
		*flags |= FOLL_COW;
	return 0;
}

/*
 * How many subpages after page (which the lookup found at addr, and grabbed)
 * lie on the same huge leaf inside the range of nr_pages from addr; 0 when page is not on a
 * huge leaf. The leaf entry is read again, without the lock: the answer stands only if it
 * still maps page's compound page at addr, whole, with the access flags allow, so every
 * subpage counted was mapped there during the call, as a lookup of each would have found it.
 * Device PMDs are left to the lookup, subpage by subpage, as in Linux 6.5.
 */
static unsigned long leaf_rest(struct vm_area_struct *vma, unsigned long addr,
			       struct page *page, unsigned long nr_pages, unsigned int flags)
{
	unsigned long mask, pfn, left;
	bool writable, dirty;

	if (!PageCompound(page) || nr_pages <= 1)
		return 0;
	if (vma->vm_flags & VM_HUGETLB) {
		unsigned long *entry = huge_pte_offset(vma, addr, false);
		unsigned long v = entry ? pt_entry_load_acquire(entry) : 0;

		if (!(v & (_PAGE_PRESENT | _PAGE_PROTNONE)))
			return 0;
		mask = (1UL << vma->vm_huge_shift) - 1;
		pfn = (v & PTE_PFN_MASK) >> PAGE_SHIFT;
		writable = v & _PAGE_RW;
		dirty = v & _PAGE_DIRTY;
	} else {
		pmd_t *pmd = pmd_lookup(vma->vm_mm, addr);
		pmd_t v;

		if (!pmd)
			return 0;
		v = pmdp_get(pmd);
		if (!pmd_trans_huge(v) || pmd_devmap(v))
			return 0;
		mask = ~PMD_MASK;
		pfn = pmd_pfn(v);
		writable = pmd_write(v);
		dirty = pmd_dirty(v);
	}
	if (pfn_to_page(pfn + ((addr & mask) >> PAGE_SHIFT)) != page ||
	    ((flags & FOLL_WRITE) &&
	     !can_follow_write(writable, dirty, compound_head(page), vma, flags)))
		return 0;
	left = (mask - (addr & mask)) >> PAGE_SHIFT;
	return left < nr_pages - 1 ? left : nr_pages - 1;
}

/*
 * 5.7's follow_hugetlb_page(): the rest of a hugetlb page's subpages in the range, each
 * grabbed on its own (try_grab_page(), 5.7's same_page loop, counted per subpage as the
 * lookups of each counted them) under the leaf's lock taken once, instead of one lookup, and
 * one lock, per subpage: two threads pinning halves of a range whose leaves share a PMD table
 * passed that lock back and forth for every 4 KiB. Returns how many subpages after page were
 * taken; a grab that fails (an overflow) ends the batch, and the loop goes on from there.
 */
static unsigned long grab_hugetlb_rest_57(struct vm_area_struct *vma, unsigned long addr,
					  struct page *page, unsigned long nr_pages,
					  unsigned int flags, struct gup_out *out)
{
	unsigned long *entry = huge_pte_offset(vma, addr, false);
	pthread_spinlock_t *ptl;
	unsigned long rest, k;

	if (!entry)
		return 0;
	ptl = huge_pte_lockptr(vma, entry);
	pthread_spin_lock(ptl);
	rest = leaf_rest(vma, addr, page, nr_pages, flags);
	for (k = 0; k < rest; k++)
		if (!try_grab_page(page + 1 + k, flags))
			break;
	pthread_spin_unlock(ptl);
	if (k)
		gup_out_add(out, page + 1, k);
	return k;
}

/*
 * Modern rules: take the rest of page's huge leaf in the range (leaf_rest()) with one grab,
 * and emit its subpages as one batch (one run, or one entry each in a pages array). Returns how
 * many subpages after page were taken. They follow page physically, which out holds already,
 * so they always fit. The grab can only fail on an overflow (the lookup's reference holds the
 * page): then nothing more is taken here and the loop goes on subpage by subpage, as 5.7, to
 * the same short count.
 */
static unsigned long grab_leaf_rest(struct vm_area_struct *vma, unsigned long addr,
				    struct page *page, unsigned long nr_pages,
				    unsigned int flags, struct gup_out *out)
{
	unsigned long rest;

	if (!rule_gup_grabs_whole_leaf())
		return (vma->vm_flags & VM_HUGETLB)
			       ? grab_hugetlb_rest_57(vma, addr, page, nr_pages, flags, out)
			       : 0;
	rest = leaf_rest(vma, addr, page, nr_pages, flags);
	if (!rest)
		return 0;
	if (flags & (FOLL_GET | FOLL_PIN)) {
		if (rest > INT_MAX || !__grab_compound_head(page, (int)rest, flags, false))
			return 0;
		if (flags & FOLL_PIN)
			__mod_node_page_state(NR_FOLL_PIN_ACQUIRED, (long)rest);
	}
	gup_out_add(out, page + 1, rest);
	return rest;
}

static long __get_user_pages(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     unsigned int gup_flags, struct gup_out *out)
{
	struct vm_area_struct *vma = NULL;
	long i = 0;
	int ret = 0;

	start &= PAGE_MASK;
	while (nr_pages) {
		unsigned int foll_flags = gup_flags;
		struct pte_run run;
		unsigned long step;
		struct page *page;

		if (!vma || start >= vma->vm_end) {
			vma = vma_lookup(mm, start);
			if (!vma) {
				ret = -EFAULT;
				break;
			}
			ret = check_vma_flags(vma, gup_flags);
			if (ret)
				break;
		}
		/* As 5.7: fault and look again until the lookup finds the page or the fault
		 * fails. A served fault whose page is gone again (MADV_DONTNEED, a migration
		 * entry, a racing COW) is retried, however often: a mapped, accessible range
		 * never yields -EFAULT. Only a fault's own error ends the loop. */
		run = (struct pte_run){ out, nr_pages, 0, false };
		for (;;) {
			page = follow_page_mask(vma, start, foll_flags, &run);
			if (page && page != ERR_PTR(-EMLINK))
				break;
			ret = faultin_page(vma, start, &foll_flags, page == ERR_PTR(-EMLINK));
			if (ret)
				break;
			/* The fault is served; another CPU may take the page away again before
			 * the lookup below finds it. */
			race_point("gup:faultin_page_done");
		}
		if (!page) {
			if (ret == -EBUSY)
				ret = 0; /* FOLL_NOWAIT: 5.7 returns the pages so far, or 0 */
			break;
		}
		if (page == ERR_PTR(-ENOSPC)) {
			ret = 0; /* the runs array is full: the pages so far (out->full) */
			break;
		}
		if (IS_ERR(page)) {
			ret = (int)PTR_ERR(page);
			break;
		}
		/* One lookup done (one page-table lock taken): per subpage of a THP under 5.7
		 * rules, per hugetlb page under 5.7 (its subpages grabbed under that lock), per
		 * leaf under modern rules, per run of a PTE table under both. */
		race_point("gup:page_looked_up");
		if (!run.emitted)
			gup_out_add(out, page, 1);
		step = 1 + (run.got ? run.got
				    : grab_leaf_rest(vma, start, page, nr_pages, foll_flags, out));
		i += (long)step;
		start += step * PAGE_SIZE;
		nr_pages -= step;
	}
	return i ? i : ret;
}

/* Flags the slow path refuses (WARN, -EINVAL): Linux's internals, and what needs what pinmm
 * does not have (include/pinmm/gup.h says why for each). */
#define GUP_REFUSED_FLAGS (FOLL_NUMA | FOLL_TRIED | FOLL_MLOCK | FOLL_COW | FOLL_FAST_ONLY)

long gup_out_get_user_pages_locked(struct mm_struct *mm, unsigned long start,
				   unsigned long nr_pages, struct gup_out *out,
				   unsigned int gup_flags)
{
	struct mm_struct *saved_mm;
	long ret;

	mmap_assert_locked(mm);
	if (WARN_ON_ONCE(gup_flags & GUP_REFUSED_FLAGS))
		return -EINVAL;
	/* "Traditional behaviour": a pages array without FOLL_PIN means references. */
	if ((out->pages || out->runs) && !(gup_flags & FOLL_PIN))
		gup_flags |= FOLL_GET;
	if (gup_flags & FOLL_PIN)
		mm_set_has_pinned_flag(mm);
	/* For the pin owners' records: the mm this walk pins through (a remote one, too). */
	saved_mm = gup_pin_mm;
	gup_pin_mm = mm;
	ret = __get_user_pages(mm, start, nr_pages, gup_flags, out);
	gup_pin_mm = saved_mm;
	if (gup_flags & FOLL_PIN)
		trace_event(TRACE_GUP_PIN, start, nr_pages, gup_flags, (unsigned long)ret);
	return ret;
}

long __get_user_pages_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     struct page **pages, unsigned int gup_flags)
{
	struct gup_out out = gup_out_pages(pages);

	return gup_out_get_user_pages_locked(mm, start, nr_pages, &out, gup_flags);
}

/* Mark head, a folio just pinned long-term, PG_longterm. A test first: the bit is usually set
 * already (a THP pinned before, every subpage of a pages array). */
static inline void mark_longterm_folio(struct page *head)
{
	if (!PageLongterm(head) && page_maybe_dma_pinned(head))
		SetPageLongterm(head);
}

static void mark_longterm_folio_cb(struct page *head, void *arg)
{
	(void)arg;
	mark_longterm_folio(head);
}

void gup_out_mark_longterm(const struct gup_out *out, const struct gup_out_mark *m)
{
	gup_out_for_each_folio(out, m, mark_longterm_folio_cb, NULL);
}

void gup_release_pages(struct page **pages, unsigned long nr, unsigned int gup_flags)
{
	if (gup_flags & FOLL_PIN) {
		unpin_user_pages(pages, nr);
		return;
	}
	for (unsigned long i = 0; i < nr; i++)
		put_page(pages[i]);
}

void gup_out_release(struct gup_out *out, const struct gup_out_mark *m, unsigned int gup_flags)
{
	if (!out->runs) {
		if (out->pages)
			gup_release_pages(out->pages + m->nr, out->nr - m->nr, gup_flags);
		gup_out_truncate(out, m);
		return;
	}
	for (unsigned long r = gup_out_first_run(m); r < out->nr_runs; r++) {
		struct page *page;
		unsigned long n = gup_out_run_since(out, m, r, &page);

		if (!n)
			continue;
		if (gup_flags & FOLL_PIN)
			unpin_user_page_range_dirty_lock(page, n, false);
		else
			while (n--)
				put_page(page++);
	}
	gup_out_truncate(out, m);
}

static bool range_has_dax(struct mm_struct *mm, unsigned long start, unsigned long nr_pages)
{
	unsigned long end = (start & PAGE_MASK) + (nr_pages << PAGE_SHIFT);

	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
	     v = find_vma(mm, v->vm_end))
		if (vma_is_dax(v))
			return true;
	return false;
}

long gup_out_longterm_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     struct gup_out *out, unsigned int gup_flags)
{
	struct gup_out_mark m = gup_out_mark(out);
	bool pin_context;
	long rc;

	if (!(gup_flags & FOLL_LONGTERM))
		return gup_out_get_user_pages_locked(mm, start, nr_pages, out, gup_flags);
	if (!out->pages && !out->runs)
		return -EINVAL;
	/* Kept across the migration loop, so the re-pins fault pages in where a long-term pin
	 * may stay too (docs/design.md: where pinmm differs from 5.7). */
	pin_context = memalloc_pin_save();
	rc = gup_out_get_user_pages_locked(mm, start, nr_pages, out, gup_flags);
	if (rc > 0 && range_has_dax(mm, start, (unsigned long)rc)) {
		/* Device (fsdax) memory cannot be pinned for ever: its file may need it back. */
		gup_out_release(out, &m, gup_flags);
		rc = -EOPNOTSUPP;
	}
	if (rc > 0)
		rc = check_and_migrate_movable_pages(mm, start, (unsigned long)rc, out, &m,
						     gup_flags);
	memalloc_pin_restore(pin_context);
	if (rc > 0 && (gup_flags & FOLL_PIN))
		gup_out_mark_longterm(out, &m);
	return rc;
}

long __gup_longterm_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   struct page **pages, unsigned int gup_flags)
{
	struct gup_out out = gup_out_pages(pages);

	return gup_out_longterm_locked(mm, start, nr_pages, &out, gup_flags);
}

/* ---- public entry points ---- */

long get_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages)
{
	struct mm_struct *mm = current_mm();

	if (WARN_ON_ONCE(gup_flags & FOLL_PIN) ||
	    WARN_ON_ONCE(longterm_without_pin_refused(gup_flags)))
		return -EINVAL;
	if (!mm)
		return -ESRCH;
	return __gup_longterm_locked(mm, start, nr_pages, pages, gup_flags | FOLL_TOUCH);
}

long pin_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages)
{
	struct mm_struct *mm = current_mm();

	if (WARN_ON_ONCE(gup_flags & FOLL_GET) || WARN_ON_ONCE(!pages))
		return rule_pin_refusal_value();
	if (!mm)
		return -ESRCH;
	return __gup_longterm_locked(mm, start, nr_pages, pages, gup_flags | FOLL_PIN);
}

long pin_user_pages_runs(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
			 struct page_run *runs, unsigned long *nr_runs)
{
	struct mm_struct *mm = current_mm();
	struct gup_out out;
	long ret;

	if (!runs || !nr_runs || !*nr_runs || nr_pages > LONG_MAX ||
	    (gup_flags & (FOLL_GET | FOLL_PIN)))
		return -EINVAL;
	if (!mm)
		return -ESRCH;
	out = gup_out_runs(runs, *nr_runs);
	ret = gup_out_longterm_locked(mm, start, nr_pages, &out, gup_flags | FOLL_PIN);
	if (ret >= 0)
		*nr_runs = out.nr_runs;
	return ret;
}

/* The runs' release: each run through unpin_user_page_range_dirty_lock(), which releases it
 * folio by folio, one operation per folio, with the checks, counts, vmstat and trace events of
 * every other unpin; never page by page, so a THP costs one release whatever its length. */
void unpin_user_page_runs_dirty_lock(struct page_run *runs, unsigned long nr_runs,
				     bool make_dirty)
{
	if (WARN_ON_ONCE(!runs && nr_runs))
		return;
	for (unsigned long r = 0; r < nr_runs; r++)
		if (runs[r].page && runs[r].nr_pages)
			unpin_user_page_range_dirty_lock(runs[r].page, runs[r].nr_pages, make_dirty);
}

void unpin_user_page_runs(struct page_run *runs, unsigned long nr_runs)
{
	unpin_user_page_runs_dirty_lock(runs, nr_runs, false);
}

static int check_locked(int *locked)
{
	return locked && WARN_ON_ONCE(*locked != 1) ? -EINVAL : 0;
}

long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked)
{
	if (WARN_ON_ONCE(gup_flags & FOLL_PIN) ||
	    WARN_ON_ONCE(longterm_without_pin_refused(gup_flags)) || !mm || check_locked(locked))
		return -EINVAL;
	if (mm_check(mm))
		return -ESRCH;
	gup_flags |= FOLL_TOUCH | FOLL_REMOTE;
	if (gup_flags & FOLL_LONGTERM) {
		/* 5.7: a long-term pin may not drop the lock half-way. */
		if (WARN_ON_ONCE(locked))
			return -EINVAL;
		return __gup_longterm_locked(mm, start, nr_pages, pages, gup_flags);
	}
	return __get_user_pages_locked(mm, start, nr_pages, pages, gup_flags);
}

long pin_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked)
{
	if (!mm)
		return -EINVAL;
	if (WARN_ON_ONCE(gup_flags & FOLL_GET) || WARN_ON_ONCE(!pages) || check_locked(locked))
		return rule_pin_refusal_value();
	if (mm_check(mm))
		return -ESRCH;
	gup_flags |= FOLL_PIN | FOLL_TOUCH | FOLL_REMOTE;
	if (gup_flags & FOLL_LONGTERM) {
		if (WARN_ON_ONCE(locked && !rule_longterm_pin_takes_locked()))
			return -EINVAL;
		return __gup_longterm_locked(mm, start, nr_pages, pages, gup_flags);
	}
	return __get_user_pages_locked(mm, start, nr_pages, pages, gup_flags);
}

static long gup_unlocked(unsigned long start, unsigned long nr_pages, struct page **pages,
			 unsigned int gup_flags)
{
	struct mm_struct *mm = current_mm();
	long ret;

	if (!mm)
		return -ESRCH;
	gup_flags |= FOLL_TOUCH;
	mmap_read_lock(mm);
	if (gup_flags & FOLL_LONGTERM)
		ret = __gup_longterm_locked(mm, start, nr_pages, pages, gup_flags);
	else
		ret = __get_user_pages_locked(mm, start, nr_pages, pages, gup_flags);
	mmap_read_unlock(mm);
	return ret;
}

long get_user_pages_unlocked(unsigned long start, unsigned long nr_pages, struct page **pages,
			     unsigned int gup_flags)
{
	if (WARN_ON_ONCE(gup_flags & (FOLL_LONGTERM | FOLL_PIN)))
		return -EINVAL;
	return gup_unlocked(start, nr_pages, pages, gup_flags);
}

long pin_user_pages_unlocked(unsigned long start, unsigned long nr_pages, struct page **pages,
			     unsigned int gup_flags)
{
	if (WARN_ON_ONCE((gup_flags & FOLL_LONGTERM) && !rule_longterm_pin_takes_locked()))
		return -EINVAL;
	if (WARN_ON_ONCE(gup_flags & FOLL_GET) || WARN_ON_ONCE(!pages))
		return rule_pin_refusal_value();
	return gup_unlocked(start, nr_pages, pages, gup_flags | FOLL_PIN);
}
