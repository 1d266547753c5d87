/* SPDX-License-Identifier: MIT */
/*
 * pinmm_bench: the GUP benchmark matrix. For each backing (4 KiB pages, 2 MiB THP, 2 MiB and
 * 1 GiB hugetlb) a pre-faulted range is taken with {get, pin} x {fast, slow, long-term} by each
 * thread count (disjoint parts), then released (put_page / unpin_user_pages). Each figure is
 * given as min / median / max over its repeats, in ns per 4 KiB page (and the median in ms per
 * GiB), beside the floor measured in the same run on the same struct pages: one atomic add on
 * each 64-byte struct page of the range (by the same number of threads). A row whose max is
 * more than SPREAD_WARN times its min is marked '!': that figure varies between runs (the
 * slow path on huge pages with 2 threads does, by up to 20x). Writes the table to stdout (a
 * line per row as it is measured, also into a pipe), the figures to a CSV file and a chart
 * to an SVG file. A row with more than one thread ends with its scaling against the 1-thread
 * row (scaling_of(): 1-thread time / N-thread time, least of the repeats, for the take, the
 * release and the floor, then the take's and the release's over the floor's).
 *
 * Usage: pinmm_bench [-h] [-s RANGE_MIB] [-r REPEATS] [-b BACKINGS] [-t THREADS] [-o CSV]
 *                    [-g SVG] [-q] [-d] [-R 5.7|modern] [-z MOVABLE_MIB,CMA_MIB]
 *   -R: the rule set (default: PINMM_RULES, else 5.7)
 *
 * The machine runs without its debug checks (pinmm_config.debug_checks), as Linux without
 * CONFIG_DEBUG_VM: the checked release costs about 1 ns per 4 KiB page on the unpin rows
 * (docs/performance.md). -d keeps them on, to measure that.
 *
 * The machine (the second line) has no ZONE_MOVABLE and no CMA, as the host's own memory: a
 * long-term pin there migrates nothing, and every row measures the range as it was faulted.
 * -z MOVABLE_MIB,CMA_MIB boots them (128,64 is pinmm_config_default()'s machine): then a
 * long-term pin migrates the pages out of them (modern rules: both; 5.7: CMA), and migration
 * splits each THP it moves (src/vm/migrate.c), so after a THP row that split some, the tool
 * says how many pages are no longer THP-mapped and maps the range again. The rule that is
 * easy to break: the floor must work on the pages the row took (the range's pages now), not
 * on those collected at map time, which migration freed; every floor page is checked to be
 * mapped after each row.
 *
 * The first line names the rule set. Under modern rules the long-term get rows are left out:
 * FOLL_LONGTERM requires FOLL_PIN there (Linux 6.3 on).
 *
 * The last line is the pin owners' cost (<pinmm/pin_owner.h>): the fast pin and the unpin of
 * 16 MiB of 4 KiB pages with owners off and on, booted alternately in the same run, and the
 * ratio on / off (owner_cost()).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#include "lib/tool_rules.h"

enum backing { B_4K, B_THP, B_HUGE_2M, B_HUGE_1G, NR_BACKINGS };
enum mode { M_FAST, M_SLOW, M_LONGTERM, NR_MODES };

static const char *const backing_names[NR_BACKINGS] = {"4k", "thp-2m", "hugetlb-2m",
						       "hugetlb-1g"};
static const char *const mode_names[NR_MODES] = {"fast", "slow", "longterm"};

#define PAGES_PER_CALL 512
#define DEFAULT_REPEATS 5
#define MAX_THREADS 64
/* max / min above this marks a figure as varying between runs. */
#define SPREAD_WARN 2.0

struct range {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long nr_pages;
	struct page **pages; /* the range's pages, for the floor: what the last repeat took */
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
	pthread_t tid[MAX_THREADS];
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

/* One figure over its repeats, ns per page. */
struct spread {
	double min, median, max;
};

struct result {
	enum backing b;
	int threads;
	bool pin;
	enum mode mode;
	struct spread get, put, floor;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sort the n samples (wall ns for the whole range) and keep min / median / max per page. */
static struct spread spread_of(double *ns, int n, unsigned long nr_pages)
{
	double median;

