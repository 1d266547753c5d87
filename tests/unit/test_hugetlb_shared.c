/* SPDX-License-Identifier: MIT */
/*
 * Shared hugetlb mappings: MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB and MAP_SHARED mappings of a
 * hugetlb_file_setup() file (hugetlbfs / memfd(MFD_HUGETLB) in Linux). Their pages live in the
 * file's page cache: shared across fork (no copy-on-write) and across mappings of the same
 * file, reserved at setup / mmap (HugePages_Rsvd), given back to the pool at the last fput();
 * GUP (slow and fast, get and pin, FOLL_LONGTERM) returns the file's pages with exact pin
 * counts. Threads faulting the same pages at once get one page per index and exact
 * reservation counts (shared and private mappings). And the errors: setup's arguments, a pool
 * too small, MAP_PRIVATE of a hugetlb file, ftruncate.
 *
 * The machine: 4 GiB with four 2 MiB pool pages and one 1 GiB pool page.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "test_mm_util.h"

#define HUGE_SHARED (MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB)
#define NR_2M 4
#define NR_1G 1

static struct mm_struct *child_left;

static int setup_pools(void **state)
{
	return boot_with_hugetlb_pools(state, NR_2M, NR_1G);
}

static int teardown_shared(void **state)
{
	return teardown_mm_and_child(state, &child_left);
}

static struct hstate *h2m(void)
{
	return size_to_hstate(SZ_2M);
}

static void expect_pool(unsigned long nr_free_huge, unsigned long rsvd, const char *what)
{
	check_eq(h2m()->free_huge_pages, nr_free_huge, "%s: free_huge_pages", what);
	check_eq(h2m()->resv_huge_pages, rsvd, "%s: resv_huge_pages", what);
}

static struct page *huge_head_at(struct mm_struct *mm, unsigned long addr)
{
	struct leaf l = pt_walk(mm, addr);

	if (l.level != LEAF_PMD && l.level != LEAF_PUD)
		return NULL;
	return pfn_to_page((l.entry & PTE_PFN_MASK) >> PAGE_SHIFT);
}

/* ---- MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB ---- */

static void test_anon_shared_across_fork(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long a = map(0, 2 * SZ_2M, RW, HUGE_SHARED, "shared hugetlb"), val = 0;
	struct page *head;

	expect_pool(NR_2M, 2, "mmap reserved both pages");
	put_word(a, 0x11, "parent writes page 0");
	head = huge_head_at(mm, a);
	check_true(head && PageHuge(head), "page 0 is a hugetlb page");
	check_true(!PageAnon(head), "a shared hugetlb page is a file page");
	expect_pool(NR_2M - 1, 1, "page 0 took its reservation");

	child_left = child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	expect_pool(NR_2M - 1, 1, "fork takes nothing");
	remote_put_word(child, a + 8, 0x22, "child writes page 0");
	check_ptr(huge_head_at(child, a), head, "the child maps the same page (no COW)");
	check_eq(get_word(a + 8, "parent"), 0x22, "the parent sees the child's write");
	remote_put_word(child, a + SZ_2M, 0x33, "child faults page 1");
	check_eq(get_word(a + SZ_2M, "parent"), 0x33, "the parent sees the child's page 1");
	check_ptr(huge_head_at(mm, a + SZ_2M), huge_head_at(child, a + SZ_2M),
		  "page 1 is one page in both");
	expect_pool(NR_2M - 2, 0, "both pages from their reservations");

	unmap(a, 2 * SZ_2M, "parent unmaps");
	expect_pool(NR_2M - 2, 0, "the child still maps the file's pages");
	check_true(access_remote_vm(child, a, &val, sizeof(val), 0) == sizeof(val),
		   "child read after the parent's munmap");
	check_eq(val, 0x11, "the child's page 0");
	mmput(child);
	child_left = NULL;
	expect_pool(NR_2M, 0, "the last mapping gone: pages and reservations back");
}

