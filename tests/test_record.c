/*
 * test_record.c — encoding and decoding of record arguments.
 *
 * The collector decodes bytes it cannot trust, so the important property is
 * that record_decode_args() refuses anything short or malformed without
 * reading a byte past the length it was given. Buffers here are malloc'd to
 * exactly the length under test, so AddressSanitizer turns any over-read
 * into a crash.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/abi.h"
#include "shared/fmt.h"
#include "shared/record.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct encoded {
	uint8_t *p;
	uint32_t size;
};

/* Encode the arguments for kinds[0..n) exactly as the producer does. */
static struct encoded encode(const uint8_t *kinds, uint32_t n, uint32_t max_str, ...)
{
	va_list ap, a1;
	uint16_t slen[SHMLOG_MAX_ARGS];
	va_start(ap, max_str);
	va_copy(a1, ap);
	struct encoded e;
	e.size = record_args_size(slen, kinds, n, max_str, &a1);
	va_end(a1);
	e.p = malloc(e.size ? e.size : 1);
	cr_assert_not_null(e.p);
	uint8_t *end = record_args_encode(e.p, slen, kinds, n, &ap);
	va_end(ap);
	cr_assert_eq((size_t)(end - e.p), e.size, "record_args_encode wrote what record_args_size counted");
	return e;
}

/* Decode a copy of the first len bytes of e, held in a buffer of exactly len bytes. */
static int decode_prefix(struct fmt_arg *out, const uint8_t *kinds, uint32_t n, const struct encoded *e,
			 size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	if (len)
		memcpy(copy, e->p, len);
	int r = record_decode_args(out, kinds, n, copy, len);
	free(copy);
	return r;
}

/* Every cut shorter than the encoding is refused; the whole encoding decodes. */
static void assert_every_cut_refused(const uint8_t *kinds, uint32_t n, const struct encoded *e)
{
	struct fmt_arg out[SHMLOG_MAX_ARGS];
	for (size_t cut = 0; cut < e->size; cut++) {
		int r = decode_prefix(out, kinds, n, e, cut);
		cr_assert_eq(r, -EINVAL, "cut at %zu of %u bytes decoded with %d", cut, e->size, r);
	}
	cr_assert_eq(decode_prefix(out, kinds, n, e, e->size), 0);
}

Test(record, refuses_truncated_int32)
{
	const uint8_t k[] = {SHMLOG_ARG_INT32};
	struct encoded e = encode(k, 1, 64, -7);
	cr_assert_eq(e.size, 4);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);
}

Test(record, refuses_truncated_int64)
{
	const uint8_t k[] = {SHMLOG_ARG_INT64};
	struct encoded e = encode(k, 1, 64, (long long)INT64_MIN);
	cr_assert_eq(e.size, 8);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);
}

Test(record, refuses_truncated_double)
{
	const uint8_t k[] = {SHMLOG_ARG_DOUBLE};
	struct encoded e = encode(k, 1, 64, 3.5);
	cr_assert_eq(e.size, 8);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);
}

Test(record, refuses_truncated_long_double)
{
	const uint8_t k[] = {SHMLOG_ARG_LDOUBLE};
	struct encoded e = encode(k, 1, 64, 1.25L);
	cr_assert_eq(e.size, 16);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);
}

Test(record, refuses_truncated_pointer)
{
	const uint8_t k[] = {SHMLOG_ARG_POINTER};
	static int target;
	struct encoded e = encode(k, 1, 64, (void *)&target);
	cr_assert_eq(e.size, 8);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);
}

Test(record, refuses_truncated_string)
{
	const uint8_t k[] = {SHMLOG_ARG_STRING};
	struct encoded e = encode(k, 1, 64, "hello");
	cr_assert_eq(e.size, 2 + 5);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);
}

