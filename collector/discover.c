/*
 * discover.c — finding, validating, attaching and retiring segments.
 *
 * The directory is watched with inotify (a segment appears by rename, so
 * IN_MOVED_TO is what announces it; IN_ATTRIB or IN_MODIFY is a producer
 * waking us, loop.c) and rescanned every rescan_ms as a safety net; a
 * directory removed or renamed is made again and the new one watched. Each
 * candidate "*.shm" file is validated by seg_open(); a file that fails is
 * reported once and remembered by name and inode (known.h), and looked at
 * again, silently, only once its stat says it changed (a `cp` seen before it
 * was complete), so that our own open and close of it (IN_CLOSE_WRITE)
 * cannot start a rescan storm. At most max_attach segments are attached:
 * COLLECTOR_MAX_SEGS, fewer when the descriptor limit (raised to its hard
 * limit at start) is lower. Past that, or when no descriptor is left, files
 * wait in a queue, never refused for it; at each rescan, segments with
 * nothing to read give their slot to the files that waited longest, and
 * wait again at the back (their records stay in their rings). For an attached
 * segment the producer's lifetime is watched with a pidfd polled through the
 * event ring; the pid is checked against the process start time recorded in
 * the segment, so a reused pid is not mistaken for the producer. The
 * producer's liveness lock (shared/abi.h SHMLOG_SEG_LOCK) has the last word:
 * while it is held the producer runs, whatever its pid says (one in another
 * pid namespace); the lock of a segment whose pid is not watched is looked
 * at in each reap. A segment is removed once its producer has ended (or
 * closed it) and every ring is drained; a segment rejected after attach
 * stays on disk for `shmlog read`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collector.h"
#include "pidinfo.h"

/* How long a producer's lock stays free while its process runs on (exec'd), seen at two reaps, before its log is
 * taken as ended: a program exec'd that ends at once is told by its exit status. */
#define DISCOVER_EXEC_MS 100

/* Make dir if missing (the default one open to every user, as producers
 * make it) and remember which directory it is. */
static int make_dir(struct collector *c)
{
	int rc = seg_mkdir_p(c->dir, strcmp(c->dir, "/dev/shm/shmlog") == 0);
	struct stat sb;
	if (rc == 0 && stat(c->dir, &sb) < 0)
		rc = -errno;
	if (rc == 0) {
		c->dir_dev = sb.st_dev;
		c->dir_ino = sb.st_ino;
	}
	return rc;
}

/* Remove watch wd, an earlier directory's, unless a segment attached from
 * that directory still needs it: its producer rings there. */
static void release_watch(struct collector *c, int wd)
{
	if (wd < 0 || wd == c->watch_wd)
		return;
	for (unsigned i = 0; i < c->n_segs; i++)
		if (c->segs[i]->wd == wd)
			return;
	inotify_rm_watch(c->inotify_fd, wd); /* fails if gone already: nothing to do */
}

/* Watch dir with inotify, in place of an earlier watch. */
static int watch_dir(struct collector *c)
{
	int wd = inotify_add_watch(c->inotify_fd, c->dir, DISCOVER_WATCH_MASK);
	if (wd < 0)
		return -errno;
	int old = c->watch_wd;
	c->watch_wd = wd;
	release_watch(c, old);
	return 0;
}

/*
 * Raise the descriptor limit to its hard limit, and size the attach slots
 * to it: two descriptors a segment (its file, its pidfd), the rest kept for
 * writers and the loop.
 */
static void size_slots(struct collector *c)
{
	struct rlimit rl;
	c->max_attach = COLLECTOR_MAX_SEGS;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t cur = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = cur;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 2 * COLLECTOR_MAX_SEGS + COLLECTOR_RESERVED_FDS)
		return;
	rlim_t spare = rl.rlim_cur > COLLECTOR_RESERVED_FDS + 2 ? rl.rlim_cur - COLLECTOR_RESERVED_FDS : 2;
	c->max_attach = (unsigned)(spare / 2);
}

