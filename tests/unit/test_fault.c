/* SPDX-License-Identifier: MIT */
/*
 * Page faults on anonymous 4 KiB memory (fault.h) and the user-access routines built on them
 * (uaccess.h): a read fault maps the shared zero page through a special PTE and a later write
 * replaces it with a private zeroed page; handle_mm_fault() called directly; copy_to_user /
 * copy_from_user across page boundaries and up to an unmapped page; access_remote_vm() on an
 * mm the thread does not use, with and without FOLL_FORCE; the mm's rss counters and the
 * pgfault event count.
 *
 * Mappings here are smaller than 2 MiB, so THP never applies. The page tables are read with
 * test_mm_util.h's walker (the test thread is alone in its mm).
 */
#include <errno.h>
#include <unistd.h> /* test_util.h uses ftruncate() */

#include "test_mm_util.h"
#include "vm/internal.h" /* vm_normal_page(): it takes a raw PTE, internal to the library */

#define BASE 0x10000000UL

static unsigned long nr_faults(void)
{
	return global_vm_event_count(PGFAULT);
}

/* Run this thread in another mm (map something there, say), then come back. */
static void switch_mm(struct mm_struct *from, struct mm_struct *to)
{
	kthread_unuse_mm(from);
	kthread_use_mm(to);
}

/* ---- the zero page, then a private page ---- */

static void test_read_fault_maps_zero_page_then_write_copies(void **state)
{
	struct mm_struct *mm = *state;
	struct page *zero = ZERO_PAGE(0);
	int zero_ref = page_count(zero);
	long anon0 = nr_anon();
	static unsigned char buf[PAGE_SIZE];
	unsigned long addr = map(0, PG(2), RW, ANON, "2 RW pages");
	struct page *page;
	pte_t pte;

	/* A read of untouched anonymous memory maps the zero page: special, read-only. */
	memset(buf, 0xa5, sizeof(buf));
	check_eq(copy_from_user(buf, addr, PAGE_SIZE), 0, "reading an untouched page");
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		if (buf[i])
			fail_msg("read fault: byte %lu reads %#x, expected 0", i, buf[i]);
	pte = pte_at(mm, addr);
	check_eq(pte_present(pte), true, "read fault: PTE %#lx", pte.pte);
	check_eq(pte_pfn(pte), zero_pfn(), "read fault: the PTE maps the zero page");
	check_eq(is_zero_pfn(pte_pfn(pte)), true, "read fault");
	check_eq(pte_special(pte), true, "read fault: the zero page's PTE is special");
	check_eq(pte_write(pte), false, "read fault: the zero page is mapped read-only");
	check_eq(PageReserved(zero), true, "the zero page");
	check_eq(page_count(zero), zero_ref, "read fault: zero page refcount");
	check_eq(page_mapcount(zero), 0, "read fault: the zero page has no mapcount");
	check_eq(rss_anon(mm), 0, "read fault: the zero page is not in rss");
	check_eq(nr_anon(), anon0, "read fault: nr_anon_pages");
	mmap_read_lock(mm);
	check_eq(vm_normal_page(vma_lookup(mm, addr), addr, pte) == NULL, true,
		 "vm_normal_page() of the zero page's PTE");
	mmap_read_unlock(mm);

	/* A second page read maps the same zero page; still no reference taken. */
	check_eq(copy_from_user(buf, addr + PG(1), 16), 0, "reading page 1");
	check_eq(pte_pfn(pte_at(mm, addr + PG(1))), zero_pfn(), "read fault of page 1");
	check_eq(page_count(zero), zero_ref, "two zero-page mappings: zero page refcount");

	/* A write replaces it with a private zeroed page. */
	buf[0] = 0x5c;
	check_eq(copy_to_user(addr + 100, buf, 1), 0, "writing a zero-page-mapped page");
	pte = pte_at(mm, addr);
	check_eq(pte_pfn(pte) == zero_pfn(), false, "write after read: PTE no longer zero page");
	check_eq(pte_special(pte), false, "write after read: PTE %#lx", pte.pte);
	check_eq(pte_write(pte), true, "write after read: PTE %#lx", pte.pte);
	check_eq(pte_dirty(pte), true, "write after read: PTE %#lx", pte.pte);
	page = pfn_to_page(pte_pfn(pte));
	check_eq(PageAnon(page), true, "the new private page");
	check_eq(page_mapcount(page), 1, "the new private page");
	check_eq(page_count(page), 1, "the new private page");
	check_eq(PageCompound(page), false, "a 4 KiB fault");
	check_eq(rss_anon(mm), 1, "write after read: rss");
	check_eq(nr_anon(), anon0 + 1, "write after read: nr_anon_pages");
	check_eq(page_count(zero), zero_ref, "write after read: zero page refcount");
	check_eq(pte_pfn(pte_at(mm, addr + PG(1))), zero_pfn(), "page 1 still maps the zero page");
	memset(buf, 0xa5, sizeof(buf));
	check_eq(copy_from_user(buf, addr, PAGE_SIZE), 0, "reading the new page");
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		check_eq(buf[i], i == 100 ? 0x5c : 0, "new page: byte %lu", i);
	check_eq(((unsigned char *)page_address(page))[100], 0x5c, "the frame holds the write");
}

