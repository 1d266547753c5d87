/* SPDX-License-Identifier: MIT */
/*
 * The /proc views (<pinmm/proc.h>): maps and smaps lines for anonymous, file, shared
 * anonymous, THP and hugetlb VMAs, with pinmm's Pinned and LongtermPinned; pagemap's bits for
 * present, exclusive and file pages, the zero page and holes; kpagecount and kpageflags for a
 * THP's head and tail, the zero page, a hugetlb page, a free block and pinned pages; meminfo's
 * fields against the counters; and every bad argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "test_mm_util.h"

#define BASE 0x40000000UL

static int setup(void **state)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.movable_bytes = 0; /* long-term pins stay where the pages are */
	cfg.nr_hugepages_2m = 2;
	return boot_with_mm(state, &cfg);
}

/* What print(mm, out) writes, as a string (freed by the caller). */
static char *view(int (*print)(struct mm_struct *, FILE *), struct mm_struct *mm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	check_eq(print(mm, out), 0, "the view's return");
	fclose(out);
	return buf;
}

/* The block of smaps for the VMA starting at start (up to its VmFlags line). */
static const char *smaps_of(const char *smaps, unsigned long start)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "%08lx-", start);
	p = strstr(smaps, key);
	if (!p)
		fail_msg("no VMA at %#lx in smaps:\n%s", start, smaps);
	return p;
}

/* The value in kB of field in the smaps block at vma. */
static long smaps_field(const char *vma, const char *field)
{
	char key[40];
	const char *p;
	long kb = 0;

	snprintf(key, sizeof(key), "\n%s:", field);
	p = strstr(vma, key);
	if (!p || sscanf(p + strlen(key), "%ld kB", &kb) != 1)
		fail_msg("no %s field in:\n%.2000s", field, vma);
	return kb;
}

static void expect_field(const char *smaps, unsigned long start, const char *field, long kb,
			 const char *what)
{
	long found = smaps_field(smaps_of(smaps, start), field);

	if (found != kb)
		fail_msg("%s: %s of the VMA at %#lx: expected %ld kB, found %ld kB\n%s", what, field,
			 start, kb, found, smaps_of(smaps, start));
}

