/* SPDX-License-Identifier: MIT */
/*
 * Pin owners (<pinmm/pin_owner.h>): a record per grab on every pinning path (pin_user_pages,
 * _fast, _remote, the io_uring registration, THP and hugetlb leaves), closed by the unpins;
 * the queries (owners, older than, call sites and their histograms); off means -ENODEV; the
 * environment variable; threads pinning at once; the leak reports at the last mmput() and at
 * shutdown, and the misuse reports, each naming this file's functions and lines.
 *
 * The reports are read from the captured log (test_util.h). Lines are taken with __LINE__ on
 * the line of the call, which is what the symbolizer reports for its return address.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <time.h>

#include "gup_conformance.h"
#include "test_mm_util.h"
/* Internals: a record without its pin (pin_owner_add()), which no API call can make, to see
 * pinmm_check_invariants() catch it. */
#include "mm/internal.h"

#define MAX_OWNERS 4096

/* Boot the default machine (rules as PINMM_RULES says) with pin owners on, and an mm. */
static int setup_owner(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.pin_owner = true;
	return boot_with_mm(state, &cfg);
}

/* The same with a hugetlb pool of four 2 MiB pages on a 4 GiB machine. */
static int setup_owner_hugetlb(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 4 * GiB;
	cfg.nr_hugepages_2m = 4;
	cfg.pin_owner = true;
	return boot_with_mm(state, &cfg);
}

/* The same with the debug checks off. */
static int setup_owner_nochecks(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.pin_owner = true;
	cfg.debug_checks = false;
	return boot_with_mm(state, &cfg);
}

static struct pinmm_pin_owner owners[MAX_OWNERS];

/* The outstanding records (older than older_ns); fails the test if they do not fit. */
static size_t snapshot(unsigned long long older_ns, const char *what)
{
	size_t total = 0;

	check_eq(pinmm_pin_owners(older_ns, owners, MAX_OWNERS, &total), 0, "%s: query", what);
	check_true(total <= MAX_OWNERS, "%s: %zu records", what, total);
	return total;
}

/* Pins the records hold in all, for head_pfn (ULONG_MAX: any). */
static unsigned long pins_recorded(size_t n, unsigned long head_pfn)
{
	unsigned long pins = 0;

	for (size_t i = 0; i < n; i++)
		if (head_pfn == ULONG_MAX || owners[i].head_pfn == head_pfn)
			pins += owners[i].nr_pins;
	return pins;
}

/* The culprit of record i is this file's function fn. */
static void expect_culprit(size_t i, const char *fn, const char *what)
{
	int c = pinmm_pin_owner_culprit(owners[i].frames, owners[i].nr_frames);
	char buf[512];

	check_true(c >= 0, "%s: record %zu has a culprit frame", what, i);
	pinmm_pin_owner_symbolize(owners[i].frames[c], buf, sizeof(buf));
	if (strncmp(buf, fn, strlen(fn)) || !strstr(buf, "test_pin_owner.c:"))
		test_fail("%s: culprit of record %zu is \"%s\", expected %s in test_pin_owner.c",
			  what, i, buf, fn);
}

/* Does any frame of record i symbolize to a function named fn? */
static bool has_frame(size_t i, const char *fn)
{
	char buf[512];

	for (unsigned int f = 0; f < owners[i].nr_frames; f++) {
		pinmm_pin_owner_symbolize(owners[i].frames[f], buf, sizeof(buf));
		if (!strncmp(buf, fn, strlen(fn)) && buf[strlen(fn)] == '+')
			return true;
	}
	return false;
}

/* The log holds needle; fail naming both otherwise. Returns the log (caller frees). */
static char *log_expect(char *log, const char *needle, const char *what)
{
	if (!strstr(log, needle))
		test_fail("%s: the log lacks \"%s\"; log:\n%s", what, needle, log);
	return log;
}

static char *file_line(int line)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "test_pin_owner.c:%d)", line);
	return buf;
}

