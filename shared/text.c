/*
 * text.c — rendering a decoded record as one line of text or JSON.
 *
 * This is the collector's hot path: it runs once per record per writer, at
 * millions of records per second. So each record is appended with one
 * sbuf_reserve() for its worst-case size, then written through a plain char
 * pointer; integers are converted by hand and the timestamp is computed with
 * the days-to-civil-date algorithm (Howard Hinnant's "civil_from_days"), with
 * no locale, time zone or libc time calls and no mutable global state.
 *
 * Escaping is table driven. The text tables turn every byte that could end a
 * line early or confuse a terminal into a visible escape (see text.h), so a
 * message containing "\n" can never forge another record; the JSON table
 * produces strict JSON strings, passing bytes >= 0x80 through unchanged.
 */
#include "text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "digits.h"
#include "escape.h"
#include "fmt.h"

/* Indexed by level - TEXT_LEVEL_TRACE; the last entry is OFF. */
static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "OFF"};
static const unsigned char level_name_lens[] = {5, 5, 4, 4, 5, 8, 3};
/* The same names in 8 bytes each, copied whole (the line has room for 8). */
static const char level_names8[][8] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", {'C', 'R', 'I', 'T', 'I', 'C', 'A', 'L'}, "OFF"};
#define LEVEL_COUNT (sizeof level_names / sizeof level_names[0])

/* ANSI SGR colour per level, same indexing; "" for OFF. */
static const char *const level_colors[] = {
	"\x1b[2m", "\x1b[36m", "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[1;31m", "",
};
#define COLOR_RESET "\x1b[0m"
#define COLOR_MAX_BYTES 12 /* longest colour sequence plus reset */

/*
 * The name of a level: "TRACE" .. "CRITICAL", "OFF".
 * Returns a static string, "?" for a value that is not a level.
 */
const char *text_level_name(int level)
{
	unsigned i = (unsigned)(level - TEXT_LEVEL_TRACE);
	return i < LEVEL_COUNT ? level_names[i] : "?";
}

static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'a' && x <= 'z')
			x = (unsigned char)(x - 'a' + 'A');
		if (y >= 'a' && y <= 'z')
			y = (unsigned char)(y - 'a' + 'A');
		if (x != y || !x)
			return x - y;
	}
}

/*
 * Parse a level name, ignoring ASCII case (no locale involved).
 * Returns the TEXT_LEVEL_* value, or -1 when s is NULL or not a level name.
 */
int text_level_parse(const char *s)
{
	if (!s)
		return -1;
	for (unsigned i = 0; i < LEVEL_COUNT; i++)
		if (ascii_casecmp(s, level_names[i]) == 0)
			return TEXT_LEVEL_TRACE + (int)i;
	return -1;
}

static inline char *put2(char *p, unsigned v)
{
	return digits_fixed_back(p + 2, v, 2) + 2;
}

/* Write the 20 characters "YYYY-MM-DDTHH:MM:SS." of second secs at p. */
/* At most once a millisecond: out of put_ts()'s way (its registers), never inlined. */
__attribute__((noinline, cold)) static void put_date_time(char *p, uint64_t secs);

/*
 * Write the 30 characters of the RFC 3339 timestamp (no NUL) at p.
 * Returns the end of what was written. The first 23, up to the millisecond,
 * are the same for thousands of records in a row: they are reused, made
 * again (put_date_time) only when the millisecond changes.
 */
static inline __attribute__((always_inline)) char *put_ts(char *p, uint64_t ts_ns)
{
	static _Thread_local uint64_t cached_ms = UINT64_MAX;
	static _Thread_local char cached[24];
	uint64_t ms = ts_ns / 1000000u;
	if (ms != cached_ms) {
		put_date_time(cached, ms / 1000u);
		memcpy(cached + 20, digit_pairs + 2 * (ms % 1000u / 10u), 2);
		cached[22] = (char)('0' + ms % 10u);
		cached_ms = ms;
	}
	memcpy(p, cached, 23);
	uint64_t low = digits_swar8((uint32_t)(ts_ns % 1000000u)); /* "00uuunnn": the last six */
	memcpy(p + 23, (const char *)&low + 2, 6);
	p[29] = 'Z';
	return p + 30;
}

