/* SPDX-License-Identifier: MIT */
/*
 * Page reclaim (Linux 5.7's mm/vmscan.c): the node's kswapd thread, direct reclaim for the
 * allocator, reclaim_pages() for MADV_PAGEOUT, and the out-of-memory report. The contract is
 * <pinmm/vmscan.h>; the LRU lists and their primitives are layer 1 (src/mm/lru.c).
 *
 * Talks to: the LRU (isolate_lru_pages(), putback_lru_page()), the rmap (page_referenced(),
 * try_to_unmap()), the page cache (__remove_mapping(), pageout_file_page() for dirty pages:
 * src/fs), the allocator, which reaches reclaim only through the callbacks registered here at
 * load (set_reclaim_ops(): physical memory never calls up), and boot/shutdown (kswapd starts
 * with the machine and stops first at shutdown).
 *
 * The rule that is easy to break: reclaim frees a page only through the refcount freeze of
 * __remove_mapping(), which succeeds only when reclaim's isolation reference and the page
 * cache's are all the references there are: a pinned page, or one under get_user_pages(), keeps
 * an extra reference and is put back, never freed and never written over. Every page taken off
 * a list goes back with putback_lru_page() or is freed from the frozen count; nothing here may
 * keep an isolated page past the call that isolated it.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <pinmm/huge_mm.h>
#include <pinmm/swap.h>
#include <pinmm/vmscan.h>

#include "internal.h"

/* Linux's constants. */
#define DEF_PRIORITY 12
#define SWAP_CLUSTER_MAX 32UL
#define MAX_RECLAIM_RETRIES 16
#define PAGE_ALLOC_COSTLY_ORDER 3

struct scan_control {
	unsigned long nr_to_reclaim;
	unsigned long nr_reclaimed;
	unsigned long nr_scanned;
	gfp_t gfp_mask;
	int priority;
	enum zone_type reclaim_idx; /* the highest zone the allocation may use */
	bool may_writepage;
	bool may_unmap;
	bool may_swap;
	bool kswapd;               /* counted as kswapd's (pgscan_kswapd, pgsteal_kswapd) */
	unsigned long nr_writeback; /* pages this reclaim submitted for writeback */
};

/* This thread is reclaiming (Linux's PF_MEMALLOC): an allocation it makes must not reclaim
 * again. */
static _Thread_local bool in_reclaim;

/* ---- the anonymous side ---- */

/*
 * Can anonymous pages be reclaimed at all? Only into swap: when a swap area is on and has a
 * free slot (Linux's get_nr_swap_pages() > 0). Without one neither kswapd nor direct reclaim
 * scans the anon lists, as Linux without swap.
 */
static bool can_reclaim_anon_pages(void)
{
	struct pinmm_swap_info info;

	return !pinmm_swap_info(&info) && info.free > 0;
}

enum pageout_result {
	PAGEOUT_KEEP,     /* leave it on the inactive list for now */
	PAGEOUT_ACTIVATE, /* cannot be reclaimed: back to the active list */
	PAGEOUT_FREED,    /* out and freed (the page is gone) */
	PAGEOUT_PUTBACK,  /* written out, still in use: already back on the LRU */
};

/*
 * An anonymous or shmem page's way out of memory (5.7's add_to_swap() + pageout() branch of
 * shrink_page_list()): the page is locked and isolated, and referenced only as
 * shrink_page_list() found it. A THP is split first, as 5.7 splits one that goes to swap; its
 * other subpages join page_list. Then swap's pageout_anon() (src/vm/swap_state.c) adds it to
 * the swap cache, unmaps it (the rule set decides about maybe-pinned pages there) and writes
 * it; this waits for the write and frees the page when nothing else holds it
 * (pageout_anon_finish()), where 5.7 leaves it to a later pass (see docs/design.md). Returns
 * with the page locked for KEEP and ACTIVATE; after FREED and PUTBACK the page is not ours.
 * shmem pages are not swapped (pinmm's swap takes anonymous pages only): they stay.
 */
static enum pageout_result pageout_anon_page(struct page *page, struct cds_list_head *page_list,
					     struct scan_control *sc)
{
	int ret;

