/*
 * writer_binary.c — the "binary" writer: records appended to a file as
 * shared/binlog.h specifies, without rendering a single message.
 *
 * Keys: those of the file writer (path, mode, and the rotation keys), with
 * the same meaning (writer_file.h); the format key does not apply (refused: ops.unformatted).
 *
 * Taking every record (output.c's span_mask), it takes a cycle's records as
 * spans (add_spans): their bytes copied from the rings as the producers
 * wrote them, in CYCLE frames (binlog.h rule 8), after the SEGMENT and
 * SEG_SITE definitions they need. A cycle is cut into pieces, each a prefix
 * of the cycle in merge order (every record keyed up to some key), so that
 * the pieces decode one after the other in the cycle's order: at most
 * BIN_PIECE_BYTES (or max_bytes / 16) each, and at the rotation intervals of
 * the keys. Each piece is a unit for rotation and encryption, as a record is.
 *
 * Otherwise, a record whose message is lazy (tr->lazy with its call site) becomes a
 * RECORD frame: its site and source ids and its raw argument bytes. The
 * first time a call site (known by its serial, never reused) or a source
 * (pid, tid, logger name) shows up after a file header, its definition goes
 * first. Anything else (loss notices, messages of shmlog's own) becomes a
 * TEXT frame.
 *
 * Every file starts with a file header and a session frame, which forget
 * every definition (shared/binlog.h, rule 3): at open; at a rotation (when
 * rotate_take places a cut before a record, the record is put again after
 * them, with the definitions it needs); and at a reopen (SIGHUP, or the
 * path removed or replaced), which takes effect at the end of what was
 * taken so far, so the bytes before it finish the old file and the new one
 * starts with its header. So each file holds the definitions its own
 * records use, and what the writer remembers is bounded: past
 * BIN_DEFS_MAX definitions it forgets them with a header inside the file.
 * A header that memory could not be found for is put before the next
 * record instead (need_preamble): a file never starts without one.
 *
 * What was written is walked as it is (binary_tail.c), so that bytes not
 * yet written can go before a new start when they cannot follow it: the
 * file removed (they go to a new one) or truncated under the writer
 * (copytruncate): a header, a session and the definitions in force first.
 */
#include "writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shared/binlog.h"
#include "../shared/clock.h"
#include "../shared/reader.h"
#include "../shared/ring.h"
#include "binary_tail.h"
#include "collector.h"
#include "writer_file.h"

#define NO_REOPEN UINT64_MAX
#define BIN_DEFS_MAX 65536u /* sites and sources remembered before a header forgets them */

struct bin_site {
	uint64_t serial; /* 0: empty slot */
	uint32_t id;
};

struct bin_source {
	uint32_t pid, tid; /* name NULL: empty slot */
	char *name;
	uint32_t name_len;
	uint32_t id;
};

struct bin_seg {
	uint64_t serial;        /* the segment's (struct seg); 0: empty slot */
	uint32_t id;
	struct clock_calib cal; /* its SEGMENT frame's */
	uint64_t *defined;      /* bitmap: the segment's site ids with a SEG_SITE frame */
	uint32_t n_words;
};

static_assert(offsetof(struct bin_site, serial) == 0 && offsetof(struct bin_seg, serial) == 0,
	      "grow_by_serial: the serial comes first");

struct bin_state {
	struct file_state fs;
	struct bin_seg *segs;       /* open addressing by serial (spans) */
	uint32_t n_segs, cap_segs;
	uint32_t *cur, *end, *lim, *seg_ids; /* per span of a cycle: the piece being put (add_spans) */
	uint32_t cap_spans;
	struct bin_site *sites;     /* open addressing by serial, cap_sites a power of two */
	uint32_t n_sites, cap_sites;
	struct bin_source *sources; /* open addressing by (pid, tid) */
	uint32_t n_sources, cap_sources;
	bool need_preamble;         /* the next record goes after a file header and a session */
	struct bin_site last_site;  /* the last site looked up (records come in runs of a ring) */
	const struct bin_source *last_source;
	uint64_t reopen_at;         /* stream offset where the reopened file starts, or NO_REOPEN */
	uint64_t start_ns;
	struct bin_tail tail;       /* what the bytes written leave in force (a prefix for those not written) */
};

static const char *const binary_keys[] = {"path", "mode", ROTATE_KEYS, CRYPT_KEYS, NULL};

static void binary_check_idle(struct writer *w);

static inline uint32_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	return (uint32_t)(k ^ (k >> 33));
}

