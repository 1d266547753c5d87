/* SPDX-License-Identifier: MIT */
/*
 * Memory compaction (Linux's mm/compaction.c), per zone: the migrate scanner walks pageblocks
 * up from the zone's start and takes the movable pages of each; the free scanner walks
 * pageblocks down from the zone's end and takes free pages (isolate_freepages_block(), in the
 * allocator); each movable page is migrated (src/vm/migrate.c, migrate_page_to()) into a page
 * the free scanner took, until the two scanners meet. Run completely by compact_node() /
 * compact_memory(), or until a free block of the wanted order exists by direct compaction,
 * which the allocator reaches through the hook registered at start-up (the allocator is below
 * this layer and never calls up).
 *
 * Which pages move: anonymous, page-cache and swap-cache order-0 pages on the LRU lists,
 * mapped or not (an unmapped one is recognised by its PG_lru read under the LRU lock); the
 * migration takes each off its list with isolate_lru_page() (another isolator holding it makes
 * it fail as an extra reference) and puts it, or its copy, back. Compound pages are skipped whole: THPs (Linux skips folios of pageblock order),
 * hugetlb pages. Anything else with a reference (page tables, the zero page, kernel
 * allocations) is unmovable and spoils its pageblock, as a pinned page does.
 *
 * The rule that is easy to break: a page the migrate scanner looks at may be in the middle of
 * being allocated, mapped or freed by another thread; nothing of it is read before the
 * reference is taken (get_page_unless_zero()) and either the mapcount is seen (an acquire load
 * that pairs with the release of page_add_new_anon_rmap() and the rmap's read-modify-writes)
 * or PG_lru is seen under the LRU lock (page_on_lru(): a page joins a list set up), so its
 * mapping and flags are those of a page that is really in use.
 */
#include <errno.h>

#include <pinmm/compaction.h>

#include "internal.h"

/* Free pages the free scanner takes at a time (Linux's COMPACT_CLUSTER_MAX). */
#define COMPACT_CLUSTER_MAX 32

struct compact_control {
	struct zone *zone;
	int order;		/* -1: the whole zone */
	enum migrate_mode mode;
	unsigned long migrate_pfn; /* the pageblock the migrate scanner is in */
	unsigned long free_pfn;	   /* the pageblock the free scanner takes from */
	struct page *freepages[COMPACT_CLUSTER_MAX];
	unsigned long nr_freepages;
	struct compact_report *report;
};

static void report_fail(struct compact_control *cc, unsigned long pfn, enum pinmm_migrate_fail why)
{
	struct compact_report *r = cc->report;

	r->failed++;
	r->failed_by[why]++;
	if (r->on_fail)
		r->on_fail(pfn, why, r->arg);
}

/* Free scanner: refill cc->freepages from pageblocks above the migrate scanner's. */
static void isolate_freepages(struct compact_control *cc)
{
	while (!cc->nr_freepages && cc->free_pfn > cc->migrate_pfn) {
		unsigned long end = cc->free_pfn + pageblock_nr_pages;
		unsigned long n;

		if (end > zone_end_pfn(cc->zone))
			end = zone_end_pfn(cc->zone);
		n = isolate_freepages_block(cc->free_pfn, end, cc->freepages, COMPACT_CLUSTER_MAX);
		cc->report->free_scanned += end - cc->free_pfn;
		count_vm_events(COMPACTFREE_SCANNED, (long)(end - cc->free_pfn));
		cc->report->isolated += n;
		count_vm_events(COMPACTISOLATED, (long)n);
		cc->nr_freepages = n;
		/* A block that filled the batch may hold more: come back to it. */
		if (n < COMPACT_CLUSTER_MAX)
			cc->free_pfn -= pageblock_nr_pages;
	}
}

/* migrate_page_to()'s target (Linux's compaction_alloc()). */
static struct page *compaction_alloc(struct page *old, void *arg)
{
	struct compact_control *cc = arg;

	(void)old;
	if (!cc->nr_freepages)
		isolate_freepages(cc);
	return cc->nr_freepages ? cc->freepages[--cc->nr_freepages] : NULL;
}

