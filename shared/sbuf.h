/*
 * sbuf.h — a growable byte buffer for formatting output.
 *
 * Used by the collector and the CLI to build batches of formatted lines.
 * Growth is amortised doubling; an allocation failure is sticky (sbuf_oom)
 * so that callers can format a whole batch and check once.
 */
#ifndef SHMLOG_SBUF_H
#define SHMLOG_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *data;
	size_t len;
	size_t cap;
	bool oom; /* an allocation failed; contents are incomplete */
};

/* Make room for n more bytes. Returns 0, or -1 (and sets oom). */
static inline int sbuf_reserve(struct sbuf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->oom = true;
		return -1;
	}
	b->data = d;
	b->cap = cap;
	return 0;
}

static inline void sbuf_append(struct sbuf *b, const void *p, size_t n)
{
	if (n && sbuf_reserve(b, n) == 0) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
}

static inline void sbuf_putc(struct sbuf *b, char c)
{
	if (sbuf_reserve(b, 1) == 0)
		b->data[b->len++] = c;
}

static inline void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->oom = false;
}

static inline void sbuf_free(struct sbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

#endif
