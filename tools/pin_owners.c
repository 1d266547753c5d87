/* SPDX-License-Identifier: MIT */
/*
 * pin_owners: print the live pin-owner table (<pinmm/pin_owner.h>) of a scenario run on a
 * machine it boots with pin owners on. Each of -j threads, a CPU of one mm, holds a pin of 4
 * pages taken with pin_user_pages() (hold_slow()) and of a 2 MiB THP taken with
 * pin_user_pages_fast() (hold_thp()), and pins and unpins 8 pages 100 times (churn(), whose
 * site fills a hold-time histogram); the main thread registers 2 pages as an io_uring buffer.
 * After -s milliseconds the table of the pins held at least -o milliseconds is printed to
 * stdout (pinmm_pin_owners_print(): each record with its culprit and backtrace, then each call
 * site with its counts and histogram). Then everything is released and the machine shut down.
 *
 * -l leaves one page pinned (leak_one()): the last mmput() and the shutdown report it on
 * stderr, naming leak_one and its line, and the exit status is 1 (docs/observability.md's
 * worked leak hunt).
 *
 * Usage: pin_owners [-h] [-j THREADS] [-s SLEEP_MS] [-o OLDER_MS] [-l] [-R 5.7|modern]
 * Exit status: 0, 1 when the scenario failed or shutdown found a leak, 2 for bad usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#include "lib/tool_rules.h"

#define SZ_2M (2UL << 20)
#define MAX_THREADS 64
#define CHURN_ROUNDS 100

struct worker {
	struct mm_struct *mm;
	unsigned long base; /* 4 MiB: a THP-aligned 2 MiB, then 4 + 8 small pages */
	struct page *slow[4], *thp[512];
	long held_slow, held_thp;
	int err;
};

static long hold_slow(struct worker *w)
{
	long n;

	mmap_read_lock(w->mm);
	n = pin_user_pages(w->base + SZ_2M, 4, FOLL_WRITE | FOLL_LONGTERM, w->slow);
	mmap_read_unlock(w->mm);
	return n;
}

static long hold_thp(struct worker *w)
{
	return pin_user_pages_fast(w->base, 512, FOLL_WRITE, w->thp);
}

static int churn(struct worker *w)
{
	struct page *pages[8];

	for (int i = 0; i < CHURN_ROUNDS; i++) {
		long n = pin_user_pages_fast(w->base + SZ_2M + 4 * 4096UL, 8, 0, pages);

		if (n != 8)
			return n < 0 ? (int)n : -EFAULT;
		unpin_user_pages(pages, 8);
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	kthread_use_mm(w->mm);
	w->held_slow = hold_slow(w);
	w->held_thp = hold_thp(w);
	w->err = churn(w);
	if (w->held_slow != 4 || w->held_thp != 512)
		w->err = -EFAULT;
	kthread_unuse_mm(w->mm);
	return NULL;
}

/* The -l leak: one page pinned and never released (not inlined, so the report names it). */
static __attribute__((noinline)) long leak_one(unsigned long addr)
{
	struct page *page;

	return pin_user_pages_fast(addr, 1, FOLL_WRITE, &page);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: pin_owners [-h] [-j THREADS] [-s SLEEP_MS] [-o OLDER_MS] [-l] "
		     "[-R 5.7|modern]\n"
		     "  -j  threads pinning, 1-%d (default 2)\n"
		     "  -s  milliseconds to hold the pins before printing (default 0)\n"
		     "  -o  print only the pins held at least this many milliseconds (default 0)\n"
		     "  -l  leak one pin: the mm teardown and shutdown report it; exit status 1\n"
		     "  -R  rule set, 5.7 or modern (default: PINMM_RULES, else 5.7)\n"
		     "  -h  this message\n",
		MAX_THREADS);
}

static _Noreturn void bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pin_owners: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	exit(2);
}

static unsigned long number(const char *opt, const char *arg, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < lo || v > hi)
		bad_usage("-%s %s: not a number in %lu..%lu", opt, arg, lo, hi);
	return v;
}

