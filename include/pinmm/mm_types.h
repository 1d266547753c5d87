/* SPDX-License-Identifier: MIT */
/*
 * struct page: one 64-byte descriptor per 4 KiB frame of simulated RAM.
 *
 * The layout is x86-64 Linux 5.7's (include/linux/mm_types.h of v5.7), word for word, so that
 * offsets, dump_page() raw lines and Linux's compound-page rules mean the same thing here:
 *
 *   word 0      flags                      (PG_* bits, see page-flags.h)
 *   words 1-5   a union, by what the page is used for:
 *                 - page cache / anon / buddy: lru, mapping, index, private
 *                 - first tail page (page[1]): compound_head, compound_dtor, compound_order,
 *                   compound_mapcount, nr_pages_mapped, _pincount (modern rules only)
 *                 - second tail page (page[2]): compound_head, hpage_pinned_refcount,
 *                   deferred_list
 *                 - page-table page: pmd_huge_pte, pt_mm, ptl
 *   word 6      _mapcount (or page_type), _refcount
 *   word 7      mem_cgroup
 *
 * Bit 0 of the compound_head word is set on every tail page; the rest of the word points at
 * the head. All pin state lives on the head (its _refcount) and, for the exact pin count, in
 * a tail the rule set chooses: page[2].hpage_pinned_refcount for compound pages of order > 1
 * under 5.7 rules, page[1]._pincount for every compound page under modern rules (the folio's
 * _pincount, Linux 5.18's layout; see rule_pincount_in_first_tail()). Tail pages keep _refcount
 * at 0.
 */
#ifndef PINMM_MM_TYPES_H
#define PINMM_MM_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <urcu/list.h>

#include "compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

typedef unsigned long pgoff_t;

struct address_space;
struct dev_pagemap;
struct mm_struct;
struct page;

/* What frees a compound page when its last reference goes (page[1].compound_dtor). */
enum compound_dtor_id {
	NULL_COMPOUND_DTOR,
	COMPOUND_PAGE_DTOR,
	HUGETLB_PAGE_DTOR,
	TRANSHUGE_PAGE_DTOR,
	NR_COMPOUND_DTORS,
};

struct page {
	atomic_ulong flags;
	union {
		struct { /* page cache, anonymous and free (buddy) pages */
			struct cds_list_head lru;
			struct address_space *mapping;
			pgoff_t index;
#ifdef __cplusplus
			unsigned long private_; /* "private" is a keyword of C++ */
#else
			unsigned long private;
#endif
		};
		struct { /* tail pages of compound pages; page[1] carries the rest */
			PINMM_ANON_ATOMIC(unsigned long) compound_head; /* bit 0 set: tail page */
			unsigned char compound_dtor;
			unsigned char compound_order;
			PINMM_ANON_ATOMIC(int) compound_mapcount; /* -1 based, like _mapcount */
			void *_compound_pad_mapping;  /* the tail's mapping word: TAIL_MAPPING */
			/* Subpages mapped by at least one PTE (pinmm's stand-in for 5.7's
			 * PageDoubleMap bookkeeping; Linux 6.x keeps the same count). */
			PINMM_ANON_ATOMIC(int) nr_pages_mapped;
			/* The exact pin count under modern rules (Linux 6.x's folio->_pincount):
			 * every compound page has a first tail, so order 1 has one too. Unused (0)
			 * under 5.7 rules. Reach it through compound_pincount_ptr() only. */
			PINMM_ANON_ATOMIC(int) _pincount;
		};
		struct { /* page[2] of a compound page */
			unsigned long _compound_pad_1;
			PINMM_ANON_ATOMIC(int) hpage_pinned_refcount; /* exact pin count, order > 1 only */
			struct cds_list_head deferred_list;
		};
		struct { /* ZONE_DEVICE pages */
			unsigned long _zd_pad_1;
			struct dev_pagemap *pgmap;
			void *zone_device_data;
		};
		struct { /* page-table pages */
			unsigned long _pt_pad_1;
			struct page *pmd_huge_pte;
			unsigned long _pt_pad_2;
			struct mm_struct *pt_mm;
			pinmm_spinlock_t ptl;
		};
	};
	union {
		atomic_int _mapcount; /* -1 based: -1 means mapped by nothing */
		unsigned int page_type;
	};
	atomic_int _refcount;
	/* pinmm has no memory cgroups; the word keeps the layout and offsets of Linux with
	 * CONFIG_MEMCG, and dump_page() prints it when it is set. */
	void *mem_cgroup;
};

