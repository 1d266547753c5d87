/* SPDX-License-Identifier: MIT */
/*
 * Conformance: FOLL_PIN and FOLL_GET on order-0 pages (4 KiB anonymous and file pages),
 * scenarios 1-5, 19-27, 35, 36, 38, 46 and 50 (order-0 half; each section below says what
 * its scenarios are), against Linux 5.7's rules (mm/gup.c, include/linux/mm.h and
 * mm/debug.c of v5.7) and the later fixes pinmm adopts (NULL entries skipped by
 * unpin_user_pages, scenario 38). Scenario 46 (the zero page) runs under both rule sets, each
 * booted explicitly: modern rules never pin it.
 *
 * For each call the tests check the return value, the pages returned, the head refcount R, the
 * exact pin count P (none for order 0), page_maybe_dma_pinned() (MDP), the deltas of
 * nr_foll_pin_acquired / nr_foll_pin_released (A / Rel) and of the WARN count; for a refused
 * call, that nothing at all changed. Mappings here are smaller than 2 MiB, so THP never applies
 * and every page is order 0. No scenario here expects a WARN (those are in test_gup_args.c).
 */
#include <fcntl.h>

#include "gup_conformance.h"

#define NPAGES 8

/* ---- scenarios 1-3: pin, unpin, get ---- */

static void test_s1_s2_pin_fast_then_unpin(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(4), RW, ANON, "S1");
	struct page *pages[2], *page;
	struct pin_state s0, s1;

	touch_write(addr, 1, 0xa5, "S1");
	page = mapped_page(mm, addr, "S1");
	s0 = pin_state_of(page);
	check_eq(s0.R, 1, "S1: an anonymous page mapped once, before any pin");
	check_eq(s0.P, -1, "S1: an order-0 page has no exact pin count");
	check_true(!s0.MDP, "S1: an unpinned page is not maybe-DMA-pinned");

	poison_pages(pages, 2);
	check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, pages), 1,
		 "S1: pin_user_pages_fast(1 faulted-in page, FOLL_WRITE)");
	check_true(pages[0] == page, "S1: pages[0] is the page mapped at the address");
	expect_pages_untouched(pages + 1, 1, "S1: only one entry may be written");
	expect_pin_state(&s0, page, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
			 "S1: pin_user_pages_fast of one order-0 page");
	check_eq(page_ref_count(page), 1025, "S1: R after one pin");
	check_eq(*(unsigned char *)page_address(page), 0xa5, "S1: the pinned page holds the data");

	s1 = pin_state_of(page);
	unpin_user_page(pages[0]);
	expect_pin_state(&s1, page, -(long)GUP_PIN_COUNTING_BIAS, 0, false, 0, 1, 0,
			 "S2: unpin_user_page of the page pinned in S1");
	check_eq(page_ref_count(page), 1, "S2: R after the unpin");
	unmap(addr, PG(4), "S1");
}

static void test_s1_read_pin_slow_path(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(4), RW, ANON, "S1 slow");
	struct page *pages[1], *page;
	struct pin_state s0;

	touch_write(addr, 1, 1, "S1 slow");
	page = mapped_page(mm, addr, "S1 slow");
	s0 = pin_state_of(page);
	check_eq(pin_locked(addr, 1, 0, pages), 1, "S1: pin_user_pages(1 page, read)");
	check_true(pages[0] == page, "S1: pin_user_pages returns the mapped page");
	expect_pin_state(&s0, page, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
			 "S1: pin_user_pages (slow path) of one order-0 page");
	unpin_user_pages(pages, 1);
	expect_pin_state(&s0, page, 0, 0, false, 1, 1, 0, "S2: unpin_user_pages of that page");
	unmap(addr, PG(4), "S1 slow");
}

static void test_s3_get_takes_a_plain_reference(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(4), RW, ANON, "S3");
	struct page *page;

	touch_write(addr, 1, 1, "S3");
	page = mapped_page(mm, addr, "S3");
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];
		struct page *pages[1];
		struct pin_state s0;

		if (var->pin)
			continue;
		s0 = pin_state_of(page);
		check_eq(var->call(addr, 1, 0, pages), 1, "S3: %s(1 page)", var->name);
		check_true(pages[0] == page, "S3: %s returns the mapped page", var->name);
		expect_pin_state(&s0, page, 1, 0, false, 0, 0, 0,
				 "S3: %s takes one plain reference, no pin", var->name);
		put_page(pages[0]);
		expect_pin_state(&s0, page, 0, 0, false, 0, 0, 0, "S3: put_page after %s",
				 var->name);
	}
	unmap(addr, PG(4), "S3");
}

