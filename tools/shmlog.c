/*
 * shmlog.c — the `shmlog` command line tool: reading segments after the fact.
 *
 *   shmlog read [--all] [--json] SEGMENT...     print a segment's records
 *   shmlog recover [--output FILE] [--cleanup] [--json] [DIR]
 *                                               read every orphaned segment
 *   shmlog stat [DIR]                           list segments and their rings
 *
 * A segment stays behind when its producer dies and no collector drains it.
 * This tool decodes it the way the collector would: every record is rendered
 * by seg_render() and printed by text_append(), so a line from `shmlog read`
 * is byte for byte the line the collector would have written (colour aside).
 * The records of one segment are printed merged across its rings in timestamp
 * order: each ring is already in time order, so a binary heap over one
 * cursor per ring yields them one by one, without copying a ring's contents.
 *
 * By default only unconsumed records are printed, [head, tail) of each ring.
 * With --all the records a collector already consumed are printed too, as far
 * as they can still be found: a record never wraps (a padding record fills a
 * ring to its end), so every multiple of ring_bytes at or below tail is a
 * record boundary, and the bytes from tail - ring_bytes on are intact. The
 * walk therefore starts at the first multiple of ring_bytes at or above
 * tail - ring_bytes (but not after head) and runs to head. Such records are
 * marked: "consumed":true in JSON (text_append does it), and in text, where
 * text_append has no place for it, a "[consumed] " prefix on the message.
 *
 * The tool trusts nothing in a file: seg_open() validates the layout and
 * seg_ring_next() every record. A damaged ring is read as far as it is valid;
 * the tool then names the file, ring, position and reason on stderr and exits
 * with status 1, after printing everything valid. Segments are only ever
 * mapped read-only here; the only change the tool makes is unlinking a fully
 * recovered segment when `recover --cleanup` asks for it.
 *
 * Exit status: 0 success, 1 an error or a damaged segment (the rest is still
 * processed), 2 misuse (with the usage on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "producer/shmlog.h"
#include "shared/abi.h"
#include "shared/clock.h"
#include "shared/sbuf.h"
#include "shared/segment.h"
#include "shared/text.h"

#define EXIT_MISUSE 2
#define OUT_FLUSH_BYTES (64u * 1024u)  /* write the output buffer out beyond this */
#define CONSUMED_MARK "[consumed] "    /* text-format prefix of --all's consumed records */

/* ---------------------------------------------------------------- messages */

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "shmlog: <message>" as one line on stderr. Returns nothing. */
static void complain(const char *fmt, ...)
{
	char line[PATH_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "shmlog: %s\n", line);
}

static const char usage_main[] =
	"usage: shmlog COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"Read the shared-memory segments shmlog producers leave behind.\n"
	"\n"
	"commands:\n"
	"  read [--all] [--json] SEGMENT...     print the records of segment files\n"
	"  recover [--output FILE] [--cleanup] [--json] [DIR]\n"
	"                                       print the records of every orphaned segment in DIR\n"
	"  stat [DIR]                           list the segments in DIR and their rings\n"
	"\n"
	"DIR defaults to $SHMLOG_DIR, else " SHMLOG_DEFAULT_DIR ".\n"
	"Run 'shmlog COMMAND --help' for a command's options.\n"
	"Exit status: 0 ok, 1 an error or a damaged segment, 2 misuse.\n";

static const char usage_read[] =
	"usage: shmlog read [--all] [--json] SEGMENT...\n"
	"\n"
	"Print the records of each SEGMENT file that no collector has consumed yet,\n"
	"merged across the segment's rings in timestamp order, in the collector's\n"
	"text format (one line per record).\n"
	"\n"
	"  -a, --all    also print records already consumed that are still in the\n"
	"               ring (from the start of the ring's current lap), marked with\n"
	"               a \"[consumed] \" message prefix, or \"consumed\":true in JSON\n"
	"  -j, --json   print JSON lines instead of text\n"
	"  -h, --help   print this help\n";

