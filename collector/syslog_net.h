/*
 * syslog_net.h — the syslog writer's connection to its receiver: resolve,
 * connect without blocking, notice that the receiver went away, and
 * reconnect with exponential backoff.
 *
 * The address is resolved when the writer opens, and again in the
 * background on SIGHUP (the drain never waits on DNS then). Connecting is non-blocking: a
 * connect in progress is looked at (poll with no timeout) each time the
 * writer has something to send. A stream whose peer has closed is noticed
 * before sending into it (POLLRDHUP), so a receiver that stopped cleanly
 * costs nothing; one that was killed loses what sat in the socket buffers
 * (see docs/syslog.md). Each outage is said once on standard error when it
 * starts and once when the receiver is back, not once per attempt.
 *
 * Over TLS a connected socket goes through the handshake (syslog_tls.c)
 * and a short wait (a receiver refuses a client only after its handshake)
 * before it counts as up; a refused certificate is an outage like any
 * other, said once with OpenSSL's reason.
 */
#ifndef SHMLOG_SYSLOG_NET_H
#define SHMLOG_SYSLOG_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "writer.h"

enum syslog_transport {
	SYSLOG_UDP = 0,
	SYSLOG_TCP = 1,
	SYSLOG_TLS = 2,
	SYSLOG_RELP = 3, /* the connection is librelp's, in its own thread (syslog_relp.c) */
};

enum syslog_conn_state {
	SYSLOG_DOWN = 0,       /* no socket; the next attempt at next_try_ms */
	SYSLOG_CONNECTING = 1, /* a non-blocking connect in progress */
	SYSLOG_UP = 2,
	SYSLOG_HANDSHAKE = 3,  /* TLS: connected, the handshake in progress */
	SYSLOG_SETTLE = 4,     /* TLS: the handshake done; does the receiver keep the connection? */
};

struct syslog_tls;
struct syslog_resolve;

struct syslog_conn {
	enum syslog_transport transport;
	char host[256];
	unsigned port;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;                        /* -1 when down */
	enum syslog_conn_state state;
	uint32_t min_ms, max_ms;       /* reconnect_min_ms, reconnect_max_ms */
	uint32_t backoff_ms;           /* the wait after the next failure */
	long long next_try_ms;         /* collector_now_ms() of the next attempt */
	uint32_t epoch;                /* connections made so far: a partly sent frame is begun again on a new one */
	uint64_t unacked_at_loss;      /* bytes the receiver had not acknowledged when connections were lost, since they were last sent again (a connection lost at once adds 0) */
	struct syslog_tls *tls;        /* TLS: the context and session; NULL for udp and tcp */
	long long handshake_end_ms;    /* TLS: a handshake not done by then is given up */
	long long settle_end_ms;       /* TLS: up at this time if the receiver has not closed by then */
	char why[256];                 /* the reason of the next loss, when more than an errno ("" if none) */
	struct syslog_resolve *resolving; /* SIGHUP's re-resolution in progress, NULL if none */
	bool down_said;                /* the outage was reported; its end will be */
	bool ever_up;
};

/* The transport's name ("udp", "tcp", "tls", "relp"). */
const char *syslog_transport_name(enum syslog_transport t);

/*
 * Resolve c->host and c->port into c->addr (a numeric address or a name,
 * IPv4 or IPv6). Returns 0, or -EINVAL with d->msg (prefixed by where)
 * naming the host.
 */
int syslog_conn_resolve(struct syslog_conn *c, const char *where, struct diag *d);

/*
 * Move the connection on without blocking: start an attempt when it is
 * time, finish one in progress, notice a stream the peer closed. name is the
 * writer's, for the lines on standard error. Returns true when c->fd can
 * be sent to.
 */
bool syslog_conn_ready(struct syslog_conn *c, const char *name);

/* Sending on c failed with err (-errno): close it and schedule the next attempt (said once). */
void syslog_conn_lost(struct syslog_conn *c, const char *name, int err);
/* Bytes sent on c's stream that its peer has not acknowledged (SIOCOUTQ): lost
 * when the connection is. 0 over UDP; -1 unconnected, or when the kernel will not say. */
int syslog_conn_unacked(const struct syslog_conn *c);

/* The receiver is reachable (again): UP, and said if its outage was. */
void syslog_conn_up(struct syslog_conn *c, const char *name);

/* A send went through: the next outage starts its backoff from min_ms again. */
void syslog_conn_sent(struct syslog_conn *c);

/* Close the socket (no notice). */
void syslog_conn_close(struct syslog_conn *c);

/*
 * SIGHUP: resolve the host again without waiting; syslog_conn_ready()
 * takes the answer (a new address: the connection ends cleanly and goes
 * to it). Returns 0 or -errno (-ENOMEM, -EAGAIN: it could not start).
 */
int syslog_conn_reresolve(struct syslog_conn *c);

/* The writer's end: a re-resolution in progress is left to end by itself, the socket closed. */
void syslog_conn_free(struct syslog_conn *c);

#endif
