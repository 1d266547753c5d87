/* SPDX-License-Identifier: MIT */
/*
 * pin_page: the README's example. Boot a machine, fault a page in, pin it as a driver about to
 * start DMA would, look at its counts and its dump_page(), unpin it and shut down. `make check`
 * builds it against the installed package and compares its output with pin_page.expected.
 * Build: cc pin_page.c $(pkg-config --cflags --libs pinmm)
 */
#include <stdio.h>
#include <string.h>

#include <pinmm/pinmm.h>

int main(void)
{
	struct page *pages[1];
	unsigned long addr;
	struct mm_struct *mm;
	int ret;

	pinmm_set_log_stream(stdout);           /* dump_page() and WARNs, as dmesg would */
	ret = pinmm_boot(NULL);                 /* a 1 GiB machine, THP always */
	if (ret) {
		fprintf(stderr, "pinmm_boot: %s\n", strerror(-ret));
		return 1;
	}
	mm = mm_alloc();
	kthread_use_mm(mm);                     /* this thread is now a CPU running in mm */
	addr = vm_mmap(NULL, 0, 16 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr) || copy_to_user(addr, "hello", 6)) {   /* faults the page in */
		fprintf(stderr, "mapping or faulting the page failed\n");
		return 1;
	}

	ret = pin_user_pages_fast(addr, 1, FOLL_WRITE, pages);
	if (ret != 1) {
		fprintf(stderr, "pin_user_pages_fast: %d\n", ret);
		return 1;
	}
	/* A pin adds GUP_PIN_COUNTING_BIAS (1024) to the refcount of a small page. */
	printf("refcount %d, mapcount %d, maybe pinned: %s\n", page_ref_count(pages[0]),
	       page_mapcount(pages[0]), page_maybe_dma_pinned(pages[0]) ? "yes" : "no");
	dump_page(pages[0], "pinned");          /* Linux 5.7's format */
	unpin_user_pages_dirty_lock(pages, 1, true);
	printf("after unpin: refcount %d, maybe pinned: %s\n", page_ref_count(pages[0]),
	       page_maybe_dma_pinned(pages[0]) ? "yes" : "no");
	printf("nr_foll_pin_acquired %ld, nr_foll_pin_released %ld\n",
	       global_node_page_state(NR_FOLL_PIN_ACQUIRED),
	       global_node_page_state(NR_FOLL_PIN_RELEASED));

	kthread_unuse_mm(mm);
	mmput(mm);
	ret = pinmm_shutdown();                 /* 0, or -EBUSY and a report of what leaked */
	printf("pinmm_shutdown: %d\n", ret);
	return ret ? 1 : 0;
}
