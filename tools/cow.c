/* SPDX-License-Identifier: MIT */
/*
 * cow: the case list of Linux's tools/testing/selftests/mm/cow.c (Linux 6.x), run against
 * pinmm on a machine it boots for itself. Each case checks that copy-on-write keeps a private
 * page private and that a pin keeps seeing the page its owner writes: after fork(), with the
 * vmsplice() pipe (CVE-2020-29374), with io_uring fixed buffers (long-term R/W pins), with
 * gup_test's long-term R/O pins (PIN_LONGTERM_TEST_*), with MADV_COLLAPSE, and on private
 * mappings of what is not anonymous memory (the zero page, memfd, a host file, hugetlb files).
 * Cases and backings carry the kernel program's names, so that its output can be compared with
 * this one line by line; docs/gup_tools.md has the list and docs/rule-sets.md the results
 * under each rule set.
 *
 * Output: kselftest's TAP (tools/lib/ksft.h), "# rules: <5.7|modern>" after the version line,
 * the "# [INFO]" lines of what the machine has, "1..<cases>", then per case
 * "# [RUN] <case> ... with <backing>", a "# <reason>" line for anything but a pass, and
 * "ok", "not ok", "ok # SKIP" or "ok # XFAIL"; last "# Totals: ...". Exit status 0 unless a
 * case failed (1), as kselftest's.
 *
 * The machine: 3584 MiB of RAM, two 1 GiB and four 2 MiB hugetlb pages, THP "always".
 * What pinmm does not have is listed and SKIPped with the reason: the huge zero page,
 * MAP_PRIVATE mappings of hugetlb files. The swapped-out variants swap to a 64 MiB host file
 * (swapon() at start). pinmm's only THP size
 * is the PMD size (2048 kB), so the kernel's mTHP sizes (16 - 1024 kB) are not in the list.
 *
 * How a case runs: a selftest's processes are mms here (tools/lib/catalog.h), and the one
 * thread steps through them in the order the selftest's pipes impose. mprotect(PROT_READ) +
 * mprotect(PROT_READ | PROT_WRITE) stands for the selftest's, without clear_softdirty() (pinmm
 * has no soft-dirty tracking, and its mprotect never maps a page writable early).
 *
 * Usage: cow [-R 5.7|modern] [-G] [-h]
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
static const size_t pmdsize = HPAGE_PMD_SIZE;
/* The THP sizes pinmm has: the PMD size only. */
static const size_t thpsizes[] = { HPAGE_PMD_SIZE };
/* The hugetlb sizes with a pool (catalog_hugetlb_sizes()): 2 MiB and, without -G, 1 GiB. */
static size_t hugetlbsizes[2];
static size_t nr_hugetlbsizes;

static const char *const swap_reason = "MADV_PAGEOUT did not work, is swap enabled?";

typedef void (*test_fn)(unsigned long mem, size_t size, bool is_hugetlb);

/* ---- what a child process does: back up, wait for the parent, compare ---- */

struct child_state {
	unsigned char *old;
	struct pipe_inode_info *pipe;
	ssize_t transferred;
	int err; /* the child's early exit status, as -errno */
};

/* child_memcmp_fn's first half: back up the content. */
static void child_memcmp_start(struct child_state *c, unsigned long mem, size_t size)
{
	c->old = host_buffer(0, size);
	if (!c->old) {
		c->err = -ENOMEM;
		return;
	}
	c->err = user_read(c->old, mem, size);
}

/* Its second half, after the parent wrote: do we still read the old values? 0: yes. */
static int child_memcmp_finish(struct child_state *c, unsigned long mem, size_t size)
{
	return c->err ? c->err : user_cmp(mem, c->old, size);
}

/* child_vmsplice_memcmp_fn's first half: back up, vmsplice() the range (a R/O GUP reference
 * in the pipe), unmap it. */
static void child_vmsplice_start(struct child_state *c, unsigned long mem, size_t size)
{
	struct iovec iov = { .iov_base = (void *)mem, .iov_len = size };

	child_memcmp_start(c, mem, size);
	if (c->err)
		return;
	c->pipe = alloc_pipe_info();
	if (!c->pipe) {
		c->err = -ENOMEM;
		return;
	}
	c->transferred = vmsplice_to_pipe(c->pipe, &iov, 1, 0);
	if (c->transferred < 0) {
		c->err = (int)c->transferred;
		return;
	}
	if (c->transferred == 0) {
		c->err = -EINVAL;
		return;
	}
	c->err = vm_munmap(mem, size);
}

/* Its second half: read what the pipe holds; still the old values? 0: yes. */
static int child_vmsplice_finish(struct child_state *c, unsigned long mem, size_t size)
{
	unsigned char *new = NULL;
	ssize_t total, cur;
	int ret = c->err;

	(void)mem;
	(void)size;
	if (!ret) {
		new = host_buffer(1, (size_t)c->transferred);
		ret = new ? 0 : -ENOMEM;
	}
	for (total = 0; !ret && total < c->transferred; total += cur) {
		cur = pipe_read(c->pipe, new + total, (size_t)(c->transferred - total));
		if (cur < 0)
			ret = (int)cur;
	}
	if (!ret)
		ret = memcmp(c->old, new, (size_t)c->transferred) ? 1 : 0;
	free_pipe_info(c->pipe);
	return ret;
}

struct child_fn {
	void (*start)(struct child_state *c, unsigned long mem, size_t size);
	int (*finish)(struct child_state *c, unsigned long mem, size_t size);
};

static const struct child_fn child_memcmp = { child_memcmp_start, child_memcmp_finish };
static const struct child_fn child_vmsplice = { child_vmsplice_start, child_vmsplice_finish };

