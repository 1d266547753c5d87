/* SPDX-License-Identifier: MIT */
/*
 * The LRU lists (src/mm/lru.c, <pinmm/mm_inline.h>): which list each kind of page joins (a new
 * anonymous page: active under 5.7, inactive under modern rules; page-cache pages of host files
 * on the file lists, shmem on the anon lists; a THP as one entry of 512 pages; hugetlb on
 * none), that freeing takes a page off, that a split THP's subpages join their head's list, that
 * isolate/putback hand pages over with a reference, the aging steps (mark_page_accessed,
 * activate/deactivate/rotate and their counters) and that pinmm_check_invariants() notices a
 * page whose LRU state is wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_mm_util.h"

#define BASE 0x40000000UL

static long lru_count(enum lru_list lru)
{
	return global_node_page_state((enum node_stat_item)(NR_LRU_BASE + lru));
}

#define check_clean(...)                                                                           \
	do {                                                                                       \
		long n__ = pinmm_check_invariants();                                               \
		if (n__ != 0)                                                                      \
			test_fail("%s: pinmm_check_invariants() = %ld, expected 0",                \
				  scenario_text(__VA_ARGS__), n__);                                \
	} while (0)

/* A new anonymous page joins the active list under 5.7, the inactive one under modern rules,
 * and leaves it when it is freed. */
static void new_anon_page(bool modern)
{
	const char *what = modern ? "modern: a new anonymous page" : "5.7: a new anonymous page";
	enum lru_list want = modern ? LRU_INACTIVE_ANON : LRU_ACTIVE_ANON;
	long before = lru_count(want), other = lru_count(want ^ LRU_ACTIVE);
	struct page *page;

	map(BASE, PG(4), RW, ANON | MAP_FIXED, what);
	put_word(BASE, 1, what);
	page = page_at(current_mm(), BASE);
	check_true(PageLRU(page), "%s: PG_lru", what);
	check_eq(PageActive(page), !modern, "%s: PG_active", what);
	check_eq(page_lru(page), want, "%s: its list", what);
	check_eq(lru_count(want), before + 1, "%s: %s", what,
		 node_stat_name((enum node_stat_item)(NR_LRU_BASE + want)));
	check_eq(lru_count(want ^ LRU_ACTIVE), other, "%s: the other anon list", what);
	check_eq(lruvec_lru_size(want), (unsigned long)before + 1, "%s: lru_size", what);
	check_clean("%s", what);
	unmap(BASE, PG(4), what);
	check_eq(lru_count(want), before, "%s: after munmap freed it", what);
}

static void test_new_anon_page_57(void **state)
{
	(void)state;
	new_anon_page(false);
}

static void test_new_anon_page_modern(void **state)
{
	(void)state;
	new_anon_page(true);
}

/* A COW copy is a new anonymous page too; the old one stays on its list while mapped. */
static void test_cow_copy_on_lru(void **state)
{
	const char *what = "a private file-less COW after fork";
	struct mm_struct *child;
	struct page *parent_page, *child_page;

	(void)state;
	map(BASE, PG(1), RW, ANON | MAP_FIXED, what);
	put_word(BASE, 7, what);
	child = pinmm_fork(current_mm());
	assert_false(IS_ERR_OR_NULL(child));
	put_word(BASE, 8, what);
	parent_page = page_at(current_mm(), BASE);
	child_page = page_at(child, BASE);
	check_true(parent_page != child_page, "%s: the parent copied", what);
	check_true(PageLRU(parent_page) && PageLRU(child_page), "%s: both on the LRU", what);
	check_clean("%s", what);
	mmput(child);
	check_clean("%s: after the child exits", what);
}

/* A THP is one entry that counts 512 pages; split, its 512 pages are 512 entries of the same
 * list and the counts do not move. */
