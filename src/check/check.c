/* SPDX-License-Identifier: MIT */
/*
 * pinmm_check_invariants(): one walk over the whole machine that compares what every structure
 * says about every frame (see <pinmm/check.h> for the list of invariants).
 *
 * It sits above every layer because it reads all of them: page tables and VMAs (src/vm), page
 * caches (src/fs), pools, free lists and vmstat (src/mm). It registers itself with
 * pinmm_shutdown() through a callback (pinmm_set_shutdown_check()), so the machine's lowest
 * layer never calls up.
 *
 * How it works: first everything that refers to frames is walked, with the locks Linux would
 * take, and what it saw is tallied per pfn (PTE and PMD/PUD mappings, page-cache membership, pool
 * and free-list membership, page-table use); then one pass over mem_map compares each page's own
 * counts with the tally. The rule that is easy to break: the tally only means something on a
 * quiescent machine, so nothing here may take a reference that it keeps, and the page-cache walk
 * (which takes one per page) subtracts its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <urcu.h>

#include "internal.h"
#include "vm/swap.h"

/* The pages whose dump_page() is printed; the rest are counted. */
#define MAX_DUMPS 64

enum {
	SEEN_FREE = 1,   /* the head of a block on a free list */
	SEEN_TABLE = 2,  /* a page table of a live mm (linked or deposited) */
	SEEN_CACHE = 4,  /* in a page cache */
	SEEN_POOL = 8,   /* on a hugetlb pool's free list */
	SEEN_HELD = 16,  /* held by a DMA engine (src/dma/): a device's reference or pin */
	SEEN_LRU = 32,   /* on an LRU list (the head of a THP: its entry) */
	SEEN_SWAPCACHE = 64, /* in the swap cache: the cache holds one reference */
};

/* What the walks saw of one frame of RAM. */
struct seen {
	unsigned int pte_maps;  /* PTEs mapping this 4 KiB page */
	unsigned int huge_maps; /* PMD/PUD leaves mapping the compound page headed here */
	unsigned int what;      /* SEEN_* */
};

struct check {
	struct seen *seen; /* one per pfn below max_pfn */
	long violations;
	long pins;         /* pins the counts show */
	long free_pages[MAX_NR_ZONES]; /* in blocks on the free lists */
	long tables;       /* page tables seen, deposited ones included */
	long cache_pages;  /* pages seen in page caches */
	long shmem_pages;
	long rss[NR_MM_COUNTERS]; /* of the mm being walked: what its entries map */
	long anon_mapped;  /* anonymous 4 KiB pages mapped (nr_anon_pages) */
	long file_mapped;  /* file pages mapped by PTEs (nr_mapped) */
	long anon_thps;    /* THPs mapped by a PMD (nr_anon_transparent_hugepages) */
	long reserved;     /* host-file cache pages with a block reserved (PG_private) */
	long lru_pages[NR_LRU_LISTS]; /* base pages the walk found on each list */
	unsigned long swap_max;     /* the swap area's offsets, 0 without one */
	unsigned int *swap_entries; /* per offset: swap entries the page tables hold */
};

static void violation(struct check *c, struct page *page, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void violation(struct check *c, struct page *page, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (c->violations++ < MAX_DUMPS) {
		pinmm_log("pinmm: check: %s\n", reason);
		if (page)
			dump_page(page, reason);
	}
}

static struct seen *seen_of(struct check *c, unsigned long pfn)
{
	return pfn < max_pfn ? &c->seen[pfn] : NULL;
}

/* ---- page tables ---- */

static void see_table(struct check *c, struct mm_struct *mm, struct page *table)
{
	struct seen *s = seen_of(c, page_to_pfn(table));

	if (!s) {
		violation(c, table, "a page table outside RAM");
		return;
	}
	if (!PageTable(table) || table->pt_mm != mm)
		violation(c, table, "a table of mm %p that is not marked as one of its tables",
			  (void *)mm);
	if (s->what & SEEN_TABLE)
		violation(c, table, "a page table linked twice");
	s->what |= SEEN_TABLE;
	c->tables++;
}

static void entry_outside_vma(struct check *c, struct mm_struct *mm, unsigned long addr,
			      unsigned long entry)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);

	if (!vma)
		violation(c, NULL, "mm %p maps %#lx (entry %#lx) outside every VMA", (void *)mm,
			  addr, entry);
}

