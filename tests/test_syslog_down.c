/*
 * test_syslog_down.c — the syslog writer when its receiver goes away: a
 * real rsyslogd killed mid-stream and started again on the same port, while
 * a real producer logs at a steady rate into a real collector that also has
 * a file writer. The file writer must get every record on time; the syslog
 * writer reconnects and delivers in order, without duplicates, losing only
 * what the kill destroyed in the socket buffers (docs/syslog.md). The same
 * over TLS, and a receiver that stalls (over TCP, and over TLS against the
 * test's own OpenSSL server).
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
#define RELP_WINDOW_RECORDS 128 /* collector/syslog_relp.h's RELP_WINDOW: what a reconnect may send again */

/*
 * The records rsyslog received, in order, into seen[]: i of "rec t=0 i=I",
 * plus STREAM_RECORDS for those of the second producer ("prod2"). Asserts
 * no duplicate and no reordering; a notice "N records lost (spool full)"
 * is added to *lost (may be NULL: then there must be none). With dups
 * (RELP), a record sent again after a reconnect (one of the last window
 * before it) is counted there instead.
 */
static long received(struct rsyslog *r, long *seen, long max, long *lost, long *dups)
{
	char *text = rs_output(r), *save = NULL;
	char *end = strrchr(text, '\n'); /* rsyslogd may be writing the last line right now */
	*(end ? end : text) = '\0';
	long n = 0, last = -1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char app[64];
		long k;
		cr_assert_eq(sscanf(l, "%*s %*s %*s %*s %63s", app), 1, "%s", l);
		const char *notice = strstr(l, " [shmlog] ");
		if (notice && strcmp(app, "shmlog-collector") == 0 && lost &&
		    sscanf(notice, " [shmlog] %ld records lost (spool full)|", &k) == 1) {
			*lost += k;
			continue;
		}
		const char *rec = strstr(l, " rec t=0 i=");
		cr_assert_not_null(rec, "not a record: %s", l);
		long i = strtol(rec + strlen(" rec t=0 i="), NULL, 10) + (strcmp(app, "prod2") == 0 ? STREAM_RECORDS : 0);
		if (dups && i <= last && last - i < RELP_WINDOW_RECORDS) {
			++*dups;
			continue;
		}
		cr_assert_gt(i, last, "record %ld after %ld: duplicate or out of order", i, last);
		cr_assert_lt(n, max);
		seen[n++] = last = i;
	}
	free(text);
	return n;
}

/* Wait (bounded) until rsyslog's last record is want (see received()). Returns the records received. */
static long wait_last(struct rsyslog *r, long *seen, long max, long want, long *lost, long *dups)
{
	long n = 0;
	for (long long end = th_now_ms() + 20000; th_now_ms() < end;) {
		if (lost)
			*lost = 0;
		if (dups)
			*dups = 0;
		n = received(r, seen, max, lost, dups);
		if (n && seen[n - 1] == want)
			return n;
		rs_wait_lines(r, n + 1 + (lost && *lost), 200); /* wait for progress, bounded */
	}
	cr_assert_fail("the last record (%ld) did not arrive (%ld received)", want, n);
	return n;
}

/* Start a collector with a syslog writer "central" to r (tcp, or tls to RS_TLS; with keys) and a file writer to file. */
static pid_t start_with(const struct rsyslog *r, const char *keys, const char *file, const char *err)
{
	static const char *const transport[] = {[RS_TCP] = "tcp", [RS_TLS] = "tls", [RS_RELP] = "relp"};
	char tls[700] = "";
	if (r->input == RS_TLS)
		snprintf(tls, sizeof tls, "tls = { ca_file = \"%s/ca.pem\"; };", r->certs);
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"central\"; type = \"syslog\"; transport = \"%s\"; host = \"127.0.0.1\"; port = %u;\n"
			    "    reconnect_min_ms = 50; reconnect_max_ms = 400; %s %s },\n"
			    "  { name = \"local\"; type = \"file\"; path = \"%s\"; }\n"
			    ");\n",
			    transport[r->input], r->port, keys, tls, file);
	pid_t c = start_collector(NULL, err, "--config", cfg);
	free(cfg);
	return c;
}

/*
 * Start producer_prog as name with n records (paced at rate per second,
 * unless NULL) on rings that block: of ring bytes (NULL: the default 1 MiB).
 */
static pid_t produce(const char *name, long n, const char *rate, const char *ring)
{
	char *prod = th_build_path("tests/producer_prog");
	char n_rec[24];
	snprintf(n_rec, sizeof n_rec, "%ld", n);
	char *argv[16] = {prod, "-d", dir, "-n", (char *)name, "-r", n_rec, "-p", "block", "-C"};
	int k = 10;
	if (rate) {
		argv[k++] = "-s";
		argv[k++] = (char *)rate;
	}
	if (ring) {
		argv[k++] = "-R";
		argv[k++] = (char *)ring;
	}
	pid_t p = th_spawn(argv, NULL, NULL, NULL);
	cr_assert_gt(p, 0);
	free(prod);
	return p;
}

