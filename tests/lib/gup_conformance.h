/* SPDX-License-Identifier: MIT */
/*
 * What the GUP / FOLL_PIN conformance and stress tests (tests/conformance/test_gup_*.c,
 * tests/stress/test_gup_*.c) share on top of tests/lib/test_mm_util.h (checks, fixtures that run the test thread in a fresh mm, mapping
 * helpers, the page-table walker, run_in_child()): the checks of one page's pin accounting
 * in one notation, every get/pin entry point behind one signature, and the run-time budget.
 *
 * Notation: R = head refcount, P = exact pin count (page[2].hpage_pinned_refcount under 5.7
 * rules, page[1]._pincount under modern rules: pincount_slot(); compound_pincount() must agree;
 * -1 here when the head has none), MDP = page_maybe_dma_pinned(), A / Rel = deltas of nr_foll_pin_acquired /
 * nr_foll_pin_released, W = delta of pinmm_warn_count().
 *
 * Every check goes through test_fail() (gup_fail() is its printf-style function form): in the
 * test process it is cmocka's fail_msg(); in a child started by run_in_child() it sends the
 * message to the parent, which fails the test with it. So a scenario can run unchanged in
 * either place. That is needed because the argument checks are WARN_ON_ONCE sites, which
 * report once per process: a scenario that expects a WARN runs in a child, where its site is
 * still armed.
 */
#ifndef PINMM_GUP_CONFORMANCE_H
#define PINMM_GUP_CONFORMANCE_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_mm_util.h"

/* ---- failing, in the test process or in a child ---- */

/* test_fail() as a function (test_mm_util.h): the message is formatted here first. */
static inline void gup_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void gup_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	test_fail("%s", msg);
}

/* ---- one page's pin accounting ---- */

struct pin_state {
	struct page *head;
	int R;        /* the head's _refcount */
	int P;        /* the exact pin count, -1 when the head has none (order 0; 1 under 5.7) */
	bool MDP;     /* page_maybe_dma_pinned() */
	long A, Rel;  /* nr_foll_pin_acquired / nr_foll_pin_released, absolute */
	unsigned long W; /* pinmm_warn_count(), absolute */
};

/* The exact pin count of page's head read straight from its slot (pincount_slot()), -1 if it
 * has none. Also checks that compound_pincount(), the public reader, agrees. */
static inline int pincount_of(struct page *page)
{
	struct page *head = compound_head(page);
	int raw;

	if (!hpage_pincount_available(page))
		return -1;
	raw = atomic_load(pincount_slot(head));
	if (compound_pincount(page) != raw)
		gup_fail("compound_pincount(pfn %#lx) is %d, its slot in page[%d] holds %d",
			 page_to_pfn(page), compound_pincount(page),
			 pincount_slot(head) == &head[1]._pincount ? 1 : 2, raw);
	return raw;
}

static inline struct pin_state pin_state_of(struct page *page)
{
	struct pin_state s;

	s.head = compound_head(page);
	s.R = page_ref_count(s.head);
	s.P = pincount_of(page);
	s.MDP = page_maybe_dma_pinned(page);
	s.A = nr_acquired();
	s.Rel = nr_released();
	s.W = pinmm_warn_count();
	return s;
}

/*
 * Compare page's state now with `before`: R moved by dR, P by dP (ignored when the head has no
 * exact count, where P must stay -1), MDP is mdp, A and Rel moved by dA and dRel, and dW WARNs
 * were reported. The scenario (printf arguments) names what was done.
 */
static inline void expect_pin_state(const struct pin_state *before, struct page *page, long dR,
			     long dP, bool mdp, long dA, long dRel, long dW, const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));
static inline void expect_pin_state(const struct pin_state *before, struct page *page, long dR,
			     long dP, bool mdp, long dA, long dRel, long dW, const char *fmt, ...)
{
	struct pin_state now = pin_state_of(page);
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (now.head != before->head)
		gup_fail("%s: the page's head moved from %p to %p", what, (void *)before->head,
			 (void *)now.head);
	if ((long)now.R != (long)before->R + dR)
		gup_fail("%s: head refcount R is %d, expected %ld (was %d, expected delta %+ld)",
			 what, now.R, (long)before->R + dR, before->R, dR);
	if (before->P < 0 && now.P != -1)
		gup_fail("%s: the page has no exact pin count, yet P reads %d", what, now.P);
	if (before->P >= 0 && (long)now.P != (long)before->P + dP)
		gup_fail("%s: exact pin count P is %d, expected %ld (was %d, expected delta %+ld)",
			 what, now.P, (long)before->P + dP, before->P, dP);
	if (now.MDP != mdp)
		gup_fail("%s: page_maybe_dma_pinned() is %s, expected %s (R %d, P %d)", what,
			 now.MDP ? "true" : "false", mdp ? "true" : "false", now.R, now.P);
	if (now.A - before->A != dA)
		gup_fail("%s: nr_foll_pin_acquired moved by %+ld, expected %+ld", what,
			 now.A - before->A, dA);
	if (now.Rel - before->Rel != dRel)
		gup_fail("%s: nr_foll_pin_released moved by %+ld, expected %+ld", what,
			 now.Rel - before->Rel, dRel);
	if ((long)(now.W - before->W) != dW)
		gup_fail("%s: %ld WARN(s) reported, expected %ld", what, (long)(now.W - before->W),
			 dW);
}

