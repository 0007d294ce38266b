/*
 * bench_e2e.c — shmlog end to end: from the log call to a line in the text
 * file the collector writes. run.sh starts a fresh collector (on the
 * background CPU, file writer to --out) for every scenario and passes its pid,
 * whose CPU time is read from /proc (the sum of its tasks' schedstat run
 * time, in ns; utime+stime from /proc/PID/stat is reported as a cross-check).
 *
 *   bench_e2e threads  --threads T --n N    T threads of one process log N records in all
 *                      [--message mixed8 | str200]: bench.h's message of that name, not message 1
 *                      (scenario "threads-mixed8" / "threads-str200")
 *   bench_e2e procs    --procs P --n N      P processes log N records in all
 *   bench_e2e delivery --rate R --seconds S one thread logs R records/s; a reader tails the file
 *   bench_e2e idle     --procs P --seconds S P processes log one record each and sleep
 *   bench_e2e routing  --n N --errors FILE --security FILE --console FILE [--security-every K]
 *                      one thread logs N message-1 records at ERROR through the three-writer
 *                      routing config of run.sh; every K-th (default 4) has name=login
 *   bench_e2e syslog   --port P --n N [--tls DIR | --relp]   one thread logs N message-1 records
 *                      to the collector's syslog writer (TCP or, with --tls, TLS with DIR's cert.pem
 *                      and key.pem; octet counting; or RELP) to 127.0.0.1:P, where a receiver thread
 *                      of ours (background CPU) reads and discards, counting frames
 *   common: --out FILE --collector-pid PID [--cpu 0] [--bg-cpu 1] [--run R] [--scenario NAME (threads: the JSON's name)]
 *           [--format binary]: --out is a binary log (shared/binlog.h): its record frames
 *           count as lines, its TEXT frames as the collector's notices; threads reports
 *           itself as scenario "binary"
 *           [--format encrypted --key FILE]: --out is an encrypted text log (shared/encfile.h),
 *           its chunks opened as they are read and their lines counted (e2e_crypt.c); threads
 *           reports itself as scenario "encrypted"
 *
 *   bench_e2e fill --dir DIR --n N [--ring-bytes B] [--mix routing [--security-every K] | --message mixed8|str200]
 *                      no collector: log N message-1 records into one ring of DIR
 *                      (drop policy, so a ring too small shows as lost, never stalls)
 *                      and close, leaving the segment for `shmlog-collector --once`;
 *                      at INFO, or with --mix routing the routing scenario's records
 *
 *   bench_e2e snprintf --n N [--bg-cpu 1]
 *                      no collector: snprintf the messages of `threads` into a buffer, on
 *                      the collector's CPU: the reference of the text-formatting target
 *
 * Routing: the records all match route 1 (level ERROR: errors + console), and
 * the name=login ones also route 2 (the security regex: security), so the
 * collector writes N lines to errors, N to the console (its stdout, a file)
 * and N/K to security; the run ends when all three files hold their records.
 * "login" has the length of "hello": every record has the same size.
 *
 * Producers run on the measuring CPU (0) and use SHMLOG_FULL_BLOCK; the
 * delivery reader runs on the background CPU. Every wait is bounded. Prints
 * one JSON line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmlog.h>

#include "bench.h"
#include "e2e_count.h"
#include "e2e_crypt.h"
#include "e2e_relp.h"
#include "e2e_sink.h"

#define WAIT_TIMEOUT_NS (120ull * 1000000000ull)

static int collector_pid;
static int cpu = 0, bg_cpu = 1;
static uint64_t n_records = 2000000;
static int n_threads = 1, n_procs = 16, seconds = 5;
static enum bench_msg message = BENCH_M1; /* threads: --message m1 | mixed8 | str200 */
static long rate = 100000;
static int run_no; /* --run: which run of run.sh, in the JSON */
static const char *scenario_name; /* --scenario: threads' name for this case in the JSON (run.sh --render) */
static uint64_t security_every = 4;
static const char *fill_dir;
static int fill_routing_mix; /* --mix routing */
static uint32_t ring_bytes = 64u << 20;

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	nanosleep(&ts, NULL);
}

static void pin_cpu(int c)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(c, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* Collector CPU time in ns: the sum over its live tasks of schedstat's run time. */
static uint64_t collector_cpu_ns(uint64_t *stat_ns)
{
	char path[320], buf[1024];
	uint64_t sum = 0;
	*stat_ns = 0;
	snprintf(path, sizeof path, "/proc/%d/task", collector_pid);
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", collector_pid, e->d_name);
			FILE *f = fopen(path, "r");
			unsigned long long run = 0;
			if (f) {
				if (fscanf(f, "%llu", &run) == 1)
					sum += run;
				fclose(f);
			}
		}
		closedir(d);
	}
	snprintf(path, sizeof path, "/proc/%d/stat", collector_pid);
	FILE *f = fopen(path, "r");
	if (f) {
		size_t r = fread(buf, 1, sizeof buf - 1, f);
		buf[r] = 0;
		fclose(f);
		const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
		unsigned long long ut = 0, st = 0;
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
			*stat_ns = (ut + st) * 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
	}
	return sum;
}

