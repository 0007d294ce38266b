/*
 * binlog.h — the binary log file (writer type "binary"), specified here as
 * shared/abi.h specifies the segment: the one source of truth, read by the
 * collector's binary writer (collector/writer_binary.c) and `shmlog decode`
 * (tools/decode.c).
 *
 * The file holds the records nearly as the producer wrote them: a call-site
 * id, the stamp, a source id, and the raw argument bytes (arguments, then
 * field values, encoded as in the ring: shared/abi.h, shared/record.h). The
 * call sites and sources those ids name are defined in the file itself, so
 * a file decodes without the producer, its segment or the collector.
 *
 * Rules:
 *
 *  1. Every integer is little-endian. Nothing is aligned: read with memcpy.
 *  2. A file is a sequence of units. Each unit is either a file header
 *     (BINLOG_HEADER_BYTES, it starts with BINLOG_MAGIC) or a frame: a
 *     frame header (frame_bytes, kind, flags), then its body. frame_bytes
 *     counts the whole frame and is BINLOG_FRAME_HEADER_BYTES..
 *     BINLOG_FRAME_MAX; the magic read as a frame_bytes is above
 *     BINLOG_FRAME_MAX, so the two never mix up.
 *  3. A file starts with a file header, and the writer writes one again
 *     each time it starts a file (open, a rotation, a reopen: SIGHUP or the
 *     path removed) or appends to one that is there (a restart): a file
 *     header may follow any unit. A file header forgets every definition;
 *     a SESSION frame follows it, and what follows defines again what it
 *     uses, so every file of a rotated series decodes on its own. (The
 *     writer also starts over with a header inside a file, to bound what it
 *     remembers.)
 *  4. A SITE or SOURCE frame defines its id before the first frame that
 *     uses it; a later definition of the same id replaces the earlier one.
 *     Ids are small integers given in order from 0.
 *  5. Stamps are UTC nanoseconds since the epoch, converted by the collector
 *     with the segment's clock calibration when it read the record: the file
 *     needs no calibration of its own.
 *  6. A RECORD frame is a record of a call site whose message is rendered
 *     when the file is read; everything else (loss notices, records shmlog
 *     already turned into a message of its own, the collector's notices) is
 *     a TEXT frame, its message as text and its fields typed.
 *  7. A unit cut short by the end of the file (a writer killed mid-write) is
 *     a torn tail: what precedes it decodes (a torn CYCLE's records were not
 *     consumed: a restarted collector writes them again). So is a unit with a
 *     writer's start (a file header, then a SESSION frame) beginning inside
 *     the span it claims: the restart appended there, and reading goes on
 *     from that start; so is the first file header cut short (a prefix of
 *     one, under 24 bytes) with a writer's start inside it. So is a run of
 *     zero bytes where a unit (or the first file header) would start (a
 *     frame header's worth at least; a frame is never 0 bytes) that reaches
 *     the end of the file or a writer's start: space the file was given but
 *     a crash left unwritten (the filesystem grew the file, its data never
 *     reached the disk). Anything else that breaks a rule is garbage.
 *  8. (Version 2.) A CYCLE frame holds records exactly as producer threads
 *     wrote them in their rings, one span per thread, copied without
 *     decoding: the stamps are the segment's own (TSC ticks, or realtime ns)
 *     and a SEGMENT frame, defined before, gives the calibration that
 *     converts them, its pid and logger name; SEG_SITE frames define the
 *     segment's call sites by the segment's own ids. The reader merges a
 *     CYCLE's spans into one time order: within a span records keep their
 *     order, each gets a merge key (its stamp in UTC ns, or the highest key
 *     of its span so far when that is higher), and records come out by merge
 *     key, ties to the earlier span. That is the collector's merge
 *     (shared/reader.h), so a CYCLE decodes in the order the line writers
 *     wrote the same records. A record whose site the file does not define
 *     decodes as the collector shows it: "[shmlog: record with unknown
 *     call-site id N]". Version 1 files (no SEGMENT, SEG_SITE or CYCLE)
 *     are read as well.
 *  9. Bytes before the first file header, then a writer's start: the file
 *     was truncated under its writer (logrotate's copytruncate) and a write
 *     landed before the writer saw it (a writer sees a truncation before a
 *     write, and starts the file again with a header and the definitions in
 *     force; older ones went on with what they had taken); those records
 *     cannot be decoded without the definitions truncated away: dropped, up
 *     to that start.
 *
 * File header (24 bytes):
 *
 *   off size field
 *     0    8 magic          BINLOG_MAGIC, "SHMLOGB\0"
 *     8    2 version_major  BINLOG_VERSION_MAJOR: a reader refuses another one, naming both
 *    10    2 version_minor  BINLOG_VERSION_MINOR: additions a reader may ignore
 *    12    4 header_bytes   BINLOG_HEADER_BYTES
 *    16    8 created_ns     when the writer started this file (UTC ns)
 *
 * Frame header (8 bytes), then the body of its kind:
 *
 *     0    4 frame_bytes    the whole frame, header included
 *     4    2 kind           BINLOG_SESSION .. BINLOG_TEXT
 *     6    2 flags          BINLOG_FLAG_* (RECORD, TEXT); 0 otherwise
 *
 * SESSION (kind 1; 24 bytes): who writes what follows.
 *     8    4 pid            the collector's process id
 *    12    4 reserved       0
 *    16    8 start_ns       when the writer opened (UTC ns)
 *
 * SITE (kind 2; 32 bytes + strings): a call site.
 *     8    4 site_id
 *    12    1 level          1..6, SHMLOG_LEVEL_*
 *    13    1 n_fields       0..SHMLOG_MAX_FIELDS
 *    14    2 reserved       0
 *    16    4 line
 *    20    4 fmt_len        the format string, printf syntax (fmt.h), at 32
 *    24    4 file_len       the source file name, after the format
 *    28    4 fdesc_len      the field descriptor of shared/abi.h (count; per field kind, key
 *                           length, key), after the file name; 0 when n_fields is 0
 *    32    . fmt, file, fdesc
 *   The argument kinds are the format's: both sides parse it with fmt_parse().
 *
 * SOURCE (kind 3; 24 bytes + name): who logged (one per producer thread).
 *     8    4 source_id
 *    12    4 pid
 *    16    4 tid
 *    20    4 name_len       the logger name, at 24
 *    24    . name
 *
 * RECORD (kind 4; 24 bytes + arguments): a record of a call site.
 *     8    4 site_id
 *    12    4 source_id
 *    16    8 ts_ns
 *    24    . argument bytes, frame_bytes - 24 of them, as in the ring
 *
 * TEXT (kind 5; 40 bytes + strings + fields): a record with its message as text.
 *     8    4 source_id
 *    12    1 level          0..7
 *    13    1 n_fields       0..TEXT_MAX_FIELDS
 *    14    2 reserved       0
 *    16    8 ts_ns
 *    24    4 line
 *    28    4 file_len       (BINLOG_FLAG_FILE: there is a file name, possibly empty)
 *    32    4 msg_len
 *    36    4 reserved       0
 *    40    . file, message, then n_fields fields, each:
 *              0 1 type     TEXT_FIELD_* (text.h)
 *              1 1 flags    BINLOG_FIELD_NULL, BINLOG_FIELD_TRUNCATED
 *              2 2 key_len  1..255
 *              4 4 value_len 8 for a number or bool (little-endian i64 / u64 / f64 bits / 0-1),
 *                           the bytes of a string
 *              8 . key, value
 *
 * SEGMENT (kind 6; 48 bytes + name): a producer process's segment, for the CYCLE frames after it.
 *     8    4 seg_id         given in order from 0 (numbered apart from sites and sources)
 *    12    4 pid
 *    16    4 flags          BINLOG_SEG_TSC: stamps are TSC ticks, converted with the calibration
 *    20    4 name_len       the logger name, at 48
 *    24    8 calib_tsc      the calibration (shared/clock.h) that converts the stamps of the CYCLE
 *    32    8 calib_ns       frames after it: UTC ns = calib_ns + (stamp - calib_tsc) * calib_mult / 2^32
 *    40    8 calib_mult     (clock_to_ns); ignored without BINLOG_SEG_TSC
 *    48    . name
 *   A later SEGMENT frame of the same id replaces its pid, name and calibration (the collector
 *   refines its calibration); the sites defined for it stay.
 *
 * SEG_SITE (kind 7; 40 bytes + strings): a call site of a segment, by the id its records carry.
 *     8    4 seg_id
 *    12    4 site_id        < SHMLOG_MAX_SITES_MAX
 *    16    1 level          1..6
 *    17    1 n_fields       0..SHMLOG_MAX_FIELDS
 *    18    2 reserved       0
 *    20    4 line
 *    24    4 fmt_len
 *    28    4 file_len
 *    32    4 fdesc_len      as in SITE
 *    36    4 err_len        0, or the format was refused: why, after fdesc; its records decode to
 *                           the collector's message saying so (seg_decode_site)
 *    40    . fmt, file, fdesc, err
 *
 * CYCLE (kind 8; 16 bytes + spans): records as producer threads wrote them (rule 8).
 *    8     4 n_spans        1..BINLOG_SPANS_MAX
 *    12    4 reserved       0
 *    16    . spans, each 16 bytes + its records:
 *              0 4 seg_id   a SEGMENT defined before
 *              4 4 tid      the thread that wrote them
 *              8 4 bytes    of records, a multiple of 8
 *             12 4 reserved 0
 *             16 . records as in a ring (shared/abi.h: u32 size, u32 site, u64 stamp,
 *                  arguments; a padding record, site SHMLOG_SITE_PAD, only skips its size)
 */
