/* SPDX-License-Identifier: MIT */
/*
 * The tools' kernel sides (Linux's debugfs files gup_benchmark and gup_test): what their files
 * share. This layer sits on top of the library: it may call GUP and everything below, and
 * nothing in the library calls it. Its ioctl contracts are in include/pinmm/debugfs/, which the
 * umbrella header leaves out; each file includes the one it implements (the two give some
 * command names different numbers, as Linux's do).
 */
#ifndef PINMM_DEBUGFS_INTERNAL_H
#define PINMM_DEBUGFS_INTERNAL_H

#include "writeback/internal.h"

#endif /* PINMM_DEBUGFS_INTERNAL_H */
