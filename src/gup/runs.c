/* SPDX-License-Identifier: MIT */
/*
 * Releasing pins returned as runs (pin_user_pages*_runs(), <pinmm/gup.h>): each run goes to
 * unpin_user_page_range_dirty_lock(), which releases the run folio by folio, one operation per
 * folio, with the debug checks, counts, vmstat and trace events of every other unpin. The pin
 * side is the one GUP walk (gup_fast.c, gup.c) writing into runs through struct gup_out
 * (internal.h); there is no second walk here.
 *
 * The rule that is easy to break: a run is released only through the range call, never by
 * looking at its pages one by one, so a THP costs one release whatever its length.
 */
#include "internal.h"

void unpin_user_page_runs_dirty_lock(struct page_run *runs, unsigned long nr_runs,
				     bool make_dirty)
{
	if (WARN_ON_ONCE(!runs && nr_runs))
		return;
	for (unsigned long r = 0; r < nr_runs; r++)
		if (runs[r].page && runs[r].nr_pages)
			unpin_user_page_range_dirty_lock(runs[r].page, runs[r].nr_pages, make_dirty);
}

void unpin_user_page_runs(struct page_run *runs, unsigned long nr_runs)
{
	unpin_user_page_runs_dirty_lock(runs, nr_runs, false);
}