/* The rss_stat member a mapped RAM page counts in (mm_counter()). */
static int rss_member(struct page *page)
{
	struct page *head = compound_head(page);

	if (PageAnon(head))
		return MM_ANONPAGES;
	return PageSwapBacked(head) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

static void see_pte(struct check *c, struct mm_struct *mm, unsigned long addr, pte_t pte)
{
	unsigned long pfn = pte_pfn(pte);
	struct seen *s;

	entry_outside_vma(c, mm, addr, pte.pte);
	if (is_swap_pte(pte)) {
		swp_entry_t entry = pte_to_swp_entry(pte);
		unsigned long off = swp_offset(entry);

		c->rss[MM_SWAPENTS]++;
		if (swp_type(entry) != 0 || off == 0 || off >= c->swap_max)
			violation(c, NULL, "mm %p: a swap entry at %#lx names slot %u:%lu, which is "
					   "not in the swap area", (void *)mm, addr, swp_type(entry), off);
		else
			c->swap_entries[off]++;
		return;
	}
	if (is_migration_entry(pte)) {
		violation(c, NULL, "mm %p: a migration entry at %#lx on a quiescent machine",
			  (void *)mm, addr);
		return;
	}
	if (pte_special(pte)) {
		if (pfn < max_pfn && !is_zero_pfn(pfn))
			violation(c, pfn_to_page(pfn), "a special PTE at %#lx on a RAM page", addr);
		return;
	}
	if (pte_devmap(pte) || pfn >= max_pfn)
		return;
	s = seen_of(c, pfn);
	s->pte_maps++;
	c->rss[rss_member(pfn_to_page(pfn))]++;
}

static void walk_pte_table(struct check *c, struct mm_struct *mm, struct page *table,
			   unsigned long base)
{
	pte_t *ptes = page_address(table);

	see_table(c, mm, table);
	pthread_spin_lock(&table->ptl);
	for (unsigned long i = 0; i < PTRS_PER_PTE; i++) {
		pte_t pte = ptep_get(&ptes[i]);

		if (!pte_none(pte))
			see_pte(c, mm, base + (i << PAGE_SHIFT), pte);
	}
	pthread_spin_unlock(&table->ptl);
}

/* A PMD or PUD leaf mapping the compound page at pfn. */
static void see_huge_leaf(struct check *c, struct mm_struct *mm, unsigned long addr,
			  unsigned long entry, unsigned long pfn, bool devmap)
{
	struct page *head;

	entry_outside_vma(c, mm, addr, entry);
	if (devmap || pfn >= max_pfn)
		return;
	head = pfn_to_page(pfn);
	if (!PageHead(head)) {
		violation(c, head, "a huge leaf at %#lx maps a page that is no compound head", addr);
		return;
	}
	seen_of(c, pfn)->huge_maps++;
	/* A THP's PMD counts all its pages; hugetlb pages are not in rss (as Linux). */
	if (!PageHuge(head))
		c->rss[rss_member(head)] += (long)compound_nr(head);
}

static void walk_pmd_table(struct check *c, struct mm_struct *mm, struct page *table,
			   unsigned long base)
{
	pmd_t *pmds = page_address(table);
	unsigned long thp_leaves = 0, deposited = 0;

	see_table(c, mm, table);
	pthread_spin_lock(&table->ptl);
	for (unsigned long i = 0; i < PTRS_PER_PMD; i++) {
		unsigned long addr = base + i * PMD_SIZE;
		pmd_t pmd = pmdp_get(&pmds[i]);

		if (pmd_none(pmd))
			continue;
		if (pmd_leaf(pmd)) {
			see_huge_leaf(c, mm, addr, pmd.pmd, pmd_pfn(pmd), pmd_devmap(pmd));
			if (pmd_trans_huge(pmd) && pmd_pfn(pmd) < max_pfn &&
			    !PageHuge(pfn_to_page(pmd_pfn(pmd))))
				thp_leaves++;
		} else if (!pmd_present(pmd)) {
			violation(c, table, "mm %p: a PMD entry %#lx at %#lx is neither a table nor a leaf",
				  (void *)mm, pmd.pmd, addr);
		} else {
			walk_pte_table(c, mm, pfn_to_page(pmd_pfn(pmd)), addr);
		}
	}
	for (struct page *dep = table->pmd_huge_pte; dep; dep = dep->pmd_huge_pte) {
		see_table(c, mm, dep);
		deposited++;
	}
	pthread_spin_unlock(&table->ptl);
	if (deposited != thp_leaves)
		violation(c, table, "mm %p: %lu PTE tables deposited for %lu THP leaves", (void *)mm,
			  deposited, thp_leaves);
}

/* mm->page_table_lock held: it covers PGD and PUD entries. */
static void walk_pud_table(struct check *c, struct mm_struct *mm, struct page *table,
			   unsigned long base)
{
	pud_t *puds = page_address(table);

	see_table(c, mm, table);
	for (unsigned long i = 0; i < PTRS_PER_PUD; i++) {
		unsigned long addr = base + i * PUD_SIZE;
		pud_t pud = pudp_get(&puds[i]);

		if (pud_none(pud))
			continue;
		if (pud_leaf(pud))
			see_huge_leaf(c, mm, addr, pud.pud, pud_pfn(pud), pud_devmap(pud));
		else
			walk_pmd_table(c, mm, pfn_to_page(pud_pfn(pud)), addr);
	}
}

static void walk_mm(struct mm_struct *mm, void *arg)
{
	static const char *const rss_names[NR_MM_COUNTERS] = {"MM_FILEPAGES", "MM_ANONPAGES",
							      "MM_SWAPENTS", "MM_SHMEMPAGES"};
	struct check *c = arg;
	long tables = c->tables;
	pgd_t *pgds;

	memset(c->rss, 0, sizeof(c->rss));

	mmap_read_lock(mm);
	pthread_spin_lock(&mm->page_table_lock);
	see_table(c, mm, mm->pgd_page);
	pgds = page_address(mm->pgd_page);
	/* User addresses only: the upper half of the PGD is never populated. */
	for (unsigned long i = 0; i < PTRS_PER_PGD / 2; i++) {
		pgd_t pgd = pgdp_get(&pgds[i]);

		if (!pgd_none(pgd))
			walk_pud_table(c, mm, pfn_to_page(pgd_pfn(pgd)), i * PGDIR_SIZE);
	}
	pthread_spin_unlock(&mm->page_table_lock);
	tables = c->tables - tables;
	if (atomic_load(&mm->pgtables_bytes) != tables * (long)PAGE_SIZE)
		violation(c, mm->pgd_page, "mm %p: pgtables_bytes %ld, but it has %ld tables",
			  (void *)mm, atomic_load(&mm->pgtables_bytes), tables);
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		if (atomic_load(&mm->rss_stat[i]) != c->rss[i])
			violation(c, NULL, "mm %p: rss %s %ld, but its page tables map %ld",
				  (void *)mm, rss_names[i], atomic_load(&mm->rss_stat[i]),
				  c->rss[i]);
	mmap_read_unlock(mm);
}

/* ---- page caches, pools, free lists ---- */

/* PG_private of a small cache page is a block reservation (src/fs/balloc.c): only host
 * files have them, and only dirty pages (writeback consumes it as it cleans the page). */
static void check_reservation(struct check *c, struct address_space *mapping, struct page *page)
{
	if (!PagePrivate(page))
		return;
	if (mapping->shmem || mapping->host_fd < 0)
		violation(c, page, "a block reservation (PG_private) on a page of a file without "
				   "blocks");
	else if (!PageDirty(page))
		violation(c, page, "a block reservation (PG_private) on a clean page");
	else
		c->reserved++;
}

static void walk_mapping(struct address_space *mapping, void *arg)
{
	struct check *c = arg;
	struct page *pages[PAGEVEC_SIZE];
	/* A hugetlb file's cache holds hugetlb heads, which no file counter counts (Linux). */
	bool huge = mapping->huge_shift != 0;
	pgoff_t start = 0;
	unsigned int nr;
	long found = 0;

	if (!mapping->i_pages)
		return;
	while ((nr = find_get_pages(mapping, &start, PAGEVEC_SIZE, pages))) {
		found += nr;
		for (unsigned int i = 0; i < nr; i++) {
			struct seen *s = seen_of(c, page_to_pfn(pages[i]));

			if (huge && (!s || !PageHead(pages[i]) || !PageHuge(pages[i])))
				violation(c, pages[i], "a hugetlb file's cache holds a page that is "
						       "not a hugetlb page's head");
			else if (!huge && (!s || PageCompound(pages[i])))
				violation(c, pages[i], "a page cache holds a page that is not an "
						       "order-0 RAM page");
			else if (pages[i]->mapping != mapping)
				violation(c, pages[i], "a page cache holds a page of another mapping");
			else
				s->what |= SEEN_CACHE;
			if (!huge)
				check_reservation(c, mapping, pages[i]);
			put_page(pages[i]);
		}
	}
	if (atomic_load(&mapping->nrpages) != found)
		violation(c, NULL, "a page cache counts %ld pages (nrpages) and holds %ld",
			  atomic_load(&mapping->nrpages), found);
	if (huge)
		return;
	c->cache_pages += found;
	if (mapping->shmem)
		c->shmem_pages += found;
}

/* A page a DMA engine holds is reachable: from the device. */
static void walk_dma_page(struct page *page, bool pinned, void *arg)
{
	struct seen *s = seen_of(arg, page_to_pfn(compound_head(page)));

	(void)pinned;
	if (s)
		s->what |= SEEN_HELD;
}

static void walk_pools(struct check *c)
{
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct hstate *h = &machine.hstates[i];
		unsigned long n = 0;
		struct page *page;

		if (!h->order)
			continue;
		pthread_mutex_lock(&h->lock);
		cds_list_for_each_entry(page, &h->hugepage_freelist, lru) {
			n++;
			if (!PageHead(page) || !PageHuge(page) || compound_order(page) != h->order ||
			    page_ref_count(page) != 0) {
				violation(c, page, "a hugetlb pool of order %u holds a page that is not "
						   "a free huge page of that order", h->order);
				continue;
			}
			seen_of(c, page_to_pfn(page))->what |= SEEN_POOL;
		}
		if (n != h->free_huge_pages)
			violation(c, NULL, "the hugetlb pool of order %u lists %lu pages, counts %lu",
				  h->order, n, h->free_huge_pages);
		pthread_mutex_unlock(&h->lock);
	}
}

