/* SPDX-License-Identifier: MIT */
/*
 * gup_longterm: the case list of Linux's tools/testing/selftests/mm/gup_longterm.c (Linux
 * 6.x), run against pinmm on a machine it boots for itself. Each case maps one page of a file
 * (MAP_SHARED or MAP_PRIVATE), takes a long-term pin of it (gup_test's PIN_LONGTERM_TEST_START:
 * R/W or R/O, GUP or GUP-fast; or an io_uring fixed-buffer registration, which pins R/W) and
 * checks that it succeeds, or fails with -EFAULT, as today's Linux decides: a R/W long-term
 * pin of a shared mapping of a file whose dirty pages the file system writes back is refused
 * (Linux 6.5), while shmem (memfd) and hugetlb files, and every private mapping, may be pinned.
 * Cases and backings carry the kernel program's names; docs/gup_tools.md has the list and
 * docs/rule-sets.md the results under each rule set.
 *
 * The backings: memfd (memfd_file_create()), tmpfile (an O_TMPFILE host file in $TMPDIR or
 * /tmp), local tmpfile (a host file made in the current directory and unlinked at once), and
 * memfd hugetlb of 2048 kB and 1048576 kB (hugetlb_file_setup(), which is what Linux's
 * memfd_create(MFD_HUGETLB) is). Where the selftest asks the file system for its type, pinmm
 * knows it: every host file is written back (the ext4/xfs/btrfs class, "tracks dirtiness"),
 * memfds are shmem (tmpfs), hugetlb files are hugetlbfs.
 *
 * Output: kselftest's TAP (tools/lib/ksft.h) with "# rules: <5.7|modern>" after the version
 * line and, for each case, "# [RUN] <case> ... with <backing>", a "# <reason>" line for
 * anything but a pass, and its result; last "# Totals: ...". Exit status 0 unless a case
 * failed (1). MAP_PRIVATE mappings of hugetlb files are refused by pinmm (mmap -EINVAL): those
 * cases SKIP with the reason, as the selftest skips a hugetlb mmap that fails.
 *
 * Usage: gup_longterm [-R 5.7|modern] [-G] [-h]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/pinmm.h>
#include <pinmm/debugfs/gup_test.h>

#include "lib/catalog.h"
#include "lib/ksft.h"
#include "lib/tool_rules.h"

#define KiB 1024UL
#define MiB (1024UL * KiB)
#define GiB (1024UL * MiB)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const size_t pagesize = PAGE_SIZE;
/* The hugetlb sizes with a pool (catalog_hugetlb_sizes()): 2 MiB and, without -G, 1 GiB. */
static size_t hugetlbsizes[2];
static size_t nr_hugetlbsizes;

/* The file systems the selftest tells apart, as pinmm's files map onto them. */
enum fs_type {
	FS_TMPFS,     /* shmem: memfd_file_create() */
	FS_HUGETLBFS, /* hugetlb_file_setup() */
	FS_WRITEBACK, /* a host file: its dirty pages are written back (ext4, xfs, btrfs) */
};

static enum fs_type get_fs_type(struct file *file)
{
	if (is_file_hugepages(file))
		return FS_HUGETLBFS;
	return file->f_mapping->shmem ? FS_TMPFS : FS_WRITEBACK;
}

/* Linux 6.5+: writable long-term pins of shared mappings only where nothing writes back. */
static bool fs_supports_writable_longterm_pinning(enum fs_type fs)
{
	return fs == FS_TMPFS || fs == FS_HUGETLBFS;
}

enum test_type {
	TEST_TYPE_RO,
	TEST_TYPE_RO_FAST,
	TEST_TYPE_RW,
	TEST_TYPE_RW_FAST,
	TEST_TYPE_IOURING,
};

/* The long-term pin session of gup_test: should it work, and did it? */
static void do_test_pin(unsigned long mem, size_t size, enum test_type type, bool shared,
			enum fs_type fs)
{
	const bool fast = type == TEST_TYPE_RO_FAST || type == TEST_TYPE_RW_FAST;
	const bool rw = type == TEST_TYPE_RW || type == TEST_TYPE_RW_FAST;
	/* R/O pins and pins of private mappings always work; R/W pins of shared ones only
	 * where the file system allows them. */
	const bool should_work = !shared || !rw || fs_supports_writable_longterm_pinning(fs);
	struct pin_longterm_test args = {
		.addr = mem,
		.size = size,
		.flags = (fast ? PIN_LONGTERM_TEST_FLAG_USE_FAST : 0) |
			 (rw ? PIN_LONGTERM_TEST_FLAG_USE_WRITE : 0),
	};
	int ret = gup_test_ioctl(PIN_LONGTERM_TEST_START, &args);

