/* SPDX-License-Identifier: MIT */
/*
 * The kernel side of Linux 5.7's gup_benchmark (mm/gup_benchmark.c, the debugfs file
 * "gup_benchmark"): time get_user_pages*() or pin_user_pages*() over a range of the calling
 * thread's current mm, check the pins, and time the release. tools/gup_benchmark drives it.
 *
 * Not included by <pinmm/pinmm.h>: <pinmm/debugfs/gup_test.h>, the interface that replaced
 * this one in Linux 5.11, gives some of the same command names other numbers, so a program
 * includes the one it speaks. The tools' ioctl headers live in include/pinmm/debugfs/, apart
 * from the library's API. The command values are Linux's ioctl numbers (type 'g', _IOWR on the
 * struct).
 */
#ifndef PINMM_GUP_BENCHMARK_H
#define PINMM_GUP_BENCHMARK_H

#include <linux/ioctl.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gup_benchmark {
	uint64_t get_delta_usec;    /* out: microseconds spent in the GUP calls */
	uint64_t put_delta_usec;    /* out: microseconds spent releasing the pages */
	uint64_t addr;              /* in: start of the range, a user address of the current mm */
	uint64_t size;              /* in: bytes; out: the span the walk covered (see below) */
	uint32_t nr_pages_per_call; /* in: pages asked for by each call */
	uint32_t flags;             /* in: FOLL_WRITE or 0; every other bit is cleared */
	uint64_t expansion[10];     /* unused */
};

#define GUP_FAST_BENCHMARK _IOWR('g', 1, struct gup_benchmark)     /* get_user_pages_fast */
#define GUP_LONGTERM_BENCHMARK _IOWR('g', 2, struct gup_benchmark) /* get_user_pages, LONGTERM */
#define GUP_BENCHMARK _IOWR('g', 3, struct gup_benchmark)          /* get_user_pages */
#define PIN_FAST_BENCHMARK _IOWR('g', 4, struct gup_benchmark)     /* pin_user_pages_fast */
#define PIN_BENCHMARK _IOWR('g', 5, struct gup_benchmark)          /* pin_user_pages */

/*
 * Run command cmd on *gup, as the ioctl on Linux 5.7's debugfs file does:
 *   - walk [addr, addr + size) in calls of nr_pages_per_call pages (the last one shortened to
 *     the end of the range), timed as get_delta_usec; the walk stops after a call that fails
 *     or returns fewer pages than it was asked for, and size is rewritten to the span walked:
 *     up to the start of the call that failed, or to the end of the span asked of the call
 *     that came back short (5.7's arithmetic: a short last call leaves size whole);
 *   - for PIN_FAST_BENCHMARK and PIN_BENCHMARK, untimed, check page_maybe_dma_pinned() on
 *     every page taken; the first that fails WARNs "pages[<i>] is NOT dma-pinned" and is shown
 *     with dump_page(page, "gup_benchmark failure");
 *   - release, timed as put_delta_usec: put_page() per page for the GUP_* commands, one
 *     unpin_user_pages() for the PIN_* ones.
 * The non-fast commands hold the current mm's mmap read lock across the walk and the release
 * (5.7 forgot to; Linux 5.10 fixed it). flags comes back holding only FOLL_WRITE. A GUP call
 * that fails is not an error of the command: it shows as a shortened size.
 *
 * Returns 0 (*gup updated), or, with *gup unchanged:
 *   -EINVAL  cmd is not one of the five commands above (any other number, including the
 *            <pinmm/debugfs/gup_test.h> commands); size does not fit in an unsigned long
 *   -EFAULT  gup is NULL (Linux: the copy of the struct from user space faulted)
 *   -ENOMEM  no memory for the array of size / PAGE_SIZE page pointers
 *   -ESRCH   the calling thread has no current mm (Linux: a process always has one)
 */
int gup_benchmark_ioctl(unsigned int cmd, struct gup_benchmark *gup);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_GUP_BENCHMARK_H */
