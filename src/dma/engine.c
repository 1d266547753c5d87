/* SPDX-License-Identifier: MIT */
/*
 * The DMA engine (<pinmm/dma.h>): buffers of pages handed over by a driver, a queue of
 * transfers, the engine's threads that carry them out through page_address(), completions the
 * driver reaps, and the release of each buffer as its driver's era did it.
 *
 * It talks to GUP (unpin_user_pages*(), the pins it was handed), to the page references
 * (put_page()) and to the page cache (set_page_dirty_lock()); pinmm_check_invariants() asks it
 * which pages it holds (dma_for_each_held_page()), since a FOLL_GET reference held by a device
 * is otherwise a page reachable from nothing.
 *
 * The rules that are easy to break: a buffer's pages are released only when no transfer of it
 * is queued or running (active == 0), or a device thread would store to a page the engine no
 * longer holds; and the release runs outside engine->lock, since set_page_dirty_lock() and
 * unpin_user_pages_dirty_lock() take page locks that writeback holds while it waits on the
 * block device, never on the engine, so no cycle forms, but the engine's threads must not be
 * held up meanwhile. Ids are never reused, so a second release or a second reap finds nothing
 * and says so.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "lib/delay.h"

#define DMA_BURST 512
#define DMA_MAX_PAGES (1UL << 20)

struct dma_buffer {
	struct page **pages;
	unsigned long nr;
	enum dma_ref ref;
	enum dma_release release;
	unsigned long active; /* transfers submitted and not reaped */
};

struct dma_job {
	long id;
	struct dma_buffer *buffer;
	struct page *page;
	unsigned int offset, len;
	void *buf;
	enum dma_data_direction dir;
	bool done;
	struct dma_job *next_queued;
	struct dma_job *next; /* every job not reaped */
};

struct dma_engine {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job was queued, or the engine stops */
	pthread_cond_t done; /* a job completed */
	pthread_t *threads;
	unsigned int nr_threads, max_delay_us;
	bool stopping;
	unsigned long machine_gen;
	struct dma_buffer **buffers; /* by id; NULL once released */
	size_t nr_ids, cap_ids;
	struct dma_job *queue, **queue_tail;
	struct dma_job *jobs;
	long next_job_id;
	struct dma_engine_stats stats;
};

static struct live_set live_engines = LIVE_SET_INIT;

static bool engine_live(struct dma_engine *engine)
{
	return engine && live_set_has(&live_engines, engine);
}

/* The transfer itself, in bursts, each word a relaxed atomic access on the page's side. */
static void dma_transfer(struct dma_job *job, unsigned int max_delay_us,
			 unsigned long long *rng)
{
	uint64_t *page = (uint64_t *)((char *)page_address(job->page) + job->offset);
	uint64_t *buf = job->buf;

	if (max_delay_us)
		delay_us(delay_rand(rng) % (max_delay_us + 1));
	for (unsigned int off = 0; off < job->len; off += DMA_BURST) {
		unsigned int n = job->len - off < DMA_BURST ? job->len - off : DMA_BURST;

		if (job->dir == DMA_FROM_DEVICE)
			page_copy_racy(page + off / 8, buf + off / 8, n);
		else
			page_copy_racy(buf + off / 8, page + off / 8, n);
		if (max_delay_us && off + n < job->len)
			delay_us(delay_rand(rng) % (max_delay_us / 8 + 1));
	}
}

struct thread_arg {
	struct dma_engine *engine;
	unsigned long long seed;
};

static void *engine_thread(void *p)
{
	struct thread_arg *arg = p;
	struct dma_engine *engine = arg->engine;
	unsigned long long rng = arg->seed;

	free(arg);
	pthread_mutex_lock(&engine->lock);
	for (;;) {
		struct dma_job *job;

		while (!engine->queue && !engine->stopping)
			pthread_cond_wait(&engine->work, &engine->lock);
		if (!engine->queue)
			break;
		job = engine->queue;
		engine->queue = job->next_queued;
		if (!engine->queue)
			engine->queue_tail = &engine->queue;
		pthread_mutex_unlock(&engine->lock);

		race_point("dma:transfer_start");
		dma_transfer(job, engine->max_delay_us, &rng);
		race_point("dma:transfer_done");

		pthread_mutex_lock(&engine->lock);
		job->done = true;
		engine->stats.completed++;
		if (job->dir == DMA_FROM_DEVICE)
			engine->stats.bytes_from_device += job->len;
		else
			engine->stats.bytes_to_device += job->len;
		pthread_cond_broadcast(&engine->done);
	}
	pthread_mutex_unlock(&engine->lock);
	return NULL;
}

