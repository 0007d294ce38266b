/*
 * fmt_parse.c — parsing printf formats once, for both sides.
 *
 * fmt_parse() turns a call site's format into a list of conversions, each
 * with the literal text before it, and the list of argument kinds the
 * producer copies into a record. It accepts only what it can reproduce
 * exactly and refuses everything else with a static reason, so that the
 * producer and the collector, which both call it, always agree on a
 * record's layout. It also classifies each conversion for the renderer
 * (fmt.c): which ones fmt_render_to() writes itself, the most bytes they
 * take, and which literals need no escaping.
 */
#include "fmt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "escape.h"

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

static const char fmt_positional[] = "positional arguments (%1$d) are not supported";
static const char fmt_incomplete[] = "incomplete conversion at the end of the format";
static const char fmt_wide[] = "wide characters and strings (%lc, %ls, %C, %S) are not supported";

/* The flags at fmt[*i..len), *i moved past them. */
static uint8_t fmt_parse_flags(const char *fmt, size_t len, size_t *i)
{
	uint8_t flags = 0;
	for (; *i < len; (*i)++) {
		switch (fmt[*i]) {
		case '-': flags |= FMT_FLAG_MINUS; break;
		case '+': flags |= FMT_FLAG_PLUS; break;
		case ' ': flags |= FMT_FLAG_SPACE; break;
		case '#': flags |= FMT_FLAG_HASH; break;
		case '0': flags |= FMT_FLAG_ZERO; break;
		default: return flags;
		}
	}
	return flags;
}

/*
 * A width or precision at fmt[*i..len) (*i moved past it) into *out:
 * FMT_FROM_ARG for '*', digits (none: 0 when zero_if_none, else FMT_NONE).
 * Returns 0 or -EINVAL with *err; what names it in the error.
 */
static int fmt_parse_amount(const char *fmt, size_t len, size_t *i, bool zero_if_none, const char *too_big,
			    int32_t *out, const char **err)
{
	*out = zero_if_none ? 0 : FMT_NONE;
	if (*i < len && fmt[*i] == '*') {
		(*i)++;
		if (fmt_is_positional(fmt, len, *i))
			return fmt_fail(err, fmt_positional);
		*out = FMT_FROM_ARG;
	} else if (*i < len && fmt_is_digit(fmt[*i])) {
		int64_t v = fmt_read_number(fmt, len, i);
		if (v > FMT_MAX_WIDTH)
			return fmt_fail(err, too_big);
		*out = (int32_t)v;
	}
	return 0;
}

/* The length modifier at fmt[*i..len), *i moved past it (FMT_LEN_NONE: none). */
static uint8_t fmt_parse_len_mod(const char *fmt, size_t len, size_t *i)
{
	if (*i >= len)
		return FMT_LEN_NONE;
	char m = fmt[*i];
	bool twice = *i + 1 < len && fmt[*i + 1] == m;
	switch (m) {
	case 'h': *i += twice ? 2 : 1; return twice ? FMT_LEN_HH : FMT_LEN_H;
	case 'l': *i += twice ? 2 : 1; return twice ? FMT_LEN_LL : FMT_LEN_L;
	case 'j': (*i)++; return FMT_LEN_J;
	case 'z': (*i)++; return FMT_LEN_Z;
	case 't': (*i)++; return FMT_LEN_T;
	case 'L': (*i)++; return FMT_LEN_LD;
	}
	return FMT_LEN_NONE;
}

/* Whether conversion character conv, with c's length modifier, is one we render; spec_len: '%' to conv.
 * Returns 0 or -EINVAL with *err. */
static int fmt_check_conv(const struct fmt_conv *c, char conv, size_t spec_len, const char **err)
{
	switch (conv) {
	case 'n':
		return fmt_fail(err, "%n is not supported");
	case 'm':
		return fmt_fail(err, "%m is not supported");
	case 'C': case 'S':
		return fmt_fail(err, fmt_wide);
	case 'c': case 's':
		if (c->len_mod == FMT_LEN_L || c->len_mod == FMT_LEN_LL)
			return fmt_fail(err, fmt_wide);
		return 0;
	case '%':
		return spec_len == 2 ? 0 : fmt_fail(err, "%% takes no flags, width, precision or length modifier");
	case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
	case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
	case 'p':
		return 0;
	}
	return fmt_fail(err, "unknown conversion");
}

/* Append the arguments value conversion c consumes to out, in printf's order: '*' width, '*' precision,
 * the value. Returns 0 or -EINVAL with *err. */
static int fmt_add_conv_args(struct fmt_parsed *out, struct fmt_conv *c, const char **err)
{
	uint8_t kind = fmt_kind_of(c->conv, c->len_mod);
	if (!kind)
		return fmt_fail(err, "length modifier not valid for this conversion");
	int r;
	if (c->width == FMT_FROM_ARG && (r = fmt_add_arg(out, SHMLOG_ARG_INT32, err)) < 0)
		return r;
	if (c->prec == FMT_FROM_ARG && (r = fmt_add_arg(out, SHMLOG_ARG_INT32, err)) < 0)
		return r;
	if ((r = fmt_add_arg(out, kind, err)) < 0)
		return r;
	c->arg = (uint8_t)(out->n_args - 1);
	return 0;
}

/*
 * Parse the conversion whose '%' is at fmt[start] into *c, appending the
 * arguments it consumes to out. On success *end is the index just past it.
 * Returns 0 or -EINVAL with *err.
 */
