/* SPDX-License-Identifier: MIT */
/*
 * dump_page() in Linux 5.7's format (behaviour doc, section 6), on the log stream.
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
	[PG_hwpoison] = "hwpoison",
};

static bool in_mem_map(const struct page *page)
{
	return mem_map && page >= mem_map && page < mem_map + max_pfn &&
	       ((const char *)page - (const char *)mem_map) % sizeof(struct page) == 0;
}

/* "name|name|..." for the flag bits set in flags, into buf. */
static void format_flags(unsigned long flags, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < NR_PAGEFLAGS && used < len; i++) {
		if (!(flags & (1UL << i)))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
					 pageflag_names[i]);
	}
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
	char compound[160] = "";
	int mapcount;

	if (!in_mem_map(page)) {
		pinmm_log("page:%016lx is not a page of this machine\n", (unsigned long)page);
		return;
	}
	head = compound_head(page);
	if (!in_mem_map(head))
		head = page;
	/* A free block's head keeps PG_buddy in the _mapcount word: print 0, as page_mapcount()
	 * of a page_type page does in Linux. */
	mapcount = PageBuddy(page) || PageTable(page) ? 0 : page_mapcount(page);
	if (head != page || PageHead(page)) {
		int n = snprintf(compound, sizeof(compound),
				 " head:%016lx order:%u compound_mapcount:%d", (unsigned long)head,
				 compound_order(head), compound_mapcount(head));

		if (compound_order(head) > 1)
			snprintf(compound + n, sizeof(compound) - (size_t)n, " compound_pincount:%d",
				 atomic_load_explicit(compound_pincount_ptr(head),
						      memory_order_relaxed));
	}
	flags = atomic_load_explicit(&page->flags, memory_order_relaxed);
	format_flags(flags, names, sizeof(names));

	pinmm_log("page:%016lx refcount:%d mapcount:%d mapping:%016lx index:0x%lx%s\n",
		  (unsigned long)page, page_ref_count(head), mapcount,
		  (unsigned long)page->mapping, page->index, compound);
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
