/* SPDX-License-Identifier: MIT */
/*
 * Grabbing and releasing pages for GUP: the one place that knows how a FOLL_GET reference and
 * a FOLL_PIN pin are counted (see gup.h), used by the slow path, the fast path and every unpin.
 *
 * Which pages count pins exactly, and where, is the rule set's (hpage_pincount_available(),
 * compound_pincount_ptr()): this file never names page[1] or page[2].
 *
 * The rule that is easy to break: all of it happens on the head page, and a pin is never half
 * taken. A grab first adds to the head's refcount (refusing a count <= 0 or one that would pass
 * INT_MAX), then to the exact pin count (refusing an overflow there too, after undoing the
 * refcount), and only then counts nr_foll_pin_acquired. Release does the reverse, and the last
 * reference frees the page through __put_page().
 *
 * With the machine's debug checks on (pinmm_config.debug_checks), a release never drops more
 * than the page holds: misuse (an unpin of pins that are not there) WARNs, names the page and
 * changes nothing, and nr_foll_pin_released counts only what was released. The grab is never
 * checked beyond what Linux does: the fast path's hot loop stays as it is.
 *
 * Under modern rules the zero page is never pinned (rule_zero_page_pinnable()): its pin and its
 * unpin change no count and no vmstat, and an unpin neither dirties it nor checks it, on every
 * path alike (pin_is_noop()).
 *
 * An order-0 page takes a shorter way on each side, decided from its own flags and
 * compound_head words (no tail bit, no PG_head: the bias counts its pins, there is no order to
 * read): the fast path's inline grab (grab.h, grab_order0_fast()) and, with the debug checks
 * and pin owners off, unpin_order0() in the batched unpin. Anything else takes the general
 * grab and release below; keep the two ways counting alike.
 *
 * Pin owners (<pinmm/pin_owner.h>) hang off the same two routines: a FOLL_PIN grab that
 * succeeded opens a record, and a release closes records before its counts drop (after the
 * drop the page may be freed and pinned again by someone else). Off, each pays one branch on a
 * flag read at boot (pin_owner_enabled()).
 */
#include <errno.h>
#include <limits.h>

#include "internal.h"

/* The FOLL_* names for the pin owners' reports, bit by bit (gup.h's values). */
static const char *const foll_names[] = {
	"FOLL_WRITE", "FOLL_TOUCH", "FOLL_GET", "FOLL_DUMP", "FOLL_FORCE", "FOLL_NOWAIT",
	"FOLL_POPULATE", "FOLL_SPLIT", "FOLL_HWPOISON", "FOLL_NUMA", "FOLL_MIGRATION",
	"FOLL_TRIED", "FOLL_MLOCK", "FOLL_REMOTE", "FOLL_COW", "FOLL_ANON", "FOLL_LONGTERM",
	"FOLL_SPLIT_PMD", "FOLL_PIN", "FOLL_FAST_ONLY",
};

/* The library is linked as one object (see the Makefile), so this runs before any boot. */
__attribute__((constructor)) static void register_foll_names(void)
{
	pin_owner_set_flag_names(foll_names, sizeof(foll_names) / sizeof(foll_names[0]));
}

_Thread_local struct mm_struct *gup_pin_mm;

/* The mm a grab pins through: the slow path's (gup_pin_mm, which it sets), else the fast
 * path's, the current one. */
static const void *pin_mm(void)
{
	return gup_pin_mm ? gup_pin_mm : current_mm();
}

/* Add n to the exact pin count unless that would pass INT_MAX. */
static bool pincount_add(struct page *head, int n)
{
	atomic_int *p = compound_pincount_ptr(head);
	int old = atomic_load_explicit(p, memory_order_relaxed);

	do {
		if (old < 0 || old > INT_MAX - n)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(p, &old, old + n, memory_order_relaxed,
							 memory_order_relaxed));
	return true;
}

/* hpage_pincount_available() of a head whose flags word the caller has loaded: an order-0
 * page (no PG_head) answers from that word alone, without the call or the order's read. */
