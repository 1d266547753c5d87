/* SPDX-License-Identifier: MIT */
/*
 * fork (pinmm_fork(), Linux 5.7's dup_mmap rules): private anonymous pages are shared
 * read-only until one side writes (copy-on-write in both directions, reuse once the other side
 * has its own copy); MADV_DONTFORK ranges are left out of the child; MAP_SHARED|MAP_ANONYMOUS
 * memory stays shared both ways; a PMD-mapped THP is shared whole, and a write copies it whole
 * into a new THP (5.7), or into 512 small pages when no THP can be had, and a write pin lands
 * in the new THP; under modern rules (5.8 on, PINMM_RULES_MODERN) a write splits only the writer's
 * PMD and copies one 4 KiB subpage; FOLL_FORCE writes after fork must not leak into the child;
 * pinmm_fork(NULL); and nothing is left behind once both mms are gone.
 *
 * The parent is the mm the test thread uses; the child is reached with access_remote_vm() or
 * from a second thread that runs in it. Page tables are read with test_mm_util.h's walker
 * (no other thread runs in the mm while the test reads them).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h> /* test_util.h uses ftruncate() */
#include <urcu.h>   /* rcu_barrier(): let deferred page-table frees run */

#include "test_mm_util.h"
#include "vm/internal.h" /* pmd_lookup(), entry_ptl(): the parent's PTE table locks */

#define BASE 0x10000000UL
#define THP_BASE 0x40000000UL /* 2 MiB aligned */

/* Children forked by the running test and not yet put: a failed check leaves them here, and
 * the teardown puts them so that only the failure itself is reported. */
static struct mm_struct *children[4];

static int teardown_fork(void **state)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
		mmput(children[i]);
		children[i] = NULL;
	}
	return teardown_mm(state);
}

static struct mm_struct *fork_mm(struct mm_struct *mm)
{
	struct mm_struct *child = pinmm_fork(mm);
	size_t i = 0;

	if (IS_ERR_OR_NULL(child))
		fail_msg("pinmm_fork() failed: %ld", PTR_ERR(child));
	while (children[i])
		i++;
	assert_true(i < sizeof(children) / sizeof(children[0]));
	children[i] = child;
	return child;
}

/* The child exits. */
static void put_child(struct mm_struct *child)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == child)
			children[i] = NULL;
	mmput(child);
}

/* ---- page tables (test_mm_util.h's walker) ---- */

/* The pfn of the 4 KiB page mapped at addr, or 0 if nothing is mapped. */
static unsigned long pfn_at(struct mm_struct *mm, unsigned long addr)
{
	struct leaf l = pt_walk(mm, addr);

	return l.level == LEAF_NONE ? 0 : leaf_pfn(l, addr);
}

static bool writable_at(struct mm_struct *mm, unsigned long addr)
{
	return pt_walk(mm, addr).entry & _PAGE_RW;
}

/* ---- words: put_word / get_word in the parent, remote_word / remote_put_word in the child
 * (test_mm_util.h), and a write from a thread that runs in the child ---- */

/* A second CPU running in mm writes one word, as the child process itself would. */
struct thread_write {
	struct mm_struct *mm;
	unsigned long addr, val, left;
};

static void *write_in_mm(void *arg)
{
	struct thread_write *w = arg;

	kthread_use_mm(w->mm);
	w->left = copy_to_user(w->addr, &w->val, sizeof(w->val));
	kthread_unuse_mm(w->mm);
	return NULL;
}

static void write_from_thread(struct mm_struct *mm, unsigned long addr, unsigned long val,
			      const char *what)
{
	struct thread_write w = {.mm = mm, .addr = addr, .val = val};
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, write_in_mm, &w), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (w.left)
		fail_msg("%s: copy_to_user(%#lx) in the child's thread left %lu bytes", what, addr,
			 w.left);
}

/* ---- 4 KiB copy-on-write ---- */

/* Parent: two tagged pages at BASE; returns the child. */
static struct mm_struct *fork_two_tagged_pages(struct mm_struct *mm)
{
	map(BASE, PG(2), RW, ANON | MAP_FIXED, "2 pages at BASE");
	put_word(BASE, 0xaa00, "page 0 before fork");
	put_word(BASE + PG(1), 0xaa01, "page 1 before fork");
	return fork_mm(mm);
}

