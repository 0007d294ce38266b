/*
 * fmt.c — rendering records' messages, printf-exactly, many times.
 *
 * This runs in the collector for every record, so the common conversions
 * (enum fmt_fast) are written by hand, straight into the caller's room and
 * escaped as they are written (escape.h): integers without flags, width or
 * precision, %c, %s (from (pointer, length), padding and precision
 * included; glibc pads strings with spaces even under the '0' flag), and
 * %f (precision up to 9), %e and %g (up to 17 significant digits) without
 * flags, by exact integer arithmetic, for every value but the tiniest and
 * the hugest, which go to snprintf. A format made
 * only of those is "bounded": fmt_render_to() writes it in one pass, and
 * fmt_render_rec() even decodes its arguments from the record as it goes.
 * Everything else — other floats, pointers, integers with flags — goes
 * through snprintf with the conversion as written, '*' replaced by the
 * resolved numbers, so the output is snprintf's by construction. Integers
 * are stored widened (INT32 as int, INT64 as long long) and narrowed here
 * exactly as printf narrows them for hh, h, z and the rest.
 */
#include "fmt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "digits.h"
#include "record.h"

#define PUT_NULL(p) (memcpy((p), "(null)", 6), (p) + 6)

static_assert(FMT_INT_BYTES >= 24 + DIGITS_SLACK, "room for 22 octal digits or a sign and 20 digits, and the slack");

/* ---- rendering ---------------------------------------------------------- */

/* Room for one conversion rendered by snprintf before falling back to the sbuf. */
#define FMT_SNPRINTF_STACK 256u


/* A resolved conversion spec: '%', flags, up to two 11-digit numbers, "ll", conv. */
#define FMT_RESOLVED_BYTES 64u


static inline void fmt_put(struct sbuf *out, const char *p, size_t n)
{
	if (n) /* sbuf_append(NULL data, 0) would hand memcpy a NULL pointer */
		sbuf_append(out, p, n);
}

/* The argument's integer value as stored, whatever its integer-like kind. */
static int64_t fmt_arg_i64(const struct fmt_arg *a)
{
	switch (a->kind) {
	case SHMLOG_ARG_INT32: return a->v.i32;
	case SHMLOG_ARG_INT64: return a->v.i64;
	case SHMLOG_ARG_POINTER: return (int64_t)a->v.ptr;
	}
	return 0;
}

static double fmt_arg_double(const struct fmt_arg *a)
{
	switch (a->kind) {
	case SHMLOG_ARG_DOUBLE: return a->v.d;
	case SHMLOG_ARG_LDOUBLE: return (double)a->v.ld;
	}
	return 0.0;
}

static long double fmt_arg_ldouble(const struct fmt_arg *a)
{
	switch (a->kind) {
	case SHMLOG_ARG_DOUBLE: return a->v.d;
	case SHMLOG_ARG_LDOUBLE: return a->v.ld;
	}
	return 0.0L;
}

/* The value of a signed conversion, narrowed as printf narrows it. */
static int64_t fmt_signed_value(int64_t v, uint8_t len_mod)
{
	switch (len_mod) {
	case FMT_LEN_HH: return (signed char)v;
	case FMT_LEN_H: return (short)v;
	case FMT_LEN_NONE: return (int)v;
	case FMT_LEN_L: return (long)v;
	case FMT_LEN_J: return (intmax_t)v;
	case FMT_LEN_Z: return (ssize_t)v;
	case FMT_LEN_T: return (ptrdiff_t)v;
	}
	return (long long)v;
}

/* The value of an unsigned conversion, narrowed as printf narrows it. */
static uint64_t fmt_unsigned_value(int64_t v, uint8_t len_mod)
{
	switch (len_mod) {
	case FMT_LEN_HH: return (unsigned char)v;
	case FMT_LEN_H: return (unsigned short)v;
	case FMT_LEN_NONE: return (unsigned int)v;
	case FMT_LEN_L: return (unsigned long)v;
	case FMT_LEN_J: return (uintmax_t)v;
	case FMT_LEN_Z: return (size_t)v;
	case FMT_LEN_T: return (uint64_t)(ptrdiff_t)v;
	}
	return (unsigned long long)v;
}


