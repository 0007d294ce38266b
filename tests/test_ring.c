/*
 * test_ring.c — ring position arithmetic, and the real producer's records
 * read back through wrap-arounds by an in-process consumer.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <shmlog.h>

#include "helpers.h"
#include "shared/ring.h"
#include "shared/segment.h"

Test(ring, rejects_capacities_that_are_not_powers_of_two_in_range)
{
	cr_assert(ring_capacity_valid(4096));
	cr_assert(ring_capacity_valid(1u << 20));
	cr_assert_not(ring_capacity_valid(4095));
	cr_assert_not(ring_capacity_valid(6144));
	cr_assert_not(ring_capacity_valid(2048));
	cr_assert_not(ring_capacity_valid(0));
	cr_assert_not(ring_capacity_valid((uint64_t)SHMLOG_RING_BYTES_MAX * 2));
}

Test(ring, offsets_wrap_with_the_mask)
{
	cr_assert_eq(ring_offset(0, 4096), 0);
	cr_assert_eq(ring_offset(4096 * 3 + 40, 4096), 40);
	cr_assert_eq(ring_to_end(4096 * 3 + 40, 4096), 4056);
	cr_assert_eq(ring_offset(UINT64_MAX - 7, 4096), 4088);
}

Test(ring, plan_fits_without_padding_when_room_before_the_end)
{
	uint32_t pad = 99;
	cr_assert(ring_plan(100 * 4096 + 0, 100 * 4096 - 4096 + 64, 4096, 64, &pad));
	cr_assert_eq(pad, 0);
}

Test(ring, plan_pads_to_the_end_when_the_record_would_wrap)
{
	uint32_t pad;
	/* 16 bytes left before the end, 32-byte record: pad 16, then 32 at offset 0 */
	cr_assert(ring_plan(4096 - 16, 4096 - 16, 4096, 32, &pad));
	cr_assert_eq(pad, 16);
	/* the pad counts against free space */
	cr_assert_not(ring_plan(2 * 4096 - 16, 4096 + 16 + 8, 4096, 32, &pad));
}

Test(ring, plan_refuses_when_full_and_accepts_exactly_full)
{
	uint32_t pad;
	cr_assert_not(ring_plan(4096, 0, 4096, 8, &pad));
	cr_assert(ring_plan(4096 - 64, 0, 4096, 64, &pad));
	cr_assert_eq(pad, 0);
	cr_assert_not(ring_plan(4096 - 56, 0, 4096, 64, &pad));
}

/* ---- head and its counters, published together (ring_publish_head / ring_read_head) ---- */

#define PUBLICATIONS 2000000u

static struct shmlog_ring_header pub_rh;
static atomic_bool pub_done;

/* The consumer's side: publication k is head 8k, its drops 2k, its records k. */
static void *publisher(void *arg)
{
	(void)arg;
	for (uint64_t k = 1; k <= PUBLICATIONS; k++)
		ring_publish_head(&pub_rh, 8 * k, 2 * k, k);
	atomic_store(&pub_done, true);
	return NULL;
}

Test(ring, a_reader_beside_the_consumer_gets_head_and_its_count_from_the_same_publication)
{
	pthread_t th;
	memset(&pub_rh, 0, sizeof pub_rh);
	atomic_store(&pub_done, false);
	cr_assert_eq(pthread_create(&th, NULL, publisher, NULL), 0);
	uint64_t reads = 0, last = 0, bad = 0, bad_h = 0, bad_rc = 0;
	struct ring_head_watch w = {0};
	while (!atomic_load(&pub_done)) {
		uint64_t rc, h = ring_read_head(&pub_rh, &rc, &w);
		if (rc * 8 != h && !bad++) {
			bad_h = h;
			bad_rc = rc;
		}
		cr_assert_geq(h, last, "head went back");
		last = h;
		reads++;
	}
	pthread_join(th, NULL);
	cr_assert_eq(bad, 0, "%llu of %llu reads mixed two publications (head %llu with records %llu)",
		     (unsigned long long)bad, (unsigned long long)reads, (unsigned long long)bad_h,
		     (unsigned long long)bad_rc);
	cr_assert_not(w.stuck, "a live consumer's publications are never stuck");
	uint64_t rc, h = ring_read_head(&pub_rh, &rc, &w);
	cr_assert(h == 8ull * PUBLICATIONS && rc == PUBLICATIONS && !(atomic_load(&pub_rh.head_seq) & 1u));
}