static void test_fork_shares_pages_write_protected(void **state)
{
	struct mm_struct *mm = *state, *child;
	long anon0;

	anon0 = nr_anon();
	child = fork_two_tagged_pages(mm);
	check_eq(nr_anon() - anon0, 2, "fork maps the same 2 pages again: nr_anon_pages");
	check_eq(child->nr_vmas, 1, "child's VMAs");
	mmap_read_lock(child);
	check_eq(vma_lookup(child, BASE)->vm_end, BASE + PG(2), "child's copy of the VMA");
	check_eq(vma_lookup(child, BASE)->vm_mm, child, "child's copy of the VMA");
	mmap_read_unlock(child);
	for (unsigned int i = 0; i < 2; i++) {
		unsigned long a = BASE + PG(i), pfn = pfn_at(mm, a);
		struct page *page = pfn_to_page(pfn);

		check_eq(pfn_at(child, a), pfn, "page %u after fork: child maps the parent's pfn", i);
		check_eq(page_mapcount(page), 2, "page %u after fork", i);
		check_eq(page_count(page), 2, "page %u after fork", i);
		check_eq(PageAnon(page), true, "page %u after fork", i);
		check_eq(writable_at(mm, a), false, "page %u after fork: parent's PTE write-protected",
			 i);
		check_eq(writable_at(child, a), false, "page %u after fork: child's PTE write-protected",
			 i);
		check_eq(remote_word(child, a, "child"), 0xaa00 + i, "child reads page %u", i);
	}
	check_eq(rss_anon(mm), 2, "parent rss after fork");
	check_eq(rss_anon(child), 2, "child rss after fork");
	/* Reading does not break the sharing. */
	check_eq(get_word(BASE, "parent"), 0xaa00, "parent reads page 0");
	check_eq(page_mapcount(pfn_to_page(pfn_at(mm, BASE))), 2, "page 0 after reads on both sides");
	put_child(child);
	check_eq(page_mapcount(pfn_to_page(pfn_at(mm, BASE))), 1, "page 0 after the child's exit");
	check_eq(nr_anon() - anon0, 2, "after the child's exit: nr_anon_pages");
}

static void test_cow_parent_writes_first(void **state)
{
	struct mm_struct *mm = *state, *child = fork_two_tagged_pages(mm);
	unsigned long shared = pfn_at(mm, BASE);
	long anon0 = nr_anon();
	struct page *page = pfn_to_page(shared);

	/* Parent write: the parent gets a copy, the child keeps the original. */
	put_word(BASE, 0xbb00, "parent writes page 0");
	check_eq(pfn_at(mm, BASE) == shared, false, "parent's page 0 after its write is a copy");
	check_eq(writable_at(mm, BASE), true, "parent's page 0 after its write");
	check_eq(pfn_at(child, BASE), shared, "child's page 0 after the parent's write");
	check_eq(page_mapcount(page), 1, "the original page 0 after the parent's write");
	check_eq(page_count(page), 1, "the original page 0 after the parent's write");
	check_eq(page_mapcount(pfn_to_page(pfn_at(mm, BASE))), 1, "parent's copy");
	check_eq(nr_anon() - anon0, 1, "the parent's write allocated one page");
	check_eq(remote_word(child, BASE, "child"), 0xaa00, "child does not see the parent's write");
	check_eq(get_word(BASE, "parent"), 0xbb00, "parent sees its write");
	check_eq(remote_word(child, BASE + PG(1), "child"), 0xaa01, "page 1 untouched in child");

	/* The child's write now finds the page mapped only by itself: it reuses it. */
	write_from_thread(child, BASE, 0xcc00, "child writes page 0");
	check_eq(pfn_at(child, BASE), shared, "child's write to its now-exclusive page reuses it");
	check_eq(writable_at(child, BASE), true, "child's page 0 after its write");
	check_eq(nr_anon() - anon0, 1, "the child's write allocated nothing");
	check_eq(remote_word(child, BASE, "child"), 0xcc00, "child sees its write");
	check_eq(get_word(BASE, "parent"), 0xbb00, "parent does not see the child's write");
	put_child(child);
}

static void test_cow_child_writes_first(void **state)
{
	struct mm_struct *mm = *state, *child = fork_two_tagged_pages(mm);
	unsigned long shared = pfn_at(mm, BASE + PG(1));
	long anon0 = nr_anon();

	remote_put_word(child, BASE + PG(1), 0xdd01, "child writes page 1");
	check_eq(pfn_at(child, BASE + PG(1)) == shared, false, "child's page 1 is a copy");
	check_eq(pfn_at(mm, BASE + PG(1)), shared, "parent keeps the original page 1");
	check_eq(page_mapcount(pfn_to_page(shared)), 1, "original page 1 after the child's write");
	check_eq(nr_anon() - anon0, 1, "the child's write allocated one page");
	check_eq(get_word(BASE + PG(1), "parent"), 0xaa01, "parent does not see the child's write");
	check_eq(remote_word(child, BASE + PG(1), "child"), 0xdd01, "child sees its write");

	put_word(BASE + PG(1), 0xee01, "parent writes page 1");
	check_eq(pfn_at(mm, BASE + PG(1)), shared, "parent's write to its exclusive page reuses it");
	check_eq(nr_anon() - anon0, 1, "the parent's write allocated nothing");
	check_eq(remote_word(child, BASE + PG(1), "child"), 0xdd01, "child after the parent's write");
	/* Page 0 is still shared. */
	check_eq(pfn_at(child, BASE), pfn_at(mm, BASE), "page 0 still shared");
	put_child(child);
}

/* ---- what the child gets ---- */

