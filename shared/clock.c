/*
 * clock.c — TSC detection and calibration (see clock.h).
 */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool clock_tsc_usable(void)
{
	const char *env = getenv("SHMLOG_CLOCK");
	if (env && strcmp(env, "realtime") == 0)
		return false;
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool constant = false, nonstop = false;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		constant = strstr(line, " constant_tsc") != NULL;
		nonstop = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return constant && nonstop;
}

/* One (tick, ns) pair taken as close together as the machine allows. */
static void clock_pair(uint64_t *tsc, uint64_t *ns, clockid_t id)
{
	uint64_t best = UINT64_MAX;
	*tsc = 0;
	*ns = 0;
	for (int i = 0; i < 5; i++) {
		struct timespec ts;
		uint64_t t0 = __rdtsc();
		clock_gettime(id, &ts);
		uint64_t t1 = __rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		}
	}
}

static uint64_t clock_mult(uint64_t dtsc, uint64_t dns)
{
	return (uint64_t)(((unsigned __int128)dns << 32) / dtsc);
}

int clock_calibrate(struct clock_calib *c, int ms)
{
	uint64_t t0, n0, t1, n1, r0, rr;
	clock_pair(&t0, &n0, CLOCK_MONOTONIC_RAW);
	struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&d, NULL);
	clock_pair(&t1, &n1, CLOCK_MONOTONIC_RAW);
	if (t1 <= t0 || n1 <= n0)
		return -EINVAL;
	clock_pair(&r0, &rr, CLOCK_REALTIME);
	c->tsc = r0;
	c->ns = rr;
	c->mult = clock_mult(t1 - t0, n1 - n0);
	return 0;
}

void clock_recalibrate(struct clock_calib *c, const struct clock_calib *first)
{
	uint64_t t, n;
	clock_pair(&t, &n, CLOCK_REALTIME);
	/* frequency over the whole span since first; realtime steps in between
	 * only matter if they are large against the span, so keep the old
	 * multiplier then */
	if (t > first->tsc && n > first->ns) {
		uint64_t m = clock_mult(t - first->tsc, n - first->ns);
		if (m > first->mult - first->mult / 1000 && m < first->mult + first->mult / 1000)
			c->mult = m;
	}
	c->tsc = t;
	c->ns = n;
}

void clock_store(struct shmlog_seg_header *h, const struct clock_calib *c)
{
	uint64_t s = atomic_load_explicit(&h->clock_seq, memory_order_relaxed);
	/* seqlock writer: odd while writing; the release fence orders the odd
	 * value before the data stores (pairs with the reader's acquire fence) */
	atomic_store_explicit(&h->clock_seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&h->clock_tsc, c->tsc, memory_order_relaxed);
	atomic_store_explicit(&h->clock_ns, c->ns, memory_order_relaxed);
	atomic_store_explicit(&h->clock_mult, c->mult, memory_order_relaxed);
	/* release: the data stores happen before the even value (pairs with the reader's first acquire load) */
	atomic_store_explicit(&h->clock_seq, s + 2, memory_order_release);
}

bool clock_load(const struct shmlog_seg_header *h, struct clock_calib *c)
{
	for (int i = 0; i < 1000; i++) {
		/* acquire: pairs with the writer's final release store */
		uint64_t s0 = atomic_load_explicit(&h->clock_seq, memory_order_acquire);
		if (s0 & 1)
			continue;
		c->tsc = atomic_load_explicit(&h->clock_tsc, memory_order_relaxed);
		c->ns = atomic_load_explicit(&h->clock_ns, memory_order_relaxed);
		c->mult = atomic_load_explicit(&h->clock_mult, memory_order_relaxed);
		/* acquire fence: the data loads happen before the re-check (pairs with the writer's release fence) */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&h->clock_seq, memory_order_relaxed) == s0)
			return c->mult != 0;
	}
	return false;
}
