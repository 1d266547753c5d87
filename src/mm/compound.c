/* SPDX-License-Identifier: MIT */
/*
 * Compound pages: preparing the head and tails of a higher-order block, checking them when it
 * is freed, and running the destructor recorded in page[1] when the last reference goes.
 *
 * Layout (5.7): page[0] has PG_head and all the references and pins; every tail's
 * compound_head word is the head's address | 1 and its _refcount is 0; page[1] holds the
 * destructor, the order and compound_mapcount (-1 based); page[2] holds hpage_pinned_refcount,
 * the exact pin count, for order > 1 only (an order-1 page has no page[2]). Modern rules keep
 * the exact count in page[1]._pincount instead, for every order (rule_pincount_in_first_tail()).
 *
 * The rule that is easy to break: the pin count is read and written through
 * compound_pincount_ptr() only, and checked at free in the tail that holds it under the running
 * rule set. Prep zeroes both slots, so that the one the rule set leaves unused reads 0 for the
 * invariant check.
 */
#include "internal.h"

void set_compound_page_dtor(struct page *head, enum compound_dtor_id dtor)
{
	head[1].compound_dtor = (unsigned char)dtor;
}

void prep_compound_page(struct page *page, unsigned int order)
{
	unsigned long nr = 1UL << order;

	set_compound_page_dtor(page, COMPOUND_PAGE_DTOR);
	__atomic_store_n(&page[1].compound_order, (unsigned char)order, __ATOMIC_RELAXED);
	__SetPageHead(page);
	for (unsigned long i = 1; i < nr; i++) {
		struct page *p = page + i;

		set_page_count(p, 0);
		p->mapping = TAIL_MAPPING;
		atomic_store_explicit(&p->compound_head, (unsigned long)page | 1,
				      memory_order_relaxed);
	}
	atomic_store_explicit(&page[1].compound_mapcount, -1, memory_order_relaxed);
	atomic_store_explicit(&page[1].nr_pages_mapped, 0, memory_order_relaxed);
	atomic_store_explicit(&page[1]._pincount, 0, memory_order_relaxed);
	if (order > 1)
		atomic_store_explicit(&page[2].hpage_pinned_refcount, 0, memory_order_relaxed);
}

/* The tail that holds head's exact pin count (1 or 2), or 0 when it has none. */
static unsigned long pincount_tail(struct page *head)
{
	if (!hpage_pincount_available(head))
		return 0;
	return (unsigned long)(compound_pincount_ptr(head) == &head[1]._pincount ? 1 : 2);
}

unsigned long free_tail_pages_check(struct page *head, struct page *page)
{
	const char *reason = NULL;
	unsigned long idx = (unsigned long)(page - head);

	if (idx == 1 && compound_mapcount(page) != 0)
		reason = "nonzero compound_mapcount";
	else if (idx > 2 && page->mapping != TAIL_MAPPING)
		reason = "corrupted mapping in tail page"; /* page[2]: ->mapping is deferred_list */
	/* The pin count must be gone, in the tail that holds it (page[1] or page[2]). */
	if (!reason && idx == pincount_tail(head) &&
	    atomic_load_explicit(compound_pincount_ptr(head), memory_order_relaxed) != 0)
		reason = "nonzero pincount";
	if (!reason && !PageTail(page))
		reason = "PageTail not set";
	if (!reason && compound_head(page) != head)
		reason = "compound_head not consistent";
	if (reason)
		bad_page(page, reason);
	page->mapping = NULL;
	atomic_store_explicit(&page->compound_head, 0, memory_order_relaxed);
	return reason != NULL;
}

void destroy_compound_page(struct page *head)
{
	switch (page_compound_dtor(head)) {
	case COMPOUND_PAGE_DTOR:
	case TRANSHUGE_PAGE_DTOR:
		free_pages_ok(head, compound_order(head));
		break;
	case HUGETLB_PAGE_DTOR:
		free_huge_page(head);
		break;
	default:
		bad_page(head, "invalid compound destructor");
		SetPageHWPoison(head);
		break;
	}
}
