/*
 * clock.h — record timestamps and their conversion to UTC.
 *
 * A producer stamps records with the TSC when it is usable (the CPU reports
 * constant_tsc and nonstop_tsc, and $SHMLOG_CLOCK is not "realtime"), else
 * with CLOCK_REALTIME nanoseconds. TSC ticks are converted with a calibration
 * (anchor tick, anchor UTC ns, ns-per-tick in 32.32 fixed point). The
 * producer writes a short calibration at segment creation; the collector,
 * which lives long, keeps a precise one (re-anchored every second, frequency
 * measured over its whole life) and writes it back into each segment it
 * serves, so that a post-mortem reader converts with the best one available.
 */
#ifndef SHMLOG_CLOCK_H
#define SHMLOG_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

#include "abi.h"

struct clock_calib {
	uint64_t tsc;  /* anchor tick */
	uint64_t ns;   /* UTC ns at the anchor */
	uint64_t mult; /* ns per tick, 32.32 fixed point */
};

static inline uint64_t clock_tsc(void)
{
	return __rdtsc();
}

static inline uint64_t clock_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether records should be stamped with the TSC on this machine. */
bool clock_tsc_usable(void);

/*
 * Measure the TSC against CLOCK_REALTIME over about ms milliseconds (the
 * thread sleeps meanwhile). Returns 0, or -EINVAL if the TSC did not advance.
 */
int clock_calibrate(struct clock_calib *c, int ms);

/*
 * Re-anchor c at now, with the frequency measured since first (an earlier
 * calibration): the longer the span, the more exact the frequency.
 */
void clock_recalibrate(struct clock_calib *c, const struct clock_calib *first);

/* UTC ns of a tick (ticks before the anchor are handled). */
static inline uint64_t clock_to_ns(const struct clock_calib *c, uint64_t ticks)
{
	if (ticks >= c->tsc)
		return c->ns + (uint64_t)(((unsigned __int128)(ticks - c->tsc) * c->mult) >> 32);
	uint64_t back = (uint64_t)(((unsigned __int128)(c->tsc - ticks) * c->mult) >> 32);
	return back < c->ns ? c->ns - back : 0;
}

/* Publish c in a segment header (seqlock writer; one writer at a time). */
void clock_store(struct shmlog_seg_header *h, const struct clock_calib *c);

/* Read a consistent calibration from a segment header. Returns false if none could be read. */
bool clock_load(const struct shmlog_seg_header *h, struct clock_calib *c);

#endif