static void test_handle_mm_fault_directly(void **state)
{
	struct mm_struct *mm = *state;
	unsigned long addr = map(0, PG(2), RW, ANON, "2 RW pages");
	unsigned long faults = nr_faults();
	struct vm_area_struct *vma;
	struct page *page;
	vm_fault_t ret;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	assert_non_null(vma);

	ret = handle_mm_fault(vma, addr + 5, 0);
	check_eq(ret, 0, "read fault on an empty PTE");
	check_eq(pte_pfn(pte_at(mm, addr)), zero_pfn(), "handle_mm_fault(read) maps the zero page");

	ret = handle_mm_fault(vma, addr, FAULT_FLAG_WRITE);
	check_eq(ret, VM_FAULT_WRITE, "write fault on the zero page (wp_page_copy)");
	page = page_at(mm, addr);
	check_eq(page != NULL && PageAnon(page), true, "write fault on the zero page");
	check_eq(pte_write(pte_at(mm, addr)), true, "write fault on the zero page");

	ret = handle_mm_fault(vma, addr + PG(1), FAULT_FLAG_WRITE);
	check_eq(ret & VM_FAULT_ERROR, 0, "write fault on an empty PTE");
	check_eq(page_at(mm, addr + PG(1)) != NULL, true, "write fault on an empty PTE maps a page");
	check_eq(pte_write(pte_at(mm, addr + PG(1))), true, "write fault on an empty PTE");

	/* A fault on a PTE that already allows the access changes nothing. */
	ret = handle_mm_fault(vma, addr, FAULT_FLAG_WRITE);
	check_eq(ret & VM_FAULT_ERROR, 0, "write fault on a writable PTE");
	check_eq(page_at(mm, addr) == page, true, "write fault on a writable PTE keeps the page");
	mmap_read_unlock(mm);

	check_eq(nr_faults() - faults, 4, "four handle_mm_fault() calls: pgfault");
	check_eq(rss_anon(mm), 2, "two pages written by handle_mm_fault()");
}

/* ---- copies ---- */

static void test_copy_round_trip_across_pages(void **state)
{
	enum { LEN = 2 * PAGE_SIZE + 300, OFF = PAGE_SIZE - 150 };
	static unsigned char out[LEN], in[LEN + 200];
	unsigned long addr = map(0, PG(4), RW, ANON, "4 RW pages");

	(void)state;
	for (unsigned int i = 0; i < LEN; i++)
		out[i] = (unsigned char)(i * 7 + 3);
	/* Bytes [OFF, OFF + LEN) touch pages 0, 1, 2 and 3. */
	check_eq(copy_to_user(addr + OFF, out, LEN), 0, "copy_to_user across 4 pages");
	memset(in, 0xee, sizeof(in));
	check_eq(copy_from_user(in, addr + OFF - 100, LEN + 200), 0, "copy_from_user across pages");
	for (unsigned int i = 0; i < LEN + 200; i++) {
		unsigned char want = (i < 100 || i >= LEN + 100) ? 0 : out[i - 100];

		if (in[i] != want)
			fail_msg("round trip at %#lx: byte %u (page %lu) reads %#x, expected %#x",
				 addr + OFF - 100 + i, i, (OFF - 100 + i) / PAGE_SIZE, in[i], want);
	}
}

static void test_copy_up_to_unmapped_page(void **state)
{
	static unsigned char buf[PG(3)];
	unsigned long word = 0x1234;

	(void)state;
	/*
	 * 0123
	 * AA..   copies starting in A and running into the hole stop at its first byte
	 */
	map(BASE, PG(2), RW, ANON | MAP_FIXED, "2 pages at BASE");
	memset(buf, 0x3c, sizeof(buf));
	check_eq(copy_to_user(BASE, buf, PG(3)), PAGE_SIZE,
		 "copy_to_user of 3 pages into AA.: bytes not copied");
	check_eq(copy_to_user(BASE + PG(2) - 10, buf, 30), 20,
		 "copy_to_user of 30 bytes from 10 before the hole");
	check_eq(copy_to_user(BASE + PG(2), &word, sizeof(word)), sizeof(word),
		 "copy_to_user into the hole");
	check_eq(copy_to_user(BASE + PG(100), buf, PG(2)), PG(2),
		 "copy_to_user far from any mapping");
	memset(buf, 0, sizeof(buf));
	check_eq(copy_from_user(buf, BASE + PAGE_SIZE, PG(2)), PAGE_SIZE,
		 "copy_from_user of the last page and the hole");
	for (unsigned long i = 0; i < PAGE_SIZE; i++)
		check_eq(buf[i], 0x3c, "copy_from_user up to the hole: byte %lu", i);
	for (unsigned long i = PAGE_SIZE; i < PG(2); i++)
		check_eq(buf[i], 0, "copy_from_user leaves the rest of the buffer: byte %lu", i);
}

