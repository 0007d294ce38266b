/*
 * test_fmt.c — fmt_render() against glibc's snprintf (the float fast paths: test_fmt_float.c).
 *
 * Every rendering test goes the way a real record goes: parse the format,
 * encode the arguments with record_args_size/record_args_encode into a buffer
 * of exactly the encoded size, decode them with record_decode_args, render
 * with fmt_render, and compare byte for byte with vsnprintf on a copy of the
 * same va_list. Large tables of formats are generated (conversion x flags x
 * width x precision x length modifier) and run over edge values, so the
 * exact-output promise is checked far beyond the hand-picked cases. The
 * limits (most arguments and conversions, the width cap) are checked here
 * too, both where fmt_parse refuses and where fmt_render clamps; what
 * fmt_parse makes of a format and what it refuses is in test_fmt_parse.c.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "shared/digits.h"
#include "shared/fmt.h"
#include "tests/fmt_check.h"
#include "tests/fmt_util.h"
#include "shared/record.h"

/* One helper per value type (fmt_util.h; check_double is there). */
FMT_CHECK_TYPED(check_int, int)
FMT_CHECK_TYPED(check_long, long)
FMT_CHECK_TYPED(check_llong, long long)
FMT_CHECK_TYPED(check_intmax, intmax_t)
FMT_CHECK_TYPED(check_size, size_t)
FMT_CHECK_TYPED(check_ptrdiff, ptrdiff_t)
FMT_CHECK_TYPED(check_ldouble, long double)
FMT_CHECK_TYPED(check_str, const char *)
FMT_CHECK_TYPED(check_ptr, void *)

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const flag_sets[] = {
	"", "-", "+", " ", "#", "0", "-+", "+0", " 0", "#0", "-#", "-0", "+ ", "-+ #0",
};
static const char *const widths[] = {"", "1", "7", "25", "*"};
static const char *const precs[] = {"", ".", ".0", ".1", ".4", ".20", ".*"};
/* '*' values: negative width means '-', negative precision means none */
static const int star_widths[] = {-12, -1, 0, 3, 9};
static const int star_precs[] = {-5, -1, 0, 2, 7};

/* Build "%<flags><width><prec><len><conv>" into buf; returns how many '*' it has. */
static int make_fmt(char *buf, size_t size, const char *flags, const char *width, const char *prec,
		    const char *len, char conv)
{
	snprintf(buf, size, "%%%s%s%s%s%c", flags, width, prec, len, conv);
	return (strcmp(width, "*") == 0) + (strcmp(prec, ".*") == 0);
}

/* Run fn over every format conv x flags x width x precision, for each value index. */
struct fmt_grid {
	const char *convs;
	const char *len;
	size_t n_values;
	void (*one)(const char *fmt, int nstar, int s1, int s2, size_t value_index);
};

static void run_grid(const struct fmt_grid *g)
{
	char fmt[64];
	size_t k = 0;
	for (const char *c = g->convs; *c; c++)
		for (size_t f = 0; f < N_OF(flag_sets); f++)
			for (size_t w = 0; w < N_OF(widths); w++)
				for (size_t p = 0; p < N_OF(precs); p++) {
					int nstar = make_fmt(fmt, sizeof fmt, flag_sets[f], widths[w],
							     precs[p], g->len, *c);
					for (size_t v = 0; v < g->n_values; v++, k++) {
						int sw = star_widths[k % N_OF(star_widths)];
						int sp = star_precs[(k / 3) % N_OF(star_precs)];
						int s1 = strcmp(widths[w], "*") == 0 ? sw : sp;
						g->one(fmt, nstar, s1, sp, v);
					}
				}
}

static const int int_values[] = {
	0, 1, -1, 7, 42, -42, 127, 128, -128, 255, 256, 300, -300, 32767, 32768, -32769,
	65535, 65536, 0x12345678, INT_MAX, INT_MIN,
};
static const long long ll_values[] = {
	0, 1, -1, 42, -42, 255, 65535, 4294967295LL, 4294967296LL, -4294967296LL,
	123456789012345LL, INT64_MAX, INT64_MIN, (long long)ULLONG_MAX, (long long)0x8000000000000001ULL,
};

