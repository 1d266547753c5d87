/* SPDX-License-Identifier: MIT */
/*
 * DAX files: files whose contents are device memory (persistent memory in Linux), mapped
 * directly instead of through a page cache. This file only sets them up; the faults that map
 * their pfns live with the other fault handlers (src/vm/dax_fault.c).
 */
#include <errno.h>
#include <fcntl.h>

#include "internal.h"

/* Faults on DAX VMAs never reach vm_ops (handle_mm_fault() sends them to dax_fault()); the
 * ops only mark the VMA as a file mapping. */
static const struct vm_operations_struct dax_vm_ops;

static int dax_mmap(struct file *file, struct vm_area_struct *vma)
{
	(void)file;
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	vma->vm_ops = &dax_vm_ops;
	vma->vm_flags |= VM_MIXEDMAP | VM_HUGEPAGE;
	return 0;
}

static const struct file_operations dax_file_operations = {
	.mmap = dax_mmap,
};

struct file *dax_file_setup(unsigned long start_pfn, unsigned long nr_pages)
{
	struct file *file;

	if (!nr_pages || start_pfn < max_pfn || start_pfn >= device_end_pfn ||
	    nr_pages > device_end_pfn - start_pfn)
		return ERR_PTR(-EINVAL);
	for (unsigned long pfn = start_pfn; pfn < start_pfn + nr_pages;) {
		struct dev_pagemap *pgmap = get_dev_pagemap(pfn, NULL);

		if (!pgmap)
			return ERR_PTR(-EINVAL);
		pfn = pgmap->start_pfn + pgmap->nr_pages;
		put_dev_pagemap(pgmap);
	}
	file = alloc_file(-1, (loff_t)(nr_pages << PAGE_SHIFT), O_RDWR, FMODE_READ | FMODE_WRITE,
			  &dax_file_operations);
	if (!file)
		return ERR_PTR(-ENOMEM);
	file->f_mapping->dax_start_pfn = start_pfn;
	file->f_mapping->dax_nr_pages = nr_pages;
	return file;
}
