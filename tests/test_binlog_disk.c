/*
 * test_binlog_disk.c — the binary writer on a full disk (a 1 MiB tmpfs of
 * its own): nothing lost and it recovers by itself; its file removed or
 * truncated under it while it holds a backlog, plain and encrypted: the
 * backlog goes to the new or truncated file after the definitions it
 * uses, and every record of it decodes there.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e_util.h"
#include "enc_util.h"
#include "helpers.h"

TestSuite(binlog_disk, .init = setup, .fini = teardown, .timeout = 240);

/* A binary writer's config on a 1 MiB tmpfs of its own, with the encrypt group enc when not NULL (the test
 * is skipped where no tmpfs can be mounted). */
struct small_disk {
	char *mnt, *err, *pout, *all, *bin, *filler, *cfg, *key;
};

static struct small_disk small_disk(bool encrypted)
{
	struct small_disk k = {wpath("mnt"), wpath("c.err"), wpath("prod.out"), wpath("all.log")};
	cr_assert_eq(mkdir(k.mnt, 0755), 0);
	if (!th_mount_tmpfs(k.mnt, "1m"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	k.bin = th_path(k.mnt, "b.bin");
	k.filler = th_path(k.mnt, "filler");
	if (encrypted)
		k.key = make_key("log.key", 0);
	char enc[512] = "";
	if (encrypted)
		snprintf(enc, sizeof enc, " encrypt = { key_file = \"%s\"; };", k.key);
	k.cfg = wconfig("writers = ( { type = \"binary\"; path = \"%s\";%s } );\n", k.bin, enc);
	return k;
}

static void small_disk_free(struct small_disk *k)
{
	th_umount(k->mnt);
	char **all[] = {&k->mnt, &k->err, &k->pout, &k->all, &k->bin, &k->filler, &k->cfg, &k->key};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		free(*all[i]);
}

/* What k's file reads as: `shmlog decode`, or `shmlog decrypt` with k's key; exit 0 and nothing said
 * (nothing dropped, the stream ended cleanly). */
static struct ran read_whole(const struct small_disk *k)
{
	const char *files[] = {k->bin, NULL}, *args[] = {"decode", k->bin, NULL};
	struct ran r = k->key ? decrypt(k->key, 0, files) : run_shmlog(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err, "nothing dropped or left unfinished: %s", r.err);
	return r;
}

/* What a file removed or truncated under the writer may take with it of the producer that logged while the
 * disk was full: the whole frames that fit in the room its last page had (tmpfs gives whole pages), 4 KiB
 * at most, about 120 records; a frame that did not fit is cut, and what was cut goes first again. */
#define LEAST_AFTER_A_FULL_PAGE 3800

/* The first record of each of 2 threads (of pid, or any) in the lines of out (len bytes), into first[]
 * (2000: none). */
static void first_records(const char *out, size_t len, pid_t pid, long first[2])
{
	char *text = strndup(out, len), *save = NULL;
	cr_assert(text);
	first[0] = first[1] = 2000;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct parsed_line pl;
		int t;
		long i;
		if (parse_line(line, &pl) && (!pid || pl.pid == pid) && sscanf(pl.msg, "rec t=%d i=%ld", &t, &i) == 2 &&
		    t >= 0 && t < 2 && i < first[t])
			first[t] = i;
	}
	free(text);
}

/* k's file reads whole (into k->all), holding at least least records of a 2 x 2000 producer (of pid, or
 * any), once each, in order, of each thread a run without a gap that ends with its last record, and its
 * end notice. */
static void assert_holds(const struct small_disk *k, pid_t pid, long least)
{
	struct ran r = read_whole(k);
	FILE *f = fopen(k->all, "w");
	cr_assert(f && fwrite(r.out, 1, r.out_len, f) == r.out_len && fclose(f) == 0);
	struct tally ty = {.threads = 2, .records = 2000, .allow_other = true, .pid = pid};
	tally_output(k->all, &ty);
	long first[2];
	first_records(r.out, r.out_len, pid, first);
	cr_assert_geq(ty.seen, least, "%ld of the 4000 records (at least %ld), once each, in order", ty.seen, least);
	cr_assert(ty.last[0] == 1999 && ty.last[1] == 1999, "the last ones included");
	cr_assert_eq(ty.seen, 4000 - first[0] - first[1], "none missing after the first of each thread (%ld, %ld)",
		     first[0], first[1]);
	cr_assert_eq(ty.ended, 1, "and the end notice");
	free(ty.last);
	ran_free(&r);
}

Test(binlog_disk, a_full_disk_under_the_binary_writer_loses_nothing_and_recovers_by_itself)
{
	struct small_disk k = small_disk(false);
	pid_t c = full_disk_then_space(k.cfg, k.err, k.filler, k.pout);
	stop_collector(c);
	assert_holds(&k, 0, 4000);
	small_disk_free(&k);
}

/* One producer's records in k's file, then the disk full: a producer of 2 x 2000 records logs into the
 * writer's backlog (returned: its pid, once it exited). */
static pid_t backlog_on_a_full_disk(const struct small_disk *k)
{
	char *before[] = {"-t", "1", "-r", "300", "-f", "10000", "-C", NULL};
	cr_assert_eq(run_producer(k->pout, before, NULL), 0);
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	th_fill_disk(k->filler);
	char *args[] = {"-t", "2", "-r", "2000", "-f", "300", NULL};
	pid_t p = spawn_producer(k->pout, args, NULL);
	struct th_file_has nospace = {k->err, "No space left on device"};
	cr_assert(th_wait_until(th_file_has_text, &nospace, 10000), "the condition is reported");
	cr_assert_eq(th_waitpid_timeout(p, 30000), 0);
	return p;
}

/* A binary log removed while its writer holds a backlog (the disk full, the file deleted to make room):
 * the backlog goes to the new file at the path, after the definitions it uses, not into the removed
 * one; the records of the producer that logged meanwhile are there, once, in order (but for what fitted in
 * the removed file's last page). Encrypted: the same, in a new stream that decrypts whole. */
static void removed_with_a_backlog(bool encrypted)
{
	struct small_disk k = small_disk(encrypted);
	pid_t c = start_collector("/dev/null", k.err, "--config", k.cfg);
	pid_t p = backlog_on_a_full_disk(&k);
	cr_assert_eq(unlink(k.bin), 0);
	struct th_file_has moved = {k.err, "bytes not yet written; they go to a new file"};
	cr_assert(th_wait_until(th_file_has_text, &moved, 10000), "the backlog is moved");
	unlink(k.filler);
	cr_assert(th_wait_until(no_segments, NULL, 20000), "the writer catches up by itself");
	stop_collector(c);
	assert_holds(&k, p, LEAST_AFTER_A_FULL_PAGE);
	small_disk_free(&k);
}

Test(binlog_disk, a_binary_log_removed_with_a_backlog_moves_the_backlog_to_the_new_file)
{
	removed_with_a_backlog(false);
}

Test(binlog_disk, an_encrypted_binary_log_removed_with_a_backlog_moves_the_backlog_to_a_new_stream)
{
	removed_with_a_backlog(true);
}

/* A binary log truncated under its writer (copytruncate, or `: > file`) while the writer holds a backlog (a
 * full disk, a write cut inside a frame): the backlog goes into the truncated file after the definitions it
 * uses, so the file reads whole, nothing dropped: the records of the producer that logged while the disk
 * was full (but for what fitted in the file's last page) and every one of the producer after; those of the
 * one before were in what was truncated away. Encrypted: the same, in a new stream. */
static void truncated_under_a_backlog(bool encrypted)
{
	struct small_disk k = small_disk(encrypted);
	pid_t c = start_collector("/dev/null", k.err, "--config", k.cfg);
	pid_t first = backlog_on_a_full_disk(&k);
	cr_assert_eq(truncate(k.bin, 0), 0);
	unlink(k.filler);
	cr_assert(th_wait_until(no_segments, NULL, 20000), "the writer catches up by itself");
	char *after[] = {"-t", "2", "-r", "2000", "-f", "10000", NULL};
	pid_t p = spawn_producer(k.pout, after, NULL);
	cr_assert_neq(th_waitpid_timeout(p, 30000), -1);
	cr_assert(th_wait_until(no_segments, NULL, 20000));
	stop_collector(c);
	assert_holds(&k, first, LEAST_AFTER_A_FULL_PAGE);
	assert_holds(&k, p, 4000);
	small_disk_free(&k);
}

Test(binlog_disk, a_binary_log_truncated_under_a_backlog_keeps_the_backlog)
{
	truncated_under_a_backlog(false);
}

Test(binlog_disk, an_encrypted_binary_log_truncated_under_a_backlog_keeps_the_backlog)
{
	truncated_under_a_backlog(true);
}