	if (!PageAnon(page) || !can_reclaim_anon_pages())
		return PAGEOUT_ACTIVATE;
	if (!sc->may_swap)
		return PAGEOUT_KEEP;
	if (PageCompound(page) && split_huge_page_to_list(page, page_list))
		return PAGEOUT_ACTIVATE;
	unlock_page(page);
	ret = pageout_anon(page);
	if (ret >= 0) /* the write was waited for: nothing for sc->nr_writeback */
		return pageout_anon_finish(page) ? PAGEOUT_FREED : PAGEOUT_PUTBACK;
	/* Still isolated (our reference): lock it again for the caller's putback. */
	lock_page(page);
	return ret == -EAGAIN ? PAGEOUT_KEEP : PAGEOUT_ACTIVATE;
}

/* ---- one batch of isolated inactive pages ---- */

enum page_references {
	PAGEREF_RECLAIM,
	PAGEREF_RECLAIM_CLEAN,
	PAGEREF_KEEP,
	PAGEREF_ACTIVATE,
};

/* 5.7's page_check_references(): what the accessed bits and PG_referenced say. */
static enum page_references page_check_references(struct page *page)
{
	unsigned long vm_flags = 0;
	int referenced_ptes = page_referenced(page, &vm_flags);
	bool referenced_page = TestClearPageReferenced(page);

	if (referenced_ptes) {
		/* An anonymous page that was used is worth a whole trip round the lists. */
		if (PageSwapBacked(page))
			return PAGEREF_ACTIVATE;
		/* A file page used once since the last scan gets one more round on the
		 * inactive list (the mark says it was seen); twice, or by several mappings, or
		 * executable: activate. */
		SetPageReferenced(page);
		if (referenced_page || referenced_ptes > 1 || (vm_flags & VM_EXEC))
			return PAGEREF_ACTIVATE;
		return PAGEREF_KEEP;
	}
	if (referenced_page && !PageSwapBacked(page))
		return PAGEREF_RECLAIM_CLEAN;
	return PAGEREF_RECLAIM;
}

/*
 * A dirty page-cache page reclaim wants: write it (PG_reclaim makes the end of its write move
 * it to the tail of the inactive list, where the next pass finds it clean). Page locked,
 * unmapped. Returns PAGEOUT_KEEP when the write went out or was not needed, PAGEOUT_ACTIVATE
 * when the page cannot be written now.
 */
static enum pageout_result pageout(struct page *page, struct scan_control *sc)
{
	int err;

	if (!sc->may_writepage)
		return PAGEOUT_ACTIVATE;
	SetPageReclaim(page);
	err = pageout_file_page(page);
	if (err) {
		ClearPageReclaim(page);
		return PAGEOUT_ACTIVATE;
	}
	if (PageWriteback(page))
		sc->nr_writeback++;
	else
		ClearPageReclaim(page); /* nothing to write after all */
	return PAGEOUT_KEEP;
}

/* Free a page whose refcount reclaim froze at 0 (it is isolated and unlocked by now). */
static void free_reclaimed_page(struct page *page)
{
	atomic_store(&page->flags, 0);
	free_pages_ok(page, 0);
}

/*
 * 5.7's shrink_page_list(): try to free each page of page_list (isolated, each with the
 * isolation's reference). What cannot be freed now goes back to the LRU, activated or not.
 * Returns the base pages freed.
 */
static unsigned long shrink_page_list(struct cds_list_head *page_list, struct scan_control *sc,
				      bool ignore_references)
{
	unsigned long nr_reclaimed = 0;

	while (!cds_list_empty(page_list)) {
		struct page *page = cds_list_entry(page_list->next, struct page, lru);
		enum page_references references = PAGEREF_RECLAIM;
		struct address_space *mapping;
		enum pageout_result out;
		bool activate = false;

		isolated_list_del(page);
		race_point("vmscan:page_taken");
		if (!trylock_page(page))
			goto keep;
		if (PageWriteback(page)) {
			/* Its write is under way: PG_reclaim rotates it when it ends. */
			SetPageReclaim(page);
			goto keep_locked;
		}
		if (!ignore_references) {
			references = page_check_references(page);
			if (references == PAGEREF_ACTIVATE)
				goto activate_locked;
			if (references == PAGEREF_KEEP)
				goto keep_locked;
		}
		if (PageSwapBacked(page)) {
			out = pageout_anon_page(page, page_list, sc);
			if (out == PAGEOUT_FREED) {
				nr_reclaimed++;
				continue;
			}
			if (out == PAGEOUT_PUTBACK)
				continue;
			activate = out == PAGEOUT_ACTIVATE;
			goto keep_or_activate;
		}
		mapping = page->mapping;
		if (!mapping) {
			/* Truncated while reclaim held it: its last holder frees it. */
			goto keep_locked;
		}
		if (page_mapped(page)) {
			if (!sc->may_unmap)
				goto keep_locked;
			race_point("vmscan:before_unmap");
			if (!try_to_unmap(page))
				goto activate_locked;
		}
		if (PageDirty(page)) {
			if (references == PAGEREF_RECLAIM_CLEAN)
				goto keep_locked;
			out = pageout(page, sc);
			activate = out == PAGEOUT_ACTIVATE;
			goto keep_or_activate;
		}
		race_point("vmscan:before_remove_mapping");
		/* The freeze fails on any reference besides ours and the cache's: a pin, a GUP
		 * reference, a DMA engine's, a mapping that came back. */
		if (!__remove_mapping(mapping, page))
			goto keep_locked;
		unlock_page(page);
		free_reclaimed_page(page);
		nr_reclaimed++;
		continue;

activate_locked:
		activate = true;
keep_or_activate:
		if (activate && !PageActive(page) && !PageUnevictable(page)) {
			SetPageActive(page);
			count_vm_event(PGACTIVATE);
		}
keep_locked:
		unlock_page(page);
keep:
		putback_lru_page(page);
	}
	return nr_reclaimed;
}

