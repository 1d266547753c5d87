/* SPDX-License-Identifier: MIT */
/*
 * Two CPUs in one address space: each thread runs in the same mm (kthread_use_mm) and, for a
 * bounded number of random steps, writes and reads ranges of its own 4 MiB region (faults,
 * THPs and their splits), unmaps and re-maps parts of it, drops pages with MADV_DONTNEED,
 * flips ranges read-only and back, and forks the whole mm, checking the child's copy and
 * putting it. Each thread keeps a shadow of what its region must hold, so a lost write, a page
 * mapped twice or a COW that leaks shows up as a wrong word. Afterwards no VMA, page,
 * page-table page or counter is left over (shutdown_clean checks the pages).
 *
 * This is the test that must run clean under ThreadSanitizer; it stays well under a second
 * there. The shared parts are the mm's locks, the page tables above the two regions (one PUD
 * and one PMD table hold both), the page allocator, vmstat, RCU, and the anon_vma that fork
 * shares between the mm and its children.
 *
 * Found failing under TSan at 376b30b: "data race in vm_area_dup" (src/vm/vma.c:35). One
 * thread's fork or split copies a VMA whole (*vma = *orig, anon_vma_node included) under its
 * mm's mmap lock only, while the other thread, putting its own child, unlinks a child VMA from
 * the same anon_vma list (anon_vma_unlink, under anon_vma->lock only), which rewrites the
 * list pointers inside that very VMA. The copied pointers are reset right after, but the
 * unsynchronised read is a data race all the same (Linux's VMAs hold only their own
 * anon_vma_chain, which other mms never write).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h> /* test_util.h uses ftruncate() */
#include <urcu.h>   /* rcu_barrier(): let deferred page-table frees run */

#include "test_stress.h"
#include "test_util.h"

#define NR_WORKERS 2
#define REGION_PAGES 1024U /* 4 MiB: two 2 MiB aligned blocks */
#define REGION_SIZE ((unsigned long)REGION_PAGES * PAGE_SIZE)
#define REGION_BASE(i) (0x100000000UL + (unsigned long)(i) * 8 * REGION_SIZE)
#define MAX_RANGE 48U /* pages an operation covers at most */
#define ITERATIONS 200
#define PG(n) ((unsigned long)(n) * PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define WORDS_PER_PAGE (PAGE_SIZE / sizeof(unsigned long))

enum op { OP_WRITE, OP_READ, OP_MUNMAP, OP_MMAP, OP_DONTNEED, OP_MPROTECT, OP_FORK, OP_REMAP_ALL,
	  NR_OPS };

static const char *const op_names[NR_OPS] = {"write", "read", "munmap", "mmap", "dontneed",
					     "mprotect", "fork", "remap-all"};

/*
 * One thread's view of its region. A mapped page holds word[p] in its first word, ~word[p] in
 * its last and zeros between; word[p] == 0 means a fresh (all-zero) page.
 */
struct worker {
	unsigned int id;
	struct mm_struct *mm;
	unsigned long base;
	uint32_t rng;
	unsigned int iter;
	bool mapped[REGION_PAGES];
	unsigned long word[REGION_PAGES];
	unsigned long ops[NR_OPS];
	unsigned long buf[MAX_RANGE * WORDS_PER_PAGE];
	char failure[512];
};

static uint32_t next_rand(struct worker *w)
{
	/* xorshift32: a fixed sequence per thread */
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 17;
	w->rng ^= w->rng << 5;
	return w->rng;
}

/* Record the first failure; the thread stops at the end of the step. Threads must not call
 * cmocka's assertions (they longjmp), so the main thread reports it. */
static void failed(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failed(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->failure[0])
		return;
	n = snprintf(w->failure, sizeof(w->failure), "thread %u, step %u: ", w->id, w->iter);
	va_start(ap, fmt);
	vsnprintf(w->failure + n, sizeof(w->failure) - (size_t)n, fmt, ap);
	va_end(ap);
}

static unsigned long addr_of(struct worker *w, unsigned int page)
{
	return w->base + PG(page);
}

/* The first unmapped page of [p, p + n), or p + n. */
static unsigned int first_hole(struct worker *w, unsigned int p, unsigned int n)
{
	while (n && w->mapped[p]) {
		p++;
		n--;
	}
	return p;
}

static void mark(struct worker *w, unsigned int p, unsigned int n, bool mapped)
{
	for (unsigned int i = p; i < p + n; i++) {
		w->mapped[i] = mapped;
		w->word[i] = 0;
	}
}