int discover_init(struct collector *c)
{
	size_slots(c);
	int rc = make_dir(c);
	if (rc < 0) {
		collector_warn("%s: cannot create segment directory: %s", c->dir, strerror(-rc));
		return rc;
	}
	DIR *d = opendir(c->dir); /* one that cannot be read would collect nothing, silently */
	if (!d) {
		rc = -errno;
		collector_warn("%s: cannot read segment directory: %s", c->dir, strerror(-rc));
		return rc;
	}
	closedir(d);
	c->watch_wd = -1;
	c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->inotify_fd < 0 || watch_dir(c) < 0) {
		/* not fatal: the periodic rescan still finds segments */
		collector_warn("%s: inotify unavailable (%s); relying on periodic rescans", c->dir, strerror(errno));
		if (c->inotify_fd >= 0)
			close(c->inotify_fd);
		c->inotify_fd = -1;
	}
	return 0;
}

/*
 * Whether the pid s claims is its producer as far as we can tell: a process
 * of the segment's owner (checked first, so that a hostile header gets no
 * "process N ended" line for somebody else's process, whatever its start
 * time), started when the segment says. Sets s->pid_foreign or s->rd.gone
 * otherwise (both, with its end untold, for another's process that started
 * after the segment: the producer is gone, its pid reused). When the
 * producer has a liveness lock (held, seg_lock_held()), the lock tells its
 * end instead: its pid may be another pid namespace's, watched only when it
 * is a process of the owner, and otherwise its end is not told. Returns that.
 */
static bool pid_trusted(struct cseg *s, int held)
{
	/* the pid may have been reused since the producer died */
	uint64_t st = seg_proc_start_time((pid_t)s->seg.pid);
	bool later = s->seg.start_time && st != s->seg.start_time;
	if (s->seg.owner != 0 && !allow_pid_of(s->pidfd, (pid_t)s->seg.pid, s->seg.owner)) {
		if (held >= 0) { /* a lie, or another pid namespace's pid: the lock tells the end, which is not told */
			s->rd.end_untold = true;
			return false;
		}
		collector_warn("%s: claims pid %u, which is not a process of its owner (uid %u): its end is not "
			       "watched, and nothing is said of it",
			       s->seg.path, s->seg.pid, s->seg.owner);
		s->pid_foreign = true;
		/* started after the segment: not its producer (which gave up its user, say) but another's
		 * process on the pid the producer's end freed: the producer is gone, untold */
		s->rd.gone = s->rd.end_untold = later;
		return false;
	}
	if (later) {
		s->rd.gone = held != 1;
		return false;
	}
	return true;
}

/* An SQE of the event ring, submitting what is queued first if it is full. Returns it, or NULL. */
static struct io_uring_sqe *ev_sqe(struct collector *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ev);
	if (!sqe) {
		io_uring_submit(&c->ev);
		sqe = io_uring_get_sqe(&c->ev);
	}
	return sqe;
}

/*
 * Watch the end of s's producer: a pidfd polled on the event ring when its
 * pid is its own; else its liveness lock (or, without one, its pid) at each
 * reap. Sets s->rd.gone if it has ended already.
 */
static void watch_pid(struct collector *c, struct cseg *s)
{
	int held = seg_lock_held(&s->seg);
	s->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)s->seg.pid, 0);
	if (s->pidfd < 0) {
		/* ESRCH: ended already, unless its lock says it runs (its pid is another pid namespace's).
		 * Other errors: checked in reap */
		s->rd.gone = held == 0 || (errno == ESRCH && held < 0);
		s->pidfd = -1;
		return;
	}
	bool trusted = pid_trusted(s, held);
	s->rd.gone |= held == 0 && !trusted; /* its own pid is watched even so: it may be a zombie, or exec'd */
	if (!trusted) {
		close(s->pidfd);
		s->pidfd = -1;
		return;
	}
	struct io_uring_sqe *sqe = ev_sqe(c);
	if (sqe) {
		io_uring_prep_poll_add(sqe, s->pidfd, POLLIN);
		io_uring_sqe_set_data64(sqe, EV_PID | s->id);
		io_uring_submit(&c->ev);
	}
}

/* The name of s in its directory. */
static const char *seg_name(const struct cseg *s)
{
	const char *p = strrchr(s->seg.path, '/');
	return p ? p + 1 : s->seg.path;
}

/* Whether an attach failed for want of a slot or a descriptor, not because of the file. */
static bool transient(int rc)
{
	return rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM;
}

