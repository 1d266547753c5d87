/* SPDX-License-Identifier: MIT */
/*
 * Zones of the simulated machine's one node, their free areas, and the buddyinfo view.
 *
 * pinmm has ZONE_NORMAL and ZONE_MOVABLE (x86-64 Linux also has DMA and DMA32, which nothing
 * here needs). A pageblock's migrate type is fixed by where it lies: MIGRATE_CMA inside the
 * CMA area, MIGRATE_MOVABLE in ZONE_MOVABLE, MIGRATE_UNMOVABLE elsewhere; buddies never merge
 * across types because the CMA area and the zones are MAX_ORDER aligned. Isolation (Linux
 * keeps it as the MIGRATE_ISOLATE pageblock type) is kept beside the type here, so
 * get_pageblock_migratetype() still says CMA for an isolated CMA pageblock; isolated ranges are
 * MAX_ORDER aligned too.
 */
#ifndef PINMM_MMZONE_H
#define PINMM_MMZONE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "gfp.h"
#include "mm.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zone_type {
	ZONE_NORMAL,
	ZONE_MOVABLE,
	ZONE_DEVICE,
	MAX_NR_ZONES,
};

enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_CMA,
	/* Not a pageblock's type: the free lists of isolated pageblocks (is_migrate_isolate_pfn()),
	 * which no allocation takes from (memory offlining, alloc_contig_range()). */
	MIGRATE_ISOLATE,
	MIGRATE_TYPES,
};

struct free_area {
	struct cds_list_head free_list[MIGRATE_TYPES];
	unsigned long nr_free; /* blocks of this order, all migrate types */
};

/* A zone's watermarks (Linux's enum zone_watermarks), in pages. */
enum zone_watermarks {
	WMARK_MIN,
	WMARK_LOW,
	WMARK_HIGH,
	NR_WMARK,
};

struct zone {
	const char *name;
	unsigned long zone_start_pfn;
	unsigned long spanned_pages;
	unsigned long cma_start_pfn; /* CMA area [cma_start_pfn, cma_end_pfn), empty if equal */
	unsigned long cma_end_pfn;
	pthread_mutex_t lock; /* protects free_area and the buddy state of free pages */
	struct free_area free_area[MAX_ORDER];
	/* Set at boot from the zone's size as Linux 5.7's __setup_per_zone_wmarks():
	 * <pinmm/vmscan.h> says what each one triggers. */
	unsigned long _watermark[NR_WMARK];
	/* Free pages (and free pages in the CMA area), changed with free_area under lock and
	 * read without it by the watermark checks (a moment's value, as Linux's
	 * zone_page_state()). nr_free_pages (vmstat) sums the same changes per thread. */
	atomic_long nr_free;
	atomic_long nr_free_cma;
};

static inline unsigned long min_wmark_pages(const struct zone *z)
{
	return z->_watermark[WMARK_MIN];
}

static inline unsigned long low_wmark_pages(const struct zone *z)
{
	return z->_watermark[WMARK_LOW];
}

static inline unsigned long high_wmark_pages(const struct zone *z)
{
	return z->_watermark[WMARK_HIGH];
}

/*
 * Would zone keep more than mark free pages after an allocation of 2^order pages (Linux's
 * zone_watermark_ok() without lowmem_reserve)? Free pages of the CMA area count only when
 * use_cma (a movable allocation may take them). pinmm checks the number of free pages only,
 * not that a free block of the order exists (the allocation itself finds out).
 */
bool zone_watermark_ok(const struct zone *zone, unsigned int order, unsigned long mark,
		       bool use_cma);

/*
 * The LRU lists (Linux's enum lru_list and struct lruvec, mm/vmscan.c's aging works on them).
 * The machine has one node, so one lruvec: every page that is anonymous or in a page cache
 * (hugetlb pages excepted, as in Linux) is on exactly one list while PG_lru is set, and on
 * none while it is isolated (PG_lru clear, held by the isolator's reference) or free. shmem
 * and memfd pages are PG_swapbacked and live on the anon lists, as in Linux.
 */
