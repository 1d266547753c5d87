/* SPDX-License-Identifier: MIT */
/*
 * What pinmm_shutdown() finds beyond leaked pages: pins whose counters do not balance over the
 * machine's life, free pages with a refcount, and address spaces still alive when the machine
 * goes (their page tables would be free frames of the next machine). And stale handles: an mm
 * of an earlier machine, an mm after its last mmput(), a file after its last fput() are
 * refused with a WARN, without touching memory (ASan checks that nothing freed is read).
 */
#include <errno.h>
#include <pthread.h>
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

/* Every call that takes mm refuses it with a WARN and touches no memory of this machine. */
static void expect_mm_refused(struct mm_struct *mm, const char *scenario)
{
	long free0 = nr_free();
	unsigned long w0 = pinmm_warn_count(), word = 0;
	struct page *page = NULL;
	struct mm_struct *child;

	check_eq(do_madvise(mm, 0x10000, PG(1), MADV_DONTNEED), -ESRCH, "%s: do_madvise",
		 scenario);
	check_eq(access_remote_vm(mm, 0x10000, &word, sizeof(word), FOLL_WRITE), 0,
		 "%s: access_remote_vm write", scenario);
	mmap_read_lock(current_mm());
	check_eq(get_user_pages_remote(mm, 0x10000, 1, 0, &page, NULL), -ESRCH,
		 "%s: get_user_pages_remote", scenario);
	check_eq(pin_user_pages_remote(mm, 0x10000, 1, 0, &page, NULL), -ESRCH,
		 "%s: pin_user_pages_remote", scenario);
	mmap_read_unlock(current_mm());
	child = pinmm_fork(mm);
	check_true(IS_ERR(child) && PTR_ERR(child) == -ESRCH, "%s: pinmm_fork gives -ESRCH",
		   scenario);
	mmget(mm);
	check_eq(pinmm_warn_count() - w0, 6, "%s: each of the 6 calls WARNs", scenario);
	check_eq(nr_free(), free0, "%s: no page allocated or freed", scenario);
	check_true(page == NULL, "%s: no page returned", scenario);
	log_clear();
}

/* Shut down while running in an mm with a mapping, boot again: the old mm is refused, a new
 * one works, and the thread was detached (kthread_use_mm() of the new mm is not refused). */
static void test_an_mm_outlives_its_machine(void **state)
{
	struct mm_struct *old, *mm;
	unsigned long addr;
	unsigned long w0;
	char *log;

	(void)state;
	assert_int_equal(boot_with(NULL), 0);
	old = mm_alloc();
	kthread_use_mm(old);
	addr = map(0, PG(4), RW, ANON, "old machine");
	put_word(addr, 0x1234, "old machine");
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown while running in a live mm");
	log = test_log_take();
	if (!strstr(log, "still ran in mm") || !strstr(log, "is still alive"))
		test_fail("shutdown with a live mm: expected the detach and the live mm on the log; "
			  "log:\n%s", log);
	free(log);
	check_true(current_mm() == NULL, "after shutdown the calling thread runs in no mm");

	assert_int_equal(pinmm_boot(NULL), 0);
	mm = mm_alloc();
	w0 = pinmm_warn_count();
	kthread_use_mm(mm);
	check_true(current_mm() == mm, "kthread_use_mm() of a new mm after the reboot");
	check_eq(pinmm_warn_count() - w0, 0, "kthread_use_mm() of the new mm: no WARN");
	addr = map(addr, PG(4), RW, ANON | MAP_FIXED, "new machine");
	put_word(addr, 0x5678, "new machine");
	check_eq(get_word(addr, "new machine"), 0x5678, "the new mm reads what it wrote");
	expect_mm_refused(old, "an mm of the machine shut down");
	w0 = pinmm_warn_count();
	mmput(old); /* its holder may release it: host memory only */
	check_eq(pinmm_warn_count() - w0, 0, "mmput() of an mm of an earlier machine: no WARN");
	unmap(addr, PG(4), "new machine");
	kthread_unuse_mm(mm);
	mmput(mm);
	assert_int_equal(shutdown_clean(NULL), 0);
}

struct bystander {
	struct mm_struct *mm;
	pthread_barrier_t *barrier;
	unsigned long mmap_ret;
	struct mm_struct *current_after;
	struct mm_struct *current_new;
};

/* Runs in mm, waits while the machine is shut down and booted again, then tries it. */
static void *bystander_fn(void *arg)
{
	struct bystander *b = arg;
	struct mm_struct *mm;

	kthread_use_mm(b->mm);
	pthread_barrier_wait(b->barrier); /* in the mm */
	pthread_barrier_wait(b->barrier); /* rebooted */
	b->current_after = current_mm();
	b->mmap_ret = vm_mmap(NULL, 0, PG(1), RW, ANON, 0);
	mm = mm_alloc();
	kthread_use_mm(mm); /* leaves the shell first */
	b->current_new = current_mm();
	kthread_unuse_mm(mm);
	mmput(mm);
	return NULL;
}

/* Another thread's mm cannot be detached by shutdown: it is reported, and refused later. */
static void test_shutdown_reports_other_threads_in_an_mm(void **state)
{
	pthread_barrier_t barrier;
	struct bystander b = {0};
	pthread_t t;
	char *log;

	(void)state;
	assert_int_equal(boot_with(NULL), 0);
	pthread_barrier_init(&barrier, NULL, 2);
	b.mm = mm_alloc();
	b.barrier = &barrier;
	assert_int_equal(pthread_create(&t, NULL, bystander_fn, &b), 0);
	pthread_barrier_wait(&barrier);
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown while another thread runs in an mm");
	log = test_log_take();
	if (!strstr(log, "is still the current mm of 1 other thread(s)"))
		test_fail("shutdown: expected the other thread reported; log:\n%s", log);
	free(log);
	assert_int_equal(pinmm_boot(NULL), 0);
	pthread_barrier_wait(&barrier);
	pthread_join(t, NULL);
	check_true(b.current_after == NULL, "the other thread's current_mm() is refused (NULL)");
	check_eq((long)b.mmap_ret, -ESRCH, "the other thread's vm_mmap() in the old mm");
	check_true(b.current_new != NULL && b.current_new != b.mm,
		   "the other thread can run in a new mm after leaving the old one");
	mmput(b.mm);
	pthread_barrier_destroy(&barrier);
	log_clear();
	assert_int_equal(shutdown_clean(NULL), 0);
}

