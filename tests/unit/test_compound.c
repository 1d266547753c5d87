/* SPDX-License-Identifier: MIT */
/*
 * Compound pages: the 64-byte struct page of x86-64 Linux 5.7 (sizes and offsets); the head
 * and tail layout that alloc_pages(__GFP_COMP) builds for orders 1, 2 and 9 and that
 * alloc_contig_pages(__GFP_COMP) builds for order 18 (every subpage checked); freeing a
 * compound page gives all its frames back; and a compound page freed with a pin count left in
 * page[2] (or other leftovers in its tails) is reported as a bad page and quarantined.
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "test_mm_util.h"

/* Linux's TAIL_MAPPING poison (internal to the library, so spelled out here). */
#define TAIL_MAPPING_POISON ((struct address_space *)0x400UL)

static void test_struct_page_layout(void **state)
{
	(void)state;
	check_eq(sizeof(struct page), 64, "struct page is 64 bytes on x86-64");
	check_eq(offsetof(struct page, flags), 0, "word 0: flags");
	check_eq(offsetof(struct page, lru), 8, "words 1-2: lru");
	check_eq(offsetof(struct page, compound_head), 8, "compound_head shares lru.next");
	check_eq(offsetof(struct page, lru.prev), 16, "lru.prev is word 2");
	check_eq(offsetof(struct page, compound_dtor), 16, "page[1].compound_dtor in lru.prev");
	check_eq(offsetof(struct page, compound_order), 17, "page[1].compound_order in lru.prev");
	check_eq(offsetof(struct page, compound_mapcount), 20,
		 "page[1].compound_mapcount in lru.prev");
	check_eq(offsetof(struct page, hpage_pinned_refcount), 16,
		 "page[2].hpage_pinned_refcount replaces _compound_pad_2 (lru.prev)");
	check_eq(offsetof(struct page, nr_pages_mapped), 32, "page[1].nr_pages_mapped in index");
	check_eq(offsetof(struct page, _pincount), 36,
		 "page[1]._pincount (modern rules) in the high half of index");
	check_eq(offsetof(struct page, mapping), 24, "word 3: mapping");
	check_eq(offsetof(struct page, index), 32, "word 4: index");
	check_eq(offsetof(struct page, private), 40, "word 5: private");
	check_eq(offsetof(struct page, _mapcount), 48, "_mapcount: low half of word 6");
	check_eq(offsetof(struct page, page_type), 48, "page_type shares _mapcount");
	check_eq(offsetof(struct page, _refcount), 52, "_refcount: high half of word 6");
	check_eq(offsetof(struct page, mem_cgroup), 56, "word 7: mem_cgroup");
	check_eq(sizeof(((struct page *)0)->compound_dtor), 1, "compound_dtor is a byte");
	check_eq(sizeof(((struct page *)0)->compound_order), 1, "compound_order is a byte");
}

/*
 * Check every struct page of the compound page of `order` at head, as prepared by the
 * allocator and not yet touched by anyone: Linux 5.7's layout (include/linux/mm_types.h of v5.7).
 */
