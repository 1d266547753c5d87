/* SPDX-License-Identifier: MIT */
/*
 * Fault injection over a corpus of scenarios, SQLite's way: run each scenario with the Nth
 * allocation of the library failing (<pinmm/inject.h>, every "alloc:*" and "io:*" site), for
 * N = 1, 2, ... until a run completes without reaching an Nth allocation. Every run must
 *   - fail only with an error its call documents (or succeed: some sites have a fallback),
 *   - leave the machine consistent: pinmm_check_invariants() is 0 with the scenario's state
 *     still built and again after it is torn down,
 *   - leak nothing: pinmm_shutdown() is 0 (ASan's leak check covers the library's own
 *     structures in `make check-asan`).
 * With PINMM_STRESS_SECONDS=S in the environment (`make check-fault DURATION=S`, or `make
 * check-stress`), each scenario then runs for S more seconds
 * failing allocations at random (2% of them, seed after seed), and the slow scenarios (1 GiB
 * pages, each fault clearing a gigabyte) run too.
 *
 * A scenario stops at the first call that fails and returns that error; the corpus's own
 * teardown (unpin, put, mmput, fput) never allocates, so it runs with injection disarmed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/debugfs/gup_test.h>

#include "test_mm_util.h"
#include "test_stress.h"

#define MAX_PAGES 64
#define MAX_BLOCKS 4096

struct ctx {
	const char *scenario;
	unsigned long n;           /* the allocation that fails (0: random mode) */
	struct mm_struct *mm;      /* the mm this thread uses */
	struct mm_struct *child;
	struct file *files[2];
	struct page *pins[MAX_PAGES];
	int nr_pins;
	struct page *gets[MAX_PAGES];
	int nr_gets;
	struct page *hoard[MAX_BLOCKS]; /* blocks kept out of reach (long-term scenario) */
	unsigned int hoard_order[MAX_BLOCKS];
	int nr_hoard;
	unsigned long addr;        /* the scenario's set-up mapping */
	char failure[512];
};

/* The run's context; global so that a failed test's teardown can release it. */
static struct ctx ctx;
static struct dev_pagemap dax_pgmap; /* the DAX scenario's device range */

/* The site of each injected failure, for the messages: a hook runs at every site reached, in
 * whichever thread reaches it (the block device's threads reach "io:write"), so the count is
 * atomic; only the thread that reaches the nth site writes its name. */
static atomic_ulong sites_reached;
static char failed_site[64];

static void count_site(const char *point, void *arg)
{
	(void)arg;
	if (atomic_fetch_add(&sites_reached, 1) + 1 == ctx.n)
		snprintf(failed_site, sizeof(failed_site), "%s", point);
}

static void ctx_fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctx_fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (c->failure[0])
		return;
	len = snprintf(c->failure, sizeof(c->failure), "%s, allocation %lu (%s) failing: ",
		       c->scenario, c->n, failed_site);
	va_start(ap, fmt);
	vsnprintf(c->failure + len, sizeof(c->failure) - (size_t)len, fmt, ap);
	va_end(ap);
}

/* A call's result: >= 0 is success; a negative errno among the documented e1..e3 stops the
 * scenario with it; any other is a failure of the library. */
static long step(struct ctx *c, long ret, const char *what, int e1, int e2, int e3)
{
	if (ret >= 0)
		return 0;
	if (ret == -e1 || ret == -e2 || ret == -e3)
		return ret;
	ctx_fail(c, "%s returned %ld, which it does not document", what, ret);
	return ret;
}

#define TRY(c, expr, what, e1, e2, e3)                                                             \
	do {                                                                                       \
		long r__ = step(c, (long)(expr), what, e1, e2, e3);                               \
		if (r__)                                                                           \
			return r__;                                                                \
	} while (0)

/* copy_to_user() & co. report the bytes not copied: a fault that could not be served
 * (no memory, SIGBUS from an empty pool or a read error). */
#define TRY_COPY(c, left, what)                                                                    \
	do {                                                                                       \
		if ((left) != 0)                                                                   \
			return -EFAULT;                                                            \
	} while (0)

static long mmap_ret(unsigned long addr)
{
	return IS_ERR_VALUE(addr) ? (long)addr : 0;
}

static int start_mm(struct ctx *c)
{
	c->mm = mm_alloc();
	if (!c->mm)
		return -ENOMEM; /* mm_alloc(): NULL when there is no memory */
	kthread_use_mm(c->mm);
	return 0;
}

