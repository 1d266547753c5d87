/* SPDX-License-Identifier: MIT */
/*
 * gup_test: Linux's tools/testing/selftests/mm/gup_test (5.11+), run on a simulated machine
 * that it boots for itself (sized for the request, see tools/lib/gup_tool.h). It maps the
 * memory, writes one byte per page, then runs one gup_test command (<pinmm/debugfs/gup_test.h>) in
 * each of -j threads, every thread on its own copy of the request and as a CPU of the same mm,
 * and reports in kselftest's TAP format:
 *
 *     TAP version 13
 *     1..<threads>
 *     # rules: <5.7 | modern>
 *     # <COMMAND>: Time: get:<usec> put:<usec> us[, truncated (size: <bytes>)]   (benchmarks)
 *     # <COMMAND>: done                                                         (tests)
 *     ok <n> ioctl status 0
 *     # Totals: pass:<n> fail:<n> xfail:0 xpass:0 skip:0 error:0
 *
 * The simulated kernel's log (WARNs, dump_page() of -c) goes to stderr, as dmesg would.
 *
 * Usage: gup_test [-m MiB] [-r repeats] [-n pages_per_call] [-F gup_flags] [-f file]
 *                 [-u | -a | -L | -U | -b | -c [-p]] [-j threads] [-w | -W] [-t | -T] [-S] [-H]
 *                 [-R 5.7|modern] [page_index ...]
 *   -u  GUP_FAST_BENCHMARK (the default)   -a  PIN_FAST_BENCHMARK   -L  PIN_LONGTERM_BENCHMARK
 *   -U  GUP_BASIC_TEST   -b  PIN_BASIC_TEST   -c  DUMP_USER_PAGES_TEST (page 0 unless page
 *   indexes, 0-based, up to 8, follow the options)   -p  the dump pins instead of getting
 *   -F  gup_flags in today's kernel's FOLL_* numbering (include/linux/mm_types.h of v6.12),
 *       any base strtol() reads; each bit is mapped to pinmm's (5.7's) value, and a bit pinmm
 *       has no flag for is refused (docs/gup_tools.md has the map). FOLL_WRITE is added
 *       unless -W.
 *   -w / -W  write (the default) / read-only   -n  pages per call, negative: the whole range
 *   -m, -r, -f, -t, -T, -S, -H, -R as gup_benchmark.   -z  refused ("Wrong argument"), as today.
 *
 * Errors end the run with "Bail out! <reason>" on stdout and exit 1, as kselftest's
 * ksft_exit_fail_msg() does; a bad -R value prints one line on stderr and exits 1, before
 * anything else. Differences from the original: the rule-set line; -n 0 and -j below 1 are
 * refused;
 * a failed command prints "# ioctl: <reason>" before its "not ok"; the time line is printed
 * whole (the original prints "# " before each of its three pieces); exit status 1 unless every
 * thread passed (the original's ksft_finished()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/debugfs/gup_test.h>

#include "lib/gup_tool.h"
#include "lib/tool_rules.h"

#define MiB (1UL << 20)

static unsigned int cmd = GUP_FAST_BENCHMARK;
static int repeats = 1;
static unsigned long size = 128 * MiB;
static struct mm_struct *test_mm;

/* kselftest's counters; print_mutex serialises them and the output of the threads. */
static pthread_mutex_t print_mutex = PTHREAD_MUTEX_INITIALIZER;
static unsigned int plan, nr_pass, nr_fail;

static const char *cmd_to_str(unsigned int c)
{
	switch (c) {
	case GUP_FAST_BENCHMARK:
		return "GUP_FAST_BENCHMARK";
	case PIN_FAST_BENCHMARK:
		return "PIN_FAST_BENCHMARK";
	case PIN_LONGTERM_BENCHMARK:
		return "PIN_LONGTERM_BENCHMARK";
	case GUP_BASIC_TEST:
		return "GUP_BASIC_TEST";
	case PIN_BASIC_TEST:
		return "PIN_BASIC_TEST";
	case DUMP_USER_PAGES_TEST:
		return "DUMP_USER_PAGES_TEST";
	}
	return "Unknown command";
}

static void print_totals(void)
{
	if (plan != nr_pass + nr_fail)
		printf("# Planned tests != run tests (%u != %u)\n", plan, nr_pass + nr_fail);
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n", nr_pass, nr_fail);
}

