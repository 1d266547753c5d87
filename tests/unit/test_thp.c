/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages on anonymous memory: with THP "always" a write fault in a 2 MiB
 * aligned range maps an order-9 compound page with a PMD leaf; "never", and "madvise" without
 * MADV_HUGEPAGE, give 4 KiB pages; MADV_HUGEPAGE / MADV_NOHUGEPAGE; a range with no aligned
 * 2 MiB block falls back to 4 KiB; munmap or mprotect of part of a THP splits its PMD (the
 * other subpages stay mapped, with their data, by PTEs); and unmapping all of it frees it.
 * While a PMD is being split it never reads as none: a hook on the split's race point runs a
 * competing walker (MADV_DONTNEED, GUP slow and fast, the rmap, a fault, fork) at exactly that
 * moment, and each must wait for the split (or, lockless, leave the page to the slow path).
 *
 * Each test boots a machine in the THP mode it needs and runs in a fresh mm. Page tables are
 * read with test_mm_util.h's walker (expect_level, page_at).
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h> /* test_util.h uses ftruncate() */
#include <urcu.h>   /* rcu_barrier(): let deferred page-table frees run */

#include "test_mm_util.h"

#define THP_BASE 0x40000000UL /* 2 MiB aligned */

/* ---- fixtures: a machine in one THP mode, an mm this thread runs in ---- */

static int setup_thp_mode(void **state, enum pinmm_thp_mode mode)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.thp = mode;
	return boot_with_mm(state, &cfg);
}

static int setup_always(void **state) { return setup_thp_mode(state, PINMM_THP_ALWAYS); }
static int setup_madvise(void **state) { return setup_thp_mode(state, PINMM_THP_MADVISE); }
static int setup_never(void **state) { return setup_thp_mode(state, PINMM_THP_NEVER); }

/* ---- counters ---- */

struct counts {
	unsigned long fault_alloc, split_pmd;
	long anon_thps, anon, rss, free;
};

static struct counts counts_now(struct mm_struct *mm)
{
	return (struct counts){
		.fault_alloc = global_vm_event_count(THP_FAULT_ALLOC),
		.split_pmd = global_vm_event_count(THP_SPLIT_PMD),
		.anon_thps = global_node_page_state(NR_ANON_THPS),
		.anon = nr_anon(),
		.rss = rss_anon(mm),
		.free = nr_free(),
	};
}

/* Write to addr; expect a 4 KiB page there (no THP). */
static void expect_small_page_fault(struct mm_struct *mm, unsigned long addr, const char *what)
{
	struct counts c0 = counts_now(mm), c1;
	struct page *page;

	put_word(addr, 0x4444, what);
	c1 = counts_now(mm);
	expect_level(mm, addr, LEAF_PTE, "%s", what);
	page = page_at(mm, addr);
	check_eq(page != NULL && !PageCompound(page), true, "%s: a 4 KiB page", what);
	check_eq(c1.fault_alloc - c0.fault_alloc, 0, "%s: thp_fault_alloc", what);
	check_eq(c1.anon_thps - c0.anon_thps, 0, "%s: nr_anon_transparent_hugepages", what);
	check_eq(c1.rss - c0.rss, 1, "%s: rss", what);
}

/* Map a THP at THP_BASE by a write fault and tag each subpage with 0x7000 + its index. */
static struct page *map_tagged_thp(struct mm_struct *mm)
{
	struct page *head;

	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "2 MiB at THP_BASE");
	put_word(THP_BASE, 0x7000, "first write to the THP range");
	expect_level(mm, THP_BASE, LEAF_PMD, "write fault in an aligned 2 MiB range");
	head = page_at(mm, THP_BASE);
	for (unsigned long i = 1; i < HPAGE_PMD_NR; i++)
		put_word(THP_BASE + PG(i), 0x7000 + i, "tagging the THP");
	return head;
}

/* ---- when a fault maps a THP ---- */

