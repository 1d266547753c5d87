/* SPDX-License-Identifier: MIT */
/*
 * pinmm_demo: boot a machine, allocate the kinds of pages the later layers use (an order-0
 * page, an order-1 and an order-9 compound page, a 2 MiB and a 1 GiB hugetlb page), show them
 * with dump_page(), show /proc/vmstat and /proc/buddyinfo, free everything and shut down.
 * Nothing is pinned yet. Exit status 0 only if shutdown finds nothing leaked.
 *
 * Usage: pinmm_demo [RAM_MIB]   (default 4096, a machine with a 1 GiB page in its pool)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pinmm/pinmm.h>

static void section(const char *title)
{
	printf("\n== %s ==\n", title);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct pinmm_config cfg;
	struct page *small, *order1, *thp, *huge2m, *huge1g;
	char *end;
	int ret;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4096ULL << 20;
	if (argc > 2 || (argc == 2 && (cfg.ram_bytes = strtoull(argv[1], &end, 0) << 20, *end))) {
		fprintf(stderr, "usage: pinmm_demo [RAM_MIB]\n");
		return 2;
	}
	cfg.nr_hugepages_2m = 4;
	cfg.nr_hugepages_1g = cfg.ram_bytes >= (3ULL << 30) ? 1 : 0;
	pinmm_set_log_stream(stdout);
	ret = pinmm_boot(&cfg);
	if (ret) {
		fprintf(stderr, "pinmm_demo: boot failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("booted: %llu MiB RAM, %llu MiB ZONE_MOVABLE, %llu MiB CMA\n", cfg.ram_bytes >> 20,
	       cfg.movable_bytes >> 20, cfg.cma_bytes >> 20);

	section("buddyinfo after boot");
	pinmm_buddyinfo_print(stdout);

	small = alloc_page(GFP_KERNEL | __GFP_ZERO);
	order1 = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	thp = alloc_pages(GFP_TRANSHUGE, HPAGE_PMD_ORDER);
	huge2m = dequeue_huge_page(size_to_hstate(2UL << 20));
	huge1g = cfg.nr_hugepages_1g ? dequeue_huge_page(size_to_hstate(1UL << 30)) : NULL;
	if (!small || !order1 || !thp || !huge2m || (cfg.nr_hugepages_1g && !huge1g)) {
		fprintf(stderr, "pinmm_demo: allocation failed\n");
		return 1;
	}
	get_page(thp + 7);

	section("dump_page");
	dump_page(small, "demo: order-0 page");
	dump_page(order1 + 1, "demo: tail of an order-1 compound page");
	dump_page(thp + 7, "demo: subpage 7 of an order-9 compound page, one extra reference");
	dump_page(huge2m, "demo: 2 MiB hugetlb page");
	if (huge1g)
		dump_page(huge1g + 262143, "demo: last subpage of a 1 GiB hugetlb page");

	section("/proc/meminfo hugetlb");
	pinmm_hugetlb_report(stdout);
	section("/proc/buddyinfo with the pages allocated");
	pinmm_buddyinfo_print(stdout);

	put_page(thp + 7);
	put_page(thp);
	put_page(order1);
	put_page(small);
	put_page(huge2m);
	if (huge1g)
		put_page(huge1g);

	section("/proc/vmstat");
	pinmm_vmstat_print(stdout);

	section("shutdown");
	ret = pinmm_shutdown();
	printf("pinmm_shutdown: %d (%s)\n", ret, ret ? strerror(-ret) : "nothing leaked");
	return ret ? 1 : 0;
}
