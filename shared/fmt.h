/*
 * fmt.h — printf format strings, parsed once and rendered many times.
 *
 * Both sides parse a call site's format string with fmt_parse(): the
 * producer (once, on the call site's first use) to learn which argument kinds
 * to copy into a record, the collector (once per call site per segment) to
 * decode and render records. Because both use this one parser, the bytes a
 * producer writes and the bytes a reader expects always agree.
 *
 * Supported: every conversion d i u o x X c s p f F e E g G a A and %%, the
 * flags - + space # 0, width and precision (numbers or '*'), length modifiers
 * hh h l ll j z t L. Refused (fmt_parse returns -EINVAL with a reason): %n,
 * positional arguments (%1$d), wide characters and strings (%lc, %ls), %m,
 * unknown conversions, more than SHMLOG_MAX_ARGS arguments or FMT_MAX_CONVS
 * conversions, a width or precision above FMT_MAX_WIDTH. Rendering gives exactly the text snprintf would give for the
 * same format and arguments.
 */
#ifndef SHMLOG_FMT_H
#define SHMLOG_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "escape.h"
#include "sbuf.h"

#define FMT_MAX_CONVS 64u
/* Largest width or precision rendered. A format that writes a larger one is
 * refused; a larger '*' value (it comes from a record, which the collector
 * does not trust) is clamped to it. The only departure from printf. */
#define FMT_MAX_WIDTH 65536
#define FMT_SPEC_BYTES 24u

enum fmt_len {
	FMT_LEN_NONE = 0,
	FMT_LEN_HH,
	FMT_LEN_H,
	FMT_LEN_L,
	FMT_LEN_LL,
	FMT_LEN_J,
	FMT_LEN_Z,
	FMT_LEN_T,
	FMT_LEN_LD, /* L */
};

#define FMT_FLAG_MINUS 0x01u
#define FMT_FLAG_PLUS 0x02u
#define FMT_FLAG_SPACE 0x04u
#define FMT_FLAG_HASH 0x08u
#define FMT_FLAG_ZERO 0x10u

#define FMT_NONE (-1)     /* width / precision not given */
#define FMT_FROM_ARG (-2) /* width / precision given as '*' */

/* One conversion, and the literal text that precedes it. */
struct fmt_conv {
	uint32_t lit_off;  /* literal text before this conversion: offset in the format */
	uint32_t lit_len;  /* its length ("%%" is its own conversion, never literal) */
	char conv;         /* d i u o x X c s p f F e E g G a A, or '%' */
	uint8_t len_mod;   /* enum fmt_len */
	uint8_t flags;     /* FMT_FLAG_* */
	uint8_t arg;       /* index of the value argument (after any '*' arguments) */
	int32_t width;     /* >= 0, FMT_NONE or FMT_FROM_ARG (then argument arg-1 or arg-2) */
	int32_t prec;      /* >= 0, FMT_NONE or FMT_FROM_ARG */
	uint8_t fast;      /* FMT_FAST_*: how fmt_render_to() writes it; FMT_FAST_NO: it does not */
	bool lit_plain;    /* the literal before it needs no escape (escape.h) */
	char spec[FMT_SPEC_BYTES]; /* the conversion as written, NUL-terminated, e.g. "%-*.3lld" */
};

struct fmt_parsed {
	uint32_t n_convs;
	uint32_t tail_off; /* literal text after the last conversion */
	uint32_t tail_len;
	uint32_t n_args;   /* arguments consumed, '*' ones included */
	bool tail_plain;   /* the tail literal needs no escape */
	bool bounded;      /* every conversion is FMT_FAST_*: fmt_worst() and fmt_render_to() apply */
	uint32_t worst_raw; /* fmt_worst(): bytes that are never escaped (numbers, padding, marks) */
	uint32_t worst_esc; /* fmt_worst(): bytes of literals and %c that may be escaped */
	uint8_t kinds[SHMLOG_MAX_ARGS]; /* enum shmlog_arg_kind of each argument, in order */
	struct fmt_conv convs[FMT_MAX_CONVS];
};

/* The conversions fmt_render_to() writes itself, each with a bounded size. */
enum fmt_fast {
	FMT_FAST_NO = 0,  /* anything else: snprintf, through fmt_render() */
	FMT_FAST_D32,     /* %d %i (an int) without flags, width or precision */
	FMT_FAST_INT,     /* d i u o x X without flags, width or precision: the others */
	FMT_FAST_CHAR,    /* %c without flags or width */
	FMT_FAST_STR_PLAIN, /* %s without flags, width or precision */
	FMT_FAST_STR,     /* %s, width and precision as numbers (not '*') */
	FMT_FAST_FIXED,   /* %f %F without flags, width <= FMT_FAST_WIDTH, precision <= 9 */
	FMT_FAST_PCT,     /* %% */
	FMT_FAST_GENERAL, /* %g %G without flags, width <= FMT_FAST_WIDTH, precision <= 17 */
	FMT_FAST_EXP,     /* %e %E without flags, width <= FMT_FAST_WIDTH, precision <= 16 */
};
#define FMT_FAST_WIDTH 64

