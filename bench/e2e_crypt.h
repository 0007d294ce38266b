/*
 * e2e_crypt.h — bench_e2e's reader of an encrypted text log (--format
 * encrypted --key FILE): the bytes read so far are opened chunk by chunk
 * (shared/encfile.c, the code `shmlog decrypt` uses) and their lines counted.
 * The timed end of a run is when the reader has read the file to its end
 * (e2e_crypt_settled), as the text case's is when it has counted the
 * newlines; opening the chunks is the bench's work, not the logger's, and is
 * not timed.
 */
#ifndef SHMLOG_BENCH_E2E_CRYPT_H
#define SHMLOG_BENCH_E2E_CRYPT_H

#include <stddef.h>
#include <stdint.h>

struct e2e_crypt;

/* A reader with the 32-byte key in key_path. Returns it, or NULL (said on stderr). */
struct e2e_crypt *e2e_crypt_new(const char *key_path);

/* The next n bytes of the file: add the lines of the chunks now whole to *lines, the collector's
 * notices among them to *notices. Returns 0, or -1 when a chunk does not open (said). */
int e2e_crypt_count(struct e2e_crypt *c, const uint8_t *data, size_t n, uint64_t *lines, uint64_t *notices);

/*
 * Open every chunk of path from the start and count its lines and notices
 * (after the producer's flush, untimed: the run's end is the flush).
 * Returns 0, or -1 when the file cannot be opened or a chunk does not open.
 */
int e2e_crypt_settled(struct e2e_crypt *c, const char *path, uint64_t *lines, uint64_t *notices);

/* e2e_crypt_settled until path holds records records besides the notices, for at most
 * timeout_ns. Returns 0, or -1 (said) at the timeout. */
int e2e_crypt_wait(struct e2e_crypt *c, const char *path, uint64_t records, uint64_t timeout_ns, uint64_t *lines,
		   uint64_t *notices);

#endif
