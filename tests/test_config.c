/*
 * test_config.c — loading the collector's config (collector/config.c) and
 * opening its writers: defaults, a full valid file, and one test per class
 * of error, each asserting the exact "FILE:LINE: KEY: problem" line.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/config.h"
#include "collector/output.h"
#include "tests/helpers.h"

static char *tmpdir;
static char cfg_path[512];

static void setup(void)
{
	tmpdir = th_mkdtemp(false);
	cr_assert(tmpdir);
	snprintf(cfg_path, sizeof cfg_path, "%s/collector.conf", tmpdir);
}

static void teardown(void)
{
	th_rmrf(tmpdir);
	free(tmpdir);
}

TestSuite(config, .init = setup, .fini = teardown);

static void write_config(const char *text)
{
	FILE *f = fopen(cfg_path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

/* Load text, expect failure with exactly "<cfg_path>:<rest>". */
static void expect_error(const char *text, int want_ret, const char *rest)
{
	write_config(text);
	struct collector_config c;
	struct diag d;
	int r = config_load(&c, cfg_path, &d, NULL);
	char want[1024];
	snprintf(want, sizeof want, "%s:%s", cfg_path, rest);
	cr_assert_eq(r, want_ret, "ret %d (%s)", r, d.msg);
	cr_assert_str_eq(d.msg, want);
	cr_assert_eq(c.n_writers, 0);
}

/* config_load, then output_open as the collector does. Returns the first failure's result. */
static int load_and_open(struct collector_config *c, struct output *o, struct diag *d)
{
	int r = config_load(c, cfg_path, d, NULL);
	if (r == 0 && (r = output_open(o, c, d)) < 0)
		config_free(c);
	return r;
}

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	cr_assert(dir);
	int n = 0;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

Test(config, uses_defaults_and_one_console_writer_without_a_file)
{
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, NULL, &d, NULL), 0);
	cr_assert_str_eq(c.dir, "");
	cr_assert_eq(c.merge_window_us, 100);
	cr_assert_eq(c.poll_max_ms, 20);
	cr_assert_eq(c.sleep_after_ms, 500);
	cr_assert_eq(c.idle_poll_ms, 200);
	cr_assert_eq(c.rescan_ms, 1000);
	cr_assert_eq(c.n_writers, 1);
	cr_assert_str_eq(c.writers[0].name, "console");
	cr_assert_eq(c.writers[0].ops, writer_lookup("console"));
	cr_assert_eq(c.writers[0].fd, STDOUT_FILENO);
	cr_assert_eq(c.writers[0].min_level, TEXT_LEVEL_TRACE);
	cr_assert_eq(c.writers[0].format, TEXT_FORMAT_TEXT);
	config_free(&c);
	cr_assert_eq(c.n_writers, 0);
}

