/* SPDX-License-Identifier: MIT */
/*
 * pin_fragmentation: what pins do to physical memory's contiguity. For each rule set it boots a
 * machine (RAM of -m MiB: half of it ZONE_MOVABLE, an eighth CMA at the top of ZONE_NORMAL),
 * faults anonymous memory into 95% of the free pages, frees two thirds of them at random
 * (seeded), pins a share of what is left, scattered at random (long-term or short-term, 4 KiB
 * pages or THPs), compacts the machine (compact_node()) and reports:
 *
 *   thp_ok        2 MiB blocks alloc_pages() can then hand out, of the RAM's pageblocks;
 *   gigantic_ok   1 GiB ranges alloc_contig_range() can then empty and take, of the 1 GiB
 *                 aligned ranges lying in one zone;
 *   movable_offline / cma_offline   whether offline_pages() of ZONE_MOVABLE / of the CMA area
 *                 succeeds (each is put back online);
 *   spoiled_pageblocks   pageblocks holding a pinned page after compaction (none of them can
 *                 become a huge page), and per pin.
 *
 * Under Linux 5.7 a long-term pin stays in ZONE_MOVABLE, and blocks it; under modern rules it
 * was migrated to ZONE_NORMAL first (docs/rule-sets.md). CMA is left by long-term pins under
 * both. Short-term pins stay where they are under both.
 *
 * It prints a table per rule set, a line with compaction's migration throughput beside a
 * memcpy() of as many pages in the same run, and at the end one summary line per rule set:
 *   rules=<5.7|modern> pinned=<n> thp_ok=<n>/<n> gigantic_ok=<n>/<n> movable_offline=<yes|no> cma_offline=<yes|no> spoiled_pageblocks=<n>
 * and writes an SVG map of physical memory per rule set (-o; "-<rules>" goes before ".svg"):
 * one cell per pageblock (-g: per page, a pageblock a row), coloured by state, with a legend
 * and the zone boundaries.
 *
 * Usage: pin_fragmentation [-p percent] [-t long|short] [-P 4k|thp] [-s seed] [-R 5.7|modern]
 *                          [-m MiB] [-o map.svg] [-g] [-h]
 * Defaults: -p 1 -t long -P 4k -s 1 -m 2048 -o pin_fragmentation.svg, both rule sets.
 * Exit status: 0; 1 when a machine could not be set up; 2 for bad usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#include "lib/tool_rules.h"

#define PROG "pin_fragmentation"
#define GIGANTIC_PAGES (1UL << HPAGE_PUD_ORDER)

struct options {
	double percent;
	bool longterm, thp, per_page;
	unsigned long seed;
	unsigned long ram_mib;
	const char *map;
	int nr_rules;
	enum pinmm_rules rules[2];
};

struct outcome {
	enum pinmm_rules rules;
	unsigned long anon_pages, pinned, thp_ok, thp_total, gigantic_ok, gigantic_total;
	unsigned long spoiled, migrated, failed_pinned, failed_other;
	bool movable_offline, cma_offline;
	unsigned long memcpy_pages;
	double compact_s, memcpy_s;
};

/* States of a map cell, in the order a mixed pageblock takes the strongest. */
enum cell {
	CELL_FREE,
	CELL_MOVABLE, /* free, in ZONE_MOVABLE */
	CELL_CMA,     /* free, in the CMA area */
	CELL_FILE,
	CELL_ANON,
	CELL_HUGETLB,
	CELL_UNMOVABLE,
	CELL_PINNED,
	CELL_LONGTERM,
	NR_CELLS,
};

static const struct {
	const char *name, *colour;
} cells[NR_CELLS] = {
	[CELL_FREE] = {"free", "#ffffff"},
	[CELL_MOVABLE] = {"movable (free)", "#d9f2d9"},
	[CELL_CMA] = {"CMA (free)", "#e6d9f2"},
	[CELL_FILE] = {"file", "#8fb3e0"},
	[CELL_ANON] = {"anon", "#f2d16b"},
	[CELL_HUGETLB] = {"hugetlb", "#3aa39a"},
	[CELL_UNMOVABLE] = {"unmovable", "#7f7f7f"},
	[CELL_PINNED] = {"pinned", "#f08c3c"},
	[CELL_LONGTERM] = {"long-term pinned", "#c8102e"},
};

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64*: the choices depend on the seed only. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: " PROG " [-p percent] [-t long|short] [-P 4k|thp] [-s seed] "
		     "[-R 5.7|modern] [-m MiB] [-o map.svg] [-g] [-h]\n");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -EINVAL;
}

