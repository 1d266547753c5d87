/* SPDX-License-Identifier: MIT */
/*
 * Sets of live objects: which pointers are objects the library handed out and has not freed
 * (mm_structs until their last mmput(), files until their last fput()). An entry point that
 * takes such a handle asks the set before it reads the object, so a stale handle is refused
 * without touching freed memory (which ASan would rightly report).
 *
 * An open-addressing hash set of pointers under one mutex, with linear probing and
 * backward-shift deletion (no tombstones). The rule that is easy to break: the set answers for
 * the moment of the call only; whoever uses the object afterwards must hold a reference to it,
 * as Linux's callers do. A pointer the host allocator reuses for a new object of the same kind
 * reads as live again: the set cannot tell those apart.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/internal.h"

static size_t slot_of(const struct live_set *set, const void *p)
{
	uintptr_t h = (uintptr_t)p;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (set->cap - 1);
}

static void insert(struct live_set *set, const void *p)
{
	size_t i = slot_of(set, p);

	while (set->slots[i])
		i = (i + 1) & (set->cap - 1);
	set->slots[i] = p;
	set->nr++;
}

/* Keep the load at most one half. Returns -ENOMEM when the larger table cannot be had. */
static int grow(struct live_set *set)
{
	size_t old_cap = set->cap, cap = old_cap ? old_cap * 2 : 64;
	const void **old = set->slots;

	set->slots = calloc(cap, sizeof(*set->slots));
	if (!set->slots) {
		set->slots = old;
		return -ENOMEM;
	}
	set->cap = cap;
	set->nr = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			insert(set, old[i]);
	free(old);
	return 0;
}

/* The slot holding p, or cap. Lock held. */
static size_t find(const struct live_set *set, const void *p)
{
	if (!set->cap)
		return 0;
	for (size_t i = slot_of(set, p); set->slots[i]; i = (i + 1) & (set->cap - 1))
		if (set->slots[i] == p)
			return i;
	return set->cap;
}

int live_set_add(struct live_set *set, const void *p)
{
	int ret = 0;

	pthread_mutex_lock(&set->lock);
	if (2 * (set->nr + 1) > set->cap)
		ret = grow(set);
	if (!ret)
		insert(set, p);
	pthread_mutex_unlock(&set->lock);
	return ret;
}

bool live_set_del(struct live_set *set, const void *p)
{
	size_t i, j;

	pthread_mutex_lock(&set->lock);
	i = find(set, p);
	if (i == set->cap) {
		pthread_mutex_unlock(&set->lock);
		return false;
	}
	set->slots[i] = NULL;
	set->nr--;
	/* Backward shift: move up every entry of the probe run after i that may sit in the
	 * hole, so lookups never stop early at it. */
	for (j = (i + 1) & (set->cap - 1); set->slots[j]; j = (j + 1) & (set->cap - 1)) {
		size_t home = slot_of(set, set->slots[j]);

		if (((j - home) & (set->cap - 1)) >= ((j - i) & (set->cap - 1))) {
			set->slots[i] = set->slots[j];
			set->slots[j] = NULL;
			i = j;
		}
	}
	pthread_mutex_unlock(&set->lock);
	return true;
}

bool live_set_has(struct live_set *set, const void *p)
{
	bool ret;

	pthread_mutex_lock(&set->lock);
	ret = p && find(set, p) != set->cap;
	pthread_mutex_unlock(&set->lock);
	return ret;
}

size_t live_set_snapshot(struct live_set *set, void ***out)
{
	return live_set_snapshot_if(set, out, NULL);
}

size_t live_set_snapshot_if(struct live_set *set, void ***out, bool (*keep)(void *p))
{
	size_t n = 0;

	pthread_mutex_lock(&set->lock);
	*out = malloc((set->nr ? set->nr : 1) * sizeof(**out));
	for (size_t i = 0; *out && i < set->cap; i++)
		if (set->slots[i] && (!keep || keep((void *)set->slots[i])))
			(*out)[n++] = (void *)set->slots[i];
	pthread_mutex_unlock(&set->lock);
	return n;
}