/* An unused target goes back to the batch (Linux's compaction_free()). */
static void compaction_free(struct page *new, void *arg)
{
	struct compact_control *cc = arg;

	cc->freepages[cc->nr_freepages++] = new;
}

/* The batch's leftovers back to the allocator (Linux's release_freepages()). */
static void release_freepages(struct compact_control *cc)
{
	while (cc->nr_freepages)
		put_page(cc->freepages[--cc->nr_freepages]);
}

enum isolate_result {
	ISOLATE_OK,	  /* a reference taken: migrate it */
	ISOLATE_FREE,	  /* not in use (free, a tail, being freed): step over */
	ISOLATE_SKIP,	  /* a THP: left whole, stepped over */
	ISOLATE_UNMOVABLE /* in use and not movable: counts against its pageblock */
};

/*
 * Take the page at pfn for migration if it is movable, with a reference: a mapped order-0
 * page (anonymous or page cache). Taking it off the LRU is the migration's first step.
 * *nr: how many pfns the page covers.
 */
static enum isolate_result compaction_isolate_page(struct page *page, unsigned long *nr,
						   enum pinmm_migrate_fail *why)
{
	*nr = 1;
	if (!page_ref_count(page) || !get_page_unless_zero(page))
		return ISOLATE_FREE;
	if (PageCompound(page)) {
		/* get_page_unless_zero() succeeded: a head (tails keep refcount 0). PG_head was
		 * set before the reference was published; the destructor (hugetlb or THP) is set
		 * after, so it is read only once the page is seen mapped. */
		*nr = compound_nr(page);
		if (!page_mapped_acquire(page)) {
			*why = MIGRATE_FAIL_UNMOVABLE;
			put_page(page);
			return ISOLATE_UNMOVABLE;
		}
		if (PageHuge(page)) {
			*why = MIGRATE_FAIL_HUGETLB;
			put_page(page);
			return ISOLATE_UNMOVABLE;
		}
		/* A THP: left whole. */
		put_page(page);
		return ISOLATE_SKIP;
	}
	/* Mapped, or on the LRU unmapped (a page-cache or swap-cache page nobody maps). */
	if (!page_mapped_acquire(page) && !page_on_lru(page)) {
		*why = MIGRATE_FAIL_UNMOVABLE;
		put_page(page);
		return ISOLATE_UNMOVABLE;
	}
	return ISOLATE_OK;
}

/* Is compaction for cc->order done (Linux's __compact_finished())? */
static bool compact_finished(struct compact_control *cc)
{
	return cc->order >= 0 && zone_free_block_available(cc->zone, (unsigned int)cc->order);
}

/* Migrate the movable pages of one pageblock. Returns false when there is nowhere to put them
 * (the scanners met). */
static bool compact_pageblock(struct compact_control *cc)
{
	unsigned long end = cc->migrate_pfn + pageblock_nr_pages;
	struct migrate_target target = {
		.alloc = compaction_alloc, .release = compaction_free, .arg = cc};

	if (end > zone_end_pfn(cc->zone))
		end = zone_end_pfn(cc->zone);
	for (unsigned long pfn = cc->migrate_pfn; pfn < end;) {
		struct page *page = pfn_to_page(pfn);
		enum pinmm_migrate_fail why = MIGRATE_FAIL_NONE;
		unsigned long nr;
		int ret;

		switch (compaction_isolate_page(page, &nr, &why)) {
		case ISOLATE_FREE:
		case ISOLATE_SKIP:
			cc->report->migrate_scanned += nr;
			count_vm_events(COMPACTMIGRATE_SCANNED, (long)nr);
			pfn += nr;
			continue;
		case ISOLATE_UNMOVABLE:
			cc->report->migrate_scanned += nr;
			count_vm_events(COMPACTMIGRATE_SCANNED, (long)nr);
			report_fail(cc, pfn, why);
			pfn += nr;
			continue;
		case ISOLATE_OK:
			break;
		}
		cc->report->migrate_scanned++;
		count_vm_event(COMPACTMIGRATE_SCANNED);
		cc->report->isolated++;
		count_vm_event(COMPACTISOLATED);
		/* migrate_page_to() takes it off the LRU (isolate_lru_page(), which counts
		 * nr_isolated_*) and puts it or its copy back. */
		ret = migrate_page_to(page, &target, cc->mode, &why);
		if (!ret) {
			cc->report->migrated++;
		} else {
			report_fail(cc, pfn, why);
			if (why == MIGRATE_FAIL_NOMEM)
				return false;
		}
		pfn++;
	}
	return true;
}

