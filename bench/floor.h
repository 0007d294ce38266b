/*
 * floor.h — what the floor programs (iofloor.c, sealfloor.c) share: the
 * process's CPU time and a comparison for qsort, to take medians.
 */
#ifndef SHMLOG_BENCH_FLOOR_H
#define SHMLOG_BENCH_FLOOR_H

#include <sys/resource.h>

/* The process's CPU time so far (user + system), in seconds. */
static inline double floor_cpu_s(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* qsort's comparison of doubles. */
static inline int floor_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#endif
