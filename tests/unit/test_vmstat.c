/* SPDX-License-Identifier: MIT */
/*
 * vmstat (vmstat.h): Linux 5.7's /proc/vmstat names for every item, and their relative order
 * in Linux's vmstat_text; out-of-range items (NULL names, 0 with a WARN); counting from the
 * main thread and from short-lived threads that exit (all summed, live or exited); counters
 * restarting at zero on the next boot; pinmm_vmstat_print() ("name value" lines, zone items,
 * node items, events, values as the readers give them; -EINVAL for NULL); nr_free_pages after
 * boot = RAM pages - hugetlb pool pages - the zero page, and the allocator's events.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "test_mm_util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_names_match_linux(void **state)
{
	static const struct {
		enum zone_stat_item item;
		const char *name;
	} zone[] = {
		{NR_FREE_PAGES, "nr_free_pages"},
		{NR_PAGETABLE, "nr_page_table_pages"},
		{NR_FREE_CMA_PAGES, "nr_free_cma"},
	};
	static const struct {
		enum node_stat_item item;
		const char *name;
	} node[] = {
		{NR_INACTIVE_ANON, "nr_inactive_anon"},
		{NR_ACTIVE_ANON, "nr_active_anon"},
		{NR_INACTIVE_FILE, "nr_inactive_file"},
		{NR_ACTIVE_FILE, "nr_active_file"},
		{NR_UNEVICTABLE, "nr_unevictable"},
		{NR_ISOLATED_ANON, "nr_isolated_anon"},
		{NR_ISOLATED_FILE, "nr_isolated_file"},
		{NR_FILE_PAGES, "nr_file_pages"},
		{NR_FILE_MAPPED, "nr_mapped"},
		{NR_ANON_MAPPED, "nr_anon_pages"},
		{NR_FILE_DIRTY, "nr_dirty"},
		{NR_WRITEBACK, "nr_writeback"},
		{NR_SHMEM, "nr_shmem"},
		{NR_ANON_THPS, "nr_anon_transparent_hugepages"},
		{NR_DIRTIED, "nr_dirtied"},
		{NR_WRITTEN, "nr_written"},
		{NR_FOLL_PIN_ACQUIRED, "nr_foll_pin_acquired"},
		{NR_FOLL_PIN_RELEASED, "nr_foll_pin_released"},
	};
	static const struct {
		enum vm_event_item item;
		const char *name;
	} event[] = {
		{PSWPIN, "pswpin"},
		{PSWPOUT, "pswpout"},
		{PGALLOC_NORMAL, "pgalloc_normal"},
		{PGALLOC_MOVABLE, "pgalloc_movable"},
		{ALLOCSTALL_NORMAL, "allocstall_normal"},
		{ALLOCSTALL_MOVABLE, "allocstall_movable"},
		{PGFREE, "pgfree"},
		{PGACTIVATE, "pgactivate"},
		{PGDEACTIVATE, "pgdeactivate"},
		{PGFAULT, "pgfault"},
		{PGMAJFAULT, "pgmajfault"},
		{PGREFILL, "pgrefill"},
		{PGSTEAL_KSWAPD, "pgsteal_kswapd"},
		{PGSTEAL_DIRECT, "pgsteal_direct"},
		{PGSCAN_KSWAPD, "pgscan_kswapd"},
		{PGSCAN_DIRECT, "pgscan_direct"},
		{KSWAPD_LOW_WMARK_HIT_QUICKLY, "kswapd_low_wmark_hit_quickly"},
		{KSWAPD_HIGH_WMARK_HIT_QUICKLY, "kswapd_high_wmark_hit_quickly"},
		{PAGEOUTRUN, "pageoutrun"},
		{PGROTATED, "pgrotated"},
		{OOM_KILL, "oom_kill"},
		{PGMIGRATE_SUCCESS, "pgmigrate_success"},
		{PGMIGRATE_FAIL, "pgmigrate_fail"},
		{COMPACTMIGRATE_SCANNED, "compact_migrate_scanned"},
		{COMPACTFREE_SCANNED, "compact_free_scanned"},
		{COMPACTISOLATED, "compact_isolated"},
		{COMPACTSTALL, "compact_stall"},
		{COMPACTFAIL, "compact_fail"},
		{COMPACTSUCCESS, "compact_success"},
		{THP_FAULT_ALLOC, "thp_fault_alloc"},
		{THP_FAULT_FALLBACK, "thp_fault_fallback"},
		{THP_COLLAPSE_ALLOC, "thp_collapse_alloc"},
		{THP_COLLAPSE_ALLOC_FAILED, "thp_collapse_alloc_failed"},
		{THP_SPLIT_PAGE, "thp_split_page"},
		{THP_SPLIT_PMD, "thp_split_pmd"},
		{HTLB_BUDDY_PGALLOC, "htlb_buddy_alloc_success"},
		{HTLB_BUDDY_PGALLOC_FAIL, "htlb_buddy_alloc_fail"},
	};

	(void)state;
	check_eq(ARRAY_LEN(zone), NR_VM_ZONE_STAT_ITEMS, "every zone item has a name to check");
	check_eq(ARRAY_LEN(node), NR_VM_NODE_STAT_ITEMS, "every node item has a name to check");
	check_eq(ARRAY_LEN(event), NR_VM_EVENT_ITEMS, "every event has a name to check");
	for (unsigned int i = 0; i < ARRAY_LEN(zone); i++) {
		assert_non_null(zone_stat_name(zone[i].item));
		assert_string_equal(zone_stat_name(zone[i].item), zone[i].name);
	}
	for (unsigned int i = 0; i < ARRAY_LEN(node); i++) {
		assert_non_null(node_stat_name(node[i].item));
		assert_string_equal(node_stat_name(node[i].item), node[i].name);
	}
	for (unsigned int i = 0; i < ARRAY_LEN(event); i++) {
		assert_non_null(vm_event_name(event[i].item));
		assert_string_equal(vm_event_name(event[i].item), event[i].name);
	}
}

static void test_out_of_range_names(void **state)
{
	(void)state;
	assert_null(zone_stat_name(NR_VM_ZONE_STAT_ITEMS));
	assert_null(zone_stat_name((enum zone_stat_item)-1));
	assert_null(node_stat_name(NR_VM_NODE_STAT_ITEMS));
	assert_null(node_stat_name((enum node_stat_item)-1));
	assert_null(vm_event_name(NR_VM_EVENT_ITEMS));
	assert_null(vm_event_name((enum vm_event_item)1000));
}

/* Call `expr` (an out-of-range read or write) and check that it WARNed exactly once. */
#define expect_one_warn(expr, what)                                                                \
	do {                                                                                       \
		unsigned long w__ = pinmm_warn_count();                                            \
		expr;                                                                              \
		check_eq(pinmm_warn_count(), w__ + 1, "%s must WARN", what);                       \
		free(test_log_take());                                                             \
	} while (0)

