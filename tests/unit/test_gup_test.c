/* SPDX-License-Identifier: MIT */
/*
 * gup_test_ioctl(), the kernel side of Linux's gup_test (mm/gup_test.c, v5.11 and later):
 * scenario 54 (DUMP_USER_PAGES_TEST of pages 0, 19 and 0x1000, 1-based in the request, with
 * out-of-range numbers zeroed), the dump by pin, the release of every command, gup_flags
 * passed through unfiltered, the argument errors, several threads of one mm at once, the
 * long-term check catching a pinned CMA page that 5.7's migration could not move, and the
 * long-term pin session of Linux 6.2+ (PIN_LONGTERM_TEST_START / READ / STOP): its pins, what
 * READ sees after the mapping changed, and its refusals.
 *
 * Each test runs in a fresh mm on the default machine (1 GiB, THP always), except the CMA one,
 * which needs a small machine it can fill.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include <pinmm/debugfs/gup_test.h>

#include "test_mm_util.h"

#define MiB (1ULL << 20)

/* The default machine without ZONE_MOVABLE: the pages the tests fault in are pages a long-term
 * pin may hold under either rule set, so PIN_LONGTERM_BENCHMARK's counts are its own (under
 * modern rules a long-term pin of a ZONE_MOVABLE page migrates it first:
 * tests/conformance/test_gup_longterm.c). */
static int setup_no_movable(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.movable_bytes = 0;
	return boot_with_mm(state, &cfg);
}

/* 64 MiB, no ZONE_MOVABLE, 16 MiB of CMA: small enough to fill everything outside CMA. Under
 * 5.7 rules, whose long-term pin keeps a CMA page it cannot migrate (modern rules fail the pin
 * instead: tests/conformance/test_gup_longterm.c). */
static int setup_cma_machine(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = PINMM_RULES_5_7;
	cfg.ram_bytes = 64 * MiB;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 16 * MiB;
	return boot_with_mm(state, &cfg);
}

static struct gup_test request(unsigned long addr, unsigned long size, unsigned int nr)
{
	return (struct gup_test){ .addr = addr, .size = size, .nr_pages_per_call = nr };
}

/* How many times needle occurs in haystack. */
static int occurrences(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Scenario 54 as run_vmtests runs it: `gup_test -ct -F 0x1 0 19 0x1000` asks for pages 1,
 * 20 and 4097 (1-based) of a range that holds them all. */
static void test_dump_pages(void **state)
{
	unsigned long addr = map_touched(PG(4200));
	struct gup_test gup = request(addr, PG(4200), 1);
	char line[128], *log;

	(void)state;
	gup.gup_flags = FOLL_WRITE;
	gup.which_pages[0] = 1;
	gup.which_pages[1] = 20;
	gup.which_pages[2] = 4097;
	free(test_log_take()); /* start from an empty log */
	check_eq(gup_test_ioctl(DUMP_USER_PAGES_TEST, &gup), 0, "S54 ioctl");
	check_eq(gup.size, PG(4200), "S54 size");
	log = test_log_take();
	check_eq(occurrences(log, "page dumped because: gup_test: dump_pages() test"), 3,
		 "S54 dumps");
	check_eq(occurrences(log, "ZEROING"), 0, "S54 nothing out of range");
	for (int i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "---- page #%u, starting from user virt addr: 0x%lx\n",
			 gup.which_pages[i] - 1, addr);
		if (!strstr(log, line))
			fail_msg("S54: the log should have \"%s\"; it was:\n%s", line, log);
	}
	if (strstr(log, "refcount:1025"))
		fail_msg("S54: the dump took references, not pins; log:\n%s", log);
	free(log);
	check_eq(gup.which_pages[2], 4097, "S54 which_pages[2] kept");
}

/* Scenario 54's zeroing: in a range of 64 pages, page number 65 and up are out of range;
 * zero entries between others are skipped. */