static void one_int(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_int(fmt, nstar, s1, s2, int_values[i]);
}
static void one_long(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_long(fmt, nstar, s1, s2, (long)ll_values[i]);
}
static void one_llong(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_llong(fmt, nstar, s1, s2, ll_values[i]);
}
static void one_intmax(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_intmax(fmt, nstar, s1, s2, (intmax_t)ll_values[i]);
}
static void one_size(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_size(fmt, nstar, s1, s2, (size_t)ll_values[i]);
}
static void one_ptrdiff(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_ptrdiff(fmt, nstar, s1, s2, (ptrdiff_t)ll_values[i]);
}

#define INT_CONVS "diouxX"

Test(fmt, renders_int_conversions_like_snprintf)
{
	struct fmt_grid g = {INT_CONVS, "", N_OF(int_values), one_int};
	run_grid(&g);
}

Test(fmt, renders_hh_conversions_truncated_to_char)
{
	struct fmt_grid g = {INT_CONVS, "hh", N_OF(int_values), one_int};
	run_grid(&g);
}

Test(fmt, renders_h_conversions_truncated_to_short)
{
	struct fmt_grid g = {INT_CONVS, "h", N_OF(int_values), one_int};
	run_grid(&g);
}

Test(fmt, renders_l_conversions)
{
	struct fmt_grid g = {INT_CONVS, "l", N_OF(ll_values), one_long};
	run_grid(&g);
}

Test(fmt, renders_ll_conversions)
{
	struct fmt_grid g = {INT_CONVS, "ll", N_OF(ll_values), one_llong};
	run_grid(&g);
}

Test(fmt, renders_j_conversions)
{
	struct fmt_grid g = {INT_CONVS, "j", N_OF(ll_values), one_intmax};
	run_grid(&g);
}

Test(fmt, renders_z_conversions)
{
	struct fmt_grid g = {INT_CONVS, "z", N_OF(ll_values), one_size};
	run_grid(&g);
}

Test(fmt, renders_t_conversions)
{
	struct fmt_grid g = {INT_CONVS, "t", N_OF(ll_values), one_ptrdiff};
	run_grid(&g);
}

static const int char_values[] = {'a', 'Z', ' ', 0, 255, 256 + 'b', -1, 127};

static void one_char(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_int(fmt, nstar, s1, s2, char_values[i]);
}

Test(fmt, renders_char_conversions)
{
	static const char *const lens[] = {"", "h", "hh"};
	for (size_t l = 0; l < N_OF(lens); l++) {
		struct fmt_grid g = {"c", lens[l], N_OF(char_values), one_char};
		run_grid(&g);
	}
}

static double double_values[] = {
	0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, 0.1, 1.0 / 3.0, 123456.789, -987654321.125,
	1e21, 1e-5, 1e300, -1e300, 1e-300, DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324,
	0.0, 0.0, 0.0, 0.0, 0.0, /* NaN, -NaN, inf, -inf, 9.9999 filled in at run time */
};

static void fill_special_doubles(void)
{
	size_t n = N_OF(double_values);
	double_values[n - 5] = NAN;
	double_values[n - 4] = -NAN;
	double_values[n - 3] = INFINITY;
	double_values[n - 2] = -INFINITY;
	double_values[n - 1] = 9.9999999;
}

static void one_double(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_double(fmt, nstar, s1, s2, double_values[i]);
}

static void one_ldouble(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	static const long double extra[] = {LDBL_MAX, LDBL_MIN, 1.0L / 3.0L, -1e4000L, 1e-4000L};
	if (i < N_OF(extra))
		check_ldouble(fmt, nstar, s1, s2, extra[i]);
	check_ldouble(fmt, nstar, s1, s2, (long double)double_values[i]);
}

#define FLOAT_CONVS "fFeEgGaA"

Test(fmt, renders_double_conversions)
{
	fill_special_doubles();
	struct fmt_grid g = {FLOAT_CONVS, "", N_OF(double_values), one_double};
	run_grid(&g);
}

Test(fmt, renders_l_double_conversions_as_double)
{
	fill_special_doubles();
	struct fmt_grid g = {"feg", "l", N_OF(double_values), one_double};
	run_grid(&g);
}

