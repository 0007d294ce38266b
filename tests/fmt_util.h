/*
 * fmt_util.h — what test_fmt.c and test_fmt_float.c share (fmt_util.c):
 * fmt_render() through a real record, checked byte for byte against
 * vsnprintf.
 *
 * Every rendering goes the way a real record goes: parse the format, encode
 * the arguments with record_args_size/record_args_encode into a buffer of
 * exactly the encoded size, decode them with record_decode_args, render with
 * fmt_render.
 */
#ifndef SHMLOG_TESTS_FMT_UTIL_H
#define SHMLOG_TESTS_FMT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define TEST_MAX_STR 4096u

/* fmt with the arguments in ap, rendered; *len gets its length. Returns it malloc'd, NUL-terminated. */
char *render_v(uint32_t max_str, const char *fmt, va_list ap, size_t *len);
char *render(uint32_t max_str, size_t *len, const char *fmt, ...);
/* Assert that got is want, naming fmt. */
void check_bytes(const char *fmt, const char *got, size_t got_len, const char *want, size_t want_len);
/* The core check: fmt_render through a record == vsnprintf, byte for byte. */
__attribute__((format(printf, 1, 2))) void check(const char *fmt, ...);
/* name(fmt, nstar, s1, s2, v): check() of fmt with nstar (0 to 2) '*' ints s1, s2 before v, of type type:
 * one per type, so that generated formats get exactly the type printf expects. */
#define FMT_CHECK_TYPED(name, type)                                      \
	static inline void name(const char *fmt, int nstar, int s1, int s2, type v) \
	{                                                                \
		if (nstar == 0)                                          \
			check(fmt, v);                                   \
		else if (nstar == 1)                                     \
			check(fmt, s1, v);                               \
		else                                                     \
			check(fmt, s1, s2, v);                           \
	}

FMT_CHECK_TYPED(check_double, double)

#endif
