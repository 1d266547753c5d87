/* SPDX-License-Identifier: MIT */
/*
 * References on pages (mm.h, page_ref.h): get_page()/put_page() through head and tail pages
 * act on the head's count; the last put_page() frees an order-0 page and a compound page (via
 * its destructor); page_count() vs page_ref_count() on a tail; the refusals of
 * get_page_unless_zero() and try_get_page() (zero, INT_MAX) and the WARNs of get_page() and
 * put_page() on a zero count; page_mapcount() of order-0 and compound subpages; the raw
 * page_ref_* operations; and two threads hammering get_page()/put_page() on one page.
 *
 * The WARNs under test are WARN_ON_ONCE sites, which report once per process: each WARN
 * scenario runs in a forked child (run_warn_scenario) so that it sees its site still armed.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "test_mm_util.h"

static void test_get_put_on_head_and_tail(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);

	(void)state;
	assert_non_null(head);
	get_page(head);
	check_eq(page_ref_count(head), 2, "get_page(head) on an order-2 page");
	get_page(head + 3);
	check_eq(page_ref_count(head), 3, "get_page(tail 3) must raise the head's count");
	check_eq(page_ref_count(head + 3), 0, "get_page(tail 3) must leave the tail's own count 0");
	put_page(head + 1);
	check_eq(page_ref_count(head), 2, "put_page(tail 1) must lower the head's count");
	check_eq(page_ref_count(head + 1), 0, "put_page(tail 1) must leave the tail's count 0");
	put_page(head);
	check_eq(page_ref_count(head), 1, "put_page(head) with references left");
	check_eq(PageHead(head), true, "the page is still allocated and compound");
	put_page(head + 2);
}

static void test_page_count_vs_page_ref_count_on_tail(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);

	(void)state;
	assert_non_null(head);
	get_page(head + 5);
	get_page(head + 5);
	check_eq(page_count(head + 5), 3, "page_count(tail) is the head's count");
	check_eq(page_ref_count(head + 5), 0, "page_ref_count(tail) is the tail's own count (0)");
	check_eq(page_count(head), 3, "page_count(head)");
	check_eq(page_ref_count(head), 3, "page_ref_count(head)");
	put_page(head + 5);
	put_page(head + 7);
	put_page(head);
}

static void test_last_put_frees_order0(void **state)
{
	long before = nr_free();
	unsigned long pgfree = global_vm_event_count(PGFREE);
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(page);
	check_eq(nr_free(), before - 1, "an order-0 allocation takes one page");
	get_page(page);
	put_page(page);
	check_eq(page_ref_count(page), 1, "put_page() that is not the last leaves the page");
	check_eq(nr_free(), before - 1, "put_page() that is not the last frees nothing");
	put_page(page);
	check_eq(nr_free(), before, "the last put_page() of an order-0 page frees it");
	check_eq(global_vm_event_count(PGFREE), pgfree + 1, "the last put_page() counts a pgfree");
}

static void test_last_put_frees_compound(void **state)
{
	long before = nr_free();
	unsigned long pgfree = global_vm_event_count(PGFREE);
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);

	(void)state;
	assert_non_null(head);
	get_page(head + 6);
	put_page(head);
	check_eq(nr_free(), before - 8, "a compound page with a reference left is not freed");
	/* The last reference, dropped through a tail, frees the whole compound page. */
	put_page(head + 6);
	check_eq(nr_free(), before, "the last put_page() of an order-3 compound page frees it");
	check_eq(global_vm_event_count(PGFREE), pgfree + 8, "8 pages freed, 8 pgfree events");
}

static void test_get_page_unless_zero(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);

	(void)state;
	assert_non_null(head);
	check_eq(get_page_unless_zero(head + 1), true, "get_page_unless_zero on a held page");
	check_eq(page_ref_count(head), 2, "get_page_unless_zero(tail) raises the head's count");

	check_eq(page_ref_freeze(head, 2), true, "freezing the count at 2");
	check_eq(get_page_unless_zero(head), false, "get_page_unless_zero must refuse count 0");
	check_eq(get_page_unless_zero(head + 3), false,
		 "get_page_unless_zero(tail) must refuse the head's count 0");
	check_eq(page_ref_count(head), 0, "a refused get_page_unless_zero leaves the count 0");

	set_page_count(head, INT_MAX);
	check_eq(get_page_unless_zero(head), false, "get_page_unless_zero must refuse INT_MAX");
	check_eq(page_ref_count(head), INT_MAX, "a refused get_page_unless_zero changes nothing");
	set_page_count(head, 1);
	put_page(head);
}

static void test_try_get_page_takes_a_reference(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	unsigned long warns = pinmm_warn_count();

	(void)state;
	assert_non_null(head);
	check_eq(try_get_page(head + 2), true, "try_get_page(tail) on a held page");
	check_eq(page_ref_count(head), 2, "try_get_page(tail) raises the head's count");
	check_eq(page_ref_count(head + 2), 0, "try_get_page(tail) leaves the tail's count");
	check_eq(pinmm_warn_count(), warns, "a successful try_get_page does not WARN");
	put_page(head);
	put_page(head);
}

