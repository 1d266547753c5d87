/* SPDX-License-Identifier: MIT */
/*
 * pinmm_check_invariants(): a clean machine in many states (faults, COW, fork, THP, hugetlb,
 * file mappings, pins of every kind) reports nothing, and each kind of damage, built on purpose
 * and undone afterwards, is reported exactly once with its reason.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_mm_util.h"

/* The check finds nothing; otherwise fail with what it logged. */
#define expect_clean(...)                                                                          \
	do {                                                                                       \
		long n__ = pinmm_check_invariants();                                               \
		if (n__ != 0) {                                                                    \
			char *log__ = test_log_take();                                             \
			test_fail("%s: pinmm_check_invariants() = %ld, expected 0; log:\n%s",     \
				  scenario_text(__VA_ARGS__), n__, log__);                         \
		}                                                                                  \
		log_clear();                                                                       \
	} while (0)

/* The check finds exactly one violation and logs reason. */
static void expect_one(const char *scenario, const char *reason)
{
	long n = pinmm_check_invariants();
	char *log = test_log_take();

	if (n != 1 || !strstr(log, reason) || !strstr(log, "page:"))
		test_fail("%s: pinmm_check_invariants() = %ld, expected 1 reporting \"%s\" with "
			  "dump_page(); log:\n%s", scenario, n, reason, log);
	free(log);
}

/* The same when the violation concerns no single page (no dump_page()). */
/* pinmm_check_invariants() finds exactly expected violations, reporting both reasons. */
static void expect_violations(const char *scenario, long expected, const char *reason,
			      const char *reason2)
{
	long n = pinmm_check_invariants();
	char *log = test_log_take();

	if (n != expected || !strstr(log, reason) || !strstr(log, reason2))
		test_fail("%s: pinmm_check_invariants() = %ld, expected %ld reporting \"%s\" and "
			  "\"%s\"; log:\n%s",
			  scenario, n, expected, reason, reason2, log);
	free(log);
}

static void expect_one_no_page(const char *scenario, const char *reason)
{
	expect_violations(scenario, 1, reason, reason);
}

static unsigned long map_thp(void)
{
	unsigned long raw = map(0, 2 * SZ_2M, RW, ANON, "THP area");
	unsigned long addr = (raw + SZ_2M - 1) & ~(SZ_2M - 1);

	put_word(addr, 1, "THP fault");
	return addr;
}

static void test_not_booted(void **state)
{
	(void)state;
	assert_int_equal(pinmm_check_invariants(), -ENODEV);
}

static void test_fresh_machine_is_clean(void **state)
{
	(void)state;
	expect_clean("a fresh machine with an empty mm");
}

static void test_faults_cow_fork_are_clean(void **state)
{
	struct mm_struct *child;

	(void)state;
	unsigned long a = map(0, PG(16), RW, ANON, "small"), b;

	assert_int_equal(do_madvise(current_mm(), a, PG(16), MADV_NOHUGEPAGE), 0);
	for (int i = 0; i < 8; i++)
		put_word(a + PG(i), (unsigned long)i, "write faults");
	(void)get_word(a + PG(9), "a read fault maps the zero page");
	expect_clean("8 written pages and a zero-page mapping");
	child = pinmm_fork(current_mm());
	assert_false(IS_ERR(child));
	expect_clean("after fork: every page shared and write-protected");
	put_word(a, 42, "COW in the parent");
	expect_clean("after a COW fault in the parent");
	b = map_thp();
	put_word(b + PG(3), 5, "THP write");
	expect_clean("with a THP mapped by a PMD");
	mmput(child);
	expect_clean("after the child exited");
	unmap(b + PG(1), PG(2), "punch a hole in the THP");
	expect_clean("a THP split into PTEs, partly unmapped");
	unmap(a + PG(4), PG(4), "unmap half");
	expect_clean("after munmap of half the small pages");
}

static void test_thp_fork_is_clean(void **state)
{
	unsigned long addr = map_thp();
	struct mm_struct *child = pinmm_fork(current_mm());

	(void)state;
	assert_false(IS_ERR(child));
	expect_clean("a THP shared by parent and child");
	put_word(addr + PG(7), 1, "COW of a shared THP");
	expect_clean("after the COW of a shared THP (PMD split, one subpage copied)");
	mmput(child);
	expect_clean("after the child exited");
}

