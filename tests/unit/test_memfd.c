/* SPDX-License-Identifier: MIT */
/*
 * The files the cow and gup_longterm catalogues map: memfd_file_create() (memfd_create(2): a
 * shmem file of size 0 that vfs_truncate() sizes) and a tmpfile(3)-like host file
 * (filp_open(dir, O_TMPFILE | O_RDWR)). Its bad flags and names fail with Linux's errno and
 * create nothing; a memfd's pages are shared by its shared mappings and copied for private
 * ones, and read as zero until written; past its size a mapping faults with SIGBUS; a tmpfile's
 * shared writes reach the host file.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "test_mm_util.h"

static void test_memfd_bad_arguments(void **state)
{
	char name[300];
	long free0 = nr_free();
	struct {
		const char *what, *name;
		unsigned int flags;
		long err;
	} cases[] = {
		{"an unknown flag", "x", 0x100, -EINVAL},
		{"a huge page size without MFD_HUGETLB", "x", 21u << MFD_HUGE_SHIFT, -EINVAL},
		{"NULL name", NULL, 0, -EFAULT},
		{"bad flags and a NULL name: the flags first, as Linux", NULL, 0x100, -EINVAL},
		{"a 250-byte name", name, 0, -EINVAL},
		{"MFD_HUGETLB (hugetlb files cannot start empty)", "x", MFD_HUGETLB, -ENOSYS},
		{"MFD_HUGETLB | MFD_HUGE_2MB", "x", MFD_HUGETLB | (21u << MFD_HUGE_SHIFT), -ENOSYS},
	};

	(void)state;
	memset(name, 'n', sizeof(name));
	name[250] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct file *f = memfd_file_create(cases[i].name, cases[i].flags);

		check_true(IS_ERR(f), "%s: memfd_file_create() should fail", cases[i].what);
		check_eq(PTR_ERR(f), cases[i].err, "%s: the error", cases[i].what);
	}
	check_eq(nr_free(), free0, "free pages after the refusals");

	/* The longest name Linux takes, and the flags with no effect here. */
	name[249] = '\0';
	for (unsigned int flags = 0; flags <= (MFD_CLOEXEC | MFD_ALLOW_SEALING); flags++) {
		struct file *f = memfd_file_create(name, flags);

		check_true(!IS_ERR(f), "a 249-byte name with flags %#x", flags);
		check_eq(i_size_read(f->f_mapping), 0, "a new memfd's size (flags %#x)", flags);
		check_true(f->f_mapping->shmem, "a memfd is shmem (flags %#x)", flags);
		check_eq(f->f_mode, FMODE_READ | FMODE_WRITE, "a memfd is read-write");
		fput(f);
	}
}

