/*
 * slowclock.c — an LD_PRELOAD shim for the collector's instruction count
 * (run.sh --collector-instructions): from the first call on, CLOCK_REALTIME
 * as clock_gettime() reports it runs $BENCH_CLOCK_SLOWDOWN (default 1000)
 * times slower than real time. Every other clock is passed through.
 *
 * Why: the collector cuts an output cycle after BATCH_TIME_NS (300 us) of
 * formatting, on CLOCK_REALTIME, and the next cycle reads the rest again.
 * Under callgrind the collector runs some 50 times slower, so every cycle is
 * cut after its first 256 records: the count then depends on valgrind's
 * speed, not only on the collector's work (before a2df85a each record was
 * gathered about 16 times: 3,565 instructions per record against 1,878;
 * since, the plain count is a few per cent above this one). With the clock
 * slowed beyond valgrind's own slowdown no cycle is cut, and the count is the
 * work per record. run.sh reports the plain count next to this one.
 *
 * In `--once` every record was stamped before the collector started, so a
 * slow "now" holds none of them back (the merge window only waits for
 * records stamped after now - merge_window_us).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static clock_gettime_fn real;
	static uint64_t first_ns, slowdown;
	if (!real) {
		real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
		const char *s = getenv("BENCH_CLOCK_SLOWDOWN");
		slowdown = s && strtoull(s, NULL, 10) > 0 ? strtoull(s, NULL, 10) : 1000;
	}
	int rc = real(id, ts);
	if (rc != 0 || id != CLOCK_REALTIME)
		return rc;
	uint64_t ns = (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
	if (!first_ns)
		first_ns = ns;
	ns = first_ns + (ns - first_ns) / slowdown;
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
	return 0;
}
