/* SPDX-License-Identifier: MIT */
/*
 * Files and their page caches (src/fs): filp_open() errors; read_mapping_page() giving the
 * host file's bytes (zeroes past EOF in the last page, -EINVAL beyond it); find_get_page()
 * hits, misses and references; dirtying and writeback to the host file with the vmstat
 * counters it moves; write errors; shmem files that never touch a host file; vfs_truncate();
 * the last fput() freeing every cache page while a page still referenced lives on, detached,
 * until its last put_page(); concurrent reads of one index sharing one page; a sparse file
 * with indices far apart.
 *
 * Through mappings (vm_mmap, copy_to_user / copy_from_user): MAP_SHARED writes reach the host
 * file after vfs_fsync(), and again after writeback write-protected the page (page_mkclean ->
 * page_mkwrite); MAP_PRIVATE writes never do; major faults; SIGBUS beyond EOF; -EACCES for a
 * shared writable mapping of a read-only file; -EBUSY for truncating mapped pages; shmem
 * mappings sharing pages.
 *
 * Host files are temporary files in /tmp, removed by the teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pinmm/err.h>
#include <pinmm/fs.h>

#include "test_mm_util.h"

/* ---- temporary host files ---- */

#define MAX_TEMP_FILES 4
static char temp_paths[MAX_TEMP_FILES][32];
static int nr_temp_files;

/* The byte at offset off of every test file: differs from page to page. */
static unsigned char pattern(off_t off)
{
	return (unsigned char)(off * 7 + off / 4096 + 1);
}

/* A new file in /tmp holding size bytes of pattern(); returns its path. */
static const char *make_temp_file(off_t size)
{
	char *path = temp_paths[nr_temp_files];
	unsigned char buf[4096];
	off_t off = 0;
	int fd;

	assert_true(nr_temp_files < MAX_TEMP_FILES);
	strcpy(path, "/tmp/pinmm-filemap-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	nr_temp_files++;
	while (off < size) {
		size_t n = size - off < (off_t)sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + (off_t)i);
		assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
		off += (off_t)n;
	}
	close(fd);
	return path;
}

static off_t host_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static int boot_machine(void **state)
{
	nr_temp_files = 0;
	return boot_default(state);
}

static int shutdown_and_unlink(void **state)
{
	for (int i = 0; i < nr_temp_files; i++)
		unlink(temp_paths[i]);
	nr_temp_files = 0;
	return shutdown_clean(state);
}

#define fs_test(f) cmocka_unit_test_setup_teardown(f, boot_machine, shutdown_and_unlink)

static long node_state(enum node_stat_item item)
{
	return global_node_page_state(item);
}

static struct file *open_ok(const char *path, int flags)
{
	struct file *file = filp_open(path, flags, 0);

	if (IS_ERR(file))
		fail_msg("filp_open(%s, %#x) = %ld", path, flags, PTR_ERR(file));
	return file;
}

static struct page *read_ok(struct address_space *mapping, pgoff_t index)
{
	struct page *page = read_mapping_page(mapping, index);

	if (IS_ERR(page))
		fail_msg("read_mapping_page(index %lu) = %ld", index, PTR_ERR(page));
	return page;
}

/* Assert that the page holds the test pattern of file offset base on, for len bytes, and
 * zeroes after them. */
static void check_page_bytes(struct page *page, off_t base, size_t len, const char *scenario)
{
	const unsigned char *p = page_address(page);

	for (size_t i = 0; i < PAGE_SIZE; i++) {
		int expected = i < len ? pattern(base + (off_t)i) : 0;

		if (p[i] != expected)
			fail_msg("%s: byte %zu of the page at offset %lld is %d, expected %d",
				 scenario, i, (long long)base, p[i], expected);
	}
}

/* ---- opening ---- */

static void test_filp_open_errors(void **state)
{
	const char *path = make_temp_file(100);
	char created[64];
	struct file *file;

	(void)state;
	check_eq(PTR_ERR(filp_open("/tmp/pinmm-no-such-dir/none", O_RDONLY, 0)), -ENOENT,
		 "a missing file");
	check_eq(PTR_ERR(filp_open(NULL, O_RDONLY, 0)), -EINVAL, "a NULL path");
	check_eq(PTR_ERR(filp_open(path, O_WRONLY, 0)), -EINVAL, "O_WRONLY");
	check_eq(PTR_ERR(filp_open("/tmp", O_RDONLY, 0)), -EINVAL, "a directory");

	snprintf(created, sizeof(created), "%s-created", path);
	check_eq(PTR_ERR(filp_open(created, O_WRONLY | O_CREAT, 0600)), -EINVAL,
		 "O_WRONLY | O_CREAT");
	check_eq(access(created, F_OK), -1, "O_WRONLY | O_CREAT created nothing");

	file = open_ok(path, O_RDONLY);
	check_eq(file->f_mode, FMODE_READ, "O_RDONLY");
	check_eq(atomic_load(&file->f_count), 1, "a new file");
	check_eq(i_size_read(file->f_mapping), 100, "i_size from the host file");
	check_eq(file->f_mapping->shmem, false, "a host file");
	fput(file);

	file = open_ok(path, O_RDWR);
	check_eq(file->f_mode, FMODE_READ | FMODE_WRITE, "O_RDWR");
	check_eq(get_file(file) == file, true, "get_file returns its argument");
	check_eq(atomic_load(&file->f_count), 2, "after get_file");
	fput(file);
	fput(file);
}