/* ---- the lists ---- */

static enum node_stat_item isolated_item(enum lru_list lru)
{
	return is_file_lru(lru) ? NR_ISOLATED_FILE : NR_ISOLATED_ANON;
}

/* 5.7's shrink_inactive_list(): isolate up to nr_to_scan pages from the tail, try to free
 * them. Returns the pages freed. */
static unsigned long shrink_inactive_list(unsigned long nr_to_scan, enum lru_list lru,
					  struct scan_control *sc)
{
	CDS_LIST_HEAD(page_list);
	unsigned long nr_scanned, nr_taken, nr_reclaimed;

	nr_taken = isolate_lru_pages(lru, nr_to_scan, &page_list, &nr_scanned);
	sc->nr_scanned += nr_scanned;
	count_vm_events(sc->kswapd ? PGSCAN_KSWAPD : PGSCAN_DIRECT, (long)nr_scanned);
	if (!nr_taken)
		return 0;
	mod_node_page_state(isolated_item(lru), (long)nr_taken);
	nr_reclaimed = shrink_page_list(&page_list, sc, false);
	mod_node_page_state(isolated_item(lru), -(long)nr_taken);
	count_vm_events(sc->kswapd ? PGSTEAL_KSWAPD : PGSTEAL_DIRECT, (long)nr_reclaimed);
	trace_event(TRACE_MM_VMSCAN_LRU_SHRINK_INACTIVE, 0, nr_scanned, nr_reclaimed);
	return nr_reclaimed;
}

/*
 * 5.7's shrink_active_list(): take pages from the tail of an active list; each goes to its
 * inactive list (PG_active and PG_referenced cleared), except an executable file page that was
 * used since the last look, which 5.7 keeps active. Other used pages are deactivated too: the
 * inactive list gives them their second chance (page_check_references()).
 */
static void shrink_active_list(unsigned long nr_to_scan, enum lru_list lru)
{
	CDS_LIST_HEAD(hold);
	unsigned long nr_scanned, nr_taken, nr_deactivate = 0;
	struct page *page, *tmp;

	nr_taken = isolate_lru_pages(lru, nr_to_scan, &hold, &nr_scanned);
	count_vm_events(PGREFILL, (long)nr_scanned);
	if (!nr_taken)
		return;
	mod_node_page_state(isolated_item(lru), (long)nr_taken);
	cds_list_for_each_entry_safe(page, tmp, &hold, lru) {
		unsigned long vm_flags = 0;
		long nr = PageHead(page) ? (long)compound_nr(page) : 1;

		isolated_list_del(page);
		if (page_referenced(page, &vm_flags) && (vm_flags & VM_EXEC) &&
		    page_is_file_lru(page)) {
			putback_lru_page(page);
			continue;
		}
		ClearPageActive(page);
		ClearPageReferenced(page);
		putback_lru_page(page);
		nr_deactivate += (unsigned long)nr;
	}
	mod_node_page_state(isolated_item(lru), -(long)nr_taken);
	count_vm_events(PGDEACTIVATE, (long)nr_deactivate);
}

