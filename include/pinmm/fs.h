/* SPDX-License-Identifier: MIT */
/*
 * Files and their page caches.
 *
 * A struct file is either a real host file opened with filp_open() (its pages are read from
 * and written back to the host file) or a memory-only file from shmem_file_setup() (tmpfs /
 * memfd-like: pages live only in the page cache, and nothing is written back). Each file has an
 * address_space: the page cache (file offset in pages -> struct page) and the list of VMAs that
 * map the file (i_mmap), which the reverse map walks.
 *
 * Page-cache pages have page->mapping = the address_space, page->index = the offset in pages,
 * PG_uptodate once read, PG_dirty while they hold data the host file does not (PG_swapbacked
 * for shmem). The page cache holds one reference on each of its pages.
 */
#ifndef PINMM_FS_H
#define PINMM_FS_H

#include <fcntl.h>
#include <stdbool.h>
#include <sys/types.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct address_space {
	int host_fd;                         /* the host file, or -1 for shmem */
	struct page_cache *i_pages;          /* offset in pages -> page (src/fs/page_cache.c) */
	atomic_long nrpages;
	atomic_llong i_size;                 /* bytes */
	bool shmem;                          /* memory only: never written back */
	pinmm_rwlock_t i_rwsem;             /* inode_lock(): serialises size changes */
	pinmm_rwlock_t i_mmap_rwsem;        /* the VMAs below */
	struct cds_list_head i_mmap;         /* vm_area_struct.shared */
	/* Writeback errors not reported yet (AS_EIO, AS_ENOSPC), as Linux's mapping flags: set
	 * by a failed write, reported and cleared by the next fsync (vfs_fsync()). */
	atomic_int writeback_errors;
	/* When (ms, monotonic) the file's oldest dirty page was dirtied; 0: none since the last
	 * writeback started (the flusher's dirty_expire_centisecs is measured from it). */
	atomic_long dirtied_when;
	/* A DAX file (dax_file_setup()): its contents are these device pfns, no page cache. */
	unsigned long dax_start_pfn;
	unsigned long dax_nr_pages;
	/* A hugetlb file (hugetlb_file_setup()): the shift of its page size (0 for any other
	 * file), and its struct resv_map (the indexes, in huge pages, reserved or present). */
	unsigned int huge_shift;
	void *private_data;
};

struct file_operations {
	/* Set up vma (vm_ops, flags) for a mapping of this file; 0 or a negative errno. */
	int (*mmap)(struct file *file, struct vm_area_struct *vma);
	/* The last fput(): the file's own teardown before its page cache goes (may be NULL). */
	void (*release)(struct file *file);
};

/* f_mode bits */
#define FMODE_READ 0x1u
#define FMODE_WRITE 0x2u

struct file {
	atomic_long f_count;
	unsigned int f_flags; /* O_* from filp_open() */
	unsigned int f_mode;  /* FMODE_READ / FMODE_WRITE */
	const struct file_operations *f_op;
	struct address_space *f_mapping;
	unsigned long machine_gen; /* the machine it was opened in (see get_file()) */
};

/*
 * Open host file path (flags and mode as open(2): O_RDONLY / O_WRONLY / O_RDWR, O_CREAT,
 * O_TRUNC...). Returns the file with f_count 1, or ERR_PTR(-errno): the host's open() error
 * (-ENOENT, -EACCES, ...), -EINVAL for a NULL path or O_WRONLY (pinmm reads pages in, so a
 * mapping needs read access), -ENOMEM.
 * A tmpfile(3)-like file is filp_open(dir, O_TMPFILE | O_RDWR, 0600): a host file without a
 * name, in dir's file system, gone with its last fput() (-EOPNOTSUPP if that file system
 * cannot do it).
 */
struct file *filp_open(const char *path, int flags, int mode);

/* A memory-only file of size bytes (its pages are zero until written), opened read-write.
 * Returns the file or ERR_PTR(-EINVAL) (NULL name, size < 0) / ERR_PTR(-ENOMEM). flags is
 * accepted for Linux's signature (VM_NORESERVE) and has no effect. */
struct file *shmem_file_setup(const char *name, loff_t size, unsigned long flags);

/* A hugetlb file (hugetlb_file_setup(), <pinmm/mman.h>)? */
static inline bool is_file_hugepages(const struct file *file)
{
	return file->f_mapping->huge_shift != 0;
}

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGE_MASK
#define MFD_HUGE_MASK 0x3f
#endif

/*
 * memfd_create(2) (named so because the host's memfd_create() returns a descriptor): a new
 * memory-only file (shmem_file_setup()) of size 0, opened read-write, with f_count 1; size it
 * with vfs_truncate() (ftruncate / fallocate in Linux), map it, fput() it. flags as Linux's:
 * MFD_CLOEXEC and MFD_ALLOW_SEALING are accepted and have no effect (no descriptors, no
 * seals). Returns the file or ERR_PTR():
 *   -EINVAL  unknown flags (a huge page size in the flags without MFD_HUGETLB included); a
 *            name longer than 249 bytes (NAME_MAX with the "memfd:" prefix)
 *   -EFAULT  name NULL
 *   -ENOSYS  MFD_HUGETLB (as Linux without hugetlbfs): hugetlb files (hugetlb_file_setup())
 *            are created at their final size and cannot grow, while a memfd starts empty
 *   -ENOMEM  no memory for the file
 */
