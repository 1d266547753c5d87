/* SPDX-License-Identifier: MIT */
/*
 * vm_mremap(), mremap(2) with Linux 5.7's rules: shrinking, growing in place, moving small
 * pages, THPs (whole, to a 2 MiB aligned destination, or split), shared file pages, pinned
 * pages; MREMAP_FIXED, MREMAP_DONTUNMAP, the old_len 0 duplicate of a shared mapping; hugetlb
 * (shrink only); the cow.c catalogue's "partially mremap'd THP" (half of a THP moved, so that
 * it is PTE-mapped in two places, both found by the reverse map, also after fork); reverse-map
 * walks during a move and across the aliasing VMAs MREMAP_DONTUNMAP leaves; writeback of a moved
 * file mapping; and every bad argument, which returns its errno and leaves the address space as
 * it was.
 *
 * Tests with several mappings draw their layout first, as Linux's tools/testing/vma tests do:
 * one letter per 1 MiB (or per page, said so), '.' for nothing mapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "test_mm_util.h"
#include "test_race.h"

#define BASE 0x40000000UL /* 1 GiB: 2 MiB (and 1 GiB) aligned */
#define SZ_1M (1UL << 20)

static unsigned long mremap_ok(unsigned long addr, unsigned long old_len, unsigned long new_len,
			       unsigned long flags, unsigned long new_addr, const char *what)
{
	unsigned long ret = vm_mremap(addr, old_len, new_len, flags, new_addr);

	if (IS_ERR_VALUE(ret))
		test_fail("%s: vm_mremap(%#lx, %#lx, %#lx, flags %#lx, %#lx) failed with %ld", what,
			  addr, old_len, new_len, flags, new_addr, (long)ret);
	return ret;
}

/* Is [addr, addr + len) exactly covered by one VMA, and nothing else? */
static void expect_vma(struct mm_struct *mm, unsigned long addr, unsigned long len,
		       const char *what)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || vma->vm_start != addr || vma->vm_end != addr + len) {
		unsigned long s = vma ? vma->vm_start : 0, e = vma ? vma->vm_end : 0;

		mmap_read_unlock(mm);
		test_fail("%s: expected one VMA [%#lx, %#lx), found [%#lx, %#lx)", what, addr,
			  addr + len, s, e);
	}
	mmap_read_unlock(mm);
}

static void expect_unmapped(struct mm_struct *mm, unsigned long addr, unsigned long len,
			    const char *what)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start < addr + len) {
		unsigned long s = vma->vm_start, e = vma->vm_end;

		mmap_read_unlock(mm);
		test_fail("%s: expected nothing in [%#lx, %#lx), found a VMA [%#lx, %#lx)", what,
			  addr, addr + len, s, e);
	}
	mmap_read_unlock(mm);
}

/* ---- the address space as a whole: VMAs and the pages they map, before and after ---- */

#define SNAP_MAX 64
#define SNAP_PAGES 1024

struct snapshot {
	unsigned long nr;
	unsigned long start[SNAP_MAX], end[SNAP_MAX], flags[SNAP_MAX];
	unsigned long npages;
	unsigned long addr[SNAP_PAGES];
	struct page *page[SNAP_PAGES];
	long rss;
};

/* Every VMA, and the page mapped at each of the first SNAP_PAGES mapped pages. */
static void snapshot(struct mm_struct *mm, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	mmap_read_lock(mm);
	for (unsigned long i = 0; i < mm->nr_vmas && i < SNAP_MAX; i++) {
		struct vm_area_struct *v = mm->vmas[i];

		s->start[s->nr] = v->vm_start;
		s->end[s->nr] = v->vm_end;
		s->flags[s->nr++] = v->vm_flags;
		for (unsigned long a = v->vm_start; a < v->vm_end && s->npages < SNAP_PAGES;
		     a += PAGE_SIZE) {
			s->addr[s->npages] = a;
			s->page[s->npages++] = page_at(mm, a);
		}
	}
	mmap_read_unlock(mm);
	s->rss = rss_anon(mm);
}

static void expect_same(struct mm_struct *mm, const struct snapshot *before, const char *what)
{
	static struct snapshot now;

	snapshot(mm, &now);
	check_eq(now.nr, before->nr, "%s: number of VMAs", what);
	for (unsigned long i = 0; i < now.nr; i++) {
		check_eq(now.start[i], before->start[i], "%s: start of VMA %lu", what, i);
		check_eq(now.end[i], before->end[i], "%s: end of VMA %lu", what, i);
		check_eq(now.flags[i], before->flags[i], "%s: flags of VMA %lu", what, i);
	}
	check_eq(now.npages, before->npages, "%s: pages looked at", what);
	for (unsigned long i = 0; i < now.npages; i++)
		check_ptr(now.page[i], before->page[i], "%s: page mapped at %#lx", what,
			  now.addr[i]);
	check_eq(now.rss, before->rss, "%s: MM_ANONPAGES", what);
}

static void expect_err(unsigned long ret, long err, const char *what)
{
	if (!IS_ERR_VALUE(ret) || (long)ret != err)
		test_fail("%s: vm_mremap returned %ld, expected %ld", what, (long)ret, err);
}

/* ---- bad arguments ---- */

