/*
 * fuzz_syslog.c — the RFC 5424 formatter (collector/syslog_fmt.c).
 *
 * The input chooses the writer's settings (facility, hostname, app name,
 * msgid, SD-ID, BOM, LF escaping, max_bytes from SYSLOG_MESSAGE_MIN up),
 * made header values and SD-NAMEs the way the syslog writer's configure
 * makes them, and a record (level, name, pid, stamp, up to 16 fields of every
 * type, the rest of the input as its message; or, with settings flag 8, a
 * format of the input's and the rest as its argument bytes, a lazy message
 * as a segment's record gives it). The message syslog_fmt_append()
 * writes is then parsed back as RFC 5424 (section 6) says it must read:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA SP [BOM] MSG
 *
 * PRI from the facility and level, each header field 1..its maximum of
 * printable US-ASCII, structured data "-" or one element with a parameter per
 * field (names the SD-NAMEs of the keys; '"', '\' and ']' escaped in values),
 * the whole within max_bytes; with LF escaping no control byte anywhere; and
 * an uncut message exactly the record's (escaped as the text format escapes
 * under LF escaping): for a lazy one, exactly its raw rendering, escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/syslog_fmt.h"
#include "fuzz.h"
#include "shared/escape.h"
#include "shared/fmt.h"

/* A cursor over the message being checked. */
struct sl {
	const char *s;
	size_t n, at;
};

static bool sl_lit(struct sl *m, const char *w, size_t l)
{
	if (m->n - m->at < l || memcmp(m->s + m->at, w, l) != 0)
		return false;
	m->at += l;
	return true;
}

/* A token of 1..max bytes of 33..126 not in ban, ended by a byte outside them. Returns its length, 0 if none. */
static size_t sl_token(struct sl *m, size_t max, const char *ban)
{
	size_t from = m->at;
	while (m->at < m->n) {
		unsigned char c = (unsigned char)m->s[m->at];
		if (c < 33 || c > 126 || (ban && strchr(ban, c)))
			break;
		m->at++;
	}
	size_t l = m->at - from;
	return l <= max ? l : 0;
}

static void check_header(struct sl *m, const struct text_record *r, const struct syslog_fmt *f)
{
	char pri[16];
	int pl = snprintf(pri, sizeof pri, "<%u>1 ", f->facility * 8u + syslog_severity(r->level));
	fz_check(sl_lit(m, pri, (size_t)pl), "PRI and version: [%.*s]", (int)(m->n < 12 ? m->n : 12), m->s);
	size_t from = m->at;
	fz_check(sl_token(m, 27, NULL) == 27 && m->s[m->at - 1] == 'Z' && m->s[from + 10] == 'T', "TIMESTAMP");
	static const size_t max[] = {SYSLOG_HOSTNAME_MAX, SYSLOG_APP_NAME_MAX, SYSLOG_PROCID_MAX, SYSLOG_MSGID_MAX};
	for (int i = 0; i < 4; i++)
		fz_check(sl_lit(m, " ", 1) && sl_token(m, max[i], NULL) > 0, "header field %d at byte %zu", i, m->at);
	fz_check(sl_lit(m, " ", 1), "SP before STRUCTURED-DATA");
}

/* A PARAM-VALUE after its opening quote, to its closing one. Returns false when it is not one. */
static bool sl_value(struct sl *m)
{
	while (m->at < m->n) {
		char c = m->s[m->at++];
		if (c == '"')
			return true;
		if (c == ']')
			return false; /* must be escaped */
		if (c == '\\' && m->at < m->n)
			m->at++; /* RFC 5424 6.3.3: "\" then any byte; '"', '\' and ']' must be so */
	}
	return false;
}

