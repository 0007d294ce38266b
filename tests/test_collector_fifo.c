/*
 * test_collector_fifo.c — a FIFO where the collector's config names a file:
 * a writer's path, a key file, a recipient file. Each is refused with one
 * line naming the file and the key, at once, and never waited on for the
 * other end of the pipe (a real shmlog-collector, with a bounded wait).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"

static char *dir;

static void setup(void)
{
	dir = th_mkdtemp(false);
}

static void teardown(void)
{
	th_rmrf(dir);
	free(dir);
}

TestSuite(collector_fifo, .init = setup, .fini = teardown);

/* Run shmlog-collector --check-config or (mode "--once") --once on a config of writers (a libconfig
 * list); assert exit 1 within 10 s and one line on stderr holding want1 and want2. */
static void refused(const char *mode, const char *writers, const char *want1, const char *want2)
{
	char *cfg = th_path(dir, "c.conf"), *err = th_path(dir, "err"), *seg = th_path(dir, "seg");
	mkdir(seg, 0700);
	FILE *f = fopen(cfg, "w");
	cr_assert(f);
	fprintf(f, "collector: { dir = \"%s\"; };\nwriters = %s;\n", seg, writers);
	fclose(f);
	char *bin = th_build_path("shmlog-collector");
	char *check[] = {bin, "--check-config", cfg, NULL}, *once[] = {bin, "--once", "--config", cfg, NULL};
	int st = th_waitpid_timeout(th_spawn(strcmp(mode, "--once") ? check : once, NULL, err, NULL), 10000);
	cr_assert(st >= 0, "%s %s: still running after 10 s (waiting on the FIFO?)", bin, mode);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s: exit 1", mode);
	char *text = th_read_file(err, NULL);
	cr_assert(text && strstr(text, want1) && strstr(text, want2), "want \"%s\" and \"%s\" in: %s", want1, want2,
		  text ? text : "");
	cr_assert_eq(strchr(text, '\n'), text + strlen(text) - 1, "one line: %s", text);
	free(text);
	free(bin);
	free(seg);
	free(err);
	free(cfg);
}

static char *fifo(const char *name)
{
	char *p = th_path(dir, name);
	cr_assert_eq(mkfifo(p, 0600), 0);
	return p;
}

Test(collector_fifo, a_file_or_binary_writer_on_a_fifo_is_refused_at_start)
{
	char *p = fifo("pipe"), w[1024];
	const char *types[] = {"file", "binary"};
	for (int i = 0; i < 2; i++) {
		snprintf(w, sizeof w, "( { type = \"%s\"; name = \"w\"; path = \"%s\"; } )", types[i], p);
		refused("--once", w, "c.conf:2: writers.[0].path: ", "is a FIFO: this writer writes files");
	}
	free(p);
}

Test(collector_fifo, a_key_or_recipient_file_that_is_a_fifo_is_a_config_error)
{
	char *p = fifo("key"), *log = th_path(dir, "x.enc"), w[1024];
	const char *keys[] = {"key_file", "recipient_file"};
	for (int i = 0; i < 2; i++) {
		snprintf(w, sizeof w, "( { type = \"file\"; name = \"w\"; path = \"%s\"; encrypt = { %s = \"%s\"; }; } )",
			 log, keys[i], p);
		char want[64];
		snprintf(want, sizeof want, "writers.[0].encrypt.%s: ", keys[i]);
		refused("--check-config", w, want, "is not a regular file");
		refused("--once", w, want, "is not a regular file");
	}
	free(log);
	free(p);
}