struct warn_scenario {
	const char *(*fn)(struct page *page);
	struct page *page;
};

static void warn_scenario_run(void *arg)
{
	const struct warn_scenario *w = arg;
	const char *err = w->fn(w->page);

	if (err)
		test_fail("%s", err);
}

/*
 * Run scenario(page) in a forked child with its own log file (run_in_child()), so that the
 * WARN_ON_ONCE site it expects to fire has not fired yet in that process. The scenario returns
 * NULL when its checks pass, else what went wrong. The child then also checks that exactly one
 * WARN was reported and that the log mentions `warned_in` (the function that WARNs). Failures
 * come back to the parent and fail the test there.
 */
static void run_warn_scenario(const char *(*scenario)(struct page *), struct page *page,
			      const char *warned_in)
{
	struct warn_scenario w = {scenario, page};

	run_in_child(scenario_text("a WARN from %s", warned_in), warn_scenario_run, &w, 1,
		     warned_in);
}

static const char *try_get_page_on_zero(struct page *page)
{
	if (!page_ref_freeze(page, 1))
		return "could not freeze the count at 1";
	if (try_get_page(page + 1))
		return "try_get_page(tail) must refuse when the head's count is 0";
	if (page_ref_count(page) != 0)
		return "a refused try_get_page must leave the count at 0";
	return NULL;
}

static const char *try_get_page_at_int_max(struct page *page)
{
	set_page_count(page, INT_MAX);
	if (try_get_page(page))
		return "try_get_page must refuse a count at INT_MAX";
	if (page_ref_count(page) != INT_MAX)
		return "a refused try_get_page must leave the count at INT_MAX";
	return NULL;
}

static const char *get_page_on_zero(struct page *page)
{
	if (!page_ref_freeze(page, 1))
		return "could not freeze the count at 1";
	get_page(page + 1);
	if (page_ref_count(page) != 0)
		return "get_page() on a zero count must leave it 0";
	return NULL;
}

static const char *get_page_at_int_max(struct page *page)
{
	set_page_count(page, INT_MAX);
	get_page(page);
	if (page_ref_count(page) != INT_MAX)
		return "get_page() at INT_MAX must not wrap the count";
	return NULL;
}

static const char *put_page_on_zero(struct page *page)
{
	long free_before = nr_free();

	if (!page_ref_freeze(page, 1))
		return "could not freeze the count at 1";
	put_page(page + 1);
	if (page_ref_count(page) != 0)
		return "put_page() on a zero count must leave it 0";
	if (nr_free() != free_before)
		return "put_page() on a zero count must not free anything";
	if (!PageHead(page))
		return "put_page() on a zero count must not tear the compound page down";
	return NULL;
}

/* The refusals of try_get_page(), and get_page()/put_page() on a count they must not touch:
 * each WARNs and leaves the count as it was. */
static void test_refused_references_warn(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);

	(void)state;
	assert_non_null(head);
	run_warn_scenario(try_get_page_on_zero, head, "try_get_page");
	run_warn_scenario(try_get_page_at_int_max, head, "try_get_page");
	run_warn_scenario(get_page_on_zero, head, "get_page");
	run_warn_scenario(get_page_at_int_max, head, "get_page");
	run_warn_scenario(put_page_on_zero, head, "put_page");
	/* The children worked on their own copies; here the page is untouched. */
	check_eq(page_ref_count(head), 1, "the parent's page after the forked scenarios");
	put_page(head);
}

static void test_page_mapcount_order0(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(page);
	check_eq(page_mapcount(page), 0, "an unmapped page (_mapcount -1)");
	check_eq(page_mapped(page), false, "page_mapped() of an unmapped page");
	atomic_store(&page->_mapcount, 0);
	check_eq(page_mapcount(page), 1, "a page mapped once (_mapcount 0)");
	check_eq(page_mapped(page), true, "page_mapped() of a mapped page");
	atomic_store(&page->_mapcount, 4);
	check_eq(page_mapcount(page), 5, "a page mapped 5 times (_mapcount 4)");
	atomic_store(&page->_mapcount, -1);
	put_page(page);
}

/* A subpage of a compound page: its own PTE mappings plus the PMD mappings of the whole. */
static void test_page_mapcount_compound_subpage(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);

	(void)state;
	assert_non_null(head);
	for (int i = 0; i < 4; i++)
		check_eq(page_mapcount(head + i), 0, "subpage %d of an unmapped compound page", i);
	atomic_store(&head[3]._mapcount, 0); /* subpage 3 mapped by one PTE */
	check_eq(page_mapcount(head + 3), 1, "subpage 3 mapped by one PTE");
	check_eq(page_mapcount(head + 2), 0, "subpage 2 is not mapped");

	atomic_store(&head[1].compound_mapcount, 1); /* the whole page mapped by two PMDs */
	check_eq(compound_mapcount(head + 2), 2, "compound_mapcount() via a tail");
	check_eq(page_mapcount(head + 3), 3, "subpage 3: one PTE + two PMD mappings");
	check_eq(page_mapcount(head + 2), 2, "subpage 2: two PMD mappings only");
	check_eq(page_mapcount(head), 2, "the head: two PMD mappings");
	check_eq(page_mapped(head + 1), true, "page_mapped() of a subpage of a PMD-mapped page");

	atomic_store(&head[3]._mapcount, -1);
	atomic_store(&head[1].compound_mapcount, -1);
	put_page(head);
}

