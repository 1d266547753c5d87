/* SPDX-License-Identifier: MIT */
/*
 * mm_struct: creation, reference counting and teardown, the mmap lock, the calling thread's
 * current mm, and VMA lookup.
 *
 * mm_users counts users of the address space; the last mmput() unmaps everything and frees the
 * page tables at once, without RCU: nobody can walk an mm that has no users. mm_count keeps
 * the struct itself alive (kthread_use_mm and lazy references).
 *
 * Stale handles. Every mm is in the set of live mms from mm_alloc() to its last mmput(), and
 * is stamped with the machine generation it was made in. An entry point that takes an mm asks
 * the set before reading the mm (so an mm after its last mmput() is refused without reading
 * freed memory), then compares the stamp (an mm of an earlier machine would walk page tables
 * that are now free frames of this one). pinmm_shutdown() tears down every mm still alive while
 * its machine still works, leaving an empty shell that its holders may only release.
 *
 * The rule that is easy to break: after pinmm_shutdown() an mm struct outlives its address
 * space; nothing but mmput() / kthread_unuse_mm() may touch a shell, and those only free it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <urcu.h>

#include "internal.h"
#include "lib/internal.h"

static _Thread_local struct mm_struct *this_thread_mm;
static struct live_set live_mms = LIVE_SET_INIT;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static unsigned long mm_shutdown(void);

void for_each_mm(void (*fn)(struct mm_struct *mm, void *arg), void *arg)
{
	struct mm_struct **mms;
	size_t n = live_set_snapshot(&live_mms, (void ***)&mms);

	/* The machine is quiescent (the caller's rule): nobody frees an mm under us. */
	for (size_t i = 0; mms && i < n; i++)
		if (mms[i]->machine_gen == machine_generation() && mms[i]->pgd_page &&
		    atomic_load(&mms[i]->mm_users) > 0)
			fn(mms[i], arg);
	free(mms);
}

static void register_hook(void)
{
	set_shutdown_hook(SHUTDOWN_HOOK_MM, mm_shutdown);
}

/* Does mm belong to the running machine? mm must be a live mm (not freed). */
static bool mm_of_this_machine(const struct mm_struct *mm)
{
	return mm->machine_gen == machine_generation();
}

int mm_check(struct mm_struct *mm)
{
	/* The calling thread's own mm is alive (its reference): no need to ask the set. */
	if (mm && mm == this_thread_mm)
		return WARN(!mm_of_this_machine(mm), "mm %p belongs to a machine that was shut down",
			    (void *)mm) ? -ESRCH : 0;
	if (WARN(!live_set_has(&live_mms, mm),
		 "mm %p is not a live mm (used after its last mmput()?)", (void *)mm))
		return -ESRCH;
	if (WARN(!mm_of_this_machine(mm),
		 "mm %p belongs to a machine that was shut down", (void *)mm))
		return -ESRCH;
	return 0;
}

struct mm_struct *mm_alloc(void)
{
	struct mm_struct *mm;

	if (WARN_ON_ONCE(!pinmm_booted()))
		return NULL;
	pthread_once(&hook_once, register_hook);
	mm = kzalloc(sizeof(*mm));
	if (!mm)
		return NULL;
	mm->pgd_page = pgtable_alloc(mm);
	if (!mm->pgd_page || live_set_add(&live_mms, mm)) {
		if (mm->pgd_page)
			pgtable_free(mm, mm->pgd_page);
		free(mm);
		return NULL;
	}
	mm->machine_gen = machine_generation();
	pthread_rwlock_init(&mm->mmap_lock, NULL);
	pthread_spin_init(&mm->page_table_lock, PTHREAD_PROCESS_PRIVATE);
	atomic_init(&mm->mm_users, 1);
	atomic_init(&mm->mm_count, 1);
	atomic_init(&mm->memlock_limit, RLIM_INFINITY);
	return mm;
}

void mmgrab(struct mm_struct *mm)
{
	atomic_fetch_add(&mm->mm_count, 1);
}

void mmdrop(struct mm_struct *mm)
{
	if (atomic_fetch_sub(&mm->mm_count, 1) != 1)
		return;
	pthread_rwlock_destroy(&mm->mmap_lock);
	pthread_spin_destroy(&mm->page_table_lock);
	free(mm->vmas);
	free(mm);
}