/* mprotect(PROT_READ) then back to PROT_READ | PROT_WRITE, as the selftest's "mprotect()
 * optimization" variants do before writing. */
static int mprotect_ro_rw(unsigned long mem, size_t size)
{
	int ret = vm_mprotect(mem, size, PROT_READ);

	return ret ? ret : vm_mprotect(mem, size, PROT_READ | PROT_WRITE);
}

/* The child reads, the parent writes, the child compares: no leak from parent into child. */
static void do_test_cow_in_parent(unsigned long mem, size_t size, bool do_mprotect,
				  const struct child_fn *fn, bool xfail)
{
	struct mm_struct *parent = catalog_parent(), *child;
	struct child_state c = { 0 };
	int ret;

	child = catalog_fork(&ret);
	if (!child) {
		ksft_fail("fork() failed: %s", strerror(-ret));
		return;
	}
	catalog_switch_mm(child);
	fn->start(&c, mem, size);
	catalog_switch_mm(parent);

	if (do_mprotect && mprotect_ro_rw(mem, size)) {
		ksft_fail("mprotect() failed");
		catalog_switch_mm(child);
		fn->finish(&c, mem, size);
		catalog_switch_mm(parent);
		catalog_exit(child);
		return;
	}
	/* Modify the page. */
	ret = user_memset(mem, 0xff, size);

	catalog_switch_mm(child);
	if (!ret)
		ret = fn->finish(&c, mem, size);
	else
		fn->finish(&c, mem, size);
	catalog_switch_mm(parent);
	catalog_exit(child);

	if (ret < 0)
		ksft_print_msg("the child failed: %s", strerror(-ret));
	if (!ret)
		ksft_pass();
	else if (xfail)
		ksft_xfail("Leak from parent into child");
	else
		ksft_fail("Leak from parent into child");
}

static void test_cow_in_parent(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_cow_in_parent(mem, size, false, &child_memcmp, false);
}

static void test_cow_in_parent_mprotect(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_cow_in_parent(mem, size, true, &child_memcmp, false);
}

/* Linux marks the hugetlb variants of the vmsplice cases as expected to fail. */
static void test_vmsplice_in_child(unsigned long mem, size_t size, bool is_hugetlb)
{
	do_test_cow_in_parent(mem, size, false, &child_vmsplice, is_hugetlb);
}

static void test_vmsplice_in_child_mprotect(unsigned long mem, size_t size, bool is_hugetlb)
{
	do_test_cow_in_parent(mem, size, true, &child_vmsplice, is_hugetlb);
}

/* vmsplice() in the parent, before or after fork(); the parent unmaps, the child writes: does
 * the parent's pipe see the child's write? */
static void do_test_vmsplice_in_parent(unsigned long mem, size_t size, bool before_fork,
				       bool xfail)
{
	struct iovec iov = { .iov_base = (void *)mem, .iov_len = size };
	struct mm_struct *parent = catalog_parent(), *child;
	struct pipe_inode_info *pipe = NULL;
	unsigned char *old = host_buffer(0, size), *new = NULL;
	ssize_t transferred = 0, total, cur;
	int ret;

	if (!old || user_read(old, mem, size)) {
		ksft_fail("backing up the content failed");
		goto free;
	}
	pipe = alloc_pipe_info();
	if (!pipe) {
		ksft_fail("pipe() failed");
		goto free;
	}
	if (before_fork) {
		transferred = vmsplice_to_pipe(pipe, &iov, 1, 0);
		if (transferred <= 0) {
			ksft_fail("vmsplice() failed: %zd", transferred);
			goto free;
		}
	}
	child = catalog_fork(&ret);
	if (!child) {
		ksft_fail("fork() failed: %s", strerror(-ret));
		goto free;
	}
	if (!before_fork) {
		transferred = vmsplice_to_pipe(pipe, &iov, 1, 0);
		if (transferred <= 0) {
			ksft_fail("vmsplice() failed: %zd", transferred);
			catalog_exit(child);
			goto free;
		}
	}
	if (vm_munmap(mem, size)) {
		ksft_fail("munmap() failed");
		catalog_exit(child);
		goto free;
	}
	/* The child modifies the page and exits. */
	catalog_switch_mm(child);
	ret = user_memset(mem, 0xff, size);
	catalog_switch_mm(parent);
	catalog_exit(child);
	if (ret) {
		ksft_fail("the child's write faulted");
		goto free;
	}

	/* Do we still read the old values? */
	new = host_buffer(1, (size_t)transferred);
	if (!new) {
		ksft_fail("malloc() failed");
		goto free;
	}
	for (total = 0; total < transferred; total += cur) {
		cur = pipe_read(pipe, new + total, (size_t)(transferred - total));
		if (cur < 0) {
			ksft_fail("read() failed: %s", strerror((int)-cur));
			goto free;
		}
	}
	if (!memcmp(old, new, (size_t)transferred))
		ksft_pass();
	else if (xfail)
		ksft_xfail("Leak from child into parent");
	else
		ksft_fail("Leak from child into parent");
free:
	free_pipe_info(pipe);
}

static void test_vmsplice_before_fork(unsigned long mem, size_t size, bool is_hugetlb)
{
	do_test_vmsplice_in_parent(mem, size, true, is_hugetlb);
}

static void test_vmsplice_after_fork(unsigned long mem, size_t size, bool is_hugetlb)
{
	do_test_vmsplice_in_parent(mem, size, false, is_hugetlb);
}

/*
 * Register the range as an io_uring fixed buffer (FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM), then
 * fork() (the child stays alive) or map it R/O and R/W again; write it through the page
 * tables, and write the fixed buffer out: the pin must see what the page tables show.
 */
