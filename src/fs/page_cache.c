/* SPDX-License-Identifier: MIT */
/*
 * The page cache of one file: struct page_cache (address_space->i_pages), a radix tree from
 * page offset to struct page under one mutex, and the operations that add and remove pages.
 *
 * The tree has 64 slots a node; its height grows with the largest index stored, so a sparse
 * file costs one path of nodes per cluster of pages, not an array as large as the file. Empty
 * nodes are freed as pages go, and the root shrinks back when only its first slot is used.
 *
 * The rule that is easy to break: a page is in the tree exactly while it has page->mapping set
 * and holds the cache's reference. The three change together with the page locked: on the way
 * in before anyone can see the page, on the way out under the cache lock. Lookups take their own
 * reference under the cache lock, where the cache's reference keeps the count above zero (Linux
 * does this without a lock: RCU and get_page_unless_zero()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PC_MAP_SHIFT 6
#define PC_MAP_SIZE (1UL << PC_MAP_SHIFT)
#define PC_MAP_MASK (PC_MAP_SIZE - 1)
/* Enough levels of 6 bits for a 64-bit index. */
#define PC_MAX_HEIGHT ((64 + PC_MAP_SHIFT - 1) / PC_MAP_SHIFT)

struct pc_node {
	void *slots[PC_MAP_SIZE]; /* child nodes, or pages in the bottom level */
	unsigned int count;       /* slots in use */
};

struct page_cache {
	pthread_mutex_t lock;
	struct pc_node *root;
	unsigned int height; /* levels, root included; 0 when empty */
};

/* The largest index a tree of this height can hold. */
static pgoff_t pc_max_index(unsigned int height)
{
	if (height * PC_MAP_SHIFT >= 64)
		return ~0UL;
	return (1UL << (height * PC_MAP_SHIFT)) - 1;
}

static unsigned int pc_shift(unsigned int level_height)
{
	return (level_height - 1) * PC_MAP_SHIFT;
}

/* ---- the tree; cache->lock held ---- */

/* The bottom-level slot for index, or NULL when the path to it does not exist. */
static void **pc_lookup_slot(struct page_cache *cache, pgoff_t index)
{
	struct pc_node *node = cache->root;

	if (!node || index > pc_max_index(cache->height))
		return NULL;
	for (unsigned int h = cache->height; h > 1; h--) {
		node = node->slots[(index >> pc_shift(h)) & PC_MAP_MASK];
		if (!node)
			return NULL;
	}
	return &node->slots[index & PC_MAP_MASK];
}

/* Add levels above the root until index fits. 0 or -ENOMEM. */
static int pc_extend(struct page_cache *cache, pgoff_t index)
{
	if (!cache->root) {
		cache->height = 1;
		while (index > pc_max_index(cache->height))
			cache->height++;
		return 0;
	}
	while (index > pc_max_index(cache->height)) {
		struct pc_node *node = kzalloc(sizeof(*node));

		if (!node)
			return -ENOMEM;
		node->slots[0] = cache->root;
		node->count = 1;
		cache->root = node;
		cache->height++;
	}
	return 0;
}

/* Store page at index. 0, -EEXIST or -ENOMEM; a failure may leave empty nodes behind, which
 * later insertions reuse and page_cache_destroy() frees. */
static int pc_insert(struct page_cache *cache, pgoff_t index, struct page *page)
{
	struct pc_node *parent = NULL;
	void **slot = (void **)&cache->root;
	int err = pc_extend(cache, index);

	if (err)
		return err;
	for (unsigned int h = cache->height; h > 0; h--) {
		struct pc_node *node = *slot;

		if (!node) {
			node = kzalloc(sizeof(*node));
			if (!node)
				return -ENOMEM;
			*slot = node;
			if (parent)
				parent->count++;
		}
		parent = node;
		slot = &node->slots[(index >> pc_shift(h)) & PC_MAP_MASK];
	}
	if (*slot)
		return -EEXIST;
	*slot = page;
	parent->count++;
	return 0;
}

/* Remove the entry at index (present), freeing the nodes it leaves empty. */
static void pc_delete(struct page_cache *cache, pgoff_t index)
{
	struct pc_node *path[PC_MAX_HEIGHT];
	unsigned int offsets[PC_MAX_HEIGHT];
	struct pc_node *node = cache->root;
	int level;

	for (unsigned int h = cache->height, i = 0; h > 0; h--, i++) {
		path[i] = node;
		offsets[i] = (index >> pc_shift(h)) & PC_MAP_MASK;
		node = node->slots[offsets[i]];
	}
	for (level = (int)cache->height - 1; level >= 0; level--) {
		path[level]->slots[offsets[level]] = NULL;
		if (--path[level]->count > 0)
			break;
		free(path[level]);
	}
	if (level < 0) {
		cache->root = NULL;
		cache->height = 0;
		return;
	}
	/* A root that only uses slot 0 is one level too many. */
	while (cache->height > 1 && cache->root->count == 1 && cache->root->slots[0]) {
		node = cache->root;
		cache->root = node->slots[0];
		cache->height--;
		free(node);
	}
}

