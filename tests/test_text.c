/*
 * test_text.c — rendering records as text and JSON lines (shared/text.c).
 *
 * The timestamp is checked against gmtime_r + strftime over a spread of
 * values (epoch, leap days, century years, the uint64 limit); the escaping
 * tests feed every byte value through both formats and check that nothing
 * can end a line early.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/escape.h"
#include "shared/text.h"
#include "helpers.h"


static void reference_ts(char *out, size_t size, uint64_t ts_ns)
{
	time_t secs = (time_t)(ts_ns / 1000000000u);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char head[32];
	strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%09uZ", head, (unsigned)(ts_ns % 1000000000u));
}

static void check_ts(uint64_t ts_ns)
{
	char got[TEXT_TS_BYTES], want[64];
	memset(got, 'X', sizeof got);
	text_format_ts(got, ts_ns);
	reference_ts(want, sizeof want, ts_ns);
	cr_assert_str_eq(got, want, "ts_ns=%llu", (unsigned long long)ts_ns);
	cr_assert_eq(strlen(got), TEXT_TS_BYTES - 1);
}

/* Render r and return a NUL-terminated malloc'd copy. */
static char *render(const struct text_record *r, enum text_format f, bool color)
{
	struct sbuf b = {0};
	text_append(&b, r, f, color);
	cr_assert(!b.oom);
	char *s = strndup(b.data, b.len);
	cr_assert_eq(strlen(s), b.len, "no NUL byte may reach the output");
	sbuf_free(&b);
	return s;
}

Test(text, formats_timestamp_like_the_example)
{
	char out[TEXT_TS_BYTES];
	text_format_ts(out, th_utc_ns(2026, 11, 24, 1, 59, 46, 123456789));
	cr_assert_str_eq(out, "2026-11-24T01:59:46.123456789Z");
}

Test(text, formats_epoch_and_pads_nanoseconds)
{
	char out[TEXT_TS_BYTES];
	text_format_ts(out, 0);
	cr_assert_str_eq(out, "1970-01-01T00:00:00.000000000Z");
	text_format_ts(out, 1);
	cr_assert_str_eq(out, "1970-01-01T00:00:00.000000001Z");
	text_format_ts(out, 999999999);
	cr_assert_str_eq(out, "1970-01-01T00:00:00.999999999Z");
	text_format_ts(out, 1000000000u + 1000);
	cr_assert_str_eq(out, "1970-01-01T00:00:01.000001000Z");
}

Test(text, formats_leap_days_and_century_years)
{
	static const int dates[][3] = {
		{1972, 2, 29}, {1972, 3, 1}, {1999, 12, 31}, {2000, 2, 28}, {2000, 2, 29}, {2000, 3, 1},
		{2000, 12, 31}, {2024, 2, 29}, {2038, 1, 19}, {2100, 2, 28}, {2100, 3, 1}, {2100, 12, 31},
		{2400, 2, 29}, {2400, 12, 31}, {2554, 7, 21},
	};
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		check_ts(th_utc_ns(dates[i][0], dates[i][1], dates[i][2], 0, 0, 0, 0));
		check_ts(th_utc_ns(dates[i][0], dates[i][1], dates[i][2], 23, 59, 59, 999999999));
	}
	char out[TEXT_TS_BYTES];
	text_format_ts(out, th_utc_ns(2100, 3, 1, 0, 0, 0, 5));
	cr_assert_str_eq(out, "2100-03-01T00:00:00.000000005Z");
}

Test(text, formats_timestamps_like_gmtime_over_the_whole_range)
{
	/* A fixed-seed LCG spread over all of uint64, plus every day for eight years around 2000. */
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 200000; i++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		check_ts(x);
	}
	uint64_t start = th_utc_ns(1996, 1, 1, 0, 0, 0, 0);
	for (uint64_t day = 0; day < 8 * 366; day++)
		check_ts(start + day * 86400u * 1000000000u + day * 7919u);
	check_ts(UINT64_MAX);
}

Test(text, formats_text_line_exactly)
{
	struct text_record r = th_sample_record("hello world");
	char *s = render(&r, TEXT_FORMAT_TEXT, false);
	cr_assert_str_eq(s, "2026-11-24T01:59:46.123456789Z INFO demo[1234/1240]: hello world\n");
	free(s);

	r.pid = 0;
	r.tid = 4294967295u;
	r.level = TEXT_LEVEL_CRITICAL;
	s = render(&r, TEXT_FORMAT_TEXT, false);
	cr_assert_str_eq(s, "2026-11-24T01:59:46.123456789Z CRITICAL demo[0/4294967295]: hello world\n");
	free(s);
}

