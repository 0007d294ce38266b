/*
 * test_cli.c — the `shmlog` command line tool (tools/shmlog.c) against real
 * segments.
 *
 * Every segment here is made by a real producer: a forked child opens a
 * logger on a fresh directory, logs known records from one to three threads
 * with several argument kinds, and then dies without shmlog_close() (_exit or
 * SIGKILL), just like a crashed program; or it stays alive, blocked on a
 * pipe, for the tests about live processes. No collector runs, so every
 * record is unconsumed unless a test moves a ring's head itself (through its
 * own writable mapping, as a collector would) or damages the file on
 * purpose. The built `shmlog` binary then runs as a separate process and the
 * tests assert on its exact output: each record's message is rebuilt here
 * with snprintf from the same format and arguments.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "producer/shmlog.h"
#include "shared/abi.h"

#define NAME "clitest"
#define WAIT_MS 20000

/* The formats each thread cycles through, one per level (record i uses i % 4). */
#define FMT_INFO "t%d i%d tid=%d str=%s dbl=%.3f"
#define FMT_WARN "t%d i%d tid=%d ll=%lld hex=%#x ptr=%p"
#define FMT_ERROR "t%d i%d tid=%d c=%c sz=%zu neg=%+d cut=%.3s"
#define FMT_DEBUG "t%d i%d tid=%d e=%e pad=[%-6s] g=%g"

static char *dir;  /* segment directory of the test */
static char *work; /* tool outputs */
static char *bin;  /* the shmlog tool */

static void setup(void)
{
	dir = th_mkdtemp(true);
	work = th_mkdtemp(false);
	bin = th_build_path("shmlog");
	cr_assert(dir && work && bin);
	cr_assert(access(bin, X_OK) == 0, "%s not built (is SHMLOG_BUILD_DIR set?)", bin);
}

static void teardown(void)
{
	th_rmrf(dir);
	th_rmrf(work);
	free(dir);
	free(work);
	free(bin);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------- producers */

/* Log record i of thread t; the message says which record it is and which thread wrote it. */
static void log_record(struct shmlog *lg, int t, int i)
{
	int tid = (int)gettid();
	switch (i % 4) {
	case 0: SHMLOG_INFO(lg, FMT_INFO, t, i, tid, "hello world", i * 0.25); break;
	case 1:
		SHMLOG_WARN(lg, FMT_WARN, t, i, tid, (long long)i * 1000000007LL, (unsigned)i * 17u,
			    (void *)(uintptr_t)(0x1000 + i));
		break;
	case 2: SHMLOG_ERROR(lg, FMT_ERROR, t, i, tid, 'a' + i % 26, (size_t)i * 3, -i, "abcdef"); break;
	default: SHMLOG_DEBUG(lg, FMT_DEBUG, t, i, tid, i * 1e10, "x", i / 3.0); break;
	}
}

/* The message and level name log_record(t, i) produces in thread tid. */
static const char *expected_record(char *buf, size_t n, int t, int i, int tid)
{
	switch (i % 4) {
	case 0: snprintf(buf, n, FMT_INFO, t, i, tid, "hello world", i * 0.25); return "INFO";
	case 1:
		snprintf(buf, n, FMT_WARN, t, i, tid, (long long)i * 1000000007LL, (unsigned)i * 17u,
			 (void *)(uintptr_t)(0x1000 + i));
		return "WARN";
	case 2: snprintf(buf, n, FMT_ERROR, t, i, tid, 'a' + i % 26, (size_t)i * 3, -i, "abcdef"); return "ERROR";
	default: snprintf(buf, n, FMT_DEBUG, t, i, tid, i * 1e10, "x", i / 3.0); return "DEBUG";
	}
}

enum ending {
	END_EXIT,   /* _exit(0) without shmlog_close, threads joined */
	END_KILL,   /* SIGKILL while the logging threads still exist */
	END_HOLD,   /* stay alive, logger open, until released */
	END_CLOSE_HOLD, /* shmlog_close, then stay alive until released */
};

struct prod {
	pid_t pid;
	int ready;   /* read end: one byte once everything is logged */
	int release; /* write end: closing it lets a holding child exit */
};

struct worker {
	struct shmlog *lg;
	int t, n;
	pthread_barrier_t *logged, *never;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n; i++)
		log_record(w->lg, w->t, i);
	pthread_barrier_wait(w->logged);
	if (w->never)
		pthread_barrier_wait(w->never); /* END_KILL: still alive when the process dies */
	return NULL;
}

