/* SPDX-License-Identifier: MIT */
/*
 * The mmap family on the current mm (mman.h): where an anonymous mapping lands and the VMA it
 * gets (find_vma, vma_lookup, vm_flags, vm_pgoff); MAP_FIXED at a chosen address and over an
 * existing mapping; munmap and mprotect splitting VMAs and mprotect merging them back;
 * neighbours merging; every refused input returning Linux's errno and changing nothing;
 * MADV_DONTNEED, MADV_POPULATE_READ/WRITE and MAP_POPULATE; PROT_NONE.
 *
 * Each test runs in a fresh mm that the test thread uses (setup_mm / teardown_mm). Address
 * spaces are drawn one character a page over a window: a letter per VMA in address order,
 * '.' for a hole, e.g. "AA.BB" is two pages of one VMA, a hole, two pages of another.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include "test_mm_util.h"

/* Fixed addresses the tests map at: far below the top-down area vm_mmap() picks from. */
#define BASE 0x10000000UL
#define ANON_VM_FLAGS (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)

/* ---- fixtures: a booted machine and an mm this thread runs in ---- */

/* 1 GiB with two 2 MiB hugetlb pages, for the hugetlb madvise case. */
static int setup_mm_hugetlb(void **state)
{
	return boot_small_hugetlb(state) ? -1 : use_new_mm(state);
}

/* ---- helpers ---- */

/* The whole page at addr reads as zeros. */
static void expect_zero_page(unsigned long addr, const char *what)
{
	static unsigned char buf[PAGE_SIZE];

	memset(buf, 0xa5, sizeof(buf));
	check_eq(copy_from_user(buf, addr, PAGE_SIZE), 0, "%s: reading %#lx", what, addr);
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		if (buf[i])
			fail_msg("%s: byte %lu of page %#lx is %#x, expected 0", what, i, addr,
				 buf[i]);
}

static char layout_buf[128];

/* The VMAs of [base, base + npages pages) drawn as described at the top of the file. */
static const char *layout(struct mm_struct *mm, unsigned long base, unsigned int npages)
{
	struct vm_area_struct *last = NULL;
	char letter = 'A' - 1;

	assert_true(npages < sizeof(layout_buf));
	mmap_read_lock(mm);
	for (unsigned int i = 0; i < npages; i++) {
		struct vm_area_struct *vma = vma_lookup(mm, base + PG(i));

		if (vma && vma != last) {
			letter++;
			last = vma;
		}
		layout_buf[i] = vma ? letter : '.';
	}
	layout_buf[npages] = '\0';
	mmap_read_unlock(mm);
	return layout_buf;
}

#define expect_layout(mm, base, want, ...)                                                         \
	do {                                                                                       \
		const char *got__ = layout(mm, base, (unsigned int)strlen(want));                  \
		if (strcmp(got__, want))                                                           \
			fail_msg("%s: address space at %#lx is \"%s\", expected \"%s\"",           \
				 scenario_text(__VA_ARGS__), (unsigned long)(base), got__, want);  \
	} while (0)

/* A copy of the VMA containing addr (so that no lock is held while the test looks at it). */
static struct vm_area_struct vma_at(struct mm_struct *mm, unsigned long addr, const char *what)
{
	struct vm_area_struct copy, *vma;

	memset(&copy, 0, sizeof(copy));
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma)
		copy = *vma;
	mmap_read_unlock(mm);
	if (!vma)
		fail_msg("%s: no VMA contains %#lx", what, addr);
	return copy;
}

/* ---- where a mapping lands, and its VMA ---- */

