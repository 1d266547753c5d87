/* SPDX-License-Identifier: MIT */
/*
 * Races of the lockless fast path (pin_user_pages_fast and its fast-only variant) against what
 * changes the page tables under it, Linux 5.7's rules (gup_pte_range() and gup_huge_pmd() in
 * mm/gup.c of v5.7: grab the page, then re-read the entry and undo the grab if it changed). Each test runs two threads in one mm (each kthread_use_mm
 * on it) for a bounded number of iterations:
 *
 *   1. pin vs munmap and MAP_FIXED re-mmap of the same small-page range (a guard mapping in
 *      the same 2 MiB keeps its page tables: this one is about the pages);
 *   2. pin vs a THP being split (munmap or mprotect of 4 KiB inside it) or zapped
 *      (MADV_DONTNEED of all or part of it);
 *   3. pin vs fork write-protecting the range (pinmm_fork, then mmput of the child), and pin
 *      vs a COW fault replacing the PTE of a page the pinner may hold (the other thread writes
 *      with copy_to_user while a child shares the pages);
 *   4. pin vs page-table pages being freed: whole blocks, each alone in its 1 GiB of address
 *      space, are unmapped so that their PTE and PMD tables are unlinked and freed after an RCU
 *      grace period while the walker may be reading them.
 *
 * The pinner checks every page it gets while it holds the pin: a RAM page, anonymous, the page
 * for that address (page->index), pinned as gup.h says (order 0: refcount >= 1024, the pin's
 * own bias, which is all that is left once the page is unmapped; THP: exact pin count >= 1,
 * head refcount >= pin count, tail refcount 0); it writes a tag through page_address(), yields,
 * and checks that the pin still holds and the tag is still there (a frame freed and reused
 * under the pin would be zeroed by its next fault). Where the other thread may copy the pages
 * (COW), the pinner only reads a seed written before the threads started, so that the test has
 * no data race of its own for ThreadSanitizer to see. In race 4 the tag fills the page with fake
 * present PTEs pointing at a sentinel page: a walker that followed a freed table which had
 * become a data page would pin the sentinel.
 *
 * Each test ends with nr_foll_pin_acquired == nr_foll_pin_released over the run, every frame
 * back on the free lists once the mm is gone (NR_FREE_PAGES as before), the sentinel untouched,
 * and shutdown clean; the counts it prints show the windows were hit (pages unmapped while
 * pinned, THP subpages pinned, forks, short pins), and a run in which the other thread made
 * fewer than MIN_OVERLAP steps fails rather than pass having tested nothing. Each race takes
 * well under a second plain and under 2 s with TSan (fewer iterations there); sched_yield()
 * between steps widens the windows.
 *
 * Two more tests stand beside the races. test_lookup_walks_tables_another_cpu_linked: a
 * get_user_pages() walking down into page tables another CPU has just linked (under
 * ThreadSanitizer it reported data races until 911073b made table-entry reads acquire loads).
 * test_lookup_vs_madv_dontneed: the slow-path lookup racing MADV_DONTNEED on a THP (bug D,
 * below, fixed by reading the PMD once); race 2 could meet it too (its teardown then reported
 * "1022 page(s) still allocated").
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <urcu.h> /* rcu_barrier(): let the deferred page-table frees run */

#include "test_stress.h"
#include "test_util.h"
#include "vm/pgtable.h" /* the races build and read raw page-table entries */

#define PG(n) ((unsigned long)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define BIAS ((int)GUP_PIN_COUNTING_BIAS)
#define SZ_1G (1UL << 30)

/* The ranges each race uses (all 2 MiB aligned). */
#define R1_BASE 0x100000000UL
#define R1_PAGES 16
#define R1_GUARD (R1_BASE + PG(R1_PAGES + 16))
#define R2_BASE 0x200000000UL
#define R2_PAGES 512 /* one THP */
#define R3_BASE 0x300000000UL
#define R3_PAGES 64
#define R3_WINDOW 16
#define R4_BASE 0x1000000000UL /* block b at R4_BASE + b GiB: its own PMD table */
#define R4_BLOCKS 4
#define R4_PAGES 16

#define MAX_PIN 512
#define SEED(addr) (0x5eed000000000000UL ^ ((addr) >> PAGE_SHIFT))
#define SEED_OFF 8  /* bytes: where the seed lives in each page of race 3 */
#define TAG_OFF 16  /* bytes: where the pinner's tag goes (races 1-3) */

/* Under ThreadSanitizer (ten to twenty times slower) the runs are cut down. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static unsigned long iterations(unsigned long plain, unsigned long tsan)
{
#ifdef UNDER_TSAN
	(void)plain;
	return tsan;
#else
	(void)tsan;
	return plain;
#endif
}

/* ---- the two threads ---- */

struct race {
	const char *name;
	struct mm_struct *mm;
	unsigned long iters;         /* the pinner's iterations, at least */
	unsigned long iters_done;    /* ... and how many it ran */
	struct stress_clock clock;   /* more than iters while PINMM_STRESS_SECONDS lasts */
	atomic_bool stop;            /* the pinner is done, or a check failed */
	atomic_bool ready;           /* the pinner has set the range up */
	bool cow;                    /* race 3: the other thread writes (COW) after each fork */
	struct page *sentinel;       /* race 4 */
	pthread_mutex_t lock;
	char failure[1024];
	/* what happened, to show the race did what it claims */
	unsigned long pins, pinned_pages, thp_pages, orphans, short_pins, efaults, mutations, forks;
	unsigned long progress;      /* the other thread's steps; relaxed, so no ordering */
	uint32_t rng[2];
};

