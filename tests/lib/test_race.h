/* SPDX-License-Identifier: MIT */
/*
 * Two race points made to meet, for tests that reproduce a race deterministically through
 * <pinmm/inject.h>: the thread that reaches the first point waits there until another thread
 * reaches the second; that one then waits (up to second_wait_ms) until the test sets done,
 * which the first thread's operation does when it finishes. The caller registers
 * race_pair_at_first / race_pair_at_second on its two points with the pair as their argument.
 */
#ifndef PINMM_TEST_RACE_H
#define PINMM_TEST_RACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

struct race_pair {
	atomic_int at_first, at_second, done;
	long second_wait_ms;
};

/* Wait up to ms milliseconds for *flag; false when it never came. */
static inline bool wait_flag(atomic_int *flag, long ms)
{
	for (long waited = 0; !atomic_load(flag); waited++) {
		if (waited >= ms * 10)
			return false;
		usleep(100);
	}
	return true;
}

/* Arm the pair for one round. */
static inline void race_pair_reset(struct race_pair *r, long second_wait_ms)
{
	atomic_store(&r->at_first, 0);
	atomic_store(&r->at_second, 0);
	atomic_store(&r->done, 0);
	r->second_wait_ms = second_wait_ms;
}

static inline void race_pair_at_first(const char *point, void *arg)
{
	struct race_pair *r = arg;

	(void)point;
	atomic_store(&r->at_first, 1);
	wait_flag(&r->at_second, 1000);
}

/* Only the first arrival after the first point stops; later ones pass. */
static inline void race_pair_at_second(const char *point, void *arg)
{
	struct race_pair *r = arg;

	(void)point;
	if (!atomic_load(&r->at_first) || atomic_exchange(&r->at_second, 1))
		return;
	wait_flag(&r->done, r->second_wait_ms);
}

#endif /* PINMM_TEST_RACE_H */
