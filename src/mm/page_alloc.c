/* SPDX-License-Identifier: MIT */
/*
 * The buddy allocator: per zone, free blocks of 2^order pages (order < MAX_ORDER) on per-order,
 * per-migratetype lists, split on allocation and merged with their buddy on free. Contiguous
 * ranges beyond MAX_ORDER (gigantic pages) are cut out of the free lists by alloc_contig_pages().
 *
 * Talks to compound.c (prep and checks of compound pages), debug.c (bad-page reports) and
 * vmstat.c (nr_free_pages, pgalloc_*, pgfree).
 *
 * Pageblock isolation (Linux's mm/page_isolation.c) lives here too: an isolated pageblock's free
 * blocks sit on the MIGRATE_ISOLATE lists, out of nr_free_pages, where no allocation finds them,
 * and pages freed into it join them; memory offlining and alloc_contig_range() (src/vm/) isolate
 * a range, empty it by migration and then take or keep its frames. Direct compaction is reached
 * through the hook src/vm/ registers at boot (set_direct_compact_hook()), never by a call up.
 *
 * The rule that is easy to break: only the struct page at the head of a free block is
 * meaningful (PageBuddy, order in ->private); the rest of a free block's struct pages are stale
 * or were never written (boot writes only MAX_ORDER block heads). So a walk over frames must
 * step over free blocks by their order, and allocation must initialise every struct page it
 * hands out. Everything about free blocks is under zone->lock.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "rules.h"

static const char *const zone_names[MAX_NR_ZONES] = {"Normal", "Movable", "Device"};
/* This thread is inside a long-term GUP (Linux's PF_MEMALLOC_PIN task flag, 5.7's
 * PF_MEMALLOC_NOCMA): a thread is a CPU running one task, so the flag is thread-local. */
static _Thread_local bool pin_context;

bool memalloc_pin_save(void)
{
	bool old = pin_context;

	pin_context = true;
	return old;
}

void memalloc_pin_restore(bool old)
{
	pin_context = old;
}

/* The gfp mask as this thread's context allows (Linux's current_gfp_context()): inside a
 * long-term GUP, modern rules make every allocation unmovable, which keeps it out of
 * ZONE_MOVABLE and CMA alike; 5.7 keeps only CMA out (alloc_pages() below). */
static gfp_t current_gfp_context(gfp_t gfp)
{
	if (pin_context && rule_pin_context_avoids_movable())
		gfp &= ~__GFP_MOVABLE;
	return gfp;
}

/* Per pageblock: isolated (free pages go to the MIGRATE_ISOLATE lists) and offline. Written
 * under the zone's lock; read with relaxed loads by scanners that re-check under it. Sized for
 * the largest machine (PINMM_MAX_RAM), cleared at boot. */
#define PB_ISOLATE 1u
#define PB_OFFLINE 2u
static atomic_uchar pageblock_flags[PINMM_MAX_RAM >> (PAGE_SHIFT + pageblock_order)];

static inline unsigned int pb_flags(unsigned long pfn)
{
	return atomic_load_explicit(&pageblock_flags[pfn >> pageblock_order], memory_order_relaxed);
}

bool is_migrate_isolate_pfn(unsigned long pfn)
{
	return pfn < max_pfn && (pb_flags(pfn) & PB_ISOLATE);
}

bool pageblock_offline(unsigned long pfn)
{
	return pfn < max_pfn && (pb_flags(pfn) & PB_OFFLINE);
}

/* The direct compaction hook (src/vm/compaction.c registers it at boot). */
static _Atomic(bool (*)(gfp_t, unsigned int)) direct_compact_hook;

void set_direct_compact_hook(bool (*hook)(gfp_t gfp, unsigned int order))
{
	atomic_store(&direct_compact_hook, hook);
}

/*
 * The frames handed out since boot, one bit per frame of RAM, set when the allocator hands the
 * frame out and never cleared before shutdown: once allocated a frame may hold anything, freed
 * or not. The arena is fresh anonymous host memory at every boot (boot.c, MAP_NORESERVE), so a
 * frame whose bit is clear has never been written and reads zero: __GFP_ZERO skips it. That
 * saves the host a second zeroing of every frame it backs on first touch (it zeroes the page
 * when it backs it, then the memset wrote it again), and leaves the host memory of a frame
 * only allocated, never written, unbacked. A real machine's RAM has no such state (Linux's
 * clear_page() runs on every __GFP_ZERO allocation). The bitmap sits in host memory reserved
 * lazily too; without it (the reservation failed) every frame counts as used.
 *
 * The rule that is easy to break: every path that hands a frame out must set its bit
 * (prep_new_pages() does, for alloc_pages() and alloc_contig_pages()); a frame written while its
 * bit is clear would be handed to a later __GFP_ZERO caller unzeroed.
 */
static atomic_ulong *frames_used;
static size_t frames_used_len;
static atomic_long nr_zeroing_skipped;

#define BITS_PER_ULONG (8 * sizeof(unsigned long))