static void put_date_time(char *p, uint64_t secs)
{
	uint64_t days = secs / 86400u;
	uint32_t sod = (uint32_t)(secs % 86400u);

	/* civil_from_days for non-negative day counts: eras of 400 years start on 0000-03-01. */
	uint64_t z = days + 719468u;
	uint64_t era = z / 146097u;
	uint32_t doe = (uint32_t)(z - era * 146097u);                             /* [0, 146096] */
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;     /* [0, 399] */
	uint64_t y = yoe + era * 400;
	uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                   /* [0, 365] */
	uint32_t mp = (5 * doy + 2) / 153;                                        /* [0, 11], March = 0 */
	uint32_t d = doy - (153 * mp + 2) / 5 + 1;                                /* [1, 31] */
	uint32_t m = mp < 10 ? mp + 3 : mp - 9;                                   /* [1, 12] */
	if (m <= 2)
		y++;

	/* uint64 nanoseconds end in the year 2554, so four digits always suffice. */
	uint32_t yy = (uint32_t)y;
	p = put2(p, yy / 100);
	p = put2(p, yy % 100);
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, sod / 3600);
	*p++ = ':';
	p = put2(p, sod / 60 % 60);
	*p++ = ':';
	p = put2(p, sod % 60);
	*p = '.';
}

/*
 * Write the RFC 3339 UTC form of ts_ns, with nine fractional digits, into out
 * and NUL-terminate it. Returns nothing; every uint64_t value is representable.
 */
void text_format_ts(char out[TEXT_TS_BYTES], uint64_t ts_ns)
{
	char *end = put_ts(out, ts_ns);
	*end = '\0';
}

static inline char *put_lit(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, s) put_lit((p), (s), sizeof(s) - 1)

/* ---- structured fields ---- */

static_assert((int)TEXT_FIELD_I64 == (int)SHMLOG_FIELD_I64 && (int)TEXT_FIELD_U64 == (int)SHMLOG_FIELD_U64 &&
		      (int)TEXT_FIELD_F64 == (int)SHMLOG_FIELD_F64 && (int)TEXT_FIELD_BOOL == (int)SHMLOG_FIELD_BOOL &&
		      (int)TEXT_FIELD_STR == (int)SHMLOG_FIELD_STRING && TEXT_MAX_FIELDS == SHMLOG_MAX_FIELDS,
	      "text field types are the segment's field kinds");

#define TRUNC_MARK FMT_TRUNCATED_MARK
#define TRUNC_MARK_LEN (sizeof TRUNC_MARK - 1)

/* The shortest %g form of a finite d that strtod reads back as d (at most 24 bytes). */
static size_t put_shortest_double(char *buf, double d)
{
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, TEXT_FIELD_NUM_MAX, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return n > 0 ? (size_t)n : 0;
}

/* A number, bool or NaN/Infinity in its text and JSON form (JSON quotes the non-finite). */
static char *put_field_scalar(char *p, const struct text_field *f, bool json)
{
	switch (f->type) {
	case TEXT_FIELD_I64:
		if (f->v.i < 0) {
			*p++ = '-';
			return digits_put(p, (uint64_t)0 - (uint64_t)f->v.i); /* INT64_MIN too */
		}
		return digits_put(p, (uint64_t)f->v.i);
	case TEXT_FIELD_U64: return digits_put(p, f->v.u);
	case TEXT_FIELD_BOOL: return f->v.b ? PUT_LIT(p, "true") : PUT_LIT(p, "false");
	}
	double d = f->v.d;
	const char *word = isnan(d) ? "NaN" : isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : NULL;
	if (!word)
		return p + put_shortest_double(p, d);
	if (json)
		*p++ = '"';
	p = put_lit(p, word, strlen(word));
	if (json)
		*p++ = '"';
	return p;
}