	qsort(ns, (size_t)n, sizeof(*ns), cmp_double);
	median = n % 2 ? ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2;
	return (struct spread){ ns[0] / (double)nr_pages, median / (double)nr_pages,
				ns[n - 1] / (double)nr_pages };
}

static bool varies(const struct spread *s)
{
	return s->max > SPREAD_WARN * s->min;
}

static void free_jobs(struct job *jobs, int nthreads)
{
	for (int t = 0; t < nthreads; t++)
		free(jobs[t].pages);
	free(jobs);
}

/* Thread t takes pages [first, first + nr): equal parts, the last one takes the rest. */
static int measure(struct range *r, int nthreads, bool pin, enum mode mode, int repeats,
		   struct result *res)
{
	unsigned long per = r->nr_pages / (unsigned long)nthreads;
	struct job *jobs = calloc((size_t)nthreads, sizeof(*jobs));
	double *samples = calloc(3 * (size_t)repeats, sizeof(*samples));
	double *get = samples, *put = samples + repeats, *flo = samples + 2 * repeats;

	if (!jobs || !samples) {
		free(jobs);
		free(samples);
		return -ENOMEM;
	}
	for (int t = 0; t < nthreads; t++) {
		unsigned long first = per * (unsigned long)t;
		unsigned long nr = t == nthreads - 1 ? r->nr_pages - first : per;

		jobs[t] = (struct job){.r = r, .first = first, .nr = nr, .pin = pin,
				       .mode = mode};
		jobs[t].pages = malloc(nr * sizeof(struct page *));
		if (!jobs[t].pages) {
			free_jobs(jobs, t);
			free(samples);
			return -ENOMEM;
		}
	}
	for (int rep = 0; rep < repeats; rep++) {
		get[rep] = run_phase(jobs, nthreads, 0);
		for (int t = 0; t < nthreads; t++) {
			if ((unsigned long)jobs[t].got == jobs[t].nr)
				continue;
			fprintf(stderr, "pinmm_bench: %s %s %s: took %ld of %lu pages\n",
				backing_names[res->b], pin ? "pin" : "get", mode_names[mode],
				jobs[t].got, jobs[t].nr);
			free_jobs(jobs, nthreads);
			free(samples);
			return -EIO;
		}
		/* The floor works on the pages this repeat took: a long-term pin may have
		 * migrated the range, freeing the pages the floor used before. */
		for (int t = 0; t < nthreads; t++)
			memcpy(r->pages + jobs[t].first, jobs[t].pages,
			       jobs[t].nr * sizeof(struct page *));
		put[rep] = run_phase(jobs, nthreads, 1);
		flo[rep] = run_phase(jobs, nthreads, 2);
		run_phase(jobs, nthreads, 3);
	}
	free_jobs(jobs, nthreads);
	res->threads = nthreads;
	res->pin = pin;
	res->mode = mode;
	res->get = spread_of(get, repeats, r->nr_pages);
	res->put = spread_of(put, repeats, r->nr_pages);
	res->floor = spread_of(flo, repeats, r->nr_pages);
	free(samples);
	return 0;
}

/* Map and pre-fault the range for a backing, and collect its pages for the floor. */
static int map_range(struct range *r, enum backing b, unsigned long bytes)
{
	unsigned long flags = MAP_PRIVATE | MAP_ANONYMOUS;
	unsigned long align = b == B_HUGE_1G ? PUD_SIZE : PMD_SIZE;
	unsigned long addr;
	long got;

	/* Find a huge-page aligned hole by over-mapping address space without memory (PROT_NONE,
	 * no reservation), then map the range there: a hugetlb over-map would reserve one huge
	 * page more than the pool holds, and fail. */
	addr = vm_mmap(NULL, 0, bytes + align, PROT_NONE, flags | MAP_NORESERVE, 0);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	r->start = (addr + align - 1) & ~(align - 1);
	vm_munmap(addr, bytes + align);
	if (b == B_HUGE_2M)
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	if (b == B_HUGE_1G)
		flags |= MAP_HUGETLB | MAP_HUGE_1GB;
	addr = vm_mmap(NULL, r->start, bytes, PROT_READ | PROT_WRITE, flags | MAP_FIXED, 0);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
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

/*
 * The floor's pages must be the range's pages now: mapped, and so held by their mapping. A
 * page that a long-term pin migrated away was freed (its count 0, or it is reused): an atomic
 * add there measures nothing of the range. Checked after every row, untimed.
 */
static int check_floor_pages(const struct range *r, const struct result *res)
{
	for (unsigned long i = 0; i < r->nr_pages; i++) {
		const struct page *head = compound_head(r->pages[i]);

		if (page_ref_count(head) > 0 && page_mapped(r->pages[i]))
			continue;
		fprintf(stderr, "pinmm_bench: %s %d thr %s %s: the floor's page %lu is not mapped "
				"in the range (count %d): the floor would measure freed pages\n",
			backing_names[res->b], res->threads, res->pin ? "pin" : "get",
			mode_names[res->mode], i, page_ref_count(head));
		return -EFAULT;
	}
	return 0;
}

/* Pages of the range mapped by a PMD as THPs (the only THPs mapped: AnonHugePages). */
static unsigned long thp_mapped_pages(void)
{
	return (unsigned long)global_node_page_state(NR_ANON_THPS) * HPAGE_PMD_NR;
}

/* The machine, its zones and why, and the load it runs under. */
static void print_machine(const struct pinmm_config *cfg)
{
	char a[16], b[16], c[16], load[64] = "unknown";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%15s %15s %15s", a, b, c) == 3)
			snprintf(load, sizeof(load), "%s %s %s", a, b, c);
		fclose(f);
	}
	if (!cfg->movable_bytes && !cfg->cma_bytes)
		printf("machine: %llu MiB of RAM, no ZONE_MOVABLE, no CMA (as the host's memory): a "
		       "long-term pin migrates nothing; load average %s\n", cfg->ram_bytes >> 20, load);
	else
		printf("machine: %llu MiB of RAM, ZONE_MOVABLE %llu MiB, CMA %llu MiB (-z): the "
		       "long-term rows include migration out of them (modern rules: both, 5.7: CMA) "
		       "and a migrated THP is split; load average %s\n", cfg->ram_bytes >> 20,
		       cfg->movable_bytes >> 20, cfg->cma_bytes >> 20, load);
}

/*
 * After a THP row: the pages of the range that are no longer THP-mapped (a long-term pin
 * migrates a THP out of ZONE_MOVABLE or CMA by splitting it: src/vm/migrate.c), said on a line
 * of their own; then the range is mapped and faulted again, so that the next row measures THPs
 * as its backing says. thp_faulted: the count right after the first fault. 0, or the error of
 * the new mapping.
 */
static int split_report(struct range *r, const struct result *res, unsigned long thp_faulted,
			unsigned long bytes)
{
	unsigned long now = thp_mapped_pages();
	int ret;

	if (now >= thp_faulted)
		return 0;
	printf("thp-2m: after %d thr %s %s, %lu of %lu pages are no longer THP-mapped (split by "
	       "migration); the range is mapped again\n", res->threads, res->pin ? "pin" : "get",
	       mode_names[res->mode], thp_faulted - now, r->nr_pages);
	vm_munmap(r->start, bytes);
	free(r->pages);
	r->pages = NULL;
	ret = map_range(r, B_THP, bytes);
	if (ret)
		fprintf(stderr, "pinmm_bench: thp-2m: cannot map and fault the range again: %s\n",
			strerror(-ret));
	return ret;
}

static void print_header(void)
{
	printf("%-10s %3s %-3s %-8s | %-20s | %-20s | %6s | %6s %6s | %8s %8s | %s\n", "backing",
	       "thr", "op", "mode", "get ns/page", "put ns/page", "floor", "get/fl", "put/fl",
	       "get ms/G", "put ms/G", "scaling 1 thr / N thr, min: get put floor, get/fl put/fl");
	printf("%-10s %3s %-3s %-8s | %-20s | %-20s | %6s | %6s %6s | %8s %8s |\n", "", "", "", "",
	       "min / median / max", "min / median / max", "median", "median", "median", "median",
	       "median");
}

/*
 * Scaling: how much faster N threads take (and release) the range than one thread does, as
 * the 1-thread row's time over this row's (the least of each one's repeats; N is ideal), for
 * the op and for the floor measured beside it; and the op's scaling over the floor's, the
 * figure the target is set on (at least 0.9: the op scales 0.9x as well as one atomic add per
 * struct page does). Left at 0 for a 1-thread row, or when no 1-thread row of the same backing,
 * op and mode was measured.
 */
struct scaling {
	double get, put, floor;
};

static struct scaling scaling_of(const struct result *r, const struct result *res, int n)
{
	for (int i = 0; r->threads > 1 && i < n; i++) {
		const struct result *one = &res[i];

		if (one->threads != 1 || one->b != r->b || one->pin != r->pin ||
		    one->mode != r->mode)
			continue;
		return (struct scaling){ one->get.min / r->get.min, one->put.min / r->put.min,
					 one->floor.min / r->floor.min };
	}
	return (struct scaling){ 0, 0, 0 };
}

/* "min / median / max", marked '!' when the figure varies between runs. */
static void print_spread(const struct spread *s)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.2f/%.2f/%.2f%s", s->min, s->median, s->max,
		 varies(s) ? "!" : "");
	printf(" %-20s |", buf);
}

