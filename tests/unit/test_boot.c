/* SPDX-License-Identifier: MIT */
/*
 * Booting and shutting down the simulated machine (boot.h): pinmm_boot(NULL), -EBUSY on a
 * second boot, boot/shutdown/boot cycles, -ENODEV from a shutdown when not booted; every
 * invalid configuration is refused with -EINVAL and reserves nothing; -ENOMEM when the host
 * refuses the reservation (in a child with a lowered RLIMIT_AS); a 16 GiB machine serving
 * every order from both zones; the lazy reservation of a 64 GiB machine (VmRSS); the leak
 * report of a shutdown with pages still allocated; and the rule set: its names, the
 * configuration's choice, PINMM_RULES when the configuration sets none, and a bad value of
 * either refused.
 */
#include <errno.h>
#include <limits.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test_mm_util.h"

#define MiB (1ULL << 20)

/* A field of /proc/self/status ("VmRSS:", "VmSize:"), in kB. */
static long long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long long kb = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field))) {
			kb = atoll(line + strlen(field));
			break;
		}
	fclose(f);
	assert_true(kb >= 0);
	return kb;
}

/* Pages a freshly booted machine may keep for itself (the shared zero page); boot.h only
 * promises that the rest of RAM, less the hugetlb pools, is free. */
#define BOOT_RESERVED_MAX 16

/* Right after boot: all of RAM but the pools (and BOOT_RESERVED_MAX pages at most) is free. */
static void expect_all_free(unsigned long pool_pages, const char *what)
{
	long held = (long)(max_pfn - pool_pages) - global_zone_page_state(NR_FREE_PAGES);

	if (held < 0 || held > BOOT_RESERVED_MAX)
		fail_msg("%s: nr_free_pages is %ld of %lu pages (%lu in hugetlb pools): the machine "
			 "holds %ld pages itself", what, global_zone_page_state(NR_FREE_PAGES),
			 max_pfn, pool_pages, held);
}

/* Allocate and free one page of each zone: the machine works. */
static void machine_serves_pages(const char *what)
{
	struct page *n = alloc_page(GFP_KERNEL);
	struct page *m = alloc_page(GFP_HIGHUSER_MOVABLE);

	if (!n || !m)
		fail_msg("%s: order-0 allocation failed (normal %p, movable %p)", what, (void *)n,
			 (void *)m);
	__free_page(n);
	__free_page(m);
}

static void test_boot_null_uses_defaults(void **state)
{
	struct pinmm_config def;
	const struct pinmm_config *cfg;

	(void)state;
	test_log_start();
	assert_false(pinmm_booted());
	assert_null(pinmm_machine_config());
	assert_int_equal(pinmm_boot(NULL), 0);
	assert_true(pinmm_booted());

	pinmm_config_default(&def);
	assert_int_equal(def.ram_bytes, 1024 * MiB);
	assert_int_equal(def.movable_bytes, 128 * MiB);
	assert_int_equal(def.cma_bytes, 64 * MiB);
	assert_int_equal(def.nr_hugepages_2m, 0);
	assert_int_equal(def.nr_hugepages_1g, 0);
	assert_int_equal(def.thp, PINMM_THP_ALWAYS);
	cfg = pinmm_machine_config();
	assert_non_null(cfg);
	assert_int_equal(cfg->ram_bytes, def.ram_bytes);
	assert_int_equal(cfg->movable_bytes, def.movable_bytes);
	assert_int_equal(cfg->cma_bytes, def.cma_bytes);
	assert_int_equal(cfg->nr_hugepages_2m, def.nr_hugepages_2m);
	assert_int_equal(cfg->nr_hugepages_1g, def.nr_hugepages_1g);
	assert_int_equal(cfg->thp, def.thp);

	/* The default layout: 896 MiB of ZONE_NORMAL whose top 64 MiB is CMA, 128 MiB movable,
	 * all of it free. */
	assert_int_equal(max_pfn, (1024 * MiB) >> PAGE_SHIFT);
	assert_int_equal(pinmm_zone(ZONE_NORMAL)->zone_start_pfn, 0);
	assert_int_equal(pinmm_zone(ZONE_NORMAL)->spanned_pages, (896 * MiB) >> PAGE_SHIFT);
	assert_int_equal(pinmm_zone(ZONE_NORMAL)->cma_start_pfn, (832 * MiB) >> PAGE_SHIFT);
	assert_int_equal(pinmm_zone(ZONE_NORMAL)->cma_end_pfn, (896 * MiB) >> PAGE_SHIFT);
	assert_int_equal(pinmm_zone(ZONE_MOVABLE)->zone_start_pfn, (896 * MiB) >> PAGE_SHIFT);
	assert_int_equal(pinmm_zone(ZONE_MOVABLE)->spanned_pages, (128 * MiB) >> PAGE_SHIFT);
	expect_all_free(0, "default machine after boot");
	assert_int_equal(global_zone_page_state(NR_FREE_CMA_PAGES), (64 * MiB) >> PAGE_SHIFT);
	machine_serves_pages("default machine");

	assert_int_equal(pinmm_shutdown(), 0);
	assert_false(pinmm_booted());
	assert_null(pinmm_machine_config());
	assert_null(pinmm_zone(ZONE_NORMAL));
	test_log_stop();
}