static void test_anon_mmap_lands_in_user_range(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(4), RW, ANON, "4-page anonymous RW mapping, no hint");
	struct vm_area_struct *vma, *lookup;

	check_eq(addr & ~PAGE_MASK, 0, "anonymous mapping: page alignment of %#lx", addr);
	if (addr < MMAP_MIN_ADDR || addr + PG(4) > TASK_SIZE)
		fail_msg("anonymous mapping at %#lx: outside [MMAP_MIN_ADDR %#lx, TASK_SIZE %#lx)",
			 addr, MMAP_MIN_ADDR, TASK_SIZE);
	check_eq(mm->nr_vmas, 1, "one mapping");

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	lookup = vma_lookup(mm, addr + PG(3) + 17);
	mmap_read_unlock(mm);
	assert_non_null(vma);
	assert_ptr_equal(vma, lookup);
	check_eq(vma->vm_start, addr, "the mapping's VMA");
	check_eq(vma->vm_end, addr + PG(4), "the mapping's VMA");
	check_eq(vma->vm_mm, mm, "the mapping's VMA");
	check_eq(vma->vm_flags, ANON_VM_FLAGS, "RW private anonymous VMA: vm_flags");
	check_eq(vma->vm_pgoff, addr >> PAGE_SHIFT, "anonymous VMA: vm_pgoff is vm_start's pfn");
	check_eq(vma->vm_file == NULL, true, "anonymous VMA has no file");

	/* find_vma() finds the first VMA ending above an address; vma_lookup() only a VMA that
	 * contains it. */
	mmap_read_lock(mm);
	check_eq(find_vma(mm, addr - PAGE_SIZE) == vma, true, "find_vma() of the page below");
	check_eq(vma_lookup(mm, addr - PAGE_SIZE) == NULL, true, "vma_lookup() of the page below");
	check_eq(find_vma(mm, addr + PG(4)) == NULL, true, "find_vma() of the end");
	check_eq(vma_lookup(mm, addr + PG(4)) == NULL, true, "vma_lookup() of the end");
	mmap_read_unlock(mm);

	/* A read-only one has no VM_WRITE but may be made writable (VM_MAYWRITE). */
	addr = map(0, PAGE_SIZE, PROT_READ, ANON, "PROT_READ mapping");
	check_eq(vma_at(mm, addr, "PROT_READ").vm_flags,
		 VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC, "PROT_READ private anonymous VMA");
	check_eq(mm->nr_vmas, 2, "a RW and a read-only mapping");
}

static void test_map_fixed_at_chosen_address(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(BASE, PG(3), RW, ANON | MAP_FIXED, "MAP_FIXED at BASE");
	struct vm_area_struct vma;

	check_eq(addr, BASE, "MAP_FIXED returns the address asked for");
	vma = vma_at(mm, BASE, "MAP_FIXED at BASE");
	check_eq(vma.vm_start, BASE, "MAP_FIXED VMA");
	check_eq(vma.vm_end, BASE + PG(3), "MAP_FIXED VMA");
	expect_layout(mm, BASE - PAGE_SIZE, ".AAA.", "MAP_FIXED of 3 pages at BASE");
	tag_pages(BASE, 3, 0x100, "MAP_FIXED mapping");
	expect_tags(BASE, 3, 0x100, "MAP_FIXED mapping");

	/* Without MAP_FIXED, a free hint is taken as it is. */
	check_eq(map(BASE + PG(8), PAGE_SIZE, RW, ANON, "hint"), BASE + PG(8),
		 "a free, aligned hint without MAP_FIXED");
	/* A hint that is taken goes elsewhere, leaving the existing mapping alone. */
	addr = map(BASE, PAGE_SIZE, RW, ANON, "hint over BASE");
	if (addr >= BASE && addr < BASE + PG(3))
		fail_msg("hint over an existing mapping without MAP_FIXED: got %#lx inside it", addr);
	expect_tags(BASE, 3, 0x100, "after a mapping hinted over BASE");
}

static void test_map_fixed_replaces_mapping(void **state)
{
	struct mm_struct *mm = *state;
	long anon0;

	/*
	 * 0123
	 * AAAA   tagged
	 * ABBC   MAP_FIXED PROT_READ over pages 1-2: the old pages there are gone
	 */
	map(BASE, PG(4), RW, ANON | MAP_FIXED, "4 pages at BASE");
	tag_pages(BASE, 4, 0xa0, "old mapping");
	anon0 = nr_anon();
	check_eq(rss_anon(mm), 4, "4 pages written");

	check_eq(map(BASE + PG(1), PG(2), PROT_READ, ANON | MAP_FIXED, "replacement"),
		 BASE + PG(1), "MAP_FIXED over pages 1-2");
	expect_layout(mm, BASE, "ABBC", "MAP_FIXED PROT_READ over the middle of AAAA");
	check_eq(vma_at(mm, BASE + PG(1), "replacement").vm_flags & VM_WRITE, 0,
		 "the replacement is the new, read-only mapping");
	check_eq(vma_at(mm, BASE + PG(3), "right part").vm_pgoff, (BASE + PG(3)) >> PAGE_SHIFT,
		 "right part of the old mapping");
	expect_zero_page(BASE + PG(1), "replaced page 1");
	expect_zero_page(BASE + PG(2), "replaced page 2");
	check_eq(get_word(BASE, "page 0"), 0xa0, "page 0 outside the replaced range");
	check_eq(get_word(BASE + PG(3), "page 3"), 0xa3, "page 3 outside the replaced range");
	check_eq(rss_anon(mm), 2, "the two replaced pages were unmapped");
	check_eq(nr_anon(), anon0 - 2, "the two replaced pages were freed (nr_anon_pages)");
}

