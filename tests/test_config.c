/*
 * test_config.c — loading the collector's config (collector/config.c) and
 * opening its writers: defaults, a full valid file, and one test per class
 * of error, each asserting the exact "FILE:LINE: KEY: problem" line.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

Test(config, the_installed_default_config_is_the_built_in_default)
{
	struct collector_config b, f;
	struct diag d;
	char *src = th_source_dir(), *path = NULL;
	cr_assert(src && asprintf(&path, "%s/collector/dist/collector.conf", src) > 0);
	cr_assert_eq(config_load(&b, NULL, &d, NULL), 0);
	cr_assert_eq(config_load(&f, path, &d, NULL), 0, "%s", d.msg);
	cr_assert_str_eq(f.dir, b.dir);
	cr_assert_eq(f.merge_window_us, b.merge_window_us);
	cr_assert_eq(f.poll_max_ms, b.poll_max_ms);
	cr_assert_eq(f.sleep_after_ms, b.sleep_after_ms);
	cr_assert_eq(f.idle_poll_ms, b.idle_poll_ms);
	cr_assert_eq(f.rescan_ms, b.rescan_ms);
	cr_assert_eq(f.n_writers, b.n_writers);
	const struct writer *x = &f.writers[0], *y = &b.writers[0];
	cr_assert_str_eq(x->name, y->name);
	cr_assert_eq(x->ops, y->ops);
	cr_assert_eq(x->fd, y->fd);
	cr_assert_eq(x->min_level, y->min_level);
	cr_assert_eq(x->format, y->format);
	cr_assert_eq(x->color, y->color);
	cr_assert_eq(x->backlog_max, y->backlog_max);
	config_free(&f);
	config_free(&b);
	free(path);
	free(src);
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
		     "idle_poll_ms, rescan_ms, allow_users, allow_groups, threads, threads_adaptive, threads_pin)");
}

Test(config, threads_adaptive_and_threads_pin_take_booleans)
{
	expect_error("collector: {\n  threads_pin = 1;\n};\n", -EINVAL, "2: collector.threads_pin: expected true or false");
	expect_error("collector: {\n  threads_adaptive = \"no\";\n};\n", -EINVAL,
		     "2: collector.threads_adaptive: expected true or false");
}

Test(config, quotes_a_value_with_control_bytes_in_one_escaped_line)
{
	/* a libconfig string may span lines; found by fuzz_config */
	expect_error("writers = ( { type = \"f;\n}\x1b[2J\"; } );\n", -EINVAL,
		     "1: writers.[0].type: unknown writer type \"f;\\n}\\x1b[2J\" (known: console, file, syslog, binary)");
}

Test(config, names_an_include_path_spanning_lines_in_one_escaped_line)
{
	/* found by fuzz_config */
	expect_error("@include \"no\nsuch\"\n", -ENOENT,
		     "1: @include: no\\nsuch: cannot read: No such file or directory");
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
		     "  { type = \"carrier-pigeon\"; }\n"
		     ");\n",
		     -EINVAL, "3: writers.[1].type: unknown writer type \"carrier-pigeon\" (known: console, file, syslog, binary)");
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
	expect_error(text, -EINVAL, "4: writers.[2].type: unknown writer type \"bogus\" (known: console, file, syslog, binary)");
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

/* ---- the syslog writer's keys ---- */

static void expect_syslog_error(const char *keys, const char *rest)
{
	char text[1024];
	snprintf(text, sizeof text, "writers = (\n  { type = \"syslog\";\n    %s }\n);\n", keys);
	expect_error(text, -EINVAL, rest);
}

Test(config, refuses_a_format_for_writers_that_write_no_lines)
{
	expect_syslog_error("host = \"h\"; format = \"json\";",
			    "3: writers.[0].format: does not apply to a syslog writer, which writes no text or JSON lines");
	expect_error("writers = ( { type = \"binary\"; path = \"/tmp/x.bin\"; format = \"text\"; } );\n", -EINVAL,
		     "1: writers.[0].format: does not apply to a binary writer, which writes no text or JSON lines");
}

Test(config, syslog_needs_a_host)
{
	expect_syslog_error("transport = \"tcp\";", "2: writers.[0].host: missing required key");
}

Test(config, syslog_rejects_bad_values_with_file_line_and_key)
{
	expect_syslog_error("host = \"h\"; transport = \"sctp\";",
			    "3: writers.[0].transport: must be \"udp\", \"tcp\", \"tls\" or \"relp\", not \"sctp\"");
	expect_syslog_error("host = \"h\"; port = 70000;", "3: writers.[0].port: 70000 is out of range (1 to 65535)");
	expect_syslog_error("host = \"h\"; facility = \"local9\";",
			    "3: writers.[0].facility: unknown facility \"local9\" (known: kern, user, mail, daemon, "
			    "auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock, local0 .. "
			    "local7)");
	expect_syslog_error("host = \"h\"; hostname = \"my host\";",
			    "3: writers.[0].hostname: must be 1 to 255 printable ASCII characters without spaces");
	expect_syslog_error("host = \"h\"; sd_id = \"a=b\";",
			    "3: writers.[0].sd_id: must be 1 to 32 printable ASCII characters without spaces or =]\"");
	expect_syslog_error("host = \"h\"; max_message_bytes = 100;",
			    "3: writers.[0].max_message_bytes: 100 is out of range (480 to 65507)");
	expect_syslog_error("host = \"h\"; framing = \"lf\";",
			    "3: writers.[0].framing: only for transports \"tcp\" and \"tls\" (UDP and RELP frame each message)");
	expect_syslog_error("host = \"h\"; transport = \"tcp\"; framing = \"nul\";",
			    "3: writers.[0].framing: must be \"octet-counting\" or \"lf\", not \"nul\"");
	expect_syslog_error("host = \"h\"; bom = 1;", "3: writers.[0].bom: expected true or false");
	expect_syslog_error("host = \"h\"; reconnect_min_ms = 500; reconnect_max_ms = 100;",
			    "2: writers.[0].reconnect_max_ms: must not be below reconnect_min_ms (500)");
	expect_syslog_error("host = \"h\"; colour = \"red\";", "3: writers.[0].colour: unknown key for a syslog writer");
}