static void test_pin_user_pages_records(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(4));
	struct pinmm_pin_site sites[16];
	struct page *pages[4];
	size_t n, nr_sites;
	unsigned long hist = 0;
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages(addr, 4, FOLL_WRITE, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 4, "pin_user_pages of 4 pages");
	n = snapshot(0, "after pin_user_pages");
	check_eq(n, 4, "records after pinning 4 order-0 pages");
	for (size_t i = 0; i < n; i++) {
		check_eq(owners[i].nr_pins, 1, "record %zu", i);
		check_eq(owners[i].pfn, owners[i].head_pfn, "record %zu of an order-0 page", i);
		check_eq(owners[i].gup_flags & (FOLL_PIN | FOLL_WRITE), FOLL_PIN | FOLL_WRITE,
			 "record %zu's flags", i);
		check_ptr(owners[i].mm, mm, "record %zu's mm", i);
		check_eq(owners[i].tid, gettid(), "record %zu's thread", i);
		expect_culprit(i, __func__, "pin_user_pages");
	}
	check_eq(owners[0].pfn, page_to_pfn(pages[0]) < page_to_pfn(pages[3]) ?
		 page_to_pfn(pages[0]) : page_to_pfn(pages[3]), "the lowest pfn comes first");
	unpin_user_pages(pages, 4);
	check_eq(snapshot(0, "after unpin"), 0, "records after unpinning all 4");
	check_eq(pinmm_pin_sites(sites, 16, &nr_sites), 0, "sites query");
	check_eq(nr_sites, 1, "call sites: one pin_user_pages call");
	check_eq(sites[0].outstanding, 0, "site outstanding after unpin");
	check_eq(sites[0].released, 4, "site released");
	for (int b = 0; b < PINMM_PIN_HOLD_BUCKETS; b++)
		hist += sites[0].hold_hist[b];
	check_eq(hist, 4, "hold-time histogram entries");
	unmap(addr, PG(4), "4 pages");
}

static void test_pin_user_pages_fast_thp(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, 2 * SZ_2M, RW, ANON, "THP area");
	unsigned long thp = (addr + SZ_2M - 1) & ~(SZ_2M - 1);
	struct page *pages[512];
	unsigned long head;
	size_t n;

	put_word(thp, 1, "THP");
	check_true(PageHead(page_at(mm, thp)) && compound_nr(page_at(mm, thp)) == 512,
		   "the area is a THP");
	head = page_to_pfn(page_at(mm, thp));
	check_eq(pin_user_pages_fast(thp, 512, FOLL_WRITE, pages), 512, "pin_user_pages_fast");
	n = snapshot(0, "THP pinned by the fast path");
	check_eq(pins_recorded(n, head), 512, "pins recorded under the THP's head pfn %#lx", head);
	check_eq(pins_recorded(n, ULONG_MAX), 512, "pins recorded in all");
	for (size_t i = 0; i < n; i++) {
		check_true(owners[i].pfn >= head && owners[i].pfn + owners[i].nr_pins <= head + 512,
			   "record %zu (pfn %#lx x%u) lies in the THP", i, owners[i].pfn,
			   owners[i].nr_pins);
		expect_culprit(i, __func__, "pin_user_pages_fast");
	}
	/* A subpage's pin counts under the head: unpinning through subpages closes them. */
	unpin_user_page(pages[7]);
	n = snapshot(0, "one subpage unpinned");
	check_eq(pins_recorded(n, head), 511, "pins after one subpage unpin");
	unpin_user_pages(pages + 8, 504);
	unpin_user_pages(pages, 7);
	check_eq(snapshot(0, "all unpinned"), 0, "records after unpinning the THP");
	unmap(addr, 2 * SZ_2M, "THP area");
}

/* The matching rule: the unpin of a subpage closes the record holding that subpage, not the
 * newest record of the head (which LIFO alone would take). */
static void test_unpin_closes_the_record_of_its_subpage(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, 2 * SZ_2M, RW, ANON, "THP area");
	unsigned long thp = (addr + SZ_2M - 1) & ~(SZ_2M - 1), head;
	struct page *p3, *p5;
	size_t n;
	long ret;

	put_word(thp, 1, "THP");
	head = page_to_pfn(page_at(mm, thp));
	mmap_read_lock(mm);
	ret = pin_user_pages(thp + PG(3), 1, 0, &p3);
	mmap_read_unlock(mm);
	check_eq(ret, 1, "pin subpage 3 (slow)");
	check_eq(pin_user_pages_fast(thp + PG(5), 1, 0, &p5), 1, "pin subpage 5 (fast)");
	unpin_user_page(p3);
	n = snapshot(0, "subpage 3 unpinned");
	check_eq(n, 1, "records left");
	check_eq(owners[0].pfn, head + 5, "the record left is subpage 5's (LIFO would keep 3's)");
	unpin_user_page(p5);
	check_eq(snapshot(0, "both unpinned"), 0, "records left");
	unmap(addr, 2 * SZ_2M, "THP area");
}