static int fmt_parse_conv(struct fmt_parsed *out, struct fmt_conv *c, const char *fmt, size_t len,
			  size_t start, size_t *end, const char **err)
{
	size_t i = start + 1;
	if (i >= len)
		return fmt_fail(err, fmt_incomplete);
	if (fmt_is_positional(fmt, len, i))
		return fmt_fail(err, fmt_positional);
	c->flags = fmt_parse_flags(fmt, len, &i);
	int r = fmt_parse_amount(fmt, len, &i, false, "width is larger than FMT_MAX_WIDTH (65536)", &c->width, err);
	if (r < 0)
		return r;
	c->prec = FMT_NONE;
	if (i < len && fmt[i] == '.') {
		i++; /* "%.d" is precision 0 */
		r = fmt_parse_amount(fmt, len, &i, true, "precision is larger than FMT_MAX_WIDTH (65536)", &c->prec, err);
		if (r < 0)
			return r;
	}
	c->len_mod = fmt_parse_len_mod(fmt, len, &i);
	if (i >= len)
		return fmt_fail(err, fmt_incomplete);
	char conv = fmt[i++];
	if ((r = fmt_check_conv(c, conv, i - start, err)) < 0)
		return r;
	if (i - start > FMT_SPEC_BYTES - 1)
		return fmt_fail(err, "conversion is longer than FMT_SPEC_BYTES - 1 (23) characters");
	memcpy(c->spec, fmt + start, i - start);
	c->spec[i - start] = '\0';
	c->conv = conv;
	*end = i;
	if (conv == '%') {
		c->arg = (uint8_t)out->n_args; /* consumes nothing; the index the next value would get */
		return 0;
	}
	return fmt_add_conv_args(out, c, err);
}

static void fmt_classify(struct fmt_parsed *pf, const char *fmt);

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
	fmt_classify(out, fmt);
	return 0;
}

/* How fmt_render_to() writes conversion c, if it does (enum fmt_fast). */
static uint8_t fmt_fast_of(const struct fmt_conv *c)
{
	bool plain = c->flags == 0 && c->width == FMT_NONE && c->prec == FMT_NONE;
	bool stars = c->width == FMT_FROM_ARG || c->prec == FMT_FROM_ARG;
	switch (c->conv) {
	case 'd': case 'i':
		return !plain ? FMT_FAST_NO : c->len_mod == FMT_LEN_NONE ? FMT_FAST_D32 : FMT_FAST_INT;
	case 'u': case 'o': case 'x': case 'X':
		return plain ? FMT_FAST_INT : FMT_FAST_NO;
	case 'c': return plain ? FMT_FAST_CHAR : FMT_FAST_NO;
	case 's': return stars ? FMT_FAST_NO : plain ? FMT_FAST_STR_PLAIN : FMT_FAST_STR;
	case '%': return FMT_FAST_PCT;
	case 'f': case 'F':
		return c->flags == 0 && !stars && c->len_mod != FMT_LEN_LD && c->width <= FMT_FAST_WIDTH &&
			       c->prec <= 9
			       ? FMT_FAST_FIXED
			       : FMT_FAST_NO;
	case 'g': case 'G':
		return c->flags == 0 && !stars && c->len_mod != FMT_LEN_LD && c->width <= FMT_FAST_WIDTH &&
			       c->prec <= 17
			       ? FMT_FAST_GENERAL
			       : FMT_FAST_NO;
	case 'e': case 'E':
		return c->flags == 0 && !stars && c->len_mod != FMT_LEN_LD && c->width <= FMT_FAST_WIDTH &&
			       c->prec <= 16
			       ? FMT_FAST_EXP
			       : FMT_FAST_NO;
	}
	return FMT_FAST_NO;
}

uint32_t fmt_fast_raw_bytes(const struct fmt_conv *c)
{
	uint32_t width = c->width > 0 ? (uint32_t)c->width : 0;
	switch (c->fast) {
	case FMT_FAST_D32: case FMT_FAST_INT: return FMT_INT_BYTES;
	case FMT_FAST_STR_PLAIN: case FMT_FAST_STR:
		return width + FMT_TRUNCATED_MARK_LEN; /* "(null)" is shorter than the mark */
	case FMT_FAST_FIXED: case FMT_FAST_GENERAL: case FMT_FAST_EXP: return FMT_FIXED_SLOW_BYTES;
	case FMT_FAST_PCT: return 1;
	}
	return 0;
}

/* Fill in what fmt_render_to() and fmt_worst() need: parse time, once per format. */
static void fmt_classify(struct fmt_parsed *pf, const char *fmt)
{
	pf->bounded = true;
	pf->worst_raw = 0;
	pf->worst_esc = pf->tail_len;
	pf->tail_plain = esc_plain(fmt + pf->tail_off, pf->tail_len);
	for (uint32_t i = 0; i < pf->n_convs; i++) {
		struct fmt_conv *c = &pf->convs[i];
		c->fast = fmt_fast_of(c);
		c->lit_plain = esc_plain(fmt + c->lit_off, c->lit_len);
		pf->bounded &= c->fast != FMT_FAST_NO;
		pf->worst_raw += fmt_fast_raw_bytes(c);
		pf->worst_esc += c->lit_len + (c->fast == FMT_FAST_CHAR);
	}
}
