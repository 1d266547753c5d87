/* SPDX-License-Identifier: MIT */
/*
 * The DMA engine (<pinmm/dma.h>): transfers both ways through page_address() at the engine's
 * pace, with completions; each release policy (put_page with and without set_page_dirty_lock,
 * unpin with and without make_dirty) seen in the page's counts and PG_dirty; every refusal
 * (bad arguments, a page the engine was not given, a release that does not match the
 * references, a double completion, a double release, unmapping or destroying while busy), each
 * changing nothing; pinmm_check_invariants() counting a page held by an engine through a
 * FOLL_GET reference as reachable; many threads submitting to one engine; each allocation
 * failing (-ENOMEM, nothing changed).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <pinmm/check.h>
#include <pinmm/dma.h>
#include <pinmm/err.h>
#include <pinmm/inject.h>

#include "test_mm_util.h"

static struct dma_engine *engine_ok(unsigned int threads, unsigned int delay)
{
	struct dma_engine *e = dma_engine_create(threads, delay);

	if (IS_ERR(e))
		fail_msg("dma_engine_create(%u, %u) = %ld", threads, delay, PTR_ERR(e));
	return e;
}

/* npages of anonymous memory, faulted in, and their pages taken as ref says. */
static unsigned long take_pages(unsigned long npages, enum dma_ref ref, struct page **pages)
{
	unsigned long addr = vm_mmap(NULL, 0, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);
	long got;

	assert_false(IS_ERR_VALUE(addr));
	for (unsigned long i = 0; i < npages; i++)
		assert_int_equal(copy_to_user(addr + i * PAGE_SIZE, "x", 1), 0);
	got = ref == DMA_REF_PIN ? pin_user_pages_fast(addr, (int)npages, FOLL_WRITE, pages)
				 : get_user_pages_fast(addr, (int)npages, FOLL_WRITE, pages);
	assert_int_equal(got, (long)npages);
	return addr;
}

static void test_transfers_both_ways(void **state)
{
	struct dma_engine *e = engine_ok(2, 50);
	struct page *pages[2];
	unsigned long addr = take_pages(2, DMA_REF_PIN, pages);
	uint64_t out[64], in[64];
	struct dma_engine_stats st;
	long w, r;
	int b;

	(void)state;
	for (int i = 0; i < 64; i++)
		out[i] = 0x0101010101010101ull * (uint64_t)(i + 1);
	b = dma_map_pages(e, pages, 2, DMA_REF_PIN, DMA_RELEASE_UNPIN_DIRTY);
	check_true(b >= 0, "map: %d", b);
	w = dma_submit(e, b, pages[1], 8, out, sizeof(out), DMA_FROM_DEVICE);
	check_true(w > 0, "submit a device write: %ld", w);
	check_eq(dma_wait(e, w), 0, "its completion");
	check_eq(memcmp((char *)page_address(pages[1]) + 8, out, sizeof(out)), 0,
		 "the device's bytes are in the page");
	check_eq(copy_from_user(in, addr + PAGE_SIZE + 8, sizeof(in)), 0, "read through the mapping");
	check_eq(memcmp(in, out, sizeof(in)), 0, "and the CPU sees them");
	memset(in, 0, sizeof(in));
	r = dma_submit(e, b, pages[1], 8, in, sizeof(in), DMA_TO_DEVICE);
	check_true(r > w, "submit a device read: %ld", r);
	check_eq(dma_wait(e, r), 0, "its completion");
	check_eq(memcmp(in, out, sizeof(in)), 0, "the device read the page");
	check_eq(dma_engine_stats(e, &st), 0, "stats");
	check_eq(st.buffers, 1, "one buffer");
	check_eq(st.pages, 2, "two pages held");
	check_eq(st.submitted, 2, "two submitted");
	check_eq(st.completed, 2, "two completed");
	check_eq(st.bytes_from_device, sizeof(out), "bytes from the device");
	check_eq(st.bytes_to_device, sizeof(in), "bytes to the device");
	check_eq(dma_unmap(e, b), 0, "unmap");
	check_eq(page_maybe_dma_pinned(pages[0]) || page_maybe_dma_pinned(pages[1]), false,
		 "unpinned");
	check_true(PageDirty(pages[0]) && PageDirty(pages[1]), "dirtied by the release");
	check_eq(dma_engine_destroy(e), 0, "destroy");
	vm_munmap(addr, 2 * PAGE_SIZE);
}

