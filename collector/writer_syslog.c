/*
 * writer_syslog.c — the "syslog" writer: RFC 5424 messages to a remote
 * receiver over UDP (RFC 5426), TCP (RFC 6587), TLS (RFC 5425) or RELP
 * (librelp, in its own thread: syslog_relp.c, relp_prepare() below).
 * docs/syslog.md says what it promises; this is how.
 *
 * Each record taken becomes one frame: the message (syslog_fmt.c), as one
 * datagram over UDP; over TCP "LEN SP MSG" (octet counting, the default) or
 * the message and an LF (framing = "lf", with control bytes escaped).
 * Sending goes through the core's io_uring batch (uio.c) on a non-blocking
 * socket: a full socket buffer ends the send with what went out, so a slow
 * receiver never stalls the drain. Over TLS the writer writes itself,
 * through OpenSSL on the same non-blocking socket, in the same cycle
 * (tls_req(): OpenSSL owns the record layer), and hands the core the result.
 * Progress is whole records (records_done): a frame is done once sent,
 * spooled, or dropped for good.
 *
 * Frames wait in three queues (syslog_frames.c): live (taken, not begun),
 * cont (the one live frame a send ended inside of: its rest must follow on
 * the same connection) and replay (read back from the spool). Each cycle
 * prepare() asks for one write, in this order (choose()):
 *
 *   1. receiver down, or (with a spool) its socket full at the last send
 *      and the spool's turn: live goes to the spool (syslog_spool.c);
 *   2. resend (what a reset lost), then cont, to the socket;
 *   3. replay, to the socket (the spool goes before anything newer);
 *   4. live, to the socket (after the notice of a spool that overflowed).
 *
 * A lost connection (syslog_net.c reconnects with backoff) begins cont's
 * frame again whole on the next one, and re-reads the replay from the
 * spool's send position. Before those go the frames that held the bytes
 * the receiver's TCP had not acknowledged when the connection was lost
 * (SIOCOUTQ): the writer keeps copies of what it sent last (tail) and
 * sends those again (resend), as notices, since their records are done. A TLS write that would block leaves OpenSSL holding
 * a record of frames that must be offered again first: live frames of it
 * move to cont too (hold_tls_record()). Without a spool, what the writer holds is its
 * backlog (backlog_bytes, then the core skips it and its records wait in
 * the rings). Over UDP nothing is held: a datagram the kernel refuses is
 * dropped and counted.
 */
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/digits.h"
#include "collector.h"
#include "syslog_fmt.h"
#include "syslog_net.h"
#include "syslog_relp.h"
#include "syslog_spool.h"
#include "syslog_tls.h"

/* What the last prepare() asked to write. */
enum syslog_req {
	REQ_NONE = 0,
	REQ_LIVE = 1,   /* live frames to the socket */
	REQ_REPLAY = 2, /* spooled frames to the socket */
	REQ_SPOOL = 3,  /* live frames to the spool */
	REQ_CONT = 4,   /* the rest of a live frame begun on this connection */
	REQ_RESEND = 5, /* frames a reset lost, sent again to the socket */
};

