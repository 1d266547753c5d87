/* SPDX-License-Identifier: MIT */
/*
 * WARN_ON / WARN_ON_ONCE / WARN / BUG_ON and the log stream (include/pinmm/bug.h): what the
 * macros return, when they bump pinmm_warn_count(), the exact "WARNING: at file:line func():"
 * line, once-per-call-site reporting, whole lines from concurrent WARNs, the log-stream
 * setter, and BUG_ON aborting (checked in a forked child). No machine is booted here.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_mm_util.h"

static int log_only_setup(void **state)
{
	(void)state;
	test_log_start();
	return 0;
}

static int log_only_teardown(void **state)
{
	(void)state;
	test_log_stop();
	return 0;
}

/* The log, which must be exactly `expected`. */
static void expect_log_exactly(const char *expected)
{
	char *log = test_log_take();

	assert_string_equal(log, expected);
	free(log);
}

static void test_warn_on_false_is_silent(void **state)
{
	unsigned long before = pinmm_warn_count();
	int x = 1;
	bool ret;

	(void)state;
	ret = WARN_ON(x == 2);
	check_eq(ret, false, "WARN_ON(false) must evaluate to false");
	check_eq(pinmm_warn_count(), before, "WARN_ON(false) must not count a WARN");
	expect_log_exactly("");
}

static void test_warn_on_true_reports_one_line(void **state)
{
	unsigned long before = pinmm_warn_count();
	char expected[512];
	int x = 3, line;
	bool ret;

	(void)state;
	ret = WARN_ON(x == 3); line = __LINE__;
	check_eq(ret, true, "WARN_ON(true) must evaluate to true");
	check_eq(pinmm_warn_count(), before + 1, "WARN_ON(true) must count exactly one WARN");
	snprintf(expected, sizeof(expected), "WARNING: at %s:%d %s(): x == 3\n", __FILE__, line,
		 __func__);
	expect_log_exactly(expected);
}

/* WARN_ON(cond) is cond as a bool (any nonzero value is true), and cond is evaluated once. */
static void test_warn_on_value_and_single_evaluation(void **state)
{
	unsigned long before = pinmm_warn_count();
	int i = 0;

	(void)state;
	check_eq(WARN_ON(42), true, "WARN_ON(42) must evaluate to true");
	check_eq(WARN_ON(i++ == 0), true, "WARN_ON(i++ == 0) with i == 0 must be true");
	check_eq(i, 1, "the condition of WARN_ON must be evaluated exactly once");
	check_eq(WARN_ON(i++ == 0), false, "WARN_ON(i++ == 0) with i == 1 must be false");
	check_eq(i, 2, "the condition of WARN_ON must be evaluated exactly once");
	check_eq(pinmm_warn_count(), before + 2, "two true WARN_ONs, two WARNs");
	free(test_log_take());
}

static bool warn_once_site_a(int v)
{
	return WARN_ON_ONCE(v > 0);
}

static bool warn_once_site_b(int v)
{
	return WARN_ON_ONCE(v > 0);
}

static void test_warn_on_once_reports_once_per_site(void **state)
{
	unsigned long before = pinmm_warn_count();
	char *log;

	(void)state;
	/* A false condition does not use up the site's one report. */
	check_eq(warn_once_site_a(0), false, "WARN_ON_ONCE(false) must evaluate to false");
	check_eq(pinmm_warn_count(), before, "WARN_ON_ONCE(false) must not count a WARN");
	for (int i = 0; i < 3; i++)
		check_eq(warn_once_site_a(1), true,
			 "WARN_ON_ONCE(true) must evaluate to true on every call (call %d)", i);
	check_eq(pinmm_warn_count(), before + 1, "three true calls of one site: one WARN");
	log = test_log_take();
	if (!strstr(log, "warn_once_site_a(): v > 0\n") || strstr(log, "warn_once_site_b"))
		fail_msg("site a should have reported once; log:\n%s", log);
	if (strstr(strstr(log, "warn_once_site_a") + 1, "warn_once_site_a"))
		fail_msg("site a reported more than once; log:\n%s", log);
	free(log);

	/* Another call site has its own once. */
	check_eq(warn_once_site_b(5), true, "WARN_ON_ONCE(true) at a second site");
	check_eq(warn_once_site_b(5), true, "WARN_ON_ONCE(true) at a second site, again");
	check_eq(warn_once_site_a(1), true, "WARN_ON_ONCE(true) at the first site, again");
	check_eq(pinmm_warn_count(), before + 2, "the second site reports once, the first no more");
	log = test_log_take();
	if (!strstr(log, "warn_once_site_b(): v > 0\n") || strstr(log, "warn_once_site_a"))
		fail_msg("only site b should have reported; log:\n%s", log);
	free(log);
}

