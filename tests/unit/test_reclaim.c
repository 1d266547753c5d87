/* SPDX-License-Identifier: MIT */
/*
 * Reclaim (src/vm/vmscan.c, <pinmm/vmscan.h>) on small machines (32 MiB, no ZONE_MOVABLE, no
 * CMA): page-cache pages beyond what fits are reclaimed by direct reclaim when kswapd is off
 * and by kswapd when it is on, which stops once a zone is above its high watermark; dirty
 * pages are written to the host file first and freed by a later pass; a pinned page is never
 * reclaimed and its data survives; a page used again and again stays while its neighbours go;
 * reclaim_pages() frees what it is given unless it is pinned or anonymous; when pins fill the
 * machine, the out-of-memory report names them; with a swap area on, anonymous memory beyond
 * the machine goes to swap and comes back whole, a pinned anonymous page with it. The pin
 * cases run under both rule sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/swap.h>

#include "test_mm_util.h"

#define MiB (1ULL << 20)
#define FILE_BASE 0x40000000UL

static char path[64];

/* A 32 MiB machine (no ZONE_MOVABLE, no CMA), its kswapd as asked, and an mm. */
static int boot_small(void **state, bool kswapd, enum pinmm_rules rules)
{
	struct pinmm_config cfg = cfg_of(32 * MiB, 0, 0);

	cfg.kswapd = kswapd;
	cfg.rules = rules;
	return boot_with_mm(state, &cfg);
}

static int small_direct(void **state)
{
	return boot_small(state, false, PINMM_RULES_DEFAULT);
}

static int small_direct_57(void **state)
{
	return boot_small(state, false, PINMM_RULES_5_7);
}

static int small_direct_modern(void **state)
{
	return boot_small(state, false, PINMM_RULES_MODERN);
}

static int small_kswapd(void **state)
{
	return boot_small(state, true, PINMM_RULES_DEFAULT);
}

static int teardown_unlink(void **state)
{
	if (path[0])
		unlink(path);
	path[0] = '\0';
	return teardown_mm(state);
}

/* The byte at offset off of the test file. */
static unsigned char pattern(unsigned long off)
{
	return (unsigned char)(off * 7 + (off >> 12) * 13 + 1);
}

/* A host file of npages pages holding pattern(), opened read-write. */
static struct file *pattern_file(unsigned long npages)
{
	unsigned char buf[PAGE_SIZE];
	struct file *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/lru-reclaim-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (unsigned long p = 0; p < npages; p++) {
		for (unsigned long i = 0; i < PAGE_SIZE; i++)
			buf[i] = pattern(p * PAGE_SIZE + i);
		assert_int_equal(pwrite(fd, buf, PAGE_SIZE, (off_t)(p * PAGE_SIZE)),
				 (ssize_t)PAGE_SIZE);
	}
	close(fd);
	f = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(f));
	return f;
}

/* Read page index of f into the cache and check its bytes; the reference is dropped. */
static void read_check(struct file *f, pgoff_t index, const char *what)
{
	struct page *page = read_mapping_page(f->f_mapping, index);
	const unsigned char *p;

	if (IS_ERR(page))
		test_fail("%s: read_mapping_page(%lu) = %ld", what, index, PTR_ERR(page));
	p = page_address(page);
	for (unsigned long i = 0; i < PAGE_SIZE; i += 509)
		if (p[i] != pattern(index * PAGE_SIZE + i))
			test_fail("%s: page %lu byte %lu is %d, expected %d", what, index, i, p[i],
				  pattern(index * PAGE_SIZE + i));
	put_page(page);
}

static long node(enum node_stat_item item)
{
	return global_node_page_state(item);
}

static unsigned long events(enum vm_event_item item)
{
	return global_vm_event_count(item);
}

static long zone_free(void)
{
	return zone_page_state(pinmm_zone(ZONE_NORMAL), NR_FREE_PAGES);
}

#define check_clean(...)                                                                           \
	do {                                                                                       \
		long n__ = pinmm_check_invariants();                                               \
		if (n__ != 0)                                                                      \
			test_fail("%s: pinmm_check_invariants() = %ld, expected 0",                \
				  scenario_text(__VA_ARGS__), n__);                                \
	} while (0)

/* 48 MiB of file read through a 32 MiB machine: direct reclaim (kswapd off) frees the oldest
 * clean pages, every read succeeds and returns the file's bytes. */
