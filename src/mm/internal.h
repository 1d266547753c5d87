/* SPDX-License-Identifier: MIT */
/*
 * What the files of src/mm share and users do not see: the machine descriptor, the allocator's
 * entry points for compound pages and hugetlb, and the boot/shutdown hooks of each part.
 */
#ifndef PINMM_MM_INTERNAL_H
#define PINMM_MM_INTERNAL_H

/* This layer's public pieces, and the reports layer below it; nothing from a layer above. */
#include <pinmm/boot.h>
#include <pinmm/err.h>
#include <pinmm/gfp.h>
#include <pinmm/hugetlb.h>
#include <pinmm/memremap.h>
#include <pinmm/mm.h>
#include <pinmm/mm_inline.h>
#include <pinmm/mm_types.h>
#include <pinmm/mmdebug.h>
#include <pinmm/mmzone.h>
#include <pinmm/page-flags.h>
#include <pinmm/page_ref.h>
#include <pinmm/pagemap.h>
#include <pinmm/vmstat.h>

#include "lib/internal.h"

struct pinmm_machine {
	struct pinmm_config cfg;
	struct zone zones[MAX_NR_ZONES];
	struct hstate hstates[HUGE_MAX_HSTATE];
	pg_data_t node; /* node 0: its LRU lists (lru.c) */
	size_t ram_len;    /* host bytes reserved for frames */
	size_t memmap_len; /* host bytes reserved for mem_map */
	atomic_long nr_bad_pages; /* pages quarantined by bad frees */
};

extern struct pinmm_machine machine;
extern atomic_bool machine_booted;

/* boot.c: which machine is running. Odd while booted, bumped by each boot and each
 * shutdown, so an object stamped with it is known to belong to an earlier machine. */
unsigned long machine_generation(void);

/* boot.c: the higher layers' parts in pinmm_shutdown(), run first while the machine still
 * works, in this order (the machine's background threads stop before anything is checked;
 * address spaces go before the files their VMAs hold); each returns the number of problems it
 * reported. */
enum shutdown_hook_id {
	SHUTDOWN_HOOK_KSWAPD,
	SHUTDOWN_HOOK_QUIESCE,
	SHUTDOWN_HOOK_MM,
	SHUTDOWN_HOOK_SWAP,	/* after the mms: their swap entries are gone */
	SHUTDOWN_HOOK_FILES,
	NR_SHUTDOWN_HOOKS,
};

void set_shutdown_hook(enum shutdown_hook_id id, unsigned long (*hook)(void));

/* The machine's pinmm_config.debug_checks, read on the release paths (set at boot). */
extern atomic_bool debug_checks_on;

static inline bool debug_checks(void)
{
	return atomic_load_explicit(&debug_checks_on, memory_order_relaxed);
}

/* A misuse the debug checks caught: WARN at the caller's line and name the page, every time
 * (each misuse is its own report, unlike the _ONCE macros). Evaluates to cond. */
#define WARN_MISUSE_PAGE(cond, page, ...)                                                          \
	({                                                                                         \
		bool __misuse = !!(cond);                                                          \
		if (__misuse) {                                                                    \
			__pinmm_warn(__FILE__, __LINE__, __func__, __VA_ARGS__);                   \
			dump_page(page, "misuse caught by the debug checks");                     \
		}                                                                                  \
		__misuse;                                                                          \
	})

/*
 * Pin owners (pin_owner.c, <pinmm/pin_owner.h>). pin_owner_enabled() is the one branch the
 * grab and the release pay with tracking off: a flag written at boot, before any pin, and
 * cleared at shutdown, after the last. The rest runs only when it is true.
 */
extern atomic_bool pin_owner_on;

static inline bool pin_owner_enabled(void)
{
	return __builtin_expect(atomic_load_explicit(&pin_owner_on, memory_order_relaxed), 0);
}

/* Boot: switch tracking on if configured or PINMM_PIN_OWNER=1. 0, -EINVAL (PINMM_PIN_OWNER
 * neither "0" nor "1" nor empty; logged), -ENOMEM. */
int pin_owner_boot(bool configured);
/* Shutdown, after the leak report: free every record and site; tracking is off. */
void pin_owner_teardown(void);
/* The FOLL_* names, bit by bit, for the reports (set by the GUP layer, which owns them). */
void pin_owner_set_flag_names(const char *const *names, unsigned int nr);
/* A grab of refs pins of head, starting at subpage page, through mm (may be NULL). */
void pin_owner_add(struct page *head, struct page *page, int refs, unsigned int flags,
		   const void *mm);
