/*
 * test_e2e.c — end-to-end: real shmlog-collector and real producer processes
 * (tests/producer_prog.c), each scenario asserting the exact set of records
 * that comes out.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"
#include "producer_prog.h"
#include "shmlog.h"
#include "shared/segment.h"

TestSuite(e2e, .init = setup, .fini = teardown, .timeout = 240);

Test(e2e, four_threads_block_policy_deliver_every_record_once_in_order)
{
	char *out = wpath("out.log"), *pout = wpath("prod.out");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "4", "-r", "250000", "-p", "block", "-f", "30000", "-C", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *po = th_read_file(pout, NULL);
	cr_assert(strstr(po, "lost=0\n") && strstr(po, "flush=0\n"), "producer said: %s", po);
	cr_assert(th_wait_until(no_segments, NULL, 10000), "segment not removed after close");
	stop_collector(c);
	struct tally ty = {.threads = 4, .records = 250000};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 1000000, "saw %ld of 1000000 records", ty.seen);
	for (int t = 0; t < 4; t++)
		cr_assert_eq(ty.last[t], 249999);
	cr_assert_eq(ty.lost, 0);
	cr_assert_eq(ty.debug, 0, "DEBUG is below the default threshold");
	free(ty.last);
	free(po);
	free(out);
	free(pout);
}

Test(e2e, several_processes_are_collected_side_by_side)
{
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *bin = th_build_path("tests/producer_prog");
	pid_t p[3];
	for (int k = 0; k < 3; k++) {
		char name[16];
		snprintf(name, sizeof name, "proc%d", k);
		char *argv[] = {bin, "-d", dir, "-n", name, "-t", "2", "-r", "20000", "-p", "block", "-f", "20000", "-C", NULL};
		p[k] = th_spawn(argv, "/dev/null", NULL, NULL);
	}
	for (int k = 0; k < 3; k++) {
		int st = th_waitpid_timeout(p[k], 60000);
		cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	stop_collector(c);
	for (int k = 0; k < 3; k++) {
		struct tally ty = {.threads = 2, .records = 20000, .pid = p[k]};
		tally_output(out, &ty);
		cr_assert_eq(ty.seen, 40000, "process %d: %ld records", k, ty.seen);
		free(ty.last);
	}
	free(bin);
	free(out);
}

Test(e2e, drop_policy_without_collector_counts_every_loss)
{
	char *out = wpath("out.log"), *pout = wpath("prod.out");
	/* 4 KiB ring, nobody draining: most records are dropped */
	char *args[] = {"-t", "2", "-r", "3000", "-p", "drop", "-R", "4096", "-f", "100", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *po = th_read_file(pout, NULL);
	long lost = -1;
	cr_assert(sscanf(strstr(po, "lost="), "lost=%ld", &lost) == 1);
	cr_assert(lost > 0, "a 4 KiB ring cannot hold 6000 records");
	cr_assert(strstr(po, "flush=-110\n"), "flush without a collector must time out: %s", po);
	cr_assert_eq(count_segments(), 1, "the segment outlives its process");
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--dir", dir, "--once", NULL};
	pid_t c = th_spawn(argv, out, NULL, NULL);
	st = th_waitpid_timeout(c, 30000);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct tally ty = {.threads = 2, .records = 3000};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen + ty.lost, 6000, "written %ld + lost %ld != logged 6000", ty.seen, ty.lost);
	cr_assert_eq(ty.lost, lost);
	cr_assert_eq(ty.ended, 1, "one notice that the process ended");
	cr_assert_eq(count_segments(), 0, "a dead producer's drained segment is removed");
	free(ty.last);
	free(bin);
	free(po);
	free(out);
	free(pout);
}

Test(e2e, sigterm_drains_everything_committed)
{
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	/* the producer dies by SIGKILL right after logging: no flush, no close */
	char *args[] = {"-t", "3", "-r", "30000", "-p", "block", "-k", NULL};
	int st = run_producer("/dev/null", args, NULL);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	stop_collector(c);
	struct tally ty = {.threads = 3, .records = 30000};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 90000);
	cr_assert_eq(ty.lost, 0);
	free(ty.last);
	free(out);
}

