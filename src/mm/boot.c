/* SPDX-License-Identifier: MIT */
/*
 * Boot and shutdown of the simulated machine: validating the configuration (and settling the
 * rule set: the configuration's, else PINMM_RULES's, else 5.7), reserving the host
 * arena (frames and mem_map), and handing the memory to the zones and the hugetlb pools.
 *
 * The arena is reserved with MAP_NORESERVE and never touched here beyond the struct page of
 * each MAX_ORDER block head, so a large machine costs host memory only where it is used.
 * Boot and shutdown are not thread-safe against each other or against users of the machine.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <urcu.h>

#include "internal.h"

struct pinmm_machine machine;
atomic_bool machine_booted;
struct page *mem_map;
unsigned long max_pfn;
unsigned long device_end_pfn;
char *pinmm_ram;
atomic_bool debug_checks_on;
static atomic_ulong machine_gen;
static unsigned long (*_Atomic shutdown_hooks[NR_SHUTDOWN_HOOKS])(void);
static struct page *zero_page;
static unsigned long (*shutdown_check)(void);

void pinmm_set_shutdown_check(unsigned long (*check)(void))
{
	shutdown_check = check;
}

#define MB (1ULL << 20)
#define BLOCK_BYTES (MAX_ORDER_NR_PAGES * PAGE_SIZE)

void pinmm_config_default(struct pinmm_config *cfg)
{
	*cfg = (struct pinmm_config){
		.ram_bytes = 1024 * MB,
		.movable_bytes = 128 * MB,
		.cma_bytes = 64 * MB,
		.nr_hugepages_2m = 0,
		.nr_hugepages_1g = 0,
		.thp = PINMM_THP_ALWAYS,
		.debug_checks = true,
		.rules = PINMM_RULES_DEFAULT,
		.kswapd = true,
	};
}

static bool block_aligned(unsigned long long bytes)
{
	return bytes % BLOCK_BYTES == 0;
}

static int config_check(const struct pinmm_config *cfg)
{
	unsigned long long normal, free_normal, huge;

	if (cfg->ram_bytes < PINMM_MIN_RAM || cfg->ram_bytes > PINMM_MAX_RAM)
		return -EINVAL;
	if (!block_aligned(cfg->ram_bytes) || !block_aligned(cfg->movable_bytes) ||
	    !block_aligned(cfg->cma_bytes))
		return -EINVAL;
	if (cfg->movable_bytes >= cfg->ram_bytes)
		return -EINVAL;
	normal = cfg->ram_bytes - cfg->movable_bytes;
	if (cfg->cma_bytes > normal || normal - cfg->cma_bytes < PINMM_MIN_NORMAL_FREE)
		return -EINVAL;
	free_normal = normal - cfg->cma_bytes - PINMM_MIN_NORMAL_FREE;
	if (cfg->nr_hugepages_1g > free_normal >> 30 || cfg->nr_hugepages_2m > free_normal >> 21)
		return -EINVAL;
	huge = ((unsigned long long)cfg->nr_hugepages_1g << 30) +
	       ((unsigned long long)cfg->nr_hugepages_2m << 21);
	if (huge > free_normal)
		return -EINVAL;
	if (cfg->device_bytes % (2ULL << 20) || cfg->device_bytes > PINMM_MAX_DEVICE)
		return -EINVAL;
	if (cfg->thp != PINMM_THP_ALWAYS && cfg->thp != PINMM_THP_MADVISE &&
	    cfg->thp != PINMM_THP_NEVER)
		return -EINVAL;
	if (cfg->rules != PINMM_RULES_DEFAULT && cfg->rules != PINMM_RULES_5_7 &&
	    cfg->rules != PINMM_RULES_MODERN)
		return -EINVAL;
	return 0;
}

const char *pinmm_rules_name(enum pinmm_rules rules)
{
	switch (rules) {
	case PINMM_RULES_DEFAULT:
		return "default";
	case PINMM_RULES_5_7:
		return "5.7";
	case PINMM_RULES_MODERN:
		return "modern";
	}
	return NULL;
}

int pinmm_rules_parse(const char *name, enum pinmm_rules *rules)
{
	if (!name)
		return -EINVAL;
	if (!strcmp(name, "5.7"))
		*rules = PINMM_RULES_5_7;
	else if (!strcmp(name, "modern"))
		*rules = PINMM_RULES_MODERN;
	else
		return -EINVAL;
	return 0;
}

/* The rule set a configuration asks for: its own, or PINMM_RULES's when it sets none (unset or
 * empty: 5.7). A bad PINMM_RULES is -EINVAL, with one line on the log stream. */
