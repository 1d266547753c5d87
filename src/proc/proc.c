/* SPDX-License-Identifier: MIT */
/*
 * /proc-style views (<pinmm/proc.h>): maps and smaps of an mm (Linux's fs/proc/task_mmu.c),
 * meminfo (fs/proc/meminfo.c), pagemap (task_mmu.c's pagemap_read()), kpagecount and
 * kpageflags (fs/proc/page.c, stable_page_flags()).
 *
 * It reads VMAs under the mm's mmap read lock and page tables through the one walker,
 * walk_page_range() (src/vm/pgtable.c), whose callbacks run under the page-table locks; the
 * physical views read struct pages without locks, as Linux's do, so a frame changing under
 * them shows either state.
 *
 * The rule that is easy to break: a frame inside a free buddy block has no meaningful struct
 * page (only the block's head is written at free, and boot writes one page in 1024), so the
 * physical views must find the free block a frame lies in (free_block_head()) before they
 * read anything of it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <pinmm/swap.h>

#include "internal.h"

static int mm_view_check(struct mm_struct *mm, const void *out)
{
	if (!out || !mm)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	return mm_check(mm);
}

/* ---- maps ---- */

/* The name column: a host file's path, the names Linux gives anonymous shared memory, or
 * nothing. */
static void vma_name(const struct vm_area_struct *vma, char *buf, size_t len)
{
	struct address_space *mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;
	char link[64];
	ssize_t n;

	buf[0] = '\0';
	/* Linux's MAP_HUGETLB mappings are of an unlinked hugetlbfs file, private ones too. */
	if (vma->vm_flags & VM_HUGETLB) {
		snprintf(buf, len, "/anon_hugepage (deleted)");
		return;
	}
	if (!vma->vm_file)
		return;
	if (!mapping || mapping->host_fd < 0) {
		snprintf(buf, len, "/dev/zero (deleted)");
		return;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", mapping->host_fd);
	n = readlink(link, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

static void vma_dev_ino(const struct vm_area_struct *vma, unsigned int *maj, unsigned int *min,
			unsigned long *ino)
{
	struct address_space *mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;
	struct stat st;

	*maj = *min = 0;
	*ino = 0;
	if (mapping && mapping->host_fd >= 0 && !fstat(mapping->host_fd, &st)) {
		*maj = major(st.st_dev);
		*min = minor(st.st_dev);
		*ino = (unsigned long)st.st_ino;
	}
}

/* Linux's show_map_vma(): the name starts at column 74 (seq_pad()). */
static int show_map_vma(FILE *out, const struct vm_area_struct *vma)
{
	unsigned long flags = vma->vm_flags, ino;
	unsigned long long pgoff = vma->vm_file ? (unsigned long long)vma->vm_pgoff << PAGE_SHIFT : 0;
	unsigned int maj, min;
	char name[PATH_MAX];
	int len;

	vma_dev_ino(vma, &maj, &min, &ino);
	vma_name(vma, name, sizeof(name));
	len = fprintf(out, "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", vma->vm_start,
		      vma->vm_end, flags & VM_READ ? 'r' : '-', flags & VM_WRITE ? 'w' : '-',
		      flags & VM_EXEC ? 'x' : '-', flags & VM_MAYSHARE ? 's' : 'p', pgoff, maj,
		      min, ino);
	if (len < 0)
		return -EIO;
	if (name[0] && fprintf(out, "%*s%s", len < 73 ? 73 - len : 0, "", name) < 0)
		return -EIO;
	return fputc('\n', out) == EOF ? -EIO : 0;
}

/* Run show on every VMA of mm under its mmap read lock. */
static int for_each_vma(struct mm_struct *mm, FILE *out,
			int (*show)(FILE *out, struct vm_area_struct *vma))
{
	int ret = mm_view_check(mm, out);

	if (ret)
		return ret;
	mmap_read_lock(mm);
	for (unsigned long i = 0; i < mm->nr_vmas && !ret; i++)
		ret = show(out, mm->vmas[i]);
	mmap_read_unlock(mm);
	if (!ret && fflush(out))
		ret = -EIO;
	return ret;
}

static int show_map(FILE *out, struct vm_area_struct *vma)
{
	return show_map_vma(out, vma);
}

int proc_pid_maps(struct mm_struct *mm, FILE *out)
{
	return for_each_vma(mm, out, show_map);
}

/* ---- smaps ---- */

#define PSS_SHIFT 12

struct mem_size_stats {
	unsigned long resident, shared_clean, shared_dirty, private_clean, private_dirty;
	unsigned long referenced, anonymous, anonymous_thp, shared_hugetlb, private_hugetlb;
	unsigned long pinned, longterm_pinned;
	unsigned long long pss, pss_locked;
	bool locked;
};

/* Linux's smaps_account() for size bytes of page (a small page, or a huge one mapped whole),
 * plus pinmm's pin fields. */
static void smaps_account(struct mem_size_stats *mss, struct page *page, unsigned long size,
			  bool young, bool dirty)
{
	struct page *head = compound_head(page);
	int mapcount = PageCompound(page) && size > PAGE_SIZE ? compound_mapcount(head)
							       : page_mapcount(page);
	unsigned long long pss = (unsigned long long)size << PSS_SHIFT;

	if (PageAnon(page))
		mss->anonymous += size;
	mss->resident += size;
	if (young || PageReferenced(page))
		mss->referenced += size;
	dirty = dirty || PageDirty(page);
	if (mapcount >= 2) {
		pss /= (unsigned long long)mapcount;
		if (dirty)
			mss->shared_dirty += size;
		else
			mss->shared_clean += size;
	} else if (dirty) {
		mss->private_dirty += size;
	} else {
		mss->private_clean += size;
	}
	mss->pss += pss;
	if (mss->locked)
		mss->pss_locked += pss;
	if (page_maybe_dma_pinned(head)) {
		mss->pinned += size;
		if (PageLongterm(head))
			mss->longterm_pinned += size;
	}
}

struct smaps_walk {
	struct vm_area_struct *vma;
	struct mem_size_stats *mss;
};

static int smaps_pte(pte_t *ptep, unsigned long addr, void *arg)
{
	struct smaps_walk *w = arg;
	pte_t pte = ptep_get(ptep);
	struct page *page;

	if (!pte_present(pte))
		return 0;
	/* NULL for the zero page and special entries: Linux leaves them out of smaps too. */
	page = vm_normal_page(w->vma, addr, pte);
	if (page)
		smaps_account(w->mss, page, PAGE_SIZE, pte_young(pte), pte_dirty(pte));
	return 0;
}

/* A hugetlb leaf: only the *_Hugetlb fields (and ours), as Linux's smaps_hugetlb_range(). */
static void smaps_hugetlb(struct mem_size_stats *mss, struct page *page, unsigned long size)
{
	if (page_mapcount(page) >= 2)
		mss->shared_hugetlb += size;
	else
		mss->private_hugetlb += size;
	if (page_maybe_dma_pinned(page)) {
		mss->pinned += size;
		if (PageLongterm(page))
			mss->longterm_pinned += size;
	}
}

static int smaps_pmd(pmd_t *pmdp, unsigned long addr, unsigned long end, void *arg)
{
	struct smaps_walk *w = arg;
	pmd_t pmd = pmdp_get(pmdp);
	struct page *page;

	(void)addr;
	(void)end;
	if (!pmd_present(pmd) || pmd_devmap(pmd))
		return 0;
	page = pfn_to_page(pmd_pfn(pmd));
	if (w->vma->vm_flags & VM_HUGETLB) {
		smaps_hugetlb(w->mss, page, PMD_SIZE);
		return 0;
	}
	if (is_zero_page(page))
		return 0;
	smaps_account(w->mss, page, HPAGE_PMD_SIZE, pmd_young(pmd), pmd_dirty(pmd));
	if (PageAnon(page))
		w->mss->anonymous_thp += HPAGE_PMD_SIZE;
	return 0;
}

static int smaps_pud(pud_t *pudp, unsigned long addr, unsigned long end, void *arg)
{
	struct smaps_walk *w = arg;
	pud_t pud = pudp_get(pudp);

	(void)addr;
	(void)end;
	if (pud_present(pud) && !pud_devmap(pud) && (w->vma->vm_flags & VM_HUGETLB))
		smaps_hugetlb(w->mss, pfn_to_page(pud_pfn(pud)), PUD_SIZE);
	return 0;
}

static const struct mm_walk_ops smaps_walk_ops = {
	.pud_leaf = smaps_pud,
	.pmd_leaf = smaps_pmd,
	.pte_entry = smaps_pte,
};

/* Linux's show_smap_vma_flags(): the two-letter mnemonics of the flags pinmm has. */
static int show_vma_flags(FILE *out, unsigned long flags)
{
	static const struct {
		unsigned long flag;
		const char *name;
	} mnemo[] = {
		{VM_READ, "rd"},	{VM_WRITE, "wr"},     {VM_EXEC, "ex"},	     {VM_SHARED, "sh"},
		{VM_MAYREAD, "mr"},	{VM_MAYWRITE, "mw"},  {VM_MAYEXEC, "me"},    {VM_MAYSHARE, "ms"},
		{VM_GROWSDOWN, "gd"},	{VM_PFNMAP, "pf"},    {VM_LOCKED, "lo"},     {VM_IO, "io"},
		{VM_DONTCOPY, "dc"},	{VM_DONTEXPAND, "de"}, {VM_NORESERVE, "nr"}, {VM_HUGETLB, "ht"},
		{VM_MIXEDMAP, "mm"},	{VM_HUGEPAGE, "hg"},  {VM_NOHUGEPAGE, "nh"},
	};
	int err = fputs("VmFlags:", out) == EOF;

	for (size_t i = 0; i < sizeof(mnemo) / sizeof(mnemo[0]); i++)
		if (flags & mnemo[i].flag)
			err |= fprintf(out, " %s", mnemo[i].name) < 0;
	err |= fputc('\n', out) == EOF;
	return err ? -EIO : 0;
}

static int kb_line(FILE *out, const char *name, unsigned long bytes)
{
	return fprintf(out, "%-16s%8lu kB\n", name, bytes >> 10) < 0;
}

static int show_smap(FILE *out, struct vm_area_struct *vma)
{
	struct mem_size_stats mss = {.locked = vma->vm_flags & VM_LOCKED};
	struct smaps_walk w = {vma, &mss};
	unsigned long page_size = vma->vm_flags & VM_HUGETLB ? 1UL << vma->vm_huge_shift
							     : PAGE_SIZE;
	int err, ret = show_map_vma(out, vma);

	if (ret)
		return ret;
	ret = walk_page_range(vma, vma->vm_start, vma->vm_end, &smaps_walk_ops, &w);
	if (ret < 0)
		return ret;
	err = kb_line(out, "Size:", vma->vm_end - vma->vm_start);
	err |= kb_line(out, "KernelPageSize:", page_size);
	err |= kb_line(out, "MMUPageSize:", page_size);
	err |= kb_line(out, "Rss:", mss.resident);
	err |= kb_line(out, "Pss:", (unsigned long)(mss.pss >> PSS_SHIFT));
	err |= kb_line(out, "Shared_Clean:", mss.shared_clean);
	err |= kb_line(out, "Shared_Dirty:", mss.shared_dirty);
	err |= kb_line(out, "Private_Clean:", mss.private_clean);
	err |= kb_line(out, "Private_Dirty:", mss.private_dirty);
	err |= kb_line(out, "Referenced:", mss.referenced);
	err |= kb_line(out, "Anonymous:", mss.anonymous);
	err |= kb_line(out, "LazyFree:", 0);
	err |= kb_line(out, "AnonHugePages:", mss.anonymous_thp);
	err |= kb_line(out, "ShmemPmdMapped:", 0);
	err |= kb_line(out, "FilePmdMapped:", 0);
	err |= kb_line(out, "Shared_Hugetlb:", mss.shared_hugetlb);
	err |= kb_line(out, "Private_Hugetlb:", mss.private_hugetlb);
	err |= kb_line(out, "Swap:", 0);
	err |= kb_line(out, "SwapPss:", 0);
	err |= kb_line(out, "Locked:", (unsigned long)(mss.pss_locked >> PSS_SHIFT));
	err |= fprintf(out, "THPeligible:    %8d\n",
		       !(vma->vm_flags & VM_HUGETLB) && vma->vm_end - vma->vm_start >= HPAGE_PMD_SIZE &&
			       transparent_hugepage_enabled(vma, (vma->vm_start + HPAGE_PMD_SIZE - 1) &
									 PMD_MASK)) < 0;
	err |= kb_line(out, "Pinned:", mss.pinned);
	err |= kb_line(out, "LongtermPinned:", mss.longterm_pinned);
	return err ? -EIO : show_vma_flags(out, vma->vm_flags);
}

int proc_pid_smaps(struct mm_struct *mm, FILE *out)
{
	return for_each_vma(mm, out, show_smap);
}

/* ---- meminfo, vmstat ---- */

static unsigned long lru_bytes(enum node_stat_item item)
{
	return (unsigned long)global_node_page_state(item) << PAGE_SHIFT;
}

int proc_meminfo(FILE *out)
{
	unsigned long total = 0, cma_total = 0;
	struct pinmm_swap_info swap;
	long free, file, shmem;
	int err;

	if (!out)
		return -EINVAL;
	if (!pinmm_booted() || pinmm_swap_info(&swap))
		return -ENODEV;
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = pinmm_zone((enum zone_type)z);

		total += zone->spanned_pages;
		cma_total += zone->cma_end_pfn - zone->cma_start_pfn;
	}
	free = global_zone_page_state(NR_FREE_PAGES);
	file = global_node_page_state(NR_FILE_PAGES);
	shmem = global_node_page_state(NR_SHMEM);
	/* Names and order: Linux 5.7's meminfo_proc_show(), the fields pinmm keeps counters for
	 * (docs/observability.md lists the others and the counters they will come from). */
	err = kb_line(out, "MemTotal:", total << PAGE_SHIFT);
	err |= kb_line(out, "MemFree:", (unsigned long)free << PAGE_SHIFT);
	/* Linux's si_mem_available() without reserves or watermarks: free, plus the page cache
	 * that is not shmem (pinmm cannot reclaim it yet, so this is an upper bound). */
	err |= kb_line(out, "MemAvailable:", (unsigned long)(free + file - shmem) << PAGE_SHIFT);
	err |= kb_line(out, "Buffers:", 0);
	err |= kb_line(out, "Cached:", (unsigned long)file << PAGE_SHIFT);
	err |= kb_line(out, "SwapCached:", swap.cached << PAGE_SHIFT);
	err |= kb_line(out, "Active:", lru_bytes(NR_ACTIVE_ANON) + lru_bytes(NR_ACTIVE_FILE));
	err |= kb_line(out, "Inactive:", lru_bytes(NR_INACTIVE_ANON) + lru_bytes(NR_INACTIVE_FILE));
	err |= kb_line(out, "Active(anon):", lru_bytes(NR_ACTIVE_ANON));
	err |= kb_line(out, "Inactive(anon):", lru_bytes(NR_INACTIVE_ANON));
	err |= kb_line(out, "Active(file):", lru_bytes(NR_ACTIVE_FILE));
	err |= kb_line(out, "Inactive(file):", lru_bytes(NR_INACTIVE_FILE));
	err |= kb_line(out, "Unevictable:", lru_bytes(NR_UNEVICTABLE));
	err |= kb_line(out, "SwapTotal:", swap.total << PAGE_SHIFT);
	err |= kb_line(out, "SwapFree:", swap.free << PAGE_SHIFT);
	err |= kb_line(out, "Dirty:", (unsigned long)global_node_page_state(NR_FILE_DIRTY)
					      << PAGE_SHIFT);
	err |= kb_line(out, "Writeback:", (unsigned long)global_node_page_state(NR_WRITEBACK)
						  << PAGE_SHIFT);
	err |= kb_line(out, "AnonPages:", (unsigned long)global_node_page_state(NR_ANON_MAPPED)
						  << PAGE_SHIFT);
	err |= kb_line(out, "Mapped:", (unsigned long)global_node_page_state(NR_FILE_MAPPED)
					       << PAGE_SHIFT);
	err |= kb_line(out, "Shmem:", (unsigned long)shmem << PAGE_SHIFT);
	err |= kb_line(out, "PageTables:", (unsigned long)global_zone_page_state(NR_PAGETABLE)
						   << PAGE_SHIFT);
	err |= kb_line(out, "AnonHugePages:",
		       (unsigned long)global_node_page_state(NR_ANON_THPS) * HPAGE_PMD_SIZE);
	err |= kb_line(out, "CmaTotal:", cma_total << PAGE_SHIFT);
	err |= kb_line(out, "CmaFree:", (unsigned long)global_zone_page_state(NR_FREE_CMA_PAGES)
						<< PAGE_SHIFT);
	if (err)
		return -EIO;
	return pinmm_hugetlb_report(out) ? -EIO : (fflush(out) ? -EIO : 0);
}

int proc_vmstat(FILE *out)
{
	if (!out)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	return pinmm_vmstat_print(out);
}

/* ---- pagemap ---- */

struct pagemap_walk {
	struct vm_area_struct *vma;
	unsigned long start; /* the address of entries[0] */
	uint64_t *entries;
};

static uint64_t pagemap_entry(struct page *page, unsigned long pfn)
{
	uint64_t e = PM_PRESENT | PM_SOFT_DIRTY | (pfn & PM_PFRAME_MASK);

	/* page NULL: the zero page or a special entry, present and nothing more (as Linux). */
	if (page && !PageAnon(page))
		e |= PM_FILE;
	if (page && page_mapcount(page) == 1)
		e |= PM_MMAP_EXCLUSIVE;
	return e;
}

static int pagemap_pte(pte_t *ptep, unsigned long addr, void *arg)
{
	struct pagemap_walk *w = arg;
	pte_t pte = ptep_get(ptep);

	if (pte_present(pte)) {
		w->entries[(addr - w->start) >> PAGE_SHIFT] =
			pagemap_entry(vm_normal_page(w->vma, addr, pte), pte_pfn(pte));
	} else if (is_swap_pte(pte)) {
		/* Linux's pte_to_pagemap_entry(): the swap type in bits 0-4, the offset above. */
		swp_entry_t entry = pte_to_swp_entry(pte);

		w->entries[(addr - w->start) >> PAGE_SHIFT] =
			PM_SWAP | PM_SOFT_DIRTY |
			(((uint64_t)swp_type(entry) | ((uint64_t)swp_offset(entry) << 5)) &
			 PM_PFRAME_MASK);
	}
	return 0;
}

static void pagemap_huge(struct pagemap_walk *w, unsigned long leaf_pfn, unsigned long leaf_addr,
			 unsigned long addr, unsigned long end)
{
	for (; addr < end; addr += PAGE_SIZE) {
		unsigned long pfn = leaf_pfn + ((addr - leaf_addr) >> PAGE_SHIFT);
		struct page *page = pfn_to_page(pfn);

		w->entries[(addr - w->start) >> PAGE_SHIFT] =
			pagemap_entry(is_zero_page(compound_head(page)) ? NULL : page, pfn);
	}
}

static int pagemap_pmd(pmd_t *pmdp, unsigned long addr, unsigned long end, void *arg)
{
	pmd_t pmd = pmdp_get(pmdp);

	if (pmd_present(pmd) && !pmd_devmap(pmd))
		pagemap_huge(arg, pmd_pfn(pmd), addr & PMD_MASK, addr, end);
	return 0;
}

static int pagemap_pud(pud_t *pudp, unsigned long addr, unsigned long end, void *arg)
{
	pud_t pud = pudp_get(pudp);

	if (pud_present(pud) && !pud_devmap(pud))
		pagemap_huge(arg, pud_pfn(pud), addr & PUD_MASK, addr, end);
	return 0;
}

static const struct mm_walk_ops pagemap_walk_ops = {
	.pud_leaf = pagemap_pud,
	.pmd_leaf = pagemap_pmd,
	.pte_entry = pagemap_pte,
};

long proc_pid_pagemap(struct mm_struct *mm, unsigned long addr, unsigned long nr,
		      uint64_t *entries)
{
	unsigned long end = addr + (nr << PAGE_SHIFT);
	struct pagemap_walk w = {.start = addr, .entries = entries};
	int ret = mm_view_check(mm, entries);

	if (ret)
		return ret;
	if ((addr & ~PAGE_MASK) || nr > TASK_SIZE >> PAGE_SHIFT || addr > TASK_SIZE ||
	    end > TASK_SIZE)
		return -EINVAL;
	memset(entries, 0, nr * sizeof(*entries));
	mmap_read_lock(mm);
	for (struct vm_area_struct *vma = find_vma(mm, addr); vma && vma->vm_start < end && !ret;
	     vma = find_vma(mm, vma->vm_end)) {
		w.vma = vma;
		ret = walk_page_range(vma, addr > vma->vm_start ? addr : vma->vm_start,
				      end < vma->vm_end ? end : vma->vm_end, &pagemap_walk_ops, &w);
	}
	mmap_read_unlock(mm);
	return ret < 0 ? ret : (long)nr;
}

/* ---- kpagecount, kpageflags ---- */

/* The head of the free buddy block that pfn lies in, or NULL when pfn is not free. */
static struct page *free_block_head(unsigned long pfn)
{
	for (unsigned int order = 0; order < MAX_ORDER; order++) {
		struct page *head = pfn_to_page(pfn & ~((1UL << order) - 1));

		if (PageBuddy(head) && head->private >= order)
			return head;
	}
	return NULL;
}

static uint64_t kpf_bit(const struct page *page, int pg, int kpf)
{
	return test_page_bit(pg, page) ? 1ULL << kpf : 0;
}

uint64_t stable_page_flags(const struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	struct page *buddy = pfn < max_pfn ? free_block_head(pfn) : NULL;
	const struct page *head;
	uint64_t k = 0;

	if (pfn >= max_pfn)
		return 1ULL << KPF_NOPAGE;
	if (buddy)
		return buddy == page ? 1ULL << KPF_BUDDY : 0;
	if (PageTable(page))
		return 1ULL << KPF_PGTABLE;
	head = compound_head(page);
	if (page_mapped(page))
		k |= 1ULL << KPF_MMAP;
	if (PageAnon(page))
		k |= 1ULL << KPF_ANON;
	if (PageHead(page))
		k |= 1ULL << KPF_COMPOUND_HEAD;
	else if (PageTail(page))
		k |= 1ULL << KPF_COMPOUND_TAIL;
	if (PageHuge(page))
		k |= 1ULL << KPF_HUGE;
	else if (PageCompound(page) && PageAnon(page) && compound_order(head) == HPAGE_PMD_ORDER)
		k |= 1ULL << KPF_THP;
	if (is_zero_page(head))
		k |= 1ULL << KPF_ZERO_PAGE;
	/* The flags kept on the head stand for the whole compound page (Linux's folio). */
	k |= kpf_bit(head, PG_locked, KPF_LOCKED) | kpf_bit(head, PG_error, KPF_ERROR) |
	     kpf_bit(head, PG_referenced, KPF_REFERENCED) | kpf_bit(head, PG_uptodate, KPF_UPTODATE) |
	     kpf_bit(head, PG_dirty, KPF_DIRTY) | kpf_bit(head, PG_lru, KPF_LRU) |
	     kpf_bit(head, PG_active, KPF_ACTIVE) | kpf_bit(head, PG_writeback, KPF_WRITEBACK) |
	     kpf_bit(head, PG_reclaim, KPF_RECLAIM) | kpf_bit(head, PG_swapbacked, KPF_SWAPBACKED) |
	     kpf_bit(head, PG_unevictable, KPF_UNEVICTABLE) | kpf_bit(page, PG_hwpoison, KPF_HWPOISON) |
	     kpf_bit(page, PG_reserved, KPF_RESERVED) | kpf_bit(head, PG_mlocked, KPF_MLOCKED) |
	     kpf_bit(page, PG_private, KPF_PRIVATE) | kpf_bit(page, PG_private_2, KPF_PRIVATE_2) |
	     kpf_bit(page, PG_owner_priv_1, KPF_OWNER_PRIVATE) | kpf_bit(page, PG_arch_1, KPF_ARCH) |
	     kpf_bit(page, PG_uncached, KPF_UNCACHED);
	if (!PageAnon(page))
		k |= kpf_bit(head, PG_mappedtodisk, KPF_MAPPEDTODISK);
	if (page_ref_count(head) > 0 && page_maybe_dma_pinned(head)) {
		k |= 1ULL << KPF_PINMM_PINNED;
		if (PageLongterm(head))
			k |= 1ULL << KPF_PINMM_LONGTERM;
	}
	return k;
}

static long kpage_read(unsigned long pfn, unsigned long nr, uint64_t *out,
		       uint64_t (*one)(unsigned long pfn))
{
	unsigned long i;

	if (!out)
		return -EINVAL;
	if (!pinmm_booted())
		return -ENODEV;
	for (i = 0; i < nr && pfn + i < max_pfn && pfn + i >= pfn; i++)
		out[i] = one(pfn + i);
	return (long)i;
}

static uint64_t kpagecount_one(unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);

	if (free_block_head(pfn) || PageTable(page))
		return 0;
	return (uint64_t)page_mapcount(page);
}

static uint64_t kpageflags_one(unsigned long pfn)
{
	return stable_page_flags(pfn_to_page(pfn));
}

long proc_kpagecount(unsigned long pfn, unsigned long nr, uint64_t *out)
{
	return kpage_read(pfn, nr, out, kpagecount_one);
}

long proc_kpageflags(unsigned long pfn, unsigned long nr, uint64_t *out)
{
	return kpage_read(pfn, nr, out, kpageflags_one);
}