static void test_pin_user_pages_remote_records_the_remote_mm(void **state)
{
	struct mm_struct *mm = *state, *other = mm_alloc();
	struct page *pages[2];
	unsigned long addr;
	size_t n;
	long ret;

	assert_non_null(other);
	kthread_unuse_mm(mm);
	kthread_use_mm(other);
	addr = map_touched(PG(2));
	kthread_unuse_mm(other);
	kthread_use_mm(mm);
	mmap_read_lock(other);
	ret = pin_user_pages_remote(other, addr, 2, FOLL_WRITE, pages, NULL);
	mmap_read_unlock(other);
	check_eq(ret, 2, "pin_user_pages_remote");
	n = snapshot(0, "remote pins");
	check_eq(n, 2, "records of the remote pins");
	for (size_t i = 0; i < n; i++) {
		check_ptr(owners[i].mm, other, "record %zu names the remote mm", i);
		check_true(owners[i].gup_flags & FOLL_REMOTE, "record %zu has FOLL_REMOTE", i);
		expect_culprit(i, __func__, "pin_user_pages_remote");
	}
	unpin_user_pages(pages, 2);
	check_eq(snapshot(0, "remote unpinned"), 0, "records after the remote unpin");
	mmput(other);
}

static void test_io_uring_registration_records(void **state)
{
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	unsigned long addr = map_touched(PG(3));
	struct iovec iov = {(void *)addr, PG(3)};
	size_t n;

	(void)state;
	assert_non_null(ctx);
	check_eq(io_sqe_buffers_register(ctx, &iov, 1), 0, "register 3 pages");
	n = snapshot(0, "registered");
	check_eq(pins_recorded(n, ULONG_MAX), 3, "pins of the registration");
	for (size_t i = 0; i < n; i++) {
		check_true(owners[i].gup_flags & FOLL_LONGTERM, "record %zu is long-term", i);
		check_true(has_frame(i, "io_sqe_buffers_register"), "record %zu passes io_uring", i);
		expect_culprit(i, __func__, "io_uring registration");
	}
	check_eq(io_sqe_buffers_unregister(ctx), 0, "unregister");
	check_eq(snapshot(0, "unregistered"), 0, "records after unregistering");
	io_ring_ctx_free(ctx);
	unmap(addr, PG(3), "buffer");
}

static void test_hugetlb_pins_record_under_the_head(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, SZ_2M, RW, ANON | MAP_HUGETLB, "hugetlb 2 MiB");
	struct page *pages[4];
	unsigned long head;
	size_t n;
	long ret;

	put_word(addr, 1, "hugetlb");
	head = page_to_pfn(page_at(mm, addr));
	mmap_read_lock(mm);
	ret = pin_user_pages(addr + PG(5), 4, FOLL_WRITE, pages);
	mmap_read_unlock(mm);
	check_eq(ret, 4, "pin 4 subpages of a hugetlb page");
	n = snapshot(0, "hugetlb pinned");
	check_eq(pins_recorded(n, head), 4, "pins under the hugetlb head %#lx", head);
	for (size_t i = 0; i < n; i++)
		check_true(owners[i].pfn >= head + 5 && owners[i].pfn < head + 9,
			   "record %zu names a pinned subpage (pfn %#lx)", i, owners[i].pfn);
	unpin_user_pages(pages, 4);
	check_eq(snapshot(0, "hugetlb unpinned"), 0, "records after the unpin");
	unmap(addr, SZ_2M, "hugetlb");
}

