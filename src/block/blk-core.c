/* SPDX-License-Identifier: MIT */
/*
 * The block device: a queue of write requests and the device threads that serve it, the
 * writeback state of pages (PG_writeback from submission to completion) and its wait queue.
 *
 * The file system (src/fs/page-writeback.c) submits; a device thread takes a request, waits
 * its random delay, copies the data out sector by sector (page_copy_racy(): the page may be
 * written meanwhile, by a DMA engine holding a pin or a reference), verifies the checksum taken
 * at submission and writes the copy to the host file, then calls the request's bi_end_io.
 * The device threads are the process's, started on the first submission and never stopped
 * (they sleep on an empty queue); what belongs to a machine is the counters and the requests,
 * and no request outlives the machine (writeback waits for its own; the flusher drains on
 * stop, before pinmm_shutdown()'s check).
 *
 * The rule that is easy to break: PG_writeback is cleared under bdev.lock and waiters test it
 * under the same lock, or a waiter can miss the wake-up; and bi_end_io runs without bdev.lock
 * (it takes the file system's locks), so the request's accounting (in_flight) is dropped only
 * after it returned, which is what blk_drain() waits for.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lib/delay.h"

#define NR_DEVICE_THREADS 2
#define SECTOR_SIZE 512

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;      /* a request was queued */
	pthread_cond_t done;      /* a page left writeback, or a request completed */
	struct bio *head, **tail; /* FIFO of requests not taken yet */
	unsigned long gen;        /* the machine the counters below belong to */
	unsigned long submitted, completed, torn, errors, in_flight, pages;
	unsigned int max_delay_us;
	bool started;
} bdev = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.tail = &bdev.head,
};

/* A new machine starts with fresh counters and settings. bdev.lock held. */
static void bdev_sync_machine(void)
{
	unsigned long gen = machine_generation();

	if (bdev.gen == gen)
		return;
	bdev.gen = gen;
	bdev.submitted = bdev.completed = bdev.torn = bdev.errors = bdev.pages = 0;
	bdev.max_delay_us = 0;
}

/* FNV-1a over 64-bit words in four interleaved lanes: the lanes' multiplications do not wait
 * for each other, so the sum runs at the speed of the loads rather than of one chain of
 * multiplications (a page a microsecond would cap swap-out below the host's own bandwidth).
 * Any change of any word changes its lane's hash. len is a multiple of 8 (bio_span()). */
uint32_t blk_csum(const void *data, size_t len)
{
	const uint64_t *w = data;
	const uint64_t prime = 1099511628211ull;
	uint64_t h[4] = {14695981039346656037ull, 14695981039346656037ull ^ 1,
			 14695981039346656037ull ^ 2, 14695981039346656037ull ^ 3};
	size_t n = len / 8, i = 0;

	for (; i + 4 <= n; i += 4)
		for (unsigned int k = 0; k < 4; k++)
			h[k] = (h[k] ^ __atomic_load_n(&w[i + k], __ATOMIC_RELAXED)) * prime;
	for (; i < n; i++)
		h[0] = (h[0] ^ __atomic_load_n(&w[i], __ATOMIC_RELAXED)) * prime;
	h[0] ^= h[1] * 3 + h[2] * 5 + h[3] * 7;
	return (uint32_t)(h[0] ^ (h[0] >> 32));
}

/* The bytes the checksum and the copy cover: len rounded up to whole words (the request's
 * buffer is always a whole page). */
static size_t bio_span(const struct bio *bio)
{
	return (bio->len + 7) & ~(size_t)7;
}

/* Linux's bio_alloc() takes its requests from a mempool and waits for one rather than fail
 * writeback: these wait for the host to have memory, and are not fault-injection sites. */
static void *alloc_waiting(size_t size)
{
	void *p;

	while (!(p = calloc(1, size)))
		delay_us(1000);
	return p;
}

struct bio *bio_alloc(void)
{
	return alloc_waiting(sizeof(struct bio));
}

bool bio_add_page(struct bio *bio, struct page *page)
{
	if (bio->page || bio->bi_vcnt >= BIO_MAX_PAGES)
		return false;
	bio->bi_io_vec[bio->bi_vcnt++] = page;
	return true;
}

void *bio_alloc_bounce(void)
{
	return alloc_waiting(PAGE_SIZE);
}

