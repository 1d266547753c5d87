/* SPDX-License-Identifier: MIT */
/*
 * The walk shared by gup_benchmark.c and gup_test.c (see bench_walk.h). The rule that is easy to
 * break: the walk's stop condition and the size it reports are Linux's arithmetic, quirks
 * included (a short call still counts the whole span it was asked for), because the tools
 * print "truncated" from it. Timing uses CLOCK_MONOTONIC as ktime_get() does and truncates to
 * microseconds as ktime_us_delta() does.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_walk.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long bench_call(const struct gup_bench *b, unsigned long addr, unsigned long nr,
		       struct page **pages)
{
	/* The fast calls take an int count; a chunk that large only happens for ranges of 8 TiB. */
	int nr_fast = nr > INT_MAX ? INT_MAX : (int)nr;

	switch (b->call) {
	case GUP_BENCH_GET_FAST:
		return get_user_pages_fast(addr, nr_fast, b->gup_flags, pages);
	case GUP_BENCH_PIN_FAST:
		return pin_user_pages_fast(addr, nr_fast, b->gup_flags, pages);
	case GUP_BENCH_GET:
		return get_user_pages(addr, nr, b->gup_flags, pages);
	case GUP_BENCH_PIN:
		return pin_user_pages(addr, nr, b->gup_flags, pages);
	}
	return -EINVAL;
}

static bool bench_locked(const struct gup_bench *b)
{
	return b->call == GUP_BENCH_GET || b->call == GUP_BENCH_PIN;
}

/*
 * Calls of nr_pages_per_call pages, the last one cut at the end of the range. A call that
 * fails ends the walk where it started; one that comes back short ends it at the end of the
 * span it was asked for (the next round sees nr != nr_pages_per_call). The page array has
 * size / PAGE_SIZE entries and the calls never ask for more than what is left of the range,
 * so it cannot overflow.
 */
static void bench_walk(struct gup_bench *b)
{
	unsigned long end = b->addr + b->size, addr, next;
	unsigned long nr = b->nr_pages_per_call, i = 0;
	uint64_t start;

	start = now_ns();
	for (addr = b->addr; addr < end; addr = next) {
		long got;

		if (nr != b->nr_pages_per_call)
			break;
		next = addr + nr * PAGE_SIZE;
		if (next > end || next < addr) {
			next = end;
			nr = (next - addr) / PAGE_SIZE;
		}
		got = bench_call(b, addr, nr, b->pages + i);
		if (got <= 0)
			break;
		i += (unsigned long)got;
		nr = (unsigned long)got;
	}
	b->get_usec = (now_ns() - start) / 1000;
	b->nr_pages = i;
	b->walked = addr - b->addr;
}

int gup_bench_get(struct gup_bench *b)
{
	unsigned long nr_pages = b->size / PAGE_SIZE;

	b->mm = current_mm();
	if (!b->mm)
		return -ESRCH;
	/* malloc + memset, not calloc: like the kernel's kvcalloc(), the array is written before
	 * the clock starts, so the host's first-touch faults on it are not timed as GUP. The
	 * empty asm keeps the compiler from fusing the two into calloc(), which skips the writes
	 * on memory fresh from mmap (glibc serves an array of 128 KiB and more from mmap: every
	 * call above 32 MiB, a 16 GiB range's array): 4 KiB of host faults per 512 pages, timed. */
	b->pages = kmalloc((nr_pages ? nr_pages : 1) * sizeof(*b->pages));
	if (!b->pages)
		return -ENOMEM;
	__asm__ volatile("" : : "r"(b->pages) : "memory");
	memset(b->pages, 0, (nr_pages ? nr_pages : 1) * sizeof(*b->pages));
	if (bench_locked(b))
		mmap_read_lock(b->mm);
	bench_walk(b);
	return 0;
}

void gup_bench_check_pinned(const struct gup_bench *b, bool longterm, bool dump_head,
			    const char *reason)
{
	for (unsigned long i = 0; i < b->nr_pages; i++) {
		struct page *page = b->pages[i];
		struct page *shown = dump_head ? compound_head(page) : page;

		if (WARN(!page_maybe_dma_pinned(page), "pages[%lu] is NOT dma-pinned", i) ||
		    (longterm && WARN(!is_longterm_pinnable_page(compound_head(page)),
				      "pages[%lu] is NOT pinnable but pinned", i))) {
			dump_page(shown, reason);
			break;
		}
	}
}

void gup_bench_put(struct gup_bench *b)
{
	bool pinned = b->call == GUP_BENCH_PIN_FAST || b->call == GUP_BENCH_PIN;
	uint64_t start;

	start = now_ns();
	gup_release_pages(b->pages, b->nr_pages, pinned ? FOLL_PIN : 0);
	b->put_usec = (now_ns() - start) / 1000;
	if (bench_locked(b))
		mmap_read_unlock(b->mm);
	free(b->pages);
	b->pages = NULL;
}