static void test_direct_reclaim_of_clean_file_pages(void **state)
{
	const unsigned long npages = (48 * MiB) >> PAGE_SHIFT;
	struct file *f = pattern_file(npages);
	unsigned long stall0 = events(ALLOCSTALL_MOVABLE), steal0 = events(PGSTEAL_DIRECT);
	const char *what = "reading 48 MiB of file on a 32 MiB machine without kswapd";

	char *trace;
	FILE *out;

	(void)state;
	pinmm_trace_reset();
	pinmm_trace_set(true);
	for (unsigned long i = 0; i < npages; i++)
		read_check(f, i, what);
	/* The reclaim tracepoints, as Linux's vmscan.c has them (docs/observability.md). */
	out = tmpfile();
	assert_non_null(out);
	check_true(pinmm_trace_read(out) > 0, "%s: trace events recorded", what);
	pinmm_trace_set(false);
	trace = slurp(out);
	fclose(out);
	check_true(strstr(trace, "mm_vmscan_direct_reclaim_begin: order=0 gfp_flags=") != NULL,
		   "%s: a mm_vmscan_direct_reclaim_begin event", what);
	check_true(strstr(trace, "mm_vmscan_direct_reclaim_end: nr_reclaimed=") != NULL,
		   "%s: a mm_vmscan_direct_reclaim_end event", what);
	check_true(strstr(trace, "mm_vmscan_lru_shrink_inactive: nid=0 nr_scanned=") != NULL,
		   "%s: a mm_vmscan_lru_shrink_inactive event", what);
	free(trace);
	/* Page-cache pages are GFP_HIGHUSER_MOVABLE: Linux counts the stall by the highest zone
	 * the allocation may use, ZONE_MOVABLE, populated or not. */
	check_true(events(ALLOCSTALL_MOVABLE) > stall0, "%s: allocstall_movable moved", what);
	check_true(events(PGSTEAL_DIRECT) > steal0, "%s: pgsteal_direct moved", what);
	check_eq(events(PGSTEAL_KSWAPD), 0, "%s: no kswapd", what);
	check_true(events(PGSCAN_DIRECT) >= events(PGSTEAL_DIRECT), "%s: scanned >= stolen", what);
	check_true(node(NR_FILE_PAGES) < (long)npages, "%s: nr_file_pages %ld < %lu", what,
		   node(NR_FILE_PAGES), npages);
	check_eq(node(NR_INACTIVE_FILE) + node(NR_ACTIVE_FILE), node(NR_FILE_PAGES),
		 "%s: every cache page on a file list", what);
	/* What was reclaimed reads back from the host file. */
	for (unsigned long i = 0; i < npages; i += 97)
		read_check(f, i, what);
	check_clean("%s", what);
	fput(f);
}

/* Dirty pages of a shared mapping, more than fit: reclaim writes them to the host file and
 * frees them on a later pass; every byte reaches the file, and reads back through the
 * mapping. */
static void test_dirty_pages_written_then_reclaimed(void **state)
{
	const unsigned long npages = (40 * MiB) >> PAGE_SHIFT;
	struct file *f = pattern_file(npages);
	unsigned long addr, steal0 = events(PGSTEAL_DIRECT) + events(PGSTEAL_KSWAPD);
	long written0 = node(NR_WRITTEN);
	const char *what = "writing 40 MiB through a shared mapping on a 32 MiB machine";

	(void)state;
	addr = vm_mmap(f, FILE_BASE, npages * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, 0);
	check_eq(addr, FILE_BASE, "%s: mmap", what);
	for (unsigned long i = 0; i < npages; i++)
		put_word(addr + i * PAGE_SIZE, 0x5eed0000UL + i, what);
	check_true(node(NR_WRITTEN) > written0, "%s: reclaim wrote pages (nr_written %ld -> %ld)",
		   what, written0, node(NR_WRITTEN));
	check_true(events(PGSTEAL_DIRECT) + events(PGSTEAL_KSWAPD) > steal0,
		   "%s: and freed pages", what);
	check_true(node(NR_FILE_PAGES) < (long)npages, "%s: fewer cache pages than written",
		   what);
	for (unsigned long i = 0; i < npages; i += 37)
		check_eq(get_word(addr + i * PAGE_SIZE, what), 0x5eed0000UL + i,
			 "%s: page %lu read back through the mapping", what, i);
	unmap(FILE_BASE, npages * PAGE_SIZE, what);
	/* Reclaim's last writes may still be in flight: fsync waits for them. */
	assert_int_equal(vfs_fsync(f, 0), 0);
	check_clean("%s", what);
	for (unsigned long i = 0; i < npages; i += 53) {
		unsigned long v = 0;

		for (int b = 7; b >= 0; b--)
			v = v << 8 | (unsigned long)host_file_byte(path, (off_t)(i * PAGE_SIZE) + b);
		check_eq(v, 0x5eed0000UL + i, "%s: page %lu in the host file", what, i);
	}
	fput(f);
}

