/* SPDX-License-Identifier: MIT */
/*
 * Conformance: FOLL_LONGTERM and the CMA area, scenario 32 as Linux 5.7 does it
 * (check_and_migrate_cma_pages() in mm/gup.c of v5.7) with the later fix pinmm adopts
 * (docs/design.md): a long-term pin of a page
 * in CMA is refused by the fast path; the slow path pins, sees the CMA page, releases that
 * first-pass pin with unpin (A +1, Rel +1), migrates the page out of CMA (pgmigrate_success
 * +1), and pins the range again (A +1): the caller gets a page outside CMA with the same data,
 * A = 2 and Rel = 1 for the call. If the migration fails because someone else holds the page
 * (a pin), 5.7 pins the range again without migrating and returns the CMA page.
 *
 * The migrating scenarios run under the machine's rule set (both in `make check`): modern
 * rules (Linux 5.13+) migrate CMA pages out the same way; the hoard below takes ZONE_MOVABLE
 * too, so the pages that land in CMA are the only ones that move. The failed migration is
 * 5.7's outcome and boots 5.7 (modern rules fail the pin: test_gup_longterm_movable.c, which
 * also covers ZONE_MOVABLE, THPs and file pages; test_gup_longterm_file.c covers the refusal of
 * writable long-term pins of shared host-file mappings).
 *
 * Scenario 31 (FOLL_LONGTERM on fsdax memory) is not here: pinmm has no ZONE_DEVICE memory.
 *
 * Making an anonymous page land in CMA: user pages are allocated with GFP_HIGHUSER_MOVABLE,
 * which takes ZONE_MOVABLE first, then ZONE_NORMAL, then CMA. The tests fault the page tables
 * in, then allocate every free block outside CMA that such an allocation could use (the
 * "hoard"), then fault the user pages in: they come from CMA. Before pinning, a few
 * ZONE_NORMAL blocks are given back so that migration (GFP_USER: ZONE_NORMAL outside CMA) has
 * somewhere to go.
 */
#include "gup_conformance.h"

struct hoard {
	struct page **blk;
	unsigned int *order;
	size_t n, cap;
};

static void hoard_push(struct hoard *h, struct page *p, unsigned int order)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 256;
		h->blk = realloc(h->blk, h->cap * sizeof(*h->blk));
		h->order = realloc(h->order, h->cap * sizeof(*h->order));
		assert_non_null(h->blk);
		assert_non_null(h->order);
	}
	h->blk[h->n] = p;
	h->order[h->n++] = order;
}

/* Allocate every block outside CMA that a movable allocation could get. Below the zones'
 * watermarks the allocator turns to CMA before it empties ZONE_MOVABLE (each zone is tried
 * down to low, then down to min, then to its last page), so CMA blocks are taken too on the
 * way and given back at the end. */
static void hoard_all_but_cma(struct hoard *h)
{
	struct hoard cma_blocks = {0};

	for (int order = MAX_ORDER - 1; order >= 0; order--) {
		for (;;) {
			struct page *p = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN,
						     (unsigned int)order);

			if (!p)
				break;
			hoard_push(is_migrate_cma_page(p) ? &cma_blocks : h, p, (unsigned int)order);
		}
	}
	for (size_t i = 0; i < cma_blocks.n; i++)
		__free_pages(cma_blocks.blk[i], cma_blocks.order[i]);
	free(cma_blocks.blk);
	free(cma_blocks.order);
	check_true(h->n > 0, "the hoard took something");
}

/* Give back hoarded ZONE_NORMAL blocks until at least nr pages were returned. */
static void hoard_release_normal(struct hoard *h, unsigned long nr)
{
	unsigned long done = 0;

	for (size_t i = 0; i < h->n && done < nr; i++) {
		if (!h->blk[i] || page_zonenum(h->blk[i]) != ZONE_NORMAL)
			continue;
		done += 1UL << h->order[i];
		__free_pages(h->blk[i], h->order[i]);
		h->blk[i] = NULL;
	}
	check_true(done >= nr, "the hoard held %lu ZONE_NORMAL pages to give back", nr);
}

static void hoard_free(struct hoard *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->blk[i])
			__free_pages(h->blk[i], h->order[i]);
	free(h->blk);
	free(h->order);
	memset(h, 0, sizeof(*h));
}

