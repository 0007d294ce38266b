/*
 * test_encrypt.c — encrypted log files end to end: a real collector writes
 * them, `shmlog decrypt` reads them back. Round trips for each algorithm and
 * inner format (text, JSON, binary) with rotation and per-chunk zstd; the
 * config errors of the encrypt group; a collector killed with SIGKILL
 * mid-stream and restarted; public-key mode; max_bytes held on disk; a full
 * disk under encrypted writers.
 * Tampering is test_encrypt_tamper.c.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "enc_util.h"
#include "helpers.h"

TestSuite(encrypt, .init = setup, .fini = teardown, .timeout = 240);

/* Decrypt path's whole rotated series and assert it is intact and exactly the file want. */
static void assert_series_is(const char *key, int json, const char *path, const char *want)
{
	char **names = series(path);
	struct ran r = decrypt(key, json, (const char *const *)names);
	cr_assert_eq(r.status, 0, "decrypt %s: status %d: %s", path, r.status, r.err);
	cr_assert_str_empty(r.err, "decrypt %s said: %s", path, r.err);
	assert_same_bytes(r.out, r.out_len, want);
	cr_assert(names[0] && names[1], "%s rotated", path);
	ran_free(&r);
	/* every rotated file is a stream of its own that ended cleanly */
	const char *one[] = {names[0], NULL};
	r = decrypt(key, json, one);
	cr_assert_eq(r.status, 0, "%s alone: %s", names[0], r.err);
	ran_free(&r);
	free_series(names);
}

/* Bytes of path's rotated series. */
static long long series_bytes(const char *path)
{
	char **names = series(path);
	long long sum = 0;
	struct stat st;
	for (char **q = names; *q; q++)
		sum += stat(*q, &st) == 0 ? st.st_size : 0;
	free_series(names);
	return sum;
}

/*
 * One collector: plain text and JSON files as the reference, and the same
 * records encrypted with alg as text, JSON and a binary log, each rotating at
 * 64 KiB with zstd; every series decrypts to the reference, byte for byte.
 */
static void round_trip(const char *alg)
{
	char *key = make_key("k", 0), *t = wpath("t.log"), *j = wpath("j.log"), *e = wpath("e.log");
	char *ej = wpath("ej.log"), *eb = wpath("eb.bin"), *pout = wpath("prod.out");
	char enc[512];
	snprintf(enc, sizeof enc, "max_bytes = 65536; backups = 1000; compress = \"zstd\"; "
		 "encrypt = { key_file = \"%s\"; algorithm = \"%s\"; };", key, alg);
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; },\n"
			    " { type = \"file\"; path = \"%s\"; format = \"json\"; },\n"
			    " { type = \"file\"; path = \"%s\"; %s },\n"
			    " { type = \"file\"; path = \"%s\"; format = \"json\"; %s },\n"
			    " { type = \"binary\"; path = \"%s\"; %s } );\n", t, j, e, enc, ej, enc, eb, enc);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *args[] = {"-t", "4", "-r", "3000", "-p", "block", "-f", "60000", "-C", NULL};
	run_producer(pout, args, NULL);
	cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
	stop_collector(c);
	assert_every_record(t, 4, 3000);
	assert_series_is(key, 0, e, t);
	assert_series_is(key, 0, ej, j);
	assert_series_is(key, 0, eb, t);
	assert_series_is(key, 1, eb, j);
	struct stat st;
	cr_assert_eq(stat(t, &st), 0);
	cr_assert_lt(series_bytes(e), st.st_size, "compressed before it was encrypted");
	free(key);
	free(t);
	free(j);
	free(e);
	free(ej);
	free(eb);
	free(pout);
	free(cfg);
}

Test(encrypt, xchacha20poly1305_text_json_and_binary_rotated_and_compressed_decrypt_to_the_plain_files)
{
	round_trip("xchacha20poly1305");
}

