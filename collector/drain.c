/*
 * drain.c — one drain cycle: gather, merge, render, hand to the output, publish.
 *
 * Gather: for every attached segment and ring, read the published tail
 * (acquire) and walk the records in place from our consumer position,
 * checking each against the ring (seg_ring_next). Records stamped later than
 * now - merge_window stay in the ring for the next cycle, unless the cycle is
 * final or the producer is gone. Merge: each ring's records are already in
 * time order, so a binary heap over the rings' runs yields the global
 * timestamp order. Render: each record's message is formatted once (in place:
 * arguments are decoded straight from the ring) and handed to the output
 * side (output.c), which routes it to its writers. Write: every writer's
 * output goes out in one io_uring submission. Publish: only once the writers
 * are done are the consumed positions stored (ledger.c), so a collector killed
 * mid-cycle re-reads (at most) the batches that were in flight.
 *
 * Under load a cycle takes at most about COLLECTOR_BATCH_RECORDS records,
 * shared between the rings that have any. A ring cut short sets a limit, the
 * stamp of its first record not taken: only records older than the smallest
 * limit are emitted this cycle, the others stay in their rings, so the global
 * order holds also when a cycle cannot take everything.
 *
 * A producer that truncates its file under us raises SIGBUS on our next
 * access; the handler (segment.c) maps zero pages over that mapping and flags
 * the segment, which is rejected here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/text.h"
#include "collector.h"

#define BATCH_TIME_NS 300000u /* formatting time of one batch at most */

static bool seg_done(const struct cseg *s)
{
	/* acquire: pairs with shmlog_close's release of the state */
	return s->dead || atomic_load_explicit(&s->seg.hdr->state, memory_order_acquire) == SHMLOG_SEG_CLOSED;
}

/* Make room for n more candidates. Returns false when out of memory. */
static bool cands_reserve(struct collector *c, uint32_t n, uint32_t more)
{
	if (n + more <= c->cap_cands)
		return true;
	uint32_t cap = c->cap_cands ? c->cap_cands : 1024;
	while (cap < n + more)
		cap *= 2;
	struct cand *k = realloc(c->cands, cap * sizeof *k);
	if (!k)
		return false;
	c->cands = k;
	c->cap_cands = cap;
	return true;
}

/*
 * Collect up to ring_cap records of ring i into c->cands. Records stamped
 * after cutoff stay (merge window) unless final; a ring with more than
 * ring_cap records lowers *limit to the stamp of the first one not taken.
 * Sets cr->new_read past what was taken. Returns false if the ring is corrupt
 * (the segment is then rejected).
 */
static bool gather_ring(struct collector *c, struct cseg *s, uint32_t i, bool final, uint64_t cutoff,
			uint64_t future, const struct clock_calib *cal, uint32_t *n, uint32_t ring_cap, bool *held,
			uint64_t *limit)
{
	struct cring *cr = &s->rings[i];
	struct shmlog_ring_header *rh = seg_ring(&s->seg, i);
	/* acquire: pairs with the producer's release of tail; the records up
	 * to it are complete */
	uint64_t tail = atomic_load_explicit(&rh->tail, memory_order_acquire);
	cr->new_read = cr->read;
	if (tail == cr->read)
		return true;
	if (tail < cr->read || tail - cr->pos > s->seg.ring_bytes) {
		discover_reject(c, s, "ring positions are impossible (tail behind or too far ahead)");
		return false;
	}
	cr->tid = atomic_load_explicit(&rh->tid, memory_order_relaxed);
	uint64_t pos = cr->read;
	struct seg_rec r;
	const char *why = NULL;
	int rc = 0;
	uint32_t taken = 0;
	while ((rc = seg_ring_next(&s->seg, i, &pos, tail, &r, &why)) == 1) {
		uint64_t ns = seg_ts_ns(&s->seg, cal, r.ts);
		if (!final && ns > cutoff && ns < future) {
			*held = true;
			break;
		}
		if (taken == ring_cap || !cands_reserve(c, *n, 1)) {
			if (ns < *limit)
				*limit = ns;
			break;
		}
		c->cands[(*n)++] = (struct cand){ns, pos, s, i, r};
		pos += r.size;
		taken++;
	}
	if (rc < 0) {
		char msg[160];
		snprintf(msg, sizeof msg, "ring %u corrupt at position %llu: %s", i, (unsigned long long)pos, why);
		discover_reject(c, s, msg);
		return false;
	}
	cr->new_read = pos; /* includes padding skipped after the last record */
	return true;
}