static void do_test_iouring(unsigned long mem, size_t size, bool use_fork)
{
	struct iovec iov = { .iov_base = (void *)mem, .iov_len = size };
	struct mm_struct *child = NULL;
	struct io_ring_ctx *ctx;
	unsigned char *tmp;
	ssize_t written;
	int ret;

	tmp = host_buffer(0, size);
	if (!tmp) {
		ksft_fail("malloc() failed");
		return;
	}
	ctx = io_ring_ctx_alloc();
	if (!ctx) {
		ksft_skip("io_uring_queue_init() failed");
		return;
	}
	ret = io_sqe_buffers_register(ctx, &iov, 1);
	if (ret) {
		ksft_skip("io_uring_register_buffers() failed: %s", strerror(-ret));
		goto free_ctx;
	}
	if (use_fork) {
		/* The pinned page must not get shared with the child. */
		child = catalog_fork(&ret);
		if (!child) {
			ksft_fail("fork() failed: %s", strerror(-ret));
			goto unregister;
		}
	} else if (mprotect_ro_rw(mem, size)) {
		ksft_fail("mprotect() failed");
		goto unregister;
	}

	if (user_memset(mem, 0xff, size)) {
		ksft_fail("writing the page faulted");
		goto quit_child;
	}
	written = io_write_fixed(ctx, 0, mem, tmp, size);
	if (written != (ssize_t)size) {
		ksft_fail("write_fixed failed: %zd", written);
		goto quit_child;
	}
	ret = user_cmp(mem, tmp, size);
	ksft_result(ret == 0, "Longterm R/W pin is not reliable%s",
		    ret < 0 ? ": reading the page faulted" : "");
quit_child:
	if (child)
		catalog_exit(child);
unregister:
	io_sqe_buffers_unregister(ctx);
free_ctx:
	io_ring_ctx_free(ctx);
}

static void test_iouring_ro(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_iouring(mem, size, false);
}

static void test_iouring_fork(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_iouring(mem, size, true);
}

enum ro_pin_test {
	RO_PIN_TEST,
	RO_PIN_TEST_SHARED,
	RO_PIN_TEST_PREVIOUSLY_SHARED,
	RO_PIN_TEST_RO_EXCLUSIVE,
};

/*
 * A long-term R/O pin (gup_test's PIN_LONGTERM_TEST_START, GUP or GUP-fast) of the range, in
 * the state the test asks for; then a write through the page tables: the pin must see it
 * (PIN_LONGTERM_TEST_READ).
 */
static void do_test_ro_pin(unsigned long mem, size_t size, enum ro_pin_test test, bool fast)
{
	struct mm_struct *child = NULL;
	struct pin_longterm_test args;
	unsigned long tmp;
	uint64_t tmp_val;
	int ret;

	/* The buffer PIN_LONGTERM_TEST_READ copies to: user memory, as the selftest's malloc(). */
	tmp = user_mmap_anon(size, PROT_READ | PROT_WRITE, MAP_PRIVATE, &ret);
	if (!tmp) {
		ksft_fail("malloc() failed: %s", strerror(-ret));
		return;
	}

	switch (test) {
	case RO_PIN_TEST:
		break;
	case RO_PIN_TEST_SHARED:
	case RO_PIN_TEST_PREVIOUSLY_SHARED:
		/* Share the pages with a child: they are not pinned, so this just works. */
		child = catalog_fork(&ret);
		if (!child) {
			ksft_fail("fork() failed: %s", strerror(-ret));
			goto unmap;
		}
		if (test == RO_PIN_TEST_PREVIOUSLY_SHARED) {
			/* The child quits: the pages stay mapped R/O here but are no longer
			 * shared. */
			catalog_exit(child);
			child = NULL;
		}
		break;
	case RO_PIN_TEST_RO_EXCLUSIVE:
		if (mprotect_ro_rw(mem, size)) {
			ksft_fail("mprotect() failed");
			goto unmap;
		}
		break;
	}

	/* Take a R/O pin. This should trigger unsharing. */
	args.addr = mem;
	args.size = size;
	args.flags = fast ? PIN_LONGTERM_TEST_FLAG_USE_FAST : 0;
	ret = gup_test_ioctl(PIN_LONGTERM_TEST_START, &args);
	if (ret) {
		if (ret == -EINVAL)
			ksft_skip("PIN_LONGTERM_TEST_START failed: %s", strerror(-ret));
		else
			ksft_fail("PIN_LONGTERM_TEST_START failed: %s", strerror(-ret));
		goto wait;
	}

	/* Modify the page, then read it back through the pin. */
	if (user_memset(mem, 0xff, size)) {
		ksft_fail("writing the page faulted");
		goto stop;
	}
	tmp_val = tmp;
	ret = gup_test_ioctl(PIN_LONGTERM_TEST_READ, &tmp_val);
	if (ret) {
		ksft_fail("PIN_LONGTERM_TEST_READ failed: %s", strerror(-ret));
		goto stop;
	}
	ret = user_cmp_user(mem, tmp, size);
	ksft_result(ret == 0, "Longterm R/O pin is not reliable%s",
		    ret < 0 ? ": reading the pages faulted" : "");
stop:
	if (gup_test_ioctl(PIN_LONGTERM_TEST_STOP, NULL))
		ksft_print_msg("[INFO] PIN_LONGTERM_TEST_STOP failed");
wait:
	if (child)
		catalog_exit(child);
unmap:
	vm_munmap(tmp, size);
}

static void test_ro_pin_on_shared(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_ro_pin(mem, size, RO_PIN_TEST_SHARED, false);
}

static void test_ro_fast_pin_on_shared(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_ro_pin(mem, size, RO_PIN_TEST_SHARED, true);
}