/* An integer conversion with no flags, width or precision, at p. Returns the end. */
static char *fmt_int_to(char *p, const struct fmt_conv *c, int64_t raw)
{
	uint64_t u;
	if (c->conv == 'd' || c->conv == 'i') {
		int64_t v = fmt_signed_value(raw, c->len_mod);
		if (v < 0)
			*p++ = '-';
		u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN safe */
	} else {
		u = fmt_unsigned_value(raw, c->len_mod);
	}
	if (c->conv != 'o' && c->conv != 'x' && c->conv != 'X')
		return digits_put(p, u);

	char buf[FMT_INT_BYTES];
	char *e = buf + sizeof buf, *b = e;
	const char *digits = c->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned shift = c->conv == 'o' ? 3 : 4, mask = c->conv == 'o' ? 7 : 15;
	do {
		*--b = digits[u & mask];
		u >>= shift;
	} while (u);
	memcpy(p, b, (size_t)(e - b));
	return p + (e - b);
}

/* %d of an int at p. Returns the end. */
static inline char *fmt_d32_to(char *p, int32_t v)
{
	if (v < 0)
		*p++ = '-';
	return digits_put(p, v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v);
}

/* %s without width or precision at p, escaped in mode esc (as fmt_str_to). Returns the end. */
static inline char *fmt_str_plain_to(char *p, const struct fmt_arg *a, enum esc_mode esc)
{
	if (a->v.s.null)
		return PUT_NULL(p);
	p = esc_put(p, a->v.s.p, a->v.s.len, esc);
	if (a->v.s.truncated) {
		memcpy(p, FMT_TRUNCATED_MARK, FMT_TRUNCATED_MARK_LEN);
		p += FMT_TRUNCATED_MARK_LEN;
	}
	return p;
}

static inline char *fmt_pad_to(char *p, size_t n)
{
	memset(p, ' ', n);
	return p + n;
}

/*
 * %s from (pointer, length) at p, escaped in mode esc: precision cuts, width
 * pads with spaces (also under '0', as glibc does), '-' pads on the right. A
 * truncated string is its bytes followed by the mark, and width and
 * precision apply to the whole. NULL is "(null)", or "" under a precision
 * below 6, as glibc writes it. Room: width + ESC_GROWTH(esc) * length + the
 * mark. Returns the end.
 */
static char *fmt_str_to(char *p, const struct fmt_arg *a, int64_t width, int64_t prec, bool left,
			enum esc_mode esc)
{
	const char *s = a->v.s.p;
	size_t slen = a->v.s.len;
	size_t mlen = a->v.s.truncated ? FMT_TRUNCATED_MARK_LEN : 0;
	if (a->v.s.null) {
		s = "(null)";
		slen = prec < 0 || prec >= 6 ? 6 : 0;
		mlen = 0;
	}
	size_t shown = slen + mlen;
	if (prec >= 0 && (uint64_t)prec < shown)
		shown = (size_t)prec;
	size_t pad = width > 0 && (uint64_t)width > shown ? (size_t)width - shown : 0;

	if (!left)
		p = fmt_pad_to(p, pad);
	p = esc_put(p, s, shown < slen ? shown : slen, esc);
	if (shown > slen) {
		memcpy(p, FMT_TRUNCATED_MARK, shown - slen);
		p += shown - slen;
	}
	if (left)
		p = fmt_pad_to(p, pad);
	return p;
}


/*
 * v * 10^prec rounded half to even, for v = mant * 2^e2 (mant < 2^53, e2 <=
 * 11, prec <= 9), split into its integer part *ip and its prec fraction
 * digits *fp. Most values (2^-11 <= v < 2^34) need only 64-bit arithmetic;
 * the others a 128-bit product. Returns false when *ip does not fit 64 bits.
 */
static bool fmt_fixed_scaled(uint64_t mant, int e2, int32_t prec, uint64_t *ip, uint64_t *fp)
{
	unsigned __int128 n = (unsigned __int128)mant * digits_pow10[prec]; /* < 2^83 */
	int k = -e2;
	if (k >= 19 && k <= 63) { /* n >> k < 2^64 */
		uint64_t lo = (uint64_t)n, hi = (uint64_t)(n >> 64);
		uint64_t r = (lo >> k) | (hi << (64 - k));
		uint64_t rem = lo & ((1ull << k) - 1), half = 1ull << (k - 1);
		r += rem > half || (rem == half && (r & 1));
		*ip = r / digits_pow10[prec];
		*fp = r - *ip * digits_pow10[prec];
		return true;
	}
	unsigned __int128 qq;
	if (k <= 0) {
		qq = n << -k;
	} else if (k >= 100) {
		qq = 0; /* n < 2^83 is below half of 2^100: rounds to 0 */
	} else {
		qq = n >> k;
		unsigned __int128 rem = n & (((unsigned __int128)1 << k) - 1), half = (unsigned __int128)1 << (k - 1);
		if (rem > half || (rem == half && (qq & 1)))
			qq++;
	}
	unsigned __int128 ipart = qq / digits_pow10[prec];
	if (ipart >> 64)
		return false;
	*ip = (uint64_t)ipart;
	*fp = (uint64_t)(qq - ipart * digits_pow10[prec]);
	return true;
}

