/* SPDX-License-Identifier: MIT */
/*
 * pinmm_bench: the GUP benchmark matrix. For each backing (4 KiB pages, 2 MiB THP, 2 MiB and
 * 1 GiB hugetlb) a pre-faulted range is taken with {get, pin} x {fast, slow, long-term} by 1 and
 * 2 threads (disjoint halves), then released (put_page / unpin_user_pages). Each figure is the
 * best of several repeats, printed as ms per GiB and ns per 4 KiB page, beside the floor
 * measured in the same run on the same struct pages: one atomic add on each 64-byte struct
 * page of the range (by the same number of threads). Writes the table to stdout, the figures
 * to a CSV file and a bar chart of ns/page to an SVG file.
 *
 * Usage: pinmm_bench [-s RANGE_MIB] [-r REPEATS] [-o CSV] [-g SVG] [-q] [-d]
 *   defaults: -s 1024 -r 5 -o bench.csv -g bench.svg
 *
 * The machine runs without its debug checks (pinmm_config.debug_checks), as Linux without
 * CONFIG_DEBUG_VM: the checked release costs about 1 ns per 4 KiB page on the unpin rows
 * (docs/performance.md). -d keeps them on, to measure that.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

enum backing { B_4K, B_THP, B_HUGE_2M, B_HUGE_1G, NR_BACKINGS };
enum mode { M_FAST, M_SLOW, M_LONGTERM, NR_MODES };

static const char *const backing_names[NR_BACKINGS] = {"4k", "thp-2m", "hugetlb-2m",
						       "hugetlb-1g"};
static const char *const mode_names[NR_MODES] = {"fast", "slow", "longterm"};

#define PAGES_PER_CALL 512

struct range {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long nr_pages;
	struct page **pages; /* the range's pages, for the floor */
};

/* What one thread does in one timed phase. */
struct job {
	struct range *r;
	unsigned long first, nr; /* the thread's part, in pages */
	bool pin;
	enum mode mode;
	int phase; /* 0: take, 1: release, 2: floor add, 3: floor sub */
	struct page **pages;
	long got;
	pthread_barrier_t *barrier;
	double ns;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long take(struct job *j)
{
	unsigned int flags = FOLL_WRITE | (j->mode == M_LONGTERM ? FOLL_LONGTERM : 0);
	unsigned long addr = j->r->start + (j->first << PAGE_SHIFT);
	long done = 0;

	if (j->mode == M_SLOW || j->mode == M_LONGTERM)
		mmap_read_lock(j->r->mm);
	while ((unsigned long)done < j->nr) {
		unsigned long n = j->nr - (unsigned long)done;
		long ret;

		if (n > PAGES_PER_CALL)
			n = PAGES_PER_CALL;
		if (j->mode == M_FAST)
			ret = j->pin ? pin_user_pages_fast(addr, (int)n, flags, j->pages + done)
				     : get_user_pages_fast(addr, (int)n, flags, j->pages + done);
		else
			ret = j->pin ? pin_user_pages(addr, n, flags, j->pages + done)
				     : get_user_pages(addr, n, flags, j->pages + done);
		if (ret <= 0)
			break;
		done += ret;
		addr += (unsigned long)ret << PAGE_SHIFT;
	}
	if (j->mode == M_SLOW || j->mode == M_LONGTERM)
		mmap_read_unlock(j->r->mm);
	return done;
}

static void release(struct job *j)
{
	if (j->pin) {
		unpin_user_pages(j->pages, (unsigned long)j->got);
		return;
	}
	for (long i = 0; i < j->got; i++)
		put_page(j->pages[i]);
}

/* The floor: one atomic add (or sub) on each struct page of the part. */
static void floor_pass(struct job *j, int delta)
{
	struct page **p = j->r->pages + j->first;

	for (unsigned long i = 0; i < j->nr; i++)
		atomic_fetch_add_explicit(&p[i]->_refcount, delta, memory_order_relaxed);
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	double t0;

	kthread_use_mm(j->r->mm);
	pthread_barrier_wait(j->barrier);
	t0 = now_ns();
	switch (j->phase) {
	case 0:
		j->got = take(j);
		break;
	case 1:
		release(j);
		break;
	case 2:
		floor_pass(j, 1);
		break;
	case 3:
		floor_pass(j, -1);
		break;
	}
	j->ns = now_ns() - t0;
	kthread_unuse_mm(j->r->mm);
	return NULL;
}

/* Run one phase on nthreads threads; returns the wall time (the slowest thread). */
static double run_phase(struct job *jobs, int nthreads, int phase)
{
	pthread_t tid[2];
	pthread_barrier_t barrier;
	double worst = 0;

	pthread_barrier_init(&barrier, NULL, (unsigned int)nthreads);
	for (int t = 0; t < nthreads; t++) {
		jobs[t].phase = phase;
		jobs[t].barrier = &barrier;
		pthread_create(&tid[t], NULL, run_job, &jobs[t]);
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		if (jobs[t].ns > worst)
			worst = jobs[t].ns;
	}
	pthread_barrier_destroy(&barrier);
	return worst;
}

struct result {
	enum backing b;
	int threads;
	bool pin;
	enum mode mode;
	double get_ns, put_ns, floor_ns; /* per page, best of the repeats */
	long got;
};

static int measure(struct range *r, int nthreads, bool pin, enum mode mode, int repeats,
		   struct result *res)
{
	struct job jobs[2];
	unsigned long per = r->nr_pages / (unsigned long)nthreads;
	double best_get = 1e300, best_put = 1e300, best_floor = 1e300;

