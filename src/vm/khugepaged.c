/* SPDX-License-Identifier: MIT */
/*
 * MADV_COLLAPSE: the synchronous collapse of anonymous memory mapped by PTEs into THPs, as
 * Linux 6.1+ does it (mm/khugepaged.c: madvise_collapse(), hpage_collapse_scan_pmd(),
 * collapse_huge_page()). Each PMD-aligned 2 MiB block of the range whose PTEs map anonymous
 * pages (small pages, subpages of a PTE-mapped THP, the zero page, or nothing) gets a new THP
 * holding a copy of them, mapped by a PMD leaf; the old pages lose this mapping and its
 * reference, and the old PTE table is emptied and deposited beside the PMD for a later split,
 * as Linux deposits it. There is no khugepaged thread: the daemon's scan is not built.
 *
 * A page is copied only if nobody but its mappings holds a reference (Linux's
 * is_refcount_suitable()): a pin, a FOLL_GET reference or a migration in progress makes the
 * block fail with -EAGAIN and stay as it was.
 *
 * The rule that is easy to break: the reference check means something only once no new
 * reference can appear. Under the mmap lock (write) no fault or slow GUP runs; under the
 * anon_vma lock (write) no rmap walk reaches these pages; but GUP-fast takes no lock. So the
 * PMD is cleared first, then tlb_remove_table_sync_one() waits for every lockless walk that may
 * have read the old PMD, and only then are the references counted (a walk that grabbed a page
 * in between shows in the count). A walk that starts later finds the PMD none and takes the
 * slow path, which waits for the mmap lock. Nothing is freed while a lockless walk can reach it.
 *
 * Locks as Linux takes them: the scan runs under the mmap lock for read; the THP is allocated
 * with no lock held (faults go on meanwhile); the collapse itself takes the mmap lock for
 * write and revalidates the VMA, which may have changed or gone (-EINVAL).
 *
 * Talks to: pgtable.c (tables, the grace period), rmap.c (mapcounts), huge_memory.c
 * (total_mapcount()), the page allocator, and mmap.c's do_madvise(), its only caller.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "lib/internal.h"

/* Linux's scan results, the ones this collapse can produce; madvise_collapse_errno() maps them
 * to errnos as Linux does. */
enum scan_result {
	SCAN_FAIL,
	SCAN_SUCCEED,
	SCAN_PMD_NULL,        /* no PMD table here, or the PMD maps something else */
	SCAN_PMD_NONE,        /* no PTE table: nothing was ever mapped here */
	SCAN_PMD_MAPPED,      /* already a THP on a PMD leaf */
	SCAN_PAGE_RO,         /* no PTE is writable */
	SCAN_PAGE_NULL,       /* a special mapping without a struct page */
	SCAN_PAGE_ANON,       /* a page that is not anonymous */
	SCAN_PAGE_LOCK,       /* a page is locked (or being migrated) */
	SCAN_PAGE_COUNT,      /* a page has references beyond its mappings: a pin, a GUP */
	SCAN_ALLOC_HUGE_PAGE_FAIL,
	SCAN_VMA_CHECK,       /* the VMA changed while the mmap lock was dropped */
};

static int madvise_collapse_errno(enum scan_result r)
{
	switch (r) {
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
		return -ENOMEM;
	case SCAN_PAGE_COUNT:
	case SCAN_PAGE_LOCK:
		return -EAGAIN; /* temporary: trying again may succeed */
	default:
		return -EINVAL;
	}
}

/* Results after which madvise_collapse() goes on with the next block (Linux's list). */
static bool scan_result_continues(enum scan_result r)
{
	return r == SCAN_PMD_NULL || r == SCAN_PAGE_RO || r == SCAN_PAGE_NULL ||
	       r == SCAN_PAGE_COUNT || r == SCAN_PAGE_LOCK;
}

int madvise_collapse_suitable(const struct vm_area_struct *vma)
{
	unsigned long hstart = (vma->vm_start + ~PMD_MASK) & PMD_MASK;

	/* Linux's thp_vma_allowable_order() without the sysfs setting: MADV_COLLAPSE works
	 * whatever the THP mode, but not where MADV_NOHUGEPAGE said no, not on hugetlb or
	 * special mappings, not in a VMA too small for one aligned block, and not before the
	 * VMA has had an anonymous page (no anon_vma). */
	if (!vma_is_anonymous(vma) || (vma->vm_flags & (VM_HUGETLB | VM_NOHUGEPAGE | VM_SHARED |
							 VM_PFNMAP | VM_IO | VM_MIXEDMAP)))
		return -EINVAL;
	if (hstart < vma->vm_start || hstart + PMD_SIZE > vma->vm_end || !vma->anon_vma)
		return -EINVAL;
	return 0;
}