/* The serial entry i of a table of size-byte entries starts with. */
static inline uint64_t serial_at(const unsigned char *tab, size_t size, uint32_t i)
{
	uint64_t serial;
	memcpy(&serial, tab + (size_t)i * size, sizeof serial);
	return serial;
}

/*
 * Double a table of *cap entries of size bytes each (first entries when
 * empty), open addressing by the uint64_t serial each entry starts with (0:
 * an empty slot), rehashing every entry. Returns 0 or -ENOMEM (the table as
 * it was).
 */
static int grow_by_serial(void **tab, uint32_t *cap, size_t size, uint32_t first)
{
	uint32_t n = *cap ? 2 * *cap : first;
	unsigned char *t = calloc(n, size), *old = *tab;
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < *cap; i++) {
		uint64_t serial = serial_at(old, size, i);
		if (!serial)
			continue;
		uint32_t h = mix(serial) & (n - 1);
		while (serial_at(t, size, h))
			h = (h + 1) & (n - 1);
		memcpy(t + (size_t)h * size, old + (size_t)i * size, size);
	}
	free(old);
	*tab = t;
	*cap = n;
	return 0;
}

static int grow_sites(struct bin_state *b)
{
	return grow_by_serial((void **)&b->sites, &b->cap_sites, sizeof *b->sites, 64);
}

static int grow_sources(struct bin_state *b)
{
	uint32_t cap = b->cap_sources ? 2 * b->cap_sources : 64;
	struct bin_source *t = calloc(cap, sizeof *t);
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->cap_sources; i++) {
		if (!b->sources[i].name)
			continue;
		uint32_t h = mix((uint64_t)b->sources[i].pid << 32 | b->sources[i].tid) & (cap - 1);
		while (t[h].name)
			h = (h + 1) & (cap - 1);
		t[h] = b->sources[i];
	}
	free(b->sources);
	b->sources = t;
	b->cap_sources = cap;
	b->last_source = NULL; /* it pointed into the old table */
	return 0;
}

/* Forget every definition (a file header follows): ids start from 0 again. */
static void forget(struct bin_state *b)
{
	for (uint32_t i = 0; i < b->cap_segs; i++) {
		free(b->segs[i].defined);
		b->segs[i] = (struct bin_seg){0};
	}
	b->n_segs = 0;
	if (b->sites)
		memset(b->sites, 0, b->cap_sites * sizeof *b->sites);
	for (uint32_t i = 0; i < b->cap_sources; i++) {
		free(b->sources[i].name);
		b->sources[i].name = NULL;
	}
	b->n_sites = b->n_sources = 0;
	b->last_site = (struct bin_site){0};
	b->last_source = NULL;
}

/* The id of st, defining it into out first if it is new. Returns the id or -ENOMEM. */
static long long site_id(struct bin_state *b, const struct seg_site *st, struct sbuf *out)
{
	if (b->last_site.serial == st->serial)
		return b->last_site.id;
	if (4 * (b->n_sites + 1) > 3 * b->cap_sites && grow_sites(b) < 0)
		return -ENOMEM;
	uint32_t h = mix(st->serial) & (b->cap_sites - 1);
	for (; b->sites[h].serial; h = (h + 1) & (b->cap_sites - 1))
		if (b->sites[h].serial == st->serial) {
			b->last_site = b->sites[h];
			return b->sites[h].id;
		}
	size_t at = out->len;
	if (binlog_put_site(out, b->n_sites, st) < 0) {
		out->len = at;
		return -ENOMEM;
	}
	b->sites[h] = (struct bin_site){st->serial, b->n_sites};
	b->last_site = b->sites[h];
	return b->n_sites++;
}

/* Whether s is the source of tr. */
static inline bool same_source(const struct bin_source *s, const struct text_record *tr)
{
	return s->pid == tr->pid && s->tid == tr->tid && s->name_len == tr->name_len &&
	       memcmp(s->name, tr->name, tr->name_len) == 0;
}

