/*
 * syslog_spool.h — the syslog writer's disk spool: what could not be sent
 * while the receiver was away, kept in order across collector restarts.
 *
 * Files, in spool_dir, named after the writer:
 *
 *   NAME.spool      the entries, appended in order: each is a 4-byte
 *                   little-endian length L (1 <= L <= 2^20 + 16), then L
 *                   bytes: one frame exactly as the transport sends it
 *                   (octet-count prefix or LF included).
 *   NAME.spool-pos  8 bytes, little-endian: the offset in NAME.spool of the
 *                   first entry not yet sent. Written after each send that
 *                   completed entries; a crash between the two re-sends
 *                   those entries (duplicates, never a gap). Out of step
 *                   with NAME.spool (inside an entry, or past its end: a
 *                   power loss after the spool was emptied, or an edit),
 *                   it goes back to 0 at open (duplicates, never a gap).
 *
 * Once every entry is sent both go back to empty. The spool holds at most
 * max_bytes of entries; what does not fit is dropped and counted. Entries
 * are appended through the core's io_uring batch (the writer's request);
 * reading them back is a bounded pread per chunk, only while replaying.
 */
#ifndef SHMLOG_SYSLOG_SPOOL_H
#define SHMLOG_SYSLOG_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "syslog_frames.h"
#include "writer.h"

#define SPOOL_ENTRY_HEAD 4

struct syslog_spool {
	int fd;             /* NAME.spool, -1 without a spool */
	int pos_fd;         /* NAME.spool-pos */
	char path[4096];
	uint64_t max_bytes; /* spool_max_bytes */
	uint64_t size;      /* the file's end, the next entry's offset */
	uint64_t pos;       /* the first entry not yet sent */
	uint64_t read;      /* the first entry not yet read back into memory */
	struct sbuf out;    /* entries being appended (the writer's request) */
	uint32_t out_records; /* records among them */
	bool full;          /* dropping: what comes waits for an empty spool */
	uint64_t lost;      /* records dropped since the last notice */
};

/*
 * Open (create) the spool files of writer name in dir and take up where
 * a previous run left off. Returns 0, or -errno with d->msg (after where,
 * "FILE:LINE: KEY: ") naming the file.
 */
int spool_open(struct syslog_spool *sp, const char *dir, const char *name, uint64_t max_bytes, const char *where,
	       struct diag *d);

/* Entries not yet sent (on disk, or being appended). */
static inline bool spool_busy(const struct syslog_spool *sp)
{
	return sp->fd >= 0 && (sp->pos < sp->size || sp->out.len > 0);
}

/*
 * Move q's frames into entries to append (sp->out), dropping and counting
 * those beyond max_bytes. Returns the records dropped (they are done).
 */
uint64_t spool_take(struct syslog_spool *sp, struct frames *q);

/*
 * The append (sp->out) ended with done bytes written (err: why it
 * stopped): a cut entry is cut off the file again. Returns the records now
 * on disk (done), or dropped because they could not be written.
 */
uint64_t spool_appended(struct syslog_spool *sp, size_t done, int err);

/*
 * Read the next entries (up to a chunk) into q to be sent. Returns the
 * frames read, 0 when every entry is read, -errno on a read error or a
 * corrupt entry (the rest of the spool is then dropped, and said).
 */
int spool_read(struct syslog_spool *sp, struct frames *q, const char *name);

/* n entries of those read were sent, their bytes (with heads) entry_bytes: advance pos; empty the spool at the end. */
void spool_sent(struct syslog_spool *sp, uint64_t entry_bytes);

/* Rewind reading to pos (the frames read were not all sent: the connection was lost). */
void spool_rewind(struct syslog_spool *sp);

void spool_close(struct syslog_spool *sp);

#endif