/* Record the first failure and stop both threads. Threads must not call cmocka's checks
 * (they longjmp); the main thread reports it after the join. */
static void race_fail(struct race *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void race_fail(struct race *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->failure[0]) {
		int n = snprintf(r->failure, sizeof(r->failure), "%s: ", r->name);

		va_start(ap, fmt);
		vsnprintf(r->failure + n, sizeof(r->failure) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
	atomic_store(&r->stop, true);
}

static bool stopped(struct race *r)
{
	return atomic_load(&r->stop);
}

/* xorshift32, one fixed sequence per thread (0: pinner, 1: the other) */
static uint32_t next_rand(struct race *r, int t)
{
	uint32_t x = r->rng[t];

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	r->rng[t] = x;
	return x;
}

static void maybe_yield(struct race *r, int t)
{
	if ((next_rand(r, t) & 3) == 0)
		sched_yield();
}

/* The other thread finished one more step. Relaxed: the pinner reads it to know the two
 * overlap, and must not get a happens-before edge from it that would hide a race. */
static void other_step(struct race *r)
{
	__atomic_add_fetch(&r->progress, 1, __ATOMIC_RELAXED);
}

#define MIN_OVERLAP 16 /* steps of the other thread the pinner's run must overlap */

/* Should the pinner run iteration it? It starts once the other thread has made a step, runs
 * r->iters iterations, and more (up to 20 times as many) until the other thread has made
 * MIN_OVERLAP steps: a run where one thread finished before the other started tests nothing. */
static bool pinner_continues(struct race *r, unsigned long it)
{
	if (it == 0)
		while (!__atomic_load_n(&r->progress, __ATOMIC_RELAXED) && !stopped(r))
			sched_yield();
	if (!stopped(r) &&
	    (stress_more(&r->clock, (long)it, (long)r->iters) ||
	     (__atomic_load_n(&r->progress, __ATOMIC_RELAXED) < MIN_OVERLAP && it < 20 * r->iters)))
		return true;
	r->iters_done = it;
	return false;
}

struct thread_arg {
	struct race *r;
	void (*fn)(struct race *r);
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	kthread_use_mm(a->r->mm);
	a->fn(a->r);
	kthread_unuse_mm(a->r->mm);
	return NULL;
}

/* A race that has not finished a minute after its stress duration is stuck (bug D below can
 * leave a thread spinning on a lock word that is not a lock): say so and stop, rather than
 * hang `make check`. */
static void join_or_abort(pthread_t t, const char *name)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 60 + (time_t)stress_duration();
	if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
		fprintf(stderr, "%s: a thread is still running 60 s after its duration: stuck; "
			"aborting\n", name);
		abort();
	}
}

/*
 * Run pinner and other in two threads on a fresh mm, then check what every race must end
 * with: no failure recorded, A == Rel over the run, and once the mm is gone (and RCU has freed
 * the tables it queued) every frame back on the free lists.
 */
static void run_race(struct race *r, void (*pinner)(struct race *), void (*other)(struct race *))
{
	long free0 = global_zone_page_state(NR_FREE_PAGES);
	long a0 = global_node_page_state(NR_FOLL_PIN_ACQUIRED);
	long r0 = global_node_page_state(NR_FOLL_PIN_RELEASED);
	struct thread_arg args[2] = {{r, pinner}, {r, other}};
	pthread_t t[2];
	long da, dr, bad;

	pthread_mutex_init(&r->lock, NULL);
	r->rng[0] = 0x9e3779b9u;
	r->rng[1] = 0x7f4a7c15u;
	r->mm = mm_alloc();
	assert_non_null(r->mm);
	stress_start(&r->clock);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
	for (int i = 0; i < 2; i++)
		join_or_abort(t[i], r->name);
	/* The round's end state, mm still alive. Race 4's sentinel is the test's own page, which
	 * nothing maps or pins: the check rightly counts it as unreachable. */
	bad = pinmm_check_invariants() - (r->sentinel != NULL);
	mmput(r->mm);
	rcu_barrier();
	pthread_mutex_destroy(&r->lock);
	if (r->failure[0])
		fail_msg("%s", r->failure);
	if (bad)
		fail_msg("%s: after the race, pinmm_check_invariants() found %+ld violations "
			 "(log above), expected none", r->name, bad);
	bad = pinmm_check_invariants() - (r->sentinel != NULL);
	if (bad)
		fail_msg("%s: with the mm gone, pinmm_check_invariants() found %+ld "
			 "violations, expected none", r->name, bad);

	da = global_node_page_state(NR_FOLL_PIN_ACQUIRED) - a0;
	dr = global_node_page_state(NR_FOLL_PIN_RELEASED) - r0;
	if (da != dr)
		fail_msg("%s: after unpinning everything, nr_foll_pin_acquired moved by %+ld and "
			 "nr_foll_pin_released by %+ld; expected equal", r->name, da, dr);
	if (global_zone_page_state(NR_FREE_PAGES) != free0)
		fail_msg("%s: with the mm gone, NR_FREE_PAGES is %ld, expected %ld as before the "
			 "run (%+ld)", r->name, global_zone_page_state(NR_FREE_PAGES), free0,
			 global_zone_page_state(NR_FREE_PAGES) - free0);
	if (r->pins == 0)
		fail_msg("%s: the pinner never got a page in %lu iterations; expected it to",
			 r->name, r->iters_done);
	if (r->progress < MIN_OVERLAP)
		fail_msg("%s: the other thread made %lu steps while the pinner ran %lu iterations; "
			 "expected at least %d", r->name, r->progress, r->iters_done, MIN_OVERLAP);
	print_message("%s: %lu iterations, %lu pins of %lu pages (%lu THP subpages, %lu no longer "
		      "mapped while pinned), %lu short, %lu -EFAULT; %lu mutations, %lu forks\n",
		      r->name, r->iters_done, r->pins, r->pinned_pages, r->thp_pages, r->orphans,
		      r->short_pins, r->efaults, r->mutations, r->forks);
}