/* ---- counting lines of the collector's output ---- */

static struct counted out = {.fd = -1}; /* --out */
static struct counted errors_out = {.fd = -1}, security_out = {.fd = -1}, console_out = {.fd = -1}; /* routing */
static uint64_t reached_ns;             /* when wait_frames() saw its count */

static void count_output(struct counted *c)
{
	if (c->fd < 0 && (c->fd = open(c->path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	static char buf[1 << 16];
	ssize_t r;
	while (c->crypt && (r = read(c->fd, buf, sizeof buf)) > 0)
		e2e_crypt_count(c->crypt, (const uint8_t *)buf, (size_t)r, &c->lines, &c->texts);
	while (c->binary && (r = read(c->fd, buf, sizeof buf)) > 0)
		e2e_count_binlog(c, (const uint8_t *)buf, (size_t)r);
	while (!c->binary && !c->crypt && (r = read(c->fd, buf, sizeof buf)) > 0)
		for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))) != NULL; p++)
			c->lines++;
}

/* Wait until c holds at least want lines. Returns 0, or -1 after WAIT_TIMEOUT_NS. */
static int wait_lines(struct counted *c, uint64_t want)
{
	uint64_t deadline = mono_ns() + WAIT_TIMEOUT_NS;
	for (;;) {
		count_output(c);
		if (c->lines >= want)
			return 0;
		if (mono_ns() > deadline) {
			fprintf(stderr, "bench_e2e: %s has %llu lines, expected %llu\n", c->path,
				(unsigned long long)c->lines, (unsigned long long)want);
			return -1;
		}
		sleep_ns(100000);
	}
}

/* Lines the collector wrote about producers rather than for them ("[shmlog] process N exited", ...). */
static uint64_t count_notices(const struct counted *c)
{
	if (c->binary || c->crypt)
		return c->texts;
	FILE *f = fopen(c->path, "r");
	if (!f)
		return 0;
	static char line[8192];
	uint64_t n = 0;
	while (fgets(line, sizeof line, f))
		if (strstr(line, "]: [shmlog] "))
			n++;
	fclose(f);
	return n;
}

/* Wait until c holds `records` records, not counting the collector's notices (untimed: after flushed_end()). */
static int wait_records(struct counted *c, uint64_t records)
{
	if (c->crypt)
		return e2e_crypt_wait(c->crypt, c->path, records, WAIT_TIMEOUT_NS, &c->lines, &c->texts);
	uint64_t want = records;
	for (int i = 0; i < 100; i++) {
		if (wait_lines(c, want) < 0)
			return -1;
		uint64_t notices = count_notices(c);
		if (c->lines - notices >= records)
			return 0;
		want = records + notices;
	}
	return -1;
}

static int open_logger(struct shmlog **lg, const char *name)
{
	struct shmlog_options o = {.name = name, .full_policy = SHMLOG_FULL_BLOCK, .block_timeout_ms = 10000};
	int rc = shmlog_open(lg, &o);
	if (rc < 0)
		fprintf(stderr, "bench_e2e: shmlog_open: error %d\n", -rc);
	return rc;
}

