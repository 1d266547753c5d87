/* SPDX-License-Identifier: MIT */
/*
 * Pipes that hold user pages: vmsplice(2) into a pipe (Linux's vmsplice_to_pipe()) takes a
 * read-only FOLL_GET reference on each page of the user range (get_user_pages_fast() without
 * FOLL_WRITE) and keeps the page itself in a pipe buffer; reading the pipe copies out of those
 * pages at read time; reading a buffer to its end, or freeing the pipe, drops the reference.
 * This is the setting of CVE-2020-29374: what a reader sees is whatever the held page holds
 * when it reads, whoever maps it by then.
 *
 * pinmm has no file descriptors and never sleeps here: a pipe is a struct pipe_inode_info, a
 * vmsplice() into a full pipe and a read of an empty one fail with -EAGAIN (as with
 * SPLICE_F_NONBLOCK / O_NONBLOCK), and there are no pipe ends (no EOF, no EPIPE). Any thread
 * may use a pipe; each call is atomic with respect to the others on the same pipe.
 */
#ifndef PINMM_PIPE_H
#define PINMM_PIPE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "mm_types.h"

#ifndef SPLICE_F_MOVE
#define SPLICE_F_MOVE 1u
#define SPLICE_F_NONBLOCK 2u
#define SPLICE_F_MORE 4u
#define SPLICE_F_GIFT 8u
#endif

/* Linux's default pipe size: 16 buffers of up to one page each. */
#define PIPE_DEF_BUFFERS 16u

#ifdef __cplusplus
extern "C" {
#endif

struct pipe_inode_info;

/* A new, empty pipe of PIPE_DEF_BUFFERS buffers, or NULL (no memory). */
struct pipe_inode_info *alloc_pipe_info(void);

/* Close the pipe: the pages its buffers hold are released (put_page()), then the pipe goes.
 * NULL is ignored. No call may be running on the pipe. */
void free_pipe_info(struct pipe_inode_info *pipe);

/* How many buffers hold data (0 .. PIPE_DEF_BUFFERS); -EBADF for a NULL pipe. */
int pipe_occupancy(struct pipe_inode_info *pipe);

/*
 * vmsplice(2) of the user ranges iov[0 .. nr_segs) of the current mm into pipe: each page is
 * taken with get_user_pages_fast() without FOLL_WRITE and held in one buffer (the
 * part of it the range covers), until the pipe is full. flags: SPLICE_F_* (SPLICE_F_GIFT and
 * SPLICE_F_MOVE are accepted and change nothing, as for Linux's vmsplice into a pipe).
 * Returns the bytes spliced (> 0; fewer than asked when the pipe filled or a page could not be
 * taken), 0 for a total length of 0, or a negative errno with nothing spliced:
 *   -EBADF   pipe NULL
 *   -EINVAL  unknown flags; nr_segs > UIO_MAXIOV (1024); a segment length above SSIZE_MAX or
 *            lengths adding up past it
 *   -EFAULT  iov NULL with nr_segs > 0; a segment outside the user address space; the first
 *            page could not be taken (nothing mapped, PROT_NONE, SIGBUS)
 *   -EAGAIN  the pipe is full
 *   -ENOMEM  GUP ran out of memory on the first page
 *   -ESRCH   the calling thread has no current mm
 */
ssize_t vmsplice_to_pipe(struct pipe_inode_info *pipe, const struct iovec *iov,
			 unsigned long nr_segs, unsigned int flags);

/*
 * read(2) from pipe into buf (host memory): copies up to len bytes out of the held pages, in
 * order, as they are now; a buffer read to its end releases its page. Returns the bytes copied
 * (> 0), 0 for len 0, or -EBADF (pipe NULL), -EFAULT (buf NULL with len > 0), -EAGAIN (the pipe
 * is empty).
 */
ssize_t pipe_read(struct pipe_inode_info *pipe, void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_PIPE_H */
