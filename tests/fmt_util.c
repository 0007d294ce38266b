/*
 * fmt_util.c — rendering through a real record and comparing with glibc,
 * for test_fmt.c and test_fmt_float.c (fmt_util.h).
 */
#include "tests/fmt_util.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/fmt.h"
#include "shared/record.h"

/*
 * Render fmt with the arguments in ap through a real record; *len gets the
 * output length. Returns the malloc'd output (NUL-terminated for display).
 */
char *render_v(uint32_t max_str, const char *fmt, va_list ap, size_t *len)
{
	struct fmt_parsed pf;
	const char *err = NULL;
	int r = fmt_parse(&pf, fmt, strlen(fmt), &err);
	cr_assert_eq(r, 0, "fmt_parse(\"%s\") = %d (%s)", fmt, r, err ? err : "");

	va_list a1, a2;
	uint16_t slen[SHMLOG_MAX_ARGS];
	va_copy(a1, ap);
	uint32_t size = record_args_size(slen, pf.kinds, pf.n_args, max_str, &a1);
	va_end(a1);
	uint8_t *rec = malloc(size ? size : 1);
	cr_assert_not_null(rec);
	va_copy(a2, ap);
	uint8_t *end = record_args_encode(rec, slen, pf.kinds, pf.n_args, &a2);
	va_end(a2);
	cr_assert_eq((size_t)(end - rec), size, "encoded size mismatch for \"%s\"", fmt);

	struct fmt_arg args[SHMLOG_MAX_ARGS];
	r = record_decode_args(args, pf.kinds, pf.n_args, rec, size);
	cr_assert_eq(r, 0, "record_decode_args for \"%s\" = %d", fmt, r);

	struct sbuf sb = {0};
	r = fmt_render(&sb, fmt, &pf, args);
	cr_assert_eq(r, 0, "fmt_render(\"%s\") = %d", fmt, r);
	free(rec);

	char *outp = malloc(sb.len + 1);
	cr_assert_not_null(outp);
	if (sb.len)
		memcpy(outp, sb.data, sb.len);
	outp[sb.len] = '\0';
	*len = sb.len;
	sbuf_free(&sb);
	return outp;
}

char *render(uint32_t max_str, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = render_v(max_str, fmt, ap, len);
	va_end(ap);
	return s;
}

void check_bytes(const char *fmt, const char *got, size_t got_len, const char *want,
			size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		cr_assert_fail("format \"%s\": fmt_render gave [%.*s] (%zu bytes), snprintf [%.*s] (%zu bytes)",
			       fmt, (int)got_len, got, got_len, (int)want_len, want, want_len);
}

/* The core check: fmt_render through a record == vsnprintf, byte for byte. */
void check(const char *fmt, ...)
{
	va_list ap, cp;
	va_start(ap, fmt);
	va_copy(cp, ap);
	size_t got_len;
	char *got = render_v(TEST_MAX_STR, fmt, ap, &got_len);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	cr_assert_geq(n, 0, "vsnprintf(\"%s\") failed", fmt);
	char *want = malloc((size_t)n + 1);
	va_copy(cp, ap);
	vsnprintf(want, (size_t)n + 1, fmt, cp);
	va_end(cp);
	va_end(ap);
	check_bytes(fmt, got, got_len, want, (size_t)n);
	free(got);
	free(want);
}
