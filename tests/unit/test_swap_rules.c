/* SPDX-License-Identifier: MIT */
/*
 * Swap and pinned pages, under each rule set (src/mm/rules.h):
 *  - rule_swap_cache_refuses_maybe_pinned() (5.11, feb889fb40fa): MADV_PAGEOUT of a pinned
 *    page. 5.7 gives it a slot, unmaps it and writes it; it stays in the swap cache (its
 *    refcount never freezes). Modern rules leave it mapped, with no slot.
 *  - The bug that rule closed: a page pinned for DMA, swapped out, then fork. fork copies swap
 *    entries without looking at pins (there is no page to look at), so under 5.7 the parent's
 *    next write copies the page away from the pin and the device's later writes are lost to
 *    the parent. Under modern rules the page never left, fork's early copy (5.9) keeps the
 *    pinned page the parent's, and the device's writes are seen.
 *  - rule_tracks_anon_exclusive() (5.19, page_try_share_anon_rmap() in try_to_unmap_one()):
 *    a page already in the swap cache, exclusive and pinned, is not unmapped under modern
 *    rules; under 5.7 it is.
 *  - rule_reclaim_keeps_unmapped_pinned() (6.3, d824ec2a1546): a pin that appears while the
 *    page is being unmapped (a GUP-fast walk that read the PTE before it was cleared: a race
 *    point stands for it) keeps the page in memory, active and unwritten, under modern rules;
 *    5.7 writes it.
 * Each modern test fails with its rule answering as 5.7 does (checked by hand when written).
 */
#include <errno.h>
#include <unistd.h>

#include <pinmm/inject.h>
#include <pinmm/swap.h>

#include "gup/internal.h" /* try_grab_page(): the racing pin of the 6.3 test */
#include "test_mm_util.h"
#include "vm/swap.h"

#define BASE 0x10000000UL

static char swap_path[64];
static struct mm_struct *children[2];

static int swap_file_on(void)
{
	int fd;

	strcpy(swap_path, "/tmp/swap-rules-XXXXXX");
	fd = mkstemp(swap_path);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		return -1;
	close(fd);
	return swapon(swap_path, 0);
}

static int setup_57(void **state)
{
	return setup_mm_57(state) || swap_file_on();
}

static int setup_modern(void **state)
{
	return setup_mm_modern(state) || swap_file_on();
}

static int teardown(void **state)
{
	pinmm_hook_clear_all();
	for (int i = 0; i < 2; i++) {
		mmput(children[i]);
		children[i] = NULL;
	}
	unlink(swap_path);
	return teardown_mm(state);
}

#define test_57(f) cmocka_unit_test_setup_teardown(f, setup_57, teardown)
#define test_modern(f) cmocka_unit_test_setup_teardown(f, setup_modern, teardown)