Test(fmt, renders_long_double_conversions)
{
	fill_special_doubles();
	struct fmt_grid g = {FLOAT_CONVS, "L", N_OF(double_values), one_ldouble};
	run_grid(&g);
}

static const char *const str_values[] = {
	"", "a", "hello", "hello, world", "tab\there", "0123456789012345678901234567890123456789", NULL,
};

static void one_str(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	check_str(fmt, nstar, s1, s2, str_values[i]);
}

Test(fmt, renders_string_conversions_including_null)
{
	struct fmt_grid g = {"s", "", N_OF(str_values), one_str};
	run_grid(&g);
}

static int ptr_target;

static void one_ptr(const char *fmt, int nstar, int s1, int s2, size_t i)
{
	void *values[] = {NULL, (void *)1, (void *)(uintptr_t)0xdeadbeef, &ptr_target,
			  (void *)UINTPTR_MAX};
	check_ptr(fmt, nstar, s1, s2, values[i]);
}

Test(fmt, renders_pointer_conversions_including_nil)
{
	struct fmt_grid g = {"p", "", 5, one_ptr};
	run_grid(&g);
}

Test(fmt, renders_percent_percent)
{
	check("%%");
	check("100%%");
	check("%%%d%%", 5);
	check("a%%b%%c%%");
	check("%%s %s %%d", "x");
}

Test(fmt, renders_literal_text_around_conversions)
{
	check("%s", "");
	check("no conversions at all");
	check("x=%d y=%d", 1, 2);
	check("%d%d%d", 1, 2, 3);
	check("[%s] and [%s] tail", "a", "b");
	check("\n\t%c\n", 'q');
}

Test(fmt, renders_edge_integers)
{
	check("%d %d %i", INT_MIN, INT_MAX, INT_MIN);
	check("%lld %lld", (long long)INT64_MIN, (long long)INT64_MAX);
	check("%llu %llx %llo %llX", ULLONG_MAX, ULLONG_MAX, ULLONG_MAX, ULLONG_MAX);
	check("%ld %lu %lx", LONG_MIN, ULONG_MAX, ULONG_MAX);
	check("%jd %ju", INTMAX_MIN, UINTMAX_MAX);
	check("%zd %zu %zx", (ssize_t)-1, SIZE_MAX, SIZE_MAX);
	check("%td %tu", PTRDIFF_MIN, (size_t)PTRDIFF_MAX);
	check("%u %x %o %X", UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX);
	check("%+lld % lld %030lld %-30lld|", (long long)INT64_MIN, (long long)INT64_MIN,
	      (long long)INT64_MIN, (long long)INT64_MIN);
}

Test(fmt, narrows_hh_and_h_like_printf)
{
	/* through check_int: compilers rightly warn about these with literal formats */
	static const struct {
		const char *fmt;
		int v;
	} cases[] = {
		{"%hhd", 300}, {"%hhu", -1}, {"%hd", 70000}, {"%hu", -1}, {"%hhx", -1}, {"%hx", -1},
		{"%hho", -1}, {"%ho", -1}, {"%hhd", 128}, {"%hhd", -129}, {"%hhi", 0x1ff}, {"%hX", 0x12345},
	};
	for (size_t i = 0; i < N_OF(cases); i++)
		check_int(cases[i].fmt, 0, 0, 0, cases[i].v);
	check_int("%*hhd|", 1, 5, 0, 300);
}

Test(fmt, star_width_and_precision_come_from_int_args_in_order)
{
	check("%*d|", 8, 42);
	check("%-*d|", 8, 42);
	check("%*d|", -8, 42);
	check("%.*d|", 5, 42);
	check("%.*d|", -5, 42);
	check("%*.*d|", 10, 4, -42);
	check("%*.*d|", -10, -4, -42);
	check("%*.*f|", 12, 3, 3.14159);
	check("%*.*Lf|", -12, 3, 3.14159L);
	check("%*.*s|", 8, 2, "hello");
	check("%*.*s|", -8, -2, "hello");
	check("%*s|%.*s|%*.*s|", 6, "ab", 1, "xyz", 3, 1, "qq");
	check("%0*d|%0*d|", 6, -3, -6, -3);
	check("%*c|%-*c|", 4, 'x', -4, 'y');
	check("%*p|%-*p|", 20, (void *)0x1234, 20, (void *)NULL);
	check("%.*e %.*g %.*a", 0, 1.5, 10, 1.0 / 3.0, 3, 1.0);
	check("%*lld %*zu %*hhd", 25, (long long)INT64_MIN, 5, (size_t)7, 3, (signed char)-100);
}