/* The id of tr's source, defining it into out first if it is new. Returns the id or -ENOMEM. */
static long long source_id(struct bin_state *b, const struct text_record *tr, struct sbuf *out)
{
	if (b->last_source && same_source(b->last_source, tr))
		return b->last_source->id;
	if (4 * (b->n_sources + 1) > 3 * b->cap_sources && grow_sources(b) < 0)
		return -ENOMEM;
	uint32_t h = mix((uint64_t)tr->pid << 32 | tr->tid) & (b->cap_sources - 1);
	for (; b->sources[h].name; h = (h + 1) & (b->cap_sources - 1)) {
		if (same_source(&b->sources[h], tr)) {
			b->last_source = &b->sources[h];
			return b->sources[h].id;
		}
	}
	char *name = malloc(tr->name_len + 1);
	size_t at = out->len;
	if (!name || binlog_put_source(out, b->n_sources, tr->pid, tr->tid, tr->name, tr->name_len) < 0) {
		free(name);
		out->len = at;
		return -ENOMEM;
	}
	memcpy(name, tr->name, tr->name_len);
	b->sources[h] = (struct bin_source){tr->pid, tr->tid, name, (uint32_t)tr->name_len, b->n_sources};
	b->last_source = &b->sources[h];
	return b->n_sources++;
}

/* A file header and a session frame into out, after forgetting every definition. Returns 0 or -ENOMEM. */
static int put_preamble(struct bin_state *b, struct sbuf *out)
{
	forget(b);
	if (binlog_put_header(out, clock_realtime_ns()) < 0 ||
	    binlog_put_session(out, (uint32_t)getpid(), b->start_ns) < 0)
		return -ENOMEM;
	return 0;
}

/* rec's frames (definitions it needs, then the record) at the end of out. Returns 0 or -ENOMEM. */
static int put_rec(struct bin_state *b, const struct text_record *tr, struct sbuf *out)
{
	long long src = source_id(b, tr, out), site = 0;
	if (src < 0)
		return (int)src;
	const struct text_msg *m = tr->lazy;
	if (m && m->site && m->raw_args) {
		if ((site = site_id(b, m->site, out)) < 0)
			return (int)site;
		return binlog_put_record(out, (uint32_t)site, (uint32_t)src, tr);
	}
	return binlog_put_text(out, (uint32_t)src, tr);
}

/* tr as one unit at the end of out: a preamble first when one is due, then its frames. Returns 0, or
 * -ENOMEM with out as it was. */
static inline __attribute__((always_inline)) int put_unit(struct bin_state *b, const struct text_record *tr,
							   struct sbuf *out)
{
	size_t at = out->len;
	if (b->n_sites + b->n_sources + b->n_segs >= BIN_DEFS_MAX)
		b->need_preamble = true;
	int rc = b->need_preamble ? put_preamble(b, out) : 0;
	if (rc == 0)
		rc = put_rec(b, tr, out);
	if (rc < 0 || out->oom) {
		out->len = at;
		out->oom = false;
		/* definitions it put were taken back with it: forget them all, a header comes first */
		b->need_preamble = true;
		forget(b);
		return rc < 0 ? rc : -ENOMEM;
	}
	b->need_preamble = false;
	return 0;
}

/*
 * rec was put at out's offset at (with a preamble first when starts): let
 * rotation place its cuts and encryption its chunks. When rotation cuts
 * before rec and rec has no preamble of its own, rec is put again after one,
 * so that the new file starts with a header and defines what it uses.
 * Returns 0 or -ENOMEM (nothing taken, and a preamble goes before the next
 * record).
 */
static __attribute__((noinline)) int rotate_at(struct writer *w, const struct text_record *tr, size_t at,
					       bool starts)
{
	struct bin_state *b = w->priv;
	struct sbuf *out = &w->out.buf;
	size_t len = out->len - at;
	if (!file_state_take(&b->fs, w->out.written + at, len, tr->ts_ns) || starts)
		return 0;
	out->len = at; /* rare: the record starts a file */
	b->need_preamble = true;
	int rc = put_unit(b, tr, out);
	if (rc == 0)
		file_state_grow(&b->fs, w->out.written + at, len, out->len - at);
	return rc;
}

/* Take rec: its unit at the end of the stream, then rotation's and encryption's say. Returns 0 or -ENOMEM
 * (not taken). */
static int binary_add(struct writer *w, struct output_rec *rec)
{
	struct bin_state *b = w->priv;
	if (!w->out.buf.len)
		binary_check_idle(w);
	size_t at = w->out.buf.len;
	bool starts = b->need_preamble;
	int rc = put_unit(b, rec->tr, &w->out.buf);
	if (rc == 0 && (rotate_on(&b->fs.rot) || b->fs.crypt))
		rc = rotate_at(w, rec->tr, at, starts);
	return rc;
}

/* ---- spans: a cycle's records as the producers wrote them (CYCLE frames, shared/binlog.h rule 8) ---- */

#define BIN_PIECE_BYTES (64u << 10) /* a CYCLE frame's records at most (one record may be more) */

static int grow_segs(struct bin_state *b)
{
	return grow_by_serial((void **)&b->segs, &b->cap_segs, sizeof *b->segs, 16);
}

