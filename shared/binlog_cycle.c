/*
 * binlog_cycle.c — the version 2 units of a binary log (binlog.h, rule 8):
 * SEGMENT and SEG_SITE definitions and CYCLE frames, the records of producer
 * threads as they wrote them.
 *
 * Reading a CYCLE walks each span's records (checked as seg_ring_next checks
 * a ring's), gives each its merge key as the collector's reader does, and
 * hands them out by merge key, ties to the earlier span. A record is decoded
 * by seg_decode() against a struct seg rebuilt from the SEGMENT frame (its
 * name, pid, clock kind, and the sites SEG_SITE defined; no mapping, and no
 * registry to parse more from), the very code that decoded it in the
 * collector, so text_append() then writes the line writers' bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "binlog_int.h"
#include "grow.h"

struct binlog_seg {
	struct seg seg;         /* name, name_len, pid, tsc, sites, sites_cap; max_sites 0 */
	struct clock_calib cal; /* converts its stamps */
};

/* ---- writing ---- */

int binlog_put_segment(struct sbuf *out, uint32_t id, const struct seg *s, const struct clock_calib *cal)
{
	size_t size = BINLOG_SEGMENT_BYTES + s->name_len;
	uint8_t *p = frame_open(out, size, BINLOG_SEGMENT, 0);
	if (!p)
		return -ENOMEM;
	p = put_u32(p, id);
	p = put_u32(p, s->pid);
	p = put_u32(p, s->tsc ? BINLOG_SEG_TSC : 0);
	p = put_u32(p, (uint32_t)s->name_len);
	p = put_u64(p, cal->tsc);
	p = put_u64(p, cal->ns);
	p = put_u64(p, cal->mult);
	put_bytes(p, s->name, s->name_len);
	out->len += size;
	return 0;
}

int binlog_put_seg_site(struct sbuf *out, uint32_t seg_id, uint32_t site_id, const struct seg_site *st)
{
	size_t fd_len = binlog_fdesc_bytes(st), err_len = st->err ? strlen(st->err) : 0;
	err_len = err_len > 255 ? 255 : err_len;
	size_t size = BINLOG_SEG_SITE_BYTES + st->fmt_len + st->file_len + fd_len + err_len;
	uint8_t *p = frame_open(out, size, BINLOG_SEG_SITE, 0);
	if (!p)
		return -ENOMEM;
	p = put_u32(p, seg_id);
	p = put_u32(p, site_id);
	p = binlog_put_site_head(p, st, fd_len);
	p = put_u32(p, (uint32_t)err_len);
	p = binlog_put_site_strings(p, st);
	put_bytes(p, st->err, err_len);
	out->len += size;
	return 0;
}

int binlog_put_cycle(struct sbuf *out, uint32_t n, uint64_t bytes)
{
	uint64_t size = BINLOG_CYCLE_BYTES + (uint64_t)n * BINLOG_SPAN_BYTES + bytes;
	if (!n || n > BINLOG_SPANS_MAX || size > BINLOG_FRAME_MAX)
		return -EINVAL;
	uint8_t *p = frame_open(out, size, BINLOG_CYCLE, 0); /* the whole frame reserved: no growth after */
	if (!p)
		return -ENOMEM;
	p = put_u32(p, n);
	put_u32(p, 0);
	out->len += BINLOG_CYCLE_BYTES;
	return 0;
}

int binlog_put_span(struct sbuf *out, uint32_t seg_id, uint32_t tid, uint32_t bytes)
{
	if (sbuf_reserve(out, BINLOG_SPAN_BYTES) != 0)
		return -ENOMEM;
	uint8_t *p = (uint8_t *)out->data + out->len;
	p = put_u32(p, seg_id);
	p = put_u32(p, tid);
	p = put_u32(p, bytes);
	put_u32(p, 0);
	out->len += BINLOG_SPAN_BYTES;
	return 0;
}

/* ---- reading ---- */

static void seg_free(struct binlog_seg *bs)
{
	if (!bs)
		return;
	for (uint32_t i = 0; i < bs->seg.sites_cap; i++)
		binlog_free_site(bs->seg.sites[i]);
	free(bs->seg.sites);
	free(bs);
}

