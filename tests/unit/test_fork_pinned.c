/* SPDX-License-Identifier: MIT */
/*
 * fork and pinned pages, under both rule sets: the mm's MMF_HAS_PINNED flag (set by the first
 * FOLL_PIN call of any GUP entry point, never cleared, not inherited by a child); and what
 * fork does with an anonymous page that a device may be writing. Under 5.7 rules fork shares
 * it, and the parent's first write after fork copies the page away from its pin: the device
 * keeps a page the parent no longer sees (the historical bug). Under modern rules (Linux 5.9's
 * early COW) the child gets a copy at fork, and the pinned page stays the parent's, writable,
 * for 4 KiB pages (write and read-only pins), PMD-mapped THPs (the parent's PMD is split and
 * every subpage copied) and 2 MiB hugetlb pages; FOLL_GET references cause no copy, and nothing
 * is copied in an mm without the flag; a copy that finds no memory fails fork cleanly; a
 * GUP-fast pin that races with fork backs off to the slow path (Linux 5.11's
 * mm->write_protect_seq), forced into fork's window with a race point.
 *
 * "The device" reads and writes the pinned page through page_address(), as DMA would. The
 * parent is the mm the test thread uses; the child is read with access_remote_vm(); page tables
 * with test_mm_util.h's walker (no other thread runs in these mms meanwhile).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include "test_mm_util.h"
#include "test_race.h"

#define BASE 0x10000000UL
#define THP_BASE 0x40000000UL  /* 2 MiB aligned */
#define HUGE_BASE 0x80000000UL /* 2 MiB aligned */
#define HUGE_ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)

/* Children forked by the running test and not yet put (a failed check leaves them here; the
 * teardown puts them, so that only the failure itself is reported). */
static struct mm_struct *children[4];

static int teardown_fork(void **state)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
		mmput(children[i]);
		children[i] = NULL;
	}
	return teardown_mm(state);
}

static struct mm_struct *fork_mm(struct mm_struct *mm, const char *what)
{
	struct mm_struct *child = pinmm_fork(mm);
	size_t i = 0;

	if (IS_ERR_OR_NULL(child))
		fail_msg("%s: pinmm_fork() failed: %ld", what, PTR_ERR(child));
	while (children[i])
		i++;
	assert_true(i < sizeof(children) / sizeof(children[0]));
	children[i] = child;
	return child;
}

static void put_child(struct mm_struct *child)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == child)
			children[i] = NULL;
	mmput(child);
}

static bool has_pinned(struct mm_struct *mm)
{
	return atomic_load(&mm->flags) & (1UL << MMF_HAS_PINNED);
}

static bool writable_at(struct mm_struct *mm, unsigned long addr)
{
	return pt_walk(mm, addr).entry & _PAGE_RW;
}

/* The word a device reads from (or writes to) a pinned page, at byte offset off. */
static unsigned long *device_word(struct page *page, unsigned long off)
{
	return (unsigned long *)((char *)page_address(page) + off);
}

/* pin_user_pages() of the one page at addr, in the test thread's mm. */
static struct page *pin_one(unsigned long addr, unsigned int gup_flags, const char *what)
{
	struct mm_struct *mm = current_mm();
	struct page *page = NULL;
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages(addr, 1, gup_flags, &page);
	mmap_read_unlock(mm);
	check_eq(ret, 1, "%s: pin_user_pages(%#lx, flags %#x)", what, addr, gup_flags);
	return page;
}

/* ---- MMF_HAS_PINNED ---- */

static void test_has_pinned_set_by_the_first_pin_only(void **state)
{
	struct mm_struct *mm = *state, *other, *child;
	struct page *page;
	int locked = 1;

	map(BASE, PG(4), RW, ANON | MAP_FIXED | MAP_POPULATE, "4 pages");
	check_eq(has_pinned(mm), false, "a new mm");

	/* References are not pins. */
	check_eq(get_user_pages_fast(BASE, 1, FOLL_WRITE, &page), 1, "get_user_pages_fast");
	put_page(page);
	mmap_read_lock(mm);
	check_eq(get_user_pages(BASE, 1, FOLL_WRITE, &page), 1, "get_user_pages");
	mmap_read_unlock(mm);
	put_page(page);
	check_eq(has_pinned(mm), false, "after FOLL_GET calls only");

	/* The first FOLL_PIN call marks the mm before it pins anything: even one that fails. */
	check_eq(pin_user_pages_fast(BASE + PG(8), 1, FOLL_WRITE, &page), -EFAULT,
		 "pin_user_pages_fast of an unmapped page");
	check_eq(has_pinned(mm), true, "after a pin_user_pages_fast() that pinned nothing");
	check_eq(pin_user_pages_fast(BASE, 1, FOLL_WRITE, &page), 1, "pin_user_pages_fast");
	unpin_user_page(page);
	check_eq(has_pinned(mm), true, "after the unpin: never cleared");

	/* A child does not inherit it. */
	child = fork_mm(mm, "fork of an mm that has pinned");
	check_eq(has_pinned(child), false, "the child of an mm that has pinned");

	/* The remote and unlocked entry points mark the mm they pin in, not the caller's. */
	mmap_read_lock(child);
	check_eq(pin_user_pages_remote(child, BASE + PG(1), 1, 0, &page, &locked), 1,
		 "pin_user_pages_remote into the child");
	mmap_read_unlock(child);
	unpin_user_page(page);
	check_eq(has_pinned(child), true, "the child after pin_user_pages_remote() into it");
	put_child(child);

	other = mm_alloc();
	assert_non_null(other);
	kthread_unuse_mm(mm);
	kthread_use_mm(other);
	map(BASE, PG(1), RW, ANON | MAP_FIXED, "a page in another mm");
	check_eq(pin_user_pages_unlocked(BASE, 1, &page, FOLL_WRITE), 1,
		 "pin_user_pages_unlocked");
	unpin_user_page(page);
	check_eq(has_pinned(other), true, "after pin_user_pages_unlocked()");
	kthread_unuse_mm(other);
	kthread_use_mm(mm);
	mmput(other);
}

