/*
 * binary_move.c — a binary log removed under its writer while the writer
 * holds bytes not yet written to it (a backlog: the disk was full, and the
 * file was deleted to make room). Written into the removed file, they would
 * be lost; they go to a new file at the path instead, after what they need
 * to decode there (shared/binlog.h, rules 3 and 4): a file header and a
 * session, every definition frame the removed file holds since its last
 * file header, in order (so the writer's ids mean what they meant), and the
 * start of a frame its last write left cut short (the backlog goes on with
 * the rest of it). All of it is read back from the removed file, which the
 * writer still holds open (/proc/self/fd).
 */
#include "binary_move.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shared/binlog.h"
#include "../shared/clock.h"

#define MOVE_WINDOW (1u << 20) /* bytes of the removed file read at a time */

struct window {
	int fd;
	uint64_t size; /* the removed file's */
	uint64_t at;   /* file offset of buf[0] */
	size_t len;    /* bytes in buf */
	uint8_t buf[MOVE_WINDOW];
};

/* The file's bytes [off, off + n) (n <= MOVE_WINDOW, inside the file), read into the window if need be.
 * Returns them, or NULL when they cannot be read. */
static const uint8_t *bytes_at(struct window *w, uint64_t off, size_t n)
{
	if (off >= w->at && off + n <= w->at + w->len)
		return w->buf + (off - w->at);
	size_t want = w->size - off < MOVE_WINDOW ? (size_t)(w->size - off) : MOVE_WINDOW, got = 0;
	while (got < want) {
		ssize_t r = pread(w->fd, w->buf + got, want - got, (off_t)(off + got));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	w->at = off;
	w->len = got;
	return n <= got ? w->buf : NULL;
}

/* The offset of the next writer's start (a file header and its session) at or after off, or -EPROTO when
 * there is none, -EIO. */
static long long next_start(struct window *w, uint64_t off)
{
	const size_t start = BINLOG_HEADER_BYTES + BINLOG_SESSION_BYTES;
	while (w->size >= start && off <= w->size - start) {
		size_t n = w->size - off < MOVE_WINDOW ? (size_t)(w->size - off) : MOVE_WINDOW;
		const uint8_t *p = bytes_at(w, off, n), *m = p ? memmem(p, n, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) : NULL;
		if (!p)
			return -EIO;
		if (!m) {
			off += n > BINLOG_MAGIC_BYTES ? n - (BINLOG_MAGIC_BYTES - 1) : n;
			continue;
		}
		uint64_t q = off + (uint64_t)(m - p);
		const uint8_t *h = q <= w->size - start ? bytes_at(w, q, start) : NULL;
		if (h && binlog_writer_start(h, start) == 1)
			return (long long)q;
		off = q + 1;
	}
	return -EPROTO;
}

/*
 * Walk the removed file unit by unit: its definition frames since its last
 * file header into defs. What is no unit (an earlier collector's torn tail,
 * zeros a crash left) is skipped to the next writer's start, as decode
 * does. Returns where its last whole unit ends (what follows is a frame cut
 * short), or -errno: -EPROTO when what follows no unit is no writer's start
 * either, -EIO, -ENOMEM, -E2BIG.
 */
static long long walk(struct window *w, struct sbuf *defs)
{
	uint64_t off = 0;
	while (off < w->size) {
		size_t n = w->size - off < BINLOG_HEADER_BYTES ? (size_t)(w->size - off) : BINLOG_HEADER_BYTES;
		const uint8_t *p = bytes_at(w, off, n);
		uint32_t size = 0;
		uint16_t kind = 0;
		int head = p ? binlog_unit_head(p, n, &size, &kind) : -2;
		if (head == -2)
			return -EIO;
		if (head == -1 || (head == 2 && n < BINLOG_HEADER_BYTES) || (head == 1 && size > w->size - off))
			break; /* cut short */
		if (head == 0) {
			long long q = next_start(w, off + 1);
			if (q < 0)
				return q;
			off = (uint64_t)q; /* a header: the definitions start over there */
			continue;
		}
		if (head == 2) {
			sbuf_reset(defs);
			off += BINLOG_HEADER_BYTES;
			continue;
		}
		if (binlog_kind_defines(kind)) {
			if (size > MOVE_WINDOW)
				return -E2BIG;
			if (!(p = bytes_at(w, off, size)))
				return -EIO;
			sbuf_append(defs, p, size);
			if (defs->oom)
				return -ENOMEM;
		}
		off += size;
	}
	return (long long)off;
}

/* The prefix of the new file from the walked window w (defs, the cut frame from end) into out. Returns 0 or
 * -errno. */
static int put_prefix(struct window *w, const struct sbuf *defs, uint64_t end, uint64_t start_ns, struct sbuf *out)
{
	uint64_t cut = w->size - end;
	const uint8_t *p = NULL;
	if (cut > MOVE_WINDOW)
		return -E2BIG;
	if (cut && !(p = bytes_at(w, end, (size_t)cut)))
		return -EIO;
	if (binlog_put_header(out, clock_realtime_ns()) < 0 || binlog_put_session(out, (uint32_t)getpid(), start_ns) < 0)
		return -ENOMEM;
	sbuf_append(out, defs->data, defs->len);
	if (cut)
		sbuf_append(out, p, (size_t)cut);
	return out->oom ? -ENOMEM : 0;
}

int binary_move_prefix(int old_fd, uint64_t start_ns, struct sbuf *out)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", old_fd);
	struct window *w = malloc(sizeof *w);
	if (!w)
		return -ENOMEM;
	w->at = w->len = 0;
	w->fd = open(proc, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc = w->fd < 0 || fstat(w->fd, &st) < 0 ? -errno : 0;
	struct sbuf defs = {0};
	if (rc == 0) {
		w->size = (uint64_t)st.st_size;
		long long end = walk(w, &defs);
		rc = end < 0 ? (int)end : put_prefix(w, &defs, (uint64_t)end, start_ns, out);
	}
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	sbuf_free(&defs);
	return rc;
}
