/*
 * decode.c — `shmlog decode [--json] FILE...`: print a binary log
 * (shared/binlog.h) exactly as the collector's text or JSON writer would
 * have printed the same records.
 *
 * Each unit is turned back into the collector's struct text_record by
 * binlog_next() (seg_decode_site for a record of a call site) and printed by
 * text_append(), the code the line writers use: the same bytes by
 * construction. A file compressed by the rotation layer (zstd magic) is
 * decompressed as it streams (libzstd), never whole in memory.
 *
 * A file that ends inside a unit (the collector killed mid-write) prints
 * every complete record, then one line on stderr saying how many bytes were
 * dropped; that is not an error. Nor is such a unit followed by what the
 * restarted collector appended (restart_inside): decoding goes on there. A
 * file that breaks the format anywhere else (garbage, a header cut short, an
 * unknown version) gets one line naming the file and the byte offset, after
 * the records before it, and exit status 1; in a .zst file, the decompressed
 * offset, or for damage to the zstd stream itself the compressed one
 * (src_unzstd).
 *
 * The decoder also takes bytes fed to it (decode_new/feed/end), which is how
 * `shmlog decrypt` prints the plaintext of an encrypted binary log.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "shared/binlog.h"
#include "shared/text.h"
#include "tools/cli.h"

#define DECODE_CHUNK (256u * 1024u)     /* bytes read (or decompressed) at a time */
#define DECODE_FLUSH (64u * 1024u)      /* write the output out beyond this */
#define DECODE_ZSTD_HEADER 18u          /* a zstd frame header at most (ZSTD_FRAMEHEADERSIZE_MAX) */
static const unsigned char zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

const char usage_decode[] =
	"usage: shmlog decode [--json] FILE...\n"
	"\n"
	"Print the records of each binary log FILE (a writer of type \"binary\"),\n"
	"exactly as a text (or, with --json, JSON) writer would have printed them.\n"
	"Rotated files compressed with zstd (.zst) are read directly. A file cut\n"
	"short by a crash prints its complete records and one line saying how many\n"
	"bytes were dropped.\n"
	"\n"
	"  -j, --json   print JSON lines instead of text\n"
	"  -h, --help   print this help\n";

/* A file being read: plain, or through a zstd stream. */
struct src {
	const char *path;
	int fd;
	ZSTD_DStream *z;
	uint8_t in[DECODE_CHUNK];
	size_t have;        /* bytes in in[] */
	uint64_t in_at;     /* the file offset of in[0] */
	ZSTD_inBuffer zin;  /* in[0..have), of which the decoder is given up to zin.size */
	size_t zret;        /* the last ZSTD_decompressStream's hint: the input it wants next, 0 at a frame's end */
};

/* read() into dst, retrying EINTR. Returns the count (0 at the end) or -1 (said). */
static ssize_t src_read_raw(struct src *s, void *dst, size_t cap)
{
	ssize_t n;
	while ((n = read(s->fd, dst, cap)) < 0 && errno == EINTR)
		;
	if (n < 0)
		complain("%s: read failed: %s", s->path, strerror(errno));
	return n;
}

/*
 * Up to cap decompressed bytes into dst. The decoder is given no more input
 * than its hint asks for (the rest of a block and the next block's header, or
 * a frame header), so that damage is named by the compressed offset of the
 * frame or block where decoding failed (the damage is in it, or in the next
 * block's header), not of a whole read. Returns the count (0 at the end) or
 * -1 (said).
 */
static long long src_unzstd(struct src *s, uint8_t *dst, size_t cap)
{
	ZSTD_outBuffer zout = {dst, cap, 0};
	while (zout.pos == 0) {
		if (s->zin.pos == s->have) {
			ssize_t n = src_read_raw(s, s->in, sizeof s->in);
			if (n <= 0 && s->zret == 0)
				return n; /* the end, after a whole frame */
			if (n <= 0) {
				if (n == 0)
					complain("%s: at byte %llu: the zstd stream is cut short (its last frame is "
						 "unfinished)", s->path, (unsigned long long)(s->in_at + s->have));
				return -1;
			}
			s->in_at += s->have;
			s->have = (size_t)n;
			s->zin = (ZSTD_inBuffer){s->in, 0, 0};
		}
		size_t want = s->zret ? s->zret : DECODE_ZSTD_HEADER;
		s->zin.size = s->have - s->zin.pos < want ? s->have : s->zin.pos + want;
		unsigned long long at = s->in_at + s->zin.pos;
		s->zret = ZSTD_decompressStream(s->z, &zout, &s->zin);
		if (ZSTD_isError(s->zret)) {
			complain("%s: at byte %llu: not a valid zstd stream: %s", s->path, at, ZSTD_getErrorName(s->zret));
			return -1;
		}
	}
	return (long long)zout.pos;
}

