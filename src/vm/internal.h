/* SPDX-License-Identifier: MIT */
/*
 * What the files of src/vm share: page-table allocation and the range walker (pgtable.c), the
 * VMA set (vma.c), the anon_vma (rmap.c), zapping and copying ranges (memory.c), THP
 * (huge_memory.c) and hugetlb mappings (hugetlb_fault.c).
 *
 * Locks, outermost first (Linux's order): mm->mmap_lock; the page lock; mapping->i_mmap_rwsem /
 * anon_vma->lock; mm->page_table_lock (PGD and PUD entries, and 1 GiB hugetlb entries); the ptl
 * of the PMD table page (PMD entries); the ptl of the PTE table page (PTE entries).
 */
#ifndef PINMM_VM_INTERNAL_H
#define PINMM_VM_INTERNAL_H

#include <pinmm/fault.h>
#include <pinmm/migrate.h>
#include <pinmm/mman.h>
#include <pinmm/pgtable.h>
#include <pinmm/rmap.h>
#include <pinmm/vmscan.h>

#include "fs/internal.h"
#include "vm/pgtable.h"

/* mm.c: 0 if mm is a live mm of the running machine; otherwise WARN and -ESRCH, having read
 * nothing of a freed mm. For entry points that take an mm from their caller. */
int mm_check(struct mm_struct *mm);

/* Keep mm's struct (not its address space) alive: mm_count, as Linux's mmgrab()/mmdrop(). The
 * caller holds a reference (mm_users or mm_count) when it grabs. */
void mmgrab(struct mm_struct *mm);
void mmdrop(struct mm_struct *mm);

/* pinned_vm charges (src/vm/util.c), for the long-term pinners above: charge pages against mm's
 * RLIMIT_MEMLOCK (none with bypass_rlim, i.e. CAP_IPC_LOCK when the charger was set up) or
 * return -ENOMEM, charging nothing; mmap lock held (read is enough). Uncharge needs no lock.
 * mm_memlock_bypass(): whether mm has CAP_IPC_LOCK now. */
int mm_pinned_vm_charge(struct mm_struct *mm, unsigned long pages, bool bypass_rlim);
void mm_pinned_vm_uncharge(struct mm_struct *mm, unsigned long pages);
bool mm_memlock_bypass(const struct mm_struct *mm);

struct anon_vma {
	atomic_int refcount;
	pthread_rwlock_t lock;   /* the list below */
	struct cds_list_head vmas; /* vm_area_struct.anon_vma_node */
};

/* ---- page tables (pgtable.c) ---- */
/* The struct page that a present PTE maps, or NULL for a special mapping (the zero page,
 * PFN maps) that has none to reference. */
struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte);


static inline pgd_t *pgd_offset(struct mm_struct *mm, unsigned long addr)
{
	return (pgd_t *)page_address(mm->pgd_page) + pgd_index(addr);
}

static inline void *table_of(unsigned long entry)
{
	return page_address(pfn_to_page((entry & PTE_PFN_MASK) >> PAGE_SHIFT));
}

static inline pud_t *pud_offset(pgd_t pgd, unsigned long addr)
{
	return (pud_t *)table_of(pgd.pgd) + pud_index(addr);
}

static inline pmd_t *pmd_offset(pud_t pud, unsigned long addr)
{
	return (pmd_t *)table_of(pud.pud) + pmd_index(addr);
}

static inline pte_t *pte_offset(pmd_t pmd, unsigned long addr)
{
	return (pte_t *)table_of(pmd.pmd) + pte_index(addr);
}

/* The lock of the table page an entry lives in. */
static inline pthread_spinlock_t *entry_ptl(const void *entry)
{
	return &virt_to_page(entry)->ptl;
}

struct page *pgtable_alloc(struct mm_struct *mm);
void pgtable_free(struct mm_struct *mm, struct page *table);

/* Walk down to addr's entry at each level, allocating missing tables. NULL when a table
 * cannot be allocated, or when the level above is a huge leaf (the caller looks there). */
pud_t *pud_alloc(struct mm_struct *mm, unsigned long addr);
pmd_t *pmd_alloc(struct mm_struct *mm, unsigned long addr);
pte_t *pte_alloc(struct mm_struct *mm, pmd_t *pmd, unsigned long addr);

/* Without allocating: the entry for addr at that level, or NULL if a level above is empty or
 * a leaf. */
pud_t *pud_lookup(struct mm_struct *mm, unsigned long addr);
pmd_t *pmd_lookup(struct mm_struct *mm, unsigned long addr);
/* The PMD's value once any split in progress is over: a PMD that pmdp_invalidate() left
 * not-present is waited for (under its ptl) and read again. Any other value is returned as
 * read, without the lock. */
