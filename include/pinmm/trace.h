/* SPDX-License-Identifier: MIT */
/*
 * Trace events: a stream of what the memory manager did (pins, unpins, faults, COW copies,
 * migrations, writeback, reclaim), each event with its arguments, printed as ftrace prints
 * /sys/kernel/tracing/trace: one line per event,
 *
 *     <thread>-<tid> [cpu] seconds.micros: event_name: key=value key=value ...
 *
 * where cpu is the number of the thread's buffer (threads are the machine's CPUs) and the time
 * is CLOCK_MONOTONIC. The events, their arguments and the Linux tracepoints they stand for are
 * listed in docs/observability.md ("Trace events").
 *
 * Tracing is off by default and then costs one relaxed load of a flag at each event site,
 * nothing else (no buffer exists until a thread records its first event). On, each thread
 * records into its own ring of PINMM_TRACE_RING_EVENTS events (a single writer; readers
 * validate each slot with a sequence number, so reading never stops a writer); a full ring
 * overwrites its oldest events, and the events overwritten before they were read are counted
 * as lost. A thread's ring outlives the thread (its events stay readable) until the process
 * ends. The state is the process's, not a machine's: boot and shutdown leave it alone.
 *
 * All calls are thread-safe; reads are serialised among themselves.
 */
#ifndef PINMM_TRACE_H
#define PINMM_TRACE_H

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Events each thread's ring holds before it overwrites the oldest. */
#define PINMM_TRACE_RING_EVENTS 4096

/* Switch tracing on or off (Linux's tracing_on). Switching on keeps what the rings hold;
 * events are recorded only while on. The environment variable PINMM_TRACE=1 switches it on
 * when the library is loaded. */
void pinmm_trace_set(bool on);

/* Whether tracing is on. */
bool pinmm_trace_enabled(void);

/*
 * Print every event recorded and not yet read, of every thread, oldest first, to out, one line
 * each (the format above), and mark them read (a consuming read, as trace_pipe). Returns the
 * number of lines printed, or:
 *   -EINVAL  out NULL
 *   -ENODEV  tracing is off: nothing is being recorded (read while it is on; the events
 *            already recorded stay for the next read after it is switched on again)
 *   -EIO     writing to out failed (the events are marked read all the same)
 */
long pinmm_trace_read(FILE *out);

/* The number of events overwritten before they were read, since the last
 * pinmm_trace_reset(), over every thread; -ENODEV when tracing is off. */
long pinmm_trace_lost(void);

/* Drop every event and the lost count (the rings stay, empty). Tracing stays as it was. */
void pinmm_trace_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_TRACE_H */
