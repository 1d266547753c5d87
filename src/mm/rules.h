/* SPDX-License-Identifier: MIT */
/*
 * The rule set's decisions: one function per place where Linux's code changed after 5.7, named
 * after what it decides, answering for the running machine (pinmm_config.rules, resolved at
 * boot). Every layer above reads them through its internal.h; docs/rule-sets.md and the table
 * in docs/design.md list them with the Linux commit that changed each.
 *
 * The rule that is easy to break: a rule is a decision, never a second copy of a path. The code
 * that differs asks here at the one point where Linux's code differs and shares everything else
 * with the other rule set. The answers are constant while the machine runs (boot writes the
 * rule set before any thread can use the machine), so reading them needs no ordering.
 */
#ifndef PINMM_MM_RULES_H
#define PINMM_MM_RULES_H

#include <errno.h>
#include <stdbool.h>

#include "mm/internal.h"

static inline bool rules_modern(void)
{
	return machine.cfg.rules == PINMM_RULES_MODERN;
}

/* A write fault on an anonymous THP mapped more than once: 5.7 copies the whole THP (or its
 * 512 subpages when no THP can be had); 5.8 (commit 3917c80280c9, "thp: change CoW semantics
 * for anon-THP") splits the PMD and lets the PTE fault copy the one subpage written to. */
static inline bool rule_thp_cow_splits(void)
{
	return rules_modern();
}

/* FOLL_PIN of the shared zero page: 5.7 pins it like any page (the bias on its refcount,
 * nr_foll_pin_acquired); 6.5 (commit c8070b787519, "mm: Don't pin ZERO_PAGE in
 * pin_user_pages()") returns it without a pin, and unpinning it changes nothing. */
static inline bool rule_zero_page_pinnable(void)
{
	return !rules_modern();
}

/* The GUP entry points' argument checks (6.3, commit d64e2dbc33a1, "mm/gup: simplify the
 * external interface functions and consolidate invariants": is_valid_gup_args()). 5.7 lets
 * get_user_pages(), get_user_pages_fast() and get_user_pages_remote() take FOLL_LONGTERM with
 * references; 6.3 refuses FOLL_LONGTERM without FOLL_PIN (WARN, -EINVAL). */
static inline bool rule_longterm_needs_pin(void)
{
	return rules_modern();
}

/* What pin_user_pages(), pin_user_pages_remote() and pin_user_pages_unlocked() return for
 * arguments they refuse (with a WARN): 5.7 -EINVAL; since 6.3 (the same commit) 0, pages
 * pinned none. The get_* and *_fast entry points return -EINVAL under both. */
static inline long rule_pin_refusal_value(void)
{
	return rules_modern() ? 0 : -EINVAL;
}

/* fork of an mm that has pinned (MMF_HAS_PINNED), meeting an anonymous page of a private
 * writable mapping that may be pinned: 5.7 shares it like any other, so the parent's first
 * write copies the page away from its pin; 5.9 (commit 70e806e4e645, "mm: Do early cow for
 * pinned pages during fork() for ptes"; the PMD split in commit d042035eaf5f, "mm/thp: Split
 * huge pmds/puds if they're pinned when fork()"; hugetlb in 5.12, commit 4eae4efa2c29,
 * "hugetlb: do early cow when page pinned on src mm") copies it for the child at once. */
static inline bool rule_fork_copies_pinned_anon(void)
{
	return rules_modern();
}

/* Where a compound page keeps its exact pin count, and so which compound pages have one. 5.7
 * (the pin-tracking series): page[2].hpage_pinned_refcount, so only order > 1; an order-1 page
 * counts its pins with GUP_PIN_COUNTING_BIAS on the head's refcount, like an order-0 page.
 * 5.18 (commit 5232c63f46fd, "mm: Make compound_pincount always available") moved the count to
 * the first tail page, which every compound page has: order >= 1 counts exactly (+1 on the
 * refcount and +1 on the count per pin); 6.3 (commit 94688e8eb453, "mm: remove
 * folio_pincount_ptr() and head_compound_pincount()") made it the folio's _pincount, where
 * 6.18 keeps it on 64-bit. Order 0 keeps the bias under both. */
static inline bool rule_pincount_in_first_tail(void)
{
	return rules_modern();
}

/* Which pages a long-term pin may hold (folio_is_longterm_pinnable()): 5.7 moves only pages in
 * the CMA area out; 5.13 (commit d1e153fea2a8, "mm/gup: migrate pinned pages out of movable
 * zone") moves pages in ZONE_MOVABLE out too, and (commit 9afaf30f7a1a, "mm/gup: do not
 * migrate zero page") leaves the zero page where it is. */
static inline bool rule_longterm_pin_excludes_movable(void)
{
	return rules_modern();
}

