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
#include <sys/wait.h>

#include "grow.h"
#include "ring.h"

#define READER_FUTURE_NS 1000000000ull /* a stamp this far ahead of now is not waited for */

void reader_init(struct reader *rd, reader_record_fn on_record, reader_reject_fn on_reject, void *clientd)
{
	*rd = (struct reader){.on_record = on_record, .on_reject = on_reject, .clientd = clientd, .bound = UINT64_MAX};
}

void reader_set_spans(struct reader *rd, reader_spans_fn on_spans)
{
	rd->on_spans = on_spans;
}

void reader_free(struct reader *rd)
{
	free(rd->cands);
	free(rd->runs);
	free(rd->spans);
	sbuf_free(&rd->msg);
	*rd = (struct reader){0};
}

/* Whether ring i of rs is claimed (or given back, not yet freed) or holds records not read. */
static bool ring_in_use(const struct reader_seg *rs, uint32_t i)
{
	const struct shmlog_ring_header *rh = seg_ring(rs->seg, i);
	/* relaxed: what it holds is read with acquire by the walk */
	return atomic_load_explicit(&rh->state, memory_order_relaxed) != SHMLOG_RING_FREE ||
	       atomic_load_explicit(&rh->tail, memory_order_relaxed) != rs->rings[i].read;
}

/* Move rs->rings_live past the rings in use at it (reader_ring_first()); every ring once the producer is
 * done, or in a final cycle. */
static void grow_live(struct reader_seg *rs, bool final)
{
	uint32_t last = rs->seg->ring_count ? rs->seg->ring_count - 1 : 0;
	if (final || reader_seg_done(rs))
		rs->rings_live = last; /* a ring written out of turn (a hostile producer) is drained too */
	while (rs->rings_live < last && ring_in_use(rs, rs->rings_live))
		rs->rings_live++;
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
	reader_seg_rescan(rs);
	return 0;
}

void reader_seg_rescan(struct reader_seg *rs)
{
	rs->rings_live = 0;
	for (uint32_t i = 0; i + 1 < rs->seg->ring_count; i++)
		if (ring_in_use(rs, i)) /* rings in use need not be contiguous yet */
			rs->rings_live = i + 1;
}

void reader_seg_free(struct reader_seg *rs)
{
	free(rs->rings);
	rs->rings = NULL;
}

uint32_t reader_seg_take(struct reader_seg *rs)
{
	uint32_t moved = 0;
	READER_FOR_RINGS(rs, i) {
		moved += rs->rings[i].new_read != rs->rings[i].read;
		rs->rings[i].read = rs->rings[i].new_read;
	}
	return moved;
}