/* Every pin_* entry point: 8 pages, each +1024, A +8; unpin_user_pages gives it all back. */
static void test_every_pin_variant_on_order0_pages(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(NPAGES), RW, ANON, "pin variants");
	struct page *mapped[NPAGES];

	touch_write(addr, NPAGES, 7, "pin variants");
	for (int i = 0; i < NPAGES; i++)
		mapped[i] = mapped_page(mm, addr + PG(i), "pin variants");
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];
		struct page *pages[NPAGES];
		struct pin_state s[NPAGES];
		long a0 = nr_acquired(), r0 = nr_released();

		if (!var->pin)
			continue;
		for (int i = 0; i < NPAGES; i++)
			s[i] = pin_state_of(mapped[i]);
		check_eq(var->call(addr, NPAGES, FOLL_WRITE, pages), NPAGES,
			 "%s(%d faulted-in pages, FOLL_WRITE)", var->name, NPAGES);
		for (int i = 0; i < NPAGES; i++) {
			check_true(pages[i] == mapped[i], "%s: pages[%d] is the page mapped there",
				   var->name, i);
			expect_pin_state(&s[i], mapped[i], GUP_PIN_COUNTING_BIAS, 0, true, NPAGES,
					 0, 0, "%s: page %d of %d pinned in one call", var->name, i,
					 NPAGES);
		}
		unpin_user_pages(pages, NPAGES);
		for (int i = 0; i < NPAGES; i++)
			expect_pin_state(&s[i], mapped[i], 0, 0, false, NPAGES, NPAGES, 0,
					 "%s: page %d after unpin_user_pages of all %d", var->name,
					 i, NPAGES);
		check_eq(nr_acquired() - a0, NPAGES, "%s: A for the call", var->name);
		check_eq(nr_released() - r0, NPAGES, "%s: Rel for the unpin", var->name);
	}
	unmap(addr, PG(NPAGES), "pin variants");
}

/* Pins stack: three pins of one page are three biases, and unpin_user_pages of an array that
 * names the page three times releases all three (one batched head update, same counts). */
static void test_pins_stack_and_batched_unpin(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "stacked pins");
	struct page *pages[3], *page;
	struct pin_state s0;

	touch_write(addr, 1, 1, "stacked pins");
	page = mapped_page(mm, addr, "stacked pins");
	s0 = pin_state_of(page);
	check_eq(pin_user_pages_fast(addr, 1, 0, &pages[0]), 1, "stacked pins: first (fast)");
	check_eq(pin_locked(addr, 1, 0, &pages[1]), 1, "stacked pins: second (slow)");
	check_eq(pin_user_pages_unlocked(addr, 1, &pages[2], 0), 1, "stacked pins: third");
	expect_pin_state(&s0, page, 3 * GUP_PIN_COUNTING_BIAS, 0, true, 3, 0, 0,
			 "stacked pins: one page pinned three times");
	unpin_user_pages(pages, 3);
	expect_pin_state(&s0, page, 0, 0, false, 3, 3, 0,
			 "stacked pins: unpin_user_pages of {page, page, page}");
	unmap(addr, PG(2), "stacked pins");
}

/* S38 (a later Linux rule pinmm documents): unpin_user_pages() skips NULL entries. */
static void test_s38_unpin_skips_null_entries(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "S38");
	struct page *pages[5], *p0, *p1;
	struct pin_state s0, s1;

	touch_write(addr, 2, 1, "S38");
	p0 = mapped_page(mm, addr, "S38");
	p1 = mapped_page(mm, addr + PG(1), "S38");
	s0 = pin_state_of(p0);
	s1 = pin_state_of(p1);
	for (int dirty = 0; dirty < 2; dirty++) {
		check_eq(pin_user_pages_fast(addr, 2, 0, pages + 1), 2, "S38: pin 2 pages");
		pages[0] = NULL;
		pages[3] = NULL;
		pages[4] = pages[2];
		pages[2] = NULL;
		/* {NULL, p0, NULL, NULL, p1} */
		if (dirty)
			unpin_user_pages_dirty_lock(pages, 5, true);
		else
			unpin_user_pages(pages, 5);
		expect_pin_state(&s0, p0, 0, 0, false, 2 * (dirty + 1), 2 * (dirty + 1), 0,
				 "S38: %s of {NULL, p0, NULL, NULL, p1}: p0",
				 dirty ? "unpin_user_pages_dirty_lock" : "unpin_user_pages");
		expect_pin_state(&s1, p1, 0, 0, false, 2 * (dirty + 1), 2 * (dirty + 1), 0,
				 "S38: %s of {NULL, p0, NULL, NULL, p1}: p1",
				 dirty ? "unpin_user_pages_dirty_lock" : "unpin_user_pages");
	}
	unmap(addr, PG(2), "S38");
}

/* ---- scenarios 4-5: what page_maybe_dma_pinned() reads on an order-0 page ---- */

static void test_s4_many_plain_references_read_as_pinned(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "S4");
	struct page *page;
	struct pin_state s0;

	touch_write(addr, 1, 1, "S4");
	page = mapped_page(mm, addr, "S4");
	s0 = pin_state_of(page);
	for (int i = 0; i < 1022; i++)
		get_page(page);
	expect_pin_state(&s0, page, 1022, 0, false, 0, 0, 0,
			 "S4: R = 1023 (1022 extra plain references): below the bias, not pinned");
	get_page(page);
	expect_pin_state(
		&s0, page, 1023, 0, true, 0, 0, 0,
		"S4: R = 1024 (1023 extra plain references): the documented false positive");
	for (int i = 0; i < 1023; i++)
		put_page(page);
	expect_pin_state(&s0, page, 0, 0, false, 0, 0, 0, "S4: the references dropped again");
	unmap(addr, PG(1), "S4");
}

