/*
 * seg_util.c — see seg_util.h.
 */
#include "seg_util.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker {
	struct shmlog *lg;
	int t, n;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n; i++)
		SHMLOG_INFO(w->lg, "t%d i%d", w->t, i);
	return NULL;
}

struct shmlog *su_log(const char *dir, const char *name, int threads, int n, uint32_t ring_bytes, char *path,
		      size_t cap)
{
	setenv("SHMLOG_CLOCK", "realtime", 1);
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .name = name, .ring_bytes = ring_bytes, .max_threads = 4};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	su_log_more(lg, 0, threads, n);
	snprintf(path, cap, "%s", shmlog_segment_path(lg));
	return lg;
}

void su_log_more(struct shmlog *lg, int first, int threads, int n)
{
	for (int t = first; t < first + threads; t++) {
		pthread_t th;
		struct worker w = {lg, t, n};
		cr_assert_eq(pthread_create(&th, NULL, worker_main, &w), 0);
		pthread_join(th, NULL);
	}
}

int su_restamp(struct seg *s, uint32_t i, uint64_t (*stamp)(uint32_t, int))
{
	uint64_t pos = 0, tail = atomic_load(&seg_ring(s, i)->tail);
	struct seg_rec r;
	const char *why;
	int k = 0;
	while (seg_ring_next(s, i, &pos, tail, &r, &why) == 1) {
		uint64_t ts = stamp(i, k++);
		memcpy((uint8_t *)r.args - SHMLOG_RECORD_HEADER_BYTES + 8, &ts, 8);
		pos += r.size;
	}
	return k;
}