static void test_dump_out_of_range(void **state)
{
	unsigned long addr = map_touched(PG(64));
	struct gup_test gup = request(addr, PG(64), 1);
	long a0 = nr_acquired();
	char *log;

	(void)state;
	gup.which_pages[0] = 1;
	gup.which_pages[1] = 0;
	gup.which_pages[2] = 65;
	gup.which_pages[3] = 64;
	gup.which_pages[7] = 0xffffffffu;
	free(test_log_take()); /* start from an empty log */
	check_eq(gup_test_ioctl(DUMP_USER_PAGES_TEST, &gup), 0, "S54 out of range ioctl");
	log = test_log_take();
	if (!strstr(log, "ZEROING due to out of range: .which_pages[2]: 65\n") ||
	    !strstr(log, "ZEROING due to out of range: .which_pages[7]: 4294967295\n") ||
	    !strstr(log, "---- page #0,") || !strstr(log, "---- page #63,") ||
	    occurrences(log, "page dumped because") != 2)
		fail_msg("S54: expected two ZEROING lines and dumps of pages #0 and #63; log:\n%s",
			 log);
	free(log);
	check_eq(gup.which_pages[2], 0, "S54 which_pages[2] zeroed");
	check_eq(gup.which_pages[7], 0, "S54 which_pages[7] zeroed");
	check_eq(gup.which_pages[3], 64, "S54 which_pages[3] kept");
	check_eq(nr_acquired() - a0, 0, "S54 get: no pins");
}

/* GUP_TEST_FLAG_DUMP_PAGES_USE_PIN: the pages are pinned while dumped (an order-0 page shows
 * refcount 1 + 1024), and unpinned after. */
static void test_dump_with_pin(void **state)
{
	unsigned long addr = map_touched(PG(8));
	struct gup_test gup = request(addr, PG(8), 1);
	long a0 = nr_acquired(), r0 = nr_released();
	char *log;

	(void)state;
	gup.test_flags = GUP_TEST_FLAG_DUMP_PAGES_USE_PIN;
	gup.which_pages[0] = 3;
	free(test_log_take()); /* start from an empty log */
	check_eq(gup_test_ioctl(DUMP_USER_PAGES_TEST, &gup), 0, "dump by pin ioctl");
	log = test_log_take();
	if (!strstr(log, "---- page #2,") || !strstr(log, "refcount:1025 "))
		fail_msg("dump by pin: expected page #2 with refcount:1025; log:\n%s", log);
	free(log);
	check_eq(nr_acquired() - a0, 8, "dump by pin A");
	check_eq(nr_released() - r0, 8, "dump by pin Rel");
}

/* Every command gives back what it took; pins only for the PIN ones (and counted). */
static void test_every_command_releases(void **state)
{
	static const struct {
		unsigned int cmd;
		bool pins;
		const char *name;
	} cmds[] = {
		{ GUP_FAST_BENCHMARK, false, "GUP_FAST_BENCHMARK" },
		{ PIN_FAST_BENCHMARK, true, "PIN_FAST_BENCHMARK" },
		{ PIN_LONGTERM_BENCHMARK, true, "PIN_LONGTERM_BENCHMARK" },
		{ GUP_BASIC_TEST, false, "GUP_BASIC_TEST" },
		{ PIN_BASIC_TEST, true, "PIN_BASIC_TEST" },
		{ DUMP_USER_PAGES_TEST, false, "DUMP_USER_PAGES_TEST (nothing to dump)" },
	};
	unsigned long addr = map_touched(PG(32));
	unsigned long w0 = pinmm_warn_count();

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct gup_test gup = request(addr, PG(32), 5);
		long a0 = nr_acquired(), r0 = nr_released();

		gup.gup_flags = FOLL_WRITE;
		check_eq(gup_test_ioctl(cmds[i].cmd, &gup), 0, "%s", cmds[i].name);
		check_eq(gup.size, PG(32), "%s", cmds[i].name);
		check_eq(nr_acquired() - a0, cmds[i].pins ? 32 : 0, "%s", cmds[i].name);
		check_eq(nr_released() - r0, cmds[i].pins ? 32 : 0, "%s", cmds[i].name);
	}
	check_eq(pinmm_warn_count() - w0, 0, "every command: WARNs");
}

/* gup_flags reach GUP as given: FOLL_PIN on get_user_pages_fast() is refused there (WARN,
 * -EINVAL), so the walk ends at once; the command itself succeeds with size 0. */
static void test_gup_flags_pass_through(void **state)
{
	unsigned long addr = map_touched(PG(4));
	struct gup_test gup = request(addr, PG(4), 1);
	unsigned long w0 = pinmm_warn_count();

	(void)state;
	gup.gup_flags = FOLL_PIN;
	check_eq(gup_test_ioctl(GUP_FAST_BENCHMARK, &gup), 0, "FOLL_PIN passed through");
	check_eq(gup.size, 0, "FOLL_PIN passed through: size");
	check_eq(pinmm_warn_count() - w0, 1, "FOLL_PIN passed through: the GUP call WARNed");
	check_eq(gup.gup_flags, FOLL_PIN, "gup_flags left as given");
}