static void test_boot_twice_is_ebusy(void **state)
{
	struct pinmm_config other = cfg_of(64 * MiB, 0, 0);

	long free0;

	(void)state;
	test_log_start();
	assert_int_equal(pinmm_boot(NULL), 0);
	free0 = global_zone_page_state(NR_FREE_PAGES);
	check_eq(pinmm_boot(NULL), -EBUSY, "second pinmm_boot(NULL) while booted");
	check_eq(pinmm_boot(&other), -EBUSY, "second boot with another valid config");
	/* The running machine is unchanged by the refused boots. */
	assert_int_equal(pinmm_machine_config()->ram_bytes, 1024 * MiB);
	assert_int_equal(max_pfn, (1024 * MiB) >> PAGE_SHIFT);
	assert_int_equal(global_zone_page_state(NR_FREE_PAGES), free0);
	machine_serves_pages("after refused second boots");
	assert_int_equal(pinmm_shutdown(), 0);
	test_log_stop();
}

static void test_boot_shutdown_cycles(void **state)
{
	unsigned long pgalloc0 = 0, pgfree0 = 0;

	(void)state;
	test_log_start();
	for (int i = 0; i < 3; i++) {
		struct pinmm_config cfg = cfg_of((i + 1) * 256 * MiB, 64 * MiB, 16 * MiB);
		struct page *page;

		check_eq(pinmm_boot(&cfg), 0, "boot #%d of one process", i);
		assert_true(pinmm_booted());
		check_eq(pinmm_machine_config()->ram_bytes, cfg.ram_bytes, "boot #%d", i);
		check_eq(max_pfn, cfg.ram_bytes >> PAGE_SHIFT, "boot #%d", i);
		/* Counters restart at each boot: all of RAM free, not the sum over boots, and the
		 * events only those of this boot. */
		expect_all_free(0, scenario_text("boot #%d", i));
		if (i == 0) {
			pgalloc0 = global_vm_event_count(PGALLOC_NORMAL);
			pgfree0 = global_vm_event_count(PGFREE);
			assert_true(pgalloc0 <= BOOT_RESERVED_MAX);
		}
		check_eq(global_vm_event_count(PGALLOC_NORMAL), pgalloc0, "pgalloc_normal, boot #%d",
			 i);
		check_eq(global_vm_event_count(PGFREE), pgfree0, "pgfree, boot #%d", i);
		page = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
		assert_non_null(page);
		memset(page_address(page), 0x5a, 8 * PAGE_SIZE);
		put_page(page);
		check_eq(pinmm_shutdown(), 0, "shutdown #%d", i);
		assert_false(pinmm_booted());
	}
	test_log_stop();
}

