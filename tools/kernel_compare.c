/* SPDX-License-Identifier: MIT */
/*
 * kernel_compare: the live kernel beside pinmm, in the same run, on the same machine. Each row
 * times one operation on a range (default 1 GiB) in the host kernel and the equivalent in a
 * booted pinmm machine, alternating kernel and pinmm rounds so that a change in the machine's
 * load falls on both, and keeps the best of the rounds (-r, default 5) of each:
 *
 *   io_uring buffer registration and unregistration (liburing: io_uring_register_buffers /
 *   io_uring_unregister_buffers, which pin with pin_user_pages_fast(FOLL_WRITE |
 *   FOLL_LONGTERM) and unpin) of 4 KiB pages and of THP (MADV_HUGEPAGE); beside pinmm's
 *   pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM) + unpin_user_pages() of the same range, and
 *   beside pinmm's io_uring registration (io_sqe_buffers_register(), 5.7's pin_user_pages());
 *   populating 4 KiB pages: mmap(MAP_POPULATE) and madvise(MADV_POPULATE_WRITE) of a fresh
 *   range; beside vm_mmap(MAP_POPULATE) / do_madvise(MADV_POPULATE_WRITE), and pinmm's first
 *   populate after boot (frames the host never backed: the "first touch" row);
 *   fork of a process whose populated ranges are the 4 KiB and THP ones; beside pinmm_fork();
 *   the registration's pin + unpin again beside pinmm's runs calls (pin_user_pages_fast_runs()
 *   + unpin_user_page_runs(), FOLL_WRITE | FOLL_LONGTERM, pinmm's API beyond Linux: what a
 *   driver that registers memory as ranges would call), with a line giving the THP runs
 *   figure in ms/GiB against its target (0.05).
 *
 * Each row prints both figures in ms (and ms per GiB) and the ratio kernel / pinmm: above 1
 * means pinmm is faster. Where the host cannot run the kernel's side the row says
 * "skipped: <reason>" (io_uring disabled or missing, RLIMIT_MEMLOCK too low for a caller that
 * cannot raise it, THP disabled or not backing the range).
 *
 * The kernel's side runs in a child forked before pinmm boots, driven through a pipe: a fork
 * measured in the process that holds pinmm's simulated RAM would copy that RAM's page tables
 * too, and the kernel's io_uring accounting would see pinmm's memory. The easy rule to break:
 * the child never calls into pinmm and leaves with _exit() (pinmm's exit-time checks belong to
 * the parent).
 *
 * Usage: kernel_compare [-h] [-s RANGE_MIB] [-r ROUNDS] [-q] [-R 5.7|modern]
 * Built only where liburing is found (pkg-config); `make bench` runs it.
 * Exit status: 0, 1 when a measurement failed on pinmm's side (or pinmm could not boot), 2 for
 * bad usage.
 */
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#include "lib/tool_rules.h"

#define DEFAULT_ROUNDS 5
#define HUGE_ALIGN (2UL << 20)
#define GIB (1UL << 30)

/* The operations, each measured on both sides. */
enum op {
	OP_REG_4K,      /* io_uring registration of the 4 KiB range: ns[0] register, ns[1] unregister */
	OP_REG_THP,     /* the same on the THP range */
	OP_MAP_POPULATE, /* mmap(MAP_POPULATE) of a fresh 4 KiB range */
	OP_POPULATE_WRITE, /* madvise(MADV_POPULATE_WRITE) of a fresh 4 KiB range */
	OP_FORK,        /* fork with both ranges populated */
	OP_QUIT,
	NR_OPS = OP_QUIT,
};