/* ---- reading ---- */

static void test_read_mapping_page_reads_host_bytes(void **state)
{
	const char *path = make_temp_file(3 * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDONLY);
	struct address_space *mapping = file->f_mapping;
	long file_pages = node_state(NR_FILE_PAGES);
	struct page *pages[3];

	(void)state;
	for (pgoff_t i = 0; i < 3; i++) {
		pages[i] = read_ok(mapping, i);
		check_page_bytes(pages[i], (off_t)(i * PAGE_SIZE), PAGE_SIZE, "a full page");
		check_eq(pages[i]->mapping == mapping, true, "page %lu: mapping", i);
		check_eq(pages[i]->index, i, "page %lu: index", i);
		check_eq(PageUptodate(pages[i]), true, "page %lu: uptodate", i);
		check_eq(PageLocked(pages[i]), false, "page %lu: unlocked on return", i);
		check_eq(PageDirty(pages[i]), false, "page %lu: clean", i);
		check_eq(PageSwapBacked(pages[i]), false, "page %lu: not shmem", i);
		check_eq(page_count(pages[i]), 2, "page %lu: the cache's and ours", i);
	}
	check_eq(atomic_load(&mapping->nrpages), 3, "three pages read");
	check_eq(node_state(NR_FILE_PAGES) - file_pages, 3, "nr_file_pages");
	check_eq(node_state(NR_SHMEM), 0, "nr_shmem");

	/* A second read finds the cached page. */
	check_eq(read_ok(mapping, 1) == pages[1], true, "a second read of page 1");
	check_eq(page_count(pages[1]), 3, "page 1 after a second read");
	put_page(pages[1]);
	for (int i = 0; i < 3; i++)
		put_page(pages[i]);
	fput(file);
	check_eq(node_state(NR_FILE_PAGES), file_pages, "nr_file_pages after the last fput");
}

static void test_read_beyond_eof(void **state)
{
	const off_t size = 2 * PAGE_SIZE + 100;
	const char *path = make_temp_file(size);
	const char *empty = make_temp_file(0);
	struct file *file = open_ok(path, O_RDONLY);
	struct file *efile = open_ok(empty, O_RDONLY);
	struct page *page;

	(void)state;
	page = read_ok(file->f_mapping, 2);
	check_page_bytes(page, 2 * PAGE_SIZE, 100, "the last, partial page");
	put_page(page);
	check_eq(PTR_ERR(read_mapping_page(file->f_mapping, 3)), -EINVAL, "the page after EOF");
	check_eq(PTR_ERR(read_mapping_page(file->f_mapping, ~0UL)), -EINVAL, "index ~0");
	check_eq(PTR_ERR(read_mapping_page(efile->f_mapping, 0)), -EINVAL, "an empty file");
	check_eq(atomic_load(&file->f_mapping->nrpages), 1, "nothing cached beyond EOF");
	fput(file);
	fput(efile);
}

static void test_find_get_page(void **state)
{
	const char *path = make_temp_file(2 * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDONLY);
	struct address_space *mapping = file->f_mapping;
	struct page *page, *found;

	(void)state;
	check_eq(find_get_page(mapping, 0) == NULL, true, "a miss before any read");
	page = read_ok(mapping, 0);
	found = find_get_page(mapping, 0);
	check_eq(found == page, true, "a hit after the read");
	check_eq(page_count(page), 3, "cache + read + find");
	check_eq(find_get_page(mapping, 1) == NULL, true, "page 1 was never read");
	check_eq(find_get_page(mapping, 1UL << 40) == NULL, true, "a far index");
	put_page(found);
	put_page(page);
	check_eq(page_count(page), 1, "only the cache's reference left");
	fput(file);
}

/* ---- dirtying and writeback ---- */

