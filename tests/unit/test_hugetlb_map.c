/* SPDX-License-Identifier: MIT */
/*
 * hugetlb mappings (MAP_HUGETLB): 2 MiB pages (the default size and MAP_HUGE_2MB) on PMD
 * leaves and 1 GiB pages (MAP_HUGE_1GB) on PUD leaves, taken from the boot-time pools by the
 * first fault and given back by munmap; data round trips; a fault with the pool empty fails
 * the SIGBUS way; munmap edges must be huge-page aligned; unsupported sizes are refused; and
 * fork of a private mapping copies a whole huge page on the first write.
 *
 * The machine: 4 GiB with two 2 MiB pool pages and one 1 GiB pool page. Page tables are read
 * with test_mm_util.h's walker.
 */
#include <errno.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include "test_mm_util.h"

#define HUGE_ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
#define NR_2M 2
#define NR_1G 1

/* Children forked by the running test and not yet put (see teardown_hugetlb_mm). */
static struct mm_struct *child_left;

static int setup_hugetlb_mm(void **state)
{
	return boot_with_hugetlb_pools(state, NR_2M, NR_1G);
}

static int teardown_hugetlb_mm(void **state)
{
	return teardown_mm_and_child(state, &child_left);
}

static unsigned long free_2m(void)
{
	return size_to_hstate(SZ_2M)->free_huge_pages;
}

static unsigned long free_1g(void)
{
	return size_to_hstate(SZ_1G)->free_huge_pages;
}

static unsigned long map_huge(unsigned long len, unsigned long size_flag, const char *what)
{
	unsigned long ret = vm_mmap(NULL, 0, len, RW, HUGE_ANON | size_flag, 0);

	if (IS_ERR_VALUE(ret))
		fail_msg("%s: vm_mmap(len %#lx, MAP_HUGETLB | %#lx) failed with %ld", what, len,
			 size_flag, (long)ret);
	return ret;
}

/* ---- page tables (test_mm_util.h's walker) ---- */

/* The head page of the huge page mapped at addr, or NULL. */
static struct page *huge_head_at(struct mm_struct *mm, unsigned long addr)
{
	struct leaf l = pt_walk(mm, addr);

	if (l.level != LEAF_PMD && l.level != LEAF_PUD)
		return NULL;
	return pfn_to_page((l.entry & PTE_PFN_MASK) >> PAGE_SHIFT);
}

/* ---- mapping, faulting, unmapping ---- */

