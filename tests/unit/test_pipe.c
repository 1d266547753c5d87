/* SPDX-License-Identifier: MIT */
/*
 * Pipes that hold user pages (<pinmm/pipe.h>): vmsplice_to_pipe() takes read-only FOLL_GET
 * references (no pin, no COW, no mapcount), one buffer per page, until the pipe's 16 buffers
 * are full; pipe_read() copies out of the held pages as they are when it reads and releases a
 * buffer read to its end; free_pipe_info() releases the rest. Bad arguments fail with their
 * errno and take nothing. The CVE-2020-29374 setting both ways: a COW after the splice leaves
 * the pipe with the old contents; a child that splices and unmaps a page it shares with its
 * parent reads, under 5.7's rules, what the parent writes afterwards (the leak).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include "test_mm_util.h"

static ssize_t splice1(struct pipe_inode_info *pipe, unsigned long addr, size_t len)
{
	struct iovec iov = {.iov_base = (void *)addr, .iov_len = len};

	return vmsplice_to_pipe(pipe, &iov, 1, 0);
}

static void test_bad_arguments_take_nothing(void **state)
{
	struct mm_struct *mm = *state;
	struct pipe_inode_info *pipe = alloc_pipe_info();
	unsigned long a = map(0, PG(2), RW, ANON, "2 pages");
	struct iovec many[1025], bad_len[2], outside = {(void *)(TASK_SIZE - PAGE_SIZE), PG(2)};
	struct iovec hole = {(void *)(a + PG(2)), 8}, ok = {(void *)a, 8};
	struct page *p0;
	long free0;
	int refs0;
	char c;
	struct {
		const char *what;
		struct pipe_inode_info *pipe;
		const struct iovec *iov;
		unsigned long nr;
		unsigned int flags;
		long err;
	} cases[] = {
		{"NULL pipe", NULL, &ok, 1, 0, -EBADF},
		{"unknown flags", pipe, &ok, 1, 0x10, -EINVAL},
		{"1025 segments", pipe, many, 1025, 0, -EINVAL},
		{"a length above SSIZE_MAX", pipe, &bad_len[0], 1, 0, -EINVAL},
		{"lengths adding up past SSIZE_MAX", pipe, bad_len, 2, 0, -EINVAL},
		{"NULL iov", pipe, NULL, 1, 0, -EFAULT},
		{"a segment past TASK_SIZE", pipe, &outside, 1, 0, -EFAULT},
		{"nothing mapped", pipe, &hole, 1, 0, -EFAULT},
	};

	assert_non_null(pipe);
	tag_pages(a, 2, 0xab00, "2 pages");
	p0 = page_at(mm, a);
	refs0 = page_ref_count(p0);
	for (int i = 0; i < 1025; i++)
		many[i] = ok;
	bad_len[0] = (struct iovec){(void *)a, (size_t)SSIZE_MAX + 1};
	bad_len[1] = (struct iovec){(void *)a, (size_t)SSIZE_MAX};
	bad_len[0].iov_len = (size_t)SSIZE_MAX + 1;
	free0 = nr_free();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (i == 4)
			bad_len[0].iov_len = 16; /* 16 + SSIZE_MAX */
		check_eq(vmsplice_to_pipe(cases[i].pipe, cases[i].iov, cases[i].nr, cases[i].flags),
			 cases[i].err, "vmsplice with %s", cases[i].what);
		check_eq(pipe_occupancy(pipe), 0, "buffers after vmsplice with %s", cases[i].what);
		check_eq(page_ref_count(p0), refs0, "refcount after vmsplice with %s",
			 cases[i].what);
	}
	check_eq(nr_free(), free0, "free pages after the refusals");
	check_eq(vmsplice_to_pipe(pipe, &ok, 0, 0), 0, "no segments");
	check_eq(vmsplice_to_pipe(pipe, NULL, 0, 0), 0, "no segments, NULL iov");

	kthread_unuse_mm(mm);
	check_eq(splice1(pipe, a, 8), -ESRCH, "vmsplice without a current mm");
	kthread_use_mm(mm);

	check_eq(pipe_read(NULL, &c, 1), -EBADF, "pipe_read of a NULL pipe");
	check_eq(pipe_read(pipe, NULL, 1), -EFAULT, "pipe_read into NULL");
	check_eq(pipe_read(pipe, &c, 0), 0, "pipe_read of 0 bytes");
	check_eq(pipe_read(pipe, &c, 1), -EAGAIN, "pipe_read of an empty pipe");
	check_eq(pipe_occupancy(NULL), -EBADF, "pipe_occupancy of a NULL pipe");
	{
		struct pinmm_fail_attr attr = {.nth = 1};

		if (pinmm_fail_set(&attr) == 0) {
			check_ptr(alloc_pipe_info(), NULL, "alloc_pipe_info() without memory");
			pinmm_fail_set(NULL);
		}
	}
	free_pipe_info(NULL);
	free_pipe_info(pipe);
	unmap(a, PG(2), "2 pages");
}