static void test_shutdown_not_booted(void **state)
{
	(void)state;
	assert_false(pinmm_booted());
	assert_int_equal(pinmm_shutdown(), -ENODEV);
	assert_int_equal(pinmm_shutdown(), -ENODEV);
	assert_false(pinmm_booted());
	/* And after a real boot/shutdown, again. */
	test_log_start();
	assert_int_equal(pinmm_boot(NULL), 0);
	assert_int_equal(pinmm_shutdown(), 0);
	assert_int_equal(pinmm_shutdown(), -ENODEV);
	test_log_stop();
}

struct bad_config {
	const char *what;
	struct pinmm_config cfg;
};

static void test_bad_configs_are_einval(void **state)
{
	struct bad_config bad[] = {
		{"zeroed config", {0}},
		{"ram 12 MiB (below 16 MiB)", cfg_of(12 * MiB, 0, 0)},
		{"ram 0 with a movable zone", cfg_of(0, 8 * MiB, 0)},
		{"ram 256 GiB + 4 MiB (above 256 GiB)", cfg_of(256 * GiB + 4 * MiB, 0, 0)},
		{"ram 512 GiB", cfg_of(512 * GiB, 0, 0)},
		{"ram ULLONG_MAX", cfg_of(ULLONG_MAX, 0, 0)},
		{"ram 1 GiB + 2 MiB (not a multiple of 4 MiB)", cfg_of(GiB + 2 * MiB, 0, 0)},
		{"ram 20 MiB + 4 KiB", cfg_of(20 * MiB + 4096, 0, 0)},
		{"ram 64 GiB - 1 MiB", cfg_of(64 * GiB - MiB, 0, 0)},
		{"movable 2 MiB (not a multiple of 4 MiB)", cfg_of(GiB, 2 * MiB, 0)},
		{"cma 1 MiB (not a multiple of 4 MiB)", cfg_of(GiB, 0, MiB)},
		{"movable == ram", cfg_of(GiB, GiB, 0)},
		{"movable > ram", cfg_of(GiB, 2 * GiB, 0)},
		{"movable leaves 4 MiB of normal memory", cfg_of(GiB, GiB - 4 * MiB, 0)},
		{"cma leaves 4 MiB of normal memory", cfg_of(GiB, 128 * MiB, 892 * MiB)},
		{"cma == all of normal", cfg_of(GiB, 128 * MiB, 896 * MiB)},
		{"cma > normal", cfg_of(GiB, 128 * MiB, GiB)},
		{"cma ULLONG_MAX rounded to 4 MiB", cfg_of(GiB, 0, ULLONG_MAX & ~(4 * MiB - 1))},
		{"movable + cma leave 4 MiB", cfg_of(64 * MiB, 32 * MiB, 28 * MiB)},
	};
	struct pinmm_config c;
	const size_t nfixed = sizeof(bad) / sizeof(bad[0]);
	struct bad_config more[11];
	size_t nmore = 0;

	(void)state;
	/* Hugetlb pools that do not fit in ZONE_NORMAL outside CMA (less the 8 MiB that must
	 * stay free). Default: 896 - 64 - 8 = 824 MiB, i.e. 412 2 MiB pages, no 1 GiB page. */
	pinmm_config_default(&c);
	c.nr_hugepages_2m = 413;
	more[nmore++] = (struct bad_config){"default + 413 2 MiB pages (412 fit)", c};
	pinmm_config_default(&c);
	c.nr_hugepages_1g = 1;
	more[nmore++] = (struct bad_config){"default + one 1 GiB page", c};
	pinmm_config_default(&c);
	c.nr_hugepages_2m = ULONG_MAX;
	more[nmore++] = (struct bad_config){"ULONG_MAX 2 MiB pages", c};
	pinmm_config_default(&c);
	c.nr_hugepages_2m = 1UL << 43; /* << 21 wraps to 0 in 64 bits */
	more[nmore++] = (struct bad_config){"2^43 2 MiB pages (bytes wrap to 0)", c};
	c = cfg_of(4 * GiB, 0, 0);
	c.nr_hugepages_1g = 1UL << 34; /* << 30 wraps to 0 in 64 bits */
	more[nmore++] = (struct bad_config){"2^34 1 GiB pages (bytes wrap to 0)", c};
	c = cfg_of(4 * GiB, 0, 0); /* 4096 - 8 = 4088 MiB: 3 x 1 GiB + 508 x 2 MiB fit */
	c.nr_hugepages_1g = 4;
	more[nmore++] = (struct bad_config){"4 GiB machine + four 1 GiB pages", c};
	c.nr_hugepages_1g = 3;
	c.nr_hugepages_2m = 509;
	more[nmore++] = (struct bad_config){"4 GiB machine + 3 x 1 GiB + 509 x 2 MiB", c};
	c = cfg_of(64 * GiB, 0, 0);
	c.thp = (enum pinmm_thp_mode)3;
	more[nmore++] = (struct bad_config){"64 GiB machine with thp mode 3", c};
	c.thp = (enum pinmm_thp_mode)-1;
	more[nmore++] = (struct bad_config){"64 GiB machine with thp mode -1", c};
	pinmm_config_default(&c);
	c.rules = (enum pinmm_rules)3;
	more[nmore++] = (struct bad_config){"rule set 3", c};

	test_log_start();
	for (size_t i = 0; i < nfixed + nmore; i++) {
		const struct bad_config *b = i < nfixed ? &bad[i] : &more[i - nfixed];
		unsigned long warns = pinmm_warn_count();
		long long vmsize = status_kb("VmSize:");

		check_eq(pinmm_boot(&b->cfg), -EINVAL, "pinmm_boot(%s)", b->what);
		check_eq(pinmm_booted(), false, "booted after a refused boot (%s)", b->what);
		check_eq(pinmm_machine_config() == NULL, true, "config after a refused boot (%s)",
			 b->what);
		check_eq(max_pfn, 0, "max_pfn after a refused boot (%s)", b->what);
		/* Nothing reserved: the address space did not grow (allow for stdio buffers). */
		if (status_kb("VmSize:") - vmsize > 16 * 1024)
			fail_msg("pinmm_boot(%s) = -EINVAL but VmSize grew from %lld to %lld kB",
				 b->what, vmsize, status_kb("VmSize:"));
		check_eq(pinmm_shutdown(), -ENODEV, "shutdown after a refused boot (%s)", b->what);
		check_eq(pinmm_warn_count(), warns, "WARNs from a refused boot (%s)", b->what);
	}
	/* A valid boot still works afterwards. */
	assert_int_equal(pinmm_boot(NULL), 0);
	machine_serves_pages("boot after refused configs");
	assert_int_equal(pinmm_shutdown(), 0);
	test_log_stop();
}

