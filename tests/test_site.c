/*
 * test_site.c — call sites made at run time (shmlog_site_register,
 * shmlog_log_values): records rendered from the segment exactly as printf
 * renders the same format and values, fields typed as registered, and every
 * refusal (bad level, refused format, bad fields, counts or types that do
 * not fit) returned as an error with nothing written.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmlog.h>

#include "own_seg.h"

static void setup(void)
{
	own_open((struct shmlog_options){.max_threads = 2, .min_level = SHMLOG_LEVEL_DEBUG});
}

static void teardown(void)
{
	own_close(false);
}

TestSuite(site, .init = setup, .fini = teardown);


static struct shmlog_value vi(long long i) { return (struct shmlog_value){.type = SHMLOG_VALUE_INT, .v.i = i}; }
static struct shmlog_value vd(double d) { return (struct shmlog_value){.type = SHMLOG_VALUE_DOUBLE, .v.d = d}; }
static struct shmlog_value vs(const char *s)
{
	return (struct shmlog_value){.type = SHMLOG_VALUE_STRING, .v.s = {s, s ? strlen(s) : 0}};
}

Test(site, renders_as_printf_renders_the_same_values)
{
	struct shmlog_site *s;
	const char *f = "n=%d big=%lld h=%#llx p=%.3f e=%e g=%G s=%-6s| c=%c w=%*d ld=%Lg";
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, f, "app.py", 7, NULL, 0), 11);
	struct shmlog_value a[] = {vi(-42),   vi(1LL << 40), vi(255), vd(3.14159), vd(1e-9), vd(2.5e300),
				   vs("ab"), vi('Z'),      vi(5), vi(17),   vd(0.1)};
	cr_assert_eq(shmlog_log_values(own_lg, s, a, 11, NULL, 0), 0);
	char want[256];
	snprintf(want, sizeof want, f, -42, 1LL << 40, 255ULL, 3.14159, 1e-9, 2.5e300, "ab", 'Z', 5, 17, (long double)0.1);
	const char *got = own_next_text();
	cr_assert(strstr(got, want), "%s lacks %s", got, want);
	cr_assert(!strncmp(got, "INFO ", 5), "%s", got);
}

Test(site, strings_are_taken_by_length_and_null_prints_as_printf)
{
	struct shmlog_site *s;
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_WARN, "[%s] [%s]", NULL, 0, NULL, 0), 2);
	struct shmlog_value a[] = {{.type = SHMLOG_VALUE_STRING, .v.s = {"abcdef", 3}}, vs(NULL)};
	cr_assert_eq(shmlog_log_values(own_lg, s, a, 2, NULL, 0), 0);
	cr_assert(strstr(own_next_text(), "]: [abc] [(null)]"));
}

Test(site, fields_follow_the_message_typed_as_registered)
{
	struct shmlog_site *s;
	struct shmlog_field_spec fs[] = {{"user", SHMLOG_VALUE_STRING},
					 {"n", SHMLOG_VALUE_INT},
					 {"u", SHMLOG_VALUE_UINT},
					 {"x", SHMLOG_VALUE_DOUBLE},
					 {"ok", SHMLOG_VALUE_BOOL}};
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_ERROR, "login %s", "f.py", 1, fs, 5), 1);
	struct shmlog_value a[] = {vs("bob")};
	struct shmlog_value v[] = {vs("bob"), vi(-3), {.type = SHMLOG_VALUE_UINT, .v.u = UINT64_MAX}, vd(0.5),
				   {.type = SHMLOG_VALUE_BOOL, .v.i = 1}};
	cr_assert_eq(shmlog_log_values(own_lg, s, a, 1, v, 5), 0);
	const char *got = own_next_text();
	cr_assert(strstr(got, "]: login bob user=bob n=-3 u=18446744073709551615 x=0.5 ok=true"), "%s", got);
}

Test(site, below_the_threshold_writes_nothing)
{
	struct shmlog_site *s;
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_TRACE, "t %d", NULL, 0, NULL, 0), 1);
	struct shmlog_value a[] = {vi(1)};
	cr_assert_eq(shmlog_log_values(own_lg, s, a, 1, NULL, 0), 0);
	cr_assert_eq(own_records_left(), 0);
}

Test(site, refuses_bad_sites)
{
	struct shmlog_site *s = (struct shmlog_site *)1;
	cr_assert_eq(shmlog_site_register(own_lg, &s, 0, "x", NULL, 0, NULL, 0), -EINVAL);
	cr_assert_null(s);
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_OFF, "x", NULL, 0, NULL, 0), -EINVAL);
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, NULL, NULL, 0, NULL, 0), -EINVAL);
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "%n", NULL, 0, NULL, 0), -EINVAL);
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "%1$d", NULL, 0, NULL, 0), -EINVAL);
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "%y", NULL, 0, NULL, 0), -EINVAL);
	struct shmlog_field_spec bad_type[] = {{"k", 9}}, empty_key[] = {{"", SHMLOG_VALUE_INT}};
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "x", NULL, 0, bad_type, 1), -EINVAL);
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "x", NULL, 0, empty_key, 1), -EINVAL);
	struct shmlog_field_spec many[17];
	for (int i = 0; i < 17; i++)
		many[i] = (struct shmlog_field_spec){"k", SHMLOG_VALUE_INT};
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "x", NULL, 0, many, 17), -EINVAL);
	cr_assert_eq(own_records_left(), 0);
}

Test(site, refuses_values_that_do_not_fit_and_writes_nothing)
{
	struct shmlog_site *s;
	struct shmlog_field_spec fs[] = {{"k", SHMLOG_VALUE_INT}};
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "%d %f %s", NULL, 0, fs, 1), 3);
	struct shmlog_value good[] = {vi(1), vd(2), vs("x")}, k[] = {vi(1)}, kd[] = {vd(1)};
	struct shmlog_value str_for_d[] = {vs("1"), vd(2), vs("x")}, int_for_f[] = {vi(1), vi(2), vs("x")};
	cr_assert_eq(shmlog_log_values(own_lg, s, good, 2, k, 1), -EINVAL);
	cr_assert_eq(shmlog_log_values(own_lg, s, good, 3, k, 0), -EINVAL);
	cr_assert_eq(shmlog_log_values(own_lg, s, str_for_d, 3, k, 1), -EINVAL);
	cr_assert_eq(shmlog_log_values(own_lg, s, int_for_f, 3, k, 1), -EINVAL);
	cr_assert_eq(shmlog_log_values(own_lg, s, good, 3, kd, 1), -EINVAL);
	cr_assert_eq(shmlog_log_values(own_lg, s, NULL, 3, k, 1), -EINVAL);
	cr_assert_eq(own_records_left(), 0);
	cr_assert_eq(shmlog_log_values(own_lg, s, good, 3, k, 1), 0);
	cr_assert(strstr(own_next_text(), "]: 1 2.000000 x k=1"));
}

Test(site, a_record_longer_than_half_a_ring_is_dropped_and_counted)
{
	own_close(true);
	own_open((struct shmlog_options){.ring_bytes = 4096, .max_threads = 1});
	struct shmlog_site *s;
	cr_assert_eq(shmlog_site_register(own_lg, &s, SHMLOG_LEVEL_INFO, "%s %s %s", NULL, 0, NULL, 0), 3);
	char big[1001];
	memset(big, 'a', 1000);
	big[1000] = 0;
	struct shmlog_value a[] = {vs(big), vs(big), vs(big)};
	cr_assert_eq(shmlog_log_values(own_lg, s, a, 3, NULL, 0), -ENOBUFS);
	struct shmlog_stats st;
	shmlog_get_stats(own_lg, &st);
	cr_assert_eq(st.lost, 1);
}
