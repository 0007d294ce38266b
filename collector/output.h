/*
 * output.h — the collector's output side: the live writers and the routes.
 *
 * The drain code hands every decoded record to output_add() once. The output
 * module asks the router which writers get it (routes, then each writer's
 * min_level), and hands it to each of them; a line is rendered at most once
 * per format (struct output_rec). At the end of a cycle output_write() sends
 * what every writer prepared through io_uring in one submission, and tells
 * each writer what was written; each writer then says how many of its
 * records are done. Progress is in records per writer: output_marks() takes
 * the count each writer has been given, output_reached() says whether every
 * writer is done up to such marks. The batch ledger (ledger.c) uses them to
 * publish the rings' consumed positions only once every writer is done.
 *
 * A writer that cannot write (disk full) keeps its own bounded backlog
 * (durable writers; backlog_bytes), or drops its output (console). Once its
 * backlog is full it is "skipping": it takes no live records, the others go
 * on, and the batches it skipped are not delivered (their ring positions not
 * published) until it has read them again from the rings (replay.c), oldest
 * first, once it has room. So the rings are consumed up to what every
 * writer has taken, and a full ring then holds the producers back.
 */
#ifndef SHMLOG_OUTPUT_H
#define SHMLOG_OUTPUT_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "render.h"
#include "router.h"
#include "writer.h"

struct output {
	unsigned n;
	struct writer w[CONFIG_MAX_WRITERS];
	struct router *router;
	uint32_t level_mask[TEXT_LEVEL_OFF + 1]; /* per level: the writers whose min_level lets it pass */
	bool fixed;                             /* no routes: every record goes to fixed_mask */
	uint32_t fixed_mask;
	uint32_t span_mask;                     /* writers that take every record, as spans (add_spans) */
	uint32_t plain_mask;                    /* writers whose add only appends the line (w->plain_add) */
	struct render_pool *pool;               /* collector.threads > 1: their lines rendered in parallel */
	struct render_gauge gauge;              /* whether that pays (render.h) */
	bool adaptive;                          /* collector.threads_adaptive: the gauge chooses */
	int loop_cpu;                           /* collector.threads_pin: the loop's CPU (render_pin), else -1 */
	bool helpers;                           /* this cycle's plain lines go to the pool */
	bool by_line;                           /* a message regex runs on the text line rendered first */
	struct sbuf stage;                      /* that line (route_by_line in output.c) */
	uint64_t lost[CONFIG_MAX_WRITERS];      /* records a writer could not take (out of memory), not yet told */
	uint32_t skipping;                      /* writers that take no live records (see above) */
};

/*
 * Take the configured writers and the routes from cfg (which keeps nothing
 * of them) and open the writers; with cfg->threads > 1, start the threads
 * that render the plain line writers' lines (render.h), as many as the CPUs
 * the collector may run on allow. Returns 0, or -errno with d->msg naming the
 * writer's key; nothing stays open then.
 */
int output_open(struct output *o, struct collector_config *cfg, struct diag *d);

/*
 * Route tr and give it to each writer that wants it, except those skipping.
 * Returns the writers it went to (a mask); *missed (may be NULL) gets the
 * skipping writers it would have gone to.
 */
uint32_t output_add(struct output *o, const struct text_record *tr, uint32_t *missed);

/* Route tr and give it to the writers among only that want it, skipping or not. Returns those. */
uint32_t output_add_only(struct output *o, const struct text_record *tr, uint32_t only);

/*
 * A cycle's records from the rings (not notices) go to the writers of
 * span_mask as spans, and to the others one by one: output_add_record() is
 * output_add() for such a record (without the missed mask: a batch records
 * what skipping writers missed), output_add_spans() gives the cycle's spans
 * to the writers among only. Return the writers given to.
 */
uint32_t output_add_record(struct output *o, const struct text_record *tr);
uint32_t output_add_spans(struct output *o, const struct reader_span *spans, uint32_t n, uint32_t only);

/* Mark the writers whose backlog is full as skipping. Returns o->skipping. */
uint32_t output_update_skipping(struct output *o);

/* Take writers off the skipping list (each said once). */
void output_stop_skipping(struct output *o, uint32_t writers);

/* The writers with room to take records again (backlog below half its bound). */
uint32_t output_with_room(const struct output *o);

/* Write what every writer holds in one io_uring submission; report failures once. */
void output_write(struct output *o, struct io_uring *io);

/*
 * A drain cycle ended: it took records in ns of the loop's time (to the next
 * cycle's start), and left records in the rings (behind) or not. With render
 * threads, this chooses whether the next cycle renders on them (render.h,
 * the gauge). Returns nothing.
 */
void output_cycle_done(struct output *o, uint64_t records, uint64_t ns, bool behind);

/* The records each writer has been given so far, into mark[0..o->n). */
void output_marks(const struct output *o, uint64_t *mark);

/* Whether every writer is done with the records up to mark (from output_marks). */
bool output_reached(const struct output *o, const uint64_t *mark);

/* Whether a writer has bytes waiting or other work (a spool to send): the loop then polls. */
bool output_busy(const struct output *o);

/* Bytes waiting in writers' backlogs. */
uint64_t output_backlog(const struct output *o);


/* Sync every writer that can. Returns 0, or the first -errno (reported once per writer). */
int output_sync(struct output *o);

/* SIGHUP: reopen every writer that can (files, by name). */
void output_reopen(struct output *o);

/* Print one line per writer and the routes, for --check-config. */
void output_describe(const struct collector_config *cfg, FILE *f);

/* Sync and close every writer and free the routes. */
void output_close(struct output *o);

#endif
