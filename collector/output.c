/*
 * output.c — the live writers: routing each record, rendering it once per
 * format, writing every writer's bytes through io_uring, and counting each
 * writer's progress in records (see output.h for the protocol).
 *
 * Rendering once: struct output_rec remembers, per (format, colour), which
 * buffer holds the first rendering of the record and where; the next writer
 * that wants the same line copies those bytes instead of rendering again.
 */
#include "output.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../shared/escape.h"
#include "collector.h"

/* Index of a (format, colour) rendering in struct output_rec. */
static inline unsigned line_kind(enum text_format f, bool color)
{
	return (unsigned)f * 2u + (color && f == TEXT_FORMAT_TEXT);
}

/*
 * Append rec as one line in format f (with colour) to dst: rendered the
 * first time it is asked for, copied from that rendering afterwards. Returns
 * 0 or -ENOMEM (nothing appended).
 */
int output_rec_append(struct output_rec *rec, enum text_format f, bool color, struct sbuf *dst)
{
	unsigned k = line_kind(f, color);
	struct sbuf *src = rec->line_buf[k];
	if (src) {
		if (sbuf_reserve(dst, rec->line_len[k]) != 0)
			return -ENOMEM;
		memcpy(dst->data + dst->len, src->data + rec->line_off[k], rec->line_len[k]);
		dst->len += rec->line_len[k];
		return 0;
	}
	size_t before = dst->len;
	text_append(dst, rec->tr, f, color);
	if (dst->len == before)
		return -ENOMEM;
	rec->line_buf[k] = dst;
	rec->line_off[k] = before;
	rec->line_len[k] = dst->len - before;
	return 0;
}

/* output_rec_append() for the last writer of rec: its rendering need not be kept. */
static inline int output_rec_last(struct output_rec *rec, enum text_format f, bool color, struct sbuf *dst)
{
	if (rec->line_buf[line_kind(f, color)])
		return output_rec_append(rec, f, color, dst);
	size_t before = dst->len;
	text_append(dst, rec->tr, f, color);
	return dst->len == before ? -ENOMEM : 0;
}

static void compute_level_masks(struct output *o)
{
	for (int level = 0; level <= TEXT_LEVEL_OFF; level++) {
		uint32_t m = 0;
		for (unsigned i = 0; i < o->n; i++)
			if (level >= o->w[i].min_level)
				m |= 1u << i;
		o->level_mask[level] = m;
	}
}

/* With threads > 1 and plain line writers to render for, start the render threads (at most the CPUs
 * the collector may run on), each on a CPU of its own with pin (render_pin). Returns 0 or -errno
 * with d->msg filled (the writers closed then). */
static int start_render(struct output *o, uint32_t threads, bool pin, struct diag *d)
{
	cpu_set_t cpus;
	unsigned usable = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? (unsigned)CPU_COUNT(&cpus) : 1;
	if (threads > usable) {
		collector_warn("collector.threads = %u, but the collector may run on %u CPU%s: rendering on %u",
			       threads, usable, usable == 1 ? "" : "s", usable);
		threads = usable;
	}
	if (threads < 2 || !o->plain_mask)
		return 0;
	render_gauge_init(&o->gauge);
	int rc = (o->pool = calloc(1, sizeof *o->pool)) ? render_start(o->pool, threads) : -ENOMEM;
	if (rc < 0) {
		free(o->pool);
		o->pool = NULL;
		snprintf(d->msg, sizeof d->msg, "collector.threads: cannot start %u render threads: %s", threads,
			 strerror(-rc));
		output_close(o);
		return rc;
	}
	if (pin && (o->loop_cpu = render_pin(o->pool, &cpus)) < 0) {
		collector_warn("collector.threads_pin: cannot pin the threads to CPUs (%s): the scheduler places them",
			       strerror(-o->loop_cpu));
		o->loop_cpu = -1;
	}
	return 0;
}

