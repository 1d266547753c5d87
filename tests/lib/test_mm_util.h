/* SPDX-License-Identifier: MIT */
/*
 * What the unit and conformance tests share beyond test_util.h (boot fixtures, log capture):
 *
 *  - checks that fail saying the scenario (printf arguments), what was expected and what was
 *    found: check_eq, check_true, check_ptr, expect_level;
 *  - running part of a test in a forked child (run_forked, run_in_child), where those same
 *    checks send their message to the parent, which fails the test with it;
 *  - counters the tests read often (nr_free, nr_anon, rss_anon, nr_acquired, ...) and the
 *    buddyinfo text;
 *  - an mm for the test thread (setup_mm / teardown_mm, boot_with_mm, use_new_mm);
 *  - mapping and user-memory helpers (map, unmap, map_touched, put_word, get_word, tags);
 *  - a page-table walker (pt_walk: the leaf entry mapping an address and its level) and what
 *    is built on it (page_at, pte_at).
 *
 * Everything is static inline: a test uses what it needs.
 */
#ifndef PINMM_TEST_MM_UTIL_H
#define PINMM_TEST_MM_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
/* Internals: the walker reads raw page-table entries, which are not part of the API. */
#include "vm/pgtable.h"

#define PG(n) ((unsigned long)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define SZ_2M (2UL << 20)
#define SZ_1G (1UL << 30)
#define GiB (1ULL << 30)

/* ---- failing, in the test process or in a child started by run_forked() ---- */

/* In a run_forked() child: the write end of the pipe to the parent; else -1. */
static int test_child_fd = -1;

/* In a run_forked() child: send the message to the parent, which fails the test with it, and
 * exit. */
static inline void test_child_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static inline void test_child_fail(const char *fmt, ...)
{
	char msg[2048];
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	_exit(write(test_child_fd, msg, len) == (ssize_t)len ? 1 : 3);
}

/* Fail the test with a printf message (the format a string literal), wherever this runs. */
#define test_fail(...)                                                                             \
	do {                                                                                       \
		if (test_child_fd >= 0)                                                            \
			test_child_fail(__VA_ARGS__);                                              \
		fail_msg(__VA_ARGS__);                                                             \
	} while (0)

