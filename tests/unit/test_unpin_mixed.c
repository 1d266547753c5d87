/* SPDX-License-Identifier: MIT */
/*
 * One unpin_user_pages() (and unpin_user_pages_dirty_lock()) array that mixes every kind of
 * page a pin can hold: 4 KiB anonymous pages (one of them pinned twice, its entries apart),
 * subpages of a THP and of a 2 MiB hugetlb page (each compound page's entries split by others),
 * the head and the tail of an order-1 compound page, the zero page and a NULL entry. Under both
 * rule sets, with the debug checks off (the order-0 entries then take the release's per-page
 * path, unpin_order0() in src/gup/grab.c) and on (the batched path only): every count each
 * pin added is gone afterwards, exactly (the bias on order-0 pages, on order 1 under 5.7 and on
 * the 5.7 zero page; refcount and exact pin count on the others; nothing for the zero page
 * under modern rules), nr_foll_pin_released grows by what nr_foll_pin_acquired grew, the pages
 * are no longer maybe-DMA-pinned, the dirty variant dirties every anonymous page, and
 * pinmm_check_invariants() finds nothing. Then two threads pin and unpin the same 4 KiB pages
 * at once with the checks off, and every count comes back exactly.
 *
 * The order-1 page is a plain __GFP_COMP allocation pinned with try_grab_page() (as the
 * conformance suite's scenario 12 does): no mapping holds an order-1 page.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_mm_util.h"
#include "gup/internal.h" /* try_grab_page(): the order-1 page's pins */

#define NR_4K 4
#define MAX_ENTRIES 24

/* One distinct page pinned (a head: where its counts live) and the counts it started with. */
struct pinned {
	const char *what;
	struct page *head;
	int refcount;
	int pincount; /* -1: the page has no exact count */
	int pins;     /* pins the array holds on it */
	bool anon;    /* an anonymous page: the dirty variant must dirty it */
};

struct mix {
	const char *rules;
	bool modern, checks, dirty;
	struct pinned p[16];
	int nr_pinned;
	struct page *entries[MAX_ENTRIES];
	unsigned long nr_entries;
	long pins_counted; /* pins that nr_foll_pin_acquired counted */
	struct page *order1;
};

static int exact_count(struct page *head)
{
	return hpage_pincount_available(head) ? compound_pincount(head) : -1;
}

static struct pinned *track(struct mix *m, const char *what, struct page *page, bool anon)
{
	struct page *head = compound_head(page);

	for (int i = 0; i < m->nr_pinned; i++)
		if (m->p[i].head == head)
			return &m->p[i];
	assert_true(m->nr_pinned < (int)(sizeof(m->p) / sizeof(m->p[0])));
	m->p[m->nr_pinned] = (struct pinned){.what = what, .head = head,
					     .refcount = page_ref_count(head),
					     .pincount = exact_count(head), .anon = anon};
	return &m->p[m->nr_pinned++];
}

/* Pin the page at addr (write or read-only) through the fast call and append it. zero_page:
 * addr maps the zero page (a special entry, which page_at() does not name). */
static void pin_at(struct mix *m, const char *what, unsigned long addr, bool write, bool anon,
		   bool zero_page)
{
	struct page *page = NULL;
	struct pinned *p;
	long before = nr_acquired();
	int got;

	assert_true(m->nr_entries < MAX_ENTRIES);
	/* Track (read the counts) before the pin: the page is already mapped. */
	p = track(m, what, zero_page ? ZERO_PAGE(0) : page_at(current_mm(), addr), anon);
	got = pin_user_pages_fast(addr, 1, write ? FOLL_WRITE : 0, &page);
	check_eq(got, 1, "%s (%s rules): pin_user_pages_fast() of one page", what, m->rules);
	check_ptr(compound_head(page), p->head, "%s (%s rules): the page pinned", what, m->rules);
	m->pins_counted += nr_acquired() - before;
	m->entries[m->nr_entries++] = page;
	p->pins++;
}