/* Each release policy, on a file page, so that PG_dirty means something. */
static void test_release_policies(void **state)
{
	static const struct {
		enum dma_ref ref;
		enum dma_release release;
		bool dirty;
		const char *name;
	} cases[] = {
		{DMA_REF_GET, DMA_RELEASE_PUT_PAGE, false, "put_page"},
		{DMA_REF_GET, DMA_RELEASE_DIRTY_PUT_PAGE, true, "set_page_dirty_lock + put_page"},
		{DMA_REF_PIN, DMA_RELEASE_UNPIN, false, "unpin_user_pages"},
		{DMA_REF_PIN, DMA_RELEASE_UNPIN_DIRTY, true, "unpin_user_pages_dirty_lock"},
	};
	struct dma_engine *e = engine_ok(1, 0);
	struct file *file = shmem_file_setup("dma", PAGE_SIZE, 0);
	unsigned long addr;

	(void)state;
	assert_false(IS_ERR(file));
	addr = vm_mmap(file, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	check_eq(copy_to_user(addr, "x", 1), 0, "fault the page in");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct page *page;
		int ref0, b;

		page = find_get_page(file->f_mapping, 0);
		ClearPageDirty(page);
		ref0 = page_ref_count(page);
		check_eq(cases[i].ref == DMA_REF_PIN
				 ? pin_user_pages_fast(addr, 1, FOLL_WRITE, &page)
				 : get_user_pages_fast(addr, 1, FOLL_WRITE, &page),
			 1, "%s: take the page", cases[i].name);
		ClearPageDirty(page); /* the write fault dirtied it: only the release counts */
		b = dma_map_pages(e, &page, 1, cases[i].ref, cases[i].release);
		check_true(b >= 0, "%s: map", cases[i].name);
		check_eq(dma_unmap(e, b), 0, "%s: unmap", cases[i].name);
		check_eq(PageDirty(page), cases[i].dirty, "%s: PG_dirty after the release",
			 cases[i].name);
		check_eq(page_ref_count(page), ref0, "%s: the reference or pin was released",
			 cases[i].name);
		put_page(page);
	}
	check_eq(dma_engine_destroy(e), 0, "destroy");
	vm_munmap(addr, PAGE_SIZE);
	fput(file);
}