/* The size of the file at path now: the bytes the collector wrote there (report_io.py). */
static unsigned long long file_bytes(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

static void report_run(const char *scenario, int producers, uint64_t records, uint64_t t0, uint64_t t1,
		       uint64_t c0, uint64_t c1, uint64_t s0, uint64_t s1, int ok)
{
	double secs = (double)(t1 - t0) / 1e9;
	uint64_t notices = count_notices(&out);
	printf("{\"scenario\":\"%s\",\"run\":%d,\"producers\":%d,\"records\":%llu,\"seconds\":%.6f,\"rps\":%.0f,"
	       "\"collector_cpu_s\":%.6f,\"collector_cpu_ms_per_M\":%.3f,\"collector_cpu_stat_ms_per_M\":%.3f,"
	       "\"lines\":%llu,\"out_bytes\":%llu,\"collector_notices\":%llu,\"ok\":%d}\n",
	       scenario, run_no, producers, (unsigned long long)records, secs, (double)records / secs,
	       (double)(c1 - c0) / 1e9, (double)(c1 - c0) / 1e6 / ((double)records / 1e6),
	       (double)(s1 - s0) / 1e6 / ((double)records / 1e6), (unsigned long long)out.lines, file_bytes(out.path),
	       (unsigned long long)notices, ok && out.lines - notices == records + (uint64_t)producers);
}

/* ---- threads: T threads of one process ---- */

static struct shmlog *lg;
static pthread_barrier_t start_barrier;

/*
 * The end of a run into files: when lg's flush returns, every record is in
 * its file, since the collector publishes a ring's head only once the
 * writers have written its records. The output is counted after that,
 * untimed, to check the run (the bench reading 400 MB of lines is not the
 * collector's time; the peers' harness also ends at its flush). A flush that
 * fails makes the run fail. Returns the time; *cpu and *stat are the
 * collector's CPU then (collector_cpu_ns()).
 */
static uint64_t flushed_end(struct shmlog *l, int *ok, uint64_t *cpu, uint64_t *stat)
{
	int rc = shmlog_flush(l, 30000);
	uint64_t t = mono_ns();
	*cpu = collector_cpu_ns(stat);
	if (rc < 0) {
		fprintf(stderr, "bench_e2e: shmlog_flush failed: error %d\n", -rc);
		*ok = 0;
	}
	return t;
}

static void *producer_thread(void *arg)
{
	uint64_t n = (uint64_t)(uintptr_t)arg;
	pin_cpu(cpu);
	SHMLOG_INFO(lg, "warm-up from a producer thread");
	pthread_barrier_wait(&start_barrier); /* warm-up logged */
	pthread_barrier_wait(&start_barrier); /* go */
	for (uint64_t i = 0; i < n && message == BENCH_M1; i++)
		SHMLOG_INFO(lg, BENCH_FMT_M1, (int)i, BENCH_NAME, BENCH_PI);
	for (uint64_t i = 0; i < n && message == BENCH_MIXED8; i++)
		SHMLOG_INFO(lg, BENCH_FMT_MIXED8, (int)i, (unsigned)i * 3u, (long)i * 7, (unsigned long long)i << 20, 'x',
			    BENCH_NAME, BENCH_PI, (double)i * 0.5);
	for (uint64_t i = 0; i < n && message == BENCH_STR200; i++)
		SHMLOG_INFO(lg, BENCH_FMT_STR200, BENCH_STR200_TEXT);
	return NULL;
}

static int run_threads(void)
{
	pin_cpu(cpu); /* off the collector's CPU: this thread reads the whole output at the end */
	if (open_logger(&lg, "e2e") < 0)
		return 1;
	pthread_t th[64];
	if (n_threads > 64)
		n_threads = 64;
	pthread_barrier_init(&start_barrier, NULL, (unsigned)n_threads + 1);
	for (int t = 0; t < n_threads; t++)
		pthread_create(&th[t], NULL, producer_thread, (void *)(uintptr_t)(n_records / (uint64_t)n_threads));
	pthread_barrier_wait(&start_barrier);
	int ok = wait_lines(&out, (uint64_t)n_threads) == 0;
	uint64_t s0, c0 = collector_cpu_ns(&s0), t0 = mono_ns();
	pthread_barrier_wait(&start_barrier);
	for (int t = 0; t < n_threads; t++)
		pthread_join(th[t], NULL);
	uint64_t records = n_records / (uint64_t)n_threads * (uint64_t)n_threads;
	uint64_t s1, c1, t1 = flushed_end(lg, &ok, &c1, &s1);
	ok &= wait_records(&out, (uint64_t)n_threads + records) == 0;
	const char *scenario = scenario_name	     ? scenario_name
			       : out.binary	     ? "binary"
			       : out.crypt	     ? "encrypted"
			       : message == BENCH_MIXED8 ? "threads-mixed8"
			       : message == BENCH_STR200 ? "threads-str200"
						     : "threads";
	report_run(scenario, n_threads, records, t0, t1, c0, c1, s0, s1, ok);
	shmlog_close(lg);
	return ok ? 0 : 3;
}

/* ---- procs: P processes ---- */

static int read_bounded(int fd, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	char c;
	return read(fd, &c, 1) == 1 ? 0 : -1;
}

/* Signal (sig != 0) and wait for the children; SIGKILL whoever is left after
 * timeout_s. Returns whether every child exited with status 0. */
static bool reap(pid_t *pids, int n, int sig, int timeout_s)
{
	bool all_ok = true;
	for (int i = 0; i < n; i++)
		if (pids[i] > 0 && sig)
			kill(pids[i], sig);
	uint64_t deadline = mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	for (int i = 0; i < n; i++) {
		int st = 0;
		if (pids[i] <= 0)
			continue;
		while (waitpid(pids[i], &st, WNOHANG) == 0) {
			if (mono_ns() > deadline) {
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &st, 0);
				break;
			}
			sleep_ns(1000000);
		}
		all_ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	return all_ok;
}

static int run_procs(void)
{
	int ready[2], go[2];
	if (pipe(ready) < 0 || pipe(go) < 0)
		return 1;
	pid_t pids[256];
	if (n_procs > 256)
		n_procs = 256;
	uint64_t per = n_records / (uint64_t)n_procs;
	fflush(stdout); /* nothing buffered may be printed twice by exiting children */
	for (int p = 0; p < n_procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			close(ready[0]);
			close(go[1]);
			pin_cpu(cpu);
			struct shmlog *plg;
			char name[32];
			snprintf(name, sizeof name, "e2e-%d", p);
			if (open_logger(&plg, name) < 0)
				_exit(1);
			SHMLOG_INFO(plg, "warm-up from producer process %d", p);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			char c;
			struct pollfd pf = {go[0], POLLIN, 0};
			if (poll(&pf, 1, 60000) <= 0 || read(go[0], &c, 1) != 0) /* EOF is the start signal */
				_exit(1);
			for (uint64_t i = 0; i < per; i++)
				SHMLOG_INFO(plg, "value=%d name=%s pi=%f", (int)i, "hello", 3.14159265358979);
			int rc = shmlog_flush(plg, 30000);
			shmlog_close(plg);
			exit(rc < 0 ? 1 : 0); /* exit, not _exit: the collector notes a producer that did not exit normally */
		}
	}
	pin_cpu(cpu); /* off the collector's CPU: this process reads the whole output at the end */
	close(ready[1]);
	close(go[0]);
	int ok = 1;
	for (int p = 0; p < n_procs; p++)
		if (read_bounded(ready[0], 30000) < 0) {
			fprintf(stderr, "bench_e2e: producer process %d did not start\n", p);
			ok = 0;
			break;
		}
	ok &= wait_lines(&out, (uint64_t)n_procs) == 0;
	uint64_t s0, c0 = collector_cpu_ns(&s0), t0 = mono_ns();
	close(go[1]);
	uint64_t records = per * (uint64_t)n_procs;
	/* no polling of the output while the producers run (it would take CPU from them or the collector);
	 * the end is when the last of them has exited after its flush (flushed_end()), the count is untimed */
	ok &= reap(pids, n_procs, ok ? 0 : SIGKILL, 120);
	uint64_t t1 = mono_ns(), s1, c1 = collector_cpu_ns(&s1);
	ok &= wait_records(&out, (uint64_t)n_procs + records) == 0;
	report_run("procs", n_procs, records, t0, t1, c0, c1, s0, s1, ok);
	return ok ? 0 : 3;
}