/* A refused call: nothing at all may have changed, except dW WARNs. */
#define expect_unchanged(before, page, dW, ...)                                                    \
	expect_pin_state(before, page, 0, 0, (before)->MDP, 0, 0, dW, __VA_ARGS__)

/* The pages array of a refused call must still hold what it was filled with. */
#define POISON_PAGE ((struct page *)0x5a5a5a5a5a5a5a5aUL)

static inline void poison_pages(struct page **pages, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		pages[i] = POISON_PAGE;
}

static inline void expect_pages_untouched(struct page **pages, unsigned long n, const char *what)
{
	for (unsigned long i = 0; i < n; i++)
		if (pages[i] != POISON_PAGE)
			gup_fail("%s: pages[%lu] was written (%p) by a call that returned no page",
				 what, i, (void *)pages[i]);
}

/* ---- fixtures ---- */

/* test_mm_util.h's: boot cfg (NULL: the default 1 GiB machine, THP always) and run this
 * thread in a new mm; teardown_mm() undoes it. */
static inline int gup_setup_with(void **state, const struct pinmm_config *cfg)
{
	return boot_with_mm(state, cfg);
}

static inline int gup_setup(void **state)
{
	return setup_mm(state);
}

static inline int gup_teardown(void **state)
{
	return teardown_mm(state);
}

#define gup_test(f) cmocka_unit_test_setup_teardown(f, gup_setup, gup_teardown)
/* A scenario whose expectations belong to one rule set boots it explicitly. */
#define gup_test_57(f) cmocka_unit_test_setup_teardown(f, setup_mm_57, gup_teardown)
#define gup_test_modern(f) cmocka_unit_test_setup_teardown(f, setup_mm_modern, gup_teardown)

/* Write one byte (val) to each of the n pages from addr: faults them in, writable. */
static inline void touch_write(unsigned long addr, unsigned long n, unsigned char val,
			       const char *what)
{
	for (unsigned long i = 0; i < n; i++)
		if (copy_to_user(addr + PG(i), &val, 1))
			gup_fail("%s: copy_to_user(%#lx) failed", what, addr + PG(i));
}

/* Read one byte of each of the n pages from addr (an anonymous read maps the zero page). */
static inline void touch_read(unsigned long addr, unsigned long n, const char *what)
{
	unsigned char c;

	for (unsigned long i = 0; i < n; i++)
		if (copy_from_user(&c, addr + PG(i), 1))
			gup_fail("%s: copy_from_user(%#lx) failed", what, addr + PG(i));
}

/* ---- page tables (test_mm_util.h's walker; the test thread owns the mm) ---- */

/* The leaf entry mapping addr (a PTE, or a PMD / PUD leaf) and its size; 0 if none. */
static inline unsigned long leaf_at(struct mm_struct *mm, unsigned long addr, unsigned long *size)
{
	struct leaf l = pt_walk(mm, addr);

	*size = l.size;
	return l.entry;
}

/* page_at(), failing the scenario when nothing is mapped there. */
static inline struct page *mapped_page(struct mm_struct *mm, unsigned long addr, const char *what)
{
	struct page *page = page_at(mm, addr);

	if (!page)
		gup_fail("%s: no page mapped at %#lx", what, addr);
	return page;
}

/* ---- locked slow-path calls ---- */

static inline long pin_locked(unsigned long start, unsigned long nr, unsigned int flags,
		       struct page **pages)
{
	struct mm_struct *mm = current_mm();
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages(start, nr, flags, pages);
	mmap_read_unlock(mm);
	return ret;
}

static inline long get_locked(unsigned long start, unsigned long nr, unsigned int flags,
		       struct page **pages)
{
	struct mm_struct *mm = current_mm();
	long ret;

	mmap_read_lock(mm);
	ret = get_user_pages(start, nr, flags, pages);
	mmap_read_unlock(mm);
	return ret;
}

/* ---- every get/pin entry point behind one signature ---- */

static inline long v_get(unsigned long s, unsigned long n, unsigned int f, struct page **p)
{
	return get_locked(s, n, f, p);
}

static inline long v_pin(unsigned long s, unsigned long n, unsigned int f, struct page **p)
{
	return pin_locked(s, n, f, p);
}

/* The _remote calls on the current mm, with locked NULL or pointing at 1 (which must stay 1:
 * pinmm never drops the lock). */
