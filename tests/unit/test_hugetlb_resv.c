/* SPDX-License-Identifier: MIT */
/*
 * hugetlb reservations (Linux 5.7's hugetlb_reserve_pages() / alloc_huge_page()): a MAP_HUGETLB
 * mapping reserves its pages at mmap and fails there (-ENOMEM) when the pool cannot promise
 * them; HugePages_Rsvd (hstate->resv_huge_pages) counts the reserved pages not yet faulted;
 * only the process that called mmap holds reservations, so a forked child's faults and
 * copies take only unreserved pages (SIGBUS when there are none), while the owner's reserved
 * pages stay its own and its copy-on-write takes the page back from the child when the pool is
 * empty; munmap returns the reservations never consumed. MAP_NORESERVE reserves nothing.
 *
 * The machine: 4 GiB with four 2 MiB pool pages (one test boots without a pool).
 */
#include <errno.h>
#include <unistd.h>

#include "test_mm_util.h"

#define HUGE_ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
#define NR_2M 4

static struct mm_struct *child_left;

static int setup_pool(void **state)
{
	return boot_with_hugetlb_pools(state, NR_2M, 0);
}

static int setup_no_pool(void **state)
{
	return boot_with_hugetlb_pools(state, 0, 0);
}

static int teardown_resv(void **state)
{
	return teardown_mm_and_child(state, &child_left);
}

static struct hstate *h2m(void)
{
	return size_to_hstate(SZ_2M);
}

/* Check HugePages_Free and HugePages_Rsvd, in the hstate and in pinmm_hugetlb_report(). */
static void expect_pool(unsigned long nr_free_huge, unsigned long rsvd, const char *what)
{
	char line[64], *report = printed(pinmm_hugetlb_report);

	check_eq(h2m()->free_huge_pages, nr_free_huge, "%s: free_huge_pages", what);
	check_eq(h2m()->resv_huge_pages, rsvd, "%s: resv_huge_pages", what);
	snprintf(line, sizeof(line), "HugePages_Rsvd:    %5lu\nHugepagesize:       2048 kB", rsvd);
	if (!strstr(report, line))
		test_fail("%s: the report should contain \"%s\"; it was:\n%s", what, line, report);
	free(report);
}

static unsigned long map_huge(unsigned long len, unsigned long extra, const char *what)
{
	return map(0, len, RW, HUGE_ANON | extra, what);
}

static long try_map_huge(unsigned long len, unsigned long extra)
{
	return (long)vm_mmap(NULL, 0, len, RW, HUGE_ANON | extra, 0);
}

static struct page *huge_head_at(struct mm_struct *mm, unsigned long addr)
{
	struct leaf l = pt_walk(mm, addr);

	if (l.level != LEAF_PMD)
		return NULL;
	return pfn_to_page((l.entry & PTE_PFN_MASK) >> PAGE_SHIFT);
}

/* ---- mmap-time reservation ---- */

static void test_no_pool_fails_at_mmap(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr;

	check_eq(try_map_huge(SZ_2M, 0), -ENOMEM, "MAP_HUGETLB with no pool");
	check_eq(mm->nr_vmas, 0, "the refused mmap left no VMA");
	addr = map_huge(SZ_2M, MAP_NORESERVE, "MAP_HUGETLB | MAP_NORESERVE with no pool");
	check_eq(copy_to_user(addr, &addr, sizeof(addr)), sizeof(addr),
		 "a fault of the MAP_NORESERVE mapping with no pool (SIGBUS)");
	unmap(addr, SZ_2M, "MAP_NORESERVE with no pool");
	expect_pool(0, 0, "no pool");
}

static void test_more_than_pool_fails_at_mmap(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a, b;

	check_eq(try_map_huge((NR_2M + 1) * SZ_2M, 0), -ENOMEM, "mmap of pool + 1 huge pages");
	check_eq(mm->nr_vmas, 0, "the refused mmap left no VMA");
	expect_pool(NR_2M, 0, "after the refused mmap");

	a = map_huge(3 * SZ_2M, 0, "A: 3 of 4");
	expect_pool(NR_2M, 3, "A reserved 3");
	check_eq(try_map_huge(2 * SZ_2M, 0), -ENOMEM, "B: 2 more with 1 unreserved");
	b = map_huge(SZ_2M, 0, "B: the last one");
	expect_pool(NR_2M, 4, "A and B reserved the pool");
	check_eq(try_map_huge(SZ_2M, 0), -ENOMEM, "C with everything reserved");

	/* Nobody else may take a reserved page: an unreserved fault is SIGBUS. */
	{
		unsigned long c = map_huge(SZ_2M, MAP_NORESERVE, "C, MAP_NORESERVE");

		check_eq(copy_to_user(c, &c, sizeof(c)), sizeof(c),
			 "fault of an unreserved mapping when every free page is reserved");
		check_true(dequeue_huge_page(h2m()) == NULL,
			   "dequeue_huge_page() when every free page is reserved");
		unmap(c, SZ_2M, "C");
	}
	put_word(a + SZ_2M, 1, "A's second page");
	expect_pool(NR_2M - 1, 3, "A's fault took its reservation");
	unmap(a, 3 * SZ_2M, "A");
	unmap(b, SZ_2M, "B");
	expect_pool(NR_2M, 0, "everything unmapped");
}

static void test_munmap_returns_unused_reservations(void **state)
{
	unsigned long a = map_huge(3 * SZ_2M, 0, "3 pages");

	(void)state;
	put_word(a, 7, "page 0");
	expect_pool(NR_2M - 1, 2, "page 0 faulted");
	unmap(a + 2 * SZ_2M, SZ_2M, "page 2 (never faulted)");
	expect_pool(NR_2M - 1, 1, "page 2's reservation returned");
	unmap(a, SZ_2M, "page 0 (faulted)");
	expect_pool(NR_2M, 1, "page 0 back in the pool, its reservation long consumed");
	unmap(a + SZ_2M, SZ_2M, "page 1 (never faulted)");
	expect_pool(NR_2M, 0, "page 1's reservation returned");
}