static void test_set_page_dirty_and_writeback(void **state)
{
	const off_t size = 2 * PAGE_SIZE + 10;
	const char *path = make_temp_file(size);
	struct file *file = open_ok(path, O_RDWR);
	struct address_space *mapping = file->f_mapping;
	long dirty = node_state(NR_FILE_DIRTY), dirtied = node_state(NR_DIRTIED);
	long written = node_state(NR_WRITTEN);
	struct page *p0 = read_ok(mapping, 0), *p1 = read_ok(mapping, 1);
	struct page *p2 = read_ok(mapping, 2);

	(void)state;
	((unsigned char *)page_address(p1))[5] = 0xAB;
	((unsigned char *)page_address(p2))[9] = 0xCD;
	/* Past EOF in the last page: must not reach (or grow) the host file. */
	((unsigned char *)page_address(p2))[10] = 0xEE;
	lock_page(p1);
	check_eq(set_page_dirty(p1), 1, "dirtying a clean page");
	check_eq(set_page_dirty(p1), 0, "dirtying it again");
	unlock_page(p1);
	check_eq(set_page_dirty_lock(p2), 1, "set_page_dirty_lock on a clean page");
	check_eq(PageDirty(p1) && PageDirty(p2) && !PageDirty(p0), true, "PG_dirty");
	check_eq(node_state(NR_FILE_DIRTY) - dirty, 2, "nr_dirty after dirtying two pages");
	check_eq(node_state(NR_DIRTIED) - dirtied, 2, "nr_dirtied");
	check_eq(host_file_byte(path, PAGE_SIZE + 5), pattern(PAGE_SIZE + 5), "host before writeback");

	check_eq(filemap_write_and_wait(mapping), 0, "filemap_write_and_wait");
	check_eq(host_file_byte(path, PAGE_SIZE + 5), 0xAB, "the host file has the new byte");
	check_eq(host_file_byte(path, 2 * PAGE_SIZE + 9), 0xCD, "the last page's new byte");
	check_eq(host_size(path), size, "the host file did not grow");
	check_eq(host_file_byte(path, 5), pattern(5), "the clean page was not rewritten");
	check_eq(PageDirty(p1) || PageDirty(p2), false, "clean after writeback");
	check_eq(PageWriteback(p1) || PageWriteback(p2), false, "writeback ended");
	check_eq(node_state(NR_FILE_DIRTY), dirty, "nr_dirty back");
	check_eq(node_state(NR_WRITEBACK), 0, "nr_writeback");
	check_eq(node_state(NR_WRITTEN) - written, 2, "nr_written");
	check_eq(filemap_write_and_wait(mapping), 0, "nothing left to write");
	check_eq(node_state(NR_WRITTEN) - written, 2, "nr_written after a second call");

	put_page(p0);
	put_page(p1);
	put_page(p2);
	fput(file);
}

static void test_vfs_fsync(void **state)
{
	const char *path = make_temp_file(PAGE_SIZE);
	struct file *file = open_ok(path, O_RDWR);
	struct page *page = read_ok(file->f_mapping, 0);

	(void)state;
	((unsigned char *)page_address(page))[0] = 0x11;
	set_page_dirty_lock(page);
	check_eq(vfs_fsync(file, 0), 0, "fsync");
	check_eq(host_file_byte(path, 0), 0x11, "after fsync");
	((unsigned char *)page_address(page))[1] = 0x22;
	set_page_dirty_lock(page);
	check_eq(vfs_fsync(file, 1), 0, "fdatasync");
	check_eq(host_file_byte(path, 1), 0x22, "after fdatasync");
	check_eq(node_state(NR_FILE_DIRTY), 0, "nr_dirty");
	put_page(page);
	fput(file);
}

/* The host fd of a file opened read-only cannot be written: writeback fails. As in Linux, the
 * page ends clean with PG_error, and the error is reported once. */
static void test_writeback_error(void **state)
{
	const char *path = make_temp_file(PAGE_SIZE);
	struct file *file = open_ok(path, O_RDONLY);
	struct page *page = read_ok(file->f_mapping, 0);

	(void)state;
	((unsigned char *)page_address(page))[0] = 0x33;
	set_page_dirty_lock(page);
	check_eq(vfs_fsync(file, 0), -EIO, "writeback to a read-only host fd");
	check_eq(PageError(page), true, "PG_error");
	check_eq(PageDirty(page), false, "the page is clean, its data lost");
	check_eq(node_state(NR_FILE_DIRTY), 0, "nr_dirty");
	check_eq(node_state(NR_WRITEBACK), 0, "nr_writeback");
	check_eq(host_file_byte(path, 0), pattern(0), "the host file is unchanged");
	check_eq(vfs_fsync(file, 0), 0, "the error was reported once");
	put_page(page);
	fput(file);
}

/* ---- shmem ---- */

