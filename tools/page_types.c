/* SPDX-License-Identifier: MIT */
/*
 * page_types: Linux's tools/mm/page-types on a simulated machine. It boots a machine, builds a
 * scenario in an mm of its own (the pid-like mm), and counts pages by their combination of
 * /proc/kpageflags bits (<pinmm/proc.h>), printing page-types' summary table:
 *
 *                  flags	page-count       MB  symbolic-flags	long-symbolic-flags
 *     0x0000000000000400	     61402      239  __________B_...	buddy
 *     ...
 *                  total	     65536      256
 *
 * one row per combination, in increasing order of flags; symbolic-flags has one letter per flag
 * (page-types' letters, and pinmm's K for KPF_PINMM_PINNED and k for KPF_PINMM_LONGTERM),
 * long-symbolic-flags their names.
 *
 * Usage: page_types [-p] [-s mixed|idle] [-m MiB] [-R 5.7|modern]
 *   -p  only the pages the scenario's mm maps (page-types -p PID: through its maps and
 *       pagemap, each mapped 4 KiB counted once per mapping), instead of every frame
 *   -s  the scenario: mixed (the default: anonymous pages written and read, a THP, a hugetlb
 *       page, shmem pages, short- and long-term pins) or idle (an empty mm)
 *   -m  the machine's RAM (default 256, at least 64)
 *   -R  the rule set
 * A bad option prints one line on stderr ("usage: ...", or the -R / PINMM_RULES message) and
 * exits 2; a failure of the machine prints "page_types: <what>: <error>" and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#include "lib/tool_rules.h"

#define USAGE "usage: page_types [-p] [-s mixed|idle] [-m MiB] [-R 5.7|modern]\n"
#define BASE 0x40000000UL
#define MiB (1UL << 20)

/* page-types' letters and names, by KPF bit. */
static const char *const flag_names[64] = {
	[KPF_LOCKED] = "L:locked",
	[KPF_ERROR] = "E:error",
	[KPF_REFERENCED] = "R:referenced",
	[KPF_UPTODATE] = "U:uptodate",
	[KPF_DIRTY] = "D:dirty",
	[KPF_LRU] = "l:lru",
	[KPF_ACTIVE] = "A:active",
	[KPF_SLAB] = "S:slab",
	[KPF_WRITEBACK] = "W:writeback",
	[KPF_RECLAIM] = "I:reclaim",
	[KPF_BUDDY] = "B:buddy",
	[KPF_MMAP] = "M:mmap",
	[KPF_ANON] = "a:anonymous",
	[KPF_SWAPCACHE] = "s:swapcache",
	[KPF_SWAPBACKED] = "b:swapbacked",
	[KPF_COMPOUND_HEAD] = "H:compound_head",
	[KPF_COMPOUND_TAIL] = "T:compound_tail",
	[KPF_HUGE] = "G:huge",
	[KPF_UNEVICTABLE] = "u:unevictable",
	[KPF_HWPOISON] = "X:hwpoison",
	[KPF_NOPAGE] = "n:nopage",
	[KPF_KSM] = "x:ksm",
	[KPF_THP] = "t:thp",
	[KPF_OFFLINE] = "o:offline",
	[KPF_ZERO_PAGE] = "z:zero_page",
	[KPF_IDLE] = "i:idle_page",
	[KPF_PGTABLE] = "g:pgtable",
	[KPF_RESERVED] = "r:reserved",
	[KPF_MLOCKED] = "m:mlocked",
	[KPF_MAPPEDTODISK] = "d:mappedtodisk",
	[KPF_PRIVATE] = "P:private",
	[KPF_PRIVATE_2] = "p:private_2",
	[KPF_OWNER_PRIVATE] = "O:owner_private",
	[KPF_ARCH] = "h:arch",
	[KPF_UNCACHED] = "c:uncached",
	[KPF_PINMM_PINNED] = "K:pinned",
	[KPF_PINMM_LONGTERM] = "k:longterm_pinned",
};

struct row {
	uint64_t flags;
	unsigned long count;
};

static struct row *rows;
static size_t nr_rows, cap_rows;

