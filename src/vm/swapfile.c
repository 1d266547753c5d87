/* SPDX-License-Identifier: MIT */
/*
 * The swap area (Linux's mm/swapfile.c): swapon() and swapoff() of a host file, the slot map
 * (swap_map: how many swap entries name each slot, and whether the swap cache holds it), the
 * swap cache's slots (which page holds a slot's contents in memory), and try_to_unuse(), which
 * brings every page back in before swapoff() closes the file.
 *
 * One area at a time, type 0; its slots are the file's pages but the first (Linux's header
 * page), so offset 0 is never a slot and no swap entry is 0. Slots are handed out in order from
 * where the last search stopped (Linux's cluster allocator does so within clusters), which
 * keeps a batch of pages written together next to each other in the file.
 *
 * It talks to swap_state.c and page_io.c (swap.h), to memory.c's fault handler (try_to_unuse()
 * faults pages in through it) and to the machine's shutdown (the area is turned off with the
 * machine, after the address spaces are gone).
 *
 * The rule that is easy to break: everything here is under swap_lock, and the area's arrays
 * are freed under it; every entry point checks the area is on and the offset is inside it, so
 * a stale entry read from a page table after swapoff() finds nothing instead of freed memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swap.h"

static struct {
	bool on;
	bool writeok;            /* slots may be handed out (false while swapoff() runs) */
	int fd;
	dev_t dev;
	ino_t ino;
	unsigned long max;       /* offsets 1..max-1 are slots */
	unsigned int *swap_map;  /* per offset */
	struct page **cache;     /* per offset: the swap-cache page, or NULL */
	unsigned long inuse;     /* slots whose swap_map word is not 0 */
	unsigned long cached;    /* pages in the swap cache */
	unsigned long next;      /* where the next slot search starts */
} si;

static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER;
/* swapon() / swapoff() against each other (swap_lock cannot be held across try_to_unuse()). */
static pthread_mutex_t swapon_mutex = PTHREAD_MUTEX_INITIALIZER;

/* The slot entry names, or 0 if it is not one of the area's. swap_lock held. */
static unsigned long slot_of(swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);

	if (!si.on || swp_type(entry) != 0 || off == 0 || off >= si.max)
		return 0;
	return off;
}

int swap_fd(void)
{
	return si.fd;
}

swp_entry_t get_swap_page(void)
{
	swp_entry_t entry = {0};

	pthread_mutex_lock(&swap_lock);
	if (si.on && si.writeok && si.inuse < si.max - 1) {
		unsigned long off = si.next;

		for (unsigned long n = 1; n < si.max; n++, off++) {
			if (off >= si.max)
				off = 1;
			if (!si.swap_map[off]) {
				si.swap_map[off] = SWAP_HAS_CACHE;
				si.inuse++;
				si.next = off + 1;
				entry = swp_entry(0, off);
				break;
			}
		}
	}
	pthread_mutex_unlock(&swap_lock);
	return entry;
}

struct page *lookup_swap_cache(swp_entry_t entry)
{
	struct page *page = NULL;
	unsigned long off;

	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	/* A page being freed has its refcount frozen at 0 while it still sits here. */
	if (off && si.cache[off] && get_page_unless_zero(si.cache[off]))
		page = si.cache[off];
	pthread_mutex_unlock(&swap_lock);
	return page;
}

int swapcache_prepare(swp_entry_t entry)
{
	unsigned long off;
	int ret = 0;

	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	if (!off || !(si.swap_map[off] & SWAP_COUNT_MASK))
		ret = -ENOENT;
	else if (si.swap_map[off] & SWAP_HAS_CACHE)
		ret = -EEXIST;
	else
		si.swap_map[off] |= SWAP_HAS_CACHE;
	pthread_mutex_unlock(&swap_lock);
	return ret;
}

/* Drop the cache's hold on slot off. swap_lock held. */
static void clear_cache_hold(unsigned long off)
{
	si.swap_map[off] &= ~SWAP_HAS_CACHE;
	if (!si.swap_map[off])
		si.inuse--;
}

void swapcache_clear(swp_entry_t entry)
{
	unsigned long off;

	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	if (off && !si.cache[off])
		clear_cache_hold(off);
	pthread_mutex_unlock(&swap_lock);
}

