/*
 * loop.c — the collector's event loop.
 *
 * Everything the collector waits for arrives on one io_uring (the "event
 * ring"): inotify reads (a segment appeared), signalfd reads (SIGTERM,
 * SIGINT: drain and exit; SIGHUP: reopen the writers' files), pidfd polls (a producer ended) and the poll
 * timeout. Writes go through a second ring (uio.c) so that waiting for a
 * batch's completions never swallows an event.
 *
 * While records flow, the rings cannot signal: a producer makes no system
 * call per record. So the loop polls them, in batches and with backoff,
 * never spinning on a producer's tail (a consumer re-reading it continuously
 * slows the producer down): right away again only after a big batch (more is
 * surely waiting), 100 us after a small one so that records gather, after
 * half the merge window while records are held back for ordering, and
 * otherwise with a sleep that doubles from 1 ms up to poll_max_ms.
 *
 * Once nothing has come for sleep_after_ms, the loop polls only every
 * idle_poll_ms: a producer never makes a system call to wake us (unless it
 * asked to, below), so a record after a quiet spell waits up to that long;
 * a flush or sync wakes us at once (utimensat() on its segment: an inotify
 * IN_ATTRIB event), as it waits anyway.
 *
 * If every live segment rings the doorbell (SHMLOG_SEG_BELL, an option of
 * the producer), the loop stops polling instead: it sets the bell in every
 * ring (shared/abi.h), runs membarrier() so that no producer's tail store
 * can slip past it unseen, looks at every ring once more, and then sleeps
 * until the next rescan. A producer's first record after that rings, which
 * ends the sleep at once. Waking with nothing to do (a rescan), it sleeps
 * again without a new barrier while every bell is still set. This needs
 * inotify, membarrier's global expedited command, and a sleep_after_ms of
 * at least twice the quiet spell after which a producer's inline path looks
 * at its bell. With no segment at all the loop sleeps until inotify reports
 * one, or the next rescan.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "notify.h"
#include "../shared/escape.h"

#define BUSY_BATCH 1024u /* records in a cycle above which the next cycle starts at once */
#define TRICKLE_US 100u  /* pause after a smaller cycle */
#define RECALIBRATE_NS 1000000000ull

static char inotify_buf[4096] __attribute__((aligned(8)));
static struct signalfd_siginfo sig_info;

/* One line on stderr, escaped as message text is: it may name hostile files and loggers. */
void collector_warn(const char *fmt, ...)
{
	char buf[1024], line[4 * sizeof buf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	*esc_text(line, buf, strlen(buf)) = 0;
	fprintf(stderr, "shmlog-collector: %s\n", line);
}

long long collector_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int collector_thread(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* the new thread inherits it */
	int rc = pthread_create(th, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void arm_read(struct collector *c, int fd, void *buf, unsigned len, uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ev);
	if (!sqe) {
		io_uring_submit(&c->ev);
		sqe = io_uring_get_sqe(&c->ev);
		if (!sqe)
			return;
	}
	io_uring_prep_read(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, tag);
	io_uring_submit(&c->ev);
}

/* Whether the len bytes of events in inotify_buf call for a rescan: not
 * when they are all wake-ups (IN_ATTRIB, IN_MODIFY on a file: the next drain
 * cycle finds the records). The directory removed or renamed, or its watch
 * gone: until a new directory is watched nothing can wake us. (Events of a
 * watch replaced since only ask for a rescan.) */
static bool needs_rescan(struct collector *c, int len)
{
	bool rescan = len <= 0;
	for (int off = 0; off + (int)sizeof(struct inotify_event) <= len;) {
		const struct inotify_event *e = (const struct inotify_event *)(const void *)(inotify_buf + off);
		if ((e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) && e->wd == c->watch_wd)
			c->watch_lost = true;
		if (e->mask != IN_ATTRIB && e->mask != IN_MODIFY)
			rescan = true;
		off += (int)sizeof *e + (int)e->len;
	}
	return rescan;
}

/* Handle every completed event without blocking. */
static void handle_events(struct collector *c)
{
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&c->ev, &cqe) == 0) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&c->ev, cqe);
		uint64_t tag = ud & (0xffull << EV_TAG_SHIFT);
		if (tag == EV_INOTIFY) {
			c->rescan |= needs_rescan(c, res);
			if (res >= 0 || res == -EAGAIN || res == -EINTR)
				arm_read(c, c->inotify_fd, inotify_buf, sizeof inotify_buf, EV_INOTIFY);
		} else if (tag == EV_SIGNAL) {
			bool hup = res == (int)sizeof sig_info && sig_info.ssi_signo == SIGHUP;
			if (res == (int)sizeof sig_info && !hup)
				c->stop = true;
			else
				arm_read(c, c->signal_fd, &sig_info, sizeof sig_info, EV_SIGNAL);
			if (hup) /* log rotation: the files are opened again by name */
				output_reopen(&c->out);
		} else if (tag == EV_PID) {
			if (res >= 0)
				discover_process_died(c, ud & ((1ull << EV_TAG_SHIFT) - 1));
		}
	}
}

