/*
 * log.c — the general log path, for every call the inline fast path in
 * shmlog.h does not take: the first call of a call site (registration) or of
 * a thread (ring claim), argument types that differ from the format's kinds,
 * sync_level sites, a full ring (drop or block), a pending loss report, the
 * shared overflow ring, and the crash record.
 *
 * Steps: look up the call-site id, size the arguments by the format's kinds
 * (from the va_list), reserve exactly that in the ring (a loss record first
 * if drops are pending, padding to the end if the record would wrap), copy
 * the header and the values, release-store the new tail, and recompute how
 * far the fast path may write.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <x86intrin.h>

#include "../shared/clock.h"
#include "../shared/record.h"
#include "../shared/ring.h"
#include "internal.h"

#define SHMLOG_EXPORT __attribute__((visibility("default")))
#define SPIN_YIELD_NS 50000 /* a busy-waiting thread offers its CPU this often */

static inline uint64_t now_ts(const struct shmlog *lg)
{
	return lg->hot.tsc ? clock_tsc() : clock_realtime_ns();
}

static inline void put_pad(struct shmlog__ring *rp, uint32_t pad)
{
	uint8_t *p = rp->data + ring_offset(rp->tail, rp->cap);
	uint32_t hdr[2] = {pad, SHMLOG_SITE_PAD};
	memcpy(p, hdr, sizeof hdr);
	rp->tail += pad;
}

static inline void publish(struct shmlog *lg, struct shmlog__ring *rp)
{
	/* release: the record bytes are written before the consumer can see the
	 * new tail (pairs with the collector's acquire load of tail) */
	atomic_store_explicit(&ring_hdr(rp)->tail, rp->tail, memory_order_release);
	shmlog__bell(lg, ring_hdr(rp));
}