pmd_t pmd_read_settled(pmd_t *pmd);
/* The PTE for addr with its table's lock taken (*ptl set; the caller unlocks), or NULL when
 * there is no PTE table there (nothing mapped, or a huge leaf). */
pte_t *pte_lookup_lock(struct mm_struct *mm, unsigned long addr, pthread_spinlock_t **ptl);

/* Deposit / withdraw a preallocated PTE table for splitting the PMD leaf at pmd later. PMD
 * table's ptl held. */
void pgtable_trans_huge_deposit(pmd_t *pmd, struct page *table);
struct page *pgtable_trans_huge_withdraw(pmd_t *pmd);

/* The range walker: one way to visit every mapped entry of [start, end) in one VMA.
 * A callback returns 0 to go on or a negative errno to stop. pmd_leaf is called with the PMD
 * table's ptl held and may split the leaf (then return WALK_DESCEND to visit its new PTEs);
 * pte_entry is called for present (or PROT_NONE) PTEs with the PTE table's ptl held. */
#define WALK_DESCEND 1
struct mm_walk_ops {
	int (*pud_leaf)(pud_t *pud, unsigned long addr, unsigned long end, void *arg);
	int (*pmd_leaf)(pmd_t *pmd, unsigned long addr, unsigned long end, void *arg);
	int (*pte_entry)(pte_t *pte, unsigned long addr, void *arg);
};
int walk_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		    const struct mm_walk_ops *ops, void *arg);

/* Free the page tables of [start, end) that no VMA of mm covers any more: the caller has
 * unmapped them. Tables are freed after an RCU grace period (lockless walkers). mmap lock held
 * for write. */
void free_pgtables(struct mm_struct *mm, unsigned long start, unsigned long end);
/* Free every table of mm at once (exit: nobody can walk it). */
void free_all_pgtables(struct mm_struct *mm);

/* The lockless walker's read-side section: tables it reaches stay allocated until it ends.
 * The calling thread must be registered with RCU (kthread_use_mm() does it). */
void pgtable_walk_begin(void);
void pgtable_walk_end(void);
/* Linux's tlb_remove_table_sync_one(): wait until every lockless walk that may have read an
 * entry before the caller changed it has ended (an RCU grace period; Linux's IPI to the CPUs in
 * GUP-fast). After it, no lockless walker is inside a table the caller unlinked. Not inside a
 * walk; may sleep. */
void tlb_remove_table_sync_one(void);

/* ---- mm.c ---- */
/* Call fn on every mm that has users, under the lock of the list of mms (fn may take an mm's
 * mmap lock, never create or drop an mm). */
void for_each_mm(void (*fn)(struct mm_struct *mm, void *arg), void *arg);

