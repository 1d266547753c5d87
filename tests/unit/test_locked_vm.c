/* SPDX-License-Identifier: MIT */
/*
 * RLIMIT_MEMLOCK accounting (<pinmm/mman.h>, src/vm/util.c): account_locked_vm() charges
 * mm->locked_vm against the mm's limit, io_uring's registration charges mm->pinned_vm; a
 * charge over the limit is -ENOMEM and leaves nothing charged or pinned; CAP_IPC_LOCK lifts
 * the limit; a limit below what is charged is refused. And where the rule sets differ: 5.7's
 * io_uring charges every subpage of every buffer, so two buffers over one THP count it twice,
 * while modern rules charge each huge page once (rule_io_uring_acct_per_head_page()).
 */
#include <errno.h>
#include <sys/resource.h>

#include "test_mm_util.h"

#define BASE 0x40000000UL

static long pinned_vm(struct mm_struct *mm)
{
	return (long)atomic_load(&mm->pinned_vm);
}

static unsigned long locked_vm(struct mm_struct *mm)
{
	return atomic_load(&mm->locked_vm);
}

static long pins_held(void)
{
	return nr_acquired() - nr_released();
}

static int boot_no_movable(void **state, enum pinmm_rules rules)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.rules = rules;
	cfg.movable_bytes = 0;
	return boot_with_mm(state, &cfg);
}

static int setup_57(void **state)
{
	return boot_no_movable(state, PINMM_RULES_5_7);
}

static int setup_modern(void **state)
{
	return boot_no_movable(state, PINMM_RULES_MODERN);
}

static void test_account_locked_vm_against_the_limit(void **state)
{
	struct mm_struct *mm = *state;

	check_eq(mm_memlock_limit(mm), (unsigned long)RLIM_INFINITY, "a new mm's limit");
	check_eq(account_locked_vm(mm, 100, true), 0, "charge 100 pages with no limit");
	check_eq(locked_vm(mm), 100UL, "locked_vm after charging 100");
	check_eq(mm_set_memlock_limit(mm, PG(150)), 0, "limit 150 pages");
	check_eq(account_locked_vm(mm, 50, true), 0, "charge up to the limit exactly");
	check_eq(account_locked_vm(mm, 1, true), -ENOMEM, "one page over the limit");
	check_eq(locked_vm(mm), 150UL, "locked_vm unchanged by the refused charge");
	check_eq(account_locked_vm(mm, ~0UL, true), -ENOMEM, "a charge that would wrap");
	check_eq(account_locked_vm(mm, 0, true), 0, "0 pages: nothing to do");
	check_eq(account_locked_vm(NULL, 10, true), 0, "NULL mm: nothing to do (as Linux)");
	check_eq(account_locked_vm(mm, 150, false), 0, "uncharge all");
	check_eq(locked_vm(mm), 0UL, "locked_vm after uncharging");
	/* CAP_IPC_LOCK: counted, never refused. */
	check_eq(mm_set_cap_ipc_lock(mm, true), 0, "give CAP_IPC_LOCK");
	check_eq(account_locked_vm(mm, 1000, true), 0, "charge over the limit with CAP_IPC_LOCK");
	check_eq(locked_vm(mm), 1000UL, "locked_vm counts the bypassed charge");
	check_eq(account_locked_vm(mm, 1000, false), 0, "uncharge it");
	check_eq(mm_set_cap_ipc_lock(mm, false), 0, "take CAP_IPC_LOCK away");
	check_eq(mm_set_cap_ipc_lock(NULL, true), -EINVAL, "CAP_IPC_LOCK of a NULL mm");
}

