/*
 * test_bounds.c — what a line holds whatever the producer logged: JSON that
 * is always valid UTF-8, and a message cut at TEXT_MSG_MAX with a mark.
 *
 * The UTF-8 cases are RFC 3629's ill-formed sequences, each with what
 * Python's bytes.decode("utf-8", "replace") gives for it (U+FFFD per
 * maximal subpart); a generated sweep then checks every JSON string is
 * well-formed UTF-8 whatever the bytes. The cut is checked on the three
 * ways a message reaches a line (rendered first, decoded arguments, decoded
 * while rendered) and never splits a character.
 */
#include <criterion/criterion.h>

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "shared/abi.h"
#include "shared/escape.h"
#include "shared/fmt.h"
#include "shared/record.h"
#include "shared/sbuf.h"
#include "shared/text.h"
#include "helpers.h"

#define R "\xef\xbf\xbd" /* U+FFFD */

static void check_json(const char *in, size_t n, const char *want)
{
	char *out = malloc(6 * n + 1);
	cr_assert_not_null(out);
	char *e = esc_json(out, in, n);
	*e = '\0';
	cr_assert_str_eq(out, want, "input of %zu bytes", n);
	free(out);
}

#define CHECK_JSON(in, want) check_json(in, sizeof in - 1, want)

Test(bounds, json_keeps_well_formed_utf8)
{
	CHECK_JSON("caf\xc3\xa9", "caf\xc3\xa9");
	CHECK_JSON("\xe2\x9c\x93 \xf0\x9f\x98\x80", "\xe2\x9c\x93 \xf0\x9f\x98\x80");
	CHECK_JSON("\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80"); /* U+D7FF, U+E000: around the surrogates */
	CHECK_JSON("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");                 /* U+10FFFF, the last code point */
	CHECK_JSON("\xc2\x80\xdf\xbf", "\xc2\x80\xdf\xbf");
}

Test(bounds, json_replaces_malformed_utf8_per_maximal_subpart)
{
	CHECK_JSON("\x80", R);                              /* a stray continuation byte */
	CHECK_JSON("a\xbf\x80z", "a" R R "z");
	CHECK_JSON("\xc0\xaf", R R);                        /* overlong '/' */
	CHECK_JSON("\xe0\x80\xaf", R R R);                  /* overlong, three bytes */
	CHECK_JSON("\xed\xa0\x80", R R R);                  /* a surrogate */
	CHECK_JSON("\xf4\x90\x80\x80", R R R R);            /* past U+10FFFF */
	CHECK_JSON("\xf5\xff\xfe", R R R);                  /* bytes that never lead */
	CHECK_JSON("\xe2\x82" "A", R "A");                  /* cut short, then ASCII: one U+FFFD */
	CHECK_JSON("\xf0\x9f\x98", R);                      /* cut short at the end */
	CHECK_JSON("\xe2\x82\xe2\x82\xac", R "\xe2\x82\xac"); /* cut short, then a whole euro sign */
	CHECK_JSON("\"\xff\\\n", "\\\"" R "\\\\\\n");      /* with the JSON escapes around */
}

/* True when s[0..n) is well-formed UTF-8 with no byte below 0x20 (what a JSON string may hold). */
static bool json_safe(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
						: c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (len == 0 || c < 0x20 || i + len > n)
			return false;
		unsigned cp = len == 1 ? c : c & (0x7f >> len);
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

Test(bounds, json_is_well_formed_utf8_for_any_bytes)
{
	unsigned seed = 12345;
	unsigned char in[24];
	char out[6 * sizeof in];
	for (int round = 0; round < 200000; round++) {
		size_t n = 1 + round % sizeof in;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			unsigned v = seed >> 16; /* mostly high bytes, to meet the multi-byte cases */
			in[i] = (unsigned char)(v % 4 ? 0x80 + (v >> 2) % 0x80 : (v >> 2) % 0x100);
		}
		size_t len = (size_t)(esc_json(out, (const char *)in, n) - out);
		cr_assert(json_safe((const unsigned char *)out, len), "round %d", round);
	}
}

static struct text_record record_of(struct text_msg *m)
{
	return (struct text_record){.ts_ns = 1764547200123456789ull, .level = TEXT_LEVEL_INFO, .name = "n",
				    .name_len = 1, .pid = 1, .tid = 2, .lazy = m};
}