static void test_refusals(void **state)
{
	struct dma_engine *e = engine_ok(1, 20000), *other = engine_ok(1, 0);
	struct page *pages[2], *stranger[1], *nul[1] = {NULL};
	unsigned long addr = take_pages(2, DMA_REF_PIN, pages);
	unsigned long addr2 = take_pages(1, DMA_REF_GET, stranger);
	uint64_t buf[8];
	struct dma_engine_stats st;
	long job;
	int b;

	(void)state;
	check_eq(PTR_ERR(dma_engine_create(0, 0)), -EINVAL, "no threads");
	check_eq(PTR_ERR(dma_engine_create(DMA_MAX_THREADS + 1, 0)), -EINVAL, "too many threads");
	check_eq(PTR_ERR(dma_engine_create(1, DMA_MAX_DELAY_US + 1)), -EINVAL, "too slow");
	check_eq(dma_map_pages(NULL, pages, 2, DMA_REF_PIN, DMA_RELEASE_UNPIN), -EINVAL,
		 "map on a NULL engine");
	check_eq(dma_map_pages(e, NULL, 2, DMA_REF_PIN, DMA_RELEASE_UNPIN), -EINVAL, "NULL pages");
	check_eq(dma_map_pages(e, pages, 0, DMA_REF_PIN, DMA_RELEASE_UNPIN), -EINVAL, "nr 0");
	check_eq(dma_map_pages(e, nul, 1, DMA_REF_GET, DMA_RELEASE_PUT_PAGE), -EINVAL,
		 "a NULL page");
	check_eq(dma_map_pages(e, pages, 2, DMA_REF_PIN, DMA_RELEASE_PUT_PAGE), -EINVAL,
		 "put_page() of pins");
	check_eq(dma_map_pages(e, stranger, 1, DMA_REF_GET, DMA_RELEASE_UNPIN_DIRTY), -EINVAL,
		 "an unpin of FOLL_GET references");
	check_eq(dma_map_pages(e, stranger, 1, DMA_REF_PIN, DMA_RELEASE_UNPIN), -EINVAL,
		 "a page said to be pinned that is not");
	check_eq(dma_map_pages(e, pages, 2, DMA_REF_PIN, (enum dma_release)9), -EINVAL,
		 "an unknown release");
	check_eq(dma_engine_stats(e, &st), 0, "stats");
	check_eq(st.buffers, 0, "nothing was mapped by the refusals");

	b = dma_map_pages(e, pages, 2, DMA_REF_PIN, DMA_RELEASE_UNPIN_DIRTY);
	check_true(b >= 0, "map");
	check_eq(dma_submit(e, b, stranger[0], 0, buf, 64, DMA_FROM_DEVICE), -EINVAL,
		 "a page the engine was not given");
	check_eq(dma_submit(e, b + 1, pages[0], 0, buf, 64, DMA_FROM_DEVICE), -ENOENT,
		 "a buffer that is not mapped");
	check_eq(dma_submit(other, b, pages[0], 0, buf, 64, DMA_FROM_DEVICE), -ENOENT,
		 "a buffer of another engine");
	check_eq(dma_submit(e, b, pages[0], 4, buf, 64, DMA_FROM_DEVICE), -EINVAL, "offset not a multiple of 8");
	check_eq(dma_submit(e, b, pages[0], 0, buf, 60, DMA_FROM_DEVICE), -EINVAL, "len not a multiple of 8");
	check_eq(dma_submit(e, b, pages[0], 0, buf, 0, DMA_FROM_DEVICE), -EINVAL, "len 0");
	check_eq(dma_submit(e, b, pages[0], PAGE_SIZE - 8, buf, 16, DMA_FROM_DEVICE), -EINVAL,
		 "past the page");
	check_eq(dma_submit(e, b, pages[0], 0, NULL, 8, DMA_FROM_DEVICE), -EINVAL, "NULL buf");
	check_eq(dma_submit(e, b, pages[0], 0, buf, 8, (enum dma_data_direction)7), -EINVAL,
		 "an unknown direction");
	memset(buf, 0xee, sizeof(buf));
	job = dma_submit(e, b, pages[0], 0, buf, sizeof(buf), DMA_FROM_DEVICE);
	check_true(job > 0, "a transfer of up to 20 ms");
	check_eq(dma_unmap(e, b), -EBUSY, "unmap while it is not reaped");
	check_eq(dma_engine_destroy(e), -EBUSY, "destroy with a buffer mapped");
	check_eq(dma_wait(other, job), -ENOENT, "reaped on another engine");
	check_eq(dma_wait(e, job), 0, "reaped");
	check_eq(dma_wait(e, job), -ENOENT, "a double completion");
	check_eq(dma_done(e, job), -ENOENT, "dma_done of a reaped transfer");
	check_eq(dma_wait(e, 12345), -ENOENT, "a transfer never submitted");
	check_eq(dma_unmap(e, b), 0, "unmap");
	check_eq(dma_unmap(e, b), -ENOENT, "a double release");
	check_eq(page_maybe_dma_pinned(pages[0]), false, "released once, not twice");
	check_eq(dma_engine_stats(e, NULL), -EINVAL, "stats(NULL)");
	check_eq(dma_engine_destroy(e), 0, "destroy");
	check_eq(dma_engine_destroy(e), -EINVAL, "destroy twice");
	check_eq(dma_map_pages(e, pages, 2, DMA_REF_PIN, DMA_RELEASE_UNPIN), -EINVAL,
		 "a destroyed engine");
	check_eq(dma_engine_destroy(other), 0, "destroy the other");
	put_page(stranger[0]);
	vm_munmap(addr, 2 * PAGE_SIZE);
	vm_munmap(addr2, PAGE_SIZE);
}

/* A page whose only holder besides the caller is an engine's FOLL_GET reference. */
static void test_check_counts_engine_references(void **state)
{
	struct dma_engine *e = engine_ok(1, 0);
	struct page *page[1];
	unsigned long addr = take_pages(1, DMA_REF_GET, page);
	int b = dma_map_pages(e, page, 1, DMA_REF_GET, DMA_RELEASE_PUT_PAGE);

	(void)state;
	check_true(b >= 0, "map");
	vm_munmap(addr, PAGE_SIZE);
	check_eq(page_ref_count(page[0]), 1, "only the engine holds the page");
	check_eq(pinmm_check_invariants(), 0, "held by a device: reachable");
	check_eq(dma_unmap(e, b), 0, "unmap frees it");
	check_eq(dma_engine_destroy(e), 0, "destroy");
}

#define SUBMITTERS 4
#define ROUNDS 200

struct submitter {
	struct dma_engine *engine;
	int buffer;
	struct page *page;
	unsigned int slot;
	int failures;
};

