/* SPDX-License-Identifier: MIT */
/*
 * MADV_COLLAPSE (do_madvise()): a 2 MiB block of small pages, some of them never faulted or
 * the zero page, becomes one THP on a PMD leaf with every byte kept; so does a THP that a PMD
 * split left mapped by 512 PTEs, also when a child shares half of it (the kernel's cow.c
 * "collapsing after fork() (lower shared)"); a block already on a PMD is left alone. A page
 * with a pin or a FOLL_GET reference makes the block fail with -EAGAIN and stay as it was,
 * until the reference goes. Bad input gets Linux's errno and changes nothing, and a failed THP
 * allocation (fault injection) gives -ENOMEM and changes nothing.
 *
 * The mmap lock is dropped while the THP is allocated, as in Linux: a write fault to the block
 * from a hook at that allocation goes through and is collapsed with the rest; a munmap of the
 * block there makes the collapse fail the VMA's revalidation with -EINVAL and leak nothing.
 *
 * The races, through the hooks: a GUP-fast pin that read the PTE before collapse cleared the
 * PMD and grabs the page after it is counted in (collapse waits for the walk and backs off,
 * and the pinned page is still the one mapped); a GUP-fast that starts after the PMD is cleared
 * goes to the slow path and pins the new THP's subpage with the same contents.
 *
 * Each test boots a machine (THP "never" unless the test needs THP faults: MADV_COLLAPSE works
 * in every mode) and runs in a fresh mm; pinmm_check_invariants() must find nothing after the
 * collapses that change state and at the end, and the teardown fails on any leaked page.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include "test_mm_util.h"

#define BASE 0x40000000UL /* 2 MiB aligned */
#define NPAGES 512u
#define TAG 0xc0de0000UL

static int setup_thp(void **state, enum pinmm_thp_mode mode, unsigned long hugepages)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.thp = mode;
	cfg.nr_hugepages_2m = hugepages;
	return boot_with_mm(state, &cfg);
}

static int setup_never(void **state) { return setup_thp(state, PINMM_THP_NEVER, 0); }
static int setup_always(void **state) { return setup_thp(state, PINMM_THP_ALWAYS, 0); }
static int setup_hugetlb(void **state) { return setup_thp(state, PINMM_THP_NEVER, 2); }

static int teardown(void **state)
{
	pinmm_hook_clear_all();
	return teardown_mm(state);
}

struct counts {
	unsigned long alloc, alloc_failed;
	long anon_thps, anon, rss, free;
};

static struct counts counts_now(struct mm_struct *mm)
{
	return (struct counts){
		.alloc = global_vm_event_count(THP_COLLAPSE_ALLOC),
		.alloc_failed = global_vm_event_count(THP_COLLAPSE_ALLOC_FAILED),
		.anon_thps = global_node_page_state(NR_ANON_THPS),
		.anon = nr_anon(),
		.rss = rss_anon(mm),
		.free = nr_free(),
	};
}

/* The machine-wide invariant walk (<pinmm/check.h>) finds nothing wrong. */
static void expect_invariants(const char *what)
{
	check_eq(pinmm_check_invariants(), 0,
		 "%s: pinmm_check_invariants() violations (log above)", what);
}

static int collapse(struct mm_struct *mm, unsigned long start, unsigned long len)
{
	return do_madvise(mm, start, len, MADV_COLLAPSE);
}

/* 2 MiB of small pages at BASE, each tagged TAG + its index. */
static void map_tagged_small(const char *what)
{
	map(BASE, PMD_SIZE, RW, ANON | MAP_FIXED, what);
	tag_pages(BASE, NPAGES, TAG, what);
}

/* Fail unless BASE's block is one THP on a PMD leaf (returned). */
static struct page *expect_collapsed(struct mm_struct *mm, const char *what)
{
	struct page *head = page_at(mm, BASE);

	expect_level(mm, BASE, LEAF_PMD, "%s", what);
	check_true(head && PageHead(head) && compound_order(head) == HPAGE_PMD_ORDER,
		   "%s: the PMD maps the head of an order-9 THP", what);
	for (unsigned int i = 0; head && i < NPAGES; i += 97)
		check_ptr(page_at(mm, BASE + PG(i)), head + i, "%s: subpage %u", what, i);
	return head;
}

