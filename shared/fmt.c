/*
 * fmt.c — parsing printf formats once, rendering records many times.
 *
 * fmt_parse() turns a call site's format into a list of conversions, each
 * with the literal text before it, and the list of argument kinds the
 * producer copies into a record. It accepts only what it can reproduce
 * exactly and refuses everything else with a static reason, so that the
 * producer and the collector, which both call it, always agree on a
 * record's layout.
 *
 * fmt_render() runs in the collector for every record, so the common cases
 * are hand-coded: integer conversions without flags, width or precision, %c
 * and %s. Strings arrive as (pointer, length) without a NUL, so %s is always
 * done here, padding and precision included (glibc pads strings with spaces
 * even under the '0' flag). Everything else — floats, pointers, integers with
 * flags — goes through snprintf with the conversion as written, '*' replaced
 * by the resolved numbers, so the output is snprintf's by construction.
 * Integers are stored widened (INT32 as int, INT64 as long long) and narrowed
 * here exactly as printf narrows them for hh, h, z and the rest.
 */
#include "fmt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "digits.h"

#define FMT_TRUNCATED_MARK_LEN (sizeof(FMT_TRUNCATED_MARK) - 1)

/* A resolved conversion spec: '%', flags, up to two 11-digit numbers, "ll", conv. */
#define FMT_RESOLVED_BYTES 64u

/* Room for one conversion rendered by snprintf before falling back to the sbuf. */
#define FMT_SNPRINTF_STACK 256u

static int fmt_fail(const char **err, const char *why)
{
	if (err)
		*err = why;
	return -EINVAL;
}

static bool fmt_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Read a decimal number at fmt[*i..len), saturating at INT32_MAX + 1 so that
 * an absurd width is detected rather than overflowed.
 */
static int64_t fmt_read_number(const char *fmt, size_t len, size_t *i)
{
	int64_t v = 0;
	while (*i < len && fmt_is_digit(fmt[*i])) {
		if (v <= INT32_MAX)
			v = v * 10 + (fmt[*i] - '0');
		(*i)++;
	}
	return v;
}

/* True when fmt[i..len) is digits followed by '$', i.e. a positional index. */
static bool fmt_is_positional(const char *fmt, size_t len, size_t i)
{
	size_t j = i;
	while (j < len && fmt_is_digit(fmt[j]))
		j++;
	return j > i && j < len && fmt[j] == '$';
}

static int fmt_add_arg(struct fmt_parsed *out, uint8_t kind, const char **err)
{
	if (out->n_args >= SHMLOG_MAX_ARGS)
		return fmt_fail(err, "more than SHMLOG_MAX_ARGS (32) arguments");
	out->kinds[out->n_args++] = kind;
	return 0;
}

/*
 * The argument kind of a value conversion with a length modifier, or 0 when
 * the combination is not one printf defines (or one we refuse).
 */
static uint8_t fmt_kind_of(char conv, uint8_t len_mod)
{
	switch (conv) {
	case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
		switch (len_mod) {
		case FMT_LEN_NONE: case FMT_LEN_HH: case FMT_LEN_H:
			return SHMLOG_ARG_INT32;
		case FMT_LEN_L: case FMT_LEN_LL: case FMT_LEN_J: case FMT_LEN_Z: case FMT_LEN_T:
			return SHMLOG_ARG_INT64;
		}
		return 0;
	case 'c':
		/* %lc is refused before we get here; glibc ignores h and hh on %c */
		return len_mod <= FMT_LEN_H ? SHMLOG_ARG_INT32 : 0;
	case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
		if (len_mod == FMT_LEN_NONE || len_mod == FMT_LEN_L)
			return SHMLOG_ARG_DOUBLE; /* C99: l has no effect on floating conversions */
		return len_mod == FMT_LEN_LD ? SHMLOG_ARG_LDOUBLE : 0;
	case 's':
		return len_mod == FMT_LEN_NONE ? SHMLOG_ARG_STRING : 0;
	case 'p':
		return len_mod == FMT_LEN_NONE ? SHMLOG_ARG_POINTER : 0;
	}
	return 0;
}

/*
 * Parse the conversion whose '%' is at fmt[start] into *c, appending the
 * arguments it consumes to out. On success *end is the index just past it.
 */
