/* SPDX-License-Identifier: MIT */
/*
 * Swap (<pinmm/swap.h>, MADV_PAGEOUT / MADV_COLD of <pinmm/mman.h>), under the rule set the
 * run asks for (the suite runs under both): swapon() and swapoff() and their errors, which
 * change nothing; pages out and back in with their contents; swap entries in page tables and
 * their counts; fork sharing an entry and the COW after the swap-in; MADV_COLD; swapoff() with
 * pages out, and one that finds no memory (it fails and nothing is lost); a swap write that
 * fails (fault injection "io:write"): the page stays in memory, dirty, and nothing is lost;
 * swap I/O in requests of several pages (consecutive slots written in one request, swap-in's
 * readahead window read in one), and a failed request of 32 pages that keeps every page.
 * Every test ends with pinmm_check_invariants() (swap counts against page tables) at shutdown.
 *
 * The swap area is a temporary file in /tmp, removed at the end of each test. Mappings are
 * smaller than 2 MiB, so they are mapped by PTEs whatever the THP mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <pinmm/blkdev.h>
#include <pinmm/inject.h>
#include <pinmm/memory_hotplug.h>
#include <pinmm/mm_inline.h>
#include <pinmm/proc.h>
#include <pinmm/swap.h>

#include "test_mm_util.h"
#include "vm/swap.h" /* swap_count(), lookup_swap_cache(): the slot's state */

#define BASE 0x10000000UL
#define NPAGES 64

static char swap_path[64];

/* A host file of bytes bytes at swap_path. */
static void make_swap_file(unsigned long bytes)
{
	int fd;

	strcpy(swap_path, "/tmp/swap-test-XXXXXX");
	fd = mkstemp(swap_path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	close(fd);
}

static int setup_swap(void **state)
{
	if (setup_mm(state))
		return -1;
	make_swap_file(4UL << 20);
	return 0;
}

static int teardown_swap(void **state)
{
	pinmm_hook_clear_all();
	unlink(swap_path);
	return teardown_mm(state);
}

#define test_swap(f) cmocka_unit_test_setup_teardown(f, setup_swap, teardown_swap)

static struct pinmm_swap_info swap_info(void)
{
	struct pinmm_swap_info info;

	assert_int_equal(pinmm_swap_info(&info), 0);
	return info;
}

static void swap_on(void)
{
	check_eq(swapon(swap_path, 0), 0, "swapon(%s)", swap_path);
}

static void pageout(unsigned long addr, unsigned long len, const char *what)
{
	check_eq(do_madvise(current_mm(), addr, len, MADV_PAGEOUT), 0,
		 "%s: MADV_PAGEOUT of [%#lx, +%#lx)", what, addr, len);
}

static bool swapped_out(unsigned long addr)
{
	return is_swap_pte(pte_at(current_mm(), addr));
}

/* ---- swapon / swapoff ---- */

static void test_swapon_errors_change_nothing(void **state)
{
	char small[64];
	int fd;

	(void)state;
	check_eq(swapon(NULL, 0), -EINVAL, "swapon(NULL)");
	check_eq(swapon("", 0), -EINVAL, "swapon(\"\")");
	check_eq(swapon("/tmp/swap-test-no-such-file", 0), -ENOENT, "swapon of a missing file");
	check_eq(swapon(swap_path, 0x10000), -EINVAL, "swapon with an unknown flag");
	check_eq(swapon("/tmp", 0), -EISDIR, "swapon of a directory (open(2)'s error)");
	strcpy(small, "/tmp/swap-test-small-XXXXXX");
	fd = mkstemp(small);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, PINMM_SWAP_MIN_BYTES - 1), 0);
	close(fd);
	check_eq(swapon(small, 0), -EINVAL, "swapon of a file one byte short of 2 pages");
	check_eq(swap_info().total, 0, "no area after the failed swapons");

	check_eq(swapon(swap_path, SWAP_FLAG_PREFER | 5), 0, "swapon with a priority");
	check_eq(swap_info().total, (4UL << 20) / PAGE_SIZE - 1, "SwapTotal: the pages but the header");
	check_eq(swap_info().free, swap_info().total, "SwapFree of a new area");
	check_eq(swapon(swap_path, 0), -EBUSY, "swapon of the area that is on");
	check_eq(swapon(small, 0), -EBUSY, "swapon of another file while one is on");
	check_eq(swapoff(small), -EINVAL, "swapoff of a file that is not the area");
	check_eq(swapoff("/tmp/swap-test-no-such-file"), -ENOENT, "swapoff of a missing file");
	check_eq(swapoff(NULL), -EINVAL, "swapoff(NULL)");
	check_eq(swap_info().total, (4UL << 20) / PAGE_SIZE - 1, "the area after failed calls");
	check_eq(swapoff(swap_path), 0, "swapoff");
	check_eq(swap_info().total, 0, "SwapTotal after swapoff");
	check_eq(swapoff(swap_path), -ENODEV, "swapoff with no area on");
	unlink(small);
}