static void test_shmem_file(void **state)
{
	struct file *file = shmem_file_setup("test", 3 * PAGE_SIZE, 0);
	struct address_space *mapping;
	struct page *page;
	long written = node_state(NR_WRITTEN);

	(void)state;
	check_eq(PTR_ERR(shmem_file_setup(NULL, PAGE_SIZE, 0)), -EINVAL, "a NULL name");
	check_eq(PTR_ERR(shmem_file_setup("x", -1, 0)), -EINVAL, "a negative size");
	assert_false(IS_ERR(file));
	mapping = file->f_mapping;
	check_eq(mapping->shmem, true, "shmem");
	check_eq(mapping->host_fd, -1, "no host file");
	check_eq(file->f_mode, FMODE_READ | FMODE_WRITE, "opened read-write");

	page = read_ok(mapping, 1);
	check_page_bytes(page, 0, 0, "a new shmem page");
	check_eq(PageSwapBacked(page), true, "PG_swapbacked");
	check_eq(PageUptodate(page), true, "PG_uptodate");
	check_eq(node_state(NR_SHMEM), 1, "nr_shmem");
	check_eq(node_state(NR_FILE_PAGES), 1, "nr_file_pages");
	memset(page_address(page), 0x5A, PAGE_SIZE);
	check_eq(set_page_dirty_lock(page), 1, "dirtying a shmem page");
	check_eq(node_state(NR_FILE_DIRTY), 0, "shmem is not counted in nr_dirty (as tmpfs)");
	check_eq(filemap_write_and_wait(mapping), 0, "writeback of shmem");
	check_eq(vfs_fsync(file, 0), 0, "fsync of shmem");
	check_eq(PageDirty(page), true, "shmem data stays dirty: it lives only here");
	check_eq(node_state(NR_WRITTEN), written, "nothing written");
	put_page(page);

	page = read_ok(mapping, 1);
	check_eq(((unsigned char *)page_address(page))[PAGE_SIZE - 1], 0x5A, "the data is kept");
	put_page(page);
	check_eq(PTR_ERR(read_mapping_page(mapping, 3)), -EINVAL, "beyond EOF");
	fput(file);
	check_eq(node_state(NR_SHMEM), 0, "nr_shmem after the last fput");
}

/* ---- truncation ---- */

static void test_vfs_truncate_host(void **state)
{
	const char *path = make_temp_file(4 * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDWR);
	struct file *ro = open_ok(path, O_RDONLY);
	struct address_space *mapping = file->f_mapping;
	const loff_t half = PAGE_SIZE + PAGE_SIZE / 2;
	struct page *page, *kept;

	(void)state;
	check_eq(vfs_truncate(file, -1), -EINVAL, "a negative size");
	check_eq(vfs_truncate(ro, 0), -EINVAL, "a file opened read-only");
	for (pgoff_t i = 0; i < 4; i++)
		put_page(read_ok(mapping, i));
	kept = read_ok(mapping, 3);
	set_page_dirty_lock(kept);
	page = read_ok(mapping, 2);
	set_page_dirty_lock(page);
	put_page(page);
	check_eq(node_state(NR_FILE_DIRTY), 2, "two dirty pages");

	check_eq(vfs_truncate(file, half), 0, "shrinking to 1.5 pages");
	check_eq(i_size_read(mapping), half, "i_size");
	check_eq(host_size(path), half, "the host file's size");
	check_eq(atomic_load(&mapping->nrpages), 2, "pages 2 and 3 dropped");
	check_eq(find_get_page(mapping, 2) == NULL, true, "page 2 is gone");
	check_eq(node_state(NR_FILE_DIRTY), 0, "dropped dirty pages are no longer counted");
	check_eq(node_state(NR_FILE_PAGES), 2, "nr_file_pages");
	check_eq(kept->mapping == NULL, true, "a page still referenced is detached");
	check_eq(page_count(kept), 1, "only our reference keeps it");
	put_page(kept);

	page = read_ok(mapping, 1);
	check_page_bytes(page, PAGE_SIZE, PAGE_SIZE / 2, "the cached partial page after shrink");
	put_page(page);

	check_eq(vfs_truncate(file, 4 * PAGE_SIZE), 0, "growing back to 4 pages");
	check_eq(host_size(path), 4 * PAGE_SIZE, "the host file grew");
	page = read_ok(mapping, 3);
	check_page_bytes(page, 3 * PAGE_SIZE, 0, "a page of the grown part");
	put_page(page);
	check_eq(vfs_truncate(file, 0), 0, "truncating to 0");
	check_eq(atomic_load(&mapping->nrpages), 0, "no page left");
	check_eq(PTR_ERR(read_mapping_page(mapping, 0)), -EINVAL, "reading an empty file");
	fput(ro);
	fput(file);
}

static void test_vfs_truncate_shmem(void **state)
{
	struct file *file = shmem_file_setup("trunc", 2 * PAGE_SIZE, 0);
	struct address_space *mapping = file->f_mapping;
	struct page *page;

	(void)state;
	page = read_ok(mapping, 1);
	memset(page_address(page), 0x77, PAGE_SIZE);
	put_page(page);
	check_eq(vfs_truncate(file, PAGE_SIZE + 100), 0, "shrinking into page 1");
	check_eq(vfs_truncate(file, 2 * PAGE_SIZE), 0, "growing again");
	page = read_ok(mapping, 1);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		check_eq(((unsigned char *)page_address(page))[i], i < 100 ? 0x77 : 0,
			 "byte %zu of page 1 after shrink and grow", i);
	put_page(page);
	check_eq(vfs_truncate(file, 0), 0, "truncating to 0");
	check_eq(node_state(NR_SHMEM), 0, "nr_shmem");
	fput(file);
}

/* ---- the last fput ---- */

