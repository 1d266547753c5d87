/* SPDX-License-Identifier: MIT */
/*
 * get_user_pages (GUP) and FOLL_PIN page pinning, Linux 5.7's system (the "track FOLL_PIN
 * pages" series, v5.7's mm/gup.c), with the later fixes docs/design.md lists.
 *
 * FOLL_GET takes a normal reference: release it with put_page(). FOLL_PIN (the pin_user_pages*
 * calls) takes a pin: release it with unpin_user_page*(), never put_page(). A pin is counted
 * on the head page in one of two ways (<pinmm/mm.h> says which pages take which, per rule set):
 *   - without an exact count (order 0; order 1 too under 5.7 rules): GUP_PIN_COUNTING_BIAS
 *     (1024) added to the head's _refcount, so page_maybe_dma_pinned() is "refcount >= 1024"
 *     (false positives possible, never false negatives);
 *   - with one (5.7: compound pages of order > 1, the count in page[2]; modern rules: every
 *     compound page, the count in page[1]): 1 on the head's _refcount and 1 on the exact pin
 *     count (compound_pincount()), so the answer is exact.
 * nr_foll_pin_acquired / nr_foll_pin_released (vmstat) count pins of 4 KiB pages.
 *
 * No count ever wraps: a grab that would take the head's refcount, or the exact pin count,
 * past INT_MAX, or that finds the refcount <= 0, WARNs and fails (-ENOMEM from the slow path).
 *
 * Under modern rules (docs/rule-sets.md) a read-only FOLL_PIN of an anonymous page that is not
 * PageAnonExclusive (it may be shared with a fork) first unshares it: the page is copied (or
 * reused when nothing else holds it) through a FAULT_FLAG_UNSHARE fault, the mapping stays
 * read-only, and the pin lands on the now exclusive page the process maps; the fast calls leave
 * such pages to the slow path. FOLL_GET never unshares. A FOLL_FORCE write follows a read-only
 * entry only when it maps an exclusive anonymous page of a private mapping that may be written
 * (else it faults first), and hugetlb mappings refuse FOLL_FORCE writes (-EFAULT).
 *
 * Return convention of the get/pin calls: the number of pages done if > 0, else a negative
 * errno; a failure in the middle of a range returns the short count. The caller releases
 * exactly the pages returned.
 */
#ifndef PINMM_GUP_H
#define PINMM_GUP_H

#include <stdbool.h>

