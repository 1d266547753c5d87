/* SPDX-License-Identifier: MIT */
/*
 * The buddy allocator (gfp.h, mmzone.h): alloc_pages() alignment and the state of the pages
 * it hands out; refused requests (order >= MAX_ORDER, unknown gfp bits, not booted) and their
 * WARNs; __GFP_ZERO (fresh frames skipped, reused ones cleared); pfn/page/address conversions; which zone and migrate type serves which
 * gfp (unmovable never from ZONE_MOVABLE or CMA; movable: ZONE_MOVABLE, then Normal, then
 * CMA); nr_free_pages / nr_free_cma / pgalloc / pgfree accounting; buddies merging back to the
 * boot-time buddyinfo; misuse of __free_pages() (double free, tail page, wrong order) changing
 * nothing; bad pages at free time (reported and quarantined for good); alloc_contig_pages()
 * and free_contig_range().
 */
#include <errno.h>
#include <unistd.h>

#include "mm/internal.h" /* frames_zeroing_skipped(), frame_ever_used() */
#include "test_mm_util.h"

#define MiB (1ULL << 20)

static long nr_free_cma(void)
{
	return global_zone_page_state(NR_FREE_CMA_PAGES);
}

static long zone_free(enum zone_type z)
{
	return zone_page_state(pinmm_zone(z), NR_FREE_PAGES);
}

static void expect_buddyinfo(const char *expected, const char *what)
{
	char *now = buddyinfo();

	if (strcmp(now, expected))
		fail_msg("%s: buddyinfo changed.\nexpected:\n%sgot:\n%s", what, expected, now);
	free(now);
}

/* A set of allocated blocks. */
struct block {
	struct page *page;
	unsigned int order;
};

struct blocks {
	struct block *v;
	size_t n, cap;
};

static void blocks_add(struct blocks *b, struct page *page, unsigned int order)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		b->v = realloc(b->v, b->cap * sizeof(*b->v));
		assert_non_null(b->v);
	}
	b->v[b->n++] = (struct block){page, order};
}

/* Allocate with gfp until nothing of any order is left; returns the number of pages taken. */
static unsigned long grab_all(struct blocks *b, gfp_t gfp)
{
	unsigned long pages = 0;

	for (int order = MAX_ORDER - 1; order >= 0; order--) {
		struct page *page;

		while ((page = alloc_pages(gfp | __GFP_NOWARN, (unsigned int)order))) {
			blocks_add(b, page, (unsigned int)order);
			pages += 1UL << order;
		}
	}
	return pages;
}

static bool blocks_contain(const struct blocks *b, unsigned long pfn)
{
	for (size_t i = 0; i < b->n; i++) {
		unsigned long start = page_to_pfn(b->v[i].page);

		if (pfn >= start && pfn < start + (1UL << b->v[i].order))
			return true;
	}
	return false;
}

static void blocks_free(struct blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		__free_pages(b->v[i].page, b->v[i].order);
	free(b->v);
	*b = (struct blocks){0};
}

/* Free pages right after boot (the machine keeps a few for itself, e.g. the zero page). */
static long boot_free;

/* Setup: the default machine, remembering its free page count. */
static int boot_machine(void **state)
{
	if (boot_default(state))
		return -1;
	boot_free = nr_free();
	return 0;
}

/* Free pages of ZONE_NORMAL outside CMA. */
static long normal_plain_free(void)
{
	return zone_free(ZONE_NORMAL) - nr_free_cma();
}

/* ---- what alloc_pages() hands out ---- */

static void test_orders_aligned_and_initialised(void **state)
{
	(void)state;
	for (unsigned int order = 0; order < MAX_ORDER; order++) {
		for (int comp = 0; comp < 2; comp++) {
			gfp_t gfp = GFP_KERNEL | (comp ? __GFP_COMP : 0);
			struct page *page = alloc_pages(gfp, order);
			unsigned long nr = 1UL << order;

			if (!page)
				fail_msg("alloc_pages(order %u%s) failed on a fresh machine", order,
					 comp ? ", __GFP_COMP" : "");
			check_eq(page_to_pfn(page) % nr, 0, "order %u block must be naturally aligned",
				 order);
			check_eq(page_ref_count(page), 1, "order %u head refcount", order);
			for (unsigned long i = 0; i < nr; i++) {
				if (i)
					check_eq(page_ref_count(page + i), 0,
						 "order %u%s: refcount of page %lu", order,
						 comp ? " compound" : "", i);
				check_eq(atomic_load(&page[i]._mapcount), -1,
					 "order %u%s: _mapcount of page %lu", order,
					 comp ? " compound" : "", i);
				check_eq(PageBuddy(page + i), false, "order %u: page %lu PageBuddy",
					 order, i);
				check_eq(PageHWPoison(page + i), false,
					 "order %u: page %lu PageHWPoison", order, i);
				if (comp && order) {
					check_eq(PageTail(page + i), i != 0,
						 "order %u compound: PageTail(page %lu)", order, i);
					check_eq(compound_head(page + i) == page, true,
						 "order %u compound: compound_head(page %lu)", order,
						 i);
				} else {
					check_eq(PageCompound(page + i), false,
						 "order %u plain: PageCompound(page %lu)", order, i);
				}
			}
			if (comp && order) {
				check_eq(PageHead(page), true, "order %u compound head", order);
				check_eq(compound_order(page), order, "order %u compound_order", order);
				check_eq(compound_mapcount(page), 0, "order %u compound_mapcount",
					 order);
				check_eq(page_count(page + nr - 1), 1,
					 "order %u: page_count of the last tail is the head's", order);
			}
			__free_pages(page, order);
		}
	}
	check_eq(nr_free(), boot_free, "everything freed again");
}

/* Runs before test_bad_order_warns: __GFP_NOWARN must not use up the WARN_ONCE. */
static void test_bad_order_nowarn(void **state)
{
	unsigned long warns = pinmm_warn_count();
	long free0 = nr_free();

	(void)state;
	assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_ORDER));
	assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_ORDER + 7));
	assert_null(alloc_pages(__GFP_NOWARN | __GFP_MOVABLE | __GFP_COMP, ~0u));
	check_eq(pinmm_warn_count(), warns, "order >= MAX_ORDER with __GFP_NOWARN must not WARN");
	check_eq(nr_free(), free0, "a refused order takes nothing");
}

static void test_bad_order_warns(void **state)
{
	unsigned long warns = pinmm_warn_count();
	long free0 = nr_free();

	(void)state;
	assert_null(alloc_pages(GFP_KERNEL, MAX_ORDER));
	if (pinmm_warn_count() <= warns)
		fail_msg("alloc_pages(GFP_KERNEL, MAX_ORDER) must WARN (first bad order of the "
			 "process)");
	test_log_expect("WARNING: at ");
	/* Linux warns once per boot for this (WARN_ON_ONCE); later ones still return NULL. */
	assert_null(alloc_pages(GFP_KERNEL, MAX_ORDER + 1));
	assert_null(alloc_pages(GFP_HIGHUSER_MOVABLE, 64));
	check_eq(nr_free(), free0, "refused orders take nothing");
}