static struct page *pin_one(unsigned long addr, const char *what)
{
	struct mm_struct *mm = current_mm();
	struct page *page = NULL;
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages(addr, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	mmap_read_unlock(mm);
	check_eq(ret, 1, "%s: pin_user_pages(%#lx)", what, addr);
	return page;
}

static void pageout(unsigned long addr, const char *what)
{
	check_eq(do_madvise(current_mm(), addr, PAGE_SIZE, MADV_PAGEOUT), 0, "%s: MADV_PAGEOUT",
		 what);
}

static unsigned long cached(void)
{
	struct pinmm_swap_info info;

	assert_int_equal(pinmm_swap_info(&info), 0);
	return info.cached;
}

/* ---- 5.11: no slot for a maybe-pinned page ---- */

static void pinned_pageout(bool modern)
{
	struct mm_struct *mm = current_mm();
	unsigned long out = global_vm_event_count(PSWPOUT);
	struct page *page;

	map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	put_word(BASE, 0x1234, "tag");
	page = pin_one(BASE, "pin");
	pageout(BASE, "a pinned page");
	if (modern) {
		check_true(pte_present(pte_at(mm, BASE)), "modern: the pinned page stays mapped");
		check_true(!PageSwapCache(page), "modern: and out of the swap cache");
		check_eq(global_vm_event_count(PSWPOUT), out, "modern: nothing written");
	} else {
		check_true(is_swap_pte(pte_at(mm, BASE)), "5.7: the PTE became a swap entry");
		check_true(PageSwapCache(page), "5.7: the pinned page is in the swap cache");
		check_eq(global_vm_event_count(PSWPOUT) - out, 1, "5.7: the page was written");
		check_eq(cached(), 1, "5.7: its refcount kept it in memory (SwapCached 1)");
	}
	check_eq(pinmm_check_invariants(), 0, "invariants with the pinned page");
	check_eq(get_word(BASE, "read"), 0x1234, "contents");
	unpin_user_page(page);
}

static void test_pinned_page_swapped_out_57(void **state)
{
	(void)state;
	pinned_pageout(false);
}

static void test_pinned_page_kept_modern(void **state)
{
	(void)state;
	pinned_pageout(true);
}

/* ---- the bug: a pinned page swapped out, fork, the device's writes lost ---- */

static void dma_after_swap_and_fork(bool modern)
{
	struct mm_struct *mm = current_mm();
	struct page *pinned;
	unsigned long seen;

	map(BASE, PG(1), RW, ANON | MAP_FIXED, "buffer");
	put_word(BASE, 1, "the process fills its buffer");
	pinned = pin_one(BASE, "a device pins the buffer for DMA");
	pageout(BASE, "memory pressure");
	children[0] = pinmm_fork(mm);
	assert_false(IS_ERR_OR_NULL(children[0]));
	put_word(BASE, 2, "the process writes its buffer again");
	/* The device writes into the page it pinned, as DMA does. */
	__atomic_store_n((unsigned long *)page_address(pinned) + 1, 0xD, __ATOMIC_RELAXED);
	seen = get_word(BASE + 8, "the process reads what the device wrote");
	if (modern) {
		check_eq(seen, 0xD, "modern: the process sees the device's write");
		check_ptr(page_at(mm, BASE), pinned, "modern: the process maps the pinned page");
	} else {
		check_eq(seen, 0, "5.7: the device's write is lost to the process");
		check_true(page_at(mm, BASE) != pinned,
			   "5.7: the pin holds the old page, the process maps a new one");
	}
	unpin_user_page(pinned);
}

static void test_dma_lost_after_swap_and_fork_57(void **state)
{
	(void)state;
	dma_after_swap_and_fork(false);
}

static void test_dma_kept_after_swap_and_fork_modern(void **state)
{
	(void)state;
	dma_after_swap_and_fork(true);
}

/* ---- 5.19: an exclusive pinned page is not unmapped ---- */

static void exclusive_pinned_in_swap_cache(bool modern)
{
	struct mm_struct *mm = current_mm();
	struct page *page;

	map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	put_word(BASE, 7, "tag");
	pageout(BASE, "first swap-out, unpinned");
	check_eq(get_word(BASE, "read fault"), 7, "swap-in");
	page = page_at(mm, BASE);
	check_true(PageSwapCache(page), "a read swap-in keeps the page in the swap cache");
	check_eq(PageAnonExclusive(page), modern, "exclusive again under modern rules");
	/* Modern long-term pins migrate out of ZONE_MOVABLE first: the swap cache moves along. */
	page = pin_one(BASE, "pin the swapped-in page");
	check_ptr(page_at(mm, BASE), page, "the pin takes the mapped page");
	check_eq(PageSwapCache(page), modern,
		 "in the swap cache (under 5.7 the pin's write fault reused the page and took it "
		 "out, reuse_swap_page())");
	check_eq(PageAnonExclusive(page), modern, "and exclusive under modern rules");
	pageout(BASE, "a pinned page already in the swap cache");
	if (modern)
		check_true(pte_present(pte_at(mm, BASE)),
			   "modern: try_to_unmap() refuses to share a pinned exclusive page");
	else
		check_true(is_swap_pte(pte_at(mm, BASE)), "5.7: it is unmapped");
	check_eq(get_word(BASE, "read"), 7, "contents");
	unpin_user_page(page);
}

static void test_exclusive_pinned_unmapped_57(void **state)
{
	(void)state;
	exclusive_pinned_in_swap_cache(false);
}

static void test_exclusive_pinned_stays_mapped_modern(void **state)
{
	(void)state;
	exclusive_pinned_in_swap_cache(true);
}

/* ---- 6.3: pinned once unmapped: kept ---- */

static struct page *racing_page;

static void pin_in_window(const char *point, void *arg)
{
	(void)point;
	(void)arg;
	if (racing_page && try_grab_page(racing_page, FOLL_PIN))
		racing_page = NULL; /* pinned once */
}

static void pinned_while_unmapped(bool modern)
{
	struct mm_struct *mm = current_mm();
	unsigned long out = global_vm_event_count(PSWPOUT);
	struct page *page;

	map(BASE, PG(1), RW, ANON | MAP_FIXED, "page");
	put_word(BASE, 9, "tag");
	page = page_at(mm, BASE);
	racing_page = page;
	assert_int_equal(pinmm_hook_set("swap:page_unmapped", pin_in_window, NULL), 0);
	pageout(BASE, "a page pinned by a racing GUP-fast walk");
	pinmm_hook_clear_all();
	check_ptr(racing_page, NULL, "the racing pin was taken");
	check_true(is_swap_pte(pte_at(mm, BASE)), "the page was unmapped under both rule sets");
	check_true(PageSwapCache(page), "and stays in the swap cache, pinned");
	if (modern) {
		check_eq(global_vm_event_count(PSWPOUT), out, "modern: not written");
		check_true(PageDirty(page), "modern: still dirty");
	} else {
		check_eq(global_vm_event_count(PSWPOUT) - out, 1, "5.7: written while pinned");
	}
	check_eq(get_word(BASE, "read"), 9, "contents");
	check_ptr(page_at(mm, BASE), page, "the swap-in maps the pinned page again");
	unpin_user_page(page);
}

static void test_pinned_while_unmapped_written_57(void **state)
{
	(void)state;
	pinned_while_unmapped(false);
}

static void test_pinned_while_unmapped_kept_modern(void **state)
{
	(void)state;
	pinned_while_unmapped(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_57(test_pinned_page_swapped_out_57),
		test_modern(test_pinned_page_kept_modern),
		test_57(test_dma_lost_after_swap_and_fork_57),
		test_modern(test_dma_kept_after_swap_and_fork_modern),
		test_57(test_exclusive_pinned_unmapped_57),
		test_modern(test_exclusive_pinned_stays_mapped_modern),
		test_57(test_pinned_while_unmapped_written_57),
		test_modern(test_pinned_while_unmapped_kept_modern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
