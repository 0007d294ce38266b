/*
 * e2e_count.c — counting a binary log's records as it grows (e2e_count.h).
 */
#include "e2e_count.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The records of the CYCLE frame f[0..size) (shared/binlog.h, rule 8): those of its spans, padding not. */
static uint64_t cycle_records(const uint8_t *f, size_t size)
{
	uint32_t n, bytes, rs, site;
	uint64_t records = 0;
	memcpy(&n, f + 8, 4);
	for (size_t at = 16, k = 0; k < n && at + 16 <= size; k++, at += 16 + bytes) {
		memcpy(&bytes, f + at + 8, 4);
		for (size_t off = at + 16; off + 8 <= at + 16 + bytes && off + 8 <= size; off += rs) {
			memcpy(&rs, f + off, 4);
			memcpy(&site, f + off + 4, 4);
			if (rs < 8)
				break;
			records += site != 0xffffffffu;
		}
	}
	return records;
}

/* Take up to n bytes of buf into c's CYCLE frame. Returns the bytes taken. */
static size_t take_cycle(struct counted *c, const uint8_t *buf, size_t n)
{
	size_t k = c->cycle_size - c->cycle_len < n ? c->cycle_size - c->cycle_len : n;
	memcpy(c->cycle + c->cycle_len, buf, k);
	if ((c->cycle_len += k) == c->cycle_size) {
		c->lines += cycle_records(c->cycle, c->cycle_size);
		c->cycle_size = 0;
	}
	return k;
}

/* Count the records in buf[0..n) of a binary log (shared/binlog.h: a 24-byte header starting
 * "SHMLOGB\0", or u32 frame_bytes, u16 kind; kind 4 RECORD, 5 TEXT, 8 CYCLE). */
void e2e_count_binlog(struct counted *c, const uint8_t *buf, size_t n)
{
	size_t at = 0;
	while (at < n) {
		if (c->cycle_size) {
			at += take_cycle(c, buf + at, n - at);
			continue;
		}
		if (c->skip) {
			size_t k = c->skip < n - at ? c->skip : n - at;
			c->skip -= k;
			at += k;
			continue;
		}
		size_t want = 8 - (c->part_len < 8 ? c->part_len : 8), k = want < n - at ? want : n - at;
		memcpy(c->part + c->part_len, buf + at, k);
		c->part_len += k;
		at += k;
		if (c->part_len < 8)
			return;
		uint32_t size;
		uint16_t kind;
		memcpy(&size, c->part, 4);
		memcpy(&kind, c->part + 4, 2);
		if (memcmp(c->part, "SHMLOGB", 8) == 0)
			size = 24, kind = 0;
		c->lines += kind == 4 || kind == 5;
		c->texts += kind == 5;
		c->skip = kind == 8 ? 0 : size - 8;
		c->part_len = 0;
		if (kind == 8 && size >= 16) { /* a CYCLE: read whole */
			uint8_t *f = realloc(c->cycle, size);
			if (!f) {
				fprintf(stderr, "bench_e2e: out of memory\n");
				exit(1);
			}
			memcpy(f, c->part, 8);
			c->cycle = f;
			c->cycle_len = 8;
			c->cycle_size = size;
		}
	}
}