/* The definitions of rs's segment, its SEGMENT frame put into out first when it is new or its
 * calibration changed. NULL when out of memory. */
static struct bin_seg *seg_def(struct bin_state *b, const struct reader_seg *rs, struct sbuf *out)
{
	if (4 * (b->n_segs + 1) > 3 * b->cap_segs && grow_segs(b) < 0)
		return NULL;
	uint32_t h = mix(rs->seg->serial) & (b->cap_segs - 1);
	while (b->segs[h].serial && b->segs[h].serial != rs->seg->serial)
		h = (h + 1) & (b->cap_segs - 1);
	struct bin_seg *g = &b->segs[h];
	bool fresh = !g->serial;
	if (!fresh && memcmp(&g->cal, rs->cal, sizeof g->cal) == 0)
		return g;
	uint32_t id = fresh ? b->n_segs : g->id;
	if (binlog_put_segment(out, id, rs->seg, rs->cal) < 0)
		return NULL;
	if (fresh)
		*g = (struct bin_seg){.serial = rs->seg->serial, .id = b->n_segs++};
	g->cal = *rs->cal;
	return g;
}

/* A SEG_SITE frame into out for each site of cands[0..n) g has not defined. Returns 0 or -ENOMEM. */
static int site_defs(struct bin_state *b, struct bin_seg *g, struct seg *s, const struct reader_cand *cands,
		     uint32_t n, struct sbuf *out)
{
	uint32_t last = UINT32_MAX;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = cands[i].r.site, word = id / 64;
		if (id == last || id >= s->max_sites) /* a loss record, or an id no site has: decoded as such */
			continue;
		last = id;
		if (word < g->n_words && (g->defined[word] >> (id % 64) & 1))
			continue;
		const struct seg_site *st = seg_site(s, id);
		if (!st && s->sites_oom)
			return -ENOMEM;
		if (!st)
			continue; /* malformed: "unknown call-site id", as the collector shows it */
		if (word >= g->n_words) {
			uint32_t nw = word + 1 > 2 * g->n_words ? word + 1 : 2 * g->n_words;
			uint64_t *t = realloc(g->defined, nw * sizeof *t);
			if (!t)
				return -ENOMEM;
			memset(t + g->n_words, 0, (nw - g->n_words) * sizeof *t);
			g->defined = t;
			g->n_words = nw;
		}
		if (binlog_put_seg_site(out, g->id, id, st) < 0)
			return -ENOMEM;
		g->defined[word] |= 1ull << (id % 64);
		b->n_sites++;
	}
	return 0;
}

/* Ring bytes of span sp's records [a, c) of its cands: from its start for a = 0, to its end for c = n. */
static inline uint64_t span_pos(const struct reader_span *sp, uint32_t i)
{
	return i == 0 ? sp->from : i == sp->n ? sp->to : sp->cands[i].pos;
}

/* Ring positions [from, to) of ring i of s, appended to out (room reserved). */
static void copy_ring(struct sbuf *out, const struct seg *s, uint32_t ring, uint64_t from, uint64_t to)
{
	const uint8_t *data = seg_ring_data(s, ring);
	uint32_t off = ring_offset(from, s->ring_bytes), len = (uint32_t)(to - from);
	uint32_t first = len < s->ring_bytes - off ? len : s->ring_bytes - off;
	memcpy(out->data + out->len, data + off, first);
	memcpy(out->data + out->len + first, data, len - first);
	out->len += len;
}

/* The piece [cur, end) of spans as one CYCLE frame with the definitions it needs, at the end of out.
 * Returns 0, or -ENOMEM (out may hold part of it). */
static int put_piece(struct bin_state *b, const struct reader_span *spans, uint32_t n, struct sbuf *out)
{
	uint32_t m = 0;
	uint64_t bytes = 0;
	for (uint32_t k = 0; k < n; k++) {
		if (b->cur[k] == b->end[k] || spans[k].rs->seg->bus_fault) /* truncated: rejected, as the reader does */
			continue;
		struct bin_seg *g = seg_def(b, spans[k].rs, out);
		if (!g || site_defs(b, g, spans[k].rs->seg, spans[k].cands + b->cur[k], b->end[k] - b->cur[k], out) < 0)
			return -ENOMEM;
		b->seg_ids[k] = g->id;
		m++;
		bytes += span_pos(&spans[k], b->end[k]) - span_pos(&spans[k], b->cur[k]);
	}
	if (!m)
		return 0;
	if (binlog_put_cycle(out, m, bytes) < 0)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		const struct reader_span *sp = &spans[k];
		if (b->cur[k] == b->end[k] || sp->rs->seg->bus_fault)
			continue;
		uint64_t from = span_pos(sp, b->cur[k]), to = span_pos(sp, b->end[k]);
		if (binlog_put_span(out, b->seg_ids[k], sp->rs->rings[sp->ring].tid, (uint32_t)(to - from)) < 0)
			return -ENOMEM;
		copy_ring(out, sp->rs->seg, sp->ring, from, to);
		if (sp->rs->seg->bus_fault) /* truncated while copied: zeros; again without it */
			return -EAGAIN;
	}
	return 0;
}