/* ---- VMAs (vma.c) ---- */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);
int vma_insert(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_remove(struct mm_struct *mm, struct vm_area_struct *vma);
/* Split vma at addr; the new VMA covers [addr, vm_end). Returns it, ERR_PTR(-ENOMEM), or
 * ERR_PTR(-EINVAL) for a hugetlb VMA and an addr not aligned to its page size (Linux's
 * hugetlb_vm_op_split()). */
struct vm_area_struct *split_vma(struct mm_struct *mm, struct vm_area_struct *vma,
				 unsigned long addr);
/* Merge vma with its neighbours where Linux would (same flags, file and offset, anon_vma). */
void vma_try_merge(struct mm_struct *mm, struct vm_area_struct *vma);
/* Hold vma's i_mmap_rwsem and anon_vma lock for write around a change of its bounds, offset
 * or flags (mmap lock held for write); vma_set_flags() changes vm_flags so. */
void vma_rmap_lock(struct vm_area_struct *vma);
void vma_rmap_unlock(struct vm_area_struct *vma);
void vma_set_flags(struct vm_area_struct *vma, unsigned long vm_flags);
/* Link a VMA into its file's i_mmap and its anon_vma. */
void vma_link_rmap(struct vm_area_struct *vma);
void vma_unlink_rmap(struct vm_area_struct *vma);
/* The page protection a VMA's flags give its PTEs. */
pgprot_t vm_get_page_prot(const struct vm_area_struct *vma);
bool vma_wants_writenotify(const struct vm_area_struct *vma);
bool vma_is_anonymous(const struct vm_area_struct *vma);

static inline pgoff_t linear_page_index(const struct vm_area_struct *vma, unsigned long addr)
{
	return ((addr - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
}

static inline bool is_cow_mapping(unsigned long flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}

/* Linux's page_needs_cow_for_dma() (5.12 on; 5.9 had the test in copy_present_page()): must
 * fork copy this page of src_vma for the child at once because a device may be writing it? A
 * private writable mapping, an mm that has pinned (MMF_HAS_PINNED), a page that may be pinned.
 * Under the source's ptl (PTE, PMD or hugetlb entry) with its mmap lock held for write. */
static inline bool page_needs_cow_for_dma(struct vm_area_struct *vma, struct page *page)
{
	if (!is_cow_mapping(vma->vm_flags))
		return false;
	if (!(atomic_load_explicit(&vma->vm_mm->flags, memory_order_relaxed) &
	      (1UL << MMF_HAS_PINNED)))
		return false;
	return page_maybe_dma_pinned(page);
}

/* ---- mmap.c, for mremap.c (mmap lock held for write) ---- */
/* The highest free range of len bytes aligned to align below TASK_SIZE, or 0. */
unsigned long find_gap(struct mm_struct *mm, unsigned long len, unsigned long align);
/* -EINVAL if a hugetlb VMA would be cut in [start, end) off its page size, else 0. */
int check_huge_edges(struct mm_struct *mm, unsigned long start, unsigned long end);
/* Split VMAs so that [start, end) begins and ends on VMA boundaries: 0 or -ENOMEM (check the
 * hugetlb edges first: check_huge_edges()). */
int split_edges(struct mm_struct *mm, unsigned long start, unsigned long end);
/* munmap(2) of [start, end) (page aligned): 0, -EINVAL (a hugetlb edge), -ENOMEM. */
int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long end);

/* ---- rmap.c ---- */
int anon_vma_prepare(struct vm_area_struct *vma);
/* One more PTE mapping of an anonymous page whose mapping is already set (migration). */
void page_add_anon_rmap(struct page *page);
/* fork: duplicate the rmap of an anonymous page (a PMD or hugetlb mapping of the head when
 * compound) that src_vma maps, for the child's copy of the entry. 0 once done (the caller then
 * takes the child's reference); -EBUSY when the rule set says the page may be pinned and must
 * be copied for the child instead (rule_fork_copies_pinned_anon(), page_needs_cow_for_dma()),
 * and nothing is changed. Source entry's ptl held, mmap lock of the source held for write. */
int page_try_dup_anon_rmap(struct page *page, bool compound, struct vm_area_struct *src_vma);
/* Hold / release a mapped anonymous page's anon_vma beyond the life of its VMAs. */
struct anon_vma *page_get_anon_vma(struct page *page);
void page_put_anon_vma(struct anon_vma *av);
void rmap_walk_anon_vma(struct anon_vma *av, struct page *page,
			bool (*fn)(struct page *page, struct vm_area_struct *vma,
				   unsigned long address, void *arg),
			void *arg);
void anon_vma_link(struct vm_area_struct *vma, struct anon_vma *av);
void anon_vma_unlink(struct vm_area_struct *vma);
/* The same with av->lock held for write by the caller; __anon_vma_unlink() leaves vma's
 * reference on av for the caller to drop (page_put_anon_vma()) after unlocking. */
void __anon_vma_link(struct vm_area_struct *vma, struct anon_vma *av);
void __anon_vma_unlink(struct vm_area_struct *vma);

/* ---- memory.c / huge_memory.c / hugetlb_fault.c ---- */
/* Unmap every page of [start, end) in vma and drop the references. mmap lock held. */
void zap_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end);
/* fork: copy vma's entries from its mm into dst_vma's (new) mm. 0 or -ENOMEM. */
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);
/* Change the protection of the present entries of [start, end) to the VMA's (new) flags. */
void change_protection(struct vm_area_struct *vma, unsigned long start, unsigned long end);
void add_mm_counter(struct mm_struct *mm, int member, long value);
int mm_counter(const struct page *page);

vm_fault_t do_huge_pmd_anonymous_page(struct vm_area_struct *vma, pmd_t *pmd,
				      unsigned long address);
vm_fault_t do_huge_pmd_wp_page(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address,
			       unsigned int flags);
bool transparent_hugepage_enabled(const struct vm_area_struct *vma, unsigned long haddr);
/* Replace the PMD leaf at pmd (haddr) by a table of 512 PTEs mapping the same subpages. PMD
 * table's ptl held. */
void split_huge_pmd_locked(struct vm_area_struct *vma, pmd_t *pmd, unsigned long haddr);
/* Split the PMD leaf covering addr in vma, if there is one (takes the ptl). */
void split_huge_pmd_address(struct vm_area_struct *vma, unsigned long addr);
void zap_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd);
/* Linux's total_mapcount(): every mapping of the page (head) or of any of its subpages, PMD and
 * PTE alike; each holds one reference on the head. */