/* ---- munmap / mprotect splitting and merging ---- */

static void test_munmap_middle_splits_vma(void **state)
{
	struct mm_struct *mm = *state;
	struct vm_area_struct left, right;
	unsigned long word;
	long anon0 = nr_anon();

	/*
	 * 01234567
	 * AAAAAAAA   tagged
	 * AAA..BBB   munmap pages 3-4
	 * ........   munmap 0-7 (the hole inside is no error)
	 */
	map(BASE, PG(8), RW, ANON | MAP_FIXED, "8 pages at BASE");
	tag_pages(BASE, 8, 0x10, "8 pages");
	check_eq(vm_munmap(BASE + PG(3), PG(2)), 0, "munmap pages 3-4 of 8");
	expect_layout(mm, BASE, "AAA..BBB", "after munmap of pages 3-4");
	check_eq(mm->nr_vmas, 2, "munmap in the middle");
	left = vma_at(mm, BASE, "left part");
	right = vma_at(mm, BASE + PG(5), "right part");
	check_eq(left.vm_start, BASE, "left part");
	check_eq(left.vm_end, BASE + PG(3), "left part");
	check_eq(left.vm_pgoff, BASE >> PAGE_SHIFT, "left part");
	check_eq(right.vm_start, BASE + PG(5), "right part");
	check_eq(right.vm_end, BASE + PG(8), "right part");
	check_eq(right.vm_pgoff, (BASE + PG(5)) >> PAGE_SHIFT, "right part: offset moves with start");
	check_eq(right.vm_flags, left.vm_flags, "both parts keep the flags");
	expect_tags(BASE, 3, 0x10, "left part");
	expect_tags(BASE + PG(5), 3, 0x15, "right part");
	check_eq(copy_from_user(&word, BASE + PG(3), sizeof(word)), sizeof(word),
		 "reading the unmapped page 3");
	check_eq(rss_anon(mm), 6, "two of eight pages unmapped");
	check_eq(nr_anon() - anon0, 6, "two of eight pages freed");
	check_eq(pte_at(mm, BASE + PG(3)).pte, 0, "PTE of unmapped page 3");

	check_eq(vm_munmap(BASE, PG(8)), 0, "munmap of the rest, across the hole");
	expect_layout(mm, BASE, "........", "after munmap of everything");
	check_eq(mm->nr_vmas, 0, "everything unmapped");
	check_eq(rss_anon(mm), 0, "everything unmapped");
	check_eq(nr_anon(), anon0, "everything unmapped");
}

