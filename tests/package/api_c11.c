/* SPDX-License-Identifier: MIT */
/*
 * The installed <pinmm/pinmm.h> as a strict ISO C11 program sees it: `make check` builds this
 * file with -std=c11 -pedantic-errors and no feature macro (so <pthread.h> hides its POSIX
 * types), against the copy `make install` put in the build directory, linked with pkg-config.
 * It uses the header's inline functions and macros, not only its declarations: a header that
 * compiles but whose macros need GNU C or _GNU_SOURCE would pass a bare #include.
 */
#include <stdio.h>

#include <pinmm/pinmm.h>

static int fail(const char *what, long expected, long found)
{
	printf("api_c11: %s: expected %ld, found %ld\n", what, expected, found);
	return 1;
}

int main(void)
{
	struct pinmm_config cfg;
	struct page *page;
	int ret;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	ret = pinmm_boot(&cfg);
	if (ret)
		return fail("pinmm_boot(64 MiB)", 0, ret);
	page = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	if (!page)
		return fail("alloc_pages(order 2) != NULL", 1, 0);
	if (!PageHead(page) || !PageTail(page + 1) || compound_head(page + 3) != page)
		return fail("compound page helpers see an order-2 head", 1, 0);
	if (WARN_ON_ONCE(page_ref_count(page) != 1))
		return fail("page_ref_count(new page)", 1, page_ref_count(page));
	get_page(page + 1);
	if (page_ref_count(page) != 2)
		return fail("page_ref_count after get_page(tail)", 2, page_ref_count(page));
	put_page(page + 1);
	put_page(page);
	ret = pinmm_shutdown();
	if (ret)
		return fail("pinmm_shutdown", 0, ret);
	printf("api_c11: ok\n");
	return 0;
}
