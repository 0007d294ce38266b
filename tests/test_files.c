/*
 * test_files.c — the file writers end to end: a real collector, the test
 * producer, rotation while records flow (nothing lost, nothing repeated,
 * no file past max_bytes, no record split between files).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"

TestSuite(files, .init = setup, .fini = teardown, .timeout = 240);

static bool path_exists(void *path)
{
	return access(path, F_OK) == 0;
}

/* Append rotated file path (or, if only that exists, path.zst decompressed by zstd -d) to the open
 * file all; assert that it ends a line. Returns its (decompressed) size. */
static long append_file(FILE *all, const char *path)
{
	size_t len = 0;
	char *text = th_read_file(path, &len), zst[4096], *scratch = wpath("unzstd.out");
	snprintf(zst, sizeof zst, "%s.zst", path);
	if (!text && (text = th_zstd_d(zst, scratch)))
		len = strlen(text);
	cr_assert(text, "%s is missing, and no %s decompresses", path, zst);
	cr_assert(len == 0 || text[len - 1] == '\n', "%s ends inside a record", path);
	fwrite(text, 1, len, all);
	free(text);
	free(scratch);
	return (long)len;
}

/* Concatenate app.N .. app.1 (plain or .zst), app into all_path, asserting each is at most max
 * bytes. Returns the number of rotated files. */
static int join_rotated(const char *app, const char *all_path, long max)
{
	int n = 0;
	char p[4096], z[4096];
	for (;;) {
		snprintf(p, sizeof p, "%s.%d", app, n + 1);
		snprintf(z, sizeof z, "%s.%d.zst", app, n + 1);
		if (!path_exists(p) && !path_exists(z))
			break;
		n++;
	}
	FILE *all = fopen(all_path, "w");
	cr_assert(all);
	for (int k = n; k >= 1; k--) {
		snprintf(p, sizeof p, "%s.%d", app, k);
		cr_assert_leq(append_file(all, p), max, "%s is bigger than max_bytes", p);
	}
	cr_assert_leq(append_file(all, app), max);
	fclose(all);
	return n;
}

static bool all_compressed(void *arg);

/*
 * A collector with one file writer at work/app.log rotating at max_bytes (and the keys more),
 * 4 threads logging records each: once everything is consumed (and, with zstd, compressed),
 * assert that the rotated files (at least min_files, none bigger than max_bytes) and the live one
 * hold every record exactly once, in order. Returns nothing.
 */
static void rotate_under_load(long max_bytes, const char *more, long records, int min_files)
{
	char *app = wpath("app.log"), *all = wpath("all.log"), *pout = wpath("prod.out"), *r = NULL;
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; max_bytes = %ld; backups = 100000; %s } );\n",
			    app, max_bytes, more);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	cr_assert(asprintf(&r, "%ld", records) > 0);
	/* a blocked call waits up to 60 s, not the default 1 s: what is checked is the rotation, and a
	 * collector held up past a second (a loaded machine, a rotation's fdatasync) would drop records
	 * (said in "N records lost (ring full)" lines, but not all there) */
	char *args[] = {"-t", "4", "-r", r, "-p", "block", "-T", "60000", "-f", "60000", "-C", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert(th_wait_until(no_segments, NULL, 30000), "segment not removed after close");
	if (strstr(more, "zstd"))
		cr_assert(th_wait_until(all_compressed, app, 120000), "rotated files still uncompressed");
	stop_collector(c);
	int n = join_rotated(app, all, max_bytes);
	cr_assert_geq(n, min_files, "only %d rotations", n);
	assert_every_record(all, 4, records);
	free(r);
	free(app);
	free(all);
	free(pout);
	free(cfg);
}

Test(files, size_rotation_while_four_threads_log_loses_and_repeats_nothing)
{
	rotate_under_load(262144, "", 50000, 30);
}

/*
 * One plain file writer at work/app.log under logrotate with directives while a producer logs
 * (logrotate_while_logging); assert that logrotate made app.log.1 and that later records went to a new
 * app.log. Returns the malloc'd path of app.log.1 and app.log joined.
 */
static char *rotate_plain_while_logging(const char *directives, bool hup)
{
	char *app = wpath("app.log"), *joined = wpath("all.log"), *pout = wpath("prod.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", app);
	logrotate_while_logging(cfg, app, directives, hup, pout);
	cr_assert_eq(join_rotated(app, joined, INT32_MAX), 1, "logrotate made app.log.1");
	struct file_wait later = {app, 1};
	cr_assert(file_has_lines(&later), "records after the rotation went to the new file");
	free(cfg);
	free(app);
	free(pout);
	return joined;
}

