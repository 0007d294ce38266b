/*
 * reader.c — gathering, merging and the notices of the one reader (see
 * reader.h for the cycle and the merge order).
 */
#include "reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

#define READER_FUTURE_NS 1000000000ull /* a stamp this far ahead of now is not waited for */

void reader_init(struct reader *rd, reader_record_fn on_record, reader_reject_fn on_reject, void *clientd)
{
	*rd = (struct reader){.on_record = on_record, .on_reject = on_reject, .clientd = clientd, .bound = UINT64_MAX};
}

void reader_free(struct reader *rd)
{
	free(rd->cands);
	free(rd->runs);
	sbuf_free(&rd->msg);
	*rd = (struct reader){0};
}

int reader_seg_init(struct reader_seg *rs, struct seg *seg, const struct clock_calib *cal)
{
	*rs = (struct reader_seg){.seg = seg, .cal = cal};
	rs->rings = calloc(seg->ring_count ? seg->ring_count : 1, sizeof *rs->rings);
	if (!rs->rings)
		return -ENOMEM;
	for (uint32_t i = 0; i < seg->ring_count; i++) {
		struct shmlog_ring_header *rh = seg_ring(seg, i);
		struct reader_ring *rr = &rs->rings[i];
		/* acquire: pairs with an earlier collector's release of head */
		rr->pos = rr->read = rr->new_read = atomic_load_explicit(&rh->head, memory_order_acquire);
		rr->stop = UINT64_MAX;
		/* relaxed: that collector stored them before head (ledger_pop) */
		rr->lost_reported = atomic_load_explicit(&rh->lost_reported, memory_order_relaxed);
		rr->records_consumed = atomic_load_explicit(&rh->records_consumed, memory_order_relaxed);
	}
	return 0;
}

void reader_seg_free(struct reader_seg *rs)
{
	free(rs->rings);
	rs->rings = NULL;
}

uint32_t reader_seg_take(struct reader_seg *rs)
{
	uint32_t moved = 0;
	for (uint32_t i = 0; i < rs->seg->ring_count; i++) {
		moved += rs->rings[i].new_read != rs->rings[i].read;
		rs->rings[i].read = rs->rings[i].new_read;
	}
	return moved;
}

bool reader_seg_done(const struct reader_seg *rs)
{
	/* acquire: pairs with shmlog_close's release of the state */
	return rs->gone || atomic_load_explicit(&rs->seg->hdr->state, memory_order_acquire) == SHMLOG_SEG_CLOSED;
}

static void reject(struct reader *rd, struct reader_seg *rs, uint32_t ring, const char *why)
{
	if (rs->seg->bus_fault) { /* whatever was seen after it, the cause is this */
		ring = READER_WHOLE_SEGMENT;
		why = "file truncated while mapped (SIGBUS)";
	}
	enum reader_action a = rd->on_reject(rd->clientd, rs, ring, why);
	if (ring == READER_WHOLE_SEGMENT || a == READER_DROP)
		rs->rejected = true;
	else
		rs->rings[ring].damaged = true;
}

/* Make room for one more candidate. Returns false when out of memory. */
static bool cands_reserve(struct reader *rd)
{
	return GROW(rd->cands, rd->n_cands, rd->cap_cands, 1024) == 0;
}

/*
 * The merge key of the first record a cut ring could not give: only records
 * before it in merge order (key, then ring order) are emitted this cycle.
 * The cut ring's own records all are, so a cut cycle always moves on.
 */
struct merge_limit {
	uint64_t key, order;
};

/* What one gathering pass shares between the rings. */
struct gather {
	uint64_t cutoff, future; /* the merge window: stamps in (cutoff, future) wait */
	uint64_t bound;          /* merge keys from here on wait for a later cycle (UINT64_MAX: none) */
	uint32_t ring_cap;       /* records per ring */
	struct merge_limit limit; /* {bound, 0}, or lower: the first record a cut ring could not give */
	bool held;
	bool capped;             /* a ring was cut by ring_cap (or memory) */
	bool bounded;            /* a ring stopped at the bound */
};