static void test_unknown_gfp_is_refused(void **state)
{
	static const gfp_t unknown[] = {0x01u /* __GFP_DMA */, 0x04u /* __GFP_DMA32 */,
					0x10u, 0x800000u, 0x80000000u};
	long free0 = nr_free();
	unsigned long warns = pinmm_warn_count();

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		check_eq(alloc_pages(GFP_KERNEL | __GFP_NOWARN | unknown[i], 0) == NULL, true,
			 "alloc_pages with unknown gfp bit %#x", unknown[i]);
		check_eq(alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN | unknown[i], 3) == NULL,
			 true, "movable alloc_pages with unknown gfp bit %#x", unknown[i]);
	}
	check_eq(pinmm_warn_count(), warns, "unknown gfp bits with __GFP_NOWARN must not WARN");
	check_eq(nr_free(), free0, "refused gfp takes nothing");
}

/*
 * Each refusal has its own WARN_ONCE: a bad order having warned does not silence unknown gfp
 * bits (gfp.h: "those two WARN unless __GFP_NOWARN"). Runs after test_bad_order_warns and
 * test_unknown_gfp_is_refused, which used __GFP_NOWARN. (Regression: both once shared one
 * WARN_ONCE.)
 */
static void test_unknown_gfp_warns_after_bad_order(void **state)
{
	unsigned long warns;

	(void)state;
	assert_null(alloc_pages(GFP_KERNEL, MAX_ORDER)); /* a bad order has warned (once) */
	warns = pinmm_warn_count();
	assert_null(alloc_pages(GFP_KERNEL | 0x04u /* __GFP_DMA32 */, 0));
	if (pinmm_warn_count() == warns)
		fail_msg("alloc_pages() with an unknown gfp bit (0x4) did not WARN after a bad order "
			 "had warned: the two refusals must not share one WARN_ONCE");
	test_log_expect("WARNING: at ");
}

/* Not booted: refused with a WARN, nothing crashes. No setup: runs with no machine. */
static void test_not_booted(void **state)
{
	char buf[64];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	test_log_start();
	assert_false(pinmm_booted());
	assert_null(alloc_pages(GFP_KERNEL, 0));
	assert_null(alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, 9));
	assert_null(alloc_contig_pages(1024, GFP_KERNEL));
	assert_null(pinmm_zone(ZONE_NORMAL));
	assert_non_null(f);
	assert_int_equal(pinmm_buddyinfo_print(f), -ENODEV);
	fclose(f);
	test_log_stop();
}

static void test_buddyinfo_bad_stream(void **state)
{
	(void)state;
	assert_int_equal(pinmm_buddyinfo_print(NULL), -EINVAL);
}

static void check_block_zero(struct page *page, unsigned int order, const char *what)
{
	const unsigned char *p = page_address(page);

	for (size_t i = 0; i < (PAGE_SIZE << order); i++)
		if (p[i])
			fail_msg("%s: byte %zu of the order-%u block at pfn %#lx is %#x, not 0", what,
				 i, order, page_to_pfn(page), p[i]);
}

/* Dirty a block, free it, then allocate with __GFP_ZERO until that block comes back. */
static void zero_roundtrip(gfp_t gfp, unsigned int order, const char *what)
{
	struct page *page = alloc_pages(gfp, order), *again;
	struct blocks held = {0};
	unsigned long pfn;
	bool found = false;

	assert_non_null(page);
	pfn = page_to_pfn(page);
	memset(page_address(page), 0xaa, PAGE_SIZE << order);
	__free_pages(page, order);
	for (int i = 0; i < 64 && !found; i++) {
		again = alloc_pages(gfp | __GFP_ZERO, order);
		assert_non_null(again);
		check_block_zero(again, order, what);
		found = page_to_pfn(again) == pfn;
		blocks_add(&held, again, order);
	}
	if (!found)
		fail_msg("%s: the dirtied block (pfn %#lx) never came back in 64 allocations", what,
			 pfn);
	blocks_free(&held);
}

static void test_gfp_zero(void **state)
{
	(void)state;
	zero_roundtrip(GFP_KERNEL, 0, "order 0 __GFP_ZERO");
	zero_roundtrip(GFP_KERNEL, 3, "order 3 __GFP_ZERO");
	zero_roundtrip(GFP_HIGHUSER_MOVABLE | __GFP_COMP, HPAGE_PMD_ORDER,
		       "movable order-9 compound __GFP_ZERO");
	zero_roundtrip(GFP_KERNEL, MAX_ORDER - 1, "order 10 __GFP_ZERO");
}

/* The frames of b that had never been handed out before, by the ever_used snapshot. */
static unsigned long fresh_frames(const struct blocks *b, const bool *ever_used)
{
	unsigned long fresh = 0;

	for (size_t i = 0; i < b->n; i++) {
		unsigned long pfn = page_to_pfn(b->v[i].page);

		for (unsigned long j = 0; j < (1UL << b->v[i].order); j++)
			fresh += !ever_used[pfn + j];
	}
	return fresh;
}

/*
 * A frame never handed out since boot is fresh host memory and reads zero: __GFP_ZERO leaves
 * it alone (frames_zeroing_skipped() counts it); a frame handed out before is cleared, however
 * it was used. All of ZONE_NORMAL's unmovable memory, taken twice: the first time its fresh
 * frames are skipped (exactly those the bitmap called fresh), the second time (after every byte
 * was dirtied and freed) none is, and both times every byte reads zero.
 */
static void test_gfp_zero_skips_only_fresh_frames(void **state)
{
	bool *ever_used = calloc(max_pfn, sizeof(*ever_used));
	struct blocks b = {0};
	unsigned long fresh;
	long before;

	(void)state;
	assert_non_null(ever_used);
	for (unsigned long pfn = 0; pfn < max_pfn; pfn++)
		ever_used[pfn] = frame_ever_used(pfn);
	before = frames_zeroing_skipped();
	grab_all(&b, GFP_KERNEL | __GFP_ZERO);
	fresh = fresh_frames(&b, ever_used);
	if (fresh == 0)
		fail_msg("a machine just booted: expected fresh frames among its free memory, "
			 "found none (frame_ever_used() true for every free frame)");
	if (frames_zeroing_skipped() - before != (long)fresh)
		fail_msg("first __GFP_ZERO pass: expected %lu fresh frames skipped, counter moved "
			 "by %ld", fresh, frames_zeroing_skipped() - before);
	for (size_t i = 0; i < b.n; i++) {
		check_block_zero(b.v[i].page, b.v[i].order, "first __GFP_ZERO pass");
		for (unsigned long j = 0; j < (1UL << b.v[i].order); j++)
			if (!frame_ever_used(page_to_pfn(b.v[i].page) + j))
				fail_msg("pfn %#lx handed out but frame_ever_used() is false",
					 page_to_pfn(b.v[i].page) + j);
		memset(page_address(b.v[i].page), 0x5a, PAGE_SIZE << b.v[i].order);
	}
	blocks_free(&b);

	before = frames_zeroing_skipped();
	grab_all(&b, GFP_KERNEL | __GFP_ZERO);
	if (frames_zeroing_skipped() != before)
		fail_msg("second __GFP_ZERO pass over dirtied frames: expected none skipped, %ld were",
			 frames_zeroing_skipped() - before);
	for (size_t i = 0; i < b.n; i++)
		check_block_zero(b.v[i].page, b.v[i].order, "second __GFP_ZERO pass (reused frames)");
	blocks_free(&b);
	free(ever_used);
}

/* Without __GFP_ZERO the allocator counts nothing as skipped, but still records the frame as
 * used: a later __GFP_ZERO allocation of it clears what its first owner wrote. */