void add_to_swap_cache(struct page *page, swp_entry_t entry)
{
	unsigned long off;

	get_page(page);
	page->private = entry.val;
	SetPageSwapCache(page);
	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	BUG_ON(!off || si.cache[off] || !(si.swap_map[off] & SWAP_HAS_CACHE));
	si.cache[off] = page;
	si.cached++;
	pthread_mutex_unlock(&swap_lock);
}

/* Unhook page from its slot. swap_lock held. */
static void __delete_from_swap_cache(struct page *page)
{
	unsigned long off = slot_of((swp_entry_t){page->private});

	BUG_ON(!off || si.cache[off] != page);
	si.cache[off] = NULL;
	si.cached--;
	clear_cache_hold(off);
}

void delete_from_swap_cache(struct page *page)
{
	BUG_ON(!PageSwapCache(page) || PageWriteback(page));
	pthread_mutex_lock(&swap_lock);
	__delete_from_swap_cache(page);
	pthread_mutex_unlock(&swap_lock);
	ClearPageSwapCache(page);
	page->private = 0;
	put_page(page);
}

void swap_cache_migrate(struct page *old, struct page *new)
{
	unsigned long off;

	get_page(new);
	new->private = old->private;
	SetPageSwapCache(new);
	pthread_mutex_lock(&swap_lock);
	off = slot_of((swp_entry_t){old->private});
	BUG_ON(!off || si.cache[off] != old);
	si.cache[off] = new;
	pthread_mutex_unlock(&swap_lock);
	ClearPageSwapCache(old);
	old->private = 0;
}

bool swap_cache_try_release(struct page *page)
{
	/* Linux's __remove_mapping(): the caller's reference and the cache's, nothing else. */
	if (PageDirty(page) || PageWriteback(page) || page_mapped(page) ||
	    !page_ref_freeze(page, 2))
		return false;
	pthread_mutex_lock(&swap_lock);
	__delete_from_swap_cache(page);
	pthread_mutex_unlock(&swap_lock);
	ClearPageSwapCache(page);
	page->private = 0;
	page_ref_unfreeze(page, 1);
	return true;
}

void swap_duplicate(swp_entry_t entry)
{
	unsigned long off;

	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	BUG_ON(!off || !si.swap_map[off]);
	si.swap_map[off]++;
	pthread_mutex_unlock(&swap_lock);
}

/* swap_lock held. Returns the slot's word after. */
static unsigned int __swap_free(unsigned long off)
{
	BUG_ON(!(si.swap_map[off] & SWAP_COUNT_MASK));
	if (!--si.swap_map[off])
		si.inuse--;
	return si.swap_map[off];
}

void swap_free(swp_entry_t entry)
{
	unsigned long off;

	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	BUG_ON(!off);
	__swap_free(off);
	pthread_mutex_unlock(&swap_lock);
}

unsigned int swap_count(swp_entry_t entry)
{
	unsigned long off;
	unsigned int count = 0;

	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	if (off)
		count = si.swap_map[off] & SWAP_COUNT_MASK;
	pthread_mutex_unlock(&swap_lock);
	return count;
}

bool try_to_free_swap(struct page *page)
{
	if (!PageSwapCache(page) || PageWriteback(page) ||
	    swap_count((swp_entry_t){page->private}))
		return false;
	delete_from_swap_cache(page);
	/* Its only copy is in memory now. */
	SetPageDirty(page);
	return true;
}

void free_swap_and_cache(swp_entry_t entry)
{
	struct page *page = NULL;
	unsigned long off;

	pthread_mutex_lock(&swap_lock);
	off = slot_of(entry);
	BUG_ON(!off);
	if (__swap_free(off) == SWAP_HAS_CACHE && si.cache[off] &&
	    get_page_unless_zero(si.cache[off]))
		page = si.cache[off];
	pthread_mutex_unlock(&swap_lock);
	if (!page)
		return;
	/* Called under a page-table lock: the page lock is only tried (Linux does the same);
	 * a page left behind is freed by the next swap-out pass or by swapoff(). */
	if (trylock_page(page)) {
		if (PageSwapCache(page) && !page_mapped(page))
			try_to_free_swap(page);
		unlock_page(page);
	}
	put_page(page);
}

void free_swap_cache(struct page *page)
{
	if (PageSwapCache(page) && !page_mapped(page) && trylock_page(page)) {
		try_to_free_swap(page);
		unlock_page(page);
	}
}

