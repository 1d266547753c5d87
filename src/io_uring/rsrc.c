/* SPDX-License-Identifier: MIT */
/*
 * io_uring's registered buffers (Linux 5.7's io_sqe_buffer_register(), io_import_fixed() and
 * io_sqe_buffer_unregister(); io_uring/rsrc.c today): a ring keeps, per registered user range,
 * the pages pinned with pin_user_pages(FOLL_WRITE | FOLL_LONGTERM); fixed reads and writes
 * copy to and from those pages; unregistering unpins them.
 *
 * Each buffer's pages are charged to the registering mm's pinned_vm against its RLIMIT_MEMLOCK
 * (no limit with CAP_IPC_LOCK; src/vm/util.c), and uncharged when they are unpinned; which
 * pages count is the rule set's (rule_io_uring_acct_per_head_page()).
 *
 * The rule that is easy to break: registration is all or nothing. Every range is checked, then
 * pinned under one mmap read lock, and the VMAs of the pinned pages checked under that same
 * lock (5.7 refuses file-backed memory but hugetlb); a failure anywhere unpins every page
 * pinned so far, so a refused registration leaves no pin behind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef UIO_MAXIOV
#define UIO_MAXIOV 1024
#endif
#define IO_BUF_MAX (1UL << 30) /* Linux's "arbitrary limit" on one buffer: 1 GiB */

/* One registered buffer: the user range and its pinned pages, in order. */
struct io_mapped_ubuf {
	unsigned long ubuf;
	size_t len;
	unsigned long nr_pages;
	struct page **pages;
	unsigned long acct_pages; /* charged to mm_account's pinned_vm for this buffer */
};

struct io_ring_ctx {
	pthread_mutex_t uring_lock; /* the fields below */
	struct io_mapped_ubuf *user_bufs;
	unsigned int nr_user_bufs;
	/* The mm charged for the registered buffers (Linux's ctx->mm_account), held by mm_count
	 * from registration to unregistration. */
	struct mm_struct *mm_account;
};

struct io_ring_ctx *io_ring_ctx_alloc(void)
{
	struct io_ring_ctx *ctx = kzalloc(sizeof(*ctx));

	if (!ctx)
		return NULL;
	pthread_mutex_init(&ctx->uring_lock, NULL);
	return ctx;
}

/* Unpin, uncharge from mm and free the first nr of bufs, then bufs. */
static void free_bufs(struct mm_struct *mm, struct io_mapped_ubuf *bufs, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++) {
		unpin_user_pages(bufs[i].pages, bufs[i].nr_pages);
		if (bufs[i].acct_pages)
			mm_pinned_vm_uncharge(mm, bufs[i].acct_pages);
		free(bufs[i].pages);
	}
	free(bufs);
}

void io_ring_ctx_free(struct io_ring_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->user_bufs) {
		free_bufs(ctx->mm_account, ctx->user_bufs, ctx->nr_user_bufs);
		mmdrop(ctx->mm_account);
	}
	pthread_mutex_destroy(&ctx->uring_lock);
	free(ctx);
}

static int check_iovs(const struct iovec *iovs, unsigned int nr)
{
	if (!nr || nr > UIO_MAXIOV)
		return -EINVAL;
	if (!iovs)
		return -EFAULT;
	for (unsigned int i = 0; i < nr; i++) {
		unsigned long base = (unsigned long)iovs[i].iov_base;

		if (!base || !iovs[i].iov_len || iovs[i].iov_len > IO_BUF_MAX)
			return -EFAULT;
		if (base >= TASK_SIZE || iovs[i].iov_len > TASK_SIZE - base)
			return -EFAULT;
	}
	return 0;
}

/* 5.7: no file-backed memory but hugetlb's (checked with the pages pinned, mmap lock held).
 * Modern rules leave files to GUP (rule_io_uring_leaves_file_check_to_gup()). */
