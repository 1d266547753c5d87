/* SPDX-License-Identifier: MIT */
/*
 * struct file and its address_space: opening host files, references, and the teardown of the
 * last fput().
 *
 * pinmm has no inodes: each file carries its own address_space (allocated with it, as an
 * inode's i_data), so two filp_open() calls of one path give two independent page caches.
 *
 * The rule that is easy to break: a VMA holds a file reference (vm_area_dup / vm_area_free), so
 * the last fput() finds no mapping left, only pages that pins or other references keep alive;
 * those are detached (mapping cleared), never freed under their holders.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mm/internal.h"
#include "internal.h"
#include "lib/internal.h"

/* Every file from alloc_file() to its last fput(): a handle not in this set is stale, and is
 * refused without reading the freed file. */
static struct live_set live_files = LIVE_SET_INIT;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static bool file_is_live(struct file *file)
{
	return !WARN(!live_set_has(&live_files, file),
		     "file %p is not a live file (used after its last fput()?)", (void *)file);
}

int file_check(struct file *file)
{
	if (!file_is_live(file))
		return -EBADF;
	if (WARN(file->machine_gen != machine_generation(),
		 "file %p was opened in a machine that was shut down", (void *)file))
		return -EBADF;
	return 0;
}

/*
 * pinmm_shutdown()'s part for files, after the address spaces are gone (so no VMA holds a
 * file): every file of this machine still open is reported, its dirty pages are written back
 * and its page cache dropped while the machine works. Its holders keep a file with an empty
 * cache that every call refuses and that they may only fput(). Returns the number reported.
 */
static unsigned long files_shutdown(void)
{
	unsigned long reported = 0;
	struct file **files;
	size_t n = live_set_snapshot(&live_files, (void ***)&files);

	for (size_t i = 0; files && i < n; i++) {
		struct file *file = files[i];

		if (file->machine_gen != machine_generation())
			continue;
		pinmm_log("pinmm: shutdown: file %p is still open (%ld reference(s)): its page "
			  "cache is written back and dropped, its holders may only fput() it\n",
			  (void *)file, atomic_load(&file->f_count));
		/* The address spaces are gone, so no PTE maps these pages: as in __fput(). */
		struct writeback_control wbc = {.sync_mode = WB_SYNC_ALL,
						.prepare = wb_prepare_unmapped};

		write_dirty_pages(file->f_mapping, &wbc);
		truncate_inode_pages(file->f_mapping, 0);
		reported++;
	}
	free(files);
	return reported;
}

static void register_hook(void)
{
	set_shutdown_hook(SHUTDOWN_HOOK_FILES, files_shutdown);
}

void for_each_address_space(void (*fn)(struct address_space *mapping, void *arg), void *arg)
{
	struct file **files;
	size_t n = live_set_snapshot(&live_files, (void ***)&files);

	/* The machine is quiescent (the caller's rule): nobody closes a file under us. */
	for (size_t i = 0; files && i < n; i++)
		if (files[i]->machine_gen == machine_generation())
			fn(files[i]->f_mapping, arg);
	free(files);
}

/* Under the live set's lock: a file of this machine whose last fput() has not started gets a
 * reference (fput() leaves the set before it frees the file, so the file is readable here). */
static bool file_tryget(void *p)
{
	struct file *file = p;
	long count = atomic_load(&file->f_count);

	if (file->machine_gen != machine_generation())
		return false;
	while (count > 0)
		if (atomic_compare_exchange_weak(&file->f_count, &count, count + 1))
			return true;
	return false;
}

size_t get_open_files(struct file ***files)
{
	return live_set_snapshot_if(&live_files, (void ***)files, file_tryget);
}

/* A file and its address_space, allocated together. */
struct file_alloc {
	struct file file;
	struct address_space i_data;
};

