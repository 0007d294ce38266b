/*
 * test_syslog_fmt.c — the RFC 5424 formatter of the syslog writer
 * (collector/syslog_fmt.c): every header field, the structured data and its
 * escaping, the name rules, the BOM, LF-framing escapes and the cut at
 * max_bytes on a UTF-8 boundary. What rsyslog makes of these messages is
 * tested against a real rsyslogd in test_syslog.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "collector/syslog_fmt.h"
#include "shared/abi.h"
#include "shared/fmt.h"
#include "helpers.h"


static struct syslog_fmt opts(void)
{
	struct syslog_fmt f = {.facility = 1, .max_bytes = 8096};
	strcpy(f.hostname, "host1");
	strcpy(f.msgid, "-");
	strcpy(f.sd_id, "fields@32473");
	return f;
}

/* Format r with f; returns a NUL-terminated static copy and checks the returned length. */
static const char *fmt(const struct text_record *r, const struct syslog_fmt *f)
{
	static char out[65536];
	struct sbuf b = {0};
	sbuf_append(&b, "xx", 2); /* appends, never overwrites */
	size_t n = syslog_fmt_append(&b, r, f);
	cr_assert_eq(b.len, n + 2);
	cr_assert(memcmp(b.data, "xx", 2) == 0);
	cr_assert_lt(n, sizeof out);
	memcpy(out, b.data + 2, n);
	out[n] = '\0';
	sbuf_free(&b);
	return out;
}

/* The bytes of MSG in formatted message s (no fields, no MSGID) before the truncation mark. */
static size_t cut_body_len(const char *s, size_t max)
{
	cr_assert_leq(strlen(s), max);
	const char *body = strstr(s, " - - ") + 5;
	cr_assert_str_eq(s + strlen(s) - strlen("...[truncated]"), "...[truncated]");
	return strlen(body) - strlen("...[truncated]");
}

/* buf as a string of size - 1 bytes c. */
static void filled(char *buf, size_t size, char c)
{
	memset(buf, c, size - 1);
	buf[size - 1] = '\0';
}

static struct text_field str_field(const char *k, const char *v)
{
	return (struct text_field){.key = k, .key_len = (uint32_t)strlen(k), .type = TEXT_FIELD_STR,
				   .v.s = {v, (uint32_t)strlen(v)}};
}

Test(syslog_fmt, writes_every_header_field)
{
	struct text_record r = th_sample_record("hello world");
	struct syslog_fmt f = opts();
	cr_assert_str_eq(fmt(&r, &f), "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - - hello world");
}

Test(syslog_fmt, maps_levels_to_severities)
{
	static const int levels[] = {TEXT_LEVEL_TRACE, TEXT_LEVEL_DEBUG, TEXT_LEVEL_INFO,
				     TEXT_LEVEL_WARN, TEXT_LEVEL_ERROR, TEXT_LEVEL_CRITICAL};
	static const unsigned want[] = {7, 7, 6, 4, 3, 2};
	struct syslog_fmt f = opts();
	f.facility = 16; /* local0 */
	for (size_t i = 0; i < 6; i++) {
		struct text_record r = th_sample_record("m");
		r.level = levels[i];
		char head[16];
		snprintf(head, sizeof head, "<%u>1 ", 16 * 8 + want[i]);
		cr_assert(strncmp(fmt(&r, &f), head, strlen(head)) == 0, "level %d", levels[i]);
	}
}

Test(syslog_fmt, parses_facility_names)
{
	cr_assert_eq(syslog_facility_parse("kern"), 0);
	cr_assert_eq(syslog_facility_parse("user"), 1);
	cr_assert_eq(syslog_facility_parse("authpriv"), 10);
	cr_assert_eq(syslog_facility_parse("local0"), 16);
	cr_assert_eq(syslog_facility_parse("local7"), 23);
	cr_assert_eq(syslog_facility_parse("local8"), -1);
	cr_assert_eq(syslog_facility_parse("USER"), -1);
	cr_assert_eq(syslog_facility_parse(NULL), -1);
}

Test(syslog_fmt, timestamp_has_six_digits_and_uppercase_t_z)
{
	struct text_record r = th_sample_record("m");
	r.ts_ns = th_utc_ns(2000, 2, 29, 23, 59, 59, 999999999);
	struct syslog_fmt f = opts();
	cr_assert(strstr(fmt(&r, &f), " 2000-02-29T23:59:59.999999Z "));
	r.ts_ns = th_utc_ns(1970, 1, 1, 0, 0, 0, 1000);
	cr_assert(strstr(fmt(&r, &f), " 1970-01-01T00:00:00.000001Z "));
}