static int parse(int argc, char **argv, struct options *o)
{
	enum pinmm_rules r;
	char *end;
	int opt;

	*o = (struct options){.percent = 1, .longterm = true, .seed = 1, .ram_mib = 2048,
			      .map = PROG ".svg"};
	while ((opt = getopt(argc, argv, ":p:t:P:s:R:m:o:gh")) != -1) {
		switch (opt) {
		case 'p':
			errno = 0;
			o->percent = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->percent > 0 && o->percent <= 100))
				return bad("-p %s: not a percentage in (0, 100]", optarg);
			break;
		case 't':
			if (strcmp(optarg, "long") && strcmp(optarg, "short"))
				return bad("-t %s: not long or short", optarg);
			o->longterm = !strcmp(optarg, "long");
			break;
		case 'P':
			if (strcmp(optarg, "4k") && strcmp(optarg, "thp"))
				return bad("-P %s: not 4k or thp", optarg);
			o->thp = !strcmp(optarg, "thp");
			break;
		case 's':
			errno = 0;
			o->seed = strtoul(optarg, &end, 0);
			if (errno || *end || end == optarg || optarg[0] == '-')
				return bad("-s %s: not a seed", optarg);
			break;
		case 'R':
			if (tool_rules_option(PROG, optarg, &r))
				return -EINVAL;
			o->rules[0] = r;
			o->nr_rules = 1;
			break;
		case 'm':
			errno = 0;
			o->ram_mib = strtoul(optarg, &end, 0);
			if (errno || *end || end == optarg || optarg[0] == '-' || o->ram_mib < 64 ||
			    o->ram_mib > (PINMM_MAX_RAM >> 20) || o->ram_mib % 32)
				return bad("-m %s: not a RAM size in MiB (a multiple of 32, 64 .. "
					   "262144)", optarg);
			break;
		case 'o':
			if (!*optarg)
				return bad("-o %s: an empty path", optarg);
			o->map = optarg;
			break;
		case 'g':
			o->per_page = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, PROG ": -%c needs an argument\n", optopt);
			return -EINVAL;
		default:
			fprintf(stderr, PROG ": -%c: unknown option\n", optopt);
			return -EINVAL;
		}
	}
	if (optind < argc)
		return bad("%s: unexpected argument", argv[optind]);
	if (!o->nr_rules) {
		o->rules[0] = PINMM_RULES_5_7;
		o->rules[1] = PINMM_RULES_MODERN;
		o->nr_rules = 2;
	}
	return 0;
}

/* ---- the experiment ---- */

struct run {
	const struct options *o;
	struct outcome *out;
	unsigned long addr, nr;	 /* the anonymous mapping, in pages */
	unsigned long unit;	 /* pages per pinned unit: 1 or a THP's 512 */
	unsigned char *kept;	 /* per unit: still mapped */
	struct page **pins;	 /* the pinned pages (every page of a pinned THP) */
	unsigned long nr_pins;
	unsigned char *pin_state; /* per pfn: 0, CELL_PINNED or CELL_LONGTERM */
};

/* Fault in up to 95% of the free memory, then free two thirds of it, unit by unit, at random.
 * The page tables come from ZONE_NORMAL outside CMA: in 4 KiB mode one page of every 2 MiB is
 * touched first, so every table exists before user pages fill ZONE_NORMAL and spill into CMA.
 * The fill stops at the first 2 MiB that cannot be faulted in (memory for the tables ran out:
 * in THP mode each THP deposits one). */
