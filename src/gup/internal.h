/* SPDX-License-Identifier: MIT */
/* What the files of src/gup share: the grab/release primitives (grab.c) and the slow-path
 * core (gup.c) that the fast path and FOLL_LONGTERM fall back on. */
#ifndef PINMM_GUP_INTERNAL_H
#define PINMM_GUP_INTERNAL_H

#include <pinmm/gup.h>
#include <pinmm/uaccess.h>

#include "vm/internal.h"

/* grab.c: __grab_compound_head() leaves nr_foll_pin_acquired to the caller (the fast path
 * counts once per call); try_grab_page() (the slow path, one page) counts. */
struct page *__grab_compound_head(struct page *page, int refs, unsigned int flags,
				  bool speculative);
bool try_grab_page(struct page *page, unsigned int flags);
void put_compound_head(struct page *head, int refs, unsigned int flags);
/* grab.c: the mm the slow path is pinning through on this thread (NULL outside it), for the
 * pin owners' records (the fast path pins through the current mm). */
extern _Thread_local struct mm_struct *gup_pin_mm;

/* The get_* entry points' FOLL_LONGTERM check: modern rules refuse FOLL_LONGTERM without
 * FOLL_PIN (rule_longterm_needs_pin()); the caller WARNs and returns its refusal value. */
static inline bool longterm_without_pin_refused(unsigned int gup_flags)
{
	return (gup_flags & FOLL_LONGTERM) && rule_longterm_needs_pin();
}

/* Linux's mm_set_has_pinned_flag(): a FOLL_PIN call marks its mm before it pins anything
 * (MMF_HAS_PINNED, <pinmm/mm_types.h>), so that a fork that runs after the pin sees the
 * flag. Read first: once set, the mm's flags word is never written again here (concurrent
 * pins would bounce its cache line). */
static inline void mm_set_has_pinned_flag(struct mm_struct *mm)
{
	if (!(atomic_load_explicit(&mm->flags, memory_order_relaxed) & (1UL << MMF_HAS_PINNED)))
		atomic_fetch_or(&mm->flags, 1UL << MMF_HAS_PINNED);
}

/*
 * gup_must_unshare() (Linux 5.19, include/linux/mm.h): must this lookup make page exclusive
 * before grabbing it? Under modern rules (rule_ro_pin_unshares()), a read-only FOLL_PIN of an
 * anonymous page that is not PageAnonExclusive: another process may map it, and a later COW
 * would leave the pin on a page its owner no longer maps. Asked only when the entry mapping the
 * page is read-only (a writable entry maps an exclusive page). FOLL_GET and FOLL_WRITE never
 * unshare. page: the page mapped (the zero page included), the head for a PMD-mapped THP or a
 * hugetlb page. A page that is not anonymous is unshared only by a long-term pin in a COW
 * mapping (6.2, rule_ro_longterm_pin_unshares_cow_mappings()); vma NULL (the fast path, which
 * does not know it) answers yes, leaving the page to the slow path.
 */