/* What fmt_worst() counts per FMT_FAST_* conversion (the mark is FMT_TRUNCATED_MARK). */
/* The most bytes fmt_int_to() writes: 22 octal digits of a uint64_t, or a sign and 20 digits,
 * and the DIGITS_SLACK it may overwrite past them. */
#define FMT_INT_BYTES 32u /* >= 24 + DIGITS_SLACK (digits.h) */
/* Room for a FMT_FAST_FIXED conversion that snprintf writes: 309 digits, '.', 9, the width (and
 * for any FMT_FAST_GENERAL or FMT_FAST_EXP one: 24 bytes or the width). */
#define FMT_FIXED_SLOW_BYTES 400u
#define FMT_TRUNCATED_MARK_LEN (sizeof(FMT_TRUNCATED_MARK) - 1)

/* A decoded argument. Strings point into the record (not NUL-terminated). */
struct fmt_arg {
	uint8_t kind; /* enum shmlog_arg_kind */
	union {
		int32_t i32;
		int64_t i64;
		double d;
		long double ld;
		uint64_t ptr;
		struct {
			const char *p;
			uint16_t len;
			bool null;      /* the producer passed NULL */
			bool truncated; /* the producer cut it at its max_string_bytes */
		} s;
	} v;
};

/*
 * Parse fmt[0..len) into *out. On error *err (when not NULL) is set to a
 * static message naming the problem, e.g. "%n is not supported".
 * Returns 0, or -EINVAL.
 */
int fmt_parse(struct fmt_parsed *out, const char *fmt, size_t len, const char **err);

/*
 * Append to out the text snprintf(fmt, args...) would produce. fmt must be the
 * string pf was parsed from. A truncated string argument is rendered as its
 * stored bytes followed by FMT_TRUNCATED_MARK (width and precision apply to
 * the whole). Returns 0, -ENOMEM when out cannot grow, or -EOVERFLOW where
 * snprintf itself would fail (a '*' width of INT_MIN).
 */
int fmt_render(struct sbuf *out, const char *fmt, const struct fmt_parsed *pf, const struct fmt_arg *args);

/*
 * The most bytes a FMT_FAST_* conversion writes that are never escaped:
 * numbers, padding, marks (its string and %c bytes come on top, times the
 * escape growth). 0 for FMT_FAST_NO and FMT_FAST_CHAR.
 */
uint32_t fmt_fast_raw_bytes(const struct fmt_conv *c);

/*
 * For a bounded pf (pf->bounded): the most bytes fmt_render_to() writes for
 * these arguments in escape mode esc (escape.h). Returns SIZE_MAX when pf is
 * not bounded.
 */
size_t fmt_worst(const struct fmt_parsed *pf, const struct fmt_arg *args, enum esc_mode esc);

/*
 * Write the text snprintf(fmt, args...) would produce at p, escaped in mode
 * esc, for a bounded pf; p has room for fmt_worst() bytes. The message is
 * escaped as it is written, so a line writer needs no second pass over it.
 * Returns the end of what was written.
 */
char *fmt_render_to(char *p, const char *fmt, const struct fmt_parsed *pf, const struct fmt_arg *args,
		    enum esc_mode esc);

/*
 * As fmt_render_to(), with the arguments decoded from a record's bytes
 * bytes[0..len) as it goes (each byte read once); p has room for
 * fmt_worst_rec() bytes. Returns the end, or NULL when the arguments are
 * malformed (what was written before is garbage then).
 */
char *fmt_render_rec(char *p, const char *fmt, const struct fmt_parsed *pf, const uint8_t *bytes, size_t len,
		     enum esc_mode esc);

/* The most bytes fmt_render_rec() writes for len bytes of arguments; SIZE_MAX when pf is not bounded. */
static inline size_t fmt_worst_rec(const struct fmt_parsed *pf, size_t len, enum esc_mode esc)
{
	return pf->bounded ? pf->worst_raw + ESC_GROWTH(esc) * (pf->worst_esc + len) : SIZE_MAX;
}

#define FMT_TRUNCATED_MARK "...[truncated]"

#endif
