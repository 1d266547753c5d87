/* SPDX-License-Identifier: MIT */
/*
 * Booting and shutting down the simulated machine.
 *
 * pinmm simulates one machine per process. pinmm_boot() lays out its physical memory: a host
 * arena of ram_bytes holding the frames and the array of struct page (mem_map) beside it, both
 * reserved with MAP_NORESERVE so that only what is touched costs host memory. The pfn range is
 * split into zones:
 *
 *   pfn 0                                                          max_pfn   device_end_pfn
 *   | ZONE_NORMAL ............... [ CMA area ] | ZONE_MOVABLE ....... | ZONE_DEVICE ... |
 *
 * The CMA area sits at the top of ZONE_NORMAL; its free blocks serve only __GFP_MOVABLE
 * allocations, as MIGRATE_CMA pageblocks do in Linux. The hugetlb pools are filled at boot from
 * ZONE_NORMAL (1 GiB pages first, from its 1 GiB-aligned start). Boot also takes one page for
 * the shared zero page (Linux keeps it in the kernel image), so nr_free_pages after boot is
 * the RAM's pages minus the pools' minus one.
 */
#ifndef PINMM_BOOT_H
#define PINMM_BOOT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pinmm_thp_mode {
	PINMM_THP_ALWAYS,  /* /sys/kernel/mm/transparent_hugepage/enabled = always */
	PINMM_THP_MADVISE, /* only VMAs with MADV_HUGEPAGE */
	PINMM_THP_NEVER,
};

/*
 * The rule set: which Linux the machine behaves as where Linux's behaviour changed after the
 * pin-tracking series (docs/rule-sets.md lists every rule and what each set does). One code
 * base: each rule is one decision taken where Linux's code differs.
 */
enum pinmm_rules {
	/* In a configuration: not set. pinmm_boot() takes the rule set from the environment
	 * variable PINMM_RULES ("5.7" or "modern"; unset or empty: 5.7), so that any program can
	 * be rerun under the other rules unchanged. A running machine never has this value. */
	PINMM_RULES_DEFAULT,
	/* Linux 5.7, the release the pin-tracking series went into. */
	PINMM_RULES_5_7,
	/* Linux 6.18: the rules docs/rule-sets.md lists as implemented; the rest is still 5.7's. */
	PINMM_RULES_MODERN,
};

struct pinmm_config {
	unsigned long long ram_bytes;     /* simulated RAM; multiple of 4 MiB, 16 MiB .. 256 GiB */
	unsigned long long movable_bytes; /* top of RAM given to ZONE_MOVABLE; multiple of 4 MiB */
	unsigned long long cma_bytes;     /* CMA area at the top of ZONE_NORMAL; multiple of 4 MiB */
	unsigned long nr_hugepages_2m;    /* boot-time pool of 2 MiB hugetlb pages */
	unsigned long nr_hugepages_1g;    /* boot-time pool of 1 GiB hugetlb pages */
	unsigned long long device_bytes;  /* ZONE_DEVICE pfn space after RAM for memremap_pages();
					   * a multiple of 2 MiB, at most 64 GiB */
	enum pinmm_thp_mode thp;
	/* Debug checks of caller misuse (true in pinmm_config_default()): an unpin that finds
	 * fewer pins than it drops (never pinned, unpinned twice, a range past its compound
	 * page), set_page_dirty() of a free page or of the zero page. Each WARNs, dump_page()s
	 * the page and changes nothing. Off, those calls corrupt the counts in silence as Linux
	 * without CONFIG_DEBUG_VM does: a choice for benchmarks (docs/performance.md). */
	bool debug_checks;
	enum pinmm_rules rules;           /* PINMM_RULES_DEFAULT: from PINMM_RULES, else 5.7 */
	/* Pin-aware writeback (pinmm's, beyond Linux; docs/gup-dma-problem.md): writeback of a
	 * dirty host-file page that page_maybe_dma_pinned() reports writes a stable copy and
	 * leaves the page dirty, its block reservation kept, until the pin is gone. false in
	 * pinmm_config_default(), under either rule set: no Linux does this. */
	bool pin_aware_writeback;
	/* Pin owners (<pinmm/pin_owner.h>): record who took each FOLL_PIN pin, report leaks and
	 * bad unpins with their call sites. false in pinmm_config_default(); the environment
	 * variable PINMM_PIN_OWNER=1 switches it on for any program (PINMM_PIN_OWNER=0 or unset
	 * leaves this field to decide). The running machine's configuration holds the setting in
	 * force. */
	bool pin_owner;
	/* Run the node's kswapd thread (<pinmm/vmscan.h>): woken when an allocation finds its
	 * zones below the low watermark, it reclaims until one is above high. true in
	 * pinmm_config_default(), under either rule set: every Linux runs kswapd. false: only
	 * direct reclaim (an allocation below min reclaims for itself), which makes a test's
	 * reclaim happen on its own thread, deterministically. */
	bool kswapd;
};