static void test_warn_with_format(void **state)
{
	unsigned long before = pinmm_warn_count();
	char expected[512];
	int line;
	bool ret;

	(void)state;
	ret = WARN(0, "not printed %d", 1);
	check_eq(ret, false, "WARN(0, ...) must evaluate to false");
	check_eq(pinmm_warn_count(), before, "WARN(0, ...) must not count a WARN");
	expect_log_exactly("");

	ret = WARN(7, "bad value %d in %s", 42, "slot"); line = __LINE__;
	check_eq(ret, true, "WARN(7, ...) must evaluate to true");
	check_eq(pinmm_warn_count(), before + 1, "WARN(true, fmt) must count one WARN");
	snprintf(expected, sizeof(expected), "WARNING: at %s:%d %s(): bad value 42 in slot\n",
		 __FILE__, line, __func__);
	expect_log_exactly(expected);
}

static void test_warn_once_with_format(void **state)
{
	unsigned long before = pinmm_warn_count();
	char expected[512];
	int line = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		bool ret = WARN_ONCE(i >= 0, "pass %d", i); if (i == 0) line = __LINE__;

		check_eq(ret, true, "WARN_ONCE(true, ...) must be true on every call (call %d)", i);
	}
	check_eq(pinmm_warn_count(), before + 1, "WARN_ONCE reports once");
	snprintf(expected, sizeof(expected), "WARNING: at %s:%d %s(): pass 0\n", __FILE__, line,
		 __func__);
	expect_log_exactly(expected);
}

/* The setter returns the previous stream, stderr when none was set; NULL goes back to stderr. */
static void test_set_log_stream_returns_previous(void **state)
{
	FILE *a = tmpfile(), *b = tmpfile();
	FILE *prev;
	char buf[256] = "";

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	pinmm_set_log_stream(NULL);
	assert_ptr_equal(pinmm_log_stream(), stderr);

	prev = pinmm_set_log_stream(a);
	if (prev != stderr)
		fail_msg("with no stream set, pinmm_set_log_stream() must return stderr, not %p",
			 (void *)prev);
	assert_ptr_equal(pinmm_log_stream(), a);
	prev = pinmm_set_log_stream(b);
	if (prev != a)
		fail_msg("pinmm_set_log_stream() must return the stream set before");
	assert_ptr_equal(pinmm_log_stream(), b);

	pinmm_log("hello %d\n", 5);
	WARN(1, "to b");
	prev = pinmm_set_log_stream(NULL);
	if (prev != b)
		fail_msg("pinmm_set_log_stream(NULL) must return the stream set before");
	if (pinmm_log_stream() != stderr)
		fail_msg("after pinmm_set_log_stream(NULL) reports must go to stderr");
	prev = pinmm_set_log_stream(NULL);
	if (prev != stderr)
		fail_msg("after a NULL, pinmm_set_log_stream() must report stderr as the previous");

	rewind(b);
	assert_non_null(fgets(buf, sizeof(buf), b));
	assert_string_equal(buf, "hello 5\n");
	assert_non_null(fgets(buf, sizeof(buf), b));
	if (!strstr(buf, "WARNING: at ") || !strstr(buf, "(): to b\n"))
		fail_msg("the WARN should have gone to the stream set; got \"%s\"", buf);
	rewind(a);
	if (fgetc(a) != EOF)
		fail_msg("nothing was written while stream a was set, yet it is not empty");
	fclose(a);
	fclose(b);
}

#define WARN_THREADS 4
#define WARNS_PER_THREAD 250

static void *warn_many(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < WARNS_PER_THREAD; i++)
		WARN(1, "thread %ld report %d %s", id, i,
		     "padding-padding-padding-padding-padding-padding-padding-padding");
	return NULL;
}

