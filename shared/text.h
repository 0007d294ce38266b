/*
 * text.h — how a decoded record becomes one line of output.
 *
 * Text format (one record, one line; RFC 3339 UTC with nanoseconds):
 *
 *   2026-11-24T01:59:46.123456789Z INFO demo[1234/1240]: message text
 *
 * i.e. TIMESTAMP SP LEVEL SP NAME "[" PID "/" TID "]:" SP MESSAGE LF. Inside
 * NAME and MESSAGE a backslash is written as "\\", LF as "\n", CR as "\r",
 * TAB as "\t" and every other control byte (0x00-0x1f, 0x7f) as "\xHH", so a
 * message can never end its line early or forge another record. With colour
 * the level name is wrapped in an ANSI SGR sequence.
 *
 * Structured fields follow the message as " key=value" (logfmt): a key or
 * value that is empty or holds a space, '"', '=', '\\' or a control byte is
 * quoted, with \" and the escapes above inside; integers exact, bools
 * true/false, doubles in the shortest form that reads back exactly (NaN,
 * Infinity, -Infinity), a NULL string (null), a truncated one ends in
 * "...[truncated]" (docs/fields.md).
 *
 * JSON format: one object per line with keys ts, level, name, pid, tid, file,
 * line, msg (strings JSON-escaped; bytes >= 0x80 are passed through), then
 * "fields" (an object of typed members; NaN and infinities as strings, a NULL
 * string null) when the record has fields.
 */
#ifndef SHMLOG_TEXT_H
#define SHMLOG_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "escape.h"

#include "sbuf.h"

enum text_format {
	TEXT_FORMAT_TEXT = 0,
	TEXT_FORMAT_JSON = 1,
};

/* The level values are the public SHMLOG_LEVEL_* values (1-based: 0 means "unset"). */
#define TEXT_LEVEL_TRACE 1
#define TEXT_LEVEL_DEBUG 2
#define TEXT_LEVEL_INFO 3
#define TEXT_LEVEL_WARN 4
#define TEXT_LEVEL_ERROR 5
#define TEXT_LEVEL_CRITICAL 6
#define TEXT_LEVEL_OFF 7

#define TEXT_TS_BYTES 31 /* "2026-11-24T01:59:46.123456789Z" + NUL */

/* Structured fields (SHMLOG_*_KV): typed key/value pairs after the message. */
#define TEXT_MAX_FIELDS 16

enum text_field_type {
	TEXT_FIELD_I64 = 1,  /* every signed integer type */
	TEXT_FIELD_U64 = 2,  /* every unsigned integer type */
	TEXT_FIELD_F64 = 3,  /* float, double */
	TEXT_FIELD_BOOL = 4, /* bool */
	TEXT_FIELD_STR = 5,  /* char *, copied by value; may be NULL */
};

/* The segment's field kinds are these types (shared/abi.h, static_assert in text.c). */
struct text_field {
	const char *key;    /* not NUL-terminated */
	uint32_t key_len;
	uint8_t type;       /* TEXT_FIELD_* */
	bool null;          /* TEXT_FIELD_STR: the producer passed NULL */
	bool truncated;     /* TEXT_FIELD_STR: cut at the segment's max_string_bytes */
	union {
		int64_t i;
		uint64_t u;
		double d;
		bool b;
		struct {
			const char *p; /* not NUL-terminated */
			uint32_t len;
		} s;
	} v;
};

struct fmt_parsed;
struct fmt_arg;
struct seg_site;

/*
 * A record's message, not rendered yet: the format and the decoded arguments.
 * A line writer renders it straight into its line, escaped as it goes
 * (fmt_render_to); text_record_msg() renders it raw into *raw once, for
 * whoever needs the plain text (a route's regex).
 */
