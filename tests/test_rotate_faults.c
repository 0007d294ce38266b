/*
 * test_rotate_faults.c — file and binary writers when the file system says
 * no, through the real output module and a real io_uring: a rotation whose
 * new file cannot be created (no descriptor left), a compression job under
 * way when a rotation shifts its file (a relative path), a reopen into an
 * empty file, and a file removed whose path cannot be created again. In
 * each, every record ends up once in the files, or waits in the writer
 * until it can be written.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/output.h"
#include "tests/helpers.h"
#include "tests/writer_util.h"

TestSuite(rotate_faults, .init = wu_setup, .fini = wu_teardown);

/* Give the output record number i ("rec 0000i") at ts seconds. */
static void give_at(struct output *o, unsigned i, uint64_t ts)
{
	char msg[32];
	snprintf(msg, sizeof msg, "rec %05u", i);
	struct text_record r = wu_rec(3, msg, ts * 1000000000u);
	cr_assert_eq(output_add(o, &r, NULL), 1u);
}

static void give(struct output *o, unsigned i)
{
	give_at(o, i, 1);
}

static size_t line_len(void)
{
	struct text_record r = wu_rec(3, "rec 00000", 1000000000u);
	struct sbuf b = {0};
	text_append(&b, &r, TEXT_FORMAT_TEXT, false);
	size_t n = b.len;
	sbuf_free(&b);
	return n;
}

static void open_writer(struct output *o, const char *type, const char *path, const char *keys)
{
	char list[1024];
	snprintf(list, sizeof list, "( { type = \"%s\"; path = \"%s\"; %s } )", type, path, keys);
	wu_output_from(o, wu_dir, list);
}

/* Occurrences of needle in text. */
static int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Assert that text holds records first..last once each, in order. */
static void holds_each_once(const char *text, unsigned first, unsigned last, const char *what)
{
	const char *at = text;
	for (unsigned i = first; i <= last; i++) {
		char m[32];
		snprintf(m, sizeof m, "rec %05u", i);
		cr_assert_eq(count(text, m), 1, "%s: %s is there %d times", what, m, count(text, m));
		const char *p = strstr(text, m);
		cr_assert(p >= at, "%s: %s is out of order", what, m);
		at = p;
	}
}

/* What a shell command prints (popen), malloc'd. */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	cr_assert(p, "%s", cmd);
	size_t cap = 1 << 16, len = 0, k;
	char *buf = malloc(cap);
	while ((k = fread(buf + len, 1, cap - len - 1, p)) > 0)
		if ((len += k) + 1 == cap)
			cr_assert(buf = realloc(buf, cap *= 2));
	pclose(p);
	buf[len] = '\0';
	return buf;
}

/* Every rotated file of app.log, oldest first, decompressed, then app.log (bash: ls -v). */
static char *all_files(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "cd %s && for f in $(ls -rv app.log.* 2>/dev/null); do case $f in *.zst) zstd -qdc $f;; *.tmp) ;; "
		 "*) cat $f;; esac; done; cat app.log 2>/dev/null",
		 wu_dir);
	return run(cmd);
}

/* Send stderr to wu_dir/stderr; returns the old one to give back to restore_stderr. */
static int capture_stderr(void)
{
	char *err = wu_path("stderr");
	int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(2);
	cr_assert(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);
	free(err);
	return saved;
}

/* Give stderr back; returns what was written to it meanwhile (malloc'd). */
static char *restore_stderr(int saved)
{
	dup2(saved, 2);
	close(saved);
	char *err = wu_path("stderr"), *text = th_read_file(err, NULL);
	free(err);
	return text ? text : strdup("");
}

struct jobs_done {
	const char *dir;
};

/* For th_wait_until: no file of the directory is waiting for compression (no plain app.log.N, no .tmp). */
static bool compressed(void *arg)
{
	const struct jobs_done *j = arg;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cd %s && ls app.log.* 2>/dev/null | grep -v '\\.zst$' | wc -l", j->dir);
	char *out = run(cmd);
	bool done = atoi(out) == 0;
	free(out);
	return done;
}