/* The file writer's records: every one of the producer (name), in order. */
static void check_file(const char *file, long n)
{
	struct tally ty = {.threads = 1, .records = n};
	tally_output(file, &ty);
	free(ty.last);
	cr_assert_eq(ty.seen, n, "the file writer has every record");
}

/* The skip of a test that needs rsyslogd. */
static void need_rsyslog(void)
{
	if (!rs_available())
		cr_skip_test("rsyslogd is not installed (Debian package rsyslog; ./dev installs it)");
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

/*
 * rsyslogd killed mid-stream and started again DOWN_MS later; keys: the
 * syslog writer's extra keys; over input (RS_TCP, RS_RELP, or RS_TLS with
 * the certificates certs). Returns the records rsyslog lost, *dups those it
 * got twice (NULL: none allowed); the collector's stderr (malloc'd, *said)
 * for the caller's checks.
 */
static long kill_mid_stream(enum rs_input input, const char *keys, const char *ring, const char *certs, long *dups,
			    char **said)
{
	struct rsyslog r;
	if (input == RS_TLS)
		rs_start_tls(&r, work, certs, "server", "anon");
	else
		rs_start(&r, work, input, 0);
	char *file = wpath("local.log"), *err = wpath("collector.err");
	pid_t c = start_with(&r, keys, file, err);
	pid_t p = produce("prod", STREAM_RECORDS, STREAM_RATE, ring);
	cr_assert(rs_wait_lines(&r, 3000, 20000), "rsyslog got the first records");
	rs_kill(&r);
	long long down_at = th_now_ms();
	/* the file writer goes on at the producer's pace while the receiver is down */
	struct file_wait fw = {file, STREAM_RECORDS};
	cr_assert(th_wait_until(file_has_lines, &fw, 10000), "the file writer got every record while rsyslog was down");
	cr_assert_lt(th_now_ms() - down_at, DOWN_MS, "... within the outage");
	cr_assert_eq(th_waitpid_timeout(p, 30000), 0, "the producer ended, never held back");
	th_wait_until(down_long_enough, &down_at, DOWN_MS + 1000);
	rs_restart(&r);

	long *seen = calloc(STREAM_RECORDS, sizeof *seen);
	long n = wait_last(&r, seen, STREAM_RECORDS, STREAM_RECORDS - 1, NULL, dups);
	stop_collector(c);
	check_file(file, STREAM_RECORDS);
	/* what is missing was in flight at the kill: one run */
	long lost = STREAM_RECORDS - n, gap_start = -1;
	for (long k = 0; k < n && gap_start < 0; k++)
		if (seen[k] != k)
			gap_start = k;
	if (lost)
		cr_assert_eq(seen[gap_start], gap_start + lost, "the lost records are one run (at %ld)", gap_start);
	*said = th_read_file(err, NULL);
	cr_assert_eq(count_of(*said, "writer central: receiver 127.0.0.1:"), 2, "one line down, one up: %s", *said);
	cr_assert_eq(count_of(*said, ") went away: "), 1, "%s", *said);
	cr_assert_eq(count_of(*said, ") is back;"), 1, "%s", *said);
	free(seen);
	free(err);
	free(file);
	return lost;
}

/* At most what the socket buffers hold: the receiver's (tcp_rmem's maximum) and ours (4 MiB), in records of >= 100 bytes. */
static long socket_buffer_records(void)
{
	return (tcp_rmem_max() + 4 * 1024 * 1024) / 100;
}

Test(syslog_down, tcp_receiver_killed_and_restarted_mid_stream)
{
	need_rsyslog();
	char *said;
	/* without a spool the records wait in the rings: 1 MiB rings hold the outage's 50,000 */
	long lost = kill_mid_stream(RS_TCP, "", NULL, NULL, NULL, &said);
	cr_assert_leq(lost, socket_buffer_records(), "lost %ld records", lost);
	cr_log_info("tcp, no spool: %ld of %d records lost (in flight at the kill); the collector said: %s", lost,
		    STREAM_RECORDS, said);
	free(said);
}

Test(syslog_down, relp_receiver_killed_and_restarted_loses_nothing)
{
	if (!rs_relp_available())
		cr_skip_test("rsyslogd with RELP is not installed (Debian packages rsyslog, rsyslog-relp; ./dev installs them)");
	char *said;
	long dups = 0;
	/* RELP has no spool: the records wait in the rings (1 MiB holds the outage's 50,000) until acknowledged */
	long lost = kill_mid_stream(RS_RELP, "", NULL, NULL, &dups, &said);
	cr_assert_eq(lost, 0, "RELP loses nothing");
	cr_assert_leq(dups, RELP_WINDOW_RECORDS, "sent again: at most a window");
	cr_log_info("relp: %ld of %d records lost, %ld sent twice; the collector said: %s", lost, STREAM_RECORDS, dups,
		    said);
	free(said);
}

/* The spool's file of the writer "central" holds nothing: every entry was sent (and emptied). */
static void spool_file_empty(const char *spool_file)
{
	char *spooled = th_read_file(spool_file, NULL);
	cr_assert_str_eq(spooled, "", "the spool is empty once sent");
	free(spooled);
}

Test(syslog_down, relp_with_spool_consumes_the_rings_while_down_and_loses_nothing)
{
	if (!rs_relp_available())
		cr_skip_test("rsyslogd with RELP is not installed (Debian packages rsyslog, rsyslog-relp; ./dev installs them)");
	char *spool = wpath("spool"), *spool_file = wpath("spool/central.spool"), keys[600], *said;
	cr_assert_eq(mkdir(spool, 0755), 0);
	snprintf(keys, sizeof keys, "spool_dir = \"%s\";", spool);
	long dups = 0;
	/* 64 KiB rings that block hold ~600 records: the producer keeps its pace only if the rings are consumed */
	long lost = kill_mid_stream(RS_RELP, keys, "65536", NULL, &dups, &said);
	cr_assert_eq(lost, 0, "RELP with a spool loses nothing");
	cr_assert_leq(dups, RELP_WINDOW_RECORDS, "sent again: at most a window");
	cr_log_info("relp, spool: %ld of %d records lost, %ld sent twice; the collector said: %s", lost, STREAM_RECORDS,
		    dups, said);
	spool_file_empty(spool_file);
	free(said);
	free(spool_file);
	free(spool);
}

/* kill_mid_stream with a spool, over TLS with certs (NULL: TCP): the rings are consumed while rsyslog is down. */
static void killed_with_spool(const char *certs)
{
	char *spool = wpath("spool"), *spool_file = wpath("spool/central.spool"), keys[600], *said;
	cr_assert_eq(mkdir(spool, 0755), 0);
	snprintf(keys, sizeof keys, "spool_dir = \"%s\";", spool);
	/* 64 KiB rings that block hold ~600 records: the producer keeps its pace only if the rings are consumed */
	long lost = kill_mid_stream(certs ? RS_TLS : RS_TCP, keys, "65536", certs, NULL, &said);
	cr_assert_leq(lost, socket_buffer_records(), "lost %ld records", lost);
	cr_log_info("%s, spool: %ld of %d records lost (in flight at the kill); the collector said: %s",
		    certs ? "tls" : "tcp", lost, STREAM_RECORDS, said);
	spool_file_empty(spool_file);
	free(said);
	free(spool_file);
	free(spool);
}

Test(syslog_down, tcp_with_spool_consumes_the_rings_while_down)
{
	need_rsyslog();
	killed_with_spool(NULL);
}

Test(syslog_down, tls_with_spool_consumes_the_rings_while_down)
{
	char *certs = rs_make_certs(work);
	killed_with_spool(certs);
	free(certs);
}

/*
 * A receiver down from the start (r: started with input, then killed) and a collector
 * with a spool in spool (created) and more keys, that drains n_rec records
 * of producer "prod" to its file writer file. Returns the collector.
 */
static pid_t run_while_down(struct rsyslog *r, enum rs_input input, const char *spool, const char *more, long n_rec,
			    const char *file, const char *err)
{
	rs_start(r, work, input, 0);
	rs_kill(r);
	char keys[600];
	cr_assert_eq(mkdir(spool, 0755), 0);
	snprintf(keys, sizeof keys, "spool_dir = \"%s\"; %s", spool, more);
	pid_t c = start_with(r, keys, file, err);
	cr_assert_eq(th_waitpid_timeout(produce("prod", n_rec, NULL, NULL), 30000), 0);
	struct file_wait fw = {file, n_rec};
	cr_assert(th_wait_until(file_has_lines, &fw, 10000), "the file writer got every record");
	return c;
}

/* A receiver (of input) down while more is logged than a 64 KiB spool holds: the oldest arrive, then the notice. */
static void spool_full(enum rs_input input)
{
	struct rsyslog r;
	char *spool = wpath("spool"), *file = wpath("local.log"), *err = wpath("collector.err");
	long n_rec = 2000; /* about 220 KB of frames: most cannot be spooled */
	pid_t c = run_while_down(&r, input, spool, "spool_max_bytes = 65536;", n_rec, file, err);
	rs_restart(&r);
	long *seen = calloc((size_t)n_rec, sizeof *seen), lost = 0;
	long n = 0;
	for (long long end = th_now_ms() + 20000; th_now_ms() < end && !lost;) {
		rs_wait_lines(&r, n + 1, 200);
		lost = 0;
		n = received(&r, seen, n_rec, &lost, NULL);
	}
	stop_collector(c);
	check_file(file, n_rec);
	cr_assert_gt(lost, 0, "the notice arrived");
	cr_assert_eq(n + lost, n_rec, "%ld received + %ld told lost", n, lost);
	for (long k = 0; k < n; k++)
		cr_assert_eq(seen[k], k, "the spool keeps the oldest, in order");
	cr_assert_leq(n * 100, 65536);
	cr_log_info("spool of 64 KiB: %ld records kept, %ld told lost", n, lost);
	free(seen);
	free(err);
	free(file);
	free(spool);
}

Test(syslog_down, spool_full_counts_and_tells_the_loss)
{
	need_rsyslog();
	spool_full(RS_TCP);
}

Test(syslog_down, relp_spool_full_counts_and_tells_the_loss)
{
	if (!rs_relp_available())
		cr_skip_test("rsyslogd with RELP is not installed (Debian packages rsyslog, rsyslog-relp; ./dev installs them)");
	spool_full(RS_RELP);
}

/* A collector stopped with its records in the spool (input's receiver down), then started again with it up. */
static void restarted_with_a_spool(enum rs_input input)
{
	struct rsyslog r;
	char *spool = wpath("spool"), *spool_file = wpath("spool/central.spool"), keys[600];
	char *file = wpath("local.log"), *err = wpath("collector.err");
	long n_rec = 500;
	pid_t c = run_while_down(&r, input, spool, "", n_rec, file, err);
	stop_collector(c); /* with every record in the spool */
	size_t spooled = 0;
	char *sp = th_read_file(spool_file, &spooled);
	cr_assert_gt(spooled, (size_t)n_rec * 100, "the spool holds the records");
	free(sp);

	rs_restart(&r);
	char *file2 = wpath("local2.log");
	snprintf(keys, sizeof keys, "spool_dir = \"%s\";", spool);
	c = start_with(&r, keys, file2, err);
	cr_assert_eq(th_waitpid_timeout(produce("prod2", n_rec, NULL, NULL), 30000), 0);
	long *seen = calloc(STREAM_RECORDS + (size_t)n_rec, sizeof *seen);
	long n = wait_last(&r, seen, STREAM_RECORDS + n_rec, STREAM_RECORDS + n_rec - 1, NULL, NULL);
	stop_collector(c);
	cr_assert_eq(n, 2 * n_rec, "every record once");
	for (long k = 0; k < n; k++) /* the first run's, from the spool, then the second's */
		cr_assert_eq(seen[k], k < n_rec ? k : STREAM_RECORDS + k - n_rec);
	sp = th_read_file(spool_file, &spooled);
	cr_assert_eq(spooled, 0, "the spool is empty once sent");
	free(sp);
	free(spool_file);
	free(seen);
	free(file2);
	free(err);
	free(file);
	free(spool);
}

Test(syslog_down, collector_restarted_with_a_spool_sends_it_first)
{
	need_rsyslog();
	restarted_with_a_spool(RS_TCP);
}

Test(syslog_down, relp_collector_restarted_with_a_spool_sends_it_first)
{
	if (!rs_relp_available())
		cr_skip_test("rsyslogd with RELP is not installed (Debian packages rsyslog, rsyslog-relp; ./dev installs them)");
	restarted_with_a_spool(RS_RELP);
}

struct grown {
	const char *path;
	off_t size;
};

/* For th_wait_until: the file is bigger than size. */
static bool grown_past(void *arg)
{
	const struct grown *g = arg;
	struct stat st;
	return stat(g->path, &st) == 0 && st.st_size > g->size;
}

/* A spool whose last entry a crash cut short, then a run that spools more while the receiver is down:
 * the cut entry is cut off at open, so that what follows it is read back whole. */
Test(syslog_down, a_spool_cut_short_by_a_crash_is_cut_back_before_more_is_spooled)
{
	need_rsyslog();
	struct rsyslog r;
	char *spool = wpath("spool"), *spool_file = wpath("spool/central.spool"), keys[600];
	char *file = wpath("local.log"), *err = wpath("collector.err"), *file2 = wpath("local2.log");
	long n_rec = 500;
	stop_collector(run_while_down(&r, RS_TCP, spool, "", n_rec, file, err));
	struct stat st;
	cr_assert_eq(stat(spool_file, &st), 0);
	cr_assert_eq(truncate(spool_file, st.st_size - 40), 0); /* the last entry, as a crash mid-append leaves it */
	snprintf(keys, sizeof keys, "spool_dir = \"%s\";", spool);
	pid_t c = start_with(&r, keys, file2, err); /* the receiver still down */
	cr_assert_eq(th_waitpid_timeout(produce("prod2", n_rec, NULL, NULL), 30000), 0);
	struct grown g = {spool_file, st.st_size + st.st_size / 2};
	cr_assert(th_wait_until(grown_past, &g, 20000), "the second run's records are spooled");
	rs_restart(&r);
	long *seen = calloc(STREAM_RECORDS + (size_t)n_rec, sizeof *seen);
	long n = wait_last(&r, seen, STREAM_RECORDS + n_rec, STREAM_RECORDS + n_rec - 1, NULL, NULL);
	stop_collector(c);
	cr_assert_eq(n, 2 * n_rec - 1, "the first run's whole entries, then every record of the second");
	for (long k = 0; k < n; k++)
		cr_assert_eq(seen[k], k < n_rec - 1 ? k : STREAM_RECORDS + k - (n_rec - 1));
	char *said = th_read_file(err, NULL);
	cr_assert(said && count_of(said, "cut short at offset") == 1 && !count_of(said, "unreadable"), "%s", said);
	free(said);
	free(seen);
	free(file2);
	free(err);
	free(file);
	free(spool_file);
	free(spool);
}

/* A TCP listener on addr (host order) and *port (0: a free one, set), with receive buffer rcvbuf (0: the default). */
static int listen_on(uint32_t addr, unsigned *port, int rcvbuf)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port), .sin_addr.s_addr = htonl(addr)};
	socklen_t len = sizeof a;
	cr_assert(ls >= 0 && (!rcvbuf || setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0));
	cr_assert(bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && listen(ls, 4) == 0 &&
		  getsockname(ls, (struct sockaddr *)&a, &len) == 0);
	*port = ntohs(a.sin_port);
	return ls;
}

