/*
 * test_binlog.c — the binary writer and `shmlog decode` end to end: a real
 * collector with a text, a JSON and a binary writer fed the same records in
 * the same run; decode must print byte for byte what the line writers
 * wrote (fields, loss and end-of-process notices included), from rotated and
 * zstd-compressed files too; a torn tail, a cut header and garbage; a FIFO
 * or a device refused without blocking. (A full disk under it: test_binlog_disk.c.)
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"
#include "shared/sbuf.h"

TestSuite(binlog, .init = setup, .fini = teardown, .timeout = 240);

/* What one `shmlog decode` printed. */
struct decoded {
	int status;  /* exit status, -1 if it did not exit */
	char *out;   /* stdout */
	char *err;   /* stderr */
	size_t out_len;
};

/* Run shmlog decode [--json] on files (NULL-terminated). Returns what it printed. */
static struct decoded decode(bool json, const char *const *files)
{
	char *bin = th_build_path("shmlog"), *o = wpath("decode.out"), *e = wpath("decode.err");
	int n = 0;
	while (files[n])
		n++;
	char **argv = calloc((size_t)n + 4, sizeof *argv);
	cr_assert(argv);
	argv[0] = bin;
	argv[1] = "decode";
	n = 2;
	if (json)
		argv[n++] = "--json";
	for (int i = 0; files[i]; i++)
		argv[n++] = (char *)files[i];
	int st = th_waitpid_timeout(th_spawn(argv, o, e, NULL), 60000);
	struct decoded d = {.status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1};
	d.out = th_read_file(o, &d.out_len);
	d.err = th_read_file(e, NULL);
	cr_assert(d.out && d.err);
	free(argv);
	free(bin);
	free(o);
	free(e);
	return d;
}

static void decoded_free(struct decoded *d)
{
	free(d->out);
	free(d->err);
}

/* Lines in s. */
static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * One collector run with three writers: text to t.log, JSON to j.log, binary to b.bin with the
 * binary keys more; the seed's records with fields, then a producer with a 4 KiB drop ring that
 * loses records and is killed (an end-of-process notice), then one that logs records more
 * records per thread and closes.
 */
static bool all_compressed(void *arg);

static void three_writers(const char *more, long records)
{
	char *t = wpath("t.log"), *j = wpath("j.log"), *b = wpath("b.bin"), *pout = wpath("prod.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; },\n"
			    "  { type = \"file\"; path = \"%s\"; format = \"json\"; },\n"
			    "  { type = \"binary\"; path = \"%s\"; %s } );\n", t, j, b, more);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *seed_bin = th_build_path("tests/seed_prog");
	char *seed[] = {seed_bin, dir, "fields", NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(seed, NULL, NULL, NULL), 20000), 0);
	char *lossy[] = {"-t", "2", "-r", "10000", "-p", "drop", "-R", "4096", "-k", NULL};
	run_producer(pout, lossy, NULL);
	char r[32];
	snprintf(r, sizeof r, "%ld", records);
	char *steady[] = {"-t", "4", "-r", r, "-p", "block", "-f", "60000", "-C", NULL};
	run_producer(pout, steady, NULL);
	cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
	if (strstr(more, "zstd"))
		cr_assert(th_wait_until(all_compressed, NULL, 60000), "rotated files still uncompressed");
	stop_collector(c);
	free(seed_bin);
	free(t);
	free(j);
	free(b);
	free(pout);
	free(cfg);
}

/* Assert that the file at path holds exactly the len bytes of got. */
static void assert_same_as_file(const char *got, size_t len, const char *path)
{
	size_t want_len = 0;
	char *want = th_read_file(path, &want_len);
	cr_assert(want, "%s missing", path);
	cr_assert_eq(len, want_len, "decode printed %zu bytes, %s holds %zu", len, path, want_len);
	cr_assert(memcmp(got, want, len) == 0, "decode's bytes differ from %s", path);
	free(want);
}