static void test_s5_refcount_past_int_max_reads_pinned(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "S5");
	static const unsigned int raw[] = {0x80000000u, 0x80000400u, 0xfffffc00u, 0xffffffffu};
	struct page *page;
	unsigned long w0 = pinmm_warn_count();
	bool mdp[sizeof(raw) / sizeof(raw[0])];

	touch_write(addr, 1, 1, "S5");
	page = mapped_page(mm, addr, "S5");
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		set_page_count(page, (int)raw[i]);
		mdp[i] = page_maybe_dma_pinned(page);
	}
	set_page_count(page, 1); /* restored before any check can fail */
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		check_true(mdp[i], "S5: R = %#x (%d as signed) must still read as pinned", raw[i],
			   (int)raw[i]);
	check_true(!page_maybe_dma_pinned(page), "S5: R restored to 1");
	check_eq(pinmm_warn_count() - w0, 0, "S5: reading MDP never WARNs");
	unmap(addr, PG(1), "S5");
}

/* ---- scenario 19: nr_pages 0 ---- */

static void test_s19_zero_pages_returns_zero_everywhere(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "S19");
	unsigned long untouched = addr + PG(1);
	static const unsigned int flags[] = {0, FOLL_WRITE, FOLL_LONGTERM};
	struct page *page;

	touch_write(addr, 1, 1, "S19");
	page = mapped_page(mm, addr, "S19");
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];

		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			struct page *pages[2];
			struct pin_state s0 = pin_state_of(page);

			/* 5.7 refuses FOLL_LONGTERM in the _unlocked and locked-remote calls
			 * before looking at nr_pages (test_gup_args.c). */
			if (flags[f] == FOLL_LONGTERM &&
			    (var->call == v_get_unlocked || var->call == v_pin_unlocked ||
			     var->call == v_get_remote_locked || var->call == v_pin_remote_locked))
				continue;
			poison_pages(pages, 2);
			check_eq(var->call(addr, 0, flags[f], pages), 0,
				 "S19: %s(nr_pages 0, flags %#x) on a mapped page", var->name,
				 flags[f]);
			check_eq(var->call(untouched, 0, flags[f], pages), 0,
				 "S19: %s(nr_pages 0, flags %#x) on a page never touched",
				 var->name, flags[f]);
			expect_unchanged(&s0, page, 0, "S19: %s(nr_pages 0, flags %#x)", var->name,
					 flags[f]);
			expect_pages_untouched(pages, 2, "S19: nr_pages 0");
			check_true(page_at(mm, untouched) == NULL,
				   "S19: %s(nr_pages 0) must not fault anything in", var->name);
		}
	}
	unmap(addr, PG(2), "S19");
}

/* ---- scenarios 20-23: ranges ---- */

static void test_s20_range_starting_in_a_hole(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(3), RW, ANON, "S20");
	unsigned long hole = addr + PG(1);
	struct page *after;

	touch_write(addr, 3, 1, "S20");
	unmap(hole, PG(1), "S20: punch the hole");
	after = mapped_page(mm, addr + PG(2), "S20");
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];
		struct page *pages[2];
		struct pin_state s0 = pin_state_of(after);
		long expect = var->fast_only ? 0 : -EFAULT;

		poison_pages(pages, 2);
		check_eq(var->call(hole, 2, 0, pages), expect,
			 "S20: %s of 2 pages starting in an unmapped hole", var->name);
		expect_unchanged(&s0, after, 0, "S20: %s from a hole: the mapped page after it",
				 var->name);
		expect_pages_untouched(pages, 2, "S20: a range starting in a hole");
	}
	unmap(addr, PG(3), "S20");
}

/* 8 pages asked for, only the first 3 in a VMA: the short count, and only 3 pins. */
static void test_s21_range_running_out_of_the_vma(void **state)
{
	struct mm_struct *mm = *state;

	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];

		for (int prefault = 0; prefault < 2; prefault++) {
			unsigned long addr;
			struct page *pages[8];
			long a0, r0, ret;

			if (!prefault && var->fast_only)
				continue; /* _fast_only never faults */
			addr = map(0, PG(8), RW, ANON, "S21");
			unmap(addr + PG(3), PG(5), "S21: cut the VMA to 3 pages");
			if (prefault)
				touch_write(addr, 3, 3, "S21");
			a0 = nr_acquired();
			r0 = nr_released();
			poison_pages(pages, 8);
			ret = var->call(addr, 8, FOLL_WRITE, pages);
			check_eq(ret, 3, "S21: %s of 8 pages, 3 in the VMA (%s)", var->name,
				 prefault ? "faulted in" : "never touched");
			for (int i = 0; i < 3; i++) {
				struct page *p = mapped_page(mm, addr + PG(i), "S21");

				check_true(pages[i] == p, "S21: %s: pages[%d] is the mapped page",
					   var->name, i);
				check_eq(page_ref_count(p), var->pin ? 1025 : 2,
					 "S21: %s: R of page %d", var->name, i);
			}
			expect_pages_untouched(pages + 3, 5, "S21: entries past the short count");
			check_eq(nr_acquired() - a0, var->pin ? 3 : 0, "S21: %s: A", var->name);
			gup_variant_release(var, pages, 3);
			check_eq(nr_released() - r0, var->pin ? 3 : 0, "S21: %s: Rel", var->name);
			for (int i = 0; i < 3; i++)
				check_eq(page_ref_count(mapped_page(mm, addr + PG(i), "S21")), 1,
					 "S21: %s: R of page %d after the release", var->name, i);
			unmap(addr, PG(3), "S21");
		}
	}
}

