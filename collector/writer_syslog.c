/*
 * writer_syslog.c — the "syslog" writer: RFC 5424 messages to a remote
 * receiver over UDP (RFC 5426) or TCP (RFC 6587).
 *
 * Each record taken becomes one frame: the message (syslog_fmt.c), as one
 * datagram over UDP; over TCP "LEN SP MSG" (octet counting, the default) or
 * the message and an LF (framing = "lf", with control bytes escaped). The
 * frames not yet sent wait in buf, in order, with their lengths in a queue,
 * so that progress is whole records: the records done are those taken minus
 * the frames still held. Sending goes through the core's io_uring batch
 * (uio.c) on a non-blocking socket: a full socket buffer ends the send with
 * what went out, and the rest waits for the next cycle, so a slow receiver
 * never stalls the drain.
 *
 * The receiver going away (syslog_net.c): over TCP the writer is durable:
 * it holds its frames and reconnects with backoff; a frame cut by the reset
 * is sent again whole on the next connection. What it holds counts against
 * backlog_bytes; once that is full the core skips it and its records wait in
 * the rings (docs/output.md). Over UDP nothing is held: a datagram the kernel
 * refuses is dropped and counted.
 */
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector.h"
#include "syslog_fmt.h"
#include "syslog_net.h"

struct syslog_state {
	struct syslog_fmt fmt;
	struct syslog_conn conn;
	bool lf;                 /* framing = "lf" (else octet counting) */
	struct sbuf buf;         /* frames not yet sent, from byte head on */
	size_t head;             /* bytes before the first frame held (sent, not yet compacted away) */
	size_t sent;             /* bytes of the first frame already sent */
	uint32_t *lens;          /* the frames' lengths: lens[first .. first + n) */
	uint32_t first, n, cap;
	struct sbuf one;         /* one message before its octet-count prefix */
	uint64_t lost;           /* UDP datagrams the kernel refused */
	char where[sizeof(struct diag)]; /* "FILE:LINE: KEY: " of the host key, for open's error */
};

static const char *const syslog_keys[] = {
	"transport", "host", "port", "facility", "hostname", "app_name", "msgid", "sd_id", "max_message_bytes",
	"framing", "bom", "reconnect_min_ms", "reconnect_max_ms", "spool_dir", "spool_max_bytes", "tls", NULL};

/* Keys of what is not built yet: refused with a clear line rather than ignored. */
static const char *const syslog_later_keys[] = {"spool_dir", "spool_max_bytes", "tls", NULL};

#define SYSLOG_PORT_DEFAULT 514
#define SYSLOG_UDP_MAX_DEFAULT 2048
#define SYSLOG_STREAM_MAX_DEFAULT 8096
#define SYSLOG_UDP_MAX 65507     /* the largest UDP payload over IPv4 */
#define SYSLOG_STREAM_MAX (1u << 20)
#define SYSLOG_RECONNECT_MIN_MS 100
#define SYSLOG_RECONNECT_MAX_MS 30000
#define SYSLOG_RECONNECT_LIMIT_MS 3600000

/* Read transport into *t. Returns 0 or -EINVAL with d filled. */
static int read_transport(const config_setting_t *cfg, enum syslog_transport *t, struct diag *d)
{
	const char *v = "udp";
	int r = writer_cfg_string(cfg, "transport", &v, d);
	if (r < 0)
		return r;
	config_setting_t *s = config_setting_get_member(cfg, "transport");
	if (strcmp(v, "udp") == 0 || strcmp(v, "tcp") == 0) {
		*t = v[0] == 'u' ? SYSLOG_UDP : SYSLOG_TCP;
		return 0;
	}
	if (strcmp(v, "tls") == 0 || strcmp(v, "relp") == 0)
		writer_diag(d, s, NULL, "\"%s\" is not built yet (known: \"udp\", \"tcp\")", v);
	else
		writer_diag(d, s, NULL, "must be \"udp\" or \"tcp\", not \"%s\"", v);
	return -EINVAL;
}

/*
 * Read the string key into out (room size) if present: 1 to max printable
 * ASCII bytes without spaces (and none of bad). Returns 0 or -EINVAL.
 */
