/* SPDX-License-Identifier: MIT */
/*
 * Shared fixtures for every tier of tests (cmocka): tests/lib holds what the tiers share
 * (this file, test_mm_util.h, gup_conformance.h, test_stress.h), the Makefile puts it on the
 * tests' include path. Tests that poke the library's internals include its internal headers
 * from src/ ("vm/pgtable.h", "gup/internal.h") and say why.
 *
 * Every test that needs a machine boots one in its setup and shuts it down in its teardown;
 * the teardown fails the test if shutdown finds anything leaked. The log stream (WARN,
 * dump_page) goes to a temporary file so that tests can read what was reported.
 */
#ifndef PINMM_TEST_UTIL_H
#define PINMM_TEST_UTIL_H

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <pinmm/pinmm.h>

static FILE *test_log;

/* Redirect the log stream to a fresh temporary file. */
static inline void test_log_start(void)
{
	test_log = tmpfile();
	assert_non_null(test_log);
	pinmm_set_log_stream(test_log);
}

/* Everything written to the stream f (up to its position), as a malloc'd string. */
static inline char *slurp(FILE *f)
{
	long len;
	char *buf;

	fflush(f);
	len = ftell(f);
	assert_true(len >= 0);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	return buf;
}

/* Everything logged since test_log_start() or the last test_log_take(), as a malloc'd string
 * (the caller frees it); the log is emptied. */
static inline char *test_log_take(void)
{
	char *buf = slurp(test_log);

	rewind(test_log);
	assert_int_equal(ftruncate(fileno(test_log), 0), 0);
	return buf;
}

/* Empty the log. */
static inline void log_clear(void)
{
	free(test_log_take());
}

/* Assert that the log contains needle, and empty it. */
static inline void test_log_expect(const char *needle)
{
	char *log = test_log_take();

	if (!strstr(log, needle))
		fail_msg("log should contain \"%s\"; it was:\n%s", needle, log);
	free(log);
}

static inline void test_log_stop(void)
{
	pinmm_set_log_stream(NULL);
	fclose(test_log);
	test_log = NULL;
}

static inline int boot_with(const struct pinmm_config *cfg)
{
	test_log_start();
	if (pinmm_boot(cfg) != 0) {
		test_log_stop();
		return -1;
	}
	return 0;
}

/* The default configuration with other sizes (bytes) of RAM, ZONE_MOVABLE and CMA. */
static inline struct pinmm_config cfg_of(unsigned long long ram, unsigned long long movable,
					 unsigned long long cma)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = ram;
	cfg.movable_bytes = movable;
	cfg.cma_bytes = cma;
	return cfg;
}

/* Setup: the default machine. */
static inline int boot_default(void **state)
{
	(void)state;
	return boot_with(NULL);
}

/* Setup: 1 GiB with a hugetlb pool of two 2 MiB pages and no 1 GiB ones. */
static inline int boot_small_hugetlb(void **state)
{
	struct pinmm_config cfg;

	(void)state;
	pinmm_config_default(&cfg);
	cfg.nr_hugepages_2m = 2;
	return boot_with(&cfg);
}

/* Teardown: shut down; any leak fails the test. */
static inline int shutdown_clean(void **state)
{
	int ret = pinmm_shutdown();

	(void)state;
	if (ret != 0) {
		char *log = test_log_take();

		fprintf(stderr, "pinmm_shutdown() = %d; log:\n%s\n", ret, log);
		free(log);
	}
	test_log_stop();
	return ret == 0 ? 0 : -1;
}

/* Teardown: whatever a failed test left behind (a booted machine, an open log) goes, so the
 * next test starts from a machine that is not booted. */
static inline int teardown_any(void **state)
{
	(void)state;
	if (pinmm_booted())
		pinmm_shutdown();
	if (test_log)
		test_log_stop();
	return 0;
}

#define test_with_machine(f) cmocka_unit_test_setup_teardown(f, boot_default, shutdown_clean)

/* The word that holds head's exact pin count on the running machine, found from the layout
 * <pinmm/mm.h> documents rather than from the library's own helper: page[2]'s
 * hpage_pinned_refcount under 5.7 rules, page[1]'s _pincount under modern rules. */
static inline atomic_int *pincount_slot(struct page *head)
{
	return pinmm_rules() == PINMM_RULES_MODERN ? &head[1]._pincount
						   : &head[2].hpage_pinned_refcount;
}

/* The byte at off of the host file at path as storage holds it (read past pinmm), or -1. */
static inline int host_file_byte(const char *path, off_t off)
{
	unsigned char b;
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? pread(fd, &b, 1, off) : -1;

	if (fd >= 0)
		close(fd);
	return n == 1 ? b : -1;
}

/* Boot setups that fix the rule set, for tests that need no mm (test_mm_util.h has the mm
 * ones). */
static inline int boot_rules(enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = rules;
	return boot_with(&cfg);
}

static inline int boot_57(void **state)
{
	(void)state;
	return boot_rules(PINMM_RULES_5_7);
}

static inline int boot_modern(void **state)
{
	(void)state;
	return boot_rules(PINMM_RULES_MODERN);
}

#endif /* PINMM_TEST_UTIL_H */
