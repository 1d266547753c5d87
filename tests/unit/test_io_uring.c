/* SPDX-License-Identifier: MIT */
/*
 * io_uring's fixed buffers (<pinmm/io_uring.h>): registering pins every page of every range
 * with FOLL_WRITE | FOLL_LONGTERM (small pages, THP, hugetlb), all or nothing; fixed writes
 * and reads go to the pinned pages; unregistering, or freeing the ring, unpins them. Every bad
 * argument returns io_uring's errno and leaves no pin behind, file-backed memory included
 * (5.7 refuses it). And gup_longterm / cow.c's io_uring case under both rule sets: under 5.7's,
 * after fork, the parent's write COWs away from the registered page, so a fixed write sends the
 * old data; under modern rules fork copies the registered page for the child instead.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "test_mm_util.h"

#define BASE 0x40000000UL

static long pins_held(void)
{
	return nr_acquired() - nr_released();
}

static void test_bad_arguments_leave_no_pin(void **state)
{
	struct mm_struct *mm = *state;
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	unsigned long a = map(0, PG(4), RW, ANON, "4 pages");
	unsigned long ro = map(0, PG(1), PROT_READ, ANON, "read-only");
	unsigned long shanon = map(0, PG(1), RW, MAP_SHARED | MAP_ANONYMOUS, "shared anonymous");
	struct file *memfd = memfd_file_create("buf", 0);
	unsigned long filemap;
	struct iovec many[1025], good = {(void *)a, PG(2)};
	struct page *p0;
	int refs0;
	struct {
		const char *what;
		struct io_ring_ctx *ctx;
		struct iovec iov[2];
		unsigned int nr;
		bool null_iovs;
		int err;
	} cases[] = {
		{"NULL ring", NULL, {good}, 1, false, -EBADF},
		{"no buffers", ctx, {good}, 0, false, -EINVAL},
		{"NULL iovs", ctx, {good}, 1, true, -EFAULT},
		{"a NULL base", ctx, {{NULL, PAGE_SIZE}}, 1, false, -EFAULT},
		{"a length of 0", ctx, {{(void *)a, 0}}, 1, false, -EFAULT},
		{"a length above 1 GiB", ctx, {{(void *)a, SZ_1G + PAGE_SIZE}}, 1, false, -EFAULT},
		{"a range past TASK_SIZE", ctx, {{(void *)(TASK_SIZE - PAGE_SIZE), PG(2)}}, 1, false,
		 -EFAULT},
		{"nothing mapped after the first pages", ctx, {{(void *)a, PG(4) + 1}}, 1, false,
		 -EFAULT},
		{"a read-only mapping", ctx, {{(void *)ro, 8}}, 1, false, -EFAULT},
		{"a good buffer, then a read-only one", ctx, {good, {(void *)ro, 8}}, 2, false,
		 -EFAULT},
		{"shared anonymous memory (shmem)", ctx, {good, {(void *)shanon, 8}}, 2, false,
		 -EOPNOTSUPP},
		{"a memfd mapping", ctx, {{NULL, 8}}, 1, false, -EOPNOTSUPP},
	};

	assert_non_null(ctx);
	assert_false(IS_ERR(memfd));
	assert_int_equal(vfs_truncate(memfd, (loff_t)PAGE_SIZE), 0);
	filemap = vm_mmap(memfd, 0, PAGE_SIZE, RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(filemap));
	cases[11].iov[0].iov_base = (void *)filemap;
	tag_pages(a, 4, 0x10, "4 pages");
	put_word(shanon, 1, "shared anonymous");
	put_word(filemap, 1, "memfd");
	p0 = page_at(mm, a);
	refs0 = page_ref_count(p0);
	for (int i = 0; i < 1025; i++)
		many[i] = good;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long held = pins_held();

		check_eq(io_sqe_buffers_register(cases[i].ctx, cases[i].null_iovs ? NULL : cases[i].iov,
						 cases[i].nr),
			 cases[i].err, "register with %s", cases[i].what);
		check_eq(pins_held(), held, "pins held after register with %s", cases[i].what);
		check_eq(page_ref_count(p0), refs0, "refcount after register with %s", cases[i].what);
		check_eq(io_sqe_buffers_unregister(ctx), -ENXIO, "nothing registered after %s",
			 cases[i].what);
	}
	check_eq(io_sqe_buffers_register(ctx, many, 1025), -EINVAL, "1025 buffers");
	check_eq(io_sqe_buffers_unregister(NULL), -EBADF, "unregister of a NULL ring");

	kthread_unuse_mm(mm);
	check_eq(io_sqe_buffers_register(ctx, &good, 1), -ESRCH, "register without an mm");
	kthread_use_mm(mm);

	/* Registered once: a second registration is -EBUSY and changes nothing. */
	check_eq(io_sqe_buffers_register(ctx, &good, 1), 0, "register");
	check_eq(pins_held(), 2, "two pages pinned");
	check_eq(io_sqe_buffers_register(ctx, &good, 1), -EBUSY, "a second registration");
	check_eq(pins_held(), 2, "still two pages pinned");
	{
		unsigned long w;

		check_eq(io_write_fixed(NULL, 0, a, &w, 8), -EBADF, "write_fixed on a NULL ring");
		check_eq(io_write_fixed(ctx, 1, a, &w, 8), -EFAULT, "write_fixed of buffer 1");
		check_eq(io_write_fixed(ctx, 0, a - 8, &w, 8), -EFAULT, "write_fixed before it");
		check_eq(io_write_fixed(ctx, 0, a + PG(2) - 4, &w, 8), -EFAULT,
			 "write_fixed past its end");
		check_eq(io_write_fixed(ctx, 0, a + 8, &w, (size_t)-4), -EFAULT,
			 "write_fixed with a wrapping length");
		check_eq(io_write_fixed(ctx, 0, a, NULL, 8), -EFAULT, "write_fixed into NULL");
		check_eq(io_read_fixed(ctx, 0, a, NULL, 8), -EFAULT, "read_fixed from NULL");
		check_eq(io_write_fixed(ctx, 0, a, &w, 0), 0, "write_fixed of 0 bytes");
	}
	expect_tags(a, 4, 0x10, "the pages after the refused I/O");
	check_eq(io_sqe_buffers_unregister(ctx), 0, "unregister");
	check_eq(pins_held(), 0, "no pin left");
	io_ring_ctx_free(ctx);
	io_ring_ctx_free(NULL);
	vm_munmap(filemap, PAGE_SIZE);
	fput(memfd);
}