static void test_pins_are_clean(void **state)
{
	unsigned long small = map(0, PG(4), RW, ANON, "small"), thp = map_thp();
	struct page *p[4], *t[2], *z[1], *g[1];

	(void)state;
	assert_int_equal(do_madvise(current_mm(), small, PG(4), MADV_NOHUGEPAGE), 0);
	put_word(small, 1, "fault");
	assert_int_equal(pin_user_pages_fast(small, 1, FOLL_WRITE, p), 1);
	assert_int_equal(pin_user_pages_fast(small, 1, FOLL_WRITE, p + 1), 1);
	assert_int_equal(pin_user_pages_fast(thp, 2, FOLL_WRITE, t), 2);
	assert_int_equal(pin_user_pages_fast(small + PG(2), 1, 0, z), 1); /* the zero page */
	assert_int_equal(pin_user_pages_fast(small + PG(3), 1, FOLL_WRITE | FOLL_LONGTERM, p + 2),
			 1);
	assert_int_equal(get_user_pages_fast(small + PG(3), 1, FOLL_WRITE, g), 1);
	expect_clean("two pins on a page, two on a THP, one on the zero page, a long-term pin");
	unmap(small, PG(4), "unmap the pinned small pages");
	unmap(thp, SZ_2M, "unmap the pinned THP");
	expect_clean("pinned pages that nothing maps any more");
	put_page(g[0]);
	unpin_user_pages(p, 3);
	unpin_user_pages(t, 2);
	unpin_user_page(z[0]);
	expect_clean("after every unpin");
}

static void test_files_are_clean(void **state)
{
	char path[] = "/tmp/pinmm_check_XXXXXX";
	int fd = mkstemp(path);
	struct file *shm, *host;
	unsigned long s, h;
	struct page *p[1];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, PG(8)), 0);
	close(fd);
	host = filp_open(path, O_RDWR, 0);
	unlink(path);
	assert_false(IS_ERR(host));
	shm = shmem_file_setup("check", PG(8), 0);
	assert_false(IS_ERR(shm));
	s = vm_mmap(shm, 0, PG(8), RW, MAP_SHARED, 0);
	h = vm_mmap(host, 0, PG(8), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(s));
	assert_false(IS_ERR_VALUE(h));
	put_word(s, 1, "shmem write");
	put_word(h + PG(1), 2, "host file write");
	(void)get_word(h + PG(2), "host file read");
	assert_int_equal(pin_user_pages_fast(h + PG(1), 1, FOLL_WRITE, p), 1);
	expect_clean("shmem and host-file mappings, a pinned file page");
	assert_int_equal(vfs_fsync(host, 0), 0);
	expect_clean("after fsync");
	unpin_user_pages_dirty_lock(p, 1, true);
	unmap(s, PG(8), "unmap shmem");
	expect_clean("an unmapped shmem file still caching a page");
	fput(shm);
	unmap(h, PG(8), "unmap the host file");
	fput(host);
	expect_clean("after the files were closed");
}

static int setup_hugetlb(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB; /* room for a 1 GiB page outside ZONE_MOVABLE and CMA */
	/* Two of each: under modern rules fork copies each pinned page into a free one. */
	cfg.nr_hugepages_2m = 2;
	cfg.nr_hugepages_1g = 2;
	return boot_with_mm(state, &cfg);
}

static void test_hugetlb_is_clean(void **state)
{
	unsigned long a = map(0, SZ_2M, RW, ANON | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), "2M");
	unsigned long b = map(0, SZ_1G, RW, ANON | MAP_HUGETLB | (30 << MAP_HUGE_SHIFT), "1G");
	struct page *p[2];
	struct mm_struct *child;

	(void)state;
	expect_clean("hugetlb VMAs, nothing faulted");
	put_word(a, 1, "2M fault");
	put_word(b, 1, "1G fault");
	assert_int_equal(pin_user_pages_fast(a, 1, FOLL_WRITE, p), 1);
	assert_int_equal(pin_user_pages_fast(b + PG(5), 1, FOLL_WRITE, p + 1), 1);
	expect_clean("2 MiB and 1 GiB hugetlb pages mapped and pinned");
	child = pinmm_fork(current_mm());
	assert_false(IS_ERR(child));
	expect_clean("hugetlb pages shared with a child (5.7), or copied for it (modern)");
	mmput(child);
	unpin_user_pages(p, 2);
	unmap(a, SZ_2M, "unmap 2M");
	expect_clean("a 2 MiB page back in its pool");
}

/* ---- damage, each kind on its own ---- */

static struct page *faulted_small_page(unsigned long *addrp)
{
	unsigned long addr = map(0, PG(1), RW, ANON, "one page");

	put_word(addr, 1, "fault");
	*addrp = addr;
	return page_at(current_mm(), addr);
}