#include "mm.h"
#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The FOLL_* flags, Linux 5.7's values. Each does what it does in 5.7, or is refused with a
 * WARN and -EINVAL by the slow path (the fast path accepts only FOLL_WRITE, FOLL_LONGTERM and
 * FOLL_FORCE, as 5.7's does); none is ignored.
 */
#define FOLL_WRITE 0x01u      /* check the PTE is writable; write-fault (COW) if not */
#define FOLL_TOUCH 0x02u      /* mark the page accessed (and dirty with FOLL_WRITE) */
#define FOLL_GET 0x04u        /* take a reference on the page */
#define FOLL_DUMP 0x08u       /* an error rather than a page for holes and the zero page */
#define FOLL_FORCE 0x10u      /* ignore the VMA's read/write permission (ptrace) */
/* Do not wait in a fault: a file page that is not cached and uptodate, or whose lock is
 * taken, ends the call there (5.7: VM_FAULT_RETRY from filemap_fault()), which then returns
 * the pages done so far, or 0. */
#define FOLL_NOWAIT 0x20u
/* Fault in (populate_vma_page_range()); 5.7 only tests it together with FOLL_MLOCK, so alone
 * it changes nothing: accepted. */
#define FOLL_POPULATE 0x40u
/* Split a THP (PMD- or PTE-mapped) with split_huge_page() before returning its subpage; the
 * call fails with split_huge_page()'s error (-EBUSY: the THP is pinned or otherwise referenced)
 * when it cannot be split. hugetlb and device pages are not THPs and are returned whole, as in
 * 5.7. */
#define FOLL_SPLIT 0x80u
#define FOLL_HWPOISON 0x100u  /* -EHWPOISON rather than -EFAULT for poisoned pages */
/* Internal to 5.7's GUP (added unless FOLL_FORCE: do not follow NUMA-hinting PROT_NONE
 * entries). Refused: pinmm has no NUMA balancing, and GUP already follows a PROT_NONE entry only
 * for FOLL_FORCE. */
#define FOLL_NUMA 0x200u
/* Wait for a migration entry in the lookup rather than in the fault: accepted (the same
 * outcome: the page once it has moved). */
#define FOLL_MIGRATION 0x400u
/* Internal: a retry after a fault dropped the mmap lock. Refused: pinmm never drops it. */
#define FOLL_TRIED 0x800u
/* mlock the pages of VM_LOCKED VMAs. Refused: pinmm has no mlock. */
#define FOLL_MLOCK 0x1000u
#define FOLL_REMOTE 0x2000u   /* not the current mm (FAULT_FLAG_REMOTE); set by the _remote calls */
/* Internal, 5.7 rules only: a COW happened for this lookup, so a dirty read-only PTE is ours
 * (modern rules ask PageAnonExclusive instead; Linux 6.0 removed the flag). Refused from
 * callers: it would let a FOLL_FORCE write through a PTE still shared with a fork. */
#define FOLL_COW 0x4000u
#define FOLL_ANON 0x8000u     /* anonymous VMAs only */
/* An indefinite pin (RDMA, VFIO, io_uring fixed buffers): never in CMA (under modern rules
 * never in ZONE_MOVABLE either: pages there are migrated out first), never fsdax, and under
 * modern rules never a writable pin of a shared mapping of a host file. */
#define FOLL_LONGTERM 0x10000u
#define FOLL_SPLIT_PMD 0x20000u /* split a PMD-mapped THP's mapping into PTEs before returning */
#define FOLL_PIN 0x40000u     /* pages must be released with unpin_user_page*() */
/* The fast path only: never fault, never fall back (5.8). Internal to the *_fast_only calls;
 * refused by the slow path. */
#define FOLL_FAST_ONLY 0x80000u

/*
 * May a FOLL_LONGTERM pin hold page (Linux 5.13-6.2's is_longterm_pinnable_page(), now
 * folio_is_longterm_pinnable())? Not a page in the CMA area; under modern rules not a page in
 * ZONE_MOVABLE either (the zero page excepted). A long-term GUP migrates the pages it finds
 * here out before it pins them. Answers from where the frame lies; page must be a page of the
 * running machine.
 */
bool is_longterm_pinnable_page(const struct page *page);

/* ---- the slow path: caller holds mmap_read_lock(current mm) ---- */

/*
 * Look up (faulting in as needed) nr_pages pages of the current mm from start and take a
 * reference on each (FOLL_GET; pages may be NULL to only fault in). Errors: -EINVAL (with a
 * WARN) for FOLL_PIN; -EFAULT for an address outside any VMA, a VMA that refuses the access
 * (VM_IO/VM_PFNMAP, write without FOLL_FORCE, FOLL_FORCE write to a shared mapping, read of
 * PROT_NONE, FOLL_ANON on a file VMA) or SIGBUS/SIGSEGV at fault; -ENOMEM when memory or a
 * reference count runs out; -EHWPOISON with FOLL_HWPOISON; -ESRCH with no current mm;
 * -EOPNOTSUPP for FOLL_LONGTERM on device (fsdax) memory. FOLL_LONGTERM under modern rules
 * (Linux 5.13 and 6.5): -ENOMEM, nothing left pinned, when a page that is not long-term
 * pinnable (is_longterm_pinnable_page()) cannot be migrated out (another pin or reference
 * holds it, no memory outside ZONE_MOVABLE and CMA, a hugetlb or device page); -EFAULT for
 * FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM on a shared, writable mapping of a host file (shmem /
 * memfd and hugetlb files, private mappings and read-only pins are allowed); under 5.7 rules
 * a CMA page that cannot be migrated is pinned where it is. -EBUSY with FOLL_SPLIT for a THP that
 * cannot be split; -EINVAL (with a WARN) for a refused flag (FOLL_NUMA, FOLL_TRIED,
 * FOLL_MLOCK, FOLL_COW, FOLL_FAST_ONLY), and under modern rules for FOLL_LONGTERM (a long-term
 * reference: only FOLL_PIN may be long-term since Linux 6.3). nr_pages 0 returns 0; so does
 * FOLL_NOWAIT when the first page would need a fault that waits. Every get/pin call below has
 * the same errors.
 */
long get_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages);

/* As get_user_pages() but pins (FOLL_PIN). pages must not be NULL and gup_flags must not hold
 * FOLL_GET: either is refused with a WARN, returning -EINVAL under 5.7 rules and 0 (no page
 * pinned) under modern rules, as Linux 6.3 on does. Nothing is pinned either way. */