/* Row i of res[0 .. i], with its scaling against the 1-thread row measured before it. */
static void print_result(const struct result *res, int i)
{
	double per_gib = (double)(1UL << 18) / 1e6; /* ns/page -> ms/GiB */
	const struct result *r = &res[i];
	struct scaling sc = scaling_of(r, res, i);

	printf("%-10s %3d %-3s %-8s |", backing_names[r->b], r->threads, r->pin ? "pin" : "get",
	       mode_names[r->mode]);
	print_spread(&r->get);
	print_spread(&r->put);
	printf(" %6.2f | %6.2f %6.2f | %8.2f %8.2f |", r->floor.median,
	       r->get.median / r->floor.median, r->put.median / r->floor.median,
	       r->get.median * per_gib, r->put.median * per_gib);
	if (sc.floor > 0)
		printf(" x%.2f x%.2f x%.2f, %.2f %.2f\n", sc.get, sc.put, sc.floor,
		       sc.get / sc.floor, sc.put / sc.floor);
	else
		printf(" -\n");
}

static void write_csv(FILE *f, const struct result *res, int n, int repeats)
{
	fprintf(f, "backing,threads,op,mode,repeats,get_ns_min,get_ns_median,get_ns_max,"
		   "put_ns_min,put_ns_median,put_ns_max,floor_ns_min,floor_ns_median,floor_ns_max,"
		   "get_ms_per_gib_median,put_ms_per_gib_median,get_scaling,put_scaling,"
		   "floor_scaling\n");
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		struct scaling sc = scaling_of(r, res, n);

		fprintf(f, "%s,%d,%s,%s,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,"
			   "%.3f,%.3f,%.3f\n",
			backing_names[r->b], r->threads, r->pin ? "pin" : "get",
			mode_names[r->mode], repeats, r->get.min, r->get.median, r->get.max,
			r->put.min, r->put.median, r->put.max, r->floor.min, r->floor.median,
			r->floor.max, r->get.median * 262144 / 1e6, r->put.median * 262144 / 1e6,
			sc.get, sc.put, sc.floor);
	}
}

