/* SPDX-License-Identifier: MIT */
/*
 * The flusher: one background writeback thread per machine, started and stopped through
 * <pinmm/writeback.h> (Linux's wb_workfn() with dirty_expire_centisecs,
 * dirty_writeback_centisecs and dirty_ratio). Each round takes a reference on every open file
 * (get_open_files()), writes back the ones that are due with WB_SYNC_NONE through
 * writeback_mapping() (so each page is cleaned with page_mkclean() first, and pin-aware
 * writeback applies), and drops the references; a last fput() may then run here.
 *
 * The page cache wakes it when nr_dirty passes the dirty_ratio threshold (the notify callback
 * it registers with src/fs, set_dirty_exceeded_notify(): fs cannot call up).
 *
 * The rule that is easy to break: the thread is joined outside flusher.lock (a round may take
 * page locks whose holders dirty pages and so call flusher_kick(), which takes flusher.lock),
 * and its writes are drained before pinmm_flusher_stop() returns, so that a stopped flusher
 * leaves nothing in flight for pinmm_check_invariants() to find.
 */
#include <errno.h>
#include <time.h>

#include "internal.h"

#define MAX_CENTISECS 360000

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stopping;
	atomic_bool kicked; /* dirty_ratio exceeded since the last round */
	struct pinmm_flusher_settings settings;
	unsigned long gen; /* the machine the counters belong to */
	struct pinmm_flusher_stats stats;
} flusher = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

/* flusher.lock held: counters of a new machine start at 0. */
static void flusher_sync_machine(void)
{
	if (flusher.gen != machine_generation()) {
		flusher.gen = machine_generation();
		flusher.stats = (struct pinmm_flusher_stats){0};
	}
}

void pinmm_flusher_default(struct pinmm_flusher_settings *settings)
{
	*settings = (struct pinmm_flusher_settings){
		.dirty_expire_centisecs = 3000,
		.dirty_writeback_centisecs = 500,
		.dirty_ratio = 20,
	};
}

static bool settings_valid(const struct pinmm_flusher_settings *s)
{
	return s->dirty_expire_centisecs <= MAX_CENTISECS &&
	       s->dirty_writeback_centisecs <= MAX_CENTISECS && s->dirty_ratio >= 1 &&
	       s->dirty_ratio <= 100;
}

/* fs's callback: nr_dirty passed the threshold. Called with page locks held. */
static void flusher_kick(void)
{
	if (atomic_exchange(&flusher.kicked, true))
		return;
	pthread_mutex_lock(&flusher.lock);
	pthread_cond_signal(&flusher.wake);
	pthread_mutex_unlock(&flusher.lock);
}

/* flusher.lock held. */
static void register_threshold(void)
{
	unsigned long ram_pages = pinmm_machine_config()->ram_bytes >> PAGE_SHIFT;

	set_dirty_exceeded_notify(flusher_kick, ram_pages * flusher.settings.dirty_ratio / 100);
}

/* One round: write back the files that are due (all of them when all). */
static unsigned long flusher_round(bool all, unsigned int expire_centisecs)
{
	long now = fs_now_ms(), expire_ms = (long)expire_centisecs * 10;
	unsigned long written = 0;
	struct file **files;
	size_t n = get_open_files(&files);

	for (size_t i = 0; files && i < n; i++) {
		struct address_space *mapping = files[i]->f_mapping;
		long when = atomic_load(&mapping->dirtied_when);

		if (!mapping->shmem && when && (all || now - when >= expire_ms))
			writeback_mapping(mapping, WB_SYNC_NONE, &written);
		fput(files[i]);
	}
	free(files);
	return written;
}

static void *flusher_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&flusher.lock);
	while (!flusher.stopping) {
		unsigned int period = flusher.settings.dirty_writeback_centisecs;
		unsigned int expire = flusher.settings.dirty_expire_centisecs;
		unsigned long written;
		bool all;

		if (!atomic_load(&flusher.kicked)) {
			if (period) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += period / 100;
				ts.tv_nsec += (long)(period % 100) * 10000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&flusher.wake, &flusher.lock, &ts);
			} else {
				pthread_cond_wait(&flusher.wake, &flusher.lock);
			}
		}
		if (flusher.stopping)
			break;
		all = atomic_exchange(&flusher.kicked, false);
		pthread_mutex_unlock(&flusher.lock);

		written = flusher_round(all, expire);

		pthread_mutex_lock(&flusher.lock);
		flusher.stats.rounds++;
		flusher.stats.threshold_wakeups += all;
		flusher.stats.pages_written += written;
	}
	pthread_mutex_unlock(&flusher.lock);
	return NULL;
}

/* pinmm_shutdown()'s first step. */
static unsigned long flusher_shutdown(void)
{
	pinmm_flusher_stop();
	return 0;
}

static void register_hook(void)
{
	set_shutdown_hook(SHUTDOWN_HOOK_QUIESCE, flusher_shutdown);
}

int pinmm_flusher_start(const struct pinmm_flusher_settings *settings)
{
	struct pinmm_flusher_settings s;
	int ret = 0;

	if (settings)
		s = *settings;
	else
		pinmm_flusher_default(&s);
	if (!settings_valid(&s))
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	pthread_once(&hook_once, register_hook);
	pthread_mutex_lock(&flusher.lock);
	flusher_sync_machine();
	if (flusher.running) {
		ret = -EBUSY;
	} else {
		flusher.settings = s;
		flusher.stopping = false;
		atomic_store(&flusher.kicked, false);
		if (pthread_create(&flusher.thread, NULL, flusher_thread, NULL)) {
			ret = -EAGAIN;
		} else {
			flusher.running = true;
			register_threshold();
		}
	}
	pthread_mutex_unlock(&flusher.lock);
	return ret;
}

int pinmm_flusher_set(const struct pinmm_flusher_settings *settings)
{
	int ret = 0;

	if (!settings || !settings_valid(settings))
		return -EINVAL;
	pthread_mutex_lock(&flusher.lock);
	if (!flusher.running) {
		ret = -ESRCH;
	} else {
		flusher.settings = *settings;
		register_threshold();
		pthread_cond_signal(&flusher.wake);
	}
	pthread_mutex_unlock(&flusher.lock);
	return ret;
}

int pinmm_flusher_stop(void)
{
	pthread_t thread;

	pthread_mutex_lock(&flusher.lock);
	if (!flusher.running || flusher.stopping) {
		pthread_mutex_unlock(&flusher.lock);
		return -ESRCH;
	}
	flusher.stopping = true;
	thread = flusher.thread;
	set_dirty_exceeded_notify(NULL, 0);
	pthread_cond_signal(&flusher.wake);
	pthread_mutex_unlock(&flusher.lock);

	pthread_join(thread, NULL);
	blk_drain();
	pthread_mutex_lock(&flusher.lock);
	flusher.running = false;
	pthread_mutex_unlock(&flusher.lock);
	return 0;
}

int pinmm_flusher_stats(struct pinmm_flusher_stats *stats)
{
	if (!stats)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	pthread_mutex_lock(&flusher.lock);
	flusher_sync_machine();
	*stats = flusher.stats;
	pthread_mutex_unlock(&flusher.lock);
	return 0;
}