static void test_errors(void **state)
{
	static const unsigned int bad[] = {
		0, 1, 2, 6,
		_IOWR('g', 0, struct gup_test), _IOWR('g', 7, struct gup_test),
		_IOWR('g', 8, struct gup_test), _IOWR('g', 9, struct gup_test),
		_IOWR('g', 4, char[128]), /* gup_benchmark's PIN_FAST_BENCHMARK */
	};
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(2));
	struct gup_test gup = request(addr, PG(2), 1), before = gup;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_eq(gup_test_ioctl(bad[i], &gup), -EINVAL, "unknown command");
	check_eq(gup_test_ioctl(PIN_BASIC_TEST, NULL), -EFAULT, "NULL struct");
	check_eq(gup_test_ioctl(DUMP_USER_PAGES_TEST, NULL), -EFAULT, "NULL struct, dump");
	gup.size = ~0ULL - addr + 1;
	check_eq(gup_test_ioctl(GUP_FAST_BENCHMARK, &gup), -EINVAL, "addr + size overflows");
	gup.size = before.size;
	kthread_unuse_mm(mm);
	check_eq(gup_test_ioctl(PIN_FAST_BENCHMARK, &gup), -ESRCH, "no mm");
	kthread_use_mm(mm);
	if (memcmp(&gup, &before, sizeof(gup)))
		fail_msg("a failed ioctl changed the struct");
}

/* ---- the long-term pin session ---- */

static struct pin_longterm_test lt_args(unsigned long addr, unsigned long size, uint32_t flags)
{
	return (struct pin_longterm_test){ .addr = addr, .size = size, .flags = flags };
}

/* Write a different word at the start of each of n pages from addr. */
static void fill_pages(unsigned long addr, unsigned long n, unsigned long seed)
{
	for (unsigned long i = 0; i < n; i++)
		put_word(addr + PG(i), seed + i, "fill");
}

/* START pins every page long-term (R +1024 each, A +n), READ copies the pages out in order,
 * STOP unpins them all (Rel +n, R back); both the slow and the fast path. */
static void test_longterm_session(void **state)
{
	static const uint32_t flags[] = {
		0, PIN_LONGTERM_TEST_FLAG_USE_WRITE, PIN_LONGTERM_TEST_FLAG_USE_FAST,
		PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_LONGTERM_TEST_FLAG_USE_FAST,
	};
	unsigned long addr = map_touched(PG(8)), buf = map_touched(PG(8));
	struct mm_struct *mm = *state;

	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		struct pin_longterm_test args = lt_args(addr, PG(8), flags[f]);
		long a0 = nr_acquired(), r0 = nr_released();
		uint64_t dst = buf;
		struct page *page;

		fill_pages(addr, 8, 100 * f);
		check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), 0, "START flags %#x",
			 flags[f]);
		check_eq(nr_acquired() - a0, 8, "START flags %#x: A", flags[f]);
		for (unsigned long i = 0; i < 8; i++) {
			page = page_at(mm, addr + PG(i));
			check_eq(page_ref_count(page), 1 + GUP_PIN_COUNTING_BIAS,
				 "START flags %#x: R of page %lu", flags[f], i);
		}
		check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, &dst), 0, "READ flags %#x",
			 flags[f]);
		for (unsigned long i = 0; i < 8; i++)
			check_eq(get_word(buf + PG(i), "READ"), 100 * f + i,
				 "READ flags %#x: word of page %lu", flags[f], i);
		check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL), 0, "STOP flags %#x",
			 flags[f]);
		check_eq(nr_released() - r0, 8, "STOP flags %#x: Rel", flags[f]);
		for (unsigned long i = 0; i < 8; i++)
			check_eq(page_ref_count(page_at(mm, addr + PG(i))), 1,
				 "STOP flags %#x: R of page %lu", flags[f], i);
	}
}

/* What the kernel's gup_longterm and cow tests look for: the pins keep the pages, so READ shows
 * the pinned contents after MADV_DONTNEED zapped the mapping (which now reads zero), and a
 * write pin of a never-written page breaks COW first (the pin sees later writes). */
