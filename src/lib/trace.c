/* SPDX-License-Identifier: MIT */
/*
 * Trace events (<pinmm/trace.h>): the flag the event sites check, one ring per thread that
 * records, the table of event names and argument keys, and the consuming reader that merges
 * the rings by time and prints ftrace's lines.
 *
 * Who talks to it: every layer's event sites, through trace_event() (src/lib/trace.h); tests and
 * tools through <pinmm/trace.h>.
 *
 * The rule that is easy to break: a ring has one writer (its thread) and any number of readers
 * (under read_lock), so a reader may see a slot while it is being overwritten. Every word of a
 * slot is an atomic, and the slot's sequence number says which event it holds: the writer makes
 * it odd before it writes the words (each a release store) and stores the event's even number
 * after (release); a reader takes the words (acquire loads) between an acquire load of the
 * number and a second load, and keeps them only if both loads gave the number it expected. Anything else
 * is an event lost to the overwrite, and counted so.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

atomic_bool trace_on;

/* How each event prints: its name and its arguments' keys; a key starting with '#' prints in
 * hex (0x...), the others in decimal. */
static const struct {
	const char *name;
	const char *keys[TRACE_MAX_ARGS];
} trace_events[NR_TRACE_EVENTS] = {
	[TRACE_GUP_PIN] = {"gup_pin", {"#start", "nr_pages", "#gup_flags", "ret"}},
	[TRACE_GUP_UNPIN] = {"gup_unpin", {"#pfn", "nr"}},
	[TRACE_MM_FAULT] = {"mm_handle_fault", {"#address", "#flags", "#ret"}},
	[TRACE_MM_COW] = {"mm_cow_page", {"#address", "#old_pfn", "#new_pfn", "nr"}},
	[TRACE_MM_MIGRATE_PAGE] = {"mm_migrate_page", {"#old_pfn", "#new_pfn", "order", "ret"}},
	[TRACE_WRITEBACK_DIRTY_PAGE] = {"writeback_dirty_page", {"fd", "index"}},
	[TRACE_WRITEBACK_WRITE_PAGE] = {"writeback_write_page", {"fd", "index"}},
	[TRACE_WRITEBACK_END_PAGE] = {"writeback_end_page", {"fd", "index", "err"}},
	[TRACE_MM_VMSCAN_DIRECT_RECLAIM_BEGIN] = {"mm_vmscan_direct_reclaim_begin",
						  {"order", "#gfp_flags"}},
	[TRACE_MM_VMSCAN_DIRECT_RECLAIM_END] = {"mm_vmscan_direct_reclaim_end", {"nr_reclaimed"}},
	[TRACE_MM_VMSCAN_KSWAPD_WAKE] = {"mm_vmscan_kswapd_wake", {"nid", "order"}},
	[TRACE_MM_VMSCAN_LRU_SHRINK_INACTIVE] = {"mm_vmscan_lru_shrink_inactive",
						 {"nid", "nr_scanned", "nr_reclaimed"}},
};

/* A slot's words: the time (ns), the event id and argument count, the arguments. */
enum { W_TIME, W_ID, W_ARGS, NR_WORDS = W_ARGS + TRACE_MAX_ARGS };

struct trace_slot {
	atomic_ullong seq; /* 2 * ticket + 1 while written, 2 * ticket + 2 once written */
	atomic_ullong w[NR_WORDS];
};

struct trace_ring {
	unsigned int cpu;
	int tid;
	char comm[16];
	atomic_ullong head;      /* events ever recorded; the next ticket */
	unsigned long long read; /* events read or lost (under read_lock) */
	struct trace_slot slots[PINMM_TRACE_RING_EVENTS];
};

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER; /* rings, nr_rings */
static struct trace_ring **rings;
static unsigned int nr_rings;
static pthread_mutex_t read_lock = PTHREAD_MUTEX_INITIALIZER; /* every ring's read, lost */
static unsigned long long lost;
static _Thread_local struct trace_ring *this_ring;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* The calling thread's ring, made and registered on its first event; NULL without memory
 * (the event is dropped: tracing never fails its caller). */
