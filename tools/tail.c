/*
 * tail.c — `shmlog tail [-f] [--json] SEGMENT|NAME|PID`: print a process's
 * records as they are committed, without consuming them.
 *
 * Read-only: the segment is mapped read-only and the tool's read positions
 * are its own (struct reader_ring), never published, so a collector running
 * meanwhile consumes as if the tool were not there and the producer never
 * waits for it. It starts at the oldest record still intact in each ring (as
 * `read --all` does), prints what is committed through the shared reader
 * (shared/reader.h: the collector's merge and line format), and with -f goes
 * on until the producer ends or closes its logger; it then prints the
 * reader's end notices and exits 0.
 *
 * Overtaking. The producer reuses ring space once the collector has freed it:
 * it writes below head + ring_bytes only, and never more than
 * TAIL_INFLIGHT_BYTES beyond its published tail. So a record at position p
 * is intact while p >= min(head, tail + TAIL_INFLIGHT_BYTES - ring_bytes),
 * both loaded after the record was read. After every cycle each ring is
 * checked against that bound: a ring read from below it was overtaken, its
 * lines of the cycle are dropped, reading resumes at head, and the records in
 * between are reported missed on stderr, counted with the collector's
 * records_consumed (published with head, shared/ring.h: ring_read_head;
 * each ring has its struct ring_head_watch, so a publication a killed
 * collector left half done is waited for once, and at the start for all the
 * rings together, settle_heads()). Every head loaded is first checked as
 * the reader checks its own read positions (reader_ring_check): one that no
 * collector can have published is the ring's damage, said once, and the
 * ring is not read further.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "producer/shmlog.h"
#include "shared/abi.h"
#include "shared/clock.h"
#include "shared/grow.h"
#include "shared/reader.h"
#include "shared/ring.h"
#include "shared/text.h"
#include "tools/cli.h"

#define TAIL_POLL_NS 10000000L            /* -f: pause after a cycle that found nothing new */
#define TAIL_WINDOW_NS 2000000ull         /* -f: merge window across rings */
#define TAIL_BATCH_RECORDS 4096u          /* records per reader cycle */
#define TAIL_SETTLE_POLL_NS 1000000L      /* start: pause between looks at the half-done head publications */
#define TAIL_SETTLE_MAX_NS (2 * RING_HEAD_STUCK_NS) /* start: the longest wait for them all */
#define TAIL_NOTICE UINT32_MAX            /* a line's ring: a notice of the reader */
/* A producer's writes beyond its published tail: up to the end of the lap, then
 * a loss record and a record of every argument and field a longest string. */
#define TAIL_RECORD_MAX (2u * SHMLOG_RECORD_HEADER_BYTES + 8u + (SHMLOG_MAX_ARGS + SHMLOG_MAX_FIELDS) * (2u + SHMLOG_MAX_STRING))
#define TAIL_INFLIGHT_BYTES (2u * TAIL_RECORD_MAX)

const char usage_tail[] =
	"usage: shmlog tail [-f] [--json] SEGMENT|NAME|PID\n"
	"\n"
	"Print the records in a process's rings, oldest first, without consuming\n"
	"them (a collector may run meanwhile, or none). SEGMENT is a segment file;\n"
	"NAME a logger name and PID a process id, looked up in $SHMLOG_DIR, else\n" SHMLOG_DEFAULT_DIR
	" (the most recent such segment).\n"
	"\n"
	"  -f, --follow print records as they are committed until the process ends\n"
	"               or closes its logger; records the collector freed before they\n"
	"               were read are reported missed on stderr\n"
	"  -j, --json   one JSON object per line instead of text\n"
	"  -h, --help   print this help\n";

/* A line of a cycle: which ring it came from, whether it is a counted record (and one that could not be
 * read as logged), where it is in cyc. */
struct tail_line {
	uint32_t ring;
	bool counted, malformed;
	size_t off, len;
};