static void test_ro_pin_on_ro_previously_shared(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_ro_pin(mem, size, RO_PIN_TEST_PREVIOUSLY_SHARED, false);
}

static void test_ro_fast_pin_on_ro_previously_shared(unsigned long mem, size_t size,
						     bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_ro_pin(mem, size, RO_PIN_TEST_PREVIOUSLY_SHARED, true);
}

static void test_ro_pin_on_ro_exclusive(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_ro_pin(mem, size, RO_PIN_TEST_RO_EXCLUSIVE, false);
}

static void test_ro_fast_pin_on_ro_exclusive(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_ro_pin(mem, size, RO_PIN_TEST_RO_EXCLUSIVE, true);
}

/* ---- the backings of the anonymous cases ---- */

/* MADV_PAGEOUT, and the selftest's range_is_swapped(): every page of the range left memory for
 * a slot of the swap area main() turned on (pinmm has no pagemap: the slots the range took
 * tell). */
static bool swap_out(unsigned long mem, size_t size)
{
	struct pinmm_swap_info before, after;

	if (pinmm_swap_info(&before) || do_madvise(current_mm(), mem, size, MADV_PAGEOUT) ||
	    pinmm_swap_info(&after))
		return false;
	return before.free - after.free == size / pagesize;
}

/* The swap area: a sparse host file in /tmp, unlinked at once (the area keeps it open until
 * the machine shuts down), as the selftests expect a swap device to be there. */
static void swap_setup(void)
{
	char path[] = "/tmp/pinmm-cow-swap-XXXXXX";
	int fd = mkstemp(path), ret;

	if (fd < 0)
		ksft_exit_fail_msg("swap file: %s", strerror(errno));
	if (ftruncate(fd, 64L * MiB))
		ksft_exit_fail_msg("swap file: %s", strerror(errno));
	close(fd);
	ret = swapon(path, 0);
	unlink(path);
	if (ret)
		ksft_exit_fail_msg("swapon: %s", strerror(-ret));
}

static void do_run_with_base_page(test_fn fn, bool swapout)
{
	unsigned long mem;
	int ret;

	mem = user_mmap_anon(pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE, &ret);
	if (!mem) {
		ksft_fail("mmap() failed: %s", strerror(-ret));
		return;
	}
	ret = do_madvise(current_mm(), mem, pagesize, MADV_NOHUGEPAGE);
	if (ret) {
		ksft_fail("MADV_NOHUGEPAGE failed: %s", strerror(-ret));
		goto munmap;
	}
	/* Populate a base page. */
	if (user_memset(mem, 1, pagesize)) {
		ksft_fail("populating the page faulted");
		goto munmap;
	}
	if (swapout && !swap_out(mem, pagesize)) {
		ksft_skip("%s", swap_reason);
		goto munmap;
	}
	fn(mem, pagesize, false);
munmap:
	vm_munmap(mem, pagesize);
}

static void run_with_base_page(test_fn fn, const char *desc)
{
	ksft_run("%s ... with base page", desc);
	do_run_with_base_page(fn, false);
}

static void run_with_base_page_swap(test_fn fn, const char *desc)
{
	ksft_run("%s ... with swapped out base page", desc);
	do_run_with_base_page(fn, true);
}

enum thp_run {
	THP_RUN_PMD,
	THP_RUN_PMD_SWAPOUT,
	THP_RUN_PTE,
	THP_RUN_PTE_SWAPOUT,
	THP_RUN_SINGLE_PTE,
	THP_RUN_SINGLE_PTE_SWAPOUT,
	THP_RUN_PARTIAL_MREMAP,
	THP_RUN_PARTIAL_SHARED,
};