Test(rotate_faults, a_new_file_that_cannot_be_created_leaves_the_rotation_undone_and_loses_nothing)
{
	struct output o;
	char keys[128];
	char *path = wu_path("app.log");
	snprintf(keys, sizeof keys, "max_bytes = %zu; compress = \"zstd\"; backups = 100;", 3 * line_len());
	open_writer(&o, "file", path, keys);
	unsigned n = 0;
	for (; n < 3; n++)
		give(&o, n);
	output_write(&o, &wu_ring);
	give(&o, n++); /* a cut before it */
	int saved = capture_stderr(), probe = dup(0);
	close(probe);
	struct rlimit old, lim;
	getrlimit(RLIMIT_NOFILE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)probe; /* not one more descriptor */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	output_write(&o, &wu_ring);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	char *err = restore_stderr(saved);
	cr_assert_eq(count(err, "cannot rotate"), 1, "%s", err);
	cr_assert_eq(count(err, "(its new file cannot be created): Too many open files"), 1, "%s", err);
	cr_assert(wu_exists("app.log") && !wu_exists("app.log.1"), "nothing was renamed");
	cr_assert_eq(o.w[0].done, o.w[0].taken, "the record went on into the live file");
	for (; n < 20; n++) {
		give(&o, n);
		output_write(&o, &wu_ring);
	}
	cr_assert_eq(o.w[0].done, o.w[0].taken);
	struct jobs_done j = {wu_dir};
	cr_assert(th_wait_until(compressed, &j, 20000), "every rotated file compressed");
	output_close(&o);
	char *all = all_files();
	holds_each_once(all, 0, n - 1, "all files");
	free(all);
	free(err);
	free(path);
}

struct tmp_there {
	const char *path;
};

static bool tmp_there(void *arg)
{
	return access(((struct tmp_there *)arg)->path, F_OK) == 0;
}

/* A relative path: the job queued at open for a rotated file left there is under way when the
 * next rotation shifts that file; the job follows it, and the new rotated file is kept. */
Test(rotate_faults, a_compression_under_way_follows_its_file_through_a_shift_with_a_relative_path,
     .timeout = 120)
{
	cr_assert_eq(chdir(wu_dir), 0);
	FILE *f = fopen("app.log.1", "w");
	cr_assert(f);
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 100000; i++) { /* enough that level 19 takes a while */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		fprintf(f, "old line %08d %016llx\n", i, (unsigned long long)x);
	}
	fclose(f);
	struct output o;
	char keys[128];
	snprintf(keys, sizeof keys, "max_bytes = %zu; compress = \"zstd\"; compress_level = 19;", 3 * line_len());
	open_writer(&o, "file", "app.log", keys);
	struct tmp_there t = {"app.log.1.zst.tmp"};
	cr_assert(th_wait_until(tmp_there, &t, 20000), "the job for app.log.1 is under way");
	unsigned n = 0;
	for (; n < 4; n++) /* a cut before the last */
		give(&o, n);
	output_write(&o, &wu_ring);
	output_write(&o, &wu_ring);
	cr_assert(access("app.log.2", F_OK) == 0 || access("app.log.2.zst", F_OK) == 0, "the old file shifted");
	struct jobs_done j = {"."};
	cr_assert(th_wait_until(compressed, &j, 90000), "every rotated file compressed");
	output_close(&o);
	char *all = all_files();
	holds_each_once(all, 0, n - 1, "all files");
	cr_assert_eq(count(all, "old line 00099999 "), 1, "the old file is whole");
	free(all);
}

/* A cut due while the path is renamed away (logrotate between its rename and its create): the
 * backups are not shifted for a rename that cannot happen, and the records go on into the file. */
Test(rotate_faults, a_cut_while_the_path_is_renamed_away_shifts_no_backup)
{
	char *path = wu_path("app.log"), *away = wu_path("app.log-away"), *one = wu_path("app.log.1");
	FILE *f = fopen(one, "w");
	cr_assert(f && fputs("an older backup\n", f) >= 0 && fclose(f) == 0);
	struct output o;
	char keys[64];
	snprintf(keys, sizeof keys, "max_bytes = %zu;", 2 * line_len());
	open_writer(&o, "file", path, keys);
	give(&o, 0);
	output_write(&o, &wu_ring);
	cr_assert_eq(rename(path, away), 0);
	int saved = capture_stderr();
	for (unsigned n = 1; n < 6; n++) {
		give(&o, n);
		output_write(&o, &wu_ring);
	}
	char *err = restore_stderr(saved);
	cr_assert_eq(o.w[0].done, o.w[0].taken);
	cr_assert(!wu_exists("app.log.2"), "a backup was shifted: %s", err);
	char *old = th_read_file(one, NULL), *text = th_read_file(away, NULL);
	cr_assert(old && !strcmp(old, "an older backup\n"), "app.log.1 is the older backup");
	cr_assert(text);
	holds_each_once(text, 0, 5, "the file renamed away");
	output_close(&o);
	free(text);
	free(old);
	free(err);
	free(one);
	free(away);
	free(path);
}