/* One answer of the kernel's side. */
struct reply {
	double ns[2];
	int skipped;
	char reason[160];
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void say(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct reply *r, const char *fmt, ...)
{
	va_list ap;

	r->skipped = 1;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* ---- the kernel's side (the child) ---- */

struct host {
	unsigned long bytes;
	char *r4k, *rthp;     /* populated ranges, or NULL (reason in skip_*) */
	struct io_uring ring;
	bool have_ring;
	char skip_ring[160], skip_4k[160], skip_thp[160];
};

/* An anonymous range aligned to 2 MiB, madvised hugepage or nohugepage, populated. */
static char *host_range(struct host *h, bool thp, char *why, size_t whylen)
{
	size_t len = h->bytes + HUGE_ALIGN;
	char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	if (raw == MAP_FAILED) {
		snprintf(why, whylen, "mmap: %s", strerror(errno));
		return NULL;
	}
	p = (char *)(((unsigned long)raw + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (p + h->bytes < raw + len)
		munmap(p + h->bytes, (size_t)(raw + len - (p + h->bytes)));
	if (madvise(p, h->bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) ||
	    madvise(p, h->bytes, MADV_POPULATE_WRITE)) {
		snprintf(why, whylen, "madvise: %s", strerror(errno));
		munmap(p, h->bytes);
		return NULL;
	}
	return p;
}

/* kB of AnonHugePages in the smaps entry of the VMA starting at p, or -1. */
static long anon_huge_kb(const char *p)
{
	char line[256], start[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)p);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = !strncmp(line, start, strlen(start));
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* "[never]" in the THP switch, or no switch at all: the reason, else NULL. */
static const char *thp_unavailable(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return "no THP (no /sys/kernel/mm/transparent_hugepage)";
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (strstr(buf, "[never]"))
		return "THP disabled (transparent_hugepage/enabled: never)";
	return NULL;
}

static void host_setup(struct host *h)
{
	struct rlimit rl;
	const char *nothp = thp_unavailable();
	int ret;

	/* Registration charges RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK: raise it where
	 * allowed (root), and say so below if the registration then fails for it. */
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	ret = io_uring_queue_init(4, &h->ring, 0);
	if (ret == -EPERM)
		snprintf(h->skip_ring, sizeof(h->skip_ring),
			 "io_uring disabled (io_uring_queue_init: EPERM; kernel.io_uring_disabled)");
	else if (ret == -ENOSYS)
		snprintf(h->skip_ring, sizeof(h->skip_ring),
			 "no io_uring in this kernel (io_uring_queue_init: ENOSYS)");
	else if (ret < 0)
		snprintf(h->skip_ring, sizeof(h->skip_ring), "io_uring_queue_init: %s",
			 strerror(-ret));
	h->have_ring = ret == 0;

	h->r4k = host_range(h, false, h->skip_4k, sizeof(h->skip_4k));
	if (nothp) {
		snprintf(h->skip_thp, sizeof(h->skip_thp), "%s", nothp);
		return;
	}
	h->rthp = host_range(h, true, h->skip_thp, sizeof(h->skip_thp));
	if (h->rthp) {
		long kb = anon_huge_kb(h->rthp);

		/* A THP row on mostly 4 KiB pages would compare nothing: demand nine tenths. */
		if (kb >= 0 && (unsigned long)kb * 1024 * 10 < h->bytes * 9) {
			snprintf(h->skip_thp, sizeof(h->skip_thp),
				 "THP backs only %ld of %lu MiB of the range", kb >> 10,
				 h->bytes >> 20);
			munmap(h->rthp, h->bytes);
			h->rthp = NULL;
		}
	}
}

/* Register the range as 1 GiB buffers (io_uring's limit per buffer), then unregister. */
static void host_register(struct host *h, char *p, const char *skip, struct reply *r)
{
	unsigned int nr = (unsigned int)((h->bytes + GIB - 1) / GIB);
	struct iovec iov[64];
	double t0, t1;
	int ret;

	if (!h->have_ring)
		return say(r, "%s", h->skip_ring);
	if (!p)
		return say(r, "%s", skip[0] ? skip : "no range");
	for (unsigned int i = 0; i < nr; i++) {
		iov[i].iov_base = p + (size_t)i * GIB;
		iov[i].iov_len = i == nr - 1 ? h->bytes - (size_t)i * GIB : GIB;
	}
	t0 = now_ns();
	ret = io_uring_register_buffers(&h->ring, iov, nr);
	t1 = now_ns();
	if (ret < 0) {
		struct rlimit rl;

		if (ret == -ENOMEM && !getrlimit(RLIMIT_MEMLOCK, &rl) &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < h->bytes)
			return say(r, "RLIMIT_MEMLOCK %lu KiB < the range, and cannot be raised",
				   (unsigned long)rl.rlim_cur >> 10);
		return say(r, "io_uring_register_buffers: %s", strerror(-ret));
	}
	r->ns[0] = t1 - t0;
	t0 = now_ns();
	ret = io_uring_unregister_buffers(&h->ring);
	r->ns[1] = now_ns() - t0;
	if (ret < 0)
		say(r, "io_uring_unregister_buffers: %s", strerror(-ret));
}

static void host_populate(struct host *h, bool map_populate, struct reply *r)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (map_populate ? MAP_POPULATE : 0);
	double t0 = now_ns(), t1;
	char *p = mmap(NULL, h->bytes, PROT_READ | PROT_WRITE, flags, -1, 0);

	if (p == MAP_FAILED)
		return say(r, "mmap: %s", strerror(errno));
	if (!map_populate) {
		madvise(p, h->bytes, MADV_NOHUGEPAGE);
		t0 = now_ns();
		if (madvise(p, h->bytes, MADV_POPULATE_WRITE)) {
			say(r, "MADV_POPULATE_WRITE: %s", strerror(errno));
			munmap(p, h->bytes);
			return;
		}
	}
	t1 = now_ns();
	r->ns[0] = t1 - t0;
	munmap(p, h->bytes);
}

static void host_fork(struct reply *r)
{
	double t0 = now_ns(), t1;
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(0);
	t1 = now_ns();
	if (pid < 0)
		return say(r, "fork: %s", strerror(errno));
	waitpid(pid, &status, 0);
	r->ns[0] = t1 - t0;
}

static const int op_ready = OP_QUIT;

static _Noreturn void host_serve(int in, int out, unsigned long bytes)
{
	struct host h = {.bytes = bytes};
	int op;

	host_setup(&h);
	/* Ready: the parent boots pinmm only now, so that its first touch runs alone. */
	if (write(out, &op_ready, sizeof(op_ready)) != sizeof(op_ready))
		_exit(1);
	while (read(in, &op, sizeof(op)) == sizeof(op) && op != OP_QUIT) {
		struct reply r = {{0, 0}, 0, ""};

		switch (op) {
		case OP_REG_4K:
			host_register(&h, h.r4k, h.skip_4k, &r);
			break;
		case OP_REG_THP:
			host_register(&h, h.rthp, h.skip_thp, &r);
			break;
		case OP_MAP_POPULATE:
		case OP_POPULATE_WRITE:
			host_populate(&h, op == OP_MAP_POPULATE, &r);
			break;
		case OP_FORK:
			host_fork(&r);
			break;
		}
		if (write(out, &r, sizeof(r)) != sizeof(r))
			break;
	}
	_exit(0);
}

/* ---- pinmm's side (the parent) ---- */

struct sim {
	unsigned long bytes;
	struct mm_struct *mm;
	unsigned long r4k, rthp;
	struct page **pages;
	struct page_run *runs;
	unsigned long nr_runs; /* runs the last sim_pin_runs() used */
	struct io_ring_ctx *ctx;
};

static unsigned long sim_map(struct sim *s, bool thp, double *populate_ns)
{
	unsigned long flags = MAP_PRIVATE | MAP_ANONYMOUS, addr, start;
	double t0;

	/* 2 MiB aligned: over-map address space without memory, then map inside it. */
	addr = vm_mmap(NULL, 0, s->bytes + HUGE_ALIGN, PROT_NONE, flags | MAP_NORESERVE, 0);
	if (IS_ERR_VALUE(addr))
		return addr;
	start = (addr + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
	vm_munmap(addr, s->bytes + HUGE_ALIGN);
	addr = vm_mmap(NULL, start, s->bytes, PROT_READ | PROT_WRITE, flags | MAP_FIXED, 0);
	if (IS_ERR_VALUE(addr))
		return addr;
	do_madvise(s->mm, addr, s->bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	t0 = now_ns();
	if (do_madvise(s->mm, addr, s->bytes, MADV_POPULATE_WRITE))
		return (unsigned long)-ENOMEM;
	*populate_ns = now_ns() - t0;
	return addr;
}

/* Write a byte of every page, untimed, as the range's user would: the host then backs the
 * frames, and a later populate that reuses them is the warm case. */
static int sim_dirty(struct sim *s, unsigned long start)
{
	unsigned long nr = s->bytes >> PAGE_SHIFT;

	for (unsigned long done = 0; done < nr;) {
		int n = nr - done > 512 ? 512 : (int)(nr - done);
		int got = get_user_pages_fast(start + (done << PAGE_SHIFT), n, FOLL_WRITE, s->pages);

		if (got <= 0)
			return got < 0 ? got : -EFAULT;
		for (int i = 0; i < got; i++) {
			*(volatile char *)page_address(s->pages[i]) = 1;
			put_page(s->pages[i]);
		}
		done += (unsigned long)got;
	}
	return 0;
}

/* The kernel's io_pin_pages() call: one pin_user_pages_fast() of each 1 GiB buffer, then the
 * unpin of every page. pinmm's fast path takes an int count, as Linux's does. */
static int sim_pin_fast(struct sim *s, unsigned long start, double ns[2])
{
	unsigned long nr = s->bytes >> PAGE_SHIFT, done = 0;
	double t0 = now_ns();

	while (done < nr) {
		unsigned long n = nr - done;
		int ret;

		if (n > GIB >> PAGE_SHIFT)
			n = GIB >> PAGE_SHIFT;
		ret = pin_user_pages_fast(start + (done << PAGE_SHIFT), (int)n,
					  FOLL_WRITE | FOLL_LONGTERM, s->pages + done);
		if (ret <= 0) {
			unpin_user_pages(s->pages, done);
			return ret < 0 ? ret : -EFAULT;
		}
		done += (unsigned long)ret;
	}
	ns[0] = now_ns() - t0;
	t0 = now_ns();
	unpin_user_pages(s->pages, nr);
	ns[1] = now_ns() - t0;
	return 0;
}

/* The same registration through the runs calls: one pin_user_pages_fast_runs() per 1 GiB
 * buffer into one runs array (4 KiB pages may need a run each), then one unpin of them all. */
static int sim_pin_runs(struct sim *s, unsigned long start, double ns[2])
{
	unsigned long nr = s->bytes >> PAGE_SHIFT, done = 0, used = 0;
	double t0 = now_ns();

	while (done < nr) {
		unsigned long n = nr - done, cap = nr - used;
		long ret;

		if (n > GIB >> PAGE_SHIFT)
			n = GIB >> PAGE_SHIFT;
		ret = pin_user_pages_fast_runs(start + (done << PAGE_SHIFT), n,
					       FOLL_WRITE | FOLL_LONGTERM, s->runs + used, &cap);
		if (ret <= 0) {
			unpin_user_page_runs(s->runs, used);
			return ret < 0 ? (int)ret : -EFAULT;
		}
		done += (unsigned long)ret;
		used += cap;
	}
	ns[0] = now_ns() - t0;
	t0 = now_ns();
	unpin_user_page_runs(s->runs, used);
	ns[1] = now_ns() - t0;
	s->nr_runs = used;
	return 0;
}

static int sim_register(struct sim *s, unsigned long start, double ns[2])
{
	unsigned int nr = (unsigned int)((s->bytes + GIB - 1) / GIB);
	struct iovec iov[64];
	double t0;
	int ret;

	for (unsigned int i = 0; i < nr; i++) {
		iov[i].iov_base = (void *)(start + (unsigned long)i * GIB);
		iov[i].iov_len = i == nr - 1 ? s->bytes - (unsigned long)i * GIB : GIB;
	}
	t0 = now_ns();
	ret = io_sqe_buffers_register(s->ctx, iov, nr);
	if (ret)
		return ret;
	ns[0] = now_ns() - t0;
	t0 = now_ns();
	ret = io_sqe_buffers_unregister(s->ctx);
	ns[1] = now_ns() - t0;
	return ret;
}

static int sim_populate(struct sim *s, bool map_populate, double *ns)
{
	unsigned long flags = MAP_PRIVATE | MAP_ANONYMOUS | (map_populate ? MAP_POPULATE : 0);
	unsigned long addr;
	double t0 = now_ns(), t1;
	int ret;

	addr = vm_mmap(NULL, 0, s->bytes, PROT_READ | PROT_WRITE, flags, 0);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	if (!map_populate) {
		do_madvise(s->mm, addr, s->bytes, MADV_NOHUGEPAGE);
		t0 = now_ns();
		if (do_madvise(s->mm, addr, s->bytes, MADV_POPULATE_WRITE)) {
			vm_munmap(addr, s->bytes);
			return -ENOMEM;
		}
	}
	t1 = now_ns();
	*ns = t1 - t0;
	ret = sim_dirty(s, addr);
	if (ret)
		return ret;
	return vm_munmap(addr, s->bytes);
}

static int sim_fork(struct sim *s, double *ns)
{
	double t0 = now_ns();
	struct mm_struct *child = pinmm_fork(s->mm);

	*ns = now_ns() - t0;
	if (IS_ERR(child))
		return (int)PTR_ERR(child);
	mmput(child);
	return 0;
}

/* ---- the table ---- */

enum row {
	ROW_REG_4K, ROW_UNREG_4K, ROW_REGUNREG_4K, ROW_IOURING_4K, ROW_RUNS_4K,
	ROW_REG_THP, ROW_UNREG_THP, ROW_REGUNREG_THP, ROW_IOURING_THP, ROW_RUNS_THP,
	ROW_MAP_POPULATE, ROW_POPULATE_WRITE, ROW_FIRST_TOUCH, ROW_FORK, NR_ROWS
};

static const char *const row_names[NR_ROWS] = {
	[ROW_REG_4K] = "4k   pin: io_uring register | pin_user_pages_fast LT",
	[ROW_UNREG_4K] = "4k   unpin: unregister | unpin_user_pages",
	[ROW_REGUNREG_4K] = "4k   register + unregister | pin + unpin",
	[ROW_IOURING_4K] = "4k   register + unregister | pinmm io_uring (slow)",
	[ROW_RUNS_4K] = "4k   register + unregister | pin + unpin runs",
	[ROW_REG_THP] = "THP  pin: io_uring register | pin_user_pages_fast LT",
	[ROW_UNREG_THP] = "THP  unpin: unregister | unpin_user_pages",
	[ROW_REGUNREG_THP] = "THP  register + unregister | pin + unpin",
	[ROW_IOURING_THP] = "THP  register + unregister | pinmm io_uring (slow)",
	[ROW_RUNS_THP] = "THP  register + unregister | pin + unpin runs",
	[ROW_MAP_POPULATE] = "4k   mmap(MAP_POPULATE)",
	[ROW_POPULATE_WRITE] = "4k   MADV_POPULATE_WRITE (warm in pinmm)",
	[ROW_FIRST_TOUCH] = "4k   MADV_POPULATE_WRITE | pinmm first touch",
	[ROW_FORK] = "fork, 4k + THP ranges populated",
};

struct figure {
	double kernel, pinmm; /* best ns, 0 until measured */
	char skip[160];
};

static void best(double *slot, double ns)
{
	if (ns > 0 && (*slot == 0 || ns < *slot))
		*slot = ns;
}

static void load_average(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = 0, b = 0, c = 0;

	if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(buf, len, "unknown");
	if (f)
		fclose(f);
}

static void cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && v) {
			v += 1 + (v[1] == ' ');
			v[strcspn(v, "\n")] = 0;
			snprintf(buf, len, "%s", v);
			break;
		}
	}
	if (f)
		fclose(f);
}

static void print_row(const char *name, const struct figure *f, unsigned long bytes)
{
	double gib = (double)bytes / GIB;

	if (f->skip[0]) {
		printf("%-52s | skipped: %s\n", name, f->skip);
		return;
	}
	printf("%-52s | %9.2f %9.2f | %9.2f %9.2f | %7.2f\n", name, f->kernel / 1e6,
	       f->pinmm / 1e6, f->kernel / 1e6 / gib, f->pinmm / 1e6 / gib, f->kernel / f->pinmm);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kernel_compare [-h] [-s RANGE_MIB] [-r ROUNDS] [-q] [-R 5.7|modern]\n"
		"  -s  range in MiB, a multiple of 2, 2-65536 (default 1024)\n"
		"  -r  rounds, kernel and pinmm alternating; the best of each is kept (default %d)\n"
		"  -q  no simulated-kernel log\n"
		"  -R  pinmm's rule set, 5.7 or modern (default: PINMM_RULES, else 5.7)\n"
		"  -h  this message\n",
		DEFAULT_ROUNDS);
}

/* Ask the kernel's side for one operation. */
static int ask(int to, int from, enum op op, struct reply *r)
{
	int o = op;

	if (write(to, &o, sizeof(o)) != sizeof(o) || read(from, r, sizeof(*r)) != sizeof(*r))
		return -EPIPE;
	return 0;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "kernel_compare: pinmm: %s: %s\n", what, strerror(-err));
	exit(1);
}