static const char usage_recover[] =
	"usage: shmlog recover [--output FILE] [--cleanup] [--json] [DIR]\n"
	"\n"
	"Print the unconsumed records of every orphaned segment in DIR: one whose\n"
	"process is gone (or whose pid now belongs to another process) or that its\n"
	"process closed. Segments of running processes are skipped.\n"
	"DIR defaults to $SHMLOG_DIR, else " SHMLOG_DEFAULT_DIR ".\n"
	"\n"
	"  -o, --output FILE  append to FILE (created if missing) instead of stdout\n"
	"  -c, --cleanup      remove each segment once all its records are written\n"
	"                     (and synced to disk, with --output)\n"
	"  -j, --json         print JSON lines instead of text\n"
	"  -h, --help         print this help\n";

static const char usage_stat[] =
	"usage: shmlog stat [DIR]\n"
	"\n"
	"List the segments in DIR: file, pid, name, whether the process is alive,\n"
	"and for each ring in use its thread id, fill level, and the records\n"
	"written, consumed and lost.\n"
	"DIR defaults to $SHMLOG_DIR, else " SHMLOG_DEFAULT_DIR ".\n"
	"\n"
	"  -h, --help   print this help\n";

/* Report a misuse of cmd (one line), print its usage on stderr. Returns EXIT_MISUSE. */
static int misuse(const char *usage, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int misuse(const char *usage, const char *cmd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "shmlog%s%s: %s\n%s", cmd ? " " : "", cmd ? cmd : "", line, usage);
	return EXIT_MISUSE;
}

/* ------------------------------------------------------------------ output */

/* Where formatted lines go: a buffer written out to fd when it grows. */
struct out {
	int fd;
	const char *name; /* for messages: the file, or "standard output" */
	struct sbuf buf;
	int err;          /* first write error (-errno), 0 if none */
};

/*
 * Write everything buffered to o->fd, retrying short writes and EINTR. On the
 * first failure, report it (naming the output) and keep it in o->err; later
 * output is discarded. Returns 0, or o->err.
 */
static int out_flush(struct out *o)
{
	size_t done = 0;
	while (!o->err && done < o->buf.len) {
		ssize_t n = write(o->fd, o->buf.data + done, o->buf.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->err = n < 0 ? -errno : -EIO;
			complain("%s: write failed: %s", o->name, strerror(-o->err));
			break;
		}
		done += (size_t)n;
	}
	if (o->buf.oom && !o->err) {
		o->err = -ENOMEM;
		complain("%s: out of memory formatting output", o->name);
	}
	sbuf_reset(&o->buf);
	return o->err;
}

/*
 * Flush o and make it durable when it is a file (fsync). A pipe or terminal
 * cannot be synced and is not an error. Returns 0 or -errno.
 */
static int out_sync(struct out *o)
{
	if (out_flush(o))
		return o->err;
	if (fsync(o->fd) < 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
		o->err = -errno;
		complain("%s: fsync failed: %s", o->name, strerror(-o->err));
	}
	return o->err;
}

/* --------------------------------------------------------------- processes */

enum proc_state {
	PROC_ALIVE,
	PROC_DEAD,   /* no such process, or a zombie that will never write again */
	PROC_REUSED, /* the pid belongs to a process started at another time */
};

/*
 * Whether the producer of s still runs: kill(pid, 0), then /proc/PID/stat for
 * zombies and for a start time different from the one in the header (the pid
 * was reused). When /proc cannot be read the process counts as alive, the
 * safe answer for recover. Returns a PROC_* value.
 */
static enum proc_state proc_state(const struct seg *s)
{
	pid_t pid = (pid_t)s->pid;
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return PROC_DEAD;
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? PROC_DEAD : PROC_ALIVE;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		const char *p = strrchr(buf, ')');
		if (p && (p[1] == ' ') && (p[2] == 'Z' || p[2] == 'X'))
			return PROC_DEAD;
	}
	uint64_t st = seg_proc_start_time(pid);
	if (s->start_time && st && st != s->start_time)
		return PROC_REUSED;
	return PROC_ALIVE;
}

/* Whether the producer closed its logger (nothing more will be written). Returns that. */
static bool seg_closed(const struct seg *s)
{
	/* acquire: pairs with shmlog_close's release of the state */
	return atomic_load_explicit(&s->hdr->state, memory_order_acquire) == SHMLOG_SEG_CLOSED;
}

/* ----------------------------------------------------------------- reading */

/* One ring being walked: the record at pos, if any, is in rec. */
struct cursor {
	uint32_t ring;
	uint32_t tid;
	uint64_t pos;
	uint64_t end;       /* head while walking consumed records, then tail */
	uint64_t tail;
	bool consumed;      /* walking [start, head) */
	bool corrupt;       /* stopped at a damaged record */
	struct seg_rec rec;
	uint64_t ts_ns;
	uint64_t lost_seen; /* drops reported by unconsumed loss records */
};