/* The limits themselves are accepted. */
static void test_boundary_configs_boot(void **state)
{
	struct {
		const char *what;
		struct pinmm_config cfg;
		unsigned long nr_2m, nr_1g;
	} ok[] = {
		{"minimum ram 16 MiB", cfg_of(16 * MiB, 0, 0), 0, 0},
		{"16 MiB: 4 MiB movable + 4 MiB CMA leave exactly 8 MiB",
		 cfg_of(16 * MiB, 4 * MiB, 4 * MiB), 0, 0},
		{"1 GiB: CMA leaves exactly 8 MiB", cfg_of(GiB, 128 * MiB, 888 * MiB), 0, 0},
		{"default + 412 2 MiB pages (exactly fits)", cfg_of(GiB, 128 * MiB, 64 * MiB), 412, 0},
		{"4 GiB + 3 x 1 GiB + 508 x 2 MiB (exactly fits)", cfg_of(4 * GiB, 0, 0), 508, 3},
		{"thp madvise", cfg_of(64 * MiB, 0, 0), 0, 0},
		{"thp never", cfg_of(64 * MiB, 0, 0), 0, 0},
	};

	(void)state;
	ok[5].cfg.thp = PINMM_THP_MADVISE;
	ok[6].cfg.thp = PINMM_THP_NEVER;
	test_log_start();
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		unsigned long long pool;

		ok[i].cfg.nr_hugepages_2m = ok[i].nr_2m;
		ok[i].cfg.nr_hugepages_1g = ok[i].nr_1g;
		check_eq(pinmm_boot(&ok[i].cfg), 0, "pinmm_boot(%s)", ok[i].what);
		check_eq(size_to_hstate(2 * MiB)->nr_huge_pages, ok[i].nr_2m, "%s", ok[i].what);
		check_eq(size_to_hstate(GiB)->nr_huge_pages, ok[i].nr_1g, "%s", ok[i].what);
		/* Free = RAM minus the pools. */
		pool = ok[i].nr_2m * 512ULL + ok[i].nr_1g * 262144ULL;
		expect_all_free(pool, ok[i].what);
		check_eq(pinmm_machine_config()->thp, ok[i].cfg.thp, "%s", ok[i].what);
		machine_serves_pages(ok[i].what);
		check_eq(pinmm_shutdown(), 0, "shutdown of %s", ok[i].what);
	}
	test_log_stop();
}

