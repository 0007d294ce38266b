/*
 * seg_util.h — real segments with stamps a test chooses: a logger on the
 * realtime clock (a record's stamp is its UTC nanoseconds) whose threads log
 * "t<T> i<I>", then stamps rewritten through a writable mapping.
 */
#ifndef SHMLOG_TEST_SEG_UTIL_H
#define SHMLOG_TEST_SEG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <shmlog.h>

#include "shared/segment.h"

/*
 * Open a logger named name in dir on the realtime clock; threads 0..threads-1
 * log n records "t<T> i<I>" each, one after another (ring t each). Its
 * segment's path goes to path. Returns the logger, still open.
 */
struct shmlog *su_log(const char *dir, const char *name, int threads, int n, uint32_t ring_bytes, char *path,
		      size_t cap);

/* Threads first..first+threads-1 of lg log n records "t<T> i<I>" each, one after another
 * (each in the lowest ring free: those before them gave theirs back, not yet freed). */
void su_log_more(struct shmlog *lg, int first, int threads, int n);

/* Set the stamp of record k of ring i of s to stamp(i, k) for every record. Returns the records seen. */
int su_restamp(struct seg *s, uint32_t i, uint64_t (*stamp)(uint32_t ring, int k));

#endif