int main(int argc, char **argv)
{
	unsigned long nthreads = 2, sleep_ms = 0, older_ms = 0;
	enum pinmm_rules rules = PINMM_RULES_DEFAULT;
	struct worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	struct pinmm_config cfg;
	struct io_ring_ctx *ctx;
	struct iovec iov;
	struct mm_struct *mm;
	unsigned long area, base;
	bool leak = false;
	int opt, ret = 0;
	long printed;

	while ((opt = getopt(argc, argv, "hj:s:o:lR:")) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'j':
			nthreads = number("j", optarg, 1, MAX_THREADS);
			break;
		case 's':
			sleep_ms = number("s", optarg, 0, 60000);
			break;
		case 'o':
			older_ms = number("o", optarg, 0, 3600000);
			break;
		case 'l':
			leak = true;
			break;
		case 'R':
			if (tool_rules_option("pin_owners", optarg, &rules))
				return 2;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		bad_usage("unexpected argument %s", argv[optind]);
	if (tool_rules_env_check(rules)) {
		fprintf(stderr, "pin_owners: PINMM_RULES=%s: not a rule set (5.7 or modern)\n",
			getenv("PINMM_RULES"));
		return 2;
	}

	pinmm_config_default(&cfg);
	cfg.rules = rules;
	cfg.pin_owner = true;
	if (pinmm_boot(&cfg)) {
		fprintf(stderr, "pin_owners: cannot boot the machine\n");
		return 1;
	}
	printf("pin_owners: rules %s, %lu thread(s), pins held %lu ms, table of pins held >= %lu "
	       "ms\n", tool_rules_name(), nthreads, sleep_ms, older_ms);
	mm = mm_alloc();
	kthread_use_mm(mm);
	/* One 4 MiB slot per thread, 2 MiB-aligned, plus the io_uring buffer's and the leak's
	 * pages after them. */
	area = vm_mmap(NULL, 0, (nthreads * 2 + 2) * SZ_2M, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, 0);
	if (IS_ERR_VALUE(area)) {
		fprintf(stderr, "pin_owners: cannot map the scenario's memory\n");
		return 1;
	}
	base = (area + SZ_2M - 1) & ~(SZ_2M - 1);
	for (unsigned long i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.mm = mm, .base = base + i * 2 * SZ_2M};
		pthread_create(&tid[i], NULL, worker_main, &w[i]);
	}
	ctx = io_ring_ctx_alloc();
	iov = (struct iovec){(void *)(base + nthreads * 2 * SZ_2M), 2 * 4096};
	if (!ctx || io_sqe_buffers_register(ctx, &iov, 1)) {
		fprintf(stderr, "pin_owners: the io_uring registration failed\n");
		ret = 1;
	}
	if (leak && leak_one(base + nthreads * 2 * SZ_2M + 2 * 4096) != 1)
		ret = 1;
	for (unsigned long i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		if (w[i].err) {
			fprintf(stderr, "pin_owners: thread %lu: %s\n", i, strerror(-w[i].err));
			ret = 1;
		}
	}
	if (sleep_ms) {
		struct timespec ts = {(time_t)(sleep_ms / 1000), (long)(sleep_ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
	printed = pinmm_pin_owners_print(stdout, older_ms * 1000000ULL);
	if (printed < 0) {
		fprintf(stderr, "pin_owners: the owner table: %s\n", strerror((int)-printed));
		ret = 1;
	}
	for (unsigned long i = 0; i < nthreads; i++) {
		if (w[i].held_slow > 0)
			unpin_user_pages(w[i].slow, (unsigned long)w[i].held_slow);
		if (w[i].held_thp > 0)
			unpin_user_pages(w[i].thp, (unsigned long)w[i].held_thp);
	}
	if (ctx) {
		io_sqe_buffers_unregister(ctx);
		io_ring_ctx_free(ctx);
	}
	vm_munmap(area, (nthreads * 2 + 2) * SZ_2M);
	kthread_unuse_mm(mm);
	mmput(mm);
	if (pinmm_shutdown()) {
		fprintf(stderr, "pin_owners: shutdown found leaked pins (reported above)\n");
		ret = 1;
	}
	return ret;
}