/* ---- out and in ---- */

static void test_pageout_and_back(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long out = global_vm_event_count(PSWPOUT), in = global_vm_event_count(PSWPIN);
	unsigned long total;
	long anon = nr_anon();

	swap_on();
	total = swap_info().total;
	map(BASE, PG(NPAGES), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, NPAGES, 0x5000, "tag");
	pageout(BASE, PG(NPAGES), "all pages");
	for (unsigned int i = 0; i < NPAGES; i++)
		check_true(swapped_out(BASE + PG(i)), "page %u is a swap entry after MADV_PAGEOUT", i);
	check_eq(global_vm_event_count(PSWPOUT) - out, NPAGES, "pswpout");
	check_eq(atomic_load(&mm->rss_stat[MM_SWAPENTS]), NPAGES, "MM_SWAPENTS");
	check_eq(rss_anon(mm), 0, "MM_ANONPAGES once all are out");
	check_eq(nr_anon(), anon, "nr_anon_pages: the pages are freed");
	check_eq(swap_info().free, total - NPAGES, "SwapFree: one slot per page");
	check_eq(swap_info().cached, 0, "SwapCached: written pages are freed");
	check_eq(pinmm_check_invariants(), 0, "invariants with pages out");

	expect_tags(BASE, NPAGES, 0x5000, "read back");
	check_eq(global_vm_event_count(PSWPIN) - in, NPAGES, "pswpin");
	check_eq(atomic_load(&mm->rss_stat[MM_SWAPENTS]), 0, "MM_SWAPENTS after the swap-ins");
	check_eq(rss_anon(mm), NPAGES, "MM_ANONPAGES after the swap-ins");
	/* Read faults keep the slots: the page is clean against them (swap not half full). */
	check_eq(swap_info().cached, NPAGES, "SwapCached after read faults");
	check_eq(pinmm_check_invariants(), 0, "invariants with pages in the swap cache");

	/* Out again: clean pages in the swap cache are not written again. */
	out = global_vm_event_count(PSWPOUT);
	pageout(BASE, PG(NPAGES), "clean pages of the swap cache");
	check_eq(global_vm_event_count(PSWPOUT) - out, 0, "pswpout of clean swap-cache pages");
	check_true(swapped_out(BASE), "page 0 out again");
	expect_tags(BASE, NPAGES, 0x5000, "read back twice");
	unmap(BASE, PG(NPAGES), "area");
	check_eq(swap_info().free, total, "SwapFree after munmap");
	check_eq(swap_info().cached, 0, "SwapCached after munmap");
}

/* A meminfo line's value in kB ("Name:   <n> kB"); -1 when the line is missing. */
static long meminfo_kb(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p ? strtol(p + strlen(name), NULL, 10) : -1;
}

/* The views see swap: pagemap's entry of a swapped-out page is PM_SWAP with the slot's type
 * and offset (not present), meminfo's SwapTotal / SwapFree / SwapCached follow the area. */