struct syslog_state {
	struct syslog_fmt fmt;
	struct syslog_conn conn;
	bool lf;                 /* framing = "lf" (else octet counting) */
	struct frames live;      /* records taken, neither sent nor spooled, none begun */
	struct frames cont;      /* a live frame begun on the socket: it goes first (at most one) */
	struct frames replay;    /* frames read back from the spool, being sent */
	struct frames tail;      /* copies of the frames wholly sent on this connection, newest last: those holding
				  * what the receiver had not acknowledged at the last send (over TLS, SYSLOG_TAIL_MAX bytes) */
	struct frames resend;    /* those of the tail a reset lost: sent first on the next connection (as notices: no records) */
	struct syslog_spool spool;
	struct relp_link *relp;  /* transport "relp": the sender thread */
	struct relp_acks relp_seen; /* its acknowledgements counted so far */
	struct syslog_tls tls;   /* transport "tls": the context and session */
	struct syslog_tls_cfg tls_cfg;
	size_t tls_held;         /* bytes after the first frame's sent part in a TLS record OpenSSL holds */
	char spool_dir[2048];    /* "" without a spool */
	uint64_t spool_max;
	enum syslog_req req;
	uint32_t epoch;          /* the connection live.sent and the replay belong to */
	bool stalled;            /* the last send filled the socket buffer: the receiver is behind */
	enum syslog_req last;    /* the request before: while stalled, spool and socket take turns */
	uint64_t records_done;   /* sent, spooled, or dropped for good */
	uint64_t udp_lost;       /* UDP datagrams the kernel refused */
	char where[sizeof(struct diag)]; /* "FILE:LINE: KEY: " of the host key, for open's error */
	char spool_where[sizeof(struct diag)]; /* the same of spool_dir */
};

static const char *const syslog_keys[] = {
	"transport", "host", "port", "facility", "hostname", "app_name", "msgid", "sd_id", "max_message_bytes",
	"framing", "bom", "reconnect_min_ms", "reconnect_max_ms", "spool_dir", "spool_max_bytes", "tls", NULL};

#define SYSLOG_PORT_DEFAULT 514
#define SYSLOG_UDP_MAX_DEFAULT 2048
#define SYSLOG_STREAM_MAX_DEFAULT 8096
#define SYSLOG_UDP_MAX 65507     /* the largest UDP payload over IPv4 */
#define SYSLOG_STREAM_MAX (1u << 20)
#define SYSLOG_RECONNECT_MIN_MS 100
#define SYSLOG_RECONNECT_MAX_MS 30000
#define SYSLOG_RECONNECT_LIMIT_MS 3600000
#define SYSLOG_SPOOL_MAX_DEFAULT (256ull << 20)
#define SYSLOG_SPOOL_MIN (64ull << 10)
#define SYSLOG_SPOOL_LIMIT (1ll << 42)
#define SYSLOG_TAIL_MAX (8u << 20) /* more than a socket's send buffer grows to (tcp_wmem's 4 MiB) */

