/*
 * test_render.c — collector.threads: the plain line writers' lines rendered
 * on several threads (collector/render.c) are the very bytes one thread
 * writes. The same segments (copied before any collector read them) are
 * drained once with threads = 1 and once with threads = 2: records of four
 * threads, records with fields of every type, long and escaped messages;
 * writers of both formats, one that rotates (rendered at once, not
 * deferred), routes with a regex (messages rendered before they are
 * deferred) and a catch-all route. Every file must be byte for byte the
 * same, with the helpers in every cycle (threads_adaptive = false) and as
 * the gauge chooses them. Also the key's bounds, and the gauge's choices
 * (render_gauge_cycle) for loop times given by the test.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../collector/render.h"
#include "e2e_util.h"
#include "helpers.h"

TestSuite(render, .init = setup, .fini = teardown, .timeout = 240);

/* Run the collector once over segment directory d with the config text cfg_text. Returns its stderr. */
static char *collect_once(const char *d, const char *cfg_text, const char *tag)
{
	char name[64];
	snprintf(name, sizeof name, "%s.cfg", tag);
	char *cfg = wpath(name), *err = NULL, *bin = th_build_path("shmlog-collector");
	snprintf(name, sizeof name, "%s.err", tag);
	err = wpath(name);
	FILE *f = fopen(cfg, "w");
	cr_assert(f);
	fputs(cfg_text, f);
	fclose(f);
	char *argv[] = {bin, "--config", cfg, "--dir", (char *)d, "--once", NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(argv, NULL, err, NULL), 60000), 0, "collector --once (%s)", tag);
	char *text = th_read_file(err, NULL);
	free(cfg);
	free(err);
	free(bin);
	return text;
}

/* The config of one run: its files named after tag, threads as given, the gauge on or off. */
static char *config(const char *tag, unsigned threads, bool adaptive)
{
	char *buf = malloc(4096);
	cr_assert(buf);
	snprintf(buf, 4096,
		 "collector: { threads = %u; threads_adaptive = %s; };\n"
		 "writers = ( { name = \"text\"; type = \"file\"; path = \"%s/%s.log\"; },\n"
		 "  { name = \"json\"; type = \"file\"; format = \"json\"; path = \"%s/%s.json\"; },\n"
		 "  { name = \"rot\"; type = \"file\"; path = \"%s/%s.rot\"; max_bytes = 65536; backups = 1000; } );\n"
		 "routes = ( { message = \"(logged|slow|t=1 )\"; to = [\"text\", \"json\"]; },\n"
		 "  { to = [\"text\", \"json\", \"rot\"]; } );\n",
		 threads, adaptive ? "true" : "false", work, tag, work, tag, work, tag);
	return buf;
}

/* Assert that the files work/one.SUFFIX and work/TAG.SUFFIX hold the same bytes, and some. */
static void assert_same(const char *tag, const char *suffix)
{
	char a[64], b[64];
	snprintf(a, sizeof a, "one.%s", suffix);
	snprintf(b, sizeof b, "%s.%s", tag, suffix);
	char *pa = wpath(a), *pb = wpath(b);
	size_t la = 0, lb = 0;
	char *ta = th_read_file(pa, &la), *tb = th_read_file(pb, &lb);
	cr_assert(ta && tb, "%s or %s missing", pa, pb);
	cr_assert(la > 0 && la == lb && memcmp(ta, tb, la) == 0, "%s: %zu bytes with 1 thread, %zu with 2 (%s)",
		  suffix, la, lb, tag);
	free(ta);
	free(tb);
	free(pa);
	free(pb);
}