static struct shmlog_ring_header slow_rh;
static atomic_bool slow_begun;

/* A consumer descheduled in the middle of a publication (64, 8 -> 72, 9) for 20 ms, as a loaded or
 * virtual machine can stall a thread. */
static void *slow_publisher(void *arg)
{
	(void)arg;
	uint32_t s = atomic_load(&slow_rh.head_seq) | 1u;
	atomic_store(&slow_rh.head_seq, s);
	atomic_store(&slow_rh.records_consumed, 9);
	atomic_store(&slow_begun, true);
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL); /* the stall itself, not a wait for anything */
	atomic_store(&slow_rh.head, 72);
	atomic_store(&slow_rh.head_seq, s + 1);
	return NULL;
}

static bool begun(void *arg)
{
	(void)arg;
	return atomic_load(&slow_begun);
}

Test(ring, a_reader_waits_out_a_consumer_stalled_in_the_middle_of_a_publication)
{
	memset(&slow_rh, 0, sizeof slow_rh);
	ring_publish_head(&slow_rh, 64, 0, 8);
	atomic_store(&slow_begun, false);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, slow_publisher, NULL), 0);
	cr_assert(th_wait_until(begun, NULL, 10000), "the publication begins");
	struct ring_head_watch w = {0};
	uint64_t rc, h = ring_read_head(&slow_rh, &rc, &w);
	pthread_join(th, NULL);
	cr_assert_not(w.stuck);
	cr_assert(h == 72 && rc == 9, "the finished publication, not half of one: head %llu, records %llu",
		  (unsigned long long)h, (unsigned long long)rc);
}

Test(ring, a_publication_left_half_done_is_read_as_it_is_and_the_next_one_mends_it)
{
	struct shmlog_ring_header rh;
	memset(&rh, 0, sizeof rh);
	ring_publish_head(&rh, 64, 0, 8);
	atomic_store(&rh.head_seq, atomic_load(&rh.head_seq) + 1); /* a consumer killed between its stores */
	atomic_store(&rh.records_consumed, 9);
	struct ring_head_watch w = {0};
	long long t0 = th_now_ms();
	uint64_t rc, h = ring_read_head(&rh, &rc, &w); /* returns after RING_HEAD_STUCK_NS, not never */
	cr_assert(h == 64 && rc == 9 && w.stuck);
	cr_assert_geq(th_now_ms() - t0, (long long)(RING_HEAD_STUCK_NS / 1000000u), "it waited for the consumer");
	ring_publish_head(&rh, 80, 0, 10);
	cr_assert_eq(atomic_load(&rh.head_seq) & 1u, 0, "even again: readers take it");
	h = ring_read_head(&rh, &rc, &w);
	cr_assert(h == 80 && rc == 10);
}

Test(ring, a_ring_found_stuck_is_not_waited_for_again)
{
	struct shmlog_ring_header rh;
	memset(&rh, 0, sizeof rh);
	ring_publish_head(&rh, 64, 0, 8);
	atomic_store(&rh.head_seq, atomic_load(&rh.head_seq) + 1);
	struct ring_head_watch w = {0};
	uint64_t rc;
	ring_read_head(&rh, &rc, &w);
	cr_assert(w.stuck);
	long long t0 = th_now_ms();
	for (int k = 0; k < 100; k++)
		cr_assert_eq(ring_read_head(&rh, &rc, &w), 64);
	cr_assert_lt(th_now_ms() - t0, (long long)(RING_HEAD_STUCK_NS / 1000000u), "100 reads took no wait");
}

Test(ring, rings_waited_for_together_are_ready_within_one_stuck_time)
{
	static struct shmlog_ring_header rh[8];
	struct ring_head_watch w[8] = {0};
	for (int i = 0; i < 8; i++) {
		memset(&rh[i], 0, sizeof rh[i]);
		atomic_store(&rh[i].head_seq, 2 * i + 1); /* each half done (garbage, or consumers killed) */
	}
	long long t0 = th_now_ms();
	for (bool ready = false; !ready;) {
		ready = true;
		for (int i = 0; i < 8; i++)
			ready &= ring_head_ready(&rh[i], &w[i]);
	}
	long long took = th_now_ms() - t0;
	for (int i = 0; i < 8; i++)
		cr_assert(w[i].stuck);
	cr_assert_lt(took, 4 * (long long)(RING_HEAD_STUCK_NS / 1000000u), "%lld ms: one wait for them all", took);
}

