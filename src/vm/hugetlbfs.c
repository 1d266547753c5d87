/* SPDX-License-Identifier: MIT */
/*
 * hugetlb files (Linux's fs/hugetlbfs/inode.c and hugetlb_file_setup()): memory-only files
 * whose pages are hugetlb pool pages, indexed in huge pages in their page cache. Shared
 * hugetlb mappings map them: MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB makes one per mapping
 * (mmap.c), and hugetlb_file_setup() gives one to map as often as wanted, as memfd does. The
 * fault path (hugetlb_fault.c) asks this file's fault op for the page of an index; the
 * reservations of the file live in its struct resv_map (mapping->private_data), made at setup
 * and at each mmap, given back at the last fput().
 *
 * The file lives in the address-space layer, not in src/fs/, because its pages need a VMA's
 * reservations to be allocated (alloc_huge_page()); it uses the files layer's page cache from
 * above.
 *
 * The rule that is easy to break: an index of the resv_map is either reserved or present in
 * the page cache, never dropped while the file lives; what is left reserved at the end is
 * the map's count minus the pages freed, and nothing else may be given back.
 */
#include <errno.h>
#include <fcntl.h>

#include "internal.h"

static struct hstate *hstate_file(const struct file *file)
{
	return size_to_hstate(1UL << file->f_mapping->huge_shift);
}

/* The page of vmf->pgoff (in huge pages), from the cache or a new pool page added to it;
 * returned referenced (the mapping's reference), unlocked. Fault mutex held. */
static vm_fault_t hugetlbfs_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct hstate *h = hstate_file(vma->vm_file);
	struct page *page;
	int err;

	if ((loff_t)((vmf->pgoff + 1) << (h->order + PAGE_SHIFT)) > i_size_read(mapping))
		return VM_FAULT_SIGBUS;
	page = find_get_page(mapping, vmf->pgoff);
	if (page) {
		vmf->page = page;
		return 0;
	}
	page = alloc_huge_page(vma, vmf->address, false);
	if (!page)
		return VM_FAULT_SIGBUS;
	clear_huge_page(page, huge_page_size(h));
	err = add_to_page_cache(page, mapping, vmf->pgoff);
	if (err) {
		put_page(page); /* gives its reservation back */
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	}
	/* In the file now: its reservation is consumed for good (the map lists it as present). */
	ClearPagePrivate(page);
	SetPageUptodate(page);
	unlock_page(page);
	vmf->page = page; /* our reference from the pool; the cache took its own */
	return 0;
}

static const struct vm_operations_struct hugetlb_vm_ops = {
	.fault = hugetlbfs_fault,
};

/* hugetlbfs_file_mmap(): a huge-page-aligned offset, shared mappings only, and the range's
 * reservations (those the file has already are not taken twice). */
static int hugetlbfs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hstate *h = hstate_file(file);
	unsigned long huge_pages = 1UL << h->order;
	int ret;

	if ((vma->vm_pgoff & (huge_pages - 1)) || !(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	vma->vm_flags |= VM_HUGETLB | VM_DONTEXPAND;
	vma->vm_huge_shift = file->f_mapping->huge_shift;
	vma->vm_ops = &hugetlb_vm_ops;
	pthread_rwlock_wrlock(&file->f_mapping->i_rwsem);
	ret = hugetlb_reserve_pages(vma);
	pthread_rwlock_unlock(&file->f_mapping->i_rwsem);
	return ret;
}

/* The last fput(): drop the pages (each goes back to the pool with its last reference) and
 * the reservations nobody used. */
static void hugetlbfs_release(struct file *file)
{
	struct address_space *mapping = file->f_mapping;
	long freed = atomic_load(&mapping->nrpages);

	/* A file of a machine shut down has no pool to give back to (its cache went at
	 * shutdown); a later machine's pools are not its own. */
	if (file->machine_gen == machine_generation()) {
		truncate_inode_pages(mapping, 0);
		hugetlb_unreserve_file_pages(mapping->private_data, hstate_file(file), freed);
	}
	resv_map_put(mapping->private_data);
	mapping->private_data = NULL;
}

static const struct file_operations hugetlbfs_file_operations = {
	.mmap = hugetlbfs_file_mmap,
	.release = hugetlbfs_release,
};

struct file *hugetlb_file_setup(const char *name, size_t size, unsigned long vm_flags,
				int page_size_log)
{
	unsigned int shift = page_size_log ? (unsigned int)page_size_log : PMD_SHIFT;
	struct hstate *h;
	struct resv_map *map;
	struct file *file;
	long pages;

	if (!name || !size || (shift != PMD_SHIFT && shift != PUD_SHIFT))
		return ERR_PTR(-EINVAL);
	h = size_to_hstate(1UL << shift);
	if (!h)
		return ERR_PTR(-EINVAL);
	if (size > ((size_t)-1 >> 1) - huge_page_size(h))
		return ERR_PTR(-ENOMEM);
	size = (size + huge_page_size(h) - 1) & ~(huge_page_size(h) - 1);
	pages = (long)(size >> shift);
	map = resv_map_alloc();
	if (!map)
		return ERR_PTR(-ENOMEM);
	if (!(vm_flags & VM_NORESERVE) && hugetlb_reserve_file_pages(map, h, 0, pages)) {
		resv_map_put(map);
		return ERR_PTR(-ENOMEM);
	}
	file = alloc_file(-1, (loff_t)size, O_RDWR, FMODE_READ | FMODE_WRITE,
			  &hugetlbfs_file_operations);
	if (!file) {
		hugetlb_unreserve_file_pages(map, h, 0);
		resv_map_put(map);
		return ERR_PTR(-ENOMEM);
	}
	file->f_mapping->huge_shift = shift;
	file->f_mapping->private_data = map;
	return file;
}