long pin_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages);

/*
 * On any mm (mmap_read_lock(mm) held). locked may be NULL; if not, *locked must be 1 and stays
 * 1 (pinmm never drops the lock). get_: FOLL_PIN refused; FOLL_LONGTERM with a non-NULL
 * locked refused (5.7: WARN, -EINVAL), and under modern rules FOLL_LONGTERM at all (WARN,
 * -EINVAL). pin_: FOLL_GET refused, pages required, *locked must be 1 (WARN; -EINVAL under 5.7
 * rules, 0 under modern ones); FOLL_LONGTERM with a non-NULL locked refused under 5.7 rules
 * (WARN, -EINVAL), taken like any long-term pin under modern ones (6.3). mm NULL: -EINVAL. A stale mm (after its last
 * mmput(), or of a machine shut down: mman.h) WARNs and gives -ESRCH.
 */
long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked);
long pin_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked);

/* Take and drop the current mm's mmap lock around get/pin_user_pages(). FOLL_LONGTERM: refused
 * by get_ (WARN, -EINVAL); refused by pin_ under 5.7 rules (WARN, -EINVAL), taken like any
 * long-term pin under modern ones (6.3). pin_: FOLL_GET or pages NULL refused with a WARN
 * (-EINVAL under 5.7 rules, 0 under modern). */
long get_user_pages_unlocked(unsigned long start, unsigned long nr_pages, struct page **pages,
			     unsigned int gup_flags);
long pin_user_pages_unlocked(unsigned long start, unsigned long nr_pages, struct page **pages,
			     unsigned int gup_flags);

/* ---- the fast path: no lock needed; falls back to the slow path for what it cannot do ---- */

/*
 * gup_flags may only hold FOLL_WRITE, FOLL_LONGTERM, FOLL_FORCE (and FOLL_GET / FOLL_PIN as
 * the call implies); anything else WARNs and gives -EINVAL, and so does FOLL_LONGTERM for
 * get_user_pages_fast() under modern rules. start is rounded down to a page; a range that
 * wraps returns 0; one beyond the user address space -EFAULT. Under modern rules a pin_ walk
 * that runs while fork write-protects the mm (mm->write_protect_seq, <pinmm/mm_types.h>)
 * releases what it took (nr_foll_pin_acquired and _released both count it) and leaves the
 * range to the slow path.
 */
int get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages);
int pin_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages);
/* Never fault, never sleep, never fall back: the pages the lockless walk could take.
 * pin_: never negative (5.8); a FOLL_GET WARNs and returns 0. get_: under 5.7 rules never
 * negative either (refused flags WARN and return 0); under modern rules (6.3) it returns what
 * get_user_pages_fast() would refuse with: -EINVAL (WARN) for FOLL_PIN, no pages array or
 * FOLL_LONGTERM, -EFAULT for a range beyond the user address space. */
int get_user_pages_fast_only(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages);
int pin_user_pages_fast_only(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages);

/* ---- releasing pins ----
 *
 * With the machine's debug checks on (pinmm_config.debug_checks, boot.h), a release of pins the
 * page does not hold (a page never pinned, unpinned twice, the zero page without a pin, an
 * entry or range past the end of its compound page) WARNs, dump_page()s the head and changes
 * nothing on that page: not its counts, not PG_dirty, not nr_foll_pin_released. A dirty unpin
 * of the zero page (pinned for reading) releases the pin but refuses to dirty it. With the
 * checks off, such misuse corrupts the counts as it does in Linux. A put_page() that drops a
 * pin looks like correct use to the counts of one page; pinmm_shutdown() reports the
 * unbalanced nr_foll_pin_acquired / nr_foll_pin_released it leaves.
 */

/* Release one pin taken by a pin_user_pages*() call. */
void unpin_user_page(struct page *page);

/* Release the pins of pages[0 .. npages) (NULL entries are skipped). An error-valued npages
 * (e.g. (unsigned long)-EFAULT) WARNs and releases nothing. Each entry is its own pin: a
 * refused entry (debug checks) does not stop the others. */
void unpin_user_pages(struct page **pages, unsigned long npages);

/* As unpin_user_pages(), but first, if make_dirty, mark each head dirty (under its page lock)
 * unless it already is: the device wrote the pages. */
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages, bool make_dirty);

