/* SPDX-License-Identifier: MIT */
/*
 * The COW rules under both rule sets: PageAnonExclusive (modern rules only, Linux 5.19) through
 * its life (fault, mremap, migration, fork, COW copy, reuse, PMD split, split_huge_page,
 * MADV_COLLAPSE, hugetlb); the write-fault reuse rule (rule_cow_reuses_exclusive_only()); the
 * unshare of a read-only pin of a shared page (rule_ro_pin_unshares(), FAULT_FLAG_UNSHARE) for
 * small pages, PMD-mapped THPs and hugetlb pages, through the slow and the fast path; FOLL_GET
 * never unshares; the FOLL_FORCE write conditions (rule_foll_force_needs_exclusive()); and the
 * unshare of the zero page and of file pages by a read-only long-term pin in a private mapping
 * (rule_ro_longterm_pin_unshares_cow_mappings(), 6.2).
 *
 * Every scenario runs once under each rule set, booted explicitly, and asserts that rule set's
 * outcome: under 5.7 the historical failure (a read-only pin taken after fork loses its page to
 * the parent's next write), under modern rules the fix. The parent is the mm the test thread
 * uses; the child is reached with remote_word(). Page tables are read with test_mm_util.h's
 * walker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include <pinmm/check.h>

#include "test_mm_util.h"
/* Internal: migrate_unpinnable_page(), to move a page as a FOLL_LONGTERM pin does. */
#include "vm/internal.h"

#define BASE 0x10000000UL
#define MOVED 0x30000000UL
#define THP_BASE 0x40000000UL /* 2 MiB aligned */

/* A child the running test forked and has not put yet: the teardown puts it after a failure. */
static struct mm_struct *child;

static int teardown(void **state)
{
	return teardown_mm_and_child(state, &child);
}

static int setup_hugetlb(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_2m = 4;
	cfg.rules = rules;
	return boot_with_mm(state, &cfg);
}

static int setup_hugetlb_57(void **state)
{
	return setup_hugetlb(state, PINMM_RULES_5_7);
}

static int setup_hugetlb_modern(void **state)
{
	return setup_hugetlb(state, PINMM_RULES_MODERN);
}

static bool modern(void)
{
	return pinmm_rules() == PINMM_RULES_MODERN;
}

static const char *rules(void)
{
	return pinmm_rules_name(pinmm_rules());
}

static struct mm_struct *fork_child(struct mm_struct *mm)
{
	child = pinmm_fork(mm);
	if (IS_ERR_OR_NULL(child))
		fail_msg("pinmm_fork() failed: %ld", PTR_ERR(child));
	return child;
}

static void put_child(void)
{
	mmput(child);
	child = NULL;
}

#define check_exclusive(page, want, ...)                                                           \
	check_eq(PageAnonExclusive(page), (want), "%s rules: PageAnonExclusive of %s",             \
		 rules(), scenario_text(__VA_ARGS__))

static unsigned long word_in(struct page *page)
{
	return *(unsigned long *)page_address(page);
}

/* ---- the marker's life ---- */

/* A small page: set by the fault, kept by mremap and by migration, cleared by fork; the
 * child's COW copy is exclusive, and the parent's reuse after it makes the page exclusive
 * again. Under 5.7 rules no page ever carries it. */
