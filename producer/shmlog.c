/*
 * shmlog.c — libshmlog setup and slow paths: opening a logger (its segment
 * is made by create.c), the call-site registry, claiming and releasing
 * per-thread rings, flush.
 *
 * Rings are claimed with a CAS FREE -> CLAIMED on the ring's state and given
 * back (CLAIMED -> RELEASED) from a pthread key destructor when the thread
 * exits; the collector turns RELEASED into FREE once the ring is drained, so a
 * ring is never reused while records of its previous owner are in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../shared/clock.h"
#include "../shared/fmt.h"
#include "../shared/ring.h"
#include "../shared/segment.h"
#include "../shared/text.h"
#include "internal.h"

/* The collector's levels (shared/text.h) are the public ones: a record carries the producer's value as it is. */
static_assert(TEXT_LEVEL_TRACE == SHMLOG_LEVEL_TRACE && TEXT_LEVEL_DEBUG == SHMLOG_LEVEL_DEBUG &&
		      TEXT_LEVEL_INFO == SHMLOG_LEVEL_INFO && TEXT_LEVEL_WARN == SHMLOG_LEVEL_WARN &&
		      TEXT_LEVEL_ERROR == SHMLOG_LEVEL_ERROR && TEXT_LEVEL_CRITICAL == SHMLOG_LEVEL_CRITICAL &&
		      TEXT_LEVEL_OFF == SHMLOG_LEVEL_OFF,
	      "shared/text.h's levels are shmlog.h's");

#define SHMLOG_EXPORT __attribute__((visibility("default")))

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shmlog *live_head;
static uint32_t next_serial = 1;
static pthread_key_t thread_key;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;
/* a shmlog_set_level() found live_lock taken: whoever holds it copies the
 * thresholds into the slots before letting it go (see live_unlock) */
static _Atomic bool levels_pending;
/* this thread's exit destructor has run: a later log call (from another
 * library's destructor) must not register a slot that is about to vanish */
static __thread bool thread_gone __attribute__((tls_model("initial-exec")));

SHMLOG_EXPORT __thread struct shmlog__tls shmlog__tls_slots[SHMLOG__TLS_SLOTS]
	__attribute__((tls_model("initial-exec"), aligned(64)));
#define tls_slots shmlog__tls_slots

static void thread_exit(void *arg);

/* Copy every live logger's threshold into the thread slots registered with
 * it. The caller holds live_lock. */
static void apply_levels_locked(void)
{
	for (struct shmlog *l = live_head; l; l = l->next_live) {
		int level = atomic_load_explicit(&l->hot.level, memory_order_relaxed);
		for (uint32_t i = 0; i < l->ring_count; i++)
			if (l->slots[i])
				atomic_store_explicit(&l->slots[i]->level, level, memory_order_relaxed);
	}
}

/* Let go of live_lock, first applying what a shmlog_set_level() that could
 * not take it left pending, also when that happened just before the unlock. */
static void live_unlock(void)
{
	for (;;) {
		if (atomic_exchange(&levels_pending, false))
			apply_levels_locked();
		pthread_mutex_unlock(&live_lock);
		/* a store-then-read handshake with set_level's flag-then-trylock: a
		 * full fence on each side, so one of the two always sees the other */
		atomic_thread_fence(memory_order_seq_cst);
		if (!atomic_load(&levels_pending) || pthread_mutex_trylock(&live_lock) != 0)
			return; /* nothing pending, or the holder that has the lock now applies it */
	}
}

/* exit() or a return from main: say so in every segment, so the collector can
 * tell a normal end from a kill. */
static void at_exit(void)
{
	pthread_mutex_lock(&live_lock);
	for (struct shmlog *l = live_head; l; l = l->next_live)
		if (l->hdr)
			atomic_store_explicit(&l->hdr->ended, SHMLOG_END_EXIT, memory_order_release);
	live_unlock();
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&live_lock);
}

static void fork_parent(void)
{
	live_unlock();
}

/*
 * In a forked child: the parent's rings must never be written by two
 * processes, so every live logger lets go of the parent's segment and gets
 * a fresh one of the child's own (same options, the parent's clock
 * calibration) at its first record (shmlog__segment_ensure, from the call
 * site's registration): a child that execs or exits without logging
 * leaves no segment, and no notice of its end. The calling thread's ring
 * slots and the locks (another parent thread may have held them) are
 * reset, and a new serial makes every cached call-site id miss once, so
 * each call site registers again in the child's segment.
 */