static void test_limit_below_usage_is_refused(void **state)
{
	struct mm_struct *mm = *state;

	check_eq(account_locked_vm(mm, 10, true), 0, "charge 10 pages");
	check_eq(mm_set_memlock_limit(mm, PG(9)), -EBUSY, "a limit below locked_vm");
	check_eq(mm_memlock_limit(mm), (unsigned long)RLIM_INFINITY, "the limit after the refusal");
	check_eq(mm_set_memlock_limit(mm, PG(10)), 0, "a limit equal to the usage");
	check_eq(mm_set_memlock_limit(mm, RLIM_INFINITY), 0, "back to no limit");
	check_eq(mm_set_memlock_limit(NULL, PG(1)), -EINVAL, "the limit of a NULL mm");
	check_eq(account_locked_vm(mm, 10, false), 0, "uncharge");
	check_eq(mm_set_memlock_limit(mm, 0), 0, "limit 0 with nothing charged");
	check_eq(account_locked_vm(mm, 1, true), -ENOMEM, "any charge under limit 0");
}

/* A registration over the limit: -ENOMEM, no pin, nothing charged; under it, charged until
 * unregistered. Under both rule sets (small pages count the same). */
static void register_small_pages(struct mm_struct *mm)
{
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	unsigned long a = map(0, PG(8), RW, ANON | MAP_POPULATE, "8 pages");
	struct iovec iov[2] = {{(void *)a, PG(3)}, {(void *)(a + PG(4)), PG(4)}};
	long pins0 = pins_held();

	assert_non_null(ctx);
	check_eq(mm_set_memlock_limit(mm, PG(6)), 0, "limit 6 pages");
	check_eq(io_sqe_buffers_register(ctx, iov, 2), -ENOMEM, "register 7 pages under a 6-page limit");
	check_eq(pins_held(), pins0, "no pin left by the refused registration");
	check_eq(pinned_vm(mm), 0L, "nothing charged by the refused registration");
	check_eq(mm_set_memlock_limit(mm, PG(7)), 0, "limit 7 pages");
	check_eq(io_sqe_buffers_register(ctx, iov, 2), 0, "register 7 pages under a 7-page limit");
	check_eq(pinned_vm(mm), 7L, "pinned_vm of 7 registered pages");
	check_eq(mm_set_memlock_limit(mm, PG(6)), -EBUSY, "a limit below pinned_vm");
	check_eq(io_sqe_buffers_unregister(ctx), 0, "unregister");
	check_eq(pinned_vm(mm), 0L, "pinned_vm after unregistering");
	/* CAP_IPC_LOCK (checked at registration, as Linux at ring creation). */
	check_eq(mm_set_memlock_limit(mm, PG(1)), 0, "limit 1 page");
	check_eq(mm_set_cap_ipc_lock(mm, true), 0, "CAP_IPC_LOCK");
	check_eq(io_sqe_buffers_register(ctx, iov, 2), 0, "register 7 pages with CAP_IPC_LOCK");
	check_eq(pinned_vm(mm), 7L, "pinned_vm counts what CAP_IPC_LOCK let through");
	io_ring_ctx_free(ctx);
	check_eq(pinned_vm(mm), 0L, "pinned_vm after the ring is freed");
	check_eq(pins_held(), pins0, "every pin released");
	unmap(a, PG(8), "8 pages");
}

static void test_io_uring_charges_small_pages_57(void **state)
{
	register_small_pages(*state);
}

static void test_io_uring_charges_small_pages_modern(void **state)
{
	register_small_pages(*state);
}

/*
 * Two buffers over one THP (the whole of it, then its first subpage), and a third buffer of
 * a single small page. 5.7 charges per subpage per buffer: 512 + 1 + 1 = 514 pages for 513
 * pages of memory, the THP's first subpage twice. Modern rules charge the THP once, whole:
 * 512 + 1. A limit of 513 pages is enough under modern rules only.
 */
