/* SPDX-License-Identifier: MIT */
/*
 * The catalogue programs' machine, processes and user-memory helpers (catalog.h). User memory
 * is compared in chunks, so that a 1 GiB hugetlb case costs the host one chunk, not another
 * gigabyte, on the side being compared.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "ksft.h"
#include "tool_rules.h"

#define CHUNK (1UL << 20)

static struct mm_struct *parent_mm;

void catalog_boot(const struct catalog_machine *m)
{
	struct pinmm_config cfg;
	int ret;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = m->ram_bytes;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.nr_hugepages_2m = m->nr_hugepages_2m;
	cfg.nr_hugepages_1g = m->nr_hugepages_1g;
	cfg.thp = PINMM_THP_ALWAYS;
	cfg.rules = m->rules;
	if (tool_rules_env_check(m->rules))
		ksft_exit_fail_msg("PINMM_RULES=%s: not a rule set (5.7 or modern)",
				   getenv("PINMM_RULES"));
	ret = pinmm_boot(&cfg);
	if (ret)
		ksft_exit_fail_msg("boot: %s", strerror(-ret));
	parent_mm = mm_alloc();
	if (!parent_mm)
		ksft_exit_fail_msg("boot: no memory for an mm");
	kthread_use_mm(parent_mm);
	ksft_print_msg("rules: %s", tool_rules_name());
}

void catalog_shutdown(void)
{
	kthread_unuse_mm(current_mm());
	mmput(parent_mm);
	parent_mm = NULL;
	if (pinmm_shutdown())
		ksft_exit_fail_msg("shutdown: pages were left allocated or pinned (reported on stderr)");
}

struct mm_struct *catalog_parent(void)
{
	return parent_mm;
}

void catalog_switch_mm(struct mm_struct *mm)
{
	struct mm_struct *cur = current_mm();

	if (cur == mm)
		return;
	if (cur)
		kthread_unuse_mm(cur);
	kthread_use_mm(mm);
}

struct mm_struct *catalog_fork(int *err)
{
	struct mm_struct *child = pinmm_fork(current_mm());

	if (IS_ERR(child)) {
		*err = (int)PTR_ERR(child);
		return NULL;
	}
	return child;
}

void catalog_exit(struct mm_struct *child)
{
	mmput(child);
}

/*
 * Copy between host memory and [addr, addr + len) of the current mm. A hugetlb mapping maps
 * each huge page with one entry, so a CPU translates it once and then reads or writes all of
 * it: that is done here too (one GUP, with FOLL_WRITE for a write, which breaks COW as the
 * write fault would, then the copy through the huge page), because copy_to_user() walks 4 KiB
 * at a time and a 1 GiB page would cost 262144 walks per pass. Everything else goes through
 * copy_to_user() / copy_from_user(). Returns 0 or -EFAULT.
 */
static int user_access(unsigned long addr, void *buf, size_t len, bool write)
{
	struct mm_struct *mm = current_mm();
	size_t done = 0;

	while (done < len) {
		unsigned long at = addr + done;
		struct vm_area_struct *vma;
		unsigned long hsize = 0, end = 0, n;
		struct page *page;
		char *kaddr;

		mmap_read_lock(mm);
		vma = vma_lookup(mm, at);
		if (vma) {
			end = vma->vm_end;
			if (vma->vm_flags & VM_HUGETLB)
				hsize = 1UL << vma->vm_huge_shift;
		}
		if (!vma) {
			mmap_read_unlock(mm);
			return -EFAULT;
		}
		if (!hsize) {
			mmap_read_unlock(mm);
			n = len - done < end - at ? len - done : end - at;
			if (write ? copy_to_user(at, (char *)buf + done, n)
				  : copy_from_user((char *)buf + done, at, n))
				return -EFAULT;
			done += n;
			continue;
		}
		if (get_user_pages(at, 1, write ? FOLL_WRITE : 0, &page) != 1) {
			mmap_read_unlock(mm);
			return -EFAULT;
		}
		n = hsize - (at & (hsize - 1));
		if (n > len - done)
			n = len - done;
		/* page is the subpage at `at`; the rest of the huge page follows it. */
		kaddr = page_address(page);
		kaddr += at & ~PAGE_MASK;
		if (write) {
			memcpy(kaddr, (char *)buf + done, n);
			set_page_dirty_lock(page);
		} else {
			memcpy((char *)buf + done, kaddr, n);
		}
		put_page(page);
		mmap_read_unlock(mm);
		done += n;
	}
	return 0;
}

