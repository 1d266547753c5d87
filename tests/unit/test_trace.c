/* SPDX-License-Identifier: MIT */
/*
 * Trace events (<pinmm/trace.h>): each instrumented site records its event with its arguments
 * in ftrace's line format (a fault, a pin and its unpin, a COW after fork, a long-term pin's
 * migration out of ZONE_MOVABLE, a file page's writeback); off, nothing is recorded and every
 * query says tracing is off; a full ring overwrites its oldest events and counts them lost;
 * threads recording while a reader reads lose nothing unaccounted for (and TSan sees no race).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "test_mm_util.h"

/* Everything the rings hold now, as text (pinmm_trace_read()); *nr gets the line count. */
static char *trace_text(long *nr)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	*nr = pinmm_trace_read(out);
	fclose(out);
	assert_true(*nr >= 0);
	return buf;
}

/* The first line of text with event name and every one of the want substrings, or NULL. */
static const char *find_event(const char *text, const char *name, const char *want)
{
	char key[96];

	snprintf(key, sizeof(key), ": %s: ", name);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n'), *k = strstr(l, key), *w = strstr(l, want);

		if (k && w && (!end || (k < end && w < end)))
			return l;
	}
	return NULL;
}

#define expect_event(text, name, ...)                                                              \
	do {                                                                                       \
		char want_[160];                                                                   \
		snprintf(want_, sizeof(want_), __VA_ARGS__);                                      \
		if (!find_event(text, name, want_))                                                \
			fail_msg("no %s event with \"%s\" in the trace:\n%s", name, want_, text);  \
	} while (0)

static void start_tracing(void)
{
	pinmm_trace_set(true);
	pinmm_trace_reset();
}

static void test_off_records_nothing_and_says_so(void **state)
{
	unsigned long a = map(0, PG(1), RW, ANON, "a page");
	struct page *page;
	FILE *out = fopen("/dev/null", "w");
	char *text;
	long nr;

	(void)state;
	start_tracing();
	pinmm_trace_set(false);
	check_eq(pinmm_trace_enabled(), false, "tracing switched off");
	check_eq(pinmm_trace_read(out), -ENODEV, "read with tracing off");
	check_eq(pinmm_trace_lost(), -ENODEV, "lost count with tracing off");
	put_word(a, 1, "a page");
	check_eq(pin_user_pages_fast(a, 1, FOLL_WRITE, &page), 1, "pin with tracing off");
	unpin_user_page(page);
	pinmm_trace_set(true);
	text = trace_text(&nr);
	check_eq(nr, 0L, "events recorded while tracing was off:\n%s", text);
	check_eq(pinmm_trace_lost(), 0L, "lost");
	check_eq(pinmm_trace_read(NULL), -EINVAL, "read into NULL");
	free(text);
	fclose(out);
	pinmm_trace_set(false);
	unmap(a, PG(1), "a page");
}

