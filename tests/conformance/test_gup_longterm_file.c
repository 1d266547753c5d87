/* SPDX-License-Identifier: MIT */
/*
 * Conformance: writable long-term pins of file mappings, under both rule sets (Linux 6.5,
 * commits 8ac268436e6d and a6e79df92e4a: writable_file_mapping_allowed(),
 * gup_fast_folio_allowed(); and 34ed8d0dcd69 for io_uring). The matrix: backing (a host file,
 * a memfd, a hugetlb file) x mapping (shared, private) x access (read-only, read-write) x path
 * (pin_user_pages(), pin_user_pages_fast(), pin_user_pages_fast_only(), io_uring's buffer
 * registration, which always pins for writing).
 *
 *  - 5.7: every pin works; io_uring refuses every file mapping but hugetlb's (-EOPNOTSUPP).
 *  - modern: a writable long-term pin of a shared mapping of a host file (a file whose
 *    dirtiness the file system tracks) fails with -EFAULT, the fast path leaves it to the slow
 *    path (pin_user_pages_fast_only(): 0), nothing is pinned; shmem / memfd and hugetlb files,
 *    private mappings (the write COWs to anonymous memory) and read-only pins work; io_uring
 *    leaves the decision to GUP. A read-only pin of a private mapping pins an anonymous copy
 *    that an unshare fault made (6.2, commit 84209e87c696), which the fast-only path cannot.
 *
 * The machine has no ZONE_MOVABLE, so that the fast path reaches the file check (under modern
 * rules a ZONE_MOVABLE page is left to the slow path before that: test_gup_longterm_movable.c).
 * pinmm's hugetlb files support only shared mappings (include/pinmm/mman.h).
 */
#include <string.h>

#include "gup_conformance.h"

enum backing { HOST, MEMFD, HUGETLB, NR_BACKINGS };
enum path { SLOW, FAST, FAST_ONLY, IO_URING, NR_PATHS };

static const char *const backing_names[] = {"a host file", "a memfd", "a hugetlb file"};
static const char *const path_names[] = {"pin_user_pages", "pin_user_pages_fast",
					 "pin_user_pages_fast_only", "io_sqe_buffers_register"};

static bool modern(void)
{
	return pinmm_rules() == PINMM_RULES_MODERN;
}

static int setup_files(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = rules;
	cfg.movable_bytes = 0;
	cfg.nr_hugepages_2m = 2;
	return gup_setup_with(state, &cfg);
}

static int setup_files_57(void **state)
{
	return setup_files(state, PINMM_RULES_5_7);
}

static int setup_files_modern(void **state)
{
	return setup_files(state, PINMM_RULES_MODERN);
}

/* The backing's file, at least len bytes; NULL (the test skipped) when the host's /tmp cannot
 * hold an O_TMPFILE file. */
static struct file *open_backing(enum backing b, unsigned long len)
{
	struct file *f;

	switch (b) {
	case HOST:
		f = filp_open("/tmp", O_TMPFILE | O_RDWR, 0600);
		if (IS_ERR(f) && (PTR_ERR(f) == -EOPNOTSUPP || PTR_ERR(f) == -EISDIR))
			return NULL;
		break;
	case MEMFD:
		f = memfd_file_create("longterm-file", 0);
		break;
	default:
		return hugetlb_file_setup("memfd:longterm-file", len, 0, 0);
	}
	assert_false(IS_ERR(f));
	assert_int_equal(vfs_truncate(f, (loff_t)len), 0);
	return f;
}

/* Modern rules (6.2): a read-only long-term pin of a private mapping pins an anonymous copy of
 * the file's page, made by an unshare fault, not the page itself. */
static bool private_ro_unshared(bool shared, bool write)
{
	return modern() && !shared && !write;
}

/* The page a pin takes is anonymous: the COW copy of a write, or the copy an unshare made. */
static bool pins_anon_copy(bool shared, bool write)
{
	return (!shared && write) || private_ro_unshared(shared, write);
}

/* What the call should give: its return value, and whether it pins. */
struct expect {
	long ret;
	bool pins;
};

static struct expect expected(enum backing b, bool shared, bool write, enum path p)
{
	bool refused = modern() && shared && write && b == HOST;

	if (p == IO_URING) {
		if (!modern() && b != HUGETLB)
			return (struct expect){-EOPNOTSUPP, false};
		return refused ? (struct expect){-EFAULT, false} : (struct expect){0, true};
	}
	/* 6.2: a R/O long-term pin of a private mapping first unshares the file's page, which
	 * only the slow path can do. */
	if (p == FAST_ONLY)
		return refused || private_ro_unshared(shared, write) ? (struct expect){0, false}
								     : (struct expect){1, true};
	return refused ? (struct expect){-EFAULT, false} : (struct expect){1, true};
}