static inline bool gup_must_unshare(const struct vm_area_struct *vma, unsigned int flags,
				    const struct page *page)
{
	if (!rule_ro_pin_unshares() || (flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN)
		return false;
	if (!PageAnon(page))
		return rule_ro_longterm_pin_unshares_cow_mappings() && (flags & FOLL_LONGTERM) &&
		       (!vma || is_cow_mapping(vma->vm_flags));
	/* Read after the grab in the fast path, under the ptl in the slow one. A fork racing
	 * with a fast-path pin is Linux's fork-side concern (the mm's write_protect_seq and
	 * page_try_dup_anon_rmap()'s maybe-pinned test), not this test's. */
	return PageAnon(page) && !PageAnonExclusive(page);
}

/*
 * Where a GUP walk puts the pages it took: ONE output for the page-array calls and the runs
 * calls (pin_user_pages*_runs(), <pinmm/gup.h>; released in gup.c), so the fast walk, the
 * slow path's lookups, follow_pte_run() and the huge-leaf grabs are one implementation for
 * both. A walk emits
 * pages in address order, nr at a time, each batch physically consecutive (one page, or the
 * subpages of one huge leaf), and only ever the page at the next virtual address, so a batch
 * that starts where the last run ends physically extends that run.
 *
 * The rule that is easy to break: a walk asks gup_out_fits() BEFORE it grabs, and adds after
 * the grab succeeded; gup_out_add() then cannot fail. A runs array that is full stops the walk
 * there with nothing grabbed for the page that did not fit (out->full).
 */
struct gup_out {
	struct page **pages;   /* page-array call: pages[nr ..]; NULL with runs NULL: not kept */
	struct page_run *runs; /* runs call: runs[0 .. nr_runs) */
	unsigned long nr_runs, max_runs;
	unsigned long nr; /* pages emitted */
	bool full;        /* a page did not fit in runs: the call stops there */
};

static inline struct gup_out gup_out_pages(struct page **pages)
{
	return (struct gup_out){ .pages = pages };
}

static inline struct gup_out gup_out_runs(struct page_run *runs, unsigned long max_runs)
{
	return (struct gup_out){ .runs = runs, .max_runs = max_runs };
}

/* Would a batch starting at page be taken (always, but for a full runs array)? */
static inline bool gup_out_fits(struct gup_out *out, const struct page *page)
{
	struct page_run *last;

	if (__builtin_expect(!out->runs, 1) || out->nr_runs < out->max_runs)
		return true;
	last = &out->runs[out->nr_runs - 1];
	if (last->page + last->nr_pages == page)
		return true;
	out->full = true;
	return false;
}

/* Emit nr physically consecutive pages from page (gup_out_fits(out, page) said yes). */
static inline void gup_out_add(struct gup_out *out, struct page *page, unsigned long nr)
{
	if (__builtin_expect(!out->runs, 1)) {
		if (out->pages) {
			struct page **p = out->pages + out->nr;

			for (unsigned long j = 0; j < nr; j++)
				p[j] = page + j;
		}
	} else if (out->nr_runs &&
		   out->runs[out->nr_runs - 1].page + out->runs[out->nr_runs - 1].nr_pages == page) {
		out->runs[out->nr_runs - 1].nr_pages += nr;
	} else {
		out->runs[out->nr_runs++] = (struct page_run){ page, nr };
	}
	out->nr += nr;
}

/* One page, from a loop that read out->runs once (runs) rather than per page: the 4 KiB
 * loops' form of gup_out_add(), which calls out of line between pages. */
static inline void gup_out_add_page(struct gup_out *out, struct page *page, bool runs)
{
	if (__builtin_expect(runs, 0)) {
		gup_out_add(out, page, 1);
		return;
	}
	if (out->pages)
		out->pages[out->nr] = page;
	out->nr++;
}

/* Take back the last page emitted (5.7's undo_dev_pagemap() drops device pages one by one);
 * returns it. out->nr > 0, and out keeps pages or runs. */
static inline struct page *gup_out_pop(struct gup_out *out)
{
	struct page_run *last;
	struct page *page;

	out->nr--;
	if (!out->runs)
		return out->pages[out->nr];
	last = &out->runs[out->nr_runs - 1];
	page = last->page + --last->nr_pages;
	if (!last->nr_pages)
		out->nr_runs--;
	return page;
}

/* A point in out's output (what was emitted before it), for the passes that concern only the
 * pages a part of the call took after it: the slow path after the fast walk, the long-term
 * pass, a release on failure. */
struct gup_out_mark {
	unsigned long nr, nr_runs, last_nr; /* last_nr: the last run's length then */
};

static inline struct gup_out_mark gup_out_mark(const struct gup_out *out)
{
	return (struct gup_out_mark){
		out->nr, out->nr_runs,
		out->runs && out->nr_runs ? out->runs[out->nr_runs - 1].nr_pages : 0
	};
}

/* Forget what was emitted after m (the caller released it), to walk again into out. */
static inline void gup_out_truncate(struct gup_out *out, const struct gup_out_mark *m)
{
	out->nr = m->nr;
	out->full = false;
	if (!out->runs)
		return;
	out->nr_runs = m->nr_runs;
	if (m->nr_runs)
		out->runs[m->nr_runs - 1].nr_pages = m->last_nr;
}

/* The r-th run of out, or of the part of it emitted after m when it began before m: its first
 * page in *page, its length returned (0: nothing of it after m). */
static inline unsigned long gup_out_run_since(const struct gup_out *out,
					      const struct gup_out_mark *m, unsigned long r,
					      struct page **page)
{
	unsigned long skip = m->nr_runs && r == m->nr_runs - 1 ? m->last_nr : 0;

	*page = out->runs[r].page + skip;
	return out->runs[r].nr_pages - skip;
}

/* The first run index that may hold pages emitted after m. */
static inline unsigned long gup_out_first_run(const struct gup_out_mark *m)
{
	return m->nr_runs ? m->nr_runs - 1 : 0;
}

/* Call fn(head, arg) once per folio among what out took after m, in order (a folio the range
 * meets twice, around another page, twice): in a pages array an entry inside the previous
 * entry's folio is skipped by its address alone (its struct page is not loaded), a run is
 * walked folio by folio. The long-term pass and its marking use it. */
static inline void gup_out_for_each_folio(const struct gup_out *out, const struct gup_out_mark *m,
					  void (*fn)(struct page *head, void *arg), void *arg)
{
	if (!out->runs) {
		struct page *const *pages = out->pages + m->nr;
		unsigned long nr = out->nr - m->nr;
		const struct page *end = NULL;
		struct page *head = NULL;

		for (unsigned long i = 0; i < nr; i++) {
			if (pages[i] >= head && pages[i] < end)
				continue;
			head = compound_head(pages[i]);
			end = head + compound_nr(head);
			fn(head, arg);
		}
		return;
	}
	for (unsigned long r = gup_out_first_run(m); r < out->nr_runs; r++) {
		struct page *page, *last;
		unsigned long len = gup_out_run_since(out, m, r, &page);

		for (last = page + len; page < last;) {
			struct page *head = compound_head(page);

			fn(head, arg);
			page = head + compound_nr(head);
		}
	}
}

/* gup.c: the slow path on mm (mmap lock held), emitting into out after what it holds; FOLL_GET
 * is added when out keeps pages or runs without FOLL_PIN. Returns the pages this call took if
 * > 0, else the error. */
long gup_out_get_user_pages_locked(struct mm_struct *mm, unsigned long start,
				   unsigned long nr_pages, struct gup_out *out,
				   unsigned int gup_flags);
long __get_user_pages_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     struct page **pages, unsigned int gup_flags);
/* The same, plus FOLL_LONGTERM's rules (fsdax refusal, CMA migration) when asked, applied to
 * what this call took (out's earlier pages are left alone). */