struct tail {
	struct seg seg;
	struct clock_calib cal;
	struct reader_seg rs;
	struct reader rd;
	struct out *o;
	bool json, damaged, oom;
	uint64_t malformed;      /* records printed that could not be read as logged */
	struct sbuf cyc;         /* this cycle's lines, written once checked */
	struct tail_line *lines;
	uint32_t n_lines, cap_lines;
	uint64_t *rc;            /* per ring: the records_consumed count at rings[i].read */
	bool *dropped;           /* per ring: overtaken this cycle */
	bool *bad_head;          /* per ring: its published head is impossible (reported, not read) */
	struct ring_head_watch *watch; /* per ring: its head publication found half done (ring_read_head()) */
	char why[256];           /* the last ring rejection of the cycle */
	uint32_t why_ring;
};

/* The ring a record read in place lies in. */
static uint32_t ring_of(const struct tail *t, const struct seg_rec *rec)
{
	const uint8_t *start = rec->args - SHMLOG_RECORD_HEADER_BYTES;
	return (uint32_t)((uint64_t)(start - seg_ring_data(&t->seg, 0)) / t->seg.ring_bytes);
}

/* reader_record_fn: keep the line in this cycle's buffer until its ring is checked. */
static void tail_record(void *clientd, struct reader_seg *rs, const struct seg_rec *rec, const struct text_record *tr)
{
	(void)rs;
	struct tail *t = clientd;
	if (GROW(t->lines, t->n_lines, t->cap_lines, 256) < 0) {
		t->oom = true;
		return;
	}
	size_t off = t->cyc.len;
	bool malformed = record_malformed(rec, tr); /* first: the line then takes the message it rendered */
	text_append(&t->cyc, tr, t->json ? TEXT_FORMAT_JSON : TEXT_FORMAT_TEXT, false);
	t->lines[t->n_lines++] = (struct tail_line){rec ? ring_of(t, rec) : TAIL_NOTICE,
						    rec && rec->site != SHMLOG_SITE_LOSS, malformed, off, t->cyc.len - off};
}

/* reader_reject_fn: note it; whether it is damage or overtaking is decided after the cycle. */
static enum reader_action tail_reject(void *clientd, struct reader_seg *rs, uint32_t ring, const char *why)
{
	struct tail *t = clientd;
	if (ring == READER_WHOLE_SEGMENT) {
		complain("%s: %s; stopped there", rs->seg->path, why);
		t->damaged = true;
	}
	snprintf(t->why, sizeof t->why, "%s", why);
	t->why_ring = ring;
	return READER_KEEP;
}

/* Say that ring i of t is damaged (why: the reader's line for it), once; it is not read any more. */
static void ring_damaged(struct tail *t, uint32_t i, const char *why)
{
	complain("%s: %s; stopped there", t->seg.path, why);
	t->bad_head[i] = t->damaged = true;
	t->rs.rings[i].damaged = true;
}

/*
 * Ring i's head and the records_consumed published with it (ring_read_head()), into *head and *rc,
 * checked against the ring's tail as the reader checks its own positions (reader_ring_check()):
 * tail is loaded after head, and head again after tail (a collector may have consumed past tail
 * since). Returns false, the ring reported damaged (once), when they are impossible.
 */
static bool ring_head(struct tail *t, uint32_t i, uint64_t *head, uint64_t *rc)
{
	struct shmlog_ring_header *rh = seg_ring(&t->seg, i);
	char why[160];
	if (t->bad_head[i])
		return false;
	*head = ring_read_head(rh, rc, &t->watch[i]);
	/* acquire: pairs with the producer's release of tail */
	uint64_t tail = atomic_load_explicit(&rh->tail, memory_order_acquire);
	/* acquire: pairs with the collector's release of head */
	uint64_t later = atomic_load_explicit(&rh->head, memory_order_acquire);
	if (reader_ring_check(&t->seg, i, *head, later, tail, why, sizeof why))
		return true;
	ring_damaged(t, i, why);
	return false;
}