static void test_thp_is_one_entry_and_split_keeps_counts(void **state)
{
	const char *what = "an anonymous THP";
	long anon0 = lru_count(LRU_ACTIVE_ANON) + lru_count(LRU_INACTIVE_ANON);
	struct page *head;

	(void)state;
	map(BASE, SZ_2M, RW, ANON | MAP_FIXED, what);
	put_word(BASE, 1, what);
	head = page_at(current_mm(), BASE);
	check_true(PageHead(head), "%s: the fault gave a THP", what);
	check_true(PageLRU(head) && PageLRU(head + 7), "%s: PG_lru (asked of a tail: its head's)",
		   what);
	check_eq(lru_count(LRU_ACTIVE_ANON) + lru_count(LRU_INACTIVE_ANON), anon0 + HPAGE_PMD_NR,
		 "%s: counted as 512 pages", what);
	check_clean("%s", what);

	get_page(head);
	lock_page(head);
	check_eq(split_huge_page(head), 0, "%s: split", what);
	unlock_page(head);
	put_page(head);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 73)
		check_true(PageLRU(head + i) && page_lru(head + i) == page_lru(head),
			   "%s: subpage %lu after the split is on its head's list", what, i);
	check_eq(lru_count(LRU_ACTIVE_ANON) + lru_count(LRU_INACTIVE_ANON), anon0 + HPAGE_PMD_NR,
		 "%s: still 512 pages after the split", what);
	check_clean("%s: after the split", what);
	unmap(BASE, SZ_2M, what);
	check_eq(lru_count(LRU_ACTIVE_ANON) + lru_count(LRU_INACTIVE_ANON), anon0,
		 "%s: after munmap", what);
}

/* hugetlb pages are never on the LRU (Linux keeps them off it). */
static void test_hugetlb_not_on_lru(void **state)
{
	const char *what = "a hugetlb page";
	long all0 = 0, all1 = 0;
	enum lru_list lru;
	struct page *page;

	(void)state;
	for_each_lru(lru)
		all0 += lru_count(lru);
	map(BASE, SZ_2M, RW, ANON | MAP_FIXED | MAP_HUGETLB, what);
	put_word(BASE, 1, what);
	page = page_at(current_mm(), BASE);
	check_true(PageHuge(page), "%s: hugetlb", what);
	check_true(!PageLRU(page), "%s: not PG_lru", what);
	check_eq(isolate_lru_page(page), -EBUSY, "%s: isolate_lru_page()", what);
	for_each_lru(lru)
		all1 += lru_count(lru);
	check_eq(all1, all0, "%s: no list grew", what);
	unmap(BASE, SZ_2M, what);
}

static int setup_hugetlb(void **state)
{
	return boot_with_hugetlb_pools(state, 2, 0);
}

/* Page-cache pages: a host file's on the inactive file list, a shmem file's on the inactive
 * anon list (PG_swapbacked), both gone once the cache lets go and the last reference drops. */
static void test_page_cache_pages(void **state)
{
	char path[] = "/tmp/lru-test-XXXXXX";
	int fd = mkstemp(path);
	struct file *host, *shm;
	struct page *hp, *sp;
	long file0 = lru_count(LRU_INACTIVE_FILE), anon0 = lru_count(LRU_INACTIVE_ANON);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * PAGE_SIZE), 0);
	close(fd);
	host = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(host));
	hp = read_mapping_page(host->f_mapping, 1);
	assert_false(IS_ERR(hp));
	check_true(PageLRU(hp) && !PageActive(hp) && page_is_file_lru(hp),
		   "a host-file page: on the inactive file list");
	check_eq(lru_count(LRU_INACTIVE_FILE), file0 + 1, "nr_inactive_file after a read");

	shm = shmem_file_setup("lru", 2 * PAGE_SIZE, 0);
	assert_false(IS_ERR(shm));
	sp = read_mapping_page(shm->f_mapping, 0);
	assert_false(IS_ERR(sp));
	check_true(PageLRU(sp) && !PageActive(sp) && !page_is_file_lru(sp),
		   "a shmem page: on the inactive anon list");
	check_eq(lru_count(LRU_INACTIVE_ANON), anon0 + 1, "nr_inactive_anon after a shmem read");
	check_clean("page-cache pages on the LRU");

	/* Truncated while referenced: it stays on its list until the reference goes, as in
	 * Linux (the page cache dropped it; the list did not). */
	assert_int_equal(vfs_truncate(host, 0), 0);
	check_true(PageLRU(hp), "a truncated host-file page we still hold stays on the LRU");
	put_page(hp);
	check_eq(lru_count(LRU_INACTIVE_FILE), file0, "nr_inactive_file after the last put");
	put_page(sp);
	fput(shm);
	check_eq(lru_count(LRU_INACTIVE_ANON), anon0, "nr_inactive_anon after the last fput");
	fput(host);
	unlink(path);
}

/* isolate_lru_page() takes the page off with a reference, a second isolation fails, and
 * putback_lru_page() returns both. */
