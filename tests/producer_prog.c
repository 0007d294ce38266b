/*
 * producer_prog.c — a configurable producer for the end-to-end tests.
 *
 *   producer_prog -d DIR [-n NAME] [-t THREADS] [-r RECORDS] [-p drop|block]
 *                 [-R RING_BYTES] [-m MAX_THREADS] [-f FLUSH_MS] [-C] [-k] [-T BLOCK_TIMEOUT_MS]
 *
 * Each thread t logs RECORDS records "rec t=T i=I s=S d=D x=X" (see
 * EXPECT_FMT) at INFO, plus one DEBUG record (below the default threshold).
 * Then: flush with FLUSH_MS (prints "flush=RC"), -C closes the logger, -k
 * kills the process with SIGKILL instead of exiting.
 */
#include <getopt.h>
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

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	for (long i = 0; i < records; i++)
		SHMLOG_INFO(lg, EXPECT_FMT, EXPECT_ARGS(t, i));
	SHMLOG_DEBUG(lg, "debug t=%d", t);
	return NULL;
}

int main(int argc, char **argv)
{
	struct shmlog_options o = {.name = "prod"};
	int threads = 1, flush_ms = -1, opt;
	int do_close = 0, do_kill = 0;
	while ((opt = getopt(argc, argv, "d:n:t:r:p:R:m:f:CkT:")) != -1) {
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
		default: return 2;
		}
	}
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "open failed: %d\n", rc);
		return 1;
	}
	pthread_t th[256];
	for (int t = 0; t < threads && t < 256; t++)
		pthread_create(&th[t], NULL, worker, (void *)(long)t);
	for (int t = 0; t < threads && t < 256; t++)
		pthread_join(th[t], NULL);
	struct shmlog_stats st;
	shmlog_get_stats(lg, &st);
	printf("lost=%llu\n", (unsigned long long)st.lost);
	if (flush_ms >= 0)
		printf("flush=%d\n", shmlog_flush(lg, flush_ms));
	fflush(stdout);
	if (do_kill)
		raise(SIGKILL);
	if (do_close)
		shmlog_close(lg);
	return 0;
}