Test(config, loads_a_full_valid_config)
{
	char text[2048], log_path[600];
	snprintf(log_path, sizeof log_path, "%s/app.log", tmpdir);
	snprintf(text, sizeof text,
		 "# full example\n"
		 "collector: {\n"
		 "  dir = \"/dev/shm/shmlog-test\";\n"
		 "  merge_window_us = 250;\n"
		 "  poll_max_ms = 5;\n"
		 "  sleep_after_ms = 0;\n"
		 "  idle_poll_ms = 1000;\n"
		 "  rescan_ms = 250;\n"
		 "};\n"
		 "writers = (\n"
		 "  { type = \"console\"; stream = \"stderr\"; color = \"never\"; min_level = \"debug\"; },\n"
		 "  { type = \"file\"; name = \"app\"; path = \"%s\"; mode = 0600;\n"
		 "    min_level = \"WARN\"; format = \"json\"; }\n"
		 ");\n",
		 log_path);
	write_config(text);
	mode_t old = umask(022);
	struct collector_config c;
	struct diag d;
	int r = config_load(&c, cfg_path, &d, NULL);
	cr_assert_eq(r, 0, "%s", d.msg);
	struct stat st;
	cr_assert_neq(stat(log_path, &st), 0, "loading a config opens no file");
	cr_assert_str_eq(c.dir, "/dev/shm/shmlog-test");
	cr_assert_eq(c.merge_window_us, 250);
	cr_assert_eq(c.poll_max_ms, 5);
	cr_assert_eq(c.sleep_after_ms, 0);
	cr_assert_eq(c.idle_poll_ms, 1000);
	cr_assert_eq(c.rescan_ms, 250);
	cr_assert_eq(c.n_writers, 2);

	struct writer *con = &c.writers[0], *file = &c.writers[1];
	cr_assert_str_eq(con->name, "console");
	cr_assert_eq(con->fd, STDERR_FILENO);
	cr_assert_not(con->color);
	cr_assert_eq(con->min_level, TEXT_LEVEL_DEBUG);
	cr_assert_eq(con->format, TEXT_FORMAT_TEXT);

	cr_assert_str_eq(file->name, "app");
	cr_assert_eq(file->ops, writer_lookup("file"));
	cr_assert_eq(file->min_level, TEXT_LEVEL_WARN);
	cr_assert_eq(file->format, TEXT_FORMAT_JSON);
	struct output o;
	cr_assert_eq(output_open(&o, &c, &d), 0, "%s", d.msg);
	umask(old);
	cr_assert_eq(c.n_writers, 0, "the output took the writers");
	cr_assert_geq(o.w[1].fd, 0);
	cr_assert_eq(stat(log_path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	output_close(&o);
	config_free(&c);
}

Test(config, uses_default_console_writer_when_writers_key_is_absent)
{
	write_config("collector: { poll_max_ms = 1000; merge_window_us = 0; };\n");
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, cfg_path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(c.poll_max_ms, 1000);
	cr_assert_eq(c.merge_window_us, 0);
	cr_assert_eq(c.n_writers, 1);
	cr_assert_eq(c.writers[0].fd, STDOUT_FILENO);
	config_free(&c);
}

Test(config, reads_file_mode_as_octal_digits_string_or_hex)
{
	static const char *const modes[] = {"0604", "604", "\"0604\"", "0x184"};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char text[1024], log_path[600];
		snprintf(log_path, sizeof log_path, "%s/m%zu.log", tmpdir, i);
		snprintf(text, sizeof text, "writers = ( { type = \"file\"; path = \"%s\"; mode = %s; } );\n",
			 log_path, modes[i]);
		write_config(text);
		mode_t old = umask(0);
		struct collector_config c;
		struct output o;
		struct diag d;
		int r = load_and_open(&c, &o, &d);
		umask(old);
		cr_assert_eq(r, 0, "%s: %s", modes[i], d.msg);
		struct stat st;
		cr_assert_eq(stat(log_path, &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0604, "mode %s gave %o", modes[i], st.st_mode & 07777);
		output_close(&o);
		config_free(&c);
	}
}

Test(config, rejects_syntax_error_with_file_and_line)
{
	expect_error("collector: {\n  dir = \"x\";\n  poll_max_ms = = 3;\n};\n", -EINVAL, "3: syntax error");
}

Test(config, reports_unreadable_file_with_reason)
{
	char missing[600];
	snprintf(missing, sizeof missing, "%s/nope.conf", tmpdir);
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, missing, &d, NULL), -ENOENT);
	char want[700];
	snprintf(want, sizeof want, "%s: cannot read: %s", missing, strerror(ENOENT));
	cr_assert_str_eq(d.msg, want);
	cr_assert_eq(c.n_writers, 0);
}

Test(config, rejects_unknown_top_level_key)
{
	expect_error("collector: { };\n\nwriter = ( { type = \"console\"; } );\n", -EINVAL,
		     "3: writer: unknown key (known: collector, writers, routes, default)");
}

Test(config, rejects_unknown_collector_key)
{
	expect_error("collector: {\n  dir = \"/tmp\";\n  poll_ms = 3;\n};\n", -EINVAL,
		     "3: collector.poll_ms: unknown key (known: dir, merge_window_us, poll_max_ms, sleep_after_ms, "
		     "idle_poll_ms, rescan_ms)");
}

Test(config, rejects_collector_that_is_not_a_group)
{
	expect_error("collector = 5;\n", -EINVAL, "1: collector: expected a group { ... }");
}

Test(config, rejects_wrong_value_types)
{
	expect_error("collector: {\n  poll_max_ms = \"5\";\n};\n", -EINVAL,
		     "2: collector.poll_max_ms: expected an integer");
	expect_error("collector: {\n  merge_window_us = 1.5;\n};\n", -EINVAL,
		     "2: collector.merge_window_us: expected an integer");
	expect_error("collector: {\n  dir = 7;\n};\n", -EINVAL, "2: collector.dir: expected a string");
	expect_error("writers = (\n  { type = 1; }\n);\n", -EINVAL, "2: writers.[0].type: expected a string");
	expect_error("writers = (\n  { type = \"file\"; path = true; }\n);\n", -EINVAL,
		     "2: writers.[0].path: expected a string");
	expect_error("writers = 3;\n", -EINVAL, "1: writers: expected a list ( { ... }, ... )");
	/* libconfig dates a scalar list element by the token after it, so keep it on one line. */
	expect_error("\nwriters = ( \"console\" );\n", -EINVAL, "2: writers.[0]: expected a group { type = ...; }");
}