static int add_page(uint64_t flags)
{
	for (size_t i = 0; i < nr_rows; i++)
		if (rows[i].flags == flags) {
			rows[i].count++;
			return 0;
		}
	if (nr_rows == cap_rows) {
		size_t cap = cap_rows ? 2 * cap_rows : 64;
		struct row *grown = realloc(rows, cap * sizeof(*rows));

		if (!grown)
			return -ENOMEM;
		rows = grown;
		cap_rows = cap;
	}
	rows[nr_rows++] = (struct row){flags, 1};
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->flags < y->flags ? -1 : x->flags > y->flags;
}

static void print_table(void)
{
	unsigned long total = 0;

	if (nr_rows) /* an empty mm has no rows, and rows is NULL: qsort() may not be given it */
		qsort(rows, nr_rows, sizeof(*rows), row_cmp);
	printf("             flags\tpage-count       MB  symbolic-flags\t\t\tlong-symbolic-flags\n");
	for (size_t r = 0; r < nr_rows; r++) {
		char sym[65], lng[512] = "";
		size_t n = 0;

		for (int b = 0; b < 64; b++) {
			if (!flag_names[b])
				continue;
			sym[n++] = rows[r].flags & (1ULL << b) ? flag_names[b][0] : '_';
			if (rows[r].flags & (1ULL << b)) {
				strcat(lng, lng[0] ? "," : "");
				strcat(lng, flag_names[b] + 2);
			}
		}
		sym[n] = '\0';
		printf("0x%016" PRIx64 "\t%10lu %8lu  %s\t%s\n", rows[r].flags, rows[r].count,
		       rows[r].count >> (20 - PAGE_SHIFT), sym, lng);
		total += rows[r].count;
	}
	printf("             total\t%10lu %8lu\n", total, total >> (20 - PAGE_SHIFT));
}

/* Every frame of the machine, through kpageflags. */
static int count_frames(void)
{
	uint64_t buf[1024];
	long n;

	for (unsigned long pfn = 0; (n = proc_kpageflags(pfn, 1024, buf)) > 0; pfn += (unsigned long)n)
		for (long i = 0; i < n; i++)
			if (add_page(buf[i]))
				return -ENOMEM;
	return (int)(n < 0 ? n : 0);
}

/* The pages mm maps: its maps for the ranges, pagemap for the frames, kpageflags for each. */
static int count_mapped(struct mm_struct *mm)
{
	char *maps = NULL, *line;
	size_t len = 0;
	FILE *out = open_memstream(&maps, &len);
	int ret;

	if (!out)
		return -ENOMEM;
	ret = proc_pid_maps(mm, out);
	fclose(out);
	for (line = maps; !ret && line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long start, end;
		uint64_t e[512], flags;

		if (sscanf(line, "%lx-%lx", &start, &end) != 2) {
			ret = -EIO;
			break;
		}
		for (unsigned long a = start; a < end && !ret; a += sizeof(e) / sizeof(e[0]) * PAGE_SIZE) {
			unsigned long nr = (end - a) >> PAGE_SHIFT;
			long got;

			nr = nr < sizeof(e) / sizeof(e[0]) ? nr : sizeof(e) / sizeof(e[0]);
			got = proc_pid_pagemap(mm, a, nr, e);
			if (got < 0)
				ret = (int)got;
			for (long i = 0; i < got && !ret; i++) {
				if (!(e[i] & PM_PRESENT))
					continue;
				if (proc_kpageflags(e[i] & PM_PFRAME_MASK, 1, &flags) != 1)
					ret = -EIO;
				else
					ret = add_page(flags);
			}
		}
	}
	free(maps);
	return ret;
}

struct scenario {
	struct page *pins[4];
	unsigned long nr_pins;
	struct file *shmem;
};

static void put(unsigned long addr, unsigned long val)
{
	copy_to_user(addr, &val, sizeof(val));
}

/* mixed: what a process with a driver's buffers and an io_uring might map. Returns 0 or a
 * negative errno, with *what naming the step that failed. */
