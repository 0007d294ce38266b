/*
 * uio.h — batched writes through io_uring.
 *
 * The collector writes each batch of formatted output as a set of requests,
 * one per writer, submitted together with one io_uring_enter. Short writes
 * are resubmitted for the rest, EINTR/EAGAIN retried, and each request ends
 * with its own error so that one failing writer does not hold up the others.
 */
#ifndef SHMLOG_UIO_H
#define SHMLOG_UIO_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uio_req {
	int fd;           /* where to write */
	const char *buf;  /* what */
	size_t len;
	bool sock;              /* a non-blocking socket (see above) */
	const uint32_t *dgram;  /* sock: the lengths of the datagrams buf holds (summing to len); NULL: a stream */
	uint32_t n_dgram;
	uint32_t dgram_done;    /* out: datagrams sent or dropped */
	uint32_t dgram_dropped; /* out: of those, datagrams the network refused (dropped: UDP loses them) */
	bool ready;             /* the writer wrote itself (TLS through OpenSSL): done and err are set, nothing is submitted */
	size_t done;      /* out: bytes written */
	int err;          /* out: 0, or -errno of the failure that stopped it */
};

/*
 * Write every request completely (or until it fails), submitting all of them
 * at once and resubmitting short writes. Writes go at the file's current
 * position (offset -1), so files opened with O_APPEND append.
 * Returns 0 when every request completed, or the first request's -errno.
 */
int uio_write_batch(struct io_uring *ring, struct uio_req *reqs, unsigned n);

/* Write all len bytes of buf to fd with write(2), outside io_uring (a worker, a final chunk). Returns 0 or -errno. */
int uio_write_all(int fd, const void *buf, size_t len);

#endif
