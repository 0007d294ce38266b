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

/* Log the seed's records (mode "fields": those with fields) into dir, then drain them with one
 * collector run over cfg (stdout to out). */
static void seed_and_collect(const char *cfg, const char *out, const char *mode)
{
	char *seed[] = {"tests/seed_prog", dir, (char *)mode, NULL};
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
	seed_and_collect(cfg, console, NULL);
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

/* A message regex sees the message as logged, not as the text line escapes it (a tab is a tab there,
 * not "\t"), whatever writers it is written to. */
Test(routing, a_message_regex_sees_the_message_not_its_escaped_line)
{
	char *special = wpath("special.log"), *json = wpath("special.json"), *console = wpath("console.out");
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"console\"; type = \"console\"; },\n"
			    "  { name = \"special\"; type = \"file\"; path = \"%s\"; },\n"
			    "  { name = \"json\"; type = \"file\"; path = \"%s\"; format = \"json\"; }\n"
			    ");\n"
			    /* a tab, a backslash, a newline (PCRE2's escapes, in libconfig's), or "free" */
			    "routes = ( { message = \"a\\\\tb|c:\\\\\\\\d|two\\\\nlines|free\"; to = [\"special\", \"json\"]; stop = true; } );\n"
			    "default = [\"console\"];\n",
			    special, json);
	seed_and_collect(cfg, console, "escapes");
	char *s = messages(special), *c = messages(console), *j = th_read_file(json, NULL);
	cr_assert_str_eq(s, "INFO tab a\\tb\nINFO path c:\\\\d\nINFO two\\nlines 2\nINFO plain tab-free text\n");
	cr_assert_str_eq(c, "INFO tab a\\\\tb (a backslash and a t)\n");
	cr_assert(j && strstr(j, "\"msg\":\"tab a\\tb\"") && strstr(j, "\"msg\":\"plain tab-free text\""), "%s", j);
	free(s);
	free(c);
	free(j);
	free(special);
	free(json);
	free(console);
	free(cfg);
}

Test(routing, field_filters_route_by_presence_and_typed_value)
{
	char *admins = wpath("admins.log"), *users = wpath("users.json"), *console = wpath("console.out");
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"console\"; type = \"console\"; },\n"
			    "  { name = \"admins\"; type = \"file\"; path = \"%s\"; },\n"
			    "  { name = \"users\"; type = \"file\"; path = \"%s\"; format = \"json\"; }\n"
			    ");\n"
			    "routes = (\n"
			    "  { fields = { user_id = 12345; admin = true; }; to = [\"admins\"]; stop = true; },\n"
			    "  { has_field = [\"user_id\"]; to = [\"users\"]; }\n"
			    ");\n"
			    "default = [\"console\"];\n",
			    admins, users);
	seed_and_collect(cfg, console, "fields");
	char *a = messages(admins), *c = messages(console), *u = th_read_file(users, NULL);
	cr_assert_str_eq(a, "INFO user root logged in user_id=12345 admin=true\n");
	cr_assert_str_eq(c, "ERROR order rejected order=18446744073709551615 note=(null)\nINFO no fields\n");
	cr_assert(u && strstr(u, "\"msg\":\"user bob logged in\",\"fields\":{\"user_id\":12345,\"admin\":false}}\n"),
		  "%s", u);
	cr_assert(strstr(u, "\"msg\":\"slow\",\"fields\":{\"user_id\":777,\"ip\":\"10.0.0.1 x\",\"px\":1.5}}\n"),
		  "%s", u);
	cr_assert(!strstr(u, "root"), "a route with stop keeps the record from the later routes: %s", u);
	free(a);
	free(c);
	free(u);
	free(admins);
	free(users);
	free(console);
	free(cfg);
}

/* Run shmlog-collector --check-config cfg; stdout and stderr into files. Returns the exit status. */
static int check_config(const char *cfg, const char *out, const char *err)
{
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--check-config", (char *)cfg, NULL};
	pid_t p = th_spawn(argv, out, err, NULL);
	cr_assert_gt(p, 0);
	int st = th_waitpid_timeout(p, 10000);
	free(bin);
	cr_assert(WIFEXITED(st), "status %d", st);
	return WEXITSTATUS(st);
}