int output_open(struct output *o, struct collector_config *cfg, struct diag *d)
{
	memset(o, 0, sizeof *o);
	o->n = cfg->n_writers;
	memcpy(o->w, cfg->writers, cfg->n_writers * sizeof cfg->writers[0]);
	o->router = cfg->router;
	cfg->n_writers = 0;
	cfg->router = NULL;
	for (unsigned i = 0; i < o->n; i++) {
		int r = o->w[i].ops->open(&o->w[i], d);
		if (r < 0) {
			output_close(o);
			return r;
		}
	}
	compute_level_masks(o);
	o->fixed = router_fixed(o->router, &o->fixed_mask);
	bool text_plain = false;
	for (unsigned i = 0; i < o->n; i++) {
		if (o->w[i].ops->add_spans && o->fixed && (o->fixed_mask & o->level_mask[TEXT_LEVEL_TRACE] & 1u << i))
			o->span_mask |= 1u << i; /* every level a record can have passes */
		o->plain_mask |= (uint32_t)o->w[i].plain_add << i;
		text_plain |= o->w[i].plain_add && o->w[i].format == TEXT_FORMAT_TEXT && !o->w[i].color;
	}
	o->loop_cpu = -1;
	int rc = start_render(o, cfg->threads, cfg->threads_pin, d);
	o->adaptive = cfg->threads_adaptive;
	o->helpers = o->pool && !o->adaptive; /* adaptive: the gauge's first window is without them */
	/* a message regex, and a text line rendered here anyway: route by that line (route_by_line) */
	o->by_line = rc == 0 && !o->fixed && text_plain && !o->pool && router_wants_msg(o->router);
	return rc;
}

/* A writer that could not take a record (out of memory): counted, said once until it takes one again. */
static void add_failed(struct output *o, unsigned i, int err)
{
	if (!o->lost[i])
		collector_warn("writer %s: a record could not be taken: %s", o->w[i].name, strerror(-err));
	o->lost[i]++;
}

/* Writer i takes records again: its output says how many it lost meanwhile (a line of ours). */
static void tell_lost(struct output *o, unsigned i)
{
	char msg[160];
	int len = snprintf(msg, sizeof msg, "[shmlog] %llu records lost for this writer (out of memory)",
			   (unsigned long long)o->lost[i]);
	static const char name[] = "shmlog-collector";
	struct text_record tr = {.ts_ns = clock_realtime_ns(), .level = TEXT_LEVEL_WARN, .name = name,
				 .name_len = sizeof name - 1, .pid = (uint32_t)getpid(), .msg = msg, .msg_len = (size_t)len};
	struct output_rec rec = {.tr = &tr};
	if (o->w[i].ops->add(&o->w[i], &rec) == 0) {
		o->w[i].taken++;
		o->lost[i] = 0;
	}
}

/* Keep tr for the plain line writers of d (render.h), counted as taken. Returns the writers left to give it to. */
static uint32_t defer(struct output *o, const struct text_record *tr, uint32_t mask, uint32_t d)
{
	int r = render_defer(o->pool, tr, d);
	for (uint32_t m = d; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		if (r < 0) {
			add_failed(o, i, r);
			continue;
		}
		o->w[i].taken++;
	}
	return mask & ~d;
}

/* Give rec (route() set it up) to the writers in mask. Returns mask. */
static uint32_t give(struct output *o, struct output_rec *rec, uint32_t mask)
{
	uint32_t all = mask;
	if (o->helpers && (mask & o->plain_mask))
		mask = defer(o, rec->tr, mask, mask & o->plain_mask);
	for (uint32_t m = mask; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		struct writer *w = &o->w[i];
		/* the line writers' add, called directly: one indirect call less per record; the
		 * last writer's rendering is not kept for another */
		int r = !w->plain_add  ? w->ops->add(w, rec)
			: m & (m - 1)  ? output_rec_append(rec, w->format, w->color, &w->out.buf)
				       : output_rec_last(rec, w->format, w->color, &w->out.buf);
		if (r < 0) {
			add_failed(o, i, r);
			continue;
		}
		w->taken++;
		if (o->lost[i])
			tell_lost(o, i);
	}
	return all;
}

/*
 * Route rec by its text line, rendered first into o->stage (which then
 * serves every text writer without colour): a message regex runs on the
 * line's message when that holds no backslash, as it is then the message
 * itself (text.h), instead of on a rendering of its own.
 */
static uint32_t route_by_line(struct output *o, struct output_rec *rec)
{
	size_t off, len;
	sbuf_reset(&o->stage);
	text_append_msg_span(&o->stage, rec->tr, &off, &len);
	if (!o->stage.len) /* out of memory: the regex renders the message itself */
		return router_route(o->router, rec->tr);
	unsigned k = line_kind(TEXT_FORMAT_TEXT, false);
	rec->line_buf[k] = &o->stage;
	rec->line_off[k] = 0;
	rec->line_len[k] = o->stage.len;
	const char *msg = o->stage.data + off;
	return memchr(msg, '\\', len) ? router_route(o->router, rec->tr) : router_route_msg(o->router, rec->tr, msg, len);
}