/* A range from the middle of a page over three pages: three buffers, three references. */
static void test_splice_holds_references_and_read_copies(void **state)
{
	struct mm_struct *mm = *state;
	struct pipe_inode_info *pipe = alloc_pipe_info();
	unsigned long a = map(0, PG(3), RW, ANON, "3 pages");
	unsigned char want[PG(3)], got[PG(3)];
	struct page *pages[3];
	long acquired = nr_acquired();
	size_t len = PG(2) + 100, done = 0;

	assert_non_null(pipe);
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(copy_to_user(a, want, sizeof(want)), 0);
	for (int i = 0; i < 3; i++)
		pages[i] = page_at(mm, a + PG(i));

	check_eq(splice1(pipe, a + 200, len), (ssize_t)len, "vmsplice of 2 pages + 100 bytes");
	check_eq(pipe_occupancy(pipe), 3, "one buffer per page touched");
	for (int i = 0; i < 3; i++) {
		check_eq(page_ref_count(pages[i]), 2, "refcount of page %d: its PTE and the pipe", i);
		check_eq(page_mapcount(pages[i]), 1, "mapcount of page %d", i);
		check_true(!page_maybe_dma_pinned(pages[i]), "page %d is not pinned", i);
		check_true(pte_write(pte_at(mm, a + PG(i))), "page %d stays writable (no COW)", i);
	}
	check_eq(nr_acquired(), acquired, "vmsplice takes no pin");

	/* Read in odd chunks; each buffer read to its end lets its page go. */
	while (done < len) {
		ssize_t n = pipe_read(pipe, got + done, len - done < 1000 ? len - done : 1000);

		check_true(n > 0, "pipe_read at %zu returned %zd", done, n);
		done += (size_t)n;
	}
	check_true(memcmp(got, want + 200, len) == 0, "the bytes read are the bytes spliced");
	for (int i = 0; i < 3; i++)
		check_eq(page_ref_count(pages[i]), 1, "refcount of page %d after the read", i);
	check_eq(pipe_occupancy(pipe), 0, "an empty pipe");
	free_pipe_info(pipe);
	unmap(a, PG(3), "3 pages");
}

/* 20 pages into 16 buffers; then a full pipe is -EAGAIN. The pages outlive their mapping. */
static void test_full_pipe_and_pages_outliving_the_mapping(void **state)
{
	struct mm_struct *mm = *state;
	struct pipe_inode_info *pipe = alloc_pipe_info();
	unsigned long a = map(0, PG(20), RW, ANON, "20 pages");
	struct page *p15;
	unsigned long word;

	assert_non_null(pipe);
	tag_pages(a, 20, 0xf00, "20 pages");
	p15 = page_at(mm, a + PG(15));
	check_eq(splice1(pipe, a, PG(20)), (ssize_t)PG(16), "vmsplice of 20 pages");
	check_eq(pipe_occupancy(pipe), 16, "a full pipe");
	check_eq(splice1(pipe, a, 8), -EAGAIN, "vmsplice into a full pipe");
	unmap(a, PG(20), "20 pages");
	check_eq(page_ref_count(p15), 1, "the pipe's reference keeps page 15");
	for (unsigned long i = 0; i < 16; i++) {
		check_eq(pipe_read(pipe, &word, sizeof(word)), (ssize_t)sizeof(word),
			 "read of page %lu's tag", i);
		check_eq(word, 0xf00 + i, "page %lu's tag after the munmap", i);
		/* Skip the rest of the page. */
		for (size_t left = PAGE_SIZE - sizeof(word); left;) {
			static char sink[PAGE_SIZE];
			ssize_t n = pipe_read(pipe, sink, left);

			check_true(n > 0, "reading the rest of page %lu", i);
			left -= (size_t)n;
		}
	}
	check_eq(pipe_occupancy(pipe), 0, "everything read");
	free_pipe_info(pipe);
}