static void test_always_write_fault_maps_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct counts c0, c1;
	struct page *head;
	static unsigned char buf[PAGE_SIZE];
	pmd_t pmd;

	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "2 MiB at THP_BASE");
	c0 = counts_now(mm);
	put_word(THP_BASE + PG(3) + 8, 0x1234, "write into the aligned 2 MiB range");
	c1 = counts_now(mm);
	expect_level(mm, THP_BASE, LEAF_PMD, "THP always, write fault");
	pmd = (pmd_t){pt_walk(mm, THP_BASE).entry};
	check_eq(pmd_trans_huge(pmd), true, "THP PMD %#lx", pmd.pmd);
	check_eq(pmd_write(pmd) && pmd_dirty(pmd), true, "THP PMD %#lx after a write", pmd.pmd);
	head = page_at(mm, THP_BASE);
	check_eq(PageHead(head), true, "the THP");
	check_eq(compound_order(head), HPAGE_PMD_ORDER, "the THP");
	check_eq(page_compound_dtor(head), TRANSHUGE_PAGE_DTOR, "the THP");
	check_eq(page_to_pfn(head) % HPAGE_PMD_NR, 0, "the THP's pfn alignment");
	check_eq(PageAnon(head), true, "the THP");
	check_eq(compound_mapcount(head), 1, "the THP");
	check_eq(page_count(head), 1, "the THP");
	check_eq(page_mapcount(head + 100), 1, "subpage 100 (mapped through the PMD)");
	check_eq(page_at(mm, THP_BASE + PG(511)) == head + 511, true, "the last subpage");
	check_eq(c1.fault_alloc - c0.fault_alloc, 1, "thp_fault_alloc");
	check_eq(c1.anon_thps - c0.anon_thps, 1, "nr_anon_transparent_hugepages");
	check_eq(c1.rss - c0.rss, HPAGE_PMD_NR, "rss");
	check_eq(c1.anon - c0.anon, HPAGE_PMD_NR, "nr_anon_pages");
	check_eq(get_word(THP_BASE + PG(3) + 8, "THP"), 0x1234, "the write");
	check_eq(copy_from_user(buf, THP_BASE + PG(400), PAGE_SIZE), 0, "reading subpage 400");
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		check_eq(buf[i], 0, "a THP is zeroed: byte %lu of subpage 400", i);
	/* The rest of the range needs no more faults. */
	c0 = counts_now(mm);
	put_word(THP_BASE + PMD_SIZE - 8, 1, "write to the last word");
	check_eq(counts_now(mm).rss, c0.rss, "a write elsewhere in the THP");
	check_eq(global_vm_event_count(THP_FAULT_ALLOC), c0.fault_alloc, "one THP per 2 MiB");
}

static void test_never_gives_small_pages(void **state)
{
	struct mm_struct *mm = *state;

	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "2 MiB at THP_BASE");
	expect_small_page_fault(mm, THP_BASE + PG(7), "THP never, aligned 2 MiB range");
	/* MADV_HUGEPAGE does not override "never". */
	check_eq(do_madvise(mm, THP_BASE, PMD_SIZE, MADV_HUGEPAGE), 0, "MADV_HUGEPAGE");
	expect_small_page_fault(mm, THP_BASE + PG(300), "THP never with MADV_HUGEPAGE");
}

static void test_madvise_mode_needs_madv_hugepage(void **state)
{
	struct mm_struct *mm = *state;
	struct counts c0;
	unsigned long flags;

	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "2 MiB at THP_BASE");
	expect_small_page_fault(mm, THP_BASE + PG(7), "THP madvise, no MADV_HUGEPAGE");

	map(THP_BASE + PMD_SIZE, PMD_SIZE, RW, ANON | MAP_FIXED, "next 2 MiB");
	check_eq(do_madvise(mm, THP_BASE + PMD_SIZE, PMD_SIZE, MADV_HUGEPAGE), 0, "MADV_HUGEPAGE");
	mmap_read_lock(mm);
	flags = vma_lookup(mm, THP_BASE + PMD_SIZE)->vm_flags;
	mmap_read_unlock(mm);
	check_eq(flags & VM_HUGEPAGE, VM_HUGEPAGE, "MADV_HUGEPAGE sets VM_HUGEPAGE");
	c0 = counts_now(mm);
	put_word(THP_BASE + PMD_SIZE + 16, 1, "write after MADV_HUGEPAGE");
	expect_level(mm, THP_BASE + PMD_SIZE, LEAF_PMD, "THP madvise with MADV_HUGEPAGE");
	check_eq(global_vm_event_count(THP_FAULT_ALLOC) - c0.fault_alloc, 1,
		 "THP madvise with MADV_HUGEPAGE: thp_fault_alloc");
	/* The first 2 MiB keeps its 4 KiB page. */
	expect_level(mm, THP_BASE + PG(7), LEAF_PTE, "the range without MADV_HUGEPAGE");
}