/* Reads of items outside their enums are 0 with a WARN; writes WARN and change nothing. */
static void test_out_of_range_items_warn(void **state)
{
	struct zone *normal = pinmm_zone(ZONE_NORMAL);
	struct zone not_a_zone;
	long free_pages = global_zone_page_state(NR_FREE_PAGES);
	long dirtied = global_node_page_state(NR_DIRTIED);
	unsigned long faults = global_vm_event_count(PGFAULT);
	long r = -1;

	(void)state;
	assert_non_null(normal);
	memset(&not_a_zone, 0, sizeof(not_a_zone));
	expect_one_warn(r = global_zone_page_state(NR_VM_ZONE_STAT_ITEMS),
			"global_zone_page_state(NR_VM_ZONE_STAT_ITEMS)");
	check_eq(r, 0, "global_zone_page_state of an out-of-range item");
	expect_one_warn(r = zone_page_state(normal, (enum zone_stat_item)7),
			"zone_page_state(zone, 7)");
	check_eq(r, 0, "zone_page_state of an out-of-range item");
	expect_one_warn(r = global_node_page_state(NR_VM_NODE_STAT_ITEMS),
			"global_node_page_state(NR_VM_NODE_STAT_ITEMS)");
	check_eq(r, 0, "global_node_page_state of an out-of-range item");
	expect_one_warn(r = (long)global_vm_event_count(NR_VM_EVENT_ITEMS),
			"global_vm_event_count(NR_VM_EVENT_ITEMS)");
	check_eq(r, 0, "global_vm_event_count of an out-of-range item");

	expect_one_warn(mod_zone_page_state(&not_a_zone, NR_FREE_PAGES, 100),
			"mod_zone_page_state on a zone that is not the machine's");
	expect_one_warn(mod_node_page_state(NR_VM_NODE_STAT_ITEMS, 100),
			"mod_node_page_state(NR_VM_NODE_STAT_ITEMS)");
	expect_one_warn(count_vm_events(NR_VM_EVENT_ITEMS, 100),
			"count_vm_events(NR_VM_EVENT_ITEMS)");
	check_eq(global_zone_page_state(NR_FREE_PAGES), free_pages,
		 "an out-of-range write must not change nr_free_pages");
	check_eq(global_node_page_state(NR_DIRTIED), dirtied,
		 "an out-of-range write must not change nr_dirtied");
	check_eq(global_vm_event_count(PGFAULT), faults,
		 "an out-of-range write must not change pgfault");
}

