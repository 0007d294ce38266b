/*
 * test_compress.c — zstd compression of rotated files (collector/compress.c)
 * through the real output module: rotated files become .zst off the drain
 * loop and `zstd -d` gives back exactly their bytes; a stop after each step
 * (as a crash there) leaves the file or a complete .zst, and the next open
 * finishes or redoes it.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/compress.h"
#include "collector/output.h"
#include "tests/helpers.h"
#include "tests/writer_util.h"


TestSuite(compress, .init = wu_setup, .fini = wu_teardown, .timeout = 60);


/* What `zstd -d` makes of file name (malloc'd, NULL if it fails). */
static char *unzstd(const char *name)
{
	char *in = wu_path(name), *out = wu_path("unzstd.out");
	cr_assert(access("/usr/bin/zstd", X_OK) == 0, "zstd is not installed (./dev installs it)");
	char *text = th_zstd_d(in, out);
	free(in);
	free(out);
	return text;
}

/* A file of n numbered lines (compressible but not trivial). Returns its malloc'd text. */
static char *make_file(const char *name, int n)
{
	size_t cap = (size_t)n * 48 + 1, len = 0;
	char *text = malloc(cap);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "line %d of %d: %u\n", i, n, (unsigned)i * 2654435761u);
	char *p = wu_path(name);
	FILE *f = fopen(p, "w");
	cr_assert(f);
	fwrite(text, 1, len, f);
	fclose(f);
	free(p);
	return text;
}

struct settled {
	const char *plain, *zst, *tmp;
};

/* For th_wait_until: the worker is done with a file: plain gone, zst there, no tmp (full paths). */
static bool is_settled_at(void *arg)
{
	struct settled *s = arg;
	return access(s->plain, F_OK) != 0 && access(s->zst, F_OK) == 0 && access(s->tmp, F_OK) != 0;
}

/* is_settled_at, with names in wu_dir. */
static bool is_settled(void *arg)
{
	struct settled *s = arg;
	return !wu_exists(s->plain) && wu_exists(s->zst) && !wu_exists(s->tmp);
}

static void open_app(struct output *o, const char *keys)
{
	char list[1024];
	snprintf(list, sizeof list, "( { type = \"file\"; path = \"%s/app.log\"; %s } )", wu_dir, keys);
	wu_output_from(o, wu_dir, list);
}

Test(compress, rotated_files_become_zst_and_zstd_d_gives_back_their_bytes)
{
	char msg[8][32], keys[128];
	struct sbuf want[8] = {{0}};
	struct text_record r[8];
	for (int i = 0; i < 8; i++) {
		snprintf(msg[i], sizeof msg[i], "message %d", i);
		r[i] = wu_rec(3, msg[i], 1000000000ull * (uint64_t)i);
		text_append(&want[i], &r[i], TEXT_FORMAT_TEXT, false);
	}
	struct output o;
	snprintf(keys, sizeof keys, "max_bytes = %zu; compress = \"zstd\";", 2 * want[0].len); /* 2 a file */
	open_app(&o, keys);
	for (int i = 0; i < 8; i++) {
		output_add(&o, &r[i], NULL);
		output_write(&o, &wu_ring);
	}
	for (int f = 1; f <= 3; f++) {
		char plain[32], zst[32], tmp[32];
		snprintf(plain, sizeof plain, "app.log.%d", f);
		snprintf(zst, sizeof zst, "app.log.%d.zst", f);
		snprintf(tmp, sizeof tmp, "app.log.%d.zst.tmp", f);
		struct settled s = {plain, zst, tmp};
		cr_assert(th_wait_until(is_settled, &s, 20000), "%s was not compressed", plain);
		int first = 6 - 2 * f; /* app.log.1 holds records 4 and 5 */
		char *got = unzstd(zst), *expect;
		cr_assert(got, "zstd -d %s failed", zst);
		cr_assert(asprintf(&expect, "%.*s%.*s", (int)want[first].len, want[first].data, (int)want[first + 1].len,
				   want[first + 1].data) > 0);
		cr_assert_str_eq(got, expect, "%s", zst);
		free(got);
		free(expect);
	}
	output_close(&o);
	for (int i = 0; i < 8; i++)
		sbuf_free(&want[i]);
}

/* Stop compress_file after step, check what is on disk, then let an open finish it. */
static void stop_after_step(int step)
{
	char *text = make_file("app.log.1", 20000), *path = wu_path("app.log.1");
	cr_assert_eq(compress_file(path, 3, step), 0);
	cr_assert(wu_exists("app.log.1"), "the file is there until its .zst is complete");
	cr_assert_eq(wu_exists("app.log.1.zst"), step == 3, "no .zst before step 3 renamed it in place");
	cr_assert_eq(wu_exists("app.log.1.zst.tmp"), step < 3);
	struct output o;
	open_app(&o, "max_bytes = 1000000; compress = \"zstd\";");
	struct settled s = {"app.log.1", "app.log.1.zst", "app.log.1.zst.tmp"};
	cr_assert(th_wait_until(is_settled, &s, 20000), "the open did not finish the job");
	char *got = unzstd("app.log.1.zst");
	cr_assert(got && strcmp(got, text) == 0, "zstd -d gives back exactly the bytes");
	output_close(&o);
	free(got);
	free(text);
	free(path);
}

