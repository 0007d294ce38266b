/*
 * bench_fprintf.c — the baselines: fprintf to a fully buffered file (formatting
 * and the stdio buffer on the calling thread, a write(2) every BUFSIZ bytes),
 * and, for the instruction counts only, snprintf into a stack buffer (the
 * formatting alone). $BENCH_SNPRINTF=1 selects snprintf.
 *
 * The level check of the below-threshold case is a relaxed atomic load and a
 * branch, as in the other loggers, so the compiler cannot hoist it out of the loop.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

const char *const contender_name = "fprintf";
static FILE *f;
static _Atomic int threshold = 3; /* INFO */
static int use_snprintf;
static char sbuf[512];

#define LOG(level, fmt, ...)                                                                   \
	do {                                                                                   \
		if ((level) >= atomic_load_explicit(&threshold, memory_order_relaxed)) {       \
			if (use_snprintf)                                                      \
				snprintf(sbuf, sizeof sbuf, fmt "\n", ##__VA_ARGS__);          \
			else                                                                   \
				fprintf(f, fmt "\n", ##__VA_ARGS__);                           \
		}                                                                              \
	} while (0)

int contender_open(const char *out)
{
	use_snprintf = getenv("BENCH_SNPRINTF") && atoi(getenv("BENCH_SNPRINTF"));
	f = fopen(out ? out : "/dev/null", "w");
	if (!f) {
		perror("bench fprintf: fopen");
		return -1;
	}
	return 0;
}

BENCH_LOG_FN log_m1(uint64_t i)
{
	LOG(3, BENCH_FMT_M1, (int)i, BENCH_NAME, BENCH_PI);
}

BENCH_LOG_FN log_const(uint64_t i)
{
	(void)i;
	LOG(3, BENCH_FMT_CONST);
}

BENCH_LOG_FN log_mixed8(uint64_t i)
{
	LOG(3, BENCH_FMT_MIXED8, (int)i, (unsigned)i * 3u, (long)i * 7, (unsigned long long)i << 20, 'x', BENCH_NAME,
	    BENCH_PI, (double)i * 0.5);
}

BENCH_LOG_FN log_str200(uint64_t i)
{
	(void)i;
	LOG(3, BENCH_FMT_STR200, BENCH_STR200_TEXT);
}

BENCH_LOG_FN log_below(uint64_t i)
{
	LOG(2, BENCH_FMT_M1, (int)i, BENCH_NAME, BENCH_PI);
}

void contender_run(struct bench_ctx *x)
{
	switch (x->msg) {
	case BENCH_M1: bench_case(x, log_m1); break;
	case BENCH_CONST: bench_case(x, log_const); break;
	case BENCH_MIXED8: bench_case(x, log_mixed8); break;
	case BENCH_STR200: bench_case(x, log_str200); break;
	case BENCH_BELOW: bench_case(x, log_below); break;
	case BENCH_EMPTY: bench_case(x, bench_empty); break;
	case BENCH_M1_ARGS2: case BENCH_M1_KV2: break; /* shmlog's field cost only */
	}
}

void contender_flush(void)
{
	fflush(f);
}

long contender_lost(void)
{
	return -1;
}

void contender_close(int drain)
{
	(void)drain;
	fclose(f);
}