static void frames_used_init(void)
{
	void *p;

	frames_used_len = ((max_pfn + BITS_PER_ULONG - 1) / BITS_PER_ULONG) * sizeof(long);
	frames_used_len = (frames_used_len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	p = mmap(NULL, frames_used_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	frames_used = p == MAP_FAILED ? NULL : p;
	atomic_store(&nr_zeroing_skipped, 0);
}

static void frames_used_release(void)
{
	if (frames_used)
		munmap((void *)frames_used, frames_used_len);
	frames_used = NULL;
}

long frames_zeroing_skipped(void)
{
	return atomic_load_explicit(&nr_zeroing_skipped, memory_order_relaxed);
}

bool frame_ever_used(unsigned long pfn)
{
	if (!frames_used || pfn >= max_pfn)
		return true;
	return atomic_load_explicit(&frames_used[pfn / BITS_PER_ULONG], memory_order_relaxed) &
	       (1UL << (pfn % BITS_PER_ULONG));
}

/*
 * The struct pages of a MAX_ORDER block none of whose frames was ever handed out sit on host
 * pages boot never wrote (it writes only the block's head): back them in one call when the
 * block leaves the free lists (before expand() and prep_new_pages() write them), instead of one
 * host page fault per 4 KiB of mem_map (64 frames) as they are reached, which costs more than
 * the rest of a first-touch populate. Only
 * whole blocks never used: memory nobody allocates stays unbacked, and a populate that races
 * with another changes no byte.
 */
static void back_fresh_memmap(unsigned long pfn, unsigned long nr)
{
	const unsigned long words = MAX_ORDER_NR_PAGES / BITS_PER_ULONG;

	if (!frames_used)
		return;
	for (unsigned long block = pfn & ~(MAX_ORDER_NR_PAGES - 1); block < pfn + nr;
	     block += MAX_ORDER_NR_PAGES) {
		const atomic_ulong *w = &frames_used[block / BITS_PER_ULONG];
		unsigned long lo, hi, k;

		for (k = 0; k < words && !atomic_load_explicit(&w[k], memory_order_relaxed); k++)
			;
		if (k < words || block + MAX_ORDER_NR_PAGES > max_pfn)
			continue;
		lo = (unsigned long)pfn_to_page(block) & ~(PAGE_SIZE - 1);
		hi = ((unsigned long)pfn_to_page(block + MAX_ORDER_NR_PAGES) + PAGE_SIZE - 1) &
		     ~(PAGE_SIZE - 1);
		madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
	}
}

/*
 * Mark nr frames from page used; if zero, clear those that were used before. The bits of one
 * word are set with one atomic OR, whose old value says which of them were used; a run of
 * used frames is cleared with one memset. Relaxed: the frame reached this caller through the
 * zone lock, which orders its earlier allocation's OR before this one.
 */
static void mark_frames_used(struct page *page, unsigned long nr, bool zero)
{
	unsigned long pfn = page_to_pfn(page), skipped = 0;

	if (!frames_used) {
		if (zero)
			memset(page_address(page), 0, nr << PAGE_SHIFT);
		return;
	}
	for (unsigned long i = 0; i < nr;) {
		unsigned long bit = (pfn + i) % BITS_PER_ULONG;
		unsigned long n = BITS_PER_ULONG - bit < nr - i ? BITS_PER_ULONG - bit : nr - i;
		unsigned long mask = (n == BITS_PER_ULONG ? ~0UL : (1UL << n) - 1) << bit;
		unsigned long used = atomic_fetch_or_explicit(&frames_used[(pfn + i) / BITS_PER_ULONG],
							      mask, memory_order_relaxed) & mask;

		if (zero) {
			skipped += n - (unsigned long)__builtin_popcountl(used);
			while (used) {
				unsigned long first = (unsigned long)__builtin_ctzl(used);
				unsigned long rest = ~(used >> first);
				unsigned long run = rest ? (unsigned long)__builtin_ctzl(rest)
							 : BITS_PER_ULONG;

				if (first + run > BITS_PER_ULONG)
					run = BITS_PER_ULONG - first;
				memset(page_address(page + i + first - bit), 0, run << PAGE_SHIFT);
				used &= run == BITS_PER_ULONG ? 0 : ~(((1UL << run) - 1) << first);
			}
		}
		i += n;
	}
	if (skipped)
		atomic_fetch_add_explicit(&nr_zeroing_skipped, (long)skipped,
					  memory_order_relaxed);
}

/* page_type with PG_buddy set, _mapcount's -1 otherwise: a free block's head. */
#define BUDDY_PAGE_TYPE ((int)(~0u & ~PG_buddy))

static inline unsigned int buddy_order(const struct page *page)
{
	return (unsigned int)page->private;
}

static inline void set_buddy_order(struct page *page, unsigned int order)
{
	page->private = order;
	atomic_store_explicit(&page->_mapcount, BUDDY_PAGE_TYPE, memory_order_relaxed);
}

static inline void clear_buddy(struct page *page)
{
	page->private = 0;
	atomic_store_explicit(&page->_mapcount, -1, memory_order_relaxed);
}

struct zone *pinmm_zone(enum zone_type idx)
{
	if (!atomic_load(&machine_booted) || (unsigned int)idx >= MAX_NR_ZONES)
		return NULL;
	return &machine.zones[idx];
}

struct zone *page_zone(const struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	struct zone *movable = &machine.zones[ZONE_MOVABLE];

	if (pfn >= max_pfn)
		return &machine.zones[ZONE_DEVICE];
	if (movable->spanned_pages && pfn >= movable->zone_start_pfn)
		return movable;
	return &machine.zones[ZONE_NORMAL];
}

static enum migratetype pfn_migratetype(const struct zone *zone, unsigned long pfn)
{
	if (pfn >= zone->cma_start_pfn && pfn < zone->cma_end_pfn)
		return MIGRATE_CMA;
	return zone == &machine.zones[ZONE_MOVABLE] ? MIGRATE_MOVABLE : MIGRATE_UNMOVABLE;
}

enum migratetype get_pageblock_migratetype(const struct page *page)
{
	return pfn_migratetype(page_zone(page), page_to_pfn(page));
}

/* The free list a block at pfn goes on: MIGRATE_ISOLATE while its pageblock is isolated (the
 * caller holds zone->lock, under which isolation changes). */
static enum migratetype free_list_type(const struct zone *zone, unsigned long pfn)
{
	if (pb_flags(pfn) & PB_ISOLATE)
		return MIGRATE_ISOLATE;
	return pfn_migratetype(zone, pfn);
}

/* Account nr pages of zone as freed (positive) or taken (negative). zone->lock held: the
 * atomics only order against the lockless watermark reads. */
static void account_free(struct zone *zone, enum migratetype mt, long nr)
{
	/* Isolated free pages are not free for anyone (Linux leaves them out too). */
	if (mt == MIGRATE_ISOLATE)
		return;
	mod_zone_page_state(zone, NR_FREE_PAGES, nr);
	atomic_fetch_add_explicit(&zone->nr_free, nr, memory_order_relaxed);
	if (mt == MIGRATE_CMA) {
		mod_zone_page_state(zone, NR_FREE_CMA_PAGES, nr);
		atomic_fetch_add_explicit(&zone->nr_free_cma, nr, memory_order_relaxed);
	}
}

/* ---- watermarks and reclaim ---- */

static const struct reclaim_ops *_Atomic reclaim_ops;

void set_reclaim_ops(const struct reclaim_ops *ops)
{
	atomic_store(&reclaim_ops, ops);
}

int reclaim_boot(void)
{
	const struct reclaim_ops *ops = atomic_load(&reclaim_ops);

	return ops && ops->boot ? ops->boot() : 0;
}

static unsigned long int_sqrt(unsigned long x)
{
	unsigned long r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/*
 * Linux 5.7's init_per_zone_wmark_min() and __setup_per_zone_wmarks(): min_free_kbytes is
 * sqrt(16 * KiB of RAM), clamped to 128 .. 65536; each zone's min is its share of it by size
 * (ZONE_MOVABLE is not highmem on 64-bit, so it gets its share too); low and high add one and
 * two steps of max(min / 4, size * watermark_scale_factor / 10000), the factor being 10.
 */
static void setup_per_zone_wmarks(void)
{
	unsigned long lowmem_pages = 0, min_free_kbytes, pages_min;

	for (int z = ZONE_NORMAL; z <= ZONE_MOVABLE; z++)
		lowmem_pages += machine.zones[z].spanned_pages;
	min_free_kbytes = int_sqrt((lowmem_pages << (PAGE_SHIFT - 10)) * 16);
	if (min_free_kbytes < 128)
		min_free_kbytes = 128;
	if (min_free_kbytes > 65536)
		min_free_kbytes = 65536;
	pages_min = min_free_kbytes >> (PAGE_SHIFT - 10);
	for (int z = ZONE_NORMAL; z <= ZONE_MOVABLE; z++) {
		struct zone *zone = &machine.zones[z];
		unsigned long managed = zone->spanned_pages;
		unsigned long min = lowmem_pages ? pages_min * managed / lowmem_pages : 0;
		unsigned long step = managed * 10 / 10000;

		if (step < min >> 2)
			step = min >> 2;
		zone->_watermark[WMARK_MIN] = min;
		zone->_watermark[WMARK_LOW] = min + step;
		zone->_watermark[WMARK_HIGH] = min + 2 * step;
	}
}

bool zone_watermark_ok(const struct zone *zone, unsigned int order, unsigned long mark,
		       bool use_cma)
{
	long free = atomic_load_explicit(&zone->nr_free, memory_order_relaxed);

	if (!use_cma)
		free -= atomic_load_explicit(&zone->nr_free_cma, memory_order_relaxed);
	free -= (1L << order) - 1;
	return free > (long)mark;
}

static void add_to_free_list(struct zone *zone, struct page *page, unsigned int order,
			     enum migratetype mt)
{
	set_buddy_order(page, order);
	page_list_add(page, &zone->free_area[order].free_list[mt]);
	zone->free_area[order].nr_free++;
}

static void del_from_free_list(struct zone *zone, struct page *page, unsigned int order)
{
	page_list_del(page);
	clear_buddy(page);
	zone->free_area[order].nr_free--;
}

/* Put a block on the free lists, merging it with free buddies. zone->lock held. */
static void free_one_block(struct zone *zone, unsigned long pfn, unsigned int order,
			   enum migratetype mt)
{
	while (order < MAX_ORDER - 1) {
		unsigned long buddy_pfn = pfn ^ (1UL << order);
		struct page *buddy = pfn_to_page(buddy_pfn);

		if (buddy_pfn < zone->zone_start_pfn || buddy_pfn >= zone_end_pfn(zone))
			break;
		if (!PageBuddy(buddy) || buddy_order(buddy) != order)
			break;
		del_from_free_list(zone, buddy, order);
		pfn &= buddy_pfn;
		order++;
	}
	add_to_free_list(zone, pfn_to_page(pfn), order, mt);
}

void init_page_state(struct page *page)
{
	atomic_store_explicit(&page->flags, 0, memory_order_relaxed);
	atomic_store_explicit(&page->compound_head, 0, memory_order_relaxed);
	lru_store_relaxed(&page->lru.prev, NULL);
	page->mapping = NULL;
	page->index = 0;
	page->private = 0;
	atomic_store_explicit(&page->_mapcount, -1, memory_order_relaxed);
	atomic_store_explicit(&page->_refcount, 0, memory_order_relaxed);
	page->mem_cgroup = NULL;
}

void zones_init(void)
{
	const struct pinmm_config *cfg = &machine.cfg;
	unsigned long movable_pages = cfg->movable_bytes >> PAGE_SHIFT;
	unsigned long cma_pages = cfg->cma_bytes >> PAGE_SHIFT;

	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.zones[z];

		zone->name = zone_names[z];
		pthread_mutex_init(&zone->lock, NULL);
		for (unsigned int o = 0; o < MAX_ORDER; o++)
			for (int mt = 0; mt < MIGRATE_TYPES; mt++)
				CDS_INIT_LIST_HEAD(&zone->free_area[o].free_list[mt]);
	}
	for (size_t i = 0; i < sizeof(pageblock_flags) / sizeof(pageblock_flags[0]); i++)
		atomic_store_explicit(&pageblock_flags[i], 0, memory_order_relaxed);
	machine.zones[ZONE_NORMAL].zone_start_pfn = 0;
	machine.zones[ZONE_NORMAL].spanned_pages = max_pfn - movable_pages;
	machine.zones[ZONE_NORMAL].cma_end_pfn = max_pfn - movable_pages;
	machine.zones[ZONE_NORMAL].cma_start_pfn = max_pfn - movable_pages - cma_pages;
	machine.zones[ZONE_MOVABLE].zone_start_pfn = max_pfn - movable_pages;
	machine.zones[ZONE_MOVABLE].spanned_pages = movable_pages;
	/* ZONE_DEVICE spans the device area; its pages never reach the free lists. */
	machine.zones[ZONE_DEVICE].zone_start_pfn = max_pfn;
	machine.zones[ZONE_DEVICE].spanned_pages = device_end_pfn - max_pfn;
	frames_used_init();
	setup_per_zone_wmarks();

	for (int z = ZONE_NORMAL; z <= ZONE_MOVABLE; z++) {
		struct zone *zone = &machine.zones[z];

		for (unsigned long pfn = zone->zone_start_pfn; pfn < zone_end_pfn(zone);
		     pfn += MAX_ORDER_NR_PAGES) {
			enum migratetype mt = pfn_migratetype(zone, pfn);

			init_page_state(pfn_to_page(pfn));
			add_to_free_list(zone, pfn_to_page(pfn), MAX_ORDER - 1, mt);
			account_free(zone, mt, MAX_ORDER_NR_PAGES);
		}
	}
}

void zones_teardown(void)
{
	frames_used_release();
	for (int z = 0; z < MAX_NR_ZONES; z++)
		pthread_mutex_destroy(&machine.zones[z].lock);
}

/* Split the order `high` block at page down to `low`, freeing the upper halves. */
static void expand(struct zone *zone, struct page *page, unsigned int low, unsigned int high,
		   enum migratetype mt)
{
	while (high > low) {
		high--;
		add_to_free_list(zone, page + (1UL << high), high, mt);
	}
}

/* Take a block of `order` from the migratetype mt lists of zone, or NULL. */
static struct page *rmqueue(struct zone *zone, unsigned int order, enum migratetype mt)
{
	struct page *page = NULL;

	pthread_mutex_lock(&zone->lock);
	for (unsigned int o = order; o < MAX_ORDER; o++) {
		struct cds_list_head *list = &zone->free_area[o].free_list[mt];

		if (cds_list_empty(list))
			continue;
		page = cds_list_entry(list->next, struct page, lru);
		del_from_free_list(zone, page, o);
		/* Before expand() writes the heads of its halves. */
		if (o == MAX_ORDER - 1)
			back_fresh_memmap(page_to_pfn(page), 1UL << o);
		expand(zone, page, order, o, mt);
		account_free(zone, mt, -(long)(1UL << order));
		break;
	}
	pthread_mutex_unlock(&zone->lock);
	return page;
}

/* Make an allocated block of nr pages ready for its user. */
static void prep_new_pages(struct page *page, unsigned long nr, unsigned int order, gfp_t gfp)
{
	mark_frames_used(page, nr, gfp & __GFP_ZERO);
	for (unsigned long i = 0; i < nr; i++)
		init_page_state(page + i);
	if ((gfp & __GFP_COMP) && order)
		prep_compound_page(page, order);
	/* Publishes the initialised block to whoever takes a reference from this one. */
	atomic_store_explicit(&page->_refcount, 1, memory_order_release);
}

static bool gfp_ok(gfp_t gfp)
{
	return !(gfp & ~__GFP_KNOWN);
}

/* Where an allocation may come from, in the order it tries (Linux's zonelist walk): movable
 * requests the whole list (CMA last, unless this thread must stay out of it); the others only
 * ZONE_NORMAL outside CMA. A zone's watermark is checked once for its entries (the CMA area
 * is part of ZONE_NORMAL, its free pages counting for the requests that may use them), then
 * its free lists are tried in this order, as Linux's __rmqueue() falls back to CMA. */
static const struct {
	enum zone_type zone;
	enum migratetype mt;
} movable_order[] = {
	{ZONE_MOVABLE, MIGRATE_MOVABLE},
	{ZONE_NORMAL, MIGRATE_UNMOVABLE},
	{ZONE_NORMAL, MIGRATE_CMA},
};

#define ALLOC_NO_WATERMARKS NR_WMARK
#define MAX_RECLAIM_RETRIES 16
#define PAGE_ALLOC_COSTLY_ORDER 3

/* Try the zones [first, last) of movable_order, each only if it stays above watermark wmark
 * (ALLOC_NO_WATERMARKS: down to its last page). */
static struct page *get_page_from_freelist(gfp_t gfp, unsigned int order, unsigned int first,
					   unsigned int last, int wmark)
{
	/* This request may take free CMA pages: they count towards its zone's watermark. */
	bool cma = last > 2;

	for (unsigned int i = first; i < last; i++) {
		struct zone *zone = &machine.zones[movable_order[i].zone];
		struct page *page;

		/* The zone's check, at its first entry; a zone that fails it is skipped. */
		if (wmark != ALLOC_NO_WATERMARKS &&
		    (i == first || movable_order[i - 1].zone != movable_order[i].zone) &&
		    !zone_watermark_ok(zone, order, zone->_watermark[wmark], cma)) {
			while (i + 1 < last && movable_order[i + 1].zone == movable_order[i].zone)
				i++;
			continue;
		}
		page = rmqueue(zone, order, movable_order[i].mt);
		if (page) {
			prep_new_pages(page, 1UL << order, order, gfp);
			count_vm_events(zone == &machine.zones[ZONE_MOVABLE] ? PGALLOC_MOVABLE
									      : PGALLOC_NORMAL,
					1L << order);
			return page;
		}
	}
	return NULL;
}

/*
 * The zones are low (Linux 5.7's __alloc_pages_slowpath(), without compaction and the OOM
 * killer): wake kswapd; try down to min; reclaim on this thread while that frees something
 * (at most MAX_RECLAIM_RETRIES times; once with __GFP_NORETRY); then take what is left below
 * min, which Linux keeps for the OOM killer's victims and pinmm, having none, gives to the
 * allocation (docs/design.md); and with nothing left, report the OOM.
 */
static struct page *__alloc_pages_slowpath(gfp_t gfp, unsigned int order, unsigned int first,
					   unsigned int last)
{
	const struct reclaim_ops *ops = atomic_load_explicit(&reclaim_ops, memory_order_acquire);
	enum zone_type highest = (gfp & __GFP_MOVABLE) ? ZONE_MOVABLE : ZONE_NORMAL;
	struct page *page;

	if (ops && ops->wakeup_kswapd && (gfp & __GFP_KSWAPD_RECLAIM))
		ops->wakeup_kswapd(order, highest);
	page = get_page_from_freelist(gfp, order, first, last, WMARK_MIN);
	if (page)
		return page;
	/* __alloc_pages_direct_compact(): a high-order request that may enter direct reclaim
	 * compacts the zones once and tries again (order 0 needs reclaim, not compaction). */
	if (order && (gfp & __GFP_DIRECT_RECLAIM)) {
		bool (*compact)(gfp_t, unsigned int) = atomic_load(&direct_compact_hook);

		if (compact && compact(gfp, order)) {
			page = get_page_from_freelist(gfp, order, first, last, WMARK_MIN);
			if (page)
				return page;
		}
	}
	if (ops && ops->try_to_free_pages && (gfp & __GFP_DIRECT_RECLAIM)) {
		for (int tries = 0; tries < MAX_RECLAIM_RETRIES; tries++) {
			unsigned long progress = ops->try_to_free_pages(gfp, order, highest);

			page = get_page_from_freelist(gfp, order, first, last, WMARK_MIN);
			if (page || !progress || (gfp & __GFP_NORETRY))
				break;
		}
		if (page)
			return page;
	}
	page = get_page_from_freelist(gfp, order, first, last, ALLOC_NO_WATERMARKS);
	if (page)
		return page;
	/* Linux's __alloc_pages_may_oom() skips costly orders, __GFP_NORETRY and
	 * __GFP_RETRY_MAYFAIL requests and those that may not do file-system I/O. */
	if (ops && ops->out_of_memory && order <= PAGE_ALLOC_COSTLY_ORDER &&
	    !(gfp & (__GFP_NORETRY | __GFP_RETRY_MAYFAIL)) && (gfp & __GFP_FS))
		ops->out_of_memory(gfp, order);
	return NULL;
}

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	unsigned int first, last;
	struct page *page;

	gfp = current_gfp_context(gfp);
	first = (gfp & __GFP_MOVABLE) ? 0 : 1;
	last = !(gfp & __GFP_MOVABLE) ? 2 : pin_context ? 2 : 3;

	if (WARN_ON_ONCE(!atomic_load(&machine_booted)))
		return NULL;
	if (!gfp_ok(gfp)) {
		WARN_ONCE(!(gfp & __GFP_NOWARN), "alloc_pages: unknown gfp bits %#x", gfp);
		return NULL;
	}
	if (order >= MAX_ORDER) {
		WARN_ONCE(!(gfp & __GFP_NOWARN), "alloc_pages: order %u >= MAX_ORDER", order);
		return NULL;
	}
	if (should_fail("alloc:pages"))
		return NULL;
	page = get_page_from_freelist(gfp, order, first, last, WMARK_LOW);
	if (!page)
		page = __alloc_pages_slowpath(gfp, order, first, last);
	return page;
}

void bad_page(struct page *page, const char *reason)
{
	pinmm_log("BUG: Bad page state in process pinmm  pfn:%05lx\n", page_to_pfn(page));
	dump_page(page, reason);
	__pinmm_warn(__FILE__, __LINE__, __func__, "bad page pfn:%05lx: %s", page_to_pfn(page),
		     reason);
	atomic_fetch_add(&machine.nr_bad_pages, 1);
}

/* The checks Linux's free_pages_check() makes on a page being freed; reports what it finds. */
static bool page_bad_at_free(struct page *page)
{
	const char *reason = NULL;

	/* An anonymous page keeps its anon_vma pointer (tagged) until it is freed. */
	if ((unsigned long)page->mapping & PAGE_MAPPING_FLAGS)
		page->mapping = NULL;
	if (atomic_load_explicit(&page->_mapcount, memory_order_relaxed) != -1)
		reason = "nonzero mapcount";
	else if (page->mapping != NULL)
		reason = "non-NULL mapping";
	else if (page_ref_count(page) != 0)
		reason = "nonzero _refcount";
	else if (atomic_load_explicit(&page->flags, memory_order_relaxed) &
		 PAGE_FLAGS_CHECK_AT_FREE)
		reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set";
	if (reason)
		bad_page(page, reason);
	return reason != NULL;
}

/*
 * Check a block of nr frames about to be freed (a compound page, or an allocation's head and
 * the pages after it) and clear its flags. If any page is bad, report it and quarantine the
 * whole block: the frames stay out of the allocator, marked HWPoison for the shutdown report,
 * as memory-failure marks frames that must not be reused. Returns true if the block may go back.
 */
static bool free_block_prepare(struct page *page, unsigned long nr)
{
	bool compound = PageHead(page);
	unsigned long bad = 0;

	for (unsigned long i = 1; i < nr; i++) {
		if (compound)
			bad += free_tail_pages_check(page, page + i);
		bad += page_bad_at_free(page + i);
	}
	if (compound)
		__ClearPageHead(page);
	bad += page_bad_at_free(page);
	for (unsigned long i = 0; i < nr; i++)
		atomic_store_explicit(&page[i].flags, bad ? 1UL << PG_hwpoison : 0,
				      memory_order_relaxed);
	return bad == 0;
}

/* Give nr frames from pfn (naturally aligned, in one zone) back to the free lists. */
static void free_range_to_buddy(unsigned long pfn, unsigned long nr)
{
	struct zone *zone = page_zone(pfn_to_page(pfn));
	unsigned long chunk = nr < MAX_ORDER_NR_PAGES ? nr : MAX_ORDER_NR_PAGES;
	unsigned int order = (unsigned int)__builtin_ctzl(chunk);

	pthread_mutex_lock(&zone->lock);
	for (unsigned long p = pfn; p < pfn + nr; p += chunk) {
		enum migratetype mt = free_list_type(zone, p);

		free_one_block(zone, p, order, mt);
		account_free(zone, mt, (long)chunk);
	}
	pthread_mutex_unlock(&zone->lock);
	count_vm_events(PGFREE, (long)nr);
}

void free_pages_ok(struct page *page, unsigned int order)
{
	if (free_block_prepare(page, 1UL << order))
		free_range_to_buddy(page_to_pfn(page), 1UL << order);
}

/* A page pointer that is not a page of this machine's mem_map. */
static bool page_out_of_range(const struct page *page)
{
	return page < mem_map || page >= mem_map + max_pfn ||
	       ((const char *)page - (const char *)mem_map) % sizeof(struct page);
}

void __free_pages(struct page *page, unsigned int order)
{
	if (WARN_ON_ONCE(!atomic_load(&machine_booted)) || WARN_ON_ONCE(page_out_of_range(page)))
		return;
	if (WARN_ON(order >= MAX_ORDER) || WARN_ON(PageTail(page)) ||
	    WARN_ON(page_ref_count(page) <= 0))
		return;
	if (WARN_ON(PageHead(page) && compound_order(page) != order))
		return;
	if (WARN_ON(page_to_pfn(page) & ((1UL << order) - 1)))
		return;
	if (page_ref_dec_and_test(page))
		free_pages_ok(page, order);
}

/* Can [start, start + nr) be cut out of zone's free lists? zone->lock held. */
static bool range_free(struct zone *zone, unsigned long start, unsigned long nr, gfp_t gfp)
{
	if (!(gfp & __GFP_MOVABLE) && start < zone->cma_end_pfn && start + nr > zone->cma_start_pfn)
		return false;
	for (unsigned long pfn = start; pfn < start + nr;) {
		struct page *page = pfn_to_page(pfn);

		if (!PageBuddy(page) || (pb_flags(pfn) & PB_ISOLATE))
			return false;
		pfn += 1UL << buddy_order(page);
	}
	return true;
}

static bool take_contig_range(struct zone *zone, unsigned long nr, gfp_t gfp,
			      unsigned long *found)
{
	unsigned long start = (zone->zone_start_pfn + nr - 1) & ~(nr - 1);
	bool ok = false;

	if (nr > zone->spanned_pages || start < zone->zone_start_pfn)
		return false;

	pthread_mutex_lock(&zone->lock);
	for (; start + nr <= zone_end_pfn(zone); start += nr) {
		if (!range_free(zone, start, nr, gfp))
			continue;
		for (unsigned long pfn = start; pfn < start + nr;) {
			struct page *page = pfn_to_page(pfn);
			unsigned int order = buddy_order(page);

			del_from_free_list(zone, page, order);
			account_free(zone, pfn_migratetype(zone, pfn), -(long)(1UL << order));
			pfn += 1UL << order;
		}
		*found = start;
		ok = true;
		break;
	}
	pthread_mutex_unlock(&zone->lock);
	return ok;
}

struct page *alloc_contig_pages(unsigned long nr_pages, gfp_t gfp)
{
	unsigned long pfn;
	unsigned int order = 0;

	if (WARN_ON_ONCE(!atomic_load(&machine_booted)))
		return NULL;
	if (WARN_ON(!gfp_ok(gfp)) || WARN_ON(nr_pages < MAX_ORDER_NR_PAGES) ||
	    WARN_ON(nr_pages & (nr_pages - 1)))
		return NULL;
	if (should_fail("alloc:pages"))
		return NULL;
	gfp = current_gfp_context(gfp);
	while ((1UL << order) < nr_pages)
		order++;
	for (int z = (gfp & __GFP_MOVABLE) ? ZONE_MOVABLE : ZONE_NORMAL; z >= 0; z--) {
		struct zone *zone = &machine.zones[z];

		if (!take_contig_range(zone, nr_pages, gfp, &pfn))
			continue;
		back_fresh_memmap(pfn, nr_pages);
		prep_new_pages(pfn_to_page(pfn), nr_pages, order, gfp);
		return pfn_to_page(pfn);
	}
	return NULL;
}

void free_contig_range(unsigned long pfn, unsigned long nr_pages)
{
	struct page *page;

	if (WARN_ON_ONCE(!atomic_load(&machine_booted)))
		return;
	if (WARN_ON(pfn >= max_pfn) || WARN_ON(nr_pages > max_pfn - pfn) ||
	    WARN_ON(nr_pages < MAX_ORDER_NR_PAGES) || WARN_ON(nr_pages & (nr_pages - 1)) ||
	    WARN_ON(pfn & (nr_pages - 1)))
		return;
	page = pfn_to_page(pfn);
	/* The first page holds the allocation's reference: 0 means the range is not allocated
	 * (a double free). */
	if (WARN_ON(PageCompound(page)) || WARN_ON(page_ref_count(page) <= 0))
		return;
	for (unsigned long i = 0; i < nr_pages; i++) {
		if (page_ref_count(page + i) != (i == 0)) {
			/* Some page is still in use: drop the allocation's reference on each page
			 * and free those nobody else holds, as Linux does. */
			unsigned long busy = 0;

			for (unsigned long j = 0; j < nr_pages; j++) {
				if (j == 0)
					page_ref_dec(page);
				if (page_ref_count(page + j) != 0) {
					busy++;
					continue;
				}
				free_pages_ok(page + j, 0);
			}
			WARN(busy, "free_contig_range: %lu pages are still in use", busy);
			return;
		}
	}
	set_page_count(page, 0);
	free_pages_ok(page, (unsigned int)__builtin_ctzl(nr_pages));
}

/* Report one page of a free block whose refcount is not 0 (a put or unpin after the free). */
static void report_bad_free_page(struct page *page, unsigned long *dumped)
{
	if ((*dumped)++ < 8)
		dump_page(page, "free page with a non-zero refcount at shutdown");
}

/*
 * The pages of the free block at pfn whose refcount is not 0. The struct pages of a block
 * nobody touched since boot sit on host pages never faulted in (mem_map is reserved lazily):
 * those read zero, so mincore() lets the walk skip them without faulting them in, and a large
 * machine shuts down without reading its whole mem_map.
 */
static unsigned long check_free_block(unsigned long pfn, unsigned int order, unsigned long *dumped)
{
	unsigned long nr = 1UL << order, bad = 0;
	struct page *first = pfn_to_page(pfn), *end = first + nr;
	unsigned long lo = (unsigned long)first & ~(PAGE_SIZE - 1);
	unsigned long hi = ((unsigned long)end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

	for (unsigned long host = lo; host < hi; host += PAGE_SIZE) {
		struct page *from = (struct page *)host, *to = (struct page *)(host + PAGE_SIZE);
		unsigned char resident = 1;

		if (mincore((void *)host, PAGE_SIZE, &resident) == 0 && !(resident & 1))
			continue;
		for (struct page *page = from < first ? first : from; page < to && page < end; page++)
			if (page_ref_count(page) != 0) {
				report_bad_free_page(page, dumped);
				bad++;
			}
	}
	return bad;
}

unsigned long report_unfreed_pages(void)
{
	unsigned long left = 0, dumped = 0, bad_free = 0, bad_dumped = 0;

	for (unsigned long pfn = 0; pfn < max_pfn;) {
		struct page *page = pfn_to_page(pfn);
		unsigned long step = 1;

		if (PageBuddy(page)) {
			bad_free += check_free_block(pfn, buddy_order(page), &bad_dumped);
			pfn += 1UL << buddy_order(page);
			continue;
		}
		if (PageHead(page))
			step = compound_nr(page);
		if (page_ref_count(page) || PageHWPoison(page) || PageHead(page)) {
			if (dumped++ < 8)
				dump_page(page, PageHWPoison(page) ? "quarantined by a bad free"
								   : "still allocated at shutdown");
		}
		left += step;
		pfn += step;
	}
	if (dumped > 8)
		pinmm_log("pinmm: shutdown: %lu more unfreed block(s) not dumped\n", dumped - 8);
	if (bad_free)
		pinmm_log("pinmm: shutdown: %lu free page(s) with a non-zero refcount\n", bad_free);
	return left + bad_free;
}

int pinmm_buddyinfo_print(FILE *out)
{
	if (!out)
		return -EINVAL;
	if (!atomic_load(&machine_booted))
		return -ENODEV;
	for (int z = ZONE_NORMAL; z <= ZONE_MOVABLE; z++) {
		struct zone *zone = &machine.zones[z];

		if (!zone->spanned_pages)
			continue;
		pthread_mutex_lock(&zone->lock);
		fprintf(out, "Node 0, zone %8s ", zone->name);
		for (unsigned int o = 0; o < MAX_ORDER; o++)
			fprintf(out, "%6lu ", zone->free_area[o].nr_free);
		fputc('\n', out);
		pthread_mutex_unlock(&zone->lock);
	}
	return 0;
}

/* ---- pageblock isolation and the free pages compaction takes ---- */

/* The zone a range [start, end) of RAM lies in, or NULL if it crosses a zone boundary. */
static struct zone *range_zone(unsigned long start, unsigned long end)
{
	struct zone *zone = page_zone(pfn_to_page(start));

	return end <= zone_end_pfn(zone) ? zone : NULL;
}

static bool range_ok(unsigned long start, unsigned long end)
{
	return !WARN_ON(start >= end || end > max_pfn || (start | end) & (MAX_ORDER_NR_PAGES - 1) ||
			!range_zone(start, end));
}

int start_isolate_page_range(unsigned long start_pfn, unsigned long end_pfn)
{
	struct zone *zone;

	if (!range_ok(start_pfn, end_pfn))
		return -EINVAL;
	zone = range_zone(start_pfn, end_pfn);
	pthread_mutex_lock(&zone->lock);
	for (unsigned long pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages)
		if (pb_flags(pfn) & PB_ISOLATE) {
			pthread_mutex_unlock(&zone->lock);
			return -EBUSY;
		}
	for (unsigned long pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages)
		atomic_fetch_or(&pageblock_flags[pfn >> pageblock_order], PB_ISOLATE);
	/* Move the free blocks already there (Linux's move_freepages_block()). */
	for (unsigned long pfn = start_pfn; pfn < end_pfn;) {
		struct page *page = pfn_to_page(pfn);
		unsigned int order;

		if (!PageBuddy(page)) {
			pfn++;
			continue;
		}
		order = buddy_order(page);
		del_from_free_list(zone, page, order);
		account_free(zone, pfn_migratetype(zone, pfn), -(long)(1UL << order));
		add_to_free_list(zone, page, order, MIGRATE_ISOLATE);
		pfn += 1UL << order;
	}
	pthread_mutex_unlock(&zone->lock);
	return 0;
}

void undo_isolate_page_range(unsigned long start_pfn, unsigned long end_pfn)
{
	struct zone *zone;

	if (!range_ok(start_pfn, end_pfn))
		return;
	zone = range_zone(start_pfn, end_pfn);
	pthread_mutex_lock(&zone->lock);
	for (unsigned long pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages)
		atomic_fetch_and(&pageblock_flags[pfn >> pageblock_order],
				 (unsigned char)~(PB_ISOLATE | PB_OFFLINE));
	for (unsigned long pfn = start_pfn; pfn < end_pfn;) {
		struct page *page = pfn_to_page(pfn);
		unsigned int order;

		if (!PageBuddy(page)) {
			pfn++;
			continue;
		}
		order = buddy_order(page);
		del_from_free_list(zone, page, order);
		free_one_block(zone, pfn, order, pfn_migratetype(zone, pfn));
		account_free(zone, pfn_migratetype(zone, pfn), (long)(1UL << order));
		pfn += 1UL << order;
	}
	pthread_mutex_unlock(&zone->lock);
}

unsigned long test_pages_isolated(unsigned long start_pfn, unsigned long end_pfn)
{
	unsigned long base = start_pfn & ~(MAX_ORDER_NR_PAGES - 1), pfn = base;
	struct zone *zone;

	if (!range_ok(base, end_pfn))
		return start_pfn;
	zone = range_zone(base, end_pfn);
	pthread_mutex_lock(&zone->lock);
	/* From the MAX_ORDER block's start: only free blocks' heads say how far they reach. */
	while (pfn < end_pfn) {
		struct page *page = pfn_to_page(pfn);

		if (PageBuddy(page) && (pb_flags(pfn) & PB_ISOLATE)) {
			pfn += 1UL << buddy_order(page);
			continue;
		}
		if (pfn >= start_pfn)
			break;
		pfn++;
	}
	pthread_mutex_unlock(&zone->lock);
	return pfn < end_pfn ? pfn : end_pfn;
}

int set_range_offline(unsigned long start_pfn, unsigned long end_pfn, bool offline)
{
	struct zone *zone;

	if (!range_ok(start_pfn, end_pfn))
		return -EINVAL;
	zone = range_zone(start_pfn, end_pfn);
	pthread_mutex_lock(&zone->lock);
	for (unsigned long pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages) {
		if (offline)
			atomic_fetch_or(&pageblock_flags[pfn >> pageblock_order], PB_OFFLINE);
		else
			atomic_fetch_and(&pageblock_flags[pfn >> pageblock_order],
					 (unsigned char)~PB_OFFLINE);
	}
	pthread_mutex_unlock(&zone->lock);
	return 0;
}

struct page *alloc_isolated_range(unsigned long start_pfn, unsigned long nr_pages)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	struct zone *zone;

	if (!range_ok(start_pfn, end_pfn) || WARN_ON(nr_pages & (nr_pages - 1)))
		return NULL;
	zone = range_zone(start_pfn, end_pfn);
	pthread_mutex_lock(&zone->lock);
	for (unsigned long pfn = start_pfn; pfn < end_pfn;) {
		struct page *page = pfn_to_page(pfn);

		if (!PageBuddy(page) || !(pb_flags(pfn) & PB_ISOLATE)) {
			/* Not emptied: give back what was taken, as it was. */
			for (unsigned long p = start_pfn; p < pfn;) {
				unsigned int order = (unsigned int)pfn_to_page(p)->private;

				add_to_free_list(zone, pfn_to_page(p), order, MIGRATE_ISOLATE);
				p += 1UL << order;
			}
			pthread_mutex_unlock(&zone->lock);
			return NULL;
		}
		/* del_from_free_list() clears the order: keep it in private for the undo above. */
		{
			unsigned int order = buddy_order(page);

			del_from_free_list(zone, page, order);
			page->private = order;
			pfn += 1UL << order;
		}
	}
	for (unsigned long pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages)
		atomic_fetch_and(&pageblock_flags[pfn >> pageblock_order],
				 (unsigned char)~(PB_ISOLATE | PB_OFFLINE));
	pthread_mutex_unlock(&zone->lock);
	prep_new_pages(pfn_to_page(start_pfn), nr_pages, (unsigned int)__builtin_ctzl(nr_pages), 0);
	return pfn_to_page(start_pfn);
}

unsigned long isolate_freepages_block(unsigned long start_pfn, unsigned long end_pfn,
				      struct page **pages, unsigned long max)
{
	struct zone *zone = page_zone(pfn_to_page(start_pfn));
	unsigned long n = 0;

	if (WARN_ON(start_pfn >= end_pfn || end_pfn > zone_end_pfn(zone)))
		return 0;
	pthread_mutex_lock(&zone->lock);
	/* From the MAX_ORDER block's start: a free block holding start_pfn may begin below it. */
	for (unsigned long pfn = start_pfn & ~(MAX_ORDER_NR_PAGES - 1); pfn < end_pfn && n < max;) {
		struct page *page = pfn_to_page(pfn);
		unsigned long first, nr;
		enum migratetype mt;

		if (!PageBuddy(page) || (pb_flags(pfn) & PB_ISOLATE)) {
			pfn++;
			continue;
		}
		first = pfn;
		nr = 1UL << buddy_order(page);
		if (first + nr <= start_pfn) {
			pfn = first + nr;
			continue;
		}
		mt = pfn_migratetype(zone, pfn);
		del_from_free_list(zone, page, buddy_order(page));
		account_free(zone, mt, -(long)nr);
		/* Split to order 0 (Linux's split_map_pages()): what lies past the block or past
		 * max goes back, merging as it goes. */
		for (unsigned long p = first; p < first + nr; p++) {
			if (p >= start_pfn && p < end_pfn && n < max) {
				pages[n++] = pfn_to_page(p);
				continue;
			}
			free_one_block(zone, p, 0, mt);
			account_free(zone, mt, 1);
		}
		pfn = first + nr;
	}
	pthread_mutex_unlock(&zone->lock);
	for (unsigned long i = 0; i < n; i++)
		prep_new_pages(pages[i], 1, 0, 0);
	return n;
}

bool zone_free_block_available(struct zone *zone, unsigned int order)
{
	bool found = false;

	pthread_mutex_lock(&zone->lock);
	for (unsigned int o = order; o < MAX_ORDER && !found; o++)
		for (int mt = 0; mt < MIGRATE_ISOLATE && !found; mt++)
			found = !cds_list_empty(&zone->free_area[o].free_list[mt]);
	pthread_mutex_unlock(&zone->lock);
	return found;
}
