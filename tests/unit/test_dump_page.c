/* SPDX-License-Identifier: MIT */
/*
 * dump_page() (mmdebug.h) against Linux 5.7's format (__dump_page() in mm/debug.c of v5.7):
 * the one-line header of an order-0 page, of an order-1 tail (no compound_pincount) and of
 * order-9 subpages (compound_pincount, the head's refcount); the flags line with names in bit
 * order, the " CMA" suffix and the "anon " prefix; the raw: and head: hex lines; the reason
 * and mem_cgroup lines; pointers that are not pages of the machine. The last tests compare
 * details with what Linux 5.7 prints (page_mapping(), page_to_pgoff(), the mapcount of a free
 * page, the order of flag names, a gigantic page's far subpage printed as not compound); each
 * guards a difference from 5.7 that was found and fixed.
 */
#include <stdbool.h>
#include <unistd.h>

#include "test_util.h"

#define MAX_DUMP_LINES 16

struct dump {
	char *text;
	char *line[MAX_DUMP_LINES];
	int n;
};

/* dump_page(page, reason), split into lines (without their '\n'). */
static void take_dump(struct page *page, const char *reason, struct dump *d)
{
	char *p;

	free(test_log_take());
	dump_page(page, reason);
	d->text = test_log_take();
	d->n = 0;
	for (p = d->text; *p && d->n < MAX_DUMP_LINES;) {
		char *nl = strchr(p, '\n');

		if (!nl)
			fail_msg("dump_page output does not end with a newline: \"%s\"", p);
		*nl = '\0';
		d->line[d->n++] = p;
		p = nl + 1;
	}
}

static void free_dump(struct dump *d)
{
	free(d->text);
	d->text = NULL;
}