/* The chart's log axis: decades from 10^lo to 10^hi ns per page over width pixels. */
struct axis {
	int lo, hi;
	double left, width;
};

static double axis_x(const struct axis *a, double ns)
{
	double lo = a->lo, hi = a->hi, v = ns > 0 ? log10(ns) : lo;

	if (v < lo)
		v = lo;
	if (v > hi)
		v = hi;
	return a->left + (v - lo) / (hi - lo) * a->width;
}

/* One bar from the left edge to the median, with a min-max whisker. */
static void svg_bar(FILE *f, const struct axis *a, double y, double h, const struct spread *s,
		    const char *fill)
{
	double x0 = a->left, xm = axis_x(a, s->median);

	fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'/>\n", x0, y,
		xm - x0, h, fill);
	fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#222' "
		   "stroke-width='1.2'/>\n", axis_x(a, s->min), axis_x(a, s->max), y + h / 2,
		y + h / 2);
}

/*
 * A horizontal bar chart of ns per 4 KiB page, one row per configuration: get/pin (blue) and
 * put/unpin (orange) bars to the median with min-max whiskers, the floor as a black tick, on a
 * log scale (decade gridlines labelled), white background, a legend; rows of each backing are
 * grouped under its name. Rows whose figures vary between runs are labelled '!'.
 */
