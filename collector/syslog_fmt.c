/*
 * syslog_fmt.c — the RFC 5424 formatter of the syslog writer (rules in
 * syslog_fmt.h). Pure functions: no state, no I/O, so the tests (and a fuzz
 * harness) can call them on any record.
 *
 * A message is built in three parts at the end of the output buffer: the
 * header, the structured data, then MSG, which alone is cut to fit
 * max_bytes. Every byte of the record is read once (a string lies in a ring
 * its producer may rewrite), so sizes are worst cases reserved up front.
 */
#include "syslog_fmt.h"

#include <stdint.h>
#include <string.h>

#include "../shared/digits.h"
#include "../shared/escape.h"
#include "../shared/fmt.h"

#define MARK FMT_TRUNCATED_MARK
#define MARK_LEN (sizeof MARK - 1)
#define BOM "\xef\xbb\xbf"
#define TS_LEN 27 /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
/* "<191>1 " TS SP HOST SP APP SP PROCID SP MSGID SP, at most */
#define HEADER_MAX (7 + TS_LEN + 1 + SYSLOG_HOSTNAME_MAX + 1 + SYSLOG_APP_NAME_MAX + 1 + 10 + 1 + SYSLOG_MSGID_MAX + 1)

/* Indexed by TEXT_LEVEL_* (0 unset, 7 OFF). */
static const unsigned char severities[] = {7, 7, 7, 6, 4, 3, 2, 7};

static const char *const facilities[SYSLOG_FACILITY_MAX + 1] = {
	"kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
	"uucp",   "cron",   "authpriv", "ftp",  "ntp",    "audit",  "alert",  "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

unsigned syslog_severity(int level)
{
	return level >= 0 && (size_t)level < sizeof severities ? severities[level] : 7;
}

int syslog_facility_parse(const char *name)
{
	for (int i = 0; name && i <= SYSLOG_FACILITY_MAX; i++)
		if (strcmp(facilities[i], name) == 0)
			return i;
	return -1;
}

/* Copy s[0..n) into out, cut at max, bytes outside 33..126 or in bad as '_'; empty as empty_as. */
static size_t put_token(char *out, const char *s, size_t n, size_t max, const char *bad, char empty_as)
{
	size_t len = n < max ? n : max;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = c < 33 || c > 126 || (bad && strchr(bad, c)) ? '_' : (char)c;
	}
	if (len == 0)
		out[len++] = empty_as;
	out[len] = '\0';
	return len;
}

size_t syslog_header_value(char *out, const char *s, size_t n, size_t max)
{
	return put_token(out, s, n, max, NULL, '-');
}

size_t syslog_sd_name(char *out, const char *s, size_t n)
{
	return put_token(out, s, n, SYSLOG_SD_NAME_MAX, "=]\"", '_');
}

/* Write "YYYY-MM-DDTHH:MM:SS.ffffffZ" (TS_LEN bytes) at p. Returns the end. */
static char *put_ts6(char *p, uint64_t ts_ns)
{
	char full[TEXT_TS_BYTES];
	text_format_ts(full, ts_ns);
	memcpy(p, full, TS_LEN - 1);
	p[TS_LEN - 1] = 'Z';
	return p + TS_LEN;
}