/* A finite v as mant * 2^e2 (mant < 2^53) and its sign. Returns false for inf and nan. */
static inline bool fmt_double_split(double v, uint64_t *mant, int *e2, bool *neg)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	int exp = (int)((bits >> 52) & 0x7ff);
	*neg = (bits >> 63) != 0;
	*mant = (bits & ((1ull << 52) - 1)) | (exp ? 1ull << 52 : 0);
	*e2 = (exp ? exp : 1) - 1075;
	return exp != 0x7ff;
}

/* "-ip.fp" with prec fraction digits (none, and no point, for 0), padded on the left to width. */
static inline char *fmt_fixed_put(char *p, bool neg, uint64_t ip, uint64_t fp, int32_t prec, int64_t width)
{
	if (width > 0) {
		size_t len = (size_t)neg + (size_t)digits_count(ip) + (prec ? 1u + (size_t)prec : 0u);
		if ((uint64_t)width > len)
			p = fmt_pad_to(p, (size_t)width - len);
	}
	if (neg)
		*p++ = '-';
	p = digits_put(p, ip);
	if (prec) {
		*p++ = '.';
		p = digits_fixed_put(p, fp, prec);
	}
	return p;
}

/*
 * %f and %F with no flags, precision <= 9 and a finite value below 2^64, at
 * p: the exact decimal of the binary value, by integer arithmetic (v = mant *
 * 2^e2, so v * 10^prec = mant * 10^prec * 2^e2, rounded half to even as
 * glibc rounds in the default rounding mode). Width pads with spaces on the
 * left. Returns the end, or NULL (nothing written) when it does not apply.
 */
static inline __attribute__((always_inline)) char *fmt_fixed_to(char *p, double v, int32_t prec, int64_t width)
{
	uint64_t mant, ip, fp;
	int e2;
	bool neg;
	if (prec > 9 || !fmt_double_split(v, &mant, &e2, &neg) || e2 > 11) /* inf, nan, v >= 2^64 */
		return NULL;
	if (!fmt_fixed_scaled(mant, e2, prec, &ip, &fp))
		return NULL;
	return fmt_fixed_put(p, neg, ip, fp, prec, width);
}

/* 10^t for t <= 38, every power of ten 128 bits hold. */
static inline unsigned __int128 fmt_pow10_128(int t)
{
	return t < 20 ? digits_pow10[t] : (unsigned __int128)digits_pow10[19] * digits_pow10[t - 19];
}

/* Bits [k, k + 64) of the 192-bit w (w[0] the lowest word); bits past the top read as 0. */
static inline uint64_t fmt_bits64(const uint64_t w[3], int k)
{
	int i = k >> 6, sh = k & 63;
	uint64_t lo = i < 3 ? w[i] : 0, hi = i + 1 < 3 ? w[i + 1] : 0;
	return sh ? lo >> sh | hi << (64 - sh) : lo;
}

/* Whether any of the bits [0, k) of w is set. */
static inline bool fmt_any_below(const uint64_t w[3], int k)
{
	for (int i = 0; i < 3 && k > 0; i++, k -= 64)
		if (k >= 64 ? w[i] != 0 : (w[i] & ((1ull << k) - 1)) != 0)
			return true;
	return false;
}

/* w / 2^k rounded half to even into *n, for w < 2^180. Returns 1, or 0 when it does not fit 64 bits. */
static int fmt_shr_even(const uint64_t w[3], int k, uint64_t *n)
{
	if (k > 180) { /* w < 2^180 <= half of 2^k */
		*n = 0;
		return 1;
	}
	if (fmt_bits64(w, k + 64) || fmt_bits64(w, k + 128))
		return 0;
	uint64_t q = fmt_bits64(w, k);
	if (k > 0 && (fmt_bits64(w, k - 1) & 1) && (fmt_any_below(w, k - 1) || (q & 1)) && ++q == 0)
		return 0;
	*n = q;
	return 1;
}

