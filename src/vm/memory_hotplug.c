/* SPDX-License-Identifier: MIT */
/*
 * Memory offlining (Linux's offline_pages() in mm/memory_hotplug.c) and alloc_contig_range()
 * (mm/page_alloc.c in Linux; here, because it migrates, which the allocator below cannot):
 * both isolate a range (start_isolate_page_range(), in the allocator), migrate every page in
 * use out of it (src/vm/migrate.c) and check that it is all free (test_pages_isolated()).
 * Offlining then keeps the range isolated and marked offline; alloc_contig_range() takes it.
 *
 * A page in use is taken with get_page_unless_zero() and handed to migrate_page_to(), whose
 * reason is kept for the report: a pinned page fails with "pinned" every pass. A THP is split
 * and its pages moved on the next step (Linux moves it whole when it can allocate a THP).
 *
 * The rule that is easy to break: every failure path undoes the isolation, so a range that
 * could not be emptied is exactly as usable as before the call.
 */
#include <errno.h>
#include <stdlib.h>

#include <pinmm/memory_hotplug.h>

#include "internal.h"

/* Passes over the range before giving up (Linux loops until a signal comes). */
#define OFFLINE_PASSES 5
/* Blockers dumped per failed offline. */
#define OFFLINE_DUMPS 8

unsigned long memory_block_size_bytes(void)
{
	return MAX_ORDER_NR_PAGES << PAGE_SHIFT;
}

static struct page *alloc_migration_target(struct page *old, void *arg)
{
	(void)old;
	(void)arg;
	/* Anywhere but the isolated range, which no allocation reaches. */
	return alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
}

/* Migrate every page in use out of [start, end) once (Linux's do_migrate_range()). The reason
 * the last page to fail gave, per pfn, lands in why[pfn - start] when why is not NULL. */
static void migrate_range(unsigned long start, unsigned long end, unsigned char *why)
{
	struct migrate_target t = {.alloc = alloc_migration_target};

	for (unsigned long pfn = start; pfn < end;) {
		struct page *page = pfn_to_page(pfn);
		enum pinmm_migrate_fail reason = MIGRATE_FAIL_NONE;
		int ret;

		if (!page_ref_count(page) || !get_page_unless_zero(page)) {
			pfn++;
			continue;
		}
		/* Movable pages are mapped ones, or unmapped ones on the LRU (compaction.c says
		 * why); one neither may be in the middle of being set up: the next pass looks
		 * again. */
		if (!page_mapped_acquire(page) && !page_on_lru(page)) {
			put_page(page);
			if (why)
				why[pfn - start] = MIGRATE_FAIL_UNMOVABLE;
			pfn++;
			continue;
		}
		ret = migrate_page_to(page, &t, MIGRATE_SYNC, &reason);
		if (ret == MIGRATE_SPLIT)
			continue;
		if (why && ret < 0)
			why[pfn - start] = (unsigned char)reason;
		pfn++;
	}
}

/* Empty the isolated range [start, end). 0: every page is free; -EBUSY: not, with why[] as
 * migrate_range() left it. The isolation stays either way: the caller keeps or undoes it. */
static int empty_isolated_range(unsigned long start, unsigned long end, unsigned char *why)
{
	for (int pass = 0; pass < OFFLINE_PASSES; pass++) {
		if (test_pages_isolated(start, end) == end)
			return 0;
		migrate_range(start, end, why);
	}
	return test_pages_isolated(start, end) == end ? 0 : -EBUSY;
}

/* Name the pages that kept [start, end) from being offlined, then undo the isolation. */
static void report_blockers(unsigned long start, unsigned long end, const unsigned char *why)
{
	unsigned long dumped = 0, left = 0;

	for (unsigned long pfn = start; pfn < end;) {
		unsigned long next = test_pages_isolated(pfn, end), nr;
		struct page *page;
		const char *reason;
		bool held, mapped;

		if (next >= end)
			break;
		pfn = next;
		page = pfn_to_page(pfn);
		/* Nothing of a page is read before a reference on it is held, and its destructor
		 * and mapping only once it is seen mapped: it may be in the middle of being set up
		 * by whoever allocated it before the isolation. */
		held = get_page_unless_zero(page);
		mapped = held && page_mapped_acquire(page);
		nr = held && PageHead(page) ? compound_nr(page) : 1;
		reason = why[pfn - start] ? pinmm_migrate_fail_name(why[pfn - start])
		       : mapped && PageHuge(page) ? "hugetlb" : "unmovable";
		if (dumped < OFFLINE_DUMPS) {
			pinmm_log("offline_pages: pfn %#lx blocks [mem %#010lx-%#010lx]: %s\n", pfn,
				  start << PAGE_SHIFT, (end << PAGE_SHIFT) - 1, reason);
			/* An unmapped page may be a kernel allocation still being set up: its
			 * line is all there is. */
			if (mapped)
				dump_page(page, reason);
			dumped++;
		} else {
			left++;
		}
		if (held)
			put_page(page);
		pfn += nr;
	}
	if (left)
		pinmm_log("offline_pages: %lu more blocking page(s) not dumped\n", left);
}