Test(binlog, decode_prints_exactly_what_the_text_and_json_writers_wrote_in_the_same_run)
{
	three_writers("", 5000);
	char *t = wpath("t.log"), *j = wpath("j.log"), *b = wpath("b.bin");
	char *text = th_read_file(t, NULL);
	cr_assert(strstr(text, "records lost (ring full)"), "the run has loss notices");
	cr_assert(strstr(text, "[shmlog] process"), "and an end-of-process notice");
	cr_assert(strstr(text, "ip=\"10.0.0.1 x\""), "and fields");
	const char *files[] = {b, NULL};
	struct decoded d = decode(false, files);
	cr_assert_eq(d.status, 0, "decode failed: %s", d.err);
	cr_assert_str_empty(d.err);
	assert_same_as_file(d.out, d.out_len, t);
	decoded_free(&d);
	d = decode(true, files);
	cr_assert_eq(d.status, 0, "decode --json failed: %s", d.err);
	assert_same_as_file(d.out, d.out_len, j);
	decoded_free(&d);
	free(text);
	free(t);
	free(j);
	free(b);
}

/* The names of b.bin's rotated files, oldest first, then b.bin, into names (NULL-terminated). */
static int series(char **names, int cap)
{
	int n = 0;
	while (n < cap - 2) {
		char p[4096];
		snprintf(p, sizeof p, "%s/b.bin.%d", work, n + 1);
		if (access(p, F_OK) != 0) {
			strcat(p, ".zst");
			if (access(p, F_OK) != 0)
				break;
		}
		n++;
	}
	int k = 0;
	for (int i = n; i >= 1; i--) {
		char p[4096];
		snprintf(p, sizeof p, "%s/b.bin.%d", work, i);
		if (access(p, F_OK) != 0)
			strcat(p, ".zst");
		names[k++] = strdup(p);
	}
	names[k++] = wpath("b.bin");
	names[k] = NULL;
	return k;
}

/* No rotated file of b.bin is waiting for compression. */
static bool all_compressed(void *arg)
{
	(void)arg;
	char p[4096];
	for (int k = 1;; k++) {
		snprintf(p, sizeof p, "%s/b.bin.%d", work, k);
		if (access(p, F_OK) == 0)
			return false;
		strcat(p, ".zst");
		if (access(p, F_OK) != 0)
			return true;
	}
}

Test(binlog, every_rotated_file_decodes_on_its_own_zst_included_and_the_series_is_the_text_log)
{
	three_writers("max_bytes = 65536; backups = 1000; compress = \"zstd\";", 20000);
	char *names[512];
	int n = series(names, 512);
	cr_assert_lt(n, 500);
	cr_assert_geq(n, 6, "only %d files", n);
	struct sbuf all = {0};
	for (int i = 0; i < n; i++) {
		struct stat st;
		cr_assert_eq(stat(names[i], &st), 0);
		if (!strstr(names[i], ".zst"))
			cr_assert_leq(st.st_size, 65536, "%s is past max_bytes", names[i]);
		const char *one[] = {names[i], NULL};
		struct decoded d = decode(false, one);
		cr_assert_eq(d.status, 0, "%s does not decode on its own: %s", names[i], d.err);
		cr_assert_gt(lines(d.out), 0, "%s has no records", names[i]);
		sbuf_append(&all, d.out, d.out_len);
		decoded_free(&d);
	}
	char *t = wpath("t.log");
	assert_same_as_file(all.data, all.len, t);
	struct decoded d = decode(false, (const char *const *)names);
	assert_same_as_file(d.out, d.out_len, t);
	decoded_free(&d);
	for (int i = 0; i < n; i++)
		free(names[i]);
	sbuf_free(&all);
	free(t);
}

