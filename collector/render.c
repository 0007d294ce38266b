/*
 * render.c — the plain line writers' lines rendered on several threads
 * (render.h).
 *
 * A deferred record is a copy of its struct text_record and, when its
 * message is lazy, of its struct text_msg (a fresh raw buffer is given at
 * rendering), with what they point to that does not outlive the record's
 * callback copied into blocks that never move: the decoded arguments, the
 * fields, the message text when it is rendered already, the logger name.
 * What stays pointed to lives until the cycle is written: the record's
 * bytes in its ring (published consumed only after the write) and its call
 * site (freed only with its segment, after that).
 */
#include "render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "../shared/fmt.h"
#include "../shared/grow.h"
#include "output.h"

#define RENDER_BLOCK_BYTES (256u << 10)

struct render_entry {
	struct text_record tr;
	struct text_msg msg; /* tr.lazy's copy, when it has one */
	bool lazy;
	uint32_t mask;       /* its plain line writers */
};

/* Bytes that stay put for the cycle: a chain of blocks, reused from the first on. */
struct render_block {
	struct render_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

/* n bytes (16-aligned) that stay put until the next run; NULL when out of memory. */
static void *block_take(struct render_pool *p, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct render_block **at = &p->blocks;
	while (*at && (*at)->cap - (*at)->used < n)
		at = &(*at)->next;
	if (!*at) {
		size_t cap = n > RENDER_BLOCK_BYTES ? n : RENDER_BLOCK_BYTES;
		if (!(*at = malloc(sizeof **at + cap)))
			return NULL;
		**at = (struct render_block){.cap = cap};
	}
	void *v = (*at)->data + (*at)->used;
	(*at)->used += n;
	return v;
}

/* A copy of n bytes at src that stays put; NULL when out of memory (src NULL: NULL, no error). */
static const void *block_copy(struct render_pool *p, const void *src, size_t n, bool *oom)
{
	if (!src)
		return NULL;
	void *d = block_take(p, n ? n : 1);
	if (!d)
		*oom = true;
	else if (n)
		memcpy(d, src, n);
	return d;
}

int render_defer(struct render_pool *p, const struct text_record *tr, uint32_t mask)
{
	if (GROW(p->e, p->n_e, p->cap_e, 1024) != 0)
		return -ENOMEM;
	struct render_entry *e = &p->e[p->n_e];
	bool oom = false;
	e->tr = *tr;
	e->mask = mask;
	e->lazy = tr->lazy && !tr->lazy->rendered;
	if (e->lazy) {
		e->msg = *tr->lazy;
		e->msg.args = block_copy(p, tr->lazy->args, tr->lazy->pf->n_args * sizeof *tr->lazy->args, &oom);
	} else { /* its text: in the reader's buffer, or a notice's, until the callback returns */
		size_t len;
		const char *m = text_record_msg(tr, &len);
		e->tr.msg = block_copy(p, m, len, &oom);
		e->tr.msg_len = len;
		e->tr.lazy = NULL;
	}
	e->tr.name = block_copy(p, tr->name, tr->name_len, &oom);
	e->tr.fields = block_copy(p, tr->fields, tr->n_fields * sizeof *tr->fields, &oom);
	if (oom)
		return -ENOMEM;
	p->n_e++;
	return 0;
}

/* Where chunk c of p's entries ends (it starts at c * RENDER_CHUNK). */
static inline uint32_t chunk_end(const struct render_pool *p, uint32_t c)
{
	return (c + 1) * RENDER_CHUNK < p->n_e ? (c + 1) * RENDER_CHUNK : p->n_e;
}

/* Render chunk c of p's entries for the writers of p->o into s's buffers, noting where its lines lie. */
static void chunk_render(struct render_pool *p, struct render_share *s, uint32_t c)
{
	const struct output *o = p->o;
	struct render_chunk *ch = &p->chunks[c];
	ch->thread = s->index;
	for (unsigned i = 0; i < o->n; i++)
		ch->off[i] = (uint32_t)s->out[i].len;
	for (uint32_t k = c * RENDER_CHUNK; k < chunk_end(p, c); k++) {
		struct render_entry *e = &p->e[k];
		if (e->lazy) {
			e->msg.raw = &s->raw;
			e->msg.rendered = false;
			e->msg.oom = false;
			e->tr.lazy = &e->msg;
		}
		struct output_rec rec = {.tr = &e->tr};
		for (uint32_t m = e->mask; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			if (output_rec_append(&rec, o->w[i].format, o->w[i].color, &s->out[i]) < 0)
				s->lost[i]++;
		}
	}
	for (unsigned i = 0; i < o->n; i++)
		ch->len[i] = (uint32_t)(s->out[i].len - ch->off[i]);
}

/* Claim and render chunks of cycle gen until none is left (or a later cycle began). */
static void render_claims(struct render_pool *p, struct render_share *s, uint64_t gen)
{
	uint64_t cur = atomic_load_explicit(&p->claim, memory_order_acquire);
	for (;;) {
		if (cur >> 32 != (gen & 0xffffffffu) ||
		    (uint32_t)cur >= atomic_load_explicit(&p->n_chunks, memory_order_relaxed))
			return;
		/* acquire: pairs with render_run's release of the cycle's job */
		if (!atomic_compare_exchange_weak_explicit(&p->claim, &cur, cur + 1, memory_order_acquire,
							   memory_order_acquire))
			continue;
		chunk_render(p, s, (uint32_t)cur);
		cur++;
		/* release: the chunk's lines before the caller reads them */
		if (atomic_fetch_add_explicit(&p->finished, 1, memory_order_release) + 1 ==
		    atomic_load_explicit(&p->n_chunks, memory_order_relaxed)) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
	}
}

/* A helper thread: chunks of each cycle handed out, until stopped. */
static void *helper(void *arg)
{
	struct render_share *s = arg;
	struct render_pool *p = s->pool;
	uint64_t seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->gen == seen && !p->stop)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		render_claims(p, s, seen);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int render_start(struct render_pool *p, unsigned threads)
{
	memset(p, 0, sizeof *p);
	if (threads < 2 || threads > RENDER_THREADS_MAX)
		return -EINVAL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (unsigned t = 0; t < threads; t++)
		p->share[t].pool = p, p->share[t].index = t;
	int rc = 0;
	for (p->n = 1; p->n < threads && rc == 0; p->n += rc == 0)
		rc = collector_thread(&p->tid[p->n], NULL, helper, &p->share[p->n]);
	if (rc != 0)
		render_stop(p);
	return -rc;
}

static cpu_set_t unpinned;   /* the CPUs allowed before render_pin */
static bool pinned;

/* The n-th CPU (from 0) of set, or -1. */
static int nth_cpu(const cpu_set_t *set, int n)
{
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set) && n-- == 0)
			return cpu;
	return -1;
}