Test(encrypt, aes256gcm_text_json_and_binary_rotated_and_compressed_decrypt_to_the_plain_files)
{
	cr_assert_geq(sodium_init(), 0);
	if (!crypto_aead_aes256gcm_is_available())
		cr_skip_test("this CPU lacks AES-NI");
	round_trip("aes256gcm");
}

/* --check-config on a writer with the encrypt group enc: assert exit 1 and one line holding each of want. */
static void assert_config_error(const char *enc, const char *want1, const char *want2)
{
	char *out = wpath("check.out"), *err = wpath("check.err"), *log = wpath("e.log");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; encrypt = { %s }; } );\n", log, enc);
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--check-config", cfg, NULL};
	int st = th_waitpid_timeout(th_spawn(argv, out, err, NULL), 20000);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "--check-config must fail");
	char *text = th_read_file(err, NULL);
	cr_assert(text && strstr(text, cfg) && strstr(text, ":1: writers.[0].encrypt."), "not FILE:LINE: KEY: %s",
		  text);
	cr_assert(strstr(text, want1) && strstr(text, want2), "want \"%s\" and \"%s\" in: %s", want1, want2, text);
	int lines = 0;
	for (char *q = text; *q; q++)
		lines += *q == '\n';
	cr_assert_eq(lines, 1, "one line: %s", text);
	free(text);
	free(out);
	free(err);
	free(log);
	free(cfg);
	free(bin);
}

Test(encrypt, a_key_file_others_can_read_is_refused_naming_the_file_and_its_mode)
{
	char *key = make_key("k", 0), enc[512];
	cr_assert_eq(chmod(key, 0644), 0);
	snprintf(enc, sizeof enc, "key_file = \"%s\";", key);
	assert_config_error(enc, key, "has mode 0644");
	free(key);
}

Test(encrypt, a_missing_key_file_is_a_config_error)
{
	char *key = wpath("nokey"), enc[512];
	snprintf(enc, sizeof enc, "key_file = \"%s\";", key);
	assert_config_error(enc, key, "No such file or directory");
	free(key);
}

Test(encrypt, a_wrong_key_file_is_a_config_error)
{
	char *key = wpath("short"), enc[512];
	FILE *f = fopen(key, "w");
	cr_assert(f);
	fputs("not a key", f);
	fclose(f);
	cr_assert_eq(chmod(key, 0600), 0);
	snprintf(enc, sizeof enc, "key_file = \"%s\";", key);
	assert_config_error(enc, "is 9 bytes, not a 32-byte key", "shmlog keygen");
	free(key);
}

Test(encrypt, a_wrong_algorithm_is_a_config_error_and_cbc_is_declined)
{
	char *key = make_key("k", 0), enc[512];
	snprintf(enc, sizeof enc, "key_file = \"%s\"; algorithm = \"aes256cbc\";", key);
	assert_config_error(enc, "algorithm: must be \"xchacha20poly1305\" or \"aes256gcm\"", "unauthenticated");
	snprintf(enc, sizeof enc, "key_file = \"%s\"; algorithm = \"rot13\";", key);
	assert_config_error(enc, "not \"rot13\"", "xchacha20poly1305");
	free(key);
}

Test(encrypt, keygen_refuses_to_overwrite_and_writes_mode_0600)
{
	char *key = make_key("k", 0);
	struct stat st;
	cr_assert_eq(stat(key, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 32);
	const char *args[] = {"keygen", key, NULL};
	struct ran r = run_shmlog(args);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "exists; not overwriting it"), "%s", r.err);
	ran_free(&r);
	free(key);
}

/* Per thread, the records of path: all of 0..records-1, in order but for one step back (the batch
 * in flight at the kill, written again). Returns the records repeated. */
