/* SPDX-License-Identifier: MIT */
/*
 * Pages as users of memory see them: frame numbers and addresses, references and mappings,
 * compound pages. Linux's names and meanings (include/linux/mm.h).
 */
#ifndef PINMM_MM_H
#define PINMM_MM_H

#include <stdbool.h>

#include "bug.h"
#include "mm_types.h"
#include "page-flags.h"
#include "page_ref.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The running machine's layout, API for reading only, valid between pinmm_boot() and
 * pinmm_shutdown(); the library writes them at boot and nobody else may. mem_map (the array of
 * struct page) and pinmm_ram (the frames' host memory) are what the inline pfn_to_page(),
 * page_to_pfn(), page_address() and virt_to_page() below compute with, as Linux's flat memory
 * model does; max_pfn bounds the frames of RAM (a user walking every frame, as /proc/kpageflags
 * readers do, stops there); device_end_pfn bounds pfn_valid(). The rest of the machine
 * (zones, pools, counters) is reached through functions only.
 */
extern struct page *mem_map;
extern unsigned long max_pfn;        /* end of RAM */
extern unsigned long device_end_pfn; /* end of the ZONE_DEVICE pfn space (>= max_pfn) */
extern char *pinmm_ram;

/* A pfn with a struct page: RAM, or the device area (whose pages mean something only inside a
 * memremap_pages() range). */
static inline bool pfn_valid(unsigned long pfn)
{
	return pfn < device_end_pfn;
}

/* pfn must be valid (pfn_valid()); no check is made, as in Linux. */
static inline struct page *pfn_to_page(unsigned long pfn)
{
	return mem_map + pfn;
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - mem_map);
}

/* The host address of the frame's 4 KiB (of this page, head or tail). */
static inline void *page_address(const struct page *page)
{
	return pinmm_ram + (page_to_pfn(page) << PAGE_SHIFT);
}

/* The page whose frame holds host address addr, which must lie in simulated RAM. */
static inline struct page *virt_to_page(const void *addr)
{
	return pfn_to_page((unsigned long)((const char *)addr - pinmm_ram) >> PAGE_SHIFT);
}

static inline unsigned int compound_order(const struct page *page)
{
	if (!PageHead(page))
		return 0;
	/* Read atomically: the lockless GUP walk may look at a page being freed and reused. */
	return __atomic_load_n(&page[1].compound_order, __ATOMIC_RELAXED);
}

static inline unsigned long compound_nr(const struct page *page)
{
	return 1UL << compound_order(page);
}

static inline enum compound_dtor_id page_compound_dtor(const struct page *head)
{
	return (enum compound_dtor_id)head[1].compound_dtor;
}

static inline int compound_mapcount(const struct page *page)
{
	const struct page *head = compound_head(page);

	return atomic_load_explicit(&head[1].compound_mapcount, memory_order_relaxed) + 1;
}

/* The number of page tables mapping this subpage: its own PTE mappings plus, for a compound
 * page, the PMD/PUD mappings of the whole (hugetlb pages only have the latter). */
static inline int page_mapcount(const struct page *page)
{
	int ret = atomic_load_explicit(&page->_mapcount, memory_order_relaxed) + 1;

	if (PageCompound(page)) {
		const struct page *head = compound_head(page);

		if (page_compound_dtor(head) == HUGETLB_PAGE_DTOR)
			return compound_mapcount(head);
		ret += compound_mapcount(head);
	}
	return ret;
}

static inline bool page_mapped(const struct page *page)
{
	return page_mapcount(page) > 0;
}

/* The reference count that decides the page's life: its head's. */
static inline int page_count(const struct page *page)
{
	return page_ref_count(compound_head(page));
}

/* The shared zero page, set up at boot (one 4 KiB page, PG_reserved, mapped read-only by special PTEs). */
struct page *ZERO_PAGE(unsigned long addr);
unsigned long zero_pfn(void);

static inline bool is_zero_pfn(unsigned long pfn)
{
	return pfn == zero_pfn();
}

static inline bool is_zero_page(const struct page *page)
{
	return is_zero_pfn(page_to_pfn(page));
}

/* Take a reference. The caller must already hold one (count > 0); WARNs otherwise. */
void get_page(struct page *page);

/* Drop a reference; the last one frees the page (a compound page through its destructor). */
void put_page(struct page *page);

/* Take a reference unless the head's count is zero (the page is free or being freed).
 * Returns true if taken. For speculative lookups that hold no reference yet. */
bool get_page_unless_zero(struct page *page);

/* Take a reference on the head unless its count is <= 0 or would pass INT_MAX; WARNs (once)
 * on a refused count. Returns true if taken. */
bool try_get_page(struct page *page);

/*
 * Asking about pins. GUP takes and releases them (<pinmm/gup.h> says how a pin is counted); the
 * answers live here, beside the references, because every layer asks them (writeback,
 * migration, the fork and COW rules), as Linux keeps page_maybe_dma_pinned() in mm.h.
 *
 * How a pin is counted depends on the machine's rule set (docs/rule-sets.md):
 *   - 5.7 rules: an order-0 or order-1 page adds GUP_PIN_COUNTING_BIAS to the head's refcount;
 *     a compound page of order > 1 adds 1 to the refcount and 1 to the exact count in its
 *     second tail page (page[2].hpage_pinned_refcount).
 *   - modern rules (Linux 5.18 and later, the folio's _pincount): an order-0 page adds the
 *     bias; every compound page, order 1 included, adds 1 to the refcount and 1 to the exact
 *     count in its first tail page (page[1]._pincount).
 * The exact count is 0 whenever the compound page is allocated or freed; freeing one with
 * pins outstanding is a bad page ("nonzero pincount").
 */
#define GUP_PIN_COUNTING_BIAS (1U << 10)

/* Does the page's head use the exact pin count? 5.7 rules: compound and order > 1; modern
 * rules: compound (order >= 1). Tail pages answer for their head. */
bool hpage_pincount_available(const struct page *page);

/* The exact pin count of page's compound page; WARNs and returns 0 if it has none. */
int compound_pincount(const struct page *page);

/* May a device be writing this page? Exact where hpage_pincount_available(); otherwise
 * "refcount >= GUP_PIN_COUNTING_BIAS", read unsigned so that an overflowed count still reads
 * as pinned. */
bool page_maybe_dma_pinned(const struct page *page);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MM_H */
