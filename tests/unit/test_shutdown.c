/* SPDX-License-Identifier: MIT */
/*
 * What pinmm_shutdown() finds beyond leaked pages: pins whose counters do not balance over the
 * machine's life, free pages with a refcount, and address spaces still alive when the machine
 * goes (their page tables would be free frames of the next machine).
 */
#include <errno.h>
#include <string.h>

#include "test_mm_util.h"

/* pinmm_shutdown() must fail with -EBUSY and say `needle` on the log. */
static void expect_shutdown_reports(const char *needle, const char *scenario)
{
	int ret = pinmm_shutdown();
	char *log = test_log_take();

	if (ret != -EBUSY || !strstr(log, needle))
		test_fail("%s: pinmm_shutdown() = %d, expected -EBUSY and \"%s\" on the log; "
			  "log:\n%s",
			  scenario, ret, needle, log);
	free(log);
	test_log_stop();
}

/* A pin dropped with put_page(): every page comes back, only the counters can tell. */
static void test_shutdown_reports_unbalanced_pin_counters(void **state)
{
	struct mm_struct *mm;
	unsigned long addr;
	struct page *page;

	(void)state;
	assert_int_equal(boot_with(NULL), 0);
	mm = mm_alloc();
	kthread_use_mm(mm);
	addr = map(0, PG(1), RW, ANON, "pin dropped by put_page");
	put_word(addr, 1, "pin dropped by put_page");
	check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE, &page), 1, "pin one page");
	for (unsigned int i = 0; i < GUP_PIN_COUNTING_BIAS; i++)
		put_page(page);
	check_eq(page_ref_count(page), 1, "the puts took the pin's bias away");
	unmap(addr, PG(1), "pin dropped by put_page");
	kthread_unuse_mm(mm);
	mmput(mm);
	expect_shutdown_reports("nr_foll_pin_acquired 1 != nr_foll_pin_released 0",
				"a pin released by put_page()s, every page freed");
}

/* A reference dropped after the free leaves -1 in a free page. */
static void test_shutdown_reports_a_free_page_with_a_refcount(void **state)
{
	struct page *page;

	(void)state;
	assert_int_equal(boot_with(NULL), 0);
	page = alloc_page(GFP_KERNEL);
	assert_non_null(page);
	__free_page(page);
	page_ref_dec(page);
	expect_shutdown_reports("1 free page(s) with a non-zero refcount",
				"a reference dropped from a free page");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_shutdown_reports_unbalanced_pin_counters,
					  teardown_any),
		cmocka_unit_test_teardown(test_shutdown_reports_a_free_page_with_a_refcount,
					  teardown_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
