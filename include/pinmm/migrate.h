/* SPDX-License-Identifier: MIT */
/*
 * Page migration's vocabulary for its users: compaction (<pinmm/compaction.h>) and memory
 * offlining (<pinmm/memory_hotplug.h>) report, for each page they could not move, why.
 *
 * Linux's mm/migrate.c returns -EAGAIN or -EBUSY and traces the page; pinmm names the cause,
 * because the one a user of pins cares about — a pin holding a page in place — is otherwise
 * indistinguishable from any other extra reference.
 */
#ifndef PINMM_MIGRATE_H
#define PINMM_MIGRATE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Linux's enum migrate_mode: how hard a migration tries. */
enum migrate_mode {
	MIGRATE_ASYNC,      /* never waits: a locked page is skipped (compaction's first pass) */
	MIGRATE_SYNC_LIGHT, /* waits for the page lock (direct compaction's retry) */
	MIGRATE_SYNC,       /* waits for everything (compact_memory, offlining) */
};

/* Why a page could not be migrated. */
enum pinmm_migrate_fail {
	MIGRATE_FAIL_NONE,      /* it was migrated (or, a THP, split for its pages to be) */
	MIGRATE_FAIL_PINNED,    /* page_maybe_dma_pinned(): a FOLL_PIN pin holds it */
	MIGRATE_FAIL_EXTRA_REF, /* a reference nobody accounts for (FOLL_GET, a lookup) */
	MIGRATE_FAIL_UNMOVABLE, /* a kind migration does not handle: page tables, kernel pages,
				 * unmapped pages, device and non-THP compound pages */
	MIGRATE_FAIL_HUGETLB,   /* a hugetlb page (its pools are never migrated here) */
	MIGRATE_FAIL_LOCKED,    /* async mode met the page lock held */
	MIGRATE_FAIL_WRITEBACK, /* under writeback */
	MIGRATE_FAIL_NOMEM,     /* no frame to move it to */
	NR_MIGRATE_FAIL,
};

/* The reason's name as reports print it ("pinned", "extra reference", "unmovable", "hugetlb",
 * "locked", "writeback", "no target page"; "none"), NULL for a value outside the enum. */
const char *pinmm_migrate_fail_name(enum pinmm_migrate_fail why);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_MIGRATE_H */