static void walk_free_lists(struct check *c)
{
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.zones[z];

		if (!zone->spanned_pages)
			continue;
		pthread_mutex_lock(&zone->lock);
		for (unsigned int o = 0; o < MAX_ORDER; o++) {
			unsigned long n = 0;

			for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
				struct page *page;

				cds_list_for_each_entry(page, &zone->free_area[o].free_list[mt], lru) {
					unsigned long pfn = page_to_pfn(page);

					n++;
					/* An isolated pageblock's free blocks are on the
					 * MIGRATE_ISOLATE lists, and only there. */
					bool isolated = is_migrate_isolate_pfn(pfn);

					if (pfn < zone->zone_start_pfn || pfn >= zone_end_pfn(zone) ||
					    !PageBuddy(page) || page->private != o ||
					    page_ref_count(page) != 0 ||
					    (mt == MIGRATE_ISOLATE) != isolated ||
					    (!isolated &&
					     (int)get_pageblock_migratetype(page) != mt)) {
						violation(c, page, "zone %s's free list of order %u, "
								   "type %d, holds a page that is not a "
								   "free block of them", zone->name, o, mt);
					}
					/* On a list, good or bad: reported once. */
					if (pfn < max_pfn)
						seen_of(c, pfn)->what |= SEEN_FREE;
					/* Isolated free pages are out of nr_free_pages. */
					if (mt != MIGRATE_ISOLATE)
						c->free_pages[z] += 1L << o;
				}
			}
			if (n != zone->free_area[o].nr_free)
				violation(c, NULL, "zone %s: %lu free blocks of order %u listed, %lu counted",
					  zone->name, n, o, zone->free_area[o].nr_free);
		}
		pthread_mutex_unlock(&zone->lock);
	}
}