/* The fast path's range checks (5.7): a wrapping range is 0, one past TASK_SIZE -EFAULT. */
static void test_s22_s23_fast_path_range_checks(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "S22");
	static const struct {
		const char *what;
		unsigned long start;
		int nr;
		int expect;
	} cases[] = {
		{"S22: the last page of the address space and one more (wraps)", ~0UL & PAGE_MASK,
		 2, 0},
		{"S23: 2^30 pages from 2^47", 1UL << 47, 1 << 30, -EFAULT},
		{"S22: start 0xffff...f123, not page aligned, 1 page (wraps to 0)", ~0UL - 0xedc, 1,
		 0},
		{"S23: the page at TASK_SIZE", TASK_SIZE, 1, -EFAULT},
		{"S23: from the last user page, 2 pages (ends past TASK_SIZE)",
		 TASK_SIZE - PAGE_SIZE, 2, -EFAULT},
		{"S23: a kernel address (0xffff888000000000)", 0xffff888000000000UL, 1, -EFAULT},
	};
	struct page *page;

	touch_write(addr, 1, 1, "S22");
	page = mapped_page(mm, addr, "S22");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct page *pages[4];
		struct pin_state s0 = pin_state_of(page);

		poison_pages(pages, 4);
		check_eq(pin_user_pages_fast(cases[i].start, cases[i].nr, 0, pages),
			 cases[i].expect, "%s: pin_user_pages_fast", cases[i].what);
		check_eq(get_user_pages_fast(cases[i].start, cases[i].nr, FOLL_WRITE, pages),
			 cases[i].expect, "%s: get_user_pages_fast", cases[i].what);
		check_eq(pin_user_pages_fast_only(cases[i].start, cases[i].nr, 0, pages), 0,
			 "%s: pin_user_pages_fast_only (never negative)", cases[i].what);
		expect_unchanged(&s0, page, 0, "%s", cases[i].what);
		expect_pages_untouched(pages, 4, cases[i].what);
	}
	/* The slow path has no such check: no VMA there, so -EFAULT. */
	{
		struct page *pages[1];
		struct pin_state s0 = pin_state_of(page);

		check_eq(pin_locked(TASK_SIZE, 1, 0, pages), -EFAULT,
			 "S23: pin_user_pages at TASK_SIZE");
		expect_unchanged(&s0, page, 0, "S23: pin_user_pages at TASK_SIZE");
	}
	unmap(addr, PG(1), "S22");
}

/* ---- scenarios 24, 27: VMA permissions ---- */

static void test_s24_write_pin_of_a_read_only_private_mapping(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "S24");
	struct page *page, *zero = ZERO_PAGE(0);

	touch_write(addr, 1, 1, "S24");
	touch_read(addr + PG(1), 1, "S24");
	check_eq(vm_mprotect(addr, PG(2), PROT_READ), 0, "S24: mprotect(PROT_READ)");
	page = mapped_page(mm, addr, "S24");
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];
		long expect = var->fast_only ? 0 : -EFAULT;

		for (int which = 0; which < 2; which++) {
			struct page *target = which ? zero : page;
			struct page *pages[1];
			struct pin_state s0 = pin_state_of(target);

			poison_pages(pages, 1);
			check_eq(var->call(addr + PG(which), 1, FOLL_WRITE, pages), expect,
				 "S24: %s(FOLL_WRITE) of a PROT_READ private %s", var->name,
				 which ? "zero-page mapping" : "anonymous page");
			expect_unchanged(&s0, target, 0, "S24: %s(FOLL_WRITE) refused", var->name);
			expect_pages_untouched(pages, 1, "S24");
		}
		/* A read pin of the same page is fine: the refusal is about the write. */
		{
			struct page *pages[1];

			check_eq(var->call(addr, 1, 0, pages), 1,
				 "S24: %s read of the PROT_READ page", var->name);
			check_true(pages[0] == page, "S24: %s read returns the page", var->name);
			gup_variant_release(var, pages, 1);
		}
	}
	check_eq(page_ref_count(page), 1, "S24: R after everything");
	unmap(addr, PG(2), "S24");
}

static void test_s27_read_pin_of_prot_none(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "S27");
	struct page *page;

	touch_write(addr, 1, 1, "S27");
	page = mapped_page(mm, addr, "S27");
	check_eq(vm_mprotect(addr, PG(2), PROT_NONE), 0, "S27: mprotect(PROT_NONE)");
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];
		long expect = var->fast_only ? 0 : -EFAULT;

		for (int which = 0; which < 2; which++) {
			struct page *pages[1];
			struct pin_state s0 = pin_state_of(page);

			poison_pages(pages, 1);
			check_eq(var->call(addr + PG(which), 1, 0, pages), expect,
				 "S27: %s read of a PROT_NONE page (%s)", var->name,
				 which ? "never touched" : "faulted in before the mprotect");
			expect_unchanged(&s0, page, 0, "S27: %s of PROT_NONE refused", var->name);
			expect_pages_untouched(pages, 1, "S27");
		}
	}
	check_true(page_at(mm, addr + PG(1)) == NULL, "S27: the untouched page stays unmapped");
	unmap(addr, PG(2), "S27");
}

/* ---- scenarios 25-26: FOLL_FORCE writes and files ---- */

