/* SPDX-License-Identifier: MIT */
/*
 * gup_test_ioctl(): Linux's mm/gup_test.c command table on the shared timed walk
 * (bench_walk.c), the DUMP_USER_PAGES_TEST page dump, and the long-term pin session
 * (PIN_LONGTERM_TEST_*). gup_flags reach the GUP calls unfiltered, so a caller can provoke the
 * calls' own WARNs and errors. Contract: <pinmm/debugfs/gup_test.h>.
 *
 * The session is global state that outlives the call and may outlive the machine: every use
 * of it is under pin_longterm_lock, and its pages are touched only if machine_generation()
 * still says the machine that pinned them is the one running.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include <pinmm/debugfs/gup_test.h>

#include "bench_walk.h"

/* Zero the out-of-range entries of which_pages (1-based), then dump the others. */
static void dump_pages_test(struct gup_test *gup, struct page **pages, unsigned long nr_pages)
{
	unsigned int i;

	for (i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		if (gup->which_pages[i] > nr_pages) {
			pinmm_log("ZEROING due to out of range: .which_pages[%u]: %u\n", i,
				  gup->which_pages[i]);
			gup->which_pages[i] = 0;
		}
	}
	for (i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		unsigned int index = gup->which_pages[i];

		if (!index)
			continue;
		index--;
		pinmm_log("---- page #%u, starting from user virt addr: 0x%llx\n", index,
			  (unsigned long long)gup->addr);
		dump_page(pages[index], "gup_test: dump_pages() test");
	}
}

/* The long-term pin session: what PIN_LONGTERM_TEST_START pinned, until STOP. */
static pthread_mutex_t pin_longterm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct page **pin_longterm_pages;     /* NULL: no session */
static unsigned long pin_longterm_nr_pages;  /* pinned so far */
static unsigned long pin_longterm_generation; /* machine_generation at START */

static void pin_longterm_stop(void)
{
	if (!pin_longterm_pages)
		return;
	if (pinmm_booted() && machine_generation() == pin_longterm_generation)
		unpin_user_pages(pin_longterm_pages, pin_longterm_nr_pages);
	free(pin_longterm_pages);
	pin_longterm_pages = NULL;
	pin_longterm_nr_pages = 0;
}

static int pin_longterm_start(const struct pin_longterm_test *args)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long nr_pages, addr;
	struct mm_struct *mm;
	bool fast;
	long ret = 0;

	if (pin_longterm_pages)
		return -EINVAL;
	if (!args)
		return -EFAULT;
	if (args->flags & ~(uint32_t)(PIN_LONGTERM_TEST_FLAG_USE_WRITE |
				      PIN_LONGTERM_TEST_FLAG_USE_FAST))
		return -EINVAL;
	if ((args->addr | args->size) & (PAGE_SIZE - 1) || args->size > LONG_MAX ||
	    args->addr != (unsigned long)args->addr)
		return -EINVAL;
	nr_pages = (unsigned long)args->size / PAGE_SIZE;
	if (!nr_pages)
		return -EINVAL;
	mm = current_mm();
	if (!mm)
		return -ESRCH;
	pin_longterm_pages = calloc(nr_pages, sizeof(*pin_longterm_pages));
	if (!pin_longterm_pages)
		return -ENOMEM;
	pin_longterm_generation = machine_generation();
	if (args->flags & PIN_LONGTERM_TEST_FLAG_USE_WRITE)
		gup_flags |= FOLL_WRITE;
	fast = args->flags & PIN_LONGTERM_TEST_FLAG_USE_FAST;

	if (!fast)
		mmap_read_lock(mm);
	while (pin_longterm_nr_pages < nr_pages) {
		unsigned long left = nr_pages - pin_longterm_nr_pages;
		struct page **pages = pin_longterm_pages + pin_longterm_nr_pages;

		addr = (unsigned long)args->addr + pin_longterm_nr_pages * PAGE_SIZE;
		if (fast)
			ret = pin_user_pages_fast(addr, left > INT_MAX ? INT_MAX : (int)left,
						  gup_flags, pages);
		else
			ret = pin_user_pages(addr, left, gup_flags, pages);
		if (ret <= 0)
			break;
		pin_longterm_nr_pages += (unsigned long)ret;
	}
	if (!fast)
		mmap_read_unlock(mm);
	if (ret <= 0) {
		pin_longterm_stop();
		return ret ? (int)ret : -EFAULT;
	}
	return 0;
}

