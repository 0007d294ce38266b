/*
 * test_hostile.c — a real collector against segments whose stamps or
 * requests lie, beside an honest producer (tests/producer_prog): equal
 * stamps beyond the batch cap, a wall clock stepping back, a stamp of
 * 2^64-1, a sync request that can never be met. Each test checks that every
 * honest record arrives, that the collector ends within a bound after
 * SIGTERM, and that its CPU, memory and descriptors stay bounded.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"
#include "hostile_util.h"
#include "seg_util.h"
#include "shared/clock.h"

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t t0_ns; /* the liar's stamps are around this */

/* The liar: one ring of n records "t0 i<K>" restamped by stamp, its logger closed. */
static void make_liar(int n, uint64_t (*stamp)(uint32_t, int))
{
	char path[512];
	t0_ns = clock_realtime_ns();
	struct shmlog *lg = su_log(dir, "liar", 1, n, 1u << 20, path, sizeof path);
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, path, true, err, sizeof err), 0, "%s", err);
	cr_assert_eq(su_restamp(&s, 0, stamp), n);
	seg_close(&s);
	shmlog_close(lg);
}

/* The liar's lines of out, in order: each "t0 i<K>", K = 0..n-1. Returns them. */
static int liar_lines_in_order(const char *out)
{
	char *text = th_read_file(out, NULL);
	cr_assert(text);
	int k = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct parsed_line pl;
		cr_assert(parse_line(line, &pl), "malformed line: %s", line);
		if (strcmp(pl.name, "liar") != 0)
			continue;
		int t, i;
		cr_assert_eq(sscanf(pl.msg, "t%d i%d", &t, &i), 2, "%s", pl.msg);
		cr_assert_eq(i, k++, "the liar's ring keeps its order");
	}
	free(text);
	return k;
}

/* One liar of n records stamped by stamp, the honest producer, and the bounds. */
static void liar_beside_honest(int n, uint64_t (*stamp)(uint32_t, int))
{
	make_liar(n, stamp);
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	run_honest_and_check(out);
	cr_assert_eq(liar_lines_in_order(out), n, "every record of the liar too");
	check_idle_and_stop(c, MAX_FDS);
	free(out);
}

static uint64_t one_stamp(uint32_t ring, int k)
{
	(void)ring;
	(void)k;
	return t0_ns;
}

Test(hostile, a_ring_of_equal_stamps_beyond_the_batch_cap_does_not_stall_the_collector)
{
	liar_beside_honest(5000, one_stamp); /* the batch cap is 4,096 records */
}

/* A wall clock stepping back by a microsecond at every record: wherever a batch is cut, the
 * first record it leaves is stamped before the ones it took. */
static uint64_t clock_stepping_back(uint32_t ring, int k)
{
	(void)ring;
	return t0_ns - 1000u * (uint64_t)k;
}

Test(hostile, a_wall_clock_stepping_back_through_a_burst_does_not_stall_the_collector)
{
	liar_beside_honest(5000, clock_stepping_back);
}

static uint64_t end_of_time_at_3(uint32_t ring, int k)
{
	(void)ring;
	return k == 3 ? UINT64_MAX : t0_ns + (uint64_t)k;
}

Test(hostile, a_record_stamped_2_64_minus_1_does_not_block_the_rest_of_its_ring)
{
	liar_beside_honest(10, end_of_time_at_3);
}

/* synced of ring 0 of the segment at arg reached its tail. */
static bool ring0_synced(void *arg)
{
	struct seg *s = arg;
	return atomic_load(&seg_ring(s, 0)->synced) == atomic_load(&seg_ring(s, 0)->tail);
}

Test(hostile, a_sync_request_that_can_never_be_met_costs_one_sync_not_one_per_poll)
{
	char path[512], err[512];
	struct shmlog *lg = su_log(dir, "liar", 1, 10, 64 * 1024, path, sizeof path); /* stays open */
	struct seg s;
	cr_assert_eq(seg_open(&s, path, true, err, sizeof err), 0, "%s", err);
	atomic_store(&seg_ring(&s, 0)->sync_req, UINT64_MAX); /* beyond anything the ring will hold */
	char *file = wpath("app.log");
	char *cfg = wconfig("collector = { sleep_after_ms = 50; idle_poll_ms = 200; };\n"
			    "writers = ( { type = \"file\"; path = \"%s\"; } );\n",
			    file);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	cr_assert(th_wait_until(ring0_synced, &s, 10000), "what the ring holds is synced");
	run_honest_and_check_in(file, 4010); /* and the liar's 10 */
	long cpu, wakeups;
	idle_spell(c, &cpu, &wakeups);
	/* polling every idle_poll_ms plus a rescan: about 6 wake-ups; a sync per poll_max_ms is 50 */
	cr_assert_leq(wakeups, 20, "%ld wake-ups in %d ms", wakeups, IDLE_SPELL_MS);
	cr_assert_leq(cpu, IDLE_CPU_MS, "idle CPU: %ld ms in %d ms", cpu, IDLE_SPELL_MS);
	check_bounds_and_stop(c, MAX_FDS);
	seg_close(&s);
	shmlog_close(lg);
	free(file);
	free(cfg);
}

Test(hostile, sigterm_ends_the_collector_in_time_while_a_producer_never_stops_writing)
{
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *bin = th_build_path("tests/producer_prog");
	char *argv[] = {bin, "-d", dir, "-t", "2", "-r", "1000000000", NULL}; /* hours of records */
	pid_t p = th_spawn(argv, "/dev/null", NULL, NULL);
	cr_assert(p > 0);
	struct file_wait w = {out, 10000};
	cr_assert(th_wait_until(file_has_lines, &w, 20000), "records flow");
	check_bounds_and_stop(c, MAX_FDS);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	free(bin);
	free(out);
}