Test(fmt, renders_null_strings_like_glibc_for_every_precision)
{
	const char *n = NULL;
	static const char *const fmts[] = {
		"%s", "%.0s", "%.1s", "%.5s", "%.6s", "%.7s", "%10s", "%-10s|", "%10.3s", "%10.6s",
		"%3s", "%.*s", "%*.*s", "%-*.*s|",
	};
	for (size_t i = 0; i < N_OF(fmts); i++) {
		for (int p = -2; p <= 8; p++) {
			if (strstr(fmts[i], "*.*"))
				check_str(fmts[i], 2, 8, p, n);
			else if (strchr(fmts[i], '*'))
				check_str(fmts[i], 1, p, 0, n);
			else
				check_str(fmts[i], 0, 0, 0, n);
		}
	}
}

Test(fmt, renders_special_doubles)
{
	check("%f %F %e %E %g %G %a %A", NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN);
	check("%f %F %e %E %g %G %a %A", -INFINITY, INFINITY, -INFINITY, INFINITY, -INFINITY,
	      INFINITY, -INFINITY, INFINITY);
	check("%f %e %g %a %+f % f", -0.0, -0.0, -0.0, -0.0, -0.0, 0.0);
	check("%010f|%-10f|%+010F", NAN, INFINITY, -INFINITY);
	check("%Lf %Le %Lg %La", (long double)NAN, (long double)-INFINITY, -0.0L, LDBL_MAX);
}

Test(fmt, renders_huge_and_tiny_doubles_longer_than_a_stack_buffer)
{
	check("%f", DBL_MAX);
	check("%.400f", 4.9406564584124654e-324);
	check("%.1100f", 4.9406564584124654e-324);
	check("%Lf", LDBL_MAX);
	check("%.60e %.60a", DBL_MIN, DBL_MIN);
	check("%500d|%-500s|%500.300f", 5, "x", 1.0);
}

Test(fmt, renders_many_arguments_of_every_kind)
{
	int x = 0;
	check("%d %ld %lld %s %f %Lf %p %c %hhu %zu %jd %td %x %o %E %a %G %% %s %.3s %-5d|", -1, 2L,
	      3LL, "four", 5.5, 6.25L, (void *)&x, 'h', (unsigned char)200, (size_t)9, (intmax_t)-10, (ptrdiff_t)11,
	      0xabcU, 8U, 1e-10, 0.75, 1e20, "", "abcdef", 42);
}

Test(fmt, renders_format_that_is_not_nul_terminated)
{
	const char text[] = "v=%d!";
	size_t len = sizeof text - 1;
	char *f = malloc(len); /* exactly len bytes: ASan catches any read past it */
	memcpy(f, text, len);
	struct fmt_parsed pf;
	cr_assert_eq(fmt_parse(&pf, f, len, NULL), 0);
	struct fmt_arg a = {.kind = SHMLOG_ARG_INT32, .v.i32 = 17};
	struct sbuf sb = {0};
	cr_assert_eq(fmt_render(&sb, f, &pf, &a), 0);
	cr_assert_eq(sb.len, 5);
	cr_assert_eq(memcmp(sb.data, "v=17!", 5), 0);
	sbuf_free(&sb);
	free(f);
}

Test(fmt, render_appends_to_existing_buffer)
{
	struct fmt_parsed pf;
	cr_assert_eq(fmt_parse(&pf, "%s", 2, NULL), 0);
	struct fmt_arg a = {.kind = SHMLOG_ARG_STRING, .v.s = {.p = "xyz", .len = 3}};
	struct sbuf sb = {0};
	sbuf_append(&sb, "abc", 3);
	cr_assert_eq(fmt_render(&sb, "%s", &pf, &a), 0);
	cr_assert_eq(sb.len, 6);
	cr_assert_eq(memcmp(sb.data, "abcxyz", 6), 0);
	sbuf_free(&sb);
}