static long assert_all_once_but_one_batch(const char *path, int threads, long records)
{
	size_t len;
	char *text = th_read_file(path, &len);
	cr_assert(text);
	long *last = calloc((size_t)threads, sizeof *last), *seen = calloc((size_t)threads, sizeof *seen), rep = 0;
	int *backs = calloc((size_t)threads, sizeof *backs);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		const char *m = strstr(line, ": rec t=");
		int t;
		long i;
		if (!m || sscanf(m, ": rec t=%d i=%ld", &t, &i) != 2)
			continue;
		cr_assert(t >= 0 && t < threads);
		if (seen[t] && i <= last[t]) {
			cr_assert_eq(backs[t]++, 0, "thread %d steps back twice", t);
			rep += last[t] - i + 1;
		} else {
			cr_assert(i == (seen[t] ? last[t] + 1 : 0), "thread %d: %ld after %ld: a record lost", t, i, last[t]);
		}
		last[t] = i;
		seen[t] = 1;
	}
	for (int t = 0; t < threads; t++)
		cr_assert_eq(last[t], records - 1, "thread %d ends at %ld", t, last[t]);
	free(last);
	free(seen);
	free(backs);
	free(text);
	return rep;
}

Test(encrypt, a_collector_killed_mid_stream_and_restarted_loses_no_record_and_the_unfinished_stream_is_reported)
{
	char *key = make_key("k", 0), *e = wpath("e.log"), *pout = wpath("prod.out"), *plain = wpath("plain.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; } );\n",
			    e, key);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *args[] = {"-t", "2", "-r", "40000", "-p", "block", "-s", "20000", "-f", "60000", "-C", NULL};
	pid_t p = spawn_producer(pout, args, NULL);
	struct file_wait w = {e, 200000};
	cr_assert(th_wait_until(file_has_bytes, &w, 30000), "the encrypted file does not grow");
	cr_assert_eq(kill(c, SIGKILL), 0);
	cr_assert_neq(th_waitpid_timeout(c, 10000), -1);
	c = start_collector("/dev/null", NULL, "--config", cfg);
	cr_assert_neq(th_waitpid_timeout(p, 60000), -1);
	cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
	stop_collector(c);
	const char *files[] = {e, NULL};
	struct ran r = decrypt(key, 0, files);
	cr_assert_eq(r.status, 3, "an unfinished stream is exit status 3: %s", r.err);
	cr_assert(strstr(r.err, "stream 1 (from byte 0) is unfinished, its collector was killed") &&
		  strstr(r.err, "bytes dropped") && strstr(r.err, "stream 2 follows"), "%s", r.err);
	FILE *f = fopen(plain, "w");
	cr_assert(f && fwrite(r.out, 1, r.out_len, f) == r.out_len);
	fclose(f);
	long rep = assert_all_once_but_one_batch(plain, 2, 40000);
	cr_assert_lt(rep, 40000, "at most the batch in flight again");
	ran_free(&r);
	free(key);
	free(e);
	free(pout);
	free(plain);
	free(cfg);
}

Test(encrypt, in_public_key_mode_the_collectors_host_cannot_decrypt_and_the_secret_key_can)
{
	char *sk = make_key("pk", 1), *pub = wpath("pk.pub"), *other = make_key("other", 0);
	char *t = wpath("t.log"), *e = wpath("e.log"), members[4200];
	snprintf(members, sizeof members, "recipient_file = \"%s\";", pub);
	collect_encrypted(t, e, members, 2000);
	const char *files[] = {e, NULL};
	/* what the collector's host holds: the public key (and any other key) */
	const char *host_keys[] = {pub, other};
	for (int k = 0; k < 2; k++) {
		struct ran r = decrypt(host_keys[k], 0, files);
		cr_assert_eq(r.status, 1);
		cr_assert_eq(r.out_len, 0, "nothing decrypts");
		cr_assert(strstr(r.err, "wrong key"), "%s", r.err);
		ran_free(&r);
	}
	struct ran r = decrypt(sk, 0, files);
	cr_assert_eq(r.status, 0, "%s", r.err);
	assert_same_bytes(r.out, r.out_len, t);
	ran_free(&r);
	free(sk);
	free(pub);
	free(other);
	free(t);
	free(e);
}