/*
 * The only frame boot takes outside the hugetlb pools is the shared zero page (fault.h),
 * allocated from ZONE_NORMAL outside CMA. (Linux's empty_zero_page is part of the kernel
 * image and never comes from the buddy allocator; pinmm allocates it, so it shows in
 * nr_free_pages and pgalloc_normal.)
 */
#define BOOT_ZERO_PAGE_FRAMES 1

static void check_boot_zero_page(void)
{
	struct page *zero = ZERO_PAGE(0);

	if (!zero)
		fail_msg("the booted machine has no zero page");
	check_eq(PageReserved(zero), true, "the zero page is PG_reserved");
	check_eq(page_ref_count(zero) >= 1, true, "the zero page is allocated");
	check_eq(page_zonenum(zero), ZONE_NORMAL, "the zero page comes from ZONE_NORMAL");
	check_eq(is_migrate_cma_page(zero), false, "the zero page is not in CMA");
}

#define COUNTING_THREADS 8

struct counting {
	pthread_barrier_t counted; /* every thread has counted; main reads the live sum */
	pthread_barrier_t release; /* main has read; threads exit */
};

struct counting_arg {
	struct counting *c;
	long id;
};

static void *count_and_exit(void *p)
{
	struct counting_arg *a = p;

	mod_node_page_state(NR_DIRTIED, (a->id + 1) * 100);
	mod_node_page_state(NR_FOLL_PIN_ACQUIRED, 3);
	for (int i = 0; i < 1000; i++)
		count_vm_event(PGFAULT);
	count_vm_events(THP_FAULT_ALLOC, a->id);
	mod_zone_page_state(pinmm_zone(ZONE_MOVABLE), NR_PAGETABLE, 2);
	pthread_barrier_wait(&a->c->counted);
	pthread_barrier_wait(&a->c->release);
	return NULL;
}