Test(files, logrotate_create_and_sighup_while_a_producer_logs_lose_nothing)
{
	char *all = rotate_plain_while_logging("create 0640\nrotate 5", true);
	assert_every_record(all, 2, 40000);
	free(all);
}

Test(files, logrotate_copytruncate_while_a_producer_logs_repeats_and_tears_nothing)
{
	char *all = rotate_plain_while_logging("copytruncate\nrotate 5", false);
	/* in order, each at most once, whole lines; what was written between logrotate's copy and its
	 * truncation is lost (docs/files.md) */
	struct tally ty = {.threads = 2, .records = 40000};
	tally_output(all, &ty);
	cr_assert_leq(ty.seen, 80000);
	cr_assert_geq(ty.seen, 40000, "saw only %ld of 80000 records", ty.seen);
	cr_assert(ty.last[0] == 39999 && ty.last[1] == 39999, "the last records are in the truncated file");
	free(ty.last);
	free(all);
}

Test(files, a_file_renamed_away_is_written_on_until_its_path_is_back)
{
	char *app = wpath("app.log"), *moved = wpath("app.log.1");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", app);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *args[] = {"-t", "1", "-r", "10", "-f", "10000", "-C", NULL};
	run_producer("/dev/null", args, NULL);
	struct file_wait first = {app, 10};
	cr_assert(th_wait_until(file_has_lines, &first, 10000));
	cr_assert_eq(rename(app, moved), 0, "as logrotate does before its create");
	run_producer("/dev/null", args, NULL);
	struct file_wait both = {moved, 20};
	cr_assert(th_wait_until(file_has_lines, &both, 10000), "the records go on into the renamed file");
	cr_assert(!path_exists(app), "the collector does not take logrotate's path");
	FILE *f = fopen(app, "w"); /* logrotate's create */
	cr_assert(f);
	fclose(f);
	run_producer("/dev/null", args, NULL);
	struct file_wait later = {app, 10};
	cr_assert(th_wait_until(file_has_lines, &later, 10000), "once the path is back, records go there");
	stop_collector(c);
	char *text = th_read_file(moved, NULL);
	long lines = 0;
	for (char *q = text; q && *q; q++)
		lines += *q == '\n';
	cr_assert_eq(lines, 20, "the renamed file holds the 20 records before the path was back");
	free(text);
	free(app);
	free(moved);
	free(cfg);
}

/* For th_wait_until: the compressor is done with work/app.log.1. */
static bool compressed(void *arg)
{
	(void)arg;
	char *plain = wpath("app.log.1"), *zst = wpath("app.log.1.zst"), *tmp = wpath("app.log.1.zst.tmp");
	bool done = access(plain, F_OK) != 0 && access(zst, F_OK) == 0 && access(tmp, F_OK) != 0;
	free(plain);
	free(zst);
	free(tmp);
	return done;
}

Test(files, a_collector_killed_while_compressing_leaves_the_file_and_the_next_one_compresses_it)
{
	char *app = wpath("app.log"), *rotated = wpath("app.log.1"), *tmp = wpath("app.log.1.zst.tmp");
	char *zst = wpath("app.log.1.zst"), *scratch = wpath("unzstd.out");
	FILE *f = fopen(rotated, "w");
	cr_assert(f);
	for (unsigned i = 0; i < 200000; i++) /* 8 MB: seconds at level 19 */
		fprintf(f, "rotated line %u %08x %08x\n", i, i * 2654435761u, i * 40503u);
	fclose(f);
	char *want = th_read_file(rotated, NULL);
	const char *fmt = "writers = ( { type = \"file\"; path = \"%s\"; max_bytes = 1048576;"
			  " compress = \"zstd\"; compress_level = %d; } );\n";
	char *cfg = wconfig(fmt, app, 19);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	cr_assert(th_wait_until(path_exists, tmp, 20000), "the restart did not queue app.log.1");
	cr_assert_eq(kill(c, SIGKILL), 0);
	cr_assert_neq(th_waitpid_timeout(c, 10000), -1);
	cr_assert(access(rotated, F_OK) == 0, "killed in step 1: the file is still there");
	cr_assert(access(zst, F_OK) != 0, "and no .zst, partial or not");
	free(cfg);
	cfg = wconfig(fmt, app, 3);
	c = start_collector("/dev/null", NULL, "--config", cfg);
	cr_assert(th_wait_until(compressed, NULL, 30000), "the next collector did not redo it");
	stop_collector(c);
	char *got = th_zstd_d(zst, scratch);
	cr_assert(got && strcmp(got, want) == 0, "zstd -d gives back exactly the bytes");
	free(got);
	free(want);
	free(cfg);
	free(app);
	free(rotated);
	free(tmp);
	free(zst);
	free(scratch);
}

