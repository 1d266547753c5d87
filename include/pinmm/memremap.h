/* SPDX-License-Identifier: MIT */
/*
 * ZONE_DEVICE memory: device memory (persistent memory, device-private RAM) that gets struct
 * pages so that it can be mapped and GUP'd like RAM (Linux's memremap_pages()).
 *
 * The machine reserves pinmm_config.device_bytes of pfn space after RAM; memremap_pages()
 * carves a range out of it for a dev_pagemap and initialises its struct pages. Device pages
 * are refcounted from 1: a page nobody uses has refcount 1, and when a put_page() or an
 * unpin brings it back to 1 the driver's page_free() callback runs (5.7's "devmap managed"
 * pages). They are never on the buddy allocator's lists.
 *
 * Mappings of device memory use devmap entries (_PAGE_DEVMAP, and SPECIAL on PTEs); a mapping
 * takes no reference, GUP does (and holds the pagemap while it grabs). An fsdax-like file over
 * device pages: dax_file_setup() in fs.h.
 */
#ifndef PINMM_MEMREMAP_H
#define PINMM_MEMREMAP_H

#include <stdbool.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum memory_type {
	MEMORY_DEVICE_FS_DAX = 1, /* persistent memory under a DAX file: devmap managed */
	MEMORY_DEVICE_GENERIC,
};

struct dev_pagemap_ops {
	/* Called when a page's refcount comes back to 1 (idle). May be NULL. */
	void (*page_free)(struct page *page);
};

struct dev_pagemap {
	enum memory_type type;
	unsigned long nr_pages;  /* size of the range, a multiple of 512 (2 MiB) */
	const struct dev_pagemap_ops *ops;
	void *owner;             /* for the driver */
	/* Set by memremap_pages(): */
	unsigned long start_pfn;
	atomic_long ref;         /* 1 while live, + one per get_dev_pagemap() holder */
	atomic_bool dead;        /* memunmap_pages() started: lookups fail */
	struct dev_pagemap *next;
};

/*
 * Give pgmap (type, nr_pages, ops filled in) a range of device pfns and initialise their
 * struct pages (refcount 1, PG_reserved, page->pgmap). Returns 0, -EINVAL (NULL pgmap, bad type,
 * nr_pages 0 or not a multiple of 512, already mapped), -ENOMEM (no room left in the machine's
 * device area), -ENODEV (not booted).
 */
int memremap_pages(struct dev_pagemap *pgmap);

/* Start tearing pgmap down: lookups fail from now on. If every page is idle (refcount 1) and
 * no lookup holds the pagemap, the range is released and 0 returned; else -EBUSY, and the
 * caller tries again once the users are gone. -EINVAL for a pgmap not mapped. */
int memunmap_pages(struct dev_pagemap *pgmap);

/* The live pagemap that contains pfn, with a reference (put_dev_pagemap() drops it), or NULL.
 * cached: a pagemap the caller holds; returned again (with another reference) if it covers
 * pfn, so walks over many pages look up once. */
struct dev_pagemap *get_dev_pagemap(unsigned long pfn, struct dev_pagemap *cached);
void put_dev_pagemap(struct dev_pagemap *pgmap);

bool is_zone_device_page(const struct page *page);

/* A device page whose return to refcount 1 calls the driver (fsdax). */
bool page_is_devmap_managed(const struct page *page);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MEMREMAP_H */
