/*
 * writer.h — the one interface every output of the collector implements.
 *
 * A writer type owns how it represents a record (a text or JSON line, later
 * a syslog frame, a binary record, an encrypted chunk) and what it hands the
 * core to write; the core (output.c) owns routing, batching, progress and
 * retries, and never looks inside a writer's bytes. Progress is counted in
 * records: a writer says how many of the records it took are done (written,
 * or dropped for good by a writer that cannot keep them), so a transforming
 * writer needs no byte arithmetic in the core.
 *
 * Life of a writer: configure (read its config group; no side effects, so
 * `--check-config` can run it), open (files, sockets), then per batch: add()
 * for each record routed to it, prepare() what to write, complete() with
 * what was written; sync() for durability, reopen() on SIGHUP, close().
 *
 * Writer types are looked up by name in a table (writer.c); each type lives
 * in its own file (writer_console.c, writer_file.c). Line-shaped writers
 * share struct wout and its helpers below.
 */
#ifndef SHMLOG_WRITER_H
#define SHMLOG_WRITER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../shared/sbuf.h"
#include "../shared/text.h"
#include "uio.h"

struct writer;
struct reader_span;

/* Where an error in a config or a writer is reported: one line, into msg. */
struct diag {
	char msg[512];
};

/*
 * A record on its way to the writers: decoded once, and rendered at most
 * once per line format (output_rec_append in output.c keeps the first
 * rendering and copies it for the next writer that asks for the same one).
 */
struct output_rec {
	const struct text_record *tr;
	struct sbuf *line_buf[4]; /* where each (format, colour) rendering lives, NULL if not yet */
	size_t line_off[4];
	size_t line_len[4];
};

/* Append rec as one line in format f (with colour) to dst. Returns 0 or -ENOMEM. */
int output_rec_append(struct output_rec *rec, enum text_format f, bool color, struct sbuf *dst);

struct writer_ops {
	const char *type;        /* the config's writer type name */
	const char *const *keys; /* its config keys beyond the common ones, NULL-terminated */
	bool unformatted;        /* it writes no text or JSON lines: the format key is refused */
	/* Read the type's keys from cfg (NULL: defaults). No side effects. 0 or -errno, d filled. */
	int (*configure)(struct writer *w, const config_setting_t *cfg, struct diag *d);
	/* Acquire what writing needs (open the file). 0 or -errno, d filled. */
	int (*open)(struct writer *w, struct diag *d);
	/* Take one record. 0, or -errno when it could not be taken (it then counts as done, lost). */
	int (*add)(struct writer *w, struct output_rec *rec);
	/* Take a cycle's records as the producer wrote them, spans[0..n) (shared/reader.h), in place of
	 * add() for each: a writer that takes every record gets them so. 0, or -errno with *lost the
	 * records it could not take (lost, as for add). NULL: the type takes records one by one. */
	int (*add_spans)(struct writer *w, const struct reader_span *spans, uint32_t n, uint64_t *lost);
	/* Fill *req with what to write now. 1 when there is something, 0 when not, -errno on failure. */
	int (*prepare)(struct writer *w, struct uio_req *req);
	/* req (from prepare) ended: req->done bytes written, req->err why it stopped. Returns the
	 * records now done in total since open (written, or given up by a non-durable writer). */
	uint64_t (*complete)(struct writer *w, const struct uio_req *req);
	/* Make everything written so far survive a crash. 0 or -errno. NULL: nothing to do. */
	int (*sync)(struct writer *w);
	/* Bytes held and not written yet (its backlog, bounded by backlog_bytes). NULL: w->out's. */
	uint64_t (*pending)(const struct writer *w);
	/* Work besides records not yet done (a spool to send): prepare() is called anyway. NULL: none. */
	bool (*busy)(const struct writer *w);
	/* SIGHUP: reopen files by name (log rotation). 0 or -errno. NULL: nothing to do. */
	int (*reopen)(struct writer *w);
	void (*close)(struct writer *w);
	/* --check-config: what the type's keys say, as ", key value" parts of its line. NULL: nothing. */
	void (*describe)(const struct writer *w, FILE *f);
};

/*
 * The bytes of a line-shaped writer not yet written, with the record count
 * each batch of them ends at, so that written bytes translate to records.
 */
struct wout_mark {
	uint64_t bytes;   /* total bytes (since open) at the end of a batch */
	uint64_t records; /* total records taken at that point */
};