/* The scenario of a check, formatted (one buffer per thread, reused by the next call). */
static inline const char *scenario_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *scenario_text(const char *fmt, ...)
{
	static _Thread_local char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

/* ---- checks: each names the scenario (printf arguments after the values) ---- */

/* Fail unless actual == expected, both read as integers (printed in decimal and hex). */
#define check_eq(actual, expected, ...)                                                            \
	do {                                                                                       \
		long long a__ = (long long)(actual), e__ = (long long)(expected);                  \
		if (a__ != e__)                                                                    \
			test_fail("%s: %s is %lld (%#llx), expected %lld (%#llx)",                 \
				  scenario_text(__VA_ARGS__), #actual, a__, a__, e__, e__);        \
	} while (0)

/* Fail unless cond holds. */
#define check_true(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail("%s: expected %s, found it false", scenario_text(__VA_ARGS__),   \
				  #cond);                                                          \
	} while (0)

/* Fail unless the pointers are equal. */
#define check_ptr(actual, expected, ...)                                                           \
	do {                                                                                       \
		const void *a__ = (actual), *e__ = (expected);                                     \
		if (a__ != e__)                                                                    \
			test_fail("%s: %s is %p, expected %p", scenario_text(__VA_ARGS__),         \
				  #actual, a__, e__);                                              \
	} while (0)

/* ---- running part of a test in a forked child ---- */

/*
 * Run fn(arg) in a forked child, which exits with what fn returns; the test fails unless that
 * is 0. The child gets the crash signals back at their defaults (a crash kills it instead of
 * returning into cmocka's copy of the test runner) and, when seconds > 0, an alarm that ends
 * it after that long. A check that fails in the child (anything that fails through
 * test_fail()) sends its message here and the test fails with it; otherwise the test fails
 * naming the child's signal or its non-zero status ("check #N").
 */
static inline void run_forked(const char *what, int (*fn)(void *), void *arg, unsigned int seconds)
{
	static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	char msg[2048];
	int fds[2], status;
	ssize_t len;
	pid_t pid;

	if (pipe(fds))
		fail_msg("%s: pipe() failed", what);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("%s: fork() failed", what);
	if (pid == 0) {
		close(fds[0]);
		test_child_fd = fds[1];
		for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
			signal(crash_signals[i], SIG_DFL);
		if (seconds)
			alarm(seconds);
		_exit(fn(arg));
	}
	close(fds[1]);
	len = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		fail_msg("%s: waitpid() failed", what);
	if (len > 0) {
		msg[len] = '\0';
		fail_msg("%s", msg);
	}
	if (WIFSIGNALED(status))
		fail_msg("%s: the child was killed by signal %d (%s)", what, WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: the child failed check #%d (wait status %#x)", what,
			 WEXITSTATUS(status), status);
}

/* The log of a run_in_child() child so far (WARN lines), as a static string. */
static inline const char *child_log(void)
{
	static char buf[8192];
	FILE *log = pinmm_log_stream();
	long len;

	fflush(log);
	len = ftell(log);
	rewind(log);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof(buf))
		len = (long)sizeof(buf) - 1;
	buf[fread(buf, 1, (size_t)len, log)] = '\0';
	fseek(log, 0, SEEK_END);
	return buf;
}

struct child_scenario {
	const char *scenario;
	void (*fn)(void *);
	void *arg;
	unsigned long warns;
	const char *needle;
};

static inline int child_scenario_run(void *p)
{
	const struct child_scenario *c = p;
	FILE *log = tmpfile();
	unsigned long w0;

	if (!log)
		test_fail("%s: tmpfile() failed in the child", c->scenario);
	pinmm_set_log_stream(log);
	w0 = pinmm_warn_count();
	c->fn(c->arg);
	if (pinmm_warn_count() - w0 != c->warns)
		test_fail("%s: %lu WARN(s) in the child, expected %lu; log:\n%.1500s", c->scenario,
			  pinmm_warn_count() - w0, c->warns, child_log());
	if (c->needle && !strstr(child_log(), c->needle))
		test_fail("%s: the log should contain \"%s\"; it was:\n%.1500s", c->scenario,
			  c->needle, child_log());
	return 0;
}

/*
 * Run fn(arg) in a forked child (its own WARN_ONCE sites still armed, its own copy of the
 * machine), with a fresh log file. The child then checks that `warns` WARNs were reported in
 * all, and, if `needle` is not NULL, that the log contains it. Any failure in the child fails
 * the test here, with the child's message. The child never shuts the machine down: it exits.
 */
static inline void run_in_child(const char *scenario, void (*fn)(void *), void *arg,
				unsigned long warns, const char *needle)
{
	struct child_scenario c = {scenario, fn, arg, warns, needle};

	run_forked(scenario, child_scenario_run, &c, 0);
}

/* ---- counters ---- */

static inline long nr_free(void)
{
	return global_zone_page_state(NR_FREE_PAGES);
}

static inline long nr_anon(void)
{
	return global_node_page_state(NR_ANON_MAPPED);
}

static inline long rss_anon(struct mm_struct *mm)
{
	return atomic_load(&mm->rss_stat[MM_ANONPAGES]);
}

/* nr_foll_pin_acquired / nr_foll_pin_released. */
static inline long nr_acquired(void)
{
	return global_node_page_state(NR_FOLL_PIN_ACQUIRED);
}

static inline long nr_released(void)
{
	return global_node_page_state(NR_FOLL_PIN_RELEASED);
}

/* What print(f) writes (pinmm_buddyinfo_print, pinmm_hugetlb_report) as a malloc'd string. */
static inline char *printed(int (*print)(FILE *out))
{
	FILE *f = tmpfile();
	char *buf;

	assert_non_null(f);
	assert_int_equal(print(f), 0);
	buf = slurp(f);
	fclose(f);
	return buf;
}

/* /proc/buddyinfo as a malloc'd string (never empty on a booted machine). */
static inline char *buddyinfo(void)
{
	char *buf = printed(pinmm_buddyinfo_print);

	assert_true(buf[0] != '\0');
	return buf;
}

/* ---- an mm for the test thread ---- */

/* Run this thread in a fresh mm, which *state holds. */
static inline int use_new_mm(void **state)
{
	struct mm_struct *mm = mm_alloc();

	if (!mm)
		return -1;
	kthread_use_mm(mm);
	*state = mm;
	return 0;
}

/* Setup: boot cfg (NULL: the default machine, 1 GiB, THP always) and run in a fresh mm. */
static inline int boot_with_mm(void **state, const struct pinmm_config *cfg)
{
	return boot_with(cfg) ? -1 : use_new_mm(state);
}

static inline int setup_mm(void **state)
{
	return boot_with_mm(state, NULL);
}

/* Setups for a test whose expectations belong to one rule set: the default machine under
 * that rule set, whatever PINMM_RULES says (the suite also runs under PINMM_RULES=modern). */
static inline int setup_mm_rules(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = rules;
	return boot_with_mm(state, &cfg);
}

static inline int setup_mm_57(void **state)
{
	return setup_mm_rules(state, PINMM_RULES_5_7);
}

static inline int setup_mm_modern(void **state)
{
	return setup_mm_rules(state, PINMM_RULES_MODERN);
}

/* Teardown of the above: leave the mm, put it, shut down (any leak fails the test). */
static inline int teardown_mm(void **state)
{
	struct mm_struct *mm = *state;

	kthread_unuse_mm(mm);
	mmput(mm);
	return shutdown_clean(state);
}

/* A 4 GiB machine with hugetlb pools of nr_2m 2 MiB and nr_1g 1 GiB pages, and an mm. */
static inline int boot_with_hugetlb_pools(void **state, unsigned long nr_2m, unsigned long nr_1g)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_2m = nr_2m;
	cfg.nr_hugepages_1g = nr_1g;
	return boot_with_mm(state, &cfg);
}