static int rules_resolve(enum pinmm_rules asked, enum pinmm_rules *rules)
{
	const char *env;

	*rules = asked;
	if (asked != PINMM_RULES_DEFAULT)
		return 0;
	*rules = PINMM_RULES_5_7;
	env = getenv("PINMM_RULES");
	if (!env || !*env)
		return 0;
	if (pinmm_rules_parse(env, rules)) {
		pinmm_log("pinmm: boot: PINMM_RULES=%s is not a rule set (5.7 or modern)\n", env);
		return -EINVAL;
	}
	return 0;
}

/* Reserve len bytes of host address space aligned to align (a power of two), lazily backed. */
static void *reserve_aligned(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *aligned;

	if (p == MAP_FAILED)
		return NULL;
	aligned = (char *)(((unsigned long)p + align - 1) & ~(align - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	munmap(aligned + len, (size_t)(p + align - aligned));
	return aligned;
}

static void release_arena(void)
{
	if (pinmm_ram)
		munmap(pinmm_ram, machine.ram_len);
	if (mem_map)
		munmap(mem_map, machine.memmap_len);
	pinmm_ram = NULL;
	mem_map = NULL;
	max_pfn = 0;
	device_end_pfn = 0;
}

int pinmm_boot(const struct pinmm_config *cfg)
{
	struct pinmm_config defaults;
	enum pinmm_rules rules;
	int ret;

	if (!cfg) {
		pinmm_config_default(&defaults);
		cfg = &defaults;
	}
	if (atomic_load(&machine_booted))
		return -EBUSY;
	ret = config_check(cfg);
	if (!ret)
		ret = rules_resolve(cfg->rules, &rules);
	if (!ret)
		ret = pin_owner_boot(cfg->pin_owner);
	if (ret)
		return ret;

	memset(&machine, 0, sizeof(machine));
	machine.cfg = *cfg;
	machine.cfg.rules = rules;
	machine.cfg.pin_owner = pin_owner_enabled();
	/* Frames and struct pages for RAM and the device area alike. */
	machine.ram_len = cfg->ram_bytes + cfg->device_bytes;
	machine.memmap_len = (machine.ram_len >> PAGE_SHIFT) * sizeof(struct page);
	/* Frames are aligned to 1 GiB in host memory too, so that each gigantic page is one
	 * naturally aligned host range. */
	pinmm_ram = reserve_aligned(machine.ram_len, 1UL << 30);
	mem_map = reserve_aligned(machine.memmap_len, PAGE_SIZE);
	if (!pinmm_ram || !mem_map) {
		release_arena();
		pin_owner_teardown();
		return -ENOMEM;
	}
	max_pfn = cfg->ram_bytes >> PAGE_SHIFT;
	device_end_pfn = machine.ram_len >> PAGE_SHIFT;

	vmstat_reset();
	zones_init();
	lru_init();
	atomic_store_explicit(&debug_checks_on, cfg->debug_checks, memory_order_relaxed);
	atomic_fetch_add(&machine_gen, 1);
	atomic_store(&machine_booted, true);
	zero_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!zero_page) {
		/* Nothing else is set up yet: undo the zones and the arena, and end the
		 * generation as shutdown does (an odd one means a machine runs). */
		atomic_store(&machine_booted, false);
		atomic_fetch_add(&machine_gen, 1);
		lru_teardown();
		zones_teardown();
		release_arena();
		pin_owner_teardown();
		return -ENOMEM;
	}
	SetPageReserved(zero_page);
	ret = hugetlb_init();
	if (!ret)
		ret = reclaim_boot();
	if (ret) {
		pinmm_shutdown();
		return ret;
	}
	return 0;
}

/* Every pin taken over the machine's life was released: nr_foll_pin_acquired ==
 * nr_foll_pin_released (what the unfreed-page walk cannot see: a pin released as a plain
 * reference, or a released pin that was never taken). */
static unsigned long report_pin_balance(void)
{
	long acquired = global_node_page_state(NR_FOLL_PIN_ACQUIRED);
	long released = global_node_page_state(NR_FOLL_PIN_RELEASED);

	if (acquired == released)
		return 0;
	pinmm_log("pinmm: shutdown: nr_foll_pin_acquired %ld != nr_foll_pin_released %ld\n",
		  acquired, released);
	return 1;
}

unsigned long machine_generation(void)
{
	return atomic_load_explicit(&machine_gen, memory_order_relaxed);
}

void set_shutdown_hook(enum shutdown_hook_id id, unsigned long (*hook)(void))
{
	atomic_store(&shutdown_hooks[id], hook);
}

int pinmm_shutdown(void)
{
	unsigned long left, unbalanced, leaked, live = 0, violations = 0;
	unsigned long (*quiesce)(void);

	if (!atomic_load(&machine_booted))
		return -ENODEV;
	/* The background threads (kswapd, then the flusher) stop first: what follows needs
	 * quiet. */
	for (int i = 0; i <= SHUTDOWN_HOOK_QUIESCE; i++) {
		quiesce = atomic_load(&shutdown_hooks[i]);
		if (quiesce)
			live += quiesce();
	}
#ifdef PINMM_HOOKS
	/* The debug build checks the whole machine as the caller left it, before anything is
	 * torn down. */
	if (shutdown_check)
		violations = shutdown_check();
#endif
	/* Then the address spaces and files still alive: their pages go back while the machine
	 * works. */
	for (int i = SHUTDOWN_HOOK_QUIESCE + 1; i < NR_SHUTDOWN_HOOKS; i++) {
		unsigned long (*hook)(void) = atomic_load(&shutdown_hooks[i]);

		if (hook)
			live += hook();
	}
	/* Page tables unlinked by munmap are freed after a grace period: let those frees run. */
	rcu_barrier();
	hugetlb_teardown();
	if (page_ref_count(zero_page) == 1) {
		ClearPageReserved(zero_page);
		__free_page(zero_page);
	} else {
		pinmm_log("pinmm: shutdown: the zero page still has %d references\n",
			  page_ref_count(zero_page) - 1);
	}
	zero_page = NULL;
	/* Every address space is gone: a pin still recorded now is a leak; name who took it. */
	leaked = pin_owner_report_leaks();
	left = report_unfreed_pages() + memremap_teardown();
	if (left)
		pinmm_log("pinmm: shutdown: %lu page(s) still allocated, referenced or quarantined\n",
			  left);
	unbalanced = report_pin_balance();
	pin_owner_teardown();
	atomic_store(&machine_booted, false);
	atomic_fetch_add(&machine_gen, 1);
	vmstat_reset();
	lru_teardown();
	zones_teardown();
	release_arena();
	return left || unbalanced || live || violations || leaked ? -EBUSY : 0;
}

bool pinmm_booted(void)
{
	return atomic_load(&machine_booted);
}

const struct pinmm_config *pinmm_machine_config(void)
{
	return atomic_load(&machine_booted) ? &machine.cfg : NULL;
}

enum pinmm_rules pinmm_rules(void)
{
	return atomic_load(&machine_booted) ? machine.cfg.rules : PINMM_RULES_DEFAULT;
}

struct page *ZERO_PAGE(unsigned long addr)
{
	(void)addr;
	return zero_page;
}

unsigned long zero_pfn(void)
{
	return zero_page ? page_to_pfn(zero_page) : ULONG_MAX;
}
