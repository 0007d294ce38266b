/*
 * syslog_spool.c — the syslog writer's disk spool (format and protocol in
 * syslog_spool.h).
 *
 * The writer appends while its receiver is away (spool_take, then its
 * request writes sp->out at the file's end: O_APPEND), and reads back once
 * it is connected (spool_read), oldest first, in chunks of SPOOL_CHUNK. A
 * spool that is dropping (full) stays so until it has been sent completely
 * and emptied: everything after the loss then follows the writer's notice
 * of it, never before.
 */
#include "syslog_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"

#define SPOOL_CHUNK (256u << 10) /* bytes read back at a time */
#define SPOOL_ENTRY_MAX ((1u << 20) + 16)

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Store pos in NAME.spool-pos. */
static void save_pos(struct syslog_spool *sp)
{
	unsigned char b[8];
	put_le(b, sp->pos, 8);
	if (pwrite(sp->pos_fd, b, 8, 0) != 8)
		collector_warn("spool %s: cannot store the send position: %s", sp->path, strerror(errno));
}

/* Open path (created 0600). Returns the descriptor, or -errno with d filled (after where). */
static int open_file(const char *path, int flags, const char *where, struct diag *d)
{
	int fd = open(path, flags | O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		if (snprintf(d->msg, sizeof d->msg, "%scannot open \"%s\": %s", where, path, strerror(e)) < 0)
			d->msg[0] = '\0';
		return -e;
	}
	return fd;
}

/* The length head of the entry at at, if it is one that fits before stop (SPOOL_ENTRY_HEAD plus it), else 0. */
static uint64_t entry_len(const unsigned char *head, uint64_t at, uint64_t stop)
{
	uint64_t len = get_le(head, SPOOL_ENTRY_HEAD);
	return len == 0 || len > SPOOL_ENTRY_MAX || at + SPOOL_ENTRY_HEAD + len > stop ? 0 : len;
}

/*
 * Walk whole entries from at by their length heads, a chunk at a time, as
 * long as they end by stop. Returns where the walk stopped: stop, or the
 * start of the first entry that is damaged, cut short or runs past stop.
 */
static uint64_t entries_end(const struct syslog_spool *sp, uint64_t at, uint64_t stop)
{
	static unsigned char b[SPOOL_CHUNK];
	while (at < stop) {
		ssize_t got = pread(sp->fd, b, sizeof b, (off_t)at);
		if (got < (ssize_t)SPOOL_ENTRY_HEAD)
			return at;
		size_t off = 0;
		uint64_t len;
		while (off + SPOOL_ENTRY_HEAD <= (size_t)got && (len = entry_len(b + off, at + off, stop)))
			off += SPOOL_ENTRY_HEAD + len;
		if (!off)
			return at;
		at += off;
	}
	return at;
}

/*
 * The send position in the middle of an entry: NAME.spool-pos is out of
 * step with the spool. A position is stored only at an entry, and only
 * emptying cuts the spool back past it, so the spool was emptied and filled
 * again with the 0 then stored lost (a power loss), or a hand edited one:
 * none of what it holds was sent, so all of it goes. Damage before the
 * position (the entries before it do not lead to it) leaves it as it is.
 * Returns whether it moved.
 */
static bool pos_to_start(struct syslog_spool *sp)
{
	unsigned char head[SPOOL_ENTRY_HEAD];
	uint64_t at = entries_end(sp, 0, sp->pos), len = 0;
	if (at < sp->pos && pread(sp->fd, head, sizeof head, (off_t)at) == (ssize_t)sizeof head)
		len = entry_len(head, at, UINT64_MAX); /* torn (its end past the file's) or not */
	if (!len || at + SPOOL_ENTRY_HEAD + len <= sp->pos)
		return false;
	collector_warn("spool %s: its send position %llu (%s-pos) is inside the entry at offset %llu: sending it "
		       "all (what was sent may arrive twice)",
		       sp->path, (unsigned long long)sp->pos, sp->path, (unsigned long long)at);
	sp->pos = 0;
	return true;
}