static void test_exclusive_small_page(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	struct page *page, *moved;
	char *dump;

	put_word(a, 1, "first write");
	page = page_at(mm, a);
	check_exclusive(page, modern(), "a page just faulted in");
	log_clear();
	dump_page(page, "the exclusive mark");
	dump = test_log_take();
	check_eq(strstr(dump, "|anon_exclusive|") != NULL, modern(),
		 "%s rules: dump_page() names the mark in the flags; it printed:\n%s", rules(), dump);
	free(dump);
	check_eq(vm_mremap(a, PG(1), PG(1), MREMAP_MAYMOVE | MREMAP_FIXED, MOVED), MOVED,
		 "mremap moves the page");
	a = MOVED;
	check_ptr(page_at(mm, a), page, "mremap moves the mapping, not the page");
	check_exclusive(page, modern(), "the page after mremap");

	get_page(page); /* the migration's reference, which it consumes */
	mmap_read_lock(mm);
	check_eq(migrate_unpinnable_page(page, GFP_HIGHUSER_MOVABLE), 0, "migrate the page");
	mmap_read_unlock(mm);
	moved = page_at(mm, a);
	check_true(moved != page, "the migration maps a new page");
	check_exclusive(moved, modern(), "the page a migration moved the mapping to");
	page = moved;

	fork_child(mm);
	check_exclusive(page, false, "the page after fork (parent and child map it)");
	remote_put_word(child, a, 2, "the child writes");
	check_true(page_at(child, a) != page, "%s rules: the child's write copies", rules());
	check_exclusive(page_at(child, a), modern(), "the child's copy");
	check_exclusive(page, false, "the parent's page, still the one fork shared");
	put_word(a, 3, "the parent writes, the child has its own copy");
	check_ptr(page_at(mm, a), page, "%s rules: the parent reuses its page", rules());
	check_exclusive(page, modern(), "the parent's page once reused");
	check_eq(remote_word(child, a, "the child's word"), 2, "the child keeps its own data");
	put_child();
	unmap(a, PG(1), "page");
}

/* A THP: the PMD's mark is the head's; a PMD split hands it to every subpage,
 * split_huge_page() keeps each subpage's, MADV_COLLAPSE's new THP is exclusive, and fork of
 * the PMD clears it. */
static void test_exclusive_thp(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(THP_BASE, SZ_2M, RW, ANON | MAP_FIXED, "THP");
	struct page *head, *collapsed;
	unsigned long n = 0;
	int ret;

	put_word(a, 1, "first write");
	expect_level(mm, a, LEAF_PMD, "the first write maps a THP");
	head = page_at(mm, a);
	check_exclusive(head, modern(), "a THP just faulted in (its head)");
	check_exclusive(head + 1, false, "a tail of a PMD-mapped THP (the PMD's mark is the head's)");

	/* MADV_DONTNEED of one subpage splits the PMD. */
	check_eq(do_madvise(mm, a + PG(7), PG(1), MADV_DONTNEED), 0, "zap subpage 7");
	expect_level(mm, a, LEAF_PTE, "the zap split the PMD");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		n += PageAnonExclusive(head + i);
	check_eq(n, modern() ? HPAGE_PMD_NR : 0,
		 "%s rules: subpages marked exclusive after the PMD split", rules());

	get_page(head);
	lock_page(head);
	ret = split_huge_page(head);
	check_eq(ret, 0, "split_huge_page() of the PTE-mapped THP");
	check_true(!PageCompound(head), "the THP is split");
	/* The zapped subpage 7 was freed by the split (no mapping kept it). */
	n = 0;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		n += i != 7 && PageAnonExclusive(head + i);
	check_eq(n, modern() ? HPAGE_PMD_NR - 1 : 0,
		 "%s rules: mapped pages marked exclusive after split_huge_page() (each keeps "
		 "its own)", rules());
	unlock_page(head);
	put_page(head);

	check_eq(do_madvise(mm, a, SZ_2M, MADV_COLLAPSE), 0, "MADV_COLLAPSE of the block");
	expect_level(mm, a, LEAF_PMD, "the collapse maps a THP");
	collapsed = page_at(mm, a);
	check_exclusive(collapsed, modern(), "the THP MADV_COLLAPSE made");
	check_eq(get_word(a, "after collapse"), 1, "the collapse kept the data");

	fork_child(mm);
	check_exclusive(collapsed, false, "the THP after fork shared its PMD");
	put_child();
	unmap(a, SZ_2M, "THP");
}

