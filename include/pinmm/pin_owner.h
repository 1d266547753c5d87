/* SPDX-License-Identifier: MIT */
/*
 * Pin owners: who holds each FOLL_PIN pin of the machine (pinmm's, in the spirit of Linux's
 * page_owner, mm/page_owner.c, and of Android's out-of-tree page_pinner). Linux counts pins
 * anonymously (GUP_PIN_COUNTING_BIAS, the compound pin count); with pin owners on, every pin
 * also gets a record: the call-site backtrace that took it, the thread, the mm, the time and
 * the FOLL_* flags. An unpin closes a record. docs/observability.md shows them at work.
 *
 * Switched on per machine, at boot: pinmm_config.pin_owner, or the environment variable
 * PINMM_PIN_OWNER=1 for any program (see pinmm_boot() in boot.h). Off, the pin and unpin paths
 * pay one predictable branch on a flag read at boot, and every query below returns -ENODEV.
 *
 * What a record is:
 *  - A grab is one record: a pin of one page is a record of one pin; a grab of refs
 *    consecutive subpages of one compound page (the fast path on a THP or hugetlb leaf, the
 *    slow path's whole-leaf grab under modern rules) is one record of refs pins, pfn being the
 *    first subpage pinned. Records are kept under the head page's pfn, where the pins count.
 *  - The matching rule: Linux's pins are anonymous counts on the head, so an unpin names no
 *    pin. Each pin an unpin drops closes one pin of the head's outstanding records: one that
 *    holds the subpage the unpin was given (unpin_user_page(), each entry of
 *    unpin_user_pages*(), each page of unpin_user_page_range_dirty_lock()) before any other,
 *    the calling thread's before another thread's, and among those the newest (LIFO per head
 *    page). Only a release that names no subpage (the fast path undoing its own grab) goes by
 *    the head alone. A record of several subpages keeps which of them it still holds.
 *  - Each closed pin adds its hold time to its call site's histogram; the last closed record
 *    of each page is kept (both call sites) to name the first unpin of a double unpin.
 *
 * Reports (on the log stream, <pinmm/bug.h>): an unpin that finds no outstanding pin of the
 * page WARNs (with the debug checks on, the debug checks' WARN), and the report names this
 * unpin's call site, the page's outstanding pins or, when there are none, the pin and the
 * unpin of its last closed record, and the outstanding pins of the pages around it in the
 * same 2 MiB block (a pointer to the wrong page, such as a tail computed as if an order-0 page
 * were compound). The last mmput() of an mm that still holds pins reports each of them (not a
 * WARN: a driver may keep pages pinned past the address space), and pinmm_shutdown() reports
 * every pin still outstanding. A record names its culprit: the first frame outside pinmm's own
 * sources, as function (file:line), symbolized only when printed (elfutils' libdw).
 */
#ifndef PINMM_PIN_OWNER_H
#define PINMM_PIN_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The frames of a call site kept per record (after the recording function itself). */
#define PINMM_PIN_OWNER_FRAMES 16

/*
 * Hold-time histogram buckets: bucket 0 counts pins held less than 1 us; bucket i (1 <= i <
 * PINMM_PIN_HOLD_BUCKETS - 1) those held at least 2^(i-1) us and less than 2^i us; the last
 * bucket those held 2^(PINMM_PIN_HOLD_BUCKETS - 2) us (about 18 minutes) or longer.
 */
#define PINMM_PIN_HOLD_BUCKETS 32

/* One outstanding record. */
struct pinmm_pin_owner {
	unsigned long pfn;               /* the (first) page pinned */
	unsigned long head_pfn;          /* its compound head, where the pins count */
	unsigned int nr_pins;            /* pins the record still holds (subpages pfn, pfn + 1, ...) */
	unsigned int gup_flags;          /* the FOLL_* flags of the grab (FOLL_PIN among them) */
	const void *mm;                  /* the mm pinned through; NULL once it was torn down */
	long tid;                        /* the pinning thread (gettid()) */
	unsigned long long pinned_ns;    /* CLOCK_MONOTONIC time of the pin */
	unsigned long long age_ns;       /* how long it has been held, at the query */
	unsigned long site;              /* its call site's id (pinmm_pin_site.id) */
	unsigned int nr_frames;
	void *frames[PINMM_PIN_OWNER_FRAMES]; /* return addresses, innermost first */
};

/* One call site: a distinct backtrace that pinned. */
struct pinmm_pin_site {
	unsigned long id;
	long outstanding;                /* pins taken here and not released */
	unsigned long released;          /* pins taken here and released */
	unsigned long hold_hist[PINMM_PIN_HOLD_BUCKETS]; /* hold times of the released pins */
	unsigned int nr_frames;
	void *frames[PINMM_PIN_OWNER_FRAMES];
};

/* Are pin owners tracked on the running machine? false when none is booted. */
bool pinmm_pin_owner_enabled(void);

/*
 * The outstanding records held at least older_than_ns (0: all of them), in pfn order, each
 * head's newest first. Up to max go to buf (buf may be NULL when max is 0); *total gets how
 * many there are, so that a caller whose buffer was short can retry. A snapshot: pins taken
 * and released meanwhile by other threads may or may not be in it.
 * Returns 0, or -ENODEV (no machine, or pin owners off; *total untouched), -EINVAL (total
 * NULL, or buf NULL with max > 0).
 */
int pinmm_pin_owners(unsigned long long older_than_ns, struct pinmm_pin_owner *buf, size_t max,
		     size_t *total);

/*
 * Every call site that ever pinned on this machine, with its outstanding count and the hold
 * times of its released pins, in the order of their ids. buf, max and *total as
 * pinmm_pin_owners(). Returns 0, -ENODEV or -EINVAL as pinmm_pin_owners().
 */
int pinmm_pin_sites(struct pinmm_pin_site *buf, size_t max, size_t *total);

/*
 * Print the live owner table to f (NULL: the log stream): each page pinned now (held at least
 * older_than_ns) with each of its records, its culprit (function, file:line) and its symbolized
 * backtrace; then each call site with pins outstanding or released, its counts and its
 * histogram's non-empty buckets. Returns the number of records printed, or -ENODEV as
 * pinmm_pin_owners(), or -ENOMEM (no memory for the snapshot; nothing printed).
 */
long pinmm_pin_owners_print(FILE *f, unsigned long long older_than_ns);

/*
 * Symbolize one return address of a record's frames into buf (at most size bytes, always
 * terminated): "function+0xoff (file:line)", "function+0xoff" without line information, or
 * "0x..." when nothing is known. Returns the length written (as snprintf(), truncated), or
 * -EINVAL (buf NULL or size 0). Works with pin owners off and without a machine.
 */
int pinmm_pin_owner_symbolize(void *addr, char *buf, size_t size);

/*
 * The first frame of frames[0 .. nr_frames) outside pinmm's own sources (a frame without line
 * information counts as outside: pinmm's own have it): the culprit a report names. Returns its
 * index, or -1 when every frame is pinmm's, or when pinmm's own frames cannot be told apart
 * (the library was built without line information libdw can find: clang needs
 * -gdwarf-aranges, which the Makefile adds).
 */
int pinmm_pin_owner_culprit(void *const *frames, unsigned int nr_frames);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_PIN_OWNER_H */