static void test_plain_alloc_marks_frame_used(void **state)
{
	struct page *page = alloc_pages(GFP_KERNEL, 0);
	long before = frames_zeroing_skipped();

	(void)state;
	assert_non_null(page);
	if (!frame_ever_used(page_to_pfn(page)))
		fail_msg("pfn %#lx allocated without __GFP_ZERO: frame_ever_used() is false",
			 page_to_pfn(page));
	assert_int_equal(frames_zeroing_skipped(), before);
	__free_pages(page, 0);
	assert_true(frame_ever_used(max_pfn)); /* beyond RAM: never fresh */
}

static void test_address_round_trips(void **state)
{
	struct zone *normal = pinmm_zone(ZONE_NORMAL), *movable = pinmm_zone(ZONE_MOVABLE);
	struct page *blocks[2] = {alloc_pages(GFP_KERNEL, MAX_ORDER - 1),
				  alloc_pages(GFP_HIGHUSER_MOVABLE, MAX_ORDER - 1)};

	(void)state;
	assert_non_null(normal);
	assert_non_null(movable);
	assert_null(pinmm_zone(MAX_NR_ZONES));
	assert_null(pinmm_zone((enum zone_type)-1));
	assert_ptr_equal(page_address(pfn_to_page(0)), pinmm_ram);
	assert_true(pfn_valid(max_pfn - 1));
	assert_false(pfn_valid(max_pfn));
	for (int b = 0; b < 2; b++) {
		struct page *page = blocks[b];

		assert_non_null(page);
		for (unsigned long i = 0; i < MAX_ORDER_NR_PAGES; i++) {
			struct page *p = page + i;
			char *addr = page_address(p);

			check_eq(pfn_to_page(page_to_pfn(p)) == p, true, "pfn round trip, page %lu",
				 i);
			check_eq(addr - (char *)page_address(page), (long)(i * PAGE_SIZE),
				 "page_address of page %lu", i);
			check_eq(addr - pinmm_ram, (long)(page_to_pfn(p) << PAGE_SHIFT),
				 "page_address(pfn %#lx)", page_to_pfn(p));
			check_eq(virt_to_page(addr) == p, true, "virt_to_page(start of page %lu)", i);
			check_eq(virt_to_page(addr + PAGE_SIZE - 1) == p, true,
				 "virt_to_page(last byte of page %lu)", i);
			check_eq(page_zone(p) == (b ? movable : normal), true, "page_zone, block %d",
				 b);
		}
		__free_pages(page, MAX_ORDER - 1);
	}
	/* Zone and CMA boundaries. */
	assert_ptr_equal(page_zone(pfn_to_page(0)), normal);
	assert_ptr_equal(page_zone(pfn_to_page(zone_end_pfn(normal) - 1)), normal);
	assert_ptr_equal(page_zone(pfn_to_page(movable->zone_start_pfn)), movable);
	assert_ptr_equal(page_zone(pfn_to_page(max_pfn - 1)), movable);
	assert_int_equal(page_zonenum(pfn_to_page(max_pfn - 1)), ZONE_MOVABLE);
	assert_int_equal(get_pageblock_migratetype(pfn_to_page(0)), MIGRATE_UNMOVABLE);
	assert_int_equal(get_pageblock_migratetype(pfn_to_page(normal->cma_start_pfn - 1)),
			 MIGRATE_UNMOVABLE);
	assert_int_equal(get_pageblock_migratetype(pfn_to_page(normal->cma_start_pfn)),
			 MIGRATE_CMA);
	assert_int_equal(get_pageblock_migratetype(pfn_to_page(normal->cma_end_pfn - 1)),
			 MIGRATE_CMA);
	assert_int_equal(get_pageblock_migratetype(pfn_to_page(movable->zone_start_pfn)),
			 MIGRATE_MOVABLE);
	assert_int_equal(get_pageblock_migratetype(pfn_to_page(max_pfn - 1)), MIGRATE_MOVABLE);
}

/* ---- zones, migrate types and fallbacks ---- */

static void test_unmovable_never_from_movable_or_cma(void **state)
{
	const long plain0 = normal_plain_free(), movable0 = zone_free(ZONE_MOVABLE);
	const long cma0 = nr_free_cma();
	struct blocks b = {0};
	unsigned long got;
	struct page *page;

	(void)state;
	assert_true(plain0 > 0 && movable0 > 0 && cma0 > 0);
	got = grab_all(&b, GFP_KERNEL);
	check_eq(got, plain0,
		 "GFP_KERNEL allocations until exhaustion: all of Normal outside CMA, nothing more");
	for (size_t i = 0; i < b.n; i++) {
		check_eq(page_zonenum(b.v[i].page), ZONE_NORMAL, "unmovable block %zu (pfn %#lx)",
			 i, page_to_pfn(b.v[i].page));
		check_eq(get_pageblock_migratetype(b.v[i].page), MIGRATE_UNMOVABLE,
			 "unmovable block %zu (pfn %#lx)", i, page_to_pfn(b.v[i].page));
	}
	assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0));
	assert_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN | __GFP_COMP, 1));
	check_eq(nr_free(), movable0 + cma0,
		 "with Normal exhausted, ZONE_MOVABLE and CMA are still all free");
	check_eq(nr_free_cma(), cma0, "CMA untouched by unmovable allocations");
	check_eq(zone_free(ZONE_MOVABLE), movable0, "ZONE_MOVABLE untouched");
	/* Movable requests still succeed, from ZONE_MOVABLE. */
	page = alloc_page(GFP_HIGHUSER_MOVABLE);
	assert_non_null(page);
	assert_int_equal(page_zonenum(page), ZONE_MOVABLE);
	__free_page(page);
	blocks_free(&b);
	check_eq(nr_free(), boot_free, "all freed");
}