static void wait_events(struct collector *c, uint32_t us)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {us / 1000000u, (long long)(us % 1000000u) * 1000LL};
	io_uring_wait_cqe_timeout(&c->ev, &cqe, &ts);
	handle_events(c);
}

static void maybe_recalibrate(struct collector *c)
{
	uint64_t now = clock_realtime_ns();
	if (now - c->calib_at_ns < RECALIBRATE_NS)
		return;
	clock_recalibrate(&c->calib, &c->calib_first);
	c->calib_at_ns = now;
	discover_publish_clock(c);
}

/* collector.threads_pin: the kernel's io-wq workers that write for the loop run on its CPU, as it did alone. */
static void pin_writes(struct collector *c)
{
	if (c->out.loop_cpu < 0)
		return;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(c->out.loop_cpu, &one);
	int rc = io_uring_register_iowq_aff(&c->io, sizeof one, &one);
	if (rc < 0)
		collector_warn("collector.threads_pin: cannot pin the kernel's write workers to CPU %d: %s",
			       c->out.loop_cpu, strerror(-rc));
}

static int setup(struct collector *c)
{
	drain_init(c);
	int rc = io_uring_queue_init(256, &c->ev, 0);
	if (rc < 0) {
		collector_warn("io_uring setup failed: %s", strerror(-rc));
		return rc;
	}
	rc = io_uring_queue_init(64, &c->io, 0);
	if (rc < 0) {
		collector_warn("io_uring setup failed: %s", strerror(-rc));
		io_uring_queue_exit(&c->ev);
		return rc;
	}
	pin_writes(c);
	rc = seg_guard_install();
	if (rc < 0) {
		collector_warn("cannot install the SIGBUS guard: %s", strerror(-rc));
		return rc;
	}
	bool tsc = clock_calibrate(&c->calib_first, 10) == 0;
	if (!tsc)
		c->calib_first = (struct clock_calib){0, clock_realtime_ns(), 1ull << 32};
	c->calib = c->calib_first;
	c->calib_at_ns = clock_realtime_ns();
	rc = discover_init(c);
	if (rc < 0)
		return rc;
	long mb = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	c->bells_usable = c->cfg->sleep_after_ms && c->inotify_fd >= 0 && mb > 0 &&
			  (mb & MEMBARRIER_CMD_GLOBAL_EXPEDITED);
	/* a producer's inline path looks at its bell only after this long
	 * without a record (shared/abi.h): sleep only after twice that */
	const struct clock_calib *k = &c->calib_first;
	uint64_t quiet_ms = tsc ? (clock_to_ns(k, k->tsc + (1ull << SHMLOG_BELL_QUIET_SHIFT)) - k->ns) / 1000000u + 1 : 0;
	if (c->bells_usable && 2 * quiet_ms > c->cfg->sleep_after_ms) {
		collector_warn("sleep_after_ms %u is less than twice the %llu ms after which producers look at the "
			       "doorbell on this machine: polling every %u ms instead of sleeping",
			       c->cfg->sleep_after_ms, (unsigned long long)quiet_ms, c->cfg->idle_poll_ms);
		c->bells_usable = false;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->signal_fd >= 0)
		arm_read(c, c->signal_fd, &sig_info, sizeof sig_info, EV_SIGNAL);
	if (c->inotify_fd >= 0)
		arm_read(c, c->inotify_fd, inotify_buf, sizeof inotify_buf, EV_INOTIFY);
	return 0;
}