/* Counts from the main thread and from threads, read while they live and after they exit. */
static void test_counts_from_threads_are_summed(void **state)
{
	struct counting c;
	struct counting_arg args[COUNTING_THREADS];
	pthread_t t[COUNTING_THREADS];
	long dirtied = global_node_page_state(NR_DIRTIED);
	long pins = global_node_page_state(NR_FOLL_PIN_ACQUIRED);
	unsigned long faults = global_vm_event_count(PGFAULT);
	unsigned long thp = global_vm_event_count(THP_FAULT_ALLOC);
	long pagetable = zone_page_state(pinmm_zone(ZONE_MOVABLE), NR_PAGETABLE);
	long normal_pagetable = zone_page_state(pinmm_zone(ZONE_NORMAL), NR_PAGETABLE);
	long want_dirtied = 7, want_thp = 0;

	(void)state;
	mod_node_page_state(NR_DIRTIED, 7);
	count_vm_events(PGFAULT, 5);
	for (long i = 0; i < COUNTING_THREADS; i++) {
		want_dirtied += (i + 1) * 100;
		want_thp += i;
	}
	assert_int_equal(pthread_barrier_init(&c.counted, NULL, COUNTING_THREADS + 1), 0);
	assert_int_equal(pthread_barrier_init(&c.release, NULL, COUNTING_THREADS + 1), 0);
	for (int i = 0; i < COUNTING_THREADS; i++) {
		args[i] = (struct counting_arg){&c, i};
		assert_int_equal(pthread_create(&t[i], NULL, count_and_exit, &args[i]), 0);
	}
	pthread_barrier_wait(&c.counted);
	for (int pass = 0; pass < 2; pass++) {
		const char *when = pass ? "after the threads exited" : "while the threads live";

		check_eq(global_node_page_state(NR_DIRTIED), dirtied + want_dirtied,
			 "nr_dirtied: main 7 + threads 100..800, %s", when);
		check_eq(global_node_page_state(NR_FOLL_PIN_ACQUIRED),
			 pins + 3 * COUNTING_THREADS, "nr_foll_pin_acquired, %s", when);
		check_eq(global_vm_event_count(PGFAULT), faults + 5 + 1000 * COUNTING_THREADS,
			 "pgfault: main 5 + %d threads x 1000, %s", COUNTING_THREADS, when);
		check_eq(global_vm_event_count(THP_FAULT_ALLOC), thp + want_thp,
			 "thp_fault_alloc, %s", when);
		check_eq(zone_page_state(pinmm_zone(ZONE_MOVABLE), NR_PAGETABLE),
			 pagetable + 2 * COUNTING_THREADS, "Movable nr_page_table_pages, %s", when);
		check_eq(zone_page_state(pinmm_zone(ZONE_NORMAL), NR_PAGETABLE), normal_pagetable,
			 "Normal nr_page_table_pages (nobody counted there), %s", when);
		if (pass == 0) {
			pthread_barrier_wait(&c.release);
			for (int i = 0; i < COUNTING_THREADS; i++)
				assert_int_equal(pthread_join(t[i], NULL), 0);
		}
	}
	pthread_barrier_destroy(&c.counted);
	pthread_barrier_destroy(&c.release);
	mod_zone_page_state(pinmm_zone(ZONE_MOVABLE), NR_PAGETABLE, -2 * COUNTING_THREADS);
	/* The threads counted pins nobody took: release them too, or shutdown reports
	 * nr_foll_pin_acquired != nr_foll_pin_released. */
	mod_node_page_state(NR_FOLL_PIN_RELEASED, 3 * COUNTING_THREADS);
}

static void *count_once(void *arg)
{
	(void)arg;
	count_vm_events(PGMAJFAULT, 11);
	mod_node_page_state(NR_WRITTEN, 13);
	return NULL;
}

