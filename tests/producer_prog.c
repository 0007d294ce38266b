/*
 * producer_prog.c — a configurable producer for the end-to-end tests.
 *
 *   producer_prog -d DIR [-n NAME] [-t THREADS] [-r RECORDS] [-p drop|block]
 *                 [-R RING_BYTES] [-m MAX_THREADS] [-f FLUSH_MS] [-C] [-k] [-T BLOCK_TIMEOUT_MS]
 *                 [-H] [-S] [-A] [-y SYNC_MS] [-L] [-F CHILD_RECORDS] [-W FILE] [-G GATE] [-w WAVES] [-V]
 *                 [-P PAUSE_US] [-s RATE] [-X CODE] [-E CODE] [-B BETWEEN] [-x UNTIL]
 *
 * Each thread t logs RECORDS records "rec t=T i=I s=S d=D x=X" (see
 * EXPECT_FMT) at INFO, plus one DEBUG record (below the default threshold).
 * Then: flush with FLUSH_MS (prints "flush=RC"), -C closes the logger, -k
 * kills the process with SIGKILL instead of exiting. -H installs the crash
 * handler, -S then dereferences NULL, -A calls abort(). -y calls shmlog_sync
 * (prints "sync=RC"). -L sets sync_level to WARN and logs one WARN record
 * "durable" (prints "durable_ms=MS", how long the call took). -F forks after
 * the threads: the child logs CHILD_RECORDS records "child i=I" through the
 * same logger (and a second thread one record "child thread 1"), flushes
 * and calls exit(0) (prints "child_flush=RC", "child=STATUS").
 * -W waits until FILE exists before exiting (keeps the process alive); -G
 * waits until GATE exists before logging (the segment exists meanwhile).
 * -w WAVES runs the threads WAVES times (each wave's threads exit and give
 * their rings back; wave k logs i = k * RECORDS ... (k + 1) * RECORDS - 1);
 * with -B, every wave after the first waits until BETWEEN exists.
 * -V keeps one more thread switching the threshold between TRACE and INFO
 * while the waves run (the INFO records are logged either way). -P paces
 * the threads: each pauses PAUSE_US microseconds after every 100 records, so
 * that logging lasts while a test does something beside it.
 * -s RATE paces each thread at RATE records per second (a steady stream).
 * -X ends with _exit(CODE) (no exit handler runs), -E by exec'ing a shell
 * that exits with CODE, -x by exec'ing a shell that runs until UNTIL exists.
 */
#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmlog.h>

#include "producer_prog.h"

static struct shmlog *lg;
static long records = 10;
static long wave;
static long pause_us;
static atomic_bool waves_done;
static long rate; /* records per second per thread, 0: as fast as it can */

