/* SPDX-License-Identifier: MIT */
/*
 * Page-table pages: allocating them (zeroed frames from the page allocator, PageTable, their
 * own ptl), linking them under the right lock, the one range walker, and freeing tables that
 * no VMA covers any more.
 *
 * The rule that is easy to break: a table that has been unlinked may still be read by a
 * lockless walker that loaded the entry pointing at it before it was cleared; it is freed only
 * after an RCU grace period. Tables are linked with a release store after being zeroed, so
 * a walker that sees the entry sees an empty table, never garbage.
 */
#include <stdlib.h>
#include <urcu.h>

#include "internal.h"

#define PG_TABLE_TYPE ((int)(~0u & ~PG_table))

/* liburcu is not built with ThreadSanitizer, so TSan cannot see that call_rcu() hands a batch
 * to the callback thread; tell it (release before the handoff, acquire in the callback). */
#if defined(__SANITIZE_THREAD__)
#define PINMM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PINMM_TSAN 1
#endif
#endif
#ifdef PINMM_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_handoff_release(p) __tsan_release(p)
#define tsan_handoff_acquire(p) __tsan_acquire(p)
#else
#define tsan_handoff_release(p) ((void)(p))
#define tsan_handoff_acquire(p) ((void)(p))
#endif

struct page *pgtable_alloc(struct mm_struct *mm)
{
	struct page *page;

	if (should_fail("alloc:pgtable"))
		return NULL;
	page = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);

	if (!page)
		return NULL;
	atomic_store_explicit(&page->_mapcount, PG_TABLE_TYPE, memory_order_relaxed);
	page->pt_mm = mm;
	pthread_spin_init(&page->ptl, PTHREAD_PROCESS_PRIVATE);
	mod_zone_page_state(page_zone(page), NR_PAGETABLE, 1);
	atomic_fetch_add(&mm->pgtables_bytes, (long)PAGE_SIZE);
	return page;
}

/* Turn a table page back into a plain page and free it now. */
static void pgtable_release(struct page *page)
{
	pthread_spin_destroy(&page->ptl);
	page->pt_mm = NULL;
	page->pmd_huge_pte = NULL;
	atomic_store_explicit(&page->_mapcount, -1, memory_order_relaxed);
	mod_zone_page_state(page_zone(page), NR_PAGETABLE, -1);
	__free_page(page);
}

void pgtable_free(struct mm_struct *mm, struct page *table)
{
	atomic_fetch_sub(&mm->pgtables_bytes, (long)PAGE_SIZE);
	pgtable_release(table);
}

/* ---- RCU-deferred freeing of unlinked tables ---- */

/* TSan cannot see an RCU grace period either: every lockless walk releases this token as it
 * leaves its read-side section, and every deferred free acquires it, which is the ordering the
 * grace period provides. */
static char walk_token;

void pgtable_walk_begin(void)
{
	rcu_read_lock();
}

void pgtable_walk_end(void)
{
	tsan_handoff_release(&walk_token);
	rcu_read_unlock();
}

void tlb_remove_table_sync_one(void)
{
	synchronize_rcu();
	tsan_handoff_acquire(&walk_token);
}

struct pgtable_batch {
	struct rcu_head rcu;
	unsigned int nr;
	struct page *tables[62];
};

static void pgtable_batch_free(struct rcu_head *head)
{
	struct pgtable_batch *b = caa_container_of(head, struct pgtable_batch, rcu);

	tsan_handoff_acquire(b);
	tsan_handoff_acquire(&walk_token);
	for (unsigned int i = 0; i < b->nr; i++)
		pgtable_release(b->tables[i]);
	free(b);
}

/* Hand a full (or last) batch to RCU: its tables are freed after a grace period. */
static void pgtable_batch_flush(struct pgtable_batch *b)
{
	tsan_handoff_release(b);
	call_rcu(&b->rcu, pgtable_batch_free);
}

/* Queue table for freeing after a grace period; without memory for a batch, wait for one
 * grace period right here instead. */
static void pgtable_free_deferred(struct mm_struct *mm, struct pgtable_batch **bp,
				  struct page *table)
{
	atomic_fetch_sub(&mm->pgtables_bytes, (long)PAGE_SIZE);
	if (!*bp || (*bp)->nr == sizeof((*bp)->tables) / sizeof((*bp)->tables[0])) {
		if (*bp)
			pgtable_batch_flush(*bp);
		*bp = kzalloc(sizeof(**bp));
		if (!*bp) {
			synchronize_rcu();
			pgtable_release(table);
			return;
		}
	}
	(*bp)->tables[(*bp)->nr++] = table;
}

/* ---- walking down, allocating ---- */

/* Fill an empty upper entry with a new table under lock; true if the entry is now a table
 * (ours or one a racing thread installed). */
static bool entry_populate(struct mm_struct *mm, void *entry, pthread_spinlock_t *lock)
{
	struct page *table;

	if (pt_entry_load_acquire(entry))
		return true;
	table = pgtable_alloc(mm);
	if (!table)
		return false;
	pthread_spin_lock(lock);
	if (!pt_entry_load_acquire(entry)) {
		pt_entry_store_release(entry, (page_to_pfn(table) << PAGE_SHIFT) | _PAGE_TABLE);
		table = NULL;
	}
	pthread_spin_unlock(lock);
	if (table)
		pgtable_free(mm, table);
	return true;
}