PINMM_STATIC_ASSERT(sizeof(struct page) == 64, "struct page must be 64 bytes, as on x86-64 Linux");
PINMM_STATIC_ASSERT(offsetof(struct page, compound_head) == 8, "compound_head shares lru.next");
PINMM_STATIC_ASSERT(offsetof(struct page, hpage_pinned_refcount) == 16,
	       "hpage_pinned_refcount replaces _compound_pad_2 (lru.prev)");
PINMM_STATIC_ASSERT(offsetof(struct page, _pincount) == 36,
		    "_pincount fills the half word after nr_pages_mapped, before private");
PINMM_STATIC_ASSERT(offsetof(struct page, mapping) == 24, "mapping is word 3");
PINMM_STATIC_ASSERT(offsetof(struct page, _mapcount) == 48, "_mapcount is the low half of word 6");
PINMM_STATIC_ASSERT(offsetof(struct page, _refcount) == 52, "_refcount is the high half of word 6");

/* ---- address spaces ---------------------------------------------------------------------- */

/* vm_area_struct.vm_flags, Linux's values. */
#define VM_NONE 0x00000000UL
#define VM_READ 0x00000001UL
#define VM_WRITE 0x00000002UL
#define VM_EXEC 0x00000004UL
#define VM_SHARED 0x00000008UL
#define VM_MAYREAD 0x00000010UL
#define VM_MAYWRITE 0x00000020UL
#define VM_MAYEXEC 0x00000040UL
#define VM_MAYSHARE 0x00000080UL
#define VM_GROWSDOWN 0x00000100UL
#define VM_PFNMAP 0x00000400UL
#define VM_LOCKED 0x00002000UL
#define VM_IO 0x00004000UL
#define VM_DONTCOPY 0x00020000UL
#define VM_DONTEXPAND 0x00040000UL
#define VM_NORESERVE 0x00200000UL
#define VM_HUGETLB 0x00400000UL
#define VM_MIXEDMAP 0x10000000UL
#define VM_HUGEPAGE 0x20000000UL
#define VM_NOHUGEPAGE 0x40000000UL
#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)

struct file;
struct anon_vma;
struct vm_fault;

struct vm_operations_struct {
	/* Find or read the page at vmf->pgoff; on success set vmf->page, with a reference, and
	 * return VM_FAULT_LOCKED (page locked; | VM_FAULT_MAJOR if it was read) or 0 (unlocked);
	 * else VM_FAULT_* error bits. */
	unsigned int (*fault)(struct vm_fault *vmf);
	/* A write fault is about to make vmf->page writable in a shared mapping. */
	unsigned int (*page_mkwrite)(struct vm_fault *vmf);
};

struct vm_area_struct {
	unsigned long vm_start; /* first byte */
	unsigned long vm_end;   /* first byte after */
	struct mm_struct *vm_mm;
	unsigned long vm_flags;
	unsigned long vm_pgoff; /* offset in the file (or, anon: vm_start >> PAGE_SHIFT), pages */
	unsigned int vm_huge_shift; /* VM_HUGETLB: PMD_SHIFT or PUD_SHIFT */
	struct file *vm_file;
	const struct vm_operations_struct *vm_ops;
	struct anon_vma *anon_vma;
	struct cds_list_head anon_vma_node; /* on anon_vma->vmas */
	struct cds_list_head shared;        /* on vm_file->f_mapping->i_mmap */
	/* A private hugetlb mapping: its struct resv_map, or'ed with HPAGE_RESV_OWNER (the
	 * process that called mmap and holds the reservations) and HPAGE_RESV_UNMAPPED (another
	 * process's copy-on-write took the pages back: a fault here is SIGBUS), as Linux's
	 * vm_private_data. The bits change under another mm's rmap walk: atomic. */
	atomic_ulong vm_private_data;
};