/* An unpin of refs pins of head, before its counts drop: closes records by the matching rule
 * of <pinmm/pin_owner.h>. The subpages unpinned are pages[0 .. refs) when pages is not NULL,
 * else first, first + 1, ... when first is not NULL, else not known. With the debug checks
 * off, WARNs a report if some pins were not there. */
void pin_owner_release(struct page *head, int refs, struct page *const *pages,
		       struct page *first);
/* The debug checks caught a bad unpin of head: add both call sites to their WARN. */
void pin_owner_report_misuse(struct page *head, int refs);
/* The last mmput() of mm: report the pins still held through it, and forget mm in them. */
void pin_owner_mm_exit(const void *mm);
/* For pinmm_check_invariants(): the pins the open records hold in all, or -1 when pin owners
 * are off or lost records to a failed allocation (then the sum proves nothing). */
long pin_owner_outstanding(void);
/* Shutdown: report every outstanding pin with its owner. Returns the number of pins. */
unsigned long pin_owner_report_leaks(void);

/* Flags that must be clear when a page is freed (Linux's PAGE_FLAGS_CHECK_AT_FREE). */
#define PAGE_FLAGS_CHECK_AT_FREE                                                                   \
	(1UL << PG_lru | 1UL << PG_locked | 1UL << PG_private | 1UL << PG_private_2 |             \
	 1UL << PG_writeback | 1UL << PG_reserved | 1UL << PG_slab | 1UL << PG_active |           \
	 1UL << PG_unevictable | 1UL << PG_mlocked)

/* Poison left in the mapping word of tail pages from page[3] on, as Linux's TAIL_MAPPING. */
#define TAIL_MAPPING ((struct address_space *)0x400UL)

/* page_alloc.c: what the allocator and boot ask of reclaim (src/vm/vmscan.c registers them
 * at load: physical memory never calls up). Any of them may be NULL (no reclaim linked). */
struct reclaim_ops {
	/* Every zone the allocation may use is below low: wake kswapd. */
	void (*wakeup_kswapd)(unsigned int order, enum zone_type highest_zoneidx);
	/* Every zone is below min: reclaim on this thread. Returns the pages freed. */
	unsigned long (*try_to_free_pages)(gfp_t gfp, unsigned int order,
					   enum zone_type highest_zoneidx);
	/* Reclaim could not help and the zones are empty: report it. */
	void (*out_of_memory)(gfp_t gfp, unsigned int order);
	/* The end of pinmm_boot(): start kswapd. 0 or -ENOMEM. */
	int (*boot)(void);
};

void set_reclaim_ops(const struct reclaim_ops *ops);
/* pinmm_boot()'s last step: the registered ops' boot(), 0 without one. */
int reclaim_boot(void);

/* page_alloc.c */
void zones_init(void);
void zones_teardown(void);
/* page_alloc.c: frames a __GFP_ZERO allocation left alone since boot because they were never
 * handed out before (the host's fresh memory reads zero), and whether a frame of RAM was ever
 * handed out (true beyond RAM, and for every frame when the bitmap could not be reserved). */
long frames_zeroing_skipped(void);
bool frame_ever_used(unsigned long pfn);
/* Return a block of 2^order pages (the allocation's head, refcount already 0) to the buddy
 * lists after the bad-page checks; a block that fails them is quarantined. */
void free_pages_ok(struct page *page, unsigned int order);
/* Report a bad page (WARN + dump_page) as Linux's bad_page(). */
void bad_page(struct page *page, const char *reason);
/* Reset a frame's struct page to a freshly allocated, unreferenced state. */
void init_page_state(struct page *page);
/* Walk the zones at shutdown and report what is not free; returns the number of pages. */
unsigned long report_unfreed_pages(void);

/*
 * page_alloc.c: pageblock isolation (Linux's mm/page_isolation.c), for memory offlining and
 * alloc_contig_range() in src/vm/memory_hotplug.c. Ranges are MAX_ORDER aligned RAM inside one
 * zone (else WARN, and -EINVAL / nothing done).
 * start_isolate_page_range(): mark every pageblock isolated and move its free blocks to the
 * MIGRATE_ISOLATE lists (out of nr_free_pages); -EBUSY (nothing changed) when a pageblock of
 * the range is isolated already. undo_isolate_page_range(): back to the ordinary lists,
 * offline state cleared too. test_pages_isolated(): the first pfn from start_pfn on that is
 * not an isolated free page, end_pfn when there is none (start_pfn need not be aligned here). set_range_offline(): mark or
 * clear the offline state of isolated pageblocks. alloc_isolated_range(): take a wholly free,
 * isolated range (nr_pages a power of two) off the lists as one allocation (the first page's
 * refcount 1, free it with free_contig_range()) and end its isolation; NULL if a page is not
 * free (nothing changed).
 */
