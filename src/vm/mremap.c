/* SPDX-License-Identifier: MIT */
/*
 * mremap(2) on the current mm (Linux 5.7's mm/mremap.c): shrinking, growing in place, and
 * moving a mapping by moving its page-table entries, so that the pages themselves, with their
 * references, mapcounts, pins and dirty bits, appear at the new address. It uses mmap.c's
 * munmap and gap search, vma.c's VMA set and the page-table allocation of pgtable.c.
 *
 * The rule that is easy to break: the reverse map finds an anonymous page at
 * vm_start + (page->index - vm_pgoff), so a moved VMA keeps the old range's vm_pgoff (pages
 * are never re-indexed), and the entries move while the rmap locks (the file's i_mmap_rwsem,
 * the anon_vma's lock) are held for write: a walk sees each page either at its old address
 * or at its new one, never at neither. Everything that can fail (VMA memory, page tables)
 * happens before the first entry moves; moving itself cannot fail.
 */
#include <errno.h>

#include "internal.h"

#define KNOWN_MREMAP_FLAGS (MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)
#define PAGE_ALIGN(len) (((len) + PAGE_SIZE - 1) & PAGE_MASK)

/* One step of a move: up to the next PMD boundary of either address, within the range. A step
 * of PMD_SIZE starts on a PMD boundary at both ends (move_page_tables()'s extent). */
static unsigned long move_extent(unsigned long old, unsigned long new, unsigned long old_end)
{
	unsigned long ext = ((old + PMD_SIZE) & PMD_MASK) - old;
	unsigned long to_new_boundary = ((new + PMD_SIZE) & PMD_MASK) - new;

	if (ext > old_end - old)
		ext = old_end - old;
	return ext < to_new_boundary ? ext : to_new_boundary;
}

/*
 * The upper levels first, without the rmap locks: a PMD table for every destination step whose
 * source has anything mapped. pmd_alloc() takes mm->page_table_lock, which anon_vma_prepare()
 * holds around the anon_vma's lock: it must not be taken under that lock. 0 or -ENOMEM.
 */
static int prepare_pmds(struct mm_struct *mm, unsigned long old_addr, unsigned long new_addr,
			unsigned long len)
{
	unsigned long ext;

	for (unsigned long off = 0; off < len; off += ext) {
		unsigned long old = old_addr + off;
		pmd_t *old_pmd = pmd_lookup(mm, old);

		ext = move_extent(old, new_addr + off, old_addr + len);
		if (old_pmd && !pmd_none(pmdp_get(old_pmd)) && !pmd_alloc(mm, new_addr + off))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Then, with the rmap locks held (so that no reverse-map walk splits a THP of the range from
 * here on), make sure every entry of [old_addr, old_addr + len) has a place to go at new_addr:
 * the PMD entry for a PMD leaf that moves whole, a PTE table otherwise. A PMD leaf that cannot
 * move whole is split here (a DAX leaf is cleared: it refaults as PTEs). 0 or -ENOMEM (tables
 * already allocated stay; free_pgtables() takes them back).
 */
static int prepare_move(struct vm_area_struct *vma, unsigned long old_addr,
			unsigned long new_addr, unsigned long len)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long ext;

	for (unsigned long off = 0; off < len; off += ext) {
		unsigned long old = old_addr + off, new = new_addr + off;
		pmd_t *old_pmd = pmd_lookup(mm, old), *new_pmd;

		ext = move_extent(old, new, old_addr + len);
		if (!old_pmd || pmd_none(pmdp_get(old_pmd)))
			continue;
		new_pmd = pmd_lookup(mm, new); /* prepare_pmds() made it */
		if (pmd_leaf(pmdp_get(old_pmd))) {
			if (ext == PMD_SIZE && pmd_none(pmdp_get(new_pmd)))
				continue;
			split_huge_pmd_address(vma, old);
			if (pmd_none(pmdp_get(old_pmd)))
				continue;
		}
		if (!pte_alloc(mm, new_pmd, new))
			return -ENOMEM;
	}
	return 0;
}

/* Take both locks of a pair of tables (one lock when they are the same table). The mmap lock
 * held for write means no other thread ever holds two page-table locks of this mm. */
static void lock_pair(pthread_spinlock_t *a, pthread_spinlock_t *b)
{
	pthread_spin_lock(a);
	if (b != a)
		pthread_spin_lock(b);
}

static void unlock_pair(pthread_spinlock_t *a, pthread_spinlock_t *b)
{
	if (b != a)
		pthread_spin_unlock(b);
	pthread_spin_unlock(a);
}

/* move_huge_pmd(): the leaf and the PTE table deposited for its split go together. */
static void move_huge_pmd(pmd_t *old_pmd, pmd_t *new_pmd)
{
	pthread_spinlock_t *old_ptl = entry_ptl(old_pmd), *new_ptl = entry_ptl(new_pmd);
	pmd_t v;

	lock_pair(old_ptl, new_ptl);
	v = pmdp_get_and_clear(old_pmd);
	if (pmd_trans_huge(v))
		pgtable_trans_huge_deposit(new_pmd, pgtable_trans_huge_withdraw(old_pmd));
	set_pmd(new_pmd, v);
	unlock_pair(old_ptl, new_ptl);
}

/* move_ptes(): each entry as it is (migration entries too); nothing is counted again. */
static void move_ptes(pmd_t *old_pmd, unsigned long old, pmd_t *new_pmd, unsigned long new,
		      unsigned long ext)
{
	pte_t *old_pte = pte_offset(pmdp_get(old_pmd), old);
	pte_t *new_pte = pte_offset(pmdp_get(new_pmd), new);
	pthread_spinlock_t *old_ptl = entry_ptl(old_pte), *new_ptl = entry_ptl(new_pte);

	lock_pair(old_ptl, new_ptl);
	for (unsigned long i = 0; i < ext >> PAGE_SHIFT; i++) {
		pte_t v = ptep_get_and_clear(&old_pte[i]);

		if (!pte_none(v))
			set_pte(&new_pte[i], v);
	}
	unlock_pair(old_ptl, new_ptl);
}

/* Move what prepare_move() prepared. Cannot fail. rmap locks held. */
static void move_page_tables(struct vm_area_struct *vma, unsigned long old_addr,
			     unsigned long new_addr, unsigned long len)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long ext;

	for (unsigned long off = 0; off < len; off += ext) {
		unsigned long old = old_addr + off, new = new_addr + off;
		pmd_t *old_pmd = pmd_lookup(mm, old), *new_pmd;

		ext = move_extent(old, new, old_addr + len);
		if (!old_pmd || pmd_none(pmdp_get(old_pmd)))
			continue;
		new_pmd = pmd_lookup(mm, new);
		if (pmd_leaf(pmdp_get(old_pmd)))
			move_huge_pmd(old_pmd, new_pmd);
		else
			move_ptes(old_pmd, old, new_pmd, new, ext);
	}
}

