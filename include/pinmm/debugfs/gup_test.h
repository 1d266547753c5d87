/* SPDX-License-Identifier: MIT */
/*
 * The kernel side of Linux's gup_test (mm/gup_test.c and mm/gup_test.h, the debugfs file
 * "gup_test", Linux 5.11+): the benchmarks of <pinmm/debugfs/gup_benchmark.h> renumbered, plus
 * basic GUP/pin tests and a dump_page() of chosen pages. tools/gup_test drives it.
 *
 * Not included by <pinmm/pinmm.h>: <pinmm/debugfs/gup_benchmark.h>, the 5.7 interface, gives
 * some of the same command names other numbers, so a program includes the one it speaks. The
 * command values are Linux's ioctl numbers (type 'g', _IOWR on the struct), including the
 * long-term pin session of Linux 6.2+ (PIN_LONGTERM_TEST_START/STOP/READ, 7-9, on which the
 * kernel's gup_longterm and cow selftests build).
 */
#ifndef PINMM_GUP_TEST_H
#define PINMM_GUP_TEST_H

#include <linux/ioctl.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GUP_TEST_MAX_PAGES_TO_DUMP 8

/* test_flags: DUMP_USER_PAGES_TEST takes the pages with pin_user_pages(), not get_. */
#define GUP_TEST_FLAG_DUMP_PAGES_USE_PIN 0x1

struct gup_test {
	uint64_t get_delta_usec;    /* out: microseconds spent in the GUP calls */
	uint64_t put_delta_usec;    /* out: microseconds spent releasing the pages */
	uint64_t addr;              /* in: start of the range, a user address of the current mm */
	uint64_t size;              /* in: bytes; out: the span the walk covered */
	uint32_t nr_pages_per_call; /* in: pages asked for by each call */
	uint32_t gup_flags;         /* in: FOLL_* flags, passed to the calls as they are */
	uint32_t test_flags;        /* in: GUP_TEST_FLAG_* */
	/* in: for DUMP_USER_PAGES_TEST, 1-based numbers of the pages to dump (page 1 is the one
	 * at addr); 0 means "nothing". out: numbers beyond the pages taken are zeroed. */
	uint32_t which_pages[GUP_TEST_MAX_PAGES_TO_DUMP];
};

#define GUP_FAST_BENCHMARK _IOWR('g', 1, struct gup_test)     /* get_user_pages_fast */
#define PIN_FAST_BENCHMARK _IOWR('g', 2, struct gup_test)     /* pin_user_pages_fast */
#define PIN_LONGTERM_BENCHMARK _IOWR('g', 3, struct gup_test) /* pin_user_pages, LONGTERM */
#define GUP_BASIC_TEST _IOWR('g', 4, struct gup_test)         /* get_user_pages */
#define PIN_BASIC_TEST _IOWR('g', 5, struct gup_test)         /* pin_user_pages */
#define DUMP_USER_PAGES_TEST _IOWR('g', 6, struct gup_test)   /* get_ (or pin_) user_pages */

/* PIN_LONGTERM_TEST_START's argument. flags: PIN_LONGTERM_TEST_FLAG_*. */
struct pin_longterm_test {
	uint64_t addr; /* page-aligned user address of the current mm */
	uint64_t size; /* bytes, page-aligned, not 0 */
	uint32_t flags;
};

#define PIN_LONGTERM_TEST_FLAG_USE_WRITE 1 /* pin with FOLL_WRITE */
#define PIN_LONGTERM_TEST_FLAG_USE_FAST 2  /* pin_user_pages_fast(), not pin_user_pages() */

#define PIN_LONGTERM_TEST_START _IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP _IO('g', 8)
#define PIN_LONGTERM_TEST_READ _IOW('g', 9, uint64_t)

/*
 * Run command cmd with argument arg, as the ioctl on Linux's debugfs file does. For the six
 * commands above PIN_LONGTERM_TEST_START, arg is a struct gup_test *gup, and:
 *   - walk [addr, addr + size) in calls of nr_pages_per_call pages with gup_flags as given
 *     (plus FOLL_LONGTERM for PIN_LONGTERM_BENCHMARK), timed as get_delta_usec; the walk and
 *     the size it reports back behave as gup_benchmark_ioctl()'s;
 *   - for the PIN_* commands, untimed, check every page taken: page_maybe_dma_pinned(), else
 *     WARN "pages[<i>] is NOT dma-pinned"; for PIN_LONGTERM_BENCHMARK also that the page may be
 *     pinned long-term (not in CMA), else WARN "pages[<i>] is NOT pinnable but pinned"; either
 *     WARN dumps the page's head with dump_page(head, "gup_test failure") and ends the check;
 *   - for DUMP_USER_PAGES_TEST, zero each which_pages[i] beyond the pages taken, logging
 *     "ZEROING due to out of range: .which_pages[<i>]: <n>", then for each non-zero entry log
 *     "---- page #<n - 1>, starting from user virt addr: 0x<addr>" and
 *     dump_page(page, "gup_test: dump_pages() test");
 *   - release, timed as put_delta_usec: put_page() per page, or one unpin_user_pages() for
 *     what was pinned.
 * The commands other than the two *_FAST_* ones hold the current mm's mmap read lock across
 * the walk, the checks and the release. A GUP call that fails is not an error of the command:
 * it shows as a shortened size.
 *
 * Returns 0 (*gup updated), or, with *gup unchanged:
 *   -EINVAL  cmd is none of the nine commands here (any other number, including the
 *            <pinmm/debugfs/gup_benchmark.h> commands); addr + size overflows
 *   -EFAULT  gup is NULL (Linux: the copy of the struct from user space faulted)
 *   -ENOMEM  no memory for the array of size / PAGE_SIZE page pointers
 *   -ESRCH   the calling thread has no current mm (Linux: a process always has one)
 * Several threads of one mm may run these commands at the same time, each on its own struct.
 *
 * The long-term pin session, one per machine (Linux keeps one for the system), serialised by
 * its own lock:
 *   PIN_LONGTERM_TEST_START, arg a struct pin_longterm_test *: pin [addr, addr + size) of the
 *     current mm with FOLL_LONGTERM (| FOLL_WRITE with ..._USE_WRITE), by pin_user_pages()
 *     under the mmap read lock or, with ..._USE_FAST, pin_user_pages_fast(), in as many calls
 *     as it takes, and keep the pins. Errors, with nothing pinned and no session:
 *       -EINVAL  a session is running; flags has other bits; addr or size not page-aligned;
 *                size 0 or above LONG_MAX
 *       -EFAULT  arg is NULL; a call pinned nothing (Linux would loop on it)
 *       -ENOMEM  no memory for the page array
 *       -ESRCH   no current mm
 *       the pin call's error (-EFAULT for a hole, -EOPNOTSUPP for fsdax, ...)
 *   PIN_LONGTERM_TEST_READ, arg a uint64_t * holding a user address of the current mm: copy the
 *     pinned pages' contents, in order, to that address with copy_to_user() (what the pins see,
 *     which after a COW may differ from what the mapping shows). Errors: -EINVAL no session;
 *     -EFAULT arg NULL, or a copy faulted (the pages before it have been copied, as in Linux).
 *   PIN_LONGTERM_TEST_STOP, arg unused: unpin and end the session; 0 even without one.
 * A session must be stopped before pinmm_shutdown(), which otherwise reports its pins as
 * leaked (as Linux would keep them until the debugfs file is closed); after a new boot, STOP
 * of a session of the old machine only forgets it.
 */
int gup_test_ioctl(unsigned int cmd, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_GUP_TEST_H */