Test(fmt, renders_embedded_nul_from_percent_c)
{
	check("a%cb", 0);
	check("%3c|%-3c|", 0, 0);
}

/* ---- truncated strings -------------------------------------------------- */

/*
 * Render fmt with one string argument stored at max_str, and compare with
 * snprintf of the string cut at max_str followed by the mark.
 */
static void check_truncated(const char *fmt, uint32_t max_str, int nstar, int s1, int s2, const char *s)
{
	size_t got_len;
	char *got;
	if (nstar == 0)
		got = render(max_str, &got_len, fmt, s);
	else if (nstar == 1)
		got = render(max_str, &got_len, fmt, s1, s);
	else
		got = render(max_str, &got_len, fmt, s1, s2, s);

	char expect_arg[256];
	if (s && strlen(s) > max_str)
		snprintf(expect_arg, sizeof expect_arg, "%.*s%s", (int)max_str, s, FMT_TRUNCATED_MARK);
	else
		snprintf(expect_arg, sizeof expect_arg, "%s", s ? s : "");
	const char *e = s ? expect_arg : NULL;

	char want[512];
	int n;
	if (nstar == 0)
		n = snprintf(want, sizeof want, fmt, e);
	else if (nstar == 1)
		n = snprintf(want, sizeof want, fmt, s1, e);
	else
		n = snprintf(want, sizeof want, fmt, s1, s2, e);
	cr_assert(n >= 0 && (size_t)n < sizeof want);
	check_bytes(fmt, got, got_len, want, (size_t)n);
	free(got);
}

Test(fmt, renders_string_longer_than_max_str_with_truncated_mark)
{
	size_t len;
	char *got = render(5, &len, "msg: %s!", "hello world");
	cr_assert_str_eq(got, "msg: hello" FMT_TRUNCATED_MARK "!");
	free(got);

	got = render(5, &len, "%s", "hello");
	cr_assert_str_eq(got, "hello", "a string of exactly max_str bytes is not truncated");
	free(got);
}

Test(fmt, truncated_string_width_and_precision_apply_to_whole)
{
	static const char *const fmts[] = {"%s", "%-s", "%0s", "%30s|", "%-30s|", "%.3s", "%.5s", "%.9s",
					   "%.50s", "%25.8s|", "%-25.8s|", "%3s", "%.0s", "%*s|", "%.*s|",
					   "%*.*s|", "%-*.*s|"};
	static const char *const strs[] = {"", "abc", "abcdef", "abcdefg", "a much longer string", NULL};
	for (size_t f = 0; f < N_OF(fmts); f++) {
		int nstar = (int)(strchr(fmts[f], '*') != NULL) + (int)(strstr(fmts[f], "*.*") != NULL);
		for (size_t s = 0; s < N_OF(strs); s++)
			for (int v = -25; v <= 25; v += 5)
				for (uint32_t max = 0; max <= 8; max += 4) {
					int s1 = v, s2 = v / 2 + 3;
					if (nstar == 1 && strstr(fmts[f], ".*"))
						s1 = v / 2 + 3;
					check_truncated(fmts[f], max, nstar, s1, s2, strs[s]);
				}
	}
}

Test(fmt, renders_truncated_strings_embedded_among_other_arguments)
{
	size_t len;
	char *got = render(4, &len, "[%s|%d|%8.6s|%-20s|%s]", "abcdefgh", 7, "0123456", "xy", "zzzzz");
	char want[256];
	snprintf(want, sizeof want, "[%s|%d|%8.6s|%-20s|%s]", "abcd" FMT_TRUNCATED_MARK, 7,
		 "0123" FMT_TRUNCATED_MARK, "xy", "zzzz" FMT_TRUNCATED_MARK);
	cr_assert_str_eq(got, want);
	free(got);
}

/* ---- limits ------------------------------------------------------------- */

Test(fmt, accepts_max_args_and_refuses_one_more)
{
	char f[256] = "";
	for (unsigned i = 0; i < SHMLOG_MAX_ARGS; i++)
		strcat(f, "%d");
	struct fmt_parsed pf;
	parse_ok(&pf, f);
	cr_assert_eq(pf.n_args, SHMLOG_MAX_ARGS);
	strcat(f, "%d");
	refused(f, "SHMLOG_MAX_ARGS");

	/* '*' arguments count too */
	f[0] = '\0';
	for (unsigned i = 0; i < SHMLOG_MAX_ARGS - 2; i++)
		strcat(f, "%d");
	strcat(f, "%*.*d");
	refused(f, "SHMLOG_MAX_ARGS");
}

