/*
 * test_fields.c — structured fields (SHMLOG_*_KV) end to end: every value
 * type through the producer (inline and general path), the segment's field
 * descriptor, seg_render, and the text and JSON forms; `shmlog read` on a
 * real segment; hostile segments (bad descriptors, truncated values) read
 * safely; and the compile-time refusals of the macros, by running the C
 * compiler on small programs.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmlog.h>

#include "helpers.h"
#include "shared/segment.h"
#include "shared/text.h"

static char *dir;
static struct shmlog *lg;
static struct seg rseg;
static uint64_t rpos;
static struct sbuf msg, line;

static void setup(void)
{
	dir = th_mkdtemp(true);
	struct shmlog_options o = {.dir = dir, .max_threads = 2, .min_level = SHMLOG_LEVEL_TRACE};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	char err[256];
	cr_assert_eq(seg_open(&rseg, shmlog_segment_path(lg), false, err, sizeof err), 0, "%s", err);
	rpos = 0;
}

static void teardown(void)
{
	sbuf_free(&msg);
	sbuf_free(&line);
	seg_close(&rseg);
	shmlog_close(lg);
	th_rmrf(dir);
	free(dir);
}

TestSuite(fields, .init = setup, .fini = teardown);

/* The next record of ring 0 in format f, from "]: " on (text) or whole (JSON), no LF. */
static const char *next_line(enum text_format f)
{
	uint64_t head, tail;
	const char *why = NULL;
	cr_assert(seg_ring_positions(&rseg, 0, &head, &tail, &why), "%s", why);
	struct seg_rec r;
	cr_assert_eq(seg_ring_next(&rseg, 0, &rpos, tail, &r, &why), 1, "no record: %s", why ? why : "");
	rpos += r.size;
	struct text_record tr;
	struct seg_space sp;
	seg_render(&rseg, 0, &r, 0, &msg, &tr, &sp);
	sbuf_reset(&line);
	text_append(&line, &tr, f, false);
	cr_assert(line.len > 0 && line.data[line.len - 1] == '\n');
	line.data[line.len - 1] = 0;
	if (f == TEXT_FORMAT_JSON)
		return line.data;
	const char *m = strstr(line.data, "]: ");
	cr_assert(m, "%s", line.data);
	return m + 3;
}

/* Log the same call twice (general path, then inline), checking text then JSON of each. */
#define CHECK_KV(want_text, want_json, kv, ...)                                                            \
	do {                                                                                               \
		for (int i_ = 0; i_ < 2; i_++)                                                             \
			SHMLOG_INFO_KV(lg, kv, __VA_ARGS__);                                               \
		for (int i_ = 0; i_ < 2; i_++) {                                                           \
			uint64_t at_ = rpos;                                                               \
			cr_assert_str_eq(next_line(TEXT_FORMAT_TEXT), (want_text), "call %d", i_);         \
			rpos = at_;                                                                        \
			const char *j_ = next_line(TEXT_FORMAT_JSON);                                      \
			cr_assert(strstr(j_, (want_json)), "call %d: %s lacks %s", i_, j_, (want_json));  \
		}                                                                                          \
	} while (0)

Test(fields, text_and_json_carry_every_integer_type)
{
	signed char sc = -5;
	short sh = -300;
	long l = -7;
	unsigned char uc = 250;
	unsigned short us = 65535;
	unsigned u = 4000000000u;
	unsigned long ul = 8;
	char c = 'A';
	CHECK_KV("m sc=-5 sh=-300 i=-1 l=-7 ll=9 c=65 uc=250 us=65535 u=4000000000 ul=8 ull=1",
		 "\"msg\":\"m\",\"fields\":{\"sc\":-5,\"sh\":-300,\"i\":-1,\"l\":-7,\"ll\":9,\"c\":65,\"uc\":250,"
		 "\"us\":65535,\"u\":4000000000,\"ul\":8,\"ull\":1}}",
		 ("sc", sc, "sh", sh, "i", -1, "l", l, "ll", 9ll, "c", c, "uc", uc, "us", us, "u", u, "ul", ul, "ull",
		  1ull),
		 "m");
}

Test(fields, integers_are_exact_at_their_limits)
{
	CHECK_KV("x max=18446744073709551615 min=-9223372036854775808",
		 "\"fields\":{\"max\":18446744073709551615,\"min\":-9223372036854775808}",
		 ("max", UINT64_MAX, "min", (long long)INT64_MIN), "x");
}

