/* SPDX-License-Identifier: MIT */
/*
 * ZONE_DEVICE: the device area after RAM, the dev_pagemaps that own ranges of it, and the
 * lifetime of their pages (Linux's mm/memremap.c).
 *
 * The device area is handed out first-fit in 2 MiB sections. A pagemap's struct pages start
 * idle at refcount 1 with PG_reserved and page->pgmap set. The rule that is easy to break: a
 * device page never reaches 0 and never reaches the buddy allocator; coming back to 1 is its
 * "free", and for fsdax pages it calls the driver (free_devmap_managed_page()).
 */
#include <errno.h>

#include "internal.h"

#define SECTION_PAGES 512UL

static pthread_mutex_t pgmap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dev_pagemap *pgmaps; /* sorted by start_pfn */

bool is_zone_device_page(const struct page *page)
{
	unsigned long pfn = page_to_pfn(page);

	return pfn >= max_pfn && pfn < device_end_pfn;
}

bool page_is_devmap_managed(const struct page *page)
{
	return is_zone_device_page(page) && page->pgmap &&
	       page->pgmap->type == MEMORY_DEVICE_FS_DAX;
}

/* The first free run of nr device pfns, or 0 (pfn 0 is RAM, never a device pfn). pgmap_lock. */
static unsigned long find_device_range(unsigned long nr, struct dev_pagemap ***link)
{
	unsigned long start = max_pfn;
	struct dev_pagemap **pp = &pgmaps;

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->start_pfn - start >= nr)
			break;
		start = (*pp)->start_pfn + (*pp)->nr_pages;
	}
	if (device_end_pfn - start < nr)
		return 0;
	*link = pp;
	return start;
}

int memremap_pages(struct dev_pagemap *pgmap)
{
	struct dev_pagemap **link;
	unsigned long start;

	if (!pinmm_booted())
		return -ENODEV;
	if (!pgmap || !pgmap->nr_pages || pgmap->nr_pages % SECTION_PAGES || pgmap->start_pfn ||
	    (pgmap->type != MEMORY_DEVICE_FS_DAX && pgmap->type != MEMORY_DEVICE_GENERIC))
		return -EINVAL;
	pthread_mutex_lock(&pgmap_lock);
	start = find_device_range(pgmap->nr_pages, &link);
	if (!start) {
		pthread_mutex_unlock(&pgmap_lock);
		return -ENOMEM;
	}
	for (unsigned long i = 0; i < pgmap->nr_pages; i++) {
		struct page *page = pfn_to_page(start + i);

		init_page_state(page);
		atomic_store_explicit(&page->flags, 1UL << PG_reserved, memory_order_relaxed);
		page->pgmap = pgmap;
		set_page_count(page, 1);
	}
	pgmap->start_pfn = start;
	atomic_store(&pgmap->ref, 1);
	atomic_store(&pgmap->dead, false);
	pgmap->next = *link;
	*link = pgmap;
	pthread_mutex_unlock(&pgmap_lock);
	return 0;
}

static unsigned long busy_pages(struct dev_pagemap *pgmap, bool report)
{
	unsigned long busy = 0;

	for (unsigned long i = 0; i < pgmap->nr_pages; i++) {
		struct page *page = pfn_to_page(pgmap->start_pfn + i);

		if (page_ref_count(page) == 1)
			continue;
		if (report && busy < 8)
			dump_page(page, "device page still referenced");
		busy++;
	}
	return busy;
}

static void unlink_pgmap(struct dev_pagemap *pgmap)
{
	for (struct dev_pagemap **pp = &pgmaps; *pp; pp = &(*pp)->next)
		if (*pp == pgmap) {
			*pp = pgmap->next;
			break;
		}
	pgmap->start_pfn = 0;
	pgmap->next = NULL;
}

int memunmap_pages(struct dev_pagemap *pgmap)
{
	int ret = 0;

	if (!pgmap || !pgmap->start_pfn)
		return -EINVAL;
	pthread_mutex_lock(&pgmap_lock);
	atomic_store(&pgmap->dead, true);
	if (atomic_load(&pgmap->ref) != 1 || busy_pages(pgmap, false))
		ret = -EBUSY;
	else
		unlink_pgmap(pgmap);
	pthread_mutex_unlock(&pgmap_lock);
	return ret;
}

struct dev_pagemap *get_dev_pagemap(unsigned long pfn, struct dev_pagemap *cached)
{
	struct dev_pagemap *pgmap = NULL;

	if (cached && pfn >= cached->start_pfn && pfn - cached->start_pfn < cached->nr_pages &&
	    !atomic_load(&cached->dead)) {
		atomic_fetch_add(&cached->ref, 1);
		return cached;
	}
	if (pfn < max_pfn || pfn >= device_end_pfn)
		return NULL;
	pthread_mutex_lock(&pgmap_lock);
	for (struct dev_pagemap *p = pgmaps; p; p = p->next)
		if (pfn >= p->start_pfn && pfn - p->start_pfn < p->nr_pages) {
			if (!atomic_load(&p->dead)) {
				atomic_fetch_add(&p->ref, 1);
				pgmap = p;
			}
			break;
		}
	pthread_mutex_unlock(&pgmap_lock);
	return pgmap;
}

void for_each_dev_pagemap(void (*fn)(struct dev_pagemap *pgmap, void *arg), void *arg)
{
	pthread_mutex_lock(&pgmap_lock);
	for (struct dev_pagemap *p = pgmaps; p; p = p->next)
		fn(p, arg);
	pthread_mutex_unlock(&pgmap_lock);
}

void put_dev_pagemap(struct dev_pagemap *pgmap)
{
	if (pgmap)
		WARN_ON_ONCE(atomic_fetch_sub(&pgmap->ref, 1) <= 1);
}

void free_devmap_managed_page(struct page *page)
{
	const struct dev_pagemap_ops *ops = page->pgmap->ops;

	ClearPageDirty(page);
	if (ops && ops->page_free)
		ops->page_free(page);
}

unsigned long memremap_teardown(void)
{
	unsigned long left = 0;

	pthread_mutex_lock(&pgmap_lock);
	while (pgmaps) {
		struct dev_pagemap *pgmap = pgmaps;

		left += busy_pages(pgmap, true);
		unlink_pgmap(pgmap);
	}
	pthread_mutex_unlock(&pgmap_lock);
	return left;
}
