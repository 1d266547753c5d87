/* SPDX-License-Identifier: MIT */
/*
 * fork: duplicating an address space (Linux's dup_mmap() and copy_page_range()).
 *
 * Every VMA but VM_DONTCOPY ones is copied. Private writable entries are write-protected in
 * both parent and child, so that the first write on either side copies (or, if the other side
 * has unmapped it by then, reuses) the page; shared entries are copied as they are. Each copied
 * entry takes a reference and a mapcount on its page. VMAs of shared files without anonymous
 * pages are not copied entry by entry: the child faults them in from the page cache.
 *
 * Pinned pages follow the rule set (rule_fork_copies_pinned_anon(), asked by
 * page_try_dup_anon_rmap()). 5.7 shares them like any other page. Modern rules (5.9 on) give
 * the child a copy of an anonymous page that may be pinned and leave the parent's entry as it
 * was, writable included, so that the pin keeps the page the parent maps. A maybe-pinned THP
 * has the parent's PMD split first (copy_huge_pmd()) and its subpages copied here one by one;
 * a maybe-pinned private hugetlb page is copied whole into a pool page nobody reserved.
 * Under modern rules only an exclusive page is copied, and a page fork shares stops being
 * PageAnonExclusive, also when a migration entry is what fork copies.
 *
 * The rule that is easy to break: a copy's page, and the child's tables (a PTE table, the
 * table a huge leaf's entry goes in, a THP's deposit), are allocated with no page-table lock
 * held, as Linux's copy_pte_range() and copy_pmd_range() do (an allocation may enter direct
 * reclaim, whose rmap walks take anon_vma locks and then page-table locks). An entry that
 * needs one and finds none stops the walk with -EAGAIN before changing anything;
 * copy_page_range() allocates and walks again from that entry, which is read again under its
 * lock (an rmap walk may have changed it meanwhile; a page or deposit that was not used then
 * serves the next entry that needs one, or is freed at the end).
 * The contents are copied under the source entry's lock (Linux copies a hugetlb page after
 * dropping it and checks the entry again afterwards): a 1 GiB copy holds the parent's
 * page_table_lock that long, with the parent's mmap lock held for write anyway.
 */
#include <errno.h>
#include <string.h>

#include "swap.h"

struct copy_args {
	struct vm_area_struct *dst, *src;
	/* A page (a pool page for a hugetlb VMA) for the next entry that must be copied, or
	 * NULL; an entry that needs one while it is NULL records its address in need_addr and
	 * stops the walk with -EAGAIN. */
	struct page *prealloc;
	unsigned long need_addr;
	/* What the entry at need_addr lacks, when it is not a page: the child's PTE table
	 * (need_pte_table), or for a huge leaf the child's table that holds the leaf's entry
	 * and, for a THP, the PTE table its PMD deposits (need_leaf_table). The walk stopped
	 * for copy_page_range() to allocate them with no lock held. */
	bool need_pte_table, need_leaf_table;
	/* A PTE table for the next THP's deposit (pgtable_trans_huge_deposit()), or NULL. */
	struct page *deposit;
};

/* Stop the walk at the huge leaf at addr, for copy_page_range() to allocate what it needs. */
static int need_leaf_table(struct copy_args *c, unsigned long addr)
{
	c->need_addr = addr;
	c->need_leaf_table = true;
	return -EAGAIN;
}

/* The preallocated page for the entry at addr, or NULL after asking for one (the walk stops
 * with -EAGAIN). */
static struct page *take_prealloc(struct copy_args *c, unsigned long addr)
{
	struct page *page = c->prealloc;

	c->prealloc = NULL;
	if (!page)
		c->need_addr = addr;
	return page;
}

/* Linux's copy_present_page(): the child gets a copy of the maybe-pinned anonymous page
 * (src PTE's ptl held); the parent's PTE is left as it is. 0 or -EAGAIN. */
