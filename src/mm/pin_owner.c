/* SPDX-License-Identifier: MIT */
/*
 * Pin owners (<pinmm/pin_owner.h>): a record per FOLL_PIN grab, kept under the head page's pfn,
 * closed by the unpins of that head; the call sites they came from with their hold-time
 * histograms; and the reports that name them (misuse, mm teardown, shutdown).
 *
 * Who talks to it: the grab and release of src/gup/grab.c (pin_owner_add(),
 * pin_owner_release(), pin_owner_report_misuse()), the last mmput() of src/vm/mm.c
 * (pin_owner_mm_exit()), and boot and shutdown (pin_owner_boot(), pin_owner_report_leaks(),
 * pin_owner_teardown()). It lives in this layer, under every caller, and knows the FOLL_*
 * names only through the table the GUP layer hands it (pin_owner_set_flag_names()).
 *
 * Storage: PFN_BUCKETS buckets, each a mutex and a chain of per-pfn entries; an entry holds
 * that head's outstanding records (newest first) and its last closed one. Call sites are
 * interned in one table under sites_lock, once per distinct backtrace; their counters are
 * atomics, so queries read them without the lock. Lock order: a pfn bucket, then sites_lock;
 * never two buckets (the report of the neighbours takes them one at a time).
 *
 * The rule that is easy to break: a record is closed BEFORE the release drops the counts.
 * After the drop the page may be freed, reused and pinned again by another thread, whose new
 * record the late close would take. Everything else (backtraces, symbolizing, the tables) is
 * off the fast path's one branch: pin_owner_enabled(), a flag set at boot and read relaxed.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <execinfo.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pin_owner.h>

#include "internal.h"

#define PFN_BUCKETS 4096
#define SITE_BUCKETS 1024
/* The report of a misuse looks for pins of the pages around the bad one in this block. */
#define NEIGHBOUR_PAGES 512UL

atomic_bool pin_owner_on;

struct pin_site {
	struct pin_site *next;      /* hash chain */
	struct pin_site *all_next;  /* every site, newest first */
	uint64_t hash;
	unsigned long id;
	unsigned int nr_frames;
	void *frames[PINMM_PIN_OWNER_FRAMES];
	atomic_long outstanding;
	atomic_ulong released;
	atomic_ulong hold_hist[PINMM_PIN_HOLD_BUCKETS];
};

struct pin_record {
	struct pin_record *next;    /* the head's records, newest first */
	unsigned long pfn;          /* the first subpage pinned */
	unsigned int span;          /* subpages pinned by the grab: pfn .. pfn + span - 1 */
	unsigned int nr_pins;       /* of those, still pinned */
	unsigned long *held;        /* which (span > 1; else NULL: nr_pins says) */
	unsigned int gup_flags;
	const void *mm;
	long tid;
	uint64_t pinned_ns;
	struct pin_site *site;
};

#define BITS_PER_LONG_ (8 * sizeof(unsigned long))

static void free_record(struct pin_record *r)
{
	free(r->held);
	free(r);
}

/* The last record of a head that unpins closed entirely: who pinned, who released. */
struct pin_closed {
	struct pin_site *site, *unpin_site;
	unsigned long pfn;
	unsigned int gup_flags;
	long tid, unpin_tid;
	uint64_t pinned_ns, unpinned_ns;
};

struct pfn_entry {
	struct pfn_entry *next;
	unsigned long head_pfn;
	struct pin_record *records;
	bool has_closed;
	struct pin_closed closed;
};

struct pfn_bucket {
	pthread_mutex_t lock;
	struct pfn_entry *chain;
};

/* The call sites that pinned (the queries' sites) and those that unpinned (named by the
 * reports only), interned apart so that the pin sites' ids run 1, 2, ... */
struct site_table {
	struct pin_site *buckets[SITE_BUCKETS];
	struct pin_site *all; /* newest first */
	unsigned long nr;
};

static struct pfn_bucket *pfn_table;
static struct site_table *pin_sites, *unpin_sites;
static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;
/* Records that could not be allocated: their pins are not tracked, so an unpin that finds no
 * record is no proof of misuse any more. */
static atomic_ulong records_lost;

static const char *const *foll_names;
static unsigned int nr_foll_names;

