/*
 * binlog.c — writing and reading the units of a binary log (binlog.h).
 *
 * The writer side appends one unit at a time to a buffer; it never renders
 * a message. The reader side turns a unit back into the struct text_record
 * the collector had: a RECORD goes through seg_decode_site(), the very code
 * that decoded it from the ring, with a call site rebuilt from its SITE
 * frame by the same parsers (fmt_parse, seg_site_fields), so text_append()
 * then writes the bytes the text and JSON writers wrote. A reader trusts
 * nothing in the file: every length is checked against the unit and the
 * unit against what is there.
 */
#include "binlog.h"
#include "binlog_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int binlog_put_header(struct sbuf *out, uint64_t created_ns)
{
	if (sbuf_reserve(out, BINLOG_HEADER_BYTES) != 0)
		return -ENOMEM;
	uint8_t *p = put_bytes((uint8_t *)out->data + out->len, BINLOG_MAGIC, BINLOG_MAGIC_BYTES);
	p = put_u16(p, BINLOG_VERSION_MAJOR);
	p = put_u16(p, BINLOG_VERSION_MINOR);
	p = put_u32(p, BINLOG_HEADER_BYTES);
	put_u64(p, created_ns);
	out->len += BINLOG_HEADER_BYTES;
	return 0;
}

int binlog_put_session(struct sbuf *out, uint32_t pid, uint64_t start_ns)
{
	uint8_t *p = frame_open(out, BINLOG_SESSION_BYTES, BINLOG_SESSION, 0);
	if (!p)
		return -ENOMEM;
	p = put_u32(p, pid);
	p = put_u32(p, 0);
	put_u64(p, start_ns);
	out->len += BINLOG_SESSION_BYTES;
	return 0;
}

size_t binlog_fdesc_bytes(const struct seg_site *st)
{
	size_t n = st->n_fields ? 1 : 0;
	for (uint32_t i = 0; i < st->n_fields; i++)
		n += 2u + st->fields[i].key_len;
	return n;
}

int binlog_put_site(struct sbuf *out, uint32_t id, const struct seg_site *st)
{
	size_t fd_len = binlog_fdesc_bytes(st), size = BINLOG_SITE_BYTES + st->fmt_len + st->file_len + fd_len;
	uint8_t *p = frame_open(out, size, BINLOG_SITE, 0);
	if (!p)
		return -ENOMEM;
	p = put_u32(p, id);
	p = binlog_put_site_head(p, st, fd_len);
	binlog_put_site_strings(p, st);
	out->len += size;
	return 0;
}

uint8_t *binlog_put_site_head(uint8_t *p, const struct seg_site *st, size_t fd_len)
{
	*p++ = (uint8_t)st->level;
	*p++ = (uint8_t)st->n_fields;
	p = put_u16(p, 0);
	p = put_u32(p, st->line);
	p = put_u32(p, st->fmt_len);
	p = put_u32(p, st->file_len);
	return put_u32(p, (uint32_t)fd_len);
}

uint8_t *binlog_put_site_strings(uint8_t *p, const struct seg_site *st)
{
	p = put_bytes(p, st->fmt, st->fmt_len);
	p = put_bytes(p, st->file, st->file_len);
	if (st->n_fields)
		*p++ = (uint8_t)st->n_fields;
	for (uint32_t i = 0; i < st->n_fields; i++) {
		*p++ = st->fields[i].type;
		*p++ = (uint8_t)st->fields[i].key_len;
		p = put_bytes(p, st->fields[i].key, st->fields[i].key_len);
	}
	return p;
}

int binlog_put_source(struct sbuf *out, uint32_t id, uint32_t pid, uint32_t tid, const char *name,
		      size_t name_len)
{
	size_t size = BINLOG_SOURCE_BYTES + name_len;
	uint8_t *p = frame_open(out, size, BINLOG_SOURCE, 0);
	if (!p)
		return -ENOMEM;
	p = put_u32(p, id);
	p = put_u32(p, pid);
	p = put_u32(p, tid);
	p = put_u32(p, (uint32_t)name_len);
	put_bytes(p, name, name_len);
	out->len += size;
	return 0;
}