int start_isolate_page_range(unsigned long start_pfn, unsigned long end_pfn);
void undo_isolate_page_range(unsigned long start_pfn, unsigned long end_pfn);
unsigned long test_pages_isolated(unsigned long start_pfn, unsigned long end_pfn);
int set_range_offline(unsigned long start_pfn, unsigned long end_pfn, bool offline);
struct page *alloc_isolated_range(unsigned long start_pfn, unsigned long nr_pages);

/* page_alloc.c, for compaction's free scanner: take up to max free pages lying in
 * [start_pfn, end_pfn) (one zone; isolated pageblocks skipped) off the free lists, each an
 * order-0 page with refcount 1 as alloc_page() returns it, into pages[]; returns how many. */
unsigned long isolate_freepages_block(unsigned long start_pfn, unsigned long end_pfn,
				      struct page **pages, unsigned long max);
/* A free block of order or more on a list of zone an allocation may take from. */
bool zone_free_block_available(struct zone *zone, unsigned int order);

/* page_alloc.c: the direct compaction hook (src/vm/compaction.c registers it at boot): a
 * high-order alloc_pages() with __GFP_DIRECT_RECLAIM that finds no block calls it once and,
 * when it returns true (it made progress), tries the free lists again. NULL unregisters. */
void set_direct_compact_hook(bool (*hook)(gfp_t gfp, unsigned int order));

/* page_alloc.c: while set, this thread is inside a long-term GUP (Linux's memalloc_pin_save(),
 * 5.7's memalloc_nocma_save()) and its allocations stay out of CMA; under modern rules out of
 * ZONE_MOVABLE too (rule_pin_context_avoids_movable()). Returns the old value. */
bool memalloc_pin_save(void);
void memalloc_pin_restore(bool old);

/*
 * Lists threaded through page->lru (the buddy free lists, the hugetlb pool). The lockless GUP
 * walk may read the first words of any struct page, free or not (compound_head shares
 * lru.next, and page[1]'s order byte lies in lru.prev), so these lists store their pointers
 * with atomic (relaxed) stores; reading them plainly under the list's lock is fine.
 */
static inline void lru_store_relaxed(struct cds_list_head **field, struct cds_list_head *v)
{
	__atomic_store_n(field, v, __ATOMIC_RELAXED);
}

static inline void page_list_add(struct page *page, struct cds_list_head *head)
{
	struct cds_list_head *next = head->next;

	lru_store_relaxed(&next->prev, &page->lru);
	lru_store_relaxed(&page->lru.next, next);
	lru_store_relaxed(&page->lru.prev, head);
	lru_store_relaxed(&head->next, &page->lru);
}

static inline void page_list_add_tail(struct page *page, struct cds_list_head *head)
{
	struct cds_list_head *prev = head->prev;

	lru_store_relaxed(&page->lru.next, head);
	lru_store_relaxed(&page->lru.prev, prev);
	lru_store_relaxed(&prev->next, &page->lru);
	lru_store_relaxed(&head->prev, &page->lru);
}

static inline void page_list_del(struct page *page)
{
	struct cds_list_head *next = page->lru.next, *prev = page->lru.prev;

	lru_store_relaxed(&next->prev, prev);
	lru_store_relaxed(&prev->next, next);
	lru_store_relaxed(&page->lru.next, NULL);
	lru_store_relaxed(&page->lru.prev, NULL);
}

/* lru.c (the LRU lists; the API is <pinmm/mm_inline.h>) */
void lru_init(void);
void lru_teardown(void);
/* The last reference to head went: take it off the LRU (Linux's __page_cache_release()). */
void __page_cache_release(struct page *head);
/* split_huge_page(), head frozen at refcount 0 and no longer PageHead, its nr - 1 tails
 * already order-0 pages: put the tails where the head is (see lru.c). */
void lru_add_split_tails(struct page *head, unsigned long nr, struct cds_list_head *list);