/*
 * The LRU lists: every entry is a page that is not a tail, carries PG_lru, sits on the list
 * its flags name and is not free (check_frames() sees its refcount); each list's size in
 * base pages matches lru_size and nr_<list>.
 */
static void walk_lru_lists(struct check *c)
{
	pg_data_t *pgdat = NODE_DATA(0);
	struct lruvec *lruvec = node_lruvec(pgdat);
	enum lru_list lru;

	pthread_mutex_lock(&pgdat->lru_lock);
	for_each_lru(lru) {
		struct page *page;

		cds_list_for_each_entry(page, &lruvec->lists[lru], lru) {
			unsigned long pfn = page_to_pfn(page);

			if (pfn >= max_pfn || PageTail(page) || PageHuge(page)) {
				violation(c, page, "LRU list %d holds a page that cannot be on it "
						   "(a tail, hugetlb or not RAM)", lru);
				continue;
			}
			if (!PageLRU(page))
				violation(c, page, "on LRU list %d without PG_lru", lru);
			else if (page_lru(page) != lru)
				violation(c, page, "on LRU list %d, its flags name list %d", lru,
					  page_lru(page));
			if (PageActive(page) && PageUnevictable(page))
				violation(c, page, "both PG_active and PG_unevictable");
			if (c->seen[pfn].what & SEEN_LRU)
				violation(c, page, "on two LRU lists, or twice on one");
			c->seen[pfn].what |= SEEN_LRU;
			c->lru_pages[lru] += PageHead(page) ? (long)compound_nr(page) : 1;
		}
		if (c->lru_pages[lru] != (long)lruvec_lru_size(lru) ||
		    c->lru_pages[lru] != global_node_page_state(NR_LRU_BASE + lru))
			violation(c, NULL, "LRU list %s holds %ld pages; lru_size says %lu, %s %ld",
				  node_stat_name(NR_LRU_BASE + lru), c->lru_pages[lru],
				  lruvec_lru_size(lru), node_stat_name(NR_LRU_BASE + lru),
				  global_node_page_state(NR_LRU_BASE + lru));
	}
	pthread_mutex_unlock(&pgdat->lru_lock);
}

/*
 * A page's LRU state against the walk: PG_lru means on a list and a list means PG_lru (a free
 * page on a list is caught as a free block that is listed); on a quiescent machine every
 * anonymous page that is mapped and every page-cache page is on a list (none is isolated),
 * hugetlb pages never.
 */
