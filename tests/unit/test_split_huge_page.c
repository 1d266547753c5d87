/* SPDX-License-Identifier: MIT */
/*
 * split_huge_page() (huge_mm.h, Linux 5.7's refcount-freeze split) and the GUP flags around it:
 * a PMD-mapped THP, one shared with a fork and a PTE-mapped one become 512 order-0 pages with
 * their data, mappings, counts and anon state; a pinned THP is refused with -EBUSY and stays
 * whole; bad arguments are refused; FOLL_SPLIT splits through GUP or fails with the split's
 * error; a lookup during the split waits for it; FOLL_NOWAIT stops where a file fault would
 * wait; and the FOLL_* flags pinmm cannot honour are refused with a WARN.
 *
 * Each test boots the default machine (THP always) and runs in a fresh mm; page tables are read
 * with test_mm_util.h's walker.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h> /* test_util.h uses ftruncate() */
#include <urcu.h>   /* rcu_barrier(): let deferred page-table frees run */

#include "test_mm_util.h"

#define THP_BASE 0x40000000UL /* 2 MiB aligned */

/* Map a THP at THP_BASE by a write fault and tag each subpage with 0x7000 + its index. */
static struct page *map_tagged_thp(struct mm_struct *mm)
{
	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "2 MiB at THP_BASE");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		put_word(THP_BASE + PG(i), 0x7000 + i, "tagging the THP");
	expect_level(mm, THP_BASE, LEAF_PMD, "a write fault in an aligned 2 MiB range");
	return page_at(mm, THP_BASE);
}

/* Lock page, split it, and return split_huge_page()'s result (page stays locked). */
static int split_locked(struct page *page)
{
	lock_page(page);
	return split_huge_page(page);
}

/* After a split of the THP at head with the caller's page `kept`: 512 order-0 pages mapped
 * `maps` times each, with their data, index and anon_vma; kept locked with one more reference. */
static void expect_split(struct mm_struct *mm, struct page *head, struct page *kept, int maps,
			 const char *what)
{
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *p = head + i;

		check_eq(PageCompound(p), false, "%s: subpage %lu is a page of its own", what, i);
		check_ptr(compound_head(p), p, "%s: subpage %lu's head", what, i);
		check_eq(page_count(p), maps + (p == kept), "%s: subpage %lu's refcount", what, i);
		check_eq(page_mapcount(p), maps, "%s: subpage %lu's mapcount", what, i);
		check_eq(PageAnon(p), true, "%s: subpage %lu", what, i);
		check_ptr(p->mapping, head->mapping, "%s: subpage %lu's anon_vma", what, i);
		check_eq(p->index, head->index + i, "%s: subpage %lu's index", what, i);
		check_eq(PageLocked(p), p == kept, "%s: subpage %lu's lock", what, i);
		check_ptr(page_at(mm, THP_BASE + PG(i)), p, "%s: the PTE of subpage %lu", what, i);
		check_eq(get_word(THP_BASE + PG(i), what), 0x7000 + i, "%s: subpage %lu's data",
			 what, i);
	}
}

static void test_split_pmd_mapped_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm);
	unsigned long split_page0 = global_vm_event_count(THP_SPLIT_PAGE);
	long anon0 = nr_anon(), thps0 = global_node_page_state(NR_ANON_THPS), rss0 = rss_anon(mm);
	long free0;
	const char *what = "split_huge_page() of a PMD-mapped THP, the caller holding subpage 7";

	get_page(head + 7);
	check_eq(split_locked(head + 7), 0, "%s", what);
	check_eq(global_vm_event_count(THP_SPLIT_PAGE) - split_page0, 1, "%s: thp_split_page",
		 what);
	check_eq(pt_walk(mm, THP_BASE).level, LEAF_PTE, "%s: the mapping", what);
	expect_split(mm, head, head + 7, 1, what);
	check_eq(nr_anon(), anon0, "%s: nr_anon_pages", what);
	check_eq(global_node_page_state(NR_ANON_THPS), thps0 - 1, "%s: nr_anon_transparent_hugepages",
		 what);
	check_eq(rss_anon(mm), rss0, "%s: rss", what);
	unlock_page(head + 7);
	put_page(head + 7);

	/* The pages behave as any: a write reuses, munmap frees all 512. */
	put_word(THP_BASE + PG(9), 0x99, what);
	check_ptr(page_at(mm, THP_BASE + PG(9)), head + 9, "%s: a write to subpage 9", what);
	free0 = nr_free();
	unmap(THP_BASE, PMD_SIZE, what);
	rcu_barrier();
	check_true(nr_free() >= free0 + (long)HPAGE_PMD_NR, "%s: munmap frees the 512 pages", what);
	check_eq(nr_anon(), anon0 - (long)HPAGE_PMD_NR, "%s: nr_anon_pages after munmap", what);
}

