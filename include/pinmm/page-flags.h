/* SPDX-License-Identifier: MIT */
/*
 * Page flags and their accessors, named and numbered as in x86-64 Linux 5.7.
 *
 * PageFoo() tests, SetPageFoo()/ClearPageFoo() change the bit atomically (other CPUs may be
 * changing other bits of the same word); __SetPageFoo()/__ClearPageFoo() are the non-atomic
 * variants for a page that nobody else can see yet (being allocated or freed).
 *
 * Flags that are defined on the head of a compound page only (PG_locked, PG_dirty,
 * PG_writeback, PG_lru, ...) are read and written on compound_head(page), as Linux's PF_HEAD
 * policy does, so asking a tail page gives its head's answer.
 */
#ifndef PINMM_PAGE_FLAGS_H
#define PINMM_PAGE_FLAGS_H

#include <stdbool.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pageflags {
	PG_locked,
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_active,
	PG_workingset,
	PG_waiters,
	PG_error,
	PG_slab,
	PG_owner_priv_1,
	PG_arch_1,
	PG_reserved,
	PG_private,
	PG_private_2,
	PG_writeback,
	PG_head,
	PG_mappedtodisk,
	PG_reclaim,
	PG_swapbacked,
	PG_unevictable,
	PG_mlocked,
	PG_uncached,
	PG_hwpoison,
	/* pinmm's own (no Linux counterpart): a FOLL_LONGTERM pin was taken on this head since
	 * it last held no pin. Set by GUP after a long-term pin, cleared by the unpin that leaves
	 * the page unpinned; read by /proc's smaps (LongtermPinned) and kpageflags. A pin that
	 * races with the clear may leave it unset: it under-counts, never over-counts. */
	PG_longterm,
	NR_PAGEFLAGS,

	/* Anonymous pages (Linux 5.19 on): the page is mapped by one process only, so a write
	 * fault may reuse it and a read-only pin needs no unshare. Shares its bit with
	 * PG_mappedtodisk, which only file pages use, as in Linux. */
	PG_anon_exclusive = PG_mappedtodisk,
	/* A swap-backed page in the swap cache (page->private holds its swap entry): Linux
	 * reuses PG_owner_priv_1, which only file systems use otherwise. */
	PG_swapcache = PG_owner_priv_1,
};

/* Names printed by dump_page(), indexed by enum pageflags. */
extern const char *const pageflag_names[NR_PAGEFLAGS];

/* Low bits of page->mapping: 1 means the mapping is an anon_vma (an anonymous page). */
#define PAGE_MAPPING_ANON 0x1UL
#define PAGE_MAPPING_FLAGS 0x3UL

/* page_type (shares the word with _mapcount): a type is "set" when its bit is clear. */
#define PAGE_TYPE_BASE 0xf0000000u
#define PG_buddy 0x00000080u
#define PG_table 0x00000200u

/* Acquire: a split publishes each new page with a release store of its compound_head (the
 * fields it wrote first: mapping, index, flags), and a caller that reaches a page with no lock
 * the split takes (an exit or a fork zapping or copying the migration entries a split leaves)
 * reads those fields next. Linux's READ_ONCE() leans on the address dependency instead; on x86
 * both are one plain load. */
static inline struct page *compound_head(const struct page *page)
{
	unsigned long head = atomic_load_explicit(&page->compound_head, memory_order_acquire);

	if (head & 1)
		return (struct page *)(head - 1);
	return (struct page *)page;
}

static inline bool PageTail(const struct page *page)
{
	return atomic_load_explicit(&page->compound_head, memory_order_relaxed) & 1;
}

static inline bool test_page_bit(int nr, const struct page *page)
{
	return (atomic_load_explicit(&page->flags, memory_order_relaxed) >> nr) & 1;
}

static inline void set_page_bit(int nr, struct page *page)
{
	atomic_fetch_or_explicit(&page->flags, 1UL << nr, memory_order_relaxed);
}

static inline void clear_page_bit(int nr, struct page *page)
{
	atomic_fetch_and_explicit(&page->flags, ~(1UL << nr), memory_order_relaxed);
}