int main(int argc, char **argv)
{
	unsigned long mib = 1024;
	int rounds = DEFAULT_ROUNDS, opt, to_child[2], from_child[2];
	enum pinmm_rules rules = PINMM_RULES_DEFAULT;
	struct figure fig[NR_ROWS] = {0};
	struct pinmm_config cfg;
	struct sim s = {0};
	char cpu[128], load0[64], load1[64];
	struct utsname un;
	double first_touch, runs_thp[2] = {0, 0};
	unsigned long runs_used = 0;
	pid_t child;
	char *end;

	while ((opt = getopt(argc, argv, "hs:r:qR:")) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 's':
			mib = strtoul(optarg, &end, 0);
			if (*end || mib < 2 || mib > 65536 || mib % 2) {
				fprintf(stderr, "kernel_compare: -s %s: MiB, a multiple of 2, "
						"2-65536\n", optarg);
				return 2;
			}
			break;
		case 'r':
			rounds = (int)strtol(optarg, &end, 0);
			if (*end || rounds < 1 || rounds > 100) {
				fprintf(stderr, "kernel_compare: -r %s: rounds, 1-100\n", optarg);
				return 2;
			}
			break;
		case 'q':
			pinmm_set_log_stream(fopen("/dev/null", "w"));
			break;
		case 'R':
			if (tool_rules_option("kernel_compare", optarg, &rules))
				return 2;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kernel_compare: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (tool_rules_env_check(rules)) {
		fprintf(stderr, "kernel_compare: PINMM_RULES=%s: not a rule set (5.7 or modern)\n",
			getenv("PINMM_RULES"));
		return 2;
	}
	s.bytes = mib << 20;
	setvbuf(stdout, NULL, _IOLBF, 0);
	load_average(load0, sizeof(load0));

	/* The kernel's side first, before pinmm's RAM exists. */
	if (pipe(to_child) || pipe(from_child)) {
		perror("kernel_compare: pipe");
		return 1;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		perror("kernel_compare: fork");
		return 1;
	}
	if (child == 0) {
		close(to_child[1]);
		close(from_child[0]);
		host_serve(to_child[0], from_child[1], s.bytes);
	}
	close(to_child[0]);
	close(from_child[1]);
	signal(SIGPIPE, SIG_IGN);
	{
		int ready;

		if (read(from_child[0], &ready, sizeof(ready)) != sizeof(ready)) {
			fprintf(stderr, "kernel_compare: the kernel's side died in its setup\n");
			waitpid(child, NULL, 0);
			return 1;
		}
	}

	uname(&un);
	cpu_model(cpu, sizeof(cpu));
	printf("kernel_compare: host Linux %s, %ld CPUs (%s); pinmm rules %s; %lu MiB per range; "
	       "best of %d rounds, kernel and pinmm alternating, a fresh pinmm machine each round; "
	       "load average at start %s\n",
	       un.release, sysconf(_SC_NPROCESSORS_ONLN), cpu,
	       rules == PINMM_RULES_DEFAULT ? (getenv("PINMM_RULES") && *getenv("PINMM_RULES")
						       ? getenv("PINMM_RULES") : "5.7")
					    : rules == PINMM_RULES_MODERN ? "modern" : "5.7",
	       mib, rounds, load0);
	printf("%-52s | %9s %9s | %9s %9s | %7s\n", "operation: kernel | pinmm", "kernel ms",
	       "pinmm ms", "k ms/GiB", "p ms/GiB", "k/pinmm");

	pinmm_config_default(&cfg);
	/* Two populated ranges, a third populated and freed again, page tables, slack. */
	cfg.ram_bytes = (unsigned long long)s.bytes * 3 + (1ULL << 30);
	/* No ZONE_MOVABLE or CMA, as the host's memory: a long-term pin would migrate each page
	 * out of them on the first round, which the kernel's side never does. */
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.thp = PINMM_THP_MADVISE;
	cfg.debug_checks = false; /* as Linux without CONFIG_DEBUG_VM, and as pinmm_bench */
	cfg.rules = rules;
	s.pages = malloc((s.bytes >> PAGE_SHIFT) * sizeof(*s.pages));
	s.runs = malloc((s.bytes >> PAGE_SHIFT) * sizeof(*s.runs));
	if (!s.pages || !s.runs)
		fail("setup", -ENOMEM);

	for (int round = 0; round < rounds; round++) {
		double warmup;
		int ret;

		if (pinmm_boot(&cfg)) {
			fprintf(stderr, "kernel_compare: cannot boot a %llu MiB machine\n",
				cfg.ram_bytes >> 20);
			close(to_child[1]);
			waitpid(child, NULL, 0);
			return 1;
		}
		s.mm = mm_alloc();
		kthread_use_mm(s.mm);
		s.ctx = io_ring_ctx_alloc();
		if (!s.ctx)
			fail("setup", -ENOMEM);
		/* The first populate after boot takes frames the host has never backed. */
		s.r4k = sim_map(&s, false, &first_touch);
		if (IS_ERR_VALUE(s.r4k))
			fail("populate the 4 KiB range", (int)s.r4k);
		best(&fig[ROW_FIRST_TOUCH].pinmm, first_touch);
		s.rthp = sim_map(&s, true, &warmup);
		if (IS_ERR_VALUE(s.rthp))
			fail("populate the THP range", (int)s.rthp);
		ret = sim_dirty(&s, s.r4k);
		if (!ret)
			ret = sim_dirty(&s, s.rthp);
		/* Frames that were used and written, for the warm populate rows. */
		if (!ret)
			ret = sim_populate(&s, false, &warmup);
		if (ret)
			fail("warm up", ret);
		for (int op = 0; op < NR_OPS; op++) {
			struct reply r;
			double ns[2] = {0, 0}, io[2] = {0, 0}, rn[2] = {0, 0};

			if (ask(to_child[1], from_child[0], (enum op)op, &r)) {
				fprintf(stderr, "kernel_compare: the kernel's side died\n");
				return 1;
			}
			switch (op) {
			case OP_REG_4K:
			case OP_REG_THP: {
				unsigned long start = op == OP_REG_4K ? s.r4k : s.rthp;
				enum row base = op == OP_REG_4K ? ROW_REG_4K : ROW_REG_THP;

				ret = sim_pin_fast(&s, start, ns);
				if (ret)
					fail("pin_user_pages_fast", ret);
				ret = sim_register(&s, start, io);
				if (ret)
					fail("io_sqe_buffers_register", ret);
				ret = sim_pin_runs(&s, start, rn);
				if (ret)
					fail("pin_user_pages_fast_runs", ret);
				if (op == OP_REG_THP) {
					best(&runs_thp[0], rn[0]);
					best(&runs_thp[1], rn[1]);
					runs_used = s.nr_runs;
				}
				for (int k = 0; k < 5; k++) {
					if (r.skipped)
						snprintf(fig[base + k].skip, sizeof(fig[0].skip), "%s",
							 r.reason);
				}
				best(&fig[base].kernel, r.ns[0]);
				best(&fig[base].pinmm, ns[0]);
				best(&fig[base + 1].kernel, r.ns[1]);
				best(&fig[base + 1].pinmm, ns[1]);
				best(&fig[base + 2].kernel, r.ns[0] + r.ns[1]);
				best(&fig[base + 2].pinmm, ns[0] + ns[1]);
				best(&fig[base + 3].kernel, r.ns[0] + r.ns[1]);
				best(&fig[base + 3].pinmm, io[0] + io[1]);
				best(&fig[base + 4].kernel, r.ns[0] + r.ns[1]);
				best(&fig[base + 4].pinmm, rn[0] + rn[1]);
				break;
			}
			case OP_MAP_POPULATE:
			case OP_POPULATE_WRITE: {
				enum row row = op == OP_MAP_POPULATE ? ROW_MAP_POPULATE :
								       ROW_POPULATE_WRITE;

				ret = sim_populate(&s, op == OP_MAP_POPULATE, ns);
				if (ret)
					fail("populate", ret);
				if (r.skipped)
					snprintf(fig[row].skip, sizeof(fig[0].skip), "%s", r.reason);
				best(&fig[row].kernel, r.ns[0]);
				best(&fig[row].pinmm, ns[0]);
				if (op == OP_POPULATE_WRITE)
					best(&fig[ROW_FIRST_TOUCH].kernel, r.ns[0]);
				break;
			}
			case OP_FORK:
				ret = sim_fork(&s, ns);
				if (ret)
					fail("pinmm_fork", ret);
				if (r.skipped)
					snprintf(fig[ROW_FORK].skip, sizeof(fig[0].skip), "%s", r.reason);
				best(&fig[ROW_FORK].kernel, r.ns[0]);
				best(&fig[ROW_FORK].pinmm, ns[0]);
				break;
			}
		}
		io_ring_ctx_free(s.ctx);
		kthread_unuse_mm(s.mm);
		mmput(s.mm);
		if (pinmm_shutdown()) {
			fprintf(stderr, "kernel_compare: shutdown found leaked pages\n");
			return 1;
		}
	}
	for (int row = 0; row < NR_ROWS; row++)
		print_row(row_names[row], &fig[row], s.bytes);
	if (fig[ROW_POPULATE_WRITE].pinmm > 0)
		printf("pinmm first touch / warm populate: %.2f (%.2f / %.2f ms)\n",
		       fig[ROW_FIRST_TOUCH].pinmm / fig[ROW_POPULATE_WRITE].pinmm,
		       fig[ROW_FIRST_TOUCH].pinmm / 1e6, fig[ROW_POPULATE_WRITE].pinmm / 1e6);
	if (!fig[ROW_RUNS_THP].skip[0] && fig[ROW_RUNS_THP].pinmm > 0) {
		double gib = (double)s.bytes / GIB;

		printf("pinmm runs, THP, FOLL_WRITE | FOLL_LONGTERM: %.4f ms/GiB pin + unpin "
		       "(best pin %.4f + best unpin %.4f) in %lu runs; target <= 0.05 ms/GiB: %s\n",
		       fig[ROW_RUNS_THP].pinmm / 1e6 / gib, runs_thp[0] / 1e6 / gib,
		       runs_thp[1] / 1e6 / gib, runs_used,
		       fig[ROW_RUNS_THP].pinmm / 1e6 / gib <= 0.05 ? "met" : "missed");
	}
	load_average(load1, sizeof(load1));
	printf("load average at end %s; k/pinmm above 1: pinmm is faster\n", load1);

	{
		int quit = OP_QUIT;

		if (write(to_child[1], &quit, sizeof(quit)) != sizeof(quit))
			kill(child, SIGTERM);
		close(to_child[1]);
		waitpid(child, NULL, 0);
	}
	free(s.pages);
	free(s.runs);
	return 0;
}