struct text_msg {
	const char *fmt;
	uint32_t fmt_len;
	const struct fmt_parsed *pf;
	const struct fmt_arg *args;  /* the decoded arguments; NULL: decoded from bytes while */
	const uint8_t *bytes;        /* rendering (a bounded pf), and the message says */
	size_t bytes_len;            /* TEXT_MALFORMED_ARGS when they are malformed */
	struct sbuf *raw;            /* where the raw rendering goes */
	bool rendered;               /* raw holds it */
	bool oom;                    /* raw holds TEXT_MSG_OOM instead: memory ran out in the middle of it */
	const struct seg_site *site; /* the call site it comes from (segment.h): a binary log */
	const uint8_t *raw_args;     /* writes the record as it came, raw_args_len bytes of */
	size_t raw_args_len;         /* arguments and field values (shared/binlog.h) */
};

/* The message of a record that memory ran out in the middle of rendering (its text would have a hole). */
#define TEXT_MSG_OOM "[shmlog: out of memory: message not rendered]"

/* The message of a record whose arguments are malformed: this, then the format as written. */
#define TEXT_MALFORMED_ARGS "[shmlog: malformed record arguments] "

struct text_record {
	uint64_t ts_ns;     /* UTC, ns since the epoch */
	int level;          /* TEXT_LEVEL_* */
	const char *name;   /* logger name */
	size_t name_len;
	uint32_t pid;
	uint32_t tid;
	const char *msg;    /* rendered message, raw (escaped on output); when lazy is set, */
	size_t msg_len;     /* these are unused: read the message with text_record_msg() */
	struct text_msg *lazy; /* the message, rendered when first needed; NULL: msg holds it */
	const char *file;   /* call site, may be NULL */
	size_t file_len;
	uint32_t line;
	bool consumed;      /* already consumed by a collector (shmlog read --all) */
	const struct text_field *fields; /* n_fields structured fields, in call order */
	uint32_t n_fields;
};

/* "TRACE" .. "CRITICAL", "OFF"; "?" for anything else. */
const char *text_level_name(int level);

/* Case-insensitive level name to value; -1 if unknown. */
int text_level_parse(const char *s);

/* Write the RFC 3339 form of ts_ns into out (NUL-terminated). */
void text_format_ts(char out[TEXT_TS_BYTES], uint64_t ts_ns);

/*
 * The longest message a record carries, in bytes before escapes: a longer
 * one is cut to its first TEXT_MSG_MAX - 14 bytes or fewer (never inside a
 * UTF-8 character), followed by FMT_TRUNCATED_MARK, "...[truncated]".
 */
#define TEXT_MSG_MAX 65536u

/* The raw message of r (cut to TEXT_MSG_MAX), rendered on first use when it is lazy; its length
 * in *len. Never NULL. */
const char *text_record_msg(const struct text_record *r, size_t *len);

/*
 * Rendering r's message straight into an output, escaped in mode esc
 * (escape.h) as it is written, with no raw copy: text_msg_fused_worst() is
 * the most bytes text_msg_fused_put() writes at p, or SIZE_MAX when the
 * message cannot be rendered that way (it is not lazy, or rendered already,
 * or not of a bounded format, or it may be longer than TEXT_MSG_MAX). Then
 * escape text_record_msg() instead. Both write the same bytes.
 */
size_t text_msg_fused_worst(const struct text_record *r, enum esc_mode esc);
char *text_msg_fused_put(char *p, const struct text_record *r, enum esc_mode esc);

/* Longest text form of a number or bool field (text_put_scalar). */
#define TEXT_FIELD_NUM_MAX 32

/* A non-string field f (integer, double, bool) as text writes it; room: TEXT_FIELD_NUM_MAX. Returns the end. */
char *text_put_scalar(char *p, const struct text_field *f);

/* Append r to out as one line (LF-terminated) in format f. */
void text_append(struct sbuf *out, const struct text_record *r, enum text_format f, bool color);

/*
 * text_append() in the text format without colour, also telling where the
 * line's message lies in out (*msg_off, *msg_len: the message escaped, as
 * the line holds it; both 0 when nothing was appended). An escaped message
 * holding no backslash is the message itself: every escape begins with one.
 */
void text_append_msg_span(struct sbuf *out, const struct text_record *r, size_t *msg_off, size_t *msg_len);

#endif
