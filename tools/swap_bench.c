/* SPDX-License-Identifier: MIT */
/*
 * swap_bench: swap-out and swap-in bandwidth beside the host file's own, on one machine in one
 * run (issue 14's bar: swap-out and swap-in reach at least half the host file's sequential
 * write and read bandwidth).
 *
 * It boots a machine with room for SIZE of anonymous memory, turns on a swap area on a host
 * file of SIZE (plus its header page) in DIR, and measures, each the best of ROUNDS:
 *   - host write: pwrite() of SIZE in 1 MiB chunks to another file in DIR (what the host's file
 *     system takes sequentially; no fsync, as swap-out does not sync either);
 *   - host read: pread() of that file back in 1 MiB chunks (from the host's page cache, as the
 *     swap file's reads are);
 *   - swap-out: MADV_PAGEOUT of SIZE of written anonymous memory (slots, unmapping, the block
 *     device's writes with their checksums, the frees);
 *   - swap-in: read faults on every page of it (MADV_POPULATE_READ), each page read back
 *     through the block device.
 * and prints one line per figure and the two ratios:
 *   swap_out_ratio=<swap-out / host write> swap_in_ratio=<swap-in / host read>
 *
 * Usage: swap_bench [-s MiB] [-r ROUNDS] [-d DIR] [-R 5.7|modern] [-h]
 * (default 1024 MiB, 3 rounds, /tmp, the rule set of PINMM_RULES). Exit status 0, or 1 on an
 * error (printed), 2 on bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pinmm/pinmm.h>

#define MiB (1UL << 20)
#define BASE 0x100000000UL

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "swap_bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static double host_write(const char *path, unsigned long size, char *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	double t0;

	if (fd < 0)
		die(path, errno);
	t0 = now();
	for (unsigned long off = 0; off < size; off += MiB)
		if (pwrite(fd, buf, MiB, (off_t)off) != (ssize_t)MiB)
			die("host write", errno);
	t0 = now() - t0;
	close(fd);
	return t0;
}

static double host_read(const char *path, unsigned long size, char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	double t0;

	if (fd < 0)
		die(path, errno);
	t0 = now();
	for (unsigned long off = 0; off < size; off += MiB)
		if (pread(fd, buf, MiB, (off_t)off) != (ssize_t)MiB)
			die("host read", errno);
	t0 = now() - t0;
	close(fd);
	return t0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: swap_bench [-s MiB] [-r ROUNDS] [-d DIR] [-R 5.7|modern] [-h]\n");
}

int main(int argc, char **argv)
{
	unsigned long size = 1024 * MiB, rounds = 3;
	const char *dir = "/tmp";
	double best_w = 1e9, best_r = 1e9, best_out = 1e9, best_in = 1e9;
	struct pinmm_config cfg;
	struct mm_struct *mm;
	char swap_path[256], host_path[256], *buf;
	int opt, fd, ret;

	pinmm_config_default(&cfg);
	while ((opt = getopt(argc, argv, "s:r:d:R:h")) != -1) {
		switch (opt) {
		case 's':
			size = strtoul(optarg, NULL, 10) * MiB;
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'R':
			if (!strcmp(optarg, "5.7"))
				cfg.rules = PINMM_RULES_5_7;
			else if (!strcmp(optarg, "modern"))
				cfg.rules = PINMM_RULES_MODERN;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !size || size % (4 * MiB) || !rounds || rounds > 100) {
		usage(stderr);
		return 2;
	}
	snprintf(swap_path, sizeof(swap_path), "%s/swap_bench-swap-XXXXXX", dir);
	snprintf(host_path, sizeof(host_path), "%s/swap_bench-host-%d", dir, (int)getpid());
	fd = mkstemp(swap_path);
	if (fd < 0 || ftruncate(fd, (off_t)(size + 4096)))
		die(swap_path, errno);
	close(fd);
	buf = malloc(MiB);
	if (!buf)
		die("malloc", ENOMEM);
	memset(buf, 0x5a, MiB);

	cfg.ram_bytes = size + 512 * MiB;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.thp = PINMM_THP_NEVER;
	ret = pinmm_boot(&cfg);
	if (ret)
		die("boot", -ret);
	mm = mm_alloc();
	if (!mm)
		die("mm_alloc", ENOMEM);
	kthread_use_mm(mm);
	ret = swapon(swap_path, 0);
	if (ret)
		die("swapon", -ret);
	for (unsigned long r = 0; r < rounds; r++) {
		double t;

		t = host_write(host_path, size, buf);
		best_w = t < best_w ? t : best_w;
		t = host_read(host_path, size, buf);
		best_r = t < best_r ? t : best_r;
		unlink(host_path);

		if (vm_mmap(NULL, BASE, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0) != BASE)
			die("mmap", ENOMEM);
		ret = do_madvise(mm, BASE, size, MADV_POPULATE_WRITE);
		if (ret)
			die("populate", -ret);
		for (unsigned long off = 0; off < size; off += PAGE_SIZE)
			if (copy_to_user(BASE + off, &off, sizeof(off)))
				die("fill", EFAULT);
		t = now();
		ret = do_madvise(mm, BASE, size, MADV_PAGEOUT);
		t = now() - t;
		if (ret)
			die("MADV_PAGEOUT", -ret);
		best_out = t < best_out ? t : best_out;
		t = now();
		ret = do_madvise(mm, BASE, size, MADV_POPULATE_READ);
		t = now() - t;
		if (ret)
			die("swap-in", -ret);
		best_in = t < best_in ? t : best_in;
		for (unsigned long off = 0; off < size; off += 64 * PAGE_SIZE) {
			unsigned long v = 0;

			if (copy_from_user(&v, BASE + off, sizeof(v)) || v != off)
				die("swap-in contents", EIO);
		}
		vm_munmap(BASE, size);
	}
	printf("size_mib=%lu rounds=%lu rules=%s pswpout=%lu pswpin=%lu\n", size / MiB, rounds,
	       pinmm_rules_name(pinmm_rules()), global_vm_event_count(PSWPOUT),
	       global_vm_event_count(PSWPIN));
	printf("host_write_mib_s=%.0f host_read_mib_s=%.0f swap_out_mib_s=%.0f swap_in_mib_s=%.0f\n",
	       (double)size / MiB / best_w, (double)size / MiB / best_r,
	       (double)size / MiB / best_out, (double)size / MiB / best_in);
	printf("swap_out_ratio=%.2f swap_in_ratio=%.2f\n", best_w / best_out, best_r / best_in);
	swapoff(swap_path);
	unlink(swap_path);
	kthread_unuse_mm(mm);
	mmput(mm);
	free(buf);
	return pinmm_shutdown() ? 1 : 0;
}
