/* SPDX-License-Identifier: MIT */
/*
 * The allocator and vmstat under concurrency: two threads allocating and freeing random orders
 * and gfp flags at once, each writing its own pattern into every block it holds and checking it
 * before freeing (a block handed to two owners shows up as a clobbered pattern); afterwards
 * nr_free_pages and buddyinfo are back to their boot values and shutdown finds nothing. vmstat
 * sums every thread's counts: pgalloc_normal / pgalloc_movable / pgfree equal what the threads
 * counted themselves, for live threads and for threads that have exited, including counts made
 * while a thread is exiting.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "test_mm_util.h"
#include "test_stress.h"

#define NR_THREADS 2
#define SLOTS 24

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define ITERATIONS 20000 /* keeps each test well under 2 s with the sanitizers */
#else
#define ITERATIONS 100000
#endif

struct held {
	struct page *page;
	unsigned int order;
	bool compound;
	uint64_t tag;
};

/* What one thread did, counted by itself, and the first thing it found wrong. */
struct worker {
	int id;
	unsigned int seed;
	int iterations;
	pthread_barrier_t *start; /* if set: wait here before the first allocation */
	pthread_barrier_t *park;  /* if set: wait here twice before returning (still alive) */
	unsigned long alloc_normal, alloc_movable, freed; /* pages */
	unsigned long nr_allocs;
	unsigned long errors;
	char error[256];
	struct held slot[SLOTS];
};

static void worker_error(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void worker_error(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->errors++)
		return;
	va_start(ap, fmt);
	vsnprintf(w->error, sizeof(w->error), fmt, ap);
	va_end(ap);
}