Test(config, rejects_out_of_range_values)
{
	expect_error("collector: {\n  poll_max_ms = 0;\n};\n", -EINVAL,
		     "2: collector.poll_max_ms: 0 is out of range (1 to 1000)");
	expect_error("collector: {\n  poll_max_ms = 1001;\n};\n", -EINVAL,
		     "2: collector.poll_max_ms: 1001 is out of range (1 to 1000)");
	expect_error("collector: {\n  sleep_after_ms = -1;\n};\n", -EINVAL,
		     "2: collector.sleep_after_ms: -1 is out of range (0 to 3600000)");
	expect_error("collector: {\n  idle_poll_ms = 0;\n};\n", -EINVAL,
		     "2: collector.idle_poll_ms: 0 is out of range (1 to 60000)");
	expect_error("collector: {\n  rescan_ms = 9;\n};\n", -EINVAL,
		     "2: collector.rescan_ms: 9 is out of range (10 to 3600000)");
	expect_error("collector: {\n\n  merge_window_us = 1000001;\n};\n", -EINVAL,
		     "3: collector.merge_window_us: 1000001 is out of range (0 to 1000000)");
	expect_error("collector: {\n  merge_window_us = -1;\n};\n", -EINVAL,
		     "2: collector.merge_window_us: -1 is out of range (0 to 1000000)");
}

Test(config, rejects_unknown_writer_type_with_file_and_line)
{
	expect_error("writers = (\n"
		     "  { type = \"console\"; },\n"
		     "  { type = \"syslog\"; }\n"
		     ");\n",
		     -EINVAL, "3: writers.[1].type: unknown writer type \"syslog\" (known: console, file, binary)");
}

Test(config, rejects_writer_without_type)
{
	expect_error("writers = (\n  { type = \"console\"; },\n  {\n    name = \"x\";\n  }\n);\n", -EINVAL,
		     "3: writers.[1].type: missing required key");
}

Test(config, rejects_file_writer_without_path)
{
	expect_error("writers = (\n  { type = \"file\"; name = \"x\"; }\n);\n", -EINVAL,
		     "2: writers.[0].path: missing required key");
}

Test(config, rejects_unknown_writer_key)
{
	expect_error("writers = (\n  { type = \"console\";\n    path = \"/tmp/x\"; }\n);\n", -EINVAL,
		     "3: writers.[0].path: unknown key for a console writer");
}

Test(config, rejects_bad_common_and_console_values)
{
	expect_error("writers = (\n  { type = \"console\"; min_level = \"LOUD\"; }\n);\n", -EINVAL,
		     "2: writers.[0].min_level: unknown level \"LOUD\" (known: TRACE, DEBUG, INFO, WARN, ERROR, "
		     "CRITICAL, OFF)");
	expect_error("writers = (\n  { type = \"console\"; format = \"xml\"; }\n);\n", -EINVAL,
		     "2: writers.[0].format: must be \"text\" or \"json\", not \"xml\"");
	expect_error("writers = (\n  { type = \"console\"; stream = \"stdlog\"; }\n);\n", -EINVAL,
		     "2: writers.[0].stream: must be \"stdout\" or \"stderr\", not \"stdlog\"");
	expect_error("writers = (\n  { type = \"console\"; color = \"yes\"; }\n);\n", -EINVAL,
		     "2: writers.[0].color: must be \"auto\", \"always\" or \"never\", not \"yes\"");
	expect_error("writers = (\n  { type = \"console\"; name = \"\"; }\n);\n", -EINVAL,
		     "2: writers.[0].name: must be 1 to 63 bytes long");
	expect_error("writers = (\n  { type = \"file\"; path = \"/tmp/x\"; mode = 0800; }\n);\n", -EINVAL,
		     "2: writers.[0].mode: not a valid octal mode (0 to 07777)");
}

Test(config, rejects_empty_writer_list)
{
	expect_error("writers = ( );\n", -EINVAL,
		     "1: writers: no writers (leave the key out for the default console writer)");
}

Test(config, rejects_more_than_max_writers)
{
	char text[8192] = "writers = (\n";
	for (int i = 0; i <= CONFIG_MAX_WRITERS; i++)
		strcat(text, i ? ",\n  { type = \"console\"; }" : "  { type = \"console\"; }");
	strcat(text, "\n);\n");
	char rest[128];
	snprintf(rest, sizeof rest, "1: writers: too many writers (%d, at most %d)", CONFIG_MAX_WRITERS + 1,
		 CONFIG_MAX_WRITERS);
	expect_error(text, -EINVAL, rest);
}

Test(config, accepts_exactly_max_writers)
{
	char text[8192] = "writers = (\n";
	for (int i = 0; i < CONFIG_MAX_WRITERS; i++)
		strcat(text, i ? ",\n  { type = \"console\"; }" : "  { type = \"console\"; }");
	strcat(text, "\n);\n");
	write_config(text);
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, cfg_path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(c.n_writers, CONFIG_MAX_WRITERS);
	config_free(&c);
}

