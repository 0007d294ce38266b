/*
 * test_routing.c — routing end to end: a real producer, a real collector
 * run with a routing config, and the files each writer wrote. The router's
 * own rules are tested one by one in test_router.c; here the seed's example
 * goes through the whole output side exactly as a user would run it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e_util.h"
#include "tests/helpers.h"

TestSuite(routing, .init = setup, .fini = teardown, .timeout = 60);

/* Run argv (argv[0] relative to the build dir) and wait up to 20 s; assert it exits 0. */
static void run_ok(char **argv, const char *out)
{
	char *bin = th_build_path(argv[0]);
	argv[0] = bin;
	pid_t p = th_spawn(argv, out, NULL, NULL);
	cr_assert_gt(p, 0);
	int st = th_waitpid_timeout(p, 20000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed: status %d", bin, st);
	free(bin);
}

/* Log the seed's records into dir, then drain them with one collector run over cfg (stdout to out). */
static void seed_and_collect(const char *cfg, const char *out)
{
	char *seed[] = {"tests/seed_prog", dir, NULL};
	run_ok(seed, NULL);
	char *collector[] = {"shmlog-collector", "--dir", dir, "--config", (char *)cfg, "--once", NULL};
	run_ok(collector, out);
}

/* The messages of the record lines of path ("LEVEL msg" each), in order, one per line. */
static char *messages(const char *path)
{
	char *text = th_read_file(path, NULL), *save = NULL, *out = calloc(1, 4096);
	cr_assert(text && out);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct parsed_line pl;
		if (!parse_line(l, &pl) || strncmp(pl.msg, "[shmlog]", 8) == 0)
			continue;
		snprintf(out + strlen(out), 4096 - strlen(out), "%s %s\n", pl.level, pl.msg);
	}
	free(text);
	return out;
}

Test(routing, seed_example_sends_each_record_where_the_routes_say)
{
	char *errors = wpath("errors.log"), *security = wpath("security.log"), *console = wpath("console.out");
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"console\";  type = \"console\"; },\n"
			    "  { name = \"errors\";   type = \"file\"; path = \"%s\"; },\n"
			    "  { name = \"security\"; type = \"file\"; path = \"%s\"; }\n"
			    ");\n"
			    "routes = (\n"
			    "  { level = [\"ERROR\", \"CRITICAL\"]; to = [\"errors\", \"console\"]; },\n"
			    "  { message = \"(login|logout|permission|access)\"; to = [\"security\"]; stop = true; }\n"
			    ");\n"
			    "default = [\"console\"];\n",
			    errors, security);
	seed_and_collect(cfg, console);
	char *e = messages(errors), *s = messages(security), *c = messages(console);
	cr_assert_str_eq(e, "ERROR Database error\nCRITICAL access denied\n");
	cr_assert_str_eq(s, "INFO User login successful\nCRITICAL access denied\n");
	cr_assert_str_eq(c, "ERROR Database error\nINFO Processing request\nDEBUG cache warm\n"
			    "CRITICAL access denied\n");
	free(e);
	free(s);
	free(c);
	free(errors);
	free(security);
	free(console);
	free(cfg);
}
