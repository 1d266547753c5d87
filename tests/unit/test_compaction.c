/* SPDX-License-Identifier: MIT */
/*
 * Compaction (src/vm/compaction.c): a machine fragmented on purpose — every other page of
 * ZONE_NORMAL in use, so no free block of 2 MiB anywhere — compacted gives a 2 MiB block with
 * every byte in place; a pinned page stays and keeps its pageblock from becoming free, under
 * both rule sets, with the reason "pinned"; the /proc/vmstat counters move; a THP allocation
 * that finds no block runs direct compaction and succeeds; bad arguments are refused.
 *
 * The machine: 32 MiB of RAM, all ZONE_NORMAL (no ZONE_MOVABLE, no CMA), THP never, so that
 * every fault takes one 4 KiB page and the two interleaved mappings the tests fault in take
 * alternate frames.
 */
#include <string.h>

#include "gup_conformance.h"

static int setup_small(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 32ULL << 20;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.thp = PINMM_THP_NEVER;
	cfg.rules = rules;
	return boot_with_mm(state, &cfg);
}

static int setup_small_default(void **state)
{
	return setup_small(state, PINMM_RULES_DEFAULT);
}

static int setup_small_57(void **state)
{
	return setup_small(state, PINMM_RULES_5_7);
}

static int setup_small_modern(void **state)
{
	return setup_small(state, PINMM_RULES_MODERN);
}

/* Free blocks of order or more in zone z. */
static unsigned long free_blocks_from(enum zone_type z, unsigned int order)
{
	struct zone *zone = pinmm_zone(z);
	unsigned long n = 0;

	pthread_mutex_lock(&zone->lock);
	for (unsigned int o = order; o < MAX_ORDER; o++)
		n += zone->free_area[o].nr_free;
	pthread_mutex_unlock(&zone->lock);
	return n;
}

static unsigned long word_tag(unsigned long i)
{
	return 0xc0ffee0000000000UL | i;
}

struct fragmented {
	unsigned long addr; /* the mapping that stays: n pages, page i tagged word_tag(i) */
	unsigned long n;
};

/* Fault two mappings in page by page, alternately, until the zone is nearly full, then unmap
 * the second: every other frame is free and no 2 MiB block is. */
static struct fragmented fragment(const char *what)
{
	struct fragmented f;
	unsigned long other;

	/* Leave room for the page tables of both mappings. */
	f.n = (unsigned long)(nr_free() - 96) / 2;
	f.addr = map(0, PG(f.n), RW, ANON, what);
	other = map(0, PG(f.n), RW, ANON, what);
	for (unsigned long i = 0; i < f.n; i++) {
		put_word(f.addr + PG(i), word_tag(i), what);
		put_word(other + PG(i), ~word_tag(i), what);
	}
	unmap(other, PG(f.n), what);
	check_eq(free_blocks_from(ZONE_NORMAL, pageblock_order), 0,
		 "%s setup: free blocks of 2 MiB or more in ZONE_NORMAL after fragmenting", what);
	return f;
}

static void expect_tags_intact(const struct fragmented *f, const char *what)
{
	for (unsigned long i = 0; i < f->n; i++)
		check_eq(get_word(f->addr + PG(i), what), word_tag(i),
			 "%s: the word of page %lu after compaction", what, i);
}