static void check_fresh_compound(struct page *head, unsigned int order)
{
	unsigned long nr = 1UL << order;

	if (!PageHead(head) || PageTail(head))
		fail_msg("order %u: the head must have PG_head and not be a tail (flags %#lx)",
			 order, (unsigned long)head->flags);
	check_eq(head->flags, 1UL << PG_head, "order %u: the head's only flag is PG_head", order);
	if (compound_head(head) != head)
		fail_msg("order %u: compound_head(head) must be the head itself", order);
	check_eq(compound_order(head), order, "order %u: compound_order(head)", order);
	check_eq(compound_nr(head), nr, "order %u: compound_nr(head)", order);
	check_eq(head[1].compound_order, order, "order %u: page[1].compound_order", order);
	check_eq(head[1].compound_dtor, COMPOUND_PAGE_DTOR,
		 "order %u: page[1].compound_dtor must be COMPOUND_PAGE_DTOR", order);
	check_eq(page_compound_dtor(head), COMPOUND_PAGE_DTOR, "order %u: page_compound_dtor",
		 order);
	check_eq(compound_mapcount(head), 0, "order %u: compound_mapcount() of a fresh page",
		 order);
	check_eq(head[1].compound_mapcount, -1, "order %u: raw page[1].compound_mapcount (-1 based)",
		 order);
	check_eq(page_ref_count(head), 1, "order %u: the head holds the allocation's reference",
		 order);
	check_eq(head->_mapcount, -1, "order %u: head _mapcount", order);
	check_eq((unsigned long)head->mapping, 0, "order %u: head mapping", order);
	/* Both slots start at 0 under either rule set: the one in use is the count, the other
	 * must read 0 for pinmm_check_invariants(). */
	check_eq(head[1]._pincount, 0, "order %u: page[1]._pincount starts at 0", order);
	if (order > 1)
		check_eq(head[2].hpage_pinned_refcount, 0,
			 "order %u: page[2].hpage_pinned_refcount starts at 0", order);
	else
		/* An order-1 page has no page[2]: the next frame is not one of its tails. */
		if (PageTail(head + 2) && compound_head(head + 2) == head)
			fail_msg("order 1: page[2] must not belong to the compound page");

	for (unsigned long i = 1; i < nr; i++) {
		const struct page *p = head + i;
		unsigned long word = atomic_load(&p->compound_head);

		if (word != ((unsigned long)head | 1))
			fail_msg("order %u: page[%lu].compound_head is %#lx, expected head|1 = %#lx",
				 order, i, word, (unsigned long)head | 1);
		if (!PageTail(p) || PageHead(p))
			fail_msg("order %u: page[%lu] must be PageTail and not PageHead", order, i);
		if (compound_head(p) != head)
			fail_msg("order %u: compound_head(page[%lu]) is not the head", order, i);
		if (atomic_load(&p->flags) != 0)
			fail_msg("order %u: page[%lu] has flags %#lx; PG_head is on the head only",
				 order, i, (unsigned long)atomic_load(&p->flags));
		if (page_ref_count(p) != 0)
			fail_msg("order %u: page[%lu]._refcount is %d, tails keep 0", order, i,
				 page_ref_count(p));
		if (atomic_load(&p->_mapcount) != -1)
			fail_msg("order %u: page[%lu]._mapcount is %d, expected -1", order, i,
				 atomic_load(&p->_mapcount));
		if (page_count(p) != 1)
			fail_msg("order %u: page_count(page[%lu]) is %d, expected the head's 1",
				 order, i, page_count(p));
		if (compound_order(p) != 0)
			fail_msg("order %u: compound_order(page[%lu]) of a tail is 0", order, i);
		if (i >= 3 && p->mapping != TAIL_MAPPING_POISON)
			fail_msg("order %u: page[%lu].mapping is %p, expected TAIL_MAPPING (0x400)",
				 order, i, (void *)p->mapping);
	}
}

/* Allocate a compound page of `order`, check it, free it; the free count must come back. */
static void check_alloc_pages_compound(unsigned int order)
{
	long before = nr_free();
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, order);

	if (!page)
		fail_msg("alloc_pages(GFP_KERNEL | __GFP_COMP, %u) failed on a fresh machine", order);
	check_eq(nr_free(), before - (1L << order), "order %u: nr_free_pages after allocating",
		 order);
	check_fresh_compound(page, order);
	put_page(page);
	check_eq(nr_free(), before, "order %u: nr_free_pages after the last put_page", order);
}

static void test_compound_order1(void **state)
{
	(void)state;
	check_alloc_pages_compound(1);
}

static void test_compound_order2(void **state)
{
	(void)state;
	check_alloc_pages_compound(2);
}

static void test_compound_order9(void **state)
{
	(void)state;
	check_alloc_pages_compound(HPAGE_PMD_ORDER);
}

/* 2 GiB, no ZONE_MOVABLE or CMA: room for an order-18 (1 GiB) range in ZONE_NORMAL. */
static int boot_2g(void **state)
{
	struct pinmm_config cfg = cfg_of(2ULL << 30, 0, 0);

	(void)state;
	return boot_with(&cfg);
}

static void test_compound_order18(void **state)
{
	long before = nr_free();
	struct page *page;

	(void)state;
	page = alloc_contig_pages(1UL << HPAGE_PUD_ORDER, __GFP_COMP);
	if (!page)
		fail_msg("alloc_contig_pages(1 << 18, __GFP_COMP) failed on a fresh 2 GiB machine");
	check_eq(page_to_pfn(page) & ((1UL << HPAGE_PUD_ORDER) - 1), 0,
		 "order 18: the range is naturally aligned");
	check_eq(nr_free(), before - (1L << HPAGE_PUD_ORDER), "order 18: nr_free_pages after");
	check_fresh_compound(page, HPAGE_PUD_ORDER);

	/* A reference taken and dropped through a far tail lands on the head. */
	get_page(page + 200000);
	check_eq(page_ref_count(page), 2, "order 18: get_page(tail) raises the head's count");
	put_page(page + 200000);
	check_eq(page_ref_count(page), 1, "order 18: put_page(tail) lowers the head's count");

	put_page(page);
	check_eq(nr_free(), before, "order 18: the last put_page returns all 2^18 frames");
}