/* mm_struct.rss_stat */
enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES, NR_MM_COUNTERS };

/*
 * Bits of mm_struct.flags (atomic_load(&mm->flags) & (1UL << bit)).
 *
 * MMF_HAS_PINNED: a GUP call with FOLL_PIN has run on this mm (pin_user_pages*(), the fast
 * and the remote ones, whatever they then pinned): set by the first such call, before it pins
 * anything, and never cleared for the life of the mm. A new mm (mm_alloc(), and the child of
 * pinmm_fork(), as Linux leaves it out of MMF_INIT_MASK) starts without it. Linux 5.9 added it
 * as mm->has_pinned (commit 008cfe4418b3, "mm: Introduce mm_struct.has_pinned"), 5.14 made it
 * this bit (commit a458b76a4171, "mm: gup: pack has_pinned in MMF_HAS_PINNED"). It is set
 * under both rule sets; only modern rules act on it: fork copies a maybe-pinned anonymous
 * page of an mm that has it instead of sharing it (see pinmm_fork() in <pinmm/mman.h>).
 */
#define MMF_HAS_PINNED 27

struct mm_struct {
	struct page *pgd_page; /* the PGD table frame */
	pinmm_rwlock_t mmap_lock;
	atomic_int mmap_lock_readers; /* >0: readers, -1: a writer (for mmap_assert_locked) */
	pinmm_spinlock_t page_table_lock; /* PGD and PUD entries, 1 GiB hugetlb entries */
	/* VMAs sorted by address; find_vma() is a binary search. Under mmap_lock. */
	struct vm_area_struct **vmas;
	unsigned long nr_vmas, vmas_cap;
	atomic_int mm_users; /* mmput() drops; the last one tears the address space down */
	atomic_int mm_count;
	atomic_long pgtables_bytes;
	atomic_long rss_stat[NR_MM_COUNTERS];
	atomic_ulong flags; /* MMF_* bits (below) */
	/* Linux's mm->write_protect_seq (5.11): odd while fork write-protects this mm's private
	 * entries (copy_page_range() of a COW mapping), bumped at the start and at the end, so
	 * that a lockless GUP-fast pin can tell it raced with fork and back off (modern rules;
	 * see pin_user_pages_fast() in <pinmm/gup.h>). */
	atomic_uint write_protect_seq;
	unsigned long machine_gen; /* the machine it belongs to (see mman.h) */
	atomic_int nr_threads;     /* threads running in it (kthread_use_mm) */
	/* Memory charged against RLIMIT_MEMLOCK, in pages (<pinmm/mman.h>, account_locked_vm()).
	 * locked_vm: what account_locked_vm() charges (written under the mmap write lock);
	 * pinned_vm: what long-term pins charge (io_uring's registered buffers), an atomic64 as
	 * Linux's, added to without the write lock. Readers (/proc views) load them relaxed. */
	atomic_ulong locked_vm;
	atomic_llong pinned_vm;
	/* The mm's RLIMIT_MEMLOCK in bytes (RLIM_INFINITY: no limit) and its CAP_IPC_LOCK: set by
	 * mm_set_memlock_limit() / mm_set_cap_ipc_lock() under the mmap write lock, inherited by
	 * pinmm_fork(). */
	atomic_ulong memlock_limit;
	atomic_bool cap_ipc_lock;
};

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MM_TYPES_H */