/* A run that died while appending left its last entry cut short, the whole ones ending at end: cut it off,
 * before anything is appended after it (else its length would take in what follows). */
static void cut_torn_tail(struct syslog_spool *sp, uint64_t end)
{
	if (end == sp->size)
		return;
	collector_warn("spool %s: cut short at offset %llu (a run stopped while writing it): its last %llu bytes "
		       "are dropped", sp->path, (unsigned long long)end, (unsigned long long)(sp->size - end));
	if (ftruncate(sp->fd, (off_t)end) != 0)
		collector_warn("spool %s: cannot truncate: %s", sp->path, strerror(errno));
	else
		sp->size = end;
}

int spool_open(struct syslog_spool *sp, const char *dir, const char *name, uint64_t max_bytes, const char *where,
	       struct diag *d)
{
	char pos_path[sizeof sp->path + 8];
	sp->fd = sp->pos_fd = -1;
	snprintf(sp->path, sizeof sp->path, "%s/%s.spool", dir, name);
	snprintf(pos_path, sizeof pos_path, "%s-pos", sp->path);
	sp->max_bytes = max_bytes;
	if ((sp->fd = open_file(sp->path, O_APPEND, where, d)) < 0 ||
	    (sp->pos_fd = open_file(pos_path, 0, where, d)) < 0) {
		int e = sp->fd < 0 ? sp->fd : sp->pos_fd;
		spool_close(sp);
		return e;
	}
	struct stat st;
	unsigned char b[8];
	sp->size = fstat(sp->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	sp->pos = pread(sp->pos_fd, b, 8, 0) == 8 ? get_le(b, 8) : 0;
	if (sp->pos > sp->size) { /* emptied, its position not stored yet: what it holds came after */
		if (sp->size)
			collector_warn("spool %s: its send position %llu (%s-pos) is past its end: sending it all (what "
				       "was sent may arrive twice)",
				       sp->path, (unsigned long long)sp->pos, sp->path);
		sp->pos = 0;
	}
	uint64_t end = entries_end(sp, sp->pos, sp->size);
	if (end != sp->size && pos_to_start(sp))
		end = entries_end(sp, sp->pos, sp->size);
	sp->read = sp->pos;
	cut_torn_tail(sp, end);
	if (sp->pos < sp->size)
		collector_warn("spool %s: %llu bytes from an earlier run are sent first", sp->path,
			       (unsigned long long)(sp->size - sp->pos));
	return 0;
}

uint64_t spool_take(struct syslog_spool *sp, struct frames *q)
{
	uint64_t dropped = 0;
	while (q->n) {
		uint32_t l = q->lens[q->first], len = FRAME_LEN(l);
		const char *p = q->buf.data + q->head;
		if (!sp->full && sp->size + sp->out.len + SPOOL_ENTRY_HEAD + len > sp->max_bytes)
			sp->full = true;
		if (sp->full || sbuf_reserve(&sp->out, SPOOL_ENTRY_HEAD + len) != 0) {
			uint64_t r = frames_drop_first(q);
			dropped += r;
			sp->lost += r;
			continue;
		}
		put_le((unsigned char *)sp->out.data + sp->out.len, len, SPOOL_ENTRY_HEAD);
		memcpy(sp->out.data + sp->out.len + SPOOL_ENTRY_HEAD, p, len);
		sp->out.len += SPOOL_ENTRY_HEAD + len;
		sp->out_records += frames_drop_first(q);
	}
	return dropped;
}

uint64_t spool_appended(struct syslog_spool *sp, size_t done, int err)
{
	uint64_t records = sp->out_records;
	if (done < sp->out.len) { /* the disk is full: the spool is, and what was not written is lost */
		if (ftruncate(sp->fd, (off_t)sp->size) != 0)
			collector_warn("spool %s: cannot cut a partly written entry: %s", sp->path, strerror(errno));
		collector_warn("spool %s: cannot append: %s; dropping %u records", sp->path,
			       strerror(err ? -err : ENOSPC), sp->out_records);
		sp->lost += sp->out_records;
		sp->full = true;
	} else {
		sp->size += done;
	}
	sbuf_reset(&sp->out);
	sp->out_records = 0;
	return records;
}

/* One entry at b[0..avail) into q. Returns its bytes with head, 0 when it is not all there, -EBADMSG if corrupt. */
static long read_entry(const unsigned char *b, size_t avail, struct frames *q)
{
	if (avail < SPOOL_ENTRY_HEAD)
		return 0;
	uint64_t len = get_le(b, SPOOL_ENTRY_HEAD);
	if (len == 0 || len > SPOOL_ENTRY_MAX)
		return -EBADMSG;
	if (avail < SPOOL_ENTRY_HEAD + len)
		return 0;
	if (sbuf_reserve(&q->buf, len) != 0)
		return -ENOMEM;
	if (frames_push(q, (uint32_t)len) < 0)
		return -ENOMEM;
	sbuf_append(&q->buf, b + SPOOL_ENTRY_HEAD, len);
	return (long)(SPOOL_ENTRY_HEAD + len);
}

/* The rest of the spool cannot be read: say so, and drop it. Returns err. */
static int spool_corrupt(struct syslog_spool *sp, const char *name, int err)
{
	collector_warn("writer %s: spool %s unreadable at offset %llu (%s); its %llu remaining bytes are dropped",
		       name, sp->path, (unsigned long long)sp->read, strerror(-err),
		       (unsigned long long)(sp->size - sp->read));
	sp->size = sp->read;
	if (ftruncate(sp->fd, (off_t)sp->size) != 0)
		collector_warn("spool %s: cannot truncate: %s", sp->path, strerror(errno));
	return err;
}

int spool_read(struct syslog_spool *sp, struct frames *q, const char *name)
{
	static unsigned char chunk[SPOOL_CHUNK + SPOOL_ENTRY_MAX + SPOOL_ENTRY_HEAD];
	uint64_t left = sp->size - sp->read;
	size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
	if (want == 0)
		return 0;
	ssize_t got = pread(sp->fd, chunk, want, (off_t)sp->read);
	if (got <= 0)
		return spool_corrupt(sp, name, got < 0 ? -errno : -EIO);
	size_t off = 0;
	int frames = 0;
	while (off < SPOOL_CHUNK) {
		long e = read_entry(chunk + off, (size_t)got - off, q);
		if (e < 0 && e != -ENOMEM) { /* the entries before it are whole, and taken */
			sp->read += off;
			int rc = spool_corrupt(sp, name, (int)e);
			return frames ? frames : rc;
		}
		if (e <= 0)
			break;
		off += (size_t)e;
		frames++;
	}
	if (frames == 0 && off == 0 && (size_t)got == left)
		return spool_corrupt(sp, name, -EBADMSG); /* an entry cut short at the end */
	sp->read += off;
	return frames;
}

void spool_sent(struct syslog_spool *sp, uint64_t entry_bytes)
{
	if (!entry_bytes)
		return;
	sp->pos += entry_bytes;
	if (sp->pos >= sp->size && sp->out.len == 0) { /* all sent: start again from empty */
		if (ftruncate(sp->fd, 0) != 0)
			collector_warn("spool %s: cannot empty: %s", sp->path, strerror(errno));
		sp->size = sp->pos = sp->read = 0;
		sp->full = false;
	}
	save_pos(sp);
}

void spool_rewind(struct syslog_spool *sp)
{
	sp->read = sp->pos;
}

void spool_close(struct syslog_spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->pos_fd >= 0)
		close(sp->pos_fd);
	sp->fd = sp->pos_fd = -1;
	sbuf_free(&sp->out);
}