static void pin_page(struct mix *m, const char *what, struct page *page)
{
	struct pinned *p = track(m, what, page, false);
	long before = nr_acquired();

	check_true(try_grab_page(page, FOLL_PIN), "%s (%s rules): try_grab_page(FOLL_PIN)", what,
		   m->rules);
	m->pins_counted += nr_acquired() - before;
	m->entries[m->nr_entries++] = page;
	p->pins++;
}

/* What one pin adds to p's refcount and exact count under this rule set. */
static void per_pin(const struct mix *m, const struct pinned *p, int *ref, int *exact)
{
	if (is_zero_page(p->head) && m->modern) {
		*ref = *exact = 0; /* 6.5: the zero page is never pinned */
	} else if (p->pincount >= 0) {
		*ref = *exact = 1;
	} else {
		*ref = (int)GUP_PIN_COUNTING_BIAS;
		*exact = 0;
	}
}

static void expect_counts(const struct mix *m, bool pinned, const char *when)
{
	for (int i = 0; i < m->nr_pinned; i++) {
		const struct pinned *p = &m->p[i];
		int ref, exact;

		per_pin(m, p, &ref, &exact);
		check_eq(page_ref_count(p->head), p->refcount + (pinned ? p->pins * ref : 0),
			 "%s (%s rules, checks %s, %s): refcount %s", p->what, m->rules,
			 m->checks ? "on" : "off", m->dirty ? "dirty" : "clean", when);
		if (p->pincount >= 0)
			check_eq(compound_pincount(p->head),
				 p->pincount + (pinned ? p->pins * exact : 0),
				 "%s (%s rules, checks %s): exact pin count %s", p->what, m->rules,
				 m->checks ? "on" : "off", when);
		if (!pinned || ref)
			check_eq(page_maybe_dma_pinned(p->head), pinned,
				 "%s (%s rules, checks %s): page_maybe_dma_pinned() %s", p->what,
				 m->rules, m->checks ? "on" : "off", when);
		if (!pinned && m->dirty && p->anon)
			check_true(PageDirty(p->head), "%s (%s rules, checks %s): dirty after the "
				   "dirty unpin", p->what, m->rules, m->checks ? "on" : "off");
	}
}

/* The default machine (THP always) with one 2 MiB hugetlb page, the rule set and the debug
 * checks as asked, and an mm for the test thread. */
static int setup_mix(void **state, enum pinmm_rules rules, bool checks)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = rules;
	cfg.debug_checks = checks;
	cfg.nr_hugepages_2m = 1;
	return boot_with_mm(state, &cfg);
}

static int setup_57_checks_off(void **state)
{
	return setup_mix(state, PINMM_RULES_5_7, false);
}

static int setup_modern_checks_off(void **state)
{
	return setup_mix(state, PINMM_RULES_MODERN, false);
}

static int setup_57_checks_on(void **state)
{
	return setup_mix(state, PINMM_RULES_5_7, true);
}

static int setup_modern_checks_on(void **state)
{
	return setup_mix(state, PINMM_RULES_MODERN, true);
}