int render_pin(struct render_pool *p, const cpu_set_t *allowed)
{
	int count = CPU_COUNT(allowed);
	int loop = nth_cpu(allowed, count - 1);
	if (loop < 0)
		return -EINVAL;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(loop, &one);
	if (sched_setaffinity(0, sizeof one, &one) != 0)
		return -errno;
	unpinned = *allowed;
	pinned = true;
	for (unsigned t = 1; t < p->n; t++) { /* a helper left unpinned only shares CPUs with the scheduler's choice */
		CPU_ZERO(&one);
		CPU_SET(nth_cpu(allowed, (int)(t - 1) % (count > 1 ? count - 1 : 1)), &one);
		pthread_setaffinity_np(p->tid[t], sizeof one, &one);
	}
	return loop;
}

void render_unpinned_attr(pthread_attr_t *attr)
{
	if (pinned)
		pthread_attr_setaffinity_np(attr, sizeof unpinned, &unpinned);
}

/* Append every chunk's lines to its writers, in chunk order; count what was lost. */
static void gather_chunks(struct render_pool *p, struct output *o, uint64_t *lost)
{
	for (unsigned i = 0; i < o->n; i++) {
		struct writer *w = &o->w[i];
		for (uint32_t c = 0, n = atomic_load_explicit(&p->n_chunks, memory_order_relaxed); c < n; c++) {
			const struct render_chunk *ch = &p->chunks[c];
			size_t before = w->out.buf.len;
			sbuf_append(&w->out.buf, p->share[ch->thread].out[i].data + ch->off[i], ch->len[i]);
			if (!w->out.buf.oom)
				continue;
			w->out.buf.len = before; /* the chunk's records are lost to this writer, as adds that failed */
			w->out.buf.oom = false;
			for (uint32_t k = c * RENDER_CHUNK; k < chunk_end(p, c); k++)
				lost[i] += (p->e[k].mask >> i) & 1;
		}
		for (unsigned t = 0; t < p->n; t++) {
			lost[i] += p->share[t].lost[i];
			p->share[t].lost[i] = 0;
			sbuf_reset(&p->share[t].out[i]);
		}
	}
}

/* Room for n chunks. Returns 0 or -ENOMEM. */
static int chunks_room(struct render_pool *p, uint32_t n)
{
	if (n <= p->cap_chunks)
		return 0;
	struct render_chunk *c = realloc(p->chunks, (size_t)n * sizeof *c);
	if (!c)
		return -ENOMEM;
	p->chunks = c;
	p->cap_chunks = n;
	return 0;
}

