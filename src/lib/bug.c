/* SPDX-License-Identifier: MIT */
/*
 * The report side of WARN/BUG and the log stream they, dump_page() and shutdown write to.
 * Each report is written with the stream locked, so lines from different threads do not mix.
 */
#include <stdarg.h>
#include <stdlib.h>

#include <pinmm/bug.h>

static _Atomic(FILE *) log_stream;
static atomic_ulong warn_count;

FILE *pinmm_set_log_stream(FILE *stream)
{
	FILE *old = atomic_exchange(&log_stream, stream);

	return old ? old : stderr;
}

FILE *pinmm_log_stream(void)
{
	FILE *s = atomic_load(&log_stream);

	return s ? s : stderr;
}

unsigned long pinmm_warn_count(void)
{
	return atomic_load(&warn_count);
}

void pinmm_log(const char *fmt, ...)
{
	FILE *out = pinmm_log_stream();
	va_list ap;

	va_start(ap, fmt);
	flockfile(out);
	vfprintf(out, fmt, ap);
	funlockfile(out);
	va_end(ap);
}

void __pinmm_warn(const char *file, int line, const char *func, const char *fmt, ...)
{
	FILE *out = pinmm_log_stream();
	va_list ap;

	atomic_fetch_add(&warn_count, 1);
	va_start(ap, fmt);
	flockfile(out);
	fprintf(out, "WARNING: at %s:%d %s(): ", file, line, func);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	fflush(out);
	funlockfile(out);
	va_end(ap);
}

void __pinmm_bug(const char *file, int line, const char *func, const char *cond)
{
	FILE *out = pinmm_log_stream();

	flockfile(out);
	fprintf(out, "kernel BUG at %s:%d %s()!\n  condition: %s\n", file, line, func, cond);
	fflush(out);
	funlockfile(out);
	abort();
}
