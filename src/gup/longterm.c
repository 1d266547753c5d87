/* SPDX-License-Identifier: MIT */
/*
 * FOLL_LONGTERM (5.7's check_and_migrate_cma_pages()): a long-term pin must not hold a page in
 * the CMA area, which has to stay allocatable for its device. After the pages are pinned, any in
 * CMA are released, migrated out, and the range is pinned again; if a migration fails, the
 * range is pinned once more without migrating and the result may still hold CMA pages, as in
 * 5.7. The first-pass pins are released with unpin_user_pages() under FOLL_PIN (5.7 used
 * put_page(), a leak Linux fixed later).
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/* Collect the distinct CMA heads among pages[0 .. nr), each with a reference of ours. */
static unsigned long collect_cma_heads(struct page **pages, unsigned long nr, struct page **heads)
{
	unsigned long n = 0;

	for (unsigned long i = 0; i < nr; i++) {
		struct page *head = compound_head(pages[i]);

		if (!is_migrate_cma_page(head))
			continue;
		if (n && heads[n - 1] == head)
			continue;
		get_page(head);
		heads[n++] = head;
	}
	return n;
}

long check_and_migrate_cma_pages(struct mm_struct *mm, unsigned long start,
				 unsigned long nr_pages, struct page **pages,
				 unsigned int gup_flags)
{
	bool migrate_allow = true;
	struct page **heads;
	long nr = (long)nr_pages;

	heads = kmalloc(nr_pages * sizeof(*heads));
	if (!heads) {
		gup_release_pages(pages, nr_pages, gup_flags);
		return -ENOMEM;
	}
	while (migrate_allow) {
		unsigned long n = collect_cma_heads(pages, (unsigned long)nr, heads);

		if (!n)
			break;
		gup_release_pages(pages, (unsigned long)nr, gup_flags);
		for (unsigned long i = 0; i < n; i++) {
			/* Success consumes our reference (the old frame is freed); failure
			 * leaves it to us. */
			if (migrate_anon_page(heads[i], GFP_USER)) {
				migrate_allow = false;
				put_page(heads[i]);
			}
		}
		nr = __get_user_pages_locked(mm, start, (unsigned long)nr, pages, gup_flags);
		if (nr <= 0)
			break;
	}
	free(heads);
	return nr;
}
