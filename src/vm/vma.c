/* SPDX-License-Identifier: MIT */
/*
 * The VMA set of an mm (a sorted array: find_vma() is a binary search, insertion a memmove)
 * and the VMA operations munmap, mprotect and madvise are made of: splitting at an address,
 * merging with compatible neighbours, linking into the reverse map.
 *
 * All of it runs under the mmap lock held for write. A split that cuts a PMD-mapped THP splits
 * the PMD mapping first, as Linux's vma_adjust_trans_huge() does, so that no huge leaf ever
 * straddles two VMAs.
 *
 * The rule that is easy to break: the mmap lock is not enough. Reverse-map walks (writeback's
 * page_mkclean, try_to_unmap) read vm_start / vm_end / vm_pgoff / vm_flags under the file's
 * i_mmap_rwsem or the anon_vma's lock alone, so every change of them holds those for write
 * (vma_rmap_lock()), and a split or merge relinks the halves inside the same critical section.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lib/internal.h"

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = kzalloc(sizeof(*vma));

	if (!vma)
		return NULL;
	vma->vm_mm = mm;
	CDS_INIT_LIST_HEAD(&vma->anon_vma_node);
	CDS_INIT_LIST_HEAD(&vma->shared);
	return vma;
}

/* A copy of orig's description, not linked anywhere. The list nodes are not copied: other
 * VMAs of the same anon_vma or file rewrite them under their locks at any time. */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *vma = vm_area_alloc(orig->vm_mm);

	if (!vma)
		return NULL;
	vma->vm_start = orig->vm_start;
	vma->vm_end = orig->vm_end;
	vma->vm_flags = orig->vm_flags;
	vma->vm_pgoff = orig->vm_pgoff;
	vma->vm_huge_shift = orig->vm_huge_shift;
	vma->vm_ops = orig->vm_ops;
	vma->anon_vma = orig->anon_vma;
	vma->vm_file = orig->vm_file ? get_file(orig->vm_file) : NULL;
	atomic_init(&vma->vm_private_data, atomic_load(&orig->vm_private_data));
	if (vma->vm_flags & VM_HUGETLB)
		hugetlb_vm_op_open(vma);
	return vma;
}

/* Linux's remove_vma(): the VMA's close (a hugetlb VMA returns its unused reservations), then
 * the VMA goes. */
void vm_area_free(struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_HUGETLB) {
		hugetlb_vm_op_close(vma);
		reset_vma_resv_huge_pages(vma);
	}
	if (vma->vm_file)
		fput(vma->vm_file);
	free(vma);
}