static void run_mix(struct mm_struct *mm, bool modern, bool checks, bool dirty)
{
	struct mix m = {.rules = modern ? "modern" : "5.7", .modern = modern, .checks = checks,
			.dirty = dirty};
	unsigned long small, thp_map, thp, huge, zero;
	long released;

	small = map(0, PG(NR_4K), RW, ANON, "4 KiB pages");
	assert_int_equal(do_madvise(mm, small, PG(NR_4K), MADV_NOHUGEPAGE), 0);
	tag_pages(small, NR_4K, 0x4b, "4 KiB pages");
	thp_map = map(0, 2 * SZ_2M, RW, ANON, "THP");
	thp = (thp_map + SZ_2M - 1) & ~(SZ_2M - 1);
	assert_int_equal(do_madvise(mm, thp, SZ_2M, MADV_HUGEPAGE), 0);
	put_word(thp, 0x7, "THP");
	huge = map(0, SZ_2M, RW, ANON | MAP_HUGETLB | MAP_HUGE_2MB, "hugetlb 2M");
	put_word(huge, 0x8, "hugetlb 2M");
	zero = map(0, PG(1), RW, ANON, "zero page");
	(void)get_word(zero, "zero page"); /* a read fault maps the zero page */
	check_eq(compound_order(compound_head(page_at(mm, small))), 0, "the 4 KiB page's order");
	check_eq(compound_order(compound_head(page_at(mm, thp))), HPAGE_PMD_ORDER,
		 "the THP's order (THP always)");
	check_true(page_at(mm, zero) == NULL && (pt_walk(mm, zero).entry & _PAGE_SPECIAL),
		   "a read fault maps the zero page (a special entry)");
	m.order1 = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	assert_non_null(m.order1);

	/* The array: compound pages' entries apart, order-0 runs between them. */
	pin_at(&m, "4 KiB page 0", small, true, true, false);
	pin_at(&m, "THP", thp + PG(3), true, true, false);
	pin_at(&m, "4 KiB page 1", small + PG(1), true, true, false);
	pin_at(&m, "4 KiB page 2", small + PG(2), true, true, false);
	pin_at(&m, "hugetlb 2M", huge + PG(5), true, true, false);
	pin_page(&m, "order-1 page", m.order1);
	pin_at(&m, "4 KiB page 3", small + PG(3), true, true, false);
	pin_page(&m, "order-1 page", m.order1 + 1);
	pin_at(&m, "THP", thp + PG(4), true, true, false);
	pin_at(&m, "THP", thp + PG(5), true, true, false);
	pin_at(&m, "zero page", zero, false, false, true);
	m.entries[m.nr_entries++] = NULL;
	pin_at(&m, "4 KiB page 0", small, true, true, false); /* its second pin */
	pin_at(&m, "hugetlb 2M", huge + PG(511), true, true, false);
	pin_at(&m, "4 KiB page 1", small + PG(1), true, true, false);
	expect_counts(&m, true, "after the pins");

	released = nr_released();
	if (dirty)
		unpin_user_pages_dirty_lock(m.entries, m.nr_entries, true);
	else
		unpin_user_pages(m.entries, m.nr_entries);
	expect_counts(&m, false, "after the unpin");
	check_eq(nr_released() - released, m.pins_counted,
		 "%s rules, checks %s: nr_foll_pin_released grows by the pins acquired", m.rules,
		 checks ? "on" : "off");
	/* 13 pins but the zero page's, which modern rules do not count. */
	check_eq(m.pins_counted, modern ? 13 : 14, "%s rules: the pins nr_foll_pin_acquired counted",
		 m.rules);
	/* The order-1 page is no one's but this test's: the check would report it leaked. */
	__free_pages(m.order1, 1);
	check_eq(pinmm_check_invariants(), 0, "%s rules, checks %s: the invariants after the unpin",
		 m.rules, checks ? "on" : "off");
}

/* ---- two CPUs pinning and unpinning the same order-0 pages at once ---- */

#define RACE_PAGES 64
#define RACE_ROUNDS 200

struct racer {
	struct mm_struct *mm;
	unsigned long addr;
	long pinned;
	const char *failed;
};

static void *race_pins(void *arg)
{
	struct racer *r = arg;
	struct page *pages[RACE_PAGES];

	kthread_use_mm(r->mm);
	for (int round = 0; round < RACE_ROUNDS && !r->failed; round++) {
		int got = pin_user_pages_fast(r->addr, RACE_PAGES, FOLL_WRITE, pages);

		if (got != RACE_PAGES) {
			r->failed = "pin_user_pages_fast() took fewer pages than asked";
			if (got > 0)
				unpin_user_pages(pages, (unsigned long)got);
			break;
		}
		r->pinned += got;
		unpin_user_pages_dirty_lock(pages, RACE_PAGES, round & 1);
	}
	kthread_unuse_mm(r->mm);
	return NULL;
}