Test(encrypt, a_sighup_after_a_rename_ends_the_old_stream_cleanly_and_starts_one_in_the_new_file)
{
	char *key = make_key("k", 0), *t = wpath("t.log"), *e = wpath("e.log"), *old = wpath("e.log.old");
	char *pout = wpath("prod.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; },\n"
			    " { type = \"file\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; } );\n", t, e, key);
	rename_and_sighup_under_load(cfg, t, e, old, pout);
	const char *both[] = {old, e, NULL}, *alone[] = {old, NULL};
	struct ran r = decrypt(key, 0, both);
	cr_assert_eq(r.status, 0, "both streams ended cleanly: %s", r.err);
	assert_same_bytes(r.out, r.out_len, t);
	ran_free(&r);
	r = decrypt(key, 0, alone);
	cr_assert_eq(r.status, 0, "the renamed file ends with its final tag: %s", r.err);
	cr_assert_gt(r.out_len, 0);
	ran_free(&r);
	free(key);
	free(t);
	free(e);
	free(old);
	free(pout);
	free(cfg);
}

Test(encrypt, a_key_file_of_another_user_is_refused)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to give the key file to another user");
	char *key = make_key("k", 0), enc[512];
	cr_assert_eq(chown(key, 65534, 65534), 0);
	snprintf(enc, sizeof enc, "key_file = \"%s\";", key);
	assert_config_error(enc, key, "belongs to uid 65534, not to the collector's user (uid 0) or root");
	free(key);
}

Test(encrypt, an_idle_collector_stopped_cleanly_leaves_files_that_decrypt_and_decode_and_an_empty_one_is_told)
{
	char *key = make_key("k", 0), *e = wpath("e.log"), *eb = wpath("e.bin"), *b = wpath("b.bin");
	char *err = wpath("collector.err"), *empty = wpath("empty.log");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; },\n"
			    " { type = \"binary\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; },\n"
			    " { type = \"binary\"; path = \"%s\"; } );\n", e, key, eb, key, b);
	pid_t c = start_collector("/dev/null", err, "--config", cfg);
	struct file_wait w = {b, 48}; /* a binary file's header and session: written with no record */
	cr_assert(th_wait_until(file_has_bytes, &w, 20000), "the binary file's header is not written before a record");
	stop_collector(c);
	char *text = th_read_file(err, NULL);
	cr_assert(text && !strstr(text, "could not be written"), "everything is written: %s", text);
	const char *one[] = {e, NULL}, *two[] = {eb, NULL}, *three[] = {empty, NULL};
	struct ran r = decrypt(key, 0, one);
	cr_assert(r.status == 0 && r.out_len == 0, "an open with no record ends its stream cleanly: %s", r.err);
	ran_free(&r);
	r = decrypt(key, 0, two);
	cr_assert(r.status == 0 && r.out_len == 0, "%s", r.err);
	ran_free(&r);
	const char *dec[] = {"decode", b, NULL};
	r = run_shmlog(dec);
	cr_assert(r.status == 0 && r.out_len == 0, "the idle binary file decodes: %s", r.err);
	ran_free(&r);
	FILE *f = fopen(empty, "w"); /* what a collector killed before its first write leaves */
	cr_assert(f && fclose(f) == 0);
	r = decrypt(key, 0, three);
	cr_assert_eq(r.status, 3, "an empty file is no intact stream: %s", r.err);
	cr_assert(strstr(r.err, "empty: no stream at all"), "%s", r.err);
	ran_free(&r);
	free(text);
	free(key);
	free(e);
	free(eb);
	free(b);
	free(err);
	free(empty);
	free(cfg);
}

/* Every file of path's series holds at most max bytes on disk, and every rotated one more than max - slack
 * (the unit that did not fit, with its frame). Returns how many files. */