/* A host file of one page of 'F', its path in path[]. Returns an fd open on it. */
static int make_host_file(char *path, size_t len)
{
	char buf[PAGE_SIZE];
	int fd;

	snprintf(path, len, "/tmp/pinmm-gup-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		gup_fail("mkstemp(%s) failed", path);
	memset(buf, 'F', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		gup_fail("writing the host file %s failed", path);
	return fd;
}

static void expect_host_file_unchanged(int fd, const char *what)
{
	char buf[PAGE_SIZE];

	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		gup_fail("%s: re-reading the host file failed", what);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != 'F')
			gup_fail("%s: the host file's byte %zu is %#x, expected 'F' (untouched)",
				 what, i, (unsigned char)buf[i]);
}

static void expect_page_filled(struct page *page, char c, const char *what)
{
	const char *p = page_address(page);

	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (p[i] != c)
			gup_fail("%s: byte %zu of the page is %#x, expected %#x", what, i,
				 (unsigned char)p[i], (unsigned char)c);
}

/* S25: FOLL_WRITE | FOLL_FORCE on a PROT_READ MAP_PRIVATE file mapping pins a private
 * anonymous COW copy; the page cache page and the host file stay as they were. */
static void test_s25_force_write_pin_of_a_private_file_mapping(void **state)
{
	struct mm_struct *mm = *state;

	for (int prefault = 0; prefault < 2; prefault++) {
		const char *how = prefault ? "read-faulted first" : "never touched";
		char path[64], back[PAGE_SIZE];
		int fd = make_host_file(path, sizeof(path));
		struct file *file = filp_open(path, O_RDONLY, 0);
		struct page *pages[1], *cache = NULL, *cow;
		struct pin_state cs = {0};
		unsigned long addr;
		long a0;

		if (IS_ERR(file))
			gup_fail("S25: filp_open(%s, O_RDONLY) = %ld", path, PTR_ERR(file));
		addr = vm_mmap(file, 0, PG(1), PROT_READ, MAP_PRIVATE, 0);
		if (IS_ERR_VALUE(addr))
			gup_fail("S25: vm_mmap(PROT_READ, MAP_PRIVATE, file) = %ld", (long)addr);
		if (prefault) {
			touch_read(addr, 1, "S25");
			cache = mapped_page(mm, addr, "S25");
			check_true(!PageAnon(cache),
				   "S25: the read fault maps the page cache page");
			cs = pin_state_of(cache);
		}
		a0 = nr_acquired();
		check_eq(pin_locked(addr, 1, FOLL_WRITE | FOLL_FORCE, pages), 1,
			 "S25: pin_user_pages(FOLL_WRITE | FOLL_FORCE) of a PROT_READ private file "
			 "page (%s)", how);
		cow = pages[0];
		check_eq(nr_acquired() - a0, 1, "S25 (%s): A", how);
		check_true(cow == page_at(mm, addr),
			   "S25 (%s): the pinned page is the one now mapped", how);
		check_true(PageAnon(cow), "S25 (%s): the pinned page is an anonymous COW copy",
			   how);
		check_true(cow != cache, "S25 (%s): the pinned page is not the page cache page",
			   how);
		check_eq(page_ref_count(cow), 1 + GUP_PIN_COUNTING_BIAS, "S25 (%s): R of the copy",
			 how);
		check_true(page_maybe_dma_pinned(cow), "S25 (%s): the copy is pinned", how);
		expect_page_filled(cow, 'F', "S25: the copy holds the file's data");
		if (prefault)
			/* The copy replaced the cache page in the PTE: one reference less. */
			expect_pin_state(&cs, cache, -1, 0, false, 1, 0, 0,
					 "S25: the page cache page after the COW");
		cache = find_get_page(file->f_mapping, 0);
		check_true(cache != NULL && cache != cow, "S25 (%s): the file page is still cached",
			   how);
		check_true(!page_maybe_dma_pinned(cache), "S25 (%s): the file page is not pinned",
			   how);
		check_true(!PageDirty(cache), "S25 (%s): the file page stays clean", how);

		/* The "device" writes through the pin; the mapping sees it, the file does not. */
		memset(page_address(cow), 'D', PAGE_SIZE);
		unpin_user_pages_dirty_lock(pages, 1, true);
		check_eq(page_ref_count(cow), 1, "S25 (%s): R of the copy after the unpin", how);
		check_true(copy_from_user(back, addr, PAGE_SIZE) == 0 && back[0] == 'D' &&
				   back[PAGE_SIZE - 1] == 'D',
			   "S25 (%s): the mapping reads what was written through the pin", how);
		expect_page_filled(cache, 'F', "S25: the page cache page after the write");
		check_true(!PageDirty(cache), "S25 (%s): the file page is still clean", how);
		put_page(cache);
		unmap(addr, PG(1), "S25");
		fput(file);
		expect_host_file_unchanged(fd, "S25");
		close(fd);
		unlink(path);
	}
}

/* S26: FOLL_WRITE | FOLL_FORCE on a read-only MAP_SHARED mapping is refused (no COW is
 * possible there), whether the file was opened read-only (VM_SHARED and VM_MAYWRITE cleared)
 * or read-write (a shared mapping). A FOLL_FORCE read of it works. */
static void test_s26_force_write_pin_of_a_shared_read_only_mapping(void **state)
{
	struct mm_struct *mm = *state;

	for (int kind = 0; kind < 3; kind++) {
		static const char *const what[] = {"host file opened O_RDONLY",
						   "host file opened O_RDWR", "shmem file"};
		char path[64] = "";
		int fd = -1;
		struct file *file;
		struct page *page, *pages[1];
		unsigned long addr;

		if (kind < 2) {
			fd = make_host_file(path, sizeof(path));
			file = filp_open(path, kind == 0 ? O_RDONLY : O_RDWR, 0);
		} else {
			file = shmem_file_setup("pinmm-gup-s26", PG(1), 0);
		}
		if (IS_ERR(file))
			gup_fail("S26 (%s): opening the file failed with %ld", what[kind],
				 PTR_ERR(file));
		addr = vm_mmap(file, 0, PG(1), PROT_READ, MAP_SHARED, 0);
		if (IS_ERR_VALUE(addr))
			gup_fail("S26 (%s): vm_mmap(PROT_READ, MAP_SHARED) = %ld", what[kind],
				 (long)addr);
		touch_read(addr, 1, "S26");
		page = mapped_page(mm, addr, "S26");
		for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
			const struct gup_variant *var = &gup_variants[v];
			struct pin_state s0 = pin_state_of(page);

			if (var->fast_only || var->call == v_get_fast || var->call == v_pin_fast)
				continue; /* FOLL_FORCE is tested on the slow path */
			poison_pages(pages, 1);
			check_eq(var->call(addr, 1, FOLL_WRITE | FOLL_FORCE, pages), -EFAULT,
				 "S26 (%s): %s(FOLL_WRITE | FOLL_FORCE) of a PROT_READ MAP_SHARED "
				 "page", what[kind], var->name);
			expect_unchanged(&s0, page, 0, "S26 (%s): %s refused", what[kind],
					 var->name);
			expect_pages_untouched(pages, 1, "S26");
		}
		{
			struct pin_state s0 = pin_state_of(page);

			check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_FORCE, pages),
				 -EFAULT, "S26 (%s): pin_user_pages_fast(FOLL_WRITE | FOLL_FORCE)",
				 what[kind]);
			expect_unchanged(&s0, page, 0, "S26 (%s): pin_user_pages_fast refused",
					 what[kind]);
			check_eq(pin_locked(addr, 1, FOLL_FORCE, pages), 1,
				 "S26 (%s): a FOLL_FORCE read pin of the same page", what[kind]);
			check_true(pages[0] == page, "S26 (%s): the read pin returns the file page",
				   what[kind]);
			expect_pin_state(&s0, page, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
					 "S26 (%s): the read pin", what[kind]);
			unpin_user_page(pages[0]);
		}
		unmap(addr, PG(1), "S26");
		fput(file);
		if (fd >= 0) {
			expect_host_file_unchanged(fd, "S26");
			close(fd);
			unlink(path);
		}
	}
}