/* hugetlb: the mark is on the head: set by the fault, cleared by fork, set again by the reuse
 * once the child is gone. */
static void test_exclusive_hugetlb(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(THP_BASE, SZ_2M, RW, ANON | MAP_HUGETLB | MAP_FIXED, "hugetlb");
	struct page *head;

	put_word(a, 1, "first write");
	head = page_at(mm, a);
	check_exclusive(head, modern(), "a hugetlb page just faulted in");
	check_exclusive(head + 5, modern(), "a hugetlb tail (answers for its head)");
	fork_child(mm);
	check_exclusive(head, false, "the hugetlb page after fork");
	put_child();
	put_word(a, 2, "the parent writes once the child is gone");
	check_ptr(page_at(mm, a), head, "the parent reuses its hugetlb page");
	check_exclusive(head, modern(), "the reused hugetlb page");
	unmap(a, SZ_2M, "hugetlb");
}

/* pinmm_check_invariants() knows what is legal: the mark on a page mapped twice is reported
 * (modern), and so is any mark at all under 5.7 rules; the machine as the rules leave it is
 * clean. */
static void test_check_knows_the_mark(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	struct page *page;
	char *log;

	put_word(a, 1, "first write");
	page = page_at(mm, a);
	fork_child(mm);
	check_eq(pinmm_check_invariants(), 0, "%s rules: the machine after fork", rules());
	SetPageAnonExclusive(page); /* a corruption: parent and child map it */
	log_clear();
	check_eq(pinmm_check_invariants(), 1, "%s rules: an exclusive page mapped twice",
		 rules());
	log = test_log_take();
	check_true(strstr(log, modern() ? "PageAnonExclusive but mapped 2 times"
					: "PageAnonExclusive under 5.7 rules") != NULL,
		   "%s rules: the check names the problem; it said:\n%s", rules(), log);
	free(log);
	ClearPageAnonExclusive(page);
	put_child();
	check_eq(pinmm_check_invariants(), 0, "%s rules: the repaired machine", rules());
	unmap(a, PG(1), "page");
}

/* ---- a read-only pin taken after fork, then the parent writes ---- */

enum backing { SMALL, THP, HUGETLB };

static const char *const backing_name[] = {"a small page", "a PMD-mapped THP",
					   "a 2 MiB hugetlb page"};

/*
 * cow.c's "R/O pin after fork, then parent write" scenario. Under 5.7 the pin takes the page
 * the parent shares with its child; the parent's write then copies (two mappings), and the pin
 * is left on a page the parent no longer maps: the DMA reads stale data. Under modern rules the
 * pin first unshares the page (a read-only copy the parent maps alone), and the parent's write
 * reuses it: the pin sees the write.
 */
