/*
 * discover.c — finding, validating, attaching and retiring segments.
 *
 * The directory is watched with inotify (a segment appears by rename, so
 * IN_MOVED_TO is what announces it; IN_ATTRIB or IN_MODIFY is a producer
 * waking us, loop.c) and rescanned every rescan_ms as a safety net; a
 * directory removed or renamed is made again and the new one watched. Each
 * candidate "*.shm" file is validated by seg_open(); a file that fails is
 * reported once and remembered by name and inode. For an attached
 * segment the producer's lifetime is watched with a pidfd polled through the
 * event ring; the pid is checked against the process start time recorded in
 * the segment, so a reused pid is not mistaken for the producer. A segment
 * is removed once its producer has ended (or closed it) and every ring is
 * drained; a segment rejected after attach stays on disk for `shmlog read`.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collector.h"

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

int discover_init(struct collector *c)
{
	int rc = make_dir(c);
	if (rc < 0) {
		collector_warn("%s: cannot create segment directory: %s", c->dir, strerror(-rc));
		return rc;
	}
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

static bool rejected(struct collector *c, const char *name, uint64_t ino)
{
	for (unsigned i = 0; i < c->n_rejects; i++)
		if (c->rejects[i].ino == ino && strcmp(c->rejects[i].name, name) == 0)
			return true;
	return false;
}

static void remember_reject(struct collector *c, const char *name, uint64_t ino)
{
	if (c->n_rejects == c->cap_rejects) {
		unsigned cap = c->cap_rejects ? c->cap_rejects * 2 : 16;
		struct reject *r = realloc(c->rejects, cap * sizeof *r);
		if (!r)
			return;
		c->rejects = r;
		c->cap_rejects = cap;
	}
	struct reject *r = &c->rejects[c->n_rejects++];
	size_t n = strnlen(name, sizeof r->name - 1); /* a directory entry's name fits */
	memcpy(r->name, name, n);
	r->name[n] = 0;
	r->ino = ino;
}

static void watch_pid(struct collector *c, struct cseg *s)
{
	s->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)s->seg.pid, 0);
	if (s->pidfd < 0) {
		/* ESRCH: gone already. Other errors: fall back to /proc checks in reap */
		s->rd.gone = errno == ESRCH;
		s->pidfd = -1;
		return;
	}
	/* the pid may have been reused since the producer died */
	uint64_t st = seg_proc_start_time((pid_t)s->seg.pid);
	if (s->seg.start_time && st != s->seg.start_time) {
		s->rd.gone = true;
		close(s->pidfd);
		s->pidfd = -1;
		return;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ev);
	if (!sqe) {
		io_uring_submit(&c->ev);
		sqe = io_uring_get_sqe(&c->ev);
	}
	if (sqe) {
		io_uring_prep_poll_add(sqe, s->pidfd, POLLIN);
		io_uring_sqe_set_data64(sqe, EV_PID | s->id);
		io_uring_submit(&c->ev);
	}
}

static void attach(struct collector *c, const char *name, uint64_t ino)
{
	char path[4096 + 256];
	snprintf(path, sizeof path, "%s/%s", c->dir, name);
	struct cseg *s = calloc(1, sizeof *s);
	if (!s)
		return;
	char err[512];
	int rc = seg_open(&s->seg, path, true, err, sizeof err);
	if (rc == -EAGAIN || rc == -ENOENT) {
		free(s); /* still being created, or gone: look again later */
		return;
	}
	if (rc < 0) {
		collector_warn("rejecting segment %s", err);
		remember_reject(c, name, ino);
		free(s);
		return;
	}
	if (c->n_segs == COLLECTOR_MAX_SEGS) {
		collector_warn("%s: too many segments (%u); not attached", path, COLLECTOR_MAX_SEGS);
		seg_close(&s->seg);
		free(s);
		return;
	}
	if (reader_seg_init(&s->rd, &s->seg, &c->calib) < 0) {
		seg_close(&s->seg);
		free(s);
		return;
	}
	s->id = ++c->next_id;
	s->ino = ino;
	s->pidfd = -1;
	s->wd = c->watch_wd;
	atomic_store_explicit(&s->seg.hdr->collector_pid, (uint64_t)getpid(), memory_order_relaxed);
	clock_store(s->seg.hdr, &c->calib);
	c->segs[c->n_segs++] = s;
	if (!s->rd.rejected)
		watch_pid(c, s);
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
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".shm") != 0)
			continue;
		bool known = false;
		for (unsigned i = 0; i < c->n_segs && !known; i++) {
			const char *p = strrchr(c->segs[i]->seg.path, '/');
			known = c->segs[i]->ino == e->d_ino && p && strcmp(p + 1, e->d_name) == 0;
		}
		if (known || rejected(c, e->d_name, e->d_ino))
			continue;
		attach(c, e->d_name, e->d_ino);
	}
	closedir(d);
}

void discover_reject(struct collector *c, struct cseg *s, const char *why)
{
	if (s->rd.rejected)
		return;
	s->rd.rejected = true;
	collector_warn("rejecting segment %s: %s (left on disk for `shmlog read`)", s->seg.path, why);
	const char *p = strrchr(s->seg.path, '/');
	remember_reject(c, p ? p + 1 : s->seg.path, s->ino);
}

void discover_process_died(struct collector *c, uint64_t seg_id)
{
	for (unsigned i = 0; i < c->n_segs; i++)
		if (c->segs[i]->id == seg_id)
			c->segs[i]->rd.gone = true;
}

static void detach(struct collector *c, unsigned idx, bool remove)
{
	struct cseg *s = c->segs[idx];
	if (s->pidfd >= 0)
		close(s->pidfd); /* the pending poll completes with an error and is ignored */
	if (!remove && !s->rd.rejected) /* a broken file may not even have its header page any more */
		atomic_store_explicit(&s->seg.hdr->collector_pid, 0, memory_order_relaxed);
	seg_close(&s->seg);
	/* unmapped first: once the file is gone from the directory, nothing of
	 * ours keeps the directory alive (and inotify quiet, were it removed) */
	if (remove && unlink(s->seg.path) < 0 && errno != ENOENT)
		collector_warn("%s: cannot remove drained segment: %s", s->seg.path, strerror(errno));
	/* keep attach order: it is the merge's tie-break between segments (reader.h) */
	memmove(&c->segs[idx], &c->segs[idx + 1], (--c->n_segs - idx) * sizeof c->segs[0]);
	release_watch(c, s->wd);
	reader_seg_free(&s->rd);
	free(s);
}

void discover_reap(struct collector *c)
{
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
		if (!s->rd.gone && s->pidfd < 0 && kill((pid_t)s->seg.pid, 0) < 0 && errno == ESRCH)
			s->rd.gone = true;
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
	free(c->rejects);
	c->rejects = NULL;
	c->n_rejects = c->cap_rejects = 0;
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