static void test_counters_restart_at_boot(void **state)
{
	pthread_t t;

	(void)state;
	count_vm_events(PGMAJFAULT, 5);
	mod_node_page_state(NR_WRITTEN, 6);
	assert_int_equal(pthread_create(&t, NULL, count_once, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	check_eq(global_vm_event_count(PGMAJFAULT), 16, "pgmajfault before the reboot");
	check_eq(global_node_page_state(NR_WRITTEN), 19, "nr_written before the reboot");

	assert_int_equal(pinmm_shutdown(), 0);
	assert_int_equal(pinmm_boot(NULL), 0);
	check_eq(global_vm_event_count(PGMAJFAULT), 0, "pgmajfault after shutdown + boot");
	check_eq(global_node_page_state(NR_WRITTEN), 0, "nr_written after shutdown + boot");
	check_eq(global_vm_event_count(PGFREE), 0, "pgfree after shutdown + boot");
	check_eq(global_zone_page_state(NR_FREE_PAGES),
		 ((1L << 30) >> PAGE_SHIFT) - BOOT_ZERO_PAGE_FRAMES,
		 "nr_free_pages after the second boot counts each page once");
	count_vm_event(PGMAJFAULT);
	check_eq(global_vm_event_count(PGMAJFAULT), 1, "counting again after the reboot");
}

/* The k-th "name value" line that pinmm_vmstat_print() should write, from the readers. */
static void expected_line(int k, char *buf, size_t len)
{
	if (k < NR_VM_ZONE_STAT_ITEMS) {
		snprintf(buf, len, "%s %ld", zone_stat_name((enum zone_stat_item)k),
			 global_zone_page_state((enum zone_stat_item)k));
		return;
	}
	k -= NR_VM_ZONE_STAT_ITEMS;
	if (k < NR_VM_NODE_STAT_ITEMS) {
		snprintf(buf, len, "%s %ld", node_stat_name((enum node_stat_item)k),
			 global_node_page_state((enum node_stat_item)k));
		return;
	}
	k -= NR_VM_NODE_STAT_ITEMS;
	snprintf(buf, len, "%s %lu", vm_event_name((enum vm_event_item)k),
		 global_vm_event_count((enum vm_event_item)k));
}

static void test_vmstat_print(void **state)
{
	const int nr_lines = NR_VM_ZONE_STAT_ITEMS + NR_VM_NODE_STAT_ITEMS + NR_VM_EVENT_ITEMS;
	struct page *page = alloc_pages(GFP_HIGHUSER_MOVABLE, 2);
	FILE *out = tmpfile();
	char *text, *line, *save = NULL;
	int k = 0;

	(void)state;
	assert_non_null(page);
	assert_non_null(out);
	mod_node_page_state(NR_FOLL_PIN_ACQUIRED, 42);
	mod_node_page_state(NR_FOLL_PIN_RELEASED, 40);
	count_vm_events(THP_SPLIT_PMD, 3);
	assert_int_equal(pinmm_vmstat_print(out), 0);
	text = slurp(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), k++) {
		char want[128];

		if (k >= nr_lines)
			fail_msg("pinmm_vmstat_print wrote more than %d lines: \"%s\"", nr_lines,
				 line);
		expected_line(k, want, sizeof(want));
		if (strcmp(line, want))
			fail_msg("vmstat line %d is \"%s\", expected \"%s\" (zone items, node items, "
				 "events, each as its reader gives it)", k, line, want);
	}
	check_eq(k, nr_lines, "pinmm_vmstat_print writes one line per item");
	free(text);
	fclose(out);
	mod_node_page_state(NR_FOLL_PIN_ACQUIRED, -42);
	mod_node_page_state(NR_FOLL_PIN_RELEASED, -40);
	__free_pages(page, 2);
}

static void test_vmstat_print_null_stream(void **state)
{
	(void)state;
	check_eq(pinmm_vmstat_print(NULL), -EINVAL, "pinmm_vmstat_print(NULL)");
}

/*
 * Fixed bug (src/mm/vmstat.c:29-43, include/pinmm/vmstat.h:28-57): vmstat.h says the names
 * and order follow Linux 5.7, but /proc/vmstat (vmstat_text, in enum order) lists
 * nr_anon_pages, nr_mapped, nr_file_pages in that order (mmzone.h: NR_ANON_MAPPED,
 * NR_FILE_MAPPED, NR_FILE_PAGES), and htlb_buddy_alloc_* before thp_* (vm_event_item.h:
 * HTLB_BUDDY_PGALLOC under CONFIG_HUGETLB_PAGE precedes the CONFIG_TRANSPARENT_HUGEPAGE block).
 * pinmm prints nr_file_pages, nr_mapped, nr_anon_pages and thp_* before htlb_*.
 */
static void test_vmstat_print_follows_linux_order(void **state)
{
	/* Linux 5.7's vmstat_text, restricted to the items pinmm has. */
	static const char *const linux_order[] = {
		"nr_free_pages", "nr_page_table_pages", "nr_free_cma",
		"nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file",
		"nr_unevictable", "nr_isolated_anon", "nr_isolated_file", "nr_anon_pages", "nr_mapped",
		"nr_file_pages", "nr_dirty", "nr_writeback", "nr_shmem",
		"nr_anon_transparent_hugepages", "nr_dirtied", "nr_written",
		"nr_foll_pin_acquired", "nr_foll_pin_released", "pswpin", "pswpout",
		"pgalloc_normal", "pgalloc_movable", "allocstall_normal", "allocstall_movable",
		"pgfree", "pgactivate", "pgdeactivate", "pgfault", "pgmajfault", "pgrefill",
		"pgsteal_kswapd", "pgsteal_direct", "pgscan_kswapd", "pgscan_direct",
		"kswapd_low_wmark_hit_quickly", "kswapd_high_wmark_hit_quickly", "pageoutrun",
		"pgrotated", "oom_kill", "pgmigrate_success", "pgmigrate_fail",
		"compact_migrate_scanned", "compact_free_scanned", "compact_isolated",
		"compact_stall", "compact_fail", "compact_success", "htlb_buddy_alloc_success",
		"htlb_buddy_alloc_fail", "thp_fault_alloc", "thp_fault_fallback",
		"thp_collapse_alloc", "thp_collapse_alloc_failed", "thp_split_page", "thp_split_pmd",
	};
	char want[4096] = "", got[4096] = "";
	FILE *out = tmpfile();
	char *text, *line, *save = NULL;

	(void)state;
	assert_non_null(out);
	assert_int_equal(pinmm_vmstat_print(out), 0);
	text = slurp(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		snprintf(got + strlen(got), sizeof(got) - strlen(got), " %.*s",
			 (int)strcspn(line, " "), line);
	for (unsigned int k = 0; k < ARRAY_LEN(linux_order); k++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), " %s", linux_order[k]);
	free(text);
	fclose(out);
	if (strcmp(got, want))
		fail_msg("regression: /proc/vmstat items must come in Linux 5.7's vmstat_text "
			 "order.\n"
			 "  printed:  %s\n  Linux 5.7:%s", got, want);
}

/*
 * Fixed bug (src/mm/vmstat.c:193-207 and 222-231, src/mm/boot.c:128 vs
 * include/pinmm/vmstat.h:82-83): vmstat.h promises that pinmm_vmstat_print() prints zeros when
 * the machine is not booted, but vmstat_reset() runs only in pinmm_boot(), not in
 * pinmm_shutdown(), so after a shutdown it prints the last machine's values (e.g.
 * nr_free_pages 262144).
 */
static void test_vmstat_print_when_not_booted_prints_zeros(void **state)
{
	FILE *out = tmpfile();
	char *text, *line, *save = NULL, nonzero[128] = "";
	int lines = 0;

	(void)state;
	assert_non_null(out);
	test_log_start();
	assert_int_equal(pinmm_boot(NULL), 0);
	count_vm_events(PGFAULT, 3);
	assert_int_equal(pinmm_shutdown(), 0);
	test_log_stop();

	assert_int_equal(pinmm_vmstat_print(out), 0);
	text = slurp(out);
	fclose(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *value = strchr(line, ' ');

		lines++;
		if ((!value || strcmp(value, " 0")) && !nonzero[0])
			snprintf(nonzero, sizeof(nonzero), "%s", line);
	}
	free(text);
	if (nonzero[0])
		fail_msg("regression: not booted, pinmm_vmstat_print must print zeros (vmstat.h); "
			 "after a "
			 "shutdown it printed \"%s\" (the last machine's value)", nonzero);
	check_eq(lines, NR_VM_ZONE_STAT_ITEMS + NR_VM_NODE_STAT_ITEMS + NR_VM_EVENT_ITEMS,
		 "lines printed while not booted");
}

/* The default machine: 1 GiB = 262144 pages, free but for the zero page; 64 MiB CMA;
 * 128 MiB ZONE_MOVABLE. */
static void test_nr_free_pages_after_default_boot(void **state)
{
	(void)state;
	check_boot_zero_page();
	check_eq(global_zone_page_state(NR_FREE_PAGES), 262144 - BOOT_ZERO_PAGE_FRAMES,
		 "nr_free_pages, 1 GiB, no pools: RAM pages - the zero page");
	check_eq(global_zone_page_state(NR_FREE_CMA_PAGES), 16384, "nr_free_cma, 64 MiB CMA");
	check_eq(zone_page_state(pinmm_zone(ZONE_MOVABLE), NR_FREE_PAGES), 32768,
		 "Movable nr_free_pages, 128 MiB");
	check_eq(zone_page_state(pinmm_zone(ZONE_NORMAL), NR_FREE_PAGES),
		 262144 - 32768 - BOOT_ZERO_PAGE_FRAMES, "Normal nr_free_pages");
	check_eq(zone_page_state(pinmm_zone(ZONE_NORMAL), NR_FREE_CMA_PAGES), 16384,
		 "the CMA area is in ZONE_NORMAL");
	check_eq(global_vm_event_count(PGALLOC_NORMAL), BOOT_ZERO_PAGE_FRAMES,
		 "pgalloc_normal at a boot without pools: the zero page");
	check_eq(global_vm_event_count(PGALLOC_MOVABLE), 0, "pgalloc_movable at boot");
}

/* 1 GiB with two 2 MiB pool pages (boot_small_hugetlb). */
static void test_nr_free_pages_after_boot_with_2m_pool(void **state)
{
	(void)state;
	check_boot_zero_page();
	check_eq(global_zone_page_state(NR_FREE_PAGES), 262144 - 2 * 512 - BOOT_ZERO_PAGE_FRAMES,
		 "nr_free_pages = RAM pages - 2 x 512 pool pages - the zero page");
	check_eq(global_vm_event_count(HTLB_BUDDY_PGALLOC), 2,
		 "htlb_buddy_alloc_success: two pool pages");
	check_eq(global_vm_event_count(HTLB_BUDDY_PGALLOC_FAIL), 0, "htlb_buddy_alloc_fail");
	check_eq(global_vm_event_count(PGALLOC_NORMAL), 1024 + BOOT_ZERO_PAGE_FRAMES,
		 "pgalloc_normal counts the pool's 2 x 512 pages and the zero page");
}

static int boot_2g_with_pools(void **state)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	cfg.ram_bytes = 2ULL << 30;
	cfg.nr_hugepages_1g = 1;
	cfg.nr_hugepages_2m = 3;
	return boot_with(&cfg);
}

