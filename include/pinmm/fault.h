/* SPDX-License-Identifier: MIT */
/*
 * Page faults.
 *
 * handle_mm_fault() is what a CPU does when an access finds no usable PTE: it maps the zero
 * page for an anonymous read, allocates on an anonymous write, copies on write for private
 * mappings (reusing the page when it is mapped only here, 5.7's rule: page_mapcount() == 1,
 * pins not considered; under modern rules only a PageAnonExclusive page or one whose only
 * reference is the mapping's: rule_cow_reuses_exclusive_only()), maps a THP on a PMD when the THP mode allows it, takes hugetlb pages from
 * the pools, and reads file pages through the VMA's vm_ops. The zero page itself is the
 * physical memory layer's (<pinmm/mm.h>).
 */
#ifndef PINMM_FAULT_H
#define PINMM_FAULT_H

#include "mm.h"
#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int vm_fault_t;

/* handle_mm_fault() results (Linux's bits). */
#define VM_FAULT_OOM 0x000001u
#define VM_FAULT_SIGBUS 0x000002u
#define VM_FAULT_MAJOR 0x000004u
#define VM_FAULT_WRITE 0x000008u  /* a COW or a write to a shared page happened */
#define VM_FAULT_HWPOISON 0x000010u
#define VM_FAULT_SIGSEGV 0x000040u
#define VM_FAULT_NOPAGE 0x000100u
#define VM_FAULT_LOCKED 0x000200u
#define VM_FAULT_RETRY 0x000400u
#define VM_FAULT_FALLBACK 0x000800u
#define VM_FAULT_ERROR (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON)

/* handle_mm_fault() flags. */
#define FAULT_FLAG_WRITE 0x01u
/* The fault may give up with VM_FAULT_RETRY rather than wait for I/O or a page lock (GUP's
 * FOLL_NOWAIT passes both, as 5.7's faultin_page() does); only a file fault ever gives up. */
#define FAULT_FLAG_ALLOW_RETRY 0x04u
#define FAULT_FLAG_RETRY_NOWAIT 0x08u
#define FAULT_FLAG_REMOTE 0x80u
#define FAULT_FLAG_USER 0x40u
/* Modern rules only (Linux 5.19): make the anonymous page mapped here exclusive, by reusing or
 * copying it as a write fault would, but leave the mapping read-only. GUP asks for it before a
 * read-only FOLL_PIN of a page that may be shared (gup_must_unshare()). Only for private
 * mappings and never with FAULT_FLAG_WRITE; otherwise (and under 5.7 rules) the fault WARNs
 * and returns VM_FAULT_SIGSEGV. */
#define FAULT_FLAG_UNSHARE 0x400u

struct vm_fault {
	struct vm_area_struct *vma;
	unsigned int flags;      /* FAULT_FLAG_* */
	unsigned long address;   /* page-aligned */
	pgoff_t pgoff;           /* offset in the VMA's file, pages */
	struct page *page;       /* ->fault() result: locked, referenced */
	struct page *cow_page;
};

/*
 * Resolve a fault at address in vma (which contains it); mmap lock held (read). The caller has
 * checked that the VMA allows the access (as Linux's callers do: a FOLL_FORCE write to a
 * read-only private mapping is a legitimate write fault here). Returns 0 or VM_FAULT_* bits:
 * VM_FAULT_SIGBUS when a hugetlb pool is empty or a file page lies beyond the end of the file,
 * VM_FAULT_OOM when memory runs out, VM_FAULT_WRITE when a write fault copied the page or made
 * it writable.
 */
vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long address, unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_FAULT_H */
