/*
 * test_writer.c — writers (collector/writer*.c) and batched io_uring writes
 * (collector/uio.c): a file writer's batch reaches its file exactly through a
 * real io_uring, level filtering and JSON output, the console's colour
 * choice, and uio's handling of short writes, chunking and per-request
 * errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/config.h"
#include "shared/binlog.h"
#include "collector/output.h"
#include "collector/uio.h"
#include "collector/writer.h"
#include "tests/helpers.h"
#include "tests/writer_util.h"

static char *tmpdir;
static struct io_uring ring;
static bool ring_ok;

static void setup(void)
{
	tmpdir = th_mkdtemp(false);
	cr_assert(tmpdir);
	ring_ok = io_uring_queue_init(8, &ring, 0) == 0;
}

static void teardown(void)
{
	if (ring_ok)
		io_uring_queue_exit(&ring);
	th_rmrf(tmpdir);
	free(tmpdir);
}

TestSuite(writer, .init = setup, .fini = teardown);
TestSuite(uio, .init = setup, .fini = teardown);

static void need_ring(void)
{
	if (!ring_ok)
		cr_skip_test("io_uring is not available");
}

/* Open w from the libconfig text of one group, "{ type = ...; ... }". Returns writer_open's result. */
static int open_from(struct writer *w, const char *group, struct diag *d)
{
	char text[2048];
	snprintf(text, sizeof text, "w = %s;\n", group);
	config_t cfg;
	config_init(&cfg);
	cr_assert(config_read_string(&cfg, text), "%s", config_error_text(&cfg));
	config_setting_t *s = config_lookup(&cfg, "w");
	const char *type = NULL;
	cr_assert(config_setting_lookup_string(s, "type", &type));
	const struct writer_ops *ops = writer_lookup(type);
	cr_assert(ops);
	int r = writer_open(w, ops, s, d);
	config_destroy(&cfg);
	return r;
}

static struct text_record rec(int level, const char *msg, uint64_t ts_ns)
{
	return wu_rec(level, msg, ts_ns);
}

/* Hand r to w as the core does. */
static void add(struct writer *w, const struct text_record *r)
{
	struct output_rec rec = {.tr = r};
	cr_assert_eq(w->ops->add(w, &rec), 0);
	w->taken++;
}

/* Write what w holds through the ring, as the core does; every record is then done. */
static void flush(struct writer *w)
{
	struct uio_req req;
	int p = w->ops->prepare(w, &req);
	cr_assert_geq(p, 0);
	if (p == 1) {
		cr_assert_eq(uio_write_batch(&ring, &req, 1), 0);
		cr_assert_eq(req.done, req.len);
		cr_assert_eq(w->ops->complete(w, &req), w->taken);
	}
	cr_assert_eq(writer_pending(w), 0);
}