/* ---- the pinner's checks ---- */

/* The page pinned for addr: a RAM page, anonymous, the one for addr, held by our pin. */
static bool check_pinned(struct race *r, struct page *page, unsigned long addr, unsigned long it,
			 const char *when)
{
	struct page *head;
	unsigned long pfn;

	if (!page) {
		race_fail(r, "iteration %lu, %s: NULL page returned for %#lx", it, when, addr);
		return false;
	}
	pfn = page_to_pfn(page);
	if (pfn >= max_pfn) {
		race_fail(r, "iteration %lu, %s: page for %#lx is pfn %#lx, expected a RAM pfn "
			  "(< %#lx)", it, when, addr, pfn, max_pfn);
		return false;
	}
	if (r->sentinel && page == r->sentinel) {
		race_fail(r, "iteration %lu, %s: the sentinel page was returned for %#lx: the walk "
			  "followed a freed page table", it, when, addr);
		return false;
	}
	head = compound_head(page);
	if (hpage_pincount_available(head)) {
		int P = compound_pincount(head), R = page_ref_count(head);

		if (P < 1 || R < P) {
			race_fail(r, "iteration %lu, %s: THP subpage for %#lx (pfn %#lx): pin count "
				  "P %d, head refcount R %d; expected P >= 1 and R >= P while "
				  "pinned", it, when, addr, pfn, P, R);
			return false;
		}
		if (page != head && page_ref_count(page) != 0) {
			race_fail(r, "iteration %lu, %s: tail pfn %#lx has refcount %d, expected 0",
				  it, when, pfn, page_ref_count(page));
			return false;
		}
	} else if (page_ref_count(head) < BIAS) {
		race_fail(r, "iteration %lu, %s: order-0 page for %#lx (pfn %#lx) has refcount %d, "
			  "expected >= %d while pinned (freed under the pin?)", it, when, addr, pfn,
			  page_ref_count(head), BIAS);
		return false;
	}
	if (!PageAnon(head)) {
		race_fail(r, "iteration %lu, %s: page for %#lx (pfn %#lx) is not anonymous "
			  "(mapping %p)", it, when, addr, pfn, (void *)head->mapping);
		return false;
	}
	if (head->index + (unsigned long)(page - head) != addr >> PAGE_SHIFT) {
		race_fail(r, "iteration %lu, %s: page pfn %#lx has index %#lx (+%ld in its head), "
			  "expected the page of %#lx (index %#lx)", it, when, pfn, head->index,
			  (long)(page - head), addr, addr >> PAGE_SHIFT);
		return false;
	}
	return true;
}

static unsigned long *word_at(struct page *page, unsigned long off)
{
	return (unsigned long *)((char *)page_address(page) + off);
}

static unsigned long tag_of(unsigned long it, unsigned long i)
{
	return 0x7a9000000000UL | (it << 12) | i;
}

/*
 * One pin of [start, start + n pages) and its checks. flags: FOLL_WRITE or 0; fast_only picks
 * pin_user_pages_fast_only. mode: 't' writes and re-reads a tag, 's' reads the race-3 seed,
 * 'p' fills the page with fake PTEs (race 4). A negative return may only be -EFAULT (the range
 * was unmapped at its start); a short count is fine.
 */