#ifndef SHMLOG_BINLOG_H
#define SHMLOG_BINLOG_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"
#include "segment.h"
#include "text.h"

#define BINLOG_MAGIC "SHMLOGB" /* with its NUL: 8 bytes */
#define BINLOG_MAGIC_BYTES 8u
#define BINLOG_VERSION_MAJOR 2u
#define BINLOG_VERSION_MAJOR_MIN 1u /* the oldest a reader still reads */
#define BINLOG_VERSION_MINOR 0u
#define BINLOG_HEADER_BYTES 24u
#define BINLOG_FRAME_HEADER_BYTES 8u
#define BINLOG_FRAME_MAX (1u << 30)

static_assert(sizeof BINLOG_MAGIC == BINLOG_MAGIC_BYTES, "the magic is 8 bytes with its NUL");
static_assert(((uint32_t)'S' | (uint32_t)'H' << 8 | (uint32_t)'M' << 16 | (uint32_t)'L' << 24) > BINLOG_FRAME_MAX,
	      "a file header never reads as a frame (rule 2)");

enum binlog_kind {
	BINLOG_SESSION = 1,
	BINLOG_SITE = 2,
	BINLOG_SOURCE = 3,
	BINLOG_RECORD = 4,
	BINLOG_TEXT = 5,
	BINLOG_SEGMENT = 6,
	BINLOG_SEG_SITE = 7,
	BINLOG_CYCLE = 8,
};