	for (int t = 0; t < nthreads; t++) {
		jobs[t] = (struct job){.r = r, .first = per * (unsigned long)t, .nr = per,
				       .pin = pin, .mode = mode};
		jobs[t].pages = malloc(per * sizeof(struct page *));
		if (!jobs[t].pages)
			return -ENOMEM;
	}
	for (int rep = 0; rep < repeats; rep++) {
		double g = run_phase(jobs, nthreads, 0), p, f;

		for (int t = 0; t < nthreads; t++)
			if ((unsigned long)jobs[t].got != per) {
				fprintf(stderr, "pinmm_bench: %s %s %s: took %ld of %lu pages\n",
					backing_names[res->b], pin ? "pin" : "get",
					mode_names[mode], jobs[t].got, per);
				return -EIO;
			}
		p = run_phase(jobs, nthreads, 1);
		f = run_phase(jobs, nthreads, 2);
		run_phase(jobs, nthreads, 3);
		if (g < best_get)
			best_get = g;
		if (p < best_put)
			best_put = p;
		if (f < best_floor)
			best_floor = f;
	}
	for (int t = 0; t < nthreads; t++)
		free(jobs[t].pages);
	res->threads = nthreads;
	res->pin = pin;
	res->mode = mode;
	res->get_ns = best_get / (double)r->nr_pages;
	res->put_ns = best_put / (double)r->nr_pages;
	res->floor_ns = best_floor / (double)r->nr_pages;
	res->got = (long)r->nr_pages;
	return 0;
}

/* Map and pre-fault the range for a backing, and collect its pages for the floor. */
static int map_range(struct range *r, enum backing b, unsigned long bytes)
{
	unsigned long flags = MAP_PRIVATE | MAP_ANONYMOUS;
	unsigned long align = b == B_HUGE_1G ? PUD_SIZE : PMD_SIZE;
	unsigned long addr;
	long got;

	if (b == B_HUGE_2M)
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	if (b == B_HUGE_1G)
		flags |= MAP_HUGETLB | MAP_HUGE_1GB;
	/* Over-map to place the range on a huge-page boundary, then trim. */
	addr = vm_mmap(NULL, 0, bytes + align, PROT_READ | PROT_WRITE, flags, 0);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	r->start = (addr + align - 1) & ~(align - 1);
	if (r->start > addr)
		vm_munmap(addr, r->start - addr);
	vm_munmap(r->start + bytes, addr + align - r->start);
	if (b == B_4K || b == B_THP)
		do_madvise(r->mm, r->start, bytes, b == B_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (do_madvise(r->mm, r->start, bytes, MADV_POPULATE_WRITE))
		return -ENOMEM;
	r->nr_pages = bytes >> PAGE_SHIFT;
	r->pages = malloc(r->nr_pages * sizeof(struct page *));
	if (!r->pages)
		return -ENOMEM;
	got = get_user_pages_fast(r->start, (int)r->nr_pages, FOLL_WRITE, r->pages);
	if (got != (long)r->nr_pages)
		return -EFAULT;
	for (long i = 0; i < got; i++)
		put_page(r->pages[i]);
	return 0;
}

static void print_header(void)
{
	printf("%-11s %3s %-4s %-8s | %9s %8s | %9s %8s | %8s | %6s %6s\n", "backing", "thr", "op",
	       "mode", "get ms/G", "get ns/p", "put ms/G", "put ns/p", "floor ns", "get/fl",
	       "put/fl");
}

static void print_result(const struct result *r)
{
	double per_gib = (double)(1UL << 18) / 1e6; /* ns/page -> ms/GiB */

	printf("%-11s %3d %-4s %-8s | %9.2f %8.2f | %9.2f %8.2f | %8.2f | %6.2f %6.2f\n",
	       backing_names[r->b], r->threads, r->pin ? "pin" : "get", mode_names[r->mode],
	       r->get_ns * per_gib, r->get_ns, r->put_ns * per_gib, r->put_ns, r->floor_ns,
	       r->get_ns / r->floor_ns, r->put_ns / r->floor_ns);
}

static void write_csv(FILE *f, const struct result *res, int n)
{
	fprintf(f, "backing,threads,op,mode,get_ns_per_page,put_ns_per_page,floor_ns_per_page,"
		   "get_ms_per_gib,put_ms_per_gib\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s,%d,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f\n", backing_names[res[i].b],
			res[i].threads, res[i].pin ? "pin" : "get", mode_names[res[i].mode],
			res[i].get_ns, res[i].put_ns, res[i].floor_ns,
			res[i].get_ns * 262144 / 1e6, res[i].put_ns * 262144 / 1e6);
}

/* A horizontal bar chart: get and put ns/page per configuration, the floor as a tick. */
static void write_svg(FILE *f, const struct result *res, int n)
{
	double max = 0;
	const int row = 16, left = 260, width = 560;

	for (int i = 0; i < n; i++) {
		if (res[i].get_ns > max)
			max = res[i].get_ns;
		if (res[i].put_ns > max)
			max = res[i].put_ns;
	}
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
		   "font-family='monospace' font-size='11'>\n",
		left + width + 40, (n + 2) * row * 2);
	fprintf(f, "<text x='4' y='14'>ns per 4 KiB page (blue: get/pin, orange: put/unpin, "
		   "black tick: floor); full scale %.1f ns</text>\n", max);
	for (int i = 0; i < n; i++) {
		int y = (i + 1) * row * 2;
		double g = res[i].get_ns / max * width, p = res[i].put_ns / max * width;
		double fl = res[i].floor_ns / max * width;

		fprintf(f, "<text x='4' y='%d'>%s %dt %s %s</text>\n", y + 12,
			backing_names[res[i].b], res[i].threads, res[i].pin ? "pin" : "get",
			mode_names[res[i].mode]);
		fprintf(f, "<rect x='%d' y='%d' width='%.1f' height='%d' fill='#4a7ab7'/>\n", left,
			y, g, row - 2);
		fprintf(f, "<rect x='%d' y='%d' width='%.1f' height='%d' fill='#e08a2c'/>\n", left,
			y + row - 2, p, row - 2);
		fprintf(f, "<rect x='%.1f' y='%d' width='2' height='%d' fill='black'/>\n",
			left + fl, y, 2 * row - 4);
	}
	fprintf(f, "</svg>\n");
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pinmm_bench [-s RANGE_MIB] [-r REPEATS] [-o CSV] [-g SVG] [-q] [-d]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 1024;
	int repeats = 5, opt, nres = 0;
	bool debug_checks = false;
	const char *csv = "bench.csv", *svg = "bench.svg";
	struct result res[NR_BACKINGS * 2 * 2 * NR_MODES];
	struct pinmm_config cfg;
	struct mm_struct *mm;
	FILE *f;
	char *end;

	while ((opt = getopt(argc, argv, "s:r:o:g:qd")) != -1) {
		switch (opt) {
		case 's':
			mib = strtoul(optarg, &end, 0);
			if (*end || mib == 0 || mib % 1024)
				usage();
			break;
		case 'r':
			repeats = (int)strtol(optarg, &end, 0);
			if (*end || repeats <= 0)
				usage();
			break;
		case 'o':
			csv = optarg;
			break;
		case 'g':
			svg = optarg;
			break;
		case 'q':
			pinmm_set_log_stream(fopen("/dev/null", "w"));
			break;
		case 'd':
			debug_checks = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	pinmm_config_default(&cfg);
	cfg.ram_bytes = (mib << 20) * 3 + (1ULL << 30) + (512ULL << 20);
	cfg.nr_hugepages_2m = mib / 2;
	cfg.nr_hugepages_1g = mib / 1024;
	cfg.thp = PINMM_THP_MADVISE;
	cfg.debug_checks = debug_checks;
	if (pinmm_boot(&cfg)) {
		fprintf(stderr, "pinmm_bench: cannot boot a %llu MiB machine\n", cfg.ram_bytes >> 20);
		return 1;
	}
	printf("pinmm_bench: %lu MiB per range, best of %d, %d pages per call, %ld CPUs online, "
	       "debug checks %s\n",
	       mib, repeats, PAGES_PER_CALL, sysconf(_SC_NPROCESSORS_ONLN),
	       debug_checks ? "on" : "off");
	print_header();
	mm = mm_alloc();
	kthread_use_mm(mm);
	for (int b = 0; b < NR_BACKINGS; b++) {
		struct range r = {.mm = mm};
		int ret = map_range(&r, (enum backing)b, mib << 20);

		if (ret) {
			fprintf(stderr, "pinmm_bench: %s: cannot map and fault the range: %s\n",
				backing_names[b], strerror(-ret));
			return 1;
		}
		for (int threads = 1; threads <= 2; threads++)
			for (int pin = 0; pin <= 1; pin++)
				for (int m = 0; m < NR_MODES; m++) {
					res[nres].b = (enum backing)b;
					if (measure(&r, threads, pin, (enum mode)m, repeats,
						    &res[nres]))
						return 1;
					print_result(&res[nres++]);
				}
		vm_munmap(r.start, mib << 20);
		free(r.pages);
	}
	kthread_unuse_mm(mm);
	mmput(mm);
	if (global_node_page_state(NR_FOLL_PIN_ACQUIRED) !=
	    global_node_page_state(NR_FOLL_PIN_RELEASED)) {
		fprintf(stderr, "pinmm_bench: pins acquired %ld != released %ld\n",
			global_node_page_state(NR_FOLL_PIN_ACQUIRED),
			global_node_page_state(NR_FOLL_PIN_RELEASED));
		return 1;
	}
	if (pinmm_shutdown()) {
		fprintf(stderr, "pinmm_bench: shutdown found leaked pages\n");
		return 1;
	}
	f = fopen(csv, "w");
	if (!f) {
		fprintf(stderr, "pinmm_bench: %s: %s\n", csv, strerror(errno));
		return 1;
	}
	write_csv(f, res, nres);
	fclose(f);
	f = fopen(svg, "w");
	if (!f) {
		fprintf(stderr, "pinmm_bench: %s: %s\n", svg, strerror(errno));
		return 1;
	}
	write_svg(f, res, nres);
	fclose(f);
	printf("wrote %s and %s\n", csv, svg);
	return 0;
}
