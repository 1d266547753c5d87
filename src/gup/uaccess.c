/* SPDX-License-Identifier: MIT */
/*
 * copy_to_user / copy_from_user / access_remote_vm: a CPU's loads and stores, one page at a
 * time through GUP (get_user_pages_remote() with FOLL_GET), as Linux's access_remote_vm()
 * does. Going through GUP gives these the same fault handling and the same FOLL_FORCE rules
 * (the FOLL_COW dirty-PTE check) as every other user, and the reference keeps the frame alive
 * under the copy even if a concurrent MADV_DONTNEED unmaps it.
 */
#include <string.h>

#include "internal.h"

/* Copy between buf and [addr, addr + len) of mm; returns the bytes copied. */
static unsigned long access_vm(struct mm_struct *mm, unsigned long addr, void *buf,
			       unsigned long len, unsigned int gup_flags)
{
	unsigned long done = 0;
	bool write = gup_flags & FOLL_WRITE;

	mmap_read_lock(mm);
	while (done < len) {
		unsigned long off = (addr + done) & ~PAGE_MASK;
		unsigned long n = PAGE_SIZE - off < len - done ? PAGE_SIZE - off : len - done;
		struct page *page;
		char *kaddr;

		if (get_user_pages_remote(mm, addr + done, 1, gup_flags, &page, NULL) != 1)
			break;
		kaddr = (char *)page_address(page) + off;
		if (write) {
			/* As a CPU's store: never into a page writeback cleaned since the fault
			 * (src/fs/page-writeback.c); a store into it would fault again. */
			lock_page(page);
			if (page_needs_write_fault(page)) {
				unlock_page(page);
				put_page(page);
				continue;
			}
			memcpy(kaddr, (char *)buf + done, n);
			set_page_dirty(page);
			unlock_page(page);
		} else {
			memcpy((char *)buf + done, kaddr, n);
		}
		put_page(page);
		done += n;
	}
	mmap_read_unlock(mm);
	return done;
}

unsigned long copy_to_user(unsigned long uaddr, const void *from, unsigned long n)
{
	struct mm_struct *mm = current_mm();

	if (!mm)
		return n;
	return n - access_vm(mm, uaddr, (void *)from, n, FOLL_WRITE);
}

unsigned long copy_from_user(void *to, unsigned long uaddr, unsigned long n)
{
	struct mm_struct *mm = current_mm();

	if (!mm)
		return n;
	return n - access_vm(mm, uaddr, to, n, 0);
}

int access_remote_vm(struct mm_struct *mm, unsigned long addr, void *buf, int len,
		     unsigned int gup_flags)
{
	if (!mm || len <= 0 || mm_check(mm))
		return 0;
	return (int)access_vm(mm, addr, buf, (unsigned long)len,
			      gup_flags & (FOLL_WRITE | FOLL_FORCE));
}
