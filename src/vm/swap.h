/* SPDX-License-Identifier: MIT */
/*
 * What the swap files of src/vm share (Linux's mm/swap.h and include/linux/swap.h): the swap
 * area (swapfile.c: the slot map and its counts, swapon/swapoff), the swap cache
 * (swap_state.c: which page holds a slot's contents in memory, and swap-out), and the I/O
 * (page_io.c: a page written to or read from its slot through the block device).
 *
 * A slot's swap_map word counts the swap entries naming it (in page tables) plus SWAP_HAS_CACHE
 * while a page in the swap cache holds it; the slot is free when the word is 0. A page in the
 * swap cache has PG_swapcache, its entry in page->private, and one reference owned by the
 * cache. Locks, outermost first: the page lock, a page-table lock, swap_lock (a mutex held only
 * around the map and cache words: nothing under it takes another lock or sleeps).
 *
 * The rule that is easy to break: a slot's page leaves the swap cache only with the page
 * locked, not under writeback, and (to be freed) with its refcount frozen at the cache's and
 * the caller's references, so that a pin, a GUP reference or a fault in progress keeps it.
 */
#ifndef PINMM_VM_SWAP_H
#define PINMM_VM_SWAP_H

#include <pinmm/pagemap.h>
#include <pinmm/swap.h>

#include "block/internal.h"
#include "internal.h"

/* swap_map word: entries naming the slot, and the swap cache's hold. */
#define SWAP_HAS_CACHE 0x80000000u
#define SWAP_COUNT_MASK 0x7fffffffu

/* swapfile.c */
/* A free slot, held by the swap cache (SWAP_HAS_CACHE), or the 0 entry if there is none (no
 * area, or full). */
swp_entry_t get_swap_page(void);
/* The page in the swap cache for entry, with a reference for the caller, or NULL. */
struct page *lookup_swap_cache(swp_entry_t entry);
/* Claim entry's slot for a page about to be read into the swap cache: 0, -EEXIST (another
 * page is in or entering the cache for it: look it up again), -ENOENT (the slot was freed:
 * the entry the caller read is stale). */
int swapcache_prepare(swp_entry_t entry);
/* Give up a claim that swapcache_prepare() made and no page took. */
void swapcache_clear(swp_entry_t entry);
/* Put page (locked, referenced by the caller) into the swap cache for entry, whose slot the
 * caller claimed: the cache takes a reference. */
void add_to_swap_cache(struct page *page, swp_entry_t entry);
/* Take page (locked, not under writeback) out of the swap cache: the slot loses the cache's
 * hold, the cache's reference is dropped. */
void delete_from_swap_cache(struct page *page);
/* Migration: new (locked, a copy of old) takes old's place in the swap cache, with a reference
 * of its own; old (locked, refcount frozen) leaves it. */
void swap_cache_migrate(struct page *old, struct page *new);
/* Free page (locked, clean, unmapped, in the swap cache, not under writeback) if the cache
 * and the caller hold its only references: true if it left the cache (the caller's reference
 * is then the last one). */
bool swap_cache_try_release(struct page *page);
/* One more swap entry names entry's slot (fork, unmapping a page into entries). */
void swap_duplicate(swp_entry_t entry);
/* One entry naming the slot is gone; the slot is free when nothing else holds it. */
void swap_free(swp_entry_t entry);
/* Entries naming entry's slot. */
unsigned int swap_count(swp_entry_t entry);
/* A page-table entry naming entry is gone (zap): drop it, and free the cached page too if
 * nothing names the slot any more and the page can be taken without waiting. */
void free_swap_and_cache(swp_entry_t entry);
/* Linux's try_to_free_swap(): page (locked) leaves the swap cache and frees its slot if no
 * entry names the slot and it is not under writeback. True if it did. */
bool try_to_free_swap(struct page *page);
/* Linux's free_swap_cache(), as unmapping releases a page: a page of the swap cache that is
 * mapped nowhere any more and whose slot no entry names leaves the cache (if its lock can be
 * had without waiting). */
void free_swap_cache(struct page *page);
/* Linux's vm_swap_full(): half the slots in use (swap-in then frees the slot it read). */
bool vm_swap_full(void);
/* The swap area's file descriptor and whether it writes stably (always: the block device
 * refuses data that changed under I/O, Linux's SWP_STABLE_WRITES). */
int swap_fd(void);

/* For pinmm_check_invariants() on a quiescent machine: the area's number of offsets (0 when no
 * area is on; offset 0 is the header), a slot's swap_map word and its swap-cache page, and
 * the count of slots in use and of cached pages as the area keeps them. */
unsigned long swap_area_max(void);
unsigned int swap_map_word(unsigned long off);
struct page *swap_cache_page(unsigned long off);
void swap_area_counts(unsigned long *inuse, unsigned long *cached);

/* page_io.c */
/*
 * A swap plug (Linux's blk_plug with the bio it is building): pages written (or read) while
 * one is held join one request as long as their slots follow each other and it has room;
 * any other page submits it first. The holder must call swap_plug_flush() before it waits
 * for any page it added (PG_writeback, or the lock of a page being read), or it waits for
 * itself. A NULL plug submits each page at once.
 */
struct swap_plug {
	struct bio *bio;
};

/* Write page (locked, in the swap cache, dirty bit already cleared by the caller) to its slot:
 * PG_writeback from now to the write's end; a failed write leaves it dirty. Unlocks it. */
void swap_writepage(struct page *page, struct swap_plug *plug);
/* Read page (locked, in the swap cache, new) from its slot; the page is unlocked when the read
 * is over, PG_uptodate set if it worked. */
void swap_readpage(struct page *page, struct swap_plug *plug);
/* Submit the plug's request, if any. */
void swap_plug_flush(struct swap_plug *plug);

/* swap_state.c */
/* Give page (locked, anonymous, order 0, swap-backed) a slot and put it in the swap cache,
 * dirty. False if there is no free slot. */
bool add_to_swap(struct page *page);

#endif /* PINMM_VM_SWAP_H */
