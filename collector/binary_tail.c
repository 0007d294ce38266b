/*
 * binary_tail.c — the definitions in force at the end of what a binary
 * writer wrote (binary_tail.h). Each write's bytes are walked unit by unit
 * (a cycle's records are a few CYCLE frames, so this is a handful of frame
 * heads a write): a file header forgets the definitions (shared/binlog.h,
 * rule 3), a definition frame is kept (rule 4), and a unit the write ends
 * inside is kept whole until its rest comes, so that the next prefix can
 * begin it again.
 */
#include "binary_tail.h"

#include <errno.h>
#include <string.h>

#include "../shared/binlog.h"
#include "../shared/clock.h"

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

/* The whole unit u (size bytes, of kind) was written. */
static void took_unit(struct bin_tail *t, const uint8_t *u, uint32_t size, uint16_t kind)
{
	if (size == BINLOG_HEADER_BYTES && kind == 0 && memcmp(u, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0)
		sbuf_reset(&t->defs);
	else if (binlog_kind_defines(kind))
		sbuf_append(&t->defs, u, size);
	t->lost |= t->defs.oom;
}

/* Go on with the cut unit from p[0..n). Returns the bytes of p it took. */
static size_t go_on_cut(struct bin_tail *t, const uint8_t *p, size_t n)
{
	uint32_t size = 0;
	uint16_t kind = 0;
	size_t want = BINLOG_FRAME_HEADER_BYTES; /* to tell its size */
	int u = unit_at((const uint8_t *)t->cut.data, t->cut.len, &size, &kind);
	if (u < 0) {
		t->lost = true;
		return n;
	}
	if (u > 0)
		want = size;
	size_t take = want - t->cut.len < n ? want - t->cut.len : n;
	sbuf_append(&t->cut, p, take);
	t->lost |= t->cut.oom;
	if (u > 0 && t->cut.len == size) {
		took_unit(t, (const uint8_t *)t->cut.data, size, kind);
		sbuf_reset(&t->cut);
	}
	return take;
}

void bin_tail_wrote(struct bin_tail *t, const uint8_t *p, size_t n)
{
	while (n && !t->lost) {
		size_t k;
		uint32_t size = 0;
		uint16_t kind = 0;
		int u = t->cut.len ? 1 : unit_at(p, n, &size, &kind);
		if (t->cut.len) {
			k = go_on_cut(t, p, n);
		} else if (u < 0) {
			t->lost = true;
			k = n;
		} else if (u == 0 || size > n) { /* the write ends inside it */
			sbuf_append(&t->cut, p, n);
			t->lost |= t->cut.oom;
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

int bin_tail_prefix(const struct bin_tail *t, uint32_t pid, uint64_t start_ns, struct sbuf *out)
{
	if (t->lost)
		return -EPROTO;
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
}