/* v * 10^s for s >= 0 (fmt_scale10): the 192-bit product mant * 10^s, then the power of two. */
static int fmt_scale10_up(uint64_t mant, int e2, int s, uint64_t *n)
{
	unsigned __int128 p = fmt_pow10_128(s);
	unsigned __int128 lo = (unsigned __int128)mant * (uint64_t)p, hi = (unsigned __int128)mant * (uint64_t)(p >> 64);
	unsigned __int128 mid = (lo >> 64) + (uint64_t)hi;
	uint64_t w[3] = {(uint64_t)lo, (uint64_t)mid, (uint64_t)(hi >> 64) + (uint64_t)(mid >> 64)};
	if (e2 < 0)
		return fmt_shr_even(w, -e2, n);
	if (w[1] || w[2] || e2 >= 64 || (e2 && w[0] >> (64 - e2)))
		return 0;
	*n = w[0] << e2;
	return 1;
}

/* v / 10^-s for s < 0 (fmt_scale10): one 128-bit division, its remainder against half the divisor. */
static int fmt_scale10_down(uint64_t mant, int e2, int s, uint64_t *n)
{
	unsigned __int128 d = fmt_pow10_128(-s), num = mant;
	if (e2 >= 0) {
		if (64 - __builtin_clzll(mant) + e2 > 127)
			return -1; /* v >= 2^127 */
		num <<= e2;
	} else {
		uint64_t dh = (uint64_t)(d >> 64);
		int bits = dh ? 128 - __builtin_clzll(dh) : 64 - __builtin_clzll((uint64_t)d);
		if (bits - e2 > 127)
			return -1;
		d <<= -e2;
	}
	unsigned __int128 q = num / d, r = num - q * d;
	q += r > d - r || (r == d - r && (q & 1));
	if (q >> 64)
		return 0;
	*n = (uint64_t)q;
	return 1;
}

/*
 * v * 10^s rounded half to even, for v = mant * 2^e2 (0 < mant < 2^53),
 * into *n: exact, by integer arithmetic. Returns 1; 0 when it does not fit
 * 64 bits; -1 when it is out of reach (|s| > 38, or v >= 2^127 for s < 0).
 */
static int fmt_scale10(uint64_t mant, int e2, int s, uint64_t *n)
{
	if (s > 38 || s < -38)
		return -1;
	return s >= 0 ? fmt_scale10_up(mant, e2, s, n) : fmt_scale10_down(mant, e2, s, n);
}

/*
 * The decimal exponent *x of v = mant * 2^e2 (0 < mant < 2^53) rounded to
 * digits (<= 17) significant digits, and those digits *n (10^(digits-1) <=
 * *n < 10^digits), exact: X = floor(log10(v)), or X + 1 when rounding
 * carries (9.9999996 to 7 digits is 1.000000e+01). The first guess,
 * floor(e * log10(2)) for 2^e <= v < 2^(e+1), is one off at most either way;
 * each try moves x by one, for ten times too many digits or too few. One
 * x above X can pass too, when its coarser rounding carries into exactly
 * 10^(digits-1): so that n is checked one place lower, where the digits
 * fit unless that carries too. Returns false when fmt_scale10 cannot reach it.
 */
static bool fmt_sig_digits(uint64_t mant, int e2, int digits, int *x, uint64_t *n)
{
	int e = e2 + 63 - __builtin_clzll(mant);
	*x = e >= 0 ? (e * 1233) >> 12 : -((-e * 1233 + 4095) >> 12); /* 1233 / 4096 ~ log10(2), floored */
	for (int tries = 0; tries < 4; tries++) {
		int r = fmt_scale10(mant, e2, digits - 1 - *x, n);
		if (r < 0)
			return false;
		if (r == 0 || *n >= digits_pow10[digits]) {
			++*x;
		} else if (*n < digits_pow10[digits - 1]) {
			--*x;
		} else {
			uint64_t finer;
			if (*n != digits_pow10[digits - 1])
				return true;
			r = fmt_scale10(mant, e2, digits - *x, &finer);
			if (r < 0)
				return false;
			if (r && finer < digits_pow10[digits]) {
				--*x;
				*n = finer;
			}
			return true;
		}
	}
	return false;
}

/* "e+XX" (e the letter, 'e' or 'E'): x's sign and at least two of its digits, at p. Returns the end. */
static inline char *fmt_exp_put(char *p, int x, char e)
{
	unsigned u = (unsigned)(x < 0 ? -x : x);
	*p++ = e;
	*p++ = x < 0 ? '-' : '+';
	if (u >= 100) {
		*p++ = (char)('0' + u / 100);
		u %= 100;
	}
	memcpy(p, digit_pairs + 2 * u, 2);
	return p + 2;
}

