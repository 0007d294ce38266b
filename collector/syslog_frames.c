/*
 * syslog_frames.c — the syslog writer's frame queue (see syslog_frames.h).
 * Done bytes are compacted away once they are half the buffer, so a queue
 * that is sent in small pieces costs amortised linear time.
 */
#include "syslog_frames.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/grow.h"

int frames_push(struct frames *q, uint32_t len)
{
	if (q->first + q->n == q->cap) {
		if (q->first > 0) { /* room at the front: move the queue down */
			memmove(q->lens, q->lens + q->first, q->n * sizeof *q->lens);
			q->first = 0;
		} else if (GROW(q->lens, q->n, q->cap, 256) < 0) {
			return -ENOMEM;
		}
	}
	q->lens[q->first + q->n++] = len;
	return 0;
}

int frames_push_front(struct frames *q, const char *p, uint32_t len, uint32_t flags)
{
	size_t held = frames_bytes(q);
	if (sbuf_reserve(&q->buf, len) != 0 || frames_push(q, 0) != 0)
		return -ENOMEM;
	memmove(q->buf.data + len, q->buf.data + q->head, held);
	memcpy(q->buf.data, p, len);
	q->buf.len = len + held;
	q->head = 0;
	q->sent = 0; /* callers put a frame in front only of a queue not begun */
	memmove(q->lens + q->first + 1, q->lens + q->first, (q->n - 1) * sizeof *q->lens);
	q->lens[q->first] = len | flags;
	return 0;
}

/* Compact the done bytes away once they are half the buffer (or everything is done). */
static void frames_compact(struct frames *q)
{
	if (q->n == 0 || q->head >= q->buf.len / 2) {
		memmove(q->buf.data, q->buf.data + q->head, q->buf.len - q->head);
		q->buf.len -= q->head;
		q->head = 0;
	}
	if (q->n == 0)
		q->first = 0;
}

/* Drop q's n oldest frames (not begun), compacting once. */
static void drop_oldest(struct frames *q, uint32_t n)
{
	for (uint32_t j = 0; j < n; j++)
		q->head += FRAME_LEN(q->lens[q->first + j]);
	q->first += n;
	q->n -= n;
	if (n)
		frames_compact(q);
}

uint64_t frames_drop_first(struct frames *q)
{
	uint32_t l = q->lens[q->first];
	drop_oldest(q, 1);
	q->sent = 0;
	return !(l & FRAME_NOTICE);
}

uint64_t frames_sent(struct frames *q, size_t n_bytes)
{
	size_t done = q->sent + n_bytes;
	uint64_t records = 0;
	while (q->n && FRAME_LEN(q->lens[q->first]) <= done) {
		uint32_t l = q->lens[q->first++];
		q->n--;
		done -= FRAME_LEN(l);
		q->head += FRAME_LEN(l);
		records += !(l & FRAME_NOTICE);
	}
	q->sent = done;
	frames_compact(q);
	return records;
}

int frames_move_first(struct frames *dst, struct frames *q)
{
	uint32_t l = q->lens[q->first];
	if (sbuf_reserve(&dst->buf, FRAME_LEN(l)) != 0 || frames_push(dst, l) != 0)
		return -ENOMEM;
	if (dst->n == 1)
		dst->sent = q->sent;
	sbuf_append(&dst->buf, q->buf.data + q->head, FRAME_LEN(l));
	q->first++;
	q->n--;
	q->head += FRAME_LEN(l);
	q->sent = 0;
	frames_compact(q);
	return 0;
}

int frames_move_all(struct frames *dst, struct frames *q)
{
	while (q->n)
		if (frames_move_first(dst, q) < 0)
			return -ENOMEM;
	return 0;
}

int frames_copy_done(struct frames *dst, const struct frames *q, size_t n_bytes, uint32_t flags, size_t cover)
{
	uint32_t k = 0, from = 0;
	size_t bytes = 0, at = q->head, left = q->sent + n_bytes;
	while (k < q->n && FRAME_LEN(q->lens[q->first + k]) <= left - bytes)
		bytes += FRAME_LEN(q->lens[q->first + k++]);
	/* the oldest of them that the newer ones cover without are not copied at all */
	while (from < k && bytes - FRAME_LEN(q->lens[q->first + from]) >= cover) {
		bytes -= FRAME_LEN(q->lens[q->first + from]);
		at += FRAME_LEN(q->lens[q->first + from++]);
	}
	uint32_t drop = 0; /* dst's oldest that the rest and these cover without */
	for (size_t held = frames_bytes(dst), l; drop < dst->n; held -= l, drop++) {
		l = FRAME_LEN(dst->lens[dst->first + drop]);
		if (held - l + bytes < cover)
			break;
	}
	drop_oldest(dst, drop);
	if (sbuf_reserve(&dst->buf, bytes) != 0)
		return -ENOMEM;
	for (uint32_t j = from; j < k; j++)
		if (frames_push(dst, FRAME_LEN(q->lens[q->first + j]) | flags) != 0)
			return -ENOMEM; /* lengths without their bytes: the caller frees dst */
	sbuf_append(&dst->buf, q->buf.data + at, bytes); /* reserved: cannot fail */
	return 0;
}

int frames_take_last(struct frames *dst, struct frames *q, size_t n_bytes)
{
	uint32_t keep = 0; /* frames from the end */
	for (size_t got = 0; keep < q->n && got < n_bytes; keep++)
		got += FRAME_LEN(q->lens[q->first + q->n - 1 - keep]);
	while (q->n > keep)
		frames_drop_first(q);
	struct frames all = {0};
	int r = frames_move_all(&all, q) == 0 && frames_move_all(&all, dst) == 0 ? 0 : -ENOMEM;
	frames_free(q);
	frames_free(dst);
	*dst = all;
	return r;
}

void frames_free(struct frames *q)
{
	sbuf_free(&q->buf);
	free(q->lens);
	memset(q, 0, sizeof *q);
}