static void count_lost(struct shmlog__ring *rp)
{
	rp->pending_lost++;
	/* relaxed: only this thread writes lost; readers only need a recent value */
	atomic_store_explicit(&ring_hdr(rp)->lost, atomic_load_explicit(&ring_hdr(rp)->lost, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Is there room for size bytes (after any pad)? Reloads the consumer position
 * only when the cached one says no. */
static inline bool has_room(struct shmlog__ring *rp, uint32_t size, uint32_t *pad)
{
	if (ring_plan(rp->tail, rp->head_cache, rp->cap, size, pad))
		return true;
	/* acquire: pairs with the collector's release of head, so its reads of the
	 * space we are about to overwrite are complete */
	rp->head_cache = atomic_load_explicit(&ring_hdr(rp)->head, memory_order_acquire);
	return ring_plan(rp->tail, rp->head_cache, rp->cap, size, pad);
}

/*
 * SHMLOG_FULL_BLOCK: wait until size bytes (after any pad) fit. A collector at
 * work frees room once per cycle, within hundreds of microseconds, so first
 * busy-wait up to block_spin_us, offering the CPU every SPIN_YIELD_NS in case
 * the collector waits for this one: that spares the futex sleep and wake-up
 * (on a virtual machine also the vCPU's halt and the host's wake-up) and the
 * system call that wakes the collector. Then sleep until the collector wakes
 * us, for what is left of block_timeout_ms.
 */
static __attribute__((noinline)) bool wait_room(struct shmlog *lg, struct shmlog__ring *rp, uint32_t size, uint32_t *pad)
{
	long long deadline = shmlog__deadline_ns(lg->block_timeout_ms);
	if (lg->block_spin_us > 0) {
		long long now = shmlog__mono_ns(), yield_at = now + SPIN_YIELD_NS;
		long long until = now + lg->block_spin_us * 1000LL;
		if (deadline >= 0 && until > deadline)
			until = deadline;
		while (now < until) {
			for (int i = 0; i < 64; i++) {
				if (has_room(rp, size, pad))
					return true;
				_mm_pause();
			}
			now = shmlog__mono_ns();
			if (now >= yield_at) {
				sched_yield();
				yield_at = now + SPIN_YIELD_NS;
			}
		}
	}
	/* sleep until the collector has moved head far enough: tail + pad + size - head <= cap */
	uint32_t to_end = ring_to_end(rp->tail, rp->cap);
	uint32_t total = size <= to_end ? size : to_end + size;
	shmlog__wait_pos(lg, ring_hdr(rp), &ring_hdr(rp)->head, rp->tail + total - rp->cap, deadline);
	return has_room(rp, size, pad);
}

/*
 * Reserve size bytes for a record (plus a loss record first if drops are
 * pending). Returns where to write, or NULL when the record is dropped.
 */
static inline uint8_t *reserve(struct shmlog *lg, struct shmlog__ring *rp, uint32_t size, bool may_block)
{
	bool block = may_block && lg->full_policy == SHMLOG_FULL_BLOCK;
	uint32_t pad;
	if (__builtin_expect(rp->pending_lost != 0, 0)) {
		const uint32_t lsize = SHMLOG_RECORD_HEADER_BYTES + 8;
		if (!has_room(rp, lsize + size + 8, &pad) &&
		    !(block && wait_room(lg, rp, lsize + size + 8, &pad))) {
			count_lost(rp);
			return NULL;
		}
		if (pad) /* the loss record and the record both start at offset 0 */
			put_pad(rp, pad);
		uint8_t *p = rp->data + ring_offset(rp->tail, rp->cap);
		struct shmlog_record_header h = {lsize, SHMLOG_SITE_LOSS, now_ts(lg)};
		memcpy(p, &h, sizeof h);
		memcpy(p + sizeof h, &rp->pending_lost, 8);
		rp->tail += lsize;
		rp->pending_lost = 0;
	}
	if (__builtin_expect(!has_room(rp, size, &pad), 0)) {
		if (!block || !wait_room(lg, rp, size, &pad)) {
			publish(lg, rp); /* a loss record written above must not be lost */
			count_lost(rp);
			return NULL;
		}
	}
	if (pad)
		put_pad(rp, pad);
	return rp->data + ring_offset(rp->tail, rp->cap);
}

/* Move ap (just past the arguments the format read) to a _KV site's field
 * values, which follow every argument the call passed: a refused format read
 * none of them, and a call may pass more than its format reads (C allows it). */
static void skip_to_fields(const struct shmlog__site *site, va_list *ap)
{
	uint32_t read = atomic_load_explicit(&site->parsed, memory_order_relaxed) == 2 ? 0 : site->nargs;
	if (site->ntypes > read)
		record_args_skip(site->types + read, site->ntypes - read, ap);
}

/* Read a variadic call's values: the format's arguments by its kinds, then
 * a _KV site's field values. */
static void read_values(const struct shmlog *lg, const struct shmlog__site *site, struct shmlog__values *cv,
			va_list *ap)
{
	for (uint32_t i = 0; i < site->nargs; i++)
		record_arg_read(&cv->args[i], site->kinds[i], lg->max_string, ap);
	if (site->fields) {
		skip_to_fields(site, ap);
		for (uint32_t i = 0; i < site->fields->n; i++)
			record_field_read(&cv->fields[i], site->fields->kinds[i], lg->max_string, ap);
	}
}

/* The record's bytes, header and alignment included. */
static uint32_t record_size(const struct shmlog__site *site, const struct shmlog__values *cv)
{
	uint32_t n = SHMLOG_RECORD_HEADER_BYTES;
	for (uint32_t i = 0; i < site->nargs; i++)
		n += record_arg_bytes(site->kinds[i], &cv->args[i]);
	for (uint32_t i = 0; site->fields && i < site->fields->n; i++)
		n += record_field_bytes(site->fields->kinds[i], &cv->fields[i]);
	return shmlog_record_align(n);
}

static bool write_record(struct shmlog *lg, struct shmlog__ring *rp, const struct shmlog__site *site, uint32_t id,
			 uint64_t ts, bool may_block, const struct shmlog__values *cv)
{
	uint32_t size = record_size(site, cv);
	if (size > rp->cap / 2) {
		count_lost(rp);
		return false;
	}
	uint8_t *p = reserve(lg, rp, size, may_block);
	if (!p)
		return false;
	struct shmlog_record_header h = {size, id, ts};
	memcpy(p, &h, sizeof h);
	uint8_t *end = p + sizeof h;
	for (uint32_t i = 0; i < site->nargs; i++)
		end = record_put_arg(end, site->kinds[i], &cv->args[i]);
	for (uint32_t i = 0; site->fields && i < site->fields->n; i++)
		end = record_put_field(end, site->fields->kinds[i], &cv->fields[i]);
	rp->tail += size;
	rp->last_win = ts >> SHMLOG__QUIET_SHIFT; /* for the inline path's doorbell test (shmlog.h) */
	publish(lg, rp);
	return true;
}

bool shmlog__write_values(struct shmlog *lg, struct shmlog__ring *rp, const struct shmlog__site *site, uint32_t id,
			  uint64_t ts, bool may_block, const struct shmlog__values *cv)
{
	bool ok = write_record(lg, rp, site, id, ts, may_block, cv);
	ring_update_fast_limit(rp);
	return ok;
}

void shmlog__write(struct shmlog *lg, struct shmlog__ring *rp, struct shmlog__site *site, uint32_t id, uint64_t ts,
		   bool may_block, va_list *ap)
{
	struct shmlog__values cv;
	read_values(lg, site, &cv, ap);
	shmlog__write_values(lg, rp, site, id, ts, may_block, &cv);
}

/* site's id in lg's segment: the cached one, else registered now. Returns 0,
 * -ENOSPC (the registry is full: counted as a loss) or -ENODEV (a forked
 * child's segment could not be made). */
int shmlog__site_id(struct shmlog *lg, struct shmlog__site *site, uint32_t *id)
{
	/* acquire: pairs with the release in shmlog__register, so nargs/kinds are read after they were written */
	uint64_t c = atomic_load_explicit(&site->cache, memory_order_acquire);
	if (__builtin_expect((uint32_t)(c >> 32) == lg->hot.serial, 1)) {
		*id = (uint32_t)c & ~SHMLOG__SITE_FAST;
		return 0;
	}
	int rc = shmlog__register(lg, site, id);
	if (rc == -ENOSPC)
		atomic_fetch_add_explicit(&lg->hdr->registry_lost, 1, memory_order_relaxed);
	return rc;
}

bool shmlog__log_values(struct shmlog *lg, const struct shmlog__site *site, uint32_t id,
			const struct shmlog__values *cv)
{
	struct shmlog__ring *rp = shmlog__thread_ring(lg);
	bool ok;
	/* the clock is read once the call site is registered and the ring is
	 * ours (for the shared overflow ring: inside its lock), so that a first
	 * call's registration does not age its record past the collector's merge
	 * window, and the stamps within one ring never go backwards */
	if (__builtin_expect(rp != NULL, 1)) {
		ok = shmlog__write_values(lg, rp, site, id, now_ts(lg), true, cv);
	} else {
		pthread_mutex_lock(&lg->overflow_lock);
		rp = &lg->overflow;
		ok = shmlog__write_values(lg, rp, site, id, now_ts(lg), true, cv);
		pthread_mutex_unlock(&lg->overflow_lock);
	}
	if (__builtin_expect(lg->sync_level != 0, 0) && site->level >= lg->sync_level)
		shmlog__wait_synced(lg, ring_hdr(rp), atomic_load_explicit(&ring_hdr(rp)->tail, memory_order_relaxed),
				    shmlog__deadline_ns(lg->sync_timeout_ms));
	return ok;
}

SHMLOG_EXPORT void shmlog__log(struct shmlog *lg, struct shmlog__site *site, ...)
{
	uint32_t id;
	if (shmlog__site_id(lg, site, &id) < 0)
		return;
	struct shmlog__values cv;
	va_list ap;
	va_start(ap, site);
	read_values(lg, site, &cv, &ap);
	va_end(ap);
	shmlog__log_values(lg, site, id, &cv);
}

void shmlog__crash_record(struct shmlog *lg, struct shmlog__ring *rp, struct shmlog__site *site, uint32_t id, ...)
{
	uint64_t ts = now_ts(lg);
	va_list ap;
	va_start(ap, id);
	shmlog__write(lg, rp, site, id, ts, false, &ap); /* a dying process never waits */
	va_end(ap);
}