static void fork_child(void)
{
	pthread_mutex_unlock(&live_lock); /* fork_prepare's: this thread took it, in the parent */
	atomic_store(&levels_pending, false); /* the slots it was for are gone */
	memset(tls_slots, 0, sizeof tls_slots);
	for (struct shmlog *l = live_head; l; l = l->next_live) {
		pthread_mutex_init(&l->site_lock, NULL);
		pthread_mutex_init(&l->overflow_lock, NULL);
		memset(l->site_map, 0, l->site_map_cap * sizeof *l->site_map);
		memset(l->slots, 0, l->ring_count * sizeof *l->slots); /* the other threads are gone */
		if (l->base)
			munmap(l->base, l->size);
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		l->base = NULL;
		l->hdr = NULL;
		l->path[0] = '\0';
		l->hot.serial = next_serial++;
		atomic_store_explicit(&l->seg_pending, true, memory_order_relaxed); /* one thread: no other sees it */
	}
}

int shmlog__segment_ensure(struct shmlog *lg)
{
	pthread_mutex_lock(&live_lock);
	if (atomic_load_explicit(&lg->seg_pending, memory_order_relaxed)) {
		bool made = shmlog__segment_create(lg) == 0;
		if (made)
			shmlog__crash_after_fork(lg); /* takes site_lock under live_lock: nothing takes them the other way */
		else
			lg->path[0] = '\0'; /* not a name it tried */
		/* release: the segment is made before another thread sees it no longer pending */
		atomic_store_explicit(&lg->seg_pending, false, memory_order_release);
		if (!made) { /* off for good: turning it back on would log into no segment. After the store of
			      * pending, and fenced: a shmlog_set_level racing it sees one or the other (there) */
			atomic_thread_fence(memory_order_seq_cst);
			atomic_store_explicit(&lg->hot.level, SHMLOG_LEVEL_OFF, memory_order_relaxed);
		}
	}
	live_unlock();
	return lg->base ? 0 : -ENODEV;
}

