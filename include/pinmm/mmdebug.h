/* SPDX-License-Identifier: MIT */
/*
 * dump_page(): the state of one struct page, in Linux 5.7's format, on the log stream (bug.h).
 *
 *   page:<ptr> refcount:<n> mapcount:<n> mapping:<ptr> index:0x<hex>
 *       [ head:<ptr> order:<n> compound_mapcount:<n>[ compound_pincount:<n>]]
 *   [anon ]flags: 0x<hex>(<names>)[ CMA]
 *   raw: <4 x 16 hex digits>        (two lines: the 64 bytes of the page)
 *   head: <4 x 16 hex digits>       (two lines, only for a tail page: its head)
 *   page dumped because: <reason>
 *   [page->mem_cgroup:<ptr>]
 *
 * The first line is one line; the head part is present for compound pages, and the pincount
 * only where one exists (hpage_pincount_available(): order > 1 under 5.7 rules, every compound
 * page under modern rules). refcount is the head's for compound pages.
 */
#ifndef PINMM_MMDEBUG_H
#define PINMM_MMDEBUG_H

#include "bug.h"
#include "mm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dump page (NULL reason prints no reason line). A NULL page or one outside the machine's
 * mem_map prints "page:<ptr> is not a page of this machine" instead. */
void dump_page(struct page *page, const char *reason);

#define VM_WARN_ON_ONCE_PAGE(cond, page)                                                           \
	__extension__ ({                                                                           \
		static atomic_bool __warned_page;                                                  \
		bool __ret_page = !!(cond);                                                        \
		if (__ret_page &&                                                                  \
		    !atomic_exchange_explicit(&__warned_page, true, memory_order_relaxed)) {       \
			dump_page(page, "VM_WARN_ON_ONCE_PAGE(" #cond ")");                        \
			__pinmm_warn(__FILE__, __LINE__, __func__, "%s", #cond);                   \
		}                                                                                  \
		__ret_page;                                                                        \
	})

#ifdef PINMM_DEBUG_VM
#define VM_BUG_ON_PAGE(cond, page)                                                                 \
	do {                                                                                       \
		if (cond) {                                                                        \
			dump_page(page, "VM_BUG_ON_PAGE(" #cond ")");                              \
			__pinmm_bug(__FILE__, __LINE__, __func__, #cond);                          \
		}                                                                                  \
	} while (0)
#else
#define VM_BUG_ON_PAGE(cond, page) ((void)sizeof(!!(cond)), (void)sizeof(page))
#endif

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MMDEBUG_H */