/* Stop and join the first n threads. */
static void stop_threads(struct dma_engine *engine, unsigned int n)
{
	pthread_mutex_lock(&engine->lock);
	engine->stopping = true;
	pthread_cond_broadcast(&engine->work);
	pthread_mutex_unlock(&engine->lock);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(engine->threads[i], NULL);
}

static void engine_free(struct dma_engine *engine)
{
	pthread_mutex_destroy(&engine->lock);
	pthread_cond_destroy(&engine->work);
	pthread_cond_destroy(&engine->done);
	free(engine->buffers);
	free(engine->threads);
	free(engine);
}

struct dma_engine *dma_engine_create(unsigned int nr_threads, unsigned int max_delay_us)
{
	struct dma_engine *engine;
	unsigned int i;
	int err = 0;

	if (!nr_threads || nr_threads > DMA_MAX_THREADS || max_delay_us > DMA_MAX_DELAY_US)
		return ERR_PTR(-EINVAL);
	if (!pinmm_booted())
		return ERR_PTR(-ENODEV);
	engine = kzalloc(sizeof(*engine));
	if (!engine)
		return ERR_PTR(-ENOMEM);
	engine->threads = kzalloc(nr_threads * sizeof(*engine->threads));
	if (!engine->threads) {
		free(engine);
		return ERR_PTR(-ENOMEM);
	}
	pthread_mutex_init(&engine->lock, NULL);
	pthread_cond_init(&engine->work, NULL);
	pthread_cond_init(&engine->done, NULL);
	engine->nr_threads = nr_threads;
	engine->max_delay_us = max_delay_us;
	engine->queue_tail = &engine->queue;
	engine->next_job_id = 1;
	engine->machine_gen = machine_generation();
	if (live_set_add(&live_engines, engine)) {
		engine_free(engine);
		return ERR_PTR(-ENOMEM);
	}
	for (i = 0; i < nr_threads; i++) {
		struct thread_arg *arg = kmalloc(sizeof(*arg));

		if (!arg) {
			err = -ENOMEM;
			break;
		}
		arg->engine = engine;
		arg->seed = ((unsigned long long)(uintptr_t)engine >> 4) * 0x9E3779B97F4A7C15ull +
			    i + 1;
		if (pthread_create(&engine->threads[i], NULL, engine_thread, arg)) {
			free(arg);
			err = -EAGAIN;
			break;
		}
	}
	if (err) {
		stop_threads(engine, i);
		live_set_del(&live_engines, engine);
		engine_free(engine);
		return ERR_PTR(err);
	}
	return engine;
}