static int copy_present_page(struct copy_args *c, pte_t *dst_pte, unsigned long addr,
			     struct page *page)
{
	struct vm_area_struct *dst = c->dst;
	struct page *new = take_prealloc(c, addr);
	pte_t entry;

	if (!new)
		return -EAGAIN;
	memcpy(page_address(new), page_address(page), PAGE_SIZE);
	page_add_new_anon_rmap(new, dst, addr, false);
	lru_cache_add_inactive_or_unevictable(new, dst);
	add_mm_counter(dst->vm_mm, MM_ANONPAGES, 1);
	entry = pte_mkdirty(pfn_pte(page_to_pfn(new), vm_get_page_prot(dst)));
	if (dst->vm_flags & VM_WRITE)
		entry = pte_mkwrite(entry);
	pthread_spin_lock(entry_ptl(dst_pte));
	set_pte(dst_pte, entry);
	pthread_spin_unlock(entry_ptl(dst_pte));
	return 0;
}

static int copy_pte(pte_t *src_pte, unsigned long addr, void *arg)
{
	struct copy_args *c = arg;
	struct mm_struct *dst_mm = c->dst->vm_mm;
	pmd_t *dst_pmd = pmd_lookup(dst_mm, addr);
	pmd_t dst_pmdv = dst_pmd ? pmdp_get(dst_pmd) : (pmd_t){0};
	pte_t v = ptep_get(src_pte);
	pte_t *dst_pte;
	struct page *page;

	if (pmd_none(dst_pmdv)) {
		/* The child's table is allocated with no page-table lock held, as the copy's
		 * page is (the rule at the top): an allocation may reclaim, and reclaim takes
		 * anon_vma locks that rmap walkers hold while they wait for this lock. */
		c->need_addr = addr;
		c->need_pte_table = true;
		return -EAGAIN;
	}
	if (pmd_leaf(dst_pmdv))
		return -ENOMEM; /* cannot happen: the child's range was empty */
	dst_pte = pte_offset(dst_pmdv, addr);
	if (is_migration_entry(v)) {
		/* The page is moving: the child gets an entry too, found again by the rmap walk
		 * that ends the migration. Private COW entries become read-only on both sides,
		 * and the page they will map shared (not exclusive). */
		if (is_cow_mapping(c->src->vm_flags) &&
		    (pte_write(v) || (v.pte & _PAGE_MIGRATION_EXCLUSIVE))) {
			v = pte_wrprotect(v);
			v.pte &= ~_PAGE_MIGRATION_EXCLUSIVE;
			set_pte(src_pte, v);
		}
		add_mm_counter(dst_mm, mm_counter(pfn_to_page(pte_pfn(v))), 1);
		pthread_spin_lock(entry_ptl(dst_pte));
		set_pte(dst_pte, v);
		pthread_spin_unlock(entry_ptl(dst_pte));
		return 0;
	}
	if (is_swap_pte(v)) {
		/* Linux's copy_nonpresent_pte(): one more entry names the slot; a private entry
		 * stops being exclusive on both sides. No pin can be looked at here: that is why
		 * modern rules never swap out a page that may be pinned. */
		swap_duplicate(pte_to_swp_entry(v));
		if (pte_swp_exclusive(v)) {
			v = pte_swp_clear_exclusive(v);
			set_pte(src_pte, v);
		}
		add_mm_counter(dst_mm, MM_SWAPENTS, 1);
		pthread_spin_lock(entry_ptl(dst_pte));
		set_pte(dst_pte, v);
		pthread_spin_unlock(entry_ptl(dst_pte));
		return 0;
	}
	page = vm_normal_page(c->src, addr, v);
	if (page) {
		get_page(page);
		if (!PageAnon(page)) {
			page_dup_rmap(page, false);
		} else if (page_try_dup_anon_rmap(page, false, c->src)) {
			/* Decided before the parent's PTE is touched: a page copied for the
			 * child stays mapped in the parent as it was. */
			put_page(page);
			return copy_present_page(c, dst_pte, addr, page);
		}
		add_mm_counter(dst_mm, mm_counter(page), 1);
	}
	if (is_cow_mapping(c->src->vm_flags) && pte_write(v)) {
		/* Shared: the window a GUP-fast pin may hit before the write-protect
		 * (mm->write_protect_seq makes it back off under modern rules). */
		race_point("fork:pte_shared");
		v = pte_wrprotect(v);
		set_pte(src_pte, v);
	}
	if (c->src->vm_flags & VM_SHARED)
		v = pte_mkclean(v);
	pthread_spin_lock(entry_ptl(dst_pte));
	set_pte(dst_pte, pte_mkold(v));
	pthread_spin_unlock(entry_ptl(dst_pte));
	return 0;
}

