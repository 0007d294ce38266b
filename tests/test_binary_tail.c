/*
 * test_binary_tail.c — what a binary writer's written bytes leave in force
 * (collector/binary_tail.c): however the writes cut the stream, the
 * definitions since the last file header and the first bytes of a frame
 * cut short are what the prefix carries, after a header and a session;
 * bytes that are no units lose track, and no prefix is made.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "collector/binary_tail.h"
#include "shared/binlog.h"

/* A frame of kind with body bytes of value v (size bytes in all) at the end of b. */
static void frame(struct sbuf *b, uint16_t kind, uint32_t size, uint8_t v)
{
	uint8_t h[BINLOG_FRAME_HEADER_BYTES] = {0};
	memcpy(h, &size, 4); /* little-endian, as the machines this runs on */
	memcpy(h + 4, &kind, 2);
	sbuf_append(b, h, sizeof h);
	for (uint32_t i = BINLOG_FRAME_HEADER_BYTES; i < size; i++)
		sbuf_putc(b, (char)v);
}

/* A SEGMENT frame of id, size bytes, its other bytes v, at the end of b. */
static void segment(struct sbuf *b, uint32_t id, uint32_t size, uint8_t v)
{
	frame(b, BINLOG_SEGMENT, size, v);
	memcpy(b->data + b->len - size + 8, &id, 4);
}

/* A stream: a writer's start, definitions and records, a second start, its definitions and records (its
 * segment 0 defined again twice, the second time with a longer name, then segment 1 again), and a record
 * of 100,000 bytes cut short after cut of them. The definitions in force at its end go in *defs: each
 * segment's last frame in the place of its first. */
static void stream(struct sbuf *s, struct sbuf *defs, uint32_t cut)
{
	cr_assert_eq(binlog_put_header(s, 1), 0);
	cr_assert_eq(binlog_put_session(s, 1, 1), 0);
	frame(s, BINLOG_SOURCE, 40, 1);
	segment(s, 0, 64, 1);
	frame(s, BINLOG_CYCLE, 70000, 2);
	frame(s, BINLOG_SEG_SITE, 90, 3);
	cr_assert_eq(binlog_put_header(s, 2), 0);
	cr_assert_eq(binlog_put_session(s, 1, 1), 0);
	segment(s, 0, 64, 4);
	segment(s, 1, 56, 9);
	frame(s, BINLOG_TEXT, 33, 5);
	frame(s, BINLOG_SEG_SITE, 130, 6);
	size_t site = s->len - 130;
	segment(s, 0, 64, 10);
	frame(s, BINLOG_CYCLE, 300, 2);
	segment(s, 0, 72, 11);
	sbuf_append(defs, s->data + s->len - 72, 72);
	segment(s, 1, 56, 12); /* found where the longer frame before it moved it */
	sbuf_append(defs, s->data + s->len - 56, 56);
	sbuf_append(defs, s->data + site, 130);
	frame(s, BINLOG_CYCLE, 100000, 7);
	s->len -= 100000 - cut;
}

/* The prefix of t: a header, a session, then want exactly. */
static void assert_prefix(const struct bin_tail *t, const struct sbuf *want)
{
	struct sbuf p = {0};
	cr_assert_eq(bin_tail_prefix(t, 7, 9, &p), 0);
	size_t start = BINLOG_HEADER_BYTES + BINLOG_SESSION_BYTES;
	cr_assert_eq(memcmp(p.data, BINLOG_MAGIC, BINLOG_MAGIC_BYTES), 0, "a file header first");
	cr_assert_eq(p.len, start + want->len);
	cr_assert_eq(memcmp(p.data + start, want->data, want->len), 0, "the definitions, then the cut frame");
	sbuf_free(&p);
}

/* For each way of cutting the writes (every k bytes), and each place the last frame is cut at: the
 * definitions of the second start, then the cut frame's bytes. */
Test(binary_tail, the_prefix_holds_the_definitions_in_force_and_the_cut_frame_however_the_writes_fall)
{
	const uint32_t cuts[] = {1, 7, 8, 9, 5000, 99999};
	const size_t steps[] = {1, 3, 8, 24, 4096, 1 << 20};
	for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++)
		for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
			struct sbuf s = {0}, want = {0};
			struct bin_tail t = {0};
			stream(&s, &want, cuts[c]);
			sbuf_append(&want, s.data + s.len - cuts[c], cuts[c]);
			for (size_t at = 0; at < s.len; at += steps[k])
				bin_tail_wrote(&t, (const uint8_t *)s.data + at, at + steps[k] < s.len ? steps[k] : s.len - at);
			cr_assert_not(t.oom || t.garbage);
			assert_prefix(&t, &want);
			sbuf_free(&s);
			sbuf_free(&want);
			bin_tail_free(&t);
		}
}

/* The cut frame's rest, written later, completes it: no cut is left, the definitions stay. */
Test(binary_tail, a_cut_frame_completed_by_the_next_write_leaves_only_the_definitions)
{
	struct sbuf s = {0}, want = {0};
	struct bin_tail t = {0};
	stream(&s, &want, 5000);
	bin_tail_wrote(&t, (const uint8_t *)s.data, s.len);
	struct sbuf rest = {0};
	frame(&rest, BINLOG_CYCLE, 100000, 7);
	bin_tail_wrote(&t, (const uint8_t *)rest.data + 5000, rest.len - 5000);
	assert_prefix(&t, &want);
	sbuf_free(&s);
	sbuf_free(&want);
	sbuf_free(&rest);
	bin_tail_free(&t);
}

Test(binary_tail, bytes_that_are_no_units_lose_track_and_no_prefix_is_made)
{
	struct bin_tail t = {0};
	uint8_t junk[64];
	memset(junk, 0xff, sizeof junk); /* a frame size above BINLOG_FRAME_MAX */
	bin_tail_wrote(&t, junk, sizeof junk);
	cr_assert(t.garbage);
	struct sbuf p = {0};
	cr_assert_eq(bin_tail_prefix(&t, 1, 1, &p), -EPROTO);
	sbuf_free(&p);
	bin_tail_free(&t);
}