static void write_svg(FILE *f, const struct result *res, int n, int repeats)
{
	const double row = 30, top = 92, label_w = 230, plot_w = 620;
	double lo = 1e300, hi = 0, y;
	struct axis a = { .left = label_w + 10, .width = plot_w };
	int groups = 0, height;

	for (int i = 0; i < n; i++) {
		const struct spread *s[] = { &res[i].get, &res[i].put, &res[i].floor };

		for (int k = 0; k < 3; k++) {
			if (s[k]->min > 0 && s[k]->min < lo)
				lo = s[k]->min;
			if (s[k]->max > hi)
				hi = s[k]->max;
		}
		groups += !i || res[i].b != res[i - 1].b;
	}
	a.lo = (int)floor(log10(lo > 0 && lo < 1e300 ? lo : 1));
	a.hi = (int)ceil(log10(hi > 0 ? hi : 10));
	if (a.hi <= a.lo)
		a.hi = a.lo + 1;
	height = (int)(top + n * row + groups * 22 + 50);

	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
		   "font-family='DejaVu Sans, Arial, sans-serif' font-size='13'>\n",
		(int)(a.left + plot_w + 30), height);
	fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n");
	fprintf(f, "<text x='10' y='22' font-size='16' font-weight='bold'>pinmm_bench: ns per "
		   "4 KiB page (log scale), median of %d repeats, whiskers min-max</text>\n",
		repeats);
	/* The legend. */
	fprintf(f, "<rect x='10' y='36' width='18' height='12' fill='#3b6fb6'/>"
		   "<text x='34' y='47'>get / pin (take)</text>\n");
	fprintf(f, "<rect x='180' y='36' width='18' height='12' fill='#e08a2c'/>"
		   "<text x='204' y='47'>put / unpin (release)</text>\n");
	fprintf(f, "<rect x='380' y='34' width='3' height='16' fill='black'/>"
		   "<text x='390' y='47'>floor: one atomic add per struct page</text>\n");
	fprintf(f, "<text x='10' y='66'>! : max &gt; %.0fx min, the figure varies between "
		   "runs</text>\n", SPREAD_WARN);

	/* Decade gridlines and their values, top and bottom. */
	for (int d = a.lo; d <= a.hi; d++) {
		double x = axis_x(&a, pow(10, d));

		fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%d' stroke='#bbb'/>\n", x, x,
			top - 8, height - 40);
		fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle'>%g</text>\n", x, top - 12,
			pow(10, d));
		fprintf(f, "<text x='%.1f' y='%d' text-anchor='middle'>%g</text>\n", x,
			height - 24, pow(10, d));
	}
	fprintf(f, "<text x='%.1f' y='%d' text-anchor='middle'>ns per 4 KiB page</text>\n",
		a.left + plot_w / 2, height - 6);

	y = top;
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		double fx = axis_x(&a, r->floor.median);

		if (!i || r->b != res[i - 1].b) {
			fprintf(f, "<text x='10' y='%.1f' font-weight='bold'>%s</text>\n", y + 16,
				backing_names[r->b]);
			fprintf(f, "<line x1='10' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#888'/>\n",
				a.left + plot_w, y + 20, y + 20);
			y += 22;
		}
		fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='end'>%d thr %s %s%s</text>\n",
			label_w, y + row / 2 + 4, r->threads, r->pin ? "pin" : "get",
			mode_names[r->mode], varies(&r->get) || varies(&r->put) ? " !" : "");
		svg_bar(f, &a, y + 3, row / 2 - 4, &r->get, "#3b6fb6");
		svg_bar(f, &a, y + row / 2 + 1, row / 2 - 4, &r->put, "#e08a2c");
		fprintf(f, "<rect x='%.1f' y='%.1f' width='3' height='%.1f' fill='black'/>\n",
			fx - 1.5, y + 1, row - 2);
		y += row;
	}
	fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%d' stroke='black'/>\n", a.left,
		a.left, top - 8, height - 40);
	fprintf(f, "</svg>\n");
}