static int fill_and_fragment(struct run *r)
{
	struct mm_struct *mm = current_mm();
	unsigned long units, kept = 0, chunks, done = 0;
	long free_pages = global_zone_page_state(NR_FREE_PAGES);

	r->unit = r->o->thp ? HPAGE_PMD_NR : 1;
	chunks = (unsigned long)(free_pages * 95 / 100) / HPAGE_PMD_NR;
	/* One 2 MiB more, so that the units can start 2 MiB aligned: a unit of THP mode is then
	 * one THP, which MADV_DONTNEED frees whole. */
	r->addr = vm_mmap(NULL, 0, (chunks + 1) * HPAGE_PMD_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(r->addr))
		return (int)r->addr;
	r->addr = (r->addr + HPAGE_PMD_SIZE - 1) & ~(HPAGE_PMD_SIZE - 1);
	if (r->o->thp)
		do_madvise(mm, r->addr, chunks * HPAGE_PMD_SIZE, MADV_HUGEPAGE);
	else
		for (unsigned long c = 0; c < chunks; c++)
			if (do_madvise(mm, r->addr + (c * HPAGE_PMD_SIZE), PAGE_SIZE,
				       MADV_POPULATE_WRITE))
				break;
	while (done < chunks && !do_madvise(mm, r->addr + (done * HPAGE_PMD_SIZE),
					    HPAGE_PMD_SIZE, MADV_POPULATE_WRITE))
		done++;
	if (!done)
		return -ENOMEM;
	if (done < chunks)
		do_madvise(mm, r->addr + (done * HPAGE_PMD_SIZE),
			   (chunks - done) * HPAGE_PMD_SIZE, MADV_DONTNEED);
	r->nr = done * HPAGE_PMD_NR;
	units = r->nr / r->unit;
	r->kept = calloc(units, 1);
	if (!r->kept)
		return -ENOMEM;
	for (unsigned long u = 0; u < units; u++) {
		if (rnd() % 3 == 0) {
			r->kept[u] = 1;
			kept++;
			continue;
		}
		do_madvise(mm, r->addr + ((u * r->unit) << PAGE_SHIFT), r->unit << PAGE_SHIFT,
			   MADV_DONTNEED);
	}
	r->out->anon_pages = kept * r->unit;
	return 0;
}