static void test_has_pinned_set_by_the_slow_path(void **state)
{
	struct mm_struct *mm = *state;

	map(BASE, PG(1), RW, ANON | MAP_FIXED, "a page");
	put_word(BASE, 1, "a page");
	unpin_user_page(pin_one(BASE, 0, "pin_user_pages, read-only"));
	check_eq(has_pinned(mm), true, "after pin_user_pages()");
}

/* ---- 4 KiB pages ---- */

/*
 * The parent writes a page, pins it (gup_flags), forks, and writes again; the device then
 * writes through the pin. Modern rules: the parent still maps the pinned page, writable, and
 * sees both its write and the device's; the child has its own copy with the data of fork time.
 * 5.7: fork shares the page; the parent's write copies it away from the pin, so the device
 * neither sees that write nor reaches the parent.
 */
static void pinned_page_across_fork(struct mm_struct *mm, unsigned int gup_flags, bool modern,
				    const char *what)
{
	struct page *pinned, *copy;
	struct mm_struct *child;
	long anon0;

	map(BASE, PG(1), RW, ANON | MAP_FIXED, what);
	put_word(BASE, 0x01d, what);
	pinned = pin_one(BASE, FOLL_PIN | gup_flags, what);
	check_ptr(pinned, page_at(mm, BASE), "%s: the pinned page is the mapped one", what);
	anon0 = nr_anon();
	child = fork_mm(mm, what);

	copy = page_at(child, BASE);
	check_eq(remote_word(child, BASE, what), 0x01d, "%s: the child's word after fork", what);
	check_ptr(page_at(mm, BASE), pinned, "%s: the parent's page after fork", what);
	if (modern) {
		check_true(copy != pinned, "%s: modern: the child got its own copy at fork", what);
		check_eq(PageAnon(copy), true, "%s: the child's copy", what);
		check_eq(page_mapcount(copy), 1, "%s: the child's copy", what);
		check_eq(page_count(copy), 1, "%s: the child's copy", what);
		check_eq(page_mapcount(pinned), 1, "%s: the pinned page, the parent's only", what);
		check_eq(writable_at(mm, BASE), true, "%s: the parent's PTE stays writable", what);
		check_eq(writable_at(child, BASE), true, "%s: the child's PTE", what);
		check_eq(rss_anon(child), 1, "%s: the child's rss", what);
		check_eq(nr_anon() - anon0, 1, "%s: nr_anon_pages (the copy)", what);
	} else {
		check_ptr(copy, pinned, "%s: 5.7: fork shares the pinned page", what);
		check_eq(page_mapcount(pinned), 2, "%s: 5.7: the shared page", what);
		check_eq(writable_at(mm, BASE), false, "%s: 5.7: the parent's PTE", what);
		check_eq(nr_anon() - anon0, 0, "%s: 5.7: nr_anon_pages", what);
	}

	put_word(BASE, 0x2e, "the parent's write after fork");
	if (modern) {
		check_ptr(page_at(mm, BASE), pinned, "%s: modern: the parent's write", what);
		check_eq(*device_word(pinned, 0), 0x2e, "%s: the device sees the parent's write",
			 what);
		*device_word(pinned, 8) = 0xd3;
		check_eq(get_word(BASE + 8, what), 0xd3, "%s: the parent sees the device's write",
			 what);
	} else {
		check_true(page_at(mm, BASE) != pinned,
			   "%s: 5.7: the parent's write copied the pinned page away", what);
		check_eq(*device_word(pinned, 0), 0x01d,
			 "%s: 5.7: the device still sees the data of fork time", what);
		*device_word(pinned, 8) = 0xd3;
		check_eq(get_word(BASE + 8, what), 0, "%s: 5.7: the device's write is lost", what);
	}
	check_eq(remote_word(child, BASE, what), 0x01d, "%s: the child's data", what);
	check_eq(remote_word(child, BASE + 8, what), modern ? 0 : 0xd3,
		 "%s: the child's page and the device's write", what);
	check_eq(page_maybe_dma_pinned(pinned), true, "%s: still pinned", what);
	unpin_user_page(pinned);
	put_child(child);
	unmap(BASE, PG(1), what);
}

