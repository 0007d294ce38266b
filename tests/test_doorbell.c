/*
 * test_doorbell.c — what the collector does when nothing comes: it polls
 * every idle_poll_ms, or, when every producer rings the doorbell, stops
 * polling until a producer's first record after the quiet spell wakes it
 * (shared/abi.h, "The doorbell"); flush and sync always wake it. The
 * collector runs with sleep_after_ms = 100, and a rescan (and, in most
 * tests, an idle poll) only every 10 minutes, so a record that did not wake
 * it would wait that long: every wait below is bounded at 10 s and fails
 * long before.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shmlog.h>

#include "e2e_util.h"
#include "helpers.h"
#include "shared/segment.h"

#define WAIT_MS 10000

static struct shmlog *lg;
static struct seg rseg;  /* the logger's segment, read-only */
static char *out, *cfg;
static pid_t collector;

static void open_logger_cfg(int doorbell, int idle_poll_ms, int rescan_ms)
{
	struct shmlog_options o = {.dir = dir, .max_threads = 2, .doorbell = doorbell};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	char err[256];
	cr_assert_eq(seg_open(&rseg, shmlog_segment_path(lg), false, err, sizeof err), 0, "%s", err);
	out = wpath("out.log");
	cfg = wconfig("collector: { sleep_after_ms = 100; idle_poll_ms = %d; rescan_ms = %d; };\n"
		      "writers = ( { type = \"file\"; path = \"%s\"; } );\n",
		      idle_poll_ms, rescan_ms, out);
	collector = start_collector(NULL, NULL, "--config", cfg);
}

static void open_logger(int doorbell)
{
	open_logger_cfg(doorbell, 60000, 600000);
}

static void fini(void)
{
	if (lg) {
		seg_close(&rseg);
		shmlog_close(lg);
		lg = NULL;
	}
	if (collector > 0)
		stop_collector(collector);
	collector = 0;
	free(out);
	free(cfg);
	teardown();
}

TestSuite(doorbell, .init = setup, .fini = fini, .timeout = 120);

/* Ring 0 (the test thread's) has its bell set: the collector is going to sleep. */
static bool bell_set(void *arg)
{
	(void)arg;
	return atomic_load_explicit(&seg_ring(&rseg, 0)->bell, memory_order_relaxed) != 0;
}

static bool collector_seen_after(void *arg)
{
	return atomic_load_explicit(&rseg.hdr->collector_seen_ns, memory_order_relaxed) > *(uint64_t *)arg;
}

/* CLOCK_REALTIME ns (the clock of collector_seen_ns) plus ms. */
static uint64_t realtime_in(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000ull;
}

/* The collector has not drained our segment for 300 ms. */
static bool collector_quiet(void *arg)
{
	(void)arg;
	return atomic_load_explicit(&rseg.hdr->collector_seen_ns, memory_order_relaxed) + 300000000ull < realtime_in(0);
}

static void wait_lines(long n)
{
	struct file_wait fw = {out, n};
	cr_assert(th_wait_until(file_has_lines, &fw, WAIT_MS), "record %ld did not arrive within %d ms", n, WAIT_MS);
}

static void log_value(int i)
{
	SHMLOG_INFO(lg, "value %d", i); /* one call site: from its second call on, the inline path */
}

Test(doorbell, a_sleeping_collector_is_woken_by_the_next_record_on_either_path)
{
	open_logger(1);
	cr_assert(rseg.bell, "the segment announces that its producer rings");
	log_value(0);
	wait_lines(1);
	for (int i = 1; i <= 3; i++) {
		cr_assert(th_wait_until(bell_set, NULL, WAIT_MS), "the collector never went to sleep");
		log_value(i); /* inline path */
		cr_assert_not(bell_set(NULL), "the producer took the bell when it rang");
		wait_lines(i + 1);
	}
	cr_assert(th_wait_until(bell_set, NULL, WAIT_MS));
	SHMLOG_WARN(lg, "a new call site: %s", "general path"); /* first call: registration, shmlog__log */
	wait_lines(5);
	char *text = th_read_file(out, NULL);
	cr_assert(text);
	for (int i = 0; i <= 3; i++) {
		char want[32];
		snprintf(want, sizeof want, "]: value %d\n", i);
		cr_assert(strstr(text, want), "%s missing in\n%s", want, text);
	}
	cr_assert(strstr(text, "]: a new call site: general path\n"), "%s", text);
	free(text);
}