void pin_owner_set_flag_names(const char *const *names, unsigned int nr)
{
	foll_names = names;
	nr_foll_names = nr;
}

/* gettid() is a system call: each thread asks once. */
static long this_tid(void)
{
	static _Thread_local long tid;

	if (!tid)
		tid = (long)gettid();
	return tid;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* How long before now t was; 0 for a t after now (a clock read before a lock can precede a
 * record another thread inserted before the lock was taken). */
static uint64_t since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

static struct pfn_bucket *bucket_of(unsigned long pfn)
{
	return &pfn_table[(pfn * 0x9e3779b97f4a7c15ull) >> 52 & (PFN_BUCKETS - 1)];
}

/* The entry of head_pfn in its bucket (locked by the caller); created if create. NULL when
 * there is none, or no memory for it. */
static struct pfn_entry *entry_of(struct pfn_bucket *b, unsigned long head_pfn, bool create)
{
	struct pfn_entry *e;

	for (e = b->chain; e; e = e->next)
		if (e->head_pfn == head_pfn)
			return e;
	if (!create)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->head_pfn = head_pfn;
	e->next = b->chain;
	b->chain = e;
	return e;
}

/* The caller's backtrace, less the skip innermost frames (pinmm's own recording). */
static __attribute__((noinline)) unsigned int capture(void **frames, int skip)
{
	void *all[PINMM_PIN_OWNER_FRAMES + 4];
	int n = backtrace(all, PINMM_PIN_OWNER_FRAMES + skip);

	if (n <= skip)
		return 0;
	n -= skip;
	memcpy(frames, all + skip, (size_t)n * sizeof(void *));
	return (unsigned int)n;
}

/* The interned site of a backtrace; NULL without memory. */
static struct pin_site *site_of(struct site_table *t, void *const *frames, unsigned int nr)
{
	uint64_t h = 1469598103934665603ull;
	struct pin_site *s;
	size_t slot;

	for (unsigned int i = 0; i < nr; i++)
		h = (h ^ (uintptr_t)frames[i]) * 1099511628211ull;
	slot = h & (SITE_BUCKETS - 1);
	pthread_mutex_lock(&sites_lock);
	for (s = t->buckets[slot]; s; s = s->next)
		if (s->hash == h && s->nr_frames == nr &&
		    !memcmp(s->frames, frames, nr * sizeof(void *)))
			goto out;
	s = calloc(1, sizeof(*s));
	if (s) {
		s->hash = h;
		s->nr_frames = nr;
		memcpy(s->frames, frames, nr * sizeof(void *));
		s->id = ++t->nr;
		s->next = t->buckets[slot];
		t->buckets[slot] = s;
		s->all_next = t->all;
		t->all = s;
	}
out:
	pthread_mutex_unlock(&sites_lock);
	return s;
}

/* The call site of the caller's caller: the frames of capture(), this function and the
 * recording entry point are left out, so a site starts in the grab or release. */
static __attribute__((noinline)) struct pin_site *this_site(struct site_table *t)
{
	void *frames[PINMM_PIN_OWNER_FRAMES];
	unsigned int n = capture(frames, 3);

	return site_of(t, frames, n);
}

static unsigned int hold_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int b;

	if (!us)
		return 0;
	b = 64 - (unsigned int)__builtin_clzll(us); /* [2^(b-1), 2^b) us */
	return b < PINMM_PIN_HOLD_BUCKETS - 1 ? b : PINMM_PIN_HOLD_BUCKETS - 1;
}

void pin_owner_add(struct page *head, struct page *page, int refs, unsigned int flags,
		   const void *mm)
{
	struct pin_site *site = this_site(pin_sites);
	unsigned long head_pfn = page_to_pfn(head);
	struct pfn_bucket *b = bucket_of(head_pfn);
	struct pin_record *r = calloc(1, sizeof(*r));
	size_t words = ((size_t)refs + BITS_PER_LONG_ - 1) / BITS_PER_LONG_;
	struct pfn_entry *e = NULL;

	if (r && refs > 1) {
		r->held = malloc(words * sizeof(unsigned long));
		if (r->held) {
			memset(r->held, 0xff, words * sizeof(unsigned long));
			if (refs % BITS_PER_LONG_)
				r->held[words - 1] = (1UL << (refs % BITS_PER_LONG_)) - 1;
		}
	}
	if (site && r && (refs == 1 || r->held)) {
		r->pfn = page_to_pfn(page);
		r->span = r->nr_pins = (unsigned int)refs;
		r->gup_flags = flags;
		r->mm = mm;
		r->tid = this_tid();
		r->pinned_ns = now_ns();
		r->site = site;
		pthread_mutex_lock(&b->lock);
		e = entry_of(b, head_pfn, true);
		if (e) {
			r->next = e->records;
			e->records = r;
			atomic_fetch_add_explicit(&site->outstanding, refs, memory_order_relaxed);
		}
		pthread_mutex_unlock(&b->lock);
	}
	if (!e) {
		if (r)
			free_record(r);
		atomic_fetch_add(&records_lost, 1);
	}
}