/* Open, check and attach the segment name (inode ino). Returns 0, or -errno (err says why). */
static int attach(struct collector *c, const char *name, uint64_t ino, char *err, size_t errlen)
{
	char path[4096 + 256];
	snprintf(path, sizeof path, "%s/%s", c->dir, name);
	/* a look that fails keeps its cseg for the next: thousands of refused
	 * files cost no allocation each */
	for (unsigned i = 0; i < c->n_segs; i++)
		if (c->segs[i]->ino == ino) { /* renamed or linked while attached: its rings are read already */
			snprintf(err, errlen, "%.200s: the segment attached already as %.200s", path, seg_name(c->segs[i]));
			return -EEXIST;
		}
	struct cseg *s = c->spare_cseg ? c->spare_cseg : calloc(1, sizeof *s);
	c->spare_cseg = NULL;
	if (!s)
		return -ENOMEM;
	int rc = seg_open_as(&s->seg, path, true, true, err, errlen);
	if (rc == 0 && !allow_owner(&c->cfg->allow, (uid_t)s->seg.owner)) {
		snprintf(err, errlen, "%.400s: owned by uid %u, who may not log here (collector.allow_users, "
			 "collector.allow_groups)", path, s->seg.owner);
		seg_close(&s->seg);
		rc = -EPERM;
	} else if (rc == 0 && reader_seg_init(&s->rd, &s->seg, &c->calib) < 0) {
		seg_close(&s->seg);
		rc = -ENOMEM;
	}
	if (rc < 0) {
		memset(s, 0, sizeof *s);
		c->spare_cseg = s;
		return rc;
	}
	s->id = ++c->next_id;
	s->ino = ino;
	s->pidfd = -1;
	s->wd = c->watch_wd;
	s->scan = c->known.scan;
	atomic_store_explicit(&s->seg.hdr->collector_pid, (uint64_t)getpid(), memory_order_relaxed);
	clock_store(s->seg.hdr, &c->calib);
	c->segs[c->n_segs++] = s;
	watch_pid(c, s);
	return 0;
}

/* Put (ino, name) at the back of the queue of files waiting for a slot. */
static void wait_turn(struct collector *c, uint64_t ino, const char *name)
{
	struct known_file *f = known_get(&c->known, ino, name);
	if (f && f->state != KNOWN_WAITING) {
		f->state = KNOWN_WAITING;
		f->ticket = ++c->next_ticket;
	}
}

/*
 * Look at name (inode ino) of the directory dfd: attach it, refuse it
 * (reported the first time only), or let it wait for a slot. Returns
 * whether it waits.
 */
static bool look_at(struct collector *c, int dfd, const char *name, uint64_t ino)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false; /* gone already */
	char err[512];
	int rc = c->n_segs < c->max_attach ? attach(c, name, ino, err, sizeof err) : -EMFILE;
	struct known_file *f = known_get(&c->known, ino, name);
	if (!f || rc == -ENOENT)
		return false; /* out of memory: looked at again next scan */
	if (rc == 0) {
		f->state = KNOWN_ATTACHED;
		return false;
	}
	if (transient(rc)) {
		wait_turn(c, ino, name);
		return true;
	}
	if (f->state != KNOWN_REFUSED) /* a file that changed since is looked at again silently */
		collector_warn("rejecting segment %s", err);
	f->state = KNOWN_REFUSED;
	f->sig = known_sig_of(&st);
	return false;
}

/* Whether the refused file f (name in dfd) is as it was when looked at. */
static bool unchanged(int dfd, const char *name, const struct known_file *f)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && known_sig_same(known_sig_of(&st), f->sig);
}

/* The files that wait for a slot in a scan, to be attached in turn. */
struct waiters {
	struct waiter {
		uint64_t ticket, ino;
		char name[256];
	} *v;
	unsigned n, cap;
};

static void waiters_add(struct waiters *w, struct collector *c, uint64_t ino, const char *name)
{
	struct known_file *f = known_get(&c->known, ino, name);
	if (!f || (w->n == w->cap && !(w->v = reallocarray(w->v, w->cap = w->cap ? w->cap * 2 : 16, sizeof *w->v))))
		return; /* out of memory: it waits for the next scan */
	struct waiter *x = &w->v[w->n++];
	x->ticket = f->ticket;
	x->ino = ino;
	snprintf(x->name, sizeof x->name, "%s", name);
}