/* A pinned page-cache page is never reclaimed: it stays the cache's page through a machine's
 * worth of reclaim, and what the "device" wrote into it stays. */
static void pinned_page_survives(void)
{
	const unsigned long npages = (48 * MiB) >> PAGE_SHIFT;
	struct file *f = pattern_file(npages);
	const char *what = pinmm_rules() == PINMM_RULES_MODERN
				   ? "modern: a pinned file page under reclaim"
				   : "5.7: a pinned file page under reclaim";
	unsigned long addr, steal0 = events(PGSTEAL_DIRECT);
	struct page *pinned;

	addr = vm_mmap(f, FILE_BASE, PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, 0);
	check_eq(addr, FILE_BASE, "%s: mmap", what);
	check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, &pinned), 1, "%s: pin", what);
	/* The owner lets go of its mapping: only the pin and the cache hold the page. */
	unmap(FILE_BASE, PAGE_SIZE, what);
	memset(page_address(pinned), 0xd5, PAGE_SIZE); /* the device's write */
	for (unsigned long i = 1; i < npages; i++)
		read_check(f, i, what);
	check_true(events(PGSTEAL_DIRECT) > steal0, "%s: reclaim ran", what);
	check_ptr(find_get_page(f->f_mapping, 0), pinned, "%s: still the cache's page 0", what);
	put_page(pinned); /* find_get_page()'s */
	check_true(page_maybe_dma_pinned(pinned) && PageLRU(pinned), "%s: pinned, on the LRU",
		   what);
	for (unsigned long i = 0; i < PAGE_SIZE; i += 111)
		check_eq(((unsigned char *)page_address(pinned))[i], 0xd5,
			 "%s: byte %lu of the device's write", what, i);
	check_clean("%s", what);
	unpin_user_pages_dirty_lock(&pinned, 1, true);
	fput(f);
}

static void test_pinned_page_survives_57(void **state)
{
	(void)state;
	pinned_page_survives();
}

static void test_pinned_page_survives_modern(void **state)
{
	(void)state;
	pinned_page_survives();
}

/* kswapd: woken when an allocation finds the zone below low, it reclaims until the zone is
 * above high and sleeps; it does not empty the cache. */
static void test_kswapd_wakes_and_stops_at_high(void **state)
{
	const unsigned long npages = (40 * MiB) >> PAGE_SHIFT;
	struct file *f = pattern_file(npages);
	struct zone *zone = pinmm_zone(ZONE_NORMAL);
	const char *what = "kswapd under 40 MiB of reads on a 32 MiB machine";
	unsigned long runs0 = events(PAGEOUTRUN), i;

	(void)state;
	check_true(low_wmark_pages(zone) > min_wmark_pages(zone) &&
		   high_wmark_pages(zone) > low_wmark_pages(zone), "%s: min < low < high", what);
	/* Read until kswapd has run once, then let it finish. */
	for (i = 0; i < npages && events(PAGEOUTRUN) == runs0; i++)
		read_check(f, i, what);
	check_true(events(PAGEOUTRUN) > runs0, "%s: kswapd ran (pageoutrun)", what);
	check_eq(pinmm_kswapd_wait_idle(10000), 0, "%s: kswapd goes back to sleep", what);
	check_true(events(PGSTEAL_KSWAPD) > 0, "%s: pgsteal_kswapd", what);
	check_true(zone_free() > (long)high_wmark_pages(zone),
		   "%s: free %ld above high %lu when it sleeps", what, zone_free(),
		   high_wmark_pages(zone));
	check_true(node(NR_FILE_PAGES) > (long)(i / 2),
		   "%s: it stopped at high: %ld of the %lu pages read are still cached", what,
		   node(NR_FILE_PAGES), i);
	check_clean("%s", what);
	fput(f);
}