static void test_mprotect_middle_splits_then_merges(void **state)
{
	struct mm_struct *mm = *state;
	struct vm_area_struct vma;
	unsigned long word = 1;

	/*
	 * 012345
	 * AAAAAA   RW, tagged
	 * AABBCC   mprotect(2-3, PROT_READ)
	 * AAAAAA   mprotect(2-3, PROT_READ | PROT_WRITE): merged back into one
	 */
	map(BASE, PG(6), RW, ANON | MAP_FIXED, "6 pages");
	tag_pages(BASE, 6, 0x60, "6 pages");
	check_eq(vm_mprotect(BASE + PG(2), PG(2), PROT_READ), 0, "mprotect pages 2-3 read-only");
	expect_layout(mm, BASE, "AABBCC", "mprotect(PROT_READ) of pages 2-3");
	vma = vma_at(mm, BASE + PG(2), "middle");
	check_eq(vma.vm_start, BASE + PG(2), "read-only middle");
	check_eq(vma.vm_end, BASE + PG(4), "read-only middle");
	check_eq(vma.vm_pgoff, (BASE + PG(2)) >> PAGE_SHIFT, "read-only middle");
	check_eq(vma.vm_flags, ANON_VM_FLAGS & ~VM_WRITE, "read-only middle");
	check_eq(vma_at(mm, BASE + PG(4), "right").vm_flags, ANON_VM_FLAGS, "right part stays RW");
	check_eq(pte_write(pte_at(mm, BASE + PG(2))), false, "PTE of read-only page 2");
	check_eq(copy_to_user(BASE + PG(2), &word, sizeof(word)), sizeof(word),
		 "writing read-only page 2");
	check_eq(copy_to_user(BASE + PG(1), &word, sizeof(word)), 0, "writing RW page 1");
	expect_tags(BASE + PG(2), 4, 0x62, "pages 2-5 after mprotect");

	check_eq(vm_mprotect(BASE + PG(2), PG(2), RW), 0, "mprotect pages 2-3 back to RW");
	expect_layout(mm, BASE, "AAAAAA", "mprotect back to RW");
	check_eq(mm->nr_vmas, 1, "merged back");
	vma = vma_at(mm, BASE, "merged");
	check_eq(vma.vm_end, BASE + PG(6), "merged VMA");
	check_eq(vma.vm_pgoff, BASE >> PAGE_SHIFT, "merged VMA");
	check_eq(vma.vm_flags, ANON_VM_FLAGS, "merged VMA");
	put_word(BASE + PG(3), 0x99, "page 3 writable again");
	check_eq(get_word(BASE + PG(3), "page 3"), 0x99, "page 3 after mprotect back");
	check_eq(get_word(BASE + PG(1), "page 1"), 1, "page 1");
}

static void test_adjacent_mappings_merge(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a, b;

	/*
	 * 0123456
	 * AA.....
	 * AAAA...   same prot and flags right after: one VMA
	 * AAAAB..   PROT_READ after it: two
	 */
	map(BASE, PG(2), RW, ANON | MAP_FIXED, "first");
	map(BASE + PG(2), PG(2), RW, ANON | MAP_FIXED, "second, adjacent");
	expect_layout(mm, BASE, "AAAA...", "two adjacent untouched RW anonymous mappings");
	check_eq(vma_at(mm, BASE, "merged").vm_end, BASE + PG(4), "merged VMA");
	map(BASE + PG(4), PAGE_SIZE, PROT_READ, ANON | MAP_FIXED, "read-only third");
	expect_layout(mm, BASE, "AAAAB..", "a read-only mapping next to a RW one");

	/* Top-down placement puts a second mapping right below the first: they merge too. */
	a = map(0, PG(2), RW, ANON, "top-down first");
	b = map(0, PG(2), RW, ANON, "top-down second");
	check_eq(b, a - PG(2), "the second top-down mapping goes right below the first");
	expect_layout(mm, b, "AAAA", "two top-down mappings");
	check_eq(mm->nr_vmas, 3, "BASE's two VMAs and the merged top-down pair");
}

static void test_mapping_next_to_faulted_vma_merges(void **state)
{
	struct mm_struct *mm = *state;

	/*
	 * 0123
	 * AA..   written to: the VMA has an anon_vma
	 * AAAA   an untouched mapping with the same flags right after
	 *
	 * Linux 5.7 merges here: is_mergeable_anon_vma() accepts a NULL anon_vma on either side
	 * (the new VMA has none yet), so mmap_region()'s vma_merge() extends the first VMA.
	 * Found failing at df546df: can_merge() in src/vm/vma.c required a->anon_vma ==
	 * b->anon_vma, so a faulted VMA never merged with a new neighbour and the address space
	 * kept one VMA more than Linux's ("AABB").
	 */
	map(BASE, PG(2), RW, ANON | MAP_FIXED, "first");
	tag_pages(BASE, 2, 0x70, "first");
	map(BASE + PG(2), PG(2), RW, ANON | MAP_FIXED, "second");
	expect_layout(mm, BASE, "AAAA",
		      "a new RW mapping next to a written RW mapping (Linux's vma_merge())");
	expect_tags(BASE, 2, 0x70, "first mapping's pages");
}

/* ---- refused requests change nothing ---- */