/* ---- scenarios 35-36: unpin_user_pages_dirty_lock ---- */

static void test_s35_s36_unpin_dirty_lock_on_anonymous_pages(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "S35");
	struct page *pages[2], *page;

	touch_write(addr, 1, 1, "S35");
	page = mapped_page(mm, addr, "S35");
	for (int make_dirty = 1; make_dirty >= 0; make_dirty--) {
		for (int was_dirty = 0; was_dirty < 2; was_dirty++) {
			struct pin_state s0;

			if (was_dirty)
				SetPageDirty(page);
			else
				ClearPageDirty(page);
			s0 = pin_state_of(page);
			check_eq(pin_user_pages_fast(addr, 1, 0, pages), 1, "S35/36: pin");
			unpin_user_pages_dirty_lock(pages, 1, make_dirty);
			expect_pin_state(&s0, page, 0, 0, false, 1, 1, 0,
					 "S%d: unpin_user_pages_dirty_lock(make_dirty=%d) of a %s "
					 "anonymous page", make_dirty ? 35 : 36, make_dirty,
					 was_dirty ? "dirty" : "clean");
			check_eq(PageDirty(page), make_dirty || was_dirty,
				 "S%d: PG_dirty after unpin_user_pages_dirty_lock(make_dirty=%d) "
				 "of a %s page", make_dirty ? 35 : 36, make_dirty,
				 was_dirty ? "dirty" : "clean");
			check_true(!PageLocked(page), "S35/36: the page lock is released");
		}
	}
	unmap(addr, PG(2), "S35");
}

static long nr_file_dirty(void)
{
	return global_node_page_state(NR_FILE_DIRTY);
}

/* A clean page cache page, pinned for read, made dirty by the unpin (the device wrote it). */
static void test_s35_s36_unpin_dirty_lock_on_a_file_page(void **state)
{
	struct mm_struct *mm = *state;

	for (int make_dirty = 1; make_dirty >= 0; make_dirty--) {
		char path[64];
		int fd = make_host_file(path, sizeof(path));
		struct file *file = filp_open(path, O_RDWR, 0);
		struct page *pages[1], *page;
		struct pin_state s0;
		unsigned long addr;
		long dirty0;

		if (IS_ERR(file))
			gup_fail("S35: filp_open(O_RDWR) = %ld", PTR_ERR(file));
		addr = vm_mmap(file, 0, PG(1), RW, MAP_SHARED, 0);
		if (IS_ERR_VALUE(addr))
			gup_fail("S35: vm_mmap(MAP_SHARED) = %ld", (long)addr);
		touch_read(addr, 1, "S35 file");
		page = mapped_page(mm, addr, "S35 file");
		check_true(!PageDirty(page), "S35: a page just read from the file is clean");
		s0 = pin_state_of(page);
		dirty0 = nr_file_dirty();
		check_eq(pin_locked(addr, 1, 0, pages), 1, "S35: read pin of the file page");
		check_true(!PageDirty(page), "S35: a read pin does not dirty the page");
		unpin_user_pages_dirty_lock(pages, 1, make_dirty);
		expect_pin_state(
			&s0, page, 0, 0, false, 1, 1, 0,
			"S%d: unpin_user_pages_dirty_lock(make_dirty=%d) of a clean file page",
			make_dirty ? 35 : 36, make_dirty);
		check_eq(PageDirty(page), make_dirty,
			 "S%d: PG_dirty of the file page after the unpin (make_dirty=%d)",
			 make_dirty ? 35 : 36, make_dirty);
		check_eq(nr_file_dirty() - dirty0, make_dirty,
			 "S%d: nr_file_dirty after the unpin (make_dirty=%d)", make_dirty ? 35 : 36,
			 make_dirty);
		unmap(addr, PG(1), "S35 file");
		fput(file);
		expect_host_file_unchanged(fd, "S35: the data written back is the same");
		close(fd);
		unlink(path);
	}
}