/*
 * Layout (1 MiB a letter):  A A . . B B B B C C . . .
 *   A: 2 MiB private anon at BASE, touched; B: 4 MiB shared shmem at BASE + 4M;
 *   C: 2 MiB private anon at BASE + 8M, touched; then BASE + 10M is free.
 */
static void test_bad_arguments_change_nothing(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = BASE, b = BASE + 4 * SZ_1M, c = BASE + 8 * SZ_1M;
	static struct snapshot before;
	struct {
		const char *what;
		unsigned long addr, old_len, new_len, flags, new_addr;
		long err;
	} cases[] = {
		{"unknown flag", a, SZ_1M, SZ_1M, 8, 0, -EINVAL},
		{"MREMAP_FIXED without MREMAP_MAYMOVE", a, SZ_1M, SZ_1M, MREMAP_FIXED, BASE + 20 * SZ_1M,
		 -EINVAL},
		{"MREMAP_DONTUNMAP without MREMAP_MAYMOVE", a, SZ_1M, SZ_1M, MREMAP_DONTUNMAP, 0,
		 -EINVAL},
		{"MREMAP_DONTUNMAP growing", a, SZ_1M, 2 * SZ_1M, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0,
		 -EINVAL},
		{"misaligned addr", a + 1, SZ_1M, 2 * SZ_1M, MREMAP_MAYMOVE, 0, -EINVAL},
		{"new_len 0", a, SZ_1M, 0, MREMAP_MAYMOVE, 0, -EINVAL},
		{"MREMAP_FIXED to a misaligned address", a, SZ_1M, SZ_1M,
		 MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 20 * SZ_1M + 8, -EINVAL},
		{"MREMAP_FIXED overlapping the old range", a, 2 * SZ_1M, 2 * SZ_1M,
		 MREMAP_MAYMOVE | MREMAP_FIXED, a + SZ_1M, -EINVAL},
		{"MREMAP_FIXED past TASK_SIZE", a, SZ_1M, SZ_1M, MREMAP_MAYMOVE | MREMAP_FIXED,
		 TASK_SIZE - PAGE_SIZE, -EINVAL},
		{"MREMAP_FIXED below MMAP_MIN_ADDR", a, SZ_1M, SZ_1M, MREMAP_MAYMOVE | MREMAP_FIXED,
		 0, -EPERM},
		{"nothing mapped at addr", BASE + 2 * SZ_1M, SZ_1M, 2 * SZ_1M, MREMAP_MAYMOVE, 0,
		 -EFAULT},
		{"nothing mapped at addr (shrink)", BASE + 2 * SZ_1M, 2 * SZ_1M, SZ_1M, 0, 0, -EFAULT},
		{"old range past its VMA, growing", a, 3 * SZ_1M, 4 * SZ_1M, MREMAP_MAYMOVE, 0,
		 -EFAULT},
		{"old range past its VMA, moving", a, 3 * SZ_1M, 3 * SZ_1M,
		 MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 20 * SZ_1M, -EFAULT},
		{"old_len past the address space", a, TASK_SIZE, 2 * SZ_1M, MREMAP_MAYMOVE, 0,
		 -EFAULT},
		{"growing in place into B without MREMAP_MAYMOVE", a, 2 * SZ_1M, 6 * SZ_1M, 0, 0,
		 -ENOMEM},
		{"new_len past the address space", a, 2 * SZ_1M, TASK_SIZE + PAGE_SIZE,
		 MREMAP_MAYMOVE, 0, -ENOMEM},
		{"old_len 0 on a private mapping", a, 0, SZ_1M, MREMAP_MAYMOVE, 0, -EINVAL},
		{"MREMAP_DONTUNMAP on a shared mapping", b, SZ_1M, SZ_1M,
		 MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0, -EINVAL},
	};

	map(a, 2 * SZ_1M, RW, ANON | MAP_FIXED, "A");
	map(b, 4 * SZ_1M, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, "B");
	map(c, 2 * SZ_1M, RW, ANON | MAP_FIXED, "C");
	tag_pages(a, 512, 0xa000, "A");
	tag_pages(b, 16, 0xb000, "B");
	tag_pages(c, 512, 0xc000, "C");
	snapshot(mm, &before);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long ret = vm_mremap(cases[i].addr, cases[i].old_len, cases[i].new_len,
					      cases[i].flags, cases[i].new_addr);

		expect_err(ret, cases[i].err, cases[i].what);
		expect_same(mm, &before, cases[i].what);
	}
	expect_tags(a, 512, 0xa000, "A after the refusals");
	expect_tags(b, 16, 0xb000, "B after the refusals");
	expect_tags(c, 512, 0xc000, "C after the refusals");

	/* Without a current mm. */
	kthread_unuse_mm(mm);
	expect_err(vm_mremap(a, SZ_1M, SZ_1M, 0, 0), -ESRCH, "no current mm");
	kthread_use_mm(mm);
	expect_same(mm, &before, "no current mm");
}

/* ---- shrink and grow ---- */