static unsigned long vma_index(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->vm_start < vma->vm_start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vma_insert(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long i;

	if (mm->nr_vmas == mm->vmas_cap) {
		unsigned long cap = mm->vmas_cap ? mm->vmas_cap * 2 : 16;
		struct vm_area_struct **v = krealloc(mm->vmas, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		mm->vmas = v;
		mm->vmas_cap = cap;
	}
	i = vma_index(mm, vma);
	memmove(&mm->vmas[i + 1], &mm->vmas[i], (mm->nr_vmas - i) * sizeof(mm->vmas[0]));
	mm->vmas[i] = vma;
	mm->nr_vmas++;
	return 0;
}

void vma_remove(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long i = vma_index(mm, vma);

	BUG_ON(i >= mm->nr_vmas || mm->vmas[i] != vma);
	memmove(&mm->vmas[i], &mm->vmas[i + 1], (mm->nr_vmas - i - 1) * sizeof(mm->vmas[0]));
	mm->nr_vmas--;
}

/*
 * The locks of Linux's vma_prepare() / vma_complete(): a change of a VMA's bounds, offset or
 * flags holds its file's i_mmap_rwsem and its anon_vma's lock for write (in that order), so that
 * a reverse-map walk (page_mkclean, try_to_unmap: vma_address() under the read side) sees the
 * VMA before or after the change, never half-way. The mmap lock is held for write as well.
 */
void vma_rmap_lock(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		pthread_rwlock_wrlock(&vma->vm_file->f_mapping->i_mmap_rwsem);
	if (vma->anon_vma)
		pthread_rwlock_wrlock(&vma->anon_vma->lock);
}

void vma_rmap_unlock(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		pthread_rwlock_unlock(&vma->anon_vma->lock);
	if (vma->vm_file)
		pthread_rwlock_unlock(&vma->vm_file->f_mapping->i_mmap_rwsem);
}

void vma_set_flags(struct vm_area_struct *vma, unsigned long vm_flags)
{
	vma_rmap_lock(vma);
	vma->vm_flags = vm_flags;
	vma_rmap_unlock(vma);
}

/* Link a new VMA whose file and anon_vma are those of the VMA locked by vma_rmap_lock(). */
static void __vma_link_rmap(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		cds_list_add(&vma->shared, &vma->vm_file->f_mapping->i_mmap);
	if (vma->anon_vma)
		__anon_vma_link(vma, vma->anon_vma);
}

void vma_link_rmap(struct vm_area_struct *vma)
{
	if (vma->vm_file) {
		struct address_space *mapping = vma->vm_file->f_mapping;

		pthread_rwlock_wrlock(&mapping->i_mmap_rwsem);
		cds_list_add(&vma->shared, &mapping->i_mmap);
		pthread_rwlock_unlock(&mapping->i_mmap_rwsem);
	}
	if (vma->anon_vma)
		anon_vma_link(vma, vma->anon_vma);
}

void vma_unlink_rmap(struct vm_area_struct *vma)
{
	if (vma->vm_file) {
		struct address_space *mapping = vma->vm_file->f_mapping;

		pthread_rwlock_wrlock(&mapping->i_mmap_rwsem);
		cds_list_del(&vma->shared);
		pthread_rwlock_unlock(&mapping->i_mmap_rwsem);
	}
	if (vma->anon_vma)
		anon_vma_unlink(vma);
}

struct vm_area_struct *split_vma(struct mm_struct *mm, struct vm_area_struct *vma,
				 unsigned long addr)
{
	struct vm_area_struct *new;

	/* hugetlb_vm_op_split(): a hugetlb VMA is only cut at its page size. */
	if ((vma->vm_flags & VM_HUGETLB) && (addr & ((1UL << vma->vm_huge_shift) - 1)))
		return ERR_PTR(-EINVAL);
	if (addr & ~PMD_MASK)
		split_huge_pmd_address(vma, addr);
	new = vm_area_dup(vma);
	if (!new)
		return ERR_PTR(-ENOMEM);
	new->vm_start = addr;
	new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
	if (vma_insert(mm, new)) {
		/* The reservations of the range are still vma's: only drop new's share. */
		if (new->vm_flags & VM_HUGETLB)
			reset_vma_resv_huge_pages(new);
		vm_area_free(new);
		return ERR_PTR(-ENOMEM);
	}
	/* Both halves are in the array while vm_end changes; the order by vm_start holds. A
	 * reverse-map walk sees either the whole VMA or both halves, never a hole. */
	vma_rmap_lock(vma);
	vma->vm_end = addr;
	race_point("vma:split_adjusted");
	__vma_link_rmap(new);
	vma_rmap_unlock(vma);
	return new;
}

static bool can_merge(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
	/* As Linux's is_mergeable_anon_vma(): a VMA with no anon_vma yet merges with any. */
	bool anon_ok = a->anon_vma == b->anon_vma || !a->anon_vma || !b->anon_vma;

	/* Linux's VM_SPECIAL mappings never merge (a hugetlb VMA is VM_DONTEXPAND). */
	if (a->vm_flags & (VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP))
		return false;
	return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags &&
	       a->vm_file == b->vm_file && a->vm_ops == b->vm_ops && anon_ok &&
	       a->vm_huge_shift == b->vm_huge_shift &&
	       a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) == b->vm_pgoff;
}

/* Fold b into a (a precedes b). b leaves the reverse map and a grows over its range in one
 * step under the rmap locks, so a walk never finds b's pages unmapped by any VMA. */
static void merge_into(struct mm_struct *mm, struct vm_area_struct *a, struct vm_area_struct *b)
{
	struct anon_vma *av = b->anon_vma;

	/* b's pages point at b's anon_vma: the merged VMA must be reachable from it. */
	if (!a->anon_vma && av)
		anon_vma_link(a, av);
	vma_remove(mm, b);
	vma_rmap_lock(a);
	if (b->vm_file)
		cds_list_del(&b->shared);
	if (av)
		__anon_vma_unlink(b);
	a->vm_end = b->vm_end;
	vma_rmap_unlock(a);
	if (av)
		page_put_anon_vma(av);
	vm_area_free(b);
}

void vma_try_merge(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long i = vma_index(mm, vma);

	if (i + 1 < mm->nr_vmas && can_merge(vma, mm->vmas[i + 1]))
		merge_into(mm, vma, mm->vmas[i + 1]);
	if (i > 0 && can_merge(mm->vmas[i - 1], vma))
		merge_into(mm, mm->vmas[i - 1], vma);
}

bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return !vma->vm_ops;
}

bool vma_wants_writenotify(const struct vm_area_struct *vma)
{
	return (vma->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE) &&
	       vma->vm_ops && vma->vm_ops->page_mkwrite;
}

pgprot_t vm_get_page_prot(const struct vm_area_struct *vma)
{
	unsigned long f = vma->vm_flags;
	unsigned long prot;

	if (!(f & VM_ACCESS_FLAGS))
		return (pgprot_t){_PAGE_PROTNONE | _PAGE_ACCESSED};
	prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
	/* Private mappings start read-only (writes COW); shared ones that need dirty tracking
	 * too (the first write goes through page_mkwrite). */
	if ((f & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE) && !vma_wants_writenotify(vma))
		prot |= _PAGE_RW;
	return (pgprot_t){prot};
}