/* A TCP listener on 127.0.0.1 with a tiny receive buffer, that nobody reads yet. Returns it; *port its port. */
static int stalled_listener(unsigned *port)
{
	*port = 0;
	return listen_on(INADDR_LOOPBACK, port, 4096);
}

/* The receiving end of a stalled receiver: a socket, and over TLS its session. */
struct receiver {
	int fd;
	SSL *ssl; /* NULL: plain TCP */
};

/* Read what is there (waiting at most 200 ms) into b. Returns the bytes, 0 if none yet; asserts on an end. */
static size_t receive(struct receiver *rv, char *b, size_t cap)
{
	struct pollfd p = {.fd = rv->fd, .events = POLLIN};
	if (!(rv->ssl && SSL_pending(rv->ssl)) && poll(&p, 1, 200) <= 0)
		return 0;
	size_t got = 0;
	if (rv->ssl) {
		int r = SSL_read_ex(rv->ssl, b, cap, &got);
		cr_assert(r == 1 || SSL_get_error(rv->ssl, r) == SSL_ERROR_WANT_READ, "the collector ended the session");
		return got;
	}
	ssize_t n = recv(rv->fd, b, cap, 0);
	cr_assert_gt(n, 0, "the collector closed the connection");
	return (size_t)n;
}

/*
 * Read octet-counted frames until record n - 1 arrived (bounded); asserts
 * they run in order from a first one no later than first_max. Returns the
 * first.
 */