static void test_shrink_unmaps_the_tail(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(0, PG(8), RW, ANON, "8 pages");
	long free0;

	tag_pages(a, 8, 0x100, "8 pages");
	free0 = nr_free();
	check_eq(mremap_ok(a, PG(8), PG(3), 0, 0, "shrink 8 -> 3 pages"), a, "shrink keeps addr");
	expect_vma(mm, a, PG(3), "after the shrink");
	expect_unmapped(mm, a + PG(3), PG(5), "the tail");
	expect_tags(a, 3, 0x100, "the head after the shrink");
	check_eq(nr_free(), free0 + 5, "free pages after five were unmapped");
	check_eq(rss_anon(mm), 3, "MM_ANONPAGES after the shrink");
	check_eq(mremap_ok(a, PG(3), PG(3), 0, 0, "same size"), a, "same size keeps addr");
	unmap(a, PG(3), "the rest");
}

/* Layout (pages): A A A A . . . . B  ->  A A A A A A . . B (in place)  ->  can't: moves. */
static void test_grow_in_place_then_move(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = BASE, b = BASE + PG(8), moved;
	struct page *pages[4];

	map(a, PG(4), RW, ANON | MAP_FIXED, "A");
	map(b, PG(1), RW, ANON | MAP_FIXED, "B");
	tag_pages(a, 4, 0x200, "A");
	for (int i = 0; i < 4; i++)
		pages[i] = page_at(mm, a + PG(i));
	check_eq(mremap_ok(a, PG(4), PG(6), 0, 0, "grow 4 -> 6 pages in place"), a,
		 "grown in place");
	expect_vma(mm, a, PG(6), "after growing in place");
	expect_tags(a, 4, 0x200, "A grown");
	check_eq(get_word(a + PG(5), "the new page"), 0, "a new page reads as zero");
	put_word(a + PG(5), 0x205, "the new page");

	/* No room before B: without MREMAP_MAYMOVE that is -ENOMEM, with it the pages move. */
	expect_err(vm_mremap(a, PG(6), PG(12), 0, 0), -ENOMEM, "grow into B without MAYMOVE");
	moved = mremap_ok(a, PG(6), PG(12), MREMAP_MAYMOVE, 0, "grow 6 -> 12 pages, moving");
	check_true(moved != a, "the mapping moved (got %#lx)", moved);
	expect_vma(mm, moved, PG(12), "the moved mapping");
	expect_unmapped(mm, a, PG(8), "the old place");
	for (int i = 0; i < 4; i++) {
		check_ptr(page_at(mm, moved + PG(i)), pages[i], "page %d after the move", i);
		check_eq(page_mapcount(pages[i]), 1, "mapcount of page %d after the move", i);
		check_eq(page_ref_count(pages[i]), 1, "refcount of page %d after the move", i);
	}
	expect_tags(moved, 4, 0x200, "moved");
	check_eq(get_word(moved + PG(5), "moved page 5"), 0x205, "page 5 moved");
	check_eq(rss_anon(mm), 5, "MM_ANONPAGES after the move (pages 0-3 and 5)");
	unmap(moved, PG(12), "moved");
	unmap(b, PG(1), "B");
}

/* ---- moving small pages ---- */

/* Layout (1 MiB a letter):  A . . . D D  ->  . . . . A D (FIXED replaces D's first MiB). */
static void test_fixed_move_replaces_the_destination(void **state)
{
	struct mm_struct *mm = *state;
	/* D holds no aligned 2 MiB block: small pages only, so that unmapping frees them. */
	unsigned long a = BASE, d = BASE + 4 * SZ_1M + PG(16);
	struct page *first = NULL, *last;
	long free0;

	map(a, SZ_1M, RW, ANON | MAP_FIXED, "A");
	map(d, 2 * SZ_1M, RW, ANON | MAP_FIXED | MAP_NORESERVE, "D");
	tag_pages(a, 256, 0x300, "A");
	tag_pages(d, 512, 0xd00, "D");
	first = page_at(mm, a);
	last = page_at(mm, a + SZ_1M - PAGE_SIZE);
	free0 = nr_free();
	check_eq(mremap_ok(a, SZ_1M, SZ_1M, MREMAP_MAYMOVE | MREMAP_FIXED, d, "A onto D"), d,
		 "MREMAP_FIXED returns new_addr");
	expect_unmapped(mm, a, SZ_1M, "A's old place");
	check_ptr(page_at(mm, d), first, "A's first page at D");
	check_ptr(page_at(mm, d + SZ_1M - PAGE_SIZE), last, "A's last page at D");
	expect_tags(d, 256, 0x300, "A at D");
	expect_tags(d + SZ_1M, 256, 0xd00 + 256, "D's second MiB is D's");
	/* D's first MiB (256 pages) went; page tables may come and go as well. */
	check_true(nr_free() >= free0 + 256, "D's replaced pages are freed (%ld -> %ld)", free0,
		   nr_free());
	check_eq(rss_anon(mm), 512, "MM_ANONPAGES");
	unmap(d, 2 * SZ_1M, "D");
}

/* A pinned page moved by mremap stays pinned and stays the same page: what the device writes
 * shows at the new address. */
