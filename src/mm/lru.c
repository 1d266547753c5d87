/* SPDX-License-Identifier: MIT */
/*
 * The node's LRU lists (Linux's mm/swap.c and the list half of mm/vmscan.c): adding pages,
 * taking them off when they are freed, isolating them for reclaim, compaction and migration,
 * putting them back, and moving them between active and inactive as they are used.
 *
 * Talks to page_ref.c (the last put_page() calls __page_cache_release() here), vmstat.c
 * (nr_inactive_anon ... nr_unevictable, pgactivate, pgdeactivate, pgrotated), and is called by
 * the fault, page-cache, THP and migration paths above (see <pinmm/mm_inline.h>) and by reclaim
 * (src/vm/vmscan.c).
 *
 * The rule that is easy to break: PG_lru, list membership and lru_size change together under
 * lru_lock, and a page is taken off a list only with a reference taken by
 * get_page_unless_zero(): a page whose count reached 0 is being freed, and its freer will take
 * it off under the same lock. page->lru shares its first word with compound_head, which the
 * lockless GUP walk reads, so every store to it is a relaxed atomic (page_list_add() & co).
 */
#include "internal.h"

#include <pinmm/mm_inline.h>

pg_data_t *pinmm_node_data(int nid)
{
	if (nid != 0 || !atomic_load(&machine_booted))
		return NULL;
	return &machine.node;
}

void lru_init(void)
{
	enum lru_list lru;

	pthread_mutex_init(&machine.node.lru_lock, NULL);
	for_each_lru(lru) {
		CDS_INIT_LIST_HEAD(&machine.node.__lruvec.lists[lru]);
		atomic_init(&machine.node.__lruvec.lru_size[lru], 0);
	}
}

void lru_teardown(void)
{
	pthread_mutex_destroy(&machine.node.lru_lock);
}

static inline struct lruvec *lruvec(void)
{
	return &machine.node.__lruvec;
}

static inline void lru_lock(void)
{
	pthread_mutex_lock(&machine.node.lru_lock);
}

static inline void lru_unlock(void)
{
	pthread_mutex_unlock(&machine.node.lru_lock);
}

/* Base pages of an LRU entry: 512 for a THP head. */
static inline long lru_nr_pages(const struct page *page)
{
	return PageHead(page) ? (long)compound_nr(page) : 1;
}

/* lru_size and nr_<list> (node items in enum lru_list's order) move together. lru_lock held. */
static void update_lru_size(enum lru_list lru, long nr)
{
	atomic_long *size = &lruvec()->lru_size[lru];

	atomic_store_explicit(size, atomic_load_explicit(size, memory_order_relaxed) + nr,
			      memory_order_relaxed);
	__mod_node_page_state((enum node_stat_item)(NR_LRU_BASE + lru), nr);
}

static void add_page_to_lru_list(struct page *page, enum lru_list lru)
{
	update_lru_size(lru, lru_nr_pages(page));
	page_list_add(page, &lruvec()->lists[lru]);
}

static void add_page_to_lru_list_tail(struct page *page, enum lru_list lru)
{
	update_lru_size(lru, lru_nr_pages(page));
	page_list_add_tail(page, &lruvec()->lists[lru]);
}

static void del_page_from_lru_list(struct page *page, enum lru_list lru)
{
	page_list_del(page);
	update_lru_size(lru, -lru_nr_pages(page));
}

unsigned long lruvec_lru_size(enum lru_list lru)
{
	long n;

	if ((unsigned int)lru >= NR_LRU_LISTS)
		return 0;
	n = atomic_load_explicit(&lruvec()->lru_size[lru], memory_order_relaxed);
	return n > 0 ? (unsigned long)n : 0;
}

/* The page's list once it goes on: the unevictable one if it may not be reclaimed (it loses
 * PG_active there, as Linux's __pagevec_lru_add_fn()). lru_lock held. */
static enum lru_list settle_lru(struct page *page)
{
	if (page_evictable(page)) {
		ClearPageUnevictable(page);
	} else {
		ClearPageActive(page);
		SetPageUnevictable(page);
	}
	return page_lru(page);
}

void lru_cache_add(struct page *page)
{
	if (WARN_ON_ONCE(PageTail(page)) || WARN_ON_ONCE(PageHuge(page)))
		return;
	lru_lock();
	if (WARN_ON_ONCE(PageLRU(page))) {
		lru_unlock();
		return;
	}
	SetPageLRU(page);
	add_page_to_lru_list(page, settle_lru(page));
	lru_unlock();
}

void lru_cache_add_inactive_or_unevictable(struct page *page, struct vm_area_struct *vma)
{
	/* pinmm has no mlock(): a VM_LOCKED vma cannot be made, so only page_evictable() can
	 * send a page to the unevictable list (see lru_cache_add()). */
	(void)vma;
	if (rule_new_anon_page_active())
		SetPageActive(page);
	lru_cache_add(page);
}

/* The last reference to head went (page_ref.c): take it off its list. Linux's
 * __page_cache_release() with page_off_lru(): PG_active and PG_unevictable go with it. */
void __page_cache_release(struct page *head)
{
	if (!PageLRU(head))
		return;
	lru_lock();
	/* Nobody else can see a page with no references: no one isolates it under us. */
	ClearPageLRU(head);
	del_page_from_lru_list(head, page_lru(head));
	ClearPageActive(head);
	ClearPageUnevictable(head);
	lru_unlock();
}

