/*
 * internal.h — libshmlog's private state, shared by shmlog.c (setup, call-site
 * registry, ring claim, flush) and log.c (the hot path).
 */
#ifndef SHMLOG_PRODUCER_INTERNAL_H
#define SHMLOG_PRODUCER_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../shared/abi.h"
#include "../shared/clock.h"
#include "../shared/record.h"
#include "shmlog.h"

#define SHMLOG_DEFAULT_RING_BYTES (1u << 20)
#define SHMLOG_DEFAULT_MAX_THREADS 32u
#define SHMLOG_DEFAULT_MAX_SITES 8192u
#define SHMLOG_DEFAULT_STRINGS_BYTES (512u * 1024u)
#define SHMLOG_DEFAULT_BLOCK_TIMEOUT_MS 1000
#define SHMLOG_DEFAULT_BLOCK_SPIN_US 30
static_assert(SHMLOG_MAX_STRING <= SHMLOG_MAX_STRING_MAX, "string lengths must fit the 15-bit length field");
static_assert(SHMLOG__QUIET_SHIFT == SHMLOG_BELL_QUIET_SHIFT, "the inline path's quiet spell is the ABI's");
/* registration compares the macros' type codes with the format's kinds byte for byte */
static_assert(SHMLOG__T_INT32 == SHMLOG_ARG_INT32 && SHMLOG__T_INT64 == SHMLOG_ARG_INT64 &&
		      SHMLOG__T_DOUBLE == SHMLOG_ARG_DOUBLE && SHMLOG__T_LDOUBLE == SHMLOG_ARG_LDOUBLE &&
		      SHMLOG__T_POINTER == SHMLOG_ARG_POINTER && SHMLOG__T_STRING == SHMLOG_ARG_STRING,
	      "shmlog.h type codes are the ABI's argument kinds");
static_assert(SHMLOG__F_I64 == SHMLOG_FIELD_I64 && SHMLOG__F_U64 == SHMLOG_FIELD_U64 &&
		      SHMLOG__F_F64 == SHMLOG_FIELD_F64 && SHMLOG__F_BOOL == SHMLOG_FIELD_BOOL &&
		      SHMLOG__F_STRING == SHMLOG_FIELD_STRING && SHMLOG__MAX_FIELDS == SHMLOG_MAX_FIELDS,
	      "shmlog.h field codes are the ABI's field kinds");
static_assert(SHMLOG_STR_NULL == 0xffffu && SHMLOG_STR_TRUNCATED == 0x8000u && SHMLOG_STR_LEN_MASK == 0x7fffu,
	      "shmlog__put_str writes the ABI's string length codes");

/* A producer's private view of one ring (its thread's, or the overflow
 * ring): struct shmlog__ring, declared in shmlog.h because the inline fast
 * path uses it. Its rh is this ring's header. */
static inline struct shmlog_ring_header *ring_hdr(const struct shmlog__ring *rp)
{
	return (struct shmlog_ring_header *)rp->rh;
}

/* Recompute how far the inline path may write without looking at anything
 * else (shmlog.h): after every slow-path write and every claim. */
static inline void ring_update_fast_limit(struct shmlog__ring *rp)
{
	uint64_t lap_end = (rp->tail & ~(uint64_t)(rp->cap - 1)) + rp->cap;
	uint64_t room_end = rp->head_cache + rp->cap;
	rp->fast_limit = rp->pending_lost ? 0 : lap_end < room_end ? lap_end : room_end;
}

struct site_map_entry {
	const struct shmlog__site *site;
	uint32_t id;
};

struct shmlog {
	struct shmlog__hot hot; /* must stay first: the inline path reads level when the thread's slot 0 is not this logger's */
	int full_policy;
	int block_timeout_ms;
	int block_spin_us;   /* negative: none */
	int sync_level;      /* 0: off */
	int sync_timeout_ms;
	bool doorbell;       /* ring bells (shared/abi.h); its segment carries SHMLOG_SEG_BELL if registered */
	uint32_t max_string;
	int fd;
	bool locked;         /* fd holds the liveness lock: the segment carries SHMLOG_SEG_LOCK */
	uint64_t ino, dev;   /* the segment file's, to recognise fd (kick_collector) */
	uint8_t *base;       /* NULL: no segment (a forked child's, not made yet or not possible) */
	_Atomic bool seg_pending; /* a forked child's logger: its segment is made at its first use */
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
	struct shmlog_site *run_sites; /* shmlog_site_register()'s, freed with the logger (site.c) */

	pthread_mutex_t overflow_lock; /* threads beyond max_threads */
	struct shmlog__ring overflow;

	/* slots[i]: the thread slot (shmlog__tls) that holds ring i, or NULL; set
	 * and read under live_lock, so set_level and close can reach every
	 * thread's copy of the threshold and of lg (signal-time claims excepted:
	 * they never use slot 0, the only one the inline path reads) */
	struct shmlog__tls **slots;

	struct shmlog *next_live; /* process-wide list of open loggers */
};

/* The calling thread's ring for lg (shmlog__tls_slots, shmlog.h): claims one
 * on first use. NULL: use the overflow ring. */
struct shmlog__ring *shmlog__thread_ring(struct shmlog *lg);

/* Register site in lg's segment (slow path; a forked child's is made first). Sets *id. Returns 0, -ENOSPC or
 * -ENODEV (lg has no segment: one could not be made). */
int shmlog__register(struct shmlog *lg, struct shmlog__site *site, uint32_t *id);
/* The same, lg's segment known to be there. */
int shmlog__register_now(struct shmlog *lg, struct shmlog__site *site, uint32_t *id);