static void check_lru_state(struct check *c, struct page *head, bool mapped)
{
	bool listed = c->seen[page_to_pfn(head)].what & SEEN_LRU;

	if (PageLRU(head) && !listed)
		violation(c, head, "PG_lru set but on no LRU list");
	if (PageHuge(head))
		return;
	if (!listed && ((PageAnon(head) && mapped) || (c->seen[page_to_pfn(head)].what & SEEN_CACHE)))
		violation(c, head, "an anonymous or page-cache page on no LRU list (isolated on a "
				   "quiescent machine, or never added)");
}

/* An offline pageblock (offline_pages()) is isolated and holds nothing but free blocks.
 * Offline ranges are MAX_ORDER aligned, so their free blocks start inside them. */
static void check_offline_blocks(struct check *c)
{
	for (unsigned long base = 0; base < max_pfn; base += MAX_ORDER_NR_PAGES) {
		bool offline = false;

		for (unsigned long pb = base; pb < base + MAX_ORDER_NR_PAGES; pb += pageblock_nr_pages) {
			if (!pageblock_offline(pb))
				continue;
			offline = true;
			if (!is_migrate_isolate_pfn(pb))
				violation(c, pfn_to_page(pb), "an offline pageblock that is not isolated");
		}
		if (!offline)
			continue;
		for (unsigned long pfn = base; pfn < base + MAX_ORDER_NR_PAGES;) {
			struct page *page = pfn_to_page(pfn);

			if (!PageBuddy(page)) {
				violation(c, page, "an offline memory block holds a page in use");
				break;
			}
			pfn += 1UL << page->private;
		}
	}
}

/* ---- the pass over every frame ---- */

/*
 * PageAnonExclusive (modern rules only): the page of an anonymous mapping that one process
 * alone maps. What Linux asserts (__folio_add_anon_rmap()'s and hugetlb_add_anon_rmap()'s
 * warnings, hugetlb_wp()'s VM_BUG_ON): an exclusive page is mapped at most once, by one PTE or
 * one PMD/PUD leaf of its compound page, not both. maps: the PTEs mapping page plus the leaves
 * mapping its compound page. The bit is PG_mappedtodisk on a file page, which pinmm never
 * sets: either way, a page that is not anonymous must not carry it.
 */
static void check_anon_exclusive(struct check *c, struct page *page, unsigned long maps,
				 const char *what)
{
	if (!test_page_bit(PG_anon_exclusive, page))
		return;
	if (!PageAnon(page))
		violation(c, page, "%s: PG_anon_exclusive (PG_mappedtodisk) on a page that is not "
				   "anonymous", what);
	else if (!rule_tracks_anon_exclusive())
		violation(c, page, "%s: PageAnonExclusive under 5.7 rules, which have no such mark",
			  what);
	else if (maps > 1)
		violation(c, page, "%s: PageAnonExclusive but mapped %lu times", what, maps);
}

/* PG_longterm (GUP's mark of a long-term pin, src/gup/grab.c) lives only while the page is
 * pinned: the unpin that leaves no pin clears it. */
static void check_longterm(struct check *c, struct page *head)
{
	if (test_page_bit(PG_longterm, head) && !page_maybe_dma_pinned(head))
		violation(c, head, "PG_longterm on a page that is not pinned");
}

static bool in_flight(struct check *c, struct page *head)
{
	if (PageLocked(head)) {
		violation(c, head, "locked on a quiescent machine");
		return true;
	}
	if (PageWriteback(head)) {
		violation(c, head, "under writeback on a quiescent machine");
		return true;
	}
	return false;
}