/* "-L.F" then the exponent x, padded on the left to width: L one digit, F fprec digits (none, and no point, for 0). */
static char *fmt_exp_style_put(char *p, bool neg, uint64_t lead, uint64_t frac, int32_t fprec, int x, char e,
			       int64_t width)
{
	if (width > 0) {
		size_t len = (size_t)neg + 1 + (fprec ? 1u + (size_t)fprec : 0u) + 4 + (x >= 100 || x <= -100);
		if ((uint64_t)width > len)
			p = fmt_pad_to(p, (size_t)width - len);
	}
	if (neg)
		*p++ = '-';
	*p++ = (char)('0' + lead);
	if (fprec) {
		*p++ = '.';
		p = digits_fixed_put(p, frac, fprec);
	}
	return fmt_exp_put(p, x, e);
}

/*
 * %e and %E (e the letter) with no flags, precision <= 16 and width <=
 * FMT_FAST_WIDTH, at p: the value's prec + 1 significant digits, exact
 * (fmt_sig_digits), rounded half to even as glibc rounds in the default
 * rounding mode. Returns the end, or NULL (nothing written) for inf, nan
 * and values out of fmt_scale10's reach (below about 10^(prec-38), or 2^127
 * and more).
 */
static char *fmt_exp_to(char *p, double v, int32_t prec, int64_t width, char e)
{
	uint64_t mant, n = 0;
	int e2, x = 0;
	bool neg;
	if (prec > 16 || !fmt_double_split(v, &mant, &e2, &neg))
		return NULL;
	if (mant && !fmt_sig_digits(mant, e2, prec + 1, &x, &n))
		return NULL;
	uint64_t lead = n / digits_pow10[prec];
	return fmt_exp_style_put(p, neg, lead, n - lead * digits_pow10[prec], prec, x, e, width);
}

/*
 * %g and %G (e the exponent's letter) with no flags, precision <= 17 and
 * width <= FMT_FAST_WIDTH, at p: P significant digits (the precision, 6
 * without one, 1 for 0) and X the decimal exponent of the value rounded to
 * them (fmt_sig_digits). For -4 <= X < P that is %.(P-1-X)f, else
 * %.(P-1)e, with trailing zeros, and a trailing point, taken off. Returns
 * the end, or NULL (nothing written) for inf, nan and values out of
 * fmt_scale10's reach.
 */
static char *fmt_general_to(char *p, double v, int32_t prec, int64_t width, char e)
{
	int32_t digits = prec == 0 ? 1 : prec;
	uint64_t mant, n = 0;
	int e2, x = 0;
	bool neg;
	if (digits > 17 || !fmt_double_split(v, &mant, &e2, &neg))
		return NULL;
	if (mant && !fmt_sig_digits(mant, e2, digits, &x, &n))
		return NULL;
	bool exp_style = x < -4 || x >= digits;
	int32_t fprec = exp_style ? digits - 1 : digits - 1 - x; /* <= 20: n < 10^17 */
	uint64_t ip = fprec < 20 ? n / digits_pow10[fprec] : 0, fp = fprec < 20 ? n - ip * digits_pow10[fprec] : n;
	for (; fprec > 0 && fp % 10 == 0; fprec--)
		fp /= 10;
	return exp_style ? fmt_exp_style_put(p, neg, ip, fp, fprec, x, e, width)
			 : fmt_fixed_put(p, neg, ip, fp, fprec, width);
}

/* Pass the value with the type printf expects for the spec. */
static int fmt_snprintf_value(char *buf, size_t size, const char *spec, const struct fmt_conv *c,
			      const struct fmt_arg *a)
{
	switch (c->conv) {
	case 'd': case 'i': case 'u': case 'o': case 'x': case 'X': {
		int64_t v = fmt_arg_i64(a);
		switch (c->len_mod) {
		case FMT_LEN_NONE: case FMT_LEN_HH: case FMT_LEN_H:
			return snprintf(buf, size, spec, (int)v);
		case FMT_LEN_L: return snprintf(buf, size, spec, (long)v);
		case FMT_LEN_J: return snprintf(buf, size, spec, (intmax_t)v);
		case FMT_LEN_Z: return snprintf(buf, size, spec, (size_t)v);
		case FMT_LEN_T: return snprintf(buf, size, spec, (ptrdiff_t)v);
		default: return snprintf(buf, size, spec, (long long)v);
		}
	}
	case 'c':
		return snprintf(buf, size, spec, (int)fmt_arg_i64(a));
	case 'p':
		return snprintf(buf, size, spec, (void *)(uintptr_t)(uint64_t)fmt_arg_i64(a));
	case 's':
		/* only a NULL string comes here: glibc's text for it depends on the spec */
		return snprintf(buf, size, spec, (const char *)NULL);
	default:
		if (c->len_mod == FMT_LEN_LD)
			return snprintf(buf, size, spec, fmt_arg_ldouble(a));
		return snprintf(buf, size, spec, fmt_arg_double(a));
	}
}