bool reader_seg_done(const struct reader_seg *rs)
{
	return rs->gone || seg_closed(rs->seg);
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

bool reader_ring_check(const struct seg *s, uint32_t i, uint64_t read, uint64_t pos, uint64_t tail, char *why,
		       size_t cap)
{
	if (read % SHMLOG_RECORD_ALIGN)
		snprintf(why, cap, "ring %" PRIu32 " consumed position misaligned", i);
	else if (tail < read || (tail > pos && tail - pos > s->ring_bytes) || tail > UINT64_MAX - s->ring_bytes)
		snprintf(why, cap, "ring %" PRIu32 " positions are impossible (tail behind or too far ahead)", i);
	else
		return true;
	return false;
}

/* The published tail of ring i, checked against rr (reader_ring_check): false (with why) if impossible. */
static bool ring_tail(const struct reader_seg *rs, uint32_t i, uint64_t *tail, char *why, size_t cap)
{
	const struct reader_ring *rr = &rs->rings[i];
	/* acquire: pairs with the producer's release of tail; the records up to it are complete */
	*tail = atomic_load_explicit(&seg_ring(rs->seg, i)->tail, memory_order_acquire);
	return reader_ring_check(rs->seg, i, rr->read, rr->pos, *tail, why, cap);
}

/* The next record at pos in ring i of s (below tail): the common record checked inline as
 * seg_ring_next() checks it, anything else (padding, damage) by seg_ring_next. Returns as it does. */
static inline int next_rec(const struct seg *s, uint32_t i, const uint8_t *data, uint64_t *pos, uint64_t tail,
			   struct seg_rec *r, const char **bad)
{
	uint32_t off = ring_offset(*pos, s->ring_bytes), hdr[2];
	memcpy(hdr, data + off, sizeof hdr); /* off is 8-aligned (read is checked, sizes are multiples of 8) */
	if (__builtin_expect(hdr[1] == SHMLOG_SITE_PAD || hdr[0] < SHMLOG_RECORD_HEADER_BYTES ||
				     hdr[0] % SHMLOG_RECORD_ALIGN || hdr[0] > s->ring_bytes - off || hdr[0] > tail - *pos,
			     0))
		return seg_ring_next(s, i, pos, tail, r, bad);
	*r = (struct seg_rec){hdr[0], hdr[1], 0, data + off + SHMLOG_RECORD_HEADER_BYTES,
			      hdr[0] - SHMLOG_RECORD_HEADER_BYTES};
	memcpy(&r->ts, data + off + 8, 8);
	return 1;
}

/*
 * Walk ring i of rs from *pos up to tail into rd->cands (gather_ring's loop,
 * with what it reads per record kept in locals): stop at the merge window,
 * the bound or the ring's cap. Returns 0, or -EINVAL at damage (*bad says
 * what, *pos where).
 */
static int walk_ring(struct reader *rd, struct reader_seg *rs, uint32_t i, uint64_t tail, bool final,
		     struct gather *g, uint64_t order, uint64_t *pos_io, bool *losses, const char **bad)
{
	const struct seg *s = rs->seg;
	const uint8_t *data = seg_ring_data(s, i);
	const struct clock_calib cal = *rs->cal;
	const uint64_t cutoff = final ? UINT64_MAX : g->cutoff, future = g->future, bound = g->bound;
	const uint32_t start = rd->n_cands, cap = g->ring_cap;
	uint32_t n = start, lim = rd->cap_cands - start < cap ? rd->cap_cands : start + cap;
	uint64_t pos = *pos_io, key = 0; /* a stamp behind the one before it in its ring merges as that one */
	struct seg_rec r;
	int rc = 0;
	bool loss = false;
	while (pos != tail && (rc = next_rec(s, i, data, &pos, tail, &r, bad)) == 1) {
		uint64_t ns = s->tsc ? clock_to_ns(&cal, r.ts) : r.ts;
		key = ns > key ? ns : key;
		if (key > cutoff && key < future) {
			g->held = true;
			break;
		}
		if (key >= bound && bound != UINT64_MAX) { /* after all any ring gives below it: no limit to lower */
			g->bounded = true;
			break;
		}
		if (n == lim) { /* the ring's cap, or room to grow */
			if (n - start == cap || GROW(rd->cands, n, rd->cap_cands, 1024) != 0) {
				lower_limit(g, key, order);
				g->capped = true;
				break;
			}
			lim = rd->cap_cands - start < cap ? rd->cap_cands : start + cap;
		}
		rd->cands[n++] = (struct reader_cand){ns, key, pos, r};
		loss |= r.site == SHMLOG_SITE_LOSS;
		pos += r.size;
	}
	rd->n_cands = n;
	*pos_io = pos;
	*losses = loss;
	return rc < 0 ? rc : 0;
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
	const char *bad = "?";
	bool losses;
	int rc = walk_ring(rd, rs, i, tail, final, g, order, &pos, &losses, &bad);
	if (rd->n_cands > start) {
		rd->runs[rd->n_runs] = (struct reader_run){start, rd->n_cands, start, losses, rd->n_runs, order, rs, i};
		rd->n_runs++;
	}
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
	READER_FOR_RINGS(rs, i)
		rs->rings[i].new_read = rs->rings[i].read;
}

/* Gather every ring of segment number si. Returns nothing: a rejection is handled here. */
static void gather_seg(struct reader *rd, struct reader_seg *rs, uint32_t si, bool final, struct gather *g)
{
	uint32_t cand0 = rd->n_cands, run0 = rd->n_runs;
	bool seg_final = final || reader_seg_done(rs);
	READER_FOR_RINGS(rs, i) {
		if (rs->rejected)
			break;
		gather_ring(rd, rs, i, seg_final, g, (uint64_t)si << 32 | i);
	}
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
		if (rs->rejected || rs->finished)
			continue;
		READER_FOR_RINGS(rs, i)
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

/* Whether a record keyed key of a run ordered order comes before the limit in merge order. */
static inline bool before_limit(uint64_t key, uint64_t order, struct merge_limit l)
{
	return key < l.key || (key == l.key && order <= l.order);
}

/* Whether run u's next record comes before the limit in merge order. */
static inline bool run_before_limit(const struct reader *rd, const struct reader_run *u, struct merge_limit l)
{
	return before_limit(rd->cands[u->cur].key, u->order, l);
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

/* Count candidate k of ring rr as emitted, lost the drops it reports. Returns whether it was consumed
 * before (replay_end): then it counts for nothing. */
static inline bool account(struct reader_ring *rr, const struct reader_cand *k, uint64_t lost)
{
	if (k->pos < rr->replay_end)
		return true;
	rr->lost_reported += lost;
	rr->records_consumed += k->r.site != SHMLOG_SITE_LOSS;
	return false;
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
	tr.consumed = account(rr, k, lost);
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
		if (++h[0].cur == h[0].end) { /* kept past n: its span is still to be told */
			struct reader_run t = h[0];
			h[0] = h[--n];
			h[n] = t;
		}
		if (n > 1) /* one run (one ring with records, the common case) needs no ordering */
			heap_down(rd, n, 0);
	}
	for (uint32_t i = 0; i < n; i++) /* the rest waits in the ring */
		h[i].rs->rings[h[i].ring].new_read = rd->cands[h[i].cur].pos;
	return emitted;
}

/* The first candidate of run u not before limit in merge order (keys ascend in a run: a binary search). */
static uint32_t run_cut(const struct reader *rd, const struct reader_run *u, struct merge_limit limit)
{
	uint32_t lo = u->cur, hi = u->end;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (before_limit(rd->cands[mid].key, u->order, limit))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * spans_only: emit each run's records before limit without rendering them,
 * counting what they report as emit() does; they reach the caller as spans.
 * Returns the records emitted.
 */
static uint32_t prefix_emit(struct reader *rd, struct merge_limit limit)
{
	uint32_t emitted = 0;
	for (uint32_t r = 0; r < rd->n_runs; r++) {
		struct reader_run *u = &rd->runs[r];
		struct reader_ring *rr = &u->rs->rings[u->ring];
		uint32_t cut = u->rs->seg->bus_fault ? u->cur : run_cut(rd, u, limit);
		if (!u->losses && cut > u->cur && rd->cands[u->cur].pos >= rr->replay_end) /* the common run */
			rr->records_consumed += cut - u->cur;
		else
			for (const struct reader_cand *k = &rd->cands[u->cur]; k < &rd->cands[cut]; k++) {
				uint64_t lost = 0;
				if (k->r.site == SHMLOG_SITE_LOSS && k->r.args_len >= 8)
					memcpy(&lost, k->r.args, 8);
				account(rr, k, lost);
			}
		if (cut > u->cur) {
			uint64_t first = rd->cands[u->cur].key, last = rd->cands[cut - 1].key;
			rd->first_key = !emitted || first < rd->first_key ? first : rd->first_key;
			rd->last_key = !emitted || last > rd->last_key ? last : rd->last_key;
			emitted += cut - u->cur;
		}
		if (cut < u->end) /* the rest waits in the ring */
			rr->new_read = rd->cands[cut].pos;
		u->cur = cut;
	}
	return emitted;
}

/* Hand on_spans what each run emitted, in gather (tie-break) order (rd->spans: runs_reserve). */
static void hand_spans(struct reader *rd)
{
	for (uint32_t r = 0; r < rd->n_runs; r++) {
		const struct reader_run *u = &rd->runs[r];
		const struct reader_ring *rr = &u->rs->rings[u->ring];
		rd->spans[u->idx] = (struct reader_span){u->rs, u->ring, u->cur - u->first, rr->read, rr->new_read,
							  &rd->cands[u->first]};
	}
	uint32_t n = 0;
	for (uint32_t r = 0; r < rd->n_runs; r++)
		if (rd->spans[r].n && !rd->spans[r].rs->seg->bus_fault)
			rd->spans[n++] = rd->spans[r];
	if (n)
		rd->on_spans(rd->clientd, rd->spans, n);
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

/* How the producer of rs ended when nothing of shmlog ran at its end (a
 * signal without a crash handler, _exit(), an exec'd program): as the
 * caller learnt it (exit_status), or that it is not known. */
static void notice_end_status(struct reader *rd, struct reader_seg *rs)
{
	unsigned pid = rs->seg->pid;
	int st = rs->exit_status, sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	if (!rs->exit_known)
		notice(rd, rs, 0, TEXT_LEVEL_WARN,
		       "[shmlog] process %u ended without exiting normally (killed by a signal such as SIGKILL, "
		       "or crashed with no crash handler)",
		       pid);
	else if (sig)
		notice(rd, rs, 0, WCOREDUMP(st) ? TEXT_LEVEL_CRITICAL : TEXT_LEVEL_WARN,
		       "[shmlog] process %u was killed by signal %d (SIG%s)%s", pid, sig,
		       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", WCOREDUMP(st) ? ", core dumped" : "");
	else
		notice(rd, rs, 0, WEXITSTATUS(st) ? TEXT_LEVEL_WARN : TEXT_LEVEL_INFO,
		       "[shmlog] process %u exited with status %d, past shmlog's exit handler (_exit(), or an "
		       "exec'd program)",
		       pid, WEXITSTATUS(st));
}

/* Whether any ring of rs ever held a record. Returns that. */
static bool seg_ever_logged(const struct reader_seg *rs)
{
	for (uint32_t i = 0; i < rs->seg->ring_count; i++)
		if (rs->rings[i].records_consumed)
			return true;
	return false;
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
		if (!rs->execd)
			notice_end_status(rd, rs);
		else if (seg_ever_logged(rs)) /* else a forked child's, which exec'd (system(), popen()): nothing to say */
			notice(rd, rs, 0, TEXT_LEVEL_INFO, "[shmlog] process %u exec'd another program: its log ends here",
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
	bool closed = seg_closed(rs->seg);
	if (rs->gone && !closed && !rs->end_untold)
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

/* Size the runs (and spans) for every ring of segs. Returns false when out of memory. */
static bool runs_reserve(struct reader *rd, uint32_t rings)
{
	if (rd->on_spans && rings > rd->cap_spans) {
		struct reader_span *s = realloc(rd->spans, rings * sizeof *s);
		if (!s)
			return false;
		rd->spans = s;
		rd->cap_spans = rings;
	}
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
	for (uint32_t si = 0; si < n; si++)
		if (!segs[si]->rejected && !segs[si]->finished)
			grow_live(segs[si], p->final);
	uint32_t active = count_active(segs, n, &rings);
	if (!runs_reserve(rd, rings))
		return -ENOMEM;
	struct gather g;
	gather_all(rd, segs, n, p, active, rd->bound, &g);
	if (!rd->n_cands && g.bounded) /* every ring's next record is beyond the bound: drop it */
		gather_all(rd, segs, n, p, active, UINT64_MAX, &g);
	bool cut = false;
	res->gathered = rd->n_cands;
	res->emitted = p->spans_only ? prefix_emit(rd, g.limit) : merge_emit(rd, g.limit, p->deadline_ns, &cut);
	if (rd->on_spans)
		hand_spans(rd);
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
