/*
 * test_cli_decrypt.c — what `shmlog decrypt` does with the files it is
 * given, whatever they hold: a FIFO, a directory, a device or a /proc file
 * as an input or as the key is refused in one line, without blocking; an
 * output (-o OUT, or standard output) that is an input or the key is refused
 * and both are left as they were; OUT is replaced only once every input and
 * the key are known good and the whole output is written, by a file of mode
 * 0600 (through a symbolic link, the file it names); a full disk leaves OUT
 * as it was; a device as OUT is written, a FIFO that no process reads is
 * refused. The encrypted files are a real collector's. What the files hold
 * (damage, truncation) is test_encrypt_tamper.c.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "enc_util.h"
#include "helpers.h"

TestSuite(cli_decrypt, .timeout = 240); /* each test: setup and teardown, or files_setup and files_teardown */

/* Lines in s. */
static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Run shmlog with args: exit 1, nothing on standard output, one line on standard error holding want and
 * naming path. Returns nothing. */
static void assert_refused(const char *const *args, const char *path, const char *want)
{
	struct ran r = run_shmlog(args);
	cr_assert_eq(r.status, 1, "status %d, not 1 (-1: it blocked): %s", r.status, r.err);
	cr_assert_eq(lines(r.err), 1, "one line: %s", r.err);
	cr_assert(strstr(r.err, path) && strstr(r.err, want), "want \"%s: ...%s\" in: %s", path, want, r.err);
	cr_assert_eq(r.out_len, 0, "nothing written out");
	ran_free(&r);
}

Test(cli_decrypt, a_fifo_directory_device_or_proc_file_is_refused_in_one_line_without_blocking, .init = setup,
     .fini = teardown)
{
	char *k = make_key("k", 0), *fifo = wpath("f.enc");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	const char *inputs[] = {fifo, work, "/dev/zero", "/proc/self/status"};
	const char *kinds[] = {"(a FIFO)", "(a directory)", "(a character device)", "(a kernel file"};
	for (int i = 0; i < 4; i++) {
		const char *args[] = {"decrypt", "--key", k, inputs[i], NULL};
		assert_refused(args, inputs[i], kinds[i]);
		const char *as_key[] = {"decrypt", "--key", inputs[i], fifo, NULL};
		assert_refused(as_key, inputs[i], "the key is not a regular file");
	}
	free(k);
	free(fifo);
}

static char *key, *plain, *enc, *out; /* out: work/plain.log, an output */

/* A collector writes the same records to plain (t.log) and encrypted with key to enc (e.log); out is
 * named, not made. */
static void files_setup(void)
{
	setup();
	key = make_key("k", 0);
	plain = wpath("t.log");
	enc = wpath("e.log");
	out = wpath("plain.log");
	char members[4200];
	snprintf(members, sizeof members, "key_file = \"%s\";", key);
	collect_encrypted(plain, enc, members, 3000);
}

static void files_teardown(void)
{
	free(key);
	free(plain);
	free(enc);
	free(out);
	teardown();
}

/* A file's bytes, to compare with later. */
struct saved {
	const char *path;
	char *data;
	size_t len;
};

static struct saved save(const char *path)
{
	struct saved v = {.path = path};
	v.data = th_read_file(path, &v.len);
	cr_assert(v.data, "%s missing", path);
	return v;
}

/* Assert that the file holds what it held when saved, and free what was saved. */
static void assert_unchanged(struct saved *v)
{
	assert_same_bytes(v->data, v->len, v->path);
	free(v->data);
}

