/* SPDX-License-Identifier: MIT */
/*
 * Reclaim racing with everything that uses pages, on a 32 MiB machine with kswapd on: a thread
 * writing a shared mapping of a host file bigger than the machine (so reclaim must write and
 * free its pages), one writing and reading back private anonymous memory, one pinning pages of
 * the file mapping and writing into them as a device would before unpinning them dirty, and one
 * reading a second file and calling shrink_all_memory(). At the end pinmm_check_invariants() is
 * clean and every byte each thread wrote reads back, through the mappings and from the host
 * file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_mm_util.h"
#include "test_stress.h"

#define MiB (1ULL << 20)
#define FILE_PAGES ((40 * MiB) >> PAGE_SHIFT)
#define CHURN_PAGES ((16 * MiB) >> PAGE_SHIFT)
#define ANON_PAGES 512
#define FILE_BASE 0x40000000UL
#define ANON_BASE 0x80000000UL
#define DEV_WORD 100 /* the word of each file page the "device" writes */

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define ROUNDS 2
#else
#define ROUNDS 4
#endif

static char file_path[64], churn_path[64];
static struct file *file, *churn;
static struct mm_struct *mm;
static unsigned long file_tag[FILE_PAGES];  /* word 0 of each file page: the writer's */
static unsigned long dev_tag[FILE_PAGES];   /* word DEV_WORD: the pinner's */
static atomic_int failures;
static char failure[256];
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_once(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&failure_lock);
	if (atomic_fetch_add(&failures, 1) == 0) {
		va_start(ap, fmt);
		vsnprintf(failure, sizeof(failure), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&failure_lock);
}