/* The records of span k from b->cur[k] with merge keys up to key: where they end. */
static uint32_t upto_key(const struct bin_state *b, const struct reader_span *sp, uint32_t k, uint32_t lim,
			 uint64_t key)
{
	uint32_t lo = b->cur[k], hi = lim;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (sp->cands[mid].key <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* b->end = the records of every span from b->cur with keys up to key (within lim). Returns their bytes. */
static uint64_t slice_upto(struct bin_state *b, const struct reader_span *spans, uint32_t n, const uint32_t *lim,
			   uint64_t key)
{
	uint64_t bytes = 0;
	for (uint32_t k = 0; k < n; k++) {
		b->end[k] = upto_key(b, &spans[k], k, lim[k], key);
		bytes += span_pos(&spans[k], b->end[k]) - span_pos(&spans[k], b->cur[k]);
	}
	return bytes;
}

/*
 * The next piece of the cycle, from b->cur into b->end: a prefix in merge
 * order (every record keyed up to some key, or just the first record),
 * within one rotation interval, of at most BIN_PIECE_BYTES (max_bytes / 16
 * when less) unless it is one record. lim (scratch, n) bounds it.
 */
static void next_piece(struct bin_state *b, const struct reader_span *spans, uint32_t n, uint32_t *lim)
{
	uint32_t first = UINT32_MAX;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint32_t k = 0; k < n; k++) {
		lim[k] = spans[k].n;
		if (b->cur[k] == spans[k].n)
			continue;
		uint64_t f = spans[k].cands[b->cur[k]].key, l = spans[k].cands[spans[k].n - 1].key;
		first = f < lo ? k : first;
		lo = f < lo ? f : lo;
		hi = l > hi ? l : hi;
	}
	struct rotate *r = &b->fs.rot;
	if (r->every_s) { /* keys ascend with time: the first record's interval ends at some key */
		int64_t start = rotate_interval_start(r, (int64_t)(lo / 1000000000u));
		if (rotate_interval_start(r, (int64_t)(hi / 1000000000u)) != start) {
			uint64_t a = lo, z = hi - 1; /* the last key in it: a is in it, z + 1 is not */
			while (a < z) {
				uint64_t mid = a + (z - a + 1) / 2;
				if (rotate_interval_start(r, (int64_t)(mid / 1000000000u)) == start)
					a = mid;
				else
					z = mid - 1;
			}
			hi = a;
		}
	}
	uint64_t budget = r->max_bytes && r->max_bytes / 16 < BIN_PIECE_BYTES ? r->max_bytes / 16 : BIN_PIECE_BYTES;
	if (slice_upto(b, spans, n, lim, hi) <= budget)
		return;
	memcpy(lim, b->end, n * sizeof *lim);
	uint64_t a = lo, z = hi; /* the highest key whose prefix fits: slice_upto(a) fits, z + 1 does not */
	if (slice_upto(b, spans, n, lim, lo) > budget) {
		for (uint32_t k = 0; k < n; k++) /* not even the first key's records: the first record alone */
			b->end[k] = b->cur[k] + (k == first);
		return;
	}
	while (a < z) {
		uint64_t mid = a + (z - a + 1) / 2;
		if (slice_upto(b, spans, n, lim, mid) <= budget)
			a = mid;
		else
			z = mid - 1;
	}
	slice_upto(b, spans, n, lim, a);
}

/* The piece in b->cur..b->end at the end of out, after a preamble when one is due. Returns 0, or
 * -ENOMEM with out as it was (a preamble then goes first next time). */
static int put_piece_unit(struct bin_state *b, const struct reader_span *spans, uint32_t n, struct sbuf *out)
{
	size_t at = out->len;
	int rc;
	do {
		out->len = at;
		if (b->n_sites + b->n_sources + b->n_segs >= BIN_DEFS_MAX)
			b->need_preamble = true;
		rc = b->need_preamble ? put_preamble(b, out) : 0;
		if (rc == 0)
			rc = put_piece(b, spans, n, out);
		/* a segment truncated while copied: again without it, after a preamble, as what it
		 * defined went back with it */
		b->need_preamble = rc == -EAGAIN;
	} while (rc == -EAGAIN);
	if (rc < 0 || out->oom) {
		out->len = at;
		out->oom = false;
		b->need_preamble = true; /* what it defined went with it */
		forget(b);
		return -ENOMEM;
	}
	return 0;
}

/* The piece in b->cur..b->end taken as one unit, its first record stamped ts_ns: rotation and encryption
 * have their say as for a record (rotate_at). Returns 0 or -ENOMEM (not taken). */
static int take_piece(struct writer *w, const struct reader_span *spans, uint32_t n, uint64_t ts_ns)
{
	struct bin_state *b = w->priv;
	struct sbuf *out = &w->out.buf;
	size_t at = out->len;
	bool starts = b->need_preamble;
	int rc = put_piece_unit(b, spans, n, out);
	if (rc < 0)
		return rc;
	size_t len = out->len - at;
	if (!file_state_take(&b->fs, w->out.written + at, len, ts_ns) || starts)
		return 0;
	out->len = at; /* it starts a file: again, after a preamble */
	b->need_preamble = true;
	if ((rc = put_piece_unit(b, spans, n, out)) == 0)
		file_state_grow(&b->fs, w->out.written + at, len, out->len - at);
	return rc;
}

/* Room for n spans in the piece arrays. Returns 0 or -ENOMEM. */
static int spans_room(struct bin_state *b, uint32_t n)
{
	if (n <= b->cap_spans)
		return 0;
	uint32_t *c = realloc(b->cur, n * sizeof *c), *e = c ? realloc(b->end, n * sizeof *e) : NULL;
	uint32_t *l = e ? realloc(b->lim, n * sizeof *l) : NULL, *g = l ? realloc(b->seg_ids, n * sizeof *g) : NULL;
	b->cur = c ? c : b->cur;
	b->end = e ? e : b->end;
	b->lim = l ? l : b->lim;
	b->seg_ids = g ? g : b->seg_ids;
	if (!g)
		return -ENOMEM;
	b->cap_spans = n;
	return 0;
}

/* Take a cycle's spans: piece by piece (next_piece), each a CYCLE frame. Returns 0 or -ENOMEM. */
static int binary_add_spans(struct writer *w, const struct reader_span *spans, uint32_t n, uint64_t *lost)
{
	struct bin_state *b = w->priv;
	*lost = 0;
	if (!w->out.buf.len)
		binary_check_idle(w);
	if (spans_room(b, n) < 0) {
		for (uint32_t k = 0; k < n; k++)
			*lost += spans[k].n;
		return -ENOMEM;
	}
	memset(b->cur, 0, n * sizeof *b->cur);
	for (;;) {
		uint64_t ts = UINT64_MAX, records = 0;
		for (uint32_t k = 0; k < n; k++)
			if (b->cur[k] < spans[k].n && spans[k].cands[b->cur[k]].key < ts)
				ts = spans[k].cands[b->cur[k]].key;
		if (ts == UINT64_MAX)
			return *lost ? -ENOMEM : 0;
		next_piece(b, spans, n, b->lim);
		for (uint32_t k = 0; k < n; k++)
			records += b->end[k] - b->cur[k];
		if (take_piece(w, spans, n, ts) < 0)
			*lost += records;
		memcpy(b->cur, b->end, n * sizeof *b->cur);
	}
}

/* Preamble bytes added at the end of the stream from buffer offset at: rotation and encryption learn them. */
static void took_preamble(struct bin_state *b, struct wout *o, size_t at)
{
	file_state_grow(&b->fs, o->written + at, 0, o->buf.len - at);
}

/* Read the file writer's keys (nothing is opened). Returns 0, or -errno with d->msg naming the key. */
static int binary_configure(struct writer *w, const config_setting_t *cfg, struct diag *d)
{
	struct bin_state *b = calloc(1, sizeof *b);
	if (!b) {
		snprintf(d->msg, sizeof d->msg, "out of memory");
		return -ENOMEM;
	}
	int r = file_state_configure(&b->fs, cfg, "binary", d);
	if (r < 0) {
		free(b->fs.path);
		free(b);
		return r;
	}
	b->reopen_at = NO_REOPEN;
	b->fs.headed = true;
	b->fs.wrote = bin_tail_wrote_hook;
	b->fs.wrote_arg = &b->tail;
	w->priv = b;
	w->durable = true;
	return 0;
}

/* Open the file and put its preamble first. Returns 0, or -errno with d->msg naming the path. */
static int binary_open(struct writer *w, struct diag *d)
{
	struct bin_state *b = w->priv;
	int fd = file_state_open(&b->fs, w->name, d);
	if (fd < 0)
		return fd;
	w->fd = fd;
	b->start_ns = clock_realtime_ns();
	size_t before = w->out.buf.len;
	if (put_preamble(b, &w->out.buf) < 0) {
		snprintf(d->msg, sizeof d->msg, "writer %s: out of memory", w->name);
		return -ENOMEM;
	}
	took_preamble(b, &w->out, before);
	return 0;
}

/* A file header and session at the end of the stream (o), or before the next record when memory for them
 * cannot be had now: what is taken after it is defined anew. */
static void put_again(struct bin_state *b, struct wout *o)
{
	size_t before = o->buf.len;
	if (put_preamble(b, &o->buf) < 0) {
		o->buf.len = before;
		o->buf.oom = false;
		b->need_preamble = true;
	}
	took_preamble(b, o, before);
}

/*
 * SIGHUP (and the path removed or replaced): what is taken from now on goes
 * to the file at the path, after a preamble (or, without memory for it now,
 * before the next record); the bytes taken before finish the old file first
 * (binary_prepare switches). Returns 0.
 */
static int binary_reopen(struct writer *w)
{
	struct bin_state *b = w->priv;
	if (b->reopen_at != NO_REOPEN)
		return 0; /* one is on its way: what follows it goes to the path already */
	uint64_t at = w->out.written + w->out.buf.len;
	put_again(b, &w->out);
	b->reopen_at = at;
	return 0;
}

/* The reopen's bytes before it are written: open the path and write there (until it can, the
 * writer keeps what follows). */
static void switch_file(struct writer *w)
{
	struct bin_state *b = w->priv;
	int fd = open(b->fs.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, b->fs.mode);
	if (fd < 0) {
		if (-errno != b->fs.gone_err)
			collector_warn("writer %s: cannot open %s again: %s; keeping its records until it can", w->name,
				       b->fs.path, strerror(errno));
		b->fs.gone_err = -errno;
		return; /* tried again at the next batch */
	}
	file_state_retire(&b->fs, w->fd);
	w->fd = fd;
	b->reopen_at = NO_REOPEN;
	b->fs.gone_err = 0;
	struct stat st;
	if (fstat(fd, &st) == 0)
		rotate_resize(&b->fs.rot, (uint64_t)st.st_size);
}

/*
 * The bytes not yet written cannot follow what was written (the file was
 * removed, or truncated under us): what they need before them to decode
 * (binary_tail.h) into *pre, with room for it in the buffer. Returns
 * whether it could; not when the tail lost track or memory fails (*pre is
 * then empty).
 */
static bool make_prefix(struct writer *w, struct sbuf *pre)
{
	struct bin_state *b = w->priv;
	struct sbuf *o = &w->out.buf;
	if (bin_tail_prefix(&b->tail, (uint32_t)getpid(), b->start_ns, pre) == 0 && pre->len <= w->out.written &&
	    sbuf_reserve(o, pre->len) == 0)
		return true;
	o->oom = false;
	sbuf_free(pre);
	return false;
}

/* pre (make_prefix) before the bytes not yet written, at stream offsets before theirs, so that what follows
 * keeps its offsets (rotation's cuts, the marks). */
static void put_prefix(struct writer *w, struct sbuf *pre)
{
	struct bin_state *b = w->priv;
	struct sbuf *o = &w->out.buf;
	memmove(o->data + pre->len, o->data, o->len);
	memcpy(o->data, pre->data, pre->len);
	o->len += pre->len;
	w->out.written -= pre->len;
	bin_tail_restart(&b->tail); /* the prefix is walked again as it is written */
	if (!b->fs.rot.n_cuts) /* else the size counted is a later file's */
		file_state_grow(&b->fs, w->out.written, 0, pre->len);
	sbuf_free(pre);
}

/*
 * Our file was removed (not renamed) with bytes still to write (a
 * backlog): they go to a new file at the path, after what they need there,
 * not into the removed one, which is let go of (its space is freed).
 * Returns whether they did; not when nothing is left to write, the file was
 * not removed, or the prefix cannot be made or the new file opened (then as
 * before: they finish the old file).
 */
static bool move_backlog(struct writer *w)
{
	struct bin_state *b = w->priv;
	struct sbuf pre = {0};
	struct stat st;
	int fd = -1;
	/* (a cut at written: the rotation is first, and fails for the missing path; then the move) */
	if (!w->out.buf.len || !rotate_room(&b->fs.rot, w->out.written) || fstat(w->fd, &st) < 0 || st.st_nlink ||
	    !make_prefix(w, &pre) || (fd = open(b->fs.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, b->fs.mode)) < 0) {
		sbuf_free(&pre);
		return false;
	}
	collector_warn("writer %s: %s was removed with %zu bytes not yet written; they go to a new file, after the "
		       "definitions they use", w->name, b->fs.path, w->out.buf.len);
	put_prefix(w, &pre);
	file_state_retire(&b->fs, w->fd);
	w->fd = fd;
	if (fstat(fd, &st) == 0)
		rotate_resize(&b->fs.rot, (uint64_t)st.st_size);
	return true;
}

/* The path no longer names our file (removed, replaced): reopen it. */
static void binary_check(struct writer *w)
{
	struct bin_state *b = w->priv;
	uint64_t size;
	enum file_path st = file_state_check(&b->fs, w->fd, &size);
	if (st == FILE_PATH_SAME) { /* a reopen on its way too: the bytes before it decode in the truncated file */
		bool truncated = file_state_truncated(&b->fs, size, w->name);
		rotate_resize(&b->fs.rot, size);
		struct sbuf pre = {0};
		if (truncated && make_prefix(w, &pre))
			put_prefix(w, &pre); /* what the writer holds decodes in the truncated file */
		else if (truncated)
			put_again(b, &w->out); /* what is taken from now on does, at least */
	}
	if (st != FILE_PATH_GONE || b->reopen_at != NO_REOPEN || move_backlog(w))
		return;
	if (binary_reopen(w) == 0)
		collector_warn("writer %s: %s was removed or replaced; writing to a new file", w->name, b->fs.path);
}

/*
 * Before a cycle's first unit, with nothing left to write: a path that no
 * longer names our file is opened again now, so that the cycle's records
 * go to the new file (defined there) and not into a removed one. Checked
 * at prepare too, for a removal with bytes still to write (a backlog):
 * those finish the old file.
 */
static void binary_check_idle(struct writer *w)
{
	struct bin_state *b = w->priv;
	if (w->out.buf.len || b->reopen_at != NO_REOPEN)
		return;
	binary_check(w);
	if (b->reopen_at == w->out.written)
		switch_file(w);
}

/* Rotate or reopen where every byte before it is written, then write up to the next such point. */
static int binary_prepare(struct writer *w, struct uio_req *req)
{
	struct bin_state *b = w->priv;
	binary_check(w);
	if (b->reopen_at == w->out.written)
		switch_file(w);
	rotate_due(&b->fs.rot, w->out.written, &w->fd);
	int rc = writer_prepare_line(w, req);
	uint64_t room = rotate_room(&b->fs.rot, w->out.written);
	if (b->reopen_at != NO_REOPEN && b->reopen_at - w->out.written < room)
		room = b->reopen_at - w->out.written;
	if (rc > 0 && req->len > room)
		req->len = (size_t)room;
	rc = rc > 0 && req->len == 0 ? 0 : rc;
	return file_state_prepare(&b->fs, rc, req, w->out.written, w->out.written + w->out.buf.len);
}

/* fdatasync the file. Returns 0 or -errno. */
static int binary_sync(struct writer *w)
{
	return fdatasync(w->fd) == 0 ? 0 : -errno;
}

static void binary_close(struct writer *w)
{
	struct bin_state *b = w->priv;
	if (b)
		file_state_retire(&b->fs, w->fd);
	else if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (!b)
		return;
	file_state_free(&b->fs);
	bin_tail_free(&b->tail);
	forget(b); /* the names and bitmaps the tables hold */
	free(b->sources);
	free(b->sites);
	free(b->segs);
	free(b->cur);
	free(b->end);
	free(b->lim);
	free(b->seg_ids);
	free(b);
	w->priv = NULL;
}

const struct writer_ops writer_binary_ops = {
	.keys = binary_keys,
	.type = "binary",
	.unformatted = true,
	.configure = binary_configure,
	.open = binary_open,
	.add = binary_add,
	.add_spans = binary_add_spans,
	.prepare = binary_prepare,
	.complete = file_state_complete,
	.sync = binary_sync,
	.reopen = binary_reopen,
	.close = binary_close,
	.describe = file_state_describe,
};