void bio_put(struct bio *bio)
{
	free(bio->bounce);
	free(bio);
}

static int host_pwrite(int fd, const char *buf, size_t len, off_t pos)
{
	while (len) {
		ssize_t n = should_fail("io:write") ? (errno = EIO, -1) : pwrite(fd, buf, len, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		pos += n;
	}
	return 0;
}

static int host_pread(int fd, char *buf, size_t len, off_t pos)
{
	while (len) {
		ssize_t n = should_fail("io:read") ? (errno = EIO, -1) : pread(fd, buf, len, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* Past the end of the file: never written, reads as zeroes. */
			memset(buf, 0, len);
			return 0;
		}
		buf += n;
		len -= (size_t)n;
		pos += n;
	}
	return 0;
}

/* A several-page request: the device copies each segment out of its page (the DMA of a
 * scatter-gather list), checks each against its checksum, and writes the span in one go; a
 * read is one host read of the span, then each page gets its part. buf holds BIO_MAX_PAGES
 * pages. */
static void bio_transfer_vec(struct bio *bio, unsigned int max_delay_us, unsigned long long *rng,
			     uint64_t *buf)
{
	char *span = (char *)buf;

	if (bio->bi_read) {
		bio->bi_status = host_pread(bio->fd, span, bio->len, bio->pos);
		if (!bio->bi_status)
			for (unsigned int i = 0; i < bio->bi_vcnt; i++)
				memcpy(page_address(bio->bi_io_vec[i]), span + i * PAGE_SIZE,
				       PAGE_SIZE);
		return;
	}
	race_point("block:copying");
	for (unsigned int i = 0; i < bio->bi_vcnt; i++) {
		const char *src = page_address(bio->bi_io_vec[i]);
		char *dst = span + i * PAGE_SIZE;

		for (size_t off = 0; off < PAGE_SIZE; off += SECTOR_SIZE) {
			page_copy_racy(dst + off, src + off, SECTOR_SIZE);
			if (max_delay_us)
				delay_us(delay_rand(rng) % (max_delay_us / 8 + 1));
		}
		if (blk_csum(dst, PAGE_SIZE) != bio->bi_csums[i])
			bio->bi_status = -EILSEQ;
	}
	race_point("block:copied");
	if (!bio->bi_status)
		bio->bi_status = host_pwrite(bio->fd, span, bio->len, bio->pos);
}

/* Serve one request: the device's DMA out of memory, the check, the write. A read goes
 * straight into the page, which nobody else can see yet (the reader holds its lock and it is
 * mapped nowhere). */
static void bio_transfer(struct bio *bio, unsigned int max_delay_us, unsigned long long *rng,
			 uint64_t *buf)
{
	size_t span = bio_span(bio);

	if (max_delay_us)
		delay_us(delay_rand(rng) % (max_delay_us + 1));
	if (bio->bi_vcnt) {
		bio_transfer_vec(bio, max_delay_us, rng, buf);
		return;
	}
	if (bio->bi_read) {
		bio->bi_status = host_pread(bio->fd, page_address(bio->page), bio->len, bio->pos);
		return;
	}
	race_point("block:copying");
	for (size_t off = 0; off < span; off += SECTOR_SIZE) {
		size_t n = span - off < SECTOR_SIZE ? span - off : SECTOR_SIZE;

		page_copy_racy((char *)buf + off, (const char *)bio->data + off, n);
		if (max_delay_us && off + n < span)
			delay_us(delay_rand(rng) % (max_delay_us / 8 + 1));
	}
	race_point("block:copied");
	if (blk_csum(buf, span) != bio->csum)
		bio->bi_status = -EILSEQ;
	else
		bio->bi_status = host_pwrite(bio->fd, (const char *)buf, bio->len, bio->pos);
}

static void *device_thread(void *arg)
{
	unsigned long long rng = (unsigned long long)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
	uint64_t *buf = malloc(BIO_MAX_PAGES * PAGE_SIZE);

	if (!buf)
		abort(); /* at process start-up: nothing to fall back on */
	pthread_mutex_lock(&bdev.lock);
	for (;;) {
		struct bio *bio;
		unsigned int delay, npages;

		while (!bdev.head)
			pthread_cond_wait(&bdev.work, &bdev.lock);
		bio = bdev.head;
		bdev.head = bio->next;
		if (!bdev.head)
			bdev.tail = &bdev.head;
		delay = bdev.max_delay_us;
		pthread_mutex_unlock(&bdev.lock);

		bio_transfer(bio, delay, &rng, buf);
		npages = bio->bi_vcnt ? bio->bi_vcnt : 1;
		pthread_mutex_lock(&bdev.lock);
		bdev.pages += npages;
		if (bio->bi_status == -EILSEQ)
			bdev.torn++;
		else if (bio->bi_status)
			bdev.errors++;
		pthread_mutex_unlock(&bdev.lock);

		bio->bi_end_io(bio); /* frees bio */

		pthread_mutex_lock(&bdev.lock);
		bdev.completed++;
		bdev.in_flight--;
		pthread_cond_broadcast(&bdev.done);
	}
	return NULL;
}

/* Start the device threads once per process. bdev.lock held. */
static void start_device(void)
{
	pthread_attr_t attr;

	if (bdev.started)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (uintptr_t i = 0; i < NR_DEVICE_THREADS; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, device_thread, (void *)(i + 1)))
			abort(); /* no thread, no device: nothing could complete a request */
	}
	pthread_attr_destroy(&attr);
	bdev.started = true;
}

