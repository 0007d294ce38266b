/*
 * syslog_tls.h — the syslog writer's TLS (RFC 5425) over OpenSSL 3: the
 * `tls = { ... }` keys, the client context, and one TLS session per TCP
 * connection, all without blocking.
 *
 * TLS 1.2 or newer only. With verify (the default) the receiver's chain is
 * checked against ca_file (or the system's store) and its name against
 * server_name (default: host; an address is checked as an IP SAN). A
 * client certificate (cert_file, key_file) is sent when the receiver asks
 * for one. Key material is read by the collector only, when the writer
 * opens.
 *
 * Writes use partial-write mode: each call sends at most one TLS record
 * (SYSLOG_TLS_CHUNK bytes of plaintext). A call that would block leaves
 * that record held by OpenSSL, and the next call must offer the same bytes
 * again (they may have moved in memory): the caller keeps them apart.
 */
#ifndef SHMLOG_SYSLOG_TLS_H
#define SHMLOG_SYSLOG_TLS_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "writer.h"

#define SYSLOG_TLS_PORT_DEFAULT 6514
#define SYSLOG_TLS_CHUNK 16384 /* the largest TLS record's plaintext */

struct syslog_tls_cfg {
	char ca_file[1024];     /* "" : the system's default store */
	char server_name[256];  /* "" : the host key */
	char cert_file[1024];   /* "" : no client certificate */
	char key_file[1024];
	bool verify;
	char where[sizeof(struct diag)]; /* "FILE:LINE: writers.[N].tls", for open's errors */
};

/* After a record was written: the session's plaintext and TLS bytes written so far. */
struct syslog_tls_mark {
	uint64_t plain;
	uint64_t wire;
};

#define SYSLOG_TLS_MARKS 32768 /* records remembered: more than a send buffer holds of the smallest */

struct syslog_tls {
	void *ctx; /* SSL_CTX */
	void *ssl; /* SSL of the connection, NULL when none */
	char server_name[256];
	bool verify;
	struct syslog_tls_mark *marks; /* the last records written, a ring of SYSLOG_TLS_MARKS */
	uint32_t mark_next, n_marks;
};

/*
 * Read the `tls` group of cfg (may be absent) into t; tls is the
 * transport (the group is refused for any other). Returns 0 or -EINVAL
 * with d filled.
 */
int syslog_tls_configure(const config_setting_t *cfg, bool tls, const char *host, struct syslog_tls_cfg *t,
			 struct diag *d);

/* Make the client context (load the CA, the client certificate and key). Returns 0 or -EINVAL with d filled. */
int syslog_tls_open(struct syslog_tls *t, const struct syslog_tls_cfg *cfg, struct diag *d);

/* A new session over the connected socket fd. Returns 0 or -ENOMEM. */
int syslog_tls_begin(struct syslog_tls *t, int fd);

/*
 * Move the handshake on. Returns 1 when it is done, 0 while it waits for
 * the socket, -EPROTO (or -errno) with why filled (one line) on failure.
 */
int syslog_tls_handshake(struct syslog_tls *t, char *why, size_t size);

/*
 * Write at most SYSLOG_TLS_CHUNK bytes of buf. Returns the bytes written
 * (> 0), 0 when the socket is full (the record is held, see above), or
 * -errno (-EPROTO: a TLS error, -ECONNRESET: the peer closed).
 */
ssize_t syslog_tls_write(struct syslog_tls *t, const char *buf, size_t len);

/*
 * The plaintext bytes, of the records written whole, that may not have
 * reached the receiver when the socket still held wire_unacked bytes of
 * TLS unacknowledged (SIOCOUTQ): those of every record not wholly
 * acknowledged (the receiver cannot read a part of a record). Call it
 * before the session ends.
 */
uint64_t syslog_tls_unacked_plain(const struct syslog_tls *t, uint64_t wire_unacked);

/* Read and discard what the peer sent (session tickets). Returns 0, or -errno when the session ended. */
int syslog_tls_drain(struct syslog_tls *t);

/* End the session: with clean, send close_notify first (without waiting). */
void syslog_tls_end(struct syslog_tls *t, bool clean);

/* Free the context (and a session left). */
void syslog_tls_close(struct syslog_tls *t);

#endif