static int read_token(const config_setting_t *cfg, const char *key, size_t max, const char *bad, char *out,
		      size_t size, struct diag *d)
{
	const char *v;
	int r = writer_cfg_string(cfg, key, &v, d);
	if (r <= 0)
		return r;
	size_t n = strlen(v);
	bool ok = n >= 1 && n <= max && n < size;
	for (size_t i = 0; ok && i < n; i++)
		ok = v[i] > 32 && v[i] < 127 && !strchr(bad, v[i]);
	if (!ok) {
		writer_diag(d, config_setting_get_member(cfg, key), NULL,
			    "must be 1 to %zu printable ASCII characters without spaces%s%s", max, *bad ? " or " : "",
			    bad);
		return -EINVAL;
	}
	memcpy(out, v, n + 1);
	return 0;
}

/* Read facility into *f. Returns 0 or -EINVAL with d filled. */
static int read_facility(const config_setting_t *cfg, unsigned *f, struct diag *d)
{
	const char *v;
	int r = writer_cfg_string(cfg, "facility", &v, d);
	if (r <= 0)
		return r;
	int code = syslog_facility_parse(v);
	if (code < 0) {
		writer_diag(d, config_setting_get_member(cfg, "facility"), NULL,
			    "unknown facility \"%s\" (known: kern, user, mail, daemon, auth, syslog, lpr, news, uucp, "
			    "cron, authpriv, ftp, ntp, audit, alert, clock, local0 .. local7)", v);
		return -EINVAL;
	}
	*f = (unsigned)code;
	return 0;
}

/* Read framing (TCP only) into s->lf. Returns 0 or -EINVAL with d filled. */
static int read_framing(const config_setting_t *cfg, struct syslog_state *s, struct diag *d)
{
	const char *v;
	int r = writer_cfg_string(cfg, "framing", &v, d);
	if (r <= 0)
		return r;
	config_setting_t *set = config_setting_get_member(cfg, "framing");
	if (s->conn.transport == SYSLOG_UDP) {
		writer_diag(d, set, NULL, "only for transport \"tcp\" (a datagram is its own frame)");
		return -EINVAL;
	}
	if (strcmp(v, "octet-counting") != 0 && strcmp(v, "lf") != 0) {
		writer_diag(d, set, NULL, "must be \"octet-counting\" or \"lf\", not \"%s\"", v);
		return -EINVAL;
	}
	s->lf = v[0] == 'l';
	s->fmt.escape_lf = s->lf;
	return 0;
}

/* Read the message keys into s->fmt, after its defaults. Returns 0 or -EINVAL. */
static int read_message(const config_setting_t *cfg, struct syslog_state *s, struct diag *d)
{
	struct syslog_fmt *f = &s->fmt;
	f->facility = 1; /* user */
	char host[SYSLOG_HOSTNAME_MAX + 1] = "";
	gethostname(host, sizeof host - 1);
	syslog_header_value(f->hostname, host, strlen(host), SYSLOG_HOSTNAME_MAX);
	strcpy(f->msgid, "-");
	strcpy(f->sd_id, "fields@32473");
	bool udp = s->conn.transport == SYSLOG_UDP;
	uint32_t max = udp ? SYSLOG_UDP_MAX_DEFAULT : SYSLOG_STREAM_MAX_DEFAULT;
	int r;
	if ((r = read_facility(cfg, &f->facility, d)) < 0 ||
	    (r = read_token(cfg, "hostname", SYSLOG_HOSTNAME_MAX, "", f->hostname, sizeof f->hostname, d)) < 0 ||
	    (r = read_token(cfg, "app_name", SYSLOG_APP_NAME_MAX, "", f->app_name, sizeof f->app_name, d)) < 0 ||
	    (r = read_token(cfg, "msgid", SYSLOG_MSGID_MAX, "", f->msgid, sizeof f->msgid, d)) < 0 ||
	    (r = read_token(cfg, "sd_id", SYSLOG_SD_NAME_MAX, "=]\"", f->sd_id, sizeof f->sd_id, d)) < 0 ||
	    (r = writer_cfg_uint(cfg, "max_message_bytes", SYSLOG_MESSAGE_MIN, udp ? SYSLOG_UDP_MAX : SYSLOG_STREAM_MAX,
				 &max, d)) < 0 ||
	    (r = writer_cfg_bool(cfg, "bom", &f->bom, d)) < 0)
		return r;
	f->max_bytes = max;
	return read_framing(cfg, s, d);
}