Test(config, rejects_file_writer_that_cannot_open_its_path)
{
	char text[1024], want[1024];
	snprintf(text, sizeof text,
		 "writers = (\n  { type = \"file\"; path = \"%s/ok.log\"; },\n  { type = \"file\";\n"
		 "    path = \"%s/no/such/dir/x.log\"; }\n);\n",
		 tmpdir, tmpdir);
	write_config(text);
	snprintf(want, sizeof want, "%s:4: writers.[1].path: cannot open \"%s/no/such/dir/x.log\": %s", cfg_path,
		 tmpdir, strerror(ENOENT));
	int before = count_fds();
	struct collector_config c;
	struct output o;
	struct diag d;
	cr_assert_eq(load_and_open(&c, &o, &d), -ENOENT, "%s", d.msg);
	cr_assert_str_eq(d.msg, want);
	cr_assert_eq(count_fds(), before, "the file opened first must be closed again");
}

Test(config, rejects_unknown_type_after_valid_writers)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "writers = (\n"
		 "  { type = \"file\"; path = \"%s/a.log\"; },\n"
		 "  { type = \"file\"; path = \"%s/b.log\"; },\n"
		 "  { type = \"bogus\"; }\n"
		 ");\n",
		 tmpdir, tmpdir);
	int before = count_fds();
	expect_error(text, -EINVAL, "4: writers.[2].type: unknown writer type \"bogus\" (known: console, file, binary)");
	cr_assert_eq(count_fds(), before);
}

Test(config, rejects_a_writer_named_twice)
{
	expect_error("writers = (\n  { type = \"console\"; name = \"out\"; },\n"
		     "  { type = \"console\";\n    name = \"out\"; }\n);\n",
		     -EINVAL, "4: writers.[1].name: writer \"out\" is named twice (the first is writers.[0])");
}

Test(config, output_close_closes_every_writer)
{
	char text[1024];
	snprintf(text, sizeof text, "writers = ( { type = \"file\"; path = \"%s/a.log\"; } );\n", tmpdir);
	write_config(text);
	int before = count_fds();
	struct collector_config c;
	struct output o;
	struct diag d;
	cr_assert_eq(config_load(&c, cfg_path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(count_fds(), before, "loading opens nothing");
	cr_assert_eq(output_open(&o, &c, &d), 0, "%s", d.msg);
	cr_assert_eq(count_fds(), before + 1);
	output_close(&o);
	config_free(&c);
	cr_assert_eq(count_fds(), before);
}

Test(config, rejects_a_backlog_too_small_or_not_an_integer)
{
	expect_error("writers = ( { type = \"console\";\n  backlog_bytes = 100; } );\n", -EINVAL,
		     "2: writers.[0].backlog_bytes: must be an integer from 4096 to 1099511627776 (bytes)");
	expect_error("writers = ( { type = \"console\"; backlog_bytes = \"1m\"; } );\n", -EINVAL,
		     "1: writers.[0].backlog_bytes: must be an integer from 4096 to 1099511627776 (bytes)");
}

/* A FIFO at tmpdir/name: opening it for reading without O_NONBLOCK would wait for a writer forever. */
static void make_fifo(char *path, size_t cap, const char *name)
{
	snprintf(path, cap, "%s/%s", tmpdir, name);
	cr_assert_eq(mkfifo(path, 0600), 0);
}

Test(config, refuses_a_fifo_as_the_config_file_without_blocking, .timeout = 10)
{
	char fifo[600], want[700];
	make_fifo(fifo, sizeof fifo, "fifo.conf");
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, fifo, &d, NULL), -EINVAL);
	snprintf(want, sizeof want, "%s: cannot read: not a regular file", fifo);
	cr_assert_str_eq(d.msg, want);
}

Test(config, refuses_an_include_of_a_fifo_with_file_and_line, .timeout = 10)
{
	char fifo[600], text[800];
	make_fifo(fifo, sizeof fifo, "fifo.conf");
	snprintf(text, sizeof text, "collector: { poll_max_ms = 5; };\n  @include \"%s\"\n", fifo);
	char rest[800];
	snprintf(rest, sizeof rest, "2: @include: %s: cannot read: not a regular file", fifo);
	expect_error(text, -EINVAL, rest);
}

Test(config, reads_a_regular_file_it_includes)
{
	char inc[600], text[800];
	snprintf(inc, sizeof inc, "%s/inc.conf", tmpdir);
	FILE *f = fopen(inc, "w");
	cr_assert(f);
	fputs("collector: { poll_max_ms = 7; };\n", f);
	fclose(f);
	snprintf(text, sizeof text, "@include \"%s\"\n", inc);
	write_config(text);
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, cfg_path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(c.poll_max_ms, 7u);
	config_free(&c);
}
