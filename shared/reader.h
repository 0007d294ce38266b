/*
 * reader.h — the one reader of segments: gathering committed records from
 * rings, merging them into one time order, loss and end-of-process notices.
 * The collector and the `shmlog` tool both read through it; it knows nothing
 * of either. Like Aeron's aeron_spsc_rb_read(rb, handler, clientd, limit) it
 * hands every record, rendered by seg_render() into a struct text_record, and
 * every rejection to the caller's callbacks with the caller's clientd.
 *
 * One cycle (reader_cycle) over a list of segments:
 *
 *  1. Gather. For each ring, load the published tail (acquire) and walk the
 *     records in place from the ring's read position (seg_ring_next checks
 *     each). A record stamped after now - window stays in the ring for a
 *     later cycle unless the cycle is final or its segment is done (producer
 *     gone, or the logger closed). Each ring takes at most max_records / (the
 *     rings with records) records, 256 at least; a ring cut short lowers the
 *     cycle's limit to the merge key of its first record not taken. Under a
 *     bound (see "Sharing" below) a ring stops at its first record keyed at
 *     or after the bound instead, and may take up to max_records.
 *  2. Merge. Each ring's merge keys are in order, so a heap over the rings'
 *     runs yields the global order. Only records before the limit in merge
 *     order are emitted, so records left behind by the cap never come out
 *     before older ones of another ring: the order holds across cycles. The
 *     cut ring's own records are all before its limit, so a cycle that has
 *     records always emits some. Emitting stops at the deadline (the time
 *     cut, checked every 256 records); the rest waits in its ring. With
 *     spans_only nothing is rendered: each ring's records before the limit
 *     (a binary search, keys ascend in a run) are emitted as they are.
 *     Either way, on_spans (reader_set_spans) then gets what each ring
 *     emitted as one span of its bytes (see "Spans" below).
 *  3. Finish. A done segment whose rings are all read (or damaged) gets its
 *     notices: drops no loss record reported ("N records lost (ring full)"),
 *     "(call-site registry full)", and how the process ended when it ended
 *     without closing its logger. It is then finished.
 *
 * The merge order, for equal timestamps too, is: merge key, then the
 * segment's place in the list given to reader_cycle, then ring index, then
 * position in the ring. It is deterministic: the same segments give the same
 * output whoever reads them. A record's merge key is its timestamp, or, when
 * the stamps of its ring go backwards (a wall clock stepped back, a hostile
 * producer), the highest stamp of its ring so far in the cycle: a ring's
 * records always come out in ring order, and a record stamped earlier than
 * one before it follows that one. Each record still shows its own stamp. A
 * cycle starts its rings' keys afresh, so records taken by a later cycle
 * merge by their own stamps again (docs/collector.md, "Order").
 *
 * Sharing: records gathered but not emitted (after the limit) are walked
 * again by the next cycle. With many rings and uneven densities that is
 * most of them (64 producers: the limit, set by the densest ring, let a
 * cycle emit about one record in twenty it walked). So a cycle that was cut
 * sets a bound for the next one: the merge key that max_records records
 * reach at the density it emitted them, past the last key it emitted. Every
 * ring then gives what it holds below the bound, and the bound itself is
 * the limit, so what is gathered is emitted. The order does not depend on
 * the bound: every record before the limit in merge order is gathered,
 * bound or not. A cycle that gathers nothing under its bound gathers again
 * without one, and a cycle that took every ring as far as it could leaves
 * the next one unbounded.
 *
 * Reading again: a ring's stop position bounds what a cycle reads of it, and
 * a no_finish cycle emits no notices and finishes nothing; with both, a
 * caller reads a range it read before exactly as it was read (the
 * collector's replay.c).
 *
 * Positions: a cycle moves only new_read (where read goes when the caller
 * takes the cycle) and the counters of what it emitted (lost_reported,
 * records_consumed). The caller sets read = new_read (reader_seg_take) once it
 * has accepted the records, and pos (consumed) once they are delivered; the
 * reader never writes a ring header. Nothing is copied out of a ring and
 * nothing is allocated per record: the per-cycle arrays grow and are reused.
 *
 * SIGBUS: the reader expects seg_guard_install(): a segment truncated under
 * its mapping reads zeros and has bus_fault set; the reader then rejects the
 * whole segment and forgets what the cycle gathered from it.
 */
#ifndef SHMLOG_READER_H
#define SHMLOG_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "sbuf.h"
#include "segment.h"
#include "text.h"

/* The ring index a rejection of a whole segment names. */
#define READER_WHOLE_SEGMENT UINT32_MAX
/* Records a ring may give a cycle at least, however many rings share it. */
#define READER_RING_MIN_RECORDS 256u

