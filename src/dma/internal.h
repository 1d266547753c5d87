/* SPDX-License-Identifier: MIT */
/*
 * What the DMA engine's layer (src/dma/) shares. A pin consumer, beside pipes and io_uring: it
 * holds the pages GUP gave a driver (references or pins) for as long as the driver's buffer is
 * mapped; nothing below calls it. The checks' layer asks it which pages it holds.
 */
#ifndef PINMM_DMA_INTERNAL_H
#define PINMM_DMA_INTERNAL_H

#include <pinmm/dma.h>

#include "io_uring/internal.h"

/* Call fn on every page every live engine of this machine holds (once per hold), with
 * whether the hold is a pin. For pinmm_check_invariants(): the machine is quiescent. */
void dma_for_each_held_page(void (*fn)(struct page *page, bool pinned, void *arg), void *arg);

#endif /* PINMM_DMA_INTERNAL_H */