#define LRU_BASE 0
#define LRU_ACTIVE 1
#define LRU_FILE 2

enum lru_list {
	LRU_INACTIVE_ANON = LRU_BASE,
	LRU_ACTIVE_ANON = LRU_BASE + LRU_ACTIVE,
	LRU_INACTIVE_FILE = LRU_BASE + LRU_FILE,
	LRU_ACTIVE_FILE = LRU_BASE + LRU_FILE + LRU_ACTIVE,
	LRU_UNEVICTABLE,
	NR_LRU_LISTS,
};

#define for_each_lru(lru) for (lru = 0; lru < NR_LRU_LISTS; lru++)
#define for_each_evictable_lru(lru) for (lru = 0; lru <= LRU_ACTIVE_FILE; lru++)

static inline bool is_file_lru(enum lru_list lru)
{
	return lru == LRU_INACTIVE_FILE || lru == LRU_ACTIVE_FILE;
}

static inline bool is_active_lru(enum lru_list lru)
{
	return lru == LRU_ACTIVE_ANON || lru == LRU_ACTIVE_FILE;
}

struct lruvec {
	/* Pages linked through page->lru, newest at the head; reclaim scans from the tail. */
	struct cds_list_head lists[NR_LRU_LISTS];
	/* Base pages on each list (a THP counts its 512). Written under lru_lock; read without
	 * it by reclaim's heuristics (relaxed: a moment's value). */
	atomic_long lru_size[NR_LRU_LISTS];
};

/* The node (Linux's pg_data_t); the machine has node 0 only. */
typedef struct pglist_data {
	/* Protects the lists, PG_lru of every page and the lru_size words (5.7's pgdat->lru_lock;
	 * Linux 5.11 moved it into the lruvec). Innermost: taken by the last put_page(), so
	 * nothing may be called under it that takes another lock or drops a reference. */
	pthread_mutex_t lru_lock;
	struct lruvec __lruvec;
	int node_id;
} pg_data_t;

/* The node by id: node 0 while booted, else NULL. */
pg_data_t *pinmm_node_data(int nid);
#define NODE_DATA(nid) pinmm_node_data(nid)

static inline struct lruvec *node_lruvec(pg_data_t *pgdat)
{
	return &pgdat->__lruvec;
}

/* The zone the frame lies in; page must be a valid page of the running machine. */
struct zone *page_zone(const struct page *page);

/* The zone by index, or NULL when not booted or when idx is not an enum zone_type. */
struct zone *pinmm_zone(enum zone_type idx);

static inline unsigned long zone_end_pfn(const struct zone *zone)
{
	return zone->zone_start_pfn + zone->spanned_pages;
}

/* MIGRATE_CMA, MIGRATE_MOVABLE or MIGRATE_UNMOVABLE, by where the frame lies. */
enum migratetype get_pageblock_migratetype(const struct page *page);

/* The pageblock of pfn is isolated: its free pages are on the MIGRATE_ISOLATE lists and out of
 * nr_free_pages (offlining or alloc_contig_range() is emptying it, or it is offline). False
 * outside RAM. */
bool is_migrate_isolate_pfn(unsigned long pfn);

/* The pageblock of pfn is offline (offline_pages(), <pinmm/memory_hotplug.h>). */
bool pageblock_offline(unsigned long pfn);

static inline bool is_migrate_cma_page(const struct page *page)
{
	return get_pageblock_migratetype(page) == MIGRATE_CMA;
}

static inline enum zone_type page_zonenum(const struct page *page)
{
	return (enum zone_type)(page_zone(page) - pinmm_zone(ZONE_NORMAL));
}

/*
 * Write /proc/buddyinfo's view of the free lists to out: one line per zone,
 *     Node 0, zone   Normal      3      1      0 ...
 * with the number of free blocks of each order 0 .. MAX_ORDER - 1. Returns 0, -EINVAL for a
 * NULL stream, -ENODEV when not booted.
 */
int pinmm_buddyinfo_print(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MMZONE_H */
