/* SPDX-License-Identifier: MIT */
/*
 * hugetlb mappings: a VM_HUGETLB VMA maps pool pages (hugetlb.h) with PMD leaves (2 MiB) or PUD
 * leaves (1 GiB). Private mappings copy on write after fork, a whole huge page at a time.
 *
 * Reservations, as Linux 5.7's mm/hugetlb.c: a private mapping without MAP_NORESERVE reserves
 * all its pages at mmap (hugetlb_reserve_pages(); -ENOMEM when the pool cannot promise them)
 * and records in its resv_map which of them have been consumed. Only the process that called
 * mmap (HPAGE_RESV_OWNER) holds reservations: its first fault of a page takes a reserved
 * page; a forked child has none, and its faults and copies take only pages nobody reserved.
 * The owner's copy-on-write of a page shared with a child takes an unreserved page too; when
 * there is none, the owner takes the page back from its children (unmap_ref_private(): their
 * mappings of it go, their VMA is marked HPAGE_RESV_UNMAPPED and faults there are SIGBUS) and
 * reuses it. Unmapping returns the reservations that were never consumed.
 *
 * Faults of one page are serialised by a hashed mutex (Linux's hugetlb_fault_mutex_table), so
 * that the consumed-or-not test and the dequeue of a reservation cannot race. Entries are
 * locked with the PMD table's ptl (2 MiB) or mm->page_table_lock (1 GiB), through
 * huge_pte_lockptr(). An entry here is an unsigned long slot read and written atomically.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define HPAGE_RESV_OWNER 1UL
#define HPAGE_RESV_UNMAPPED 2UL
#define HPAGE_RESV_MASK (HPAGE_RESV_OWNER | HPAGE_RESV_UNMAPPED)

/* ---- resv_map: a set of huge page indexes, as sorted disjoint [from, to) regions ---- */

struct file_region {
	long from, to;
};

struct resv_map {
	atomic_int refs;
	pthread_mutex_t lock;
	struct file_region *regions;
	unsigned long nr, cap;
};

struct resv_map *resv_map_alloc(void)
{
	struct resv_map *map = calloc(1, sizeof(*map));

	if (!map)
		return NULL;
	atomic_init(&map->refs, 1);
	pthread_mutex_init(&map->lock, NULL);
	return map;
}

