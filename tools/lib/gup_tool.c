/* SPDX-License-Identifier: MIT */
/*
 * The machine and the mapping behind the gup tools (gup_tool.h). The rule that is easy to
 * break: everything here happens before the first timed call, so the tools' numbers measure
 * GUP and nothing else; the touch loop is what makes the pages present, as p[0] = 0 does in
 * the originals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gup_tool.h"
#include "tool_rules.h"

#define MiB (1UL << 20)
#define HPAGE_2M (2UL << 20)
#define RAM_HEADROOM (256 * MiB)
/* The largest mapping the sizing rule can give a machine for. */
#define MAX_REQUEST ((unsigned long)((PINMM_MAX_RAM - RAM_HEADROOM) / 2))

static unsigned long long round_up_4m(unsigned long long bytes)
{
	return (bytes + 4 * MiB - 1) & ~(4ULL * MiB - 1);
}

/* An environment override: 0 if unset, 1 if read into *val, -1 if not a number. */
static int env_number(const char *name, unsigned long long *val)
{
	const char *s = getenv(name);
	char *end;

	if (!s)
		return 0;
	errno = 0;
	*val = strtoull(s, &end, 0);
	return (!*s || *end || errno || *s == '-') ? -1 : 1;
}

static int env_thp(enum pinmm_thp_mode *mode)
{
	static const char *const names[] = {
		[PINMM_THP_ALWAYS] = "always",
		[PINMM_THP_MADVISE] = "madvise",
		[PINMM_THP_NEVER] = "never",
	};
	const char *s = getenv("PINMM_THP");

	if (!s)
		return 0;
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*mode = (enum pinmm_thp_mode)i;
			return 1;
		}
	}
	return -1;
}

/* The machine for req: see gup_tool.h. */
static int size_machine(struct gup_tool *t, const struct gup_tool_request *req,
			struct pinmm_config *cfg)
{
	unsigned long long val;

	pinmm_config_default(cfg);
	cfg->thp = PINMM_THP_MADVISE;
	cfg->ram_bytes = round_up_4m(2ULL * req->size + RAM_HEADROOM);
	if (req->map_flags & MAP_HUGETLB)
		cfg->nr_hugepages_2m = (req->size + HPAGE_2M - 1) / HPAGE_2M;

	switch (env_number("PINMM_RAM_MIB", &val)) {
	case -1:
		t->failed = "PINMM_RAM_MIB";
		return -EINVAL;
	case 1:
		cfg->ram_bytes = val > PINMM_MAX_RAM >> 20 ? PINMM_MAX_RAM + 1 : val << 20;
		break;
	}
	switch (env_number("PINMM_HUGEPAGES", &val)) {
	case -1:
		t->failed = "PINMM_HUGEPAGES";
		return -EINVAL;
	case 1:
		cfg->nr_hugepages_2m = (unsigned long)val;
		break;
	}
	if (env_thp(&cfg->thp) < 0) {
		t->failed = "PINMM_THP";
		return -EINVAL;
	}
	cfg->rules = req->rules;
	if (tool_rules_env_check(req->rules)) {
		t->failed = "PINMM_RULES";
		return -EINVAL;
	}
	return 0;
}

static int map_and_touch(struct gup_tool *t, const struct gup_tool_request *req)
{
	unsigned long flags = (unsigned long)req->map_flags;
	static const char zero;
	unsigned long addr;

	if (!t->file)
		flags |= MAP_ANONYMOUS;
	t->failed = "mmap";
	addr = vm_mmap(flags & MAP_ANONYMOUS ? NULL : t->file, 0, req->size,
		       PROT_READ | PROT_WRITE, flags, 0);
	if (IS_ERR_VALUE(addr))
		return (int)(long)addr;
	t->addr = addr;
	if (req->thp == 1)
		do_madvise(t->mm, addr, req->size, MADV_HUGEPAGE);
	else if (req->thp == 0)
		do_madvise(t->mm, addr, req->size, MADV_NOHUGEPAGE);

	t->failed = "touch";
	for (unsigned long off = 0; off < req->size; off += PAGE_SIZE) {
		if (copy_to_user(addr + off, &zero, 1)) {
			t->fail_offset = off;
			return -EFAULT;
		}
	}
	t->failed = NULL;
	return 0;
}

int gup_tool_start(struct gup_tool *t, const struct gup_tool_request *req)
{
	struct pinmm_config cfg;
	int ret;

	*t = (struct gup_tool){ 0 };
	if (req->size > MAX_REQUEST) {
		t->failed = "mmap";
		return -ENOMEM;
	}
	ret = size_machine(t, req, &cfg);
	if (ret)
		return ret;
	ret = pinmm_boot(&cfg);
	if (ret) {
		t->failed = "boot";
		return ret;
	}
	t->mm = mm_alloc();
	if (!t->mm) {
		t->failed = "boot";
		return -ENOMEM;
	}
	kthread_use_mm(t->mm);
	if (req->file && strcmp(req->file, "/dev/zero")) {
		t->file = filp_open(req->file, O_RDWR | O_CREAT, 0664);
		if (IS_ERR(t->file)) {
			ret = (int)PTR_ERR(t->file);
			t->file = NULL;
			t->failed = "open";
			return ret;
		}
	}
	return map_and_touch(t, req);
}

int gup_tool_finish(struct gup_tool *t)
{
	if (t->file)
		fput(t->file);
	if (t->mm) {
		kthread_unuse_mm(t->mm);
		mmput(t->mm);
	}
	*t = (struct gup_tool){ .failed = t->failed };
	if (!pinmm_booted() || pinmm_shutdown() == 0)
		return 0;
	t->failed = "shutdown";
	return -EBUSY;
}

const char *gup_tool_describe(const struct gup_tool *t, int err, char *buf, size_t len)
{
	const char *step = t->failed ? t->failed : "error";

	if (!strcmp(step, "touch"))
		snprintf(buf, len, "touch: Bus error at offset 0x%lx of the mapping", t->fail_offset);
	else if (!strcmp(step, "shutdown"))
		snprintf(buf, len, "shutdown: pages were left allocated or pinned (reported above)");
	else
		snprintf(buf, len, "%s: %s", step, strerror(-err));
	return buf;
}

void gup_tool_print_time(FILE *out, const char *prefix, uint64_t get_usec, uint64_t put_usec,
			 uint64_t walked, unsigned long size)
{
	char truncated[64] = "";

	if (walked != size)
		snprintf(truncated, sizeof(truncated), ", truncated (size: %lld)", (long long)walked);
	fprintf(out, "%sTime: get:%lld put:%lld us%s\n", prefix, (long long)get_usec,
		(long long)put_usec, truncated);
}

bool gup_tool_mapping_option(int opt, const char *arg, struct gup_tool_request *req)
{
	switch (opt) {
	case 't':
		req->thp = 1;
		return true;
	case 'T':
		req->thp = 0;
		return true;
	case 'S':
		req->map_flags = (req->map_flags & ~MAP_PRIVATE) | MAP_SHARED;
		return true;
	case 'H':
		req->map_flags |= MAP_HUGETLB | MAP_ANONYMOUS;
		return true;
	case 'f':
		req->file = arg;
		return true;
	}
	return false;
}