static void do_run_with_thp(test_fn fn, enum thp_run thp_run, size_t thpsize)
{
	struct mm_struct *mm = current_mm();
	unsigned long mmap_mem, mem, mremap_mem = 0, tmp;
	size_t size, mmap_size = 2 * thpsize, mremap_size = 0;
	int ret;

	/* Twice the THP size, for a THP-aligned area inside. */
	mmap_mem = user_mmap_anon(mmap_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, &ret);
	if (!mmap_mem) {
		ksft_fail("mmap() failed: %s", strerror(-ret));
		return;
	}
	mem = (mmap_mem + thpsize) & ~(thpsize - 1);
	ret = do_madvise(mm, mem, thpsize, MADV_HUGEPAGE);
	if (ret) {
		ksft_fail("MADV_HUGEPAGE failed: %s", strerror(-ret));
		goto munmap;
	}
	/* Touch the first subpage: is the last one populated too? Then it is a THP. */
	if (user_memset(mem, 1, 1) || !user_populated(mem + thpsize - pagesize)) {
		ksft_skip("Did not get a THP populated");
		goto munmap;
	}
	if (user_memset(mem, 1, thpsize)) {
		ksft_fail("populating the THP faulted");
		goto munmap;
	}

	size = thpsize;
	switch (thp_run) {
	case THP_RUN_PMD:
	case THP_RUN_PMD_SWAPOUT:
		break;
	case THP_RUN_PTE:
	case THP_RUN_PTE_SWAPOUT:
		/* Map one subpage R/O for a moment: the PMD is split into PTEs. */
		if (mprotect_ro_rw(mem + pagesize, pagesize)) {
			ksft_fail("mprotect() failed");
			goto munmap;
		}
		break;
	case THP_RUN_SINGLE_PTE:
	case THP_RUN_SINGLE_PTE_SWAPOUT:
		/* Discard all but the first subpage: one PTE maps one subpage of the THP. */
		ret = do_madvise(mm, mem + pagesize, thpsize - pagesize, MADV_DONTNEED);
		if (ret) {
			ksft_fail("MADV_DONTNEED failed: %s", strerror(-ret));
			goto munmap;
		}
		size = pagesize;
		break;
	case THP_RUN_PARTIAL_MREMAP:
		/* Move the upper half of the THP somewhere else, and test that half. */
		mremap_size = thpsize / 2;
		mremap_mem = user_mmap_anon(mremap_size, PROT_NONE, MAP_PRIVATE, &ret);
		if (!mremap_mem) {
			ksft_fail("mmap() failed: %s", strerror(-ret));
			goto munmap;
		}
		tmp = vm_mremap(mem + mremap_size, mremap_size, mremap_size,
				MREMAP_MAYMOVE | MREMAP_FIXED, mremap_mem);
		if (tmp != mremap_mem) {
			ksft_fail("mremap() failed: %s",
				  IS_ERR_VALUE(tmp) ? strerror((int)-(long)tmp) : "elsewhere");
			goto munmap;
		}
		size = mremap_size;
		break;
	case THP_RUN_PARTIAL_SHARED: {
		/* Share the first subpage with a child that quits: the rest of the THP was
		 * never shared. */
		struct mm_struct *child;

		ret = do_madvise(mm, mem + pagesize, thpsize - pagesize, MADV_DONTFORK);
		if (ret) {
			ksft_fail("MADV_DONTFORK failed: %s", strerror(-ret));
			goto munmap;
		}
		child = catalog_fork(&ret);
		if (!child) {
			ksft_fail("fork() failed: %s", strerror(-ret));
			goto munmap;
		}
		catalog_exit(child);
		ret = do_madvise(mm, mem + pagesize, thpsize - pagesize, MADV_DOFORK);
		if (ret) {
			ksft_fail("MADV_DOFORK failed: %s", strerror(-ret));
			goto munmap;
		}
		break;
	}
	}

	switch (thp_run) {
	case THP_RUN_PMD_SWAPOUT:
	case THP_RUN_PTE_SWAPOUT:
	case THP_RUN_SINGLE_PTE_SWAPOUT:
		if (!swap_out(mem, size)) {
			ksft_skip("%s", swap_reason);
			goto munmap;
		}
		break;
	default:
		break;
	}
	fn(mem, size, false);
munmap:
	vm_munmap(mmap_mem, mmap_size);
	if (mremap_mem)
		vm_munmap(mremap_mem, mremap_size);
}

static void run_with_thp(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_PMD, size);
}

static void run_with_thp_swap(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with swapped-out THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_PMD_SWAPOUT, size);
}

static void run_with_pte_mapped_thp(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with PTE-mapped THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_PTE, size);
}

static void run_with_pte_mapped_thp_swap(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with swapped-out, PTE-mapped THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_PTE_SWAPOUT, size);
}

static void run_with_single_pte_of_thp(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with single PTE of THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_SINGLE_PTE, size);
}

static void run_with_single_pte_of_thp_swap(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with single PTE of swapped-out THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_SINGLE_PTE_SWAPOUT, size);
}

static void run_with_partial_mremap_thp(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with partially mremap()'ed THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_PARTIAL_MREMAP, size);
}

static void run_with_partial_shared_thp(test_fn fn, const char *desc, size_t size)
{
	ksft_run("%s ... with partially shared THP (%zu kB)", desc, size / KiB);
	do_run_with_thp(fn, THP_RUN_PARTIAL_SHARED, size);
}

static unsigned long hugetlb_flags(size_t hugetlbsize)
{
	return MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
	       ((unsigned long)__builtin_ctzll(hugetlbsize) << MAP_HUGE_SHIFT);
}

static void run_with_hugetlb(test_fn fn, const char *desc, size_t hugetlbsize)
{
	unsigned long flags = hugetlb_flags(hugetlbsize), mem, dummy;

	ksft_run("%s ... with hugetlb (%zu kB)", desc, hugetlbsize / KiB);
	mem = vm_mmap(NULL, 0, hugetlbsize, PROT_READ | PROT_WRITE, flags, 0);
	if (IS_ERR_VALUE(mem)) {
		ksft_skip("need more free huge pages");
		return;
	}
	/* Populate the huge page. */
	if (user_memset(mem, 1, hugetlbsize)) {
		ksft_fail("populating the huge page faulted");
		goto munmap;
	}
	/* COW and unsharing need a second huge page; without one the process would be killed
	 * with SIGBUS instead of failing the case. */
	dummy = vm_mmap(NULL, 0, hugetlbsize, PROT_READ | PROT_WRITE, flags, 0);
	if (IS_ERR_VALUE(dummy)) {
		ksft_skip("need more free huge pages");
		goto munmap;
	}
	vm_munmap(dummy, hugetlbsize);
	fn(mem, hugetlbsize, true);
munmap:
	vm_munmap(mem, hugetlbsize);
}

struct test_case {
	const char *desc;
	test_fn fn;
};