/* Per zone, the number of free blocks of each order, from pinmm_buddyinfo_print(). */
static void read_buddyinfo(unsigned long counts[MAX_NR_ZONES][MAX_ORDER])
{
	char *info = buddyinfo(), *line = info;

	memset(counts, 0, sizeof(unsigned long) * MAX_NR_ZONES * MAX_ORDER);
	while (line && *line) {
		char name[32];
		int off = 0, z;

		assert_int_equal(sscanf(line, "Node 0, zone %31s%n", name, &off), 1);
		z = !strcmp(name, "Normal") ? ZONE_NORMAL : !strcmp(name, "Movable") ? ZONE_MOVABLE : -1;
		if (z < 0)
			fail_msg("buddyinfo line for an unknown zone: %s", line);
		for (int o = 0; o < MAX_ORDER; o++) {
			int used = 0;

			assert_int_equal(sscanf(line + off, "%lu%n", &counts[z][o], &used), 1);
			off += used;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	free(info);
}

/*
 * Take every free block below MAX_ORDER - 1 (what boot-time allocations such as the zero page
 * left behind), so that all free memory is in whole order-10 blocks. Normal's fragments are
 * taken with GFP_KERNEL, ZONE_MOVABLE's with a movable gfp (ZONE_MOVABLE is tried first).
 */
static void absorb_fragments(struct blocks *b)
{
	unsigned long counts[MAX_NR_ZONES][MAX_ORDER];

	read_buddyinfo(counts);
	for (int z = 0; z < MAX_NR_ZONES; z++)
		for (unsigned int o = 0; o < MAX_ORDER - 1; o++)
			for (unsigned long i = 0; i < counts[z][o]; i++) {
				struct page *page = alloc_pages(
					z == ZONE_NORMAL ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, o);

				assert_non_null(page);
				blocks_add(b, page, o);
			}
	read_buddyinfo(counts);
	for (int z = 0; z < MAX_NR_ZONES; z++)
		for (unsigned int o = 0; o < MAX_ORDER - 1; o++)
			if (counts[z][o])
				fail_msg("zone %d still has %lu free order-%u blocks after taking the "
					 "fragments (CMA fragments?)", z, counts[z][o], o);
}

/* Free one order-10 block of b from source (0 ZONE_MOVABLE, 1 Normal outside CMA, 2 CMA). */
static void release_one(struct blocks *b, int source)
{
	for (size_t i = 0; i < b->n; i++) {
		struct page *page = b->v[i].page;
		int src = page_zonenum(page) == ZONE_MOVABLE ? 0 : is_migrate_cma_page(page) ? 2 : 1;

		if (src == source && b->v[i].order == MAX_ORDER - 1) {
			__free_pages(page, b->v[i].order);
			b->v[i] = b->v[--b->n];
			return;
		}
	}
	fail_msg("no order-10 block from source %d to release", source);
}

/*
 * The source the allocator must pick for an order-10 movable block when every free page lies
 * in order-10 blocks (Linux's zonelist walk with watermarks, <pinmm/vmscan.h>): the first zone,
 * ZONE_MOVABLE then ZONE_NORMAL, that stays above its low watermark, else above min, else any
 * with a block left; within ZONE_NORMAL (whose check counts its CMA pages for a movable
 * request) the pages outside CMA first. 0 ZONE_MOVABLE, 1 Normal outside CMA, 2 CMA, -1 none.
 */
static int expected_movable_source(void)
{
	const long blk = (long)MAX_ORDER_NR_PAGES;
	struct zone *movable = pinmm_zone(ZONE_MOVABLE), *normal = pinmm_zone(ZONE_NORMAL);

	for (int pass = 0; pass < 3; pass++) {
		long mark_m = pass == 0 ? (long)low_wmark_pages(movable)
			    : pass == 1 ? (long)min_wmark_pages(movable) : -1;
		long mark_n = pass == 0 ? (long)low_wmark_pages(normal)
			    : pass == 1 ? (long)min_wmark_pages(normal) : -1;

		if (zone_free(ZONE_MOVABLE) - (blk - 1) > mark_m && zone_free(ZONE_MOVABLE) >= blk)
			return 0;
		if (zone_free(ZONE_NORMAL) - (blk - 1) > mark_n) {
			if (normal_plain_free() >= blk)
				return 1;
			if (nr_free_cma() >= blk)
				return 2;
		}
	}
	return -1;
}

static void test_movable_fallback_order(void **state)
{
	char *boot_info = buddyinfo();
	struct blocks b = {0};
	long movable_pages, cma_pages, plain_pages;
	long n_movable = 0, n_plain = 0, n_cma = 0;
	struct page *page;

	(void)state;
	absorb_fragments(&b);
	movable_pages = zone_free(ZONE_MOVABLE);
	cma_pages = nr_free_cma();
	plain_pages = normal_plain_free();
	assert_true(movable_pages > 0 && cma_pages > 0 && plain_pages > 0);
	for (;;) {
		long cma_before = nr_free_cma();
		int now, want = expected_movable_source();

		page = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, MAX_ORDER - 1);
		if (!page)
			break;
		blocks_add(&b, page, MAX_ORDER - 1);
		if (page_zonenum(page) == ZONE_MOVABLE) {
			now = 0;
			n_movable++;
			check_eq(get_pageblock_migratetype(page), MIGRATE_MOVABLE, "movable block");
		} else if (!is_migrate_cma_page(page)) {
			now = 1;
			n_plain++;
		} else {
			now = 2;
			n_cma++;
			check_eq(nr_free_cma(), cma_before - (long)MAX_ORDER_NR_PAGES,
				 "nr_free_cma after a movable block from CMA");
		}
		if (now != 2)
			check_eq(nr_free_cma(), cma_before, "nr_free_cma after a non-CMA block");
		if (now != want)
			fail_msg("movable block #%zu (pfn %#lx) came from source %d, the zonelist "
				 "walk with watermarks picks %d (0 ZONE_MOVABLE, 1 Normal, 2 CMA)", b.n,
				 page_to_pfn(page), now, want);
	}
	check_eq(n_movable * (long)MAX_ORDER_NR_PAGES, movable_pages, "blocks from ZONE_MOVABLE");
	check_eq(n_plain * (long)MAX_ORDER_NR_PAGES, plain_pages, "blocks from Normal");
	check_eq(n_cma * (long)MAX_ORDER_NR_PAGES, cma_pages, "blocks from CMA");
	check_eq(nr_free(), 0, "everything allocated");
	check_eq(nr_free_cma(), 0, "CMA all allocated");
	assert_null(alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN));

	/* The same order at order 0, on fragments: give back one block of each source. */
	release_one(&b, 2);
	release_one(&b, 1);
	page = alloc_page(GFP_HIGHUSER_MOVABLE);
	assert_non_null(page);
	check_eq(page_zonenum(page) == ZONE_NORMAL && !is_migrate_cma_page(page), true,
		 "order-0 movable with Normal and CMA free: from Normal outside CMA");
	blocks_add(&b, page, 0);
	release_one(&b, 0);
	page = alloc_page(GFP_HIGHUSER_MOVABLE);
	assert_non_null(page);
	check_eq(page_zonenum(page), ZONE_MOVABLE, "order-0 movable with every source free");
	blocks_add(&b, page, 0);
	blocks_free(&b);
	check_eq(nr_free(), boot_free, "all freed");
	expect_buddyinfo(boot_info, "after the movable fallback test freed everything");
	free(boot_info);
}

/* ---- accounting ---- */

/* Take all of ZONE_MOVABLE with movable allocations. Below its watermarks they go to
 * ZONE_NORMAL first, and ZONE_MOVABLE gives its last pages only when every zone is short:
 * what came from elsewhere is given back at the end. */
static void grab_movable_zone(struct blocks *b)
{
	struct blocks other = {0};

	for (int order = MAX_ORDER - 1; order >= 0; order--) {
		struct page *page;

		while (zone_free(ZONE_MOVABLE) &&
		       (page = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN,
					   (unsigned int)order)))
			blocks_add(page_zonenum(page) == ZONE_MOVABLE ? b : &other, page,
				   (unsigned int)order);
	}
	blocks_free(&other);
	check_eq(zone_free(ZONE_MOVABLE), 0, "ZONE_MOVABLE taken");
}