Test(config, syslog_relp_refuses_what_it_does_not_take)
{
	expect_syslog_error("host = \"h\"; transport = \"relp\"; framing = \"lf\";",
			    "3: writers.[0].framing: only for transports \"tcp\" and \"tls\" (UDP and RELP frame each message)");
	expect_syslog_error("host = \"h\"; transport = \"relp\"; tls = { };",
			    "3: writers.[0].tls: only for transport \"tls\"");
}

Test(config, syslog_tls_keys_are_checked)
{
	expect_syslog_error("host = \"h\"; transport = \"tcp\"; tls = { ca_file = \"/x\"; };",
			    "3: writers.[0].tls: only for transport \"tls\"");
	expect_syslog_error("host = \"h\"; transport = \"tls\"; tls = 5;", "3: writers.[0].tls: must be a group { ... }");
	expect_syslog_error("host = \"h\"; transport = \"tls\"; tls = { ca = \"/x\"; };",
			    "3: writers.[0].tls.ca: unknown key (known: ca_file, server_name, cert_file, key_file, verify)");
	expect_syslog_error("host = \"h\"; transport = \"tls\"; tls = { cert_file = \"/c.pem\"; };",
			    "3: writers.[0].tls.key_file: needed with cert_file");
	expect_syslog_error("host = \"h\"; transport = \"tls\"; tls = { ca_file = \"\"; };",
			    "3: writers.[0].tls.ca_file: must be 1 to 1023 bytes long");
	expect_syslog_error("host = \"h\"; transport = \"tls\"; tls = { verify = \"no\"; };",
			    "3: writers.[0].tls.verify: expected true or false");
}

Test(config, syslog_spool_is_for_the_stream_transports)
{
	expect_syslog_error("host = \"h\"; spool_dir = \"/tmp\";",
			    "3: writers.[0].spool_dir: only for transports \"tcp\", \"tls\" and \"relp\" (UDP does not know "
			    "what arrived)");
	expect_syslog_error("host = \"h\"; transport = \"tcp\"; spool_dir = \"\";",
			    "3: writers.[0].spool_dir: must be 1 to 2047 bytes long");
	expect_syslog_error("host = \"h\"; transport = \"tcp\"; spool_dir = \"/tmp\"; spool_max_bytes = 10;",
			    "3: writers.[0].spool_max_bytes: 10 is out of range (65536 to 4398046511104)");
}

Test(config, syslog_accepts_the_issue_keys)
{
	write_config("writers = ( { name = \"central\"; type = \"syslog\"; transport = \"tcp\"; host = \"127.0.0.1\";\n"
		     "  port = 6514; facility = \"local0\"; hostname = \"web-1\"; app_name = \"shop\"; msgid = \"ORD\";\n"
		     "  sd_id = \"shop@12345\"; max_message_bytes = 4096; framing = \"lf\"; bom = true;\n"
		     "  reconnect_min_ms = 50; reconnect_max_ms = 5000; },\n"
		     "  { name = \"tls\"; type = \"syslog\"; transport = \"tls\"; host = \"logs.example.net\";\n"
		     "    tls = { ca_file = \"/etc/ssl/certs/ca.pem\"; server_name = \"logs\"; cert_file = \"/c.pem\";\n"
		     "            key_file = \"/c.key\"; verify = true; }; spool_dir = \"/var/spool/shmlog\"; },\n"
		     "  { name = \"relp\"; type = \"syslog\"; transport = \"relp\"; host = \"127.0.0.1\"; port = 2514; } );\n");
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, cfg_path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(c.n_writers, 3);
	cr_assert_str_eq(c.writers[0].ops->type, "syslog");
	cr_assert_str_eq(c.writers[1].ops->type, "syslog");
	cr_assert_str_eq(c.writers[2].ops->type, "syslog");
	config_free(&c);
}

Test(config, reads_allow_users_and_allow_groups_by_name)
{
	write_config("collector: { allow_users = [\"nobody\", \"root\"]; allow_groups = \"nogroup\"; };\n");
	struct collector_config c;
	struct diag d;
	cr_assert_eq(config_load(&c, cfg_path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(c.allow.n_uids, 2);
	cr_assert_eq(c.allow.uids[0], 65534u);
	cr_assert_eq(c.allow.uids[1], 0u);
	cr_assert_eq(c.allow.n_gids, 1);
	cr_assert(!c.allow.all_users);
	config_free(&c);
	write_config("collector: { allow_users = \"*\"; };\n");
	cr_assert_eq(config_load(&c, cfg_path, &d, NULL), 0, "%s", d.msg);
	cr_assert(c.allow.all_users);
	config_free(&c);
}

Test(config, rejects_an_unknown_user_or_group_with_file_and_line)
{
	expect_error("collector: {\n  allow_users = [\"nobody\",\n    \"no-such-user-x\"];\n};\n", -EINVAL,
		     "3: collector.allow_users.[1]: no such user \"no-such-user-x\"");
	expect_error("collector: {\n  allow_groups = 7;\n};\n", -EINVAL,
		     "2: collector.allow_groups: expected a list of group names, or \"*\"");
}
