/* SPDX-License-Identifier: MIT */
/*
 * Event and state counters, printed as /proc/vmstat.
 *
 * Each thread (a CPU of the simulated machine) keeps its own counters and only it writes them,
 * so no hot path writes a shared cache line; readers add up every thread's values (and those
 * folded in by threads that have exited). Values read while other threads are counting are a
 * moment's sum, as in Linux. Counters restart from zero at every pinmm_boot() and read zero
 * after pinmm_shutdown().
 *
 * Names and order follow Linux 5.7: zone items, node items (the single node), then events.
 * nr_foll_pin_acquired / nr_foll_pin_released count logical pins of one 4 KiB page each.
 */
#ifndef PINMM_VMSTAT_H
#define PINMM_VMSTAT_H

#include <stdio.h>

#include "mmzone.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zone_stat_item {
	NR_FREE_PAGES,
	NR_PAGETABLE,
	NR_FREE_CMA_PAGES,
	NR_VM_ZONE_STAT_ITEMS,
};

enum node_stat_item {
	/* The LRU lists' sizes in base pages, in enum lru_list's order (NR_LRU_BASE + lru). */
	NR_LRU_BASE,
	NR_INACTIVE_ANON = NR_LRU_BASE,
	NR_ACTIVE_ANON,
	NR_INACTIVE_FILE,
	NR_ACTIVE_FILE,
	NR_UNEVICTABLE,
	NR_ISOLATED_ANON,
	NR_ISOLATED_FILE,
	NR_ANON_MAPPED,
	NR_FILE_MAPPED,
	NR_FILE_PAGES,
	NR_FILE_DIRTY,
	NR_WRITEBACK,
	NR_SHMEM,
	NR_ANON_THPS,
	NR_DIRTIED,
	NR_WRITTEN,
	NR_FOLL_PIN_ACQUIRED,
	NR_FOLL_PIN_RELEASED,
	NR_VM_NODE_STAT_ITEMS,
};

enum vm_event_item {
	PSWPIN,
	PSWPOUT,
	PGALLOC_NORMAL,
	PGALLOC_MOVABLE,
	ALLOCSTALL_NORMAL, /* direct reclaim entered for an allocation from the zone */
	ALLOCSTALL_MOVABLE,
	PGFREE,
	PGACTIVATE,   /* pages moved to an active list */
	PGDEACTIVATE, /* pages moved to an inactive list */
	PGFAULT,
	PGMAJFAULT,
	PGREFILL,       /* pages scanned on the active lists */
	PGSTEAL_KSWAPD, /* pages reclaimed by kswapd */
	PGSTEAL_DIRECT, /* pages reclaimed by direct reclaim */
	PGSCAN_KSWAPD,  /* inactive pages kswapd scanned */
	PGSCAN_DIRECT,  /* inactive pages direct reclaim scanned */
	KSWAPD_LOW_WMARK_HIT_QUICKLY,
	KSWAPD_HIGH_WMARK_HIT_QUICKLY,
	PAGEOUTRUN,     /* kswapd's reclaim runs */
	PGROTATED,      /* pages moved to the tail of an inactive list */
	OOM_KILL,       /* OOM reports (pinmm kills nothing: see <pinmm/vmscan.h>) */
	PGMIGRATE_SUCCESS,
	PGMIGRATE_FAIL,
	COMPACTMIGRATE_SCANNED,
	COMPACTFREE_SCANNED,
	COMPACTISOLATED,
	COMPACTSTALL,
	COMPACTFAIL,
	COMPACTSUCCESS,
	HTLB_BUDDY_PGALLOC,
	HTLB_BUDDY_PGALLOC_FAIL,
	THP_FAULT_ALLOC,
	THP_FAULT_FALLBACK,
	THP_COLLAPSE_ALLOC,
	THP_COLLAPSE_ALLOC_FAILED,
	THP_SPLIT_PAGE,
	THP_SPLIT_PMD,
	NR_VM_EVENT_ITEMS,
};

/* Add delta to this thread's share of a counter. Any thread, any time; never fails. */
void mod_zone_page_state(struct zone *zone, enum zone_stat_item item, long delta);
void mod_node_page_state(enum node_stat_item item, long delta);
void count_vm_events(enum vm_event_item item, long delta);

static inline void count_vm_event(enum vm_event_item item)
{
	count_vm_events(item, 1);
}

/* Sums over every thread. An item outside its enum reads 0 (with a WARN). */
long zone_page_state(const struct zone *zone, enum zone_stat_item item);
long global_zone_page_state(enum zone_stat_item item);
long global_node_page_state(enum node_stat_item item);
unsigned long global_vm_event_count(enum vm_event_item item);

/* Linux's /proc/vmstat name of an item, or NULL for a value outside the enum. */
const char *zone_stat_name(enum zone_stat_item item);
const char *node_stat_name(enum node_stat_item item);
const char *vm_event_name(enum vm_event_item item);

/* Write every counter as /proc/vmstat does, "name value" a line. Returns 0, or -EINVAL for a
 * NULL stream. Works (printing zeros) when the machine is not booted. */
int pinmm_vmstat_print(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_VMSTAT_H */
