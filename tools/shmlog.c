/*
 * shmlog.c — the `shmlog` command line tool: reading segments after the fact.
 *
 *   shmlog read [--all] [--json] SEGMENT...     print a segment's records
 *   shmlog recover [--output FILE] [--cleanup] [--json] [DIR]
 *                                               read every orphaned segment
 *   shmlog stat [DIR]                           list segments and their rings
 *   shmlog tail [-f] [--json] SEGMENT|NAME|PID  follow a live process (tools/tail.c)
 *   shmlog decode, keygen, decrypt              binary and encrypted log files (tools/decode.c,
 *                                               keygen.c, decrypt.c)
 *
 * A segment stays behind when its producer dies and no collector drains it.
 * This tool reads it with the collector's own reader (shared/reader.h): the
 * same merge across rings, the same order for equal timestamps, the same
 * loss and end-of-process notices, every line printed by text_append(), so a
 * record line from `shmlog read` is byte for byte the line the collector
 * would have written (colour aside). The reader runs without a merge window:
 * everything committed is printed.
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
 * with status 1, after printing everything valid. A file truncated while it
 * is read (SIGBUS) reads as zeros (seg_guard_install) and is reported the
 * same way. Segments are only ever
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
#include "shared/escape.h"
#include "shared/sbuf.h"
#include "shared/reader.h"
#include "shared/segment.h"
#include "shared/text.h"
#include "tools/cli.h"

#define OUT_FLUSH_BYTES (64u * 1024u)  /* write the output buffer out beyond this */
#define READ_BATCH_RECORDS 4096u    /* records per reader cycle */
#define CONSUMED_MARK "[consumed] "    /* text-format prefix of --all's consumed records */

/* ---------------------------------------------------------------- messages */

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
	"  tail [-f] [--json] SEGMENT|NAME|PID  print a process's records, without consuming them\n"
	"  decode [--json] FILE...              print a binary log (type = \"binary\") as the\n"
	"                                       text or JSON writer would have\n"
	"  keygen [--public] KEYFILE            make a key (pair) for encrypted log files\n"
	"  decrypt --key KEYFILE [-o OUT] [--json] FILE...\n"
	"                                       write the plaintext of encrypted log files\n"
	"\n"
	"DIR defaults to $SHMLOG_DIR, else " SHMLOG_DEFAULT_DIR ".\n"
	"Run 'shmlog COMMAND --help' for a command's options.\n"
	"Exit status: 0 ok, 1 an error or a damaged segment, 2 misuse;\n"
	"decrypt also 3, a truncated or unfinished file (shmlog decrypt --help).\n";

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

/* ------------------------------------------------------------------ output */

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

/*
 * What the pid of s says of its producer: kill(pid, 0), then /proc/PID/stat
 * for zombies and for a start time different from the one in the header (the
 * pid was reused). When /proc cannot be read the process counts as alive, the
 * safe answer for recover. Returns a PROC_* value.
 */
static enum proc_state pid_state(const struct seg *s)
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

/* Whether the producer of s still runs: its liveness lock, or without one its pid. Returns a PROC_* value. */
enum proc_state proc_state(const struct seg *s)
{
	int held = seg_lock_held(s);
	if (held == 1) /* whatever its pid is here: it may log from another pid namespace */
		return PROC_ALIVE;
	enum proc_state ps = pid_state(s);
	if (held == 0 && ps == PROC_ALIVE && !seg_closed(s)) /* closing its logger drops the lock too */
		return seg_proc_runs_on((pid_t)s->pid, s->start_time) ? PROC_EXECD : PROC_DEAD;
	return ps;
}

/* ----------------------------------------------------------------- reading */

/* Reading one segment: the segment, the shared reader, and where lines go. */
struct job {
	struct seg seg;
	struct clock_calib cal;
	struct reader_seg rs;
	struct reader rd;
	struct out *o;
	bool json, all;
	struct sbuf marked;
	uint64_t printed;
	uint64_t malformed; /* records printed with the reader's complaint instead of their message */
	bool damaged;
};

/*
 * reader_record_fn: append the record or notice to the output as one line in
 * the collector's format, consumed records marked. Returns nothing (an
 * allocation failure shows as o->buf.oom, reported on flush).
 */
static void job_record(void *clientd, struct reader_seg *rs, const struct seg_rec *rec, const struct text_record *tr)
{
	(void)rs;
	struct job *j = clientd;
	struct text_record t = *tr;
	if (t.consumed && !j->json) { /* text_append's text format has no field for it */
		sbuf_reset(&j->marked);
		sbuf_append(&j->marked, CONSUMED_MARK, sizeof CONSUMED_MARK - 1);
		size_t len;
		const char *m = text_record_msg(tr, &len);
		sbuf_append(&j->marked, m, len);
		t.msg = j->marked.data ? j->marked.data : "";
		t.msg_len = j->marked.len;
		t.lazy = NULL;
	}
	j->malformed += record_malformed(rec, tr);
	text_append(&j->o->buf, &t, j->json ? TEXT_FORMAT_JSON : TEXT_FORMAT_TEXT, false);
	j->printed += rec != NULL;
	if (j->o->buf.len >= OUT_FLUSH_BYTES)
		out_flush(j->o);
}