/* A reopen (logrotate's create, then SIGHUP) into an empty file: the file is named by the interval
 * of the first record it gets, not by the interval of the file before it. */
Test(rotate_faults, a_reopened_empty_file_takes_the_interval_of_its_first_record)
{
	char *path = wu_path("app.log"), *away = wu_path("app.log-away");
	struct output o;
	open_writer(&o, "file", path, "rotate_every = \"hourly\";");
	uint64_t t10 = (uint64_t)th_utc_ns(2026, 12, 1, 10, 0, 0, 0) / 1000000000u;
	give_at(&o, 0, t10);
	output_write(&o, &wu_ring);
	cr_assert_eq(rename(path, away), 0);
	close(open(path, O_WRONLY | O_CREAT, 0640));
	output_reopen(&o);
	give_at(&o, 1, t10 + 3600);
	output_write(&o, &wu_ring);
	give_at(&o, 2, t10 + 3601);
	output_write(&o, &wu_ring);
	give_at(&o, 3, t10 + 7200);
	output_write(&o, &wu_ring);
	output_close(&o);
	cr_assert(!wu_exists("app.log.2026-12-01T10"), "no file is named for 10:00 but the one renamed away");
	char *eleven = wu_path("app.log.2026-12-01T11"), *text = th_read_file(eleven, NULL);
	cr_assert(text, "the 11:00 file");
	cr_assert(count(text, "rec 00001") == 1 && count(text, "rec 00002") == 1 && !count(text, "rec 00003"));
	free(text);
	free(eleven);
	free(away);
	free(path);
}

/* The directory of the path removed, the path cannot be created: the records wait in the writer
 * (not into the removed file), the condition is told once, and they are written once it can. */
static void removed_and_back(const char *type, const char *keys)
{
	char *sub = wu_path("sub"), *path = wu_path("sub/app.log"), cmd[1024];
	cr_assert_eq(mkdir(sub, 0755), 0);
	struct output o;
	open_writer(&o, type, path, keys);
	unsigned n = 0;
	for (; n < 5; n++)
		give(&o, n);
	output_write(&o, &wu_ring);
	snprintf(cmd, sizeof cmd, "rm -rf %s", sub);
	cr_assert_eq(system(cmd), 0);
	int saved = capture_stderr();
	for (int cycle = 0; cycle < 4; cycle++, n++) {
		give(&o, n);
		output_write(&o, &wu_ring);
	}
	char *err = restore_stderr(saved);
	cr_assert_lt(o.w[0].done, o.w[0].taken, "the records wait");
	cr_assert_eq(count(err, "cannot"), 1, "told once: %s", err);
	cr_assert_eq(mkdir(sub, 0755), 0);
	give(&o, n++);
	output_write(&o, &wu_ring);
	cr_assert_eq(o.w[0].done, o.w[0].taken);
	output_close(&o);
	if (!strcmp(type, "binary"))
		snprintf(cmd, sizeof cmd, "%s/shmlog decode %s", getenv("SHMLOG_BUILD_DIR"), path);
	else
		snprintf(cmd, sizeof cmd, "cat %s", path);
	char *text = run(cmd);
	holds_each_once(text, 5, n - 1, path);
	free(text);
	free(err);
	free(path);
	free(sub);
}

Test(rotate_faults, a_file_writer_keeps_the_records_of_a_removed_file_until_its_path_is_back)
{
	removed_and_back("file", "");
}

Test(rotate_faults, a_binary_writer_keeps_the_records_of_a_removed_file_until_its_path_is_back)
{
	removed_and_back("binary", "");
}

/* A binary file removed between two cycles: the next cycle's records go to a new file, which
 * defines what they use, and none goes into the removed one. */
Test(rotate_faults, a_removed_binary_file_gets_the_next_records_in_a_new_file)
{
	char *path = wu_path("app.bin"), cmd[1024];
	struct output o;
	open_writer(&o, "binary", path, "");
	unsigned n = 0;
	for (; n < 3; n++)
		give(&o, n);
	output_write(&o, &wu_ring);
	cr_assert_eq(unlink(path), 0);
	for (; n < 9; n++) {
		give(&o, n);
		if (n % 3 == 2)
			output_write(&o, &wu_ring);
	}
	cr_assert_eq(o.w[0].done, o.w[0].taken);
	output_close(&o);
	snprintf(cmd, sizeof cmd, "%s/shmlog decode %s", getenv("SHMLOG_BUILD_DIR"), path);
	char *text = run(cmd);
	holds_each_once(text, 3, 8, "the new file");
	free(text);
	free(path);
}