static int do_fork(struct ctx *c)
{
	struct mm_struct *child = pinmm_fork(c->mm);

	TRY(c, IS_ERR(child) ? PTR_ERR(child) : 0, "pinmm_fork", ENOMEM, ENOMEM, ENOMEM);
	c->child = child;
	return 0;
}

/* Record what a GUP call took; a short count is documented (the pages done). */
static long took(struct ctx *c, long ret, struct page **pages, bool pin, long asked,
		 const char *what)
{
	if (ret > asked) {
		ctx_fail(c, "%s took %ld pages of %ld", what, ret, asked);
		return -EINVAL;
	}
	for (long i = 0; i < ret; i++) {
		if (pin)
			c->pins[c->nr_pins++] = pages[i];
		else
			c->gets[c->nr_gets++] = pages[i];
	}
	return ret < 0 ? ret : 0;
}

static unsigned long map_area(struct ctx *c, unsigned long len, unsigned long flags, long *err)
{
	unsigned long addr = vm_mmap(NULL, 0, len, RW, flags, 0);

	*err = step(c, mmap_ret(addr), "vm_mmap", ENOMEM, ENOMEM, ENOMEM);
	return addr;
}

/* ---- the scenarios ---- */

static int sc_anon_cow_fork(struct ctx *c)
{
	unsigned long word = 7, addr;
	char buf[8];
	long err;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	addr = map_area(c, PG(16), ANON, &err);
	if (err)
		return err;
	TRY(c, do_madvise(c->mm, addr, PG(16), MADV_NOHUGEPAGE), "madvise", ENOMEM, ENOMEM, ENOMEM);
	for (int i = 0; i < 12; i++)
		TRY_COPY(c, copy_to_user(addr + PG(i), &word, sizeof(word)), "write fault");
	TRY_COPY(c, copy_from_user(buf, addr + PG(13), sizeof(buf)), "zero-page read");
	TRY(c, do_fork(c), "fork", ENOMEM, ENOMEM, ENOMEM);
	TRY_COPY(c, copy_to_user(addr, &word, sizeof(word)), "COW fault");
	if (access_remote_vm(c->child, addr + PG(1), buf, sizeof(buf), FOLL_WRITE) != sizeof(buf))
		return -EFAULT; /* the child's COW could not be served */
	TRY(c, vm_mprotect(addr + PG(4), PG(4), PROT_READ), "mprotect", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, vm_munmap(addr + PG(2), PG(1)), "munmap (split)", ENOMEM, ENOMEM, ENOMEM);
	mmput(c->child);
	c->child = NULL;
	return 0;
}

static int sc_thp(struct ctx *c)
{
	unsigned long word = 3, raw, addr;
	long err;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	raw = map_area(c, 2 * SZ_2M, ANON, &err);
	if (err)
		return err;
	addr = (raw + SZ_2M - 1) & ~(SZ_2M - 1);
	TRY_COPY(c, copy_to_user(addr, &word, sizeof(word)), "THP fault");
	TRY(c, do_fork(c), "fork", ENOMEM, ENOMEM, ENOMEM);
	TRY_COPY(c, copy_to_user(addr + PG(9), &word, sizeof(word)), "COW of a shared THP");
	TRY(c, vm_munmap(addr + PG(100), PG(3)), "munmap inside the THP", ENOMEM, ENOMEM, ENOMEM);
	mmput(c->child);
	c->child = NULL;
	TRY_COPY(c, copy_to_user(addr + PG(200), &word, sizeof(word)), "write to the split THP");
	return 0;
}

static int sc_collapse(struct ctx *c)
{
	unsigned long word = 5, raw, addr;
	long err;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	raw = map_area(c, 2 * SZ_2M, ANON, &err);
	if (err)
		return err;
	addr = (raw + SZ_2M - 1) & ~(SZ_2M - 1);
	/* Small pages first (no THP fault), then allowed to collapse. */
	TRY(c, do_madvise(c->mm, addr, SZ_2M, MADV_NOHUGEPAGE), "madvise", ENOMEM, ENOMEM, ENOMEM);
	for (int i = 0; i < 24; i++)
		TRY_COPY(c, copy_to_user(addr + PG(i * 21), &word, sizeof(word)), "write fault");
	TRY(c, do_madvise(c->mm, addr, SZ_2M, MADV_HUGEPAGE), "madvise", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, do_madvise(c->mm, addr, SZ_2M, MADV_COLLAPSE), "MADV_COLLAPSE of small pages",
	    ENOMEM, ENOMEM, ENOMEM);
	/* Split to a PTE-mapped THP, and collapse that. */
	TRY(c, vm_mprotect(addr, PG(1), PROT_READ), "mprotect (split)", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, vm_mprotect(addr, PG(1), RW), "mprotect back", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, do_madvise(c->mm, addr, SZ_2M, MADV_COLLAPSE), "MADV_COLLAPSE of a PTE-mapped THP",
	    ENOMEM, ENOMEM, ENOMEM);
	TRY_COPY(c, copy_to_user(addr + PG(300), &word, sizeof(word)), "write to the THP");
	return 0;
}

