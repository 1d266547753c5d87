/* SPDX-License-Identifier: MIT */
/*
 * Perturbing the library at named points, for tests: one mechanism for both kinds of point.
 *
 * - Race points sit where a concurrent thread can slip in between two steps (for example
 *   "huge_memory:split_pmd_invalidated", after a PMD split has invalidated the PMD and before
 *   the PTE table is installed). A hook registered on a point runs there, in the thread that
 *   reached it: it can wake another thread and wait for it, so a test reproduces a race
 *   deterministically instead of hoping a loop hits it.
 * - Allocation sites ("alloc:pages", "alloc:pgtable", "alloc:kmalloc", "io:read", ...) are race
 *   points that can also be made to fail: by count (fail the Nth allocation from now, as SQLite's
 *   tests do), by probability with a seed, or only at sites whose names match. Linux's
 *   equivalents are fail_page_alloc / failslab (lib/fault-inject.c); a failed site returns the
 *   error its caller documents (-ENOMEM for memory, -EIO for host I/O).
 *
 * A point's name is "<file or concept>:<what has just happened>". A pattern names one point
 * exactly, or every point that starts with a prefix when it ends in '*'; "*" alone matches all.
 *
 * The points exist when the library is built with PINMM_HOOKS (the default build; `make
 * HOOKS=0` compiles every point out for benchmarks, and then every call below returns
 * -EOPNOTSUPP). With nothing registered a point costs one relaxed atomic load.
 *
 * The calls are thread-safe. A hook must not register or clear hooks itself.
 */
#ifndef PINMM_INJECT_H
#define PINMM_INJECT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*pinmm_hook_fn)(const char *point, void *arg);

/* Run fn(point, arg) every time a point matching pattern is reached. Registering a pattern that
 * is registered already replaces its hook; fn == NULL removes it.
 * Errors: -EINVAL (pattern NULL or empty, or longer than 63 characters), -ENOSPC (16 hooks are
 * registered already), -ENOENT (fn NULL and the pattern is not registered), -EOPNOTSUPP. */
int pinmm_hook_set(const char *pattern, pinmm_hook_fn fn, void *arg);

/* Remove every hook and disarm fault injection. Safe to call at any time outside a hook. */
void pinmm_hook_clear_all(void);

/* A ready-made hook: sched_yield() on about one point in four (liburcu's debug-yield idea),
 * to widen every race window at once; arg is ignored. */
void pinmm_hook_yield(const char *point, void *arg);

/* What fault injection fails. Counting starts when the attributes are set. */
struct pinmm_fail_attr {
	const char *sites;        /* pattern of the allocation sites that may fail; NULL = all */
	unsigned long nth;        /* fail the nth matching call (1 = the next one); 0 = no count */
	bool persistent;          /* with nth: fail the nth and every matching call after it
				   * (SQLite's persistent mode: error paths under lasting
				   * pressure) */
	unsigned int probability; /* per million matching calls, 0..1000000 */
	unsigned long seed;       /* for probability: the same seed and call order fail alike */
	unsigned long times;      /* at most this many failures, then disarm; 0 = no limit */
};

/* Arm fault injection with *attr, or disarm it when attr is NULL. A count and a probability
 * may be combined (a call fails when either says so).
 * Errors: -EINVAL (probability > 1000000, neither nth nor probability set, or a sites pattern
 * that is empty or longer than 63 characters), -EOPNOTSUPP. */
int pinmm_fail_set(const struct pinmm_fail_attr *attr);

/* Failures injected since the process started (never reset, so compare before and after). */
unsigned long pinmm_fail_injected(void);

/* Matching allocation calls seen since the last pinmm_fail_set() (a test's "N" runs to this). */
unsigned long pinmm_fail_calls(void);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* PINMM_INJECT_H */