/* One ring's reading state; the caller keeps it across cycles. */
struct reader_ring {
	uint64_t pos;        /* consumed: delivered (published as head by the collector) */
	uint64_t read;       /* where the next cycle starts reading */
	uint64_t new_read;   /* where read goes when the caller takes this cycle */
	uint64_t replay_end; /* records before it were consumed already: marked, not counted */
	uint64_t stop;       /* read no further than this (UINT64_MAX: up to the tail) */
	uint64_t lost_reported;    /* drops reported so far (loss records and notices) */
	uint64_t records_consumed; /* records emitted, loss records excluded */
	uint32_t tid;        /* the ring's owner thread, as last seen */
	bool damaged;        /* rejected and kept: not read any more */
};

/* A segment as the reader sees it; embedded or owned by the caller. */
struct reader_seg {
	struct seg *seg;                /* opened by the caller */
	const struct clock_calib *cal;  /* converts its stamps (the caller's) */
	struct reader_ring *rings;      /* seg->ring_count, from reader_seg_init */
	bool gone;     /* set by the caller: the producer process has ended */
	bool end_untold; /* set by the caller with gone: how it ended is not told (a pid it cannot vouch for) */
	bool exit_known; /* set by the caller with gone, when it could learn how it ended: */
	int exit_status; /* how, as waitpid() tells it (the end notice says it when the producer could not) */
	bool execd;      /* set by the caller with gone: its process runs on, another program (it exec'd) */
	bool rejected; /* set by the reader (or the caller): never read again */
	bool finished; /* set by the reader: done, read, notices emitted */
	uint32_t rings_live; /* by the reader: the rings below it, and the last, may hold records (READER_FOR_RINGS) */
};

/*
 * The rings of rs worth looking at, in order (READER_FOR_RINGS): those below
 * rs->rings_live, then the last, the overflow ring every thread past
 * max_threads shares. A producer claims the lowest free ring, so a ring not
 * in use yet is claimed at rings_live first; each cycle the reader moves
 * rings_live past the rings in use (or holding records) there, and once the
 * producer is done, or in a final cycle, it looks at every ring. A segment of a process with few
 * threads then costs few rings a cycle, not its max_threads + 1.
 */
static inline uint32_t reader_ring_first(const struct reader_seg *rs)
{
	return rs->rings_live || !rs->seg->ring_count ? 0 : rs->seg->ring_count - 1;
}

static inline uint32_t reader_ring_next(const struct reader_seg *rs, uint32_t i)
{
	uint32_t n = rs->seg->ring_count;
	return i + 1 >= rs->rings_live && i + 1 < n - 1 ? n - 1 : i + 1;
}

#define READER_FOR_RINGS(rs, i) \
	for (uint32_t i = reader_ring_first(rs); i < (rs)->seg->ring_count; i = reader_ring_next(rs, i))

/* What a rejection handler asks for. */
enum reader_action {
	READER_KEEP, /* deliver what was read before the damage, and the other rings */
	READER_DROP, /* forget the segment's records of this cycle; reject it */
};

/*
 * A record or notice in merge order: rec is the record in place in its ring
 * (NULL for a notice the reader writes about the segment), tr its rendered
 * form, valid until the handler returns.
 */
typedef void (*reader_record_fn)(void *clientd, struct reader_seg *rs, const struct seg_rec *rec,
				 const struct text_record *tr);
/*
 * A rejection: ring (or READER_WHOLE_SEGMENT) of rs cannot be read further,
 * why says how, in one line without the path. A whole segment is always
 * dropped (the return value is ignored then).
 */
typedef enum reader_action (*reader_reject_fn)(void *clientd, struct reader_seg *rs, uint32_t ring,
					       const char *why);

/* A record gathered in a cycle, seen in place in its ring. */
struct reader_cand {
	uint64_t ts_ns; /* its own stamp, as printed */
	uint64_t key;   /* its merge stamp: the highest stamp of its ring so far this cycle */
	uint64_t pos;   /* where it starts in its ring */
	struct seg_rec r;
};

/* One ring's records of a cycle, cands[cur..end) (gathered from first), and its merge key. */
struct reader_run {
	uint32_t cur, end, first;
	bool losses; /* a loss record is among them */
	uint32_t idx; /* its place among the cycle's runs in merge-order tie-break (gather order) */
	uint64_t order; /* segment index << 32 | ring: the tie-break */
	struct reader_seg *rs;
	uint32_t ring;
};

/*
 * Spans: what one ring gave a cycle, as its bytes in place, for a writer
 * that keeps records as the producer wrote them (the binary writer). The
 * ring positions [from, to) hold the n records of cands (in ring order, with
 * their merge keys) and any padding around them. A cycle's spans come in
 * tie-break order (segment, then ring), so merging them again by merge key,
 * ties to the earlier span, gives the very order on_record saw.
 */