static void test_fput_frees_cache(void **state)
{
	const char *path = make_temp_file(64 * PAGE_SIZE);
	long free_before = global_zone_page_state(NR_FREE_PAGES);
	struct file *file = open_ok(path, O_RDWR);
	struct page *page;

	(void)state;
	for (pgoff_t i = 0; i < 64; i += 3)
		put_page(read_ok(file->f_mapping, i));
	/* The last fput writes dirty pages back before it drops them. */
	page = read_ok(file->f_mapping, 63);
	((unsigned char *)page_address(page))[0] = 0x44;
	set_page_dirty_lock(page);
	put_page(page);
	check_eq(node_state(NR_FILE_PAGES), 22, "cached pages");
	fput(file);
	check_eq(node_state(NR_FILE_PAGES), 0, "nr_file_pages after the last fput");
	check_eq(node_state(NR_FILE_DIRTY), 0, "nr_dirty after the last fput");
	check_eq(global_zone_page_state(NR_FREE_PAGES), free_before, "every page freed");
	check_eq(host_file_byte(path, 63 * PAGE_SIZE), 0x44, "the dirty page was written back");
}

static void test_page_outlives_fput(void **state)
{
	const char *path = make_temp_file(2 * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDWR);
	unsigned long warns = pinmm_warn_count();
	long free_before;
	struct page *page;
	char *log;

	(void)state;
	page = read_ok(file->f_mapping, 1);
	free_before = global_zone_page_state(NR_FREE_PAGES);
	fput(file);
	check_eq(page->mapping == NULL, true, "detached from the file");
	check_eq(page_count(page), 1, "our reference only");
	check_page_bytes(page, PAGE_SIZE, PAGE_SIZE, "the data of a detached page");
	check_eq(set_page_dirty_lock(page), 1, "a detached page can be dirtied");
	check_eq(node_state(NR_FILE_DIRTY), 0, "but does not count as a file page");
	check_eq(global_zone_page_state(NR_FREE_PAGES), free_before, "not freed yet");
	put_page(page);
	check_eq(global_zone_page_state(NR_FREE_PAGES), free_before + 1, "freed by the last put");
	check_eq(pinmm_warn_count(), warns, "no WARN");
	log = test_log_take();
	if (strstr(log, "Bad page"))
		fail_msg("a bad page was reported:\n%s", log);
	free(log);
}

/* ---- concurrency and sparse files ---- */

#define RACE_THREADS 4
#define RACE_ROUNDS 200

struct race_arg {
	struct address_space *mapping;
	pthread_barrier_t *barrier;
	struct page *seen[RACE_ROUNDS];
};

static void *race_reader(void *p)
{
	struct race_arg *arg = p;

	for (pgoff_t i = 0; i < RACE_ROUNDS; i++) {
		pthread_barrier_wait(arg->barrier);
		arg->seen[i] = read_mapping_page(arg->mapping, i);
	}
	return NULL;
}

static void test_concurrent_read_same_index(void **state)
{
	const char *path = make_temp_file(RACE_ROUNDS * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDONLY);
	struct race_arg args[RACE_THREADS];
	pthread_t threads[RACE_THREADS];
	pthread_barrier_t barrier;

	(void)state;
	pthread_barrier_init(&barrier, NULL, RACE_THREADS);
	for (int t = 0; t < RACE_THREADS; t++) {
		args[t].mapping = file->f_mapping;
		args[t].barrier = &barrier;
		assert_int_equal(pthread_create(&threads[t], NULL, race_reader, &args[t]), 0);
	}
	for (int t = 0; t < RACE_THREADS; t++)
		pthread_join(threads[t], NULL);
	pthread_barrier_destroy(&barrier);

	for (pgoff_t i = 0; i < RACE_ROUNDS; i++) {
		struct page *page = args[0].seen[i];

		if (IS_ERR(page))
			fail_msg("index %lu: read_mapping_page = %ld", i, PTR_ERR(page));
		for (int t = 1; t < RACE_THREADS; t++)
			if (args[t].seen[i] != page)
				fail_msg("index %lu: thread %d got another page than thread 0", i, t);
		check_page_bytes(page, (off_t)(i * PAGE_SIZE), PAGE_SIZE, "a page read in a race");
		check_eq(page_count(page), RACE_THREADS + 1, "index %lu: the cache + every reader",
			 i);
		for (int t = 0; t < RACE_THREADS; t++)
			put_page(page);
	}
	check_eq(atomic_load(&file->f_mapping->nrpages), RACE_ROUNDS, "no duplicate entries");
	check_eq(node_state(NR_FILE_PAGES), RACE_ROUNDS, "nr_file_pages");
	fput(file);
}

