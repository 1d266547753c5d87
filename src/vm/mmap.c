/* SPDX-License-Identifier: MIT */
/*
 * The mmap family on the current mm: vm_mmap, vm_munmap, vm_mprotect and do_madvise.
 *
 * Each call validates everything before it changes anything, so an error leaves the address
 * space as it was (Linux's mprotect and madvise may stop half-way; pinmm checks the whole range
 * first). VMA edges are split as Linux splits them and merged back where they can be.
 */
#include <errno.h>

#include "internal.h"

#define MAP_TYPE_MASK 0x0f
#define KNOWN_MAP_FLAGS                                                                            \
	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE |       \
	 MAP_NORESERVE | ((unsigned long)MAP_HUGE_MASK << MAP_HUGE_SHIFT))

#define KNOWN_PROT (PROT_READ | PROT_WRITE | PROT_EXEC)

static unsigned long calc_vm_prot_bits(unsigned long prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0);
}

/* The highest gap of len bytes (aligned to align) below TASK_SIZE, or 0. Top-down, as Linux's
 * default mmap layout. */
unsigned long find_gap(struct mm_struct *mm, unsigned long len, unsigned long align)
{
	unsigned long top = TASK_SIZE;

	for (unsigned long i = mm->nr_vmas + 1; i-- > 0;) {
		unsigned long bottom = i ? mm->vmas[i - 1]->vm_end : MMAP_MIN_ADDR;
		unsigned long cand;

		if (top >= bottom + len) {
			cand = (top - len) & ~(align - 1);
			if (cand >= bottom)
				return cand;
		}
		if (i)
			top = mm->vmas[i - 1]->vm_start;
	}
	return 0;
}

static bool range_free(struct mm_struct *mm, unsigned long addr, unsigned long len)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return !vma || vma->vm_start >= addr + len;
}

/* Check that no hugetlb VMA in [start, end) would be cut at an address not aligned to its
 * page size. */
int check_huge_edges(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
	     v = find_vma(mm, v->vm_end)) {
		unsigned long mask = (1UL << v->vm_huge_shift) - 1;

		if (!(v->vm_flags & VM_HUGETLB))
			continue;
		if ((start > v->vm_start && (start & mask)) || (end < v->vm_end && (end & mask)))
			return -EINVAL;
	}
	return 0;
}

/* Split VMAs so that [start, end) begins and ends on VMA boundaries. Callers check the
 * hugetlb edges first (check_huge_edges()), so that only a lack of memory stops half-way. */
int split_edges(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma = find_vma(mm, start), *new;

	if (vma && vma->vm_start < start && vma->vm_end > start) {
		new = split_vma(mm, vma, start);
		if (IS_ERR(new))
			return (int)PTR_ERR(new);
	}
	vma = find_vma(mm, end - 1);
	if (vma && vma->vm_start < end && vma->vm_end > end) {
		new = split_vma(mm, vma, end);
		if (IS_ERR(new))
			return (int)PTR_ERR(new);
	}
	return 0;
}

int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;
	int ret = check_huge_edges(mm, start, end);

	if (ret)
		return ret;
	ret = split_edges(mm, start, end);
	if (ret)
		return ret;
	while ((vma = find_vma(mm, start)) && vma->vm_start < end) {
		zap_page_range(vma, vma->vm_start, vma->vm_end);
		vma_remove(mm, vma);
		vma_unlink_rmap(vma);
		vm_area_free(vma);
	}
	free_pgtables(mm, start, end);
	return 0;
}