Test(doorbell, sync_wakes_a_sleeping_collector)
{
	open_logger(1);
	log_value(1);
	wait_lines(1); /* written, not yet synced: nothing left for the collector to poll for */
	cr_assert(th_wait_until(bell_set, NULL, WAIT_MS), "the collector never went to sleep");
	cr_assert_eq(shmlog_sync(lg, WAIT_MS), 0, "sync woke the collector instead of waiting for its rescan");
	cr_assert_eq(shmlog_flush(lg, WAIT_MS), 0);
}

Test(doorbell, flush_wakes_a_slowly_polling_collector)
{
	open_logger(0); /* no doorbell: after the quiet spell, one poll a minute */
	cr_assert_not(rseg.bell, "the segment must not promise ringing");
	log_value(1);
	wait_lines(1);
	/* polling every 20 ms at most while records came in the last 100 ms, so
	 * 300 ms without a drain cycle means it polls once a minute now */
	cr_assert(th_wait_until(collector_quiet, NULL, WAIT_MS), "the collector never slowed down");
	log_value(2); /* waits for the next idle poll, a minute away */
	cr_assert_eq(shmlog_flush(lg, WAIT_MS), 0, "flush woke the collector instead of waiting for its poll");
	wait_lines(2);
}

Test(doorbell, a_producer_that_does_not_ring_is_polled_every_idle_poll_ms)
{
	open_logger_cfg(0, 50, 600000);
	log_value(1);
	wait_lines(1);
	/* well past sleep_after_ms (100 ms): the collector still drains this
	 * segment, and it never set a bell, which would have meant sleeping */
	uint64_t later = realtime_in(500);
	cr_assert(th_wait_until(collector_seen_after, &later, WAIT_MS), "the collector stopped polling");
	for (uint32_t r = 0; r < rseg.ring_count; r++)
		cr_assert_eq(atomic_load_explicit(&seg_ring(&rseg, r)->bell, memory_order_relaxed), 0, "ring %u", r);
	log_value(2);
	wait_lines(2);
}

Test(doorbell, a_collector_woken_by_its_rescan_goes_back_to_sleep_with_the_bells_still_set)
{
	open_logger_cfg(1, 60000, 50);
	log_value(1);
	wait_lines(1);
	cr_assert(th_wait_until(bell_set, NULL, WAIT_MS), "the collector never went to sleep");
	/* a drain cycle a few rescans later: the collector woke with nothing to do */
	uint64_t later = realtime_in(300);
	cr_assert(th_wait_until(collector_seen_after, &later, WAIT_MS), "the collector stopped rescanning");
	cr_assert(bell_set(NULL), "the bells stay set across wake-ups that find nothing");
	log_value(2);
	cr_assert_not(bell_set(NULL), "the record rang");
	wait_lines(2);
}

static bool has_warning(void *arg)
{
	char *text = th_read_file((const char *)arg, NULL);
	bool found = text && strstr(text, "shmlog-collector: sleep_after_ms 10 is less than twice the ") &&
		     strstr(text, " ms after which producers look at the doorbell on this machine: polling every 50 ms "
				  "instead of sleeping\n");
	free(text);
	return found;
}

Test(doorbell, a_sleep_after_ms_shorter_than_the_producers_quiet_spell_keeps_polling_with_a_warning)
{
	struct shmlog_options o = {.dir = dir, .max_threads = 2, .doorbell = 1};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	char err[256];
	cr_assert_eq(seg_open(&rseg, shmlog_segment_path(lg), false, err, sizeof err), 0, "%s", err);
	out = wpath("out.log");
	char *errf = wpath("err.log");
	cfg = wconfig("collector: { sleep_after_ms = 10; idle_poll_ms = 50; rescan_ms = 600000; };\n"
		      "writers = ( { type = \"file\"; path = \"%s\"; } );\n",
		      out);
	collector = start_collector(NULL, errf, "--config", cfg);
	cr_assert(th_wait_until(has_warning, errf, WAIT_MS), "no warning");
	log_value(1);
	wait_lines(1);
	uint64_t later = realtime_in(300);
	cr_assert(th_wait_until(collector_seen_after, &later, WAIT_MS), "the collector stopped polling");
	cr_assert_not(bell_set(NULL));
	log_value(2);
	wait_lines(2);
	free(errf);
}