static void pin_round(struct race *r, unsigned long it, unsigned long start, int n,
		      unsigned int flags, bool fast_only, char mode)
{
	struct page *pages[MAX_PIN];
	int ret = fast_only ? pin_user_pages_fast_only(start, n, flags, pages)
			    : pin_user_pages_fast(start, n, flags, pages);

	if (ret < 0) {
		if (ret != -EFAULT || fast_only)
			race_fail(r, "iteration %lu: pin_user_pages_fast%s(%#lx, %d) is %d, expected "
				  "a count or -EFAULT", it, fast_only ? "_only" : "", start, n, ret);
		r->efaults++;
		return;
	}
	if (ret > n) {
		race_fail(r, "iteration %lu: %d pages pinned of %d asked", it, ret, n);
		return;
	}
	r->pins += ret > 0;
	r->pinned_pages += (unsigned long)ret;
	r->short_pins += ret < n;
	for (int i = 0; i < ret; i++) {
		unsigned long addr = start + PG(i);

		if (!check_pinned(r, pages[i], addr, it, "right after the pin"))
			goto out;
		if (hpage_pincount_available(pages[i]))
			r->thp_pages++;
		if (mode == 't') {
			*word_at(pages[i], TAG_OFF) = tag_of(it, (unsigned long)i);
		} else if (mode == 's') {
			if (*word_at(pages[i], SEED_OFF) != SEED(addr)) {
				race_fail(r, "iteration %lu: page for %#lx holds seed %#lx, expected "
					  "%#lx", it, addr, *word_at(pages[i], SEED_OFF), SEED(addr));
				goto out;
			}
		} else {
			unsigned long fake = (page_to_pfn(r->sentinel) << PAGE_SHIFT) |
					     _PAGE_PRESENT | _PAGE_RW | _PAGE_USER |
					     _PAGE_ACCESSED | _PAGE_DIRTY;
			unsigned long *w = page_address(pages[i]);

			for (unsigned long k = 0; k < PAGE_SIZE / sizeof(*w); k++)
				w[k] = fake;
		}
	}
	maybe_yield(r, 0);
	for (int i = 0; i < ret; i++) {
		if (!check_pinned(r, pages[i], start + PG(i), it, "after a yield, still pinned"))
			goto out;
		r->orphans += page_mapcount(pages[i]) == 0;
		if (mode == 't' && *word_at(pages[i], TAG_OFF) != tag_of(it, (unsigned long)i)) {
			race_fail(r, "iteration %lu: the tag written to the pinned page for %#lx "
				  "(pfn %#lx) reads %#lx, expected %#lx: the frame was reused under "
				  "the pin", it, start + PG(i), page_to_pfn(pages[i]),
				  *word_at(pages[i], TAG_OFF), tag_of(it, (unsigned long)i));
			goto out;
		}
	}
out:
	unpin_user_pages(pages, (unsigned long)ret);
}

/* The other thread's calls: an unexpected error stops the race. */
static void expect_ok(struct race *r, long ret, const char *what, unsigned long addr)
{
	if (ret != 0)
		race_fail(r, "%s(%#lx) is %ld, expected 0", what, addr, ret);
}

static void map_fixed(struct race *r, unsigned long addr, unsigned long len, bool populate)
{
	unsigned long ret = vm_mmap(NULL, addr, len, RW,
				    ANON | MAP_FIXED | (populate ? MAP_POPULATE : 0), 0);

	if (ret != addr)
		race_fail(r, "vm_mmap(%#lx, %#lx, MAP_FIXED) is %#lx, expected the address", addr,
			  len, ret);
}

static void check_eq_ul(unsigned long found, unsigned long expected)
{
	if (found != expected)
		fail_msg("found %#lx, expected %#lx", found, expected);
}

/* In the test thread: a MAP_FIXED mapping that must land where asked. */
static void check_map(unsigned long ret, unsigned long addr)
{
	if (ret != addr)
		fail_msg("vm_mmap(%#lx, MAP_FIXED) is %#lx, expected the address", addr, ret);
}

/* ==== 1. pin vs munmap / MAP_FIXED re-mmap ==== */

static void pinner_munmap(struct race *r)
{
	/* A guard mapping in the same 2 MiB keeps the page tables: this race is about pages. */
	map_fixed(r, R1_GUARD, PAGE_SIZE, true);
	map_fixed(r, R1_BASE, PG(R1_PAGES), true);
	atomic_store(&r->ready, true);
	for (unsigned long it = 0; pinner_continues(r, it); it++)
		pin_round(r, it, R1_BASE, R1_PAGES, FOLL_WRITE, (it & 3) == 3, 't');
	atomic_store(&r->stop, true);
}

static void other_munmap(struct race *r)
{
	while (!atomic_load(&r->ready) && !stopped(r))
		sched_yield();
	while (!stopped(r)) {
		switch (next_rand(r, 1) % 4) {
		case 0: /* unmap, then map again */
			expect_ok(r, vm_munmap(R1_BASE, PG(R1_PAGES)), "vm_munmap", R1_BASE);
			maybe_yield(r, 1);
			map_fixed(r, R1_BASE, PG(R1_PAGES), next_rand(r, 1) & 1);
			break;
		case 1: /* MAP_FIXED over the live mapping: an implicit munmap */
			map_fixed(r, R1_BASE, PG(R1_PAGES), true);
			break;
		case 2: /* part of it */
			expect_ok(r, vm_munmap(R1_BASE + PG(R1_PAGES / 2), PG(R1_PAGES / 2)),
				  "vm_munmap(second half)", R1_BASE);
			maybe_yield(r, 1);
			map_fixed(r, R1_BASE + PG(R1_PAGES / 2), PG(R1_PAGES / 2), false);
			break;
		default:
			sched_yield();
			break;
		}
		r->mutations++;
		other_step(r);
	}
}

static void test_race_pin_vs_munmap(void **state)
{
	static struct race r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.name = "race 1 (pin_user_pages_fast vs munmap / MAP_FIXED re-mmap)";
	r.iters = iterations(100000, 3000);
	run_race(&r, pinner_munmap, other_munmap);
}