/* The pin owners' cost (<pinmm/pin_owner.h>): the fast pin and the unpin of OWNER_MIB of
 * 4 KiB pages, 512 per call, one thread, on a machine booted with pin owners off and then on,
 * alternately for each repeat, in the same run; the least ns per page of each, and on / off.
 * PINMM_PIN_OWNER is set aside meanwhile, so that "off" is off. */
#define OWNER_MIB 16

static int owner_run(bool on, bool debug_checks, enum pinmm_rules rules, double *take_ns,
		     double *release_ns)
{
	struct range r = {0};
	struct pinmm_config cfg;
	struct job j = {0};
	double t0, t1;
	int ret;

	pinmm_config_default(&cfg);
	cfg.thp = PINMM_THP_MADVISE;
	cfg.debug_checks = debug_checks;
	cfg.rules = rules;
	cfg.pin_owner = on;
	if (pinmm_boot(&cfg))
		return -ENOMEM;
	r.mm = mm_alloc();
	kthread_use_mm(r.mm);
	ret = map_range(&r, B_4K, OWNER_MIB << 20);
	j = (struct job){.r = &r, .nr = r.nr_pages, .pin = true, .mode = M_FAST};
	j.pages = ret ? NULL : malloc(r.nr_pages * sizeof(struct page *));
	if (j.pages) {
		t0 = now_ns();
		j.got = take(&j);
		t1 = now_ns();
		release(&j);
		*take_ns = (t1 - t0) / (double)r.nr_pages;
		*release_ns = (now_ns() - t1) / (double)r.nr_pages;
		if (j.got != (long)r.nr_pages)
			ret = -EFAULT;
	} else if (!ret) {
		ret = -ENOMEM;
	}
	free(j.pages);
	free(r.pages);
	kthread_unuse_mm(r.mm);
	mmput(r.mm);
	if (pinmm_shutdown() && !ret)
		ret = -EBUSY;
	return ret;
}

static int owner_cost(int repeats, bool debug_checks, enum pinmm_rules rules)
{
	double best[2][2] = {{1e300, 1e300}, {1e300, 1e300}}; /* [on][take, release] */
	const char *env = getenv("PINMM_PIN_OWNER");
	char *saved = env ? strdup(env) : NULL;
	int ret = 0;

	unsetenv("PINMM_PIN_OWNER");
	for (int rep = 0; rep < repeats && !ret; rep++)
		for (int on = 0; on <= 1 && !ret; on++) {
			double t = 0, rel = 0;

			ret = owner_run(on, debug_checks, rules, &t, &rel);
			if (t < best[on][0])
				best[on][0] = t;
			if (rel < best[on][1])
				best[on][1] = rel;
		}
	if (saved) {
		setenv("PINMM_PIN_OWNER", saved, 1);
		free(saved);
	}
	if (ret) {
		fprintf(stderr, "pinmm_bench: pin owners' cost: %s\n", strerror(-ret));
		return ret;
	}
	printf("pin owners: 4k fast pin_user_pages_fast + unpin_user_pages, 1 thr, %d MiB, min of "
	       "%d: pin %.1f ns/page off, %.1f on (x%.1f); unpin %.1f off, %.1f on (x%.1f)\n",
	       OWNER_MIB, repeats, best[0][0], best[1][0], best[1][0] / best[0][0], best[0][1],
	       best[1][1], best[1][1] / best[0][1]);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pinmm_bench [-h] [-s RANGE_MIB] [-r REPEATS] [-b BACKINGS] [-t THREADS]\n"
		"                   [-o CSV] [-g SVG] [-q] [-d] [-R 5.7|modern]\n"
		"                   [-z MOVABLE_MIB,CMA_MIB]\n"
		"  -s  range per backing in MiB (default 1024; a multiple of 1024 with hugetlb-1g,\n"
		"      else of 2)\n"
		"  -r  repeats per figure, reported as min / median / max (default %d)\n"
		"  -b  backings, comma-separated: 4k,thp-2m,hugetlb-2m,hugetlb-1g (default all)\n"
		"  -t  thread counts, comma-separated, 1-%d (default 1,2)\n"
		"  -o  CSV file (default bench.csv)   -g  SVG chart (default bench.svg)\n"
		"  -q  no simulated-kernel log      -d  keep the debug checks on\n"
		"  -R  rule set, 5.7 or modern (default: PINMM_RULES, else 5.7)\n"
		"  -z  MOVABLE_MIB,CMA_MIB: boot with a ZONE_MOVABLE and a CMA area of these sizes\n"
		"      (default 0,0, as the host's memory; 128,64 is pinmm's default machine): the\n"
		"      long-term rows then include migration out of them, which splits THPs\n"
		"  -h  this message\n",
		DEFAULT_REPEATS, MAX_THREADS);
}