static void test_write_pin_survives_fork_modern(void **state)
{
	pinned_page_across_fork(*state, FOLL_WRITE, true, "FOLL_PIN | FOLL_WRITE, fork");
}

static void test_write_pin_broken_by_fork_57(void **state)
{
	pinned_page_across_fork(*state, FOLL_WRITE, false, "FOLL_PIN | FOLL_WRITE, fork");
}

static void test_read_pin_survives_fork_modern(void **state)
{
	pinned_page_across_fork(*state, 0, true, "FOLL_PIN (read-only), fork");
}

static void test_read_pin_broken_by_fork_57(void **state)
{
	pinned_page_across_fork(*state, 0, false, "FOLL_PIN (read-only), fork");
}

/* The fast path pins as the slow one does, and fork copies just the pinned page of several. */
static void test_only_the_pinned_page_is_copied_modern(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *pinned;

	map(BASE, PG(3), RW, ANON | MAP_FIXED, "3 pages");
	tag_pages(BASE, 3, 0x300, "3 pages");
	check_eq(pin_user_pages_fast(BASE + PG(1), 1, FOLL_WRITE, &pinned), 1,
		 "pin_user_pages_fast of page 1");
	child = fork_mm(mm, "3 pages, page 1 pinned");
	for (unsigned int i = 0; i < 3; i++) {
		bool copied = page_at(child, BASE + PG(i)) != page_at(mm, BASE + PG(i));

		check_eq(copied, i == 1, "page %u: copied for the child at fork", i);
		check_eq(writable_at(mm, BASE + PG(i)), i == 1, "page %u: the parent's PTE", i);
	}
	expect_tags(BASE, 3, 0x300, "the parent's pages");
	for (unsigned int i = 0; i < 3; i++)
		check_eq(remote_word(child, BASE + PG(i), "child"), 0x300 + i, "child's page %u", i);
	unpin_user_page(pinned);
	put_child(child);
}

/* FOLL_GET references never make fork copy, even in an mm that has pinned. */
static void test_foll_get_reference_is_shared(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *got, *pinned;

	map(BASE, PG(2), RW, ANON | MAP_FIXED, "2 pages");
	tag_pages(BASE, 2, 0x500, "2 pages");
	pinned = pin_one(BASE + PG(1), FOLL_WRITE, "pin page 1");
	unpin_user_page(pinned); /* the mm has pinned; page 1 no longer is */
	mmap_read_lock(mm);
	check_eq(get_user_pages(BASE, 1, FOLL_WRITE, &got), 1, "get_user_pages of page 0");
	mmap_read_unlock(mm);
	check_eq(has_pinned(mm), true, "the mm has pinned");
	child = fork_mm(mm, "a FOLL_GET reference, an unpinned page");
	check_ptr(page_at(child, BASE), got, "the FOLL_GET page: shared by fork");
	check_ptr(page_at(child, BASE + PG(1)), pinned, "the page pinned before: shared by fork");
	check_eq(writable_at(mm, BASE), false, "the parent's PTE of the FOLL_GET page");
	put_page(got);
	put_child(child);
}

/*
 * The flag gates the copy. GUP_PIN_COUNTING_BIAS FOLL_GET references make an order-0 page read
 * as maybe pinned (page_maybe_dma_pinned() cannot tell them from a pin): fork of an mm that
 * has never pinned shares it all the same; once the mm has pinned (another page), modern rules
 * copy such a page, the false positive Linux accepts, if it is PageAnonExclusive: the page the
 * first fork shared is not any more (5.19 copies only exclusive pages), so the copy is shown
 * on a page faulted after that fork. 5.7 shares them all.
 */