/* A float conversion through snprintf: inf, nan, and values out of the fast paths' reach. Off the common path. */
static __attribute__((noinline)) char *fmt_fixed_slow_to(char *p, const struct fmt_conv *c, const struct fmt_arg *a)
{
	char buf[FMT_FIXED_SLOW_BYTES];
	int n = fmt_snprintf_value(buf, sizeof buf, c->spec, c, a);
	n = n < 0 ? 0 : n >= (int)sizeof buf ? (int)sizeof buf - 1 : n; /* cannot happen: bounded above */
	memcpy(p, buf, (size_t)n);
	return p + n;
}

/* A FMT_FAST_FIXED conversion at p: by integer arithmetic, or snprintf for inf, nan and >= 2^64. */
static inline __attribute__((always_inline)) char *fmt_fast_fixed_to(char *p, const struct fmt_conv *c,
								     const struct fmt_arg *a)
{
	int32_t prec = c->prec == FMT_NONE ? 6 : c->prec;
	char *e = fmt_fixed_to(p, a->v.d, prec, c->width == FMT_NONE ? 0 : c->width);
	return e ? e : fmt_fixed_slow_to(p, c, a);
}

/* A FMT_FAST_GENERAL or FMT_FAST_EXP conversion at p: by integer arithmetic, else snprintf. */
static inline char *fmt_fast_float_to(char *p, const struct fmt_conv *c, const struct fmt_arg *a)
{
	int32_t prec = c->prec == FMT_NONE ? 6 : c->prec;
	int64_t width = c->width == FMT_NONE ? 0 : c->width;
	char e = c->conv == 'G' || c->conv == 'E' ? 'E' : 'e';
	char *end = c->fast == FMT_FAST_EXP ? fmt_exp_to(p, a->v.d, prec, width, e)
					    : fmt_general_to(p, a->v.d, prec, width, e);
	return end ? end : fmt_fixed_slow_to(p, c, a);
}

/* A literal piece at p, escaped unless it was found plain when parsed. */
static inline char *fmt_lit_to(char *p, const char *s, size_t n, bool plain, enum esc_mode esc)
{
	return plain ? esc_copy(p, s, n) : esc_put(p, s, n, esc);
}

/* A FMT_FAST_* conversion at p, escaped in mode esc. Returns the end. */
static char *fmt_fast_conv_to(char *p, const struct fmt_conv *c, const struct fmt_arg *a, enum esc_mode esc)
{
	switch (c->fast) {
	case FMT_FAST_D32: return fmt_d32_to(p, a->v.i32);
	case FMT_FAST_INT: return fmt_int_to(p, c, fmt_arg_i64(a));
	case FMT_FAST_STR_PLAIN: return fmt_str_plain_to(p, a, esc);
	case FMT_FAST_STR: return fmt_str_to(p, a, c->width, c->prec, (c->flags & FMT_FLAG_MINUS) != 0, esc);
	case FMT_FAST_FIXED: return fmt_fast_fixed_to(p, c, a);
	case FMT_FAST_GENERAL: case FMT_FAST_EXP: return fmt_fast_float_to(p, c, a);
	case FMT_FAST_CHAR: {
		char ch = (char)(unsigned char)fmt_arg_i64(a);
		return esc_put(p, &ch, 1, esc);
	}
	case FMT_FAST_PCT: *p = '%'; return p + 1;
	}
	return p;
}

char *fmt_render_to(char *p, const char *fmt, const struct fmt_parsed *pf, const struct fmt_arg *args,
		    enum esc_mode esc)
{
	for (uint32_t i = 0; i < pf->n_convs; i++) {
		const struct fmt_conv *c = &pf->convs[i];
		p = fmt_lit_to(p, fmt + c->lit_off, c->lit_len, c->lit_plain, esc);
		p = fmt_fast_conv_to(p, c, &args[c->arg], esc);
	}
	return fmt_lit_to(p, fmt + pf->tail_off, pf->tail_len, pf->tail_plain, esc);
}