static void test_sparse_shmem(void **state)
{
	static const pgoff_t indices[] = {0, 63, 64, 4095, 1UL << 20, (1UL << 36) - 1, 1UL << 36};
	const size_t nr = sizeof(indices) / sizeof(indices[0]);
	struct file *file = shmem_file_setup("sparse", (loff_t)((1UL << 36) + 1) << PAGE_SHIFT, 0);
	struct address_space *mapping = file->f_mapping;
	struct page *pages[sizeof(indices) / sizeof(indices[0])];

	(void)state;
	for (size_t i = 0; i < nr; i++) {
		pages[i] = read_ok(mapping, indices[i]);
		*(pgoff_t *)page_address(pages[i]) = indices[i];
	}
	for (size_t i = 0; i < nr; i++) {
		struct page *page = find_get_page(mapping, indices[i]);

		check_eq(page == pages[i], true, "index %lu found", indices[i]);
		check_eq(*(pgoff_t *)page_address(page), indices[i], "index %lu data", indices[i]);
		check_eq(page->index, indices[i], "index %lu: page->index", indices[i]);
		put_page(page);
		page = find_get_page(mapping, indices[i] + 1);
		check_eq(page == (i + 1 < nr && indices[i + 1] == indices[i] + 1 ? pages[i + 1] : NULL),
			 true, "the neighbour of index %lu", indices[i]);
		if (page)
			put_page(page);
	}
	check_eq(atomic_load(&mapping->nrpages), nr, "one cache entry per page");
	for (size_t i = 0; i < nr; i++)
		put_page(pages[i]);
	/* Dropping the far pages shrinks the tree; the near ones must stay reachable. */
	check_eq(vfs_truncate(file, 64 * PAGE_SIZE), 0, "truncating the far pages");
	check_eq(atomic_load(&mapping->nrpages), 2, "indices 0 and 63 remain");
	check_eq(find_get_page(mapping, 64) == NULL, true, "index 64 is beyond the new end");
	pages[0] = find_get_page(mapping, 63);
	check_eq(pages[0] != NULL && *(pgoff_t *)page_address(pages[0]) == 63, true,
		 "index 63 after the tree shrank");
	put_page(pages[0]);
	fput(file);
}

/* ---- through mappings ---- */

static struct mm_struct *enter_mm(void)
{
	struct mm_struct *mm = mm_alloc();

	assert_non_null(mm);
	kthread_use_mm(mm);
	return mm;
}

static void leave_mm(struct mm_struct *mm)
{
	kthread_unuse_mm(mm);
	mmput(mm);
}

static unsigned long mmap_ok(struct file *file, unsigned long len, unsigned long prot,
			     unsigned long flags)
{
	unsigned long addr = vm_mmap(file, 0, len, prot, flags, 0);

	if (IS_ERR_VALUE(addr))
		fail_msg("vm_mmap(len %lu, prot %#lx, flags %#lx) = %ld", len, prot, flags,
			 (long)addr);
	return addr;
}

/* The cached page at index (not referenced: the cache keeps it while the file is open). */
static struct page *cached(struct address_space *mapping, pgoff_t index)
{
	struct page *page = find_get_page(mapping, index);

	assert_non_null(page);
	put_page(page);
	return page;
}