/* Pin the share of the kept units, chosen at random. */
static int pin_share(struct run *r)
{
	struct mm_struct *mm = current_mm();
	unsigned long units = r->nr / r->unit, want, n = 0, *order;
	unsigned int flags = FOLL_WRITE | (r->o->longterm ? FOLL_LONGTERM : 0);

	order = malloc(units * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (unsigned long u = 0; u < units; u++)
		if (r->kept[u])
			order[n++] = u;
	/* Fisher-Yates: the first `want` are the pinned ones. */
	for (unsigned long i = n; i > 1; i--) {
		unsigned long j = rnd() % i, t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	want = (unsigned long)((double)n * r->o->percent / 100.0 + 0.5);
	if (!want && n)
		want = 1;
	r->pins = calloc(want * r->unit, sizeof(*r->pins));
	if (!r->pins) {
		free(order);
		return -ENOMEM;
	}
	mmap_read_lock(mm);
	for (unsigned long i = 0; i < want; i++) {
		unsigned long start = r->addr + ((order[i] * r->unit) << PAGE_SHIFT);
		long got = pin_user_pages(start, r->unit, flags, r->pins + r->nr_pins);

		if (got > 0)
			r->nr_pins += (unsigned long)got;
	}
	mmap_read_unlock(mm);
	free(order);
	r->out->pinned = r->nr_pins / r->unit;
	return 0;
}

static void mark_pins(struct run *r, unsigned long max)
{
	for (unsigned long i = 0; i < r->nr_pins; i++) {
		unsigned long pfn = page_to_pfn(r->pins[i]);

		if (pfn < max)
			r->pin_state[pfn] = r->o->longterm ? CELL_LONGTERM : CELL_PINNED;
	}
}

static void count_failure(unsigned long pfn, enum pinmm_migrate_fail why, void *arg)
{
	struct outcome *out = arg;

	(void)pfn;
	if (why == MIGRATE_FAIL_PINNED)
		out->failed_pinned++;
	else
		out->failed_other++;
}

/*
 * Compact, and time beside it a plain memcpy() of as many pages of the same memory: from the
 * anonymous pages in use, in pfn order (as the migrate scanner meets them), into free frames
 * taken with alloc_page() (scattered as the free scanner's are). What compaction costs beyond
 * the copy — scanning, unmapping, remapping, the allocator — is what the ratio shows.
 */
static void compact_and_measure(struct run *r, unsigned long max)
{
	struct compact_report report = {.on_fail = count_failure, .arg = r->out};
	struct page **src, **dst;
	unsigned long n = 0, want;
	double t0 = now();

	compact_node(0, &report);
	r->out->compact_s = now() - t0;
	r->out->migrated = report.migrated;
	want = report.migrated;
	src = calloc(want + 1, sizeof(*src));
	dst = calloc(want + 1, sizeof(*dst));
	if (!src || !dst)
		goto out;
	/* The machine is quiet (this thread is its only user): a plain walk is safe. */
	for (unsigned long pfn = 0; pfn < max && n < want; pfn++) {
		struct page *page = pfn_to_page(pfn);

		if (PageBuddy(page)) {
			pfn += (1UL << page->private) - 1;
			continue;
		}
		if (page_ref_count(page) > 0 && PageAnon(page) && !PageCompound(page))
			src[n++] = page;
	}
	for (want = 0; want < n; want++)
		if (!(dst[want] = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN)))
			break;
	t0 = now();
	for (unsigned long i = 0; i < want; i++)
		memcpy(page_address(dst[i]), page_address(src[i]), PAGE_SIZE);
	r->out->memcpy_s = now() - t0;
	r->out->memcpy_pages = want;
	while (want)
		put_page(dst[--want]);
out:
	free(src);
	free(dst);
}

static void count_thp_blocks(struct outcome *out, unsigned long max)
{
	struct page **got = calloc(max / HPAGE_PMD_NR + 1, sizeof(*got));
	unsigned long n = 0;

	out->thp_total = max / HPAGE_PMD_NR;
	if (!got)
		return;
	while (n < out->thp_total &&
	       (got[n] = alloc_pages(GFP_TRANSHUGE_LIGHT, HPAGE_PMD_ORDER)) != NULL)
		n++;
	out->thp_ok = n;
	while (n)
		put_page(got[--n]);
	free(got);
}

static void count_gigantic(struct outcome *out, unsigned long max)
{
	for (unsigned long pfn = 0; pfn + GIGANTIC_PAGES <= max; pfn += GIGANTIC_PAGES) {
		struct zone *zone = page_zone(pfn_to_page(pfn));

		if (pfn + GIGANTIC_PAGES > zone_end_pfn(zone))
			continue;
		out->gigantic_total++;
		if (!alloc_contig_range(pfn, pfn + GIGANTIC_PAGES)) {
			out->gigantic_ok++;
			free_contig_range(pfn, GIGANTIC_PAGES);
		}
	}
}

static bool try_offline(unsigned long start, unsigned long nr)
{
	if (!nr || offline_pages(start, nr))
		return false;
	return online_pages(start, nr) == 0;
}

static unsigned long count_spoiled(struct run *r, unsigned long max)
{
	unsigned long spoiled = 0;

	for (unsigned long pb = 0; pb < max; pb += pageblock_nr_pages)
		for (unsigned long pfn = pb; pfn < pb + pageblock_nr_pages; pfn++)
			if (r->pin_state[pfn]) {
				spoiled++;
				break;
			}
	return spoiled;
}

/* ---- the map ---- */

static enum cell page_cell(const struct run *r, unsigned long pfn, struct page *page)
{
	if (r->pin_state[pfn])
		return (enum cell)r->pin_state[pfn];
	if (PageHuge(page))
		return CELL_HUGETLB;
	if (PageAnon(page))
		return CELL_ANON;
	if (compound_head(page)->mapping)
		return CELL_FILE;
	return CELL_UNMOVABLE;
}

static enum cell free_cell(unsigned long pfn)
{
	struct zone *zone = page_zone(pfn_to_page(pfn));

	if (pfn >= zone->cma_start_pfn && pfn < zone->cma_end_pfn)
		return CELL_CMA;
	return page_zonenum(pfn_to_page(pfn)) == ZONE_MOVABLE ? CELL_MOVABLE : CELL_FREE;
}

/* The state of every page (the machine is quiet: this thread is its only user). */
static void classify(const struct run *r, unsigned long max, unsigned char *state)
{
	for (unsigned long pfn = 0; pfn < max;) {
		struct page *page = pfn_to_page(pfn);
		unsigned long nr = 1;

		if (PageBuddy(page)) {
			nr = 1UL << page->private;
			for (unsigned long i = 0; i < nr; i++)
				state[pfn + i] = (unsigned char)free_cell(pfn + i);
		} else if (page_ref_count(page) == 0 && !PageTail(page)) {
			/* A hugetlb pool's free page, or a page of a non-compound block. */
			state[pfn] = PageHuge(page) ? CELL_HUGETLB : CELL_UNMOVABLE;
		} else {
			state[pfn] = (unsigned char)page_cell(r, pfn, page);
		}
		pfn += nr;
	}
}

static int write_map(const struct run *r, const char *path, unsigned long max)
{
	const struct pinmm_config *cfg = pinmm_machine_config();
	unsigned long cols = r->o->per_page ? pageblock_nr_pages : 64;
	unsigned long per_cell = r->o->per_page ? 1 : pageblock_nr_pages;
	unsigned long ncells = max / per_cell, rows = (ncells + cols - 1) / cols;
	unsigned int cs = r->o->per_page ? 2 : 10, legend_w = 330;
	unsigned char *state = calloc(max, 1), *cell = calloc(ncells, 1);
	struct zone *normal = pinmm_zone(ZONE_NORMAL), *movable = pinmm_zone(ZONE_MOVABLE);
	struct {
		unsigned long pfn;
		const char *name;
	} bounds[] = {{0, "ZONE_NORMAL"},
		      {normal->cma_start_pfn, "CMA"},
		      {movable->zone_start_pfn, "ZONE_MOVABLE"}};
	FILE *f;

	if (!state || !cell) {
		free(state);
		free(cell);
		return -ENOMEM;
	}
	classify(r, max, state);
	/* A pageblock shows its strongest state (enum cell's order). */
	for (unsigned long c = 0; c < ncells; c++)
		for (unsigned long i = 0; i < per_cell; i++)
			if (state[c * per_cell + i] > cell[c])
				cell[c] = state[c * per_cell + i];
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		free(state);
		free(cell);
		return -errno;
	}
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%lu\" height=\"%lu\" "
		"font-family=\"sans-serif\" font-size=\"11\">\n",
		cols * cs + legend_w + 20, rows * cs + 60 > 300 ? rows * cs + 60 : 300);
	fprintf(f, "<text x=\"0\" y=\"14\">physical memory, %llu MiB, rules=%s: one cell per %s "
		   "(%lu per row)</text>\n",
		cfg->ram_bytes >> 20, pinmm_rules_name(pinmm_rules()),
		r->o->per_page ? "page" : "pageblock", cols);
	fprintf(f, "<g transform=\"translate(0,24)\">\n");
	/* Runs of one state along a row are one rectangle. */
	for (unsigned long row = 0; row < rows; row++) {
		for (unsigned long c0 = 0; c0 < cols && row * cols + c0 < ncells;) {
			unsigned long c1 = c0 + 1;
			unsigned char s = cell[row * cols + c0];

			while (c1 < cols && row * cols + c1 < ncells && cell[row * cols + c1] == s)
				c1++;
			fprintf(f,
				"<rect x=\"%lu\" y=\"%lu\" width=\"%lu\" height=\"%u\" fill=\"%s\" "
				"stroke=\"#dddddd\" stroke-width=\"0.2\"/>\n",
				c0 * cs, row * cs, (c1 - c0) * cs, cs, cells[s].colour);
			c0 = c1;
		}
	}
	/* Zone boundaries: a staircase line where each begins, and its name. */
	for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
		unsigned long c = bounds[b].pfn / per_cell, row = c / cols, col = c % cols;

		if (b && (bounds[b].pfn >= max || bounds[b].pfn == bounds[b - 1].pfn))
			continue;
		fprintf(f,
			"<path d=\"M0,%lu H%lu V%lu H%lu\" fill=\"none\" stroke=\"#000000\" "
			"stroke-width=\"2\"/>\n",
			(row + (col ? 1 : 0)) * cs, col * cs, row * cs, cols * cs);
		fprintf(f, "<text x=\"%lu\" y=\"%lu\">%s (pfn %#lx)</text>\n", cols * cs + 6,
			row * cs + 10, bounds[b].name, bounds[b].pfn);
	}
	fprintf(f, "</g>\n<g transform=\"translate(%lu,40)\">\n", cols * cs + 190);
	for (int s = 0; s < NR_CELLS; s++)
		fprintf(f,
			"<rect x=\"0\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\" "
			"stroke=\"#000000\" stroke-width=\"0.5\"/><text x=\"18\" y=\"%d\">%s</text>\n",
			s * 18, cells[s].colour, s * 18 + 10, cells[s].name);
	fprintf(f, "</g>\n</svg>\n");
	free(state);
	free(cell);
	return fclose(f) ? -EIO : 0;
}