/* ---- another mm ---- */

static void test_access_remote_vm_other_mm(void **state)
{
	struct mm_struct *mm = *state, *other = mm_alloc();
	char msg[] = "written from outside", back[sizeof(msg)] = {0};
	unsigned long addr;

	assert_non_null(other);
	switch_mm(mm, other);
	addr = map(BASE, PG(2), RW, ANON | MAP_FIXED, "other mm: 2 pages at BASE");
	switch_mm(other, mm);

	/* This thread's own mm has nothing at BASE. */
	check_eq(copy_from_user(back, BASE, sizeof(back)), sizeof(back),
		 "own mm has nothing at BASE");
	check_eq(access_remote_vm(other, addr + PAGE_SIZE - 5, msg, sizeof(msg), FOLL_WRITE),
		 sizeof(msg), "access_remote_vm(FOLL_WRITE) across a page boundary of the other mm");
	check_eq(access_remote_vm(other, addr + PAGE_SIZE - 5, back, sizeof(back), 0),
		 sizeof(back), "access_remote_vm read of the other mm");
	check_eq(strcmp(back, msg), 0, "round trip through the other mm: read \"%s\"", back);
	check_eq(atomic_load(&other->rss_stat[MM_ANONPAGES]), 2, "other mm: both pages written");
	check_eq(rss_anon(mm), 0, "own mm untouched");
	check_eq(access_remote_vm(other, addr + PG(2), back, 8, 0), 0,
		 "access_remote_vm beyond the other mm's mapping");
	check_eq(access_remote_vm(other, addr + PG(2) - 4, back, 8, 0), 4,
		 "access_remote_vm running off the end of the other mm's mapping");
	check_eq(access_remote_vm(NULL, addr, back, 8, 0), 0, "access_remote_vm(NULL mm)");
	mmput(other);
}

static void test_foll_force_write_to_readonly_private(void **state)
{
	struct mm_struct *mm = *state, *other = mm_alloc();
	char data[] = "poke", back[sizeof(data)] = {0};
	unsigned long addr, flags;
	struct page *zero = ZERO_PAGE(0);
	int zero_ref = page_count(zero);
	pte_t pte;

	/* A PROT_READ private mapping of the other mm, read once: it maps the zero page. */
	assert_non_null(other);
	switch_mm(mm, other);
	addr = map(BASE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED, "other mm: PROT_READ page");
	check_eq(copy_from_user(back, addr, sizeof(back)), 0, "read of the PROT_READ page");
	switch_mm(other, mm);
	check_eq(pte_pfn(pte_at(other, addr)), zero_pfn(), "PROT_READ page after a read");

	/* Without FOLL_FORCE nothing is written. */
	check_eq(access_remote_vm(other, addr, data, sizeof(data), FOLL_WRITE), 0,
		 "access_remote_vm(FOLL_WRITE) on a PROT_READ mapping");
	check_eq(pte_pfn(pte_at(other, addr)), zero_pfn(), "refused write left the zero page");

	/* With FOLL_FORCE (ptrace's poke) the write goes to a private copy (COW of the zero
	 * page), which stays read-only for the process. */
	check_eq(access_remote_vm(other, addr, data, sizeof(data), FOLL_WRITE | FOLL_FORCE),
		 sizeof(data), "access_remote_vm(FOLL_WRITE | FOLL_FORCE) on a PROT_READ mapping");
	pte = pte_at(other, addr);
	check_eq(pte_pfn(pte) == zero_pfn(), false, "forced write: a private copy replaced it");
	check_eq(PageAnon(pfn_to_page(pte_pfn(pte))), true, "forced write: the copy");
	check_eq(page_mapcount(pfn_to_page(pte_pfn(pte))), 1, "forced write: the copy");
	check_eq(pte_write(pte), false, "forced write: the PTE stays read-only (%#lx)", pte.pte);
	check_eq(pte_dirty(pte), true, "forced write: the PTE is dirty (%#lx)", pte.pte);
	check_eq(page_count(zero), zero_ref, "forced write: the zero page's refcount");
	memset(back, 0, sizeof(back));
	check_eq(access_remote_vm(other, addr, back, sizeof(back), 0), sizeof(back),
		 "reading the forced write back");
	check_eq(strcmp(back, data), 0, "forced write reads back \"%s\"", back);
	mmap_read_lock(other);
	flags = vma_lookup(other, addr)->vm_flags;
	mmap_read_unlock(other);
	check_eq(flags & VM_WRITE, 0, "the forced write did not make the VMA writable");
	check_eq(atomic_load(&other->rss_stat[MM_ANONPAGES]), 1, "other mm: the private copy");

	/* The process itself still cannot write there. */
	switch_mm(mm, other);
	check_eq(copy_to_user(addr, data, sizeof(data)), sizeof(data),
		 "copy_to_user into the PROT_READ page after the forced write");
	switch_mm(other, mm);

	/* FOLL_FORCE overrides protections, not holes: nothing is mapped past the page. */
	check_eq(access_remote_vm(other, addr + PAGE_SIZE, data, sizeof(data),
				  FOLL_WRITE | FOLL_FORCE),
		 0, "forced write to no mapping");
	mmput(other);
}