void binlog_segs_forget(struct binlog_reader *rd, bool all)
{
	for (uint32_t i = 0; i < rd->n_segs; i++)
		seg_free(rd->segs[i]);
	free(rd->segs);
	rd->segs = NULL;
	rd->n_segs = 0;
	rd->cycle.n_spans = 0;
	if (all) {
		free(rd->cycle.cands);
		free(rd->cycle.spans);
		rd->cycle = (struct binlog_cycle){0};
	}
}

long long binlog_read_segment(struct binlog_reader *rd, const uint8_t *p, uint32_t size)
{
	if (size < BINLOG_SEGMENT_BYTES)
		return binlog_bad(rd, "segment definition of %u bytes", size);
	uint32_t id = get_u32(p + 8), name_len = get_u32(p + 20);
	if (name_len != size - BINLOG_SEGMENT_BYTES || name_len >= SHMLOG_NAME_BYTES)
		return binlog_bad(rd, "malformed segment definition");
	if (binlog_grow_for(rd, (void **)&rd->segs, &rd->n_segs, sizeof *rd->segs, id, "segment") < 0)
		return -EPROTO;
	struct binlog_seg *bs = rd->segs[id];
	if (!bs && !(bs = rd->segs[id] = calloc(1, sizeof *bs)))
		return binlog_bad(rd, "out of memory");
	bs->seg.pid = get_u32(p + 12);
	bs->seg.tsc = (get_u32(p + 16) & BINLOG_SEG_TSC) != 0;
	bs->seg.name_len = name_len;
	memcpy(bs->seg.name, p + BINLOG_SEGMENT_BYTES, name_len);
	bs->seg.name[name_len] = 0;
	bs->cal = (struct clock_calib){get_u64(p + 24), get_u64(p + 32), get_u64(p + 40)};
	return size;
}

/* Room for site id in bs's table. Returns 0 or -ENOMEM. */
static int sites_room(struct binlog_seg *bs, uint32_t id)
{
	if (id < bs->seg.sites_cap)
		return 0;
	uint32_t cap = bs->seg.sites_cap ? bs->seg.sites_cap : 64;
	while (cap <= id)
		cap *= 2;
	struct seg_site **t = realloc(bs->seg.sites, cap * sizeof *t);
	if (!t)
		return -ENOMEM;
	memset(t + bs->seg.sites_cap, 0, (cap - bs->seg.sites_cap) * sizeof *t);
	bs->seg.sites = t;
	bs->seg.sites_cap = cap;
	return 0;
}

long long binlog_read_seg_site(struct binlog_reader *rd, const uint8_t *p, uint32_t size)
{
	if (size < BINLOG_SEG_SITE_BYTES)
		return binlog_bad(rd, "segment call-site definition of %u bytes", size);
	uint32_t seg_id = get_u32(p + 8);
	struct binlog_site_def d = {.id = get_u32(p + 12), .level = p[16], .n_fields = p[17], .line = get_u32(p + 20),
				    .fmt_len = get_u32(p + 24), .file_len = get_u32(p + 28), .fd_len = get_u32(p + 32),
				    .err_len = get_u32(p + 36), .strings = p + BINLOG_SEG_SITE_BYTES};
	if ((uint64_t)BINLOG_SEG_SITE_BYTES + d.fmt_len + d.file_len + d.fd_len + d.err_len != size ||
	    d.id >= SHMLOG_MAX_SITES_MAX)
		return binlog_bad(rd, "malformed segment call-site definition");
	if (seg_id >= rd->n_segs || !rd->segs[seg_id])
		return binlog_bad(rd, "call site of undefined segment id %u", seg_id);
	struct binlog_seg *bs = rd->segs[seg_id];
	struct seg_site *st = binlog_site_make(rd, &d);
	if (!st)
		return -EPROTO;
	if (sites_room(bs, d.id) < 0) {
		binlog_free_site(st);
		return binlog_bad(rd, "out of memory");
	}
	binlog_free_site(bs->seg.sites[d.id]);
	bs->seg.sites[d.id] = st;
	return size;
}