static void test_anon_shared_errors(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a;

	check_eq((long)vm_mmap(NULL, 0, (NR_2M + 1) * SZ_2M, RW, HUGE_SHARED, 0), -ENOMEM,
		 "shared hugetlb larger than the pool");
	check_eq(mm->nr_vmas, 0, "the refused mmap left no VMA");
	expect_pool(NR_2M, 0, "the refused mmap reserved nothing");
	a = map(0, (NR_2M + 1) * SZ_2M, RW, HUGE_SHARED | MAP_NORESERVE,
		"MAP_NORESERVE larger than the pool");
	expect_pool(NR_2M, 0, "MAP_NORESERVE reserved nothing");
	for (unsigned int i = 0; i < NR_2M; i++)
		put_word(a + i * SZ_2M, i, "MAP_NORESERVE faults the pool dry");
	check_eq(copy_to_user(a + NR_2M * SZ_2M, &a, sizeof(a)), sizeof(a),
		 "a fault past the pool (SIGBUS)");
	unmap(a, (NR_2M + 1) * SZ_2M, "MAP_NORESERVE");
	expect_pool(NR_2M, 0, "everything back");
}

/* ---- hugetlb_file_setup() files ---- */

static void test_file_mapped_twice_and_in_another_mm(void **state)
{
	struct mm_struct *mm = *state, *other;
	struct file *file = hugetlb_file_setup("memfd:test", 2 * SZ_2M, 0, 0);
	unsigned long a, b;

	assert_false(IS_ERR(file));
	check_true(is_file_hugepages(file), "hugetlb_file_setup() gives a hugetlb file");
	expect_pool(NR_2M, 2, "setup reserved the file's pages");
	a = vm_mmap(file, 0, 2 * SZ_2M, RW, MAP_SHARED, 0);
	b = vm_mmap(file, 0, SZ_2M, RW, MAP_SHARED, 1UL << (21 - PAGE_SHIFT));
	check_true(!IS_ERR_VALUE(a) && !IS_ERR_VALUE(b), "two mappings of the file");
	expect_pool(NR_2M, 2, "mmap reserves nothing the file holds already");
	put_word(a + SZ_2M + 16, 0x44, "write page 1 through the first mapping");
	check_eq(get_word(b + 16, "second mapping"), 0x44, "the second mapping sees page 1");
	check_ptr(huge_head_at(mm, a + SZ_2M), huge_head_at(mm, b), "one page, two mappings");
	expect_pool(NR_2M - 1, 1, "page 1 from its reservation");

	/* Another mm maps the same file. */
	other = mm_alloc();
	assert_non_null(other);
	kthread_unuse_mm(mm);
	kthread_use_mm(other);
	{
		unsigned long c = vm_mmap(file, 0, 2 * SZ_2M, PROT_READ, MAP_SHARED, 0);

		check_true(!IS_ERR_VALUE(c), "a mapping in another mm");
		check_eq(get_word(c + SZ_2M + 16, "other mm"), 0x44, "the other mm sees page 1");
		check_ptr(huge_head_at(other, c + SZ_2M), huge_head_at(mm, b),
			  "the other mm maps the same page");
		check_eq(vm_munmap(c, 2 * SZ_2M), 0, "munmap in the other mm");
	}
	kthread_unuse_mm(other);
	mmput(other);
	kthread_use_mm(mm);

	check_eq(pinmm_check_invariants(), 0, "the machine's invariants with a hugetlb file mapped");
	unmap(a, 2 * SZ_2M, "first mapping");
	unmap(b, SZ_2M, "second mapping");
	expect_pool(NR_2M - 1, 1, "the file keeps its page and its reservation");
	check_eq(pinmm_check_invariants(), 0, "the machine's invariants with a hugetlb file cached");
	check_eq(vfs_truncate(file, 0), -EINVAL, "ftruncate of a hugetlb file");
	check_eq((long)vm_mmap(file, 0, SZ_2M, RW, MAP_PRIVATE, 0), -EINVAL,
		 "MAP_PRIVATE of a hugetlb file");
	check_eq((long)vm_mmap(file, 0, SZ_2M, RW, MAP_SHARED, 1), -EINVAL,
		 "a hugetlb file at an offset not huge-page aligned");
	fput(file);
	expect_pool(NR_2M, 0, "the last fput gave the page and the reservation back");
}