static struct trace_ring *ring_get(void)
{
	struct trace_ring *ring = this_ring, **grown;

	if (ring)
		return ring;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return NULL;
	ring->tid = (int)syscall(SYS_gettid);
	if (pthread_getname_np(pthread_self(), ring->comm, sizeof(ring->comm)) || !ring->comm[0])
		strcpy(ring->comm, "<...>");
	pthread_mutex_lock(&rings_lock);
	grown = realloc(rings, (nr_rings + 1) * sizeof(*rings));
	if (grown) {
		rings = grown;
		ring->cpu = nr_rings;
		rings[nr_rings++] = ring;
	}
	pthread_mutex_unlock(&rings_lock);
	if (!grown) {
		free(ring);
		return NULL;
	}
	this_ring = ring;
	return ring;
}

void trace_event_record(enum trace_event_id id, unsigned int nargs, const unsigned long *args)
{
	struct trace_ring *ring = ring_get();
	unsigned long long t;
	struct trace_slot *slot;

	if (!ring || id >= NR_TRACE_EVENTS)
		return;
	if (nargs > TRACE_MAX_ARGS)
		nargs = TRACE_MAX_ARGS;
	t = atomic_load_explicit(&ring->head, memory_order_relaxed);
	slot = &ring->slots[t % PINMM_TRACE_RING_EVENTS];
	atomic_store_explicit(&slot->seq, 2 * t + 1, memory_order_relaxed);
	/* Each word with release, pairing with the reader's acquire load of it: a reader that
	 * sees any word below also sees the odd number above on its second load. (No fences:
	 * TSan does not model them.) On x86 these are plain stores. */
	atomic_store_explicit(&slot->w[W_TIME], now_ns(), memory_order_release);
	atomic_store_explicit(&slot->w[W_ID], (unsigned long long)id << 8 | nargs,
			      memory_order_release);
	for (unsigned int i = 0; i < nargs; i++)
		atomic_store_explicit(&slot->w[W_ARGS + i], args[i], memory_order_release);
	/* Release: the words before the even number (the reader's acquire load). */
	atomic_store_explicit(&slot->seq, 2 * t + 2, memory_order_release);
	atomic_store_explicit(&ring->head, t + 1, memory_order_release);
}

void pinmm_trace_set(bool on)
{
	atomic_store_explicit(&trace_on, on, memory_order_relaxed);
}

bool pinmm_trace_enabled(void)
{
	return trace_enabled();
}

struct trace_rec {
	unsigned long long w[NR_WORDS];
	const struct trace_ring *ring;
};

/* Copy ticket t of ring into rec; false if the slot no longer (or not yet) holds it. */
static bool slot_read(const struct trace_ring *ring, unsigned long long t, struct trace_rec *rec)
{
	const struct trace_slot *slot = &ring->slots[t % PINMM_TRACE_RING_EVENTS];
	unsigned long long want = 2 * t + 2;

	if (atomic_load_explicit(&slot->seq, memory_order_acquire) != want)
		return false;
	for (int i = 0; i < NR_WORDS; i++)
		rec->w[i] = atomic_load_explicit(&slot->w[i], memory_order_acquire);
	rec->ring = ring;
	return atomic_load_explicit(&slot->seq, memory_order_relaxed) == want;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct trace_rec *x = a, *y = b;

	if (x->w[W_TIME] != y->w[W_TIME])
		return x->w[W_TIME] < y->w[W_TIME] ? -1 : 1;
	return x->ring->cpu < y->ring->cpu ? -1 : x->ring->cpu > y->ring->cpu;
}