static unsigned int next_rand(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The pattern: the first and last 8 bytes of every 4 KiB frame of the block. */
static void write_pattern(struct held *h)
{
	for (unsigned long i = 0; i < (1UL << h->order); i++) {
		uint64_t *p = page_address(h->page + i);

		p[0] = h->tag + i;
		p[PAGE_SIZE / 8 - 1] = ~(h->tag + i);
	}
}

static void check_and_free(struct worker *w, struct held *h)
{
	for (unsigned long i = 0; i < (1UL << h->order); i++) {
		const uint64_t *p = page_address(h->page + i);

		if (p[0] != h->tag + i || p[PAGE_SIZE / 8 - 1] != ~(h->tag + i)) {
			worker_error(w, "thread %d: block at pfn %#lx (order %u) frame %lu was "
				     "overwritten (%#llx, want %#llx): handed to two owners?", w->id,
				     page_to_pfn(h->page), h->order, i, (unsigned long long)p[0],
				     (unsigned long long)(h->tag + i));
			break;
		}
	}
	if (page_ref_count(h->page) != 1)
		worker_error(w, "thread %d: block at pfn %#lx has refcount %d before its free", w->id,
			     page_to_pfn(h->page), page_ref_count(h->page));
	if (h->compound)
		put_page(h->page);
	else
		__free_pages(h->page, h->order);
	w->freed += 1UL << h->order;
	h->page = NULL;
}

static bool take_block(struct worker *w, struct held *h)
{
	unsigned int r = next_rand(&w->seed);
	/* Mostly small orders, sometimes up to MAX_ORDER - 1. */
	unsigned int order = (r & 7) ? (r >> 3) % 4 : (r >> 3) % MAX_ORDER;
	bool movable = r & 0x10000, compound = order && (r & 0x20000);
	gfp_t gfp = (movable ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL) | (compound ? __GFP_COMP : 0);
	struct page *page = alloc_pages(gfp, order);

	if (!page) {
		worker_error(w, "thread %d: alloc_pages(%#x, %u) failed", w->id, gfp, order);
		return false;
	}
	if (page_ref_count(page) != 1 || page_to_pfn(page) & ((1UL << order) - 1))
		worker_error(w, "thread %d: new order-%u block at pfn %#lx with refcount %d",
			     w->id, order, page_to_pfn(page), page_ref_count(page));
	if (page_zonenum(page) == ZONE_MOVABLE)
		w->alloc_movable += 1UL << order;
	else
		w->alloc_normal += 1UL << order;
	if (!movable && (page_zonenum(page) != ZONE_NORMAL || is_migrate_cma_page(page)))
		worker_error(w, "thread %d: unmovable block at pfn %#lx from ZONE_MOVABLE or CMA",
			     w->id, page_to_pfn(page));
	*h = (struct held){page, order, compound,
			   ((uint64_t)w->id << 56) | ((uint64_t)w->nr_allocs++ << 20)};
	write_pattern(h);
	return true;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct stress_clock clock;

	if (w->start)
		pthread_barrier_wait(w->start); /* all threads begin together */
	stress_start(&clock);
	for (long it = 0; stress_more(&clock, it, w->iterations); it++) {
		struct held *h = &w->slot[next_rand(&w->seed) % SLOTS];

		if (h->page)
			check_and_free(w, h);
		else if (!take_block(w, h))
			break;
	}
	for (int i = 0; i < SLOTS; i++)
		if (w->slot[i].page)
			check_and_free(w, &w->slot[i]);
	if (w->park) {
		pthread_barrier_wait(w->park); /* done: the main thread reads vmstat */
		pthread_barrier_wait(w->park); /* ...then lets us exit */
	}
	return NULL;
}

static void start_worker(pthread_t *t, struct worker *w, int id, int iterations,
			 pthread_barrier_t *start)
{
	memset(w, 0, sizeof(*w));
	w->start = start;
	w->id = id;
	w->seed = 0x9e3779b9u * (unsigned int)(id + 1);
	w->iterations = iterations;
	assert_int_equal(pthread_create(t, NULL, worker_run, w), 0);
}

static void expect_worker_ok(const struct worker *w)
{
	if (w->errors)
		fail_msg("%lu error(s) in thread %d; first: %s", w->errors, w->id, w->error);
}

struct counts {
	unsigned long normal, movable, pgfree;
};

static struct counts read_counts(void)
{
	return (struct counts){global_vm_event_count(PGALLOC_NORMAL),
			       global_vm_event_count(PGALLOC_MOVABLE),
			       global_vm_event_count(PGFREE)};
}

static void expect_counts(struct counts base, const struct worker *ws, int n, const char *what)
{
	struct counts now = read_counts();
	unsigned long normal = 0, movable = 0, freed = 0;

	for (int i = 0; i < n; i++) {
		normal += ws[i].alloc_normal;
		movable += ws[i].alloc_movable;
		freed += ws[i].freed;
	}
	if (now.normal - base.normal != normal || now.movable - base.movable != movable ||
	    now.pgfree - base.pgfree != freed)
		fail_msg("%s: vmstat counted pgalloc_normal %lu, pgalloc_movable %lu, pgfree %lu; "
			 "the threads counted %lu, %lu, %lu", what, now.normal - base.normal,
			 now.movable - base.movable, now.pgfree - base.pgfree, normal, movable,
			 freed);
}

static void test_two_threads_alloc_free(void **state)
{
	pthread_t t[NR_THREADS];
	struct worker *w = calloc(NR_THREADS, sizeof(*w));
	const long free0 = global_zone_page_state(NR_FREE_PAGES);
	const long cma0 = global_zone_page_state(NR_FREE_CMA_PAGES);
	struct counts base = read_counts();
	char *info0 = buddyinfo(), *info;
	unsigned long warns = pinmm_warn_count();
	pthread_barrier_t start;

	(void)state;
	assert_non_null(w);
	assert_int_equal(pthread_barrier_init(&start, NULL, NR_THREADS), 0);
	for (int i = 0; i < NR_THREADS; i++)
		start_worker(&t[i], &w[i], i + 1, ITERATIONS, &start);
	for (int i = 0; i < NR_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&start);
	assert_int_equal(pinmm_check_invariants(), 0);
	for (int i = 0; i < NR_THREADS; i++) {
		expect_worker_ok(&w[i]);
		if (w[i].nr_allocs < ITERATIONS / 4)
			fail_msg("thread %d made only %lu allocations", w[i].id, w[i].nr_allocs);
		if (w[i].alloc_normal + w[i].alloc_movable != w[i].freed)
			fail_msg("thread %d: allocated %lu pages, freed %lu", w[i].id,
				 w[i].alloc_normal + w[i].alloc_movable, w[i].freed);
	}
	assert_int_equal(pinmm_warn_count(), warns);
	assert_int_equal(global_zone_page_state(NR_FREE_PAGES), free0);
	assert_int_equal(global_zone_page_state(NR_FREE_CMA_PAGES), cma0);
	expect_counts(base, w, NR_THREADS, "two threads, after both exited");
	info = buddyinfo();
	if (strcmp(info, info0))
		fail_msg("buddyinfo after both threads freed everything:\n%sat boot:\n%s", info,
			 info0);
	free(info);
	free(info0);
	free(w);
	/* shutdown_clean: shutdown must return 0. */
}

/* vmstat includes a live thread's counts, an exited thread's, and neither twice. */
static void test_vmstat_live_and_exited_threads(void **state)
{
	pthread_barrier_t park;
	struct worker w[2];
	pthread_t ta, tb;
	struct counts base = read_counts();
	const long free0 = global_zone_page_state(NR_FREE_PAGES);

	(void)state;
	/* A runs and exits. */
	start_worker(&ta, &w[0], 1, ITERATIONS / 2, NULL);
	assert_int_equal(pthread_join(ta, NULL), 0);
	expect_worker_ok(&w[0]);
	assert_true(w[0].freed > 0);
	expect_counts(base, w, 1, "thread A has exited");
	assert_int_equal(global_zone_page_state(NR_FREE_PAGES), free0);

	/* B runs and stays alive while we read. */
	assert_int_equal(pthread_barrier_init(&park, NULL, 2), 0);
	memset(&w[1], 0, sizeof(w[1]));
	w[1].id = 2;
	w[1].seed = 12345;
	w[1].iterations = ITERATIONS / 2;
	w[1].park = &park;
	assert_int_equal(pthread_create(&tb, NULL, worker_run, &w[1]), 0);
	pthread_barrier_wait(&park);
	expect_worker_ok(&w[1]);
	expect_counts(base, w, 2, "thread A exited, thread B alive");
	assert_int_equal(global_zone_page_state(NR_FREE_PAGES), free0);
	pthread_barrier_wait(&park);
	assert_int_equal(pthread_join(tb, NULL), 0);
	expect_counts(base, w, 2, "both exited (B's counts folded once, not lost or doubled)");
	assert_int_equal(global_zone_page_state(NR_FREE_PAGES), free0);
	pthread_barrier_destroy(&park);
}

/* ---- counting while a thread exits ---- */

static pthread_key_t cache_key;

/* A thread-local "page cache" drained by its destructor at thread exit, as a per-CPU list of
 * pages is drained when a CPU goes offline. */
static void drain_cache(void *page)
{
	__free_page(page);
}

static void *thread_with_cache(void *arg)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)arg;
	if (page)
		pthread_setspecific(cache_key, page);
	return page;
}

