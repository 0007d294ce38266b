/*
 * bench_shmlog.c — the shmlog contender: SHMLOG_INFO into this thread's ring,
 * SHMLOG_FULL_BLOCK (a full ring waits for the collector, nothing is
 * dropped). The collector is a separate process that run.sh starts on the
 * background CPU with a file writer; --out names that file so the harness can
 * count its lines.
 *
 * $BENCH_RING_BYTES overrides the ring size (the instruction count runs use a
 * ring large enough never to fill, as no collector runs under valgrind), and
 * $BENCH_BLOCK_SPIN_US the option block_spin_us (for A/B runs by hand; run.sh
 * leaves it at its default; 0 also means the default, 30 us, and a negative
 * value no spin).
 *
 * The same file compiled as C++17 is the shmlog-c++ contender (the header's
 * C++ fast path, bench/Makefile), compared with C in the instruction counts.
 */
#include <stdio.h>
#include <stdlib.h>

#include <shmlog.h>

#include "bench.h"

#ifdef __cplusplus
const char *const contender_name = "shmlog-c++";
#else
const char *const contender_name = "shmlog";
#endif
static struct shmlog *lg;

int contender_open(const char *out)
{
	(void)out;
	const char *rb = getenv("BENCH_RING_BYTES"), *spin = getenv("BENCH_BLOCK_SPIN_US");
	struct shmlog_options o = {0}; /* set member by member: the same code in C and C++ */
	o.name = "bench";
	o.ring_bytes = rb ? (uint32_t)strtoul(rb, NULL, 0) : 0;
	o.min_level = SHMLOG_LEVEL_INFO;
	o.full_policy = SHMLOG_FULL_BLOCK;
	o.block_timeout_ms = 10000;
	o.block_spin_us = spin ? atoi(spin) : 0;
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "bench shmlog: shmlog_open: error %d\n", -rc);
		return -1;
	}
	return 0;
}

BENCH_LOG_FN log_m1(uint64_t i)
{
	SHMLOG_INFO(lg, BENCH_FMT_M1, (int)i, BENCH_NAME, BENCH_PI);
}

BENCH_LOG_FN log_const(uint64_t i)
{
	(void)i;
	SHMLOG_INFO(lg, BENCH_FMT_CONST);
}

BENCH_LOG_FN log_mixed8(uint64_t i)
{
	SHMLOG_INFO(lg, BENCH_FMT_MIXED8, (int)i, (unsigned)i * 3u, (long)i * 7, (unsigned long long)i << 20, 'x',
		    BENCH_NAME, BENCH_PI, (double)i * 0.5);
}

BENCH_LOG_FN log_str200(uint64_t i)
{
	(void)i;
	SHMLOG_INFO(lg, BENCH_FMT_STR200, BENCH_STR200_TEXT);
}

BENCH_LOG_FN log_m1_args2(uint64_t i)
{
	SHMLOG_INFO(lg, BENCH_FMT_M1_ARGS2, (int)i, BENCH_NAME, BENCH_PI, (int)i + 1, (int)i * 3);
}

BENCH_LOG_FN log_m1_kv2(uint64_t i)
{
	SHMLOG_INFO_KV(lg, ("a", (int)i + 1, "b", (int)i * 3), BENCH_FMT_M1, (int)i, BENCH_NAME, BENCH_PI);
}

BENCH_LOG_FN log_below(uint64_t i)
{
	SHMLOG_DEBUG(lg, BENCH_FMT_M1, (int)i, BENCH_NAME, BENCH_PI);
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
	case BENCH_M1_ARGS2: bench_case(x, log_m1_args2); break;
	case BENCH_M1_KV2: bench_case(x, log_m1_kv2); break;
	}
}

void contender_flush(void)
{
	if (shmlog_flush(lg, 30000) < 0)
		fprintf(stderr, "bench shmlog: shmlog_flush timed out\n");
}

long contender_lost(void)
{
	struct shmlog_stats st;
	if (shmlog_get_stats(lg, &st) < 0)
		return -1;
	return (long)st.lost;
}

void contender_close(int drain)
{
	if (drain)
		shmlog_flush(lg, 10000);
	shmlog_close(lg);
}
