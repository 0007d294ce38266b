/*
 * binlog_int.h — what binlog.c and binlog_cycle.c share: the little-endian
 * byte helpers and the reader's error and table helpers (not for callers:
 * they use binlog.h).
 */
#ifndef SHMLOG_BINLOG_INT_H
#define SHMLOG_BINLOG_INT_H

#include <string.h>

#include "binlog.h"

static inline uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static inline uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 4;
}

static inline uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}

static inline uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
	if (n)
		memcpy(p, src, n);
	return p + n;
}

static inline uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Room for a frame of size bytes at the end of out, its header written. NULL when out of memory. */
static inline uint8_t *frame_open(struct sbuf *out, size_t size, enum binlog_kind kind, uint16_t flags)
{
	if (size > BINLOG_FRAME_MAX || sbuf_reserve(out, size) != 0)
		return NULL;
	uint8_t *p = (uint8_t *)out->data + out->len;
	p = put_u32(p, (uint32_t)size);
	p = put_u16(p, (uint16_t)kind);
	return put_u16(p, flags);
}

/* Bytes of st's field descriptor (shared/abi.h): 0 without fields. */
size_t binlog_fdesc_bytes(const struct seg_site *st);

/* The fields SITE and SEG_SITE share, level to fdesc_len (fd_len), at p. Returns past them. */
uint8_t *binlog_put_site_head(uint8_t *p, const struct seg_site *st, size_t fd_len);

/* st's format, file name and field descriptor at p, as a SITE frame holds them. Returns past them. */
uint8_t *binlog_put_site_strings(uint8_t *p, const struct seg_site *st);

/* Fill rd->err (one line) from fmt. Returns -EPROTO. */
long long binlog_bad(struct binlog_reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A copy of n bytes of p, NUL-terminated; NULL when out of memory. */
char *binlog_copy_str(const uint8_t *p, size_t n);

/* Make room for id in the table at *tab (n entries of size each; ids come in order from 0, rule 4).
 * Returns 0 or -EPROTO (rd->err, what names the table). */
int binlog_grow_for(struct binlog_reader *rd, void **tab, uint32_t *n, size_t size, uint32_t id, const char *what);

/* Free a site the reader built (its err too). */
void binlog_free_site(struct seg_site *st);

/* The body of a SITE or SEG_SITE frame, as read from it. */
struct binlog_site_def {
	uint32_t id, level, n_fields, line, fmt_len, file_len, fd_len, err_len;
	const uint8_t *strings; /* fmt, file, fdesc, err */
};

/* The site d defines, parsed as a segment's sites are. NULL with rd->err on failure. */
struct seg_site *binlog_site_make(struct binlog_reader *rd, const struct binlog_site_def *d);

/* binlog_cycle.c: forget every SEGMENT (a file header); free the cycle too with all. */
void binlog_segs_forget(struct binlog_reader *rd, bool all);

/* binlog_cycle.c: read a SEGMENT, SEG_SITE or CYCLE frame of size bytes at p. Returns size or -EPROTO. */
long long binlog_read_segment(struct binlog_reader *rd, const uint8_t *p, uint32_t size);
long long binlog_read_seg_site(struct binlog_reader *rd, const uint8_t *p, uint32_t size);
long long binlog_read_cycle(struct binlog_reader *rd, const uint8_t *p, uint32_t size);

#endif