/* Lower g's limit to the first record (key, order) a cut ring could not give. */
static void lower_limit(struct gather *g, uint64_t key, uint64_t order)
{
	if (key < g->limit.key || (key == g->limit.key && order < g->limit.order))
		g->limit = (struct merge_limit){key, order};
}

/* The published tail of ring i, checked against rr: false (with why) if impossible. */
static bool ring_tail(const struct reader_seg *rs, uint32_t i, uint64_t *tail, char *why, size_t cap)
{
	const struct reader_ring *rr = &rs->rings[i];
	/* acquire: pairs with the producer's release of tail; the records up to it are complete */
	*tail = atomic_load_explicit(&seg_ring(rs->seg, i)->tail, memory_order_acquire);
	if (rr->read % SHMLOG_RECORD_ALIGN)
		snprintf(why, cap, "ring %" PRIu32 " consumed position misaligned", i);
	else if (*tail < rr->read || *tail - rr->pos > rs->seg->ring_bytes)
		snprintf(why, cap, "ring %" PRIu32 " positions are impossible (tail behind or too far ahead)", i);
	else
		return true;
	return false;
}

/*
 * Gather ring i of rs into rd->cands (see reader.h, step 1), as one run with
 * merge key order. Sets new_read past what was taken. Returns false if the
 * ring was rejected.
 */
static bool gather_ring(struct reader *rd, struct reader_seg *rs, uint32_t i, bool final, struct gather *g,
			uint64_t order)
{
	struct reader_ring *rr = &rs->rings[i];
	uint64_t tail;
	char why[160];
	rr->new_read = rr->read;
	if (rr->damaged)
		return true;
	if (!ring_tail(rs, i, &tail, why, sizeof why)) {
		reject(rd, rs, i, why);
		return false;
	}
	if (tail > rr->stop)
		tail = rr->stop;
	if (tail == rr->read)
		return true;
	/* relaxed: the owner wrote tid before its first record, ordered by the tail acquire */
	rr->tid = atomic_load_explicit(&seg_ring(rs->seg, i)->tid, memory_order_relaxed);
	uint64_t pos = rr->read;
	uint32_t start = rd->n_cands;
	struct seg_rec r;
	const char *bad = "?";
	int rc;
	uint64_t key = 0; /* a stamp behind the one before it in its ring merges as that one */
	while ((rc = seg_ring_next(rs->seg, i, &pos, tail, &r, &bad)) == 1) {
		uint64_t ns = seg_ts_ns(rs->seg, rs->cal, r.ts);
		key = ns > key ? ns : key;
		if (!final && key > g->cutoff && key < g->future) {
			g->held = true;
			break;
		}
		if (key >= g->bound && g->bound != UINT64_MAX) { /* after all any ring gives below it: no limit to lower */
			g->bounded = true;
			break;
		}
		if (rd->n_cands - start == g->ring_cap || !cands_reserve(rd)) {
			lower_limit(g, key, order);
			g->capped = true;
			break;
		}
		rd->cands[rd->n_cands++] = (struct reader_cand){ns, key, pos, r};
		pos += r.size;
	}
	if (rd->n_cands > start)
		rd->runs[rd->n_runs++] = (struct reader_run){start, rd->n_cands, order, rs, i};
	rr->new_read = pos; /* includes padding skipped after the last record */
	if (rc < 0) {
		snprintf(why, sizeof why, "ring %" PRIu32 " corrupt at position %" PRIu64 ": %s", i, pos, bad);
		reject(rd, rs, i, why);
		return false;
	}
	return true;
}

