/* SPDX-License-Identifier: MIT */
/*
 * The slow path's fault-and-retry loop (Linux 5.7's __get_user_pages(): follow_page_mask(),
 * faultin_page(), follow again). A mapped, accessible range never yields -EFAULT however
 * often another CPU takes the page away between the fault and the lookup: here a hook on the
 * race point "gup:faultin_page_done" has a second thread run MADV_DONTNEED on the page, many
 * more times than any fixed number of tries, and GUP must still return the page.
 *
 * And FOLL_FORCE writes into a PROT_NONE private page, the way a debugger pokes memory: in
 * the mapping's owner, in a forked child (whose entries fork installed old) and in the parent
 * after the fork, through pin_user_pages_remote() and access_remote_vm(). Linux serves them
 * with a private copy; the VMA stays PROT_NONE.
 */
#include <errno.h>
#include <pthread.h>

#include "gup_conformance.h"

/* ---- the retry loop under contention ---- */

struct zapper {
	struct mm_struct *mm;
	unsigned long addr;
	int left; /* zaps still to do */
	int done; /* zaps done */
	int err;  /* the first do_madvise() error */
};

static void *zap_thread(void *arg)
{
	struct zapper *z = arg;
	int ret = do_madvise(z->mm, z->addr, PAGE_SIZE, MADV_DONTNEED);

	if (ret && !z->err)
		z->err = ret;
	return NULL;
}

/* After each served fault, another CPU unmaps the page again (left times). */
static void zap_hook(const char *point, void *arg)
{
	struct zapper *z = arg;
	pthread_t t;

	(void)point;
	if (z->left <= 0)
		return;
	z->left--;
	if (pthread_create(&t, NULL, zap_thread, z)) {
		z->err = -EAGAIN;
		return;
	}
	pthread_join(t, NULL);
	z->done++;
}

static void contended(struct mm_struct *mm, unsigned int gup_flags, bool pin, int zaps)
{
	const char *what = pin ? "pin_user_pages" : "get_user_pages";
	unsigned long addr = map(0, PG(1), RW, ANON, what);
	struct zapper z = {.mm = mm, .addr = addr, .left = zaps};
	struct page *page = NULL;
	long ret;

	put_word(addr, 0x5a5a, what);
	assert_int_equal(pinmm_hook_set("gup:faultin_page_done", zap_hook, &z), 0);
	/* The first lookup finds the page; zap it once so that the loop starts with a fault. */
	assert_int_equal(do_madvise(mm, addr, PAGE_SIZE, MADV_DONTNEED), 0);
	mmap_read_lock(mm);
	ret = pin ? pin_user_pages(addr, 1, gup_flags, &page)
		  : get_user_pages(addr, 1, gup_flags, &page);
	mmap_read_unlock(mm);
	pinmm_hook_clear_all();
	check_eq(z.err, 0, "%s flags %#x: MADV_DONTNEED from the hook", what, gup_flags);
	check_eq(ret, 1, "%s flags %#x on a mapped page zapped %d times after its faults", what,
		 gup_flags, zaps);
	check_eq(z.done, zaps, "%s flags %#x: zaps done between fault and lookup", what,
		 gup_flags);
	if (ret == 1) {
		/* A read fault maps the zero page, which page_at() does not report. */
		if (gup_flags & FOLL_WRITE)
			check_ptr(page, page_at(mm, addr),
				  "%s flags %#x: the page GUP returned is mapped", what, gup_flags);
		else
			check_true(is_zero_pfn(page_to_pfn(page)),
				   "%s flags %#x: a read of an untouched page gives the zero page",
				   what, gup_flags);
		if (pin)
			unpin_user_page(page);
		else
			put_page(page);
	}
	unmap(addr, PG(1), what);
}

static void test_retry_is_not_capped(void **state)
{
	struct mm_struct *mm = *state;

	contended(mm, FOLL_WRITE, true, 50);
	contended(mm, 0, true, 50);
	contended(mm, FOLL_WRITE, false, 50);
	contended(mm, 0, false, 50);
}

/* Contention that ends by itself is not an error, however long it lasts. */
static void test_retry_many_times(void **state)
{
	contended(*state, FOLL_WRITE, true, 1000);
}

/* A range that is not mapped still fails at once, hook or not. */
static void test_unmapped_still_efault(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "unmapped");
	struct page *page = NULL;
	long ret;

	unmap(addr, PG(2), "unmapped");
	mmap_read_lock(mm);
	ret = pin_user_pages(addr, 1, FOLL_WRITE, &page);
	mmap_read_unlock(mm);
	check_eq(ret, -EFAULT, "pin_user_pages of an unmapped address");
}

/* ---- FOLL_FORCE writes into PROT_NONE private pages ---- */

#define POKE 0xdeb6ULL