/* reader_reject_fn: report the damage; the rest is still read. Returns READER_KEEP. */
static enum reader_action job_reject(void *clientd, struct reader_seg *rs, uint32_t ring, const char *why)
{
	(void)ring;
	struct job *j = clientd;
	complain("%s: %s; stopped there", rs->seg->path, why);
	j->damaged = true;
	return READER_KEEP;
}

/*
 * --all: start each ring at the oldest record still intact, the first
 * multiple of ring_bytes at or above tail - ring_bytes (records never wrap,
 * so it is a record boundary), marking those before head as consumed.
 */
static void job_rewind(struct job *j)
{
	uint64_t cap = j->seg.ring_bytes;
	for (uint32_t i = 0; i < j->seg.ring_count; i++) {
		struct reader_ring *rr = &j->rs.rings[i];
		/* acquire: pairs with the producer's release of tail */
		uint64_t tail = atomic_load_explicit(&seg_ring(&j->seg, i)->tail, memory_order_acquire);
		uint64_t start = tail >= cap ? (tail - cap + cap - 1) & ~(cap - 1) : 0;
		if (start < rr->pos && tail - rr->pos <= cap) {
			rr->read = rr->new_read = start;
			rr->replay_end = rr->pos;
		}
	}
}

/*
 * Print the records of the opened segment j->seg to j->o through the shared
 * reader, until nothing more comes, and its notices. Returns true if it was
 * read completely and without damage.
 */
static bool read_opened(struct job *j)
{
	struct seg *s = &j->seg;
	if (!seg_clock(s, &j->cal) && s->tsc) {
		complain("%s: no readable clock calibration in the header; timestamps are wrong", s->path);
		j->damaged = true;
	}
	if (reader_seg_init(&j->rs, s, &j->cal) < 0) {
		complain("%s: out of memory", s->path);
		return false;
	}
	enum proc_state ps = proc_state(s);
	j->rs.gone = ps != PROC_ALIVE;
	j->rs.execd = ps == PROC_EXECD;
	if (j->all)
		job_rewind(j);
	reader_init(&j->rd, job_record, job_reject, j);
	struct reader_seg *list[1] = {&j->rs};
	struct reader_params p = {.max_records = READ_BATCH_RECORDS, .deadline_ns = UINT64_MAX, .final = true};
	struct reader_result res;
	long n;
	do {
		p.now_ns = clock_realtime_ns();
		n = reader_cycle(&j->rd, list, 1, &p, &res);
		reader_seg_take(&j->rs);
	} while (n > 0 || (n == 0 && res.more));
	if (n < 0) {
		complain("%s: out of memory", s->path);
		j->damaged = true;
	}
	if (j->malformed) {
		complain_malformed(s->path, j->malformed);
		j->damaged = true;
	}
	return !j->damaged && !j->rs.rejected;
}

/* Close the segment and free everything j holds, and j. Returns nothing. */
static void job_free(struct job *j)
{
	reader_free(&j->rd);
	reader_seg_free(&j->rs);
	seg_close(&j->seg);
	sbuf_free(&j->marked);
	free(j);
}

/* A new job (zeroed) writing to o, or NULL after reporting that memory ran out. */
static struct job *job_new(const char *path, struct out *o, bool json, bool all)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j) {
		complain("%s: out of memory", path);
		return NULL;
	}
	j->o = o;
	j->json = json;
	j->all = all;
	j->seg.fd = -1;
	return j;
}

/* ------------------------------------------------------------------ read */

