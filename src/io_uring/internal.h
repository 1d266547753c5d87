/* SPDX-License-Identifier: MIT */
/*
 * What the files of src/io_uring share. A pin consumer's layer: it pins user pages for as long
 * as they are registered; nothing below calls it.
 */
#ifndef PINMM_IO_URING_INTERNAL_H
#define PINMM_IO_URING_INTERNAL_H

#include <pinmm/io_uring.h>

#include "gup/internal.h"

#endif /* PINMM_IO_URING_INTERNAL_H */