/* Forget what this cycle gathered from rs, from cands[cand0] and runs[run0] on. */
static void forget_seg(struct reader *rd, struct reader_seg *rs, uint32_t cand0, uint32_t run0)
{
	rd->n_cands = cand0;
	rd->n_runs = run0;
	for (uint32_t i = 0; i < rs->seg->ring_count; i++)
		rs->rings[i].new_read = rs->rings[i].read;
}

/* Gather every ring of segment number si. Returns nothing: a rejection is handled here. */
static void gather_seg(struct reader *rd, struct reader_seg *rs, uint32_t si, bool final, struct gather *g)
{
	uint32_t cand0 = rd->n_cands, run0 = rd->n_runs;
	bool seg_final = final || reader_seg_done(rs);
	for (uint32_t i = 0; i < rs->seg->ring_count && !rs->rejected; i++)
		gather_ring(rd, rs, i, seg_final, g, (uint64_t)si << 32 | i);
	if (!rs->rejected && rs->seg->bus_fault)
		reject(rd, rs, READER_WHOLE_SEGMENT, "");
	if (rs->rejected)
		forget_seg(rd, rs, cand0, run0);
}

/* The rings of segs with records waiting, and the rings in all. */
static uint32_t count_active(struct reader_seg *const *segs, uint32_t n, uint32_t *rings)
{
	uint32_t active = 0;
	*rings = 0;
	for (uint32_t si = 0; si < n; si++) {
		const struct reader_seg *rs = segs[si];
		*rings += rs->seg->ring_count;
		for (uint32_t i = 0; !rs->rejected && !rs->finished && i < rs->seg->ring_count; i++)
			/* acquire: pairs with the producer's release of tail */
			active += !rs->rings[i].damaged &&
				  atomic_load_explicit(&seg_ring(rs->seg, i)->tail, memory_order_acquire) !=
					  rs->rings[i].read;
	}
	return active;
}

static inline bool run_before(const struct reader *rd, const struct reader_run *a, const struct reader_run *b)
{
	uint64_t ta = rd->cands[a->cur].key, tb = rd->cands[b->cur].key;
	return ta < tb || (ta == tb && a->order < b->order);
}

/* Whether run u's next record comes before the limit in merge order. */
static inline bool run_before_limit(const struct reader *rd, const struct reader_run *u, struct merge_limit l)
{
	uint64_t k = rd->cands[u->cur].key;
	return k < l.key || (k == l.key && u->order <= l.order);
}

