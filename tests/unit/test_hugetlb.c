/* SPDX-License-Identifier: MIT */
/*
 * The hugetlb pools (hugetlb.h): pools sized by the boot config (size_to_hstate(),
 * nr_huge_pages, free_huge_pages, the /proc/meminfo text of pinmm_hugetlb_report()), where
 * the pool pages lie; dequeue_huge_page() handing out HUGETLB compound pages of order 9 and 18
 * with refcount 1; pool exhaustion; put_page() giving a page back to its pool and never to the
 * buddy allocator; a page given back still mapped or pinned being a bad page kept out of the
 * pool; other sizes and an unbooted machine.
 */
#include <errno.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include "test_mm_util.h"

#define MiB (1ULL << 20)

/* 4 GiB: ZONE_NORMAL 0 .. 3584 MiB with CMA in its top 256 MiB, 512 MiB ZONE_MOVABLE; pools
 * of four 2 MiB and two 1 GiB pages. */
/* Pages a freshly booted machine may keep for itself (the shared zero page). */
#define BOOT_RESERVED_MAX 16

#define NR_2M 4
#define NR_1G 2

static int boot_pools(void **state)
{
	struct pinmm_config cfg = cfg_of(4 * GiB, 512 * MiB, 256 * MiB);

	(void)state;
	cfg.nr_hugepages_2m = NR_2M;
	cfg.nr_hugepages_1g = NR_1G;
	return boot_with(&cfg);
}

static void expect_report(unsigned long free_2m, unsigned long free_1g, const char *what)
{
	char expected[512];
	char *got = printed(pinmm_hugetlb_report);

	snprintf(expected, sizeof(expected),
		 "HugePages_Total:   %5d\nHugePages_Free:    %5lu\nHugePages_Rsvd:        0\n"
		 "Hugepagesize:       2048 kB\n"
		 "HugePages_Total:   %5d\nHugePages_Free:    %5lu\nHugePages_Rsvd:        0\n"
		 "Hugepagesize:    1048576 kB\n",
		 NR_2M, free_2m, NR_1G, free_1g);
	if (strcmp(got, expected))
		fail_msg("%s: pinmm_hugetlb_report() wrote\n%sexpected\n%s", what, got, expected);
	free(got);
}

/* A freshly dequeued pool page of the given order. */
static void check_fresh_huge_page(struct page *page, unsigned int order, const char *what)
{
	unsigned long nr = 1UL << order;

	assert_non_null(page);
	check_eq(page_to_pfn(page) % nr, 0, "%s: alignment of pfn %#lx", what, page_to_pfn(page));
	check_eq(page_zonenum(page), ZONE_NORMAL, "%s: zone", what);
	check_eq(get_pageblock_migratetype(page), MIGRATE_UNMOVABLE, "%s: not in CMA", what);
	check_eq(get_pageblock_migratetype(page + nr - 1), MIGRATE_UNMOVABLE, "%s: end not in CMA",
		 what);
	check_eq(PageHead(page), true, "%s: PageHead", what);
	check_eq(compound_order(page), order, "%s: compound_order", what);
	check_eq(page_compound_dtor(page), HUGETLB_PAGE_DTOR, "%s: destructor", what);
	check_eq(page_ref_count(page), 1, "%s: head refcount", what);
	check_eq(compound_mapcount(page), 0, "%s: compound_mapcount", what);
	check_eq(page_mapcount(page), 0, "%s: page_mapcount", what);
	check_eq(atomic_load(pincount_slot(page)), 0, "%s: pincount", what);
	check_eq(PageHWPoison(page), false, "%s: PageHWPoison", what);
	for (unsigned long i = 0; i < nr; i++) {
		if (!PageHuge(page + i))
			fail_msg("%s: PageHuge(page %lu) is false", what, i);
		if (i && (page_ref_count(page + i) != 0 || compound_head(page + i) != page))
			fail_msg("%s: tail %lu: refcount %d, head %p (want 0, %p)", what, i,
				 page_ref_count(page + i), (void *)compound_head(page + i),
				 (void *)page);
	}
}

