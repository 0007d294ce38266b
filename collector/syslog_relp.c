/*
 * syslog_relp.c — RELP through librelp, in a sender thread (see
 * syslog_relp.h for what counts as acknowledged).
 *
 * The thread's loop, with the link's mutex held except around librelp:
 *
 *   no session:  nothing to send: wait; else, when the backoff allows,
 *                connect (the unconfirmed frames go first again);
 *   session:     a queued frame: send it, then it is unconfirmed, and
 *                what falls out of the window is acknowledged;
 *                nothing queued for RELP_IDLE_MS and some unconfirmed:
 *                close the session cleanly: all acknowledged.
 *
 * A failed connect, send or close breaks the session; the outage is said
 * once (syslog_net.c's lines, with librelp's reason) and the next attempt
 * waits for the backoff.
 */
#include "syslog_relp.h"

#include <errno.h>
#include <librelp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"

struct relp_link {
	pthread_t thread;
	pthread_mutex_t mu;       /* guards queue, unconfirmed, acks, stop, more */
	pthread_cond_t wake;      /* frames handed, or stop (CLOCK_MONOTONIC) */
	struct frames queue;      /* handed, not sent on this session */
	struct frames unconfirmed; /* sent on this session, not known to be acknowledged (at most RELP_WINDOW) */
	struct relp_acks acks;    /* acknowledged since open: records, and frames read back from the spool */
	bool stop;
	bool more;                /* the writer has frames of its own (its spool): connect for them */
	/* the thread's own */
	struct syslog_conn conn;  /* backoff and the outage lines (no socket: librelp's) */
	char name[64];
	char port[16];
	relpEngine_t *engine;
	relpClt_t *clt;           /* NULL: no session */
	bool failed;              /* librelp reported an error since the last look */
	long long idle_since_ms;  /* when the queue last went empty */
	struct sbuf msg;          /* the frame being sent, copied out of the queue */
};

/* librelp's error callback: remember the reason for the outage line. */
static void on_error(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	struct relp_link *l = usr;
	(void)objinfo;
	if (!l) /* an error of no session of ours */
		return;
	l->failed = true;
	snprintf(l->conn.why, sizeof l->conn.why, "RELP: %s (librelp error %d)", errmsg, code);
}

/* librelp's debug output: none (librelp calls it unconditionally, so it must be set). */
static void __attribute__((format(printf, 1, 2))) no_debug(char *fmt, ...)
{
	(void)fmt;
}

/* Wait on l->wake until deadline_ms (collector_now_ms() time), or a wake-up. */
static void wait_until(struct relp_link *l, long long deadline_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long left = deadline_ms - collector_now_ms();
	left = left < 1 ? 1 : left;
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&l->wake, &l->mu, &ts);
}

/* Open a session (blocking, bounded by librelp's connect timeout). Returns 0 or -ECONNREFUSED. */
static int session_open(struct relp_link *l)
{
	l->failed = false;
	if (relpEngineCltConstruct(l->engine, &l->clt) != RELP_RET_OK) {
		l->clt = NULL;
		return -ENOMEM;
	}
	relpCltSetUsrPtr(l->clt, l);
	relpCltSetTimeout(l->clt, RELP_TIMEOUT_S);
	relpCltSetConnTimeout(l->clt, RELP_TIMEOUT_S);
	relpCltSetWindowSize(l->clt, RELP_WINDOW);
	relpRetVal r = relpCltConnect(l->clt, 0, (unsigned char *)l->port, (unsigned char *)l->conn.host);
	if (r == RELP_RET_OK)
		return 0;
	relpEngineCltDestruct(l->engine, &l->clt);
	l->clt = NULL;
	if (!l->conn.why[0])
		snprintf(l->conn.why, sizeof l->conn.why, "RELP: cannot open a session (librelp error %d)", r);
	return -ECONNREFUSED;
}

/* End the session (librelp closes it cleanly unless it is broken). Returns whether no error was reported. */
static bool session_close(struct relp_link *l)
{
	l->failed = false;
	relpEngineCltDestruct(l->engine, &l->clt);
	l->clt = NULL;
	return !l->failed;
}

/* A new session: the unconfirmed frames go first again, then the queue. */
static void requeue_unconfirmed(struct relp_link *l)
{
	struct frames all = {0};
	if (frames_move_all(&all, &l->unconfirmed) == 0 && frames_move_all(&all, &l->queue) == 0) {
		frames_free(&l->queue);
		l->queue = all;
		return;
	}
	/* out of memory: what is in all goes before what is left (unconfirmed, if anything, then queue) */
	frames_move_all(&all, &l->unconfirmed);
	frames_move_all(&all, &l->queue);
	frames_free(&l->queue);
	l->queue = all;
}

/* No session: connect when there is something to send and the backoff allows. */
static void step_connect(struct relp_link *l)
{
	if (!l->queue.n && !l->unconfirmed.n && !l->more) {
		pthread_cond_wait(&l->wake, &l->mu);
		return;
	}
	if (collector_now_ms() < l->conn.next_try_ms) {
		wait_until(l, l->conn.next_try_ms);
		return;
	}
	pthread_mutex_unlock(&l->mu);
	int r = session_open(l);
	pthread_mutex_lock(&l->mu);
	if (r < 0) {
		syslog_conn_lost(&l->conn, l->name, r);
		return;
	}
	syslog_conn_up(&l->conn, l->name);
	l->more = false;
	requeue_unconfirmed(l);
}

/* The oldest unconfirmed frame is acknowledged: counted, as a record or a spool entry. */
static void ack_first(struct relp_link *l)
{
	uint32_t len = l->unconfirmed.lens[l->unconfirmed.first];
	if (len & FRAME_SPOOLED) {
		l->acks.spooled_frames++;
		l->acks.spooled_bytes += FRAME_LEN(len);
	}
	l->acks.records += frames_drop_first(&l->unconfirmed);
}