/* A number or bool field in its text form (text.h). Returns the end. */
char *text_put_scalar(char *p, const struct text_field *f)
{
	return put_field_scalar(p, f, false);
}

/*
 * s[0..n) (and the truncation mark) as a logfmt token: quoted, with \" and
 * the line's escapes, when it is empty or holds a space, '"', '=', '\\' or a
 * control byte; as is otherwise. Each byte is read once (a string value lies
 * in a ring its producer may rewrite meanwhile): written quoted, and the
 * quotes dropped when no byte needed them. Room: 4 * n + 2 + TRUNC_MARK_LEN.
 */
static char *put_logfmt(char *p, const char *s, size_t n, bool truncated)
{
	char *start = p;
	bool quote = n == 0 && !truncated;
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"') {
			p = PUT_LIT(p, "\\\"");
			quote = true;
			continue;
		}
		quote |= c == ' ' || c == '=' || esc_text_table[c];
		p = esc_text_byte(p, c);
	}
	if (truncated)
		p = PUT_LIT(p, TRUNC_MARK);
	if (!quote) { /* nothing was escaped: the bytes after the quote are the token */
		memmove(start, start + 1, (size_t)(p - start - 1));
		return p - 1;
	}
	*p++ = '"';
	return p;
}

/* Worst bytes the fields take: esc is the escape growth per byte (4 text, 6 JSON). */
static size_t fields_worst(const struct text_record *r, size_t esc)
{
	size_t w = 16; /* ,"fields":{} */
	for (uint32_t i = 0; i < r->n_fields; i++) {
		const struct text_field *f = &r->fields[i];
		w += 4 + esc * f->key_len + TEXT_FIELD_NUM_MAX;
		if (f->type == TEXT_FIELD_STR)
			w += 2 + esc * f->v.s.len + TRUNC_MARK_LEN;
	}
	return w;
}

/* " key=value" for each field (text.h). */
static char *put_text_fields(char *p, const struct text_record *r)
{
	for (uint32_t i = 0; i < r->n_fields; i++) {
		const struct text_field *f = &r->fields[i];
		*p++ = ' ';
		p = put_logfmt(p, f->key, f->key_len, false);
		*p++ = '=';
		if (f->type != TEXT_FIELD_STR)
			p = put_field_scalar(p, f, false);
		else if (f->null)
			p = PUT_LIT(p, "(null)");
		else
			p = put_logfmt(p, f->v.s.p, f->v.s.len, f->truncated);
	}
	return p;
}

/* ,"fields":{"key":value,...} when the record has fields (text.h). */
static char *put_json_fields(char *p, const struct text_record *r)
{
	if (!r->n_fields)
		return p;
	p = PUT_LIT(p, ",\"fields\":{");
	for (uint32_t i = 0; i < r->n_fields; i++) {
		const struct text_field *f = &r->fields[i];
		if (i)
			*p++ = ',';
		*p++ = '"';
		p = esc_json(p, f->key, f->key_len);
		p = PUT_LIT(p, "\":");
		if (f->type != TEXT_FIELD_STR) {
			p = put_field_scalar(p, f, true);
		} else if (f->null) {
			p = PUT_LIT(p, "null");
		} else {
			*p++ = '"';
			p = esc_json(p, f->v.s.p, f->v.s.len);
			if (f->truncated)
				p = PUT_LIT(p, TRUNC_MARK);
			*p++ = '"';
		}
	}
	*p++ = '}';
	return p;
}

#define MALFORMED_LEN (sizeof TEXT_MALFORMED_ARGS - 1)

/* The message of a record with malformed arguments, at p, in mode esc. Returns the end. */
static char *put_malformed(char *p, const struct text_msg *m, enum esc_mode esc)
{
	p = put_lit(p, TEXT_MALFORMED_ARGS, MALFORMED_LEN);
	return esc_put(p, m->fmt, m->fmt_len, esc);
}

/*
 * Most bytes m takes in mode esc when it is rendered as it is decoded
 * (m->args NULL): what its arguments can make (fmt_worst_rec), or what it
 * says when they are malformed, whichever is more; their sum bounds both.
 */
