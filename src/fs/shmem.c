/* SPDX-License-Identifier: MIT */
/*
 * shmem: memory-only files (tmpfs, memfd, MAP_SHARED | MAP_ANONYMOUS in Linux). Their pages
 * live in the page cache and nowhere else: they start as zeroes, writeback skips them, and
 * truncation is the only way their data goes.
 *
 * The rule that is easy to break: there is no page_mkwrite. A shared writable mapping maps a
 * shmem page writable at once (Linux has no dirty tracking for tmpfs), so PG_dirty on a shmem
 * page is never cleared by writeback and does not count in nr_dirty (see page-writeback.c).
 */
#include <errno.h>
#include <fcntl.h>

#include "internal.h"

static const struct vm_operations_struct shmem_vm_ops = {
	/* Nothing to read, so filemap_fault() never reports a major fault for shmem. */
	.fault = filemap_fault,
};

static int shmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	(void)file;
	vma->vm_ops = &shmem_vm_ops;
	return 0;
}

static const struct file_operations shmem_file_operations = {
	.mmap = shmem_mmap,
};

struct file *shmem_file_setup(const char *name, loff_t size, unsigned long flags)
{
	struct file *file;

	(void)flags;
	/* name only labels the file in Linux (/proc/pid/maps); it must still be given. */
	if (!name || size < 0)
		return ERR_PTR(-EINVAL);
	file = alloc_file(-1, size, O_RDWR, FMODE_READ | FMODE_WRITE, &shmem_file_operations);
	return file ? file : ERR_PTR(-ENOMEM);
}