#define BINLOG_SESSION_BYTES 24u
#define BINLOG_SITE_BYTES 32u
#define BINLOG_SOURCE_BYTES 24u
#define BINLOG_RECORD_BYTES 24u
#define BINLOG_TEXT_BYTES 40u
#define BINLOG_FIELD_BYTES 8u
#define BINLOG_SEGMENT_BYTES 48u
#define BINLOG_SEG_SITE_BYTES 40u
#define BINLOG_CYCLE_BYTES 16u
#define BINLOG_SPAN_BYTES 16u
#define BINLOG_SPANS_MAX 65536u
#define BINLOG_SEG_TSC 1u

#define BINLOG_FLAG_CONSUMED 1u /* text_record.consumed */
#define BINLOG_FLAG_FILE 2u     /* TEXT: text_record.file is set */
#define BINLOG_FIELD_NULL 1u
#define BINLOG_FIELD_TRUNCATED 2u

/* ---- writing: each appends one unit to out; 0 or -ENOMEM (out unchanged) ---- */

int binlog_put_header(struct sbuf *out, uint64_t created_ns);
int binlog_put_session(struct sbuf *out, uint32_t pid, uint64_t start_ns);
/* A SITE frame for st, a site of a segment whose format was accepted (st->err NULL). */
int binlog_put_site(struct sbuf *out, uint32_t id, const struct seg_site *st);
int binlog_put_source(struct sbuf *out, uint32_t id, uint32_t pid, uint32_t tid, const char *name,
		      size_t name_len);
/* A RECORD frame for tr, whose message is lazy with its raw arguments (tr->lazy->raw_args). */
int binlog_put_record(struct sbuf *out, uint32_t site, uint32_t source, const struct text_record *tr);
/* A TEXT frame for tr, its message as text (text_record_msg). */
int binlog_put_text(struct sbuf *out, uint32_t source, const struct text_record *tr);
/* A SEGMENT frame: segment id for s, its stamps converted with cal. */
int binlog_put_segment(struct sbuf *out, uint32_t id, const struct seg *s, const struct clock_calib *cal);
/* A SEG_SITE frame: site site_id of segment seg_id, st (parsed; refused formats too: st->err). */
int binlog_put_seg_site(struct sbuf *out, uint32_t seg_id, uint32_t site_id, const struct seg_site *st);
/*
 * A CYCLE frame's header for n spans of bytes record bytes in all, then span
 * by span: binlog_put_span's header, then that span's record bytes appended
 * by the caller (binlog_span_bytes: where they go). Each returns 0 or -ENOMEM.
 */