static char *file_path(const char *name)
{
	char *p;
	cr_assert(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

Test(writer, looks_up_known_types_only)
{
	cr_assert_not_null(writer_lookup("console"));
	cr_assert_not_null(writer_lookup("file"));
	cr_assert_str_eq(writer_lookup("file")->type, "file");
	cr_assert_not_null(writer_lookup("syslog"));
	cr_assert_null(writer_lookup("carrier-pigeon"));
	cr_assert_null(writer_lookup(""));
	cr_assert_null(writer_lookup(NULL));
}

Test(writer, file_writer_appends_batches_exactly_through_io_uring)
{
	need_ring();
	char *path = file_path("app.log");
	FILE *f = fopen(path, "w");
	fputs("existing line\n", f);
	fclose(f);

	char group[1024];
	snprintf(group, sizeof group, "{ type = \"file\"; path = \"%s\"; }", path);
	struct writer w;
	struct diag d;
	cr_assert_eq(open_from(&w, group, &d), 0, "%s", d.msg);
	cr_assert_str_eq(w.name, "file");

	struct text_record r1 = rec(TEXT_LEVEL_INFO, "first", 1000000000u);
	struct text_record r2 = rec(TEXT_LEVEL_ERROR, "second\nline", 2000000001u);
	add(&w, &r1);
	add(&w, &r2);
	flush(&w);
	struct text_record r3 = rec(TEXT_LEVEL_DEBUG, "third", 3000000000u);
	add(&w, &r3);
	flush(&w);
	cr_assert_eq(w.ops->sync(&w), 0);

	const char *want = "existing line\n"
			   "1970-01-01T00:00:01.000000000Z INFO app[7/8]: first\n"
			   "1970-01-01T00:00:02.000000001Z ERROR app[7/8]: second\\nline\n"
			   "1970-01-01T00:00:03.000000000Z DEBUG app[7/8]: third\n";
	char *got = th_read_file(path, NULL);
	cr_assert_str_eq(got, want);
	cr_assert_eq(w.taken, 3);
	free(got);
	writer_close(&w);
	cr_assert_eq(w.fd, -1);
	free(path);
}

Test(writer, prepare_reports_empty_batch)
{
	struct writer w;
	struct diag d;
	cr_assert_eq(open_from(&w, "{ type = \"console\"; color = \"never\"; }", &d), 0, "%s", d.msg);
	struct uio_req req;
	cr_assert_eq(w.ops->prepare(&w, &req), 0);
	struct text_record r = rec(TEXT_LEVEL_INFO, "x", 0);
	add(&w, &r);
	cr_assert_eq(w.ops->prepare(&w, &req), 1);
	cr_assert_eq(req.fd, STDOUT_FILENO);
	cr_assert_eq(req.buf, w.out.buf.data);
	cr_assert_eq(req.len, w.out.buf.len);
	writer_close(&w);
}

static void output_from(struct output *o, const char *writers)
{
	wu_output_from(o, tmpdir, writers);
}

Test(writer, min_level_filters_lower_records)
{
	need_ring();
	char *path = file_path("warn.log");
	char list[1024];
	snprintf(list, sizeof list, "( { type = \"file\"; name = \"warn\"; path = \"%s\"; min_level = \"warn\"; } )",
		 path);
	struct output o;
	output_from(&o, list);
	cr_assert_str_eq(o.w[0].name, "warn");
	for (int l = TEXT_LEVEL_TRACE; l <= TEXT_LEVEL_CRITICAL; l++) {
		struct text_record r = rec(l, text_level_name(l), 0);
		output_add(&o, &r, NULL);
	}
	output_write(&o, &ring);
	char *got = th_read_file(path, NULL);
	cr_assert_str_eq(got, "1970-01-01T00:00:00.000000000Z WARN app[7/8]: WARN\n"
			      "1970-01-01T00:00:00.000000000Z ERROR app[7/8]: ERROR\n"
			      "1970-01-01T00:00:00.000000000Z CRITICAL app[7/8]: CRITICAL\n");
	cr_assert_eq(o.w[0].taken, 3);
	cr_assert_eq(o.w[0].done, 3);
	free(got);
	output_close(&o);
	free(path);
}

Test(writer, min_level_off_writes_nothing)
{
	struct output o;
	output_from(&o, "( { type = \"console\"; min_level = \"OFF\"; } )");
	struct text_record r = rec(TEXT_LEVEL_CRITICAL, "x", 0);
	cr_assert_eq(output_add(&o, &r, NULL), 0);
	cr_assert_eq(writer_pending(&o.w[0]), 0);
	cr_assert_eq(o.w[0].taken, 0);
	output_close(&o);
}

Test(writer, one_rendering_serves_every_writer_of_a_format)
{
	need_ring();
	char *a = file_path("a.log"), *b = file_path("b.log");
	char list[1024];
	snprintf(list, sizeof list, "( { type = \"file\"; name = \"a\"; path = \"%s\"; },"
				    "  { type = \"file\"; name = \"b\"; path = \"%s\"; } )", a, b);
	struct output o;
	output_from(&o, list);
	struct text_record r = rec(TEXT_LEVEL_INFO, "same", 0);
	cr_assert_eq(output_add(&o, &r, NULL), 3u);
	output_write(&o, &ring);
	char *ga = th_read_file(a, NULL), *gb = th_read_file(b, NULL);
	cr_assert_str_eq(ga, "1970-01-01T00:00:00.000000000Z INFO app[7/8]: same\n");
	cr_assert_str_eq(gb, ga);
	free(ga);
	free(gb);
	output_close(&o);
	free(a);
	free(b);
}

Test(writer, json_format_writes_json_lines)
{
	need_ring();
	char *path = file_path("app.json");
	char group[1024];
	snprintf(group, sizeof group, "{ type = \"file\"; path = \"%s\"; format = \"json\"; }", path);
	struct writer w;
	struct diag d;
	cr_assert_eq(open_from(&w, group, &d), 0, "%s", d.msg);
	struct text_record r = rec(TEXT_LEVEL_WARN, "disk \"full\"", 5);
	add(&w, &r);
	flush(&w);
	char *got = th_read_file(path, NULL);
	cr_assert_str_eq(got, "{\"ts\":\"1970-01-01T00:00:00.000000005Z\",\"level\":\"WARN\",\"name\":\"app\","
			      "\"pid\":7,\"tid\":8,\"file\":\"a.c\",\"line\":9,\"msg\":\"disk \\\"full\\\"\"}\n");
	free(got);
	writer_close(&w);
	free(path);
}

Test(writer, file_writer_error_names_path_and_reason)
{
	char group[1024], want[1024];
	snprintf(group, sizeof group, "{ type = \"file\"; path = \"%s/missing/x.log\"; }", tmpdir);
	struct writer w;
	struct diag d;
	cr_assert_eq(open_from(&w, group, &d), -ENOENT, "%s", d.msg);
	snprintf(want, sizeof want, "config:1: w.path: cannot open \"%s/missing/x.log\": %s", tmpdir,
		 strerror(ENOENT));
	cr_assert_str_eq(d.msg, want);
	writer_close(&w); /* harmless on a failed writer */
}

Test(writer, console_defaults_to_stdout)
{
	struct writer w;
	struct diag d;
	cr_assert_eq(writer_open(&w, writer_lookup("console"), NULL, &d), 0, "%s", d.msg);
	cr_assert_eq(w.fd, STDOUT_FILENO);
	cr_assert_str_eq(w.name, "console");
	writer_close(&w);
	cr_assert(fcntl(STDOUT_FILENO, F_GETFD) >= 0, "closing the console writer leaves stdout open");
}

Test(writer, console_colour_off_when_not_a_tty)
{
	int devnull = open("/dev/null", O_WRONLY);
	int saved = dup(STDERR_FILENO);
	dup2(devnull, STDERR_FILENO);
	unsetenv("NO_COLOR");
	struct writer w;
	struct diag d;
	int r = open_from(&w, "{ type = \"console\"; stream = \"stderr\"; }", &d);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	cr_assert_eq(r, 0, "%s", d.msg);
	cr_assert_eq(w.fd, STDERR_FILENO);
	cr_assert_not(w.color);
	writer_close(&w);
}

Test(writer, console_colour_always_and_never_ignore_the_terminal)
{
	struct writer w;
	struct diag d;
	setenv("NO_COLOR", "1", 1);
	cr_assert_eq(open_from(&w, "{ type = \"console\"; color = \"always\"; }", &d), 0, "%s", d.msg);
	cr_assert(w.color);
	writer_close(&w);
	cr_assert_eq(open_from(&w, "{ type = \"console\"; color = \"never\"; }", &d), 0, "%s", d.msg);
	cr_assert_not(w.color);
	writer_close(&w);
}

/* Open w as an auto-colour console on a pseudo-terminal put at stdout. */
static bool console_on_pty(struct writer *w, const char *no_color)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master))
		cr_skip_test("no pseudo-terminals");
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(slave, 0);
	int saved = dup(STDOUT_FILENO);
	dup2(slave, STDOUT_FILENO);
	if (no_color)
		setenv("NO_COLOR", no_color, 1);
	else
		unsetenv("NO_COLOR");
	struct diag d;
	int r = writer_open(w, writer_lookup("console"), NULL, &d);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(slave);
	close(master);
	cr_assert_eq(r, 0, "%s", d.msg);
	return w->color;
}

