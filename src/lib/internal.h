/* SPDX-License-Identifier: MIT */
/*
 * The bottom layer's internals, which every other layer may include: the named points of
 * <pinmm/inject.h>. A race point is race_point("file:what just happened"); an allocation site
 * asks should_fail("alloc:what") before allocating and returns its documented error when told
 * to. Both compile to nothing without PINMM_HOOKS.
 */
#ifndef PINMM_LIB_INTERNAL_H
#define PINMM_LIB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <pinmm/bug.h>
#include <pinmm/inject.h>

#include "lib/trace.h"

#ifdef PINMM_HOOKS
/* Non-zero while a hook or fault injection is registered; read relaxed on every point, so a
 * point that races with registration may miss it (registration happens before the scenario). */
extern atomic_int inject_armed;

void __race_point(const char *point);
bool __should_fail(const char *site);

static inline void race_point(const char *point)
{
	if (__builtin_expect(atomic_load_explicit(&inject_armed, memory_order_relaxed), 0))
		__race_point(point);
}

static inline bool should_fail(const char *site)
{
	if (__builtin_expect(atomic_load_explicit(&inject_armed, memory_order_relaxed), 0))
		return __should_fail(site);
	return false;
}
#else
static inline void race_point(const char *point)
{
	(void)point;
}

static inline bool should_fail(const char *site)
{
	(void)site;
	return false;
}
#endif

/*
 * The library's own structures (mm_struct, VMAs, anon_vmas, files, page-cache nodes, ...) come
 * from these, Linux's slab entry points, so that fault injection can fail every one of them
 * ("alloc:kmalloc"). They are the host's malloc underneath and free() releases them; unlike
 * Linux's they take no gfp flags (nothing here allocates in atomic context). NULL: no memory.
 */
static inline void *kmalloc(size_t size)
{
	return should_fail("alloc:kmalloc") ? NULL : malloc(size);
}

static inline void *kzalloc(size_t size)
{
	return should_fail("alloc:kmalloc") ? NULL : calloc(1, size);
}

/* On failure p is untouched and still owned by the caller. */
static inline void *krealloc(void *p, size_t size)
{
	return should_fail("alloc:kmalloc") ? NULL : realloc(p, size);
}
/* live_set.c: the set of live objects of one kind (see there). */
struct live_set {
	pthread_mutex_t lock;
	const void **slots;
	size_t cap, nr;
};

#define LIVE_SET_INIT {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0}

/* Add p (not in the set). Returns 0, or -ENOMEM (the set is unchanged). */
int live_set_add(struct live_set *set, const void *p);
/* Remove p; false if it was not in the set. */
bool live_set_del(struct live_set *set, const void *p);
/* Is p in the set (NULL never is)? */
bool live_set_has(struct live_set *set, const void *p);
/* The members now, in a malloc'd array (*out; NULL if that failed): returns how many. */
size_t live_set_snapshot(struct live_set *set, void ***out);
/* The same, of the members for which keep(p) says true; keep runs under the set's lock, so a
 * member cannot leave the set (and be freed) while it looks at it: it may take a reference. */
size_t live_set_snapshot_if(struct live_set *set, void ***out, bool (*keep)(void *p));

#endif /* PINMM_LIB_INTERNAL_H */