void resv_map_put(struct resv_map *map)
{
	if (!map || atomic_fetch_sub(&map->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&map->lock);
	free(map->regions);
	free(map);
}

/* Pages of [from, to) in the map. Lock held. */
static long __region_count(struct resv_map *map, long from, long to)
{
	long n = 0;

	for (unsigned long i = 0; i < map->nr; i++) {
		long lo = map->regions[i].from > from ? map->regions[i].from : from;
		long hi = map->regions[i].to < to ? map->regions[i].to : to;

		if (lo < hi)
			n += hi - lo;
	}
	return n;
}

long region_count(struct resv_map *map, long from, long to)
{
	long n;

	pthread_mutex_lock(&map->lock);
	n = __region_count(map, from, to);
	pthread_mutex_unlock(&map->lock);
	return n;
}

/* Add [from, to) to the map; returns how many of its pages were not in it, or -ENOMEM. Lock
 * held. */
static long __region_add(struct resv_map *map, long from, long to)
{
	unsigned long i, j;
	long added;

	if (map->nr == map->cap) {
		unsigned long cap = map->cap ? 2 * map->cap : 8;
		struct file_region *r = realloc(map->regions, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		map->regions = r;
		map->cap = cap;
	}
	added = (to - from) - __region_count(map, from, to);
	/* Regions i..j-1 touch or overlap [from, to): they become one. */
	for (i = 0; i < map->nr && map->regions[i].to < from; i++)
		;
	for (j = i; j < map->nr && map->regions[j].from <= to; j++) {
		if (map->regions[j].from < from)
			from = map->regions[j].from;
		if (map->regions[j].to > to)
			to = map->regions[j].to;
	}
	if (j == i) {
		memmove(&map->regions[i + 1], &map->regions[i], (map->nr - i) * sizeof(map->regions[0]));
		map->nr++;
	} else {
		memmove(&map->regions[i + 1], &map->regions[j], (map->nr - j) * sizeof(map->regions[0]));
		map->nr -= j - i - 1;
	}
	map->regions[i] = (struct file_region){from, to};
	return added;
}

long region_add(struct resv_map *map, long from, long to)
{
	long added;

	pthread_mutex_lock(&map->lock);
	added = __region_add(map, from, to);
	pthread_mutex_unlock(&map->lock);
	return added;
}

/* ---- a VMA's reservations ---- */

static unsigned long vma_resv_bits(const struct vm_area_struct *vma)
{
	return atomic_load_explicit(&vma->vm_private_data, memory_order_acquire);
}

static bool is_vma_resv_set(const struct vm_area_struct *vma, unsigned long flag)
{
	return vma_resv_bits(vma) & flag;
}

/* A private mapping's own resv_map (its owner's, shared with the VMAs split from it). */
static struct resv_map *vma_private_resv_map(const struct vm_area_struct *vma)
{
	return (struct resv_map *)(vma_resv_bits(vma) & ~HPAGE_RESV_MASK);
}

/* The reservations a fault of vma consults: a shared mapping's are its file's (every mapping
 * of the file shares them); a private one's are the owner's alone. */
static struct resv_map *vma_resv_map(const struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_MAYSHARE)
		return vma->vm_file->f_mapping->private_data;
	return is_vma_resv_set(vma, HPAGE_RESV_OWNER) ? vma_private_resv_map(vma) : NULL;
}

/* Linux's vma_hugecache_offset(): the huge page index of addr in the mapping's object. */
static long vma_hugecache_offset(struct hstate *h, const struct vm_area_struct *vma,
				 unsigned long addr)
{
	return (long)(((addr - vma->vm_start) >> (h->order + PAGE_SHIFT)) +
		      (vma->vm_pgoff >> h->order));
}

int hugetlb_reserve_file_pages(struct resv_map *map, struct hstate *h, long from, long to)
{
	long chg;
	int ret;

	/* Under the map's lock: a fault committing a page of the range cannot slip between the
	 * count and the add (its page would be counted as a reservation never consumed). */
	pthread_mutex_lock(&map->lock);
	chg = (to - from) - __region_count(map, from, to);
	ret = hugetlb_acct_memory(h, chg);
	if (!ret && __region_add(map, from, to) < 0) {
		hugetlb_acct_memory(h, -chg);
		ret = -ENOMEM;
	}
	pthread_mutex_unlock(&map->lock);
	return ret;
}

void hugetlb_unreserve_file_pages(struct resv_map *map, struct hstate *h, long freed)
{
	/* Every index in a file's map is reserved or holds a page: what remains once its pages
	 * are gone was reserved and never used. */
	long unused = region_count(map, 0, LONG_MAX) - freed;

	if (unused > 0)
		hugetlb_acct_memory(h, -unused);
}

int hugetlb_reserve_pages(struct vm_area_struct *vma)
{
	struct hstate *h = hstate_vma(vma);
	long chg = (long)((vma->vm_end - vma->vm_start) >> (h->order + PAGE_SHIFT));
	struct resv_map *map;
	int ret;

	if (vma->vm_flags & VM_NORESERVE)
		return 0;
	if (vma->vm_flags & VM_MAYSHARE) {
		/* The file's pages in the range: a fault past its end is SIGBUS, never a page. */
		long from = (long)(vma->vm_pgoff >> h->order);
		long eof = (long)(i_size_read(vma->vm_file->f_mapping) >> (h->order + PAGE_SHIFT));
		long to = from + chg < eof ? from + chg : eof;

		return from < to ? hugetlb_reserve_file_pages(vma_resv_map(vma), h, from, to) : 0;
	}
	map = resv_map_alloc();
	if (!map)
		return -ENOMEM;
	ret = hugetlb_acct_memory(h, chg);
	if (ret) {
		resv_map_put(map);
		return ret;
	}
	atomic_store_explicit(&vma->vm_private_data, (unsigned long)map | HPAGE_RESV_OWNER,
			      memory_order_release);
	return 0;
}

void hugetlb_vm_op_open(struct vm_area_struct *vma)
{
	struct resv_map *map = vma_private_resv_map(vma);

	if (map && is_vma_resv_set(vma, HPAGE_RESV_OWNER))
		atomic_fetch_add(&map->refs, 1);
}

void reset_vma_resv_huge_pages(struct vm_area_struct *vma)
{
	resv_map_put(vma_private_resv_map(vma));
	atomic_store_explicit(&vma->vm_private_data, 0, memory_order_release);
}

void hugetlb_vm_op_close(struct vm_area_struct *vma)
{
	struct resv_map *map = vma_private_resv_map(vma);
	struct hstate *h = hstate_vma(vma);
	long start, end, unused;

	if (!map || !is_vma_resv_set(vma, HPAGE_RESV_OWNER) || !h)
		return;
	start = vma_hugecache_offset(h, vma, vma->vm_start);
	end = vma_hugecache_offset(h, vma, vma->vm_end);
	/* The reservations of this range never consumed go back to the pool. */
	unused = (end - start) - region_count(map, start, end);
	if (unused > 0)
		hugetlb_acct_memory(h, -unused);
}

/* Faults of one huge page of one object wait for each other. */
#define FAULT_MUTEXES 64
static pthread_mutex_t hugetlb_fault_mutex_table[FAULT_MUTEXES] = {
	[0 ... FAULT_MUTEXES - 1] = PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *hugetlb_fault_mutex(const struct vm_area_struct *vma, long idx)
{
	/* A shared mapping's page is the file's: all its mappings fault it under one mutex. */
	unsigned long key = (vma->vm_flags & VM_MAYSHARE) ? (unsigned long)vma->vm_file->f_mapping
							   : (unsigned long)vma->vm_mm;

	key = (key >> 6) * 0x9e3779b97f4a7c15UL + (unsigned long)idx;
	return &hugetlb_fault_mutex_table[(key ^ (key >> 29)) % FAULT_MUTEXES];
}

struct page *alloc_huge_page(struct vm_area_struct *vma, unsigned long addr, bool avoid_reserve)
{
	struct hstate *h = hstate_vma(vma);
	struct resv_map *map = vma_resv_map(vma);
	long idx = vma_hugecache_offset(h, vma, addr);
	bool use_reserve = false, failed = false;
	struct page *page;

	if (!map)
		return dequeue_huge_page_reserve(h, false);
	pthread_mutex_lock(&map->lock);
	/* A private map lists the pages consumed, a file's those reserved or present (and a
	 * file's page is only allocated when absent): either way the index says whether a
	 * reservation waits for this page. */
	if (!avoid_reserve) {
		bool listed = __region_count(map, idx, idx + 1);

		use_reserve = (vma->vm_flags & VM_MAYSHARE) ? listed : !listed;
	}
	page = dequeue_huge_page_reserve(h, use_reserve);
	/* Commit: the index is now consumed (private) or present (file). */
	if (page && __region_add(map, idx, idx + 1) < 0)
		failed = true;
	pthread_mutex_unlock(&map->lock);
	if (failed) {
		put_page(page);
		page = NULL;
	}
	return page;
}

struct hstate *hstate_vma(const struct vm_area_struct *vma)
{
	return size_to_hstate(1UL << vma->vm_huge_shift);
}

unsigned long *huge_pte_offset(struct vm_area_struct *vma, unsigned long addr, bool alloc)
{
	struct mm_struct *mm = vma->vm_mm;

	if (vma->vm_huge_shift == PUD_SHIFT)
		return (unsigned long *)(alloc ? pud_alloc(mm, addr) : pud_lookup(mm, addr));
	return (unsigned long *)(alloc ? pmd_alloc(mm, addr) : pmd_lookup(mm, addr));
}

pthread_spinlock_t *huge_pte_lockptr(struct vm_area_struct *vma, unsigned long *entry)
{
	return vma->vm_huge_shift == PUD_SHIFT ? &vma->vm_mm->page_table_lock : entry_ptl(entry);
}

/* Zero a huge page by giving its host memory back: the host refills it with zeros on first
 * touch, so a 1 GiB page costs nothing until it is used. */
void clear_huge_page(struct page *head, unsigned long size)
{
	if (madvise(page_address(head), size, MADV_DONTNEED))
		memset(page_address(head), 0, size);
}

/* The entry for page; a write makes it dirty, and writable if the VMA allows writing. A
 * shared mapping that may be written maps its page writable at once (5.7's hugetlb_no_page():
 * no copy-on-write, no dirty tracking). */
unsigned long make_huge_entry(struct page *page, struct vm_area_struct *vma, bool write)
{
	unsigned long e = (page_to_pfn(page) << PAGE_SHIFT) | vm_get_page_prot(vma).pgprot |
			  _PAGE_PSE;

	if (write)
		e |= _PAGE_DIRTY | ((vma->vm_flags & VM_WRITE) ? _PAGE_RW : 0);
	if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE))
		e |= _PAGE_RW;
	return e;
}