/*
 * Conversion c's argument from bytes[*off..len), then c at p. The common
 * conversions name their argument's kind, so that record_decode_arg() folds
 * to a bounds check and a load; the others look it up in kinds (not "%%":
 * its arg is the next index, SHMLOG_MAX_ARGS after 32 arguments). Returns
 * the end, or NULL when it is malformed.
 */
static inline char *fmt_rec_conv_to(char *p, const struct fmt_conv *c, const uint8_t *kinds, const uint8_t *bytes,
				    size_t len, size_t *off, enum esc_mode esc)
{
	struct fmt_arg a;
	switch (c->fast) {
	case FMT_FAST_PCT:
		*p = '%';
		return p + 1;
	case FMT_FAST_D32:
		return record_decode_arg(&a, SHMLOG_ARG_INT32, bytes, len, off) < 0 ? NULL : fmt_d32_to(p, a.v.i32);
	case FMT_FAST_STR_PLAIN:
		if (record_decode_arg(&a, SHMLOG_ARG_STRING, bytes, len, off) < 0)
			return NULL;
		return fmt_str_plain_to(p, &a, esc);
	case FMT_FAST_FIXED:
		if (record_decode_arg(&a, SHMLOG_ARG_DOUBLE, bytes, len, off) < 0)
			return NULL;
		return fmt_fast_fixed_to(p, c, &a);
	}
	if (record_decode_arg(&a, kinds[c->arg], bytes, len, off) < 0)
		return NULL;
	return fmt_fast_conv_to(p, c, &a, esc);
}

char *fmt_render_rec(char *p, const char *fmt, const struct fmt_parsed *pf, const uint8_t *bytes, size_t len,
		     enum esc_mode esc)
{
	size_t off = 0;
	for (uint32_t i = 0; i < pf->n_convs && p; i++) {
		const struct fmt_conv *c = &pf->convs[i]; /* bounded: one argument per conversion, in order */
		p = fmt_lit_to(p, fmt + c->lit_off, c->lit_len, c->lit_plain, esc);
		p = fmt_rec_conv_to(p, c, pf->kinds, bytes, len, &off, esc);
	}
	return p ? fmt_lit_to(p, fmt + pf->tail_off, pf->tail_len, pf->tail_plain, esc) : NULL;
}

size_t fmt_worst(const struct fmt_parsed *pf, const struct fmt_arg *args, enum esc_mode esc)
{
	if (!pf->bounded)
		return SIZE_MAX;
	size_t esc_bytes = pf->worst_esc;
	for (uint32_t i = 0; i < pf->n_args; i++)
		if (pf->kinds[i] == SHMLOG_ARG_STRING)
			esc_bytes += args[i].v.s.len;
	return pf->worst_raw + ESC_GROWTH(esc) * esc_bytes;
}

/* ---- the general path: any format, conversion by conversion ---- */

/* Append the decimal digits of v (which may be negative) at *p. */
static char *fmt_put_decimal(char *p, int32_t v)
{
	int n = sprintf(p, "%d", v);
	return p + n;
}

/*
 * Build the conversion for snprintf in dst: c->spec with '*' replaced by the
 * resolved numbers, and a negative precision dropped (printf treats it as
 * omitted). A negative width is written as is: "-5" reads as flag '-' and 5.
 */
static void fmt_resolve_spec(char dst[FMT_RESOLVED_BYTES], const struct fmt_conv *c, int32_t width,
			     int32_t prec)
{
	char *d = dst;
	for (const char *s = c->spec; *s; s++) {
		if (*s == '*') {
			/* the first '*' is the width unless the spec has only a '*' precision */
			bool is_prec = s > c->spec && s[-1] == '.';
			if (is_prec) {
				if (prec >= 0)
					d = fmt_put_decimal(d, prec);
				else
					d--; /* drop the '.' written just before */
			} else {
				d = fmt_put_decimal(d, width);
			}
			continue;
		}
		*d++ = *s;
	}
	*d = '\0';
}

