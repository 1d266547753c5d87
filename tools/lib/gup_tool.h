/* SPDX-License-Identifier: MIT */
/*
 * What tools/gup_benchmark.c and tools/gup_test.c share, all but their argument parsing and
 * their output format: a simulated machine sized for the request, an address space with the
 * mapping the original tools make (mmap, madvise, one byte written per page), the time line,
 * and the shutdown that checks nothing was leaked.
 *
 * The machine (see docs/gup_tools.md): RAM = 2 x the mapping + 256 MiB, rounded up to 4 MiB;
 * with MAP_HUGETLB a 2 MiB hugetlb pool that holds the mapping; THP mode "madvise", so that
 * -t / -T decide. The environment overrides it: PINMM_RAM_MIB, PINMM_HUGEPAGES (2 MiB pool
 * pages), PINMM_THP (always, madvise or never), PINMM_RULES (5.7 or modern) unless -R chose.
 */
#ifndef PINMM_TOOLS_GUP_TOOL_H
#define PINMM_TOOLS_GUP_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <pinmm/pinmm.h>

struct gup_tool_request {
	unsigned long size; /* bytes to map (the tools' -m MiB, computed as they compute it) */
	int thp;            /* 1: MADV_HUGEPAGE (-t), 0: MADV_NOHUGEPAGE (-T), -1: neither */
	int map_flags;      /* MAP_PRIVATE or MAP_SHARED (-S), | MAP_HUGETLB | MAP_ANONYMOUS (-H) */
	const char *file;   /* -f: a host file; NULL or "/dev/zero" means anonymous memory */
	enum pinmm_rules rules; /* -R; PINMM_RULES_DEFAULT: PINMM_RULES, else 5.7 */
};

struct gup_tool {
	struct mm_struct *mm; /* the address space, the calling thread's current mm */
	struct file *file;
	unsigned long addr;   /* start of the mapping */
	/* after a failure: what failed ("boot", "open", "mmap", "touch", an environment variable
	 * name, "shutdown") and, for "touch", the offset in the mapping that could not be written */
	const char *failed;
	unsigned long fail_offset;
};

/*
 * Boot the machine, make an mm the calling thread's current mm, open the file, map it
 * PROT_READ | PROT_WRITE, madvise it as asked (errors ignored, as the originals do) and write
 * one byte at the start of each page. Returns 0, or a negative errno with t->failed set:
 *   mmap    -ENOMEM: the request is larger than any machine pinmm can simulate (as Linux's
 *           overcommit heuristic refuses a mapping larger than RAM + swap), or, with
 *           MAP_HUGETLB, the pool has too few free pages (vm_mmap()'s hugetlb reservation,
 *           as Linux's); otherwise vm_mmap()'s error
 *   touch   -EFAULT: the page could not be faulted in (Linux: SIGBUS; a file shorter than
 *           the mapping, or a hugetlb pool that ran dry)
 *   open    filp_open()'s error;  boot  pinmm_boot()'s;  PINMM_*  -EINVAL: not a valid value
 * Call gup_tool_finish() whatever this returns.
 */
int gup_tool_start(struct gup_tool *t, const struct gup_tool_request *req);

/* The options both tools share that describe the mapping: -t / -T (thp), -S (MAP_SHARED),
 * -H (MAP_HUGETLB), -f FILE. Returns true if opt was one of them (req updated). */
bool gup_tool_mapping_option(int opt, const char *arg, struct gup_tool_request *req);

/* Undo gup_tool_start() and shut the machine down. Returns 0, or -EBUSY with t->failed =
 * "shutdown" when pages were left allocated or pinned (reported on the log stream). */
int gup_tool_finish(struct gup_tool *t);

/* The one-line description of err after a failure, "<step>: <reason>": strerror() for most
 * steps, "Bus error at offset 0x<off> of the mapping" for a touch, a sentence for a leak found
 * at shutdown. Written to buf (len bytes), which is returned. */
const char *gup_tool_describe(const struct gup_tool *t, int err, char *buf, size_t len);

/* "<prefix>Time: get:<get> put:<put> us[, truncated (size: <walked>)]\n", the second part when
 * walked differs from the size asked for. One write. */
void gup_tool_print_time(FILE *out, const char *prefix, uint64_t get_usec, uint64_t put_usec,
			 uint64_t walked, unsigned long size);

#endif /* PINMM_TOOLS_GUP_TOOL_H */
