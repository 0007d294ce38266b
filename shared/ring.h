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

#endif