/* Fail unless BASE's block is still mapped by PTEs, with the same pages as in pages[]. */
static void expect_unchanged(struct mm_struct *mm, struct page **pages, const char *what)
{
	for (unsigned int i = 0; i < NPAGES; i++) {
		expect_level(mm, BASE + PG(i), LEAF_PTE, "%s: page %u", what, i);
		check_ptr(page_at(mm, BASE + PG(i)), pages[i], "%s: page %u", what, i);
	}
	expect_tags(BASE, NPAGES, TAG, what);
}

static void snapshot(struct mm_struct *mm, struct page **pages)
{
	for (unsigned int i = 0; i < NPAGES; i++)
		pages[i] = page_at(mm, BASE + PG(i));
}

/* ---- collapse ---- */

static void test_collapse_small_pages(void **state)
{
	const char *what = "512 faulted small pages, MADV_COLLAPSE";
	struct mm_struct *mm = *state;
	struct counts c0, c1;
	struct page *head;

	map_tagged_small(what);
	expect_level(mm, BASE, LEAF_PTE, "%s: before", what);
	c0 = counts_now(mm);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: return", what);
	c1 = counts_now(mm);
	head = expect_collapsed(mm, what);
	check_true(head && PageAnon(head), "%s: the THP is anonymous", what);
	expect_tags(BASE, NPAGES, TAG, what);
	check_eq(page_ref_count(head), 1, "%s: the THP's refcount (the PMD's)", what);
	check_eq(compound_mapcount(head), 1, "%s: compound_mapcount", what);
	check_eq(c1.alloc - c0.alloc, 1, "%s: thp_collapse_alloc", what);
	check_eq(c1.alloc_failed - c0.alloc_failed, 0, "%s: thp_collapse_alloc_failed", what);
	check_eq(c1.anon_thps - c0.anon_thps, 1, "%s: nr_anon_transparent_hugepages", what);
	check_eq(c1.anon - c0.anon, 0, "%s: nr_anon_pages (512 small for 512 in a THP)", what);
	check_eq(c1.rss - c0.rss, 0, "%s: MM_ANONPAGES", what);
	/* The old 512 pages are free; the THP took 512; the PTE table is deposited. */
	check_eq(c1.free - c0.free, 0, "%s: free pages", what);
	expect_invariants(what);
	/* Writes go to the THP, and a second collapse finds the PMD and leaves it. */
	put_word(BASE + PG(3), 0xabc, what);
	check_eq(get_word(BASE + PG(3), what), 0xabc, "%s: write after the collapse", what);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: again (already a PMD)", what);
	check_ptr(page_at(mm, BASE), head, "%s: again: the same THP", what);
	check_eq(global_vm_event_count(THP_COLLAPSE_ALLOC), c1.alloc, "%s: again: no allocation",
		 what);
	/* A split (mprotect of one page) uses the deposited table. */
	check_eq(vm_mprotect(BASE, PAGE_SIZE, PROT_READ), 0, "%s: mprotect splits", what);
	expect_level(mm, BASE + PG(1), LEAF_PTE, "%s: after the split", what);
	check_eq(get_word(BASE + PG(3), what), 0xabc, "%s: after the split", what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_with_none_and_zero_ptes(void **state)
{
	const char *what = "pages 0, 10, 511 written, page 20 read (zero page), the rest empty";
	struct mm_struct *mm = *state;
	struct counts c0, c1;

	map(BASE, PMD_SIZE, RW, ANON | MAP_FIXED, what);
	put_word(BASE, 1, what);
	put_word(BASE + PG(10), 2, what);
	put_word(BASE + PG(511) + 8, 3, what);
	check_eq(get_word(BASE + PG(20), what), 0, "%s: read of page 20", what);
	check_true(page_at(mm, BASE + PG(20)) == NULL && pt_walk(mm, BASE + PG(20)).level == LEAF_PTE,
		   "%s: page 20 maps the zero page", what);
	c0 = counts_now(mm);
	check_eq(rss_anon(mm), 3, "%s: rss before", what);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: return", what);
	c1 = counts_now(mm);
	expect_collapsed(mm, what);
	check_eq(get_word(BASE, what), 1, "%s: page 0", what);
	check_eq(get_word(BASE + PG(10), what), 2, "%s: page 10", what);
	check_eq(get_word(BASE + PG(511) + 8, what), 3, "%s: page 511", what);
	for (unsigned int i = 1; i < NPAGES; i++)
		if (i != 10 && i != 511)
			check_eq(get_word(BASE + PG(i), what), 0, "%s: page %u is zero", what, i);
	check_eq(get_word(BASE + PG(20) + 4000, what), 0, "%s: zero page's copy", what);
	check_eq(c1.rss, 512, "%s: MM_ANONPAGES after", what);
	check_eq(c1.free - c0.free, -509, "%s: free pages (512 taken, 3 freed)", what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_pte_mapped_thp(void **state)
{
	const char *what = "a THP mapped by 512 PTEs after a PMD split";
	struct mm_struct *mm = *state;
	struct page *old, *head;
	struct counts c0, c1;

	map_tagged_small(what); /* THP "always": the first write faulted a THP */
	old = page_at(mm, BASE);
	check_true(old && PageHead(old), "%s: a THP was faulted", what);
	/* mprotect of one page splits the PMD; mprotect back merges the VMAs again. */
	check_eq(vm_mprotect(BASE, PAGE_SIZE, PROT_READ), 0, "%s: mprotect", what);
	check_eq(vm_mprotect(BASE, PAGE_SIZE, RW), 0, "%s: mprotect back", what);
	for (unsigned int i = 0; i < NPAGES; i += 51) {
		expect_level(mm, BASE + PG(i), LEAF_PTE, "%s: page %u before", what, i);
		check_ptr(page_at(mm, BASE + PG(i)), old + i, "%s: page %u before", what, i);
	}
	c0 = counts_now(mm);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: return", what);
	c1 = counts_now(mm);
	head = expect_collapsed(mm, what);
	expect_tags(BASE, NPAGES, TAG, what);
	/* Linux's anonymous collapse copies into a new THP and frees the old one. */
	check_true(head != old, "%s: a new THP", what);
	check_eq(c1.alloc - c0.alloc, 1, "%s: thp_collapse_alloc", what);
	check_eq(c1.anon_thps - c0.anon_thps, 1, "%s: nr_anon_transparent_hugepages", what);
	check_eq(c1.anon - c0.anon, 0, "%s: nr_anon_pages", what);
	check_eq(c1.rss - c0.rss, 0, "%s: MM_ANONPAGES", what);
	check_eq(c1.free - c0.free, 0, "%s: free pages (the old THP freed)", what);
	expect_invariants(what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_pmd_mapped_is_done(void **state)
{
	const char *what = "a THP already on a PMD";
	struct mm_struct *mm = *state;
	unsigned long alloc0;
	struct page *head;

	map_tagged_small(what);
	head = expect_collapsed(mm, what);
	alloc0 = global_vm_event_count(THP_COLLAPSE_ALLOC);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: return", what);
	check_ptr(page_at(mm, BASE), head, "%s: the same THP", what);
	check_eq(global_vm_event_count(THP_COLLAPSE_ALLOC), alloc0, "%s: no allocation", what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_after_fork(void **state)
{
	const char *what = "after fork, the parent's pages shared read-only with the child";
	struct mm_struct *mm = *state, *child;
	struct page *shared;
	long anon0;

	map_tagged_small(what);
	child = pinmm_fork(mm);
	check_true(!IS_ERR(child), "%s: fork", what);
	shared = page_at(mm, BASE + PG(1));
	/* Linux: no writable PTE in the block (SCAN_PAGE_RO). */
	check_eq(collapse(mm, BASE, PMD_SIZE), -EINVAL, "%s: every PTE write-protected", what);
	expect_level(mm, BASE, LEAF_PTE, "%s: still PTEs", what);
	/* A write copies page 0 for the parent: now one PTE is writable. */
	put_word(BASE, 0x5a5a, what);
	anon0 = nr_anon();
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: after a COW of page 0", what);
	expect_collapsed(mm, what);
	check_eq(get_word(BASE, what), 0x5a5a, "%s: the parent's page 0", what);
	expect_tags(BASE + PG(1), NPAGES - 1, TAG + 1, what);
	/* The child keeps its pages; the parent's mapping and reference are gone from them. */
	check_ptr(page_at(child, BASE + PG(1)), shared, "%s: the child's page 1", what);
	check_eq(page_mapcount(shared), 1, "%s: page 1's mapcount", what);
	check_eq(page_ref_count(shared), 1, "%s: page 1's refcount", what);
	check_eq(remote_word(child, BASE, what), TAG, "%s: the child's page 0", what);
	check_eq(remote_word(child, BASE + PG(511), what), TAG + 511, "%s: the child's page 511",
		 what);
	/* 512 for the THP; the parent's copy of page 0 freed; 511 shared pages stay counted for
	 * the child. */
	check_eq(nr_anon() - anon0, 512 - 1, "%s: nr_anon_pages", what);
	expect_invariants(what);
	mmput(child);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

/* The kernel's cow.c "collapsing after fork() (lower shared)": a PTE-mapped THP whose lower
 * half the child shares (the upper half was MADV_DONTFORK), VMAs merged again by MADV_DOFORK,
 * collapsed by the parent, which then writes everything: the child must see none of it. */
static void test_collapse_pte_mapped_thp_lower_shared(void **state)
{
	const char *what = "PTE-mapped THP, lower half shared with a child, collapsed";
	struct mm_struct *mm = *state, *child;
	struct page *old;

	map_tagged_small(what); /* a THP: the machine is in "always" */
	old = page_at(mm, BASE);
	check_eq(vm_mprotect(BASE + PG(1), PAGE_SIZE, PROT_READ), 0, "%s: mprotect", what);
	check_eq(vm_mprotect(BASE + PG(1), PAGE_SIZE, RW), 0, "%s: mprotect back", what);
	check_eq(do_madvise(mm, BASE + PMD_SIZE / 2, PMD_SIZE / 2, MADV_DONTFORK), 0,
		 "%s: MADV_DONTFORK of the upper half", what);
	child = pinmm_fork(mm);
	check_true(!IS_ERR(child), "%s: fork", what);
	check_eq(do_madvise(mm, BASE, PMD_SIZE, MADV_DOFORK), 0, "%s: MADV_DOFORK", what);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: return", what);
	expect_collapsed(mm, what);
	check_true(page_at(mm, BASE) != old, "%s: a new THP", what);
	expect_invariants(what);
	for (unsigned int i = 0; i < NPAGES; i++)
		put_word(BASE + PG(i), 0xff, what);
	for (unsigned int i = 0; i < NPAGES / 2; i++)
		check_eq(remote_word(child, BASE + PG(i), what), TAG + i,
			 "%s: the child's page %u after the parent's writes", what, i);
	check_eq(page_mapcount(page_at(child, BASE)), 1, "%s: the child's page 0 mapcount", what);
	mmput(child);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

/* ---- unexpected references ---- */

static void test_collapse_refuses_pinned_page(void **state)
{
	const char *what = "page 7 pinned by pin_user_pages()";
	struct mm_struct *mm = *state;
	struct page *pages[NPAGES], *pinned = NULL;
	struct counts c0, c1;

	map_tagged_small(what);
	snapshot(mm, pages);
	mmap_read_lock(mm);
	check_eq(pin_user_pages(BASE + PG(7), 1, FOLL_WRITE, &pinned), 1, "%s: pin", what);
	mmap_read_unlock(mm);
	c0 = counts_now(mm);
	check_eq(collapse(mm, BASE, PMD_SIZE), -EAGAIN, "%s: return", what);
	c1 = counts_now(mm);
	expect_unchanged(mm, pages, what);
	check_true(page_maybe_dma_pinned(pinned), "%s: still pinned", what);
	expect_invariants(what);
	/* As Linux, the scan sees the extra reference before any THP is allocated. */
	check_eq(c1.alloc - c0.alloc, 0, "%s: thp_collapse_alloc", what);
	check_eq(c1.free - c0.free, 0, "%s: free pages", what);
	check_eq(c1.rss - c0.rss, 0, "%s: MM_ANONPAGES", what);
	unpin_user_page(pinned);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: after unpin", what);
	expect_collapsed(mm, what);
	expect_tags(BASE, NPAGES, TAG, what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_refuses_foll_get(void **state)
{
	const char *what = "page 300 held by get_user_pages() (FOLL_GET)";
	struct mm_struct *mm = *state;
	struct page *pages[NPAGES], *got = NULL;

	map_tagged_small(what);
	snapshot(mm, pages);
	mmap_read_lock(mm);
	check_eq(get_user_pages(BASE + PG(300), 1, 0, &got), 1, "%s: get", what);
	mmap_read_unlock(mm);
	check_eq(collapse(mm, BASE, PMD_SIZE), -EAGAIN, "%s: return", what);
	expect_unchanged(mm, pages, what);
	check_eq(page_ref_count(got), 2, "%s: the mapping's and ours", what);
	put_page(got);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: after put_page", what);
	expect_collapsed(mm, what);
	expect_tags(BASE, NPAGES, TAG, what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_pinned_pte_mapped_thp(void **state)
{
	const char *what = "a PTE-mapped THP with one subpage pinned";
	struct mm_struct *mm = *state;
	struct page *pages[NPAGES], *pinned = NULL;

	map_tagged_small(what);
	check_eq(vm_mprotect(BASE, PAGE_SIZE, PROT_READ), 0, "%s: mprotect", what);
	check_eq(vm_mprotect(BASE, PAGE_SIZE, RW), 0, "%s: mprotect back", what);
	snapshot(mm, pages);
	check_eq(pin_user_pages_fast(BASE + PG(100), 1, FOLL_WRITE, &pinned), 1, "%s: pin", what);
	check_eq(collapse(mm, BASE, PMD_SIZE), -EAGAIN, "%s: return", what);
	expect_unchanged(mm, pages, what);
	unpin_user_page(pinned);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: after unpin", what);
	expect_collapsed(mm, what);
	expect_tags(BASE, NPAGES, TAG, what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

/* ---- bad input, and what is not collapsed ---- */

static void test_collapse_bad_input(void **state)
{
	struct mm_struct *mm = *state;
	struct page *pages[NPAGES];
	unsigned long alloc0;

	map_tagged_small("bad input");
	snapshot(mm, pages);
	alloc0 = global_vm_event_count(THP_COLLAPSE_ALLOC);
	check_eq(collapse(mm, BASE + 1, PMD_SIZE), -EINVAL, "start not page aligned");
	check_eq(collapse(mm, BASE, 0), 0, "len 0");
	check_eq(collapse(mm, BASE + PG(1), PMD_SIZE - PG(1)), 0,
		 "a range holding no whole aligned block: nothing to do");
	check_eq(collapse(NULL, BASE, PMD_SIZE), -EINVAL, "no mm");
	check_eq(collapse(mm, BASE, 2 * PMD_SIZE), -ENOMEM, "a hole after the block");
	check_eq(collapse(mm, TASK_SIZE - PMD_SIZE, 4 * PMD_SIZE), -EINVAL, "past TASK_SIZE");
	expect_unchanged(mm, pages, "after the bad calls");
	check_eq(global_vm_event_count(THP_COLLAPSE_ALLOC), alloc0, "bad input: no allocation");

	check_eq(do_madvise(mm, BASE, PMD_SIZE, MADV_NOHUGEPAGE), 0, "MADV_NOHUGEPAGE");
	check_eq(collapse(mm, BASE, PMD_SIZE), -EINVAL, "a VMA with MADV_NOHUGEPAGE");
	check_eq(do_madvise(mm, BASE, PMD_SIZE, MADV_HUGEPAGE), 0, "MADV_HUGEPAGE");
	expect_unchanged(mm, pages, "after MADV_NOHUGEPAGE");
	unmap(BASE, PMD_SIZE, "bad input");

	map(BASE, PMD_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, "shared anonymous (shmem)");
	put_word(BASE, 1, "shared anonymous");
	check_eq(collapse(mm, BASE, PMD_SIZE), -EINVAL, "shared anonymous memory (shmem)");
	unmap(BASE, PMD_SIZE, "shared anonymous");

	map(BASE, PMD_SIZE, RW, ANON | MAP_FIXED, "untouched");
	check_eq(collapse(mm, BASE, PMD_SIZE), -EINVAL, "a VMA never faulted (no anon_vma)");
	unmap(BASE, PMD_SIZE, "untouched");

	map(BASE, PMD_SIZE / 2, RW, ANON | MAP_FIXED, "1 MiB VMA");
	put_word(BASE, 1, "1 MiB VMA");
	check_eq(collapse(mm, BASE, PMD_SIZE / 2), -EINVAL, "a VMA smaller than a block");
	unmap(BASE, PMD_SIZE / 2, "1 MiB VMA");
	check_eq(global_vm_event_count(THP_COLLAPSE_ALLOC), alloc0, "unsuitable VMAs: no allocation");
	expect_invariants("bad input");
}

static void test_collapse_hugetlb(void **state)
{
	const char *what = "a 2 MiB hugetlb mapping";
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PMD_SIZE, RW, ANON | MAP_HUGETLB, what);
	struct page *page;

	put_word(addr, 5, what);
	page = page_at(mm, addr);
	check_eq(collapse(mm, addr, PMD_SIZE), -EINVAL, "%s: return", what);
	check_ptr(page_at(mm, addr), page, "%s: the same page", what);
	check_eq(get_word(addr, what), 5, "%s: contents", what);
	unmap(addr, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_partial_failures(void **state)
{
	struct mm_struct *mm = *state;
	const char *what = "4 MiB, the second block never touched";

	map(BASE, 2 * PMD_SIZE, RW, ANON | MAP_FIXED, what);
	tag_pages(BASE, NPAGES, TAG, what);
	/* Linux: the first block collapses, the second has no PTE table (SCAN_PMD_NONE). */
	check_eq(collapse(mm, BASE, 2 * PMD_SIZE), -EINVAL, "%s: return", what);
	expect_collapsed(mm, what);
	expect_tags(BASE, NPAGES, TAG, what);
	expect_level(mm, BASE + PMD_SIZE, LEAF_NONE, "%s: second block", what);
	unmap(BASE, 2 * PMD_SIZE, what);

	what = "a block of zero-page reads only (no writable PTE)";
	map(BASE, PMD_SIZE, RW, ANON | MAP_FIXED, what);
	put_word(BASE, 1, what);
	check_eq(do_madvise(mm, BASE, PAGE_SIZE, MADV_DONTNEED), 0, "%s: zap page 0", what);
	for (unsigned int i = 0; i < NPAGES; i += 8)
		check_eq(get_word(BASE + PG(i), what), 0, "%s: read page %u", what, i);
	check_eq(collapse(mm, BASE, PMD_SIZE), -EINVAL, "%s: return (SCAN_PAGE_RO)", what);
	expect_level(mm, BASE, LEAF_PTE, "%s: still PTEs", what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_alloc_failure(void **state)
{
	const char *what = "the THP allocation fails (fault injection: the next alloc:pages)";
	struct mm_struct *mm = *state;
	struct pinmm_fail_attr attr = {.sites = "alloc:pages", .nth = 1, .times = 1};
	struct page *pages[NPAGES];
	struct counts c0, c1;

	map_tagged_small(what);
	snapshot(mm, pages);
	c0 = counts_now(mm);
	check_eq(pinmm_fail_set(&attr), 0, "%s: arm", what);
	check_eq(collapse(mm, BASE, PMD_SIZE), -ENOMEM, "%s: return", what);
	pinmm_fail_set(NULL);
	c1 = counts_now(mm);
	expect_unchanged(mm, pages, what);
	check_eq(c1.alloc_failed - c0.alloc_failed, 1, "%s: thp_collapse_alloc_failed", what);
	check_eq(c1.alloc - c0.alloc, 0, "%s: thp_collapse_alloc", what);
	check_eq(c1.free - c0.free, 0, "%s: free pages", what);
	check_eq(c1.rss - c0.rss, 0, "%s: MM_ANONPAGES", what);
	expect_invariants(what);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: disarmed, again", what);
	expect_collapsed(mm, what);
	expect_tags(BASE, NPAGES, TAG, what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

/* ---- the mmap lock is dropped while the THP is allocated (Linux's collapse_huge_page()) ---- */

struct during_alloc {
	atomic_bool armed;
	void (*fn)(void);
};

static void hook_during_alloc(const char *point, void *arg)
{
	struct during_alloc *d = arg;

	(void)point;
	if (atomic_exchange(&d->armed, false))
		d->fn();
}

static void write_page_20(void)
{
	put_word(BASE + PG(20) + 64, 0x2020, "a fault while collapse allocates");
}

static void unmap_block(void)
{
	unmap(BASE, PMD_SIZE, "munmap while collapse allocates");
}

static void test_collapse_fault_during_alloc(void **state)
{
	const char *what = "a write fault to an empty PTE of the block while the THP is allocated";
	struct mm_struct *mm = *state;
	struct during_alloc d = {.fn = write_page_20};

	map(BASE, PMD_SIZE, RW, ANON | MAP_FIXED, what);
	put_word(BASE, 1, what);
	atomic_store(&d.armed, true);
	/* The THP is the collapse's first allocation; the fault runs in the hook, which would
	 * deadlock if collapse held the mmap lock there. */
	assert_int_equal(pinmm_hook_set("alloc:pages", hook_during_alloc, &d), 0);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: return", what);
	pinmm_hook_clear_all();
	check_true(!atomic_load(&d.armed), "%s: the hook ran", what);
	expect_collapsed(mm, what);
	check_eq(get_word(BASE, what), 1, "%s: page 0", what);
	check_eq(get_word(BASE + PG(20) + 64, what), 0x2020, "%s: the page written meanwhile",
		 what);
	check_eq(rss_anon(mm), 512, "%s: MM_ANONPAGES", what);
	expect_invariants(what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_vma_gone_during_alloc(void **state)
{
	const char *what = "the block unmapped while the THP is allocated";
	struct mm_struct *mm = *state;
	struct during_alloc d = {.fn = unmap_block};
	struct counts c0, c1;

	map_tagged_small(what);
	c0 = counts_now(mm);
	atomic_store(&d.armed, true);
	assert_int_equal(pinmm_hook_set("alloc:pages", hook_during_alloc, &d), 0);
	/* Linux's hugepage_vma_revalidate() fails: SCAN_VMA_CHECK, -EINVAL. */
	check_eq(collapse(mm, BASE, PMD_SIZE), -EINVAL, "%s: return", what);
	pinmm_hook_clear_all();
	c1 = counts_now(mm);
	expect_level(mm, BASE, LEAF_NONE, "%s: nothing mapped", what);
	check_eq(c1.alloc - c0.alloc, 1, "%s: thp_collapse_alloc (allocated, then freed)", what);
	check_eq(c1.rss, 0, "%s: MM_ANONPAGES", what);
	/* The block's 512 pages are back and the THP too; its page tables follow after an RCU
	 * grace period (up to 3: PTE, PMD and PUD tables), which may or may not have passed. */
	check_true(c1.free - c0.free >= 512 && c1.free - c0.free <= 515,
		   "%s: free pages grew by %ld, expected 512..515", what, c1.free - c0.free);
	expect_invariants(what);
}

/* ---- races with GUP-fast, through the hooks ---- */

struct race {
	struct mm_struct *mm;
	unsigned long addr;
	sem_t in_walk, pmd_cleared, go;
	atomic_bool armed;
	pthread_t pinner;
	int pinned;
	struct page *page;
};

static void sem_wait_5s(sem_t *sem, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	if (sem_timedwait(sem, &ts))
		test_fail("race: timed out waiting for %s", what);
}

/* In the pinner, between its read of the PTE and its grab: let collapse clear the PMD. */
static void hook_pte_read(const char *point, void *arg)
{
	struct race *r = arg;

	(void)point;
	if (!pthread_equal(pthread_self(), r->pinner) || !atomic_exchange(&r->armed, false))
		return;
	sem_post(&r->in_walk);
	sem_wait_5s(&r->pmd_cleared, "collapse to clear the PMD");
	/* Grab late: a collapse that counted references without waiting for this walk would
	 * have counted them by now, and freed the page this walk is about to grab. */
	usleep(50 * 1000);
}

/* In collapse, before it clears the PMD: wait until the pinner has read the PTE. */
static void hook_allocated(const char *point, void *arg)
{
	(void)point;
	sem_wait_5s(&((struct race *)arg)->in_walk, "the pinner to read the PTE");
}

static void hook_pmd_cleared(const char *point, void *arg)
{
	(void)point;
	sem_post(&((struct race *)arg)->pmd_cleared);
}

/* In collapse, once the PMD is cleared: start the pinner only now. */
static void hook_pmd_cleared_go(const char *point, void *arg)
{
	(void)point;
	sem_post(&((struct race *)arg)->go);
}

static void *pinner(void *arg)
{
	struct race *r = arg;

	kthread_use_mm(r->mm);
	sem_wait_5s(&r->go, "the start signal");
	r->pinned = pin_user_pages_fast(r->addr, 1, FOLL_WRITE, &r->page);
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void race_init(struct race *r, struct mm_struct *mm, unsigned long addr)
{
	*r = (struct race){.mm = mm, .addr = addr};
	sem_init(&r->in_walk, 0, 0);
	sem_init(&r->pmd_cleared, 0, 0);
	sem_init(&r->go, 0, 0);
	atomic_store(&r->armed, true);
	assert_int_equal(pthread_create(&r->pinner, NULL, pinner, r), 0);
}

static void race_destroy(struct race *r)
{
	assert_int_equal(pthread_join(r->pinner, NULL), 0);
	pinmm_hook_clear_all();
	sem_destroy(&r->in_walk);
	sem_destroy(&r->pmd_cleared);
	sem_destroy(&r->go);
}

static void test_collapse_race_gup_fast_in_walk(void **state)
{
	const char *what = "GUP-fast read page 5's PTE before the PMD was cleared, grabs after";
	struct mm_struct *mm = *state;
	struct page *pages[NPAGES];
	struct race r;

	map_tagged_small(what);
	snapshot(mm, pages);
	race_init(&r, mm, BASE + PG(5));
	assert_int_equal(pinmm_hook_set("gup_fast:pte_read", hook_pte_read, &r), 0);
	assert_int_equal(pinmm_hook_set("khugepaged:collapse_allocated", hook_allocated, &r), 0);
	assert_int_equal(pinmm_hook_set("khugepaged:collapse_pmd_cleared", hook_pmd_cleared, &r),
			 0);
	sem_post(&r.go);
	/* Collapse must wait for the walk to end and then see the pin. */
	check_eq(collapse(mm, BASE, PMD_SIZE), -EAGAIN, "%s: return", what);
	race_destroy(&r);
	check_eq(r.pinned, 1, "%s: the pin", what);
	check_ptr(r.page, pages[5], "%s: the pinned page is the one mapped", what);
	expect_unchanged(mm, pages, what);
	check_true(page_maybe_dma_pinned(r.page), "%s: pinned", what);
	check_eq(*(unsigned long *)page_address(r.page), TAG + 5, "%s: the pinned page's data", what);
	expect_invariants(what);
	unpin_user_page(r.page);
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: after unpin", what);
	expect_collapsed(mm, what);
	expect_tags(BASE, NPAGES, TAG, what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

static void test_collapse_race_gup_fast_after_clear(void **state)
{
	const char *what = "GUP-fast of page 9 starts after the PMD was cleared";
	struct mm_struct *mm = *state;
	struct page *head;
	struct race r;

	map_tagged_small(what);
	race_init(&r, mm, BASE + PG(9));
	assert_int_equal(
		pinmm_hook_set("khugepaged:collapse_pmd_cleared", hook_pmd_cleared_go, &r), 0);
	/* The pinner finds the PMD none, falls back to the slow path and waits for the mmap
	 * lock; it pins the new THP's subpage. */
	check_eq(collapse(mm, BASE, PMD_SIZE), 0, "%s: return", what);
	race_destroy(&r);
	head = expect_collapsed(mm, what);
	check_eq(r.pinned, 1, "%s: the pin", what);
	check_ptr(r.page, head + 9, "%s: the pin is on the THP's subpage", what);
	check_eq(*(unsigned long *)page_address(r.page), TAG + 9, "%s: the pinned page's data", what);
	unpin_user_page(r.page);
	expect_tags(BASE, NPAGES, TAG, what);
	unmap(BASE, PMD_SIZE, what);
	expect_invariants(what);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_collapse_small_pages, setup_never, teardown),
		cmocka_unit_test_setup_teardown(test_collapse_with_none_and_zero_ptes, setup_never,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_pte_mapped_thp, setup_always,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_pmd_mapped_is_done, setup_always,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_after_fork, setup_never, teardown),
		cmocka_unit_test_setup_teardown(test_collapse_pte_mapped_thp_lower_shared,
						setup_always, teardown),
		cmocka_unit_test_setup_teardown(test_collapse_refuses_pinned_page, setup_never,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_refuses_foll_get, setup_never,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_pinned_pte_mapped_thp, setup_always,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_bad_input, setup_never, teardown),
		cmocka_unit_test_setup_teardown(test_collapse_hugetlb, setup_hugetlb, teardown),
		cmocka_unit_test_setup_teardown(test_collapse_partial_failures, setup_never,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_alloc_failure, setup_never, teardown),
		cmocka_unit_test_setup_teardown(test_collapse_fault_during_alloc, setup_never,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_vma_gone_during_alloc, setup_never,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_race_gup_fast_in_walk, setup_never,
						teardown),
		cmocka_unit_test_setup_teardown(test_collapse_race_gup_fast_after_clear,
						setup_never, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