/* Does r still hold a pin of subpage pfn (ULONG_MAX: of any)? Returns its bit, or -1. */
static long held_bit(const struct pin_record *r, unsigned long pfn)
{
	if (!r->nr_pins)
		return -1;
	if (pfn == ULONG_MAX) {
		if (!r->held)
			return 0;
		for (unsigned long w = 0;; w++)
			if (r->held[w])
				return (long)(w * BITS_PER_LONG_) + __builtin_ctzl(r->held[w]);
	}
	if (pfn < r->pfn || pfn - r->pfn >= r->span)
		return -1;
	if (!r->held)
		return 0;
	return r->held[(pfn - r->pfn) / BITS_PER_LONG_] >> ((pfn - r->pfn) % BITS_PER_LONG_) & 1 ?
		       (long)(pfn - r->pfn) : -1;
}

/* Close one pin of subpage pfn (ULONG_MAX: not known) among e's records, by the matching
 * rule of pin_owner.h: a record of that subpage before any other, the calling thread's before
 * another's, the newest first. Returns false when e holds no pin at all. */
static bool close_one(struct pfn_entry *e, unsigned long pfn, struct pin_site *unpin_site,
		      uint64_t now)
{
	static const bool any_pfn[] = {false, false, true, true}, any_tid[] = {false, true, false,
									       true};
	struct pin_record **link = NULL, *r;
	long bit = -1;

	for (int pass = 0; pass < 4 && bit < 0; pass++) {
		if (!any_pfn[pass] && pfn == ULONG_MAX)
			continue;
		for (link = &e->records; *link; link = &(*link)->next) {
			if (!any_tid[pass] && (*link)->tid != this_tid())
				continue;
			bit = held_bit(*link, any_pfn[pass] ? ULONG_MAX : pfn);
			if (bit >= 0)
				break;
		}
	}
	if (bit < 0)
		return false;
	r = *link;
	if (r->held)
		r->held[bit / (long)BITS_PER_LONG_] &= ~(1UL << (bit % (long)BITS_PER_LONG_));
	r->nr_pins--;
	atomic_fetch_sub_explicit(&r->site->outstanding, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->site->released, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->site->hold_hist[hold_bucket(since(now, r->pinned_ns))], 1,
				  memory_order_relaxed);
	if (r->nr_pins)
		return true;
	e->has_closed = true;
	e->closed = (struct pin_closed){
		.site = r->site,
		.unpin_site = unpin_site,
		.pfn = r->pfn,
		.gup_flags = r->gup_flags,
		.tid = r->tid,
		.unpin_tid = this_tid(),
		.pinned_ns = r->pinned_ns,
		.unpinned_ns = now,
	};
	*link = r->next;
	free_record(r);
	return true;
}

static void report_misuse(struct page *head, int refs, const char *what,
			  struct pin_site *unpin_site);

void pin_owner_release(struct page *head, int refs, struct page *const *pages,
		       struct page *first)
{
	struct pin_site *site = this_site(unpin_sites);
	unsigned long head_pfn = page_to_pfn(head);
	struct pfn_bucket *b = bucket_of(head_pfn);
	uint64_t now = now_ns();
	struct pfn_entry *e;
	int done = 0;