static void test_older_than_and_histogram(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(2));
	struct timespec ms20 = {0, 20 * 1000 * 1000};
	struct pinmm_pin_site sites[8];
	struct page *old, *young;
	size_t n, nr_sites;
	unsigned long long slow = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	mmap_read_lock(mm);
	check_eq(pin_user_pages(addr, 1, 0, &old), 1, "pin the old page");
	mmap_read_unlock(mm);
	nanosleep(&ms20, NULL);
	check_eq(pin_user_pages_fast(addr + PG(1), 1, 0, &young), 1, "pin the young page");
	n = snapshot(10 * 1000 * 1000ULL, "older than 10 ms");
	check_eq(n, 1, "records older than 10 ms");
	check_eq(owners[0].pfn, page_to_pfn(old), "the old pin is the one");
	check_true(owners[0].age_ns >= 20 * 1000 * 1000ULL, "its age %llu ns", owners[0].age_ns);
	check_eq(snapshot(0, "all"), 2, "records of any age");
	check_eq(snapshot(3600ULL * 1000000000ULL, "an hour"), 0, "records older than an hour");
	unpin_user_page(young);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	check_eq(pinmm_pin_owners_print(f, 10 * 1000 * 1000ULL), 1, "print older than 10 ms");
	fclose(f);
	log_expect(text, "pin owners: 1 record(s)", "the owner table");
	log_expect(text, "by test_older_than_and_histogram (", "the owner table");
	free(text);

	unpin_user_page(old);
	check_eq(pinmm_pin_sites(sites, 8, &nr_sites), 0, "sites");
	check_eq(nr_sites, 2, "two call sites (slow and fast)");
	for (size_t i = 0; i < nr_sites; i++) {
		check_eq(sites[i].id, i + 1, "site ids run from 1");
		check_eq(sites[i].outstanding, 0, "site %zu outstanding", i);
		check_eq(sites[i].released, 1, "site %zu released", i);
		/* 2^14 us = 16.4 ms: the old pin's bucket is at least 15; the young one was
		 * released right after the queries. */
		for (int b = 15; b < PINMM_PIN_HOLD_BUCKETS; b++)
			slow += sites[i].hold_hist[b];
	}
	check_eq(slow, 1, "pins held 16 ms or longer in the histograms");
	for (int b = 15; b < PINMM_PIN_HOLD_BUCKETS; b++)
		check_eq(sites[1].hold_hist[b], 0, "the fast site's bucket %d", b);
	unmap(addr, PG(2), "2 pages");
}

static void test_check_invariants_count_the_open_records(void **state)
{
	unsigned long addr = map_touched(PG(2));
	struct page *pages[2];

	(void)state;
	check_eq(pin_user_pages_fast(addr, 2, 0, pages), 2, "pin 2 pages");
	check_eq(pinmm_check_invariants(), 0, "two pins, two records");
	log_clear();
	pin_owner_add(pages[0], pages[0], 1, FOLL_PIN, NULL); /* a record without its pin */
	check_eq(pinmm_check_invariants(), 1, "a record more than the pins");
	free(log_expect(test_log_take(), "the pin owners hold 3 open pin(s)", "the check"));
	pin_owner_release(pages[0], 1, NULL, pages[0]);
	check_eq(pinmm_check_invariants(), 0, "the phantom record closed");
	unpin_user_pages(pages, 2);
	unmap(addr, PG(2), "2 pages");
}

static void test_off_is_an_error(void **state)
{
	struct pinmm_pin_owner o;
	struct pinmm_pin_site s;
	size_t total = 12345;

	(void)state;
	unsetenv("PINMM_PIN_OWNER"); /* the suite may run under PINMM_PIN_OWNER=1 */
	check_true(!pinmm_pin_owner_enabled(), "no machine: not enabled");
	check_eq(pinmm_pin_owners(0, &o, 1, &total), -ENODEV, "owners without a machine");
	check_eq(boot_with(NULL), 0, "boot the default machine (owners off)");
	check_true(!pinmm_pin_owner_enabled(), "default machine: not enabled");
	check_true(!pinmm_machine_config()->pin_owner, "the configuration says off");
	check_eq(pinmm_pin_owners(0, &o, 1, &total), -ENODEV, "owners query, off");
	check_eq(pinmm_pin_owners(0, NULL, 0, &total), -ENODEV, "owners count, off");
	check_eq(pinmm_pin_sites(&s, 1, &total), -ENODEV, "sites query, off");
	check_eq(pinmm_pin_owners_print(NULL, 0), -ENODEV, "print, off");
	check_eq(total, 12345, "total untouched");
	check_eq(shutdown_clean(NULL), 0, "shutdown");
}