Test(render, two_threads_write_the_very_bytes_one_thread_writes)
{
	char *env[] = {"SHMLOG_CLOCK=realtime", NULL}; /* each collector's TSC calibration would differ */
	char *pout = wpath("prod.out"), *copy = wpath("segs-copy"), *copy2 = wpath("segs-copy2");
	char *args[] = {"-t", "4", "-r", "20000", "-p", "block", "-R", "8388608", "-C", NULL};
	cr_assert_eq(run_producer(pout, args, env), 0);
	char *seed_bin = th_build_path("tests/seed_prog");
	char *fields[] = {seed_bin, dir, "fields", NULL}, *syslog[] = {seed_bin, dir, "syslog", NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(fields, NULL, NULL, env), 20000), 0);
	cr_assert_eq(th_waitpid_timeout(th_spawn(syslog, NULL, NULL, env), 20000), 0);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s' && cp -a '%s' '%s'", dir, copy, dir, copy2);
	cr_assert_eq(system(cmd), 0);
	char *c1 = config("one", 1, true), *c2 = config("two", 2, false), *c3 = config("three", 2, true);
	free(collect_once(dir, c1, "one"));
	free(collect_once(copy, c2, "two"));
	free(collect_once(copy2, c3, "three"));
	const char *suffixes[] = {"log", "json", "rot", "rot.1"};
	for (int i = 0; i < 4; i++) {
		assert_same("two", suffixes[i]);
		assert_same("three", suffixes[i]);
	}
	free(c1);
	free(c2);
	free(c3);
	free(copy2);
	free(seed_bin);
	free(pout);
	free(copy);
}

Test(render, threads_out_of_range_is_a_config_error_naming_the_key)
{
	const char *bad[] = {"0", "65", "\"two\""};
	for (int i = 0; i < 3; i++) {
		char text[256], *cfg = wpath("bad.cfg"), *err = wpath("bad.err"), *bin = th_build_path("shmlog-collector");
		snprintf(text, sizeof text, "collector: {\n  threads = %s;\n};\n", bad[i]);
		FILE *f = fopen(cfg, "w");
		cr_assert(f);
		fputs(text, f);
		fclose(f);
		char *argv[] = {bin, "--check-config", cfg, NULL};
		int st = th_waitpid_timeout(th_spawn(argv, NULL, err, NULL), 20000);
		char *e = th_read_file(err, NULL);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit 1 for threads = %s", bad[i]);
		cr_assert(e && strstr(e, "bad.cfg:2: collector.threads: "), "one line naming the key: %s", e);
		free(e);
		free(cfg);
		free(err);
		free(bin);
	}
}

/* ---- collector.threads_pin: one CPU per thread ---- */

/* Task tid of pid: its name into comm, its Cpus_allowed_list ("0-1", "1") into list. Returns false if gone. */
static bool task_cpus(pid_t pid, const char *tid, char *comm, char *list)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task/%s/status", (int)pid, tid);
	char *text = th_read_file(path, NULL);
	const char *n = text ? strstr(text, "Name:\t") : NULL, *c = text ? strstr(text, "Cpus_allowed_list:\t") : NULL;
	bool ok = n && c && sscanf(n, "Name:\t%31s", comm) == 1 && sscanf(c, "Cpus_allowed_list:\t%63s", list) == 1;
	free(text);
	return ok;
}

struct pin_probe {
	pid_t pid;
	unsigned want;    /* other threads to wait for */
	bool want_worker; /* wait for an io-wq worker too */
	char loop[64];    /* the main thread's CPU list */
	unsigned others;  /* its other threads, io-wq workers aside */
	unsigned workers; /* the kernel's io-wq workers (iou-wrk-*) */
	char other[4][64], worker[4][64];
};

/* For th_wait_until: read every thread's CPUs; true once there are at least pp->want others (and a worker
 * if pp->want_worker). */
static bool probe_threads(void *arg)
{
	struct pin_probe *pp = arg;
	char path[64], comm[32], list[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pp->pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	pp->others = pp->workers = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' || !task_cpus(pp->pid, e->d_name, comm, list))
			continue;
		if (atoi(e->d_name) == (int)pp->pid)
			snprintf(pp->loop, sizeof pp->loop, "%s", list);
		else if (strncmp(comm, "iou-wrk", 7) == 0 && pp->workers < 4)
			snprintf(pp->worker[pp->workers++], 64, "%s", list);
		else if (strncmp(comm, "iou-", 4) != 0 && pp->others < 4)
			snprintf(pp->other[pp->others++], 64, "%s", list);
	}
	closedir(d);
	return pp->others >= pp->want && (!pp->want_worker || pp->workers > 0);
}

/* Start a collector with threads = 2 and threads_pin as given, writing into logdir, log to it, and read its
 * threads' CPUs into pp. */
