/*
 * test_cli_decrypt.c — what `shmlog decrypt` does with the files it is
 * given, whatever they hold: a FIFO, a directory, a device or a /proc file
 * as an input or as the key is refused in one line, without blocking.
 * What the files hold (damage, truncation) is test_encrypt_tamper.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e_util.h"
#include "enc_util.h"
#include "helpers.h"

TestSuite(cli_decrypt, .init = setup, .fini = teardown, .timeout = 240);

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

Test(cli_decrypt, a_fifo_directory_device_or_proc_file_is_refused_in_one_line_without_blocking)
{
	char *key = make_key("k", 0), *fifo = wpath("f.enc");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	const char *inputs[] = {fifo, work, "/dev/zero", "/proc/self/status"};
	const char *kinds[] = {"(a FIFO)", "(a directory)", "(a character device)", "(a kernel file"};
	for (int i = 0; i < 4; i++) {
		const char *args[] = {"decrypt", "--key", key, inputs[i], NULL};
		assert_refused(args, inputs[i], kinds[i]);
		const char *as_key[] = {"decrypt", "--key", inputs[i], fifo, NULL};
		assert_refused(as_key, inputs[i], "the key is not a regular file");
	}
	free(key);
	free(fifo);
}