static void child_body(int threads, int n, enum ending end, uint32_t ring_bytes, int ready, int release)
{
	struct shmlog_options o = {.name = NAME, .dir = dir, .ring_bytes = ring_bytes, .max_threads = 4,
				   .min_level = SHMLOG_LEVEL_TRACE};
	struct shmlog *lg;
	if (shmlog_open(&lg, &o) != 0)
		_exit(3);
	pthread_barrier_t logged, never;
	pthread_barrier_init(&logged, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&never, NULL, (unsigned)threads + 2);
	pthread_t th[3];
	struct worker w[3];
	for (int t = 0; t < threads; t++) {
		w[t] = (struct worker){lg, t, n, &logged, end == END_KILL ? &never : NULL};
		if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0)
			_exit(4);
	}
	pthread_barrier_wait(&logged);
	if (end == END_KILL)
		raise(SIGKILL);
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	if (end == END_CLOSE_HOLD)
		shmlog_close(lg);
	char b = 1;
	if (write(ready, &b, 1) != 1)
		_exit(5);
	if (end == END_HOLD || end == END_CLOSE_HOLD)
		while (read(release, &b, 1) > 0) /* returns 0 when the parent closes its end */
			;
	_exit(0);
}

/*
 * Fork a producer logging n records from each of threads threads into dir and
 * ending as end says. Returns once every record is committed: END_EXIT and
 * END_KILL children are reaped by then; holding ones wait for prod_release.
 */
static struct prod start_producer(int threads, int n, enum ending end, uint32_t ring_bytes)
{
	int ready[2], release[2];
	cr_assert(pipe(ready) == 0 && pipe(release) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(release[1]);
		child_body(threads, n, end, ring_bytes, ready[1], release[0]);
	}
	close(ready[1]);
	close(release[0]);
	struct prod p = {pid, ready[0], release[1]};
	if (end == END_EXIT || end == END_KILL) {
		int st = th_waitpid_timeout(pid, WAIT_MS);
		cr_assert(st != -1, "producer timed out");
		if (end == END_EXIT)
			cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer failed: status 0x%x", st);
		else
			cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "producer not killed: status 0x%x", st);
		close(p.ready);
		close(p.release);
		p.ready = p.release = -1;
	} else {
		char b;
		cr_assert(read(p.ready, &b, 1) == 1, "holding producer died before logging everything");
	}
	return p;
}

/* Let a holding producer exit and reap it. */
static void prod_release(struct prod *p)
{
	close(p->release);
	close(p->ready);
	int st = th_waitpid_timeout(p->pid, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer ended badly: 0x%x", st);
}

/* Path of the segment of process pid in dir (malloc'd). */
static char *segment_of(pid_t pid)
{
	char needle[32];
	snprintf(needle, sizeof needle, NAME ".%d.", (int)pid);
	DIR *d = opendir(dir);
	cr_assert(d);
	char *found = NULL;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, needle, strlen(needle)) == 0)
			cr_assert(asprintf(&found, "%s/%s", dir, e->d_name) > 0);
	closedir(d);
	cr_assert(found, "no segment for pid %d in %s", (int)pid, dir);
	return found;
}

/* ------------------------------------------------------- segment surgery */

struct mapped {
	uint8_t *base;
	size_t len;
};

static struct mapped map_rw(const char *path)
{
	int fd = open(path, O_RDWR);
	cr_assert(fd >= 0);
	struct stat st;
	cr_assert(fstat(fd, &st) == 0);
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert(m != MAP_FAILED);
	close(fd);
	return (struct mapped){m, (size_t)st.st_size};
}

static void unmap(struct mapped *m)
{
	munmap(m->base, m->len);
}

static struct shmlog_seg_header *hdr_of(struct mapped *m)
{
	return (struct shmlog_seg_header *)m->base;
}

static struct shmlog_ring_header *ring_of(struct mapped *m, uint32_t i)
{
	struct shmlog_seg_header *h = hdr_of(m);
	return (struct shmlog_ring_header *)(m->base + h->rings_off + (uint64_t)i * SHMLOG_RING_HEADER_BYTES);
}

static uint8_t *ring_data(struct mapped *m, uint32_t i)
{
	struct shmlog_seg_header *h = hdr_of(m);
	return m->base + h->ring_data_off + (uint64_t)i * h->ring_bytes;
}

/* The only ring holding records (single-threaded producers). */
static uint32_t used_ring(struct mapped *m)
{
	int found = -1;
	for (uint32_t i = 0; i < hdr_of(m)->ring_count; i++)
		if (atomic_load(&ring_of(m, i)->tail) != 0) {
			cr_assert(found < 0, "more than one ring used");
			found = (int)i;
		}
	cr_assert(found >= 0, "no ring used");
	return (uint32_t)found;
}

/* Position of the k-th record of ring i (no wrap in the first lap). */
static uint64_t record_pos(struct mapped *m, uint32_t i, int k)
{
	uint64_t pos = 0;
	for (int j = 0; j < k; j++) {
		uint32_t size;
		memcpy(&size, ring_data(m, i) + pos, 4);
		cr_assert(size >= SHMLOG_RECORD_HEADER_BYTES && size % 8 == 0);
		pos += size;
	}
	return pos;
}

/* ------------------------------------------------------------ the tool */