/* The first page at an index >= start in the subtree of node (height h, first index base). */
static struct page *pc_next_in(struct pc_node *node, unsigned int h, pgoff_t base,
			       pgoff_t start, pgoff_t *found)
{
	unsigned int shift = pc_shift(h);
	unsigned long i = start > base ? (start - base) >> shift : 0;

	for (; i < PC_MAP_SIZE; i++) {
		pgoff_t child_base = base + ((pgoff_t)i << shift);
		struct page *page;

		if (!node->slots[i])
			continue;
		if (h == 1) {
			*found = child_base;
			return node->slots[i];
		}
		page = pc_next_in(node->slots[i], h - 1, child_base, start, found);
		if (page)
			return page;
	}
	return NULL;
}

static struct page *pc_next(struct page_cache *cache, pgoff_t start, pgoff_t *found)
{
	if (!cache->root || start > pc_max_index(cache->height))
		return NULL;
	return pc_next_in(cache->root, cache->height, 0, start, found);
}

/* ---- life of a cache ---- */

struct page_cache *page_cache_create(void)
{
	struct page_cache *cache = kzalloc(sizeof(*cache));

	if (cache)
		pthread_mutex_init(&cache->lock, NULL);
	return cache;
}

static void pc_free_nodes(struct pc_node *node, unsigned int height)
{
	if (!node)
		return;
	if (height > 1)
		for (unsigned long i = 0; i < PC_MAP_SIZE; i++)
			pc_free_nodes(node->slots[i], height - 1);
	free(node);
}

void page_cache_destroy(struct page_cache *cache)
{
	pgoff_t index;

	WARN_ON_ONCE(pc_next(cache, 0, &index) != NULL);
	pc_free_nodes(cache->root, cache->height);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

/* ---- pages in and out ---- */

struct page *page_cache_alloc(struct address_space *mapping)
{
	struct page *page;

	if (!mapping->shmem)
		return alloc_page(GFP_HIGHUSER_MOVABLE);
	/* shmem has nothing to read a page from: it starts as zeroes. */
	page = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_ZERO);
	if (page)
		__SetPageSwapBacked(page);
	return page;
}

int add_to_page_cache(struct page *page, struct address_space *mapping, pgoff_t index)
{
	struct page_cache *cache = mapping->i_pages;
	int err;

	/* Nobody else sees the page yet: the non-atomic flag update is safe. */
	__SetPageLocked(page);
	page->mapping = mapping;
	page->index = index;
	page_ref_inc(page);
	pthread_mutex_lock(&cache->lock);
	err = pc_insert(cache, index, page);
	if (!err)
		atomic_fetch_add_explicit(&mapping->nrpages, 1, memory_order_relaxed);
	pthread_mutex_unlock(&cache->lock);
	if (err) {
		page_ref_dec(page);
		page->mapping = NULL;
		__ClearPageLocked(page);
		return err;
	}
	/* hugetlb pages are counted by their pool alone, as in Linux. */
	if (PageHuge(page))
		return 0;
	mod_node_page_state(NR_FILE_PAGES, 1);
	if (PageSwapBacked(page))
		mod_node_page_state(NR_SHMEM, 1);
	return 0;
}

int add_to_page_cache_lru(struct page *page, struct address_space *mapping, pgoff_t index)
{
	int err = add_to_page_cache(page, mapping, index);

	if (!err)
		lru_cache_add(page);
	return err;
}

void delete_from_page_cache(struct page *page)
{
	struct address_space *mapping = page->mapping;
	struct page_cache *cache = mapping->i_pages;

	VM_BUG_ON(!PageLocked(page));
	/* Dirty data that was not written back is lost here; cancel_dirty_page() should have
	 * been called, as in Linux's unaccount_page_cache_page(). */
	if (WARN_ON_ONCE(PageDirty(page)))
		cancel_dirty_page(page);
	pthread_mutex_lock(&cache->lock);
	pc_delete(cache, page->index);
	page->mapping = NULL;
	atomic_fetch_sub_explicit(&mapping->nrpages, 1, memory_order_relaxed);
	pthread_mutex_unlock(&cache->lock);
	if (!PageHuge(page)) {
		mod_node_page_state(NR_FILE_PAGES, -1);
		if (PageSwapBacked(page))
			mod_node_page_state(NR_SHMEM, -1);
	}
	put_page(page);
}

