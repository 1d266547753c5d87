/* SPDX-License-Identifier: MIT */
/*
 * Pipes (Linux's fs/pipe.c, without descriptors or sleeping): a ring of PIPE_DEF_BUFFERS
 * buffers, each holding a page reference taken by vmsplice (splice.c), reads that copy out of
 * the held pages, and the release of those references.
 *
 * The rule that is easy to break: the pipe owns one reference per buffer, dropped exactly once,
 * when the buffer is read to its end or the pipe is freed; the bytes are copied from the page
 * when they are read, never earlier, so the reader sees what the page holds at that moment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct pipe_inode_info *alloc_pipe_info(void)
{
	struct pipe_inode_info *pipe = kzalloc(sizeof(*pipe));

	if (!pipe)
		return NULL;
	pthread_mutex_init(&pipe->mutex, NULL);
	return pipe;
}

void free_pipe_info(struct pipe_inode_info *pipe)
{
	if (!pipe)
		return;
	for (unsigned int i = pipe->tail; i != pipe->head; i++)
		put_page(pipe->bufs[i % PIPE_DEF_BUFFERS].page);
	pthread_mutex_destroy(&pipe->mutex);
	free(pipe);
}

int pipe_occupancy(struct pipe_inode_info *pipe)
{
	int n;

	if (!pipe)
		return -EBADF;
	pthread_mutex_lock(&pipe->mutex);
	n = (int)(pipe->head - pipe->tail);
	pthread_mutex_unlock(&pipe->mutex);
	return n;
}

void pipe_buf_add(struct pipe_inode_info *pipe, struct page *page, unsigned int offset,
		  unsigned int len)
{
	struct pipe_buffer *buf = &pipe->bufs[pipe->head % PIPE_DEF_BUFFERS];

	buf->page = page;
	buf->offset = offset;
	buf->len = len;
	pipe->head++;
}

ssize_t pipe_read(struct pipe_inode_info *pipe, void *buf, size_t len)
{
	size_t done = 0;

	if (!pipe)
		return -EBADF;
	if (!buf && len)
		return -EFAULT;
	if (!len)
		return 0;
	pthread_mutex_lock(&pipe->mutex);
	while (done < len && pipe->tail != pipe->head) {
		struct pipe_buffer *b = &pipe->bufs[pipe->tail % PIPE_DEF_BUFFERS];
		size_t chars = len - done < b->len ? len - done : b->len;

		memcpy((char *)buf + done, (char *)page_address(b->page) + b->offset, chars);
		done += chars;
		b->offset += (unsigned int)chars;
		b->len -= (unsigned int)chars;
		if (!b->len) {
			put_page(b->page);
			b->page = NULL;
			pipe->tail++;
		}
	}
	pthread_mutex_unlock(&pipe->mutex);
	return done ? (ssize_t)done : -EAGAIN;
}