struct result {
	int status; /* exit status, 128 + signal if killed */
	char *out, *err;
	int ended; /* "[shmlog] process N ..." notices, taken out of out */
};

/*
 * Take the notices on how a producer ended out of text (in place): the tool
 * writes one for each dead producer, as the collector does, and the tests
 * here are about the records. Returns how many there were.
 */
static int take_end_notices(char *text)
{
	int n = 0;
	char *w = text;
	for (char *l = text; *l;) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) + 1 : strlen(l);
		char *hit = strstr(l, "[shmlog] process ");
		if (hit && hit < l + len) {
			n++;
		} else {
			memmove(w, l, len);
			w += len;
		}
		l += len;
	}
	*w = 0;
	return n;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* Run shmlog with the NULL-terminated arguments, wait (bounded), collect stdout and stderr. */
static struct result run_tool_argv(const char *const *args)
{
	const char *argv[32] = {bin};
	int n = 1;
	for (; args[n - 1]; n++) {
		cr_assert(n < 31);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	char *out, *err;
	cr_assert(asprintf(&out, "%s/out", work) > 0 && asprintf(&err, "%s/err", work) > 0);
	pid_t p = th_spawn((char *const *)argv, out, err, NULL);
	cr_assert(p > 0);
	int st = th_waitpid_timeout(p, WAIT_MS);
	cr_assert(st != -1, "shmlog timed out");
	struct result r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), th_read_file(out, NULL),
			   th_read_file(err, NULL)};
	cr_assert(r.out && r.err);
	r.ended = take_end_notices(r.out);
	free(out);
	free(err);
	return r;
}

#define run_tool(...) run_tool_argv((const char *const[]){__VA_ARGS__, NULL})

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------------ checking output */

struct line {
	char ts[31];
	char level[16];
	unsigned pid, tid;
	const char *msg; /* into a copy of the line */
	bool consumed;
};

/* Parse one text line ("TS LEVEL NAME[PID/TID]: MSG"), NUL-terminated without its LF. */
static void parse_text_line(char *l, struct line *pl)
{
	cr_assert(strlen(l) > 31 && l[30] == ' ' && l[29] == 'Z' && l[10] == 'T', "not a record line: %s", l);
	memcpy(pl->ts, l, 30);
	pl->ts[30] = 0;
	int off = -1;
	cr_assert(sscanf(l + 31, "%15s " NAME "[%u/%u]: %n", pl->level, &pl->pid, &pl->tid, &off) == 3 && off > 0,
		  "not a record line: %s", l);
	pl->msg = l + 31 + off;
	pl->consumed = strncmp(pl->msg, "[consumed] ", 11) == 0;
	if (pl->consumed)
		pl->msg += 11;
}

/* Check msg is exactly record (t, i) of a thread with tid; returns t * n + i through *idx. */
static void check_message(const struct line *pl, int threads, int n, int *idx)
{
	int t, i;
	cr_assert(sscanf(pl->msg, "t%d i%d", &t, &i) == 2, "unexpected message: %s", pl->msg);
	cr_assert(t >= 0 && t < threads && i >= 0 && i < n, "record out of range: %s", pl->msg);
	char want[512];
	const char *lvl = expected_record(want, sizeof want, t, i, (int)pl->tid);
	cr_assert_str_eq(pl->msg, want);
	cr_assert_str_eq(pl->level, lvl, "level of %s", pl->msg);
	*idx = t * n + i;
}

/*
 * Check that text output holds every record of producer pid (threads x n)
 * exactly once, with exact text, level, name and pid, in timestamp order, and
 * nothing else.
 */
static void check_all_records(const char *out, pid_t pid, int threads, int n)
{
	int *seen = calloc((size_t)(threads * n), sizeof *seen);
	char *copy = strdup(out), *save = NULL, prev_ts[31] = "";
	int lines = 0;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
		struct line pl;
		parse_text_line(l, &pl);
		cr_assert_eq(pl.pid, (unsigned)pid);
		cr_assert(!pl.consumed);
		int idx;
		check_message(&pl, threads, n, &idx);
		seen[idx]++;
		cr_assert(strcmp(prev_ts, pl.ts) <= 0, "not in timestamp order: %s after %s", pl.ts, prev_ts);
		memcpy(prev_ts, pl.ts, sizeof prev_ts);
	}
	cr_assert_eq(lines, threads * n);
	for (int k = 0; k < threads * n; k++)
		cr_assert_eq(seen[k], 1, "record t%d i%d seen %d times", k / n, k % n, seen[k]);
	free(seen);
	free(copy);
}

/* A minimal strict JSON reader for the tool's flat objects. */
struct jfield {
	char key[16];
	char val[512]; /* decoded string, or the literal */
	bool is_str;
};