Test(fields, doubles_take_the_shortest_form_that_round_trips)
{
	float f = 0.5f;
	CHECK_KV("d a=0.1 b=3.14159265358979 c=1e+300 f=0.5 z=0 t=0.30000000000000004",
		 "\"fields\":{\"a\":0.1,\"b\":3.14159265358979,\"c\":1e+300,\"f\":0.5,\"z\":0,\"t\":0.30000000000000004}",
		 ("a", 0.1, "b", 3.14159265358979, "c", 1e300, "f", f, "z", 0.0, "t", 0.1 + 0.2), "d");
}

Test(fields, nan_and_infinities_are_words_and_json_strings)
{
	CHECK_KV("d n=NaN p=Infinity m=-Infinity", "\"fields\":{\"n\":\"NaN\",\"p\":\"Infinity\",\"m\":\"-Infinity\"}",
		 ("n", NAN, "p", INFINITY, "m", -INFINITY), "d");
}

Test(fields, bools_are_true_and_false)
{
	bool t = true, f = false;
	CHECK_KV("b yes=true no=false", "\"fields\":{\"yes\":true,\"no\":false}", ("yes", t, "no", f), "b");
}

Test(fields, message_keeps_its_arguments_before_the_fields)
{
	const char *name = "bob";
	CHECK_KV("user bob logged in id=7 ip=10.0.0.1", "\"msg\":\"user bob logged in\",\"fields\":{\"id\":7,\"ip\":\"10.0.0.1\"}",
		 ("id", 7, "ip", "10.0.0.1"), "user %s logged in", name);
}

Test(fields, fields_follow_arguments_the_format_does_not_read)
{
	/* C allows more arguments than the format reads; the fields come after all of them */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-extra-args"
	CHECK_KV("x 1 k=5 s=hello", "\"msg\":\"x 1\",\"fields\":{\"k\":5,\"s\":\"hello\"}", ("k", 5, "s", "hello"),
		 "x %d", 1, 2.5, "extra");
#pragma GCC diagnostic pop
}

Test(fields, text_quotes_value_with_space_quote_equals_or_backslash)
{
	CHECK_KV("s a=\"x y\" b=\"say \\\"hi\\\"\" c=\"k=v\" d=\"a\\\\b\" e=plain",
		 "\"fields\":{\"a\":\"x y\",\"b\":\"say \\\"hi\\\"\",\"c\":\"k=v\",\"d\":\"a\\\\b\",\"e\":\"plain\"}",
		 ("a", "x y", "b", "say \"hi\"", "c", "k=v", "d", "a\\b", "e", "plain"), "s");
}

Test(fields, newline_and_escape_cannot_forge_a_line_or_a_field)
{
	CHECK_KV("s v=\"1\\n2020-01-01 INFO x[1/1]: forged\" e=\"\\x1b[31m\" t=\"a\\tb\"",
		 "\"fields\":{\"v\":\"1\\n2020-01-01 INFO x[1/1]: forged\",\"e\":\"\\u001b[31m\",\"t\":\"a\\tb\"}",
		 ("v", "1\n2020-01-01 INFO x[1/1]: forged", "e", "\x1b[31m", "t", "a\tb"), "s");
}

Test(fields, null_and_empty_strings)
{
	const char *nul = NULL;
	char *empty = "";
	CHECK_KV("s n=(null) e=\"\"", "\"fields\":{\"n\":null,\"e\":\"\"}", ("n", nul, "e", empty), "s");
}

Test(fields, a_long_string_is_truncated_with_the_mark)
{
	static char big[SHMLOG_MAX_STRING + 100];
	memset(big, 'a', sizeof big - 1);
	char want_text[SHMLOG_MAX_STRING + 64], want_json[SHMLOG_MAX_STRING + 64];
	snprintf(want_text, sizeof want_text, "t s=%.*s...[truncated]", SHMLOG_MAX_STRING, big);
	snprintf(want_json, sizeof want_json, "\"fields\":{\"s\":\"%.*s...[truncated]\"}", SHMLOG_MAX_STRING, big);
	CHECK_KV(want_text, want_json, ("s", big), "t");
}

Test(fields, sixteen_pairs_in_call_order)
{
	CHECK_KV("m a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15 p=16",
		 "\"fields\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,"
		 "\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16}}",
		 ("a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "f", 6, "g", 7, "h", 8, "i", 9, "j", 10, "k", 11, "l", 12,
		  "m", 13, "n", 14, "o", 15, "p", 16),
		 "m");
}

