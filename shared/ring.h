/*
 * ring.h — position arithmetic of the single-producer / single-consumer rings.
 *
 * Positions are monotonic 64-bit byte counts that never wrap in practice
 * (2^64 bytes); the offset in the data area is pos & (capacity - 1). The
 * producer owns tail, the consumer owns head, and tail - head <= capacity
 * always holds for a sane ring. A record never wraps: when it does not fit
 * before the end of the data area, the producer first writes a padding record
 * covering the rest (abi.h) and the record starts at offset 0.
 */
#ifndef SHMLOG_RING_H
#define SHMLOG_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "abi.h"
#include "clock.h"

static inline bool ring_capacity_valid(uint64_t cap)
{
	return cap >= SHMLOG_RING_BYTES_MIN && cap <= SHMLOG_RING_BYTES_MAX && (cap & (cap - 1)) == 0;
}

/* Offset of pos in a data area of capacity cap (a power of two). */
static inline uint32_t ring_offset(uint64_t pos, uint32_t cap)
{
	return (uint32_t)(pos & (uint64_t)(cap - 1));
}

/* Bytes from pos to the end of the data area. */
static inline uint32_t ring_to_end(uint64_t pos, uint32_t cap)
{
	return cap - ring_offset(pos, cap);
}

/*
 * Plan writing a record of size bytes (a multiple of 8, at most cap / 2) at
 * tail, given the consumer's head. Sets *pad to the padding bytes needed
 * first (0 if the record fits before the end). Returns true if pad + size
 * bytes are free.
 */
static inline bool ring_plan(uint64_t tail, uint64_t head, uint32_t cap, uint32_t size, uint32_t *pad)
{
	uint32_t to_end = ring_to_end(tail, cap);
	*pad = size <= to_end ? 0 : to_end;
	return (tail - head) + *pad + size <= cap;
}

/*
 * How long one publication may stay half done before ring_read_head() takes
 * what it has (its consumer was killed between its stores): a live consumer
 * that is only descheduled there (a loaded or virtual machine stalls a
 * thread for milliseconds) finishes well within it. ring_read_head() looks
 * at the clock every RING_HEAD_READ_TRIES reads that find one half done.
 */
#define RING_HEAD_STUCK_NS 100000000ull /* 100 ms */
#define RING_HEAD_READ_TRIES 100000u

/*
 * Publish the consumer's head together with the counters that go with it
 * (the records consumed below it, the drops reported below it), so that a
 * reader that is not the consumer (`shmlog tail`) gets the three from the
 * same batch: head_seq is odd while they change. A consumer killed between
 * its two stores leaves it odd; the next one starts from there (| 1). head
 * is stored seq_cst: the consumer then loads the waiters (ledger.c).
 */
static inline void ring_publish_head(struct shmlog_ring_header *rh, uint64_t head, uint64_t lost_reported,
				     uint64_t records_consumed)
{
	uint32_t s = atomic_load_explicit(&rh->head_seq, memory_order_relaxed) | 1u;
	atomic_store_explicit(&rh->head_seq, s, memory_order_relaxed);
	/* release: the odd value is visible before any of the stores after it */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&rh->lost_reported, lost_reported, memory_order_relaxed);
	atomic_store_explicit(&rh->records_consumed, records_consumed, memory_order_relaxed);
	atomic_store_explicit(&rh->head, head, memory_order_seq_cst);
	/* release: pairs with the reader's acquire load of head_seq */
	atomic_store_explicit(&rh->head_seq, s + 1, memory_order_release);
}

/*
 * What a reader that is not the consumer keeps of one ring's head
 * publications across its reads (ring_head_ready, ring_read_head); zero it
 * before the first.
 */
struct ring_head_watch {
	uint64_t since_ns; /* since when every look found a publication half done (0: the last was whole) */
	bool stuck;        /* that lasted RING_HEAD_STUCK_NS: this ring is never waited for again */
};

/*
 * One look at head and the records_consumed published with it, into *head
 * and *rc as they are. For a consumer that
 * does not write head_seq, head is read twice around the counter instead.
 * head is read with acquire semantics. Returns whether they are one whole
 * publication's.
 */
static inline bool ring_head_look(const struct shmlog_ring_header *rh, uint64_t *head, uint64_t *rc)
{
	/* acquire: pairs with the release store that ended the last publication */
	uint32_t s1 = atomic_load_explicit(&rh->head_seq, memory_order_acquire);
	*head = atomic_load_explicit(&rh->head, memory_order_relaxed);
	*rc = atomic_load_explicit(&rh->records_consumed, memory_order_relaxed);
	/* acquire: the loads above (head's included) complete before the second look */
	atomic_thread_fence(memory_order_acquire);
	uint32_t s2 = atomic_load_explicit(&rh->head_seq, memory_order_relaxed);
	return s1 == s2 && !(s1 & 1u) && *head == atomic_load_explicit(&rh->head, memory_order_relaxed);
}

/*
 * Whether a read of rh's head need not wait, given what w saw before: a
 * look finds a whole publication, or w's ring is stuck, which it becomes
 * here once every look for RING_HEAD_STUCK_NS found one half done (the
 * same, or others one after the other: then a hostile head_seq cannot keep
 * a reader waiting either). Several rings are waited for together by
 * asking each in turn until all are ready. Returns that.
 */
static inline bool ring_head_ready(const struct shmlog_ring_header *rh, struct ring_head_watch *w)
{
	uint64_t h, rc;
	if (ring_head_look(rh, &h, &rc)) {
		w->since_ns = 0;
		return true;
	}
	if (w->stuck)
		return true;
	uint64_t now = clock_monotonic_ns();
	if (!w->since_ns)
		w->since_ns = now;
	w->stuck = now - w->since_ns >= RING_HEAD_STUCK_NS;
	return w->stuck;
}

/*
 * The consumer's head and the records_consumed published with it, as
 * ring_publish_head() stored them together: read again while a publication
 * is in progress, as long as ring_head_ready() says to wait (a consumer
 * killed between its stores leaves head_seq odd for good: that ring is then
 * stuck, taken as it is at once from then on). w is the ring's watch. head
 * is read with acquire semantics. Returns head.
 */
static inline uint64_t ring_read_head(const struct shmlog_ring_header *rh, uint64_t *records_consumed,
				      struct ring_head_watch *w)
{
	uint64_t h, rc;
	for (unsigned tries = 1;; tries++) {
		if (ring_head_look(rh, &h, &rc)) {
			w->since_ns = 0;
			break;
		}
		if (w->stuck)
			break;
		if (tries % RING_HEAD_READ_TRIES == 0)
			ring_head_ready(rh, w); /* the clock is looked at now and then only */
	}
	*records_consumed = rc;
	return h;
}

#endif