static bool pte_none_or_zero(pte_t pte)
{
	return pte_none(pte) || (pte_present(pte) && is_zero_pfn(pte_pfn(pte)));
}

/* The pages that collapse_check_ptes() locked: the head of each distinct page. */
struct collapse_locked {
	unsigned int nr;
	struct page *heads[HPAGE_PMD_NR];
};

static bool collapse_seen(const struct collapse_locked *cl, const struct page *head)
{
	for (unsigned int i = cl->nr; i-- > 0;)
		if (cl->heads[i] == head)
			return true;
	return false;
}

static void collapse_unlock_all(struct collapse_locked *cl)
{
	while (cl->nr > 0)
		unlock_page(cl->heads[--cl->nr]);
}

/*
 * Check the 512 PTEs at ptes (haddr's block in vma) for a collapse: the PTE table's ptl held.
 * As a scan (cl NULL) a locked page fails; as the isolation step (cl set: PMD cleared and the
 * lockless walkers gone) each distinct page is trylocked and left locked in cl on success.
 * Either way every page's references must be its mappings' and nothing else's.
 */
static enum scan_result collapse_check_ptes(struct vm_area_struct *vma, unsigned long haddr,
					    pte_t *ptes, struct collapse_locked *cl)
{
	struct collapse_locked seen = {.nr = 0};
	struct collapse_locked *set = cl ? cl : &seen; /* the heads checked so far */
	enum scan_result result = SCAN_SUCCEED;
	bool writable = false;

	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = ptep_get(&ptes[i]);
		struct page *page, *head;

		if (pte_none_or_zero(pte))
			continue;
		/* A migration entry: Linux's swap-in step would wait for the migration; the
		 * page is as good as locked, so try again later. */
		if (!pte_present(pte)) {
			result = SCAN_PAGE_LOCK;
			break;
		}
		page = vm_normal_page(vma, haddr + i * PAGE_SIZE, pte);
		if (!page) {
			result = SCAN_PAGE_NULL;
			break;
		}
		head = compound_head(page);
		if (!PageAnon(head)) {
			result = SCAN_PAGE_ANON;
			break;
		}
		if (pte_write(pte))
			writable = true;
		if (collapse_seen(set, head))
			continue; /* another subpage of a THP already checked */
		if (cl ? !trylock_page(head) : PageLocked(head)) {
			result = SCAN_PAGE_LOCK;
			break;
		}
		set->heads[set->nr++] = head;
		/* Linux's is_refcount_suitable(): an anonymous page not in the swap cache has
		 * exactly one reference per mapping. A pin (1024 on a small page, 1 and page[2]'s
		 * count on a THP) or a GUP reference breaks the equality. */
		if (page_ref_count(head) != total_mapcount(head)) {
			result = SCAN_PAGE_COUNT;
			break;
		}
	}
	if (result == SCAN_SUCCEED && !writable)
		result = SCAN_PAGE_RO;
	if (result != SCAN_SUCCEED && cl)
		collapse_unlock_all(cl);
	return result;
}

/* Find haddr's PMD and say what it holds (Linux's find_pmd_or_thp_or_none()). */
static enum scan_result find_pmd_or_thp_or_none(struct mm_struct *mm, unsigned long haddr,
						pmd_t **pmdp, pmd_t *val)
{
	pmd_t *pmd = pmd_lookup(mm, haddr);
	pmd_t v;

	if (!pmd)
		return SCAN_PMD_NULL;
	v = pmd_read_settled(pmd); /* a split in progress (from an rmap walk) is waited for */
	*pmdp = pmd;
	*val = v;
	if (pmd_none(v))
		return SCAN_PMD_NONE;
	if (pmd_trans_huge(v))
		return SCAN_PMD_MAPPED;
	if (pmd_leaf(v) || !pmd_present(v))
		return SCAN_PMD_NULL;
	return SCAN_SUCCEED;
}