static inline long remote_call(bool pin, bool with_locked, unsigned long s, unsigned long n,
			       unsigned int f, struct page **p)
{
	struct mm_struct *mm = current_mm();
	int locked = 1;
	long ret;

	mmap_read_lock(mm);
	ret = pin ? pin_user_pages_remote(mm, s, n, f, p, with_locked ? &locked : NULL)
		  : get_user_pages_remote(mm, s, n, f, p, with_locked ? &locked : NULL);
	mmap_read_unlock(mm);
	if (locked != 1)
		gup_fail("%s_user_pages_remote() changed *locked to %d", pin ? "pin" : "get",
			 locked);
	return ret;
}

static inline long v_get_remote(unsigned long s, unsigned long n, unsigned int f,
				struct page **p)
{
	return remote_call(false, false, s, n, f, p);
}

static inline long v_get_remote_locked(unsigned long s, unsigned long n, unsigned int f,
				       struct page **p)
{
	return remote_call(false, true, s, n, f, p);
}

static inline long v_pin_remote(unsigned long s, unsigned long n, unsigned int f,
				struct page **p)
{
	return remote_call(true, false, s, n, f, p);
}

static inline long v_pin_remote_locked(unsigned long s, unsigned long n, unsigned int f,
				       struct page **p)
{
	return remote_call(true, true, s, n, f, p);
}

static inline long v_get_unlocked(unsigned long s, unsigned long n, unsigned int f,
				  struct page **p)
{
	return get_user_pages_unlocked(s, n, p, f);
}

static inline long v_pin_unlocked(unsigned long s, unsigned long n, unsigned int f,
				  struct page **p)
{
	return pin_user_pages_unlocked(s, n, p, f);
}

static inline long v_get_fast(unsigned long s, unsigned long n, unsigned int f, struct page **p)
{
	return get_user_pages_fast(s, (int)n, f, p);
}

static inline long v_pin_fast(unsigned long s, unsigned long n, unsigned int f, struct page **p)
{
	return pin_user_pages_fast(s, (int)n, f, p);
}

static inline long v_get_fast_only(unsigned long s, unsigned long n, unsigned int f,
				   struct page **p)
{
	return get_user_pages_fast_only(s, (int)n, f, p);
}

static inline long v_pin_fast_only(unsigned long s, unsigned long n, unsigned int f,
				   struct page **p)
{
	return pin_user_pages_fast_only(s, (int)n, f, p);
}

struct gup_variant {
	const char *name;
	bool pin;       /* FOLL_PIN (release with unpin) rather than FOLL_GET (put_page) */
	bool fast_only; /* never faults: only for pages already mapped */
	long (*call)(unsigned long start, unsigned long nr, unsigned int flags,
		     struct page **pages);
};

static const struct gup_variant gup_variants[] __attribute__((unused)) = {
	{"get_user_pages", false, false, v_get},
	{"get_user_pages_remote", false, false, v_get_remote},
	{"get_user_pages_remote(locked)", false, false, v_get_remote_locked},
	{"get_user_pages_unlocked", false, false, v_get_unlocked},
	{"get_user_pages_fast", false, false, v_get_fast},
	{"get_user_pages_fast_only", false, true, v_get_fast_only},
	{"pin_user_pages", true, false, v_pin},
	{"pin_user_pages_remote", true, false, v_pin_remote},
	{"pin_user_pages_remote(locked)", true, false, v_pin_remote_locked},
	{"pin_user_pages_unlocked", true, false, v_pin_unlocked},
	{"pin_user_pages_fast", true, false, v_pin_fast},
	{"pin_user_pages_fast_only", true, true, v_pin_fast_only},
};

#define NR_GUP_VARIANTS (sizeof(gup_variants) / sizeof(gup_variants[0]))

/* Release what variant v returned. */
static inline void gup_variant_release(const struct gup_variant *v, struct page **pages,
				       unsigned long n)
{
	if (v->pin) {
		unpin_user_pages(pages, n);
		return;
	}
	for (unsigned long i = 0; i < n; i++)
		put_page(pages[i]);
}

/* ---- run-time budget ---- */

/*
 * The slowest variants (2^21 one-page pins, hundreds of full pins of a 1 GiB page) are cut
 * down under ThreadSanitizer, which slows them tenfold, and when PINMM_TEST_QUICK is set in
 * the environment (to any value but "0").
 */
static inline bool gup_quick(void)
{
	const char *q = getenv("PINMM_TEST_QUICK");

#if defined(__SANITIZE_THREAD__)
	return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	return true;
#endif
#endif
	return q && strcmp(q, "0") != 0;
}

/* AddressSanitizer slows the walks over huge pages' struct pages about sixfold. */
static inline bool gup_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return true;
#endif
#endif
	return false;
}

#endif /* PINMM_GUP_CONFORMANCE_H */