void submit_bio(struct bio *bio)
{
	if (bio->bi_vcnt) {
		bio->len = (size_t)bio->bi_vcnt * PAGE_SIZE;
		for (unsigned int i = 0; !bio->bi_read && i < bio->bi_vcnt; i++)
			bio->bi_csums[i] = blk_csum(page_address(bio->bi_io_vec[i]), PAGE_SIZE);
	} else if (!bio->bi_read) {
		bio->csum = blk_csum(bio->data, bio_span(bio));
	}
	bio->next = NULL;
	pthread_mutex_lock(&bdev.lock);
	bdev_sync_machine();
	start_device();
	bdev.submitted++;
	bdev.in_flight++;
	*bdev.tail = bio;
	bdev.tail = &bio->next;
	pthread_cond_signal(&bdev.work);
	pthread_mutex_unlock(&bdev.lock);
}

void end_page_writeback(struct page *page)
{
	/* Reclaim wrote it to free it: to the tail of its inactive list, where the next pass
	 * looks first (Linux's end_page_writeback() calls rotate_reclaimable_page()). Before
	 * PG_writeback goes, so that the waiter this wakes finds it rotated. */
	if (TestClearPageReclaim(page))
		rotate_reclaimable_page(page);
	pthread_mutex_lock(&bdev.lock);
	ClearPageWriteback(page);
	pthread_cond_broadcast(&bdev.done);
	pthread_mutex_unlock(&bdev.lock);
}

void wait_on_page_writeback(struct page *page)
{
	/* Always under the lock, even when the bit is clear: what the completion did (the host
	 * write) must happen before what the waiter does next (close the host file), and the
	 * lock is what orders them. */
	pthread_mutex_lock(&bdev.lock);
	while (PageWriteback(page))
		pthread_cond_wait(&bdev.done, &bdev.lock);
	pthread_mutex_unlock(&bdev.lock);
}

void blk_drain(void)
{
	pthread_mutex_lock(&bdev.lock);
	while (bdev.in_flight)
		pthread_cond_wait(&bdev.done, &bdev.lock);
	pthread_mutex_unlock(&bdev.lock);
}

int pinmm_bdev_stats(struct pinmm_bdev_stats *stats)
{
	if (!stats)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	pthread_mutex_lock(&bdev.lock);
	bdev_sync_machine();
	*stats = (struct pinmm_bdev_stats){
		.submitted = bdev.submitted,
		.completed = bdev.completed,
		.torn = bdev.torn,
		.errors = bdev.errors,
		.in_flight = bdev.in_flight,
		.pages = bdev.pages,
	};
	pthread_mutex_unlock(&bdev.lock);
	return 0;
}

int pinmm_bdev_set_delay(unsigned int max_delay_us)
{
	if (max_delay_us > 100000)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	pthread_mutex_lock(&bdev.lock);
	bdev_sync_machine();
	bdev.max_delay_us = max_delay_us;
	pthread_mutex_unlock(&bdev.lock);
	return 0;
}
