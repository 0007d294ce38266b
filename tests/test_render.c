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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
