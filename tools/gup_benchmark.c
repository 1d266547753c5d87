/* SPDX-License-Identifier: MIT */
/*
 * gup_benchmark: Linux 5.7's tools/testing/selftests/vm/gup_benchmark, run on a simulated
 * machine that it boots for itself (sized for the request, see tools/lib/gup_tool.h). It maps
 * the memory, writes one byte per page, prints the machine's rule set ("# rules: 5.7" or
 * "# rules: modern"), then runs one gup_benchmark command (<pinmm/debugfs/gup_benchmark.h>) on
 * it once per repeat and prints, as the original does,
 *
 *     Time: get:<usec> put:<usec> us[, truncated (size: <bytes>)]
 *
 * Usage: gup_benchmark [-m MiB] [-r repeats] [-n pages_per_call] [-f file]
 *                      [-u | -U | -L | -a | -b] [-w] [-t | -T] [-S] [-H]
 *   -m  size of the mapping in MiB (128)      -r  repeats (1)
 *   -n  pages per GUP call (1)                -f  file to map (anonymous memory, as /dev/zero)
 *   -u  GUP_FAST_BENCHMARK (the default)      -U  GUP_BENCHMARK (get_user_pages)
 *   -L  GUP_LONGTERM_BENCHMARK                -a  PIN_FAST_BENCHMARK   -b  PIN_BENCHMARK
 *   -w  FOLL_WRITE (default: read)            -t / -T  MADV_HUGEPAGE / MADV_NOHUGEPAGE
 *   -S  MAP_SHARED instead of MAP_PRIVATE     -H  MAP_HUGETLB (anonymous, 2 MiB pages)
 *   -R  rule set, 5.7 or modern (default: PINMM_RULES, else 5.7); -L is refused under modern
 *       rules (a long-term FOLL_GET), as Linux 5.9 on has no such command
 *
 * Errors print one line on stderr and exit 1: "<step>: <reason>" as the original's perror()
 * does ("open", "mmap", "ioctl"), plus the steps the original has no counterpart for ("boot",
 * "touch" for the SIGBUS the original would die of, "shutdown" for leaked pages). Differences
 * from the original: the rule-set line; a bad -R value exits 1 with one line; -n below 1 is
 * refused (5.7 walked nothing and printed a size of 0);
 * an unknown option exits 255 after getopt's message, as the original's "return -1" does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <pinmm/debugfs/gup_benchmark.h>

#include "lib/gup_tool.h"
#include "lib/tool_rules.h"

#define MiB (1UL << 20)

static int fail(struct gup_tool *t, int err)
{
	char msg[256];

	fprintf(stderr, "%s\n", gup_tool_describe(t, err, msg, sizeof(msg)));
	gup_tool_finish(t);
	return 1;
}

int main(int argc, char **argv)
{
	struct gup_tool_request req = { .size = 128 * MiB, .thp = -1, .map_flags = MAP_PRIVATE };
	unsigned int cmd = GUP_FAST_BENCHMARK;
	struct gup_benchmark gup = { 0 };
	int opt, repeats = 1, nr_pages = 1, write = 0, ret;
	struct gup_tool t;

	while ((opt = getopt(argc, argv, "m:r:n:f:abtTLUuwSHR:")) != -1) {
		switch (opt) {
		case 'm':
			/* As the original: a negative count becomes a huge size. */
			req.size = (unsigned long)atoi(optarg) * MiB;
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'n':
			nr_pages = atoi(optarg);
			break;
		case 'a':
			cmd = PIN_FAST_BENCHMARK;
			break;
		case 'b':
			cmd = PIN_BENCHMARK;
			break;
		case 'L':
			cmd = GUP_LONGTERM_BENCHMARK;
			break;
		case 'U':
			cmd = GUP_BENCHMARK;
			break;
		case 'u':
			cmd = GUP_FAST_BENCHMARK;
			break;
		case 'w':
			write = 1;
			break;
		case 'R':
			if (tool_rules_option("gup_benchmark", optarg, &req.rules))
				return 1;
			break;
		default:
			if (!gup_tool_mapping_option(opt, optarg, &req))
				return -1;
		}
	}
	if (nr_pages < 1) {
		fprintf(stderr, "gup_benchmark: -n %d: a call takes at least one page\n", nr_pages);
		return 1;
	}

	ret = gup_tool_start(&t, &req);
	if (ret)
		return fail(&t, ret);
	gup.nr_pages_per_call = (uint32_t)nr_pages;
	if (write)
		gup.flags |= FOLL_WRITE;
	gup.addr = t.addr;
	printf("# rules: %s\n", tool_rules_name());

	for (int i = 0; i < repeats; i++) {
		gup.size = req.size;
		ret = gup_benchmark_ioctl(cmd, &gup);
		if (ret) {
			t.failed = "ioctl";
			return fail(&t, ret);
		}
		gup_tool_print_time(stdout, "", gup.get_delta_usec, gup.put_delta_usec, gup.size,
				    req.size);
	}
	fflush(stdout);
	ret = gup_tool_finish(&t);
	return ret ? fail(&t, ret) : 0;
}