static void teardown(struct collector *c)
{
	output_close(&c->out);
	ledger_forget(c);
	discover_detach_all(c);
	io_uring_queue_exit(&c->ev);
	io_uring_queue_exit(&c->io);
	if (c->inotify_fd >= 0)
		close(c->inotify_fd);
	if (c->signal_fd >= 0)
		close(c->signal_fd);
	drain_free(c);
}

/* Read no ring past its tail of now: a producer still writing cannot hold the exit up. */
static void freeze_tails(struct collector *c)
{
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		for (uint32_t i = 0; !s->rd.rejected && i < s->seg.ring_count; i++)
			/* acquire: pairs with the producer's release of tail */
			s->rd.rings[i].stop = atomic_load_explicit(&seg_ring(&s->seg, i)->tail, memory_order_acquire);
	}
}

/* Drain cycles until one emits nothing and says nothing more waits (or could not read for want of memory). */
static void drain_pass(struct collector *c)
{
	bool held, more;
	while (drain_cycle(c, true, &held, &more) > 0 || more || c->replayed)
		;
}

/*
 * Drain everything committed when called until nothing moves, then retire
 * finished segments. A writer that cannot write, or a cycle that cannot read
 * for want of memory, gets a few more tries; what is still held or unread
 * then is not consumed, so its records stay in their segments.
 */
static void drain_all(struct collector *c)
{
	bool held, more;
	freeze_tails(c);
	drain_pass(c);
	/* one more for segments whose end became visible in the last cycle */
	if (drain_cycle(c, true, &held, &more) > 0 || more)
		drain_pass(c);
	for (int k = 0; k < 20 && (output_backlog(&c->out) || c->bq_head || c->read_oom); k++) {
		struct timespec d = {0, 50 * 1000 * 1000}; /* retry backoff for a full disk, or memory */
		nanosleep(&d, NULL);
		drain_pass(c);
	}
	if (output_backlog(&c->out))
		collector_warn("%llu bytes of output could not be written; their records were not consumed and "
			       "stay in their segments",
			       (unsigned long long)output_backlog(&c->out));
	if (c->read_oom)
		collector_warn("out of memory: records not read stay in their segments");
	discover_reap(c);
}

/* What next_sleep_us() says besides a time to wait. */
#define GO_ON_AFTER_EVENTS 0u     /* look at events without waiting, then the next cycle */
#define GO_ON_NOW UINT32_MAX      /* the next cycle at once */