/* teardown_mm() that first puts a child the test forked and had not put when a failed check
 * ended it (the test clears *child once it puts the child itself). */
static inline int teardown_mm_and_child(void **state, struct mm_struct **child)
{
	mmput(*child);
	*child = NULL;
	return teardown_mm(state);
}

#define test_with_mm(f) cmocka_unit_test_setup_teardown(f, setup_mm, teardown_mm)
#define test_with_mm_57(f) cmocka_unit_test_setup_teardown(f, setup_mm_57, teardown_mm)
#define test_with_mm_modern(f) cmocka_unit_test_setup_teardown(f, setup_mm_modern, teardown_mm)

/* ---- mappings and user memory (of the mm this thread uses) ---- */

static inline unsigned long map(unsigned long addr, unsigned long len, unsigned long prot,
				unsigned long flags, const char *what)
{
	unsigned long ret = vm_mmap(NULL, addr, len, prot, flags, 0);

	if (IS_ERR_VALUE(ret))
		test_fail("%s: vm_mmap(%#lx, %#lx, prot %#lx, flags %#lx) failed with %ld", what,
			  addr, len, prot, flags, (long)ret);
	return ret;
}

static inline void unmap(unsigned long addr, unsigned long len, const char *what)
{
	int ret = vm_munmap(addr, len);

	if (ret)
		test_fail("%s: vm_munmap(%#lx, %#lx) failed with %d", what, addr, len, ret);
}

/* An anonymous private RW mapping of len bytes with one byte written per page. */
static inline unsigned long map_touched(unsigned long len)
{
	unsigned long addr = vm_mmap(NULL, 0, len, RW, ANON, 0);
	static const char zero;

	assert_false(IS_ERR_VALUE(addr));
	for (unsigned long off = 0; off < len; off += PAGE_SIZE)
		assert_int_equal(copy_to_user(addr + off, &zero, 1), 0);
	return addr;
}

/* Write / read one word at addr; a fault fails the test. */
static inline void put_word(unsigned long addr, unsigned long val, const char *what)
{
	unsigned long left = copy_to_user(addr, &val, sizeof(val));

	if (left)
		test_fail("%s: copy_to_user(%#lx) left %lu bytes", what, addr, left);
}

static inline unsigned long get_word(unsigned long addr, const char *what)
{
	unsigned long val = 0, left = copy_from_user(&val, addr, sizeof(val));

	if (left)
		test_fail("%s: copy_from_user(%#lx) left %lu bytes", what, addr, left);
	return val;
}

/* The same in another mm, through access_remote_vm(). */
static inline unsigned long remote_word(struct mm_struct *mm, unsigned long addr,
					const char *what)
{
	unsigned long val = 0;
	int n = access_remote_vm(mm, addr, &val, sizeof(val), 0);

	if (n != (int)sizeof(val))
		test_fail("%s: access_remote_vm read of %#lx copied %d bytes", what, addr, n);
	return val;
}

static inline void remote_put_word(struct mm_struct *mm, unsigned long addr, unsigned long val,
				   const char *what)
{
	int n = access_remote_vm(mm, addr, &val, sizeof(val), FOLL_WRITE);

	if (n != (int)sizeof(val))
		test_fail("%s: access_remote_vm write of %#lx copied %d bytes", what, addr, n);
}