static void test_split_thp_shared_with_fork(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *head = map_tagged_thp(mm);
	const char *what = "split_huge_page() of a THP PMD-mapped by parent and child";

	child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	get_page(head);
	check_eq(split_locked(head), 0, "%s", what);
	expect_split(mm, head, head, 2, what);
	check_eq(pt_walk(child, THP_BASE).level, LEAF_PTE, "%s: the child's mapping", what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 37)
		check_eq(remote_word(child, THP_BASE + PG(i), what), 0x7000 + i,
			 "%s: the child's subpage %lu", what, i);
	unlock_page(head);
	put_page(head);
	/* COW still works on the pieces: the parent's write copies one 4 KiB page. */
	put_word(THP_BASE + PG(3), 0xbeef, what);
	check_eq(remote_word(child, THP_BASE + PG(3), what), 0x7003, "%s: the child's copy", what);
	check_eq(page_mapcount(head + 3), 1, "%s: subpage 3 after the parent's COW", what);
	mmput(child);
}

static void test_split_pte_mapped_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm);
	const char *what = "split_huge_page() of a THP whose last 8 subpages were unmapped";

	unmap(THP_BASE + PG(HPAGE_PMD_NR - 8), PG(8), what);
	check_eq(pt_walk(mm, THP_BASE).level, LEAF_PTE, "%s: the mapping before the split", what);
	get_page(head);
	check_eq(split_locked(head), 0, "%s", what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR - 8; i++) {
		check_eq(PageCompound(head + i), false, "%s: subpage %lu", what, i);
		check_eq(page_count(head + i), 1 + (i == 0), "%s: subpage %lu's refcount", what, i);
		check_eq(get_word(THP_BASE + PG(i), what), 0x7000 + i, "%s: subpage %lu", what, i);
	}
	unlock_page(head);
	put_page(head);
	unmap(THP_BASE, PG(HPAGE_PMD_NR - 8), what);
}

/* Under both rule sets a pinned THP refuses to split, its count where the rule set keeps it
 * (page[2] under 5.7, page[1] under modern rules); unpinned, it splits and neither tail keeps
 * a count: both are plain pages again. */