Test(syslog_fmt, header_values_are_sanitised_and_cut)
{
	char out[SYSLOG_HOSTNAME_MAX + 1];
	cr_assert_eq(syslog_header_value(out, "a b\tc\xc3\xa9", 7, 32), 7);
	cr_assert_str_eq(out, "a_b_c__");
	cr_assert_eq(syslog_header_value(out, "", 0, 32), 1);
	cr_assert_str_eq(out, "-");
	char long_name[300];
	memset(long_name, 'n', sizeof long_name);
	cr_assert_eq(syslog_header_value(out, long_name, sizeof long_name, SYSLOG_HOSTNAME_MAX), 255);
	/* the logger name as APP-NAME: sanitised and cut to 48 */
	struct text_record r = th_sample_record("m");
	r.name = "my app with a very long name that goes on and on and on";
	r.name_len = strlen(r.name);
	struct syslog_fmt f = opts();
	cr_assert(strstr(fmt(&r, &f), " host1 my_app_with_a_very_long_name_that_goes_on_and_on 1234 "));
	r.name_len = 0;
	cr_assert(strstr(fmt(&r, &f), " host1 - 1234 "));
	strcpy(f.app_name, "fixed");
	cr_assert(strstr(fmt(&r, &f), " host1 fixed 1234 "));
}

Test(syslog_fmt, sd_names_follow_the_rules)
{
	char out[SYSLOG_SD_NAME_MAX + 1];
	cr_assert_eq(syslog_sd_name(out, "a=b]c\"d e", 9), 9);
	cr_assert_str_eq(out, "a_b_c_d_e");
	cr_assert_eq(syslog_sd_name(out, "", 0), 1);
	cr_assert_str_eq(out, "_");
	cr_assert_eq(syslog_sd_name(out, "0123456789012345678901234567890123456789", 40), 32);
	cr_assert_str_eq(out, "01234567890123456789012345678901");
}

Test(syslog_fmt, fields_are_one_element_with_escaped_values)
{
	struct text_field fl[5] = {
		str_field("user", "a\"b\\c]d e"),
		{.key = "n", .key_len = 1, .type = TEXT_FIELD_I64, .v.i = -42},
		{.key = "ok", .key_len = 2, .type = TEXT_FIELD_BOOL, .v.b = true},
		{.key = "gone", .key_len = 4, .type = TEXT_FIELD_STR, .null = true},
		str_field("bad key", "caf\xc3\xa9"),
	};
	fl[4].truncated = true;
	struct text_record r = th_sample_record("msg");
	r.fields = fl;
	r.n_fields = 5;
	struct syslog_fmt f = opts();
	cr_assert_str_eq(fmt(&r, &f), "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - "
				      "[fields@32473 user=\"a\\\"b\\\\c\\]d e\" n=\"-42\" ok=\"true\" gone=\"(null)\" "
				      "bad_key=\"caf\xc3\xa9...[truncated\\]\"] msg");
}

Test(syslog_fmt, no_fields_is_a_dash_and_msgid_is_used)
{
	struct text_record r = th_sample_record("x");
	struct syslog_fmt f = opts();
	strcpy(f.msgid, "ID47");
	cr_assert_str_eq(fmt(&r, &f), "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 ID47 - x");
}

Test(syslog_fmt, bom_only_when_asked)
{
	struct text_record r = th_sample_record("x");
	struct syslog_fmt f = opts();
	cr_assert_null(strstr(fmt(&r, &f), "\xef\xbb\xbf"));
	f.bom = true;
	cr_assert_str_eq(fmt(&r, &f), "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - - \xef\xbb\xbfx");
}

Test(syslog_fmt, lf_framing_escapes_control_bytes)
{
	struct text_field fl = str_field("k", "a\nb");
	struct text_record r = th_sample_record("one\ntwo\\three");
	r.fields = &fl;
	r.n_fields = 1;
	struct syslog_fmt f = opts();
	f.escape_lf = true;
	const char *s = fmt(&r, &f);
	cr_assert_null(strchr(s, '\n'));
	cr_assert(strstr(s, "[fields@32473 k=\"a\\nb\"] one\\ntwo\\\\three"), "%s", s);
	f.escape_lf = false; /* octet counting: the bytes as they are */
	cr_assert(strstr(fmt(&r, &f), " one\ntwo\\three"));
}

Test(syslog_fmt, cuts_at_max_bytes_on_a_utf8_boundary_with_a_mark)
{
	char msg[10240];
	for (size_t i = 0; i + 2 < sizeof msg; i += 2)
		memcpy(msg + i, "\xc3\xa9", 2); /* é, two bytes each */
	msg[sizeof msg - 2] = '\0';
	struct text_record r = th_sample_record(msg);
	struct syslog_fmt f = opts();
	for (size_t max = SYSLOG_MESSAGE_MIN; max <= 2050; max += 1) {
		f.max_bytes = max;
		const char *s = fmt(&r, &f);
		cr_assert_geq(strlen(s), max - 1, "only a split character's byte may be left unused");
		cr_assert_eq(cut_body_len(s, max) % 2, 0, "cut inside a character at max %zu", max);
	}
}