static void test_page_ref_freeze_unfreeze(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(page);
	get_page(page);
	check_eq(page_ref_freeze(page, 1), false, "freeze with the wrong expected count (1 of 2)");
	check_eq(page_ref_count(page), 2, "a failed freeze leaves the count");
	check_eq(page_ref_freeze(page, 2), true, "freeze with the right expected count");
	check_eq(page_ref_count(page), 0, "a frozen count reads 0");
	check_eq(get_page_unless_zero(page), false, "no speculative reference on a frozen page");
	page_ref_unfreeze(page, 2);
	check_eq(page_ref_count(page), 2, "unfreeze restores the given count");
	check_eq(get_page_unless_zero(page), true, "speculative references work again");
	check_eq(page_ref_count(page), 3, "after unfreeze and get_page_unless_zero");
	put_page(page);
	put_page(page);
	put_page(page);
}

static void test_page_ref_arithmetic(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(page);
	page_ref_add(page, 9);
	check_eq(page_ref_count(page), 10, "page_ref_add(9) on 1");
	check_eq(page_ref_sub_return(page, 3), 7, "page_ref_sub_return(3) on 10");
	check_eq(page_ref_count(page), 7, "after page_ref_sub_return");
	page_ref_inc(page);
	page_ref_dec(page);
	page_ref_sub(page, 2);
	check_eq(page_ref_count(page), 5, "after inc, dec, sub(2) on 7");
	check_eq(page_ref_sub_and_test(page, 3), false, "page_ref_sub_and_test(3) on 5 -> 2");
	check_eq(page_ref_dec_and_test(page), false, "page_ref_dec_and_test on 2 -> 1");
	check_eq(page_ref_add_unless_zero_or_overflow(page, 4), true, "add 4 unless zero on 1");
	check_eq(page_ref_add_unless_zero_or_overflow(page, INT_MAX - 4), false,
		 "adding INT_MAX - 4 to 5 would overflow");
	check_eq(page_ref_count(page), 5, "a refused add changes nothing");
	check_eq(page_ref_sub_and_test(page, 4), false, "page_ref_sub_and_test(4) on 5 -> 1");
	check_eq(page_ref_dec_and_test(page), true, "page_ref_dec_and_test on 1 -> 0");
	check_eq(page_ref_add_unless_zero_or_overflow(page, 1), false, "add unless zero on 0");
	init_page_count(page);
	check_eq(page_ref_count(page), 1, "init_page_count sets 1");
	put_page(page);
}

#define GET_PUT_ROUNDS 100000

static void *get_put_loop(void *arg)
{
	struct page *page = arg;

	for (int i = 0; i < GET_PUT_ROUNDS; i++) {
		get_page(page);
		put_page(page);
	}
	return NULL;
}

/* Two threads, one through the head and one through a tail, 100000 get/put pairs each. */
static void test_concurrent_get_put(void **state)
{
	struct page *order0 = alloc_page(GFP_KERNEL);
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	unsigned long warns = pinmm_warn_count();
	struct page *targets[2][2] = {{order0, order0}, {head, head + 3}};
	pthread_t t[2];

	(void)state;
	assert_non_null(order0);
	assert_non_null(head);
	alarm(120); /* a hang is a failure, not a stuck suite */
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, get_put_loop, targets[k][i]),
					 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
	}
	alarm(0);
	check_eq(page_ref_count(order0), 1,
		 "2 threads x %d get_page/put_page on an order-0 page", GET_PUT_ROUNDS);
	check_eq(page_ref_count(head), 1,
		 "2 threads x %d get_page/put_page on head and tail", GET_PUT_ROUNDS);
	check_eq(page_ref_count(head + 3), 0, "the tail's own count after the threads");
	check_eq(pinmm_warn_count(), warns, "balanced get/put never WARNs");
	put_page(order0);
	put_page(head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_machine(test_get_put_on_head_and_tail),
		test_with_machine(test_page_count_vs_page_ref_count_on_tail),
		test_with_machine(test_last_put_frees_order0),
		test_with_machine(test_last_put_frees_compound),
		test_with_machine(test_get_page_unless_zero),
		test_with_machine(test_try_get_page_takes_a_reference),
		test_with_machine(test_refused_references_warn),
		test_with_machine(test_page_mapcount_order0),
		test_with_machine(test_page_mapcount_compound_subpage),
		test_with_machine(test_page_ref_freeze_unfreeze),
		test_with_machine(test_page_ref_arithmetic),
		test_with_machine(test_concurrent_get_put),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
