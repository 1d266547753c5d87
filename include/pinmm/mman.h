/* SPDX-License-Identifier: MIT */
/*
 * Address spaces: mm_struct life and locking, the calling thread's current mm, VMA lookup, and
 * the mmap family on the current mm. PROT_*, MAP_* and MADV_* are the host's values
 * (<sys/mman.h>). Errors are Linux's negative errnos; a call that fails changes nothing.
 *
 * Locking order (Linux's): mmap_lock -> page lock -> i_mmap_rwsem / anon_vma lock ->
 * mm->page_table_lock -> page-table locks.
 *
 * Stale mms. An mm belongs to the machine it was made in and lives until its last mmput().
 * The calls below that take an mm refuse, with a WARN and -ESRCH (or what the call documents),
 * an mm after its last mmput() (checked without reading it) and an mm of a machine that was
 * shut down (pinmm_shutdown() tears its address space down; its holders may only release it,
 * with mmput() / kthread_unuse_mm(), which then free host memory and WARN nothing). A thread
 * whose current mm is such a shell has no current mm: current_mm() WARNs and returns NULL, so
 * the calls on the current mm give -ESRCH. The mmap lock calls, find_vma() and vma_lookup()
 * are not checked: their caller holds the mm already. A freed mm whose address the host
 * allocator gave to a new mm cannot be told from it.
 */
#ifndef PINMM_MMAN_H
#define PINMM_MMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Linux's values (include/uapi/asm-generic/mman-common.h and mman.h), for the host headers
 * that lack them and for a strict ISO C program, from which glibc hides everything not in
 * POSIX unless _DEFAULT_SOURCE is defined. */
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS 0x20
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0x4000
#endif
#ifndef MAP_POPULATE
#define MAP_POPULATE 0x8000
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MADV_DONTNEED
#define MADV_DONTNEED 4
#endif
#ifndef MADV_DONTFORK
#define MADV_DONTFORK 10
#endif
#ifndef MADV_DOFORK
#define MADV_DOFORK 11
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif

/* A new, empty address space with mm_users 1, or NULL (no memory for its PGD, or not booted). */
struct mm_struct *mm_alloc(void);

/* Drop an mm_users reference; the last one unmaps everything and frees the page tables. An mm
 * after its last mmput() WARNs and is left alone. */
void mmput(struct mm_struct *mm);

/* Take another mm_users reference (the caller holds one). A stale mm WARNs, nothing taken. */
void mmget(struct mm_struct *mm);

/* Make mm the calling thread's current mm (this thread is now a CPU running in it), taking a
 * reference that kthread_unuse_mm() drops. WARNs and does nothing if the thread already uses
 * an mm, or mm is stale. If the thread still runs in the shell of an mm of a machine that was
 * shut down, it leaves that shell first (with a WARN). The thread is registered with RCU while
 * it uses the mm. */
void kthread_use_mm(struct mm_struct *mm);
void kthread_unuse_mm(struct mm_struct *mm);

/* The calling thread's current mm, or NULL (also, with a WARN, when it belongs to a machine
 * that was shut down). */
struct mm_struct *current_mm(void);

void mmap_read_lock(struct mm_struct *mm);
void mmap_read_unlock(struct mm_struct *mm);
void mmap_write_lock(struct mm_struct *mm);
void mmap_write_unlock(struct mm_struct *mm);
bool mmap_read_trylock(struct mm_struct *mm);
/* WARN (once) unless someone holds mm's mmap lock. */
void mmap_assert_locked(struct mm_struct *mm);
void mmap_assert_write_locked(struct mm_struct *mm);

/*
 * RLIMIT_MEMLOCK and the memory charged against it (Linux's mm/util.c, and the mm_struct
 * counters locked_vm and pinned_vm: <pinmm/mm_types.h>). pinmm has no processes or users: the
 * limit and CAP_IPC_LOCK belong to the mm (a process's rlimit and capability), and pinned_vm
 * is checked against the limit where Linux's io_uring checks the user's locked_vm
 * (<pinmm/io_uring.h>). A new mm has no limit (RLIM_INFINITY) and no CAP_IPC_LOCK; a forked
 * mm inherits both and starts with nothing charged.
 *
 * account_locked_vm(mm, pages, inc): charge (inc) or uncharge pages to mm->locked_vm, taking
 * the mmap write lock, as drivers that long-term pin do (VFIO's type1 IOMMU, ...). A charge
 * that would take locked_vm above the limit returns -ENOMEM and charges nothing, unless mm has
 * CAP_IPC_LOCK. pages 0 or mm NULL: 0, nothing done (as Linux). Uncharging more than is
 * charged WARNs (once) and leaves 0 charged. __account_locked_vm() is the same with the
 * mmap write lock held by the caller and the bypass given (Linux's bypass_rlim).
 */