static void ro_pin_after_fork(struct mm_struct *mm, enum backing b, bool fast)
{
	unsigned long len = b == SMALL ? PG(1) : SZ_2M;
	unsigned long flags = ANON | MAP_FIXED | (b == HUGETLB ? MAP_HUGETLB : 0);
	unsigned long base = b == SMALL ? BASE : THP_BASE, a = base + (b == SMALL ? 0 : PG(3));
	const char *what = backing_name[b];
	struct page *shared, *pinned;
	long anon0, ret;

	map(base, len, RW, flags, what);
	put_word(a, 0x1111, "before fork");
	if (b == THP)
		expect_level(mm, a, LEAF_PMD, "%s", what);
	shared = page_at(mm, a);
	fork_child(mm);
	anon0 = nr_anon();
	if (fast) {
		ret = pin_user_pages_fast(a, 1, 0, &pinned);
	} else {
		mmap_read_lock(mm);
		ret = pin_user_pages(a, 1, 0, &pinned);
		mmap_read_unlock(mm);
	}
	check_eq(ret, 1, "%s: read-only pin of %s shared with a child", fast ? "fast" : "slow",
		 what);
	if (modern()) {
		check_true(pinned != shared, "%s: the pin unshared (copied) %s", rules(), what);
		check_ptr(page_at(mm, a), pinned, "%s: the parent maps the pinned copy", rules());
		check_true(!(pt_walk(mm, a).entry & _PAGE_RW),
			   "%s: the unshare leaves the mapping read-only", rules());
		check_true(PageAnonExclusive(pinned), "%s: the pinned page is exclusive", rules());
		if (b == THP)
			check_true(!PageCompound(pinned),
				   "the unshare of a THP split the PMD and copied one subpage");
		if (b != HUGETLB)
			check_eq(nr_anon() - anon0, 1,
				 "pages the unshare copied (nr_anon_pages delta)");
	} else {
		check_ptr(pinned, shared, "5.7: the pin takes the shared page as mapped");
	}
	check_eq(remote_word(child, a, "the child"), 0x1111, "the child's view");

	put_word(a, 0x2222, "the parent writes after the pin");
	if (modern()) {
		check_ptr(page_at(mm, a), pinned, "modern: the write reuses the pinned page");
		check_eq(word_in(pinned), 0x2222, "modern: the pin sees the parent's write");
	} else {
		check_true(page_at(mm, a) != pinned,
			   "5.7: the write copies away from the pinned page");
		check_eq(word_in(pinned), 0x1111,
			 "5.7: the pin reads stale data (the historical failure)");
	}
	check_eq(remote_word(child, a, "the child after the write"), 0x1111,
		 "the parent's write does not reach the child");
	unpin_user_page(pinned);
	put_child();
	unmap(base, len, what);
}

static void test_ro_pin_after_fork_small(void **state)
{
	ro_pin_after_fork(*state, SMALL, false);
	ro_pin_after_fork(*state, SMALL, true);
}

static void test_ro_pin_after_fork_thp(void **state)
{
	ro_pin_after_fork(*state, THP, false);
	ro_pin_after_fork(*state, THP, true);
}

static void test_ro_pin_after_fork_hugetlb(void **state)
{
	ro_pin_after_fork(*state, HUGETLB, false);
	ro_pin_after_fork(*state, HUGETLB, true);
}

/* Unsharing happens once: a second read-only pin of the now exclusive page takes it as it is;
 * a read-only pin of a page nobody else maps copies nothing; FOLL_GET never unshares (Linux
 * keeps vmsplice() on FOLL_GET). */
static void test_unshare_only_when_needed(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(2), RW, ANON | MAP_FIXED, "pages");
	struct page *p[2], *got;
	long anon0;

	put_word(a, 1, "page 0");
	put_word(a + PG(1), 2, "page 1");
	p[0] = page_at(mm, a);
	anon0 = nr_anon();
	check_eq(pin_user_pages_fast(a, 1, 0, &got), 1, "read-only pin of an unshared page");
	check_ptr(got, p[0], "%s: a page only the parent maps is pinned as it is", rules());
	check_eq(nr_anon() - anon0, 0, "nothing copied");
	unpin_user_page(got);

	fork_child(mm);
	p[1] = page_at(mm, a + PG(1));
	mmap_read_lock(mm);
	check_eq(get_user_pages(a + PG(1), 1, 0, &got), 1, "read-only FOLL_GET after fork");
	mmap_read_unlock(mm);
	check_ptr(got, p[1], "%s: FOLL_GET takes the shared page, no unshare", rules());
	put_page(got);

	anon0 = nr_anon();
	check_eq(pin_user_pages_fast(a, 1, 0, &got), 1, "first read-only pin after fork");
	check_eq(nr_anon() - anon0, modern() ? 1 : 0, "%s: pages the first pin copied", rules());
	p[0] = got;
	check_eq(pin_user_pages_fast(a, 1, 0, &got), 1, "second read-only pin after fork");
	check_ptr(got, p[0], "%s: the second pin takes the same page", rules());
	check_eq(nr_anon() - anon0, modern() ? 1 : 0, "%s: the second pin copies nothing", rules());
	unpin_user_page(got);
	unpin_user_page(p[0]);
	put_child();
	unmap(a, PG(2), "pages");
}

