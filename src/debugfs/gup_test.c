/* SPDX-License-Identifier: MIT */
/*
 * gup_test_ioctl(): Linux's mm/gup_test.c command table on the shared timed walk
 * (bench_walk.c), and the DUMP_USER_PAGES_TEST page dump. gup_flags reach the GUP calls
 * unfiltered, so a caller can provoke the calls' own WARNs and errors. Contract:
 * <pinmm/debugfs/gup_test.h>.
 */
#include <errno.h>

#include <pinmm/debugfs/gup_test.h>

#include "bench_walk.h"

/* Zero the out-of-range entries of which_pages (1-based), then dump the others. */
static void dump_pages_test(struct gup_test *gup, struct page **pages, unsigned long nr_pages)
{
	unsigned int i;

	for (i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		if (gup->which_pages[i] > nr_pages) {
			pinmm_log("ZEROING due to out of range: .which_pages[%u]: %u\n", i,
				  gup->which_pages[i]);
			gup->which_pages[i] = 0;
		}
	}
	for (i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		unsigned int index = gup->which_pages[i];

		if (!index)
			continue;
		index--;
		pinmm_log("---- page #%u, starting from user virt addr: 0x%llx\n", index,
			  (unsigned long long)gup->addr);
		dump_page(pages[index], "gup_test: dump_pages() test");
	}
}

int gup_test_ioctl(unsigned int cmd, struct gup_test *gup)
{
	struct gup_bench b = { 0 };
	bool pins = false;
	int ret;

	switch (cmd) {
	case GUP_FAST_BENCHMARK:
		b.call = GUP_BENCH_GET_FAST;
		break;
	case PIN_FAST_BENCHMARK:
		b.call = GUP_BENCH_PIN_FAST;
		pins = true;
		break;
	case PIN_LONGTERM_BENCHMARK:
	case PIN_BASIC_TEST:
		b.call = GUP_BENCH_PIN;
		pins = true;
		break;
	case GUP_BASIC_TEST:
		b.call = GUP_BENCH_GET;
		break;
	case DUMP_USER_PAGES_TEST:
		b.call = gup && (gup->test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN) ? GUP_BENCH_PIN
										       : GUP_BENCH_GET;
		break;
	default:
		return -EINVAL;
	}
	if (!gup)
		return -EFAULT;
	if (gup->size != (unsigned long)gup->size || gup->addr != (unsigned long)gup->addr ||
	    gup->addr + gup->size < gup->addr)
		return -EINVAL;
	b.addr = (unsigned long)gup->addr;
	b.size = (unsigned long)gup->size;
	b.nr_pages_per_call = gup->nr_pages_per_call;
	b.gup_flags = gup->gup_flags;
	if (cmd == PIN_LONGTERM_BENCHMARK)
		b.gup_flags |= FOLL_LONGTERM;

	ret = gup_bench_get(&b);
	if (ret)
		return ret;
	gup->get_delta_usec = b.get_usec;
	gup->size = b.walked;
	if (pins)
		gup_bench_check_pinned(&b, cmd == PIN_LONGTERM_BENCHMARK, true, "gup_test failure");
	if (cmd == DUMP_USER_PAGES_TEST)
		dump_pages_test(gup, b.pages, b.nr_pages);
	gup_bench_put(&b);
	gup->put_delta_usec = b.put_usec;
	return 0;
}