static int mmap_check_file(struct file *file, unsigned long prot, unsigned long flags)
{
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	if ((flags & MAP_TYPE_MASK) == MAP_SHARED && (prot & PROT_WRITE) &&
	    !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	return 0;
}

static unsigned long huge_shift_of(unsigned long flags)
{
	unsigned long shift = (flags >> MAP_HUGE_SHIFT) & (unsigned long)MAP_HUGE_MASK;

	return shift ? shift : PMD_SHIFT;
}

static unsigned long mmap_vm_flags(struct file *file, unsigned long prot, unsigned long flags)
{
	unsigned long vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

	if ((flags & MAP_TYPE_MASK) == MAP_SHARED) {
		vm_flags |= VM_SHARED | VM_MAYSHARE;
		/* A shared mapping of a file not open for writing can never be written. */
		if (file && !(file->f_mode & FMODE_WRITE))
			vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
	}
	if (flags & MAP_HUGETLB)
		vm_flags |= VM_HUGETLB | VM_DONTEXPAND;
	if (flags & MAP_NORESERVE)
		vm_flags |= VM_NORESERVE;
	return vm_flags;
}

/* Build and insert the VMA for a validated request. Returns 0 or a negative errno. */
static int mmap_region(struct mm_struct *mm, struct file *file, unsigned long addr,
		       unsigned long len, unsigned long vm_flags, unsigned long pgoff,
		       unsigned int huge_shift)
{
	struct vm_area_struct *vma = vm_area_alloc(mm);
	int ret;

	if (!vma)
		return -ENOMEM;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->vm_huge_shift = huge_shift;
	vma->vm_pgoff = file ? pgoff : addr >> PAGE_SHIFT;
	if (!file && (vm_flags & VM_MAYSHARE)) {
		/* Shared anonymous memory is a shmem file, so that fork shares it; shared
		 * anonymous hugetlb memory a hugetlb file (5.7's ksys_mmap_pgoff()). */
		if (vm_flags & VM_HUGETLB)
			file = hugetlb_file_setup("anon_hugepage", len, vm_flags & VM_NORESERVE,
						  (int)huge_shift);
		else
			file = shmem_file_setup("dev/zero", (loff_t)len, VM_NORESERVE);
		if (IS_ERR(file)) {
			vm_area_free(vma);
			return (int)PTR_ERR(file);
		}
		vma->vm_pgoff = 0;
		vma->vm_file = file;
	} else if (file) {
		vma->vm_file = get_file(file);
	}
	if (vma->vm_file) {
		ret = vma->vm_file->f_op->mmap(vma->vm_file, vma);
		if (ret) {
			vm_area_free(vma);
			return ret;
		}
	} else if (vm_flags & VM_HUGETLB) {
		ret = hugetlb_reserve_pages(vma);
		if (ret) {
			vm_area_free(vma);
			return ret;
		}
	}
	if (vma_insert(mm, vma)) {
		vm_area_free(vma);
		return -ENOMEM;
	}
	vma_link_rmap(vma);
	vma_try_merge(mm, vma);
	return 0;
}

/* Fault every page of [start, end) in, as MAP_POPULATE / MADV_POPULATE_* do. Read lock held. */
static int populate_range(struct mm_struct *mm, unsigned long start, unsigned long end,
			  bool write)
{
	for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
		int ret = fixup_user_fault(mm, addr, write ? FAULT_FLAG_WRITE : 0);

		if (ret)
			return ret;
	}
	return 0;
}

