/* SPDX-License-Identifier: MIT */
/*
 * User memory access as a CPU running in an mm does it: each page is looked up in the page
 * tables and faulted in when absent or, for writes, write-protected (breaking COW). User
 * addresses are simulated addresses in the mm, passed as unsigned long (Linux passes
 * `void __user *`).
 */
#ifndef PINMM_UACCESS_H
#define PINMM_UACCESS_H

#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Copy n bytes to / from the current mm at uaddr. Return the number of bytes NOT copied (0 on
 * success), as Linux: the copy stops at the first page that cannot be faulted in (no VMA, no
 * permission, SIGBUS). With no current mm nothing is copied. */
unsigned long copy_to_user(unsigned long uaddr, const void *from, unsigned long n);
unsigned long copy_from_user(void *to, unsigned long uaddr, unsigned long n);

/* Read (or, with FOLL_WRITE in gup_flags, write) len bytes at addr in mm, which need not be
 * the current mm; FOLL_FORCE lets a write reach a read-only private mapping (a COW copy), as
 * ptrace does. Returns the number of bytes copied (0 if the first page fails, and, with a
 * WARN, for a stale mm: mman.h). */
int access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf, int len,
		     unsigned int gup_flags);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_UACCESS_H */
