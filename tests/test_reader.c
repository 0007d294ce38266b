/*
 * test_reader.c — the one reader (shared/reader.h): merge order across rings
 * and segments, the tie-break for equal timestamps, loss notices, rejections
 * through the callback, and the per-cycle cap that keeps the global order.
 *
 * Each test makes a real segment in this process: a logger on the realtime
 * clock (so that a record's stamp is its UTC nanoseconds), one thread per
 * ring logging "t<T> i<I>", then shmlog_close. The test then rewrites the
 * stamps through its own writable mapping, to the values it wants to see
 * merged, and reads the segment through the reader with a callback that
 * keeps every line it is handed.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmlog.h>

#include "helpers.h"
#include "shared/reader.h"

#define MAX_LINES 4096

static char *dir;
static char path[512];

struct line {
	uint64_t ts;
	char msg[64];
	bool notice;
	uint32_t seg; /* index of the segment in the test's list */
};

/* What the callbacks saw. */
struct seen {
	struct line lines[MAX_LINES];
	uint32_t n;
	struct reader_seg *segs[2];
	uint32_t rejects, reject_ring;
	char why[200];
	enum reader_action answer; /* what the reject callback returns */
};

static void on_record(void *clientd, struct reader_seg *rs, const struct seg_rec *rec, const struct text_record *tr)
{
	struct seen *sn = clientd;
	cr_assert(sn->n < MAX_LINES);
	struct line *l = &sn->lines[sn->n++];
	l->ts = tr->ts_ns;
	l->notice = rec == NULL;
	l->seg = rs == sn->segs[0] ? 0 : 1;
	size_t len;
	const char *m = text_record_msg(tr, &len);
	snprintf(l->msg, sizeof l->msg, "%.*s", (int)len, m);
}

static enum reader_action on_reject(void *clientd, struct reader_seg *rs, uint32_t ring, const char *why)
{
	(void)rs;
	struct seen *sn = clientd;
	sn->rejects++;
	sn->reject_ring = ring;
	snprintf(sn->why, sizeof sn->why, "%s", why);
	return sn->answer;
}

struct worker {
	struct shmlog *lg;
	int t, n;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n; i++)
		SHMLOG_INFO(w->lg, "t%d i%d", w->t, i);
	return NULL;
}

/* A closed segment: threads 0..threads-1 log n records each, one after another (ring t each). */
static void make_segment(int threads, int n, uint32_t ring_bytes)
{
	setenv("SHMLOG_CLOCK", "realtime", 1);
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .name = "readertest", .ring_bytes = ring_bytes, .max_threads = 4};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	for (int t = 0; t < threads; t++) {
		pthread_t th;
		struct worker w = {lg, t, n};
		cr_assert_eq(pthread_create(&th, NULL, worker_main, &w), 0);
		pthread_join(th, NULL);
	}
	snprintf(path, sizeof path, "%s", shmlog_segment_path(lg));
	shmlog_close(lg);
}

/* Set the stamp of record k of ring i to stamp(i, k) for every record. Returns the records seen. */
static int restamp(struct seg *s, uint32_t i, uint64_t (*stamp)(uint32_t, int))
{
	uint64_t pos = 0, tail = atomic_load(&seg_ring(s, i)->tail);
	struct seg_rec r;
	const char *why;
	int k = 0;
	while (seg_ring_next(s, i, &pos, tail, &r, &why) == 1) {
		uint64_t ts = stamp(i, k++);
		memcpy((uint8_t *)r.args - SHMLOG_RECORD_HEADER_BYTES + 8, &ts, 8);
		pos += r.size;
	}
	return k;
}

static void open_rw(struct seg *s)
{
	char err[512];
	cr_assert_eq(seg_open(s, path, true, err, sizeof err), 0, "%s", err);
	cr_assert(!s->tsc, "SHMLOG_CLOCK=realtime was not taken");
}