static int by_ticket(const void *a, const void *b)
{
	const struct waiter *x = a, *y = b;
	return x->ticket < y->ticket ? -1 : x->ticket > y->ticket;
}

/* Attach the waiting files of w in their turn while slots are free; free w. Returns how many still wait. */
static unsigned attach_waiters(struct collector *c, int dfd, struct waiters *w)
{
	unsigned left = 0;
	if (w->n)
		qsort(w->v, w->n, sizeof *w->v, by_ticket);
	for (unsigned i = 0; i < w->n; i++)
		left += c->n_segs >= c->max_attach || look_at(c, dfd, w->v[i].name, w->v[i].ino);
	free(w->v);
	return left;
}

/* Whether s has nothing to read or deliver and was attached before this scan: it may give its slot up. */
static bool idle(const struct collector *c, const struct cseg *s)
{
	if (s->pending || s->rd.rejected || s->rd.finished || s->rd.gone || s->scan == c->known.scan)
		return false;
	for (uint32_t i = 0; i < s->seg.ring_count; i++)
		/* acquire: pairs with the producer's release of tail */
		if (atomic_load_explicit(&seg_ring(&s->seg, i)->tail, memory_order_acquire) != s->rd.rings[i].pos)
			return false;
	return true;
}

static void detach(struct collector *c, unsigned idx, bool remove);

/* Give up to want slots of idle segments, attached longest, to the files that wait. */
static void evict_idle(struct collector *c, unsigned want)
{
	for (unsigned i = 0; want && i < c->n_segs;) {
		struct cseg *s = c->segs[i];
		if (!idle(c, s)) {
			i++;
			continue;
		}
		wait_turn(c, s->ino, seg_name(s)); /* at the back of the queue: nothing of it is lost */
		detach(c, i, false);
		want--;
	}
}

void discover_scan(struct collector *c)
{
	c->last_rescan_ms = collector_now_ms();
	/* The directory was removed or renamed (inotify says so at once when
	 * nothing in it is mapped; else this look at it does): make it again,
	 * as at start, and watch the new one before reading it, so that a
	 * segment made in it is either read below or announced. Segments
	 * attached from the old one stay mapped and are still drained, and
	 * the old watch stays for them (release_watch). */
	struct stat sb;
	if (stat(c->dir, &sb) < 0 || sb.st_dev != c->dir_dev || sb.st_ino != c->dir_ino)
		c->watch_lost = true;
	if (c->watch_lost) {
		int rc = make_dir(c);
		if (rc < 0) {
			if (!c->watch_warned)
				collector_warn("%s: segment directory gone and cannot be made again (%s); "
					       "retrying at each rescan", c->dir, strerror(-rc));
		} else if (c->inotify_fd >= 0 && (rc = watch_dir(c)) < 0) {
			if (!c->watch_warned)
				collector_warn("%s: segment directory made again but cannot be watched (%s); "
					       "retrying at each rescan", c->dir, strerror(-rc));
		}
		c->watch_warned = rc < 0;
		c->watch_lost = rc < 0;
	}
	DIR *d = opendir(c->dir);
	if (!d)
		return;
	c->known.scan++;
	struct waiters w = {0};
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".shm") != 0)
			continue;
		struct known_file *f = known_get(&c->known, e->d_ino, e->d_name);
		if (!f)
			continue; /* out of memory: the next scan */
		f->scan = c->known.scan;
		if (f->state == KNOWN_ATTACHED || (f->state == KNOWN_REFUSED && unchanged(dirfd(d), e->d_name, f)))
			continue;
		if (f->state == KNOWN_WAITING || c->n_segs >= c->max_attach) {
			wait_turn(c, e->d_ino, e->d_name);
			waiters_add(&w, c, e->d_ino, e->d_name);
		} else if (look_at(c, dirfd(d), e->d_name, e->d_ino)) {
			waiters_add(&w, c, e->d_ino, e->d_name);
		}
	}
	unsigned waiting = attach_waiters(c, dirfd(d), &w);
	closedir(d);
	/* turns at the periodic pace: a detach's close (IN_CLOSE_WRITE) starts a rescan too */
	if (waiting && collector_now_ms() - c->last_turn_ms >= c->cfg->rescan_ms) {
		c->last_turn_ms = collector_now_ms();
		evict_idle(c, waiting);
	}
	known_sweep(&c->known);
	if (waiting && !c->wait_warned)
		collector_warn("%s: %u segments wait for one of the %u attach slots; idle segments take turns",
			       c->dir, waiting, c->max_attach);
	c->wait_warned = waiting > 0;
}