static void process_init(void)
{
	pthread_key_create(&thread_key, thread_exit);
	atexit(at_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t p = 1;
	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

static int level_from_env(void)
{
	const char *e = getenv("SHMLOG_LEVEL");
	if (!e || !*e)
		return SHMLOG_LEVEL_INFO;
	int l = text_level_parse(e);
	return l > 0 ? l : SHMLOG_LEVEL_INFO;
}

static void free_logger(struct shmlog *lg)
{
	shmlog__sites_free(lg);
	pthread_mutex_destroy(&lg->site_lock);
	pthread_mutex_destroy(&lg->overflow_lock);
	free(lg->site_map);
	free(lg->slots);
	free(lg->dir);
	free(lg);
}

/* shmlog_open's options with their defaults applied and checked. */
struct open_params {
	struct shmlog_options o;
	const char *name, *dir;
	bool default_dir; /* SHMLOG_DEFAULT_DIR: created world-writable (sticky) */
	uint32_t ring_bytes, max_threads;
	int level, policy;
};

/* Resolve opts (NULL: every default) into *p. Returns 0 or -EINVAL. */
static int open_params(struct open_params *p, const struct shmlog_options *opts)
{
	*p = (struct open_params){0};
	if (opts)
		p->o = *opts;
	const struct shmlog_options *o = &p->o;
	p->name = o->name && *o->name ? o->name : program_invocation_short_name;
	p->dir = o->dir && *o->dir ? o->dir : getenv("SHMLOG_DIR");
	if (!p->dir || !*p->dir) {
		p->dir = SHMLOG_DEFAULT_DIR;
		p->default_dir = true;
	}
	p->ring_bytes = o->ring_bytes ? round_pow2(o->ring_bytes) : SHMLOG_DEFAULT_RING_BYTES;
	p->max_threads = o->max_threads ? o->max_threads : SHMLOG_DEFAULT_MAX_THREADS;
	p->level = o->min_level ? o->min_level : level_from_env();
	p->policy = o->full_policy ? o->full_policy : SHMLOG_FULL_DROP;
	bool ok = strlen(p->name) < SHMLOG_NAME_BYTES && ring_capacity_valid(p->ring_bytes) &&
		  p->max_threads < SHMLOG_RING_COUNT_MAX && p->level >= SHMLOG_LEVEL_TRACE &&
		  p->level <= SHMLOG_LEVEL_OFF && (p->policy == SHMLOG_FULL_DROP || p->policy == SHMLOG_FULL_BLOCK) &&
		  o->sync_level >= 0 && o->sync_level <= SHMLOG_LEVEL_OFF;
	return ok ? 0 : -EINVAL;
}

/* A logger for p, its segment not created yet. NULL when out of memory. */
static struct shmlog *logger_new(const struct open_params *p)
{
	struct shmlog *lg = calloc(1, sizeof *lg);
	if (!lg)
		return NULL;
	const struct shmlog_options *o = &p->o;
	atomic_init(&lg->hot.level, p->level);
	lg->full_policy = p->policy;
	lg->block_timeout_ms = o->block_timeout_ms ? o->block_timeout_ms : SHMLOG_DEFAULT_BLOCK_TIMEOUT_MS;
	lg->block_spin_us = o->block_spin_us ? o->block_spin_us : SHMLOG_DEFAULT_BLOCK_SPIN_US;
	lg->sync_level = o->sync_level;
	lg->sync_timeout_ms = o->sync_timeout_ms ? o->sync_timeout_ms : SHMLOG_DEFAULT_BLOCK_TIMEOUT_MS;
	lg->doorbell = o->doorbell != 0;
	lg->max_string = SHMLOG_MAX_STRING;
	lg->ring_count = p->max_threads + 1;
	lg->ring_bytes = p->ring_bytes;
	lg->fd = -1;
	lg->world_dir = p->default_dir;
	strcpy(lg->name, p->name);
	lg->dir = strdup(p->dir);
	lg->hot.tsc = clock_tsc_usable() && clock_calibrate(&lg->calib, 2) == 0;
	lg->site_map_cap = round_pow2(SHMLOG_DEFAULT_MAX_SITES * 2);
	lg->site_map = calloc(lg->site_map_cap, sizeof *lg->site_map);
	lg->slots = calloc(lg->ring_count, sizeof *lg->slots);
	pthread_mutex_init(&lg->site_lock, NULL);
	pthread_mutex_init(&lg->overflow_lock, NULL);
	if (!lg->site_map || !lg->slots || !lg->dir) {
		free_logger(lg);
		return NULL;
	}
	return lg;
}

SHMLOG_EXPORT int shmlog_open(struct shmlog **out, const struct shmlog_options *opts)
{
	*out = NULL;
	struct open_params p;
	int err = open_params(&p, opts);
	if (err)
		return err;
	pthread_once(&process_once, process_init);
	struct shmlog *lg = logger_new(&p);
	if (!lg)
		return -ENOMEM;
	/* created under live_lock: a fork meanwhile (fork_prepare takes it) would leave the child holding
	 * the segment's descriptor and liveness lock, which fork_child drops only for live loggers */
	pthread_mutex_lock(&live_lock);
	lg->hot.serial = next_serial++;
	if ((err = shmlog__segment_create(lg)) == 0) {
		lg->next_live = live_head;
		live_head = lg;
	}
	live_unlock();
	if (err) {
		free_logger(lg);
		return err;
	}
	if (p.o.crash_handler && (err = shmlog__crash_install(lg)) < 0) {
		shmlog_close(lg);
		return err;
	}
	*out = lg;
	return 0;
}

/* Whether (l, serial) is an open logger; the caller holds live_lock. */
static bool logger_live_locked(const struct shmlog *l, uint32_t serial)
{
	for (const struct shmlog *x = live_head; x; x = x->next_live)
		if (x == l && x->hot.serial == serial)
			return true;
	return false;
}

/* Whether (l, serial) is an open logger. */
static bool logger_live(const struct shmlog *l, uint32_t serial)
{
	pthread_mutex_lock(&live_lock);
	bool live = logger_live_locked(l, serial);
	live_unlock();
	return live;
}

static void thread_exit(void *arg)
{
	(void)arg;
	thread_gone = true;
	pthread_mutex_lock(&live_lock);
	for (int i = 0; i < SHMLOG__TLS_SLOTS; i++) {
		struct shmlog__tls *s = &tls_slots[i];
		struct shmlog *l = atomic_load_explicit(&s->lg, memory_order_relaxed);
		if (!l)
			continue;
		if (logger_live_locked(l, s->serial)) {
			if (l->slots[s->rp.index] == s)
				l->slots[s->rp.index] = NULL; /* this slot's memory goes away with the thread */
			/* release: the last tail store happens before the ring is seen
			 * released (pairs with the collector's acquire load of state) */
			atomic_store_explicit(&ring_hdr(&s->rp)->state, SHMLOG_RING_RELEASED, memory_order_release);
		}
		atomic_store_explicit(&s->lg, NULL, memory_order_relaxed);
	}
	live_unlock();
}

SHMLOG_EXPORT void shmlog_close(struct shmlog *lg)
{
	if (!lg)
		return;
	pthread_mutex_lock(&live_lock);
	for (struct shmlog **p = &live_head; *p; p = &(*p)->next_live) {
		if (*p == lg) {
			*p = lg->next_live;
			break;
		}
	}
	/* no thread's slot may match lg any more: a logger opened later at the
	 * same address must not find this one's rings */
	for (uint32_t i = 0; i < lg->ring_count; i++)
		if (lg->slots[i])
			atomic_store_explicit(&lg->slots[i]->lg, NULL, memory_order_relaxed);
	for (int i = 0; i < SHMLOG__TLS_SLOTS; i++) /* this thread's unregistered ones (claimed in a signal handler) */
		if (atomic_load_explicit(&tls_slots[i].lg, memory_order_relaxed) == lg)
			atomic_store_explicit(&tls_slots[i].lg, NULL, memory_order_relaxed);
	live_unlock();
	shmlog__crash_remove(lg);
	if (!lg->base) { /* a forked child whose segment was not made */
		free_logger(lg);
		return;
	}
	/* every ring is done (every thread has stopped logging through lg): let
	 * the collector free them as they drain. acq_rel: the last tail store
	 * happens before the ring is seen released (pairs with the collector's
	 * acquire load of state) */
	for (uint32_t i = 0; i < lg->ring_count; i++) {
		struct shmlog_ring_header *rh = shmlog__ring_header(lg, i);
		uint32_t st = SHMLOG_RING_CLAIMED;
		atomic_compare_exchange_strong_explicit(&rh->state, &st, SHMLOG_RING_RELEASED, memory_order_acq_rel,
							memory_order_relaxed);
	}
	/* release: all committed tails happen before the closed state (pairs with the collector's acquire) */
	atomic_store_explicit(&lg->hdr->state, SHMLOG_SEG_CLOSED, memory_order_release);
	munmap(lg->base, lg->size);
	close(lg->fd);
	free_logger(lg);
}

SHMLOG_EXPORT int shmlog_set_level(struct shmlog *lg, int level)
{
	if (level < SHMLOG_LEVEL_TRACE || level > SHMLOG_LEVEL_OFF)
		return -EINVAL;
	bool pending = shmlog__seg_pending(lg);
	if (!pending && !lg->base) /* a forked child whose own segment could not be made: off */
		return -ENODEV;
	atomic_store_explicit(&lg->hot.level, level, memory_order_relaxed);
	if (pending) { /* its segment may have failed since: then off, whichever store came last (fences) */
		atomic_thread_fence(memory_order_seq_cst);
		if (!shmlog__seg_pending(lg) && !lg->base) {
			atomic_store_explicit(&lg->hot.level, SHMLOG_LEVEL_OFF, memory_order_relaxed);
			return -ENODEV;
		}
	}
	/* Never wait for live_lock: the caller may be a signal handler or a
	 * pthread_atfork handler that interrupted its holder. Whoever holds it
	 * (a claim, which copies the level under it, included) applies the
	 * change before letting go. An exchange, not a store: whichever setter's
	 * flag the holder consumes, the read-modify-write chain carries every
	 * earlier setter's level with it (pairs with the exchange in
	 * live_unlock); then a full fence before the trylock (see live_unlock). */
	atomic_exchange(&levels_pending, true);
	atomic_thread_fence(memory_order_seq_cst);
	if (pthread_mutex_trylock(&live_lock) == 0)
		live_unlock();
	return 0;
}

SHMLOG_EXPORT int shmlog_get_level(const struct shmlog *lg)
{
	return atomic_load_explicit(&lg->hot.level, memory_order_relaxed);
}

SHMLOG_EXPORT const char *shmlog_segment_path(const struct shmlog *lg)
{
	return shmlog__seg_pending(lg) ? "" : lg->path; /* a forked child's: written when its segment is made */
}

/*
 * The calling thread's ring for lg: the one in its slot for lg, or a free
 * ring claimed into a free slot. A slot is registered in lg->slots (under
 * live_lock), except from a signal handler, which must not take the lock:
 * such a claim never uses slot 0, so the inline path never sees a slot whose
 * threshold copy set_level cannot reach.
 */
static struct shmlog__ring *thread_ring(struct shmlog *lg, bool in_signal)
{
	struct shmlog__tls *free_slot = NULL;
	if (thread_gone)
		return NULL; /* logging from a later thread-exit destructor: the overflow ring */
	for (int i = 0; i < SHMLOG__TLS_SLOTS; i++) {
		struct shmlog__tls *s = &tls_slots[i];
		struct shmlog *l = atomic_load_explicit(&s->lg, memory_order_relaxed);
		if (l == lg && s->serial == lg->hot.serial)
			return &s->rp;
		if (!free_slot && !l && !(in_signal && i == 0))
			free_slot = s;
	}
	/* no empty slot: one of a logger closed since by another thread is free
	 * too (only signal-time claims outlive a close). Not in a signal handler. */
	for (int i = 0; !free_slot && !in_signal && i < SHMLOG__TLS_SLOTS; i++)
		if (!logger_live(atomic_load_explicit(&tls_slots[i].lg, memory_order_relaxed), tls_slots[i].serial))
			free_slot = &tls_slots[i];
	if (!free_slot)
		return NULL;
	if (!in_signal)
		pthread_setspecific(thread_key, (void *)1); /* arms the exit destructor */
	for (uint32_t i = 0; i + 1 < lg->ring_count; i++) {
		struct shmlog_ring_header *rh = shmlog__ring_header(lg, i);
		uint32_t st = SHMLOG_RING_FREE;
		/* acquire: pairs with the collector's release when it freed the ring,
		 * so we see its final head */
		if (!atomic_compare_exchange_strong_explicit(&rh->state, &st, SHMLOG_RING_CLAIMED,
							     memory_order_acquire, memory_order_relaxed))
			continue;
		if (shmlog__segment_commit(lg, (uint64_t)(shmlog__ring_data(lg, i) - lg->base), lg->ring_bytes) != 0) {
			/* no memory for it (a full /dev/shm): this thread uses the
			 * overflow ring, whose memory was committed at creation */
			atomic_store_explicit(&rh->state, SHMLOG_RING_FREE, memory_order_relaxed);
			return NULL;
		}
		atomic_fetch_add_explicit(&rh->claims, 1, memory_order_relaxed);
		atomic_store_explicit(&rh->tid, (uint32_t)syscall(SYS_gettid), memory_order_relaxed);
		struct shmlog__ring *rp = &free_slot->rp;
		rp->rh = rh;
		rp->tail_pub = &rh->tail;
		rp->data = shmlog__ring_data(lg, i);
		rp->cap = lg->ring_bytes;
		rp->index = i;
		rp->tail = atomic_load_explicit(&rh->tail, memory_order_relaxed);
		rp->head_cache = atomic_load_explicit(&rh->head, memory_order_acquire);
		rp->pending_lost = 0;
		rp->last_win = 0; /* the first record looks at the bell */
		ring_update_fast_limit(rp);
		free_slot->serial = lg->hot.serial;
		if (!in_signal)
			pthread_mutex_lock(&live_lock);
		atomic_store_explicit(&free_slot->level, atomic_load_explicit(&lg->hot.level, memory_order_relaxed),
				      memory_order_relaxed);
		atomic_store_explicit(&free_slot->lg, lg, memory_order_relaxed);
		if (!in_signal) {
			lg->slots[i] = free_slot;
			live_unlock();
		}
		return rp;
	}
	return NULL;
}

struct shmlog__ring *shmlog__thread_ring(struct shmlog *lg)
{
	return thread_ring(lg, false);
}

struct shmlog__ring *shmlog__signal_ring(struct shmlog *lg)
{
	return thread_ring(lg, true);
}

static uint32_t heap_put(struct shmlog *lg, const char *s, uint32_t len, bool *ok)
{
	struct shmlog_seg_header *h = lg->hdr;
	uint32_t used = atomic_load_explicit(&h->strings_used, memory_order_relaxed);
	if ((uint64_t)used + len + 1 > h->strings_bytes) {
		*ok = false;
		return 0;
	}
	memcpy(lg->base + h->strings_off + used, s, len);
	lg->base[h->strings_off + used + len] = 0;
	atomic_store_explicit(&h->strings_used, used + len + 1, memory_order_relaxed);
	return used;
}

/* Put a _KV site's field descriptor (shared/abi.h) in the heap; 0 when it has none. */
static uint32_t heap_put_fields(struct shmlog *lg, const struct shmlog__fields *f, bool *ok)
{
	if (!f || !*ok)
		return 0;
	uint8_t d[1 + SHMLOG_MAX_FIELDS * (2 + SHMLOG_FIELD_KEY_MAX)];
	uint32_t n = 0;
	d[n++] = f->n;
	for (uint32_t i = 0; i < f->n; i++) {
		size_t kl = strlen(f->keys[i]); /* 1..255: the macro's static assert */
		d[n++] = f->kinds[i];
		d[n++] = (uint8_t)kl;
		memcpy(d + n, f->keys[i], kl);
		n += (uint32_t)kl;
	}
	return heap_put(lg, (const char *)d, n, ok);
}

/* Parse the site's format once per process: its argument kinds, or refused. Under site_lock. */
static void parse_site_once(struct shmlog__site *site)
{
	if (atomic_load_explicit(&site->parsed, memory_order_acquire) != 0)
		return;
	struct fmt_parsed *pf = malloc(sizeof *pf);
	bool good = pf && fmt_parse(pf, site->fmt, strlen(site->fmt), NULL) == 0;
	if (good) {
		site->nargs = (uint8_t)pf->n_args;
		memcpy(site->kinds, pf->kinds, pf->n_args);
	} else {
		site->nargs = 0; /* the collector renders the refusal from the format */
	}
	free(pf);
	/* release: nargs/kinds are written before parsed is seen set */
	atomic_store_explicit(&site->parsed, good ? 1u : 2u, memory_order_release);
}

/* Write the site's entry (and its strings) into the segment's registry as id n. Returns 0 or -ENOSPC. */
static int register_entry(struct shmlog *lg, const struct shmlog__site *site, uint32_t n)
{
	struct shmlog_seg_header *h = lg->hdr;
	bool ok = n < h->max_sites;
	uint32_t flen = (uint32_t)strlen(site->fmt), slen = (uint32_t)strlen(site->file);
	uint32_t foff = ok ? heap_put(lg, site->fmt, flen, &ok) : 0;
	uint32_t soff = ok ? heap_put(lg, site->file, slen, &ok) : 0;
	uint32_t doff = heap_put_fields(lg, site->fields, &ok);
	if (!ok)
		return -ENOSPC;
	struct shmlog_site_entry *e =
		(struct shmlog_site_entry *)(lg->base + h->sites_off + (uint64_t)n * SHMLOG_SITE_ENTRY_BYTES);
	e->level = (uint32_t)site->level;
	e->line = (uint32_t)site->line;
	e->fmt_off = foff;
	e->fmt_len = flen;
	e->file_off = soff;
	e->file_len = slen;
	e->fields_off = doff;
	/* release: the entry and its strings are visible before ready
	 * (pairs with the reader's acquire load of ready) */
	atomic_store_explicit(&e->ready, 1u, memory_order_release);
	atomic_store_explicit(&h->sites_used, n + 1, memory_order_release);
	return 0;
}

int shmlog__register(struct shmlog *lg, struct shmlog__site *site, uint32_t *id)
{
	if (shmlog__seg_pending(lg) ? shmlog__segment_ensure(lg) < 0 : !lg->base)
		return -ENODEV; /* a forked child whose segment could not be made */
	return shmlog__register_now(lg, site, id);
}

int shmlog__register_now(struct shmlog *lg, struct shmlog__site *site, uint32_t *id)
{
	pthread_mutex_lock(&lg->site_lock);
	parse_site_once(site);
	uint32_t mask = lg->site_map_cap - 1;
	uint32_t slot = (uint32_t)(((uintptr_t)site >> 4) * 2654435761u) & mask;
	int rc = 0;
	while (lg->site_map[slot].site && lg->site_map[slot].site != site)
		slot = (slot + 1) & mask;
	if (lg->site_map[slot].site) {
		*id = lg->site_map[slot].id;
	} else {
		uint32_t n = atomic_load_explicit(&lg->hdr->sites_used, memory_order_relaxed);
		rc = register_entry(lg, site, n);
		if (rc == 0) {
			lg->site_map[slot].site = site;
			lg->site_map[slot].id = n;
			*id = n;
		}
	}
	/* the inline fast path stores arguments by their C types: only where
	 * those are exactly the kinds the format reads (and the call never
	 * waits for sync) */
	bool fast = lg->hot.tsc && atomic_load_explicit(&site->parsed, memory_order_relaxed) == 1 &&
		    site->ntypes == site->nargs &&
		    memcmp(site->types, site->kinds, site->nargs) == 0 &&
		    !(lg->sync_level && site->level >= lg->sync_level);
	/* release: nargs/kinds are visible to a thread that acquires the cache */
	if (rc == 0)
		atomic_store_explicit(&site->cache,
				      ((uint64_t)lg->hot.serial << 32) | (fast ? SHMLOG__SITE_FAST : 0) | *id,
				      memory_order_release);
	pthread_mutex_unlock(&lg->site_lock);
	return rc;
}

/* Wake the collector: an attribute change of our segment is an inotify
 * IN_ATTRIB event for it. That fails once the process is no longer the
 * file's owner (it changed its user) or the path no longer leads to the file;
 * then a write of one reserved header byte (with its own value, 0) through
 * our descriptor is an IN_MODIFY event, once fstat() says the descriptor
 * still is our segment (the program may have closed it, and the number may
 * now be another file's). If both fail, the collector's next poll or rescan
 * comes anyway. */
static void kick_collector(const struct shmlog *lg)
{
	if (utimensat(AT_FDCWD, lg->path, NULL, 0) == 0)
		return;
	static const uint8_t zero;
	struct stat st;
	if (lg->fd >= 0 && fstat(lg->fd, &st) == 0 && st.st_ino == lg->ino && st.st_dev == lg->dev) {
		ssize_t n = pwrite(lg->fd, &zero, 1, (off_t)offsetof(struct shmlog_seg_header, reserved3));
		(void)n;
	}
}

void shmlog__bell_ring(struct shmlog *lg, struct shmlog_ring_header *rh)
{
	/* relaxed: the bell carries no data. Only the thread that takes the 1
	 * rings, so a burst of records costs one system call per sleep. */
	if (atomic_exchange_explicit(&rh->bell, 0, memory_order_relaxed))
		kick_collector(lg);
}

SHMLOG_EXPORT void shmlog__ring_bell(struct shmlog__ring *rp)
{
	/* the inline path only writes through a thread slot's own ring */
	struct shmlog__tls *t = (struct shmlog__tls *)(void *)((char *)rp - offsetof(struct shmlog__tls, rp));
	struct shmlog *lg = atomic_load_explicit(&t->lg, memory_order_relaxed);
	if (lg)
		shmlog__bell(lg, ring_hdr(rp));
}

static long futex_wait(_Atomic uint32_t *word, uint32_t val, const struct timespec *rel)
{
	/* shared futex: the word lives in a MAP_SHARED mapping the collector wakes */
	return syscall(SYS_futex, word, FUTEX_WAIT, val, rel, NULL, 0);
}

long long shmlog__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long shmlog__deadline_ns(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : shmlog__mono_ns() + timeout_ms * 1000000LL;
}

int shmlog__wait_pos(struct shmlog *lg, struct shmlog_ring_header *rh, _Atomic uint64_t *pos, uint64_t target,
		     long long deadline_ns)
{
	if (deadline_ns >= 0 && shmlog__mono_ns() >= deadline_ns) /* spent already (a spin, earlier rings) */
		return atomic_load_explicit(pos, memory_order_acquire) >= target ? 0 : -ETIMEDOUT;
	int rc = 0;
	/* seq_cst: our waiters increment and the collector's head store / waiters
	 * load are totally ordered, so either we see its new head or it sees us */
	atomic_fetch_add_explicit(&rh->waiters, 1, memory_order_seq_cst);
	/* we are about to wait anyway: wake the collector, which may be polling
	 * slowly or asleep; a bell is taken so that it is not rung again */
	atomic_store_explicit(&rh->bell, 0, memory_order_relaxed);
	kick_collector(lg);
	for (;;) {
		uint32_t seq = atomic_load_explicit(&rh->wake_seq, memory_order_seq_cst);
		if (atomic_load_explicit(pos, memory_order_seq_cst) >= target)
			break;
		/* wake at least every 50 ms: a collector that died never bumps wake_seq */
		long long left = 50 * 1000000LL;
		if (deadline_ns >= 0) {
			long long to_end = deadline_ns - shmlog__mono_ns();
			if (to_end <= 0) {
				rc = -ETIMEDOUT;
				break;
			}
			if (to_end < left)
				left = to_end;
		}
		struct timespec rel = {left / 1000000000LL, left % 1000000000LL};
		futex_wait(&rh->wake_seq, seq, &rel);
	}
	atomic_fetch_sub_explicit(&rh->waiters, 1, memory_order_seq_cst);
	return rc;
}

SHMLOG_EXPORT int shmlog_flush(struct shmlog *lg, int timeout_ms)
{
	if (shmlog__seg_pending(lg))
		return 0; /* a forked child that has logged nothing through lg */
	if (!lg->base)
		return -EIO;
	long long deadline = shmlog__deadline_ns(timeout_ms);
	uint64_t *target = calloc(lg->ring_count, sizeof *target);
	if (!target)
		return -ENOMEM;
	for (uint32_t i = 0; i < lg->ring_count; i++) {
		/* acquire: pairs with the producers' release of tail */
		target[i] = atomic_load_explicit(&shmlog__ring_header(lg, i)->tail, memory_order_acquire);
	}
	int rc = 0;
	for (uint32_t i = 0; i < lg->ring_count && rc == 0; i++) {
		struct shmlog_ring_header *rh = shmlog__ring_header(lg, i);
		if (atomic_load_explicit(&rh->head, memory_order_acquire) < target[i])
			rc = shmlog__wait_pos(lg, rh, &rh->head, target[i], deadline);
	}
	free(target);
	return rc;
}

int shmlog__wait_synced(struct shmlog *lg, struct shmlog_ring_header *rh, uint64_t target, long long deadline_ns)
{
	/* atomic max: several threads may ask for different positions */
	uint64_t cur = atomic_load_explicit(&rh->sync_req, memory_order_relaxed);
	while (cur < target && !atomic_compare_exchange_weak_explicit(&rh->sync_req, &cur, target,
								      memory_order_seq_cst, memory_order_relaxed))
		;
	return shmlog__wait_pos(lg, rh, &rh->synced, target, deadline_ns);
}

SHMLOG_EXPORT int shmlog_sync(struct shmlog *lg, int timeout_ms)
{
	if (shmlog__seg_pending(lg))
		return 0; /* a forked child that has logged nothing through lg */
	if (!lg->base)
		return -EIO;
	long long deadline = shmlog__deadline_ns(timeout_ms);
	int rc = 0;
	for (uint32_t i = 0; i < lg->ring_count && rc == 0; i++) {
		struct shmlog_ring_header *rh = shmlog__ring_header(lg, i);
		/* acquire: pairs with the producers' release of tail */
		uint64_t target = atomic_load_explicit(&rh->tail, memory_order_acquire);
		if (atomic_load_explicit(&rh->synced, memory_order_acquire) < target)
			rc = shmlog__wait_synced(lg, rh, target, deadline);
	}
	return rc;
}

SHMLOG_EXPORT int shmlog_get_stats(struct shmlog *lg, struct shmlog_stats *st)
{
	memset(st, 0, sizeof *st);
	if (shmlog__seg_pending(lg))
		return 0; /* a forked child that has logged nothing through lg */
	if (!lg->base)
		return -EIO;
	for (uint32_t i = 0; i < lg->ring_count; i++) {
		struct shmlog_ring_header *rh = shmlog__ring_header(lg, i);
		st->committed_bytes += atomic_load_explicit(&rh->tail, memory_order_acquire);
		st->consumed_bytes += atomic_load_explicit(&rh->head, memory_order_acquire);
		st->lost += atomic_load_explicit(&rh->lost, memory_order_relaxed);
		if (i + 1 < lg->ring_count &&
		    atomic_load_explicit(&rh->state, memory_order_relaxed) == SHMLOG_RING_CLAIMED)
			st->rings_in_use++;
	}
	st->lost += atomic_load_explicit(&lg->hdr->registry_lost, memory_order_relaxed);
	return 0;
}