int binlog_put_record(struct sbuf *out, uint32_t site, uint32_t source, const struct text_record *tr)
{
	const struct text_msg *m = tr->lazy;
	size_t size = BINLOG_RECORD_BYTES + m->raw_args_len;
	uint8_t *p = frame_open(out, size, BINLOG_RECORD, tr->consumed ? BINLOG_FLAG_CONSUMED : 0);
	if (!p)
		return -ENOMEM;
	p = put_u32(p, site);
	p = put_u32(p, source);
	p = put_u64(p, tr->ts_ns);
	put_bytes(p, m->raw_args, m->raw_args_len);
	out->len += size;
	return 0;
}

/* A field's value bytes in a TEXT frame. */
static size_t field_value_bytes(const struct text_field *f)
{
	return f->type == TEXT_FIELD_STR ? (f->null ? 0 : f->v.s.len) : 8;
}

static uint8_t *put_field(uint8_t *p, const struct text_field *f)
{
	*p++ = f->type;
	*p++ = (uint8_t)((f->null ? BINLOG_FIELD_NULL : 0) | (f->truncated ? BINLOG_FIELD_TRUNCATED : 0));
	p = put_u16(p, (uint16_t)f->key_len);
	p = put_u32(p, (uint32_t)field_value_bytes(f));
	p = put_bytes(p, f->key, f->key_len);
	switch (f->type) {
	case TEXT_FIELD_STR:
		return put_bytes(p, f->v.s.p, field_value_bytes(f));
	case TEXT_FIELD_F64: {
		uint64_t bits;
		memcpy(&bits, &f->v.d, 8);
		return put_u64(p, bits);
	}
	case TEXT_FIELD_BOOL:
		return put_u64(p, f->v.b);
	default:
		return put_u64(p, f->v.u);
	}
}

int binlog_put_text(struct sbuf *out, uint32_t source, const struct text_record *tr)
{
	size_t msg_len, file_len = tr->file ? tr->file_len : 0;
	const char *msg = text_record_msg(tr, &msg_len);
	size_t size = BINLOG_TEXT_BYTES + file_len + msg_len;
	for (uint32_t i = 0; i < tr->n_fields; i++)
		size += BINLOG_FIELD_BYTES + tr->fields[i].key_len + field_value_bytes(&tr->fields[i]);
	uint16_t flags = (tr->consumed ? BINLOG_FLAG_CONSUMED : 0) | (tr->file ? BINLOG_FLAG_FILE : 0);
	uint8_t *p = frame_open(out, size, BINLOG_TEXT, flags);
	if (!p)
		return -ENOMEM;
	p = put_u32(p, source);
	*p++ = (uint8_t)tr->level;
	*p++ = (uint8_t)tr->n_fields;
	p = put_u16(p, 0);
	p = put_u64(p, tr->ts_ns);
	p = put_u32(p, tr->line);
	p = put_u32(p, (uint32_t)file_len);
	p = put_u32(p, (uint32_t)msg_len);
	p = put_u32(p, 0);
	p = put_bytes(p, tr->file, file_len);
	p = put_bytes(p, msg, msg_len);
	for (uint32_t i = 0; i < tr->n_fields; i++)
		p = put_field(p, &tr->fields[i]);
	out->len += size;
	return 0;
}

/* ---- reading ---- */

void binlog_reader_init(struct binlog_reader *rd)
{
	memset(rd, 0, sizeof *rd);
}

void binlog_free_site(struct seg_site *st)
{
	if (!st)
		return;
	free((char *)st->err);
	free(st->fmt);
	free(st->file);
	free(st->fdesc);
	free(st);
}