/* ==== 2. pin vs THP split (munmap / mprotect of 4 KiB) and zap (MADV_DONTNEED) ==== */

/* MADV_DONTNEED runs under the shared mmap lock, concurrently with the pinner's slow path: the
 * window of bug D (test_lookup_vs_madv_dontneed), which this race hits
 * now and then. */

static void pinner_thp(struct race *r)
{
	map_fixed(r, R2_BASE, PG(R2_PAGES), true);
	atomic_store(&r->ready, true);
	for (unsigned long it = 0; pinner_continues(r, it); it++) {
		/* the whole THP, or a window of it */
		unsigned long off = (it & 1) ? next_rand(r, 0) % (R2_PAGES - 64) : 0;
		int n = (it & 1) ? 64 : R2_PAGES;

		pin_round(r, it, R2_BASE + PG(off), n, FOLL_WRITE, (it & 7) == 5, 't');
	}
	atomic_store(&r->stop, true);
}

static void other_thp(struct race *r)
{
	while (!atomic_load(&r->ready) && !stopped(r))
		sched_yield();
	while (!stopped(r)) {
		unsigned long p = R2_BASE + PG(next_rand(r, 1) % R2_PAGES);
		long ret;

		switch (next_rand(r, 1) % 6) {
		case 0: /* a fresh THP */
			map_fixed(r, R2_BASE, PG(R2_PAGES), true);
			break;
		case 1: /* split: unmap 4 KiB inside */
			expect_ok(r, vm_munmap(p, PAGE_SIZE), "vm_munmap(4 KiB inside the THP)", p);
			break;
		case 2: /* split: 4 KiB read-only inside */
			ret = vm_mprotect(p, PAGE_SIZE, PROT_READ);
			if (ret && ret != -ENOMEM)
				race_fail(r, "vm_mprotect(%#lx, 4 KiB, PROT_READ) is %ld", p, ret);
			break;
		case 3: /* zap it all */
			ret = do_madvise(r->mm, R2_BASE, PG(R2_PAGES), MADV_DONTNEED);
			if (ret && ret != -ENOMEM)
				race_fail(r, "MADV_DONTNEED of the THP is %ld", ret);
			break;
		case 4: /* zap 4 KiB of it */
			ret = do_madvise(r->mm, p, PAGE_SIZE, MADV_DONTNEED);
			if (ret && ret != -ENOMEM)
				race_fail(r, "MADV_DONTNEED(%#lx, 4 KiB) is %ld", p, ret);
			break;
		default: /* writable again where mapped */
			ret = vm_mprotect(R2_BASE, PG(R2_PAGES), RW);
			if (ret && ret != -ENOMEM)
				race_fail(r, "vm_mprotect(THP range, RW) is %ld", ret);
			break;
		}
		r->mutations++;
		other_step(r);
		maybe_yield(r, 1);
	}
}

/* shutdown_clean(), naming the likely cause when it finds damage. */
static int shutdown_clean_race2(void **state)
{
	int ret = shutdown_clean(state);

	if (ret)
		fprintf(stderr, "race 2: shutdown found damage; \"1022 page(s) still allocated\" is "
			"bug D (src/gup/gup.c:175-177), see "
			"test_lookup_vs_madv_dontneed\n");
	return ret;
}

static void test_race_pin_vs_thp_split_and_zap(void **state)
{
	static struct race r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.name = "race 2 (pin_user_pages_fast vs THP split / MADV_DONTNEED)";
	r.iters = iterations(8000, 250);
	run_race(&r, pinner_thp, other_thp);
	if (r.thp_pages == 0)
		fail_msg("%s: no THP subpage was ever pinned; expected the race to pin THPs",
			 r.name);
}

/* ==== 3. pin vs fork write-protect, and vs COW replacing the PTE ==== */

static void pinner_fork(struct race *r)
{
	map_fixed(r, R3_BASE, PG(R3_PAGES), false);
	for (unsigned long i = 0; i < R3_PAGES; i++) {
		unsigned long addr = R3_BASE + PG(i), seed = SEED(addr);

		if (copy_to_user(addr + SEED_OFF, &seed, sizeof(seed)))
			race_fail(r, "copy_to_user(seed of %#lx) failed", addr);
	}
	atomic_store(&r->ready, true);
	for (unsigned long it = 0; pinner_continues(r, it); it++) {
		unsigned long off = next_rand(r, 0) % (R3_PAGES - R3_WINDOW + 1);
		/* read pins too: they keep a page that a COW then takes away from the mm */
		unsigned int flags = (it % 3 == 2) ? 0 : FOLL_WRITE;

		/* With a COW writer, data is only read here (the copy reads whole pages). */
		pin_round(r, it, R3_BASE + PG(off), R3_WINDOW, flags, (it & 7) == 3,
			  r->cow ? 's' : 't');
		if (!r->cow && !stopped(r)) {
			/* the seeds must have survived the fork-time sharing and COW copies */
			struct page *page;

			if (pin_user_pages_fast(R3_BASE + PG(off), 1, 0, &page) == 1) {
				if (*word_at(page, SEED_OFF) != SEED(R3_BASE + PG(off)))
					race_fail(r, "iteration %lu: seed of %#lx reads %#lx", it,
						  R3_BASE + PG(off), *word_at(page, SEED_OFF));
				unpin_user_page(page);
			}
		}
	}
	atomic_store(&r->stop, true);
}