/* Walk one span's records (bytes of them at p) into the cycle's candidates. Returns 0 or -EPROTO. */
static int walk_span(struct binlog_reader *rd, const struct binlog_seg *bs, const uint8_t *p, uint32_t bytes)
{
	struct binlog_cycle *cy = &rd->cycle;
	uint64_t key = 0;
	for (uint32_t off = 0; off < bytes;) {
		uint32_t size = bytes - off < SHMLOG_PAD_HEADER_BYTES ? 0 : get_u32(p + off);
		bool pad = size && get_u32(p + off + 4) == SHMLOG_SITE_PAD;
		if (size % SHMLOG_RECORD_ALIGN || size > bytes - off ||
		    size < (pad ? SHMLOG_PAD_HEADER_BYTES : SHMLOG_RECORD_HEADER_BYTES))
			return (int)binlog_bad(rd, "record of a cycle span out of bounds, %u bytes into it", off);
		if (!pad) {
			if (GROW(cy->cands, cy->n_cands, cy->cap_cands, 1024) != 0)
				return (int)binlog_bad(rd, "out of memory");
			uint64_t ts = get_u64(p + off + 8), ns = seg_ts_ns(&bs->seg, &bs->cal, ts);
			key = ns > key ? ns : key;
			cy->cands[cy->n_cands++] = (struct binlog_cand){
				ns, key, {size, get_u32(p + off + 4), ts, p + off + SHMLOG_RECORD_HEADER_BYTES,
					  size - SHMLOG_RECORD_HEADER_BYTES}};
		}
		off += size;
	}
	return 0;
}

long long binlog_read_cycle(struct binlog_reader *rd, const uint8_t *p, uint32_t size)
{
	struct binlog_cycle *cy = &rd->cycle;
	uint32_t n = size >= BINLOG_CYCLE_BYTES ? get_u32(p + 8) : 0;
	if (!n || n > BINLOG_SPANS_MAX || (uint64_t)BINLOG_CYCLE_BYTES + (uint64_t)n * BINLOG_SPAN_BYTES > size)
		return binlog_bad(rd, "malformed cycle frame");
	if (n > cy->cap_spans) {
		void *t = realloc(cy->spans, n * sizeof *cy->spans);
		if (!t)
			return binlog_bad(rd, "out of memory");
		cy->spans = t;
		cy->cap_spans = n;
	}
	cy->n_cands = 0;
	uint32_t at = BINLOG_CYCLE_BYTES;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t seg_id = at + BINLOG_SPAN_BYTES <= size ? get_u32(p + at) : UINT32_MAX;
		uint32_t bytes = seg_id != UINT32_MAX ? get_u32(p + at + 8) : 0;
		if (seg_id == UINT32_MAX || bytes > size - at - BINLOG_SPAN_BYTES)
			return binlog_bad(rd, "cycle span %u cut short", k);
		if (seg_id >= rd->n_segs || !rd->segs[seg_id])
			return binlog_bad(rd, "cycle span of undefined segment id %u", seg_id);
		cy->spans[k] = (struct binlog_span_at){cy->n_cands, 0, get_u32(p + at + 4), rd->segs[seg_id]};
		if (walk_span(rd, rd->segs[seg_id], p + at + BINLOG_SPAN_BYTES, bytes) < 0)
			return -EPROTO;
		cy->spans[k].end = cy->n_cands;
		at += BINLOG_SPAN_BYTES + bytes;
	}
	if (at != size)
		return binlog_bad(rd, "cycle frame has %u bytes after its spans", size - at);
	cy->n_spans = n;
	return size;
}

bool binlog_cycle_next(struct binlog_reader *rd, struct text_record *tr)
{
	struct binlog_cycle *cy = &rd->cycle;
	struct binlog_span_at *best = NULL;
	for (uint32_t k = 0; k < cy->n_spans; k++) { /* by merge key, ties to the earlier span */
		struct binlog_span_at *s = &cy->spans[k];
		if (s->cur < s->end && (!best || cy->cands[s->cur].key < cy->cands[best->cur].key))
			best = s;
	}
	if (!best)
		return false;
	const struct binlog_cand *c = &cy->cands[best->cur++];
	seg_decode(&best->seg->seg, best->tid, &c->r, c->ts_ns, &rd->msg, tr, &rd->sp);
	return true;
}