static void test_bad_arguments(void **state)
{
	struct pinmm_pin_owner o;
	size_t total;
	char buf[8];

	(void)state;
	check_eq(pinmm_pin_owners(0, &o, 1, NULL), -EINVAL, "owners, total NULL");
	check_eq(pinmm_pin_owners(0, NULL, 1, &total), -EINVAL, "owners, buf NULL, max 1");
	check_eq(pinmm_pin_sites(NULL, 1, &total), -EINVAL, "sites, buf NULL, max 1");
	check_eq(pinmm_pin_owners(0, NULL, 0, &total), 0, "owners, count only");
	check_eq(total, 0, "nothing pinned");
	check_eq(pinmm_pin_owner_symbolize(NULL, NULL, 4), -EINVAL, "symbolize into NULL");
	check_eq(pinmm_pin_owner_symbolize(NULL, buf, 0), -EINVAL, "symbolize into 0 bytes");
}

static void test_environment_variable(void **state)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	setenv("PINMM_PIN_OWNER", "1", 1);
	check_eq(boot_with(NULL), 0, "boot with PINMM_PIN_OWNER=1");
	check_true(pinmm_pin_owner_enabled(), "PINMM_PIN_OWNER=1 switches owners on");
	check_true(pinmm_machine_config()->pin_owner, "the configuration in force says on");
	check_eq(shutdown_clean(NULL), 0, "shutdown");
	setenv("PINMM_PIN_OWNER", "0", 1);
	check_eq(boot_with(NULL), 0, "boot with PINMM_PIN_OWNER=0");
	check_true(!pinmm_pin_owner_enabled(), "PINMM_PIN_OWNER=0 leaves the default, off");
	check_eq(shutdown_clean(NULL), 0, "shutdown");
	cfg.pin_owner = true;
	check_eq(boot_with(&cfg), 0, "boot configured on with PINMM_PIN_OWNER=0");
	check_true(pinmm_pin_owner_enabled(), "the configuration decides under 0");
	check_eq(shutdown_clean(NULL), 0, "shutdown");
	setenv("PINMM_PIN_OWNER", "yes", 1);
	test_log_start();
	check_eq(pinmm_boot(NULL), -EINVAL, "boot with PINMM_PIN_OWNER=yes");
	check_true(!pinmm_booted(), "nothing booted");
	free(log_expect(test_log_take(), "PINMM_PIN_OWNER=yes", "the refused value"));
	test_log_stop();
	unsetenv("PINMM_PIN_OWNER");
}

/* ---- threads pinning at once ---- */

#define NR_THREADS 4
#define ROUNDS 300

struct pin_thread {
	struct mm_struct *mm;
	unsigned long addr; /* this thread's 8 pages; page 0 is shared by every thread */
	unsigned long shared;
	long pinned;
};

static void *pin_thread_main(void *arg)
{
	struct pin_thread *t = arg;
	struct page *pages[8], *shared;

	kthread_use_mm(t->mm);
	for (int r = 0; r < ROUNDS; r++) {
		long n = pin_user_pages_fast(t->addr, 8, FOLL_WRITE, pages);
		long s = pin_user_pages_fast(t->shared, 1, 0, &shared);

		if (n > 0) {
			t->pinned += n;
			unpin_user_pages(pages, (unsigned long)n);
		}
		if (s > 0) {
			t->pinned += s;
			unpin_user_page(shared);
		}
	}
	kthread_unuse_mm(t->mm);
	return NULL;
}