int total_mapcount(struct page *head);
/* fork: copy the THP leaf at src (src's PMD ptl held) into dst, the child's empty PMD entry
 * for addr, depositing *deposit (a PTE table the caller allocated with no lock held; set to
 * NULL once used). 0, or -EAGAIN: the THP may be pinned (modern rules), src is split now and
 * its PTEs are to be copied one by one; *deposit is left to the caller. */
int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma, pmd_t *dst,
		  pmd_t *src, unsigned long addr, struct page **deposit);

/* dax_fault.c */
bool vma_is_dax(const struct vm_area_struct *vma);
vm_fault_t dax_fault(struct vm_area_struct *vma, unsigned long addr, unsigned int flags);

vm_fault_t hugetlb_fault(struct vm_area_struct *vma, unsigned long address, unsigned int flags);
/* hugetlb reservations (hugetlb_fault.c): reserve a new private hugetlb VMA's pages at mmap
 * (0, or -ENOMEM when the pool cannot promise them; nothing for VM_NORESERVE); a copy of a
 * VMA shares its resv_map (open); fork's copy holds none (reset); close returns the
 * reservations of the VMA's range never consumed. */
struct resv_map;
int hugetlb_reserve_pages(struct vm_area_struct *vma);
void hugetlb_vm_op_open(struct vm_area_struct *vma);
void reset_vma_resv_huge_pages(struct vm_area_struct *vma);
void hugetlb_vm_op_close(struct vm_area_struct *vma);
/* A hugetlb file's reservations (hugetlbfs.c): reserve [from, to) of map for the file (0 or
 * -ENOMEM), and give back what remains reserved when the file's freed pages are gone. */
int hugetlb_reserve_file_pages(struct resv_map *map, struct hstate *h, long from, long to);
void hugetlb_unreserve_file_pages(struct resv_map *map, struct hstate *h, long freed);
/* Linux's alloc_huge_page(): a pool page for vma at addr, taking the reservation that waits
 * for it if any (PG_private set: see dequeue_huge_page_reserve()); avoid_reserve: only an
 * unreserved page. NULL when there is none. Fault mutex held. */
struct page *alloc_huge_page(struct vm_area_struct *vma, unsigned long addr, bool avoid_reserve);
void clear_huge_page(struct page *head, unsigned long size);
/* The hugetlb leaf mapping page in vma: dirty, and writable if the VMA is, for a write; a
 * writable shared mapping's is writable at once. */
unsigned long make_huge_entry(struct page *page, struct vm_area_struct *vma, bool write);
struct resv_map;
struct resv_map *resv_map_alloc(void);
void resv_map_put(struct resv_map *map);
/* Pages of [from, to) in the map; add [from, to) and return how many pages were new. */
long region_count(struct resv_map *map, long from, long to);
long region_add(struct resv_map *map, long from, long to);
struct hstate *hstate_vma(const struct vm_area_struct *vma);
/* The entry (a pmd_t or pud_t, as an unsigned long slot) mapping addr in a hugetlb VMA, or
 * NULL; with alloc, allocates the tables above it. */
unsigned long *huge_pte_offset(struct vm_area_struct *vma, unsigned long addr, bool alloc);
pthread_spinlock_t *huge_pte_lockptr(struct vm_area_struct *vma, unsigned long *entry);

/* ---- khugepaged.c ---- */
/* MADV_COLLAPSE on [start, end) of vma, a VMA of mm (do_madvise() has checked it with
 * madvise_collapse_suitable()). Called with mm's mmap lock held for read; the lock may be
 * dropped and taken again in between (vma may then be gone: the caller looks VMAs up again by
 * address). Returns 0 or the errno of <pinmm/mman.h>. */
int madvise_collapse(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long start,
		     unsigned long end);
/* Can MADV_COLLAPSE act on vma at all? 0 or -EINVAL. */
int madvise_collapse_suitable(const struct vm_area_struct *vma);

/* ---- migrate.c ---- */
/* Move page, found by a long-term GUP where a long-term pin may not stay, to a new frame from
 * gfp. The caller holds one reference on it (a head page), which this consumes whatever the
 * outcome. An order-0 anonymous or page-cache page is migrated: 0, the old frame freed. An
 * anonymous THP is split: 0, and a second pass finds its subpages, order-0 pages it can
 * migrate. Errors: -EBUSY (a kind migration does not handle: hugetlb, device or other
 * compound pages; a THP split refused because of an extra reference), -EAGAIN (another
 * reference, e.g. a pin, still there after 10 tries; a page truncated or under writeback),
 * -ENOMEM (no frame). pgmigrate_success / pgmigrate_fail count once per page. */