/* The lowest position of ring i the producer cannot have overwritten, given head loaded after reading. */
static uint64_t intact_from(const struct seg *s, uint32_t i, uint64_t head)
{
	/* acquire: pairs with the producer's release of tail */
	uint64_t tail = atomic_load_explicit(&seg_ring(s, i)->tail, memory_order_acquire);
	uint64_t reach = tail > UINT64_MAX - TAIL_INFLIGHT_BYTES ? UINT64_MAX : tail + TAIL_INFLIGHT_BYTES;
	uint64_t lap = reach > s->ring_bytes ? reach - s->ring_bytes : 0;
	return lap < head ? lap : head;
}

/* Start ring i at its oldest intact record: head, or the first lap start above the bound if earlier. */
static void start_ring(struct tail *t, uint32_t i)
{
	struct reader_ring *rr = &t->rs.rings[i];
	uint64_t rc, head, again, rc_again, cap = t->seg.ring_bytes;
	if (!ring_head(t, i, &head, &rc))
		return;
	uint64_t lap = (intact_from(&t->seg, i, head) + cap - 1) & ~(cap - 1); /* a record boundary */
	uint64_t start = lap < head ? lap : head;
	const char *why = NULL;
	long long n = start < head ? seg_ring_count(&t->seg, i, start, head, &why) : 0;
	if (!ring_head(t, i, &again, &rc_again))
		return;
	if (n < 0 || (uint64_t)n > rc || start < intact_from(&t->seg, i, again)) {
		start = head; /* overwritten while counted: begin at what is not consumed */
		n = 0;
	}
	rr->pos = rr->read = rr->new_read = start;
	t->rc[i] = rc - (uint64_t)n;
}

/*
 * If ring i was read from below its intact bound, resume it at head and report the records missed.
 * Returns that, or whether the ring's head is found damaged (its lines of the cycle are not printed).
 */
static bool catch_up(struct tail *t, uint32_t i)
{
	struct reader_ring *rr = &t->rs.rings[i];
	uint64_t rc, head;
	if (!ring_head(t, i, &head, &rc))
		return true;
	if (rr->read >= intact_from(&t->seg, i, head) && rr->read <= head + t->seg.ring_bytes)
		return false;
	uint64_t missed = rc > t->rc[i] ? rc - t->rc[i] : 0;
	complain("%s: ring %" PRIu32 ": %" PRIu64 " records missed (the collector freed them before they were read)",
		 t->seg.path, i, missed);
	rr->pos = rr->read = rr->new_read = head;
	rr->damaged = false;
	t->rc[i] = rc;
	return true;
}

/* One reader cycle: lines of overtaken rings dropped, the rest appended to the output. Returns records kept, or -1. */
static long tail_cycle(struct tail *t, const struct reader_params *p, struct reader_result *res)
{
	struct reader_seg *list[1] = {&t->rs};
	for (uint32_t i = 0; i < t->seg.ring_count; i++) {
		catch_up(t, i);
		t->rs.rings[i].pos = t->rs.rings[i].read; /* the reader bounds tail - pos by the ring */
	}
	t->n_lines = 0;
	t->why[0] = 0;
	sbuf_reset(&t->cyc);
	long n = reader_cycle(&t->rd, list, 1, p, res);
	if (n < 0 || t->oom || t->cyc.oom) {
		complain("%s: out of memory", t->seg.path);
		t->oom = true;
		return -1;
	}
	for (uint32_t i = 0; i < t->seg.ring_count; i++)
		t->dropped[i] = catch_up(t, i);
	if (t->why[0] && t->why_ring != READER_WHOLE_SEGMENT && !t->dropped[t->why_ring]) {
		complain("%s: %s; stopped there", t->seg.path, t->why);
		t->damaged = true;
	}
	long kept = 0;
	for (uint32_t k = 0; k < t->n_lines; k++) {
		const struct tail_line *l = &t->lines[k];
		if (l->ring != TAIL_NOTICE && t->dropped[l->ring])
			continue;
		sbuf_append(&t->o->buf, t->cyc.data + l->off, l->len);
		if (l->counted) {
			t->rc[l->ring]++;
			t->malformed += l->malformed;
			kept++;
		}
	}
	reader_seg_take(&t->rs);
	return out_flush(t->o) ? -1 : kept;
}

