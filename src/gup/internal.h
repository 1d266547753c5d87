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

/* gup.c: the slow path on mm (mmap lock held); pages gets FOLL_GET added when given without
 * FOLL_PIN. Returns pages done if > 0, else the error. */
long __get_user_pages_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     struct page **pages, unsigned int gup_flags);
/* The same, plus FOLL_LONGTERM's rules (fsdax refusal, CMA migration) when asked. */
long __gup_longterm_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   struct page **pages, unsigned int gup_flags);
/* Mark the heads of pages[0 .. nr), just pinned with FOLL_LONGTERM, PG_longterm. */
void mark_longterm_pinned(struct page **pages, unsigned long nr);
/* Release what a GUP call took with these flags (unpin under FOLL_PIN, else put_page). */
void gup_release_pages(struct page **pages, unsigned long nr, unsigned int gup_flags);

/* longterm.c (is_longterm_pinnable_page() is public: <pinmm/gup.h>) */
/* The long-term pass over pages[0 .. nr_pages), pinned by the slow path on mm (mmap lock held)
 * with gup_flags: see longterm.c. Returns the pages pinned, or an error with nothing left
 * pinned (-ENOMEM: a page could not be migrated, modern rules; or a failed re-pin's error). */
long check_and_migrate_movable_pages(struct mm_struct *mm, unsigned long start,
				     unsigned long nr_pages, struct page **pages,
				     unsigned int gup_flags);

#endif /* PINMM_GUP_INTERNAL_H */
