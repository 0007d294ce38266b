/*
 * record.c — decoding a record's arguments from untrusted bytes.
 *
 * Every read is checked against the record's length first; nothing here
 * trusts a length the producer wrote.
 */
#include "record.h"

#include <errno.h>

int record_decode_args(struct fmt_arg *out, const uint8_t *kinds, uint32_t n, const uint8_t *p,
		       size_t len)
{
	size_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct fmt_arg *a = &out[i];
		a->kind = kinds[i];
		size_t need = shmlog_arg_fixed_bytes((enum shmlog_arg_kind)kinds[i]);
		if (need == 0 || len - off < need)
			return -EINVAL;
		switch (kinds[i]) {
		case SHMLOG_ARG_INT32: memcpy(&a->v.i32, p + off, 4); break;
		case SHMLOG_ARG_INT64: memcpy(&a->v.i64, p + off, 8); break;
		case SHMLOG_ARG_DOUBLE: memcpy(&a->v.d, p + off, 8); break;
		case SHMLOG_ARG_LDOUBLE: {
			long double v = 0;
			memcpy(&v, p + off, sizeof v < 16 ? sizeof v : 16);
			a->v.ld = v;
			break;
		}
		case SHMLOG_ARG_POINTER: memcpy(&a->v.ptr, p + off, 8); break;
		case SHMLOG_ARG_STRING: {
			uint16_t l;
			memcpy(&l, p + off, 2);
			off += 2;
			a->v.s.null = l == SHMLOG_STR_NULL;
			a->v.s.truncated = !a->v.s.null && (l & SHMLOG_STR_TRUNCATED);
			a->v.s.len = a->v.s.null ? 0 : (uint16_t)(l & SHMLOG_STR_LEN_MASK);
			if (len - off < a->v.s.len)
				return -EINVAL;
			a->v.s.p = (const char *)p + off;
			off += a->v.s.len;
			continue;
		}
		}
		off += need;
	}
	return 0;
}