/* Entries in the directory path (the new file of a failed or refused output would be one more). */
static int entries(const char *path)
{
	DIR *d = opendir(path);
	cr_assert(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Write text to path with mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(cli_decrypt, an_output_that_is_an_input_or_the_key_is_refused_and_both_are_left_as_they_were,
     .init = files_setup, .fini = files_teardown)
{
	char *hard = wpath("hard.log"), *sym = wpath("sym.key");
	cr_assert(link(enc, hard) == 0 && symlink(key, sym) == 0);
	const char *outs[] = {enc, hard, key, sym};
	const char *names[] = {enc, enc, key, key};
	for (int i = 0; i < 4; i++) {
		struct saved e = save(enc), k = save(key);
		const char *args[] = {"decrypt", "--key", key, "-o", outs[i], enc, NULL};
		assert_refused(args, names[i], "and the output (-o ");
		assert_unchanged(&e);
		assert_unchanged(&k);
	}
	free(hard);
	free(sym);
}

/* `shmlog decrypt --key key file` with its standard output appended to file (as `>> file`): exit 1, one
 * line, the file left as it was. Returns nothing. */
static void assert_appending_refused(const char *file)
{
	struct saved v = save(file);
	char *bin = th_build_path("shmlog"), *err = wpath("tool.err");
	char *argv[] = {bin, "decrypt", "--key", key, (char *)file, NULL};
	pid_t p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		int fd = open(file, O_WRONLY | O_APPEND), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || e < 0 || dup2(fd, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execv(bin, argv);
		_exit(127);
	}
	int st = th_waitpid_timeout(p, 60000);
	char *said = th_read_file(err, NULL);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit 1: %s", said);
	cr_assert(lines(said) == 1 && strstr(said, file) && strstr(said, "and the output (standard output)"),
		  "%s", said);
	assert_unchanged(&v);
	free(said);
	free(err);
	free(bin);
}

Test(cli_decrypt, a_standard_output_that_is_an_input_or_the_key_is_refused, .init = files_setup,
     .fini = files_teardown)
{
	assert_appending_refused(enc);
	assert_appending_refused(key);
}

Test(cli_decrypt, an_existing_output_is_left_as_it_was_when_an_input_or_the_key_cannot_be_used_or_opens_nothing,
     .init = files_setup, .fini = files_teardown)
{
	char *typo = wpath("typo.log"), *fifo = wpath("f.log"), *nokey = wpath("no.key"), *other = make_key("o", 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	write_file(out, "kept\n", 0644);
	int n = entries(work);
	const char *cases[][8] = {
		{"decrypt", "--key", key, "-o", out, typo, NULL},      /* nothing to decrypt */
		{"decrypt", "--key", key, "-o", out, enc, typo},       /* a good input, then a missing one */
		{"decrypt", "--key", key, "-o", out, fifo, enc},       /* a FIFO, then a good input */
		{"decrypt", "--key", nokey, "-o", out, enc, NULL},     /* no key */
		{"decrypt", "--key", plain, "-o", out, enc, NULL},     /* a file that is no key */
		{"decrypt", "--key", other, "-o", out, enc, NULL},     /* the wrong key: nothing decrypted */
		{"decrypt", "--key", key, "-o", out, plain, NULL},     /* no encrypted log: nothing decrypted */
	};
	const char *named[] = {typo, typo, fifo, nokey, plain, enc, plain};
	for (int i = 0; i < 7; i++) {
		struct saved v = save(out);
		assert_refused(cases[i], named[i], ": ");
		assert_unchanged(&v);
		cr_assert_eq(entries(work), n, "case %d: no file left beside the output", i);
	}
	free(typo);
	free(fifo);
	free(nokey);
	free(other);
}

/* Assert that the file at path holds the plaintext: all of it, or (whole false) a start of it. */
static void assert_holds_plain(const char *path, bool whole)
{
	size_t len = 0, want_len = 0;
	char *got = th_read_file(path, &len), *want = th_read_file(plain, &want_len);
	cr_assert(got && want, "%s", path);
	cr_assert(whole ? len == want_len : len > 0 && len < want_len, "%s: %zu bytes, plain %zu", path, len,
		  want_len);
	cr_assert(memcmp(got, want, len) == 0, "%s holds what plain holds", path);
	free(got);
	free(want);
}

/* Decrypt file with -o to: exit status status, nothing on standard output, to holding the plaintext (all
 * of it for status 0, else a start of it), mode 0600, and no file left beside it. Returns nothing. */
static void decrypt_to(const char *file, const char *to, int status)
{
	int n = entries(work) + (access(to, F_OK) != 0);
	const char *args[] = {"decrypt", "--key", key, "-o", to, file, NULL};
	struct ran r = run_shmlog(args);
	cr_assert_eq(r.status, status, "status %d, not %d: %s", r.status, status, r.err);
	cr_assert_eq(r.out_len, 0);
	ran_free(&r);
	struct stat st;
	cr_assert_eq(stat(to, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %04o, not 0600", (unsigned)(st.st_mode & 07777));
	cr_assert_eq(entries(work), n, "no file left beside the output");
	assert_holds_plain(to, status == 0);
}

Test(cli_decrypt, the_output_replaces_an_existing_file_whole_by_one_of_mode_0600, .init = files_setup,
     .fini = files_teardown)
{
	char *fresh = wpath("fresh.log");
	struct stat st;
	cr_assert_eq(stat(plain, &st), 0);
	char *old = malloc((size_t)st.st_size + 65);
	cr_assert(old);
	memset(old, 'x', (size_t)st.st_size + 64); /* longer than the plaintext: none of it may be left */
	old[st.st_size + 64] = 0;
	write_file(out, old, 0644);
	free(old);
	decrypt_to(enc, out, 0);
	decrypt_to(enc, fresh, 0);
	free(fresh);
}

Test(cli_decrypt, an_input_cut_short_still_replaces_the_output_by_its_intact_records, .init = files_setup,
     .fini = files_teardown)
{
	char *cut = wpath("cut.log");
	size_t len = 0;
	char *e = th_read_file(enc, &len);
	FILE *f = fopen(cut, "w");
	cr_assert(e && f && fwrite(e, 1, len / 2, f) == len / 2 && fclose(f) == 0);
	free(e);
	write_file(out, "old\n", 0644);
	decrypt_to(cut, out, 3);
	free(cut);
}

Test(cli_decrypt, an_output_that_cannot_be_written_whole_leaves_the_file_as_it_was, .init = files_setup,
     .fini = files_teardown)
{
	char *small = wpath("small");
	cr_assert_eq(mkdir(small, 0700), 0);
	if (!th_mount_tmpfs(small, "64k"))
		cr_skip_test("cannot mount a tmpfs here (not root)");
	struct stat st;
	cr_assert(stat(plain, &st) == 0 && st.st_size > 128 * 1024, "the plaintext outgrows the file system");
	char *full = th_path(small, "plain.log");
	write_file(full, "kept\n", 0644);
	struct saved v = save(full);
	const char *args[] = {"decrypt", "--key", key, "-o", full, enc, NULL};
	struct ran r = run_shmlog(args);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert(lines(r.err) == 1 && strstr(r.err, full) && strstr(r.err, "No space left"), "%s", r.err);
	ran_free(&r);
	assert_unchanged(&v);
	cr_assert_eq(entries(small), 1, "the partial output removed");
	th_umount(small);
	free(full);
	free(small);
}

Test(cli_decrypt, a_device_as_output_is_written_and_a_fifo_no_process_reads_is_refused_without_blocking,
     .init = files_setup, .fini = files_teardown)
{
	const char *to_null[] = {"decrypt", "--key", key, "-o", "/dev/null", enc, NULL};
	struct ran r = run_shmlog(to_null);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	ran_free(&r);
	struct stat st;
	cr_assert(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null is still the device");
	char *fifo = wpath("out.fifo");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	const char *to_fifo[] = {"decrypt", "--key", key, "-o", fifo, enc, NULL};
	assert_refused(to_fifo, fifo, "a FIFO that no process reads");
	const char *to_dir[] = {"decrypt", "--key", key, "-o", work, enc, NULL};
	assert_refused(to_dir, work, "Is a directory");
	free(fifo);
}

Test(cli_decrypt, an_output_named_by_a_symbolic_link_replaces_the_file_it_names_and_keeps_the_link,
     .init = files_setup, .fini = files_teardown)
{
	char *sym = wpath("sym.log"), *dangling = wpath("dangling.log");
	write_file(out, "old\n", 0644);
	cr_assert(symlink(out, sym) == 0 && symlink("nothing", dangling) == 0);
	decrypt_to(enc, sym, 0);
	assert_holds_plain(out, true);  /* the file the link names */
	struct stat st;
	cr_assert(lstat(sym, &st) == 0 && S_ISLNK(st.st_mode), "the link is still a link");
	const char *to_dangling[] = {"decrypt", "--key", key, "-o", dangling, enc, NULL};
	assert_refused(to_dangling, dangling, "a symbolic link to nothing");
	/* -o /dev/stdout with standard output a regular file: that file gets the output, /dev/stdout stays */
	const char *to_stdout[] = {"decrypt", "--key", key, "-o", "/dev/stdout", enc, NULL};
	struct ran r = run_shmlog(to_stdout);
	cr_assert_eq(r.status, 0, "%s", r.err);
	assert_same_bytes(r.out, r.out_len, plain);
	ran_free(&r);
	cr_assert(lstat("/dev/stdout", &st) == 0 && S_ISLNK(st.st_mode), "/dev/stdout is still a link");
	free(sym);
	free(dangling);
}

/* A file of several streams (one per collector start) read with another key: one line for all of them. */
Test(cli_decrypt, a_file_of_three_streams_read_with_the_wrong_key_says_so_in_one_line, .init = files_setup,
     .fini = files_teardown)
{
	char *three = wpath("three.log"), *other = make_key("o", 0);
	size_t len;
	char *bytes = th_read_file(enc, &len);
	cr_assert(bytes);
	FILE *f = fopen(three, "w");
	cr_assert(f);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(fwrite(bytes, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	const char *files[] = {three, NULL};
	struct ran r = decrypt(key, 0, files);
	cr_assert_eq(r.status, 0, "three intact streams: %s", r.err);
	ran_free(&r);
	r = decrypt(other, 0, files);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(r.out_len, 0, "nothing decrypts");
	cr_assert_eq(lines(r.err), 1, "one line: %s", r.err);
	char want[256];
	snprintf(want, sizeof want, "%s: 3 of its 3 streams, from stream 1 (byte 0): wrong key: written for key id ", three);
	cr_assert(strstr(r.err, want) && strstr(r.err, other), "want \"%s...\" in: %s", want, r.err);
	ran_free(&r);
	free(bytes);
	free(three);
	free(other);
}