Test(record, refuses_truncated_null_and_cut_strings)
{
	const uint8_t k[] = {SHMLOG_ARG_STRING};
	struct encoded e = encode(k, 1, 64, (const char *)NULL);
	cr_assert_eq(e.size, 2);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);

	e = encode(k, 1, 3, "longer than three");
	cr_assert_eq(e.size, 2 + 3);
	assert_every_cut_refused(k, 1, &e);
	free(e.p);
}

Test(record, refuses_every_cut_of_a_record_with_every_kind)
{
	const uint8_t k[] = {SHMLOG_ARG_INT32, SHMLOG_ARG_STRING, SHMLOG_ARG_INT64, SHMLOG_ARG_STRING,
			     SHMLOG_ARG_DOUBLE, SHMLOG_ARG_LDOUBLE, SHMLOG_ARG_STRING, SHMLOG_ARG_POINTER,
			     SHMLOG_ARG_STRING, SHMLOG_ARG_INT32};
	struct encoded e = encode(k, N_OF(k), 8, 1, "abc", 2LL, (const char *)NULL, 3.0, 4.0L,
				  "cut at eight bytes", (void *)NULL, "", 5);
	cr_assert_eq(e.size, 4 + 5 + 8 + 2 + 8 + 16 + 10 + 8 + 2 + 4);
	assert_every_cut_refused(k, N_OF(k), &e);
	free(e.p);
}

Test(record, round_trips_every_kind)
{
	const uint8_t k[] = {SHMLOG_ARG_INT32, SHMLOG_ARG_INT64, SHMLOG_ARG_DOUBLE, SHMLOG_ARG_LDOUBLE,
			     SHMLOG_ARG_POINTER, SHMLOG_ARG_STRING};
	int x;
	struct encoded e = encode(k, N_OF(k), 64, INT_MIN, (long long)INT64_MIN, -0.5, LDBL_MAX,
				  (void *)&x, "text");
	struct fmt_arg out[N_OF(k)];
	cr_assert_eq(record_decode_args(out, k, N_OF(k), e.p, e.size), 0);
	for (size_t i = 0; i < N_OF(k); i++)
		cr_assert_eq(out[i].kind, k[i]);
	cr_assert_eq(out[0].v.i32, INT_MIN);
	cr_assert_eq(out[1].v.i64, INT64_MIN);
	cr_assert_eq(out[2].v.d, -0.5);
	cr_assert(out[3].v.ld == LDBL_MAX);
	cr_assert_eq(out[4].v.ptr, (uint64_t)(uintptr_t)&x);
	cr_assert_eq(out[5].v.s.len, 4);
	cr_assert_eq(memcmp(out[5].v.s.p, "text", 4), 0);
	cr_assert(!out[5].v.s.null);
	cr_assert(!out[5].v.s.truncated);
	free(e.p);
}

Test(record, null_string_flag_round_trips)
{
	const uint8_t k[] = {SHMLOG_ARG_STRING, SHMLOG_ARG_STRING};
	struct encoded e = encode(k, 2, 64, (const char *)NULL, "");
	struct fmt_arg out[2];
	cr_assert_eq(record_decode_args(out, k, 2, e.p, e.size), 0);
	cr_assert(out[0].v.s.null);
	cr_assert(!out[0].v.s.truncated);
	cr_assert_eq(out[0].v.s.len, 0);
	cr_assert(!out[1].v.s.null, "an empty string is not NULL");
	cr_assert(!out[1].v.s.truncated);
	cr_assert_eq(out[1].v.s.len, 0);
	free(e.p);
}