static void test_map_shared_write_reaches_host(void **state)
{
	const char *path = make_temp_file(2 * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDWR);
	struct mm_struct *mm = enter_mm();
	unsigned long majflt = global_vm_event_count(PGMAJFAULT);
	unsigned long addr = mmap_ok(file, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	unsigned char buf[5];
	struct page *page;

	(void)state;
	check_eq(copy_from_user(buf, addr + PAGE_SIZE + 7, 5), 0, "reading the mapping");
	for (int i = 0; i < 5; i++)
		check_eq(buf[i], pattern(PAGE_SIZE + 7 + i), "byte %d read through the mapping", i);
	check_eq(global_vm_event_count(PGMAJFAULT) - majflt, 1, "one page read from the host");
	page = cached(file->f_mapping, 1);
	check_eq(PageDirty(page), false, "a read fault leaves the page clean");

	check_eq(copy_to_user(addr + PAGE_SIZE + 7, "hello", 5), 0, "writing the mapping");
	check_eq(global_vm_event_count(PGMAJFAULT) - majflt, 1, "the write found it cached");
	check_eq(PageDirty(page), true, "a shared write dirties the page cache page");
	check_eq(memcmp((char *)page_address(page) + 7, "hello", 5), 0, "it is the mapped page");
	check_eq(node_state(NR_FILE_DIRTY), 1, "nr_dirty");
	check_eq(host_file_byte(path, PAGE_SIZE + 7), pattern(PAGE_SIZE + 7), "not written yet");

	check_eq(vfs_fsync(file, 0), 0, "fsync");
	check_eq(host_file_byte(path, PAGE_SIZE + 7), 'h', "fsync wrote the mapped write back");
	check_eq(host_file_byte(path, PAGE_SIZE + 11), 'o', "the last byte of it");
	check_eq(PageDirty(page), false, "clean after fsync");
	check_eq(node_state(NR_FILE_DIRTY), 0, "nr_dirty after fsync");

	/* Writeback write-protected the PTE: the next write must fault and dirty it again. */
	check_eq(copy_to_user(addr + PAGE_SIZE + 7, "HELLO", 5), 0, "writing again");
	check_eq(PageDirty(page), true, "dirty again after writeback cleaned it");
	check_eq(node_state(NR_FILE_DIRTY), 1, "nr_dirty counts it again");
	check_eq(vfs_fsync(file, 1), 0, "fdatasync");
	check_eq(host_file_byte(path, PAGE_SIZE + 7), 'H', "the second write reached the host");

	check_eq(vm_munmap(addr, 2 * PAGE_SIZE), 0, "munmap");
	leave_mm(mm);
	fput(file);
}

/*
 * A write through a shared mapping that nobody fsyncs: munmap moves the dirty state to the page
 * and the last fput() writes it back. That writeback runs in the files layer without the
 * reverse map (no mapping is left to clean), so it must still find and write the page.
 */
static void test_unmapped_write_reaches_host_at_last_fput(void **state)
{
	const char *path = make_temp_file(2 * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDWR);
	struct mm_struct *mm = enter_mm();
	unsigned long addr = mmap_ok(file, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	long free_before;

	(void)state;
	check_eq(copy_to_user(addr + 3, "bye", 3), 0, "writing the mapping");
	check_eq(node_state(NR_FILE_DIRTY), 1, "nr_dirty after the write");
	check_eq(vm_munmap(addr, 2 * PAGE_SIZE), 0, "munmap");
	leave_mm(mm);
	check_eq(node_state(NR_FILE_DIRTY), 1, "still dirty after munmap: nothing wrote it");
	check_eq(host_file_byte(path, 3), pattern(3), "not written before the last fput");
	/* The mm's page tables go back to the allocator after an RCU grace period: wait for
	 * them (pinmm_check_invariants() does, with rcu_barrier()), or they may land inside the
	 * window below and read as pages the fput freed. */
	check_eq(pinmm_check_invariants(), 0L, "invariants before the last fput");
	free_before = global_zone_page_state(NR_FREE_PAGES);
	fput(file);
	check_eq(host_file_byte(path, 3), 'b', "the last fput wrote the mapped write back");
	check_eq(host_file_byte(path, 5), 'e', "the last byte of it");
	check_eq(node_state(NR_FILE_DIRTY), 0, "nr_dirty after the last fput");
	check_eq(node_state(NR_FILE_PAGES), 0, "nr_file_pages after the last fput");
	check_eq(global_zone_page_state(NR_FREE_PAGES), free_before + 1, "the page was freed");
}

static void test_map_private_write_stays_private(void **state)
{
	const char *path = make_temp_file(PAGE_SIZE);
	struct file *file = open_ok(path, O_RDWR);
	struct mm_struct *mm = enter_mm();
	unsigned long addr = mmap_ok(file, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	unsigned char c;
	struct page *page;

	(void)state;
	check_eq(copy_to_user(addr + 3, "x", 1), 0, "writing a private mapping");
	check_eq(copy_from_user(&c, addr + 3, 1), 0, "reading it back");
	check_eq(c, 'x', "the private copy has the write");
	check_eq(vfs_fsync(file, 0), 0, "fsync");
	check_eq(host_file_byte(path, 3), pattern(3), "the host file never sees a private write");
	page = read_ok(file->f_mapping, 0);
	check_page_bytes(page, 0, PAGE_SIZE, "the page cache page after a private write");
	check_eq(PageDirty(page), false, "the file page stays clean");
	put_page(page);
	check_eq(node_state(NR_FILE_DIRTY), 0, "nr_dirty");
	leave_mm(mm);
	fput(file);
	check_eq(host_file_byte(path, 3), pattern(3), "not at the last fput either");
}

static void test_mmap_hooks(void **state)
{
	const char *path = make_temp_file(PAGE_SIZE);
	struct file *ro = open_ok(path, O_RDONLY);
	struct file *rw = open_ok(path, O_RDWR);
	struct file *shm = shmem_file_setup("hooks", PAGE_SIZE, 0);
	struct vm_area_struct vma;
	struct mm_struct *mm = enter_mm();

	(void)state;
	check_eq((long)vm_mmap(ro, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0), -EACCES,
		 "MAP_SHARED + PROT_WRITE of a read-only file");
	memset(&vma, 0, sizeof(vma));
	vma.vm_flags = VM_SHARED | VM_READ | VM_WRITE;
	check_eq(ro->f_op->mmap(ro, &vma), -EACCES, "the host file's own mmap hook checks too");
	check_eq(rw->f_op->mmap(rw, &vma), 0, "the same on a read-write file");
	check_eq(vma.vm_ops && vma.vm_ops->fault && vma.vm_ops->page_mkwrite, true,
		 "host files: fault and page_mkwrite");
	memset(&vma, 0, sizeof(vma));
	vma.vm_flags = VM_SHARED | VM_READ | VM_WRITE;
	check_eq(shm->f_op->mmap(shm, &vma), 0, "shmem mmap");
	check_eq(vma.vm_ops && vma.vm_ops->fault && !vma.vm_ops->page_mkwrite, true,
		 "shmem: a fault handler and no page_mkwrite");
	leave_mm(mm);
	fput(ro);
	fput(rw);
	fput(shm);
}

static void test_fault_beyond_eof(void **state)
{
	const char *path = make_temp_file(PAGE_SIZE + 100);
	struct file *file = open_ok(path, O_RDONLY);
	struct mm_struct *mm = enter_mm();
	unsigned long addr = mmap_ok(file, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED);
	unsigned char buf[PAGE_SIZE];

	(void)state;
	check_eq(copy_from_user(buf, addr + PAGE_SIZE, PAGE_SIZE), 0, "the partial last page");
	for (size_t i = 0; i < PAGE_SIZE; i++)
		check_eq(buf[i], i < 100 ? pattern(PAGE_SIZE + (off_t)i) : 0,
			 "byte %zu of the last page through the mapping", i);
	check_eq(copy_from_user(buf, addr + 2 * PAGE_SIZE, 1), 1, "a page beyond EOF: SIGBUS");
	check_eq(atomic_load(&file->f_mapping->nrpages), 1, "nothing cached beyond EOF");
	leave_mm(mm);
	fput(file);
}

static void test_truncate_mapped_pages(void **state)
{
	const char *path = make_temp_file(2 * PAGE_SIZE);
	struct file *file = open_ok(path, O_RDWR);
	struct mm_struct *mm = enter_mm();
	unsigned long addr = mmap_ok(file, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED);
	unsigned char c;

	(void)state;
	check_eq(copy_from_user(&c, addr + PAGE_SIZE, 1), 0, "mapping page 1");
	check_eq(vfs_truncate(file, PAGE_SIZE), -EBUSY, "truncating a mapped page away");
	check_eq(i_size_read(file->f_mapping), 2 * PAGE_SIZE, "i_size unchanged");
	check_eq(host_size(path), 2 * PAGE_SIZE, "the host file unchanged");
	check_eq(copy_from_user(&c, addr + PAGE_SIZE, 1), 0, "page 1 still readable");
	check_eq(vfs_truncate(file, PAGE_SIZE + 10), 0, "a mapped page that keeps some bytes");
	check_eq(vm_munmap(addr, 2 * PAGE_SIZE), 0, "munmap");
	check_eq(vfs_truncate(file, PAGE_SIZE), 0, "truncating once unmapped");
	check_eq(atomic_load(&file->f_mapping->nrpages), 0, "page 1 dropped");
	leave_mm(mm);
	fput(file);
}

static void test_shmem_shared_mappings(void **state)
{
	struct file *file = shmem_file_setup("shared", 2 * PAGE_SIZE, 0);
	struct mm_struct *mm = enter_mm();
	unsigned long majflt = global_vm_event_count(PGMAJFAULT);
	unsigned long a = mmap_ok(file, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	unsigned long b = mmap_ok(file, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED);
	char buf[6] = {0};
	struct page *page;

	(void)state;
	check_eq(copy_to_user(a + PAGE_SIZE, "shmem", 6), 0, "writing through the first mapping");
	check_eq(copy_from_user(buf, b + PAGE_SIZE, 6), 0, "reading through the second");
	check_eq(strcmp(buf, "shmem"), 0, "both map the same page");
	page = read_ok(file->f_mapping, 1);
	check_eq(strcmp(page_address(page), "shmem"), 0, "the page cache page holds it");
	check_eq(PageDirty(page), true, "a shared write dirties the shmem page");
	put_page(page);
	check_eq(node_state(NR_FILE_DIRTY), 0, "shmem is not in nr_dirty");
	check_eq(global_vm_event_count(PGMAJFAULT), majflt, "shmem faults are never major");
	check_eq(vfs_fsync(file, 0), 0, "fsync of shmem");
	leave_mm(mm);
	page = read_ok(file->f_mapping, 1);
	check_eq(strcmp(page_address(page), "shmem"), 0, "the data outlives the mappings");
	put_page(page);
	fput(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fs_test(test_filp_open_errors),
		fs_test(test_read_mapping_page_reads_host_bytes),
		fs_test(test_read_beyond_eof),
		fs_test(test_find_get_page),
		fs_test(test_set_page_dirty_and_writeback),
		fs_test(test_vfs_fsync),
		fs_test(test_writeback_error),
		fs_test(test_shmem_file),
		fs_test(test_vfs_truncate_host),
		fs_test(test_vfs_truncate_shmem),
		fs_test(test_fput_frees_cache),
		fs_test(test_page_outlives_fput),
		fs_test(test_concurrent_read_same_index),
		fs_test(test_sparse_shmem),
		fs_test(test_map_shared_write_reaches_host),
		fs_test(test_unmapped_write_reaches_host_at_last_fput),
		fs_test(test_map_private_write_stays_private),
		fs_test(test_mmap_hooks),
		fs_test(test_fault_beyond_eof),
		fs_test(test_truncate_mapped_pages),
		fs_test(test_shmem_shared_mappings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
