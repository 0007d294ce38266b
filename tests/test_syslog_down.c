/*
 * test_syslog_down.c — the syslog writer when its receiver goes away: a
 * real rsyslogd killed mid-stream and started again on the same port, while
 * a real producer logs at a steady rate into a real collector that also has
 * a file writer. The file writer must get every record on time; the syslog
 * writer reconnects and delivers in order, without duplicates, losing only
 * what the kill destroyed in the socket buffers (docs/syslog.md).
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e_util.h"
#include "tests/helpers.h"
#include "tests/rsyslog_util.h"

static void fini(void)
{
	rs_kill_all();
	teardown();
}

TestSuite(syslog_down, .init = setup, .fini = fini, .timeout = 120);

#define STREAM_RECORDS 20000
#define STREAM_RATE "10000" /* records per second */
#define DOWN_MS 5000

/* The records (i of "rec t=0 i=I") rsyslog received, in order, into seen[]; asserts no duplicate or reordering. */
static long received(struct rsyslog *r, long *seen, long max)
{
	char *text = rs_output(r), *save = NULL;
	long n = 0, last = -1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *rec = strstr(l, " rec t=0 i=");
		cr_assert_not_null(rec, "not a record: %s", l);
		long i = strtol(rec + strlen(" rec t=0 i="), NULL, 10);
		cr_assert_gt(i, last, "record %ld after %ld: duplicate or out of order", i, last);
		cr_assert_lt(n, max);
		seen[n++] = last = i;
	}
	free(text);
	return n;
}

/* How many times needle occurs in text. */
static int count_of(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* For th_wait_until: DOWN_MS have passed since *(long long *)arg. */
static bool down_long_enough(void *arg)
{
	return th_now_ms() - *(long long *)arg >= DOWN_MS;
}

/* A loopback socket's largest receive buffer (the kernel's tcp_rmem maximum): what a killed receiver can take with it. */
static long tcp_rmem_max(void)
{
	char *t = th_read_file("/proc/sys/net/ipv4/tcp_rmem", NULL);
	cr_assert_not_null(t);
	long lo, def, max;
	cr_assert_eq(sscanf(t, "%ld %ld %ld", &lo, &def, &max), 3);
	free(t);
	return max;
}

Test(syslog_down, tcp_receiver_killed_and_restarted_mid_stream)
{
	if (!rs_available())
		cr_skip_test("rsyslogd is not installed (Debian package rsyslog; ./dev installs it)");
	struct rsyslog r;
	rs_start(&r, work, RS_TCP, 0);
	char *file = wpath("local.log"), *err = wpath("collector.err");
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"central\"; type = \"syslog\"; transport = \"tcp\"; host = \"127.0.0.1\"; port = %u;\n"
			    "    reconnect_min_ms = 50; reconnect_max_ms = 400; },\n"
			    "  { name = \"local\"; type = \"file\"; path = \"%s\"; }\n"
			    ");\n",
			    r.port, file);
	pid_t c = start_collector(NULL, err, "--config", cfg);
	char *prod = th_build_path("tests/producer_prog");
	char n_rec[16];
	snprintf(n_rec, sizeof n_rec, "%d", STREAM_RECORDS);
	char *pargv[] = {prod, "-d", dir, "-r", n_rec, "-s", STREAM_RATE, "-p", "block", "-C", NULL};
	pid_t p = th_spawn(pargv, NULL, NULL, NULL);

	cr_assert(rs_wait_lines(&r, 3000, 20000), "rsyslog got the first records");
	rs_kill(&r);
	long long down_at = th_now_ms();
	/* the file writer goes on at the producer's pace while the receiver is down */
	struct file_wait fw = {file, STREAM_RECORDS};
	cr_assert(th_wait_until(file_has_lines, &fw, 10000), "the file writer got every record while rsyslog was down");
	cr_assert_lt(th_now_ms() - down_at, DOWN_MS, "... within the outage");
	th_wait_until(down_long_enough, &down_at, DOWN_MS + 1000);
	rs_restart(&r);

	cr_assert_eq(th_waitpid_timeout(p, 30000), 0, "the producer ended");
	long *seen = calloc(STREAM_RECORDS, sizeof *seen);
	long want_min = STREAM_RECORDS / 2; /* only socket buffers can be lost; checked exactly below */
	cr_assert(rs_wait_lines(&r, want_min, 20000), "rsyslog got the rest after its restart");
	/* the end of the stream is the last record: wait for it, then count */
	long n = 0;
	for (long long end = th_now_ms() + 20000; th_now_ms() < end;) {
		n = received(&r, seen, STREAM_RECORDS);
		if (n && seen[n - 1] == STREAM_RECORDS - 1)
			break;
		rs_wait_lines(&r, n + 1, 200); /* wait for progress, bounded */
	}
	cr_assert(n > 0 && seen[n - 1] == STREAM_RECORDS - 1, "the last record arrived (%ld received)", n);
	stop_collector(c);

	struct tally ty = {.threads = 1, .records = STREAM_RECORDS};
	tally_output(file, &ty);
	cr_assert_eq(ty.seen, STREAM_RECORDS, "the file writer has every record");
	/* what is missing was in flight at the kill: one gap, no more bytes than the socket buffers hold */
	long lost = STREAM_RECORDS - n, gap_start = -1;
	for (long k = 0; k < n && gap_start < 0; k++)
		if (seen[k] != k)
			gap_start = k;
	if (lost)
		cr_assert_eq(seen[gap_start], gap_start + lost, "the lost records are one run (at %ld)", gap_start);
	long bound = tcp_rmem_max() + 4 * 1024 * 1024; /* the receiver's buffer and our send buffer */
	cr_assert_leq(lost * 120, bound, "lost %ld records", lost);
	char *err_text = th_read_file(err, NULL);
	cr_assert_eq(count_of(err_text, "writer central: receiver 127.0.0.1:"), 2, "one line down, one up: %s", err_text);
	cr_assert_eq(count_of(err_text, ") went away: "), 1, "%s", err_text);
	cr_assert_eq(count_of(err_text, ") is back;"), 1, "%s", err_text);
	cr_log_info("tcp restart: %ld of %d records lost (in flight at the kill); the collector said: %s", lost,
		    STREAM_RECORDS, err_text);
	free(err_text);
	free(seen);
	free(prod);
	free(cfg);
	free(err);
	free(file);
}