Test(e2e, threads_beyond_max_threads_share_the_overflow_ring)
{
	char *out = wpath("out.log"), *pout = wpath("prod.out");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "6", "-m", "2", "-r", "5000", "-p", "block", "-f", "20000", "-C", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	stop_collector(c);
	struct tally ty = {.threads = 6, .records = 5000};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 30000);
	free(ty.last);
	free(out);
	free(pout);
}

Test(e2e, shmlog_level_env_lowers_the_threshold)
{
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "2", "-r", "10", "-f", "10000", "-C", NULL};
	char *env[] = {"SHMLOG_LEVEL=debug", NULL};
	run_producer("/dev/null", args, env);
	stop_collector(c);
	struct tally ty = {.threads = 2, .records = 10};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 20);
	cr_assert_eq(ty.debug, 2);
	free(ty.last);
	free(out);
}

/* Timestamps in the output, in order, with a merge window wide enough that
 * scheduling on a loaded 2-core machine cannot defeat it. */
Test(e2e, records_of_all_threads_come_out_in_timestamp_order)
{
	char *out = wpath("out.log"), *cfg = wconfig("collector: { merge_window_us = 300000; };\n");
	pid_t c = start_collector(out, NULL, "--config", cfg);
	char *args[] = {"-t", "4", "-r", "2000", "-p", "block", "-f", "20000", "-C", NULL};
	run_producer("/dev/null", args, NULL);
	stop_collector(c);
	char *text = th_read_file(out, NULL);
	char prev[64] = "", *save = NULL;
	long lines = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ts[64];
		cr_assert(sscanf(line, "%63s", ts) == 1 && strlen(ts) == 30 && ts[29] == 'Z', "bad timestamp: %s", line);
		cr_assert(strcmp(prev, ts) <= 0, "%s after %s", ts, prev);
		strcpy(prev, ts);
		lines++;
	}
	cr_assert_eq(lines, 8000);
	free(text);
	free(out);
	free(cfg);
}

Test(e2e, config_file_writer_receives_the_records)
{
	char *out = wpath("stdout.log"), *cfg, *file = wpath("app.log");
	cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; min_level = \"info\"; } );\n", file);
	pid_t c = start_collector(out, NULL, "--config", cfg);
	char *args[] = {"-t", "1", "-r", "100", "-f", "10000", "-C", NULL};
	run_producer("/dev/null", args, NULL);
	stop_collector(c);
	struct tally ty = {.threads = 1, .records = 100};
	tally_output(file, &ty);
	cr_assert_eq(ty.seen, 100);
	size_t len = 99;
	free(th_read_file(out, &len));
	cr_assert_eq(len, 0, "no console writer when the config declares writers");
	free(ty.last);
	free(out);
	free(cfg);
	free(file);
}

