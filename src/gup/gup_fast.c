/* SPDX-License-Identifier: MIT */
/*
 * The lockless fast path (Linux's internal_get_user_pages_fast()): walk the current mm's page
 * tables without the mmap lock or any page-table lock, grab each page speculatively, and fall
 * back to the slow path for whatever the walk could not take.
 *
 * The rule that is easy to break: no lock; a page is ours only after the grab and the re-read of
 * the entry both succeed. The grab refuses a page whose count is zero (being freed); the re-read
 * proves the page was still mapped there after the grab, so it was not freed and reused in
 * between; if it changed, the grab is undone. Page-table pages cannot vanish under the walk
 * because munmap frees them only after an RCU grace period and the walk runs inside
 * rcu_read_lock() (where Linux disables interrupts to hold off the TLB-flush IPI).
 *
 * Under modern rules a read-only FOLL_PIN of an anonymous page that may be shared
 * (gup_must_unshare()) is left to the slow path, which unshares it first.
 */
#include <errno.h>
#include <limits.h>

#include "grab.h"
#include "internal.h"

#define FAST_FLAGS (FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN | FOLL_GET | FOLL_FAST_ONLY)

/* Undo a fast grab whose entry changed under it: it counts as a pin taken and released. */
static void fast_undo(struct page *head, int refs, unsigned int flags)
{
	if (flags & FOLL_PIN)
		__mod_node_page_state(NR_FOLL_PIN_ACQUIRED, refs);
	put_compound_head(head, refs, flags);
}

/* May the fast path keep a writable long-term pin of the grabbed page head (Linux's
 * gup_fast_folio_allowed())? Without the VMA it cannot tell a shared mapping of a host file
 * from a private one, so it keeps only what is surely allowed, anonymous, shmem and hugetlb
 * pages, and leaves the rest to the slow path's check_vma_flags(). Read after the grab: the
 * reference keeps the page from being freed and reused under the read. */
static bool fast_file_pin_allowed(struct page *head, unsigned int flags)
{
	const unsigned int longterm_write = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;
	struct address_space *mapping;

	if ((flags & longterm_write) != longterm_write ||
	    !rule_longterm_refuses_dirty_tracked_file() || PageHuge(head))
		return true;
	mapping = __atomic_load_n(&head->mapping, __ATOMIC_RELAXED);
	/* Truncated meanwhile: the slow path decides. */
	if (!mapping)
		return false;
	if ((unsigned long)mapping & PAGE_MAPPING_FLAGS)
		return (unsigned long)mapping & PAGE_MAPPING_ANON;
	return mapping->shmem;
}

/* Grab refs on page's head for the fast path; NULL if the slow path must do it. Whether a
 * read-only pin must unshare the page first is the callers' look, after the grab: before it,
 * the page may be being freed, and its mapping is not to be read (Linux looks after
 * try_grab_folio_fast() too). Inline, and a single page through grab_order0_fast(): the
 * 4 KiB walk pays no call per page (docs/performance.md, "The 4 KiB fast path"). */
static inline __attribute__((always_inline)) struct page *
fast_grab(struct page *page, int refs, unsigned int flags)
{
	struct page *head;

	/* A long-term pin must not stay where it is not pinnable: let the slow path migrate
	 * the page first. */
	if ((flags & (FOLL_LONGTERM | FOLL_PIN)) == (FOLL_LONGTERM | FOLL_PIN) &&
	    !is_longterm_pinnable_page(page))
		return NULL;
	head = refs == 1 ? grab_order0_fast(page, flags)
			 : __grab_compound_head(page, refs, flags, true);
	/* Only a long-term pin asks (the test inline: the 4 KiB walk makes no call for it). */
	if (head && (flags & FOLL_LONGTERM) && !fast_file_pin_allowed(head, flags)) {
		fast_undo(head, refs, flags);
		return NULL;
	}
	return head;
}