/* A 16 GiB machine serves every order from both zones and shuts down clean. */
static void test_16g_machine_every_order(void **state)
{
	struct pinmm_config cfg = cfg_of(16 * GiB, 4 * GiB, 512 * MiB);
	struct page *normal[MAX_ORDER][2], *movable[MAX_ORDER][2];
	long free0;

	(void)state;
	test_log_start();
	assert_int_equal(pinmm_boot(&cfg), 0);
	expect_all_free(0, "16 GiB machine after boot");
	free0 = global_zone_page_state(NR_FREE_PAGES);
	for (unsigned int order = 0; order < MAX_ORDER; order++) {
		for (int comp = 0; comp < 2; comp++) {
			gfp_t extra = comp && order ? __GFP_COMP : 0;
			struct page *n = alloc_pages(GFP_KERNEL | extra, order);
			struct page *m = alloc_pages(GFP_HIGHUSER_MOVABLE | extra, order);
			size_t bytes = PAGE_SIZE << order;

			if (!n || !m)
				fail_msg("16 GiB machine: order %u%s allocation failed (normal %p, "
					 "movable %p)", order, extra ? " compound" : "", (void *)n,
					 (void *)m);
			check_eq(page_zonenum(n), ZONE_NORMAL, "order %u GFP_KERNEL", order);
			check_eq(get_pageblock_migratetype(n), MIGRATE_UNMOVABLE,
				 "order %u GFP_KERNEL", order);
			check_eq(page_zonenum(m), ZONE_MOVABLE, "order %u movable", order);
			check_eq(page_to_pfn(n) & ((1UL << order) - 1), 0, "order %u alignment",
				 order);
			check_eq(page_to_pfn(m) & ((1UL << order) - 1), 0, "order %u alignment",
				 order);
			/* The frames are usable host memory, first and last byte. */
			((char *)page_address(n))[0] = 1;
			((char *)page_address(n))[bytes - 1] = 2;
			((char *)page_address(m))[0] = 3;
			((char *)page_address(m))[bytes - 1] = 4;
			normal[order][comp] = n;
			movable[order][comp] = m;
		}
	}
	for (unsigned int order = 0; order < MAX_ORDER; order++)
		for (int comp = 0; comp < 2; comp++) {
			__free_pages(normal[order][comp], order);
			__free_pages(movable[order][comp], order);
		}
	check_eq(global_zone_page_state(NR_FREE_PAGES), free0, "16 GiB machine, all freed");
	assert_int_equal(pinmm_shutdown(), 0);
	test_log_stop();
}

/* A 64 GiB machine is reserved, not populated: booting it costs little resident memory, and
 * shutdown gives the address space back. */
