/*
 * test_lines.c — a line is the same whichever way its message is rendered.
 *
 * The collector renders a message straight into its text or JSON line,
 * escaping as it goes, and decodes a bounded format's arguments from the
 * record while it renders (fmt_render_rec). shmlog read and the error paths
 * render the message first and escape it afterwards. These tests hold the
 * three ways to the same bytes for formats, arguments, literals and names
 * that need escapes, and check that a record cut short anywhere renders as
 * malformed without reading past its end (the bytes are malloc'd to exactly
 * their length, so AddressSanitizer catches an over-read).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "shared/fmt.h"
#include "shared/record.h"
#include "shared/sbuf.h"
#include "shared/text.h"
#include "helpers.h"

static struct text_record base_record(void)
{
	static const char name[] = "n\x01me \\x";
	return (struct text_record){.ts_ns = 1764547200123456789ull, .level = TEXT_LEVEL_INFO, .name = name,
				    .name_len = sizeof name - 1, .pid = 4242, .tid = 7, .file = "f\"ile.c",
				    .file_len = 7, .line = 12};
}

/* The text and JSON lines of tr, one after the other. */
static char *lines_of(const struct text_record *tr)
{
	struct sbuf out = {0};
	text_append(&out, tr, TEXT_FORMAT_TEXT, false);
	text_append(&out, tr, TEXT_FORMAT_JSON, false);
	sbuf_putc(&out, 0);
	cr_assert(!out.oom);
	return out.data;
}

/* Lines of the lazy message m (reset to not rendered), and m's raw text through text_record_msg. */
static char *lazy_lines(struct text_msg *m, char **raw)
{
	struct text_record tr = base_record();
	tr.lazy = m;
	m->rendered = false;
	char *l = lines_of(&tr);
	size_t len;
	m->rendered = false;
	const char *t = text_record_msg(&tr, &len);
	*raw = strndup(t, len);
	return l;
}

static void check_fmt(const char *fmt, uint32_t max_str, ...)
{
	struct fmt_parsed pf;
	const char *err = NULL;
	cr_assert_eq(fmt_parse(&pf, fmt, strlen(fmt), &err), 0, "%s: %s", fmt, err);
	va_list ap;
	va_start(ap, max_str);
	struct th_enc e = th_encode_args(&pf, max_str, ap);
	va_end(ap);

	struct fmt_arg args[SHMLOG_MAX_ARGS];
	cr_assert_eq(record_decode_args(args, pf.kinds, pf.n_args, e.p, e.size), 0);
	struct sbuf want_msg = {0}, scratch = {0};
	fmt_render(&want_msg, fmt, &pf, args);
	struct text_record eager = base_record();
	eager.msg = want_msg.data ? want_msg.data : "";
	eager.msg_len = want_msg.len;
	char *want = lines_of(&eager);

	struct text_msg by_args = {.fmt = fmt, .fmt_len = (uint32_t)strlen(fmt), .pf = &pf, .args = args, .raw = &scratch};
	char *raw, *got = lazy_lines(&by_args, &raw);
	cr_assert_str_eq(got, want, "%s (decoded arguments)", fmt);
	cr_assert(strlen(raw) == want_msg.len && memcmp(raw, want_msg.data, want_msg.len) == 0, "%s raw", fmt);
	free(got);
	free(raw);
	if (pf.bounded) {
		struct text_msg by_bytes = by_args;
		by_bytes.args = NULL;
		by_bytes.bytes = e.p;
		by_bytes.bytes_len = e.size;
		got = lazy_lines(&by_bytes, &raw);
		cr_assert_str_eq(got, want, "%s (decoded as rendered)", fmt);
		cr_assert(strlen(raw) == want_msg.len && memcmp(raw, want_msg.data, want_msg.len) == 0, "%s raw", fmt);
		free(got);
		free(raw);
	}
	free(want);
	free(e.p);
	sbuf_free(&want_msg);
	sbuf_free(&scratch);
}