static void test_pools_sized_by_config(void **state)
{
	struct hstate *h2 = size_to_hstate(SZ_2M), *h1 = size_to_hstate(SZ_1G);
	long held;

	(void)state;
	assert_non_null(h2);
	assert_non_null(h1);
	assert_ptr_not_equal(h1, h2);
	assert_int_equal(h2->order, HPAGE_PMD_ORDER);
	assert_int_equal(h1->order, HPAGE_PUD_ORDER);
	assert_int_equal(huge_page_size(h2), SZ_2M);
	assert_int_equal(huge_page_size(h1), SZ_1G);
	assert_int_equal(h2->nr_huge_pages, NR_2M);
	assert_int_equal(h2->free_huge_pages, NR_2M);
	assert_int_equal(h1->nr_huge_pages, NR_1G);
	assert_int_equal(h1->free_huge_pages, NR_1G);
	/* The pools are not free memory (and the machine may keep a few pages, the zero page,
	 * for itself). */
	held = (long)max_pfn - NR_2M * 512L - NR_1G * 262144L - nr_free();
	if (held < 0 || held > BOOT_RESERVED_MAX)
		fail_msg("nr_free_pages is %ld with %d x 2 MiB and %d x 1 GiB pages in the pools "
			 "(of %lu pages): the pools are not counted as free", nr_free(), NR_2M,
			 NR_1G, max_pfn);
	expect_report(NR_2M, NR_1G, "after boot");
}

static void test_other_sizes_have_no_hstate(void **state)
{
	static const unsigned long sizes[] = {0,         4096,           1UL << 20,   SZ_2M - 4096,
					      SZ_2M + 4096, 4UL << 20, 512UL << 20, SZ_1G - SZ_2M,
					      2 * SZ_1G,  ~0UL};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_eq(size_to_hstate(sizes[i]) == NULL, true, "size_to_hstate(%#lx)", sizes[i]);
}

static void test_dequeue_2m(void **state)
{
	struct hstate *h = size_to_hstate(SZ_2M);
	long free0 = nr_free();
	unsigned long pgfree0 = global_vm_event_count(PGFREE);
	char *info0 = buddyinfo(), *info;
	struct page *page, *again;

	(void)state;
	page = dequeue_huge_page(h);
	check_fresh_huge_page(page, HPAGE_PMD_ORDER, "2 MiB pool page");
	assert_int_equal(h->free_huge_pages, NR_2M - 1);
	assert_int_equal(h->nr_huge_pages, NR_2M);
	check_eq(nr_free(), free0, "dequeue takes from the pool, not the buddy allocator");
	expect_report(NR_2M - 1, NR_1G, "one 2 MiB page out");
	memset(page_address(page), 0x77, SZ_2M);

	put_page(page);
	check_eq(h->free_huge_pages, NR_2M, "put_page() of the last reference: back in the pool");
	check_eq(nr_free(), free0, "put_page() of a pool page must not free it to the buddy lists");
	check_eq(global_vm_event_count(PGFREE), pgfree0, "pgfree after a pool page came back");
	info = buddyinfo();
	if (strcmp(info, info0))
		fail_msg("buddyinfo changed by a hugetlb dequeue/put:\n%s\nwas\n%s", info, info0);
	free(info);
	free(info0);
	check_eq(PageHuge(page), true, "a pool page keeps its HUGETLB destructor in the pool");
	check_eq(page_ref_count(page), 0, "a page in the pool has refcount 0");
	expect_report(NR_2M, NR_1G, "2 MiB page back");

	/* It can be handed out again, as fresh as the first time. */
	again = dequeue_huge_page(h);
	check_fresh_huge_page(again, HPAGE_PMD_ORDER, "2 MiB pool page, second time");
	put_page(again);
	assert_int_equal(h->free_huge_pages, NR_2M);
}

static void test_dequeue_1g(void **state)
{
	struct hstate *h = size_to_hstate(SZ_1G);
	long free0 = nr_free();
	struct page *page;

	(void)state;
	page = dequeue_huge_page(h);
	check_fresh_huge_page(page, HPAGE_PUD_ORDER, "1 GiB pool page");
	assert_int_equal(h->free_huge_pages, NR_1G - 1);
	expect_report(NR_2M, NR_1G - 1, "one 1 GiB page out");
	put_page(page + 262143); /* the last reference, dropped through a tail */
	check_eq(h->free_huge_pages, NR_1G, "1 GiB page back in the pool");
	check_eq(nr_free(), free0, "1 GiB page not freed to the buddy lists");
}

/* Boot fills the pools from ZONE_NORMAL outside CMA, 1 GiB pages first from pfn 0. */
static void test_pool_pages_location(void **state)
{
	struct hstate *h1 = size_to_hstate(SZ_1G), *h2 = size_to_hstate(SZ_2M);
	struct page *g[NR_1G], *m[NR_2M];
	bool seen[NR_1G] = {false};

	(void)state;
	for (int i = 0; i < NR_1G; i++) {
		unsigned long pfn;

		g[i] = dequeue_huge_page(h1);
		check_fresh_huge_page(g[i], HPAGE_PUD_ORDER, "1 GiB pool page");
		pfn = page_to_pfn(g[i]);
		if (pfn % 262144 || pfn / 262144 >= NR_1G || seen[pfn / 262144])
			fail_msg("1 GiB pool page %d at pfn %#lx; want the first %d GiB of RAM", i,
				 pfn, NR_1G);
		seen[pfn / 262144] = true;
	}
	for (int i = 0; i < NR_2M; i++) {
		m[i] = dequeue_huge_page(h2);
		check_fresh_huge_page(m[i], HPAGE_PMD_ORDER, "2 MiB pool page");
		check_eq(page_to_pfn(m[i]) >= NR_1G * 262144UL, true,
			 "2 MiB pool page %d (pfn %#lx) outside the 1 GiB pages", i,
			 page_to_pfn(m[i]));
	}
	for (int i = 0; i < NR_1G; i++)
		put_page(g[i]);
	for (int i = 0; i < NR_2M; i++)
		put_page(m[i]);
}