static void thp_under_two_buffers(struct mm_struct *mm, bool modern)
{
	struct io_ring_ctx *ctx = io_ring_ctx_alloc();
	unsigned long thp = map(BASE, SZ_2M, RW, ANON | MAP_FIXED, "THP");
	unsigned long small = map(BASE + SZ_1G, PG(1), RW, ANON | MAP_FIXED | MAP_POPULATE, "a page");
	struct iovec iov[3] = {{(void *)thp, SZ_2M}, {(void *)thp, PG(1)}, {(void *)small, PG(1)}};
	struct iovec one_sub = {(void *)(thp + PG(7)), PG(1)};
	long pins0 = pins_held();

	assert_non_null(ctx);
	put_word(thp, 1, "THP");
	expect_level(mm, thp, LEAF_PMD, "the THP");
	check_eq(mm_set_memlock_limit(mm, PG(513)), 0, "limit 513 pages");
	check_eq(io_sqe_buffers_register(ctx, iov, 3), modern ? 0 : -ENOMEM,
		 "%s: a THP under two buffers and a small page, limit 513 pages",
		 modern ? "modern" : "5.7");
	check_eq(pinned_vm(mm), modern ? 513L : 0L, "pinned_vm under a 513-page limit");
	if (modern)
		check_eq(io_sqe_buffers_unregister(ctx), 0, "unregister");
	check_eq(pins_held(), pins0, "no pin left");
	check_eq(mm_set_memlock_limit(mm, RLIM_INFINITY), 0, "no limit");
	check_eq(io_sqe_buffers_register(ctx, iov, 3), 0, "the same registration with no limit");
	check_eq(pinned_vm(mm), modern ? 513L : 514L,
		 "%s: pinned_vm of a THP under two buffers and a small page (per head page: 513; "
		 "per subpage: 514)", modern ? "modern" : "5.7");
	check_eq(io_sqe_buffers_unregister(ctx), 0, "unregister");
	check_eq(pinned_vm(mm), 0L, "pinned_vm after unregistering");
	/* One subpage of the THP: 5.7 charges the page pinned, modern rules the whole THP. */
	check_eq(io_sqe_buffers_register(ctx, &one_sub, 1), 0, "register one subpage of the THP");
	check_eq(pinned_vm(mm), modern ? 512L : 1L, "%s: pinned_vm of one subpage of a THP",
		 modern ? "modern" : "5.7");
	io_ring_ctx_free(ctx);
	check_eq(pinned_vm(mm), 0L, "pinned_vm after the ring is freed");
	check_eq(pins_held(), pins0, "every pin released");
	unmap(thp, SZ_2M, "THP");
	unmap(small, PG(1), "a page");
}

static void test_thp_double_counted_per_subpage_57(void **state)
{
	thp_under_two_buffers(*state, false);
}

static void test_thp_charged_once_per_head_page_modern(void **state)
{
	thp_under_two_buffers(*state, true);
}

/* fork: the child inherits the limit and CAP_IPC_LOCK, not the parent's charges. */
static void test_fork_inherits_the_limit_not_the_charges(void **state)
{
	struct mm_struct *mm = *state, *child;

	check_eq(account_locked_vm(mm, 4, true), 0, "charge 4 pages");
	check_eq(mm_set_memlock_limit(mm, PG(64)), 0, "limit 64 pages");
	check_eq(mm_set_cap_ipc_lock(mm, true), 0, "CAP_IPC_LOCK");
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	check_eq(mm_memlock_limit(child), PG(64), "the child's limit");
	check_true(atomic_load(&child->cap_ipc_lock), "the child's CAP_IPC_LOCK");
	check_eq(locked_vm(child), 0UL, "the child's locked_vm");
	check_eq(pinned_vm(child), 0L, "the child's pinned_vm");
	mmput(child);
	check_eq(account_locked_vm(mm, 4, false), 0, "uncharge");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_account_locked_vm_against_the_limit),
		test_with_mm(test_limit_below_usage_is_refused),
		cmocka_unit_test_setup_teardown(test_io_uring_charges_small_pages_57, setup_57,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_io_uring_charges_small_pages_modern,
						setup_modern, teardown_mm),
		cmocka_unit_test_setup_teardown(test_thp_double_counted_per_subpage_57, setup_57,
						teardown_mm),
		cmocka_unit_test_setup_teardown(test_thp_charged_once_per_head_page_modern,
						setup_modern, teardown_mm),
		test_with_mm(test_fork_inherits_the_limit_not_the_charges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