static inline size_t rec_worst(const struct text_msg *m, enum esc_mode esc)
{
	return fmt_worst_rec(m->pf, m->bytes_len + m->fmt_len, esc) + MALFORMED_LEN;
}

/* m at p in mode esc, for a bounded pf (room: rec_worst or fmt_worst). Returns the end. */
static char *put_bounded(char *p, const struct text_msg *m, enum esc_mode esc)
{
	if (m->args)
		return fmt_render_to(p, m->fmt, m->pf, m->args, esc);
	char *e = fmt_render_rec(p, m->fmt, m->pf, m->bytes, m->bytes_len, esc);
	return e ? e : put_malformed(p, m, esc);
}

/* Cut a raw message longer than TEXT_MSG_MAX to it, on a UTF-8 character's start, ending in the mark. */
static void msg_cut(struct sbuf *raw)
{
	if (raw->len <= TEXT_MSG_MAX)
		return;
	size_t keep = TEXT_MSG_MAX - TRUNC_MARK_LEN;
	for (int i = 0; i < 3 && ((unsigned char)raw->data[keep] & 0xc0) == 0x80; i++)
		keep--;
	memcpy(raw->data + keep, TRUNC_MARK, TRUNC_MARK_LEN);
	raw->len = keep + TRUNC_MARK_LEN;
}

/* The raw message of m in place of one that an allocation failed in the middle of (its bytes have a hole). */
static void msg_oom(struct text_msg *m)
{
	sbuf_reset(m->raw);
	sbuf_append(m->raw, TEXT_MSG_OOM, sizeof TEXT_MSG_OOM - 1); /* no room even for this: an empty message */
	m->raw->oom = false;
	m->oom = true;
}

const char *text_record_msg(const struct text_record *r, size_t *len)
{
	struct text_msg *m = r->lazy;
	if (!m) {
		*len = r->msg ? r->msg_len : 0;
		return r->msg ? r->msg : "";
	}
	if (!m->rendered) {
		sbuf_reset(m->raw);
		if (m->args)
			fmt_render(m->raw, m->fmt, m->pf, m->args);
		else if (sbuf_reserve(m->raw, rec_worst(m, ESC_NONE)) == 0)
			m->raw->len = (size_t)(put_bounded(m->raw->data, m, ESC_NONE) - m->raw->data);
		if (m->raw->oom)
			msg_oom(m);
		msg_cut(m->raw);
		m->rendered = true;
	}
	*len = m->raw->len;
	return m->raw->data ? m->raw->data : "";
}

/* The most bytes the lazy message m of a bounded format takes in mode esc (put_bounded). */
static inline size_t bounded_worst(const struct text_msg *m, enum esc_mode esc)
{
	return m->args ? fmt_worst(m->pf, m->args, esc) : rec_worst(m, esc);
}

/* Whether the lazy message m can be rendered straight into an output (put_bounded): it is not
 * rendered yet, its format is bounded, and it cannot be longer than TEXT_MSG_MAX raw. */
static inline bool fusable(const struct text_msg *m)
{
	return m && !m->rendered && m->pf->bounded && bounded_worst(m, ESC_NONE) <= TEXT_MSG_MAX;
}

size_t text_msg_fused_worst(const struct text_record *r, enum esc_mode esc)
{
	return fusable(r->lazy) ? bounded_worst(r->lazy, esc) : SIZE_MAX;
}

char *text_msg_fused_put(char *p, const struct text_record *r, enum esc_mode esc)
{
	return put_bounded(p, r->lazy, esc);
}

/* msg_room() for a message not rendered into the line: its raw text. Off the common path. */
static __attribute__((noinline)) size_t raw_room(const struct text_record *r, enum esc_mode esc, bool *fused,
						 const char **msg, size_t *msg_len)
{
	*fused = fusable(r->lazy);
	if (*fused)
		return bounded_worst(r->lazy, esc);
	*msg = text_record_msg(r, msg_len);
	return ESC_GROWTH(esc) * *msg_len;
}