/* Unmap everything and free the page tables. An empty shell (torn down by shutdown) has
 * nothing left to free. */
static void exit_mmap(struct mm_struct *mm)
{
	if (!mm->pgd_page)
		return;
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
	if (mm_check(mm))
		return;
	WARN_ON_ONCE(atomic_fetch_add(&mm->mm_users, 1) <= 0);
}

void mmput(struct mm_struct *mm)
{
	int old;

	/* The set, not the mm, says whether this reference still exists. A shell of an earlier
	 * machine may be released: that frees host memory only. */
	if (!mm || WARN(!live_set_has(&live_mms, mm),
			"mmput() of mm %p, which is not a live mm (a second last mmput()?)",
			(void *)mm))
		return;
	old = atomic_fetch_sub(&mm->mm_users, 1);
	if (WARN_ON_ONCE(old <= 0) || old != 1)
		return;
	live_set_del(&live_mms, mm);
	/* Pins that outlive their address space are worth a report naming who took them. */
	if (pin_owner_enabled())
		pin_owner_mm_exit(mm);
	exit_mmap(mm);
	mmdrop(mm);
}

/* This thread leaves mm: no longer its CPU, its references dropped. */
static void unuse_mm(struct mm_struct *mm)
{
	this_thread_mm = NULL;
	atomic_fetch_sub(&mm->nr_threads, 1);
	rcu_unregister_thread();
	mmput(mm);
	mmdrop(mm);
}

void kthread_use_mm(struct mm_struct *mm)
{
	struct mm_struct *old = this_thread_mm;

	/* A shell left by pinmm_shutdown() (which could not detach this thread) goes first. */
	if (old && !mm_of_this_machine(old)) {
		WARN(1, "this thread still ran in mm %p of a machine that was shut down; leaving it",
		     (void *)old);
		unuse_mm(old);
	}
	if (WARN_ON_ONCE(this_thread_mm != NULL) || WARN_ON_ONCE(!mm) || mm_check(mm))
		return;
	mmget(mm);
	atomic_fetch_add(&mm->mm_count, 1);
	atomic_fetch_add(&mm->nr_threads, 1);
	rcu_register_thread();
	this_thread_mm = mm;
}

void kthread_unuse_mm(struct mm_struct *mm)
{
	if (WARN_ON_ONCE(this_thread_mm != mm || !mm))
		return;
	unuse_mm(mm);
}

struct mm_struct *current_mm(void)
{
	struct mm_struct *mm = this_thread_mm;

	/* The thread's reference keeps mm alive: only its machine can be stale. */
	if (__builtin_expect(mm && !mm_of_this_machine(mm), 0)) {
		WARN(1, "the current mm %p belongs to a machine that was shut down", (void *)mm);
		return NULL;
	}
	return mm;
}

/*
 * pinmm_shutdown()'s first step: detach the calling thread from its mm, then tear down every
 * mm of this machine still alive (its holders keep an empty shell that they may only
 * release). Other threads cannot be detached from here: they are reported, and their next
 * kthread_use_mm() leaves the shell. Returns the number of reports.
 */
static unsigned long mm_shutdown(void)
{
	struct mm_struct *cur = this_thread_mm, **mms;
	unsigned long reported = 0;
	size_t n;

	if (cur && mm_of_this_machine(cur)) {
		pinmm_log("pinmm: shutdown: the calling thread still ran in mm %p: detached\n",
			  (void *)cur);
		unuse_mm(cur);
		reported++;
	}
	n = live_set_snapshot(&live_mms, (void ***)&mms);
	for (size_t i = 0; mms && i < n; i++) {
		struct mm_struct *mm = mms[i];
		int threads = atomic_load(&mm->nr_threads);

		if (!mm_of_this_machine(mm))
			continue;
		pinmm_log("pinmm: shutdown: mm %p is still alive (%d user(s)): its address space is "
			  "torn down, its holders may only mmput() it\n",
			  (void *)mm, atomic_load(&mm->mm_users));
		if (threads)
			pinmm_log("pinmm: shutdown: mm %p is still the current mm of %d other "
				  "thread(s): they must kthread_unuse_mm() it\n",
				  (void *)mm, threads);
		exit_mmap(mm);
		reported++;
	}
	free(mms);
	return reported;
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