static void test_64g_boot_is_lazy(void **state)
{
	struct pinmm_config cfg = cfg_of(64 * GiB, 16 * GiB, GiB);
	long long rss0, rss1, size0, size1, size2;
	struct page *page;

	(void)state;
	test_log_start();
	rss0 = status_kb("VmRSS:");
	size0 = status_kb("VmSize:");
	assert_int_equal(pinmm_boot(&cfg), 0);
	rss1 = status_kb("VmRSS:");
	size1 = status_kb("VmSize:");
	if (rss1 - rss0 > 256 * 1024)
		fail_msg("booting a 64 GiB machine raised VmRSS by %lld MiB (from %lld to %lld kB); "
			 "the reservation should be lazy", (rss1 - rss0) >> 10, rss0, rss1);
	/* ...but it did reserve the frames and mem_map (64 GiB + 1 GiB of struct page). */
	if (size1 - size0 < (long long)(65 * GiB >> 10))
		fail_msg("VmSize grew by only %lld MiB on booting a 64 GiB machine",
			 (size1 - size0) >> 10);
	expect_all_free(0, "64 GiB machine after boot");
	/* The highest frame works. */
	page = pfn_to_page(max_pfn - 1);
	assert_true(PageBuddy(page - (MAX_ORDER_NR_PAGES - 1)));
	machine_serves_pages("64 GiB machine");
	assert_int_equal(pinmm_shutdown(), 0);
	size2 = status_kb("VmSize:");
	if (size2 - size0 > 64 * 1024)
		fail_msg("shutdown of a 64 GiB machine left VmSize at %lld kB (was %lld before boot)",
			 size2, size0);
	test_log_stop();
}

/* Runs in a child (run_forked()), since it lowers RLIMIT_AS: returns 0, or the number of the
 * check that failed. */
static int boot_under_rlimit(void *arg)
{
	struct pinmm_config cfg = cfg_of(64 * GiB, 0, 0), big = cfg_of(128 * GiB, 0, 0);
	struct rlimit old, lim;
	unsigned long long size0;

	(void)arg;
	if (getrlimit(RLIMIT_AS, &old))
		return 1;
	size0 = (unsigned long long)status_kb("VmSize:") << 10;
	lim = old;
	/* Room for neither the 64 GiB of frames nor mem_map. */
	lim.rlim_cur = size0 + 8 * GiB;
	if (setrlimit(RLIMIT_AS, &lim))
		return 2;
	if (pinmm_boot(&cfg) != -ENOMEM)
		return 3;
	if (pinmm_booted() || pinmm_machine_config() || max_pfn)
		return 4;
	/* A 128 GiB machine: room for the frames (reserved with 1 GiB of alignment slack, so
	 * 129 GiB at first) but not for mem_map besides them (128 + 2 GiB): the frames must be
	 * given back. */
	lim.rlim_cur = size0 + 129 * GiB + 512 * MiB;
	if (setrlimit(RLIMIT_AS, &lim))
		return 5;
	if (pinmm_boot(&big) != -ENOMEM)
		return 6;
	if (pinmm_booted())
		return 7;
	if (((unsigned long long)status_kb("VmSize:") << 10) > size0 + 64 * MiB)
		return 8;
	if (setrlimit(RLIMIT_AS, &old))
		return 9;
	if (pinmm_boot(&cfg) != 0)
		return 10;
	if (!alloc_page(GFP_KERNEL))
		return 11;
	if (pinmm_shutdown() != -EBUSY) /* the page above */
		return 12;
	return 0;
}

static void test_boot_enomem(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* The sanitizers' shadow memory makes RLIMIT_AS meaningless. */
	skip();
#endif
	test_log_start();
	run_forked("boot under a lowered RLIMIT_AS", boot_under_rlimit, NULL, 0);
	test_log_stop();
}

/* Shutdown with pages still allocated: -EBUSY, each reported with dump_page(), and the machine
 * is gone all the same, so the next boot works. */