Test(e2e, broken_config_is_one_clear_error_line)
{
	char *err = wpath("err"), *cfg = wpath("bad.cfg");
	FILE *f = fopen(cfg, "w");
	fprintf(f, "writers = (\n  { type = \"nosuch\"; }\n);\n");
	fclose(f);
	pid_t c = start_collector(NULL, err, "--config", cfg);
	int st = th_waitpid_timeout(c, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	char *e = th_read_file(err, NULL);
	cr_assert(strstr(e, "bad.cfg:2:") && strstr(e, "nosuch"), "stderr: %s", e);
	cr_assert_eq(strchr(e, '\n'), e + strlen(e) - 1, "exactly one line: %s", e);
	free(e);
	free(err);
	free(cfg);
}

Test(e2e, collector_usage_errors_exit_2_and_help_exits_0)
{
	char *bin = th_build_path("shmlog-collector"), *o = wpath("o"), *e = wpath("e");
	char *bad[] = {bin, "--bogus", NULL};
	int st = th_waitpid_timeout(th_spawn(bad, o, e, NULL), 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	char *help[] = {bin, "--help", NULL};
	st = th_waitpid_timeout(th_spawn(help, o, e, NULL), 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *text = th_read_file(o, NULL);
	cr_assert(strstr(text, "usage: shmlog-collector"));
	free(text);
	free(bin);
	free(o);
	free(e);
}

Test(e2e, a_garbage_segment_is_rejected_and_others_still_served)
{
	char *out = wpath("out.log"), *err = wpath("err.log"), *junk;
	cr_assert(asprintf(&junk, "%s/junk.1.1.shm", dir) > 0);
	FILE *f = fopen(junk, "w");
	for (int i = 0; i < 100000; i++)
		fputc(i * 7 + 3, f);
	fclose(f);
	char *args[] = {"-t", "2", "-r", "1000", "-C", NULL};
	run_producer("/dev/null", args, NULL);
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--dir", dir, "--once", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, out, err, NULL), 30000);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct tally ty = {.threads = 2, .records = 1000};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 2000);
	char *e = th_read_file(err, NULL);
	cr_assert(strstr(e, "rejecting segment") && strstr(e, "junk.1.1.shm") && strstr(e, "bad magic"), "%s", e);
	cr_assert_eq(access(junk, F_OK), 0, "a rejected segment is left on disk");
	free(e);
	free(ty.last);
	free(bin);
	free(junk);
	free(out);
	free(err);
}

Test(e2e, a_segment_truncated_under_the_collector_is_rejected_without_crashing_it)
{
	char *out = wpath("out.log"), *err = wpath("err.log"), *stop = wpath("stop");
	pid_t c = start_collector(out, err, NULL, NULL);
	char *bin = th_build_path("tests/producer_prog");
	char *argv[] = {bin, "-d", dir, "-n", "victim", "-t", "1", "-r", "10", "-W", stop, NULL};
	pid_t victim = th_spawn(argv, "/dev/null", NULL, NULL);
	struct file_wait l10 = {out, 10};
	cr_assert(th_wait_until(file_has_lines, &l10, 10000), "the victim's records arrive");
	/* the producer (or anyone with write access) shrinks its file under the mapping */
	char *seg = NULL;
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strstr(e->d_name, "victim") && strstr(e->d_name, ".shm"))
			cr_assert(asprintf(&seg, "%s/%s", dir, e->d_name) > 0);
	closedir(d);
	cr_assert(seg);
	cr_assert_eq(truncate(seg, 0), 0);
	/* another producer is still served */
	char *args[] = {"-n", "other", "-t", "1", "-r", "20", "-f", "10000", "-C", NULL};
	int st = run_producer("/dev/null", args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct file_wait l30 = {out, 30};
	cr_assert(th_wait_until(file_has_lines, &l30, 10000));
	close(open(stop, O_CREAT | O_WRONLY, 0600));
	th_waitpid_timeout(victim, 10000);
	stop_collector(c); /* asserts a clean exit 0: the collector survived */
	char *e2 = th_read_file(err, NULL);
	cr_assert(strstr(e2, "victim") && strstr(e2, "truncated"), "stderr: %s", e2);
	free(e2);
	free(seg);
	free(bin);
	free(out);
	free(err);
	free(stop);
}

/* Occurrences of s in text. */
static int count_of(const char *text, const char *s)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, s)); p++)
		n++;
	return n;
}

