/*
 * test_fmt_parse.c — what fmt_parse() makes of a format: the argument kind of
 * each conversion, flags, width, precision and length modifier, '*'
 * arguments in printf order, %% and the literal text around conversions; and
 * every format it refuses (%n, positional arguments, wide characters, %m,
 * unknown conversions, mismatched length modifiers, incomplete or overlong
 * specs), with a reason, never reading past the given length. Rendering is
 * in test_fmt.c.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/fmt.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#include "tests/fmt_check.h"

Test(fmt, maps_every_conversion_to_its_argument_kind)
{
	static const struct {
		const char *fmt;
		uint8_t kind;
	} cases[] = {
		{"%d", SHMLOG_ARG_INT32}, {"%i", SHMLOG_ARG_INT32}, {"%u", SHMLOG_ARG_INT32},
		{"%o", SHMLOG_ARG_INT32}, {"%x", SHMLOG_ARG_INT32}, {"%X", SHMLOG_ARG_INT32},
		{"%c", SHMLOG_ARG_INT32}, {"%hhd", SHMLOG_ARG_INT32}, {"%hu", SHMLOG_ARG_INT32},
		{"%hhx", SHMLOG_ARG_INT32}, {"%hc", SHMLOG_ARG_INT32}, {"%ld", SHMLOG_ARG_INT64},
		{"%lld", SHMLOG_ARG_INT64}, {"%jd", SHMLOG_ARG_INT64}, {"%zu", SHMLOG_ARG_INT64},
		{"%td", SHMLOG_ARG_INT64}, {"%llX", SHMLOG_ARG_INT64}, {"%lo", SHMLOG_ARG_INT64},
		{"%f", SHMLOG_ARG_DOUBLE}, {"%F", SHMLOG_ARG_DOUBLE}, {"%e", SHMLOG_ARG_DOUBLE},
		{"%E", SHMLOG_ARG_DOUBLE}, {"%g", SHMLOG_ARG_DOUBLE}, {"%G", SHMLOG_ARG_DOUBLE},
		{"%a", SHMLOG_ARG_DOUBLE}, {"%A", SHMLOG_ARG_DOUBLE}, {"%lf", SHMLOG_ARG_DOUBLE},
		{"%Lf", SHMLOG_ARG_LDOUBLE}, {"%Lg", SHMLOG_ARG_LDOUBLE}, {"%LA", SHMLOG_ARG_LDOUBLE},
		{"%s", SHMLOG_ARG_STRING}, {"%p", SHMLOG_ARG_POINTER},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct fmt_parsed pf;
		parse_ok(&pf, cases[i].fmt);
		cr_assert_eq(pf.n_convs, 1);
		cr_assert_eq(pf.n_args, 1, "%s", cases[i].fmt);
		cr_assert_eq(pf.kinds[0], cases[i].kind, "%s: kind %d, want %d", cases[i].fmt, pf.kinds[0],
			     cases[i].kind);
		cr_assert_eq(pf.convs[0].arg, 0);
		cr_assert_eq(pf.convs[0].conv, cases[i].fmt[strlen(cases[i].fmt) - 1]);
	}
}

Test(fmt, parses_flags_width_precision_and_length)
{
	struct fmt_parsed pf;
	parse_ok(&pf, "ab%-+ #012.34lldcd");
	cr_assert_eq(pf.n_convs, 1);
	const struct fmt_conv *c = &pf.convs[0];
	cr_assert_eq(c->lit_off, 0);
	cr_assert_eq(c->lit_len, 2);
	cr_assert_eq(c->flags, FMT_FLAG_MINUS | FMT_FLAG_PLUS | FMT_FLAG_SPACE | FMT_FLAG_HASH | FMT_FLAG_ZERO);
	cr_assert_eq(c->width, 12);
	cr_assert_eq(c->prec, 34);
	cr_assert_eq(c->len_mod, FMT_LEN_LL);
	cr_assert_eq(c->conv, 'd');
	cr_assert_str_eq(c->spec, "%-+ #012.34lld");
	cr_assert_eq(pf.tail_off, 16);
	cr_assert_eq(pf.tail_len, 2);

	parse_ok(&pf, "%d%.f%hhx%hd%ld%jd%zd%td%Le");
	static const uint8_t lens[] = {FMT_LEN_NONE, FMT_LEN_NONE, FMT_LEN_HH, FMT_LEN_H, FMT_LEN_L,
				       FMT_LEN_J, FMT_LEN_Z, FMT_LEN_T, FMT_LEN_LD};
	cr_assert_eq(pf.n_convs, N_OF(lens));
	for (size_t i = 0; i < N_OF(lens); i++) {
		cr_assert_eq(pf.convs[i].len_mod, lens[i], "conversion %zu", i);
		cr_assert_eq(pf.convs[i].lit_len, 0);
		cr_assert_eq(pf.convs[i].arg, i);
	}
	cr_assert_eq(pf.convs[0].width, FMT_NONE);
	cr_assert_eq(pf.convs[0].prec, FMT_NONE);
	cr_assert_eq(pf.convs[1].prec, 0, "\"%%.f\" is precision 0");
	cr_assert_eq(pf.tail_len, 0);
}

Test(fmt, star_arguments_come_before_the_value_in_printf_order)
{
	struct fmt_parsed pf;
	parse_ok(&pf, "%*.*lld %-*s %.*Lf %d");
	cr_assert_eq(pf.n_args, 8);
	static const uint8_t kinds[] = {SHMLOG_ARG_INT32, SHMLOG_ARG_INT32, SHMLOG_ARG_INT64,
					SHMLOG_ARG_INT32, SHMLOG_ARG_STRING, SHMLOG_ARG_INT32,
					SHMLOG_ARG_LDOUBLE, SHMLOG_ARG_INT32};
	for (size_t i = 0; i < N_OF(kinds); i++)
		cr_assert_eq(pf.kinds[i], kinds[i], "argument %zu", i);
	cr_assert_eq(pf.convs[0].width, FMT_FROM_ARG);
	cr_assert_eq(pf.convs[0].prec, FMT_FROM_ARG);
	cr_assert_eq(pf.convs[0].arg, 2);
	cr_assert_str_eq(pf.convs[0].spec, "%*.*lld");
	cr_assert_eq(pf.convs[1].width, FMT_FROM_ARG);
	cr_assert_eq(pf.convs[1].prec, FMT_NONE);
	cr_assert_eq(pf.convs[1].arg, 4);
	cr_assert_eq(pf.convs[1].flags, FMT_FLAG_MINUS);
	cr_assert_eq(pf.convs[2].width, FMT_NONE);
	cr_assert_eq(pf.convs[2].prec, FMT_FROM_ARG);
	cr_assert_eq(pf.convs[2].arg, 6);
	cr_assert_eq(pf.convs[3].arg, 7);
}

Test(fmt, percent_percent_is_a_conversion_without_argument)
{
	struct fmt_parsed pf;
	parse_ok(&pf, "a%%b%dc%%");
	cr_assert_eq(pf.n_convs, 3);
	cr_assert_eq(pf.n_args, 1);
	cr_assert_eq(pf.kinds[0], SHMLOG_ARG_INT32);
	cr_assert_eq(pf.convs[0].conv, '%');
	cr_assert_eq(pf.convs[0].lit_off, 0);
	cr_assert_eq(pf.convs[0].lit_len, 1);
	cr_assert_str_eq(pf.convs[0].spec, "%%");
	cr_assert_eq(pf.convs[1].conv, 'd');
	cr_assert_eq(pf.convs[1].lit_off, 3);
	cr_assert_eq(pf.convs[1].lit_len, 1);
	cr_assert_eq(pf.convs[1].arg, 0);
	cr_assert_eq(pf.convs[2].conv, '%');
	cr_assert_eq(pf.convs[2].lit_off, 6);
	cr_assert_eq(pf.convs[2].lit_len, 1);
	cr_assert_eq(pf.tail_off, 9);
	cr_assert_eq(pf.tail_len, 0);
}

Test(fmt, parses_format_without_conversions_as_tail)
{
	struct fmt_parsed pf;
	parse_ok(&pf, "just text");
	cr_assert_eq(pf.n_convs, 0);
	cr_assert_eq(pf.n_args, 0);
	cr_assert_eq(pf.tail_off, 0);
	cr_assert_eq(pf.tail_len, 9);
	parse_ok(&pf, "");
	cr_assert_eq(pf.n_convs, 0);
	cr_assert_eq(pf.tail_len, 0);
}

Test(fmt, refuses_percent_n)
{
	refused("%n", "%n");
	refused("x %d %hhn", "%n");
	refused("%5lln", "%n");
}

Test(fmt, refuses_positional_arguments)
{
	refused("%1$d", "positional");
	refused("%2$s %1$s", "positional");
	refused("%*1$d", "positional");
	refused("%.*2$d", "positional");
}

Test(fmt, refuses_wide_characters_and_strings)
{
	refused("%lc", "wide");
	refused("%ls", "wide");
	refused("%C", "wide");
	refused("%S", "wide");
	refused("%-5lc", "wide");
	refused("%lls", "wide");
}

Test(fmt, refuses_percent_m)
{
	refused("error: %m", "%m");
}

Test(fmt, refuses_unknown_conversions)
{
	refused("%y", "unknown");
	refused("%k", "unknown");
	refused("%'d", "unknown");
	refused("%qd", "unknown");
	refused("%Zd", "unknown");
	refused("%5-d", "unknown");
	refused("%.-3d", "unknown");
	refused("%-y", "unknown");
}

Test(fmt, refuses_length_modifier_that_does_not_fit_the_conversion)
{
	refused("%Ld", "length modifier");
	refused("%hf", "length modifier");
	refused("%llf", "length modifier");
	refused("%zs", "length modifier");
	refused("%hs", "length modifier");
	refused("%lp", "length modifier");
	refused("%Lc", "length modifier");
}

Test(fmt, refuses_percent_percent_with_flags_or_width)
{
	refused("%5%", "%%");
	refused("%-%", "%%");
	refused("%*%", "%%");
}

Test(fmt, refuses_lone_trailing_percent)
{
	refused("abc%", "incomplete");
	refused("%", "incomplete");
	refused("%-5", "incomplete");
	refused("%5.3l", "incomplete");
	refused("%*", "incomplete");
}

Test(fmt, never_reads_past_len_of_an_unterminated_format)
{
	/* each prefix of a valid format lives in a buffer of exactly that many bytes */
	const char text[] = "n=%-*.*lld|%s|%%|%Lf";
	for (size_t len = 0; len <= sizeof text - 1; len++) {
		char *f = malloc(len ? len : 1);
		memcpy(f, text, len);
		struct fmt_parsed pf;
		const char *err = NULL;
		int r = fmt_parse(&pf, f, len, &err);
		cr_assert(r == 0 || (r == -EINVAL && err != NULL), "prefix %zu: %d", len, r);
		free(f);
	}
	/* the byte after len would complete the conversion: it must not be seen */
	assert_refused("%dX", 1, "incomplete");
	assert_refused("%lld", 3, "incomplete");
}

Test(fmt, refuses_spec_longer_than_spec_bytes)
{
	struct fmt_parsed pf;
	/* 23 characters: the longest allowed */
	const char *max = "%-+ #0-+ #0-+ #0000012d";
	cr_assert_eq(strlen(max), FMT_SPEC_BYTES - 1);
	parse_ok(&pf, max);
	cr_assert_str_eq(pf.convs[0].spec, max);
	refused("%-+ #0-+ #0-+ #00000012d", "longer");
	refused("%.0000000000000000000000001d", "longer");
}

Test(fmt, refuses_width_or_precision_beyond_int)
{
	refused("%99999999999d", "width");
	refused("%.99999999999d", "precision");
}
