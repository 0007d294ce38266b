/*
 * test_truncation_race.c — logrotate's copytruncate landing between a
 * writer's look at its file and its write, made to happen: the writer is
 * driven by hand (prepare, the truncation, the write, complete), so the
 * write lands alone at the start of the truncated file. For a file that
 * must begin with a header (a binary log, an encrypted file) the writer
 * takes it out again and writes it after a new start: the file reads whole,
 * nothing dropped, every record written after the truncation there in order;
 * also when a reopen (SIGHUP) is on its way.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector/uio.h"
#include "tests/helpers.h"
#include "tests/writer_util.h"

TestSuite(truncation_race, .init = wu_setup, .fini = wu_teardown);

/* Give o records [from, to) ("rec i"), then let it write them. */
static void give(struct output *o, int from, int to, char (*m)[32])
{
	for (int i = from; i < to; i++) {
		snprintf(m[i], sizeof m[i], "rec %d", i);
		struct text_record r = wu_rec(3, m[i], 1000 + (uint64_t)i);
		cr_assert_eq(output_add(o, &r, NULL), 1);
	}
}

/* Records [from, to) taken, then the file at path truncated between the writer's prepare and its write. */
static void truncated_between_look_and_write(struct output *o, const char *path, int from, int to, char (*m)[32])
{
	give(o, from, to, m);
	struct writer *w = &o->w[0];
	struct uio_req req;
	cr_assert_eq(w->ops->prepare(w, &req), 1);
	cr_assert_eq(truncate(path, 0), 0);
	cr_assert_eq(uio_write_batch(&wu_ring, &req, 1), 0);
	w->done = w->ops->complete(w, &req);
}

/* `shmlog ARGS...` (NULL-terminated, at most 6): its exit status, stdout into *out and stderr into *err. */
static int shmlog(const char *const *args, char **out, char **err)
{
	char *bin = th_build_path("shmlog"), *o = wu_path("out"), *e = wu_path("err");
	char *argv[8] = {bin};
	for (int i = 0; args[i]; i++)
		argv[i + 1] = (char *)args[i];
	int st = th_waitpid_timeout(th_spawn(argv, o, e, NULL), 30000);
	*out = th_read_file(o, NULL);
	*err = th_read_file(e, NULL);
	cr_assert(*out && *err);
	free(bin);
	free(o);
	free(e);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The records of out, in order: exactly "rec from" .. "rec to-1", each on a line of its own. */
static void assert_records(const char *out, int from, int to)
{
	const char *p = out;
	for (int i = from; i < to; i++) {
		char want[40];
		snprintf(want, sizeof want, " rec %d\n", i);
		const char *q = strstr(p, want);
		cr_assert(q, "record %d is there, after %d", i, i - 1);
		p = q + strlen(want);
	}
	cr_assert_null(strstr(p, " rec "), "and nothing after them");
}

static char msgs[900][32];

/* o's last records, then o closed: what the tool reads of its file (args) holds records 300..900, nothing
 * said. */
static void finish(struct output *o, const char *const *args)
{
	give(o, 600, 900, msgs);
	output_write(o, &wu_ring);
	output_close(o);
	char *out, *err;
	cr_assert_eq(shmlog(args, &out, &err), 0, "%s", err);
	cr_assert_str_empty(err, "nothing dropped or left unfinished: %s", err);
	assert_records(out, 300, 900);
	free(out);
	free(err);
}

/* One writer on path (the writers list), through the race. */
static void race(const char *writers, const char *path, const char *const *args)
{
	struct output o;
	wu_output_from(&o, wu_dir, writers);
	give(&o, 0, 300, msgs);
	output_write(&o, &wu_ring); /* what the copy took */
	truncated_between_look_and_write(&o, path, 300, 600, msgs);
	finish(&o, args);
}

Test(truncation_race, a_binary_log_writes_what_landed_alone_after_a_new_start)
{
	char *path = wu_path("b.bin"), list[512];
	snprintf(list, sizeof list, "( { type = \"binary\"; path = \"%s\"; } )", path);
	const char *args[] = {"decode", path, NULL};
	race(list, path, args);
	free(path);
}

Test(truncation_race, an_encrypted_file_writes_what_landed_alone_in_a_new_stream)
{
	char *path = wu_path("e.log"), *key = wu_path("k"), list[1024];
	uint8_t k[32];
	cr_assert_geq(sodium_init(), 0);
	randombytes_buf(k, sizeof k);
	int fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0 && write(fd, k, sizeof k) == (ssize_t)sizeof k && close(fd) == 0);
	snprintf(list, sizeof list, "( { type = \"file\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; } )", path, key);
	const char *args[] = {"decrypt", "--key", key, path, NULL};
	race(list, path, args);
	free(path);
	free(key);
}

/* SIGHUP with records not yet written (the reopen waits for them to finish the file), then the file
 * truncated (copytruncate as well as the signal): they go into the truncated file after a new start, the
 * file opened again after them, and the whole decodes. */
Test(truncation_race, a_binary_log_truncated_with_a_reopen_on_its_way_decodes_whole)
{
	char *path = wu_path("b.bin"), list[512];
	snprintf(list, sizeof list, "( { type = \"binary\"; path = \"%s\"; } )", path);
	const char *args[] = {"decode", path, NULL};
	struct output o;
	wu_output_from(&o, wu_dir, list);
	give(&o, 0, 300, msgs);
	output_write(&o, &wu_ring);
	give(&o, 300, 600, msgs);
	output_reopen(&o);
	cr_assert_eq(truncate(path, 0), 0);
	finish(&o, args);
	free(path);
}