static void *submit_loop(void *p)
{
	struct submitter *s = p;
	uint64_t out[8], in[8];

	for (int r = 0; r < ROUNDS; r++) {
		long w, rd;

		for (int i = 0; i < 8; i++)
			out[i] = ((uint64_t)s->slot << 32) | (uint64_t)(r * 8 + i);
		w = dma_submit(s->engine, s->buffer, s->page, s->slot * 64, out, 64,
			       DMA_FROM_DEVICE);
		if (w <= 0 || dma_wait(s->engine, w)) {
			s->failures++;
			continue;
		}
		rd = dma_submit(s->engine, s->buffer, s->page, s->slot * 64, in, 64, DMA_TO_DEVICE);
		if (rd <= 0 || dma_wait(s->engine, rd) || memcmp(in, out, 64))
			s->failures++;
	}
	return NULL;
}

static void test_many_submitters(void **state)
{
	struct dma_engine *e = engine_ok(3, 20);
	struct page *page[1];
	unsigned long addr = take_pages(1, DMA_REF_PIN, page);
	struct submitter subs[SUBMITTERS];
	pthread_t t[SUBMITTERS];
	int b = dma_map_pages(e, page, 1, DMA_REF_PIN, DMA_RELEASE_UNPIN_DIRTY);

	(void)state;
	check_true(b >= 0, "map");
	for (unsigned int i = 0; i < SUBMITTERS; i++) {
		subs[i] = (struct submitter){.engine = e, .buffer = b, .page = page[0], .slot = i};
		pthread_create(&t[i], NULL, submit_loop, &subs[i]);
	}
	for (unsigned int i = 0; i < SUBMITTERS; i++) {
		pthread_join(t[i], NULL);
		check_eq(subs[i].failures, 0, "submitter %u: each transfer read back what it wrote",
			 i);
	}
	check_eq(dma_unmap(e, b), 0, "unmap");
	check_eq(dma_engine_destroy(e), 0, "destroy");
	vm_munmap(addr, PAGE_SIZE);
}

/* Each allocation of create, map and submit failing in turn: -ENOMEM, nothing changed. */
static void test_out_of_memory(void **state)
{
	struct pinmm_fail_attr fail = {.sites = "alloc:kmalloc"};
	struct page *pages[1];
	unsigned long addr = take_pages(1, DMA_REF_PIN, pages);
	struct dma_engine_stats st;
	struct dma_engine *e;
	uint64_t buf[1] = {0};
	int b = -1;

	(void)state;
	for (fail.nth = 1;; fail.nth++) {
		pinmm_fail_set(&fail);
		e = dma_engine_create(2, 0);
		pinmm_fail_set(NULL);
		if (!IS_ERR(e))
			break;
		check_eq(PTR_ERR(e), -ENOMEM, "create with allocation %lu failing", fail.nth);
	}
	check_true(fail.nth > 1, "create allocates");
	for (fail.nth = 1;; fail.nth++) {
		pinmm_fail_set(&fail);
		b = dma_map_pages(e, pages, 1, DMA_REF_PIN, DMA_RELEASE_UNPIN);
		pinmm_fail_set(NULL);
		if (b >= 0)
			break;
		check_eq(b, -ENOMEM, "map with allocation %lu failing", fail.nth);
		check_eq(dma_engine_stats(e, &st), 0, "stats");
		check_eq(st.buffers + st.pages, 0, "map with allocation %lu failing: nothing mapped",
			 fail.nth);
		check_true(page_maybe_dma_pinned(pages[0]), "the caller still holds its pin");
	}
	fail.nth = 1;
	pinmm_fail_set(&fail);
	check_eq(dma_submit(e, b, pages[0], 0, buf, 8, DMA_FROM_DEVICE), -ENOMEM,
		 "submit without memory");
	pinmm_fail_set(NULL);
	check_eq(dma_engine_stats(e, &st), 0, "stats");
	check_eq(st.submitted, 0, "nothing submitted");
	check_eq(dma_unmap(e, b), 0, "unmap: no transfer outstanding");
	check_eq(dma_engine_destroy(e), 0, "destroy");
	vm_munmap(addr, PAGE_SIZE);
}

static void test_no_machine(void **state)
{
	(void)state;
	check_eq(PTR_ERR(dma_engine_create(1, 0)), -ENODEV, "an engine without a machine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_transfers_both_ways),
		test_with_mm(test_release_policies),
		test_with_mm(test_refusals),
		test_with_mm(test_check_counts_engine_references),
		test_with_mm(test_many_submitters),
		test_with_mm(test_out_of_memory),
		cmocka_unit_test(test_no_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