static void test_references_copied_only_once_the_mm_has_pinned(void **state)
{
	struct mm_struct *mm = *state, *child;
	bool modern = pinmm_rules() == PINMM_RULES_MODERN;
	struct page *page = NULL, *fresh = NULL;

	map(BASE, PG(2), RW, ANON | MAP_FIXED, "2 pages");
	tag_pages(BASE, 2, 0x600, "2 pages");
	for (unsigned int i = 0; i < GUP_PIN_COUNTING_BIAS; i++)
		check_eq(get_user_pages_fast(BASE, 1, FOLL_WRITE, &page), 1, "reference %u", i);
	check_eq(page_maybe_dma_pinned(page), true, "%u references", GUP_PIN_COUNTING_BIAS);
	check_eq(has_pinned(mm), false, "FOLL_GET only");
	child = fork_mm(mm, "references, no pin");
	check_ptr(page_at(child, BASE), page, "an mm that never pinned: fork shares the page");
	put_child(child);

	map(BASE + PG(4), PG(1), RW, ANON | MAP_FIXED, "page 4, faulted after the first fork");
	tag_pages(BASE + PG(4), 1, 0x640, "page 4");
	for (unsigned int i = 0; i < GUP_PIN_COUNTING_BIAS; i++)
		check_eq(get_user_pages_fast(BASE + PG(4), 1, FOLL_WRITE, &fresh), 1,
			 "reference %u of page 4", i);
	unpin_user_page(pin_one(BASE + PG(1), FOLL_WRITE, "a pin of page 1"));
	check_eq(has_pinned(mm), true, "after a pin");
	child = fork_mm(mm, "references, the mm has pinned");
	check_eq(page_at(child, BASE + PG(4)) != fresh, modern,
		 "the mm has pinned: fork copies the page that reads as pinned (modern only)");
	check_eq(remote_word(child, BASE + PG(4), "child"), 0x640, "the child's page 4");
	check_ptr(page_at(child, BASE), page,
		 "page 0, shared by the first fork (not exclusive): shared again");
	check_eq(remote_word(child, BASE, "child"), 0x600, "the child's page 0");
	put_child(child);
	for (unsigned int i = 0; i < GUP_PIN_COUNTING_BIAS; i++) {
		put_page(page);
		put_page(fresh);
	}
}

/* ---- THP ---- */

/* A THP at THP_BASE, its subpage i tagged 0x7000 + i. */
static struct page *map_tagged_thp(struct mm_struct *mm)
{
	map(THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "THP");
	tag_pages(THP_BASE, HPAGE_PMD_NR, 0x7000, "THP");
	expect_level(mm, THP_BASE, LEAF_PMD, "the THP before fork");
	return page_at(mm, THP_BASE);
}

static void pinned_thp_across_fork(struct mm_struct *mm, bool modern, const char *what)
{
	struct page *head = map_tagged_thp(mm), *pinned;
	unsigned long split0 = global_vm_event_count(THP_SPLIT_PMD);
	unsigned long sub = THP_BASE + PG(7);
	struct mm_struct *child;

	pinned = pin_one(sub, FOLL_PIN | FOLL_WRITE, what);
	check_ptr(pinned, head + 7, "%s: the pinned subpage", what);
	child = fork_mm(mm, what);
	if (modern) {
		check_eq(global_vm_event_count(THP_SPLIT_PMD) - split0, 1,
			 "%s: modern: fork split the parent's PMD", what);
		expect_level(mm, THP_BASE, LEAF_PTE, "%s: the parent after fork", what);
		expect_level(child, THP_BASE, LEAF_PTE, "%s: the child after fork", what);
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
			struct page *c = page_at(child, THP_BASE + PG(i));

			check_ptr(page_at(mm, THP_BASE + PG(i)), head + i, "%s: parent's PTE %lu",
				  what, i);
			check_eq(writable_at(mm, THP_BASE + PG(i)), true, "%s: parent's PTE %lu",
				 what, i);
			check_true(c < head || c >= head + HPAGE_PMD_NR,
				   "%s: the child's subpage %lu is a copy", what, i);
			check_eq(PageCompound(c), false, "%s: the child's copy %lu", what, i);
			check_eq(*device_word(c, 0), 0x7000 + i, "%s: the child's copy %lu", what,
				 i);
			check_eq(page_mapcount(head + i), 1, "%s: subpage %lu", what, i);
		}
		check_eq(compound_mapcount(head), 0, "%s: no PMD maps the THP", what);
		check_eq(rss_anon(child), HPAGE_PMD_NR, "%s: the child's rss", what);
	} else {
		check_eq(global_vm_event_count(THP_SPLIT_PMD), split0, "%s: 5.7: no split", what);
		expect_level(child, THP_BASE, LEAF_PMD, "%s: 5.7: the child", what);
		check_ptr(page_at(child, THP_BASE), head, "%s: 5.7: the child shares the THP", what);
		check_eq(compound_mapcount(head), 2, "%s: 5.7: the shared THP", what);
	}

	put_word(sub, 0xbeef, "the parent's write to the pinned subpage");
	put_word(THP_BASE + PG(300), 0xcafe, "the parent's write to another subpage");
	if (modern) {
		check_ptr(page_at(mm, sub), pinned, "%s: modern: after the parent's write", what);
		check_ptr(page_at(mm, THP_BASE + PG(300)), head + 300,
			  "%s: modern: subpage 300 after the parent's write", what);
		check_eq(*device_word(pinned, 0), 0xbeef, "%s: the device sees the parent's write",
			 what);
	} else {
		check_true(page_at(mm, sub) != pinned,
			   "%s: 5.7: the parent's write copied the pinned THP away", what);
		check_eq(*device_word(pinned, 0), 0x7007,
			 "%s: 5.7: the device still sees the data of fork time", what);
	}
	check_eq(remote_word(child, sub, what), 0x7007, "%s: the child's subpage 7", what);
	check_eq(remote_word(child, THP_BASE + PG(300), what), 0x7000 + 300,
		 "%s: the child's subpage 300", what);
	unpin_user_page(pinned);
	put_child(child);
	unmap(THP_BASE, PMD_SIZE, what);
}

