/* SPDX-License-Identifier: MIT */
/*
 * mm_struct: creation, reference counting and teardown, the mmap lock, the calling thread's
 * current mm, and VMA lookup.
 *
 * mm_users counts users of the address space; the last mmput() unmaps everything and frees the
 * page tables at once, without RCU: nobody can walk an mm that has no users. mm_count keeps
 * the struct itself alive (kthread_use_mm and lazy references).
 */
#include <errno.h>
#include <stdlib.h>
#include <urcu.h>

#include "internal.h"

static _Thread_local struct mm_struct *this_thread_mm;

/* Every mm_struct alive (mm_count > 0), for walks over the whole machine (Linux's init_mm.mmlist
 * links only mms with swap; pinmm links them all). */
static pthread_mutex_t mmlist_lock = PTHREAD_MUTEX_INITIALIZER;
static CDS_LIST_HEAD(mmlist);

void for_each_mm(void (*fn)(struct mm_struct *mm, void *arg), void *arg)
{
	struct mm_struct *mm;

	pthread_mutex_lock(&mmlist_lock);
	cds_list_for_each_entry(mm, &mmlist, mmlist)
		if (atomic_load(&mm->mm_users) > 0)
			fn(mm, arg);
	pthread_mutex_unlock(&mmlist_lock);
}

struct mm_struct *mm_alloc(void)
{
	struct mm_struct *mm;

	if (WARN_ON_ONCE(!pinmm_booted()))
		return NULL;
	mm = kzalloc(sizeof(*mm));
	if (!mm)
		return NULL;
	mm->pgd_page = pgtable_alloc(mm);
	if (!mm->pgd_page) {
		free(mm);
		return NULL;
	}
	pthread_rwlock_init(&mm->mmap_lock, NULL);
	pthread_spin_init(&mm->page_table_lock, PTHREAD_PROCESS_PRIVATE);
	atomic_init(&mm->mm_users, 1);
	atomic_init(&mm->mm_count, 1);
	pthread_mutex_lock(&mmlist_lock);
	cds_list_add(&mm->mmlist, &mmlist);
	pthread_mutex_unlock(&mmlist_lock);
	return mm;
}

static void mmdrop(struct mm_struct *mm)
{
	if (atomic_fetch_sub(&mm->mm_count, 1) != 1)
		return;
	pthread_mutex_lock(&mmlist_lock);
	cds_list_del(&mm->mmlist);
	pthread_mutex_unlock(&mmlist_lock);
	pthread_rwlock_destroy(&mm->mmap_lock);
	pthread_spin_destroy(&mm->page_table_lock);
	free(mm->vmas);
	free(mm);
}

static void exit_mmap(struct mm_struct *mm)
{
	mmap_write_lock(mm);
	while (mm->nr_vmas) {
		struct vm_area_struct *vma = mm->vmas[mm->nr_vmas - 1];

		zap_page_range(vma, vma->vm_start, vma->vm_end);
		vma_remove(mm, vma);
		vma_unlink_rmap(vma);
		vm_area_free(vma);
	}
	free_all_pgtables(mm);
	mmap_write_unlock(mm);
}

void mmget(struct mm_struct *mm)
{
	WARN_ON_ONCE(atomic_fetch_add(&mm->mm_users, 1) <= 0);
}

void mmput(struct mm_struct *mm)
{
	int old;

	if (!mm)
		return;
	old = atomic_fetch_sub(&mm->mm_users, 1);
	if (WARN_ON_ONCE(old <= 0) || old != 1)
		return;
	exit_mmap(mm);
	mmdrop(mm);
}

void kthread_use_mm(struct mm_struct *mm)
{
	if (WARN_ON_ONCE(this_thread_mm != NULL) || WARN_ON_ONCE(!mm))
		return;
	mmget(mm);
	atomic_fetch_add(&mm->mm_count, 1);
	rcu_register_thread();
	this_thread_mm = mm;
}

void kthread_unuse_mm(struct mm_struct *mm)
{
	if (WARN_ON_ONCE(this_thread_mm != mm || !mm))
		return;
	this_thread_mm = NULL;
	rcu_unregister_thread();
	mmput(mm);
	mmdrop(mm);
}

struct mm_struct *current_mm(void)
{
	return this_thread_mm;
}

void mmap_read_lock(struct mm_struct *mm)
{
	pthread_rwlock_rdlock(&mm->mmap_lock);
	atomic_fetch_add(&mm->mmap_lock_readers, 1);
}

bool mmap_read_trylock(struct mm_struct *mm)
{
	if (pthread_rwlock_tryrdlock(&mm->mmap_lock))
		return false;
	atomic_fetch_add(&mm->mmap_lock_readers, 1);
	return true;
}

void mmap_read_unlock(struct mm_struct *mm)
{
	atomic_fetch_sub(&mm->mmap_lock_readers, 1);
	pthread_rwlock_unlock(&mm->mmap_lock);
}

void mmap_write_lock(struct mm_struct *mm)
{
	pthread_rwlock_wrlock(&mm->mmap_lock);
	atomic_store(&mm->mmap_lock_readers, -1);
}

void mmap_write_unlock(struct mm_struct *mm)
{
	atomic_store(&mm->mmap_lock_readers, 0);
	pthread_rwlock_unlock(&mm->mmap_lock);
}

void mmap_assert_locked(struct mm_struct *mm)
{
	WARN_ON_ONCE(atomic_load(&mm->mmap_lock_readers) == 0);
}

void mmap_assert_write_locked(struct mm_struct *mm)
{
	WARN_ON_ONCE(atomic_load(&mm->mmap_lock_readers) != -1);
}

struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	unsigned long lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->vm_end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < mm->nr_vmas ? mm->vmas[lo] : NULL;
}

struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}
