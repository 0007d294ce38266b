/*
 * test_syslog_tls.c — what the syslog writer's TLS refuses: a receiver
 * whose certificate comes from another CA, or names another host, is
 * refused with one line, and its records stay in the spool until a
 * receiver that passes takes them all; TLS below 1.2 is never offered (the
 * ClientHello, read off a plain listener); a clean stop sends close_notify
 * (openssl s_server -msg as the receiver); a CA file that cannot be read
 * stops the collector with one line naming the key. Delivery over TLS (every
 * field, a client certificate) is in test_syslog.c, a receiver killed
 * mid-stream in test_syslog_down.c.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

TestSuite(syslog_tls, .init = setup, .fini = fini, .timeout = 120);

#define N_REC 100
#define RETRY_MS 1500 /* long enough for several reconnect attempts at 50..400 ms */

/* Start a collector: syslog writer "central" over TLS to port (tls: the group's keys) with a spool, and a file writer. */
static pid_t start_tls(unsigned port, const char *tls, const char *spool, const char *file, const char *err)
{
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"central\"; type = \"syslog\"; transport = \"tls\"; host = \"127.0.0.1\"; port = %u;\n"
			    "    reconnect_min_ms = 50; reconnect_max_ms = 400; spool_dir = \"%s\"; tls = { %s }; },\n"
			    "  { name = \"local\"; type = \"file\"; path = \"%s\"; }\n"
			    ");\n",
			    port, spool, tls, file);
	pid_t c = start_collector(NULL, err, "--config", cfg);
	free(cfg);
	return c;
}

/* Log n records as producer "prod" and wait for them to end. */
static void produce(long n)
{
	char n_rec[24];
	snprintf(n_rec, sizeof n_rec, "%ld", n);
	char *args[] = {"-n", "prod", "-r", n_rec, "-p", "block", NULL};
	cr_assert_eq(run_producer(NULL, args, NULL), 0);
}

/* How many times needle occurs in the file at path, NUL bytes and all (a spool). */
static int count_in_spool(const char *path, const char *needle)
{
	size_t len = 0, n_len = strlen(needle);
	char *t = th_read_file(path, &len);
	int n = 0;
	for (const char *p = t; p && (p = memmem(p, len - (size_t)(p - t), needle, n_len)); p += n_len)
		n++;
	free(t);
	return n;
}

/* For th_wait_until: RETRY_MS have passed since *(long long *)arg. */
static bool retried_long_enough(void *arg)
{
	return th_now_ms() - *(long long *)arg >= RETRY_MS;
}

/*
 * rsyslogd with server's certificate, checking clients by auth; a
 * collector with the tls keys bad must be refused, saying why (reason)
 * once, and keep the records in its spool; a collector with the keys good
 * then delivers them all.
 */
static void refused_then_delivered(const char *server, const char *auth, const char *bad, const char *reason,
				   const char *good)
{
	char *certs = rs_make_certs(work), keys[1600];
	struct rsyslog r;
	rs_start_tls(&r, work, certs, server, auth);
	char *spool = wpath("spool"), *spool_file = wpath("spool/central.spool");
	char *file = wpath("local.log"), *err = wpath("collector.err");
	cr_assert_eq(mkdir(spool, 0755), 0);
	snprintf(keys, sizeof keys, bad, certs, certs, certs);
	pid_t c = start_tls(r.port, keys, spool, file, err);
	produce(N_REC);
	struct file_wait fw = {file, N_REC};
	cr_assert(th_wait_until(file_has_lines, &fw, 10000), "the file writer is not held back");
	struct file_needle sw = {err, reason};
	cr_assert(th_wait_until(file_says, &sw, 10000), "the collector said why: %s", th_read_file(err, NULL));
	long long since = th_now_ms();
	th_wait_until(retried_long_enough, &since, RETRY_MS + 1000); /* a few more attempts */
	stop_collector(c);
	char *said = th_read_file(err, NULL);
	cr_assert_eq(count_in_file(err, "writer central: receiver 127.0.0.1:"), 1, "one line, not one per attempt: %s", said);
	cr_assert_eq(count_in_file(err, reason), 1, "%s", said);
	cr_assert_eq(count_in_spool(spool_file, " rec t=0 i="), N_REC, "every record is in the spool");
	char *got = rs_output(&r);
	cr_assert_str_eq(got, "", "nothing reached the refused receiver");

	snprintf(keys, sizeof keys, good, certs, certs, certs);
	char *file2 = wpath("local2.log");
	c = start_tls(r.port, keys, spool, file2, err);
	cr_assert(rs_wait_lines(&r, N_REC, 20000), "the spooled records arrive: %s", rs_output(&r));
	stop_collector(c);
	cr_log_info("refused with: %s", said);
	free(got);
	free(said);
	free(file2);
	free(err);
	free(file);
	free(spool_file);
	free(spool);
	free(certs);
}

