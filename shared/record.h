/*
 * record.h — encoding and decoding of a record's arguments.
 *
 * The layout is specified in abi.h. Encoding runs on the producer's hot path
 * (static inline, driven by the call site's argument kinds and the caller's
 * va_list); decoding runs in the collector and the CLI on bytes they do not
 * trust, so it checks every length against the record's size.
 */
#ifndef SHMLOG_RECORD_H
#define SHMLOG_RECORD_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "abi.h"
#include "fmt.h"
#include "text.h"

/* l, z and t arguments are read as long long: right only where long is 64-bit */
static_assert(sizeof(long) == 8 && sizeof(size_t) == 8 && sizeof(void *) == 8, "LP64 only");

/* String bytes stored for s: its length, SHMLOG_STR_NULL, or max_str with SHMLOG_STR_TRUNCATED. */
static inline uint16_t record_str_len(const char *s, uint32_t max_str)
{
	if (!s)
		return SHMLOG_STR_NULL;
	size_t sl = strnlen(s, (size_t)max_str + 1);
	return sl > max_str ? (uint16_t)(max_str | SHMLOG_STR_TRUNCATED) : (uint16_t)sl;
}

static inline uint32_t record_str_bytes(uint16_t l)
{
	return l == SHMLOG_STR_NULL ? 2u : 2u + (l & SHMLOG_STR_LEN_MASK);
}

/* Write s as a STRING (l: its record_str_len). Returns the end. */
static inline uint8_t *record_put_str(uint8_t *dst, const char *s, uint16_t l)
{
	memcpy(dst, &l, 2);
	dst += 2;
	if (l == SHMLOG_STR_NULL)
		return dst;
	memcpy(dst, s, l & SHMLOG_STR_LEN_MASK);
	return dst + (l & SHMLOG_STR_LEN_MASK);
}

/*
 * Walk a copy of the arguments once: return the bytes they take in a record
 * and store each string argument's stored length (SHMLOG_STR_NULL for NULL,
 * SHMLOG_STR_TRUNCATED set when cut at max_str) in slen[], in order.
 */
static inline uint32_t record_args_size(uint16_t *slen, const uint8_t *kinds, uint32_t n,
					 uint32_t max_str, va_list *ap)
{
	uint32_t size = 0, ns = 0;
	for (uint32_t i = 0; i < n; i++) {
		switch (kinds[i]) {
		case SHMLOG_ARG_INT32: (void)va_arg(*ap, int); size += 4; break;
		case SHMLOG_ARG_INT64: (void)va_arg(*ap, long long); size += 8; break;
		case SHMLOG_ARG_DOUBLE: (void)va_arg(*ap, double); size += 8; break;
		case SHMLOG_ARG_LDOUBLE: (void)va_arg(*ap, long double); size += 16; break;
		case SHMLOG_ARG_POINTER: (void)va_arg(*ap, void *); size += 8; break;
		case SHMLOG_ARG_STRING: {
			slen[ns] = record_str_len(va_arg(*ap, const char *), max_str);
			size += record_str_bytes(slen[ns++]);
			break;
		}
		}
	}
	return size;
}

/*
 * Write the arguments at dst (which has room for what record_args_size
 * returned for the same arguments and slen[]). Returns the end of what was
 * written.
 */
static inline uint8_t *record_args_encode(uint8_t *dst, const uint16_t *slen, const uint8_t *kinds,
					  uint32_t n, va_list *ap)
{
	uint32_t ns = 0;
	for (uint32_t i = 0; i < n; i++) {
		switch (kinds[i]) {
		case SHMLOG_ARG_INT32: {
			int v = va_arg(*ap, int);
			memcpy(dst, &v, 4);
			dst += 4;
			break;
		}
		case SHMLOG_ARG_INT64: {
			long long v = va_arg(*ap, long long);
			memcpy(dst, &v, 8);
			dst += 8;
			break;
		}
		case SHMLOG_ARG_DOUBLE: {
			double v = va_arg(*ap, double);
			memcpy(dst, &v, 8);
			dst += 8;
			break;
		}
		case SHMLOG_ARG_LDOUBLE: {
			long double v = va_arg(*ap, long double);
			uint8_t tmp[16] = {0};
			memcpy(tmp, &v, sizeof v < 16 ? sizeof v : 16);
			/* x87 long double has 6 bytes of unspecified padding */
			if (sizeof v == 16)
				memset(tmp + 10, 0, 6);
			memcpy(dst, tmp, 16);
			dst += 16;
			break;
		}
		case SHMLOG_ARG_POINTER: {
			uint64_t v = (uint64_t)(uintptr_t)va_arg(*ap, void *);
			memcpy(dst, &v, 8);
			dst += 8;
			break;
		}
		case SHMLOG_ARG_STRING: dst = record_put_str(dst, va_arg(*ap, const char *), slen[ns++]); break;
		}
	}
	return dst;
}

/* Skip n arguments passed as the C types types[] (SHMLOG_ARG_* codes of the
 * promoted types): a refused format stores none, yet fields follow them. */