Test(record, truncated_string_flag_round_trips)
{
	const uint8_t k[] = {SHMLOG_ARG_STRING, SHMLOG_ARG_STRING, SHMLOG_ARG_STRING};
	struct encoded e = encode(k, 3, 5, "abcdefgh", "abcde", "abcdef");
	struct fmt_arg out[3];
	cr_assert_eq(record_decode_args(out, k, 3, e.p, e.size), 0);
	cr_assert(out[0].v.s.truncated);
	cr_assert(!out[0].v.s.null);
	cr_assert_eq(out[0].v.s.len, 5);
	cr_assert_eq(memcmp(out[0].v.s.p, "abcde", 5), 0);
	cr_assert(!out[1].v.s.truncated, "exactly max_str bytes is not truncated");
	cr_assert_eq(out[1].v.s.len, 5);
	cr_assert(out[2].v.s.truncated, "one byte over max_str is truncated");
	cr_assert_eq(out[2].v.s.len, 5);
	free(e.p);
}

Test(record, truncated_string_at_max_string_max_round_trips)
{
	size_t n = SHMLOG_MAX_STRING_MAX + 10;
	char *s = malloc(n + 1);
	memset(s, 'q', n);
	s[n] = '\0';
	const uint8_t k[] = {SHMLOG_ARG_STRING};
	struct encoded e = encode(k, 1, SHMLOG_MAX_STRING_MAX, s);
	struct fmt_arg out[1];
	cr_assert_eq(record_decode_args(out, k, 1, e.p, e.size), 0);
	cr_assert(out[0].v.s.truncated);
	cr_assert(!out[0].v.s.null);
	cr_assert_eq(out[0].v.s.len, SHMLOG_MAX_STRING_MAX);
	free(e.p);
	free(s);
}

Test(record, refuses_unknown_kinds)
{
	static const uint8_t bad[] = {0, 7, 8, 100, 255};
	uint8_t bytes[64] = {0};
	for (size_t i = 0; i < N_OF(bad); i++) {
		struct fmt_arg out[2];
		uint8_t k1[] = {bad[i]};
		cr_assert_eq(record_decode_args(out, k1, 1, bytes, sizeof bytes), -EINVAL, "kind %u", bad[i]);
		uint8_t k2[] = {SHMLOG_ARG_INT32, bad[i]};
		cr_assert_eq(record_decode_args(out, k2, 2, bytes, sizeof bytes), -EINVAL,
			     "kind %u after a valid one", bad[i]);
	}
}

Test(record, refuses_string_length_beyond_the_record)
{
	/* a hostile length prefix: 0x7fff bytes claimed, 4 present */
	uint16_t l = SHMLOG_STR_LEN_MASK;
	uint8_t *p = malloc(6);
	memcpy(p, &l, 2);
	memcpy(p + 2, "abcd", 4);
	const uint8_t k[] = {SHMLOG_ARG_STRING};
	struct fmt_arg out[1];
	cr_assert_eq(record_decode_args(out, k, 1, p, 6), -EINVAL);

	l = SHMLOG_STR_TRUNCATED | 5; /* truncated flag with a stored length one too long */
	memcpy(p, &l, 2);
	cr_assert_eq(record_decode_args(out, k, 1, p, 6), -EINVAL);

	l = SHMLOG_STR_TRUNCATED | 4;
	memcpy(p, &l, 2);
	cr_assert_eq(record_decode_args(out, k, 1, p, 6), 0);
	cr_assert(out[0].v.s.truncated);
	cr_assert_eq(out[0].v.s.len, 4);
	free(p);
}

Test(record, decodes_zero_arguments_from_an_empty_record)
{
	struct fmt_arg out[1];
	static const uint8_t none[1];
	cr_assert_eq(record_decode_args(out, NULL, 0, none, 0), 0);
}

Test(record, ignores_trailing_bytes_after_the_arguments)
{
	/* records are padded to 8 bytes, so the args may end before the record does */
	const uint8_t k[] = {SHMLOG_ARG_INT32};
	uint8_t bytes[8] = {1, 0, 0, 0, 0xee, 0xee, 0xee, 0xee};
	struct fmt_arg out[1];
	cr_assert_eq(record_decode_args(out, k, 1, bytes, sizeof bytes), 0);
	cr_assert_eq(out[0].v.i32, 1);
}
