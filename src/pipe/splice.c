/* SPDX-License-Identifier: MIT */
/*
 * vmsplice(2) into a pipe (Linux's vmsplice_to_pipe() and iter_to_pipe() in fs/splice.c): the
 * user ranges are checked whole first, then their pages taken with get_user_pages_fast()
 * without FOLL_WRITE (read-only FOLL_GET references, as 5.7's iov_iter_get_pages() takes them)
 * and handed to the pipe's buffers (pipe.c), one buffer per page.
 *
 * The rule that is easy to break: a reference taken for a page that finds no buffer (the pipe
 * filled, a later page failed) is dropped at once; the pipe owns exactly the ones in buffers.
 */
#include <errno.h>
#include <limits.h>

#include "internal.h"

#define SPLICE_F_ALL (SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT)
#ifndef UIO_MAXIOV
#define UIO_MAXIOV 1024
#endif

/* import_iovec()'s checks: every segment inside the user address space, the total within
 * SSIZE_MAX. */
static int check_iovec(const struct iovec *iov, unsigned long nr_segs, size_t *total)
{
	size_t sum = 0;

	if (nr_segs > UIO_MAXIOV)
		return -EINVAL;
	if (nr_segs && !iov)
		return -EFAULT;
	for (unsigned long i = 0; i < nr_segs; i++) {
		unsigned long base = (unsigned long)iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (len > SSIZE_MAX || len > SSIZE_MAX - sum)
			return -EINVAL;
		if (len && (base >= TASK_SIZE || len > TASK_SIZE - base))
			return -EFAULT;
		sum += len;
	}
	*total = sum;
	return 0;
}

/* Splice [addr, addr + len) until the pipe is full or a page cannot be taken. Returns the bytes
 * spliced, or the error of the first page. mutex held. */
static ssize_t splice_range(struct pipe_inode_info *pipe, unsigned long addr, size_t len)
{
	size_t done = 0;

	while (done < len && !pipe_full(pipe)) {
		unsigned long at = addr + done, offset = at & ~PAGE_MASK;
		unsigned long want = (offset + (len - done) + PAGE_SIZE - 1) >> PAGE_SHIFT;
		unsigned long room = PIPE_DEF_BUFFERS - (pipe->head - pipe->tail);
		struct page *pages[PIPE_DEF_BUFFERS];
		int got;

		if (want > room)
			want = room;
		got = get_user_pages_fast(at & PAGE_MASK, (int)want, 0, pages);
		if (got <= 0)
			return done ? (ssize_t)done : (got ? got : -EFAULT);
		for (int i = 0; i < got; i++, offset = 0) {
			size_t chars = PAGE_SIZE - offset;

			if (chars > len - done)
				chars = len - done;
			pipe_buf_add(pipe, pages[i], (unsigned int)offset, (unsigned int)chars);
			done += chars;
		}
		if ((unsigned long)got < want)
			break; /* the next page failed: what was taken stays spliced */
	}
	return (ssize_t)done;
}

ssize_t vmsplice_to_pipe(struct pipe_inode_info *pipe, const struct iovec *iov,
			 unsigned long nr_segs, unsigned int flags)
{
	size_t total, done = 0;
	ssize_t ret = 0;

	if (!pipe)
		return -EBADF;
	if (flags & ~SPLICE_F_ALL)
		return -EINVAL;
	ret = check_iovec(iov, nr_segs, &total);
	if (ret)
		return ret;
	if (!total)
		return 0;
	if (!current_mm())
		return -ESRCH;
	pthread_mutex_lock(&pipe->mutex);
	if (pipe_full(pipe)) {
		pthread_mutex_unlock(&pipe->mutex);
		return -EAGAIN;
	}
	for (unsigned long i = 0; i < nr_segs && !pipe_full(pipe); i++) {
		if (!iov[i].iov_len)
			continue;
		ret = splice_range(pipe, (unsigned long)iov[i].iov_base, iov[i].iov_len);
		if (ret > 0)
			done += (size_t)ret;
		if (ret < 0 || (size_t)ret < iov[i].iov_len)
			break;
	}
	pthread_mutex_unlock(&pipe->mutex);
	return done ? (ssize_t)done : ret;
}