static _Noreturn void bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pinmm_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	exit(2);
}

/* -b: a comma-separated list of backing names into a mask. */
static unsigned int parse_backings(const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	unsigned int mask = 0;

	if (!copy)
		bad_usage("out of memory for -b %s", arg);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int b;

		for (b = 0; b < NR_BACKINGS && strcmp(tok, backing_names[b]); b++)
			;
		if (b == NR_BACKINGS) {
			free(copy);
			bad_usage("-b %s: backings are 4k, thp-2m, hugetlb-2m, hugetlb-1g", arg);
		}
		mask |= 1U << b;
	}
	free(copy);
	if (!mask)
		bad_usage("-b '%s': no backing named", arg);
	return mask;
}

/* -z: MOVABLE_MIB,CMA_MIB, each a multiple of 4 (0 leaves that zone out). */
static void parse_zones(const char *arg, unsigned long *movable, unsigned long *cma)
{
	char *end, *end2;
	unsigned long m = strtoul(arg, &end, 10), c = 0;

	if (end != arg && *end == ',' && end[1] >= '0' && end[1] <= '9')
		c = strtoul(end + 1, &end2, 10);
	else
		end2 = end;
	if (end == arg || *end != ',' || *end2 || m % 4 || c % 4 || m > (64UL << 10) ||
	    c > (64UL << 10))
		bad_usage("-z %s: MOVABLE_MIB,CMA_MIB, multiples of 4 MiB up to 65536 (e.g. 128,64)",
			  arg);
	*movable = m;
	*cma = c;
}

/* -t: a comma-separated list of thread counts. Returns how many (at most max). */
static int parse_threads(const char *arg, int *threads, int max)
{
	const char *p = arg;
	int n = 0;

	do {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || (*end && *end != ',') || v < 1 || v > MAX_THREADS || n == max)
			bad_usage("-t %s: thread counts are 1-64, comma-separated", arg);
		threads[n++] = (int)v;
		p = *end ? end + 1 : end;
	} while (*p);
	return n;
}