/* Up to cap bytes of the file's content into dst. Returns the count (0 at the end) or -1 (said). */
static long long src_read(struct src *s, uint8_t *dst, size_t cap)
{
	return s->z ? src_unzstd(s, dst, cap) : src_read_raw(s, dst, cap);
}

/* Open path, a regular file (a FIFO or a device is refused, not waited on); a zstd file gets a stream.
 * Returns 0 or -1 (said). */
static int src_open(struct src *s, const char *path)
{
	struct stat st;
	s->path = path;
	if ((s->fd = open_regular(path, NULL, &st)) < 0)
		return -1;
	unsigned char m[4];
	ssize_t n = pread(s->fd, m, sizeof m, 0);
	if (n == (ssize_t)sizeof m && memcmp(m, zstd_magic, sizeof m) == 0) {
		if (!(s->z = ZSTD_createDStream()) || ZSTD_isError(ZSTD_initDStream(s->z))) {
			complain("%s: out of memory", path);
			return -1;
		}
	}
	return 0;
}

static void src_close(struct src *s)
{
	if (s->z)
		ZSTD_freeDStream(s->z);
	if (s->fd >= 0)
		close(s->fd);
}

/* What decoding one file needs. */
struct dec {
	struct src src;
	struct binlog_reader rd;
	uint8_t *buf;       /* bytes read and not yet decoded: buf[0..len) */
	size_t len, cap;
	uint64_t offset;    /* file offset (decompressed) of buf[0] */
	struct out *o;
	enum text_format format;
	uint64_t unshown;   /* records printed without their message (out of memory) */
	uint64_t searched;  /* file offset up to which the unit at buf[0] was searched for a restart */
	uint64_t zeros;     /* zero bytes where a unit would start, dropped from buf (binlog.h rule 7)... */
	uint64_t zeros_at;  /* ...from this file offset */
	uint64_t headless;  /* bytes before the first file header, dropped (binlog.h rule 9) */
};

/* Print tr as the line writers would, writing the output out past DECODE_FLUSH. Returns 0 or -1 (said). */
static int put_line(struct dec *d, const struct text_record *tr)
{
	text_append(&d->o->buf, tr, d->format, false);
	d->unshown += tr->lazy && tr->lazy->oom;
	return d->o->buf.len > DECODE_FLUSH ? out_flush(d->o) : 0;
}

/*
 * Before the first file header: whether the one at d->buf + at was cut short
 * (fewer than its 24 bytes, a prefix of a header) by its collector's end and
 * a restart appended after it. Returns the restart's offset in buf, 0 if
 * none (a whole header, or garbage that binlog_next says is no log), or -1
 * if more bytes must be read.
 */
static long long torn_first_header(const struct dec *d, size_t at)
{
	const uint8_t *p = d->buf + at;
	size_t avail = d->len - at;
	if (binlog_writer_start(p, avail) == 1)
		return 0;
	for (size_t q = 1; q < BINLOG_HEADER_BYTES && q < avail; q++) {
		if (memcmp(p, BINLOG_MAGIC, q < BINLOG_MAGIC_BYTES ? q : BINLOG_MAGIC_BYTES) != 0)
			return 0; /* p is no header's prefix */
		int s = binlog_writer_start(p + q, avail - q);
		if (s != 0)
			return s < 0 ? -1 : (long long)(at + q);
	}
	return 0;
}

/*
 * Whether the frame at d->buf + at was cut short by the collector's end and
 * a restart appended after it (binlog_restart_in). Each byte of a unit is
 * searched once, however many reads it takes to arrive. Returns the
 * restart's offset in buf, 0 if none, or -1 if more bytes must be read.
 */
static long long restart_inside(struct dec *d, size_t at)
{
	if (!d->rd.header_seen)
		return torn_first_header(d, at);
	size_t from = 1;
	if (d->searched > d->offset + at + BINLOG_MAGIC_BYTES) /* a magic may straddle what was searched */
		from = (size_t)(d->searched - d->offset - at) - BINLOG_MAGIC_BYTES + 1;
	size_t done;
	long long r = binlog_restart_in(d->buf + at, d->len - at, from, &done);
	if (r == 0 && done)
		d->searched = d->offset + at + done;
	return r > 0 ? (long long)at + r : r;
}

/*
 * Zero bytes where the unit at d->buf + at would start (a crash left them
 * unwritten, rule 7): drop them, and once a byte that is not zero shows up,
 * it must be a restart's writer start. Returns where decoding goes on, -1
 * if more bytes must be read, or -2 when garbage follows the zeros (said).
 */