static void test_madv_dontfork_range_absent_in_child(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long word;

	/*
	 * 012345
	 * AAAAAA   tagged
	 * ABBBCC   MADV_DONTFORK on pages 1-3 (split off)
	 * A...CC   the child
	 */
	map(BASE, PG(6), RW, ANON | MAP_FIXED, "6 pages");
	for (unsigned int i = 0; i < 6; i++)
		put_word(BASE + PG(i), 0x600 + i, "6 pages");
	check_eq(do_madvise(mm, BASE + PG(1), PG(3), MADV_DONTFORK), 0, "MADV_DONTFORK pages 1-3");
	check_eq(mm->nr_vmas, 3, "MADV_DONTFORK split the VMA");
	child = fork_mm(mm);
	check_eq(child->nr_vmas, 2, "child of ABBBCC with B VM_DONTCOPY");
	mmap_read_lock(child);
	check_eq(vma_lookup(child, BASE) != NULL, true, "child has page 0");
	for (unsigned int i = 1; i < 4; i++)
		check_eq(vma_lookup(child, BASE + PG(i)) == NULL, true, "child has no VMA at page %u",
			 i);
	check_eq(vma_lookup(child, BASE + PG(4))->vm_start, BASE + PG(4), "child's third VMA");
	mmap_read_unlock(child);
	for (unsigned int i = 1; i < 4; i++) {
		check_eq(access_remote_vm(child, BASE + PG(i), &word, sizeof(word), 0), 0,
			 "child reading DONTFORK page %u", i);
		check_eq(pfn_at(child, BASE + PG(i)), 0, "child's page table at DONTFORK page %u", i);
		check_eq(page_mapcount(pfn_to_page(pfn_at(mm, BASE + PG(i)))), 1,
			 "parent's DONTFORK page %u is not shared", i);
	}
	check_eq(remote_word(child, BASE, "child"), 0x600, "child's page 0");
	check_eq(remote_word(child, BASE + PG(5), "child"), 0x605, "child's page 5");
	check_eq(rss_anon(child), 3, "child rss without the DONTFORK pages");
	put_child(child);

	/* MADV_DOFORK undoes it; the VMAs merge back. */
	check_eq(do_madvise(mm, BASE + PG(1), PG(3), MADV_DOFORK), 0, "MADV_DOFORK pages 1-3");
	check_eq(mm->nr_vmas, 1, "MADV_DOFORK merged the VMAs back");
	child = fork_mm(mm);
	check_eq(remote_word(child, BASE + PG(2), "child"), 0x602, "child after MADV_DOFORK");
	put_child(child);
}

static void test_shared_anonymous_memory_stays_shared(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long addr = vm_mmap(NULL, BASE, PG(2), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 0);

	if (IS_ERR_VALUE(addr)) {
		/* Shared anonymous memory is a shmem file (src/fs). */
		print_message("MAP_SHARED|MAP_ANONYMOUS failed with %ld: shmem not available; "
			      "skipping\n",
			      (long)addr);
		skip();
	}
	put_word(BASE, 0x5500, "parent writes page 0 before fork");
	child = fork_mm(mm);
	check_eq(pfn_at(child, BASE), 0, "shared file VMAs are not copied entry by entry");
	check_eq(remote_word(child, BASE, "child"), 0x5500, "child sees the write made before fork");
	check_eq(pfn_at(child, BASE), pfn_at(mm, BASE), "child faults in the same shmem page");

	remote_put_word(child, BASE + PG(1), 0xc401, "child writes page 1");
	check_eq(get_word(BASE + PG(1), "parent"), 0xc401, "parent sees the child's write");
	put_word(BASE, 0x5501, "parent writes page 0 after fork");
	check_eq(remote_word(child, BASE, "child"), 0x5501, "child sees the parent's later write");
	write_from_thread(child, BASE, 0xc402, "a thread in the child writes page 0");
	check_eq(get_word(BASE, "parent"), 0xc402, "parent sees the child thread's write");
	for (unsigned int i = 0; i < 2; i++) {
		check_eq(pfn_at(child, BASE + PG(i)), pfn_at(mm, BASE + PG(i)),
			 "shared page %u is the same frame on both sides", i);
		check_eq(writable_at(mm, BASE + PG(i)) || writable_at(child, BASE + PG(i)), true,
			 "shared page %u is writable somewhere", i);
	}
	put_child(child);
	check_eq(get_word(BASE, "parent"), 0xc402, "parent's data after the child's exit");
}

/* ---- THP ---- */

/* Parent: one PMD-mapped THP at THP_BASE, every subpage tagged with its index. */
static struct page *map_tagged_thp(struct mm_struct *mm)
{
	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "2 MiB at THP_BASE");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		put_word(THP_BASE + PG(i), 0x7000 + i, "tagging the THP");
	if (pt_walk(mm, THP_BASE).level != LEAF_PMD)
		fail_msg("a write to an aligned 2 MiB anonymous range (THP always) did not map a "
			 "PMD leaf (level %d)",
			 pt_walk(mm, THP_BASE).level);
	return pfn_to_page(pfn_at(mm, THP_BASE));
}

