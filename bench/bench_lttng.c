/*
 * bench_lttng.c — the LTTng-UST contender: one tracepoint per message kind
 * (bench_tp.h), recorded by a session that run.sh creates, with a user-space
 * channel in blocking mode (--blocking-timeout=inf, and
 * LTTNG_UST_ALLOW_BLOCKING=1 in our environment) so that, as with the other
 * contenders, a full buffer makes the caller wait instead of discarding.
 *
 * There is no text file to count: the final flush of the throughput mode is
 * `lttng stop SESSION` (which returns once the consumer has written all
 * data), and the loss figure is the discarded-event count lttng prints.
 * $BENCH_LTTNG_SESSION names the session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_tp.h"

const char *const contender_name = "lttng";
static long discarded = -1;

int contender_open(const char *out)
{
	(void)out;
	return 0;
}

BENCH_LOG_FN log_m1(uint64_t i)
{
	tracepoint(bench, m1, (int)i, BENCH_NAME, BENCH_PI);
}

BENCH_LOG_FN log_const(uint64_t i)
{
	(void)i;
	tracepoint(bench, constant);
}

BENCH_LOG_FN log_mixed8(uint64_t i)
{
	tracepoint(bench, mixed8, (int)i, (unsigned)i * 3u, (long)i * 7, (unsigned long long)i << 20, 'x',
		   BENCH_NAME, BENCH_PI, (double)i * 0.5);
}

BENCH_LOG_FN log_str200(uint64_t i)
{
	(void)i;
	tracepoint(bench, str200, BENCH_STR200_TEXT);
}

BENCH_LOG_FN log_below(uint64_t i)
{
	tracepoint(bench, below, (int)i, BENCH_NAME, BENCH_PI);
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

/* `lttng stop` waits until the consumer daemon has written every sub-buffer. */
void contender_flush(void)
{
	const char *s = getenv("BENCH_LTTNG_SESSION");
	if (!s)
		return;
	char cmd[512], line[512];
	snprintf(cmd, sizeof cmd, "timeout 60 lttng stop '%s' 2>&1", s);
	FILE *p = popen(cmd, "r");
	if (!p)
		return;
	discarded = 0;
	while (fgets(line, sizeof line, p)) {
		/* "Warning: 123 events were discarded, please refer to ..." */
		const char *w = strstr(line, "events were discarded");
		if (w) {
			const char *q = line;
			while (*q && (*q < '0' || *q > '9'))
				q++;
			discarded = strtol(q, NULL, 10);
		}
		if (strstr(line, "Error"))
			fprintf(stderr, "bench lttng: %s", line);
	}
	pclose(p);
}

long contender_lost(void)
{
	return discarded;
}

void contender_close(int drain)
{
	(void)drain;
}
