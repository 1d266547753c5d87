/* SPDX-License-Identifier: MIT */
/*
 * gup_dma_loss: docs/gup-dma-problem.md's program. A driver pins a page of a shared mapping
 * of a host file and hands it to a DMA engine; writeback runs while the device works; the
 * device writes 'A's; the driver unpins with make_dirty, as 5.7 asks. The file system is then
 * full (no block left beyond those reserved). With Linux's writeback the page was cleaned
 * under the pin and its block reservation consumed, so the dirtying unpin is a page dirtied
 * without page_mkwrite, and with no block left the device's data is lost: fsync says -ENOSPC.
 * With pin-aware writeback the page stayed dirty with its reservation, and the data is on
 * storage. `make check` builds it against the installed package and compares its output
 * with gup_dma_loss.expected.
 * Build: cc gup_dma_loss.c $(pkg-config --cflags --libs pinmm)
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, ftruncate, pread under -std=c11 */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

static int run(bool pin_aware)
{
	char path[] = "/tmp/gup_dma_loss-XXXXXX", byte = 0;
	uint64_t pattern = 0x4141414141414141ULL; /* "AAAAAAAA" */
	struct pinmm_config cfg;
	struct pinmm_fs_stats fs;
	struct dma_engine *dev;
	struct mm_struct *mm;
	struct page *page;
	struct file *file;
	unsigned long addr;
	int fd = mkstemp(path), buf, err;

	if (fd < 0 || ftruncate(fd, 4096))
		return 1;
	pinmm_config_default(&cfg);
	cfg.rules = PINMM_RULES_5_7;
	cfg.pin_aware_writeback = pin_aware;
	if (pinmm_boot(&cfg))
		return 1;
	mm = mm_alloc();
	kthread_use_mm(mm);
	file = filp_open(path, O_RDWR, 0);
	addr = vm_mmap(file, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	if (IS_ERR(file) || IS_ERR_VALUE(addr) || copy_to_user(addr, "x", 1)) /* page_mkwrite */
		return 1;

	if (pin_user_pages_fast(addr, 1, FOLL_WRITE, &page) != 1)    /* the driver pins */
		return 1;
	dev = dma_engine_create(1, 0);
	buf = dma_map_pages(dev, &page, 1, DMA_REF_PIN, DMA_RELEASE_UNPIN_DIRTY);
	vfs_fsync(file, 0);                                   /* writeback while pinned */
	dma_wait(dev, dma_submit(dev, buf, page, 0, &pattern, 8, DMA_FROM_DEVICE));
	vm_munmap(addr, 4096);
	dma_unmap(dev, buf);                          /* unpin_user_pages_dirty_lock(, true) */
	dma_engine_destroy(dev);

	pinmm_fs_stats(&fs);
	pinmm_fs_set_capacity(fs.reserved);           /* full: no block beyond those reserved */
	err = vfs_fsync(file, 0);
	pinmm_fs_stats(&fs);
	if (pread(fd, &byte, 1, 0) != 1)
		return 1;
	printf("pin_aware_writeback %s: fsync %d, dirtied without page_mkwrite %lu, "
	       "storage holds '%c'\n", pin_aware ? "on " : "off", err,
	       fs.dirtied_without_mkwrite, byte);
	fput(file);
	kthread_unuse_mm(mm);
	mmput(mm);
	close(fd);
	unlink(path);
	return pinmm_shutdown() ? 1 : 0;
}

int main(void)
{
	FILE *null = fopen("/dev/null", "w");

	pinmm_set_log_stream(null);   /* the WARN of the first run is the point, not the output */
	return run(false) || run(true);
}