/* Pages in private mappings that fork() may COW-share. */
static const struct test_case anon_test_cases[] = {
	/* fork() without GUP: a missed COW break shows either way. */
	{ "Basic COW after fork()", test_cow_in_parent },
	{ "Basic COW after fork() with mprotect() optimization", test_cow_in_parent_mprotect },
	/* CVE-2020-29374: a R/O GUP reference in the child's pipe sees the parent's write. */
	{ "vmsplice() + unmap in child", test_vmsplice_in_child },
	{ "vmsplice() + unmap in child with mprotect() optimization",
	  test_vmsplice_in_child_mprotect },
	/* The parent's pipe must not see the child's write. */
	{ "vmsplice() before fork(), unmap in parent after fork()", test_vmsplice_before_fork },
	{ "vmsplice() + unmap in parent after fork()", test_vmsplice_after_fork },
	/* A R/W long-term pin keeps seeing the page its owner writes. */
	{ "R/O-mapping a page registered as iouring fixed buffer", test_iouring_ro },
	{ "fork() with an iouring fixed buffer", test_iouring_fork },
	/* A R/O long-term pin keeps seeing the page its owner writes. */
	{ "R/O GUP pin on R/O-mapped shared page", test_ro_pin_on_shared },
	{ "R/O GUP-fast pin on R/O-mapped shared page", test_ro_fast_pin_on_shared },
	{ "R/O GUP pin on R/O-mapped previously-shared page", test_ro_pin_on_ro_previously_shared },
	{ "R/O GUP-fast pin on R/O-mapped previously-shared page",
	  test_ro_fast_pin_on_ro_previously_shared },
	{ "R/O GUP pin on R/O-mapped exclusive page", test_ro_pin_on_ro_exclusive },
	{ "R/O GUP-fast pin on R/O-mapped exclusive page", test_ro_fast_pin_on_ro_exclusive },
};

static void run_anon_test_case(const struct test_case *tc)
{
	run_with_base_page(tc->fn, tc->desc);
	run_with_base_page_swap(tc->fn, tc->desc);
	for (size_t i = 0; i < ARRAY_SIZE(thpsizes); i++) {
		size_t size = thpsizes[i];

		if (size == pmdsize) {
			run_with_thp(tc->fn, tc->desc, size);
			run_with_thp_swap(tc->fn, tc->desc, size);
		}
		run_with_pte_mapped_thp(tc->fn, tc->desc, size);
		run_with_pte_mapped_thp_swap(tc->fn, tc->desc, size);
		run_with_single_pte_of_thp(tc->fn, tc->desc, size);
		run_with_single_pte_of_thp_swap(tc->fn, tc->desc, size);
		run_with_partial_mremap_thp(tc->fn, tc->desc, size);
		run_with_partial_shared_thp(tc->fn, tc->desc, size);
	}
	for (size_t i = 0; i < nr_hugetlbsizes; i++)
		run_with_hugetlb(tc->fn, tc->desc, hugetlbsizes[i]);
}

static unsigned int tests_per_anon_test_case(void)
{
	return (unsigned int)(2 + nr_hugetlbsizes + 6 * ARRAY_SIZE(thpsizes) + 2);
}

/* ---- anonymous THP: collapsing a PTE-mapped THP before or after fork() ---- */

enum anon_thp_collapse_test {
	ANON_THP_COLLAPSE_UNSHARED,
	ANON_THP_COLLAPSE_FULLY_SHARED,
	ANON_THP_COLLAPSE_LOWER_SHARED,
	ANON_THP_COLLAPSE_UPPER_SHARED,
};

static void do_test_anon_thp_collapse(unsigned long mem, size_t size,
				      enum anon_thp_collapse_test test)
{
	struct mm_struct *parent = current_mm(), *child;
	unsigned long child_mem = mem;
	size_t child_size = size;
	struct child_state c = { 0 };
	int ret;

	/* PTE-map the THP (one subpage R/O for a moment), so that it can be collapsed. */
	if (mprotect_ro_rw(mem + pagesize, pagesize)) {
		ksft_fail("mprotect() failed");
		return;
	}
	switch (test) {
	case ANON_THP_COLLAPSE_UNSHARED:
		/* Collapse before COW-sharing the page. */
		ret = do_madvise(parent, mem, size, MADV_COLLAPSE);
		if (ret) {
			ksft_skip("MADV_COLLAPSE failed: %s", strerror(-ret));
			return;
		}
		break;
	case ANON_THP_COLLAPSE_FULLY_SHARED:
		break;
	case ANON_THP_COLLAPSE_LOWER_SHARED:
		/* The child gets the lower half only. */
		ret = do_madvise(parent, mem + size / 2, size / 2, MADV_DONTFORK);
		if (ret) {
			ksft_fail("MADV_DONTFORK failed: %s", strerror(-ret));
			return;
		}
		child_size = size / 2;
		break;
	case ANON_THP_COLLAPSE_UPPER_SHARED:
		/* The child gets the upper half only. */
		ret = do_madvise(parent, mem, size / 2, MADV_DONTFORK);
		if (ret) {
			ksft_fail("MADV_DONTFORK failed: %s", strerror(-ret));
			return;
		}
		child_mem = mem + size / 2;
		child_size = size / 2;
		break;
	}

	child = catalog_fork(&ret);
	if (!child) {
		ksft_fail("fork() failed: %s", strerror(-ret));
		return;
	}
	catalog_switch_mm(child);
	child_memcmp_start(&c, child_mem, child_size);
	catalog_switch_mm(parent);

	switch (test) {
	case ANON_THP_COLLAPSE_UNSHARED:
		break;
	case ANON_THP_COLLAPSE_UPPER_SHARED:
	case ANON_THP_COLLAPSE_LOWER_SHARED:
		/* Undo MADV_DONTFORK: the VMAs merge again and the block can collapse. */
		ret = do_madvise(parent, mem, size, MADV_DOFORK);
		if (ret) {
			ksft_fail("MADV_DOFORK failed: %s", strerror(-ret));
			goto quit_child;
		}
		/* fall through */
	case ANON_THP_COLLAPSE_FULLY_SHARED:
		/* Collapse before anyone modified the COW-shared page. */
		ret = do_madvise(parent, mem, size, MADV_COLLAPSE);
		if (ret) {
			ksft_skip("MADV_COLLAPSE failed: %s", strerror(-ret));
			goto quit_child;
		}
		break;
	}