/*
 * The room r's message takes in a line escaped in mode esc. *fused is set
 * when it can be rendered straight into the line (fusable()). Otherwise
 * *msg, *msg_len are its raw text (cut to TEXT_MSG_MAX), to be escaped into
 * the line.
 */
static inline size_t msg_room(const struct text_record *r, enum esc_mode esc, bool *fused, const char **msg,
			      size_t *msg_len)
{
	const struct text_msg *m = r->lazy;
	if (m && !m->rendered && m->pf->bounded && !m->args) {
		size_t worst = rec_worst(m, esc); /* escaped, so at least the raw bound */
		if (__builtin_expect(worst <= TEXT_MSG_MAX, 1)) {
			*fused = true;
			return worst;
		}
	}
	return raw_room(r, esc, fused, msg, msg_len);
}

/* The message into the line at p, as msg_room() decided. Returns the end. */
static char *put_msg(char *p, const struct text_record *r, enum esc_mode esc, bool fused, const char *msg,
		     size_t msg_len)
{
	return fused ? put_bounded(p, r->lazy, esc) : esc_put(p, msg, msg_len, esc);
}

/* Room for the text line's head: " " NAME "[" PID "/" TID "]: ", the name escaped. */
#define HEAD_BYTES (8 + 4 * SHMLOG_NAME_BYTES + 20 + DIGITS_SLACK)

/* Whether a[0..n) and b[0..n) are equal: inline for the 4 to 16 bytes most logger names have. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
	if (n - 8 <= 8) { /* two overlapping loads each side, as esc_text() does */
		uint64_t a0, a1, b0, b1;
		memcpy(&a0, a, 8);
		memcpy(&a1, a + n - 8, 8);
		memcpy(&b0, b, 8);
		memcpy(&b1, b + n - 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (n - 4 <= 3)
		return esc_ends4(a, n) == esc_ends4(b, n);
	return n == 0 || memcmp(a, b, n) == 0;
}

/*
 * The text line's head of r at p; room: HEAD_BYTES + 4 * its name's length.
 * A ring's records all have the same head: the last one made is kept and
 * reused while logger name, pid and tid stay the same (compared by value).
 * Returns the end.
 */
static char *put_head(char *p, const struct text_record *r)
{
	static _Thread_local struct {
		uint32_t pid, tid, name_len, len;
		char name[SHMLOG_NAME_BYTES];
		char text[HEAD_BYTES];
	} last;
	size_t n = r->name ? r->name_len : 0;
	if (last.len && r->pid == last.pid && r->tid == last.tid && n == last.name_len &&
	    same_bytes(r->name, last.name, n)) {
		if (last.len <= 32) /* the common head: a fixed-size copy, inline (room: HEAD_BYTES) */
			memcpy(p, last.text, 32);
		else
			memcpy(p, last.text, last.len);
		return p + last.len;
	}
	char *start = p;
	*p++ = ' ';
	p = esc_text(p, r->name, n);
	*p++ = '[';
	p = digits_put(p, r->pid);
	*p++ = '/';
	p = digits_put(p, r->tid);
	p = PUT_LIT(p, "]: ");
	if (n <= sizeof last.name) {
		last.pid = r->pid;
		last.tid = r->tid;
		last.name_len = (uint32_t)n;
		last.len = (uint32_t)(p - start);
		if (n)
			memcpy(last.name, r->name, n);
		memcpy(last.text, start, last.len);
	}
	return p;
}

