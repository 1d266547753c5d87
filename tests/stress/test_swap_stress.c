/* SPDX-License-Identifier: MIT */
/*
 * Swap under load, on a small machine (192 MiB) with a 16 MiB swap file, under the rule set the
 * run asks for: two CPUs share one mm, each in its own region (one of 1 MiB of small pages, one
 * of 4 MiB that faults THPs in), and take random steps: write whole pages, read them back,
 * MADV_PAGEOUT and MADV_COLD ranges, pin pages (FOLL_WRITE | FOLL_LONGTERM) and unpin them
 * later, fork and check the child's copy. A third thread swaps the whole area out over and over.
 * Every page holds a pattern derived from a per-page value in every byte, and each thread keeps
 * the values it wrote: at the end every byte of every page is read back and compared, after
 * pinmm_check_invariants() (swap counts against page tables and the swap cache) found nothing.
 * Then swapoff() brings everything back, and every byte is compared once more.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <pinmm/swap.h>

#include "test_stress.h"
#include "test_util.h"

#define PG(n) ((unsigned long)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define SMALL_PAGES 256U
#define THP_PAGES 1024U
#define MAX_PAGES THP_PAGES
#define MAX_PINS 8
#define ROUNDS 300

struct worker {
	unsigned int id;
	struct mm_struct *mm;
	unsigned long base;
	unsigned int npages;
	uint32_t rng;
	unsigned long value[MAX_PAGES]; /* 0: never written (zeros) */
	struct page *pins[MAX_PINS];
	unsigned int nr_pins;
	char failure[256];
};

static char swap_path[64];
static atomic_bool stop;

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void fill(unsigned char *buf, unsigned long value)
{
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		buf[i] = value ? (unsigned char)(value * 131 + i * 7) : 0;
}

static bool write_page(struct worker *w, unsigned int p)
{
	unsigned char buf[PAGE_SIZE];
	unsigned long v = ((unsigned long)w->id << 32) | (next_rand(&w->rng) | 1);

	fill(buf, v);
	if (copy_to_user(w->base + PG(p), buf, PAGE_SIZE)) {
		snprintf(w->failure, sizeof(w->failure), "write of page %u failed", p);
		return false;
	}
	w->value[p] = v;
	return true;
}

/* Compare every byte of page p of mm with what was written. */
static bool check_page(struct worker *w, struct mm_struct *mm, unsigned int p, const char *when)
{
	unsigned char buf[PAGE_SIZE], want[PAGE_SIZE];
	int n;

	if (mm == current_mm())
		n = copy_from_user(buf, w->base + PG(p), PAGE_SIZE) ? -1 : (int)PAGE_SIZE;
	else
		n = access_remote_vm(mm, w->base + PG(p), buf, PAGE_SIZE, 0);
	if (n != (int)PAGE_SIZE) {
		snprintf(w->failure, sizeof(w->failure), "%s: read of page %u failed", when, p);
		return false;
	}
	fill(want, w->value[p]);
	if (memcmp(buf, want, PAGE_SIZE)) {
		snprintf(w->failure, sizeof(w->failure),
			 "%s: worker %u page %u differs from value %#lx (first byte %#x, want %#x)",
			 when, w->id, p, w->value[p], buf[0], want[0]);
		return false;
	}
	return true;
}

static void unpin_all(struct worker *w)
{
	for (unsigned int i = 0; i < w->nr_pins; i++)
		unpin_user_page(w->pins[i]);
	w->nr_pins = 0;
}

