/* SPDX-License-Identifier: MIT */
/*
 * kselftest's TAP output (Linux's tools/testing/selftests/kselftest.h) for the catalogue
 * programs, tools/cow.c and tools/gup_longterm.c: the header, the plan, "# [RUN] ..." and
 * "# ..." message lines, one result line per case, the totals line and the exit status.
 *
 * A case is opened with ksft_run(name), which prints "# [RUN] <name>"; exactly one of
 * ksft_pass() / ksft_fail() / ksft_skip() / ksft_xfail() then ends it, printing its reason (if
 * any) on a "# " line and then the result line that names the case:
 *
 *     ok <n> <name>                 not ok <n> <name>
 *     ok <n> # SKIP <name>          ok <n> # XFAIL <name>
 *
 * The rule that is easy to break: a case must end exactly once. A second result for the same
 * case, or a new ksft_run() while one is open, is counted as an error (error:N in the totals)
 * and printed as such, so that a program bug shows up in the totals rather than as a shifted
 * numbering.
 */
#ifndef PINMM_TOOLS_KSFT_H
#define PINMM_TOOLS_KSFT_H

#include <stdbool.h>

/* kselftest's exit statuses. */
#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

struct ksft_counts {
	unsigned int pass, fail, xfail, xpass, skip, error;
};

/* "TAP version 13" (unless KSFT_TAP_LEVEL is set, as kselftest's runner nests outputs). */
void ksft_print_header(void);
/* "1..<plan>": the number of cases the program will report. */
void ksft_set_plan(unsigned int plan);
/* "# <message>". */
void ksft_print_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open a case: remembers its name and prints "# [RUN] <name>". */
void ksft_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* End the open case. The reason (printf format, may be NULL for ksft_pass) is printed on a
 * "# " line before the result line. */
void ksft_pass(void);
void ksft_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ksft_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ksft_xfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ksft_pass() if pass, else ksft_fail() with the reason. */
void ksft_result(bool pass, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether the open case has ended (a helper that ended it early tells its caller so). */
bool ksft_case_done(void);

/* The counts so far. */
struct ksft_counts ksft_counts(void);

/*
 * End the output: a case still open counts as an error; "# Planned tests != run tests (p != r)"
 * when they differ; "# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N". Returns the exit
 * status: KSFT_FAIL when anything failed, was an error or the plan was not met, else KSFT_PASS
 * (skips and expected failures do not fail a run, as in kselftest).
 */
int ksft_finish(void);

/* "Bail out! <reason>", the totals, and exit(KSFT_FAIL) (ksft_exit_fail_msg()). */
_Noreturn void ksft_exit_fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PINMM_TOOLS_KSFT_H */