/* A write pin is not an unshare: FOLL_WRITE breaks COW through a write fault under both. */
static void test_write_pin_after_fork_copies(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	struct page *shared, *got;

	put_word(a, 5, "before fork");
	shared = page_at(mm, a);
	fork_child(mm);
	check_eq(pin_user_pages_fast(a, 1, FOLL_WRITE, &got), 1, "write pin after fork");
	check_true(got != shared, "%s: the write pin copies", rules());
	check_ptr(page_at(mm, a), got, "the parent maps the pinned copy");
	check_true(pt_walk(mm, a).entry & _PAGE_RW, "the write pin leaves the mapping writable");
	check_exclusive(got, modern(), "the write pin's copy");
	unpin_user_page(got);
	put_child();
	unmap(a, PG(1), "page");
}

/*
 * The reuse rule with a reference that is not a mapping (CVE-2020-29374's shape, with a
 * FOLL_GET reference in place of vmsplice()'s pipe): the child takes a read-only FOLL_GET
 * reference on a page it shares with its parent, then unmaps it. 5.7 lets the parent's next
 * write reuse the page (it is the only mapper), so the child's reference reads the parent's new
 * data; modern rules copy it (not exclusive, and a reference besides the mapping's). For a THP
 * the 5.7 test is the whole THP's mapcounts; modern rules split the PMD and copy the subpage.
 */
static void get_ref_in_child_then_parent_writes(struct mm_struct *mm, enum backing b)
{
	unsigned long len = b == SMALL ? PG(1) : SZ_2M;
	unsigned long base = b == SMALL ? BASE : THP_BASE, a = base + (b == SMALL ? 0 : PG(3));
	const char *what = backing_name[b];
	struct page *shared, *got;
	long ret;

	map(base, len, RW, ANON | MAP_FIXED, what);
	put_word(a, 0x01d, "before fork");
	if (b == THP)
		expect_level(mm, a, LEAF_PMD, "%s", what);
	shared = page_at(mm, a);
	fork_child(mm);
	mmap_read_lock(child);
	ret = get_user_pages_remote(child, a, 1, 0, &got, NULL);
	mmap_read_unlock(child);
	check_eq(ret, 1, "the child's read-only FOLL_GET of %s", what);
	check_ptr(got, shared, "FOLL_GET does not unshare");
	check_eq(do_madvise(child, base, len, MADV_DONTNEED), 0, "the child unmaps %s", what);

	put_word(a, 0x5ec7e7, "the parent's write after the child's unmap");
	if (modern()) {
		check_true(page_at(mm, a) != shared, "modern: the parent's write copies %s", what);
		check_eq(word_in(got), 0x01d, "modern: the child's reference keeps the old data");
	} else {
		check_ptr(page_at(mm, a), shared, "5.7: the parent's write reuses %s", what);
		check_eq(word_in(got), 0x5ec7e7,
			 "5.7: the child's reference reads the parent's later write (the leak)");
	}
	put_page(got);
	put_child();
	unmap(base, len, what);
}

static void test_get_ref_in_child_then_parent_writes_small(void **state)
{
	get_ref_in_child_then_parent_writes(*state, SMALL);
}

static void test_get_ref_in_child_then_parent_writes_thp(void **state)
{
	get_ref_in_child_then_parent_writes(*state, THP);
}

/* ---- FOLL_FORCE writes ---- */

/*
 * A FOLL_FORCE write (ptrace) to a read-only private page the process wrote before. Modern
 * rules follow the read-only PTE at once, since it maps an exclusive anonymous page; 5.7 has to
 * fault first (the fault reuses the page and sets FOLL_COW, then the dirty PTE is followed).
 * The same page either way; the fault count tells the rules apart.
 */