/* Run producer_prog (one thread, n records, flushed and closed) and assert it delivered them all. */
static void produce_and_flush(const char *name, const char *n)
{
	char *pout = wpath("prod.out");
	char *args[] = {"-n", (char *)name, "-t", "1", "-r", (char *)n, "-f", "10000", "-C", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *po = th_read_file(pout, NULL);
	cr_assert(strstr(po, "lost=0\n") && strstr(po, "flush=0\n"), "producer %s said: %s", name, po);
	free(po);
	free(pout);
}

/* The collector on dir rescanning every rescan_ms, and the output and stderr it wrote when stopped. */
struct rescan_run {
	char *out, *err, *cfg;
	pid_t pid;
};

static void rescan_start(struct rescan_run *r, int rescan_ms)
{
	r->out = wpath("out.log");
	r->err = wpath("err.log");
	r->cfg = wconfig("collector: { rescan_ms = %d; };\n", rescan_ms);
	r->pid = start_collector(r->out, r->err, "--config", r->cfg);
}

/* Stop the collector; returns its output (malloc'd). Its stderr goes to *err
 * (malloc'd) when err is not NULL, else it is asserted empty. */
static char *rescan_stop(struct rescan_run *r, char **err)
{
	stop_collector(r->pid);
	char *o = th_read_file(r->out, NULL), *e = th_read_file(r->err, NULL);
	cr_assert(o && e);
	if (err) {
		*err = e;
	} else {
		cr_assert_str_empty(e);
		free(e);
	}
	free(r->out);
	free(r->err);
	free(r->cfg);
	return o;
}

Test(e2e, a_removed_segment_directory_is_made_again_and_watched_again)
{
	/* no rescan for an hour: only inotify can tell the collector about the
	 * removal and then about the new producer */
	struct rescan_run r;
	rescan_start(&r, 3600000);
	produce_and_flush("first", "10");
	cr_assert(th_wait_until(no_segments, NULL, 10000), "the first segment was not removed");
	th_rmrf(dir);
	cr_assert(th_wait_until(is_dir, dir, 10000), "the collector did not make its directory again");
	produce_and_flush("second", "10");
	char *o = rescan_stop(&r, NULL);
	cr_assert(count_of(o, " first[") == 10 && count_of(o, " second[") == 10, "%s", o);
	free(o);
}

Test(e2e, a_segment_directory_removed_under_an_attached_producer_is_made_again_at_the_next_rescan)
{
	/* a mapped segment keeps the removed directory alive, and inotify quiet:
	 * the rescan sees that the path now leads nowhere */
	struct rescan_run r;
	rescan_start(&r, 100);
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .name = "first", .max_threads = 2};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	SHMLOG_INFO(lg, "before removal %d", 1);
	cr_assert_eq(shmlog_flush(lg, 10000), 0, "the first producer is attached");
	th_rmrf(dir);
	cr_assert(th_wait_until(is_dir, dir, 10000), "the collector did not make its directory again");
	/* the attached producer, whose segment is gone from the directory, is still drained */
	SHMLOG_INFO(lg, "after removal %d", 2);
	cr_assert_eq(shmlog_flush(lg, 10000), 0);
	produce_and_flush("second", "10");
	shmlog_close(lg);
	char *out = rescan_stop(&r, NULL);
	cr_assert(strstr(out, "before removal 1\n") && strstr(out, "after removal 2\n"), "%s", out);
	cr_assert_eq(count_of(out, " second["), 10, "%s", out);
	free(out);
}

Test(e2e, a_segment_directory_given_as_a_file_is_one_clear_error_line)
{
	char *err = wpath("err");
	cr_assert_eq(rmdir(dir), 0);
	close(open(dir, O_CREAT | O_WRONLY, 0600));
	pid_t c = start_collector(NULL, err, NULL, NULL);
	int st = th_waitpid_timeout(c, 10000);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
	char *e = th_read_file(err, NULL);
	cr_assert(strstr(e, dir) && strstr(e, "Not a directory"), "stderr: %s", e);
	cr_assert_eq(strchr(e, '\n'), e + strlen(e) - 1, "exactly one line: %s", e);
	free(e);
	free(err);
}

struct file_text {
	const char *path, *text;
};

static bool file_contains(void *arg)
{
	const struct file_text *ft = arg;
	char *t = th_read_file(ft->path, NULL);
	bool found = t && strstr(t, ft->text);
	free(t);
	return found;
}

Test(e2e, a_segment_directory_that_cannot_be_made_again_is_reported_once_and_made_when_it_can)
{
	/* the directory's parent swapped with a file in one step: the rescan
	 * finds the path leading nowhere and cannot make the directory again */
	char *parent = wpath("parent"), *swap = wpath("swap");
	cr_assert_eq(mkdir(parent, 0700), 0);
	th_rmrf(dir);
	free(dir);
	cr_assert(asprintf(&dir, "%s/seg", parent) > 0);
	cr_assert_eq(mkdir(dir, 0700), 0);
	close(open(swap, O_CREAT | O_WRONLY, 0600));
	struct rescan_run r;
	rescan_start(&r, 100);
	produce_and_flush("first", "10"); /* the collector is up */
	cr_assert(th_wait_until(no_segments, NULL, 10000), "the first segment was not removed");
	cr_assert_eq(renameat2(AT_FDCWD, swap, AT_FDCWD, parent, RENAME_EXCHANGE), 0);
	struct file_text warned = {r.err, "cannot be made again"};
	cr_assert(th_wait_until(file_contains, &warned, 10000), "no warning");
	cr_assert_eq(unlink(parent), 0);
	cr_assert(th_wait_until(is_dir, dir, 10000), "the collector did not make its directory once it could");
	produce_and_flush("second", "10");
	char *e, *out = rescan_stop(&r, &e);
	cr_assert(count_of(out, " first[") == 10 && count_of(out, " second[") == 10, "%s", out);
	cr_assert(strstr(e, dir) && strstr(e, "Not a directory"), "stderr: %s", e);
	cr_assert_eq(count_of(e, "\n"), 1, "said once: %s", e);
	free(e);
	free(out);
	free(parent);
	free(swap);
}