/*
 * move_vma(): a new VMA for [new_addr, new_addr + new_len) (a free range) takes over the
 * entries of [old_addr, old_addr + old_len) (inside vma); the old range is then unmapped, or
 * with MREMAP_DONTUNMAP left in place, empty. Returns new_addr or a negative errno.
 */
static long move_vma(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long old_addr,
		     unsigned long old_len, unsigned long new_len, unsigned long new_addr,
		     unsigned long flags)
{
	bool unmap_old = old_len && !(flags & MREMAP_DONTUNMAP);
	struct vm_area_struct *new;
	int ret;

	/* The old range becomes one VMA first, so that taking it away later cannot fail. */
	if (unmap_old) {
		ret = split_edges(mm, old_addr, old_addr + old_len);
		vma = vma_lookup(mm, old_addr);
		if (ret)
			goto undo_split;
	}
	new = vm_area_dup(vma);
	if (!new) {
		ret = -ENOMEM;
		goto undo_split;
	}
	new->vm_start = new_addr;
	new->vm_end = new_addr + new_len;
	new->vm_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	/* No anonymous page was ever indexed in it: index the new VMA by its own address. */
	if (vma_is_anonymous(vma) && !vma->anon_vma)
		new->vm_pgoff = new_addr >> PAGE_SHIFT;
	if (vma_insert(mm, new)) {
		vm_area_free(new);
		ret = -ENOMEM;
		goto undo_split;
	}
	vma_link_rmap(new);
	race_point("mremap:vma_linked");

	ret = prepare_pmds(mm, old_addr, new_addr, old_len);
	if (!ret) {
		vma_rmap_lock(vma);
		ret = prepare_move(vma, old_addr, new_addr, old_len);
		if (!ret)
			move_page_tables(vma, old_addr, new_addr, old_len);
		vma_rmap_unlock(vma);
	}
	if (ret) {
		vma_remove(mm, new);
		vma_unlink_rmap(new);
		vm_area_free(new);
		free_pgtables(mm, new_addr, new_addr + new_len);
		goto undo_split;
	}

	if (unmap_old) {
		/* Empty now: nothing to zap, only the VMA and its tables to free. */
		vma_remove(mm, vma);
		vma_unlink_rmap(vma);
		vm_area_free(vma);
		free_pgtables(mm, old_addr, old_addr + old_len);
	}
	vma_try_merge(mm, new);
	return (long)new_addr;

undo_split:
	/* Splitting the old range's edges changed nothing visible; merge the pieces back. */
	vma_try_merge(mm, vma);
	return ret;
}

/* vma_expandable(): the delta bytes after vma are free and in the user address space. */
static bool vma_expandable(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long delta)
{
	unsigned long end = vma->vm_end + delta;
	struct vm_area_struct *next;

	if (end < vma->vm_end || end > TASK_SIZE)
		return false;
	next = find_vma(mm, vma->vm_end);
	return !next || next->vm_start >= end;
}