	/* Modify the page. */
	ret = user_memset(mem, 0xff, size);
	catalog_switch_mm(child);
	if (ret)
		child_memcmp_finish(&c, child_mem, child_size);
	else
		ret = child_memcmp_finish(&c, child_mem, child_size);
	catalog_switch_mm(parent);
	catalog_exit(child);
	if (ret < 0)
		ksft_print_msg("the child failed: %s", strerror(-ret));
	ksft_result(ret == 0, "Leak from parent into child");
	return;
quit_child:
	catalog_switch_mm(child);
	child_memcmp_finish(&c, child_mem, child_size);
	catalog_switch_mm(parent);
	catalog_exit(child);
}

static void test_anon_thp_collapse_unshared(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_anon_thp_collapse(mem, size, ANON_THP_COLLAPSE_UNSHARED);
}

static void test_anon_thp_collapse_fully_shared(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_anon_thp_collapse(mem, size, ANON_THP_COLLAPSE_FULLY_SHARED);
}

static void test_anon_thp_collapse_lower_shared(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_anon_thp_collapse(mem, size, ANON_THP_COLLAPSE_LOWER_SHARED);
}

static void test_anon_thp_collapse_upper_shared(unsigned long mem, size_t size, bool is_hugetlb)
{
	(void)is_hugetlb;
	do_test_anon_thp_collapse(mem, size, ANON_THP_COLLAPSE_UPPER_SHARED);
}

/* In-place collapse of a PTE-mapped anonymous THP must carry the exclusivity over. */
static const struct test_case anon_thp_test_cases[] = {
	{ "Basic COW after fork() when collapsing before fork()",
	  test_anon_thp_collapse_unshared },
	{ "Basic COW after fork() when collapsing after fork() (fully shared)",
	  test_anon_thp_collapse_fully_shared },
	{ "Basic COW after fork() when collapsing after fork() (lower shared)",
	  test_anon_thp_collapse_lower_shared },
	{ "Basic COW after fork() when collapsing after fork() (upper shared)",
	  test_anon_thp_collapse_upper_shared },
};

/* ---- private mappings of what is not anonymous memory ---- */

typedef void (*non_anon_test_fn)(unsigned long mem, unsigned long smem, size_t size);

/* Write the private mapping: the other mapping must not see it. */
static void test_cow(unsigned long mem, unsigned long smem, size_t size)
{
	unsigned char *old = host_buffer(0, size);
	int ret;

	if (!old || user_read(old, smem, size)) {
		ksft_fail("backing up the content failed");
		return;
	}
	if (user_memset(mem, 0xff, size)) {
		ksft_fail("writing the page faulted");
		return;
	}
	ret = user_cmp(smem, old, size);
	ksft_result(ret == 0, "Other mapping modified");
}

static void test_ro_pin(unsigned long mem, unsigned long smem, size_t size)
{
	(void)smem;
	do_test_ro_pin(mem, size, RO_PIN_TEST, false);
}

static void test_ro_fast_pin(unsigned long mem, unsigned long smem, size_t size)
{
	(void)smem;
	do_test_ro_pin(mem, size, RO_PIN_TEST, true);
}

/* Read both mappings: what they map is now in the page tables (the zero page, page cache). */
static bool fault_in(unsigned long mem, unsigned long smem)
{
	unsigned char a, b;

	return !user_read(&a, mem, 1) && !user_read(&b, smem, 1);
}

static void run_with_zeropage(non_anon_test_fn fn, const char *desc)
{
	unsigned long mem, smem;
	int ret;

	ksft_run("%s ... with shared zeropage", desc);
	mem = user_mmap_anon(pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE, &ret);
	if (!mem) {
		ksft_fail("mmap() failed: %s", strerror(-ret));
		return;
	}
	smem = user_mmap_anon(pagesize, PROT_READ, MAP_PRIVATE, &ret);
	if (!smem) {
		ksft_fail("mmap() failed: %s", strerror(-ret));
		goto munmap;
	}
	/* Read both: the shared zero page is mapped in each. */
	if (!fault_in(mem, smem)) {
		ksft_fail("faulting the zero page in failed");
		goto munmap;
	}
	fn(mem, smem, pagesize);
munmap:
	vm_munmap(mem, pagesize);
	if (smem)
		vm_munmap(smem, pagesize);
}

static void run_with_huge_zeropage(non_anon_test_fn fn, const char *desc)
{
	(void)fn;
	ksft_run("%s ... with huge zeropage", desc);
	/* As the selftest on a kernel whose use_zero_page is 0. */
	ksft_skip("Huge zeropage not enabled (pinmm has no huge zero page: a read fault maps a "
		  "THP)");
}

/* The private (R/W) and shared (R/O) mappings of size bytes of file, then fn. */
static void run_with_file(non_anon_test_fn fn, struct file *file, size_t size, bool hugetlb)
{
	unsigned long mem, smem = 0;

	mem = vm_mmap(file, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(mem)) {
		if (hugetlb)
			ksft_skip("need more free huge pages (pinmm: mmap(MAP_PRIVATE) of a "
				  "hugetlb file: %s)", strerror((int)-(long)mem));
		else
			ksft_fail("mmap() failed: %s", strerror((int)-(long)mem));
		return;
	}
	smem = vm_mmap(file, 0, size, PROT_READ, MAP_SHARED, 0);
	if (IS_ERR_VALUE(smem)) {
		ksft_fail("mmap() failed: %s", strerror((int)-(long)smem));
		smem = 0;
		goto munmap;
	}
	if (!fault_in(mem, smem)) {
		ksft_fail("faulting the page in failed");
		goto munmap;
	}
	fn(mem, smem, size);
munmap:
	vm_munmap(mem, size);
	if (smem)
		vm_munmap(smem, size);
}