static int assert_series_within(const char *path, long long max, long long slack)
{
	char **names = series(path);
	int n = 0;
	struct stat st;
	for (char **q = names; *q; q++, n++) {
		cr_assert_eq(stat(*q, &st), 0, "%s", *q);
		cr_assert_leq(st.st_size, max, "%s holds %lld bytes, past max_bytes %lld", *q, (long long)st.st_size,
			      max);
		if (q[1]) /* rotated: full */
			cr_assert_gt(st.st_size, max - slack, "%s rotated at %lld bytes", *q, (long long)st.st_size);
	}
	free_series(names);
	return n;
}

/*
 * max_bytes holds for the encrypted file on disk, its stream header, chunk
 * frames and final chunk counted, for text and binary, each algorithm, also
 * after a restart onto the file a first collector left; and the series
 * still decrypts to the plain file.
 */
Test(encrypt, max_bytes_holds_for_the_file_on_disk_with_its_header_chunk_frames_and_final_chunk)
{
	cr_assert_geq(sodium_init(), 0);
	const char *alg = crypto_aead_aes256gcm_is_available() ? "aes256gcm" : "xchacha20poly1305";
	char *key = make_key("k", 0), *t = wpath("t.log"), *x = wpath("x.log"), *a = wpath("a.log");
	char *xb = wpath("xb.bin"), *pout = wpath("prod.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; },\n"
			    " { type = \"file\"; path = \"%s\"; max_bytes = 20000; backups = 1000;"
			    " encrypt = { key_file = \"%s\"; }; },\n"
			    " { type = \"file\"; path = \"%s\"; max_bytes = 20000; backups = 1000;"
			    " encrypt = { key_file = \"%s\"; algorithm = \"%s\"; }; },\n"
			    " { type = \"binary\"; path = \"%s\"; max_bytes = 20000; backups = 1000;"
			    " encrypt = { key_file = \"%s\"; }; } );\n", t, x, key, a, key, alg, xb, key);
	char *args[] = {"-t", "2", "-r", "1500", "-p", "block", "-f", "60000", "-C", NULL};
	for (int run = 0; run < 2; run++) { /* the second starts on the files the first left */
		pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
		run_producer(pout, args, NULL);
		cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
		stop_collector(c);
	}
	cr_assert_gt(assert_series_within(x, 20000, 200), 5);
	cr_assert_gt(assert_series_within(a, 20000, 200), 5);
	cr_assert_gt(assert_series_within(xb, 20000, 20000 / 16 + 200), 3);
	assert_series_is(key, 0, x, t);
	assert_series_is(key, 0, a, t);
	assert_series_is(key, 0, xb, t);
	free(key);
	free(t);
	free(x);
	free(a);
	free(xb);
	free(pout);
	free(cfg);
}

/* max_bytes holds with whole cycles pending at each write (several 64 KiB chunks taken and not yet
 * written when the writer checks its file's size): their frames stay counted. */
Test(encrypt, max_bytes_holds_with_many_chunks_pending_at_each_write)
{
	char *key = make_key("k", 0), *t = wpath("t.log"), *x = wpath("x.log"), *pout = wpath("prod.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; },\n"
			    " { type = \"file\"; path = \"%s\"; max_bytes = 1000000; backups = 1000;"
			    " encrypt = { key_file = \"%s\"; }; } );\n", t, x, key);
	char *args[] = {"-t", "4", "-r", "15000", "-R", "4194304", "-C", NULL};
	run_producer(pout, args, NULL); /* with no collector yet: it finds full rings, and drains whole cycles */
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
	stop_collector(c);
	cr_assert_geq(assert_series_within(x, 1000000, 400), 5);
	assert_series_is(key, 0, x, t);
	free(key);
	free(t);
	free(x);
	free(pout);
	free(cfg);
}

/* logrotate's copytruncate under an encrypted writer while a producer logs: the copy holds the stream
 * up to the truncation (unfinished: it goes on in the live file), and the truncated file starts a new
 * stream; both decrypt, in order, none twice, the last records included. What was written between the
 * copy and the truncation is lost, as for a plain file. */