static const char *json_string(const char *p, char *out, size_t cap)
{
	if (*p++ != '"')
		return NULL;
	size_t n = 0;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p++;
		if (c < 0x20 || n + 1 >= cap)
			return NULL;
		if (c == '\\') {
			char e = *p++;
			const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
			const char *k = e ? strchr(from, e) : NULL;
			if (k) {
				c = (unsigned char)to[k - from];
			} else if (e == 'u') {
				unsigned v;
				if (sscanf(p, "%4x", &v) != 1 || v > 0xff)
					return NULL;
				c = (unsigned char)v;
				p += 4;
			} else {
				return NULL;
			}
		}
		out[n++] = (char)c;
	}
	out[n] = 0;
	return p + 1;
}

/* Parse line (without LF) as one flat JSON object; returns the number of fields, -1 if invalid. */
static int json_parse(const char *p, struct jfield *f, int max)
{
	int n = 0;
	if (*p++ != '{')
		return -1;
	for (;;) {
		if (n == max)
			return -1;
		if (!(p = json_string(p, f[n].key, sizeof f[n].key)) || *p++ != ':')
			return -1;
		if (*p == '"') {
			f[n].is_str = true;
			if (!(p = json_string(p, f[n].val, sizeof f[n].val)))
				return -1;
		} else {
			size_t k = strspn(p, "-0123456789.eE+truefalsn");
			if (k == 0 || k >= sizeof f[n].val)
				return -1;
			memcpy(f[n].val, p, k);
			f[n].val[k] = 0;
			f[n].is_str = false;
			char *end;
			if (strcmp(f[n].val, "true") && strcmp(f[n].val, "false") && strcmp(f[n].val, "null") &&
			    (strtod(f[n].val, &end), *end))
				return -1;
			p += k;
		}
		n++;
		if (*p == '}')
			return p[1] == 0 ? n : -1;
		if (*p++ != ',')
			return -1;
	}
}

static const struct jfield *jget(const struct jfield *f, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0)
			return &f[i];
	return NULL;
}

/* Turn a JSON line into a struct line (tid, level, msg, consumed) after checking its fields. */
static void parse_json_line(const char *l, pid_t pid, struct jfield *f, struct line *pl)
{
	int n = json_parse(l, f, 12);
	cr_assert(n >= 8, "invalid JSON line: %s", l);
	static const char *const keys[] = {"ts", "level", "name", "pid", "tid", "file", "line", "msg"};
	for (int k = 0; k < 8; k++)
		cr_assert_str_eq(f[k].key, keys[k], "key %d of %s", k, l);
	cr_assert(f[0].is_str && strlen(f[0].val) == 30 && f[0].val[29] == 'Z');
	cr_assert_str_eq(f[2].val, NAME);
	cr_assert_eq(strtoul(f[3].val, NULL, 10), (unsigned long)pid);
	cr_assert(f[5].is_str && strstr(f[5].val, "test_cli.c"), "file: %s", f[5].val);
	cr_assert(strtoul(f[6].val, NULL, 10) > 0);
	memcpy(pl->ts, f[0].val, 31);
	cr_assert(strlen(f[1].val) < sizeof pl->level, "level: %s", f[1].val);
	memcpy(pl->level, f[1].val, strlen(f[1].val) + 1);
	pl->pid = (unsigned)pid;
	pl->tid = (unsigned)strtoul(f[4].val, NULL, 10);
	pl->msg = f[7].val;
	const struct jfield *c = jget(f, n, "consumed");
	pl->consumed = c && strcmp(c->val, "true") == 0;
	cr_assert(n == 8 + (c != NULL), "unexpected keys in %s", l);
}

/* ------------------------------------------------------------------ read */

Test(cli, read_prints_every_record_once_with_exact_text_in_timestamp_order)
{
	struct prod p = start_producer(3, 120, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	check_all_records(r.out, p.pid, 3, 120);
	result_free(&r);
	free(seg);
}

Test(cli, read_prints_records_of_a_producer_killed_while_its_threads_ran)
{
	struct prod p = start_producer(2, 80, END_KILL, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.ended, 1, "the tool tells how the producer ended, as the collector does");
	check_all_records(r.out, p.pid, 2, 80);
	result_free(&r);
	free(seg);
}

Test(cli, read_json_prints_valid_lines_with_the_same_messages)
{
	struct prod p = start_producer(2, 60, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", "--json", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	int seen[120] = {0}, lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
		struct jfield f[12];
		struct line pl;
		parse_json_line(l, p.pid, f, &pl);
		cr_assert(!pl.consumed);
		int idx;
		check_message(&pl, 2, 60, &idx);
		seen[idx]++;
	}
	cr_assert_eq(lines, 120);
	for (int k = 0; k < 120; k++)
		cr_assert_eq(seen[k], 1);
	result_free(&r);
	free(seg);
}

Test(cli, read_all_marks_consumed_records_and_plain_read_hides_them)
{
	struct prod p = start_producer(1, 20, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t ring = used_ring(&m);
	/* consume the first 8 records, as a collector would */
	atomic_store(&ring_of(&m, ring)->head, record_pos(&m, ring, 8));
	unmap(&m);

	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 12);
	char *save = NULL;
	int i = 8;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct line pl;
		parse_text_line(l, &pl);
		cr_assert(!pl.consumed);
		int idx;
		check_message(&pl, 1, 20, &idx);
		cr_assert_eq(idx, i);
	}
	result_free(&r);

	r = run_tool("read", "--all", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 20);
	i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct line pl;
		parse_text_line(l, &pl);
		cr_assert_eq(pl.consumed, i < 8, "line %d: %s", i, l);
		int idx;
		check_message(&pl, 1, 20, &idx);
		cr_assert_eq(idx, i);
	}
	result_free(&r);

	r = run_tool("read", "--all", "--json", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct jfield f[12];
		struct line pl;
		parse_json_line(l, p.pid, f, &pl);
		cr_assert_eq(pl.consumed, i < 8, "line %d: %s", i, l);
		int idx;
		check_message(&pl, 1, 20, &idx);
		cr_assert_eq(idx, i);
	}
	cr_assert_eq(i, 20);
	result_free(&r);
	free(seg);
}