static void test_pinned_page_moves_pinned(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(0, PG(4), RW, ANON, "4 pages"), to;
	struct page *page;
	long acquired;

	tag_pages(a, 4, 0x400, "4 pages");
	assert_int_equal(pin_user_pages_fast(a + PG(2), 1, FOLL_WRITE, &page), 1);
	acquired = nr_acquired();
	to = mremap_ok(a, PG(4), PG(4), MREMAP_MAYMOVE | MREMAP_FIXED, BASE + SZ_2M, "move");
	check_ptr(page_at(mm, to + PG(2)), page, "the pinned page at the new address");
	check_true(page_maybe_dma_pinned(page), "the moved page is still pinned");
	check_eq(page_ref_count(page), 1 + GUP_PIN_COUNTING_BIAS, "refcount of the moved page");
	check_eq(page_mapcount(page), 1, "mapcount of the moved page");
	check_eq(nr_acquired(), acquired, "mremap takes no pin");
	*(unsigned long *)page_address(page) = 0xdeadbeef; /* the "device" writes */
	check_eq(get_word(to + PG(2), "new address"), 0xdeadbeef, "the device's write");
	unpin_user_pages_dirty_lock(&page, 1, true);
	check_eq(page_ref_count(page), 1, "refcount after the unpin");
	unmap(to, PG(4), "moved");
}

/* ---- THP ---- */

struct thp_counts {
	unsigned long split_pmd;
	long anon_thps;
};

static struct thp_counts thp_counts(void)
{
	return (struct thp_counts){global_vm_event_count(THP_SPLIT_PMD),
				   global_node_page_state(NR_ANON_THPS)};
}

/* A PMD-mapped THP at BASE (its first word of each subpage tagged). */
static struct page *map_thp(struct mm_struct *mm, unsigned long addr, const char *what)
{
	map(addr, SZ_2M, RW, ANON | MAP_FIXED, what);
	tag_pages(addr, 512, 0x7000, what);
	expect_level(mm, addr, LEAF_PMD, "%s", what);
	return page_at(mm, addr);
}

static void test_thp_to_aligned_destination_stays_pmd_mapped(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thp(mm, BASE, "THP");
	struct thp_counts c0 = thp_counts();
	unsigned long to = BASE + 16 * SZ_2M;

	check_eq(mremap_ok(BASE, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED, to, "THP move"), to,
		 "moved to");
	expect_level(mm, to, LEAF_PMD, "THP at a 2 MiB aligned destination");
	check_ptr(page_at(mm, to), head, "the same THP");
	check_eq(compound_mapcount(head), 1, "compound_mapcount");
	check_eq(page_mapcount(head + 7), 1, "mapcount of subpage 7");
	check_eq(thp_counts().split_pmd, c0.split_pmd, "THP_SPLIT_PMD (no split)");
	check_eq(thp_counts().anon_thps, c0.anon_thps, "NR_ANON_THPS");
	expect_tags(to, 512, 0x7000, "moved THP");
	expect_unmapped(mm, BASE, SZ_2M, "the old place");
	/* The deposited table went with it: a partial munmap splits the PMD. */
	unmap(to + SZ_1M, SZ_1M, "half of the moved THP");
	expect_level(mm, to, LEAF_PTE, "after unmapping half");
	expect_tags(to, 256, 0x7000, "the half left");
	unmap(to, SZ_1M, "the rest");
}

static void test_thp_to_unaligned_destination_is_split(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thp(mm, BASE, "THP");
	struct thp_counts c0 = thp_counts();
	unsigned long to = BASE + 16 * SZ_2M + PG(3);

	mremap_ok(BASE, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED, to, "THP move");
	check_eq(thp_counts().split_pmd, c0.split_pmd + 1, "THP_SPLIT_PMD");
	for (unsigned long i = 0; i < 512; i += 73) {
		expect_level(mm, to + PG(i), LEAF_PTE, "subpage %lu after the move", i);
		check_ptr(page_at(mm, to + PG(i)), head + i, "subpage %lu", i);
		check_eq(page_mapcount(head + i), 1, "mapcount of subpage %lu", i);
	}
	check_eq(compound_mapcount(head), 0, "compound_mapcount after the split");
	check_eq(page_ref_count(head), 512, "one reference per PTE");
	expect_tags(to, 512, 0x7000, "moved THP");
	check_eq(rss_anon(mm), 512, "MM_ANONPAGES");
	unmap(to, SZ_2M, "moved");
}

/*
 * The cow.c catalogue's "partially mremap'd THP": the second half of a THP moves to a fresh
 * (PROT_NONE) mapping, so the THP is PTE-mapped in two places. Both are found by the reverse
 * map: try_to_unmap() of the THP leaves none of it mapped.
 */