Test(syslog_tls, refuses_a_receiver_certified_by_another_ca)
{
	refused_then_delivered("other", "anon", "ca_file = \"%s/ca.pem\";",
			       "(tls) cannot be reached: TLS: the receiver's certificate is refused: unable to get local "
			       "issuer certificate;",
			       "ca_file = \"%s/otherca.pem\";");
}

Test(syslog_tls, refuses_a_receiver_of_another_name)
{
	refused_then_delivered("server", "anon", "ca_file = \"%s/ca.pem\"; server_name = \"elsewhere.test\";",
			       "(tls) cannot be reached: TLS: the receiver's certificate is refused: hostname mismatch;",
			       "ca_file = \"%s/ca.pem\"; server_name = \"receiver.test\";");
}

Test(syslog_tls, a_receiver_that_requires_a_client_certificate_refuses_none)
{
	refused_then_delivered("server", "x509/name", "ca_file = \"%s/ca.pem\";",
			       "(tls) cannot be reached: TLS: the receiver closed the connection after the handshake",
			       "ca_file = \"%s/ca.pem\"; cert_file = \"%s/client.pem\"; key_file = \"%s/client.key\";");
}

/* A TCP listener on 127.0.0.1 (a free port, *port). */
static int listener(unsigned *port)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	cr_assert(ls >= 0 && bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && listen(ls, 4) == 0 &&
		  getsockname(ls, (struct sockaddr *)&a, &len) == 0);
	*port = ntohs(a.sin_port);
	return ls;
}

/* Read the first TLS record from fd (bounded) into b (room cap). Returns its length with the 5-byte header. */
static size_t read_record(int fd, unsigned char *b, size_t cap)
{
	size_t have = 0, want = 5;
	for (long long end = th_now_ms() + 10000; have < want && th_now_ms() < end;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue; /* bounded by end */
		ssize_t got = recv(fd, b + have, cap - have, 0);
		cr_assert_gt(got, 0, "the collector closed the connection");
		have += (size_t)got;
		if (have >= 5)
			want = 5 + ((size_t)b[3] << 8 | b[4]);
		cr_assert_leq(want, cap);
	}
	cr_assert_geq(have, want, "a whole record arrived");
	return want;
}

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/*
 * The versions a ClientHello (record b of len bytes) offers, into v
 * (room 16): those of its supported_versions extension. Returns the count.
 */
static int offered_versions(const unsigned char *b, size_t len, unsigned *v)
{
	cr_assert(len > 9 && b[0] == 22 && b[5] == 1, "a handshake record holding a ClientHello");
	size_t p = 9 + 2 + 32;       /* record and handshake headers, legacy_version, random */
	p += 1 + b[p];               /* session id */
	p += 2 + be16(b + p);        /* cipher suites */
	p += 1 + b[p];               /* compression methods */
	size_t end = p + 2 + be16(b + p);
	cr_assert_leq(end, len);
	for (p += 2; p + 4 <= end; p += 4 + be16(b + p + 2)) {
		if (be16(b + p) != 43) /* supported_versions */
			continue;
		int n = 0;
		for (size_t k = 0; k < b[p + 4] && n < 16; k += 2)
			v[n++] = be16(b + p + 5 + k);
		return n;
	}
	return 0;
}