Test(routing, check_config_prints_each_writer_and_route_and_opens_nothing)
{
	char *errors = wpath("errors.log"), *out = wpath("out"), *err = wpath("err");
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"console\"; type = \"console\"; },\n"
			    "  { name = \"errors\"; type = \"file\"; path = \"%s\"; format = \"json\"; min_level = \"warn\"; },\n"
			    "  { name = \"audit\"; type = \"console\"; stream = \"stderr\"; },\n"
			    "  { name = \"all\"; type = \"binary\"; path = \"%s.bin\"; }\n"
			    ");\n"
			    "routes = ( { level = [\"ERROR\"]; to = [\"errors\"]; stop = true; } );\n"
			    "default = [\"console\", \"all\"];\n",
			    errors, errors);
	cr_assert_eq(check_config(cfg, out, err), 0);
	char *o = th_read_file(out, NULL), *e = th_read_file(err, NULL), want[2048];
	snprintf(want, sizeof want,
		 "writer console: type console, format text, min_level TRACE\n"
		 "writer errors: type file, format json, min_level WARN, path %s, mode 0640\n"
		 "writer audit: type console, format text, min_level TRACE\n"
		 "writer all: type binary, min_level TRACE, path %s.bin, mode 0640\n" /* no format: it writes no lines */
		 "route 1: level in [ERROR] -> errors (stop)\n"
		 "default -> console, all\n"
		 "%s: OK\n",
		 errors, errors, cfg);
	cr_assert_str_eq(o, want);
	snprintf(want, sizeof want,
		 "shmlog-collector: warning: %s:4: writers.[2]: writer \"audit\" is not reachable: no route and no "
		 "default names it\n",
		 cfg);
	cr_assert_str_eq(e, want);
	cr_assert_neq(access(errors, F_OK), 0, "checking a config creates no log file");
	free(o);
	free(e);
	free(errors);
	free(out);
	free(err);
	free(cfg);
}

Test(routing, check_config_shows_rotation_encryption_and_the_receiver_escaped)
{
	char *log = wpath("a.log"), *key = wpath("k.key"), *out = wpath("out"), *err = wpath("err");
	char *argv[] = {th_build_path("shmlog"), "keygen", key, NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(argv, out, err, NULL), 20000), 0);
	char *cfg = wconfig("writers = (\n"
			    "  { name = \"a\\nb\"; type = \"file\"; path = \"%s\"; max_bytes = 1000; backups = 2;\n"
			    "    rotate_every = \"daily\"; rotate_at = \"03:30\"; compress = \"zstd\";\n"
			    "    encrypt = { key_file = \"%s\"; }; },\n"
			    "  { name = \"s\"; type = \"syslog\"; transport = \"tcp\"; host = \"127.0.0.1\"; port = 6514;\n"
			    "    framing = \"lf\"; }\n"
			    ");\n",
			    log, key);
	cr_assert_eq(check_config(cfg, out, err), 0);
	char *o = th_read_file(out, NULL), want[4096];
	snprintf(want, sizeof want,
		 "writer a\\nb: type file, format text, min_level TRACE, path %s, mode 0640, max_bytes 1000, "
		 "rotate_every daily at 03:30 UTC, backups 2, encrypt xchacha20poly1305, key ", log);
	cr_assert(o && strncmp(o, want, strlen(want)) == 0, "%s", o);
	const char *k = o + strlen(want), *nl = strchr(k, '\n');
	cr_assert(nl && strspn(k, "0123456789abcdef") == 16, "a key id: %s", k);
	cr_assert(strncmp(k + 16, ", zstd level 3 before sealing\n", strlen(", zstd level 3 before sealing\n")) == 0, "%s",
		  k + 16);
	cr_assert(strstr(nl + 1, "writer s: type syslog, min_level TRACE, transport tcp to 127.0.0.1 port 6514, framing lf\n"),
		  "%s", nl + 1);
	cr_assert(strstr(nl + 1, "default -> every writer (a\\nb, s)\n"), "the name escaped: %s", nl + 1);
	free(argv[0]);
	free(o);
	free(log);
	free(key);
	free(out);
	free(err);
	free(cfg);
}

Test(routing, check_config_fails_with_the_one_error_line)
{
	char *out = wpath("out"), *err = wpath("err");
	char *cfg = wconfig("writers = ( { name = \"console\"; type = \"console\"; } );\n"
			    "routes = ( { to = [\"console\"]; },\n"
			    "  { message = \"(login\"; to = [\"console\"]; } );\n");
	cr_assert_eq(check_config(cfg, out, err), 1);
	char *e = th_read_file(err, NULL), want[1024];
	snprintf(want, sizeof want,
		 "shmlog-collector: %s:3: routes.[1].message: bad regex at offset 6: missing closing parenthesis\n", cfg);
	cr_assert_str_eq(e, want);
	free(e);
	free(out);
	free(err);
	free(cfg);
}

Test(routing, check_config_with_other_options_is_a_usage_error)
{
	char *bin = th_build_path("shmlog-collector"), *err = wpath("err");
	char *argv[] = {bin, "--check-config", "x.conf", "--once", NULL};
	pid_t p = th_spawn(argv, "/dev/null", err, NULL);
	int st = th_waitpid_timeout(p, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	char *e = th_read_file(err, NULL);
	cr_assert(strstr(e, "--check-config takes no other option") && strstr(e, "usage:"), "%s", e);
	free(e);
	free(err);
	free(bin);
}

Test(routing, check_config_and_help_into_a_full_output_say_so_and_exit_1)
{
	char *err = wpath("err"), *cfg = wconfig("writers = ( { type = \"console\"; } );\n");
	cr_assert_eq(check_config(cfg, "/dev/full", err), 1);
	char *e = th_read_file(err, NULL);
	cr_assert_str_eq(e, "shmlog-collector: standard output: write failed: No space left on device\n");
	free(e);
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--help", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, "/dev/full", err, NULL), 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
	free(bin);
	free(cfg);
	free(err);
}
