/* SPDX-License-Identifier: MIT */
/*
 * gup_benchmark_ioctl(): Linux 5.7's mm/gup_benchmark.c command table on the shared timed walk
 * (bench_walk.c). Only FOLL_WRITE reaches the GUP calls; the PIN commands are checked with
 * page_maybe_dma_pinned() between the two timed spans. Contract: <pinmm/debugfs/gup_benchmark.h>.
 */
#include <errno.h>

#include <pinmm/debugfs/gup_benchmark.h>

#include "bench_walk.h"

int gup_benchmark_ioctl(unsigned int cmd, struct gup_benchmark *gup)
{
	struct gup_bench b = { 0 };
	int ret;

	switch (cmd) {
	case GUP_FAST_BENCHMARK:
		b.call = GUP_BENCH_GET_FAST;
		break;
	case GUP_LONGTERM_BENCHMARK:
	case GUP_BENCHMARK:
		b.call = GUP_BENCH_GET;
		break;
	case PIN_FAST_BENCHMARK:
		b.call = GUP_BENCH_PIN_FAST;
		break;
	case PIN_BENCHMARK:
		b.call = GUP_BENCH_PIN;
		break;
	default:
		return -EINVAL;
	}
	if (!gup)
		return -EFAULT;
	if (gup->size != (unsigned long)gup->size)
		return -EINVAL;
	b.addr = (unsigned long)gup->addr;
	b.size = (unsigned long)gup->size;
	b.nr_pages_per_call = gup->nr_pages_per_call;
	b.gup_flags = gup->flags & FOLL_WRITE;
	if (cmd == GUP_LONGTERM_BENCHMARK)
		b.gup_flags |= FOLL_LONGTERM;

	ret = gup_bench_get(&b);
	if (ret)
		return ret;
	if (cmd == PIN_FAST_BENCHMARK || cmd == PIN_BENCHMARK)
		gup_bench_check_pinned(&b, false, false, "gup_benchmark failure");
	gup_bench_put(&b);

	gup->flags &= FOLL_WRITE;
	gup->get_delta_usec = b.get_usec;
	gup->put_delta_usec = b.put_usec;
	gup->size = b.walked;
	return 0;
}
