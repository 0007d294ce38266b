/*
 * e2e_count.h — bench_e2e's count of what reached an output file, read as
 * it grows: newlines of a text log, records of a binary log (RECORD and
 * TEXT frames, and the records of CYCLE frames, shared/binlog.h), chunks'
 * lines of an encrypted text log (e2e_crypt.h).
 */
#ifndef SHMLOG_BENCH_E2E_COUNT_H
#define SHMLOG_BENCH_E2E_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct e2e_crypt;

/* One output file and the lines seen in it so far (read incrementally). */
struct counted {
	const char *path;
	int fd;         /* -1 until the file could be opened */
	uint64_t lines; /* newlines read so far (binary: RECORD and TEXT frames) */
	bool binary;    /* a binary log: frames are counted, not lines */
	struct e2e_crypt *crypt; /* an encrypted text log: lines counted as chunks open */
	uint64_t texts; /* binary: TEXT frames (the collector's notices) */
	uint8_t part[64 << 10]; /* binary: the start of a unit not read whole yet */
	size_t part_len, skip;  /* its bytes; bytes of a unit still to skip */
	uint8_t *cycle;         /* binary: a CYCLE frame being read whole, its records counted then */
	size_t cycle_len, cycle_size;
};

/* Count the records in buf[0..n), the next bytes of c's binary log. Returns nothing. */
void e2e_count_binlog(struct counted *c, const uint8_t *buf, size_t n);

#endif
