/*
 * render.h — rendering the plain line writers' lines on several threads
 * (collector.threads, docs/collector.md "More than one core").
 *
 * With threads > 1, in a cycle that renders on the helpers (all of them with
 * threads_adaptive = false, else as the gauge below chooses), the output
 * module does not render a record for a plain
 * line writer (console, or a file without rotation or encryption: the
 * writers whose add is only "append the line", w->plain_add) when it is
 * routed. It copies what rendering needs (render_defer: the decoded record,
 * its message's arguments and fields, which stay in their ring until the
 * cycle is written) and goes on. Before the cycle is written
 * (render_run, from output_write) the deferred records are cut into chunks
 * of RENDER_CHUNK; every thread, the caller's included, claims chunks one
 * at a time (an atomic counter) and renders each for each writer into
 * buffers of its own, noting where each chunk's lines lie. The caller then
 * appends the lines to each writer chunk by chunk, in order. So every writer
 * gets the very bytes, in the very order, that rendering them one by one
 * would have given it; the other writers take their records as before, at
 * once. Routing, the ledger and every writer's state stay on the caller's
 * thread. The caller never waits for a helper that is not rendering: a
 * helper that wakes late finds the chunks taken (or a later cycle's, whose
 * counter it cannot claim from), so a helper without a CPU of its own
 * costs the cycle at most the chunk it is in the middle of.
 */
#ifndef SHMLOG_RENDER_H
#define SHMLOG_RENDER_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "../shared/sbuf.h"
#include "../shared/text.h"
#include "config.h"

#define RENDER_THREADS_MAX 64u
#define RENDER_CHUNK 64u /* records a thread claims at a time */

struct output;
struct render_entry;
struct render_block;

/* Where one chunk's lines lie: in the buffers of the thread that rendered it. */
struct render_chunk {
	uint32_t thread;
	uint32_t off[CONFIG_MAX_WRITERS], len[CONFIG_MAX_WRITERS];
};

/* One thread's side of a cycle. */
struct render_share {
	struct render_pool *pool;
	struct sbuf out[CONFIG_MAX_WRITERS]; /* its lines, per writer */
	uint64_t lost[CONFIG_MAX_WRITERS];   /* records it could not render (out of memory), per writer */
	struct sbuf raw;                     /* a message rendered raw (text_msg.raw) */
	unsigned index;                      /* its thread: 0 the caller's */
};

struct render_pool {
	unsigned n;                   /* threads in all, the caller's included; 0: not started */
	pthread_t tid[RENDER_THREADS_MAX];
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t gen;                 /* cycles handed out (under mu) */
	_Atomic uint64_t claim;       /* gen << 32 | the next chunk to claim */
	_Atomic uint32_t finished;    /* chunks of this cycle rendered */
	_Atomic uint32_t n_chunks;    /* a late helper may read the next cycle's: its claim then fails */
	bool stop;
	const struct output *o;       /* the writers' formats, during a run */
	struct render_entry *e;       /* deferred records, in order */
	uint32_t n_e, cap_e;
	struct render_block *blocks;  /* what they point to (arguments, fields, strings) */
	struct render_chunk *chunks;  /* n_chunks of them */
	uint32_t cap_chunks;
	struct render_share share[RENDER_THREADS_MAX];
};

/*
 * Start threads - 1 helper threads (threads >= 2; at most
 * RENDER_THREADS_MAX). Returns 0, or -errno (nothing started).
 */
int render_start(struct render_pool *p, unsigned threads);

/*
 * collector.threads_pin: give each of the pool's threads a CPU of its own
 * among allowed (the CPUs the collector may run on), so that the scheduler
 * cannot put the loop on a CPU where a helper or a producer runs. The
 * calling thread (the loop; loop.c gives the kernel's io-wq workers that
 * write for it the same CPU) takes the last CPU of allowed, the helpers the
 * others in order, round robin when there are fewer CPUs than threads.
 * Threads the collector starts later run on every CPU of allowed
 * (render_unpinned_attr). Returns the loop's CPU, or -errno when the loop
 * could not be pinned (nothing is pinned then).
 */