static void test_shutdown_with_leak(void **state)
{
	struct page *leak, *leak_comp, *fine;
	char expect[128];
	char *log;

	(void)state;
	test_log_start();
	assert_int_equal(pinmm_boot(NULL), 0);
	leak = alloc_page(GFP_KERNEL);
	leak_comp = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, 2);
	fine = alloc_page(GFP_KERNEL);
	assert_non_null(leak);
	assert_non_null(leak_comp);
	assert_non_null(fine);
	__free_page(fine);
	log_clear();

	check_eq(pinmm_shutdown(), -EBUSY, "shutdown with an order-0 and an order-2 page allocated");
	assert_false(pinmm_booted());
	log = test_log_take();
	snprintf(expect, sizeof(expect), "page:%016lx refcount:1 mapcount:0", (unsigned long)leak);
	if (!strstr(log, expect) || !strstr(log, "still allocated at shutdown"))
		fail_msg("shutdown should dump_page() the leaked order-0 page (\"%s\", \"still "
			 "allocated at shutdown\"); log:\n%s", expect, log);
	snprintf(expect, sizeof(expect), "page:%016lx refcount:1", (unsigned long)leak_comp);
	if (!strstr(log, expect) || !strstr(log, "order:2"))
		fail_msg("shutdown should dump_page() the leaked order-2 compound page (\"%s\"); "
			 "log:\n%s", expect, log);
	if (!strstr(log, "5 page(s) still allocated"))
		fail_msg("shutdown should count 5 leaked pages; log:\n%s", log);
	free(log);

	assert_int_equal(pinmm_shutdown(), -ENODEV);
	assert_int_equal(pinmm_boot(NULL), 0);
	expect_all_free(0, "boot after a leaky shutdown");
	machine_serves_pages("boot after a leaky shutdown");
	assert_int_equal(pinmm_shutdown(), 0);
	test_log_stop();
}

/* A reference taken on top of the allocation's, not dropped, is a leak too. */
static void test_shutdown_with_extra_reference(void **state)
{
	struct page *page;

	(void)state;
	test_log_start();
	assert_int_equal(pinmm_boot(NULL), 0);
	page = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	assert_non_null(page);
	get_page(page + 1);
	put_page(page);
	assert_int_equal(page_count(page), 1);
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown with a get_page() reference outstanding");
	test_log_expect("still allocated at shutdown");
	assert_int_equal(pinmm_boot(NULL), 0);
	assert_int_equal(pinmm_shutdown(), 0);
	test_log_stop();
}

/* ---- the rule set ---- */

/* PINMM_RULES as the test found it (the suite may run under either rule set), restored by
 * env_restore(). */
static char *saved_rules_env;

static void env_save(void)
{
	const char *v = getenv("PINMM_RULES");

	saved_rules_env = v ? strdup(v) : NULL;
}

static void env_restore(void)
{
	if (saved_rules_env)
		setenv("PINMM_RULES", saved_rules_env, 1);
	else
		unsetenv("PINMM_RULES");
	free(saved_rules_env);
	saved_rules_env = NULL;
}

/* Boot cfg with PINMM_RULES set to env (NULL: unset) and check the rule set in force. */
static void expect_rules(const struct pinmm_config *cfg, const char *env, enum pinmm_rules want,
			 const char *what)
{
	if (env)
		setenv("PINMM_RULES", env, 1);
	else
		unsetenv("PINMM_RULES");
	check_eq(pinmm_boot(cfg), 0, "pinmm_boot (%s)", what);
	check_eq(pinmm_rules(), want, "pinmm_rules() (%s)", what);
	check_eq(pinmm_machine_config()->rules, want, "pinmm_machine_config()->rules (%s)", what);
	check_eq(pinmm_shutdown(), 0, "shutdown (%s)", what);
	check_eq(pinmm_rules(), PINMM_RULES_DEFAULT, "pinmm_rules() after shutdown (%s)", what);
}

static void test_rules_names_and_parse(void **state)
{
	enum pinmm_rules r = PINMM_RULES_DEFAULT;
	const char *bad[] = {"", "5.8", "6.18", "MODERN", "modern ", "5.7x", "default"};

	(void)state;
	assert_string_equal(pinmm_rules_name(PINMM_RULES_5_7), "5.7");
	assert_string_equal(pinmm_rules_name(PINMM_RULES_MODERN), "modern");
	assert_string_equal(pinmm_rules_name(PINMM_RULES_DEFAULT), "default");
	assert_null(pinmm_rules_name((enum pinmm_rules)3));
	assert_int_equal(pinmm_rules_parse("5.7", &r), 0);
	assert_int_equal(r, PINMM_RULES_5_7);
	assert_int_equal(pinmm_rules_parse("modern", &r), 0);
	assert_int_equal(r, PINMM_RULES_MODERN);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_eq(pinmm_rules_parse(bad[i], &r), -EINVAL, "pinmm_rules_parse(\"%s\")", bad[i]);
		check_eq(r, PINMM_RULES_MODERN, "rule set after parsing \"%s\"", bad[i]);
	}
	assert_int_equal(pinmm_rules_parse(NULL, &r), -EINVAL);
	assert_int_equal(pinmm_rules(), PINMM_RULES_DEFAULT);
}