/* What reading one segment needs; on the heap so that it survives a siglongjmp. */
struct reader {
	struct seg seg;
	struct clock_calib cal;
	bool json, all;
	struct cursor *cur;  /* one per ring in use */
	struct cursor **heap; /* cursors with a record, earliest first */
	uint32_t n_cur, n_heap;
	struct sbuf msg, marked;
	uint64_t printed;
	bool damaged;
};

/*
 * Move c to its next record (from c->pos), switching from the consumed part
 * to the unconsumed part at head. A damaged record is reported and ends the
 * ring. Returns true if c->rec holds a record.
 */
static bool cursor_fill(struct reader *rd, struct cursor *c)
{
	for (;;) {
		const char *why = "?";
		int rc = seg_ring_next(&rd->seg, c->ring, &c->pos, c->end, &c->rec, &why);
		if (rc == 1) {
			c->ts_ns = seg_ts_ns(&rd->seg, &rd->cal, c->rec.ts);
			return true;
		}
		if (rc == 0 && c->consumed) {
			c->consumed = false;
			c->end = c->tail;
			continue;
		}
		if (rc < 0) {
			complain("%s: ring %u corrupt at position %" PRIu64 ": %s; stopped there", rd->seg.path, c->ring,
				 c->pos, why);
			c->corrupt = true;
			rd->damaged = true;
		}
		return false;
	}
}

/* The merge order: earlier timestamp first, ties by ring index. Returns true if a goes first. */
static bool cursor_before(const struct cursor *a, const struct cursor *b)
{
	return a->ts_ns < b->ts_ns || (a->ts_ns == b->ts_ns && a->ring < b->ring);
}

/* Restore the heap order below slot i after its cursor moved on. Returns nothing. */
static void heap_down(struct reader *rd, uint32_t i)
{
	struct cursor **h = rd->heap;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < rd->n_heap && cursor_before(h[l], h[m]))
			m = l;
		if (r < rd->n_heap && cursor_before(h[r], h[m]))
			m = r;
		if (m == i)
			return;
		struct cursor *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/*
 * Set up one cursor per ring that holds anything worth walking. A ring whose
 * positions are impossible is reported and skipped. Returns 0 or -ENOMEM.
 */
static int reader_start(struct reader *rd)
{
	struct seg *s = &rd->seg;
	rd->cur = calloc(s->ring_count, sizeof *rd->cur);
	rd->heap = calloc(s->ring_count, sizeof *rd->heap);
	if (!rd->cur || !rd->heap)
		return -ENOMEM;
	if (!seg_clock(s, &rd->cal) && s->tsc) {
		complain("%s: no readable clock calibration in the header; timestamps are wrong", s->path);
		rd->damaged = true;
	}
	for (uint32_t i = 0; i < s->ring_count; i++) {
		struct shmlog_ring_header *rh = seg_ring(s, i);
		uint64_t head, tail;
		const char *why = "?";
		if (!seg_ring_positions(s, i, &head, &tail, &why)) {
			complain("%s: ring %u corrupt: %s (head %" PRIu64 ", tail %" PRIu64 "); skipped", s->path, i, why,
				 head, tail);
			rd->damaged = true;
			continue;
		}
		if (tail == 0)
			continue;
		struct cursor *c = &rd->cur[rd->n_cur++];
		c->ring = i;
		/* relaxed: the owner wrote tid before its first record, ordered by the tail acquire above */
		c->tid = atomic_load_explicit(&rh->tid, memory_order_relaxed);
		c->tail = tail;
		c->pos = head;
		c->end = tail;
		if (rd->all) {
			uint64_t cap = s->ring_bytes;
			uint64_t start = tail >= cap ? (tail - cap + cap - 1) & ~(cap - 1) : 0;
			if (start < head) {
				c->pos = start;
				c->end = head;
				c->consumed = true;
			}
		}
		if (cursor_fill(rd, c))
			rd->heap[rd->n_heap++] = c;
	}
	for (uint32_t i = rd->n_heap / 2; i-- > 0;)
		heap_down(rd, i);
	return 0;
}