static long read_frames(struct receiver *rv, long first_max, long n)
{
	size_t cap = 1 << 20, have = 0;
	char *b = malloc(cap);
	long next = -1, first = -1;
	for (long long end = th_now_ms() + 30000; next < n && th_now_ms() < end;) {
		have += receive(rv, b + have, cap - have); /* bounded by end */
		char *p0 = b, *sp;
		while (next < n && (sp = memchr(p0, ' ', have - (size_t)(p0 - b)))) {
			size_t flen = strtoul(p0, NULL, 10);
			if ((size_t)(sp + 1 - b) + flen > have)
				break;
			char *rec = memmem(sp + 1, flen, " rec t=0 i=", 11);
			cr_assert_not_null(rec, "a frame that is not a record: %.*s", (int)flen, sp + 1);
			long i = strtol(rec + 11, NULL, 10);
			if (first < 0) {
				cr_assert_leq(i, first_max, "the first record, %ld, comes no later than %ld", i, first_max);
				first = next = i;
			}
			cr_assert_eq(i, next, "record %ld in its place", next);
			next++;
			p0 = sp + 1 + flen;
		}
		memmove(b, p0, have - (size_t)(p0 - b));
		have -= (size_t)(p0 - b);
	}
	cr_assert_eq(next, n, "every record arrived, in order");
	free(b);
	return first;
}

