/* SPDX-License-Identifier: MIT */
/*
 * RLIMIT_MEMLOCK accounting of an mm (Linux's account_locked_vm() and __account_locked_vm() in
 * mm/util.c): the per-mm limit and CAP_IPC_LOCK that stand for the process's rlimit and
 * capability, and the charges to mm->locked_vm. io_uring's charges to mm->pinned_vm are made
 * by src/io_uring/rsrc.c against the same limit (mm_pinned_vm_charge() below).
 *
 * The rule that is easy to break: a charge is checked against the limit and added as one step.
 * locked_vm changes under the mmap write lock only; pinned_vm is charged with a compare and
 * exchange under at least the mmap read lock; the limit changes under the mmap write lock, so
 * a new limit checked against both counters cannot be overtaken by a charge. Uncharges only
 * lower the counters and need no lock.
 */
#include <errno.h>
#include <sys/resource.h>

#include "internal.h"
#include "lib/internal.h"

static bool memlock_bypass(const struct mm_struct *mm)
{
	return atomic_load_explicit(&mm->cap_ipc_lock, memory_order_relaxed);
}

/* The limit in pages (ULONG_MAX for none). */
static unsigned long memlock_limit_pages(const struct mm_struct *mm)
{
	unsigned long limit = atomic_load_explicit(&mm->memlock_limit, memory_order_relaxed);

	return limit == RLIM_INFINITY ? ULONG_MAX : limit >> PAGE_SHIFT;
}

int __account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc, bool bypass_rlim)
{
	unsigned long locked_vm;

	mmap_assert_write_locked(mm);
	locked_vm = atomic_load_explicit(&mm->locked_vm, memory_order_relaxed);
	if (inc) {
		if (!bypass_rlim && (pages > memlock_limit_pages(mm) ||
				     locked_vm > memlock_limit_pages(mm) - pages))
			return -ENOMEM;
		atomic_store_explicit(&mm->locked_vm, locked_vm + pages, memory_order_relaxed);
	} else {
		if (WARN_ON_ONCE(pages > locked_vm))
			pages = locked_vm;
		atomic_store_explicit(&mm->locked_vm, locked_vm - pages, memory_order_relaxed);
	}
	return 0;
}

int account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc)
{
	int ret;

	if (!pages || !mm)
		return 0;
	if (mm_check(mm))
		return -ESRCH;
	mmap_write_lock(mm);
	ret = __account_locked_vm(mm, pages, inc, memlock_bypass(mm));
	mmap_write_unlock(mm);
	return ret;
}

int mm_pinned_vm_charge(struct mm_struct *mm, unsigned long pages, bool bypass_rlim)
{
	long long cur = atomic_load_explicit(&mm->pinned_vm, memory_order_relaxed);
	unsigned long limit = memlock_limit_pages(mm);

	mmap_assert_locked(mm);
	do {
		if (!bypass_rlim && (pages > limit || (unsigned long)cur > limit - pages))
			return -ENOMEM;
	} while (!atomic_compare_exchange_weak_explicit(&mm->pinned_vm, &cur,
							cur + (long long)pages,
							memory_order_relaxed,
							memory_order_relaxed));
	return 0;
}

void mm_pinned_vm_uncharge(struct mm_struct *mm, unsigned long pages)
{
	long long old = atomic_fetch_sub_explicit(&mm->pinned_vm, (long long)pages,
						  memory_order_relaxed);

	WARN_ON_ONCE(old < (long long)pages);
}

int mm_set_memlock_limit(struct mm_struct *mm, unsigned long limit)
{
	unsigned long pages = limit == RLIM_INFINITY ? ULONG_MAX : limit >> PAGE_SHIFT;
	int ret = 0;

	if (!mm)
		return -EINVAL;
	if (mm_check(mm))
		return -ESRCH;
	mmap_write_lock(mm);
	if (atomic_load_explicit(&mm->locked_vm, memory_order_relaxed) > pages ||
	    (unsigned long)atomic_load_explicit(&mm->pinned_vm, memory_order_relaxed) > pages)
		ret = -EBUSY;
	else
		atomic_store_explicit(&mm->memlock_limit, limit, memory_order_relaxed);
	mmap_write_unlock(mm);
	return ret;
}

unsigned long mm_memlock_limit(const struct mm_struct *mm)
{
	return mm ? atomic_load_explicit(&mm->memlock_limit, memory_order_relaxed) : 0;
}

int mm_set_cap_ipc_lock(struct mm_struct *mm, bool on)
{
	if (!mm)
		return -EINVAL;
	if (mm_check(mm))
		return -ESRCH;
	mmap_write_lock(mm);
	atomic_store_explicit(&mm->cap_ipc_lock, on, memory_order_relaxed);
	mmap_write_unlock(mm);
	return 0;
}

bool mm_memlock_bypass(const struct mm_struct *mm)
{
	return memlock_bypass(mm);
}
