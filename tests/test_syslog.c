/*
 * test_syslog.c — the syslog writer against a real rsyslogd: each transport
 * and framing delivers exactly the records sent, rsyslog parses every header
 * field as sent, the structured data (through mmpstrucdata) holds the
 * original values, and a 10,000-byte message arrives cut, marked and as one
 * message. The same collector's file writer is the reference for the
 * timestamps and the pid. The formatter's rules one by one are in
 * test_syslog_fmt.c; a receiver that goes away is in test_syslog_down.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/e2e_util.h"
#include "tests/helpers.h"
#include "tests/rsyslog_util.h"

static void fini(void)
{
	rs_kill_all();
	teardown();
}

TestSuite(syslog, .init = setup, .fini = fini, .timeout = 120);

#define N_RECORDS 7 /* seed_prog's syslog records */

/* What rsyslog prints for seed_prog's first six records: PRI .. MSG|JSON (timestamp and pid to fill in). */
static const char *const want_lines[] = {
	"135 1 %s testhost seed %d ID1 [fields@32473 q=\"say \\\"hi\\\"\" n=\"-5\"] trace 1"
	"|{ \"rfc5424-sd\": { \"fields@32473\": { \"q\": \"say \\\"hi\\\"\", \"n\": \"-5\" } } }",
	"135 1 %s testhost seed %d ID1 [fields@32473 path=\"C:\\\\dir\\\\\" ok=\"true\"] debug two"
	"|{ \"rfc5424-sd\": { \"fields@32473\": { \"path\": \"C:\\\\dir\\\\\", \"ok\": \"true\" } } }",
	"134 1 %s testhost seed %d ID1 [fields@32473 arr=\"a[1\\]=b\\]\" sp=\"two words\"] info three"
	"|{ \"rfc5424-sd\": { \"fields@32473\": { \"arr\": \"a[1]=b]\", \"sp\": \"two words\" } } }",
	"132 1 %s testhost seed %d ID1 [fields@32473 utf=\"caf\xc3\xa9 \xe2\x9c\x93\" u=\"42\"] warn caf\xc3\xa9"
	"|{ \"rfc5424-sd\": { \"fields@32473\": { \"utf\": \"caf\xc3\xa9 \xe2\x9c\x93\", \"u\": \"42\" } } }",
	"131 1 %s testhost seed %d ID1 - error five|",
	"130 1 %s testhost seed %d ID1 [fields@32473 px=\"1.5\"] critical six"
	"|{ \"rfc5424-sd\": { \"fields@32473\": { \"px\": \"1.5\" } } }",
};

/* The lines of text (modified in place) into lines[0..max). Returns the count. */
static int split_lines(char *text, char **lines, int max)
{
	int n = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	return n;
}

/* Run seed_prog's syslog records through one collector run with the syslog writer (keys) and a file writer. */
static void collect(struct rsyslog *r, const char *transport, const char *keys, const char *file)
{
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"central\"; type = \"syslog\"; transport = \"%s\"; host = \"127.0.0.1\"; port = %u;\n"
			    "    facility = \"local0\"; hostname = \"testhost\"; msgid = \"ID1\"; %s },\n"
			    "  { name = \"local\"; type = \"file\"; path = \"%s\"; }\n"
			    ");\n",
			    transport, r->port, keys, file);
	char *seed = th_build_path("tests/seed_prog"), *bin = th_build_path("shmlog-collector");
	char *seed_argv[] = {seed, dir, "syslog", NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(seed_argv, NULL, NULL, NULL), 20000), 0);
	char *err = wpath("collector.err");
	char *argv[] = {bin, "--dir", dir, "--config", cfg, "--once", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, NULL, err, NULL), 30000);
	char *err_text = th_read_file(err, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "collector: status %d: %s", st, err_text);
	cr_assert_str_eq(err_text, "", "the collector said: %s", err_text);
	free(err_text);
	free(err);
	free(seed);
	free(bin);
	free(cfg);
}