	pthread_mutex_lock(&b->lock);
	e = entry_of(b, head_pfn, false);
	for (int k = 0; e && k < refs; k++) {
		unsigned long pfn = ULONG_MAX;

		if (pages)
			pfn = page_to_pfn(pages[k]);
		else if (first)
			pfn = page_to_pfn(first) + (unsigned long)k;
		if (!close_one(e, pfn, site, now))
			break;
		done++;
	}
	pthread_mutex_unlock(&b->lock);
	/* With the debug checks on, their own WARN reports this unpin (refs_missing() in
	 * src/gup/grab.c calls pin_owner_report_misuse()); off, this is the only report. */
	if (done < refs && !debug_checks() && !atomic_load(&records_lost))
		report_misuse(head, refs - done, "unpin finds no outstanding pin recorded", site);
}

/* ---- symbolizing ---- */

static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dwfl;
static bool dwfl_failed;
static char *debuginfo_path;
static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};
/* The directory holding pinmm's src/, as the line tables spell it ("" if unknown). */
static char src_root[512];
static bool src_root_known;

/* The session over this process's modules, opened on first use (sym_lock held). The modules
 * are those mapped then; a program that dlopen()s later is reported again from scratch. */
static Dwfl *symbolizer(void)
{
	if (dwfl || dwfl_failed)
		return dwfl;
	dwfl = dwfl_begin(&dwfl_callbacks);
	if (dwfl && (dwfl_linux_proc_report(dwfl, getpid()) != 0 ||
		     dwfl_report_end(dwfl, NULL, NULL) != 0)) {
		dwfl_end(dwfl);
		dwfl = NULL;
	}
	dwfl_failed = !dwfl;
	return dwfl;
}

/* Function, offset, file and line of the return address addr (sym_lock held). The address
 * looked up is addr - 1, inside the call. */
static void lookup(void *addr, const char **func, uintptr_t *off, const char **file, int *line)
{
	Dwarf_Addr a = (Dwarf_Addr)(uintptr_t)addr - 1;
	Dwfl *d = symbolizer();
	Dwfl_Module *mod = d ? dwfl_addrmodule(d, a) : NULL;
	GElf_Sym sym;
	GElf_Off o = 0;
	Dwfl_Line *l;

	*func = NULL;
	*file = NULL;
	*line = 0;
	*off = 0;
	if (!mod)
		return;
	*func = dwfl_module_addrinfo(mod, a, &o, &sym, NULL, NULL, NULL);
	*off = (uintptr_t)o + 1;
	l = dwfl_module_getsrc(mod, a);
	if (l)
		*file = dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL);
}

/* Learn where pinmm's sources are from this file's own line information (sym_lock held). */
static void learn_src_root(void)
{
	static const char me[] = "src/mm/pin_owner.c";
	const char *func, *file;
	uintptr_t off;
	int line;
	size_t len;

	if (src_root_known)
		return;
	src_root_known = true;
	lookup((void *)((uintptr_t)&learn_src_root + 1), &func, &off, &file, &line);
	if (!file)
		return;
	len = strlen(file);
	if (len < sizeof(me) - 1 || strcmp(file + len - (sizeof(me) - 1), me) ||
	    len - (sizeof(me) - 1) + 4 >= sizeof(src_root))
		return;
	memcpy(src_root, file, len - (sizeof(me) - 1));
	memcpy(src_root + len - (sizeof(me) - 1), "src/", 5);
}

/* Shorten a file name to its path below the source tree it belongs to, for the reports. */
static const char *short_file(const char *file)
{
	size_t n = strlen(src_root) - 4; /* the root without "src/" */

	if (src_root[0] && !strncmp(file, src_root, n))
		return file + n;
	return file;
}

int pinmm_pin_owner_symbolize(void *addr, char *buf, size_t size)
{
	const char *func, *file;
	uintptr_t off;
	int line, n;

	if (!buf || !size)
		return -EINVAL;
	pthread_mutex_lock(&sym_lock);
	learn_src_root();
	lookup(addr, &func, &off, &file, &line);
	if (func && file)
		n = snprintf(buf, size, "%s+0x%" PRIxPTR " (%s:%d)", func, off, short_file(file),
			     line);
	else if (func)
		n = snprintf(buf, size, "%s+0x%" PRIxPTR, func, off);
	else
		n = snprintf(buf, size, "%p", addr);
	pthread_mutex_unlock(&sym_lock);
	return n;
}