static int build_mixed(struct scenario *s, const char **what)
{
	unsigned long anon, thp, huge, shm, tmp;
	long n;

	*what = "mmap";
	anon = vm_mmap(NULL, BASE, 32 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	thp = vm_mmap(NULL, BASE + 2 * MiB, 2 * MiB, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	huge = vm_mmap(NULL, BASE + (1UL << 30), 2 * MiB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, 0);
	shm = vm_mmap(NULL, BASE + 8 * MiB, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 0);
	if (IS_ERR_VALUE(anon) || IS_ERR_VALUE(thp) || IS_ERR_VALUE(huge) || IS_ERR_VALUE(shm))
		return -ENOMEM;
	*what = "touch";
	for (unsigned long i = 0; i < 16; i++)
		put(anon + i * PAGE_SIZE, i);
	for (unsigned long i = 16; i < 24; i++) /* read: the zero page */
		copy_from_user(&tmp, anon + i * PAGE_SIZE, sizeof(tmp));
	put(thp, 1);
	put(huge, 2);
	for (unsigned long i = 0; i < 4; i++)
		put(shm + i * PAGE_SIZE, i);
	*what = "pin_user_pages";
	n = pin_user_pages_fast(anon, 2, FOLL_WRITE, s->pins);
	if (n != 2)
		return n < 0 ? (int)n : -EFAULT;
	s->nr_pins = 2;
	n = pin_user_pages_fast(anon + 2 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &s->pins[2]);
	if (n != 1)
		return n < 0 ? (int)n : -EFAULT;
	s->nr_pins = 3;
	n = pin_user_pages_fast(thp, 1, FOLL_WRITE | FOLL_LONGTERM, &s->pins[3]);
	if (n != 1)
		return n < 0 ? (int)n : -EFAULT;
	s->nr_pins = 4;
	return 0;
}

int main(int argc, char **argv)
{
	struct pinmm_config cfg;
	struct scenario s = {0};
	bool mapped_only = false, mixed = true;
	const char *what = "boot";
	struct mm_struct *mm;
	char *end;
	int opt, ret;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 256ULL << 20;
	opterr = 0;
	while ((opt = getopt(argc, argv, "ps:m:R:")) != -1) {
		switch (opt) {
		case 'p':
			mapped_only = true;
			break;
		case 's':
			if (strcmp(optarg, "mixed") && strcmp(optarg, "idle")) {
				fprintf(stderr, "page_types: -s %s: not a scenario (mixed or idle)\n",
					optarg);
				return 2;
			}
			mixed = !strcmp(optarg, "mixed");
			break;
		case 'm':
			cfg.ram_bytes = strtoull(optarg, &end, 0) << 20;
			if (*end || !*optarg || cfg.ram_bytes < (64ULL << 20) ||
			    cfg.ram_bytes > (64ULL << 30)) {
				fprintf(stderr, "page_types: -m %s: not a size in MiB (64 .. 65536)\n",
					optarg);
				return 2;
			}
			break;
		case 'R':
			if (tool_rules_option("page_types", optarg, &cfg.rules))
				return 2;
			break;
		default:
			fprintf(stderr, USAGE);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, USAGE);
		return 2;
	}
	if (tool_rules_env_check(cfg.rules)) {
		fprintf(stderr, "page_types: PINMM_RULES=%s: not a rule set (5.7 or modern)\n",
			getenv("PINMM_RULES"));
		return 2;
	}
	cfg.movable_bytes = 0; /* the long-term pins stay where the pages were faulted */
	cfg.cma_bytes = 0;
	cfg.nr_hugepages_2m = 2;
	cfg.thp = PINMM_THP_ALWAYS;
	ret = pinmm_boot(&cfg);
	if (ret) {
		fprintf(stderr, "page_types: boot: %s\n", strerror(-ret));
		return 1;
	}
	mm = mm_alloc();
	if (!mm) {
		fprintf(stderr, "page_types: mm_alloc: %s\n", strerror(ENOMEM));
		pinmm_shutdown();
		return 1;
	}
	kthread_use_mm(mm);
	ret = mixed ? build_mixed(&s, &what) : 0;
	if (!ret) {
		what = mapped_only ? "pagemap" : "kpageflags";
		ret = mapped_only ? count_mapped(mm) : count_frames();
	}
	if (!ret)
		print_table();
	else
		fprintf(stderr, "page_types: %s: %s\n", what, strerror(-ret));
	unpin_user_pages(s.pins, s.nr_pins);
	kthread_unuse_mm(mm);
	mmput(mm);
	free(rows);
	if (pinmm_shutdown() && !ret) {
		fprintf(stderr, "page_types: shutdown found leaks\n");
		ret = -EBUSY;
	}
	return ret ? 1 : 0;
}