/* The big record's line: one message, whole é characters, the mark, max_bytes at most when sent. */
static void check_big(const char *line, const char *ts, int pid, size_t max_bytes)
{
	char head[128];
	snprintf(head, sizeof head, "134 1 %s testhost seed %d ID1 - ", ts, pid);
	cr_assert(strncmp(line, head, strlen(head)) == 0, "%.200s", line);
	const char *msg = line + strlen(head), *end = strstr(msg, "...[truncated]|");
	cr_assert_not_null(end, "the cut message ends in the mark");
	cr_assert_eq(end[strlen("...[truncated]|")], '\0', "nothing after the mark: %s", end);
	size_t body = (size_t)(end - msg);
	for (size_t i = 0; i < body; i += 2)
		cr_assert(msg[i] == '\xc3' && msg[i + 1] == '\xa9', "a whole character at %zu", i);
	/* as sent: "<134>1 " TS " testhost seed PID ID1 - " MSG */
	char sent_head[128];
	size_t sent = (size_t)snprintf(sent_head, sizeof sent_head, "<134>1 %s testhost seed %d ID1 - ", ts, pid) +
		      body + strlen("...[truncated]");
	cr_assert_leq(sent, max_bytes);
	cr_assert_geq(sent, max_bytes - 1, "cut at max_message_bytes (%zu), not before: %zu", max_bytes, sent);
}

/* Check what r received against the file writer's lines in file. */
static void check_received(struct rsyslog *r, const char *file, size_t max_bytes)
{
	cr_assert(rs_wait_lines(r, N_RECORDS, 20000), "rsyslog got: %s", rs_output(r));
	rs_stop(r); /* flushes; and anything more would be a split message */
	char *got = rs_output(r), *local = th_read_file(file, NULL);
	char *g[N_RECORDS + 2], *l[N_RECORDS + 2];
	cr_assert_eq(split_lines(got, g, N_RECORDS + 2), N_RECORDS, "exactly the records, none split");
	cr_assert_eq(split_lines(local, l, N_RECORDS + 2), N_RECORDS);
	for (int i = 0; i < N_RECORDS; i++) {
		char ts[32], want[1024];
		snprintf(ts, sizeof ts, "%.26sZ", l[i]); /* the file writer's timestamp, at microseconds */
		struct parsed_line pl;
		cr_assert(parse_line(l[i], &pl));
		if (i == N_RECORDS - 1) {
			check_big(g[i], ts, pl.pid, max_bytes);
			continue;
		}
		snprintf(want, sizeof want, want_lines[i], ts, pl.pid);
		cr_assert_str_eq(g[i], want);
	}
	free(got);
	free(local);
}

/* The running rsyslogd r end to end: the collector's syslog writer with keys. */
static void deliver(struct rsyslog *r, const char *transport, const char *keys, size_t max_bytes)
{
	char *file = wpath("local.log");
	collect(r, transport, keys, file);
	check_received(r, file, max_bytes);
	free(file);
}

/* One transport end to end: rsyslogd with input, the collector's syslog writer with keys. */
static void run_transport(enum rs_input input, const char *transport, const char *keys, size_t max_bytes)
{
	if (!rs_available())
		cr_skip_test("rsyslogd is not installed (Debian package rsyslog; ./dev installs it)");
	struct rsyslog r;
	rs_start(&r, work, input, 0);
	deliver(&r, transport, keys, max_bytes);
}

Test(syslog, relp_delivers_every_field)
{
	if (!rs_relp_available())
		cr_skip_test("rsyslogd with RELP is not installed (Debian packages rsyslog, rsyslog-relp; ./dev installs them)");
	struct rsyslog r;
	rs_start(&r, work, RS_RELP, 0);
	deliver(&r, "relp", "", 8096);
}

Test(syslog, tls_delivers_every_field)
{
	char *certs = rs_make_certs(work), keys[1200];
	struct rsyslog r;
	rs_start_tls(&r, work, certs, "server", "anon");
	snprintf(keys, sizeof keys, "tls = { ca_file = \"%s/ca.pem\"; };", certs);
	deliver(&r, "tls", keys, 8096);
	free(certs);
}

Test(syslog, tls_client_certificate_is_accepted_where_required)
{
	char *certs = rs_make_certs(work), keys[1200];
	struct rsyslog r;
	rs_start_tls(&r, work, certs, "server", "x509/name");
	snprintf(keys, sizeof keys, "tls = { ca_file = \"%s/ca.pem\"; server_name = \"receiver.test\"; "
		 "cert_file = \"%s/client.pem\"; key_file = \"%s/client.key\"; };", certs, certs, certs);
	deliver(&r, "tls", keys, 8096);
	free(certs);
}

Test(syslog, tcp_octet_counting_delivers_every_field)
{
	run_transport(RS_TCP, "tcp", "", 8096);
}

Test(syslog, tcp_lf_framing_delivers_every_field)
{
	run_transport(RS_TCP, "tcp", "framing = \"lf\";", 8096);
}

Test(syslog, udp_delivers_every_field)
{
	run_transport(RS_UDP, "udp", "", 2048);
}

Test(syslog, max_message_bytes_cuts_the_message)
{
	run_transport(RS_TCP, "tcp", "max_message_bytes = 1000;", 1000);
}