/* ---- delivery: a paced producer and a reader tailing the file ---- */

static uint64_t *delivery_ns; /* by sequence number; 0 = not seen */
static uint64_t delivery_total;
static volatile int reader_stop;

static void handle_line(const char *line, size_t len)
{
	/* "... t=<realtime ns> seq=<n>" at the end of the message */
	const char *t = memmem(line, len, " t=", 3);
	if (!t)
		return;
	unsigned long long ts = 0, seq = 0;
	if (sscanf(t, " t=%llu seq=%llu", &ts, &seq) != 2 || seq >= delivery_total)
		return;
	uint64_t now = clock_ns(CLOCK_REALTIME);
	delivery_ns[seq] = now > ts ? now - ts : 1;
}

static void *reader_thread(void *arg)
{
	(void)arg;
	pin_cpu(bg_cpu);
	int in = inotify_init1(IN_CLOEXEC);
	int fd = open(out.path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fd < 0 || inotify_add_watch(in, out.path, IN_MODIFY) < 0) {
		fprintf(stderr, "bench_e2e: cannot watch %s: %s\n", out.path, strerror(errno));
		return NULL;
	}
	lseek(fd, 0, SEEK_END);
	static char buf[1 << 20];
	size_t have = 0;
	char ev[4096];
	while (!reader_stop) {
		struct pollfd p = {in, POLLIN, 0};
		if (poll(&p, 1, 100) > 0 && read(in, ev, sizeof ev) < 0)
			break;
		ssize_t r;
		while ((r = read(fd, buf + have, sizeof buf - have)) > 0) {
			have += (size_t)r;
			char *start = buf, *nl;
			while ((nl = memchr(start, '\n', (size_t)(buf + have - start))) != NULL) {
				handle_line(start, (size_t)(nl - start));
				start = nl + 1;
			}
			have -= (size_t)(start - buf);
			memmove(buf, start, have);
		}
	}
	close(fd);
	close(in);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int run_delivery(void)
{
	delivery_total = (uint64_t)rate * (uint64_t)seconds;
	delivery_ns = calloc(delivery_total, sizeof *delivery_ns);
	if (!delivery_ns || open_logger(&lg, "e2e-delivery") < 0)
		return 1;
	pin_cpu(cpu);
	SHMLOG_INFO(lg, "warm-up");
	int ok = wait_lines(&out, 1) == 0;
	pthread_t rt;
	pthread_create(&rt, NULL, reader_thread, NULL);
	sleep_ns(100000000);
	uint64_t s0, c0 = collector_cpu_ns(&s0);
	uint64_t period = 1000000000u / (uint64_t)rate, t0 = mono_ns();
	for (uint64_t seq = 0; seq < delivery_total; seq++) {
		uint64_t due = t0 + seq * period;
		while (mono_ns() < due)
			;
		SHMLOG_INFO(lg, "value=%d name=%s pi=%f t=%llu seq=%llu", (int)seq, "hello", 3.14159265358979,
			    (unsigned long long)clock_ns(CLOCK_REALTIME), (unsigned long long)seq);
	}
	uint64_t t1 = mono_ns();
	shmlog_flush(lg, 30000);
	ok &= wait_lines(&out, 1 + delivery_total) == 0;
	uint64_t s1, c1 = collector_cpu_ns(&s1);
	sleep_ns(200000000); /* let the reader see the last lines */
	reader_stop = 1;
	pthread_join(rt, NULL);
	/* the first half second is warm-up */
	uint64_t skip = (uint64_t)rate / 2, n = 0, missing = 0;
	uint64_t *v = malloc(delivery_total * sizeof *v);
	for (uint64_t i = skip; i < delivery_total; i++) {
		if (delivery_ns[i])
			v[n++] = delivery_ns[i];
		else
			missing++;
	}
	qsort(v, n, sizeof *v, cmp_u64);
#define P(q) (n ? (double)v[(uint64_t)((double)(n - 1) * (q))] / 1000.0 : -1.0)
	printf("{\"scenario\":\"delivery\",\"rate\":%ld,\"achieved_rate\":%.0f,\"samples\":%llu,\"missing\":%llu,"
	       "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p99.9_us\":%.1f,\"max_us\":%.1f,"
	       "\"collector_cpu_pct\":%.2f,\"ok\":%d}\n",
	       rate, (double)delivery_total / ((double)(t1 - t0) / 1e9), (unsigned long long)n,
	       (unsigned long long)missing, P(0.5), P(0.9), P(0.99), P(0.999), P(1.0),
	       (double)(c1 - c0) / (double)(t1 - t0) * 100.0, ok && missing == 0);
#undef P
	shmlog_close(lg);
	free(v);
	return ok ? 0 : 3;
}

/* ---- idle: P producers that logged once and sleep ---- */

static volatile sig_atomic_t idle_stop;

static void on_term(int sig)
{
	(void)sig;
	idle_stop = 1;
}

static int run_idle(void)
{
	pid_t pids[256];
	if (n_procs > 256)
		n_procs = 256;
	fflush(stdout);
	for (int p = 0; p < n_procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			struct shmlog *plg;
			char name[32];
			snprintf(name, sizeof name, "idle-%d", p);
			if (open_logger(&plg, name) < 0)
				_exit(1);
			struct sigaction sa = {.sa_handler = on_term};
			sigaction(SIGTERM, &sa, NULL);
			SHMLOG_INFO(plg, "idle producer %d logged once and sleeps", p);
			/* until SIGTERM; bounded in case the parent is gone */
			for (int i = 0; i < (seconds + 60) * 10 && !idle_stop; i++)
				sleep_ns(100000000);
			shmlog_close(plg);
			exit(0);
		}
	}
	int ok = wait_lines(&out, (uint64_t)n_procs) == 0;
	sleep_ns(1000000000); /* let the collector's poll back off */
	uint64_t s0, c0 = collector_cpu_ns(&s0), t0 = mono_ns();
	sleep_ns((uint64_t)seconds * 1000000000u);
	uint64_t s1, c1 = collector_cpu_ns(&s1), t1 = mono_ns();
	reap(pids, n_procs, SIGTERM, 10);
	double wall = (double)(t1 - t0);
	printf("{\"scenario\":\"idle\",\"producers\":%d,\"seconds\":%.3f,\"collector_cpu_pct\":%.3f,"
	       "\"collector_cpu_stat_pct\":%.3f,\"ok\":%d}\n",
	       n_procs, wall / 1e9, (double)(c1 - c0) / wall * 100.0, (double)(s1 - s0) / wall * 100.0, ok);
	return ok ? 0 : 3;
}