/* A fault of a shared mapping: the file's page at the fault's index, found in or added to
 * its page cache by the file's fault op (hugetlbfs.c). Fault mutex held. */
static vm_fault_t hugetlb_no_page_shared(struct vm_area_struct *vma, unsigned long *entry,
					 unsigned long haddr, unsigned int flags, struct hstate *h)
{
	pthread_spinlock_t *ptl = huge_pte_lockptr(vma, entry);
	struct vm_fault vmf = {.vma = vma, .flags = flags, .address = haddr,
			       .pgoff = (pgoff_t)vma_hugecache_offset(h, vma, haddr)};
	vm_fault_t ret = vma->vm_ops->fault(&vmf);

	if (ret & VM_FAULT_ERROR)
		return ret;
	pthread_spin_lock(ptl);
	if (pt_entry_load_acquire(entry)) {
		pthread_spin_unlock(ptl);
		put_page(vmf.page);
		return 0;
	}
	page_add_file_rmap(vmf.page, true);
	/* The page cache's reference stays the cache's; the one the fault op gave is the
	 * mapping's. */
	pt_entry_store_release(entry, make_huge_entry(vmf.page, vma, flags & FAULT_FLAG_WRITE));
	pthread_spin_unlock(ptl);
	return 0;
}

static vm_fault_t hugetlb_no_page(struct vm_area_struct *vma, unsigned long *entry,
				  unsigned long haddr, unsigned int flags, struct hstate *h)
{
	pthread_spinlock_t *ptl = huge_pte_lockptr(vma, entry);
	bool write = flags & FAULT_FLAG_WRITE;
	struct page *page;

	if (vma->vm_flags & VM_MAYSHARE)
		return hugetlb_no_page_shared(vma, entry, haddr, flags, h);
	/* The owner's copy-on-write took this mapping's pages back (unmap_ref_private()). */
	if (is_vma_resv_set(vma, HPAGE_RESV_UNMAPPED))
		return VM_FAULT_SIGBUS;
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = alloc_huge_page(vma, haddr, false);
	if (!page)
		return VM_FAULT_SIGBUS;
	clear_huge_page(page, huge_page_size(h));
	pthread_spin_lock(ptl);
	if (pt_entry_load_acquire(entry)) {
		pthread_spin_unlock(ptl);
		put_page(page); /* gives back the reservation it took, if any */
		return 0;
	}
	ClearPagePrivate(page); /* mapped: the reservation is consumed for good */
	page_add_new_anon_rmap(page, vma, haddr, true);
	pt_entry_store_release(entry, make_huge_entry(page, vma, write));
	pthread_spin_unlock(ptl);
	return 0;
}