bool page_on_lru(struct page *page)
{
	bool on;

	if (PageTail(page))
		return false;
	lru_lock();
	on = PageLRU(page);
	lru_unlock();
	return on;
}

/* Isolate page if it is on the LRU and not being freed. lru_lock held. */
static bool __isolate_lru_page(struct page *page)
{
	if (!PageLRU(page) || !get_page_unless_zero(page))
		return false;
	ClearPageLRU(page);
	del_page_from_lru_list(page, page_lru(page));
	return true;
}

int isolate_lru_page(struct page *page)
{
	struct page *head = compound_head(page);
	bool ok;

	if (!PageLRU(head))
		return -EBUSY;
	lru_lock();
	ok = __isolate_lru_page(head);
	lru_unlock();
	race_point("lru:isolated");
	return ok ? 0 : -EBUSY;
}

void putback_lru_page(struct page *page)
{
	lru_cache_add(page);
	put_page(page);
}

unsigned long isolate_lru_pages(enum lru_list lru, unsigned long nr_to_scan,
				struct cds_list_head *dst, unsigned long *nr_scanned)
{
	struct cds_list_head *src, *pos, *prev;
	unsigned long taken = 0, scanned = 0;

	*nr_scanned = 0;
	if (WARN_ON_ONCE((unsigned int)lru >= NR_LRU_LISTS))
		return 0;
	src = &lruvec()->lists[lru];
	lru_lock();
	for (pos = src->prev; pos != src && scanned < nr_to_scan; pos = prev) {
		struct page *page = cds_list_entry(pos, struct page, lru);
		long nr = lru_nr_pages(page);

		prev = pos->prev;
		scanned += (unsigned long)nr;
		if (!__isolate_lru_page(page))
			continue; /* being freed: its freer takes it off */
		page_list_add_tail(page, dst);
		taken += (unsigned long)nr;
	}
	lru_unlock();
	*nr_scanned = scanned;
	return taken;
}

void isolated_list_add_tail(struct page *page, struct cds_list_head *head)
{
	page_list_add_tail(page, head);
}

void isolated_list_del(struct page *page)
{
	page_list_del(page);
}

/* Move a page on the LRU from its list to another list's head (to the tail with tail),
 * changing its flags on the way with fn. Nothing if it is off the LRU. */
static bool lru_move(struct page *page, bool (*fn)(struct page *page), bool tail)
{
	struct page *head = compound_head(page);
	enum lru_list from;
	bool moved = false;

	lru_lock();
	if (PageLRU(head)) {
		from = page_lru(head);
		if (fn(head)) {
			page_list_del(head);
			update_lru_size(from, -lru_nr_pages(head));
			if (tail)
				add_page_to_lru_list_tail(head, page_lru(head));
			else
				add_page_to_lru_list(head, page_lru(head));
			moved = true;
		}
	}
	lru_unlock();
	return moved;
}

static bool make_active(struct page *page)
{
	if (PageActive(page) || PageUnevictable(page))
		return false;
	SetPageActive(page);
	return true;
}

static bool make_inactive(struct page *page)
{
	if (!PageActive(page) || PageUnevictable(page))
		return false;
	ClearPageActive(page);
	ClearPageReferenced(page);
	return true;
}

static bool stay_inactive(struct page *page)
{
	return !PageActive(page) && !PageUnevictable(page);
}

void activate_page(struct page *page)
{
	if (lru_move(page, make_active, false))
		count_vm_events(PGACTIVATE, lru_nr_pages(compound_head(page)));
}

void deactivate_page(struct page *page)
{
	if (lru_move(page, make_inactive, false))
		count_vm_events(PGDEACTIVATE, lru_nr_pages(compound_head(page)));
}

void rotate_reclaimable_page(struct page *page)
{
	if (lru_move(page, stay_inactive, true))
		count_vm_events(PGROTATED, lru_nr_pages(compound_head(page)));
}

void mark_page_accessed(struct page *page)
{
	struct page *head = compound_head(page);

	if (!PageActive(head) && !PageUnevictable(head) && PageReferenced(head)) {
		/* The second access activates a page on the LRU. One off it (isolated, or never
		 * on it: the zero page, hugetlb) stays as it is: 5.7 activates it only if it
		 * still sits in this CPU's pagevec (__lru_cache_activate_page()), and pinmm has
		 * no pagevecs. */
		if (PageLRU(head))
			activate_page(head);
		ClearPageReferenced(head);
	} else if (!PageReferenced(head)) {
		SetPageReferenced(head);
	}
}

/*
 * THP split (src/vm/huge_memory.c), with the head frozen at refcount 0: the new order-0 pages
 * join head's list right behind it (the list's size in base pages does not change: the head
 * entry counted all of them). If head is isolated, tails go to list with a reference of their
 * own when the splitter passes one (its isolated batch), else straight to the LRU.
 */
void lru_add_split_tails(struct page *head, unsigned long nr, struct cds_list_head *list)
{
	lru_lock();
	if (PageLRU(head)) {
		for (unsigned long i = nr - 1; i >= 1; i--) {
			SetPageLRU(head + i);
			page_list_add(head + i, &head->lru);
		}
	} else {
		for (unsigned long i = 1; i < nr; i++) {
			if (list) {
				get_page(head + i);
				page_list_add_tail(head + i, list);
			} else {
				SetPageLRU(head + i);
				add_page_to_lru_list(head + i, settle_lru(head + i));
			}
		}
	}
	lru_unlock();
}