/* 5.7's inactive_is_low(): the inactive list is too small next to the active one. The ratio
 * grows with the size of memory (1 below 1 GiB, 3 at 1 GiB, 10 at 10 GiB...). */
static bool inactive_is_low(enum lru_list inactive_lru)
{
	unsigned long inactive = lruvec_lru_size(inactive_lru);
	unsigned long active = lruvec_lru_size(inactive_lru + LRU_ACTIVE);
	unsigned long gb = (inactive + active) >> (30 - PAGE_SHIFT);
	unsigned long ratio = 1;

	if (gb) {
		ratio = 1;
		while ((ratio + 1) * (ratio + 1) <= 10 * gb)
			ratio++;
	}
	return inactive * ratio < active;
}

static unsigned long shrink_list(enum lru_list lru, unsigned long nr_to_scan,
				 struct scan_control *sc)
{
	if (is_active_lru(lru)) {
		if (inactive_is_low(lru - LRU_ACTIVE))
			shrink_active_list(nr_to_scan, lru);
		return 0;
	}
	return shrink_inactive_list(nr_to_scan, lru, sc);
}

/*
 * 5.7's shrink_lruvec() with get_scan_count() reduced to its no-swap answer: each evictable
 * file list is scanned by its size >> priority, in batches of SWAP_CLUSTER_MAX, until the
 * target is met; the anon lists only when anonymous pages can be reclaimed, then in the same
 * proportion (5.7 weighs them by swappiness and recent rotations).
 */
static void shrink_node(struct scan_control *sc)
{
	unsigned long nr[NR_LRU_LISTS] = {0};
	bool anon = can_reclaim_anon_pages() && sc->may_swap;
	enum lru_list lru;
	bool work = true;

	for_each_evictable_lru(lru) {
		if (!is_file_lru(lru) && !anon)
			continue;
		nr[lru] = lruvec_lru_size(lru) >> sc->priority;
		/* At the lowest priorities a small list is scanned whole (5.7 scans at least
		 * SWAP_CLUSTER_MAX when the list is nonempty and the priority is 0). */
		if (!nr[lru] && sc->priority == 0)
			nr[lru] = lruvec_lru_size(lru);
	}
	while (work) {
		work = false;
		for_each_evictable_lru(lru) {
			unsigned long n = nr[lru] < SWAP_CLUSTER_MAX ? nr[lru] : SWAP_CLUSTER_MAX;

			if (!n)
				continue;
			work = true;
			nr[lru] -= n;
			sc->nr_reclaimed += shrink_list(lru, n, sc);
		}
		/* Direct reclaim stops once it has what it came for; kswapd balances. */
		if (!sc->kswapd && sc->nr_reclaimed >= sc->nr_to_reclaim)
			break;
	}
	/* Keep the inactive lists fed even when the scan above did not get to them. */
	if (anon && inactive_is_low(LRU_INACTIVE_ANON))
		shrink_active_list(SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
	if (inactive_is_low(LRU_INACTIVE_FILE))
		shrink_active_list(SWAP_CLUSTER_MAX, LRU_ACTIVE_FILE);
}

/* Wait for the writes this reclaim started, so that its next pass finds those pages clean
 * (5.7 throttles on congestion instead; pinmm's device is never congested). */
static void wait_for_writeback(struct scan_control *sc)
{
	if (!sc->nr_writeback)
		return;
	blk_drain();
	sc->nr_writeback = 0;
}

/* 5.7's do_try_to_free_pages(): from the gentlest priority to the hardest until the target is
 * met. Returns the pages freed. */
static unsigned long do_try_to_free_pages(struct scan_control *sc)
{
	for (sc->priority = DEF_PRIORITY; sc->priority >= 0; sc->priority--) {
		shrink_node(sc);
		if (sc->nr_reclaimed >= sc->nr_to_reclaim)
			break;
		wait_for_writeback(sc);
	}
	return sc->nr_reclaimed;
}

/* ---- kswapd ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wait;   /* kswapd sleeps here */
	pthread_cond_t idle;   /* pinmm_kswapd_wait_idle() sleeps here */
	pthread_t thread;
	bool running, stopping, woken, busy;
	unsigned int order;
	enum zone_type highest_zoneidx;
	atomic_int failures;   /* balance runs in a row that freed nothing (kswapd_failures) */
} kswapd = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wait = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

static bool zone_populated(const struct zone *zone)
{
	return zone->spanned_pages && zone != pinmm_zone(ZONE_DEVICE);
}