/* unmap_ref_private(): the owner (vma) takes old back from every other process that maps it
 * at haddr; their VMAs are marked HPAGE_RESV_UNMAPPED. Runs under old's anon_vma lock. */
static bool unmap_ref_one(struct page *old, struct vm_area_struct *v, unsigned long addr,
			  void *arg)
{
	struct vm_area_struct *owner = arg;
	unsigned long *entry;
	pthread_spinlock_t *ptl;
	unsigned long e;

	if (v == owner || v->vm_mm == owner->vm_mm || !(v->vm_flags & VM_HUGETLB) ||
	    (v->vm_flags & VM_MAYSHARE))
		return true;
	if (!is_vma_resv_set(v, HPAGE_RESV_OWNER))
		atomic_fetch_or_explicit(&v->vm_private_data, HPAGE_RESV_UNMAPPED,
					 memory_order_release);
	entry = huge_pte_offset(v, addr, false);
	if (!entry)
		return true;
	ptl = huge_pte_lockptr(v, entry);
	pthread_spin_lock(ptl);
	e = pt_entry_load_acquire(entry);
	if (e && pfn_to_page((e & PTE_PFN_MASK) >> PAGE_SHIFT) == old) {
		pt_entry_store_release(entry, 0);
		page_remove_rmap(old, true);
		put_page(old); /* that mapping's reference; ours keeps the page */
	}
	pthread_spin_unlock(ptl);
	return true;
}

/* A write to a write-protected entry of a private mapping: reuse the page if this is its only
 * mapping, else copy it whole into a page nobody reserved. Fault mutex held.
 *
 * Both rule sets reuse on the mapcount, not the refcount: Linux's hugetlb_wp() keeps the test
 * so that fork+exit users do not run out of pool pages copying pages held by a passing
 * reference. Modern rules add the marker (the reused page becomes PageAnonExclusive) and the
 * unshare fault (FAULT_FLAG_UNSHARE: the same decision, the entry left read-only). */
