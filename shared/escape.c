/*
 * escape.c — text and JSON escaping, each source byte read once (escape.h).
 *
 * Text escaping runs for every string a record carries, so it goes eight
 * bytes at a time while none of them needs an escape: the word that was
 * tested is the word that is stored. A word that holds an escape is done
 * byte by byte, through the table.
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

/* Nonzero when a byte of w is below 0x20, 0x7f or '\\' (the text table's bytes). */
static inline uint64_t word_needs_text_escape(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t lt20 = (w - ones * 0x20) & ~w & high;
	uint64_t x7f = w ^ (ones * 0x7f), bsl = w ^ (ones * '\\');
	return lt20 | ((x7f - ones) & ~x7f & high) | ((bsl - ones) & ~bsl & high);
}

char *esc_text(char *p, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (n - i >= 8) {
		uint64_t w;
		memcpy(&w, u + i, 8);
		if (word_needs_text_escape(w)) {
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
	for (; i < n; i++)
		p = esc_text_byte(p, u[i]);
	return p;
}

char *esc_json(char *p, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = u[i], e = esc_json_table[c];
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
	}
	return p;
}

bool esc_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (esc_text_table[c] || esc_json_table[c])
			return false;
	}
	return true;
}
