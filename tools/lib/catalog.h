/* SPDX-License-Identifier: MIT */
/*
 * What tools/cow.c and tools/gup_longterm.c (ports of the case lists of Linux's
 * tools/testing/selftests/mm/cow.c and gup_longterm.c) share besides their TAP output (ksft.h):
 * the machine they boot, the processes they fork, and user memory seen from the test, as the
 * kernel's selftests see theirs through memset(), memcmp() and /proc/self/pagemap.
 *
 * A selftest forks real processes that wait on each other through pipes; here a "process" is
 * an mm (pinmm_fork()), and the one thread of the program switches between them
 * (catalog_switch_mm()) in the order the selftest's pipes impose, so every step happens in the
 * same order as in the kernel's run, deterministically. A child "exits" with catalog_exit()
 * (its last mmput()).
 *
 * The rule that is easy to break: every call that touches user memory acts on the calling
 * thread's current mm, so a step of the child must run after catalog_switch_mm(child) and the
 * parent's next step after catalog_switch_mm(parent).
 */
#ifndef PINMM_TOOLS_CATALOG_H
#define PINMM_TOOLS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include <pinmm/pinmm.h>

/* The machine a catalogue program boots. */
struct catalog_machine {
	unsigned long long ram_bytes;
	unsigned long nr_hugepages_2m;
	unsigned long nr_hugepages_1g;
	enum pinmm_rules rules; /* -R; PINMM_RULES_DEFAULT: PINMM_RULES, else 5.7 */
};

/*
 * The programs' command line, "name [-R 5.7|modern] [-G] [-h]": -R sets m->rules, -G sets
 * m->nr_hugepages_1g to 0 (the 1 GiB cases cost most of a run's time, most of it the host
 * copying and faulting in gigabytes; `make check-asan` leaves them out). what: the lines
 * of the usage message after the first. Returns -1 to go on, else the exit status to return
 * now: KSFT_PASS after -h (usage on stdout), KSFT_FAIL after a bad option, -R value or an
 * argument (a line on stderr, and the usage).
 */
int catalog_options(int argc, char **argv, const char *name, const char *what,
		    struct catalog_machine *m);

/*
 * Boot the machine (THP "always", no CMA and no ZONE_MOVABLE: the catalogues are about COW
 * and pins, not placement), make a new mm the calling thread's current mm, and print
 * "# rules: <5.7|modern>". A failure prints "Bail out! <step>: <reason>" and exits 1.
 */
void catalog_boot(const struct catalog_machine *m);

/* The hugetlb page sizes the machine has a pool of, in bytes, smallest first, as Linux's
 * selftests detect them (detect_hugetlb_page_sizes()): 2 MiB, then 1 GiB. Returns how many. */
size_t catalog_hugetlb_sizes(const struct catalog_machine *m, size_t sizes[2]);

/* Leave the mm, release it and shut the machine down; a leak (pages left allocated or pinned,
 * reported on stderr by pinmm_shutdown()) bails out. Returns only on a clean shutdown. */
void catalog_shutdown(void);

/* The program's first mm (the "parent process"). */
struct mm_struct *catalog_parent(void);

/* Make mm the calling thread's current mm (leaving the one it was in). */
void catalog_switch_mm(struct mm_struct *mm);

/* fork(): a child of the current mm, which stays current. NULL on failure (*err set). */
struct mm_struct *catalog_fork(int *err);

/* The child exits: its mm's last reference goes. The current mm must not be the child's. */
void catalog_exit(struct mm_struct *child);

/* memset() / a read / memcmp() on user memory of the current mm, faulting as a CPU does.
 * user_memset and user_read return 0 or -EFAULT (a page could not be faulted in: SIGSEGV or
 * SIGBUS in a real process). user_cmp returns 0 when [addr, addr + len) holds exactly buf,
 * 1 when it differs, -EFAULT when it could not be read. */
int user_memset(unsigned long addr, int c, size_t len);
int user_read(void *buf, unsigned long addr, size_t len);
int user_cmp(unsigned long addr, const void *buf, size_t len);
/* Whether two user ranges of the current mm hold the same bytes: 0 same, 1 differ, -EFAULT. */
int user_cmp_user(unsigned long a, unsigned long b, size_t len);

/* pagemap_is_populated(): a page is mapped at addr in the current mm (present in the page
 * tables; nothing is faulted in). */
bool user_populated(unsigned long addr);

/* Host memory for a copy of user memory (the selftests' malloc()ed backups), slot 0 or 1: at
 * least size bytes, kept and reused for the program's life, so that a case on a 1 GiB page
 * does not fault a fresh gigabyte of host memory in each time. NULL if the host has no memory.
 * The buffer of a slot is overwritten by the next call for that slot. */
void *host_buffer(unsigned int slot, size_t size);

/* vm_mmap() of anonymous memory as mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0):
 * the address, or 0 (*err set). */
unsigned long user_mmap_anon(size_t len, unsigned long prot, unsigned long flags, int *err);

#endif /* PINMM_TOOLS_CATALOG_H */
