/*
 * rotate.h — rotation of a file-shaped writer's output by size and by time.
 *
 * A layer, not a writer: a writer that appends a byte stream to one path
 * (the text file writer; later the binary and encrypted writers) owns a
 * struct rotate and tells it, for every record it takes, where in its output
 * stream the record starts, how long it is and its timestamp. The layer then
 * decides where a file must end ("cuts", always at a record's first byte, so
 * a rotation never splits a record) and, once every byte before a cut is
 * written, renames the file away and opens a new one:
 *
 *   writer add:     rotate_take(r, stream offset, length, record time)
 *   writer prepare: rotate_due(r, written, &fd)   rotations whose bytes are all written
 *                   rotate_room(r, written)       write no further than the next cut
 *
 * Names (docs/output.md, man/shmlog-collector.conf.5): by size only, the
 * rotated files are PATH.1 (newest) .. PATH.N; by time, PATH.INTERVAL
 * (PATH.2026-12-01, PATH.2026-12-01T13), and a size rotation inside an
 * interval shifts PATH.INTERVAL to PATH.INTERVAL.1, .2, ... (the bare name is
 * the interval's newest piece). A name that is taken is shifted up, never
 * overwritten. backups rotated files are kept; older ones are removed. With
 * compress, each rotated file is then compressed to NAME.zst by a worker
 * thread (compress.h).
 */
#ifndef SHMLOG_ROTATE_H
#define SHMLOG_ROTATE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "compress.h"

struct diag;

/* The config keys of the layer, for a writer type's key list. */
#define ROTATE_KEYS "max_bytes", "backups", "rotate_every", "rotate_at", "local_time", "compress", "compress_level"

#define ROTATE_BACKUPS_DEFAULT 7
#define ROTATE_NO_INTERVAL INT64_MIN /* a file holding no time interval (yet) */

struct rotate_cut {
	uint64_t at;    /* stream offset of the first byte of the next file */
	int64_t start;  /* start (Unix seconds) of the interval the ending file holds, or ROTATE_NO_INTERVAL */
};

/*
 * What a unit costs on disk beyond its own bytes, in a format that frames
 * them (the encryption layer's chunks, crypt.h): where it is taken (nothing
 * when it goes on in a chunk already counted), and as the first unit of a
 * new file.
 */
struct rotate_frame {
	uint64_t here, fresh;
};

struct rotate {
	/* configuration */
	uint64_t max_bytes;   /* 0: no size limit */
	uint32_t backups;     /* rotated files kept */
	uint32_t every_s;     /* interval length; 0: no time rotation */
	bool daily;           /* rotate_every = "daily": intervals start at at_s past midnight */
	uint32_t at_s;        /* rotate_at, seconds past midnight */
	bool local_time;      /* boundaries and names in the system time zone, else UTC */
	bool compress;        /* compress = "zstd": rotated files become .zst (compress.h) */
	int level;            /* compress_level */
	uint64_t frame_file;  /* bytes the format adds to every file once (crypt.h: a stream's header, its final chunk) */
	/* state */
	char *path;           /* the live file */
	mode_t mode;          /* its permissions when created */
	const char *who;      /* the writer's name, for messages */
	uint64_t proj_bytes;  /* bytes the file being filled will hold once everything taken is written (its
			       * units and their frames; frame_file not counted) */
	uint64_t disk_bytes;  /* what the file being written holds on disk as far as the writer knows: its size
			       * at open, and what was written to it since (rotate_wrote), so that rotate_resize
			       * sees what others did to it */
	int64_t proj_start;   /* the interval it holds */
	int64_t seen_lo, seen_hi, seen_start; /* times [lo, hi] are known to be in the interval of seen_start */
	struct rotate_cut *cuts; /* not yet done, in stream order */
	uint32_t n_cuts, cap_cuts;
	int last_err;         /* the rotation failure last reported, to report it once */
	int prune_err;        /* the same for removing old backups */
	struct compressor zc; /* with compress */
	void (*retire)(void *arg, int fd); /* called with the old file before a rotation closes it (crypt.h) */
	void *retire_arg;
};