static void split_refused_while_pinned(struct mm_struct *mm, bool modern)
{
	struct page *head = map_tagged_thp(mm), *pinned;
	unsigned long split_page0 = global_vm_event_count(THP_SPLIT_PAGE);
	const char *what = modern ? "modern: split_huge_page() of a THP with subpage 5 pinned"
				  : "5.7: split_huge_page() of a THP with subpage 5 pinned";

	check_eq(pin_user_pages_fast(THP_BASE + PG(5), 1, FOLL_WRITE, &pinned), 1, "%s: pin", what);
	get_page(head);
	check_eq(split_locked(head), -EBUSY, "%s", what);
	check_eq(PageHead(head) && compound_order(head) == HPAGE_PMD_ORDER, true,
		 "%s: the THP stays whole", what);
	check_eq(compound_pincount(head), 1, "%s: its pincount", what);
	check_eq(atomic_load(modern ? &head[1]._pincount : &head[2].hpage_pinned_refcount), 1,
		 "%s: the count in page[%d]", what, modern ? 1 : 2);
	check_eq(atomic_load(modern ? &head[2].hpage_pinned_refcount : &head[1]._pincount), 0,
		 "%s: nothing in page[%d]", what, modern ? 2 : 1);
	check_eq(page_count(head), 1 + 1 + 1, "%s: PMD, pin and caller", what);
	check_eq(global_vm_event_count(THP_SPLIT_PAGE), split_page0, "%s: thp_split_page", what);
	unlock_page(head);
	put_page(head);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 51)
		check_eq(get_word(THP_BASE + PG(i), what), 0x7000 + i, "%s: subpage %lu", what, i);
	check_ptr(page_at(mm, THP_BASE + PG(5)), pinned, "%s: still mapped", what);

	/* Unpinned, it splits. */
	unpin_user_page(pinned);
	get_page(head);
	check_eq(split_locked(head), 0, "split_huge_page() after the unpin");
	expect_split(mm, head, head, 1, "split_huge_page() after the unpin");
	check_eq(atomic_load(&head[1]._pincount), 0, "%s: page[1]'s count word after the split",
		 what);
	/* page[2]'s count word is lru.prev: now a link of the LRU list the subpage joined
	 * beside its head, as in Linux (lru_add_page_tail()), not a count. */
	check_eq(PageLRU(head + 2) && !PageCompound(head + 2) && !page_maybe_dma_pinned(head + 2),
		 true, "%s: page[2] after the split is a plain page on the LRU", what);
	check_eq(hpage_pincount_available(head + 1), false, "%s: page[1] has no count of its own",
		 what);
	unlock_page(head);
	put_page(head);
}

static void test_split_refused_while_pinned_57(void **state)
{
	split_refused_while_pinned(*state, false);
}

static void test_split_refused_while_pinned_modern(void **state)
{
	split_refused_while_pinned(*state, true);
}

static void split_unlocked(void *arg)
{
	struct page *head = arg;

	check_eq(split_huge_page(head), -EINVAL, "split_huge_page() of an unlocked THP");
	check_eq(PageHead(head), true, "an unlocked THP stays whole");
}

static void test_split_bad_arguments(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm);
	struct page *small = alloc_page(GFP_KERNEL), *order3;

	assert_non_null(small);
	check_eq(split_locked(small), -EINVAL, "split_huge_page() of an order-0 page");
	unlock_page(small);
	put_page(small);
	order3 = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	assert_non_null(order3);
	check_eq(split_locked(order3 + 1), -EINVAL, "split_huge_page() of an order-3 page");
	check_eq(PageHead(order3), true, "an order-3 page stays whole");
	unlock_page(order3);
	put_page(order3);
	run_in_child("split_huge_page() of an unlocked THP", split_unlocked, head, 1, "WARNING");
}

/* A THP in a PROT_NONE VMA: the split's migration entries must come back as PROT_NONE
 * entries, not as accessible ones. */
static void test_split_prot_none_thp_stays_prot_none(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm);
	const char *what = "split_huge_page() of a THP mapped PROT_NONE";

	check_eq(vm_mprotect(THP_BASE, PMD_SIZE, PROT_NONE), 0, "%s: mprotect", what);
	get_page(head);
	check_eq(split_locked(head), 0, "%s", what);
	unlock_page(head);
	put_page(head);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 17) {
		struct leaf l = pt_walk(mm, THP_BASE + PG(i));

		check_eq(l.level, LEAF_PTE, "%s: subpage %lu's mapping", what, i);
		check_eq(l.entry & (_PAGE_PRESENT | _PAGE_PROTNONE), _PAGE_PROTNONE,
			 "%s: subpage %lu's PTE %#lx is PROT_NONE", what, i, l.entry);
		check_eq(l.entry & PTE_PFN_MASK, page_to_pfn(head + i) << PAGE_SHIFT,
			 "%s: subpage %lu's pfn", what, i);
	}
	check_eq(vm_mprotect(THP_BASE, PMD_SIZE, PROT_READ), 0, "%s: mprotect back", what);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 17)
		check_eq(get_word(THP_BASE + PG(i), what), 0x7000 + i, "%s: subpage %lu", what, i);
}

/* ---- FOLL_SPLIT ---- */