static char *dir;

static void setup(void)
{
	dir = th_mkdtemp(true);
}

static void teardown(void)
{
	th_rmrf(dir);
	free(dir);
}

/* Read every available record of ring 0, check it, advance head. Returns records read. */
static long consume(struct seg *s, long *next, struct sbuf *msg)
{
	uint64_t head, tail;
	const char *why = NULL;
	long n = 0;
	for (uint32_t i = 0; i < s->ring_count; i++) {
		cr_assert(seg_ring_positions(s, i, &head, &tail, &why), "%s", why);
		uint64_t pos = head;
		struct seg_rec r;
		int rc;
		while ((rc = seg_ring_next(s, i, &pos, tail, &r, &why)) == 1) {
			struct text_record tr;
			struct seg_space sp;
			seg_render(s, 0, &r, 0, msg, &tr, &sp);
			char want[2048], str[600];
			long k = *next;
			memset(str, 'a' + (int)(k % 26), (size_t)(k * 37 % 500));
			str[k * 37 % 500] = 0;
			snprintf(want, sizeof want, "k=%ld s=%s f=%g", k, str, (double)k / 3);
			cr_assert_eq(tr.msg_len, strlen(want), "record %ld", k);
			cr_assert(memcmp(tr.msg, want, tr.msg_len) == 0, "record %ld", k);
			(*next)++;
			n++;
			pos += r.size;
		}
		cr_assert_eq(rc, 0, "corrupt: %s", rc < 0 ? why : "");
		atomic_store_explicit(&seg_ring(s, i)->head, pos, memory_order_release);
	}
	return n;
}

Test(ring, records_survive_many_wrap_arounds_intact_and_in_order, .init = setup, .fini = teardown)
{
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .ring_bytes = 4096, .max_threads = 1};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	struct seg s;
	char err[256];
	cr_assert_eq(seg_open(&s, shmlog_segment_path(lg), true, err, sizeof err), 0, "%s", err);
	struct sbuf msg = {0};
	long next = 0, logged = 0;
	char str[600];
	/* variable sizes from 24 to ~530 bytes: records keep landing at the end of the ring */
	for (int round = 0; round < 400; round++) {
		for (int j = 0; j < 5; j++, logged++) {
			memset(str, 'a' + (int)(logged % 26), (size_t)(logged * 37 % 500));
			str[logged * 37 % 500] = 0;
			SHMLOG_INFO(lg, "k=%ld s=%s f=%g", logged, str, (double)logged / 3);
		}
		consume(&s, &next, &msg);
	}
	cr_assert_eq(next, logged);
	uint64_t tail = atomic_load(&seg_ring(&s, 0)->tail);
	cr_assert_gt(tail, 50 * 4096, "the ring wrapped many times (%llu bytes)", (unsigned long long)tail);
	struct shmlog_stats st;
	shmlog_get_stats(lg, &st);
	cr_assert_eq(st.lost, 0);
	sbuf_free(&msg);
	seg_close(&s);
	shmlog_close(lg);
}

Test(ring, a_full_ring_drops_and_the_next_record_reports_the_loss, .init = setup, .fini = teardown)
{
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .ring_bytes = 4096, .max_threads = 1};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	struct seg s;
	char err[256];
	cr_assert_eq(seg_open(&s, shmlog_segment_path(lg), true, err, sizeof err), 0, "%s", err);
	for (int i = 0; i < 1000; i++)
		SHMLOG_INFO(lg, "fill %d", i);
	struct shmlog_stats st;
	shmlog_get_stats(lg, &st);
	cr_assert_gt(st.lost, 0);
	uint64_t head, tail;
	const char *why;
	cr_assert(seg_ring_positions(&s, 0, &head, &tail, &why));
	uint64_t kept = 0;
	struct seg_rec r;
	uint64_t pos = head;
	while (seg_ring_next(&s, 0, &pos, tail, &r, &why) == 1) {
		kept++;
		pos += r.size;
	}
	atomic_store(&seg_ring(&s, 0)->head, pos); /* consumer catches up */
	SHMLOG_INFO(lg, "after %d", 1);
	cr_assert(seg_ring_positions(&s, 0, &head, &tail, &why));
	cr_assert_eq(seg_ring_next(&s, 0, &pos, tail, &r, &why), 1);
	cr_assert_eq(r.site, SHMLOG_SITE_LOSS, "a loss record comes first");
	uint64_t lost;
	memcpy(&lost, r.args, 8);
	cr_assert_eq(lost, st.lost);
	cr_assert_eq(kept + lost, 1000);
	pos += r.size;
	cr_assert_eq(seg_ring_next(&s, 0, &pos, tail, &r, &why), 1);
	cr_assert_neq(r.site, SHMLOG_SITE_LOSS);
	seg_close(&s);
	shmlog_close(lg);
}

