/* SPDX-License-Identifier: MIT */
/*
 * Taking and dropping references on pages (Linux's get_page()/put_page()). All of them act on
 * the head: a compound page lives and dies as one. The last put_page() frees an order-0 page
 * or runs a compound page's destructor.
 */
#include <limits.h>

#include "internal.h"

static inline bool unlikely_device(const struct page *page)
{
	return __builtin_expect(page_to_pfn(page) >= max_pfn, 0);
}

void get_page(struct page *page)
{
	struct page *head = compound_head(page);
	int old = atomic_fetch_add_explicit(&head->_refcount, 1, memory_order_relaxed);

	/* A reference may only be taken from another one; 0 is a free page, and INT_MAX would
	 * wrap. Undo and complain rather than corrupt the count. */
	if (WARN_ON_ONCE(old <= 0 || old == INT_MAX))
		atomic_fetch_sub_explicit(&head->_refcount, 1, memory_order_relaxed);
}

bool get_page_unless_zero(struct page *page)
{
	return page_ref_add_unless_zero_or_overflow(compound_head(page), 1);
}

bool try_get_page(struct page *page)
{
	struct page *head = compound_head(page);

	return !WARN_ON_ONCE(!page_ref_add_unless_zero_or_overflow(head, 1));
}

void __put_page(struct page *head)
{
	__page_cache_release(head);
	if (PageHead(head))
		destroy_compound_page(head);
	else
		free_pages_ok(head, 0);
}

void put_page(struct page *page)
{
	struct page *head = compound_head(page);

	if (WARN_ON_ONCE(page_ref_count(head) <= 0))
		return;
	/* Device pages idle at 1: that is their "free" (5.7's put_devmap_managed_page()). */
	if (unlikely_device(head)) {
		if (WARN_ON_ONCE(page_ref_count(head) == 1))
			return;
		if (page_ref_sub_return(head, 1) == 1 && page_is_devmap_managed(head))
			free_devmap_managed_page(head);
		return;
	}
	if (page_ref_dec_and_test(head))
		__put_page(head);
}

/* The page-level pin queries: GUP counts the pins (src/gup/grab.c), every layer may ask. Where
 * the exact count lives is compound_pincount_ptr()'s business alone (src/mm/internal.h). */

bool hpage_pincount_available(const struct page *page)
{
	const struct page *head = compound_head(page);

	/* 5.7: page[2] holds the count, so order 1 (no page[2]) has none; modern: page[1] does,
	 * and every compound page has a page[1]. */
	return PageHead(head) && compound_order(head) > (rule_pincount_in_first_tail() ? 0U : 1U);
}

int compound_pincount(const struct page *page)
{
	struct page *head = compound_head(page);

	if (WARN_ON_ONCE(!hpage_pincount_available(head)))
		return 0;
	return atomic_load_explicit(compound_pincount_ptr(head), memory_order_relaxed);
}

bool page_maybe_dma_pinned(const struct page *page)
{
	struct page *head = compound_head(page);

	if (hpage_pincount_available(head))
		return atomic_load_explicit(compound_pincount_ptr(head), memory_order_relaxed) > 0;
	return (unsigned int)page_ref_count(head) >= GUP_PIN_COUNTING_BIAS;
}