/* 5.7's pgdat_balanced(): some zone the allocation could use is above its high watermark. */
static bool pgdat_balanced(unsigned int order, enum zone_type highest_zoneidx)
{
	bool any = false;

	for (int z = 0; z <= (int)highest_zoneidx; z++) {
		struct zone *zone = pinmm_zone((enum zone_type)z);

		if (!zone_populated(zone))
			continue;
		any = true;
		if (zone_watermark_ok(zone, order, high_wmark_pages(zone), true))
			return true;
	}
	return !any;
}

/* 5.7's balance_pgdat(): reclaim until pgdat_balanced(), raising the priority when a pass does
 * too little. Returns the pages freed. */
static unsigned long balance_pgdat(unsigned int order, enum zone_type highest_zoneidx)
{
	struct scan_control sc = {
		.gfp_mask = GFP_KERNEL,
		.may_writepage = true,
		.may_unmap = true,
		.may_swap = true,
		.kswapd = true,
		.reclaim_idx = highest_zoneidx,
	};
	unsigned long total = 0;

	count_vm_event(PAGEOUTRUN);
	for (sc.priority = DEF_PRIORITY; sc.priority >= 0;) {
		if (pgdat_balanced(order, highest_zoneidx))
			break;
		sc.nr_reclaimed = 0;
		sc.nr_to_reclaim = 0;
		for (int z = 0; z <= (int)highest_zoneidx; z++) {
			struct zone *zone = pinmm_zone((enum zone_type)z);

			if (zone_populated(zone))
				sc.nr_to_reclaim += high_wmark_pages(zone) > SWAP_CLUSTER_MAX
							    ? high_wmark_pages(zone)
							    : SWAP_CLUSTER_MAX;
		}
		shrink_node(&sc);
		total += sc.nr_reclaimed;
		wait_for_writeback(&sc);
		/* Enough for this priority: look again at the same one; else press harder. */
		if (sc.nr_reclaimed < sc.nr_to_reclaim)
			sc.priority--;
	}
	return total;
}

static void *kswapd_main(void *arg)
{
	(void)arg;
	in_reclaim = true;
	pthread_mutex_lock(&kswapd.lock);
	for (;;) {
		unsigned int order;
		enum zone_type highest;
		unsigned long freed;
		struct timespec until;
		bool early = false;

		while (!kswapd.woken && !kswapd.stopping)
			pthread_cond_wait(&kswapd.wait, &kswapd.lock);
		if (kswapd.stopping)
			break;
		kswapd.woken = false;
		kswapd.busy = true;
		order = kswapd.order;
		highest = kswapd.highest_zoneidx;
		kswapd.order = 0;
		kswapd.highest_zoneidx = ZONE_NORMAL;
		pthread_mutex_unlock(&kswapd.lock);

		freed = balance_pgdat(order, highest);
		if (freed)
			atomic_store(&kswapd.failures, 0);
		else
			atomic_fetch_add(&kswapd.failures, 1);

		pthread_mutex_lock(&kswapd.lock);
		/* 5.7's kswapd_try_to_sleep(): a short nap first (HZ/10); woken during it, or
		 * not even balanced now, and the watermark was hit quickly. */
		if (!kswapd.woken && !kswapd.stopping && pgdat_balanced(order, highest)) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			kswapd.busy = false;
			pthread_cond_broadcast(&kswapd.idle);
			while (!kswapd.woken && !kswapd.stopping &&
			       pthread_cond_timedwait(&kswapd.wait, &kswapd.lock, &until) == 0)
				;
			early = kswapd.woken;
			if (early)
				count_vm_event(KSWAPD_LOW_WMARK_HIT_QUICKLY);
		} else if (!kswapd.stopping && !pgdat_balanced(order, highest)) {
			count_vm_event(KSWAPD_HIGH_WMARK_HIT_QUICKLY);
		}
		kswapd.busy = false;
		if (!kswapd.woken)
			pthread_cond_broadcast(&kswapd.idle);
	}
	kswapd.busy = false;
	pthread_cond_broadcast(&kswapd.idle);
	pthread_mutex_unlock(&kswapd.lock);
	return NULL;
}

/* The allocator's wake-up (5.7's wakeup_kswapd()), when an allocation finds every zone it may
 * use below low. */