static void test_refcount_below_mappings(void **state)
{
	unsigned long addr;
	struct page *page = faulted_small_page(&addr);
	struct mm_struct *child = pinmm_fork(current_mm());

	(void)state;
	assert_false(IS_ERR(child));
	page_ref_dec(page);
	expect_one("a page mapped by parent and child lost one mapping's reference",
		   "refcount 1 below its 2 mappings");
	page_ref_dec(page);
	expect_one("refcount 0 under two mappings", "neither free nor referenced");
	page_ref_add(page, 2);
	expect_clean("the damage undone");
	mmput(child);
}

static void test_leaked_frame(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(page);
	expect_one("a frame allocated and forgotten", "reachable from nothing");
	__free_page(page);
	expect_clean("freed");
}

static void test_leaked_frame_with_get_reference(void **state)
{
	unsigned long addr;
	struct page *page = faulted_small_page(&addr);

	(void)state;
	get_page(page);
	unmap(addr, PG(1), "unmap while a FOLL_GET reference holds the page");
	expect_one("an unmapped page held by a plain reference", "reachable from nothing");
	put_page(page);
	expect_clean("the reference dropped");
}

static void test_bad_tail_refcount(void **state)
{
	unsigned long addr = map_thp();
	struct page *head = page_at(current_mm(), addr);

	(void)state;
	assert_true(PageHead(head));
	set_page_count(head + 5, 1);
	expect_one("a THP tail with refcount 1", "tail 5 has refcount 1");
	set_page_count(head + 5, 0);
	expect_clean("undone");
}

static void test_mapcount_disagrees_with_page_tables(void **state)
{
	unsigned long addr;
	struct page *page = faulted_small_page(&addr);

	(void)state;
	atomic_fetch_add(&page->_mapcount, 1);
	get_page(page);
	expect_one("mapcount 2 for one PTE", "mapcount 2, but 1 PTEs map it");
	put_page(page);
	atomic_fetch_sub(&page->_mapcount, 1);
	expect_clean("undone");
}

static void test_compound_mapcount_disagrees(void **state)
{
	unsigned long addr = map_thp();
	struct page *head = page_at(current_mm(), addr);

	(void)state;
	atomic_fetch_add(&head[1].compound_mapcount, 1);
	get_page(head);
	expect_one("compound_mapcount 2 for one PMD", "compound_mapcount 2, but 1 huge leaves");
	put_page(head);
	atomic_fetch_sub(&head[1].compound_mapcount, 1);
	expect_clean("undone");
}

static void test_negative_pincount(void **state)
{
	unsigned long addr = map_thp();
	struct page *head = page_at(current_mm(), addr);

	(void)state;
	atomic_store(pincount_slot(head), -1);
	expect_one("a THP's exact pincount at -1", "exact pincount -1 is negative");
	atomic_store(pincount_slot(head), 0);
	expect_clean("undone");
}

/* The exact count lives in one slot per rule set; a count in the other slot (page[1] under
 * 5.7, page[2] under modern rules) is a violation. */
static void test_pincount_in_unused_slot_57(void **state)
{
	unsigned long addr = map_thp();
	struct page *head = page_at(current_mm(), addr);

	(void)state;
	atomic_store(&head[1]._pincount, 5);
	expect_one("5.7: a count in page[1]._pincount",
		   "a pin count of 5 in page[1], which the 5.7 rules do not use");
	atomic_store(&head[1]._pincount, 0);
	expect_clean("undone");
}

static void test_pincount_in_unused_slot_modern(void **state)
{
	unsigned long addr = map_thp();
	struct page *head = page_at(current_mm(), addr);

	(void)state;
	atomic_store(&head[2].hpage_pinned_refcount, 5);
	expect_one("modern: a count in page[2].hpage_pinned_refcount",
		   "a pin count of 5 in page[2], which the modern rules do not use");
	atomic_store(&head[2].hpage_pinned_refcount, 0);
	expect_clean("undone");
}

static void test_pin_stats_disagree(void **state)
{
	unsigned long addr;
	struct page *page = faulted_small_page(&addr);

	(void)state;
	/* A pin whose nr_foll_pin_acquired was never counted: the bias alone. */
	page_ref_add(page, (int)GUP_PIN_COUNTING_BIAS);
	expect_one_no_page("a pin taken without counting it", "but the counts show 1 pins");
	page_ref_sub(page, (int)GUP_PIN_COUNTING_BIAS);
	mod_node_page_state(NR_FOLL_PIN_ACQUIRED, 1);
	if (pinmm_pin_owner_enabled()) {
		/* PINMM_PIN_OWNER=1: the owners' check sees the counted pin without a record too. */
		expect_violations("a pin counted that no page or owner holds", 2,
				  "but the counts show 0 pins", "the pin owners hold 0 open pin(s)");
	} else {
		expect_one_no_page("a pin counted that no page holds", "but the counts show 0 pins");
	}
	mod_node_page_state(NR_FOLL_PIN_RELEASED, 1);
	expect_clean("undone");
}

