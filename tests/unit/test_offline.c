/* SPDX-License-Identifier: MIT */
/*
 * Memory offlining (src/vm/memory_hotplug.c): offline_pages() of ZONE_MOVABLE migrates the
 * pages there out and takes the zone out of nr_free_pages; online_pages() gives it back. A
 * long-term pin blocks it under 5.7, where FOLL_LONGTERM pins ZONE_MOVABLE pages in place, and
 * not under modern rules, where the pin migrated the page to ZONE_NORMAL first (5.13,
 * d1e153fea2a8); a short-term pin blocks it under both, named on the log stream with the
 * reason, and the range is left online. Bad ranges are refused with nothing changed.
 * alloc_contig_range() empties a range the same way and takes it.
 *
 * The machine: 64 MiB of RAM, 16 MiB of it ZONE_MOVABLE and 8 MiB CMA, THP never.
 */
#include <string.h>

#include "gup_conformance.h"

#define MOVABLE_BYTES (16UL << 20)
#define CMA_BYTES (8UL << 20)

static int setup_small(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	cfg.movable_bytes = MOVABLE_BYTES;
	cfg.cma_bytes = CMA_BYTES;
	cfg.thp = PINMM_THP_NEVER;
	cfg.rules = rules;
	return boot_with_mm(state, &cfg);
}

static int setup_default(void **state)
{
	return setup_small(state, PINMM_RULES_DEFAULT);
}

static int setup_57(void **state)
{
	return setup_small(state, PINMM_RULES_5_7);
}

static int setup_modern(void **state)
{
	return setup_small(state, PINMM_RULES_MODERN);
}

static bool modern(void)
{
	return pinmm_rules() == PINMM_RULES_MODERN;
}

static unsigned long movable_start(void)
{
	return pinmm_zone(ZONE_MOVABLE)->zone_start_pfn;
}

static unsigned long movable_pages(void)
{
	return pinmm_zone(ZONE_MOVABLE)->spanned_pages;
}

static long movable_free(void)
{
	return zone_page_state(pinmm_zone(ZONE_MOVABLE), NR_FREE_PAGES);
}

/* n pages of anonymous memory faulted in, page i holding i + tag; they land in ZONE_MOVABLE
 * (the first zone a user page comes from). */
static unsigned long fault_tagged(unsigned long n, unsigned long tag, const char *what)
{
	unsigned long addr = map(0, PG(n), RW, ANON, what);

	for (unsigned long i = 0; i < n; i++)
		put_word(addr + PG(i), tag + i, what);
	return addr;
}

static void expect_tagged(unsigned long addr, unsigned long n, unsigned long tag,
			  const char *what)
{
	for (unsigned long i = 0; i < n; i++)
		check_eq(get_word(addr + PG(i), what), tag + i, "%s: the word of page %lu", what, i);
}

static void test_offline_movable_and_online(void **state)
{
	const char *what = "offline_pages() of ZONE_MOVABLE holding 1024 anonymous pages";
	struct mm_struct *mm = current_mm();
	unsigned long addr, after;

	(void)state;
	addr = fault_tagged(1024, 0x5000, what);
	check_true(page_zonenum(page_at(mm, addr)) == ZONE_MOVABLE,
		   "%s setup: the pages are in ZONE_MOVABLE", what);
	check_eq(offline_pages(movable_start(), movable_pages()), 0, "%s: return value", what);
	for (unsigned long i = 0; i < 1024; i++)
		check_true(page_zonenum(page_at(mm, addr + PG(i))) == ZONE_NORMAL,
			   "%s: page %lu migrated to ZONE_NORMAL", what, i);
	expect_tagged(addr, 1024, 0x5000, what);
	check_eq(movable_free(), 0, "%s: ZONE_MOVABLE's nr_free_pages", what);
	check_true(pageblock_offline(movable_start()), "%s: the range is offline", what);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants() offline", what);
	/* Nothing is allocated from an offline range. */
	after = fault_tagged(16, 0x6000, what);
	check_true(page_zonenum(page_at(mm, after)) != ZONE_MOVABLE,
		   "%s: a fault while offline does not land in ZONE_MOVABLE", what);
	check_eq(online_pages(movable_start(), movable_pages()), 0, "%s: online_pages()", what);
	check_eq(movable_free(), (long)movable_pages(), "%s: online: ZONE_MOVABLE all free", what);
	check_true(!is_migrate_isolate_pfn(movable_start()), "%s: online: not isolated", what);
	check_eq(online_pages(movable_start(), movable_pages()), -EINVAL,
		 "%s: online_pages() of an online range", what);
	unmap(addr, PG(1024), what);
	unmap(after, PG(16), what);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
}