static int fmt_parse_conv(struct fmt_parsed *out, struct fmt_conv *c, const char *fmt, size_t len,
			  size_t start, size_t *end, const char **err)
{
	size_t i = start + 1;
	static const char incomplete[] = "incomplete conversion at the end of the format";

	if (i >= len)
		return fmt_fail(err, incomplete);
	if (fmt_is_positional(fmt, len, i))
		return fmt_fail(err, "positional arguments (%1$d) are not supported");

	c->flags = 0;
	for (; i < len; i++) {
		uint8_t f;
		switch (fmt[i]) {
		case '-': f = FMT_FLAG_MINUS; break;
		case '+': f = FMT_FLAG_PLUS; break;
		case ' ': f = FMT_FLAG_SPACE; break;
		case '#': f = FMT_FLAG_HASH; break;
		case '0': f = FMT_FLAG_ZERO; break;
		default: f = 0; break;
		}
		if (!f)
			break;
		c->flags |= f;
	}

	c->width = FMT_NONE;
	if (i < len && fmt[i] == '*') {
		i++;
		if (fmt_is_positional(fmt, len, i))
			return fmt_fail(err, "positional arguments (%1$d) are not supported");
		c->width = FMT_FROM_ARG;
	} else if (i < len && fmt_is_digit(fmt[i])) {
		int64_t w = fmt_read_number(fmt, len, &i);
		if (w > FMT_MAX_WIDTH)
			return fmt_fail(err, "width is larger than FMT_MAX_WIDTH (65536)");
		c->width = (int32_t)w;
	}

	c->prec = FMT_NONE;
	if (i < len && fmt[i] == '.') {
		i++;
		if (i < len && fmt[i] == '*') {
			i++;
			if (fmt_is_positional(fmt, len, i))
				return fmt_fail(err, "positional arguments (%1$d) are not supported");
			c->prec = FMT_FROM_ARG;
		} else {
			int64_t p = fmt_read_number(fmt, len, &i); /* "%.d" is precision 0 */
			if (p > FMT_MAX_WIDTH)
				return fmt_fail(err, "precision is larger than FMT_MAX_WIDTH (65536)");
			c->prec = (int32_t)p;
		}
	}

	c->len_mod = FMT_LEN_NONE;
	if (i < len) {
		switch (fmt[i]) {
		case 'h':
			i++;
			c->len_mod = FMT_LEN_H;
			if (i < len && fmt[i] == 'h') {
				i++;
				c->len_mod = FMT_LEN_HH;
			}
			break;
		case 'l':
			i++;
			c->len_mod = FMT_LEN_L;
			if (i < len && fmt[i] == 'l') {
				i++;
				c->len_mod = FMT_LEN_LL;
			}
			break;
		case 'j': i++; c->len_mod = FMT_LEN_J; break;
		case 'z': i++; c->len_mod = FMT_LEN_Z; break;
		case 't': i++; c->len_mod = FMT_LEN_T; break;
		case 'L': i++; c->len_mod = FMT_LEN_LD; break;
		}
	}

	if (i >= len)
		return fmt_fail(err, incomplete);
	char conv = fmt[i++];
	switch (conv) {
	case 'n':
		return fmt_fail(err, "%n is not supported");
	case 'm':
		return fmt_fail(err, "%m is not supported");
	case 'C': case 'S':
		return fmt_fail(err, "wide characters and strings (%lc, %ls, %C, %S) are not supported");
	case 'c': case 's':
		if (c->len_mod == FMT_LEN_L || c->len_mod == FMT_LEN_LL)
			return fmt_fail(err, "wide characters and strings (%lc, %ls, %C, %S) are not supported");
		break;
	case '%':
		if (i - start != 2)
			return fmt_fail(err, "%% takes no flags, width, precision or length modifier");
		break;
	case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
	case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
	case 'p':
		break;
	default:
		return fmt_fail(err, "unknown conversion");
	}

	if (i - start > FMT_SPEC_BYTES - 1)
		return fmt_fail(err, "conversion is longer than FMT_SPEC_BYTES - 1 (23) characters");
	memcpy(c->spec, fmt + start, i - start);
	c->spec[i - start] = '\0';
	c->conv = conv;

	if (conv == '%') {
		c->arg = (uint8_t)out->n_args; /* consumes nothing; the index the next value would get */
		*end = i;
		return 0;
	}

	uint8_t kind = fmt_kind_of(conv, c->len_mod);
	if (!kind)
		return fmt_fail(err, "length modifier not valid for this conversion");

	/* printf consumes '*' width, then '*' precision, then the value */
	int r;
	if (c->width == FMT_FROM_ARG && (r = fmt_add_arg(out, SHMLOG_ARG_INT32, err)) < 0)
		return r;
	if (c->prec == FMT_FROM_ARG && (r = fmt_add_arg(out, SHMLOG_ARG_INT32, err)) < 0)
		return r;
	if ((r = fmt_add_arg(out, kind, err)) < 0)
		return r;
	c->arg = (uint8_t)(out->n_args - 1);
	*end = i;
	return 0;
}