static void test_free_list_damage(void **state)
{
	struct zone *zone = pinmm_zone(ZONE_NORMAL);
	struct page *free_head = NULL, *page;

	(void)state;
	pthread_mutex_lock(&zone->lock);
	for (unsigned int o = 0; o < MAX_ORDER && !free_head; o++)
		for (int mt = 0; mt < MIGRATE_TYPES && !free_head; mt++)
			if (!cds_list_empty(&zone->free_area[o].free_list[mt]))
				free_head = cds_list_entry(zone->free_area[o].free_list[mt].next,
							   struct page, lru);
	pthread_mutex_unlock(&zone->lock);
	assert_non_null(free_head);
	set_page_count(free_head, 1);
	expect_one("a free block with refcount 1", "holds a page that is not a free block");
	set_page_count(free_head, 0);
	expect_clean("undone");

	/* A page that claims to be a free block without being on any list. */
	page = alloc_page(GFP_KERNEL);
	assert_non_null(page);
	SetPageReserved(page);
	page->private = 0;
	atomic_store(&page->_mapcount, (int)(~0u & ~PG_buddy));
	expect_one("an allocated page marked PG_buddy", "a free block on no free list");
	atomic_store(&page->_mapcount, -1);
	ClearPageReserved(page);
	__free_page(page);
	expect_clean("undone");
}

static void test_locked_page(void **state)
{
	unsigned long addr;
	struct page *page = faulted_small_page(&addr);

	(void)state;
	lock_page(page);
	expect_one("a page left locked", "locked on a quiescent machine");
	unlock_page(page);
	expect_clean("unlocked");
}

/* PG_longterm lives while the page is pinned: left on an unpinned page, or set on a tail, it is
 * reported. */
static void test_longterm_mark_without_pin(void **state)
{
	unsigned long addr, thp = map_thp();
	struct page *page = faulted_small_page(&addr), *head = page_at(current_mm(), thp), *p;

	(void)state;
	assert_int_equal(pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_LONGTERM, &p), 1);
	page = p; /* under modern rules the pin migrated it out of ZONE_MOVABLE */
	check_true(PageLongterm(page), "PG_longterm after a long-term pin");
	expect_clean("a long-term pinned page");
	unpin_user_page(p);
	check_true(!PageLongterm(page), "PG_longterm after the unpin");
	SetPageLongterm(page);
	expect_one("PG_longterm left on an unpinned page", "PG_longterm on a page that is not pinned");
	ClearPageLongterm(page);
	set_page_bit(PG_longterm, head + 1);
	expect_one("PG_longterm on a THP's tail", "tail 1 carries PG_longterm");
	clear_page_bit(PG_longterm, head + 1);
	expect_clean("the marks cleared");
	unmap(thp, SZ_2M, "THP");
}

static void test_entry_outside_vma(void **state)
{
	unsigned long addr;
	struct page *page = faulted_small_page(&addr);
	struct vm_area_struct *vma = vma_lookup(current_mm(), addr);

	(void)state;
	(void)page;
	vma->vm_end -= PAGE_SIZE; /* the VMA forgets its only page, the PTE stays */
	expect_one_no_page("a PTE outside every VMA", "outside every VMA");
	vma->vm_end += PAGE_SIZE;
	expect_clean("undone");
}