/* Drop the device pages grabbed since nr_start (5.7's undo_dev_pagemap()): unpin under
 * FOLL_PIN, put_page otherwise. */
static inline __attribute__((always_inline)) void
undo_dev_pagemap(struct gup_out *out, unsigned long nr_start, unsigned int flags)
{
	while (out->nr > nr_start)
		fast_undo(compound_head(gup_out_pop(out)), 1, flags);
}

/* The 4 KiB loop. It works on a copy of the output (o), written back at the end: the copy's
 * address never leaves this function, so its count and cursor stay in registers across the
 * grabs and the calls the walk makes, as a local count did before the output was shared. */
static inline __attribute__((always_inline)) bool
__gup_pte_range(pmd_t pmd, unsigned long addr, unsigned long end, unsigned int flags,
		struct gup_out *out, const bool runs)
{
	struct dev_pagemap *pgmap = NULL;
	pte_t *ptep = pte_offset(pmd, addr);
	struct gup_out o = *out;
	unsigned long nr_start = o.nr;
	bool ret = false;

	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t pte = ptep_get_lockless(ptep);
		struct page *page, *head;

		if (!(pte.pte & _PAGE_PRESENT) || ((flags & FOLL_WRITE) && !pte_write(pte)) ||
		    !pfn_valid(pte_pfn(pte)))
			goto out;
		if (pte_devmap(pte)) {
			struct dev_pagemap *got;

			/* Device pages are never pinned long-term; the slow path says why. */
			if (flags & FOLL_LONGTERM)
				goto out;
			got = get_dev_pagemap(pte_pfn(pte), pgmap);
			put_dev_pagemap(pgmap);
			pgmap = got;
			if (!pgmap) {
				undo_dev_pagemap(&o, nr_start, flags);
				goto out;
			}
		} else if (pte_special(pte)) {
			goto out; /* the zero page: the slow path grabs it */
		}
		page = pfn_to_page(pte_pfn(pte));
		/* A runs array that is full ends the walk before the grab. */
		if (runs && !gup_out_fits(&o, page))
			goto out;
		/* The window the rule above is about: the entry is read, the page not yet ours. */
		race_point("gup_fast:pte_read");
		head = fast_grab(page, 1, flags);
		if (!head)
			goto out;
		if ((!pte_write(pte) && gup_must_unshare(NULL, flags, page)) ||
		    ptep_get_lockless(ptep).pte != pte.pte) {
			fast_undo(head, 1, flags);
			goto out;
		}
		mark_page_referenced(head);
		/* The fast calls always pass a pages array (their wrappers refuse NULL): the
		 * page-array copy stores without testing for one. */
		if (runs)
			gup_out_add(&o, page, 1);
		else
			o.pages[o.nr++] = page;
	}
	ret = true;
out:
	put_dev_pagemap(pgmap);
	*out = o;
	return ret;
}

/* Compiled twice from the one body above: runs is a constant in each copy, so the
 * pages-array copy carries no test of the output's kind per page. */
static bool gup_pte_range(pmd_t pmd, unsigned long addr, unsigned long end, unsigned int flags,
			  struct gup_out *out)
{
	if (out->runs)
		return __gup_pte_range(pmd, addr, end, flags, out, true);
	return __gup_pte_range(pmd, addr, end, flags, out, false);
}

/* A devmap PMD or PUD leaf: device pages are grabbed one by one, each under its pagemap
 * (5.7's __gup_device_huge()); any failure, or a leaf that changed, undoes them all. */