Test(writer, console_colour_auto_follows_tty_and_no_color)
{
	struct writer w;
	cr_assert(console_on_pty(&w, NULL), "a terminal without NO_COLOR gets colour");
	writer_close(&w);
	cr_assert(console_on_pty(&w, ""), "an empty NO_COLOR does not count");
	writer_close(&w);
	cr_assert_not(console_on_pty(&w, "1"), "NO_COLOR turns colour off");
	writer_close(&w);
}

/* --- uio --- */

struct drain {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
};

static void *drain_thread(void *arg)
{
	struct drain *dr = arg;
	for (;;) {
		if (dr->len == dr->cap) {
			dr->cap = dr->cap ? dr->cap * 2 : 65536;
			dr->buf = realloc(dr->buf, dr->cap);
		}
		/* Small reads keep the pipe nearly full, so the writer sees many short writes. */
		size_t want = dr->cap - dr->len < 1000 ? dr->cap - dr->len : 1000;
		ssize_t r = read(dr->fd, dr->buf + dr->len, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		dr->len += (size_t)r;
	}
	return NULL;
}

static void pipe_round_trip(bool nonblocking)
{
	need_ring();
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	if (nonblocking)
		fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);

	size_t n = 4u << 20;
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 2654435761u >> 13);

	struct drain dr = {.fd = p[0]};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, drain_thread, &dr), 0);
	struct uio_req req = {.fd = p[1], .buf = data, .len = n};
	int r = uio_write_batch(&ring, &req, 1);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);

	cr_assert_eq(r, 0);
	cr_assert_eq(req.err, 0);
	cr_assert_eq(req.done, n);
	cr_assert_eq(dr.len, n);
	cr_assert(memcmp(dr.buf, data, n) == 0);
	free(dr.buf);
	free(data);
}