Test(fields, every_level_has_a_kv_form_and_a_record_without_fields_has_no_object)
{
	SHMLOG_TRACE_KV(lg, ("l", 1), "t");
	SHMLOG_DEBUG_KV(lg, ("l", 2), "d");
	SHMLOG_WARN_KV(lg, ("l", 4), "w");
	SHMLOG_ERROR_KV(lg, ("l", 5), "e");
	SHMLOG_CRITICAL_KV(lg, ("l", 6), "c");
	SHMLOG_INFO(lg, "plain");
	static const char *const want[] = {"TRACE", "DEBUG", "WARN", "ERROR", "CRITICAL"};
	for (int i = 0; i < 5; i++) {
		const char *j = next_line(TEXT_FORMAT_JSON);
		char lvl[32];
		snprintf(lvl, sizeof lvl, "\"level\":\"%s\"", want[i]);
		cr_assert(strstr(j, lvl) && strstr(j, "\"fields\":{\"l\":"), "%s", j);
	}
	cr_assert_null(strstr(next_line(TEXT_FORMAT_JSON), "\"fields\":"));
}

Test(fields, a_refused_format_still_carries_its_fields)
{
	int n = 3;
	for (int i = 0; i < 2; i++)
		SHMLOG_INFO_KV(lg, ("k", 1, "s", "v"), "pos %1$d", n);
	for (int i = 0; i < 2; i++) {
		const char *t = next_line(TEXT_FORMAT_TEXT);
		cr_assert(strstr(t, "format refused") && strstr(t, " k=1 s=v"), "%s", t);
	}
}

/* ---- hostile segments ---- */

/* The first record of ring 0 in a writable second view of our segment. */
static uint8_t *first_record(struct seg *w)
{
	char err[256];
	cr_assert_eq(seg_open(w, shmlog_segment_path(lg), true, err, sizeof err), 0, "%s", err);
	return (uint8_t *)seg_ring_data(w, 0);
}

static const struct shmlog_site_entry *site0(struct seg *w)
{
	return (const struct shmlog_site_entry *)(w->base + w->sites_off);
}

/* Render ring 0's first record with a fresh reader (site not cached yet). */
static const char *render_fresh(void)
{
	seg_close(&rseg);
	char err[256];
	cr_assert_eq(seg_open(&rseg, shmlog_segment_path(lg), false, err, sizeof err), 0, "%s", err);
	rpos = 0;
	return next_line(TEXT_FORMAT_TEXT);
}

Test(fields, a_bad_field_descriptor_makes_the_site_unknown)
{
	SHMLOG_INFO_KV(lg, ("key", 1, "s", "x"), "m");
	struct seg w;
	first_record(&w);
	uint8_t *heap = w.base + w.strings_off;
	uint32_t off = site0(&w)->fields_off;
	cr_assert(off != 0);
	const uint8_t good[] = {2, SHMLOG_FIELD_I64, 3, 'k', 'e', 'y'};
	cr_assert_eq(memcmp(heap + off, good, sizeof good), 0);
	const struct {
		uint32_t at, val;
	} bad[] = {{0, 17}, {0, 0}, {1, 9}, {2, 0}, {2, 255}, {0, 200}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t save = heap[off + bad[i].at];
		heap[off + bad[i].at] = (uint8_t)bad[i].val;
		const char *t = render_fresh();
		cr_assert(strstr(t, "unknown call-site id"), "case %zu: %s", i, t);
		heap[off + bad[i].at] = save;
	}
	/* a descriptor offset past the heap, and one whose last key runs off its end */
	struct shmlog_site_entry *e = (struct shmlog_site_entry *)site0(&w);
	e->fields_off = w.strings_bytes;
	cr_assert(strstr(render_fresh(), "unknown call-site id"));
	e->fields_off = w.strings_bytes - 3;
	heap[w.strings_bytes - 3] = 1;
	heap[w.strings_bytes - 2] = SHMLOG_FIELD_I64;
	heap[w.strings_bytes - 1] = 9;
	cr_assert(strstr(render_fresh(), "unknown call-site id"));
	e->fields_off = off;
	cr_assert_str_eq(render_fresh(), "m key=1 s=x");
	seg_close(&w);
}

