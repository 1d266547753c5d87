/* SPDX-License-Identifier: MIT */
/*
 * Memory compaction (Linux's mm/compaction.c): per zone, a migrate scanner walks pageblocks up
 * from the bottom taking movable pages, a free scanner walks down from the top taking free
 * pages, and the pages are migrated into the free ones until the scanners meet, leaving free
 * blocks at the bottom. Run on demand (compact_memory(), as writing /proc/sys/vm/compact_memory)
 * and, direct compaction, by a high-order allocation with __GFP_DIRECT_RECLAIM that finds no
 * free block (compact_stall, then compact_success or compact_fail).
 *
 * Movable: mapped anonymous and page-cache pages on the LRU lists (taken off them for the
 * move, as Linux's isolate_lru_page()). THPs are left as they
 * are (Linux skips compound pages of pageblock order or more; offlining moves them). A page
 * that cannot be moved is counted by reason (<pinmm/migrate.h>): a pin keeps its pageblock
 * from ever becoming free.
 */
#ifndef PINMM_COMPACTION_H
#define PINMM_COMPACTION_H

#include "migrate.h"
#include "mmzone.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a compaction run did (every field added to, never reset: one report may gather several
 * runs). on_fail, when set, is called for every page that could not be migrated, with its pfn
 * and why, from the compacting thread, with no lock held. */
struct compact_report {
	unsigned long migrate_scanned; /* pages the migrate scanner looked at */
	unsigned long free_scanned;    /* pages the free scanner looked at */
	unsigned long isolated;        /* pages taken for migration, and free pages taken */
	unsigned long migrated;        /* pages moved */
	unsigned long failed;          /* pages that stayed */
	unsigned long failed_by[NR_MIGRATE_FAIL];
	void (*on_fail)(unsigned long pfn, enum pinmm_migrate_fail why, void *arg);
	void *arg;
};

/*
 * Compact every zone of node nid (only node 0 exists) completely, waiting for page locks
 * (MIGRATE_SYNC), as Linux's compact_node(). report may be NULL.
 * Returns 0, -EINVAL (nid is not 0), -ENODEV (not booted). Thread-safe: runs may overlap each
 * other and anything else the machine does.
 */
int compact_node(int nid, struct compact_report *report);

/* Writing /proc/sys/vm/compact_memory: compact_node() of every node. 0 or -ENODEV. */
int compact_memory(void);

/*
 * Compact one zone (ZONE_NORMAL or ZONE_MOVABLE) until a free block of order is available
 * (order < MAX_ORDER), or completely (order -1), in mode. report may be NULL.
 * Returns 1 when a block of order is free at the end (always 1 for -1 once done), 0 when not;
 * -EINVAL for another zone, an order out of range or a mode that is not an enum migrate_mode;
 * -ENODEV when not booted.
 */
int compact_zone_order(enum zone_type zone, int order, enum migrate_mode mode,
		       struct compact_report *report);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_COMPACTION_H */
