/* SPDX-License-Identifier: MIT */
/*
 * WARN_ON / WARN_ON_ONCE / WARN / BUG_ON, with Linux's meaning: a WARN reports misuse or a
 * broken invariant and carries on; a BUG stops the machine.
 *
 * A WARN writes one line to the log stream:
 *     WARNING: at src/mm/page_alloc.c:212 __free_pages(): PageTail(page)
 * and bumps the count that pinmm_warn_count() returns. It never aborts. WARN_ON(cond) and
 * friends evaluate to cond, so they can sit in an if as in Linux.
 *
 * BUG_ON(cond) writes "kernel BUG at file:line function()!" and the condition, then abort()s.
 * VM_BUG_ON() is BUG_ON() in debug builds (PINMM_DEBUG_VM defined) and nothing otherwise; it
 * checks pinmm's own invariants, never caller input.
 */
#ifndef PINMM_BUG_H
#define PINMM_BUG_H

#include <stdbool.h>
#include <stdio.h>

#include "compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Set where WARN, BUG and dump_page() write; NULL means stderr. Returns the previous stream.
 * Thread-safe; lines are written whole (the stream is locked for each report). */
FILE *pinmm_set_log_stream(FILE *stream);

/* The stream reports currently go to (never NULL). */
FILE *pinmm_log_stream(void);

/* Number of WARNs reported by this process since it started (they are never reset, so tests
 * compare before and after). */
unsigned long pinmm_warn_count(void);

/* printf to the log stream, as one locked write. Used by dump_page() and the reports. */
void pinmm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The report behind the macros below; not for direct use. */
void __pinmm_warn(const char *file, int line, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
PINMM_NORETURN void __pinmm_bug(const char *file, int line, const char *func, const char *cond);

#define WARN(condition, ...)                                                                       \
	__extension__ ({                                                                           \
		bool __ret_warn = !!(condition);                                                   \
		if (__ret_warn)                                                                    \
			__pinmm_warn(__FILE__, __LINE__, __func__, __VA_ARGS__);                   \
		__ret_warn;                                                                        \
	})

#define WARN_ON(condition) WARN(condition, "%s", #condition)

#define WARN_ONCE(condition, ...)                                                                  \
	__extension__ ({                                                                           \
		static atomic_bool __warned;                                                       \
		bool __ret_once = !!(condition);                                                   \
		if (__ret_once && !atomic_exchange_explicit(&__warned, true, memory_order_relaxed)) \
			__pinmm_warn(__FILE__, __LINE__, __func__, __VA_ARGS__);                   \
		__ret_once;                                                                        \
	})

#define WARN_ON_ONCE(condition) WARN_ONCE(condition, "%s", #condition)

#define BUG_ON(condition)                                                                          \
	do {                                                                                       \
		if (condition)                                                                     \
			__pinmm_bug(__FILE__, __LINE__, __func__, #condition);                     \
	} while (0)

#define BUG() __pinmm_bug(__FILE__, __LINE__, __func__, "BUG()")

#ifdef PINMM_DEBUG_VM
#define VM_BUG_ON(condition) BUG_ON(condition)
#else
#define VM_BUG_ON(condition) ((void)sizeof(!!(condition)))
#endif

#ifdef __cplusplus
}
#endif

#endif /* PINMM_BUG_H */
