/*
 * segment.h — opening a segment as a reader (the collector, the CLI) and
 * walking its rings.
 *
 * A reader trusts nothing in the file: seg_open() checks the magic, the ABI
 * version, every size and offset against the file's real size and against
 * fixed limits, and the file's owner, before anything else looks at it. The
 * validated layout is copied out of the header, so a producer that rewrites
 * its header later cannot move a reader outside the mapping. Record walking
 * (seg_ring_next) checks every record's size against the ring and the
 * published tail; call-site entries are bounds-checked and their strings
 * copied before parsing.
 */
#ifndef SHMLOG_SEGMENT_H
#define SHMLOG_SEGMENT_H

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi.h"
#include "clock.h"
#include "fmt.h"
#include "sbuf.h"
#include "text.h"

/*
 * What a reader spends on a segment's call sites, at most: a format longer
 * than SEG_FORMAT_MAX is refused (its first SEG_FORMAT_SHOWN bytes are kept,
 * to show), a file name is cut at SEG_FILE_MAX, and once a segment's sites
 * take SEG_SITES_MEMORY_MAX its further sites are refused without memory.
 */
#define SEG_FORMAT_MAX (64u << 10)
#define SEG_FORMAT_SHOWN 256u
#define SEG_FILE_MAX 4096u
#define SEG_SITES_MEMORY_MAX (32u << 20)

/* A parsed call site, owned by the reader. */
struct seg_site {
	int level;
	uint32_t line;
	char *fmt;  /* copy of the format, NUL-terminated */
	uint32_t fmt_len;
	char *file; /* copy of the source file name */
	uint32_t file_len;
	const char *err; /* the format was refused: why (static); pf unused then */
	struct fmt_parsed pf;
	uint32_t n_fields; /* structured fields (SHMLOG_*_KV), 0..TEXT_MAX_FIELDS */
	struct text_field fields[TEXT_MAX_FIELDS]; /* their keys (into fdesc) and types; no values */
	char *fdesc; /* copy of the field descriptor, NULL if none */
	uint64_t serial; /* unique among the sites of this process (never reused): identity for a binary log */
	bool lazy; /* !err && pf.bounded && !n_fields, set by seg_site_done(): its message renders as it decodes */
};

/* Set what is derived from a parsed site (st->lazy); call once its err, pf and fields are set. */
void seg_site_done(struct seg_site *st);

/*
 * Parse st->fdesc (len bytes, the field descriptor of shared/abi.h) into
 * st->fields and st->n_fields: count 1..SHMLOG_MAX_FIELDS, known kinds, keys
 * of 1..255 bytes inside len. Returns false when it is malformed.
 */
bool seg_site_fields(struct seg_site *st, uint32_t len);


struct seg {
	uint64_t serial; /* unique among the segments this process opened (from 1): identity for a binary log */
	char path[PATH_MAX];
	int fd;
	uint8_t *base;
	uint64_t size;
	struct shmlog_seg_header *hdr;
	/* validated copies of the header */
	uint32_t pid, uid;
	uint32_t owner, group; /* of the file, as opened */
	uint64_t start_time;
	uint64_t created_ns; /* CLOCK_REALTIME at the segment's creation, as its header says */
	char name[SHMLOG_NAME_BYTES];
	size_t name_len;
	bool tsc;
	bool bell; /* the producer rings ring bells (SHMLOG_SEG_BELL) */
	bool locked; /* its producer holds the liveness lock while it runs (SHMLOG_SEG_LOCK) */
	uint32_t ring_count, ring_bytes, max_sites, strings_bytes;
	uint64_t rings_off, data_off, sites_off, strings_off;
	struct seg_site **sites; /* lazily parsed; sites_cap slots (<= max_sites), grown as ids come */
	uint32_t sites_cap;
	uint64_t sites_bytes;    /* what the parsed sites take (SEG_SITES_MEMORY_MAX) */
	bool sites_oom;          /* the last seg_site_parse() failed for want of memory, not a bad entry */
	volatile sig_atomic_t bus_fault; /* the file shrank under the mapping (seg_guard_install) */
};

/*
 * Survive producers that truncate their segment while it is mapped: after
 * this, every segment seg_open() maps is registered, and a SIGBUS inside one
 * of them maps zero pages over that whole mapping (the access then completes
 * and reads zeros) and sets its bus_fault, for the caller to reject it. Any
 * other SIGBUS keeps its default action. For the collector, which must not
 * die because of a producer. Returns 0 or -errno.
 */
int seg_guard_install(void);

/*
 * Open and validate the segment at path, mapping it writable when writable is
 * true (the collector publishes consumed positions). On failure err holds one
 * line naming the path and the reason (for an ABI mismatch both versions).
 * Returns 0, -EPROTO (bad magic, version or layout), -EPERM (owner),
 * -EAGAIN (not initialised yet), or the -errno of open/fstat/mmap.
 */
int seg_open(struct seg *s, const char *path, bool writable, char *err, size_t errlen);

/*
 * seg_open, but with any_owner the file may belong to anyone: the caller
 * applies its own policy to s->owner (the collector's allow_users). Returns
 * as seg_open does.
 */
int seg_open_as(struct seg *s, const char *path, bool writable, bool any_owner, char *err, size_t errlen);

/* Unmap and free. */
void seg_close(struct seg *s);

static inline struct shmlog_ring_header *seg_ring(const struct seg *s, uint32_t i)
{
	return (struct shmlog_ring_header *)(s->base + s->rings_off + (uint64_t)i * SHMLOG_RING_HEADER_BYTES);
}

static inline const uint8_t *seg_ring_data(const struct seg *s, uint32_t i)
{
	return s->base + s->data_off + (uint64_t)i * s->ring_bytes;
}