int migrate_unpinnable_page(struct page *page, gfp_t gfp);

/* Where migrate_page_to() takes the new frame (Linux's new_page_t / free_page_t): alloc
 * returns an order-0 page with one reference (NULL: none); release takes back one that was
 * not used (NULL: put_page()). */
struct migrate_target {
	struct page *(*alloc)(struct page *old, void *arg);
	void (*release)(struct page *new, void *arg);
	void *arg;
};

/* Is head (a page the caller holds a reference on) mapped? The acquire pairs with the release
 * of page_add_new_anon_rmap() (and the rmap's read-modify-writes): once it is seen mapped, what
 * was set up before the mapping (mapping, index, a compound destructor) may be read. For
 * physical-memory scanners (compaction, offlining), which meet pages being set up. */
static inline bool page_mapped_acquire(struct page *head)
{
	if (PageHead(head)) {
		/* A PMD mapping, or a PTE mapping of any subpage (a THP partly unmapped keeps
		 * its other subpages mapped after its head's PTE is gone). */
		if (atomic_load_explicit(&head[1].compound_mapcount, memory_order_acquire) >= 0)
			return true;
		for (unsigned long i = 0; i < compound_nr(head); i++)
			if (atomic_load_explicit(&head[i]._mapcount, memory_order_acquire) >= 0)
				return true;
		return false;
	}
	return atomic_load_explicit(&head->_mapcount, memory_order_acquire) >= 0;
}

/* migrate_page_to() split an anonymous THP: its subpages are order-0 pages to migrate next. */
#define MIGRATE_SPLIT 1

/* migrate_unpinnable_page() with the new frame from t, in mode (MIGRATE_ASYNC does not wait
 * for the page lock: -EBUSY, reason locked). The caller's reference on page (a head) is
 * consumed. Returns 0 (moved), MIGRATE_SPLIT (a THP split) or a negative errno as
 * migrate_unpinnable_page(); *why (when why is not NULL) says why it failed, or
 * MIGRATE_FAIL_NONE. */
int migrate_page_to(struct page *page, const struct migrate_target *t, enum migrate_mode mode,
		    enum pinmm_migrate_fail *why);
void migration_entry_wait(pte_t entry);
/* Replace every PTE of av's VMAs that maps page by a migration entry, dropping the mapping's
 * reference and mapcount (page locked, av held). Returns how many were replaced. */
unsigned long set_migration_ptes(struct anon_vma *av, struct page *page);
/* Turn every migration entry for old back into a present PTE mapping new, which gains a
 * reference and a mapcount for each (old may be new). Returns how many. */
unsigned long remove_migration_ptes(struct anon_vma *av, struct page *old, struct page *new);

/* ---- swap (swap_state.c, memory.c) ---- */
/* MADV_PAGEOUT (pageout) or MADV_COLD on [start, end) of mm, mmap lock held for read: 0, or
 * -EINVAL (a VM_LOCKED, hugetlb or PFN-map VMA in the range: Linux's can_madv_lru_vma(); the
 * VMAs before it were handled), -ENOMEM (no memory for the list of pages). */
int madvise_pageout(struct mm_struct *mm, unsigned long start, unsigned long end, bool pageout);
/* Reclaim's anonymous step for one page, and its end: see swap_state.c. */
int pageout_anon(struct page *page);
/* pageout_anon() whose write joins plug's request (src/vm/swap.h): the caller flushes the plug
 * before pageout_anon_finish(). */
struct swap_plug;
int pageout_anon_plugged(struct page *page, struct swap_plug *plug);
bool pageout_anon_finish(struct page *page);
/* A fault on the swap entry orig at pte (Linux's do_swap_page()). */
vm_fault_t do_swap_page(struct vm_area_struct *vma, pte_t *pte, unsigned long addr, pte_t orig,
			unsigned int flags);
/* Make the first mapping of a page back from swap (mapcount -1): its anon_vma and index from
 * vma (the one it had may be gone), exclusive if the rule set tracks it and exclusive says
 * so. A page still mapped elsewhere just gains a mapcount. */
void page_add_swapin_anon_rmap(struct page *page, struct vm_area_struct *vma, unsigned long addr,
			       bool exclusive);

/* uaccess / populate: fault in addr for the access (FAULT_FLAG_WRITE for writes) unless the
 * entry already allows it. Returns 0 or a negative errno. mmap lock held. */
int fixup_user_fault(struct mm_struct *mm, unsigned long address, unsigned int fault_flags);

#endif /* PINMM_VM_INTERNAL_H */