/* Linux's hpage_collapse_scan_pmd(): is the block worth a THP allocation? */
static enum scan_result collapse_scan_pmd(struct vm_area_struct *vma, unsigned long haddr)
{
	enum scan_result result;
	pthread_spinlock_t *ptl;
	pmd_t *pmd, v;
	pte_t *ptes;

	result = find_pmd_or_thp_or_none(vma->vm_mm, haddr, &pmd, &v);
	if (result != SCAN_SUCCEED)
		return result;
	ptes = pte_offset(v, haddr);
	ptl = entry_ptl(ptes);
	pthread_spin_lock(ptl);
	result = collapse_check_ptes(vma, haddr, ptes, NULL);
	pthread_spin_unlock(ptl);
	return result;
}

/* Copy the block into new, then empty the PTE table: each old page loses this mapping's
 * mapcount, and is put in old[] (*nr_old) for the caller to drop the mapping's reference once
 * the pages are unlocked; none and zero PTEs become zeroed subpages. The PTE table is detached
 * (the PMD is cleared), its ptl held, and the pages locked. Returns how many PTEs were none or
 * the zero page: the RSS the THP adds. */
static long collapse_copy_and_clear(struct vm_area_struct *vma, unsigned long haddr,
				    pte_t *ptes, struct page *new, struct page **old,
				    unsigned int *nr_old)
{
	long none_or_zero = 0;

	*nr_old = 0;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = ptep_get(&ptes[i]);
		struct page *page;

		if (pte_none_or_zero(pte)) {
			memset(page_address(new + i), 0, PAGE_SIZE);
			if (!pte_none(pte))
				ptep_get_and_clear(&ptes[i]);
			none_or_zero++;
			continue;
		}
		page = vm_normal_page(vma, haddr + i * PAGE_SIZE, pte);
		memcpy(page_address(new + i), page_address(page), PAGE_SIZE);
		ptep_get_and_clear(&ptes[i]);
		page_remove_rmap(page, false);
		old[(*nr_old)++] = page;
	}
	return none_or_zero;
}

/* Linux's hugepage_vma_revalidate(): after the mmap lock was dropped, the VMA at haddr (if
 * any) must still allow a collapse of the whole block. */
static struct vm_area_struct *hugepage_vma_revalidate(struct mm_struct *mm, unsigned long haddr)
{
	struct vm_area_struct *vma = vma_lookup(mm, haddr);

	if (!vma || madvise_collapse_suitable(vma) || haddr + PMD_SIZE > vma->vm_end)
		return NULL;
	return vma;
}

/* Linux's collapse_huge_page(): replace the PTE table of haddr's block by a new THP on a PMD
 * leaf. Called with the mmap lock held for read, which it drops to allocate the THP and
 * then takes for write, revalidating the VMA; it returns with the lock dropped. */
static enum scan_result collapse_huge_page(struct mm_struct *mm, unsigned long haddr)
{
	struct collapse_locked locked;
	struct page *old[HPAGE_PMD_NR];
	struct vm_area_struct *vma;
	pthread_spinlock_t *pmd_ptl, *pte_ptl;
	enum scan_result result;
	struct page *new, *table;
	unsigned int nr_old;
	long none_or_zero;
	pte_t *ptes;
	pmd_t *pmd, orig, v;