Test(fields, a_minor_1_segment_without_field_descriptors_is_still_read)
{
	SHMLOG_INFO(lg, "plain %d", 7);
	struct seg w;
	first_record(&w);
	/* what a 1.1 producer wrote: minor 1, and 0 where the descriptor offset is now */
	w.hdr->abi_minor = 1;
	cr_assert_eq(site0(&w)->fields_off, 0);
	seg_close(&w);
	cr_assert_str_eq(render_fresh(), "plain 7");
}

Test(fields, truncated_or_malformed_field_bytes_are_reported_not_read)
{
	bool yes = true;
	SHMLOG_INFO_KV(lg, ("b", yes, "s", "hello"), "m");
	struct seg w;
	uint8_t *rec = first_record(&w);
	/* record: 16 header, bool at 16, u16 len at 17, "hello" at 19; size 24 */
	uint16_t l;
	memcpy(&l, rec + 17, 2);
	cr_assert_eq(l, 5, "record %02x %02x %02x %02x / %02x %02x %02x", rec[0], rec[1], rec[2], rec[3], rec[16],
		     rec[17], rec[18]);
	l = 6; /* one byte past the record's end */
	memcpy(rec + 17, &l, 2);
	cr_assert_str_eq(render_fresh(), "m [shmlog: malformed record fields]");
	l = SHMLOG_STR_TRUNCATED | 0x7ffe;
	memcpy(rec + 17, &l, 2);
	cr_assert_str_eq(render_fresh(), "m [shmlog: malformed record fields]");
	l = 5;
	memcpy(rec + 17, &l, 2);
	rec[16] = 2; /* a bool that is neither 0 nor 1 */
	cr_assert_str_eq(render_fresh(), "m [shmlog: malformed record fields]");
	rec[16] = 1;
	uint32_t size = 16; /* a record with no room for the values at all */
	memcpy(rec, &size, 4);
	cr_assert_str_eq(render_fresh(), "m [shmlog: malformed record fields]");
	size = 24;
	memcpy(rec, &size, 4);
	cr_assert_str_eq(render_fresh(), "m b=true s=hello");
	seg_close(&w);
}

Test(fields, hostile_keys_are_quoted_and_escaped)
{
	SHMLOG_INFO_KV(lg, ("abc", 1), "m");
	struct seg w;
	first_record(&w);
	uint8_t *d = w.base + w.strings_off + site0(&w)->fields_off;
	memcpy(d + 3, "a\nb", 3);
	cr_assert_str_eq(render_fresh(), "m \"a\\nb\"=1");
	memcpy(d + 3, "x=y", 3);
	cr_assert_str_eq(render_fresh(), "m \"x=y\"=1");
	memcpy(d + 3, "\"q ", 3);
	rpos = 0;
	render_fresh();
	rpos = 0;
	cr_assert(strstr(next_line(TEXT_FORMAT_JSON), "\"fields\":{\"\\\"q \":1}"), "%s", line.data);
	seg_close(&w);
}

/* ---- `shmlog read` on a real segment ---- */

