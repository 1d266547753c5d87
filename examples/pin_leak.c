/* SPDX-License-Identifier: MIT */
/*
 * pin_leak: docs/observability.md's worked leak hunt. A driver pins a 4-page buffer for DMA;
 * its abort path unpins one page too few. With pin owners on (here pinmm_config.pin_owner;
 * PINMM_PIN_OWNER=1 does it for any program), the last mmput() and pinmm_shutdown() report
 * the page still pinned with the call site that pinned it: driver_start_dma() and its line.
 * `make check` builds it against the installed package and compares the report's lines that
 * name the culprit with pin_leak.expected.
 * Build: cc -g pin_leak.c $(pkg-config --cflags --libs pinmm)   (-g: the report's file:line)
 */
#include <stdio.h>

#include <pinmm/pinmm.h>

struct dma_buffer {
	struct page *pages[4];
	long nr;
};

/* Not inlined, so that the report names the driver's functions. */
static __attribute__((noinline)) int driver_start_dma(unsigned long addr, struct dma_buffer *b)
{
	b->nr = pin_user_pages_fast(addr, 4, FOLL_WRITE | FOLL_LONGTERM, b->pages);
	return b->nr == 4 ? 0 : -1;
}

static __attribute__((noinline)) void driver_abort_dma(struct dma_buffer *b)
{
	unpin_user_pages(b->pages, (unsigned long)b->nr - 1); /* the bug: one page short */
}

int main(void)
{
	struct pinmm_config cfg;
	struct dma_buffer buf;
	struct mm_struct *mm;
	unsigned long addr;

	pinmm_config_default(&cfg);
	cfg.pin_owner = true;
	if (pinmm_boot(&cfg))
		return 1;
	mm = mm_alloc();
	kthread_use_mm(mm);
	addr = vm_mmap(NULL, 0, 4 * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, 0);
	if (IS_ERR_VALUE(addr) || driver_start_dma(addr, &buf))
		return 1;
	driver_abort_dma(&buf);
	vm_munmap(addr, 4 * 4096);
	kthread_unuse_mm(mm);
	mmput(mm);                     /* the last user: reports the pin it still holds */
	printf("pin_leak: pinmm_shutdown() = %d\n", pinmm_shutdown()); /* and the leak */
	return 0;
}