static void test_foll_force_write_exclusive_page(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(1), RW, ANON | MAP_FIXED, "page"), faults;
	struct page *page, *got;

	put_word(a, 7, "before mprotect");
	page = page_at(mm, a);
	check_eq(vm_mprotect(a, PG(1), PROT_READ), 0, "mprotect(PROT_READ)");
	faults = global_vm_event_count(PGFAULT);
	mmap_read_lock(mm);
	check_eq(get_user_pages(a, 1, FOLL_WRITE | FOLL_FORCE, &got), 1,
		 "FOLL_FORCE write to the read-only page");
	mmap_read_unlock(mm);
	check_ptr(got, page, "%s: the page the process wrote", rules());
	check_eq(global_vm_event_count(PGFAULT) - faults, modern() ? 0 : 1,
		 "%s: faults taken by the FOLL_FORCE write", rules());
	check_true(!(pt_walk(mm, a).entry & _PAGE_RW), "the mapping stays read-only");
	put_page(got);
	unmap(a, PG(1), "page");
}

/* The same after fork: the page is shared, so both rule sets copy it for the parent and the
 * child never sees the forced write. */
static void test_foll_force_write_shared_page(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	struct page *shared, *got;

	put_word(a, 7, "before fork");
	check_eq(vm_mprotect(a, PG(1), PROT_READ), 0, "mprotect(PROT_READ)");
	shared = page_at(mm, a);
	fork_child(mm);
	mmap_read_lock(mm);
	check_eq(get_user_pages(a, 1, FOLL_WRITE | FOLL_FORCE, &got), 1,
		 "FOLL_FORCE write after fork");
	mmap_read_unlock(mm);
	check_true(got != shared, "%s: the forced write copies the shared page", rules());
	check_exclusive(got, modern(), "the forced write's copy");
	*(unsigned long *)page_address(got) = 9;
	check_eq(remote_word(child, a, "the child"), 7, "the child never sees the forced write");
	check_eq(get_word(a, "the parent"), 9, "the parent sees it");
	put_page(got);
	put_child();
	unmap(a, PG(1), "page");
}

/* hugetlb: 5.7 COWs a FOLL_FORCE write into a read-only private mapping; modern rules refuse it
 * (-EFAULT, check_vma_flags()). */
static void test_foll_force_write_hugetlb(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(THP_BASE, SZ_2M, PROT_READ, ANON | MAP_HUGETLB | MAP_FIXED,
			      "read-only hugetlb");
	struct page *got = NULL;
	long ret;

	mmap_read_lock(mm);
	ret = get_user_pages(a, 1, FOLL_WRITE | FOLL_FORCE, &got);
	mmap_read_unlock(mm);
	check_eq(ret, modern() ? -EFAULT : 1, "%s: FOLL_FORCE write to read-only hugetlb",
		 rules());
	if (ret == 1)
		put_page(got);
	unmap(a, SZ_2M, "read-only hugetlb");
}

/* ---- read-only long-term pins in COW mappings (6.2) ---- */

/* A read-only long-term pin of the page mapped at a (not anonymous: the zero page or a file's
 * page in a private mapping), then the owner's write of 0x77: modern rules pin an unshared
 * anonymous copy that the write reaches; 5.7 pins the page as mapped, and the write goes to a
 * new page the pin never sees. A short-term read-only pin takes the page as mapped under both. */