/* A page that is neither free nor a compound page: order 0, a page table or the zero page. */
static void check_small(struct check *c, unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);
	struct seen *s = &c->seen[pfn];
	int ref = page_ref_count(page);
	long expected, extra;

	if (s->what & (SEEN_FREE | SEEN_POOL))
		violation(c, page, "on a free list but not free");
	if (PageTable(page) || (s->what & SEEN_TABLE)) {
		if (!(s->what & SEEN_TABLE))
			violation(c, page, "a page table that no live mm links");
		else if (ref != 1)
			violation(c, page, "a page table with refcount %d (must be 1)", ref);
		return;
	}
	if (s->huge_maps)
		violation(c, page, "mapped by %u huge leaves but not a compound page", s->huge_maps);
	if (PagePrivate(page) && !(s->what & SEEN_CACHE))
		violation(c, page, "a block reservation (PG_private) on a page outside any page "
				   "cache");
	if (PageSwapCache(page) && !(s->what & SEEN_SWAPCACHE))
		violation(c, page, "PG_swapcache on a page the swap cache does not hold");
	if (s->pte_maps && PageAnon(page))
		c->anon_mapped++;
	else if (s->pte_maps)
		c->file_mapped++;
	if (ref == 0) {
		violation(c, page, "neither free nor referenced");
		return;
	}
	in_flight(c, page);
	check_lru_state(c, page, s->pte_maps > 0);
	check_anon_exclusive(c, page, s->pte_maps, "a small page");
	check_longterm(c, page);
	if (page_mapcount(page) != (int)s->pte_maps)
		violation(c, page, "mapcount %d, but %u PTEs map it", page_mapcount(page),
			  s->pte_maps);

	expected = s->pte_maps + !!(s->what & SEEN_CACHE) + !!(s->what & SEEN_SWAPCACHE) +
		   is_zero_pfn(pfn);
	extra = ref - expected;
	if (extra < 0) {
		violation(c, page, "refcount %d below its %ld mappings and cache references", ref,
			  expected);
		return;
	}
	c->pins += extra / GUP_PIN_COUNTING_BIAS;
	if (expected == 0 && extra < GUP_PIN_COUNTING_BIAS && !(s->what & SEEN_HELD))
		violation(c, page, "allocated but reachable from nothing (refcount %d: leaked, or "
				   "held by a FOLL_GET reference)", ref);
}

static void check_compound(struct check *c, unsigned long pfn, unsigned long nr)
{
	struct page *head = pfn_to_page(pfn);
	struct seen *s = &c->seen[pfn];
	int ref = page_ref_count(head);
	long maps = s->huge_maps, expected, extra, pincount = 0, subpages_mapped = 0;
	atomic_int *unused;

	for (unsigned long i = 0; i < nr; i++) {
		struct page *page = head + i;
		struct seen *t = &c->seen[pfn + i];
		int mapcount = atomic_load_explicit(&page->_mapcount, memory_order_relaxed) + 1;

		if (i && (compound_head(page) != head || !PageTail(page)))
			violation(c, page, "tail %lu of a compound page does not point at its head", i);
		if (i && page_ref_count(page) != 0)
			violation(c, page, "tail %lu has refcount %d (must be 0)", i,
				  page_ref_count(page));
		if (i && (t->huge_maps || (t->what & ~SEEN_TABLE)))
			violation(c, page, "tail %lu is listed, cached or huge-mapped on its own", i);
		if (t->what & SEEN_TABLE)
			violation(c, page, "a page table inside a compound page");
		if (mapcount != (int)t->pte_maps)
			violation(c, page, "subpage %lu: _mapcount says %d PTE mappings, %u PTEs map it",
				  i, mapcount, t->pte_maps);
		maps += t->pte_maps;
		subpages_mapped += t->pte_maps > 0;
		/* hugetlb keeps the bit on its head only; a THP subpage's bit is its own. */
		if (i && PageHuge(head) && test_page_bit(PG_anon_exclusive, page))
			violation(c, page, "tail %lu of a hugetlb page carries PG_anon_exclusive", i);
		else
			check_anon_exclusive(c, page, t->pte_maps + s->huge_maps, "a compound page");
		if (i && test_page_bit(PG_longterm, page))
			violation(c, page, "tail %lu carries PG_longterm (kept on the head)", i);
	}
	/* What rmap.c accounts for a THP: all of it while a PMD maps it, else its subpages that
	 * PTEs map; hugetlb pages count in neither. */
	if (PageAnon(head) && !PageHuge(head)) {
		c->anon_mapped += s->huge_maps ? (long)nr : subpages_mapped;
		c->anon_thps += s->huge_maps > 0;
	}
	if (compound_mapcount(head) != (int)s->huge_maps)
		violation(c, head, "compound_mapcount %d, but %u huge leaves map it",
			  compound_mapcount(head), s->huge_maps);
	if (s->what & SEEN_POOL) {
		if (maps || ref)
			violation(c, head, "in a hugetlb pool but mapped or referenced");
		return;
	}
	if (s->what & SEEN_FREE)
		violation(c, head, "on a free list but a compound page");
	if (ref == 0) {
		violation(c, head, PageHuge(head) ? "a free hugetlb page outside its pool"
						  : "a compound page that is neither free nor referenced");
		return;
	}
	in_flight(c, head);
	check_lru_state(c, head, maps > 0);
	check_longterm(c, head);
	/* The exact count lives where the rule set puts it (page[2] for order > 1 under 5.7,
	 * page[1] for every order under modern rules); the other slot stays 0. */
	unused = compound_pincount_unused_ptr(head);
	if (unused && atomic_load_explicit(unused, memory_order_relaxed) != 0)
		violation(c, head, "a pin count of %d in page[%d], which the %s rules do not use",
			  atomic_load_explicit(unused, memory_order_relaxed),
			  unused == &head[1]._pincount ? 1 : 2, pinmm_rules_name(pinmm_rules()));
	if (hpage_pincount_available(head)) {
		pincount = atomic_load_explicit(compound_pincount_ptr(head), memory_order_relaxed);
		if (pincount < 0) {
			violation(c, head, "exact pincount %ld is negative", pincount);
			pincount = 0;
		}
	}
	expected = maps + !!(s->what & SEEN_CACHE) + pincount;
	extra = ref - expected;
	if (extra < 0) {
		violation(c, head, "refcount %d below its %ld mappings, cache references and pins",
			  ref, expected);
		return;
	}
	if (hpage_pincount_available(head))
		c->pins += pincount;
	else
		c->pins += extra / GUP_PIN_COUNTING_BIAS;
	if (expected == 0 && (hpage_pincount_available(head) || extra < GUP_PIN_COUNTING_BIAS) &&
	    !(c->seen[pfn].what & SEEN_HELD))
		violation(c, head, "allocated but reachable from nothing (refcount %d: leaked, or "
				   "held by a FOLL_GET reference)", ref);
}