static inline bool pincount_exact(const struct page *head, unsigned long head_flags)
{
	if (!(head_flags & (1UL << PG_head)))
		return false;
	/* Read atomically: the speculative grab may look at a page being freed and reused. */
	return __atomic_load_n(&head[1].compound_order, __ATOMIC_RELAXED) >
	       (rule_pincount_in_first_tail() ? 0U : 1U);
}

static inline unsigned long page_flags(const struct page *page)
{
	return atomic_load_explicit(&page->flags, memory_order_relaxed);
}

/*
 * Take refs references (FOLL_GET) or refs pins (FOLL_PIN) on page's head, without counting
 * nr_foll_pin_acquired (the caller does). speculative: the caller holds no reference and the
 * page may be being freed (fast path): a zero count is a silent failure. Otherwise a count <= 0
 * is a bug worth a WARN. A count that would overflow always WARNs. Returns the head, or NULL.
 * The fast path's order-0 pages take grab_order0_fast() (grab.h) first, which comes here for
 * anything it does not decide alone.
 */
struct page *__grab_compound_head(struct page *page, int refs, unsigned int flags,
				  bool speculative)
{
	struct page *head = compound_head(page);
	bool exact = false;
	int n = refs;

	if (WARN_ON_ONCE((flags & (FOLL_GET | FOLL_PIN)) == (FOLL_GET | FOLL_PIN)) ||
	    WARN_ON_ONCE(!(flags & (FOLL_GET | FOLL_PIN))) || WARN_ON_ONCE(refs <= 0))
		return NULL;
	if (flags & FOLL_PIN) {
		exact = pincount_exact(head, page_flags(head));
		if (!exact) {
			if (refs > INT_MAX / (int)GUP_PIN_COUNTING_BIAS) {
				WARN_ONCE(1, "pin of %d refs would overflow", refs);
				return NULL;
			}
			n = refs * (int)GUP_PIN_COUNTING_BIAS;
		}
	}
	if (!page_ref_add_unless_zero_or_overflow(head, n)) {
		int count = page_ref_count(head);

		if (!speculative || count != 0)
			WARN_ONCE(1, "refusing to grab page pfn:%#lx: refcount %d + %d",
				  page_to_pfn(head), count, n);
		return NULL;
	}
	/* Speculative: the page may have been freed and reused (as part of another compound
	 * page, or with the other counting scheme) before our references landed; then they are
	 * not ours to keep. Once they have landed the page cannot change under us, so what we
	 * re-read now is what every later release will see. */
	if (speculative &&
	    (compound_head(page) != head ||
	     ((flags & FOLL_PIN) && pincount_exact(head, page_flags(head)) != exact))) {
		if (page_ref_sub_and_test(head, n))
			__put_page(head);
		return NULL;
	}
	if (exact && !pincount_add(head, refs)) {
		WARN_ONCE(1, "refusing to pin page pfn:%#lx: pincount would overflow",
			  page_to_pfn(head));
		if (page_ref_sub_and_test(head, n))
			__put_page(head);
		return NULL;
	}
	if (pin_owner_enabled() && (flags & FOLL_PIN))
		pin_owner_add(head, page, refs, flags, pin_mm());
	return head;
}

/* After an unpin of head: the last pin gone, it is no longer long-term pinned (PG_longterm).
 * The page may have been freed (and even reused) by the unpin: the bit was cleared with the
 * rest of its flags then, and clearing it again at worst drops a new long-term pin's mark. */
static void longterm_unpinned(struct page *head)
{
	if (PageLongterm(head) && !page_maybe_dma_pinned(head))
		ClearPageLongterm(head);
}

/* A FOLL_PIN grab or release that leaves the page alone: the zero page under modern rules (6.5,
 * commit c8070b787519: "it is not going anywhere"). */
static bool pin_is_noop(struct page *head, unsigned int flags)
{
	return (flags & FOLL_PIN) && !rule_zero_page_pinnable() && is_zero_page(head);
}