static void step_write(struct worker *w, unsigned int p, unsigned int n)
{
	unsigned int hole = first_hole(w, p, n);
	unsigned long left;

	memset(w->buf, 0, PG(n));
	for (unsigned int i = 0; i < n; i++) {
		unsigned long tag = ((unsigned long)w->id << 56) | ((unsigned long)w->iter << 20) |
				    (p + i) | (1UL << 62);

		w->buf[i * WORDS_PER_PAGE] = tag;
		w->buf[(i + 1) * WORDS_PER_PAGE - 1] = ~tag;
	}
	left = copy_to_user(addr_of(w, p), w->buf, PG(n));
	if (left != PG(p + n - hole))
		failed(w, "copy_to_user of pages %u-%u (first hole %u) left %lu bytes, expected %lu",
		       p, p + n - 1, hole, left, PG(p + n - hole));
	for (unsigned int i = p; i < hole; i++)
		w->word[i] = w->buf[(i - p) * WORDS_PER_PAGE];
}

/* Check that page p reads as its shadow says; buf holds its 4 KiB. */
static void check_page(struct worker *w, unsigned int p, const unsigned long *page,
		       const char *where)
{
	unsigned long first = w->word[p], last = first ? ~first : 0;

	if (page[0] != first || page[WORDS_PER_PAGE - 1] != last)
		failed(w, "%s: page %u reads %#lx..%#lx, expected %#lx..%#lx", where, p, page[0],
		       page[WORDS_PER_PAGE - 1], first, last);
	for (unsigned long i = 1; i < WORDS_PER_PAGE - 1; i++)
		if (page[i]) {
			failed(w, "%s: page %u word %lu reads %#lx, expected 0", where, p, i, page[i]);
			break;
		}
}

static void step_read(struct worker *w, unsigned int p, unsigned int n)
{
	unsigned int hole = first_hole(w, p, n);
	unsigned long left = copy_from_user(w->buf, addr_of(w, p), PG(n));

	if (left != PG(p + n - hole))
		failed(w, "copy_from_user of pages %u-%u (first hole %u) left %lu bytes, expected %lu",
		       p, p + n - 1, hole, left, PG(p + n - hole));
	for (unsigned int i = p; i < hole; i++)
		check_page(w, i, &w->buf[(i - p) * WORDS_PER_PAGE], "read");
}

static void step_munmap(struct worker *w, unsigned int p, unsigned int n)
{
	int ret = vm_munmap(addr_of(w, p), PG(n));

	if (ret)
		failed(w, "munmap of pages %u-%u: %d", p, p + n - 1, ret);
	mark(w, p, n, false);
}

static void step_mmap(struct worker *w, unsigned int p, unsigned int n)
{
	unsigned long ret = vm_mmap(NULL, addr_of(w, p), PG(n), RW, ANON | MAP_FIXED, 0);

	if (ret != addr_of(w, p))
		failed(w, "MAP_FIXED of pages %u-%u returned %#lx", p, p + n - 1, ret);
	mark(w, p, n, true);
}

static void step_dontneed(struct worker *w, unsigned int p, unsigned int n)
{
	bool covered = first_hole(w, p, n) == p + n;
	int ret = do_madvise(w->mm, addr_of(w, p), PG(n), MADV_DONTNEED);

	if (ret != (covered ? 0 : -ENOMEM))
		failed(w, "MADV_DONTNEED of pages %u-%u (%s): %d", p, p + n - 1,
		       covered ? "mapped" : "with a hole", ret);
	if (covered)
		mark(w, p, n, true);
}

static void step_mprotect(struct worker *w, unsigned int p, unsigned int n)
{
	bool covered = first_hole(w, p, n) == p + n;
	unsigned long word = 1;
	int ret = vm_mprotect(addr_of(w, p), PG(n), PROT_READ);

	if (ret != (covered ? 0 : -ENOMEM)) {
		failed(w, "mprotect(PROT_READ) of pages %u-%u (%s): %d", p, p + n - 1,
		       covered ? "mapped" : "with a hole", ret);
		return;
	}
	if (!covered)
		return;
	if (copy_to_user(addr_of(w, p + n - 1), &word, sizeof(word)) != sizeof(word))
		failed(w, "write to read-only page %u went through", p + n - 1);
	ret = vm_mprotect(addr_of(w, p), PG(n), RW);
	if (ret)
		failed(w, "mprotect(RW) of pages %u-%u: %d", p, p + n - 1, ret);
}

/* Fork, check one mapped page in the child, write to the child's copy (COW), check that our
 * own page did not change, and put the child. */