	if (ret == -EINVAL) {
		ksft_skip("PIN_LONGTERM_TEST_START failed: %s", strerror(-ret));
		return;
	}
	if (ret == -EFAULT) {
		ksft_result(!should_work, "Should have worked: PIN_LONGTERM_TEST_START failed: %s",
			    strerror(-ret));
		return;
	}
	if (ret) {
		ksft_fail("PIN_LONGTERM_TEST_START failed: %s", strerror(-ret));
		return;
	}
	if (gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL))
		ksft_print_msg("[INFO] PIN_LONGTERM_TEST_STOP failed");
	ksft_result(should_work, "Should have failed");
}

/* io_uring pins fixed buffers writable, always. */
static void do_test_iouring(unsigned long mem, size_t size, bool shared, enum fs_type fs)
{
	const bool should_work = !shared || fs_supports_writable_longterm_pinning(fs);
	struct iovec iov = { .iov_base = (void *)mem, .iov_len = size };
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	int ret;

	if (!ctx) {
		ksft_skip("io_uring_queue_init() failed");
		return;
	}
	ret = io_sqe_buffers_register(ctx, &iov, 1);
	if (ret == -ENOSPC || ret == -EOPNOTSUPP || ret == -EFAULT) {
		ksft_result(!should_work, "Should have worked: io_uring_register_buffers() failed: %s",
			    strerror(-ret));
	} else if (ret) {
		ksft_skip("io_uring_register_buffers() failed: %s", strerror(-ret));
	} else {
		ksft_result(should_work, "Should have failed");
		io_sqe_buffers_unregister(ctx);
	}
	io_ring_ctx_free(ctx);
}

/* Size the file (a hugetlb file is made at its size), map it, fault it in, pin it. */
static void do_test(struct file *file, size_t size, enum test_type type, bool shared)
{
	enum fs_type fs = get_fs_type(file);
	unsigned long mem;
	int ret;

	if (fs != FS_HUGETLBFS) {
		ret = vfs_truncate(file, (loff_t)size);
		if (ret) {
			ksft_fail("ftruncate() failed: %s", strerror(-ret));
			return;
		}
	}
	mem = vm_mmap(file, 0, size, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE,
		      0);
	if (IS_ERR_VALUE(mem)) {
		ret = (int)(long)mem;
		if (size == pagesize || shared)
			ksft_fail("mmap() failed: %s", strerror(-ret));
		else
			ksft_skip("need more free huge pages (pinmm: mmap(MAP_PRIVATE) of a "
				  "hugetlb file: %s)", strerror(-ret));
		return;
	}
	/* Fault the page in, so that GUP-fast can pin it without falling back. */
	if (user_memset(mem, 0, size)) {
		ksft_fail("faulting the page in failed");
		goto munmap;
	}

	switch (type) {
	case TEST_TYPE_RO:
	case TEST_TYPE_RO_FAST:
		/* More unsharing decisions to cover: map the page R/O. */
		ret = vm_mprotect(mem, size, PROT_READ);
		if (ret) {
			ksft_fail("mprotect() failed: %s", strerror(-ret));
			goto munmap;
		}
		do_test_pin(mem, size, type, shared, fs);
		break;
	case TEST_TYPE_RW:
	case TEST_TYPE_RW_FAST:
		do_test_pin(mem, size, type, shared, fs);
		break;
	case TEST_TYPE_IOURING:
		do_test_iouring(mem, size, shared, fs);
		break;
	}
munmap:
	vm_munmap(mem, size);
}

typedef void (*test_fn)(struct file *file, size_t size);

static void run_with_memfd(test_fn fn, const char *desc)
{
	struct file *file;

	ksft_run("%s ... with memfd", desc);
	file = memfd_file_create("test", 0);
	if (IS_ERR(file)) {
		ksft_fail("memfd_create() failed: %s", strerror((int)-PTR_ERR(file)));
		return;
	}
	fn(file, pagesize);
	fput(file);
}

static void run_with_tmpfile(test_fn fn, const char *desc)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct file *file;

	ksft_run("%s ... with tmpfile", desc);
	file = filp_open(dir, O_TMPFILE | O_RDWR, 0600);
	if (IS_ERR(file)) {
		ksft_fail("tmpfile() failed: %s", strerror((int)-PTR_ERR(file)));
		return;
	}
	fn(file, pagesize);
	fput(file);
}