/* One page pinned with flags in ZONE_MOVABLE (where its fault put it), then offline. */
static void pinned_offline(unsigned int flags, bool expect_blocked)
{
	const char *what = flags & FOLL_LONGTERM ? "offline_pages() of ZONE_MOVABLE with a "
						   "long-term pinned page"
						 : "offline_pages() of ZONE_MOVABLE with a pinned page";
	struct mm_struct *mm = current_mm();
	unsigned long addr = fault_tagged(64, 0x7000, what);
	struct page *pinned;
	long free_movable;
	char *log;
	int ret;

	check_eq(pin_locked(addr + PG(5), 1, FOLL_WRITE | flags, &pinned), 1,
		 "%s setup: pin_user_pages", what);
	free_movable = movable_free();
	test_log_start();
	ret = offline_pages(movable_start(), movable_pages());
	log = test_log_take();
	if (expect_blocked) {
		char want[96];

		check_eq(ret, -EBUSY, "%s (%s rules): return value", what,
			 pinmm_rules_name(pinmm_rules()));
		snprintf(want, sizeof(want), "offline_pages: pfn %#lx blocks", page_to_pfn(pinned));
		check_true(strstr(log, want) != NULL, "%s: the log names the pinned pfn (\"%s\"): %s",
			   what, want, log);
		check_true(strstr(log, ": pinned\n") != NULL, "%s: the log says pinned: %s", what,
			   log);
		check_true(strstr(log, "page dumped because: pinned") != NULL,
			   "%s: the blocker is dumped: %s", what, log);
		check_true(!is_migrate_isolate_pfn(movable_start()) &&
				   !pageblock_offline(movable_start()),
			   "%s: the range is online and not isolated after the failure", what);
		check_eq(movable_free(), free_movable + 63,
			 "%s: ZONE_MOVABLE's free pages: as before, plus the 63 unpinned pages that "
			 "moved out", what);
	} else {
		check_eq(ret, 0, "%s (%s rules): return value", what,
			 pinmm_rules_name(pinmm_rules()));
		check_true(page_zonenum(pinned) == ZONE_NORMAL && !is_migrate_cma_page(pinned),
			   "%s: the pinned page is in ZONE_NORMAL outside CMA", what);
		check_eq(online_pages(movable_start(), movable_pages()), 0, "%s: online", what);
	}
	free(log);
	check_ptr(page_at(mm, addr + PG(5)), pinned, "%s: the pinned page is still mapped", what);
	expect_tagged(addr, 64, 0x7000, what);
	unpin_user_page(pinned);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
	/* Once unpinned, offlining works under both rule sets. */
	check_eq(offline_pages(movable_start(), movable_pages()), 0, "%s: after unpin", what);
	check_eq(online_pages(movable_start(), movable_pages()), 0, "%s: online", what);
	unmap(addr, PG(64), what);
}

static void test_longterm_pin_blocks_offline_under_57_only(void **state)
{
	(void)state;
	pinned_offline(FOLL_LONGTERM, !modern());
}

static void test_short_term_pin_blocks_offline(void **state)
{
	(void)state;
	pinned_offline(0, true);
}

static void test_offline_cma(void **state)
{
	const char *what = "offline_pages() of the CMA area";
	struct zone *normal;
	long free0 = nr_free();

	(void)state;
	normal = pinmm_zone(ZONE_NORMAL);
	check_eq(offline_pages(normal->cma_start_pfn, normal->cma_end_pfn - normal->cma_start_pfn),
		 0, "%s: return value", what);
	check_eq(global_zone_page_state(NR_FREE_CMA_PAGES), 0, "%s: nr_free_cma", what);
	check_eq(nr_free(), free0 - (long)(CMA_BYTES >> PAGE_SHIFT), "%s: nr_free_pages", what);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
	check_eq(online_pages(normal->cma_start_pfn, normal->cma_end_pfn - normal->cma_start_pfn),
		 0, "%s: online_pages()", what);
	check_eq(nr_free(), free0, "%s: online: nr_free_pages", what);
}

static void test_bad_ranges(void **state)
{
	unsigned long block = memory_block_size_bytes() >> PAGE_SHIFT;
	unsigned long max = pinmm_machine_config()->ram_bytes >> PAGE_SHIFT;
	long free0 = nr_free();

	(void)state;
	check_eq(memory_block_size_bytes(), 4UL << 20, "memory_block_size_bytes()");
	check_eq(offline_pages(movable_start(), 0), -EINVAL, "offline_pages() of 0 pages");
	check_eq(offline_pages(movable_start() + 1, block), -EINVAL, "offline_pages(): start not "
								   "aligned");
	check_eq(offline_pages(movable_start(), block + 1), -EINVAL, "offline_pages(): size not "
								   "aligned");
	check_eq(offline_pages(0, block), -EINVAL, "offline_pages() of ZONE_NORMAL");
	check_eq(offline_pages(pinmm_zone(ZONE_NORMAL)->cma_start_pfn - block, 2 * block), -EINVAL,
		 "offline_pages() across the CMA area's start");
	check_eq(offline_pages(max, block), -ERANGE, "offline_pages() past RAM");
	check_eq(offline_pages(movable_start(), movable_pages() + block), -ERANGE,
		 "offline_pages() running past RAM");
	check_eq(online_pages(movable_start(), block), -EINVAL, "online_pages() of online memory");
	check_eq(online_pages(0, block), -EINVAL, "online_pages() of ZONE_NORMAL");
	check_eq(nr_free(), free0, "the refused calls changed nothing");
	check_true(!is_migrate_isolate_pfn(movable_start()), "nothing isolated");
	/* Offline twice: the second is refused while the first holds. */
	check_eq(offline_pages(movable_start(), block), 0, "offline one block");
	check_eq(offline_pages(movable_start(), block), -EBUSY, "offline an offline block");
	check_eq(online_pages(movable_start(), block), 0, "online it");
}