static void step_fork(struct worker *w, unsigned int p)
{
	struct mm_struct *child = pinmm_fork(w->mm);
	unsigned long scribble = 0x5c5c5c5c, mine = 0;
	unsigned long *page = w->buf;

	if (IS_ERR_OR_NULL(child)) {
		failed(w, "pinmm_fork: %ld", PTR_ERR(child));
		return;
	}
	while (p < REGION_PAGES && !w->mapped[p])
		p++;
	if (p < REGION_PAGES) {
		if (access_remote_vm(child, addr_of(w, p), page, (int)PAGE_SIZE, 0) != (int)PAGE_SIZE)
			failed(w, "child: reading page %u failed", p);
		else
			check_page(w, p, page, "child after fork");
		if (access_remote_vm(child, addr_of(w, p) + 8, &scribble, sizeof(scribble),
				     FOLL_WRITE) != (int)sizeof(scribble))
			failed(w, "child: writing page %u failed", p);
		if (copy_from_user(&mine, addr_of(w, p) + 8, sizeof(mine)) || mine != 0)
			failed(w, "the child's write to page %u reached the parent (%#lx)", p, mine);
	}
	mmput(child);
}

static void step(struct worker *w)
{
	uint32_t r = next_rand(w) % 100;
	unsigned int n = 1 + next_rand(w) % MAX_RANGE;
	unsigned int p = next_rand(w) % (REGION_PAGES - n + 1);
	enum op op = r < 30 ? OP_WRITE : r < 50 ? OP_READ : r < 63 ? OP_MUNMAP : r < 76 ? OP_MMAP :
		     r < 83 ? OP_DONTNEED : r < 90 ? OP_MPROTECT : r < 97 ? OP_FORK : OP_REMAP_ALL;

	w->ops[op]++;
	switch (op) {
	case OP_WRITE:
		step_write(w, p, n);
		break;
	case OP_READ:
		step_read(w, p, n);
		break;
	case OP_MUNMAP:
		step_munmap(w, p, n);
		break;
	case OP_MMAP:
		step_mmap(w, p, n);
		break;
	case OP_DONTNEED:
		step_dontneed(w, p, n);
		break;
	case OP_MPROTECT:
		step_mprotect(w, p, n);
		break;
	case OP_FORK:
		step_fork(w, p);
		break;
	default:
		step_mmap(w, 0, REGION_PAGES);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stress_clock clock;

	kthread_use_mm(w->mm);
	step_mmap(w, 0, REGION_PAGES);
	/* Fault both 2 MiB blocks in whole first: THPs for the later steps to split. */
	step_write(w, 0, 1);
	step_write(w, REGION_PAGES / 2, 1);
	stress_start(&clock);
	for (w->iter = 0; stress_more(&clock, w->iter, ITERATIONS) && !w->failure[0]; w->iter++)
		step(w);
	step_read(w, 0, MAX_RANGE);
	step_munmap(w, 0, REGION_PAGES);
	kthread_unuse_mm(w->mm);
	return NULL;
}

static void test_two_threads_fault_unmap_remap_fork(void **state)
{
	static struct worker workers[NR_WORKERS];
	pthread_t threads[NR_WORKERS];
	struct mm_struct *mm;
	long free0, tables0;
	unsigned long thp0, split0;

	(void)state;
	rcu_barrier();
	free0 = global_zone_page_state(NR_FREE_PAGES);
	tables0 = global_zone_page_state(NR_PAGETABLE);
	thp0 = global_vm_event_count(THP_FAULT_ALLOC);
	split0 = global_vm_event_count(THP_SPLIT_PMD);
	mm = mm_alloc();
	assert_non_null(mm);

	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].id = i;
		workers[i].mm = mm;
		workers[i].base = REGION_BASE(i);
		workers[i].rng = 0x9e3779b9u * (i + 1);
		assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
	}
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	if (pinmm_check_invariants() != 0)
		fail_msg("after the workers: pinmm_check_invariants() found violations (log above)");

	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		if (workers[i].failure[0])
			fail_msg("%s", workers[i].failure);
		for (unsigned int op = 0; op < NR_OPS; op++)
			if (!workers[i].ops[op])
				fail_msg("thread %u never ran a %s step: the mix does not cover it", i,
					 op_names[op]);
	}
	if (global_vm_event_count(THP_FAULT_ALLOC) == thp0 ||
	    global_vm_event_count(THP_SPLIT_PMD) == split0)
		fail_msg("the run mapped %lu THPs and split %lu PMDs: expected both to happen",
			 global_vm_event_count(THP_FAULT_ALLOC) - thp0,
			 global_vm_event_count(THP_SPLIT_PMD) - split0);

	/* Both threads unmapped their regions: the mm is empty before its last put. */
	assert_int_equal(atomic_load(&mm->mm_users), 1);
	if (mm->nr_vmas)
		fail_msg("after both threads unmapped their regions: %lu VMAs left, first at %#lx",
			 mm->nr_vmas, mm->vmas[0]->vm_start);
	if (atomic_load(&mm->rss_stat[MM_ANONPAGES]))
		fail_msg("after both threads unmapped their regions: rss %ld",
			 atomic_load(&mm->rss_stat[MM_ANONPAGES]));
	/* nr_anon_pages is not checked here: the race below makes it drift now and then. */
	mmput(mm);
	rcu_barrier();
	if (global_zone_page_state(NR_PAGETABLE) != tables0)
		fail_msg("nr_page_table_pages is %ld after the last mmput, %ld before the mm",
			 global_zone_page_state(NR_PAGETABLE), tables0);
	if (global_zone_page_state(NR_FREE_PAGES) != free0)
		fail_msg("nr_free_pages is %ld after the last mmput, %ld before the mm",
			 global_zone_page_state(NR_FREE_PAGES), free0);
}