Test(doorbell, a_producer_that_changed_its_directory_still_rings)
{
	/* a relative segment directory, then chdir: the path it rings by must still lead to the segment */
	char *slash = strrchr(dir, '/');
	*slash = 0;
	cr_assert_eq(chdir(dir), 0);
	*slash = '/';
	struct shmlog_options o = {.dir = slash + 1, .max_threads = 2, .doorbell = 1};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	cr_assert_eq(chdir("/"), 0);
	char err[256];
	cr_assert_eq(seg_open(&rseg, shmlog_segment_path(lg), false, err, sizeof err), 0, "%s", err);
	out = wpath("out.log");
	cfg = wconfig("collector: { sleep_after_ms = 100; rescan_ms = 600000; };\n"
		      "writers = ( { type = \"file\"; path = \"%s\"; } );\n",
		      out);
	collector = start_collector(NULL, NULL, "--config", cfg);
	log_value(1);
	wait_lines(1);
	cr_assert(th_wait_until(bell_set, NULL, WAIT_MS), "the collector never went to sleep");
	log_value(2);
	wait_lines(2);
}

static bool any_bell_set(void *arg)
{
	(void)arg;
	for (uint32_t r = 0; r < rseg.ring_count; r++)
		if (atomic_load_explicit(&seg_ring(&rseg, r)->bell, memory_order_relaxed))
			return true;
	return false;
}

Test(doorbell, a_producer_that_gave_up_root_still_rings)
{
	if (geteuid() != 0)
		cr_skip_test("needs root, to change user");
	out = wpath("out.log");
	cfg = wconfig("collector: { sleep_after_ms = 100; rescan_ms = 600000; };\n"
		      "writers = ( { type = \"file\"; path = \"%s\"; } );\n",
		      out);
	collector = start_collector(NULL, NULL, "--config", cfg);
	int go[2], ready[2];
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(ready), 0);
	pid_t child = fork();
	cr_assert(child >= 0);
	if (child == 0) {
		/* opens its logger as root (a 0600 segment owned by root), then
		 * becomes nobody: utimensat() on the segment now fails (EACCES) */
		struct shmlog *clg;
		struct shmlog_options o = {.dir = dir, .max_threads = 2, .doorbell = 1};
		char c = 0;
		close(go[1]);
		close(ready[0]);
		if (shmlog_open(&clg, &o) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(1);
		SHMLOG_INFO(clg, "value %d", 1);
		if (write(ready[1], shmlog_segment_path(clg), strlen(shmlog_segment_path(clg)) + 1) < 0 ||
		    read(go[0], &c, 1) != 1)
			_exit(2);
		SHMLOG_INFO(clg, "value %d", 2);
		/* alive until the parent is done: a dead producer's segment is drained anyway */
		_exit(read(go[0], &c, 1) == 0 ? 0 : 3);
	}
	close(go[0]);
	close(ready[1]);
	char path[4096];
	ssize_t n = read(ready[0], path, sizeof path);
	cr_assert(n > 0, "the child could not open its logger and change user");
	char err[256];
	cr_assert_eq(seg_open(&rseg, path, false, err, sizeof err), 0, "%s", err);
	wait_lines(1);
	cr_assert(th_wait_until(any_bell_set, NULL, WAIT_MS), "the collector never went to sleep");
	cr_assert(write(go[1], "g", 1) == 1);
	struct file_wait fw = {out, 2};
	bool arrived = th_wait_until(file_has_lines, &fw, WAIT_MS);
	close(go[1]);
	cr_assert(th_waitpid_timeout(child, 10000) == 0);
	seg_close(&rseg);
	cr_assert(arrived, "the record of a producer that changed user did not wake the collector");
}

Test(doorbell, a_producer_attached_from_a_renamed_directory_still_rings)
{
	/* the collector makes its directory again and watches the new one; the
	 * producer, whose path now leads nowhere, rings through its descriptor
	 * into the old directory, whose watch must stay (no rescan for 10 min) */
	open_logger(1);
	log_value(1);
	wait_lines(1);
	char *old;
	cr_assert(asprintf(&old, "%s.old", dir) > 0);
	cr_assert_eq(rename(dir, old), 0);
	cr_assert(th_wait_until(is_dir, dir, WAIT_MS), "the collector did not make its directory again");
	cr_assert(th_wait_until(bell_set, NULL, WAIT_MS), "the collector never went to sleep");
	log_value(2);
	wait_lines(2);
	cr_assert_eq(shmlog_flush(lg, WAIT_MS), 0);
	th_rmrf(old);
	free(old);
}