static void test_pool_exhaustion(void **state)
{
	struct hstate *h2 = size_to_hstate(SZ_2M), *h1 = size_to_hstate(SZ_1G);
	struct page *m[NR_2M], *g[NR_1G];
	long free0 = nr_free();

	(void)state;
	for (int i = 0; i < NR_2M; i++) {
		m[i] = dequeue_huge_page(h2);
		assert_non_null(m[i]);
		for (int j = 0; j < i; j++)
			check_eq(m[i] == m[j], false, "2 MiB page %d handed out twice", i);
	}
	check_eq(dequeue_huge_page(h2) == NULL, true, "dequeue from an empty 2 MiB pool");
	check_eq(dequeue_huge_page(h2) == NULL, true, "dequeue from an empty 2 MiB pool, again");
	check_eq(h2->free_huge_pages, 0, "2 MiB pool empty");
	for (int i = 0; i < NR_1G; i++) {
		g[i] = dequeue_huge_page(h1);
		assert_non_null(g[i]);
	}
	check_eq(dequeue_huge_page(h1) == NULL, true, "dequeue from an empty 1 GiB pool");
	check_eq(nr_free(), free0, "empty pools do not fall back to the buddy allocator");
	expect_report(0, 0, "both pools empty");
	for (int i = 0; i < NR_2M; i++)
		put_page(m[i]);
	for (int i = 0; i < NR_1G; i++)
		put_page(g[i]);
	expect_report(NR_2M, NR_1G, "everything back");
	check_eq(nr_free(), free0, "pools refilled, buddy untouched");
}

/* Only the last reference returns the page. */
static void test_extra_references(void **state)
{
	struct hstate *h = size_to_hstate(SZ_2M);
	struct page *page = dequeue_huge_page(h);

	(void)state;
	assert_non_null(page);
	get_page(page + 100);
	assert_int_equal(page_count(page + 100), 2);
	put_page(page);
	check_eq(h->free_huge_pages, NR_2M - 1, "a pool page with a reference left stays out");
	check_eq(page_ref_count(page), 1, "refcount after dropping one of two references");
	put_page(page + 100);
	check_eq(h->free_huge_pages, NR_2M, "last reference dropped through a tail");
}

/* A page given back still mapped or pinned: bad page report, kept out of the pool for good. */
static void expect_bad_put(struct hstate *h, struct page *page, const char *reason)
{
	unsigned long free0 = h->free_huge_pages;
	unsigned long warns = pinmm_warn_count();
	long nr_free0 = nr_free();
	struct page *rest[NR_2M + NR_1G];
	int n = 0;
	char *log;

	log_clear();
	put_page(page);
	log = test_log_take();
	if (!strstr(log, "BUG: Bad page state") || !strstr(log, reason))
		fail_msg("putting back a hugetlb page (%s) should report \"BUG: Bad page state\" "
			 "and the reason; log:\n%s", reason, log);
	free(log);
	if (pinmm_warn_count() <= warns)
		fail_msg("a bad hugetlb put (%s) must WARN", reason);
	check_eq(h->free_huge_pages, free0, "a bad hugetlb page (%s) must not return to the pool",
		 reason);
	check_eq(nr_free(), nr_free0, "a bad hugetlb page (%s) must not reach the buddy lists",
		 reason);
	/* Everything left in the pool is handed out, never the bad page. */
	while ((rest[n] = dequeue_huge_page(h))) {
		check_eq(rest[n] == page, false, "quarantined hugetlb page (%s) dequeued again",
			 reason);
		n++;
		assert_true(n < NR_2M + NR_1G);
	}
	check_eq((unsigned long)n, free0, "pages left in the pool after a bad put (%s)", reason);
	while (n > 0)
		put_page(rest[--n]);
	check_eq(h->free_huge_pages, free0, "pool after the good pages came back (%s)", reason);

	check_eq(pinmm_shutdown(), -EBUSY, "shutdown after a bad hugetlb put (%s)", reason);
	test_log_expect("quarantined by a bad free");
	test_log_stop();
	assert_int_equal(boot_pools(NULL), 0); /* the next boot works */
	assert_int_equal(pinmm_shutdown(), 0);
}