int binlog_put_cycle(struct sbuf *out, uint32_t n, uint64_t bytes);
int binlog_put_span(struct sbuf *out, uint32_t seg_id, uint32_t tid, uint32_t bytes);

/* ---- reading ---- */

struct binlog_source {
	uint32_t pid, tid;
	char *name;
	uint32_t name_len;
};

struct binlog_seg; /* a SEGMENT's definitions (binlog_cycle.c) */

/* A record of a CYCLE frame, in place in the frame (rule 8). */
struct binlog_cand {
	uint64_t ts_ns, key;
	struct seg_rec r;
};

/* A CYCLE frame being read: its records by span, cands[span_end[k-1]..span_end[k]). */
struct binlog_cycle {
	struct binlog_cand *cands;
	uint32_t n_cands, cap_cands;
	struct binlog_span_at { uint32_t cur, end, tid; struct binlog_seg *seg; } *spans;
	uint32_t n_spans, cap_spans;
};

/* What a reader knows at one point of a file: the definitions, and one decoded record. */
struct binlog_reader {
	struct seg_site **sites; /* by id, NULL where not defined */
	uint32_t n_sites;
	struct binlog_source *sources; /* by id, name NULL where not defined */
	uint32_t n_sources;
	struct binlog_seg **segs; /* by id, NULL where not defined */
	uint32_t n_segs;
	struct binlog_cycle cycle; /* the CYCLE frame last read: binlog_cycle_next */
	bool header_seen;
	struct text_field fields[TEXT_MAX_FIELDS]; /* a TEXT frame's */
	struct seg_space sp;
	struct sbuf msg;
	char err[256]; /* why the last binlog_next failed: one line, no path */
};

void binlog_reader_init(struct binlog_reader *rd);
void binlog_reader_free(struct binlog_reader *rd);

/*
 * Where the frame at p (avail bytes there) was cut short by its writer's
 * end and a restart appended after it (rule 7): the offset from p of a
 * writer's start (a file header, then its SESSION frame) that begins inside
 * the span the frame claims, at from or later (the bytes before were looked
 * at already). Returns it, 0 if none begins there (or p is no frame), or -1
 * when more bytes must be read to tell; with 0, *done is how far from p the
 * span was searched.
 */
long long binlog_restart_in(const uint8_t *p, size_t avail, size_t from, size_t *done);

/*
 * The unit head at p (avail bytes there): 2 for a file header
 * (BINLOG_HEADER_BYTES), 1 for a frame, its size and kind into *size and
 * *kind (its size in range), 0 for neither, -1 when more bytes must be read.
 */
int binlog_unit_head(const uint8_t *p, size_t avail, uint32_t *size, uint16_t *kind);

/* Whether frames of kind define something (rule 4: SITE, SOURCE, SEGMENT, SEG_SITE). */
static inline bool binlog_kind_defines(uint16_t kind)
{
	return kind == BINLOG_SITE || kind == BINLOG_SOURCE || kind == BINLOG_SEGMENT || kind == BINLOG_SEG_SITE;
}

/* Whether a writer's start (a file header, then its SESSION frame) begins at p, n bytes there: 1 it does,
 * 0 it does not (the n bytes already tell), -1 too few bytes to tell. */
int binlog_writer_start(const uint8_t *p, size_t n);

/*
 * Read the unit at p (avail bytes there, the rest of the file so far).
 * Returns its length with *tr filled when it is a record (*is_record true),
 * its length when it is a definition, a header or a session (*is_record
 * false), 0 when avail does not hold the whole unit (more bytes, or a torn
 * tail), or -EPROTO with rd->err filled when it is not a valid unit. *tr
 * points into rd and p until the next call.
 */
long long binlog_next(struct binlog_reader *rd, const uint8_t *p, size_t avail, struct text_record *tr,
		      bool *is_record);

/*
 * After a binlog_next that read a CYCLE frame (is_record false): its next
 * record in merge order into *tr, which points into rd and the frame (p)
 * until the next call. Returns true, or false when the cycle has no more
 * (after any other unit, at once).
 */
bool binlog_cycle_next(struct binlog_reader *rd, struct text_record *tr);

#endif
