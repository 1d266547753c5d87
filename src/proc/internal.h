/* SPDX-License-Identifier: MIT */
/*
 * The /proc views' internals: the layer's public header and the layer below's internals (the
 * checks, which bring in every layer under them: the views read VMAs, page tables and pages).
 */
#ifndef PINMM_PROC_INTERNAL_H
#define PINMM_PROC_INTERNAL_H

#include <pinmm/proc.h>

#include "check/internal.h"

#endif /* PINMM_PROC_INTERNAL_H */
