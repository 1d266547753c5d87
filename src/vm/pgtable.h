/* SPDX-License-Identifier: MIT */
/*
 * Page-table entries, internal to the address-space layer and GUP: their types, x86-64's bits
 * and the atomic accessors. The geometry (levels, sizes, the user address range) is public, in
 * <pinmm/pgtable.h>; what an entry holds is not a contract with users. Tests that build or
 * inspect entries include this header ("vm/pgtable.h") and say so.
 *
 * A page-table page is a frame from the page allocator (PageTable, pt_mm set, its own ptl);
 * its 512 entries live in the frame itself. Every entry is read and written with one atomic
 * access: reads are acquire loads and set_*() writes release stores, so that the contents of a
 * freshly prepared page or table are visible to whoever sees the entry pointing at it.
 *
 * Entry bits are x86-64's: PRESENT 0, RW 1, USER 2, ACCESSED 5, DIRTY 6, PSE 7 (a PMD or PUD
 * leaf), PROTNONE 8 (not present but mapped: PROT_NONE), SPECIAL 9 (no struct page to refcount:
 * the zero page), DEVMAP 58; the PFN in bits 12..51.
 *
 * Entries that are neither none nor present (nor PROT_NONE) name where the page is instead: a
 * migration entry (_PAGE_MIGRATION, the PFN of the page being moved) or a swap entry (_PAGE_SWP,
 * the swap type in bits 53..57 and the slot's offset where a PFN would be). Both keep the
 * entry's other bits (RW, DIRTY, ACCESSED) and may carry the exclusive bit (bit 11, Linux 5.19's
 * readable-exclusive migration entry and SWP_EXCLUSIVE swap entry: the page was
 * PageAnonExclusive when its PTE became the entry). Linux x86 encodes swap entries inverted in
 * other bits; the layout here only has to keep the three kinds apart.
 */
#ifndef PINMM_VM_PGTABLE_H
#define PINMM_VM_PGTABLE_H

#include <stdbool.h>

#include <pinmm/mm_types.h>
#include <pinmm/pgtable.h>

#define _PAGE_PRESENT (1UL << 0)
#define _PAGE_RW (1UL << 1)
#define _PAGE_USER (1UL << 2)
#define _PAGE_ACCESSED (1UL << 5)
#define _PAGE_DIRTY (1UL << 6)
#define _PAGE_PSE (1UL << 7)
#define _PAGE_PROTNONE (1UL << 8)
#define _PAGE_SPECIAL (1UL << 9)
/* Not present, not PROT_NONE: a migration entry (the PFN of the page being migrated). */
#define _PAGE_MIGRATION (1UL << 10)
/* In a migration entry only: the page was PageAnonExclusive when its PTE became the entry, and
 * is again when the entry becomes a PTE (Linux's writable and readable-exclusive migration
 * entries). Modern rules only. */
#define _PAGE_MIGRATION_EXCLUSIVE (1UL << 11)
/* Not present, not PROT_NONE, not a migration entry: a swap entry. */
#define _PAGE_SWP (1UL << 52)
#define _PAGE_SWP_EXCLUSIVE _PAGE_MIGRATION_EXCLUSIVE
#define SWP_TYPE_SHIFT 53
#define SWP_TYPE_BITS 5
#define _PAGE_DEVMAP (1UL << 58)
#define PTE_PFN_MASK 0x000ffffffffff000UL

typedef struct { unsigned long pte; } pte_t;
typedef struct { unsigned long pmd; } pmd_t;
typedef struct { unsigned long pud; } pud_t;
typedef struct { unsigned long pgd; } pgd_t;
typedef struct { unsigned long pgprot; } pgprot_t;

/* Read/write one entry, atomically, wherever it lives; each helper's name says its order.
 * Loads are acquire: an entry may have just been set by a fault that does not hold the
 * reader's lock (a new table linked under the upper entry's lock, a new page under the PTE
 * lock), and what it points at must be seen initialised; they pair with the release of
 * pt_entry_store_release() and pt_entry_xchg_acq_rel(). On x86 an acquire load is a plain
 * load. */
static inline unsigned long pt_entry_load_acquire(const void *entry)
{
	return atomic_load_explicit((const _Atomic unsigned long *)entry, memory_order_acquire);
}

static inline void pt_entry_store_release(void *entry, unsigned long val)
{
	atomic_store_explicit((_Atomic unsigned long *)entry, val, memory_order_release);
}

static inline unsigned long pt_entry_xchg_acq_rel(void *entry, unsigned long val)
{
	return atomic_exchange_explicit((_Atomic unsigned long *)entry, val, memory_order_acq_rel);
}