/* One huge page of size (at huge page order), mapped by map_flags: fault, check, unmap. */
static void check_one_huge_page(struct mm_struct *mm, unsigned long size, unsigned long flags,
				const char *what)
{
	unsigned int order = size == SZ_1G ? HPAGE_PUD_ORDER : HPAGE_PMD_ORDER;
	enum leaf_level level = size == SZ_1G ? LEAF_PUD : LEAF_PMD;
	unsigned long (*pool_free)(void) = size == SZ_1G ? free_1g : free_2m;
	unsigned long free0 = pool_free(), addr = map_huge(size, flags, what);
	const unsigned long offs[] = {0, PAGE_SIZE + 8, size / 2 + 24, size - 8};
	struct vm_area_struct vma;
	struct page *head;

	check_eq(addr % size, 0, "%s: the mapping is aligned to its page size", what);
	mmap_read_lock(mm);
	vma = *vma_lookup(mm, addr);
	mmap_read_unlock(mm);
	check_eq(vma.vm_flags & VM_HUGETLB, VM_HUGETLB, "%s: VMA", what);
	check_eq(1UL << vma.vm_huge_shift, size, "%s: VMA's huge page size", what);
	check_eq(vma.vm_end - vma.vm_start, size, "%s: VMA", what);
	check_eq(pool_free(), free0, "%s: mmap takes nothing from the pool", what);

	put_word(addr + offs[1], 0x1001, what);
	check_eq(pool_free(), free0 - 1, "%s: the first write fault takes a pool page", what);
	expect_level(mm, addr, level, "%s", what);
	head = huge_head_at(mm, addr);
	check_eq(PageHuge(head) && PageHead(head), true, "%s: the mapped page", what);
	check_eq(compound_order(head), order, "%s: the mapped page", what);
	check_eq(page_compound_dtor(head), HUGETLB_PAGE_DTOR, "%s: the mapped page", what);
	check_eq(compound_mapcount(head), 1, "%s: the mapped page", what);
	check_eq(page_mapcount(head + 1), 1, "%s: a subpage of a hugetlb page", what);
	check_eq(page_count(head), 1, "%s: the mapped page", what);
	check_eq(pt_walk(mm, addr).entry & _PAGE_RW, _PAGE_RW, "%s: leaf after a write", what);

	for (unsigned int i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		put_word(addr + offs[i], 0xabc0 + i, what);
	for (unsigned int i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		check_eq(get_word(addr + offs[i], what), 0xabc0 + i, "%s: word at offset %#lx", what,
			 offs[i]);
	check_eq(get_word(addr + size / 4, what), 0, "%s: an unwritten word", what);
	check_eq(pool_free(), free0 - 1, "%s: one pool page for the whole range", what);
	check_eq(((unsigned long *)page_address(head + (offs[2] >> PAGE_SHIFT)))
			 [(offs[2] & ~PAGE_MASK) / sizeof(unsigned long)],
		 0xabc2, "%s: the frame behind the middle word", what);

	check_eq(vm_munmap(addr, size), 0, "%s: munmap", what);
	check_eq(pool_free(), free0, "%s: munmap gives the page back to the pool", what);
	check_eq(mm->nr_vmas, 0, "%s: munmap", what);
}

static void test_2m_default_size(void **state)
{
	check_one_huge_page(*state, SZ_2M, 0, "MAP_HUGETLB, default size");
}

static void test_2m_explicit_size(void **state)
{
	check_one_huge_page(*state, SZ_2M, MAP_HUGE_2MB, "MAP_HUGETLB | MAP_HUGE_2MB");
}

static void test_1g(void **state)
{
	check_one_huge_page(*state, SZ_1G, MAP_HUGE_1GB, "MAP_HUGETLB | MAP_HUGE_1GB");
}

/* MAP_NORESERVE: nothing is promised at mmap, so the fault finds the pool empty. (Without
 * it the mmap itself fails: test_hugetlb_resv.c.) */
static void test_empty_pool_fault_is_sigbus(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_huge(3 * SZ_2M, MAP_NORESERVE, "3 x 2 MiB, pool of 2");
	unsigned long word = 5;
	vm_fault_t ret;

	put_word(addr, 1, "first huge page");
	put_word(addr + SZ_2M, 2, "second huge page");
	check_eq(free_2m(), 0, "two faults emptied the pool");

	mmap_read_lock(mm);
	ret = handle_mm_fault(vma_lookup(mm, addr), addr + 2 * SZ_2M, FAULT_FLAG_WRITE);
	mmap_read_unlock(mm);
	check_eq(ret & VM_FAULT_ERROR, VM_FAULT_SIGBUS, "write fault of a third page, pool empty");
	check_eq(copy_to_user(addr + 2 * SZ_2M + 8, &word, sizeof(word)), sizeof(word),
		 "copy_to_user into the third page, pool empty");
	check_eq(copy_from_user(&word, addr + 2 * SZ_2M, sizeof(word)), sizeof(word),
		 "copy_from_user of the third page, pool empty");
	check_eq(copy_to_user(addr + 2 * SZ_2M - 4, &word, sizeof(word)), 4,
		 "copy_to_user running from the second page into the third");
	expect_level(mm, addr + 2 * SZ_2M, LEAF_NONE, "the third page after SIGBUS");
	check_eq(get_word(addr + SZ_2M, "second"), 2, "the second page is intact");

	check_eq(vm_munmap(addr, SZ_2M), 0, "munmap of the first huge page");
	check_eq(free_2m(), 1, "munmap refilled the pool");
	put_word(addr + 2 * SZ_2M, 3, "the third page once the pool has a page");
	check_eq(vm_munmap(addr, 3 * SZ_2M), 0, "munmap of everything");
	check_eq(free_2m(), NR_2M, "every huge page back in the pool");
}

static void test_unaligned_munmap_is_einval(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_huge(2 * SZ_2M, 0, "2 x 2 MiB");

	put_word(addr + 8, 0x11, "first huge page");
	check_eq(vm_munmap(addr + PAGE_SIZE, PAGE_SIZE), -EINVAL, "munmap of 4 KiB inside a huge page");
	check_eq(vm_munmap(addr, PAGE_SIZE), -EINVAL, "munmap of the first 4 KiB of a huge page");
	check_eq(vm_munmap(addr + SZ_2M / 2, SZ_2M), -EINVAL, "munmap across the huge page edge");
	check_eq(vm_munmap(addr + SZ_2M, SZ_2M - PAGE_SIZE), -EINVAL,
		 "munmap ending 4 KiB before the VMA's end");
	check_eq(mm->nr_vmas, 1, "refused munmaps left the VMA");
	check_eq(get_word(addr + 8, "after refused munmaps"), 0x11, "data after refused munmaps");
	check_eq(free_2m(), NR_2M - 1, "refused munmaps freed nothing");
	check_eq(vm_mprotect(addr + PAGE_SIZE, PAGE_SIZE, PROT_READ), -EINVAL,
		 "mprotect of 4 KiB inside a huge page");

	/* Aligned edges are fine: unmap the second huge page only. */
	check_eq(vm_munmap(addr + SZ_2M, SZ_2M), 0, "munmap of the second huge page");
	check_eq(get_word(addr + 8, "after munmap of the second"), 0x11, "the first huge page");
}

static void test_unsupported_sizes_are_einval(void **state)
{
	struct mm_struct *mm = *state;
	static const struct {
		const char *what;
		unsigned long addr, len, flags;
	} bad[] = {
		{"MAP_HUGETLB of 64 KiB pages (16 << MAP_HUGE_SHIFT)", 0, SZ_2M,
		 HUGE_ANON | (16UL << MAP_HUGE_SHIFT)},
		{"MAP_HUGETLB of 1 MiB pages", 0, SZ_2M, HUGE_ANON | (20UL << MAP_HUGE_SHIFT)},
		{"MAP_HUGETLB of 4 MiB pages", 0, SZ_2M, HUGE_ANON | (22UL << MAP_HUGE_SHIFT)},
		{"MAP_HUGETLB | MAP_FIXED at an address not 2 MiB aligned", 0x40000000UL + PAGE_SIZE,
		 SZ_2M, HUGE_ANON | MAP_FIXED},
		{"MAP_HUGE_1GB | MAP_FIXED at an address not 1 GiB aligned", 0x40000000UL + SZ_2M,
		 SZ_1G, HUGE_ANON | MAP_HUGE_1GB | MAP_FIXED},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long ret = (long)vm_mmap(NULL, bad[i].addr, bad[i].len, RW, bad[i].flags, 0);

		check_eq(ret, -EINVAL, "%s", bad[i].what);
		check_eq(mm->nr_vmas, 0, "%s", bad[i].what);
	}
	check_eq(free_2m(), NR_2M, "refused mappings");
	check_eq(free_1g(), NR_1G, "refused mappings");
}

/* ---- fork ---- */

static void test_fork_cow_copies_whole_huge_page(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long addr = map_huge(SZ_2M, 0, "2 MiB private hugetlb");
	struct page *orig, *copy;

	put_word(addr, 0xf00, "parent before fork");
	put_word(addr + SZ_2M / 2, 0xf01, "parent before fork, middle");
	put_word(addr + SZ_2M - 8, 0xf02, "parent before fork, end");
	child_left = child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	orig = huge_head_at(mm, addr);
	check_eq(huge_head_at(child, addr) == orig, true, "child maps the parent's huge page");
	check_eq(compound_mapcount(orig), 2, "huge page after fork");
	check_eq(page_count(orig), 2, "huge page after fork");
	check_eq(pt_walk(mm, addr).entry & _PAGE_RW, 0, "parent's entry after fork");
	check_eq(pt_walk(child, addr).entry & _PAGE_RW, 0, "child's entry after fork");
	check_eq(free_2m(), NR_2M - 1, "fork takes no pool page");

	/* The parent's write copies the whole 2 MiB into the other pool page. */
	put_word(addr + 64, 0xbad, "parent writes after fork");
	copy = huge_head_at(mm, addr);
	check_eq(copy != orig, true, "the parent's write gave it a copy");
	check_eq(free_2m(), NR_2M - 2, "the COW took the second pool page");
	check_eq(PageHuge(copy) && compound_order(copy) == HPAGE_PMD_ORDER, true, "the copy");
	check_eq(compound_mapcount(copy), 1, "the copy");
	check_eq(compound_mapcount(orig), 1, "the original after the parent's copy");
	check_eq(get_word(addr + 64, "parent"), 0xbad, "parent sees its write");
	check_eq(get_word(addr + SZ_2M / 2, "parent"), 0xf01, "the copy holds the middle word");
	check_eq(get_word(addr + SZ_2M - 8, "parent"), 0xf02, "the copy holds the last word");
	check_eq(remote_word(child, addr + 64, "child"), 0, "child does not see the parent's write");
	check_eq(remote_word(child, addr, "child"), 0xf00, "child's first word");
	check_eq(remote_word(child, addr + SZ_2M - 8, "child"), 0xf02, "child's last word");

	/* The child's write reuses its now exclusive page. */
	check_eq(access_remote_vm(child, addr + 8, &(unsigned long){0xc1d}, sizeof(long),
				  FOLL_WRITE),
		 sizeof(long), "child writes");
	check_eq(huge_head_at(child, addr) == orig, true, "child's write reuses its page");
	check_eq(get_word(addr + 8, "parent"), 0, "parent does not see the child's write");

	mmput(child);
	child_left = NULL;
	check_eq(free_2m(), NR_2M - 1, "the child's exit gave its page back");
}

/*
 * 5.7's rule with the pool empty after fork: the child's copy-on-write fails (SIGBUS), and the
 * owner's (the process that called mmap) takes the page back from the child instead of
 * failing (unmap_ref_private()): the owner writes in place, the child's mapping of A is gone
 * and its next access to A is SIGBUS.
 */
static void test_fork_cow_with_empty_pool_is_sigbus(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long a = map_huge(SZ_2M, 0, "A"), b = map_huge(SZ_2M, 0, "B"), word = 1;
	struct page *a_page;

	put_word(a, 0xaaa, "A before fork");
	a_page = huge_head_at(mm, a);
	child_left = child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	put_word(b, 0xbbb, "B takes the last pool page");
	check_eq(free_2m(), 0, "pool empty");
	check_eq(access_remote_vm(child, a, &word, sizeof(word), FOLL_WRITE), 0,
		 "child write to shared huge page A with an empty pool (SIGBUS)");
	check_eq(remote_word(child, a, "child"), 0xaaa, "child's A after its failed COW");
	put_word(a, 0xa2, "parent (owner) write to A with an empty pool");
	check_eq(huge_head_at(mm, a) == a_page, true, "the owner reused A in place");
	check_eq(free_2m(), 0, "the owner's write took no pool page");
	check_eq(access_remote_vm(child, a, &word, sizeof(word), 0), 0,
		 "child read of A after the owner took it back (SIGBUS)");
	mmput(child);
	child_left = NULL;
	check_eq(get_word(a, "parent"), 0xa2, "parent's A");
}

/*
 * Linux keeps hugetlb pages out of the rss counters: hugetlb_no_page() calls
 * hugetlb_count_add() (mm->hugetlb_usage, "HugetlbPages:" in /proc/pid/status), never
 * add_mm_counter(MM_ANONPAGES), so VmRSS does not include them.
 * Found failing at e7d56aa: hugetlb_no_page() in src/vm/hugetlb_fault.c added the huge
 * page's 512 / 262144 subpages to MM_ANONPAGES (and fork's copy_huge_entry() and zap's
 * zap_huge_entry() followed it), so a process's rss included its hugetlb pages.
 */
static void test_hugetlb_pages_not_in_anon_rss(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_huge(SZ_2M, 0, "2 MiB hugetlb");
	long rss;

	put_word(addr, 1, "hugetlb fault");
	rss = atomic_load(&mm->rss_stat[MM_ANONPAGES]);
	check_eq(vm_munmap(addr, SZ_2M), 0, "munmap");
	check_eq(rss, 0, "MM_ANONPAGES with a 2 MiB hugetlb page mapped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_hugetlb_mm, teardown_hugetlb_mm)
		T(test_2m_default_size),
		T(test_2m_explicit_size),
		T(test_1g),
		T(test_empty_pool_fault_is_sigbus),
		T(test_unaligned_munmap_is_einval),
		T(test_unsupported_sizes_are_einval),
		T(test_fork_cow_copies_whole_huge_page),
		T(test_fork_cow_with_empty_pool_is_sigbus),
		T(test_hugetlb_pages_not_in_anon_rss),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