/* The two lines print_hex_dump() gives for a struct page in Linux: 4 words each. */
static void expect_hex_lines(const struct dump *d, int first, const char *prefix,
			     const struct page *page)
{
	unsigned long w[8];
	char want[128];

	memcpy(w, (const void *)page, sizeof(w));
	for (int l = 0; l < 2; l++) {
		snprintf(want, sizeof(want), "%s: %016lx %016lx %016lx %016lx", prefix, w[4 * l],
			 w[4 * l + 1], w[4 * l + 2], w[4 * l + 3]);
		if (first + l >= d->n)
			fail_msg("dump has %d lines; line %d should be \"%s\"", d->n, first + l,
				 want);
		assert_string_equal(d->line[first + l], want);
	}
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void expect_line_count(const struct dump *d, int n, const char *what)
{
	if (d->n != n)
		fail_msg("%s: dump_page should print %d lines, printed %d:\n%s", what, n, d->n,
			 d->n ? d->line[0] : "");
}

static void test_dump_order0_page(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct dump d;
	char want[256];

	(void)state;
	assert_non_null(page);
	take_dump(page, "testing order 0", &d);
	expect_line_count(&d, 5, "an order-0 page");
	snprintf(want, sizeof(want),
		 "page:%016lx refcount:1 mapcount:0 mapping:0000000000000000 index:0x0",
		 (unsigned long)page);
	assert_string_equal(d.line[0], want);
	assert_string_equal(d.line[1], "flags: 0x0()");
	expect_hex_lines(&d, 2, "raw", page);
	assert_string_equal(d.line[4], "page dumped because: testing order 0");
	free_dump(&d);
	put_page(page);
}

static void test_dump_order0_counts_index_flags(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct dump d;
	char want[256];

	(void)state;
	assert_non_null(page);
	get_page(page);
	get_page(page);
	atomic_store(&page->_mapcount, 1);
	page->index = 0x2a;
	SetPageDirty(page);
	SetPageUptodate(page);
	SetPageReferenced(page);
	take_dump(page, "counts", &d);
	snprintf(want, sizeof(want),
		 "page:%016lx refcount:3 mapcount:2 mapping:0000000000000000 index:0x2a",
		 (unsigned long)page);
	assert_string_equal(d.line[0], want);
	assert_string_equal(d.line[1], "flags: 0xe(referenced|uptodate|dirty)");
	expect_hex_lines(&d, 2, "raw", page);
	free_dump(&d);

	atomic_store(&page->_mapcount, -1);
	page->index = 0;
	put_page(page);
	put_page(page);
	put_page(page);
}

/* 5.7 rules: the head and the tail of an order-1 compound page: no compound_pincount (no
 * page[2]). */
static void test_dump_order1_head_and_tail(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	struct dump d;
	char want[256];

	(void)state;
	assert_non_null(head);
	take_dump(head, "order-1 head", &d);
	expect_line_count(&d, 5, "the head of an order-1 page");
	snprintf(want, sizeof(want),
		 "page:%016lx refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 "
		 "head:%016lx order:1 compound_mapcount:0",
		 (unsigned long)head, (unsigned long)head);
	assert_string_equal(d.line[0], want);
	assert_string_equal(d.line[1], "flags: 0x10000(head)");
	expect_hex_lines(&d, 2, "raw", head);
	assert_string_equal(d.line[4], "page dumped because: order-1 head");
	free_dump(&d);

	get_page(head + 1);
	take_dump(head + 1, "order-1 tail", &d);
	expect_line_count(&d, 7, "the tail of an order-1 page");
	snprintf(want, sizeof(want), "page:%016lx refcount:2 mapcount:0 mapping:",
		 (unsigned long)(head + 1));
	if (!starts_with(d.line[0], want))
		fail_msg("order-1 tail: line should start \"%s\" (refcount is the head's); got\n%s",
			 want, d.line[0]);
	snprintf(want, sizeof(want), " head:%016lx order:1 compound_mapcount:0",
		 (unsigned long)head);
	if (!ends_with(d.line[0], want))
		fail_msg("order-1 tail: line should end \"%s\" with no compound_pincount; got\n%s",
			 want, d.line[0]);
	if (!strstr(d.line[0], " index:0x"))
		fail_msg("order-1 tail: no index field in\n%s", d.line[0]);
	assert_string_equal(d.line[1], "flags: 0x0()");
	expect_hex_lines(&d, 2, "raw", head + 1);
	expect_hex_lines(&d, 4, "head", head);
	assert_string_equal(d.line[6], "page dumped because: order-1 tail");
	free_dump(&d);
	put_page(head + 1);
	put_page(head);
}

/* Modern rules: an order-1 page has an exact count (page[1]._pincount) and dump_page prints
 * it, from the head and from the tail. */
static void test_dump_order1_pincount_modern(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	struct dump d;
	char want[256];

	(void)state;
	assert_non_null(head);
	take_dump(head, "order-1 head", &d);
	snprintf(want, sizeof(want),
		 "page:%016lx refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 "
		 "head:%016lx order:1 compound_mapcount:0 compound_pincount:0",
		 (unsigned long)head, (unsigned long)head);
	assert_string_equal(d.line[0], want);
	free_dump(&d);

	atomic_store(&head[1]._pincount, 2);
	take_dump(head + 1, "order-1 tail", &d);
	snprintf(want, sizeof(want), " head:%016lx order:1 compound_mapcount:0 compound_pincount:2",
		 (unsigned long)head);
	if (!ends_with(d.line[0], want))
		fail_msg("modern, order-1 tail with 2 pins: line should end \"%s\"; got\n%s", want,
			 d.line[0]);
	free_dump(&d);
	atomic_store(&head[1]._pincount, 0);
	put_page(head);
}

static void test_dump_order9_subpage(void **state)
{
	struct page *head = alloc_pages(GFP_TRANSHUGE, HPAGE_PMD_ORDER);
	struct page *sub = head + 100;
	struct dump d;
	char want[256];

	(void)state;
	assert_non_null(head);
	take_dump(head, NULL, &d);
	snprintf(want, sizeof(want),
		 "page:%016lx refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 "
		 "head:%016lx order:9 compound_mapcount:0 compound_pincount:0",
		 (unsigned long)head, (unsigned long)head);
	assert_string_equal(d.line[0], want);
	free_dump(&d);

	take_dump(sub, "order-9 subpage", &d);
	expect_line_count(&d, 7, "a subpage of an order-9 page");
	snprintf(want, sizeof(want), " head:%016lx order:9 compound_mapcount:0 compound_pincount:0",
		 (unsigned long)head);
	if (!ends_with(d.line[0], want))
		fail_msg("order-9 subpage: line should end \"%s\"; got\n%s", want, d.line[0]);
	expect_hex_lines(&d, 4, "head", head);
	free_dump(&d);

	/* Pinned three times, mapped by one PMD, two more references: all from the head. */
	atomic_store(pincount_slot(head), 3);
	atomic_store(&head[1].compound_mapcount, 0);
	get_page(sub);
	get_page(head + 511);
	take_dump(sub, "pinned", &d);
	snprintf(want, sizeof(want), "page:%016lx refcount:3 mapcount:1 mapping:",
		 (unsigned long)sub);
	if (!starts_with(d.line[0], want))
		fail_msg("order-9 subpage: line should start \"%s\"; got\n%s", want, d.line[0]);
	snprintf(want, sizeof(want), " head:%016lx order:9 compound_mapcount:1 compound_pincount:3",
		 (unsigned long)head);
	if (!ends_with(d.line[0], want))
		fail_msg("order-9 subpage, pinned: line should end \"%s\"; got\n%s", want,
			 d.line[0]);
	expect_hex_lines(&d, 4, "head", head);
	free_dump(&d);

	atomic_store(pincount_slot(head), 0);
	atomic_store(&head[1].compound_mapcount, -1);
	put_page(sub);
	put_page(sub);
	put_page(head);
}

/* Flag names joined by '|' in bit order (those that Linux also prints in that order). */
static void test_dump_flag_names(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long all = 0;
	struct dump d;
	char want[512];

	(void)state;
	assert_non_null(head);
	assert_non_null(page);
	SetPageDirty(head + 1);
	take_dump(head, NULL, &d);
	assert_string_equal(d.line[1], "flags: 0x10008(dirty|head)");
	free_dump(&d);
	ClearPageDirty(head);

	for (int bit = 0; bit < NR_PAGEFLAGS; bit++)
		if (bit != PG_waiters && bit != PG_error)
			all |= 1UL << bit;
	atomic_store(&page->flags, all);
	take_dump(page, NULL, &d);
	snprintf(want, sizeof(want),
		 "flags: 0x%lx(locked|referenced|uptodate|dirty|lru|active|workingset|slab|"
		 "owner_priv_1|arch_1|reserved|private|private_2|writeback|head|mappedtodisk|"
		 "reclaim|swapbacked|unevictable|mlocked|uncached|hwpoison|longterm)",
		 all);
	atomic_store(&page->flags, 0);
	assert_string_equal(d.line[1], want);
	free_dump(&d);
	put_page(head);
	put_page(page);
}

/* " CMA" after the flags of a page in the CMA area, and only there. */
static void test_dump_cma_suffix(void **state)
{
	struct page *blocks[300];
	struct page *cma = NULL;
	int n = 0;
	struct dump d;

	(void)state;
	/* Movable allocations use ZONE_MOVABLE, then ZONE_NORMAL, and only then CMA. */
	while (n < 300) {
		struct page *p = alloc_pages(GFP_HIGHUSER_MOVABLE, MAX_ORDER - 1);

		if (!p)
			break;
		blocks[n++] = p;
		if (is_migrate_cma_page(p)) {
			cma = p;
			break;
		}
	}
	if (!cma)
		fail_msg("no movable allocation landed in CMA after %d MAX_ORDER blocks", n);
	take_dump(cma + 3, NULL, &d);
	assert_string_equal(d.line[1], "flags: 0x0() CMA");
	free_dump(&d);
	take_dump(blocks[0], NULL, &d);
	if (is_migrate_cma_page(blocks[0]))
		fail_msg("the first movable block should not come from CMA");
	assert_string_equal(d.line[1], "flags: 0x0()");
	free_dump(&d);
	for (int i = 0; i < n; i++)
		__free_pages(blocks[i], MAX_ORDER - 1);
}

/* "anon " before "flags:" when the (head's) mapping has PAGE_MAPPING_ANON. */
static void test_dump_anon_prefix(void **state)
{
	static long anon_vma_stand_in[4];
	struct address_space *anon =
		(struct address_space *)((unsigned long)anon_vma_stand_in | PAGE_MAPPING_ANON);
	struct page *page = alloc_page(GFP_KERNEL);
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	struct dump d;

	(void)state;
	assert_non_null(page);
	assert_non_null(head);
	page->mapping = anon;
	SetPageSwapBacked(page);
	take_dump(page, NULL, &d);
	page->mapping = NULL;
	ClearPageSwapBacked(page);
	assert_string_equal(d.line[1], "anon flags: 0x80000(swapbacked)");
	free_dump(&d);

	head->mapping = anon;
	take_dump(head + 3, NULL, &d);
	head->mapping = NULL;
	assert_string_equal(d.line[1], "anon flags: 0x0()");
	free_dump(&d);

	page->mapping = (struct address_space *)anon_vma_stand_in; /* a file mapping */
	take_dump(page, NULL, &d);
	page->mapping = NULL;
	assert_string_equal(d.line[1], "flags: 0x0()");
	free_dump(&d);
	put_page(page);
	put_page(head);
}

static void test_dump_reason_and_mem_cgroup_lines(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct dump d;
	char want[128];

	(void)state;
	assert_non_null(page);
	take_dump(page, NULL, &d);
	expect_line_count(&d, 4, "no reason: no \"page dumped because\" line");
	if (strstr(d.line[3], "page dumped because"))
		fail_msg("a NULL reason must print no reason line");
	free_dump(&d);

	page->mem_cgroup = (void *)0xffff888012345000UL;
	take_dump(page, "memcg", &d);
	page->mem_cgroup = NULL;
	expect_line_count(&d, 6, "with a mem_cgroup");
	assert_string_equal(d.line[4], "page dumped because: memcg");
	snprintf(want, sizeof(want), "page->mem_cgroup:%016lx", 0xffff888012345000UL);
	assert_string_equal(d.line[5], want);
	free_dump(&d);
	put_page(page);
}

static void expect_not_a_page(struct page *page, const char *what)
{
	struct dump d;
	char want[128];

	take_dump(page, "should not matter", &d);
	snprintf(want, sizeof(want), "page:%016lx is not a page of this machine",
		 (unsigned long)page);
	if (d.n != 1 || strcmp(d.line[0], want))
		fail_msg("dump_page(%s) should print only \"%s\"; printed %d line(s):\n%s", what,
			 want, d.n, d.n ? d.line[0] : "");
	free_dump(&d);
}

static void test_dump_not_a_page(void **state)
{
	struct page on_stack;

	(void)state;
	memset(&on_stack, 0, sizeof(on_stack));
	expect_not_a_page(NULL, "NULL");
	expect_not_a_page(&on_stack, "a struct page on the stack");
	expect_not_a_page(mem_map - 1, "the struct page before mem_map");
	expect_not_a_page(mem_map + max_pfn, "the struct page after the last pfn");
	expect_not_a_page((struct page *)((char *)mem_map + 8), "a misaligned pointer");
}

static void test_dump_not_booted(void **state)
{
	struct page on_stack;

	(void)state;
	memset(&on_stack, 0, sizeof(on_stack));
	test_log_start();
	expect_not_a_page(&on_stack, "a struct page with no machine booted");
	expect_not_a_page(NULL, "NULL with no machine booted");
	test_log_stop();
}

/*
 * Fixed deviation from Linux 5.7 (src/mm/debug.c:101-103): Linux 5.7's __dump_page()
 * prints mapping = page_mapping(page), which goes to the head and returns NULL for anonymous
 * pages (mm/debug.c @ 002ae7057069, mm/util.c page_mapping()). pinmm prints the page's raw
 * mapping word: 0x400 (TAIL_MAPPING) for a tail, the anon_vma|1 pointer for an anon page.
 */
static void test_dump_mapping_is_page_mapping(void **state)
{
	static long anon_vma_stand_in[4];
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	struct page *page = alloc_page(GFP_KERNEL);
	struct dump d;
	bool tail_ok, anon_ok;
	char tail_line[256], anon_line[256];

	(void)state;
	assert_non_null(head);
	assert_non_null(page);
	take_dump(head + 5, NULL, &d);
	tail_ok = strstr(d.line[0], " mapping:0000000000000000 ") != NULL;
	snprintf(tail_line, sizeof(tail_line), "%s", d.line[0]);
	free_dump(&d);

	page->mapping =
		(struct address_space *)((unsigned long)anon_vma_stand_in | PAGE_MAPPING_ANON);
	take_dump(page, NULL, &d);
	page->mapping = NULL;
	anon_ok = strstr(d.line[0], " mapping:0000000000000000 ") != NULL;
	snprintf(anon_line, sizeof(anon_line), "%s", d.line[0]);
	free_dump(&d);
	put_page(head);
	put_page(page);
	if (!tail_ok || !anon_ok)
		fail_msg("regression: Linux 5.7 prints page_mapping(): the head's mapping for a "
			 "tail (NULL here) and NULL for an anon page.\n"
			 "  tail of an unmapped order-3 page: %s\n  anon order-0 page: %s",
			 tail_line, anon_line);
}

/*
 * Fixed deviation from Linux 5.7 (src/mm/debug.c:101-103): Linux 5.7 prints
 * index:page_to_pgoff(page); for a tail page that is head->index + (page - head)
 * (page_to_index(), pagemap.h), since tails' own index is not maintained. pinmm prints the
 * tail's raw index word.
 */
static void test_dump_tail_index_is_page_to_pgoff(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	struct dump d;
	char line[256];
	bool ok;

	(void)state;
	assert_non_null(head);
	head->index = 0x100;
	take_dump(head + 5, NULL, &d);
	head->index = 0;
	ok = strstr(d.line[0], " index:0x105 ") != NULL;
	snprintf(line, sizeof(line), "%s", d.line[0]);
	free_dump(&d);
	put_page(head);
	if (!ok)
		fail_msg("regression: tail 5 of a compound page whose head has index 0x100: "
			 "Linux 5.7 prints index:0x105; pinmm printed\n%s", line);
}

/*
 * Fixed deviation from Linux 5.7 (src/mm/debug.c:85-87): a free buddy page has page_type
 * PG_buddy in _mapcount (0xffffff7f) and Linux 5.7's dump_page() prints page_mapcount() of
 * it, -128, as in every 5.x "Bad page state ... refcount:0 mapcount:-128" report; printing 0
 * for page_type pages came with much later kernels. pinmm prints mapcount:0.
 */
static void test_dump_free_page_mapcount(void **state)
{
	struct page *block = alloc_pages(GFP_KERNEL, MAX_ORDER - 1);
	struct dump d;
	char line[256];
	bool ok;

	(void)state;
	assert_non_null(block);
	__free_pages(block, MAX_ORDER - 1); /* a MAX_ORDER - 1 block does not merge further */
	assert_true(PageBuddy(block));
	take_dump(block, NULL, &d);
	ok = strstr(d.line[0], " refcount:0 mapcount:-128 ") != NULL;
	snprintf(line, sizeof(line), "%s", d.line[0]);
	free_dump(&d);
	if (!ok)
		fail_msg("regression: a free buddy page: Linux 5.7 prints refcount:0 "
			 "mapcount:-128; pinmm printed\n%s", line);
}

/*
 * Fixed deviation from Linux 5.7 (src/mm/debug.c:45-57): %pGp prints names in the order of
 * __def_pageflag_names (include/trace/events/mmflags.h), which lists locked, waiters, error
 * first and then referenced, uptodate, dirty, ... So PG_error|PG_dirty prints "error|dirty"
 * in Linux; pinmm walks the bits and prints "dirty|error".
 */
static void test_dump_flag_names_follow_linux_table(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct dump d;
	char line[256];
	bool ok;

	(void)state;
	assert_non_null(page);
	SetPageDirty(page);
	SetPageError(page);
	SetPageUptodate(page);
	take_dump(page, NULL, &d);
	ClearPageDirty(page);
	ClearPageError(page);
	ClearPageUptodate(page);
	ok = strcmp(d.line[1], "flags: 0x10c(error|uptodate|dirty)") == 0;
	snprintf(line, sizeof(line), "%s", d.line[1]);
	free_dump(&d);
	put_page(page);
	if (!ok)
		fail_msg("regression: PG_error|PG_uptodate|PG_dirty: Linux 5.7 prints \"flags: "
			 "0x10c(error|uptodate|dirty)\"; pinmm printed \"%s\"", line);
}

/*
 * Linux 5.7's __dump_page() treats a page at or past head + MAX_ORDER_NR_PAGES as not compound
 * (mem_map need not be contiguous that far): its own refcount, its raw ->mapping, no head:
 * fields and no head: lines. A 1 GiB page's subpages 1024 and on are such pages; 1023 is not.
 */
static void test_dump_gigantic_far_subpage(void **state)
{
	struct hstate *h = size_to_hstate(1UL << 30);
	struct page *head = h ? dequeue_huge_page(h) : NULL;
	struct page *near, *far;
	struct dump d;
	char want[256];

	(void)state;
	if (!head)
		fail_msg("a machine with one 1 GiB hugetlb page: dequeue_huge_page() gave none");
	near = head + MAX_ORDER_NR_PAGES - 1;
	take_dump(near, NULL, &d);
	snprintf(want, sizeof(want), "page:%016lx refcount:1 mapcount:0 ", (unsigned long)near);
	if (!starts_with(d.line[0], want) || !strstr(d.line[0], " head:"))
		fail_msg("subpage %lu of a 1 GiB page (inside MAX_ORDER_NR_PAGES): expected the "
			 "head's refcount 1 and head: fields; got\n%s",
			 MAX_ORDER_NR_PAGES - 1, d.line[0]);
	expect_line_count(&d, 6, "a near subpage of a 1 GiB page (raw: and head: lines)");
	free_dump(&d);

	for (unsigned long i = MAX_ORDER_NR_PAGES; i < (1UL << 18); i += 100000) {
		far = head + i;
		take_dump(far, "far", &d);
		snprintf(want, sizeof(want),
			 "page:%016lx refcount:0 mapcount:0 mapping:%016lx index:0x%lx",
			 (unsigned long)far, (unsigned long)far->mapping, i);
		if (strcmp(d.line[0], want) != 0)
			fail_msg("subpage %lu of a 1 GiB page (past MAX_ORDER_NR_PAGES): expected, as "
				 "5.7, a page that is not compound:\n%s\ngot\n%s",
				 i, want, d.line[0]);
		expect_line_count(&d, 5, "a far subpage of a 1 GiB page (no head: lines)");
		expect_hex_lines(&d, 2, "raw", far);
		free_dump(&d);
	}
	put_page(head);
}

static int boot_one_gigantic(void **state)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	cfg.ram_bytes = 2ULL << 30;
	cfg.nr_hugepages_1g = 1;
	return boot_with(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_machine(test_dump_order0_page),
		test_with_machine(test_dump_order0_counts_index_flags),
		cmocka_unit_test_setup_teardown(test_dump_order1_head_and_tail, boot_57,
						shutdown_clean),
		cmocka_unit_test_setup_teardown(test_dump_order1_pincount_modern, boot_modern,
						shutdown_clean),
		test_with_machine(test_dump_order9_subpage),
		test_with_machine(test_dump_flag_names),
		test_with_machine(test_dump_cma_suffix),
		test_with_machine(test_dump_anon_prefix),
		test_with_machine(test_dump_reason_and_mem_cgroup_lines),
		test_with_machine(test_dump_not_a_page),
		cmocka_unit_test(test_dump_not_booted),
		test_with_machine(test_dump_mapping_is_page_mapping),
		test_with_machine(test_dump_tail_index_is_page_to_pgoff),
		test_with_machine(test_dump_free_page_mapcount),
		test_with_machine(test_dump_flag_names_follow_linux_table),
		cmocka_unit_test_setup_teardown(test_dump_gigantic_far_subpage, boot_one_gigantic,
						shutdown_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