Test(syslog_fmt, a_message_that_fits_is_not_cut)
{
	char msg[600];
	filled(msg, sizeof msg, 'a');
	struct text_record r = th_sample_record(msg);
	struct syslog_fmt f = opts();
	f.max_bytes = 1000;
	cr_assert_null(strstr(fmt(&r, &f), "[truncated]"));
	f.max_bytes = strlen(fmt(&r, &f));
	cr_assert_null(strstr(fmt(&r, &f), "[truncated]"), "exactly max_bytes long is not cut");
	f.max_bytes--;
	cr_assert_not_null(strstr(fmt(&r, &f), "[truncated]"));
}

Test(syslog_fmt, fields_that_cannot_fit_are_left_out_and_marked)
{
	char big[2000];
	filled(big, sizeof big, 'v');
	struct text_field fl = str_field("k", big);
	struct text_record r = th_sample_record("short");
	r.fields = &fl;
	r.n_fields = 1;
	struct syslog_fmt f = opts();
	f.max_bytes = 1024;
	const char *s = fmt(&r, &f);
	cr_assert_str_eq(s, "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - - short...[truncated]");
}

Test(syslog_fmt, cut_escaped_message_never_splits_an_escape)
{
	char msg[2000];
	filled(msg, sizeof msg, '\n');
	struct text_record r = th_sample_record(msg);
	struct syslog_fmt f = opts();
	f.escape_lf = true;
	for (size_t max = 500; max < 520; max++) {
		f.max_bytes = max;
		cr_assert_eq(cut_body_len(fmt(&r, &f), max) % 2, 0, "\\n pairs whole at max %zu", max);
	}
}

/* r with a lazy message: format fmt_s, its arguments "value=%d name=%s" encoded in args (n bytes). */
static struct text_record lazy_record(struct text_msg *m, struct fmt_parsed *pf, struct sbuf *raw, const char *fmt_s,
				      const uint8_t *args, size_t n)
{
	cr_assert_eq(fmt_parse(pf, fmt_s, strlen(fmt_s), NULL), 0);
	cr_assert(pf->bounded);
	*m = (struct text_msg){.fmt = fmt_s, .fmt_len = (uint32_t)strlen(fmt_s), .pf = pf, .bytes = args, .bytes_len = n,
			       .raw = raw};
	struct text_record r = th_sample_record("unused");
	r.lazy = m;
	return r;
}

/* "value=%d name=%s" arguments: -7 and name (cut by the producer when truncated). */
static size_t m2_args(uint8_t *buf, const char *name, bool truncated)
{
	int32_t v = -7;
	uint16_t l = (uint16_t)strlen(name) | (truncated ? SHMLOG_STR_TRUNCATED : 0);
	memcpy(buf, &v, 4);
	memcpy(buf + 4, &l, 2);
	memcpy(buf + 6, name, strlen(name));
	return 6 + strlen(name);
}

Test(syslog_fmt, lazy_message_is_rendered_into_the_frame_as_its_raw_text_escaped)
{
	uint8_t args[64];
	size_t n = m2_args(args, "a\nb\\c", true);
	struct text_msg m;
	struct fmt_parsed pf;
	struct sbuf raw = {0};
	struct text_record r = lazy_record(&m, &pf, &raw, "value=%d name=%s", args, n);
	struct syslog_fmt f = opts();
	f.escape_lf = true;
	cr_assert_str_eq(fmt(&r, &f), "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - - "
				      "value=-7 name=a\\nb\\\\c...[truncated]");
	cr_assert_not(m.rendered, "rendered straight into the frame, with no raw copy");
	f.escape_lf = false; /* octet counting: the bytes as they are */
	cr_assert_str_eq(fmt(&r, &f), "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - - "
				      "value=-7 name=a\nb\\c...[truncated]");
	n = 4; /* the string's length is missing: malformed, said as the text format says it */
	r = lazy_record(&m, &pf, &raw, "value=%d name=%s", args, n);
	cr_assert_str_eq(fmt(&r, &f), "<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - - "
				      "[shmlog: malformed record arguments] value=%d name=%s");
	sbuf_free(&raw);
}

Test(syslog_fmt, lazy_message_longer_than_max_bytes_is_cut_as_a_raw_one)
{
	char name[700];
	filled(name, sizeof name, 'n');
	uint8_t args[800];
	size_t n = m2_args(args, name, false);
	struct text_msg m;
	struct fmt_parsed pf;
	struct sbuf raw = {0};
	struct text_record r = lazy_record(&m, &pf, &raw, "value=%d name=%s", args, n);
	struct syslog_fmt f = opts();
	f.max_bytes = 600;
	const char *s = fmt(&r, &f);
	cr_assert_eq(strlen(s), 600);
	size_t body = cut_body_len(s, 600);
	cr_assert(strncmp(strstr(s, " - - ") + 5, "value=-7 name=nnn", 17) == 0, "%s", s);
	cr_assert_eq(body, 600 - strlen("<14>1 2026-11-24T01:59:46.123456Z host1 demo 1234 - - ") - 14);
	sbuf_free(&raw);
}
