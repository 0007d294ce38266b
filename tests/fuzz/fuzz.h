/*
 * fuzz.h — what the fuzz harnesses share (tests/fuzz/, docs/fuzzing.md).
 *
 * Each harness is one LLVMFuzzerTestOneInput() over one component. It is
 * linked twice: with libFuzzer (clang, build-fuzz/, `./dev fuzz`), and with
 * replay.c, a main() that runs it over the seed corpus and every crash ever
 * found (`./dev test`). A harness reports a wrong result the way a sanitizer
 * reports a bad access: fz_check() prints what went wrong and aborts, which
 * libFuzzer saves as a crash and the replay counts as a failure.
 *
 * Inputs are read with struct fz, a cursor over the input's bytes: a harness
 * takes the choices it needs from the front (a byte, a length, a string) and
 * every take past the end gives zeros, so every input means something.
 */
#ifndef SHMLOG_TESTS_FUZZ_H
#define SHMLOG_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "shared/sbuf.h"
#include "shared/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input not read yet. */
struct fz {
	const uint8_t *p;
	size_t n;
};

/* n bytes (or what is left) of f; *got says how many. Returns where they start. */
static inline const uint8_t *fz_take(struct fz *f, size_t n, size_t *got)
{
	const uint8_t *p = f->p;
	*got = n < f->n ? n : f->n;
	f->p += *got;
	f->n -= *got;
	return p;
}

/* An unsigned little-endian integer of bytes bytes (1..8); missing bytes are 0. Returns it. */
static inline uint64_t fz_uint(struct fz *f, unsigned bytes)
{
	size_t got;
	const uint8_t *p = fz_take(f, bytes, &got);
	uint64_t v = 0;
	for (size_t i = 0; i < got; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline uint8_t fz_u8(struct fz *f)
{
	return (uint8_t)fz_uint(f, 1);
}

/* A string of at most max bytes, its length in the byte before it. Returns where it starts. */
static inline const char *fz_str(struct fz *f, size_t max, size_t *len)
{
	size_t want = fz_u8(f);
	return (const char *)fz_take(f, want < max ? want : max, len);
}

/*
 * Abort with "fuzz: <what>" on stderr unless ok: a wrong result is a crash.
 * Returns nothing (when ok).
 */
#define fz_check(ok, ...) ((ok) ? (void)0 : fz_fail(__FILE__, __LINE__, __VA_ARGS__))
void fz_fail(const char *file, int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));

/*
 * A directory of the harness's own for the files it writes: made once, in
 * $TMPDIR, else /dev/shm, and removed at exit. Returns its path.
 */
const char *fz_dir(void);

/*
 * Make path hold p[0..n) and be size bytes long (zeros past n, or cut).
 * Returns 0 or -errno.
 */
int fz_write_file(const char *path, const uint8_t *p, size_t n, off_t size);

/*
 * Whether s[0..n) is one JSON value (RFC 8259) and nothing else, in
 * well-formed UTF-8 (RFC 3629: the JSON writers replace what is not, escape.h).
 * Returns that.
 */
bool fz_json_valid(const char *s, size_t n);

/*
 * Whether line[0..n) is one line of the text format: it ends with its only
 * LF, and holds no other control byte (ESC too when color). Returns that.
 */
bool fz_text_line_valid(const char *line, size_t n, bool color);

/*
 * Render tr as the line writers do (text, text in colour, JSON) into line,
 * one after another, and check each: fz_text_line_valid, one JSON value and
 * LF. Returns nothing (a bad line aborts).
 */
void fz_check_lines(struct sbuf *line, const struct text_record *tr);

#endif
