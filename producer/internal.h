/*
 * internal.h — libshmlog's private state, shared by shmlog.c (setup, call-site
 * registry, ring claim, flush) and log.c (the hot path).
 */
#ifndef SHMLOG_PRODUCER_INTERNAL_H
#define SHMLOG_PRODUCER_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../shared/abi.h"
#include "../shared/clock.h"
#include "shmlog.h"

#define SHMLOG_DEFAULT_RING_BYTES (1u << 20)
#define SHMLOG_DEFAULT_MAX_THREADS 32u
#define SHMLOG_DEFAULT_MAX_SITES 8192u
#define SHMLOG_DEFAULT_STRINGS_BYTES (512u * 1024u)
#define SHMLOG_DEFAULT_BLOCK_TIMEOUT_MS 1000
#define SHMLOG_TLS_SLOTS 4
static_assert(SHMLOG_MAX_STRING <= SHMLOG_MAX_STRING_MAX, "string lengths must fit the 15-bit length field"); /* loggers a thread can hold a ring in at once */

/* A producer's private view of one ring (its thread's, or the overflow ring). */
struct ring_prod {
	struct shmlog_ring_header *rh;
	uint8_t *data;
	uint64_t tail;         /* our write position; published to rh->tail */
	uint64_t head_cache;   /* last consumer position we read */
	uint64_t pending_lost; /* drops not yet reported by a loss record */
	uint64_t records;      /* records committed; published to rh->records */
	uint32_t cap;
	uint32_t index;
};

struct site_map_entry {
	const struct shmlog__site *site;
	uint32_t id;
};

struct shmlog {
	struct shmlog__hot hot; /* must stay first: read by shmlog__enabled() */
	uint32_t serial;        /* process-unique, never 0 */
	bool tsc;               /* stamp with the TSC, else realtime ns */
	int full_policy;
	int block_timeout_ms;
	int sync_level;      /* 0: off */
	int sync_timeout_ms;
	uint32_t max_string;
	int fd;
	uint8_t *base;
	uint64_t size;
	struct shmlog_seg_header *hdr;
	uint32_t ring_count; /* the last one is the shared overflow ring */
	uint32_t ring_bytes;
	char path[PATH_MAX];
	char *dir;           /* segment directory (kept to create a child's segment after fork) */
	char name[SHMLOG_NAME_BYTES];
	bool world_dir;      /* the default directory: created with mode 1777 */
	struct clock_calib calib; /* measured once, reused for a forked child's segment */

	pthread_mutex_t site_lock; /* call-site registration */
	struct site_map_entry *site_map;
	uint32_t site_map_cap;

	pthread_mutex_t overflow_lock; /* threads beyond max_threads */
	struct ring_prod overflow;

	struct shmlog *next_live; /* process-wide list of open loggers */
};

/* A thread's ring in one logger. initial-exec TLS: a plain %fs-relative load
 * on the hot path instead of a __tls_get_addr call (the slots are small
 * enough for glibc's static TLS surplus, also when the library is dlopen'ed). */
struct tls_slot {
	struct shmlog *lg;
	uint32_t serial;
	struct ring_prod rp;
};
extern _Thread_local struct tls_slot shmlog__tls_slots[SHMLOG_TLS_SLOTS] __attribute__((tls_model("initial-exec")));

/* The calling thread's ring for lg: claims one on first use. NULL: use the overflow ring. */
struct ring_prod *shmlog__thread_ring(struct shmlog *lg);

static inline struct ring_prod *shmlog__thread_ring_fast(struct shmlog *lg)
{
	struct tls_slot *s = &shmlog__tls_slots[0];
	if (__builtin_expect(s->lg == lg && s->serial == lg->serial, 1))
		return &s->rp;
	return shmlog__thread_ring(lg);
}

/* Register site in lg's segment (slow path). Sets *id. Returns 0 or -ENOSPC. */
int shmlog__register(struct shmlog *lg, struct shmlog__site *site, uint32_t *id);

/* Sleep until *pos (rh->head or rh->synced) >= target or timeout_ms passes
 * (< 0: forever). Returns 0 or -ETIMEDOUT. */
int shmlog__wait_pos(struct shmlog_ring_header *rh, _Atomic uint64_t *pos, uint64_t target, int timeout_ms);

/* Ask the collector to sync rh up to target, and wait for it. Returns 0 or -ETIMEDOUT. */
int shmlog__wait_synced(struct shmlog_ring_header *rh, uint64_t target, int timeout_ms);

/* The calling thread's ring for lg, for use inside a signal handler: never
 * allocates or takes a lock; NULL if the thread has none and none is free. */
struct ring_prod *shmlog__signal_ring(struct shmlog *lg);

/* Write one record with the arguments in *ap into rp (log.c). */
void shmlog__write(struct shmlog *lg, struct ring_prod *rp, struct shmlog__site *site, uint32_t id, uint64_t ts,
		   va_list *ap);

/* log.c: write a record with variadic arguments into rp (the crash handler's path). */
void shmlog__crash_record(struct shmlog *lg, struct ring_prod *rp, struct shmlog__site *site, uint32_t id, ...);

/* crash.c: install the crash handler for lg (once per process). Returns 0, -EBUSY if another logger owns it. */
int shmlog__crash_install(struct shmlog *lg);
/* crash.c: lg is closing; uninstall if it owns the handler. */
void shmlog__crash_remove(struct shmlog *lg);
/* crash.c: in a forked child, register the crash record's call site again. */
void shmlog__crash_after_fork(void);

static inline struct shmlog_ring_header *shmlog__ring_header(const struct shmlog *lg, uint32_t i)
{
	return (struct shmlog_ring_header *)(lg->base + lg->hdr->rings_off + (uint64_t)i * SHMLOG_RING_HEADER_BYTES);
}

static inline uint8_t *shmlog__ring_data(const struct shmlog *lg, uint32_t i)
{
	return lg->base + lg->hdr->ring_data_off + (uint64_t)i * lg->ring_bytes;
}

#endif
