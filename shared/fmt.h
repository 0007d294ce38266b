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
	char spec[FMT_SPEC_BYTES]; /* the conversion as written, NUL-terminated, e.g. "%-*.3lld" */
};

struct fmt_parsed {
	uint32_t n_convs;
	uint32_t tail_off; /* literal text after the last conversion */
	uint32_t tail_len;
	uint32_t n_args;   /* arguments consumed, '*' ones included */
	uint8_t kinds[SHMLOG_MAX_ARGS]; /* enum shmlog_arg_kind of each argument, in order */
	struct fmt_conv convs[FMT_MAX_CONVS];
};

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

#define FMT_TRUNCATED_MARK "...[truncated]"

#endif