static void one_case(enum backing b, bool shared, bool write, enum path p)
{
	unsigned long len = b == HUGETLB ? SZ_2M : PG(1);
	unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	struct file *f = open_backing(b, len);
	struct io_ring_ctx *ctx = NULL;
	struct expect e;
	struct page *page = NULL;
	char what[200];
	unsigned long addr;
	long a0, rel0, ret;

	if (!f) {
		skip();
		return;
	}
	snprintf(what, sizeof(what), "%s rules: %s of a %s %s mapping of %s",
		 modern() ? "modern" : "5.7", path_names[p], write ? "R/W" : "R/O",
		 shared ? "shared" : "private", backing_names[b]);
	e = expected(b, shared, write, p);
	addr = vm_mmap(f, 0, len, RW, shared ? MAP_SHARED : MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(addr))
		gup_fail("%s: vm_mmap failed with %ld", what, (long)addr);
	/* Shared: written first, so the fast path finds a writable PTE to grab. Private: read,
	 * so that the file page is what is mapped until a write pin COWs it. */
	if (shared)
		put_word(addr, 0x5eed, what);
	else
		get_word(addr, what);
	a0 = nr_acquired();
	rel0 = nr_released();
	switch (p) {
	case SLOW:
		ret = pin_locked(addr, 1, flags, &page);
		break;
	case FAST:
		ret = pin_user_pages_fast(addr, 1, flags, &page);
		break;
	case FAST_ONLY:
		ret = pin_user_pages_fast_only(addr, 1, flags, &page);
		break;
	default: {
		struct iovec iov = {(void *)addr, 8};

		ctx = io_ring_ctx_alloc();
		assert_non_null(ctx);
		ret = io_sqe_buffers_register(ctx, &iov, 1);
		break;
	}
	}
	check_eq(ret, e.ret, "%s", what);
	if (e.pins) {
		struct page *mapped = page_at(current_mm(), addr);

		check_true(mapped && page_maybe_dma_pinned(mapped), "%s: the page is pinned", what);
		if (p != IO_URING) {
			check_true(page == mapped, "%s: the page returned is mapped there", what);
			check_true(pins_anon_copy(shared, write) ? PageAnon(page) : !PageAnon(page),
				   "%s: the pinned page is %s", what,
				   !shared && write ? "the private COW copy"
				   : pins_anon_copy(shared, write) ? "the unshared copy"
								   : "the file's page");
			unpin_user_page(page);
		} else {
			check_eq(io_sqe_buffers_unregister(ctx), 0, "%s: unregister", what);
		}
	} else {
		struct page *mapped = page_at(current_mm(), addr);

		check_true(!mapped || !page_maybe_dma_pinned(mapped), "%s: nothing pinned", what);
		if (p == IO_URING)
			check_eq(io_sqe_buffers_unregister(ctx), -ENXIO, "%s: nothing registered",
				 what);
	}
	check_eq(nr_acquired() - a0, nr_released() - rel0, "%s: every pin taken was released",
		 what);
	if (shared)
		check_eq(get_word(addr, what), 0x5eed, "%s: the data", what);
	if (ctx)
		io_ring_ctx_free(ctx);
	check_eq(vm_munmap(addr, len), 0, "%s: munmap", what);
	fput(f);
}

static void test_matrix(void **state)
{
	(void)state;
	for (int b = 0; b < NR_BACKINGS; b++)
		for (int shared = 1; shared >= 0; shared--)
			for (int write = 0; write < 2; write++)
				for (int p = 0; p < NR_PATHS; p++) {
					if (b == HUGETLB && !shared)
						continue; /* pinmm: shared hugetlb files only */
					if (p == FAST_ONLY && !shared)
						continue; /* a private PTE is read-only */
					if (p == IO_URING && !write)
						continue; /* io_uring always pins for writing */
					one_case((enum backing)b, shared, write, (enum path)p);
				}
	check_eq(pinmm_check_invariants(), 0, "the file matrix: pinmm_check_invariants()");
}

/*
 * A refused fast pin counts as a pin taken and released (Linux's try_grab_folio_fast() takes
 * it before gup_fast_folio_allowed() says no), and the slow path refuses before pinning: A and
 * Rel move by one each, the page's counts do not move.
 */
static void test_fast_refusal_counts(void **state)
{
	struct file *f = open_backing(HOST, PG(1));
	struct page *page, *mapped;
	struct pin_state s0;
	unsigned long addr;

	(void)state;
	if (!f) {
		skip();
		return;
	}
	addr = vm_mmap(f, 0, PG(1), RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	put_word(addr, 1, "host file");
	mapped = mapped_page(current_mm(), addr, "host file");
	s0 = pin_state_of(mapped);
	check_eq(pin_user_pages_fast(addr, 1, FOLL_LONGTERM | FOLL_WRITE, &page),
		 modern() ? -EFAULT : 1, "pin_user_pages_fast(FOLL_LONGTERM | FOLL_WRITE), shared "
					 "host file, %s rules", modern() ? "modern" : "5.7");
	if (modern()) {
		expect_pin_state(&s0, mapped, 0, 0, false, 1, 1, 0,
				 "the refused fast long-term pin (modern rules)");
	} else {
		expect_pin_state(&s0, mapped, GUP_PIN_COUNTING_BIAS, 0, true, 1, 0, 0,
				 "the fast long-term pin (5.7 rules)");
		unpin_user_page(page);
	}
	vm_munmap(addr, PG(1));
	fput(f);
	check_eq(pinmm_check_invariants(), 0, "fast refusal: pinmm_check_invariants()");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_matrix, setup_files_57, gup_teardown),
		cmocka_unit_test_setup_teardown(test_matrix, setup_files_modern, gup_teardown),
		cmocka_unit_test_setup_teardown(test_fast_refusal_counts, setup_files_57,
						gup_teardown),
		cmocka_unit_test_setup_teardown(test_fast_refusal_counts, setup_files_modern,
						gup_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
