/* SPDX-License-Identifier: MIT */
/*
 * The page lock: PG_locked on the head page, with sleepers on a hashed wait queue (Linux's
 * page_waitqueue()). The uncontended paths are one atomic bit operation each.
 *
 * Lost wake-ups are what to watch for: a sleeper publishes itself (waiters++) and then retries
 * the bit; unlock_page() clears the bit and then reads waiters. The two seq_cst fences make
 * sure that at least one side sees the other: either the sleeper's retry finds the bit clear,
 * or unlock_page() sees the sleeper and wakes it under the queue's mutex.
 */
#include "internal.h"

#define PAGE_WAIT_TABLE_BITS 8
#define PAGE_WAIT_TABLE_SIZE (1u << PAGE_WAIT_TABLE_BITS)

struct page_wait_queue {
	pthread_mutex_t lock;
	pthread_cond_t wait;
	atomic_int waiters;
};

static struct page_wait_queue wait_table[PAGE_WAIT_TABLE_SIZE];
static pthread_once_t wait_table_once = PTHREAD_ONCE_INIT;

static void wait_table_init(void)
{
	for (unsigned int i = 0; i < PAGE_WAIT_TABLE_SIZE; i++) {
		pthread_mutex_init(&wait_table[i].lock, NULL);
		pthread_cond_init(&wait_table[i].wait, NULL);
	}
}

static struct page_wait_queue *page_waitqueue(const struct page *page)
{
	unsigned long h = (unsigned long)page / sizeof(struct page);

	pthread_once(&wait_table_once, wait_table_init);
	h *= 0x9e3779b97f4a7c15UL;
	return &wait_table[h >> (64 - PAGE_WAIT_TABLE_BITS)];
}

bool trylock_page(struct page *page)
{
	return !TestSetPageLocked(page);
}

/* Sleep on page's queue until done(page) is true. */
static void wait_on_page_bit(struct page *page, bool (*done)(struct page *))
{
	struct page_wait_queue *q = page_waitqueue(compound_head(page));

	pthread_mutex_lock(&q->lock);
	atomic_fetch_add(&q->waiters, 1);
	atomic_thread_fence(memory_order_seq_cst);
	while (!done(page))
		pthread_cond_wait(&q->wait, &q->lock);
	atomic_fetch_sub(&q->waiters, 1);
	pthread_mutex_unlock(&q->lock);
}

static bool page_unlocked(struct page *page)
{
	return !PageLocked(page);
}

void lock_page(struct page *page)
{
	if (trylock_page(page))
		return;
	wait_on_page_bit(page, trylock_page);
}

void wait_on_page_locked(struct page *page)
{
	if (page_unlocked(page))
		return;
	wait_on_page_bit(page, page_unlocked);
}

void unlock_page(struct page *page)
{
	struct page_wait_queue *q;

	if (WARN_ON_ONCE(!TestClearPageLocked(page)))
		return;
	q = page_waitqueue(compound_head(page));
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&q->waiters, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->wait);
	pthread_mutex_unlock(&q->lock);
}