/* Read host, port and the reconnect keys into s->conn. Returns 0 or -EINVAL. */
static int read_peer(const config_setting_t *cfg, struct syslog_state *s, struct diag *d)
{
	struct syslog_conn *c = &s->conn;
	const char *host = NULL;
	int r = writer_cfg_string(cfg, "host", &host, d);
	if (r < 0)
		return r;
	if (r == 0 || !*host || strlen(host) >= sizeof c->host) {
		writer_diag(d, cfg, "host", r == 0 ? "missing required key" : "must be 1 to %zu bytes long",
			    sizeof c->host - 1);
		return -EINVAL;
	}
	strcpy(c->host, host);
	struct diag where;
	writer_diag(&where, config_setting_get_member(cfg, "host"), NULL, "%s", "");
	snprintf(s->where, sizeof s->where, "%s", where.msg);
	c->port = SYSLOG_PORT_DEFAULT;
	c->min_ms = SYSLOG_RECONNECT_MIN_MS;
	c->max_ms = SYSLOG_RECONNECT_MAX_MS;
	if ((r = writer_cfg_uint(cfg, "port", 1, 65535, &c->port, d)) < 0 ||
	    (r = writer_cfg_uint(cfg, "reconnect_min_ms", 1, SYSLOG_RECONNECT_LIMIT_MS, &c->min_ms, d)) < 0 ||
	    (r = writer_cfg_uint(cfg, "reconnect_max_ms", 1, SYSLOG_RECONNECT_LIMIT_MS, &c->max_ms, d)) < 0)
		return r;
	if (c->max_ms < c->min_ms) {
		writer_diag(d, cfg, "reconnect_max_ms", "must not be below reconnect_min_ms (%u)", c->min_ms);
		return -EINVAL;
	}
	return 0;
}

/* Refuse the keys of what is not built yet. Returns 0 or -EINVAL. */
static int refuse_later_keys(const config_setting_t *cfg, struct diag *d)
{
	for (const char *const *k = syslog_later_keys; *k; k++) {
		config_setting_t *s = config_setting_get_member(cfg, *k);
		if (s) {
			writer_diag(d, s, NULL, "not built yet in this version (docs/syslog.md)");
			return -EINVAL;
		}
	}
	return 0;
}

/* Read every key (nothing is opened). Returns 0, or -errno with d->msg naming the key. */
static int syslog_configure(struct writer *w, const config_setting_t *cfg, struct diag *d)
{
	if (!cfg) {
		snprintf(d->msg, sizeof d->msg, "syslog writer: host: missing required key");
		return -EINVAL;
	}
	struct syslog_state *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(d->msg, sizeof d->msg, "out of memory");
		return -ENOMEM;
	}
	s->conn.fd = -1;
	w->priv = s;
	int r;
	if ((r = refuse_later_keys(cfg, d)) < 0 || (r = read_transport(cfg, &s->conn.transport, d)) < 0 ||
	    (r = read_peer(cfg, s, d)) < 0 || (r = read_message(cfg, s, d)) < 0)
		return r;
	w->durable = s->conn.transport != SYSLOG_UDP;
	return 0;
}

/* Resolve the receiver's address; connecting waits for the first record. Returns 0 or -EINVAL. */
static int syslog_open(struct writer *w, struct diag *d)
{
	struct syslog_state *s = w->priv;
	return syslog_conn_resolve(&s->conn, s->where, d);
}

/* Append a frame length to the queue. Returns 0 or -ENOMEM. */
static int frame_push(struct syslog_state *s, size_t len)
{
	if (s->first + s->n == s->cap) {
		if (s->first > 0) { /* room at the front: move the queue down */
			memmove(s->lens, s->lens + s->first, s->n * sizeof *s->lens);
			s->first = 0;
		} else {
			uint32_t cap = s->cap ? 2 * s->cap : 256;
			uint32_t *l = realloc(s->lens, cap * sizeof *l);
			if (!l)
				return -ENOMEM;
			s->lens = l;
			s->cap = cap;
		}
	}
	s->lens[s->first + s->n++] = (uint32_t)len;
	return 0;
}

