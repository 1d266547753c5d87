/* SPDX-License-Identifier: MIT */
/*
 * memfd_create(2) without file descriptors (Linux's mm/memfd.c): the checks of its flags and
 * name, then a shmem file of size 0 (shmem.c) that the caller sizes with vfs_truncate() and
 * maps. The file is the struct file itself: what Linux returns as a descriptor is here a
 * reference, dropped with fput().
 *
 * The rule that is easy to break: the checks come in Linux's order (flags, then the name), so
 * that a call bad in two ways fails as it would in Linux, and nothing is allocated before all
 * of them passed.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

/* Linux's limit: the name, shown as "memfd:<name>", fits in NAME_MAX. */
#define MFD_NAME_PREFIX_LEN (sizeof("memfd:") - 1)
#define MFD_NAME_MAX_LEN (NAME_MAX - MFD_NAME_PREFIX_LEN)
#define MFD_ALL_FLAGS (MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB)

struct file *memfd_file_create(const char *name, unsigned int flags)
{
	unsigned int known = MFD_ALL_FLAGS;

	/* A huge page size may be encoded in the flags only with MFD_HUGETLB. */
	if (flags & MFD_HUGETLB)
		known |= (unsigned int)MFD_HUGE_MASK << MFD_HUGE_SHIFT;
	if (flags & ~known)
		return ERR_PTR(-EINVAL);
	if (!name)
		return ERR_PTR(-EFAULT);
	if (strnlen(name, MFD_NAME_MAX_LEN + 1) > MFD_NAME_MAX_LEN)
		return ERR_PTR(-EINVAL);
	/* What Linux answers when it has no hugetlbfs (hugetlb_file_setup() is -ENOSYS): pinmm's
	 * hugetlb files (hugetlb_file_setup(), an address-space call) are made at their final
	 * size and cannot grow, while a memfd starts empty and is sized by ftruncate. */
	if (flags & MFD_HUGETLB)
		return ERR_PTR(-ENOSYS);
	/* MFD_CLOEXEC concerns a descriptor, MFD_ALLOW_SEALING later F_ADD_SEALS calls: pinmm
	 * has neither, so both are accepted and change nothing. */
	return shmem_file_setup(name, 0, VM_NORESERVE);
}
