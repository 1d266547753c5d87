/* SPDX-License-Identifier: MIT */
/*
 * FOLL_LONGTERM's second pass (5.7's check_and_migrate_cma_pages(), Linux 6.x's
 * check_and_migrate_movable_pages()): a long-term pin must not hold a page in memory that has
 * to stay movable. After the range is pinned, the pages a long-term pin may not hold are
 * collected (is_longterm_pinnable_page(): CMA under 5.7; CMA and ZONE_MOVABLE under modern
 * rules), everything taken is released, the collected pages are migrated out, and the range
 * is pinned again from the start, until a pass finds nothing to move.
 *
 * The rule sets differ where a migration fails (rule_longterm_migration_failure_fails()):
 * 5.7 pins the range once more without migrating and the result may still hold CMA pages;
 * modern rules return -ENOMEM with nothing pinned. A modern pass is repeated only after every
 * collected page moved (or, a THP, was split for the next pass to move its pages), so the loop
 * ends unless other threads keep faulting new unpinnable pages into the range, as in Linux.
 * The first-pass pins are released with unpin_user_pages() under FOLL_PIN (5.7 used
 * put_page(), a leak Linux fixed later).
 *
 * Talks to src/vm/migrate.c (migrate_unpinnable_page()) and the slow path (gup.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

bool is_longterm_pinnable_page(const struct page *page)
{
	if (is_migrate_cma_page(page))
		return false;
	if (!rule_longterm_pin_excludes_movable())
		return true;
	/* The zero page is never freed or moved: pinning it blocks nothing. */
	if (is_zero_pfn(page_to_pfn(page)))
		return true;
	return page_zonenum(page) != ZONE_MOVABLE;
}

/* Collect the distinct heads among pages[0 .. nr) that a long-term pin may not hold, each with
 * a reference of ours. */
static unsigned long collect_longterm_unpinnable_pages(struct page **pages, unsigned long nr,
						       struct page **heads)
{
	unsigned long n = 0;

	for (unsigned long i = 0; i < nr; i++) {
		struct page *head = compound_head(pages[i]);

		if (is_longterm_pinnable_page(head))
			continue;
		if (n && heads[n - 1] == head)
			continue;
		get_page(head);
		heads[n++] = head;
	}
	return n;
}

/* Migrate heads[0 .. n) out (to memory without __GFP_MOVABLE: ZONE_NORMAL outside CMA),
 * consuming our references. Every page is tried, as Linux's migrate_pages() tries its whole
 * list. Returns how many could not be moved. */
static unsigned long migrate_longterm_unpinnable_pages(struct page **heads, unsigned long n)
{
	unsigned long failed = 0;

	for (unsigned long i = 0; i < n; i++)
		if (migrate_unpinnable_page(heads[i], GFP_USER))
			failed++;
	return failed;
}

long check_and_migrate_movable_pages(struct mm_struct *mm, unsigned long start,
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
		unsigned long n = collect_longterm_unpinnable_pages(pages, (unsigned long)nr, heads);

		if (!n)
			break;
		gup_release_pages(pages, (unsigned long)nr, gup_flags);
		if (migrate_longterm_unpinnable_pages(heads, n)) {
			if (rule_longterm_migration_failure_fails()) {
				/* Everything was released above: nothing is left pinned. */
				nr = -ENOMEM;
				break;
			}
			migrate_allow = false;
		}
		nr = __get_user_pages_locked(mm, start, (unsigned long)nr, pages, gup_flags);
		if (nr <= 0)
			break;
	}
	free(heads);
	return nr;
}
