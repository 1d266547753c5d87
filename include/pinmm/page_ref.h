/* SPDX-License-Identifier: MIT */
/*
 * Raw operations on one struct page's _refcount, as Linux's page_ref.h. They act on the page
 * given, head or tail; get_page()/put_page() in mm.h are the ones that go to the head.
 *
 * Ordering: increments are relaxed (a reference is only ever taken from another one, which
 * orders it); decrements that may reach zero are acq_rel, so that everything done through
 * the reference happens before whoever frees the page sees zero.
 */
#ifndef PINMM_PAGE_REF_H
#define PINMM_PAGE_REF_H

#include <limits.h>
#include <stdbool.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline int page_ref_count(const struct page *page)
{
	return atomic_load_explicit(&page->_refcount, memory_order_relaxed);
}

static inline void set_page_count(struct page *page, int v)
{
	atomic_store_explicit(&page->_refcount, v, memory_order_relaxed);
}

static inline void init_page_count(struct page *page)
{
	set_page_count(page, 1);
}

static inline void page_ref_add(struct page *page, int nr)
{
	atomic_fetch_add_explicit(&page->_refcount, nr, memory_order_relaxed);
}

static inline void page_ref_sub(struct page *page, int nr)
{
	atomic_fetch_sub_explicit(&page->_refcount, nr, memory_order_release);
}

static inline void page_ref_inc(struct page *page)
{
	page_ref_add(page, 1);
}

static inline void page_ref_dec(struct page *page)
{
	page_ref_sub(page, 1);
}

/* Subtract nr; true if that made the count zero (the caller then owns the page). */
static inline bool page_ref_sub_and_test(struct page *page, int nr)
{
	return atomic_fetch_sub_explicit(&page->_refcount, nr, memory_order_acq_rel) == nr;
}

static inline bool page_ref_dec_and_test(struct page *page)
{
	return page_ref_sub_and_test(page, 1);
}

/* Subtract nr and return the new count. */
static inline int page_ref_sub_return(struct page *page, int nr)
{
	return atomic_fetch_sub_explicit(&page->_refcount, nr, memory_order_acq_rel) - nr;
}

/*
 * Add nr unless the count is zero (the page is free or being freed) or the sum would pass
 * INT_MAX. Returns true if the references were taken. Acquire on success: it pairs with the
 * release of whoever published the page (a page-table entry, the page cache).
 */
static inline bool page_ref_add_unless_zero_or_overflow(struct page *page, int nr)
{
	int old = atomic_load_explicit(&page->_refcount, memory_order_relaxed);

	do {
		if (old <= 0 || old > INT_MAX - nr)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&page->_refcount, &old, old + nr,
							 memory_order_acquire,
							 memory_order_relaxed));
	return true;
}

static inline bool page_ref_freeze(struct page *page, int count)
{
	int expected = count;

	return atomic_compare_exchange_strong_explicit(&page->_refcount, &expected, 0,
						       memory_order_acq_rel, memory_order_relaxed);
}

static inline void page_ref_unfreeze(struct page *page, int count)
{
	atomic_store_explicit(&page->_refcount, count, memory_order_release);
}

#ifdef __cplusplus
}
#endif

#endif /* PINMM_PAGE_REF_H */