static void test_file_setup_errors(void **state)
{
	struct file *f;

	(void)state;
	check_eq(PTR_ERR(hugetlb_file_setup(NULL, SZ_2M, 0, 0)), -EINVAL, "NULL name");
	check_eq(PTR_ERR(hugetlb_file_setup("f", 0, 0, 0)), -EINVAL, "size 0");
	check_eq(PTR_ERR(hugetlb_file_setup("f", SZ_2M, 0, 12)), -EINVAL, "4 KiB pages");
	check_eq(PTR_ERR(hugetlb_file_setup("f", (NR_2M + 1) * SZ_2M, 0, 21)), -ENOMEM,
		 "larger than the pool");
	expect_pool(NR_2M, 0, "refused setups reserved nothing");
	f = hugetlb_file_setup("f", (NR_2M + 1) * SZ_2M, VM_NORESERVE, 21);
	check_true(!IS_ERR(f), "VM_NORESERVE larger than the pool");
	if (!IS_ERR(f)) {
		check_eq(i_size_read(f->f_mapping), (NR_2M + 1) * SZ_2M, "its size");
		fput(f);
	}
	f = hugetlb_file_setup("f", 1, 0, 0);
	check_true(!IS_ERR(f), "one byte");
	if (!IS_ERR(f)) {
		check_eq(i_size_read(f->f_mapping), SZ_2M, "one byte rounds up to a huge page");
		expect_pool(NR_2M, 1, "the rounded-up page is reserved");
		fput(f);
	}
	expect_pool(NR_2M, 0, "everything returned");
}

static void test_1g_shared(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long a = map(0, SZ_1G, RW, HUGE_SHARED | MAP_HUGE_1GB, "1 GiB shared");
	struct hstate *h = size_to_hstate(SZ_1G);

	check_eq(h->resv_huge_pages, 1, "1 GiB reserved");
	put_word(a + SZ_1G - 8, 0x55, "write the 1 GiB page's last word");
	check_eq(pt_walk(mm, a).level, LEAF_PUD, "mapped by a PUD leaf");
	child_left = child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	check_eq(remote_word(child, a + SZ_1G - 8, "child"), 0x55, "the child sees it");
	mmput(child);
	child_left = NULL;
	unmap(a, SZ_1G, "1 GiB shared");
	check_eq(h->free_huge_pages, NR_1G, "the 1 GiB page back");
	check_eq(h->resv_huge_pages, 0, "no 1 GiB reservation left");
}

/* ---- GUP ---- */

static void expect_pins(struct page *head, int pins, const char *what)
{
	check_eq(compound_pincount(head), pins, "%s: compound_pincount", what);
	check_eq(page_maybe_dma_pinned(head), pins > 0, "%s: page_maybe_dma_pinned", what);
}

static void test_gup_on_shared_hugetlb(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long a = map(0, SZ_2M, RW, HUGE_SHARED, "shared hugetlb for GUP");
	struct page *pages[4], *head;
	long acquired = nr_acquired();
	int ref;
	long n;

	put_word(a, 1, "fault the page in");
	head = huge_head_at(mm, a);
	ref = page_ref_count(head);

	mmap_read_lock(mm);
	n = pin_user_pages(a + PG(3), 2, FOLL_WRITE, pages);
	mmap_read_unlock(mm);
	check_eq(n, 2, "pin_user_pages of a shared hugetlb page");
	check_ptr(pages[0], head + 3, "the slow path gives the file's subpage");
	expect_pins(head, 2, "two slow-path pins");
	check_eq(pin_user_pages_fast(a + PG(5), 2, FOLL_WRITE | FOLL_LONGTERM, pages + 2), 2,
		 "pin_user_pages_fast(FOLL_LONGTERM)");
	check_ptr(pages[2], head + 5, "the fast path gives the file's subpage");
	expect_pins(head, 4, "four pins");
	check_eq(nr_acquired() - acquired, 4, "nr_foll_pin_acquired");

	/* The child maps the same page: a pin through it counts on the same head. */
	child_left = child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	{
		struct page *cp = NULL;

		mmap_read_lock(child);
		n = pin_user_pages_remote(child, a, 1, FOLL_WRITE, &cp, NULL);
		mmap_read_unlock(child);
		check_eq(n, 1, "pin_user_pages_remote in the child");
		check_ptr(cp, head, "the child's pin is on the same page");
		expect_pins(head, 5, "five pins");
		unpin_user_page(cp);
	}
	mmput(child);
	child_left = NULL;
	unpin_user_pages(pages, 4);
	expect_pins(head, 0, "all unpinned");
	check_eq(page_ref_count(head), ref, "the refcount is back");

	check_eq(get_user_pages_fast(a + PG(7), 1, 0, pages), 1, "get_user_pages_fast");
	check_ptr(pages[0], head + 7, "get_user_pages_fast gives the file's subpage");
	check_eq(page_ref_count(head), ref + 1, "a get is one reference");
	put_page(pages[0]);
	mmap_read_lock(mm);
	n = get_user_pages(a, 1, FOLL_WRITE, pages);
	mmap_read_unlock(mm);
	check_eq(n, 1, "get_user_pages");
	put_page(pages[0]);
	check_eq(page_ref_count(head), ref, "the refcount is back after gets");
	unmap(a, SZ_2M, "shared hugetlb for GUP");
	expect_pool(NR_2M, 0, "the page went back to the pool");
}

