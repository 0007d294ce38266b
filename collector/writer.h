/*
 * writer.h — the one interface every output of the collector implements.
 *
 * A writer receives records already rendered (the message text and the
 * metadata), chooses whether it wants each one (min_level), appends its own
 * representation (text line or JSON line) to its batch buffer, and at the end
 * of each batch hands the bytes to the core, which writes every writer's batch
 * through io_uring in one submission (uio.h). Only after a batch is written
 * does the collector publish the rings' consumed positions.
 *
 * Writer types are looked up by name in a table (writer.c); console and file
 * live in writer_console.c and writer_file.c. Later types (rotating, syslog,
 * TLS, encrypted, binary) add a file and a table entry.
 */
#ifndef SHMLOG_WRITER_H
#define SHMLOG_WRITER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

#include "../shared/sbuf.h"
#include "../shared/text.h"
#include "uio.h"

struct writer;

/* Where an error in a config or a writer is reported: one line, into msg. */
struct diag {
	char msg[512];
};

struct writer_ops {
	const char *type; /* the config's writer type name */
	const char *const *keys; /* its config keys beyond the common ones, NULL-terminated */
	/*
	 * Configure from the writer's config group (NULL for the built-in
	 * default console writer) and open. Fills d->msg naming file, line and
	 * key on error. Returns 0 or -errno.
	 */
	int (*open)(struct writer *w, const config_setting_t *cfg, struct diag *d);
	/*
	 * Fill *req with what to write for the output in w->buf. The core
	 * removes the bytes written from the front of w->buf afterwards, so
	 * req must describe w->buf itself (a transforming writer keeps its own
	 * state behind w->buf). Returns 1 when there is something to write, 0
	 * when not, -errno on failure.
	 */
	int (*prepare)(struct writer *w, struct uio_req *req);
	/* Durable writers: make everything written so far survive a crash. 0 or -errno. */
	int (*sync)(struct writer *w);
	void (*close)(struct writer *w);
};

struct writer_stats {
	uint64_t records; /* records accepted into batches */
	uint64_t bytes;   /* bytes written */
	uint64_t errors;  /* failed writes */
};

struct writer {
	const struct writer_ops *ops;
	char name[64];         /* from config, or the type name */
	int min_level;         /* records below are not written; SHMLOG_LEVEL_* */
	enum text_format format; /* TEXT_FORMAT_TEXT or TEXT_FORMAT_JSON */
	bool color;            /* ANSI colour by level (console on a terminal) */
	int fd;                /* where the batch goes, -1 if none */
	bool durable;          /* a failed write is kept and retried (files); else it is dropped */
	struct sbuf buf;       /* output not yet written: this batch, and any backlog */
	uint64_t written;      /* bytes written since start (buf holds the ones after) */
	struct writer_stats stats;
	int last_err;          /* last error reported, to report each condition once */
	void *priv;            /* type-specific state */
};

/* The type table: returns NULL for an unknown type name. */
const struct writer_ops *writer_lookup(const char *type);

/*
 * Open a writer of the given ops from cfg (may be NULL: defaults). Common keys
 * (name, min_level, format) are read here, the rest by ops->open.
 * Returns 0 or -errno with d->msg filled.
 */
int writer_open(struct writer *w, const struct writer_ops *ops, const config_setting_t *cfg,
		struct diag *d);

/* Append one record to w->buf if w wants it (level filter, format). */
void writer_add(struct writer *w, const struct text_record *r);

void writer_close(struct writer *w);

/* ---- helpers for the writer type files and config.c ---- */

/* The types, so writer.c's table can name them. */
extern const struct writer_ops writer_console_ops;
extern const struct writer_ops writer_file_ops;

/* Fill d->msg with "FILE:LINE: KEY: problem" for setting s (or its member key). */
void writer_diag(struct diag *d, const config_setting_t *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Read string member key of grp into *out. Returns 1 if present, 0 if absent, -EINVAL (d filled) if not a string. */
int writer_cfg_string(const config_setting_t *grp, const char *key, const char **out, struct diag *d);

/* prepare() for writers that write their batch buffer as it is. */
int writer_prepare_buf(struct writer *w, struct uio_req *req);

/* The known type names, comma separated, into out. Returns out. */
char *writer_types_list(char *out, size_t size);

#endif