static char *put_bytes(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* The header up to and including the SP before STRUCTURED-DATA. Returns the end. */
static char *put_header(char *p, const struct text_record *r, const struct syslog_fmt *f)
{
	*p++ = '<';
	p = digits_put(p, f->facility * 8u + syslog_severity(r->level));
	p = put_bytes(p, ">1 ", 3);
	p = put_ts6(p, r->ts_ns);
	*p++ = ' ';
	p = put_bytes(p, f->hostname, strlen(f->hostname));
	*p++ = ' ';
	if (f->app_name[0])
		p = put_bytes(p, f->app_name, strlen(f->app_name));
	else
		p += syslog_header_value(p, r->name, r->name ? r->name_len : 0, SYSLOG_APP_NAME_MAX);
	*p++ = ' ';
	p = digits_put(p, r->pid);
	*p++ = ' ';
	p = put_bytes(p, f->msgid, strlen(f->msgid));
	*p++ = ' ';
	return p;
}

/* One byte of a PARAM-VALUE: '"', '\' and ']' behind a backslash; control bytes escaped with escape_lf. */
static char *put_sd_byte(char *p, char c, bool escape_lf)
{
	if (c == '"' || c == '\\' || c == ']') {
		*p++ = '\\';
		*p++ = c;
		return p;
	}
	if (escape_lf && ((unsigned char)c < 0x20 || c == 0x7f))
		return esc_text(p, &c, 1);
	*p++ = c;
	return p;
}

/* Worst bytes of the structured data: 4 per value byte covers both escapes. */
static size_t sd_worst(const struct text_record *r)
{
	size_t w = 3 + SYSLOG_SD_NAME_MAX;
	for (uint32_t i = 0; i < r->n_fields; i++) {
		const struct text_field *fl = &r->fields[i];
		w += 4 + SYSLOG_SD_NAME_MAX + TEXT_FIELD_NUM_MAX + MARK_LEN;
		if (fl->type == TEXT_FIELD_STR && !fl->null)
			w += 4 * (size_t)fl->v.s.len;
	}
	return w;
}

/* A field's value inside its quotes. Returns the end. */
static char *put_sd_value(char *p, const struct text_field *fl, bool escape_lf)
{
	if (fl->type != TEXT_FIELD_STR)
		return text_put_scalar(p, fl);
	if (fl->null)
		return put_bytes(p, "(null)", 6);
	for (uint32_t k = 0; k < fl->v.s.len; k++)
		p = put_sd_byte(p, fl->v.s.p[k], escape_lf);
	for (size_t k = 0; fl->truncated && k < MARK_LEN; k++) /* its ']' is escaped too */
		p = put_sd_byte(p, MARK[k], escape_lf);
	return p;
}

/* STRUCTURED-DATA: [SD_ID name="value" ...], or "-" without fields. Returns the end. */
static char *put_sd(char *p, const struct text_record *r, const struct syslog_fmt *f)
{
	if (r->n_fields == 0) {
		*p++ = '-';
		return p;
	}
	*p++ = '[';
	p = put_bytes(p, f->sd_id, strlen(f->sd_id));
	for (uint32_t i = 0; i < r->n_fields; i++) {
		const struct text_field *fl = &r->fields[i];
		*p++ = ' ';
		p += syslog_sd_name(p, fl->key, fl->key_len);
		p = put_bytes(p, "=\"", 2);
		p = put_sd_value(p, fl, f->escape_lf);
		*p++ = '"';
	}
	*p++ = ']';
	return p;
}

/* How many bytes of s[0..n) fit in budget output bytes (escaped with escape_lf), cut on a UTF-8 boundary. */
static size_t msg_fit(const char *s, size_t n, size_t budget, bool escape_lf)
{
	if ((escape_lf ? 4 * n : n) <= budget) /* the most it can take: no byte to count */
		return n;
	size_t used = 0, i = 0;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t w = !escape_lf ? 1 : c == '\\' || c == '\n' || c == '\r' || c == '\t' ? 2 : c < 0x20 || c == 0x7f ? 4 : 1;
		if (used + w > budget)
			break;
		used += w;
	}
	while (i > 0 && i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return i;
}

/*
 * SP [BOM] MSG at p, in at most room bytes (room >= 1 + BOM + MARK_LEN),
 * ending in the mark when cut (or when cut is already true). A message whose
 * every possible rendering fits (fused, text.h's text_msg_fused_worst) is
 * rendered straight here; any other is rendered raw first, then cut to fit.
 * Returns the end.
 */
static char *put_msg(char *p, const struct text_record *r, const struct syslog_fmt *f, size_t room, bool cut,
		     size_t fused)
{
	*p++ = ' ';
	room--;
	if (f->bom) {
		p = put_bytes(p, BOM, 3);
		room -= 3;
	}
	if (!cut && fused <= room)
		return text_msg_fused_put(p, r, f->escape_lf ? ESC_TEXT : ESC_NONE);
	size_t n;
	const char *msg = text_record_msg(r, &n);
	size_t keep = msg_fit(msg, n, cut ? room - MARK_LEN : room, f->escape_lf);
	if (keep < n && !cut)
		keep = msg_fit(msg, n, room - MARK_LEN, f->escape_lf);
	p = f->escape_lf ? esc_text(p, msg, keep) : put_bytes(p, msg, keep);
	if (keep < n || cut)
		p = put_bytes(p, MARK, MARK_LEN);
	return p;
}

size_t syslog_fmt_append(struct sbuf *out, const struct text_record *r, const struct syslog_fmt *f)
{
	size_t fused = text_msg_fused_worst(r, f->escape_lf ? ESC_TEXT : ESC_NONE), msg_worst = fused;
	if (fused == SIZE_MAX) {
		text_record_msg(r, &msg_worst); /* a lazy message is rendered here, once */
		msg_worst *= 4;
	}
	/* the raw rendering of a fused message, escaped, takes no more than its fused worst */
	size_t worst = HEADER_MAX + sd_worst(r) + 4 + msg_worst + MARK_LEN;
	if (sbuf_reserve(out, worst) != 0)
		return 0;
	char *start = out->data + out->len;
	char *sd = put_header(start, r, f);
	char *p = put_sd(sd, r, f);
	size_t tail_min = 1 + (f->bom ? 3 : 0) + MARK_LEN;
	bool sd_dropped = (size_t)(p - start) + tail_min > f->max_bytes;
	if (sd_dropped) { /* the fields alone overflow: leave them out, and say the message is cut */
		sd[0] = '-';
		p = sd + 1;
	}
	p = put_msg(p, r, f, f->max_bytes - (size_t)(p - start), sd_dropped, fused);
	size_t len = (size_t)(p - start);
	out->len += len;
	return len;
}