/* With -s: wait until record k of this thread is due (start + k / rate). */
static void pace(const struct timespec *start, long k)
{
	if (!rate)
		return;
	long long ns = (long long)start->tv_nsec + k * (1000000000LL / rate);
	struct timespec due = {start->tv_sec + (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
}

static void *level_switcher(void *arg)
{
	(void)arg;
	for (unsigned k = 0; !atomic_load(&waves_done); k++)
		shmlog_set_level(lg, k & 1 ? SHMLOG_LEVEL_TRACE : SHMLOG_LEVEL_INFO);
	return NULL;
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = wave * records; i < (wave + 1) * records; i++) {
		pace(&start, i - wave * records);
		SHMLOG_INFO(lg, EXPECT_FMT, EXPECT_ARGS(t, i));
		if (pause_us && i % 100 == 99)
			nanosleep(&(struct timespec){pause_us / 1000000, pause_us % 1000000 * 1000}, NULL);
	}
	SHMLOG_DEBUG(lg, "debug t=%d", t);
	return NULL;
}

/* Wait until file (if not NULL) exists: the test's go-ahead. */
static void wait_for(const char *file)
{
	struct stat sb;
	while (file && stat(file, &sb) != 0) {
		struct timespec d = {0, 5 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
}

/* What the command line asks for (see the file comment), beside the logger's options. */
struct prog {
	struct shmlog_options o;
	int threads, flush_ms, sync_ms;
	bool do_close, do_kill, do_segv, do_abort, durable, switch_levels;
	long child_records, waves;
	const char *wait_file, *gate_file, *between_file, *exit_code, *exec_code, *exec_until;
};

/* Parse argv into *p. Returns false on an unknown option. */
static bool parse_args(int argc, char **argv, struct prog *p)
{
	*p = (struct prog){.o = {.name = "prod"}, .threads = 1, .flush_ms = -1, .sync_ms = -1, .child_records = -1,
			   .waves = 1};
	int opt;
	while ((opt = getopt(argc, argv, "d:n:t:r:p:R:m:f:CkT:HSAy:LF:W:G:w:VP:s:X:E:B:x:")) != -1) {
		switch (opt) {
		case 'd': p->o.dir = optarg; break;
		case 'n': p->o.name = optarg; break;
		case 't': p->threads = atoi(optarg); break;
		case 'r': records = atol(optarg); break;
		case 'p': p->o.full_policy = strcmp(optarg, "block") == 0 ? SHMLOG_FULL_BLOCK : SHMLOG_FULL_DROP; break;
		case 'R': p->o.ring_bytes = (uint32_t)atol(optarg); break;
		case 'm': p->o.max_threads = (uint32_t)atoi(optarg); break;
		case 'f': p->flush_ms = atoi(optarg); break;
		case 'C': p->do_close = true; break;
		case 'k': p->do_kill = true; break;
		case 'T': p->o.block_timeout_ms = atoi(optarg); break;
		case 'H': p->o.crash_handler = 1; break;
		case 'S': p->do_segv = true; break;
		case 'A': p->do_abort = true; break;
		case 'y': p->sync_ms = atoi(optarg); break;
		case 'L': p->durable = true; p->o.sync_level = SHMLOG_LEVEL_WARN; p->o.sync_timeout_ms = 5000; break;
		case 'F': p->child_records = atol(optarg); break;
		case 'W': p->wait_file = optarg; break;
		case 'G': p->gate_file = optarg; break;
		case 'w': p->waves = atol(optarg); break;
		case 'V': p->switch_levels = true; break;
		case 'P': pause_us = atol(optarg); break;
		case 's': rate = atol(optarg); break;
		case 'X': p->exit_code = optarg; break;
		case 'E': p->exec_code = optarg; break;
		case 'B': p->between_file = optarg; break;
		case 'x': p->exec_until = optarg; break;
		default: return false;
		}
	}
	return true;
}

/* The waves of threads (and the level switcher beside them). Returns false if a thread could not start. */
static bool run_waves(const struct prog *p)
{
	pthread_t th[256], switcher;
	if (p->switch_levels && pthread_create(&switcher, NULL, level_switcher, NULL) != 0)
		return false;
	wait_for(p->gate_file);
	for (wave = 0; wave < p->waves; wave++) {
		if (wave)
			wait_for(p->between_file);
		for (int t = 0; t < p->threads && t < 256; t++)
			if (pthread_create(&th[t], NULL, worker, (void *)(long)t) != 0)
				return false;
		for (int t = 0; t < p->threads && t < 256; t++)
			pthread_join(th[t], NULL);
	}
	if (p->switch_levels) {
		atomic_store(&waves_done, true);
		pthread_join(switcher, NULL);
	}
	return true;
}

/* -L: one durable record, timed. */
static void log_durable(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	SHMLOG_WARN(lg, "durable");
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("durable_ms=%ld\n", (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000));
}

static void *child_thread(void *arg)
{
	(void)arg;
	SHMLOG_INFO(lg, "child thread %d", 1);
	return NULL;
}

/* -F: a forked child logs through the same logger (a second thread once, racing its first record, which
 * makes the child's segment), flushes and exits. */
static void fork_child_logs(long child_records)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		pthread_t th;
		bool two = pthread_create(&th, NULL, child_thread, NULL) == 0;
		for (long i = 0; i < child_records; i++)
			SHMLOG_INFO(lg, "child i=%ld", i);
		if (two)
			pthread_join(th, NULL);
		printf("child_flush=%d\n", shmlog_flush(lg, 10000));
		fflush(stdout);
		exit(0); /* exit handlers and all, as a program's child would */
	}
	int cst = 0;
	waitpid(c, &cst, 0);
	printf("child=%d\n", cst);
}

/* How the process ends: a fault, abort, SIGKILL, _exit, exec, or (after -W's file) exiting. */
static int finish(const struct prog *p)
{
	if (p->do_segv) { /* a real fault at a known address (not NULL: UBSan would catch that first) */
		volatile int *volatile bad = (volatile int *)(uintptr_t)0x10;
		*bad = 1;
	}
	if (p->do_abort)
		abort();
	if (p->do_kill)
		raise(SIGKILL);
	if (p->exit_code)
		_exit(atoi(p->exit_code));
	if (p->exec_code) {
		char cmd[32];
		snprintf(cmd, sizeof cmd, "exit %d", atoi(p->exec_code));
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		return 127;
	}
	if (p->exec_until) {
		execl("/bin/sh", "sh", "-c", "while [ ! -e \"$0\" ]; do sleep 0.01; done", p->exec_until, (char *)NULL);
		return 127;
	}
	wait_for(p->wait_file);
	if (p->do_close)
		shmlog_close(lg);
	return 0;
}

int main(int argc, char **argv)
{
	struct prog p;
	if (!parse_args(argc, argv, &p))
		return 2;
	int rc = shmlog_open(&lg, &p.o);
	if (rc < 0) {
		fprintf(stderr, "open failed: %d\n", rc);
		return 1;
	}
	if (!run_waves(&p)) {
		fprintf(stderr, "cannot start a thread\n");
		return 1;
	}
	if (p.durable)
		log_durable();
	if (p.child_records >= 0)
		fork_child_logs(p.child_records);
	struct shmlog_stats st;
	shmlog_get_stats(lg, &st);
	printf("lost=%llu\n", (unsigned long long)st.lost);
	if (p.flush_ms >= 0)
		printf("flush=%d\n", shmlog_flush(lg, p.flush_ms));
	if (p.sync_ms >= 0)
		printf("sync=%d\n", shmlog_sync(lg, p.sync_ms));
	fflush(stdout);
	return finish(&p);
}