static void test_fragmented_machine_compacts_to_2m_block(void **state)
{
	const char *what = "compact_node() of a machine with every other page in use";
	struct compact_report report = {0};
	unsigned long ms0 = global_vm_event_count(COMPACTMIGRATE_SCANNED);
	unsigned long fs0 = global_vm_event_count(COMPACTFREE_SCANNED);
	unsigned long is0 = global_vm_event_count(COMPACTISOLATED);
	unsigned long mig0 = global_vm_event_count(PGMIGRATE_SUCCESS);
	struct fragmented f;

	(void)state;
	f = fragment(what);
	check_eq(compact_node(0, &report), 0, "%s: return value", what);
	check_true(free_blocks_from(ZONE_NORMAL, pageblock_order) > 0,
		   "%s: a free block of 2 MiB in ZONE_NORMAL afterwards (migrated %lu, failed %lu)",
		   what, report.migrated, report.failed);
	check_true(report.migrated > 0, "%s: pages migrated (found %lu)", what, report.migrated);
	check_eq(global_vm_event_count(PGMIGRATE_SUCCESS) - mig0, report.migrated,
		 "%s: pgmigrate_success counts the pages migrated", what);
	check_eq(global_vm_event_count(COMPACTMIGRATE_SCANNED) - ms0, report.migrate_scanned,
		 "%s: compact_migrate_scanned", what);
	check_eq(global_vm_event_count(COMPACTFREE_SCANNED) - fs0, report.free_scanned,
		 "%s: compact_free_scanned", what);
	check_eq(global_vm_event_count(COMPACTISOLATED) - is0, report.isolated,
		 "%s: compact_isolated", what);
	check_true(report.migrate_scanned > 0 && report.free_scanned > 0,
		   "%s: both scanners ran (migrate %lu, free %lu)", what, report.migrate_scanned,
		   report.free_scanned);
	check_eq(report.failed_by[MIGRATE_FAIL_PINNED], 0, "%s: no page failed as pinned", what);
	expect_tags_intact(&f, what);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
	unmap(f.addr, PG(f.n), what);
}

struct fail_log {
	unsigned long pfn[64];
	enum pinmm_migrate_fail why[64];
	unsigned int n;
};

static void record_fail(unsigned long pfn, enum pinmm_migrate_fail why, void *arg)
{
	struct fail_log *log = arg;

	if (log->n < 64) {
		log->pfn[log->n] = pfn;
		log->why[log->n++] = why;
	}
}

/* A FOLL_PIN (long-term or not) on one page of the fragmented zone: compaction moves every
 * other page of its pageblock and reports that one, pinned; the pageblock never becomes free.
 * Under both rule sets alike: ZONE_NORMAL outside CMA is where a long-term pin may stay. */
static void pinned_page_blocks_pageblock(unsigned int gup_flags)
{
	const char *what = gup_flags & FOLL_LONGTERM ? "compaction around a long-term pinned page"
						     : "compaction around a pinned page";
	struct fail_log log = {0};
	struct compact_report report = {.on_fail = record_fail, .arg = &log};
	struct fragmented f;
	struct page *page, *pinned;
	unsigned long pfn, block, low;
	bool reported = false;

	f = fragment(what);
	/* The mapping's lowest page: the migrate scanner, from the zone's bottom, reaches its
	 * pageblock before the scanners meet. */
	low = 0;
	for (unsigned long i = 1; i < f.n; i++)
		if (page_to_pfn(page_at(current_mm(), f.addr + PG(i))) <
		    page_to_pfn(page_at(current_mm(), f.addr + PG(low))))
			low = i;
	check_eq(pin_locked(f.addr + PG(low), 1, FOLL_WRITE | gup_flags, &pinned), 1,
		 "%s setup: pin_user_pages", what);
	page = page_at(current_mm(), f.addr + PG(low));
	check_ptr(pinned, page, "%s setup: the pinned page is the mapped one", what);
	pfn = page_to_pfn(pinned);
	block = pfn & ~(pageblock_nr_pages - 1);
	check_eq(compact_node(0, &report), 0, "%s: return value", what);
	for (unsigned int i = 0; i < log.n; i++)
		if (log.pfn[i] == pfn) {
			reported = true;
			check_eq(log.why[i], MIGRATE_FAIL_PINNED,
				 "%s: the reason given for pfn %#lx (%s)", what, pfn,
				 pinmm_migrate_fail_name(log.why[i]));
		}
	check_true(reported, "%s: the pinned pfn %#lx is reported (%u failures reported)", what,
		   pfn, log.n);
	check_true(report.failed_by[MIGRATE_FAIL_PINNED] >= 1,
		   "%s: failed_by[pinned] (found %lu)", what, report.failed_by[MIGRATE_FAIL_PINNED]);
	check_true(strcmp(pinmm_migrate_fail_name(MIGRATE_FAIL_PINNED), "pinned") == 0,
		   "%s: the reason's name", what);
	check_ptr(page_at(current_mm(), f.addr + PG(low)), pinned,
		  "%s: the pinned page is still the one mapped (%s rules)", what,
		  pinmm_rules_name(pinmm_rules()));
	/* Its pageblock keeps the pinned page; some other pageblock became free. */
	check_true(page_ref_count(pfn_to_page(block)) != 0 || !PageBuddy(pfn_to_page(block)) ||
			   pfn_to_page(block)->private < pageblock_order,
		   "%s: pageblock %#lx (holding the pin) is not one free block", what, block);
	check_true(free_blocks_from(ZONE_NORMAL, pageblock_order) > 0,
		   "%s: other pageblocks became free", what);
	expect_tags_intact(&f, what);
	unpin_user_page(pinned);
	check_eq(pinmm_check_invariants(), 0, "%s: pinmm_check_invariants()", what);
	unmap(f.addr, PG(f.n), what);
}

