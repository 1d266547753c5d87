/* SPDX-License-Identifier: MIT */
/*
 * What the files of src/pipe share: the pipe and its ring of buffers. A pin consumer's layer
 * (it takes pages with GUP and holds them); nothing below calls it.
 */
#ifndef PINMM_PIPE_INTERNAL_H
#define PINMM_PIPE_INTERNAL_H

#include <pthread.h>

#include <pinmm/pipe.h>

#include "gup/internal.h"

/* One buffer: a page (a FOLL_GET reference held) and the bytes of it not read yet. */
struct pipe_buffer {
	struct page *page;
	unsigned int offset, len;
};

/* A ring of buffers as Linux's (5.5+): head is where the next buffer goes, tail the next to
 * read; both only grow, the slot is the index modulo the ring size. Under mutex. */
struct pipe_inode_info {
	pthread_mutex_t mutex;
	unsigned int head, tail;
	struct pipe_buffer bufs[PIPE_DEF_BUFFERS];
};

static inline bool pipe_full(const struct pipe_inode_info *pipe)
{
	return pipe->head - pipe->tail >= PIPE_DEF_BUFFERS;
}

/* Add a buffer holding page's [offset, offset + len) (the caller's reference goes to the
 * pipe). The pipe is not full; mutex held. */
void pipe_buf_add(struct pipe_inode_info *pipe, struct page *page, unsigned int offset,
		  unsigned int len);

#endif /* PINMM_PIPE_INTERNAL_H */