/* ---- routing: one thread, three writers (two files and the console sent to a file) ---- */

/* Record i of the routing run: every security_every-th one also matches the security regex. */
static inline const char *routing_name(uint64_t i)
{
	return i % security_every == security_every - 1 ? "login" : "hello";
}

static void *routing_thread(void *arg)
{
	uint64_t n = (uint64_t)(uintptr_t)arg;
	pin_cpu(cpu);
	SHMLOG_ERROR(lg, "warm-up from a producer thread"); /* route 1: errors and console */
	pthread_barrier_wait(&start_barrier); /* warm-up logged */
	pthread_barrier_wait(&start_barrier); /* go */
	for (uint64_t i = 0; i < n; i++)
		SHMLOG_ERROR(lg, "value=%d name=%s pi=%f", (int)i, routing_name(i), 3.14159265358979);
	return NULL;
}

/* Records file c should hold beyond its notices: 0 if it did, or -1 (message printed). */
static int routing_check(const struct counted *c, uint64_t want)
{
	uint64_t got = c->lines - count_notices(c);
	if (got == want)
		return 0;
	fprintf(stderr, "bench_e2e: %s holds %llu records, expected %llu\n", c->path, (unsigned long long)got,
		(unsigned long long)want);
	return -1;
}

static int run_routing(void)
{
	if (open_logger(&lg, "e2e-routing") < 0)
		return 1;
	pthread_t th;
	pthread_barrier_init(&start_barrier, NULL, 2);
	pthread_create(&th, NULL, routing_thread, (void *)(uintptr_t)n_records);
	pthread_barrier_wait(&start_barrier);
	int ok = wait_records(&errors_out, 1) == 0 && wait_records(&console_out, 1) == 0;
	uint64_t s0, c0 = collector_cpu_ns(&s0), t0 = mono_ns();
	pthread_barrier_wait(&start_barrier);
	pthread_join(th, NULL);
	uint64_t s1, c1, t1 = flushed_end(lg, &ok, &c1, &s1);
	uint64_t secured = n_records / security_every;
	ok &= wait_records(&errors_out, 1 + n_records) == 0;
	ok &= wait_records(&security_out, secured) == 0;
	ok &= wait_records(&console_out, 1 + n_records) == 0;
	ok &= routing_check(&errors_out, 1 + n_records) == 0;
	ok &= routing_check(&security_out, secured) == 0;
	ok &= routing_check(&console_out, 1 + n_records) == 0;
	double secs = (double)(t1 - t0) / 1e9;
	printf("{\"scenario\":\"routing\",\"run\":%d,\"producers\":1,\"records\":%llu,\"seconds\":%.6f,"
	       "\"rps\":%.0f,\"collector_cpu_s\":%.6f,\"collector_cpu_ms_per_M\":%.3f,"
	       "\"collector_cpu_stat_ms_per_M\":%.3f,\"security_every\":%llu,\"errors_lines\":%llu,"
	       "\"security_lines\":%llu,\"console_lines\":%llu,\"lines_written\":%llu,\"out_bytes\":%llu,\"ok\":%d}\n",
	       run_no, (unsigned long long)n_records, secs, (double)n_records / secs, (double)(c1 - c0) / 1e9,
	       (double)(c1 - c0) / 1e6 / ((double)n_records / 1e6), (double)(s1 - s0) / 1e6 / ((double)n_records / 1e6),
	       (unsigned long long)security_every, (unsigned long long)errors_out.lines,
	       (unsigned long long)security_out.lines, (unsigned long long)console_out.lines,
	       (unsigned long long)(errors_out.lines + security_out.lines + console_out.lines),
	       file_bytes(errors_out.path) + file_bytes(security_out.path) + file_bytes(console_out.path), ok);
	shmlog_close(lg);
	return ok ? 0 : 3;
}