static void test_foll_split_splits_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm), *pages[4];
	unsigned long split_page0 = global_vm_event_count(THP_SPLIT_PAGE);
	const char *what = "get_user_pages(FOLL_SPLIT) of 4 subpages of a PMD-mapped THP";
	long ret;

	mmap_read_lock(mm);
	ret = get_user_pages(THP_BASE + PG(3), 4, FOLL_SPLIT | FOLL_WRITE, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 4, "%s", what);
	check_eq(global_vm_event_count(THP_SPLIT_PAGE) - split_page0, 1, "%s: thp_split_page",
		 what);
	for (int i = 0; i < 4; i++) {
		check_ptr(pages[i], head + 3 + i, "%s: pages[%d]", what, i);
		check_eq(PageCompound(pages[i]), false, "%s: pages[%d]", what, i);
		check_eq(page_count(pages[i]), 2, "%s: pages[%d]: PTE and GUP", what, i);
		put_page(pages[i]);
	}
	check_eq(PageCompound(head), false, "%s: the head", what);
	unmap(THP_BASE, PMD_SIZE, what);

	/* A PTE-mapped THP (its PMD split by a partial munmap) is split the same way. */
	what = "get_user_pages(FOLL_SPLIT) of a PTE-mapped THP";
	head = map_tagged_thp(mm);
	unmap(THP_BASE + PMD_SIZE - PAGE_SIZE, PAGE_SIZE, what);
	mmap_read_lock(mm);
	ret = get_user_pages(THP_BASE + PG(100), 1, FOLL_SPLIT, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 1, "%s", what);
	check_ptr(pages[0], head + 100, "%s: pages[0]", what);
	check_eq(PageCompound(head + 100), false, "%s: subpage 100", what);
	check_eq(page_count(head + 100), 2, "%s: subpage 100", what);
	put_page(pages[0]);
	unmap(THP_BASE, PMD_SIZE, what);
}

static void test_foll_split_fails_when_pinned(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm), *pinned, *page = NULL;
	const char *what = "get_user_pages(FOLL_SPLIT) of a THP with subpage 0 pinned";
	long ret;

	check_eq(pin_user_pages_fast(THP_BASE, 1, 0, &pinned), 1, "%s: pin", what);
	mmap_read_lock(mm);
	ret = get_user_pages(THP_BASE + PG(8), 1, FOLL_SPLIT, &page);
	mmap_read_unlock(mm);
	check_eq(ret, -EBUSY, "%s", what);
	check_ptr(page, NULL, "%s: no page returned", what);
	check_eq(PageHead(head), true, "%s: the THP stays whole", what);
	check_eq(page_count(head), 2, "%s: PMD and pin, nothing leaked", what);
	unpin_user_page(pinned);
}

/* A lookup that meets the migration entries of a split in progress waits for the split and
 * returns the order-0 subpage, with FOLL_MIGRATION (in the lookup) or without (in the fault). */
struct lookup_during_split {
	struct mm_struct *mm;
	unsigned int flags;
	pthread_t thread;
	bool started;
	long ret;
	struct page *page;
};

static void *lookup_thread(void *arg)
{
	struct lookup_during_split *l = arg;

	kthread_use_mm(l->mm);
	mmap_read_lock(l->mm);
	l->ret = get_user_pages(THP_BASE + PG(20), 1, l->flags, &l->page);
	mmap_read_unlock(l->mm);
	kthread_unuse_mm(l->mm);
	return NULL;
}

static void start_lookup(const char *point, void *arg)
{
	struct lookup_during_split *l = arg;

	(void)point;
	if (l->started)
		return;
	l->started = true;
	assert_int_equal(pthread_create(&l->thread, NULL, lookup_thread, l), 0);
	usleep(20000); /* let it reach the migration entry; it must wait there either way */
}