/* The same for npages physically consecutive pages starting at page (5.12). With the debug
 * checks on, the whole range is checked first: a compound page in it that lacks its pins
 * refuses the call, which then changes nothing. */
void unpin_user_page_range_dirty_lock(struct page *page, unsigned long npages, bool make_dirty);

/* ---- runs: beyond Linux ----
 *
 * Calls that return what they pinned as runs rather than one entry per page, for callers that
 * register memory with a device (as an io_uring fixed buffer, an RDMA memory region or a VFIO
 * mapping do, which today turn a pages array back into ranges). Linux has no such call; pinmm's
 * API (docs/design.md, "Where pinmm differs"). A run is as a bio_vec holds memory: a first page
 * and a page count, the pages physically consecutive and mapped at consecutive user addresses,
 * run[k] following run[k - 1] in the address space. A run may span several compound pages (the
 * frames are consecutive); a THP or hugetlb leaf is one run at most, with no per-page entry
 * written. The pages are pinned exactly as pin_user_pages_fast() / pin_user_pages() pin them:
 * the same walk, the same counts (per head: GUP_PIN_COUNTING_BIAS or the exact pin count),
 * nr_foll_pin_acquired / released, trace events, pin owners and rules (fork backoff, unshare,
 * FOLL_LONGTERM's migration out of CMA / ZONE_MOVABLE, fsdax refusal).
 */
struct page_run {
	struct page *page;      /* the first page of the run */
	unsigned long nr_pages; /* >= 1 */
};

/*
 * Pin nr_pages pages of the current mm from start (rounded down to a page) as
 * pin_user_pages_fast() does (no lock needed; the lockless walk, then the slow path for the
 * rest), into runs[0 .. *nr_runs). *nr_runs: the capacity on entry, the runs used on return
 * (written only when the return is >= 0). Returns the pages pinned, which the runs hold, fewer
 * than nr_pages when a page could not be pinned (the pages before it are returned, as the
 * pages-array calls do) or when the runs array filled up (the next page would have needed a
 * run more: nothing of it was taken); nr_pages 0 returns 0 with *nr_runs 0.
 * gup_flags: FOLL_WRITE, FOLL_LONGTERM, FOLL_FORCE. Errors, each with nothing pinned and
 * nothing written: -EINVAL for runs or nr_runs NULL, *nr_runs 0, nr_pages above LONG_MAX, or
 * a flag other than these (FOLL_GET, FOLL_PIN, FOLL_FAST_ONLY and the rest; not a WARN: the
 * call is ours and reports misuse by its return, under both rule sets); otherwise the errors
 * of pin_user_pages_fast() for the first page (-EFAULT, -ENOMEM, -ESRCH with no current mm,
 * -EOPNOTSUPP for fsdax with FOLL_LONGTERM...).
 */
long pin_user_pages_fast_runs(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
			      struct page_run *runs, unsigned long *nr_runs);

/* The same through the slow path alone, as pin_user_pages(): the caller holds
 * mmap_read_lock(current mm). gup_flags: pin_user_pages()'s (FOLL_WRITE, FOLL_FORCE,
 * FOLL_LONGTERM, FOLL_TOUCH, FOLL_NOWAIT, FOLL_SPLIT_PMD, FOLL_ANON, FOLL_DUMP, FOLL_HWPOISON,
 * ...) but FOLL_GET and FOLL_PIN (-EINVAL, no WARN) and the slow path's refused ones (WARN,
 * -EINVAL); the same errors as pin_user_pages_fast_runs() and pin_user_pages(). */
long pin_user_pages_runs(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
			 struct page_run *runs, unsigned long *nr_runs);

/* Release the pins of runs[0 .. nr_runs), as unpin_user_page_range_dirty_lock() does for each
 * run: one release per folio the run covers. A run with a NULL page or 0 pages is skipped;
 * runs NULL with nr_runs > 0 WARNs and releases nothing. The debug checks (above) refuse a run
 * whose folios lack their pins, and the runs after it are still released. */
void unpin_user_page_runs(struct page_run *runs, unsigned long nr_runs);

/* As unpin_user_page_runs(), but first, if make_dirty, mark each folio dirty (under its page
 * lock) unless it already is: the device wrote the pages. */
void unpin_user_page_runs_dirty_lock(struct page_run *runs, unsigned long nr_runs,
				     bool make_dirty);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_GUP_H */