/* Poke one word into mm at addr with FOLL_FORCE, through GUP and through access_remote_vm. */
static void force_write(struct mm_struct *mm, unsigned long addr, const char *who)
{
	unsigned long val = POKE, got = 0;
	struct page *pages[2] = {NULL, NULL};
	long ret;
	int n;

	n = access_remote_vm(mm, addr, &val, sizeof(val), FOLL_WRITE | FOLL_FORCE);
	check_eq(n, sizeof(val), "%s: access_remote_vm(FOLL_WRITE | FOLL_FORCE) into PROT_NONE",
		 who);
	n = access_remote_vm(mm, addr, &got, sizeof(got), FOLL_FORCE);
	check_eq(n, sizeof(got), "%s: access_remote_vm(FOLL_FORCE) read back", who);
	check_eq(got, POKE, "%s: the word read back", who);

	mmap_read_lock(mm);
	ret = pin_user_pages_remote(mm, addr, 2, FOLL_WRITE | FOLL_FORCE, pages, NULL);
	mmap_read_unlock(mm);
	check_eq(ret, 2, "%s: pin_user_pages_remote(FOLL_WRITE | FOLL_FORCE) of 2 PROT_NONE pages",
		 who);
	for (long i = 0; i < ret; i++) {
		check_true(page_maybe_dma_pinned(pages[i]), "%s: the forced write pin of page %ld",
			   who, i);
		unpin_user_page(pages[i]);
	}
}

/* Two private pages written with tag, then made PROT_NONE. */
static unsigned long protnone_pages(unsigned long tag)
{
	unsigned long addr = map(0, PG(2), RW, ANON, "PROT_NONE pages");

	tag_pages(addr, 2, tag, "PROT_NONE pages");
	assert_int_equal(vm_mprotect(addr, PG(2), PROT_NONE), 0);
	return addr;
}

static void test_force_write_protnone_no_fork(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = protnone_pages(0x100);

	force_write(mm, addr, "no fork");
	unmap(addr, PG(2), "no fork");
}

static void test_force_write_protnone_child(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long addr = protnone_pages(0x200), got = 0;

	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	force_write(child, addr, "forked child");
	/* The child's write made its own copy: the parent's page is untouched. */
	check_eq(access_remote_vm(mm, addr, &got, sizeof(got), FOLL_FORCE), sizeof(got),
		 "forked child: parent read");
	check_eq(got, 0x200, "forked child: the parent's word after the child's poke");
	mmput(child);
	unmap(addr, PG(2), "forked child");
}

static void test_force_write_protnone_parent_after_fork(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long addr = protnone_pages(0x300), got = 0;

	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	force_write(mm, addr, "parent after fork");
	check_eq(access_remote_vm(child, addr, &got, sizeof(got), FOLL_FORCE), sizeof(got),
		 "parent after fork: child read");
	check_eq(got, 0x300, "parent after fork: the child's word after the parent's poke");
	mmput(child);
	unmap(addr, PG(2), "parent after fork");
}

/* ---- FOLL_FORCE writes that need a COW: each ends, on small pages and THPs ---- */

struct force_case {
	const char *name;
	unsigned long len;
	int prot;
	bool fork;
};

/* Run in a child with an alarm: a fault-and-retry loop that never ends fails the test. */
static int force_write_case(void *arg)
{
	const struct force_case *c = arg;
	struct mm_struct *mm = current_mm(), *child = NULL;
	unsigned long addr = map(0, c->len, RW, ANON, c->name);
	struct page *pages[2] = {NULL, NULL};
	unsigned long off = c->len - PG(2);
	long ret;

	tag_pages(addr, (unsigned int)(c->len / PAGE_SIZE), 0x700, c->name);
	if (c->len >= 2 * SZ_2M) {
		/* Inside the 2 MiB-aligned block, which the writes above made a THP. */
		off = ((addr + SZ_2M - 1) & ~(SZ_2M - 1)) - addr + PG(10);
		check_eq(pt_walk(mm, addr + off).level, LEAF_PMD, "%s: a THP is mapped", c->name);
	}
	check_eq(vm_mprotect(addr, c->len, (unsigned long)c->prot), 0, "%s: mprotect", c->name);
	if (c->fork) {
		child = pinmm_fork(mm);
		check_true(!IS_ERR(child), "%s: fork", c->name);
	}
	mmap_read_lock(mm);
	ret = pin_user_pages_remote(mm, addr + off, 2, FOLL_WRITE | FOLL_FORCE, pages, NULL);
	mmap_read_unlock(mm);
	check_eq(ret, 2, "%s: pin_user_pages_remote(FOLL_WRITE | FOLL_FORCE)", c->name);
	unpin_user_pages(pages, 2);
	if (child)
		mmput(child);
	unmap(addr, c->len, c->name);
	return 0;
}

static void test_force_write_cow_ends(void **state)
{
	static const struct force_case cases[] = {
		{"PROT_READ small pages", PG(4), PROT_READ, false},
		{"PROT_READ small pages after fork", PG(4), PROT_READ, true},
		{"PROT_READ THP", 2 * SZ_2M, PROT_READ, false},
		{"PROT_READ THP after fork", 2 * SZ_2M, PROT_READ, true},
		{"PROT_NONE THP", 2 * SZ_2M, PROT_NONE, false},
		{"PROT_NONE THP after fork", 2 * SZ_2M, PROT_NONE, true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_forked(cases[i].name, force_write_case, (void *)&cases[i], 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_retry_is_not_capped),
		test_with_mm(test_retry_many_times),
		test_with_mm(test_unmapped_still_efault),
		test_with_mm(test_force_write_protnone_no_fork),
		test_with_mm(test_force_write_protnone_child),
		test_with_mm(test_force_write_protnone_parent_after_fork),
		test_with_mm(test_force_write_cow_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