static void test_counters_disagree(void **state)
{
	struct file *file = shmem_file_setup("count", PG(4), 0);
	unsigned long addr;

	(void)state;
	(void)faulted_small_page(&addr);
	assert_false(IS_ERR(file));
	addr = vm_mmap(file, 0, PG(4), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	put_word(addr, 1, "shmem write");

	mod_zone_page_state(pinmm_zone(ZONE_NORMAL), NR_FREE_PAGES, 1);
	expect_one_no_page("nr_free_pages one too high", "but its free lists hold");
	mod_zone_page_state(pinmm_zone(ZONE_NORMAL), NR_FREE_PAGES, -1);

	mod_zone_page_state(pinmm_zone(ZONE_NORMAL), NR_PAGETABLE, 1);
	expect_one_no_page("nr_page_table_pages one too high", "but live mms have");
	mod_zone_page_state(pinmm_zone(ZONE_NORMAL), NR_PAGETABLE, -1);

	atomic_fetch_add(&current_mm()->pgtables_bytes, (long)PAGE_SIZE);
	expect_one("an mm's pgtables_bytes a table too high", "pgtables_bytes");
	atomic_fetch_sub(&current_mm()->pgtables_bytes, (long)PAGE_SIZE);

	atomic_fetch_add(&file->f_mapping->nrpages, 1);
	expect_one_no_page("a page cache's nrpages one too high", "(nrpages) and holds 1");
	atomic_fetch_sub(&file->f_mapping->nrpages, 1);

	atomic_fetch_add(&current_mm()->rss_stat[MM_ANONPAGES], 1);
	expect_one_no_page("an mm's anonymous rss one too high",
			   "rss MM_ANONPAGES 2, but its page tables map 1");
	atomic_fetch_sub(&current_mm()->rss_stat[MM_ANONPAGES], 1);
	atomic_fetch_sub(&current_mm()->rss_stat[MM_SHMEMPAGES], 1);
	expect_one_no_page("an mm's shmem rss one too low",
			   "rss MM_SHMEMPAGES 0, but its page tables map 1");
	atomic_fetch_add(&current_mm()->rss_stat[MM_SHMEMPAGES], 1);

	mod_node_page_state(NR_ANON_MAPPED, 1);
	expect_one_no_page("nr_anon_pages one too high", "nr_anon_pages 2, but the walk found 1");
	mod_node_page_state(NR_ANON_MAPPED, -1);
	mod_node_page_state(NR_FILE_MAPPED, 1);
	expect_one_no_page("nr_mapped one too high", "nr_mapped 2, but the walk found 1");
	mod_node_page_state(NR_FILE_MAPPED, -1);
	mod_node_page_state(NR_ANON_THPS, 1);
	expect_one_no_page("nr_anon_transparent_hugepages one too high",
			   "nr_anon_transparent_hugepages 1, but the walk found 0");
	mod_node_page_state(NR_ANON_THPS, -1);

	mod_node_page_state(NR_SHMEM, -1);
	expect_one_no_page("nr_shmem one too low", "nr_shmem 0, but the walk found 1");
	mod_node_page_state(NR_SHMEM, 1);
	expect_clean("undone");
	unmap(addr, PG(4), "unmap shmem");
	fput(file);
}

/* The debug build's shutdown runs the check (HOOKS=0 leaves it out). */
static void test_shutdown_reports_violations(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	char *log;

	(void)state;
	if (pinmm_fail_set(NULL) == -EOPNOTSUPP)
		skip();
	page_ref_add(page, (int)GUP_PIN_COUNTING_BIAS); /* an uncounted pin */
	/* The teardown of the fixture is replaced: shutdown must fail and say why. */
	kthread_unuse_mm(*state);
	mmput(*state);
	assert_int_equal(pinmm_shutdown(), -EBUSY);
	log = test_log_take();
	if (!strstr(log, "pinmm: check: nr_foll_pin_acquired"))
		test_fail("shutdown with an uncounted pin: log lacks the check's report:\n%s", log);
	free(log);
	test_log_stop();
	assert_int_equal(setup_mm(state), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_booted),
		test_with_mm(test_fresh_machine_is_clean),
		test_with_mm(test_faults_cow_fork_are_clean),
		test_with_mm(test_thp_fork_is_clean),
		test_with_mm(test_pins_are_clean),
		test_with_mm(test_files_are_clean),
		cmocka_unit_test_setup_teardown(test_hugetlb_is_clean, setup_hugetlb, teardown_mm),
		test_with_mm(test_refcount_below_mappings),
		test_with_mm(test_leaked_frame),
		test_with_mm(test_leaked_frame_with_get_reference),
		test_with_mm(test_bad_tail_refcount),
		test_with_mm(test_mapcount_disagrees_with_page_tables),
		test_with_mm(test_compound_mapcount_disagrees),
		test_with_mm(test_negative_pincount),
		test_with_mm_57(test_pincount_in_unused_slot_57),
		test_with_mm_modern(test_pincount_in_unused_slot_modern),
		test_with_mm(test_pin_stats_disagree),
		test_with_mm(test_free_list_damage),
		test_with_mm(test_locked_page),
		test_with_mm(test_longterm_mark_without_pin),
		test_with_mm(test_entry_outside_vma),
		test_with_mm(test_counters_disagree),
		test_with_mm(test_shutdown_reports_violations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
