/* SPDX-License-Identifier: MIT */
/*
 * Everything that moves, frees or brings back pages, at once, on a small machine: 48 MiB of RAM
 * (16 MiB of it ZONE_MOVABLE, 8 MiB CMA), kswapd on, a 64 MiB swap area on a host file, THP
 * always. Threads are CPUs:
 *  - two workers, each in its own mm with 12 MiB of anonymous memory it fills first (so that
 *    with the file reader's page cache, reclaim has to swap), then takes random steps: write
 *    whole pages with a pattern, read them back, MADV_PAGEOUT and MADV_COLD ranges, pin a page
 *    (FOLL_WRITE, FOLL_LONGTERM every other time) and write into it through the pin as a device
 *    would, unpin, fork and read pages in the child before the child exits;
 *  - a mover calling compact_memory() and offline_pages()/online_pages() of the ZONE_MOVABLE
 *    memory blocks in turn (-EBUSY is expected while a pin or a busy page holds a block);
 *  - a reader going through the page cache of a 56 MiB host file (more than the machine has)
 *    with read_mapping_page(), checking every byte of every page.
 * At the end, after kswapd has gone idle: pinmm_check_invariants() finds nothing, every page
 * still pinned holds what the device wrote, every byte of every anonymous page (many in swap)
 * and of every file page reads back, swapoff() brings the swapped pages home, and every
 * anonymous byte reads back once more. One case per rule set, each booting its rule set.
 *
 * fork is among the steps: it allocates the child's PTE tables with no page-table lock held
 * (src/vm/fork.c; test_fork_allocates_child_tables_unlocked), which this test's first version
 * found it did not: direct reclaim from under the parent's PTE lock deadlocked against
 * compaction's and kswapd's rmap walks.
 *
 * The rule that is easy to break here: a worker never writes a page it holds pinned. Under 5.7's
 * rules a fork write-protects a pinned page, and the parent's next write would copy it (the
 * GUP-after-fork problem of Linux 5.7, fixed by the modern rules): the device and the mapping
 * would then rightly disagree, and the test would report a bug that is 5.7's behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include <pinmm/compaction.h>
#include <pinmm/memory_hotplug.h>
#include <pinmm/swap.h>
#include <pinmm/vmscan.h>

#include "test_stress.h"
#include "test_mm_util.h"

#define MiB (1UL << 20)
#define NR_WORKERS 2
#define ANON_PAGES ((12 * MiB) >> PAGE_SHIFT)
#define FILE_PAGES ((56 * MiB) >> PAGE_SHIFT)
#define SWAP_BYTES (64 * MiB)
#define MAX_PINS 8
#define ROUNDS 200

struct pin {
	struct page *page;
	unsigned long p;     /* the page of the region it pins */
	unsigned long value; /* what the device wrote into it */
};

struct worker {
	unsigned int id;
	struct mm_struct *mm;
	unsigned long base;
	uint32_t rng;
	unsigned long value[ANON_PAGES]; /* the pattern of each page: never 0 after the fill */
	struct pin pins[MAX_PINS];
	unsigned int nr_pins;
	unsigned long steps, pinned, longterm, forks, pageouts;
	char failure[256];
};

struct mover {
	unsigned long compactions, offlined, busy;
	char failure[256];
};

struct reader {
	struct file *file;
	unsigned long passes, pages;
	char failure[256];
};

static atomic_bool stop, mover_running;
static char swap_path[64], file_path[64];

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The page every byte of which derives from value (and its offset). */
static void fill(unsigned char *buf, unsigned long value)
{
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		buf[i] = (unsigned char)(value * 131 + (value >> 32) + i * 7);
}

/* What file page index holds: its own pattern. */
static unsigned long file_value(unsigned long index)
{
	return 0xf11e000000000000UL | index;
}