/* The writers rec->tr is routed to, their min_level passed; rec set up for give(). */
static uint32_t route(struct output *o, struct output_rec *rec, const struct text_record *tr)
{
	rec->tr = tr; /* the rest is read only once line_buf[k] is set */
	memset(rec->line_buf, 0, sizeof rec->line_buf);
	unsigned level = (unsigned)tr->level <= TEXT_LEVEL_OFF ? (unsigned)tr->level : TEXT_LEVEL_OFF;
	uint32_t to;
	if (o->fixed)
		to = o->fixed_mask;
	else if (o->by_line && tr->lazy && !tr->lazy->rendered)
		to = route_by_line(o, rec);
	else
		to = router_route(o->router, tr);
	return to & o->level_mask[level];
}

uint32_t output_add(struct output *o, const struct text_record *tr, uint32_t *missed)
{
	struct output_rec rec;
	uint32_t mask = route(o, &rec, tr);
	if (missed)
		*missed = mask & o->skipping;
	return give(o, &rec, mask & ~o->skipping);
}

uint32_t output_add_only(struct output *o, const struct text_record *tr, uint32_t only)
{
	struct output_rec rec;
	return give(o, &rec, route(o, &rec, tr) & only);
}

uint32_t output_add_record(struct output *o, const struct text_record *tr)
{
	struct output_rec rec;
	return give(o, &rec, route(o, &rec, tr) & ~(o->skipping | o->span_mask));
}

uint32_t output_add_spans(struct output *o, const struct reader_span *spans, uint32_t n, uint32_t only)
{
	uint64_t records = 0;
	for (uint32_t k = 0; k < n; k++)
		records += spans[k].n;
	uint32_t mask = only & o->span_mask;
	for (uint32_t m = mask; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		struct writer *w = &o->w[i];
		uint64_t lost = 0;
		int r = w->ops->add_spans(w, spans, n, &lost);
		if (r < 0 && !o->lost[i])
			collector_warn("writer %s: records could not be taken: %s", w->name, strerror(-r));
		o->lost[i] += lost;
		w->taken += records - lost;
		if (r < 0)
			continue;
		if (o->lost[i])
			tell_lost(o, i);
	}
	return mask;
}

uint32_t output_update_skipping(struct output *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		if (writer_pending(&o->w[i]) < o->w[i].backlog_max || (o->skipping & (1u << i)))
			continue;
		collector_warn("writer %s: backlog full (%llu bytes); it takes no records until it can write, "
			       "the others go on, and its records stay in the rings for it",
			       o->w[i].name, (unsigned long long)writer_pending(&o->w[i]));
		o->skipping |= 1u << i;
	}
	return o->skipping;
}

void output_stop_skipping(struct output *o, uint32_t writers)
{
	for (uint32_t m = writers & o->skipping; m; m &= m - 1)
		collector_warn("writer %s: caught up; taking records again", o->w[__builtin_ctz(m)].name);
	o->skipping &= ~writers;
}

uint32_t output_with_room(const struct output *o)
{
	uint32_t m = 0;
	for (unsigned i = 0; i < o->n; i++)
		if (writer_pending(&o->w[i]) < o->w[i].backlog_max / 2)
			m |= 1u << i;
	return m;
}

/* Report how writer w's write ended, once per condition. */
static void report_write(struct writer *w, const struct uio_req *req)
{
	if (req->err) {
		if (req->err != w->last_err)
			collector_warn("writer %s: write failed: %s%s", w->name, strerror(-req->err),
				       w->durable ? "; keeping its records until it can write again" : "; output dropped");
		w->last_err = req->err;
	} else if (w->last_err) {
		collector_warn("writer %s: writing again", w->name);
		w->last_err = 0;
	}
}

/*
 * One round: every writer in want with something to write prepares it, all
 * go out in one submission, each completes. Returns the writers whose
 * request was written whole and that still hold more (a writer stops at a
 * rotation's cut: the next round starts the new file).
 */
static uint32_t write_round(struct output *o, struct io_uring *io, uint32_t want)
{
	struct uio_req reqs[CONFIG_MAX_WRITERS];
	unsigned who[CONFIG_MAX_WRITERS];
	unsigned n = 0;
	for (uint32_t m = want; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		struct writer *w = &o->w[i];
		/* bytes without a record count too: a binary file's header, before its first record */
		if (w->done == w->taken && !writer_busy(w) && !writer_pending(w))
			continue;
		int rc = w->ops->prepare(w, &reqs[n]);
		if (rc > 0)
			who[n++] = i;
		else if (rc < 0 && rc != w->last_err) {
			collector_warn("writer %s: %s", w->name, strerror(-rc));
			w->last_err = rc;
		}
	}
	if (n)
		uio_write_batch(io, reqs, n);
	uint32_t again = 0;
	for (unsigned k = 0; k < n; k++) {
		struct writer *w = &o->w[who[k]];
		w->done = w->ops->complete(w, &reqs[k]);
		report_write(w, &reqs[k]);
		if (!reqs[k].err && reqs[k].done == reqs[k].len && w->done < w->taken && writer_pending(w))
			again |= 1u << who[k];
	}
	return again;
}