static inline void __set_page_bit(int nr, struct page *page)
{
	unsigned long f = atomic_load_explicit(&page->flags, memory_order_relaxed);

	atomic_store_explicit(&page->flags, f | (1UL << nr), memory_order_relaxed);
}

static inline void __clear_page_bit(int nr, struct page *page)
{
	unsigned long f = atomic_load_explicit(&page->flags, memory_order_relaxed);

	atomic_store_explicit(&page->flags, f & ~(1UL << nr), memory_order_relaxed);
}

static inline bool test_set_page_bit(int nr, struct page *page)
{
	return (atomic_fetch_or_explicit(&page->flags, 1UL << nr, memory_order_acq_rel) >> nr) & 1;
}

static inline bool test_clear_page_bit(int nr, struct page *page)
{
	return (atomic_fetch_and_explicit(&page->flags, ~(1UL << nr), memory_order_acq_rel) >>
		nr) & 1;
}

/* Accessors on the page itself (Linux's PF_ANY). */
#define PINMM_PAGEFLAG_ANY(uname, lname)                                                           \
	static inline bool Page##uname(const struct page *page)                                    \
	{                                                                                          \
		return test_page_bit(PG_##lname, page);                                            \
	}                                                                                          \
	static inline void SetPage##uname(struct page *page) { set_page_bit(PG_##lname, page); }   \
	static inline void ClearPage##uname(struct page *page)                                     \
	{                                                                                          \
		clear_page_bit(PG_##lname, page);                                                  \
	}                                                                                          \
	static inline void __SetPage##uname(struct page *page)                                     \
	{                                                                                          \
		__set_page_bit(PG_##lname, page);                                                  \
	}                                                                                          \
	static inline void __ClearPage##uname(struct page *page)                                   \
	{                                                                                          \
		__clear_page_bit(PG_##lname, page);                                                \
	}

/* Accessors that go to the head page (Linux's PF_HEAD). */
#define PINMM_PAGEFLAG_HEAD(uname, lname)                                                          \
	static inline bool Page##uname(const struct page *page)                                    \
	{                                                                                          \
		return test_page_bit(PG_##lname, compound_head(page));                             \
	}                                                                                          \
	static inline void SetPage##uname(struct page *page)                                       \
	{                                                                                          \
		set_page_bit(PG_##lname, compound_head(page));                                     \
	}                                                                                          \
	static inline void ClearPage##uname(struct page *page)                                     \
	{                                                                                          \
		clear_page_bit(PG_##lname, compound_head(page));                                   \
	}                                                                                          \
	static inline bool TestSetPage##uname(struct page *page)                                   \
	{                                                                                          \
		return test_set_page_bit(PG_##lname, compound_head(page));                         \
	}                                                                                          \
	static inline bool TestClearPage##uname(struct page *page)                                 \
	{                                                                                          \
		return test_clear_page_bit(PG_##lname, compound_head(page));                       \
	}                                                                                          \
	static inline void __SetPage##uname(struct page *page)                                     \
	{                                                                                          \
		__set_page_bit(PG_##lname, compound_head(page));                                   \
	}                                                                                          \
	static inline void __ClearPage##uname(struct page *page)                                   \
	{                                                                                          \
		__clear_page_bit(PG_##lname, compound_head(page));                                 \
	}

PINMM_PAGEFLAG_HEAD(Locked, locked)
PINMM_PAGEFLAG_HEAD(Referenced, referenced)
PINMM_PAGEFLAG_HEAD(Uptodate, uptodate)
PINMM_PAGEFLAG_HEAD(Dirty, dirty)
PINMM_PAGEFLAG_HEAD(LRU, lru)
PINMM_PAGEFLAG_HEAD(Active, active)
PINMM_PAGEFLAG_HEAD(Workingset, workingset)
PINMM_PAGEFLAG_HEAD(Error, error)
PINMM_PAGEFLAG_HEAD(Writeback, writeback)
PINMM_PAGEFLAG_HEAD(MappedToDisk, mappedtodisk)
PINMM_PAGEFLAG_HEAD(Reclaim, reclaim)
PINMM_PAGEFLAG_HEAD(SwapBacked, swapbacked)
PINMM_PAGEFLAG_HEAD(Unevictable, unevictable)
PINMM_PAGEFLAG_HEAD(Mlocked, mlocked)
PINMM_PAGEFLAG_ANY(Reserved, reserved)
PINMM_PAGEFLAG_ANY(Private, private)
PINMM_PAGEFLAG_ANY(HWPoison, hwpoison)
PINMM_PAGEFLAG_ANY(Head, head)
PINMM_PAGEFLAG_HEAD(Longterm, longterm)

/* mark_page_accessed()'s first step, without a locked write when the bit is already set (the
 * fast GUP path calls it per page). */
static inline void mark_page_referenced(struct page *page)
{
	if (!PageReferenced(page))
		SetPageReferenced(page);
}

static inline bool PageCompound(const struct page *page)
{
	return PageHead(page) || PageTail(page);
}

/* The mapping word is read atomically: a swap-in may give an unmapped swap-cache page its
 * anon_vma while compaction asks (page_add_swapin_anon_rmap() stores it atomically). */
static inline bool PageAnon(const struct page *page)
{
	const struct page *head = compound_head(page);

	return ((unsigned long)__atomic_load_n(&head->mapping, __ATOMIC_RELAXED) &
		PAGE_MAPPING_ANON) != 0;
}

int PageHuge(const struct page *page);

/* In the swap cache: PG_swapcache means it only on a swap-backed page (the bit is
 * PG_owner_priv_1, a file system's otherwise), as Linux's PageSwapCache(). */
static inline bool PageSwapCache(const struct page *page)
{
	const struct page *head = compound_head(page);

	return test_page_bit(PG_swapbacked, head) && test_page_bit(PG_swapcache, head);
}

static inline void SetPageSwapCache(struct page *page)
{
	set_page_bit(PG_swapcache, compound_head(page));
}

static inline void ClearPageSwapCache(struct page *page)
{
	clear_page_bit(PG_swapcache, compound_head(page));
}

/*
 * PageAnonExclusive (Linux 5.19, commit 6c287605fd56, "mm: remember exclusively mapped
 * anonymous pages with PG_anon_exclusive"): the anonymous page is mapped exclusively by one
 * process, so a write fault may reuse it, fork must either clear the bit or copy the page,
 * and a read-only FOLL_PIN may pin it without unsharing. pinmm keeps the bit under modern
 * rules only (rule_tracks_anon_exclusive()): a 5.7 machine's pages never carry it.
 *
 * The bit is per page for order-0 pages and THPs (a PMD-mapped THP keeps it on its head page,
 * and splitting the PMD hands it to every subpage), and on the head page for hugetlb: asking a
 * hugetlb tail page answers for its head. Only meaningful for anonymous pages.
 */
static inline bool PageAnonExclusive(const struct page *page)
{
	if (PageTail(page) && PageHuge(page))
		page = compound_head(page);
	return test_page_bit(PG_anon_exclusive, page);
}

static inline void SetPageAnonExclusive(struct page *page)
{
	set_page_bit(PG_anon_exclusive, page);
}

static inline void ClearPageAnonExclusive(struct page *page)
{
	clear_page_bit(PG_anon_exclusive, page);
}

/* page_type accessors: only meaningful while _mapcount is unused (free or page-table pages). */
static inline bool page_has_type(const struct page *page, unsigned int type)
{
	unsigned int word = (unsigned int)atomic_load_explicit(&page->_mapcount,
							      memory_order_relaxed);

	return (word & (PAGE_TYPE_BASE | type)) == PAGE_TYPE_BASE;
}

static inline bool PageBuddy(const struct page *page)
{
	return page_has_type(page, PG_buddy);
}

static inline bool PageTable(const struct page *page)
{
	return page_has_type(page, PG_table);
}

#ifdef __cplusplus
}
#endif

#endif /* PINMM_PAGE_FLAGS_H */