int account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc);
int __account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc, bool bypass_rlim);

/*
 * setrlimit(RLIMIT_MEMLOCK) for mm: limit in bytes, rounded down to pages when charges are
 * checked; RLIM_INFINITY removes the limit. 0, or:
 *   -EINVAL  mm NULL
 *   -ESRCH   mm is stale (after its last mmput(), or of a machine shut down)
 *   -EBUSY   limit is below what is charged now (locked_vm or pinned_vm, in bytes): pinmm
 *            refuses it, where Linux's setrlimit() takes it and only refuses new charges, so
 *            that a limit read back always bounds the usage; nothing changes
 * mm_memlock_limit(mm): the limit in bytes (RLIM_INFINITY for none).
 * mm_set_cap_ipc_lock(mm, on): give mm CAP_IPC_LOCK (or take it away): charges are counted
 * but no limit applies (Linux's capable(CAP_IPC_LOCK) in account_locked_vm() and at io_uring
 * ring creation). 0, -EINVAL (mm NULL), -ESRCH (stale mm).
 */
int mm_set_memlock_limit(struct mm_struct *mm, unsigned long limit);
unsigned long mm_memlock_limit(const struct mm_struct *mm);
int mm_set_cap_ipc_lock(struct mm_struct *mm, bool on);

/* The first VMA with vm_end > addr, or NULL. mmap lock held. */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);

/* The VMA containing addr, or NULL. mmap lock held. */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);

/*
 * Map len bytes at addr (a hint, or exact with MAP_FIXED) in the current mm. file NULL with
 * MAP_ANONYMOUS; otherwise the file's pages from byte offset pgoff << PAGE_SHIFT. Returns the
 * address, or a negative errno cast to unsigned long (test with IS_ERR_VALUE()):
 *   -EBADF   no file and no MAP_ANONYMOUS (checked before the flags, as Linux's fd lookup);
 *            a file after its last fput() (with a WARN)
 *   -EINVAL  len 0; addr misaligned with MAP_FIXED (to the huge page size with MAP_HUGETLB);
 *            neither or both of MAP_PRIVATE / MAP_SHARED; unknown prot/flags bits;
 *            MAP_HUGETLB with a file that is not a hugetlb file, or with a size other than
 *            2 MiB / 1 GiB; MAP_PRIVATE of a hugetlb file, or at an offset not aligned to its
 *            page size
 *   -EACCES  the file's open mode does not allow the mapping (MAP_SHARED + PROT_WRITE on a
 *            read-only file, or a file not open for reading)
 *   -EOVERFLOW  pgoff + len overflows the file offset
 *   -ENOMEM  no room in the address space; MAP_FIXED outside [MMAP_MIN_ADDR, TASK_SIZE), or
 *            over a hugetlb mapping that it would split at an address not aligned to that
 *            mapping's page size (5.7's mmap_region() turns the munmap's -EINVAL into
 *            -ENOMEM); MAP_HUGETLB without MAP_NORESERVE when the pool cannot reserve every
 *            page of the mapping (free pages not already reserved: HugePages_Free -
 *            HugePages_Rsvd); len too large; no memory for page tables or VMAs
 *   -EPERM   MAP_FIXED below MMAP_MIN_ADDR
 *   -ESRCH   the calling thread has no current mm
 * MAP_FIXED replaces whatever was mapped there. MAP_POPULATE faults the range in (errors in
 * faulting are ignored, as Linux does).
 */
unsigned long vm_mmap(struct file *file, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, unsigned long pgoff);

/*
 * A hugetlbfs-like file (what Linux's hugetlb_file_setup() gives memfd_create(MFD_HUGETLB) and
 * MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB) of size bytes, rounded up to its page size: 2 MiB
 * (page_size_log 0 or 21) or 1 GiB (30). Its pages come from that hugetlb pool and live in its
 * page cache (index in huge pages), shared by every MAP_SHARED mapping of it and across fork,
 * until the last fput(). Unless vm_flags has VM_NORESERVE, every page is reserved now
 * (HugePages_Rsvd) and the pool's promise lasts as long as the file. Opened read-write.
 * Returns the file or ERR_PTR(-EINVAL) (NULL name, size 0, another page size) /
 * ERR_PTR(-ENOMEM) (the pool cannot reserve the pages, or no memory).
 * pinmm differs from Linux: its size is fixed (vfs_truncate() refuses it with -EINVAL), and
 * only MAP_SHARED mappings of it are supported (MAP_PRIVATE: -EINVAL at mmap).
 */