static void test_longterm_read_sees_the_pinned_pages(void **state)
{
	unsigned long addr = map_touched(PG(2)), buf = map_touched(PG(2));
	struct pin_longterm_test args = lt_args(addr, PG(2), 0);
	uint64_t dst = buf;

	fill_pages(addr, 2, 7);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), 0, "START");
	check_eq(do_madvise(*state, addr, PG(2), MADV_DONTNEED), 0, "MADV_DONTNEED");
	check_eq(get_word(addr, "mapping after zap"), 0, "the zapped mapping reads zero");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, &dst), 0, "READ after zap");
	check_eq(get_word(buf, "READ"), 7, "READ after zap: page 0 keeps its contents");
	check_eq(get_word(buf + PG(1), "READ"), 8, "READ after zap: page 1 keeps its contents");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL), 0, "STOP");

	/* A write pin of untouched memory: the pages are faulted in writable, so a later write
	 * through the mapping is what the pins see. */
	addr = vm_mmap(NULL, 0, PG(2), RW, ANON, 0);
	args = lt_args(addr, PG(2), PIN_LONGTERM_TEST_FLAG_USE_WRITE);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), 0, "START write, untouched");
	put_word(addr + PG(1), 42, "write after the pin");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, &dst), 0, "READ write pin");
	check_eq(get_word(buf + PG(1), "READ"), 42, "the write pin sees the later write");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL), 0, "STOP write pin");
}

/* Refusals: each leaves no session and no pin behind (A == Rel), and a running session
 * untouched. */
static void test_longterm_errors(void **state)
{
	unsigned long addr = map_touched(PG(4)), buf = map_touched(PG(4));
	struct mm_struct *mm = *state;
	struct pin_longterm_test args = lt_args(addr, PG(4), 0);
	long a0 = nr_acquired(), r0 = nr_released();
	uint64_t dst = buf, bad_dst = 0x1000;

	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL), 0, "STOP without a session");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, &dst), -EINVAL, "READ without START");
	args = lt_args(addr, PG(4), 4);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -EINVAL, "START flags 4");
	args = lt_args(addr + 1, PG(4), 0);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -EINVAL, "START unaligned addr");
	args = lt_args(addr, PG(4) - 1, 0);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -EINVAL, "START unaligned size");
	args = lt_args(addr, 0, 0);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -EINVAL, "START size 0");
	args = lt_args(addr, 1ULL << 63, 0);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -EINVAL,
		 "START size above LONG_MAX");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, NULL), -EFAULT, "START NULL");

	/* A range running into a hole: the pages before it are pinned, then given back. */
	unmap(addr + PG(3), PG(1), "hole");
	for (uint32_t fast = 0; fast <= PIN_LONGTERM_TEST_FLAG_USE_FAST; fast += 2) {
		args = lt_args(addr, PG(4), fast);
		check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -EFAULT,
			 "START over a hole (flags %#x)", fast);
		check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, &dst), -EINVAL,
			 "no session after a failed START (flags %#x)", fast);
	}
	check_eq(nr_acquired() - a0, nr_released() - r0, "failed STARTs: A == Rel");
	check_eq(page_ref_count(page_at(mm, addr)), 1, "failed STARTs: R of page 0");

	kthread_unuse_mm(mm);
	args = lt_args(addr, PG(3), 0);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -ESRCH, "START with no mm");
	kthread_use_mm(mm);

	/* A running session: a second START, a READ to a bad address or NULL, leave it be. */
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), 0, "START");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), -EINVAL, "double START");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, &bad_dst), -EFAULT, "READ to a hole");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, NULL), -EFAULT, "READ NULL");
	check_eq(page_ref_count(page_at(mm, addr)), 1 + GUP_PIN_COUNTING_BIAS,
		 "the session's pins survive the refusals");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_READ, &dst), 0, "READ after the refusals");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL), 0, "STOP");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL), 0, "second STOP");
	check_eq(nr_acquired() - a0, nr_released() - r0, "all given back: A == Rel");
}

/* A session left running at shutdown: shutdown reports its pins; after a new boot the old
 * session is forgotten (nothing of the new machine is unpinned) and START works again. */
static void test_longterm_session_across_shutdown(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(2));
	struct pin_longterm_test args = lt_args(addr, PG(2), 0);
	FILE *log = pinmm_set_log_stream(tmpfile());

	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), 0, "START");
	kthread_unuse_mm(mm);
	mmput(mm);
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown with a session running reports its pins");
	fclose(pinmm_set_log_stream(log));
	check_eq(boot_with_mm(state, NULL), 0, "boot again");
	addr = map_touched(PG(2));
	args = lt_args(addr, PG(2), 0);
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_START, &args), 0,
		 "START on the new machine (the old session forgotten)");
	check_eq(gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL), 0, "STOP");
	check_eq(page_ref_count(page_at(*state, addr)), 1, "R after STOP on the new machine");
}

#define NR_THREADS 4

struct thread_run {
	struct mm_struct *mm;
	unsigned int cmd;
	struct gup_test gup;
	int ret;
};

static void *run_thread(void *arg)
{
	struct thread_run *run = arg;

	kthread_use_mm(run->mm);
	for (int i = 0; i < 3 && !run->ret; i++) {
		run->gup.size = PG(256);
		run->ret = gup_test_ioctl(run->cmd, &run->gup);
	}
	kthread_unuse_mm(run->mm);
	return NULL;
}

