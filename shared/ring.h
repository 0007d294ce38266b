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
 * thread for milliseconds) finishes well within it. The clock is looked at
 * every RING_HEAD_READ_TRIES reads that find the same one.
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

/* Whether the publication ring_read_head() found stuck again has been so for RING_HEAD_STUCK_NS since
 * *since, the first time it looked at the clock (0: not yet). */
static inline bool ring_stuck_long(uint64_t *since)
{
	uint64_t now = clock_monotonic_ns();
	if (!*since)
		*since = now;
	return now - *since >= RING_HEAD_STUCK_NS;
}

/*
 * The consumer's head and the records_consumed published with it, as
 * ring_publish_head() stored them together: read again while a publication
 * is in progress. One that stays half done for RING_HEAD_STUCK_NS (a
 * consumer killed between its stores leaves head_seq odd for good) is taken
 * as it is. For a consumer that does not write head_seq, head is read twice
 * around the counter instead. head is read with acquire semantics.
 */
static inline uint64_t ring_read_head(const struct shmlog_ring_header *rh, uint64_t *records_consumed)
{
	uint64_t h, rc, stuck_since = 0;
	uint32_t stuck_seq = 0;
	for (unsigned stuck = 0;;) {
		/* acquire: pairs with the release store that ended the last publication */
		uint32_t s1 = atomic_load_explicit(&rh->head_seq, memory_order_acquire);
		h = atomic_load_explicit(&rh->head, memory_order_relaxed);
		rc = atomic_load_explicit(&rh->records_consumed, memory_order_relaxed);
		/* acquire: the loads above (head's included) complete before the second look */
		atomic_thread_fence(memory_order_acquire);
		uint32_t s2 = atomic_load_explicit(&rh->head_seq, memory_order_relaxed);
		if (s1 == s2 && !(s1 & 1u) && h == atomic_load_explicit(&rh->head, memory_order_relaxed))
			break;
		if (s1 == s2 && s1 == stuck_seq) { /* the same half-done publication */
			stuck++;
		} else {
			stuck = 0;
			stuck_since = 0;
		}
		stuck_seq = s1;
		if (stuck == RING_HEAD_READ_TRIES) {
			if (ring_stuck_long(&stuck_since))
				break;
			stuck = 0;
		}
	}
	*records_consumed = rc;
	return h;
}

#endif