static bool gup_device_huge(void *entry, unsigned long v, unsigned long size, unsigned long addr,
			    unsigned long end, unsigned int flags, struct gup_out *out)
{
	unsigned long pfn = ((v & PTE_PFN_MASK) >> PAGE_SHIFT) + ((addr & (size - 1)) >> PAGE_SHIFT);
	struct dev_pagemap *pgmap = NULL;
	unsigned long nr_start = out->nr;
	bool ret = false;

	if (flags & FOLL_LONGTERM)
		return false;
	for (; addr < end; addr += PAGE_SIZE, pfn++) {
		struct dev_pagemap *got = get_dev_pagemap(pfn, pgmap);
		struct page *page = pfn_to_page(pfn);

		put_dev_pagemap(pgmap);
		pgmap = got;
		if (!pgmap || !gup_out_fits(out, page) || !fast_grab(page, 1, flags)) {
			undo_dev_pagemap(out, nr_start, flags);
			goto out;
		}
		mark_page_referenced(page);
		gup_out_add(out, page, 1);
	}
	if (pt_entry_load_acquire(entry) != v) {
		undo_dev_pagemap(out, nr_start, flags);
		goto out;
	}
	ret = true;
out:
	put_dev_pagemap(pgmap);
	return ret;
}

/* A PMD or PUD leaf (THP or hugetlb) mapping [addr, end) of one compound page: one grab, and
 * one batch into the output (one run at most, or an entry per page for a pages array). */
static bool gup_huge_leaf(void *entry, unsigned long v, unsigned long size, unsigned long addr,
			  unsigned long end, unsigned int flags, struct gup_out *out)
{
	int refs = (int)((end - addr) >> PAGE_SHIFT);
	struct page *head, *page;

	if (!(v & _PAGE_PRESENT) || ((flags & FOLL_WRITE) && !(v & _PAGE_RW)))
		return false;
	if (v & _PAGE_DEVMAP)
		return gup_device_huge(entry, v, size, addr, end, flags, out);
	page = pfn_to_page(((v & PTE_PFN_MASK) >> PAGE_SHIFT) + ((addr & (size - 1)) >> PAGE_SHIFT));
	if (!gup_out_fits(out, page))
		return false;
	head = fast_grab(page, refs, flags);
	if (!head)
		return false;
	if ((!(v & _PAGE_RW) && gup_must_unshare(NULL, flags, head)) ||
	    pt_entry_load_acquire(entry) != v) {
		fast_undo(head, refs, flags);
		return false;
	}
	mark_page_referenced(head);
	gup_out_add(out, page, (unsigned long)refs);
	return true;
}

static bool gup_pmd_range(pud_t pud, unsigned long addr, unsigned long end, unsigned int flags,
			  struct gup_out *out)
{
	pmd_t *pmdp = pmd_offset(pud, addr);

	for (; addr < end; pmdp++) {
		unsigned long next = (addr + PMD_SIZE) & PMD_MASK;
		pmd_t pmd = pmdp_get_lockless(pmdp);

		if (next > end || next == 0)
			next = end;
		if (pmd_none(pmd) || pmd_protnone(pmd))
			return false;
		if (pmd.pmd & _PAGE_PSE) {
			if (!gup_huge_leaf(pmdp, pmd.pmd, PMD_SIZE, addr, next, flags, out))
				return false;
		} else if (!gup_pte_range(pmd, addr, next, flags, out)) {
			return false;
		}
		addr = next;
	}
	return true;
}

static bool gup_pud_range(pgd_t pgd, unsigned long addr, unsigned long end, unsigned int flags,
			  struct gup_out *out)
{
	pud_t *pudp = pud_offset(pgd, addr);

	for (; addr < end; pudp++) {
		unsigned long next = (addr + PUD_SIZE) & PUD_MASK;
		pud_t pud = pudp_get_lockless(pudp);

		if (next > end || next == 0)
			next = end;
		if (pud_none(pud) || pud_protnone(pud))
			return false;
		if (pud.pud & _PAGE_PSE) {
			if (!gup_huge_leaf(pudp, pud.pud, PUD_SIZE, addr, next, flags, out))
				return false;
		} else if (!gup_pmd_range(pud, addr, next, flags, out)) {
			return false;
		}
		addr = next;
	}
	return true;
}

