/*
 * producer_prog.c — a configurable producer for the end-to-end tests.
 *
 *   producer_prog -d DIR [-n NAME] [-t THREADS] [-r RECORDS] [-p drop|block]
 *                 [-R RING_BYTES] [-m MAX_THREADS] [-f FLUSH_MS] [-C] [-k] [-T BLOCK_TIMEOUT_MS]
 *                 [-H] [-S] [-A] [-y SYNC_MS] [-L] [-F CHILD_RECORDS] [-W FILE] [-G GATE] [-w WAVES] [-V]
 *                 [-P PAUSE_US] [-s RATE] [-X CODE] [-E CODE]
 *
 * Each thread t logs RECORDS records "rec t=T i=I s=S d=D x=X" (see
 * EXPECT_FMT) at INFO, plus one DEBUG record (below the default threshold).
 * Then: flush with FLUSH_MS (prints "flush=RC"), -C closes the logger, -k
 * kills the process with SIGKILL instead of exiting. -H installs the crash
 * handler, -S then dereferences NULL, -A calls abort(). -y calls shmlog_sync
 * (prints "sync=RC"). -L sets sync_level to WARN and logs one WARN record
 * "durable" (prints "durable_ms=MS", how long the call took). -F forks after
 * the threads: the child logs CHILD_RECORDS records "child i=I" through the
 * same logger, flushes and exits (prints "child_flush=RC", "child=STATUS").
 * -W waits until FILE exists before exiting (keeps the process alive); -G
 * waits until GATE exists before logging (the segment exists meanwhile).
 * -w WAVES runs the threads WAVES times (each wave's threads exit and give
 * their rings back; wave k logs i = k * RECORDS ... (k + 1) * RECORDS - 1).
 * -V keeps one more thread switching the threshold between TRACE and INFO
 * while the waves run (the INFO records are logged either way). -P paces
 * the threads: each pauses PAUSE_US microseconds after every 100 records, so
 * that logging lasts while a test does something beside it.
 * -s RATE paces each thread at RATE records per second (a steady stream).
 * -X ends with _exit(CODE) (no exit handler runs), -E by exec'ing a shell
 * that exits with CODE.
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

int main(int argc, char **argv)
{
	struct shmlog_options o = {.name = "prod"};
	int threads = 1, flush_ms = -1, opt;
	int do_close = 0, do_kill = 0, do_segv = 0, do_abort = 0, sync_ms = -1, durable = 0;
	long child_records = -1, waves = 1;
	int switch_levels = 0;
	const char *wait_file = NULL, *gate_file = NULL, *exit_code = NULL, *exec_code = NULL;
	while ((opt = getopt(argc, argv, "d:n:t:r:p:R:m:f:CkT:HSAy:LF:W:G:w:VP:s:X:E:")) != -1) {
		switch (opt) {
		case 'd': o.dir = optarg; break;
		case 'n': o.name = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'r': records = atol(optarg); break;
		case 'p': o.full_policy = strcmp(optarg, "block") == 0 ? SHMLOG_FULL_BLOCK : SHMLOG_FULL_DROP; break;
		case 'R': o.ring_bytes = (uint32_t)atol(optarg); break;
		case 'm': o.max_threads = (uint32_t)atoi(optarg); break;
		case 'f': flush_ms = atoi(optarg); break;
		case 'C': do_close = 1; break;
		case 'k': do_kill = 1; break;
		case 'T': o.block_timeout_ms = atoi(optarg); break;
		case 'H': o.crash_handler = 1; break;
		case 'S': do_segv = 1; break;
		case 'A': do_abort = 1; break;
		case 'y': sync_ms = atoi(optarg); break;
		case 'L': durable = 1; o.sync_level = SHMLOG_LEVEL_WARN; o.sync_timeout_ms = 5000; break;
		case 'F': child_records = atol(optarg); break;
		case 'W': wait_file = optarg; break;
		case 'G': gate_file = optarg; break;
		case 'w': waves = atol(optarg); break;
		case 'V': switch_levels = 1; break;
		case 'P': pause_us = atol(optarg); break;
		case 's': rate = atol(optarg); break;
		case 'X': exit_code = optarg; break;
		case 'E': exec_code = optarg; break;
		default: return 2;
		}
	}
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "open failed: %d\n", rc);
		return 1;
	}
	pthread_t th[256], switcher;
	if (switch_levels && pthread_create(&switcher, NULL, level_switcher, NULL) != 0) {
		fprintf(stderr, "cannot start a thread\n");
		return 1;
	}
	wait_for(gate_file);
	for (wave = 0; wave < waves; wave++) {
		for (int t = 0; t < threads && t < 256; t++)
			if (pthread_create(&th[t], NULL, worker, (void *)(long)t) != 0) {
				fprintf(stderr, "cannot start a thread\n");
				return 1;
			}
		for (int t = 0; t < threads && t < 256; t++)
			pthread_join(th[t], NULL);
	}
	if (switch_levels) {
		atomic_store(&waves_done, true);
		pthread_join(switcher, NULL);
	}
	if (durable) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		SHMLOG_WARN(lg, "durable");
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("durable_ms=%ld\n", (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000));
	}
	if (child_records >= 0) {
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			for (long i = 0; i < child_records; i++)
				SHMLOG_INFO(lg, "child i=%ld", i);
			printf("child_flush=%d\n", shmlog_flush(lg, 10000));
			fflush(stdout);
			_exit(0);
		}
		int cst = 0;
		waitpid(c, &cst, 0);
		printf("child=%d\n", cst);
	}
	struct shmlog_stats st;
	shmlog_get_stats(lg, &st);
	printf("lost=%llu\n", (unsigned long long)st.lost);
	if (flush_ms >= 0)
		printf("flush=%d\n", shmlog_flush(lg, flush_ms));
	if (sync_ms >= 0)
		printf("sync=%d\n", shmlog_sync(lg, sync_ms));
	fflush(stdout);
	if (do_segv) { /* a real fault at a known address (not NULL: UBSan would catch that first) */
		volatile int *volatile bad = (volatile int *)(uintptr_t)0x10;
		*bad = 1;
	}
	if (do_abort)
		abort();
	if (do_kill)
		raise(SIGKILL);
	if (exit_code)
		_exit(atoi(exit_code));
	if (exec_code) {
		char cmd[32];
		snprintf(cmd, sizeof cmd, "exit %d", atoi(exec_code));
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		return 127;
	}
	wait_for(wait_file);
	if (do_close)
		shmlog_close(lg);
	return 0;
}