static void other_fork(struct race *r)
{
	while (!atomic_load(&r->ready) && !stopped(r))
		sched_yield();
	while (!stopped(r)) {
		struct mm_struct *child = pinmm_fork(r->mm);

		if (IS_ERR(child)) {
			race_fail(r, "pinmm_fork is %ld, expected an mm", PTR_ERR(child));
			break;
		}
		r->forks++;
		other_step(r);
		maybe_yield(r, 1);
		/* COW: write byte 0 of a few pages while the child shares them */
		for (int k = 0; r->cow && k < 4; k++) {
			unsigned long addr = R3_BASE + PG(next_rand(r, 1) % R3_PAGES);
			unsigned char v = (unsigned char)k;

			if (copy_to_user(addr, &v, 1))
				race_fail(r, "copy_to_user(%#lx) failed", addr);
			r->mutations++;
		}
		maybe_yield(r, 1);
		mmput(child);
	}
}

static void test_race_pin_vs_fork_wrprotect(void **state)
{
	static struct race r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.name = "race 3a (pin_user_pages_fast vs fork write-protect)";
	r.iters = iterations(30000, 3000);
	run_race(&r, pinner_fork, other_fork);
	if (r.forks == 0)
		fail_msg("%s: no fork ran during the race", r.name);
}

static void test_race_pin_vs_cow(void **state)
{
	static struct race r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.name = "race 3b (pin_user_pages_fast vs COW after fork)";
	r.iters = iterations(30000, 3000);
	r.cow = true;
	run_race(&r, pinner_fork, other_fork);
	if (r.forks == 0 || r.mutations == 0)
		fail_msg("%s: %lu forks and %lu COW writes ran; expected some of each", r.name,
			 r.forks, r.mutations);
}

/* ==== 4. pin vs page-table pages freed under RCU ==== */


static unsigned long r4_block(unsigned long b)
{
	return R4_BASE + b * SZ_1G;
}

static void pinner_pgtable(struct race *r)
{
	for (unsigned long b = 0; b < R4_BLOCKS; b++)
		map_fixed(r, r4_block(b), PG(R4_PAGES), true);
	atomic_store(&r->ready, true);
	for (unsigned long it = 0; pinner_continues(r, it); it++) {
		unsigned long b = next_rand(r, 0) % R4_BLOCKS;

		/* mostly fast-only: the walk that never takes the mmap lock */
		pin_round(r, it, r4_block(b), R4_PAGES, FOLL_WRITE, (it & 3) != 0, 'p');
	}
	atomic_store(&r->stop, true);
}

static void other_pgtable(struct race *r)
{
	while (!atomic_load(&r->ready) && !stopped(r))
		sched_yield();
	while (!stopped(r)) {
		unsigned long b = next_rand(r, 1) % R4_BLOCKS;

		/* the block is alone in its 1 GiB: its PTE and PMD tables go to RCU */
		expect_ok(r, vm_munmap(r4_block(b), PG(R4_PAGES)), "vm_munmap(block)", r4_block(b));
		maybe_yield(r, 1);
		map_fixed(r, r4_block(b), PG(R4_PAGES), true);
		r->mutations++;
		other_step(r);
		maybe_yield(r, 1);
	}
}

static void test_race_pin_vs_pgtable_free(void **state)
{
	static struct race r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.name = "race 4 (pin_user_pages_fast(_only) vs page tables freed by munmap)";
	r.iters = iterations(60000, 3000);
	r.sentinel = alloc_page(GFP_KERNEL);
	assert_non_null(r.sentinel);
	run_race(&r, pinner_pgtable, other_pgtable);
	if (page_ref_count(r.sentinel) != 1)
		fail_msg("%s: the sentinel page's refcount is %d, expected 1: a walker followed a "
			 "freed page table", r.name, page_ref_count(r.sentinel));
	__free_page(r.sentinel);
}

/* ==== a lookup descends into page tables another CPU has just linked ==== */

/*
 * One CPU faults a fresh range in while another, inside the same shared mmap read section,
 * looks it up with get_user_pages() -- what races 2 and 4 do all the time. The lookup walks
 * down into the tables the fault allocated and linked; it must see them initialised (zeroed,
 * their ptl set up), which takes acquire loads of the entries it follows. Until 911073b the
 * walk used relaxed loads (pt_entry_read) and ThreadSanitizer reported a data race against
 * prep_new_pages() in every run of this test; it is the regression test for that, and
 * checks in any build that both calls succeed.
 */
struct fault_pair {
	struct mm_struct *mm;
	pthread_barrier_t barrier;
	unsigned long failures;
	/* A relaxed flag: it orders the two CPUs in real time without synchronising them. */
	unsigned long locked;
	int id;
};

static void wait_relaxed(unsigned long *flag, unsigned long value)
{
	while (__atomic_load_n(flag, __ATOMIC_RELAXED) != value)
		sched_yield();
}

#define FP_LEAD 1024UL /* pages before the fresh 1 GiB, faulted in before the threads start */