#define LAP_BATCHES 5
#define LAP_PER_BATCH 60

/* A producer that logs LAP_BATCHES batches into a 4 KiB ring, waiting for the parent after each. */
static void lap_child(int ready, int release)
{
	struct shmlog_options o = {.name = NAME, .dir = dir, .ring_bytes = 4096, .max_threads = 1};
	struct shmlog *lg;
	if (shmlog_open(&lg, &o) != 0)
		_exit(3);
	char b = 1;
	for (int k = 0; k < LAP_BATCHES; k++) {
		for (int i = 0; i < LAP_PER_BATCH; i++)
			SHMLOG_INFO(lg, "b%d r%d", k, i);
		if (write(ready, &b, 1) != 1 || (k + 1 < LAP_BATCHES && read(release, &b, 1) != 1))
			_exit(4);
	}
	_exit(0);
}

Test(cli, read_all_shows_consumed_records_only_from_the_current_lap)
{
	int ready[2], release[2];
	cr_assert(pipe(ready) == 0 && pipe(release) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(release[1]);
		lap_child(ready[1], release[0]);
	}
	close(ready[1]);
	close(release[0]);
	char *seg = NULL;
	struct mapped m = {0};
	uint32_t ring = 0;
	char b;
	/* act as the collector: consume each batch but the last one */
	for (int k = 0; k < LAP_BATCHES; k++) {
		cr_assert(read(ready[0], &b, 1) == 1, "producer died");
		if (k == 0) {
			seg = segment_of(pid);
			m = map_rw(seg);
			ring = used_ring(&m);
		}
		if (k + 1 < LAP_BATCHES) {
			struct shmlog_ring_header *rh = ring_of(&m, ring);
			atomic_store(&rh->head, atomic_load(&rh->tail));
			cr_assert(write(release[1], &b, 1) == 1);
		}
	}
	int st = th_waitpid_timeout(pid, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
	close(release[1]);

	/* where each record went: same size each, a record never wraps */
	uint32_t cap = hdr_of(&m)->ring_bytes, rs;
	memcpy(&rs, ring_data(&m, ring), 4);
	uint64_t pos = 0, rec_pos[LAP_BATCHES * LAP_PER_BATCH];
	for (int j = 0; j < LAP_BATCHES * LAP_PER_BATCH; j++) {
		if (pos % cap + rs > cap)
			pos = (pos + cap - 1) / cap * cap;
		rec_pos[j] = pos;
		pos += rs;
	}
	cr_assert_eq(atomic_load(&ring_of(&m, ring)->tail), pos, "ring layout not as modelled");
	cr_assert_eq(atomic_load(&ring_of(&m, ring)->lost), 0);
	uint64_t start = (pos - cap + cap - 1) / cap * cap; /* first lap boundary with intact data */
	int consumed_total = (LAP_BATCHES - 1) * LAP_PER_BATCH, first_shown = consumed_total;
	while (first_shown > 0 && rec_pos[first_shown - 1] >= start)
		first_shown--;
	cr_assert(first_shown > 0 && first_shown < consumed_total, "test does not cover a partial lap");
	unmap(&m);

	struct result r = run_tool("read", "--all", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *save = NULL;
	int j = first_shown;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), j++) {
		struct line pl;
		parse_text_line(l, &pl);
		char want[32];
		snprintf(want, sizeof want, "b%d r%d", j / LAP_PER_BATCH, j % LAP_PER_BATCH);
		cr_assert_str_eq(pl.msg, want);
		cr_assert_eq(pl.consumed, j < consumed_total, "%s", l);
	}
	cr_assert_eq(j, LAP_BATCHES * LAP_PER_BATCH, "records missing at the end");
	result_free(&r);
	free(seg);
}