static void test_pinned_page_blocks_its_pageblock(void **state)
{
	(void)state;
	pinned_page_blocks_pageblock(0);
}

static void test_longterm_pinned_page_blocks_its_pageblock(void **state)
{
	(void)state;
	pinned_page_blocks_pageblock(FOLL_LONGTERM);
}

/* A THP allocation (GFP_TRANSHUGE may enter direct reclaim) that finds no 2 MiB block compacts
 * and gets one: compact_stall and compact_success count it. */
static void test_high_order_failure_triggers_compaction(void **state)
{
	const char *what = "alloc_pages(GFP_TRANSHUGE, 9) on a fragmented machine";
	unsigned long stall0 = global_vm_event_count(COMPACTSTALL);
	unsigned long ok0 = global_vm_event_count(COMPACTSUCCESS);
	unsigned long fail0 = global_vm_event_count(COMPACTFAIL);
	struct fragmented f;
	struct page *page;

	(void)state;
	f = fragment(what);
	/* Without __GFP_DIRECT_RECLAIM no compaction runs and the allocation fails. */
	page = alloc_pages(GFP_TRANSHUGE_LIGHT, HPAGE_PMD_ORDER);
	check_ptr(page, NULL, "%s: GFP_TRANSHUGE_LIGHT (no direct compaction) fails", what);
	check_eq(global_vm_event_count(COMPACTSTALL), stall0, "%s: no stall without reclaim", what);
	page = alloc_pages(GFP_TRANSHUGE, HPAGE_PMD_ORDER);
	check_true(page != NULL, "%s: the allocation succeeds after direct compaction", what);
	check_eq(global_vm_event_count(COMPACTSTALL) - stall0, 1, "%s: compact_stall", what);
	check_eq(global_vm_event_count(COMPACTSUCCESS) - ok0, 1, "%s: compact_success", what);
	check_eq(global_vm_event_count(COMPACTFAIL) - fail0, 0, "%s: compact_fail", what);
	put_page(page);
	expect_tags_intact(&f, what);
	unmap(f.addr, PG(f.n), what);
}

/* Direct compaction that cannot make a block (every pageblock keeps a pinned page) counts
 * compact_fail and the allocation fails. */