/* Linux's compact_zone(): the scanners from both ends until they meet or order is free. */
static void compact_zone(struct compact_control *cc)
{
	struct zone *zone = cc->zone;

	cc->migrate_pfn = zone->zone_start_pfn;
	cc->free_pfn = (zone_end_pfn(zone) - 1) & ~(pageblock_nr_pages - 1);
	cc->nr_freepages = 0;
	for (; cc->migrate_pfn < cc->free_pfn; cc->migrate_pfn += pageblock_nr_pages) {
		if (compact_finished(cc))
			break;
		/* Being offlined or emptied for a contiguous allocation: not ours to move. */
		if (is_migrate_isolate_pfn(cc->migrate_pfn))
			continue;
		if (!compact_pageblock(cc))
			break;
	}
	release_freepages(cc);
}

static bool zone_compactable(enum zone_type z)
{
	struct zone *zone = pinmm_zone(z);

	return zone && (z == ZONE_NORMAL || z == ZONE_MOVABLE) && zone->spanned_pages;
}

int compact_zone_order(enum zone_type z, int order, enum migrate_mode mode,
		       struct compact_report *report)
{
	struct compact_report scratch = {0};
	struct compact_control cc = {0};

	if (!pinmm_booted())
		return -ENODEV;
	if ((z != ZONE_NORMAL && z != ZONE_MOVABLE) || order < -1 || order >= MAX_ORDER ||
	    (unsigned int)mode > MIGRATE_SYNC)
		return -EINVAL;
	if (!zone_compactable(z))
		return order < 0;
	cc.zone = pinmm_zone(z);
	cc.order = order;
	cc.mode = mode;
	cc.report = report ? report : &scratch;
	compact_zone(&cc);
	return order < 0 ? 1 : zone_free_block_available(cc.zone, (unsigned int)order);
}

int compact_node(int nid, struct compact_report *report)
{
	if (!pinmm_booted())
		return -ENODEV;
	if (nid != 0)
		return -EINVAL;
	for (enum zone_type z = ZONE_NORMAL; z <= ZONE_MOVABLE; z++)
		compact_zone_order(z, -1, MIGRATE_SYNC, report);
	return 0;
}

int compact_memory(void)
{
	return compact_node(0, NULL);
}

/* The zones an allocation with gfp may come from, in the allocator's order of preference. */
static int alloc_zones(gfp_t gfp, enum zone_type zones[2])
{
	if (!(gfp & __GFP_MOVABLE)) {
		zones[0] = ZONE_NORMAL;
		return 1;
	}
	zones[0] = ZONE_MOVABLE;
	zones[1] = ZONE_NORMAL;
	return 2;
}

/*
 * Direct compaction (Linux's __alloc_pages_direct_compact() and try_to_compact_pages()): the
 * allocator found no block of order for gfp. Compact the zones gfp may use until one has such
 * a block, without waiting for page locks (the allocating thread may hold one: Linux's async
 * mode). true: a block is free now and the allocator should try again.
 */
static bool direct_compact(gfp_t gfp, unsigned int order)
{
	enum zone_type zones[2];
	int n = alloc_zones(gfp, zones);

	count_vm_event(COMPACTSTALL);
	for (int i = 0; i < n; i++)
		if (compact_zone_order(zones[i], (int)order, MIGRATE_ASYNC, NULL) == 1) {
			count_vm_event(COMPACTSUCCESS);
			return true;
		}
	count_vm_event(COMPACTFAIL);
	return false;
}

__attribute__((constructor)) static void compaction_init(void)
{
	set_direct_compact_hook(direct_compact);
}