bool try_grab_page(struct page *page, unsigned int flags)
{
	if (!(flags & (FOLL_GET | FOLL_PIN)) || pin_is_noop(page, flags))
		return true;
	if (!__grab_compound_head(page, 1, flags, false))
		return false;
	if (flags & FOLL_PIN)
		__mod_node_page_state(NR_FOLL_PIN_ACQUIRED, 1);
	return true;
}

/* Subtract n from *v unless it holds less than n (the debug checks' release). Returns the
 * value it held, or -1 with *v unchanged. */
static int sub_unless_below(atomic_int *v, int n, memory_order order)
{
	int old = atomic_load_explicit(v, memory_order_relaxed);

	do {
		if (old < n)
			return -1;
	} while (!atomic_compare_exchange_weak_explicit(v, &old, old - n, order,
							 memory_order_relaxed));
	return old;
}

/* A release found fewer pins or references than it drops: WARN and name the page. */
static bool refs_missing(struct page *head, int refs, unsigned int flags)
{
	bool pin = flags & FOLL_PIN;

	WARN_MISUSE_PAGE(true, head, "%s of %d %s the page does not hold%s (refcount %d)",
			 pin ? "unpin" : "put", refs, pin ? "pin(s)" : "reference(s)",
			 is_zero_pfn(page_to_pfn(head)) ? ", the zero page" : "",
			 page_ref_count(head));
	if (pin && pin_owner_enabled())
		pin_owner_report_misuse(head, refs);
	return false;
}

/* Debug checks: does head hold the refs pins (FOLL_PIN) or references a release is about to
 * drop? If not, WARN and name the page: the caller then drops nothing. */
static bool holds_refs(struct page *head, int refs, unsigned int flags)
{
	int have = page_ref_count(head), need = refs;

	if (pin_is_noop(head, flags))
		return true; /* nothing to drop */
	if ((flags & FOLL_PIN) && hpage_pincount_available(head))
		have = atomic_load_explicit(compound_pincount_ptr(head), memory_order_relaxed);
	else if (flags & FOLL_PIN)
		need = refs * (int)GUP_PIN_COUNTING_BIAS;
	return have >= need || refs_missing(head, refs, flags);
}

/* After the counts dropped to left: a device page is idle at 1 (the driver gets it back then,
 * 5.7's unpin of a devmap-managed page); any other page is freed at 0. */
static void put_compound_head_done(struct page *head, int left)
{
	if (__builtin_expect(is_zone_device_page(head), 0)) {
		if (left == 1 && page_is_devmap_managed(head))
			free_devmap_managed_page(head);
		WARN_ON_ONCE(left < 1);
		return;
	}
	if (left == 0)
		__put_page(head);
}

/*
 * The debug checks' release: the counts move with compare-and-swap, never below what is
 * dropped, so that a release finding fewer than it drops (a page never pinned, unpinned twice,
 * a free neighbour past the end of a compound page) changes nothing, and two racing double
 * unpins cannot both pass. WARNs, names the page and returns false then.
 */
static __attribute__((noinline)) bool put_compound_head_checked(struct page *head, int refs,
								 unsigned int flags)
{
	bool exact = (flags & FOLL_PIN) && hpage_pincount_available(head);
	int n = (flags & FOLL_PIN) && !exact ? refs * (int)GUP_PIN_COUNTING_BIAS : refs;
	int old;

	if (exact && sub_unless_below(compound_pincount_ptr(head), refs, memory_order_relaxed) < 0)
		return refs_missing(head, refs, flags);
	/* acq_rel as page_ref_sub_and_test(): see page_ref.h. */
	old = sub_unless_below(&head->_refcount, n, memory_order_acq_rel);
	if (old < 0) {
		if (exact)
			atomic_fetch_add_explicit(compound_pincount_ptr(head), refs,
						  memory_order_relaxed);
		return refs_missing(head, refs, flags);
	}
	put_compound_head_done(head, old - n);
	return true;
}

