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
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

/*
 * Answered from the pfn alone, by comparisons against the machine's layout (<pinmm/boot.h>):
 * ZONE_NORMAL from pfn 0, the CMA area at its top, ZONE_MOVABLE above it, device memory
 * above max_pfn. The same answer as the pageblock's migratetype and the page's zone give (only
 * ZONE_NORMAL has a CMA area, the zones never move once booted), without the two out-of-line
 * zone lookups per page: the common frame, in ZONE_NORMAL below CMA, costs one load and one
 * compare, as Linux's folio_is_longterm_pinnable() costs nothing on a kernel without CMA for
 * a folio outside ZONE_MOVABLE. Read per call: the machine may be rebooted with another
 * layout or rule set.
 */
bool is_longterm_pinnable_page(const struct page *page)
{
	const struct zone *normal = &machine.zones[ZONE_NORMAL];
	const struct zone *movable = &machine.zones[ZONE_MOVABLE];
	unsigned long pfn = page_to_pfn(page);

	if (pfn < normal->cma_start_pfn)
		return true;
	if (pfn < normal->cma_end_pfn)
		return false; /* MIGRATE_CMA */
	if (!rule_longterm_pin_excludes_movable())
		return true;
	/* The zero page is never freed or moved: pinning it blocks nothing. */
	if (is_zero_pfn(pfn))
		return true;
	return pfn < movable->zone_start_pfn || pfn >= zone_end_pfn(movable);
}

/* Is head, a folio out took, one a long-term pin may not hold? Collect it (with a reference
 * of ours) in heads unless it is the last one collected. */
static inline void collect_folio(struct page *head, struct page **heads, unsigned long *n)
{
	if (is_longterm_pinnable_page(head))
		return;
	if (heads) {
		if (*n && heads[*n - 1] == head)
			return;
		get_page(head);
		heads[*n] = head;
	}
	(*n)++;
}

struct collect {
	struct page **heads; /* NULL: count only */
	unsigned long n;
};

static void collect_folio_cb(struct page *head, void *arg)
{
	struct collect *c = arg;

	collect_folio(head, c->heads, &c->n);
}

/*
 * Collect the folios among what out took after m that a long-term pin may not hold, each
 * with a reference of ours, into heads (a folio met twice is collected twice: dedup_heads());
 * heads NULL: only count them (nothing taken). One look per folio (gup_out_for_each_folio()).
 */
static unsigned long collect_longterm_unpinnable_pages(const struct gup_out *out,
						       const struct gup_out_mark *m,
						       struct page **heads)
{
	struct collect c = {.heads = heads};

	gup_out_for_each_folio(out, m, collect_folio_cb, &c);
	return c.n;
}

static int cmp_page_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(struct page *const *)a, y = (uintptr_t)*(struct page *const *)b;

	return (x > y) - (x < y);
}

/* Keep one of each folio in heads[0 .. n), dropping the duplicates' references; returns how
 * many are left. A folio the range meets twice (a THP with a lone page mapped inside it, a
 * file page mapped at two addresses) would otherwise be migrated with a reference of ours too
 * many, which no migration survives (Linux's collection isolates each folio from the LRU,
 * and the second isolation fails). */
static unsigned long dedup_heads(struct page **heads, unsigned long n)
{
	unsigned long kept = 0;

	qsort(heads, n, sizeof(*heads), cmp_page_ptr);
	for (unsigned long i = 0; i < n; i++) {
		if (kept && heads[kept - 1] == heads[i]) {
			put_page(heads[i]);
			continue;
		}
		heads[kept++] = heads[i];
	}
	return kept;
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
				     unsigned long nr_pages, struct gup_out *out,
				     const struct gup_out_mark *m, unsigned int gup_flags)
{
	bool migrate_allow = true;
	struct page **heads;
	long nr = (long)nr_pages;

	/* The common case, everything pinnable, allocates nothing. */
	if (!collect_longterm_unpinnable_pages(out, m, NULL))
		return nr;
	heads = kmalloc(nr_pages * sizeof(*heads));
	if (!heads) {
		gup_out_release(out, m, gup_flags);
		return -ENOMEM;
	}
	while (migrate_allow) {
		unsigned long n = collect_longterm_unpinnable_pages(out, m, heads);

		if (!n)
			break;
		n = dedup_heads(heads, n);
		gup_out_release(out, m, gup_flags);
		if (migrate_longterm_unpinnable_pages(heads, n)) {
			if (rule_longterm_migration_failure_fails()) {
				/* Everything was released above: nothing is left pinned. */
				nr = -ENOMEM;
				break;
			}
			migrate_allow = false;
		}
		nr = gup_out_get_user_pages_locked(mm, start, (unsigned long)nr, out, gup_flags);
		if (nr <= 0)
			break;
	}
	free(heads);
	return nr;
}