static unsigned long nr_migrated(void)
{
	return global_vm_event_count(PGMIGRATE_SUCCESS);
}

static unsigned long nr_migrate_failed(void)
{
	return global_vm_event_count(PGMIGRATE_FAIL);
}

/* Fill the page at addr with a pattern derived from seed (faulting it in). */
static void fill(unsigned long addr, unsigned char seed, const char *what)
{
	unsigned char buf[PAGE_SIZE];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(seed + i * 7);
	if (copy_to_user(addr, buf, sizeof(buf)))
		gup_fail("%s: copy_to_user(%#lx) failed", what, addr);
}

static void expect_filled(struct page *page, unsigned long addr, unsigned char seed,
			  const char *what)
{
	const unsigned char *p = page_address(page);
	unsigned char buf[PAGE_SIZE];

	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			gup_fail("%s: byte %zu of the returned page is %#x, expected %#x", what, i,
				 p[i], (unsigned char)(seed + i * 7));
	if (copy_from_user(buf, addr, sizeof(buf)) || memcmp(buf, p, sizeof(buf)))
		gup_fail("%s: the mapping does not read what the returned page holds", what);
}

/* Layout of the test mapping (6 pages, small: no THP). */
enum {
	PG_TABLES,   /* touched before the hoard: page tables and anon_vma exist */
	PG_SLOW,     /* CMA page, pin_user_pages(FOLL_LONGTERM) */
	PG_FAST,     /* CMA page, pin_user_pages_fast(FOLL_LONGTERM) */
	PG_BUSY,     /* CMA page already pinned by someone else: migration fails */
	PG_GET,      /* CMA page, get_user_pages(FOLL_LONGTERM) */
	PG_UNTOUCHED, /* never touched until a pin faults it */
	PG_LATE,      /* never touched until a long-term pin faults it, ZONE_NORMAL free */
	NR_TEST_PAGES,
};

struct cma_setup {
	unsigned long addr;
	struct page *cma[NR_TEST_PAGES];
	struct hoard hoard;
};

static void cma_setup(struct mm_struct *mm, struct cma_setup *c)
{
	memset(c, 0, sizeof(*c));
	c->addr = map(0, PG(NR_TEST_PAGES), RW, ANON, "S32");
	touch_write(c->addr + PG(PG_TABLES), 1, 1, "S32: page tables");
	hoard_all_but_cma(&c->hoard);
	for (int i = PG_SLOW; i <= PG_GET; i++) {
		fill(c->addr + PG(i), (unsigned char)(i * 16), "S32");
		c->cma[i] = mapped_page(mm, c->addr + PG(i), "S32");
		check_true(is_migrate_cma_page(c->cma[i]),
			   "S32 setup: with only CMA free, the fault put page %d in CMA (pfn %#lx)",
			   i, page_to_pfn(c->cma[i]));
		check_eq(page_ref_count(c->cma[i]), 1, "S32 setup: R of CMA page %d", i);
	}
}

static void cma_teardown(struct cma_setup *c)
{
	hoard_free(&c->hoard);
	unmap(c->addr, PG(NR_TEST_PAGES), "S32");
}

#define cma_test(f) cmocka_unit_test_setup_teardown(f, gup_setup, teardown_cma)

/* The default machine without ZONE_MOVABLE. */
static int setup_no_movable(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.movable_bytes = 0;
	return gup_setup_with(state, &cfg);
}
/* Scenarios with long-term references (FOLL_GET): 5.7 rules, which allow them. */
#define cma_test_57(f) cmocka_unit_test_setup_teardown(f, setup_mm_57, teardown_cma)

/* The test's CMA setup; the teardown gives the hoard back even after a failure. */
static struct cma_setup cma;

static int teardown_cma(void **state)
{
	hoard_free(&cma.hoard);
	return gup_teardown(state);
}

/*
 * One long-term grab of the CMA page `which` that migrates (pin: FOLL_PIN, else FOLL_GET),
 * run in a child so that its WARN count is its own: the returned page is outside CMA, mapped
 * in place of the old one and holds its data; A = 2 and Rel = 1 for the call (the first-pass
 * pin and the re-pin; the first-pass pin unpinned); pgmigrate_success +1; the CMA page freed;
 * no WARN.
 */
struct migrate_case {
	int which;
	bool pin;
	bool fast;
	const char *what;
};