static void test_lookup_waits_for_split(void **state)
{
	struct mm_struct *mm = *state;
	static const unsigned int flags[] = {FOLL_MIGRATION, 0};

	for (int f = 0; f < 2; f++) {
		struct lookup_during_split l = {.mm = mm, .flags = flags[f]};
		struct page *head = map_tagged_thp(mm);
		const char *what = f ? "get_user_pages() during a split"
				     : "get_user_pages(FOLL_MIGRATION) during a split";

		assert_int_equal(pinmm_hook_set("huge_memory:split_page_unmapped", start_lookup, &l),
				 0);
		get_page(head);
		check_eq(split_locked(head), 0, "%s: the split", what);
		pinmm_hook_clear_all();
		unlock_page(head);
		put_page(head);
		check_true(l.started, "%s: the hook ran", what);
		pthread_join(l.thread, NULL);
		check_eq(l.ret, 1, "%s", what);
		check_ptr(l.page, head + 20, "%s: the page", what);
		check_eq(PageCompound(l.page), false, "%s: an order-0 page", what);
		put_page(l.page);
		unmap(THP_BASE, PMD_SIZE, what);
	}
}

/* ---- an exit during the split ---- */

/* The child exits while the split has turned the THP into 512 pages that its migration entries
 * still name. The two sides meet through relaxed atomics only, so that nothing orders the
 * split's writes of the new pages' fields before the exit's reads of them but the library's own
 * code: ThreadSanitizer (make check-tsan) checks that it does. */
struct exit_during_split {
	struct mm_struct *child;
	pthread_t thread;
	atomic_int phase; /* 0: before the split, 1: split, exit now, 2: the child is gone */
};

static void *child_exit_thread(void *arg)
{
	struct exit_during_split *e = arg;

	while (atomic_load_explicit(&e->phase, memory_order_relaxed) != 1)
		sched_yield();
	mmput(e->child);
	atomic_store_explicit(&e->phase, 2, memory_order_relaxed);
	return NULL;
}

static void exit_child_now(const char *point, void *arg)
{
	struct exit_during_split *e = arg;

	(void)point;
	atomic_store_explicit(&e->phase, 1, memory_order_relaxed);
	while (atomic_load_explicit(&e->phase, memory_order_relaxed) != 2)
		sched_yield();
}

/*
 * The exit zaps the child's migration entries, reading whether each page is anonymous (its
 * mm counter) while the split has just written the new pages' mapping: the split publishes
 * each page with a release store of its compound_head and the reader must acquire it (the
 * race offlining's split and a forked child's exit ran into under memory pressure). Then the
 * split maps the parent's pages back and none into the dead child: each page mapped once.
 */
static void test_child_exits_during_split(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_tagged_thp(mm);
	struct exit_during_split e = {0};
	const char *what = "split_huge_page() while the forked child exits";

	e.child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(e.child));
	assert_int_equal(pthread_create(&e.thread, NULL, child_exit_thread, &e), 0);
	assert_int_equal(pinmm_hook_set("huge_memory:split_page_remapping", exit_child_now, &e), 0);
	get_page(head);
	check_eq(split_locked(head), 0, "%s", what);
	pinmm_hook_clear_all();
	pthread_join(e.thread, NULL);
	check_eq(atomic_load(&e.phase), 2, "%s: the child exited during the split", what);
	expect_split(mm, head, head, 1, what);
	unlock_page(head);
	put_page(head);
	check_eq(pinmm_check_invariants(), 0, "%s: the invariants", what);
}

/* ---- FOLL_NOWAIT ---- */

/* A file mapping: a lookup that would have to read the file, or wait for a page lock, ends the
 * call with the pages done so far (or 0), as 5.7's VM_FAULT_RETRY does. */
