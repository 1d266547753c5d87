/* SPDX-License-Identifier: MIT */
/*
 * Page flags and the page lock (page-flags.h, pagemap.h): Linux 5.7's bit numbers; every
 * accessor family (PageFoo/SetPageFoo/ClearPageFoo/__SetPageFoo/__ClearPageFoo and, for the
 * head-policy flags, TestSet/TestClear); head-policy flags set through a tail landing on the
 * head while per-page flags stay on the page; PageAnon from mapping bit 0; PageHead/PageTail/
 * PageCompound; PageBuddy on a free block's head vs an allocated page; trylock_page /
 * lock_page / unlock_page / wait_on_page_locked, including two threads contending for one
 * page lock around a non-atomic counter (run under TSan by `make check-tsan`).
 */
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "test_mm_util.h"

static unsigned long raw_flags(const struct page *page)
{
	return atomic_load(&page->flags);
}

/* Linux 5.7's bit numbers (include/linux/page-flags.h, x86-64). */
static void test_flag_bit_numbers(void **state)
{
	static const struct {
		const char *name;
		int value, linux_bit;
	} bits[] = {
		{"PG_locked", PG_locked, 0},         {"PG_referenced", PG_referenced, 1},
		{"PG_uptodate", PG_uptodate, 2},     {"PG_dirty", PG_dirty, 3},
		{"PG_lru", PG_lru, 4},               {"PG_active", PG_active, 5},
		{"PG_workingset", PG_workingset, 6}, {"PG_waiters", PG_waiters, 7},
		{"PG_error", PG_error, 8},           {"PG_slab", PG_slab, 9},
		{"PG_owner_priv_1", PG_owner_priv_1, 10}, {"PG_arch_1", PG_arch_1, 11},
		{"PG_reserved", PG_reserved, 12},    {"PG_private", PG_private, 13},
		{"PG_private_2", PG_private_2, 14},  {"PG_writeback", PG_writeback, 15},
		{"PG_head", PG_head, 16},            {"PG_mappedtodisk", PG_mappedtodisk, 17},
		{"PG_reclaim", PG_reclaim, 18},      {"PG_swapbacked", PG_swapbacked, 19},
		{"PG_unevictable", PG_unevictable, 20}, {"PG_mlocked", PG_mlocked, 21},
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		check_eq(bits[i].value, bits[i].linux_bit, "%s must be Linux's bit", bits[i].name);
	check_eq(PAGE_MAPPING_ANON, 1, "PAGE_MAPPING_ANON is bit 0 of mapping");
}

/* The accessors of one flag, whatever its policy. */
struct flag_ops {
	const char *name;
	int bit;
	bool head_policy; /* PF_HEAD: tails read and write the head's bit */
	bool (*test)(const struct page *);
	void (*set)(struct page *);
	void (*clear)(struct page *);
	void (*nonatomic_set)(struct page *);
	void (*nonatomic_clear)(struct page *);
	bool (*test_set)(struct page *);   /* NULL for PF_ANY flags, which have none */
	bool (*test_clear)(struct page *);
};

#define HEAD_FLAG(uname, lname)                                                                    \
	{#uname, PG_##lname, true, Page##uname, SetPage##uname, ClearPage##uname,                  \
	 __SetPage##uname, __ClearPage##uname, TestSetPage##uname, TestClearPage##uname}
#define ANY_FLAG(uname, lname)                                                                     \
	{#uname, PG_##lname, false, Page##uname, SetPage##uname, ClearPage##uname,                 \
	 __SetPage##uname, __ClearPage##uname, NULL, NULL}

static const struct flag_ops flags[] = {
	HEAD_FLAG(Locked, locked),
	HEAD_FLAG(Referenced, referenced),
	HEAD_FLAG(Uptodate, uptodate),
	HEAD_FLAG(Dirty, dirty),
	HEAD_FLAG(LRU, lru),
	HEAD_FLAG(Active, active),
	HEAD_FLAG(Workingset, workingset),
	HEAD_FLAG(Error, error),
	HEAD_FLAG(Writeback, writeback),
	HEAD_FLAG(MappedToDisk, mappedtodisk),
	HEAD_FLAG(Reclaim, reclaim),
	HEAD_FLAG(SwapBacked, swapbacked),
	HEAD_FLAG(Unevictable, unevictable),
	HEAD_FLAG(Mlocked, mlocked),
	ANY_FLAG(Reserved, reserved),
	ANY_FLAG(Private, private),
	ANY_FLAG(HWPoison, hwpoison),
	ANY_FLAG(Head, head),
};
#define NR_FLAG_OPS (sizeof(flags) / sizeof(flags[0]))

/* Every accessor of every flag, on an order-0 page: only its own bit ever changes. */
static void test_flag_accessors_on_order0_page(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(page);
	for (unsigned int i = 0; i < NR_FLAG_OPS; i++) {
		const struct flag_ops *f = &flags[i];
		unsigned long bit = 1UL << f->bit;

		check_eq(f->test(page), false, "Page%s on a fresh page", f->name);
		f->set(page);
		check_eq(f->test(page), true, "Page%s after SetPage%s", f->name, f->name);
		check_eq(raw_flags(page), bit, "flags after SetPage%s (only bit %d)", f->name,
			 f->bit);
		f->set(page);
		check_eq(raw_flags(page), bit, "SetPage%s twice", f->name);
		f->clear(page);
		check_eq(f->test(page), false, "Page%s after ClearPage%s", f->name, f->name);
		check_eq(raw_flags(page), 0, "flags after ClearPage%s", f->name);

		f->nonatomic_set(page);
		check_eq(raw_flags(page), bit, "flags after __SetPage%s", f->name);
		f->nonatomic_clear(page);
		check_eq(raw_flags(page), 0, "flags after __ClearPage%s", f->name);

		if (!f->test_set)
			continue;
		check_eq(f->test_set(page), false, "TestSetPage%s on a clear bit returns 0",
			 f->name);
		check_eq(f->test_set(page), true, "TestSetPage%s on a set bit returns 1", f->name);
		check_eq(raw_flags(page), bit, "flags after TestSetPage%s", f->name);
		check_eq(f->test_clear(page), true, "TestClearPage%s on a set bit returns 1",
			 f->name);
		check_eq(f->test_clear(page), false, "TestClearPage%s on a clear bit returns 0",
			 f->name);
		check_eq(raw_flags(page), 0, "flags after TestClearPage%s", f->name);
	}

	/* Other bits are left alone: set them all, clear one at a time. */
	for (unsigned int i = 0; i < NR_FLAG_OPS; i++)
		flags[i].set(page);
	for (unsigned int i = 0; i < NR_FLAG_OPS; i++) {
		unsigned long before = raw_flags(page);

		flags[i].clear(page);
		check_eq(raw_flags(page), before & ~(1UL << flags[i].bit),
			 "ClearPage%s with every other flag set", flags[i].name);
	}
	put_page(page);
}

/* On a tail page, head-policy flags read and write the head; per-page flags the tail. */
static void test_flags_through_a_tail(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	struct page *tail = head + 3;

	(void)state;
	assert_non_null(head);
	for (unsigned int i = 0; i < NR_FLAG_OPS; i++) {
		const struct flag_ops *f = &flags[i];
		unsigned long bit = 1UL << f->bit;
		unsigned long head_before = raw_flags(head);

		if (f->bit == PG_head)
			continue; /* the head already has it; checked below */
		f->set(tail);
		if (f->head_policy) {
			check_eq(raw_flags(head), head_before | bit,
				 "SetPage%s(tail) must set the bit on the head", f->name);
			check_eq(raw_flags(tail), 0, "SetPage%s(tail) must leave the tail's flags",
				 f->name);
			check_eq(f->test(tail), true, "Page%s(tail) reads the head", f->name);
			check_eq(f->test(head + 1), true, "Page%s(another tail) reads the head",
				 f->name);
		} else {
			check_eq(raw_flags(tail), bit, "SetPage%s(tail) sets the tail's own bit",
				 f->name);
			check_eq(raw_flags(head), head_before,
				 "SetPage%s(tail) must not touch the head", f->name);
			check_eq(f->test(head), false, "Page%s(head) after SetPage%s(tail)", f->name,
				 f->name);
		}
		f->clear(tail);
		check_eq(raw_flags(head), head_before, "ClearPage%s(tail): head flags back",
			 f->name);
		check_eq(raw_flags(tail), 0, "ClearPage%s(tail): tail flags back", f->name);

		if (f->test_set) {
			check_eq(f->test_set(head + 2), false, "TestSetPage%s(tail) on a clear head",
				 f->name);
			check_eq(f->test(head), true, "TestSetPage%s(tail) sets the head", f->name);
			check_eq(f->test_clear(head + 1), true,
				 "TestClearPage%s(other tail) returns the head's bit", f->name);
			check_eq(raw_flags(head), head_before, "TestClearPage%s(tail) clears the head",
				 f->name);
		}
	}
	check_eq(PageHead(head), true, "PageHead(head)");
	check_eq(PageHead(tail), false, "PageHead(tail): PG_head is per page");
	put_page(head);
}

static void test_head_tail_compound_predicates(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	struct page *plain = alloc_pages(GFP_KERNEL, 1); /* order 1 without __GFP_COMP */

	(void)state;
	assert_non_null(page);
	assert_non_null(head);
	assert_non_null(plain);
	check_eq(PageHead(page) || PageTail(page) || PageCompound(page), false,
		 "an order-0 page is neither head, tail nor compound");
	check_eq(PageHead(head) && !PageTail(head) && PageCompound(head), true,
		 "the head of an order-1 compound page");
	check_eq(!PageHead(head + 1) && PageTail(head + 1) && PageCompound(head + 1), true,
		 "the tail of an order-1 compound page");
	check_eq(PageCompound(plain) || PageCompound(plain + 1), false,
		 "an order-1 block allocated without __GFP_COMP is not compound");
	put_page(page);
	put_page(head);
	__free_pages(plain, 1);
}

static void test_page_anon(void **state)
{
	static long anon_vma_stand_in[4];
	struct page *page = alloc_page(GFP_KERNEL);
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);

	(void)state;
	assert_non_null(page);
	assert_non_null(head);
	check_eq(PageAnon(page), false, "NULL mapping is not anon");
	page->mapping = (struct address_space *)anon_vma_stand_in;
	check_eq(PageAnon(page), false, "a mapping pointer without bit 0 is a file mapping");
	page->mapping =
		(struct address_space *)((unsigned long)anon_vma_stand_in | PAGE_MAPPING_ANON);
	check_eq(PageAnon(page), true, "mapping with bit 0 set is anon");
	page->mapping = (struct address_space *)((unsigned long)anon_vma_stand_in | 2);
	check_eq(PageAnon(page), false, "bit 1 alone (a movable mapping) is not anon");
	page->mapping = NULL;

	head->mapping =
		(struct address_space *)((unsigned long)anon_vma_stand_in | PAGE_MAPPING_ANON);
	check_eq(PageAnon(head + 3), true, "PageAnon(tail) reads the head's mapping");
	head->mapping = NULL;
	check_eq(PageAnon(head + 3), false, "PageAnon(tail) once the head is not anon");
	put_page(page);
	put_page(head);
}

/*
 * PageBuddy marks the head of a free block, and only that. A MAX_ORDER - 1 block never merges
 * with anything when freed, so its first frame is a free block's head afterwards.
 */
static void test_page_buddy(void **state)
{
	struct page *block = alloc_pages(GFP_KERNEL, MAX_ORDER - 1);
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(block);
	assert_non_null(page);
	check_eq(PageBuddy(page), false, "an allocated order-0 page is not PageBuddy");
	check_eq(PageBuddy(block), false, "the head of an allocated block is not PageBuddy");
	check_eq(PageBuddy(block + 1), false, "a page inside an allocated block is not PageBuddy");

	__free_pages(block, MAX_ORDER - 1);
	check_eq(PageBuddy(block), true, "a freed MAX_ORDER - 1 block's head is PageBuddy");
	check_eq(page_ref_count(block), 0, "a free block's head has no reference");
	check_eq(PageBuddy(block + 1), false, "a page inside a free block is not its head");
	check_eq(PageBuddy(block + 512), false, "the middle of a free block is not its head");

	block = alloc_pages(GFP_KERNEL, MAX_ORDER - 1);
	assert_non_null(block);
	check_eq(PageBuddy(block), false, "a block allocated again is not PageBuddy");
	__free_pages(block, MAX_ORDER - 1);
	put_page(page);
}

static void test_trylock_unlock(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	unsigned long warns;

	(void)state;
	assert_non_null(page);
	assert_non_null(head);
	check_eq(trylock_page(page), true, "trylock_page on an unlocked page");
	check_eq(PageLocked(page), true, "PageLocked after trylock_page");
	check_eq(trylock_page(page), false, "trylock_page must fail while the page is locked");
	unlock_page(page);
	check_eq(PageLocked(page), false, "PageLocked after unlock_page");
	lock_page(page);
	check_eq(PageLocked(page), true, "lock_page on an unlocked page takes the lock");
	unlock_page(page);

	/* The lock of a compound page is its head's, whichever subpage is named. */
	check_eq(trylock_page(head + 2), true, "trylock_page(tail)");
	check_eq(PageLocked(head), true, "trylock_page(tail) locks the head");
	check_eq(trylock_page(head), false, "trylock_page(head) while locked through a tail");
	check_eq(trylock_page(head + 3), false, "trylock_page(other tail) while locked");
	unlock_page(head + 1);
	check_eq(PageLocked(head), false, "unlock_page(other tail) unlocks the head");

	warns = pinmm_warn_count();
	unlock_page(page);
	check_eq(pinmm_warn_count(), warns + 1, "unlock_page of an unlocked page must WARN");
	test_log_expect("unlock_page");
	check_eq(PageLocked(page), false, "a bad unlock_page leaves the page unlocked");
	check_eq(trylock_page(page), true, "the page can still be locked after a bad unlock");
	unlock_page(page);
	put_page(page);
	put_page(head);
}

#define LOCK_ROUNDS 20000

struct lock_contention {
	struct page *page[2]; /* what each thread names: the head and a tail */
	long counter;         /* plain long: only the page lock protects it */
};

struct lock_arg {
	struct lock_contention *c;
	int id;
};

static void *lock_loop(void *p)
{
	struct lock_arg *a = p;

	for (int i = 0; i < LOCK_ROUNDS; i++) {
		lock_page(a->c->page[a->id]);
		a->c->counter++;
		unlock_page(a->c->page[a->id]);
	}
	return NULL;
}

static void test_lock_page_contention(void **state)
{
	struct page *head = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	struct lock_contention c = {{head, head + 1}, 0};
	struct lock_arg args[2] = {{&c, 0}, {&c, 1}};
	unsigned long warns = pinmm_warn_count();
	pthread_t t[2];

	(void)state;
	assert_non_null(head);
	alarm(120); /* a lost wake-up is a failure, not a stuck suite */
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, lock_loop, &args[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	alarm(0);
	check_eq(c.counter, 2 * LOCK_ROUNDS,
		 "2 threads x %d non-atomic increments under lock_page", LOCK_ROUNDS);
	check_eq(PageLocked(head), false, "the page is unlocked after the threads");
	check_eq(pinmm_warn_count(), warns, "balanced lock/unlock never WARNs");
	put_page(head);
}

struct waiter {
	struct page *page;
	atomic_bool returned;
	bool locked_at_return;
};

static void *wait_unlocked(void *p)
{
	struct waiter *w = p;

	wait_on_page_locked(w->page);
	w->locked_at_return = PageLocked(w->page);
	atomic_store(&w->returned, true);
	return NULL;
}

static void test_wait_on_page_locked(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct waiter w = {.page = page};
	struct timespec pause = {0, 50 * 1000 * 1000};
	pthread_t t;

	(void)state;
	assert_non_null(page);
	/* Unlocked: returns at once, without taking the lock. */
	wait_on_page_locked(page);
	check_eq(PageLocked(page), false, "wait_on_page_locked must not take the lock");

	lock_page(page);
	alarm(120);
	assert_int_equal(pthread_create(&t, NULL, wait_unlocked, &w), 0);
	nanosleep(&pause, NULL);
	check_eq(atomic_load(&w.returned), false,
		 "wait_on_page_locked must not return while the page stays locked");
	unlock_page(page);
	assert_int_equal(pthread_join(t, NULL), 0);
	alarm(0);
	check_eq(atomic_load(&w.returned), true, "wait_on_page_locked returns after unlock");
	check_eq(w.locked_at_return, false, "the waiter saw the page unlocked");
	check_eq(PageLocked(page), false, "the waiter did not take the lock");
	put_page(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_bit_numbers),
		test_with_machine(test_flag_accessors_on_order0_page),
		test_with_machine(test_flags_through_a_tail),
		test_with_machine(test_head_tail_compound_predicates),
		test_with_machine(test_page_anon),
		test_with_machine(test_page_buddy),
		test_with_machine(test_trylock_unlock),
		test_with_machine(test_lock_page_contention),
		test_with_machine(test_wait_on_page_locked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