#define PINMM_MIN_RAM (16ULL << 20)
#define PINMM_MAX_RAM (256ULL << 30)
#define PINMM_MAX_DEVICE (64ULL << 30)
/* ZONE_NORMAL keeps at least this much memory outside CMA and the hugetlb pools. */
#define PINMM_MIN_NORMAL_FREE (8ULL << 20)

/* The configuration pinmm_boot(NULL) uses: 1 GiB of RAM of which 128 MiB is ZONE_MOVABLE and
 * 64 MiB CMA, no hugetlb pages, THP always, debug checks on, the rule set not set
 * (PINMM_RULES_DEFAULT), pin-aware writeback off, kswapd on. */
void pinmm_config_default(struct pinmm_config *cfg);

/*
 * Boot the simulated machine. cfg NULL means pinmm_config_default().
 * Returns 0, or:
 *   -EINVAL  a size is zero, not a multiple of 4 MiB (device_bytes: 2 MiB) or out of range; movable + CMA leave
 *            ZONE_NORMAL less than PINMM_MIN_NORMAL_FREE; the hugetlb pools do not fit in
 *            ZONE_NORMAL outside CMA; thp is not a pinmm_thp_mode, or rules not a
 *            pinmm_rules; rules is PINMM_RULES_DEFAULT and the environment variable
 *            PINMM_RULES is set to something other than "5.7" or "modern", or
 *            PINMM_PIN_OWNER to something other than "0", "1" or "" (one line on the log
 *            stream names the value). Nothing is reserved.
 *   -EBUSY   the machine is already booted.
 *   -ENOMEM  the host refused the address-space reservation, or there was no memory for the
 *            zero page, the hugetlb pools or the pin owners' tables, or the kswapd thread
 *            could not be started; nothing is left booted.
 * Not thread-safe against a concurrent pinmm_boot()/pinmm_shutdown().
 */
int pinmm_boot(const struct pinmm_config *cfg);

/*
 * Shut the machine down and release the host memory. Reported on the log stream, each making
 * the call return -EBUSY: every page that is still allocated or referenced (a leak), or that a
 * bad free quarantined (with dump_page()); every free page whose refcount is not 0 (a put or
 * unpin after the free); nr_foll_pin_acquired != nr_foll_pin_released over the machine's life
 * (a pin never released, or released twice, or released as a plain reference); a calling
 * thread still running in an mm (it is detached, as kthread_unuse_mm() would); every mm still
 * alive (its address space is torn down: its holders keep an empty shell that every call
 * refuses and that they may only release, see mman.h); the other threads still running in
 * one (they cannot be detached from here); every file still open (its dirty pages are written
 * back and its page cache dropped; see fs.h); with pin owners on, every pin still outstanding
 * once those are torn down, with the call site that took it (<pinmm/pin_owner.h>). Before any of that, the debug build (PINMM_HOOKS,
 * the default; not `make HOOKS=0`) runs pinmm_check_invariants() (<pinmm/check.h>) on the
 * machine as the caller left it and counts each violation it reports. The machine is torn down
 * all the same, so a later pinmm_boot() works.
 * Returns 0 if nothing was reported, -EBUSY if anything was, -ENODEV if not booted.
 * The caller must be the only thread using the machine.
 */
int pinmm_shutdown(void);

/* True between a successful pinmm_boot() and pinmm_shutdown(). */
bool pinmm_booted(void);

/* The configuration the running machine booted with (NULL when not booted); its rules field
 * holds the rule set in force (never PINMM_RULES_DEFAULT). */
const struct pinmm_config *pinmm_machine_config(void);

/* The running machine's rule set: PINMM_RULES_5_7 or PINMM_RULES_MODERN; PINMM_RULES_DEFAULT
 * when no machine is booted. */
enum pinmm_rules pinmm_rules(void);

/* The name of a rule set as PINMM_RULES and the tools' -R spell it: "5.7", "modern"; "default"
 * for PINMM_RULES_DEFAULT; NULL for a value that is not a pinmm_rules. */
const char *pinmm_rules_name(enum pinmm_rules rules);

/* Parse a rule set's name ("5.7" or "modern", exactly) into *rules. Returns 0, or -EINVAL
 * (name NULL or not one of those; *rules unchanged). */
int pinmm_rules_parse(const char *name, enum pinmm_rules *rules);

#ifdef __cplusplus
}
#endif

#endif /* PINMM_BOOT_H */