/* ---- THP copy-on-write, 5.7's rule ---- */

struct thp_events {
	unsigned long alloc, fallback, split_pmd;
};

static struct thp_events thp_events_now(void)
{
	return (struct thp_events){global_vm_event_count(THP_FAULT_ALLOC),
				   global_vm_event_count(THP_FAULT_FALLBACK),
				   global_vm_event_count(THP_SPLIT_PMD)};
}

static void expect_thp_events(struct thp_events e0, unsigned long alloc, unsigned long fallback,
			      unsigned long split_pmd, const char *what)
{
	struct thp_events e1 = thp_events_now();

	check_eq(e1.alloc - e0.alloc, alloc, "%s: thp_fault_alloc", what);
	check_eq(e1.fallback - e0.fallback, fallback, "%s: thp_fault_fallback", what);
	check_eq(e1.split_pmd - e0.split_pmd, split_pmd, "%s: thp_split_pmd", what);
}

/* The parent's new THP after its write to the shared one: checked and returned. */
static struct page *expect_new_thp(struct mm_struct *mm, struct page *old, const char *what)
{
	struct page *new = pfn_to_page(pfn_at(mm, THP_BASE));

	check_eq(pt_walk(mm, THP_BASE).level, LEAF_PMD, "%s: the parent's mapping", what);
	check_eq(new != old && PageHead(new), true, "%s: the parent maps a new compound page",
		 what);
	check_eq(compound_order(new), HPAGE_PMD_ORDER, "%s: the new THP", what);
	check_eq(compound_mapcount(new), 1, "%s: the new THP", what);
	check_eq(writable_at(mm, THP_BASE), true, "%s: the parent's new PMD", what);
	return new;
}

static void test_fork_thp_57_write_copies_whole_thp(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *head = map_tagged_thp(mm), *new;
	struct thp_events e0;
	long anon0;
	const char *what = "5.7: the parent writes subpage 5 of the THP it shares with its child";

	child = fork_mm(mm);
	e0 = thp_events_now();
	anon0 = nr_anon();
	put_word(THP_BASE + PG(5), 0xbeef, what);
	expect_thp_events(e0, 1, 0, 0, what);
	new = expect_new_thp(mm, head, what);
	check_eq(page_count(new), 1, "%s: the new THP", what);
	check_eq(nr_anon() - anon0, HPAGE_PMD_NR, "%s: nr_anon_pages (a second THP)", what);
	check_eq(rss_anon(mm), HPAGE_PMD_NR, "%s: the parent's rss", what);
	check_eq(compound_mapcount(head), 1, "%s: the old THP (the child's PMD)", what);
	check_eq(page_count(head), 1, "%s: the old THP", what);
	check_eq(pfn_at(child, THP_BASE), page_to_pfn(head), "%s: the child keeps the THP", what);
	check_eq(get_word(THP_BASE + PG(5), what), 0xbeef, "%s: the parent's write", what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 73)
		if (i != 5)
			check_eq(get_word(THP_BASE + PG(i), what), 0x7000 + i,
				 "%s: the parent's copy of subpage %lu", what, i);
	check_eq(remote_word(child, THP_BASE + PG(5), what), 0x7005, "%s: the child's subpage 5",
		 what);

	/* The child is now alone on the old THP: its write reuses it. */
	e0 = thp_events_now();
	remote_put_word(child, THP_BASE + PG(7), 0xc0de, "5.7: the child writes after the copy");
	expect_thp_events(e0, 0, 0, 0, "5.7: the child writes after the copy (reuse)");
	check_eq(pfn_at(child, THP_BASE), page_to_pfn(head), "5.7: the child reuses its THP");
	check_eq(writable_at(child, THP_BASE), true, "5.7: the child's PMD after its write");
	check_eq(get_word(THP_BASE + PG(7), what), 0x7007, "%s: the parent's subpage 7", what);
	put_child(child);
}