static void test_pinned_thp_split_and_copied_modern(void **state)
{
	pinned_thp_across_fork(*state, true, "THP with a pinned subpage, fork");
}

static void test_pinned_thp_shared_57(void **state)
{
	pinned_thp_across_fork(*state, false, "THP with a pinned subpage, fork");
}

/* An unpinned THP of an mm that has pinned keeps its PMD in both mms. */
static void test_unpinned_thp_shared_by_pmd_modern(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *head = map_tagged_thp(mm);

	map(BASE, PG(1), RW, ANON | MAP_FIXED, "a page");
	put_word(BASE, 1, "a page");
	unpin_user_page(pin_one(BASE, FOLL_WRITE, "a pin elsewhere"));
	child = fork_mm(mm, "an unpinned THP");
	expect_level(mm, THP_BASE, LEAF_PMD, "the parent");
	expect_level(child, THP_BASE, LEAF_PMD, "the child");
	check_ptr(page_at(child, THP_BASE), head, "the child shares the THP");
	put_child(child);
}

/* ---- hugetlb ---- */

static int setup_pool(void **state, enum pinmm_rules rules, unsigned long nr_2m)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 2 * GiB;
	cfg.nr_hugepages_2m = nr_2m;
	cfg.rules = rules;
	return boot_with_mm(state, &cfg);
}

static int setup_pool_57(void **state) { return setup_pool(state, PINMM_RULES_5_7, 4); }
static int setup_pool_modern(void **state) { return setup_pool(state, PINMM_RULES_MODERN, 4); }
static int setup_pool1_57(void **state) { return setup_pool(state, PINMM_RULES_5_7, 1); }
static int setup_pool1_modern(void **state) { return setup_pool(state, PINMM_RULES_MODERN, 1); }

static unsigned long free_2m(void)
{
	return size_to_hstate(SZ_2M)->free_huge_pages;
}

static void pinned_hugetlb_across_fork(struct mm_struct *mm, bool modern, const char *what)
{
	struct page *head, *pinned, *copy;
	struct mm_struct *child;
	unsigned long free0;

	map(HUGE_BASE, SZ_2M, RW, HUGE_ANON | MAP_FIXED, what);
	put_word(HUGE_BASE, 0x4a, what);
	put_word(HUGE_BASE + PG(100), 0x4b, what);
	head = page_at(mm, HUGE_BASE);
	pinned = pin_one(HUGE_BASE + PG(100), FOLL_PIN | FOLL_WRITE, what);
	check_ptr(pinned, head + 100, "%s: the pinned subpage", what);
	free0 = free_2m();
	child = fork_mm(mm, what);
	copy = page_at(child, HUGE_BASE);
	expect_level(child, HUGE_BASE, LEAF_PMD, "%s: the child", what);
	check_ptr(page_at(mm, HUGE_BASE), head, "%s: the parent's page after fork", what);
	if (modern) {
		check_true(copy != head, "%s: modern: the child got its own huge page", what);
		check_eq(PageHuge(copy), true, "%s: the child's copy", what);
		check_eq(compound_mapcount(copy), 1, "%s: the child's copy", what);
		check_eq(compound_mapcount(head), 1, "%s: the pinned page", what);
		check_eq(free0 - free_2m(), 1, "%s: the copy came from the pool", what);
		check_eq(writable_at(mm, HUGE_BASE), true, "%s: the parent's entry", what);
		check_eq(writable_at(child, HUGE_BASE), true, "%s: the child's entry", what);
	} else {
		check_ptr(copy, head, "%s: 5.7: fork shares the pinned huge page", what);
		check_eq(compound_mapcount(head), 2, "%s: 5.7: the shared page", what);
		check_eq(free_2m(), free0, "%s: 5.7: no page taken from the pool", what);
	}
	check_eq(remote_word(child, HUGE_BASE + PG(100), what), 0x4b, "%s: the child's word", what);

	put_word(HUGE_BASE + PG(100), 0x5c, "the parent's write after fork");
	if (modern) {
		check_ptr(page_at(mm, HUGE_BASE + PG(100)), pinned, "%s: modern: the parent's write",
			  what);
		check_eq(*device_word(pinned, 0), 0x5c, "%s: the device sees the parent's write",
			 what);
	} else {
		check_true(page_at(mm, HUGE_BASE + PG(100)) != pinned,
			   "%s: 5.7: the parent's write copied the pinned page away", what);
		check_eq(*device_word(pinned, 0), 0x4b,
			 "%s: 5.7: the device still sees the data of fork time", what);
	}
	check_eq(remote_word(child, HUGE_BASE + PG(100), what), 0x4b, "%s: the child's data", what);
	check_eq(remote_word(child, HUGE_BASE, what), 0x4a, "%s: the child's first word", what);
	unpin_user_page(pinned);
	put_child(child);
	unmap(HUGE_BASE, SZ_2M, what);
}

