/*
 * iofloor.c — what the kernel alone charges to write log bytes to the file
 * system the end-to-end cases write to, measured in the same bench run.
 *
 *   iofloor DIR [--mb M] [--cpu C] [--runs R]
 *
 * Appends M MiB (default 256) to a new file in DIR in 256 KiB write(2)s (a
 * collector batch is of that order), pinned to CPU C (default 1, the
 * collector's), and reports the CPU time (user + system, getrusage) per byte
 * as one JSON line: the median of R runs (default 3). It then overwrites the
 * same bytes in place, which allocates no page: the difference is what
 * allocating page-cache pages costs. The file is removed.
 *
 * This is a floor for the collector, not its cost: the collector's writes go
 * through io_uring, which on tmpfs hands each one to a kernel worker (a wake-up
 * and a context switch more). report_io.py multiplies it by each case's bytes
 * per record to bound what any collector could reach on this machine.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor.h"

#define CHUNK (256u << 10)

/* One pass of total bytes at fd: appended, or written over offset 0.. (overwrite). Returns CPU ns per byte, or -1. */
static double pass(int fd, const char *buf, size_t total, int overwrite)
{
	double c0 = floor_cpu_s();
	for (size_t done = 0; done < total; done += CHUNK) {
		ssize_t w = overwrite ? pwrite(fd, buf, CHUNK, (off_t)done) : write(fd, buf, CHUNK);
		if (w != (ssize_t)CHUNK)
			return -1;
	}
	return (floor_cpu_s() - c0) * 1e9 / (double)total;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned mb = 256, cpu = 1, runs = 3;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
			cpu = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = (unsigned)atoi(argv[++i]);
		else if (argv[i][0] != '-' && !dir)
			dir = argv[i];
		else
			dir = NULL, i = argc;
	}
	if (!dir || mb < 1 || runs < 1 || runs > 15) {
		fprintf(stderr, "usage: iofloor DIR [--mb M] [--cpu C] [--runs R (1..15)]\n");
		return 2;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
	char path[4096], *buf = malloc(CHUNK);
	snprintf(path, sizeof path, "%s/iofloor.%d", dir, (int)getpid());
	memset(buf, 'x', CHUNK);
	for (size_t i = 99; i < CHUNK; i += 100)
		buf[i] = '\n'; /* lines, as a log holds; the kernel does not care */
	size_t total = (size_t)mb << 20;
	double append[15], over[15];
	for (unsigned r = 0; r < runs; r++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
		int fd2 = open(path, O_WRONLY | O_CLOEXEC);
		append[r] = fd < 0 || fd2 < 0 ? -1 : pass(fd, buf, total, 0);
		over[r] = fd2 < 0 ? -1 : pass(fd2, buf, total, 1);
		if (fd >= 0)
			close(fd);
		if (fd2 >= 0)
			close(fd2);
		unlink(path);
		if (append[r] < 0 || over[r] < 0) {
			fprintf(stderr, "iofloor: writing %s failed\n", path);
			return 1;
		}
	}
	qsort(append, runs, sizeof append[0], floor_cmp_double);
	qsort(over, runs, sizeof over[0], floor_cmp_double);
	printf("{\"scenario\":\"iofloor\",\"dir\":\"%s\",\"mib\":%u,\"runs\":%u,\"append_ns_per_byte\":%.4f,"
	       "\"overwrite_ns_per_byte\":%.4f}\n",
	       dir, mb, runs, append[runs / 2], over[runs / 2]);
	free(buf);
	return 0;
}