/* Render one conversion through snprintf. Returns 0, or -EOVERFLOW as snprintf fails. */
static int fmt_render_snprintf(struct sbuf *out, const struct fmt_conv *c, const struct fmt_arg *a,
			       int32_t width, int32_t prec)
{
	char spec[FMT_RESOLVED_BYTES];
	char stack[FMT_SNPRINTF_STACK];
	fmt_resolve_spec(spec, c, width, prec);

	int n = fmt_snprintf_value(stack, sizeof stack, spec, c, a);
	if (n < 0)
		return -EOVERFLOW; /* glibc: the output would exceed INT_MAX */
	if ((size_t)n < sizeof stack) {
		fmt_put(out, stack, (size_t)n);
		return 0;
	}
	if (sbuf_reserve(out, (size_t)n + 1) != 0)
		return -ENOMEM;
	fmt_snprintf_value(out->data + out->len, (size_t)n + 1, spec, c, a);
	out->len += (size_t)n;
	return 0;
}

/* %s with resolved width (>= 0) and precision (< 0: none), through fmt_str_to(). */
static void fmt_render_str(struct sbuf *out, const struct fmt_arg *a, int64_t width, int64_t prec, bool left)
{
	size_t room = (size_t)width + a->v.s.len + FMT_TRUNCATED_MARK_LEN;
	if (sbuf_reserve(out, room) != 0)
		return;
	out->len = (size_t)(fmt_str_to(out->data + out->len, a, width, prec, left, ESC_NONE) - out->data);
}

/* The value of a '*' width or precision, from an untrusted record: clamped to FMT_MAX_WIDTH. */
static int32_t fmt_star(const struct fmt_arg *a, bool is_prec)
{
	int32_t v = (int32_t)fmt_arg_i64(a);
	if (is_prec)
		return v < 0 ? FMT_NONE : v > FMT_MAX_WIDTH ? FMT_MAX_WIDTH : v;
	return v > FMT_MAX_WIDTH ? FMT_MAX_WIDTH : v < -FMT_MAX_WIDTH ? -FMT_MAX_WIDTH : v;
}

static int fmt_render_conv(struct sbuf *out, const struct fmt_conv *c, const struct fmt_arg *args)
{
	const struct fmt_arg *a = &args[c->arg];
	int32_t width = c->width, prec = c->prec;

	if (c->fast != FMT_FAST_NO) { /* bounded: its worst is known */
		bool str = c->fast == FMT_FAST_STR || c->fast == FMT_FAST_STR_PLAIN;
		size_t room = fmt_fast_raw_bytes(c) + 1 + (str ? a->v.s.len : 0);
		if (sbuf_reserve(out, room) != 0)
			return -ENOMEM;
		out->len = (size_t)(fmt_fast_conv_to(out->data + out->len, c, a, ESC_NONE) - out->data);
		return 0;
	}
	if (prec == FMT_FROM_ARG)
		prec = fmt_star(&args[c->arg - 1], true);
	/* a '*' width of -1 is '-' and 1, not FMT_NONE: keep "given" apart */
	bool has_width = width != FMT_NONE;
	if (width == FMT_FROM_ARG)
		width = fmt_star(&args[c->arg - (c->prec == FMT_FROM_ARG ? 2 : 1)], false);
	if (c->conv == 's') {
		bool left = (c->flags & FMT_FLAG_MINUS) != 0;
		int64_t w = has_width ? width : 0;
		if (w < 0) {
			if (w == INT32_MIN)
				return -EOVERFLOW; /* as glibc: -INT_MIN is not an int */
			left = true;
			w = -w;
		}
		fmt_render_str(out, a, w, prec, left);
		return 0;
	}
	return fmt_render_snprintf(out, c, a, width, prec);
}

int fmt_render(struct sbuf *out, const char *fmt, const struct fmt_parsed *pf, const struct fmt_arg *args)
{
	if (pf->bounded) {
		size_t worst = fmt_worst(pf, args, ESC_NONE);
		if (worst == 0) /* an empty format: out may have no data to point into */
			return 0;
		if (sbuf_reserve(out, worst) != 0)
			return -ENOMEM;
		out->len = (size_t)(fmt_render_to(out->data + out->len, fmt, pf, args, ESC_NONE) - out->data);
		return 0;
	}
	for (uint32_t i = 0; i < pf->n_convs; i++) {
		const struct fmt_conv *c = &pf->convs[i];
		fmt_put(out, fmt + c->lit_off, c->lit_len);
		int r = fmt_render_conv(out, c, args);
		if (r < 0)
			return out->oom ? -ENOMEM : r;
	}
	fmt_put(out, fmt + pf->tail_off, pf->tail_len);
	return out->oom ? -ENOMEM : 0;
}