/* STRUCTURED-DATA: "-", or one element for r's fields. Returns whether it was dropped ("-" despite fields). */
static bool check_sd(struct sl *m, const struct text_record *r, const struct syslog_fmt *f)
{
	if (sl_lit(m, "-", 1))
		return r->n_fields > 0;
	fz_check(r->n_fields > 0 && sl_lit(m, "[", 1), "SD-ELEMENT where the record has %u fields", r->n_fields);
	fz_check(sl_lit(m, f->sd_id, strlen(f->sd_id)), "SD-ID");
	for (uint32_t i = 0; i < r->n_fields; i++) {
		char name[SYSLOG_SD_NAME_MAX + 1];
		size_t nl = syslog_sd_name(name, r->fields[i].key, r->fields[i].key_len);
		fz_check(sl_lit(m, " ", 1) && sl_lit(m, name, nl) && sl_lit(m, "=\"", 2), "PARAM-NAME %u", i);
		fz_check(sl_value(m), "PARAM-VALUE %u", i);
	}
	fz_check(sl_lit(m, "]", 1), "SD-ELEMENT's end");
	return false;
}

/* MSG: the record's message, escaped under escape_lf, unless it was cut (then it ends in the mark). */
static void check_msg(struct sl *m, const char *msg, size_t msg_len, const struct syslog_fmt *f, bool dropped)
{
	fz_check(sl_lit(m, " ", 1), "SP before MSG");
	if (f->bom)
		fz_check(sl_lit(m, "\xef\xbb\xbf", 3), "BOM");
	const char *got = m->s + m->at;
	size_t got_len = m->n - m->at, ml = FMT_TRUNCATED_MARK_LEN;
	bool cut = got_len >= ml && memcmp(got + got_len - ml, FMT_TRUNCATED_MARK, ml) == 0;
	fz_check(!dropped || cut, "structured data dropped, message not marked");
	char *want = malloc(4 * msg_len + 1);
	fz_check(want != NULL, "out of memory");
	size_t want_len = f->escape_lf ? (size_t)(esc_text(want, msg, msg_len) - want) : msg_len;
	if (!f->escape_lf && msg_len)
		memcpy(want, msg, msg_len);
	if (cut && !dropped)
		fz_check(got_len - ml <= want_len && memcmp(got, want, got_len - ml) == 0, "a cut MSG is a prefix");
	else if (!cut)
		fz_check(got_len == want_len && memcmp(got, want, want_len) == 0, "MSG [%.*s] is not the message [%.*s]",
			 (int)got_len, got, (int)want_len, want);
	free(want);
}

static void check_message(const char *s, size_t n, const struct text_record *r, const struct syslog_fmt *f,
			  const char *msg, size_t msg_len)
{
	fz_check(n > 0 && n <= f->max_bytes, "%zu bytes, max_bytes %zu", n, f->max_bytes);
	if (f->escape_lf)
		for (size_t i = 0; i < n; i++)
			fz_check((unsigned char)s[i] >= 0x20 && s[i] != 0x7f, "a control byte at %zu under escape_lf", i);
	struct sl m = {s, n, 0};
	check_header(&m, r, f);
	bool dropped = check_sd(&m, r, f);
	check_msg(&m, msg, msg_len, f, dropped);
}

/* The writer's settings the input chooses, made as its configure makes them. Returns the flags byte. */
static uint8_t take_settings(struct fz *in, struct syslog_fmt *f)
{
	memset(f, 0, sizeof *f);
	uint8_t flags = fz_u8(in);
	f->facility = fz_u8(in) % (SYSLOG_FACILITY_MAX + 1);
	f->bom = flags & 1;
	f->escape_lf = flags & 2;
	f->max_bytes = SYSLOG_MESSAGE_MIN + (size_t)fz_uint(in, 2);
	size_t n;
	const char *s = fz_str(in, 255, &n);
	syslog_header_value(f->hostname, s, n, SYSLOG_HOSTNAME_MAX);
	if (flags & 4) { /* else "": each record's logger name */
		s = fz_str(in, 255, &n);
		syslog_header_value(f->app_name, s, n, SYSLOG_APP_NAME_MAX);
	}
	s = fz_str(in, 255, &n);
	syslog_header_value(f->msgid, s, n, SYSLOG_MSGID_MAX);
	s = fz_str(in, 255, &n);
	syslog_sd_name(f->sd_id, s, n);
	return flags;
}