static void wakeup_kswapd(unsigned int order, enum zone_type highest_zoneidx)
{
	/* Hopeless until a direct reclaim frees something (5.7's kswapd_failures). */
	if (atomic_load_explicit(&kswapd.failures, memory_order_relaxed) >= MAX_RECLAIM_RETRIES)
		return;
	pthread_mutex_lock(&kswapd.lock);
	if (kswapd.running && !kswapd.stopping) {
		if (order > kswapd.order)
			kswapd.order = order;
		if (highest_zoneidx > kswapd.highest_zoneidx)
			kswapd.highest_zoneidx = highest_zoneidx;
		if (!kswapd.woken) {
			trace_event(TRACE_MM_VMSCAN_KSWAPD_WAKE, 0, order);
			kswapd.woken = true;
			pthread_cond_signal(&kswapd.wait);
		}
	}
	pthread_mutex_unlock(&kswapd.lock);
}

static int kswapd_run(void)
{
	int err;

	pthread_mutex_lock(&kswapd.lock);
	kswapd.stopping = false;
	kswapd.woken = false;
	kswapd.busy = false;
	kswapd.order = 0;
	kswapd.highest_zoneidx = ZONE_NORMAL;
	atomic_store(&kswapd.failures, 0);
	err = pthread_create(&kswapd.thread, NULL, kswapd_main, NULL);
	kswapd.running = !err;
	pthread_mutex_unlock(&kswapd.lock);
	return err ? -ENOMEM : 0;
}

/* The end of pinmm_boot(): kswapd runs if the configuration asks for it. */
static int kswapd_boot(void)
{
	const struct pinmm_config *cfg = pinmm_machine_config();

	return cfg && cfg->kswapd ? kswapd_run() : 0;
}

/* Shutdown, first of all: stop the thread and wait for it. Returns 0 (nothing to report). */
static unsigned long kswapd_stop(void)
{
	bool running;

	pthread_mutex_lock(&kswapd.lock);
	running = kswapd.running;
	kswapd.stopping = true;
	pthread_cond_signal(&kswapd.wait);
	pthread_mutex_unlock(&kswapd.lock);
	if (running)
		pthread_join(kswapd.thread, NULL);
	pthread_mutex_lock(&kswapd.lock);
	kswapd.running = false;
	pthread_mutex_unlock(&kswapd.lock);
	return 0;
}

int pinmm_kswapd_wait_idle(unsigned int timeout_ms)
{
	struct timespec until;
	int ret = 0;

	if (!pinmm_booted())
		return -ENODEV;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&kswapd.lock);
	if (!kswapd.running) {
		pthread_mutex_unlock(&kswapd.lock);
		return -ENODEV;
	}
	while ((kswapd.woken || kswapd.busy) && !ret)
		if (pthread_cond_timedwait(&kswapd.idle, &kswapd.lock, &until))
			ret = -ETIMEDOUT;
	pthread_mutex_unlock(&kswapd.lock);
	return ret;
}

/*
 * fork() of the whole process (tests run scenarios in a forked child of a booted machine):
 * the child has no kswapd thread, and must not inherit a lock kswapd held. Before the fork,
 * wait until kswapd is between runs (it then holds no lock of the machine) and keep it there
 * by holding kswapd.lock; the parent lets it go on; the child starts with kswapd stopped, so
 * its allocations reclaim directly.
 */
static void kswapd_atfork_prepare(void)
{
	pthread_mutex_lock(&kswapd.lock);
	while (kswapd.running && kswapd.busy)
		pthread_cond_wait(&kswapd.idle, &kswapd.lock);
}

static void kswapd_atfork_parent(void)
{
	pthread_mutex_unlock(&kswapd.lock);
}

static void kswapd_atfork_child(void)
{
	pthread_mutex_init(&kswapd.lock, NULL);
	pthread_cond_init(&kswapd.wait, NULL);
	pthread_cond_init(&kswapd.idle, NULL);
	kswapd.running = false;
	kswapd.busy = false;
	kswapd.woken = false;
}

/* ---- direct reclaim and the other entry points ---- */

/* The allocator's direct reclaim (5.7's try_to_free_pages(), counted in allocstall_<zone>).
 * Returns the pages freed. */
static unsigned long try_to_free_pages(gfp_t gfp, unsigned int order,
				       enum zone_type highest_zoneidx)
{
	struct scan_control sc = {
		.nr_to_reclaim = SWAP_CLUSTER_MAX,
		.gfp_mask = gfp,
		.reclaim_idx = highest_zoneidx,
		.may_writepage = true,
		.may_unmap = true,
		.may_swap = true,
	};
	unsigned long freed;