struct file *memfd_file_create(const char *name, unsigned int flags);

/*
 * An fsdax-like file whose bytes are the device pages [start_pfn, start_pfn + nr_pages) (from
 * memremap_pages(), each pfn inside a live pagemap). Mappings of it map the device pages
 * directly with devmap entries: a PMD leaf for each 2 MiB-aligned block of a VM_HUGEPAGE
 * mapping (dax files set it), PTEs otherwise; no page cache, no writeback. Only MAP_SHARED
 * mappings are supported (MAP_PRIVATE: -EINVAL at mmap). Long-term pins of it fail with
 * -EOPNOTSUPP. Returns the file (read-write, f_count 1) or ERR_PTR(-EINVAL) for a range outside
 * live pagemaps or nr_pages 0, ERR_PTR(-ENOMEM).
 */
struct file *dax_file_setup(unsigned long start_pfn, unsigned long nr_pages);

/* Take / drop a reference. The last fput() writes dirty pages back (host files), drops the
 * page cache's pages and closes the host file; pages still referenced elsewhere (mapped,
 * pinned) live on, detached from the file, until their last reference goes. A file after its
 * last fput() is stale: every call here that takes a file refuses it with a WARN, without
 * reading it (get_file: NULL; fput: nothing; vfs_truncate / vfs_fsync / vm_mmap: -EBADF). A
 * freed file whose address the host allocator gave to a new file cannot be told from it.
 * A file belongs to the machine it was opened in (or, opened while none runs, to the next):
 * pinmm_shutdown() writes back and drops the cache of each file still open, and after it the
 * same calls refuse the file, except fput(), which may release it (no WARN). */
struct file *get_file(struct file *file);
void fput(struct file *file);

/* Size of the file in bytes. */
loff_t i_size_read(const struct address_space *mapping);

/* Change a file's size (ftruncate): pages beyond the new end are dropped from the cache.
 * Returns 0, -EINVAL (size < 0, file not open for writing, a hugetlb file), -EBUSY (pages
 * beyond the end are still mapped), -EBADF (a stale file), or the host's error. */
int vfs_truncate(struct file *file, loff_t size);

/*
 * The page cache. find_get_page() returns the cached page at index with a reference, or NULL.
 * find_or_create_page()-like read: read_mapping_page() returns the uptodate page at index
 * (reading it from the host file if needed) with a reference, or ERR_PTR(-EIO / -ENOMEM /
 * -EINVAL beyond i_size).
 */
struct page *find_get_page(struct address_space *mapping, pgoff_t index);
struct page *read_mapping_page(struct address_space *mapping, pgoff_t index);

/* Mark a page-cache page dirty (PG_dirty, nr_dirty, nr_dirtied). Returns 1 if it was clean.
 * Anonymous pages: sets PG_dirty only. set_page_dirty_lock() takes the page lock around it.
 * With the machine's debug checks on (boot.h), a free page (refcount 0) or the zero page
 * WARNs, is dump_page()d and is left as it was: 0. */
int set_page_dirty(struct page *page);
int set_page_dirty_lock(struct page *page);

/* AS_EIO / AS_ENOSPC: the bits of address_space.writeback_errors. */
#define AS_EIO 0x1
#define AS_ENOSPC 0x2

/*
 * The host files' block space (src/fs/balloc.c): delayed allocation as ext4's. A write fault of
 * a shared mapping of a host file (page_mkwrite) reserves a block for the page (PG_private)
 * and fails with SIGBUS (-EFAULT through GUP) when none is left; writeback consumes the
 * reservation. Writeback of a dirty page without one (dirtied by set_page_dirty() without a
 * write fault: a driver's release of GUP pages) WARNs once per machine and is counted in
 * dirtied_without_mkwrite; it gets a block if one is free, else its data is lost (the page is
 * left clean with PG_error) and -ENOSPC waits for the next vfs_fsync(). Every write takes a
 * new block, freed when it completes (copy-on-write allocation), so capacity bounds the blocks
 * reserved plus those in flight; data at rest is not counted. shmem and memfd files have no
 * blocks. Each machine starts with PINMM_FS_CAPACITY_UNLIMITED.
 */
#define PINMM_FS_CAPACITY_UNLIMITED (~0UL)

struct pinmm_fs_stats {
	unsigned long capacity;                /* blocks */
	unsigned long reserved;                /* pages with a block reserved (PG_private) */
	unsigned long in_flight;               /* blocks of writes not completed */
	unsigned long dirtied_without_mkwrite; /* dirty pages found without a reservation */
	unsigned long lost_pages;              /* of those, written nowhere: no space (-ENOSPC) */
	unsigned long enospc_faults;           /* write faults refused: no space */
};

/* Set the running machine's capacity in blocks (pages). Returns 0, -ENODEV (no machine), or
 * -EBUSY (fewer than the blocks reserved and in flight now; nothing changed). */
int pinmm_fs_set_capacity(unsigned long blocks);

/* The running machine's block counts into *stats. Returns 0, -EINVAL (stats NULL) or
 * -ENODEV. */
int pinmm_fs_stats(struct pinmm_fs_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_FS_H */
