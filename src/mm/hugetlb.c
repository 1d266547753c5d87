/* SPDX-License-Identifier: MIT */
/*
 * The hugetlb pools. Boot fills them (1 GiB pages first, while ZONE_NORMAL is still
 * unfragmented); a pool page is a compound page with HUGETLB_PAGE_DTOR whose refcount is 0
 * while it sits on the pool's free list. dequeue_huge_page() hands one out with refcount 1;
 * the last put_page() brings it back through free_huge_page(). Shutdown returns the free ones
 * to the buddy allocator and leaves pages still in use for the leak report.
 */
#include <errno.h>

#include "internal.h"

/* Put head on the free list; restore_reserve: it goes back as a reserved page (in the same
 * critical section, so that nobody without a reservation can take it meanwhile). */
static void enqueue_huge_page(struct hstate *h, struct page *head, bool restore_reserve)
{
	pthread_mutex_lock(&h->lock);
	page_list_add(head, &h->hugepage_freelist);
	h->free_huge_pages++;
	if (restore_reserve)
		h->resv_huge_pages++;
	pthread_mutex_unlock(&h->lock);
}

static int fill_pool(struct hstate *h, unsigned long count)
{
	for (unsigned long i = 0; i < count; i++) {
		struct page *page;

		if (h->order >= MAX_ORDER)
			page = alloc_contig_pages(1UL << h->order, __GFP_COMP | __GFP_NOWARN);
		else
			page = alloc_pages(__GFP_COMP | __GFP_NOWARN, h->order);
		/* 5.7 counts buddy allocations only, not gigantic (1 GiB) ones. */
		if (!page) {
			if (h->order < MAX_ORDER)
				count_vm_event(HTLB_BUDDY_PGALLOC_FAIL);
			return -ENOMEM;
		}
		if (h->order < MAX_ORDER)
			count_vm_event(HTLB_BUDDY_PGALLOC);
		set_compound_page_dtor(page, HUGETLB_PAGE_DTOR);
		set_page_count(page, 0);
		pthread_mutex_lock(&h->lock);
		h->nr_huge_pages++;
		pthread_mutex_unlock(&h->lock);
		enqueue_huge_page(h, page, false);
	}
	return 0;
}

int hugetlb_init(void)
{
	static const unsigned int orders[HUGE_MAX_HSTATE] = {HPAGE_PMD_ORDER, HPAGE_PUD_ORDER};
	int ret;

	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct hstate *h = &machine.hstates[i];

		h->order = orders[i];
		pthread_mutex_init(&h->lock, NULL);
		CDS_INIT_LIST_HEAD(&h->hugepage_freelist);
	}
	ret = fill_pool(&machine.hstates[HSTATE_1G], machine.cfg.nr_hugepages_1g);
	if (!ret)
		ret = fill_pool(&machine.hstates[HSTATE_2M], machine.cfg.nr_hugepages_2m);
	return ret;
}

void hugetlb_teardown(void)
{
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct hstate *h = &machine.hstates[i];

		while (!cds_list_empty(&h->hugepage_freelist)) {
			struct page *head =
				cds_list_entry(h->hugepage_freelist.next, struct page, lru);

			page_list_del(head);
			h->free_huge_pages--;
			h->nr_huge_pages--;
			set_compound_page_dtor(head, COMPOUND_PAGE_DTOR);
			free_pages_ok(head, h->order);
		}
		pthread_mutex_destroy(&h->lock);
	}
}

struct hstate *size_to_hstate(unsigned long size)
{
	if (!atomic_load(&machine_booted))
		return NULL;
	for (int i = 0; i < HUGE_MAX_HSTATE; i++)
		if (huge_page_size(&machine.hstates[i]) == size)
			return &machine.hstates[i];
	return NULL;
}

int hugetlb_acct_memory(struct hstate *h, long delta)
{
	int ret = 0;

	pthread_mutex_lock(&h->lock);
	if (delta > 0 && h->resv_huge_pages + (unsigned long)delta > h->free_huge_pages)
		ret = -ENOMEM; /* 5.7's gather_surplus_pages() without overcommit */
	else
		h->resv_huge_pages += (unsigned long)delta;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

struct page *dequeue_huge_page_reserve(struct hstate *h, bool use_reserve)
{
	struct page *head = NULL;

	/* A pool page is this layer's allocation of a huge page: it can be made to fail like
	 * the page allocator (as an empty pool). */
	if (should_fail("alloc:hugetlb"))
		return NULL;
	pthread_mutex_lock(&h->lock);
	/* Without a reservation of its own, a caller may not take a page promised to one. */
	if (!cds_list_empty(&h->hugepage_freelist) &&
	    (use_reserve || h->free_huge_pages > h->resv_huge_pages)) {
		head = cds_list_entry(h->hugepage_freelist.next, struct page, lru);
		page_list_del(head);
		h->free_huge_pages--;
		if (use_reserve)
			h->resv_huge_pages--;
	}
	pthread_mutex_unlock(&h->lock);
	if (!head)
		return NULL;
	atomic_store_explicit(&head[1].compound_mapcount, -1, memory_order_relaxed);
	atomic_store_explicit(compound_pincount_ptr(head), 0, memory_order_relaxed);
	if (use_reserve)
		SetPagePrivate(head);
	atomic_store_explicit(&head->_refcount, 1, memory_order_release);
	return head;
}

struct page *dequeue_huge_page(struct hstate *h)
{
	return dequeue_huge_page_reserve(h, false);
}

void free_huge_page(struct page *head)
{
	struct hstate *h = &machine.hstates[head[1].compound_order == HPAGE_PUD_ORDER ? HSTATE_1G
										       : HSTATE_2M];

	const char *bad = NULL;
	bool restore;

	/* The page comes back whole: no mapping may remain, no pin may be outstanding. A page
	 * that breaks that is quarantined, out of the pool, for the shutdown report. */
	if (compound_mapcount(head) != 0)
		bad = "nonzero compound_mapcount";
	else if (atomic_load_explicit(compound_pincount_ptr(head), memory_order_relaxed) != 0)
		bad = "nonzero pincount";
	if (bad) {
		bad_page(head, bad);
		SetPageHWPoison(head);
		return;
	}
	restore = PagePrivate(head);
	head->mapping = NULL;
	atomic_store_explicit(&head->flags, 1UL << PG_head, memory_order_relaxed);
	/* Taken with a reservation and never mapped: the reservation stands. */
	enqueue_huge_page(h, head, restore);
}

int PageHuge(const struct page *page)
{
	const struct page *head = compound_head(page);

	return PageHead(head) && page_compound_dtor(head) == HUGETLB_PAGE_DTOR;
}

int pinmm_hugetlb_report(FILE *out)
{
	if (!out)
		return -EINVAL;
	if (!atomic_load(&machine_booted))
		return -ENODEV;
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct hstate *h = &machine.hstates[i];

		pthread_mutex_lock(&h->lock);
		fprintf(out, "HugePages_Total:   %5lu\nHugePages_Free:    %5lu\n"
			     "HugePages_Rsvd:    %5lu\nHugepagesize:   %8lu kB\n",
			h->nr_huge_pages, h->free_huge_pages, h->resv_huge_pages,
			huge_page_size(h) >> 10);
		pthread_mutex_unlock(&h->lock);
	}
	return 0;
}