static void test_pinned_hugetlb_copied_modern(void **state)
{
	pinned_hugetlb_across_fork(*state, true, "pinned 2 MiB hugetlb page, fork");
}

static void test_pinned_hugetlb_shared_57(void **state)
{
	pinned_hugetlb_across_fork(*state, false, "pinned 2 MiB hugetlb page, fork");
}

/* A pool of one page, mapped and pinned by the parent: modern rules have no page to copy it
 * into and fork fails with -ENOMEM (Linux's fork fails so); 5.7 shares it and succeeds. */
static void pinned_hugetlb_empty_pool(struct mm_struct *mm, bool modern, const char *what)
{
	struct mm_struct *child;
	struct page *pinned;

	map(HUGE_BASE, SZ_2M, RW, HUGE_ANON | MAP_FIXED, what);
	put_word(HUGE_BASE, 0x61, what);
	pinned = pin_one(HUGE_BASE, FOLL_PIN | FOLL_WRITE, what);
	check_eq(free_2m(), 0, "%s: the pool is empty", what);
	child = pinmm_fork(mm);
	if (modern) {
		check_eq(PTR_ERR(child), -ENOMEM, "%s: modern: fork", what);
		check_ptr(page_at(mm, HUGE_BASE), pinned, "%s: the parent's page", what);
		check_eq(compound_mapcount(pinned), 1, "%s: the parent's page", what);
		check_eq(writable_at(mm, HUGE_BASE), true, "%s: the parent's entry", what);
		check_eq(pinmm_check_invariants(), 0, "%s: invariants after the failed fork", what);
		put_word(HUGE_BASE, 0x62, what);
		check_eq(*device_word(pinned, 0), 0x62, "%s: the device sees the parent", what);
	} else {
		check_eq(IS_ERR(child), false, "%s: 5.7: fork shares the page", what);
		check_ptr(page_at(child, HUGE_BASE), pinned, "%s: 5.7: the child's page", what);
		put_child(child);
	}
	unpin_user_page(pinned);
	unmap(HUGE_BASE, SZ_2M, what);
}

static void test_pinned_hugetlb_empty_pool_modern(void **state)
{
	pinned_hugetlb_empty_pool(*state, true, "pinned hugetlb page, empty pool");
}

static void test_pinned_hugetlb_empty_pool_57(void **state)
{
	pinned_hugetlb_empty_pool(*state, false, "pinned hugetlb page, empty pool");
}

/* ---- no memory for the copy ---- */

static bool copy_reached;

static void note_copy(const char *point, void *arg)
{
	(void)point;
	(void)arg;
	copy_reached = true;
}

/*
 * Every page allocation of a fork failing in turn (N = 1, 2, ... until fork succeeds), in a
 * parent with a pinned page and a pinned THP: each failure is -ENOMEM with no child, the
 * parent's data and pinned pages intact, and pinmm_check_invariants() clean. The copies'
 * allocations are among those that fail (the "fork:copy_needs_page" point was reached).
 */