static void test_isolate_and_putback(void **state)
{
	const char *what = "isolate_lru_page() of a mapped anonymous page";
	struct page *page;
	enum lru_list lru;
	long n0;
	int ref0;

	(void)state;
	map(BASE, PG(1), RW, ANON | MAP_FIXED, what);
	put_word(BASE, 3, what);
	page = page_at(current_mm(), BASE);
	lru = page_lru(page);
	n0 = lru_count(lru);
	ref0 = page_count(page);
	check_eq(isolate_lru_page(page), 0, "%s", what);
	check_true(!PageLRU(page), "%s: PG_lru cleared", what);
	check_eq(page_count(page), ref0 + 1, "%s: the isolation's reference", what);
	check_eq(lru_count(lru), n0 - 1, "%s: its list shrank", what);
	check_eq(isolate_lru_page(page), -EBUSY, "%s: a second isolation", what);
	putback_lru_page(page);
	check_true(PageLRU(page) && page_lru(page) == lru, "%s: back on its list", what);
	check_eq(page_count(page), ref0, "%s: the reference went back", what);
	check_eq(lru_count(lru), n0, "%s: the list's count", what);

	/* Isolated and then unmapped: the isolator's put frees it. */
	check_eq(isolate_lru_page(page), 0, "%s (again)", what);
	unmap(BASE, PG(1), what);
	check_eq(page_count(page), 1, "%s: only the isolation's reference is left", what);
	putback_lru_page(page);
	check_eq(lru_count(lru), n0 - 1, "%s: freed by putback's put, off the list", what);
}

/* The aging steps of mark_page_accessed() and the list moves, with their counters. */
static void test_aging_steps(void **state)
{
	char path[] = "/tmp/lru-aging-XXXXXX";
	int fd = mkstemp(path);
	unsigned long act0 = global_vm_event_count(PGACTIVATE);
	unsigned long deact0 = global_vm_event_count(PGDEACTIVATE);
	unsigned long rot0 = global_vm_event_count(PGROTATED);
	struct file *file;
	struct page *page;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, PAGE_SIZE), 0);
	close(fd);
	file = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(file));
	page = read_mapping_page(file->f_mapping, 0);
	assert_false(IS_ERR(page));
	ClearPageReferenced(page);
	check_eq(page_lru(page), LRU_INACTIVE_FILE, "a read page starts inactive");
	mark_page_accessed(page);
	check_true(PageReferenced(page) && !PageActive(page),
		   "the first access: referenced, still inactive");
	mark_page_accessed(page);
	check_true(!PageReferenced(page) && PageActive(page) && page_lru(page) == LRU_ACTIVE_FILE,
		   "the second access: activated, referenced cleared");
	check_eq(global_vm_event_count(PGACTIVATE), act0 + 1, "pgactivate");
	mark_page_accessed(page);
	check_true(PageReferenced(page) && PageActive(page), "a third: active and referenced");
	deactivate_page(page);
	check_true(!PageReferenced(page) && !PageActive(page) &&
		   page_lru(page) == LRU_INACTIVE_FILE, "deactivate_page()");
	check_eq(global_vm_event_count(PGDEACTIVATE), deact0 + 1, "pgdeactivate");
	deactivate_page(page);
	check_eq(global_vm_event_count(PGDEACTIVATE), deact0 + 1,
		 "deactivate_page() of an inactive page moves nothing");
	rotate_reclaimable_page(page);
	check_eq(global_vm_event_count(PGROTATED), rot0 + 1, "pgrotated");
	activate_page(page);
	check_eq(global_vm_event_count(PGACTIVATE), act0 + 2, "activate_page()");
	rotate_reclaimable_page(page);
	check_eq(global_vm_event_count(PGROTATED), rot0 + 1,
		 "rotate_reclaimable_page() of an active page moves nothing");
	check_clean("after the aging steps");
	put_page(page);
	fput(file);
	unlink(path);
}

/* Found by the unit tier: the slow GUP path's FOLL_TOUCH calls mark_page_accessed(), and reads
 * of the zero page (on no list) activated it, so its free at shutdown was a bad page. A page
 * off the LRU is never activated (5.7 activates it only in its CPU's pagevec). */
static void test_accessed_off_lru_never_active(void **state)
{
	struct page *zero = ZERO_PAGE(0);

	(void)state;
	map(BASE, PG(1), PROT_READ, ANON | MAP_FIXED, "zero page");
	for (int i = 0; i < 3; i++)
		check_eq(get_word(BASE, "zero page"), 0, "read %d of the zero page", i);
	check_true(!PageActive(zero) && !PageLRU(zero),
		   "the zero page after three FOLL_TOUCH reads: not active, not on the LRU");
	mark_page_accessed(zero);
	mark_page_accessed(zero);
	check_true(!PageActive(zero), "mark_page_accessed() twice: still not active");
	unmap(BASE, PG(1), "zero page");
}