static int free_at_thread_exit(void *arg)
{
	const long free0 = global_zone_page_state(NR_FREE_PAGES);
	unsigned long pgfree0 = global_vm_event_count(PGFREE);
	pthread_t t;
	void *page;

	(void)arg;
	/* Created after boot, so after vmstat's own key: glibc runs its destructor later. */
	if (pthread_key_create(&cache_key, drain_cache))
		return 10;
	if (pthread_create(&t, NULL, thread_with_cache, NULL) || pthread_join(t, &page))
		return 11;
	if (!page)
		return 12;
	if (page_ref_count(page) != 0) /* it was freed */
		return 13;
	if (global_zone_page_state(NR_FREE_PAGES) != free0)
		return 14; /* the free's nr_free_pages +1 was lost */
	if (global_vm_event_count(PGFREE) != pgfree0 + 1)
		return 15;
	return pinmm_shutdown() == 0 ? 0 : 16;
}

/*
 * vmstat.h: counting works from "any thread, any time" -- also from a thread-exit destructor
 * that runs after vmstat's own (here: one that frees a page the thread kept). The counts must
 * not be lost (nr_free_pages and pgfree include that free). (Regression: vmstat_cpu_exit() once
 * left the thread's this_cpu pointing at its freed counters: a use-after-free that lost the
 * counts.) Runs in a child so that a sanitizer abort does not take the other tests down.
 */
static void test_count_during_thread_exit(void **state)
{
	(void)state;
	/* The child starts a thread: under TSan a child of a process that had threads at fork()
	 * may not (die_after_fork), so the machine runs without kswapd (boot_without_kswapd). */
	run_forked("a page freed in a thread-exit destructor (child checks: 1 sanitizer report, "
		   "14 nr_free_pages lost the free, 15 pgfree lost it)",
		   free_at_thread_exit, NULL, 20);
}

#define machine_test(f) cmocka_unit_test_setup_teardown(f, boot_default, shutdown_clean)

/* The default machine without its kswapd thread: the process has no thread of the machine's
 * when a test forks. */
static int boot_without_kswapd(void **state)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	cfg.kswapd = false;
	return boot_with(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		machine_test(test_two_threads_alloc_free),
		machine_test(test_vmstat_live_and_exited_threads),
		cmocka_unit_test_setup_teardown(test_count_during_thread_exit, boot_without_kswapd,
						shutdown_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