static void test_fork_thp_57_fallback_copies_every_subpage(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *head = map_tagged_thp(mm);
	struct thp_events e0;
	long anon0;
	const char *what = "5.7, no THP to be had (MADV_NOHUGEPAGE): the parent writes subpage 5";

	child = fork_mm(mm);
	check_eq(do_madvise(mm, THP_BASE, PMD_SIZE, MADV_NOHUGEPAGE), 0, "%s: madvise", what);
	e0 = thp_events_now();
	anon0 = nr_anon();
	put_word(THP_BASE + PG(5), 0xbeef, what);
	expect_thp_events(e0, 0, 1, 0, what);
	check_eq(pt_walk(mm, THP_BASE).level, LEAF_PTE, "%s: the parent's mapping", what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *p = pfn_to_page(pfn_at(mm, THP_BASE + PG(i)));

		if (p >= head && p < head + HPAGE_PMD_NR)
			fail_msg("%s: the parent's PTE %lu still maps the shared THP", what, i);
		check_eq(PageCompound(p), false, "%s: the copy of subpage %lu", what, i);
		check_eq(writable_at(mm, THP_BASE + PG(i)), true, "%s: PTE %lu", what, i);
		check_eq(page_mapcount(head + i), 1, "%s: subpage %lu (the child's PMD)", what, i);
	}
	check_eq(nr_anon() - anon0, HPAGE_PMD_NR, "%s: nr_anon_pages (512 copies)", what);
	check_eq(rss_anon(mm), HPAGE_PMD_NR, "%s: the parent's rss", what);
	check_eq(compound_mapcount(head), 1, "%s: the old THP (the child's PMD)", what);
	check_eq(page_count(head), 1, "%s: the old THP", what);
	check_eq(get_word(THP_BASE + PG(5), what), 0xbeef, "%s: the parent's write", what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 73)
		if (i != 5)
			check_eq(get_word(THP_BASE + PG(i), what), 0x7000 + i,
				 "%s: the parent's copy of subpage %lu", what, i);
	check_eq(remote_word(child, THP_BASE + PG(5), what), 0x7005, "%s: the child's subpage 5",
		 what);
	put_child(child);
}

/* A write pin of a THP shared after fork: the COW gives the parent a new THP, and the pins are
 * counted exactly on it (page[2]'s pincount), none on the THP the child keeps. */
static void write_pin_after_fork(struct mm_struct *mm, bool fast, const char *what)
{
	static struct page *pages[HPAGE_PMD_NR];
	struct page *head = map_tagged_thp(mm), *new;
	struct mm_struct *child = fork_mm(mm);
	struct thp_events e0 = thp_events_now();
	long acq0 = nr_acquired(), ret;

	if (fast) {
		ret = pin_user_pages_fast(THP_BASE, HPAGE_PMD_NR, FOLL_WRITE, pages);
	} else {
		mmap_read_lock(mm);
		ret = pin_user_pages(THP_BASE, HPAGE_PMD_NR, FOLL_WRITE, pages);
		mmap_read_unlock(mm);
	}
	check_eq(ret, HPAGE_PMD_NR, "%s: pages pinned", what);
	expect_thp_events(e0, 1, 0, 0, what);
	new = expect_new_thp(mm, head, what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		check_ptr(pages[i], new + i, "%s: pages[%lu]", what, i);
	check_eq(compound_pincount(new), HPAGE_PMD_NR, "%s: the new THP's exact pincount", what);
	check_eq(page_count(new), 1 + HPAGE_PMD_NR, "%s: the new THP's refcount", what);
	check_eq(compound_pincount(head), 0, "%s: the child's THP is not pinned", what);
	check_eq(page_count(head), 1, "%s: the child's THP", what);
	check_eq(nr_acquired() - acq0, HPAGE_PMD_NR, "%s: nr_foll_pin_acquired", what);
	check_eq(*(unsigned long *)page_address(pages[9]), 0x7009, "%s: the pinned copy", what);
	*(unsigned long *)page_address(pages[9]) = 0xd3a;
	check_eq(get_word(THP_BASE + PG(9), what), 0xd3a, "%s: the device's write, parent", what);
	check_eq(remote_word(child, THP_BASE + PG(9), what), 0x7009, "%s: the child's page", what);
	unpin_user_pages(pages, HPAGE_PMD_NR);
	check_eq(compound_pincount(new), 0, "%s: after unpin", what);
	put_child(child);
	unmap(THP_BASE, PMD_SIZE, what);
}

static void test_fork_thp_57_write_pin_lands_in_new_thp(void **state)
{
	write_pin_after_fork(*state, false, "5.7: pin_user_pages(FOLL_WRITE) of a THP after fork");
	write_pin_after_fork(*state, true,
			     "5.7: pin_user_pages_fast(FOLL_WRITE) of a THP after fork");
}

/* ---- THP copy-on-write, modern rules (5.8 on: PINMM_RULES_MODERN) ---- */

static int setup_thp_cow_split(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = PINMM_RULES_MODERN;
	return boot_with_mm(state, &cfg);
}

static void test_fork_thp_58_split_copies_one_subpage(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *head = map_tagged_thp(mm);
	unsigned long split0 = global_vm_event_count(THP_SPLIT_PMD);
	unsigned long alloc0 = global_vm_event_count(THP_FAULT_ALLOC);
	unsigned long copy;

	child = fork_mm(mm);
	check_eq(pt_walk(child, THP_BASE).level, LEAF_PMD, "child maps the THP with a PMD");
	check_eq(pfn_at(child, THP_BASE), page_to_pfn(head), "child maps the parent's THP");
	check_eq(compound_mapcount(head), 2, "THP after fork");
	check_eq(page_count(head), 2, "THP after fork");
	check_eq(writable_at(mm, THP_BASE), false, "parent's PMD after fork");
	check_eq(writable_at(child, THP_BASE), false, "child's PMD after fork");
	check_eq(rss_anon(child), HPAGE_PMD_NR, "child rss after fork");

	/* The parent writes subpage 5: its PMD is split, subpage 5 copied, the rest shared. */
	put_word(THP_BASE + PG(5), 0xbeef, "parent writes subpage 5");
	check_eq(global_vm_event_count(THP_SPLIT_PMD) - split0, 1, "parent's write: thp_split_pmd");
	check_eq(global_vm_event_count(THP_FAULT_ALLOC), alloc0, "no new THP");
	check_eq(pt_walk(mm, THP_BASE).level, LEAF_PTE, "parent's mapping after its write");
	copy = pfn_at(mm, THP_BASE + PG(5));
	if (copy >= page_to_pfn(head) && copy < page_to_pfn(head) + HPAGE_PMD_NR)
		fail_msg("parent's write: subpage 5 still maps pfn %#lx inside the THP", copy);
	check_eq(PageCompound(pfn_to_page(copy)), false, "the copy of subpage 5 is a 4 KiB page");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		if (i == 5)
			continue;
		check_eq(pfn_at(mm, THP_BASE + PG(i)), page_to_pfn(head) + i,
			 "parent's PTE %lu after the split", i);
		check_eq(page_mapcount(head + i), 2, "subpage %lu: parent PTE + child PMD", i);
	}
	check_eq(page_mapcount(head + 5), 1, "subpage 5: the child's PMD only");
	check_eq(pt_walk(child, THP_BASE).level, LEAF_PMD, "child keeps its PMD");
	check_eq(pfn_at(child, THP_BASE), page_to_pfn(head), "child keeps the THP");
	check_eq(compound_mapcount(head), 1, "THP after the parent's split");
	check_eq(page_count(head), 1 + HPAGE_PMD_NR - 1, "THP: child's PMD and parent's 511 PTEs");
	check_eq(rss_anon(mm), HPAGE_PMD_NR, "parent rss: 511 subpages and a copy");
	check_eq(get_word(THP_BASE + PG(5), "parent"), 0xbeef, "parent sees its write");
	check_eq(remote_word(child, THP_BASE + PG(5), "child"), 0x7005, "child's subpage 5");
	check_eq(get_word(THP_BASE + PG(6), "parent"), 0x7006, "parent's subpage 6");
	check_eq(remote_word(child, THP_BASE + PG(511), "child"), 0x7000 + 511, "child's last");

	put_child(child);
	check_eq(compound_mapcount(head), 0, "THP after the child's exit");
	check_eq(page_count(head), HPAGE_PMD_NR - 1, "THP after the child's exit");
}