void discover_reject(struct collector *c, struct cseg *s, const char *why)
{
	if (s->rd.rejected)
		return;
	s->rd.rejected = true;
	collector_warn("rejecting segment %s: %s (left on disk for `shmlog read`)", s->seg.path, why);
	struct known_file *f = known_get(&c->known, s->ino, seg_name(s));
	struct stat st;
	if (f && fstat(s->seg.fd, &st) == 0) { /* looked at again only once it changes */
		f->state = KNOWN_REFUSED;
		f->sig = known_sig_of(&st);
	}
}

/* Into s->rd, the producer's exit status (pidinfo.h). Returns as pidinfo_exit_status() does. */
static int read_exit_status(struct cseg *s)
{
	int rc = pidinfo_exit_status(s->pidfd, &s->rd.exit_status);
	s->rd.exit_known = rc == 1;
	return rc;
}

/*
 * The pid of s's producer ended: the reader is told once its exit status is
 * known, or will not be. Unless its liveness lock is still held (by a child
 * forked past pthread_atfork, or its pid was not its own): then the lock is
 * watched in reap.
 */
static void mark_gone(struct collector *c, struct cseg *s)
{
	if (s->died_ms) {
		s->died_ms = 0;
		c->dying--;
	}
	if (seg_lock_held(&s->seg) == 1) {
		close(s->pidfd); /* its poll has completed */
		s->pidfd = -1;
		return;
	}
	s->rd.gone = true;
}

void discover_process_died(struct collector *c, uint64_t seg_id)
{
	for (unsigned i = 0; i < c->n_segs; i++) {
		struct cseg *s = c->segs[i];
		if (s->id != seg_id || s->rd.gone || s->died_ms)
			continue;
		if (read_exit_status(s) != 0) {
			mark_gone(c, s);
			continue;
		}
		/* its parent has not reaped it yet: it usually does at once */
		s->died_ms = collector_now_ms();
		c->dying++;
	}
}

void discover_await_exits(struct collector *c, bool now)
{
	long long t = collector_now_ms();
	for (unsigned i = 0; c->dying && i < c->n_segs; i++) {
		struct cseg *s = c->segs[i];
		if (s->died_ms && (now || read_exit_status(s) != 0 || t - s->died_ms >= DISCOVER_EXIT_WAIT_MS))
			mark_gone(c, s);
	}
}

static void detach(struct collector *c, unsigned idx, bool remove)
{
	struct cseg *s = c->segs[idx];
	if (s->died_ms)
		c->dying--;
	if (s->pidfd >= 0) {
		/* a close does not end the poll on it (it holds the pidfd until the producer exits) */
		struct io_uring_sqe *sqe = ev_sqe(c);
		if (sqe) {
			io_uring_prep_poll_remove(sqe, EV_PID | s->id); /* it completes with -ECANCELED, ignored */
			io_uring_sqe_set_data64(sqe, EV_UNWATCH);
			io_uring_submit(&c->ev);
		}
		close(s->pidfd);
	}
	if (!remove && !s->rd.rejected) /* a broken file may not even have its header page any more */
		atomic_store_explicit(&s->seg.hdr->collector_pid, 0, memory_order_relaxed);
	struct stat was;
	bool known = fstat(s->seg.fd, &was) == 0;
	seg_close(&s->seg);
	/* unmapped first: once the file is gone from the directory, nothing of
	 * ours keeps the directory alive (and inotify quiet, were it removed);
	 * and only while its name is still that file: it may name another now */
	struct stat now;
	if (remove && known && lstat(s->seg.path, &now) == 0 && now.st_dev == was.st_dev && now.st_ino == was.st_ino &&
	    unlink(s->seg.path) < 0 && errno != ENOENT)
		collector_warn("%s: cannot remove drained segment: %s", s->seg.path, strerror(errno));
	struct known_file *f = known_get(&c->known, s->ino, seg_name(s));
	if (f && f->state == KNOWN_ATTACHED) /* listed again, it is looked at again */
		f->state = KNOWN_NEW;
	/* keep attach order: it is the merge's tie-break between segments (reader.h) */
	memmove(&c->segs[idx], &c->segs[idx + 1], (--c->n_segs - idx) * sizeof c->segs[0]);
	release_watch(c, s->wd);
	reader_seg_free(&s->rd);
	free(s);
}

