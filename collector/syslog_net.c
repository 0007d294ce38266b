/*
 * syslog_net.c — the syslog writer's socket: non-blocking connect, peer-close
 * detection and reconnection with exponential backoff (see syslog_net.h).
 *
 * States: DOWN -(time for an attempt)-> CONNECTING -(connected)-> UP, and
 * back to DOWN on any failure, with the next attempt backoff_ms later;
 * backoff_ms doubles on each failure up to max_ms and starts again from
 * min_ms once a send went through. A UDP socket connects at once (connect
 * only fixes the peer), so it is UP or DOWN. A TLS connection goes from
 * CONNECTING through HANDSHAKE and SETTLE (conn_settle()) to UP; a handshake
 * that takes longer than SYSLOG_HANDSHAKE_MS is given up like a failed
 * connect.
 *
 * SIGHUP resolves the host again in the background (getaddrinfo in a
 * thread of its own); the answer is looked at each time the connection is
 * moved on. A
 * new address ends the connection cleanly (close_notify, FIN after what
 * was sent) and the next attempt goes to it at once; a failed resolution
 * keeps the old address. Each is said in one line.
 */
#include "syslog_net.h"

#include <errno.h>
#include <netdb.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "syslog_tls.h"

#define SYSLOG_HANDSHAKE_MS 10000
#define SYSLOG_SETTLE_MS 100

const char *syslog_transport_name(enum syslog_transport t)
{
	return t == SYSLOG_UDP ? "udp" : t == SYSLOG_TCP ? "tcp" : t == SYSLOG_TLS ? "tls" : "relp";
}

int syslog_conn_resolve(struct syslog_conn *c, const char *where, struct diag *d)
{
	char port[16];
	snprintf(port, sizeof port, "%u", c->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = c->transport == SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(c->host, port, &hints, &res);
	if (r != 0 || !res) {
		snprintf(d->msg, sizeof d->msg, "%scannot resolve \"%s\": %s", where, c->host,
			 r ? gai_strerror(r) : "no address");
		return -EINVAL;
	}
	memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
	c->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	c->fd = -1;
	c->state = SYSLOG_DOWN;
	c->backoff_ms = c->min_ms;
	c->next_try_ms = 0;
	return 0;
}

void syslog_conn_close(struct syslog_conn *c)
{
	if (c->tls)
		syslog_tls_end(c->tls, false);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = SYSLOG_DOWN;
}

void syslog_conn_up(struct syslog_conn *c, const char *name)
{
	c->state = SYSLOG_UP;
	c->epoch++;
	if (c->down_said)
		collector_warn("writer %s: receiver %s:%u (%s) is back; sending what was held", name, c->host, c->port,
			       syslog_transport_name(c->transport));
	c->down_said = false;
	c->ever_up = true;
}

/*
 * A re-resolution in progress: getaddrinfo in a detached thread of its own
 * (getaddrinfo_a would do, but its internal thread crashes ThreadSanitizer).
 * state says who frees it: the writer once the answer is in, or the thread
 * when the writer left first.
 */
enum { RESOLVE_RUNNING = 0, RESOLVE_DONE = 1, RESOLVE_ABANDONED = 2 };

struct syslog_resolve {
	char host[256], port[16];
	int socktype;
	int err;              /* getaddrinfo's result, read after state is DONE */
	struct addrinfo *res;
	_Atomic int state;
};

static void resolve_free(struct syslog_resolve *r)
{
	if (r->res)
		freeaddrinfo(r->res);
	free(r);
}

static void *resolve_main(void *arg)
{
	struct syslog_resolve *r = arg;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = r->socktype};
	r->err = getaddrinfo(r->host, r->port, &hints, &r->res);
	/* acq_rel: releases err and res to reresolve_check's acquire; acquires syslog_conn_free's ABANDONED */
	if (atomic_exchange_explicit(&r->state, RESOLVE_DONE, memory_order_acq_rel) == RESOLVE_ABANDONED)
		resolve_free(r);
	return NULL;
}