/* Concurrent WARNs: every one counted, every line written whole. */
static void test_concurrent_warns_are_whole_lines(void **state)
{
	unsigned long before = pinmm_warn_count();
	pthread_t threads[WARN_THREADS];
	int seen[WARN_THREADS][WARNS_PER_THREAD] = {{0}};
	char *log, *line, *save = NULL;
	int lines = 0;

	(void)state;
	for (long t = 0; t < WARN_THREADS; t++)
		assert_int_equal(pthread_create(&threads[t], NULL, warn_many, (void *)t), 0);
	for (int t = 0; t < WARN_THREADS; t++)
		assert_int_equal(pthread_join(threads[t], NULL), 0);
	check_eq(pinmm_warn_count(), before + WARN_THREADS * WARNS_PER_THREAD,
		 "%d threads x %d WARNs must all be counted", WARN_THREADS, WARNS_PER_THREAD);

	log = test_log_take();
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long id;
		int i, n = -1;

		if (sscanf(line, "WARNING: at %*[^:]:%*d warn_many(): thread %ld report %d "
				 "padding-padding-padding-padding-padding-padding-padding-padding%n",
			   &id, &i, &n) != 2 || n != (int)strlen(line) || id < 0 ||
		    id >= WARN_THREADS || i < 0 || i >= WARNS_PER_THREAD)
			fail_msg("line %d of the log is not one whole WARN line: \"%s\"", lines, line);
		seen[id][i]++;
		lines++;
	}
	check_eq(lines, WARN_THREADS * WARNS_PER_THREAD, "one log line per concurrent WARN");
	for (int t = 0; t < WARN_THREADS; t++)
		for (int i = 0; i < WARNS_PER_THREAD; i++)
			check_eq(seen[t][i], 1, "thread %d report %d must appear exactly once", t, i);
	free(log);
}

/* What the forked child runs: keep the BUG_ON on the line just above child_bug_line. */
static void child_bug_on(bool cond)
{
	BUG_ON(cond);
}
static const int child_bug_line = __LINE__ - 2;

/* Fork; the child runs BUG_ON(cond) with the log going to the test's log file. Returns the
 * child's wait status. */
static int bug_on_in_child(bool cond)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};

		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGABRT, SIG_DFL);
		pinmm_set_log_stream(test_log);
		child_bug_on(cond);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_bug_on_aborts(void **state)
{
	char expected[512];
	char *log;
	int status;

	(void)state;
	status = bug_on_in_child(true);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("BUG_ON(true) must abort (SIGABRT); the child %s %d",
			 WIFSIGNALED(status) ? "died of signal" : "exited with status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	log = test_log_take();
	snprintf(expected, sizeof(expected), "kernel BUG at %s:%d child_bug_on()!\n", __FILE__,
		 child_bug_line);
	if (strncmp(log, expected, strlen(expected)) || !strstr(log, "condition: cond\n"))
		fail_msg("BUG_ON should have logged \"%s\" and its condition; log:\n%s", expected,
			 log);
	free(log);
}

static void test_bug_on_false_does_nothing(void **state)
{
	int status;

	(void)state;
	status = bug_on_in_child(false);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("BUG_ON(false) must not stop the child (wait status %#x)", status);
	expect_log_exactly("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_warn_on_false_is_silent, log_only_setup,
						log_only_teardown),
		cmocka_unit_test_setup_teardown(test_warn_on_true_reports_one_line, log_only_setup,
						log_only_teardown),
		cmocka_unit_test_setup_teardown(test_warn_on_value_and_single_evaluation,
						log_only_setup, log_only_teardown),
		cmocka_unit_test_setup_teardown(test_warn_on_once_reports_once_per_site,
						log_only_setup, log_only_teardown),
		cmocka_unit_test_setup_teardown(test_warn_with_format, log_only_setup,
						log_only_teardown),
		cmocka_unit_test_setup_teardown(test_warn_once_with_format, log_only_setup,
						log_only_teardown),
		cmocka_unit_test(test_set_log_stream_returns_previous),
		cmocka_unit_test_setup_teardown(test_concurrent_warns_are_whole_lines,
						log_only_setup, log_only_teardown),
		cmocka_unit_test_setup_teardown(test_bug_on_aborts, log_only_setup,
						log_only_teardown),
		cmocka_unit_test_setup_teardown(test_bug_on_false_does_nothing, log_only_setup,
						log_only_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
