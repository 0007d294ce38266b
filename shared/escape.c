/*
 * escape.c — text and JSON escaping; every byte written is a byte tested
 * (escape.h), so a source that changes under us (a ring) cannot slip an
 * unescaped byte through.
 *
 * Text escaping runs for every string a record carries, so it goes sixteen
 * bytes at a time (SSE2, which every x86-64 has), then eight, then four,
 * while none of them needs an escape: the block that was tested is the block
 * that is stored. A block that holds an escape is done byte by byte, through
 * the table, from the copy that was tested. While nothing has needed an
 * escape, the last 16 bytes go as one block that overlaps the ones done.
 * Strings of 4 to 16 plain bytes never get here: esc_text() does them inline.
 */
#include "escape.h"

#include <stdint.h>

const char esc_hex_digits[16] = "0123456789abcdef";

const unsigned char esc_text_table[256] = {
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 't', 'n', 'x', 'x', 'r', 'x', 'x',
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
	['\\'] = '\\',
	[0x7f] = 'x',
};

const unsigned char esc_json_table[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	['"'] = '"',
	['\\'] = '\\',
};

char *esc_text_any(char *p, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
#ifdef __SSE2__
	char *const start = p;
	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
		if (!esc_block_needs_text(v)) {
			_mm_storeu_si128((__m128i *)(void *)p, v);
			p += 16;
			continue;
		}
		unsigned char b[16];
		_mm_storeu_si128((__m128i *)(void *)b, v); /* the bytes tested, not the source again */
		for (int k = 0; k < 16; k++)
			p = esc_text_byte(p, b[k]);
	}
	if (i < n && n >= 16 && p - i == start) {
		/* nothing escaped yet, so output and source line up: the last 16 bytes as one block,
		 * overlapping what is done (those bytes are stored again, as tested now) */
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + n - 16));
		if (!esc_block_needs_text(v)) {
			_mm_storeu_si128((__m128i *)(void *)(start + n - 16), v);
			return start + n;
		}
	}
#endif
	while (n - i >= 8) {
		uint64_t w;
		memcpy(&w, u + i, 8);
		if (esc_word_needs_text(w)) {
			unsigned char b[8];
			memcpy(b, &w, 8); /* the bytes tested, not the source again */
			for (int k = 0; k < 8; k++)
				p = esc_text_byte(p, b[k]);
		} else {
			memcpy(p, &w, 8);
			p += 8;
		}
		i += 8;
	}
	if (n - i >= 4) { /* four more at once: the word's other half is plain ('a's) */
		uint32_t h;
		memcpy(&h, u + i, 4);
		if (!esc_word_needs_text(h | 0x6161616100000000ull)) {
			memcpy(p, &h, 4);
			p += 4;
		} else {
			unsigned char b[4];
			memcpy(b, &h, 4); /* the bytes tested */
			for (int k = 0; k < 4; k++)
				p = esc_text_byte(p, b[k]);
		}
		i += 4;
	}
	for (; i < n; i++)
		p = esc_text_byte(p, u[i]);
	return p;
}

/* The second byte of a sequence led by c: its lowest and highest value (RFC 3629's table). */
static inline void utf8_second(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
	*hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
}

/* The number of bytes a sequence led by c takes; 0 when c cannot lead one. */
static inline unsigned utf8_len(unsigned char c)
{
	return c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

/*
 * The sequence led by u[0] (c, already read) of the n bytes at u into p: as
 * it is when it is well-formed, else U+FFFD for its longest valid start.
 * Each byte is read once, and the bytes written are the ones checked.
 * Returns how many source bytes it took; *pp moves past what it wrote.
 */
static size_t utf8_put(char **pp, unsigned char c, const unsigned char *u, size_t n)
{
	unsigned want = utf8_len(c);
	unsigned char b[4] = {c}, lo, hi;
	utf8_second(c, &lo, &hi);
	unsigned k = 1;
	for (; want && k < want && k < n; k++) {
		b[k] = u[k];
		if (b[k] < lo || b[k] > hi)
			break;
		lo = 0x80;
		hi = 0xbf;
	}
	if (want && k == want) {
		memcpy(*pp, b, want);
		*pp += want;
		return want;
	}
	memcpy(*pp, ESC_UTF8_REPLACEMENT, 3);
	*pp += 3;
	return k; /* an invalid lead takes itself; a bad or missing continuation ends the start */
}

char *esc_json(char *p, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i], e = esc_json_table[c];
		if (c >= 0x80) {
			i += utf8_put(&p, c, u + i, n - i);
			continue;
		}
		if (!e) {
			*p++ = (char)c;
		} else if (e == 'u') {
			memcpy(p, "\\u00", 4);
			p[4] = esc_hex_digits[c >> 4];
			p[5] = esc_hex_digits[c & 15];
			p += 6;
		} else {
			p[0] = '\\';
			p[1] = (char)e;
			p += 2;
		}
		i++;
	}
	return p;
}

bool esc_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (esc_text_table[c] || esc_json_table[c] || c >= 0x80) /* JSON checks UTF-8 */
			return false;
	}
	return true;
}