bool __remove_mapping(struct address_space *mapping, struct page *page)
{
	struct page_cache *cache = mapping->i_pages;
	void **slot;

	VM_BUG_ON(!PageLocked(page));
	/* Under the cache lock no lookup can take a reference between the freeze and the
	 * deletion: lookups take theirs under this lock (as page_cache_migrate()). */
	pthread_mutex_lock(&cache->lock);
	slot = pc_lookup_slot(cache, page->index);
	if (page->mapping != mapping || !slot || *slot != page || !page_ref_freeze(page, 2)) {
		pthread_mutex_unlock(&cache->lock);
		return false;
	}
	/* Dirtied by someone who had a reference before the freeze (Linux's check after it). */
	if (PageDirty(page)) {
		page_ref_unfreeze(page, 2);
		pthread_mutex_unlock(&cache->lock);
		return false;
	}
	pc_delete(cache, page->index);
	page->mapping = NULL;
	atomic_fetch_sub_explicit(&mapping->nrpages, 1, memory_order_relaxed);
	pthread_mutex_unlock(&cache->lock);
	mod_node_page_state(NR_FILE_PAGES, -1);
	if (PageSwapBacked(page))
		mod_node_page_state(NR_SHMEM, -1);
	return true;
}

int page_cache_migrate(struct page *old, struct page *new)
{
	struct page_cache *cache = old->mapping->i_pages;
	void **slot;

	VM_BUG_ON(!PageLocked(old) || !PageLocked(new));
	/* Under the cache lock no lookup can take a reference between the freeze and the
	 * switch: lookups take theirs under this lock. */
	pthread_mutex_lock(&cache->lock);
	slot = pc_lookup_slot(cache, old->index);
	if (!slot || *slot != old || !page_ref_freeze(old, 2)) {
		pthread_mutex_unlock(&cache->lock);
		return -EAGAIN;
	}
	/* Nobody can write old now: no PTE maps it, no reference but ours and the cache's
	 * frozen one, and writers of the cache hold the page lock, which the caller holds. */
	memcpy(page_address(new), page_address(old), PAGE_SIZE);
	new->mapping = old->mapping;
	new->index = old->index;
	page_ref_inc(new); /* the cache's reference */
	*slot = new;
	pthread_mutex_unlock(&cache->lock);
	return 0;
}

/* ---- lookups ---- */

struct page *find_get_page(struct address_space *mapping, pgoff_t index)
{
	struct page_cache *cache = mapping->i_pages;
	struct page *page = NULL;
	void **slot;

	pthread_mutex_lock(&cache->lock);
	slot = pc_lookup_slot(cache, index);
	if (slot && *slot) {
		page = *slot;
		get_page(page);
	}
	pthread_mutex_unlock(&cache->lock);
	return page;
}

/* find_lock_page(), and with create find_or_create_page(). */
static struct page *pagecache_get_page(struct address_space *mapping, pgoff_t index,
				       bool create)
{
	struct page *page;
	int err;

repeat:
	page = find_get_page(mapping, index);
	if (page) {
		lock_page(page);
		if (page->mapping == mapping)
			return page;
		/* Truncated while we slept on the lock. */
		unlock_page(page);
		put_page(page);
		goto repeat;
	}
	if (!create)
		return NULL;
	page = page_cache_alloc(mapping);
	if (!page)
		return NULL;
	err = add_to_page_cache_lru(page, mapping, index);
	if (err) {
		put_page(page);
		if (err == -EEXIST)
			goto repeat;
		return NULL;
	}
	return page;
}

struct page *find_lock_page(struct address_space *mapping, pgoff_t index)
{
	return pagecache_get_page(mapping, index, false);
}

struct page *find_or_create_page(struct address_space *mapping, pgoff_t index)
{
	return pagecache_get_page(mapping, index, true);
}

unsigned int find_get_pages(struct address_space *mapping, pgoff_t *start,
			    unsigned int nr_pages, struct page **pages)
{
	struct page_cache *cache = mapping->i_pages;
	unsigned int nr = 0;
	pgoff_t index = *start;

	pthread_mutex_lock(&cache->lock);
	while (nr < nr_pages) {
		struct page *page = pc_next(cache, index, &index);

		if (!page)
			break;
		get_page(page);
		pages[nr++] = page;
		/* Indices stay below i_size >> PAGE_SHIFT < 2^52: this cannot wrap. */
		*start = ++index;
	}
	pthread_mutex_unlock(&cache->lock);
	return nr;
}