/* Write the first len bytes of from into to. */
static void copy_prefix(const char *from, const char *to, size_t len)
{
	size_t have = 0;
	char *b = th_read_file(from, &have);
	cr_assert(b && len <= have);
	FILE *f = fopen(to, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
}

/* Decode path: exit 1 and one line saying "at byte AT: what", after a start of the records of want
 * (all of them when whole). Returns nothing. */
static void assert_zst_damage(const char *path, size_t at, const char *what, const struct decoded *want, bool whole)
{
	const char *files[] = {path, NULL};
	struct decoded d = decode(false, files);
	char line[128];
	snprintf(line, sizeof line, ": at byte %zu: %s", at, what);
	cr_assert_eq(d.status, 1, "%s", d.err);
	cr_assert(lines(d.err) == 1 && strstr(d.err, path) && strstr(d.err, line), "want \"%s\" in: %s", line, d.err);
	cr_assert(whole ? d.out_len == want->out_len : d.out_len < want->out_len, "%zu bytes of %zu", d.out_len,
		  want->out_len);
	cr_assert(memcmp(d.out, want->out, d.out_len) == 0, "the records before the damage");
	decoded_free(&d);
}

Test(binlog, a_damaged_zst_gets_one_line_naming_the_compressed_offset_after_the_records_before_it)
{
	three_writers("max_bytes = 65536; backups = 1000; compress = \"zstd\";", 2000);
	char *names[512], *bad = wpath("bad.bin.zst");
	int n = series(names, 512);
	cr_assert(n >= 2 && strstr(names[0], ".zst"), "a compressed rotated file");
	size_t len = 0;
	free(th_read_file(names[0], &len));
	const char *one[] = {names[0], NULL};
	struct decoded whole = decode(false, one);
	cr_assert(whole.status == 0 && whole.out_len > 0, "%s", whole.err);
	copy_prefix(names[0], bad, len); /* then bytes that are no zstd frame */
	FILE *f = fopen(bad, "a");
	cr_assert(f && fwrite("JUNK after the frame", 1, 20, f) == 20 && fclose(f) == 0);
	assert_zst_damage(bad, len, "not a valid zstd stream", &whole, true);
	copy_prefix(names[0], bad, len / 2); /* cut inside a block */
	assert_zst_damage(bad, len / 2, "the zstd stream is cut short", &whole, false);
	decoded_free(&whole);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(bad);
}

/* Where the last unit of the binary log b[0..len) starts (shared/binlog.h: a header, or a frame). */
static size_t last_unit(const uint8_t *b, size_t len)
{
	size_t at = 0, last = 0;
	while (at < len) {
		last = at;
		uint32_t size;
		memcpy(&size, b + at, 4);
		at += memcmp(b + at, "SHMLOGB", 8) == 0 ? 24 : size;
	}
	cr_assert_eq(at, len, "the units end with the file");
	return last;
}

Test(binlog, a_torn_tail_decodes_to_the_last_complete_unit_and_says_what_was_dropped)
{
	three_writers("", 200);
	char *b = wpath("b.bin"), *torn = wpath("torn.bin"), *whole = wpath("whole.bin"), *t = wpath("t.log");
	size_t len = 0, tlen = 0;
	uint8_t *bytes = (uint8_t *)th_read_file(b, &len);
	size_t last = last_unit(bytes, len);
	copy_prefix(b, torn, len - 5);  /* the last unit (records, a CYCLE frame) loses its last 5 bytes */
	copy_prefix(b, whole, last);    /* the units before it */
	const char *files[] = {torn, NULL}, *before[] = {whole, NULL};
	struct decoded d = decode(false, files), w = decode(false, before);
	cr_assert_eq(d.status, 0, "a torn tail is not an error: %s", d.err);
	cr_assert_eq(lines(d.err), 1, "one line: %s", d.err);
	cr_assert(strstr(d.err, "torn tail") && strstr(d.err, "bytes"), "%s", d.err);
	cr_assert(w.status == 0 && !w.err[0], "%s", w.err);
	cr_assert_eq(d.out_len, w.out_len, "every record of the units before the torn one");
	cr_assert(memcmp(d.out, w.out, d.out_len) == 0);
	char *text = th_read_file(t, &tlen);
	cr_assert(d.out_len > 0 && d.out_len < tlen && memcmp(d.out, text, d.out_len) == 0,
		  "what decodes is the start of the text writer's log");
	decoded_free(&d);
	decoded_free(&w);
	free(text);
	free(bytes);
	free(b);
	free(torn);
	free(whole);
	free(t);
}

/* Write the first cut bytes of a, then the whole of b, to path. */
static void cut_then_append(const uint8_t *a, size_t cut, const uint8_t *b, size_t blen, const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	cr_assert(fwrite(a, 1, cut, f) == cut && fwrite(b, 1, blen, f) == blen);
	cr_assert_eq(fclose(f), 0);
}

/* A collector killed mid-write and started again leaves a torn unit, then its new file's start: what
 * follows decodes, and the line says what was dropped (exit 0: a torn tail, mid-file). The tear lands
 * either just before the restart's magic (which then runs past the span the torn unit claims), or deep
 * inside that span. */
Test(binlog, a_unit_torn_by_a_killed_collector_then_a_restart_decodes_everything_around_it)
{
	three_writers("", 200);
	char *b = wpath("b.bin"), *torn = wpath("torn.bin"), *whole = wpath("whole.bin");
	size_t len = 0;
	uint8_t *bytes = (uint8_t *)th_read_file(b, &len);
	size_t last = last_unit(bytes, len), cuts[] = {len - 5, last + 9};
	copy_prefix(b, whole, last);
	const char *before[] = {whole, b, NULL};
	struct decoded w = decode(false, before); /* the units before the torn one, then the restart's file */
	cr_assert(w.status == 0 && !w.err[0], "%s", w.err);
	for (int k = 0; k < 2; k++) {
		cut_then_append(bytes, cuts[k], bytes, len, torn);
		const char *files[] = {torn, NULL};
		struct decoded d = decode(false, files);
		cr_assert_eq(d.status, 0, "cut at %zu: not an error: %s", cuts[k], d.err);
		char want[128];
		snprintf(want, sizeof want, "at byte %zu: a unit cut short", last);
		cr_assert_eq(lines(d.err), 1, "one line: %s", d.err);
		cr_assert(strstr(d.err, want) && strstr(d.err, "a restart's file header"), "%s", d.err);
		cr_assert_eq(d.out_len, w.out_len, "cut at %zu: every record before the tear and after the restart",
			     cuts[k]);
		cr_assert(memcmp(d.out, w.out, d.out_len) == 0);
		decoded_free(&d);
	}
	decoded_free(&w);
	free(bytes);
	free(b);
	free(torn);
	free(whole);
}

/* logrotate's copytruncate under a binary writer while a producer logs: the copy and the truncated file
 * each decode (the copy may end in a torn unit; what the writer had taken when it saw the truncation goes
 * first in the file after a header and the definitions in force; a write that landed before it saw it is
 * dropped in one line); together they hold the records in order, none twice, the last ones included.
 * What was written between logrotate's copy and its truncation is lost, as for a text file
 * (docs/files.md). */
Test(binlog, logrotate_copytruncate_under_a_binary_writer_leaves_two_files_that_decode)
{
	char *bin = wpath("app.bin"), *one = wpath("app.bin.1"), *pout = wpath("prod.out"), *all = wpath("all.log");
	char *cfg = wconfig("writers = ( { type = \"binary\"; path = \"%s\"; } );\n", bin);
	logrotate_while_logging(cfg, bin, "copytruncate\nrotate 5", false, pout);
	const char *files[] = {one, bin, NULL};
	struct decoded d = decode(false, files);
	cr_assert_eq(d.status, 0, "%s", d.err);
	cr_assert_leq(lines(d.err), 2, "at most a torn tail in the copy and the header-less start: %s", d.err);
	FILE *f = fopen(all, "w");
	cr_assert(f && fwrite(d.out, 1, d.out_len, f) == d.out_len && fclose(f) == 0);
	struct tally ty = {.threads = 2, .records = 40000, .allow_other = true};
	tally_output(all, &ty);
	cr_assert_geq(ty.seen, 40000, "saw only %ld of 80000 records", ty.seen);
	cr_assert(ty.last[0] == 39999 && ty.last[1] == 39999, "the last records are in the truncated file");
	free(ty.last);
	decoded_free(&d);
	free(bin);
	free(one);
	free(pout);
	free(all);
	free(cfg);
}

/* Write a, then zeros zero bytes, then tail (tlen bytes) to path. */
static void with_zeros(const uint8_t *a, size_t alen, size_t zeros, const void *tail, size_t tlen, const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	cr_assert(fwrite(a, 1, alen, f) == alen);
	for (size_t k = 0; k < zeros; k++)
		cr_assert(fputc(0, f) == 0);
	cr_assert(fwrite(tail, 1, tlen, f) == tlen);
	cr_assert_eq(fclose(f), 0);
}

/* The zeros a crash leaves where the filesystem grew the file but never wrote it (binlog.h rule 7), more
 * than one read of the decoder: at the end, a torn tail; before a restart (at the start of the file too),
 * dropped; before garbage, an error. And a first file header cut short, then a restart. Each one line. */
Test(binlog, zeros_a_crash_left_unwritten_at_the_end_or_before_a_restart_are_dropped_and_told_in_one_line)
{
	three_writers("", 200);
	char *b = wpath("b.bin"), *z = wpath("z.bin"), want[160];
	size_t len = 0, zeros = 600000;
	uint8_t *bytes = (uint8_t *)th_read_file(b, &len);
	const char *one[] = {b, NULL}, *two[] = {b, b, NULL}, *files[] = {z, NULL};
	struct decoded w1 = decode(false, one), w2 = decode(false, two);
	cr_assert(w1.status == 0 && !w1.err[0] && w2.status == 0 && !w2.err[0], "%s%s", w1.err, w2.err);

	with_zeros(bytes, len, zeros, "", 0, z);
	struct decoded d = decode(false, files);
	snprintf(want, sizeof want, "torn tail: the last %zu bytes (from byte %zu) are zeros (space a crash left "
		 "unwritten); dropped", zeros, len);
	cr_assert(d.status == 0 && lines(d.err) == 1 && strstr(d.err, want), "%d: %s", d.status, d.err);
	cr_assert(d.out_len == w1.out_len && memcmp(d.out, w1.out, d.out_len) == 0, "every record");
	decoded_free(&d);

	with_zeros(bytes, len, zeros, bytes, len, z);
	d = decode(false, files);
	snprintf(want, sizeof want, "at byte %zu: %zu zero bytes (space a crash left unwritten), then a restart's "
		 "file header at byte %zu; dropped", len, zeros, len + zeros);
	cr_assert(d.status == 0 && lines(d.err) == 1 && strstr(d.err, want), "%d: %s", d.status, d.err);
	cr_assert(d.out_len == w2.out_len && memcmp(d.out, w2.out, d.out_len) == 0, "every record of both");
	decoded_free(&d);

	with_zeros(bytes, 0, 5000, bytes, len, z); /* at the start: before the first file header */
	d = decode(false, files);
	snprintf(want, sizeof want, "at byte 0: 5000 zero bytes (space a crash left unwritten), then a restart's "
		 "file header at byte 5000; dropped");
	cr_assert(d.status == 0 && lines(d.err) == 1 && strstr(d.err, want), "%d: %s", d.status, d.err);
	cr_assert(d.out_len == w1.out_len && memcmp(d.out, w1.out, d.out_len) == 0, "every record");
	decoded_free(&d);

	with_zeros(bytes, 10, 0, bytes, len, z); /* the first header cut short, then a restart */
	d = decode(false, files);
	cr_assert(d.status == 0 && lines(d.err) == 1 && strstr(d.err, "at byte 0: a unit cut short") &&
		  strstr(d.err, "a restart's file header at byte 10"), "%d: %s", d.status, d.err);
	cr_assert(d.out_len == w1.out_len && memcmp(d.out, w1.out, d.out_len) == 0, "every record");
	decoded_free(&d);

	with_zeros(bytes, len, 64, "garbage!", 8, z);
	d = decode(false, files);
	snprintf(want, sizeof want, "at byte %zu: 64 zero bytes, then bytes that are no unit", len);
	cr_assert(d.status == 1 && lines(d.err) == 1 && strstr(d.err, want), "%d: %s", d.status, d.err);
	cr_assert(d.out_len == w1.out_len && memcmp(d.out, w1.out, d.out_len) == 0, "the records before");
	decoded_free(&d);
	decoded_free(&w1);
	decoded_free(&w2);
	free(bytes);
	free(b);
	free(z);
}

/* Assert that decoding a file holding the len bytes of data fails with one line saying what. */
static void assert_refused(const void *data, size_t len, const char *what)
{
	char *p = wpath("bad.bin");
	FILE *f = fopen(p, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	const char *files[] = {p, NULL};
	struct decoded d = decode(false, files);
	cr_assert_eq(d.status, 1, "exit 1, not %d", d.status);
	cr_assert_eq(lines(d.err), 1, "one line: %s", d.err);
	cr_assert(strstr(d.err, p) && strstr(d.err, what), "the line names the file and says \"%s\": %s", what, d.err);
	cr_assert_eq(d.out_len, 0, "nothing printed");
	decoded_free(&d);
	free(p);
}

Test(binlog, a_truncated_header_garbage_and_a_bad_zst_get_one_line_and_exit_1)
{
	assert_refused("SHMLOGB\0\1\0", 10, "file header cut short");
	assert_refused("", 0, "empty");
	uint8_t junk[4096];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
	assert_refused(junk, sizeof junk, "not a shmlog binary log");
	static const char text[] = "2026-12-01T00:00:00.000000000Z INFO app[1/1]: a text log, not a binary one\n";
	assert_refused(text, sizeof text - 1, "at byte 0: not a shmlog binary log (no \"SHMLOGB\" header)");
	uint8_t zst[64] = {0x28, 0xb5, 0x2f, 0xfd};
	memcpy(zst + 4, junk, sizeof zst - 4);
	assert_refused(zst, sizeof zst, "zstd");
	uint8_t v9[24] = "SHMLOGB";
	v9[8] = 9;
	assert_refused(v9, sizeof v9, "version 9.0");
}

Test(binlog, a_fifo_a_directory_a_device_or_a_proc_file_is_refused_in_one_line_without_blocking)
{
	char *fifo = wpath("f.bin");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	const char *paths[] = {fifo, work, "/dev/zero", "/proc/self/status"};
	const char *kinds[] = {"(a FIFO)", "(a directory)", "(a character device)", "(a kernel file"};
	for (int i = 0; i < 4; i++) {
		const char *files[] = {paths[i], NULL};
		struct decoded d = decode(false, files);
		cr_assert_eq(d.status, 1, "%s: exit 1, not %d (-1: it blocked): %s", paths[i], d.status, d.err);
		cr_assert_eq(lines(d.err), 1, "one line: %s", d.err);
		cr_assert(strstr(d.err, paths[i]) && strstr(d.err, "not a regular file") && strstr(d.err, kinds[i]),
			  "%s", d.err);
		cr_assert_eq(d.out_len, 0);
		decoded_free(&d);
	}
	free(fifo);
}

Test(binlog, garbage_after_valid_records_prints_them_then_one_line_naming_the_offset)
{
	three_writers("", 100);
	char *b = wpath("b.bin"), *bad = wpath("bad.bin");
	size_t len = 0;
	char *bytes = th_read_file(b, &len);
	FILE *f = fopen(bad, "w");
	cr_assert(f);
	fwrite(bytes, 1, len, f);
	fwrite("\x10\0\0\0\x63\0\0\0garbage!", 1, 16, f); /* a frame of an unknown kind */
	fclose(f);
	const char *files[] = {bad, NULL};
	struct decoded d = decode(false, files);
	cr_assert_eq(d.status, 1);
	cr_assert_eq(lines(d.err), 1, "%s", d.err);
	char at[64];
	snprintf(at, sizeof at, "at byte %zu: unknown frame kind 99", len);
	cr_assert(strstr(d.err, at), "%s", d.err);
	char *t = wpath("t.log");
	assert_same_as_file(d.out, d.out_len, t);
	decoded_free(&d);
	free(bytes);
	free(b);
	free(bad);
	free(t);
}

/* Where the first unit of kind kind starts in the binary log b[0..len). */
static size_t first_unit(const uint8_t *b, size_t len, uint16_t kind)
{
	for (size_t at = 0; at + 8 <= len;) {
		uint32_t size;
		uint16_t k;
		memcpy(&size, b + at, 4);
		memcpy(&k, b + at + 4, 2);
		bool header = memcmp(b + at, "SHMLOGB", 8) == 0;
		if (!header && k == kind)
			return at;
		at += header ? 24 : size;
	}
	cr_assert_fail("no unit of kind %u", kind);
	return 0;
}

/* Decode b[0..len) with the u32 at offset off set to v: exit 1, one line "at byte at: what", and
 * the records of the units before at printed as the text writer wrote them. */
static void assert_damage(const uint8_t *b, size_t len, size_t off, uint32_t v, size_t at, const char *what)
{
	char *bad = wpath("bad.bin"), *before = wpath("before.bin");
	uint8_t *c = malloc(len);
	cr_assert(c);
	memcpy(c, b, len);
	memcpy(c + off, &v, 4);
	FILE *f = fopen(bad, "w"), *g = fopen(before, "w");
	cr_assert(f && g);
	cr_assert_eq(fwrite(c, 1, len, f), len);
	cr_assert_eq(fwrite(c, 1, at, g), at);
	fclose(f);
	fclose(g);
	const char *files[] = {bad, NULL}, *prefix[] = {before, NULL};
	struct decoded d = decode(false, files), w = decode(false, prefix);
	char line[160];
	snprintf(line, sizeof line, "at byte %zu: %s", at, what);
	cr_assert(d.status == 1 && lines(d.err) == 1 && strstr(d.err, line), "want \"%s\": %s", line, d.err);
	cr_assert(w.status == 0 && d.out_len == w.out_len && memcmp(d.out, w.out, d.out_len) == 0,
		  "the records before the damaged frame, and only those");
	decoded_free(&d);
	decoded_free(&w);
	free(c);
	free(bad);
	free(before);
}

Test(binlog, a_damaged_cycle_frame_gets_one_line_naming_its_offset_and_what_is_wrong)
{
	three_writers("", 100);
	char *b = wpath("b.bin");
	size_t len = 0;
	uint8_t *bytes = (uint8_t *)th_read_file(b, &len);
	size_t cy = first_unit(bytes, len, 8), span = cy + 16, rec = span + 16;
	assert_damage(bytes, len, cy + 8, 0, cy, "malformed cycle frame");                  /* no spans */
	assert_damage(bytes, len, span, 999, cy, "cycle span of undefined segment id 999"); /* seg_id */
	assert_damage(bytes, len, span + 8, 0x7ffffff8u, cy, "cycle span 0 cut short");     /* its bytes */
	assert_damage(bytes, len, rec, 12, cy, "record of a cycle span out of bounds, 0 bytes into it");
	assert_damage(bytes, len, rec, 0x10000000u, cy, "record of a cycle span out of bounds, 0 bytes into it");
	free(bytes);
	free(b);
}

Test(binlog, a_sighup_after_a_rename_starts_a_new_self_describing_file_and_loses_nothing)
{
	char *t = wpath("t.log"), *b = wpath("b.bin"), *old = wpath("b.bin.old"), *pout = wpath("prod.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; }, { type = \"binary\"; path = \"%s\"; } );\n",
			    t, b);
	rename_and_sighup_under_load(cfg, t, b, old, pout);
	const char *both[] = {old, b, NULL}, *alone[] = {b, NULL};
	struct decoded d = decode(false, both);
	cr_assert_eq(d.status, 0, "%s", d.err);
	assert_same_as_file(d.out, d.out_len, t);
	decoded_free(&d);
	d = decode(false, alone);
	cr_assert_eq(d.status, 0, "the new file decodes on its own: %s", d.err);
	cr_assert_gt(lines(d.out), 0, "and holds the later records");
	decoded_free(&d);
	free(t);
	free(b);
	free(old);
	free(pout);
	free(cfg);
}

/* Run the collector once over segment directory d with config cfg (drain what is there, exit 0). */
static void collect_once(const char *d, const char *cfg)
{
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--config", (char *)cfg, "--dir", (char *)d, "--once", NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(argv, NULL, NULL, NULL), 60000), 0, "collector --once");
	free(bin);
}

/*
 * A binary writer alone: the collector renders nothing (spans only) and the
 * decoder merges the spans of 4 threads itself. The very segments, copied
 * before any collector read them, drained by a text writer give the same
 * bytes: the same order of threads, ties included. (The mixed case, a binary
 * writer beside line writers in one run with TSC stamps, is the first test.)
 */
Test(binlog, a_binary_writer_alone_decodes_to_what_a_text_writer_writes_of_the_same_segments)
{
	char *pout = wpath("prod.out"), *copy = wpath("segs-copy"), *t = wpath("t.log"), *b = wpath("b.bin");
	char *args[] = {"-t", "4", "-r", "5000", "-p", "block", "-R", "8388608", "-C", NULL};
	/* stamps in realtime ns: each collector's own TSC calibration would print them apart */
	char *env[] = {"SHMLOG_CLOCK=realtime", NULL};
	cr_assert_eq(run_producer(pout, args, env), 0, "the producer logs into its rings, no collector yet");
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", dir, copy);
	cr_assert_eq(system(cmd), 0);
	char *tcfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", t);
	collect_once(dir, tcfg);
	char *bcfg = wconfig("writers = ( { type = \"binary\"; path = \"%s\"; } );\n", b);
	collect_once(copy, bcfg);
	free(tcfg);
	free(bcfg);
	const char *files[] = {b, NULL};
	struct decoded d = decode(false, files);
	cr_assert(d.status == 0 && !d.err[0], "%s", d.err);
	cr_assert_eq(lines(d.out), 4 * 5000, "every INFO record");
	assert_same_as_file(d.out, d.out_len, t);
	decoded_free(&d);
	free(pout);
	free(copy);
	free(t);
	free(b);
}

/* qsort: decoded files by the stamp of their first line (ISO 8601 sorts as text). */
static int by_first_stamp(const void *a, const void *b)
{
	return strncmp(*(char *const *)a, *(char *const *)b, 30);
}

/* "2026-12-01T22:04:48.4713Z ..." -> "2026-12-01T220448", the second of a line's stamp. */
static void stamp_second(const char *line, char out[18])
{
	snprintf(out, 18, "%.11s%.2s%.2s%.2s", line, line + 11, line + 14, line + 17);
}

/*
 * Spans cut at time boundaries: 1.5 s of records of 4 threads, drained by a
 * binary writer alone (cycles of up to 4,096 records, each spanning hundreds
 * of milliseconds) with rotate_every = "1s": every rotated file holds only
 * records of its second, the live file only the last second's, and together
 * they hold every record, each thread's in order.
 */
Test(binlog, spans_are_cut_at_the_rotation_boundaries_of_their_records_stamps)
{
	char *pout = wpath("prod.out"), *b = wpath("b.bin");
	char *args[] = {"-t", "4", "-r", "3000", "-s", "2000", "-p", "block", "-R", "8388608", "-C", NULL};
	cr_assert_eq(run_producer(pout, args, NULL), 0);
	char *cfg = wconfig("writers = ( { type = \"binary\"; path = \"%s\"; rotate_every = \"1s\"; "
			    "backups = 100; } );\n", b);
	collect_once(dir, cfg);
	free(cfg);
	DIR *d = opendir(work);
	cr_assert(d);
	char *texts[64];
	int files = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, "b.bin", 5) != 0)
			continue;
		char *path = wpath(e->d_name), second[18];
		const char *one[] = {path, NULL};
		struct decoded dd = decode(false, one);
		cr_assert(dd.status == 0 && dd.out_len, "%s: %s", path, dd.err);
		stamp_second(dd.out, second);
		const char *label = e->d_name[5] == '.' ? e->d_name + 6 : second; /* the live file: its first */
		for (const char *l = dd.out; *l; l = strchr(l, '\n') + 1) {
			char s[18];
			stamp_second(l, s);
			cr_assert_str_eq(s, label, "%s holds a record of another second: %.60s", e->d_name, l);
		}
		cr_assert_lt(files, 64);
		texts[files++] = dd.out; /* kept, freed below */
		free(dd.err);
		free(path);
	}
	closedir(d);
	cr_assert_geq(files, 2, "the records span a boundary");
	qsort(texts, (size_t)files, sizeof texts[0], by_first_stamp);
	char *alllog = wpath("all.log");
	FILE *f = fopen(alllog, "w");
	cr_assert(f);
	for (int i = 0; i < files; i++) {
		fputs(texts[i], f);
		free(texts[i]);
	}
	fclose(f);
	struct tally ty = {.threads = 4, .records = 3000};
	tally_output(alllog, &ty); /* the files in time order: each thread's records in order, once */
	cr_assert_eq(ty.seen, 4 * 3000, "every record once");
	free(ty.last);
	free(alllog);
	free(pout);
	free(b);
}