/* ---- syslog: one thread, the syslog writer over TCP (or TLS) to a receiver that reads and discards ---- */

static unsigned syslog_port; /* --port */
static const char *syslog_tls; /* --tls: the receiver's certificate directory, NULL for TCP */
static int syslog_relp;        /* --relp: the receiver speaks RELP (librelp) */
static int sink_listen = -1;
static _Atomic uint64_t sink_frames; /* octet-counted frames the receiver read wholly */

/* The receiver: accept one connection and read it to its end, counting frames. */
static void *sink_thread(void *arg)
{
	(void)arg;
	pin_cpu(bg_cpu);
	struct pollfd p = {sink_listen, POLLIN, 0};
	if (poll(&p, 1, 120000) <= 0)
		return NULL;
	int fd = accept(sink_listen, NULL, NULL);
	void *tls = fd >= 0 && syslog_tls ? e2e_tls_accept(fd, syslog_tls) : NULL;
	static char buf[1 << 16];
	uint64_t len = 0, skip = 0;
	ssize_t r;
	while (fd >= 0 && (!syslog_tls || tls) &&
	       (r = tls ? e2e_tls_read(tls, buf, sizeof buf) : read(fd, buf, sizeof buf)) > 0)
		atomic_fetch_add_explicit(&sink_frames, e2e_count_octet_frames(buf, (size_t)r, &len, &skip), memory_order_release);
	e2e_tls_free(tls);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Wait until the receiver has want frames. Returns 0, or -1 after WAIT_TIMEOUT_NS. */
static int wait_frames(uint64_t want)
{
	uint64_t deadline = mono_ns() + WAIT_TIMEOUT_NS;
	/* acquire: pairs with the receiver's release of its count */
	while (atomic_load_explicit(&sink_frames, memory_order_acquire) < want) {
		if (mono_ns() > deadline) {
			fprintf(stderr, "bench_e2e: the receiver has %llu frames, expected %llu\n",
				(unsigned long long)atomic_load(&sink_frames), (unsigned long long)want);
			return -1;
		}
		sleep_ns(100000);
	}
	reached_ns = mono_ns();
	return 0;
}

static int run_syslog(void)
{
	pthread_t sink, th;
	if (syslog_relp ? e2e_relp_start(syslog_port, &sink_frames) < 0
			: (sink_listen = e2e_sink_listen(syslog_port)) < 0 || pthread_create(&sink, NULL, sink_thread, NULL) != 0)
		return 1;
	if (open_logger(&lg, "e2e-syslog") < 0)
		return 1;
	pthread_barrier_init(&start_barrier, NULL, 2);
	pthread_create(&th, NULL, producer_thread, (void *)(uintptr_t)n_records);
	pthread_barrier_wait(&start_barrier);
	int ok = wait_frames(1) == 0; /* the warm-up record: connected */
	uint64_t s0, c0 = collector_cpu_ns(&s0), t0 = mono_ns();
	pthread_barrier_wait(&start_barrier);
	pthread_join(th, NULL);
	shmlog_flush(lg, 30000);
	ok &= wait_frames(1 + n_records) == 0;
	uint64_t t1 = reached_ns, s1, c1 = collector_cpu_ns(&s1);
	double secs = (double)(t1 - t0) / 1e9;
	printf("{\"scenario\":\"%s\",\"run\":%d,\"producers\":1,\"records\":%llu,\"seconds\":%.6f,"
	       "\"rps\":%.0f,\"collector_cpu_s\":%.6f,\"collector_cpu_ms_per_M\":%.3f,"
	       "\"collector_cpu_stat_ms_per_M\":%.3f,\"frames\":%llu,\"ok\":%d}\n",
	       syslog_relp ? "syslog_relp" : syslog_tls ? "syslog_tls" : "syslog", run_no, (unsigned long long)n_records, secs,
	       (double)n_records / secs, (double)(c1 - c0) / 1e9,
	       (double)(c1 - c0) / 1e6 / ((double)n_records / 1e6), (double)(s1 - s0) / 1e6 / ((double)n_records / 1e6),
	       (unsigned long long)atomic_load(&sink_frames), ok);
	shmlog_close(lg);
	return ok ? 0 : 3;
}

/* ---- fill: a segment of N message-1 records for the collector's instruction count ---- */

static int run_fill(void)
{
	struct shmlog_options o = {.name = "fill", .dir = fill_dir, .ring_bytes = ring_bytes,
				   .min_level = SHMLOG_LEVEL_INFO, .full_policy = SHMLOG_FULL_DROP};
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "bench_e2e: shmlog_open %s: error %d\n", fill_dir, -rc);
		return 1;
	}
	for (uint64_t i = 0; i < n_records; i++) { /* --message: the collector's cost of that message */
		if (fill_routing_mix)
			SHMLOG_ERROR(lg, "value=%d name=%s pi=%f", (int)i, routing_name(i), 3.14159265358979);
		else if (message == BENCH_MIXED8)
			SHMLOG_INFO(lg, BENCH_FMT_MIXED8, (int)i, (unsigned)i * 3u, (long)i * 7, (unsigned long long)i << 20,
				    'x', BENCH_NAME, BENCH_PI, (double)i * 0.5);
		else if (message == BENCH_STR200)
			SHMLOG_INFO(lg, BENCH_FMT_STR200, BENCH_STR200_TEXT);
		else
			SHMLOG_INFO(lg, "value=%d name=%s pi=%f", (int)i, "hello", 3.14159265358979);
	}
	struct shmlog_stats st;
	shmlog_get_stats(lg, &st);
	shmlog_close(lg);
	printf("{\"scenario\":\"fill\",\"run\":%d,\"records\":%llu,\"committed_bytes\":%llu,\"lost\":%llu,"
	       "\"ok\":%d}\n",
	       run_no, (unsigned long long)n_records, (unsigned long long)st.committed_bytes,
	       (unsigned long long)st.lost, st.lost == 0);
	if (st.lost)
		fprintf(stderr, "bench_e2e: fill: %llu of %llu records lost: the ring (%u bytes) is too small\n",
			(unsigned long long)st.lost, (unsigned long long)n_records, ring_bytes);
	return st.lost ? 3 : 0;
}