/* A lazy message, as a segment's record of a bounded format gives it (shared/segment.c). */
struct lazy {
	struct fmt_parsed pf;
	struct text_msg m, copy; /* copy renders the raw message to compare with, apart */
	struct sbuf raw, copy_raw;
};

/*
 * Make r's message lazy, of a format taken from the input (its argument
 * bytes are set later), and *copy the same record with a lazy message of its
 * own. Returns false (r untouched) when the format does not parse or is not
 * bounded.
 */
static bool take_lazy(struct fz *in, struct lazy *lz, struct text_record *r, struct text_record *copy)
{
	size_t fl;
	const char *fmt = fz_str(in, 255, &fl);
	if (fmt_parse(&lz->pf, fmt, fl, NULL) != 0 || !lz->pf.bounded)
		return false;
	lz->m = (struct text_msg){.fmt = fmt, .fmt_len = (uint32_t)fl, .pf = &lz->pf, .raw = &lz->raw};
	lz->copy = lz->m;
	lz->copy.raw = &lz->copy_raw;
	r->lazy = &lz->m;
	*copy = *r;
	copy->lazy = &lz->copy;
	return true;
}

static void take_field(struct fz *in, struct text_field *fl)
{
	memset(fl, 0, sizeof *fl);
	size_t n;
	fl->key = fz_str(in, 255, &n);
	fl->key_len = (uint32_t)n;
	uint8_t t = fz_u8(in);
	fl->type = (uint8_t)(TEXT_FIELD_I64 + (t & 0x3f) % 5); /* 0x80: NULL, 0x40: cut (strings) */
	if (fl->type == TEXT_FIELD_STR) {
		fl->null = (t & 0x80) != 0;
		fl->truncated = !fl->null && (t & 0x40);
		fl->v.s.p = fz_str(in, 255, &n);
		fl->v.s.len = fl->null ? 0 : (uint32_t)n;
	} else if (fl->type == TEXT_FIELD_BOOL) {
		fl->v.b = fz_u8(in) & 1;
	} else {
		fl->v.u = fz_uint(in, 8);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	struct syslog_fmt f;
	uint8_t flags = take_settings(&in, &f);
	struct text_record r = {0}, copy;
	struct text_field fields[TEXT_MAX_FIELDS];
	r.level = fz_u8(&in) % 8;
	r.pid = (uint32_t)fz_uint(&in, 4);
	r.ts_ns = fz_uint(&in, 8);
	r.name = fz_str(&in, 255, &r.name_len);
	r.n_fields = fz_u8(&in) % (TEXT_MAX_FIELDS + 1);
	for (uint32_t i = 0; i < r.n_fields; i++)
		take_field(&in, &fields[i]);
	r.fields = fields;
	static struct lazy lz; /* with flags 8: the message is a format and its argument bytes */
	bool lazy = (flags & 8) && take_lazy(&in, &lz, &r, &copy);
	/* the message (or the arguments): the rest, in a buffer of its own so that a read past it is seen */
	char *msg = malloc(in.n ? in.n : 1);
	fz_check(msg != NULL, "out of memory");
	memcpy(msg, in.p, in.n);
	r.msg = msg;
	r.msg_len = in.n;
	size_t want_len = r.msg_len;
	const char *want = msg;
	if (lazy) {
		lz.m.bytes = lz.copy.bytes = (const uint8_t *)msg;
		lz.m.bytes_len = lz.copy.bytes_len = in.n;
		want = text_record_msg(&copy, &want_len);
	}
	struct sbuf out = {0};
	sbuf_append(&out, "x", 1); /* appended after what is there */
	size_t n = syslog_fmt_append(&out, &r, &f);
	fz_check(n == out.len - 1 && out.data[0] == 'x', "returned %zu, appended %zu", n, out.len - 1);
	check_message(out.data + 1, n, &r, &f, want, want_len);
	sbuf_free(&out);
	sbuf_free(&lz.raw);
	sbuf_free(&lz.copy_raw);
	free(msg);
	return 0;
}
