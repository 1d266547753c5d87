/* SPDX-License-Identifier: MIT */
/*
 * dma_writeback: the get_user_pages()+DMA problem, reproduced and measured
 * (docs/gup-dma-problem.md). For each configuration it boots a machine, starts the flusher,
 * and runs seeded random cycles on a shared mapping of a 16-page host file:
 *
 *   the CPU stores to a few pages; a driver takes a random range of 1-4 pages with GUP and
 *   hands them to a DMA engine, which writes random patterns into them at its own pace while
 *   fsync, the flusher and munmap interleave; the driver waits, releases the pages as its era
 *   does, unmaps and closes the file; then the host file is compared, byte by byte, with what
 *   the CPU and the device wrote.
 *
 * Configurations (-m, comma-separated; all four by default):
 *   get                  5.7, get_user_pages_fast(FOLL_WRITE): the driver dirties the pages
 *                        when it takes them (too early) and put_page()s them at the end
 *   pin                  5.7, pin_user_pages_fast(FOLL_WRITE), unpin_user_pages_dirty_lock():
 *                        what 5.7 shipped, writeback unaware of pins
 *   pin-longterm-modern  modern rules, FOLL_LONGTERM pin of the shared file mapping: Linux 6.5
 *                        refuses it; the refusals are counted (refused=)
 *   pin-aware            5.7 with pinmm_config.pin_aware_writeback: the fix
 *
 * Output, one line per configuration:
 *   mode=<name> cycles=<n> dma_bytes=<n> lost_bytes=<n> torn=<n> warn=<n> ms=<n>
 * (pin-longterm-modern adds refused=<n>). lost_bytes: bytes of the host file that differ from
 * what was written; torn: writes the block device found changed under I/O; warn: pages
 * dirtied without page_mkwrite. The random choices depend on the seed only, so a seed
 * reproduces the cycles and dma_bytes; the counts depend on timing too.
 *
 * -c measures the cost instead: writeback throughput of a 1024-page file with 5% of its dirty
 * pages pinned, pin-aware writeback off and on, over -n rounds:
 *   cost pin_aware=<off|on> rounds=<n> pages=<n> ms=<n> pages_per_s=<n>
 *   cost overhead=<percent>%
 *
 * Usage: dma_writeback [-n cycles] [-s seed] [-m modes] [-j engine threads] [-c] [-h]
 * Exit status: 0; 1 when pin-aware counted anything lost, torn or warned; 2 for bad usage or
 * a failed set-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#define NPAGES 16
#define FILE_BYTES (NPAGES * PAGE_SIZE)
#define SLOT 512
#define MAX_RANGE 4
#define MAX_XFERS 4
#define DEVICE_DELAY_US 100
#define COST_PAGES 1024
#define COST_PIN_EVERY 20 /* 5% */

struct mode {
	const char *name;
	enum pinmm_rules rules;
	bool pin, longterm, pin_aware;
};

static const struct mode modes[] = {
	{"get", PINMM_RULES_5_7, false, false, false},
	{"pin", PINMM_RULES_5_7, true, false, false},
	{"pin-longterm-modern", PINMM_RULES_MODERN, true, true, false},
	{"pin-aware", PINMM_RULES_5_7, true, false, true},
};
#define NR_MODES (sizeof(modes) / sizeof(modes[0]))

struct result {
	unsigned long cycles, dma_bytes, lost_bytes, torn, warn, refused;
	long ms;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned long below(unsigned long n)
{
	return (unsigned long)(rnd() % n);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dma_writeback [-n cycles] [-s seed] [-m modes] [-j engine threads] [-c] "
		   "[-h]\n"
		   "  -n  cycles per configuration (default 200; with -c, rounds, default 20)\n"
		   "  -s  seed of the random choices (default 1)\n"
		   "  -m  comma-separated: get, pin, pin-longterm-modern, pin-aware (default all)\n"
		   "  -j  the DMA engine's threads, 1..%d (default 2)\n"
		   "  -c  measure the cost of pin-aware writeback instead\n",
		DMA_MAX_THREADS);
}

/* A machine for one configuration, the caller running in an mm. */
static int boot(enum pinmm_rules rules, bool pin_aware, struct mm_struct **mm)
{
	struct pinmm_config cfg;
	int ret;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = 64ULL << 20;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.rules = rules;
	cfg.pin_aware_writeback = pin_aware;
	ret = pinmm_boot(&cfg);
	if (ret) {
		fprintf(stderr, "dma_writeback: pinmm_boot: %s\n", strerror(-ret));
		return ret;
	}
	*mm = mm_alloc();
	if (!*mm) {
		fprintf(stderr, "dma_writeback: mm_alloc failed\n");
		pinmm_shutdown();
		return -ENOMEM;
	}
	kthread_use_mm(*mm);
	return 0;
}