/*
 * Page-cache pages nobody maps move too (Linux migrates any page on the LRU): a memfd's 64
 * pages, written through a shared mapping that is gone again, leave ZONE_MOVABLE when it goes
 * offline, and read back through a new mapping from ZONE_NORMAL.
 */
static void test_offline_migrates_unmapped_cache_pages(void **state)
{
	enum { N = 64 };
	const char *what = "offline_pages() of ZONE_MOVABLE holding 64 unmapped memfd pages";
	struct mm_struct *mm = current_mm();
	struct file *f = memfd_file_create("cache", 0);
	unsigned long addr, pfns[N];

	(void)state;
	assert_false(IS_ERR(f));
	assert_int_equal(vfs_truncate(f, (loff_t)PG(N)), 0);
	addr = vm_mmap(f, 0, PG(N), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	for (unsigned long i = 0; i < N; i++) {
		put_word(addr + PG(i), 0x7700 + i, what);
		pfns[i] = page_to_pfn(page_at(mm, addr + PG(i)));
		check_true(page_zonenum(pfn_to_page(pfns[i])) == ZONE_MOVABLE,
			   "%s setup: page %lu in ZONE_MOVABLE", what, i);
	}
	unmap(addr, PG(N), what);
	check_eq(offline_pages(movable_start(), movable_pages()), 0, "%s: return value", what);
	addr = vm_mmap(f, 0, PG(N), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	for (unsigned long i = 0; i < N; i++) {
		struct page *page;

		check_eq(get_word(addr + PG(i), what), 0x7700 + i, "%s: the word of page %lu", what,
			 i);
		page = page_at(mm, addr + PG(i));
		check_true(page_zonenum(page) == ZONE_NORMAL && page_to_pfn(page) != pfns[i],
			   "%s: page %lu moved to ZONE_NORMAL", what, i);
	}
	check_eq(online_pages(movable_start(), movable_pages()), 0, "%s: online_pages()", what);
	unmap(addr, PG(N), what);
	fput(f);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
}

static void test_alloc_contig_range_migrates(void **state)
{
	const char *what = "alloc_contig_range() of ZONE_MOVABLE's first 4 MiB";
	unsigned long addr = fault_tagged(256, 0x9000, what);
	unsigned long start = movable_start(), nr = MAX_ORDER_NR_PAGES;
	struct mm_struct *mm = current_mm();
	struct page *pinned;

	(void)state;
	check_eq(alloc_contig_range(start, start + nr), 0, "%s: return value", what);
	for (unsigned long i = 0; i < 256; i++) {
		unsigned long pfn = page_to_pfn(page_at(mm, addr + PG(i)));

		check_true(pfn < start || pfn >= start + nr, "%s: page %lu left the range", what, i);
	}
	expect_tagged(addr, 256, 0x9000, what);
	check_eq(page_ref_count(pfn_to_page(start)), 1, "%s: the range's first page", what);
	free_contig_range(start, nr);
	check_eq(alloc_contig_range(start, start + nr - 1), -EINVAL, "%s: a bad range", what);
	/* A pinned page keeps the range. */
	check_eq(pin_locked(addr, 1, FOLL_WRITE, &pinned), 1, "%s: pin", what);
	{
		unsigned long p = page_to_pfn(pinned) & ~(nr - 1);

		check_eq(alloc_contig_range(p, p + nr), -EBUSY, "%s: with a pin inside", what);
		check_true(!is_migrate_isolate_pfn(p), "%s: the failed range is not isolated",
			   what);
	}
	unpin_user_page(pinned);
	unmap(addr, PG(256), what);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
}

static void test_not_booted(void **state)
{
	(void)state;
	check_eq(offline_pages(0, 1024), -ENODEV, "offline_pages() without a machine");
	check_eq(online_pages(0, 1024), -ENODEV, "online_pages() without a machine");
	check_eq(alloc_contig_range(0, 1024), -ENODEV, "alloc_contig_range() without a machine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offline_movable_and_online, setup_default,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_pin_blocks_offline_under_57_only,
						setup_57, teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_pin_blocks_offline_under_57_only,
						setup_modern, teardown_mm),
		cmocka_unit_test_setup_teardown(test_short_term_pin_blocks_offline, setup_57,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_short_term_pin_blocks_offline, setup_modern,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_offline_cma, setup_default, teardown_mm),
		cmocka_unit_test_setup_teardown(test_bad_ranges, setup_default, teardown_mm),
		cmocka_unit_test_setup_teardown(test_alloc_contig_range_migrates, setup_default,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_offline_migrates_unmapped_cache_pages,
						setup_default, teardown_mm),
		cmocka_unit_test(test_not_booted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
