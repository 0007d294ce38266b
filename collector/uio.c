/*
 * uio.c — writing a batch of buffers through io_uring, completely.
 *
 * One batch is one request per writer. All requests are queued as writes at
 * the file's current position (offset -1, so O_APPEND files append) and
 * submitted with a single io_uring_submit_and_wait(). Each SQE carries its
 * request's index in user_data. Completions are then handled one by one:
 *
 *   res > 0            the request advances by res; if bytes remain (a short
 *                      write, e.g. to a pipe), the rest is queued again;
 *   -EINTR, -EAGAIN    the same bytes are queued again (a socket request:
 *                      -EAGAIN ends it, its socket buffer is full);
 *   other res < 0      on a datagram request: the datagram is dropped (a
 *                      port that refuses it, no route: UDP loses it) and
 *                      counted, and the next one goes on;
 *   res == 0           nothing was written although bytes remain: -EIO;
 *   other res < 0      the request ends with that error.
 *
 * A request that fails does not stop the others. At most as many writes are
 * in flight as the submission queue has entries, so a batch larger than the
 * ring goes out in chunks and the completion queue (at least as large as the
 * submission queue) can never overflow.
 *
 * The ring must be used only by this module: a completion left over from
 * something else would be taken for one of ours.
 */
#include "uio.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A bounded ring of request indices waiting for an SQE. */
struct uio_queue {
	unsigned *idx;
	unsigned head, count, cap;
};

static void queue_push(struct uio_queue *q, unsigned i)
{
	q->idx[(q->head + q->count) % q->cap] = i;
	q->count++;
}

static unsigned queue_pop(struct uio_queue *q)
{
	unsigned i = q->idx[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	return i;
}

/* Handle one completion for request r. Returns true if r must be queued again. */
static bool complete(struct uio_req *r, int res)
{
	if (res > 0) {
		r->done += (size_t)res;
		r->dgram_done += r->dgram != NULL;
		return r->done < r->len;
	}
	if (res == -EAGAIN && r->sock)
		return false; /* the socket's buffer is full: what was sent is done, the rest waits */
	if (res == -EINTR || res == -EAGAIN)
		return true;
	if (r->dgram && res < 0) { /* the writer learns of it from dgram_dropped and err */
		r->done += r->dgram[r->dgram_done++];
		r->dgram_dropped++;
		r->err = res;
		return r->done < r->len;
	}
	r->err = res == 0 ? -EIO : res;
	return false;
}

/* A batch on its way: the requests, the queue of those waiting for an SQE, and what the kernel holds. */
struct uio_batch {
	struct io_uring *ring;
	struct uio_req *reqs;
	unsigned n;
	struct uio_queue q;
	unsigned inflight;    /* submitted, completion not yet seen */
	unsigned unsubmitted; /* SQEs prepared but not yet taken by the kernel */
};

/* Prepare an SQE for each queued request, as far as the ring has room and in flight stays bounded. */
static void prep_queued(struct uio_batch *b)
{
	unsigned max_inflight = b->ring->sq.ring_entries;
	while (b->q.count > 0 && b->inflight + b->unsubmitted < max_inflight) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(b->ring);
		if (!sqe)
			return;
		unsigned i = queue_pop(&b->q);
		struct uio_req *r = &b->reqs[i];
		size_t left = r->len - r->done;
		/* A single write returns at most INT_MAX bytes anyway; the rest is a short write. */
		unsigned chunk = left > 0x7ffff000u ? 0x7ffff000u : (unsigned)left;
		if (r->dgram)
			chunk = r->dgram[r->dgram_done];
		if (r->sock)
			io_uring_prep_send(sqe, r->fd, r->buf + r->done, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			io_uring_prep_write(sqe, r->fd, r->buf + r->done, chunk, (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, i);
		b->unsubmitted++;
	}
}

/* Submit what was prepared, wait for a completion, and handle every completion there is.
 * Returns 0, or the error of the ring itself (not an interruption or a full completion queue):
 * the requests still queued or in flight cannot be completed then. */
static int submit_and_reap(struct uio_batch *b)
{
	int s = io_uring_submit_and_wait(b->ring, 1);
	if (s < 0 && s != -EINTR && s != -EAGAIN && s != -EBUSY)
		return s;
	if (s >= 0) {
		b->inflight += (unsigned)s;
		b->unsubmitted -= (unsigned)s;
	}
	struct io_uring_cqe *cqe;
	while (b->inflight > 0 && io_uring_peek_cqe(b->ring, &cqe) == 0) {
		unsigned i = (unsigned)io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(b->ring, cqe);
		b->inflight--;
		if (i < b->n && complete(&b->reqs[i], res))
			queue_push(&b->q, i);
	}
	return 0;
}

/* Reset the out fields of every request that is not ready. */
static void reset_reqs(struct uio_req *reqs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (reqs[i].ready)
			continue;
		reqs[i].done = 0;
		reqs[i].dgram_done = 0;
		reqs[i].dgram_dropped = 0;
		reqs[i].err = 0;
	}
}

/*
 * Write every request completely (or until it fails), all submitted
 * together; see the file comment for how completions are handled. Each
 * request's done and err are set. Returns 0 when every request completed,
 * otherwise the -errno of the lowest-indexed request that failed (or -ENOMEM
 * / the submission error, which are then also recorded in every unfinished
 * request).
 */
int uio_write_batch(struct io_uring *ring, struct uio_req *reqs, unsigned n)
{
	struct uio_batch b = {.ring = ring, .reqs = reqs, .n = n, .q = {.cap = n ? n : 1}};
	reset_reqs(reqs, n);
	b.q.idx = malloc(b.q.cap * sizeof *b.q.idx);
	if (!b.q.idx) {
		for (unsigned i = 0; i < n; i++)
			reqs[i].err = -ENOMEM;
		return n ? -ENOMEM : 0;
	}
	for (unsigned i = 0; i < n; i++)
		if (reqs[i].len > 0 && !reqs[i].ready)
			queue_push(&b.q, i);
	int ret = 0;
	while (b.q.count > 0 || b.inflight > 0 || b.unsubmitted > 0) {
		prep_queued(&b);
		if ((ret = submit_and_reap(&b)) < 0)
			break;
	}
	free(b.q.idx);
	for (unsigned i = 0; i < n; i++) {
		if (ret < 0 && reqs[i].err == 0 && reqs[i].done < reqs[i].len)
			reqs[i].err = ret;
		if (ret == 0 && reqs[i].err)
			return reqs[i].err;
	}
	return ret;
}

int uio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