/*
 * snprintf: the reference of the text-formatting target (issue: the collector's
 * text end to end against formatting the same messages with snprintf alone, no
 * I/O, in the same run). The messages of `threads`, formatted one after another
 * into one buffer, on the collector's CPU.
 */
static int run_snprintf(void)
{
	pin_cpu(bg_cpu);
	char buf[256];
	volatile size_t sink = 0;
	uint64_t t0 = mono_ns();
	for (uint64_t i = 0; i < n_records; i++)
		sink += (size_t)snprintf(buf, sizeof buf, "value=%d name=%s pi=%f", (int)i, "hello", 3.14159265358979);
	double secs = (double)(mono_ns() - t0) / 1e9;
	printf("{\"scenario\":\"snprintf\",\"run\":%d,\"producers\":1,\"records\":%llu,\"seconds\":%.6f,"
	       "\"rps\":%.0f,\"bytes\":%zu,\"ok\":1}\n",
	       run_no, (unsigned long long)n_records, secs, (double)n_records / secs, (size_t)sink);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_e2e threads|procs|delivery|idle --out FILE --collector-pid PID\n"
			"       [--threads T] [--procs P] [--n N] [--rate R] [--seconds S] [--cpu 0] [--bg-cpu 1] [--run R] [--scenario NAME]\n"
			"       [--format binary] [--key FILE (an encrypted text log)]\n"
			"       bench_e2e routing --errors FILE --security FILE --console FILE --collector-pid PID\n"
			"       [--n N] [--security-every K] [--cpu 0] [--bg-cpu 1] [--run R]\n"
			"       bench_e2e fill --dir DIR [--n N] [--ring-bytes B] [--mix routing [--security-every K] | --message mixed8|str200]\n"
			"       bench_e2e syslog --port P [--tls DIR | --relp on] --collector-pid PID [--n N] [--cpu 0] [--bg-cpu 1] [--run R]\n"
			"       bench_e2e snprintf [--n N] [--bg-cpu 1] [--run R]\n");
	exit(2);
}