int pinmm_pin_owner_culprit(void *const *frames, unsigned int nr_frames)
{
	int found = -1;

	pthread_mutex_lock(&sym_lock);
	learn_src_root();
	for (unsigned int i = 0; src_root[0] && i < nr_frames && found < 0; i++) {
		const char *func, *file;
		uintptr_t off;
		int line;

		/* pinmm's own frames always have line information (the library is built with
		 * -g): a frame without it is a caller's, built without -g. */
		lookup(frames[i], &func, &off, &file, &line);
		if (!file || strncmp(file, src_root, strlen(src_root)))
			found = (int)i;
	}
	pthread_mutex_unlock(&sym_lock);
	return found;
}

/* ---- reports ---- */

static void print_flags(FILE *f, unsigned int flags)
{
	const char *sep = "";

	for (unsigned int bit = 0; bit < 32; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		if (bit < nr_foll_names && foll_names[bit])
			fprintf(f, "%s%s", sep, foll_names[bit]);
		else
			fprintf(f, "%s0x%x", sep, 1u << bit);
		sep = "|";
	}
	if (!*sep)
		fputs("0", f);
}

/* "by function (file:line)" and the backtrace, each frame on its own line. */
static void print_stack(FILE *f, const char *indent, void *const *frames, unsigned int nr)
{
	int culprit = pinmm_pin_owner_culprit(frames, nr);
	char buf[512];

	if (culprit >= 0) {
		const char *func, *file;
		uintptr_t off;
		int line;

		pthread_mutex_lock(&sym_lock);
		lookup(frames[culprit], &func, &off, &file, &line);
		if (file)
			fprintf(f, "%sby %s (%s:%d)\n", indent, func ? func : "?", short_file(file),
				line);
		else
			fprintf(f, "%sby %s (no line information: build it with -g)\n", indent,
				func ? func : "?");
		pthread_mutex_unlock(&sym_lock);
	} else {
		fprintf(f, "%sby an unknown caller (pinmm's own frames have no line information)\n",
			indent);
	}
	for (unsigned int i = 0; i < nr; i++) {
		pinmm_pin_owner_symbolize(frames[i], buf, sizeof(buf));
		fprintf(f, "%s  #%u %s\n", indent, i, buf);
	}
}

static void print_record(FILE *f, const struct pin_record *r, unsigned long head_pfn, uint64_t now)
{
	fprintf(f, "  pin of pfn %#lx (head %#lx) x%u", r->pfn, head_pfn, r->nr_pins);
	if (r->span > 1)
		fprintf(f, " of %u subpages", r->span);
	fputs(", ", f);
	print_flags(f, r->gup_flags);
	if (r->mm)
		fprintf(f, ", mm %p", r->mm);
	else
		fputs(", mm torn down", f);
	fprintf(f, ", thread %ld, held %.3f ms, site %lu\n", r->tid,
		(double)since(now, r->pinned_ns) / 1e6, r->site->id);
	print_stack(f, "    ", r->site->frames, r->site->nr_frames);
}

/* Write the report in one locked write, so that concurrent reports do not interleave. */
static void log_report(char *text, size_t len)
{
	if (text && len)
		pinmm_log("%s", text);
	free(text);
}

/* The misuse report's body: this unpin, the page's own pins or last closed record, and the
 * outstanding pins of its neighbours in the same block. */
static void print_misuse(FILE *f, unsigned long head_pfn, struct pin_site *unpin_site)
{
	unsigned long first = head_pfn & ~(NEIGHBOUR_PAGES - 1);
	uint64_t now = now_ns();
	bool any = false;

	fprintf(f, "pin owner: the bad unpin of pfn %#lx, thread %ld:\n", head_pfn, this_tid());
	if (unpin_site)
		print_stack(f, "  ", unpin_site->frames, unpin_site->nr_frames);
	for (unsigned long pfn = first; pfn < first + NEIGHBOUR_PAGES; pfn++) {
		struct pfn_bucket *b = bucket_of(pfn);
		struct pfn_entry *e;

		pthread_mutex_lock(&b->lock);
		e = entry_of(b, pfn, false);
		if (e && pfn == head_pfn && !e->records && e->has_closed) {
			const struct pin_closed *c = &e->closed;

			fprintf(f, "pin owner: pfn %#lx was last pinned (pfn %#lx, ", pfn, c->pfn);
			print_flags(f, c->gup_flags);
			fprintf(f, ", thread %ld):\n", c->tid);
			print_stack(f, "  ", c->site->frames, c->site->nr_frames);
			fprintf(f, "pin owner: and that pin was released %.3f ms ago (thread %ld):\n",
				(double)since(now, c->unpinned_ns) / 1e6, c->unpin_tid);
			if (c->unpin_site)
				print_stack(f, "  ", c->unpin_site->frames,
					    c->unpin_site->nr_frames);
			any = true;
		}
		if (e && e->records) {
			fprintf(f, "pin owner: %s pfn %#lx holds these pins:\n",
				pfn == head_pfn ? "the page" : "its neighbour", pfn);
			for (struct pin_record *r = e->records; r; r = r->next)
				print_record(f, r, pfn, now);
			any = true;
		}
		pthread_mutex_unlock(&b->lock);
	}
	if (!any)
		fprintf(f, "pin owner: no pin of pfn %#lx or of the pages around it was ever recorded\n",
			head_pfn);
}