/* Two buffers, one of them unaligned across pages: each page pinned once; I/O both ways. */
static void test_register_pins_and_io_reaches_the_pages(void **state)
{
	struct mm_struct *mm = *state;
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	unsigned long a = map(0, PG(4), RW, ANON, "4 pages");
	struct iovec iov[2] = {{(void *)(a + 100), PG(2)}, {(void *)(a + PG(3)), PAGE_SIZE}};
	struct page *pages[4];
	char out[PG(2)], in[64];
	long acquired = nr_acquired();

	assert_non_null(ctx);
	for (size_t i = 0; i < PG(4); i += 8)
		put_word(a + i, i, "fill");
	for (int i = 0; i < 4; i++)
		pages[i] = page_at(mm, a + PG(i));
	check_eq(io_sqe_buffers_register(ctx, iov, 2), 0, "register two buffers");
	check_eq(nr_acquired(), acquired + 4, "pins: pages 0-2 and page 3");
	for (int i = 0; i < 4; i++) {
		check_true(page_maybe_dma_pinned(pages[i]), "page %d pinned", i);
		check_eq(page_ref_count(pages[i]), 1 + GUP_PIN_COUNTING_BIAS, "refcount of page %d",
			 i);
	}

	check_eq(io_write_fixed(ctx, 0, a + 100, out, sizeof(out)), (ssize_t)sizeof(out),
		 "write_fixed of buffer 0");
	for (size_t i = 0; i < sizeof(out); i++) {
		unsigned long byte_at = 100 + i, word = byte_at & ~7UL;

		if (out[i] != ((const char *)&word)[byte_at & 7])
			test_fail("write_fixed: byte %zu is %d, expected %d", i, out[i],
				  ((const char *)&word)[byte_at & 7]);
	}
	memset(in, 0x5a, sizeof(in));
	check_eq(io_read_fixed(ctx, 1, a + PG(4) - sizeof(in), in, sizeof(in)),
		 (ssize_t)sizeof(in), "read_fixed into the end of buffer 1");
	check_eq(get_word(a + PG(4) - 8, "after read_fixed"), 0x5a5a5a5a5a5a5a5aUL,
		 "the process sees what the device wrote");

	check_eq(io_sqe_buffers_unregister(ctx), 0, "unregister");
	for (int i = 0; i < 4; i++)
		check_eq(page_ref_count(pages[i]), 1, "refcount of page %d after unregister", i);
	check_eq(pins_held(), 0, "every pin released");
	io_ring_ctx_free(ctx);
	unmap(a, PG(4), "4 pages");
}

/* A THP, a private and a shared hugetlb page: their pins are exact (compound_pincount); the
 * ring's release unpins them. */