static void run_migrate_case(void *arg)
{
	const struct migrate_case *mc = arg;
	struct mm_struct *mm = current_mm();
	unsigned long addr = cma.addr + PG(mc->which);
	struct page *old = cma.cma[mc->which], *pages[1], *got;
	long A0 = nr_acquired(), Rel0 = nr_released(), ret;
	unsigned long mig0 = nr_migrated(), w0 = pinmm_warn_count();

	if (mc->fast)
		ret = mc->pin ? pin_user_pages_fast(addr, 1, FOLL_LONGTERM | FOLL_WRITE, pages)
			      : get_user_pages_fast(addr, 1, FOLL_LONGTERM | FOLL_WRITE, pages);
	else
		ret = mc->pin ? pin_locked(addr, 1, FOLL_LONGTERM | FOLL_WRITE, pages)
			      : get_locked(addr, 1, FOLL_LONGTERM | FOLL_WRITE, pages);
	check_eq(ret, 1, "%s", mc->what);
	got = pages[0];
	check_true(got != old, "%s: the returned page is not the CMA page", mc->what);
	check_true(!is_migrate_cma_page(got), "%s: the returned page (pfn %#lx) is outside CMA",
		   mc->what, page_to_pfn(got));
	check_true(page_at(mm, addr) == got, "%s: the mapping now maps the returned page",
		   mc->what);
	expect_filled(got, addr, (unsigned char)(mc->which * 16), mc->what);
	check_eq(page_ref_count(got), mc->pin ? 1 + GUP_PIN_COUNTING_BIAS : 2,
		 "%s: R of the returned page", mc->what);
	check_eq(page_maybe_dma_pinned(got), mc->pin, "%s: MDP of the returned page", mc->what);
	check_eq(nr_acquired() - A0, mc->pin ? 2 : 0, "%s: A (first-pass pin + re-pin)",
		 mc->what);
	check_eq(nr_released() - Rel0, mc->pin ? 1 : 0, "%s: Rel (the first-pass pin, unpinned)",
		 mc->what);
	check_eq(nr_migrated() - mig0, 1, "%s: pgmigrate_success", mc->what);
	check_eq(page_ref_count(old), 0, "%s: the CMA page was freed after the migration",
		 mc->what);
	/* No WARN. A regression check: check_and_migrate_cma_pages() used to put_page() the
	 * reference it took on the CMA page after migrate_anon_page() had succeeded, but a
	 * successful migration freezes that reference to 0 and frees the frame: a put_page() of
	 * a free page (here a WARN, "page_ref_count(head) <= 0"; had the frame been reallocated
	 * in between, the loss of its new owner's reference). Fixed in 489db5d. */
	if (pinmm_warn_count() != w0)
		gup_fail("%s: %lu WARN(s), expected none (a put_page() of the migrated-away CMA "
			 "page? see src/gup/longterm.c); log:\n%.600s",
			 mc->what, pinmm_warn_count() - w0, child_log());
	if (mc->pin)
		unpin_user_page(got);
	else
		put_page(got);
	check_eq(page_ref_count(got), 1, "%s: R after the release", mc->what);
}

static void run_s32(struct mm_struct *mm, const struct migrate_case *mc)
{
	cma_setup(mm, &cma);
	hoard_release_normal(&cma.hoard, 16);
	run_in_child(mc->what, run_migrate_case, (void *)mc, 0, NULL);
	cma_teardown(&cma);
}

static void test_s32_pin_user_pages_longterm_migrates_out_of_cma(void **state)
{
	static const struct migrate_case mc = {PG_SLOW, true, false,
					       "S32: pin_user_pages(FOLL_LONGTERM) of a CMA page"};

	run_s32(*state, &mc);
}

static void test_s32_pin_user_pages_fast_longterm_migrates_out_of_cma(void **state)
{
	static const struct migrate_case mc = {
		PG_FAST, true, true, "S32: pin_user_pages_fast(FOLL_LONGTERM) of a CMA page"};

	run_s32(*state, &mc);
}

/* FOLL_GET | FOLL_LONGTERM migrates too (5.7's check_and_migrate_cma_pages), without pins. */
static void test_s32_get_user_pages_longterm_migrates_out_of_cma(void **state)
{
	static const struct migrate_case mc = {PG_GET, false, false,
					       "S32: get_user_pages(FOLL_LONGTERM) of a CMA page"};

	run_s32(*state, &mc);
}