Test(compress, a_stop_after_writing_the_tmp_file_is_redone)
{
	stop_after_step(1);
}

Test(compress, a_stop_after_syncing_the_tmp_file_is_redone)
{
	stop_after_step(2);
}

Test(compress, a_stop_after_the_rename_is_finished)
{
	stop_after_step(3);
}

Test(compress, every_step_done_leaves_only_the_zst)
{
	char *text = make_file("app.log.2", 1000), *path = wu_path("app.log.2");
	cr_assert_eq(compress_file(path, 3, 0), 0);
	cr_assert(!wu_exists("app.log.2") && !wu_exists("app.log.2.zst.tmp"));
	char *got = unzstd("app.log.2.zst");
	cr_assert_str_eq(got, text);
	free(got);
	free(text);
	free(path);
}

Test(compress, backups_counts_a_file_and_its_zst_as_one)
{
	free(make_file("app.log.1", 10));
	free(make_file("app.log.1.zst", 10));
	free(make_file("app.log.2.zst", 10));
	free(make_file("app.log.3.zst", 10));
	struct output o;
	open_app(&o, "max_bytes = 1000000; backups = 2;");
	cr_assert(wu_exists("app.log.1") && wu_exists("app.log.1.zst") && wu_exists("app.log.2.zst"));
	cr_assert(!wu_exists("app.log.3.zst"));
	output_close(&o);
}

Test(compress, bad_compression_keys_get_one_line_naming_file_line_and_key)
{
	wu_refused("max_bytes = 1; compress = \"gzip\";", "compress: must be \"zstd\" or \"none\", not \"gzip\"");
	wu_refused("compress_level = 5;", "compress_level: only applies with compress = \"zstd\"");
	wu_refused("compress = \"zstd\";", "compress: only applies with max_bytes or rotate_every");
	wu_refused("max_bytes = 1; compress = \"zstd\"; compress_level = 0;", "compress_level: must be from 1 to 22, not 0");
	wu_refused("max_bytes = 1; compress = \"zstd\"; compress_level = 23;", "compress_level: must be from 1 to 22, not 23");
}

Test(compress, a_job_that_fails_on_a_full_disk_is_done_once_space_returns)
{
	char *mnt = wu_path("mnt");
	cr_assert_eq(mkdir(mnt, 0755), 0);
	if (!th_mount_tmpfs(mnt, "1m"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	char *rotated = th_path(mnt, "app.log.1"), *filler = th_path(mnt, "filler"), *err = wu_path("stderr");
	FILE *f = fopen(rotated, "w");
	cr_assert(f);
	uint32_t x = 12345;
	for (int i = 0; i < 400000; i++) { /* 400 KB that zstd cannot shrink much */
		x = x * 1103515245u + 12345u;
		fputc("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[x >> 26], f);
	}
	fclose(f);
	char *want = th_read_file(rotated, NULL);
	th_fill_disk(filler);
	int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(2);
	dup2(fd, 2);
	char list[1024];
	snprintf(list, sizeof list, "( { type = \"file\"; path = \"%s/app.log\"; max_bytes = 1000000; compress = \"zstd\"; } )",
		 mnt);
	struct output o;
	wu_output_from(&o, wu_dir, list);
	struct th_file_has failed = {err, "cannot compress"};
	cr_assert(th_wait_until(th_file_has_text, &failed, 10000), "the failure is reported");
	cr_assert(access(rotated, F_OK) == 0, "the file stays");
	unlink(filler);
	char zst[4096], tmp[4096];
	snprintf(zst, sizeof zst, "%s.zst", rotated);
	snprintf(tmp, sizeof tmp, "%s.zst.tmp", rotated);
	struct settled s = {rotated, zst, tmp};
	bool settled = th_wait_until(is_settled_at, &s, 10000);
	dup2(saved, 2);
	char *said = th_read_file(err, NULL);
	cr_assert(settled, "tried again once space returned; said: %s", said);
	free(said);
	output_close(&o);
	char *scratch = wu_path("unzstd.out"), *got = th_zstd_d(zst, scratch);
	cr_assert(got && strcmp(got, want) == 0, "zstd -d gives back exactly the bytes");
	th_umount(mnt);
	free(got);
	free(scratch);
	free(want);
	free(rotated);
	free(filler);
	free(err);
	free(mnt);
}