static void test_bad_put_mapped(void **state)
{
	struct hstate *h = size_to_hstate(SZ_2M);
	struct page *page = dequeue_huge_page(h);

	(void)state;
	assert_non_null(page);
	atomic_store(&page[1].compound_mapcount, 0); /* still mapped by one PMD */
	expect_bad_put(h, page, "nonzero compound_mapcount");
}

static void test_bad_put_pinned(void **state)
{
	struct hstate *h = size_to_hstate(SZ_2M);
	struct page *page = dequeue_huge_page(h);

	(void)state;
	assert_non_null(page);
	atomic_store(pincount_slot(page), 1); /* an unpin is missing */
	expect_bad_put(h, page, "nonzero pincount");
}

static void test_bad_put_pinned_1g(void **state)
{
	struct hstate *h = size_to_hstate(SZ_1G);
	struct page *page = dequeue_huge_page(h);

	(void)state;
	assert_non_null(page);
	atomic_store(pincount_slot(page), 3);
	expect_bad_put(h, page, "nonzero pincount");
}

/* A pool page still handed out at shutdown is a leak. */
static void test_shutdown_with_huge_page_out(void **state)
{
	struct page *page = dequeue_huge_page(size_to_hstate(SZ_2M));
	char expect[96];
	char *log;

	(void)state;
	assert_non_null(page);
	log_clear();
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown with a 2 MiB pool page handed out");
	log = test_log_take();
	snprintf(expect, sizeof(expect), "page:%016lx refcount:1", (unsigned long)page);
	if (!strstr(log, expect) || !strstr(log, "still allocated at shutdown") ||
	    !strstr(log, "512 page(s) still allocated"))
		fail_msg("shutdown should report the 512 pages of the 2 MiB page (\"%s\"); log:\n%s",
			 expect, log);
	free(log);
}

/* A machine booted without pools has empty ones. */
static void test_no_pools(void **state)
{
	struct hstate *h2 = size_to_hstate(SZ_2M), *h1 = size_to_hstate(SZ_1G);
	char *got;

	(void)state;
	assert_non_null(h2);
	assert_non_null(h1);
	assert_int_equal(h2->nr_huge_pages, 0);
	assert_int_equal(h1->nr_huge_pages, 0);
	assert_null(dequeue_huge_page(h2));
	assert_null(dequeue_huge_page(h1));
	assert_true(nr_free() >= (long)max_pfn - BOOT_RESERVED_MAX);
	got = printed(pinmm_hugetlb_report);
	if (strcmp(got, "HugePages_Total:       0\nHugePages_Free:        0\n"
			"HugePages_Rsvd:        0\nHugepagesize:       2048 kB\n"
			"HugePages_Total:       0\nHugePages_Free:        0\n"
			"HugePages_Rsvd:        0\nHugepagesize:    1048576 kB\n"))
		fail_msg("report of empty pools:\n%s", got);
	free(got);
}

static void test_not_booted(void **state)
{
	char buf[64];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_false(pinmm_booted());
	assert_null(size_to_hstate(SZ_2M));
	assert_null(size_to_hstate(SZ_1G));
	assert_non_null(f);
	assert_int_equal(pinmm_hugetlb_report(f), -ENODEV);
	fclose(f);
	assert_int_equal(pinmm_hugetlb_report(NULL), -EINVAL);
}

static void test_report_null_stream(void **state)
{
	(void)state;
	assert_int_equal(pinmm_hugetlb_report(NULL), -EINVAL);
}

#define pool_test(f) cmocka_unit_test_setup_teardown(f, boot_pools, shutdown_clean)
#define bad_pool_test(f) cmocka_unit_test_setup_teardown(f, boot_pools, teardown_any)

int main(void)
{
	const struct CMUnitTest tests[] = {
		pool_test(test_pools_sized_by_config),
		pool_test(test_other_sizes_have_no_hstate),
		pool_test(test_dequeue_2m),
		pool_test(test_dequeue_1g),
		pool_test(test_pool_pages_location),
		pool_test(test_pool_exhaustion),
		pool_test(test_extra_references),
		pool_test(test_report_null_stream),
		bad_pool_test(test_bad_put_mapped),
		bad_pool_test(test_bad_put_pinned),
		bad_pool_test(test_bad_put_pinned_1g),
		bad_pool_test(test_shutdown_with_huge_page_out),
		cmocka_unit_test_setup_teardown(test_no_pools, boot_default, shutdown_clean),
		cmocka_unit_test(test_not_booted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