/*
 * Release refs references or pins on head, without counting nr_foll_pin_released. Returns
 * false when nothing was released: the debug checks refused it (put_compound_head_checked()),
 * or it was a no-op (pin_is_noop()). Without the checks this is 5.7's release, which trusts the
 * caller.
 */
static bool __put_compound_head(struct page *head, int refs, unsigned int flags,
				struct page *const *pages, struct page *first)
{
	int n = refs;

	if (pin_is_noop(head, flags))
		return false;
	if (pin_owner_enabled() && (flags & FOLL_PIN))
		pin_owner_release(head, refs, pages, first);
	if (debug_checks())
		return put_compound_head_checked(head, refs, flags);
	if (flags & FOLL_PIN) {
		if (hpage_pincount_available(head))
			atomic_fetch_sub_explicit(compound_pincount_ptr(head), refs,
						  memory_order_relaxed);
		else
			n = refs * (int)GUP_PIN_COUNTING_BIAS;
	}
	VM_BUG_ON_PAGE(page_ref_count(head) < n, head);
	put_compound_head_done(head, page_ref_sub_return(head, n));
	return true;
}

/* put_compound_head() naming the subpages unpinned, for the pin owners (see
 * pin_owner_release()). */
static void put_pins(struct page *head, int refs, struct page *const *pages, struct page *first)
{
	if (__put_compound_head(head, refs, FOLL_PIN, pages, first)) {
		longterm_unpinned(head);
		__mod_node_page_state(NR_FOLL_PIN_RELEASED, refs);
		trace_event(TRACE_GUP_UNPIN, page_to_pfn(head), (unsigned long)refs);
	}
}

void put_compound_head(struct page *head, int refs, unsigned int flags)
{
	if (__put_compound_head(head, refs, flags, NULL, NULL) && (flags & FOLL_PIN)) {
		longterm_unpinned(head);
		__mod_node_page_state(NR_FOLL_PIN_RELEASED, refs);
		trace_event(TRACE_GUP_UNPIN, page_to_pfn(head), (unsigned long)refs);
	}
}

void unpin_user_page(struct page *page)
{
	if (WARN_ON_ONCE(!page))
		return;
	put_pins(compound_head(page), 1, NULL, page);
}

/* The number of entries from pages[i] on that lie in head's compound page (5.12's batching).
 * Decided from the pointers alone: the struct pages of the run are never read. */
static unsigned long head_run(struct page **pages, unsigned long i, unsigned long npages,
			      struct page *head)
{
	struct page *end = head + compound_nr(head);
	unsigned long j = i + 1;

	while (j < npages && pages[j] >= head && pages[j] < end)
		j++;
	return j - i;
}

/* Mark head dirty before its pins go: the device wrote it. */
static void unpin_dirty(struct page *head)
{
	if (pin_is_noop(head, FOLL_PIN))
		return;
	if (!PageDirty(head))
		set_page_dirty_lock(head);
}

/*
 * Release one pin of page if it is a plain order-0 page of RAM, with the pin owners and the debug
 * checks off (the caller knows); false, having done nothing, for anything else (a compound page's
 * head or tail, a device page, the zero page under modern rules), which the batched path takes.
 * This is __put_compound_head() and the rest of unpin_pages()'s per-run work for the case where
 * the page's own flags word decides it all: not a head (PG_head) and not a tail (compound_head
 * bit 0) means order 0, so the bias counts the pin and there is no order to read. PG_longterm is
 * read from the same word before the drop: if it was clear, no long-term pin of ours is left to
 * unmark (a long-term pin set after that read is still held); if set, longterm_unpinned()
 * decides after the drop, as for any page.
 */
