/*
 * demo.c — an example producer: a few threads log through libshmlog (one
 * record with structured fields, SHMLOG_INFO_KV), then wait until the
 * collector has taken everything.
 *
 *   shmlog-demo [THREADS [RECORDS_PER_THREAD]]
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <shmlog.h>

static struct shmlog *lg;
static long per_thread = 5;

static void *worker(void *arg)
{
	long t = (long)arg;
	for (long i = 0; i < per_thread; i++)
		SHMLOG_INFO(lg, "thread %ld: order %ld filled at %.2f (%s)", t, i, 100.0 + (double)i / 4, "AAPL");
	SHMLOG_DEBUG(lg, "below the default threshold: not logged");
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = argc > 1 ? atol(argv[1]) : 2;
	if (argc > 2)
		per_thread = atol(argv[2]);
	struct shmlog_options o = {.name = "demo"};
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "shmlog-demo: shmlog_open failed: error %d\n", -rc);
		return 1;
	}
	SHMLOG_WARN(lg, "demo starting with %ld threads, %ld records each", threads, per_thread);
	pthread_t th[64];
	if (threads > 64)
		threads = 64;
	for (long t = 0; t < threads; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	for (long t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	SHMLOG_ERROR(lg, "a message with a newline\nstays on one line, escaped: %s", "ok");
	bool admin = true;
	SHMLOG_INFO_KV(lg, ("user", "alice", "uid", 1001, "admin", admin), "user %s login accepted", "alice");
	SHMLOG_CRITICAL(lg, "permission denied for %s", "mallory");
	rc = shmlog_flush(lg, 5000);
	if (rc < 0)
		fprintf(stderr, "shmlog-demo: flush: no collector took the records within 5 s (%d)\n", rc);
	shmlog_close(lg);
	return rc < 0 ? 1 : 0;
}