	if (in_reclaim)
		return 0;
	count_vm_event(highest_zoneidx == ZONE_MOVABLE ? ALLOCSTALL_MOVABLE : ALLOCSTALL_NORMAL);
	in_reclaim = true;
	trace_event(TRACE_MM_VMSCAN_DIRECT_RECLAIM_BEGIN, order, (unsigned long)gfp);
	freed = do_try_to_free_pages(&sc);
	trace_event(TRACE_MM_VMSCAN_DIRECT_RECLAIM_END, freed);
	in_reclaim = false;
	/* Progress tells kswapd it is worth trying again. */
	if (freed)
		atomic_store(&kswapd.failures, 0);
	return freed;
}

unsigned long reclaim_pages(struct cds_list_head *page_list)
{
	struct scan_control sc = {
		.gfp_mask = GFP_KERNEL,
		.may_writepage = true,
		.may_unmap = true,
		.may_swap = true,
	};
	unsigned long freed;
	bool nested = in_reclaim;

	if (!page_list)
		return 0;
	in_reclaim = true;
	freed = shrink_page_list(page_list, &sc, true);
	in_reclaim = nested;
	return freed;
}

unsigned long shrink_all_memory(unsigned long nr_to_reclaim)
{
	struct scan_control sc = {
		.nr_to_reclaim = nr_to_reclaim,
		.gfp_mask = GFP_KERNEL,
		.may_writepage = true,
		.may_unmap = true,
		.may_swap = true,
		.kswapd = true,
	};
	unsigned long freed;
	bool nested = in_reclaim;

	if (!pinmm_booted() || !nr_to_reclaim)
		return 0;
	in_reclaim = true;
	freed = do_try_to_free_pages(&sc);
	wait_for_writeback(&sc);
	in_reclaim = nested;
	return freed;
}

/* ---- out of memory ---- */

/* What holds the memory no reclaim could free, in base pages. */
struct oom_tally {
	unsigned long lru, pinned, unevictable, swapbacked, file_busy, file_other;
};

/* Walk the LRU lists (under lru_lock: nothing is freed from under the walk) and sort what they
 * hold by the reason reclaim left it. */
static void oom_tally_lru(struct oom_tally *t)
{
	pg_data_t *pgdat = NODE_DATA(0);
	struct lruvec *lruvec = node_lruvec(pgdat);
	enum lru_list lru;
	struct page *page;

	pthread_mutex_lock(&pgdat->lru_lock);
	for_each_lru(lru) {
		cds_list_for_each_entry(page, &lruvec->lists[lru], lru) {
			unsigned long nr = PageHead(page) ? compound_nr(page) : 1;

			t->lru += nr;
			if (page_maybe_dma_pinned(page))
				t->pinned += nr;
			else if (PageUnevictable(page))
				t->unevictable += nr;
			else if (PageSwapBacked(page))
				t->swapbacked += nr;
			else if (PageDirty(page) || PageWriteback(page) || PageLocked(page))
				t->file_busy += nr;
			else
				t->file_other += nr;
		}
	}
	pthread_mutex_unlock(&pgdat->lru_lock);
}

/* Out-of-memory reports per 5 s, as Linux's oom_kill ratelimit (DEFAULT_RATELIMIT_BURST over
 * DEFAULT_RATELIMIT_INTERVAL). */
#define OOM_REPORT_BURST 10
#define OOM_REPORT_INTERVAL_S 5

static struct {
	pthread_mutex_t lock;
	unsigned long gen;
	time_t begin;
	unsigned int printed;
} oom_rs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool oom_report_ratelimit(void)
{
	time_t now = time(NULL);
	bool ok;

	pthread_mutex_lock(&oom_rs.lock);
	if (oom_rs.gen != machine_generation() || now - oom_rs.begin >= OOM_REPORT_INTERVAL_S) {
		oom_rs.gen = machine_generation();
		oom_rs.begin = now;
		oom_rs.printed = 0;
	}
	ok = oom_rs.printed++ < OOM_REPORT_BURST;
	pthread_mutex_unlock(&oom_rs.lock);
	return ok;
}

/*
 * The allocator found no free page after reclaim (5.7's out_of_memory(), without the kill):
 * count it (oom_kill) and write one block on the log stream that says which allocation failed,
 * what is free and what holds the rest, by the reason reclaim could not free it.
 */