/* Accept the collector's connection on ls (bounded) and, with certs, its TLS handshake (as the test CA's server). */
static struct receiver wake_up(int ls, const char *certs)
{
	struct pollfd p = {.fd = ls, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 20000), 1, "the collector connected");
	struct receiver rv = {.fd = accept(ls, NULL, NULL)};
	cr_assert_geq(rv.fd, 0);
	if (!certs)
		return rv;
	char cert[600], key[600];
	snprintf(cert, sizeof cert, "%s/server.pem", certs);
	snprintf(key, sizeof key, "%s/server.key", certs);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	cr_assert(ctx && SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) == 1 &&
		  SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1);
	struct timeval tv = {.tv_sec = 20}; /* the handshake is bounded too */
	setsockopt(rv.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	rv.ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the session holds it */
	cr_assert(rv.ssl && SSL_set_fd(rv.ssl, rv.fd) == 1 && SSL_accept(rv.ssl) == 1, "the TLS handshake");
	return rv;
}

/*
 * A receiver that reads nothing (over TLS with certs: it takes the
 * handshake first, then reads nothing) while 50,000 records are logged on
 * rings the writer must consume; then it reads them all, in order.
 */
static void stalled_receiver(const char *certs)
{
	struct rsyslog fake = {.input = certs ? RS_TLS : RS_TCP}; /* its port and certificates are used */
	snprintf(fake.certs, sizeof fake.certs, "%s", certs ? certs : "");
	int ls = stalled_listener(&fake.port);
	char *spool = wpath("spool"), keys[600], *file = wpath("local.log"), *err = wpath("collector.err");
	cr_assert_eq(mkdir(spool, 0755), 0);
	snprintf(keys, sizeof keys, "spool_dir = \"%s\";", spool);
	pid_t c = start_with(&fake, keys, file, err);
	long n_rec = 50000; /* 5.5 MB of frames: more than the socket buffers hold */
	/* 64 KiB rings that block: the producer gets through only if the rings are consumed */
	pid_t p = produce("prod", n_rec, certs ? "10000" : NULL, "65536");
	struct receiver rv = {.fd = -1};
	if (certs) /* the handshake while the producer logs */
		rv = wake_up(ls, certs);
	cr_assert_eq(th_waitpid_timeout(p, 30000), 0, "the producer was not held back");
	struct file_wait fw = {file, n_rec};
	cr_assert(th_wait_until(file_has_lines, &fw, 20000), "the file writer got every record");
	if (!certs) /* the receiver wakes up */
		rv = wake_up(ls, NULL);
	read_frames(&rv, 0, n_rec);
	stop_collector(c);
	check_file(file, n_rec);
	SSL_free(rv.ssl);
	close(rv.fd);
	close(ls);
	free(err);
	free(file);
	free(spool);
}