struct bad_call {
	const char *what;
	long expected;
	long (*call)(void);
};

#define MAP_CALL(name, addr, len, prot, flags)                                                     \
	static long name(void)                                                                     \
	{                                                                                          \
		return (long)vm_mmap(NULL, addr, len, prot, flags, 0);                             \
	}

/* The existing address space: "AA.B" at BASE. */
MAP_CALL(mmap_len0, 0, 0, RW, ANON)
MAP_CALL(mmap_fixed_unaligned, BASE + 8, PAGE_SIZE, RW, ANON | MAP_FIXED)
MAP_CALL(mmap_fixed_unaligned_over, BASE + PAGE_SIZE + 1, PAGE_SIZE, RW, ANON | MAP_FIXED)
MAP_CALL(mmap_no_type, 0, PAGE_SIZE, RW, MAP_ANONYMOUS)
MAP_CALL(mmap_no_type_fixed, BASE, PAGE_SIZE, RW, MAP_ANONYMOUS | MAP_FIXED)
MAP_CALL(mmap_both_types, BASE, PAGE_SIZE, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
MAP_CALL(mmap_unknown_prot, BASE, PAGE_SIZE, RW | 0x10, ANON | MAP_FIXED)
MAP_CALL(mmap_fixed_below_min, MMAP_MIN_ADDR - PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED)
MAP_CALL(mmap_fixed_at_zero, 0, PAGE_SIZE, RW, ANON | MAP_FIXED)
MAP_CALL(mmap_fixed_at_task_size, TASK_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED)
MAP_CALL(mmap_fixed_across_task_size, TASK_SIZE - PAGE_SIZE, PG(2), RW, ANON | MAP_FIXED)
MAP_CALL(mmap_too_long, 0, TASK_SIZE, RW, ANON)

static long mmap_no_file(void)
{
	return (long)vm_mmap(NULL, BASE, PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED, 0);
}

static long munmap_unaligned(void) { return vm_munmap(BASE + 100, PAGE_SIZE); }
static long munmap_len0(void) { return vm_munmap(BASE, 0); }
static long munmap_beyond(void) { return vm_munmap(TASK_SIZE - PAGE_SIZE, PG(2)); }
static long mprotect_hole(void) { return vm_mprotect(BASE, PG(4), PROT_READ); }
static long mprotect_unaligned(void) { return vm_mprotect(BASE + 1, PAGE_SIZE, PROT_READ); }
static long mprotect_unknown_prot(void) { return vm_mprotect(BASE, PAGE_SIZE, PROT_READ | 0x10); }

static long madvise_unknown(void)
{
	return do_madvise(current_mm(), BASE, PAGE_SIZE, 12345);
}

static long madvise_unaligned(void)
{
	return do_madvise(current_mm(), BASE + 1, PAGE_SIZE, MADV_DONTNEED);
}

static long madvise_hole(void)
{
	return do_madvise(current_mm(), BASE, PG(4), MADV_DONTNEED);
}

static long madvise_hole_flags(void)
{
	return do_madvise(current_mm(), BASE, PG(4), MADV_DONTFORK);
}

static const struct bad_call bad_calls[] = {
	{"mmap with len 0", -EINVAL, mmap_len0},
	{"MAP_FIXED at an unaligned address", -EINVAL, mmap_fixed_unaligned},
	{"MAP_FIXED at an unaligned address inside a mapping", -EINVAL, mmap_fixed_unaligned_over},
	{"neither MAP_PRIVATE nor MAP_SHARED", -EINVAL, mmap_no_type},
	{"neither MAP_PRIVATE nor MAP_SHARED, MAP_FIXED over a mapping", -EINVAL,
	 mmap_no_type_fixed},
	{"both MAP_PRIVATE and MAP_SHARED", -EINVAL, mmap_both_types},
	{"an unknown prot bit (0x10)", -EINVAL, mmap_unknown_prot},
	{"MAP_FIXED below MMAP_MIN_ADDR", -EPERM, mmap_fixed_below_min},
	{"MAP_FIXED at 0", -EPERM, mmap_fixed_at_zero},
	{"MAP_FIXED at TASK_SIZE", -ENOMEM, mmap_fixed_at_task_size},
	{"MAP_FIXED across TASK_SIZE", -ENOMEM, mmap_fixed_across_task_size},
	{"mmap of TASK_SIZE bytes", -ENOMEM, mmap_too_long},
	{"no file and no MAP_ANONYMOUS", -EBADF, mmap_no_file},
	{"munmap at an unaligned address", -EINVAL, munmap_unaligned},
	{"munmap with len 0", -EINVAL, munmap_len0},
	{"munmap across TASK_SIZE", -EINVAL, munmap_beyond},
	{"mprotect of a range with a hole", -ENOMEM, mprotect_hole},
	{"mprotect at an unaligned address", -EINVAL, mprotect_unaligned},
	{"mprotect with an unknown prot bit", -EINVAL, mprotect_unknown_prot},
	{"madvise with an unknown advice", -EINVAL, madvise_unknown},
	{"madvise at an unaligned address", -EINVAL, madvise_unaligned},
	{"MADV_DONTNEED of a range with a hole", -ENOMEM, madvise_hole},
	{"MADV_DONTFORK of a range with a hole", -ENOMEM, madvise_hole_flags},
};

static void test_bad_inputs_change_nothing(void **state)
{
	struct mm_struct *mm = *state;

	/*
	 * 0123
	 * AA.B   tagged, A RW, B read-only
	 */
	map(BASE, PG(2), RW, ANON | MAP_FIXED, "A");
	tag_pages(BASE, 2, 0xb0, "A");
	map(BASE + PG(3), PAGE_SIZE, PROT_READ, ANON | MAP_FIXED, "B");
	for (size_t i = 0; i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
		const struct bad_call *c = &bad_calls[i];

		check_eq(c->call(), c->expected, "%s", c->what);
		check_eq(mm->nr_vmas, 2, "after %s", c->what);
		expect_layout(mm, BASE, "AA.B", "after %s", c->what);
		check_eq(vma_at(mm, BASE, c->what).vm_flags, ANON_VM_FLAGS, "A after %s", c->what);
		check_eq(vma_at(mm, BASE + PG(3), c->what).vm_flags, ANON_VM_FLAGS & ~VM_WRITE,
			 "B after %s", c->what);
		expect_tags(BASE, 2, 0xb0, c->what);
		check_eq(rss_anon(mm), 2, "after %s", c->what);
	}
}

struct no_mm_results {
	unsigned long mmap, copy_to, copy_from;
	int munmap, mprotect;
};

static void *no_mm_thread(void *arg)
{
	struct no_mm_results *r = arg;
	unsigned long word = 0;

	r->mmap = vm_mmap(NULL, 0, PAGE_SIZE, RW, ANON, 0);
	r->munmap = vm_munmap(BASE, PAGE_SIZE);
	r->mprotect = vm_mprotect(BASE, PAGE_SIZE, PROT_READ);
	r->copy_to = copy_to_user(BASE, &word, sizeof(word));
	r->copy_from = copy_from_user(&word, BASE, sizeof(word));
	return NULL;
}

static void test_no_current_mm(void **state)
{
	struct mm_struct *mm = *state;
	struct no_mm_results r;
	pthread_t t;

	/* A thread that never called kthread_use_mm() has no address space to work on. */
	map(BASE, PAGE_SIZE, RW, ANON | MAP_FIXED, "this thread's mapping");
	put_word(BASE, 0x5a, "this thread's mapping");
	assert_int_equal(pthread_create(&t, NULL, no_mm_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	check_eq((long)r.mmap, -ESRCH, "vm_mmap in a thread without an mm");
	check_eq(r.munmap, -ESRCH, "vm_munmap in a thread without an mm");
	check_eq(r.mprotect, -ESRCH, "vm_mprotect in a thread without an mm");
	check_eq(r.copy_to, sizeof(unsigned long), "copy_to_user in a thread without an mm");
	check_eq(r.copy_from, sizeof(unsigned long), "copy_from_user in a thread without an mm");
	check_eq(mm->nr_vmas, 1, "the other thread changed nothing");
	check_eq(get_word(BASE, "this thread's mapping"), 0x5a, "the other thread changed nothing");
}

static void test_madv_dontneed_on_hugetlb_is_einval(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PMD_SIZE, RW, ANON | MAP_HUGETLB, "2 MiB hugetlb mapping");
	struct hstate *h = size_to_hstate(PMD_SIZE);

	put_word(addr + 64, 0x4242, "hugetlb page");
	check_eq(h->free_huge_pages, 1, "one of two pool pages faulted in");
	check_eq(do_madvise(mm, addr, PMD_SIZE, MADV_DONTNEED), -EINVAL,
		 "MADV_DONTNEED of a hugetlb VMA (Linux: madvise_dontneed_free_valid_vma)");
	check_eq(h->free_huge_pages, 1, "the refused MADV_DONTNEED kept the huge page");
	check_eq(get_word(addr + 64, "hugetlb page"), 0x4242, "hugetlb data after MADV_DONTNEED");
	check_eq(vm_munmap(addr, PMD_SIZE), 0, "munmap of the hugetlb mapping");
	check_eq(h->free_huge_pages, 2, "munmap gave the huge page back");
}

/* ---- madvise and populate ---- */

static void test_madv_dontneed_drops_pages(void **state)
{
	struct mm_struct *mm = *state;
	long anon0 = nr_anon();

	/*
	 * 0123
	 * AAAA   tagged; MADV_DONTNEED pages 1-2: the VMA stays, the pages go
	 */
	map(BASE, PG(4), RW, ANON | MAP_FIXED, "4 pages");
	tag_pages(BASE, 4, 0xd0, "4 pages");
	check_eq(nr_anon() - anon0, 4, "4 pages written");
	check_eq(do_madvise(mm, BASE + PG(1), PG(2), MADV_DONTNEED), 0, "MADV_DONTNEED pages 1-2");
	expect_layout(mm, BASE, "AAAA", "MADV_DONTNEED keeps the VMA");
	check_eq(pte_at(mm, BASE + PG(1)).pte, 0, "PTE of page 1 after MADV_DONTNEED");
	check_eq(pte_at(mm, BASE + PG(2)).pte, 0, "PTE of page 2 after MADV_DONTNEED");
	check_eq(nr_anon() - anon0, 2, "MADV_DONTNEED freed two pages (nr_anon_pages)");
	check_eq(rss_anon(mm), 2, "MADV_DONTNEED: rss");
	expect_zero_page(BASE + PG(1), "page 1 after MADV_DONTNEED");
	expect_zero_page(BASE + PG(2), "page 2 after MADV_DONTNEED");
	check_eq(pte_pfn(pte_at(mm, BASE + PG(1))), zero_pfn(),
		 "a read after MADV_DONTNEED maps the zero page");
	check_eq(get_word(BASE, "page 0"), 0xd0, "page 0 kept");
	check_eq(get_word(BASE + PG(3), "page 3"), 0xd3, "page 3 kept");
	check_eq(nr_anon() - anon0, 2, "reading the dropped pages allocates nothing");
}

static void test_madv_populate(void **state)
{
	struct mm_struct *mm = *state;
	long anon0 = nr_anon();
	unsigned long faults;

	map(BASE, PG(8), RW, ANON | MAP_FIXED, "8 pages");
	check_eq(do_madvise(mm, BASE, PG(8), MADV_POPULATE_WRITE), 0, "MADV_POPULATE_WRITE");
	check_eq(rss_anon(mm), 8, "MADV_POPULATE_WRITE of 8 pages: rss");
	check_eq(nr_anon() - anon0, 8, "MADV_POPULATE_WRITE of 8 pages: nr_anon_pages");
	for (unsigned int i = 0; i < 8; i++) {
		pte_t pte = pte_at(mm, BASE + PG(i));

		check_eq(pte_present(pte) && pte_write(pte), true,
			 "MADV_POPULATE_WRITE: page %u present and writable (pte %#lx)", i, pte.pte);
		check_eq(pte_pfn(pte) == zero_pfn(), false, "MADV_POPULATE_WRITE: page %u", i);
	}
	faults = global_vm_event_count(PGFAULT);
	tag_pages(BASE, 8, 0xe0, "populated pages");
	expect_tags(BASE, 8, 0xe0, "populated pages");
	check_eq(global_vm_event_count(PGFAULT), faults, "accesses to populated pages: pgfault");

	/* MADV_POPULATE_READ maps what a read would: the zero page. */
	map(BASE + PG(16), PG(2), RW, ANON | MAP_FIXED, "2 more pages");
	check_eq(do_madvise(mm, BASE + PG(16), PG(2), MADV_POPULATE_READ), 0, "MADV_POPULATE_READ");
	check_eq(pte_pfn(pte_at(mm, BASE + PG(17))), zero_pfn(), "MADV_POPULATE_READ maps");
	check_eq(rss_anon(mm), 8, "MADV_POPULATE_READ allocates nothing");

	/* Populating for write what cannot be written fails, and populates nothing. */
	map(BASE + PG(32), PG(2), PROT_READ, ANON | MAP_FIXED, "read-only pages");
	check_eq(do_madvise(mm, BASE + PG(32), PG(2), MADV_POPULATE_WRITE), -EFAULT,
		 "MADV_POPULATE_WRITE of a PROT_READ mapping");
	check_eq(pte_at(mm, BASE + PG(32)).pte, 0, "refused MADV_POPULATE_WRITE");
	check_eq(rss_anon(mm), 8, "refused MADV_POPULATE_WRITE");
}

static void test_map_populate(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr, faults;

	addr = map(0, PG(6), RW, ANON | MAP_POPULATE, "MAP_POPULATE of 6 RW pages");
	check_eq(rss_anon(mm), 6, "MAP_POPULATE: rss right after mmap");
	for (unsigned int i = 0; i < 6; i++)
		check_eq(pte_write(pte_at(mm, addr + PG(i))), true, "MAP_POPULATE: page %u", i);
	faults = global_vm_event_count(PGFAULT);
	tag_pages(addr, 6, 0xf0, "populated pages");
	check_eq(global_vm_event_count(PGFAULT), faults, "writes to MAP_POPULATE pages: pgfault");
}

/* ---- PROT_NONE ---- */

static void test_prot_none(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long word = 7;
	pte_t pte;

	map(BASE, PAGE_SIZE, PROT_NONE, ANON | MAP_FIXED, "PROT_NONE page");
	check_eq(vma_at(mm, BASE, "PROT_NONE").vm_flags & VM_ACCESS_FLAGS, 0, "PROT_NONE VMA");
	check_eq(copy_from_user(&word, BASE, sizeof(word)), sizeof(word), "reading PROT_NONE");
	check_eq(copy_to_user(BASE, &word, sizeof(word)), sizeof(word), "writing PROT_NONE");
	check_eq(rss_anon(mm), 0, "failed accesses to PROT_NONE allocate nothing");

	/* A written page made PROT_NONE stays mapped (PROTNONE entry) but is not accessible. */
	map(BASE + PG(2), PAGE_SIZE, RW, ANON | MAP_FIXED, "RW page");
	put_word(BASE + PG(2), 0x77, "RW page");
	check_eq(vm_mprotect(BASE + PG(2), PAGE_SIZE, PROT_NONE), 0, "mprotect(PROT_NONE)");
	pte = pte_at(mm, BASE + PG(2));
	check_eq(pte_protnone(pte), true, "PTE after mprotect(PROT_NONE): %#lx", pte.pte);
	check_eq(copy_from_user(&word, BASE + PG(2), sizeof(word)), sizeof(word),
		 "reading a page made PROT_NONE");
	check_eq(rss_anon(mm), 1, "PROT_NONE keeps the page");
	check_eq(vm_mprotect(BASE + PG(2), PAGE_SIZE, PROT_READ), 0, "mprotect back to PROT_READ");
	check_eq(get_word(BASE + PG(2), "PROT_READ again"), 0x77, "data kept under PROT_NONE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_mm, teardown_mm)
		T(test_anon_mmap_lands_in_user_range),
		T(test_map_fixed_at_chosen_address),
		T(test_map_fixed_replaces_mapping),
		T(test_munmap_middle_splits_vma),
		T(test_mprotect_middle_splits_then_merges),
		T(test_adjacent_mappings_merge),
		T(test_mapping_next_to_faulted_vma_merges),
		T(test_bad_inputs_change_nothing),
		T(test_no_current_mm),
		cmocka_unit_test_setup_teardown(test_madv_dontneed_on_hugetlb_is_einval,
						setup_mm_hugetlb, teardown_mm),
		T(test_madv_dontneed_drops_pages),
		T(test_madv_populate),
		T(test_map_populate),
		T(test_prot_none),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