static unsigned long fp_base(unsigned long round)
{
	return R4_BASE + (8 + round) * SZ_1G; /* 1 GiB aligned; nothing mapped from here on */
}

/*
 * CPU 1 takes the mmap read lock and starts get_user_pages() over FP_LEAD mapped pages that
 * end in the first page of a fresh 1 GiB of address space; as soon as it has started, CPU 0
 * faults that page in (allocating and linking its PMD and PTE tables, under the read lock
 * too). CPU 1 is still walking the lead pages then; when it gets to the last one it descends
 * into CPU 0's new tables.
 */
static void *fault_pair_thread(void *p)
{
	struct fault_pair *f = p;
	int id = __atomic_fetch_add(&f->id, 1, __ATOMIC_SEQ_CST);
	struct page **pages = calloc(FP_LEAD + 1, sizeof(*pages));

	kthread_use_mm(f->mm);
	for (unsigned long round = 1; pages && round <= 8; round++) {
		unsigned long addr = fp_base(round);
		unsigned char v = (unsigned char)round;
		long ret;

		pthread_barrier_wait(&f->barrier);
		if (id == 0) {
			wait_relaxed(&f->locked, round);
			if (copy_to_user(addr, &v, 1))
				__atomic_fetch_add(&f->failures, 1, __ATOMIC_SEQ_CST);
		} else {
			mmap_read_lock(f->mm);
			__atomic_store_n(&f->locked, round, __ATOMIC_RELAXED);
			ret = get_user_pages(addr - PG(FP_LEAD), FP_LEAD + 1, 0, pages);
			for (long i = 0; i < ret; i++)
				put_page(pages[i]);
			if (ret != (long)FP_LEAD + 1)
				__atomic_fetch_add(&f->failures, 1, __ATOMIC_SEQ_CST);
			mmap_read_unlock(f->mm);
		}
		pthread_barrier_wait(&f->barrier);
	}
	kthread_unuse_mm(f->mm);
	free(pages);
	return NULL;
}

static void test_lookup_walks_tables_another_cpu_linked(void **state)
{
	struct fault_pair f = {.mm = mm_alloc()};
	pthread_t t[2];

	(void)state;
	assert_non_null(f.mm);
	kthread_use_mm(f.mm);
	for (unsigned long round = 1; round <= 8; round++) {
		unsigned long start = fp_base(round) - PG(FP_LEAD);

		check_map(vm_mmap(NULL, start, PG(FP_LEAD + 2), RW, ANON | MAP_FIXED, 0), start);
		for (unsigned long i = 0; i < FP_LEAD; i += 512)
			check_eq_ul(copy_to_user(start + PG(i), &i, 1), 0);
	}
	kthread_unuse_mm(f.mm);
	pthread_barrier_init(&f.barrier, NULL, 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fault_pair_thread, &f), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&f.barrier);
	mmput(f.mm);
	rcu_barrier();
	if (f.failures)
		fail_msg("fault vs lookup in fresh tables: %lu copy_to_user/get_user_pages calls "
			 "failed, expected none", f.failures);
}

/* ==== Bug D (fixed): the slow-path lookup walked a PMD that MADV_DONTNEED had cleared ==== */

/*
 * follow_page_mask() checks pmd_none() on one read of the PMD and walks from a second read
 * (src/gup/gup.c:175 and :177). MADV_DONTNEED runs under the shared mmap lock, as GUP does,
 * and can clear the PMD of a THP in between: zap_huge_pmd()'s pmdp_get_and_clear()
 * (src/vm/huge_memory.c:150), or the split of a partial zap, which leaves the PMD none while
 * it fills the PTE table (split_huge_pmd_locked(), src/vm/huge_memory.c:113). The second read
 * is then none, and follow_page_pte() (src/gup/gup.c:210 -> :123) takes pte_offset() of it:
 * pfn 0's frame, as if it were a PTE table. It locks "its" ptl, which is word 5 of pfn 0's
 * struct page -- the buddy order while pfn 0 is free, so the spinlock writes 1 over it and
 * spins until something writes 0 -- and reads a "PTE" out of whatever pfn 0 holds (a page
 * table of some mm, or user data). Seen here as pinmm_shutdown() -EBUSY with "1022 page(s)
 * still allocated" (the order-10 free block at pfn 0 then claims order 1), or as a stuck
 * lookup. An instrumented copy of gup.c printed the none second read each time this failed.
 * Linux 5.7 reads the PMD once (pmdval = READ_ONCE(*pmd), follow_pmd_mask()) and treats an
 * unstable PMD as "no page" (pmd_trans_unstable()).
 *
 * The scenario runs in a child process (this binary again, with --dontneed-lookup-child), so
 * that a stuck lookup costs a timeout rather than the test run: rounds of boot, two threads
 * for a while, shutdown, until shutdown finds damage or 2 s are up. It finds it in about 9
 * runs out of 10 plain, 1 in 5 under ASan; under ThreadSanitizer it is skipped.
 */
#define DL_CHILD_ARG "--dontneed-lookup-child"

struct dontneed_lookup {
	struct mm_struct *mm;
	unsigned long iters;
	atomic_bool done;
	unsigned long bad;
};