long gup_out_longterm_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     struct gup_out *out, unsigned int gup_flags);
long __gup_longterm_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   struct page **pages, unsigned int gup_flags);
/* Mark the folios out took after m, just pinned with FOLL_LONGTERM, PG_longterm: one look per
 * folio, entries inside the previous entry's folio skipped by their address alone. */
void gup_out_mark_longterm(const struct gup_out *out, const struct gup_out_mark *m);
/* Release what a GUP call took with these flags (unpin under FOLL_PIN, else put_page). */
void gup_release_pages(struct page **pages, unsigned long nr, unsigned int gup_flags);
/* Release what out took after m, and forget it. */
void gup_out_release(struct gup_out *out, const struct gup_out_mark *m, unsigned int gup_flags);

/* longterm.c (is_longterm_pinnable_page() is public: <pinmm/gup.h>) */
/* The long-term pass over the nr_pages out took after m, pinned by the slow path on mm (mmap
 * lock held) with gup_flags: see longterm.c. Returns the pages pinned, or an error with
 * nothing left pinned (-ENOMEM: a page could not be migrated, modern rules; or a failed
 * re-pin's error). */
long check_and_migrate_movable_pages(struct mm_struct *mm, unsigned long start,
				     unsigned long nr_pages, struct gup_out *out,
				     const struct gup_out_mark *m, unsigned int gup_flags);

#endif /* PINMM_GUP_INTERNAL_H */