static _Noreturn void bail_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void bail_out(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	print_totals();
	exit(1);
}

/*
 * The FOLL_* bits of today's kernel (the enum in include/linux/mm_types.h of v6.12; Linux
 * renumbered them in 6.2 when the internal ones moved to mm/internal.h) and pinmm's flag for
 * each, 0 where pinmm (Linux 5.7) has none.
 */
static const struct {
	uint32_t linux_bit;
	uint32_t pinmm_flag;
	const char *name;
} foll_map[] = {
	{ 0x0001, FOLL_WRITE, "FOLL_WRITE" },
	{ 0x0002, FOLL_GET, "FOLL_GET" },
	{ 0x0004, FOLL_DUMP, "FOLL_DUMP" },
	{ 0x0008, FOLL_FORCE, "FOLL_FORCE" },
	{ 0x0010, FOLL_NOWAIT, "FOLL_NOWAIT" },
	{ 0x0020, 0, "FOLL_NOFAULT" },
	{ 0x0040, FOLL_HWPOISON, "FOLL_HWPOISON" },
	{ 0x0080, FOLL_ANON, "FOLL_ANON" },
	{ 0x0100, FOLL_LONGTERM, "FOLL_LONGTERM" },
	{ 0x0200, FOLL_SPLIT_PMD, "FOLL_SPLIT_PMD" },
	{ 0x0400, 0, "FOLL_PCI_P2PDMA" },
	{ 0x0800, 0, "FOLL_INTERRUPTIBLE" },
	{ 0x1000, 0, "FOLL_HONOR_NUMA_FAULT" },
};

/* -F's argument as pinmm's gup_flags; bails out on a number strtol() cannot read whole or a
 * bit with no pinmm flag. */
static uint32_t parse_gup_flags(const char *arg)
{
	uint32_t flags = 0, left;
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || v > UINT32_MAX || arg[strspn(arg, " \t")] == '-')
		bail_out("-F %s: not a gup_flags value", arg);
	left = (uint32_t)v;
	for (size_t i = 0; i < sizeof(foll_map) / sizeof(foll_map[0]); i++) {
		if (!(left & foll_map[i].linux_bit))
			continue;
		if (!foll_map[i].pinmm_flag)
			bail_out("-F %s: %s (%#x) is not supported by pinmm (Linux 5.7's GUP)", arg,
				 foll_map[i].name, foll_map[i].linux_bit);
		flags |= foll_map[i].pinmm_flag;
		left &= ~foll_map[i].linux_bit;
	}
	if (left)
		bail_out("-F %s: %#x is not a FOLL_* bit callers may pass (0x1 - 0x1000)", arg, left);
	return flags;
}

static bool is_benchmark(unsigned int c)
{
	return c == GUP_FAST_BENCHMARK || c == PIN_FAST_BENCHMARK || c == PIN_LONGTERM_BENCHMARK;
}

/* One thread: the command (repeated for the benchmarks) on a copy of *data, then its TAP
 * result line. */
static void *gup_thread(void *data)
{
	struct gup_test gup = *(struct gup_test *)data;
	char prefix[64];
	int ret = 0;

	snprintf(prefix, sizeof(prefix), "# %s: ", cmd_to_str(cmd));
	kthread_use_mm(test_mm);
	for (int i = 0; i < (is_benchmark(cmd) ? repeats : 1); i++) {
		gup.size = size;
		ret = gup_test_ioctl(cmd, &gup);
		if (ret)
			break;
		pthread_mutex_lock(&print_mutex);
		if (is_benchmark(cmd)) {
			gup_tool_print_time(stdout, prefix, gup.get_delta_usec, gup.put_delta_usec,
					    gup.size, size);
		} else {
			printf("%sdone\n", prefix);
			if (gup.size != size)
				printf("# Truncated (size: %lld)\n", (long long)gup.size);
		}
		pthread_mutex_unlock(&print_mutex);
	}
	kthread_unuse_mm(test_mm);

	pthread_mutex_lock(&print_mutex);
	if (ret) {
		printf("# ioctl: %s\n", strerror(-ret));
		nr_fail++;
	} else {
		nr_pass++;
	}
	printf("%sok %u ioctl status %d\n", ret ? "not " : "", nr_pass + nr_fail, ret ? -1 : 0);
	pthread_mutex_unlock(&print_mutex);
	return NULL;
}

