/* SPDX-License-Identifier: MIT */
/*
 * /proc-style views of the machine and of an mm, in the formats Linux users read (Linux's
 * fs/proc/task_mmu.c, fs/proc/meminfo.c, fs/proc/page.c; the binary files as
 * Documentation/admin-guide/mm/pagemap.rst describes them). The text views write to a stream
 * (fmemopen() or open_memstream() give a buffer); the binary ones fill an array of 64-bit
 * entries, as a read(2) of the file at the matching offset would.
 *
 * Where pinmm differs (docs/observability.md, "/proc views"):
 *   - smaps has two fields of pinmm's own, after THPeligible: Pinned (the part of the VMA's
 *     resident memory that page_maybe_dma_pinned() says is pinned) and LongtermPinned (of
 *     that, the pages whose head carries PG_longterm: a FOLL_LONGTERM pin was taken since the
 *     page last held no pin);
 *   - pinmm keeps no names for shmem files: a shared anonymous mapping and a memfd both show
 *     as "/dev/zero (deleted)"; a host file shows its host path (readlink of its descriptor);
 *   - pagemap shows page frame numbers to everyone (Linux needs CAP_SYS_ADMIN), and sets the
 *     soft-dirty bit (55) on every page of a VMA, as Linux does for a VMA nobody cleared
 *     (pinmm has no clear_refs);
 *   - kpageflags has pinmm's bits KPF_PINMM_PINNED and KPF_PINMM_LONGTERM in 43 and 44, which
 *     Linux leaves unused (between KPF_ARCH_3, 42, and page-types' own, from 47).
 *
 * Errors, for every call: -EINVAL for a NULL stream or array, -ENODEV when no machine is
 * booted, -ESRCH for a stale mm (after its last mmput()), -EIO when writing to the stream
 * failed. The mm views take the mm's mmap read lock; the calling thread need not use the mm.
 */
#ifndef PINMM_PROC_H
#define PINMM_PROC_H

#include <stdint.h>
#include <stdio.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* /proc/<pid>/maps: one line per VMA, "start-end perms offset major:minor inode   name".
 * 0 or an error above. */
int proc_pid_maps(struct mm_struct *mm, FILE *out);

/* /proc/<pid>/smaps: each VMA's maps line and its fields (Linux 5.7's, in its order, with
 * Pinned and LongtermPinned before VmFlags). 0 or an error above. */
int proc_pid_smaps(struct mm_struct *mm, FILE *out);

/* /proc/meminfo: the fields pinmm has counters for, in Linux's order and format
 * ("Name:    <n> kB"), then the hugetlb pools' lines. 0 or an error above. */
int proc_meminfo(FILE *out);

/* /proc/vmstat: pinmm_vmstat_print() (<pinmm/vmstat.h>). */
int proc_vmstat(FILE *out);

/* The bits of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PFRAME_MASK ((1ULL << 55) - 1) /* bits 0-54: the page frame number (present) */
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_MMAP_EXCLUSIVE (1ULL << 56) /* the page is mapped once (mapcount 1) */
#define PM_FILE (1ULL << 61)           /* a file page or a shared anonymous one */
#define PM_SWAP (1ULL << 62)           /* swapped: bits 0-4 type, 5-54 offset */
#define PM_PRESENT (1ULL << 63)

/*
 * /proc/<pid>/pagemap: the entries of the nr virtual pages from addr (page aligned) into
 * entries[0 .. nr). A page outside every VMA, or with nothing mapped, is 0. Returns nr, or
 * -EINVAL (entries NULL, addr not page aligned, the range past TASK_SIZE), or an error above.
 */
long proc_pid_pagemap(struct mm_struct *mm, unsigned long addr, unsigned long nr,
		      uint64_t *entries);

/* The KPF_* bits of /proc/kpageflags: Linux's numbers (include/uapi/linux/kernel-page-flags.h
 * and the kernel-hacking ones of include/linux/kernel-page-flags.h), and pinmm's two. */
enum {
	KPF_LOCKED = 0, KPF_ERROR = 1, KPF_REFERENCED = 2, KPF_UPTODATE = 3, KPF_DIRTY = 4,
	KPF_LRU = 5, KPF_ACTIVE = 6, KPF_SLAB = 7, KPF_WRITEBACK = 8, KPF_RECLAIM = 9,
	KPF_BUDDY = 10, KPF_MMAP = 11, KPF_ANON = 12, KPF_SWAPCACHE = 13, KPF_SWAPBACKED = 14,
	KPF_COMPOUND_HEAD = 15, KPF_COMPOUND_TAIL = 16, KPF_HUGE = 17, KPF_UNEVICTABLE = 18,
	KPF_HWPOISON = 19, KPF_NOPAGE = 20, KPF_KSM = 21, KPF_THP = 22, KPF_OFFLINE = 23,
	KPF_ZERO_PAGE = 24, KPF_IDLE = 25, KPF_PGTABLE = 26,
	KPF_RESERVED = 32, KPF_MLOCKED = 33, KPF_MAPPEDTODISK = 34, KPF_PRIVATE = 35,
	KPF_PRIVATE_2 = 36, KPF_OWNER_PRIVATE = 37, KPF_ARCH = 38, KPF_UNCACHED = 39,
	KPF_PINMM_PINNED = 43,   /* page_maybe_dma_pinned() */
	KPF_PINMM_LONGTERM = 44, /* pinned, and its head carries PG_longterm */
};

/*
 * /proc/kpagecount and /proc/kpageflags: for the nr frames from pfn, each one's mapcount
 * (page_mapcount(), 0 for free pages) or its KPF_* flags, into out[0 .. ). Frames at or past
 * max_pfn are not there (a read at the end of the file): the count returned stops before them.
 * Returns the number of entries written (0 from max_pfn on), or an error above.
 */
long proc_kpagecount(unsigned long pfn, unsigned long nr, uint64_t *out);
long proc_kpageflags(unsigned long pfn, unsigned long nr, uint64_t *out);

/* The KPF_* flags of one page (what proc_kpageflags() writes for its frame). */
uint64_t stable_page_flags(const struct page *page);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_PROC_H */