int main(int argc, char **argv)
{
	unsigned long mib = 1024;
	int repeats = DEFAULT_REPEATS, opt, nres = 0, nthreads = 2, threads[16] = { 1, 2 };
	unsigned int backings = (1U << NR_BACKINGS) - 1;
	bool debug_checks = false;
	unsigned long movable_mib = 0, cma_mib = 0;
	const char *csv = "bench.csv", *svg = "bench.svg";
	struct pinmm_config cfg;
	struct result *res;
	struct mm_struct *mm;
	enum pinmm_rules rules = PINMM_RULES_DEFAULT;
	FILE *f;
	char *end;

	while ((opt = getopt(argc, argv, "hs:r:b:t:o:g:qdR:z:")) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 's':
			mib = strtoul(optarg, &end, 0);
			if (*end || mib == 0 || mib > (64UL << 10))
				bad_usage("-s %s: MiB, 1-65536", optarg);
			break;
		case 'r':
			repeats = (int)strtol(optarg, &end, 0);
			if (*end || repeats <= 0 || repeats > 1000)
				bad_usage("-r %s: repeats, 1-1000", optarg);
			break;
		case 'b':
			backings = parse_backings(optarg);
			break;
		case 't':
			nthreads = parse_threads(optarg, threads, 16);
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
		case 'R':
			if (tool_rules_option("pinmm_bench", optarg, &rules))
				exit(2);
			break;
		case 'z':
			parse_zones(optarg, &movable_mib, &cma_mib);
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		bad_usage("unexpected argument %s", argv[optind]);
	if (backings & (1U << B_HUGE_1G) ? mib % 1024 : mib % 2)
		bad_usage("-s: the range must hold whole huge pages (%s)",
			  backings & (1U << B_HUGE_1G) ? "1 GiB" : "2 MiB");
	if (tool_rules_env_check(rules)) {
		fprintf(stderr, "pinmm_bench: PINMM_RULES=%s: not a rule set (5.7 or modern)\n",
			getenv("PINMM_RULES"));
		return 2;
	}
	res = calloc(NR_BACKINGS * 2 * NR_MODES * (size_t)nthreads, sizeof(*res));
	if (!res) {
		fprintf(stderr, "pinmm_bench: out of memory\n");
		return 1;
	}

	/* Progress as each row is measured, also when stdout is a pipe or a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	pinmm_config_default(&cfg);
	cfg.ram_bytes = (mib << 20) * 3 + (1ULL << 30) + (512ULL << 20);
	cfg.nr_hugepages_2m = backings & (1U << B_HUGE_2M) ? mib / 2 : 0;
	cfg.nr_hugepages_1g = backings & (1U << B_HUGE_1G) ? mib / 1024 : 0;
	cfg.thp = PINMM_THP_MADVISE;
	cfg.debug_checks = debug_checks;
	cfg.rules = rules;
	cfg.ram_bytes += (unsigned long long)(movable_mib + cma_mib) << 20;
	cfg.movable_bytes = (unsigned long long)movable_mib << 20;
	cfg.cma_bytes = (unsigned long long)cma_mib << 20;
	if (pinmm_boot(&cfg)) {
		fprintf(stderr, "pinmm_bench: cannot boot a %llu MiB machine\n", cfg.ram_bytes >> 20);
		free(res);
		return 1;
	}
	printf("pinmm_bench: rules %s, %lu MiB per range, %d repeats (min / median / max), %d pages "
	       "per call, %ld CPUs online, debug checks %s; '!': max > %.0fx min\n",
	       tool_rules_name(), mib, repeats, PAGES_PER_CALL, sysconf(_SC_NPROCESSORS_ONLN),
	       debug_checks ? "on" : "off", SPREAD_WARN);
	print_machine(&cfg);
	print_header();
	mm = mm_alloc();
	kthread_use_mm(mm);
	for (int b = 0; b < NR_BACKINGS; b++) {
		struct range r = {.mm = mm};
		int ret;

		if (!(backings & (1U << b)))
			continue;
		unsigned long thp_faulted;

		ret = map_range(&r, (enum backing)b, mib << 20);
		if (ret) {
			fprintf(stderr, "pinmm_bench: %s: cannot map and fault the range: %s\n",
				backing_names[b], strerror(-ret));
			return 1;
		}
		thp_faulted = b == B_THP ? thp_mapped_pages() : 0;
		if (b == B_THP && thp_faulted < r.nr_pages)
			printf("thp-2m: %lu of %lu pages THP-mapped after the fault\n", thp_faulted,
			       r.nr_pages);
		for (int t = 0; t < nthreads; t++)
			for (int pin = 0; pin <= 1; pin++)
				for (int m = 0; m < NR_MODES; m++) {
					if (!pin && m == M_LONGTERM &&
					    pinmm_rules() == PINMM_RULES_MODERN)
						continue; /* refused: FOLL_LONGTERM needs FOLL_PIN */
					res[nres].b = (enum backing)b;
					if (measure(&r, threads[t], pin, (enum mode)m, repeats,
						    &res[nres]) ||
					    check_floor_pages(&r, &res[nres]))
						return 1;
					print_result(res, nres);
					if (b == B_THP && split_report(&r, &res[nres], thp_faulted,
								       mib << 20))
						return 1;
					nres++;
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
	/* After the matrix, on machines of its own: pin owners are chosen at boot. */
	if (owner_cost(repeats, debug_checks, rules))
		return 1;
	f = fopen(csv, "w");
	if (!f) {
		fprintf(stderr, "pinmm_bench: %s: %s\n", csv, strerror(errno));
		return 1;
	}
	write_csv(f, res, nres, repeats);
	fclose(f);
	f = fopen(svg, "w");
	if (!f) {
		fprintf(stderr, "pinmm_bench: %s: %s\n", svg, strerror(errno));
		return 1;
	}
	write_svg(f, res, nres, repeats);
	fclose(f);
	free(res);
	printf("wrote %s and %s\n", csv, svg);
	return 0;
}
