/*
 * cli_util.c — see cli_util.h.
 *
 * Every segment the tests of the `shmlog` tool read is made by a real
 * producer: a forked child opens a logger on a fresh directory, logs known
 * records from one to three threads with several argument kinds, and then
 * dies without shmlog_close() (_exit or SIGKILL), just like a crashed
 * program; or it stays alive, blocked on a pipe, for the tests about live
 * processes. No collector runs, so every record is unconsumed unless a test
 * moves a ring's head itself (through its own writable mapping, as a
 * collector would) or damages the file on purpose. The built `shmlog` binary
 * then runs as a separate process and the tests assert on its exact output:
 * each record's message is rebuilt here with snprintf from the same format
 * and arguments. The records are logged from this file, so it is the "file"
 * of every JSON line.
 */
#include "cli_util.h"

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

/* The formats each thread cycles through, one per level (record i uses i % 4). */
#define FMT_INFO "t%d i%d tid=%d str=%s dbl=%.3f"
#define FMT_WARN "t%d i%d tid=%d ll=%lld hex=%#x ptr=%p"
#define FMT_ERROR "t%d i%d tid=%d c=%c sz=%zu neg=%+d cut=%.3s"
#define FMT_DEBUG "t%d i%d tid=%d e=%e pad=[%-6s] g=%g"

char *dir;  /* segment directory of the test */
char *work; /* tool outputs */
char *bin;  /* the shmlog tool */

void setup(void)
{
	dir = th_mkdtemp(true);
	work = th_mkdtemp(false);
	bin = th_build_path("shmlog");
	cr_assert(dir && work && bin);
	cr_assert(access(bin, X_OK) == 0, "%s not built (is SHMLOG_BUILD_DIR set?)", bin);
}

void teardown(void)
{
	th_rmrf(dir);
	th_rmrf(work);
	free(dir);
	free(work);
	free(bin);
}

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
struct prod start_producer(int threads, int n, enum ending end, uint32_t ring_bytes)
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

void prod_release(struct prod *p)
{
	close(p->release);
	close(p->ready);
	int st = th_waitpid_timeout(p->pid, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer ended badly: 0x%x", st);
}

char *segment_of(pid_t pid)
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

struct mapped map_rw(const char *path)
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

void unmap(struct mapped *m)
{
	munmap(m->base, m->len);
}

struct shmlog_seg_header *hdr_of(struct mapped *m)
{
	return (struct shmlog_seg_header *)m->base;
}

struct shmlog_ring_header *ring_of(struct mapped *m, uint32_t i)
{
	struct shmlog_seg_header *h = hdr_of(m);
	return (struct shmlog_ring_header *)(m->base + h->rings_off + (uint64_t)i * SHMLOG_RING_HEADER_BYTES);
}

uint8_t *ring_data(struct mapped *m, uint32_t i)
{
	struct shmlog_seg_header *h = hdr_of(m);
	return m->base + h->ring_data_off + (uint64_t)i * h->ring_bytes;
}

uint32_t used_ring(struct mapped *m)
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

uint64_t record_pos(struct mapped *m, uint32_t i, int k)
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

/*
 * Take the notices on how a producer ended out of text (in place): the tool
 * writes one for each dead producer, as the collector does, and the tests
 * here are about the records. Returns how many there were.
 */
int take_end_notices(char *text)
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

void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

struct result run_tool_argv(const char *const *args)
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

int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------------ checking output */

void parse_text_line(char *l, struct line *pl)
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

void check_message(const struct line *pl, int threads, int n, int *idx)
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
void check_all_records(const char *out, pid_t pid, int threads, int n)
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

void parse_json_line(const char *l, pid_t pid, struct jfield *f, struct line *pl)
{
	int n = json_parse(l, f, 12);
	cr_assert(n >= 8, "invalid JSON line: %s", l);
	static const char *const keys[] = {"ts", "level", "name", "pid", "tid", "file", "line", "msg"};
	for (int k = 0; k < 8; k++)
		cr_assert_str_eq(f[k].key, keys[k], "key %d of %s", k, l);
	cr_assert(f[0].is_str && strlen(f[0].val) == 30 && f[0].val[29] == 'Z');
	cr_assert_str_eq(f[2].val, NAME);
	cr_assert_eq(strtoul(f[3].val, NULL, 10), (unsigned long)pid);
	cr_assert(f[5].is_str && strstr(f[5].val, "cli_util.c"), "file: %s", f[5].val);
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