static vm_fault_t hugetlb_cow(struct vm_area_struct *vma, unsigned long *entry,
			      unsigned long haddr, unsigned long orig, struct hstate *h,
			      unsigned int flags)
{
	bool unshare = flags & FAULT_FLAG_UNSHARE;
	pthread_spinlock_t *ptl = huge_pte_lockptr(vma, entry);
	struct page *old = pfn_to_page((orig & PTE_PFN_MASK) >> PAGE_SHIFT);
	bool owner = is_vma_resv_set(vma, HPAGE_RESV_OWNER);
	struct page *new;

retry_avoidcopy:
	pthread_spin_lock(ptl);
	if (pt_entry_load_acquire(entry) != orig) {
		pthread_spin_unlock(ptl);
		return 0;
	}
	if (compound_mapcount(old) == 1) {
		if (rule_tracks_anon_exclusive() && PageAnon(old))
			SetPageAnonExclusive(old);
		if (unshare) {
			pthread_spin_unlock(ptl);
			return 0;
		}
		pt_entry_store_release(entry, orig | _PAGE_DIRTY | _PAGE_ACCESSED |
					      ((vma->vm_flags & VM_WRITE) ? _PAGE_RW : 0));
		pthread_spin_unlock(ptl);
		return VM_FAULT_WRITE;
	}
	/* Mapped more than once: it cannot be exclusive (Linux's hugetlb_wp() asserts so). */
	WARN_ON_ONCE(PageAnon(old) && PageAnonExclusive(old));
	get_page(old);
	pthread_spin_unlock(ptl);
	/* The owner's reservation for this page went to old: the copy is outside it. */
	new = alloc_huge_page(vma, haddr, owner);
	if (!new) {
		if (owner) {
			/* 5.7: the owner must not fail for want of pages its children hold.
			 * Take old back from them: it is ours alone now, reuse it. */
			rmap_walk_anon_vma(vma->anon_vma, old, unmap_ref_one, vma);
			put_page(old);
			owner = false; /* no second walk: a page still shared is a SIGBUS */
			goto retry_avoidcopy;
		}
		put_page(old);
		return VM_FAULT_SIGBUS;
	}
	memcpy(page_address(new), page_address(old), huge_page_size(h));
	pthread_spin_lock(ptl);
	if (pt_entry_load_acquire(entry) == orig) {
		page_remove_rmap(old, true);
		put_page(old); /* the mapping's */
		ClearPagePrivate(new);
		page_add_new_anon_rmap(new, vma, haddr, true);
		pt_entry_store_release(entry, make_huge_entry(new, vma, !unshare));
		trace_event(TRACE_MM_COW, haddr, page_to_pfn(old), page_to_pfn(new),
			    huge_page_size(h) >> PAGE_SHIFT);
		new = NULL;
	}
	pthread_spin_unlock(ptl);
	if (new)
		put_page(new);
	put_page(old);
	return unshare ? 0 : VM_FAULT_WRITE;
}

vm_fault_t hugetlb_fault(struct vm_area_struct *vma, unsigned long address, unsigned int flags)
{
	struct hstate *h = hstate_vma(vma);
	unsigned long haddr = address & ~(huge_page_size(h) - 1);
	unsigned long *entry = huge_pte_offset(vma, haddr, true);
	pthread_mutex_t *fault_mutex;
	vm_fault_t ret = 0;
	unsigned long v;

	if (!entry)
		return VM_FAULT_OOM;
	fault_mutex = hugetlb_fault_mutex(vma, vma_hugecache_offset(h, vma, haddr));
	pthread_mutex_lock(fault_mutex);
	v = pt_entry_load_acquire(entry);
	if (!v)
		ret = hugetlb_no_page(vma, entry, haddr, flags, h);
	else if ((flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !(v & _PAGE_RW) &&
		 !(vma->vm_flags & VM_MAYSHARE))
		ret = hugetlb_cow(vma, entry, haddr, v, h, flags);
	else if ((flags & FAULT_FLAG_WRITE) && !(v & _PAGE_RW))
		ret = VM_FAULT_SIGSEGV; /* a shared mapping not writable: nothing to copy to */
	pthread_mutex_unlock(fault_mutex);
	return ret;
}
