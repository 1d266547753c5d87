/* SPDX-License-Identifier: MIT */
/*
 * The geometry of the x86-64 style 4-level page tables: PGD -> PUD -> PMD -> PTE, 512 entries
 * a level, 4 KiB pages, 48-bit user addresses (the P4D level is folded, as without 5-level
 * paging); the sizes a huge mapping takes, and the user address range. What a table entry
 * holds (its bits, its accessors) is internal to the library (src/vm/pgtable.h).
 */
#ifndef PINMM_PGTABLE_H
#define PINMM_PGTABLE_H

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PMD_SHIFT 21
#define PUD_SHIFT 30
#define PGDIR_SHIFT 39
#define PMD_SIZE (1UL << PMD_SHIFT)
#define PUD_SIZE (1UL << PUD_SHIFT)
#define PGDIR_SIZE (1UL << PGDIR_SHIFT)
#define PMD_MASK (~(PMD_SIZE - 1))
#define PUD_MASK (~(PUD_SIZE - 1))
#define PTRS_PER_PTE 512
#define PTRS_PER_PMD 512
#define PTRS_PER_PUD 512
#define PTRS_PER_PGD 512
#define HPAGE_PMD_SIZE PMD_SIZE
#define HPAGE_PMD_NR (1UL << (PMD_SHIFT - PAGE_SHIFT))

/* The user address space: [mmap_min_addr, TASK_SIZE). */
#define TASK_SIZE ((1UL << 47) - PAGE_SIZE)
#define MMAP_MIN_ADDR 0x10000UL

static inline unsigned long pgd_index(unsigned long addr)
{
	return (addr >> PGDIR_SHIFT) & (PTRS_PER_PGD - 1);
}
static inline unsigned long pud_index(unsigned long addr)
{
	return (addr >> PUD_SHIFT) & (PTRS_PER_PUD - 1);
}
static inline unsigned long pmd_index(unsigned long addr)
{
	return (addr >> PMD_SHIFT) & (PTRS_PER_PMD - 1);
}
static inline unsigned long pte_index(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1);
}

#ifdef __cplusplus
}
#endif

#endif /* PINMM_PGTABLE_H */