static void test_free_page_accounting(void **state)
{
	(void)state;
	for (unsigned int order = 0; order < MAX_ORDER; order++) {
		for (int movable = 0; movable < 2; movable++) {
			gfp_t gfp = movable ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL;
			enum zone_type z = movable ? ZONE_MOVABLE : ZONE_NORMAL;
			enum vm_event_item ev = movable ? PGALLOC_MOVABLE : PGALLOC_NORMAL;
			long nr = 1L << order, free0 = nr_free(), zfree0 = zone_free(z);
			unsigned long alloc0 = global_vm_event_count(ev);
			unsigned long pgfree0 = global_vm_event_count(PGFREE);
			long cma0 = nr_free_cma();
			struct page *page = alloc_pages(gfp | __GFP_COMP, order);

			assert_non_null(page);
			check_eq(nr_free(), free0 - nr, "nr_free_pages after order-%u %s alloc",
				 order, movable ? "movable" : "normal");
			check_eq(zone_free(z), zfree0 - nr, "zone %s free after order-%u alloc",
				 pinmm_zone(z)->name, order);
			check_eq(global_vm_event_count(ev), alloc0 + nr, "%s after order-%u alloc",
				 vm_event_name(ev), order);
			check_eq(nr_free_cma(), cma0, "nr_free_cma after a non-CMA order-%u alloc",
				 order);
			__free_pages(page, order);
			check_eq(nr_free(), free0, "nr_free_pages after order-%u free", order);
			check_eq(zone_free(z), zfree0, "zone free after order-%u free", order);
			check_eq(global_vm_event_count(PGFREE), pgfree0 + nr,
				 "pgfree after order-%u free", order);
		}
	}

	/* nr_free_cma: exhaust ZONE_MOVABLE and Normal, then movable allocations hit CMA. */
	{
		struct blocks b = {0};
		long cma_pages = nr_free_cma();

		grab_all(&b, GFP_KERNEL);
		grab_movable_zone(&b);
		check_eq(nr_free(), cma_pages, "only CMA left free");
		for (unsigned int order = 0; order < MAX_ORDER; order++) {
			long cma0 = nr_free_cma(), free0 = nr_free();
			unsigned long alloc0 = global_vm_event_count(PGALLOC_NORMAL);
			struct page *page = alloc_pages(GFP_HIGHUSER_MOVABLE, order);

			assert_non_null(page);
			check_eq(is_migrate_cma_page(page), true, "order-%u movable alloc from CMA",
				 order);
			check_eq(nr_free_cma(), cma0 - (1L << order), "nr_free_cma after order-%u",
				 order);
			check_eq(nr_free(), free0 - (1L << order), "nr_free_pages after CMA order-%u",
				 order);
			check_eq(global_vm_event_count(PGALLOC_NORMAL), alloc0 + (1UL << order),
				 "CMA is in ZONE_NORMAL: pgalloc_normal after order-%u", order);
			__free_pages(page, order);
			check_eq(nr_free_cma(), cma0, "nr_free_cma after freeing order-%u", order);
		}
		blocks_free(&b);
	}
	check_eq(nr_free(), boot_free, "all freed");
}

/* Allocate a random mix, free it in another order: the free lists are exactly as at boot. */
static void test_buddies_merge_back(void **state)
{
	char *boot_info = buddyinfo(), *mid;
	struct blocks b = {0};
	unsigned int seed = 12345;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		unsigned int order, r;
		gfp_t gfp;
		struct page *page;

		seed = seed * 1103515245u + 12345u;
		r = seed >> 8;
		order = r % 100 < 70 ? r % 4 : r % MAX_ORDER;
		gfp = (r & 0x100) ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL;
		if (r & 0x200)
			gfp |= __GFP_COMP;
		page = alloc_pages(gfp | __GFP_NOWARN, order);
		if (page)
			blocks_add(&b, page, order);
	}
	assert_true(b.n > 1000);
	mid = buddyinfo();
	if (!strcmp(mid, boot_info))
		fail_msg("buddyinfo did not change with %zu blocks allocated", b.n);
	free(mid);
	/* Free in a shuffled order. */
	for (size_t i = b.n; i > 1; i--) {
		size_t j;
		struct block t;

		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % i;
		t = b.v[i - 1];
		b.v[i - 1] = b.v[j];
		b.v[j] = t;
	}
	blocks_free(&b);
	check_eq(nr_free(), boot_free, "all freed");
	expect_buddyinfo(boot_info, "after freeing a random mix of blocks");
	free(boot_info);
}

/* ---- misuse of __free_pages(): WARN, and nothing changes ---- */

struct snapshot {
	long free, cma;
	char *info;
	unsigned long warns;
};

static struct snapshot take_snapshot(void)
{
	return (struct snapshot){nr_free(), nr_free_cma(), buddyinfo(), pinmm_warn_count()};
}

/* Expect exactly `warns` more WARNs and no change to the free lists since s. */
static void expect_unchanged(struct snapshot *s, unsigned long warns, const char *scenario)
{
	char what[256]; /* scenario may be scenario_text()'s buffer, which check_eq reuses */

	snprintf(what, sizeof(what), "%s", scenario);
	check_eq(pinmm_warn_count() - s->warns, warns, "WARNs from %s", what);
	check_eq(nr_free(), s->free, "nr_free_pages after %s", what);
	check_eq(nr_free_cma(), s->cma, "nr_free_cma after %s", what);
	expect_buddyinfo(s->info, what);
	free(s->info);
	s->info = NULL;
}

static void test_double_free(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct page *comp = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, 2);
	struct snapshot s;

	(void)state;
	assert_non_null(page);
	assert_non_null(comp);
	__free_page(page);
	__free_pages(comp, 2);
	log_clear();

	s = take_snapshot();
	__free_page(page);
	expect_unchanged(&s, 1, "double free of an order-0 page");
	test_log_expect("WARNING: at ");

	s = take_snapshot();
	__free_pages(comp, 2);
	expect_unchanged(&s, 1, "double free of an order-2 compound page");
	test_log_expect("WARNING: at ");
}

static void test_free_tail_page(void **state)
{
	struct page *comp = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	struct snapshot s;

	(void)state;
	assert_non_null(comp);
	s = take_snapshot();
	__free_pages(comp + 1, 0);
	expect_unchanged(&s, 1, "__free_pages(tail 1, 0)");
	test_log_expect("PageTail");
	s = take_snapshot();
	__free_pages(comp + 4, 2);
	expect_unchanged(&s, 1, "__free_pages(tail 4, 2)");
	s = take_snapshot();
	__free_pages(comp + 7, 3);
	expect_unchanged(&s, 1, "__free_pages(tail 7, 3)");
	log_clear();
	/* The compound page is intact and frees normally. */
	assert_int_equal(page_count(comp), 1);
	assert_true(PageHead(comp));
	for (int i = 1; i < 8; i++)
		check_eq(compound_head(comp + i) == comp, true, "tail %d still points at its head",
			 i);
	__free_pages(comp, 3);
	check_eq(nr_free(), boot_free, "all freed");
}

static void test_free_wrong_order(void **state)
{
	struct page *comp = alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	struct page *plain = alloc_pages(GFP_KERNEL, 0), *odd = NULL;
	struct snapshot s;

	(void)state;
	assert_non_null(comp);
	assert_non_null(plain);
	for (unsigned int order = 0; order < MAX_ORDER + 2; order++) {
		if (order == 3)
			continue;
		s = take_snapshot();
		__free_pages(comp, order);
		expect_unchanged(&s, 1, scenario_text("freeing an order-3 compound page as order %u",
						      order));
		check_eq(page_count(comp), 1, "order-3 compound page freed as order %u", order);
	}
	log_clear();
	__free_pages(comp, 3);

	/* A page at an odd pfn freed as order 1: not a naturally aligned block. */
	if (page_to_pfn(plain) & 1) {
		odd = plain;
	} else {
		odd = alloc_page(GFP_KERNEL);
		assert_non_null(odd);
		assert_true(page_to_pfn(odd) & 1);
	}
	s = take_snapshot();
	__free_pages(odd, 1);
	expect_unchanged(&s, 1, "freeing an order-0 page at an odd pfn as order 1");
	check_eq(page_ref_count(odd), 1, "misaligned free must not drop the reference");
	s = take_snapshot();
	__free_pages(plain, MAX_ORDER);
	expect_unchanged(&s, 1, "__free_pages(order MAX_ORDER)");
	log_clear();
	if (odd != plain)
		__free_page(odd);
	__free_page(plain);
	check_eq(nr_free(), boot_free, "all freed");
}