static void test_partially_mremapped_thp(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thp(mm, BASE, "THP");
	unsigned long half = SZ_2M / 2;
	unsigned long dst = map(BASE + 8 * SZ_2M, half, PROT_NONE, ANON | MAP_FIXED, "target");

	check_eq(mremap_ok(BASE + half, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, dst,
			   "second half"),
		 dst, "moved to the target");
	expect_vma(mm, BASE, half, "the first half stays");
	expect_vma(mm, dst, half, "the second half, with the old VMA's protection");
	expect_level(mm, BASE, LEAF_PTE, "first half");
	expect_level(mm, dst, LEAF_PTE, "second half");
	for (unsigned long i = 0; i < 256; i += 51) {
		check_ptr(page_at(mm, BASE + PG(i)), head + i, "subpage %lu in place", i);
		check_ptr(page_at(mm, dst + PG(i)), head + 256 + i, "subpage %lu moved", 256 + i);
	}
	for (unsigned long i = 0; i < 512; i++)
		check_eq(page_mapcount(head + i), 1, "mapcount of subpage %lu", i);
	check_eq(compound_mapcount(head), 0, "no PMD maps it");
	expect_tags(BASE, 256, 0x7000, "first half");
	expect_tags(dst, 256, 0x7000 + 256, "second half");
	put_word(dst, 0x1234, "a write through the moved half");
	check_eq(*(unsigned long *)page_address(head + 256), 0x1234, "the write reached the THP");

	/* The reverse map finds every subpage in both places. */
	get_page(head);
	lock_page(head);
	check_true(try_to_unmap(head), "try_to_unmap() unmapped the THP from both places");
	unlock_page(head);
	check_eq(page_ref_count(head), 1, "only our reference remains");
	expect_level(mm, BASE, LEAF_NONE, "first half after try_to_unmap");
	expect_level(mm, dst, LEAF_NONE, "second half after try_to_unmap");
	put_page(head);
	unmap(BASE, half, "first half");
	unmap(dst, half, "second half");
}

/* The same THP after fork: every subpage is mapped twice; a write on either side copies one
 * subpage (5.7's COW of a PTE-mapped THP) and the other side keeps the old data. */
static void test_partially_mremapped_thp_after_fork(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct page *head = map_thp(mm, BASE, "THP");
	unsigned long half = SZ_2M / 2, dst = BASE + 8 * SZ_2M;

	mremap_ok(BASE + half, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, dst, "second half");
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	check_eq(page_mapcount(head + 3), 2, "subpage 3 after fork");
	check_eq(page_mapcount(head + 259), 2, "subpage 259 (moved) after fork");
	put_word(dst + PG(3), 0xbeef, "the parent writes to the moved half");
	check_true(page_at(mm, dst + PG(3)) != head + 259, "the parent's write copied subpage 259");
	check_eq(remote_word(child, dst + PG(3), "the child's moved half"), 0x7000 + 259,
		 "the child keeps subpage 259's data");
	check_ptr(page_at(child, dst + PG(3)), head + 259, "the child still maps subpage 259");
	check_eq(page_mapcount(head + 259), 1, "subpage 259 after the parent's COW");
	remote_put_word(child, BASE, 0xcafe, "the child writes to the first half");
	check_eq(get_word(BASE, "the parent's first half"), 0x7000, "the parent keeps subpage 0");
	mmput(child);
	for (unsigned long i = 0; i < 256; i += 85)
		check_eq(page_mapcount(head + i), 1, "subpage %lu after the child went", i);
	unmap(BASE, half, "first half");
	unmap(dst, half, "second half");
}

/*
 * Every allocation of a move failing in turn (the Nth for N = 1, 2, ... until the move
 * succeeds, as SQLite's tests do): each failure is -ENOMEM and leaves the VMAs, the pages
 * mapped at each address and the rss as they were. The move needs a VMA, room in the VMA
 * array, and page tables at the destination (a THP split on the way).
 */