int fmt_parse(struct fmt_parsed *out, const char *fmt, size_t len, const char **err)
{
	out->n_convs = 0;
	out->n_args = 0;
	out->tail_off = 0;
	out->tail_len = 0;
	if (len > UINT32_MAX)
		return fmt_fail(err, "format is longer than 4 GiB");

	size_t lit = 0, i = 0;
	while (i < len) {
		const char *pct = memchr(fmt + i, '%', len - i);
		if (!pct)
			break;
		size_t start = (size_t)(pct - fmt);
		if (out->n_convs >= FMT_MAX_CONVS)
			return fmt_fail(err, "more than FMT_MAX_CONVS (64) conversions");
		struct fmt_conv *c = &out->convs[out->n_convs];
		c->lit_off = (uint32_t)lit;
		c->lit_len = (uint32_t)(start - lit);
		int r = fmt_parse_conv(out, c, fmt, len, start, &i, err);
		if (r < 0)
			return r;
		out->n_convs++;
		lit = i;
	}
	out->tail_off = (uint32_t)lit;
	out->tail_len = (uint32_t)(len - lit);
	return 0;
}

/* ---- rendering ---------------------------------------------------------- */

static inline void fmt_put(struct sbuf *out, const char *p, size_t n)
{
	if (n) /* sbuf_append(NULL data, 0) would hand memcpy a NULL pointer */
		sbuf_append(out, p, n);
}