unsigned long vm_mmap(struct file *file, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, unsigned long pgoff)
{
	struct mm_struct *mm = current_mm();
	unsigned long type = flags & MAP_TYPE_MASK, align = PAGE_SIZE, vm_flags;
	unsigned int huge_shift = 0;
	int ret;

	if (!mm)
		return (unsigned long)-ESRCH;
	if (flags & MAP_ANONYMOUS)
		file = NULL;
	else if (!file)
		return (unsigned long)-EBADF;
	/* A stale file is refused before anything reads it (Linux's fd lookup comes first). */
	ret = file ? file_check(file) : 0;
	if (ret)
		return (unsigned long)ret;
	if (!len || (prot & ~KNOWN_PROT) || (flags & ~KNOWN_MAP_FLAGS) ||
	    (type != MAP_SHARED && type != MAP_PRIVATE))
		return (unsigned long)-EINVAL;
	if (file && is_file_hugepages(file)) {
		/* A hugetlb file: its page size, whatever MAP_HUGE_* says (as Linux). */
		huge_shift = file->f_mapping->huge_shift;
		align = 1UL << huge_shift;
	} else if (flags & MAP_HUGETLB) {
		huge_shift = (unsigned int)huge_shift_of(flags);
		if (file || !size_to_hstate(1UL << huge_shift))
			return (unsigned long)-EINVAL;
		align = 1UL << huge_shift;
	}
	if (len > TASK_SIZE - MMAP_MIN_ADDR)
		return (unsigned long)-ENOMEM;
	len = (len + align - 1) & ~(align - 1);
	if (file) {
		ret = mmap_check_file(file, prot, flags);
		if (ret)
			return (unsigned long)ret;
		if (pgoff + (len >> PAGE_SHIFT) < pgoff)
			return (unsigned long)-EOVERFLOW;
	}
	if (flags & MAP_FIXED) {
		if (addr & (align - 1))
			return (unsigned long)-EINVAL;
		if (addr < MMAP_MIN_ADDR)
			return (unsigned long)-EPERM;
		if (addr > TASK_SIZE || len > TASK_SIZE - addr)
			return (unsigned long)-ENOMEM;
	}
	vm_flags = mmap_vm_flags(file, prot, flags);

	mmap_write_lock(mm);
	if (flags & MAP_FIXED) {
		/* 5.7's mmap_region(): whatever stops the old mappings from going (a hugetlb VMA
		 * that may not be split there) fails the mmap with -ENOMEM. */
		ret = do_munmap(mm, addr, addr + len) ? -ENOMEM : 0;
	} else {
		addr &= ~(align - 1);
		if (addr < MMAP_MIN_ADDR || addr > TASK_SIZE - len || !range_free(mm, addr, len))
			addr = find_gap(mm, len, align);
		ret = addr ? 0 : -ENOMEM;
	}
	if (!ret)
		ret = mmap_region(mm, file, addr, len, vm_flags, pgoff, huge_shift);
	mmap_write_unlock(mm);
	if (ret)
		return (unsigned long)ret;
	if (flags & MAP_POPULATE) {
		mmap_read_lock(mm);
		populate_range(mm, addr, addr + len,
			       (vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE);
		mmap_read_unlock(mm);
	}
	return addr;
}

/* Validate a user range; on success *end is its page-aligned end. */
static int check_range(unsigned long start, size_t len, unsigned long *end)
{
	if (start & ~PAGE_MASK)
		return -EINVAL;
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	*end = start + len;
	if (*end < start || *end > TASK_SIZE)
		return -EINVAL;
	return 0;
}

int vm_munmap(unsigned long start, size_t len)
{
	struct mm_struct *mm = current_mm();
	unsigned long end;
	int ret;

	if (!mm)
		return -ESRCH;
	ret = check_range(start, len, &end);
	if (ret || end == start)
		return ret ? ret : -EINVAL;
	mmap_write_lock(mm);
	ret = do_munmap(mm, start, end);
	mmap_write_unlock(mm);
	return ret;
}

/* -ENOMEM if [start, end) is not entirely covered by VMAs. */
static int check_covered(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	unsigned long at = start;

	for (struct vm_area_struct *v = find_vma(mm, start); at < end; v = find_vma(mm, at)) {
		if (!v || v->vm_start > at)
			return -ENOMEM;
		at = v->vm_end;
	}
	return 0;
}

/* Apply fn to every VMA of [start, end), split to fit, then try to merge each. */
static int apply_to_vmas(struct mm_struct *mm, unsigned long start, unsigned long end,
			 void (*fn)(struct vm_area_struct *vma, unsigned long arg), unsigned long arg)
{
	struct vm_area_struct *vma;
	unsigned long at = start;
	int ret = split_edges(mm, start, end);

	if (ret)
		return ret;
	while (at < end && (vma = find_vma(mm, at)) && vma->vm_start < end) {
		at = vma->vm_end;
		fn(vma, arg);
		vma_try_merge(mm, vma);
	}
	return 0;
}

static void mprotect_one(struct vm_area_struct *vma, unsigned long prot)
{
	vma_set_flags(vma, (vma->vm_flags & ~VM_ACCESS_FLAGS) | calc_vm_prot_bits(prot));
	change_protection(vma, vma->vm_start, vma->vm_end);
}

int vm_mprotect(unsigned long start, size_t len, unsigned long prot)
{
	struct mm_struct *mm = current_mm();
	unsigned long end;
	int ret;

	if (!mm)
		return -ESRCH;
	ret = check_range(start, len, &end);
	if (ret || (prot & ~KNOWN_PROT))
		return ret ? ret : -EINVAL;
	if (end == start)
		return 0;
	mmap_write_lock(mm);
	ret = check_covered(mm, start, end);
	if (!ret)
		ret = check_huge_edges(mm, start, end);
	for (struct vm_area_struct *v = find_vma(mm, start); !ret && v && v->vm_start < end;
	     v = find_vma(mm, v->vm_end))
		if ((prot & PROT_WRITE) && !(v->vm_flags & VM_MAYWRITE))
			ret = -EACCES;
	if (!ret)
		ret = apply_to_vmas(mm, start, end, mprotect_one, prot);
	mmap_write_unlock(mm);
	return ret;
}

static void madvise_flags_one(struct vm_area_struct *vma, unsigned long advice)
{
	unsigned long flags = vma->vm_flags;

	switch (advice) {
	case MADV_HUGEPAGE:
		flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
		break;
	case MADV_NOHUGEPAGE:
		flags = (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
		break;
	case MADV_DONTFORK:
		flags |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		flags &= ~VM_DONTCOPY;
		break;
	}
	vma_set_flags(vma, flags);
}

static int madvise_dontneed(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
	     v = find_vma(mm, v->vm_end))
		if (v->vm_flags & (VM_LOCKED | VM_HUGETLB | VM_PFNMAP))
			return -EINVAL;
	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
	     v = find_vma(mm, v->vm_end))
		zap_page_range(v, start > v->vm_start ? start : v->vm_start,
			       end < v->vm_end ? end : v->vm_end);
	return 0;
}