/* Print t's segment until caught up (or, following, until its producer is done). Returns the exit status. */
static int tail_run(struct tail *t, bool follow)
{
	struct reader_params p = {.max_records = TAIL_BATCH_RECORDS, .deadline_ns = UINT64_MAX,
				  .final = !follow, .window_ns = TAIL_WINDOW_NS};
	struct reader_result res;
	for (;;) {
		enum proc_state ps = proc_state(&t->seg);
		t->rs.gone = ps != PROC_ALIVE;
		t->rs.execd = ps == PROC_EXECD;
		p.now_ns = clock_realtime_ns();
		long n = tail_cycle(t, &p, &res);
		if (n < 0 || t->rs.rejected || t->rs.finished)
			break;
		if (n > 0 || res.more)
			continue;
		if (!follow)
			break;
		struct timespec ts = {0, TAIL_POLL_NS};
		nanosleep(&ts, NULL);
	}
	if (t->malformed)
		complain_malformed(t->seg.path, t->malformed);
	return t->malformed || t->damaged || t->o->err || t->oom ? 1 : 0;
}

/* Whether file name NAME.PID.SERIAL.shm belongs to name (want_pid 0) or to pid want_pid. */
static bool name_matches(const char *file, const char *name, unsigned long want_pid)
{
	const char *end = file + strlen(file) - 4; /* ".shm" */
	const char *serial = end, *pid;
	while (serial > file && serial[-1] != '.')
		serial--;
	if (serial <= file + 1)
		return false;
	pid = serial - 1;
	while (pid > file && pid[-1] != '.')
		pid--;
	if (pid <= file + 1)
		return false;
	if (want_pid)
		return strtoul(pid, NULL, 10) == want_pid && pid[strspn(pid, "0123456789")] == '.';
	return (size_t)(pid - 1 - file) == strlen(name) && strncmp(file, name, strlen(name)) == 0;
}

/* How recent a segment file is (find_segment()): later ns, then a higher serial, is more recent. */
struct seg_age {
	uint64_t ns;     /* its header's created_ns; the file's mtime when the header cannot be read */
	uint64_t serial; /* SERIAL of its name NAME.PID.SERIAL.shm */
};

/* The age of segment file dir/file. Returns it. */
static struct seg_age segment_age(const char *dir, const char *file)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	const char *serial = file + strlen(file) - 4; /* ".shm" */
	while (serial > file && serial[-1] != '.')
		serial--;
	struct seg_age a = {0, strtoull(serial, NULL, 10)};
	struct seg s;
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (seg_open(&s, path, false, err, sizeof err) == 0) {
		a.ns = s.created_ns;
		seg_close(&s);
	}
	if (!a.ns && lstat(path, &st) == 0)
		a.ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	return a;
}

/* The segment path for arg: a file, or the most recent segment of that NAME or PID in the directory. Returns 0 or 1. */
static int find_segment(const char *arg, char *path, size_t cap)
{
	if (strchr(arg, '/') || access(arg, F_OK) == 0) {
		snprintf(path, cap, "%s", arg);
		return 0;
	}
	bool numeric = arg[0] && arg[strspn(arg, "0123456789")] == 0;
	const char *dir = default_dir();
	struct dirent **names;
	int n = list_segments(dir, &names);
	if (n < 0)
		return 1;
	int found = -1;
	struct seg_age best = {0, 0};
	for (int i = 0; i < n; i++) {
		if (!name_matches(names[i]->d_name, arg, numeric ? strtoul(arg, NULL, 10) : 0))
			continue;
		struct seg_age a = segment_age(dir, names[i]->d_name);
		if (found < 0 || a.ns > best.ns || (a.ns == best.ns && a.serial >= best.serial)) {
			found = i;
			best = a;
		}
	}
	if (found >= 0)
		snprintf(path, cap, "%s/%s", dir, names[found]->d_name);
	else
		complain("%s: no segment of %s %s", dir, numeric ? "process" : "logger", arg);
	free_names(names, n);
	return found >= 0 ? 0 : 1;
}