Test(encrypt, logrotate_copytruncate_under_an_encrypted_writer_leaves_two_files_that_decrypt)
{
	char *key = make_key("k", 0), *e = wpath("e.log"), *one = wpath("e.log.1"), *pout = wpath("prod.out");
	char *all = wpath("all.log");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; } );\n",
			    e, key);
	logrotate_while_logging(cfg, e, "copytruncate\nrotate 5", false, pout);
	const char *files[] = {one, e, NULL};
	struct ran r = decrypt(key, 0, files);
	cr_assert_eq(r.status, 3, "the copy's stream is unfinished, nothing is damaged: %s", r.err);
	cr_assert(strstr(r.err, "e.log.1: stream 1 (from byte 0)"), "%s", r.err);
	FILE *f = fopen(all, "w");
	cr_assert(f && fwrite(r.out, 1, r.out_len, f) == r.out_len && fclose(f) == 0);
	struct tally ty = {.threads = 2, .records = 40000};
	tally_output(all, &ty);
	cr_assert_geq(ty.seen, 40000, "saw only %ld of 80000 records", ty.seen);
	cr_assert(ty.last[0] == 39999 && ty.last[1] == 39999, "the last records are in the truncated file");
	const char *live[] = {e, NULL};
	ran_free(&r);
	r = decrypt(key, 0, live);
	cr_assert(r.status == 0 || (r.status == 3 && strstr(r.err, "chunks without their stream header")),
		  "the live file is a whole stream (after what the writer sealed before it saw the truncation): %s",
		  r.err);
	ran_free(&r);
	free(ty.last);
	free(key);
	free(e);
	free(one);
	free(pout);
	free(all);
	free(cfg);
}

/* Decrypt path's rotated series into out; assert it is intact and holds 2 x 2000 records once, in
 * order, and the end notice. */
static void assert_decrypts_all_once(const char *key, const char *path, const char *out)
{
	char **names = series(path);
	struct ran r = decrypt(key, 0, (const char *const *)names);
	free_series(names);
	cr_assert_eq(r.status, 0, "%s: %s", path, r.err);
	FILE *f = fopen(out, "w");
	cr_assert(f && fwrite(r.out, 1, r.out_len, f) == r.out_len && fclose(f) == 0);
	struct tally ty = {.threads = 2, .records = 2000, .allow_other = true};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 4000, "%s: every record exactly once, in order", path);
	cr_assert_eq(ty.ended, 1, "and the end notice");
	free(ty.last);
	ran_free(&r);
}

/* Encrypted text (rotating) and binary writers on a full file system: nothing consumed while they cannot
 * write, and once there is room they catch up by themselves, every stream whole and ended, and no file
 * past max_bytes although the whole backlog was pending when the writer checked its file. */
Test(encrypt, a_full_disk_under_encrypted_writers_loses_nothing_and_recovers_by_itself)
{
	char *mnt = wpath("mnt"), *err = wpath("c.err"), *pout = wpath("prod.out"), *all = wpath("all.log");
	char *key = make_key("k", 0);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	if (!th_mount_tmpfs(mnt, "1m"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	char *e = th_path(mnt, "e.log"), *eb = th_path(mnt, "eb.bin"), *filler = th_path(mnt, "filler");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; max_bytes = 40000; backups = 1000;"
			    " encrypt = { key_file = \"%s\"; }; },\n"
			    " { type = \"binary\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; } );\n",
			    e, key, eb, key);
	stop_collector(full_disk_then_space(cfg, err, filler, pout));
	cr_assert_gt(assert_series_within(e, 40000, 40000), 5, "the backlog's frames counted too");
	assert_decrypts_all_once(key, e, all);
	assert_decrypts_all_once(key, eb, all);
	th_umount(mnt);
	free(mnt);
	free(err);
	free(pout);
	free(all);
	free(key);
	free(e);
	free(eb);
	free(filler);
	free(cfg);
}