/* A page used between every burst of reads stays; one read once, as long ago, goes. */
static void test_aging_keeps_a_hot_page(void **state)
{
	const unsigned long npages = (48 * MiB) >> PAGE_SHIFT;
	struct file *f = pattern_file(npages);
	const char *what = "a page read through a mapping every 64 reads";
	unsigned long addr;
	struct page *hot, *cold, *now;

	(void)state;
	addr = vm_mmap(f, FILE_BASE, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, 0);
	check_eq(addr, FILE_BASE, "%s: mmap", what);
	get_word(addr, what);
	hot = page_at(current_mm(), addr);
	cold = read_mapping_page(f->f_mapping, 1);
	assert_false(IS_ERR(cold));
	put_page(cold);
	unmap(FILE_BASE + PAGE_SIZE, PAGE_SIZE, what);
	for (unsigned long i = 2; i < npages; i++) {
		read_check(f, i, what);
		if (i % 64 == 0)
			get_word(addr, what);
	}
	check_ptr(page_at(current_mm(), addr), hot, "%s: the hot page is still mapped", what);
	now = find_get_page(f->f_mapping, 0);
	check_ptr(now, hot, "%s: and still the cache's page", what);
	if (now)
		put_page(now);
	now = find_get_page(f->f_mapping, 1);
	check_ptr(now, NULL, "%s: the page read once went", what);
	if (now)
		put_page(now);
	check_clean("%s", what);
	unmap(FILE_BASE, PAGE_SIZE, what);
	fput(f);
}

/* reclaim_pages(): a clean file page is freed; a pinned one and an anonymous one go back. */
static void test_reclaim_pages(void **state)
{
	struct file *f = pattern_file(4);
	CDS_LIST_HEAD(list);
	struct page *clean, *pinned, *anon;
	unsigned long addr;
	long file0;

	(void)state;
	clean = read_mapping_page(f->f_mapping, 1);
	assert_false(IS_ERR(clean));
	addr = vm_mmap(f, FILE_BASE, PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, 0);
	check_eq(pin_user_pages_fast(addr, 1, 0, &pinned), 1, "pin a file page");
	map(FILE_BASE + SZ_2M, PAGE_SIZE, RW, ANON | MAP_FIXED, "anon");
	put_word(FILE_BASE + SZ_2M, 9, "anon");
	anon = page_at(current_mm(), FILE_BASE + SZ_2M);
	check_eq(reclaim_pages(NULL), 0, "reclaim_pages(NULL)");
	file0 = node(NR_FILE_PAGES);
	assert_int_equal(isolate_lru_page(clean), 0);
	put_page(clean); /* read_mapping_page()'s: the isolation's is the one left */
	assert_int_equal(isolate_lru_page(pinned), 0);
	assert_int_equal(isolate_lru_page(anon), 0);
	isolated_list_add_tail(clean, &list);
	isolated_list_add_tail(pinned, &list);
	isolated_list_add_tail(anon, &list);
	check_eq(reclaim_pages(&list), 1, "reclaim_pages() of a clean, a pinned and an anon page");
	check_true(cds_list_empty(&list), "the list is empty after");
	check_eq(node(NR_FILE_PAGES), file0 - 1, "the clean page left the cache");
	check_true(PageLRU(pinned) && page_maybe_dma_pinned(pinned), "the pinned page is back");
	/* As in Linux (5.7 and today), try_to_unmap() unmaps a pinned file page; only the
	 * freeze refuses to free it, so the next access maps the same page again. */
	check_ptr(page_at(current_mm(), addr), NULL, "the pinned page was unmapped");
	get_word(addr, "the pinned page faulted back");
	check_ptr(page_at(current_mm(), addr), pinned, "the same page is mapped again");
	check_true(PageLRU(anon) && PageActive(anon), "the anon page is back, active (no swap)");
	check_eq(get_word(FILE_BASE + SZ_2M, "anon"), 9, "the anon page's data");
	check_clean("after reclaim_pages()");
	unpin_user_page(pinned);
	unmap(FILE_BASE, PAGE_SIZE, "file");
	fput(f);
}

/* A reference taken between reclaim's unmap and its freeze (a page-cache lookup, as read()
 * or a DMA engine's map would take, at the race point "vmscan:before_remove_mapping"): the
 * freeze fails and the page stays, mapped again by its next access. Deterministic through
 * the race point. */
struct late_ref {
	struct address_space *mapping;
	struct page *got;
};

static void take_late_ref(const char *point, void *arg)
{
	struct late_ref *r = arg;

	(void)point;
	if (!r->got)
		r->got = find_get_page(r->mapping, 0);
}

