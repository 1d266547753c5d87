/* SPDX-License-Identifier: MIT */
/*
 * The event sites' side of <pinmm/trace.h>: the events (their names and argument keys are in
 * trace.c's table, in this order) and trace_event(), which records one when tracing is on.
 *
 * The rule that is easy to break: a site costs one relaxed load of trace_on when tracing is
 * off, so the arguments are computed only behind trace_enabled(); never call
 * trace_event_record() without it, and never make a site compute anything before the check.
 */
#ifndef PINMM_LIB_TRACE_H
#define PINMM_LIB_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>

#include <pinmm/trace.h>

enum trace_event_id {
	TRACE_GUP_PIN,          /* a pin call: start nr_pages gup_flags ret */
	TRACE_GUP_UNPIN,        /* an unpin: pfn (head) nr */
	TRACE_MM_FAULT,         /* handle_mm_fault(): address flags ret */
	TRACE_MM_COW,           /* a COW copy: address old_pfn new_pfn nr */
	TRACE_MM_MIGRATE_PAGE,  /* one page migrated: old_pfn new_pfn order ret */
	TRACE_WRITEBACK_DIRTY_PAGE, /* set_page_dirty() of a file page: fd index */
	TRACE_WRITEBACK_WRITE_PAGE, /* a page sent to the device: fd index */
	TRACE_WRITEBACK_END_PAGE,   /* its writeback ended: fd index err */
	/* Reclaim (Linux's vmscan tracepoints, same names and keys), for src/vm/vmscan.c. */
	TRACE_MM_VMSCAN_DIRECT_RECLAIM_BEGIN, /* order gfp_flags */
	TRACE_MM_VMSCAN_DIRECT_RECLAIM_END,   /* nr_reclaimed */
	TRACE_MM_VMSCAN_KSWAPD_WAKE,          /* nid order */
	TRACE_MM_VMSCAN_LRU_SHRINK_INACTIVE,  /* nid nr_scanned nr_reclaimed */
	NR_TRACE_EVENTS
};

#define TRACE_MAX_ARGS 6

extern atomic_bool trace_on;

static inline bool trace_enabled(void)
{
	return __builtin_expect(atomic_load_explicit(&trace_on, memory_order_relaxed), 0);
}

/* Record event id with its nargs arguments (as the table orders them) in the calling
 * thread's ring. Only behind trace_enabled(). */
void trace_event_record(enum trace_event_id id, unsigned int nargs, const unsigned long *args);

#define trace_event(id, ...)                                                                       \
	do {                                                                                       \
		if (trace_enabled()) {                                                             \
			const unsigned long trace_args_[] = {__VA_ARGS__};                         \
			trace_event_record(id, sizeof(trace_args_) / sizeof(trace_args_[0]),       \
					   trace_args_);                                           \
		}                                                                                  \
	} while (0)

#endif /* PINMM_LIB_TRACE_H */