Test(cli, read_reports_the_records_a_full_ring_dropped)
{
	/* no collector empties the 4 KiB ring: most of the 400 records are dropped and counted */
	struct prod p = start_producer(1, 400, END_EXIT, 4096);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *save = NULL;
	int printed = 0;
	unsigned long long lost = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct line pl;
		parse_text_line(l, &pl);
		cr_assert_eq(lost, 0, "a line after the loss notice: %s", l);
		if (sscanf(pl.msg, "%llu records lost (ring full)", &lost) == 1) {
			cr_assert_str_eq(pl.level, "WARN");
			continue;
		}
		int idx;
		check_message(&pl, 1, 400, &idx);
		cr_assert_eq(idx, printed++);
	}
	cr_assert(printed > 0 && lost > 0, "printed %d, lost %llu", printed, lost);
	cr_assert_eq(printed + lost, 400);
	result_free(&r);
	free(seg);
}

Test(cli, read_continues_with_other_files_after_one_that_does_not_exist)
{
	struct prod p = start_producer(1, 10, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid), *missing;
	cr_assert(asprintf(&missing, "%s/nothere.1.1.shm", dir) > 0);
	struct result r = run_tool("read", missing, seg);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert(strstr(r.err, missing) && strstr(r.err, "No such file"), "stderr: %s", r.err);
	check_all_records(r.out, p.pid, 1, 10);
	result_free(&r);
	free(seg);
	free(missing);
}

/* ------------------------------------------------------- damaged segments */

Test(cli, read_refuses_bad_magic_and_still_reads_other_files)
{
	struct prod bad = start_producer(1, 5, END_EXIT, 64 * 1024);
	struct prod good = start_producer(1, 7, END_EXIT, 64 * 1024);
	char *bseg = segment_of(bad.pid), *gseg = segment_of(good.pid);
	struct mapped m = map_rw(bseg);
	atomic_store(&hdr_of(&m)->magic, 0x1122334455667788ull);
	unmap(&m);
	struct result r = run_tool("read", bseg, gseg);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert(strstr(r.err, bseg) && strstr(r.err, "bad magic"), "stderr: %s", r.err);
	check_all_records(r.out, good.pid, 1, 7);
	result_free(&r);
	free(bseg);
	free(gseg);
}

Test(cli, read_refuses_wrong_abi_major_naming_both_versions)
{
	struct prod p = start_producer(1, 5, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	hdr_of(&m)->abi_major = SHMLOG_ABI_MAJOR + 1;
	unmap(&m);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 1);
	cr_assert_str_empty(r.out);
	char theirs[32], ours[32];
	snprintf(theirs, sizeof theirs, "%u.%u", SHMLOG_ABI_MAJOR + 1, SHMLOG_ABI_MINOR);
	snprintf(ours, sizeof ours, "%u.x", SHMLOG_ABI_MAJOR);
	cr_assert(strstr(r.err, seg) && strstr(r.err, theirs) && strstr(r.err, ours), "stderr: %s", r.err);
	result_free(&r);
	free(seg);
}

Test(cli, read_refuses_truncated_file)
{
	struct prod p = start_producer(1, 5, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct stat st;
	cr_assert(stat(seg, &st) == 0);
	cr_assert(truncate(seg, st.st_size / 2) == 0);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 1);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, seg) && strstr(r.err, "truncated"), "stderr: %s", r.err);
	result_free(&r);
	free(seg);
}

Test(cli, read_prints_valid_records_then_stops_at_a_garbage_record_size)
{
	struct prod p = start_producer(1, 12, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t ring = used_ring(&m);
	uint64_t bad = record_pos(&m, ring, 5);
	uint32_t garbage = 0x7ffffff8u;
	memcpy(ring_data(&m, ring) + bad, &garbage, 4);
	unmap(&m);

	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 1);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof want, "shmlog: %s: ring %u corrupt at position %llu: record size out of bounds; stopped there\n",
		 seg, ring, (unsigned long long)bad);
	cr_assert_str_eq(r.err, want);
	cr_assert_eq(count_lines(r.out), 5);
	char *save = NULL;
	int i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct line pl;
		parse_text_line(l, &pl);
		int idx;
		check_message(&pl, 1, 12, &idx);
		cr_assert_eq(idx, i);
	}
	result_free(&r);
	free(seg);
}

