/*
 * binary_tail.c — the definitions in force at the end of what a binary
 * writer wrote (binary_tail.h). Each write's bytes are walked unit by unit
 * (a cycle's records are a few CYCLE frames, so this is a handful of frame
 * heads a write): a file header forgets the definitions (shared/binlog.h,
 * rule 3), a definition frame is kept (rule 4), and a unit the write ends
 * inside is kept whole until its rest comes, so that the next prefix can
 * begin it again. A SEGMENT frame that defines its id again (the collector
 * refines a segment's calibration every second) replaces the one kept, in
 * its place, so what is kept stays what is in force: one frame per id.
 */
#include "binary_tail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/binlog.h"
#include "../shared/clock.h"
#include "../shared/grow.h"

#define SEG_ID_AT 8u             /* a SEGMENT frame's seg_id (shared/binlog.h) */
#define SEG_IDS_MAX (1u << 17)   /* ids kept in place (the writer gives at most 65,536 before a header) */

/* The size of the unit at p (avail bytes there) into *size, its kind into *kind (0 for a file header).
 * Returns 1, 0 when more bytes must be seen to tell, -1 for what is no unit. */
static int unit_at(const uint8_t *p, size_t avail, uint32_t *size, uint16_t *kind)
{
	int head = binlog_unit_head(p, avail, size, kind);
	if (head == 2) {
		*size = BINLOG_HEADER_BYTES;
		*kind = 0;
	}
	return head == 1 || head == 2 ? 1 : head == -1 ? 0 : -1;
}

/* Forget every definition: a file header was written. */
static void forget(struct bin_tail *t)
{
	sbuf_reset(&t->defs);
	t->n_segs = 0;
	t->oom = false;
}

/* The SEGMENT frame u (size bytes) of id: in place of the one kept for its id, or at the end. */
static void keep_segment(struct bin_tail *t, const uint8_t *u, uint32_t size, uint32_t id)
{
	uint64_t at = id < t->n_segs ? t->seg_at[id] : 0; /* offset + 1, 0: none */
	if (!at) {
		while (id < SEG_IDS_MAX && id >= t->cap_segs && GROW(t->seg_at, t->cap_segs, t->cap_segs, 64) == 0)
			;
		size_t end = t->defs.len;
		sbuf_append(&t->defs, u, size);
		if (t->defs.oom || id >= t->cap_segs)
			return; /* not found again: each one kept (ids are given from 0, so not from this writer) */
		if (id >= t->n_segs) {
			memset(t->seg_at + t->n_segs, 0, (id + 1 - t->n_segs) * sizeof *t->seg_at);
			t->n_segs = id + 1;
		}
		t->seg_at[id] = end + 1;
		return;
	}
	char *old = t->defs.data + at - 1;
	uint32_t old_size;
	memcpy(&old_size, old, 4); /* little-endian, as every frame head */
	if (size > old_size && sbuf_reserve(&t->defs, size - old_size) < 0)
		return;
	old = t->defs.data + at - 1;
	memmove(old + size, old + old_size, t->defs.len - (at - 1 + old_size));
	memcpy(old, u, size);
	t->defs.len = t->defs.len + size - old_size;
	for (uint32_t i = 0; i < t->n_segs; i++) /* the frames after it moved (a name of another length: rare) */
		if (t->seg_at[i] > at)
			t->seg_at[i] += (uint64_t)size - old_size;
}

/* The whole unit u (size bytes, of kind) was written. */
static void took_unit(struct bin_tail *t, const uint8_t *u, uint32_t size, uint16_t kind)
{
	uint32_t id;
	if (size == BINLOG_HEADER_BYTES && kind == 0 && memcmp(u, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0) {
		forget(t);
	} else if (kind == BINLOG_SEGMENT && size >= SEG_ID_AT + 4) {
		memcpy(&id, u + SEG_ID_AT, 4);
		keep_segment(t, u, size, id);
	} else if (binlog_kind_defines(kind)) {
		sbuf_append(&t->defs, u, size);
	}
	t->oom |= t->defs.oom;
}

/* Go on with the cut unit from p[0..n). Returns the bytes of p it took. */
static size_t go_on_cut(struct bin_tail *t, const uint8_t *p, size_t n)
{
	uint32_t size = 0;
	uint16_t kind = 0;
	int u = unit_at((const uint8_t *)t->cut.data, t->cut.len, &size, &kind);
	size_t want = u > 0 ? size : BINLOG_FRAME_HEADER_BYTES; /* its size, or enough to tell it */
	size_t take = want - t->cut.len < n ? want - t->cut.len : n;
	sbuf_append(&t->cut, p, take);
	t->garbage |= u < 0 || t->cut.oom;
	if (!t->garbage && (u = unit_at((const uint8_t *)t->cut.data, t->cut.len, &size, &kind)) > 0 &&
	    t->cut.len == size) {
		took_unit(t, (const uint8_t *)t->cut.data, size, kind);
		sbuf_reset(&t->cut);
	}
	t->garbage |= u < 0;
	return take;
}

void bin_tail_wrote(struct bin_tail *t, const uint8_t *p, size_t n)
{
	while (n && !t->garbage) {
		size_t k;
		uint32_t size = 0;
		uint16_t kind = 0;
		int u = t->cut.len ? 1 : unit_at(p, n, &size, &kind);
		if (t->cut.len) {
			k = go_on_cut(t, p, n);
		} else if (u < 0) {
			t->garbage = true;
			k = n;
		} else if (u == 0 || size > n) { /* the write ends inside it */
			sbuf_append(&t->cut, p, n);
			t->garbage |= t->cut.oom;
			k = n;
		} else {
			took_unit(t, p, size, kind);
			k = size;
		}
		p += k;
		n -= k;
	}
}

void bin_tail_wrote_hook(void *t, const char *p, size_t n)
{
	bin_tail_wrote(t, (const uint8_t *)p, n);
}

void bin_tail_restart(struct bin_tail *t)
{
	forget(t);
	sbuf_reset(&t->cut);
	t->garbage = false;
}

int bin_tail_prefix(const struct bin_tail *t, uint32_t pid, uint64_t start_ns, struct sbuf *out)
{
	if (t->garbage || t->oom)
		return t->garbage ? -EPROTO : -ENOMEM;
	if (binlog_put_header(out, clock_realtime_ns()) < 0 || binlog_put_session(out, pid, start_ns) < 0)
		return -ENOMEM;
	sbuf_append(out, t->defs.data, t->defs.len);
	sbuf_append(out, t->cut.data, t->cut.len);
	return out->oom ? -ENOMEM : 0;
}

void bin_tail_free(struct bin_tail *t)
{
	sbuf_free(&t->defs);
	sbuf_free(&t->cut);
	free(t->seg_at);
	t->seg_at = NULL;
	t->n_segs = t->cap_segs = 0;
}