static int rec_print(FILE *out, const struct trace_rec *rec)
{
	unsigned int id = (unsigned int)(rec->w[W_ID] >> 8), nargs = rec->w[W_ID] & 0xff;
	unsigned long long ns = rec->w[W_TIME];
	int err = 0;

	err |= fprintf(out, "%16s-%-7d [%03u] %5llu.%06llu: %s:", rec->ring->comm, rec->ring->tid,
		       rec->ring->cpu, ns / 1000000000ULL, ns % 1000000000ULL / 1000ULL,
		       trace_events[id].name) < 0;
	for (unsigned int i = 0; i < nargs; i++) {
		const char *key = trace_events[id].keys[i];

		if (key[0] == '#')
			err |= fprintf(out, " %s=0x%llx", key + 1, rec->w[W_ARGS + i]) < 0;
		else
			err |= fprintf(out, " %s=%lld", key, (long long)rec->w[W_ARGS + i]) < 0;
	}
	err |= fputc('\n', out) == EOF;
	return err;
}

/* Snapshot the rings' list (they are never freed, so the pointers stay good). */
static unsigned int rings_snapshot(struct trace_ring ***out)
{
	unsigned int n;

	pthread_mutex_lock(&rings_lock);
	n = nr_rings;
	*out = n ? malloc(n * sizeof(**out)) : NULL;
	if (*out)
		memcpy(*out, rings, n * sizeof(**out));
	else
		n = 0;
	pthread_mutex_unlock(&rings_lock);
	return n;
}

/* The events of ring from its read mark that are still there; those overwritten count as lost.
 * read_lock held. */
static unsigned long long ring_first(struct trace_ring *ring, unsigned long long head)
{
	if (head > PINMM_TRACE_RING_EVENTS && ring->read < head - PINMM_TRACE_RING_EVENTS) {
		lost += head - PINMM_TRACE_RING_EVENTS - ring->read;
		ring->read = head - PINMM_TRACE_RING_EVENTS;
	}
	return ring->read;
}

long pinmm_trace_read(FILE *out)
{
	struct trace_ring **snap;
	struct trace_rec *recs = NULL;
	size_t nr = 0, cap = 0;
	unsigned int n;
	int err = 0;

	if (!out)
		return -EINVAL;
	if (!trace_enabled())
		return -ENODEV;
	n = rings_snapshot(&snap);
	pthread_mutex_lock(&read_lock);
	for (unsigned int r = 0; r < n; r++) {
		struct trace_ring *ring = snap[r];
		unsigned long long head = atomic_load_explicit(&ring->head, memory_order_acquire);

		for (unsigned long long t = ring_first(ring, head); t < head; t++) {
			if (nr == cap) {
				size_t ncap = cap ? 2 * cap : 256;
				struct trace_rec *grown = realloc(recs, ncap * sizeof(*recs));

				if (!grown)
					break; /* the rest stays unread for the next call */
				recs = grown;
				cap = ncap;
			}
			if (slot_read(ring, t, &recs[nr]))
				nr++;
			else
				lost++;
			ring->read = t + 1;
		}
	}
	pthread_mutex_unlock(&read_lock);
	free(snap);
	if (nr)
		qsort(recs, nr, sizeof(*recs), rec_cmp);
	for (size_t i = 0; i < nr; i++)
		err |= rec_print(out, &recs[i]);
	free(recs);
	return err || fflush(out) ? -EIO : (long)nr;
}

long pinmm_trace_lost(void)
{
	struct trace_ring **snap;
	unsigned int n;
	long ret;

	if (!trace_enabled())
		return -ENODEV;
	n = rings_snapshot(&snap);
	pthread_mutex_lock(&read_lock);
	for (unsigned int r = 0; r < n; r++)
		ring_first(snap[r], atomic_load_explicit(&snap[r]->head, memory_order_acquire));
	ret = (long)lost;
	pthread_mutex_unlock(&read_lock);
	free(snap);
	return ret;
}

void pinmm_trace_reset(void)
{
	struct trace_ring **snap;
	unsigned int n = rings_snapshot(&snap);

	pthread_mutex_lock(&read_lock);
	for (unsigned int r = 0; r < n; r++)
		snap[r]->read = atomic_load_explicit(&snap[r]->head, memory_order_acquire);
	lost = 0;
	pthread_mutex_unlock(&read_lock);
	free(snap);
}

__attribute__((constructor)) static void trace_from_env(void)
{
	const char *v = getenv("PINMM_TRACE");

	if (v && !strcmp(v, "1"))
		pinmm_trace_set(true);
}