static void test_views_of_swapped_pages(void **state)
{
	struct mm_struct *mm = *state;
	uint64_t e[NPAGES];
	unsigned long total;
	char *text;

	swap_on();
	total = swap_info().total;
	map(BASE, PG(NPAGES), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, NPAGES, 0x7000, "tag");
	pageout(BASE, PG(NPAGES), "all pages");
	check_eq(proc_pid_pagemap(mm, BASE, NPAGES, e), NPAGES, "pagemap of the area");
	for (unsigned int i = 0; i < NPAGES; i++) {
		swp_entry_t entry = pte_to_swp_entry(pte_at(mm, BASE + PG(i)));
		uint64_t want = swp_type(entry) | ((uint64_t)swp_offset(entry) << 5);

		check_true((e[i] & PM_SWAP) && !(e[i] & PM_PRESENT),
			   "pagemap of page %u: swapped, not present (%#llx)", i,
			   (unsigned long long)e[i]);
		check_eq(e[i] & PM_PFRAME_MASK, want, "pagemap of page %u: type and offset", i);
	}
	text = printed(proc_meminfo);
	check_eq(meminfo_kb(text, "SwapTotal:"), (long)(total * 4), "meminfo SwapTotal");
	check_eq(meminfo_kb(text, "SwapFree:"), (long)((total - NPAGES) * 4), "meminfo SwapFree");
	check_eq(meminfo_kb(text, "SwapCached:"), 0, "meminfo SwapCached with pages out");
	free(text);
	expect_tags(BASE, NPAGES, 0x7000, "read back");
	check_eq(proc_pid_pagemap(mm, BASE, 1, e), 1, "pagemap after swap-in");
	check_true((e[0] & PM_PRESENT) && !(e[0] & PM_SWAP), "page 0 present again");
	text = printed(proc_meminfo);
	check_eq(meminfo_kb(text, "SwapCached:"), (long)swap_info().cached * 4,
		 "meminfo SwapCached after read faults");
	check_true(swap_info().cached > 0, "read faults leave pages in the swap cache");
	free(text);
	unmap(BASE, PG(NPAGES), "area");
}

static void test_write_fault_swapin_frees_slot(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long total;
	pte_t pte;

	swap_on();
	total = swap_info().total;
	map(BASE, PG(4), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, 4, 0x77, "tag");
	pageout(BASE, PG(4), "4 pages");
	put_word(BASE + 8, 0xabc, "write fault on a swap entry");
	pte = pte_at(mm, BASE);
	check_true(pte_present(pte) && pte_write(pte) && pte_dirty(pte),
		   "a write swap-in of a private page maps it writable and dirty (pte %#lx)",
		   pte.pte);
	check_eq(get_word(BASE, "word 0"), 0x77, "the rest of the page came back");
	check_eq(swap_info().free, total - 3, "the written page's slot is freed");
	check_true(!PageSwapCache(page_at(mm, BASE)), "the written page left the swap cache");
	check_true(PageDirty(page_at(mm, BASE)), "the written page is dirty (its only copy)");
}

/* Under modern rules the swap entry carries PageAnonExclusive (5.19's SWP_EXCLUSIVE) and a
 * read fault restores it: the page is then writable without a COW. */
static void test_swap_entry_keeps_exclusive(void **state)
{
	struct mm_struct *mm = *state;
	bool modern = pinmm_rules() == PINMM_RULES_MODERN;
	struct page *page;

	swap_on();
	map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	put_word(BASE, 1, "tag");
	pageout(BASE, PG(1), "one page");
	check_eq(!!pte_swp_exclusive(pte_at(mm, BASE)), modern,
		 "the swap entry of an exclusive page is exclusive under modern rules only");
	check_eq(get_word(BASE, "read fault"), 1, "contents");
	page = page_at(mm, BASE);
	check_eq(PageAnonExclusive(page), modern, "PageAnonExclusive restored by the swap-in");
	check_eq(!!pte_write(pte_at(mm, BASE)), modern,
		 "a read swap-in of an exclusive page maps it writable (modern only)");
	put_word(BASE, 2, "write");
	check_ptr(page_at(mm, BASE), page, "the write reuses the swapped-in page (no copy)");
}

/* ---- fork ---- */