Test(syslog_tls, offers_tls_1_2_and_newer_only)
{
	unsigned port;
	int ls = listener(&port);
	char *spool = wpath("spool"), *file = wpath("local.log"), *err = wpath("collector.err");
	cr_assert_eq(mkdir(spool, 0755), 0);
	pid_t c = start_tls(port, "verify = false;", spool, file, err);
	produce(10);
	int cs = accept(ls, NULL, NULL);
	cr_assert_geq(cs, 0);
	unsigned char b[16384 + 5];
	size_t len = read_record(cs, b, sizeof b);
	unsigned v[16];
	int n = offered_versions(b, len, v);
	cr_assert_gt(n, 0, "the ClientHello lists its versions");
	bool has_1_2 = false;
	for (int i = 0; i < n; i++) {
		cr_assert_geq(v[i], 0x0303u, "version 0x%04x is below TLS 1.2", v[i]);
		has_1_2 |= v[i] == 0x0303;
	}
	cr_assert(has_1_2, "TLS 1.2 is offered");
	cr_assert_eq(be16(b + 9), 0x0303u, "legacy_version is TLS 1.2");
	close(cs);
	close(ls);
	stop_collector(c);
	free(err);
	free(file);
	free(spool);
}

Test(syslog_tls, a_ca_file_it_cannot_read_stops_the_collector_with_one_line)
{
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"central\"; type = \"syslog\"; transport = \"tls\"; host = \"127.0.0.1\";\n"
			    "    tls = { ca_file = \"%s/missing.pem\"; }; }\n"
			    ");\n",
			    work);
	char *bin = th_build_path("shmlog-collector"), *err = wpath("collector.err");
	char *argv[] = {bin, "--dir", dir, "--config", cfg, "--once", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, NULL, err, NULL), 30000);
	char *said = th_read_file(err, NULL), want[1200];
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "a non-zero exit: %d", st);
	snprintf(want, sizeof want, "%s:3: writers.[0].tls.ca_file: cannot use %s/missing.pem: ", cfg, work);
	cr_assert(strstr(said, want), "%s", said);
	cr_assert_eq(count_in_file(err, "\n"), 1, "one line: %s", said);
	free(said);
	free(err);
	free(bin);
	free(cfg);
}

/* For th_wait_until: openssl s_server's log (arg) says where it listens. */
static bool listening(void *log)
{
	return count_in_file(log, "ACCEPT 127.0.0.1:") > 0;
}

/* For th_wait_until: the receiver's log holds N_REC records. */
static bool all_received(void *log)
{
	return count_in_file(log, " rec t=0 i=") >= N_REC;
}

/* The line of text that came from the peer (openssl -msg: "<<< ...") and holds what; NULL if none. */
static const char *received_line(const char *text, const char *what)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *nl = strchr(l, '\n'), *w = strstr(l, what);
		if (strncmp(l, "<<< ", 4) == 0 && w && (!nl || w < nl))
			return l;
	}
	return NULL;
}

Test(syslog_tls, a_clean_stop_ends_the_session_with_close_notify)
{
	/* openssl s_server shows every TLS message it receives (-msg): the receiver here */
	char *certs = rs_make_certs(work), *cert = NULL, *key = NULL, *log = wpath("s_server.log");
	cr_assert(asprintf(&cert, "%s/server.pem", certs) > 0 && asprintf(&key, "%s/server.key", certs) > 0);
	char *argv[] = {"/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key,
			"-naccept", "1", "-ign_eof", "-msg", NULL};
	pid_t s = th_spawn(argv, log, log, NULL);
	cr_assert(th_wait_until(listening, log, 20000), "openssl s_server does not listen: %s", th_read_file(log, NULL));
	char *text = th_read_file(log, NULL), keys[600];
	unsigned port = (unsigned)atoi(strstr(text, "ACCEPT 127.0.0.1:") + strlen("ACCEPT 127.0.0.1:"));
	free(text);
	snprintf(keys, sizeof keys, "ca_file = \"%s/ca.pem\";", certs);
	char *spool = wpath("spool"), *file = wpath("local.log"), *err = wpath("collector.err");
	cr_assert_eq(mkdir(spool, 0755), 0);
	pid_t c = start_tls(port, keys, spool, file, err);
	produce(N_REC);
	cr_assert(th_wait_until(all_received, log, 20000), "the records do not reach the receiver");
	stop_collector(c);
	cr_assert_neq(th_waitpid_timeout(s, 20000), -1, "s_server ends with its one connection");
	text = th_read_file(log, NULL);
	cr_assert(received_line(text, "Alert") && received_line(text, "close_notify"),
		  "the session ends with TLS's close_notify, not a bare EOF: %s", text);
	free(text);
	free(spool);
	free(file);
	free(err);
	free(log);
	free(cert);
	free(key);
	free(certs);
}
