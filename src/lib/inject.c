/* SPDX-License-Identifier: MIT */
/*
 * The named points of <pinmm/inject.h>: the hook table and the fault-injection state.
 *
 * Registration is rare and takes inject_lock; reaching a point copies the matching hooks out
 * under the lock and calls them after dropping it, so a hook may block (waiting for another
 * thread that reaches another point) without holding up anyone. The easy rule to break:
 * inject_armed must be raised before a hook or a failure is visible and dropped only after the
 * last one is gone, or a point could skip a hook that a test is waiting for.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "lib/internal.h"

#ifdef PINMM_HOOKS

#define MAX_HOOKS 16
#define MAX_PATTERN 64

struct hook {
	char pattern[MAX_PATTERN];
	pinmm_hook_fn fn;
	void *arg;
};

atomic_int inject_armed;

static pthread_mutex_t inject_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hook hooks[MAX_HOOKS];
static int nr_hooks;

static struct {
	bool on;
	char sites[MAX_PATTERN];
	struct pinmm_fail_attr attr;
	unsigned long calls;
	unsigned long failed;
} fail;
static atomic_ulong fail_injected;

static bool pattern_ok(const char *pattern)
{
	return pattern && pattern[0] && strlen(pattern) < MAX_PATTERN;
}

static bool point_matches(const char *pattern, const char *point)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, point, n - 1) == 0;
	return strcmp(pattern, point) == 0;
}

/* Under inject_lock: publish whether anything is registered. */
static void update_armed(void)
{
	atomic_store_explicit(&inject_armed, nr_hooks > 0 || fail.on, memory_order_relaxed);
}

int pinmm_hook_set(const char *pattern, pinmm_hook_fn fn, void *arg)
{
	int i, ret = 0;

	if (!pattern_ok(pattern))
		return -EINVAL;
	pthread_mutex_lock(&inject_lock);
	for (i = 0; i < nr_hooks; i++)
		if (strcmp(hooks[i].pattern, pattern) == 0)
			break;
	if (!fn) {
		if (i == nr_hooks)
			ret = -ENOENT;
		else
			hooks[i] = hooks[--nr_hooks];
	} else if (i == nr_hooks && nr_hooks == MAX_HOOKS) {
		ret = -ENOSPC;
	} else {
		strcpy(hooks[i].pattern, pattern);
		hooks[i].fn = fn;
		hooks[i].arg = arg;
		if (i == nr_hooks)
			nr_hooks++;
	}
	update_armed();
	pthread_mutex_unlock(&inject_lock);
	return ret;
}

void pinmm_hook_clear_all(void)
{
	pthread_mutex_lock(&inject_lock);
	nr_hooks = 0;
	fail.on = false;
	update_armed();
	pthread_mutex_unlock(&inject_lock);
}

void pinmm_hook_yield(const char *point, void *arg)
{
	static _Thread_local uint32_t state = 0x9e3779b9u;

	(void)point;
	(void)arg;
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	if ((state & 3) == 0)
		sched_yield();
}

/* Under inject_lock: copy the hooks that match point into out[]; returns how many. */
static int collect_hooks(const char *point, struct hook *out)
{
	int i, n = 0;

	for (i = 0; i < nr_hooks; i++)
		if (point_matches(hooks[i].pattern, point))
			out[n++] = hooks[i];
	return n;
}

static void run_hooks(const struct hook *h, int n, const char *point)
{
	for (int i = 0; i < n; i++)
		h[i].fn(point, h[i].arg);
}

void __race_point(const char *point)
{
	struct hook found[MAX_HOOKS];
	int n;

	pthread_mutex_lock(&inject_lock);
	n = collect_hooks(point, found);
	pthread_mutex_unlock(&inject_lock);
	run_hooks(found, n, point);
}

/* splitmix64: a well-mixed value for call number n of a seed. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Under inject_lock: does this call of a matching site fail? */
static bool fail_this_call(void)
{
	bool by_count, by_chance;

	fail.calls++;
	by_count = fail.attr.nth && (fail.attr.persistent ? fail.calls >= fail.attr.nth
							  : fail.calls == fail.attr.nth);
	by_chance = fail.attr.probability &&
		    mix(fail.attr.seed + fail.calls) % 1000000 < fail.attr.probability;
	if (!by_count && !by_chance)
		return false;
	fail.failed++;
	if (fail.attr.times && fail.failed >= fail.attr.times)
		fail.on = false;
	update_armed();
	return true;
}

bool __should_fail(const char *site)
{
	struct hook found[MAX_HOOKS];
	bool failed = false;
	int n;

	pthread_mutex_lock(&inject_lock);
	n = collect_hooks(site, found);
	if (fail.on && (!fail.sites[0] || point_matches(fail.sites, site)))
		failed = fail_this_call();
	pthread_mutex_unlock(&inject_lock);
	run_hooks(found, n, site);
	if (failed)
		atomic_fetch_add(&fail_injected, 1);
	return failed;
}

int pinmm_fail_set(const struct pinmm_fail_attr *attr)
{
	if (attr && (attr->probability > 1000000 || (!attr->nth && !attr->probability) ||
		     (attr->sites && !pattern_ok(attr->sites))))
		return -EINVAL;
	pthread_mutex_lock(&inject_lock);
	fail.on = attr != NULL;
	fail.calls = 0;
	fail.failed = 0;
	if (attr) {
		fail.attr = *attr;
		strcpy(fail.sites, attr->sites ? attr->sites : "");
		fail.attr.sites = NULL;
	}
	update_armed();
	pthread_mutex_unlock(&inject_lock);
	return 0;
}

unsigned long pinmm_fail_injected(void)
{
	return atomic_load(&fail_injected);
}

unsigned long pinmm_fail_calls(void)
{
	unsigned long n;

	pthread_mutex_lock(&inject_lock);
	n = fail.calls;
	pthread_mutex_unlock(&inject_lock);
	return n;
}

#else /* !PINMM_HOOKS: the points are compiled out; say so to whoever asks for them. */

int pinmm_hook_set(const char *pattern, pinmm_hook_fn fn, void *arg)
{
	(void)pattern;
	(void)fn;
	(void)arg;
	return -EOPNOTSUPP;
}

void pinmm_hook_clear_all(void)
{
}

void pinmm_hook_yield(const char *point, void *arg)
{
	(void)point;
	(void)arg;
}

int pinmm_fail_set(const struct pinmm_fail_attr *attr)
{
	(void)attr;
	return -EOPNOTSUPP;
}

unsigned long pinmm_fail_injected(void)
{
	return 0;
}

unsigned long pinmm_fail_calls(void)
{
	return 0;
}

#endif