int dma_engine_destroy(struct dma_engine *engine)
{
	if (!engine_live(engine))
		return -EINVAL;
	pthread_mutex_lock(&engine->lock);
	if (engine->stats.buffers) {
		pthread_mutex_unlock(&engine->lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&engine->lock);
	if (!live_set_del(&live_engines, engine))
		return -EINVAL; /* a concurrent destroy won */
	stop_threads(engine, engine->nr_threads);
	/* Jobs not reaped: their buffers are gone, so none is queued; free the records. */
	while (engine->jobs) {
		struct dma_job *job = engine->jobs;

		engine->jobs = job->next;
		free(job);
	}
	engine_free(engine);
	return 0;
}

/* Does page point at a struct page of this machine? */
static bool page_in_mem_map(const struct page *page)
{
	uintptr_t off = (uintptr_t)page - (uintptr_t)mem_map;

	return page && (uintptr_t)page >= (uintptr_t)mem_map && off % sizeof(struct page) == 0 &&
	       pfn_valid(off / sizeof(struct page));
}

static bool page_held_as(struct page *page, enum dma_ref ref)
{
	if (!page_in_mem_map(page) || page_ref_count(compound_head(page)) <= 0)
		return false;
	return ref == DMA_REF_GET || page_maybe_dma_pinned(page);
}

static bool release_matches(enum dma_ref ref, enum dma_release release)
{
	switch (release) {
	case DMA_RELEASE_PUT_PAGE:
	case DMA_RELEASE_DIRTY_PUT_PAGE:
		return ref == DMA_REF_GET;
	case DMA_RELEASE_UNPIN:
	case DMA_RELEASE_UNPIN_DIRTY:
		return ref == DMA_REF_PIN;
	}
	return false;
}

int dma_map_pages(struct dma_engine *engine, struct page **pages, unsigned long nr,
		  enum dma_ref ref, enum dma_release release)
{
	struct dma_buffer *buffer;
	int id;

	if (!engine_live(engine) || !pages || !nr || nr > DMA_MAX_PAGES ||
	    (ref != DMA_REF_GET && ref != DMA_REF_PIN) || !release_matches(ref, release))
		return -EINVAL;
	for (unsigned long i = 0; i < nr; i++)
		if (!page_held_as(pages[i], ref))
			return -EINVAL;
	buffer = kzalloc(sizeof(*buffer));
	if (!buffer)
		return -ENOMEM;
	buffer->pages = kmalloc(nr * sizeof(*pages));
	if (!buffer->pages) {
		free(buffer);
		return -ENOMEM;
	}
	memcpy(buffer->pages, pages, nr * sizeof(*pages));
	buffer->nr = nr;
	buffer->ref = ref;
	buffer->release = release;

	pthread_mutex_lock(&engine->lock);
	if (engine->nr_ids == engine->cap_ids) {
		size_t cap = engine->cap_ids ? 2 * engine->cap_ids : 16;
		struct dma_buffer **b = cap <= (size_t)INT32_MAX ?
			krealloc(engine->buffers, cap * sizeof(*b)) : NULL;

		if (!b) {
			pthread_mutex_unlock(&engine->lock);
			free(buffer->pages);
			free(buffer);
			return -ENOMEM;
		}
		engine->buffers = b;
		engine->cap_ids = cap;
	}
	id = (int)engine->nr_ids++;
	engine->buffers[id] = buffer;
	engine->stats.buffers++;
	engine->stats.pages += nr;
	pthread_mutex_unlock(&engine->lock);
	return id;
}

/* engine->lock held: the mapped buffer id, or NULL. */
static struct dma_buffer *buffer_of(struct dma_engine *engine, int id)
{
	if (id < 0 || (size_t)id >= engine->nr_ids)
		return NULL;
	return engine->buffers[id];
}

static bool buffer_has(const struct dma_buffer *buffer, const struct page *page)
{
	for (unsigned long i = 0; i < buffer->nr; i++)
		if (buffer->pages[i] == page)
			return true;
	return false;
}

long dma_submit(struct dma_engine *engine, int buffer_id, struct page *page, unsigned int offset,
		void *buf, unsigned int len, enum dma_data_direction dir)
{
	struct dma_buffer *buffer;
	struct dma_job *job;
	long id;

	if (!engine_live(engine) || !buf || !len || len % 8 || offset % 8 ||
	    offset > PAGE_SIZE || len > PAGE_SIZE - offset ||
	    (dir != DMA_TO_DEVICE && dir != DMA_FROM_DEVICE))
		return -EINVAL;
	job = kzalloc(sizeof(*job));
	if (!job)
		return -ENOMEM;
	pthread_mutex_lock(&engine->lock);
	buffer = buffer_of(engine, buffer_id);
	if (!buffer || !buffer_has(buffer, page)) {
		pthread_mutex_unlock(&engine->lock);
		free(job);
		return buffer ? -EINVAL : -ENOENT;
	}
	id = engine->next_job_id++;
	*job = (struct dma_job){.id = id, .buffer = buffer, .page = page, .offset = offset,
				.len = len, .buf = buf, .dir = dir, .next = engine->jobs};
	engine->jobs = job;
	*engine->queue_tail = job;
	engine->queue_tail = &job->next_queued;
	buffer->active++;
	engine->stats.submitted++;
	pthread_cond_signal(&engine->work);
	pthread_mutex_unlock(&engine->lock);
	return id;
}

/* engine->lock held: the link that points at job id, or NULL. */
static struct dma_job **job_link(struct dma_engine *engine, long id)
{
	for (struct dma_job **link = &engine->jobs; *link; link = &(*link)->next)
		if ((*link)->id == id)
			return link;
	return NULL;
}

int dma_wait(struct dma_engine *engine, long id)
{
	struct dma_job **link, *job;

	if (!engine_live(engine))
		return -EINVAL;
	pthread_mutex_lock(&engine->lock);
	/* Looked up again after each sleep: a concurrent dma_wait() may reap it (and free it). */
	while ((link = job_link(engine, id)) && !(*link)->done)
		pthread_cond_wait(&engine->done, &engine->lock);
	if (!link) {
		pthread_mutex_unlock(&engine->lock);
		return -ENOENT;
	}
	job = *link;
	*link = job->next;
	job->buffer->active--;
	pthread_mutex_unlock(&engine->lock);
	free(job);
	return 0;
}

int dma_done(struct dma_engine *engine, long id)
{
	struct dma_job **link;
	int ret;

	if (!engine_live(engine))
		return -EINVAL;
	pthread_mutex_lock(&engine->lock);
	link = job_link(engine, id);
	ret = link ? (*link)->done : -ENOENT;
	pthread_mutex_unlock(&engine->lock);
	return ret;
}

static void release_pages(struct dma_buffer *buffer)
{
	switch (buffer->release) {
	case DMA_RELEASE_PUT_PAGE:
		for (unsigned long i = 0; i < buffer->nr; i++)
			put_page(buffer->pages[i]);
		break;
	case DMA_RELEASE_DIRTY_PUT_PAGE:
		for (unsigned long i = 0; i < buffer->nr; i++) {
			set_page_dirty_lock(buffer->pages[i]);
			put_page(buffer->pages[i]);
		}
		break;
	case DMA_RELEASE_UNPIN:
		unpin_user_pages(buffer->pages, buffer->nr);
		break;
	case DMA_RELEASE_UNPIN_DIRTY:
		unpin_user_pages_dirty_lock(buffer->pages, buffer->nr, true);
		break;
	}
}

int dma_unmap(struct dma_engine *engine, int buffer_id)
{
	struct dma_buffer *buffer;

	if (!engine_live(engine))
		return -EINVAL;
	pthread_mutex_lock(&engine->lock);
	buffer = buffer_of(engine, buffer_id);
	if (!buffer || buffer->active) {
		pthread_mutex_unlock(&engine->lock);
		return buffer ? -EBUSY : -ENOENT;
	}
	engine->buffers[buffer_id] = NULL;
	engine->stats.buffers--;
	engine->stats.pages -= buffer->nr;
	pthread_mutex_unlock(&engine->lock);
	release_pages(buffer);
	free(buffer->pages);
	free(buffer);
	return 0;
}

int dma_engine_stats(struct dma_engine *engine, struct dma_engine_stats *stats)
{
	if (!engine_live(engine) || !stats)
		return -EINVAL;
	pthread_mutex_lock(&engine->lock);
	*stats = engine->stats;
	pthread_mutex_unlock(&engine->lock);
	return 0;
}

void dma_for_each_held_page(void (*fn)(struct page *page, bool pinned, void *arg), void *arg)
{
	struct dma_engine **engines;
	size_t n = live_set_snapshot(&live_engines, (void ***)&engines);

	/* The machine is quiescent (the caller's rule): no engine is destroyed under us. */
	for (size_t e = 0; engines && e < n; e++) {
		struct dma_engine *engine = engines[e];

		if (engine->machine_gen != machine_generation())
			continue;
		pthread_mutex_lock(&engine->lock);
		for (size_t id = 0; id < engine->nr_ids; id++) {
			struct dma_buffer *buffer = engine->buffers[id];

			for (unsigned long i = 0; buffer && i < buffer->nr; i++)
				fn(buffer->pages[i], buffer->ref == DMA_REF_PIN, arg);
		}
		pthread_mutex_unlock(&engine->lock);
	}
	free(engines);
}
