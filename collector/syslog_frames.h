/*
 * syslog_frames.h — a queue of frames (whole messages, framed for their
 * transport) waiting to be sent or spooled, in order.
 *
 * The bytes live in one buffer, the lengths in a second queue, so that a
 * send that ends mid-frame (a full socket buffer, a reset) is known to: the
 * frames it covered wholly are done, the first one stays with the bytes of
 * it already sent counted in sent. A frame may be one of the collector's own
 * notices rather than a record (FRAME_NOTICE), so the done counts are in
 * records.
 */
#ifndef SHMLOG_SYSLOG_FRAMES_H
#define SHMLOG_SYSLOG_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "../shared/sbuf.h"

#define FRAME_NOTICE 0x80000000u  /* in a length: the frame is a notice, not a record */
#define FRAME_SPOOLED 0x40000000u /* in a length: read back from the spool (RELP: its entry is done once acknowledged) */
#define FRAME_LEN(l) ((l) & ~(FRAME_NOTICE | FRAME_SPOOLED))

struct frames {
	struct sbuf buf;  /* the frames, from byte head on */
	size_t head;      /* bytes before the first frame (done, not yet compacted away) */
	size_t sent;      /* bytes of the first frame already sent */
	uint32_t *lens;   /* the lengths: lens[first .. first + n), FRAME_NOTICE-flagged for notices */
	uint32_t first, n, cap;
};

/* The bytes held (from the first frame on, sent part included). */
static inline size_t frames_bytes(const struct frames *q)
{
	return q->buf.len - q->head;
}

/* The frames' length queue gets one more entry for the bytes just appended to q->buf. Returns 0 or -ENOMEM. */
int frames_push(struct frames *q, uint32_t len);

/* Put one frame (len bytes, with its flags in flags) before all others. Returns 0 or -ENOMEM. */
int frames_push_front(struct frames *q, const char *p, uint32_t len, uint32_t flags);

/*
 * n_bytes more of the queue went out (after q->sent): drop the frames they
 * complete and count the rest in q->sent. Returns the records among the frames dropped.
 */
uint64_t frames_sent(struct frames *q, size_t n_bytes);

/* Drop the first frame whatever was sent of it. Returns 1 if it was a record, else 0. */
uint64_t frames_drop_first(struct frames *q);

/* Move q's first frame (and what of it was sent) to the end of dst. Returns 0 or -ENOMEM (nothing moved). */
int frames_move_first(struct frames *dst, struct frames *q);

/* Move all of q's frames to the end of dst, in order. Returns 0 or -ENOMEM (what was moved stays moved). */
int frames_move_all(struct frames *dst, struct frames *q);

/*
 * Keep in dst the newest frames that hold at least cover bytes (all of
 * them, if fewer): the frames of q that n_bytes more sent (after q->sent)
 * complete are appended, with flags added to their lengths, and dst's oldest
 * frames that the rest covers without are dropped. A frame of q that would
 * be dropped at once is not copied. Call it before frames_sent(q, n_bytes).
 * Returns 0, or -ENOMEM (dst is then to be freed).
 */
int frames_copy_done(struct frames *dst, const struct frames *q, size_t n_bytes, uint32_t flags, size_t cover);

/*
 * Move q's last frames, as many as hold n_bytes (or all), before dst's
 * frames; q's others are dropped. Returns 0 or -ENOMEM (then some may be lost).
 */
int frames_take_last(struct frames *dst, struct frames *q, size_t n_bytes);

void frames_free(struct frames *q);

#endif