/* --check-config: r's keys as ", key value" parts (nothing when it does not rotate). */
void rotate_describe(const struct rotate *r, FILE *f);

/* Whether r rotates at all. */
static inline bool rotate_on(const struct rotate *r)
{
	return r->max_bytes || r->every_s;
}

/*
 * Read the layer's keys from the writer's config group cfg (NULL: none; no
 * rotation). No side effects. Returns 0 or -EINVAL with d->msg holding
 * "FILE:LINE: KEY: problem".
 */
int rotate_configure(struct rotate *r, const config_setting_t *cfg, struct diag *d);

/*
 * Open path for appending (created with mode), remember it, and apply
 * backups to the rotated files already there. The file's size and (from its
 * modification time) interval count as the current file's, and with
 * compression its worker thread starts. who names the writer in messages
 * and must outlive r. Returns the descriptor, or -errno with *step saying
 * which step failed ("cannot open", or the thread's; rotate_fifo_step for a
 * FIFO, which is refused rather than waited on for a reader).
 */
int rotate_open(struct rotate *r, const char *path, mode_t mode, const char *who, const char **step);
extern const char rotate_fifo_step[];

/*
 * A record of len bytes with timestamp ts_ns, framed as fr says, is taken
 * and starts at stream offset at: place a cut before it if the current file
 * would pass max_bytes, its frames and frame_file counted (unless the file
 * is empty: a record bigger than max_bytes sits alone in its file), or the
 * record belongs to a later interval. Returns whether it placed a cut (out
 * of memory, the cut is not placed and the file grows on).
 */
bool rotate_take(struct rotate *r, uint64_t at, uint64_t len, uint64_t ts_ns, struct rotate_frame fr);

/*
 * Every byte before stream offset written is written: do the rotations whose
 * cut is there (rename *fd's file, open a new one into *fd). A failed rename
 * is reported once and the writer goes on appending to the same file.
 * Returns 0, or the -errno of a failure (already reported).
 */
int rotate_due(struct rotate *r, uint64_t written, int *fd);

/* Bytes from stream offset written that may go to the current file (UINT64_MAX: no cut ahead). */
static inline uint64_t rotate_room(const struct rotate *r, uint64_t written)
{
	return r->n_cuts ? r->cuts[0].at - written : UINT64_MAX;
}

/*
 * len bytes that are not a record were added at the end of the stream (a
 * binary log's file header and dictionary), their frames counted in len:
 * the file being filled holds them too, without a cut before them. Returns
 * nothing.
 */
static inline void rotate_extend(struct rotate *r, uint64_t len)
{
	r->proj_bytes += len;
}

/* done bytes were written to the current file. Returns nothing. */
static inline void rotate_wrote(struct rotate *r, uint64_t done)
{
	r->disk_bytes += done;
}

/* Whether the current file, size bytes now, holds less than the writer wrote to it: truncated under it
 * (logrotate's copytruncate). Asked before rotate_resize. */
static inline bool rotate_truncated(const struct rotate *r, uint64_t size)
{
	return size < r->disk_bytes;
}

/*
 * The current file holds size bytes now (truncated or appended to under us,
 * e.g. by logrotate's copytruncate; or a file opened again): what it holds
 * beyond or short of what the writer wrote to it moves the size the layer
 * counts by as much. Returns nothing.
 */
void rotate_resize(struct rotate *r, uint64_t size);

/* The file name (no directory) the interval starting at start is rotated to, without the path: "2026-12-01T13". */
void rotate_label(const struct rotate *r, int64_t start, char *out, size_t size);

/* The start (Unix seconds) of the interval holding time t. */
int64_t rotate_interval_start(const struct rotate *r, int64_t t);

void rotate_close(struct rotate *r);

#endif