/* Read segs until nothing more comes, as `shmlog read` does (the cap given). Returns the cycles. */
static int read_all(struct seen *sn, struct reader_seg **segs, uint32_t n, uint32_t cap)
{
	struct reader rd;
	reader_init(&rd, on_record, on_reject, sn);
	struct reader_params p = {.max_records = cap, .deadline_ns = UINT64_MAX, .final = true};
	struct reader_result res;
	long got;
	int cycles = 0;
	do {
		p.now_ns = clock_realtime_ns();
		got = reader_cycle(&rd, segs, n, &p, &res);
		cr_assert(got >= 0);
		for (uint32_t i = 0; i < n; i++)
			reader_seg_take(segs[i]);
		cycles++;
	} while (got > 0 || res.more);
	reader_free(&rd);
	return cycles;
}

/* Read the one segment s as rs through a fresh sn, answering rejections with answer. Returns the cycles. */
static int read_one(struct seen *sn, struct reader_seg *rs, struct seg *s, uint32_t cap, enum reader_action answer)
{
	static const struct clock_calib cal; /* unused: the segments here are on the realtime clock */
	cr_assert_eq(reader_seg_init(rs, s, &cal), 0);
	memset(sn, 0, sizeof *sn);
	sn->answer = answer;
	sn->segs[0] = rs;
	struct reader_seg *list[] = {rs};
	return read_all(sn, list, 1, cap);
}

static void setup(void)
{
	dir = th_mkdtemp(true);
}

static void teardown(void)
{
	th_rmrf(dir);
	free(dir);
}

TestSuite(reader, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t interleaved(uint32_t ring, int k)
{
	return 1000000000ull + 20u * (uint64_t)k + 10u * ring;
}

static uint64_t equal(uint32_t ring, int k)
{
	(void)ring;
	return 1000000000ull + 10u * (uint64_t)k;
}

Test(reader, merges_the_rings_of_a_segment_in_timestamp_order)
{
	make_segment(2, 50, 64 * 1024);
	struct seg s;
	open_rw(&s);
	cr_assert_eq(restamp(&s, 0, interleaved), 50);
	cr_assert_eq(restamp(&s, 1, interleaved), 50);
	struct reader_seg rs;
	static struct seen sn;
	read_one(&sn, &rs, &s, 4096, READER_KEEP);
	cr_assert_eq(sn.n, 100);
	for (uint32_t j = 0; j < sn.n; j++) {
		char want[64];
		snprintf(want, sizeof want, "t%u i%u", j % 2, j / 2);
		cr_assert_str_eq(sn.lines[j].msg, want, "line %u", j);
		cr_assert_eq(sn.lines[j].ts, interleaved(j % 2, (int)(j / 2)));
	}
	cr_assert(rs.finished, "a closed, drained segment is finished");
	reader_seg_free(&rs);
	seg_close(&s);
}

Test(reader, equal_timestamps_go_by_segment_order_then_ring_index)
{
	make_segment(2, 30, 64 * 1024);
	struct seg a, b;
	open_rw(&a);
	restamp(&a, 0, equal);
	restamp(&a, 1, equal);
	open_rw(&b); /* the same file again: a second segment with the same stamps */
	struct clock_calib cal = {0};
	struct reader_seg ra, rb;
	cr_assert_eq(reader_seg_init(&ra, &a, &cal), 0);
	cr_assert_eq(reader_seg_init(&rb, &b, &cal), 0);
	static struct seen sn;
	memset(&sn, 0, sizeof sn);
	struct reader_seg *list[] = {&rb, &ra}; /* the list's order, not the open order, decides */
	sn.segs[0] = &rb;
	sn.segs[1] = &ra;
	read_all(&sn, list, 2, 4096);
	cr_assert_eq(sn.n, 120);
	for (uint32_t j = 0; j < sn.n; j++) {
		char want[64];
		snprintf(want, sizeof want, "t%u i%u", j % 2, j / 4);
		cr_assert_str_eq(sn.lines[j].msg, want, "line %u", j);
		cr_assert_eq(sn.lines[j].seg, (j / 2) % 2, "line %u: segment order breaks the tie first", j);
	}
	reader_seg_free(&ra);
	reader_seg_free(&rb);
	seg_close(&a);
	seg_close(&b);
}

Test(reader, drops_no_loss_record_reported_become_one_notice_at_the_end)
{
	make_segment(1, 400, 4096); /* nobody empties the 4 KiB ring: most records are dropped */
	struct seg s;
	open_rw(&s);
	struct reader_seg rs;
	static struct seen sn;
	read_one(&sn, &rs, &s, 4096, READER_KEEP);
	cr_assert(sn.n >= 2);
	struct line *last = &sn.lines[sn.n - 1];
	unsigned long long lost = 0;
	cr_assert(last->notice, "the last line is the reader's own: %s", last->msg);
	cr_assert_eq(sscanf(last->msg, "%llu records lost (ring full)", &lost), 1, "%s", last->msg);
	cr_assert_eq(sn.n - 1 + lost, 400, "every record is printed or counted");
	for (uint32_t j = 0; j + 1 < sn.n; j++)
		cr_assert(!sn.lines[j].notice);
	reader_seg_free(&rs);
	seg_close(&s);
}

/* Make record 3 of ring 1 absurd; read with the given answer to the rejection. */
static void read_with_corrupt_ring(struct seen *sn, enum reader_action answer, struct reader_seg *rs, struct seg *s)
{
	make_segment(2, 10, 64 * 1024);
	open_rw(s);
	restamp(s, 0, interleaved);
	restamp(s, 1, interleaved);
	uint64_t pos = 0, tail = atomic_load(&seg_ring(s, 1)->tail);
	struct seg_rec r;
	const char *why;
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(seg_ring_next(s, 1, &pos, tail, &r, &why), 1);
		pos += r.size;
	}
	uint32_t huge = 0x7ffffff8u;
	memcpy(s->base + s->data_off + s->ring_bytes + pos, &huge, 4);
	read_one(sn, rs, s, 4096, answer);
	cr_assert_eq(sn->rejects, 1, "reported once");
	cr_assert_eq(sn->reject_ring, 1);
	char want[128];
	snprintf(want, sizeof want, "ring 1 corrupt at position %llu: record size out of bounds", (unsigned long long)pos);
	cr_assert_str_eq(sn->why, want);
}

