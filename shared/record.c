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
	size_t used;
	return record_decode_args_used(out, kinds, n, p, len, &used);
}

int record_decode_args_used(struct fmt_arg *out, const uint8_t *kinds, uint32_t n, const uint8_t *p, size_t len,
			    size_t *used)
{
	size_t off = 0;
	for (uint32_t i = 0; i < n; i++)
		if (record_decode_arg(&out[i], kinds[i], p, len, &off) < 0)
			return -EINVAL;
	*used = off;
	return 0;
}

/* A string value: u16 length code, then the bytes, within p[*off..len). */
static int decode_field_str(struct text_field *f, const uint8_t *p, size_t len, size_t *off)
{
	uint16_t l;
	memcpy(&l, p + *off, 2);
	*off += 2;
	f->null = l == SHMLOG_STR_NULL;
	f->truncated = !f->null && (l & SHMLOG_STR_TRUNCATED);
	f->v.s.len = f->null ? 0 : (uint32_t)(l & SHMLOG_STR_LEN_MASK);
	if (len - *off < f->v.s.len)
		return -EINVAL;
	f->v.s.p = (const char *)p + *off;
	*off += f->v.s.len;
	return 0;
}

int record_decode_fields(struct text_field *out, uint32_t n, const uint8_t *p, size_t len)
{
	size_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct text_field *f = &out[i];
		size_t need = shmlog_field_fixed_bytes(f->type);
		if (need == 0 || len - off < need)
			return -EINVAL;
		f->null = f->truncated = false;
		switch (f->type) {
		case SHMLOG_FIELD_I64: memcpy(&f->v.i, p + off, 8); break;
		case SHMLOG_FIELD_U64: memcpy(&f->v.u, p + off, 8); break;
		case SHMLOG_FIELD_F64: memcpy(&f->v.d, p + off, 8); break;
		case SHMLOG_FIELD_BOOL:
			if (p[off] > 1)
				return -EINVAL;
			f->v.b = p[off] == 1;
			break;
		case SHMLOG_FIELD_STRING:
			if (decode_field_str(f, p, len, &off) < 0)
				return -EINVAL;
			continue;
		}
		off += need;
	}
	return 0;
}
