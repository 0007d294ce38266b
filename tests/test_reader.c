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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmlog.h>

#include "helpers.h"
#include "seg_util.h"
#include "shared/reader.h"

#define MAX_LINES 32768

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
	uint64_t gathered;         /* records the cycles walked (reader_result.gathered) */
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

/* A closed segment: threads 0..threads-1 log n records each, one after another (ring t each). */
static void make_segment(int threads, int n, uint32_t ring_bytes)
{
	shmlog_close(su_log(dir, "readertest", threads, n, ring_bytes, path, sizeof path));
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
		sn->gathered += res.gathered;
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
	cr_assert_eq(su_restamp(&s, 0, interleaved), 50);
	cr_assert_eq(su_restamp(&s, 1, interleaved), 50);
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
	su_restamp(&a, 0, equal);
	su_restamp(&a, 1, equal);
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
	su_restamp(s, 0, interleaved);
	su_restamp(s, 1, interleaved);
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
	su_restamp(&s, 0, ring1_later);
	su_restamp(&s, 1, ring1_later);
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

static uint64_t one_dense_ring(uint32_t ring, int k)
{
	return 1000000000ull + (ring ? 50u * (uint64_t)k + ring : (uint64_t)k);
}

Test(reader, rings_of_uneven_density_are_walked_about_once)
{
	/* ring 0 logs a record a nanosecond, the 3 others one per 50 ns: a cycle
	 * cut by ring 0 can emit little of what the others gave it */
	enum { RINGS = 4, PER_RING = 3000 };
	make_segment(RINGS, PER_RING, 256 * 1024);
	struct seg s;
	open_rw(&s);
	for (uint32_t i = 0; i < RINGS; i++)
		su_restamp(&s, i, one_dense_ring);
	struct reader_seg rs;
	static struct seen sn;
	read_one(&sn, &rs, &s, 1, READER_KEEP);
	cr_assert_eq(sn.n, RINGS * PER_RING);
	for (uint32_t j = 1; j < sn.n; j++)
		cr_assert(sn.lines[j - 1].ts <= sn.lines[j].ts, "line %u out of order", j);
	cr_assert(sn.gathered <= sn.n + sn.n / 4, "%llu records walked for %u emitted",
		  (unsigned long long)sn.gathered, sn.n);
	reader_seg_free(&rs);
	seg_close(&s);
}

/* A test of lying stamps: two rings of n records each, restamped by st[ring], read with cap. */
struct lying {
	int n;
	uint32_t ring_bytes;
	uint64_t (*st[2])(uint32_t ring, int k);
	uint32_t cap;
	struct seg s;
	struct reader_seg rs;
	int cycles;
};

/*
 * Make, restamp and read l's segment as read_one does, asserting that every
 * cycle emits a record or ends the reading. Leaves l->rs and l->s open.
 */
static void read_lying(struct seen *sn, struct lying *l)
{
	static const struct clock_calib cal;
	make_segment(2, l->n, l->ring_bytes);
	open_rw(&l->s);
	su_restamp(&l->s, 0, l->st[0]);
	su_restamp(&l->s, 1, l->st[1]);
	struct reader_seg *rs = &l->rs;
	cr_assert_eq(reader_seg_init(rs, &l->s, &cal), 0);
	memset(sn, 0, sizeof *sn);
	sn->segs[0] = rs;
	struct reader rd;
	reader_init(&rd, on_record, on_reject, sn);
	struct reader_params p = {.max_records = l->cap, .deadline_ns = UINT64_MAX, .final = true};
	struct reader_result res;
	do {
		p.now_ns = clock_realtime_ns();
		long got = reader_cycle(&rd, &rs, 1, &p, &res);
		cr_assert(got > 0 || !res.more, "cycle %d emitted nothing and wants more", l->cycles);
		reader_seg_take(rs);
		cr_assert(++l->cycles < 1000, "the reading ends");
	} while (res.more);
	reader_free(&rd);
}

static void lying_free(struct lying *l)
{
	reader_seg_free(&l->rs);
	seg_close(&l->s);
}

static uint64_t same(uint32_t ring, int k)
{
	(void)ring;
	(void)k;
	return 1000000000ull;
}

Test(reader, equal_timestamps_beyond_the_cap_move_every_cycle_in_ring_order)
{
	struct lying l = {.n = 1000, .ring_bytes = 256 * 1024, .st = {same, same}, .cap = 1};
	static struct seen sn;
	read_lying(&sn, &l);
	cr_assert(l.cycles > 3, "cut into cycles: %d", l.cycles);
	cr_assert_eq(sn.n, 2000);
	for (uint32_t j = 0; j < sn.n; j++) {
		char want[64];
		snprintf(want, sizeof want, "t%u i%u", j / 1000, j % 1000);
		cr_assert_str_eq(sn.lines[j].msg, want, "ties go by ring, then position: line %u", j);
	}
	lying_free(&l);
}

/* Ring 0 steps back by a second at its 256th record, where the cap cuts it; ring 1 is between. */
static uint64_t stepped_back(uint32_t ring, int k)
{
	if (ring == 1)
		return 1500000000ull + (uint64_t)k;
	return (k < 256 ? 2000000000ull : 1000000000ull) + (uint64_t)k;
}

Test(reader, a_wall_clock_step_back_at_the_cut_keeps_ring_order_and_moves)
{
	struct lying l = {.n = 600, .ring_bytes = 256 * 1024, .st = {stepped_back, stepped_back}, .cap = 1};
	static struct seen sn;
	read_lying(&sn, &l);
	cr_assert_eq(sn.n, 1200);
	int next[2] = {0, 0};
	for (uint32_t j = 0; j < sn.n; j++) {
		int t, i;
		cr_assert_eq(sscanf(sn.lines[j].msg, "t%d i%d", &t, &i), 2);
		cr_assert_eq(i, next[t]++, "ring %d keeps its order: line %u", t, j);
		cr_assert_eq(sn.lines[j].ts, stepped_back((uint32_t)t, i), "each record shows its own stamp");
	}
	lying_free(&l);
}

static uint64_t end_of_time_at_3(uint32_t ring, int k)
{
	return k == 3 ? UINT64_MAX : interleaved(ring, k);
}

Test(reader, a_record_stamped_at_the_end_of_time_does_not_block_its_ring)
{
	struct lying l = {.n = 10, .ring_bytes = 64 * 1024, .st = {end_of_time_at_3, interleaved}, .cap = 4096};
	static struct seen sn;
	read_lying(&sn, &l);
	cr_assert_eq(sn.n, 20, "every record of both rings");
	cr_assert_str_eq(sn.lines[13].msg, "t0 i3", "after every earlier stamp");
	for (uint32_t j = 14; j < sn.n; j++) {
		char want[64];
		snprintf(want, sizeof want, "t0 i%u", j - 10);
		cr_assert_str_eq(sn.lines[j].msg, want, "the rest of its ring follows it: line %u", j);
	}
	cr_assert(l.rs.finished);
	lying_free(&l);
}

static uint64_t gap_after_300(uint32_t ring, int k)
{
	return 1000000000ull + 2u * (uint64_t)k + ring + (k >= 300 ? 1000000000ull : 0);
}

Test(reader, a_gap_beyond_the_bound_of_a_cut_cycle_does_not_cost_an_empty_cycle)
{
	/* cut cycles bound the next one by the density they emitted; after the
	 * gap every ring's next record lies beyond that bound, and the cycle
	 * must gather again without it rather than emit nothing */
	struct lying l = {.n = 600, .ring_bytes = 256 * 1024, .st = {gap_after_300, gap_after_300}, .cap = 1};
	static struct seen sn;
	read_lying(&sn, &l);
	cr_assert_eq(sn.n, 1200);
	for (uint32_t j = 1; j < sn.n; j++)
		cr_assert(sn.lines[j - 1].ts <= sn.lines[j].ts, "line %u out of order", j);
	lying_free(&l);
}

/* One cycle of a live segment (not final, no merge window): what is committed comes out. Returns the records. */
static long live_cycle(struct reader *rd, struct reader_seg *rs)
{
	struct reader_seg *list[] = {rs};
	struct reader_params p = {.max_records = 4096, .deadline_ns = UINT64_MAX,
				  .now_ns = clock_realtime_ns() + 1000000000ull};
	struct reader_result res;
	long got = reader_cycle(rd, list, 1, &p, &res);
	cr_assert(got >= 0);
	reader_seg_take(rs);
	return got;
}

Test(reader, rings_claimed_after_the_reader_began_are_read_and_a_done_producer_has_every_ring_read)
{
	struct shmlog *lg = su_log(dir, "live", 1, 10, 64 * 1024, path, sizeof path); /* ring 0 */
	struct seg s;
	open_rw(&s);
	static const struct clock_calib cal;
	struct reader_seg rs;
	static struct seen sn;
	cr_assert_eq(reader_seg_init(&rs, &s, &cal), 0);
	memset(&sn, 0, sizeof sn);
	sn.segs[0] = &rs;
	struct reader rd;
	reader_init(&rd, on_record, on_reject, &sn);
	cr_assert_eq(live_cycle(&rd, &rs), 10);
	cr_assert_eq(rs.rings_live, 1, "ring 0 in use, the others free");
	su_log_more(lg, 1, 3, 7); /* rings 1, 2, 3: past where the reader looked */
	cr_assert_eq(live_cycle(&rd, &rs), 21);
	cr_assert_eq(sn.n, 31);
	cr_assert_str_eq(sn.lines[30].msg, "t3 i6");
	/* a ring written out of turn (free, past a free one read to its end: a hostile producer's) is
	 * not looked at while the producer lives, and read once it is done */
	struct reader_seg late;
	cr_assert_eq(reader_seg_init(&late, &s, &cal), 0);
	cr_assert_eq(late.rings_live, 4, "at attach every ring in use or holding records counts");
	for (uint32_t i = 0; i < 4; i++) {
		atomic_store(&seg_ring(&s, i)->state, SHMLOG_RING_FREE);
		uint64_t t = i == 2 ? 0 : atomic_load(&seg_ring(&s, i)->tail); /* ring 2 unread, the others read */
		late.rings[i].read = late.rings[i].new_read = late.rings[i].pos = t;
	}
	late.rings_live = 1; /* as a reader that saw ring 0 alone in use */
	sn.segs[0] = &late;
	sn.n = 0;
	cr_assert_eq(live_cycle(&rd, &late), 0, "not while the producer lives");
	late.gone = true;
	cr_assert_eq(live_cycle(&rd, &late), 7, "ring 2's records once it is gone");
	cr_assert_str_eq(sn.lines[0].msg, "t2 i0");
	reader_free(&rd);
	reader_seg_free(&late);
	reader_seg_free(&rs);
	seg_close(&s);
	shmlog_close(lg);
}

