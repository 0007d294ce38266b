/*
 * binary_tail.h — what a binary log's written bytes leave in force at their
 * end (binary_tail.c): every definition frame since the last file header,
 * and the start of a unit the last write left cut short. It is what the
 * writer's bytes not yet written need before them when they cannot follow
 * what was written: the file was removed (they go to a new one) or
 * truncated under the writer (logrotate's copytruncate). The writer tells
 * it each write's bytes (file_state's wrote hook); it reads nothing back
 * from the file.
 */
#ifndef SHMLOG_BINARY_TAIL_H
#define SHMLOG_BINARY_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/sbuf.h"

struct bin_tail {
	struct sbuf defs;   /* the definition frames in force since the last file header written, in order */
	uint64_t *seg_at;   /* by seg_id: offset + 1 in defs of its SEGMENT frame, 0: none */
	uint32_t n_segs, cap_segs;
	struct sbuf cut;    /* the first bytes of a unit whose rest is not written yet */
	bool oom;           /* a definition could not be kept: no prefix until the next file header */
	bool garbage;       /* the bytes were no units, or a cut unit could not be kept: no prefix again */
};

/* The writer wrote p[0..n), after everything t was told before. */
void bin_tail_wrote(struct bin_tail *t, const uint8_t *p, size_t n);

/* What the writer wrote next starts at a unit, with a file header: the prefix is made there (walked again
 * as it is written). */
void bin_tail_restart(struct bin_tail *t);

/* file_state's wrote hook (t is a struct bin_tail). */
void bin_tail_wrote_hook(void *t, const char *p, size_t n);

/*
 * Into out: the start of a file that the bytes not yet written decode
 * after: a file header, a session (pid and start_ns), the definitions in
 * force, and the cut unit's first bytes. Returns 0, or -ENOMEM (now, or a
 * definition that could not be kept), or -EPROTO when t lost track (out is
 * then of no use).
 */
int bin_tail_prefix(const struct bin_tail *t, uint32_t pid, uint64_t start_ns, struct sbuf *out);

void bin_tail_free(struct bin_tail *t);

#endif
