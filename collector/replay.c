/*
 * replay.c — reading a batch again for the writers that skipped it.
 *
 * A writer whose backlog is full skips live records (output.h): the other
 * writers go on, and every batch read meanwhile records the writer in its
 * skipped mask, so the batch is not delivered and its records stay in their
 * rings (the ring heads do not move past them). Once the writer has room
 * again, each batch it skipped is read again here, oldest first: the same
 * ring ranges [start, pos), merged by the same reader with the same
 * tie-break and the stamps converted by the calibration the batch was read
 * with, so the writer gets the very lines the others got, in the same order.
 * The notices of the batch it missed (kept_notice) follow. Only then is the
 * writer taken off the skipping list and given live records again.
 */
#include <stdlib.h>
#include <string.h>

#include "collector.h"

/* Batches read again per cycle at most, so that a cycle stays short. */
#define REPLAY_BATCHES_PER_CYCLE 4u

/* reader_record_fn: a record read again goes to the writers it is replayed for. */
static void on_replayed(void *clientd, struct reader_seg *rs, const struct seg_rec *rec,
			const struct text_record *tr)
{
	(void)rs;
	(void)rec;
	struct collector *c = clientd;
	output_add_only(&c->out, tr, c->replay_to & ~c->out.span_mask);
}

/* reader_spans_fn: a batch read again, as spans, for the writers it is replayed for that take them so. */
static void on_replayed_spans(void *clientd, const struct reader_span *spans, uint32_t n)
{
	struct collector *c = clientd;
	output_add_spans(&c->out, spans, n, c->replay_to);
}

void replay_init(struct collector *c)
{
	reader_init(&c->replay_reader, on_replayed, drain_on_reject, c); /* a ring rewritten since */
	if (c->out.span_mask)
		reader_set_spans(&c->replay_reader, on_replayed_spans);
}

void replay_free(struct collector *c)
{
	reader_free(&c->replay_reader);
}

/*
 * A reader's view of segment s that reads exactly the batch's ranges of its
 * rings, from k on in b->p (entries of one segment are adjacent). Returns the
 * index past s's entries, or 0 when out of memory.
 */
static uint32_t view_of(const struct batch *b, uint32_t k, struct reader_seg *v)
{
	struct cseg *s = b->p[k].s;
	*v = s->rd;
	v->finished = false;
	v->cal = &b->calib;
	v->rings = malloc(s->seg.ring_count * sizeof *v->rings);
	if (!v->rings)
		return 0;
	memcpy(v->rings, s->rd.rings, s->seg.ring_count * sizeof *v->rings);
	for (uint32_t i = 0; i < s->seg.ring_count; i++)
		v->rings[i].damaged = true; /* rings the batch did not read */
	for (; k < b->n && b->p[k].s == s; k++) {
		struct reader_ring *rr = &v->rings[b->p[k].ring];
		rr->damaged = false;
		rr->read = rr->new_read = b->p[k].start;
		rr->stop = b->p[k].pos;
	}
	return k;
}

/*
 * After a replay that ran out of memory midway: when it was for every writer
 * that skipped b, b's ranges start where it stopped, and the next replay goes
 * on from there; otherwise the others still need the whole batch, and these
 * writers will get its first records again. views[v] covers b->p from first[v].
 */
static void keep_progress(struct batch *b, uint32_t writers, const struct reader_seg *views,
			  const uint32_t *first, uint32_t n)
{
	if (writers != b->skipped) {
		collector_warn("out of memory while reading a batch again: some records will be written twice");
		return;
	}
	for (uint32_t v = 0; v < n; v++)
		for (uint32_t k = first[v]; k < b->n && b->p[k].s == b->p[first[v]].s; k++)
			b->p[k].start = views[v].rings[b->p[k].ring].read;
}

/* Read b's ranges (views[0..n)) through the replay reader, taking each cycle. Returns false on -ENOMEM. */
static bool read_views(struct collector *c, struct reader_seg *const *list, uint32_t n)
{
	struct reader_params p = {.now_ns = clock_realtime_ns(), .max_records = UINT32_MAX,
				  .deadline_ns = UINT64_MAX, .final = true, .no_finish = true,
				  .spans_only = (c->replay_to & ~c->out.span_mask) == 0};
	struct reader_result res = {.more = true};
	while (res.more) {
		if (reader_cycle(&c->replay_reader, list, n, &p, &res) < 0)
			return false;
		for (uint32_t i = 0; i < n; i++)
			reader_seg_take(list[i]);
	}
	return true;
}

/* Read batch b again for writers. Returns false when out of memory (b is then read again later). */
static bool replay_one(struct collector *c, struct batch *b, uint32_t writers)
{
	uint32_t cap = b->n ? b->n : 1, n = 0;
	struct reader_seg *views = calloc(cap, sizeof *views), **list = calloc(cap, sizeof *list);
	uint32_t *first = calloc(cap, sizeof *first);
	bool ok = views && list && first;
	for (uint32_t k = 0; ok && k < b->n;) {
		if (b->p[k].s->rd.rejected) { /* its records are not delivered anywhere */
			k++;
			continue;
		}
		first[n] = k;
		k = view_of(b, k, &views[n]);
		ok = k != 0;
		list[n] = &views[n];
		n += ok;
	}
	c->replay_to = writers;
	bool read = ok && read_views(c, list, n);
	if (ok && !read)
		keep_progress(b, writers, views, first, n);
	for (uint32_t i = 0; i < n; i++)
		free(views[i].rings);
	free(views);
	free(list);
	free(first);
	if (!read)
		return false;
	for (struct kept_notice *k = b->notices; k; k = k->next) {
		output_add_only(&c->out, &k->tr, k->writers & writers);
		k->writers &= ~writers;
	}
	return true;
}

void replay_batches(struct collector *c)
{
	uint32_t waiting = 0; /* writers with a batch not read again yet: later ones wait */
	unsigned done = 0;
	for (struct batch *b = c->bq_head; b; b = b->next) {
		uint32_t w = b->skipped & output_with_room(&c->out) & ~waiting;
		if (w && done < REPLAY_BATCHES_PER_CYCLE && replay_one(c, b, w)) {
			done++;
			b->skipped &= ~w;
			for (uint32_t m = w; m; m &= m - 1)
				b->mark[__builtin_ctz(m)] = c->out.w[__builtin_ctz(m)].taken;
		}
		waiting |= b->skipped;
	}
	/* a writer with nothing left to read again and room takes live records again */
	output_stop_skipping(&c->out, ~waiting & output_with_room(&c->out));
	c->replayed = done;
}