static void test_fork_copy_enomem_modern(void **state)
{
	struct mm_struct *mm = *state, *child = NULL;
	struct page *pinned, *thp_pinned;
	bool copy_failed = false;
	unsigned long n;

	if (pinmm_fail_set(NULL) == -EOPNOTSUPP) {
		skip(); /* built with HOOKS=0 */
		return;
	}
	map(BASE, PG(2), RW, ANON | MAP_FIXED, "2 pages");
	tag_pages(BASE, 2, 0x900, "2 pages");
	pinned = pin_one(BASE + PG(1), FOLL_PIN | FOLL_WRITE, "page 1");
	map_tagged_thp(mm);
	thp_pinned = pin_one(THP_BASE + PG(3), FOLL_PIN | FOLL_WRITE, "THP subpage 3");
	assert_int_equal(pinmm_hook_set("fork:copy_needs_page", note_copy, NULL), 0);
	for (n = 1; n < 4096; n++) {
		struct pinmm_fail_attr attr = {.sites = "alloc:pages", .nth = n};

		copy_reached = false;
		assert_int_equal(pinmm_fail_set(&attr), 0);
		child = pinmm_fork(mm);
		pinmm_fail_set(NULL);
		if (!IS_ERR(child))
			break;
		check_eq(PTR_ERR(child), -ENOMEM, "fork with page allocation %lu failing", n);
		if (copy_reached)
			copy_failed = true;
		check_ptr(page_at(mm, BASE + PG(1)), pinned, "allocation %lu failing: page 1", n);
		check_ptr(page_at(mm, THP_BASE + PG(3)), thp_pinned,
			  "allocation %lu failing: THP subpage 3", n);
		expect_tags(BASE, 2, 0x900, "the parent after a failed fork");
		check_eq(get_word(THP_BASE + PG(3), "THP"), 0x7003, "allocation %lu failing", n);
		check_eq(pinmm_check_invariants(), 0, "invariants, allocation %lu failing", n);
	}
	pinmm_hook_set("fork:copy_needs_page", NULL, NULL);
	check_eq(IS_ERR(child), false, "fork once allocations stop failing (N = %lu)", n);
	print_message("    fork allocates %lu pages; each of them failing failed it cleanly\n",
		      n - 1);
	check_true(copy_failed, "a copy's allocation failed in the sweep (N up to %lu)", n);
	children[0] = child;
	check_true(page_at(child, BASE + PG(1)) != pinned, "the child's copy of page 1");
	check_eq(remote_word(child, BASE + PG(1), "child"), 0x901, "the child's page 1");
	check_eq(remote_word(child, THP_BASE + PG(3), "child"), 0x7003, "the child's THP");
	put_word(BASE + PG(1), 0xa1, "the parent's write");
	check_eq(*device_word(pinned, 0), 0xa1, "the device sees the parent's write");
	unpin_user_page(pinned);
	unpin_user_page(thp_pinned);
	check_eq(pinmm_check_invariants(), 0, "invariants after the sweep");
}

/* ---- a GUP-fast pin racing with fork (mm->write_protect_seq) ---- */

struct fork_race {
	struct mm_struct *mm;
	bool walk_first; /* the fast walk starts before fork, and waits for it at its PTE read */
	atomic_int fork_waiting, pin_returned, walk_waiting;
	struct page *page;
	int ret;
};

/* The fast walk at "gup_fast:pte_read" (walk_first): it has read the sequence (even) and the
 * PTE; it waits until fork is in its window, then grabs. Its second read of the sequence sees
 * fork's bump. */
static void walk_waits_for_fork(const char *point, void *arg)
{
	struct fork_race *r = arg;

	(void)point;
	if (!atomic_exchange(&r->walk_waiting, 1))
		wait_flag(&r->fork_waiting, 5000);
}

/*
 * fork at "fork:pte_shared": it has decided to share the page (not pinned then) and has not yet
 * write-protected the parent's entry. It waits there, up to 300 ms, for the pinner's
 * pin_user_pages_fast() to return. Without the sequence check the fast walk pins right in this
 * window; with it (modern rules) the walk sees the sequence odd and its slow path waits for
 * fork's mmap lock, so the wait runs out and fork goes on first.
 */
static void fork_waits_for_the_pin(const char *point, void *arg)
{
	struct fork_race *r = arg;

	(void)point;
	if (!atomic_exchange(&r->fork_waiting, 1))
		wait_flag(&r->pin_returned, 300);
}

static void *fast_pinner(void *arg)
{
	struct fork_race *r = arg;

	kthread_use_mm(r->mm);
	if (r->walk_first || wait_flag(&r->fork_waiting, 5000))
		r->ret = pin_user_pages_fast(BASE, 1, FOLL_WRITE, &r->page);
	atomic_store(&r->pin_returned, 1);
	kthread_unuse_mm(r->mm);
	return NULL;
}

/*
 * A private page, not pinned, is being shared by fork when another thread pins it with
 * pin_user_pages_fast(FOLL_WRITE), in the window between fork's decision and its
 * write-protect of the parent's entry (forced with the race points). The walk starts either
 * after fork opened the window (it finds the sequence odd) or before (it grabs in the window
 * and finds the sequence changed). Then the parent writes. Modern rules: the fast walk backs
 * off, the slow path pins after fork (breaking COW for the parent), and the pinned page is the
 * one the parent writes to. 5.7: the pin lands in the window, fork shares the pinned page, and
 * the parent's write copies it away from the pin.
 */