static inline void record_args_skip(const uint8_t *types, uint32_t n, va_list *ap)
{
	for (uint32_t i = 0; i < n; i++) {
		switch (types[i]) {
		case SHMLOG_ARG_INT32: (void)va_arg(*ap, int); break;
		case SHMLOG_ARG_DOUBLE: (void)va_arg(*ap, double); break;
		case SHMLOG_ARG_LDOUBLE: (void)va_arg(*ap, long double); break;
		default: (void)va_arg(*ap, long long); break; /* INT64, POINTER, STRING: one 8-byte slot */
		}
	}
}

/*
 * Field values, passed after the arguments as the macros convert them
 * (long long, unsigned long long, double, int for bool, const char *): walk
 * a copy once, returning the bytes they take and each string's stored length
 * in slen[], in order.
 */
static inline uint32_t record_fields_size(uint16_t *slen, const uint8_t *kinds, uint32_t n, uint32_t max_str,
					   va_list *ap)
{
	uint32_t size = 0, ns = 0;
	for (uint32_t i = 0; i < n; i++) {
		switch (kinds[i]) {
		case SHMLOG_FIELD_I64: (void)va_arg(*ap, long long); size += 8; break;
		case SHMLOG_FIELD_U64: (void)va_arg(*ap, unsigned long long); size += 8; break;
		case SHMLOG_FIELD_F64: (void)va_arg(*ap, double); size += 8; break;
		case SHMLOG_FIELD_BOOL: (void)va_arg(*ap, int); size += 1; break;
		case SHMLOG_FIELD_STRING:
			slen[ns] = record_str_len(va_arg(*ap, const char *), max_str);
			size += record_str_bytes(slen[ns++]);
			break;
		}
	}
	return size;
}

/* Write the field values at dst (room for what record_fields_size returned). Returns the end. */
static inline uint8_t *record_fields_encode(uint8_t *dst, const uint16_t *slen, const uint8_t *kinds, uint32_t n,
					    va_list *ap)
{
	uint32_t ns = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w;
		switch (kinds[i]) {
		case SHMLOG_FIELD_I64: w = (uint64_t)va_arg(*ap, long long); memcpy(dst, &w, 8); dst += 8; break;
		case SHMLOG_FIELD_U64: w = va_arg(*ap, unsigned long long); memcpy(dst, &w, 8); dst += 8; break;
		case SHMLOG_FIELD_F64: {
			double d = va_arg(*ap, double);
			memcpy(dst, &d, 8);
			dst += 8;
			break;
		}
		case SHMLOG_FIELD_BOOL: *dst++ = va_arg(*ap, int) != 0; break;
		case SHMLOG_FIELD_STRING: dst = record_put_str(dst, va_arg(*ap, const char *), slen[ns++]); break;
		}
	}
	return dst;
}

/*
 * Decode one argument of the given kind at p[*off..len) into *a and move
 * *off past it. Strings point into p. Returns 0, or -EINVAL when it overruns
 * len or the kind is unknown.
 */
static inline int record_decode_arg(struct fmt_arg *a, uint8_t kind, const uint8_t *p, size_t len, size_t *off)
{
	size_t need = shmlog_arg_fixed_bytes((enum shmlog_arg_kind)kind);
	a->kind = kind;
	if (need == 0 || len - *off < need)
		return -EINVAL;
	switch (kind) {
	case SHMLOG_ARG_INT32: memcpy(&a->v.i32, p + *off, 4); break;
	case SHMLOG_ARG_INT64: memcpy(&a->v.i64, p + *off, 8); break;
	case SHMLOG_ARG_DOUBLE: memcpy(&a->v.d, p + *off, 8); break;
	case SHMLOG_ARG_LDOUBLE: {
		long double v = 0;
		memcpy(&v, p + *off, sizeof v < 16 ? sizeof v : 16);
		a->v.ld = v;
		break;
	}
	case SHMLOG_ARG_POINTER: memcpy(&a->v.ptr, p + *off, 8); break;
	case SHMLOG_ARG_STRING: {
		uint16_t l;
		memcpy(&l, p + *off, 2);
		*off += 2;
		a->v.s.null = l == SHMLOG_STR_NULL;
		a->v.s.truncated = !a->v.s.null && (l & SHMLOG_STR_TRUNCATED);
		a->v.s.len = a->v.s.null ? 0 : (uint16_t)(l & SHMLOG_STR_LEN_MASK);
		if (len - *off < a->v.s.len)
			return -EINVAL;
		a->v.s.p = (const char *)p + *off;
		*off += a->v.s.len;
		return 0;
	}
	}
	*off += need;
	return 0;
}

/*
 * Decode n arguments of the given kinds from p[0..len) into out[]. Strings
 * point into p. Returns 0, or -EINVAL when the arguments overrun len or a
 * kind is unknown.
 */
int record_decode_args(struct fmt_arg *out, const uint8_t *kinds, uint32_t n, const uint8_t *p,
		       size_t len);

/* As record_decode_args, and *used = the bytes the arguments took. */
int record_decode_args_used(struct fmt_arg *out, const uint8_t *kinds, uint32_t n, const uint8_t *p, size_t len,
			    size_t *used);

/*
 * Decode the values of n fields (out[] already holds each one's key and
 * type, from the site's descriptor) from p[0..len). Strings point into p.
 * Returns 0, or -EINVAL when a value overruns len, a bool is not 0 or 1, or
 * a type is unknown.
 */
int record_decode_fields(struct text_field *out, uint32_t n, const uint8_t *p, size_t len);

#endif