static int sc_hugetlb(struct ctx *c)
{
	struct page *p[2];
	unsigned long word = 5, addr;
	long err;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	addr = map_area(c, SZ_2M, ANON | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), &err);
	if (err)
		return err;
	TRY_COPY(c, copy_to_user(addr, &word, sizeof(word)), "hugetlb fault");
	TRY(c, took(c, pin_user_pages_fast(addr + PG(1), 2, FOLL_WRITE, p), p, true, 2,
		    "pin_user_pages_fast(hugetlb)"),
	    "pin_user_pages_fast(hugetlb)", ENOMEM, EFAULT, ENOMEM);
	TRY(c, do_fork(c), "fork", ENOMEM, ENOMEM, ENOMEM);
	/* The parent's write copies the shared huge page: a second pool page. */
	TRY_COPY(c, copy_to_user(addr + PG(3), &word, sizeof(word)), "hugetlb COW");
	return 0;
}

static int sc_pins(struct ctx *c)
{
	struct page *p[8];
	unsigned long raw, thp, small;
	long err, ret;
	int locked = 1;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	small = map_area(c, PG(8), ANON, &err);
	if (err)
		return err;
	TRY(c, do_madvise(c->mm, small, PG(8), MADV_NOHUGEPAGE), "madvise", ENOMEM, ENOMEM, ENOMEM);
	raw = map_area(c, 2 * SZ_2M, ANON, &err);
	if (err)
		return err;
	thp = (raw + SZ_2M - 1) & ~(SZ_2M - 1);

	ret = pin_user_pages_fast(small, 2, FOLL_WRITE, p);
	TRY(c, took(c, ret, p, true, 2, "pin_user_pages_fast"), "pin_user_pages_fast", ENOMEM,
	    EFAULT, ENOMEM);
	ret = pin_user_pages_fast(small + PG(2), 1, 0, p); /* a read: the zero page */
	TRY(c, took(c, ret, p, true, 1, "pin of the zero page"), "pin of the zero page", ENOMEM,
	    EFAULT, ENOMEM);
	ret = get_user_pages_fast(small + PG(3), 1, FOLL_WRITE, p);
	TRY(c, took(c, ret, p, false, 1, "get_user_pages_fast"), "get_user_pages_fast", ENOMEM,
	    EFAULT, ENOMEM);
	ret = pin_user_pages_fast(thp, 4, FOLL_WRITE, p);
	TRY(c, took(c, ret, p, true, 4, "pin_user_pages_fast(THP)"), "pin_user_pages_fast(THP)",
	    ENOMEM, EFAULT, ENOMEM);
	mmap_read_lock(c->mm);
	ret = pin_user_pages(small + PG(4), 1, FOLL_WRITE, p);
	err = took(c, ret, p, true, 1, "pin_user_pages");
	if (!err) {
		ret = pin_user_pages_remote(c->mm, small + PG(5), 1, FOLL_WRITE, p, &locked);
		err = took(c, ret, p, true, 1, "pin_user_pages_remote");
	}
	if (!err) {
		ret = get_user_pages(thp + PG(8), 1, FOLL_WRITE, p);
		err = took(c, ret, p, false, 1, "get_user_pages");
	}
	mmap_read_unlock(c->mm);
	TRY(c, err, "slow-path GUP", ENOMEM, EFAULT, ENOMEM);
	ret = pin_user_pages_unlocked(small + PG(6), 1, p, FOLL_WRITE);
	TRY(c, took(c, ret, p, true, 1, "pin_user_pages_unlocked"), "pin_user_pages_unlocked",
	    ENOMEM, EFAULT, ENOMEM);
	ret = pin_user_pages_fast(small + PG(7), 1, FOLL_WRITE | FOLL_LONGTERM, p);
	TRY(c, took(c, ret, p, true, 1, "pin_user_pages_fast(LONGTERM)"),
	    "pin_user_pages_fast(LONGTERM)", ENOMEM, EFAULT, ENOMEM);
	/* The pinned pages outlive their mappings (the got one stays mapped: a page held only by
	 * a FOLL_GET reference reads as a leak to the check). */
	TRY(c, vm_munmap(small, PG(3)), "munmap of pinned pages", ENOMEM, ENOMEM, ENOMEM);
	return 0;
}