/* Tag every page of [addr, addr + npages) with tag + its index (in its first word). */
static inline void tag_pages(unsigned long addr, unsigned int npages, unsigned long tag,
			     const char *what)
{
	for (unsigned int i = 0; i < npages; i++)
		put_word(addr + PG(i), tag + i, what);
}

static inline void expect_tags(unsigned long addr, unsigned int npages, unsigned long tag,
			       const char *what)
{
	for (unsigned int i = 0; i < npages; i++)
		check_eq(get_word(addr + PG(i), what), tag + i, "%s: word of page %u", what, i);
}

/* ---- page-table walker (the test thread is alone in its mm: no locks needed) ---- */

enum leaf_level { LEAF_NONE, LEAF_PTE, LEAF_PMD, LEAF_PUD };

struct leaf {
	enum leaf_level level; /* LEAF_NONE: nothing is mapped at the address */
	unsigned long entry;   /* the raw entry (pte, pmd or pud leaf); 0 with LEAF_NONE */
	unsigned long size;    /* what the entry covers: PAGE_SIZE (also for an empty PTE),
				* PMD_SIZE or PUD_SIZE; 0 when no PTE table is reached */
};

/* Walk mm's page tables (pgd -> pud -> pmd -> pte) to the entry that maps addr. */
static inline struct leaf pt_walk(struct mm_struct *mm, unsigned long addr)
{
	pgd_t pgd = pgdp_get((pgd_t *)page_address(mm->pgd_page) + pgd_index(addr));
	pud_t pud;
	pmd_t pmd;
	pte_t pte;

	if (pgd_none(pgd))
		return (struct leaf){LEAF_NONE, 0, 0};
	pud = pudp_get((pud_t *)page_address(pfn_to_page(pgd_pfn(pgd))) + pud_index(addr));
	if (pud_none(pud))
		return (struct leaf){LEAF_NONE, 0, 0};
	if (pud_leaf(pud))
		return (struct leaf){LEAF_PUD, pud.pud, PUD_SIZE};
	pmd = pmdp_get((pmd_t *)page_address(pfn_to_page(pud_pfn(pud))) + pmd_index(addr));
	if (pmd_none(pmd))
		return (struct leaf){LEAF_NONE, 0, 0};
	if (pmd_leaf(pmd))
		return (struct leaf){LEAF_PMD, pmd.pmd, PMD_SIZE};
	pte = ptep_get((pte_t *)page_address(pfn_to_page(pmd_pfn(pmd))) + pte_index(addr));
	return (struct leaf){pte_none(pte) ? LEAF_NONE : LEAF_PTE, pte.pte, PAGE_SIZE};
}

/* The pfn of the 4 KiB page that leaf l maps at addr (addr's offset into a huge leaf added). */
static inline unsigned long leaf_pfn(struct leaf l, unsigned long addr)
{
	return ((l.entry & PTE_PFN_MASK) >> PAGE_SHIFT) + ((addr & (l.size - 1)) >> PAGE_SHIFT);
}

/* The (sub)page mapped at addr by a present, non-special entry, or NULL. */
static inline struct page *page_at(struct mm_struct *mm, unsigned long addr)
{
	struct leaf l = pt_walk(mm, addr);

	if (!(l.entry & _PAGE_PRESENT) || (l.entry & _PAGE_SPECIAL))
		return NULL;
	return pfn_to_page(leaf_pfn(l, addr));
}

static inline const char *level_name(enum leaf_level level)
{
	static const char *const names[] = {"nothing", "a PTE", "a PMD leaf", "a PUD leaf"};

	return names[level];
}

/* Fail unless addr is mapped at level `want` (LEAF_NONE: not mapped). */
#define expect_level(mm, addr, want, ...)                                                          \
	do {                                                                                       \
		enum leaf_level got__ = pt_walk(mm, addr).level;                                   \
		if (got__ != (want))                                                               \
			test_fail("%s: %#lx is mapped by %s, expected %s",                         \
				  scenario_text(__VA_ARGS__), (unsigned long)(addr),               \
				  level_name(got__), level_name(want));                            \
	} while (0)

/* The PTE mapping addr (0 if none), for tests of 4 KiB mappings: a huge leaf fails the test. */
static inline pte_t pte_at(struct mm_struct *mm, unsigned long addr)
{
	struct leaf l = pt_walk(mm, addr);

	if (l.level == LEAF_PMD || l.level == LEAF_PUD)
		test_fail("pte_at(%#lx): mapped by %s, expected 4 KiB pages only", addr,
			  level_name(l.level));
	return (pte_t){l.entry};
}

#endif /* PINMM_TEST_MM_UTIL_H */