/* isolate_lru_pages() takes from the tail: the oldest pages first. */
static void test_isolate_lru_pages_takes_the_oldest(void **state)
{
	const char *what = "isolate_lru_pages() of 2 pages";
	CDS_LIST_HEAD(batch);
	struct page *p[4], *page, *tmp;
	unsigned long scanned, taken;
	long n0 = lru_count(LRU_INACTIVE_FILE);
	char path[] = "/tmp/lru-iso-XXXXXX";
	int fd = mkstemp(path), i = 0;
	struct file *file;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * PAGE_SIZE), 0);
	close(fd);
	file = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(file));
	for (int k = 0; k < 4; k++) {
		p[k] = read_mapping_page(file->f_mapping, (pgoff_t)k);
		assert_false(IS_ERR(p[k]));
	}
	taken = isolate_lru_pages(LRU_INACTIVE_FILE, 2, &batch, &scanned);
	check_eq(taken, 2, "%s: taken", what);
	check_eq(scanned, 2, "%s: scanned", what);
	check_eq(lru_count(LRU_INACTIVE_FILE), n0 + 2, "%s: the list after", what);
	cds_list_for_each_entry_safe(page, tmp, &batch, lru) {
		check_ptr(page, p[i], "%s: entry %d is the %d-th oldest page", what, i, i);
		check_true(!PageLRU(page), "%s: entry %d's PG_lru", what, i);
		i++;
		isolated_list_del(page);
		putback_lru_page(page);
	}
	check_eq(lru_count(LRU_INACTIVE_FILE), n0 + 4, "%s: all back", what);
	check_clean("%s", what);
	for (int k = 0; k < 4; k++)
		put_page(p[k]);
	fput(file);
	unlink(path);
}

/* The check knows the LRU: a listed page without PG_lru and a mapped anonymous page left off
 * every list are both reported. */
static void test_check_catches_lru_state(void **state)
{
	const char *what = "a page whose LRU state was broken on purpose";
	struct page *page;
	char *log;

	(void)state;
	map(BASE, PG(1), RW, ANON | MAP_FIXED, what);
	put_word(BASE, 3, what);
	page = page_at(current_mm(), BASE);
	log_clear();
	ClearPageLRU(page);
	check_true(pinmm_check_invariants() > 0, "%s: PG_lru cleared on a listed page", what);
	log = test_log_take();
	check_true(strstr(log, "without PG_lru") != NULL, "%s: the report names it:\n%s", what,
		   log);
	free(log);
	SetPageLRU(page);

	check_eq(isolate_lru_page(page), 0, "%s: isolate", what);
	check_true(pinmm_check_invariants() > 0, "%s: isolated on a quiescent machine", what);
	log = test_log_take();
	check_true(strstr(log, "on no LRU list") != NULL, "%s: the report names it:\n%s", what,
		   log);
	free(log);
	putback_lru_page(page);
	check_clean("%s: repaired", what);
	unmap(BASE, PG(1), what);
}

/* Bad calls change nothing. */
static void test_bad_calls(void **state)
{
	const char *what = "lru_cache_add() of a page already on the LRU";
	unsigned long warns;
	struct page *page;
	long n;

	(void)state;
	map(BASE, PG(1), RW, ANON | MAP_FIXED, what);
	put_word(BASE, 3, what);
	page = page_at(current_mm(), BASE);
	n = lru_count(page_lru(page));
	warns = pinmm_warn_count();
	lru_cache_add(page);
	log_clear();
	check_eq(pinmm_warn_count(), warns + 1, "%s: one WARN", what);
	check_eq(lru_count(page_lru(page)), n, "%s: nothing counted twice", what);
	check_eq(lruvec_lru_size(NR_LRU_LISTS), 0, "lruvec_lru_size() of a list that is not one");
	check_clean("%s", what);
	unmap(BASE, PG(1), what);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm_57(test_new_anon_page_57),
		test_with_mm_modern(test_new_anon_page_modern),
		test_with_mm(test_cow_copy_on_lru),
		test_with_mm_57(test_thp_is_one_entry_and_split_keeps_counts),
		test_with_mm_modern(test_thp_is_one_entry_and_split_keeps_counts),
		cmocka_unit_test_setup_teardown(test_hugetlb_not_on_lru, setup_hugetlb, teardown_mm),
		test_with_mm(test_page_cache_pages),
		test_with_mm(test_isolate_and_putback),
		test_with_mm(test_aging_steps),
		test_with_mm(test_accessed_off_lru_never_active),
		test_with_mm(test_isolate_lru_pages_takes_the_oldest),
		test_with_mm(test_check_catches_lru_state),
		test_with_mm(test_bad_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