static void fmt_pad(struct sbuf *out, char ch, size_t n)
{
	if (n == 0 || sbuf_reserve(out, n) != 0)
		return;
	memset(out->data + out->len, ch, n);
	out->len += n;
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

/* Fast path: an integer conversion with no flags, width or precision. */
static void fmt_render_int_plain(struct sbuf *out, const struct fmt_conv *c, int64_t raw)
{
	char buf[24];
	char *e = buf + sizeof buf, *p = e;
	bool neg = false;
	uint64_t u;

	if (c->conv == 'd' || c->conv == 'i') {
		int64_t v = fmt_signed_value(raw, c->len_mod);
		neg = v < 0;
		u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN safe */
	} else {
		u = fmt_unsigned_value(raw, c->len_mod);
	}

	switch (c->conv) {
	case 'o':
		do {
			*--p = (char)('0' + (u & 7u));
			u >>= 3;
		} while (u);
		break;
	case 'x':
	case 'X': {
		const char *digits = c->conv == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
		do {
			*--p = digits[u & 15u];
			u >>= 4;
		} while (u);
		break;
	}
	default:
		p = digits_back(e, u);
		break;
	}
	if (neg)
		*--p = '-';
	fmt_put(out, p, (size_t)(e - p));
}

/*
 * %s from (pointer, length): precision cuts, width pads with spaces (also
 * under '0', as glibc does), '-' pads on the right. A truncated string is its
 * bytes followed by the mark, and width and precision apply to the whole.
 */
static void fmt_render_str(struct sbuf *out, const struct fmt_arg *a, int64_t width, int64_t prec,
			   bool left)
{
	const char *s = a->kind == SHMLOG_ARG_STRING ? a->v.s.p : NULL;
	size_t slen = s ? a->v.s.len : 0;
	size_t mlen = s && a->v.s.truncated ? FMT_TRUNCATED_MARK_LEN : 0;
	size_t shown = slen + mlen;
	if (prec >= 0 && (uint64_t)prec < shown)
		shown = (size_t)prec;
	size_t pad = width > 0 && (uint64_t)width > shown ? (size_t)width - shown : 0;

	if (!left)
		fmt_pad(out, ' ', pad);
	fmt_put(out, s, shown < slen ? shown : slen);
	if (shown > slen)
		fmt_put(out, FMT_TRUNCATED_MARK, shown - slen);
	if (left)
		fmt_pad(out, ' ', pad);
}

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

/*
 * Fast path for %f and %F with no flags, precision <= 9 and a finite value
 * below 2^64: the exact decimal of the binary value, by integer arithmetic
 * (v = mant * 2^e2, so v * 10^prec = mant * 10^prec * 2^e2, rounded half to
 * even as glibc rounds in the default rounding mode). Width pads with spaces
 * on the left. Returns false when it does not apply.
 */
static bool fmt_render_fixed(struct sbuf *out, double v, int32_t prec, int64_t width)
{
	if (prec > 9)
		return false;
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	int exp = (int)((bits >> 52) & 0x7ff);
	if (exp == 0x7ff)
		return false; /* inf, nan */
	bool neg = (bits >> 63) != 0;
	uint64_t mant = bits & ((1ull << 52) - 1);
	if (exp)
		mant |= 1ull << 52;
	else
		exp = 1;
	int e2 = exp - 1075;
	if (e2 > 11)
		return false; /* v >= 2^64 */
	unsigned __int128 n = (unsigned __int128)mant * digits_pow10[prec]; /* < 2^83 */
	unsigned __int128 q;
	if (e2 >= 0) {
		q = n << e2;
	} else if (-e2 >= 100) {
		q = 0; /* n < 2^83 is below half of 2^100: rounds to 0 */
	} else {
		int k = -e2;
		q = n >> k;
		unsigned __int128 rem = n & (((unsigned __int128)1 << k) - 1), half = (unsigned __int128)1 << (k - 1);
		if (rem > half || (rem == half && (q & 1)))
			q++;
	}
	uint64_t ip, fp;
	if (q >> 64) { /* v * 10^prec >= 2^64: a 128-bit division */
		unsigned __int128 ipart = q / digits_pow10[prec];
		if (ipart >> 64)
			return false;
		ip = (uint64_t)ipart;
		fp = (uint64_t)(q % digits_pow10[prec]);
	} else {
		ip = (uint64_t)q / digits_pow10[prec];
		fp = (uint64_t)q % digits_pow10[prec];
	}
	char tmp[48], *e = tmp + sizeof tmp, *p = digits_fixed_back(e, fp, prec);
	if (prec)
		*--p = '.';
	p = digits_back(p, ip);
	if (neg)
		*--p = '-';
	size_t len = (size_t)(e - p);
	if (width > 0 && (uint64_t)width > len) {
		size_t pad = (size_t)width - len;
		if (sbuf_reserve(out, pad) == 0) {
			memset(out->data + out->len, ' ', pad);
			out->len += pad;
		}
	}
	fmt_put(out, p, len);
	return true;
}

static int fmt_render_conv(struct sbuf *out, const struct fmt_conv *c, const struct fmt_arg *args)
{
	const struct fmt_arg *a = &args[c->arg];
	int32_t width = c->width, prec = c->prec;

	if (c->conv == '%') {
		sbuf_putc(out, '%');
		return 0;
	}
	/* '*' values come from untrusted records: clamp them (FMT_MAX_WIDTH) so
	 * that one record cannot make the collector allocate gigabytes */
	if (prec == FMT_FROM_ARG) {
		prec = (int32_t)fmt_arg_i64(&args[c->arg - 1]);
		if (prec < 0)
			prec = FMT_NONE;
		else if (prec > FMT_MAX_WIDTH)
			prec = FMT_MAX_WIDTH;
	}
	/* a '*' width of -1 is '-' and 1, not FMT_NONE: keep "given" apart */
	bool has_width = width != FMT_NONE;
	if (width == FMT_FROM_ARG) {
		width = (int32_t)fmt_arg_i64(&args[c->arg - (c->prec == FMT_FROM_ARG ? 2 : 1)]);
		if (width > FMT_MAX_WIDTH)
			width = FMT_MAX_WIDTH;
		else if (width < -FMT_MAX_WIDTH)
			width = -FMT_MAX_WIDTH;
	}

	bool plain = c->flags == 0 && !has_width && prec == FMT_NONE;
	switch (c->conv) {
	case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
		if (plain) {
			fmt_render_int_plain(out, c, fmt_arg_i64(a));
			return 0;
		}
		break;
	case 'c':
		if (plain) {
			sbuf_putc(out, (char)(unsigned char)fmt_arg_i64(a));
			return 0;
		}
		break;
	case 'f': case 'F':
		if (c->flags == 0 && c->len_mod != FMT_LEN_LD && a->kind == SHMLOG_ARG_DOUBLE &&
		    (!has_width || width >= 0) &&
		    fmt_render_fixed(out, a->v.d, prec == FMT_NONE ? 6 : prec, has_width ? width : 0))
			return 0;
		break;
	case 's': {
		if (a->kind == SHMLOG_ARG_STRING && a->v.s.null) {
			if (!has_width && prec == FMT_NONE) {
				fmt_put(out, "(null)", 6);
				return 0;
			}
			break;
		}
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
	}
	return fmt_render_snprintf(out, c, a, width, prec);
}

int fmt_render(struct sbuf *out, const char *fmt, const struct fmt_parsed *pf, const struct fmt_arg *args)
{
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