/* ---- counters ---- */

static void test_rss_follows_faults_and_munmap(void **state)
{
	struct mm_struct *mm = *state;
	unsigned char byte = 1;
	long anon0 = nr_anon();

	/*
	 * 01234567
	 * WWWWWRRR   pages 0-4 written, 5-7 only read
	 */
	map(BASE, PG(8), RW, ANON | MAP_FIXED, "8 pages");
	for (unsigned int i = 0; i < 5; i++)
		check_eq(copy_to_user(BASE + PG(i), &byte, 1), 0, "write to page %u", i);
	check_eq(rss_anon(mm), 5, "5 written pages");
	for (unsigned int i = 5; i < 8; i++)
		check_eq(copy_from_user(&byte, BASE + PG(i), 1), 0, "read of page %u", i);
	check_eq(rss_anon(mm), 5, "3 more pages only read (zero page)");
	check_eq(atomic_load(&mm->rss_stat[MM_FILEPAGES]), 0, "no file pages");
	check_eq(nr_anon() - anon0, 5, "nr_anon_pages after 5 written pages");

	check_eq(vm_munmap(BASE + PG(3), PG(3)), 0, "munmap pages 3-5");
	check_eq(rss_anon(mm), 3, "munmap of 2 written pages and 1 zero page");
	check_eq(nr_anon() - anon0, 3, "munmap of 2 written pages");
	check_eq(vm_munmap(BASE, PG(8)), 0, "munmap the rest");
	check_eq(rss_anon(mm), 0, "everything unmapped");
	check_eq(nr_anon(), anon0, "everything unmapped");
}

static void test_pgfault_counts(void **state)
{
	struct mm_struct *mm = *state;
	unsigned char byte = 9;
	unsigned long f;

	map(BASE, PG(3), RW, ANON | MAP_FIXED, "3 pages");
	f = nr_faults();
	check_eq(copy_to_user(BASE, &byte, 1), 0, "first write to page 0");
	check_eq(nr_faults() - f, 1, "first write to an untouched page: one fault");
	f = nr_faults();
	check_eq(copy_to_user(BASE + 1, &byte, 1), 0, "second write to page 0");
	check_eq(copy_from_user(&byte, BASE, 1), 0, "read of page 0");
	check_eq(nr_faults() - f, 0, "accesses to a present writable page: no fault");
	f = nr_faults();
	check_eq(copy_from_user(&byte, BASE + PG(1), 1), 0, "read of page 1");
	check_eq(nr_faults() - f, 1, "read of an untouched page: one fault");
	check_eq(copy_to_user(BASE + PG(1), &byte, 1), 0, "write to zero-page-mapped page 1");
	check_eq(nr_faults() - f, 2, "then a write to it: a second (COW) fault");
	f = nr_faults();
	check_eq(copy_to_user(BASE + PG(2) - 2, "abc", 4), 0, "write of 4 bytes over pages 1-2");
	check_eq(nr_faults() - f, 1, "write straddling a present and an untouched page");
	check_eq(rss_anon(mm), 3, "three pages written");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_mm, teardown_mm)
		T(test_read_fault_maps_zero_page_then_write_copies),
		T(test_handle_mm_fault_directly),
		T(test_copy_round_trip_across_pages),
		T(test_copy_up_to_unmapped_page),
		T(test_access_remote_vm_other_mm),
		T(test_foll_force_write_to_readonly_private),
		T(test_rss_follows_faults_and_munmap),
		T(test_pgfault_counts),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