void render_run(struct render_pool *p, struct output *o, uint64_t *lost)
{
	if (!p->n_e)
		return;
	uint32_t n = (p->n_e + RENDER_CHUNK - 1) / RENDER_CHUNK;
	if (chunks_room(p, n) < 0) { /* cannot hand out: every record lost */
		for (uint32_t k = 0; k < p->n_e; k++)
			for (uint32_t m = p->e[k].mask; m; m &= m - 1)
				lost[__builtin_ctz(m)]++;
		p->n_e = 0;
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->o = o;
	atomic_store_explicit(&p->n_chunks, n, memory_order_relaxed);
	atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
	p->gen++;
	/* release: the job (entries, chunks, o) before any claim of this cycle */
	atomic_store_explicit(&p->claim, (p->gen & 0xffffffffu) << 32, memory_order_release);
	uint64_t gen = p->gen;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	render_claims(p, &p->share[0], gen);
	pthread_mutex_lock(&p->mu);
	/* acquire: pairs with each chunk's release; a helper is waited for only mid-chunk */
	while (atomic_load_explicit(&p->finished, memory_order_acquire) < n)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	gather_chunks(p, o, lost);
	p->n_e = 0;
	for (struct render_block *b = p->blocks; b; b = b->next)
		b->used = 0;
}

void render_stop(struct render_pool *p)
{
	if (p->n > 1) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->go);
		pthread_mutex_unlock(&p->mu);
		for (unsigned t = 1; t < p->n; t++)
			pthread_join(p->tid[t], NULL);
	}
	for (unsigned t = 0; t < RENDER_THREADS_MAX; t++) {
		for (unsigned i = 0; i < CONFIG_MAX_WRITERS; i++)
			sbuf_free(&p->share[t].out[i]);
		sbuf_free(&p->share[t].raw);
	}
	while (p->blocks) {
		struct render_block *b = p->blocks;
		p->blocks = b->next;
		free(b);
	}
	free(p->e);
	free(p->chunks);
	if (p->n)
		pthread_mutex_destroy(&p->mu), pthread_cond_destroy(&p->go), pthread_cond_destroy(&p->done);
	p->n = 0;
	p->e = NULL;
	p->chunks = NULL;
}

void render_gauge_init(struct render_gauge *g)
{
	*g = (struct render_gauge){.gap = 1, .wait = 1}; /* a window without the helpers first */
}

/* Mode m's window is measured: note it, and choose what the windows to come measure (render.h). */
static void gauge_window(struct render_gauge *g, bool m)
{
	g->per_record[m] = (double)g->ns[m] / (double)g->records[m];
	g->ns[m] = g->records[m] = 0;
	g->cycles[m] = 0;
	if (m == g->helpers) { /* the chosen mode: the other is measured when its wait is over */
		if (g->wait)
			g->wait--;
		return;
	}
	/* the other mode measured: keep the faster one, by RENDER_GAUGE_GAIN for the helpers */
	bool helpers = g->per_record[0] > 0 && g->per_record[1] > 0 &&
		       g->per_record[1] < g->per_record[0] * RENDER_GAUGE_GAIN;
	if (helpers == g->helpers) { /* longer, and long enough that measuring the slower mode costs little */
		double gap = g->gap * 2.0, chosen = g->per_record[helpers];
		double regret = chosen > 0 ? (g->per_record[!helpers] / chosen - 1) / RENDER_GAUGE_REGRET + 1 : 0;
		gap = regret > gap ? regret : gap;
		g->gap = gap < RENDER_GAUGE_GAP_MAX ? (uint32_t)gap : RENDER_GAUGE_GAP_MAX;
	} else {
		g->gap = 1;
	}
	g->helpers = helpers;
	g->wait = g->gap;
}

/* Whether mode m, the one not chosen, has been measured for RENDER_GAUGE_PROBE cycles and found clearly slower. */
static bool clearly_slower(const struct render_gauge *g, bool m)
{
	double chosen = g->per_record[!m];
	return m != g->helpers && g->cycles[m] == RENDER_GAUGE_PROBE && chosen > 0 &&
	       (double)g->ns[m] > (double)g->records[m] * chosen * RENDER_GAUGE_PROBE_SLOWER;
}

bool render_gauge_cycle(struct render_gauge *g, uint64_t records, uint64_t ns, bool behind)
{
	bool ran = g->next;
	if (behind && records >= RENDER_GAUGE_MIN_RECORDS) {
		g->ns[ran] += ns;
		g->records[ran] += records;
		if (++g->cycles[ran] == RENDER_GAUGE_WINDOW || clearly_slower(g, ran))
			gauge_window(g, ran);
	}
	/* behind: the chosen mode, or the other once the chosen one's wait is over */
	g->next = behind && (g->wait ? g->helpers : !g->helpers);
	return g->next;
}