static void test_fork_shares_swap_entry(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long in;
	swp_entry_t entry;
	pte_t pte;

	swap_on();
	map(BASE, PG(2), RW, ANON | MAP_FIXED, "area");
	put_word(BASE, 0x1111, "tag");
	put_word(BASE + PG(1), 0x2222, "tag");
	pageout(BASE, PG(2), "two pages");
	entry = pte_to_swp_entry(pte_at(mm, BASE));
	child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	pte = pte_at(child, BASE);
	check_true(is_swap_pte(pte) && pte_to_swp_entry(pte).val == entry.val,
		   "the child's PTE is the parent's swap entry (%#lx)", pte.pte);
	check_true(!pte_swp_exclusive(pte) && !pte_swp_exclusive(pte_at(mm, BASE)),
		   "a shared swap entry is exclusive on neither side");
	check_eq(swap_count(entry), 2, "swap_duplicate(): two entries name the slot");
	check_eq(atomic_load(&child->rss_stat[MM_SWAPENTS]), 2, "the child's MM_SWAPENTS");
	check_eq(pinmm_check_invariants(), 0, "invariants after fork");

	check_eq(get_word(BASE, "parent read"), 0x1111, "parent's swap-in");
	in = global_vm_event_count(PSWPIN);
	check_eq(remote_word(child, BASE, "child read"), 0x1111, "child's swap-in");
	check_eq(global_vm_event_count(PSWPIN) - in, 0, "the second swap-in is from the swap cache");
	check_ptr(page_at(child, BASE), page_at(mm, BASE), "both map the swap-cache page");

	/* COW after swap-in: the parent's write copies, the child keeps the old contents. */
	put_word(BASE, 0x3333, "parent write");
	check_true(page_at(child, BASE) != page_at(mm, BASE), "the parent's write copied the page");
	check_eq(remote_word(child, BASE, "child read after"), 0x1111, "the child's page");
	/* The second page: the child writes while the parent's entry still names the slot. */
	remote_put_word(child, BASE + PG(1), 0x4444, "child write on a shared entry");
	check_eq(get_word(BASE + PG(1), "parent read of page 1"), 0x2222,
		 "the parent still reads its contents after the child's write");
	check_eq(pinmm_check_invariants(), 0, "invariants after the COWs");
	mmput(child);
	check_eq(pinmm_check_invariants(), 0, "invariants after the child's exit");
}

/* ---- MADV_COLD ---- */

static void test_madv_cold_deactivates(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long out = global_vm_event_count(PSWPOUT);

	swap_on();
	map(BASE, PG(8), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, 8, 0x10, "tag");
	/* Accessed three times: active and referenced (mark_page_accessed()'s steps). */
	for (unsigned int i = 0; i < 8; i++)
		for (int k = 0; k < 3; k++)
			mark_page_accessed(page_at(mm, BASE + PG(i)));
	check_true(PageActive(page_at(mm, BASE)) && PageReferenced(page_at(mm, BASE)),
		   "page 0 active and referenced before MADV_COLD");
	check_eq(do_madvise(mm, BASE, PG(8), MADV_COLD), 0, "MADV_COLD");
	for (unsigned int i = 0; i < 8; i++) {
		struct page *page = page_at(mm, BASE + PG(i));
		pte_t pte = pte_at(mm, BASE + PG(i));

		check_true(pte_present(pte) && !pte_young(pte), "page %u: mapped, PTE old", i);
		check_true(!PageActive(page) && !PageReferenced(page),
			   "page %u: inactive and unreferenced", i);
	}
	check_eq(global_vm_event_count(PSWPOUT), out, "MADV_COLD writes nothing");
	expect_tags(BASE, 8, 0x10, "contents");
	check_eq(do_madvise(mm, BASE, PG(8), 99), -EINVAL, "unknown advice");
}

/* ---- swapoff with pages out ---- */

