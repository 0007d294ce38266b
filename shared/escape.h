/*
 * escape.h — the escapes that keep a line one line: text and JSON.
 *
 * Text (text.h): a backslash is written as "\\", LF as "\n", CR as "\r",
 * TAB as "\t" and every other control byte (0x00-0x1f, 0x7f) as "\xHH".
 * JSON: strict JSON strings; the quote, the backslash and control bytes are
 * escaped ("\n", "\t", ..., "\u00HH"). Well-formed UTF-8 passes through;
 * what is not (RFC 3629: a stray continuation byte, an overlong form, a
 * surrogate, a code point past U+10FFFF, a sequence cut short) becomes
 * U+FFFD, one for each longest valid start of a sequence or stray byte, as
 * Unicode's "maximal subpart" practice and Python's errors="replace" do. So
 * a JSON line is always valid UTF-8 and valid JSON. Text passes all bytes
 * from 0x80 up as they are.
 *
 * The source may lie in a ring that a hostile producer rewrites while it is
 * read, so each source byte is read exactly once: the byte that was checked
 * is the byte that is written. The destination needs room for
 * ESC_GROWTH(mode) bytes per source byte.
 */
#ifndef SHMLOG_ESCAPE_H
#define SHMLOG_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <string.h>

enum esc_mode {
	ESC_NONE = 0, /* bytes as they are */
	ESC_TEXT = 1, /* the text format's escapes */
	ESC_JSON = 2, /* a JSON string's escapes */
};

/* The most bytes one source byte becomes: "\xHH" in text, "\u00HH" in JSON. */
#define ESC_GROWTH(mode) ((mode) == ESC_NONE ? 1u : (mode) == ESC_TEXT ? 4u : 6u)

/* Per byte: 0 = copied as is; 'x' ("\xHH") or 'u' ("\u00HH"); else c ("\c"). */
extern const unsigned char esc_text_table[256];
extern const unsigned char esc_json_table[256];

extern const char esc_hex_digits[16];

/* One byte c at p with the text escapes. Returns the end. */
static inline char *esc_text_byte(char *p, unsigned char c)
{
	unsigned char e = esc_text_table[c];
	if (!e) {
		*p++ = (char)c;
	} else if (e == 'x') {
		p[0] = '\\';
		p[1] = 'x';
		p[2] = esc_hex_digits[c >> 4];
		p[3] = esc_hex_digits[c & 15];
		p += 4;
	} else {
		p[0] = '\\';
		p[1] = (char)e;
		p += 2;
	}
	return p;
}

/* Nonzero when a byte of w is below 0x20, 0x7f or '\\' (the text table's
 * bytes); a byte above one that is may read as one too (a borrow), which
 * only sends a plain word the slow way. */
static inline uint64_t esc_word_needs_text(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t lt20 = (w - ones * 0x20) & ~w & high;
	uint64_t x7f = w ^ (ones * 0x7f), bsl = w ^ (ones * '\\');
	return lt20 | ((x7f - ones) & ~x7f & high) | ((bsl - ones) & ~bsl & high);
}

#ifdef __SSE2__
/* Nonzero when a byte of v is below 0x20, 0x7f or '\\' (exactly those). */
static inline int esc_block_needs_text(__m128i v)
{
	__m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v); /* v <= 0x1f */
	__m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)), bsl = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	return _mm_movemask_epi8(_mm_or_si128(low, _mm_or_si128(del, bsl)));
}
#endif

/* Whether the sixteen bytes of a and b hold nothing to escape. */
static inline bool esc_words_plain(uint64_t a, uint64_t b)
{
#ifdef __SSE2__
	return !esc_block_needs_text(_mm_set_epi64x((long long)b, (long long)a));
#else
	return !(esc_word_needs_text(a) | esc_word_needs_text(b));
#endif
}

/* The first and the last four of the 4 to 7 bytes at s, in one word (the first in the low half). */
static inline uint64_t esc_ends4(const char *s, size_t n)
{
	uint32_t x, y;
	memcpy(&x, s, 4);
	memcpy(&y, s + n - 4, 4);
	return x | (uint64_t)y << 32;
}

/* esc_text() of any length (escape.c). */
char *esc_text_any(char *p, const char *s, size_t n);

/*
 * Copy s[0..n) to p with the text escapes. Returns the end of what was
 * written. A string of 4 to 16 bytes with nothing to escape (a short %s
 * argument, the common one) is done inline: two overlapping loads, tested
 * together and stored as they were read, so every byte written is a byte
 * tested.
 */
static inline char *esc_text(char *p, const char *s, size_t n)
{
	if (n - 4 <= 12) {
		if (n >= 8) {
			uint64_t a, b;
			memcpy(&a, s, 8);
			memcpy(&b, s + n - 8, 8);
			if (esc_words_plain(a, b)) {
				memcpy(p, &a, 8);
				memcpy(p + n - 8, &b, 8);
				return p + n;
			}
		} else {
			uint64_t w = esc_ends4(s, n);
			if (esc_words_plain(w, w)) {
				uint32_t x = (uint32_t)w, y = (uint32_t)(w >> 32); /* the bytes loaded */
				memcpy(p, &x, 4);
				memcpy(p + n - 4, &y, 4);
				return p + n;
			}
		}
	}
	return esc_text_any(p, s, n);
}

/* Copy s[0..n) to p with the JSON escapes. Returns the end of what was written. */
char *esc_json(char *p, const char *s, size_t n);

/* U+FFFD REPLACEMENT CHARACTER, what JSON writes for malformed UTF-8. */
#define ESC_UTF8_REPLACEMENT "\xef\xbf\xbd"

/* True when no byte of s[0..n) is escaped by either mode, nor is 0x80 or above (a literal checked once). */
bool esc_plain(const char *s, size_t n);

/* Copy n bytes, n small: inline, without a call to memcpy. Returns p + n. */
static inline char *esc_copy(char *p, const char *s, size_t n)
{
	if (n >= 8) {
		if (n > 16) {
			memcpy(p, s, n);
			return p + n;
		}
		memcpy(p, s, 8); /* two overlapping 8-byte moves cover 8..16 */
		memcpy(p + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(p, s, 4);
		memcpy(p + n - 4, s + n - 4, 4);
	} else if (n) {
		p[0] = s[0];
		p[n / 2] = s[n / 2];
		p[n - 1] = s[n - 1];
	}
	return p + n;
}

/* Copy s[0..n) to p in mode m. Returns the end of what was written. */
static inline char *esc_put(char *p, const char *s, size_t n, enum esc_mode m)
{
	switch (m) {
	case ESC_TEXT: return esc_text(p, s, n);
	case ESC_JSON: return esc_json(p, s, n);
	default: return esc_copy(p, s, n);
	}
}

#endif