static int check_vmas(struct mm_struct *mm, unsigned long start, unsigned long nr_pages)
{
	for (unsigned long j = 0; j < nr_pages; j++) {
		struct vm_area_struct *vma = find_vma(mm, start + j * PAGE_SIZE);

		if (vma && vma->vm_file && !(vma->vm_flags & VM_HUGETLB))
			return -EOPNOTSUPP;
	}
	return 0;
}

/* Whether compound page head is already charged: by an earlier page of pages[0 .. n) or by
 * one of the buffers bufs[0 .. nr_bufs) registered before (headpage_already_acct()). */
static bool head_already_acct(struct page **pages, unsigned long n,
			      const struct io_mapped_ubuf *bufs, unsigned int nr_bufs,
			      struct page *head)
{
	for (unsigned long i = 0; i < n; i++)
		if (PageCompound(pages[i]) && compound_head(pages[i]) == head)
			return true;
	for (unsigned int b = 0; b < nr_bufs; b++)
		for (unsigned long i = 0; i < bufs[b].nr_pages; i++)
			if (PageCompound(bufs[b].pages[i]) &&
			    compound_head(bufs[b].pages[i]) == head)
				return true;
	return false;
}

/* The pages one buffer charges (io_buffer_account_pin()): every page under 5.7; under modern
 * rules each compound page once, whole, across this buffer and the earlier ones. */
static unsigned long buf_acct_pages(struct page **pages, unsigned long nr_pages,
				    const struct io_mapped_ubuf *bufs, unsigned int nr_bufs)
{
	struct page *last_head = NULL;
	unsigned long acct = 0;

	if (!rule_io_uring_acct_per_head_page())
		return nr_pages;
	for (unsigned long i = 0; i < nr_pages; i++) {
		struct page *head;

		if (!PageCompound(pages[i])) {
			acct++;
			continue;
		}
		head = compound_head(pages[i]);
		if (head == last_head)
			continue;
		last_head = head;
		if (!head_already_acct(pages, i, bufs, nr_bufs, head))
			acct += 1UL << compound_order(head);
	}
	return acct;
}

/* Pin one buffer's pages into bufs[done] and charge them to mm's pinned_vm (bypass: no limit).
 * 0 or a negative errno (nothing left pinned or charged; -ENOMEM over RLIMIT_MEMLOCK). mmap
 * lock held. */
static int pin_buf(struct mm_struct *mm, const struct iovec *iov, struct io_mapped_ubuf *bufs,
		   unsigned int done, bool bypass)
{
	struct io_mapped_ubuf *imu = &bufs[done];
	unsigned long ubuf = (unsigned long)iov->iov_base, start = ubuf & PAGE_MASK;
	unsigned long nr_pages = ((ubuf + iov->iov_len + PAGE_SIZE - 1) >> PAGE_SHIFT) -
				 (ubuf >> PAGE_SHIFT);
	struct page **pages = kmalloc(nr_pages * sizeof(*pages));
	unsigned long acct = 0;
	long pret;
	int ret;

	if (!pages)
		return -ENOMEM;
	pret = pin_user_pages(start, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages);
	/* The charge follows the pin, as Linux's io_sqe_buffer_register(): the headpage rule
	 * needs the pages. Over the limit, the pin is undone below. */
	if (pret == (long)nr_pages)
		ret = rule_io_uring_leaves_file_check_to_gup() ? 0 : check_vmas(mm, start, nr_pages);
	else
		ret = pret < 0 ? (int)pret : -EFAULT;
	if (!ret) {
		acct = buf_acct_pages(pages, nr_pages, bufs, done);
		ret = acct ? mm_pinned_vm_charge(mm, acct, bypass) : 0;
	}
	if (ret) {
		if (pret > 0)
			unpin_user_pages(pages, (unsigned long)pret);
		free(pages);
		return ret;
	}
	*imu = (struct io_mapped_ubuf){ubuf, iov->iov_len, nr_pages, pages, acct};
	return 0;
}