static void test_rules_from_config_and_environment(void **state)
{
	struct pinmm_config c;

	(void)state;
	env_save();
	test_log_start();
	pinmm_config_default(&c);
	assert_int_equal(c.rules, PINMM_RULES_DEFAULT);
	expect_rules(NULL, NULL, PINMM_RULES_5_7, "boot(NULL), PINMM_RULES unset");
	expect_rules(&c, NULL, PINMM_RULES_5_7, "rules not set, PINMM_RULES unset");
	expect_rules(&c, "", PINMM_RULES_5_7, "rules not set, PINMM_RULES empty");
	expect_rules(NULL, "modern", PINMM_RULES_MODERN, "boot(NULL), PINMM_RULES=modern");
	expect_rules(&c, "modern", PINMM_RULES_MODERN, "rules not set, PINMM_RULES=modern");
	expect_rules(&c, "5.7", PINMM_RULES_5_7, "rules not set, PINMM_RULES=5.7");
	/* The configuration's choice wins over the environment. */
	c.rules = PINMM_RULES_5_7;
	expect_rules(&c, "modern", PINMM_RULES_5_7, "rules 5.7, PINMM_RULES=modern");
	c.rules = PINMM_RULES_MODERN;
	expect_rules(&c, "5.7", PINMM_RULES_MODERN, "rules modern, PINMM_RULES=5.7");
	expect_rules(&c, "nonsense", PINMM_RULES_MODERN, "rules modern, PINMM_RULES=nonsense");
	log_clear();
	test_log_stop();
	env_restore();
}

static void test_rules_bad_environment_is_einval(void **state)
{
	const char *bad[] = {"6.18", "Modern", "5", "5.7 "};
	char want[64];

	(void)state;
	env_save();
	test_log_start();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long warns = pinmm_warn_count();
		char *log;

		setenv("PINMM_RULES", bad[i], 1);
		check_eq(pinmm_boot(NULL), -EINVAL, "pinmm_boot with PINMM_RULES=\"%s\"", bad[i]);
		check_eq(pinmm_booted(), false, "booted with PINMM_RULES=\"%s\"", bad[i]);
		check_eq(max_pfn, 0, "max_pfn with PINMM_RULES=\"%s\"", bad[i]);
		check_eq(pinmm_warn_count(), warns, "WARNs with PINMM_RULES=\"%s\"", bad[i]);
		log = test_log_take();
		snprintf(want, sizeof(want), "PINMM_RULES=%s is not a rule set (5.7 or modern)\n",
			 bad[i]);
		if (!strstr(log, want) || strchr(log, '\n') != log + strlen(log) - 1)
			fail_msg("PINMM_RULES=\"%s\": the log should be one line naming it; it was:\n%s",
				 bad[i], log);
		free(log);
	}
	unsetenv("PINMM_RULES");
	assert_int_equal(pinmm_boot(NULL), 0);
	assert_int_equal(pinmm_rules(), PINMM_RULES_5_7);
	assert_int_equal(pinmm_shutdown(), 0);
	test_log_stop();
	env_restore();
}

#define boot_test(f) cmocka_unit_test_teardown(f, teardown_any)

int main(void)
{
	const struct CMUnitTest tests[] = {
		boot_test(test_boot_null_uses_defaults),
		boot_test(test_boot_twice_is_ebusy),
		boot_test(test_boot_shutdown_cycles),
		boot_test(test_shutdown_not_booted),
		boot_test(test_bad_configs_are_einval),
		boot_test(test_boundary_configs_boot),
		boot_test(test_16g_machine_every_order),
		boot_test(test_64g_boot_is_lazy),
		boot_test(test_boot_enomem),
		boot_test(test_shutdown_with_leak),
		boot_test(test_shutdown_with_extra_reference),
		boot_test(test_rules_names_and_parse),
		boot_test(test_rules_from_config_and_environment),
		boot_test(test_rules_bad_environment_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
