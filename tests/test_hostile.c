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
#include "seg_util.h"
#include "shared/clock.h"

/* Bounds every test holds the collector to. */
#define SIGTERM_EXIT_MS 5000   /* from SIGTERM to exit */
#define IDLE_CPU_MS 150        /* CPU over IDLE_SPELL_MS once everything is written */
#define IDLE_SPELL_MS 1000
#define MAX_HWM_KB (64 * 1024) /* peak RSS */
#define MAX_FDS 32

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

/*
 * The honest producer: 2 threads x 2000 records, all of them in out, which
 * has lines lines then: every segment is drained and removed unless live
 * (lines > 0).
 */
static void run_honest_and_check_in(const char *out, long lines)
{
	char *args[] = {"-n", "honest", "-t", "2", "-r", "2000", "-C", NULL};
	cr_assert_eq(run_producer("/dev/null", args, NULL), 0);
	struct file_wait w = {out, lines};
	if (lines)
		cr_assert(th_wait_until(file_has_lines, &w, 20000), "every record is written");
	else
		cr_assert(th_wait_until(no_segments, NULL, 20000), "every segment is drained and removed");
	struct tally ty = {.threads = 2, .records = 2000, .allow_other = true};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 4000, "every honest record arrives");
	free(ty.last);
}

static void run_honest_and_check(const char *out)
{
	run_honest_and_check_in(out, 0);
}

/* Assert c's memory and descriptor bounds, then that SIGTERM ends it in time with status 0. */
static void check_bounds_and_stop(pid_t c)
{
	struct th_usage u;
	cr_assert(th_usage(c, &u));
	cr_assert_leq(u.hwm_kb, MAX_HWM_KB, "peak RSS %ld KiB", u.hwm_kb);
	cr_assert_leq(u.fds, MAX_FDS, "%ld fds", u.fds);
	long long t = th_now_ms();
	kill(c, SIGTERM);
	int st = th_waitpid_timeout(c, SIGTERM_EXIT_MS);
	cr_assert(st != -1, "exit within %d ms of SIGTERM", SIGTERM_EXIT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d after %lld ms", st, th_now_ms() - t);
}

/* What c used over IDLE_SPELL_MS: *cpu_ms of CPU time, *wakeups voluntary context switches. */
static void idle_spell(pid_t c, long *cpu_ms, long *wakeups)
{
	struct th_usage a, b;
	cr_assert(th_usage(c, &a));
	long long until = th_now_ms() + IDLE_SPELL_MS;
	while (th_now_ms() < until) /* a measuring spell, not a wait for anything */
		usleep(50 * 1000);
	cr_assert(th_usage(c, &b));
	*cpu_ms = b.cpu_ms - a.cpu_ms;
	*wakeups = b.switches - a.switches;
}

/* Assert that c, with nothing left to do, uses little CPU; then its bounds and stop. */
static void check_idle_and_stop(pid_t c)
{
	long cpu, wakeups;
	idle_spell(c, &cpu, &wakeups);
	cr_assert_leq(cpu, IDLE_CPU_MS, "idle CPU: %ld ms in %d ms", cpu, IDLE_SPELL_MS);
	check_bounds_and_stop(c);
}

/* One liar of n records stamped by stamp, the honest producer, and the bounds. */
static void liar_beside_honest(int n, uint64_t (*stamp)(uint32_t, int))
{
	make_liar(n, stamp);
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	run_honest_and_check(out);
	cr_assert_eq(liar_lines_in_order(out), n, "every record of the liar too");
	check_idle_and_stop(c);
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
	check_bounds_and_stop(c);
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
	check_bounds_and_stop(c);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	free(bin);
	free(out);
}