/* The range's checks shared by offline_pages() and online_pages(): 0 or the errno. */
static int check_hotplug_range(unsigned long start_pfn, unsigned long nr_pages)
{
	unsigned long block = memory_block_size_bytes() >> PAGE_SHIFT;
	unsigned long max = pinmm_machine_config()->ram_bytes >> PAGE_SHIFT;
	struct zone *normal = pinmm_zone(ZONE_NORMAL);
	struct zone *movable = pinmm_zone(ZONE_MOVABLE);
	unsigned long end_pfn = start_pfn + nr_pages;

	if (!nr_pages || start_pfn % block || nr_pages % block)
		return -EINVAL;
	if (start_pfn >= max || nr_pages > max - start_pfn)
		return -ERANGE;
	if (movable->spanned_pages && start_pfn >= movable->zone_start_pfn)
		return 0;
	if (start_pfn >= normal->cma_start_pfn && end_pfn <= normal->cma_end_pfn)
		return 0;
	return -EINVAL;
}

int offline_pages(unsigned long start_pfn, unsigned long nr_pages)
{
	unsigned long end_pfn = start_pfn + nr_pages;
	unsigned char *why;
	int ret;

	if (!pinmm_booted())
		return -ENODEV;
	ret = check_hotplug_range(start_pfn, nr_pages);
	if (ret)
		return ret;
	why = calloc(nr_pages, 1);
	if (!why)
		return -ENOMEM;
	/* Another offline or contiguous allocation holds part of the range, or it is offline:
	 * nothing changed. */
	ret = start_isolate_page_range(start_pfn, end_pfn);
	if (ret)
		goto out;
	ret = empty_isolated_range(start_pfn, end_pfn, why);
	if (!ret) {
		set_range_offline(start_pfn, end_pfn, true);
	} else {
		pinmm_log("memory offlining [mem %#010lx-%#010lx] failed\n", start_pfn << PAGE_SHIFT,
			  (end_pfn << PAGE_SHIFT) - 1);
		report_blockers(start_pfn, end_pfn, why);
		undo_isolate_page_range(start_pfn, end_pfn);
	}
out:
	free(why);
	return ret;
}

int online_pages(unsigned long start_pfn, unsigned long nr_pages)
{
	int ret;

	if (!pinmm_booted())
		return -ENODEV;
	ret = check_hotplug_range(start_pfn, nr_pages);
	if (ret)
		return ret;
	for (unsigned long pfn = start_pfn; pfn < start_pfn + nr_pages; pfn += pageblock_nr_pages)
		if (!pageblock_offline(pfn))
			return -EINVAL;
	undo_isolate_page_range(start_pfn, start_pfn + nr_pages);
	return 0;
}

int alloc_contig_range(unsigned long start_pfn, unsigned long end_pfn)
{
	unsigned long nr = end_pfn - start_pfn;
	unsigned long max;
	struct zone *zone;
	int ret;

	if (!pinmm_booted())
		return -ENODEV;
	max = pinmm_machine_config()->ram_bytes >> PAGE_SHIFT;
	if (end_pfn <= start_pfn || end_pfn > max || nr < MAX_ORDER_NR_PAGES || (nr & (nr - 1)) ||
	    (start_pfn & (nr - 1)))
		return -EINVAL;
	zone = page_zone(pfn_to_page(start_pfn));
	if (end_pfn > zone_end_pfn(zone))
		return -EINVAL;
	ret = start_isolate_page_range(start_pfn, end_pfn);
	if (ret)
		return ret;
	ret = empty_isolated_range(start_pfn, end_pfn, NULL);
	if (ret) {
		undo_isolate_page_range(start_pfn, end_pfn);
		return ret;
	}
	/* Pages freed into the range since the check stay free: take it all. */
	if (!alloc_isolated_range(start_pfn, nr)) {
		undo_isolate_page_range(start_pfn, end_pfn);
		return -EBUSY;
	}
	return 0;
}