static void test_reference_between_unmap_and_freeze(void **state)
{
	struct file *f = pattern_file(1);
	struct late_ref r = {.mapping = f->f_mapping};
	const char *what = "a lookup between try_to_unmap() and __remove_mapping()";
	CDS_LIST_HEAD(list);
	unsigned long addr;
	struct page *page;

	(void)state;
	addr = vm_mmap(f, FILE_BASE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, 0);
	check_eq(get_word(addr, what) & 0xff, pattern(0), "%s: first byte", what);
	page = page_at(current_mm(), addr);
	assert_int_equal(isolate_lru_page(page), 0);
	isolated_list_add_tail(page, &list);
	assert_int_equal(pinmm_hook_set("vmscan:before_remove_mapping", take_late_ref, &r), 0);
	check_eq(reclaim_pages(&list), 0, "%s: nothing reclaimed", what);
	pinmm_hook_clear_all();
	check_ptr(r.got, page, "%s: the lookup found the page", what);
	check_ptr(page_at(current_mm(), addr), NULL, "%s: unmapped, as Linux leaves it", what);
	check_true(PageLRU(page) && page->mapping == f->f_mapping,
		   "%s: back on the LRU, still in the cache", what);
	check_eq(get_word(addr, what) & 0xff, pattern(0), "%s: the data, mapped again", what);
	check_ptr(page_at(current_mm(), addr), page, "%s: the same page", what);
	put_page(r.got);
	/* Without the lookup the same page goes. */
	assert_int_equal(isolate_lru_page(page), 0);
	isolated_list_add_tail(page, &list);
	check_eq(reclaim_pages(&list), 1, "%s: reclaimed once nobody else holds it", what);
	check_clean("%s", what);
	unmap(FILE_BASE, PAGE_SIZE, what);
	fput(f);
}

/* Pins fill the machine: the allocation that finds nothing fails and the report names the
 * pinned memory. */
static void oom_names_pins(void)
{
	const unsigned long npages = (24 * MiB) >> PAGE_SHIFT;
	struct file *f = pattern_file(npages);
	const char *what = pinmm_rules() == PINMM_RULES_MODERN ? "modern: pins fill the machine"
							     : "5.7: pins fill the machine";
	struct page **pages = calloc(npages, sizeof(*pages));
	struct page *held[8192];
	unsigned long n = 0, oom0 = events(OOM_KILL), addr;
	char *log, *at;
	long pinned_reported;

	assert_non_null(pages);
	addr = vm_mmap(f, FILE_BASE, npages * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, 0);
	check_eq(addr, FILE_BASE, "%s: mmap", what);
	for (unsigned long i = 0; i < npages; i += 512) {
		int nr = npages - i < 512 ? (int)(npages - i) : 512;

		check_eq(pin_user_pages_fast(addr + i * PAGE_SIZE, nr, 0, pages + i), nr,
			 "%s: pin pages %lu..", what, i);
	}
	log_clear();
	while (n < 8192 && (held[n] = alloc_page(GFP_KERNEL)))
		n++;
	check_true(n < 8192, "%s: an allocation failed", what);
	check_true(events(OOM_KILL) > oom0, "%s: oom_kill counted", what);
	log = test_log_take();
	at = strstr(log, "pinned (page_maybe_dma_pinned): ");
	check_true(strstr(log, "pinmm: out of memory") && at, "%s: the report:\n%s", what, log);
	pinned_reported = at ? strtol(at + strlen("pinned (page_maybe_dma_pinned): "), NULL, 10) : 0;
	check_true(pinned_reported >= (long)npages,
		   "%s: it names %ld pinned pages, at least the %lu pinned", what,
		   pinned_reported, npages);
	free(log);
	while (n)
		__free_page(held[--n]);
	unpin_user_pages(pages, npages);
	free(pages);
	check_clean("%s", what);
	unmap(FILE_BASE, npages * PAGE_SIZE, what);
	fput(f);
}

static void test_oom_names_pins_57(void **state)
{
	(void)state;
	oom_names_pins();
}

static void test_oom_names_pins_modern(void **state)
{
	(void)state;
	oom_names_pins();
}

/* The small entry points' edges. */
/* 40 MiB of anonymous memory (THPs, as the machine's THP mode has them) on a 32 MiB machine with
 * a 64 MiB swap area: direct reclaim splits the THPs and swaps pages out; every page reads back
 * its tag through swap-in. One page pinned at the start (a device writing into it) stays the
 * page its address maps under both rule sets: 5.7 may put it in the swap cache and unmap it,
 * but the pin keeps it from being freed and the fault maps it back; modern leaves it mapped.
 * The device's write is what the process reads. */
