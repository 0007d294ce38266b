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
 */
#ifndef SHMLOG_TEST_RSYSLOG_UTIL_H
#define SHMLOG_TEST_RSYSLOG_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

enum rs_input {
	RS_UDP, /* imudp */
	RS_TCP, /* imptcp: octet counting or LF */
};

struct rsyslog {
	char dir[512];  /* its config, pid file, work dir and output */
	char out[600];  /* the output file */
	enum rs_input input;
	unsigned port;
	pid_t pid;      /* 0 when not running */
};

/* Whether rsyslogd is installed; else the test is skipped, saying so. */
bool rs_available(void);

/*
 * Start rsyslogd with one input of kind input in a fresh directory under
 * base, on port (0: a free one), and wait (bounded) until it listens.
 * Asserts on failure.
 */
void rs_start(struct rsyslog *r, const char *base, enum rs_input input, unsigned port);

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