Test(cli, recover_cleanup_keeps_a_damaged_segment)
{
	struct prod p = start_producer(1, 6, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t ring = used_ring(&m);
	uint32_t garbage = 3;
	memcpy(ring_data(&m, ring) + record_pos(&m, ring, 2), &garbage, 4);
	unmap(&m);
	struct result r = run_tool("recover", "--cleanup", dir);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(count_lines(r.out), 2);
	cr_assert(strstr(r.err, "stopped there") && strstr(r.err, "kept"), "stderr: %s", r.err);
	cr_assert(access(seg, F_OK) == 0, "damaged segment was removed");
	result_free(&r);
	free(seg);
}

/* --------------------------------------------------------------- recover */

Test(cli, recover_cleanup_appends_everything_to_the_file_and_removes_the_segments)
{
	struct prod a = start_producer(2, 40, END_EXIT, 64 * 1024);
	struct prod b = start_producer(1, 30, END_KILL, 64 * 1024);
	char *sa = segment_of(a.pid), *sb = segment_of(b.pid), *outf;
	cr_assert(asprintf(&outf, "%s/recovered.log", work) > 0);
	FILE *f = fopen(outf, "w");
	cr_assert(f && fputs("earlier line\n", f) >= 0 && fclose(f) == 0);

	struct result r = run_tool("recover", "--output", outf, "--cleanup", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert_eq(count_lines(r.err), 2, "one line per recovered segment: %s", r.err);
	cr_assert(strstr(r.err, "removed"));
	cr_assert(access(sa, F_OK) != 0 && access(sb, F_OK) != 0, "segments not removed");

	char *text = th_read_file(outf, NULL);
	cr_assert(text && strncmp(text, "earlier line\n", 13) == 0, "output not appended");
	cr_assert_eq(take_end_notices(text), 2, "each dead producer's end is told: %s", text);
	/* split the file by pid and check each producer's records */
	char *mine[2] = {calloc(1, strlen(text) + 1), calloc(1, strlen(text) + 1)};
	char needle_a[64];
	snprintf(needle_a, sizeof needle_a, NAME "[%d/", (int)a.pid);
	char *save = NULL;
	for (char *l = strtok_r(text + 13, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *dst = mine[strstr(l, needle_a) ? 0 : 1];
		strcat(dst, l);
		strcat(dst, "\n");
	}
	check_all_records(mine[0], a.pid, 2, 40);
	check_all_records(mine[1], b.pid, 1, 30);
	free(mine[0]);
	free(mine[1]);
	free(text);
	result_free(&r);

	/* nothing is left to recover */
	r = run_tool("recover", "--output", outf, "--cleanup", dir);
	cr_assert_eq(r.status, 0);
	cr_assert_str_empty(r.err);
	result_free(&r);
	free(sa);
	free(sb);
	free(outf);
}

Test(cli, recover_without_cleanup_prints_json_to_stdout_and_keeps_the_segment)
{
	struct prod p = start_producer(1, 25, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("recover", "--json", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 25);
	char *save = NULL;
	int i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct jfield f[12];
		struct line pl;
		parse_json_line(l, p.pid, f, &pl);
		int idx;
		check_message(&pl, 1, 25, &idx);
		cr_assert_eq(idx, i);
	}
	cr_assert(access(seg, F_OK) == 0, "segment removed without --cleanup");
	result_free(&r);
	free(seg);
}

Test(cli, recover_uses_shmlog_dir_by_default)
{
	struct prod p = start_producer(1, 4, END_EXIT, 64 * 1024);
	char *env;
	cr_assert(asprintf(&env, "SHMLOG_DIR=%s", dir) > 0);
	char *out, *err;
	cr_assert(asprintf(&out, "%s/out", work) > 0 && asprintf(&err, "%s/err", work) > 0);
	char *argv[] = {bin, "recover", NULL}, *envp[] = {env, NULL};
	pid_t t = th_spawn(argv, out, err, envp);
	int st = th_waitpid_timeout(t, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *text = th_read_file(out, NULL);
	cr_assert_eq(take_end_notices(text), 1);
	check_all_records(text, p.pid, 1, 4);
	free(text);
	free(out);
	free(err);
	free(env);
}

Test(cli, recover_skips_the_segment_of_a_live_process)
{
	struct prod live = start_producer(2, 10, END_HOLD, 64 * 1024);
	struct prod dead = start_producer(1, 10, END_EXIT, 64 * 1024);
	char *lseg = segment_of(live.pid), *dseg = segment_of(dead.pid);
	struct result r = run_tool("recover", "--cleanup", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, dead.pid, 1, 10);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof want, "shmlog: %s: process %d (" NAME ") is still running; skipped\n", lseg,
		 (int)live.pid);
	cr_assert(strstr(r.err, want), "stderr: %s", r.err);
	cr_assert(access(lseg, F_OK) == 0, "live segment removed");
	cr_assert(access(dseg, F_OK) != 0, "dead segment kept");
	result_free(&r);
	prod_release(&live);

	/* once it has ended, its segment is recovered */
	r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, live.pid, 2, 10);
	result_free(&r);
	free(lseg);
	free(dseg);
}

Test(cli, recover_takes_a_closed_segment_of_a_live_process)
{
	struct prod p = start_producer(1, 9, END_CLOSE_HOLD, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, p.pid, 1, 9);
	cr_assert(strstr(r.err, "closed"), "stderr: %s", r.err);
	result_free(&r);
	prod_release(&p);
	free(seg);
}

/* Field 22 of /proc/self/stat. */
static uint64_t own_start_time(void)
{
	char *s = th_read_file("/proc/self/stat", NULL);
	cr_assert(s);
	char *p = strrchr(s, ')');
	int field = 2;
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	uint64_t v = strtoull(p, NULL, 10);
	free(s);
	return v;
}

Test(cli, recover_treats_a_reused_pid_as_a_dead_producer)
{
	struct prod p = start_producer(1, 3, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	/* the segment now claims our (live) pid: with our start time it is live, with another it is an orphan */
	struct mapped m = map_rw(seg);
	hdr_of(&m)->pid = (uint32_t)getpid();
	hdr_of(&m)->start_time = own_start_time();
	struct result r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, "still running"), "stderr: %s", r.err);
	result_free(&r);

	hdr_of(&m)->start_time = own_start_time() + 12345;
	unmap(&m);
	r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, getpid(), 1, 3);
	cr_assert(strstr(r.err, "pid reused"), "stderr: %s", r.err);
	result_free(&r);
	free(seg);
}