/* gup_test -j: several threads of one mm, each with its own request, at the same time. */
static void test_threads(void **state)
{
	static const unsigned int cmds[] = { PIN_FAST_BENCHMARK, PIN_BASIC_TEST, GUP_FAST_BENCHMARK,
					     PIN_LONGTERM_BENCHMARK };
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(256));
	struct thread_run runs[NR_THREADS];
	pthread_t threads[NR_THREADS];
	long a0 = nr_acquired(), r0 = nr_released();
	unsigned long w0 = pinmm_warn_count();

	for (int i = 0; i < NR_THREADS; i++) {
		runs[i] = (struct thread_run){ .mm = mm, .cmd = cmds[i],
					       .gup = request(addr, PG(256), (unsigned int)i + 1) };
		runs[i].gup.gup_flags = FOLL_WRITE;
		assert_int_equal(pthread_create(&threads[i], NULL, run_thread, &runs[i]), 0);
	}
	for (int i = 0; i < NR_THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		check_eq(runs[i].ret, 0, "thread ioctl");
		check_eq(runs[i].gup.size, PG(256), "thread size");
	}
	check_eq(nr_acquired() - a0, 3 * 3 * 256, "threads A (three pinning threads, 3 rounds)");
	check_eq(nr_released() - r0, 3 * 3 * 256, "threads Rel");
	check_eq(pinmm_warn_count() - w0, 0, "threads WARNs");
}

/* Allocate every block outside CMA that a user page could come from; returns how many. */
static size_t hoard_all_but_cma(struct page **blk, unsigned int *order, size_t cap)
{
	size_t n = 0;

	for (int o = MAX_ORDER - 1; o >= 0; o--) {
		struct page *p;

		while (n < cap &&
		       (p = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, (unsigned int)o))) {
			if (is_migrate_cma_page(p)) {
				__free_pages(p, (unsigned int)o);
				break;
			}
			blk[n] = p;
			order[n++] = (unsigned int)o;
		}
	}
	assert_true(n < cap);
	return n;
}

/*
 * PIN_LONGTERM_BENCHMARK's extra check. A user page in CMA that someone else has pinned cannot
 * migrate, so 5.7's FOLL_LONGTERM pins it where it is; the check reports it:
 * "pages[0] is NOT pinnable but pinned" and a dump of the page with "gup_test failure".
 */
static void test_longterm_check_catches_cma_page(void **state)
{
	unsigned long addr = vm_mmap(NULL, 0, PG(3), PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);
	struct page *blk[64], *page;
	unsigned int order[64];
	struct gup_test gup;
	size_t n;
	char *log;

	(void)state;
	assert_false(IS_ERR_VALUE(addr));
	/* Two pages under one page table: its table is made (and its first page faulted in)
	 * before the hoard, so that the second page's fault needs nothing but a page. */
	if ((addr >> 21) != ((addr + PG(1)) >> 21))
		addr += PG(1);
	assert_int_equal(copy_to_user(addr, "x", 1), 0);
	n = hoard_all_but_cma(blk, order, 64);
	assert_int_equal(copy_to_user(addr + PG(1), "x", 1), 0);
	assert_int_equal(pin_user_pages_fast(addr + PG(1), 1, 0, &page), 1);
	if (!is_migrate_cma_page(page))
		fail_msg("setup: with only CMA free, the page should be in CMA (pfn %#lx)",
			 page_to_pfn(page));

	gup = request(addr + PG(1), PG(1), 1);
	free(test_log_take()); /* start from an empty log */
	check_eq(gup_test_ioctl(PIN_LONGTERM_BENCHMARK, &gup), 0, "long-term check ioctl");
	log = test_log_take();
	if (!strstr(log, "pages[0] is NOT pinnable but pinned") ||
	    !strstr(log, "page dumped because: gup_test failure"))
		fail_msg("the long-term check should report the CMA page; log:\n%s", log);
	free(log);

	unpin_user_page(page);
	for (size_t i = 0; i < n; i++)
		__free_pages(blk[i], order[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dump_pages, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_dump_out_of_range, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_dump_with_pin, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_every_command_releases, setup_no_movable,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_gup_flags_pass_through, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_errors, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_threads, setup_no_movable,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_session, setup_no_movable,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_read_sees_the_pinned_pages, setup_mm,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_errors, setup_mm, teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_session_across_shutdown, setup_mm,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_longterm_check_catches_cma_page,
						setup_cma_machine, teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