/* The call site with this id, parsed; NULL if the id is out of range, not
 * registered, or its entry is malformed. */
const struct seg_site *seg_site_parse(struct seg *s, uint32_t id);

/* seg_site_parse(), with a site parsed before found inline: once per record. */
static inline const struct seg_site *seg_site(struct seg *s, uint32_t id)
{
	return id < s->sites_cap && s->sites[id] ? s->sites[id] : seg_site_parse(s, id);
}

/* A record seen in place in a ring. */
struct seg_rec {
	uint32_t size;       /* bytes to advance past it */
	uint32_t site;       /* site id or SHMLOG_SITE_LOSS */
	uint64_t ts;         /* in the segment's clock */
	const uint8_t *args; /* argument bytes */
	uint32_t args_len;
};

/*
 * The record at *pos in ring i, given the published tail; padding records
 * are skipped (advancing *pos). Returns 1 with *r filled (the caller advances
 * *pos by r->size), 0 when *pos reached tail, or -EINVAL when the ring is
 * corrupt at *pos (*why says how).
 */
int seg_ring_next(const struct seg *s, uint32_t i, uint64_t *pos, uint64_t tail, struct seg_rec *r,
		  const char **why);

/*
 * Count the records (loss records excluded) in ring i from head to tail, at
 * most a ring size apart (a walk further would go round the ring's data
 * again, for ever where its records follow on from lap to lap). Returns the
 * count, or -EINVAL if the positions are further apart or behind each other,
 * or the ring is corrupt on the way (*why).
 */
long long seg_ring_count(const struct seg *s, uint32_t i, uint64_t head, uint64_t tail, const char **why);

/* A ring's positions, checked: returns false (and *why) if tail - head is
 * impossible. */
bool seg_ring_positions(const struct seg *s, uint32_t i, uint64_t *head, uint64_t *tail, const char **why);

/* Caller storage for one decoded record: seg_decode()'s text_record points into it. */
struct seg_space {
	struct text_field fields[TEXT_MAX_FIELDS]; /* tr->fields */
	struct fmt_arg args[SHMLOG_MAX_ARGS];      /* the message's arguments (tr->lazy) */
	struct text_msg msg;                       /* tr->lazy */
};

/*
 * The message and fields of record r from site st into *tr (whose level,
 * name, ... the caller filled): lazy in sp->msg, or one of shmlog's own in
 * msg (a refused format, malformed arguments or fields). Returns nothing.
 */
void seg_decode_site(const struct seg_site *st, const struct seg_rec *r, struct sbuf *msg,
		     struct text_record *tr, struct seg_space *sp);

/*
 * Decode record r (from a ring whose owner thread is tid) and fill *tr to
 * print it: level, name, pid, tid, call site, its message and its structured
 * fields, decoded into sp (tr points there, string values into r's bytes,
 * keys into s's copy of the site). The message is left for the line writers
 * to render (tr->lazy, raw into msg on demand: text_record_msg()) unless it
 * is one of shmlog's own: a loss record becomes "N records lost (ring full)";
 * a record with an unknown call site, a refused format, malformed arguments
 * or malformed field values becomes a message saying so, with no fields
 * (never a crash), written into msg. Returns the number of records a loss
 * record reports, 0 for any other record.
 */
uint64_t seg_decode(struct seg *s, uint32_t tid, const struct seg_rec *r, uint64_t ts_ns, struct sbuf *msg,
		    struct text_record *tr, struct seg_space *sp);

/* As seg_decode(), with the message always rendered raw into msg (reset first) and in tr->msg. */
uint64_t seg_render(struct seg *s, uint32_t tid, const struct seg_rec *r, uint64_t ts_ns, struct sbuf *msg,
		    struct text_record *tr, struct seg_space *sp);

/*
 * Fill *tr for a line a reader writes about segment s itself rather than a
 * record (how the process ended, drops no loss record reported): stamped
 * now, message formatted into buf[cap].
 */
void seg_notice(const struct seg *s, uint32_t tid, int level, struct text_record *tr, char *buf, size_t cap,
		const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));

/*
 * Create dir and its missing parents. The last component gets mode 1777
 * (sticky, world-writable, like /tmp) when world is true — the shared default
 * directory, where every user's processes log — else 0700. Returns 0 or -errno
 * (-ENOTDIR when something else than a directory is in its place).
 */
int seg_mkdir_p(const char *dir, bool world);

/*
 * Whether the producer of s still holds its liveness lock (shared/abi.h
 * SHMLOG_SEG_LOCK), which tells whether it runs whatever pid namespace it
 * is in. Returns 1 (it runs), 0 (it ended, exec'd or closed its logger), or
 * -1 when the lock tells nothing: a producer that did not take one (an
 * older library, a file system without locks) or a query that failed.
 */
int seg_lock_held(const struct seg *s);

/* Whether the producer closed its logger (nothing more will be written). Returns that. */
bool seg_closed(const struct seg *s);

/* Start time of a process (field 22 of /proc/PID/stat), 0 if unknown. */
uint64_t seg_proc_start_time(pid_t pid);

/*
 * Whether process pid, started at start_time, runs with an address space
 * (not a zombie, not past the start of its exit): a producer found so with
 * its liveness lock free has exec'd another program. Returns that.
 */
bool seg_proc_runs_on(pid_t pid, uint64_t start_time);

/* The calibration to convert this segment's timestamps (from its header). */
bool seg_clock(const struct seg *s, struct clock_calib *c);

/* UTC ns of a record timestamp using c (ignored for realtime segments). */
static inline uint64_t seg_ts_ns(const struct seg *s, const struct clock_calib *c, uint64_t ts)
{
	return s->tsc ? clock_to_ns(c, ts) : ts;
}

#endif