static int shutdown(struct mm_struct *mm)
{
	int ret;

	kthread_unuse_mm(mm);
	mmput(mm);
	ret = pinmm_shutdown();
	if (ret)
		fprintf(stderr, "dma_writeback: pinmm_shutdown: %s\n", strerror(-ret));
	return ret;
}

static int make_host_file(char *path, size_t bytes)
{
	int fd;

	strcpy(path, "/tmp/dma_writeback-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)bytes)) {
		fprintf(stderr, "dma_writeback: a host file in /tmp: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Bytes of the host file that differ from expect; expect becomes the host's (so that a loss
 * is counted once). */
static unsigned long compare_host(const char *path, unsigned char *expect)
{
	static unsigned char host[FILE_BYTES];
	unsigned long diff = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, host, FILE_BYTES, 0) != (ssize_t)FILE_BYTES) {
		fprintf(stderr, "dma_writeback: reading %s back failed\n", path);
		exit(2);
	}
	close(fd);
	for (size_t i = 0; i < FILE_BYTES; i++)
		diff += host[i] != expect[i];
	memcpy(expect, host, FILE_BYTES);
	return diff;
}

/* The CPU's stores: up to 3 runs of random words inside one page each. */
static void cpu_stores(unsigned long addr, unsigned char *expect)
{
	for (unsigned long k = below(4); k; k--) {
		unsigned long page = below(NPAGES), off = below(PAGE_SIZE / 8) * 8;
		unsigned long len = 8 * (1 + below((PAGE_SIZE - off) / 8 < 16 ? (PAGE_SIZE - off) / 8
										 : 16));
		unsigned char buf[128];
		unsigned long left;

		for (unsigned long i = 0; i < len; i++)
			buf[i] = (unsigned char)rnd();
		left = copy_to_user(addr + page * PAGE_SIZE + off, buf, len);
		/* A refused write fault (no block left) stores nothing. */
		memcpy(expect + page * PAGE_SIZE + off, buf, len - left);
	}
}

struct xfer {
	long id;
	uint64_t data[SLOT / 8];
};

static long take_pages(const struct mode *m, unsigned long addr, int n, struct page **pages)
{
	if (!m->pin)
		return get_user_pages_fast(addr, n, FOLL_WRITE, pages);
	return pin_user_pages_fast(addr, n, FOLL_WRITE | (m->longterm ? FOLL_LONGTERM : 0), pages);
}

static void drop_pages(const struct mode *m, struct page **pages, long n)
{
	if (m->pin)
		unpin_user_pages(pages, (unsigned long)n);
	else
		for (long i = 0; i < n; i++)
			put_page(pages[i]);
}

static void pause_us(unsigned long us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};

	nanosleep(&ts, NULL);
}