static void report_misuse(struct page *head, int refs, const char *what,
			  struct pin_site *unpin_site)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	WARN(1, "pfn %#lx: %s (%d pin(s) unmatched)", page_to_pfn(head), what, refs);
	f = open_memstream(&text, &len);
	if (!f)
		return;
	print_misuse(f, page_to_pfn(head), unpin_site);
	fclose(f);
	log_report(text, len);
}

void pin_owner_report_misuse(struct page *head, int refs)
{
	struct pin_site *site = this_site(unpin_sites);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)refs;
	f = open_memstream(&text, &len);
	if (!f)
		return;
	print_misuse(f, page_to_pfn(head), site);
	fclose(f);
	log_report(text, len);
}

/* Print (and with forget_mm, detach from mm) every outstanding record of mm (NULL: all).
 * Returns the number of pins printed. */
static unsigned long print_outstanding(FILE *f, const void *mm, bool forget_mm)
{
	uint64_t now = now_ns();
	unsigned long pins = 0;

	for (size_t i = 0; i < PFN_BUCKETS; i++) {
		struct pfn_bucket *b = &pfn_table[i];

		pthread_mutex_lock(&b->lock);
		for (struct pfn_entry *e = b->chain; e; e = e->next) {
			for (struct pin_record *r = e->records; r; r = r->next) {
				if (mm && r->mm != mm)
					continue;
				print_record(f, r, e->head_pfn, now);
				pins += r->nr_pins;
				if (forget_mm)
					r->mm = NULL;
			}
		}
		pthread_mutex_unlock(&b->lock);
	}
	return pins;
}

void pin_owner_mm_exit(const void *mm)
{
	char *text = NULL;
	size_t len = 0;
	unsigned long pins;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	fprintf(f, "pin owner: mm %p torn down with pages still pinned through it:\n", mm);
	pins = print_outstanding(f, mm, true);
	fprintf(f, "pin owner: mm %p: %lu pin(s) outstanding at its last mmput()\n", mm, pins);
	fclose(f);
	if (pins)
		log_report(text, len);
	else
		free(text);
}

long pin_owner_outstanding(void)
{
	long sum = 0;

	if (!pin_owner_enabled() || atomic_load(&records_lost))
		return -1;
	pthread_mutex_lock(&sites_lock);
	for (struct pin_site *s = pin_sites->all; s; s = s->all_next)
		sum += atomic_load_explicit(&s->outstanding, memory_order_relaxed);
	pthread_mutex_unlock(&sites_lock);
	return sum;
}

unsigned long pin_owner_report_leaks(void)
{
	char *text = NULL;
	size_t len = 0;
	unsigned long pins;
	FILE *f;

	if (!pin_owner_enabled())
		return 0;
	f = open_memstream(&text, &len);
	if (!f)
		return 0;
	fputs("pin owner: shutdown with pages still pinned:\n", f);
	pins = print_outstanding(f, NULL, false);
	fprintf(f, "pin owner: shutdown: %lu pin(s) leaked\n", pins);
	fclose(f);
	if (pins)
		log_report(text, len);
	else
		free(text);
	return pins;
}

/* ---- boot, shutdown ---- */