/* The child's copy of a maybe-pinned private hugetlb page (Linux's copy_hugetlb_page_range()
 * with hugetlb_install_folio()): a pool page nobody reserved (the child holds no
 * reservation), the contents, a new anonymous mapping. Source entry's lock held. 0 or
 * -EAGAIN. */
static int copy_huge_present_page(struct copy_args *c, unsigned long *dst, unsigned long addr,
				  struct page *head)
{
	struct page *new = take_prealloc(c, addr);
	pthread_spinlock_t *dst_ptl;

	if (!new)
		return -EAGAIN;
	memcpy(page_address(new), page_address(head), huge_page_size(hstate_vma(c->src)));
	ClearPagePrivate(new); /* mapped: no reservation to give back */
	page_add_new_anon_rmap(new, c->dst, addr, true);
	dst_ptl = huge_pte_lockptr(c->dst, dst);
	pthread_spin_lock(dst_ptl);
	pt_entry_store_release(dst, make_huge_entry(new, c->dst, true));
	pthread_spin_unlock(dst_ptl);
	return 0;
}

/* A hugetlb leaf (PMD or PUD). */
static int copy_huge_entry(void *src_entry, unsigned long addr, struct copy_args *c)
{
	unsigned long *dst = huge_pte_offset(c->dst, addr, false);
	unsigned long v = pt_entry_load_acquire(src_entry);
	struct page *head = pfn_to_page((v & PTE_PFN_MASK) >> PAGE_SHIFT);
	pthread_spinlock_t *dst_ptl;

	if (!dst)
		return need_leaf_table(c, addr);
	get_page(head);
	if (!PageAnon(head)) {
		page_dup_rmap(head, true);
	} else if (page_try_dup_anon_rmap(head, true, c->src)) {
		put_page(head);
		return copy_huge_present_page(c, dst, addr, head);
	}
	if (is_cow_mapping(c->src->vm_flags) && (v & _PAGE_RW)) {
		v &= ~_PAGE_RW;
		pt_entry_store_release(src_entry, v);
	}
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
	pmd_t *dst_pmd;
	int ret;

	(void)end;
	if (c->src->vm_flags & VM_HUGETLB)
		return copy_huge_entry(pmd, addr, c);
	if (pmd_devmap(pmdp_get(pmd)))
		return 0; /* DAX: the child refaults it */
	dst_pmd = pmd_lookup(c->dst->vm_mm, addr);
	if (!dst_pmd || !c->deposit)
		return need_leaf_table(c, addr);
	ret = copy_huge_pmd(c->dst, c->src, dst_pmd, pmd, addr, &c->deposit);
	/* A maybe-pinned THP: its PMD is split now; copy its PTEs. */
	return ret == -EAGAIN ? WALK_DESCEND : ret;
}

/* The page an entry of src_vma at addr needs for its copy: a small page, or a pool page for a
 * hugetlb VMA (none free: -ENOMEM, what fork reports, as Linux's dup_mm()). The child's
 * private hugetlb VMA has no reservation map (reset at fork), so the allocation consults none
 * and needs no fault mutex. */
