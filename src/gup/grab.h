/* SPDX-License-Identifier: MIT */
/*
 * The fast path's grab of one order-0 page, inline: the part of grab.c's __grab_compound_head()
 * that a 4 KiB PTE's page takes, without a call. Included by gup_fast.c only (after
 * internal.h); everything else calls __grab_compound_head().
 *
 * The rule that is easy to break: the page's own flags word and compound_head word are what
 * say "order 0" (neither PG_head nor a tail), read before the grab and again after it. Only
 * with both reads saying so do the bias-counted references stay (an order-0 page counts a pin
 * with GUP_PIN_COUNTING_BIAS under both rule sets). Anything else (a compound page, pin owners
 * on, a refused count) goes to __grab_compound_head(), which knows every case and WARNs where
 * a refusal is a bug.
 */
#ifndef PINMM_GUP_GRAB_H
#define PINMM_GUP_GRAB_H

#include "internal.h"

/* Is page order 0 right now: not a compound page's head, not a tail? */
static inline bool page_order0_now(const struct page *page)
{
	return !(atomic_load_explicit(&page->compound_head, memory_order_relaxed) & 1) &&
	       !(atomic_load_explicit(&page->flags, memory_order_relaxed) & (1UL << PG_head));
}

/*
 * __grab_compound_head(page, 1, flags, true) for the fast path: one reference (FOLL_GET) or
 * one pin (FOLL_PIN) on page, which the caller read from a PTE and holds nothing on. Returns
 * page, or NULL (the caller falls back to the slow path). A page that became part of a
 * compound page between the two reads gives its references back, where the general grab would
 * keep them if the counting scheme had not changed (a 5.7 order-1 page): refusing a
 * speculative grab is never wrong.
 */
static inline __attribute__((always_inline)) struct page *grab_order0_fast(struct page *page,
									   unsigned int flags)
{
	unsigned int kind = flags & (FOLL_GET | FOLL_PIN);
	int n = kind == FOLL_PIN ? (int)GUP_PIN_COUNTING_BIAS : 1;

	if ((kind != FOLL_PIN && kind != FOLL_GET) || pin_owner_enabled() ||
	    !page_order0_now(page) || !page_ref_add_unless_zero_or_overflow(page, n))
		return __grab_compound_head(page, 1, flags, true);
	if (__builtin_expect(!page_order0_now(page), 0)) {
		if (page_ref_sub_and_test(page, n))
			__put_page(page);
		return NULL;
	}
	return page;
}

#endif /* PINMM_GUP_GRAB_H */
