/*
 * syslog_fmt.h — a decoded record as one RFC 5424 syslog message.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA SP [BOM] MSG
 *
 * 1. PRI = facility * 8 + severity; severities TRACE 7, DEBUG 7, INFO 6,
 *    WARN 4, ERROR 3, CRITICAL 2.
 * 2. TIMESTAMP: RFC 3339 in UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ" (uppercase T
 *    and Z, six fraction digits: rsyslog garbles nine).
 * 3. HOSTNAME <= 255, APP-NAME <= 48, PROCID (the pid) <= 128, MSGID <= 32
 *    bytes of printable US-ASCII (33..126): any other byte becomes '_', a
 *    longer value is cut, an empty one is "-".
 * 4. STRUCTURED-DATA: the record's fields as one element
 *    [SD_ID name="value" ...], "-" without fields. Names are SD-NAMEs (1 to
 *    32 printable ASCII bytes, no '=', ' ', ']', '"': those become '_').
 *    In values '"', '\' and ']' are escaped with a backslash; numbers and
 *    bools as the text format writes them, a NULL string as "(null)", a
 *    truncated one ends in "...[truncated\]" (the mark, escaped too).
 * 5. MSG: the formatted message, after a UTF-8 BOM only when asked for.
 *    With escape_lf (LF framing) the control bytes of MSG and of the values
 *    are written as the text format escapes them, so no LF ends a frame early.
 * 6. The whole message is at most max_bytes: a longer MSG is cut on a UTF-8
 *    character boundary and ends in "...[truncated]"; structured data that
 *    leaves no room for that is replaced by "-", and MSG then ends in the mark.
 */
#ifndef SHMLOG_SYSLOG_FMT_H
#define SHMLOG_SYSLOG_FMT_H

#include <stdbool.h>
#include <stddef.h>

#include "../shared/sbuf.h"
#include "../shared/text.h"

#define SYSLOG_HOSTNAME_MAX 255
#define SYSLOG_APP_NAME_MAX 48
#define SYSLOG_PROCID_MAX 128
#define SYSLOG_MSGID_MAX 32
#define SYSLOG_SD_NAME_MAX 32
#define SYSLOG_FACILITY_MAX 23
/* The smallest max_bytes: RFC 5424 6.1 says every receiver takes 480 bytes, and the longest header fits. */
#define SYSLOG_MESSAGE_MIN 480

struct syslog_fmt {
	unsigned facility;                        /* 0 (kern) .. 23 (local7) */
	char hostname[SYSLOG_HOSTNAME_MAX + 1];   /* already a header value (syslog_header_value) */
	char app_name[SYSLOG_APP_NAME_MAX + 1];   /* a header value, or "" for each record's logger name */
	char msgid[SYSLOG_MSGID_MAX + 1];         /* a header value */
	char sd_id[SYSLOG_SD_NAME_MAX + 1];       /* an SD-NAME (syslog_sd_name) */
	bool bom;                                 /* a UTF-8 BOM before MSG */
	bool escape_lf;                           /* control bytes escaped (LF framing) */
	size_t max_bytes;                         /* >= SYSLOG_MESSAGE_MIN */
};

/* The syslog severity of a TEXT_LEVEL_* value (7 for anything unknown). */
unsigned syslog_severity(int level);

/* The code of a facility name ("kern" .. "local7"). Returns 0..23, or -1 for an unknown name. */
int syslog_facility_parse(const char *name);

/*
 * s[0..n) as a header value of at most max bytes into out (room: max + 1):
 * bytes outside 33..126 become '_', the rest is cut, empty is "-".
 * Returns the length written (NUL-terminated).
 */
size_t syslog_header_value(char *out, const char *s, size_t n, size_t max);

/*
 * s[0..n) as an SD-NAME into out (room: SYSLOG_SD_NAME_MAX + 1): bytes
 * outside 33..126 and '=', ']', '"' become '_', cut at 32 bytes, empty is "_".
 * Returns the length written (NUL-terminated).
 */
size_t syslog_sd_name(char *out, const char *s, size_t n);

/*
 * Append r as one RFC 5424 message (no framing, no trailing LF) to out.
 * Returns the bytes appended, at most f->max_bytes; 0 when out of memory
 * (nothing appended).
 */
size_t syslog_fmt_append(struct sbuf *out, const struct text_record *r, const struct syslog_fmt *f);

#endif