/* Take option a with value v. Returns 1, 0 for an option not known, -1 when it cannot be used. */
static int parse_option(const char *a, const char *v)
{
	if (!strcmp(a, "--out"))
		out.path = v;
	else if (!strcmp(a, "--format"))
		out.binary = !strcmp(v, "binary");
	else if (!strcmp(a, "--key"))
		return (out.crypt = e2e_crypt_new(v)) ? 1 : -1;
	else if (!strcmp(a, "--collector-pid"))
		collector_pid = atoi(v);
	else if (!strcmp(a, "--message"))
		message = !strcmp(v, "mixed8") ? BENCH_MIXED8 : !strcmp(v, "str200") ? BENCH_STR200 : BENCH_M1;
	else if (!strcmp(a, "--threads"))
		n_threads = atoi(v);
	else if (!strcmp(a, "--procs"))
		n_procs = atoi(v);
	else if (!strcmp(a, "--n"))
		n_records = strtoull(v, NULL, 10);
	else if (!strcmp(a, "--rate"))
		rate = atol(v);
	else if (!strcmp(a, "--seconds"))
		seconds = atoi(v);
	else if (!strcmp(a, "--cpu"))
		cpu = atoi(v);
	else if (!strcmp(a, "--bg-cpu"))
		bg_cpu = atoi(v);
	else if (!strcmp(a, "--run"))
		run_no = atoi(v);
	else if (!strcmp(a, "--scenario"))
		scenario_name = v;
	else if (!strcmp(a, "--errors"))
		errors_out.path = v;
	else if (!strcmp(a, "--security"))
		security_out.path = v;
	else if (!strcmp(a, "--console"))
		console_out.path = v;
	else if (!strcmp(a, "--security-every"))
		security_every = strtoull(v, NULL, 10);
	else if (!strcmp(a, "--dir"))
		fill_dir = v;
	else if (!strcmp(a, "--mix") && !strcmp(v, "routing"))
		fill_routing_mix = 1;
	else if (!strcmp(a, "--port"))
		syslog_port = (unsigned)atoi(v);
	else if (!strcmp(a, "--tls"))
		syslog_tls = v;
	else if (!strcmp(a, "--relp") && !strcmp(v, "on"))
		syslog_relp = 1;
	else if (!strcmp(a, "--ring-bytes"))
		ring_bytes = (uint32_t)strtoul(v, NULL, 0);
	else
		return 0;
	return 1;
}

/* Run scenario with the options parsed. Returns the exit status (usage() for what it lacks). */
static int run_scenario(const char *scenario)
{
	if (!strcmp(scenario, "fill"))
		return fill_dir ? run_fill() : (usage(), 2);
	if (!strcmp(scenario, "snprintf"))
		return n_records >= 1 ? run_snprintf() : (usage(), 2);
	if (!strcmp(scenario, "routing"))
		return errors_out.path && security_out.path && console_out.path && collector_pid > 0 &&
				       security_every >= 1 && n_records >= 1
			       ? run_routing()
			       : (usage(), 2);
	if (!strcmp(scenario, "syslog"))
		return syslog_port && collector_pid > 0 && n_records >= 1 ? run_syslog() : (usage(), 2);
	if (!out.path || collector_pid <= 0 || n_threads < 1 || n_procs < 0 || rate < 1 || seconds < 1)
		usage();
	if (!strcmp(scenario, "threads"))
		return run_threads();
	if (!strcmp(scenario, "procs"))
		return n_procs < 1 ? (usage(), 2) : run_procs();
	if (!strcmp(scenario, "delivery"))
		return run_delivery();
	if (!strcmp(scenario, "idle"))
		return run_idle();
	usage();
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	for (int i = 2; i < argc; i += 2) {
		int r = i + 1 < argc ? parse_option(argv[i], argv[i + 1]) : 0;
		if (r < 0)
			return 1;
		if (r == 0)
			usage();
	}
	return run_scenario(argv[1]);
}
