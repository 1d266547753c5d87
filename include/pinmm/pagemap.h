/* SPDX-License-Identifier: MIT */
/*
 * The page lock (PG_locked): a sleeping lock on one page, as Linux's lock_page(). Waiters sleep
 * on a hashed wait queue whose waiter count tells unlock_page() whether anyone needs waking,
 * so an uncontended lock/unlock is two atomic operations and a load.
 */
#ifndef PINMM_PAGEMAP_H
#define PINMM_PAGEMAP_H

#include <stdbool.h>

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lock the page (its head), sleeping while another thread holds it. */
void lock_page(struct page *page);

/* Take the lock if it is free; true if taken. Never sleeps. */
bool trylock_page(struct page *page);

/* Release the lock and wake its waiters. Unlocking a page that is not locked WARNs. */
void unlock_page(struct page *page);

/* Sleep until the page is unlocked, without taking the lock. */
void wait_on_page_locked(struct page *page);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_PAGEMAP_H */