#define WRITE_ROUNDS_MAX 64 /* rounds in one cycle; what is left goes in the next */

/*
 * Render the lines deferred this cycle into their writers' output (render.h).
 * A record that could not be rendered (out of memory) stays counted as taken
 * (the batch ledger has its marks already): its writer is done with it when
 * the lines around it are written, and it is told as lost.
 */
static void render_deferred(struct output *o)
{
	uint64_t lost[CONFIG_MAX_WRITERS] = {0};
	render_run(o->pool, o, lost);
	for (unsigned i = 0; i < o->n; i++) {
		if (!lost[i])
			continue;
		if (!o->lost[i])
			collector_warn("writer %s: a record could not be taken: %s", o->w[i].name, strerror(ENOMEM));
		o->lost[i] += lost[i];
	}
	for (unsigned i = 0; i < o->n; i++)
		if (o->lost[i] && (o->plain_mask >> i & 1))
			tell_lost(o, i); /* after this cycle's lines */
}

void output_write(struct output *o, struct io_uring *io)
{
	if (o->pool)
		render_deferred(o);
	uint32_t want = o->n >= 32 ? UINT32_MAX : (1u << o->n) - 1;
	for (unsigned round = 0; want && round < WRITE_ROUNDS_MAX; round++)
		want = write_round(o, io, want);
}

void output_cycle_done(struct output *o, uint64_t records, uint64_t ns, bool behind)
{
	if (!o->pool || !o->adaptive)
		return;
	bool helpers = render_gauge_cycle(&o->gauge, records, ns, behind);
	if (o->helpers && !helpers)
		render_deferred(o); /* what was kept since goes before the lines the loop renders next */
	o->helpers = helpers;
}

void output_marks(const struct output *o, uint64_t *mark)
{
	for (unsigned i = 0; i < o->n; i++)
		mark[i] = o->w[i].taken;
}

bool output_reached(const struct output *o, const uint64_t *mark)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->w[i].done < mark[i])
			return false;
	return true;
}

bool output_busy(const struct output *o)
{
	for (unsigned i = 0; i < o->n; i++)
		if (writer_busy(&o->w[i]) || writer_pending(&o->w[i]))
			return true;
	return false;
}

uint64_t output_backlog(const struct output *o)
{
	uint64_t b = 0;
	for (unsigned i = 0; i < o->n; i++)
		b += writer_pending(&o->w[i]);
	return b;
}

int output_sync(struct output *o)
{
	int first = 0;
	for (unsigned i = 0; i < o->n; i++) {
		struct writer *w = &o->w[i];
		int rc = w->ops->sync ? w->ops->sync(w) : 0;
		if (rc < 0) {
			if (rc != w->last_err)
				collector_warn("writer %s: sync failed: %s", w->name, strerror(-rc));
			w->last_err = rc;
			first = first ? first : rc;
		}
	}
	return first;
}

void output_reopen(struct output *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		struct writer *w = &o->w[i];
		int rc = w->ops->reopen ? w->ops->reopen(w) : 0;
		if (rc < 0)
			collector_warn("writer %s: reopen failed: %s; writing on to the open file", w->name,
				       strerror(-rc));
	}
}

/* Writer w's line of --check-config into f, escaped as the collector's own lines are. */
static void describe_writer(const struct writer *w, FILE *f)
{
	char *line = NULL, *esc;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);
	if (!m)
		return;
	const char *format = w->ops->unformatted ? "" : w->format == TEXT_FORMAT_JSON ? ", format json" : ", format text";
	fprintf(m, "writer %s: type %s%s, min_level %s", w->name, w->ops->type, format, text_level_name(w->min_level));
	if (w->ops->describe)
		w->ops->describe(w, m);
	fclose(m);
	if (line && (esc = malloc(4 * len + 1))) {
		*esc_text(esc, line, len) = '\0';
		fprintf(f, "%s\n", esc);
		free(esc);
	}
	free(line);
}

void output_describe(const struct collector_config *cfg, FILE *f)
{
	for (unsigned i = 0; i < cfg->n_writers; i++)
		describe_writer(&cfg->writers[i], f);
	router_describe(cfg->router, f);
}

void output_close(struct output *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		if (o->w[i].ops && o->w[i].ops->sync)
			o->w[i].ops->sync(&o->w[i]);
		writer_close(&o->w[i]);
	}
	o->n = 0;
	router_close(o->router);
	o->router = NULL;
	if (o->pool)
		render_stop(o->pool);
	free(o->pool);
	o->pool = NULL;
	sbuf_free(&o->stage);
}