/* Both ways of freeing a compound page return all its frames: put_page() and __free_pages(). */
static void test_free_compound_returns_frames(void **state)
{
	static const unsigned int orders[] = {1, 2, 3, 9, MAX_ORDER - 1};
	long before = nr_free();

	(void)state;
	for (unsigned int k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
		unsigned int order = orders[k];
		struct page *a = alloc_pages(GFP_KERNEL | __GFP_COMP, order);
		struct page *b = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, order);

		if (!a || !b)
			fail_msg("order %u: allocation failed", order);
		check_eq(nr_free(), before - (2L << order), "order %u: two blocks taken", order);
		__free_pages(a, order);
		check_eq(nr_free(), before - (1L << order), "order %u: __free_pages() gave back",
			 order);
		put_page(b + (1UL << order) - 1);
		check_eq(nr_free(), before, "order %u: put_page() of the last ref gave back", order);
	}
}

/* Teardown for tests that quarantine pages on purpose: shutdown must report them. */
static int shutdown_expect_quarantine(void **state)
{
	int ret = pinmm_shutdown();
	char *log = test_log_take();
	bool ok = ret == -EBUSY && strstr(log, "quarantined by a bad free");

	(void)state;
	if (!ok)
		fprintf(stderr, "pinmm_shutdown() = %d, expected -EBUSY with the quarantined pages "
				"reported; log:\n%s\n", ret, log);
	free(log);
	test_log_stop();
	return ok ? 0 : -1;
}

/* Free head (order `order`, refcount 1) and check it was reported as a bad page for `reason`
 * and kept out of the allocator. */
static void expect_bad_free(struct page *head, unsigned int order, const char *reason)
{
	long before = nr_free();
	unsigned long warns = pinmm_warn_count();
	char *log;

	put_page(head);
	log = test_log_take();
	if (!strstr(log, "BUG: Bad page state") || !strstr(log, reason))
		fail_msg("freeing an order-%u page with %s: expected a bad-page report; log:\n%s",
			 order, reason, log);
	free(log);
	if (pinmm_warn_count() <= warns)
		fail_msg("a bad page must be reported with a WARN (%s)", reason);
	check_eq(nr_free(), before, "a bad compound page (%s) must stay out of the free lists",
		 reason);
	for (unsigned long i = 0; i < (1UL << order); i++)
		if (PageBuddy(head + i))
			fail_msg("page[%lu] of a quarantined page is on the free lists (%s)", i,
				 reason);
}

/* Linux (modern; pinmm applies it to 5.7's page[2] field too): a compound page freed with its
 * exact pin count still nonzero is a bad page, "nonzero pincount". The count is checked where
 * the rule set keeps it: page[2] under 5.7, page[1] under modern rules. */
static void test_free_with_pincount_is_bad_page(void **state)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);

	(void)state;
	assert_non_null(page);
	atomic_store(pincount_slot(page), 1);
	expect_bad_free(page, 2, "nonzero pincount");
}

/* Modern rules: an order-1 page has an exact count too (page[1]), checked at free. */
static void test_free_order1_with_pincount_is_bad_page_modern(void **state)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);

	(void)state;
	assert_non_null(page);
	check_true(pincount_slot(page) == &page[1]._pincount, "modern: the count is in page[1]");
	atomic_store(&page[1]._pincount, 2);
	expect_bad_free(page, 1, "nonzero pincount");
}

static void test_free_with_compound_mapcount_is_bad_page(void **state)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);

	(void)state;
	assert_non_null(page);
	atomic_store(&page[1].compound_mapcount, 0); /* still mapped once */
	expect_bad_free(page, 1, "nonzero compound_mapcount");
}

static void test_free_with_corrupted_tail_is_bad_page(void **state)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);

	(void)state;
	assert_non_null(page);
	page[5].mapping = NULL; /* TAIL_MAPPING overwritten */
	expect_bad_free(page, 3, "corrupted mapping in tail page");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_struct_page_layout),
		test_with_machine(test_compound_order1),
		test_with_machine(test_compound_order2),
		test_with_machine(test_compound_order9),
		cmocka_unit_test_setup_teardown(test_compound_order18, boot_2g, shutdown_clean),
		test_with_machine(test_free_compound_returns_frames),
		cmocka_unit_test_setup_teardown(test_free_with_pincount_is_bad_page, boot_57,
						shutdown_expect_quarantine),
		cmocka_unit_test_setup_teardown(test_free_with_pincount_is_bad_page, boot_modern,
						shutdown_expect_quarantine),
		cmocka_unit_test_setup_teardown(test_free_order1_with_pincount_is_bad_page_modern,
						boot_modern, shutdown_expect_quarantine),
		cmocka_unit_test_setup_teardown(test_free_with_compound_mapcount_is_bad_page,
						boot_default, shutdown_expect_quarantine),
		cmocka_unit_test_setup_teardown(test_free_with_corrupted_tail_is_bad_page,
						boot_default, shutdown_expect_quarantine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
