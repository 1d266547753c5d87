/* SPDX-License-Identifier: MIT */
/*
 * The reverse map: rmap_walk() finds every PTE that maps a page — a shmem page mapped twice in
 * one mm and once more in a forked child, an anonymous page shared by fork — page_mkclean()
 * write-protects and cleans every one of them, and try_to_unmap() removes them all while the
 * page keeps its data.
 *
 *   parent:  [A: shmem, MAP_SHARED, pgoff 0]   [B: same file, MAP_SHARED, pgoff 0]
 *   child:   [A'] (fork)
 */
#include <errno.h>
#include <string.h>

#include "test_util.h"
#include "vm/pgtable.h" /* the test walks the page tables and reads raw entries */

struct found {
	int n;
	struct mm_struct *mms[8];
	unsigned long addrs[8];
};

static pte_t pte_of(struct mm_struct *mm, unsigned long addr);

/* rmap_walk() visits every VMA that may map the page; count those whose PTE does. */
static bool record(struct page *page, struct vm_area_struct *vma, unsigned long addr, void *arg)
{
	struct found *f = arg;
	pte_t pte = pte_of(vma->vm_mm, addr);

	if (!pte_present(pte) || pte_pfn(pte) != page_to_pfn(page))
		return true;
	if (f->n < 8) {
		f->mms[f->n] = vma->vm_mm;
		f->addrs[f->n] = addr;
	}
	f->n++;
	return true;
}

/* The PTE mapping addr in mm (no THP here), or a zero entry. */
static pte_t pte_of(struct mm_struct *mm, unsigned long addr)
{
	pgd_t pgd = pgdp_get((pgd_t *)page_address(mm->pgd_page) + pgd_index(addr));
	pud_t pud;
	pmd_t pmd;

	if (pgd_none(pgd))
		return (pte_t){0};
	pud = pudp_get((pud_t *)page_address(pfn_to_page(pgd_pfn(pgd))) + pud_index(addr));
	if (pud_none(pud))
		return (pte_t){0};
	pmd = pmdp_get((pmd_t *)page_address(pfn_to_page(pud_pfn(pud))) + pmd_index(addr));
	if (pmd_none(pmd) || pmd_leaf(pmd))
		return (pte_t){0};
	return ptep_get((pte_t *)page_address(pfn_to_page(pmd_pfn(pmd))) + pte_index(addr));
}

/* The page mapped at addr, with a reference the caller drops (the rmap calls need the page
 * held: try_to_unmap() may drop every other reference). */
static struct page *page_at(unsigned long addr)
{
	struct page *page;

	assert_int_equal(get_user_pages_fast(addr, 1, 0, &page), 1);
	return page;
}

static void test_rmap_file_page_everywhere(void **state)
{
	struct mm_struct *mm = mm_alloc(), *child;
	struct file *file = shmem_file_setup("rmap", 4 * PAGE_SIZE, 0);
	unsigned long a, b;
	struct found f = {0};
	struct page *page;
	char buf[8];

	(void)state;
	assert_false(IS_ERR(file));
	kthread_use_mm(mm);
	a = vm_mmap(file, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	b = vm_mmap(file, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(a) || IS_ERR_VALUE(b));
	assert_int_equal(copy_to_user(a, "shared", 7), 0);
	assert_int_equal(copy_from_user(buf, b, 7), 0);
	assert_string_equal(buf, "shared");
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	/* The child faults its copy of A in (shared file VMAs are not copied entry by entry). */
	assert_int_equal(access_remote_vm(child, a, buf, 7, 0), 7);
	page = page_at(a);
	{
		struct page *pb = page_at(b);

		assert_ptr_equal(pb, page);
		put_page(pb);
	}
	assert_int_equal(page_mapcount(page), 3);

	lock_page(page);
	rmap_walk(page, record, &f);
	if (f.n != 3)
		fail_msg("shmem page mapped at A, B and the child's A: rmap_walk found %d, expected 3",
			 f.n);
	assert_int_equal(page_mkclean(page), 3);
	for (int i = 0; i < 3; i++) {
		pte_t pte = pte_of(f.mms[i], f.addrs[i]);

		if (pte_write(pte) || pte_dirty(pte) || pte_pfn(pte) != page_to_pfn(page))
			fail_msg("page_mkclean: mapping %d (%#lx) still writable %d / dirty %d",
				 i, f.addrs[i], pte_write(pte), pte_dirty(pte));
	}
	assert_int_equal(page_mkclean(page), 0);
	assert_true(try_to_unmap(page));
	unlock_page(page);
	assert_int_equal(page_mapcount(page), 0);
	put_page(page);
	/* Unmapped everywhere, still in the file: the next access faults the same data back. */
	assert_int_equal(copy_from_user(buf, b, 7), 0);
	assert_string_equal(buf, "shared");

	mmput(child);
	kthread_unuse_mm(mm);
	mmput(mm);
	fput(file);
}

static void test_rmap_anon_page_shared_by_fork(void **state)
{
	struct mm_struct *mm = mm_alloc(), *child;
	struct found f = {0};
	struct page *page;
	unsigned long a;
	char buf[8];

	(void)state;
	kthread_use_mm(mm);
	a = vm_mmap(NULL, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	assert_false(IS_ERR_VALUE(a));
	assert_int_equal(copy_to_user(a, "anon", 5), 0);
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	page = page_at(a);
	assert_true(PageAnon(page));
	assert_int_equal(page_mapcount(page), 2);
	lock_page(page);
	rmap_walk(page, record, &f);
	if (f.n != 2 || f.addrs[0] != a || f.addrs[1] != a)
		fail_msg("anon page shared by fork: rmap_walk found %d mapping(s), expected 2 at %#lx",
			 f.n, a);
	/* page_mkclean leaves anonymous pages alone (nothing to write back). */
	assert_int_equal(page_mkclean(page), 0);
	assert_true(try_to_unmap(page));
	unlock_page(page);
	assert_int_equal(page_mapcount(page), 0);
	assert_int_equal(page_count(page), 1); /* ours alone */
	put_page(page);
	/* Unmapped anonymous memory is gone: the parent reads zeros again. */
	assert_int_equal(copy_from_user(buf, a, 5), 0);
	assert_memory_equal(buf, "\0\0\0\0\0", 5);
	assert_int_equal(access_remote_vm(child, a, buf, 5, 0), 5);
	assert_memory_equal(buf, "\0\0\0\0\0", 5);

	mmput(child);
	kthread_unuse_mm(mm);
	mmput(mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_machine(test_rmap_file_page_everywhere),
		test_with_machine(test_rmap_anon_page_shared_by_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