/* The address a (len bytes) as text ("127.0.0.1", "::1") into out. */
static void addr_text(const struct sockaddr_storage *a, socklen_t len, char *out, size_t size)
{
	if (getnameinfo((const struct sockaddr *)a, len, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(out, size, "?");
}

int syslog_conn_reresolve(struct syslog_conn *c)
{
	if (c->resolving)
		return 0; /* the one in progress answers this SIGHUP too */
	struct syslog_resolve *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	snprintf(r->host, sizeof r->host, "%s", c->host);
	snprintf(r->port, sizeof r->port, "%u", c->port);
	r->socktype = c->transport == SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	render_unpinned_attr(&attr); /* not on the loop's CPU only */
	pthread_t th;
	int e = collector_thread(&th, &attr, resolve_main, r);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		free(r);
		return -e;
	}
	c->resolving = r;
	return 0;
}

/* A new address: end the connection cleanly; the next attempt, at once, goes to the new address. */
static void conn_move(struct syslog_conn *c)
{
	bool up = c->fd >= 0 && c->state == SYSLOG_UP;
	if (up && c->tls)
		syslog_tls_end(c->tls, true);
	if (up && c->transport != SYSLOG_UDP)
		shutdown(c->fd, SHUT_WR);
	syslog_conn_close(c);
	c->next_try_ms = 0;
	c->backoff_ms = c->min_ms;
}

/* The answer of a re-resolution, if it came: take a new address (said), keep the old one on a failure (said). */
static void reresolve_check(struct syslog_conn *c, const char *name)
{
	struct syslog_resolve *r = c->resolving;
	/* acquire: pairs with resolve_main's release of err and res */
	if (atomic_load_explicit(&r->state, memory_order_acquire) != RESOLVE_DONE)
		return;
	const struct addrinfo *res = r->err == 0 ? r->res : NULL;
	char was[64], now[64];
	addr_text(&c->addr, c->addr_len, was, sizeof was);
	if (!res) {
		collector_warn("writer %s: cannot resolve \"%s\" again: %s; keeping %s", name, c->host,
			       r->err ? gai_strerror(r->err) : "no address", was);
	} else if (res->ai_addrlen != c->addr_len || memcmp(res->ai_addr, &c->addr, c->addr_len) != 0) {
		memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
		c->addr_len = res->ai_addrlen;
		addr_text(&c->addr, c->addr_len, now, sizeof now);
		collector_warn("writer %s: \"%s\" now resolves to %s (was %s); reconnecting", name, c->host, now, was);
		conn_move(c);
	}
	resolve_free(r);
	c->resolving = NULL;
}

void syslog_conn_free(struct syslog_conn *c)
{
	struct syslog_resolve *r = c->resolving;
	/* acq_rel: pairs with resolve_main's exchange; a thread still resolving frees r itself */
	if (r && atomic_exchange_explicit(&r->state, RESOLVE_ABANDONED, memory_order_acq_rel) == RESOLVE_DONE)
		resolve_free(r);
	c->resolving = NULL;
	syslog_conn_close(c);
}

int syslog_conn_unacked(const struct syslog_conn *c)
{
	int n = 0;
	if (c->transport == SYSLOG_UDP)
		return 0;
	return c->fd >= 0 && ioctl(c->fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

void syslog_conn_lost(struct syslog_conn *c, const char *name, int err)
{
	int unacked = c->state == SYSLOG_UP ? syslog_conn_unacked(c) : 0;
	if (unacked < 0)
		unacked = 0; /* the kernel will not say: the frames begun again are all that goes again */
	if (c->state == SYSLOG_UP) /* over TLS: the plaintext of the records not wholly acknowledged */
		c->unacked_at_loss += c->tls ? syslog_tls_unacked_plain(c->tls, (uint64_t)unacked) : (uint64_t)unacked;
	syslog_conn_close(c);
	if (unacked)
		collector_warn("writer %s: %d bytes sent to %s:%u were not acknowledged; the frames holding them go again "
			       "on the next connection", name, unacked, c->host, c->port);
	if (!c->down_said)
		collector_warn("writer %s: receiver %s:%u (%s) %s: %s; holding its records, reconnecting with backoff",
			       name, c->host, c->port, syslog_transport_name(c->transport),
			       c->ever_up ? "went away" : "cannot be reached", c->why[0] ? c->why : strerror(-err));
	c->why[0] = '\0';
	c->down_said = true;
	c->next_try_ms = collector_now_ms() + c->backoff_ms;
	c->backoff_ms = c->backoff_ms >= c->max_ms / 2 ? c->max_ms : c->backoff_ms * 2;
}

void syslog_conn_sent(struct syslog_conn *c)
{
	c->backoff_ms = c->min_ms;
}

/* How long a TLS connection waits after its handshake: a few round trips, SYSLOG_SETTLE_MS at least. */
static long long settle_ms(const struct syslog_conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	long long ms = getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 ? 4ll * ti.tcpi_rtt / 1000 : 0;
	return ms > SYSLOG_SETTLE_MS ? ms : SYSLOG_SETTLE_MS;
}

/* TLS: move the handshake on; once it is done, on to settling. */
static void conn_handshake(struct syslog_conn *c, const char *name)
{
	int r = syslog_tls_handshake(c->tls, c->why, sizeof c->why);
	if (r == 0 && collector_now_ms() >= c->handshake_end_ms) {
		snprintf(c->why, sizeof c->why, "TLS: no handshake within %d ms", SYSLOG_HANDSHAKE_MS);
		r = -ETIMEDOUT;
	}
	if (r > 0) {
		c->state = SYSLOG_SETTLE;
		c->settle_end_ms = collector_now_ms() + settle_ms(c);
	} else if (r < 0) {
		syslog_conn_lost(c, name, r);
	}
}

/*
 * TLS after the handshake: a receiver that refuses the client (rsyslog's
 * permittedPeer, a missing client certificate) closes only now; nothing
 * is sent until it had the time to, so that no record is lost to it.
 */
static void conn_settle(struct syslog_conn *c, const char *name)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	int r = 0;
	if (poll(&p, 1, 0) > 0)
		r = p.revents & (POLLRDHUP | POLLHUP | POLLERR) ? -ECONNRESET : syslog_tls_drain(c->tls);
	if (r < 0) {
		snprintf(c->why, sizeof c->why, "TLS: the receiver closed the connection after the handshake "
			 "(does it want a client certificate it accepts? tls.cert_file, tls.key_file)");
		syslog_conn_lost(c, name, r);
	} else if (collector_now_ms() >= c->settle_end_ms) {
		syslog_conn_up(c, name);
	}
}

/* The socket is connected: up, or (TLS) on to the handshake. */
static void conn_connected(struct syslog_conn *c, const char *name)
{
	if (!c->tls) {
		syslog_conn_up(c, name);
		return;
	}
	int r = syslog_tls_begin(c->tls, c->fd);
	if (r < 0) {
		syslog_conn_lost(c, name, r);
		return;
	}
	c->state = SYSLOG_HANDSHAKE;
	c->handshake_end_ms = collector_now_ms() + SYSLOG_HANDSHAKE_MS;
	conn_handshake(c, name);
}

/* Start an attempt: a non-blocking socket and connect. */
static void conn_start(struct syslog_conn *c, const char *name)
{
	int type = c->transport == SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
	c->fd = socket(c->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		syslog_conn_lost(c, name, -errno);
		return;
	}
	if (connect(c->fd, (const struct sockaddr *)&c->addr, c->addr_len) == 0)
		conn_connected(c, name);
	else if (errno == EINPROGRESS)
		c->state = SYSLOG_CONNECTING;
	else
		syslog_conn_lost(c, name, -errno);
}

/* A connect in progress: done yet? */
static void conn_finish(struct syslog_conn *c, const char *name)
{
	struct pollfd p = {.fd = c->fd, .events = POLLOUT};
	if (poll(&p, 1, 0) <= 0)
		return;
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err)
		syslog_conn_lost(c, name, -err);
	else
		conn_connected(c, name);
}

/* An established stream: has the peer closed it (or sent something we do not read)? */
static void conn_check_peer(struct syslog_conn *c, const char *name)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		syslog_conn_lost(c, name, err ? -err : -ECONNRESET);
		return;
	}
	if (c->tls) {
		int r = syslog_tls_drain(c->tls);
		if (r < 0)
			syslog_conn_lost(c, name, r);
		return;
	}
	char junk[512]; /* a syslog receiver sends nothing over plain TCP: discard it */
	while (recv(c->fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
		;
}

bool syslog_conn_ready(struct syslog_conn *c, const char *name)
{
	if (c->resolving)
		reresolve_check(c, name);
	if (c->state == SYSLOG_DOWN && collector_now_ms() >= c->next_try_ms)
		conn_start(c, name);
	if (c->state == SYSLOG_CONNECTING)
		conn_finish(c, name);
	else if (c->state == SYSLOG_HANDSHAKE)
		conn_handshake(c, name);
	else if (c->state == SYSLOG_SETTLE)
		conn_settle(c, name);
	if (c->state == SYSLOG_UP && c->transport != SYSLOG_UDP)
		conn_check_peer(c, name);
	return c->state == SYSLOG_UP;
}