static void test_free_foreign_pointer(void **state)
{
	struct page local;
	struct snapshot s = take_snapshot();

	(void)state;
	memset(&local, 0, sizeof(local));
	atomic_store(&local._refcount, 1);
	__free_pages(&local, 0);
	__free_pages((struct page *)((char *)mem_map + 8), 0); /* not on a struct page boundary */
	__free_pages(mem_map + max_pfn, 0);
	s.warns = pinmm_warn_count(); /* WARN_ON_ONCE: how many is not the point here */
	expect_unchanged(&s, 0, "__free_pages() of pointers that are not this machine's pages");
	assert_int_equal(atomic_load(&local._refcount), 1);
	log_clear();
}

/* ---- bad pages at free time: reported, quarantined, never handed out again ---- */

/*
 * Free the bad block at page (order), expect a bad page report naming reason, then take all
 * memory of every zone and check none of the block's frames comes back; then shut down:
 * -EBUSY, the quarantined frames reported.
 */
static void expect_quarantined(struct page *page, unsigned int order, bool compound,
			       const char *reason)
{
	unsigned long pfn = page_to_pfn(page), nr = 1UL << order;
	long free0 = nr_free();
	unsigned long warns = pinmm_warn_count();
	struct blocks b = {0};
	char counted[64];
	char *log;

	log_clear();
	if (compound)
		put_page(page);
	else
		__free_pages(page, order);
	log = test_log_take();
	if (!strstr(log, "BUG: Bad page state") || !strstr(log, reason))
		fail_msg("freeing a bad page (%s) should report \"BUG: Bad page state\" and the "
			 "reason; log:\n%s", reason, log);
	free(log);
	if (pinmm_warn_count() <= warns)
		fail_msg("a bad page (%s) must WARN", reason);
	check_eq(nr_free(), free0, "bad page (%s): its frames must not go back to the free lists",
		 reason);

	/* All the rest of memory, movable and not: the frames never come back. */
	check_eq(grab_all(&b, GFP_KERNEL) + grab_all(&b, GFP_HIGHUSER_MOVABLE), free0,
		 "bad page (%s): allocatable pages after quarantining %lu", reason, nr);
	check_eq(nr_free(), 0, "bad page (%s): all memory taken", reason);
	for (unsigned long i = 0; i < nr; i++)
		check_eq(blocks_contain(&b, pfn + i), false,
			 "bad page (%s): quarantined pfn %#lx handed out again", reason, pfn + i);
	blocks_free(&b);
	check_eq(nr_free(), free0, "bad page (%s): all else freed", reason);

	check_eq(pinmm_shutdown(), -EBUSY, "shutdown after a bad free (%s)", reason);
	log = test_log_take();
	snprintf(counted, sizeof(counted), "%lu page(s) still allocated", nr);
	if (!strstr(log, "quarantined by a bad free") || !strstr(log, counted))
		fail_msg("shutdown should report the %lu quarantined page(s) (%s); log:\n%s", nr,
			 reason, log);
	free(log);
	/* The next boot works and has all of RAM again. */
	assert_int_equal(pinmm_boot(NULL), 0);
	assert_int_equal(nr_free(), boot_free);
	assert_int_equal(pinmm_shutdown(), 0);
}

static void test_bad_free_nonzero_mapcount(void **state)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)state;
	assert_non_null(page);
	atomic_store(&page->_mapcount, 0); /* still mapped once */
	expect_quarantined(page, 0, false, "nonzero mapcount");
}

static void test_bad_free_mapping(void **state)
{
	static int fake_address_space;
	struct page *page = alloc_page(GFP_HIGHUSER_MOVABLE);

	(void)state;
	assert_non_null(page);
	assert_int_equal(page_zonenum(page), ZONE_MOVABLE);
	page->mapping = (struct address_space *)&fake_address_space;
	expect_quarantined(page, 0, false, "non-NULL mapping");
}

static void test_bad_free_locked(void **state)
{
	struct page *page = alloc_pages(GFP_KERNEL, 2);

	(void)state;
	assert_non_null(page);
	assert_true(trylock_page(page));
	expect_quarantined(page, 2, false, "PAGE_FLAGS_CHECK_AT_FREE flag(s) set");
}

static void test_bad_free_compound_mapped(void **state)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);

	(void)state;
	assert_non_null(page);
	atomic_store(&page[1].compound_mapcount, 0); /* PMD-mapped once */
	expect_quarantined(page, 2, true, "nonzero compound_mapcount");
}

/* ---- alloc_contig_pages() / free_contig_range() ---- */

/* 2 GiB: ZONE_NORMAL 0 .. 1792 MiB with CMA at 1728 .. 1792 MiB, so exactly one 1 GiB range
 * ([0, 1 GiB)) fits outside CMA. */
static int boot_2g(void **state)
{
	struct pinmm_config cfg = cfg_of(2 * GiB, 256 * MiB, 64 * MiB);

	(void)state;
	return boot_with(&cfg);
}

static void test_contig_gigantic_compound(void **state)
{
	const unsigned long nr = 1UL << HPAGE_PUD_ORDER;
	char *boot_info = buddyinfo();
	long free0 = nr_free();
	struct page *page;
	unsigned long pfn;

	(void)state;
	page = alloc_contig_pages(nr, GFP_KERNEL | __GFP_COMP);
	assert_non_null(page);
	pfn = page_to_pfn(page);
	check_eq(pfn % nr, 0, "1 GiB range must be 1 GiB aligned (pfn %#lx)", pfn);
	check_eq(page_zonenum(page), ZONE_NORMAL, "unmovable 1 GiB range");
	check_eq(is_migrate_cma_page(page + nr - 1), false, "unmovable 1 GiB range ends in CMA");
	check_eq(nr_free(), free0 - (long)nr, "nr_free_pages after taking 1 GiB");
	assert_true(PageHead(page));
	assert_int_equal(compound_order(page), HPAGE_PUD_ORDER);
	assert_int_equal(compound_nr(page), nr);
	assert_int_equal(page_count(page), 1);
	assert_int_equal(compound_mapcount(page), 0);
	assert_int_equal(atomic_load(&page[2].hpage_pinned_refcount), 0);
	assert_int_equal(page_compound_dtor(page), COMPOUND_PAGE_DTOR);
	for (unsigned long i = 1; i < nr; i++) {
		if (page_ref_count(page + i) != 0 || compound_head(page + i) != page)
			fail_msg("1 GiB compound page: tail %lu has refcount %d, head %p (want 0, %p)",
				 i, page_ref_count(page + i), (void *)compound_head(page + i),
				 (void *)page);
	}
	/* Only one 1 GiB range fits outside CMA: the next one fails, movable or not. */
	assert_null(alloc_contig_pages(nr, GFP_KERNEL | __GFP_COMP));
	assert_null(alloc_contig_pages(nr, GFP_HIGHUSER_MOVABLE | __GFP_COMP));
	check_eq(nr_free(), free0 - (long)nr, "failed 1 GiB requests take nothing");

	put_page(page);
	check_eq(nr_free(), free0, "nr_free_pages after put_page() of the 1 GiB page");
	expect_buddyinfo(boot_info, "after freeing the 1 GiB compound page");
	free(boot_info);
}

