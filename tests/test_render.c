/*
 * test_render.c — collector.threads: the plain line writers' lines rendered
 * on several threads (collector/render.c) are the very bytes one thread
 * writes. The same segments (copied before any collector read them) are
 * drained once with threads = 1 and once with threads = 2: records of four
 * threads, records with fields of every type, long and escaped messages;
 * writers of both formats, one that rotates (rendered at once, not
 * deferred), routes with a regex (messages rendered before they are
 * deferred) and a catch-all route. Every file must be byte for byte the
 * same. Also the key's bounds.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

/* The config of one run: its files named after tag, threads as given. */
static char *config(const char *tag, unsigned threads)
{
	char *buf = malloc(4096);
	cr_assert(buf);
	snprintf(buf, 4096,
		 "collector: { threads = %u; };\n"
		 "writers = ( { name = \"text\"; type = \"file\"; path = \"%s/%s.log\"; },\n"
		 "  { name = \"json\"; type = \"file\"; format = \"json\"; path = \"%s/%s.json\"; },\n"
		 "  { name = \"rot\"; type = \"file\"; path = \"%s/%s.rot\"; max_bytes = 65536; backups = 1000; } );\n"
		 "routes = ( { message = \"(logged|slow|t=1 )\"; to = [\"text\", \"json\"]; },\n"
		 "  { to = [\"text\", \"json\", \"rot\"]; } );\n",
		 threads, work, tag, work, tag, work, tag);
	return buf;
}

/* Assert that the files work/A.SUFFIX and work/B.SUFFIX hold the same bytes, and some. */
static void assert_same(const char *suffix)
{
	char a[64], b[64];
	snprintf(a, sizeof a, "one.%s", suffix);
	snprintf(b, sizeof b, "two.%s", suffix);
	char *pa = wpath(a), *pb = wpath(b);
	size_t la = 0, lb = 0;
	char *ta = th_read_file(pa, &la), *tb = th_read_file(pb, &lb);
	cr_assert(ta && tb, "%s or %s missing", pa, pb);
	cr_assert(la > 0 && la == lb && memcmp(ta, tb, la) == 0, "%s: %zu bytes with 1 thread, %zu with 2", suffix,
		  la, lb);
	free(ta);
	free(tb);
	free(pa);
	free(pb);
}

Test(render, two_threads_write_the_very_bytes_one_thread_writes)
{
	char *env[] = {"SHMLOG_CLOCK=realtime", NULL}; /* each collector's TSC calibration would differ */
	char *pout = wpath("prod.out"), *copy = wpath("segs-copy");
	char *args[] = {"-t", "4", "-r", "20000", "-p", "block", "-R", "8388608", "-C", NULL};
	cr_assert_eq(run_producer(pout, args, env), 0);
	char *seed_bin = th_build_path("tests/seed_prog");
	char *fields[] = {seed_bin, dir, "fields", NULL}, *syslog[] = {seed_bin, dir, "syslog", NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(fields, NULL, NULL, env), 20000), 0);
	cr_assert_eq(th_waitpid_timeout(th_spawn(syslog, NULL, NULL, env), 20000), 0);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", dir, copy);
	cr_assert_eq(system(cmd), 0);
	char *c1 = config("one", 1), *c2 = config("two", 2);
	free(collect_once(dir, c1, "one"));
	free(collect_once(copy, c2, "two"));
	assert_same("log");
	assert_same("json");
	assert_same("rot");
	assert_same("rot.1");
	free(c1);
	free(c2);
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