/* The lockless walk of [start, end) into out (empty): the pages grabbed from start on. */
static void gup_pgd_range(struct mm_struct *mm, unsigned long start, unsigned long end,
			  unsigned int flags, struct gup_out *out)
{
	pgtable_walk_begin();
	for (unsigned long addr = start; addr < end;) {
		unsigned long next = (addr + PGDIR_SIZE) & ~(PGDIR_SIZE - 1);
		pgd_t pgd = pgdp_get_lockless(pgd_offset(mm, addr));

		if (next > end || next == 0)
			next = end;
		if (pgd_none(pgd) || !gup_pud_range(pgd, addr, next, flags, out))
			break;
		addr = next;
	}
	pgtable_walk_end();
}

/* Has fork bumped mm->write_protect_seq since the walk read seq? The full fence orders the
 * walk's grabs before this read, against fork's bump before it reads the pin counts
 * (write_protect_seq_bump() in src/vm/fork.c). Out of line: GCC's ThreadSanitizer build
 * refuses a fence that is inlined. */
static __attribute__((noinline)) bool write_protect_seq_changed(struct mm_struct *mm,
								unsigned int seq)
{
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&mm->write_protect_seq, memory_order_relaxed) != seq;
}

/*
 * The lockless walk and its pin accounting, into out (empty). Under modern rules a FOLL_PIN
 * walk that meets fork write-protecting the mm (mm->write_protect_seq odd when it starts, or
 * changed by the time its grabs are done) pins nothing: fork may have decided to share a page
 * just before this walk pinned it, so the pages are unpinned and the slow path, which waits for
 * fork's mmap lock, takes the range instead (Linux 5.11's gup_fast_fallback()).
 */
static unsigned long fast_walk(struct mm_struct *mm, unsigned long start, unsigned long end,
			       unsigned int gup_flags, struct gup_out *out)
{
	bool seq_checked = (gup_flags & FOLL_PIN) && rule_gup_fast_backs_off_from_fork();
	unsigned int seq = 0;
	unsigned long nr_pinned;

	if (seq_checked) {
		seq = atomic_load_explicit(&mm->write_protect_seq, memory_order_acquire);
		if (seq & 1)
			return 0;
	}
	gup_pgd_range(mm, start, end, gup_flags, out);
	nr_pinned = out->nr;
	if (nr_pinned && (gup_flags & FOLL_PIN)) {
		__mod_node_page_state(NR_FOLL_PIN_ACQUIRED, (long)nr_pinned);
		trace_event(TRACE_GUP_PIN, start, (end - start) >> PAGE_SHIFT, gup_flags, nr_pinned);
	}
	if (nr_pinned && seq_checked && write_protect_seq_changed(mm, seq)) {
		const struct gup_out_mark none = { 0, 0, 0 };

		gup_out_release(out, &none, gup_flags);
		return 0;
	}
	return nr_pinned;
}

/* The fast path into out (empty): nr_pages from start, the lockless walk then the slow path
 * for the rest, unless the runs array filled up. Pages taken, or the error. */
