/*
 * rsyslog_util.h — a real rsyslogd for the syslog writer's tests.
 *
 * Each receiver runs in the foreground (-n) with its own config, pid file
 * and work directory under the test's directory, listens on 127.0.0.1 on
 * a free port, and writes every message it receives as one line of
 * RS_LINE_FORMAT to its output file, after mmpstrucdata turned the
 * structured data into JSON:
 *
 *   PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG|JSON
 *
 * Readiness: a TCP input on port 0 writes the port it took to
 * listenPortFileName, which is polled for; imudp cannot, so its port is
 * chosen first, and a restart reuses the port: those are polled until
 * rsyslogd holds them (bind fails with EADDRINUSE).
 *
 * TLS: imtcp with the gtls driver, on certificates the test makes with the
 * openssl CLI (rs_make_certs): a test CA, a server certificate for
 * 127.0.0.1 and receiver.test, a client certificate for client.test, and a
 * second CA with a server certificate of its own (a receiver to refuse).
 */
#ifndef SHMLOG_TEST_RSYSLOG_UTIL_H
#define SHMLOG_TEST_RSYSLOG_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

enum rs_input {
	RS_UDP, /* imudp */
	RS_TCP, /* imptcp: octet counting or LF */
	RS_TLS, /* imtcp over gtls (rsyslog-gnutls) */
	RS_RELP, /* imrelp (rsyslog-relp), writing each message before acknowledging it */
};


struct rsyslog {
	char dir[512];  /* its config, pid file, work dir and output */
	char out[600];  /* the output file */
	enum rs_input input;
	unsigned port;
	pid_t pid;      /* 0 when not running */
	char certs[512]; /* RS_TLS: rs_make_certs's directory */
	const char *server; /* RS_TLS: "server" (of the test CA) or "other" (of the second CA) */
	const char *auth;   /* RS_TLS: "anon", or "x509/name" (a client certificate for client.test required) */
};

/* Whether rsyslogd is installed; else the test is skipped, saying so. */
bool rs_available(void);

/*
 * Start rsyslogd with one input of kind input in a fresh directory under
 * base, on port (0: a free one), and wait (bounded) until it listens.
 * Asserts on failure.
 */
void rs_start(struct rsyslog *r, const char *base, enum rs_input input, unsigned port);

/* Whether rsyslogd can take RELP (rsyslog-relp); else the test is skipped. */
bool rs_relp_available(void);

/* Whether rsyslogd can do TLS (rsyslog-gnutls) and the openssl CLI is there; else the test is skipped. */
bool rs_tls_available(void);

/*
 * Make the test's CAs and certificates in base/certs (ca, server, client,
 * otherca, other: .pem and .key); returns that directory (malloc'd). The
 * test is skipped, saying why, without rs_tls_available().
 */
char *rs_make_certs(const char *base);

/*
 * rs_start for RS_TLS: server's certificate (see struct rsyslog) from certs,
 * clients checked by auth. Asserts on failure.
 */
void rs_start_tls(struct rsyslog *r, const char *base, const char *certs, const char *server, const char *auth);

/* A port of 127.0.0.1 of type (SOCK_DGRAM, SOCK_STREAM) nobody holds now (the kernel handed it out and
 * had it back). Asserts on failure. */
unsigned rs_free_port(int type);

/* Start it again in the same directory, on the same port. Asserts on failure. */
void rs_restart(struct rsyslog *r);

/* SIGTERM (rsyslogd flushes its output) and wait for it. */
void rs_stop(struct rsyslog *r);

/* SIGKILL it and wait for it: what it had not written is gone, and so is a last line it wrote only in part. */
void rs_kill(struct rsyslog *r);

/* SIGKILL every rsyslogd still running (a test's fini, after a failed assertion). */
void rs_kill_all(void);

/* Wait (at most timeout_ms) until its output has at least n lines. Returns whether it did. */
bool rs_wait_lines(struct rsyslog *r, long n, int timeout_ms);

/* Its output file's contents (malloc'd, NUL-terminated; "" if none yet). */
char *rs_output(struct rsyslog *r);

#endif