static void test_maps_lines(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long anon = map(BASE, PG(4), RW, ANON | MAP_FIXED, "anon");
	unsigned long ro = map(BASE + PG(8), PG(1), PROT_READ, ANON | MAP_FIXED, "read-only");
	unsigned long shanon = map(BASE + PG(16), PG(2), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
				   "shared anon");
	unsigned long huge = map(BASE + SZ_1G, SZ_2M, RW, ANON | MAP_HUGETLB | MAP_FIXED, "hugetlb");
	struct file *f = filp_open("/tmp", O_TMPFILE | O_RDWR, 0600);
	unsigned long fmap = 0;
	char *maps, line[256];
	regex_t re;

	if (!IS_ERR(f)) {
		check_eq(vfs_truncate(f, PG(4)), 0, "size the file");
		fmap = vm_mmap(f, 0, PG(2), PROT_READ, MAP_SHARED, 2);
		assert_false(IS_ERR_VALUE(fmap));
	}
	maps = view(proc_pid_maps, mm);
	snprintf(line, sizeof(line), "%08lx-%08lx rw-p 00000000 00:00 0 \n", anon, anon + PG(4));
	check_true(strstr(maps, line), "the anonymous VMA's line \"%s\" in:\n%s", line, maps);
	snprintf(line, sizeof(line), "%08lx-%08lx r--p 00000000 00:00 0 \n", ro, ro + PG(1));
	check_true(strstr(maps, line), "the read-only VMA's line \"%s\" in:\n%s", line, maps);
	snprintf(line, sizeof(line), "%08lx-%08lx rw-s 00000000 00:00 0", shanon, shanon + PG(2));
	check_true(strstr(maps, line) && strstr(maps, " /dev/zero (deleted)\n"),
		   "the shared anonymous VMA's line \"%s ... /dev/zero (deleted)\" in:\n%s", line, maps);
	snprintf(line, sizeof(line), "%08lx-%08lx rw-p 00000000 00:00 0", huge, huge + SZ_2M);
	check_true(strstr(maps, line) && strstr(maps, " /anon_hugepage (deleted)\n"),
		   "the hugetlb VMA's line in:\n%s", maps);
	if (fmap) {
		snprintf(line, sizeof(line), "%08lx-%08lx r--s 00002000 ", fmap, fmap + PG(2));
		check_true(strstr(maps, line) && strstr(maps, " /tmp/"),
			   "the file VMA's line \"%s... /tmp/...\" in:\n%s", line, maps);
	}
	/* Every line: Linux's columns (the space after the inode even without a name), the
	 * name (if any) from column 74. */
	assert_int_equal(regcomp(&re, "^[0-9a-f]{8,}-[0-9a-f]{8,} [r-][w-][x-][sp] [0-9a-f]{8} "
				      "[0-9a-f]{2}:[0-9a-f]{2} [0-9]+ ( */.*)?$",
				 REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	for (char *l = maps, *end; *l; l = end + 1) {
		end = strchr(l, '\n');
		*end = '\0';
		if (regexec(&re, l, 0, NULL, 0))
			fail_msg("a maps line not in Linux's format: \"%s\"", l);
		if (strchr(l, '/') && strchr(l, '/') - l != 73)
			fail_msg("the name does not start at column 74: \"%s\"", l);
	}
	regfree(&re);
	free(maps);
	if (fmap) {
		unmap(fmap, PG(2), "file");
		fput(f);
	}
	unmap(anon, PG(4), "anon");
	unmap(ro, PG(1), "read-only");
	unmap(shanon, PG(2), "shared anon");
	unmap(huge, SZ_2M, "hugetlb");
}

static void test_smaps_fields_and_pins(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long anon = map(BASE, PG(4), RW, ANON | MAP_FIXED, "anon");
	unsigned long thp = map(BASE + SZ_2M, SZ_2M, RW, ANON | MAP_FIXED, "THP");
	unsigned long huge = map(BASE + SZ_1G, SZ_2M, RW, ANON | MAP_HUGETLB | MAP_FIXED, "hugetlb");
	struct page *pages[3], *lt;
	char *smaps;

	tag_pages(anon, 4, 1, "anon");
	put_word(thp, 2, "THP");
	put_word(huge, 3, "hugetlb");
	expect_level(mm, thp, LEAF_PMD, "the THP");
	check_eq(pin_user_pages_fast(anon, 2, FOLL_WRITE, pages), 2, "pin 2 anon pages");
	check_eq(pin_user_pages_fast(anon + PG(3), 1, FOLL_WRITE | FOLL_LONGTERM, &lt), 1,
		 "long-term pin of the 4th page");
	check_eq(pin_user_pages_fast(huge, 1, FOLL_WRITE | FOLL_LONGTERM, &pages[2]), 1,
		 "long-term pin of the hugetlb page");
	smaps = view(proc_pid_smaps, mm);
	expect_field(smaps, anon, "Size", 16, "4 anon pages");
	expect_field(smaps, anon, "Rss", 16, "4 anon pages");
	expect_field(smaps, anon, "Pss", 16, "4 anon pages");
	expect_field(smaps, anon, "Private_Dirty", 16, "4 anon pages");
	expect_field(smaps, anon, "Anonymous", 16, "4 anon pages");
	expect_field(smaps, anon, "Pinned", 12, "2 pages pinned, 1 long-term");
	expect_field(smaps, anon, "LongtermPinned", 4, "2 pages pinned, 1 long-term");
	expect_field(smaps, thp, "Rss", 2048, "a THP");
	expect_field(smaps, thp, "AnonHugePages", 2048, "a THP");
	expect_field(smaps, thp, "Pinned", 0, "a THP");
	expect_field(smaps, huge, "Rss", 0, "a hugetlb page (Linux counts it apart)");
	expect_field(smaps, huge, "Private_Hugetlb", 2048, "a hugetlb page");
	expect_field(smaps, huge, "KernelPageSize", 2048, "a hugetlb page");
	expect_field(smaps, huge, "Pinned", 2048, "a long-term pinned hugetlb page");
	expect_field(smaps, huge, "LongtermPinned", 2048, "a long-term pinned hugetlb page");
	check_true(strstr(smaps_of(smaps, thp), "THPeligible:           1\n"),
		   "THPeligible of the THP VMA:\n%s", smaps_of(smaps, thp));
	check_true(strstr(smaps_of(smaps, anon), "VmFlags: rd wr mr mw me"),
		   "VmFlags of the anon VMA:\n%s", smaps_of(smaps, anon));
	free(smaps);
	unpin_user_pages(pages, 2);
	unpin_user_page(lt);
	unpin_user_page(pages[2]);
	check_true(!PageLongterm(page_at(mm, anon + PG(3))), "PG_longterm after the last unpin");
	/* Shared after fork: Pss halves, the pages are Shared_*. */
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	smaps = view(proc_pid_smaps, mm);
	expect_field(smaps, anon, "Pinned", 0, "after every unpin");
	expect_field(smaps, anon, "LongtermPinned", 0, "after every unpin");
	expect_field(smaps, anon, "Pss", 8, "4 pages shared with a child");
	expect_field(smaps, anon, "Shared_Dirty", 16, "4 pages shared with a child");
	free(smaps);
	mmput(child);
	unmap(anon, PG(4), "anon");
	unmap(thp, SZ_2M, "THP");
	unmap(huge, SZ_2M, "hugetlb");
}

static void test_pagemap_bits(void **state)
{
	struct mm_struct *mm = *state, *child;
	unsigned long a = map(BASE, PG(4), RW, ANON | MAP_FIXED, "anon");
	unsigned long shanon = map(BASE + PG(8), PG(1), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
				   "shared anon");
	unsigned long thp = map(BASE + SZ_2M, SZ_2M, RW, ANON | MAP_FIXED, "THP");
	uint64_t e[4], s, t[2];
	unsigned long pfn;

	put_word(a, 1, "page 0");
	(void)get_word(a + PG(1), "page 1 (read: the zero page)");
	put_word(shanon, 2, "shared anon");
	put_word(thp, 3, "THP");
	check_eq(proc_pid_pagemap(mm, a, 4, e), 4L, "pagemap of 4 pages");
	pfn = page_to_pfn(page_at(mm, a));
	check_eq(e[0], PM_PRESENT | PM_SOFT_DIRTY | PM_MMAP_EXCLUSIVE | pfn,
		 "a written anonymous page");
	check_eq(e[1], PM_PRESENT | PM_SOFT_DIRTY | zero_pfn(), "a page read: the zero page");
	check_eq(e[2], 0ULL, "a page never touched");
	check_eq(proc_pid_pagemap(mm, shanon, 1, &s), 1L, "pagemap of the shared page");
	check_eq(s & ~PM_PFRAME_MASK, PM_PRESENT | PM_SOFT_DIRTY | PM_MMAP_EXCLUSIVE | PM_FILE,
		 "a shared anonymous page's bits");
	check_eq(proc_pid_pagemap(mm, thp + PG(5), 2, t), 2L, "pagemap inside the THP");
	check_eq(t[0] & PM_PFRAME_MASK, page_to_pfn(page_at(mm, thp)) + 5, "THP subpage 5's pfn");
	check_eq(t[1] & PM_PFRAME_MASK, page_to_pfn(page_at(mm, thp)) + 6, "THP subpage 6's pfn");
	check_true(t[0] & PM_MMAP_EXCLUSIVE, "a THP subpage mapped once");
	child = pinmm_fork(mm);
	assert_false(IS_ERR(child));
	check_eq(proc_pid_pagemap(mm, a, 1, e), 1L, "pagemap after fork");
	check_eq(e[0], PM_PRESENT | PM_SOFT_DIRTY | pfn, "a page shared with a child");
	mmput(child);
	/* Holes and bad arguments. */
	check_eq(proc_pid_pagemap(mm, BASE + SZ_1G, 1, e), 1L, "pagemap of a hole");
	check_eq(e[0], 0ULL, "a page outside every VMA");
	check_eq(proc_pid_pagemap(mm, a + 1, 1, e), -EINVAL, "an unaligned address");
	check_eq(proc_pid_pagemap(mm, TASK_SIZE - PAGE_SIZE, 2, e), -EINVAL, "past TASK_SIZE");
	check_eq(proc_pid_pagemap(mm, a, 1, NULL), -EINVAL, "a NULL array");
	check_eq(proc_pid_pagemap(NULL, a, 1, e), -EINVAL, "a NULL mm");
	unmap(a, PG(4), "anon");
	unmap(shanon, PG(1), "shared anon");
	unmap(thp, SZ_2M, "THP");
}

static uint64_t kflags(unsigned long pfn)
{
	uint64_t f;

	check_eq(proc_kpageflags(pfn, 1, &f), 1L, "kpageflags of pfn %#lx", pfn);
	return f;
}

static uint64_t kcount(unsigned long pfn)
{
	uint64_t c;

	check_eq(proc_kpagecount(pfn, 1, &c), 1L, "kpagecount of pfn %#lx", pfn);
	return c;
}

#define B(x) (1ULL << KPF_##x)

static void test_kpageflags_and_kpagecount(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long a = map(BASE, PG(2), RW, ANON | MAP_FIXED, "anon");
	unsigned long thp = map(BASE + SZ_2M, SZ_2M, RW, ANON | MAP_FIXED, "THP");
	unsigned long huge = map(BASE + SZ_1G, SZ_2M, RW, ANON | MAP_HUGETLB | MAP_FIXED, "hugetlb");
	unsigned long head_pfn, page_pfn, free_pfn;
	struct page *pinned, *free;
	uint64_t buf[4];

	put_word(a, 1, "anon");
	put_word(thp, 2, "THP");
	put_word(huge, 3, "hugetlb");
	(void)get_word(a + PG(1), "the zero page");
	head_pfn = page_to_pfn(page_at(mm, thp));
	page_pfn = page_to_pfn(page_at(mm, a));
	check_eq(kflags(head_pfn) & (B(COMPOUND_HEAD) | B(COMPOUND_TAIL) | B(THP) | B(ANON) |
				     B(MMAP) | B(HUGE)),
		 B(COMPOUND_HEAD) | B(THP) | B(ANON) | B(MMAP), "a THP's head");
	check_eq(kflags(head_pfn + 1) & (B(COMPOUND_HEAD) | B(COMPOUND_TAIL) | B(THP) | B(ANON)),
		 B(COMPOUND_TAIL) | B(THP) | B(ANON), "a THP's tail");
	check_eq(kcount(head_pfn), 1ULL, "a THP's head mapped by one PMD");
	check_eq(kcount(head_pfn + 7), 1ULL, "a THP's tail mapped by one PMD");
	check_true(kflags(zero_pfn()) & B(ZERO_PAGE), "the zero page");
	check_eq(kflags(page_to_pfn(page_at(mm, huge))) & (B(HUGE) | B(COMPOUND_HEAD)),
		 B(HUGE) | B(COMPOUND_HEAD), "a hugetlb page's head");
	check_eq(kflags(page_pfn) & (B(PINMM_PINNED) | B(PINMM_LONGTERM)), 0ULL,
		 "an anonymous page not pinned");
	check_eq(pin_user_pages_fast(a, 1, FOLL_WRITE, &pinned), 1, "pin");
	check_eq(kflags(page_pfn) & (B(PINMM_PINNED) | B(PINMM_LONGTERM)), B(PINMM_PINNED),
		 "a pinned page");
	unpin_user_page(pinned);
	check_eq(pin_user_pages_fast(thp, 1, FOLL_WRITE | FOLL_LONGTERM, &pinned), 1,
		 "long-term pin of a THP subpage");
	check_eq(kflags(head_pfn + 3) & (B(PINMM_PINNED) | B(PINMM_LONGTERM)),
		 B(PINMM_PINNED) | B(PINMM_LONGTERM), "a tail of a long-term pinned THP");
	unpin_user_page(pinned);
	check_eq(kflags(head_pfn) & (B(PINMM_PINNED) | B(PINMM_LONGTERM)), 0ULL,
		 "the THP after its unpin");
	/* A free page: a buddy block's head, nothing for the rest of the block. */
	free = alloc_pages(GFP_KERNEL, 1);
	assert_non_null(free);
	free_pfn = page_to_pfn(free);
	__free_pages(free, 1);
	check_true(kflags(free_pfn) & B(BUDDY), "the head of a free block");
	check_eq(kcount(free_pfn), 0ULL, "a free page's count");
	/* The end of the file, bad arguments. */
	check_eq(proc_kpageflags(max_pfn - 1, 4, buf), 1L, "a read across max_pfn");
	check_eq(proc_kpagecount(max_pfn, 4, buf), 0L, "a read at max_pfn");
	check_eq(proc_kpageflags(0, 1, NULL), -EINVAL, "a NULL array");
	unmap(a, PG(2), "anon");
	unmap(thp, SZ_2M, "THP");
	unmap(huge, SZ_2M, "hugetlb");
}

static long meminfo_kb(const char *text, const char *field)
{
	const char *p = strstr(text, field);
	long kb = 0;

	if (!p || sscanf(p + strlen(field), " %ld kB", &kb) != 1)
		fail_msg("no %s line in meminfo:\n%s", field, text);
	return kb;
}

static void test_meminfo(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	unsigned long a = map(0, PG(16), RW, ANON | MAP_POPULATE, "16 pages");

	(void)state;
	check_eq(proc_meminfo(out), 0, "meminfo");
	fclose(out);
	check_eq(meminfo_kb(buf, "MemTotal:"), 1024L * 1024, "MemTotal of a 1 GiB machine");
	check_eq(meminfo_kb(buf, "MemFree:"), global_zone_page_state(NR_FREE_PAGES) * 4,
		 "MemFree against NR_FREE_PAGES");
	check_true(meminfo_kb(buf, "AnonPages:") >= 64, "AnonPages with 16 pages mapped");
	check_eq(meminfo_kb(buf, "Active(anon):") + meminfo_kb(buf, "Inactive(anon):"),
		 (global_node_page_state(NR_ACTIVE_ANON) + global_node_page_state(NR_INACTIVE_ANON)) * 4,
		 "the anonymous LRU lists against their counters");
	check_eq(meminfo_kb(buf, "Active:"),
		 meminfo_kb(buf, "Active(anon):") + meminfo_kb(buf, "Active(file):"),
		 "Active is anon + file");
	check_true(strstr(buf, "HugePages_Total:"), "the hugetlb lines in:\n%s", buf);
	check_true(strstr(buf, "MemTotal:        1048576 kB\n"), "Linux's column layout:\n%s", buf);
	free(buf);
	check_eq(proc_meminfo(NULL), -EINVAL, "meminfo into NULL");
	check_eq(proc_vmstat(NULL), -EINVAL, "vmstat into NULL");
	check_eq(proc_pid_maps(NULL, stdout), -EINVAL, "maps of a NULL mm");
	check_eq(proc_pid_smaps(*state, NULL), -EINVAL, "smaps into NULL");
	unmap(a, PG(16), "16 pages");
}

static void test_not_booted(void **state)
{
	uint64_t e;

	(void)state;
	check_eq(proc_meminfo(stdout), -ENODEV, "meminfo without a machine");
	check_eq(proc_vmstat(stdout), -ENODEV, "vmstat without a machine");
	check_eq(proc_kpageflags(0, 1, &e), -ENODEV, "kpageflags without a machine");
	check_eq(proc_kpagecount(0, 1, &e), -ENODEV, "kpagecount without a machine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_maps_lines, setup, teardown_mm),
		cmocka_unit_test_setup_teardown(test_smaps_fields_and_pins, setup, teardown_mm),
		cmocka_unit_test_setup_teardown(test_pagemap_bits, setup, teardown_mm),
		cmocka_unit_test_setup_teardown(test_kpageflags_and_kpagecount, setup, teardown_mm),
		test_with_mm(test_meminfo),
		cmocka_unit_test(test_not_booted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