/* ------------------------------------------------------------------ stat */

Test(cli, stat_shows_each_ring_with_its_record_counts)
{
	struct prod p = start_producer(2, 33, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("stat", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	char head[PATH_MAX + 128];
	snprintf(head, sizeof head, "%s  pid %d  name " NAME "  dead  rings 2/5 in use  ring bytes 65536\n", seg,
		 (int)p.pid);
	cr_assert(strncmp(r.out, head, strlen(head)) == 0, "stdout: %s", r.out);
	cr_assert_eq(count_lines(r.out), 3, "stdout: %s", r.out);
	int rings = 0;
	char *save = NULL;
	for (char *l = strtok_r(r.out + strlen(head), "\n", &save); l; l = strtok_r(NULL, "\n", &save), rings++) {
		unsigned ring, tid;
		char state[16];
		double fill;
		unsigned long long written, consumed, lost;
		cr_assert(sscanf(l, "  ring %u  tid %u  %15s  fill %lf%%  written %llu  consumed %llu  lost %llu", &ring,
				 &tid, state, &fill, &written, &consumed, &lost) == 7,
			  "ring line: %s", l);
		cr_assert_eq(written, 33);
		cr_assert_eq(consumed, 0);
		cr_assert_eq(lost, 0);
		cr_assert_str_eq(state, "released");
		cr_assert(fill > 0 && fill < 100);
		cr_assert_neq(tid, 0);
	}
	cr_assert_eq(rings, 2);
	result_free(&r);
	free(seg);
}

Test(cli, stat_reports_an_unreadable_segment_and_lists_the_others)
{
	struct prod good = start_producer(1, 2, END_EXIT, 64 * 1024);
	struct prod bad = start_producer(1, 2, END_EXIT, 64 * 1024);
	char *gseg = segment_of(good.pid), *bseg = segment_of(bad.pid);
	struct mapped m = map_rw(bseg);
	hdr_of(&m)->abi_major = 99;
	unmap(&m);
	struct result r = run_tool("stat", dir);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, bseg) && strstr(r.err, "99.") && count_lines(r.err) == 1, "stderr: %s", r.err);
	cr_assert(strstr(r.out, gseg) && strstr(r.out, "written 2"), "stdout: %s", r.out);
	result_free(&r);
	free(gseg);
	free(bseg);
}

/* ----------------------------------------------------------- usage, help */

Test(cli, misuse_prints_usage_to_stderr_and_exits_2)
{
	const char *const cases[][5] = {
		{NULL},
		{"bogus", NULL},
		{"--bogus", NULL},
		{"read", NULL},
		{"read", "--bogus", "x.shm", NULL},
		{"read", "-z", "x.shm", NULL},
		{"recover", "a", "b", NULL},
		{"recover", "--output", NULL},
		{"recover", "--nope", NULL},
		{"stat", "a", "b", NULL},
		{"stat", "--json", NULL},
		{"help", "nothing", NULL},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct result r = run_tool_argv(cases[k]);
		cr_assert_eq(r.status, 2, "case %zu: status %d", k, r.status);
		cr_assert_str_empty(r.out, "case %zu", k);
		cr_assert(strncmp(r.err, "shmlog", 6) == 0 && strstr(r.err, "\nusage: shmlog"), "case %zu: %s", k, r.err);
		result_free(&r);
	}
}

Test(cli, help_exits_0_for_the_tool_and_every_command)
{
	const char *const cases[][3] = {
		{"--help", NULL}, {"-h", NULL}, {"help", NULL}, {"read", "--help", NULL}, {"recover", "--help", NULL},
		{"stat", "--help", NULL}, {"help", "recover", NULL}, {"read", "-h", NULL},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct result r = run_tool_argv(cases[k]);
		cr_assert_eq(r.status, 0, "case %zu", k);
		cr_assert_str_empty(r.err, "case %zu", k);
		cr_assert(strncmp(r.out, "usage: shmlog", 13) == 0, "case %zu: %s", k, r.out);
		result_free(&r);
	}
}