/* page_ref.c: free a head page whose refcount has just reached zero. */
void __put_page(struct page *head);

/* compound.c */
void prep_compound_page(struct page *page, unsigned int order);
void set_compound_page_dtor(struct page *head, enum compound_dtor_id dtor);
/* Check tail page `page` of compound page head as it is freed (reporting what is wrong) and
 * turn it back into a plain page; returns 1 if it was bad, else 0. */
unsigned long free_tail_pages_check(struct page *head, struct page *page);
void destroy_compound_page(struct page *head);

/* compound_pincount_ptr(head): the one place that knows where the exact pin count lives
 * (rule_pincount_in_first_tail(), defined after the rules below). Only for a head with
 * hpage_pincount_available(). */
static inline atomic_int *compound_pincount_ptr(struct page *head);

/* hugetlb.c */
int hugetlb_init(void);
/* Empty the pools back to the buddy allocator; pages still in use stay where they are for the
 * shutdown report. */
void hugetlb_teardown(void);
void free_huge_page(struct page *head);
/* hugetlb_acct_memory(): reserve delta more free pages of h (delta > 0; -ENOMEM when fewer
 * than that are free and unreserved) or give -delta reservations back (delta < 0). */
int hugetlb_acct_memory(struct hstate *h, long delta);
/* dequeue_huge_page(), which with use_reserve may take a reserved page: the reservation is
 * then consumed and PG_private set on the head, so that a page freed before it is mapped
 * gives its reservation back (Linux's restore_reserve); the caller clears PG_private once the
 * page is mapped. */
struct page *dequeue_huge_page_reserve(struct hstate *h, bool use_reserve);

/* memremap.c: report pagemaps still in use at shutdown and forget them all; returns the number
 * of device pages still referenced. */
unsigned long memremap_teardown(void);
/* Call fn on every live pagemap, under the pagemap lock. */
void for_each_dev_pagemap(void (*fn)(struct dev_pagemap *pgmap, void *arg), void *arg);
/* The driver callback when a device page's count comes back to 1. */
void free_devmap_managed_page(struct page *page);

/* boot.c: a check that a higher layer registers (src/check/), run by pinmm_shutdown() in
 * builds with PINMM_HOOKS before anything is torn down; it returns the number of problems it
 * reported. NULL unregisters. */
void pinmm_set_shutdown_check(unsigned long (*check)(void));

/* vmstat.c */
void vmstat_reset(void);

/* One thread's counters (see vmstat.c). Only the owning thread writes them. */
struct vmstat_cpu {
	struct cds_list_head node;
	atomic_long zone[MAX_NR_ZONES][NR_VM_ZONE_STAT_ITEMS];
	atomic_long node_items[NR_VM_NODE_STAT_ITEMS];
	atomic_long events[NR_VM_EVENT_ITEMS];
};

/* The calling thread's block (initial-exec TLS: one load, no call, on the hot paths). */
extern _Thread_local struct vmstat_cpu *vmstat_cpu_ptr __attribute__((tls_model("initial-exec")));
struct vmstat_cpu *vmstat_cpu_slow(void);

/* Only the owning thread writes its counters, so a load and a store are enough (Linux's
 * __this_cpu_add()); relaxed atomics keep concurrent readers well-defined. */
static inline void this_cpu_add(atomic_long *v, long delta)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + delta,
			      memory_order_relaxed);
}

/* mod_node_page_state() for hot paths that pass a valid item. */
static inline void __mod_node_page_state(enum node_stat_item item, long delta)
{
	struct vmstat_cpu *c = vmstat_cpu_ptr;

	this_cpu_add(&(c ? c : vmstat_cpu_slow())->node_items[item], delta);
}

/* The rule set's decisions, for this layer and every layer above. */
#include "mm/rules.h"

static inline atomic_int *compound_pincount_ptr(struct page *head)
{
	return rule_pincount_in_first_tail() ? &head[1]._pincount : &head[2].hpage_pinned_refcount;
}

/* The slot the running rule set leaves unused (NULL when the page has none: order 1 under
 * modern rules has no page[2]); prep zeroes it and it stays 0 (pinmm_check_invariants()). */
static inline atomic_int *compound_pincount_unused_ptr(struct page *head)
{
	if (!rule_pincount_in_first_tail())
		return &head[1]._pincount;
	return compound_order(head) > 1 ? &head[2].hpage_pinned_refcount : NULL;
}

#endif /* PINMM_MM_INTERNAL_H */