/* ------------------------------------------- one reader, two programs */

/* The one segment file in dir; returns a malloc'd path. */
static char *only_segment(void)
{
	DIR *d = opendir(dir);
	cr_assert(d);
	char *path = NULL;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".shm") && e->d_name[0] != '.') {
			cr_assert(!path, "more than one segment");
			cr_assert(asprintf(&path, "%s/%s", dir, e->d_name) > 0);
		}
	closedir(d);
	cr_assert(path, "no segment in %s", dir);
	return path;
}

/* Stamp record k of every ring with base + 1000 k: the rings' records tie. Returns the rings that hold records. */
static int tie_every_ring(const char *path)
{
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, path, true, err, sizeof err), 0, "%s", err);
	cr_assert(!s.tsc, "SHMLOG_CLOCK=realtime was not taken");
	int used = 0;
	for (uint32_t i = 0; i < s.ring_count; i++) {
		uint64_t pos = atomic_load(&seg_ring(&s, i)->head), tail = atomic_load(&seg_ring(&s, i)->tail);
		struct seg_rec r;
		const char *why;
		uint64_t ts = 1767225600000000000ull; /* 2026-01-01 */
		used += tail != pos;
		while (seg_ring_next(&s, i, &pos, tail, &r, &why) == 1) {
			memcpy((uint8_t *)r.args - SHMLOG_RECORD_HEADER_BYTES + 8, &ts, 8);
			ts += 1000;
			pos += r.size;
		}
	}
	seg_close(&s);
	return used;
}

/* The lines of text without their timestamp when they are the reader's end notices (stamped now). */
static char *unstamp_notices(const char *text)
{
	char *out = calloc(1, strlen(text) + 1), *w = out;
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) + 1 : strlen(l);
		const char *sp = memchr(l, ' ', len);
		bool notice = memmem(l, len, "[shmlog] process ", 17) != NULL;
		const char *from = notice && sp ? sp : l;
		memcpy(w, from, len - (size_t)(from - l));
		w += len - (size_t)(from - l);
		l += len;
	}
	return out;
}

Test(e2e, shmlog_read_and_the_collector_print_the_same_records_of_a_killed_producer_equal_stamps_included)
{
	char *args[] = {"-t", "3", "-r", "400", "-k", NULL}, *env[] = {"SHMLOG_CLOCK=realtime", NULL};
	int st = run_producer("/dev/null", args, env);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	char *seg = only_segment();
	cr_assert_eq(tie_every_ring(seg), 3, "three rings share every stamp");

	char *rout = wpath("read.out"), *rerr = wpath("read.err"), *tool = th_build_path("shmlog");
	char *rargv[] = {tool, "read", seg, NULL};
	st = th_waitpid_timeout(th_spawn(rargv, rout, rerr, NULL), 30000);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *cout = wpath("collector.out"), *cerr = wpath("collector.err"), *bin = th_build_path("shmlog-collector");
	char *cargv[] = {bin, "--dir", dir, "--once", NULL};
	st = th_waitpid_timeout(th_spawn(cargv, cout, cerr, NULL), 30000);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	char *a = th_read_file(rout, NULL), *b = th_read_file(cout, NULL);
	cr_assert(a && b);
	struct tally ty = {.threads = 3, .records = 400};
	tally_output(rout, &ty);
	cr_assert_eq(ty.seen, 1200);
	cr_assert_eq(ty.ended, 1, "both tell how the producer ended");
	char *ua = unstamp_notices(a), *ub = unstamp_notices(b);
	cr_assert_str_eq(ua, ub, "shmlog read and the collector differ:\n--- read\n%s\n--- collector\n%s", a, b);
	free(ua);
	free(ub);
	free(a);
	free(b);
	free(ty.last);
	free(seg);
	free(rout);
	free(rerr);
	free(tool);
	free(cout);
	free(cerr);
	free(bin);
}