static void test_fork_thp_58_split_counts_anon_pages_once(void **state)
{
	struct mm_struct *mm = *state, *child;
	long anon0;

	/*
	 * A THP mapped by the child's PMD and by 511 of the parent's PTEs is still 512 pages of
	 * anonymous memory; with the parent's private copy of subpage 5 that makes 513.
	 * Linux 5.7 keeps NR_ANON_MAPPED at 512 across __split_huge_pmd_locked() (the extra
	 * subpage mapcounts go through PageDoubleMap, not the counter), then +1 for the copy.
	 * Found failing at df546df: split_huge_pmd_locked() (src/vm/huge_memory.c) added 1 to
	 * NR_ANON_MAPPED for every subpage whose _mapcount left -1, while page_remove_rmap() of
	 * the compound mapping subtracted nothing because the child's PMD still mapped it, so
	 * nr_anon_pages counted the THP twice (+512 here instead of +1) until the child exited.
	 */
	map_tagged_thp(mm);
	anon0 = nr_anon();
	child = fork_mm(mm);
	put_word(THP_BASE + PG(5), 0xbeef, "parent writes subpage 5");
	check_eq(nr_anon() - anon0, 1,
		 "nr_anon_pages after fork of a THP and a parent write to one subpage");
	put_child(child);
	check_eq(nr_anon() - anon0, 0, "nr_anon_pages after the child's exit (511 + 1 copy)");
}

/* ---- FOLL_FORCE after fork ---- */

static void forced_write_after_fork(struct mm_struct *mm, unsigned long prot, const char *what)
{
	struct mm_struct *child;
	unsigned long evil = 0xe111, pfn;

	map(BASE, PAGE_SIZE, RW, ANON | MAP_FIXED, what);
	put_word(BASE, 0x0a1d, what);
	if (prot != RW)
		check_eq(vm_mprotect(BASE, PAGE_SIZE, prot), 0, "%s: mprotect", what);
	child = fork_mm(mm);
	pfn = pfn_at(child, BASE);
	check_eq(access_remote_vm(mm, BASE, &evil, sizeof(evil), FOLL_WRITE | FOLL_FORCE),
		 sizeof(evil), "%s: forced write into the parent", what);
	check_eq(remote_word(mm, BASE, what), 0xe111, "%s: the parent sees the forced write", what);
	check_eq(remote_word(child, BASE, what), 0x0a1d, "%s: the child's copy", what);
	check_eq(pfn_at(child, BASE), pfn, "%s: the child keeps its page", what);
	check_eq(pfn_at(mm, BASE) == pfn, false, "%s: the parent got its own copy", what);
	put_child(child);
}