Test(text, wraps_level_name_in_colour)
{
	static const struct {
		int level;
		const char *want;
	} cases[] = {
		{TEXT_LEVEL_TRACE, "\x1b[2mTRACE\x1b[0m"},    {TEXT_LEVEL_DEBUG, "\x1b[36mDEBUG\x1b[0m"},
		{TEXT_LEVEL_INFO, "\x1b[32mINFO\x1b[0m"},     {TEXT_LEVEL_WARN, "\x1b[33mWARN\x1b[0m"},
		{TEXT_LEVEL_ERROR, "\x1b[31mERROR\x1b[0m"},   {TEXT_LEVEL_CRITICAL, "\x1b[1;31mCRITICAL\x1b[0m"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct text_record r = th_sample_record("m");
		r.level = cases[i].level;
		char *s = render(&r, TEXT_FORMAT_TEXT, true);
		char want[256];
		snprintf(want, sizeof want, "2026-11-24T01:59:46.123456789Z %s demo[1234/1240]: m\n", cases[i].want);
		cr_assert_str_eq(s, want);
		free(s);
	}
}

Test(text, escapes_every_control_byte_and_backslash)
{
	for (int c = 0; c < 256; c++) {
		char msg[3] = {'a', (char)c, 'b'};
		struct text_record r = th_sample_record("");
		r.msg = msg;
		r.msg_len = 3;
		struct sbuf b = {0};
		text_append(&b, &r, TEXT_FORMAT_TEXT, false);
		const char *body = memmem(b.data, b.len, "]: ", 3);
		cr_assert(body);
		body += 3;
		size_t blen = b.len - (size_t)(body - b.data);
		char want[16];
		if (c == '\n')
			strcpy(want, "a\\nb\n");
		else if (c == '\r')
			strcpy(want, "a\\rb\n");
		else if (c == '\t')
			strcpy(want, "a\\tb\n");
		else if (c == '\\')
			strcpy(want, "a\\\\b\n");
		else if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof want, "a\\x%02xb\n", (unsigned)c);
		else
			snprintf(want, sizeof want, "a%cb\n", c);
		cr_assert_eq(blen, strlen(want), "byte 0x%02x", (unsigned)c);
		cr_assert(memcmp(body, want, blen) == 0, "byte 0x%02x: got %.*s", (unsigned)c, (int)blen, body);
		sbuf_free(&b);
	}
}