Test(uio, completes_short_writes_to_a_slow_pipe)
{
	pipe_round_trip(false);
}

Test(uio, retries_eagain_on_a_nonblocking_pipe)
{
	pipe_round_trip(true);
}

Test(uio, submits_more_requests_than_the_ring_holds_in_chunks)
{
	need_ring();
	struct io_uring small;
	cr_assert_eq(io_uring_queue_init(2, &small, 0), 0);
	enum { N = 9 };
	struct uio_req reqs[N];
	char *paths[N];
	char bodies[N][64];
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof name, "f%d", i);
		paths[i] = file_path(name);
		int fd = open(paths[i], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		cr_assert_geq(fd, 0);
		snprintf(bodies[i], sizeof bodies[i], "body of request %d\n", i);
		reqs[i] = (struct uio_req){.fd = fd, .buf = bodies[i], .len = strlen(bodies[i])};
	}
	reqs[4].len = 0; /* empty requests complete without a write */
	cr_assert_eq(uio_write_batch(&small, reqs, N), 0);
	for (int i = 0; i < N; i++) {
		close(reqs[i].fd);
		char *got = th_read_file(paths[i], NULL);
		cr_assert_str_eq(got, i == 4 ? "" : bodies[i]);
		cr_assert_eq(reqs[i].done, reqs[i].len);
		free(got);
		free(paths[i]);
	}
	io_uring_queue_exit(&small);
}