/*
 * Append c's current record to o as one line in the collector's format,
 * consumed ones marked, and count the drops a loss record reports. Returns
 * nothing (an allocation failure shows as o->buf.oom, reported on flush).
 */
static void emit_record(struct reader *rd, struct cursor *c, struct out *o)
{
	struct text_record tr;
	struct text_field fields[TEXT_MAX_FIELDS];
	uint64_t lost = seg_render(&rd->seg, c->tid, &c->rec, c->ts_ns, &rd->msg, &tr, fields);
	if (c->consumed) {
		tr.consumed = true;
		if (!rd->json) { /* text_append's text format has no field for it */
			sbuf_reset(&rd->marked);
			sbuf_append(&rd->marked, CONSUMED_MARK, sizeof CONSUMED_MARK - 1);
			sbuf_append(&rd->marked, tr.msg, tr.msg_len);
			tr.msg = rd->marked.data ? rd->marked.data : "";
			tr.msg_len = rd->marked.len;
		}
	} else {
		c->lost_seen += lost;
	}
	text_append(&o->buf, &tr, rd->json ? TEXT_FORMAT_JSON : TEXT_FORMAT_TEXT, false);
	rd->printed++;
}

/*
 * Append a line the tool writes about the segment itself (drops that no loss
 * record reports), stamped now, as the collector does. Returns nothing.
 */
static void emit_notice(struct reader *rd, uint32_t tid, struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void emit_notice(struct reader *rd, uint32_t tid, struct out *o, const char *fmt, ...)
{
	char buf[256];
	struct text_record tr;
	va_list ap;
	va_start(ap, fmt);
	seg_notice(&rd->seg, tid, TEXT_LEVEL_WARN, &tr, buf, sizeof buf, fmt, ap);
	va_end(ap);
	text_append(&o->buf, &tr, rd->json ? TEXT_FORMAT_JSON : TEXT_FORMAT_TEXT, false);
}

/*
 * Append every cursor's records to o in timestamp order, flushing as the
 * buffer grows, then the drops no loss record reported. Returns nothing.
 */
static void reader_run(struct reader *rd, struct out *o)
{
	while (rd->n_heap) {
		struct cursor *c = rd->heap[0];
		emit_record(rd, c, o);
		c->pos += c->rec.size;
		if (!cursor_fill(rd, c))
			rd->heap[0] = rd->heap[--rd->n_heap];
		heap_down(rd, 0);
		if (o->buf.len >= OUT_FLUSH_BYTES)
			out_flush(o);
	}
	for (uint32_t k = 0; k < rd->n_cur; k++) {
		struct cursor *c = &rd->cur[k];
		if (c->corrupt)
			continue;
		struct shmlog_ring_header *rh = seg_ring(&rd->seg, c->ring);
		/* relaxed: counters, read after the records they describe */
		uint64_t lost = atomic_load_explicit(&rh->lost, memory_order_relaxed);
		uint64_t reported = atomic_load_explicit(&rh->lost_reported, memory_order_relaxed) + c->lost_seen;
		if (lost > reported)
			emit_notice(rd, c->tid, o, "%" PRIu64 " records lost (ring full)", lost - reported);
	}
	uint64_t rl = atomic_load_explicit(&rd->seg.hdr->registry_lost, memory_order_relaxed);
	if (rl)
		emit_notice(rd, 0, o, "%" PRIu64 " records lost (call-site registry full)", rl);
}

/* Close the segment and free everything rd holds, and rd. Returns nothing. */
static void reader_free(struct reader *rd)
{
	seg_close(&rd->seg);
	free(rd->cur);
	free(rd->heap);
	sbuf_free(&rd->msg);
	sbuf_free(&rd->marked);
	free(rd);
}

static sigjmp_buf *volatile bus_jmp;

/*
 * SIGBUS: the mapped file shrank under us. While a segment is being read,
 * jump back to read_opened(); otherwise die of the signal as usual.
 */
static void on_sigbus(int sig)
{
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Print the records of the opened segment rd->seg to o. A file truncated
 * under us (SIGBUS while reading the mapping) stops the reading like a
 * damaged ring. Returns true if the segment was read completely and without
 * damage.
 */
static bool read_opened(struct reader *rd, struct out *o)
{
	sigjmp_buf jb;
	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		complain("%s: file truncated while being read (SIGBUS); stopped there", rd->seg.path);
		return false;
	}
	bus_jmp = &jb;
	if (reader_start(rd) < 0) {
		bus_jmp = NULL;
		complain("%s: out of memory", rd->seg.path);
		return false;
	}
	reader_run(rd, o);
	bus_jmp = NULL;
	return !rd->damaged;
}

/* A new reader (zeroed), or NULL after reporting that memory ran out. */
static struct reader *reader_new(const char *path, bool json, bool all)
{
	struct reader *rd = calloc(1, sizeof *rd);
	if (!rd) {
		complain("%s: out of memory", path);
		return NULL;
	}
	rd->json = json;
	rd->all = all;
	rd->seg.fd = -1;
	return rd;
}

/* ------------------------------------------------------------------ read */

static const char short_read[] = ":ajh";
static const struct option long_read[] = {
	{"all", no_argument, NULL, 'a'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

/* Report getopt's answer c ('?' unknown option, ':' missing argument) as a misuse. Returns EXIT_MISUSE. */
static int option_misuse(const char *usage, const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	if (c == ':')
		return misuse(usage, cmd, "option '%s' needs an argument", arg);
	if (optopt) /* glibc sets optopt for short options only */
		return misuse(usage, cmd, "unknown option '-%c'", optopt);
	return misuse(usage, cmd, "unknown option '%s'", arg);
}

/* shmlog read: print each SEGMENT in turn. Returns the exit status. */
static int cmd_read(int argc, char **argv)
{
	bool all = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, short_read, long_read, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_read, stdout); return 0;
		default: return option_misuse(usage_read, "read", c, argv);
		}
	}
	if (optind >= argc)
		return misuse(usage_read, "read", "no SEGMENT given");
	struct out o = {.fd = STDOUT_FILENO, .name = "standard output"};
	int status = 0;
	for (int i = optind; i < argc && !o.err; i++) {
		struct reader *rd = reader_new(argv[i], json, all);
		if (!rd) {
			status = 1;
			continue;
		}
		char err[PATH_MAX + 256];
		if (seg_open(&rd->seg, argv[i], false, err, sizeof err) < 0) {
			complain("%s", err);
			status = 1;
		} else if (!read_opened(rd, &o)) {
			status = 1;
		}
		out_flush(&o);
		reader_free(rd);
	}
	if (o.err)
		status = 1;
	sbuf_free(&o.buf);
	return status;
}