int io_sqe_buffers_register(struct io_ring_ctx *ctx, const struct iovec *iovs, unsigned int nr)
{
	struct mm_struct *mm = current_mm();
	struct io_mapped_ubuf *bufs;
	unsigned int done = 0;
	bool bypass;
	int ret;

	if (!ctx)
		return -EBADF;
	pthread_mutex_lock(&ctx->uring_lock);
	ret = ctx->user_bufs ? -EBUSY : check_iovs(iovs, nr);
	if (!ret && !mm)
		ret = -ESRCH;
	bufs = ret ? NULL : kzalloc(nr * sizeof(*bufs));
	if (!ret && !bufs)
		ret = -ENOMEM;
	if (ret) {
		pthread_mutex_unlock(&ctx->uring_lock);
		return ret;
	}
	mmap_read_lock(mm);
	bypass = mm_memlock_bypass(mm);
	while (done < nr && !(ret = pin_buf(mm, &iovs[done], bufs, done, bypass)))
		done++;
	mmap_read_unlock(mm);
	if (ret) {
		free_bufs(mm, bufs, done);
	} else {
		mmgrab(mm);
		ctx->mm_account = mm;
		ctx->user_bufs = bufs;
		ctx->nr_user_bufs = nr;
	}
	pthread_mutex_unlock(&ctx->uring_lock);
	return ret;
}

int io_sqe_buffers_unregister(struct io_ring_ctx *ctx)
{
	if (!ctx)
		return -EBADF;
	pthread_mutex_lock(&ctx->uring_lock);
	if (!ctx->user_bufs) {
		pthread_mutex_unlock(&ctx->uring_lock);
		return -ENXIO;
	}
	free_bufs(ctx->mm_account, ctx->user_bufs, ctx->nr_user_bufs);
	mmdrop(ctx->mm_account);
	ctx->mm_account = NULL;
	ctx->user_bufs = NULL;
	ctx->nr_user_bufs = 0;
	pthread_mutex_unlock(&ctx->uring_lock);
	return 0;
}

/* io_import_fixed(): copy between host memory and [addr, addr + len) of buffer buf_index, in
 * the direction to_pages says. */
static ssize_t io_fixed_copy(struct io_ring_ctx *ctx, unsigned int buf_index, unsigned long addr,
			     void *mem, size_t len, bool to_pages)
{
	struct io_mapped_ubuf *imu;
	ssize_t ret = (ssize_t)len;

	if (!ctx)
		return -EBADF;
	if (!len)
		return 0;
	if (!mem)
		return -EFAULT;
	pthread_mutex_lock(&ctx->uring_lock);
	imu = buf_index < ctx->nr_user_bufs ? &ctx->user_bufs[buf_index] : NULL;
	if (!imu || addr < imu->ubuf || addr + len < addr || addr + len > imu->ubuf + imu->len) {
		ret = -EFAULT;
	} else {
		unsigned long off = addr - (imu->ubuf & PAGE_MASK);

		for (size_t done = 0; done < len;) {
			unsigned long in_page = (off + done) & ~PAGE_MASK;
			size_t chunk = PAGE_SIZE - in_page < len - done ? PAGE_SIZE - in_page
									 : len - done;
			char *kaddr = (char *)page_address(imu->pages[(off + done) >> PAGE_SHIFT]) +
				      in_page;

			if (to_pages)
				memcpy(kaddr, (char *)mem + done, chunk);
			else
				memcpy((char *)mem + done, kaddr, chunk);
			done += chunk;
		}
	}
	pthread_mutex_unlock(&ctx->uring_lock);
	return ret;
}

ssize_t io_write_fixed(struct io_ring_ctx *ctx, unsigned int buf_index, unsigned long addr,
		       void *out, size_t len)
{
	return io_fixed_copy(ctx, buf_index, addr, out, len, false);
}

ssize_t io_read_fixed(struct io_ring_ctx *ctx, unsigned int buf_index, unsigned long addr,
		      const void *in, size_t len)
{
	return io_fixed_copy(ctx, buf_index, addr, (void *)in, len, true);
}