	/* The allocation may take long (reclaim, in Linux): nobody's faults wait for it. */
	mmap_read_unlock(mm);
	new = alloc_pages(GFP_TRANSHUGE, HPAGE_PMD_ORDER); /* fault injection: "alloc:pages" */
	if (!new) {
		count_vm_event(THP_COLLAPSE_ALLOC_FAILED);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	count_vm_event(THP_COLLAPSE_ALLOC);
	set_compound_page_dtor(new, TRANSHUGE_PAGE_DTOR);
	CDS_INIT_LIST_HEAD(&new[2].deferred_list);

	/* Faults and the slow GUP stay out from here to the new PMD. */
	mmap_write_lock(mm);
	vma = hugepage_vma_revalidate(mm, haddr);
	if (!vma) {
		mmap_write_unlock(mm);
		put_page(new);
		return SCAN_VMA_CHECK;
	}
	race_point("khugepaged:collapse_allocated");

	/* No rmap walk (try_to_unmap, page_mkclean, a split's unmap) may look at these PTEs
	 * while they change. */
	pthread_rwlock_wrlock(&vma->anon_vma->lock);
	/* Linux's check_pmd_still_valid(). */
	result = find_pmd_or_thp_or_none(mm, haddr, &pmd, &v);
	if (result != SCAN_SUCCEED)
		goto out_unlock;
	/* Linux's pmdp_collapse_flush(): detach the PTE table. */
	pmd_ptl = entry_ptl(pmd);
	pthread_spin_lock(pmd_ptl);
	orig = pmdp_get_and_clear(pmd);
	pthread_spin_unlock(pmd_ptl);
	race_point("khugepaged:collapse_pmd_cleared");
	/* A GUP-fast walk that read the PMD before it was cleared may still be in the table,
	 * about to grab a page: wait for it, so that its reference is in the counts below. */
	tlb_remove_table_sync_one();

	ptes = pte_offset(orig, haddr);
	pte_ptl = entry_ptl(ptes);
	pthread_spin_lock(pte_ptl);
	locked.nr = 0;
	result = collapse_check_ptes(vma, haddr, ptes, &locked);
	if (result != SCAN_SUCCEED) {
		pthread_spin_unlock(pte_ptl);
		pthread_spin_lock(pmd_ptl);
		set_pmd(pmd, orig); /* the table as it was: nothing changed */
		pthread_spin_unlock(pmd_ptl);
		goto out_unlock;
	}
	none_or_zero = collapse_copy_and_clear(vma, haddr, ptes, new, old, &nr_old);
	pthread_spin_unlock(pte_ptl);

	/* The emptied table is deposited for a later split of the new PMD, as Linux does. */
	table = pfn_to_page((orig.pmd & PTE_PFN_MASK) >> PAGE_SHIFT);
	pthread_spin_lock(pmd_ptl);
	page_add_new_anon_rmap(new, vma, haddr, true);
	lru_cache_add_inactive_or_unevictable(new, vma);
	pgtable_trans_huge_deposit(pmd, table);
	add_mm_counter(mm, MM_ANONPAGES, none_or_zero);
	/* Publishes the copy: a walker that sees the leaf sees the THP's contents. */
	v = pmd_mkdirty(pmd_mkhuge(pfn_pmd(page_to_pfn(new), vm_get_page_prot(vma))));
	set_pmd(pmd, (vma->vm_flags & VM_WRITE) ? pmd_mkwrite(v) : v);
	pthread_spin_unlock(pmd_ptl);
	pthread_rwlock_unlock(&vma->anon_vma->lock);
	mmap_write_unlock(mm);
	collapse_unlock_all(&locked);
	for (unsigned int i = 0; i < nr_old; i++)
		put_page(old[i]); /* the old mapping's reference */
	return SCAN_SUCCEED;

out_unlock:
	pthread_rwlock_unlock(&vma->anon_vma->lock);
	mmap_write_unlock(mm);
	put_page(new);
	return result;
}

int madvise_collapse(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long start,
		     unsigned long end)
{
	unsigned long hstart = (start + ~PMD_MASK) & PMD_MASK;
	unsigned long hend = end & PMD_MASK;
	enum scan_result last_fail = SCAN_FAIL;
	unsigned long thps = 0, blocks = hend > hstart ? (hend - hstart) >> PMD_SHIFT : 0;
	bool locked = true;

	mmap_assert_locked(mm);
	for (unsigned long addr = hstart; addr < hend; addr += PMD_SIZE) {
		enum scan_result result;

		if (!locked) {
			/* The lock was dropped: the VMA may have changed or gone. */
			mmap_read_lock(mm);
			locked = true;
			vma = hugepage_vma_revalidate(mm, addr);
			if (!vma) {
				last_fail = SCAN_VMA_CHECK;
				break;
			}
			if ((vma->vm_end & PMD_MASK) < hend)
				hend = vma->vm_end & PMD_MASK;
		}
		result = collapse_scan_pmd(vma, addr);
		if (result == SCAN_SUCCEED) {
			result = collapse_huge_page(mm, addr);
			locked = false;
		}
		if (result == SCAN_SUCCEED || result == SCAN_PMD_MAPPED) {
			thps++;
			continue;
		}
		last_fail = result;
		if (!scan_result_continues(result))
			break;
	}
	if (!locked)
		mmap_read_lock(mm);
	return thps == blocks ? 0 : madvise_collapse_errno(last_fail);
}