/* How the slow path grabs a huge leaf (a PMD-mapped THP, a hugetlb page): 5.7 looks up and
 * grabs subpage by subpage, the leaf's page-table lock and one refcount (and pincount) update
 * per subpage; 6.5 (commit 57edfcfd3419, "mm/gup: accelerate thp gup even for "pages !=
 * NULL"") looks the leaf up once and takes the rest of it that lies in the range with one
 * more grab, on the reference the lookup already holds. The counts after the call are the
 * same. */
static inline bool rule_gup_grabs_whole_leaf(void)
{
	return rules_modern();
}

/* What a long-term GUP does when a page it must move cannot be migrated: 5.7 pins the range
 * once more without migrating (the caller gets the page where it is); 5.13 (commit
 * f0f4463837da, "mm/gup: return an error on migration failure") fails with -ENOMEM and leaves
 * nothing pinned. */
static inline bool rule_longterm_migration_failure_fails(void)
{
	return rules_modern();
}

/* What the page allocations of a long-term GUP avoid while it faults pages in: 5.7
 * (memalloc_nocma_save(), PF_MEMALLOC_NOCMA) the CMA area; 5.13 (commit 8e3560d963d2, "mm:
 * honor PF_MEMALLOC_PIN for all movable pages", after 1a08ae36cf8b renamed the flag
 * PF_MEMALLOC_PIN) every movable placement: current_gfp_context() clears __GFP_MOVABLE, so
 * neither ZONE_MOVABLE nor CMA is used. */
static inline bool rule_pin_context_avoids_movable(void)
{
	return rules_modern();
}

/* A writable long-term pin (FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM) of a shared, writable
 * mapping of a file whose dirtiness the file system tracks (vma_needs_dirty_tracking(): not
 * shmem, not hugetlbfs): 5.7 pins it; 6.5 refuses it with -EFAULT, in the slow path (commit
 * 8ac268436e6d, "mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings":
 * writable_file_mapping_allowed()) and the fast path, which leaves such pages to the slow path
 * (commit a6e79df92e4a, "... GUP-fast writing to file-backed mappings":
 * gup_fast_folio_allowed()). */
static inline bool rule_longterm_refuses_dirty_tracked_file(void)
{
	return rules_modern();
}

/* Which file-backed memory io_uring's buffer registration takes: 5.7 refuses every file
 * mapping but hugetlb's itself (-EOPNOTSUPP, shmem and memfd included); 6.5 (commit
 * 34ed8d0dcd69, "io_uring: rsrc: delegate VMA file-backed check to GUP") leaves it to GUP's
 * writable long-term pin, which refuses only what rule_longterm_refuses_dirty_tracked_file()
 * refuses (-EFAULT). */
static inline bool rule_io_uring_leaves_file_check_to_gup(void)
{
	return rules_modern();
}

/* What io_uring's buffer registration charges to RLIMIT_MEMLOCK (and mm->pinned_vm) for a
 * page of a compound page: 5.7 charges every page of each buffer, so a huge page under two
 * buffers, or a buffer pinning a THP's subpages, counts per subpage and per buffer; 5.10
 * (commit de2939388be5, "io_uring: improve registered buffer accounting for huge pages")
 * charges each compound page once, in full (page_size() >> PAGE_SHIFT), however many of its
 * subpages and buffers pin it (io_buffer_account_pin(), headpage_already_acct()). */
static inline bool rule_io_uring_acct_per_head_page(void)
{
	return rules_modern();
}

/* FOLL_LONGTERM in pin_user_pages_unlocked() and in pin_user_pages_remote() with a non-NULL
 * locked: 5.7 refuses both (WARN, -EINVAL), because a long-term pin had to check the VMAs
 * (fsdax) under a lock the call might drop; 6.3 ("mm/gup: remove the restriction on locked
 * with FOLL_LONGTERM", in the series with commit d64e2dbc33a1) takes them like any pin.
 * pinmm never drops the lock, so the long-term path is the one pin_user_pages() takes. */
static inline bool rule_longterm_pin_takes_locked(void)
{
	return rules_modern();
}

/* What get_user_pages_fast_only() returns for arguments it refuses and ranges it cannot walk
 * (beyond the user address space): 5.8's never-negative contract gives 0; 6.3 ("mm/gup: make
 * get_user_pages_fast_only() return the common return value", the series of commit
 * d64e2dbc33a1) gives the error get_user_pages_fast() would (-EINVAL, -EFAULT). */
static inline bool rule_fast_only_returns_errors(void)
{
	return rules_modern();
}

/* The exclusive marker on anonymous pages (PageAnonExclusive): 5.7 has none; 5.19 (commit
 * 6c287605fd56, "mm: remember exclusively mapped anonymous pages with PG_anon_exclusive") sets
 * it on every new anonymous mapping (fault, COW copy, THP, hugetlb, collapse) and clears it
 * when fork shares the page (page_try_dup_anon_rmap()). Asked wherever the bit is set or
 * cleared; under 5.7 rules no page ever carries it. */
static inline bool rule_tracks_anon_exclusive(void)
{
	return rules_modern();
}