static void test_swapoff_brings_pages_back(void **state)
{
	struct mm_struct *mm = *state, *child;

	swap_on();
	map(BASE, PG(NPAGES), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, NPAGES, 0x9000, "tag");
	pageout(BASE, PG(NPAGES), "all");
	child = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(child));
	check_eq(swapoff(swap_path), 0, "swapoff with %d pages out, shared with a child", NPAGES);
	check_eq(swap_info().total, 0, "SwapTotal after swapoff");
	for (unsigned int i = 0; i < NPAGES; i++) {
		check_true(pte_present(pte_at(mm, BASE + PG(i))), "parent page %u is back", i);
		check_true(pte_present(pte_at(child, BASE + PG(i))), "child page %u is back", i);
	}
	expect_tags(BASE, NPAGES, 0x9000, "parent after swapoff");
	check_eq(remote_word(child, BASE + PG(7), "child"), 0x9000 + 7, "the child's page 7");
	check_eq(atomic_load(&mm->rss_stat[MM_SWAPENTS]), 0, "no swap entries in the parent");
	mmput(child);
}

static void test_swapoff_without_memory_loses_nothing(void **state)
{
	struct pinmm_fail_attr fail = {.sites = "alloc:pages", .nth = 1, .persistent = true};
	unsigned long total;

	(void)state;
	swap_on();
	total = swap_info().total;
	map(BASE, PG(NPAGES), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, NPAGES, 0x4400, "tag");
	pageout(BASE, PG(NPAGES), "all");
	assert_int_equal(pinmm_fail_set(&fail), 0);
	check_eq(swapoff(swap_path), -ENOMEM, "swapoff when no page can be allocated");
	pinmm_fail_set(NULL);
	check_eq(swap_info().total, total, "the area stays on");
	check_eq(swap_info().free, total - NPAGES, "every page still out");
	check_eq(pinmm_check_invariants(), 0, "invariants after the failed swapoff");
	expect_tags(BASE, NPAGES, 0x4400, "nothing lost");
	/* And it still swaps. */
	pageout(BASE, PG(NPAGES), "after the failed swapoff");
	check_true(swapped_out(BASE), "swap-out works again");
	check_eq(swapoff(swap_path), 0, "swapoff with memory");
	expect_tags(BASE, NPAGES, 0x4400, "after swapoff");
}

/* ---- a failed swap write ---- */

static void test_failed_swap_write_keeps_page(void **state)
{
	struct mm_struct *mm = *state;
	struct pinmm_fail_attr fail = {.sites = "io:write", .nth = 1};
	struct pinmm_bdev_stats before, after;
	swp_entry_t entry;
	struct page *page;

	swap_on();
	map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	put_word(BASE, 0xfeed, "tag");
	assert_int_equal(pinmm_bdev_stats(&before), 0);
	assert_int_equal(pinmm_fail_set(&fail), 0);
	pageout(BASE, PG(1), "a page whose write fails");
	pinmm_fail_set(NULL);
	assert_int_equal(pinmm_bdev_stats(&after), 0);
	check_eq(after.errors - before.errors, 1, "the device reports the failed write");
	check_true(swapped_out(BASE), "the PTE is a swap entry");
	entry = pte_to_swp_entry(pte_at(mm, BASE));
	page = lookup_swap_cache(entry);
	check_true(page != NULL, "the page stays in memory, in the swap cache");
	check_true(PageDirty(page), "and dirty: the slot's contents are not trusted");
	put_page(page);
	check_eq(swap_info().cached, 1, "SwapCached");
	check_eq(pinmm_check_invariants(), 0, "invariants after a failed write");
	check_eq(get_word(BASE, "read back"), 0xfeed, "nothing lost");
	/* The next pageout writes it again, and this time it goes. */
	pageout(BASE, PG(1), "again");
	check_eq(swap_info().cached, 0, "written and freed the second time");
	check_eq(get_word(BASE, "read back from the slot"), 0xfeed, "the slot's contents");
}

/* ---- requests of several pages ---- */

/* The bdev counters' change since *before. */
static struct pinmm_bdev_stats bdev_delta(const struct pinmm_bdev_stats *before)
{
	struct pinmm_bdev_stats now;

	/* A request's completion is counted after its end_io ran, so after the waiter on its
	 * pages' writeback may have gone on: wait for the device to be idle first. */
	blk_drain();
	assert_int_equal(pinmm_bdev_stats(&now), 0);
	return (struct pinmm_bdev_stats){
		.submitted = now.submitted - before->submitted,
		.completed = now.completed - before->completed,
		.errors = now.errors - before->errors,
		.pages = now.pages - before->pages,
	};
}