static struct shmlog *thr_lg;

static void *log_once(void *arg)
{
	(void)arg;
	SHMLOG_INFO(thr_lg, "from a thread");
	return NULL;
}

Test(ring, a_thread_gives_its_ring_back_when_it_exits, .init = setup, .fini = teardown)
{
	struct shmlog_options o = {.dir = dir, .ring_bytes = 4096, .max_threads = 2};
	cr_assert_eq(shmlog_open(&thr_lg, &o), 0);
	struct seg s;
	char err[256];
	cr_assert_eq(seg_open(&s, shmlog_segment_path(thr_lg), true, err, sizeof err), 0, "%s", err);
	pthread_t t;
	pthread_create(&t, NULL, log_once, NULL);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&seg_ring(&s, 0)->state), SHMLOG_RING_RELEASED);
	/* not reusable until drained: a second thread takes ring 1 */
	pthread_create(&t, NULL, log_once, NULL);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&seg_ring(&s, 1)->state), SHMLOG_RING_RELEASED);
	const char *why = NULL;
	cr_assert_eq(seg_ring_count(&s, 1, 0, atomic_load(&seg_ring(&s, 1)->tail), &why), 1);
	seg_close(&s);
	shmlog_close(thr_lg);
}

/* ---- SHMLOG_FULL_BLOCK: busy-wait first (block_spin_us), then sleep ---- */

/* "fill %d" records take 24 bytes: a 4 KiB ring holds about 170 of them, so
 * 200 calls block once, and the rest fit after one consume */
#define BLOCK_CALLS 200

struct blocker {
	struct shmlog *lg;
	struct seg *seg;
	_Atomic pid_t tid;
	long nvcsw; /* voluntary context switches (sleeps) during the calls */
};

static void *fill_past_full(void *arg)
{
	struct blocker *b = arg;
	SHMLOG_INFO(b->lg, "claim"); /* the ring is claimed (and its memory committed) before counting */
	atomic_store(&b->tid, (pid_t)syscall(SYS_gettid));
	struct rusage r0, r1;
	getrusage(RUSAGE_THREAD, &r0);
	for (int i = 0; i < BLOCK_CALLS; i++)
		SHMLOG_INFO(b->lg, "fill %d", i);
	getrusage(RUSAGE_THREAD, &r1);
	b->nvcsw = r1.ru_nvcsw - r0.ru_nvcsw;
	return NULL;
}

/* Whether ring 0 is too full for one more "fill %d" record: the filling
 * thread is then in, or about to enter, its wait for room. */
static bool ring0_full(void *arg)
{
	struct shmlog_ring_header *rh = seg_ring(arg, 0);
	return atomic_load(&rh->tail) - atomic_load(&rh->head) > 4096 - 32;
}

static bool thread_sleeps(void *arg)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)atomic_load(&((struct blocker *)arg)->tid));
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *st = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return st && st[1] == ' ' && st[2] == 'S';
}

/* Consume every record of ring 0 (head = tail) the way the collector does,
 * waking sleepers only if asked. Returns how many records there were. */
