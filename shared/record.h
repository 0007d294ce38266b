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

/* The same for a string of known length len. */
static inline uint16_t record_strn_len(const char *s, size_t len, uint32_t max_str)
{
	if (!s)
		return SHMLOG_STR_NULL;
	return len > max_str ? (uint16_t)(max_str | SHMLOG_STR_TRUNCATED) : (uint16_t)len;
}

/*
 * One argument or field value on its way into a record. Both ways into a
 * record fill these: the general log path reads them from its va_list
 * (record_arg_read, record_field_read), a binding's call (shmlog_log_values)
 * converts its typed values; then record_put_arg and record_put_field are
 * the one encoder of every kind.
 */
struct record_value {
	union {
		uint64_t w;     /* INT32 (its low 32 bits), INT64, POINTER; field I64, U64, BOOL (0 or 1) */
		double d;       /* DOUBLE, field F64 */
		uint8_t ld[16]; /* LDOUBLE: the in-memory long double, its padding zeroed */
		const char *s;  /* STRING (argument or field); NULL prints as printf prints it */
	} v;
	uint16_t slen;          /* STRING: the stored length code (record_str_len, record_strn_len) */
};

/* A long double's 16 record bytes. */
static inline void record_ld_bytes(uint8_t out[16], long double x)
{
	memset(out, 0, 16);
	memcpy(out, &x, sizeof x < 16 ? sizeof x : 16);
	/* x87 long double has 6 bytes of unspecified padding */
	if (sizeof x == 16)
		memset(out + 10, 0, 6);
}

/* Read one argument of the format's kind from ap, as C passes it. */
static inline void record_arg_read(struct record_value *out, uint8_t kind, uint32_t max_str, va_list *ap)
{
	switch (kind) {
	case SHMLOG_ARG_INT32: out->v.w = (uint32_t)va_arg(*ap, int); break;
	case SHMLOG_ARG_INT64: out->v.w = (uint64_t)va_arg(*ap, long long); break;
	case SHMLOG_ARG_DOUBLE: out->v.d = va_arg(*ap, double); break;
	case SHMLOG_ARG_LDOUBLE: record_ld_bytes(out->v.ld, va_arg(*ap, long double)); break;
	case SHMLOG_ARG_POINTER: out->v.w = (uint64_t)(uintptr_t)va_arg(*ap, void *); break;
	case SHMLOG_ARG_STRING:
		out->v.s = va_arg(*ap, const char *);
		out->slen = record_str_len(out->v.s, max_str);
		break;
	}
}

/* Read one field value from ap, passed as the macros convert it (long long,
 * unsigned long long, double, int for bool, const char *). */
static inline void record_field_read(struct record_value *out, uint8_t kind, uint32_t max_str, va_list *ap)
{
	switch (kind) {
	case SHMLOG_FIELD_I64: out->v.w = (uint64_t)va_arg(*ap, long long); break;
	case SHMLOG_FIELD_U64: out->v.w = va_arg(*ap, unsigned long long); break;
	case SHMLOG_FIELD_F64: out->v.d = va_arg(*ap, double); break;
	case SHMLOG_FIELD_BOOL: out->v.w = va_arg(*ap, int) != 0; break;
	case SHMLOG_FIELD_STRING:
		out->v.s = va_arg(*ap, const char *);
		out->slen = record_str_len(out->v.s, max_str);
		break;
	}
}

/* Bytes v takes in a record as an argument of this kind / a field of this kind. */
static inline uint32_t record_arg_bytes(uint8_t kind, const struct record_value *v)
{
	return kind == SHMLOG_ARG_STRING ? record_str_bytes(v->slen) : shmlog_arg_fixed_bytes((enum shmlog_arg_kind)kind);
}

static inline uint32_t record_field_bytes(uint8_t kind, const struct record_value *v)
{
	return kind == SHMLOG_FIELD_STRING ? record_str_bytes(v->slen) : shmlog_field_fixed_bytes(kind);
}

/* Write v as an argument of this kind at dst. Returns the end. */
static inline uint8_t *record_put_arg(uint8_t *dst, uint8_t kind, const struct record_value *v)
{
	switch (kind) {
	case SHMLOG_ARG_INT32: {
		uint32_t x = (uint32_t)v->v.w;
		memcpy(dst, &x, 4);
		return dst + 4;
	}
	case SHMLOG_ARG_INT64:
	case SHMLOG_ARG_POINTER: memcpy(dst, &v->v.w, 8); return dst + 8;
	case SHMLOG_ARG_DOUBLE: memcpy(dst, &v->v.d, 8); return dst + 8;
	case SHMLOG_ARG_LDOUBLE: memcpy(dst, v->v.ld, 16); return dst + 16;
	case SHMLOG_ARG_STRING: return record_put_str(dst, v->v.s, v->slen);
	}
	return dst;
}

/* Write v as a field value of this kind at dst. Returns the end. */
static inline uint8_t *record_put_field(uint8_t *dst, uint8_t kind, const struct record_value *v)
{
	switch (kind) {
	case SHMLOG_FIELD_I64:
	case SHMLOG_FIELD_U64: memcpy(dst, &v->v.w, 8); return dst + 8;
	case SHMLOG_FIELD_F64: memcpy(dst, &v->v.d, 8); return dst + 8;
	case SHMLOG_FIELD_BOOL: *dst = v->v.w != 0; return dst + 1;
	case SHMLOG_FIELD_STRING: return record_put_str(dst, v->v.s, v->slen);
	}
	return dst;
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
		struct record_value v;
		record_arg_read(&v, kinds[i], max_str, ap);
		if (kinds[i] == SHMLOG_ARG_STRING)
			slen[ns++] = v.slen;
		size += record_arg_bytes(kinds[i], &v);
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
		struct record_value v;
		record_arg_read(&v, kinds[i], SHMLOG_MAX_STRING_MAX, ap);
		if (kinds[i] == SHMLOG_ARG_STRING)
			v.slen = slen[ns++];
		dst = record_put_arg(dst, kinds[i], &v);
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