/* ------------------------------------------------------------- directories */

/* scandir filter: a published segment file. Returns nonzero to keep e. */
static int is_segment_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	/* hidden names are segments being created (renamed into place when ready) */
	return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".shm") == 0;
}

/*
 * The segment files in dir, sorted by name, in *names (free each and the
 * array). Reports a directory that cannot be read. Returns the count or -errno.
 */
static int list_segments(const char *dir, struct dirent ***names)
{
	int n = scandir(dir, names, is_segment_name, alphasort);
	if (n < 0) {
		int e = errno;
		complain("%s: cannot read directory: %s", dir, strerror(e));
		return -e;
	}
	return n;
}

/* The segment directory when none is given: $SHMLOG_DIR, else the default. Returns it. */
static const char *default_dir(void)
{
	const char *d = getenv("SHMLOG_DIR");
	return d && *d ? d : SHMLOG_DEFAULT_DIR;
}

/* Free what list_segments() returned. Returns nothing. */
static void free_names(struct dirent **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* --------------------------------------------------------------- recover */

static const char short_recover[] = ":o:cjh";
static const struct option long_recover[] = {
	{"output", required_argument, NULL, 'o'},
	{"cleanup", no_argument, NULL, 'c'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

/*
 * Recover the segment at path into o if its producer is gone or closed it;
 * with cleanup, remove it once everything was written and synced. Returns 0
 * (recovered or skipped) or 1 (an error, already reported).
 */
static int recover_one(const char *path, struct out *o, bool json, bool cleanup)
{
	struct reader *rd = reader_new(path, json, false);
	if (!rd)
		return 1;
	char err[PATH_MAX + 256];
	if (seg_open(&rd->seg, path, false, err, sizeof err) < 0) {
		complain("%s", err);
		reader_free(rd);
		return 1;
	}
	enum proc_state ps = proc_state(&rd->seg);
	bool closed = seg_closed(&rd->seg);
	if (ps == PROC_ALIVE && !closed) {
		complain("%s: process %u (%s) is still running; skipped", path, rd->seg.pid, rd->seg.name);
		reader_free(rd);
		return 0;
	}
	bool ok = read_opened(rd, o);
	bool written = out_sync(o) == 0;
	const char *why = ps == PROC_DEAD ? "ended" : ps == PROC_REUSED ? "ended (pid reused)" : "closed its log";
	int status = ok && written ? 0 : 1;
	if (ok && written && cleanup) {
		if (unlink(path) < 0) {
			complain("%s: cannot remove: %s", path, strerror(errno));
			status = 1;
		} else {
			complain("%s: recovered %" PRIu64 " records of process %u (%s), which %s; removed", path,
				 rd->printed, rd->seg.pid, rd->seg.name, why);
		}
	} else {
		complain("%s: recovered %" PRIu64 " records of process %u (%s), which %s%s", path, rd->printed,
			 rd->seg.pid, rd->seg.name, why, cleanup ? "; kept (not fully recovered)" : "");
	}
	reader_free(rd);
	return status;
}

/* shmlog recover: recover every orphaned segment of a directory. Returns the exit status. */
static int cmd_recover(int argc, char **argv)
{
	bool json = false, cleanup = false;
	const char *output = NULL;
	int c;
	while ((c = getopt_long(argc, argv, short_recover, long_recover, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'c': cleanup = true; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_recover, stdout); return 0;
		default: return option_misuse(usage_recover, "recover", c, argv);
		}
	}
	if (argc - optind > 1)
		return misuse(usage_recover, "recover", "more than one DIR given");
	if (output && !*output)
		return misuse(usage_recover, "recover", "empty --output FILE");
	const char *dir = optind < argc ? argv[optind] : default_dir();

	struct out o = {.fd = STDOUT_FILENO, .name = "standard output"};
	if (output) {
		o.fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (o.fd < 0) {
			complain("%s: cannot open for appending: %s", output, strerror(errno));
			return 1;
		}
		o.name = output;
	}
	struct dirent **names = NULL;
	int n = list_segments(dir, &names);
	int status = n < 0 ? 1 : 0;
	for (int i = 0; i < n && !o.err; i++) {
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) >= (int)sizeof path) {
			complain("%s/%s: path too long", dir, names[i]->d_name);
			status = 1;
			continue;
		}
		status |= recover_one(path, &o, json, cleanup);
	}
	if (n > 0)
		free_names(names, n);
	if (o.err)
		status = 1;
	if (output && close(o.fd) < 0 && !o.err) {
		complain("%s: close failed: %s", output, strerror(errno));
		status = 1;
	}
	sbuf_free(&o.buf);
	return status;
}

/* ------------------------------------------------------------------ stat */

static const char short_stat[] = ":h";
static const struct option long_stat[] = {
	{"help", no_argument, NULL, 'h'},
	{0},
};

/* A ring state for display. Returns a static string. */
static const char *ring_state_name(uint32_t st)
{
	switch (st) {
	case SHMLOG_RING_FREE: return "free";
	case SHMLOG_RING_CLAIMED: return "claimed";
	case SHMLOG_RING_RELEASED: return "released";
	}
	return "invalid";
}

/*
 * Whether ring i ever held or dropped a record. Rings that did not are left
 * out of the listing: free ones, and the shared overflow ring (always claimed)
 * when no thread needed it.
 */
static bool ring_used(const struct seg *s, uint32_t i)
{
	struct shmlog_ring_header *rh = seg_ring(s, i);
	/* relaxed: a snapshot for display */
	return atomic_load_explicit(&rh->tail, memory_order_relaxed) != 0 ||
	       atomic_load_explicit(&rh->lost, memory_order_relaxed) != 0;
}

/* Print one segment's summary and its rings in use. Returns 0, or 1 if it could not be read. */
static int stat_one(const char *path)
{
	struct seg s;
	char err[PATH_MAX + 256];
	if (seg_open(&s, path, false, err, sizeof err) < 0) {
		complain("%s", err);
		return 1;
	}
	int status = 0;
	enum proc_state ps = proc_state(&s);
	uint32_t in_use = 0;
	for (uint32_t i = 0; i < s.ring_count; i++)
		in_use += ring_used(&s, i);
	uint64_t rl = atomic_load_explicit(&s.hdr->registry_lost, memory_order_relaxed);
	printf("%s  pid %u  name %s  %s%s  rings %u/%u in use  ring bytes %u", path, s.pid, s.name,
	       ps == PROC_ALIVE ? "alive" : ps == PROC_DEAD ? "dead" : "dead (pid reused)",
	       seg_closed(&s) ? " closed" : "", in_use, s.ring_count, s.ring_bytes);
	if (rl)
		printf("  registry lost %" PRIu64, rl);
	putchar('\n');
	for (uint32_t i = 0; i < s.ring_count; i++) {
		struct shmlog_ring_header *rh = seg_ring(&s, i);
		/* relaxed: a snapshot of counters for display */
		uint32_t st = atomic_load_explicit(&rh->state, memory_order_relaxed);
		uint64_t head, tail;
		const char *why = "?";
		if (!ring_used(&s, i))
			continue;
		bool sane = seg_ring_positions(&s, i, &head, &tail, &why);
		printf("  ring %u  tid %u  %s  ", i, atomic_load_explicit(&rh->tid, memory_order_relaxed),
		       ring_state_name(st));
		/* written = consumed + what is still in the ring (counted, so that the
		 * producer's hot path keeps no counter of its own) */
		uint64_t consumed = atomic_load_explicit(&rh->records_consumed, memory_order_relaxed);
		long long pending = sane ? seg_ring_count(&s, i, head, tail, &why) : -1;
		if (pending < 0)
			sane = false;
		if (sane)
			printf("fill %.1f%%  written %" PRIu64, 100.0 * (double)(tail - head) / (double)s.ring_bytes,
			       consumed + (uint64_t)pending);
		else
			printf("fill ?  written ?");
		printf("  consumed %" PRIu64 "  lost %" PRIu64 "\n", consumed,
		       atomic_load_explicit(&rh->lost, memory_order_relaxed));
		if (!sane) {
			fflush(stdout);
			complain("%s: ring %u corrupt: %s (head %" PRIu64 ", tail %" PRIu64 ")", path, i, why, head, tail);
			status = 1;
		}
	}
	seg_close(&s);
	return status;
}

/* shmlog stat: list the segments of a directory. Returns the exit status. */
static int cmd_stat(int argc, char **argv)
{
	int c;
	while ((c = getopt_long(argc, argv, short_stat, long_stat, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage_stat, stdout); return 0;
		default: return option_misuse(usage_stat, "stat", c, argv);
		}
	}
	if (argc - optind > 1)
		return misuse(usage_stat, "stat", "more than one DIR given");
	const char *dir = optind < argc ? argv[optind] : default_dir();
	struct dirent **names = NULL;
	int n = list_segments(dir, &names);
	if (n < 0)
		return 1;
	int status = 0;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) >= (int)sizeof path) {
			complain("%s/%s: path too long", dir, names[i]->d_name);
			status = 1;
			continue;
		}
		status |= stat_one(path);
		fflush(stdout);
	}
	if (n == 0)
		printf("%s: no segments\n", dir);
	free_names(names, n);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		complain("standard output: write failed: %s", strerror(errno));
		status = 1;
	}
	return status;
}