/* A host file in the current directory, unlinked as soon as it is open. */
static void run_with_local_tmpfile(test_fn fn, const char *desc)
{
	char filename[] = "gup_longterm_tmpfile_XXXXXX";
	struct file *file;
	int fd;

	ksft_run("%s ... with local tmpfile", desc);
	fd = mkstemp(filename);
	if (fd < 0) {
		ksft_fail("mkstemp() failed: %s", strerror(errno));
		return;
	}
	close(fd);
	file = filp_open(filename, O_RDWR, 0);
	if (unlink(filename)) {
		ksft_fail("unlink() failed: %s", strerror(errno));
		if (!IS_ERR(file))
			fput(file);
		return;
	}
	if (IS_ERR(file)) {
		ksft_fail("open() failed: %s", strerror((int)-PTR_ERR(file)));
		return;
	}
	fn(file, pagesize);
	fput(file);
}

/* memfd_create(MFD_HUGETLB) is a hugetlb file: hugetlb_file_setup(), at its final size. */
static void run_with_memfd_hugetlb(test_fn fn, const char *desc, size_t hugetlbsize)
{
	struct file *file;

	ksft_run("%s ... with memfd hugetlb (%zu kB)", desc, hugetlbsize / KiB);
	file = hugetlb_file_setup("memfd:test", hugetlbsize, 0, __builtin_ctzll(hugetlbsize));
	if (IS_ERR(file)) {
		/* The selftest's fallocate() that finds the pool empty. */
		ksft_skip("need more free huge pages: %s", strerror((int)-PTR_ERR(file)));
		return;
	}
	fn(file, hugetlbsize);
	fput(file);
}

static void test_shared_rw_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RW, true);
}

static void test_shared_rw_fast_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RW_FAST, true);
}

static void test_shared_ro_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RO, true);
}

static void test_shared_ro_fast_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RO_FAST, true);
}

static void test_private_rw_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RW, false);
}

static void test_private_rw_fast_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RW_FAST, false);
}

static void test_private_ro_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RO, false);
}

static void test_private_ro_fast_pin(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_RO_FAST, false);
}

static void test_shared_iouring(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_IOURING, true);
}

static void test_private_iouring(struct file *file, size_t size)
{
	do_test(file, size, TEST_TYPE_IOURING, false);
}

static const struct {
	const char *desc;
	test_fn fn;
} test_cases[] = {
	{ "R/W longterm GUP pin in MAP_SHARED file mapping", test_shared_rw_pin },
	{ "R/W longterm GUP-fast pin in MAP_SHARED file mapping", test_shared_rw_fast_pin },
	{ "R/O longterm GUP pin in MAP_SHARED file mapping", test_shared_ro_pin },
	{ "R/O longterm GUP-fast pin in MAP_SHARED file mapping", test_shared_ro_fast_pin },
	{ "R/W longterm GUP pin in MAP_PRIVATE file mapping", test_private_rw_pin },
	{ "R/W longterm GUP-fast pin in MAP_PRIVATE file mapping", test_private_rw_fast_pin },
	{ "R/O longterm GUP pin in MAP_PRIVATE file mapping", test_private_ro_pin },
	{ "R/O longterm GUP-fast pin in MAP_PRIVATE file mapping", test_private_ro_fast_pin },
	{ "io_uring fixed buffer with MAP_SHARED file mapping", test_shared_iouring },
	{ "io_uring fixed buffer with MAP_PRIVATE file mapping", test_private_iouring },
};

/* The usage message after its first line. */
static const char usage_text[] =
	"  Linux's tools/testing/selftests/mm/gup_longterm.c case list on a simulated\n"
	"  machine; kselftest TAP output, exit status 1 if a case failed.\n";

int main(int argc, char **argv)
{
	struct catalog_machine m = {
		.ram_bytes = 1536ULL * MiB,
		.nr_hugepages_2m = 2,
		.nr_hugepages_1g = 1,
	};
	int ret = catalog_options(argc, argv, "gup_longterm", usage_text, &m);

	if (ret >= 0)
		return ret;
	nr_hugetlbsizes = catalog_hugetlb_sizes(&m, hugetlbsizes);
	ksft_print_header();
	catalog_boot(&m);
	for (size_t i = 0; i < nr_hugetlbsizes; i++)
		ksft_print_msg("[INFO] detected hugetlb page size: %zu KiB", hugetlbsizes[i] / KiB);
	ksft_set_plan((unsigned int)(ARRAY_SIZE(test_cases) * (3 + nr_hugetlbsizes)));

	for (size_t i = 0; i < ARRAY_SIZE(test_cases); i++) {
		run_with_memfd(test_cases[i].fn, test_cases[i].desc);
		run_with_tmpfile(test_cases[i].fn, test_cases[i].desc);
		run_with_local_tmpfile(test_cases[i].fn, test_cases[i].desc);
		for (size_t j = 0; j < nr_hugetlbsizes; j++)
			run_with_memfd_hugetlb(test_cases[i].fn, test_cases[i].desc,
					       hugetlbsizes[j]);
	}

	catalog_shutdown();
	return ksft_finish();
}