static void test_nr_free_pages_after_boot_with_1g_pool(void **state)
{
	(void)state;
	check_boot_zero_page();
	check_eq(global_zone_page_state(NR_FREE_PAGES),
		 524288 - 262144 - 3 * 512 - BOOT_ZERO_PAGE_FRAMES,
		 "2 GiB - one 1 GiB page - three 2 MiB pages - the zero page");
	/* 5.7 counts only pool pages from the buddy allocator; 1 GiB pages are gigantic. */
	check_eq(global_vm_event_count(HTLB_BUDDY_PGALLOC), 3,
		 "htlb_buddy_alloc_success: the three 2 MiB pool pages, not the 1 GiB one");
}

/* The allocator's counters: pgalloc_* by zone, pgfree, nr_free_pages, nr_free_cma. */
static void test_allocator_events(void **state)
{
	unsigned long normal = global_vm_event_count(PGALLOC_NORMAL);
	unsigned long movable = global_vm_event_count(PGALLOC_MOVABLE);
	unsigned long pgfree = global_vm_event_count(PGFREE);
	long free_pages = global_zone_page_state(NR_FREE_PAGES);
	long free_cma = global_zone_page_state(NR_FREE_CMA_PAGES);
	struct page *a = alloc_pages(GFP_KERNEL, 3);
	struct page *b = alloc_pages(GFP_HIGHUSER_MOVABLE, 2);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	check_eq(global_vm_event_count(PGALLOC_NORMAL), normal + 8, "pgalloc_normal, order 3");
	check_eq(global_vm_event_count(PGALLOC_MOVABLE), movable + 4,
		 "pgalloc_movable, order 2 from ZONE_MOVABLE");
	check_eq(global_zone_page_state(NR_FREE_PAGES), free_pages - 12, "nr_free_pages - 12");
	check_eq(global_zone_page_state(NR_FREE_CMA_PAGES), free_cma,
		 "nothing came from CMA while other memory is free");
	__free_pages(a, 3);
	__free_pages(b, 2);
	check_eq(global_vm_event_count(PGFREE), pgfree + 12, "pgfree counts pages");
	check_eq(global_zone_page_state(NR_FREE_PAGES), free_pages, "nr_free_pages back");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_match_linux),
		cmocka_unit_test(test_out_of_range_names),
		test_with_machine(test_out_of_range_items_warn),
		test_with_machine(test_counts_from_threads_are_summed),
		test_with_machine(test_counters_restart_at_boot),
		test_with_machine(test_vmstat_print),
		cmocka_unit_test(test_vmstat_print_null_stream),
		test_with_machine(test_vmstat_print_follows_linux_order),
		cmocka_unit_test(test_vmstat_print_when_not_booted_prints_zeros),
		test_with_machine(test_nr_free_pages_after_default_boot),
		cmocka_unit_test_setup_teardown(test_nr_free_pages_after_boot_with_2m_pool,
						boot_small_hugetlb, shutdown_clean),
		cmocka_unit_test_setup_teardown(test_nr_free_pages_after_boot_with_1g_pool,
						boot_2g_with_pools, shutdown_clean),
		test_with_machine(test_allocator_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