/* ------------------------------------------------------------------ main */

/* Dispatch to the command named by argv[1]. Returns the exit status. */
int main(int argc, char **argv)
{
	opterr = 0; /* misuse is reported by misuse(), one line plus the usage */
	signal(SIGBUS, on_sigbus);
	if (argc < 2)
		return misuse(usage_main, NULL, "no command given");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			const char *sub = argv[2];
			const char *u = strcmp(sub, "read") == 0      ? usage_read
					: strcmp(sub, "recover") == 0 ? usage_recover
					: strcmp(sub, "stat") == 0    ? usage_stat
								      : NULL;
			if (!u)
				return misuse(usage_main, NULL, "unknown command '%s'", sub);
			fputs(u, stdout);
			return 0;
		}
		fputs(usage_main, stdout);
		return 0;
	}
	/* the subcommand parses argv[1..] as if it were the program */
	if (strcmp(cmd, "read") == 0)
		return cmd_read(argc - 1, argv + 1);
	if (strcmp(cmd, "recover") == 0)
		return cmd_recover(argc - 1, argv + 1);
	if (strcmp(cmd, "stat") == 0)
		return cmd_stat(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return misuse(usage_main, NULL, "unknown option '%s'", cmd);
	return misuse(usage_main, NULL, "unknown command '%s'", cmd);
}