static pid_t pinned_collector(bool pin, struct pin_probe *pp, unsigned helpers, const char *logdir)
{
	char *log = th_path(logdir, pin ? "pin.log" : "nopin.log");
	char *cfg = wconfig("collector: { threads = 2; threads_pin = %s; };\n"
			    "writers = ( { type = \"file\"; path = \"%s\"; } );\n", pin ? "true" : "false", log);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *pout = wpath("pin-prod.out");
	char *args[] = {"-t", "1", "-r", "20000", "-p", "block", NULL};
	cr_assert_eq(run_producer(pout, args, NULL), 0);
	struct file_wait lw = {log, 20000};
	cr_assert(th_wait_until(file_has_lines, &lw, 20000), "the records reach %s", log);
	/* the workers of the writes just made stay idle for seconds before they exit: one is there to look at */
	*pp = (struct pin_probe){.pid = c, .want = helpers, .want_worker = pin && helpers};
	cr_assert(th_wait_until(probe_threads, pp, 10000), "the collector's %u helper(s)%s are there", helpers,
		  pp->want_worker ? " and an io-wq worker" : "");
	free(pout);
	free(cfg);
	free(log);
	return c;
}

Test(render, two_threads_each_get_a_cpu_of_their_own)
{
	cpu_set_t mine;
	cr_assert_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
	char all[64], comm[32], last[16] = "", self[32];
	snprintf(self, sizeof self, "%d", (int)getpid());
	cr_assert(task_cpus(getpid(), self, comm, all), "our own CPUs");
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &mine))
			snprintf(last, sizeof last, "%d", cpu);
	bool two = CPU_COUNT(&mine) >= 2; /* else threads is capped to 1: nothing to pin */
	struct pin_probe pp;
	/* the log on tmpfs, which offers io_uring no non-blocking buffered write (through 6.18): its
	 * writes go through io-wq workers, whose CPUs the test then reads (XFS, say, would have none) */
	char *shm = th_mkdtemp(true);
	cr_assert(shm);
	pid_t c = pinned_collector(true, &pp, two ? 1 : 0, shm);
	cr_assert_str_eq(pp.loop, two ? last : all, "the loop on the last CPU we may use (%s)", all);
	for (unsigned i = 0; i < pp.others; i++) {
		cr_assert(strchr(pp.other[i], '-') == NULL && strchr(pp.other[i], ',') == NULL,
			  "a helper on one CPU: %s", pp.other[i]);
		cr_assert_str_neq(pp.other[i], pp.loop, "a helper beside the loop");
	}
	/* a kernel that starts io-wq workers on the CPUs of the thread that made them (6.18 does) puts them
	 * there even without the collector's IORING_REGISTER_IOWQ_AFF; one that starts them on every CPU of
	 * the node (5.x, 6.1) does not: this checks where they are, not how they got there */
	for (unsigned i = 0; i < pp.workers; i++)
		cr_assert_str_eq(pp.worker[i], pp.loop, "an io-wq worker off the loop's CPU");
	stop_collector(c);
	c = pinned_collector(false, &pp, two ? 1 : 0, shm); /* threads_pin = false: the scheduler's */
	cr_assert_str_eq(pp.loop, all);
	for (unsigned i = 0; i < pp.others; i++)
		cr_assert_str_eq(pp.other[i], all);
	stop_collector(c);
	th_rmrf(shm);
	free(shm);
}

/* ---- the gauge: whether the helpers pay, for loop times the test gives ---- */

struct sim {
	struct render_gauge g;
	bool mode;             /* the mode of the next cycle (the gauge's last answer) */
	unsigned long cycles, with; /* cycles run, and with the helpers */
};

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof *s);
	render_gauge_init(&s->g);
}

/* n cycles of records each, at ns_off or ns_on per record as the mode of each is. */
static void sim_run(struct sim *s, unsigned n, uint64_t records, double ns_off, double ns_on, bool behind)
{
	for (unsigned k = 0; k < n; k++) {
		s->cycles++;
		s->with += s->mode;
		double ns = (double)records * (s->mode ? ns_on : ns_off);
		s->mode = render_gauge_cycle(&s->g, records, (uint64_t)ns, behind);
	}
}

TestSuite(gauge);

