/* SPDX-License-Identifier: MIT */
/*
 * How long the stress tier runs. `make check` runs every tier briefly: each stress test does
 * its own fixed, short amount of work. `make check-stress DURATION=<seconds>` sets
 * PINMM_STRESS_SECONDS, and each stress test then keeps going (at least its brief amount)
 * until that many seconds have passed, per test case.
 *
 *	struct stress_clock c;
 *
 *	stress_start(&c);
 *	for (round = 0; stress_more(&c, round, ROUNDS); round++)
 *		...
 *
 * Tests bounded by time rather than by count take stress_seconds(brief) as their budget.
 */
#ifndef PINMM_TEST_STRESS_H
#define PINMM_TEST_STRESS_H

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* PINMM_STRESS_SECONDS as a positive number of seconds, or 0 when unset or not one. */
static inline double stress_duration(void)
{
	const char *s = getenv("PINMM_STRESS_SECONDS");
	char *end;
	double v;

	if (!s || !*s)
		return 0;
	v = strtod(s, &end);
	return (*end == '\0' && v > 0) ? v : 0;
}

/* A time budget: PINMM_STRESS_SECONDS if set, else brief (the `make check` budget). */
static inline double stress_seconds(double brief)
{
	double v = stress_duration();

	return v > 0 ? v : brief;
}

struct stress_clock {
	struct timespec t0;
	double seconds; /* 0: brief, count-bounded */
};

static inline void stress_start(struct stress_clock *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	c->seconds = stress_duration();
}

static inline double stress_elapsed(const struct stress_clock *c)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - c->t0.tv_sec) + (double)(t.tv_nsec - c->t0.tv_nsec) / 1e9;
}

/* Go on with round `done`? Always for the first `brief` rounds; past them only while a
 * duration was asked for and has not passed. */
static inline bool stress_more(const struct stress_clock *c, long done, long brief)
{
	if (done < brief)
		return true;
	return c->seconds > 0 && stress_elapsed(c) < c->seconds;
}

#endif /* PINMM_TEST_STRESS_H */