/* The fast path declines a long-term pin of a CMA page, but get_user_pages_fast takes a
 * FOLL_GET reference there (5.7 checks CMA only for FOLL_PIN); its slow fallback would have
 * migrated, yet the fast walk succeeded: the CMA page is returned, nothing migrates. */
static void test_s32_get_user_pages_fast_longterm_keeps_cma(void **state)
{
	struct mm_struct *mm = *state;
	struct page *pages[1], *page;
	struct pin_state s0;
	unsigned long mig0;

	cma_setup(mm, &cma);
	hoard_release_normal(&cma.hoard, 16);
	page = cma.cma[PG_GET];
	s0 = pin_state_of(page);
	mig0 = nr_migrated();
	check_eq(get_user_pages_fast(cma.addr + PG(PG_GET), 1, FOLL_LONGTERM, pages), 1,
		 "get_user_pages_fast(FOLL_LONGTERM) of a CMA page");
	check_true(pages[0] == page, "get_user_pages_fast(FOLL_LONGTERM): the fast walk returns "
				     "the CMA page (5.7 declines only FOLL_PIN there)");
	expect_pin_state(&s0, page, 1, 0, false, 0, 0, 0,
			 "get_user_pages_fast(FOLL_LONGTERM) of a CMA page");
	check_eq(nr_migrated() - mig0, 0, "get_user_pages_fast(FOLL_LONGTERM): no migration");
	put_page(pages[0]);
	cma_teardown(&cma);
}

/* A CMA page pinned by someone else cannot migrate: 5.7 still pins it, in CMA (modern rules
 * fail the pin: test_modern_busy_page_fails_and_pins_nothing). */
static void test_s32_longterm_pin_of_a_busy_cma_page_stays_in_cma(void **state)
{
	struct mm_struct *mm = *state;
	struct page *pages[1], *busy[1], *page;
	struct pin_state s0;
	unsigned long mig0, fail0;

	cma_setup(mm, &cma);
	page = cma.cma[PG_BUSY];
	check_eq(pin_user_pages_fast(cma.addr + PG(PG_BUSY), 1, 0, busy), 1, "S32: the other pin");
	hoard_release_normal(&cma.hoard, 16);
	s0 = pin_state_of(page);
	mig0 = nr_migrated();
	fail0 = nr_migrate_failed();
	check_eq(pin_locked(cma.addr + PG(PG_BUSY), 1, FOLL_LONGTERM, pages), 1,
		 "S32: FOLL_LONGTERM pin of a CMA page someone else has pinned");
	check_true(pages[0] == page, "S32 (migration fails): the CMA page itself is returned");
	check_true(page_at(mm, cma.addr + PG(PG_BUSY)) == page,
		   "S32 (migration fails): the mapping still maps the CMA page");
	expect_filled(page, cma.addr + PG(PG_BUSY), PG_BUSY * 16, "S32 (migration fails)");
	expect_pin_state(&s0, page, GUP_PIN_COUNTING_BIAS, 0, true, 2, 1, 0,
			 "S32 (migration fails): one more pin; A = 2, Rel = 1, no WARN");
	check_eq(nr_migrated() - mig0, 0, "S32 (migration fails): pgmigrate_success");
	check_eq(nr_migrate_failed() - fail0, 1, "S32 (migration fails): pgmigrate_fail");
	unpin_user_page(pages[0]);
	unpin_user_page(busy[0]);
	expect_pin_state(&s0, page, -(long)GUP_PIN_COUNTING_BIAS, 0, false, 2, 3, 0,
			 "S32 (migration fails): both pins released");
	cma_teardown(&cma);
}

/* While a long-term pin faults pages in, allocations avoid CMA (memalloc_nocma_save): with
 * only CMA free, the fault fails and the pin returns -ENOMEM without a trace, where an ordinary
 * pin of the same page faults it into CMA. */