Test(fmt, accepts_max_convs_and_refuses_one_more)
{
	char f[512] = "";
	for (unsigned i = 0; i < FMT_MAX_CONVS; i++)
		strcat(f, "%%");
	struct fmt_parsed pf;
	parse_ok(&pf, f);
	cr_assert_eq(pf.n_convs, FMT_MAX_CONVS);
	cr_assert_eq(pf.n_args, 0);
	strcat(f, "%%");
	refused(f, "FMT_MAX_CONVS");
	check("%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"
	      "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%");
}

Test(fmt, clamps_star_width_and_precision_from_untrusted_records)
{
	struct fmt_parsed pf;
	parse_ok(&pf, "%*d");
	struct fmt_arg a[3] = {{.kind = SHMLOG_ARG_INT32, .v.i32 = INT_MIN},
			       {.kind = SHMLOG_ARG_INT32, .v.i32 = 1}};
	struct sbuf sb = {0};
	char *want = malloc(FMT_MAX_WIDTH + 1);
	cr_assert_eq(fmt_render(&sb, "%*d", &pf, a), 0);
	snprintf(want, FMT_MAX_WIDTH + 1, "%-*d", FMT_MAX_WIDTH, 1);
	cr_assert_eq(sb.len, FMT_MAX_WIDTH);
	cr_assert(memcmp(sb.data, want, sb.len) == 0);
	sbuf_reset(&sb);
	parse_ok(&pf, "%.*f");
	a[0].v.i32 = INT_MAX;
	a[1] = (struct fmt_arg){.kind = SHMLOG_ARG_DOUBLE, .v.d = 0.5};
	cr_assert_eq(fmt_render(&sb, "%.*f", &pf, a), 0);
	cr_assert_eq(sb.len, 2 + FMT_MAX_WIDTH, "precision clamped to FMT_MAX_WIDTH");
	sbuf_free(&sb);
	free(want);
}

Test(fmt, refuses_literal_width_above_the_cap)
{
	refused("%65537d", "width");
	refused("%.65537f", "precision");
	check("%65536d|%.30f", 7, 0.25);
}

/* The digit helpers of fmt.c and text.c against snprintf: every power of ten
 * and its neighbours (where the digit count changes), the ends, random bits. */
Test(fmt, digit_helpers_match_snprintf_where_the_count_changes_and_on_random_values)
{
	uint64_t vals[80 + 2000], x = 0x2545f4914f6cdd1dull;
	size_t n = 0;
	vals[n++] = 0;
	vals[n++] = UINT64_MAX;
	for (uint64_t p = 1, k = 0; k < 20; k++, p *= 10) {
		vals[n++] = p - 1;
		vals[n++] = p;
		vals[n++] = p + 1;
	}
	while (n < sizeof vals / sizeof vals[0]) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		vals[n++] = x >> (x % 64); /* every magnitude */
	}
	for (size_t i = 0; i < n; i++) {
		char want[32], got[32];
		int len = snprintf(want, sizeof want, "%llu", (unsigned long long)vals[i]);
		cr_assert_eq(digits_count(vals[i]), len, "digits_count(%s)", want);
		char *end = digits_put(got, vals[i]);
		cr_assert(end - got == len && memcmp(got, want, (size_t)len) == 0, "digits_put(%s)", want);
		char *start = digits_back(got + sizeof got, vals[i]);
		cr_assert(got + sizeof got - start == len && memcmp(start, want, (size_t)len) == 0, "digits_back(%s)", want);
		int w = len + (int)(i % 3); /* exact width, and wider: leading zeros */
		snprintf(want, sizeof want, "%0*llu", w, (unsigned long long)vals[i]);
		start = digits_fixed_back(got + sizeof got, vals[i], w);
		cr_assert(got + sizeof got - start == w && memcmp(start, want, (size_t)w) == 0,
			  "digits_fixed_back(%s, %d)", want, w);
	}
}