static void ro_longterm_pin_then_write(struct mm_struct *mm, unsigned long a, unsigned long old,
				       const char *what)
{
	struct page *mapped = pfn_to_page(pte_pfn(pte_at(mm, a))), *got;

	mmap_read_lock(mm);
	check_eq(pin_user_pages(a, 1, 0, &got), 1, "%s: short-term read-only pin", what);
	mmap_read_unlock(mm);
	check_ptr(got, mapped, "%s rules: %s: a short-term pin takes the page as mapped", rules(),
		  what);
	unpin_user_page(got);

	mmap_read_lock(mm);
	check_eq(pin_user_pages(a, 1, FOLL_LONGTERM, &got), 1, "%s: long-term read-only pin",
		 what);
	mmap_read_unlock(mm);
	if (modern()) {
		check_true(got != mapped && PageAnon(got) && PageAnonExclusive(got),
			   "modern rules: %s: the pin takes an exclusive anonymous copy", what);
		check_ptr(page_at(mm, a), got, "modern rules: %s: the copy is mapped", what);
		check_true(!pte_write(pte_at(mm, a)), "modern rules: %s: mapped read-only", what);
	} else {
		check_ptr(got, mapped, "5.7 rules: %s: the pin takes the page as mapped", what);
	}
	check_eq(word_in(got), old, "%s rules: %s: the pinned page's data", rules(), what);
	put_word(a, 0x77, what);
	check_eq(word_in(got), modern() ? 0x77 : old,
		 "%s rules: %s: the owner's write %s the pinned page", rules(), what,
		 modern() ? "reaches" : "does not reach");
	unpin_user_page(got);
}

static void test_ro_longterm_pin_of_the_zero_page(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(1), RW, ANON | MAP_FIXED, "a page never written");

	check_eq(get_word(a, "read"), 0, "the zero page reads zero");
	check_true(is_zero_pfn(pte_pfn(pte_at(mm, a))), "the zero page is mapped");
	ro_longterm_pin_then_write(mm, a, 0, "the zero page");
	unmap(a, PG(1), "a page never written");
}

static void test_ro_longterm_pin_of_a_private_file_page(void **state)
{
	struct mm_struct *mm = *state;
	struct file *f = memfd_file_create("ro-longterm", 0);
	unsigned long a;

	assert_false(IS_ERR(f));
	assert_int_equal(vfs_truncate(f, PG(1)), 0);
	a = vm_mmap(f, 0, PG(1), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(a));
	put_word(a, 0x11, "the file's page");
	unmap(a, PG(1), "the shared mapping");
	a = vm_mmap(f, 0, PG(1), RW, MAP_PRIVATE, 0);
	assert_false(IS_ERR_VALUE(a));
	check_eq(get_word(a, "read"), 0x11, "the private mapping reads the file");
	check_true(!PageAnon(page_at(mm, a)), "the file's page is mapped");
	ro_longterm_pin_then_write(mm, a, 0x11, "a private mapping's file page");
	unmap(a, PG(1), "the private mapping");
	fput(f);
}

#define both(f)                                                                                    \
	cmocka_unit_test_setup_teardown(f, setup_mm_57, teardown),                                 \
		cmocka_unit_test_setup_teardown(f, setup_mm_modern, teardown)
#define both_hugetlb(f)                                                                            \
	cmocka_unit_test_setup_teardown(f, setup_hugetlb_57, teardown),                            \
		cmocka_unit_test_setup_teardown(f, setup_hugetlb_modern, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		both(test_exclusive_small_page),
		both(test_exclusive_thp),
		both_hugetlb(test_exclusive_hugetlb),
		both(test_check_knows_the_mark),
		both(test_ro_pin_after_fork_small),
		both(test_ro_pin_after_fork_thp),
		both_hugetlb(test_ro_pin_after_fork_hugetlb),
		both(test_unshare_only_when_needed),
		both(test_get_ref_in_child_then_parent_writes_small),
		both(test_get_ref_in_child_then_parent_writes_thp),
		both(test_write_pin_after_fork_copies),
		both(test_foll_force_write_exclusive_page),
		both(test_foll_force_write_shared_page),
		both_hugetlb(test_foll_force_write_hugetlb),
		both(test_ro_longterm_pin_of_the_zero_page),
		both(test_ro_longterm_pin_of_a_private_file_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