/* A line the collector itself writes about segment s. */
static void notice(struct collector *c, struct cseg *s, uint32_t tid, int level, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void notice(struct collector *c, struct cseg *s, uint32_t tid, int level, const char *fmt, ...)
{
	char buf[512];
	struct text_record tr;
	va_list ap;
	va_start(ap, fmt);
	seg_notice(&s->seg, tid, level, &tr, buf, sizeof buf, fmt, ap);
	va_end(ap);
	output_add(&c->out, &tr);
}

static void emit(struct collector *c, const struct cand *k)
{
	struct cring *cr = &k->s->rings[k->ring];
	struct text_record tr;
	struct text_field fields[TEXT_MAX_FIELDS];
	cr->lost_reported += seg_render(&k->s->seg, cr->tid, &k->r, k->ts_ns, &c->msg, &tr, fields);
	if (k->r.site != SHMLOG_SITE_LOSS)
		cr->records_consumed++;
	output_add(&c->out, &tr);
}

static inline bool run_less(const struct collector *c, const struct run *a, const struct run *b)
{
	return c->cands[a->cur].ts_ns < c->cands[b->cur].ts_ns;
}

static void heap_down(struct collector *c, struct run *h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && run_less(c, &h[l], &h[m]))
			m = l;
		if (r < n && run_less(c, &h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		struct run t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/*
 * Emit cands stamped before limit in timestamp order, for at most
 * BATCH_TIME_NS (then *cut is set): runs[0..nr) are per-ring sorted runs. A
 * ring whose run is not used up resumes, next cycle, at its first record not
 * emitted. Returns the records emitted.
 */
static uint32_t merge_emit(struct collector *c, uint32_t nr, uint64_t limit, bool *cut)
{
	struct run *h = c->runs;
	uint32_t emitted = 0;
	uint64_t deadline = clock_realtime_ns() + BATCH_TIME_NS;
	for (uint32_t i = nr / 2; i-- > 0;)
		heap_down(c, h, nr, i);
	while (nr && c->cands[h[0].cur].ts_ns < limit) {
		/* a blocked producer waits for the whole batch: keep it short also
		 * when records are expensive to format */
		if ((emitted & 255) == 255 && clock_realtime_ns() > deadline) {
			*cut = true;
			break;
		}
		emit(c, &c->cands[h[0].cur]);
		emitted++;
		if (++h[0].cur == h[0].end)
			h[0] = h[--nr];
		heap_down(c, h, nr, 0);
	}
	for (uint32_t i = 0; i < nr; i++) /* the rest waits in the ring */
		h[i].cr->new_read = c->cands[h[i].cur].pos;
	return emitted;
}

/* Report drops not followed by any record, and the end of a finished producer. */
static void finish_segment(struct collector *c, struct cseg *s)
{
	for (uint32_t i = 0; i < s->seg.ring_count; i++) {
		struct cring *cr = &s->rings[i];
		uint64_t lost = atomic_load_explicit(&seg_ring(&s->seg, i)->lost, memory_order_relaxed);
		if (lost > cr->lost_reported) {
			notice(c, s, cr->tid, TEXT_LEVEL_WARN, "%llu records lost (ring full)",
			       (unsigned long long)(lost - cr->lost_reported));
			cr->lost_reported = lost;
		}
	}
	uint64_t rl = atomic_load_explicit(&s->seg.hdr->registry_lost, memory_order_relaxed);
	if (rl)
		notice(c, s, 0, TEXT_LEVEL_WARN, "%llu records lost (call-site registry full)", (unsigned long long)rl);
	/* a producer that closed its logger ended its log normally: no notice */
	bool closed = atomic_load_explicit(&s->seg.hdr->state, memory_order_acquire) == SHMLOG_SEG_CLOSED;
	if (s->dead && !closed) {
		uint32_t end = atomic_load_explicit(&s->seg.hdr->ended, memory_order_acquire);
		int sig = (int)((end >> 8) & 0xff);
		switch (end & 0xff) {
		case SHMLOG_END_EXIT:
			notice(c, s, 0, TEXT_LEVEL_INFO, "[shmlog] process %u exited", s->seg.pid);
			break;
		case SHMLOG_END_CRASH:
			notice(c, s, 0, TEXT_LEVEL_CRITICAL, "[shmlog] process %u crashed with signal %d (SIG%s)",
			       s->seg.pid, sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
			break;
		default:
			notice(c, s, 0, TEXT_LEVEL_WARN,
			       "[shmlog] process %u ended without exiting normally (killed by a signal such as SIGKILL, "
			       "or crashed with no crash handler)",
			       s->seg.pid);
		}
	}
	s->finished = true;
}

/* Free released rings that are consumed. Idle, this only reads: nothing in
 * shared memory is dirtied. */
static void publish(struct collector *c)
{
	uint64_t now = clock_realtime_ns();
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		if (s->broken)
			continue;
		for (uint32_t i = 0; i < s->seg.ring_count; i++) {
			struct shmlog_ring_header *rh = seg_ring(&s->seg, i);
			uint32_t st = SHMLOG_RING_RELEASED;
			/* acquire: pairs with the owner's release of RELEASED, after its
			 * last tail store, so the tail read next is the final one */
			if (atomic_load_explicit(&rh->state, memory_order_acquire) == st &&
			    atomic_load_explicit(&rh->tail, memory_order_acquire) == s->rings[i].pos)
				/* release: our reads of its records happen before a new owner writes */
				atomic_compare_exchange_strong_explicit(&rh->state, &st, SHMLOG_RING_FREE,
									memory_order_release, memory_order_relaxed);
		}
		if (s->pending == 0)
			atomic_store_explicit(&s->seg.hdr->collector_seen_ns, now, memory_order_relaxed);
	}
}

long drain_cycle(struct collector *c, bool final, bool *held, bool *more)
{
	*held = false;
	*more = false;
	uint32_t total_rings = 0;
	for (unsigned si = 0; si < c->n_segs; si++)
		total_rings += c->segs[si]->seg.ring_count;
	if (total_rings > c->cap_runs) {
		struct run *r = realloc(c->runs, total_rings * sizeof *r);
		if (!r)
			return 0;
		c->runs = r;
		c->cap_runs = total_rings;
	}
	uint64_t now = clock_realtime_ns();
	uint64_t cutoff = now - (uint64_t)c->cfg->merge_window_us * 1000u;
	uint64_t future = now + 1000000000ull; /* a stamp this far ahead is not waited for */
	bool gather = !output_full(&c->out);

	/* share the batch between the rings that have records */
	uint32_t active = 0;
	for (unsigned si = 0; gather && si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		for (uint32_t i = 0; !s->broken && !s->finished && i < s->seg.ring_count; i++)
			/* acquire: pairs with the producer's release of tail */
			active += atomic_load_explicit(&seg_ring(&s->seg, i)->tail, memory_order_acquire) !=
				  s->rings[i].read;
	}
	uint32_t ring_cap = active ? COLLECTOR_BATCH_RECORDS / active : COLLECTOR_BATCH_RECORDS;
	if (ring_cap < 256)
		ring_cap = 256;
	uint64_t limit = UINT64_MAX;

	uint32_t n = 0, nr = 0;
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		if (s->broken || s->finished || !gather)
			continue;
		bool seg_final = final || seg_done(s);
		struct clock_calib cal = c->calib;
		uint32_t seg_start = n, runs_start = nr;
		bool ok = true;
		for (uint32_t i = 0; i < s->seg.ring_count && ok; i++) {
			uint32_t before = n;
			ok = gather_ring(c, s, i, seg_final, cutoff, future, &cal, &n, ring_cap, held, &limit);
			if (ok && n > before)
				c->runs[nr++] = (struct run){before, n, &s->rings[i]};
		}
		if (ok && s->seg.bus_fault) {
			discover_reject(c, s, "");
			ok = false;
		}
		if (!ok) { /* rejected: forget what was gathered from it */
			n = seg_start;
			nr = runs_start;
			for (uint32_t i = 0; i < s->seg.ring_count; i++)
				s->rings[i].new_read = s->rings[i].read;
		}
	}
	bool cut = false;
	uint32_t emitted = merge_emit(c, nr, limit, &cut);
	*more = limit != UINT64_MAX || cut;
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		if (s->broken || s->finished || !gather || !seg_done(s))
			continue;
		bool all = true;
		for (uint32_t i = 0; i < s->seg.ring_count && all; i++)
			all = atomic_load_explicit(&seg_ring(&s->seg, i)->tail, memory_order_acquire) ==
			      s->rings[i].new_read;
		if (all)
			finish_segment(c, s);
	}
	ledger_push(c);
	output_write(&c->out, &c->io);
	ledger_pop(c);
	publish(c);
	ledger_publish_synced(c);
	return emitted;
}