bool vm_swap_full(void)
{
	bool full;

	pthread_mutex_lock(&swap_lock);
	full = si.on && si.inuse * 2 > si.max - 1;
	pthread_mutex_unlock(&swap_lock);
	return full;
}

int pinmm_swap_info(struct pinmm_swap_info *info)
{
	if (!info)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	pthread_mutex_lock(&swap_lock);
	*info = (struct pinmm_swap_info){
		.total = si.on ? si.max - 1 : 0,
		.free = si.on ? si.max - 1 - si.inuse : 0,
		.cached = si.cached,
	};
	pthread_mutex_unlock(&swap_lock);
	return 0;
}

unsigned long swap_area_max(void)
{
	unsigned long max;

	pthread_mutex_lock(&swap_lock);
	max = si.on ? si.max : 0;
	pthread_mutex_unlock(&swap_lock);
	return max;
}

unsigned int swap_map_word(unsigned long off)
{
	unsigned int word = 0;

	pthread_mutex_lock(&swap_lock);
	if (si.on && off < si.max)
		word = si.swap_map[off];
	pthread_mutex_unlock(&swap_lock);
	return word;
}

struct page *swap_cache_page(unsigned long off)
{
	struct page *page = NULL;

	pthread_mutex_lock(&swap_lock);
	if (si.on && off < si.max)
		page = si.cache[off];
	pthread_mutex_unlock(&swap_lock);
	return page;
}

void swap_area_counts(unsigned long *inuse, unsigned long *cached)
{
	pthread_mutex_lock(&swap_lock);
	*inuse = si.on ? si.inuse : 0;
	*cached = si.cached;
	pthread_mutex_unlock(&swap_lock);
}

/* ---- swapon / swapoff ---- */

static unsigned long swap_shutdown(void);
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void register_hook(void)
{
	set_shutdown_hook(SHUTDOWN_HOOK_SWAP, swap_shutdown);
}

int swapon(const char *path, int flags)
{
	unsigned int *map;
	struct page **cache;
	struct stat st;
	unsigned long max;
	int fd, ret;

	if (!pinmm_booted())
		return -ENODEV;
	if (!path || !*path || (flags & ~(SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK)))
		return -EINVAL;
	pthread_once(&hook_once, register_hook);
	pthread_mutex_lock(&swapon_mutex);
	if (si.on) {
		ret = -EBUSY;
		goto out;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto close;
	}
	if (!S_ISREG(st.st_mode) || (unsigned long)st.st_size < PINMM_SWAP_MIN_BYTES) {
		ret = -EINVAL;
		goto close;
	}
	max = (unsigned long)st.st_size / PAGE_SIZE;
	if (max > (1UL << SWP_OFFSET_BITS))
		max = 1UL << SWP_OFFSET_BITS;
	map = kzalloc(max * sizeof(*map));
	cache = kzalloc(max * sizeof(*cache));
	if (!map || !cache) {
		free(map);
		free(cache);
		ret = -ENOMEM;
		goto close;
	}
	pthread_mutex_lock(&swap_lock);
	si.fd = fd;
	si.dev = st.st_dev;
	si.ino = st.st_ino;
	si.max = max;
	si.swap_map = map;
	si.cache = cache;
	si.inuse = si.cached = 0;
	si.next = 1;
	si.writeok = true;
	si.on = true;
	pthread_mutex_unlock(&swap_lock);
	pthread_mutex_unlock(&swapon_mutex);
	return 0;
close:
	close(fd);
out:
	pthread_mutex_unlock(&swapon_mutex);
	return ret;
}

struct unuse {
	int err;
	bool found;
};

static int find_swap_pte(pte_t *pte, unsigned long addr, void *arg)
{
	unsigned long *at = arg;

	if (!is_swap_pte(ptep_get(pte)))
		return 0;
	*at = addr;
	return -EAGAIN;
}

/* Fault in every swap entry of mm (Linux's unuse_mm(), through the fault handler, which does
 * what unuse_pte() does: the page from the swap cache or the slot, mapped where the entry
 * was). */