static void test_threads_pin_at_once(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(8 * NR_THREADS + 1));
	struct pinmm_pin_site sites[64];
	struct pin_thread t[NR_THREADS];
	pthread_t tid[NR_THREADS];
	unsigned long released = 0;
	long pinned = 0;
	size_t nr_sites;

	for (int i = 0; i < NR_THREADS; i++) {
		t[i] = (struct pin_thread){mm, addr + PG(1 + 8 * i), addr, 0};
		assert_int_equal(pthread_create(&tid[i], NULL, pin_thread_main, &t[i]), 0);
	}
	for (int i = 0; i < NR_THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		pinned += t[i].pinned;
	}
	check_eq(pinned, (long)NR_THREADS * ROUNDS * 9, "pins taken by %d threads", NR_THREADS);
	check_eq(snapshot(0, "threads done"), 0, "records left after every thread unpinned");
	check_eq(pinmm_pin_sites(sites, 64, &nr_sites), 0, "sites");
	for (size_t i = 0; i < nr_sites && i < 64; i++) {
		check_eq(sites[i].outstanding, 0, "site %zu outstanding", i);
		released += sites[i].released;
	}
	check_eq(released, (unsigned long)pinned, "pins released across the sites");
	unmap(addr, PG(8 * NR_THREADS + 1), "threads' pages");
}

/* ---- leak reports ---- */

static void test_leak_report_at_mmput_names_the_culprit(void **state)
{
	struct mm_struct *mm = *state, *other = mm_alloc();
	struct page *page;
	unsigned long addr;
	int line;
	char *log;

	assert_non_null(other);
	kthread_unuse_mm(mm);
	kthread_use_mm(other);
	addr = map_touched(PG(1));
	line = __LINE__; check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, &page), 1, "pin");
	kthread_unuse_mm(other);
	kthread_use_mm(mm);
	log_clear();
	mmput(other); /* the last user: the mm goes with the page still pinned */
	log = test_log_take();
	log_expect(log, "torn down with pages still pinned", "mmput leak report");
	log_expect(log, "by test_leak_report_at_mmput_names_the_culprit (", "mmput leak report");
	log_expect(log, file_line(line), "mmput leak report");
	log_expect(log, "1 pin(s) outstanding at its last mmput()", "mmput leak report");
	free(log);
	check_eq(snapshot(0, "after the mm went"), 1, "the pin outlives its mm");
	check_ptr(owners[0].mm, NULL, "a torn-down mm is forgotten");
	unpin_user_page(page);
}

static void test_leak_report_at_shutdown_names_the_culprit(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(2));
	struct page *pages[2];
	int line;
	char *log;

	line = __LINE__; check_eq(pin_user_pages_fast(addr, 2, FOLL_WRITE, pages), 2, "pin");
	log_clear();
	kthread_unuse_mm(mm);
	mmput(mm);
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown with a leaked pin");
	log = test_log_take();
	log_expect(log, "pin owner: shutdown with pages still pinned", "shutdown leak report");
	log_expect(log, "by test_leak_report_at_shutdown_names_the_culprit (", "shutdown report");
	log_expect(log, file_line(line), "shutdown leak report");
	log_expect(log, "shutdown: 2 pin(s) leaked", "shutdown leak report");
	free(log);
	test_log_stop();
}

/* ---- misuse reports ---- */

static void test_double_unpin_names_both_call_sites(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(1));
	unsigned long warns;
	struct page *page;
	int pin_line, first_line, second_line;
	char *log;

	(void)mm;
	pin_line = __LINE__; check_eq(pin_user_pages_fast(addr, 1, 0, &page), 1, "pin");
	first_line = __LINE__; unpin_user_page(page);
	log_clear();
	warns = pinmm_warn_count();
	second_line = __LINE__; unpin_user_page(page);
	check_eq(pinmm_warn_count(), warns + 1, "the double unpin WARNs once");
	log = test_log_take();
	log_expect(log, "pin owner: the bad unpin of pfn", "double unpin");
	log_expect(log, file_line(second_line), "double unpin: the bad unpin's line");
	log_expect(log, "was last pinned", "double unpin");
	log_expect(log, file_line(pin_line), "double unpin: the pin's line");
	log_expect(log, "and that pin was released", "double unpin");
	log_expect(log, file_line(first_line), "double unpin: the first unpin's line");
	free(log);
	unmap(addr, PG(1), "page");
}

static void test_unpin_of_a_page_never_pinned(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map_touched(PG(1));
	unsigned long warns = pinmm_warn_count();
	int line;
	char *log;

	log_clear();
	line = __LINE__; unpin_user_page(page_at(mm, addr));
	check_eq(pinmm_warn_count(), warns + 1, "the unpin WARNs");
	log = test_log_take();
	log_expect(log, file_line(line), "never pinned: the bad unpin's line");
	log_expect(log, "or of the pages around it was ever recorded", "never pinned");
	free(log);
	unmap(addr, PG(1), "page");
}