/* path with "-<rules>" before its ".svg" (or at its end). */
static char *map_path(const char *path, enum pinmm_rules rules)
{
	const char *dot = strrchr(path, '.');
	size_t stem = dot && !strcmp(dot, ".svg") ? (size_t)(dot - path) : strlen(path);
	char *out = malloc(strlen(path) + 16);

	if (out)
		sprintf(out, "%.*s-%s%s", (int)stem, path, pinmm_rules_name(rules),
			path + stem);
	return out;
}

/*
 * Have the host back every frame of the simulated RAM. pinmm reserves RAM lazily
 * (MAP_NORESERVE), so the first store into a frame costs a host page fault that a real
 * machine's RAM never does; compaction's free scanner takes exactly the frames the fill never
 * reached, which would make its copies look several times slower than they are. Each frame
 * gets its own first byte back: right after boot, with nothing but the zero page in use and
 * this thread the machine's only user, that changes nothing.
 */
static void prefault_ram(unsigned long max)
{
	for (unsigned long pfn = 0; pfn < max; pfn++) {
		volatile char *frame = page_address(pfn_to_page(pfn));

		*frame = *frame;
	}
}

static int run_one(const struct options *o, enum pinmm_rules rules, struct outcome *out)
{
	struct pinmm_config cfg;
	struct run r = {.o = o, .out = out};
	struct mm_struct *mm;
	unsigned long max;
	struct zone *normal, *movable;
	FILE *quiet;
	char *path;
	int ret;

	pinmm_config_default(&cfg);
	cfg.ram_bytes = (unsigned long long)o->ram_mib << 20;
	cfg.movable_bytes = cfg.ram_bytes / 2;
	cfg.cma_bytes = cfg.ram_bytes / 8;
	cfg.thp = o->thp ? PINMM_THP_ALWAYS : PINMM_THP_NEVER;
	cfg.rules = rules;
	*out = (struct outcome){.rules = rules};
	rng = o->seed * 0x9e3779b97f4a7c15ULL + 1;
	ret = pinmm_boot(&cfg);
	if (ret) {
		fprintf(stderr, PROG ": pinmm_boot: %s\n", strerror(-ret));
		return ret;
	}
	max = cfg.ram_bytes >> PAGE_SHIFT;
	prefault_ram(max);
	mm = mm_alloc();
	if (!mm) {
		pinmm_shutdown();
		return -ENOMEM;
	}
	kthread_use_mm(mm);
	r.pin_state = calloc(max, 1);
	ret = r.pin_state ? fill_and_fragment(&r) : -ENOMEM;
	if (!ret)
		ret = pin_share(&r);
	if (ret) {
		fprintf(stderr, PROG ": setting up the machine: %s\n", strerror(-ret));
		goto out;
	}
	compact_and_measure(&r, max);
	mark_pins(&r, max);
	out->spoiled = count_spoiled(&r, max);
	if (o->map) {
		path = map_path(o->map, rules);
		ret = path ? write_map(&r, path, max) : -ENOMEM;
		free(path);
		if (ret)
			goto out;
	}
	count_thp_blocks(out, max);
	/* The blockers offlining names would fill the log: counted here, not printed. */
	quiet = fopen("/dev/null", "w");
	if (quiet)
		quiet = pinmm_set_log_stream(quiet);
	normal = pinmm_zone(ZONE_NORMAL);
	movable = pinmm_zone(ZONE_MOVABLE);
	out->movable_offline = try_offline(movable->zone_start_pfn, movable->spanned_pages);
	out->cma_offline =
		try_offline(normal->cma_start_pfn, normal->cma_end_pfn - normal->cma_start_pfn);
	count_gigantic(out, max);
	if (quiet)
		fclose(pinmm_set_log_stream(quiet));
out:
	for (unsigned long i = 0; i < r.nr_pins; i++)
		unpin_user_page(r.pins[i]);
	free(r.pins);
	free(r.kept);
	free(r.pin_state);
	kthread_unuse_mm(mm);
	mmput(mm);
	if (pinmm_shutdown() && !ret)
		ret = -EBUSY;
	return ret;
}