/*
 * ptrace-style pokes (FOLL_WRITE | FOLL_FORCE) into a page that fork left shared must break
 * COW like any write. Linux (since the Dirty COW fix, 19be0eaffa3a) only lets a forced write
 * use a read-only PTE after a COW fault of this very lookup (FOLL_COW) made it dirty.
 * Found failing at df546df: lookup_page() in src/vm/uaccess.c accepted any read-only dirty
 * PTE for a forced write ("force && pte_dirty(v)") and fork keeps the dirty bit on the
 * write-protected PTE (copy_pte() in src/vm/fork.c), so the poke landed in the page the child
 * still maps and the child saw it (a Dirty COW).
 */
static void test_foll_force_write_after_fork_rw(void **state)
{
	forced_write_after_fork(*state, RW, "RW private page written, then fork");
}

static void test_foll_force_write_after_fork_readonly(void **state)
{
	forced_write_after_fork(*state, PROT_READ, "page written, made PROT_READ, then fork");
}

/* ---- errors and cleanup ---- */

static void test_fork_null_mm(void **state)
{
	struct mm_struct *child = pinmm_fork(NULL);

	(void)state;
	check_eq(IS_ERR(child), true, "pinmm_fork(NULL)");
	check_eq(PTR_ERR(child), -EINVAL, "pinmm_fork(NULL)");
}

static void test_fork_then_exit_frees_everything(void **state)
{
	struct mm_struct *mm = *state, *parent, *child;
	long free0, tables0;

	/* A parent of its own, so that both it and its child can be put here. */
	rcu_barrier();
	free0 = global_zone_page_state(NR_FREE_PAGES);
	tables0 = global_zone_page_state(NR_PAGETABLE);
	parent = mm_alloc();
	assert_non_null(parent);
	kthread_unuse_mm(mm);
	kthread_use_mm(parent);
	map(BASE, PG(4), RW, ANON | MAP_FIXED, "4 pages");
	for (unsigned int i = 0; i < 4; i++)
		put_word(BASE + PG(i), i, "4 pages");
	map_tagged_thp(parent);
	child = fork_mm(parent);
	put_word(BASE, 0x11, "parent COW of page 0");
	put_word(THP_BASE + PG(3), 0x11, "parent COW of THP subpage 3");
	remote_put_word(child, BASE + PG(1), 0x22, "child COW of page 1");
	check_eq(vm_munmap(BASE + PG(2), PAGE_SIZE), 0, "parent unmaps page 2");
	kthread_unuse_mm(parent);
	kthread_use_mm(mm);
	mmput(parent);
	check_eq(remote_word(child, BASE + PG(2), "child"), 2, "child outlives the parent");
	check_eq(remote_word(child, THP_BASE + PG(3), "child"), 0x7003, "child's THP");
	put_child(child);
	rcu_barrier();
	check_eq(global_zone_page_state(NR_PAGETABLE), tables0, "page tables after both exits");
	check_eq(global_zone_page_state(NR_FREE_PAGES), free0, "free pages after both exits");
}

/* Three locks of the parent's (PTE table locks, or a huge leaf's locks), and how often a
 * child's table was allocated while one of them was held. */
struct table_locks {
	pthread_spinlock_t *ptl[3];
	unsigned int calls, held;
};

static void check_parent_unlocked(const char *point, void *arg)
{
	struct table_locks *t = arg;

	(void)point;
	t->calls++;
	for (int i = 0; i < 3; i++) {
		if (pthread_spin_trylock(t->ptl[i])) {
			t->held++;
			continue;
		}
		pthread_spin_unlock(t->ptl[i]);
	}
}

/*
 * fork allocates the child's PTE tables with no page-table lock held, as Linux's
 * copy_pte_range() does: the allocation may enter direct reclaim, whose rmap walks take an
 * anon_vma lock and then a page-table lock, while compaction's or kswapd's walk holding that
 * anon_vma lock waits for the parent's PTE lock (a deadlock test_memory_pressure found). At the
 * point where fork allocates a child's table (fork:copy_needs_table), every PTE table lock of
 * the parent's region is free, and the child gets one table per parent table.
 */