static void test_madv_nohugepage_prevents_thp(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long flags;

	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "2 MiB at THP_BASE");
	check_eq(do_madvise(mm, THP_BASE, PMD_SIZE, MADV_NOHUGEPAGE), 0, "MADV_NOHUGEPAGE");
	mmap_read_lock(mm);
	flags = vma_lookup(mm, THP_BASE)->vm_flags;
	mmap_read_unlock(mm);
	check_eq(flags & (VM_HUGEPAGE | VM_NOHUGEPAGE), VM_NOHUGEPAGE, "MADV_NOHUGEPAGE's flag");
	expect_small_page_fault(mm, THP_BASE, "THP always with MADV_NOHUGEPAGE");
}

static void test_range_without_aligned_block_falls_back(void **state)
{
	struct mm_struct *mm = *state;
	struct counts c0;

	/*
	 * THP_BASE     +2M          +4M
	 * |  4K ...    |  2M aligned |
	 *  [---------------------------)   2 MiB + 2 MiB - 4 KiB starting 4 KiB in: only
	 *                                  [+2M, +4M) can take a THP
	 */
	map(THP_BASE + PAGE_SIZE, 2 * PMD_SIZE - PAGE_SIZE, RW, ANON | MAP_FIXED,
	    "4 MiB - 4 KiB at THP_BASE + 4 KiB");
	expect_small_page_fault(mm, THP_BASE + PAGE_SIZE, "first page of an unaligned range");
	expect_small_page_fault(mm, THP_BASE + PMD_SIZE - PAGE_SIZE,
				"last page before the aligned block");
	c0 = counts_now(mm);
	put_word(THP_BASE + PMD_SIZE + PG(1), 1, "write in the aligned block");
	expect_level(mm, THP_BASE + PMD_SIZE, LEAF_PMD, "the aligned block inside the range");
	check_eq(global_vm_event_count(THP_FAULT_ALLOC) - c0.fault_alloc, 1, "the aligned block");

	/* 2 MiB that straddle two aligned blocks: none of it fits a THP. */
	map(THP_BASE + 4 * PMD_SIZE + PMD_SIZE / 2, PMD_SIZE, RW, ANON | MAP_FIXED,
	    "2 MiB starting 1 MiB into a block");
	expect_small_page_fault(mm, THP_BASE + 5 * PMD_SIZE, "2 MiB straddling two blocks");
}

/* ---- splitting a PMD mapping ---- */

static void test_partial_munmap_splits_pmd(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm);
	struct counts c0 = counts_now(mm), c1;

	check_eq(vm_munmap(THP_BASE + PG(7), PAGE_SIZE), 0, "munmap subpage 7 of a THP");
	c1 = counts_now(mm);
	check_eq(c1.split_pmd - c0.split_pmd, 1, "munmap of 4 KiB of a THP: thp_split_pmd");
	check_eq(c1.anon_thps - c0.anon_thps, -1, "no PMD maps it: nr_anon_transparent_hugepages");
	check_eq(c1.rss - c0.rss, -1, "munmap of one subpage: rss");
	check_eq(c1.anon - c0.anon, -1, "munmap of one subpage: nr_anon_pages");
	check_eq(mm->nr_vmas, 2, "munmap in the middle split the VMA");
	expect_level(mm, THP_BASE + PG(7), LEAF_NONE, "the unmapped subpage");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		if (i == 7) {
			check_eq(page_mapcount(head + 7), 0, "the unmapped subpage 7");
			continue;
		}
		expect_level(mm, THP_BASE + PG(i), LEAF_PTE, "subpage %lu after the split", i);
		check_eq(page_at(mm, THP_BASE + PG(i)) == head + i, true,
			 "subpage %lu maps the same frame after the split", i);
		check_eq(page_mapcount(head + i), 1, "subpage %lu after the split", i);
		check_eq(get_word(THP_BASE + PG(i), "after the split"), 0x7000 + i,
			 "subpage %lu's data after the split", i);
	}
	check_eq(compound_mapcount(head), 0, "THP after the split");
	check_eq(page_count(head), HPAGE_PMD_NR - 1, "THP head refcount: one per mapped subpage");
	check_eq(PageHead(head) && compound_order(head) == HPAGE_PMD_ORDER, true,
		 "the compound page stays whole");
	/* The split PTEs keep the PMD's permissions: writes need no fault. */
	c0 = counts_now(mm);
	put_word(THP_BASE + PG(8), 0x88, "write to subpage 8 after the split");
	check_eq(page_at(mm, THP_BASE + PG(8)) == head + 8, true, "subpage 8 written in place");
	check_eq(counts_now(mm).rss, c0.rss, "write after the split");
}