/* After a quiet spell: set the bells and sleep, or poll slowly. */
static uint32_t quiet_sleep_us(struct collector *c, long long active_ms, uint32_t *idle_us)
{
	const struct collector_config *cfg = c->cfg;
	/* a sync that failed, a writer with work held (a backlog, a spool to send), an exit status awaited: again soon,
	 * whatever the quiet */
	if (ledger_sync_wanted(c) || output_busy(&c->out) || c->dying)
		return cfg->poll_max_ms * 1000u;
	if (!c->n_segs || (c->bells_set && !c->watch_lost && discover_bells_intact(c))) {
		/* nothing to poll, or every ring's bell has been set (and
		 * fenced, and looked at) and none was taken since, so any
		 * record written after our last look rings: sleep until an
		 * event (a new segment, a doorbell) or the next rescan. A
		 * segment attached since has no bell set yet, and a bell a
		 * producer took for flush or sync is clear: both arm again. */
		long long left = c->last_rescan_ms + cfg->rescan_ms - collector_now_ms();
		return left > 0 ? (uint32_t)left * 1000u : 1000u;
	}
	bool quiet = collector_now_ms() - active_ms >= cfg->sleep_after_ms;
	if (c->bells_usable && !c->watch_lost && quiet && !c->bq_head &&
	    discover_set_bells(c, true)) {
		/* idle long enough: the bells are set; after the barrier (an
		 * interrupt on every CPU running a producer thread, so once
		 * per idle spell, not per wake-up), one more look at every
		 * ring decides whether to sleep */
		c->bells_set = true;
		if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0) {
			collector_warn("membarrier failed (%s): polling every %u ms instead of sleeping", strerror(errno),
				       cfg->idle_poll_ms);
			c->bells_usable = false;
			c->bells_set = !discover_set_bells(c, false);
		}
		return GO_ON_NOW;
	}
	if (cfg->sleep_after_ms && quiet) {
		/* a quiet spell, and some producer does not ring: poll slowly
		 * (flush and sync wake us, see shmlog__wait_pos). Bells set
		 * before such a segment came would only cost their rings. */
		if (c->bells_set)
			c->bells_set = !discover_set_bells(c, false);
		return cfg->idle_poll_ms * 1000u;
	}
	/* idle: back off to poll_max_ms */
	*idle_us = *idle_us ? *idle_us * 2 : 1000;
	if (*idle_us > cfg->poll_max_ms * 1000u)
		*idle_us = cfg->poll_max_ms * 1000u;
	return *idle_us;
}

/* How long to wait after a cycle that emitted n records (see the file comment), or GO_ON_*. */
static uint32_t next_sleep_us(struct collector *c, long n, bool held, bool more, long long active_ms,
			      uint32_t *idle_us)
{
	if (n >= (long)BUSY_BATCH || more) { /* a big or cut batch: more is waiting */
		*idle_us = 0;
		return GO_ON_AFTER_EVENTS;
	}
	if (n > 0 || held) { /* a trickle: let it gather instead of re-reading tails */
		*idle_us = 0;
		uint32_t us = held ? c->cfg->merge_window_us / 2 : TRICKLE_US;
		return us < 20 ? 20 : us;
	}
	return quiet_sleep_us(c, active_ms, idle_us);
}

/* Cycle until SIGTERM or SIGINT. */
static void run_loop(struct collector *c)
{
	uint32_t idle_us = 0;
	long long active_ms = collector_now_ms(); /* when records last came */
	while (!c->stop) {
		if (c->rescan || collector_now_ms() - c->last_rescan_ms >= c->cfg->rescan_ms) {
			c->rescan = false;
			discover_scan(c);
			discover_reap(c);
		}
		maybe_recalibrate(c);
		if (c->dying)
			discover_await_exits(c, false);
		bool held, more, finished = false;
		long n = drain_cycle(c, false, &held, &more);
		for (unsigned i = 0; i < c->n_segs; i++)
			finished |= c->segs[i]->rd.finished;
		if (finished)
			discover_reap(c);
		if (n > 0 || held || more) {
			active_ms = collector_now_ms();
			if (c->bells_set) /* awake again: producers need not ring */
				c->bells_set = !discover_set_bells(c, false);
		}
		uint32_t us = next_sleep_us(c, n, held, more, active_ms, &idle_us);
		if (us == GO_ON_AFTER_EVENTS)
			handle_events(c);
		else if (us != GO_ON_NOW)
			wait_events(c, us);
	}
}

int collector_run(struct collector_config *cfg, const char *dir, bool once)
{
	struct collector c = {.cfg = cfg, .dir = dir, .inotify_fd = -1, .signal_fd = -1};
	struct diag d;
	int rc = output_open(&c.out, cfg, &d);
	if (rc < 0) {
		collector_warn("%s", d.msg);
		return rc;
	}
	rc = setup(&c);
	if (rc < 0) {
		teardown(&c);
		return rc;
	}
	discover_scan(&c);
	if (!once) {
		notify_send("READY=1"); /* systemd Type=notify: set up, collecting */
		run_loop(&c);
		notify_send("STOPPING=1");
	}
	discover_scan(&c); /* segments that appeared since the last scan count too */
	discover_await_exits(&c, true);
	drain_all(&c);
	teardown(&c);
	return 0;
}