static void out_of_memory(gfp_t gfp, unsigned int order)
{
	struct oom_tally t = {0};
	unsigned long ram = 0, free = 0, huge = 0, tables, kernel;
	char buf[2048];
	int n = 0;

	count_vm_event(OOM_KILL);
	if (!oom_report_ratelimit())
		return;
	oom_tally_lru(&t);
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct hstate *h = &machine.hstates[i];

		if (!h->order)
			continue;
		pthread_mutex_lock(&h->lock);
		huge += h->nr_huge_pages << h->order;
		pthread_mutex_unlock(&h->lock);
	}
	tables = (unsigned long)global_zone_page_state(NR_PAGETABLE);
#define OOM_PRINT(...) n += snprintf(buf + n, n < (int)sizeof(buf) ? sizeof(buf) - (size_t)n : 0, __VA_ARGS__)
	OOM_PRINT("pinmm: out of memory: no free page for an allocation of order %u, gfp %#x "
		  "(oom_kill %lu)\n", order, gfp, global_vm_event_count(OOM_KILL));
	for (int z = ZONE_NORMAL; z <= ZONE_MOVABLE; z++) {
		struct zone *zone = pinmm_zone((enum zone_type)z);
		long zfree = zone_page_state(zone, NR_FREE_PAGES);

		if (!zone->spanned_pages)
			continue;
		ram += zone->spanned_pages;
		free += (unsigned long)zfree;
		OOM_PRINT("  zone %-7s free:%ld min:%lu low:%lu high:%lu present:%lu\n", zone->name,
			  zfree, min_wmark_pages(zone), low_wmark_pages(zone), high_wmark_pages(zone),
			  zone->spanned_pages);
	}
	OOM_PRINT("  lru: active_anon:%lu inactive_anon:%lu active_file:%lu inactive_file:%lu "
		  "unevictable:%lu isolated_anon:%ld isolated_file:%ld\n",
		  lruvec_lru_size(LRU_ACTIVE_ANON), lruvec_lru_size(LRU_INACTIVE_ANON),
		  lruvec_lru_size(LRU_ACTIVE_FILE), lruvec_lru_size(LRU_INACTIVE_FILE),
		  lruvec_lru_size(LRU_UNEVICTABLE), global_node_page_state(NR_ISOLATED_ANON),
		  global_node_page_state(NR_ISOLATED_FILE));
	kernel = ram - free - t.lru - huge;
	if ((long)kernel < 0)
		kernel = 0;
	OOM_PRINT("  unreclaimable, by reason (pages):\n");
	OOM_PRINT("    pinned (page_maybe_dma_pinned): %lu\n", t.pinned);
	OOM_PRINT("    long-term pinned: not told apart (a FOLL_LONGTERM pin leaves no mark on "
		  "its page; counted as pinned)\n");
	OOM_PRINT("    mlocked: 0 (pinmm has no mlock)\n");
	OOM_PRINT("    unevictable: %lu\n", t.unevictable);
	OOM_PRINT("    anonymous and shmem, no swap: %lu\n", t.swapbacked);
	OOM_PRINT("    file, dirty, under writeback or locked: %lu\n", t.file_busy);
	OOM_PRINT("    file, referenced or held (mapped, get_user_pages): %lu\n", t.file_other);
	OOM_PRINT("    kernel: %lu (page tables %lu, hugetlb pools %lu)\n", kernel + huge, tables,
		  huge);
	OOM_PRINT("  the allocation fails: alloc_pages() returns NULL, a fault VM_FAULT_OOM "
		  "(get_user_pages(): -ENOMEM)\n");
#undef OOM_PRINT
	pinmm_log("%s", buf);
}

static const struct reclaim_ops vmscan_ops = {
	.wakeup_kswapd = wakeup_kswapd,
	.try_to_free_pages = try_to_free_pages,
	.out_of_memory = out_of_memory,
	.boot = kswapd_boot,
};

/* At load, as a built-in kernel's initcall: the allocator and boot reach reclaim through these. */
__attribute__((constructor)) static void vmscan_init(void)
{
	set_reclaim_ops(&vmscan_ops);
	set_shutdown_hook(SHUTDOWN_HOOK_KSWAPD, kswapd_stop);
	pthread_atfork(kswapd_atfork_prepare, kswapd_atfork_parent, kswapd_atfork_child);
}
