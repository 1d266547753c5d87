/* SPDX-License-Identifier: MIT */
/*
 * The simulated devices' random delays (the block device's threads, src/block/blk-core.c, and
 * the DMA engines, src/dma/engine.c): a per-thread xorshift generator, so that two devices never
 * share a random state, and a pause of some microseconds. A pause of 0 still yields the CPU:
 * a device that never waits would still let the thread it races run in between.
 */
#ifndef PINMM_LIB_DELAY_H
#define PINMM_LIB_DELAY_H

#include <sched.h>
#include <time.h>

/* The next number of the xorshift sequence in *state (never 0 once seeded non-zero). */
static inline unsigned int delay_rand(unsigned long long *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (unsigned int)(*state >> 32);
}

/* Sleep us microseconds, or yield the CPU if us is 0. */
static inline void delay_us(unsigned int us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

	if (us)
		nanosleep(&ts, NULL);
	else
		sched_yield();
}

#endif