/* PINMM_PIN_OWNER: "1" on, "0" or empty or unset: the configuration decides. */
int pin_owner_boot(bool configured)
{
	const char *env = getenv("PINMM_PIN_OWNER");
	bool on = configured;
	void *probe[1];

	if (env && *env) {
		if (strcmp(env, "1") && strcmp(env, "0")) {
			pinmm_log("pinmm: PINMM_PIN_OWNER=%s: not 0 or 1\n", env);
			return -EINVAL;
		}
		on = on || !strcmp(env, "1");
	}
	if (!on)
		return 0;
	pfn_table = calloc(PFN_BUCKETS, sizeof(*pfn_table));
	pin_sites = calloc(1, sizeof(*pin_sites));
	unpin_sites = calloc(1, sizeof(*unpin_sites));
	if (!pfn_table || !pin_sites || !unpin_sites) {
		free(pfn_table);
		free(pin_sites);
		free(unpin_sites);
		pfn_table = NULL;
		pin_sites = unpin_sites = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < PFN_BUCKETS; i++)
		pthread_mutex_init(&pfn_table[i].lock, NULL);
	/* The first backtrace() loads the unwinder: do it here, single-threaded. */
	backtrace(probe, 1);
	atomic_store(&records_lost, 0);
	atomic_store(&pin_owner_on, true);
	return 0;
}

void pin_owner_teardown(void)
{
	struct pin_site *s, *next;

	if (!atomic_load(&pin_owner_on))
		return;
	atomic_store(&pin_owner_on, false);
	for (size_t i = 0; i < PFN_BUCKETS; i++) {
		struct pfn_entry *e = pfn_table[i].chain, *en;

		for (; e; e = en) {
			struct pin_record *r = e->records, *rn;

			for (; r; r = rn) {
				rn = r->next;
				free_record(r);
			}
			en = e->next;
			free(e);
		}
		pthread_mutex_destroy(&pfn_table[i].lock);
	}
	for (s = pin_sites->all; s; s = next) {
		next = s->all_next;
		free(s);
	}
	for (s = unpin_sites->all; s; s = next) {
		next = s->all_next;
		free(s);
	}
	free(pfn_table);
	free(pin_sites);
	free(unpin_sites);
	pfn_table = NULL;
	pin_sites = unpin_sites = NULL;
}

/* ---- queries ---- */

bool pinmm_pin_owner_enabled(void)
{
	return atomic_load(&machine_booted) && pin_owner_enabled();
}

static int cmp_owner(const void *a, const void *b)
{
	const struct pinmm_pin_owner *x = a, *y = b;

	if (x->head_pfn != y->head_pfn)
		return x->head_pfn < y->head_pfn ? -1 : 1;
	return x->pinned_ns > y->pinned_ns ? -1 : x->pinned_ns < y->pinned_ns;
}

int pinmm_pin_owners(unsigned long long older_than_ns, struct pinmm_pin_owner *buf, size_t max,
		     size_t *total)
{
	uint64_t now = now_ns();
	size_t n = 0;

	if (!pinmm_pin_owner_enabled())
		return -ENODEV;
	if (!total || (!buf && max))
		return -EINVAL;
	/* Sorted in place when everything fitted; otherwise the caller retries anyway. */
	for (size_t i = 0; i < PFN_BUCKETS; i++) {
		struct pfn_bucket *b = &pfn_table[i];

		pthread_mutex_lock(&b->lock);
		for (struct pfn_entry *e = b->chain; e; e = e->next) {
			for (struct pin_record *r = e->records; r; r = r->next) {
				struct pinmm_pin_owner *o;

				if (since(now, r->pinned_ns) < older_than_ns)
					continue;
				if (n++ >= max)
					continue;
				o = &buf[n - 1];
				*o = (struct pinmm_pin_owner){
					.pfn = r->pfn,
					.head_pfn = e->head_pfn,
					.nr_pins = r->nr_pins,
					.gup_flags = r->gup_flags,
					.mm = r->mm,
					.tid = r->tid,
					.pinned_ns = r->pinned_ns,
					.age_ns = since(now, r->pinned_ns),
					.site = r->site->id,
					.nr_frames = r->site->nr_frames,
				};
				memcpy(o->frames, r->site->frames,
				       r->site->nr_frames * sizeof(void *));
			}
		}
		pthread_mutex_unlock(&b->lock);
	}
	if (n && max)
		qsort(buf, n < max ? n : max, sizeof(*buf), cmp_owner);
	*total = n;
	return 0;
}