static void test_huge_buffers_and_release(void **state)
{
	struct mm_struct *mm = *state;
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	unsigned long thp = map(BASE, SZ_2M, RW, ANON | MAP_FIXED, "THP");
	unsigned long huge = map(BASE + SZ_1G, SZ_2M, RW, ANON | MAP_HUGETLB | MAP_FIXED, "hugetlb");
	/* Shared hugetlb memory is a hugetlb file: the one file-backed kind 5.7 registers. */
	unsigned long shared = map(BASE + 2 * SZ_1G, SZ_2M, RW,
				   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, "shared hugetlb");
	struct iovec iov[3] = {{(void *)thp, SZ_2M}, {(void *)(huge + PAGE_SIZE), PG(3)},
			       {(void *)shared, PG(1)}};
	struct page *thp_head, *huge_head, *shared_head;

	assert_non_null(ctx);
	put_word(thp, 1, "THP");
	put_word(huge, 2, "hugetlb");
	put_word(shared, 3, "shared hugetlb");
	expect_level(mm, thp, LEAF_PMD, "the THP");
	thp_head = page_at(mm, thp);
	huge_head = page_at(mm, huge);
	shared_head = page_at(mm, shared);
	check_eq(io_sqe_buffers_register(ctx, iov, 3), 0,
		 "register a THP, a private and a shared hugetlb range");
	check_eq(compound_pincount(thp_head), 512, "the THP's exact pin count");
	check_eq(compound_pincount(huge_head), 3, "the hugetlb page's exact pin count");
	check_eq(compound_pincount(shared_head), 1, "the shared hugetlb page's exact pin count");
	io_ring_ctx_free(ctx);
	check_eq(compound_pincount(thp_head), 0, "the THP after the ring is freed");
	check_eq(compound_pincount(huge_head), 0, "the hugetlb page after the ring is freed");
	check_eq(compound_pincount(shared_head), 0, "the shared page after the ring is freed");
	check_eq(pins_held(), 0, "every pin released");
	unmap(thp, SZ_2M, "THP");
	unmap(huge, SZ_2M, "hugetlb");
	unmap(shared, SZ_2M, "shared hugetlb");
}

/* The default machine without ZONE_MOVABLE: what the tests register is memory a long-term pin
 * may hold under either rule set, so the registration pins the pages mapped there (under
 * modern rules a registration migrates ZONE_MOVABLE pages out first:
 * tests/conformance/test_gup_longterm.c). */
static int setup_no_movable(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.movable_bytes = 0;
	return boot_with_mm(state, &cfg);
}

/* The same under 5.7 rules, for the refusals that are 5.7's (io_uring's own refusal of shmem
 * and memfd memory; modern rules leave files to GUP: tests/conformance/test_gup_longterm_file.c). */
static int setup_no_movable_57(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = PINMM_RULES_5_7;
	cfg.movable_bytes = 0;
	return boot_with_mm(state, &cfg);
}

static int setup_hugetlb(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.movable_bytes = 0;
	cfg.nr_hugepages_2m = 3;
	return boot_with_mm(state, &cfg);
}

/*
 * cow.c's io_uring case, without and with fork. Without fork, a write by the process lands in
 * the registered page. Under 5.7's rules fork shares the registered page, the parent's write
 * after fork finds it shared and copies it: the registered (pinned) page keeps the old data and
 * a fixed write sends that. Linux fixed this in 5.9 (70e806e4e645, "mm: Do early cow for
 * pinned pages during fork() for ptes"): under modern rules fork gives the child a copy, the
 * parent keeps the registered page and the fixed write sends what the parent wrote.
 */
static void registered_buffer_across_fork(struct mm_struct *mm, bool modern)
{
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	unsigned long a = map(0, PG(1), RW, ANON, "buffer"), out = 0;
	struct iovec iov = {(void *)a, PAGE_SIZE};
	const char *rules = modern ? "modern" : "5.7";
	struct mm_struct *child;
	struct page *pinned;

	assert_non_null(ctx);
	put_word(a, 0x01d, "before register");
	check_eq(io_sqe_buffers_register(ctx, &iov, 1), 0, "register");
	pinned = page_at(mm, a);
	put_word(a, 0x2d, "a write without fork");
	check_eq(io_write_fixed(ctx, 0, a, &out, sizeof(out)), (ssize_t)sizeof(out), "write_fixed");
	check_eq(out, 0x2d, "without fork the registered page is the process's");

	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	put_word(a, 0x3e, "the parent's write after fork");
	check_eq(page_at(mm, a) == pinned, modern,
		 "%s: the parent still maps the registered page after its write", rules);
	check_eq(io_write_fixed(ctx, 0, a, &out, sizeof(out)), (ssize_t)sizeof(out), "write_fixed");
	check_eq(out, modern ? 0x3e : 0x2d,
		 "%s: the fixed write after fork sends the parent's data (modern) or the old (5.7)",
		 rules);
	check_eq(remote_word(child, a, "child"), 0x2d, "%s: the child's data", rules);
	check_true(page_maybe_dma_pinned(pinned), "the registered page is still pinned");
	io_ring_ctx_free(ctx);
	mmput(child);
	unmap(a, PG(1), "buffer");
}