static void test_fork_allocates_child_tables_unlocked(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct table_locks t = {0};
	long tables0;

	/* Three PTE tables' worth: pages in three different 2 MiB ranges (no THP: 4 KiB pages
	 * each touched alone in an unaligned mapping). */
	map(BASE, 3 * PMD_SIZE, RW, ANON | MAP_FIXED, "3 tables");
	check_eq(do_madvise(mm, BASE, 3 * PMD_SIZE, MADV_NOHUGEPAGE), 0, "MADV_NOHUGEPAGE");
	for (int i = 0; i < 3; i++) {
		put_word(BASE + i * PMD_SIZE + PG(1), 0x100u + (unsigned)i, "tag");
		pmd_t *pmd = pmd_lookup(mm, BASE + i * PMD_SIZE);

		assert_non_null(pmd);
		t.ptl[i] = entry_ptl(pte_offset(pmdp_get(pmd), BASE + i * PMD_SIZE));
	}
	tables0 = global_zone_page_state(NR_PAGETABLE);
	assert_int_equal(pinmm_hook_set("fork:copy_needs_table", check_parent_unlocked, &t), 0);
	child = fork_mm(mm);
	pinmm_hook_clear_all();
	check_eq(t.calls, 3, "child PTE tables allocated at fork:copy_needs_table");
	check_eq(t.held, 0, "parent PTE locks held while a child table was allocated");
	check_true(global_zone_page_state(NR_PAGETABLE) > tables0, "the child has tables");
	for (int i = 0; i < 3; i++)
		check_eq(remote_word(child, BASE + i * PMD_SIZE + PG(1), "child"), 0x100u + (unsigned)i,
			 "child's word in table %d", i);
}

static int setup_hugetlb_pool(void **state)
{
	return boot_with_hugetlb_pools(state, 2, 0);
}

/*
 * The huge leaves too: fork allocates the child's PMD table and the page table a THP's PMD
 * deposits (copy_huge_pmd()), and a hugetlb leaf's table, with none of the parent's locks held
 * (Linux's copy_pmd_range() allocates them before taking the leaf's lock), for the same reason
 * as the PTE tables above. Each leaf here lies in a 1 GiB range of its own, so each needs one
 * allocation; the child reads every word of both.
 */
static void test_fork_allocates_huge_leaf_tables_unlocked(void **state)
{
	const unsigned long huge_base = 0x80000000UL;
	struct mm_struct *mm = *state, *child;
	struct table_locks t = {0};

	map_tagged_thp(mm);
	check_eq(map(huge_base, PMD_SIZE, RW, ANON | MAP_HUGETLB | MAP_FIXED, "hugetlb 2 MiB"),
		 huge_base, "hugetlb mapping");
	for (unsigned int i = 0; i < 512; i += 64)
		put_word(huge_base + PG(i), 0x9000 + i, "tagging the hugetlb page");
	check_eq(pt_walk(mm, huge_base).level, LEAF_PMD, "the hugetlb page's leaf");
	t.ptl[0] = entry_ptl(pmd_lookup(mm, THP_BASE));
	t.ptl[1] = entry_ptl(pmd_lookup(mm, huge_base));
	t.ptl[2] = &mm->page_table_lock;
	assert_int_equal(pinmm_hook_set("fork:copy_needs_table", check_parent_unlocked, &t), 0);
	child = fork_mm(mm);
	pinmm_hook_clear_all();
	check_eq(t.calls, 2, "child tables allocated at fork:copy_needs_table (THP, hugetlb)");
	check_eq(t.held, 0, "parent locks held while a child table was allocated");
	check_eq(pt_walk(child, THP_BASE).level, LEAF_PMD, "the child's THP leaf");
	check_eq(pt_walk(child, huge_base).level, LEAF_PMD, "the child's hugetlb leaf");
	for (unsigned int i = 0; i < 512; i += 64) {
		check_eq(remote_word(child, THP_BASE + PG(i), "child"), 0x7000 + i,
			 "child's THP subpage %u", i);
		check_eq(remote_word(child, huge_base + PG(i), "child"), 0x9000 + i,
			 "child's hugetlb subpage %u", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_mm, teardown_fork)
#define T57(f) cmocka_unit_test_setup_teardown(f, setup_mm_57, teardown_fork)
		T(test_fork_shares_pages_write_protected),
		T(test_cow_parent_writes_first),
		T(test_cow_child_writes_first),
		T(test_madv_dontfork_range_absent_in_child),
		T(test_shared_anonymous_memory_stays_shared),
		T57(test_fork_thp_57_write_copies_whole_thp),
		T57(test_fork_thp_57_fallback_copies_every_subpage),
		T57(test_fork_thp_57_write_pin_lands_in_new_thp),
		cmocka_unit_test_setup_teardown(test_fork_thp_58_split_copies_one_subpage,
						setup_thp_cow_split, teardown_fork),
		cmocka_unit_test_setup_teardown(test_fork_thp_58_split_counts_anon_pages_once,
						setup_thp_cow_split, teardown_fork),
		T(test_foll_force_write_after_fork_rw),
		T(test_foll_force_write_after_fork_readonly),
		T(test_fork_null_mm),
		T(test_fork_then_exit_frees_everything),
		T(test_fork_allocates_child_tables_unlocked),
		cmocka_unit_test_setup_teardown(test_fork_allocates_huge_leaf_tables_unlocked,
						setup_hugetlb_pool, teardown_fork),
#undef T
#undef T57
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