/* A split keeps the reservations with the range they belong to. */
static void test_split_keeps_reservations(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map_huge(4 * SZ_2M, 0, "4 pages");

	check_eq(vm_mprotect(a + SZ_2M, SZ_2M, PROT_READ), 0, "mprotect splits the VMA");
	check_eq(mm->nr_vmas, 3, "three VMAs");
	expect_pool(NR_2M, 4, "the split moved no reservation");
	put_word(a + 3 * SZ_2M, 3, "page 3");
	expect_pool(NR_2M - 1, 3, "page 3 took its reservation");
	unmap(a + 2 * SZ_2M, 2 * SZ_2M, "pages 2 and 3");
	expect_pool(NR_2M, 2, "page 2's reservation returned, page 3's consumed");
	unmap(a, 2 * SZ_2M, "pages 0 and 1");
	expect_pool(NR_2M, 0, "everything returned");
}

/* ---- the owner and the child ---- */

static bool child_write(struct mm_struct *child, unsigned long addr, unsigned long val)
{
	return access_remote_vm(child, addr, &val, sizeof(val), FOLL_WRITE) == sizeof(val);
}

static bool child_read(struct mm_struct *child, unsigned long addr, unsigned long *val)
{
	return access_remote_vm(child, addr, val, sizeof(*val), 0) == sizeof(*val);
}

static void test_owner_and_child(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long x = map_huge(2 * SZ_2M, 0, "X"), y, val = 0;
	struct page *x0;

	expect_pool(4, 2, "X reserved 2");
	put_word(x, 0x100, "parent X[0]");
	x0 = huge_head_at(mm, x);
	expect_pool(3, 1, "parent faulted X[0]");
	child_left = child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	expect_pool(3, 1, "fork reserves nothing for the child");
	y = map_huge(SZ_2M, 0, "Y");
	expect_pool(3, 2, "Y reserved 1: one free page is unreserved");

	/* The child has no reservation: its fault takes the one unreserved page. */
	check_true(child_write(child, x + SZ_2M, 0x201), "child faults X[1] (unreserved page)");
	expect_pool(2, 2, "the child's X[1] took no reservation");
	/* Now every free page is reserved: the child's copy-on-write of X[0] fails. */
	check_true(!child_write(child, x, 0x200), "child COW of X[0] with no unreserved page");
	expect_pool(2, 2, "the child's failed COW");
	/* The owner's reservations are intact. */
	put_word(x + SZ_2M, 0x101, "parent X[1] from its reservation");
	put_word(y, 0x300, "parent Y from its reservation");
	expect_pool(0, 0, "the owner consumed its reservations");

	/* The owner's COW of X[0] with an empty pool takes the page back from the child. */
	put_word(x + 8, 0x102, "parent COW of X[0] with an empty pool");
	check_ptr(huge_head_at(mm, x), x0, "the owner kept X[0] in place");
	check_eq(get_word(x, "parent X[0]"), 0x100, "parent X[0] first word");
	check_true(!child_read(child, x, &val), "child read of X[0] after the owner took it");
	check_true(child_read(child, x + SZ_2M, &val), "child read of its own X[1]");
	check_eq(val, 0x201, "child X[1]");

	mmput(child);
	child_left = NULL;
	expect_pool(1, 0, "the child's X[1] back in the pool");
	unmap(x, 2 * SZ_2M, "X");
	unmap(y, SZ_2M, "Y");
	expect_pool(NR_2M, 0, "everything unmapped");
}

/* A child's faults of pages its parent has not faulted yet never take the parent's
 * reservations, even with the pool otherwise empty. */
static void test_child_cannot_take_owner_reservation(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long x = map_huge(NR_2M * SZ_2M, 0, "X: the whole pool"), val = 0;

	child_left = child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	check_true(!child_write(child, x, 1), "child fault of X[0], everything reserved");
	check_true(!child_read(child, x + SZ_2M, &val), "child read of X[1], everything reserved");
	expect_pool(NR_2M, NR_2M, "the child took nothing");
	for (unsigned int i = 0; i < NR_2M; i++)
		put_word(x + i * SZ_2M, i, "parent faults its reserved pages");
	expect_pool(0, 0, "the owner got every reserved page");
	mmput(child);
	child_left = NULL;
	unmap(x, NR_2M * SZ_2M, "X");
	expect_pool(NR_2M, 0, "everything unmapped");
}

static void test_map_without_file_or_anonymous_is_ebadf(void **state)
{
	(void)state;
	check_eq((long)vm_mmap(NULL, 0, SZ_2M, RW, MAP_PRIVATE | MAP_HUGETLB, 0), -EBADF,
		 "MAP_HUGETLB without a file and without MAP_ANONYMOUS");
	check_eq((long)vm_mmap(NULL, 0, PAGE_SIZE, RW, MAP_PRIVATE, 0), -EBADF,
		 "no file and no MAP_ANONYMOUS");
	expect_pool(NR_2M, 0, "refused mmaps");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_pool, teardown_resv)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_pool_fails_at_mmap, setup_no_pool,
						teardown_resv),
		T(test_more_than_pool_fails_at_mmap),
		T(test_munmap_returns_unused_reservations),
		T(test_split_keeps_reservations),
		T(test_owner_and_child),
		T(test_child_cannot_take_owner_reservation),
		T(test_map_without_file_or_anonymous_is_ebadf),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
