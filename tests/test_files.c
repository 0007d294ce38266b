/*
 * test_files.c — the file writers end to end: a real collector, the test
 * producer, rotation while records flow (nothing lost, nothing repeated,
 * no file past max_bytes, no record split between files).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"

TestSuite(files, .init = setup, .fini = teardown, .timeout = 240);

/* Append file path to the open file all; assert it ends a line. Returns its size. */
static long append_file(FILE *all, const char *path)
{
	size_t len;
	char *text = th_read_file(path, &len);
	cr_assert(text, "%s is missing", path);
	cr_assert(len == 0 || text[len - 1] == '\n', "%s ends inside a record", path);
	fwrite(text, 1, len, all);
	free(text);
	return (long)len;
}

/* Concatenate work/app.log.N .. app.log.1, app.log into work/all.log, asserting each is at most max bytes.
 * Returns the number of rotated files. */
static int join_rotated(const char *app, const char *all_path, long max)
{
	int n = 0;
	char p[4096];
	for (;;) {
		snprintf(p, sizeof p, "%s.%d", app, n + 1);
		if (access(p, F_OK) != 0)
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

Test(files, size_rotation_while_four_threads_log_loses_and_repeats_nothing)
{
	char *app = wpath("app.log"), *all = wpath("all.log"), *pout = wpath("prod.out"), *cout = wpath("c.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; max_bytes = 262144; backups = 10000; } );\n",
			    app);
	pid_t c = start_collector(cout, NULL, "--config", cfg);
	char *args[] = {"-t", "4", "-r", "50000", "-p", "block", "-f", "30000", "-C", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert(th_wait_until(no_segments, NULL, 10000), "segment not removed after close");
	stop_collector(c);
	int n = join_rotated(app, all, 262144);
	cr_assert_geq(n, 30, "only %d rotations", n);
	struct tally ty = {.threads = 4, .records = 50000};
	tally_output(all, &ty);
	cr_assert_eq(ty.seen, 200000, "saw %ld of 200000 records", ty.seen);
	for (int t = 0; t < 4; t++)
		cr_assert_eq(ty.last[t], 49999);
	cr_assert_eq(ty.lost, 0);
	free(ty.last);
	free(app);
	free(all);
	free(pout);
	free(cout);
	free(cfg);
}