static double mib_per_s(unsigned long pages, double s)
{
	return s > 0 ? (double)(pages << PAGE_SHIFT) / s / (1 << 20) : 0;
}

static void print_table(const struct options *o, const struct outcome *out)
{
	unsigned long anon = out->anon_pages;

	printf("== rules=%s: %lu MiB RAM, %s pins of %.2f%% of %lu anonymous %s, seed %lu ==\n",
	       pinmm_rules_name(out->rules), o->ram_mib, o->longterm ? "long-term" : "short-term",
	       o->percent, o->thp ? anon / HPAGE_PMD_NR : anon, o->thp ? "THPs" : "pages",
	       o->seed);
	printf("%-34s %lu\n", "pinned", out->pinned);
	printf("%-34s %lu migrated, %lu stayed pinned, %lu stayed otherwise\n", "compaction",
	       out->migrated, out->failed_pinned, out->failed_other);
	printf("%-34s %lu of %lu\n", "2 MiB blocks allocatable", out->thp_ok, out->thp_total);
	printf("%-34s %lu of %lu\n", "1 GiB ranges allocatable", out->gigantic_ok,
	       out->gigantic_total);
	printf("%-34s %s\n", "ZONE_MOVABLE offline", out->movable_offline ? "yes" : "no");
	printf("%-34s %s\n", "CMA offline", out->cma_offline ? "yes" : "no");
	printf("%-34s %lu (%.2f per pin)\n", "pageblocks spoiled by pins", out->spoiled,
	       out->pinned ? (double)out->spoiled / (double)out->pinned : 0.0);
	printf("compaction throughput: %.0f MiB/s; memcpy of %lu such pages: %.0f MiB/s; "
	       "ratio %.0f%%\n",
	       mib_per_s(out->migrated, out->compact_s), out->memcpy_pages,
	       mib_per_s(out->memcpy_pages, out->memcpy_s),
	       mib_per_s(out->memcpy_pages, out->memcpy_s) > 0
		       ? 100.0 * mib_per_s(out->migrated, out->compact_s) /
				 mib_per_s(out->memcpy_pages, out->memcpy_s)
		       : 0.0);
}

int main(int argc, char **argv)
{
	struct outcome out[2];
	struct options o;

	if (parse(argc, argv, &o))
		return 2;
	for (int i = 0; i < o.nr_rules; i++) {
		if (run_one(&o, o.rules[i], &out[i]))
			return 1;
		print_table(&o, &out[i]);
	}
	for (int i = 0; i < o.nr_rules; i++)
		printf("rules=%s pinned=%lu thp_ok=%lu/%lu gigantic_ok=%lu/%lu movable_offline=%s "
		       "cma_offline=%s spoiled_pageblocks=%lu\n",
		       pinmm_rules_name(out[i].rules), out[i].pinned, out[i].thp_ok,
		       out[i].thp_total, out[i].gigantic_ok, out[i].gigantic_total,
		       out[i].movable_offline ? "yes" : "no", out[i].cma_offline ? "yes" : "no",
		       out[i].spoiled);
	return 0;
}
