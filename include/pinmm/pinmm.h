/* SPDX-License-Identifier: MIT */
/*
 * pinmm: Linux's physical memory, address spaces and FOLL_PIN page pinning, in user space.
 * This umbrella header is the one users include; it brings in the whole public API.
 */
#ifndef PINMM_PINMM_H
#define PINMM_PINMM_H

#include "blkdev.h"
#include "boot.h"
#include "bug.h"
#include "check.h"
#include "compaction.h"
#include "dma.h"
#include "err.h"
#include "fault.h"
#include "fs.h"
#include "gfp.h"
#include "gup.h"
#include "huge_mm.h"
#include "hugetlb.h"
#include "inject.h"
#include "io_uring.h"
#include "memory_hotplug.h"
#include "migrate.h"
#include "mm.h"
#include "memremap.h"
#include "mm_inline.h"
#include "mm_types.h"
#include "mman.h"
#include "mmdebug.h"
#include "mmzone.h"
#include "page-flags.h"
#include "page_ref.h"
#include "pagemap.h"
#include "pgtable.h"
#include "pin_owner.h"
#include "pipe.h"
#include "proc.h"
#include "rmap.h"
#include "swap.h"
#include "uaccess.h"
#include "vmscan.h"
#include "vmstat.h"
#include "trace.h"
#include "writeback.h"

#endif /* PINMM_PINMM_H */
