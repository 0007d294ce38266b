/*
 * bench_floor.c — the hardware floor, not a logger: what the issue calls "the
 * bare floor" of a log call, measured by the same harness in the same run.
 * A call reads the TSC, stores 32 bytes (the stamp and three argument words)
 * into a 1 MiB ring in this process's memory and release-stores the new
 * write position. Nothing consumes the ring and nothing is formatted or
 * written anywhere, so it has no output and no end-to-end figures.
 *
 * Every other contender's latency is this plus what it does beyond it (a
 * level check, a call-site id, a ring of its own per thread, argument
 * encoding, back-pressure), which makes the floor the honest reference for
 * targets stated in whole timer steps.
 */
#include <stdatomic.h>
#include <string.h>

#include "bench.h"

const char *const contender_name = "floor";

#define FLOOR_RING_BYTES (1u << 20)
static _Alignas(64) unsigned char ring[FLOOR_RING_BYTES];
static _Alignas(64) _Atomic uint64_t tail_pub;
static uint64_t tail;
static _Atomic int threshold = 3; /* INFO: the below-threshold case is a load and a branch */

BENCH_LOG_FN floor_store(uint64_t i)
{
	uint64_t w[4] = {__rdtsc(), i, (uint64_t)(uintptr_t)BENCH_NAME, 0x400921fb54442d18ull};
	memcpy(ring + (tail & (FLOOR_RING_BYTES - 1)), w, sizeof w);
	tail += sizeof w;
	atomic_store_explicit(&tail_pub, tail, memory_order_release);
}

BENCH_LOG_FN log_below(uint64_t i)
{
	if (1 >= atomic_load_explicit(&threshold, memory_order_relaxed))
		floor_store(i);
}

int contender_open(const char *out)
{
	(void)out;
	memset(ring, 0, sizeof ring); /* no first-touch page fault in a timed call */
	return 0;
}

void contender_run(struct bench_ctx *x)
{
	switch (x->msg) {
	case BENCH_BELOW: bench_case(x, log_below); break;
	case BENCH_EMPTY: bench_case(x, bench_empty); break;
	default: bench_case(x, floor_store); break; /* every message costs the same 32 bytes */
	}
}

void contender_flush(void) {}

long contender_lost(void)
{
	return 0;
}

void contender_close(int drain)
{
	(void)drain;
}