static long long skip_zeros(struct dec *d, size_t at)
{
	size_t q = at;
	while (q < d->len && d->buf[q] == 0)
		q++;
	if (!d->zeros)
		d->zeros_at = d->offset + at;
	d->zeros += q - at;
	if (q == d->len)
		return (long long)q; /* all dropped: more zeros, or the end (check_end says so) */
	int s = binlog_writer_start(d->buf + q, d->len - q);
	if (s < 0)
		return q == at ? -1 : (long long)q;
	if (s == 0) {
		complain("%s: at byte %llu: %llu zero bytes, then bytes that are no unit", d->src.path,
			 (unsigned long long)d->zeros_at, (unsigned long long)d->zeros);
		return -2;
	}
	complain("%s: at byte %llu: %llu zero bytes (space a crash left unwritten), then a restart's file header at "
		 "byte %llu; dropped",
		 d->src.path, (unsigned long long)d->zeros_at, (unsigned long long)d->zeros,
		 (unsigned long long)(d->offset + q));
	d->zeros = 0;
	return (long long)q;
}

/* Whether the unit at d->buf + at (the file header, before one was seen) is a run of zeros (a frame header of
 * them: no frame is 0 bytes, no header starts with one), or goes on with one. */
static bool at_zeros(const struct dec *d, size_t at)
{
	static const uint8_t zero[BINLOG_FRAME_HEADER_BYTES];
	if (d->zeros)
		return true;
	return d->len - at >= sizeof zero && memcmp(d->buf + at, zero, sizeof zero) == 0;
}

/*
 * Before the first file header: bytes that do not start one are dropped up
 * to the next writer's start (binlog.h rule 9), which says how many once it
 * is there. Returns where decoding goes on when bytes were dropped, 0 to
 * read what is at at (a file header), or -1 if more bytes must be read.
 */