static const char short_read[] = ":ajh";
static const struct option long_read[] = {
	{"all", no_argument, NULL, 'a'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

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
		struct job *j = job_new(argv[i], &o, json, all);
		if (!j) {
			status = 1;
			continue;
		}
		char err[PATH_MAX + 256];
		if (seg_open(&j->seg, argv[i], false, err, sizeof err) < 0) {
			complain("%s", err);
			status = 1;
		} else if (!read_opened(j)) {
			status = 1;
		}
		out_flush(&o);
		job_free(j);
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
int list_segments(const char *dir, struct dirent ***names)
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
const char *default_dir(void)
{
	const char *d = getenv("SHMLOG_DIR");
	return d && *d ? d : SHMLOG_DEFAULT_DIR;
}

/* Free what list_segments() returned. Returns nothing. */
void free_names(struct dirent **names, int n)
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
 * with cleanup, remove it once everything was written and synced. A segment
 * that is the output file itself (out_st: its stat, NULL if unknown) is
 * skipped. Returns 0 (recovered or skipped) or 1 (an error, already
 * reported).
 */
static int recover_one(const char *path, struct out *o, const struct stat *out_st, bool json, bool cleanup)
{
	struct stat st;
	if (out_st && stat(path, &st) == 0 && st.st_dev == out_st->st_dev && st.st_ino == out_st->st_ino) {
		complain("%s: is the output file; skipped", path);
		return 1;
	}
	struct job *j = job_new(path, o, json, false);
	if (!j)
		return 1;
	char err[PATH_MAX + 256];
	if (seg_open(&j->seg, path, false, err, sizeof err) < 0) {
		complain("%s", err);
		job_free(j);
		return 1;
	}
	enum proc_state ps = proc_state(&j->seg);
	bool closed = seg_closed(&j->seg);
	if (ps == PROC_ALIVE && !closed) {
		complain("%s: process %u (%s) is still running; skipped", path, j->seg.pid, j->seg.name);
		job_free(j);
		return 0;
	}
	bool ok = read_opened(j);
	bool written = out_sync(o) == 0;
	const char *why = ps == PROC_DEAD ? "ended" : ps == PROC_REUSED ? "ended (pid reused)"
			  : ps == PROC_EXECD ? "exec'd another program" : "closed its log";
	int status = ok && written ? 0 : 1;
	if (!written) {
		complain("%s: not recovered: %s could not take its records; kept", path, o->name);
	} else if (ok && cleanup) {
		if (unlink(path) < 0) {
			complain("%s: cannot remove: %s", path, strerror(errno));
			status = 1;
		} else {
			complain("%s: recovered %" PRIu64 " records of process %u (%s), which %s; removed", path,
				 j->printed, j->seg.pid, j->seg.name, why);
		}
	} else {
		complain("%s: recovered %" PRIu64 " records of process %u (%s), which %s%s", path, j->printed,
			 j->seg.pid, j->seg.name, why, cleanup ? "; kept (not fully recovered)" : "");
	}
	job_free(j);
	return status;
}

/*
 * Open recover's --output for appending (created 0640). A FIFO without a
 * reader is refused rather than waited on. Returns the descriptor, or -1
 * (reported).
 */
static int open_output(const char *output)
{
	int fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0640);
	if (fd < 0) {
		complain("%s: cannot open for appending: %s", output,
			 errno == ENXIO ? "a FIFO that nothing reads" : strerror(errno));
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
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
	if (output && (o.fd = open_output(output)) < 0)
		return 1;
	o.name = output ? output : o.name;
	struct stat out_st;
	bool known = fstat(o.fd, &out_st) == 0;
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
		status |= recover_one(path, &o, known ? &out_st : NULL, json, cleanup);
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
	char epath[4 * PATH_MAX], ename[4 * sizeof s.name];
	printf("%s  pid %u  name %s  %s%s  rings %u/%u in use  ring bytes %u", escaped(epath, path), s.pid,
	       escaped(ename, s.name),
	       ps == PROC_ALIVE ? "alive" : ps == PROC_DEAD ? "dead" : ps == PROC_EXECD ? "exec'd" : "dead (pid reused)",
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
static int run(int argc, char **argv)
{
	if (seg_guard_install() < 0) {
		complain("cannot install the SIGBUS guard: %s", strerror(errno));
		return 1;
	}
	if (argc < 2)
		return misuse(usage_main, NULL, "no command given");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			const char *sub = argv[2];
			const char *u = strcmp(sub, "read") == 0      ? usage_read
					: strcmp(sub, "recover") == 0 ? usage_recover
					: strcmp(sub, "stat") == 0    ? usage_stat
					: strcmp(sub, "tail") == 0    ? usage_tail
					: strcmp(sub, "decode") == 0  ? usage_decode
					: strcmp(sub, "keygen") == 0  ? usage_keygen
					: strcmp(sub, "decrypt") == 0 ? usage_decrypt
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
	if (strcmp(cmd, "tail") == 0)
		return cmd_tail(argc - 1, argv + 1);
	if (strcmp(cmd, "decode") == 0)
		return cmd_decode(argc - 1, argv + 1);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(cmd, "decrypt") == 0)
		return cmd_decrypt(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return misuse(usage_main, NULL, "unknown option '%s'", cmd);
	return misuse(usage_main, NULL, "unknown command '%s'", cmd);
}

/* What was printed through stdio (help, keygen's line) reached standard output: else say so, and fail. */
static int flushed(int rc)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	complain("standard output: write failed: %s", errno ? strerror(errno) : "an earlier write failed");
	return rc ? rc : 1;
}

int main(int argc, char **argv)
{
	opterr = 0; /* misuse is reported by misuse(), one line plus the usage */
	return flushed(run(argc, argv));
}
