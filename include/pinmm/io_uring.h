/* SPDX-License-Identifier: MIT */
/*
 * Fixed buffers as io_uring registers them (Linux 5.7's IORING_REGISTER_BUFFERS and
 * IORING_UNREGISTER_BUFFERS, io_sqe_buffer_register()): registering a set of user ranges pins
 * every page of them with pin_user_pages(FOLL_WRITE | FOLL_LONGTERM) for as long as they stay
 * registered; I/O on a registered buffer (IORING_OP_READ_FIXED / IORING_OP_WRITE_FIXED) goes to
 * and from the pinned pages, never through the page tables, so it reaches whatever page was
 * pinned even after the process's mapping has moved on (a COW after fork, say);
 * unregistering unpins them.
 *
 * Names: Linux's kernel-side ones (io_ring_ctx_alloc, io_sqe_buffers_register...), since
 * liburing uses the io_uring_* ones for its own calls.
 *
 * pinmm has no rings, descriptors or files here: a ring is a struct io_ring_ctx, and the I/O
 * calls copy between the pinned pages and host memory, standing in for the device or file on
 * the other side. Registration charges the pages to the registering mm's pinned_vm against
 * its RLIMIT_MEMLOCK (<pinmm/mman.h>; where Linux charges the user's locked_vm: pinmm has no
 * users), none with CAP_IPC_LOCK; under 5.7 rules every page of every buffer, under modern
 * rules each compound page once and whole (Linux 5.10). pinmm registers and unregisters all
 * buffers at once, so the sharing of a huge page between buffers can never leave it pinned
 * and uncharged (the hole Linux's later per-buffer updates opened). Calls on one ring are serialised by its lock;
 * any thread may make them. Pages pinned belong to the current mm of the registering thread.
 */
#ifndef PINMM_IO_URING_H
#define PINMM_IO_URING_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct io_ring_ctx;

/* A new ring with no buffers registered, or NULL (no memory). */
struct io_ring_ctx *io_ring_ctx_alloc(void);

/* Close the ring: buffers still registered are unregistered (unpinned) first. NULL is ignored;
 * no call may be running on the ring. */
void io_ring_ctx_free(struct io_ring_ctx *ctx);

/*
 * IORING_REGISTER_BUFFERS: pin the pages of iovs[0 .. nr) (each up to 1 GiB) in the calling
 * thread's current mm, FOLL_WRITE | FOLL_LONGTERM, under its mmap lock. All or nothing: on any
 * error every page pinned so far is unpinned and nothing is registered. Returns 0 or:
 *   -EBADF      ctx NULL
 *   -EBUSY      buffers are registered already
 *   -EINVAL     nr 0 or above UIO_MAXIOV (1024)
 *   -EFAULT     iovs NULL; a buffer with a NULL base or length 0 or above 1 GiB; a page that
 *               cannot be pinned (nothing mapped, no write permission, SIGBUS...); under
 *               modern rules a page of a shared, writable mapping of a host file (GUP refuses
 *               the writable long-term pin: <pinmm/gup.h>)
 *   -EOPNOTSUPP under 5.7 rules, a page of a file mapping other than hugetlb (5.7 refuses
 *               file-backed memory, shmem and memfd included); modern rules take shmem,
 *               memfd and private file mappings (Linux 6.5)
 *   -ENOMEM     the charge would take the mm's pinned_vm above its RLIMIT_MEMLOCK (and it
 *               has no CAP_IPC_LOCK); no memory, or GUP ran out of it (under modern rules: a page in ZONE_MOVABLE
 *               or CMA that could not be migrated out)
 *   -ESRCH      the calling thread has no current mm
 */
int io_sqe_buffers_register(struct io_ring_ctx *ctx, const struct iovec *iovs, unsigned int nr);

/* IORING_UNREGISTER_BUFFERS: unpin every registered page. 0, -EBADF (ctx NULL), -ENXIO
 * (nothing registered). */
int io_sqe_buffers_unregister(struct io_ring_ctx *ctx);

/*
 * IORING_OP_WRITE_FIXED: copy len bytes of registered buffer buf_index, from user address addr
 * (inside it), out of the pinned pages into out. IORING_OP_READ_FIXED: copy len bytes from in
 * into the pinned pages at addr. Return len, 0 for len 0, or -EBADF (ctx NULL), -EFAULT
 * (buf_index not registered, [addr, addr + len) not inside the buffer, out / in NULL with
 * len > 0).
 */
ssize_t io_write_fixed(struct io_ring_ctx *ctx, unsigned int buf_index, unsigned long addr,
		       void *out, size_t len);
ssize_t io_read_fixed(struct io_ring_ctx *ctx, unsigned int buf_index, unsigned long addr,
		      const void *in, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_IO_URING_H */