pud_t *pud_alloc(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);

	if (!entry_populate(mm, pgd, &mm->page_table_lock))
		return NULL;
	return pud_offset(pgdp_get(pgd), addr);
}

pmd_t *pmd_alloc(struct mm_struct *mm, unsigned long addr)
{
	pud_t *pud = pud_alloc(mm, addr);

	if (!pud || pud_leaf(pudp_get(pud)))
		return NULL;
	if (!entry_populate(mm, pud, &mm->page_table_lock))
		return NULL;
	if (pud_leaf(pudp_get(pud)))
		return NULL;
	return pmd_offset(pudp_get(pud), addr);
}

pte_t *pte_alloc(struct mm_struct *mm, pmd_t *pmd, unsigned long addr)
{
	if (pmd_leaf(pmdp_get(pmd)))
		return NULL;
	if (!entry_populate(mm, pmd, entry_ptl(pmd)))
		return NULL;
	if (pmd_leaf(pmdp_get(pmd)))
		return NULL;
	return pte_offset(pmdp_get(pmd), addr);
}

pud_t *pud_lookup(struct mm_struct *mm, unsigned long addr)
{
	pgd_t pgd = pgdp_get(pgd_offset(mm, addr));

	return pgd_none(pgd) ? NULL : pud_offset(pgd, addr);
}

pmd_t *pmd_lookup(struct mm_struct *mm, unsigned long addr)
{
	pud_t *pud = pud_lookup(mm, addr);
	pud_t pudv;

	if (!pud)
		return NULL;
	pudv = pudp_get(pud);
	if (pud_none(pudv) || pud_leaf(pudv))
		return NULL;
	return pmd_offset(pudv, addr);
}

pmd_t pmd_read_settled(pmd_t *pmd)
{
	pmd_t v = pmdp_get(pmd);

	if (pmd_invalidated(v)) {
		/* The splitter holds the ptl from the invalidation until the table is in. */
		pthread_spin_lock(entry_ptl(pmd));
		v = pmdp_get(pmd);
		pthread_spin_unlock(entry_ptl(pmd));
	}
	return v;
}

pte_t *pte_lookup_lock(struct mm_struct *mm, unsigned long addr, pthread_spinlock_t **ptl)
{
	pmd_t *pmd = pmd_lookup(mm, addr);
	pmd_t v = pmd ? pmd_read_settled(pmd) : (pmd_t){0};
	pte_t *pte;

	if (pmd_none(v) || pmd_leaf(v))
		return NULL;
	pte = pte_offset(v, addr);
	*ptl = entry_ptl(pte);
	pthread_spin_lock(*ptl);
	return pte;
}

/* ---- deposited tables for THP splits ---- */

void pgtable_trans_huge_deposit(pmd_t *pmd, struct page *table)
{
	struct page *pmd_table = virt_to_page(pmd);

	table->pmd_huge_pte = pmd_table->pmd_huge_pte;
	pmd_table->pmd_huge_pte = table;
}

struct page *pgtable_trans_huge_withdraw(pmd_t *pmd)
{
	struct page *pmd_table = virt_to_page(pmd);
	struct page *table = pmd_table->pmd_huge_pte;

	BUG_ON(!table);
	pmd_table->pmd_huge_pte = table->pmd_huge_pte;
	table->pmd_huge_pte = NULL;
	return table;
}

/* ---- the range walker ---- */

static int walk_pte_range(pmd_t pmd, unsigned long addr, unsigned long end,
			  const struct mm_walk_ops *ops, void *arg)
{
	pte_t *pte = pte_offset(pmd, addr);
	pthread_spinlock_t *ptl = entry_ptl(pte);
	int ret = 0;

	pthread_spin_lock(ptl);
	for (; addr < end; addr += PAGE_SIZE, pte++) {
		if (pte_none(ptep_get(pte)))
			continue;
		ret = ops->pte_entry(pte, addr, arg);
		if (ret)
			break;
	}
	pthread_spin_unlock(ptl);
	return ret;
}

static int walk_pmd_range(pud_t pud, unsigned long addr, unsigned long end,
			  const struct mm_walk_ops *ops, void *arg)
{
	pmd_t *pmd = pmd_offset(pud, addr);

	for (; addr < end; pmd++) {
		unsigned long next = (addr + PMD_SIZE) & PMD_MASK;
		pmd_t v;
		int ret = 0;

		if (next > end || next == 0)
			next = end;
		v = pmd_read_settled(pmd);
		if (pmd_leaf(v) && ops->pmd_leaf) {
			pthread_spinlock_t *ptl = entry_ptl(pmd);

			pthread_spin_lock(ptl);
			v = pmdp_get(pmd);
			if (pmd_leaf(v))
				ret = ops->pmd_leaf(pmd, addr, next, arg);
			pthread_spin_unlock(ptl);
			if (ret < 0)
				return ret;
			v = pmd_read_settled(pmd);
		}
		if (!pmd_none(v) && !pmd_leaf(v) && ops->pte_entry) {
			ret = walk_pte_range(v, addr, next, ops, arg);
			if (ret)
				return ret;
		}
		addr = next;
	}
	return 0;
}