/* ---- scenario 46: the shared zero page (5.7 pins it; modern rules never do) ---- */

/* Every variant's read of the zero page, released as it was taken. 5.7: a pin takes the bias
 * and counts A and Rel like any page. Modern (6.5, commit c8070b787519): the page comes back
 * unpinned; neither the pin nor its release changes R, MDP, A or Rel. FOLL_GET takes a plain
 * reference under both. */
static void read_pins_of_the_zero_page(struct mm_struct *mm, bool modern)
{
	const char *rules = modern ? "modern" : "5.7";
	unsigned long addr = map(0, PG(4), RW, ANON, "S46");
	struct page *zero = ZERO_PAGE(0);

	touch_read(addr, 1, "S46");
	{
		unsigned long size, e = leaf_at(mm, addr, &size);

		check_true((e & _PAGE_PRESENT) && (e & _PAGE_SPECIAL) &&
				   ((e & PTE_PFN_MASK) >> PAGE_SHIFT) == zero_pfn(),
			   "S46: a read fault maps the zero page (special PTE %#lx)", e);
	}
	for (size_t v = 0; v < NR_GUP_VARIANTS; v++) {
		const struct gup_variant *var = &gup_variants[v];
		struct page *pages[1];
		struct pin_state s0 = pin_state_of(zero);
		unsigned long target = var->fast_only ? addr : addr + PG(1 + v % 3);
		long ret = var->call(target, 1, 0, pages);
		bool pinned = var->pin && !modern;

		if (var->fast_only) {
			/* The lockless walk leaves special PTEs to a slow path it has not. */
			check_eq(ret, 0, "S46 (%s): %s of the zero page", rules, var->name);
			expect_unchanged(&s0, zero, 0, "S46 (%s): %s of the zero page", rules,
					 var->name);
			continue;
		}
		check_eq(ret, 1, "S46 (%s): %s read of %s anonymous memory", rules, var->name,
			 target == addr ? "read-faulted" : "untouched or read-faulted");
		check_true(pages[0] == zero, "S46 (%s): %s returns the zero page", rules, var->name);
		if (pinned)
			expect_pin_state(&s0, zero, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
					 "S46: 5.7 pins the zero page (%s)", var->name);
		else if (var->pin)
			expect_unchanged(&s0, zero, 0, "S46: modern rules do not pin the zero page (%s)",
					 var->name);
		else
			expect_pin_state(&s0, zero, 1, 0, false, 0, 0, 0,
					 "S46 (%s): %s takes a reference on the zero page", rules,
					 var->name);
		gup_variant_release(var, pages, 1);
		expect_pin_state(&s0, zero, 0, 0, false, pinned, pinned, 0,
				 "S46 (%s): the zero page after releasing %s", rules, var->name);
	}
	check_eq(page_ref_count(zero), 1, "S46 (%s): the zero page's R at the end", rules);
	unmap(addr, PG(4), "S46");
}

static void test_s46_read_pin_of_the_zero_page_57(void **state)
{
	read_pins_of_the_zero_page(*state, false);
}

static void test_s46_read_pin_of_the_zero_page_modern(void **state)
{
	read_pins_of_the_zero_page(*state, true);
}

/* Modern rules: every unpin call leaves the zero page alone and still releases the real pages
 * beside it (a batch mixing the two counts Rel for the real ones only); a dirty unpin neither
 * dirties the zero page nor WARNs about it (the debug checks have nothing to check). */
static void test_s46_modern_unpins_of_the_zero_page_are_noops(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(3), RW, ANON, "S46 unpin");
	struct page *zero = ZERO_PAGE(0), *page, *pages[3];
	struct pin_state z0, p0;

	touch_read(addr, 1, "S46 unpin");
	touch_write(addr + PG(1), 1, 0x46, "S46 unpin");
	page = mapped_page(mm, addr + PG(1), "S46 unpin");
	z0 = pin_state_of(zero);
	p0 = pin_state_of(page);
	check_eq(pin_locked(addr, 3, 0, pages), 3, "S46 unpin: pin_user_pages(zero, page, zero)");
	check_true(pages[0] == zero && pages[1] == page && pages[2] == zero,
		   "S46 unpin: the pages returned are the zero page, the page, the zero page");
	expect_pin_state(&p0, page, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
			 "S46 unpin: the written page is pinned (A counts it alone)");
	expect_pin_state(&z0, zero, 0, 0, false, 1, 0, 0,
			 "S46 unpin: the zero page is not (A is the written page's)");
	unpin_user_page(zero);
	expect_pin_state(&z0, zero, 0, 0, false, 1, 0, 0, "S46 unpin: unpin_user_page(zero page)");
	unpin_user_page_range_dirty_lock(zero, 1, false);
	expect_pin_state(&z0, zero, 0, 0, false, 1, 0, 0,
			 "S46 unpin: unpin_user_page_range_dirty_lock(zero page)");
	ClearPageDirty(page);
	unpin_user_pages_dirty_lock(pages, 3, true);
	expect_pin_state(&p0, page, 0, 0, false, 1, 1, 0,
			 "S46 unpin: unpin_user_pages_dirty_lock(zero, page, zero) releases the page");
	expect_pin_state(&z0, zero, 0, 0, false, 1, 1, 0,
			 "S46 unpin: ... and counts Rel for the page only, with no WARN");
	check_true(PageDirty(page), "S46 unpin: the page pinned is dirtied");
	check_true(!PageDirty(zero), "S46 unpin: the zero page is not (it was never pinned)");
	unmap(addr, PG(3), "S46 unpin");
}