static void fast_pin_racing_fork(struct mm_struct *mm, bool modern, bool walk_first)
{
	struct fork_race r = {.mm = mm, .walk_first = walk_first};
	char what[80];
	struct mm_struct *child;
	pthread_t thread;

	snprintf(what, sizeof(what), "%s: fast pin vs fork (%s)", modern ? "modern" : "5.7",
		 walk_first ? "the walk starts first" : "fork starts first");
	if (pinmm_hook_set("fork:pte_shared", fork_waits_for_the_pin, &r) == -EOPNOTSUPP) {
		skip(); /* built with HOOKS=0 */
		return;
	}
	if (walk_first)
		assert_int_equal(pinmm_hook_set("gup_fast:pte_read", walk_waits_for_fork, &r), 0);
	map(BASE, PG(1), RW, ANON | MAP_FIXED, "a page");
	put_word(BASE, 0x51, "a page");
	assert_int_equal(pthread_create(&thread, NULL, fast_pinner, &r), 0);
	if (walk_first)
		check_true(wait_flag(&r.walk_waiting, 5000), "%s: the walk read the PTE", what);
	child = fork_mm(mm, what);
	assert_int_equal(pthread_join(thread, NULL), 0);
	pinmm_hook_clear_all();
	check_eq(atomic_load(&r.fork_waiting), 1, "%s: fork reached fork:pte_shared", what);
	check_eq(r.ret, 1, "%s: pin_user_pages_fast()", what);
	if (r.ret != 1)
		return;
	put_word(BASE, 0x52, "the parent's write after fork");
	if (modern) {
		check_ptr(page_at(mm, BASE), r.page, "%s: the parent's page is the pinned one", what);
		check_eq(*device_word(r.page, 0), 0x52, "%s: the device sees the parent's write",
			 what);
	} else {
		check_true(page_at(mm, BASE) != r.page,
			   "%s: the parent's write copied the pinned page away", what);
		check_eq(*device_word(r.page, 0), 0x51, "%s: the device sees fork-time data",
			 what);
	}
	check_eq(remote_word(child, BASE, what), 0x51, "%s: the child's data", what);
	unpin_user_page(r.page);
	put_child(child);
	unmap(BASE, PG(1), what);
	check_eq(pinmm_check_invariants(), 0, "%s: invariants", what);
}

static void test_fast_pin_racing_fork_backs_off_modern(void **state)
{
	fast_pin_racing_fork(*state, true, false);
	fast_pin_racing_fork(*state, true, true);
}

static void test_fast_pin_racing_fork_lands_57(void **state)
{
	fast_pin_racing_fork(*state, false, false);
	fast_pin_racing_fork(*state, false, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T57(f) cmocka_unit_test_setup_teardown(f, setup_mm_57, teardown_fork)
#define TM(f) cmocka_unit_test_setup_teardown(f, setup_mm_modern, teardown_fork)
/* A test that runs under both rule sets, named for each. */
#define T57_NAMED(f) {#f "_5_7", f, setup_mm_57, teardown_fork, NULL}
#define TM_NAMED(f) {#f "_modern", f, setup_mm_modern, teardown_fork, NULL}
		T57_NAMED(test_has_pinned_set_by_the_first_pin_only),
		TM_NAMED(test_has_pinned_set_by_the_first_pin_only),
		T57_NAMED(test_has_pinned_set_by_the_slow_path),
		TM_NAMED(test_has_pinned_set_by_the_slow_path),
		TM(test_write_pin_survives_fork_modern),
		T57(test_write_pin_broken_by_fork_57),
		TM(test_read_pin_survives_fork_modern),
		T57(test_read_pin_broken_by_fork_57),
		TM(test_only_the_pinned_page_is_copied_modern),
		T57_NAMED(test_foll_get_reference_is_shared),
		TM_NAMED(test_foll_get_reference_is_shared),
		T57_NAMED(test_references_copied_only_once_the_mm_has_pinned),
		TM_NAMED(test_references_copied_only_once_the_mm_has_pinned),
		TM(test_pinned_thp_split_and_copied_modern),
		T57(test_pinned_thp_shared_57),
		TM(test_unpinned_thp_shared_by_pmd_modern),
		cmocka_unit_test_setup_teardown(test_pinned_hugetlb_copied_modern, setup_pool_modern,
						teardown_fork),
		cmocka_unit_test_setup_teardown(test_pinned_hugetlb_shared_57, setup_pool_57,
						teardown_fork),
		cmocka_unit_test_setup_teardown(test_pinned_hugetlb_empty_pool_modern,
						setup_pool1_modern, teardown_fork),
		cmocka_unit_test_setup_teardown(test_pinned_hugetlb_empty_pool_57, setup_pool1_57,
						teardown_fork),
		TM(test_fork_copy_enomem_modern),
		TM(test_fast_pin_racing_fork_backs_off_modern),
		T57(test_fast_pin_racing_fork_lands_57),
#undef T57
#undef TM
#undef T57_NAMED
#undef TM_NAMED
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
