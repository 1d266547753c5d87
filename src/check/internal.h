/* SPDX-License-Identifier: MIT */
/*
 * The checks' layer (src/check/): walks over the whole machine that read every layer below and
 * that the library reaches only through the callback they register with shutdown. What its
 * files share goes here.
 */
#ifndef PINMM_CHECK_INTERNAL_H
#define PINMM_CHECK_INTERNAL_H

#include <pinmm/check.h>

#include "dma/internal.h"
#include "writeback/internal.h"

#endif /* PINMM_CHECK_INTERNAL_H */