static long long headless(struct dec *d, size_t at)
{
	const uint8_t *p = d->buf + at;
	size_t avail = d->len - at, from = 0;
	if (!d->headless && d->offset + at == 0 && !memchr(p, 0, avail < 4096 ? avail : 4096))
		return 0; /* no NUL byte: text, never a binary log's frames (binlog_next refuses it) */
	if (avail >= BINLOG_MAGIC_BYTES && memcmp(p, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0) {
		int s = d->headless ? binlog_writer_start(p, avail) : 1;
		if (s < 0)
			return -1;
		if (s == 1 && d->headless)
			complain("%s: the first %llu bytes are no units under a file header (the file was truncated under "
				 "its collector, as logrotate's copytruncate does): dropped",
				 d->src.path, (unsigned long long)d->headless);
		if (s == 1) {
			d->headless = 0;
			return 0;
		}
		from = 1; /* a magic, but no writer's start: search on after it */
	}
	const uint8_t *m = avail > from ? memmem(p + from, avail - from, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) : NULL;
	size_t drop = m ? (size_t)(m - p) : avail > BINLOG_MAGIC_BYTES - 1 ? avail - (BINLOG_MAGIC_BYTES - 1) : 0;
	if (!drop) /* what is left may begin a magic */
		return -1;
	d->headless += drop;
	return (long long)(at + drop);
}

/* Decode the complete units in d->buf and print the records. Returns 0, or -1 on garbage (said). */
static int decode_units(struct dec *d)
{
	size_t at = 0;
	while (at < d->len) {
		struct text_record tr;
		bool is_record;
		long long r;
		if (at_zeros(d, at)) {
			if ((r = skip_zeros(d, at)) == -2)
				return -1;
			if (r < 0 || d->zeros) { /* more bytes must tell */
				at = r < 0 ? at : (size_t)r;
				break;
			}
			at = (size_t)r;
			continue;
		}
		r = restart_inside(d, at);
		if (r == 0 && !d->rd.header_seen && (r = headless(d, at)) > 0) {
			at = (size_t)r;
			continue;
		}
		if (r < 0)
			break;
		if (r > 0) {
			complain("%s: at byte %llu: a unit cut short (its collector ended mid-write), then a restart's file "
				 "header at byte %llu; the %llu bytes between dropped",
				 d->src.path, (unsigned long long)(d->offset + at), (unsigned long long)(d->offset + r),
				 (unsigned long long)((size_t)r - at));
			at = (size_t)r;
			continue;
		}
		long long n = binlog_next(&d->rd, d->buf + at, d->len - at, &tr, &is_record);
		if (n < 0) {
			complain("%s: at byte %llu: %s", d->src.path, (unsigned long long)(d->offset + at), d->rd.err);
			return -1;
		}
		if (n == 0)
			break;
		if (is_record && put_line(d, &tr) < 0)
			return -1;
		while (!is_record && binlog_cycle_next(&d->rd, &tr)) /* a CYCLE frame's records */
			if (put_line(d, &tr) < 0)
				return -1;
		at += (size_t)n;
	}
	memmove(d->buf, d->buf + at, d->len - at);
	d->len -= at;
	d->offset += at;
	return 0;
}

/* Room for need more bytes in d->buf (a unit may be larger). Returns 0 or -1 (said). */
static int dec_room(struct dec *d, size_t need)
{
	if (d->cap - d->len >= need)
		return 0;
	size_t cap = d->cap ? d->cap * 2 : 2 * DECODE_CHUNK;
	while (cap - d->len < need)
		cap *= 2;
	uint8_t *b = realloc(d->buf, cap);
	if (!b) {
		complain("%s: out of memory", d->src.path);
		return -1;
	}
	d->buf = b;
	d->cap = cap;
	return 0;
}

/* The end of the file: a torn tail is said, a file without a whole header is an error, and so are records
 * printed without their message. Returns 0 or -1. */
static int check_end(struct dec *d)
{
	if (d->unshown) {
		complain("%s: %llu records printed without their message: out of memory", d->src.path,
			 (unsigned long long)d->unshown);
		return -1;
	}
	if (!d->rd.header_seen && d->headless) {
		complain("%s: not a shmlog binary log (no \"SHMLOGB\" header in its %llu bytes)", d->src.path,
			 (unsigned long long)(d->headless + d->len));
		return -1;
	}
	if (!d->rd.header_seen && d->zeros) {
		complain("%s: not a shmlog binary log: %llu zero bytes (space a crash left unwritten) and no file header",
			 d->src.path, (unsigned long long)(d->zeros + d->len));
		return -1;
	}
	if (!d->rd.header_seen) {
		complain("%s: not a shmlog binary log: %s (%zu bytes)", d->src.path,
			 d->offset + d->len == 0 ? "empty" : "file header cut short", d->len);
		return -1;
	}
	if (d->zeros)
		complain("%s: torn tail: the last %llu bytes (from byte %llu) are %s (space a crash left unwritten); "
			 "dropped",
			 d->src.path, (unsigned long long)(d->zeros + d->len), (unsigned long long)d->zeros_at,
			 d->len ? "zeros, then a unit cut short" : "zeros");
	else if (d->len)
		complain("%s: torn tail: the last %zu bytes (from byte %llu) are not a complete unit; dropped",
			 d->src.path, d->len, (unsigned long long)d->offset);
	return 0;
}

struct dec *decode_new(const char *path, struct out *o, enum text_format f)
{
	struct dec *d = calloc(1, sizeof *d);
	if (!d) {
		complain("%s: out of memory", path);
		return NULL;
	}
	d->o = o;
	d->format = f;
	d->src.fd = -1;
	d->src.path = path;
	binlog_reader_init(&d->rd);
	return d;
}

int decode_feed(struct dec *d, const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (dec_room(d, len) < 0)
		return -1;
	memcpy(d->buf + d->len, data, len);
	d->len += len;
	return decode_units(d);
}

int decode_end(struct dec *d)
{
	int rc = check_end(d);
	out_flush(d->o);
	return rc;
}

void decode_free(struct dec *d)
{
	binlog_reader_free(&d->rd);
	src_close(&d->src);
	free(d->buf);
	free(d);
}

/* Print the records of path to o. Returns 0, or 1 when the file is bad (said). */
static int decode_file(const char *path, struct out *o, enum text_format f)
{
	struct dec *d = decode_new(path, o, f);
	if (!d)
		return 1;
	int rc = src_open(&d->src, path);
	while (rc == 0) {
		long long n;
		if ((rc = dec_room(d, DECODE_CHUNK)) < 0 ||
		    (n = src_read(&d->src, d->buf + d->len, d->cap - d->len)) < 0) {
			rc = -1;
			break;
		}
		if (n == 0) {
			rc = check_end(d);
			break;
		}
		d->len += (size_t)n;
		rc = decode_units(d);
	}
	out_flush(o);
	decode_free(d);
	return rc < 0 ? 1 : 0;
}

int cmd_decode(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	enum text_format f = TEXT_FORMAT_TEXT;
	int c;
	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': f = TEXT_FORMAT_JSON; break;
		case 'h': fputs(usage_decode, stdout); return 0;
		default: return option_misuse(usage_decode, "decode", c, argv);
		}
	}
	if (optind >= argc)
		return misuse(usage_decode, "decode", "no FILE given");
	struct out o = {.fd = STDOUT_FILENO, .name = "standard output"};
	int status = 0;
	for (int i = optind; i < argc && !o.err; i++)
		status |= decode_file(argv[i], &o, f);
	sbuf_free(&o.buf);
	return status || o.err ? 1 : 0;
}