/* For th_wait_until: no rotated file of app (arg) is waiting for compression. */
static bool all_compressed(void *arg)
{
	const char *app = arg;
	char p[4096];
	for (int k = 1; k < 100000; k++) {
		snprintf(p, sizeof p, "%s.%d", app, k);
		if (path_exists(p))
			return false;
		snprintf(p, sizeof p, "%s.%d.zst", app, k);
		if (!path_exists(p))
			return true;
	}
	return true;
}

Test(files, a_million_records_through_1_mib_files_with_zstd_are_all_there_once_in_order)
{
	rotate_under_load(1048576, "compress = \"zstd\";", 250000, 50);
}

Test(files, a_full_disk_under_a_rotating_compressing_writer_loses_nothing_and_recovers_by_itself)
{
	char *mnt = wpath("mnt"), *err = wpath("c.err"), *pout = wpath("prod.out"), *all = wpath("all.log");
	cr_assert_eq(mkdir(mnt, 0755), 0);
	if (!th_mount_tmpfs(mnt, "1m"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	char *app = th_path(mnt, "app.log"), *filler = th_path(mnt, "filler");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; max_bytes = 32768; backups = 1000;"
			    " compress = \"zstd\"; } );\n", app);
	pid_t c = full_disk_then_space(cfg, err, filler, pout);
	cr_assert(th_wait_until(all_compressed, app, 20000), "and compresses what it rotated");
	stop_collector(c);
	cr_assert_geq(join_rotated(app, all, 32768), 5);
	struct tally ty = {.threads = 2, .records = 2000, .allow_other = true};
	tally_output(all, &ty);
	cr_assert_eq(ty.seen, 4000, "every record exactly once, in order");
	cr_assert_eq(ty.ended, 1, "and the end notice");
	free(ty.last);
	th_umount(mnt);
	free(mnt);
	free(err);
	free(pout);
	free(all);
	free(app);
	free(filler);
	free(cfg);
}

/* A collector killed mid-write leaves a line without its end: the next start ends it first, so that its
 * records are lines of their own (the torn record, not consumed, comes again among them). */
Test(files, a_line_torn_by_a_killed_collector_is_ended_before_the_next_starts_records)
{
	char *log = wpath("app.log"), *err = wpath("err.log"), *pout = wpath("prod.out");
	const char *before = "2026-12-01T00:00:00.000000000Z INFO prod[1/1]: whole\n2026-12-01T00:00:00.1";
	FILE *f = fopen(log, "w");
	cr_assert(f && fputs(before, f) >= 0 && fclose(f) == 0);
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", log);
	pid_t c = start_collector("/dev/null", err, "--config", cfg);
	char *args[] = {"-t", "1", "-r", "10", "-f", "10000", "-C", NULL};
	cr_assert_eq(run_producer(pout, args, NULL), 0);
	struct file_wait w = {log, 12};
	cr_assert(th_wait_until(file_has_lines, &w, 20000), "the torn line ended, then every record");
	stop_collector(c);
	size_t len;
	char *text = th_read_file(log, &len);
	cr_assert(text && strncmp(text, before, strlen(before)) == 0 && text[strlen(before)] == '\n',
		  "the torn line is kept and ended: %s", text);
	char *after = wpath("after.log"); /* the lines of this start */
	f = fopen(after, "w");
	cr_assert(f && fputs(text + strlen(before) + 1, f) >= 0 && fclose(f) == 0);
	struct tally ty = {.threads = 1, .records = 10};
	tally_output(after, &ty);
	cr_assert_eq(ty.seen, 10, "every record a line of its own");
	free(after);
	cr_assert_eq(count_in_file(err, "ended inside a line"), 1, "said once");
	free(ty.last);
	free(text);
	free(cfg);
	free(log);
	free(err);
	free(pout);
}