static bool step(struct worker *w)
{
	unsigned int p = next_rand(&w->rng) % w->npages;
	unsigned int len = 1 + next_rand(&w->rng) % 32;

	if (p + len > w->npages)
		len = w->npages - p;
	switch (next_rand(&w->rng) % 8) {
	case 0:
	case 1:
		for (unsigned int i = 0; i < len; i++)
			if (!write_page(w, p + i))
				return false;
		return true;
	case 2:
		for (unsigned int i = 0; i < len; i++)
			if (!check_page(w, w->mm, p + i, "read"))
				return false;
		return true;
	case 3:
		return do_madvise(w->mm, w->base + PG(p), PG(len), MADV_PAGEOUT) == 0;
	case 4:
		return do_madvise(w->mm, w->base + PG(p), PG(len), MADV_COLD) == 0;
	case 5:
		if (w->nr_pins == MAX_PINS) {
			unpin_all(w);
			return true;
		}
		/* Pinned for writing: the page is written first, so it is a page of ours. */
		if (!write_page(w, p))
			return false;
		if (pin_user_pages_fast(w->base + PG(p), 1, FOLL_WRITE | FOLL_LONGTERM,
					&w->pins[w->nr_pins]) == 1)
			w->nr_pins++;
		return true;
	case 6: {
		struct mm_struct *child = pinmm_fork(w->mm);
		bool ok = true;

		if (IS_ERR_OR_NULL(child))
			return true; /* no memory on this small machine: allowed */
		for (unsigned int i = 0; ok && i < len; i++)
			ok = check_page(w, child, p + i, "child");
		mmput(child);
		return ok;
	}
	default:
		unpin_all(w);
		return true;
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct stress_clock c;

	kthread_use_mm(w->mm);
	stress_start(&c);
	for (unsigned int r = 0; stress_more(&c, r, ROUNDS); r++)
		if (!step(w))
			break;
	unpin_all(w);
	kthread_unuse_mm(w->mm);
	return NULL;
}

struct reclaimer {
	struct mm_struct *mm;
	unsigned long start, len;
};

static void *reclaimer_fn(void *arg)
{
	struct reclaimer *r = arg;

	kthread_use_mm(r->mm);
	while (!atomic_load(&stop)) {
		do_madvise(r->mm, r->start, r->len, MADV_PAGEOUT);
		sched_yield();
	}
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void test_swap_stress(void **state)
{
	static struct worker w[2];
	struct reclaimer rec;
	struct mm_struct *mm = mm_alloc();
	pthread_t t[2], rt;
	int fd;

	(void)state;
	assert_non_null(mm);
	kthread_use_mm(mm);
	strcpy(swap_path, "/tmp/swap-stress-XXXXXX");
	fd = mkstemp(swap_path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16L << 20), 0);
	close(fd);
	assert_int_equal(swapon(swap_path, 0), 0);
	for (unsigned int i = 0; i < 2; i++) {
		w[i] = (struct worker){.id = i + 1, .mm = mm, .rng = 0x9e3779b9u * (i + 1)};
		w[i].npages = i ? THP_PAGES : SMALL_PAGES;
		w[i].base = i ? 0x40000000UL : 0x10000000UL;
		assert_int_equal(vm_mmap(NULL, w[i].base, PG(w[i].npages), RW, ANON | MAP_FIXED, 0),
				 w[i].base);
	}
	rec = (struct reclaimer){.mm = mm, .start = 0x10000000UL, .len = 0x40000000UL};
	atomic_store(&stop, false);
	assert_int_equal(pthread_create(&rt, NULL, reclaimer_fn, &rec), 0);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_fn, &w[i]), 0);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, true);
	pthread_join(rt, NULL);
	for (unsigned int i = 0; i < 2; i++)
		if (w[i].failure[0])
			fail_msg("worker %u: %s", w[i].id, w[i].failure);
	assert_int_equal(pinmm_check_invariants(), 0);
	if (!global_vm_event_count(PSWPOUT) || !global_vm_event_count(PSWPIN))
		fail_msg("nothing was swapped: pswpout %lu, pswpin %lu",
			 global_vm_event_count(PSWPOUT), global_vm_event_count(PSWPIN));
	for (unsigned int i = 0; i < 2; i++)
		for (unsigned int p = 0; p < w[i].npages; p++)
			if (!check_page(&w[i], mm, p, "at the end"))
				fail_msg("%s", w[i].failure);
	printf("# pswpout %lu pswpin %lu\n", global_vm_event_count(PSWPOUT),
	       global_vm_event_count(PSWPIN));
	assert_int_equal(swapoff(swap_path), 0);
	for (unsigned int i = 0; i < 2; i++)
		for (unsigned int p = 0; p < w[i].npages; p++)
			if (!check_page(&w[i], mm, p, "after swapoff"))
				fail_msg("%s", w[i].failure);
	assert_int_equal(pinmm_check_invariants(), 0);
	unlink(swap_path);
	kthread_unuse_mm(mm);
	mmput(mm);
}

static int boot_small(void **state)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	cfg.ram_bytes = 192UL << 20;
	cfg.movable_bytes = 32UL << 20;
	cfg.cma_bytes = 0;
	return boot_with(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_swap_stress, boot_small, shutdown_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