static void test_mprotect_part_splits_pmd(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm);
	struct counts c0 = counts_now(mm), c1;
	unsigned long word = 1;

	/* mprotect of the whole, aligned THP changes the PMD and keeps it. */
	check_eq(vm_mprotect(THP_BASE, PMD_SIZE, PROT_READ), 0, "mprotect the whole THP PROT_READ");
	expect_level(mm, THP_BASE, LEAF_PMD, "mprotect of the whole THP");
	check_eq(pmd_write((pmd_t){pt_walk(mm, THP_BASE).entry}), false, "PMD after PROT_READ");
	check_eq(counts_now(mm).split_pmd, c0.split_pmd, "mprotect of the whole THP: no split");
	check_eq(vm_mprotect(THP_BASE, PMD_SIZE, RW), 0, "mprotect the whole THP back to RW");

	/* Part of it: the PMD is split at the VMA edges. */
	check_eq(vm_mprotect(THP_BASE + PG(10), PAGE_SIZE, PROT_READ), 0,
		 "mprotect subpage 10 PROT_READ");
	c1 = counts_now(mm);
	check_eq(c1.split_pmd - c0.split_pmd, 1, "mprotect of part of a THP: thp_split_pmd");
	check_eq(mm->nr_vmas, 3, "mprotect of one subpage split the VMA in three");
	expect_level(mm, THP_BASE, LEAF_PTE, "after mprotect of subpage 10");
	check_eq(pte_write((pte_t){pt_walk(mm, THP_BASE + PG(10)).entry}), false, "PTE 10");
	check_eq(copy_to_user(THP_BASE + PG(10), &word, sizeof(word)), sizeof(word),
		 "writing read-only subpage 10");
	put_word(THP_BASE + PG(11), 0xb11, "writing subpage 11");
	check_eq(page_at(mm, THP_BASE + PG(11)) == head + 11, true, "subpage 11 written in place");
	check_eq(get_word(THP_BASE + PG(10), "subpage 10"), 0x700a, "subpage 10's data");
	check_eq(page_count(head), HPAGE_PMD_NR, "THP refcount: 512 PTEs");
	check_eq(c1.rss, c0.rss, "mprotect keeps every subpage");
}

/* ---- freeing ---- */

static void test_munmap_of_whole_thp_frees_it(void **state)
{
	struct mm_struct *mm = *state;
	long free0, anon0, thps0;

	rcu_barrier();
	free0 = global_zone_page_state(NR_FREE_PAGES);
	anon0 = global_node_page_state(NR_ANON_MAPPED);
	thps0 = global_node_page_state(NR_ANON_THPS);
	map_tagged_thp(mm);
	if (global_zone_page_state(NR_FREE_PAGES) > free0 - (long)HPAGE_PMD_NR)
		fail_msg("a THP took less than 512 free pages");
	check_eq(vm_munmap(THP_BASE, PMD_SIZE), 0, "munmap of the whole THP");
	check_eq(atomic_load(&mm->rss_stat[MM_ANONPAGES]), 0, "rss after munmap of the THP");
	check_eq(global_node_page_state(NR_ANON_MAPPED), anon0, "nr_anon_pages after munmap");
	check_eq(global_node_page_state(NR_ANON_THPS), thps0, "THPs after munmap");
	rcu_barrier();
	check_eq(global_zone_page_state(NR_FREE_PAGES), free0,
		 "nr_free_pages after munmap of the whole THP (and its page tables)");

	/* A THP split by a partial munmap is freed when its last subpage goes. */
	map_tagged_thp(mm);
	check_eq(vm_munmap(THP_BASE + PG(100), PG(2)), 0, "munmap subpages 100-101");
	check_eq(vm_munmap(THP_BASE, PMD_SIZE), 0, "munmap the rest");
	rcu_barrier();
	check_eq(global_zone_page_state(NR_FREE_PAGES), free0,
		 "nr_free_pages after a split THP is unmapped in two steps");

	/* MADV_DONTNEED of the whole THP frees it too; the VMA stays. */
	map_tagged_thp(mm);
	check_eq(do_madvise(mm, THP_BASE, PMD_SIZE, MADV_DONTNEED), 0, "MADV_DONTNEED the THP");
	expect_level(mm, THP_BASE, LEAF_NONE, "after MADV_DONTNEED of the whole THP");
	check_eq(mm->nr_vmas, 1, "MADV_DONTNEED keeps the VMA");
	check_eq(global_node_page_state(NR_ANON_MAPPED), anon0, "nr_anon_pages after DONTNEED");
	check_eq(vm_munmap(THP_BASE, PMD_SIZE), 0, "munmap after MADV_DONTNEED");
	rcu_barrier();
	check_eq(global_zone_page_state(NR_FREE_PAGES), free0, "nr_free_pages after DONTNEED");
}

