/* SPDX-License-Identifier: MIT */
/*
 * The host files' block allocation: delayed allocation as ext4 does it. A write fault of a
 * shared mapping (page_mkwrite) reserves a block for the page (PG_private: the page has its
 * block reserved, as ext4's page has its delayed buffers); writeback consumes the reservation
 * for the write it submits. A dirty page that reaches writeback without a reservation was
 * dirtied behind the file system's back (set_page_dirty() by someone who never faulted the
 * page writable: a driver releasing GUP pages): that is ext4's "dirtied without page_mkwrite"
 * WARN, counted here; the block is allocated then if space is left, else the data is lost and
 * -ENOSPC waits for the next fsync.
 *
 * The file system is copy-on-write in its allocation (as btrfs): every write of a page goes to
 * a new block, and the block it replaces is freed when the write completes. So the space that
 * counts is the space for writes to come: blocks reserved (dirty pages that were faulted
 * writable) and blocks in flight (writes submitted, not completed). capacity bounds their sum;
 * data at rest is not counted.
 *
 * The rule that is easy to break: PG_private of a page-cache page and space.reserved change
 * together, with the page locked, so that pinmm_check_invariants() can count one against the
 * other on a quiescent machine. shmem pages never get PG_private (no page_mkwrite, no blocks).
 */
#include <errno.h>
#include <limits.h>

#include "internal.h"

static struct {
	pthread_mutex_t lock;
	unsigned long gen; /* the machine this belongs to */
	unsigned long capacity, reserved, in_flight;
	unsigned long warned, lost, enospc_faults;
} space = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Lock space, resetting it for a new machine. */
static void space_lock(void)
{
	pthread_mutex_lock(&space.lock);
	if (space.gen != machine_generation()) {
		space.gen = machine_generation();
		space.capacity = PINMM_FS_CAPACITY_UNLIMITED;
		space.reserved = space.in_flight = 0;
		space.warned = space.lost = space.enospc_faults = 0;
	}
}

/* PG_private changes only under the page lock, which the callers hold: test, then clear. */
static bool test_clear_reserved(struct page *page)
{
	if (!PagePrivate(page))
		return false;
	ClearPagePrivate(page);
	return true;
}

static bool space_free(void)
{
	return space.reserved + space.in_flight < space.capacity;
}

int fs_reserve_block(struct page *page)
{
	int ret = 0;

	VM_BUG_ON(!PageLocked(page));
	if (PagePrivate(page))
		return 0;
	space_lock();
	if (space_free()) {
		space.reserved++;
		SetPagePrivate(page);
	} else {
		space.enospc_faults++;
		ret = -ENOSPC;
	}
	pthread_mutex_unlock(&space.lock);
	return ret;
}

void fs_release_reservation(struct page *page)
{
	VM_BUG_ON(!PageLocked(page));
	if (!test_clear_reserved(page))
		return;
	space_lock();
	space.reserved--;
	pthread_mutex_unlock(&space.lock);
}

int fs_alloc_block_for_write(struct page *page)
{
	int ret = 0;

	VM_BUG_ON(!PageLocked(page));
	space_lock();
	if (test_clear_reserved(page)) {
		space.reserved--;
		space.in_flight++;
	} else {
		/* Once per machine on the log, every time in the count. */
		if (!space.warned++)
			__pinmm_warn(__FILE__, __LINE__, __func__,
				     "page %#lx of a host file dirtied without page_mkwrite (no block "
				     "reserved at writeback)", page_to_pfn(page));
		if (space_free()) {
			space.in_flight++;
		} else {
			space.lost++;
			ret = -ENOSPC;
		}
	}
	pthread_mutex_unlock(&space.lock);
	return ret;
}

void fs_free_block(void)
{
	space_lock();
	space.in_flight--;
	pthread_mutex_unlock(&space.lock);
}

unsigned long fs_reserved_blocks(void)
{
	unsigned long n;

	space_lock();
	n = space.reserved;
	pthread_mutex_unlock(&space.lock);
	return n;
}

int pinmm_fs_set_capacity(unsigned long blocks)
{
	int ret = 0;

	if (!pinmm_booted())
		return -ENODEV;
	space_lock();
	if (blocks < space.reserved + space.in_flight)
		ret = -EBUSY;
	else
		space.capacity = blocks;
	pthread_mutex_unlock(&space.lock);
	return ret;
}

int pinmm_fs_stats(struct pinmm_fs_stats *stats)
{
	if (!stats)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	space_lock();
	*stats = (struct pinmm_fs_stats){
		.capacity = space.capacity,
		.reserved = space.reserved,
		.in_flight = space.in_flight,
		.dirtied_without_mkwrite = space.warned,
		.lost_pages = space.lost,
		.enospc_faults = space.enospc_faults,
	};
	pthread_mutex_unlock(&space.lock);
	return 0;
}