struct file *alloc_file(int host_fd, loff_t size, unsigned int f_flags, unsigned int f_mode,
			const struct file_operations *fop)
{
	struct file_alloc *fa;
	struct address_space *mapping;

	pthread_once(&hook_once, register_hook);
	fa = kzalloc(sizeof(*fa));
	if (!fa)
		return NULL;
	mapping = &fa->i_data;
	mapping->i_pages = page_cache_create();
	if (!mapping->i_pages) {
		free(fa);
		return NULL;
	}
	mapping->host_fd = host_fd;
	mapping->shmem = host_fd < 0;
	atomic_init(&mapping->nrpages, 0);
	atomic_init(&mapping->i_size, size);
	atomic_init(&mapping->writeback_errors, 0);
	atomic_init(&mapping->dirtied_when, 0);
	pthread_rwlock_init(&mapping->i_rwsem, NULL);
	pthread_rwlock_init(&mapping->i_mmap_rwsem, NULL);
	CDS_INIT_LIST_HEAD(&mapping->i_mmap);

	atomic_init(&fa->file.f_count, 1);
	fa->file.f_flags = f_flags;
	fa->file.f_mode = f_mode;
	fa->file.f_op = fop;
	fa->file.f_mapping = mapping;
	/* A file opened while no machine runs (even generation) belongs to the next one. */
	fa->file.machine_gen = machine_generation() | 1;
	/* Last: the set's lock publishes the file whole to the flusher's snapshot
	 * (get_open_files()), which reads its count, generation and mapping. */
	if (live_set_add(&live_files, &fa->file)) {
		pthread_rwlock_destroy(&mapping->i_rwsem);
		pthread_rwlock_destroy(&mapping->i_mmap_rwsem);
		page_cache_destroy(mapping->i_pages);
		free(fa);
		return NULL;
	}
	return &fa->file;
}

struct file *filp_open(const char *path, int flags, int mode)
{
	struct stat st;
	struct file *file;
	int fd;

	/* Before open(): O_WRONLY | O_CREAT must not create anything. */
	if (!path || (flags & O_ACCMODE) == O_WRONLY)
		return ERR_PTR(-EINVAL);
	fd = open(path, flags | O_CLOEXEC, mode);
	if (fd < 0)
		return ERR_PTR(-errno);
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return ERR_PTR(err);
	}
	/* Only a regular file has bytes at offsets for a page cache to hold. */
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ERR_PTR(-EINVAL);
	}
	file = alloc_file(fd, st.st_size, (unsigned int)flags,
			  (flags & O_ACCMODE) == O_RDWR ? FMODE_READ | FMODE_WRITE : FMODE_READ,
			  &host_file_operations);
	if (!file) {
		close(fd);
		return ERR_PTR(-ENOMEM);
	}
	return file;
}

struct file *get_file(struct file *file)
{
	if (file_check(file))
		return NULL;
	/* Relaxed: a reference is only taken from another one, which orders it. */
	atomic_fetch_add_explicit(&file->f_count, 1, memory_order_relaxed);
	return file;
}

/* The last reference is gone: write back, drop the cache, close the host file. */
static void __fput(struct file *file)
{
	struct address_space *mapping = file->f_mapping;
	struct writeback_control wbc = {.sync_mode = WB_SYNC_ALL, .prepare = wb_prepare_unmapped};

	WARN_ON_ONCE(!cds_list_empty(&mapping->i_mmap));
	if (file->f_op->release)
		file->f_op->release(file);
	/* Linux writes dirty pages back later, from the flusher; pinmm's flusher is optional
	 * (off unless started), so the last chance is now. An error here has nobody left to report to, as in Linux. No PTE
	 * maps these pages any more (zap moved their dirty bits to the pages), so clearing
	 * PG_dirty alone is enough: filemap_write_and_wait() would walk an empty rmap. */
	write_dirty_pages(mapping, &wbc);
	truncate_inode_pages(mapping, 0);
	if (mapping->host_fd >= 0)
		close(mapping->host_fd);
	page_cache_destroy(mapping->i_pages);
	pthread_rwlock_destroy(&mapping->i_rwsem);
	pthread_rwlock_destroy(&mapping->i_mmap_rwsem);
	free(caa_container_of(file, struct file_alloc, file));
}

void fput(struct file *file)
{
	long old;

	/* A file of a machine shut down may be released: its cache is empty (files_shutdown()),
	 * so the teardown touches no machine memory. */
	if (!file_is_live(file))
		return;
	/* acq_rel: everything done through the other references (VMA list changes, dirtying)
	 * happens before the teardown. */
	old = atomic_fetch_sub_explicit(&file->f_count, 1, memory_order_acq_rel);
	if (WARN_ON_ONCE(old <= 0))
		return;
	if (old == 1) {
		live_set_del(&live_files, file);
		__fput(file);
	}
}

loff_t i_size_read(const struct address_space *mapping)
{
	/* seq_cst: pairs with i_size_write(); see truncate.c. */
	return atomic_load(&mapping->i_size);
}