/* Read transport into *t. Returns 0 or -EINVAL with d filled. */
static int read_transport(const config_setting_t *cfg, enum syslog_transport *t, struct diag *d)
{
	const char *v = "udp";
	int r = writer_cfg_string(cfg, "transport", &v, d);
	if (r < 0)
		return r;
	config_setting_t *s = config_setting_get_member(cfg, "transport");
	static const char *const names[] = {"udp", "tcp", "tls", "relp"};
	for (int k = 0; k < 4; k++)
		if (strcmp(v, names[k]) == 0) {
			*t = (enum syslog_transport)k;
			return 0;
		}
	writer_diag(d, s, NULL, "must be \"udp\", \"tcp\", \"tls\" or \"relp\", not \"%s\"", v);
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
	if (s->conn.transport == SYSLOG_UDP || s->conn.transport == SYSLOG_RELP) {
		writer_diag(d, set, NULL, "only for transports \"tcp\" and \"tls\" (UDP and RELP frame each message)");
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
	c->port = c->transport == SYSLOG_TLS ? SYSLOG_TLS_PORT_DEFAULT : SYSLOG_PORT_DEFAULT;
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

/* Read spool_dir and spool_max_bytes (stream transports only). Returns 0 or -EINVAL. */
static int read_spool(const config_setting_t *cfg, struct syslog_state *s, struct diag *d)
{
	s->spool_max = SYSLOG_SPOOL_MAX_DEFAULT;
	const char *v;
	int r = writer_cfg_string(cfg, "spool_dir", &v, d);
	if (r < 0)
		return r;
	config_setting_t *dir = config_setting_get_member(cfg, "spool_dir");
	if (r > 0 && (!*v || strlen(v) >= sizeof s->spool_dir)) {
		writer_diag(d, dir, NULL, "must be 1 to %zu bytes long", sizeof s->spool_dir - 1);
		return -EINVAL;
	}
	if (r > 0 && s->conn.transport == SYSLOG_UDP) {
		writer_diag(d, dir, NULL, "only for transports \"tcp\", \"tls\" and \"relp\" (UDP does not know what arrived)");
		return -EINVAL;
	}
	if (r > 0) {
		strcpy(s->spool_dir, v);
		struct diag where;
		writer_diag(&where, dir, NULL, "%s", "");
		snprintf(s->spool_where, sizeof s->spool_where, "%s", where.msg);
	}
	return writer_cfg_u64(cfg, "spool_max_bytes", SYSLOG_SPOOL_MIN, SYSLOG_SPOOL_LIMIT, &s->spool_max, d);
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
	s->spool.fd = s->spool.pos_fd = -1;
	w->priv = s;
	int r;
	if ((r = read_transport(cfg, &s->conn.transport, d)) < 0 || (r = read_peer(cfg, s, d)) < 0 ||
	    (r = read_message(cfg, s, d)) < 0 || (r = read_spool(cfg, s, d)) < 0 ||
	    (r = syslog_tls_configure(cfg, s->conn.transport == SYSLOG_TLS, s->conn.host, &s->tls_cfg, d)) < 0)
		return r;
	w->durable = s->conn.transport != SYSLOG_UDP;
	return 0;
}

/* Resolve the receiver's address, load TLS's files, open the spool; connecting waits for the first record. */
static int syslog_open(struct writer *w, struct diag *d)
{
	struct syslog_state *s = w->priv;
	int r = syslog_conn_resolve(&s->conn, s->where, d);
	if (r == 0 && s->conn.transport == SYSLOG_TLS && (r = syslog_tls_open(&s->tls, &s->tls_cfg, d)) == 0)
		s->conn.tls = &s->tls;
	if (r == 0 && s->conn.transport == SYSLOG_RELP)
		r = relp_open(&s->relp, &s->conn, w->name, d);
	if (r == 0 && s->spool_dir[0])
		r = spool_open(&s->spool, s->spool_dir, w->name, s->spool_max, s->spool_where, d);
	return r;
}

/* Room left before a message for its octet count: a size_t's 20 digits, the junk digits_put()
 * may write past them (DIGITS_SLACK) and the space. */
#define COUNT_ROOM (21u + DIGITS_SLACK)

/*
 * tr's message after its octet count ("LEN " MSG, RFC 6587) to dst: the
 * message is written COUNT_ROOM bytes on, then moved back against its count.
 * Returns false when out of memory.
 */
static bool frame_counted(struct syslog_state *s, const struct text_record *tr, struct sbuf *dst)
{
	size_t at = dst->len;
	if (sbuf_reserve(dst, COUNT_ROOM) != 0)
		return false;
	dst->len += COUNT_ROOM;
	size_t n = syslog_fmt_append(dst, tr, &s->fmt);
	if (n == 0)
		return false;
	char *p = dst->data + at;
	char *e = digits_put(p, n); /* its slack lands in the room, before the message */
	*e++ = ' ';
	memmove(e, p + COUNT_ROOM, n);
	dst->len = (size_t)(e - dst->data) + n;
	return true;
}

/*
 * Append tr's message as one frame of the transport to dst. Returns its
 * length, or 0 when out of memory (nothing appended).
 */
static size_t frame_record(struct syslog_state *s, const struct text_record *tr, struct sbuf *dst)
{
	size_t start = dst->len;
	bool ok;
	if ((s->conn.transport == SYSLOG_TCP || s->conn.transport == SYSLOG_TLS) && !s->lf)
		ok = frame_counted(s, tr, dst);
	else if ((ok = syslog_fmt_append(dst, tr, &s->fmt) != 0) && s->lf)
		sbuf_putc(dst, '\n');
	if (!ok || dst->oom) {
		dst->len = start;
		dst->oom = false;
		return 0;
	}
	return dst->len - start;
}

/* Take rec as one frame at the end of the live queue. Returns 0 or -ENOMEM (nothing taken). */
static int syslog_add(struct writer *w, struct output_rec *rec)
{
	struct syslog_state *s = w->priv;
	size_t start = s->live.buf.len, n = frame_record(s, rec->tr, &s->live.buf);
	if (n == 0 || frames_push(&s->live, (uint32_t)n) < 0) {
		s->live.buf.len = start;
		return -ENOMEM;
	}
	return 0;
}

/* Records the spool dropped, told before the live records that follow them: "[shmlog] N records lost (spool full)". */
static void tell_spool_lost(struct syslog_state *s)
{
	char msg[96];
	int len = snprintf(msg, sizeof msg, "[shmlog] %llu records lost (spool full)", (unsigned long long)s->spool.lost);
	static const char name[] = "shmlog-collector";
	struct text_record tr = {.ts_ns = clock_realtime_ns(), .level = TEXT_LEVEL_WARN, .name = name,
				 .name_len = sizeof name - 1, .pid = (uint32_t)getpid(), .msg = msg, .msg_len = (size_t)len};
	struct sbuf b = {0};
	size_t n = frame_record(s, &tr, &b);
	if (n && frames_push_front(&s->live, b.data, (uint32_t)n, FRAME_NOTICE) == 0)
		s->spool.lost = 0;
	sbuf_free(&b);
}

/*
 * A connection was lost: the frames of the tail that hold the bytes the
 * receiver had not acknowledged (all but those of the frame cont has begun)
 * go again first, before what was not sent yet.
 */
static void resend_lost(struct syslog_state *s, const char *name)
{
	uint64_t lost = s->conn.unacked_at_loss;
	lost = lost > s->cont.sent ? lost - s->cont.sent : 0;
	s->conn.unacked_at_loss = 0;
	if (lost && frames_take_last(&s->resend, &s->tail, (size_t)lost) < 0)
		collector_warn("writer %s: out of memory: some frames a reset lost cannot be sent again", name);
	frames_free(&s->tail);
	s->resend.sent = 0;
}

/* A new connection: a frame partly sent on the old one goes again whole, and the replay from the spool again. */
static void begin_again(struct syslog_state *s, const char *name)
{
	resend_lost(s, name);
	s->cont.sent = 0;
	s->live.sent = 0;
	s->tls_held = 0;
	if (s->replay.n) {
		frames_free(&s->replay);
		spool_rewind(&s->spool);
	}
	s->epoch = s->conn.epoch;
}

/* What to write now (see the file comment): the spool while down, its replay first once up. */
static enum syslog_req choose(struct writer *w, struct syslog_state *s)
{
	bool spool = s->spool.fd >= 0;
	bool up = syslog_conn_ready(&s->conn, w->name);
	if (s->conn.epoch != s->epoch)
		begin_again(s, w->name);
	/* down, or a receiver that is behind (its socket full): spool, so that the rings are consumed */
	if (!up || (spool && s->stalled && s->live.n && s->last != REQ_SPOOL)) {
		if (!spool || s->live.n == 0)
			return REQ_NONE;
		s->records_done += spool_take(&s->spool, &s->live);
		return s->spool.out.len ? REQ_SPOOL : REQ_NONE;
	}
	if (s->resend.n)
		return REQ_RESEND;
	if (s->cont.n)
		return REQ_CONT;
	if (spool && s->replay.n == 0 && s->spool.read < s->spool.size)
		spool_read(&s->spool, &s->replay, w->name);
	if (s->replay.n)
		return REQ_REPLAY;
	if (spool && s->spool.lost)
		tell_spool_lost(s);
	return s->live.n ? REQ_LIVE : REQ_NONE;
}

/* q's bytes to the socket. */
static void socket_req(const struct syslog_state *s, const struct frames *q, struct uio_req *req)
{
	bool udp = s->conn.transport == SYSLOG_UDP;
	*req = (struct uio_req){.fd = s->conn.fd,
				.buf = q->buf.data + q->head + q->sent,
				.len = frames_bytes(q) - q->sent,
				.sock = true,
				.dgram = udp ? q->lens + q->first : NULL,
				.n_dgram = udp ? q->n : 0};
}

/*
 * TLS: write q's bytes through OpenSSL now, a record at a time, until the
 * socket is full; *req says what went out, as uio.c would have.
 */
static void tls_req(struct syslog_state *s, const struct frames *q, struct uio_req *req)
{
	socket_req(s, q, req);
	req->ready = true;
	req->done = 0;
	req->err = 0;
	s->tls_held = 0;
	while (req->done < req->len) {
		size_t chunk = req->len - req->done;
		ssize_t n = syslog_tls_write(&s->tls, req->buf + req->done, chunk);
		if (n <= 0) {
			req->err = (int)n;
			s->tls_held = n == 0 ? (chunk < SYSLOG_TLS_CHUNK ? chunk : SYSLOG_TLS_CHUNK) : 0;
			return;
		}
		req->done += (size_t)n;
	}
}

/*
 * TLS: the live frames in the record OpenSSL holds (tls_held bytes after
 * live's first frame's sent part) move to cont, so that they are offered
 * again first and never spooled. Returns 0 or -ENOMEM.
 */
static int hold_tls_record(struct syslog_state *s)
{
	size_t need = s->live.sent + s->tls_held;
	while (need > 0 && s->live.n) {
		size_t len = FRAME_LEN(s->live.lens[s->live.first]);
		if (frames_move_first(&s->cont, &s->live) < 0)
			return -ENOMEM;
		need = len >= need ? 0 : need - len;
	}
	return 0;
}

/* The queue a socket request of s->req sends. */
static struct frames *req_queue(struct syslog_state *s)
{
	return s->req == REQ_LIVE ? &s->live : s->req == REQ_CONT ? &s->cont : s->req == REQ_RESEND ? &s->resend : &s->replay;
}

/* A spool to send, its loss to tell, an address being resolved: the core calls prepare even when every record is done. */
static bool syslog_busy(const struct writer *w)
{
	const struct syslog_state *s = w->priv;
	if (s->relp) /* hand over, acknowledgements to count, or a spool to read back and send */
		return relp_pending(s->relp) > 0 || relp_acked(s->relp).records != s->relp_seen.records ||
		       spool_busy(&s->spool) || s->spool.lost;
	return spool_busy(&s->spool) || s->replay.n || s->spool.lost || s->cont.n || s->resend.n || s->conn.resolving;
}

#define RELP_REPLAY_HELD (512u << 10) /* bytes the RELP thread may hold before more of the spool is read back */

/* RELP: what the receiver acknowledged since the last look is done; for frames of the spool, their entries. */
static void relp_collect(struct syslog_state *s)
{
	struct relp_acks a = relp_acked(s->relp);
	s->records_done += a.records - s->relp_seen.records;
	spool_sent(&s->spool, a.spooled_bytes - s->relp_seen.spooled_bytes +
				      (a.spooled_frames - s->relp_seen.spooled_frames) * SPOOL_ENTRY_HEAD);
	s->relp_seen = a;
}

/*
 * RELP with a spool. While the receiver is down, what the thread held
 * (records not done, which must be done before any after them) and live go
 * to the spool, in order: a request, 1. The thread hands back the spool's
 * replay among them too (always its first frames: the replay is handed only
 * before any live); those entries are read again from the send position.
 * Once it is up, the spool is read back and handed first, marked as no
 * records (they are done) and as the spool's, so that their entries go when
 * acknowledged; live waits in the spool until all is read back. Returns 1
 * with *req (the spool), 0 to hand live, -ENOMEM.
 */
static int relp_spool_step(struct writer *w, struct syslog_state *s, struct uio_req *req)
{
	struct syslog_spool *sp = &s->spool;
	struct frames back = {0};
	bool down = relp_take_back(s->relp, &back, sp->read < sp->size || sp->out.len || s->live.n);
	if (down) {
		while (back.n && (back.lens[back.first] & FRAME_SPOOLED))
			frames_drop_first(&back);
		frames_free(&s->replay); /* (what a failed hand-over left) */
		spool_rewind(sp);
	} else if (!s->replay.n && sp->read < sp->size && relp_pending(s->relp) < RELP_REPLAY_HELD &&
		   spool_read(sp, &s->replay, w->name) > 0) {
		for (uint32_t k = 0; k < s->replay.n; k++)
			s->replay.lens[s->replay.first + k] |= FRAME_NOTICE | FRAME_SPOOLED;
	}
	if (!down && s->replay.n && relp_hand(s->relp, &s->replay) < 0)
		return -ENOMEM; /* what was not handed over is handed next time, still first */
	if (down || sp->read < sp->size || sp->out.len || s->replay.n) { /* live goes after the spool */
		s->records_done += spool_take(sp, &back) + spool_take(sp, &s->live);
		frames_free(&back);
		if (!sp->out.len)
			return 0;
		s->req = REQ_SPOOL;
		*req = (struct uio_req){.fd = sp->fd, .buf = sp->out.data, .len = sp->out.len};
		return 1;
	}
	if (sp->lost)
		tell_spool_lost(s); /* the spool is all handed: its loss is told before what is newer */
	return 0;
}

/*
 * RELP: hand the live frames to the sender thread (after the spool, with
 * one), and tell the core (a request done already) when there were some or
 * more are acknowledged. Returns 1 with *req filled, 0 for nothing new, -ENOMEM.
 */
static int relp_prepare(struct writer *w, struct syslog_state *s, struct uio_req *req)
{
	uint64_t before = s->records_done;
	relp_collect(s);
	int r = s->spool.fd >= 0 ? relp_spool_step(w, s, req) : 0;
	if (r != 0)
		return r;
	size_t n = frames_bytes(&s->live);
	if (n && relp_hand(s->relp, &s->live) < 0)
		return -ENOMEM;
	if (!n && s->records_done == before)
		return 0;
	*req = (struct uio_req){.fd = -1, .len = n, .done = n, .ready = true};
	return 1;
}

/* Returns 1 with *req filled, 0 for nothing (yet). */
static int syslog_prepare(struct writer *w, struct uio_req *req)
{
	struct syslog_state *s = w->priv;
	if (s->relp)
		return relp_prepare(w, s, req);
	if (s->live.n == 0 && !syslog_busy(w))
		return 0;
	s->req = choose(w, s);
	if (s->req == REQ_SPOOL)
		*req = (struct uio_req){.fd = s->spool.fd, .buf = s->spool.out.data, .len = s->spool.out.len};
	else if (s->req != REQ_NONE) {
		const struct frames *q = req_queue(s);
		if (s->conn.tls)
			tls_req(s, q, req);
		else
			socket_req(s, q, req);
	}
	return s->req != REQ_NONE;
}

/* n datagrams were dropped (the last for err): counted, and said the first time and when err changes. */
static void udp_dropped(struct writer *w, struct syslog_state *s, uint64_t n, int err)
{
	bool first = s->udp_lost == 0;
	s->udp_lost += n;
	if (first || err != w->last_err)
		collector_warn("writer %s: a datagram to %s:%u was dropped: %s (UDP can lose anything; "
			       "%llu dropped so far)", w->name, s->conn.host, s->conn.port, strerror(-err),
			       (unsigned long long)s->udp_lost);
}

/* A send of q failed: over UDP the datagram is dropped and counted, over TCP the connection is lost. */
static void send_failed(struct writer *w, struct syslog_state *s, struct frames *q, int err)
{
	if (s->conn.transport == SYSLOG_UDP) {
		s->records_done += frames_drop_first(q);
		udp_dropped(w, s, 1, err);
		return;
	}
	syslog_conn_lost(&s->conn, w->name, err); /* the next connection begins the cut frame again */
}

/* Spooled frames were sent: their entries are done; on a failure the rest is read again from the spool. */
static void replay_sent(struct writer *w, struct syslog_state *s, const struct uio_req *req)
{
	struct frames *q = &s->replay;
	size_t bytes = frames_bytes(q);
	uint32_t n = q->n;
	frames_sent(q, req->done);
	spool_sent(&s->spool, bytes - frames_bytes(q) + (uint64_t)(n - q->n) * SPOOL_ENTRY_HEAD);
	if (req->err && q->n)
		syslog_conn_lost(&s->conn, w->name, req->err); /* the next connection reads the rest again */
}

/*
 * req ended. Frames it covered wholly are done; a part of a frame stays
 * (the stream goes on from there). The writer says itself what went wrong
 * (w->last_err keeps the core quiet). Returns the records done since open.
 */
static uint64_t syslog_complete(struct writer *w, const struct uio_req *req)
{
	struct syslog_state *s = w->priv;
	if (s->relp && s->req == REQ_SPOOL) {
		s->records_done += spool_appended(&s->spool, req->done, req->err);
		s->req = REQ_NONE;
	}
	if (s->relp)
		return s->records_done; /* acknowledged (as relp_prepare() read it), spooled, or dropped */
	/* what this send completes is kept in the tail (as notices), as far as the receiver has not
	 * acknowledged it (TCP: SIOCOUTQ, which can only shrink for what was sent before), in case a reset loses it */
	int unacked = s->conn.tls ? -1 : syslog_conn_unacked(&s->conn);
	size_t cover = unacked < 0 ? SYSLOG_TAIL_MAX : (size_t)unacked; /* not said: the last 8 MiB, as over TLS */
	if (s->req != REQ_SPOOL && s->conn.transport != SYSLOG_UDP &&
	    frames_copy_done(&s->tail, req_queue(s), req->done, FRAME_NOTICE, cover) < 0)
		frames_free(&s->tail); /* out of memory: a reset then loses what the socket held */
	if (s->req == REQ_SPOOL) {
		s->records_done += spool_appended(&s->spool, req->done, req->err);
	} else if (s->req == REQ_REPLAY) {
		replay_sent(w, s, req);
	} else {
		struct frames *q = req_queue(s);
		s->records_done += frames_sent(q, req->done); /* over UDP, the datagrams dropped on the way too */
		if (req->dgram_dropped)
			udp_dropped(w, s, req->dgram_dropped, req->err);
		else if (req->err && q->n)
			send_failed(w, s, q, req->err);
		/* a frame begun (or held by OpenSSL) stays apart, so that the rest of live can go to the spool */
		bool begun = s->live.sent || (s->req == REQ_LIVE && s->tls_held);
		if (begun && s->conn.transport != SYSLOG_UDP &&
		    (s->conn.tls ? hold_tls_record(s) : frames_move_first(&s->cont, &s->live)) < 0)
			syslog_conn_lost(&s->conn, w->name, -ENOMEM); /* it goes again whole on a new connection */
	}
	if (!req->err && req->done && s->req != REQ_SPOOL)
		syslog_conn_sent(&s->conn);
	if (s->req != REQ_SPOOL)
		s->stalled = !req->err && req->done < req->len;
	s->last = s->req;
	s->req = REQ_NONE;
	w->last_err = req->err;
	return s->records_done;
}

/* The bytes held in memory: its backlog. */
static uint64_t syslog_pending(const struct writer *w)
{
	const struct syslog_state *s = w->priv;
	return frames_bytes(&s->live) + frames_bytes(&s->cont) + frames_bytes(&s->resend) + s->spool.out.len +
	       (s->relp ? relp_pending(s->relp) : 0);
}

/* fdatasync the spool, so that what counts as done survives a crash. Returns 0 or -errno. */
static int syslog_sync(struct writer *w)
{
	struct syslog_state *s = w->priv;
	return s->spool.fd < 0 || fdatasync(s->spool.fd) == 0 ? 0 : -errno;
}

/* SIGHUP: resolve the host again (RELP: librelp resolves it at each session). Returns 0 or -errno. */
static int syslog_reopen(struct writer *w)
{
	struct syslog_state *s = w->priv;
	return s->relp ? 0 : syslog_conn_reresolve(&s->conn);
}

/* A clean end: the stream is shut down (FIN) after what was sent, then closed. */
/*
 * At a stop, the frames a lost connection left to send again (their records
 * are done, and in no ring any more) go to the spool, after what it holds:
 * a restart sends them, out of order but not lost. Without a spool, say
 * how many are dropped.
 */
static void keep_resend(struct syslog_state *s, const char *name)
{
	resend_lost(s, name);
	uint32_t n = s->resend.n;
	if (!n)
		return;
	struct syslog_spool *sp = &s->spool;
	if (sp->fd < 0) {
		collector_warn("writer %s: %u frames a lost connection left to send again are dropped at stop (no spool)",
			       name, n);
		return;
	}
	s->resend.sent = 0;
	uint64_t dropped = spool_take(sp, &s->resend);
	if (dropped)
		collector_warn("writer %s: %llu records a lost connection left to send again are dropped at stop "
			       "(the spool is full)", name, (unsigned long long)dropped);
	ssize_t done = sp->out.len ? write(sp->fd, sp->out.data, sp->out.len) : 0;
	spool_appended(sp, done > 0 ? (size_t)done : 0, done < 0 ? -errno : 0);
}

static void syslog_close(struct writer *w)
{
	struct syslog_state *s = w->priv;
	if (!s)
		return;
	if (!s->relp && s->conn.transport != SYSLOG_UDP)
		keep_resend(s, w->name);
	bool up = s->conn.fd >= 0 && s->conn.state == SYSLOG_UP;
	if (up && s->conn.tls)
		syslog_tls_end(s->conn.tls, true); /* close_notify */
	if (up && s->conn.transport != SYSLOG_UDP)
		shutdown(s->conn.fd, SHUT_WR);
	syslog_conn_free(&s->conn);
	syslog_tls_close(&s->tls);
	relp_close(s->relp);
	spool_close(&s->spool);
	frames_free(&s->live);
	frames_free(&s->cont);
	frames_free(&s->replay);
	frames_free(&s->tail);
	frames_free(&s->resend);
	free(s);
	w->priv = NULL;
}

/* --check-config: where it sends, and its spool. */
static void syslog_describe(const struct writer *w, FILE *f)
{
	const struct syslog_state *s = w->priv;
	fprintf(f, ", transport %s to %s port %u", syslog_transport_name(s->conn.transport), s->conn.host, s->conn.port);
	if (s->conn.transport == SYSLOG_TCP || s->conn.transport == SYSLOG_TLS) /* UDP and RELP frame each message */
		fprintf(f, ", framing %s", s->lf ? "lf" : "octet-counting");
	if (s->spool_dir[0])
		fprintf(f, ", spool %s", s->spool_dir);
}

const struct writer_ops writer_syslog_ops = {
	.keys = syslog_keys,
	.type = "syslog",
	.unformatted = true,
	.configure = syslog_configure,
	.open = syslog_open,
	.add = syslog_add,
	.prepare = syslog_prepare,
	.complete = syslog_complete,
	.sync = syslog_sync,
	.pending = syslog_pending,
	.busy = syslog_busy,
	.reopen = syslog_reopen,
	.close = syslog_close,
	.describe = syslog_describe,
};