Test(gauge, the_helpers_are_chosen_when_they_make_the_loop_faster)
{
	struct sim s;
	sim_init(&s);
	sim_run(&s, 2 * RENDER_GAUGE_WINDOW, 2000, 100, 60, true);
	cr_assert(s.g.helpers, "chosen after one window of each");
	sim_run(&s, 20000, 2000, 100, 60, true);
	/* the loop alone is measured again one window in RENDER_GAUGE_GAP_MAX + 1, once the choice holds */
	cr_assert_gt((double)s.with / (double)s.cycles, 0.95, "%lu of %lu cycles with the helpers", s.with, s.cycles);
}

Test(gauge, the_loop_alone_is_kept_when_the_helpers_are_slower)
{
	struct sim s;
	sim_init(&s);
	sim_run(&s, 20000, 2000, 100, 130, true);
	cr_assert_not(s.g.helpers);
	cr_assert_lt((double)s.with / (double)s.cycles, 0.03, "%lu of %lu cycles with the helpers", s.with, s.cycles);
	cr_assert_gt(s.with, 0, "the helpers are measured again now and then");
}

Test(gauge, a_much_slower_mode_is_measured_again_only_after_a_long_wait)
{
	struct sim s;
	sim_init(&s);
	/* a first window alone, then the helpers, twice as slow: their measure ends after RENDER_GAUGE_PROBE cycles,
	 * and the next waits 64 windows, not 2, 4, 8 ... (the doubling alone would spend 5 of these 40 windows
	 * with them) */
	sim_run(&s, 40 * RENDER_GAUGE_WINDOW, 2000, 100, 200, true);
	cr_assert_not(s.g.helpers);
	cr_assert_eq(s.with, RENDER_GAUGE_PROBE, "%lu cycles with the helpers", s.with);
	cr_assert_eq(s.g.gap, RENDER_GAUGE_GAP_MAX);
	/* 10 % slower: a whole window of them, then a wait of 11 windows (0.10 / RENDER_GAUGE_REGRET, and one) */
	sim_init(&s);
	sim_run(&s, 2 * RENDER_GAUGE_WINDOW, 2000, 100, 110, true);
	cr_assert_eq(s.with, RENDER_GAUGE_WINDOW);
	cr_assert_eq(s.g.gap, 11);
	/* a mode hardly slower: the doubling, from 1 */
	sim_init(&s);
	sim_run(&s, 2 * RENDER_GAUGE_WINDOW, 2000, 100, 100.5, true);
	cr_assert_eq(s.g.gap, 2);
}

Test(gauge, a_gain_under_the_margin_keeps_the_loop_alone)
{
	struct sim s;
	sim_init(&s);
	sim_run(&s, 5000, 2000, 100, 100 * RENDER_GAUGE_GAIN + 0.5, true);
	cr_assert_not(s.g.helpers);
	sim_init(&s);
	sim_run(&s, 5000, 2000, 100, 100 * RENDER_GAUGE_GAIN - 0.5, true);
	cr_assert(s.g.helpers);
}

Test(gauge, a_collector_that_keeps_up_or_reads_little_renders_on_the_loop_alone)
{
	struct sim s;
	sim_init(&s);
	sim_run(&s, 5000, 2000, 100, 60, false); /* nothing left in the rings: not behind */
	cr_assert_eq(s.with, 0);
	sim_run(&s, 5000, RENDER_GAUGE_MIN_RECORDS - 1, 100, 60, true); /* behind, but too few to tell */
	cr_assert_eq(s.with, 0);
	cr_assert_eq(s.g.per_record[0], 0, "nothing was measured");
}

Test(gauge, a_change_of_workload_is_followed_within_the_longest_gap)
{
	struct sim s;
	sim_init(&s);
	sim_run(&s, 20000, 2000, 100, 60, true); /* the helpers chosen, the gap at its longest */
	cr_assert(s.g.helpers);
	cr_assert_eq(s.g.gap, RENDER_GAUGE_GAP_MAX);
	unsigned long bound = (RENDER_GAUGE_GAP_MAX + 2) * RENDER_GAUGE_WINDOW, k = 0;
	while (s.g.helpers && k < bound) {
		sim_run(&s, 1, 2000, 100, 150, true); /* now they cost more than they give */
		k++;
	}
	cr_assert_not(s.g.helpers, "still with the helpers after %lu cycles", k);
	/* an idle spell in between: the choice stays, and it goes on from it */
	sim_run(&s, 100, 10, 100, 150, false);
	cr_assert_not(s.g.helpers);
}