/* Read-only: a PROT_READ mapping splices; untouched anonymous memory is the zero page. */
static void test_read_only_and_zero_page(void **state)
{
	struct pipe_inode_info *pipe = alloc_pipe_info();
	unsigned long a = map(0, PG(1), PROT_READ, ANON, "a read-only page");
	struct page *zero = pfn_to_page(zero_pfn());
	int zrefs = page_ref_count(zero);
	unsigned long word = 1;

	(void)state;
	assert_non_null(pipe);
	check_eq(splice1(pipe, a, 8), 8, "vmsplice of a PROT_READ page");
	check_eq(page_ref_count(zero), zrefs + 1, "the pipe holds the zero page (5.7's GUP)");
	check_eq(pipe_read(pipe, &word, sizeof(word)), (ssize_t)sizeof(word), "read");
	check_eq(word, 0, "zeroes");
	check_eq(page_ref_count(zero), zrefs, "the zero page's reference went with the read");
	check_eq(splice1(pipe, a, 8), 8, "a second vmsplice");
	free_pipe_info(pipe);
	check_eq(page_ref_count(zero), zrefs, "free_pipe_info() released the zero page");
	unmap(a, PG(1), "read-only page");
}

/* The splice comes first, then fork and a write by the parent: the write COWs (the page is
 * shared with the child), so the pipe keeps the old contents. */
static void test_cow_after_splice_keeps_old_contents(void **state)
{
	struct mm_struct *mm = *state, *child;
	struct pipe_inode_info *pipe = alloc_pipe_info();
	unsigned long a = map(0, PG(1), RW, ANON, "page"), word = 0;
	struct page *old;

	assert_non_null(pipe);
	put_word(a, 0x01d, "old contents");
	old = page_at(mm, a);
	check_eq(splice1(pipe, a, sizeof(word)), (ssize_t)sizeof(word), "vmsplice");
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	put_word(a, 0x2e7, "the parent's write");
	check_true(page_at(mm, a) != old, "the parent's write copied the page");
	check_eq(pipe_read(pipe, &word, sizeof(word)), (ssize_t)sizeof(word), "read");
	check_eq(word, 0x01d, "the pipe shows the contents at splice time");
	free_pipe_info(pipe);
	mmput(child);
	unmap(a, PG(1), "page");
}

/*
 * cow.c's "vmsplice() + unmap in child" (CVE-2020-29374): the child splices a page it shares
 * with its parent (vmsplice() takes read-only FOLL_GET references: no unshare under either rule
 * set) and unmaps it. Under 5.7's rules the parent's next write finds itself the only mapper
 * and reuses the page, so the child reads the parent's new data through the pipe. Under modern
 * rules the page is not exclusive (fork shared it) and the pipe's reference is not the
 * mapping's, so the write copies (rule_cow_reuses_exclusive_only(): 5.9's refcount rule, 5.19's
 * exclusive marker) and the pipe keeps the contents at splice time.
 */