static void anon_reclaimed_into_swap(void)
{
	const unsigned long len = 40 * MiB, npages = len >> PAGE_SHIFT;
	const char *what = pinmm_rules() == PINMM_RULES_MODERN ? "modern: anon into swap"
							       : "5.7: anon into swap";
	unsigned long addr, out0 = events(PSWPOUT), in0 = events(PSWPIN);
	struct page *pinned;
	int fd;

	snprintf(path, sizeof(path), "/tmp/lru-swap-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(64 * MiB)), 0);
	close(fd);
	check_eq(swapon(path, 0), 0, "%s: swapon", what);
	addr = map(0, len, RW, ANON, what);
	put_word(addr, 0, what);
	check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, &pinned), 1, "%s: pin", what);
	for (unsigned long i = 1; i < npages; i++)
		put_word(addr + PG(i), 0x5a000000UL + i, what);
	*(unsigned long *)page_address(pinned) = 0xd5d5; /* the device's write */
	check_true(events(PSWPOUT) > out0, "%s: pages went to swap (pswpout %lu)", what,
		   events(PSWPOUT) - out0);
	for (unsigned long i = 1; i < npages; i++)
		if (get_word(addr + PG(i), what) != 0x5a000000UL + i)
			test_fail("%s: page %lu reads %#lx, expected %#lx", what, i,
				  get_word(addr + PG(i), what), 0x5a000000UL + i);
	check_true(events(PSWPIN) > in0, "%s: pages came back from swap", what);
	check_eq(get_word(addr, what), 0xd5d5UL, "%s: the device's write, read by the process", what);
	check_ptr(page_at(current_mm(), addr), pinned, "%s: the pinned page is still mapped", what);
	check_clean("%s", what);
	unpin_user_pages_dirty_lock(&pinned, 1, true);
	unmap(addr, len, what);
	check_eq(swapoff(path), 0, "%s: swapoff", what);
	check_clean("%s: after swapoff", what);
}

static void test_anon_reclaimed_into_swap_57(void **state)
{
	(void)state;
	anon_reclaimed_into_swap();
}

static void test_anon_reclaimed_into_swap_modern(void **state)
{
	(void)state;
	anon_reclaimed_into_swap();
}

static void test_entry_point_edges(void **state)
{
	(void)state;
	check_eq(shrink_all_memory(0), 0, "shrink_all_memory(0)");
	check_eq(pinmm_kswapd_wait_idle(10), -ENODEV, "kswapd_wait_idle without kswapd");
	check_eq(reclaim_pages(NULL), 0, "reclaim_pages(NULL)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_direct_reclaim_of_clean_file_pages,
						small_direct, teardown_unlink),
		cmocka_unit_test_setup_teardown(test_dirty_pages_written_then_reclaimed,
						small_direct, teardown_unlink),
		cmocka_unit_test_setup_teardown(test_pinned_page_survives_57, small_direct_57,
						teardown_unlink),
		cmocka_unit_test_setup_teardown(test_pinned_page_survives_modern,
						small_direct_modern, teardown_unlink),
		cmocka_unit_test_setup_teardown(test_kswapd_wakes_and_stops_at_high, small_kswapd,
						teardown_unlink),
		cmocka_unit_test_setup_teardown(test_aging_keeps_a_hot_page, small_direct,
						teardown_unlink),
		cmocka_unit_test_setup_teardown(test_reclaim_pages, small_direct, teardown_unlink),
		cmocka_unit_test_setup_teardown(test_reference_between_unmap_and_freeze,
						small_direct, teardown_unlink),
		cmocka_unit_test_setup_teardown(test_oom_names_pins_57, small_direct_57,
						teardown_unlink),
		cmocka_unit_test_setup_teardown(test_oom_names_pins_modern, small_direct_modern,
						teardown_unlink),
		cmocka_unit_test_setup_teardown(test_anon_reclaimed_into_swap_57, small_direct_57,
						teardown_unlink),
		cmocka_unit_test_setup_teardown(test_anon_reclaimed_into_swap_modern,
						small_direct_modern, teardown_unlink),
		cmocka_unit_test_setup_teardown(test_entry_point_edges, small_direct, teardown_unlink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