/* Set-up (not injected): pages faulted into CMA, with ZONE_NORMAL kept nearly full so that
 * a long-term pin must migrate them (see tests/conformance/test_gup_longterm.c). */
static int setup_cma(struct ctx *c)
{
	unsigned long word = 9;
	int given = 0;

	if (start_mm(c))
		return -1;
	c->addr = vm_mmap(NULL, 0, PG(8), RW, ANON, 0);
	if (IS_ERR_VALUE(c->addr) || do_madvise(c->mm, c->addr, PG(8), MADV_NOHUGEPAGE))
		return -1;
	if (copy_to_user(c->addr, &word, sizeof(word))) /* the page tables */
		return -1;
	for (int order = MAX_ORDER - 1; order >= 0; order--) {
		for (;;) {
			struct page *p = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN,
						     (unsigned int)order);

			if (!p)
				break;
			if (is_migrate_cma_page(p) || c->nr_hoard == MAX_BLOCKS) {
				__free_pages(p, (unsigned int)order);
				break;
			}
			c->hoard_order[c->nr_hoard] = (unsigned int)order;
			c->hoard[c->nr_hoard++] = p;
		}
	}
	for (int i = 1; i < 5; i++) {
		struct page *page;

		if (copy_to_user(c->addr + PG(i), &word, sizeof(word)))
			return -1;
		page = page_at(c->mm, c->addr + PG(i));
		if (!page || !is_migrate_cma_page(page))
			return -1; /* the scenario would not migrate anything */
	}
	/* Room outside CMA for the copies: one ZONE_NORMAL block back. */
	for (int i = 0; i < c->nr_hoard && !given; i++)
		if (page_zonenum(c->hoard[i]) == ZONE_NORMAL) {
			__free_pages(c->hoard[i], c->hoard_order[i]);
			c->hoard[i] = NULL;
			given = 1;
		}
	return given ? 0 : -1;
}

static int sc_longterm_migration(struct ctx *c)
{
	struct page *p[4];
	long ret;

	ret = pin_user_pages_fast(c->addr + PG(1), 4, FOLL_WRITE | FOLL_LONGTERM, p);
	TRY(c, took(c, ret, p, true, 4, "pin_user_pages_fast(LONGTERM) of CMA pages"),
	    "pin_user_pages_fast(LONGTERM) of CMA pages", ENOMEM, EFAULT, ENOMEM);
	return 0;
}