Test(syslog_down, stalled_receiver_never_stalls_the_drain)
{
	stalled_receiver(NULL);
}

Test(syslog_down, stalled_tls_receiver_never_stalls_the_drain)
{
	char *certs = rs_make_certs(work);
	stalled_receiver(certs);
	free(certs);
}

/* Write text to path in place (the same file, so that a bind mount of it sees the change). */
static void rewrite(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

Test(syslog_down, sighup_resolves_the_host_again)
{
	if (access("/usr/bin/unshare", X_OK) != 0 || system("unshare -m true 2>/dev/null") != 0)
		cr_skip_test("no mount namespace to give the collector its own /etc/hosts (unshare -m)");
	unsigned port = 0;
	int l1 = listen_on(INADDR_LOOPBACK, &port, 0), l2 = listen_on(INADDR_LOOPBACK + 1, &port, 0);
	char *hosts = wpath("hosts"), *file = wpath("local.log"), *err = wpath("collector.err");
	rewrite(hosts, "127.0.0.1 central.test\n");
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"central\"; type = \"syslog\"; transport = \"tcp\"; host = \"central.test\"; port = %u; },\n"
			    "  { name = \"local\"; type = \"file\"; path = \"%s\"; }\n"
			    ");\n",
			    port, file);
	char *bin = th_build_path("shmlog-collector");
	/* the collector in a mount namespace of its own, where /etc/hosts is the test's file */
	char *argv[] = {"/usr/bin/unshare", "-m", "/bin/sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
			hosts, bin, "--dir", dir, "--config", cfg, NULL};
	pid_t c = start_collector_argv(argv, NULL, err);
	cr_assert_eq(th_waitpid_timeout(produce("prod", 100, NULL, NULL), 30000), 0);
	struct receiver first = wake_up(l1, NULL);
	read_frames(&first, 0, 100);

	rewrite(hosts, "127.0.0.2 central.test\n");
	kill(c, SIGHUP);
	struct file_needle sw = {err, "writer central: \"central.test\" now resolves to 127.0.0.2 (was 127.0.0.1); reconnecting"};
	cr_assert(th_wait_until(file_says, &sw, 10000), "the new address is said: %s", th_read_file(err, NULL));
	cr_assert_eq(th_waitpid_timeout(produce("prod2", 100, NULL, NULL), 30000), 0);
	struct receiver second = wake_up(l2, NULL);
	read_frames(&second, 0, 100);
	stop_collector(c);
	cr_assert_eq(count_in_file(err, "now resolves to"), 1, "%s", th_read_file(err, NULL));
	cr_assert_eq(count_in_file(err, "receiver"), 0, "a move is no outage: %s", th_read_file(err, NULL));
	close(first.fd);
	close(second.fd);
	close(l1);
	close(l2);
	free(bin);
	free(cfg);
	free(err);
	free(file);
	free(hosts);
}