static long internal_get_user_pages_fast(unsigned long start, unsigned long nr_pages,
					 unsigned int gup_flags, struct gup_out *out)
{
	struct mm_struct *mm = current_mm();
	unsigned long len, end, nr_pinned;
	long ret;

	if (WARN_ON_ONCE(gup_flags & ~FAST_FLAGS))
		return -EINVAL;
	if (!nr_pages)
		return 0;
	start &= PAGE_MASK;
	len = nr_pages << PAGE_SHIFT;
	end = start + len;
	if (end <= start || (len >> PAGE_SHIFT) != nr_pages)
		return 0;
	if (end > TASK_SIZE)
		return -EFAULT;
	if (!mm)
		return (gup_flags & FOLL_FAST_ONLY) ? 0 : -ESRCH;
	if (gup_flags & FOLL_PIN)
		mm_set_has_pinned_flag(mm);
	nr_pinned = fast_walk(mm, start, end, gup_flags, out);
	if (__builtin_expect((gup_flags & (FOLL_PIN | FOLL_LONGTERM)) == (FOLL_PIN | FOLL_LONGTERM),
			     0) && nr_pinned > 0) {
		const struct gup_out_mark none = { 0, 0, 0 };

		gup_out_mark_longterm(out, &none);
	}
	if (nr_pinned == nr_pages || (gup_flags & FOLL_FAST_ONLY) || out->full)
		return (long)nr_pinned;

	/* The slow path for the rest. */
	start += nr_pinned << PAGE_SHIFT;
	mmap_read_lock(mm);
	ret = gup_out_longterm_locked(mm, start, nr_pages - nr_pinned, out, gup_flags | FOLL_TOUCH);
	mmap_read_unlock(mm);
	if (ret < 0)
		return nr_pinned ? (long)nr_pinned : ret;
	return (long)nr_pinned + ret;
}

int get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages)
{
	struct gup_out out = gup_out_pages(pages);

	if (WARN_ON_ONCE(gup_flags & (FOLL_PIN | FOLL_FAST_ONLY)) || WARN_ON_ONCE(!pages) ||
	    WARN_ON_ONCE(longterm_without_pin_refused(gup_flags)))
		return -EINVAL;
	return (int)internal_get_user_pages_fast(start, nr_pages > 0 ? (unsigned long)nr_pages : 0,
						 gup_flags | FOLL_GET, &out);
}

int pin_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages)
{
	struct gup_out out = gup_out_pages(pages);

	if (WARN_ON_ONCE(gup_flags & (FOLL_GET | FOLL_FAST_ONLY)) || WARN_ON_ONCE(!pages))
		return -EINVAL;
	return (int)internal_get_user_pages_fast(start, nr_pages > 0 ? (unsigned long)nr_pages : 0,
						 gup_flags | FOLL_PIN, &out);
}

int get_user_pages_fast_only(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages)
{
	struct gup_out out = gup_out_pages(pages);
	long ret;

	if (WARN_ON_ONCE(gup_flags & FOLL_PIN) || WARN_ON_ONCE(!pages) ||
	    WARN_ON_ONCE(longterm_without_pin_refused(gup_flags)))
		return rule_fast_only_returns_errors() ? -EINVAL : 0;
	ret = internal_get_user_pages_fast(start, nr_pages > 0 ? (unsigned long)nr_pages : 0,
					   gup_flags | FOLL_GET | FOLL_FAST_ONLY, &out);
	return ret < 0 && !rule_fast_only_returns_errors() ? 0 : (int)ret;
}

int pin_user_pages_fast_only(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages)
{
	struct gup_out out = gup_out_pages(pages);
	long ret;

	if (WARN_ON_ONCE(gup_flags & FOLL_GET) || WARN_ON_ONCE(!pages))
		return 0;
	ret = internal_get_user_pages_fast(start, nr_pages > 0 ? (unsigned long)nr_pages : 0,
					   gup_flags | FOLL_PIN | FOLL_FAST_ONLY, &out);
	return ret < 0 ? 0 : (int)ret;
}

/* Flags the runs calls take from their caller (<pinmm/gup.h>). */
#define RUNS_FAST_FLAGS (FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE)

long pin_user_pages_fast_runs(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
			      struct page_run *runs, unsigned long *nr_runs)
{
	struct gup_out out;
	long ret;

	if (!runs || !nr_runs || !*nr_runs || nr_pages > LONG_MAX || (gup_flags & ~RUNS_FAST_FLAGS))
		return -EINVAL;
	out = gup_out_runs(runs, *nr_runs);
	ret = internal_get_user_pages_fast(start, nr_pages, gup_flags | FOLL_PIN, &out);
	if (ret >= 0)
		*nr_runs = out.nr_runs;
	return ret;
}