static int pin_longterm_read(const uint64_t *user_addr)
{
	unsigned long dst;

	if (!pin_longterm_pages)
		return -EINVAL;
	if (!user_addr || *user_addr != (unsigned long)*user_addr)
		return -EFAULT;
	dst = (unsigned long)*user_addr;
	for (unsigned long i = 0; i < pin_longterm_nr_pages; i++, dst += PAGE_SIZE) {
		if (copy_to_user(dst, page_address(pin_longterm_pages[i]), PAGE_SIZE))
			return -EFAULT;
	}
	return 0;
}

static int pin_longterm_ioctl(unsigned int cmd, void *arg)
{
	int ret = 0;

	pthread_mutex_lock(&pin_longterm_lock);
	/* A session of a machine since shut down: forget it (stop touches none of its pages). */
	if (pin_longterm_pages && machine_generation() != pin_longterm_generation)
		pin_longterm_stop();
	switch (cmd) {
	case PIN_LONGTERM_TEST_START:
		ret = pin_longterm_start(arg);
		break;
	case PIN_LONGTERM_TEST_READ:
		ret = pin_longterm_read(arg);
		break;
	case PIN_LONGTERM_TEST_STOP:
		pin_longterm_stop();
		break;
	}
	pthread_mutex_unlock(&pin_longterm_lock);
	return ret;
}

int gup_test_ioctl(unsigned int cmd, void *arg)
{
	struct gup_test *gup = arg;
	struct gup_bench b = { 0 };
	bool pins = false;
	int ret;

	switch (cmd) {
	case PIN_LONGTERM_TEST_START:
	case PIN_LONGTERM_TEST_STOP:
	case PIN_LONGTERM_TEST_READ:
		return pin_longterm_ioctl(cmd, arg);
	case GUP_FAST_BENCHMARK:
		b.call = GUP_BENCH_GET_FAST;
		break;
	case PIN_FAST_BENCHMARK:
		b.call = GUP_BENCH_PIN_FAST;
		pins = true;
		break;
	case PIN_LONGTERM_BENCHMARK:
	case PIN_BASIC_TEST:
		b.call = GUP_BENCH_PIN;
		pins = true;
		break;
	case GUP_BASIC_TEST:
		b.call = GUP_BENCH_GET;
		break;
	case DUMP_USER_PAGES_TEST:
		b.call = gup && (gup->test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN) ? GUP_BENCH_PIN
										       : GUP_BENCH_GET;
		break;
	default:
		return -EINVAL;
	}
	if (!gup)
		return -EFAULT;
	if (gup->size != (unsigned long)gup->size || gup->addr != (unsigned long)gup->addr ||
	    gup->addr + gup->size < gup->addr)
		return -EINVAL;
	b.addr = (unsigned long)gup->addr;
	b.size = (unsigned long)gup->size;
	b.nr_pages_per_call = gup->nr_pages_per_call;
	b.gup_flags = gup->gup_flags;
	if (cmd == PIN_LONGTERM_BENCHMARK)
		b.gup_flags |= FOLL_LONGTERM;

	ret = gup_bench_get(&b);
	if (ret)
		return ret;
	gup->get_delta_usec = b.get_usec;
	gup->size = b.walked;
	if (pins)
		gup_bench_check_pinned(&b, cmd == PIN_LONGTERM_BENCHMARK, true, "gup_test failure");
	if (cmd == DUMP_USER_PAGES_TEST)
		dump_pages_test(gup, b.pages, b.nr_pages);
	gup_bench_put(&b);
	gup->put_delta_usec = b.put_usec;
	return 0;
}