/* An mm after its last mmput() is refused without reading it. */
static void test_an_mm_after_its_last_mmput(void **state)
{
	struct mm_struct *stale, *mm;
	unsigned long w0;

	(void)state;
	assert_int_equal(boot_with(NULL), 0);
	mm = mm_alloc();
	kthread_use_mm(mm);
	stale = mm_alloc();
	mmput(stale);
	expect_mm_refused(stale, "an mm after its last mmput()");
	w0 = pinmm_warn_count();
	mmput(stale);
	kthread_unuse_mm(mm);
	kthread_use_mm(stale);
	check_eq(pinmm_warn_count() - w0, 2, "a second last mmput() and kthread_use_mm() WARN");
	check_true(current_mm() == NULL, "kthread_use_mm() of a stale mm is refused");
	mmput(mm);
	log_clear();
	assert_int_equal(shutdown_clean(NULL), 0);
}

/* A file after its last fput() is refused without reading it. */
static void test_a_file_after_its_last_fput(void **state)
{
	struct mm_struct *mm;
	struct file *file;
	unsigned long w0;

	(void)state;
	assert_int_equal(boot_with(NULL), 0);
	mm = mm_alloc();
	kthread_use_mm(mm);
	file = shmem_file_setup("stale", (loff_t)PG(4), 0);
	assert_false(IS_ERR(file));
	fput(file);
	w0 = pinmm_warn_count();
	check_eq((long)vm_mmap(file, 0, PG(4), RW, MAP_SHARED, 0), -EBADF,
		 "vm_mmap of a file after its last fput()");
	check_eq(vfs_truncate(file, 0), -EBADF, "vfs_truncate of a file after its last fput()");
	check_eq(vfs_fsync(file, 0), -EBADF, "vfs_fsync of a file after its last fput()");
	check_true(get_file(file) == NULL, "get_file of a file after its last fput()");
	fput(file);
	check_eq(pinmm_warn_count() - w0, 5, "each of the 5 calls on the stale file WARNs");
	kthread_unuse_mm(mm);
	mmput(mm);
	log_clear();
	assert_int_equal(shutdown_clean(NULL), 0);
}

/* A file kept open across shutdown: its cache is dropped at shutdown (reported), and after the
 * reboot every call refuses it without touching the new machine's pages; fput() releases it. */
static void test_a_file_outlives_its_machine(void **state)
{
	struct mm_struct *mm;
	struct file *file;
	unsigned long addr, w0;
	long free0;
	char *log;

	(void)state;
	assert_int_equal(boot_with(NULL), 0);
	mm = mm_alloc();
	kthread_use_mm(mm);
	file = shmem_file_setup("kept", (loff_t)PG(4), 0);
	assert_false(IS_ERR(file));
	addr = vm_mmap(file, 0, PG(4), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	put_word(addr, 0x77, "file across shutdown");
	unmap(addr, PG(4), "file across shutdown");
	kthread_unuse_mm(mm);
	mmput(mm);
	check_eq(pinmm_shutdown(), -EBUSY, "shutdown with a file still open");
	log = test_log_take();
	if (!strstr(log, "is still open"))
		test_fail("shutdown with an open file: expected it on the log; log:\n%s", log);
	free(log);

	assert_int_equal(pinmm_boot(NULL), 0);
	mm = mm_alloc();
	kthread_use_mm(mm);
	free0 = nr_free();
	w0 = pinmm_warn_count();
	check_eq((long)vm_mmap(file, 0, PG(4), RW, MAP_SHARED, 0), -EBADF,
		 "vm_mmap of a file of the machine shut down");
	check_eq(vfs_truncate(file, 0), -EBADF, "vfs_truncate of a file of the machine shut down");
	check_eq(vfs_fsync(file, 0), -EBADF, "vfs_fsync of a file of the machine shut down");
	check_true(get_file(file) == NULL, "get_file of a file of the machine shut down");
	check_eq(pinmm_warn_count() - w0, 4, "each of the 4 calls WARNs");
	check_eq(nr_free(), free0, "no page of the new machine allocated or freed");
	fput(file);
	check_eq(pinmm_warn_count() - w0, 4, "fput() of a file of an earlier machine: no WARN");
	check_eq(nr_free(), free0, "fput() of it touches no page of the new machine");
	kthread_unuse_mm(mm);
	mmput(mm);
	log_clear();
	assert_int_equal(shutdown_clean(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_shutdown_reports_unbalanced_pin_counters,
					  teardown_any),
		cmocka_unit_test_teardown(test_shutdown_reports_a_free_page_with_a_refcount,
					  teardown_any),
		cmocka_unit_test_teardown(test_an_mm_outlives_its_machine, teardown_any),
		cmocka_unit_test_teardown(test_shutdown_reports_other_threads_in_an_mm,
					  teardown_any),
		cmocka_unit_test_teardown(test_an_mm_after_its_last_mmput, teardown_any),
		cmocka_unit_test_teardown(test_a_file_after_its_last_fput, teardown_any),
		cmocka_unit_test_teardown(test_a_file_outlives_its_machine, teardown_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