/* Send the first queued frame; past the window, the oldest unconfirmed is acknowledged. */
static void step_send(struct relp_link *l)
{
	uint32_t len = FRAME_LEN(l->queue.lens[l->queue.first]);
	sbuf_reset(&l->msg);
	sbuf_append(&l->msg, l->queue.buf.data + l->queue.head, len);
	if (l->msg.oom) {
		l->msg.oom = false;
		wait_until(l, collector_now_ms() + 100); /* try again, memory may come back */
		return;
	}
	pthread_mutex_unlock(&l->mu);
	relpRetVal r = relpCltSendSyslog(l->clt, (unsigned char *)l->msg.data, len);
	pthread_mutex_lock(&l->mu);
	if (r != RELP_RET_OK || frames_move_first(&l->unconfirmed, &l->queue) < 0) {
		/* broken (or out of memory to keep the frame: a new session sends it again) */
		pthread_mutex_unlock(&l->mu);
		session_close(l);
		pthread_mutex_lock(&l->mu);
		syslog_conn_lost(&l->conn, l->name, -EPIPE);
		return;
	}
	while (l->unconfirmed.n > RELP_WINDOW)
		ack_first(l);
	syslog_conn_sent(&l->conn);
	if (!l->queue.n)
		l->idle_since_ms = collector_now_ms();
}

/* Nothing queued: after RELP_IDLE_MS, close the session to learn that the unconfirmed frames are acknowledged. */
static void step_idle(struct relp_link *l)
{
	if (!l->unconfirmed.n) {
		pthread_cond_wait(&l->wake, &l->mu);
		return;
	}
	if (collector_now_ms() < l->idle_since_ms + RELP_IDLE_MS) {
		wait_until(l, l->idle_since_ms + RELP_IDLE_MS);
		return;
	}
	pthread_mutex_unlock(&l->mu);
	bool clean = session_close(l);
	pthread_mutex_lock(&l->mu);
	if (!clean) {
		syslog_conn_lost(&l->conn, l->name, -EPIPE); /* the next session sends them again */
		return;
	}
	while (l->unconfirmed.n)
		ack_first(l);
}

static void *relp_main(void *arg)
{
	struct relp_link *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		if (!l->clt)
			step_connect(l);
		else if (l->queue.n)
			step_send(l);
		else
			step_idle(l);
	}
	pthread_mutex_unlock(&l->mu);
	if (l->clt && session_close(l)) {
		pthread_mutex_lock(&l->mu);
		while (l->unconfirmed.n)
			ack_first(l);
		pthread_mutex_unlock(&l->mu);
	}
	return NULL;
}

/* The engine: the syslog command required, errors to on_error. Returns 0 or -ENOMEM. */
static int engine_make(struct relp_link *l)
{
	if (relpEngineConstruct(&l->engine) != RELP_RET_OK)
		return -ENOMEM;
	relpEngineSetDbgprint(l->engine, no_debug);
	relpEngineSetEnableCmd(l->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetOnErr(l->engine, on_error);
	return 0;
}

/* The thread, with every signal blocked (the collector's loop takes them from its signalfd). Returns 0 or -errno. */
static int thread_start(struct relp_link *l)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&l->thread, NULL, relp_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

static void link_free(struct relp_link *l)
{
	if (l->engine)
		relpEngineDestruct(&l->engine);
	frames_free(&l->queue);
	frames_free(&l->unconfirmed);
	sbuf_free(&l->msg);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int relp_open(struct relp_link **out, const struct syslog_conn *c, const char *name, struct diag *d)
{
	struct relp_link *l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(d->msg, sizeof d->msg, "writer %s: out of memory", name);
		return -ENOMEM;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&l->mu, NULL);
	l->conn = *c;
	snprintf(l->name, sizeof l->name, "%s", name);
	snprintf(l->port, sizeof l->port, "%u", c->port);
	int r = engine_make(l);
	if (r == 0)
		r = thread_start(l);
	if (r < 0) {
		snprintf(d->msg, sizeof d->msg, "writer %s: cannot start RELP: %s", name, strerror(-r));
		link_free(l);
		return r;
	}
	*out = l;
	return 0;
}

int relp_hand(struct relp_link *l, struct frames *q)
{
	pthread_mutex_lock(&l->mu);
	int r = frames_move_all(&l->queue, q);
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
	return r;
}

struct relp_acks relp_acked(struct relp_link *l)
{
	pthread_mutex_lock(&l->mu);
	struct relp_acks a = l->acks;
	pthread_mutex_unlock(&l->mu);
	return a;
}

bool relp_take_back(struct relp_link *l, struct frames *dst, bool more)
{
	pthread_mutex_lock(&l->mu);
	bool down = !l->clt && l->conn.down_said; /* no session, so no frame is being sent */
	if (down) {
		requeue_unconfirmed(l); /* in order, whatever memory there is */
		frames_free(dst);
		*dst = l->queue; /* handed over whole: nothing to allocate, nothing to fail */
		l->queue = (struct frames){0};
		l->more = more;
		if (more)
			pthread_cond_signal(&l->wake);
	}
	pthread_mutex_unlock(&l->mu);
	return down;
}

uint64_t relp_pending(struct relp_link *l)
{
	pthread_mutex_lock(&l->mu);
	uint64_t n = frames_bytes(&l->queue) + frames_bytes(&l->unconfirmed);
	pthread_mutex_unlock(&l->mu);
	return n;
}

void relp_close(struct relp_link *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	link_free(l);
}