/* Whether the producer of s, whose pid is not watched by a pidfd, is known to have ended. */
static bool unwatched_ended(const struct cseg *s)
{
	int held = seg_lock_held(&s->seg);
	if (held >= 0)
		return held == 0;
	return !s->pid_foreign && kill((pid_t)s->seg.pid, 0) < 0 && errno == ESRCH;
}

/*
 * A producer whose pid is watched (a pidfd: its own) and runs with its
 * address space, but whose liveness lock is free, has exec'd another
 * program: its log has ended (an exit drops the address space before the
 * lock, and its pidfd tells it). Seen so at two reaps DISCOVER_EXEC_MS
 * apart, so that a program that ends at once is told by its exit status.
 * Sets rd.gone and rd.execd then.
 */
static void check_exec(struct cseg *s, long long now)
{
	if (s->rd.gone || s->pidfd < 0 || s->died_ms || seg_lock_held(&s->seg) != 0 || seg_closed(&s->seg) ||
	    !seg_proc_runs_on((pid_t)s->seg.pid, s->seg.start_time)) {
		s->unlocked_ms = 0;
		return;
	}
	if (!s->unlocked_ms)
		s->unlocked_ms = now;
	else if (now - s->unlocked_ms >= DISCOVER_EXEC_MS)
		s->rd.gone = s->rd.execd = true;
}

void discover_reap(struct collector *c)
{
	long long now = collector_now_ms();
	for (unsigned i = 0; i < c->n_segs;) {
		struct cseg *s = c->segs[i];
		if (s->pending) { /* batches not yet delivered point at it */
			i++;
			continue;
		}
		if (s->rd.rejected) {
			detach(c, i, false);
			continue;
		}
		if (!s->rd.gone && s->pidfd < 0 && unwatched_ended(s))
			s->rd.gone = true;
		check_exec(s, now);
		/* finished: producer gone or closed, drained, and its end written
		 * out by the drain cycle (drain.c) */
		if (s->rd.finished) {
			detach(c, i, true);
			continue;
		}
		i++;
	}
}

void discover_detach_all(struct collector *c)
{
	while (c->n_segs)
		detach(c, c->n_segs - 1, false);
	known_free(&c->known);
	free(c->spare_cseg);
	c->spare_cseg = NULL;
}

/* A producer may still write to s (the doorbell concerns only those). */
static bool may_write(const struct cseg *s)
{
	return !s->rd.gone && !s->rd.rejected;
}

bool discover_set_bells(struct collector *c, bool on)
{
	for (unsigned i = 0; on && i < c->n_segs; i++)
		if (may_write(c->segs[i]) && !c->segs[i]->seg.bell)
			return false; /* a producer that never rings: keep polling */
	for (unsigned i = 0; i < c->n_segs; i++) {
		const struct cseg *s = c->segs[i];
		for (uint32_t r = 0; may_write(s) && r < s->seg.ring_count; r++) /* free rings too: a thread may claim one */
			atomic_store_explicit(&seg_ring(&s->seg, r)->bell, on, memory_order_relaxed);
	}
	return true;
}

bool discover_bells_intact(const struct collector *c)
{
	for (unsigned i = 0; i < c->n_segs; i++) {
		const struct cseg *s = c->segs[i];
		for (uint32_t r = 0; may_write(s) && r < s->seg.ring_count; r++)
			if (!atomic_load_explicit(&seg_ring(&s->seg, r)->bell, memory_order_relaxed))
				return false;
	}
	return true;
}

void discover_publish_clock(struct collector *c)
{
	for (unsigned i = 0; i < c->n_segs; i++)
		if (!c->segs[i]->rd.rejected)
			clock_store(c->segs[i]->seg.hdr, &c->calib);
}