/* ---- one race, aimed at ---- */

#define RACE_BASE 0x40000000UL /* 2 MiB aligned */
#define RACE_ROUNDS 64

struct racer {
	struct mm_struct *child;
	atomic_int ready, go;
	unsigned int delay; /* spins before the mmput: sweeps the two sides across each other */
};

static void *put_child_on_go(void *arg)
{
	struct racer *r = arg;

	atomic_store(&r->ready, 1);
	while (!atomic_load(&r->go))
		;
	for (volatile unsigned int i = 0; i < r->delay; i++)
		;
	mmput(r->child);
	return NULL;
}

/*
 * A THP that a fork left PMD-mapped in the child while the parent's PMD was split into PTEs;
 * then, at the same moment, the child exits (its PMD, the last compound mapping, goes) and the
 * parent unmaps its 511 remaining PTEs (each the last mapping of its subpage). Each round must
 * bring nr_anon_pages back where it was.
 *
 * Found failing at e7d56aa (in about one round in six): subpage_mapped() in src/vm/rmap.c
 * decrements page[1].nr_pages_mapped and then, separately, decrements NR_ANON_MAPPED if
 * compound_mapcount() reads 0; compound_mapped() reads nr_pages_mapped and subtracts
 * 512 - nr_pages_mapped. When the child's last PMD removal falls between a parent subpage's
 * two steps, that subpage is subtracted by both (nr_anon_pages ends 1 low per hit). Linux 5.7
 * counts each subpage once through its own atomic _mapcount (PageDoubleMap).
 */
static void test_thp_pte_unmap_races_last_pmd_unmap(void **state)
{
	struct mm_struct *mm = mm_alloc();
	struct racer r;
	unsigned long word = 1;
	struct stress_clock clock;

	(void)state;
	assert_non_null(mm);
	kthread_use_mm(mm);
	stress_start(&clock);
	for (int round = 0; stress_more(&clock, round, RACE_ROUNDS); round++) {
		long anon0 = global_node_page_state(NR_ANON_MAPPED), anon1;
		pthread_t t;

		assert_int_equal(vm_mmap(NULL, RACE_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, 0),
				 RACE_BASE);
		assert_int_equal(copy_to_user(RACE_BASE, &word, sizeof(word)), 0);
		r.child = pinmm_fork(mm);
		assert_false(IS_ERR_OR_NULL(r.child));
		/* Split the parent's PMD; the child keeps its PMD. */
		assert_int_equal(vm_munmap(RACE_BASE, PAGE_SIZE), 0);
		atomic_store(&r.ready, 0);
		atomic_store(&r.go, 0);
		r.delay = (unsigned int)(round % 40) * 100;
		assert_int_equal(pthread_create(&t, NULL, put_child_on_go, &r), 0);
		while (!atomic_load(&r.ready))
			;
		atomic_store(&r.go, 1);
		assert_int_equal(vm_munmap(RACE_BASE + PAGE_SIZE, PMD_SIZE - PAGE_SIZE), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		if (pinmm_check_invariants() != 0)
			fail_msg("round %d: pinmm_check_invariants() found violations", round);
		anon1 = global_node_page_state(NR_ANON_MAPPED);
		if (anon1 != anon0) {
			kthread_unuse_mm(mm);
			mmput(mm);
			fail_msg("round %d: the child's exit raced the parent's munmap of a split THP: "
				 "nr_anon_pages went from %ld to %ld",
				 round, anon0, anon1);
		}
	}
	kthread_unuse_mm(mm);
	mmput(mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_machine(test_two_threads_fault_unmap_remap_fork),
		test_with_machine(test_thp_pte_unmap_races_last_pmd_unmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