static void test_move_under_fault_injection(void **state)
{
	struct mm_struct *mm = *state;
	struct page *head = map_thp(mm, BASE, "THP");
	unsigned long from = BASE + SZ_1M, to = BASE + 64 * SZ_2M + PG(5), n, ret = 0;
	static struct snapshot before;
	unsigned long injected0 = pinmm_fail_injected();
	char what[64];

	if (pinmm_fail_set(NULL) == -EOPNOTSUPP) {
		skip(); /* built with HOOKS=0 */
		return;
	}
	for (n = 1; n < 100; n++) {
		struct pinmm_fail_attr attr = {.nth = n};

		snapshot(mm, &before);
		assert_int_equal(pinmm_fail_set(&attr), 0);
		ret = vm_mremap(from, SZ_1M, SZ_1M, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		pinmm_fail_set(NULL);
		if (!IS_ERR_VALUE(ret))
			break;
		snprintf(what, sizeof(what), "the move with allocation %lu failing", n);
		check_eq((long)ret, -ENOMEM, "%s", what);
		expect_same(mm, &before, what);
		expect_unmapped(mm, to, SZ_1M, what);
	}
	check_eq(ret, to, "the move once no allocation fails (after %lu)", n);
	check_true(n > 2 && pinmm_fail_injected() > injected0, "allocations failed on the way");
	for (unsigned long i = 0; i < 256; i += 51)
		check_ptr(page_at(mm, to + PG(i)), head + 256 + i, "subpage %lu moved", 256 + i);
	expect_tags(BASE, 256, 0x7000, "the first half");
	expect_tags(to, 256, 0x7000 + 256, "the moved half");
	unmap(BASE, SZ_1M, "first half");
	unmap(to, SZ_1M, "moved half");
}

/* ---- MREMAP_DONTUNMAP ---- */

static void test_dontunmap_leaves_the_old_vma_empty(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(0, PG(4), RW, ANON, "4 pages"), to;
	struct page *p0;

	tag_pages(a, 4, 0x500, "4 pages");
	p0 = page_at(mm, a);
	to = mremap_ok(a, PG(4), PG(4), MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0, "DONTUNMAP");
	check_true(to != a, "moved somewhere (%#lx)", to);
	expect_vma(mm, a, PG(4), "the old VMA stays");
	expect_vma(mm, to, PG(4), "the new VMA");
	check_ptr(page_at(mm, to), p0, "page 0 moved");
	check_eq(page_mapcount(p0), 1, "mapcount of page 0");
	expect_level(mm, a, LEAF_NONE, "the old range is empty");
	expect_tags(to, 4, 0x500, "moved");
	check_eq(get_word(a, "old range"), 0, "the old range faults in zeroes");
	put_word(a, 0x501, "old range");
	check_true(page_at(mm, a) != p0, "a new page in the old range");
	check_eq(get_word(to, "moved"), 0x500, "the moved page kept its data");
	unmap(a, PG(4), "old");
	unmap(to, PG(4), "new");
}

/*
 * MREMAP_DONTUNMAP leaves two VMAs of one anon_vma over the same page offsets: the old, empty
 * one and the new one. A new THP faulted at the old address is indexed like the moved one, so
 * a reverse-map walk for the moved THP also looks at the old address, and must leave the THP
 * it finds there alone (Linux splits a PMD there only if it maps the page walked for).
 * Found failing at c7cf049: page_vma_mapped_pte() split whatever PMD leaf it found.
 */
static void test_rmap_walk_leaves_an_aliasing_thp_alone(void **state)
{
	struct mm_struct *mm = *state;
	struct page *moved = map_thp(mm, BASE, "THP"), *other;
	unsigned long to = BASE + 16 * SZ_2M, splits;

	mremap_ok(BASE, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to,
		  "DONTUNMAP move of the THP");
	expect_level(mm, to, LEAF_PMD, "the moved THP");
	put_word(BASE, 0x0de, "a new THP in the old VMA");
	expect_level(mm, BASE, LEAF_PMD, "the new THP");
	other = page_at(mm, BASE);
	check_true(other != moved && other->index == moved->index,
		   "the new THP is another page with the moved one's index");
	splits = global_vm_event_count(THP_SPLIT_PMD);
	get_page(moved);
	lock_page(moved);
	check_true(try_to_unmap(moved), "try_to_unmap() of the moved THP");
	unlock_page(moved);
	put_page(moved);
	expect_level(mm, BASE, LEAF_PMD, "the other THP after the walk");
	check_eq(global_vm_event_count(THP_SPLIT_PMD), splits + 1, "THP_SPLIT_PMD: the moved one's");
	check_eq(get_word(BASE, "the other THP"), 0x0de, "the other THP's data");
	unmap(BASE, SZ_2M, "old VMA");
	unmap(to, SZ_2M, "new VMA");
}

/* ---- shared file pages ---- */

static void test_shared_shmem_move_and_duplicate(void **state)
{
	struct mm_struct *mm = *state;
	struct file *f = shmem_file_setup("mremap", (loff_t)PG(4), 0);
	unsigned long a, to, dup;
	struct page *p1;

	assert_false(IS_ERR(f));
	a = vm_mmap(f, 0, PG(4), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(a));
	tag_pages(a, 4, 0x600, "shmem");
	p1 = page_at(mm, a + PG(1));
	to = mremap_ok(a, PG(4), PG(4), MREMAP_MAYMOVE | MREMAP_FIXED, BASE + SZ_2M, "move shmem");
	check_ptr(page_at(mm, to + PG(1)), p1, "the page cache's page moved");
	check_eq(page_mapcount(p1), 1, "mapcount of the shmem page");
	check_ptr(find_get_page(f->f_mapping, 1), p1, "the page cache still holds it");
	put_page(p1); /* find_get_page()'s */

	/* old_len 0: the same pages mapped a second time. */
	dup = mremap_ok(to, 0, PG(4), MREMAP_MAYMOVE, 0, "duplicate");
	expect_vma(mm, to, PG(4), "the original stays");
	expect_tags(dup, 4, 0x600, "the duplicate");
	check_ptr(page_at(mm, dup + PG(1)), p1, "the duplicate maps the same page");
	check_eq(page_mapcount(p1), 2, "mapcount: two mappings");

	/* The reverse map finds the moved mapping: try_to_unmap() leaves it unmapped. */
	lock_page(p1);
	check_true(try_to_unmap(p1), "try_to_unmap() of the shmem page");
	unlock_page(p1);
	expect_level(mm, to + PG(1), LEAF_NONE, "the moved mapping after try_to_unmap");
	expect_level(mm, dup + PG(1), LEAF_NONE, "the duplicate after try_to_unmap");
	check_eq(get_word(to + PG(1), "refault"), 0x601, "refaults from the page cache");
	unmap(to, PG(4), "moved");
	unmap(dup, PG(4), "duplicate");
	fput(f);
}

/* A shared mapping of a host file, moved: writeback's page_mkclean() finds the moved PTE
 * through i_mmap (it comes out clean and write-protected) and the data reaches the file. */
static void test_moved_host_file_mapping_is_written_back(void **state)
{
	struct mm_struct *mm = *state;
	struct file *f = filp_open("/tmp", O_TMPFILE | O_RDWR, 0600);
	unsigned long a, to, word = 0;

	if (IS_ERR(f) && (PTR_ERR(f) == -EOPNOTSUPP || PTR_ERR(f) == -EISDIR)) {
		skip(); /* no O_TMPFILE in the host's /tmp */
		return;
	}
	assert_false(IS_ERR(f));
	assert_int_equal(vfs_truncate(f, (loff_t)PG(2)), 0);
	a = vm_mmap(f, 0, PG(2), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(a));
	put_word(a + PAGE_SIZE, 0xf11e, "a write through the shared mapping");
	to = mremap_ok(a, PG(2), PG(2), MREMAP_MAYMOVE | MREMAP_FIXED, BASE + SZ_2M, "move");
	check_true(pte_dirty(pte_at(mm, to + PAGE_SIZE)), "the moved PTE keeps its dirty bit");
	check_eq(vfs_fsync(f, 0), 0, "fsync");
	check_true(!pte_write(pte_at(mm, to + PAGE_SIZE)) && !pte_dirty(pte_at(mm, to + PAGE_SIZE)),
		   "page_mkclean() cleaned the moved PTE");
	check_eq(pread(f->f_mapping->host_fd, &word, sizeof(word), (off_t)PAGE_SIZE),
		 (ssize_t)sizeof(word), "pread of the host file");
	check_eq(word, 0xf11e, "the host file holds the write made before the move");
	unmap(to, PG(2), "moved");
	fput(f);
}

/* ---- hugetlb: 5.7 shrinks (as munmap) and refuses the rest ---- */

static void test_hugetlb_shrinks_only(void **state)
{
	struct mm_struct *mm = *state;
	struct hstate *h = size_to_hstate(SZ_2M);
	unsigned long a = map(BASE, 2 * SZ_2M, RW, ANON | MAP_HUGETLB | MAP_FIXED, "hugetlb");
	static struct snapshot before;
	unsigned long free0;

	put_word(a, 1, "first huge page");
	put_word(a + SZ_2M, 2, "second huge page");
	snapshot(mm, &before);
	expect_err(vm_mremap(a, 2 * SZ_2M, 3 * SZ_2M, MREMAP_MAYMOVE, 0), -EINVAL, "grow");
	expect_same(mm, &before, "grow");
	expect_err(vm_mremap(a, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + SZ_1G),
		   -EINVAL, "move");
	expect_same(mm, &before, "move");
	expect_err(vm_mremap(a, 2 * SZ_2M, SZ_2M + SZ_1M, 0, 0), -EINVAL,
		   "shrink to a length off the huge page size");
	expect_same(mm, &before, "shrink off size");
	{
		/* MREMAP_FIXED onto part of a huge page: the destination cannot be unmapped
		 * there, which is found before anything changes (the small mapping stays). */
		unsigned long small = map(BASE + SZ_1G, PG(2), RW, ANON | MAP_FIXED, "small");

		put_word(small, 0x5, "small");
		snapshot(mm, &before);
		expect_err(vm_mremap(small, PG(2), PG(2), MREMAP_MAYMOVE | MREMAP_FIXED,
				     a + PG(1)),
			   -EINVAL, "MREMAP_FIXED onto part of a huge page");
		expect_same(mm, &before, "MREMAP_FIXED onto part of a huge page");
		check_eq(get_word(small, "small"), 0x5, "the small mapping after the refusal");
		unmap(small, PG(2), "small");
	}
	{
		/* Shared hugetlb memory (a hugetlb file) does not move either. */
		unsigned long sh = map(BASE + 2 * SZ_1G, SZ_2M, RW,
				       MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
				       "shared hugetlb");

		put_word(sh, 7, "shared hugetlb");
		expect_err(vm_mremap(sh, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED,
				     BASE + 3 * SZ_1G),
			   -EINVAL, "moving shared hugetlb memory");
		check_eq(get_word(sh, "shared hugetlb"), 7, "the shared hugetlb page stays");
		unmap(sh, SZ_2M, "shared hugetlb");
	}
	free0 = h->free_huge_pages;
	check_eq(mremap_ok(a, 2 * SZ_2M, SZ_2M, 0, 0, "shrink to one huge page"), a, "addr");
	check_eq(h->free_huge_pages, free0 + 1, "the second huge page went back to the pool");
	check_eq(get_word(a, "first"), 1, "the first huge page kept its data");
	unmap(a, SZ_2M, "hugetlb");
}

static int setup_hugetlb(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.nr_hugepages_2m = 4;
	return boot_with_mm(state, &cfg);
}

/* ---- a lockless GUP walk against moves ---- */

struct racer {
	unsigned long a, b;
	atomic_bool stop;
	struct mm_struct *mm;
	long pinned;
};

/* Pin and unpin at both addresses while the main thread moves the page back and forth:
 * whatever the fast walk grabs is a live page, released right away. */
static void *pin_racer(void *arg)
{
	struct racer *r = arg;

	kthread_use_mm(r->mm);
	while (!atomic_load(&r->stop)) {
		struct page *page;

		if (pin_user_pages_fast_only(r->a, 1, 0, &page) == 1) {
			unpin_user_page(page);
			r->pinned++;
		}
		if (pin_user_pages_fast_only(r->b, 1, 0, &page) == 1) {
			unpin_user_page(page);
			r->pinned++;
		}
	}
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void test_moves_race_with_fast_gup(void **state)
{
	struct mm_struct *mm = *state;
	struct racer r = {.a = BASE, .b = BASE + SZ_2M + PG(5), .mm = mm};
	pthread_t t;
	struct page *page;

	map(r.a, PG(1), RW, ANON | MAP_FIXED, "page");
	put_word(r.a, 0x900, "page");
	page = page_at(mm, r.a);
	atomic_init(&r.stop, false);
	assert_int_equal(pthread_create(&t, NULL, pin_racer, &r), 0);
	for (int i = 0; i < 2000; i++) {
		unsigned long from = (i & 1) ? r.b : r.a, to = (i & 1) ? r.a : r.b;

		mremap_ok(from, PG(1), PG(1), MREMAP_MAYMOVE | MREMAP_FIXED, to, "back and forth");
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	check_ptr(page_at(mm, r.a), page, "the page after 2000 moves");
	check_eq(page_ref_count(page), 1, "refcount after the race");
	check_eq(nr_acquired(), nr_released(), "every pin released");
	check_eq(get_word(r.a, "page"), 0x900, "data after the moves");
	unmap(r.a, PG(1), "page");
}

/*
 * The rule of mremap.c: while the entries move, a reverse-map walk sees each page at its old
 * address or at its new one. try_to_unmap() runs while a move is in flight, stopped by two race
 * points: the move waits after linking its new VMA ("mremap:vma_linked") until the walk has
 * visited a VMA ("rmap:anon_vma_visited"), and the walk then waits up to 20 ms for the move to
 * finish. The walk visits the old VMA first (VMAs join an anon_vma at the tail) and the move
 * holds the rmap locks, so the page is found and unmapped every round. (Before VMAs joined at
 * the tail, the walk looked at the new VMA first, and this test failed without the locks.)
 */
#define UNMAP_ROUNDS 20

struct unmap_race {
	struct mm_struct *mm;
	unsigned long from, to;
	struct race_pair pair; /* mremap:vma_linked, then rmap:anon_vma_visited */
};

static void *mover(void *arg)
{
	struct unmap_race *r = arg;

	kthread_use_mm(r->mm);
	vm_mremap(r->from, PG(1), PG(1), MREMAP_MAYMOVE | MREMAP_FIXED, r->to);
	atomic_store(&r->pair.done, 1);
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void test_rmap_walk_finds_pages_being_moved(void **state)
{
	struct mm_struct *mm = *state;
	struct unmap_race r = {.mm = mm, .from = BASE, .to = BASE + SZ_2M + PG(9)};
	int missed = 0;

	map(r.from, PG(1), RW, ANON | MAP_FIXED, "page");
	if (pinmm_hook_set("mremap:vma_linked", race_pair_at_first, &r.pair) == -EOPNOTSUPP) {
		skip(); /* built with HOOKS=0 */
		return;
	}
	assert_int_equal(pinmm_hook_set("rmap:anon_vma_visited", race_pair_at_second, &r.pair), 0);
	for (int round = 1; round <= UNMAP_ROUNDS; round++) {
		struct page *page;
		pthread_t t;
		unsigned long tmp;

		put_word(r.from, (unsigned long)round, "fault the page in");
		page = page_at(mm, r.from);
		get_page(page);
		race_pair_reset(&r.pair, 20);
		assert_int_equal(pthread_create(&t, NULL, mover, &r), 0);
		check_true(wait_flag(&r.pair.at_first, 1000), "round %d: the move linked its VMA", round);
		lock_page(page);
		if (!try_to_unmap(page))
			missed++;
		unlock_page(page);
		pthread_join(t, NULL);
		check_eq(page_mapcount(page), 0, "round %d: the page after try_to_unmap", round);
		expect_level(mm, r.from, LEAF_NONE, "round %d: the old address", round);
		expect_level(mm, r.to, LEAF_NONE, "round %d: the new address", round);
		put_page(page);
		tmp = r.from;
		r.from = r.to;
		r.to = tmp;
	}
	pinmm_hook_clear_all();
	check_eq(missed, 0, "rounds in which try_to_unmap() missed the moving page");
	unmap(r.from, PG(1), "page");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_bad_arguments_change_nothing),
		test_with_mm(test_shrink_unmaps_the_tail),
		test_with_mm(test_grow_in_place_then_move),
		test_with_mm(test_fixed_move_replaces_the_destination),
		test_with_mm(test_pinned_page_moves_pinned),
		test_with_mm(test_thp_to_aligned_destination_stays_pmd_mapped),
		test_with_mm(test_thp_to_unaligned_destination_is_split),
		test_with_mm(test_partially_mremapped_thp),
		test_with_mm(test_partially_mremapped_thp_after_fork),
		test_with_mm(test_move_under_fault_injection),
		test_with_mm(test_dontunmap_leaves_the_old_vma_empty),
		test_with_mm(test_rmap_walk_leaves_an_aliasing_thp_alone),
		test_with_mm(test_shared_shmem_move_and_duplicate),
		test_with_mm(test_moved_host_file_mapping_is_written_back),
		cmocka_unit_test_setup_teardown(test_hugetlb_shrinks_only, setup_hugetlb,
						teardown_mm),
		test_with_mm(test_moves_race_with_fast_gup),
		test_with_mm(test_rmap_walk_finds_pages_being_moved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