/* MADV_PAGEOUT of 64 pages whose slots follow each other writes them in requests of 32 (a
 * bio of several segments, BIO_MAX_PAGES), not one request per page; reading them back in
 * order, the swap-in's readahead window grows (8, 16, 32 pages) and each fault's window is one
 * request. */
static void test_swap_io_in_requests_of_many_pages(void **state)
{
	struct pinmm_bdev_stats before, d;

	(void)state;
	swap_on();
	map(BASE, PG(NPAGES), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, NPAGES, 0x6100, "tag");
	assert_int_equal(pinmm_bdev_stats(&before), 0);
	pageout(BASE, PG(NPAGES), "64 pages into 64 consecutive slots");
	d = bdev_delta(&before);
	check_eq(d.pages, NPAGES, "pages written");
	check_eq(d.submitted, NPAGES / 32, "swap-out requests for 64 consecutive slots");
	check_eq(d.completed, d.submitted, "every request completed");
	check_eq(d.errors, 0, "write errors");
	for (unsigned int i = 0; i < NPAGES; i++)
		check_true(swapped_out(BASE + PG(i)), "page %u out", i);

	assert_int_equal(pinmm_bdev_stats(&before), 0);
	expect_tags(BASE, NPAGES, 0x6100, "read back in order");
	d = bdev_delta(&before);
	check_eq(d.pages, NPAGES, "pages read (the window stops at the last used slot)");
	/* Windows of 8, 16, 32 and the last 8: 4 requests (fewer if the window was grown
	 * already), where one page a request would be 64. */
	check_true(d.submitted >= 2 && d.submitted <= 4,
		   "swap-in of 64 sequential pages: expected 2 to 4 requests, found %lu",
		   d.submitted);
	check_eq(pinmm_check_invariants(), 0, "invariants after the swap-ins");
}

/* A request of 32 pages whose write fails ("io:write" on its one host write): every page of it
 * stays in memory, in the swap cache and dirty, the other request's pages are freed, and
 * nothing is lost; the next MADV_PAGEOUT writes the 32 again. */
static void test_failed_multi_page_write_keeps_every_page(void **state)
{
	struct mm_struct *mm = *state;
	struct pinmm_fail_attr fail = {.sites = "io:write", .nth = 1};
	struct pinmm_bdev_stats before, d;
	unsigned int dirty = 0;

	swap_on();
	map(BASE, PG(NPAGES), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, NPAGES, 0x6200, "tag");
	assert_int_equal(pinmm_bdev_stats(&before), 0);
	assert_int_equal(pinmm_fail_set(&fail), 0);
	pageout(BASE, PG(NPAGES), "64 pages, the first request's write fails");
	pinmm_fail_set(NULL);
	d = bdev_delta(&before);
	check_eq(d.submitted, 2, "two requests of 32");
	check_eq(d.errors, 1, "one failed request");
	for (unsigned int i = 0; i < NPAGES; i++) {
		struct page *page;

		check_true(swapped_out(BASE + PG(i)), "page %u: its PTE is a swap entry", i);
		page = lookup_swap_cache(pte_to_swp_entry(pte_at(mm, BASE + PG(i))));
		if (!page)
			continue;
		check_true(PageDirty(page), "page %u of the failed request is dirty", i);
		check_true(!PageWriteback(page), "page %u: writeback ended", i);
		dirty++;
		put_page(page);
	}
	check_eq(dirty, 32, "pages kept in the swap cache: the failed request's");
	check_eq(swap_info().cached, 32, "SwapCached");
	check_eq(pinmm_check_invariants(), 0, "invariants after a failed request");
	expect_tags(BASE, NPAGES, 0x6200, "nothing lost");
	pageout(BASE, PG(NPAGES), "again");
	check_eq(swap_info().cached, 0, "written and freed the second time");
	expect_tags(BASE, NPAGES, 0x6200, "read back from the slots");
}