/* cow.c's memfd backing: one page, a private RW mapping and a shared RO one. */
static void test_memfd_private_and_shared_mappings(void **state)
{
	struct mm_struct *mm = *state;
	struct file *f = memfd_file_create("cow", 0);
	unsigned long priv, shared, shared2;
	struct page *cache_page;

	assert_false(IS_ERR(f));
	assert_int_equal(vfs_truncate(f, (loff_t)PAGE_SIZE), 0);
	priv = vm_mmap(f, 0, PAGE_SIZE, RW, MAP_PRIVATE, 0);
	shared = vm_mmap(f, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	shared2 = vm_mmap(f, 0, PAGE_SIZE, RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(priv) || IS_ERR_VALUE(shared) || IS_ERR_VALUE(shared2));
	check_eq(get_word(priv, "private read") + get_word(shared, "shared read"), 0,
		 "a new memfd reads as zero");
	cache_page = page_at(mm, shared);
	check_ptr(page_at(mm, priv), cache_page, "a private read maps the page cache's page");

	put_word(shared2, 0x5151, "a shared write");
	check_eq(get_word(shared, "shared read"), 0x5151, "the other shared mapping sees it");
	check_eq(get_word(priv, "private read"), 0x5151, "the private mapping, not COWed, too");
	put_word(priv, 0x7777, "a private write");
	check_true(page_at(mm, priv) != cache_page, "a private write copies the page");
	check_true(PageAnon(page_at(mm, priv)), "the copy is anonymous");
	check_eq(get_word(shared, "shared read"), 0x5151, "the file does not see the copy");

	/* Past the size: SIGBUS, which copy_from_user reports as bytes not copied. */
	vm_munmap(shared2, PAGE_SIZE);
	shared2 = vm_mmap(f, 0, PG(2), PROT_READ, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(shared2));
	{
		unsigned long v;

		check_eq(copy_from_user(&v, shared2 + PAGE_SIZE, sizeof(v)), sizeof(v),
			 "a read past the memfd's size");
	}
	assert_int_equal(vfs_truncate(f, (loff_t)PG(2)), 0);
	check_eq(get_word(shared2 + PAGE_SIZE, "after growing"), 0, "the grown page is zero");

	vm_munmap(priv, PAGE_SIZE);
	vm_munmap(shared, PAGE_SIZE);
	vm_munmap(shared2, PG(2));
	fput(f);
}

/* A pin of a memfd page is a pin of the page cache's page (gup_longterm.c's memfd case). */
static void test_memfd_pin_is_the_cache_page(void **state)
{
	struct mm_struct *mm = *state;
	struct file *f = memfd_file_create("pin", MFD_CLOEXEC);
	unsigned long addr;
	struct page *page;

	assert_false(IS_ERR(f));
	assert_int_equal(vfs_truncate(f, (loff_t)PAGE_SIZE), 0);
	addr = vm_mmap(f, 0, PAGE_SIZE, RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	check_eq(pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
		 "a long-term pin of a shared memfd mapping");
	check_ptr(page, page_at(mm, addr), "the pinned page is the mapped one");
	check_true(PageSwapBacked(page) && !PageAnon(page), "a shmem page-cache page");
	check_true(page_maybe_dma_pinned(page), "pinned");
	unpin_user_page(page);
	vm_munmap(addr, PAGE_SIZE);
	fput(f);
}

/* cow.c's tmpfile backing: an unnamed host file; shared writes reach it. */
static void test_tmpfile_host_file(void **state)
{
	struct file *f = filp_open("/tmp", O_TMPFILE | O_RDWR, 0600);
	unsigned long addr, word = 0;

	(void)state;
	if (IS_ERR(f) && (PTR_ERR(f) == -EOPNOTSUPP || PTR_ERR(f) == -EISDIR)) {
		skip(); /* the host's /tmp cannot hold an O_TMPFILE file */
		return;
	}
	assert_false(IS_ERR(f));
	check_true(!f->f_mapping->shmem, "a tmpfile is a host file");
	check_eq(i_size_read(f->f_mapping), 0, "a new tmpfile's size");
	assert_int_equal(vfs_truncate(f, (loff_t)PAGE_SIZE), 0);
	addr = vm_mmap(f, 0, PAGE_SIZE, RW, MAP_SHARED, 0);
	assert_false(IS_ERR_VALUE(addr));
	check_eq(get_word(addr, "tmpfile read"), 0, "a new tmpfile reads as zero");
	put_word(addr, 0x7e57, "tmpfile write");
	check_eq(vfs_fsync(f, 0), 0, "fsync of the tmpfile");
	check_eq(pread(f->f_mapping->host_fd, &word, sizeof(word), 0), (ssize_t)sizeof(word),
		 "pread of the host file");
	check_eq(word, 0x7e57, "the host file holds the write");
	vm_munmap(addr, PAGE_SIZE);
	fput(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		test_with_mm(test_memfd_bad_arguments),
		test_with_mm(test_memfd_private_and_shared_mappings),
		test_with_mm(test_memfd_pin_is_the_cache_page),
		test_with_mm(test_tmpfile_host_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