static void test_direct_compaction_failure_counts_fail(void **state)
{
	const char *what = "alloc_pages(GFP_TRANSHUGE, 9) with a pin in every pageblock";
	struct fragmented f;
	struct page **pins;
	unsigned long stall0, fail0, nr_pins = 0;

	(void)state;
	f = fragment(what);
	pins = calloc(f.n, sizeof(*pins));
	assert_non_null(pins);
	/* Pin one page in every 128 (a pageblock holds 256 of the mapping's pages). */
	for (unsigned long i = 0; i < f.n; i += 128)
		check_eq(pin_locked(f.addr + PG(i), 1, FOLL_WRITE, &pins[nr_pins++]), 1,
			 "%s setup: pin page %lu", what, i);
	stall0 = global_vm_event_count(COMPACTSTALL);
	fail0 = global_vm_event_count(COMPACTFAIL);
	check_ptr(alloc_pages(GFP_TRANSHUGE, HPAGE_PMD_ORDER), NULL, "%s: no block", what);
	check_eq(global_vm_event_count(COMPACTSTALL) - stall0, 1, "%s: compact_stall", what);
	check_eq(global_vm_event_count(COMPACTFAIL) - fail0, 1, "%s: compact_fail", what);
	for (unsigned long i = 0; i < nr_pins; i++)
		unpin_user_page(pins[i]);
	free(pins);
	expect_tags_intact(&f, what);
	unmap(f.addr, PG(f.n), what);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	check_eq(compact_node(1, NULL), -EINVAL, "compact_node(1): only node 0 exists");
	check_eq(compact_node(-1, NULL), -EINVAL, "compact_node(-1)");
	check_eq(compact_zone_order(ZONE_DEVICE, -1, MIGRATE_SYNC, NULL), -EINVAL,
		 "compact_zone_order(ZONE_DEVICE)");
	check_eq(compact_zone_order(ZONE_NORMAL, MAX_ORDER, MIGRATE_SYNC, NULL), -EINVAL,
		 "compact_zone_order(order MAX_ORDER)");
	check_eq(compact_zone_order(ZONE_NORMAL, -2, MIGRATE_SYNC, NULL), -EINVAL,
		 "compact_zone_order(order -2)");
	check_eq(compact_zone_order(ZONE_NORMAL, 0, (enum migrate_mode)7, NULL), -EINVAL,
		 "compact_zone_order(mode 7)");
	check_eq(compact_zone_order(ZONE_MOVABLE, 3, MIGRATE_SYNC, NULL), 0,
		 "compact_zone_order(ZONE_MOVABLE) of a machine without one: no block");
	check_eq(compact_memory(), 0, "compact_memory() of an idle machine");
	check_true(pinmm_migrate_fail_name(NR_MIGRATE_FAIL) == NULL,
		   "pinmm_migrate_fail_name(NR_MIGRATE_FAIL) is NULL");
}

static void test_not_booted(void **state)
{
	(void)state;
	check_eq(compact_memory(), -ENODEV, "compact_memory() without a machine");
	check_eq(compact_node(0, NULL), -ENODEV, "compact_node(0) without a machine");
	check_eq(compact_zone_order(ZONE_NORMAL, 9, MIGRATE_SYNC, NULL), -ENODEV,
		 "compact_zone_order() without a machine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fragmented_machine_compacts_to_2m_block,
						setup_small_default, teardown_mm),
		cmocka_unit_test_setup_teardown(test_pinned_page_blocks_its_pageblock,
						setup_small_57, teardown_mm),
		cmocka_unit_test_setup_teardown(test_pinned_page_blocks_its_pageblock,
						setup_small_modern, teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_pinned_page_blocks_its_pageblock,
						setup_small_57, teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_pinned_page_blocks_its_pageblock,
						setup_small_modern, teardown_mm),
		cmocka_unit_test_setup_teardown(test_high_order_failure_triggers_compaction,
						setup_small_default, teardown_mm),
		cmocka_unit_test_setup_teardown(test_direct_compaction_failure_counts_fail,
						setup_small_default, teardown_mm),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup_small_default,
						teardown_mm),
		cmocka_unit_test(test_not_booted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