/* The pointer arithmetic of a caller that thinks an order-0 pin is compound: pages[0] + 1 is
 * the next page, never pinned. The report names the pin of the page next to it. */
static void check_wrong_page_unpin(struct mm_struct *mm)
{
	unsigned long addr = map_touched(PG(2));
	unsigned long warns;
	struct page *page;
	int pin_line, bad_line;
	char *log;

	mmap_read_lock(mm);
	pin_line = __LINE__; check_eq(pin_user_pages(addr, 1, FOLL_WRITE, &page), 1, "pin");
	mmap_read_unlock(mm);
	log_clear();
	warns = pinmm_warn_count();
	bad_line = __LINE__; unpin_user_page(page + 1);
	check_eq(pinmm_warn_count(), warns + 1, "the unpin of the wrong page WARNs");
	log = test_log_take();
	log_expect(log, file_line(bad_line), "wrong page: the bad unpin's line");
	log_expect(log, "its neighbour pfn", "wrong page");
	log_expect(log, file_line(pin_line), "wrong page: the pin's line");
	free(log);
	unpin_user_page(page);
	unmap(addr, PG(2), "pages");
}

static void test_unpin_of_the_wrong_page(void **state)
{
	check_wrong_page_unpin(*state);
}

/* With the debug checks off the counts are corrupted as Linux's would be, but the pin
 * owners still WARN. In a forked child: the corrupted machine is never shut down. */
static int double_unpin_child(void *arg)
{
	unsigned long addr = map_touched(PG(1)), warns;
	struct page *page;
	int pin_line, bad_line;
	char *log;

	(void)arg;
	pin_line = __LINE__; check_eq(pin_user_pages_fast(addr, 1, 0, &page), 1, "pin");
	unpin_user_page(page);
	log_clear();
	warns = pinmm_warn_count();
	bad_line = __LINE__; unpin_user_page(page);
	check_eq(pinmm_warn_count(), warns + 1, "the double unpin WARNs without the checks");
	log = test_log_take();
	log_expect(log, "unpin finds no outstanding pin recorded", "no debug checks");
	log_expect(log, file_line(bad_line), "no debug checks: the bad unpin's line");
	log_expect(log, "was last pinned", "no debug checks");
	log_expect(log, file_line(pin_line), "no debug checks: the pin's line");
	free(log);
	return 0;
}

static void test_misuse_reported_without_debug_checks(void **state)
{
	(void)state;
	run_forked("double unpin, debug checks off", double_unpin_child, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pin_user_pages_records, setup_owner,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_pin_user_pages_fast_thp, setup_owner,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_unpin_closes_the_record_of_its_subpage,
						setup_owner, teardown_mm),
		cmocka_unit_test_setup_teardown(test_pin_user_pages_remote_records_the_remote_mm,
						setup_owner, teardown_mm),
		cmocka_unit_test_setup_teardown(test_io_uring_registration_records, setup_owner,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_hugetlb_pins_record_under_the_head,
						setup_owner_hugetlb, teardown_mm),
		cmocka_unit_test_setup_teardown(test_older_than_and_histogram, setup_owner,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_check_invariants_count_the_open_records,
						setup_owner, teardown_mm),
		cmocka_unit_test_teardown(test_off_is_an_error, teardown_any),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup_owner, teardown_mm),
		cmocka_unit_test_teardown(test_environment_variable, teardown_any),
		cmocka_unit_test_setup_teardown(test_threads_pin_at_once, setup_owner, teardown_mm),
		cmocka_unit_test_setup_teardown(test_leak_report_at_mmput_names_the_culprit,
						setup_owner, teardown_mm),
		cmocka_unit_test_setup_teardown(test_leak_report_at_shutdown_names_the_culprit,
						setup_owner, teardown_any),
		cmocka_unit_test_setup_teardown(test_double_unpin_names_both_call_sites,
						setup_owner, teardown_mm),
		cmocka_unit_test_setup_teardown(test_unpin_of_a_page_never_pinned, setup_owner,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_unpin_of_the_wrong_page, setup_owner,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_misuse_reported_without_debug_checks,
						setup_owner_nochecks, teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
