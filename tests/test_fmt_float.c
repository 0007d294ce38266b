/*
 * test_fmt_float.c — the float conversions that fmt.c writes itself (%f,
 * %e, %g: exact decimal digits by integer arithmetic) against glibc's
 * snprintf, through a real record (fmt_util.h): on values where rounding is
 * delicate (exact ties, the values just around them), where the exponent or
 * the style changes, at the ends of the fast paths' reach (where snprintf
 * takes over), and on random bits.
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shared/fmt.h"
#include "tests/fmt_check.h"
#include "tests/fmt_util.h"

/*
 * 200,000 values against glibc in conversion conv ('f', 'e' or 'g'), at a
 * precision from none to n_precs - 2, a quarter each: decimal-ish, binary
 * ties, odd(x) (the caller's delicate ones), and random bits (those keep
 * refuses replaced by a small one).
 */
static void check_random_doubles(char conv, int n_precs, double (*odd)(uint64_t), bool (*keep)(double))
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char fmtbuf[16];
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double v;
		switch (i % 4) {
		case 0: v = (double)(int64_t)(x % 2000001) / 1000.0 - 1000.0; break; /* decimal-ish */
		case 1: v = (double)(x % 100000) + 0.5 / (double)(1u << (x % 10)); break; /* binary ties */
		case 2: v = odd(x); break;
		default: memcpy(&v, &x, sizeof v); if (!keep(v)) v = 1.0 / (double)(x | 1); break;
		}
		int prec = (int)((x >> 20) % (uint64_t)n_precs) - 1; /* -1: default precision */
		if (prec < 0)
			snprintf(fmtbuf, sizeof fmtbuf, "%%%c", conv);
		else
			snprintf(fmtbuf, sizeof fmtbuf, "%%.%d%c", prec, conv);
		check_double(fmtbuf, 0, 0, 0, v);
	}
}

static double around_eighths(uint64_t x) { return nextafter((double)(x % 1000) + 0.125, (x & 1) ? 1e9 : -1e9); }
static bool below_2_64(double v) { return isfinite(v) && fabs(v) <= 1e19; }
static double any_exponent(uint64_t x) { return (double)(x % 1000000) / pow(10.0, (double)((x >> 40) % 12)); }
static bool is_finite(double v) { return isfinite(v); }

/* The %f fast path (exact integer arithmetic) against glibc on values where
 * rounding is delicate: exact ties, values just around them, random bits. */
Test(fmt, fixed_point_fast_path_matches_snprintf_on_ties_and_random_values)
{
	check_random_doubles('f', 11, around_eighths, below_2_64);
}

/* The %g fast path (the %f style by exact integer arithmetic) against glibc:
 * where the style and the exponent change (powers of ten and the values
 * that round up to them), ties, zeros of both signs, random bits. */
Test(fmt, general_fast_path_matches_snprintf_where_the_exponent_changes_and_on_random_values)
{
	static const char *const fmts[] = {"%g", "%G", "%.0g", "%.1g", "%.3g", "%.9g", "%.10g", "%12g", "%.11g"};
	for (int e = -7; e <= 12; e++) {
		double p10 = pow(10.0, e);
		double vs[] = {p10, nextafter(p10, 0), nextafter(p10, 1e300), p10 * 0.9999995, p10 * 0.99999949,
			       p10 * 0.999999951, -p10, p10 * 1.5, p10 * 2.5, p10 * 0.125};
		for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
			for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
				check_double(fmts[f], 0, 0, 0, vs[i]);
	}
	check_double("%g", 0, 0, 0, 0.0);
	check_double("%g", 0, 0, 0, -0.0);
	check_double("%5g", 0, 0, 0, -0.0);
	check_random_doubles('g', 12, any_exponent, is_finite);
}

static double tiny_to_huge(uint64_t x) { return (double)(x % 1000000) * pow(10.0, (double)((x >> 40) % 90) - 45.0); }

/* The %e fast path against glibc: every precision it takes, around every
 * power of ten from 10^-40 to 10^40 (beyond its reach, snprintf's output
 * through the same call), the values that round up into the next exponent,
 * ties, zeros of both signs, widths, %E, random bits. */
Test(fmt_float, exponent_fast_path_matches_snprintf_at_every_precision_and_exponent)
{
	static const char *const fmts[] = {"%e", "%E", "%.0e", "%.1e", "%.2e", "%.5e", "%.9e", "%.15e",
					   "%.16e", "%14e", "%.3E", "%30.10e", "%.17e"};
	for (int e = -40; e <= 40; e++) {
		double p10 = pow(10.0, e);
		double vs[] = {p10, nextafter(p10, 0), nextafter(p10, 1e300), p10 * 0.9999995, p10 * 0.99999949,
			       p10 * 0.999999951, -p10, p10 * 1.5, p10 * 2.5, p10 * 0.125, p10 * 9.5, p10 * 1.05};
		for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
			for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
				check_double(fmts[f], 0, 0, 0, vs[i]);
	}
	static const double ends[] = {0.0, -0.0, DBL_MIN, DBL_TRUE_MIN, DBL_MAX, -DBL_MAX, 0x1p127, 0x1p127 * 0.999,
				      0x1p126, 2.5, 0.5, 1.5, 3.5, 0.125, 0.375, 1e-5, 123456789.0, 9.9999995e22};
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
		for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
			check_double(fmts[f], 0, 0, 0, ends[i]);
	check_random_doubles('e', 18, tiny_to_huge, is_finite);
}

/* %g where it turns to the %e style (exponent below -4 or at least the
 * precision), at the precisions the fast path takes and just past them. */
Test(fmt_float, general_fast_path_matches_snprintf_in_the_exponent_style)
{
	static const char *const fmts[] = {"%g", "%G", "%.0g", "%.2g", "%.12g", "%.16g", "%.17g", "%.18g", "%20.8G"};
	for (int e = -40; e <= 40; e++) {
		double p10 = pow(10.0, e);
		double vs[] = {p10, nextafter(p10, 0), p10 * 0.99999951, p10 * 2.5, -p10 * 1.25, p10 * 3.0000001};
		for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
			for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
				check_double(fmts[f], 0, 0, 0, vs[i]);
	}
	check_random_doubles('g', 20, tiny_to_huge, is_finite);
}

/* Which float conversions are written by fmt.c itself (the rest: snprintf). */
Test(fmt_float, takes_e_and_g_without_flags_up_to_their_precision_limits)
{
	static const struct {
		const char *fmt;
		uint8_t fast;
	} cases[] = {{"%e", FMT_FAST_EXP}, {"%.16E", FMT_FAST_EXP}, {"%64e", FMT_FAST_EXP}, {"%.17e", FMT_FAST_NO},
		     {"%+e", FMT_FAST_NO}, {"%#e", FMT_FAST_NO}, {"%Le", FMT_FAST_NO}, {"%*e", FMT_FAST_NO},
		     {"%65e", FMT_FAST_NO}, {"%.17g", FMT_FAST_GENERAL}, {"%.18g", FMT_FAST_NO}, {"%G", FMT_FAST_GENERAL}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fmt_parsed pf;
		parse_ok(&pf, cases[i].fmt);
		cr_assert_eq(pf.convs[0].fast, cases[i].fast, "%s: fast %u, want %u", cases[i].fmt, pf.convs[0].fast,
			     cases[i].fast);
	}
}
