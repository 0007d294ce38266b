/*
 * bench.h — the one timing harness every contender is measured with.
 *
 * A contender (bench_shmlog.c, bench_spdlog.cpp, bench_lttng.c,
 * bench_fprintf.c) implements the five contender_* functions below and, per
 * message kind, one tiny `static void log_xxx(uint64_t i)` that makes one log
 * call. contender_run() passes that function to bench_case(), which is
 * always_inline: the compiler sees a constant function pointer and inlines the
 * log call straight into the timing loop, so no contender pays an indirect
 * call the others do not. Everything else (argument parsing, pinning, TSC
 * calibration, percentiles, waiting for the output file, JSON) lives out of
 * line in harness.c and is identical for all contenders.
 *
 * Modes: burst (calls in groups with a pause between), flood (back to back),
 * cold (each call right after bench_chill()), throughput (untimed loop).
 *
 * Timing: `lfence; rdtsc; lfence` before the call and `rdtscp; lfence` after
 * it, so the call can neither start before the first read nor be still in
 * flight at the second. The cost of the two reads themselves is what the
 * "empty" message measures.
 *
 * This header is compiled as C11 and as C++17 (spdlog).
 */
#ifndef SHMLOG_BENCH_H
#define SHMLOG_BENCH_H

#include <stdint.h>
#include <x86intrin.h>