Test(uio, a_failing_request_does_not_stop_the_others)
{
	need_ring();
	char *good_path = file_path("good");
	char *ro_path = file_path("ro");
	int good = open(good_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int ro = open(ro_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert(good >= 0 && ro >= 0);
	struct uio_req reqs[3] = {
		{.fd = good, .buf = "one\n", .len = 4},
		{.fd = ro, .buf = "two\n", .len = 4},
		{.fd = good, .buf = "three\n", .len = 6},
	};
	cr_assert_eq(uio_write_batch(&ring, reqs, 3), -EBADF);
	cr_assert_eq(reqs[0].err, 0);
	cr_assert_eq(reqs[1].err, -EBADF);
	cr_assert_eq(reqs[1].done, 0);
	cr_assert_eq(reqs[2].err, 0);
	close(good);
	close(ro);
	char *got = th_read_file(good_path, NULL);
	cr_assert(strcmp(got, "one\nthree\n") == 0 || strcmp(got, "three\none\n") == 0, "%s", got);
	free(got);
	free(good_path);
	free(ro_path);
}

Test(uio, empty_batch_is_a_no_op)
{
	need_ring();
	cr_assert_eq(uio_write_batch(&ring, NULL, 0), 0);
}

/* The records of binary log path, decoded, and the file headers in it. Asserts every unit is valid. */
static long decode_binlog(const char *path, long *headers, uint32_t *last_tid)
{
	size_t len;
	uint8_t *data = (uint8_t *)th_read_file(path, &len);
	cr_assert_not_null(data);
	struct binlog_reader rd;
	binlog_reader_init(&rd);
	long records = 0;
	*headers = 0;
	for (size_t at = 0; at < len;) {
		struct text_record tr;
		bool is_record;
		bool header = len - at >= BINLOG_MAGIC_BYTES && memcmp(data + at, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0;
		long long n = binlog_next(&rd, data + at, len - at, &tr, &is_record);
		cr_assert_gt(n, 0, "unit at %zu: %s", at, rd.err);
		*headers += header;
		if (is_record) {
			cr_assert_eq(tr.tid, (uint32_t)records, "record %ld comes with its own source", records);
			*last_tid = tr.tid;
			records++;
		}
		at += (size_t)n;
	}
	binlog_reader_free(&rd);
	free(data);
	return records;
}

/* Open w as a binary writer to tmpdir/name, whose path is returned (malloc'd). */
static char *open_binary(struct writer *w, const char *name)
{
	need_ring();
	char *path = file_path(name), group[1024];
	snprintf(group, sizeof group, "{ type = \"binary\"; path = \"%s\"; }", path);
	struct diag d;
	cr_assert_eq(open_from(w, group, &d), 0, "%s", d.msg);
	return path;
}

Test(writer, binary_writer_forgets_its_definitions_past_the_bound_and_every_record_still_decodes)
{
	struct writer w;
	char *path = open_binary(&w, "defs.bin");
	const long n = 70000; /* each from its own thread: a source definition per record */
	for (long i = 0; i < n; i++) {
		struct text_record r = rec(TEXT_LEVEL_INFO, "m", 1764547200000000000ull + (uint64_t)i);
		r.tid = (uint32_t)i;
		add(&w, &r);
		if (i % 4096 == 4095)
			flush(&w);
	}
	flush(&w);
	writer_close(&w);
	long headers;
	uint32_t last = 0;
	cr_assert_eq(decode_binlog(path, &headers, &last), n);
	cr_assert_eq(last, (uint32_t)(n - 1));
	cr_assert_eq(headers, 2, "the header at open, and one after 65,536 definitions: %ld", headers);
	free(path);
}

/*
 * Allocation failure on demand: while fail_reallocs > 0, realloc() fails
 * (each failure counts one down). The program's own realloc comes before
 * glibc's, so the collector's code linked in here uses it. Not under
 * AddressSanitizer, which has its own.
 */
#ifndef __SANITIZE_ADDRESS__
static int fail_reallocs;
extern void *__libc_realloc(void *p, size_t n);

void *realloc(void *p, size_t n)
{
	if (fail_reallocs > 0) {
		fail_reallocs--;
		return NULL;
	}
	return __libc_realloc(p, n);
}
#endif

Test(writer, binary_writer_out_of_memory_loses_the_record_and_the_next_one_starts_with_a_header)
{
#ifdef __SANITIZE_ADDRESS__
	cr_skip_test("AddressSanitizer has its own realloc");
#else
	struct writer w;
	char *path = open_binary(&w, "oom.bin");
	struct text_record r = rec(TEXT_LEVEL_INFO, "first", 1764547200000000000ull);
	r.tid = 0;
	add(&w, &r);
	flush(&w);
	static char big[60000]; /* its frame needs the buffer to grow: the realloc that fails */
	memset(big, 'b', sizeof big - 1);
	struct text_record lost = rec(TEXT_LEVEL_INFO, big, 1764547200000000001ull);
	lost.tid = 0;
	struct output_rec orec = {.tr = &lost};
	fail_reallocs = 1;
	cr_assert_eq(w.ops->add(&w, &orec), -ENOMEM, "the record is not taken");
	cr_assert_eq(fail_reallocs, 0);
	cr_assert_eq(writer_pending(&w), 0, "nothing of it stays in the buffer");
	r = rec(TEXT_LEVEL_INFO, "after", 1764547200000000002ull);
	r.tid = 1; /* a source of its own: decode_binlog checks each record's */
	add(&w, &r);
	flush(&w);
	writer_close(&w);
	long headers;
	uint32_t last = 0;
	cr_assert_eq(decode_binlog(path, &headers, &last), 2, "the records before and after, none torn");
	cr_assert_eq(headers, 2, "the definitions it had are forgotten: a header before the next record");
	free(path);
#endif
}