static void heap_down(struct reader *rd, uint32_t n, uint32_t i)
{
	struct reader_run *h = rd->runs;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && run_before(rd, &h[l], &h[m]))
			m = l;
		if (r < n && run_before(rd, &h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		struct reader_run t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Render candidate k of run u and hand it to on_record. */
static void emit(struct reader *rd, const struct reader_run *u, const struct reader_cand *k)
{
	struct reader_ring *rr = &u->rs->rings[u->ring];
	if (u->rs->seg->bus_fault) /* truncated under us: zeros now; rejected in the next gather */
		return;
	struct text_record tr;
	struct seg_space sp; /* what tr points to: valid until on_record returns */
	uint64_t lost = seg_decode(u->rs->seg, rr->tid, &k->r, k->ts_ns, &rd->msg, &tr, &sp);
	if (k->pos < rr->replay_end) {
		tr.consumed = true;
	} else {
		rr->lost_reported += lost;
		rr->records_consumed += k->r.site != SHMLOG_SITE_LOSS;
	}
	rd->on_record(rd->clientd, u->rs, &k->r, &tr);
}

/*
 * Emit the runs' records before limit in merge order, until the deadline
 * (then *cut). A run not used up resumes, next cycle, at its first record not
 * emitted. Returns the records emitted.
 */
static uint32_t merge_emit(struct reader *rd, struct merge_limit limit, uint64_t deadline, bool *cut)
{
	struct reader_run *h = rd->runs;
	uint32_t n = rd->n_runs, emitted = 0;
	for (uint32_t i = n / 2; i-- > 0;)
		heap_down(rd, n, i);
	while (n && run_before_limit(rd, &h[0], limit)) {
		if (deadline != UINT64_MAX && (emitted & 255) == 255 && clock_realtime_ns() > deadline) {
			*cut = true;
			break;
		}
		if (!emitted)
			rd->first_key = rd->cands[h[0].cur].key;
		rd->last_key = rd->cands[h[0].cur].key;
		emit(rd, &h[0], &rd->cands[h[0].cur]);
		emitted++;
		if (++h[0].cur == h[0].end)
			h[0] = h[--n];
		if (n > 1) /* one run (one ring with records, the common case) needs no ordering */
			heap_down(rd, n, 0);
	}
	for (uint32_t i = 0; i < n; i++) /* the rest waits in the ring */
		h[i].rs->rings[h[i].ring].new_read = rd->cands[h[i].cur].pos;
	return emitted;
}

static void notice(struct reader *rd, struct reader_seg *rs, uint32_t tid, int level, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Hand on_record a line the reader writes about rs itself, stamped now. */
static void notice(struct reader *rd, struct reader_seg *rs, uint32_t tid, int level, const char *fmt, ...)
{
	char buf[512];
	struct text_record tr;
	va_list ap;
	va_start(ap, fmt);
	seg_notice(rs->seg, tid, level, &tr, buf, sizeof buf, fmt, ap);
	va_end(ap);
	rd->on_record(rd->clientd, rs, NULL, &tr);
}

/* How the producer of rs ended, when it did not close its logger. */
static void notice_end(struct reader *rd, struct reader_seg *rs)
{
	const struct seg *s = rs->seg;
	/* acquire: pairs with the producer's release of ended (its crash handler or exit) */
	uint32_t end = atomic_load_explicit(&s->hdr->ended, memory_order_acquire);
	int sig = (int)((end >> 8) & 0xff);
	switch (end & 0xff) {
	case SHMLOG_END_EXIT:
		notice(rd, rs, 0, TEXT_LEVEL_INFO, "[shmlog] process %u exited", s->pid);
		break;
	case SHMLOG_END_CRASH:
		notice(rd, rs, 0, TEXT_LEVEL_CRITICAL, "[shmlog] process %u crashed with signal %d (SIG%s)", s->pid,
		       sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		break;
	default:
		notice(rd, rs, 0, TEXT_LEVEL_WARN,
		       "[shmlog] process %u ended without exiting normally (killed by a signal such as SIGKILL, "
		       "or crashed with no crash handler)",
		       s->pid);
	}
}

/* Report drops no loss record reported, and the end of the producer; rs is finished. */
static void finish_seg(struct reader *rd, struct reader_seg *rs)
{
	for (uint32_t i = 0; i < rs->seg->ring_count; i++) {
		struct reader_ring *rr = &rs->rings[i];
		/* relaxed: a counter, read after the records it follows */
		uint64_t lost = atomic_load_explicit(&seg_ring(rs->seg, i)->lost, memory_order_relaxed);
		if (!rr->damaged && lost > rr->lost_reported) {
			notice(rd, rs, rr->tid, TEXT_LEVEL_WARN, "%" PRIu64 " records lost (ring full)",
			       lost - rr->lost_reported);
			rr->lost_reported = lost;
		}
	}
	/* relaxed: a counter */
	uint64_t rl = atomic_load_explicit(&rs->seg->hdr->registry_lost, memory_order_relaxed);
	if (rl)
		notice(rd, rs, 0, TEXT_LEVEL_WARN, "%" PRIu64 " records lost (call-site registry full)", rl);
	/* a producer that closed its logger ended its log normally: no notice */
	bool closed = atomic_load_explicit(&rs->seg->hdr->state, memory_order_acquire) == SHMLOG_SEG_CLOSED;
	if (rs->gone && !closed)
		notice_end(rd, rs);
	rs->finished = true;
}

/* Whether every ring of rs is read to its tail or damaged. Returns that. */
static bool seg_drained(const struct reader_seg *rs)
{
	for (uint32_t i = 0; i < rs->seg->ring_count; i++)
		/* acquire: pairs with the producer's release of tail */
		if (!rs->rings[i].damaged &&
		    atomic_load_explicit(&seg_ring(rs->seg, i)->tail, memory_order_acquire) != rs->rings[i].new_read)
			return false;
	return true;
}

/* Size the runs for every ring of segs. Returns false when out of memory. */
static bool runs_reserve(struct reader *rd, uint32_t rings)
{
	if (rings <= rd->cap_runs)
		return true;
	struct reader_run *r = realloc(rd->runs, rings * sizeof *r);
	if (!r)
		return false;
	rd->runs = r;
	rd->cap_runs = rings;
	return true;
}

/* Gather every segment of segs under bound into rd's runs. */
static void gather_all(struct reader *rd, struct reader_seg *const *segs, uint32_t n, const struct reader_params *p,
		       uint32_t active, uint64_t bound, struct gather *g)
{
	*g = (struct gather){
		.cutoff = p->now_ns - p->window_ns,
		.future = p->now_ns + READER_FUTURE_NS,
		.bound = bound,
		/* under a bound the bound shares the records out; the cap only bounds memory */
		.ring_cap = bound != UINT64_MAX || !active ? p->max_records : p->max_records / active,
		.limit = {bound, bound == UINT64_MAX ? UINT64_MAX : 0},
	};
	if (g->ring_cap < READER_RING_MIN_RECORDS)
		g->ring_cap = READER_RING_MIN_RECORDS;
	rd->n_cands = rd->n_runs = 0;
	for (uint32_t si = 0; si < n; si++)
		if (!segs[si]->rejected && !segs[si]->finished)
			gather_seg(rd, segs[si], si, p->final, g);
}

/*
 * The bound of the next cycle (see reader.h, "Sharing"): none after a cycle
 * that took every ring as far as it could, else the keys that max_records
 * records (READER_RING_MIN_RECORDS at least) take at the density this cycle
 * emitted them, after the last one.
 */
static uint64_t next_bound(const struct reader *rd, const struct gather *g, uint32_t emitted, uint32_t max_records)
{
	if (!emitted || !(g->capped || g->bounded))
		return UINT64_MAX;
	uint32_t budget = max_records > READER_RING_MIN_RECORDS ? max_records : READER_RING_MIN_RECORDS;
	unsigned __int128 span = (unsigned __int128)(rd->last_key - rd->first_key + 1) * budget / emitted;
	return span >= UINT64_MAX - rd->last_key ? UINT64_MAX : rd->last_key + (uint64_t)span;
}

long reader_cycle(struct reader *rd, struct reader_seg *const *segs, uint32_t n, const struct reader_params *p,
		  struct reader_result *res)
{
	*res = (struct reader_result){0};
	uint32_t rings;
	uint32_t active = count_active(segs, n, &rings);
	if (!runs_reserve(rd, rings))
		return -ENOMEM;
	struct gather g;
	gather_all(rd, segs, n, p, active, rd->bound, &g);
	if (!rd->n_cands && g.bounded) /* every ring's next record is beyond the bound: drop it */
		gather_all(rd, segs, n, p, active, UINT64_MAX, &g);
	bool cut = false;
	res->gathered = rd->n_cands;
	res->emitted = merge_emit(rd, g.limit, p->deadline_ns, &cut);
	rd->bound = next_bound(rd, &g, res->emitted, p->max_records);
	res->held = g.held;
	res->more = g.capped || g.bounded || cut;
	res->cut = cut;
	for (uint32_t si = 0; si < n; si++) {
		struct reader_seg *rs = segs[si];
		if (!p->no_finish && !rs->rejected && !rs->finished && reader_seg_done(rs) && seg_drained(rs))
			finish_seg(rd, rs);
	}
	return res->emitted;
}