/*
 * Wait for the head publications half done in t's rings, for all of them together: a ring whose
 * publication stays half done RING_HEAD_STUCK_NS is stuck (ring_head_ready()), and no read of its
 * head waits again. Bounded by TAIL_SETTLE_MAX_NS whatever the rings' head_seq do. Returns nothing.
 */
static void settle_heads(struct tail *t)
{
	uint64_t until = clock_monotonic_ns() + TAIL_SETTLE_MAX_NS;
	for (;;) {
		bool ready = true;
		for (uint32_t i = 0; i < t->seg.ring_count; i++)
			ready &= ring_head_ready(seg_ring(&t->seg, i), &t->watch[i]);
		if (ready || clock_monotonic_ns() >= until)
			return;
		struct timespec ts = {0, TAIL_SETTLE_POLL_NS};
		nanosleep(&ts, NULL); /* a collector descheduled mid-publication gets the CPU meanwhile */
	}
}

/* Open the segment at path into t and set its rings at their oldest intact record. Returns 0 or 1. */
static int tail_open(struct tail *t, const char *path)
{
	char err[PATH_MAX + 256];
	t->seg.fd = -1;
	if (seg_open(&t->seg, path, false, err, sizeof err) < 0) {
		complain("%s", err);
		return 1;
	}
	if (!seg_clock(&t->seg, &t->cal) && t->seg.tsc)
		complain("%s: no readable clock calibration in the header; timestamps are wrong", path);
	t->rc = calloc(t->seg.ring_count + 1, sizeof *t->rc);
	t->dropped = calloc(t->seg.ring_count + 1, sizeof *t->dropped);
	t->bad_head = calloc(t->seg.ring_count + 1, sizeof *t->bad_head);
	t->watch = calloc(t->seg.ring_count + 1, sizeof *t->watch);
	if (!t->rc || !t->dropped || !t->bad_head || !t->watch || reader_seg_init(&t->rs, &t->seg, &t->cal) < 0) {
		complain("%s: out of memory", path);
		return 1;
	}
	reader_init(&t->rd, tail_record, tail_reject, t);
	settle_heads(t);
	for (uint32_t i = 0; i < t->seg.ring_count; i++)
		start_ring(t, i);
	reader_seg_rescan(&t->rs); /* a free ring whose old records are still intact is read too */
	return 0;
}

/* Free what t holds (not t). Returns nothing. */
static void tail_free(struct tail *t)
{
	reader_free(&t->rd);
	reader_seg_free(&t->rs);
	if (t->seg.fd >= 0)
		seg_close(&t->seg);
	sbuf_free(&t->cyc);
	free(t->lines);
	free(t->rc);
	free(t->dropped);
	free(t->bad_head);
	free(t->watch);
}

static const struct option long_tail[] = {
	{"follow", no_argument, NULL, 'f'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

/* shmlog tail: print one segment's records, following with -f. Returns the exit status. */
int cmd_tail(int argc, char **argv)
{
	bool follow = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, ":fjh", long_tail, NULL)) != -1) {
		switch (c) {
		case 'f': follow = true; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_tail, stdout); return 0;
		default: return option_misuse(usage_tail, "tail", c, argv);
		}
	}
	if (optind >= argc)
		return misuse(usage_tail, "tail", "no SEGMENT, NAME or PID given");
	if (optind + 1 < argc)
		return misuse(usage_tail, "tail", "more than one SEGMENT, NAME or PID given");
	char path[PATH_MAX];
	if (find_segment(argv[optind], path, sizeof path))
		return 1;
	struct out o = {.fd = STDOUT_FILENO, .name = "standard output"};
	struct tail *t = calloc(1, sizeof *t);
	if (!t) {
		complain("out of memory");
		return 1;
	}
	t->o = &o;
	t->json = json;
	signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, reported once */
	int status = tail_open(t, path) ? 1 : tail_run(t, follow);
	tail_free(t);
	free(t);
	sbuf_free(&o.buf);
	return status;
}
