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

#endif /* PINMM_WRITEBACK_INTERNAL_H */