static inline pte_t ptep_get(const pte_t *ptep) { return (pte_t){pt_entry_load_acquire(ptep)}; }
static inline pmd_t pmdp_get(const pmd_t *pmdp) { return (pmd_t){pt_entry_load_acquire(pmdp)}; }
static inline pud_t pudp_get(const pud_t *pudp) { return (pud_t){pt_entry_load_acquire(pudp)}; }
static inline pgd_t pgdp_get(const pgd_t *pgdp) { return (pgd_t){pt_entry_load_acquire(pgdp)}; }
/* Lockless readers (Linux's name for the fast GUP walk's loads): the same acquire load as
 * ptep_get(), pairing with the release in set_*(). */
static inline pte_t ptep_get_lockless(const pte_t *ptep)
{
	return (pte_t){pt_entry_load_acquire(ptep)};
}
static inline pmd_t pmdp_get_lockless(const pmd_t *pmdp)
{
	return (pmd_t){pt_entry_load_acquire(pmdp)};
}
static inline pud_t pudp_get_lockless(const pud_t *pudp)
{
	return (pud_t){pt_entry_load_acquire(pudp)};
}
static inline pgd_t pgdp_get_lockless(const pgd_t *pgdp)
{
	return (pgd_t){pt_entry_load_acquire(pgdp)};
}

static inline void set_pte(pte_t *ptep, pte_t pte) { pt_entry_store_release(ptep, pte.pte); }
static inline void set_pmd(pmd_t *pmdp, pmd_t pmd) { pt_entry_store_release(pmdp, pmd.pmd); }
static inline void set_pud(pud_t *pudp, pud_t pud) { pt_entry_store_release(pudp, pud.pud); }
static inline void set_pgd(pgd_t *pgdp, pgd_t pgd) { pt_entry_store_release(pgdp, pgd.pgd); }
static inline pte_t ptep_get_and_clear(pte_t *ptep)
{
	return (pte_t){pt_entry_xchg_acq_rel(ptep, 0)};
}
static inline pmd_t pmdp_get_and_clear(pmd_t *pmdp)
{
	return (pmd_t){pt_entry_xchg_acq_rel(pmdp, 0)};
}
static inline pud_t pudp_get_and_clear(pud_t *pudp)
{
	return (pud_t){pt_entry_xchg_acq_rel(pudp, 0)};
}

/* Bits, the same at every level. */
#define PINMM_ENTRY_OPS(T, f, present_bits)                                                        \
	static inline bool T##_none(T##_t e) { return e.f == 0; }                                  \
	static inline bool T##_present(T##_t e) { return (e.f & (present_bits)) != 0; }            \
	static inline bool T##_protnone(T##_t e)                                                   \
	{                                                                                          \
		return (e.f & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;                 \
	}                                                                                          \
	static inline bool T##_write(T##_t e) { return e.f & _PAGE_RW; }                           \
	static inline bool T##_dirty(T##_t e) { return e.f & _PAGE_DIRTY; }                        \
	static inline bool T##_young(T##_t e) { return e.f & _PAGE_ACCESSED; }                     \
	static inline bool T##_special(T##_t e) { return e.f & _PAGE_SPECIAL; }                    \
	static inline bool T##_devmap(T##_t e) { return e.f & _PAGE_DEVMAP; }                      \
	static inline unsigned long T##_pfn(T##_t e) { return (e.f & PTE_PFN_MASK) >> PAGE_SHIFT; } \
	static inline T##_t T##_mkwrite(T##_t e) { return (T##_t){e.f | _PAGE_RW}; }               \
	static inline T##_t T##_wrprotect(T##_t e) { return (T##_t){e.f & ~_PAGE_RW}; }            \
	static inline T##_t T##_mkdirty(T##_t e) { return (T##_t){e.f | _PAGE_DIRTY}; }            \
	static inline T##_t T##_mkclean(T##_t e) { return (T##_t){e.f & ~_PAGE_DIRTY}; }           \
	static inline T##_t T##_mkyoung(T##_t e) { return (T##_t){e.f | _PAGE_ACCESSED}; }         \
	static inline T##_t T##_mkold(T##_t e) { return (T##_t){e.f & ~_PAGE_ACCESSED}; }          \
	static inline T##_t T##_mkspecial(T##_t e) { return (T##_t){e.f | _PAGE_SPECIAL}; }       \
	static inline T##_t T##_modify(T##_t e, pgprot_t prot)                                     \
	{                                                                                          \
		unsigned long keep = e.f & (PTE_PFN_MASK | _PAGE_ACCESSED | _PAGE_DIRTY |          \
					    _PAGE_PSE | _PAGE_SPECIAL | _PAGE_DEVMAP);             \
		return (T##_t){keep | prot.pgprot};                                                \
	}

/* A PMD counts as present with PSE alone, as x86's pmd_present() says: a huge PMD that
 * pmdp_invalidate() made not-present while it is split is still a mapping to every walker
 * (never "none"), which takes the PMD's ptl and finds the split done. */
PINMM_ENTRY_OPS(pte, pte, _PAGE_PRESENT | _PAGE_PROTNONE)
PINMM_ENTRY_OPS(pmd, pmd, _PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE)
PINMM_ENTRY_OPS(pud, pud, _PAGE_PRESENT | _PAGE_PROTNONE)

static inline bool is_migration_entry(pte_t pte)
{
	return (pte.pte & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_MIGRATION)) == _PAGE_MIGRATION;
}

/* A swap entry: which swap area (type) and which page slot in it (offset). Offset 0 is the
 * area's header, never a slot, so a valid entry is never 0. */
typedef struct { unsigned long val; } swp_entry_t;

#define SWP_OFFSET_BITS 40

static inline swp_entry_t swp_entry(unsigned int type, unsigned long offset)
{
	return (swp_entry_t){((unsigned long)type << SWP_OFFSET_BITS) | offset};
}

static inline unsigned int swp_type(swp_entry_t entry)
{
	return (unsigned int)(entry.val >> SWP_OFFSET_BITS);
}

static inline unsigned long swp_offset(swp_entry_t entry)
{
	return entry.val & ((1UL << SWP_OFFSET_BITS) - 1);
}

static inline bool is_swap_pte(pte_t pte)
{
	return (pte.pte & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_MIGRATION | _PAGE_SWP)) ==
	       _PAGE_SWP;
}

