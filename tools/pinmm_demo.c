/* SPDX-License-Identifier: MIT */
/*
 * pinmm_demo: boot a small machine (64 MiB), then pin what a driver would: a 4 KiB anonymous
 * page and one subpage of a transparent huge page, each with pin_user_pages_fast(). For each,
 * show the counts a pin moves (the head's refcount, the exact pin count of a THP,
 * page_maybe_dma_pinned(), nr_foll_pin_acquired / _released) and dump_page() while pinned,
 * then unpin and show them again. Ends with /proc/vmstat and a shutdown that must find
 * nothing leaked (exit status 0 only then). The simulated kernel's log goes to stdout.
 *
 * Usage: pinmm_demo [-R 5.7|modern] [RAM_MIB]   (default 64; at least 32; the rule set from
 * PINMM_RULES, else 5.7). The "booted:" line names the rule set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#define MiB (1UL << 20)
#define THP_SIZE (2 * MiB)

#include "lib/tool_rules.h"

static void section(const char *title)
{
	printf("\n== %s ==\n", title);
}

static void counts(const char *when, struct page *page)
{
	struct page *head = compound_head(page);

	printf("%s: head refcount %d", when, page_ref_count(head));
	if (hpage_pincount_available(head))
		printf(", compound_pincount %d", compound_pincount(head));
	printf(", page_maybe_dma_pinned %s; nr_foll_pin_acquired %ld, nr_foll_pin_released %ld\n",
	       page_maybe_dma_pinned(page) ? "yes" : "no",
	       global_node_page_state(NR_FOLL_PIN_ACQUIRED),
	       global_node_page_state(NR_FOLL_PIN_RELEASED));
}

/* Pin the page at addr, show it pinned and dumped, unpin it, show it again. */
static int pin_and_show(unsigned long addr, const char *what)
{
	struct page *page;
	char reason[128];
	int ret;

	ret = pin_user_pages_fast(addr, 1, FOLL_WRITE, &page);
	if (ret != 1) {
		fprintf(stderr, "pinmm_demo: pin_user_pages_fast(%s): %d\n", what, ret);
		return 1;
	}
	printf("pin_user_pages_fast(%#lx, 1, FOLL_WRITE) pinned %s (pfn %#lx)\n", addr, what,
	       page_to_pfn(page));
	counts("pinned", page);
	snprintf(reason, sizeof(reason), "demo: %s, pinned", what);
	dump_page(page, reason);
	unpin_user_pages_dirty_lock(&page, 1, true);
	counts("after unpin_user_pages_dirty_lock", page);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long small, area, thp;
	struct pinmm_config cfg;
	struct mm_struct *mm;
	char *end;
	int ret, opt;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	while ((opt = getopt(argc, argv, "R:")) != -1) {
		if (opt != 'R') {
			fprintf(stderr, "usage: pinmm_demo [-R 5.7|modern] [RAM_MIB]   (at least 32)\n");
			return 2;
		}
		if (tool_rules_option("pinmm_demo", optarg, &cfg.rules))
			return 2;
	}
	if (argc - optind > 1 ||
	    (argc - optind == 1 && (cfg.ram_bytes = strtoull(argv[optind], &end, 0) << 20, *end)) ||
	    cfg.ram_bytes < (32ULL << 20)) {
		fprintf(stderr, "usage: pinmm_demo [-R 5.7|modern] [RAM_MIB]   (at least 32)\n");
		return 2;
	}
	if (tool_rules_env_check(cfg.rules)) {
		fprintf(stderr, "pinmm_demo: PINMM_RULES=%s: not a rule set (5.7 or modern)\n",
			getenv("PINMM_RULES"));
		return 2;
	}
	cfg.movable_bytes = 8ULL << 20;
	cfg.cma_bytes = 8ULL << 20;
	cfg.thp = PINMM_THP_ALWAYS;
	pinmm_set_log_stream(stdout);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = pinmm_boot(&cfg);
	if (ret) {
		fprintf(stderr, "pinmm_demo: boot failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("booted: %llu MiB RAM, %llu MiB ZONE_MOVABLE, %llu MiB CMA, THP always, rules %s\n",
	       cfg.ram_bytes >> 20, cfg.movable_bytes >> 20, cfg.cma_bytes >> 20, tool_rules_name());
	section("/proc/buddyinfo after boot");
	pinmm_buddyinfo_print(stdout);

	mm = mm_alloc();
	if (!mm) {
		fprintf(stderr, "pinmm_demo: mm_alloc failed\n");
		return 1;
	}
	kthread_use_mm(mm);

	section("a 4 KiB anonymous page");
	small = vm_mmap(NULL, 0, 16 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(small) || copy_to_user(small, "demo", 5)) {
		fprintf(stderr, "pinmm_demo: mapping the small page failed\n");
		return 1;
	}
	if (pin_and_show(small, "a 4 KiB page"))
		return 1;

	section("a transparent huge page (order 9), subpage 7 pinned");
	/* 4 MiB mapped so that a 2 MiB-aligned range lies inside; its first write faults a THP. */
	area = vm_mmap(NULL, 0, 2 * THP_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	thp = (area + THP_SIZE - 1) & ~(THP_SIZE - 1);
	if (IS_ERR_VALUE(area) || copy_to_user(thp, "demo", 5)) {
		fprintf(stderr, "pinmm_demo: mapping the THP failed\n");
		return 1;
	}
	if (pin_and_show(thp + 7 * PAGE_SIZE, "subpage 7 of a THP"))
		return 1;

	kthread_unuse_mm(mm);
	mmput(mm);

	section("/proc/vmstat");
	pinmm_vmstat_print(stdout);

	section("shutdown");
	ret = pinmm_shutdown();
	printf("pinmm_shutdown: %d (%s)\n", ret, ret ? strerror(-ret) : "nothing leaked");
	return ret ? 1 : 0;
}