static void check_frames(struct check *c)
{
	for (unsigned long pfn = 0; pfn < max_pfn;) {
		struct page *page = pfn_to_page(pfn);
		unsigned long nr;

		if (PageBuddy(page)) {
			if (!(c->seen[pfn].what & SEEN_FREE))
				violation(c, page, "a free block on no free list");
			if (c->seen[pfn].pte_maps || c->seen[pfn].huge_maps)
				violation(c, page, "a free block that page tables map");
			if (c->seen[pfn].what & SEEN_LRU)
				violation(c, page, "a free block on an LRU list");
			pfn += 1UL << page->private;
			continue;
		}
		/* Quarantined by a bad free, which reported it then; shutdown reports it again. */
		if (PageHWPoison(page)) {
			pfn++;
			continue;
		}
		if (PageTail(page)) {
			violation(c, page, "a tail page outside its compound page");
			pfn++;
			continue;
		}
		if (!PageHead(page)) {
			check_small(c, pfn++);
			continue;
		}
		nr = compound_nr(page);
		if (pfn + nr > max_pfn || pfn % nr) {
			violation(c, page, "a compound page of order %u that is not aligned in RAM",
				  compound_order(page));
			pfn++;
			continue;
		}
		check_compound(c, pfn, nr);
		pfn += nr;
	}
}

/* Device pages are idle at refcount 1 and mappings take no reference: what is above 1 is gets
 * and pins. */
static void walk_pagemap(struct dev_pagemap *pgmap, void *arg)
{
	struct check *c = arg;

	for (unsigned long i = 0; i < pgmap->nr_pages; i++) {
		struct page *page = pfn_to_page(pgmap->start_pfn + i);
		int ref = page_ref_count(page);

		if (ref < 1)
			violation(c, page, "a device page with refcount %d (idle is 1)", ref);
		else
			c->pins += (ref - 1) / GUP_PIN_COUNTING_BIAS;
	}
}

/* The counters that say how many pages are in each state, against what the walks saw. */
static void check_counters(struct check *c)
{
	static const struct {
		enum node_stat_item item;
		const char *name;
	} node[] = {{NR_FILE_PAGES, "nr_file_pages"},
		    {NR_SHMEM, "nr_shmem"},
		    {NR_ANON_MAPPED, "nr_anon_pages"},
		    {NR_FILE_MAPPED, "nr_mapped"},
		    {NR_ANON_THPS, "nr_anon_transparent_hugepages"}};
	const long seen[] = {c->cache_pages, c->shmem_pages, c->anon_mapped, c->file_mapped,
			     c->anon_thps};

	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &machine.zones[z];

		if (zone->spanned_pages && zone_page_state(zone, NR_FREE_PAGES) != c->free_pages[z])
			violation(c, NULL, "zone %s: nr_free_pages %ld, but its free lists hold %ld",
				  zone->name, zone_page_state(zone, NR_FREE_PAGES),
				  c->free_pages[z]);
	}
	if (global_zone_page_state(NR_PAGETABLE) != c->tables)
		violation(c, NULL, "nr_page_table_pages %ld, but live mms have %ld tables",
			  global_zone_page_state(NR_PAGETABLE), c->tables);
	for (size_t i = 0; i < sizeof(node) / sizeof(node[0]); i++)
		if (global_node_page_state(node[i].item) != seen[i])
			violation(c, NULL, "%s %ld, but the walk found %ld", node[i].name,
				  global_node_page_state(node[i].item), seen[i]);
}

static void check_reservations(struct check *c)
{
	unsigned long reserved = fs_reserved_blocks();

	if ((long)reserved != c->reserved)
		violation(c, NULL, "the file system counts %lu blocks reserved, the page caches "
				   "hold %ld pages with PG_private", reserved, c->reserved);
}