static int prealloc_copy(struct copy_args *c, unsigned long addr)
{
	if (c->src->vm_flags & VM_HUGETLB)
		c->prealloc = alloc_huge_page(c->dst, addr, false);
	else
		c->prealloc = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
	return c->prealloc ? 0 : -ENOMEM;
}

/* What a huge leaf of src_vma at addr needs in the child: the table that holds its entry
 * (a PMD table; a PUD table for a 1 GiB hugetlb page) and, for a THP, a PTE table to deposit.
 * No lock held. 0 or -ENOMEM. */
static int prealloc_leaf_tables(struct copy_args *c, unsigned long addr)
{
	struct mm_struct *dst_mm = c->dst->vm_mm;

	if (c->src->vm_flags & VM_HUGETLB)
		return huge_pte_offset(c->dst, addr, true) ? 0 : -ENOMEM;
	if (!pmd_alloc(dst_mm, addr))
		return -ENOMEM;
	if (!c->deposit)
		c->deposit = pgtable_alloc(dst_mm);
	return c->deposit ? 0 : -ENOMEM;
}

/* Open or close the window of mm->write_protect_seq (odd while open). fork holds the mmap lock
 * for write, so there is one writer; the full fence orders the bump before fork's reads of the
 * pin counts, against GUP-fast's grab before its second read of the sequence. Out of line:
 * GCC's ThreadSanitizer build refuses a fence that is inlined. */
static __attribute__((noinline)) void write_protect_seq_bump(struct mm_struct *mm)
{
	atomic_fetch_add(&mm->write_protect_seq, 1);
	atomic_thread_fence(memory_order_seq_cst);
}

int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	static const struct mm_walk_ops ops = {
		.pud_leaf = copy_pud, .pmd_leaf = copy_pmd, .pte_entry = copy_pte};
	struct copy_args c = {.dst = dst_vma, .src = src_vma};
	unsigned long addr = src_vma->vm_start;
	bool cow = is_cow_mapping(src_vma->vm_flags) && rule_gup_fast_backs_off_from_fork();
	int ret;

	if (!(src_vma->vm_flags & (VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP)) && !src_vma->anon_vma)
		return 0;
	if (cow)
		write_protect_seq_bump(src_vma->vm_mm);
	for (;;) {
		ret = walk_page_range(src_vma, addr, src_vma->vm_end, &ops, &c);
		if (ret != -EAGAIN)
			break;
		/* An entry needs a copy: allocate without the page-table locks and go on from
		 * it. Each pass consumes its page, so the walk moves on. */
		addr = c.need_addr;
		if (c.need_pte_table) {
			pmd_t *dst_pmd = pmd_alloc(dst_vma->vm_mm, addr);

			c.need_pte_table = false;
			race_point("fork:copy_needs_table");
			ret = dst_pmd && pte_alloc(dst_vma->vm_mm, dst_pmd, addr) ? 0 : -ENOMEM;
		} else if (c.need_leaf_table) {
			c.need_leaf_table = false;
			race_point("fork:copy_needs_table");
			ret = prealloc_leaf_tables(&c, addr);
		} else {
			race_point("fork:copy_needs_page");
			ret = prealloc_copy(&c, addr);
		}
		if (ret)
			break;
	}
	if (c.prealloc)
		put_page(c.prealloc); /* a pool page goes back to its pool */
	if (c.deposit)
		pgtable_free(dst_vma->vm_mm, c.deposit);
	if (cow)
		write_protect_seq_bump(src_vma->vm_mm);
	return ret;
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
	/* Rlimits and capabilities are the process's: the child inherits them; what the parent
	 * has charged stays the parent's (Linux's dup_mm() zeroes locked_vm and pinned_vm). */
	atomic_store_explicit(&mm->memlock_limit,
			      atomic_load_explicit(&oldmm->memlock_limit, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&mm->cap_ipc_lock,
			      atomic_load_explicit(&oldmm->cap_ipc_lock, memory_order_relaxed),
			      memory_order_relaxed);
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