/* A read that fails: the fault gives SIGBUS (copy_from_user fails), the entry stays. */
static void test_failed_swap_read(void **state)
{
	struct pinmm_fail_attr fail = {.sites = "io:read", .nth = 1};
	unsigned long val = 0;

	(void)state;
	swap_on();
	map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	put_word(BASE, 0xbeef, "tag");
	pageout(BASE, PG(1), "one page");
	assert_int_equal(pinmm_fail_set(&fail), 0);
	check_true(copy_from_user(&val, BASE, sizeof(val)) != 0,
		   "a swap-in whose read fails faults (SIGBUS)");
	pinmm_fail_set(NULL);
	check_true(swapped_out(BASE), "the entry stays");
	check_eq(get_word(BASE, "read again"), 0xbeef, "the next read works");
}

/*
 * Swap-cache pages nobody maps move with the memory they are in (Linux migrates any page on
 * the LRU): a read fault's readahead leaves the window's other pages in the swap cache,
 * unmapped; offlining ZONE_MOVABLE moves them to ZONE_NORMAL with their slots, and reading
 * them afterwards takes them from the swap cache, not from the device.
 */
static void test_offline_migrates_unmapped_swap_cache_pages(void **state)
{
	struct mm_struct *mm = *state;
	struct zone *movable = pinmm_zone(ZONE_MOVABLE);
	unsigned long pfns[8], in;

	swap_on();
	map(BASE, PG(8), RW, ANON | MAP_FIXED, "area");
	tag_pages(BASE, 8, 0x6300, "tag");
	pageout(BASE, PG(8), "8 pages");
	check_eq(get_word(BASE, "page 0"), 0x6300, "page 0 read back (its readahead: 1-7)");
	for (unsigned int i = 1; i < 8; i++) {
		struct page *page;

		check_true(swapped_out(BASE + PG(i)), "page %u still a swap entry", i);
		page = lookup_swap_cache(pte_to_swp_entry(pte_at(mm, BASE + PG(i))));
		check_true(page != NULL, "page %u read ahead into the swap cache", i);
		check_true(page_zonenum(page) == ZONE_MOVABLE, "page %u in ZONE_MOVABLE", i);
		pfns[i] = page_to_pfn(page);
		put_page(page);
	}
	check_eq(offline_pages(movable->zone_start_pfn, movable->spanned_pages), 0,
		 "offline_pages() of ZONE_MOVABLE with 7 unmapped swap-cache pages");
	in = global_vm_event_count(PSWPIN);
	for (unsigned int i = 1; i < 8; i++) {
		struct page *page = lookup_swap_cache(pte_to_swp_entry(pte_at(mm, BASE + PG(i))));

		check_true(page != NULL, "page %u still in the swap cache", i);
		check_true(page_zonenum(page) == ZONE_NORMAL && page_to_pfn(page) != pfns[i],
			   "page %u moved to ZONE_NORMAL", i);
		put_page(page);
	}
	expect_tags(BASE, 8, 0x6300, "read back after the offlining");
	check_eq(global_vm_event_count(PSWPIN) - in, 0, "pages read from the device afterwards");
	check_eq(online_pages(movable->zone_start_pfn, movable->spanned_pages), 0, "online_pages()");
	check_eq(pinmm_check_invariants(), 0, "invariants after the offlining");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_swap(test_swapon_errors_change_nothing),
		test_swap(test_pageout_and_back),
		test_swap(test_views_of_swapped_pages),
		test_swap(test_write_fault_swapin_frees_slot),
		test_swap(test_swap_entry_keeps_exclusive),
		test_swap(test_fork_shares_swap_entry),
		test_swap(test_madv_cold_deactivates),
		test_swap(test_swapoff_brings_pages_back),
		test_swap(test_swapoff_without_memory_loses_nothing),
		test_swap(test_failed_swap_write_keeps_page),
		test_swap(test_failed_swap_read),
		test_swap(test_swap_io_in_requests_of_many_pages),
		test_swap(test_failed_multi_page_write_keeps_every_page),
		test_swap(test_offline_migrates_unmapped_swap_cache_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