/* Sleep until *pos (rh->head or rh->synced) >= target or the monotonic clock
 * reaches deadline_ns (< 0: never), waking the collector first (it may poll
 * slowly, or sleep) unless the deadline has already passed. Returns 0 or
 * -ETIMEDOUT. */
int shmlog__wait_pos(struct shmlog *lg, struct shmlog_ring_header *rh, _Atomic uint64_t *pos, uint64_t target,
		     long long deadline_ns);

/* CLOCK_MONOTONIC in ns, and that clock timeout_ms from now (-1 for a negative timeout). */
long long shmlog__mono_ns(void);
long long shmlog__deadline_ns(int timeout_ms);

/* Ask the collector to sync rh up to target, and wait for it until deadline_ns
 * (as shmlog__wait_pos). Returns 0 or -ETIMEDOUT. */
int shmlog__wait_synced(struct shmlog *lg, struct shmlog_ring_header *rh, uint64_t target, long long deadline_ns);

/* rh's bell was found set: clear it and, if this call cleared it, wake the collector. */
void shmlog__bell_ring(struct shmlog *lg, struct shmlog_ring_header *rh);

/* After a tail store, for a logger that rings the doorbell: if rh's bell is
 * set, the collector sleeps; clear the bell and wake it (shared/abi.h). The
 * general path does this after every record: it is not the path that has to
 * be fast. */
static inline void shmlog__bell(struct shmlog *lg, struct shmlog_ring_header *rh)
{
	if (!lg->doorbell) /* nobody sets its bells: do not even read the shared line */
		return;
	/* a compiler barrier only: the collector's membarrier() orders our tail store before this load */
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(atomic_load_explicit(&rh->bell, memory_order_relaxed) != 0, 0))
		shmlog__bell_ring(lg, rh);
}

/* The calling thread's ring for lg, for use inside a signal handler: never
 * allocates or takes a lock; NULL if the thread has none and none is free. */
struct shmlog__ring *shmlog__signal_ring(struct shmlog *lg);

/* A call's values, read from its va_list or converted from a binding's
 * typed values (site.c), in the order of the format's kinds and the site's
 * field kinds. */
struct shmlog__values {
	struct record_value args[SHMLOG_MAX_ARGS];
	struct record_value fields[SHMLOG_MAX_FIELDS];
};

/* log.c: site's id in lg's segment, registering it on its first use there.
 * Returns 0 or -ENOSPC (the registry is full; counted in registry_lost). */
int shmlog__site_id(struct shmlog *lg, struct shmlog__site *site, uint32_t *id);

/* log.c: write cv as a record of site (its id) into the calling thread's
 * ring (the overflow ring when it has none), then wait for sync if the
 * site's level asks for it. Returns false when the record was dropped (and
 * counted as lost). */
bool shmlog__log_values(struct shmlog *lg, const struct shmlog__site *site, uint32_t id,
			const struct shmlog__values *cv);

/* log.c: write cv as one record into rp (may_block: as for shmlog__write).
 * Returns false when it was dropped and counted. */
bool shmlog__write_values(struct shmlog *lg, struct shmlog__ring *rp, const struct shmlog__site *site, uint32_t id,
			  uint64_t ts, bool may_block, const struct shmlog__values *cv);

/* Write one record with the arguments in *ap into rp (log.c). may_block:
 * the logger's block policy applies (never in a signal handler). */
void shmlog__write(struct shmlog *lg, struct shmlog__ring *rp, struct shmlog__site *site, uint32_t id, uint64_t ts,
		   bool may_block, va_list *ap);

/* log.c: write a record with variadic arguments into rp (the crash handler's path). */
void shmlog__crash_record(struct shmlog *lg, struct shmlog__ring *rp, struct shmlog__site *site, uint32_t id, ...);

/* site.c: free lg's run-time call sites (shmlog_close). */
void shmlog__sites_free(struct shmlog *lg);

/* crash.c: install the crash handler for lg (once per process). Returns 0, -EBUSY if another logger owns it. */
int shmlog__crash_install(struct shmlog *lg);

/* create.c: make lg's segment in lg->dir (its options set, lg->hot.serial taken) and map it as
 * lg->base; nothing is left behind on failure. Returns 0 or -errno. */
int shmlog__segment_create(struct shmlog *lg);
/* create.c: give lg's segment bytes [off, off + len) real memory now. Returns 0 or -errno. */
int shmlog__segment_commit(struct shmlog *lg, uint64_t off, uint64_t len);
/* crash.c: lg is closing; uninstall if it owns the handler. */
void shmlog__crash_remove(struct shmlog *lg);
/* crash.c: in a forked child, made (the crash handler's logger, or not) has its segment now: register
 * the crash record's call site in it (before the segment is seen made). */
void shmlog__crash_after_fork(struct shmlog *made);
/* shmlog.c: make a forked child's segment for lg, if it waits for one (seg_pending). Returns 0, or -ENODEV
 * when lg has none (it could not be made: lg is switched off). */
int shmlog__segment_ensure(struct shmlog *lg);

/* Whether lg waits for its segment (a forked child that has not logged through it yet). */
static inline bool shmlog__seg_pending(const struct shmlog *lg)
{
	/* acquire: pairs with the release in shmlog__segment_ensure, so the segment is seen made */
	return atomic_load_explicit(&lg->seg_pending, memory_order_acquire);
}

static inline struct shmlog_ring_header *shmlog__ring_header(const struct shmlog *lg, uint32_t i)
{
	return (struct shmlog_ring_header *)(lg->base + lg->hdr->rings_off + (uint64_t)i * SHMLOG_RING_HEADER_BYTES);
}

static inline uint8_t *shmlog__ring_data(const struct shmlog *lg, uint32_t i)
{
	return lg->base + lg->hdr->ring_data_off + (uint64_t)i * lg->ring_bytes;
}

#endif
