/* SPDX-License-Identifier: MIT */
/*
 * get_user_pages flags (FOLL_*), Linux 5.7's values.
 */
#ifndef PINMM_GUP_H
#define PINMM_GUP_H

#define FOLL_WRITE 0x01u     /* check the PTE is writable; write-fault if not */
#define FOLL_TOUCH 0x02u     /* mark the page accessed (and dirty with FOLL_WRITE) */
#define FOLL_GET 0x04u       /* take a reference on the page */
#define FOLL_DUMP 0x08u      /* give an error rather than allocate for holes / the zero page */
#define FOLL_FORCE 0x10u     /* ignore the VMA's read/write permission (ptrace) */
#define FOLL_NOWAIT 0x20u
#define FOLL_POPULATE 0x40u
#define FOLL_SPLIT 0x80u
#define FOLL_HWPOISON 0x100u
#define FOLL_NUMA 0x200u
#define FOLL_MIGRATION 0x400u
#define FOLL_TRIED 0x800u
#define FOLL_MLOCK 0x1000u
#define FOLL_REMOTE 0x2000u
#define FOLL_COW 0x4000u     /* internal: a COW happened for this lookup */
#define FOLL_ANON 0x8000u
#define FOLL_LONGTERM 0x10000u
#define FOLL_SPLIT_PMD 0x20000u
#define FOLL_PIN 0x40000u    /* pages must be released with unpin_user_page*() */

#endif /* PINMM_GUP_H */