/* When a write (or unshare) fault on a private anonymous page may reuse it rather than copy.
 * 5.7: when no other mapping maps it (reuse_swap_page(), mapcounts only: a pin or a GUP
 * reference does not stop the reuse, so a child's vmsplice() reference reads the parent's
 * later writes, CVE-2020-29374). 5.9 (commit 09854ba94c6a, "mm: do_wp_page() simplification")
 * reuses an order-0 page only when the mapping holds its only reference; 5.19 (commit
 * 6c287605fd56) reuses any PageAnonExclusive page at once and marks a page reused by the
 * refcount test exclusive. THP PMDs follow the same test (do_huge_pmd_wp_page()); hugetlb
 * keeps the mapcount test and only adds the marker (hugetlb_wp()). */
static inline bool rule_cow_reuses_exclusive_only(void)
{
	return rules_modern();
}

/* A read-only FOLL_PIN of an anonymous page that may be shared: 5.7 pins the page as mapped,
 * so a later COW fault of the owner leaves the pin on a page the owner no longer maps; 5.19
 * (commit a7f226604170, "mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared
 * anonymous page") first unshares it with a FAULT_FLAG_UNSHARE fault (gup_must_unshare()), and
 * pins the page only once it is exclusive. FOLL_GET is not affected. */
static inline bool rule_ro_pin_unshares(void)
{
	return rules_modern();
}

/* A read-only long-term pin (FOLL_PIN | FOLL_LONGTERM without FOLL_WRITE) of a page that is not
 * anonymous (the shared zero page, a page-cache page) in a private writable ("COW") mapping:
 * up to 6.1 the pin holds that page, and the owner's first write maps a new anonymous page, so
 * the pin never sees later writes; 6.2 (commit 84209e87c696, "mm/gup: reliable R/O long-term
 * pinning in COW mappings") unshares it first, as for a shared anonymous page: the fault copies
 * it into an exclusive anonymous page mapped read-only, and the pin takes that one. */
static inline bool rule_ro_longterm_pin_unshares_cow_mappings(void)
{
	return rules_modern();
}

/* When a FOLL_FORCE write may use a read-only PTE or PMD. 5.7 (can_follow_write_pte() after
 * the Dirty COW fix, commit 19be0eaffa3a): once the fault handler has COWed (FOLL_COW) and the
 * entry is dirty. 6.0 (commit 5535be309971, "mm/gup: fix FOLL_FORCE COW security issue and
 * remove FOLL_COW"): only in a private mapping that may be written but is not writable now,
 * and only when the entry maps an exclusive anonymous page; hugetlb entries never. */
static inline bool rule_foll_force_needs_exclusive(void)
{
	return rules_modern();
}

/* A GUP-fast pin racing with fork: fork decides to share an anonymous page because it is not
 * pinned, a lockless pin lands before fork write-protects the parent's entry, and the parent's
 * next write copies the page away from the pin. 5.7 has the race (and shares pinned pages
 * anyway); 5.11 (commit 57efa1fe5957, "mm/gup: prevent gup_fast from racing with COW during
 * fork") has fork bump mm->write_protect_seq around the copy and FOLL_PIN fast walks back off
 * to the slow path (which waits for fork's mmap lock) when it is odd or changed meanwhile. */
static inline bool rule_gup_fast_backs_off_from_fork(void)
{
	return rules_modern();
}

/* Which LRU list a new anonymous page starts on: 5.7 puts it on the active list
 * (lru_cache_add_active_or_unevictable()), so a burst of new anonymous memory pushes the
 * established anonymous working set towards reclaim; 5.9 (commit b518154e59aa, "mm/vmscan:
 * protect the workingset on anonymous LRU") starts it on the inactive list, where it must be
 * referenced again to be promoted (lru_cache_add_inactive_or_unevictable()). */
static inline bool rule_new_anon_page_active(void)
{
	return !rules_modern();
}

/* Swap-out of an anonymous page that may be pinned and is not in the swap cache yet: 5.7
 * gives it a slot like any other, so reclaim unmaps it and writes it while a device may still
 * write it, and the process's PTEs become swap entries, which fork shares without looking at
 * pins; 5.11 (commit feb889fb40fa, "mm: don't put pinned pages into the swap cache") keeps it
 * out of the swap cache, mapped (shrink_page_list(): page_maybe_dma_pinned() before
 * add_to_swap()). */
static inline bool rule_swap_cache_refuses_maybe_pinned(void)
{
	return rules_modern();
}

/* Reclaim of a page that may be pinned once try_to_unmap() has unmapped it: 5.7 goes on
 * (writes it, tries to free it); 6.3 (commit d824ec2a1546, "mm: do not reclaim private data
 * from pinned page") re-activates it instead (shrink_folio_list(): folio_maybe_dma_pinned()
 * after the unmap, "goto activate_locked"). */
static inline bool rule_reclaim_keeps_unmapped_pinned(void)
{
	return rules_modern();
}

#endif /* PINMM_MM_RULES_H */
