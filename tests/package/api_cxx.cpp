// SPDX-License-Identifier: MIT
//
// The installed <pinmm/pinmm.h> as a C++ program sees it: `make check` builds this file with
// g++ against the copy `make install` put in the build directory and links it with
// pkg-config. The declarations must have C linkage (extern "C"), the atomic fields and the
// inline functions must compile as C++, and struct page must keep its 64 bytes.
#include <cstdio>

#include <pinmm/pinmm.h>

static_assert(sizeof(struct page) == 64, "struct page is 64 bytes in C++ too");
static_assert(alignof(struct page) == alignof(unsigned long), "and word-aligned");

static int fail(const char *what, long expected, long found)
{
	std::printf("api_cxx: %s: expected %ld, found %ld\n", what, expected, found);
	return 1;
}

int main()
{
	struct pinmm_config cfg;
	pinmm_config_default(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	int ret = pinmm_boot(&cfg);
	if (ret)
		return fail("pinmm_boot(64 MiB)", 0, ret);

	struct mm_struct *mm = mm_alloc();
	kthread_use_mm(mm);
	unsigned long addr = vm_mmap(nullptr, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr))
		return fail("vm_mmap", 0, (long)addr);
	if (copy_to_user(addr, "c++", 4))
		return fail("copy_to_user faults the page in", 0, 1);
	struct page *pages[1];
	ret = pin_user_pages_fast(addr, 1, FOLL_WRITE, pages);
	if (ret != 1)
		return fail("pin_user_pages_fast", 1, ret);
	if (!page_maybe_dma_pinned(pages[0]) || WARN_ON(page_ref_count(pages[0]) != 1025))
		return fail("refcount of a pinned small page", 1025, page_ref_count(pages[0]));
	unpin_user_pages_dirty_lock(pages, 1, true);
	if (page_maybe_dma_pinned(pages[0]))
		return fail("page_maybe_dma_pinned after unpin", 0, 1);
	kthread_unuse_mm(mm);
	mmput(mm);
	ret = pinmm_shutdown();
	if (ret)
		return fail("pinmm_shutdown", 0, ret);
	std::printf("api_cxx: ok\n");
	return 0;
}