static int make_host_file(char *path)
{
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, PG(8)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (int i = 0; i < 8; i++) {
		char b = (char)('a' + i);

		if (pwrite(fd, &b, 1, (off_t)PG(i)) != 1) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int sc_files(struct ctx *c)
{
	char path[] = "/tmp/pinmm_fault_XXXXXX";
	struct page *p[1];
	unsigned long word = 11, shared, priv, shm;
	char buf[8];
	struct file *f;
	long err, ret;

	if (make_host_file(path)) {
		ctx_fail(c, "could not create the host file %s", path);
		return -EIO;
	}
	f = filp_open(path, O_RDWR, 0);
	unlink(path);
	TRY(c, IS_ERR(f) ? PTR_ERR(f) : 0, "filp_open", ENOMEM, ENOMEM, ENOMEM);
	c->files[0] = f;
	f = shmem_file_setup("fault", PG(8), 0);
	TRY(c, IS_ERR(f) ? PTR_ERR(f) : 0, "shmem_file_setup", ENOMEM, ENOMEM, ENOMEM);
	c->files[1] = f;
	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	shared = vm_mmap(c->files[0], 0, PG(8), RW, MAP_SHARED, 0);
	TRY(c, mmap_ret(shared), "vm_mmap(shared file)", ENOMEM, ENOMEM, ENOMEM);
	priv = vm_mmap(c->files[0], 0, PG(8), RW, MAP_PRIVATE, 0);
	TRY(c, mmap_ret(priv), "vm_mmap(private file)", ENOMEM, ENOMEM, ENOMEM);
	shm = vm_mmap(c->files[1], 0, PG(8), RW, MAP_SHARED, 0);
	TRY(c, mmap_ret(shm), "vm_mmap(shmem)", ENOMEM, ENOMEM, ENOMEM);
	TRY_COPY(c, copy_from_user(buf, shared + PG(2), sizeof(buf)), "read of a file page");
	TRY_COPY(c, copy_to_user(shared + PG(1), &word, sizeof(word)), "write to a shared page");
	TRY_COPY(c, copy_to_user(priv + PG(3), &word, sizeof(word)), "COW of a file page");
	TRY_COPY(c, copy_to_user(shm, &word, sizeof(word)), "write to shmem");
	ret = pin_user_pages_fast(shared + PG(4), 1, FOLL_WRITE, p);
	TRY(c, took(c, ret, p, true, 1, "pin of a file page"), "pin of a file page", ENOMEM,
	    EFAULT, ENOMEM);
	TRY(c, do_fork(c), "fork", ENOMEM, ENOMEM, ENOMEM);
	err = vfs_fsync(c->files[0], 0);
	TRY(c, err, "vfs_fsync", EIO, ENOSPC, EIO);
	TRY(c, vm_munmap(shared + PG(6), PG(2)), "munmap", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, vm_munmap(priv + PG(6), PG(2)), "munmap", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, vfs_truncate(c->files[0], PG(6)), "vfs_truncate", EIO, ENOMEM, EBUSY);
	mmput(c->child);
	c->child = NULL;
	return 0;
}

static int sc_mapping_ops(struct ctx *c)
{
	unsigned long word = 13, a, b, ro;
	struct page *p[2];
	long err, ret;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	/* MAP_POPULATE ignores faulting errors, as Linux does. */
	a = vm_mmap(NULL, 0, PG(16), RW, ANON | MAP_POPULATE, 0);
	TRY(c, mmap_ret(a), "vm_mmap(MAP_POPULATE)", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, do_madvise(c->mm, a, PG(16), MADV_NOHUGEPAGE), "madvise", ENOMEM, ENOMEM, ENOMEM);
	b = map_area(c, PG(8), ANON, &err);
	if (err)
		return err;
	TRY(c, do_madvise(c->mm, b, PG(8), MADV_POPULATE_WRITE), "MADV_POPULATE_WRITE", ENOMEM,
	    EFAULT, ENOMEM);
	/* MAP_FIXED over the middle of a live mapping: an implicit munmap that splits it. */
	TRY(c, mmap_ret(vm_mmap(NULL, a + PG(4), PG(2), RW, ANON | MAP_FIXED, 0)),
	    "vm_mmap(MAP_FIXED over a mapping)", ENOMEM, ENOMEM, ENOMEM);
	TRY(c, vm_mprotect(a + PG(8), PG(2), PROT_READ), "mprotect of the middle", ENOMEM, ENOMEM,
	    ENOMEM);
	TRY(c, do_madvise(c->mm, a + PG(10), PG(2), MADV_DONTNEED), "MADV_DONTNEED", ENOMEM,
	    ENOMEM, ENOMEM);
	TRY(c, do_madvise(c->mm, b, PG(4), MADV_DONTFORK), "MADV_DONTFORK", ENOMEM, ENOMEM,
	    ENOMEM);
	ret = pin_user_pages_fast(b, 2, FOLL_WRITE, p);
	TRY(c, took(c, ret, p, true, 2, "pin in a DONTFORK VMA"), "pin in a DONTFORK VMA", ENOMEM,
	    EFAULT, ENOMEM);
	TRY(c, do_fork(c), "fork", ENOMEM, ENOMEM, ENOMEM);
	/* ptrace-like: a forced write into the child's read-only private page breaks COW. */
	ro = a + PG(8);
	if (access_remote_vm(c->child, ro, &word, sizeof(word), FOLL_WRITE | FOLL_FORCE) !=
	    sizeof(word))
		return -EFAULT;
	TRY_COPY(c, copy_to_user(a + PG(12), &word, sizeof(word)), "COW after fork");
	mmput(c->child);
	c->child = NULL;
	TRY(c, vm_munmap(a + PG(1), PG(14)), "munmap across VMAs", ENOMEM, ENOMEM, ENOMEM);
	return 0;
}

static int sc_hugetlb_1g(struct ctx *c)
{
	struct page *p[1];
	unsigned long word = 17, addr;
	long err, ret;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	addr = map_area(c, SZ_1G, ANON | MAP_HUGETLB | (30 << MAP_HUGE_SHIFT), &err);
	if (err)
		return err;
	TRY_COPY(c, copy_to_user(addr + PG(3), &word, sizeof(word)), "1 GiB hugetlb fault");
	ret = pin_user_pages_fast(addr + SZ_2M, 1, FOLL_WRITE | FOLL_LONGTERM, p);
	TRY(c, took(c, ret, p, true, 1, "long-term pin of a 1 GiB page"),
	    "long-term pin of a 1 GiB page", ENOMEM, EFAULT, ENOMEM);
	TRY(c, do_fork(c), "fork", ENOMEM, ENOMEM, ENOMEM);
	mmput(c->child);
	c->child = NULL;
	return 0;
}

static int sc_dax(struct ctx *c)
{
	struct page *p[2];
	unsigned long word = 19, addr;
	struct file *f;
	long ret;

	memset(&dax_pgmap, 0, sizeof(dax_pgmap));
	dax_pgmap.type = MEMORY_DEVICE_FS_DAX;
	dax_pgmap.nr_pages = 1024;
	TRY(c, memremap_pages(&dax_pgmap), "memremap_pages", ENOMEM, ENOMEM, ENOMEM);
	f = dax_file_setup(dax_pgmap.start_pfn, 1024);
	TRY(c, IS_ERR(f) ? PTR_ERR(f) : 0, "dax_file_setup", ENOMEM, ENOMEM, ENOMEM);
	c->files[0] = f;
	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	addr = vm_mmap(f, 0, PG(1024), RW, MAP_SHARED, 0);
	TRY(c, mmap_ret(addr), "vm_mmap(DAX)", ENOMEM, ENOMEM, ENOMEM);
	TRY_COPY(c, copy_to_user(addr + PG(3), &word, sizeof(word)), "DAX fault");
	ret = pin_user_pages_fast(addr + PG(3), 2, FOLL_WRITE, p);
	TRY(c, took(c, ret, p, true, 2, "pin of device pages"), "pin of device pages", ENOMEM,
	    EFAULT, ENOMEM);
	ret = pin_user_pages_fast(addr + PG(700), 1, FOLL_WRITE | FOLL_LONGTERM, p);
	if (ret != -EOPNOTSUPP)
		TRY(c, took(c, ret, p, true, 1, "long-term pin of DAX"), "long-term pin of DAX",
		    ENOMEM, EFAULT, ENOMEM);
	TRY(c, do_fork(c), "fork", ENOMEM, ENOMEM, ENOMEM);
	mmput(c->child);
	c->child = NULL;
	return 0;
}

/* The tools' kernel side: GUP failures inside a walk shorten it, as in Linux; only the
 * page array's allocation is an error of the ioctl. (The dump walks with no page to dump:
 * dump_page() output would only fill the log.) */
static int sc_gup_test(struct ctx *c)
{
	static const unsigned int cmds[] = {PIN_FAST_BENCHMARK, GUP_FAST_BENCHMARK,
					    PIN_LONGTERM_BENCHMARK, PIN_BASIC_TEST,
					    DUMP_USER_PAGES_TEST};
	unsigned long addr;
	long err;

	TRY(c, start_mm(c), "mm_alloc", ENOMEM, ENOMEM, ENOMEM);
	addr = map_area(c, PG(64), ANON, &err);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct gup_test gup = {.addr = addr, .size = PG(64), .nr_pages_per_call = 16,
				       .gup_flags = FOLL_WRITE};

		if (cmds[i] == DUMP_USER_PAGES_TEST)
			gup.test_flags = GUP_TEST_FLAG_DUMP_PAGES_USE_PIN;
		TRY(c, gup_test_ioctl(cmds[i], &gup), "gup_test_ioctl", ENOMEM, ENOMEM, ENOMEM);
	}
	return 0;
}

/* ---- the driver ---- */

struct scenario {
	const char *name;
	unsigned long long ram, movable, cma;
	unsigned long nr_2m, nr_1g;
	unsigned long long device;
	bool slow;                   /* long runs only (each fault clears a 1 GiB page) */
	int (*setup)(struct ctx *c); /* not injected; 0 or -1 */
	int (*run)(struct ctx *c);
};

#define MB(n) ((unsigned long long)(n) << 20)

/* name; RAM, ZONE_MOVABLE, CMA; 2 MiB and 1 GiB pool pages; device bytes; slow; set-up; run */
static const struct scenario corpus[] = {
	{"anonymous faults, COW, fork, mprotect, munmap",
	 MB(64), MB(8), MB(8), 0, 0, 0, false, NULL, sc_anon_cow_fork},
	{"THP fault, fork, COW of a shared THP, split by munmap",
	 MB(64), MB(8), MB(8), 0, 0, 0, false, NULL, sc_thp},
	{"MADV_COLLAPSE of small pages and of a PTE-mapped THP",
	 MB(64), MB(8), MB(8), 0, 0, 0, false, NULL, sc_collapse},
	{"hugetlb fault, pin, fork, COW",
	 MB(64), MB(8), MB(8), 3, 0, 0, false, NULL, sc_hugetlb},
	{"1 GiB hugetlb fault, long-term pin, fork",
	 MB(2048), MB(8), MB(8), 0, 1, 0, true, NULL, sc_hugetlb_1g},
	{"pins of every kind",
	 MB(64), MB(8), MB(8), 0, 0, 0, false, NULL, sc_pins},
	{"long-term pin migrating out of CMA",
	 MB(32), MB(4), MB(8), 0, 0, 0, false, setup_cma, sc_longterm_migration},
	{"file and shmem mappings, pin, fork, fsync, truncate",
	 MB(64), MB(8), MB(8), 0, 0, 0, false, NULL, sc_files},
	{"populate, MAP_FIXED, mprotect, madvise, DONTFORK, forced remote write",
	 MB(64), MB(8), MB(8), 0, 0, 0, false, NULL, sc_mapping_ops},
	{"DAX file on device pages: map, pin, fork",
	 MB(64), MB(8), MB(8), 0, 0, MB(8), false, NULL, sc_dax},
	{"gup_test ioctls: fast, long-term and basic walks, page dumps",
	 MB(64), MB(8), MB(8), 0, 0, 0, false, NULL, sc_gup_test},
};

/* Tear down whatever the scenario built (nothing here allocates). */
static void ctx_teardown(struct ctx *c)
{
	for (int i = 0; i < c->nr_hoard; i++)
		if (c->hoard[i])
			__free_pages(c->hoard[i], c->hoard_order[i]);
	c->nr_hoard = 0;
}

static void ctx_release(struct ctx *c)
{
	unpin_user_pages(c->pins, (unsigned long)c->nr_pins);
	for (int i = 0; i < c->nr_gets; i++)
		put_page(c->gets[i]);
	if (c->child)
		mmput(c->child);
	if (c->mm) {
		kthread_unuse_mm(c->mm);
		mmput(c->mm);
	}
	for (int i = 0; i < 2; i++)
		if (c->files[i])
			fput(c->files[i]);
	if (dax_pgmap.start_pfn && memunmap_pages(&dax_pgmap))
		ctx_fail(c, "memunmap_pages() failed after everything was released");
	c->nr_pins = c->nr_gets = 0;
	c->child = c->mm = NULL;
	c->files[0] = c->files[1] = NULL;
}

/* One run: boot, set up, arm with attr, run, disarm, check, tear down, check, shut down.
 * Returns the failures injected. */
static unsigned long run_once(const struct scenario *s, const struct pinmm_fail_attr *attr,
			      unsigned long n)
{
	struct pinmm_config cfg = cfg_of(s->ram, s->movable, s->cma);
	struct ctx *c = &ctx;
	unsigned long injected;
	long violations;
	int ret, down;

	memset(c, 0, sizeof(*c));
	c->scenario = s->name;
	c->n = n;
	cfg.nr_hugepages_2m = s->nr_2m;
	cfg.nr_hugepages_1g = s->nr_1g;
	cfg.device_bytes = s->device;
	if (pinmm_boot(&cfg))
		fail_msg("%s: pinmm_boot failed", s->name);
	if (s->setup && s->setup(c))
		fail_msg("%s: the (uninjected) set-up failed", s->name);
	injected = pinmm_fail_injected();
	atomic_store(&sites_reached, 0);
	strcpy(failed_site, "none reached");
	assert_int_equal(pinmm_hook_set("alloc:*", count_site, NULL), 0);
	assert_int_equal(pinmm_hook_set("io:*", count_site, NULL), 0);
	assert_int_equal(pinmm_fail_set(attr), 0);
	ret = s->run(c);
	pinmm_hook_clear_all();
	injected = pinmm_fail_injected() - injected;
	if (c->failure[0])
		fail_msg("%s", c->failure);
	if (ret && !injected)
		fail_msg("%s: returned %d with no allocation failing", s->name, ret);
	ctx_teardown(c);
	violations = pinmm_check_invariants();
	if (violations)
		fail_msg("%s, allocation %lu (%s) failing, run returned %d: "
			 "pinmm_check_invariants() = %ld with the scenario's state built (log above)",
			 s->name, n, failed_site, ret, violations);
	ctx_release(c);
	violations = pinmm_check_invariants();
	if (violations)
		fail_msg("%s, allocation %lu (%s) failing, run returned %d: "
			 "pinmm_check_invariants() = %ld after the teardown (log above)", s->name, n,
			 failed_site, ret, violations);
	down = pinmm_shutdown();
	if (down)
		fail_msg("%s, allocation %lu (%s) failing, run returned %d: pinmm_shutdown() = %d: "
			 "something leaked (log above)", s->name, n, failed_site, ret, down);
	return injected;
}

/* After a failed run: release what it left, so that the next scenario starts clean. */
static int teardown_run(void **state)
{
	(void)state;
	pinmm_hook_clear_all();
	if (pinmm_booted()) {
		ctx_teardown(&ctx);
		ctx_release(&ctx);
		pinmm_shutdown();
	}
	memset(&ctx, 0, sizeof(ctx));
	return 0;
}

static unsigned long total_runs, total_injected;

/* For N = 1, 2, ...: the Nth allocation fails (one-shot), or it and every later one
 * (persistent), until a run reaches no Nth allocation. */
static void sweep(const struct scenario *s, bool persistent)
{
	unsigned long n, injected, runs = 0, failed = 0;

	for (n = 1;; n++) {
		struct pinmm_fail_attr attr = {.nth = n, .times = persistent ? 0 : 1,
					       .persistent = persistent};

		injected = run_once(s, &attr, n);
		runs++;
		failed += injected;
		if (!injected)
			break;
	}
	total_runs += runs;
	total_injected += failed;
	print_message("      %s, %s: %lu runs, %lu injected failures\n", s->name,
		      persistent ? "the Nth allocation and all after it" : "the Nth allocation",
		      runs, failed);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* PINMM_STRESS_SECONDS: random failures, seed after seed, for that long per scenario. */
static void random_mode(const struct scenario *s)
{
	double seconds = stress_duration(), start = now();
	unsigned long seed, failed = 0;

	if (seconds <= 0)
		return;
	for (seed = 1; now() - start < seconds; seed++) {
		struct pinmm_fail_attr attr = {.probability = 20000, .seed = seed * 0x9e3779b9UL};

		failed += run_once(s, &attr, 0);
	}
	total_runs += seed - 1;
	total_injected += failed;
	print_message("      %s: %lu random runs (seeds), %lu injected failures\n", s->name,
		      seed - 1, failed);
}

static int log_to_stderr(void **state)
{
	(void)state;
	pinmm_set_log_stream(stderr);
	return 0;
}

static void test_corpus_entry(void **state)
{
	const struct scenario *s = *state;

	if (s->slow && !stress_duration()) {
		print_message("      %s: left to the long run (make check-fault)\n", s->name);
		return;
	}
	sweep(s, false);
	sweep(s, true);
	random_mode(s);
}

/* Boot itself allocates (the zero page, the hugetlb pools, 1 GiB pages cut out of the free
 * lists): each failure is -ENOMEM with nothing left booted, and the next boot works. */
static void test_boot(void **state)
{
	struct pinmm_config cfg = cfg_of(MB(2048), MB(8), MB(8));
	unsigned long n, runs = 0, failed = 0;

	(void)state;
	cfg.nr_hugepages_2m = 2;
	cfg.nr_hugepages_1g = 1;
	for (n = 1;; n++) {
		struct pinmm_fail_attr attr = {.nth = n, .times = 1};
		unsigned long injected = pinmm_fail_injected();
		int ret;

		assert_int_equal(pinmm_fail_set(&attr), 0);
		ret = pinmm_boot(&cfg);
		pinmm_fail_set(NULL);
		injected = pinmm_fail_injected() - injected;
		runs++;
		failed += injected;
		if (ret) {
			if (ret != -ENOMEM || pinmm_booted() || !injected)
				fail_msg("boot, allocation %lu failing: pinmm_boot() = %d, booted %d; "
					 "expected -ENOMEM and not booted", n, ret, pinmm_booted());
			continue;
		}
		if (pinmm_check_invariants() != 0 || pinmm_shutdown() != 0)
			fail_msg("boot, allocation %lu failing: the machine booted with damage or "
				 "leaks", n);
		if (!injected)
			break;
	}
	total_runs += runs;
	total_injected += failed;
	print_message("      boot: %lu runs, %lu injected failures\n", runs, failed);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(corpus) / sizeof(corpus[0]) + 1];
	int ret;

	if (pinmm_fail_set(NULL) == -EOPNOTSUPP) {
		printf("fault injection: skipped, the library is built without its sites "
		       "(HOOKS=0)\n");
		return 0;
	}
	tests[0] = (struct CMUnitTest){"boot", test_boot, NULL, teardown_run, NULL};
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++)
		tests[i + 1] = (struct CMUnitTest){corpus[i].name, test_corpus_entry, NULL,
						   teardown_run, (void *)&corpus[i]};
	ret = cmocka_run_group_tests(tests, log_to_stderr, NULL);
	printf("fault injection: %lu runs, %lu injected failures\n", total_runs, total_injected);
	return ret;
}
