/* SPDX-License-Identifier: MIT */
/*
 * A file mapping's VMA changes (split, merge, mprotect, madvise) hold the file's i_mmap_rwsem
 * for write, as Linux's vma_prepare() does, so that writeback's reverse-map walk (page_mkclean
 * under the read side) sees each VMA whole, before or after the change.
 *
 *  - Deterministic: a hook on "vma:split_adjusted" (a split has shrunk the old VMA and not yet
 *    linked the new half) starts writeback from another thread. Without the lock that
 *    writeback runs inside the hole, misses the new half's writable PTEs and marks their pages
 *    clean while a write through them would not fault: data that writeback never sees. With
 *    the lock the writeback waits for the split and cleans every PTE.
 *  - Under ThreadSanitizer (make check-tsan): a writeback thread against a thread that splits,
 *    merges and changes flags of the same mapping, with a clean-page invariant checked after
 *    each writeback (200 rounds, or PINMM_STRESS_SECONDS).
 *
 * The pages are those of a host file in /tmp, mapped MAP_SHARED read-write.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include "test_mm_util.h"
#include "test_stress.h"

#define NPAGES 8

static char path[64];

static int boot_machine(void **state)
{
	int fd;

	strcpy(path, "/tmp/pinmm-vma-rmap-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)PG(NPAGES)))
		return -1;
	close(fd);
	return setup_mm(state);
}

static int shutdown_and_unlink(void **state)
{
	unlink(path);
	return teardown_mm(state);
}

/* The file mapped shared read-write, every page written (dirty, writable PTEs). */
static unsigned long map_dirty_file(struct file **filep, const char *what)
{
	struct file *file = filp_open(path, O_RDWR, 0);
	unsigned long addr;

	if (IS_ERR(file))
		test_fail("%s: filp_open(%s) = %ld", what, path, PTR_ERR(file));
	addr = vm_mmap(file, 0, PG(NPAGES), RW, MAP_SHARED, 0);
	if (IS_ERR_VALUE(addr))
		test_fail("%s: vm_mmap of the file = %ld", what, (long)addr);
	tag_pages(addr, NPAGES, 0x1000, what);
	*filep = file;
	return addr;
}

/* After writeback: a page that is clean has no writable PTE (else a write would not fault
 * and would never be written back). */
static void expect_clean_means_readonly(struct mm_struct *mm, unsigned long addr,
					const char *what)
{
	for (unsigned int i = 0; i < NPAGES; i++) {
		pte_t pte = pte_at(mm, addr + PG(i));
		struct page *page = page_at(mm, addr + PG(i));

		if (!page)
			continue;
		check_true(PageDirty(page) || !pte_write(pte),
			   "%s: page %u is clean after writeback, its PTE must not be writable",
			   what, i);
	}
}

/* ---- the deterministic reproduction ---- */

struct writeback {
	struct address_space *mapping;
	sem_t done;
	int ret;
	bool started;
	bool finished_in_hook; /* the writeback ended while the split was half-way */
};

static void *writeback_thread(void *arg)
{
	struct writeback *w = arg;

	w->ret = filemap_write_and_wait(w->mapping);
	sem_post(&w->done);
	return NULL;
}

static pthread_t wb_tid;

/* Half-way through the split: start writeback on another CPU and give it 200 ms. */
static void split_hook(const char *point, void *arg)
{
	struct writeback *w = arg;
	struct timespec until;

	(void)point;
	if (w->started)
		return;
	w->started = true;
	if (pthread_create(&wb_tid, NULL, writeback_thread, w))
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 200 * 1000 * 1000;
	if (until.tv_nsec >= 1000 * 1000 * 1000) {
		until.tv_sec++;
		until.tv_nsec -= 1000 * 1000 * 1000;
	}
	if (sem_timedwait(&w->done, &until) == 0) {
		w->finished_in_hook = true;
		sem_post(&w->done);
	}
}

static void test_writeback_during_split(void **state)
{
	struct mm_struct *mm = *state;
	struct file *file;
	unsigned long addr = map_dirty_file(&file, "writeback during a split");
	struct writeback w = {.mapping = file->f_mapping};

	sem_init(&w.done, 0, 0);
	assert_int_equal(pinmm_hook_set("vma:split_adjusted", split_hook, &w), 0);
	/* A flag change on the upper half splits the VMA without touching its PTEs. */
	check_eq(do_madvise(mm, addr + PG(NPAGES / 2), PG(NPAGES / 2), MADV_DONTFORK), 0,
		 "MADV_DONTFORK on the upper half of the file mapping");
	pinmm_hook_clear_all();
	check_true(w.started, "the split reached vma:split_adjusted");
	pthread_join(wb_tid, NULL);
	check_eq(w.ret, 0, "filemap_write_and_wait during the split");
	expect_clean_means_readonly(mm, addr, "writeback during a split");
	check_true(!w.finished_in_hook,
		   "writeback must wait for the split (the i_mmap lock), it ran inside it");
	sem_destroy(&w.done);
	unmap(addr, PG(NPAGES), "writeback during a split");
	fput(file);
}

/* ---- the concurrent run (meant for TSan) ---- */

struct churn {
	struct mm_struct *mm;
	unsigned long addr;
	atomic_bool stop;
	int err;
};

/* Splits, merges and flag changes of the mapping, as another CPU of the same mm. */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	kthread_use_mm(c->mm);
	for (unsigned int i = 0; !atomic_load(&c->stop); i++) {
		unsigned long at = c->addr + PG(1 + i % (NPAGES - 2));
		int ret;

		ret = do_madvise(c->mm, at, PAGE_SIZE, (i & 1) ? MADV_DOFORK : MADV_DONTFORK);
		if (!ret)
			ret = vm_mprotect(at, PAGE_SIZE, (i & 2) ? RW : RW | PROT_EXEC);
		if (ret && !c->err)
			c->err = ret;
	}
	kthread_unuse_mm(c->mm);
	return NULL;
}

static void test_writeback_against_vma_changes(void **state)
{
	struct mm_struct *mm = *state;
	struct file *file;
	unsigned long addr = map_dirty_file(&file, "writeback against VMA changes");
	struct churn c = {.mm = mm, .addr = addr};
	struct stress_clock clock;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, churn_thread, &c), 0);
	stress_start(&clock);
	for (int round = 0; stress_more(&clock, round, 200); round++) {
		tag_pages(addr, NPAGES, 0x2000 + (unsigned long)round * NPAGES,
			  "writer against VMA changes");
		check_eq(filemap_write_and_wait(file->f_mapping), 0, "writeback round %d", round);
		mmap_read_lock(mm);
		expect_clean_means_readonly(mm, addr,
					    scenario_text("writeback round %d against VMA changes",
							  round));
		mmap_read_unlock(mm);
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	check_eq(c.err, 0, "madvise / mprotect in the churning thread");
	unmap(addr, PG(NPAGES), "writeback against VMA changes");
	fput(file);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, boot_machine, shutdown_and_unlink)
	const struct CMUnitTest tests[] = {
		T(test_writeback_during_split),
		T(test_writeback_against_vma_changes),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
