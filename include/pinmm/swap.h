/* SPDX-License-Identifier: MIT */
/*
 * Swap: a swap area on a host file (Linux's swapon(2) / swapoff(2)) and what the machine tells
 * about it (the SwapTotal / SwapFree / SwapCached lines of /proc/meminfo).
 *
 * Anonymous pages leave memory for the swap area through MADV_PAGEOUT (<pinmm/mman.h>): the page
 * gets a slot and enters the swap cache, every PTE that mapped it becomes a swap entry naming
 * the slot, the page is written through the block device (<pinmm/blkdev.h>) and then freed.
 * A fault on a swap entry brings the page back (from the swap cache if it is still there, else
 * read from the slot); fork shares swap entries as it shares pages; munmap frees them. pswpin
 * and pswpout (<pinmm/vmstat.h>) count pages read and written.
 *
 * A swap write that fails (the device refuses a page that changed under it, or the host's
 * write fails: fault injection "io:write") leaves the page in memory, dirty, in the swap cache:
 * the entries naming its slot find it there, and the next MADV_PAGEOUT writes it again. A read
 * that fails makes the fault fail (SIGBUS: copy_from_user() and GUP return -EFAULT) and leaves
 * the entry as it was.
 *
 * Pinned pages follow the rule set: under 5.7 rules a page that may be pinned is swapped out
 * like any other; the modern rule set keeps it in memory (docs/rule-sets.md).
 *
 * swapon() and swapoff() have the prototypes of the C library's wrappers of the system calls
 * (<sys/swap.h>) and take their place in a program linked with pinmm: they act on the
 * simulated machine, never on the host.
 *
 * Differences from Linux: one swap area at a time (Linux: up to MAX_SWAPFILES); the host file
 * needs no mkswap header (its first page is reserved as Linux's header page is, and its size
 * gives the slots); no priorities, discard or readahead.
 */
#ifndef PINMM_SWAP_H
#define PINMM_SWAP_H

#ifdef __cplusplus
extern "C" {
#endif

/* swapon() flags: Linux's SWAP_FLAG_PREFER with a priority in SWAP_FLAG_PRIO_MASK is accepted
 * (and has no effect with one area); anything else is refused. */
#ifndef SWAP_FLAG_PREFER
#define SWAP_FLAG_PREFER 0x8000
#define SWAP_FLAG_PRIO_MASK 0x7fff
#endif

/* The smallest swap file swapon() takes: the header page and one slot. */
#define PINMM_SWAP_MIN_BYTES (2UL * 4096)

/*
 * Use the host file at path as the machine's swap area: its size, rounded down to whole
 * pages, less the first page (the header), is the number of slots. The file is opened now and
 * written and read by the block device until swapoff(); its contents are the machine's.
 * Returns 0, or, with nothing changed:
 *   -EINVAL  path NULL or empty, flags outside SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK, the file
 *            smaller than PINMM_SWAP_MIN_BYTES, or not a regular file (a FIFO, a device);
 *   -ENOENT  no file at path (and the other errors of open(2) for O_RDWR: -EISDIR for a
 *            directory, -EACCES, ...);
 *   -EBUSY   a swap area is on already (this file or another);
 *   -ENOMEM  no memory for the slot map;
 *   -ENODEV  no machine booted.
 */
int swapon(const char *path, int flags);

/*
 * Turn the swap area at path off: every page out in it is read back into memory and mapped
 * again where its swap entries were (Linux's try_to_unuse()), then the file is closed.
 * Returns 0, or, with every page still where it was (in memory or in the area, nothing lost):
 *   -EINVAL  path NULL, or not the file the area is on (compared by device and inode);
 *   -ENOENT  no file at path;
 *   -ENOMEM  a page could not be brought back for want of memory (the area stays on; the pages
 *            brought back before stay in memory);
 *   -EIO     a page could not be read back (the area stays on);
 *   -ENODEV  no machine booted, or no swap area on.
 * Takes every mm's mmap lock in turn; not from a fault or a GUP call.
 */
int swapoff(const char *path);

/* The swap area's state, in pages (Linux's si_swapinfo() and total_swapcache_pages()). */
struct pinmm_swap_info {
	unsigned long total;  /* SwapTotal: slots of the area (0 when no area is on) */
	unsigned long free;   /* SwapFree: slots neither used by an entry nor by the swap cache */
	unsigned long cached; /* SwapCached: pages in the swap cache */
};

/* The running machine's swap state into *info: 0, -EINVAL (info NULL), -ENODEV (no machine). */
int pinmm_swap_info(struct pinmm_swap_info *info);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_SWAP_H */