static bool worker_fail(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool worker_fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->failure[0]) {
		va_start(ap, fmt);
		vsnprintf(w->failure, sizeof(w->failure), fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool is_pinned(const struct worker *w, unsigned long p)
{
	for (unsigned int i = 0; i < w->nr_pins; i++)
		if (w->pins[i].p == p)
			return true;
	return false;
}

static bool write_page(struct worker *w, unsigned long p)
{
	unsigned char buf[PAGE_SIZE];
	unsigned long v = ((unsigned long)w->id << 40) | ((unsigned long)next_rand(&w->rng) << 1) | 1;

	if (is_pinned(w, p))
		return true; /* see the file's comment */
	fill(buf, v);
	if (copy_to_user(w->base + PG(p), buf, PAGE_SIZE))
		return worker_fail(w, "write of page %lu failed", p);
	w->value[p] = v;
	return true;
}

/* Compare every byte of page p of mm (the worker's or a child's) with its pattern. */
static bool check_page(struct worker *w, struct mm_struct *mm, unsigned long p, const char *when)
{
	unsigned char buf[PAGE_SIZE], want[PAGE_SIZE];
	int n;

	if (mm == current_mm())
		n = copy_from_user(buf, w->base + PG(p), PAGE_SIZE) ? -1 : (int)PAGE_SIZE;
	else
		n = access_remote_vm(mm, w->base + PG(p), buf, PAGE_SIZE, 0);
	if (n != (int)PAGE_SIZE)
		return worker_fail(w, "%s: read of page %lu failed (%d)", when, p, n);
	fill(want, w->value[p]);
	if (memcmp(buf, want, PAGE_SIZE))
		return worker_fail(w, "%s: worker %u page %lu: first byte %#x, expected %#x "
				   "(value %#lx)", when, w->id, p, buf[0], want[0], w->value[p]);
	return true;
}

static void unpin_one(struct worker *w, unsigned int i)
{
	/* Dirty: the device wrote into it. */
	unpin_user_pages_dirty_lock(&w->pins[i].page, 1, true);
	w->pins[i] = w->pins[--w->nr_pins];
}

/* Pin page p and write a new pattern into it through the pin, as a device's DMA would. */
static bool pin_and_write(struct worker *w, unsigned long p)
{
	unsigned int flags = FOLL_WRITE | (w->pinned & 1 ? FOLL_LONGTERM : 0);
	unsigned long v = ((unsigned long)w->id << 40) | 0xde0000000UL | (w->pinned << 1) | 1;
	struct page *page;

	if (is_pinned(w, p))
		return true;
	if (w->nr_pins == MAX_PINS)
		unpin_one(w, 0);
	if (pin_user_pages_fast(w->base + PG(p), 1, flags, &page) != 1)
		return true; /* no memory to migrate a long-term pin's page to: allowed */
	fill(page_address(page), v);
	w->value[p] = v;
	w->pins[w->nr_pins++] = (struct pin){.page = page, .p = p, .value = v};
	w->pinned++;
	w->longterm += !!(flags & FOLL_LONGTERM);
	return true;
}

static bool step(struct worker *w)
{
	unsigned long p = next_rand(&w->rng) % ANON_PAGES;
	unsigned long len = 1 + next_rand(&w->rng) % 32;

	if (p + len > ANON_PAGES)
		len = ANON_PAGES - p;
	w->steps++;
	switch (next_rand(&w->rng) % 9) {
	case 0:
	case 1:
		for (unsigned long i = 0; i < len; i++)
			if (!write_page(w, p + i))
				return false;
		return true;
	case 2:
		for (unsigned long i = 0; i < len; i++)
			if (!check_page(w, w->mm, p + i, "read"))
				return false;
		return true;
	case 3:
		w->pageouts++;
		if (do_madvise(w->mm, w->base + PG(p), PG(len), MADV_PAGEOUT))
			return worker_fail(w, "MADV_PAGEOUT of pages %lu+%lu failed", p, len);
		return true;
	case 4:
		if (do_madvise(w->mm, w->base + PG(p), PG(len), MADV_COLD))
			return worker_fail(w, "MADV_COLD of pages %lu+%lu failed", p, len);
		return true;
	case 5:
		return pin_and_write(w, p);
	case 6: {
		struct mm_struct *child = pinmm_fork(w->mm);
		bool ok = true;

		if (IS_ERR_OR_NULL(child))
			return true; /* no memory on this small machine: allowed */
		w->forks++;
		for (unsigned long i = 0; ok && i < len; i++)
			ok = check_page(w, child, p + i, "child");
		mmput(child); /* the child exits */
		return ok;
	}
	case 7:
		if (w->nr_pins)
			unpin_one(w, next_rand(&w->rng) % w->nr_pins);
		return true;
	default:
		/* Every pin gone now and then, so that offlining can succeed between. */
		while (w->nr_pins)
			unpin_one(w, 0);
		return true;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stress_clock c;

	kthread_use_mm(w->mm);
	for (unsigned long p = 0; p < ANON_PAGES; p++)
		if (!write_page(w, p))
			goto out;
	while (!atomic_load(&mover_running))
		sched_yield();
	stress_start(&c);
	for (long r = 0; stress_more(&c, r, ROUNDS); r++)
		if (!step(w))
			break;
out:
	kthread_unuse_mm(w->mm);
	return NULL;
}

static void *mover_main(void *arg)
{
	struct mover *m = arg;
	struct zone *movable = pinmm_zone(ZONE_MOVABLE);
	unsigned long block = memory_block_size_bytes() >> PAGE_SHIFT;
	unsigned long nr_blocks = movable->spanned_pages / block;
	int err;

	atomic_store(&mover_running, true);
	/* At least one round, however fast the others are. */
	for (unsigned long i = 0; i == 0 || !atomic_load(&stop); i++) {
		unsigned long start = movable->zone_start_pfn + (i % nr_blocks) * block;

		if (compact_memory()) {
			snprintf(m->failure, sizeof(m->failure), "compact_memory() failed");
			break;
		}
		m->compactions++;
		err = offline_pages(start, block);
		if (err == -EBUSY) {
			m->busy++;
		} else if (err) {
			snprintf(m->failure, sizeof(m->failure), "offline_pages(%#lx) = %d", start, err);
			break;
		} else {
			m->offlined++;
			err = online_pages(start, block);
			if (err) {
				snprintf(m->failure, sizeof(m->failure), "online_pages(%#lx) = %d",
					 start, err);
				break;
			}
		}
		sched_yield();
	}
	return NULL;
}

static bool check_file_page(struct file *file, unsigned long index, char *failure, size_t size)
{
	unsigned char want[PAGE_SIZE];
	struct page *page = read_mapping_page(file->f_mapping, index);
	bool ok;

	if (IS_ERR(page)) {
		snprintf(failure, size, "read of file page %lu = %ld", index, PTR_ERR(page));
		return false;
	}
	fill(want, file_value(index));
	ok = !memcmp(page_address(page), want, PAGE_SIZE);
	if (!ok)
		snprintf(failure, size, "file page %lu: first byte %#x, expected %#x", index,
			 ((unsigned char *)page_address(page))[0], want[0]);
	put_page(page);
	return ok;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load(&mover_running))
		sched_yield();
	/* At least one pass over the file: more than the machine's memory. */
	do {
		for (unsigned long i = 0; i < FILE_PAGES; i++) {
			if (!check_file_page(r->file, i, r->failure, sizeof(r->failure)))
				return NULL;
			r->pages++;
		}
		r->passes++;
	} while (!atomic_load(&stop));
	return NULL;
}

/* A host file of npages under /tmp, each page filled with file_value(index) when patterned. */
static void make_file(char *path, const char *prefix, unsigned long npages, bool patterned)
{
	unsigned char buf[PAGE_SIZE];
	int fd;

	snprintf(path, 64, "/tmp/%s-XXXXXX", prefix);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(npages * PAGE_SIZE)), 0);
	for (unsigned long i = 0; patterned && i < npages; i++) {
		fill(buf, file_value(i));
		assert_int_equal(pwrite(fd, buf, PAGE_SIZE, (off_t)(i * PAGE_SIZE)), PAGE_SIZE);
	}
	close(fd);
}