#ifdef __cplusplus
extern "C" {
#endif

enum bench_mode { BENCH_BURST, BENCH_FLOOD, BENCH_THROUGHPUT, BENCH_COLD, BENCH_INSTR };

/* BENCH_M1_ARGS2 / BENCH_M1_KV2 (shmlog only): message 1 with two more ints, as
 * printf arguments or as two structured fields (SHMLOG_INFO_KV): the cost of fields. */
enum bench_msg { BENCH_M1, BENCH_CONST, BENCH_MIXED8, BENCH_STR200, BENCH_BELOW, BENCH_EMPTY, BENCH_M1_ARGS2, BENCH_M1_KV2 };

/* The message of every kind, printf style (spdlog spells the same text in fmt style). */
#define BENCH_FMT_M1 "value=%d name=%s pi=%f"
#define BENCH_FMT_M1_ARGS2 "value=%d name=%s pi=%f a=%d b=%d"
#define BENCH_FMT_CONST "a constant message with no arguments"
#define BENCH_FMT_MIXED8 "i=%d u=%u l=%ld x=%llx c=%c s=%s d=%f g=%g"
#define BENCH_FMT_STR200 "payload=%s"
#define BENCH_NAME "hello"
#define BENCH_PI 3.14159265358979
/* 200 bytes of payload for BENCH_STR200 */
#define BENCH_STR200_TEXT                                                                          \
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnop" \
	"qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP" \
	"QRSTUVWXYZ0123456789"

struct bench_ctx {
	enum bench_mode mode;
	enum bench_msg msg;
	uint64_t n;        /* measured calls */
	uint64_t warmup;   /* calls before measuring */
	uint32_t burst;    /* BENCH_BURST: calls per burst */
	uint64_t pause_ticks; /* BENCH_BURST: spin between bursts */
	uint64_t *lat;     /* n per-call latencies in TSC ticks */
	uint64_t t_begin, t_loop_end, t_e2e_end; /* BENCH_THROUGHPUT, TSC ticks */
	int drain_failed;  /* the output did not reach the expected line count in time */
};

/* ---- implemented by each contender ---- */
extern const char *const contender_name;
/* Set up the logger writing to out (NULL when the contender writes elsewhere). Returns 0 or -1 (message printed). */
int contender_open(const char *out);
/* Run ctx->mode for ctx->msg: one bench_case() per message kind. */
void contender_run(struct bench_ctx *ctx);
/* Push everything logged so far towards the output (blocking where the logger
 * can). Called untimed between phases, and as the last step of the throughput
 * mode, whose end-to-end time includes it. */
void contender_flush(void);
/* Records the logger itself reports lost, or -1 when it cannot tell. */
long contender_lost(void);
/* Tear down; drain != 0: first wait (bounded) until everything logged is out. */
void contender_close(int drain);

/* ---- provided by harness.c ---- */
/* Account n more records as logged, flush, and wait (bounded) until the output holds all of them. */
void bench_expect(struct bench_ctx *ctx, uint64_t n);
void bench_drain(struct bench_ctx *ctx);
/* BENCH_COLD: leave the calling CPU as an interrupt or a hypervisor gap does
 * (a write sweep larger than its private caches, then a system call, which
 * with page-table isolation and no PCID also empties the TLB). */
void bench_chill(void);

static inline __attribute__((always_inline)) uint64_t bench_tsc_begin(void)
{
	__asm__ __volatile__("" ::: "memory");
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	__asm__ __volatile__("" ::: "memory");
	return t;
}

static inline __attribute__((always_inline)) uint64_t bench_tsc_end(void)
{
	unsigned aux;
	__asm__ __volatile__("" ::: "memory");
	uint64_t t = __rdtscp(&aux);
	_mm_lfence();
	__asm__ __volatile__("" ::: "memory");
	return t;
}

static inline void bench_spin_ticks(uint64_t ticks)
{
	uint64_t end = __rdtsc() + ticks;
	while (__rdtsc() < end)
		_mm_pause();
}

/* Whether a message kind produces an output record. */
static inline int bench_msg_logs(enum bench_msg m)
{
	return m != BENCH_BELOW && m != BENCH_EMPTY;
}

/* A contender's log_xxx(): forced inline, so every contender's call sits in the timing loop itself. */
#define BENCH_LOG_FN static inline __attribute__((always_inline)) void

/* Call i, timed, into x->lat[i]. */
static inline __attribute__((always_inline)) void bench_timed(struct bench_ctx *x, void (*fn)(uint64_t), uint64_t i)
{
	uint64_t t0 = bench_tsc_begin();
	fn(i);
	uint64_t t1 = bench_tsc_end();
	x->lat[i] = t1 - t0;
}

static inline __attribute__((always_inline)) void bench_case(struct bench_ctx *x, void (*fn)(uint64_t))
{
	uint64_t i;
	const uint64_t logs = bench_msg_logs(x->msg) ? 1 : 0;
	switch (x->mode) {
	case BENCH_BURST:
		for (i = 0; i < x->warmup; i++) {
			fn(i);
			if (i % x->burst == x->burst - 1)
				bench_spin_ticks(x->pause_ticks);
		}
		bench_expect(x, x->warmup * logs);
		for (i = 0; i < x->n; i++) {
			bench_timed(x, fn, i);
			if (i % x->burst == x->burst - 1)
				bench_spin_ticks(x->pause_ticks);
		}
		bench_expect(x, x->n * logs);
		break;
	case BENCH_FLOOD:
		for (i = 0; i < x->warmup; i++)
			fn(i);
		for (i = 0; i < x->n; i++)
			bench_timed(x, fn, i);
		bench_expect(x, (x->warmup + x->n) * logs);
		break;
	case BENCH_COLD: /* every timed call is the first one after bench_chill() */
		for (i = 0; i < x->warmup; i++)
			fn(i);
		bench_expect(x, x->warmup * logs);
		for (i = 0; i < x->n; i++) {
			bench_chill();
			bench_timed(x, fn, i);
		}
		bench_expect(x, x->n * logs);
		break;
	case BENCH_THROUGHPUT:
		for (i = 0; i < x->warmup; i++)
			fn(i);
		bench_expect(x, x->warmup * logs);
		x->t_begin = bench_tsc_begin();
		for (i = 0; i < x->n; i++)
			fn(i);
		x->t_loop_end = bench_tsc_end();
		contender_flush();
		bench_expect(x, x->n * logs);
		x->t_e2e_end = bench_tsc_end();
		break;
	case BENCH_INSTR: /* under callgrind: warm-up, then n calls; run.sh differences two n */
		for (i = 0; i < x->warmup; i++)
			fn(i);
		for (i = 0; i < x->n; i++)
			fn(i);
		break;
	}
}

BENCH_LOG_FN bench_empty(uint64_t i)
{
	(void)i;
}

#ifdef __cplusplus
}
#endif

#endif