static int walk_pud_range(pgd_t pgd, unsigned long addr, unsigned long end,
			  const struct mm_walk_ops *ops, void *arg, struct mm_struct *mm)
{
	pud_t *pud = pud_offset(pgd, addr);

	for (; addr < end; pud++) {
		unsigned long next = (addr + PUD_SIZE) & PUD_MASK;
		pud_t v;
		int ret = 0;

		if (next > end || next == 0)
			next = end;
		v = pudp_get(pud);
		if (pud_leaf(v) && ops->pud_leaf) {
			pthread_spin_lock(&mm->page_table_lock);
			v = pudp_get(pud);
			if (pud_leaf(v))
				ret = ops->pud_leaf(pud, addr, next, arg);
			pthread_spin_unlock(&mm->page_table_lock);
			if (ret < 0)
				return ret;
		} else if (!pud_none(v) && !pud_leaf(v)) {
			ret = walk_pmd_range(v, addr, next, ops, arg);
			if (ret)
				return ret;
		}
		addr = next;
	}
	return 0;
}

int walk_page_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		    const struct mm_walk_ops *ops, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;

	while (start < end) {
		unsigned long next = (start + PGDIR_SIZE) & ~(PGDIR_SIZE - 1);
		pgd_t pgd = pgdp_get(pgd_offset(mm, start));
		int ret;

		if (next > end || next == 0)
			next = end;
		if (!pgd_none(pgd)) {
			ret = walk_pud_range(pgd, start, next, ops, arg, mm);
			if (ret)
				return ret;
		}
		start = next;
	}
	return 0;
}

/* ---- freeing tables nobody covers ---- */

/* Does any VMA of mm overlap [start, end)? */
static bool range_has_vma(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma = find_vma(mm, start);

	return vma && vma->vm_start < end;
}

/* Free the table that *entry points at if no VMA overlaps [start, start + size); entries
 * below it are already empty. Returns true if freed. */
static bool free_uncovered(struct mm_struct *mm, void *entry, unsigned long start,
			   unsigned long size, pthread_spinlock_t *lock,
			   struct pgtable_batch **batch)
{
	unsigned long v = pt_entry_load_acquire(entry);

	if (!v || (v & _PAGE_PSE) || range_has_vma(mm, start, start + size))
		return false;
	pthread_spin_lock(lock);
	pt_entry_store_release(entry, 0);
	pthread_spin_unlock(lock);
	pgtable_free_deferred(mm, batch, pfn_to_page((v & PTE_PFN_MASK) >> PAGE_SHIFT));
	return true;
}

void free_pgtables(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct pgtable_batch *batch = NULL;

	mmap_assert_write_locked(mm);
	for (unsigned long g = start & ~(PGDIR_SIZE - 1); g < end; g += PGDIR_SIZE) {
		pgd_t *pgd = pgd_offset(mm, g);

		if (pgd_none(pgdp_get(pgd)))
			continue;
		for (unsigned long u = g > (start & PUD_MASK) ? g : (start & PUD_MASK);
		     u < end && u < g + PGDIR_SIZE; u += PUD_SIZE) {
			pud_t *pud = pud_offset(pgdp_get(pgd), u);
			pud_t pv = pudp_get(pud);

			if (pud_none(pv) || pud_leaf(pv))
				continue;
			for (unsigned long m = u > (start & PMD_MASK) ? u : (start & PMD_MASK);
			     m < end && m < u + PUD_SIZE; m += PMD_SIZE) {
				pmd_t *pmd = pmd_offset(pv, m);

				free_uncovered(mm, pmd, m, PMD_SIZE, entry_ptl(pmd), &batch);
			}
			free_uncovered(mm, pud, u, PUD_SIZE, &mm->page_table_lock, &batch);
		}
		free_uncovered(mm, pgd, g, PGDIR_SIZE, &mm->page_table_lock, &batch);
	}
	if (batch)
		pgtable_batch_flush(batch);
}

static void free_table_tree(struct mm_struct *mm, struct page *table, int level)
{
	unsigned long *entries = page_address(table);

	for (int i = 0; level > 1 && i < 512; i++) {
		unsigned long v = pt_entry_load_acquire(&entries[i]);

		if (v && !(v & _PAGE_PSE))
			free_table_tree(mm, pfn_to_page((v & PTE_PFN_MASK) >> PAGE_SHIFT), level - 1);
	}
	/* A PMD table may still hold tables deposited for THP splits. */
	while (level == 2 && table->pmd_huge_pte) {
		struct page *dep = table->pmd_huge_pte;

		table->pmd_huge_pte = dep->pmd_huge_pte;
		pgtable_free(mm, dep);
	}
	pgtable_free(mm, table);
}

void free_all_pgtables(struct mm_struct *mm)
{
	free_table_tree(mm, mm->pgd_page, 4);
	mm->pgd_page = NULL;
}