/* Both threads grab and release the same pages' counts (the inline order-0 grab, the
 * order-0 release with the checks off): every count comes back exactly, and the vmstat pair
 * agrees. */
static void race_order0(struct mm_struct *mm, const char *rules)
{
	unsigned long addr = map(0, PG(RACE_PAGES), RW, ANON, "racing pins");
	struct racer r[2];
	pthread_t t[2];
	int before[RACE_PAGES];
	long acquired = nr_acquired(), released = nr_released();

	assert_int_equal(do_madvise(mm, addr, PG(RACE_PAGES), MADV_NOHUGEPAGE), 0);
	tag_pages(addr, RACE_PAGES, 0x5a, "racing pins");
	for (int i = 0; i < RACE_PAGES; i++)
		before[i] = page_ref_count(page_at(mm, addr + PG(i)));
	for (int i = 0; i < 2; i++) {
		r[i] = (struct racer){.mm = mm, .addr = addr};
		assert_int_equal(pthread_create(&t[i], NULL, race_pins, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		check_true(!r[i].failed, "%s rules: racing thread %d: %s", rules, i,
			   r[i].failed ? r[i].failed : "");
	}
	for (int i = 0; i < RACE_PAGES; i++)
		check_eq(page_ref_count(page_at(mm, addr + PG(i))), before[i],
			 "%s rules: page %d's refcount after two threads' pins and unpins", rules, i);
	check_eq(nr_acquired() - acquired, r[0].pinned + r[1].pinned,
		 "%s rules: nr_foll_pin_acquired after the race", rules);
	check_eq(nr_released() - released, r[0].pinned + r[1].pinned,
		 "%s rules: nr_foll_pin_released after the race", rules);
	check_eq(pinmm_check_invariants(), 0, "%s rules: the invariants after the race", rules);
}

static void test_race_order0_57_checks_off(void **state)
{
	race_order0(*state, "5.7");
}

static void test_race_order0_modern_checks_off(void **state)
{
	race_order0(*state, "modern");
}

#define MIX_TEST(name, modern, checks, dirty)                                                      \
	static void test_unpin_mixed_##name(void **state)                                          \
	{                                                                                          \
		run_mix(*state, modern, checks, dirty);                                            \
	}

MIX_TEST(57_checks_off, false, false, false)
MIX_TEST(57_checks_off_dirty, false, false, true)
MIX_TEST(modern_checks_off, true, false, false)
MIX_TEST(modern_checks_off_dirty, true, false, true)
MIX_TEST(57_checks_on, false, true, false)
MIX_TEST(57_checks_on_dirty, false, true, true)
MIX_TEST(modern_checks_on, true, true, false)
MIX_TEST(modern_checks_on_dirty, true, true, true)

#define mix_test(name, setup) cmocka_unit_test_setup_teardown(test_unpin_mixed_##name, setup, teardown_mm)

int main(void)
{
	const struct CMUnitTest tests[] = {
		mix_test(57_checks_off, setup_57_checks_off),
		mix_test(57_checks_off_dirty, setup_57_checks_off),
		mix_test(modern_checks_off, setup_modern_checks_off),
		mix_test(modern_checks_off_dirty, setup_modern_checks_off),
		mix_test(57_checks_on, setup_57_checks_on),
		mix_test(57_checks_on_dirty, setup_57_checks_on),
		mix_test(modern_checks_on, setup_modern_checks_on),
		mix_test(modern_checks_on_dirty, setup_modern_checks_on),
		cmocka_unit_test_setup_teardown(test_race_order0_57_checks_off, setup_57_checks_off,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_race_order0_modern_checks_off,
						setup_modern_checks_off, teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