static unsigned int next_rand(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct file *zero_file(char *path, unsigned long npages)
{
	struct file *f;
	int fd;

	snprintf(path, 64, "/tmp/lru-stress-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(npages * PAGE_SIZE)), 0);
	close(fd);
	f = filp_open(path, O_RDWR, 0);
	assert_false(IS_ERR(f));
	return f;
}

static void *file_writer(void *arg)
{
	unsigned int round = *(unsigned int *)arg;

	kthread_use_mm(mm);
	for (unsigned long i = 0; i < FILE_PAGES; i++) {
		unsigned long v = (unsigned long)round << 32 | i;

		if (copy_to_user(FILE_BASE + i * PAGE_SIZE, &v, sizeof(v))) {
			fail_once("file writer: page %lu: copy_to_user failed", i);
			break;
		}
		file_tag[i] = v;
	}
	kthread_unuse_mm(mm);
	return NULL;
}

static void *anon_user(void *arg)
{
	unsigned int round = *(unsigned int *)arg;

	kthread_use_mm(mm);
	for (unsigned long i = 0; i < ANON_PAGES; i++) {
		unsigned long v = 0xa000000000UL | (unsigned long)round << 20 | i;

		if (copy_to_user(ANON_BASE + i * PAGE_SIZE, &v, sizeof(v)))
			fail_once("anon: page %lu: copy_to_user failed", i);
	}
	for (unsigned long i = 0; i < ANON_PAGES; i++) {
		unsigned long v = 0, want = 0xa000000000UL | (unsigned long)round << 20 | i;

		if (copy_from_user(&v, ANON_BASE + i * PAGE_SIZE, sizeof(v)) || v != want)
			fail_once("anon: page %lu reads %#lx, expected %#lx", i, v, want);
	}
	kthread_unuse_mm(mm);
	return NULL;
}

/* Pin a random file page, write into it as a device, unpin it dirty. */
static void *pinner(void *arg)
{
	unsigned int seed = 0x9e3779b9u ^ *(unsigned int *)arg;

	kthread_use_mm(mm);
	for (int n = 0; n < 400; n++) {
		unsigned long i = next_rand(&seed) % FILE_PAGES;
		struct page *page;

		if (pin_user_pages_fast(FILE_BASE + i * PAGE_SIZE, 1, FOLL_WRITE, &page) != 1) {
			fail_once("pinner: pin of page %lu failed", i);
			break;
		}
		((unsigned long *)page_address(page))[DEV_WORD] = 0xde000000UL + (unsigned long)n;
		dev_tag[i] = 0xde000000UL + (unsigned long)n;
		unpin_user_pages_dirty_lock(&page, 1, true);
	}
	kthread_unuse_mm(mm);
	return NULL;
}

static void *reclaimer(void *arg)
{
	(void)arg;
	for (unsigned long i = 0; i < CHURN_PAGES; i++) {
		struct page *page = read_mapping_page(churn->f_mapping, i);

		if (IS_ERR(page)) {
			fail_once("reclaimer: read of churn page %lu = %ld", i, PTR_ERR(page));
			break;
		}
		put_page(page);
		if (i % 512 == 0)
			shrink_all_memory(128);
	}
	return NULL;
}

static void test_reclaim_with_faults_and_pins(void **state)
{
	struct stress_clock c;
	unsigned int round;

	(void)state;
	file = zero_file(file_path, FILE_PAGES);
	churn = zero_file(churn_path, CHURN_PAGES);
	mm = current_mm();
	assert_true(vm_mmap(file, FILE_BASE, FILE_PAGES * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED,
			    0) == FILE_BASE);
	map(ANON_BASE, ANON_PAGES * PAGE_SIZE, RW, ANON | MAP_FIXED, "anon");
	stress_start(&c);
	for (round = 1; stress_more(&c, round - 1, ROUNDS); round++) {
		pthread_t t[4];
		void *(*fn[4])(void *) = {file_writer, anon_user, pinner, reclaimer};

		for (int i = 0; i < 4; i++)
			assert_int_equal(pthread_create(&t[i], NULL, fn[i], &round), 0);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		if (atomic_load(&failures))
			fail_msg("round %u: %s", round, failure);
		assert_int_equal(pinmm_kswapd_wait_idle(30000), 0);
		check_eq(pinmm_check_invariants(), 0, "round %u: pinmm_check_invariants()", round);
		for (unsigned long i = 0; i < FILE_PAGES; i++) {
			unsigned long w[DEV_WORD + 1];

			if (copy_from_user(w, FILE_BASE + i * PAGE_SIZE, sizeof(w)))
				fail_msg("round %u: file page %lu unreadable", round, i);
			check_eq(w[0], file_tag[i], "round %u: file page %lu, the writer's word",
				 round, i);
			check_eq(w[DEV_WORD], dev_tag[i], "round %u: file page %lu, the device's word",
				 round, i);
		}
	}
	check_true(global_vm_event_count(PGSTEAL_KSWAPD) + global_vm_event_count(PGSTEAL_DIRECT) >
			   0, "reclaim ran");
	unmap(FILE_BASE, FILE_PAGES * PAGE_SIZE, "file");
	assert_int_equal(vfs_fsync(file, 0), 0);
	for (unsigned long i = 0; i < FILE_PAGES; i += 61) {
		unsigned long v = 0, d = 0;

		for (int b = 7; b >= 0; b--) {
			v = v << 8 | (unsigned long)host_file_byte(file_path, (off_t)(i * PAGE_SIZE) + b);
			d = d << 8 | (unsigned long)host_file_byte(file_path,
						(off_t)(i * PAGE_SIZE + DEV_WORD * 8) + b);
		}
		check_eq(v, file_tag[i], "file page %lu in the host file", i);
		check_eq(d, dev_tag[i], "file page %lu's device word in the host file", i);
	}
	fput(file);
	fput(churn);
	unlink(file_path);
	unlink(churn_path);
}

static int setup(void **state)
{
	struct pinmm_config cfg = cfg_of(32 * MiB, 0, 0);

	return boot_with_mm(state, &cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reclaim_with_faults_and_pins, setup, teardown_mm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