int render_pin(struct render_pool *p, const cpu_set_t *allowed);

/* Let a thread started with attr run on every CPU the collector was allowed before render_pin pinned the loop
 * (nothing to do when it did not). Returns nothing. */
void render_unpinned_attr(pthread_attr_t *attr);

/* Keep tr for the writers of mask, rendered at the next render_run. Returns 0 or -ENOMEM. */
int render_defer(struct render_pool *p, const struct text_record *tr, uint32_t mask);

/*
 * Render every deferred record for o's writers and append the lines to
 * each writer's output, in order. lost[i] gets the records writer i could
 * not take (out of memory). Returns nothing.
 */
void render_run(struct render_pool *p, struct output *o, uint64_t *lost);

/* Stop the helper threads and free everything. Returns nothing. */
void render_stop(struct render_pool *p);

/*
 * Whether the helpers pay, measured (render_gauge_cycle). collector.threads
 * is what the collector may use, not what it must: the helpers cost a copy
 * of every deferred record and lines that cross between cores, which on a
 * machine whose other cores are busy costs more than the rendering shared.
 * So the gauge times the loop, in nanoseconds of wall time per record, over
 * windows of RENDER_GAUGE_WINDOW cycles that left records in the rings (the
 * collector is behind: its rate is then its speed), rendering with the
 * helpers and without, and the cycles that are behind render on the helpers
 * only while the last window with them was RENDER_GAUGE_GAIN faster than the
 * last one without. The mode not chosen is measured again after 1 window of
 * the chosen one, then 2, 4, ... up to RENDER_GAUGE_GAP_MAX while the choice
 * holds (it costs then one window in RENDER_GAUGE_GAP_MAX + 1); and at once
 * after as many windows as keep that window's cost near RENDER_GAUGE_REGRET
 * of the time between two (a mode 50 % slower: 50 windows), since in a short
 * busy spell the doubling alone would spend several windows in the slower
 * mode. For the same reason a measure of the mode not chosen ends after
 * RENDER_GAUGE_PROBE cycles when they were RENDER_GAUGE_PROBE_SLOWER times
 * slower than the chosen mode's last window. A cycle that
 * is not behind renders on the loop alone: records arrive no faster than it
 * takes them, so the helpers would only spend CPU.
 */
#define RENDER_GAUGE_WINDOW 16u
#define RENDER_GAUGE_MIN_RECORDS 256u /* a cycle with fewer tells too little */
#define RENDER_GAUGE_GAP_MAX 64u
#define RENDER_GAUGE_GAIN 0.97        /* ns per record with the helpers at most this times without */
#define RENDER_GAUGE_REGRET 0.01      /* what measuring the slower mode may cost, of the time between two */
#define RENDER_GAUGE_PROBE 4u          /* cycles of the mode not chosen that can end its measure early, */
#define RENDER_GAUGE_PROBE_SLOWER 1.15 /* when it was this many times slower per record */

struct render_gauge {
	uint64_t ns[2], records[2]; /* the window being measured, by mode (1: with the helpers) */
	uint32_t cycles[2];
	double per_record[2];       /* the last window's ns per record, by mode; 0 before one */
	uint32_t gap, wait;         /* windows of the chosen mode between measures of the other; left */
	bool helpers;               /* the chosen mode of a cycle that is behind */
	bool next;                  /* the mode of the next cycle, as last returned */
};

/* A gauge that chooses the loop alone until it has measured both. Returns nothing. */
void render_gauge_init(struct render_gauge *g);

/*
 * The cycle just ended (in the mode render_gauge_cycle last returned) took
 * ns of loop time for records, and was behind or not. Returns whether the
 * next cycle renders on the helpers.
 */
bool render_gauge_cycle(struct render_gauge *g, uint64_t records, uint64_t ns, bool behind);

#endif