/* The text line of r into out; span (may be NULL) gets where its message lies in out: offset, length. */
static void append_text(struct sbuf *out, const struct text_record *r, bool color, size_t *span)
{
	size_t name_len = r->name ? r->name_len : 0;
	const char *msg = NULL;
	size_t msg_len = 0;
	bool fused;
	size_t msg_worst = msg_room(r, ESC_TEXT, &fused, &msg, &msg_len);
	/* ts + spaces/brackets + level + colour + two u32 + escaped name and message + LF */
	size_t worst = 30 + 8 + 8 + COLOR_MAX_BYTES + 20 + DIGITS_SLACK + 4 * name_len + msg_worst + 1 + fields_worst(r, 4);
	if (sbuf_reserve(out, worst) != 0)
		return;

	char *p = out->data + out->len;
	p = put_ts(p, r->ts_ns);
	*p++ = ' ';
	unsigned li = (unsigned)(r->level - TEXT_LEVEL_TRACE);
	if (li < LEVEL_COUNT) {
		const char *sgr = color ? level_colors[li] : "";
		size_t sgr_len = strlen(sgr);
		p = put_lit(p, sgr, sgr_len);
		memcpy(p, level_names8[li], 8); /* room: the 8 the line reserves for it */
		p += level_name_lens[li];
		if (sgr_len)
			p = PUT_LIT(p, COLOR_RESET);
	} else {
		*p++ = '?';
	}
	p = put_head(p, r);
	char *m0 = p;
	p = put_msg(p, r, ESC_TEXT, fused, msg, msg_len);
	if (span) {
		span[0] = (size_t)(m0 - out->data);
		span[1] = (size_t)(p - m0);
	}
	p = put_text_fields(p, r);
	*p++ = '\n';
	out->len = (size_t)(p - out->data);
}

static void append_json(struct sbuf *out, const struct text_record *r)
{
	size_t name_len = r->name ? r->name_len : 0;
	size_t file_len = r->file ? r->file_len : 0;
	const char *msg = NULL;
	size_t msg_len = 0;
	bool fused;
	size_t msg_worst = msg_room(r, ESC_JSON, &fused, &msg, &msg_len);
	/* fixed keys and punctuation (< 96) + ts + level + three u32 + escaped strings */
	size_t worst = 128 + 30 + 8 + 30 + DIGITS_SLACK + 6 * (name_len + file_len) + msg_worst + fields_worst(r, 6);
	if (sbuf_reserve(out, worst) != 0)
		return;

	char *p = out->data + out->len;
	p = PUT_LIT(p, "{\"ts\":\"");
	p = put_ts(p, r->ts_ns);
	p = PUT_LIT(p, "\",\"level\":\"");
	const char *lvl = text_level_name(r->level);
	p = put_lit(p, lvl, strlen(lvl));
	p = PUT_LIT(p, "\",\"name\":\"");
	p = esc_json(p, r->name, name_len);
	p = PUT_LIT(p, "\",\"pid\":");
	p = digits_put(p, r->pid);
	p = PUT_LIT(p, ",\"tid\":");
	p = digits_put(p, r->tid);
	if (r->file) {
		p = PUT_LIT(p, ",\"file\":\"");
		p = esc_json(p, r->file, file_len);
		p = PUT_LIT(p, "\",\"line\":");
	} else {
		p = PUT_LIT(p, ",\"file\":null,\"line\":");
	}
	p = digits_put(p, r->line);
	p = PUT_LIT(p, ",\"msg\":\"");
	p = put_msg(p, r, ESC_JSON, fused, msg, msg_len);
	*p++ = '"';
	p = put_json_fields(p, r);
	if (r->consumed)
		p = PUT_LIT(p, ",\"consumed\":true");
	*p++ = '}';
	*p++ = '\n';
	out->len = (size_t)(p - out->data);
}

/*
 * Append r to out as one LF-terminated line in format f (colour applies to
 * the text format only). The whole line is reserved at once, so when memory
 * runs out nothing of the record is appended and out->oom is set; out never
 * holds a partial line. Returns nothing.
 */
void text_append(struct sbuf *out, const struct text_record *r, enum text_format f, bool color)
{
	if (f == TEXT_FORMAT_JSON)
		append_json(out, r);
	else
		append_text(out, r, color, NULL);
}

void text_append_msg_span(struct sbuf *out, const struct text_record *r, size_t *msg_off, size_t *msg_len)
{
	size_t span[2] = {0, 0};
	append_text(out, r, false, span);
	*msg_off = span[0];
	*msg_len = span[1];
}
