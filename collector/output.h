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
 * (durable writers), or drops its output (console). While any writer's
 * backlog is full, output_full() says so and the drain gathers no new
 * records; the others still write what they hold.
 */
#ifndef SHMLOG_OUTPUT_H
#define SHMLOG_OUTPUT_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "router.h"
#include "writer.h"

struct output {
	unsigned n;
	struct writer w[CONFIG_MAX_WRITERS];
	struct router *router;
	uint32_t level_mask[TEXT_LEVEL_OFF + 1]; /* per level: the writers whose min_level lets it pass */
	uint32_t add_failed;                    /* writers whose last add failed (reported once) */
};

/*
 * Take the configured writers and the routes from cfg (which keeps nothing
 * of them) and open the writers. Returns 0, or -errno with d->msg naming the
 * writer's key; nothing stays open then.
 */
int output_open(struct output *o, struct collector_config *cfg, struct diag *d);

/* Route tr and give it to each writer that wants it. Returns the writers it went to (a mask). */
uint32_t output_add(struct output *o, const struct text_record *tr);

/* Write what every writer holds in one io_uring submission; report failures once. */
void output_write(struct output *o, struct io_uring *io);

/* The records each writer has been given so far, into mark[0..o->n). */
void output_marks(const struct output *o, uint64_t *mark);

/* Whether every writer is done with the records up to mark (from output_marks). */
bool output_reached(const struct output *o, const uint64_t *mark);

/* Bytes waiting in writers' backlogs. */
uint64_t output_backlog(const struct output *o);

/* Whether a writer's backlog is full: gather no more records until it drains. */
bool output_full(const struct output *o);

/* Sync every writer that can. Returns 0, or the first -errno (reported once per writer). */
int output_sync(struct output *o);

/* SIGHUP: reopen every writer that can (files, by name). */
void output_reopen(struct output *o);

/* Print one line per writer and the routes, for --check-config. */
void output_describe(const struct collector_config *cfg, FILE *f);

/* Sync and close every writer and free the routes. */
void output_close(struct output *o);

#endif