/* vma_to_resize(): may [addr, addr + len) of vma become new_len bytes (grow or move)? */
static int check_resize(struct vm_area_struct *vma, unsigned long addr, unsigned long len,
			unsigned long new_len, unsigned long flags)
{
	pgoff_t pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);

	if (!len && !(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL; /* "duplicating" a private mapping makes no sense */
	if (vma->vm_flags & VM_HUGETLB)
		return -EINVAL;
	if (len > vma->vm_end - addr)
		return -EFAULT;
	if ((flags & MREMAP_DONTUNMAP) && (!vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED)))
		return -EINVAL;
	if (new_len == len)
		return 0;
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		return -EINVAL;
	if (new_len > len && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
		return -EFAULT;
	return 0;
}

/* mremap_to(): MREMAP_FIXED and/or MREMAP_DONTUNMAP. new_addr was checked (FIXED). */
static long mremap_to(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long addr,
		      unsigned long old_len, unsigned long new_len, unsigned long flags,
		      unsigned long new_addr)
{
	unsigned long len = old_len < new_len ? old_len : new_len;
	int ret = check_resize(vma, addr, len, new_len, flags);

	if (ret)
		return ret;
	if (flags & MREMAP_FIXED) {
		/* What would stop the destination's unmapping is found before anything goes. */
		ret = check_huge_edges(mm, new_addr, new_addr + new_len);
		if (!ret && old_len > new_len)
			ret = check_huge_edges(mm, addr + new_len, addr + old_len);
		if (ret)
			return ret;
		ret = do_munmap(mm, new_addr, new_addr + new_len);
	} else {
		new_addr = find_gap(mm, new_len, PAGE_SIZE);
		ret = new_addr ? 0 : -ENOMEM;
	}
	if (!ret && old_len > new_len)
		ret = do_munmap(mm, addr + new_len, addr + old_len);
	if (ret)
		return ret;
	/* The unmappings may have split the VMA (the destination was part of it, say). */
	vma = vma_lookup(mm, addr);
	return move_vma(mm, vma, addr, len, new_len, new_addr, flags);
}

static long mremap_locked(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
			  unsigned long new_len, unsigned long flags, unsigned long new_addr)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	int ret;

	if (!vma)
		return -EFAULT;
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))
		return mremap_to(mm, vma, addr, old_len, new_len, flags, new_addr);
	if (new_len <= old_len) {
		/* Shrinking is munmap of the tail (across VMAs, as munmap). */
		ret = new_len < old_len ? do_munmap(mm, addr + new_len, addr + old_len) : 0;
		return ret ? ret : (long)addr;
	}
	ret = check_resize(vma, addr, old_len, new_len, flags);
	if (ret)
		return ret;
	if (old_len == vma->vm_end - addr && vma_expandable(mm, vma, new_len - old_len)) {
		vma_rmap_lock(vma);
		vma->vm_end = addr + new_len;
		vma_rmap_unlock(vma);
		vma_try_merge(mm, vma);
		return (long)addr;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	new_addr = find_gap(mm, new_len, PAGE_SIZE);
	if (!new_addr)
		return -ENOMEM;
	return move_vma(mm, vma, addr, old_len, new_len, new_addr, flags);
}

unsigned long vm_mremap(unsigned long addr, unsigned long old_len, unsigned long new_len,
			unsigned long flags, unsigned long new_addr)
{
	struct mm_struct *mm = current_mm();
	long ret;

	if (!mm)
		return (unsigned long)-ESRCH;
	if ((flags & ~KNOWN_MREMAP_FLAGS) || ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
		return (unsigned long)-EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len))
		return (unsigned long)-EINVAL;
	if ((addr & ~PAGE_MASK) || !new_len)
		return (unsigned long)-EINVAL;
	/* Lengths past the user address space cannot be mapped: the old one is "not mapped",
	 * the new one has no room (or, with MREMAP_FIXED, is invalid, below). */
	if (old_len > TASK_SIZE || addr >= TASK_SIZE || old_len > TASK_SIZE - addr)
		return (unsigned long)-EFAULT;
	if (new_len > TASK_SIZE)
		return (unsigned long)((flags & MREMAP_FIXED) ? -EINVAL : -ENOMEM);
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	if (flags & MREMAP_FIXED) {
		if ((new_addr & ~PAGE_MASK) || new_addr > TASK_SIZE - new_len)
			return (unsigned long)-EINVAL;
		if (addr + old_len > new_addr && new_addr + new_len > addr)
			return (unsigned long)-EINVAL;
		if (new_addr < MMAP_MIN_ADDR)
			return (unsigned long)-EPERM;
	}
	mmap_write_lock(mm);
	ret = mremap_locked(mm, addr, old_len, new_len, flags, new_addr);
	mmap_write_unlock(mm);
	return (unsigned long)ret;
}