/* Look the THP's 512 pages up, FOLL_WRITE (never the zero page), under the read lock. */
static void *dl_lookup(void *p)
{
	struct dontneed_lookup *d = p;
	struct page **pages = calloc(R2_PAGES, sizeof(*pages));

	kthread_use_mm(d->mm);
	for (unsigned long i = 0; pages && i < d->iters; i++) {
		long n;

		mmap_read_lock(d->mm);
		n = get_user_pages(R2_BASE, R2_PAGES, FOLL_WRITE, pages);
		for (long k = 0; k < n; k++) {
			struct page *head = compound_head(pages[k]);

			if (head->index + (unsigned long)(pages[k] - head) != (R2_BASE >> PAGE_SHIFT) + (unsigned long)k)
				d->bad++;
			put_page(pages[k]);
		}
		mmap_read_unlock(d->mm);
	}
	atomic_store(&d->done, true);
	kthread_unuse_mm(d->mm);
	free(pages);
	return NULL;
}

/* A fresh THP (MAP_FIXED, populated), then MADV_DONTNEED of all of it or of 4 KiB inside. */
static void *dl_zap(void *p)
{
	struct dontneed_lookup *d = p;

	kthread_use_mm(d->mm);
	for (unsigned long n = 0; !atomic_load(&d->done); n++) {
		vm_mmap(NULL, R2_BASE, PG(R2_PAGES), RW, ANON | MAP_FIXED | MAP_POPULATE, 0);
		if (n & 1)
			do_madvise(d->mm, R2_BASE, PG(R2_PAGES), MADV_DONTNEED);
		else
			do_madvise(d->mm, R2_BASE + PG(3), PAGE_SIZE, MADV_DONTNEED);
	}
	kthread_unuse_mm(d->mm);
	return NULL;
}

static double seconds_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The child: 0 if nothing went wrong in the time given, 1 with a report on stderr if not. */
static int dontneed_lookup_child(void)
{
	const double budget = stress_seconds(2.0);
	const unsigned long iters = 3000;
	double start = seconds_now();
	unsigned long round;

	for (round = 0; seconds_now() - start < budget; round++) {
		struct dontneed_lookup d = {.iters = iters};
		pthread_t t[2];
		int ret;

		if (pinmm_boot(NULL)) {
			fprintf(stderr, "round %lu: pinmm_boot failed\n", round);
			return 1;
		}
		d.mm = mm_alloc();
		kthread_use_mm(d.mm);
		vm_mmap(NULL, R2_BASE, PG(R2_PAGES), RW, ANON | MAP_FIXED | MAP_POPULATE, 0);
		kthread_unuse_mm(d.mm);
		pthread_create(&t[0], NULL, dl_lookup, &d);
		pthread_create(&t[1], NULL, dl_zap, &d);
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		if (pinmm_check_invariants() != 0) {
			fprintf(stderr, "round %lu: pinmm_check_invariants() found violations\n",
				round);
			return 1;
		}
		mmput(d.mm);
		rcu_barrier();
		ret = pinmm_shutdown();
		if (ret || d.bad) {
			fprintf(stderr, "round %lu: pinmm_shutdown() = %d, %lu page(s) returned for the "
				"wrong address\n", round, ret, d.bad);
			return 1;
		}
	}
	fprintf(stderr, "%lu rounds, no damage found\n", round);
	return 0;
}

static void test_lookup_vs_madv_dontneed(void **state)
{
	char *const argv[] = {"test_gup_races", DL_CHILD_ARG, NULL};
	posix_spawn_file_actions_t fa;
	static char out[4096];
	size_t len = 0;
	int fds[2], status = 0;
	bool timed_out = false;
	double start = seconds_now();
	pid_t pid;

	(void)state;
#ifdef UNDER_TSAN
	/* A logic race on atomic accesses: nothing for ThreadSanitizer to report, and at its
	 * speed the window is rarely hit. The plain and ASan builds run it. */
	skip();
#endif
	assert_int_equal(pipe(fds), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	assert_int_equal(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		ssize_t n;

		if (seconds_now() - start > 30) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(fds[0], out + len, sizeof(out) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(out) - 1)
			len = 0; /* keep the tail */
	}
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (timed_out)
		fail_msg("bug D (src/gup/gup.c:175-177): get_user_pages() racing MADV_DONTNEED "
			 "of a THP got stuck (30 s): a lookup spinning on pfn 0's \"ptl\"? Child "
			 "output:\n%s", out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("bug D (src/gup/gup.c:175-177, follow_page_mask reads the PMD twice): "
			 "get_user_pages() racing MADV_DONTNEED of a THP damaged the machine; expected "
			 "a clean shutdown. Child (wait status %#x):\n%s", status, out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		test_with_machine(test_race_pin_vs_munmap),
		cmocka_unit_test_setup_teardown(test_race_pin_vs_thp_split_and_zap, boot_default,
						shutdown_clean_race2),
		test_with_machine(test_race_pin_vs_fork_wrprotect),
		test_with_machine(test_race_pin_vs_cow),
		test_with_machine(test_race_pin_vs_pgtable_free),
		test_with_machine(test_lookup_walks_tables_another_cpu_linked),
		cmocka_unit_test(test_lookup_vs_madv_dontneed),
	};

	if (argc == 2 && !strcmp(argv[1], DL_CHILD_ARG))
		return dontneed_lookup_child();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