static void vmsplice_in_child_then_parent_writes(struct mm_struct *mm, bool leaks)
{
	struct pipe_inode_info *pipe = alloc_pipe_info();
	unsigned long a = map(0, PG(1), RW, ANON, "page"), word = 0;
	struct mm_struct *child;
	struct page *shared;

	assert_non_null(pipe);
	put_word(a, 0x01d, "before fork");
	shared = page_at(mm, a);
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));

	kthread_unuse_mm(mm);
	kthread_use_mm(child);
	check_eq(splice1(pipe, a, sizeof(word)), (ssize_t)sizeof(word), "vmsplice in the child");
	check_ptr(page_at(child, a), shared, "the child's read-only FOLL_GET did not unshare");
	check_eq(do_madvise(child, a, PG(1), MADV_DONTNEED), 0, "the child unmaps the page");
	kthread_unuse_mm(child);
	kthread_use_mm(mm);

	put_word(a, 0x5ec7e7, "the parent's write after the child's unmap");
	check_eq(page_at(mm, a) == shared, leaks,
		 "the parent's write %s the page the pipe holds", leaks ? "reuses" : "copies");
	check_eq(pipe_read(pipe, &word, sizeof(word)), (ssize_t)sizeof(word), "the child reads");
	check_eq(word, leaks ? 0x5ec7e7UL : 0x01dUL,
		 "the child reads %s", leaks ? "the parent's later write (the leak)"
					     : "the contents at splice time");
	free_pipe_info(pipe);
	mmput(child);
	unmap(a, PG(1), "page");
}

static void test_vmsplice_in_child_leaks_under_5_7(void **state)
{
	vmsplice_in_child_then_parent_writes(*state, true);
}

static void test_vmsplice_in_child_does_not_leak_under_modern(void **state)
{
	vmsplice_in_child_then_parent_writes(*state, false);
}

/* ---- a writer and a reader on two CPUs ---- */

#define RACE_ROUNDS 400

struct race {
	struct mm_struct *mm;
	struct pipe_inode_info *pipe;
	unsigned long addr; /* 4 pages, tagged, never written during the race */
	size_t spliced;
};

static void *splicer(void *arg)
{
	struct race *r = arg;

	kthread_use_mm(r->mm);
	for (int i = 0; i < RACE_ROUNDS;) {
		ssize_t n = splice1(r->pipe, r->addr + (unsigned long)(i % 4) * PAGE_SIZE, 64);

		if (n == -EAGAIN)
			continue;
		if (n != 64)
			break;
		r->spliced += 64;
		i++;
	}
	kthread_unuse_mm(r->mm);
	return NULL;
}

static void test_splice_and_read_race(void **state)
{
	struct race r = {.mm = *state, .pipe = alloc_pipe_info()};
	size_t read = 0;
	pthread_t t;

	assert_non_null(r.pipe);
	r.addr = map(0, PG(4), RW, ANON, "4 pages");
	tag_pages(r.addr, 4, 0x4ace, "4 pages");
	assert_int_equal(pthread_create(&t, NULL, splicer, &r), 0);
	while (read < (size_t)RACE_ROUNDS * 64) {
		unsigned long buf[8];
		ssize_t n = pipe_read(r.pipe, buf, sizeof(buf));

		if (n == -EAGAIN)
			continue;
		check_eq(n, (ssize_t)sizeof(buf), "a whole 64-byte buffer");
		check_eq(buf[0], 0x4ace + (read / 64) % 4, "round %zu's page", read / 64);
		read += (size_t)n;
	}
	pthread_join(t, NULL);
	check_eq(r.spliced, read, "bytes spliced and read");
	check_eq(page_ref_count(page_at(r.mm, r.addr)), 1, "every reference released");
	free_pipe_info(r.pipe);
	unmap(r.addr, PG(4), "4 pages");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_bad_arguments_take_nothing),
		test_with_mm(test_splice_holds_references_and_read_copies),
		test_with_mm(test_full_pipe_and_pages_outliving_the_mapping),
		test_with_mm(test_read_only_and_zero_page),
		test_with_mm(test_cow_after_splice_keeps_old_contents),
		test_with_mm_57(test_vmsplice_in_child_leaks_under_5_7),
		test_with_mm_modern(test_vmsplice_in_child_does_not_leak_under_modern),
		test_with_mm(test_splice_and_read_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