/* A child process logs one record with fields and exits; returns its segment's path. */
static char *child_segment(void)
{
	pid_t p = fork();
	cr_assert(p >= 0);
	if (p == 0) {
		struct shmlog *c;
		struct shmlog_options o = {.dir = dir, .name = "kid"};
		if (shmlog_open(&c, &o) < 0)
			_exit(1);
		bool ok = true;
		SHMLOG_INFO_KV(c, ("id", 42, "who", "a b", "ok", ok, "px", 1.5, "n", (const char *)NULL), "order %d", 7);
		shmlog_close(c);
		_exit(0);
	}
	int st = th_waitpid_timeout(p, 30000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	char pat[4200];
	snprintf(pat, sizeof pat, "%s/kid.%d.", dir, (int)p);
	glob_t g;
	char *globpat = NULL;
	cr_assert(asprintf(&globpat, "%s*.shm", pat) > 0);
	cr_assert_eq(glob(globpat, 0, NULL, &g), 0, "no segment %s", globpat);
	char *path = strdup(g.gl_pathv[0]);
	globfree(&g);
	free(globpat);
	return path;
}

Test(fields, shmlog_read_prints_the_fields_in_text_and_json)
{
	char *seg = child_segment();
	char *bin = th_build_path("shmlog"), *out = NULL;
	char out_err[4200];
	cr_assert(asprintf(&out, "%s/read.out", dir) > 0);
	snprintf(out_err, sizeof out_err, "%s.err", out);
	const char *const modes[][2] = {{"read", NULL}, {"read", "--json"}};
	const char *const want[] = {"order 7 id=42 who=\"a b\" ok=true px=1.5 n=(null)\n",
				    "\"msg\":\"order 7\",\"fields\":{\"id\":42,\"who\":\"a b\",\"ok\":true,\"px\":1.5,\"n\":null}"};
	for (int m = 0; m < 2; m++) {
		char *argv[5] = {bin, (char *)modes[m][0]};
		int k = 2;
		if (modes[m][1])
			argv[k++] = (char *)modes[m][1];
		argv[k++] = seg;
		argv[k] = NULL;
		pid_t p = th_spawn(argv, out, out_err, NULL);
		cr_assert(p > 0);
		int st = th_waitpid_timeout(p, 30000);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
		char *o = th_read_file(out, NULL);
		char *e = th_read_file(out_err, NULL);
		cr_assert(o && strstr(o, want[m]), "%s lacks %s (stderr: %s)", o, want[m], e);
		free(e);
		free(o);
	}
	free(out);
	free(bin);
	free(seg);
}

/* ---- what must not compile ---- */

/* The source directory, from the build directory's meson-info. Returns a malloc'd path. */
static char *source_dir(void)
{
	char *info = th_build_path("meson-info/meson-info.json");
	char *j = th_read_file(info, NULL);
	free(info);
	cr_assert(j, "no meson-info in the build directory");
	const char *k = strstr(j, "\"source\": \"");
	cr_assert(k);
	k += strlen("\"source\": \"");
	char *src = strndup(k, strcspn(k, "\""));
	free(j);
	return src;
}

/* Whether cc -fsyntax-only accepts a program with body inside main. */
static bool compiles(const char *body)
{
	char *src = source_dir(), *file = NULL, *inc = NULL;
	cr_assert(asprintf(&file, "%s/snippet.c", dir) > 0 && asprintf(&inc, "-I%s/producer", src) > 0);
	FILE *f = fopen(file, "w");
	cr_assert(f);
	fprintf(f, "#include <shmlog.h>\nint main(void)\n{\n\tstruct shmlog *lg = 0;\n%s\n\treturn 0;\n}\n", body);
	fclose(f);
	char *argv[] = {"/usr/bin/cc", "-std=gnu11", "-fsyntax-only", inc, file, NULL};
	pid_t p = th_spawn(argv, "/dev/null", "/dev/null", NULL);
	cr_assert(p > 0);
	int st = th_waitpid_timeout(p, 60000);
	free(src);
	free(file);
	free(inc);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

Test(fields, a_good_call_compiles)
{
	cr_assert(compiles("\tint uid = 1; const char *ip = \"x\"; _Bool a = 1;\n"
			   "\tSHMLOG_INFO_KV(lg, (\"user_id\", uid, \"ip\", ip, \"admin\", a), \"user %s\", ip);\n"
			   "\tSHMLOG_ERROR_KV(lg, (\"order\", 1ull, \"px\", 1.5f), \"rejected\");"));
}

Test(fields, a_non_literal_key_does_not_compile)
{
	cr_assert_not(compiles("\tconst char *k = \"key\";\n\tSHMLOG_INFO_KV(lg, (k, 1), \"m\");"));
}

Test(fields, a_struct_value_does_not_compile)
{
	cr_assert_not(compiles("\tstruct { int a; } s = {1};\n\tSHMLOG_INFO_KV(lg, (\"s\", s), \"m\");"));
}

Test(fields, a_pointer_value_or_seventeen_pairs_do_not_compile)
{
	cr_assert_not(compiles("\tint x; SHMLOG_INFO_KV(lg, (\"p\", &x), \"m\");"));
	cr_assert_not(compiles("\tSHMLOG_INFO_KV(lg, (\"a\",1,\"b\",1,\"c\",1,\"d\",1,\"e\",1,\"f\",1,\"g\",1,\"h\",1,"
			       "\"i\",1,\"j\",1,\"k\",1,\"l\",1,\"m\",1,\"n\",1,\"o\",1,\"p\",1,\"q\",1), \"m\");"));
	cr_assert_not(compiles("\tSHMLOG_INFO_KV(lg, (\"a\", 1, \"b\"), \"m\");"));
}