struct reader_span {
	struct reader_seg *rs;
	uint32_t ring;
	uint32_t n;
	uint64_t from, to;
	const struct reader_cand *cands;
};

/* A cycle's spans (n >= 1), handed after its records and before its notices; valid until it returns. */
typedef void (*reader_spans_fn)(void *clientd, const struct reader_span *spans, uint32_t n);

struct reader {
	reader_record_fn on_record;
	reader_reject_fn on_reject;
	void *clientd;
	struct reader_cand *cands; /* this cycle's records, reused */
	uint32_t n_cands, cap_cands;
	struct reader_run *runs;
	uint32_t n_runs, cap_runs;
	struct sbuf msg;           /* one rendered message */
	reader_spans_fn on_spans;  /* NULL: no spans (reader_set_spans) */
	struct reader_span *spans; /* this cycle's, reused */
	uint32_t cap_spans;
	uint64_t bound;            /* the next cycle's bound (UINT64_MAX: none); see "Sharing" above */
	uint64_t first_key, last_key; /* the merge keys of the first and last record emitted */
};

/* What a cycle may read. */
struct reader_params {
	uint64_t now_ns;      /* clock_realtime_ns() as of the cycle */
	uint64_t window_ns;   /* merge window: newer records wait (not when final or done) */
	uint32_t max_records; /* per cycle, shared between the rings with records */
	uint64_t deadline_ns; /* stop emitting after this clock_realtime_ns(); UINT64_MAX: never */
	bool final;           /* ignore the window: take everything committed */
	bool no_finish;       /* read again what was read before (the rings' stop): no notices, no finish */
	bool spans_only;      /* records go to on_spans only, never rendered (notices still go to on_record) */
};

/* What a cycle did. */
struct reader_result {
	uint32_t emitted; /* records handed to on_record (notices excluded) */
	bool held;        /* records wait for the merge window */
	bool more;        /* the cap or the deadline left records to read now */
	bool cut;         /* the deadline ended the merge */
	uint32_t gathered; /* records walked and kept for the merge (emitted or walked again later) */
};

/* Set up rd with its callbacks. Returns nothing; reader_free releases it. */
void reader_init(struct reader *rd, reader_record_fn on_record, reader_reject_fn on_reject, void *clientd);

/* Hand every cycle's spans to on_spans as well (NULL: no more). Returns nothing. */
void reader_set_spans(struct reader *rd, reader_spans_fn on_spans);

/* Free what rd holds (not the segments). Returns nothing. */
void reader_free(struct reader *rd);

/*
 * Make rs the reader's view of the opened segment seg, with stamps converted
 * by cal (kept as a pointer): one reader_ring per ring, positioned at the
 * ring's published head with its published counters. Returns 0 or -ENOMEM.
 */
int reader_seg_init(struct reader_seg *rs, struct seg *seg, const struct clock_calib *cal);

/* Free rs's rings (not the segment). Returns nothing. */
void reader_seg_free(struct reader_seg *rs);

/* Look at every ring of rs again for rings_live, after the caller moved read positions (as
 * `shmlog tail` does to start at the oldest intact record). Returns nothing. */
void reader_seg_rescan(struct reader_seg *rs);

/*
 * The check every cycle makes before it walks ring i of s: reading from
 * read (loaded before tail), what was consumed up to pos (loaded before or
 * after tail: a consumer running meanwhile may have passed tail since), a
 * published tail. Impossible: read misaligned, tail behind read, tail more
 * than the ring size past pos, or tail within the ring size of 2^64
 * (positions never get there, and pos + ring_bytes must not wrap). Returns
 * true, or false with why (one line without the path, as a rejection says
 * it).
 */
bool reader_ring_check(const struct seg *s, uint32_t i, uint64_t read, uint64_t pos, uint64_t tail, char *why,
		       size_t cap);

/* Accept rs's last cycle: read = new_read on every ring. Returns the rings that moved. */
uint32_t reader_seg_take(struct reader_seg *rs);

/*
 * Whether rs's producer will write no more: gone, or its logger closed (the
 * state is loaded with acquire, pairing with shmlog_close's release).
 * Returns that.
 */
bool reader_seg_done(const struct reader_seg *rs);

/*
 * One cycle over segs[0..n) (rejected and finished ones are skipped): gather,
 * merge and emit through on_record, reject through on_reject, finish done
 * segments (see the file comment). Positions move in new_read only. Fills
 * *res. Returns the records emitted (>= 0), or -ENOMEM when the cycle's
 * arrays cannot grow (nothing was emitted then, nothing is lost).
 */
long reader_cycle(struct reader *rd, struct reader_seg *const *segs, uint32_t n, const struct reader_params *p,
		  struct reader_result *res);

#endif