static void check_all_anon(struct worker *w, const char *when)
{
	kthread_use_mm(w->mm);
	for (unsigned long p = 0; p < ANON_PAGES; p++)
		if (!check_page(w, w->mm, p, when))
			fail_msg("worker %u (%s rules): %s", w->id, pinmm_rules_name(pinmm_rules()),
				 w->failure);
	kthread_unuse_mm(w->mm);
}

static void test_memory_pressure(void **state)
{
	static struct worker workers[NR_WORKERS];
	pthread_t threads[NR_WORKERS], mover_thread, reader_thread;
	struct mover mover = {0};
	struct reader reader = {0};
	char failure[256];
	FILE *quiet = tmpfile();

	(void)state;
	assert_non_null(quiet);
	/* Failed offlines name their blockers: kept out of the test's output. */
	quiet = pinmm_set_log_stream(quiet);
	make_file(swap_path, "pressure-swap", SWAP_BYTES >> PAGE_SHIFT, false);
	assert_int_equal(swapon(swap_path, 0), 0);
	make_file(file_path, "pressure-file", FILE_PAGES, true);
	reader.file = filp_open(file_path, O_RDONLY, 0);
	assert_false(IS_ERR(reader.file));
	atomic_store(&stop, false);
	atomic_store(&mover_running, false);
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		struct worker *w = &workers[i];

		memset(w, 0, sizeof(*w));
		w->id = i + 1;
		w->rng = 0x9e3779b9u * (i + 1);
		w->mm = mm_alloc();
		assert_non_null(w->mm);
		kthread_use_mm(w->mm);
		w->base = vm_mmap(NULL, 0, PG(ANON_PAGES), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, 0);
		kthread_unuse_mm(w->mm);
		assert_false(IS_ERR_VALUE(w->base));
		assert_int_equal(pthread_create(&threads[i], NULL, worker_main, w), 0);
	}
	assert_int_equal(pthread_create(&mover_thread, NULL, mover_main, &mover), 0);
	assert_int_equal(pthread_create(&reader_thread, NULL, reader_main, &reader), 0);
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	atomic_store(&stop, true);
	assert_int_equal(pthread_join(mover_thread, NULL), 0);
	assert_int_equal(pthread_join(reader_thread, NULL), 0);
	fclose(pinmm_set_log_stream(quiet));

	for (unsigned int i = 0; i < NR_WORKERS; i++)
		if (workers[i].failure[0])
			fail_msg("worker %u (%s rules): %s", workers[i].id,
				 pinmm_rules_name(pinmm_rules()), workers[i].failure);
	if (mover.failure[0])
		fail_msg("mover (%s rules): %s", pinmm_rules_name(pinmm_rules()), mover.failure);
	if (reader.failure[0])
		fail_msg("reader (%s rules): %s", pinmm_rules_name(pinmm_rules()), reader.failure);
	assert_int_equal(pinmm_kswapd_wait_idle(30000), 0);
	if (pinmm_check_invariants() != 0)
		fail_msg("after the run (%s rules): pinmm_check_invariants() found violations",
			 pinmm_rules_name(pinmm_rules()));

	/* The pins still held: each page holds what the device wrote, and so does the mapping. */
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		struct worker *w = &workers[i];
		unsigned char want[PAGE_SIZE];

		for (unsigned int k = 0; k < w->nr_pins; k++) {
			fill(want, w->pins[k].value);
			if (memcmp(page_address(w->pins[k].page), want, PAGE_SIZE))
				fail_msg("worker %u: pinned page %lu lost the device's write %#lx",
					 w->id, w->pins[k].p, w->pins[k].value);
		}
		check_all_anon(w, "at the end");
		kthread_use_mm(w->mm);
		while (w->nr_pins)
			unpin_one(w, 0);
		kthread_unuse_mm(w->mm);
		if (!w->pinned || !w->forks || !w->pageouts)
			fail_msg("worker %u: %lu pins, %lu forks, %lu MADV_PAGEOUTs: expected each",
				 w->id, w->pinned, w->forks, w->pageouts);
	}
	for (unsigned long i = 0; i < FILE_PAGES; i++)
		if (!check_file_page(reader.file, i, failure, sizeof(failure)))
			fail_msg("at the end: %s", failure);
	if (!global_vm_event_count(PSWPOUT) || !global_vm_event_count(PSWPIN))
		fail_msg("nothing was swapped: pswpout %lu, pswpin %lu",
			 global_vm_event_count(PSWPOUT), global_vm_event_count(PSWPIN));
	if (!mover.compactions)
		fail_msg("the mover never compacted");
	assert_int_equal(swapoff(swap_path), 0);
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		check_all_anon(&workers[i], "after swapoff");
	if (pinmm_check_invariants() != 0)
		fail_msg("after swapoff (%s rules): pinmm_check_invariants() found violations",
			 pinmm_rules_name(pinmm_rules()));
	print_message("%s: steps %lu+%lu, pins %lu+%lu (long-term %lu+%lu), forks %lu+%lu; "
		      "compactions %lu, movable blocks offlined %lu, -EBUSY %lu; file passes %lu; "
		      "pswpout %lu pswpin %lu, pgsteal kswapd %lu direct %lu; THPs faulted %lu, "
		      "split %lu\n",
		      pinmm_rules_name(pinmm_rules()), workers[0].steps, workers[1].steps,
		      workers[0].pinned, workers[1].pinned, workers[0].longterm, workers[1].longterm,
		      workers[0].forks, workers[1].forks, mover.compactions, mover.offlined,
		      mover.busy, reader.passes, global_vm_event_count(PSWPOUT),
		      global_vm_event_count(PSWPIN), global_vm_event_count(PGSTEAL_KSWAPD),
		      global_vm_event_count(PGSTEAL_DIRECT), global_vm_event_count(THP_FAULT_ALLOC),
		      global_vm_event_count(THP_SPLIT_PAGE));
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		mmput(workers[i].mm);
	fput(reader.file);
	rcu_barrier();
	unlink(swap_path);
	unlink(file_path);
}

static int setup(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg = cfg_of(48 * MiB, 16 * MiB, 8 * MiB);

	(void)state;
	cfg.kswapd = true;
	/* THPs where a 2 MiB block is free: offlining splits them under the workers' forks and
	 * exits (test_split_huge_page.c's test_child_exits_during_split is that race). */
	cfg.thp = PINMM_THP_ALWAYS;
	cfg.rules = rules;
	return boot_with(&cfg);
}

static int setup_57(void **state)
{
	return setup(state, PINMM_RULES_5_7);
}

static int setup_modern(void **state)
{
	return setup(state, PINMM_RULES_MODERN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_memory_pressure, setup_57, shutdown_clean),
		cmocka_unit_test_setup_teardown(test_memory_pressure, setup_modern, shutdown_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