/* ---- a hugetlb file outlives its machine ---- */

/* Its last fput() after a reboot gives nothing to the new machine's pool: its reservations
 * and pages were the old machine's. */
static void test_file_outlives_its_machine(void **state)
{
	struct pinmm_config cfg;
	struct mm_struct *mm;
	struct file *file;
	unsigned long addr;
	char *log;

	(void)state;
	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_2m = NR_2M;
	assert_int_equal(boot_with(&cfg), 0);
	mm = mm_alloc();
	kthread_use_mm(mm);
	file = hugetlb_file_setup("kept", 2 * SZ_2M, 0, 0);
	assert_false(IS_ERR(file));
	addr = vm_mmap(file, 0, 2 * SZ_2M, RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	put_word(addr, 0x66, "hugetlb file across shutdown");
	unmap(addr, 2 * SZ_2M, "hugetlb file across shutdown");
	expect_pool(NR_2M - 1, 1, "one page faulted, one reserved");
	kthread_unuse_mm(mm);
	mmput(mm);
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown with a hugetlb file still open");
	log = test_log_take();
	free(log);

	assert_int_equal(pinmm_boot(&cfg), 0);
	expect_pool(NR_2M, 0, "the new machine's pool");
	fput(file);
	expect_pool(NR_2M, 0, "fput() of the old machine's hugetlb file left the new pool alone");
	log_clear();
	assert_int_equal(shutdown_clean(NULL), 0);
}

/* ---- concurrent faults: one page per index, reservations exact ---- */

struct faulter {
	struct mm_struct *mm;
	unsigned long addr, len;
	unsigned int id;
	int err;
};

static void *fault_all(void *arg)
{
	struct faulter *f = arg;

	kthread_use_mm(f->mm);
	for (unsigned long off = 0; off < f->len; off += SZ_2M) {
		unsigned long val = f->id;

		if (copy_to_user(f->addr + off + 8 * f->id, &val, sizeof(val)))
			f->err = -EFAULT;
	}
	kthread_unuse_mm(f->mm);
	return NULL;
}

static void concurrent_faults(struct mm_struct *mm, unsigned long flags, const char *what)
{
	enum { THREADS = 4 };
	unsigned long a = map(0, NR_2M * SZ_2M, RW, flags, what);
	struct faulter f[THREADS];
	pthread_t t[THREADS];

	for (unsigned int i = 0; i < THREADS; i++) {
		f[i] = (struct faulter){.mm = mm, .addr = a, .len = NR_2M * SZ_2M, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, fault_all, &f[i]), 0);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		check_eq(f[i].err, 0, "%s: thread %u's writes", what, i);
	}
	expect_pool(0, 0, what);
	for (unsigned long off = 0; off < NR_2M * SZ_2M; off += SZ_2M)
		for (unsigned int i = 0; i < THREADS; i++)
			check_eq(get_word(a + off + 8 * i, what), i,
				 "%s: thread %u's word in huge page %lu", what, i, off / SZ_2M);
	unmap(a, NR_2M * SZ_2M, what);
	expect_pool(NR_2M, 0, what);
}

static void test_concurrent_faults(void **state)
{
	concurrent_faults(*state, HUGE_SHARED, "4 threads fault a shared hugetlb mapping");
	concurrent_faults(*state, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
			  "4 threads fault a private hugetlb mapping");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_pools, teardown_shared)
	const struct CMUnitTest tests[] = {
		T(test_anon_shared_across_fork),
		T(test_anon_shared_errors),
		T(test_file_mapped_twice_and_in_another_mm),
		T(test_file_setup_errors),
		T(test_1g_shared),
		T(test_gup_on_shared_hugetlb),
		T(test_concurrent_faults),
		cmocka_unit_test_teardown(test_file_outlives_its_machine, teardown_any),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