static void check_pin_stats(struct check *c)
{
	long acquired = global_node_page_state(NR_FOLL_PIN_ACQUIRED);
	long released = global_node_page_state(NR_FOLL_PIN_RELEASED);

	long owned = pin_owner_outstanding();

	if (acquired - released != c->pins)
		violation(c, NULL, "nr_foll_pin_acquired %ld - nr_foll_pin_released %ld = %ld, but "
				   "the counts show %ld pins", acquired, released, acquired - released,
			  c->pins);
	/* With pin owners on, every pin the counts hold has its open record. */
	if (owned >= 0 && owned != acquired - released)
		violation(c, NULL, "the pin owners hold %ld open pin(s), nr_foll_pin_acquired - "
				   "nr_foll_pin_released is %ld", owned, acquired - released);
}

/* The swap area's map against the page tables' entries and the swap cache: each slot's count
 * is the number of swap entries naming it, SWAP_HAS_CACHE is set exactly when a page is in
 * the cache for it, and that page is an order-0 swap-backed anonymous page that says so. */
static void walk_swap(struct check *c)
{
	unsigned long inuse = 0, cached = 0, area_inuse, area_cached;

	for (unsigned long off = 1; off < c->swap_max; off++) {
		unsigned int word = swap_map_word(off);
		struct page *page = swap_cache_page(off);

		if (word)
			inuse++;
		if ((word & SWAP_COUNT_MASK) != c->swap_entries[off])
			violation(c, page, "swap slot %lu: its count says %u entries, the page "
					   "tables hold %u", off, word & SWAP_COUNT_MASK,
				  c->swap_entries[off]);
		if (!!(word & SWAP_HAS_CACHE) != !!page)
			violation(c, page, "swap slot %lu: SWAP_HAS_CACHE %s, but %s page in the "
					   "swap cache", off, word & SWAP_HAS_CACHE ? "set" : "clear",
				  page ? "a" : "no");
		if (!page)
			continue;
		cached++;
		/* A page read ahead has no anon_vma until a fault maps it. */
		if (page_to_pfn(page) >= max_pfn || PageCompound(page) ||
		    (!PageAnon(page) && page_mapped(page)) || !PageSwapCache(page) ||
		    page->private != swp_entry(0, off).val) {
			violation(c, page, "swap slot %lu: its cached page is not an order-0 "
					   "swap-backed page of the swap cache for it", off);
			continue;
		}
		c->seen[page_to_pfn(page)].what |= SEEN_SWAPCACHE;
	}
	swap_area_counts(&area_inuse, &area_cached);
	if (area_inuse != inuse || area_cached != cached)
		violation(c, NULL, "the swap area counts %lu slots in use and %lu cached pages; its "
				   "map shows %lu and %lu", area_inuse, area_cached, inuse, cached);
}

long pinmm_check_invariants(void)
{
	struct check c = {0};
	size_t seen_len;

	if (!pinmm_booted())
		return -ENODEV;
	/* Lazily zeroed host memory: only the frames that the walks reach cost anything, and
	 * munmap gives it all back (a malloc'd block may stay in the process, which a 64 GiB
	 * machine's walk would notice). */
	seen_len = max_pfn * sizeof(*c.seen);
	c.seen = mmap(NULL, seen_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c.seen == MAP_FAILED)
		return -ENOMEM;
	c.swap_max = swap_area_max();
	if (c.swap_max) {
		c.swap_entries = calloc(c.swap_max, sizeof(*c.swap_entries));
		if (!c.swap_entries) {
			munmap(c.seen, seen_len);
			return -ENOMEM;
		}
	}
	rcu_barrier();
	walk_free_lists(&c);
	walk_lru_lists(&c);
	check_offline_blocks(&c);
	walk_pools(&c);
	for_each_mm(walk_mm, &c);
	for_each_address_space(walk_mapping, &c);
	for_each_dev_pagemap(walk_pagemap, &c);
	dma_for_each_held_page(walk_dma_page, &c);
	walk_swap(&c);
	check_frames(&c);
	check_counters(&c);
	check_reservations(&c);
	check_pin_stats(&c);
	if (c.violations > MAX_DUMPS)
		pinmm_log("pinmm: check: %ld more violations not shown\n", c.violations - MAX_DUMPS);
	munmap(c.seen, seen_len);
	free(c.swap_entries);
	return c.violations;
}

static unsigned long shutdown_check(void)
{
	long n = pinmm_check_invariants();

	return n > 0 ? (unsigned long)n : 0;
}

/* Linux would make this an initcall; a constructor runs when the library is loaded. */
__attribute__((constructor)) static void check_init(void)
{
	pinmm_set_shutdown_check(shutdown_check);
}