Test(reader, a_corrupt_ring_is_reported_through_the_callback_and_the_rest_still_delivered)
{
	static struct seen sn;
	struct reader_seg rs;
	struct seg s;
	read_with_corrupt_ring(&sn, READER_KEEP, &rs, &s);
	cr_assert_eq(sn.n, 13, "ring 0's ten records and ring 1's three before the damage");
	int ring1 = 0;
	for (uint32_t j = 0; j < sn.n; j++)
		ring1 += strncmp(sn.lines[j].msg, "t1 ", 3) == 0;
	cr_assert_eq(ring1, 3);
	cr_assert(!rs.rejected && rs.rings[1].damaged);
	cr_assert(rs.finished, "a damaged ring does not keep the segment from finishing");
	reader_seg_free(&rs);
	seg_close(&s);
}

Test(reader, a_dropped_segment_delivers_nothing_of_that_cycle_and_is_rejected)
{
	static struct seen sn;
	struct reader_seg rs;
	struct seg s;
	read_with_corrupt_ring(&sn, READER_DROP, &rs, &s);
	cr_assert_eq(sn.n, 0);
	cr_assert(rs.rejected && !rs.finished);
	cr_assert_eq(rs.rings[0].new_read, rs.rings[0].read, "its records stay in the ring");
	reader_seg_free(&rs);
	seg_close(&s);
}

static uint64_t ring1_later(uint32_t ring, int k)
{
	return 1000000000ull + (ring ? 300u : 0u) + (uint64_t)k;
}

Test(reader, the_cap_per_cycle_keeps_the_global_order)
{
	make_segment(2, 600, 256 * 1024);
	struct seg s;
	open_rw(&s);
	restamp(&s, 0, ring1_later);
	restamp(&s, 1, ring1_later);
	struct reader_seg rs;
	static struct seen sn;
	/* the smallest cap: each ring gives READER_RING_MIN_RECORDS a cycle */
	int cycles = read_one(&sn, &rs, &s, 1, READER_KEEP);
	cr_assert(cycles > 3, "cut into cycles: %d", cycles);
	cr_assert_eq(sn.n, 1200);
	for (uint32_t j = 1; j < sn.n; j++)
		cr_assert(sn.lines[j - 1].ts <= sn.lines[j].ts, "line %u out of order", j);
	reader_seg_free(&rs);
	seg_close(&s);
}