/* Fault, pin, unpin, and the line format. */
static void test_fault_pin_unpin_events(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(0, PG(1), RW, ANON, "a page");
	struct page *page;
	regex_t re;
	char *text;
	long nr;

	start_tracing();
	put_word(a, 7, "a page");
	check_eq(pin_user_pages_fast(a, 1, FOLL_WRITE, &page), 1, "pin");
	unpin_user_page(page);
	text = trace_text(&nr);
	expect_event(text, "mm_handle_fault", "address=0x%lx flags=0x", a);
	expect_event(text, "gup_pin", "start=0x%lx nr_pages=1 gup_flags=0x", a);
	expect_event(text, "gup_pin", "ret=1");
	expect_event(text, "gup_unpin", "pfn=0x%lx nr=1", page_to_pfn(page_at(mm, a)));
	/* ftrace's line: "<thread>-<tid> [cpu] seconds.micros: event: key=value ...". */
	assert_int_equal(regcomp(&re,
				 "^ *[^ ]+-[0-9]+ +\\[[0-9]{3}\\] +[0-9]+\\.[0-9]{6}: [a-z_]+:( [a-z_]+=(0x[0-9a-f]+|-?[0-9]+))+$",
				 REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	for (char *l = text, *end; *l; l = end + 1) {
		end = strchr(l, '\n');
		assert_non_null(end);
		*end = '\0';
		if (regexec(&re, l, 0, NULL, 0))
			fail_msg("a trace line not in ftrace's format: \"%s\"", l);
	}
	regfree(&re);
	free(text);
	pinmm_trace_set(false);
	unmap(a, PG(1), "a page");
}

/* A write after fork copies the shared page: mm_cow_page with both frames. */
static void test_cow_event(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long a = map(0, PG(1), RW, ANON, "a page");
	unsigned long old_pfn, new_pfn;
	char *text;
	long nr;

	put_word(a, 1, "a page");
	old_pfn = page_to_pfn(page_at(mm, a));
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	start_tracing();
	put_word(a, 2, "the parent's write after fork");
	new_pfn = page_to_pfn(page_at(mm, a));
	check_true(new_pfn != old_pfn, "the parent's write copied the page");
	text = trace_text(&nr);
	expect_event(text, "mm_cow_page", "address=0x%lx old_pfn=0x%lx new_pfn=0x%lx nr=1", a,
		     old_pfn, new_pfn);
	free(text);
	pinmm_trace_set(false);
	mmput(child);
	unmap(a, PG(1), "a page");
}

/* Under modern rules a long-term pin migrates a ZONE_MOVABLE page out first. */
static void test_migration_event(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(0, PG(1), RW, ANON, "a page");
	unsigned long old_pfn;
	struct page *page;
	char *text;
	long nr;

	put_word(a, 1, "a page");
	old_pfn = page_to_pfn(page_at(mm, a));
	check_eq(page_zonenum(page_at(mm, a)), ZONE_MOVABLE, "the page faulted into ZONE_MOVABLE");
	start_tracing();
	check_eq(pin_user_pages(a, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1, "long-term pin");
	text = trace_text(&nr);
	expect_event(text, "mm_migrate_page", "old_pfn=0x%lx new_pfn=0x%lx order=0 ret=0",
		     old_pfn, page_to_pfn(page));
	free(text);
	unpin_user_page(page);
	pinmm_trace_set(false);
	unmap(a, PG(1), "a page");
}

/* A shared mapping of a host file: the write dirties the page, fsync writes it back. */
static void test_writeback_events(void **state)
{
	struct file *f = filp_open("/tmp", O_TMPFILE | O_RDWR, 0600);
	unsigned long a;
	char *text;
	long nr;

	(void)state;
	if (IS_ERR(f))
		skip(); /* the host's /tmp cannot hold an O_TMPFILE file */
	check_eq(vfs_truncate(f, PG(2)), 0, "size the file");
	a = vm_mmap(f, 0, PG(2), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(a));
	start_tracing();
	put_word(a + PG(1), 5, "page 1 of the file");
	check_eq(vfs_fsync(f, 0), 0, "fsync");
	text = trace_text(&nr);
	expect_event(text, "writeback_dirty_page", "index=1");
	expect_event(text, "writeback_write_page", "index=1");
	expect_event(text, "writeback_end_page", "index=1 err=0");
	free(text);
	pinmm_trace_set(false);
	unmap(a, PG(2), "the file mapping");
	fput(f);
}

/* More events than a ring holds: the oldest are overwritten and counted; the reader gets the
 * ring's worth, newest last. */
static void test_ring_overwrites_and_counts_lost(void **state)
{
	unsigned long a = map(0, PG(1), RW, ANON | MAP_POPULATE, "a page");
	const long pairs = PINMM_TRACE_RING_EVENTS / 2 + 100;
	struct page *page;
	char *text, *last;
	long nr;

	(void)state;
	start_tracing();
	for (long i = 0; i < pairs; i++) {
		check_eq(pin_user_pages_fast(a, 1, FOLL_WRITE, &page), 1, "pin %ld", i);
		unpin_user_page(page);
	}
	check_eq(pinmm_trace_lost(), 200L, "events lost after %ld pin/unpin pairs", pairs);
	text = trace_text(&nr);
	check_eq(nr, (long)PINMM_TRACE_RING_EVENTS, "events read back");
	last = strrchr(text, '\n');
	*last = '\0';
	check_true(strstr(strrchr(text, '\n') ? strrchr(text, '\n') : text, ": gup_unpin: "),
		   "the newest event is the last unpin");
	free(text);
	check_eq(pinmm_trace_lost(), 200L, "lost after the read");
	text = trace_text(&nr);
	check_eq(nr, 0L, "a second read (consumed)");
	free(text);
	pinmm_trace_reset();
	check_eq(pinmm_trace_lost(), 0L, "lost after reset");
	pinmm_trace_set(false);
	unmap(a, PG(1), "a page");
}

#define THREADS 4
#define PAIRS 3000

struct worker {
	struct mm_struct *mm;
	unsigned long addr;
};

static void *pin_unpin_loop(void *p)
{
	struct worker *w = p;
	struct page *page;

	kthread_use_mm(w->mm);
	for (int i = 0; i < PAIRS; i++) {
		if (pin_user_pages_fast(w->addr, 1, FOLL_WRITE, &page) == 1)
			unpin_user_page(page);
	}
	kthread_unuse_mm(w->mm);
	return NULL;
}

/* Threads record while the test thread reads: every event is read once or counted lost. */
static void test_threads_record_while_read(void **state)
{
	unsigned long a = map(0, PG(THREADS), RW, ANON | MAP_POPULATE, "pages");
	struct worker w[THREADS];
	pthread_t t[THREADS];
	FILE *out = fopen("/dev/null", "w");
	long read = 0, n;

	start_tracing();
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){*state, a + PG(i)};
		assert_int_equal(pthread_create(&t[i], NULL, pin_unpin_loop, &w[i]), 0);
	}
	for (int i = 0; i < 50; i++) {
		n = pinmm_trace_read(out);
		assert_true(n >= 0);
		read += n;
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	n = pinmm_trace_read(out);
	assert_true(n >= 0);
	read += n;
	check_eq(read + pinmm_trace_lost(), 2L * THREADS * PAIRS,
		 "events read (%ld) plus lost (%ld) against those recorded", read,
		 pinmm_trace_lost());
	pinmm_trace_set(false);
	fclose(out);
	unmap(a, PG(THREADS), "pages");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_off_records_nothing_and_says_so),
		test_with_mm(test_fault_pin_unpin_events),
		test_with_mm(test_cow_event),
		test_with_mm_modern(test_migration_event),
		test_with_mm(test_writeback_events),
		test_with_mm(test_ring_overwrites_and_counts_lost),
		test_with_mm(test_threads_record_while_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