/* ---- scenario 50 (order 0): dump_page of a pinned page ---- */

static void test_s50_dump_page_of_a_pinned_order0_page(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(1), RW, ANON, "S50");
	struct page *pages[1], *page;
	char expect[128], *log, *eol;

	touch_write(addr, 1, 1, "S50");
	page = mapped_page(mm, addr, "S50");
	check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, pages), 1, "S50: pin");
	free(test_log_take());
	dump_page(page, "S50");
	log = test_log_take();
	snprintf(expect, sizeof(expect), "page:%016lx refcount:1025 mapcount:1 mapping:",
		 (unsigned long)page);
	eol = strchr(log, '\n');
	if (eol)
		*eol = '\0';
	if (strncmp(log, expect, strlen(expect)) != 0 || strstr(log, "pincount") ||
	    strstr(log, "head:"))
		gup_fail("S50: dump_page of a pinned order-0 page should start \"%s\" and show no "
			 "head or pincount; the first line was \"%s\"", expect, log);
	free(log);
	unpin_user_page(pages[0]);
	unmap(addr, PG(1), "S50");
}

/* ---- the _remote calls on an mm the thread does not run in ---- */

static void test_pin_remote_on_another_mm(void **state)
{
	struct mm_struct *mm = *state;
	struct mm_struct *other = mm_alloc();
	struct page *pages[2], *page;
	struct pin_state s0;
	unsigned long addr;
	int locked = 1;

	assert_non_null(other);
	kthread_unuse_mm(mm);
	kthread_use_mm(other);
	addr = map(0, PG(2), RW, ANON, "remote");
	touch_write(addr, 1, 9, "remote");
	page = mapped_page(other, addr, "remote");
	kthread_unuse_mm(other);
	kthread_use_mm(mm);

	s0 = pin_state_of(page);
	mmap_read_lock(other);
	check_eq(pin_user_pages_remote(other, addr, 2, FOLL_WRITE, pages, &locked), 2,
		 "pin_user_pages_remote of 2 pages (1 faulted in) of another mm");
	mmap_read_unlock(other);
	check_eq(locked, 1, "pin_user_pages_remote: *locked stays 1");
	check_true(pages[0] == page, "pin_user_pages_remote: pages[0] is the other mm's page");
	check_true(pages[1] == page_at(other, addr + PG(1)),
		   "pin_user_pages_remote: pages[1] was faulted in, in the other mm");
	check_true(page_at(mm, addr) != page, "pin_user_pages_remote: not the current mm's page");
	expect_pin_state(&s0, page, GUP_PIN_COUNTING_BIAS, 0, true, 2, 0, 0,
			 "pin_user_pages_remote: the other mm's page");
	unpin_user_pages(pages, 2);
	expect_pin_state(&s0, page, 0, 0, false, 2, 2, 0, "pin_user_pages_remote: after unpin");
	mmput(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		gup_test(test_s1_s2_pin_fast_then_unpin),
		gup_test(test_s1_read_pin_slow_path),
		gup_test(test_s3_get_takes_a_plain_reference),
		gup_test(test_every_pin_variant_on_order0_pages),
		gup_test(test_pins_stack_and_batched_unpin),
		gup_test(test_s38_unpin_skips_null_entries),
		gup_test(test_s4_many_plain_references_read_as_pinned),
		gup_test(test_s5_refcount_past_int_max_reads_pinned),
		gup_test_57(test_s19_zero_pages_returns_zero_everywhere),
		gup_test(test_s20_range_starting_in_a_hole),
		gup_test(test_s21_range_running_out_of_the_vma),
		gup_test(test_s22_s23_fast_path_range_checks),
		gup_test(test_s24_write_pin_of_a_read_only_private_mapping),
		gup_test(test_s27_read_pin_of_prot_none),
		gup_test(test_s25_force_write_pin_of_a_private_file_mapping),
		gup_test(test_s26_force_write_pin_of_a_shared_read_only_mapping),
		gup_test(test_s35_s36_unpin_dirty_lock_on_anonymous_pages),
		gup_test(test_s35_s36_unpin_dirty_lock_on_a_file_page),
		gup_test_57(test_s46_read_pin_of_the_zero_page_57),
		gup_test_modern(test_s46_read_pin_of_the_zero_page_modern),
		gup_test_modern(test_s46_modern_unpins_of_the_zero_page_are_noops),
		gup_test(test_s50_dump_page_of_a_pinned_order0_page),
		gup_test(test_pin_remote_on_another_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