static void test_contig_bad_nr_pages(void **state)
{
	static const unsigned long bad[] = {0, 1, 2, 512, 1000, 1023, 1025, 1536, 3072,
					    (1UL << 18) + 1024};
	long free0 = nr_free();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long warns = pinmm_warn_count();

		check_eq(alloc_contig_pages(bad[i], GFP_KERNEL) == NULL, true,
			 "alloc_contig_pages(%lu)", bad[i]);
		check_eq(pinmm_warn_count(), warns + 1, "alloc_contig_pages(%lu) must WARN",
			 bad[i]);
		warns = pinmm_warn_count();
		check_eq(alloc_contig_pages(bad[i], GFP_KERNEL | __GFP_COMP) == NULL, true,
			 "alloc_contig_pages(%lu, __GFP_COMP)", bad[i]);
		check_eq(pinmm_warn_count(), warns + 1,
			 "alloc_contig_pages(%lu, __GFP_COMP) must WARN", bad[i]);
	}
	{
		unsigned long warns = pinmm_warn_count();

		assert_null(alloc_contig_pages(1024, GFP_KERNEL | 0x04u /* __GFP_DMA32 */));
		check_eq(pinmm_warn_count(), warns + 1, "alloc_contig_pages with unknown gfp bits");
	}
	log_clear();
	check_eq(nr_free(), free0, "refused contig requests take nothing");
	/* Too big for the machine, but valid: NULL, quietly. */
	assert_null(alloc_contig_pages(1UL << 20, GFP_KERNEL));
	assert_null(alloc_contig_pages(1UL << 40, GFP_HIGHUSER_MOVABLE));
	assert_null(alloc_contig_pages(1UL << 62, GFP_HIGHUSER_MOVABLE));
	check_eq(nr_free(), free0, "oversized contig requests take nothing");
}

static int contig_2_pow_63_movable(void *arg)
{
	long free0 = nr_free();
	struct page *page = alloc_contig_pages(1UL << 63, GFP_HIGHUSER_MOVABLE);

	(void)arg;
	if (page)
		return 1;
	if (nr_free() != free0)
		return 2;
	return 0;
}

/*
 * nr_pages = 2^63 is a power of two >= MAX_ORDER_NR_PAGES, so alloc_contig_pages() must just
 * return NULL ("no such range is free"). In ZONE_MOVABLE (start pfn > 0) the aligned start
 * rounds up to 2^63 and start + nr wraps to 0. (Regression: that range was once accepted and
 * prep_new_pages() ran off mem_map; hence the child process.)
 */
static void test_contig_2_pow_63_movable(void **state)
{
	(void)state;
	run_forked("alloc_contig_pages(1UL << 63, __GFP_MOVABLE) must return NULL",
		   contig_2_pow_63_movable, NULL, 20);
	assert_null(alloc_contig_pages(1UL << 63, GFP_KERNEL));
}

static void test_contig_plain_ranges(void **state)
{
	char *boot_info = buddyinfo();
	const long free0 = nr_free();

	(void)state;
	for (unsigned int order = MAX_ORDER - 1; order <= 14; order++) {
		unsigned long nr = 1UL << order;
		struct page *page = alloc_contig_pages(nr, GFP_KERNEL);

		assert_non_null(page);
		check_eq(page_to_pfn(page) % nr, 0, "contig range of %lu pages alignment", nr);
		check_eq(nr_free(), free0 - (long)nr, "nr_free_pages with %lu contig pages", nr);
		check_eq(page_ref_count(page), 1, "contig range of %lu: first page", nr);
		for (unsigned long i = 0; i < nr; i++) {
			if (i && page_ref_count(page + i))
				fail_msg("contig range of %lu: page %lu has refcount %d", nr, i,
					 page_ref_count(page + i));
			if (PageCompound(page + i))
				fail_msg("contig range of %lu without __GFP_COMP: page %lu compound",
					 nr, i);
		}
		free_contig_range(page_to_pfn(page), nr);
		check_eq(nr_free(), free0, "nr_free_pages after free_contig_range(%lu)", nr);
	}
	expect_buddyinfo(boot_info, "after contig ranges were freed");
	free(boot_info);
}

/* How many nr-aligned ranges of [start, end) are entirely free: every MAX_ORDER block in them
 * is a free block of order MAX_ORDER - 1 (PageBuddy, its order in ->private). */
static unsigned long free_windows(unsigned long start, unsigned long end, unsigned long nr)
{
	unsigned long count = 0;

	for (unsigned long w = (start + nr - 1) & ~(nr - 1); w + nr <= end; w += nr) {
		bool whole = true;

		for (unsigned long pfn = w; pfn < w + nr && whole; pfn += MAX_ORDER_NR_PAGES) {
			const struct page *head = pfn_to_page(pfn);

			whole = PageBuddy(head) && head->private == MAX_ORDER - 1;
		}
		count += whole;
	}
	return count;
}

static void test_contig_unmovable_never_cma(void **state)
{
	struct zone *normal = pinmm_zone(ZONE_NORMAL), *movable = pinmm_zone(ZONE_MOVABLE);
	const unsigned long nr = 1UL << 14; /* 64 MiB */
	const long cma0 = nr_free_cma(), free0 = nr_free();
	unsigned long want_unmovable, want_movable;
	struct page *ranges[64];
	int n = 0, n_unmovable;
	struct page *page;

	(void)state;
	want_unmovable = free_windows(normal->zone_start_pfn, normal->cma_start_pfn, nr);
	assert_true(want_unmovable > 0);
	while ((page = alloc_contig_pages(nr, GFP_KERNEL))) {
		assert_true(n < 64);
		ranges[n++] = page;
		check_eq(page_zonenum(page), ZONE_NORMAL, "unmovable contig range %d", n);
		check_eq(is_migrate_cma_page(page) || is_migrate_cma_page(page + nr - 1), false,
			 "unmovable contig range %d (pfn %#lx) in CMA", n, page_to_pfn(page));
	}
	check_eq(n, want_unmovable, "64 MiB unmovable ranges: every free one outside CMA");
	check_eq(nr_free_cma(), cma0, "CMA untouched by unmovable contig ranges");
	check_eq(nr_free(), free0 - (long)(n * nr), "nr_free_pages after %d unmovable ranges", n);
	n_unmovable = n;
	/* Movable ones may take ZONE_MOVABLE and all of ZONE_NORMAL, CMA included. */
	want_movable = free_windows(movable->zone_start_pfn, zone_end_pfn(movable), nr) +
		       free_windows(normal->zone_start_pfn, zone_end_pfn(normal), nr);
	assert_true(want_movable >= 3); /* two in ZONE_MOVABLE, one in CMA */
	while ((page = alloc_contig_pages(nr, GFP_HIGHUSER_MOVABLE))) {
		assert_true(n < 64);
		ranges[n++] = page;
	}
	check_eq(n - n_unmovable, want_movable, "movable 64 MiB ranges");
	check_eq(nr_free_cma(), 0, "the CMA range was taken by a movable request");
	check_eq(nr_free(), free0 - (long)(n * nr), "nr_free_pages after %d ranges", n);
	check_eq(free_windows(0, max_pfn, nr), 0, "no free 64 MiB range left");
	for (int i = 0; i < n; i++)
		free_contig_range(page_to_pfn(ranges[i]), nr);
	check_eq(nr_free(), boot_free, "all contig ranges freed");
	check_eq(nr_free_cma(), cma0, "CMA all free again");
}