/* Append rec's message as one frame of its transport to s->buf. Returns 0 or -ENOMEM (nothing appended). */
static int syslog_add(struct writer *w, struct output_rec *rec)
{
	struct syslog_state *s = w->priv;
	size_t start = s->buf.len;
	if (s->conn.transport == SYSLOG_TCP && !s->lf) {
		sbuf_reset(&s->one);
		size_t n = syslog_fmt_append(&s->one, rec->tr, &s->fmt);
		char prefix[24];
		int p = snprintf(prefix, sizeof prefix, "%zu ", n);
		sbuf_append(&s->buf, prefix, (size_t)p);
		sbuf_append(&s->buf, s->one.data, n);
		if (n == 0 || s->one.oom)
			s->buf.oom = true;
	} else if (syslog_fmt_append(&s->buf, rec->tr, &s->fmt) == 0) {
		s->buf.oom = true;
	} else if (s->lf) {
		sbuf_putc(&s->buf, '\n');
	}
	if (s->buf.oom || frame_push(s, s->buf.len - start) < 0) {
		s->buf.len = start;
		s->buf.oom = false;
		return -ENOMEM;
	}
	return 0;
}

/* What is held, to the socket once it is connected. Returns 1 with *req filled, 0 for nothing (yet). */
static int syslog_prepare(struct writer *w, struct uio_req *req)
{
	struct syslog_state *s = w->priv;
	if (s->n == 0 || !syslog_conn_ready(&s->conn, w->name))
		return 0;
	bool udp = s->conn.transport == SYSLOG_UDP;
	*req = (struct uio_req){.fd = s->conn.fd,
				.buf = s->buf.data + s->head + s->sent,
				.len = s->buf.len - s->head - s->sent,
				.sock = true,
				.dgram = udp ? s->lens + s->first : NULL,
				.n_dgram = udp ? s->n : 0};
	return 1;
}

/* Drop the n_bytes of the first frames from the queue (they are done). */
static void frames_done(struct syslog_state *s, size_t *n_bytes)
{
	while (s->n && s->lens[s->first] <= *n_bytes) {
		*n_bytes -= s->lens[s->first];
		s->head += s->lens[s->first];
		s->first++;
		s->n--;
	}
	if (s->n == 0 || s->head >= s->buf.len / 2) {
		memmove(s->buf.data, s->buf.data + s->head, s->buf.len - s->head);
		s->buf.len -= s->head;
		s->head = 0;
	}
	if (s->n == 0)
		s->first = 0;
}

/* A send failed: over UDP the datagram is dropped and counted, over TCP the connection is lost. */
static void send_failed(struct writer *w, struct syslog_state *s, int err)
{
	if (s->conn.transport == SYSLOG_UDP) {
		size_t one = s->lens[s->first];
		frames_done(s, &one);
		if (s->lost++ == 0 || err != w->last_err)
			collector_warn("writer %s: a datagram to %s:%u was dropped: %s (UDP can lose anything; "
				       "%llu dropped so far)", w->name, s->conn.host, s->conn.port, strerror(-err),
				       (unsigned long long)s->lost);
		return;
	}
	s->sent = 0; /* a frame cut by the reset goes again whole on the next connection */
	syslog_conn_lost(&s->conn, w->name, err);
}

/*
 * req ended: the frames it covered wholly are done; a part of a frame
 * stays (the stream goes on from there). The writer says itself what went
 * wrong (w->last_err keeps the core quiet). Returns the records done since open.
 */
static uint64_t syslog_complete(struct writer *w, const struct uio_req *req)
{
	struct syslog_state *s = w->priv;
	size_t done = s->sent + req->done;
	frames_done(s, &done);
	s->sent = done;
	if (req->err && s->n)
		send_failed(w, s, req->err);
	else if (req->done)
		syslog_conn_sent(&s->conn);
	w->last_err = req->err;
	return w->taken - s->n;
}

static uint64_t syslog_pending(const struct writer *w)
{
	const struct syslog_state *s = w->priv;
	return s->buf.len - s->head;
}

/* A clean end: the stream is shut down (FIN) after what was sent, then closed. */
static void syslog_close(struct writer *w)
{
	struct syslog_state *s = w->priv;
	if (!s)
		return;
	if (s->conn.fd >= 0 && s->conn.state == SYSLOG_UP && s->conn.transport != SYSLOG_UDP)
		shutdown(s->conn.fd, SHUT_WR);
	syslog_conn_close(&s->conn);
	sbuf_free(&s->buf);
	sbuf_free(&s->one);
	free(s->lens);
	free(s);
	w->priv = NULL;
}

const struct writer_ops writer_syslog_ops = {
	.keys = syslog_keys,
	.type = "syslog",
	.configure = syslog_configure,
	.open = syslog_open,
	.add = syslog_add,
	.prepare = syslog_prepare,
	.complete = syslog_complete,
	.pending = syslog_pending,
	.close = syslog_close,
};