static void test_fork_breaks_the_registered_buffer_under_5_7(void **state)
{
	registered_buffer_across_fork(*state, false);
}

static void test_fork_keeps_the_registered_buffer_under_modern(void **state)
{
	registered_buffer_across_fork(*state, true);
}

/* Every allocation of a registration failing in turn (N = 1, 2, ... until it succeeds): each
 * failure returns an error, registers nothing and leaves no pin. */
static void test_register_under_fault_injection(void **state)
{
	struct io_ring_ctx *ctx;
	unsigned long a = map(0, PG(8), RW, ANON | MAP_POPULATE, "8 pages");
	struct iovec iov[3] = {{(void *)a, PG(2)}, {(void *)(a + PG(3)), 100},
			       {(void *)(a + PG(4)), PG(4)}};
	unsigned long n;
	int ret = -1;

	(void)state;
	if (pinmm_fail_set(NULL) == -EOPNOTSUPP) {
		skip(); /* built with HOOKS=0 */
		return;
	}
	for (n = 1; n < 100; n++) {
		struct pinmm_fail_attr attr = {.nth = n};

		assert_int_equal(pinmm_fail_set(&attr), 0);
		ctx = io_ring_ctx_alloc();
		ret = ctx ? io_sqe_buffers_register(ctx, iov, 3) : -ENOMEM;
		pinmm_fail_set(NULL);
		if (!ret)
			break;
		check_true(ret < 0, "allocation %lu failing: register returned %d", n, ret);
		check_eq(pins_held(), 0, "pins held with allocation %lu failing", n);
		if (ctx) {
			check_eq(io_sqe_buffers_unregister(ctx), -ENXIO,
				 "nothing registered with allocation %lu failing", n);
			io_ring_ctx_free(ctx);
		}
	}
	check_eq(ret, 0, "the registration once no allocation fails (after %lu)", n);
	check_true(n > 2, "allocations failed on the way (%lu)", n);
	check_eq(pins_held(), 7, "pages 0-1, 3 and 4-7 pinned");
	io_ring_ctx_free(ctx);
	check_eq(pins_held(), 0, "every pin released");
	unmap(a, PG(8), "8 pages");
}

/* ---- registration and I/O on two CPUs ---- */

struct race {
	struct mm_struct *mm;
	struct io_ring_ctx *ctx;
	unsigned long addr;
	atomic_bool stop;
	int registered;
};

static void *registrar(void *arg)
{
	struct race *r = arg;
	struct iovec iov = {(void *)r->addr, PG(2)};

	kthread_use_mm(r->mm);
	for (int i = 0; i < 300; i++) {
		if (io_sqe_buffers_register(r->ctx, &iov, 1) == 0)
			r->registered++;
		io_sqe_buffers_unregister(r->ctx);
	}
	atomic_store(&r->stop, true);
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void test_register_races_with_io(void **state)
{
	struct race r = {.mm = *state, .ctx = io_ring_ctx_alloc()};
	pthread_t t;
	long writes = 0;

	assert_non_null(r.ctx);
	r.addr = map(0, PG(2), RW, ANON, "2 pages");
	put_word(r.addr + PAGE_SIZE, 0xface, "page 1");
	atomic_init(&r.stop, false);
	assert_int_equal(pthread_create(&t, NULL, registrar, &r), 0);
	while (!atomic_load(&r.stop)) {
		unsigned long out = 0;
		ssize_t n = io_write_fixed(r.ctx, 0, r.addr + PAGE_SIZE, &out, sizeof(out));

		if (n == -EFAULT)
			continue;
		check_eq(n, (ssize_t)sizeof(out), "write_fixed while registered");
		check_eq(out, 0xface, "the registered page's data");
		writes++;
	}
	pthread_join(t, NULL);
	check_eq(r.registered, 300, "every registration succeeded");
	check_eq(pins_held(), 0, "every pin released");
	io_ring_ctx_free(r.ctx);
	unmap(r.addr, PG(2), "2 pages");
	(void)writes;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_arguments_leave_no_pin, setup_no_movable_57,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_register_pins_and_io_reaches_the_pages, setup_no_movable,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_huge_buffers_and_release, setup_hugetlb,
						teardown_mm),
		test_with_mm_57(test_fork_breaks_the_registered_buffer_under_5_7),
		test_with_mm_modern(test_fork_keeps_the_registered_buffer_under_modern),
		test_with_mm(test_register_under_fault_injection),
		test_with_mm(test_register_races_with_io),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