struct file *hugetlb_file_setup(const char *name, size_t size, unsigned long vm_flags,
				int page_size_log);

/* Unmap [start, start + len) in the current mm, splitting VMAs at the edges. Returns 0,
 * -EINVAL (start misaligned, len 0, range outside the user address space; for a hugetlb VMA,
 * edges not aligned to its page size), -ENOMEM (a split needs memory), -ESRCH (no mm). */
int vm_munmap(unsigned long start, size_t len);

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/*
 * mremap(2) on the current mm, with Linux 5.7's rules: resize the mapping [addr, addr +
 * old_len) to new_len bytes, in place or, with MREMAP_MAYMOVE, elsewhere (at new_addr with
 * MREMAP_FIXED, replacing what was mapped there). Lengths are rounded up to pages.
 *   - Shrinking (no MREMAP_FIXED) unmaps the tail, as munmap does, and returns addr.
 *   - Growing extends the VMA in place when [addr, addr + old_len) ends it and the range after
 *     it is free; otherwise, with MREMAP_MAYMOVE, the mapping moves.
 *   - A move carries the page-table entries themselves (Linux's move_page_tables()): the same
 *     pages, with their reference counts, mapcounts, pins and dirty bits, at the new address.
 *     A PMD-mapped THP whose whole 2 MiB block moves to a 2 MiB aligned address stays
 *     PMD-mapped; any other THP in the range has its PMD split first and moves as PTEs.
 *   - MREMAP_DONTUNMAP (with MREMAP_MAYMOVE and old_len == new_len; private anonymous
 *     mappings only) moves the pages but leaves the old VMA in place, empty: touching it
 *     faults in new pages.
 *   - old_len 0 (shared mappings only) maps the same file range a second time at a new place.
 * Returns the (new) address, or a negative errno cast to unsigned long (IS_ERR_VALUE()):
 *   -EINVAL  unknown flags; MREMAP_FIXED or MREMAP_DONTUNMAP without MREMAP_MAYMOVE;
 *            MREMAP_DONTUNMAP with old_len != new_len or on a shared or file mapping; addr
 *            (or new_addr with MREMAP_FIXED) not page aligned; new_len 0; with MREMAP_FIXED,
 *            new range past TASK_SIZE or overlapping the old one; old_len 0 on a private
 *            mapping; a hugetlb mapping grown or moved (5.7 refuses both), or shrunk to a
 *            length not aligned to its page size; a file offset that would wrap
 *   -EFAULT  nothing is mapped at addr; [addr, addr + old_len) runs past the end of its VMA
 *            (grow and move only; a shrink unmaps across VMAs, as munmap does); growing a
 *            VM_DONTEXPAND or VM_PFNMAP mapping
 *   -ENOMEM  growing in place is impossible and MREMAP_MAYMOVE is not given; no free range
 *            of new_len bytes; no memory for VMAs or page tables
 *   -EPERM   MREMAP_FIXED below MMAP_MIN_ADDR
 *   -ESRCH   the calling thread has no current mm
 * Every argument is checked before anything changes. An -ENOMEM while the move is under way
 * leaves the mapping where it was, but MREMAP_FIXED's destination may already be unmapped
 * (as in Linux).
 */
unsigned long vm_mremap(unsigned long addr, unsigned long old_len, unsigned long new_len,
			unsigned long flags, unsigned long new_addr);

/* Change the protection of [start, start + len) in the current mm. Returns 0 or -EINVAL
 * (misaligned start, unknown prot bits), -ENOMEM (a hole in the range), -EACCES (PROT_WRITE on a
 * shared mapping of a file opened read-only), -ESRCH (no mm). */
int vm_mprotect(unsigned long start, size_t len, unsigned long prot);