static void run_with_memfd(non_anon_test_fn fn, const char *desc)
{
	struct file *file;
	int ret;

	ksft_run("%s ... with memfd", desc);
	file = memfd_file_create("test", 0);
	if (IS_ERR(file)) {
		ksft_fail("memfd_create() failed: %s", strerror((int)-PTR_ERR(file)));
		return;
	}
	/* One page of zeroes. */
	ret = vfs_truncate(file, (loff_t)pagesize);
	if (ret)
		ksft_fail("fallocate() failed: %s", strerror(-ret));
	else
		run_with_file(fn, file, pagesize, false);
	fput(file);
}

static void run_with_tmpfile(non_anon_test_fn fn, const char *desc)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct file *file;
	int ret;

	ksft_run("%s ... with tmpfile", desc);
	file = filp_open(dir, O_TMPFILE | O_RDWR, 0600);
	if (IS_ERR(file)) {
		ksft_fail("tmpfile() failed: %s", strerror((int)-PTR_ERR(file)));
		return;
	}
	ret = vfs_truncate(file, (loff_t)pagesize);
	if (ret)
		ksft_fail("fallocate() failed: %s", strerror(-ret));
	else
		run_with_file(fn, file, pagesize, false);
	fput(file);
}

/* memfd_create(MFD_HUGETLB) is a hugetlb file: hugetlb_file_setup(), at its final size. */
static void run_with_memfd_hugetlb(non_anon_test_fn fn, const char *desc, size_t hugetlbsize)
{
	struct file *file;

	ksft_run("%s ... with memfd hugetlb (%zu kB)", desc, hugetlbsize / KiB);
	file = hugetlb_file_setup("memfd:test", hugetlbsize, 0, __builtin_ctzll(hugetlbsize));
	if (IS_ERR(file)) {
		ksft_skip("need more free huge pages: %s", strerror((int)-PTR_ERR(file)));
		return;
	}
	run_with_file(fn, file, hugetlbsize, true);
	fput(file);
}

struct non_anon_test_case {
	const char *desc;
	non_anon_test_fn fn;
};

/* Pages in private mappings shared independently of fork(): the zero page, the page cache. */
static const struct non_anon_test_case non_anon_test_cases[] = {
	/* A missed COW break shows in the other mapping. */
	{ "Basic COW", test_cow },
	/* A R/O long-term pin keeps seeing what the private mapping writes. */
	{ "R/O longterm GUP pin", test_ro_pin },
	{ "R/O longterm GUP-fast pin", test_ro_fast_pin },
};

static void run_non_anon_test_case(const struct non_anon_test_case *tc)
{
	run_with_zeropage(tc->fn, tc->desc);
	run_with_memfd(tc->fn, tc->desc);
	run_with_tmpfile(tc->fn, tc->desc);
	run_with_huge_zeropage(tc->fn, tc->desc);
	for (size_t i = 0; i < nr_hugetlbsizes; i++)
		run_with_memfd_hugetlb(tc->fn, tc->desc, hugetlbsizes[i]);
}

static unsigned int tests_per_non_anon_test_case(void)
{
	return (unsigned int)(4 + nr_hugetlbsizes);
}

/* The usage message after its first line. */
static const char usage_text[] =
	"  Linux's tools/testing/selftests/mm/cow.c case list on a simulated machine;\n"
	"  kselftest TAP output, exit status 1 if a case failed.\n";

int main(int argc, char **argv)
{
	struct catalog_machine m = {
		.ram_bytes = 3584ULL * MiB,
		.nr_hugepages_2m = 4,
		.nr_hugepages_1g = 2,
	};
	int ret = catalog_options(argc, argv, "cow", usage_text, &m);

	if (ret >= 0)
		return ret;
	nr_hugetlbsizes = catalog_hugetlb_sizes(&m, hugetlbsizes);
	ksft_print_header();
	catalog_boot(&m);
	swap_setup();
	ksft_print_msg("[INFO] detected PMD size: %zu KiB", pmdsize / KiB);
	for (size_t i = 0; i < ARRAY_SIZE(thpsizes); i++)
		ksft_print_msg("[INFO] detected THP size: %zu KiB", thpsizes[i] / KiB);
	for (size_t i = 0; i < nr_hugetlbsizes; i++)
		ksft_print_msg("[INFO] detected hugetlb page size: %zu KiB", hugetlbsizes[i] / KiB);
	ksft_set_plan((unsigned int)(ARRAY_SIZE(anon_test_cases) * tests_per_anon_test_case() +
				     ARRAY_SIZE(anon_thp_test_cases) +
				     ARRAY_SIZE(non_anon_test_cases) *
					     tests_per_non_anon_test_case()));

	ksft_print_msg("[INFO] Anonymous memory tests in private mappings");
	for (size_t i = 0; i < ARRAY_SIZE(anon_test_cases); i++)
		run_anon_test_case(&anon_test_cases[i]);

	ksft_print_msg("[INFO] Anonymous THP tests");
	for (size_t i = 0; i < ARRAY_SIZE(anon_thp_test_cases); i++) {
		ksft_run("%s", anon_thp_test_cases[i].desc);
		do_run_with_thp(anon_thp_test_cases[i].fn, THP_RUN_PMD, pmdsize);
	}

	ksft_print_msg("[RUN] Non-anonymous memory tests in private mappings");
	for (size_t i = 0; i < ARRAY_SIZE(non_anon_test_cases); i++)
		run_non_anon_test_case(&non_anon_test_cases[i]);

	catalog_shutdown();
	return ksft_finish();
}