static void run_threads(struct gup_test *gup, int nthreads)
{
	pthread_t *tid = calloc((size_t)nthreads, sizeof(*tid));
	int i, err = 0;

	if (!tid)
		bail_out("out of memory for %d threads", nthreads);
	for (i = 0; i < nthreads && !err; i++)
		err = pthread_create(&tid[i], NULL, gup_thread, gup);
	if (err)
		i--;
	for (int j = 0; j < i; j++)
		pthread_join(tid[j], NULL);
	free(tid);
	if (err)
		bail_out("pthread_create: %s", strerror(err));
}

int main(int argc, char **argv)
{
	struct gup_tool_request req = { .thp = -1, .map_flags = MAP_PRIVATE };
	int opt, nr_pages = 1, write = 1, nthreads = 1, ret;
	struct gup_test gup = { 0 };
	struct gup_tool t;
	char msg[256];

	while ((opt = getopt(argc, argv, "m:r:n:F:f:abcj:tTLUuwWSHpzR:")) != -1) {
		switch (opt) {
		case 'a':
			cmd = PIN_FAST_BENCHMARK;
			break;
		case 'b':
			cmd = PIN_BASIC_TEST;
			break;
		case 'L':
			cmd = PIN_LONGTERM_BENCHMARK;
			break;
		case 'c':
			cmd = DUMP_USER_PAGES_TEST;
			/* Page 0 (1-based: 1) unless page indexes follow the options. */
			gup.which_pages[0] = 1;
			break;
		case 'p':
			gup.test_flags |= GUP_TEST_FLAG_DUMP_PAGES_USE_PIN;
			break;
		case 'F':
			gup.gup_flags = parse_gup_flags(optarg);
			break;
		case 'j':
			nthreads = atoi(optarg);
			break;
		case 'm':
			/* As the original: a negative count becomes a huge size. */
			size = (unsigned long)atoi(optarg) * MiB;
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'n':
			/* Negative: the whole range, as -m stands when -n is read (the original's
			 * order dependence). */
			nr_pages = atoi(optarg);
			if (nr_pages < 0)
				nr_pages = (int)(size / PAGE_SIZE);
			break;
		case 'U':
			cmd = GUP_BASIC_TEST;
			break;
		case 'u':
			cmd = GUP_FAST_BENCHMARK;
			break;
		case 'w':
			write = 1;
			break;
		case 'W':
			write = 0;
			break;
		case 'R':
			if (tool_rules_option("gup_test", optarg, &req.rules))
				return 1;
			break;
		default: /* including 'z', which today's tool lists but no longer handles */
			if (!gup_tool_mapping_option(opt, optarg, &req))
				bail_out("Wrong argument");
		}
	}
	/* Page indexes to dump, 0-based here, 1-based in the request. */
	for (int i = 0; optind < argc && i < GUP_TEST_MAX_PAGES_TO_DUMP; i++, optind++)
		gup.which_pages[i] = (uint32_t)(strtol(argv[optind], NULL, 0) + 1);
	if (nr_pages == 0)
		bail_out("-n 0: a call takes at least one page");
	if (nthreads < 1)
		bail_out("-j %d: at least one thread", nthreads);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("KSFT_TAP_LEVEL"))
		printf("TAP version 13\n");
	plan = (unsigned int)nthreads;
	printf("1..%u\n", plan);

	req.size = size;
	ret = gup_tool_start(&t, &req);
	if (ret) {
		if (!strcmp(t.failed, "open"))
			snprintf(msg, sizeof(msg), "Unable to open %s: %s", req.file, strerror(-ret));
		else
			gup_tool_describe(&t, ret, msg, sizeof(msg));
		gup_tool_finish(&t);
		bail_out("%s", msg);
	}
	gup.nr_pages_per_call = (uint32_t)nr_pages;
	if (write)
		gup.gup_flags |= FOLL_WRITE;
	gup.addr = t.addr;
	test_mm = t.mm;
	printf("# rules: %s\n", tool_rules_name());

	run_threads(&gup, nthreads);
	ret = gup_tool_finish(&t);
	if (ret)
		bail_out("%s", gup_tool_describe(&t, ret, msg, sizeof(msg)));
	print_totals();
	return nr_pass == plan ? 0 : 1;
}
