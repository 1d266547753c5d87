/* SPDX-License-Identifier: MIT */
/*
 * The timed walk behind gup_benchmark_ioctl() (Linux 5.7) and gup_test_ioctl() (5.11+), which
 * differ only in their command tables and checks: take a range of the current mm in GUP calls
 * of a fixed size, check the pins, release. Only the GUP calls and the release are timed.
 */
#ifndef PINMM_GUP_BENCH_WALK_H
#define PINMM_GUP_BENCH_WALK_H

#include <stdint.h>

#include "internal.h"

enum gup_bench_call {
	GUP_BENCH_GET_FAST, /* get_user_pages_fast() */
	GUP_BENCH_PIN_FAST, /* pin_user_pages_fast() */
	GUP_BENCH_GET,      /* get_user_pages(), mmap read lock held */
	GUP_BENCH_PIN,      /* pin_user_pages(), mmap read lock held */
};

struct gup_bench {
	/* set by the caller */
	enum gup_bench_call call;
	unsigned long addr;
	unsigned long size;
	unsigned long nr_pages_per_call;
	unsigned int gup_flags;
	/* set by gup_bench_get() */
	struct mm_struct *mm;   /* locked for reading with the non-fast calls */
	struct page **pages;
	unsigned long nr_pages; /* pages taken */
	unsigned long walked;   /* bytes from addr the walk covered */
	uint64_t get_usec;
	/* set by gup_bench_put() */
	uint64_t put_usec;
};

/* Allocate the page array, take the current mm's mmap read lock for GUP_BENCH_GET/PIN, and
 * walk. Returns 0, or -ENOMEM (no array) / -ESRCH (no current mm) with nothing held. */
int gup_bench_get(struct gup_bench *b);

/* Untimed: WARN "pages[<i>] is NOT dma-pinned" for the first page taken that
 * page_maybe_dma_pinned() denies, or, if longterm, "pages[<i>] is NOT pinnable but pinned" for
 * the first in CMA, and dump_page() it (its head if dump_head) with reason. */
void gup_bench_check_pinned(const struct gup_bench *b, bool longterm, bool dump_head,
			    const char *reason);

/* Release what gup_bench_get() took (timed), drop the lock, free the array. */
void gup_bench_put(struct gup_bench *b);

#endif /* PINMM_GUP_BENCH_WALK_H */