/* The text escape of byte c, as the format defines it (not through escape.c's table). */
static size_t reference_escape(char *out, unsigned char c)
{
	if (c == '\n' || c == '\r' || c == '\t' || c == '\\') {
		out[0] = '\\';
		out[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\';
		return 2;
	}
	if (c < 0x20 || c == 0x7f)
		return (size_t)sprintf(out, "\\x%02x", (unsigned)c);
	out[0] = (char)c;
	return 1;
}

/* Every length up to 40 (the inline 4-to-16 path, the 4-, 8- and 16-byte steps and their edges),
 * with each kind of byte at each place: the bytes are read from a buffer of exactly n (ASan sees an
 * overread) and the result matches the byte-by-byte reference. */
Test(text, escapes_each_kind_of_byte_at_each_place_of_every_short_length)
{
	static const unsigned char probes[] = {0x00, 0x01, '\n', 0x1f, 0x7f, '\\', ' ', 'z', 0x80, 0xff};
	for (size_t n = 1; n <= 40; n++) {
		for (size_t k = 0; k < n; k++) {
			for (size_t j = 0; j < sizeof probes; j++) {
				char *s = malloc(n);
				memset(s, 'a', n);
				s[k] = (char)probes[j];
				char got[4 * 40 + 16], want[4 * 40 + 16];
				size_t got_len = (size_t)(esc_text(got, s, n) - got), want_len = 0;
				for (size_t i = 0; i < n; i++)
					want_len += reference_escape(want + want_len, (unsigned char)s[i]);
				cr_assert_eq(got_len, want_len, "n=%zu k=%zu byte 0x%02x", n, k, probes[j]);
				cr_assert(memcmp(got, want, want_len) == 0, "n=%zu k=%zu byte 0x%02x", n, k, probes[j]);
				free(s);
			}
		}
	}
}

/* The head of a line is cached while the logger stays the same: a name differing in one byte, at
 * any place and of any length, is a new head (the name compare goes by word for 4 to 16 bytes). */
Test(text, a_name_differing_in_one_byte_makes_a_new_head)
{
	for (size_t n = 1; n <= 20; n++) {
		for (size_t k = 0; k < n; k++) {
			char a[21], b[21], want[64];
			memset(a, 'a', n);
			memcpy(b, a, n);
			b[k] = 'b';
			a[n] = b[n] = '\0';
			struct text_record r = th_sample_record("m");
			const char *names[3] = {a, b, a};
			for (int i = 0; i < 3; i++) {
				r.name = names[i];
				r.name_len = n;
				char *s = render(&r, TEXT_FORMAT_TEXT, false);
				snprintf(want, sizeof want, " %s[1234/1240]: m\n", names[i]);
				cr_assert(strstr(s, want), "n=%zu k=%zu line %d: %s", n, k, i, s);
				free(s);
			}
		}
	}
}

Test(text, message_cannot_forge_a_line)
{
	const char *forged = "ok\n2026-11-24T01:59:46.000000000Z CRITICAL root[1/1]: pwned\r\x1b[2K\\n";
	struct text_record r = th_sample_record(forged);
	r.name = "a\nb";
	r.name_len = 3;
	char *s = render(&r, TEXT_FORMAT_TEXT, false);
	cr_assert_eq(strchr(s, '\n'), s + strlen(s) - 1, "exactly one LF, at the end");
	cr_assert_null(strchr(s, '\r'));
	cr_assert_null(strchr(s, '\x1b'));
	cr_assert(strstr(s, " a\\nb[1234/1240]: ok\\n2026-11-24T01:59:46.000000000Z CRITICAL root[1/1]: "
			    "pwned\\r\\x1b[2K\\\\n\n"));
	free(s);
}

Test(text, passes_utf8_through_unchanged)
{
	struct text_record r = th_sample_record("caf\xc3\xa9 \xe2\x9c\x93");
	char *t = render(&r, TEXT_FORMAT_TEXT, false);
	cr_assert(strstr(t, "]: caf\xc3\xa9 \xe2\x9c\x93\n"));
	char *j = render(&r, TEXT_FORMAT_JSON, false);
	cr_assert(strstr(j, "\"msg\":\"caf\xc3\xa9 \xe2\x9c\x93\"}"));
	free(t);
	free(j);
}

Test(text, formats_json_line_exactly)
{
	struct text_record r = th_sample_record("hello \"world\"");
	char *s = render(&r, TEXT_FORMAT_JSON, true);
	cr_assert_str_eq(s, "{\"ts\":\"2026-11-24T01:59:46.123456789Z\",\"level\":\"INFO\",\"name\":\"demo\","
			    "\"pid\":1234,\"tid\":1240,\"file\":\"demo.c\",\"line\":42,"
			    "\"msg\":\"hello \\\"world\\\"\"}\n");
	free(s);
}

Test(text, json_marks_consumed_records_only)
{
	struct text_record r = th_sample_record("m");
	char *s = render(&r, TEXT_FORMAT_JSON, false);
	cr_assert_null(strstr(s, "consumed"));
	free(s);
	r.consumed = true;
	s = render(&r, TEXT_FORMAT_JSON, false);
	cr_assert(strstr(s, ",\"msg\":\"m\",\"consumed\":true}\n"));
	free(s);
}

Test(text, json_writes_null_file_when_call_site_unknown)
{
	struct text_record r = th_sample_record("m");
	r.file = NULL;
	r.file_len = 0;
	r.line = 0;
	char *s = render(&r, TEXT_FORMAT_JSON, false);
	cr_assert(strstr(s, ",\"file\":null,\"line\":0,"));
	free(s);
}

Test(text, json_escapes_quotes_backslashes_and_every_control_byte_and_replaces_lone_high_bytes)
{
	for (int c = 0; c < 256; c++) {
		char msg[3] = {'a', (char)c, 'b'};
		struct text_record r = th_sample_record("");
		r.msg = msg;
		r.msg_len = 3;
		r.file = msg; /* the file name is escaped the same way */
		r.file_len = 3;
		struct sbuf b = {0};
		text_append(&b, &r, TEXT_FORMAT_JSON, false);
		char want[16];
		switch (c) {
		case '"': strcpy(want, "a\\\"b"); break;
		case '\\': strcpy(want, "a\\\\b"); break;
		case '\b': strcpy(want, "a\\bb"); break;
		case '\f': strcpy(want, "a\\fb"); break;
		case '\n': strcpy(want, "a\\nb"); break;
		case '\r': strcpy(want, "a\\rb"); break;
		case '\t': strcpy(want, "a\\tb"); break;
		default:
			if (c < 0x20)
				snprintf(want, sizeof want, "a\\u%04xb", (unsigned)c);
			else if (c >= 0x80) /* a lone byte is never well-formed UTF-8: U+FFFD */
				strcpy(want, "a\xef\xbf\xbd" "b");
			else
				snprintf(want, sizeof want, "a%cb", c);
		}
		char msg_field[32], file_field[32];
		snprintf(msg_field, sizeof msg_field, "\"msg\":\"%s\"}\n", want);
		snprintf(file_field, sizeof file_field, "\"file\":\"%s\",", want);
		size_t ml = strlen(msg_field);
		cr_assert(b.len > ml && memcmp(b.data + b.len - ml, msg_field, ml) == 0, "byte 0x%02x: %.*s",
			  (unsigned)c, (int)b.len, b.data);
		cr_assert(memmem(b.data, b.len, file_field, strlen(file_field)), "byte 0x%02x", (unsigned)c);
		cr_assert_null(memchr(b.data, '\n', b.len - 1), "byte 0x%02x", (unsigned)c);
		sbuf_free(&b);
	}
}

Test(text, appends_after_existing_content)
{
	struct sbuf b = {0};
	sbuf_append(&b, "x", 1);
	struct text_record r = th_sample_record("one");
	text_append(&b, &r, TEXT_FORMAT_TEXT, false);
	r.msg = "two";
	text_append(&b, &r, TEXT_FORMAT_JSON, false);
	cr_assert(b.len > 1 && b.data[0] == 'x');
	cr_assert(memmem(b.data, b.len, "]: one\n{\"ts\"", 12));
	cr_assert_eq(b.data[b.len - 1], '\n');
	sbuf_free(&b);
}

Test(text, escapes_long_messages_without_overflow)
{
	size_t n = 100000;
	char *msg = malloc(n);
	for (size_t i = 0; i < n; i++)
		msg[i] = (char)(i % 3 == 0 ? 0x01 : '"');
	struct text_record r = th_sample_record("");
	r.msg = msg;
	r.msg_len = n;
	struct sbuf b = {0};
	text_append(&b, &r, TEXT_FORMAT_TEXT, false);
	text_append(&b, &r, TEXT_FORMAT_JSON, false);
	cr_assert(!b.oom);
	size_t lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	cr_assert_eq(lines, 2);
	sbuf_free(&b);
	free(msg);
}

Test(text, level_names_and_parse_round_trip)
{
	static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "OFF"};
	for (int l = TEXT_LEVEL_TRACE; l <= TEXT_LEVEL_OFF; l++) {
		const char *n = text_level_name(l);
		cr_assert_str_eq(n, names[l - TEXT_LEVEL_TRACE]);
		cr_assert_eq(text_level_parse(n), l);
		char lower[16];
		size_t i = 0;
		for (; n[i]; i++)
			lower[i] = (char)(n[i] | 0x20);
		lower[i] = 0;
		cr_assert_eq(text_level_parse(lower), l);
	}
	cr_assert_eq(text_level_parse("Warn"), TEXT_LEVEL_WARN);
}

Test(text, rejects_unknown_levels)
{
	cr_assert_str_eq(text_level_name(TEXT_LEVEL_TRACE - 1), "?");
	cr_assert_str_eq(text_level_name(TEXT_LEVEL_OFF + 1), "?");
	cr_assert_str_eq(text_level_name(-100), "?");
	cr_assert_eq(text_level_parse(NULL), -1);
	cr_assert_eq(text_level_parse(""), -1);
	cr_assert_eq(text_level_parse("WARNING"), -1);
	cr_assert_eq(text_level_parse("INF"), -1);
	cr_assert_eq(text_level_parse("INFO "), -1);
}
