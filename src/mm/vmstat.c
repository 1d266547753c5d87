/* SPDX-License-Identifier: MIT */
/*
 * Per-thread vmstat counters, summed on read.
 *
 * Each thread gets a struct vmstat_cpu on its first count and registers it on a list. Only the
 * owning thread writes it (a relaxed load and store, no locked instruction: the equivalent of
 * Linux's __this_cpu_add()); readers, under vmstat_lock, add up every registered thread plus
 * what exited threads folded into `exited`. The list lock is taken only on a thread's first
 * count, on its exit and by readers, never on the counting path.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"


static const char *const zone_stat_names[NR_VM_ZONE_STAT_ITEMS] = {
	"nr_free_pages",
	"nr_page_table_pages",
	"nr_free_cma",
};

static const char *const node_stat_names[NR_VM_NODE_STAT_ITEMS] = {
	"nr_inactive_anon", "nr_active_anon",   "nr_inactive_file",
	"nr_active_file",   "nr_unevictable",
	"nr_isolated_anon", "nr_isolated_file", "nr_anon_pages",
	"nr_mapped",        "nr_file_pages",    "nr_dirty",
	"nr_writeback",     "nr_shmem",         "nr_anon_transparent_hugepages",
	"nr_dirtied",       "nr_written",       "nr_foll_pin_acquired",
	"nr_foll_pin_released",
};

static const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
	"pswpin",             "pswpout",
	"pgalloc_normal",     "pgalloc_movable",   "allocstall_normal",
	"allocstall_movable", "pgfree",            "pgactivate",
	"pgdeactivate",       "pgfault",           "pgmajfault",
	"pgrefill",           "pgsteal_kswapd",    "pgsteal_direct",
	"pgscan_kswapd",      "pgscan_direct",     "kswapd_low_wmark_hit_quickly",
	"kswapd_high_wmark_hit_quickly", "pageoutrun", "pgrotated",
	"oom_kill",           "pgmigrate_success",
	"pgmigrate_fail",     "compact_migrate_scanned", "compact_free_scanned",
	"compact_isolated",   "compact_stall",     "compact_fail",
	"compact_success",    "htlb_buddy_alloc_success", "htlb_buddy_alloc_fail",
	"thp_fault_alloc",    "thp_fault_fallback",       "thp_collapse_alloc",
	"thp_collapse_alloc_failed", "thp_split_page",    "thp_split_pmd",
};

static pthread_mutex_t vmstat_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cds_list_head vmstat_cpus = CDS_LIST_HEAD_INIT(vmstat_cpus);
static struct vmstat_cpu exited;
static pthread_key_t vmstat_key;
static pthread_once_t vmstat_once = PTHREAD_ONCE_INIT;
_Thread_local struct vmstat_cpu *vmstat_cpu_ptr;

static void fold(atomic_long *into, atomic_long *from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		atomic_fetch_add_explicit(&into[i],
					  atomic_load_explicit(&from[i], memory_order_relaxed),
					  memory_order_relaxed);
}

static void vmstat_cpu_exit(void *arg)
{
	struct vmstat_cpu *c = arg;

	pthread_mutex_lock(&vmstat_lock);
	fold(&exited.zone[0][0], &c->zone[0][0], MAX_NR_ZONES * NR_VM_ZONE_STAT_ITEMS);
	fold(exited.node_items, c->node_items, NR_VM_NODE_STAT_ITEMS);
	fold(exited.events, c->events, NR_VM_EVENT_ITEMS);
	cds_list_del(&c->node);
	pthread_mutex_unlock(&vmstat_lock);
	/* A later destructor of this thread that counts again gets a fresh block. */
	vmstat_cpu_ptr = NULL;
	free(c);
}

static void vmstat_key_init(void)
{
	pthread_key_create(&vmstat_key, vmstat_cpu_exit);
}

struct vmstat_cpu *vmstat_cpu_slow(void)
{
	struct vmstat_cpu *c;

	c = calloc(1, sizeof(*c));
	BUG_ON(!c);
	pthread_once(&vmstat_once, vmstat_key_init);
	pthread_setspecific(vmstat_key, c);
	pthread_mutex_lock(&vmstat_lock);
	cds_list_add(&c->node, &vmstat_cpus);
	pthread_mutex_unlock(&vmstat_lock);
	vmstat_cpu_ptr = c;
	return c;
}

static struct vmstat_cpu *vmstat_this_cpu(void)
{
	struct vmstat_cpu *c = vmstat_cpu_ptr;

	return c ? c : vmstat_cpu_slow();
}