static inline bool unpin_order0(struct page *page, const struct page *zero, bool make_dirty)
{
	unsigned long flags = atomic_load_explicit(&page->flags, memory_order_relaxed);

	if ((atomic_load_explicit(&page->compound_head, memory_order_relaxed) & 1) ||
	    (flags & (1UL << PG_head)) || page == zero ||
	    __builtin_expect(page_to_pfn(page) >= max_pfn, 0))
		return false;
	if (make_dirty && !(flags & (1UL << PG_dirty)))
		set_page_dirty_lock(page);
	VM_BUG_ON_PAGE(page_ref_count(page) < (int)GUP_PIN_COUNTING_BIAS, page);
	if (page_ref_sub_and_test(page, (int)GUP_PIN_COUNTING_BIAS))
		__put_page(page);
	if (__builtin_expect(flags & (1UL << PG_longterm), 0))
		longterm_unpinned(page);
	trace_event(TRACE_GUP_UNPIN, page_to_pfn(page), 1UL);
	return true;
}

/*
 * The batched unpin. With the debug checks on, a run whose head does not hold the pins (see
 * __put_compound_head()) is neither dirtied nor released, and the runs after it still are:
 * each entry is its own pin, so a bad one says nothing about the others.
 *
 * With the checks and the pin owners off, an order-0 entry takes unpin_order0() (no run to
 * find, no order to read, no call); any other entry starts a run of the batched path. The
 * released pins are counted once per call either way.
 */
static void unpin_pages(struct page **pages, unsigned long npages, bool make_dirty)
{
	bool check = debug_checks();
	bool order0 = !check && !pin_owner_enabled();
	/* Under modern rules the zero page is no pin at all (pin_is_noop()): the batched path's. */
	const struct page *zero = rule_zero_page_pinnable() ? NULL : ZERO_PAGE(0);
	long released = 0;

	if (WARN_ON(IS_ERR_VALUE(npages)))
		return;
	for (unsigned long i = 0; i < npages;) {
		struct page *head, **first;
		unsigned long run;

		if (!pages[i]) {
			i++;
			continue;
		}
		if (order0 && unpin_order0(pages[i], zero, make_dirty)) {
			released++;
			i++;
			continue;
		}
		head = compound_head(pages[i]);
		run = head_run(pages, i, npages, head);
		first = pages + i;
		i += run;
		if (make_dirty) {
			if (check && !holds_refs(head, (int)run, FOLL_PIN))
				continue;
			unpin_dirty(head);
		}
		if (__put_compound_head(head, (int)run, FOLL_PIN, first, NULL)) {
			longterm_unpinned(head);
			released += (long)run;
			trace_event(TRACE_GUP_UNPIN, page_to_pfn(head), run);
		}
	}
	__mod_node_page_state(NR_FOLL_PIN_RELEASED, released);
}

void unpin_user_pages(struct page **pages, unsigned long npages)
{
	unpin_pages(pages, npages, false);
}

void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages, bool make_dirty)
{
	unpin_pages(pages, npages, make_dirty);
}

/* The run of the range [page + i, page + npages) that lies in one compound page. */
static unsigned long range_run(struct page *page, unsigned long i, unsigned long npages,
			       struct page **headp)
{
	struct page *head = compound_head(page + i);
	unsigned long left = compound_nr(head) - (unsigned long)(page + i - head);

	*headp = head;
	return npages - i < left ? npages - i : left;
}

/*
 * With the debug checks on, the whole range is checked before anything is released: one
 * compound page of the range that lacks its pins (the range runs past the end of what was
 * pinned, into a free neighbour) refuses the call, which then changes nothing.
 */
void unpin_user_page_range_dirty_lock(struct page *page, unsigned long npages, bool make_dirty)
{
	struct page *head;

	if (WARN_ON(IS_ERR_VALUE(npages)) || WARN_ON_ONCE(!page))
		return;
	if (debug_checks()) {
		for (unsigned long i = 0, run; i < npages; i += run) {
			run = range_run(page, i, npages, &head);
			if (!holds_refs(head, (int)run, FOLL_PIN))
				return;
		}
	}
	for (unsigned long i = 0, run; i < npages; i += run) {
		run = range_run(page, i, npages, &head);
		if (make_dirty)
			unpin_dirty(head);
		put_pins(head, (int)run, NULL, page + i);
	}
}