/* The message part of the text line of m (between "]: " and the LF), malloc'd. */
static char *text_msg_of(struct text_msg *m, size_t *len)
{
	struct sbuf out = {0};
	struct text_record tr = record_of(m);
	m->rendered = false;
	text_append(&out, &tr, TEXT_FORMAT_TEXT, false);
	cr_assert(!out.oom && out.len > 0 && out.data[out.len - 1] == '\n');
	const char *s = memmem(out.data, out.len, "]: ", 3);
	cr_assert_not_null(s);
	s += 3;
	*len = (size_t)(out.data + out.len - 1 - s);
	char *r = malloc(*len + 1);
	memcpy(r, s, *len);
	r[*len] = '\0';
	sbuf_free(&out);
	return r;
}

/*
 * The message of fmt and its string arguments (...), on every path: its raw
 * text and its text line are want_len bytes, ending in want_tail.
 */
static void check_cut(const char *fmt, size_t want_len, const char *want_tail, ...)
{
	struct fmt_parsed pf;
	cr_assert_eq(fmt_parse(&pf, fmt, strlen(fmt), NULL), 0, "%s", fmt);
	va_list ap;
	va_start(ap, want_tail);
	struct th_enc e = th_encode_args(&pf, SHMLOG_MAX_STRING_MAX, ap);
	va_end(ap);
	struct fmt_arg args[SHMLOG_MAX_ARGS];
	cr_assert_eq(record_decode_args(args, pf.kinds, pf.n_args, e.p, e.size), 0);
	struct sbuf scratch = {0};
	struct text_msg by_args = {.fmt = fmt, .fmt_len = (uint32_t)strlen(fmt), .pf = &pf, .args = args,
				   .raw = &scratch};
	struct text_msg by_bytes = by_args;
	by_bytes.args = NULL;
	by_bytes.bytes = e.p;
	by_bytes.bytes_len = e.size;
	struct text_msg *paths[2] = {&by_args, pf.bounded ? &by_bytes : NULL};
	size_t tl = strlen(want_tail);
	for (int i = 0; i < 2 && paths[i]; i++) {
		struct text_record tr = record_of(paths[i]);
		size_t len;
		paths[i]->rendered = false;
		const char *raw = text_record_msg(&tr, &len);
		cr_assert_eq(len, want_len, "%s path %d: %zu bytes", fmt, i, len);
		cr_assert(memcmp(raw + len - tl, want_tail, tl) == 0, "%s path %d: tail", fmt, i);
		char *line = text_msg_of(paths[i], &len); /* the line holds the same, cut the same way */
		cr_assert_eq(len, want_len, "%s path %d: %zu bytes in the line", fmt, i, len);
		cr_assert(memcmp(line + len - tl, want_tail, tl) == 0, "%s path %d: tail in the line", fmt, i);
		free(line);
	}
	free(e.p);
	sbuf_free(&scratch);
}

/* A string of n copies of unit (malloc'd). */
static char *repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = malloc(u * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

#define KEEP (TEXT_MSG_MAX - FMT_TRUNCATED_MARK_LEN)
#define BIG SHMLOG_MAX_STRING_MAX /* the longest string a producer stores */

Test(bounds, a_message_up_to_the_limit_is_kept_whole)
{
	static_assert(8 * BIG == TEXT_MSG_MAX, "eight of the longest strings fill a message");
	char *a = repeat("a", BIG), *b = repeat("b", BIG);
	check_cut("%s%s%s%s%s%s%s%s", TEXT_MSG_MAX, "bbb", a, a, a, a, a, a, a, b); /* into the line */
	check_cut("%65535s|", TEXT_MSG_MAX, "  x|", "x"); /* a width: rendered first */
	free(a);
	free(b);
}

Test(bounds, a_longer_message_is_cut_with_the_mark)
{
	char *a = repeat("a", BIG);
	check_cut("%s%s%s%s%s%s%s%s|", TEXT_MSG_MAX, "aaa" FMT_TRUNCATED_MARK, a, a, a, a, a, a, a, a);
	check_cut("%65536s%65536s", TEXT_MSG_MAX, "   " FMT_TRUNCATED_MARK, "x", "y");
	free(a);
}

Test(bounds, a_cut_never_splits_a_utf8_character)
{
	/* the euro sign whose bytes straddle the cut goes whole; so does one ending right at it */
	char *a = repeat("a", BIG), *eu = repeat("\xe2\x82\xac", 8);
	for (size_t pad = KEEP - 3; pad <= KEEP; pad++) {
		char *rest = repeat("a", pad - 7 * BIG);
		size_t whole = (KEEP - pad) / 3 * 3;
		check_cut("%s%s%s%s%s%s%s%s%s", pad + whole + FMT_TRUNCATED_MARK_LEN, FMT_TRUNCATED_MARK, a, a, a, a,
			  a, a, a, rest, eu);
		free(rest);
	}
	free(a);
	free(eu);
}