static long consume_all(struct seg *s, bool wake)
{
	uint64_t head, tail;
	const char *why = NULL;
	cr_assert(seg_ring_positions(s, 0, &head, &tail, &why), "%s", why);
	long n = 0;
	struct seg_rec r;
	for (uint64_t pos = head; seg_ring_next(s, 0, &pos, tail, &r, &why) == 1; pos += r.size)
		n++;
	struct shmlog_ring_header *rh = seg_ring(s, 0);
	atomic_store(&rh->head, tail);
	if (wake) {
		atomic_fetch_add(&rh->wake_seq, 1);
		syscall(SYS_futex, &rh->wake_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
	return n;
}

/* Fill a 4 KiB ring from a thread until a call blocks; returns that thread. */
static pthread_t start_blocked(struct shmlog **lg, struct seg *s, struct blocker *b, int spin_us)
{
	struct shmlog_options o = {.dir = dir, .ring_bytes = 4096, .max_threads = 1, .full_policy = SHMLOG_FULL_BLOCK,
				   .block_timeout_ms = 60000, .block_spin_us = spin_us};
	cr_assert_eq(shmlog_open(lg, &o), 0);
	char err[256];
	cr_assert_eq(seg_open(s, shmlog_segment_path(*lg), true, err, sizeof err), 0, "%s", err);
	b->lg = *lg;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, fill_past_full, b), 0);
	cr_assert(th_wait_until(ring0_full, s, 10000), "the ring fills up");
	return t;
}

static void finish_blocked(struct shmlog *lg, struct seg *s, pthread_t t, long before)
{
	cr_assert_eq(pthread_join(t, NULL), 0);
	long after = consume_all(s, false);
	cr_assert_eq(before + after, BLOCK_CALLS + 1, "every record is there once: %ld + %ld", before, after);
	struct shmlog_stats st;
	shmlog_get_stats(lg, &st);
	cr_assert_eq(st.lost, 0);
	seg_close(s);
	shmlog_close(lg);
}

Test(ring, a_blocked_call_busy_waits_and_takes_the_room_made_meanwhile_without_sleeping, .init = setup,
     .fini = teardown)
{
	struct shmlog *lg;
	struct seg s;
	struct blocker b = {0};
	/* a spin far longer than the test: the room comes while it spins */
	pthread_t t = start_blocked(&lg, &s, &b, 60 * 1000 * 1000);
	/* blocked on the full ring, it keeps running: a call that slept would
	 * show state S here within microseconds */
	cr_assert_not(th_wait_until(thread_sleeps, &b, 300), "the blocked call went to sleep");
	/* the room is made without the futex wake: a sleeper would only notice
	 * at its periodic wake-up, and would count a sleep */
	long before = consume_all(&s, false);
	finish_blocked(lg, &s, t, before);
	cr_assert_eq(b.nvcsw, 0, "the blocked call never slept (%ld voluntary context switches)", b.nvcsw);
}

static bool ring0_waiter_sleeps(void *arg)
{
	struct blocker *b = arg;
	return thread_sleeps(b) && atomic_load(&seg_ring(b->seg, 0)->waiters) == 1;
}

Test(ring, a_negative_block_spin_us_sleeps_as_a_waiter_the_collector_wakes, .init = setup, .fini = teardown)
{
	struct shmlog *lg;
	struct seg s;
	struct blocker b = {.seg = &s};
	pthread_t t = start_blocked(&lg, &s, &b, -1);
	/* counted in waiters, so the collector's head store is followed by a futex wake */
	cr_assert(th_wait_until(ring0_waiter_sleeps, &b, 10000), "the blocked call sleeps as a waiter");
	long before = consume_all(&s, true);
	finish_blocked(lg, &s, t, before);
	cr_assert_geq(b.nvcsw, 1, "it slept");
}

Test(ring, a_spin_longer_than_block_timeout_ms_ends_with_the_timeout, .init = setup, .fini = teardown)
{
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .ring_bytes = 4096, .max_threads = 1, .full_policy = SHMLOG_FULL_BLOCK,
				   .block_timeout_ms = 100, .block_spin_us = 60 * 1000 * 1000};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	struct shmlog_stats st = {0};
	long long took = 0;
	/* nobody consumes: the call that finds the ring full waits 100 ms, then drops */
	for (int i = 0; i < 1000 && st.lost == 0; i++) {
		long long t0 = th_now_ms();
		SHMLOG_INFO(lg, "fill %d", i);
		took = th_now_ms() - t0;
		shmlog_get_stats(lg, &st);
	}
	cr_assert_eq(st.lost, 1);
	cr_assert_geq(took, 100, "the call waited its block_timeout_ms (%lld ms)", took);
	cr_assert_lt(took, 30000, "the 60 s spin stopped at the timeout (%lld ms)", took);
	shmlog_close(lg);
}