int user_memset(unsigned long addr, int c, size_t len)
{
	static unsigned char buf[CHUNK];
	static int filled = -1;

	if (filled != c) {
		memset(buf, c, sizeof(buf));
		filled = c;
	}
	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		if (user_access(addr + off, buf, n, true))
			return -EFAULT;
	}
	return 0;
}

int user_read(void *buf, unsigned long addr, size_t len)
{
	return user_access(addr, buf, len, false);
}

int user_cmp(unsigned long addr, const void *buf, size_t len)
{
	static unsigned char chunk[CHUNK];

	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		if (user_access(addr + off, chunk, n, false))
			return -EFAULT;
		if (memcmp(chunk, (const unsigned char *)buf + off, n))
			return 1;
	}
	return 0;
}

int user_cmp_user(unsigned long a, unsigned long b, size_t len)
{
	static unsigned char chunk[CHUNK];

	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		int ret;

		if (user_access(a + off, chunk, n, false))
			return -EFAULT;
		ret = user_cmp(b + off, chunk, n);
		if (ret)
			return ret;
	}
	return 0;
}

bool user_populated(unsigned long addr)
{
	struct page *page;

	/* The lockless walk takes a reference only on what is mapped; it never faults. */
	if (get_user_pages_fast_only(addr, 1, 0, &page) != 1)
		return false;
	put_page(page);
	return true;
}

void *host_buffer(unsigned int slot, size_t size)
{
	static void *buf[2];
	static size_t len[2];
	void *p;

	if (slot >= 2)
		return NULL;
	if (size <= len[slot])
		return buf[slot];
	p = realloc(buf[slot], size);
	if (!p)
		return NULL;
	buf[slot] = p;
	len[slot] = size;
	return p;
}

unsigned long user_mmap_anon(size_t len, unsigned long prot, unsigned long flags, int *err)
{
	unsigned long addr = vm_mmap(NULL, 0, len, prot, flags | MAP_ANONYMOUS, 0);

	if (IS_ERR_VALUE(addr)) {
		*err = (int)(long)addr;
		return 0;
	}
	return addr;
}

static void catalog_usage(FILE *out, const char *name, const char *what)
{
	fprintf(out,
		"usage: %s [-R 5.7|modern] [-G] [-h]\n"
		"%s"
		"  -R  the rule set (default: PINMM_RULES, else 5.7)\n"
		"  -G  no gigantic (1 GiB) hugetlb pool: the 1048576 kB cases are left out, as on\n"
		"      a host where only 2 MiB hugetlb pages are configured\n"
		"  -h  this message\n",
		name, what);
}

int catalog_options(int argc, char **argv, const char *name, const char *what,
		    struct catalog_machine *m)
{
	int opt;

	while ((opt = getopt(argc, argv, "hGR:")) != -1) {
		switch (opt) {
		case 'G':
			m->nr_hugepages_1g = 0;
			break;
		case 'R':
			if (tool_rules_option(name, optarg, &m->rules))
				return KSFT_FAIL;
			break;
		case 'h':
			catalog_usage(stdout, name, what);
			return KSFT_PASS;
		default:
			catalog_usage(stderr, name, what);
			return KSFT_FAIL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
		catalog_usage(stderr, name, what);
		return KSFT_FAIL;
	}
	return -1;
}

size_t catalog_hugetlb_sizes(const struct catalog_machine *m, size_t sizes[2])
{
	size_t n = 0;

	if (m->nr_hugepages_2m)
		sizes[n++] = 2UL << 20;
	if (m->nr_hugepages_1g)
		sizes[n++] = 1UL << 30;
	return n;
}