static void test_longterm_fault_in_avoids_cma(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr;
	struct page *pages[1];
	long A0, Rel0;

	cma_setup(mm, &cma);
	addr = cma.addr + PG(PG_UNTOUCHED);
	A0 = nr_acquired();
	Rel0 = nr_released();
	poison_pages(pages, 1);
	check_eq(pin_locked(addr, 1, FOLL_LONGTERM | FOLL_WRITE, pages), -ENOMEM,
		 "FOLL_LONGTERM write pin of an untouched page with only CMA free");
	check_eq(pin_user_pages_fast(addr, 1, FOLL_LONGTERM | FOLL_WRITE, pages), -ENOMEM,
		 "pin_user_pages_fast(FOLL_LONGTERM) of an untouched page with only CMA free");
	expect_pages_untouched(pages, 1, "the refused long-term pins");
	check_true(page_at(mm, addr) == NULL, "the refused long-term pins left the page unmapped");
	check_eq(nr_acquired() - A0, 0, "the refused long-term pins: A");
	check_eq(nr_released() - Rel0, 0, "the refused long-term pins: Rel");

	check_eq(pin_locked(addr, 1, FOLL_WRITE, pages), 1, "an ordinary pin of the same page");
	check_true(is_migrate_cma_page(pages[0]), "an ordinary pin faults the page into CMA");
	unpin_user_page(pages[0]);

	/* With ZONE_NORMAL memory back, a long-term fault is served from it: no migration. */
	hoard_release_normal(&cma.hoard, 4);
	{
		unsigned long mig0 = nr_migrated();

		A0 = nr_acquired();
		check_eq(pin_locked(cma.addr + PG(PG_LATE), 1, FOLL_LONGTERM | FOLL_WRITE, pages),
			 1,
			 "FOLL_LONGTERM write pin of an untouched page, ZONE_NORMAL memory free");
		check_true(!is_migrate_cma_page(pages[0]) && page_zonenum(pages[0]) == ZONE_NORMAL,
			   "the long-term fault allocated in ZONE_NORMAL outside CMA (pfn %#lx)",
			   page_to_pfn(pages[0]));
		check_eq(nr_acquired() - A0, 1, "a long-term pin without migration: A");
		check_eq(nr_migrated() - mig0, 0, "a long-term pin without migration: pgmigrate");
		unpin_user_page(pages[0]);
	}
	cma_teardown(&cma);
}

/* Outside CMA and ZONE_MOVABLE (a machine without it) the fast path takes long-term pins
 * itself under both rule sets: A +1, nothing migrates. */
static void test_longterm_pin_outside_cma(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(4), RW, ANON, "long-term, no CMA");
	unsigned long mig0 = nr_migrated();
	struct page *pages[4], *mapped[4];

	touch_write(addr, 4, 5, "long-term, no CMA");
	for (int i = 0; i < 4; i++) {
		mapped[i] = mapped_page(mm, addr + PG(i), "long-term, no CMA");
		check_true(!is_migrate_cma_page(mapped[i]),
			   "a fault on a fresh machine avoids CMA");
	}
	for (int slow = 0; slow < 2; slow++) {
		struct pin_state s0 = pin_state_of(mapped[2]);

		check_eq(slow ? pin_locked(addr, 4, FOLL_LONGTERM | FOLL_WRITE, pages)
			      : pin_user_pages_fast(addr, 4, FOLL_LONGTERM | FOLL_WRITE, pages),
			 4, "FOLL_LONGTERM pin of 4 pages outside CMA (%s)",
			 slow ? "slow" : "fast");
		for (int i = 0; i < 4; i++)
			check_true(pages[i] == mapped[i], "long-term pin outside CMA: pages[%d]",
				   i);
		expect_pin_state(&s0, mapped[2], GUP_PIN_COUNTING_BIAS, 0, true, 4, 0, 0,
				 "long-term pin of pages outside CMA (%s): no second pass",
				 slow ? "slow" : "fast");
		unpin_user_pages(pages, 4);
	}
	check_eq(nr_migrated() - mig0, 0, "long-term pins outside CMA migrate nothing");
	unmap(addr, PG(4), "long-term, no CMA");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cma_test(test_s32_pin_user_pages_longterm_migrates_out_of_cma),
		cma_test(test_s32_pin_user_pages_fast_longterm_migrates_out_of_cma),
		cma_test_57(test_s32_get_user_pages_longterm_migrates_out_of_cma),
		cma_test_57(test_s32_get_user_pages_fast_longterm_keeps_cma),
		cma_test_57(test_s32_longterm_pin_of_a_busy_cma_page_stays_in_cma),
		cma_test(test_longterm_fault_in_avoids_cma),
		cmocka_unit_test_setup_teardown(test_longterm_pin_outside_cma, setup_no_movable,
						gup_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
