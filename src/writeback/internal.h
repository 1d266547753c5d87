/* SPDX-License-Identifier: MIT */
/*
 * The pin consumers' layer (src/writeback/ now; reclaim, compaction and the rule set's policy
 * later): code that acts on pages through the layers below, GUP included, and that nothing
 * below calls. What its files share goes here.
 */
#ifndef PINMM_WRITEBACK_INTERNAL_H
#define PINMM_WRITEBACK_INTERNAL_H

#include <pinmm/writeback.h>

#include "gup/internal.h"

/* writeback.c: write mapping's dirty pages as clear_page_dirty_for_io() does (pin-aware when
 * the machine says so), adding the writes submitted to *nr_written (may be NULL). WB_SYNC_ALL
 * waits and returns the writeback errors; WB_SYNC_NONE does neither. */
int writeback_mapping(struct address_space *mapping, enum writeback_sync_modes mode,
		      unsigned long *nr_written);

#endif /* PINMM_WRITEBACK_INTERNAL_H */