static void test_free_contig_range_misuse(void **state)
{
	const unsigned long nr = 2048;
	struct page *page = alloc_contig_pages(nr, GFP_KERNEL);
	struct page *comp = alloc_contig_pages(nr, GFP_KERNEL | __GFP_COMP);
	unsigned long pfn;
	struct snapshot s;

	(void)state;
	assert_non_null(page);
	assert_non_null(comp);
	pfn = page_to_pfn(page);
	s = take_snapshot();
	free_contig_range(pfn + 1, nr);
	free_contig_range(pfn, 1000);
	free_contig_range(pfn, 512);
	free_contig_range(max_pfn, nr);
	free_contig_range(max_pfn - 1024, nr);
	free_contig_range(page_to_pfn(comp), nr); /* compound: put_page() frees that */
	expect_unchanged(&s, 6, "six bad free_contig_range() calls");
	log_clear();
	put_page(comp);
	check_eq(page_ref_count(page), 1, "refused free_contig_range() calls drop no reference");
	free_contig_range(pfn, nr);
	check_eq(nr_free(), boot_free, "all freed");
}

/*
 * A page of the range still in use (a reference beyond the allocation's): free_contig_range()
 * drops the caller's reference on every page, as Linux 5.7's does, and WARNs "pages are still
 * in use"; the busy page is freed by its holder's last put_page(). (Regression: the whole range
 * used to be reported as a bad page and quarantined.)
 */
static void contig_range_page_in_use(unsigned long busy, const char *what)
{
	const unsigned long nr = MAX_ORDER_NR_PAGES;
	const long free0 = nr_free();
	struct page *page = alloc_contig_pages(nr, GFP_KERNEL);
	unsigned long warns;
	char *log;

	assert_non_null(page);
	page_ref_inc(page + busy); /* someone else still holds this page of the range */
	warns = pinmm_warn_count();
	log_clear();
	free_contig_range(page_to_pfn(page), nr);
	check_eq(pinmm_warn_count(), warns + 1, "%s: free_contig_range() must WARN", what);
	log = test_log_take();
	if (strstr(log, "Bad page state"))
		fail_msg("%s: a page still in use is not a bad page; log:\n%s", what, log);
	free(log);
	check_eq(nr_free(), free0 - 1, "%s: free_contig_range() frees all the other pages", what);
	check_eq(page_ref_count(page + busy), 1,
		 "%s: the caller's reference is dropped, the holder's is left", what);
	put_page(page + busy); /* its holder lets go */
	check_eq(nr_free(), free0, "%s: after the holder let go", what);
}

static void test_free_contig_range_tail_in_use(void **state)
{
	(void)state;
	contig_range_page_in_use(5, "page 5 of 1024 still in use");
}

/*
 * Fixed bug (src/mm/page_alloc.c:456-468, free_contig_range()): a busy *first* page is
 * skipped entirely, so the caller's own reference (the allocation's 1) is never dropped: the
 * page keeps refcount 2, and once its other holder lets go it stays allocated forever (shutdown
 * reports it). Linux 5.7's free_contig_range() calls __free_page() on every page, busy or not,
 * dropping the caller's reference and leaving the holder's. Tail pages are right (the caller
 * holds none on them).
 */
static void test_BUG_free_contig_range_first_page_in_use(void **state)
{
	(void)state;
	contig_range_page_in_use(0, "regression (page_alloc.c free_contig_range() skips a busy "
				    "first page): first page of 1024 still in use");
}

/*
 * Fixed bug (src/mm/page_alloc.c:456-468, free_contig_range(): a first page with refcount 0
 * counts as "busy" and every other page, refcount 0 because it is free, is then "freed" again
 * one by one). A double free_contig_range() must WARN and change nothing, as a double
 * __free_pages() does (docs/design.md: a double free "WARNs here and changes nothing"; Linux
 * would hit VM_BUG_ON on the refcount). Here the second call puts pages that are already free
 * back on the free lists: nr_free_pages counts them twice and the buddy lists are corrupted.
 * Run in a child: the corrupted free lists may crash what follows.
 */
static int contig_double_free(void *arg)
{
	const unsigned long nr = MAX_ORDER_NR_PAGES;
	struct page *page = alloc_contig_pages(nr, GFP_KERNEL);
	unsigned long warns;
	long free0;
	char *info0, *info;

	(void)arg;
	if (!page)
		return 10;
	free_contig_range(page_to_pfn(page), nr);
	free0 = nr_free();
	info0 = buddyinfo();
	warns = pinmm_warn_count();
	free_contig_range(page_to_pfn(page), nr); /* again */
	info = buddyinfo();
	if (pinmm_warn_count() == warns)
		return 11;
	if (nr_free() != free0) {
		fprintf(stderr, "double free_contig_range(): nr_free_pages %ld -> %ld\n", free0,
			nr_free());
		return 12; /* pages counted free twice */
	}
	if (strcmp(info, info0))
		return 13;
	return pinmm_shutdown() == 0 ? 0 : 14;
}

static void test_BUG_free_contig_range_twice(void **state)
{
	(void)state;
	run_forked("regression: a second free_contig_range() of the same range must WARN and "
		   "change nothing (12: nr_free_pages grew, 13: buddyinfo changed; page_alloc.c "
		   "free_contig_range() frees the free pages again)", contig_double_free, NULL, 20);
}

#define machine_test(f) cmocka_unit_test_setup_teardown(f, boot_machine, shutdown_clean)
#define bad_page_test(f) cmocka_unit_test_setup_teardown(f, boot_machine, teardown_any)

int main(void)
{
	const struct CMUnitTest tests[] = {
		machine_test(test_orders_aligned_and_initialised),
		machine_test(test_bad_order_nowarn),
		machine_test(test_bad_order_warns),
		machine_test(test_unknown_gfp_is_refused),
		machine_test(test_unknown_gfp_warns_after_bad_order),
		cmocka_unit_test(test_not_booted),
		cmocka_unit_test(test_buddyinfo_bad_stream),
		machine_test(test_gfp_zero),
		machine_test(test_gfp_zero_skips_only_fresh_frames),
		machine_test(test_plain_alloc_marks_frame_used),
		machine_test(test_address_round_trips),
		machine_test(test_unmovable_never_from_movable_or_cma),
		machine_test(test_movable_fallback_order),
		machine_test(test_free_page_accounting),
		machine_test(test_buddies_merge_back),
		machine_test(test_double_free),
		machine_test(test_free_tail_page),
		machine_test(test_free_wrong_order),
		machine_test(test_free_foreign_pointer),
		bad_page_test(test_bad_free_nonzero_mapcount),
		bad_page_test(test_bad_free_mapping),
		bad_page_test(test_bad_free_locked),
		bad_page_test(test_bad_free_compound_mapped),
		cmocka_unit_test_setup_teardown(test_contig_gigantic_compound, boot_2g,
						shutdown_clean),
		machine_test(test_contig_bad_nr_pages),
		machine_test(test_contig_2_pow_63_movable),
		machine_test(test_contig_plain_ranges),
		machine_test(test_contig_unmovable_never_cma),
		machine_test(test_free_contig_range_misuse),
		machine_test(test_free_contig_range_tail_in_use),
		bad_page_test(test_BUG_free_contig_range_first_page_in_use),
		machine_test(test_BUG_free_contig_range_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
