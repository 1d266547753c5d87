/* SPDX-License-Identifier: MIT */
/*
 * Every split of a hugetlb VMA respects its page size (Linux's hugetlb_vm_op_split()): madvise
 * (MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTFORK, MADV_DOFORK), mprotect and munmap of a 4 KiB
 * sub-range fail with -EINVAL and change nothing; MAP_FIXED over such a sub-range fails with
 * -ENOMEM (5.7's mmap_region()); aligned sub-ranges split where asked. And the leak a split at
 * a 4 KiB boundary caused: after a refused MADV_DONTFORK and a fork, unmapping everything
 * gives every huge page back to the pool.
 *
 * The machine: 4 GiB with four 2 MiB pool pages.
 */
#include <errno.h>
#include <unistd.h>

#include "test_mm_util.h"

#define HUGE_ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
#define NR_2M 4

static int setup_hugetlb_mm(void **state)
{
	return boot_with_hugetlb_pools(state, NR_2M, 0);
}

static unsigned long free_2m(void)
{
	return size_to_hstate(SZ_2M)->free_huge_pages;
}

/* The VMA at addr's bounds and flags, copied under the mmap lock. */
static struct vm_area_struct vma_copy(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct copy = {0}, *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma)
		copy = *vma;
	mmap_read_unlock(mm);
	return copy;
}

static void expect_one_vma(struct mm_struct *mm, unsigned long addr, unsigned long len,
			   unsigned long flags, const char *what)
{
	struct vm_area_struct v = vma_copy(mm, addr);

	check_eq(mm->nr_vmas, 1, "%s: VMAs", what);
	check_eq(v.vm_start, addr, "%s: vm_start", what);
	check_eq(v.vm_end, addr + len, "%s: vm_end", what);
	check_eq(v.vm_flags, flags, "%s: vm_flags", what);
}

static void test_madvise_subrange_is_einval(void **state)
{
	static const struct {
		const char *name;
		int advice;
	} advices[] = {{"MADV_HUGEPAGE", MADV_HUGEPAGE},
		       {"MADV_NOHUGEPAGE", MADV_NOHUGEPAGE},
		       {"MADV_DONTFORK", MADV_DONTFORK},
		       {"MADV_DOFORK", MADV_DOFORK}};
	static const struct {
		const char *name;
		unsigned long off, len;
	} ranges[] = {{"the first 4 KiB", 0, PAGE_SIZE},
		      {"4 KiB inside", PG(5), PAGE_SIZE},
		      {"the last 4 KiB", 2 * SZ_2M - PAGE_SIZE, PAGE_SIZE},
		      {"across the huge page edge", SZ_2M - PAGE_SIZE, PG(2)},
		      {"2 MiB from a 4 KiB offset", PAGE_SIZE, SZ_2M}};
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, 2 * SZ_2M, RW, HUGE_ANON, "2 x 2 MiB");
	unsigned long flags = vma_copy(mm, addr).vm_flags;

	put_word(addr + 8, 0x77, "first huge page");
	for (size_t a = 0; a < sizeof(advices) / sizeof(advices[0]); a++)
		for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
			int ret = do_madvise(mm, addr + ranges[r].off, ranges[r].len,
					     advices[a].advice);

			check_eq(ret, -EINVAL, "%s on %s of a hugetlb mapping", advices[a].name,
				 ranges[r].name);
			expect_one_vma(mm, addr, 2 * SZ_2M, flags,
				       scenario_text("after %s on %s", advices[a].name,
						     ranges[r].name));
		}
	check_eq(get_word(addr + 8, "after refused madvise"), 0x77, "data after refused madvise");
	unmap(addr, 2 * SZ_2M, "2 x 2 MiB");
}