Test(lines, are_the_same_rendered_first_or_into_the_line)
{
	check_fmt("value=%d name=%s pi=%f", 64, -42, "hello", 3.14159265358979);
	check_fmt("tab\there \"q\" back\\slash nl\n %s|%c|%c|%%", 64, "a\nb\x1b[31m\"\\\x7f\xc3\xa9", '\n', '"');
	check_fmt("%5s|%-7.3s|%.2s|%s|%.3s|%10s", 64, "abc", "abcdef", (const char *)NULL, (const char *)NULL,
		  "x\ty", (const char *)NULL);
	check_fmt("%x %X %o %u %llu %hhd %hd %ld %zu %c", 64, 0xbeefu, 0xbeefu, 8u, 4000000000u,
		  18446744073709551615ull, 300, 70000, -9000000000l, (size_t)7, 'A');
	check_fmt("%f %f %f %.0f %10.2f %.9f %F %f %f", 64, 1e300, -0.0, 1e-7, 2.5, -3.14159, 0.1, INFINITY, NAN,
		  123456789012.5);
	check_fmt("%s and %s", 4, "truncated here", "ok"); /* cut at max_str: the mark follows */
	check_fmt("no conversions, only \x01 literal", 64);
	check_fmt("%e %g %p %+d %05d %*d", 64, 1.5, 2.5, (void *)0x1234, 5, 42, 6, 7); /* not bounded */
}

Test(lines, a_record_cut_short_renders_as_malformed_without_reading_past_it)
{
	const char *fmt = "v=%d s=%s f=%f";
	struct fmt_parsed pf;
	cr_assert_eq(fmt_parse(&pf, fmt, strlen(fmt), NULL), 0);
	cr_assert(pf.bounded);
	uint8_t full[64]; /* the producer's layout (shared/abi.h): i32, u16 length and bytes, f64 */
	uint32_t size = 4 + 2 + 5 + 8;
	int32_t v = 7;
	double d = 1.5;
	uint16_t l = 5;
	memcpy(full, &v, 4);
	memcpy(full + 4, &l, 2);
	memcpy(full + 6, "hello", 5);
	memcpy(full + 11, &d, 8);
	for (uint32_t cut = 0; cut <= size; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, full, cut);
		struct sbuf raw = {0};
		struct text_msg m = {.fmt = fmt, .fmt_len = (uint32_t)strlen(fmt), .pf = &pf, .bytes = p, .bytes_len = cut,
				     .raw = &raw};
		char *r, *lines = lazy_lines(&m, &r);
		if (cut == size) {
			cr_assert_str_eq(r, "v=7 s=hello f=1.500000");
		} else {
			cr_assert_str_eq(r, TEXT_MALFORMED_ARGS "v=%d s=%s f=%f", "cut at %u", cut);
			cr_assert(strstr(lines, "]: " TEXT_MALFORMED_ARGS "v=%d s=%s f=%f\n"), "%s", lines);
		}
		free(lines);
		free(r);
		free(p);
		sbuf_free(&raw);
	}
}

Test(lines, the_head_of_a_line_follows_a_change_of_name_pid_or_tid)
{
	/* the text head is reused while name, pid and tid stay the same: compared by value */
	char a[] = "alpha", b[] = "alphb";
	struct text_record r[] = {
		{.ts_ns = 1, .level = TEXT_LEVEL_INFO, .name = a, .name_len = 5, .pid = 1, .tid = 2, .msg = "m", .msg_len = 1},
		{.ts_ns = 1, .level = TEXT_LEVEL_INFO, .name = b, .name_len = 5, .pid = 1, .tid = 2, .msg = "m", .msg_len = 1},
		{.ts_ns = 1, .level = TEXT_LEVEL_INFO, .name = b, .name_len = 5, .pid = 3, .tid = 2, .msg = "m", .msg_len = 1},
		{.ts_ns = 1, .level = TEXT_LEVEL_INFO, .name = b, .name_len = 5, .pid = 3, .tid = 4, .msg = "m", .msg_len = 1},
		{.ts_ns = 1, .level = TEXT_LEVEL_INFO, .name = b, .name_len = 4, .pid = 3, .tid = 4, .msg = "m", .msg_len = 1},
	};
	const char *want[] = {" alpha[1/2]: m\n", " alphb[1/2]: m\n", " alphb[3/2]: m\n", " alphb[3/4]: m\n",
			      " alph[3/4]: m\n"};
	for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
		struct sbuf out = {0};
		text_append(&out, &r[i], TEXT_FORMAT_TEXT, false);
		sbuf_putc(&out, 0);
		cr_assert_str_eq(strstr(out.data, " INFO") + 5, want[i], "record %zu: %s", i, out.data);
		sbuf_free(&out);
	}
	b[0] = 'x'; /* the same pointer, another name: still compared by value */
	struct sbuf out = {0};
	text_append(&out, &r[3], TEXT_FORMAT_TEXT, false);
	sbuf_putc(&out, 0);
	cr_assert(strstr(out.data, " xlphb[3/4]: m\n"), "%s", out.data);
	sbuf_free(&out);
}
