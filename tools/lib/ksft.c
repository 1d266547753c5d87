/* SPDX-License-Identifier: MIT */
/*
 * kselftest's TAP output for the catalogue programs (ksft.h). Single-threaded: the programs
 * run their cases one after another on the thread that prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ksft.h"

static struct ksft_counts counts;
static unsigned int plan, numbered;
static char case_name[512];
static bool case_open;

void ksft_print_header(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("KSFT_TAP_LEVEL"))
		printf("TAP version 13\n");
}

void ksft_set_plan(unsigned int n)
{
	plan = n;
	printf("1..%u\n", n);
}

static void vmsg(const char *fmt, va_list ap)
{
	fputs("# ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
}

void ksft_print_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void ksft_run(const char *fmt, ...)
{
	va_list ap;

	if (case_open) {
		/* The previous case never reported: a bug of the program, shown as an error. */
		counts.error++;
		printf("not ok %u %s # ERROR: no result\n", ++numbered, case_name);
	}
	va_start(ap, fmt);
	vsnprintf(case_name, sizeof(case_name), fmt, ap);
	va_end(ap);
	case_open = true;
	printf("# [RUN] %s\n", case_name);
}

bool ksft_case_done(void)
{
	return !case_open;
}

/* Print the reason and the result line of the open case. kind: NULL (ok), "not", "SKIP",
 * "XFAIL"; reason NULL for none. */
static void result(const char *kind, const char *reason)
{
	if (!case_open) {
		counts.error++;
		printf("# ERROR: a second result for %s\n", case_name);
		return;
	}
	if (reason)
		printf("# %s\n", reason);
	case_open = false;
	numbered++;
	if (!kind)
		printf("ok %u %s\n", numbered, case_name);
	else if (kind[0] == 'n')
		printf("not ok %u %s\n", numbered, case_name);
	else
		printf("ok %u # %s %s\n", numbered, kind, case_name);
}

void ksft_pass(void)
{
	if (case_open)
		counts.pass++;
	result(NULL, NULL);
}

#define RESULT_FN(fn, counter, kind)					\
	void fn(const char *fmt, ...)					\
	{								\
		char reason[512];					\
		va_list ap;						\
									\
		if (case_open)						\
			counts.counter++;				\
		va_start(ap, fmt);					\
		vsnprintf(reason, sizeof(reason), fmt, ap);		\
		va_end(ap);						\
		result(kind, reason);					\
	}

RESULT_FN(ksft_fail, fail, "not")
RESULT_FN(ksft_skip, skip, "SKIP")
RESULT_FN(ksft_xfail, xfail, "XFAIL")

void ksft_result(bool pass, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (pass) {
		ksft_pass();
		return;
	}
	if (case_open)
		counts.fail++;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	result("not", reason);
}

struct ksft_counts ksft_counts(void)
{
	return counts;
}

static void print_totals(void)
{
	printf("# Totals: pass:%u fail:%u xfail:%u xpass:%u skip:%u error:%u\n", counts.pass,
	       counts.fail, counts.xfail, counts.xpass, counts.skip, counts.error);
}

int ksft_finish(void)
{
	if (case_open) {
		counts.error++;
		printf("not ok %u %s # ERROR: no result\n", ++numbered, case_name);
		case_open = false;
	}
	if (plan != numbered)
		printf("# Planned tests != run tests (%u != %u)\n", plan, numbered);
	print_totals();
	return counts.fail || counts.error || plan != numbered ? KSFT_FAIL : KSFT_PASS;
}

void ksft_exit_fail_msg(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	print_totals();
	exit(KSFT_FAIL);
}