/* MADV_COLLAPSE: every VMA of the range must allow it before any block is collapsed; then
 * each VMA's part, stopping at the first VMA that fails (as Linux's madvise_walk_vmas()). The
 * collapse drops and retakes the mmap lock (read), so VMAs are looked up again by address; a
 * hole that appears meanwhile gives -ENOMEM at the end, as Linux's walk does. */
static int madvise_collapse_range(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	unsigned long at = start;
	int ret = 0, unmapped = 0;

	for (struct vm_area_struct *v = find_vma(mm, start); !ret && v && v->vm_start < end;
	     v = find_vma(mm, v->vm_end))
		ret = madvise_collapse_suitable(v);
	while (!ret && at < end) {
		struct vm_area_struct *v = find_vma(mm, at);
		unsigned long next;

		if (!v || v->vm_start >= end)
			break;
		if (v->vm_start > at)
			unmapped = -ENOMEM;
		next = end < v->vm_end ? end : v->vm_end;
		ret = madvise_collapse(mm, v, at > v->vm_start ? at : v->vm_start, next);
		at = next;
	}
	return ret ? ret : unmapped;
}

int do_madvise(struct mm_struct *mm, unsigned long start, size_t len, int advice)
{
	bool write_lock;
	unsigned long end;
	int ret;

	if (!mm)
		return -EINVAL;
	if (mm_check(mm))
		return -ESRCH;
	ret = check_range(start, len, &end);
	if (ret)
		return ret;
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_COLLAPSE:
	case MADV_COLD:
	case MADV_PAGEOUT:
		write_lock = false;
		break;
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
		write_lock = true;
		break;
	default:
		return -EINVAL;
	}
	if (end == start)
		return 0;
	if (write_lock)
		mmap_write_lock(mm);
	else
		mmap_read_lock(mm);
	ret = check_covered(mm, start, end);
	if (ret)
		goto out;
	if (advice == MADV_DONTNEED)
		ret = madvise_dontneed(mm, start, end);
	else if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
		ret = populate_range(mm, start, end, advice == MADV_POPULATE_WRITE);
	else if (advice == MADV_COLLAPSE)
		ret = madvise_collapse_range(mm, start, end);
	else if (advice == MADV_COLD || advice == MADV_PAGEOUT)
		ret = madvise_pageout(mm, start, end, advice == MADV_PAGEOUT);
	else {
		/* A hugetlb VMA is only split at its page size (Linux: -EINVAL from
		 * hugetlb_vm_op_split()); checked before anything changes. */
		ret = check_huge_edges(mm, start, end);
		if (!ret)
			ret = apply_to_vmas(mm, start, end, madvise_flags_one,
					    (unsigned long)advice);
	}
out:
	if (write_lock)
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	return ret;
}