void mod_zone_page_state(struct zone *zone, enum zone_stat_item item, long delta)
{
	long z = zone - machine.zones;

	if (WARN_ON_ONCE((unsigned int)item >= NR_VM_ZONE_STAT_ITEMS || z < 0 ||
			 z >= MAX_NR_ZONES))
		return;
	this_cpu_add(&vmstat_this_cpu()->zone[z][item], delta);
}

void mod_node_page_state(enum node_stat_item item, long delta)
{
	if (WARN_ON_ONCE((unsigned int)item >= NR_VM_NODE_STAT_ITEMS))
		return;
	this_cpu_add(&vmstat_this_cpu()->node_items[item], delta);
}

void count_vm_events(enum vm_event_item item, long delta)
{
	if (WARN_ON_ONCE((unsigned int)item >= NR_VM_EVENT_ITEMS))
		return;
	this_cpu_add(&vmstat_this_cpu()->events[item], delta);
}

/* Sum one counter, at byte offset `off` in struct vmstat_cpu, over all threads. */
static long sum_at(size_t off)
{
	long sum;
	struct vmstat_cpu *c;

	pthread_mutex_lock(&vmstat_lock);
	sum = atomic_load_explicit((atomic_long *)((char *)&exited + off), memory_order_relaxed);
	cds_list_for_each_entry(c, &vmstat_cpus, node)
		sum += atomic_load_explicit((atomic_long *)((char *)c + off), memory_order_relaxed);
	pthread_mutex_unlock(&vmstat_lock);
	return sum;
}

long zone_page_state(const struct zone *zone, enum zone_stat_item item)
{
	long z = zone - machine.zones;

	if (WARN_ON_ONCE((unsigned int)item >= NR_VM_ZONE_STAT_ITEMS || z < 0 ||
			 z >= MAX_NR_ZONES))
		return 0;
	return sum_at(offsetof(struct vmstat_cpu, zone) +
		      ((size_t)z * NR_VM_ZONE_STAT_ITEMS + item) * sizeof(atomic_long));
}

long global_zone_page_state(enum zone_stat_item item)
{
	long sum = 0;

	if (WARN_ON_ONCE((unsigned int)item >= NR_VM_ZONE_STAT_ITEMS))
		return 0;
	for (int z = 0; z < MAX_NR_ZONES; z++)
		sum += zone_page_state(&machine.zones[z], item);
	return sum;
}

long global_node_page_state(enum node_stat_item item)
{
	if (WARN_ON_ONCE((unsigned int)item >= NR_VM_NODE_STAT_ITEMS))
		return 0;
	return sum_at(offsetof(struct vmstat_cpu, node_items) + item * sizeof(atomic_long));
}

unsigned long global_vm_event_count(enum vm_event_item item)
{
	if (WARN_ON_ONCE((unsigned int)item >= NR_VM_EVENT_ITEMS))
		return 0;
	return (unsigned long)sum_at(offsetof(struct vmstat_cpu, events) +
				     item * sizeof(atomic_long));
}

const char *zone_stat_name(enum zone_stat_item item)
{
	return (unsigned int)item < NR_VM_ZONE_STAT_ITEMS ? zone_stat_names[item] : NULL;
}

const char *node_stat_name(enum node_stat_item item)
{
	return (unsigned int)item < NR_VM_NODE_STAT_ITEMS ? node_stat_names[item] : NULL;
}

const char *vm_event_name(enum vm_event_item item)
{
	return (unsigned int)item < NR_VM_EVENT_ITEMS ? vm_event_names[item] : NULL;
}

int pinmm_vmstat_print(FILE *out)
{
	if (!out)
		return -EINVAL;
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		fprintf(out, "%s %ld\n", zone_stat_names[i],
			global_zone_page_state((enum zone_stat_item)i));
	for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
		fprintf(out, "%s %ld\n", node_stat_names[i],
			global_node_page_state((enum node_stat_item)i));
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		fprintf(out, "%s %lu\n", vm_event_names[i],
			global_vm_event_count((enum vm_event_item)i));
	return 0;
}

static void zero(atomic_long *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		atomic_store_explicit(&v[i], 0, memory_order_relaxed);
}

static void zero_cpu(struct vmstat_cpu *c)
{
	zero(&c->zone[0][0], MAX_NR_ZONES * NR_VM_ZONE_STAT_ITEMS);
	zero(c->node_items, NR_VM_NODE_STAT_ITEMS);
	zero(c->events, NR_VM_EVENT_ITEMS);
}

void vmstat_reset(void)
{
	struct vmstat_cpu *c;

	pthread_mutex_lock(&vmstat_lock);
	zero_cpu(&exited);
	cds_list_for_each_entry(c, &vmstat_cpus, node)
		zero_cpu(c);
	pthread_mutex_unlock(&vmstat_lock);
}