/* One cycle. Returns 0, or -1 after printing why the set-up failed. */
static int cycle(const struct mode *m, struct dma_engine *engine, const char *path,
		 unsigned char *expect, struct result *r)
{
	struct page *pages[MAX_RANGE];
	struct xfer xfers[MAX_XFERS];
	bool used[MAX_RANGE * PAGE_SIZE / SLOT] = {false};
	struct file *file = filp_open(path, O_RDWR, 0);
	unsigned long addr, first, nx;
	bool mapped = true;
	long got;
	int n, buffer;

	if (IS_ERR(file)) {
		fprintf(stderr, "dma_writeback: filp_open: %s\n", strerror((int)-PTR_ERR(file)));
		return -1;
	}
	addr = vm_mmap(file, 0, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	if (IS_ERR_VALUE(addr)) {
		fprintf(stderr, "dma_writeback: vm_mmap: %s\n", strerror((int)-(long)addr));
		fput(file);
		return -1;
	}
	cpu_stores(addr, expect);
	first = below(NPAGES);
	n = 1 + (int)below(MAX_RANGE);
	if (first + (unsigned long)n > NPAGES)
		n = (int)(NPAGES - first);
	nx = 1 + below(MAX_XFERS);

	got = take_pages(m, addr + first * PAGE_SIZE, n, pages);
	if (got != n) {
		if (got > 0)
			drop_pages(m, pages, got);
		else
			r->refused++;
		goto out;
	}
	if (!m->pin) /* the driver of old dirties at set-up, before the device wrote */
		for (int i = 0; i < n; i++)
			set_page_dirty_lock(pages[i]);
	buffer = dma_map_pages(engine, pages, (unsigned long)n, m->pin ? DMA_REF_PIN : DMA_REF_GET,
			       m->pin ? DMA_RELEASE_UNPIN_DIRTY : DMA_RELEASE_PUT_PAGE);
	if (buffer < 0) {
		fprintf(stderr, "dma_writeback: dma_map_pages: %s\n", strerror(-buffer));
		drop_pages(m, pages, n);
		vm_munmap(addr, FILE_BYTES);
		fput(file);
		return -1;
	}
	for (unsigned long x = 0; x < nx; x++) {
		unsigned long slot, len;

		do
			slot = below((unsigned long)n * PAGE_SIZE / SLOT);
		while (used[slot]);
		used[slot] = true;
		len = 8 * (1 + below(SLOT / 8));
		for (unsigned long i = 0; i < SLOT / 8; i++)
			xfers[x].data[i] = rnd();
		memcpy(expect + first * PAGE_SIZE + slot * SLOT, xfers[x].data, len);
		xfers[x].id = dma_submit(engine, buffer, pages[slot * SLOT / PAGE_SIZE],
					 (unsigned int)(slot * SLOT % PAGE_SIZE), xfers[x].data,
					 (unsigned int)len, DMA_FROM_DEVICE);
		if (xfers[x].id <= 0) {
			fprintf(stderr, "dma_writeback: dma_submit: %s\n", strerror((int)-xfers[x].id));
			exit(2);
		}
		r->dma_bytes += len;
	}
	/* While the device works: fsync, a pause for the flusher, an early munmap. */
	if (below(2))
		vfs_fsync(file, 0);
	pause_us(below(200));
	if (below(4) == 0) {
		vm_munmap(addr, FILE_BYTES);
		mapped = false;
	}
	if (below(2))
		vfs_fsync(file, 0);
	for (unsigned long x = 0; x < nx; x++)
		dma_wait(engine, xfers[x].id);
	dma_unmap(engine, buffer);
out:
	if (mapped)
		vm_munmap(addr, FILE_BYTES);
	/* Data integrity now: whatever is dirty is written, and what was not dirty is lost. */
	vfs_fsync(file, 0);
	fput(file);
	r->lost_bytes += compare_host(path, expect);
	r->cycles++;
	return 0;
}

static int run_mode(const struct mode *m, unsigned long cycles, uint64_t seed,
		    unsigned int threads, struct result *r)
{
	struct pinmm_flusher_settings fl = {.dirty_expire_centisecs = 0,
					    .dirty_writeback_centisecs = 1,
					    .dirty_ratio = 20};
	static unsigned char expect[FILE_BYTES];
	struct pinmm_bdev_stats bd;
	struct pinmm_fs_stats fs;
	struct dma_engine *engine;
	struct mm_struct *mm;
	char path[64];
	long start = now_ms();
	int ret = 0;

	memset(r, 0, sizeof(*r));
	memset(expect, 0, sizeof(expect));
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	if (make_host_file(path, FILE_BYTES))
		return -1;
	if (boot(m->rules, m->pin_aware, &mm)) {
		unlink(path);
		return -1;
	}
	pinmm_bdev_set_delay(DEVICE_DELAY_US);
	pinmm_flusher_start(&fl);
	engine = dma_engine_create(threads, DEVICE_DELAY_US);
	if (IS_ERR(engine)) {
		fprintf(stderr, "dma_writeback: dma_engine_create: %s\n",
			strerror((int)-PTR_ERR(engine)));
		ret = -1;
	}
	for (unsigned long c = 0; !ret && c < cycles; c++)
		ret = cycle(m, engine, path, expect, r);
	if (!IS_ERR(engine))
		dma_engine_destroy(engine);
	pinmm_flusher_stop();
	pinmm_bdev_stats(&bd);
	pinmm_fs_stats(&fs);
	r->torn = bd.torn;
	r->warn = fs.dirtied_without_mkwrite;
	r->ms = now_ms() - start;
	if (shutdown(mm))
		ret = -1;
	unlink(path);
	return ret;
}

/* The cost of pin-aware writeback: rounds of dirtying every page and fsync, timed. */
static int run_cost(bool pin_aware, unsigned long rounds, unsigned long *pages_out, long *ms_out)
{
	struct page *pinned[COST_PAGES / COST_PIN_EVERY + 1];
	unsigned long addr, npinned = 0, written = 0;
	struct mm_struct *mm;
	struct file *file;
	char path[64];
	long ms = 0;
	int ret = -1;

	if (make_host_file(path, COST_PAGES * PAGE_SIZE))
		return -1;
	if (boot(PINMM_RULES_5_7, pin_aware, &mm))
		goto out_unlink;
	file = filp_open(path, O_RDWR, 0);
	if (IS_ERR(file))
		goto out_shutdown;
	addr = vm_mmap(file, 0, COST_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	if (IS_ERR_VALUE(addr))
		goto out_fput;
	for (unsigned long i = 0; i < COST_PAGES; i++)
		if (copy_to_user(addr + i * PAGE_SIZE, &i, sizeof(i)))
			goto out_munmap;
	for (unsigned long i = 0; i < COST_PAGES; i += COST_PIN_EVERY)
		if (pin_user_pages_fast(addr + i * PAGE_SIZE, 1, FOLL_WRITE, &pinned[npinned]) == 1)
			npinned++;
	for (unsigned long r = 0; r < rounds; r++) {
		long t0;

		for (unsigned long i = 0; i < COST_PAGES; i++) {
			unsigned long v = i ^ r;

			if (copy_to_user(addr + i * PAGE_SIZE, &v, sizeof(v)))
				goto out_unpin;
		}
		written += (unsigned long)global_node_page_state(NR_FILE_DIRTY);
		t0 = now_ms();
		if (vfs_fsync(file, 0))
			goto out_unpin;
		ms += now_ms() - t0;
	}
	ret = 0;
out_unpin:
	unpin_user_pages(pinned, npinned); /* no device wrote them: nothing to dirty */
out_munmap:
	vm_munmap(addr, COST_PAGES * PAGE_SIZE);
out_fput:
	fput(file);
out_shutdown:
	if (shutdown(mm))
		ret = -1;
out_unlink:
	unlink(path);
	*pages_out = written;
	*ms_out = ms;
	if (ret)
		fprintf(stderr, "dma_writeback: the cost measurement failed\n");
	return ret;
}

static int cost(unsigned long rounds)
{
	double rate[2];

	for (int on = 0; on < 2; on++) {
		unsigned long pages;
		long ms;

		if (run_cost(on, rounds, &pages, &ms))
			return 2;
		rate[on] = ms ? pages * 1000.0 / (double)ms : 0;
		printf("cost pin_aware=%s rounds=%lu pages=%lu ms=%ld pages_per_s=%.0f\n",
		       on ? "on" : "off", rounds, pages, ms, rate[on]);
	}
	printf("cost overhead=%.1f%%\n", rate[0] > 0 ? (1 - rate[1] / rate[0]) * 100 : 0.0);
	return 0;
}

static bool parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return !errno && end != s && !*end && s[0] != '-';
}

static int parse_modes(char *list, bool *want)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		size_t i;

		for (i = 0; i < NR_MODES && strcmp(tok, modes[i].name); i++)
			;
		if (i == NR_MODES) {
			fprintf(stderr, "dma_writeback: -m %s: not a mode (get, pin, "
					"pin-longterm-modern, pin-aware)\n", tok);
			return -1;
		}
		want[i] = true;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long cycles = 0, seed = 1, threads = 2;
	bool want[NR_MODES] = {false}, any = false, cost_mode = false;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "n:s:m:j:ch")) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_ulong(optarg, &cycles) || !cycles) {
				fprintf(stderr, "dma_writeback: -n %s: not a positive count\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (!parse_ulong(optarg, &seed)) {
				fprintf(stderr, "dma_writeback: -s %s: not a number\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (parse_modes(optarg, want))
				return 2;
			break;
		case 'j':
			if (!parse_ulong(optarg, &threads) || !threads || threads > DMA_MAX_THREADS) {
				fprintf(stderr, "dma_writeback: -j %s: not 1..%d\n", optarg,
					DMA_MAX_THREADS);
				return 2;
			}
			break;
		case 'c':
			cost_mode = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dma_writeback: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (cost_mode)
		return cost(cycles ? cycles : 20);
	if (!cycles)
		cycles = 200;
	for (size_t i = 0; i < NR_MODES; i++)
		any |= want[i];
	for (size_t i = 0; i < NR_MODES; i++) {
		struct result r;

		if (any && !want[i])
			continue;
		if (run_mode(&modes[i], cycles, seed, (unsigned int)threads, &r))
			return 2;
		printf("mode=%s cycles=%lu dma_bytes=%lu lost_bytes=%lu torn=%lu warn=%lu ms=%ld",
		       modes[i].name, r.cycles, r.dma_bytes, r.lost_bytes, r.torn, r.warn, r.ms);
		if (modes[i].longterm)
			printf(" refused=%lu", r.refused);
		printf("\n");
		fflush(stdout);
		if (modes[i].pin_aware && (r.lost_bytes || r.torn || r.warn)) {
			fprintf(stderr, "dma_writeback: pin-aware writeback lost, tore or warned\n");
			status = 1;
		}
	}
	return status;
}
