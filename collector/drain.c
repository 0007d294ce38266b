/*
 * drain.c — one drain cycle: read, hand to the output, write, publish.
 *
 * Read: the reader (shared/reader.h) gathers every attached segment's
 * committed records in place, holds back those newer than the merge window
 * (unless the cycle is final or the producer is gone), merges them in time
 * order (ties: segment order in c->segs, ring, position), renders each once
 * and hands it here, for the output side (output.c), which routes it to its
 * writers; writers that take every record as the producers wrote it (the
 * binary writer) get the cycle's spans instead, and when every writer does,
 * nothing is rendered (spans_only). A corrupt ring or a SIGBUS is handed here too and rejects the
 * segment, dropping what this cycle read from it. Batches that writers with
 * a full backlog skipped are read again for them first (replay.c). Under load a cycle takes
 * at most COLLECTOR_BATCH_RECORDS records and formats for at most
 * BATCH_TIME_NS; what is cut stays in the rings, in order. Write: every
 * writer's output goes out in one io_uring submission. Publish: only once the
 * writers are done are the consumed positions stored (ledger.c), so a
 * collector killed mid-cycle reads again the batches that were not delivered.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

#define BATCH_TIME_NS 300000u /* formatting time of one batch at most */

/* reader_record_fn: a record or notice in merge order goes to the output; a
 * notice that skipping writers missed is kept for them (a record they read
 * again from its ring). */
static void on_record(void *clientd, struct reader_seg *rs, const struct seg_rec *rec, const struct text_record *tr)
{
	(void)rs;
	struct collector *c = clientd;
	if (__builtin_expect(!rec && c->out.skipping, 0)) { /* only a notice can be missed */
		uint32_t missed;
		output_add(&c->out, tr, &missed);
		if (missed)
			ledger_keep_notice(c, tr, missed);
		return;
	}
	if (rec)
		output_add_record(&c->out, tr); /* the common record: no missed mask to keep */
	else
		output_add(&c->out, tr, NULL);
}

/* reader_spans_fn: the cycle's records, as spans, for the writers that take them so. */
static void on_spans(void *clientd, const struct reader_span *spans, uint32_t n)
{
	struct collector *c = clientd;
	output_add_spans(&c->out, spans, n, ~c->out.skipping);
}

/* reader_reject_fn: the segment is rejected (once, with its reason). Returns READER_DROP. */
enum reader_action drain_on_reject(void *clientd, struct reader_seg *rs, uint32_t ring, const char *why)
{
	(void)ring;
	/* from the segment, not rs: the replay reader's rs is a view, not the cseg's own */
	struct cseg *s = (struct cseg *)(void *)((char *)rs->seg - offsetof(struct cseg, seg));
	discover_reject(clientd, s, why);
	return READER_DROP; /* its records stay in the file, for `shmlog read` */
}

void drain_init(struct collector *c)
{
	reader_init(&c->reader, on_record, drain_on_reject, c);
	if (c->out.span_mask)
		reader_set_spans(&c->reader, on_spans);
	replay_init(c);
}

void drain_free(struct collector *c)
{
	reader_free(&c->reader);
	replay_free(c);
}

/* Free released rings that are consumed. Idle, this only reads: nothing in
 * shared memory is dirtied. */
static void publish(struct collector *c)
{
	uint64_t now = clock_realtime_ns();
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		if (s->rd.rejected)
			continue;
		READER_FOR_RINGS(&s->rd, i) { /* a ring given back is in use until freed here */
			struct shmlog_ring_header *rh = seg_ring(&s->seg, i);
			uint32_t st = SHMLOG_RING_RELEASED;
			/* acquire: pairs with the owner's release of RELEASED, after its
			 * last tail store, so the tail read next is the final one */
			if (atomic_load_explicit(&rh->state, memory_order_acquire) == st &&
			    atomic_load_explicit(&rh->tail, memory_order_acquire) == s->rd.rings[i].pos)
				/* release: our reads of its records happen before a new owner writes */
				atomic_compare_exchange_strong_explicit(&rh->state, &st, SHMLOG_RING_FREE,
									memory_order_release, memory_order_relaxed);
		}
		if (s->pending == 0)
			atomic_store_explicit(&s->seg.hdr->collector_seen_ns, now, memory_order_relaxed);
	}
}

/*
 * The next cycle's cap: what a cut cycle did not emit is gathered again by
 * the next one, so after a time cut gather little more than what could be
 * formatted in the time; grow back towards COLLECTOR_BATCH_RECORDS while
 * cycles end uncut.
 */
static void adapt_batch_cap(struct collector *c, const struct reader_result *res)
{
	uint32_t cap = res->cut ? res->emitted + res->emitted / 4 : c->batch_cap * 2;
	if (cap < READER_RING_MIN_RECORDS)
		cap = READER_RING_MIN_RECORDS;
	c->batch_cap = cap < COLLECTOR_BATCH_RECORDS ? cap : COLLECTOR_BATCH_RECORDS;
}

/* Whether this cycle cannot read the rings for want of memory (oom): said once a spell. Returns oom. */
static bool note_read_oom(struct collector *c, bool oom)
{
	if (oom && !c->read_oom)
		collector_warn("out of memory: the rings cannot be read now; their records wait in them");
	c->read_oom = oom;
	return oom;
}

long drain_cycle(struct collector *c, bool final, bool *held, bool *more)
{
	*held = false;
	*more = false;
	long emitted = 0;
	uint64_t start = clock_monotonic_ns();
	if (c->cycle_start_ns) /* the last cycle's rate: whether this one renders on the helpers */
		output_cycle_done(&c->out, (uint64_t)c->cycle_emitted, start - c->cycle_start_ns, c->cycle_behind);
	c->cycle_start_ns = start;
	c->cycle_emitted = 0;
	c->cycle_behind = false;
	replay_batches(c);
	/* while every writer skips, reading on would only queue batches to read again */
	uint32_t all = c->out.n >= 32 ? UINT32_MAX : (1u << c->out.n) - 1;
	bool reading = (output_update_skipping(&c->out) & all) != all;
	if (reading && !ledger_reserve(c)) {
		note_read_oom(c, true);
		reading = false;
	}
	if (reading) {
		for (unsigned si = 0; si < c->n_segs; si++)
			c->cycle_segs[si] = &c->segs[si]->rd;
		uint64_t now = clock_realtime_ns();
		struct reader_params p = {
			.now_ns = now,
			.window_ns = (uint64_t)c->cfg->merge_window_us * 1000u,
			.max_records = c->batch_cap ? c->batch_cap : COLLECTOR_BATCH_RECORDS,
			/* a blocked producer waits for the whole batch: keep it short
			 * also when records are expensive to format */
			.deadline_ns = now + BATCH_TIME_NS,
			.final = final,
			/* every writer takes spans: nothing to render */
			.spans_only = c->out.span_mask == all,
		};
		struct reader_result res;
		emitted = reader_cycle(&c->reader, c->cycle_segs, c->n_segs, &p, &res);
		if (note_read_oom(c, emitted < 0))
			return 0; /* nothing read, nothing lost: the next cycle tries again */
		*held = res.held;
		*more = res.more;
		c->cycle_emitted = emitted;
		c->cycle_behind = res.more;
		adapt_batch_cap(c, &res);
	}
	ledger_push(c);
	output_write(&c->out, &c->io);
	ledger_pop(c);
	publish(c);
	ledger_publish_synced(c);
	return emitted;
}