/* For th_wait_until: the socket *(int *)arg has bytes to read. */
static bool has_input(void *arg)
{
	int n = 0;
	return ioctl(*(int *)arg, FIONREAD, &n) == 0 && n > 0;
}

/*
 * A receiver (over TLS with certs: after the handshake) that reads nothing
 * and is then reset, with 2.2 MB in the collector's send buffer: only what
 * its own buffers held is lost, the rest arrives on the next connection.
 */
static void reset_receiver(const char *certs)
{
	unsigned port;
	int ls = stalled_listener(&port);
	struct rsyslog fake = {.input = certs ? RS_TLS : RS_TCP, .port = port}; /* its port and certificates are used */
	snprintf(fake.certs, sizeof fake.certs, "%s", certs ? certs : "");
	char *file = wpath("local.log"), *err = wpath("collector.err");
	pid_t c = start_with(&fake, "", file, err);
	long n_rec = 20000; /* 2.2 MB of frames: most wait in the collector's socket buffer, unacknowledged */
	pid_t p = produce("prod", n_rec, NULL, NULL);
	struct receiver gone = {.fd = -1};
	if (certs) /* the handshake first: the producer's records are done only once sent */
		gone = wake_up(ls, certs);
	cr_assert_eq(th_waitpid_timeout(p, 30000), 0);
	struct file_wait fw = {file, n_rec};
	cr_assert(th_wait_until(file_has_lines, &fw, 20000), "the file writer got every record");
	if (!certs)
		gone = wake_up(ls, NULL);
	cr_assert(th_wait_until(has_input, &gone.fd, 20000), "the collector sends");
	int held = 0; /* what its socket buffer can hold (the kernel's doubled SO_RCVBUF) */
	socklen_t len = sizeof held;
	cr_assert_eq(getsockopt(gone.fd, SOL_SOCKET, SO_RCVBUF, &held, &len), 0);
	struct linger reset = {.l_onoff = 1, .l_linger = 0};
	setsockopt(gone.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
	SSL_free(gone.ssl); /* without close_notify */
	close(gone.fd); /* the receiver dies with what its socket buffer held: RST */
	/* the writer notices the reset at its next send */
	cr_assert_eq(th_waitpid_timeout(produce("prod2", 1, NULL, NULL), 30000), 0);
	struct receiver again = wake_up(ls, certs);
	/* lost: only what the receiver's buffers held (its socket's; over TLS also a record OpenSSL
	 * had begun), in frames of >= 100 bytes, not what ours held */
	long first = read_frames(&again, (held + (certs ? 16384 + 512 : 0)) / 100, n_rec);
	stop_collector(c);
	char *said = th_read_file(err, NULL);
	cr_assert_eq(count_in_file(err, "were not acknowledged; the frames holding them go again"), 1, "%s", said);
	cr_log_info("%s: a reset with %ld records in the receiver's buffers lost; the collector said: %s",
		    certs ? "tls" : "tcp", first, said);
	free(said);
	SSL_free(again.ssl);
	close(again.fd);
	close(ls);
	free(err);
	free(file);
}

struct said {
	const char *path, *text;
};

/* For th_wait_until: the file says text. */
static bool says(void *arg)
{
	const struct said *w = arg;
	return count_in_file(w->path, w->text) > 0;
}

/* Read frames from rv until prod's record last arrives (bounded): prod's records must run in order from a
 * first no later than first_max; others' frames (prod2's) may come between. */
static void read_prod_until(struct receiver *rv, long first_max, long last)
{
	size_t cap = 1 << 20, have = 0;
	char *b = malloc(cap);
	long next = -1;
	for (long long end = th_now_ms() + 30000; next <= last && th_now_ms() < end;) {
		have += receive(rv, b + have, cap - have);
		char *p0 = b, *sp;
		while ((sp = memchr(p0, ' ', have - (size_t)(p0 - b)))) {
			size_t flen = strtoul(p0, NULL, 10);
			if ((size_t)(sp + 1 - b) + flen > have)
				break;
			char *rec = memmem(sp + 1, flen, " rec t=0 i=", 11);
			long i = rec && memmem(sp + 1, flen, " prod ", 6) ? strtol(rec + 11, NULL, 10) : -1;
			cr_assert(i < 0 || next >= 0 || i <= first_max, "prod's first record, %ld, is no later than %ld", i,
				  first_max);
			cr_assert(i < 0 || next < 0 || i == next, "prod's record %ld in its place (got %ld)", next, i);
			next = i < 0 ? next : i + 1;
			p0 = sp + 1 + flen;
		}
		memmove(b, p0, have - (size_t)(p0 - b));
		have -= (size_t)(p0 - b);
	}
	cr_assert_gt(next, last, "prod's last record arrived (next %ld)", next);
	free(b);
}

/* A reset with the receiver then away, and the collector stopped and started again meanwhile: the
 * frames the reset left to send again (their records done, the rings consumed) were spooled at the
 * stop, and the next run sends them. */
Test(syslog_down, a_stop_after_a_reset_spools_what_was_to_go_again)
{
	unsigned port;
	int ls = stalled_listener(&port);
	struct rsyslog fake = {.input = RS_TCP, .port = port};
	char *spool = wpath("spool"), keys[600], *file = wpath("local.log"), *err = wpath("collector.err");
	char *file2 = wpath("local2.log");
	cr_assert_eq(mkdir(spool, 0755), 0);
	snprintf(keys, sizeof keys, "spool_dir = \"%s\";", spool);
	pid_t c = start_with(&fake, keys, file, err);
	long n_rec = 20000;
	cr_assert_eq(th_waitpid_timeout(produce("prod", n_rec, NULL, NULL), 30000), 0);
	struct file_wait fw = {file, n_rec};
	cr_assert(th_wait_until(file_has_lines, &fw, 20000), "the file writer got every record");
	struct receiver gone = wake_up(ls, NULL);
	cr_assert(th_wait_until(has_input, &gone.fd, 20000), "the collector sends");
	int held = 0;
	socklen_t len = sizeof held;
	cr_assert_eq(getsockopt(gone.fd, SOL_SOCKET, SO_RCVBUF, &held, &len), 0);
	struct linger reset = {.l_onoff = 1, .l_linger = 0};
	setsockopt(gone.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
	close(gone.fd); /* RST */
	close(ls);      /* and the receiver stays away until the restart */
	cr_assert_eq(th_waitpid_timeout(produce("prod2", 1, NULL, NULL), 30000), 0);
	struct said w = {err, "were not acknowledged"};
	cr_assert(th_wait_until(says, &w, 20000), "the reset is noticed");
	stop_collector(c);
	ls = listen_on(INADDR_LOOPBACK, &port, 0);
	c = start_with(&fake, keys, file2, err);
	struct receiver again = wake_up(ls, NULL);
	read_prod_until(&again, held / 100, n_rec - 1);
	stop_collector(c);
	close(again.fd);
	close(ls);
	free(file2);
	free(err);
	free(file);
	free(spool);
}

Test(syslog_down, a_reset_sends_again_what_the_receiver_had_not_acknowledged)
{
	reset_receiver(NULL);
}

Test(syslog_down, a_tls_reset_sends_again_what_the_receiver_had_not_acknowledged)
{
	char *certs = rs_make_certs(work);
	reset_receiver(certs);
	free(certs);
}

/* Over UDP, a receiver's port that refuses (ICMP port unreachable: every other send fails) loses the
 * datagrams, said, and holds nothing back: the producer's flush returns and the file gets every record. */
Test(syslog_down, udp_to_a_closed_port_holds_nothing_back)
{
	char *file = wpath("local.log"), *err = wpath("collector.err"), *out = wpath("producer.out");
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"central\"; type = \"syslog\"; transport = \"udp\"; host = \"127.0.0.1\"; port = %u; },\n"
			    "  { name = \"local\"; type = \"file\"; path = \"%s\"; }\n"
			    ");\n",
			    rs_free_port(SOCK_DGRAM), file); /* nothing listens on it */
	pid_t c = start_collector(NULL, err, "--config", cfg);
	char *args[] = {"-n", "udp", "-r", "3000", "-p", "block", "-f", "10000", "-C", NULL};
	int st = run_producer(out, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(count_in_file(out, "flush=0"), 1, "the producer's flush returns: nothing waits for the UDP writer");
	check_file(file, 3000);
	stop_collector(c);
	cr_assert_geq(count_in_file(err, "was dropped: Connection refused (UDP can lose anything"), 1,
		      "the collector says the datagrams are dropped");
	cr_assert_eq(count_in_file(err, "could not be written"), 0, "no output is left behind");
	free(file);
	free(err);
	free(out);
	free(cfg);
}