/* ---- a PMD being split never reads as none ---- */

/*
 * The race: split_huge_pmd_locked() used to clear the PMD, fill the PTE table and install it.
 * A MADV_DONTNEED of the whole THP running at that moment (it holds the mmap lock for read, as
 * the split's caller does) read the PMD as none and skipped it, and the THP came back mapped by
 * the PTEs with its old contents. 5.7 invalidates the PMD instead (pmdp_invalidate()): a walker
 * sees a huge PMD, takes its ptl and finds the table. The hook on the split's race point runs
 * a competing walker in another thread at exactly that moment and gives it SPLIT_RACE_WAIT_MS
 * to finish: a walker that takes locks must not finish (it waits for the ptl); the lockless
 * one must finish without the page. Then each checks what it found.
 */
#define SPLIT_RACE_WAIT_MS 300

struct split_race {
	struct mm_struct *mm;
	struct page *head;
	void (*op)(struct split_race *r); /* the other thread's walk */
	bool lockless;                    /* op takes no lock: it must finish in the window */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go, done, done_in_window, fired;
	long ret;                         /* op's result */
	struct page *page;                /* op's page, if any */
	struct mm_struct *child;          /* op's fork */
};

static void *split_race_other(void *p)
{
	struct split_race *r = p;

	kthread_use_mm(r->mm);
	pthread_mutex_lock(&r->lock);
	while (!r->go)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	r->op(r);
	kthread_unuse_mm(r->mm);
	pthread_mutex_lock(&r->lock);
	r->done = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* In the splitting thread, with the PMD invalidated and its ptl held (the first time only). */
static void split_race_hook(const char *point, void *arg)
{
	struct split_race *r = arg;
	struct timespec until;

	(void)point;
	pthread_mutex_lock(&r->lock);
	if (r->fired) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	r->fired = true;
	r->go = true;
	pthread_cond_broadcast(&r->cond);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += SPLIT_RACE_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	while (!r->done && pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
		;
	r->done_in_window = r->done;
	pthread_mutex_unlock(&r->lock);
}

/* Start the other thread, arm the hook, run split() in this thread, and collect the other. */
static void split_race_run(struct split_race *r, void (*split)(struct split_race *r),
			   const char *what)
{
	pthread_t t;

	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	assert_int_equal(pthread_create(&t, NULL, split_race_other, r), 0);
	assert_int_equal(pinmm_hook_set("huge_memory:split_pmd_invalidated", split_race_hook, r), 0);
	split(r);
	pinmm_hook_clear_all();
	pthread_mutex_lock(&r->lock);
	if (!r->fired) { /* let the other thread go all the same, then fail */
		r->go = true;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	pthread_join(t, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	check_true(r->fired, "%s: the split reached huge_memory:split_pmd_invalidated", what);
	if (r->lockless)
		check_eq(r->done_in_window, true,
			 "%s: the lockless walk finished while the PMD was being split", what);
	else
		check_eq(r->done_in_window, false,
			 "%s: the walk finished while the PMD was being split (it read the PMD as "
			 "none instead of waiting for the split)", what);
}

/* The splits (this thread). */
static void split_by_dontneed(struct split_race *r)
{
	check_eq(do_madvise(r->mm, THP_BASE, PAGE_SIZE, MADV_DONTNEED), 0,
		 "MADV_DONTNEED of subpage 0 (splits the PMD)");
}

static void split_by_rmap(struct split_race *r)
{
	/* try_to_unmap() splits the PMD from the rmap walk, without the mmap lock, then unmaps
	 * every subpage. The caller holds a reference and the page lock, as reclaim does. */
	get_page(r->head);
	lock_page(r->head);
	check_true(try_to_unmap(r->head), "try_to_unmap() of the THP");
	unlock_page(r->head);
	put_page(r->head);
}

/* The walks (the other thread). */
static void op_dontneed_all(struct split_race *r)
{
	r->ret = do_madvise(r->mm, THP_BASE, PMD_SIZE, MADV_DONTNEED);
}

static void op_pin_slow(struct split_race *r)
{
	mmap_read_lock(r->mm);
	r->ret = pin_user_pages(THP_BASE + PG(100), 1, FOLL_WRITE, &r->page);
	mmap_read_unlock(r->mm);
}

static void op_pin_fast_only(struct split_race *r)
{
	r->ret = pin_user_pages_fast_only(THP_BASE + PG(100), 1, FOLL_WRITE, &r->page);
}

static void op_write_fault(struct split_race *r)
{
	unsigned long val = 0xfeed;

	r->ret = (long)copy_to_user(THP_BASE + PG(200), &val, sizeof(val));
}

static void op_try_to_unmap(struct split_race *r)
{
	get_page(r->head);
	lock_page(r->head);
	r->ret = try_to_unmap(r->head);
	unlock_page(r->head);
	put_page(r->head);
}

static void op_fork(struct split_race *r)
{
	r->child = pinmm_fork(r->mm);
	r->ret = IS_ERR(r->child) ? PTR_ERR(r->child) : 0;
}

static void test_split_pmd_never_reads_none(void **state)
{
	struct mm_struct *mm = *state;
	long anon0 = nr_anon();
	struct split_race r = {.mm = mm, .op = op_dontneed_all};
	const char *what = "zap: MADV_DONTNEED of subpage 0 (split) vs MADV_DONTNEED of the THP";

	r.head = map_tagged_thp(mm);
	split_race_run(&r, split_by_dontneed, what);
	check_eq(r.ret, 0, "%s: the other thread's MADV_DONTNEED", what);
	check_eq(rss_anon(mm), 0, "%s: rss once both are done", what);
	check_eq(nr_anon(), anon0, "%s: nr_anon_pages once both are done", what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		check_eq(get_word(THP_BASE + PG(i), what), 0, "%s: word of subpage %lu", what, i);
}

static void test_split_pmd_gup_rmap_and_fault_wait(void **state)
{
	struct mm_struct *mm = *state;
	struct split_race r = {.mm = mm};
	const char *what;

	what = "GUP slow: MADV_DONTNEED of subpage 0 (split) vs pin_user_pages of subpage 100";
	r.head = map_tagged_thp(mm);
	r.op = op_pin_slow;
	split_race_run(&r, split_by_dontneed, what);
	check_eq(r.ret, 1, "%s: pages pinned", what);
	check_ptr(r.page, r.head + 100, "%s: the page pinned", what);
	check_eq(compound_pincount(r.head), 1, "%s: the THP's pincount", what);
	unpin_user_page(r.page);
	unmap(THP_BASE, PMD_SIZE, what);

	what = "GUP fast: MADV_DONTNEED of subpage 0 (split) vs pin_user_pages_fast_only";
	r = (struct split_race){.mm = mm, .op = op_pin_fast_only, .lockless = true};
	r.head = map_tagged_thp(mm);
	split_race_run(&r, split_by_dontneed, what);
	check_eq(r.ret, 0, "%s: an invalidated PMD is no page to the lockless walk", what);
	check_eq(compound_pincount(r.head), 0, "%s: the THP's pincount", what);
	unmap(THP_BASE, PMD_SIZE, what);

	what = "rmap: MADV_DONTNEED of subpage 0 (split) vs try_to_unmap of the THP";
	r = (struct split_race){.mm = mm, .op = op_try_to_unmap};
	r.head = map_tagged_thp(mm);
	split_race_run(&r, split_by_dontneed, what);
	check_eq(r.ret, true, "%s: try_to_unmap() unmapped it all", what);
	check_eq(rss_anon(mm), 0, "%s: rss once both are done", what);
	unmap(THP_BASE, PMD_SIZE, what);

	what = "fault: MADV_DONTNEED of subpage 0 (split) vs a write to subpage 200";
	r = (struct split_race){.mm = mm, .op = op_write_fault};
	r.head = map_tagged_thp(mm);
	split_race_run(&r, split_by_dontneed, what);
	check_eq(r.ret, 0, "%s: bytes left by copy_to_user", what);
	check_ptr(page_at(mm, THP_BASE + PG(200)), r.head + 200,
		 "%s: subpage 200 is still the THP's", what);
	check_eq(get_word(THP_BASE + PG(200), what), 0xfeed, "%s: the write", what);
	check_eq(get_word(THP_BASE + PG(201), what), 0x7000 + 201, "%s: subpage 201", what);
	unmap(THP_BASE, PMD_SIZE, what);
}

/*
 * fork holds the mmap lock for write, so only a split from the rmap (try_to_unmap(), no mmap
 * lock) can be in progress when it walks; that unmaps the whole THP, so nothing of it may stay
 * mapped in parent or child. (fork also waits for the anon_vma lock the rmap walk holds.
 * mprotect, which walks under the write lock too, reads its PMDs the same way, through
 * walk_page_range(); its race with an rmap walk over vm_flags is a matter of its own.)
 */
static void test_split_pmd_by_rmap_vs_fork(void **state)
{
	struct mm_struct *mm = *state;
	long anon0 = nr_anon();
	struct split_race r = {.mm = mm, .op = op_fork};
	const char *what = "fork: try_to_unmap of the THP (split from the rmap) vs fork";

	r.head = map_tagged_thp(mm);
	split_race_run(&r, split_by_rmap, what);
	check_eq(r.ret, 0, "%s: pinmm_fork()", what);
	check_eq(rss_anon(r.child), 0, "%s: the child's rss", what);
	check_eq(rss_anon(mm), 0, "%s: the parent's rss", what);
	check_eq(nr_anon(), anon0, "%s: nr_anon_pages (the THP is gone)", what);
	mmput(r.child);
	unmap(THP_BASE, PMD_SIZE, what);
}

/* The race as first seen, under 5.8's rule: a write to a THP shared with a child splits the
 * PMD while a MADV_DONTNEED of the whole THP runs; the old contents must not stay mapped. */
static int setup_thp_cow_split(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = PINMM_RULES_MODERN;
	return boot_with_mm(state, &cfg);
}

static void split_by_cow_write(struct split_race *r)
{
	(void)r;
	put_word(THP_BASE, 0x5ee, "the parent's write to subpage 0 (5.8: splits the PMD)");
}

static void test_split_pmd_by_cow_write_vs_dontneed(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct split_race r = {.mm = mm, .op = op_dontneed_all};
	const char *what = "5.8 rule: a COW write (split) vs MADV_DONTNEED of the THP";

	r.head = map_tagged_thp(mm);
	child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	split_race_run(&r, split_by_cow_write, what);
	check_eq(r.ret, 0, "%s: the other thread's MADV_DONTNEED", what);
	/* Subpage 0 holds the write or nothing, depending on which came last; the rest is gone. */
	for (unsigned long i = 1; i < HPAGE_PMD_NR; i++)
		check_eq(get_word(THP_BASE + PG(i), what), 0, "%s: word of subpage %lu", what, i);
	check_eq(remote_word(child, THP_BASE + PG(1), what), 0x7001, "%s: the child's THP", what);
	mmput(child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_always_write_fault_maps_thp, setup_always,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_never_gives_small_pages, setup_never,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_madvise_mode_needs_madv_hugepage,
						setup_madvise, teardown_mm),
		cmocka_unit_test_setup_teardown(test_madv_nohugepage_prevents_thp, setup_always,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_range_without_aligned_block_falls_back,
						setup_always, teardown_mm),
		cmocka_unit_test_setup_teardown(test_partial_munmap_splits_pmd, setup_always,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_mprotect_part_splits_pmd, setup_always,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_munmap_of_whole_thp_frees_it, setup_always,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_split_pmd_never_reads_none, setup_always,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_split_pmd_gup_rmap_and_fault_wait, setup_always,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_split_pmd_by_cow_write_vs_dontneed,
						setup_thp_cow_split, teardown_mm),
		cmocka_unit_test_setup_teardown(test_split_pmd_by_rmap_vs_fork,
						setup_always, teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