int pinmm_pin_sites(struct pinmm_pin_site *buf, size_t max, size_t *total)
{
	size_t n = 0;

	if (!pinmm_pin_owner_enabled())
		return -ENODEV;
	if (!total || (!buf && max))
		return -EINVAL;
	pthread_mutex_lock(&sites_lock);
	n = pin_sites->nr;
	/* The list runs newest first: site id k goes to buf[k - 1]. */
	for (struct pin_site *s = pin_sites->all; s; s = s->all_next) {
		struct pinmm_pin_site *o;

		if (s->id > max)
			continue;
		o = &buf[s->id - 1];
		o->id = s->id;
		o->outstanding = atomic_load_explicit(&s->outstanding, memory_order_relaxed);
		o->released = atomic_load_explicit(&s->released, memory_order_relaxed);
		for (int i = 0; i < PINMM_PIN_HOLD_BUCKETS; i++)
			o->hold_hist[i] =
				atomic_load_explicit(&s->hold_hist[i], memory_order_relaxed);
		o->nr_frames = s->nr_frames;
		memcpy(o->frames, s->frames, s->nr_frames * sizeof(void *));
	}
	pthread_mutex_unlock(&sites_lock);
	*total = n;
	return 0;
}

/* The lower bound of hold bucket i, in us. */
static unsigned long long bucket_floor_us(int i)
{
	return i ? 1ULL << (i - 1) : 0;
}

long pinmm_pin_owners_print(FILE *f, unsigned long long older_than_ns)
{
	struct pinmm_pin_owner *owners = NULL;
	struct pinmm_pin_site *sites = NULL;
	size_t nr = 0, nr_s = 0;
	uint64_t now = now_ns();
	int ret;

	if (!pinmm_pin_owner_enabled())
		return -ENODEV;
	/* Grow the buffers until one snapshot fits. */
	for (size_t max = 64;; max *= 4) {
		free(owners);
		owners = calloc(max, sizeof(*owners));
		if (!owners)
			return -ENOMEM;
		ret = pinmm_pin_owners(older_than_ns, owners, max, &nr);
		if (ret || nr <= max)
			break;
	}
	for (size_t max = 64; !ret; max *= 4) {
		free(sites);
		sites = calloc(max, sizeof(*sites));
		if (!sites) {
			ret = -ENOMEM;
			break;
		}
		ret = pinmm_pin_sites(sites, max, &nr_s);
		if (ret || nr_s <= max)
			break;
	}
	if (!ret) {
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);

		if (!m) {
			ret = -ENOMEM;
		} else {
			fprintf(m, "pin owners: %zu record(s) held at least %.3f ms\n", nr,
				(double)older_than_ns / 1e6);
			for (size_t i = 0; i < nr; i++) {
				struct pinmm_pin_owner *o = &owners[i];

				fprintf(m, "  pin of pfn %#lx (head %#lx) x%u, ", o->pfn,
					o->head_pfn, o->nr_pins);
				print_flags(m, o->gup_flags);
				fprintf(m, ", mm %p, thread %ld, held %.3f ms, site %lu\n", o->mm,
					o->tid, (double)since(now, o->pinned_ns) / 1e6, o->site);
				print_stack(m, "    ", o->frames, o->nr_frames);
			}
			fprintf(m, "pin sites: %zu\n", nr_s);
			for (size_t i = 0; i < nr_s; i++) {
				struct pinmm_pin_site *s = &sites[i];

				fprintf(m, "  site %lu: %ld outstanding, %lu released\n", s->id,
					s->outstanding, s->released);
				print_stack(m, "    ", s->frames, s->nr_frames);
				for (int b = 0; b < PINMM_PIN_HOLD_BUCKETS; b++)
					if (s->hold_hist[b])
						fprintf(m, "    held >= %llu us: %lu\n",
							bucket_floor_us(b), s->hold_hist[b]);
			}
			fclose(m);
			if (f) {
				fputs(text, f);
				free(text);
			} else {
				log_report(text, len);
			}
		}
	}
	free(owners);
	free(sites);
	return ret ? ret : (long)nr;
}