static void test_foll_nowait_stops_where_a_fault_would_wait(void **state)
{
	struct mm_struct *mm = *state;
	char path[] = "/tmp/pinmm-nowait-XXXXXX";
	unsigned long data[2] = {0xf11e0, 0xf11e1}, addr, maj0;
	struct page *pages[2] = {NULL, NULL}, *cached;
	struct file *file;
	long ret;
	int fd = mkstemp(path);
	const char *what = "get_user_pages(FOLL_NOWAIT) of a 2-page file mapping";

	assert_true(fd >= 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pwrite(fd, &data[i], sizeof(data[i]), (off_t)PG(i)),
				 (ssize_t)sizeof(data[i]));
	assert_int_equal(ftruncate(fd, (off_t)PG(2)), 0);
	close(fd);
	file = filp_open(path, O_RDONLY, 0);
	unlink(path);
	assert_false(IS_ERR(file));
	addr = vm_mmap(file, 0, PG(2), PROT_READ, MAP_PRIVATE, 0);
	assert_false(IS_ERR_VALUE(addr));

	maj0 = global_vm_event_count(PGMAJFAULT);
	mmap_read_lock(mm);
	ret = get_user_pages(addr, 2, FOLL_NOWAIT, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 0, "%s, nothing cached", what);
	check_eq(global_vm_event_count(PGMAJFAULT), maj0, "%s: no read from the file", what);

	check_eq(get_word(addr, what), 0xf11e0, "%s: an ordinary read of page 0", what);
	mmap_read_lock(mm);
	ret = get_user_pages(addr, 2, FOLL_NOWAIT, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 1, "%s, page 0 mapped and page 1 not cached", what);
	put_page(pages[0]);

	/* Page 1 cached (read_mapping_page) but locked: no waiting either. */
	cached = read_mapping_page(file->f_mapping, 1);
	assert_false(IS_ERR(cached));
	lock_page(cached);
	mmap_read_lock(mm);
	ret = get_user_pages(addr + PG(1), 1, FOLL_NOWAIT, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 0, "%s, page 1 cached and locked", what);
	unlock_page(cached);
	mmap_read_lock(mm);
	ret = get_user_pages(addr + PG(1), 1, FOLL_NOWAIT, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 1, "%s, page 1 cached and unlocked", what);
	check_ptr(pages[0], cached, "%s: the cached page", what);
	put_page(pages[0]);
	put_page(cached);
	unmap(addr, PG(2), what);
	fput(file);
}

/* ---- the FOLL_* flags the slow path refuses ---- */

struct refused {
	unsigned int flag;
	const char *name;
};

static void gup_with_refused_flag(void *arg)
{
	const struct refused *r = arg;
	struct mm_struct *mm = current_mm();
	struct page *page = NULL;
	long ret;

	mmap_read_lock(mm);
	ret = get_user_pages(THP_BASE, 1, r->flag, &page);
	mmap_read_unlock(mm);
	check_eq(ret, -EINVAL, "get_user_pages(%s)", r->name);
	check_ptr(page, NULL, "get_user_pages(%s): no page", r->name);
}

static void test_refused_foll_flags(void **state)
{
	static const struct refused flags[] = {
		{FOLL_NUMA, "FOLL_NUMA"}, {FOLL_TRIED, "FOLL_TRIED"},         {FOLL_MLOCK, "FOLL_MLOCK"},
		{FOLL_COW, "FOLL_COW"},   {FOLL_FAST_ONLY, "FOLL_FAST_ONLY"},
	};
	struct page *page;
	long ret;

	map_tagged_thp(*state);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		run_in_child(flags[i].name, gup_with_refused_flag, (void *)&flags[i], 1, "WARNING");
	/* The accepted ones that change nothing here. */
	mmap_read_lock(*state);
	ret = get_user_pages(THP_BASE, 1, FOLL_POPULATE | FOLL_MIGRATION | FOLL_REMOTE, &page);
	mmap_read_unlock(*state);
	check_eq(ret, 1, "get_user_pages(FOLL_POPULATE | FOLL_MIGRATION | FOLL_REMOTE)");
	put_page(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_split_pmd_mapped_thp),
		test_with_mm(test_split_thp_shared_with_fork),
		test_with_mm(test_split_pte_mapped_thp),
		test_with_mm_57(test_split_refused_while_pinned_57),
		test_with_mm_modern(test_split_refused_while_pinned_modern),
		test_with_mm(test_split_bad_arguments),
		test_with_mm(test_split_prot_none_thp_stays_prot_none),
		test_with_mm(test_foll_split_splits_thp),
		test_with_mm(test_foll_split_fails_when_pinned),
		test_with_mm(test_lookup_waits_for_split),
		test_with_mm(test_child_exits_during_split),
		test_with_mm(test_foll_nowait_stops_where_a_fault_would_wait),
		test_with_mm(test_refused_foll_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