static void unuse_mm(struct mm_struct *mm, void *arg)
{
	static const struct mm_walk_ops ops = {.pte_entry = find_swap_pte};
	struct unuse *u = arg;
	struct vm_area_struct *vma;

	if (u->err)
		return;
	mmap_read_lock(mm);
	for (vma = find_vma(mm, 0); vma && !u->err; vma = find_vma(mm, vma->vm_end)) {
		unsigned long at = vma->vm_start;

		if (vma->vm_flags & (VM_HUGETLB | VM_PFNMAP) || !vma->anon_vma)
			continue;
		while (at < vma->vm_end) {
			unsigned long found = 0;
			vm_fault_t ret;

			if (walk_page_range(vma, at, vma->vm_end, &ops, &found) != -EAGAIN)
				break;
			u->found = true;
			ret = handle_mm_fault(vma, found, 0);
			if (ret & VM_FAULT_OOM)
				u->err = -ENOMEM;
			else if (ret & VM_FAULT_ERROR)
				u->err = -EIO;
			if (u->err)
				break;
			/* Looked at again: present now, or a race undid it and it is retried. */
			at = found;
		}
	}
	mmap_read_unlock(mm);
}

/* Pages left in the swap cache that no entry names (5.7: pinned pages that could not be
 * freed): out of the cache, into plain anonymous memory. */
static void drop_swap_cache(void)
{
	for (unsigned long off = 1;; off++) {
		struct page *page = NULL;

		pthread_mutex_lock(&swap_lock);
		if (off >= si.max) {
			pthread_mutex_unlock(&swap_lock);
			return;
		}
		if (si.cache[off] && get_page_unless_zero(si.cache[off]))
			page = si.cache[off];
		pthread_mutex_unlock(&swap_lock);
		if (!page)
			continue;
		lock_page(page);
		wait_on_page_writeback(page);
		if (PageSwapCache(page) && page->private == swp_entry(0, off).val)
			try_to_free_swap(page);
		unlock_page(page);
		put_page(page);
	}
}

/* Linux's try_to_unuse(): 0 when no slot is in use any more. */
static int try_to_unuse(void)
{
	for (;;) {
		struct unuse u = {0};
		unsigned long inuse;

		for_each_mm(unuse_mm, &u);
		if (u.err)
			return u.err;
		drop_swap_cache();
		pthread_mutex_lock(&swap_lock);
		inuse = si.inuse;
		pthread_mutex_unlock(&swap_lock);
		if (!inuse)
			return 0;
		/* Entries fork copied behind the walk, or a page the trylock of zap could not
		 * free: another pass. */
		sched_yield();
	}
}

/* Turn the area off; swap_lock not held, no slot in use. */
static void swap_area_free(void)
{
	unsigned int *map;
	struct page **cache;
	int fd;

	pthread_mutex_lock(&swap_lock);
	map = si.swap_map;
	cache = si.cache;
	fd = si.fd;
	si.on = false;
	si.swap_map = NULL;
	si.cache = NULL;
	si.max = 0;
	pthread_mutex_unlock(&swap_lock);
	free(map);
	free(cache);
	close(fd);
}

int swapoff(const char *path)
{
	struct stat st;
	int ret;

	if (!pinmm_booted())
		return -ENODEV;
	if (!path)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	pthread_mutex_lock(&swapon_mutex);
	if (!si.on) {
		ret = -ENODEV;
		goto out;
	}
	if (st.st_dev != si.dev || st.st_ino != si.ino) {
		ret = -EINVAL;
		goto out;
	}
	pthread_mutex_lock(&swap_lock);
	si.writeok = false;
	pthread_mutex_unlock(&swap_lock);
	ret = try_to_unuse();
	if (ret) {
		/* Linux's swapoff() failing in try_to_unuse() re-enables the area. */
		pthread_mutex_lock(&swap_lock);
		si.writeok = true;
		pthread_mutex_unlock(&swap_lock);
		goto out;
	}
	swap_area_free();
out:
	pthread_mutex_unlock(&swapon_mutex);
	return ret;
}

/* The machine stops: its address spaces are gone, and with them every swap entry. Pages the
 * swap cache still holds (a zap that could not lock them) are let go, and the file closed.
 * Returns the slots still named by entries (a leak: 0 on a sound machine). */
static unsigned long swap_shutdown(void)
{
	unsigned long left;

	pthread_mutex_lock(&swapon_mutex);
	if (!si.on) {
		pthread_mutex_unlock(&swapon_mutex);
		return 0;
	}
	drop_swap_cache();
	pthread_mutex_lock(&swap_lock);
	left = si.inuse;
	pthread_mutex_unlock(&swap_lock);
	if (left)
		pinmm_log("pinmm: shutdown: %lu swap slot(s) still in use\n", left);
	swap_area_free();
	pthread_mutex_unlock(&swapon_mutex);
	return left;
}