/* Forget every definition (a file header). */
static void forget(struct binlog_reader *rd)
{
	binlog_segs_forget(rd, false);
	for (uint32_t i = 0; i < rd->n_sites; i++)
		binlog_free_site(rd->sites[i]);
	for (uint32_t i = 0; i < rd->n_sources; i++)
		free(rd->sources[i].name);
	free(rd->sites);
	free(rd->sources);
	rd->sites = NULL;
	rd->sources = NULL;
	rd->n_sites = rd->n_sources = 0;
}

void binlog_reader_free(struct binlog_reader *rd)
{
	forget(rd);
	binlog_segs_forget(rd, true);
	sbuf_free(&rd->msg);
}

long long binlog_bad(struct binlog_reader *rd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rd->err, sizeof rd->err, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

/* A copy of n bytes of p, NUL-terminated; NULL when out of memory. */
char *binlog_copy_str(const uint8_t *p, size_t n)
{
	char *c = malloc(n + 1);
	if (c) {
		memcpy(c, p, n);
		c[n] = 0;
	}
	return c;
}

static long long read_header(struct binlog_reader *rd, const uint8_t *p, size_t avail)
{
	if (avail < BINLOG_HEADER_BYTES)
		return 0;
	uint16_t major = get_u16(p + 8), minor = get_u16(p + 10);
	if (major < BINLOG_VERSION_MAJOR_MIN || major > BINLOG_VERSION_MAJOR)
		return binlog_bad(rd, "binary log version %u.%u, this reader understands %u.x to %u.x", major, minor,
				  BINLOG_VERSION_MAJOR_MIN, BINLOG_VERSION_MAJOR);
	if (get_u32(p + 12) != BINLOG_HEADER_BYTES)
		return binlog_bad(rd, "file header of %u bytes, not %u", get_u32(p + 12), BINLOG_HEADER_BYTES);
	forget(rd);
	rd->header_seen = true;
	return BINLOG_HEADER_BYTES;
}

/* Make room for id in the table at *tab (n entries of size each). Returns 0 or -EPROTO (rd->err). */
int binlog_grow_for(struct binlog_reader *rd, void **tab, uint32_t *n, size_t size, uint32_t id, const char *what)
{
	if (id < *n)
		return 0;
	if (id != *n) /* rule 4: ids in order from 0 */
		return (int)binlog_bad(rd, "%s id %u defined before id %u", what, id, *n);
	void *t = realloc(*tab, (size_t)(id + 1) * size);
	if (!t)
		return (int)binlog_bad(rd, "out of memory");
	memset((char *)t + (size_t)id * size, 0, size);
	*tab = t;
	*n = id + 1;
	return 0;
}

struct seg_site *binlog_site_make(struct binlog_reader *rd, const struct binlog_site_def *d)
{
	if (d->fmt_len > SEG_FORMAT_MAX || d->file_len > SEG_FILE_MAX || d->level < 1 || d->level > 6 ||
	    d->n_fields > SHMLOG_MAX_FIELDS || (!d->n_fields) != (!d->fd_len) || d->err_len > 255) {
		binlog_bad(rd, "malformed call-site definition");
		return NULL;
	}
	struct seg_site *st = calloc(1, sizeof *st);
	const uint8_t *s = d->strings, *err = s + d->fmt_len + d->file_len + d->fd_len;
	if (!st || !(st->fmt = binlog_copy_str(s, d->fmt_len)) ||
	    !(st->file = binlog_copy_str(s + d->fmt_len, d->file_len)) ||
	    (d->fd_len && !(st->fdesc = binlog_copy_str(s + d->fmt_len + d->file_len, d->fd_len))) ||
	    (d->err_len && !(st->err = binlog_copy_str(err, d->err_len)))) {
		binlog_free_site(st);
		binlog_bad(rd, "out of memory");
		return NULL;
	}
	st->level = (int)d->level;
	st->line = d->line;
	st->fmt_len = d->fmt_len;
	st->file_len = d->file_len;
	const char *why = NULL;
	if ((d->fd_len && (!seg_site_fields(st, d->fd_len) || st->n_fields != d->n_fields)) ||
	    (!st->err && fmt_parse(&st->pf, st->fmt, d->fmt_len, &why) != 0)) {
		binlog_bad(rd, "call site %u: %s", d->id, why ? why : "malformed field descriptor");
		binlog_free_site(st);
		return NULL;
	}
	seg_site_done(st);
	return st;
}

/* A SITE frame's site. NULL with rd->err on failure. */
static struct seg_site *parse_site(struct binlog_reader *rd, const uint8_t *p, uint32_t size)
{
	struct binlog_site_def d = {.id = get_u32(p + 8), .level = p[12], .n_fields = p[13], .line = get_u32(p + 16),
				    .fmt_len = get_u32(p + 20), .file_len = get_u32(p + 24), .fd_len = get_u32(p + 28),
				    .strings = p + BINLOG_SITE_BYTES};
	if ((uint64_t)BINLOG_SITE_BYTES + d.fmt_len + d.file_len + d.fd_len != size) {
		binlog_bad(rd, "malformed call-site definition");
		return NULL;
	}
	return binlog_site_make(rd, &d);
}

static long long read_site(struct binlog_reader *rd, const uint8_t *p, uint32_t size)
{
	if (size < BINLOG_SITE_BYTES)
		return binlog_bad(rd, "call-site definition of %u bytes", size);
	uint32_t id = get_u32(p + 8);
	struct seg_site *st = parse_site(rd, p, size);
	if (!st || binlog_grow_for(rd, (void **)&rd->sites, &rd->n_sites, sizeof *rd->sites, id, "call-site") < 0) {
		binlog_free_site(st);
		return -EPROTO;
	}
	binlog_free_site(rd->sites[id]);
	rd->sites[id] = st;
	return size;
}

static long long read_source(struct binlog_reader *rd, const uint8_t *p, uint32_t size)
{
	if (size < BINLOG_SOURCE_BYTES || get_u32(p + 20) != size - BINLOG_SOURCE_BYTES)
		return binlog_bad(rd, "malformed source definition");
	uint32_t id = get_u32(p + 8), len = get_u32(p + 20);
	if (binlog_grow_for(rd, (void **)&rd->sources, &rd->n_sources, sizeof *rd->sources, id, "source") < 0)
		return -EPROTO;
	char *name = binlog_copy_str(p + BINLOG_SOURCE_BYTES, len);
	if (!name)
		return binlog_bad(rd, "out of memory");
	struct binlog_source *src = &rd->sources[id];
	free(src->name);
	*src = (struct binlog_source){.pid = get_u32(p + 12), .tid = get_u32(p + 16), .name = name, .name_len = len};
	return size;
}

/* The source a RECORD or TEXT frame names into *tr. Returns 0 or -EPROTO (rd->err). */
static int fill_source(struct binlog_reader *rd, uint32_t id, struct text_record *tr)
{
	if (id >= rd->n_sources || !rd->sources[id].name)
		return (int)binlog_bad(rd, "record of undefined source id %u", id);
	const struct binlog_source *src = &rd->sources[id];
	tr->name = src->name;
	tr->name_len = src->name_len;
	tr->pid = src->pid;
	tr->tid = src->tid;
	return 0;
}

static long long read_record(struct binlog_reader *rd, const uint8_t *p, uint32_t size, struct text_record *tr)
{
	uint32_t site = get_u32(p + 8);
	if (size < BINLOG_RECORD_BYTES)
		return binlog_bad(rd, "record frame of %u bytes", size);
	if (site >= rd->n_sites || !rd->sites[site])
		return binlog_bad(rd, "record of undefined call-site id %u", site);
	*tr = (struct text_record){.ts_ns = get_u64(p + 16), .consumed = (get_u16(p + 6) & BINLOG_FLAG_CONSUMED) != 0};
	if (fill_source(rd, get_u32(p + 12), tr) < 0)
		return -EPROTO;
	const struct seg_site *st = rd->sites[site];
	struct seg_rec r = {.size = size, .site = site, .ts = tr->ts_ns, .args = p + BINLOG_RECORD_BYTES,
			    .args_len = size - BINLOG_RECORD_BYTES};
	tr->level = st->level;
	tr->file = st->file;
	tr->file_len = st->file_len;
	tr->line = st->line;
	sbuf_reset(&rd->msg);
	seg_decode_site(st, &r, &rd->msg, tr, &rd->sp);
	tr->msg = rd->msg.data ? rd->msg.data : "";
	tr->msg_len = rd->msg.len;
	return size;
}

/* The field at p (end: the frame's end) into *f. Returns its length, or -EPROTO (rd->err). */
static long long read_field(struct binlog_reader *rd, const uint8_t *p, const uint8_t *end, struct text_field *f)
{
	if (end - p < (long)BINLOG_FIELD_BYTES)
		return binlog_bad(rd, "field cut short");
	uint32_t key_len = get_u16(p + 2), value_len = get_u32(p + 4);
	if (p[0] < TEXT_FIELD_I64 || p[0] > TEXT_FIELD_STR || key_len == 0 || key_len > 255 ||
	    (p[0] != TEXT_FIELD_STR && value_len != 8) ||
	    (uint64_t)(end - p) < (uint64_t)BINLOG_FIELD_BYTES + key_len + value_len)
		return binlog_bad(rd, "malformed field");
	const uint8_t *v = p + BINLOG_FIELD_BYTES + key_len;
	*f = (struct text_field){.key = (const char *)p + BINLOG_FIELD_BYTES, .key_len = key_len, .type = p[0],
				 .null = (p[1] & BINLOG_FIELD_NULL) != 0, .truncated = (p[1] & BINLOG_FIELD_TRUNCATED) != 0};
	if (p[0] == TEXT_FIELD_STR)
		f->v.s.p = (const char *)v, f->v.s.len = value_len;
	else if (p[0] == TEXT_FIELD_F64) {
		uint64_t bits = get_u64(v);
		memcpy(&f->v.d, &bits, 8);
	} else if (p[0] == TEXT_FIELD_BOOL)
		f->v.b = get_u64(v) != 0;
	else
		f->v.u = get_u64(v);
	return BINLOG_FIELD_BYTES + key_len + value_len;
}

static long long read_text(struct binlog_reader *rd, const uint8_t *p, uint32_t size, struct text_record *tr)
{
	if (size < BINLOG_TEXT_BYTES)
		return binlog_bad(rd, "text frame of %u bytes", size);
	uint32_t file_len = get_u32(p + 28), msg_len = get_u32(p + 32), n = p[13];
	uint16_t flags = get_u16(p + 6);
	if ((uint64_t)BINLOG_TEXT_BYTES + file_len + msg_len > size || p[12] > TEXT_LEVEL_OFF || n > TEXT_MAX_FIELDS)
		return binlog_bad(rd, "malformed text frame");
	const uint8_t *s = p + BINLOG_TEXT_BYTES, *end = p + size;
	*tr = (struct text_record){.ts_ns = get_u64(p + 16), .level = p[12], .line = get_u32(p + 24),
				   .msg = (const char *)s + file_len, .msg_len = msg_len,
				   .consumed = (flags & BINLOG_FLAG_CONSUMED) != 0};
	if (flags & BINLOG_FLAG_FILE)
		tr->file = (const char *)s, tr->file_len = file_len;
	if (fill_source(rd, get_u32(p + 8), tr) < 0)
		return -EPROTO;
	const uint8_t *f = s + file_len + msg_len;
	for (uint32_t i = 0; i < n; i++) {
		long long len = read_field(rd, f, end, &rd->fields[i]);
		if (len < 0)
			return len;
		f += len;
	}
	if (f != end)
		return binlog_bad(rd, "text frame has %zu bytes after its fields", (size_t)(end - f));
	tr->fields = n ? rd->fields : NULL;
	tr->n_fields = n;
	return size;
}

int binlog_writer_start(const uint8_t *p, size_t n)
{
	if (memcmp(p, BINLOG_MAGIC, n < BINLOG_MAGIC_BYTES ? n : BINLOG_MAGIC_BYTES) != 0)
		return 0;
	if (n < BINLOG_HEADER_BYTES + BINLOG_SESSION_BYTES)
		return -1;
	const uint8_t *f = p + BINLOG_HEADER_BYTES;
	return get_u32(p + 12) == BINLOG_HEADER_BYTES && get_u32(f) == BINLOG_SESSION_BYTES &&
	       get_u16(f + 4) == BINLOG_SESSION && get_u16(f + 6) == 0;
}

int binlog_unit_head(const uint8_t *p, size_t avail, uint32_t *size, uint16_t *kind)
{
	if (avail < BINLOG_FRAME_HEADER_BYTES)
		return -1;
	if (memcmp(p, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0)
		return 2;
	*size = get_u32(p);
	*kind = get_u16(p + 4);
	return *size >= BINLOG_FRAME_HEADER_BYTES && *size <= BINLOG_FRAME_MAX ? 1 : 0;
}

long long binlog_restart_in(const uint8_t *p, size_t avail, size_t from, size_t *done)
{
	*done = 0;
	if (avail < BINLOG_FRAME_HEADER_BYTES || memcmp(p, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0)
		return 0;
	uint32_t size = get_u32(p);
	if (size < BINLOG_FRAME_HEADER_BYTES || size > BINLOG_FRAME_MAX) /* garbage: binlog_next says so */
		return 0;
	size_t end = size < avail ? size : avail;
	/* the start must begin inside the span: its magic may run past the span's end */
	size_t reach = end + BINLOG_MAGIC_BYTES - 1 < avail ? end + BINLOG_MAGIC_BYTES - 1 : avail;
	for (const uint8_t *m; from < end && (m = memmem(p + from, reach - from, BINLOG_MAGIC, BINLOG_MAGIC_BYTES));) {
		int s = binlog_writer_start(m, avail - (size_t)(m - p));
		if (s != 0)
			return s < 0 ? -1 : m - p;
		from = (size_t)(m - p) + 1;
	}
	*done = end;
	return 0;
}

long long binlog_next(struct binlog_reader *rd, const uint8_t *p, size_t avail, struct text_record *tr,
		      bool *is_record)
{
	*is_record = false;
	rd->cycle.n_spans = 0; /* binlog_cycle_next: a CYCLE's records are those of the last unit only */
	if (avail >= BINLOG_MAGIC_BYTES && memcmp(p, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0)
		return read_header(rd, p, avail);
	if (!rd->header_seen)
		return avail < BINLOG_MAGIC_BYTES && memcmp(p, BINLOG_MAGIC, avail) == 0
			       ? 0
			       : binlog_bad(rd, "not a shmlog binary log (no \"SHMLOGB\" header)");
	if (avail < BINLOG_FRAME_HEADER_BYTES)
		return 0;
	uint32_t size = get_u32(p);
	uint16_t kind = get_u16(p + 4);
	if (size < BINLOG_FRAME_HEADER_BYTES || size > BINLOG_FRAME_MAX)
		return binlog_bad(rd, "frame of %u bytes", size);
	if (kind < BINLOG_SESSION || kind > BINLOG_CYCLE)
		return binlog_bad(rd, "unknown frame kind %u", kind);
	if (size > avail)
		return 0;
	switch (kind) {
	case BINLOG_SESSION:
		return size == BINLOG_SESSION_BYTES ? size : binlog_bad(rd, "session frame of %u bytes", size);
	case BINLOG_SITE:
		return read_site(rd, p, size);
	case BINLOG_SOURCE:
		return read_source(rd, p, size);
	case BINLOG_RECORD:
		*is_record = true;
		return read_record(rd, p, size, tr);
	case BINLOG_SEGMENT:
		return binlog_read_segment(rd, p, size);
	case BINLOG_SEG_SITE:
		return binlog_read_seg_site(rd, p, size);
	case BINLOG_CYCLE:
		return binlog_read_cycle(rd, p, size);
	default:
		*is_record = true;
		return read_text(rd, p, size, tr);
	}
}