/*
 * madvise(2) on mm: MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTFORK, MADV_DOFORK,
 * MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ / MADV_POPULATE_WRITE, MADV_COLLAPSE. Returns 0 or -EINVAL (misaligned
 * start, unknown advice, MADV_DONTNEED on a locked, hugetlb or PFN mapping; for a hugetlb VMA,
 * a range whose edges would split it at an address not aligned to its page size; NULL mm),
 * -ENOMEM (a hole in the range), -EFAULT (populate hit a fault it could not serve:
 * SIGSEGV/SIGBUS), -EHWPOISON, -ESRCH (a stale mm, with a WARN).
 *
 * MADV_PAGEOUT (Linux 5.4) reclaims the private anonymous pages of the range now (pages mapped
 * by more than one PTE are left, as Linux does): each gets a slot of the swap area
 * (<pinmm/swap.h>), its PTE becomes a swap entry, it is written and then freed; a THP is split
 * first. Pages that cannot go stay mapped and the call still returns 0: no swap area or no
 * free slot, a page locked or under writeback, and, under modern rules, a page that may be
 * pinned (under 5.7 rules it is swapped out and stays in the swap cache while pinned).
 * MADV_COLD (5.4) makes those pages old and inactive (PTE accessed bit, PG_referenced and
 * PG_active cleared): the first reclaim takes. Both give -EINVAL on a VM_LOCKED, hugetlb or
 * PFN-map VMA (the VMAs of the range before it are done), -ENOMEM (a hole in the range, or no
 * memory for the list of pages).
 *
 * MADV_COLLAPSE (Linux 6.1+, available under every rule set) turns each 2 MiB-aligned block
 * that lies wholly inside [start, start + len) into a THP mapped by a PMD, now, in the calling
 * thread: the block's small pages, subpages of a PTE-mapped THP and zero-page or empty PTEs
 * are copied (empty ones as zeros) into a new THP, and the old pages lose this mapping. A
 * block already mapped by a PMD counts as done; a range holding no whole block does nothing
 * and returns 0. It works whatever the machine's THP mode, on private anonymous VMAs only.
 * Errors (Linux's; blocks collapsed before a failure stay collapsed, a failing block is left
 * as it was):
 *   -EINVAL  the range touches a VMA that is not private anonymous memory (files, shmem,
 *            hugetlb, PFN maps), that has MADV_NOHUGEPAGE, that holds no whole aligned 2 MiB
 *            block, or that has never had an anonymous page; or a block has no page table
 *            (nothing was ever mapped there), no writable PTE (all read-only or zero page),
 *            or a mapping without a struct page
 *   -EAGAIN  a page of a block has a reference beyond its mappings (a pin, a FOLL_GET
 *            reference), is locked, or is being migrated: trying again may succeed
 *   -ENOMEM  no THP could be allocated (a hole in the range also gives -ENOMEM, before any
 *            change)
 * The caller must not hold mm's mmap lock.
 */
int do_madvise(struct mm_struct *mm, unsigned long start, size_t len, int advice);

/*
 * fork(): a new mm (mm_users 1) duplicated from mm the way fork does it: private anonymous
 * pages shared read-only for copy-on-write, shared mappings shared, VM_DONTCOPY
 * (MADV_DONTFORK) VMAs left out. The child starts without MMF_HAS_PINNED (<pinmm/mm_types.h>).
 *
 * Pinned pages follow the rule set. Under 5.7 rules they are shared like any other, so the
 * first write of the parent after fork copies the page away from its pin (the device keeps
 * the old page). Under modern rules (Linux 5.9 on) an anonymous page of a private writable
 * mapping that may be pinned (page_maybe_dma_pinned()) in an mm with MMF_HAS_PINNED is copied
 * for the child at once: the child maps its own copy (writable if its VMA is), the parent keeps
 * the pinned page mapped as it was (writable if it was). A PMD-mapped THP that may be pinned
 * has the parent's PMD split first and every subpage copied (the pin count is the THP's); a
 * private hugetlb page is copied into a page of the pool that nobody reserved. FOLL_GET
 * references never cause a copy.
 *
 * Returns the mm or ERR_PTR(-EINVAL) for a NULL mm, ERR_PTR(-ESRCH) for a stale mm (with a
 * WARN), ERR_PTR(-ENOMEM) when memory runs out, a copy of a pinned page included (no page, or
 * no free unreserved huge page): nothing of the child is left behind; the parent's data and
 * mappings are intact, though entries already visited stay write-protected (and a pinned THP's
 * PMD split), as in Linux. The caller must not hold mm's mmap lock.
 */
struct mm_struct *pinmm_fork(struct mm_struct *mm);

#define IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-4095)

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MMAN_H */
