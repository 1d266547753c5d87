/* SPDX-License-Identifier: MIT */
/*
 * dump_page() in Linux 5.7's format (mm/debug.c: __dump_page() of v5.7), on the log stream.
 * Reads the page without locks, as Linux does: a page that changes under it may print a
 * mixture, never crash (every pointer printed is only printed, not followed, except the head
 * of a tail page, which is checked to be inside mem_map first).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *const pageflag_names[NR_PAGEFLAGS] = {
	[PG_locked] = "locked",
	[PG_referenced] = "referenced",
	[PG_uptodate] = "uptodate",
	[PG_dirty] = "dirty",
	[PG_lru] = "lru",
	[PG_active] = "active",
	[PG_workingset] = "workingset",
	[PG_waiters] = "waiters",
	[PG_error] = "error",
	[PG_slab] = "slab",
	[PG_owner_priv_1] = "owner_priv_1",
	[PG_arch_1] = "arch_1",
	[PG_reserved] = "reserved",
	[PG_private] = "private",
	[PG_private_2] = "private_2",
	[PG_writeback] = "writeback",
	[PG_head] = "head",
	[PG_mappedtodisk] = "mappedtodisk",
	[PG_reclaim] = "reclaim",
	[PG_swapbacked] = "swapbacked",
	[PG_unevictable] = "unevictable",
	[PG_mlocked] = "mlocked",
	[PG_uncached] = "uncached",
	[PG_hwpoison] = "hwpoison",
	[PG_longterm] = "longterm",
};

/* The order %pGp prints flag names in: Linux's __def_pageflag_names table, not bit order. */
static const enum pageflags print_order[NR_PAGEFLAGS] = {
	PG_locked,	PG_waiters,	  PG_error,	   PG_referenced, PG_uptodate,
	PG_dirty,	PG_lru,		  PG_active,	   PG_workingset, PG_slab,
	PG_owner_priv_1, PG_arch_1,	  PG_reserved,	   PG_private,	  PG_private_2,
	PG_writeback,	PG_head,	  PG_mappedtodisk, PG_reclaim,	  PG_swapbacked,
	PG_unevictable, PG_mlocked,	  PG_uncached,	   PG_hwpoison,	  PG_longterm,
};

static bool in_mem_map(const struct page *page)
{
	return mem_map && page >= mem_map && page < mem_map + device_end_pfn &&
	       ((const char *)page - (const char *)mem_map) % sizeof(struct page) == 0;
}

/* "name|name|..." for the flag bits set in flags, into buf. anon: the page is anonymous, so
 * the bit PG_mappedtodisk shares with PG_anon_exclusive (modern rules) is printed as
 * "anon_exclusive" (Linux 6.x prints it as "mappedtodisk" whatever the page). */
static void format_flags(unsigned long flags, bool anon, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < NR_PAGEFLAGS && used < len; i++) {
		enum pageflags f = print_order[i];

		if (!(flags & (1UL << f)))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
					 anon && f == PG_anon_exclusive ? "anon_exclusive"
									: pageflag_names[f]);
	}
}

/* page_mapping(): the file a page belongs to; NULL for anonymous pages. */
static struct address_space *page_mapping_of(const struct page *head)
{
	unsigned long mapping = (unsigned long)head->mapping;

	return (mapping & PAGE_MAPPING_FLAGS) ? NULL : (struct address_space *)mapping;
}

/* Two lines of 32 bytes each: the struct page as raw words, as print_hex_dump() does. */
static void dump_raw(const char *prefix, const struct page *page)
{
	unsigned long w[8];

	memcpy(w, page, sizeof(w));
	for (int l = 0; l < 2; l++)
		pinmm_log("%s: %016lx %016lx %016lx %016lx\n", prefix, w[4 * l], w[4 * l + 1],
			  w[4 * l + 2], w[4 * l + 3]);
}

void dump_page(struct page *page, const char *reason)
{
	struct page *head;
	unsigned long flags;
	char names[256];
	struct page *real_head;
	struct address_space *mapping;
	char head_fields[160] = "";
	bool compound;
	int mapcount;

	if (!in_mem_map(page)) {
		pinmm_log("page:%016lx is not a page of this machine\n", (unsigned long)page);
		return;
	}
	head = compound_head(page);
	real_head = in_mem_map(head) ? head : page;
	/* As 5.7's __dump_page(): a page before its head or MAX_ORDER_NR_PAGES or more past it
	 * (the far subpages of a gigantic page) is printed as if it were not compound: its own
	 * refcount and raw ->mapping, no head: fields and no head: lines. */
	compound = real_head != page || PageHead(page);
	if (page < real_head || page >= real_head + MAX_ORDER_NR_PAGES) {
		head = page;
		compound = false;
		mapping = page->mapping;
	} else {
		head = real_head;
		mapping = page_mapping_of(head);
	}
	/* As 5.7: a page_type page (buddy, table) shows its type word as a mapcount (-128 ...). */
	mapcount = page_mapcount(page);
	if (compound) {
		int n = snprintf(head_fields, sizeof(head_fields),
				 " head:%016lx order:%u compound_mapcount:%d", (unsigned long)head,
				 compound_order(head), compound_mapcount(head));

		/* As 5.7, the exact count where the page has one: order > 1 under 5.7 rules,
		 * every order under modern rules (6.x prints a pincount for every large folio). */
		if (hpage_pincount_available(head))
			snprintf(head_fields + n, sizeof(head_fields) - (size_t)n,
				 " compound_pincount:%d",
				 atomic_load_explicit(compound_pincount_ptr(head),
						      memory_order_relaxed));
	}
	flags = atomic_load_explicit(&page->flags, memory_order_relaxed);
	format_flags(flags, PageAnon(page), names, sizeof(names));

	/* mapping and index are page_mapping() and page_to_pgoff(), as 5.7 prints them; the
	 * index comes from the real head even for a far subpage (page_to_pgoff() does not care
	 * how far it is). */
	pinmm_log("page:%016lx refcount:%d mapcount:%d mapping:%016lx index:0x%lx%s\n",
		  (unsigned long)page, page_ref_count(head), mapcount, (unsigned long)mapping,
		  real_head->index + (unsigned long)(page - real_head), head_fields);
	pinmm_log("%sflags: 0x%lx(%s)%s\n", PageAnon(page) ? "anon " : "", flags, names,
		  is_migrate_cma_page(page) ? " CMA" : "");
	dump_raw("raw", page);
	if (head != page)
		dump_raw("head", head);
	if (reason)
		pinmm_log("page dumped because: %s\n", reason);
	if (page->mem_cgroup)
		pinmm_log("page->mem_cgroup:%016lx\n", (unsigned long)page->mem_cgroup);
}