static void test_aligned_subrange_splits(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, 2 * SZ_2M, RW, HUGE_ANON, "2 x 2 MiB");
	struct vm_area_struct lo, hi;

	check_eq(do_madvise(mm, addr + SZ_2M, SZ_2M, MADV_DONTFORK), 0,
		 "MADV_DONTFORK on the second huge page");
	lo = vma_copy(mm, addr);
	hi = vma_copy(mm, addr + SZ_2M);
	check_eq(mm->nr_vmas, 2, "an aligned madvise splits the VMA");
	check_eq(lo.vm_end, addr + SZ_2M, "the first half ends at the huge page edge");
	check_true(!(lo.vm_flags & VM_DONTCOPY), "the first half keeps VM_DONTCOPY clear");
	check_true(hi.vm_flags & VM_DONTCOPY, "the second half has VM_DONTCOPY");
	check_eq(do_madvise(mm, addr + SZ_2M, SZ_2M, MADV_DOFORK), 0, "MADV_DOFORK back");
	/* Linux never merges VM_SPECIAL (here VM_DONTEXPAND) VMAs: the halves stay apart. */
	check_eq(mm->nr_vmas, 2, "MADV_DOFORK leaves the hugetlb halves split");
	check_true(!(vma_copy(mm, addr + SZ_2M).vm_flags & VM_DONTCOPY),
		   "MADV_DOFORK cleared VM_DONTCOPY");
	unmap(addr, 2 * SZ_2M, "2 x 2 MiB");
}

static void test_mprotect_and_munmap_subrange(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, 2 * SZ_2M, RW, HUGE_ANON, "2 x 2 MiB");
	unsigned long flags = vma_copy(mm, addr).vm_flags;

	check_eq(vm_mprotect(addr + PG(3), PAGE_SIZE, PROT_READ), -EINVAL,
		 "mprotect of 4 KiB inside a hugetlb mapping");
	check_eq(vm_mprotect(addr, SZ_2M + PAGE_SIZE, PROT_READ), -EINVAL,
		 "mprotect ending 4 KiB into the second huge page");
	check_eq(vm_munmap(addr + PG(3), PAGE_SIZE), -EINVAL,
		 "munmap of 4 KiB inside a hugetlb mapping");
	expect_one_vma(mm, addr, 2 * SZ_2M, flags, "after refused mprotect and munmap");
	check_eq(vm_mprotect(addr + SZ_2M, SZ_2M, PROT_READ), 0,
		 "mprotect of the second huge page");
	check_eq(mm->nr_vmas, 2, "an aligned mprotect splits the VMA");
	unmap(addr, 2 * SZ_2M, "2 x 2 MiB");
}

static void test_map_fixed_over_subrange_is_enomem(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, SZ_2M, RW, HUGE_ANON, "2 MiB"), ret;
	unsigned long flags = vma_copy(mm, addr).vm_flags;

	put_word(addr + PG(1), 0x99, "the huge page");
	ret = vm_mmap(NULL, addr + PG(1), PAGE_SIZE, RW, ANON | MAP_FIXED, 0);
	check_eq((long)ret, -ENOMEM, "MAP_FIXED 4 KiB over a hugetlb mapping");
	expect_one_vma(mm, addr, SZ_2M, flags, "after the refused MAP_FIXED");
	check_eq(get_word(addr + PG(1), "after the refused MAP_FIXED"), 0x99,
		 "data after the refused MAP_FIXED");
	unmap(addr, SZ_2M, "2 MiB");
}

/* The reported leak: a 4 KiB MADV_DONTFORK, a fork, everything unmapped: pool full again. */
static void test_dontfork_subrange_then_fork_leaks_nothing(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long addr = map(0, SZ_2M, RW, HUGE_ANON, "2 MiB");

	put_word(addr, 1, "the huge page");
	check_eq(do_madvise(mm, addr + SZ_2M - PAGE_SIZE, PAGE_SIZE, MADV_DONTFORK), -EINVAL,
		 "MADV_DONTFORK on the last 4 KiB of a hugetlb mapping");
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	mmput(child);
	unmap(addr, SZ_2M, "2 MiB");
	check_eq(free_2m(), NR_2M, "every huge page back in the pool after fork and munmap");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_hugetlb_mm, teardown_mm)
	const struct CMUnitTest tests[] = {
		T(test_madvise_subrange_is_einval),
		T(test_aligned_subrange_splits),
		T(test_mprotect_and_munmap_subrange),
		T(test_map_fixed_over_subrange_is_enomem),
		T(test_dontfork_subrange_then_fork_leaks_nothing),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