static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	unsigned long type = (pte.pte >> SWP_TYPE_SHIFT) & ((1UL << SWP_TYPE_BITS) - 1);

	return swp_entry((unsigned int)type, (pte.pte & PTE_PFN_MASK) >> PAGE_SHIFT);
}

/* The PTE naming entry: not exclusive, not writable (a swap-in decides those). */
static inline pte_t swp_entry_to_pte(swp_entry_t entry)
{
	return (pte_t){_PAGE_SWP | ((unsigned long)swp_type(entry) << SWP_TYPE_SHIFT) |
		       (swp_offset(entry) << PAGE_SHIFT)};
}

static inline bool pte_swp_exclusive(pte_t pte) { return pte.pte & _PAGE_SWP_EXCLUSIVE; }
static inline pte_t pte_swp_mkexclusive(pte_t pte) { return (pte_t){pte.pte | _PAGE_SWP_EXCLUSIVE}; }
static inline pte_t pte_swp_clear_exclusive(pte_t pte)
{
	return (pte_t){pte.pte & ~_PAGE_SWP_EXCLUSIVE};
}

static inline pte_t pfn_pte(unsigned long pfn, pgprot_t prot)
{
	return (pte_t){(pfn << PAGE_SHIFT) | prot.pgprot};
}

static inline pmd_t pfn_pmd(unsigned long pfn, pgprot_t prot)
{
	return (pmd_t){(pfn << PAGE_SHIFT) | prot.pgprot};
}

static inline pud_t pfn_pud(unsigned long pfn, pgprot_t prot)
{
	return (pud_t){(pfn << PAGE_SHIFT) | prot.pgprot};
}

static inline pmd_t pmd_mkhuge(pmd_t pmd) { return (pmd_t){pmd.pmd | _PAGE_PSE}; }
static inline pud_t pud_mkhuge(pud_t pud) { return (pud_t){pud.pud | _PAGE_PSE}; }

/* A PMD/PUD that maps a huge page rather than pointing at a table. */
static inline bool pmd_leaf(pmd_t pmd) { return pmd_present(pmd) && (pmd.pmd & _PAGE_PSE); }
static inline bool pud_leaf(pud_t pud) { return pud_present(pud) && (pud.pud & _PAGE_PSE); }
static inline bool pmd_trans_huge(pmd_t pmd) { return pmd_leaf(pmd) && !pmd_devmap(pmd); }

/* A huge PMD invalidated by pmdp_invalidate(): being split under its ptl. No access may go
 * through it (neither PRESENT nor PROTNONE), yet it is not none. */
static inline bool pmd_invalidated(pmd_t pmd)
{
	return (pmd.pmd & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE)) == _PAGE_PSE;
}

/* Linux's pmdp_invalidate(): make a huge PMD not-present (x86's pmd_mknotpresent(), keeping
 * PSE, the pfn and the other bits) and return what it was, in one atomic operation so that no
 * update of the entry is lost. PMD table's ptl held. */
static inline pmd_t pmdp_invalidate(pmd_t *pmdp)
{
	return (pmd_t){atomic_fetch_and_explicit((_Atomic unsigned long *)pmdp,
						 ~(_PAGE_PRESENT | _PAGE_PROTNONE),
						 memory_order_acq_rel)};
}

static inline bool pgd_none(pgd_t pgd) { return pgd.pgd == 0; }
static inline unsigned long pgd_pfn(pgd_t pgd) { return (pgd.pgd & PTE_PFN_MASK) >> PAGE_SHIFT; }

/* Protection bits for a table entry (a non-leaf): everything allowed, the leaves decide. */
#define _PAGE_TABLE (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)

#endif /* PINMM_VM_PGTABLE_H */