struct wout {
	struct sbuf buf;        /* not yet written */
	uint64_t written;       /* bytes written since open (buf holds the ones after) */
	uint64_t records_done;  /* records wholly written */
	struct wout_mark *marks; /* batches not yet wholly written, oldest first */
	uint32_t n_marks, cap_marks;
};

struct writer {
	const struct writer_ops *ops;
	char name[64];           /* from config, or the type name */
	int min_level;           /* records below are not taken; SHMLOG_LEVEL_* */
	enum text_format format; /* TEXT_FORMAT_TEXT or TEXT_FORMAT_JSON */
	bool color;              /* ANSI colour by level (console on a terminal) */
	bool durable;            /* a failed write is kept and retried (files); else it is dropped */
	bool plain_add;          /* add is writer_add_line's work: the core does it without the call */
	int fd;                  /* line writers: where the bytes go, -1 if none */
	uint64_t taken;          /* records taken since open (the core's count) */
	uint64_t done;           /* records done since open, as complete() last said */
	uint64_t backlog_max;    /* bytes held before the writer skips records (output.h) */
	struct wout out;         /* line writers' pending bytes */
	int last_err;            /* last error reported, to report each condition once */
	void *priv;              /* type-specific state */
};

/* The type table: returns NULL for an unknown type name. */
const struct writer_ops *writer_lookup(const char *type);

/*
 * Configure a writer of the given ops from cfg (may be NULL: defaults):
 * common keys (name, min_level, format) here, the rest by ops->configure.
 * Nothing is opened. Returns 0 or -errno with d->msg filled.
 */
int writer_configure(struct writer *w, const struct writer_ops *ops, const config_setting_t *cfg,
		     struct diag *d);

/* writer_configure, then ops->open. Returns 0 or -errno with d->msg filled (w is then closed). */
int writer_open(struct writer *w, const struct writer_ops *ops, const config_setting_t *cfg, struct diag *d);

/* Bytes w holds that are not written yet (its type's pending, or its line buffer's). */
static inline uint64_t writer_pending(const struct writer *w)
{
	return w->ops->pending ? w->ops->pending(w) : w->out.buf.len;
}

/* Whether w has work besides records not done (its type's busy). */
static inline bool writer_busy(const struct writer *w)
{
	return w->ops->busy && w->ops->busy(w);
}

void writer_close(struct writer *w);

/* ---- helpers for the writer type files and config.c ---- */

/* The types, so writer.c's table can name them. */
extern const struct writer_ops writer_console_ops;
extern const struct writer_ops writer_file_ops;
extern const struct writer_ops writer_syslog_ops;
extern const struct writer_ops writer_binary_ops;

/* Fill d->msg with "FILE:LINE: KEY: problem" for setting s (or its member key). */
void writer_diag(struct diag *d, const config_setting_t *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * s into out[cap] (cap >= 1) as one line of a diagnostic: its control bytes
 * escaped as in the text format (LF as "\n", ESC as "\x1b"), cut to fit.
 * Returns out.
 */
char *writer_diag_line(char *out, size_t cap, const char *s);

/* Read string member key of grp into *out. Returns 1 if present, 0 if absent, -EINVAL (d filled) if not a string. */
int writer_cfg_string(const config_setting_t *grp, const char *key, const char **out, struct diag *d);

/* Read integer member key of grp into *out if present, checked to lie in [min, max]. Returns 0 or -EINVAL (d filled). */
int writer_cfg_uint(const config_setting_t *grp, const char *key, long long min, long long max, uint32_t *out,
		    struct diag *d);

/* writer_cfg_uint for 64-bit values. */
int writer_cfg_u64(const config_setting_t *grp, const char *key, long long min, long long max, uint64_t *out,
		   struct diag *d);

/* Read boolean member key of grp into *out if present. Returns 0 or -EINVAL (d filled). */
int writer_cfg_bool(const config_setting_t *grp, const char *key, bool *out, struct diag *d);

/* The known type names, comma separated, into out. Returns out. */
char *writer_types_list(char *out, size_t size);

/* Line writers: add = the record's line in w's format into w->out. */
int writer_add_line(struct writer *w, struct output_rec *rec);
/* Line writers: prepare = w->out's bytes to w->fd. */
int writer_prepare_line(struct writer *w, struct uio_req *req);
/* Line writers: complete = drop the written bytes; a non-durable writer drops all on error. */
uint64_t writer_complete_line(struct writer *w, const struct uio_req *req);

#endif
