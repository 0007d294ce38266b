/*
 * ledger.c — the batch ledger: which ring positions each cycle's records
 * came from, and when every writer is done with them.
 *
 * A cycle's records are handed to the writers (output.c) and the cycle's
 * new ring positions queued as a batch, together with the count of records
 * each writer had been given by then (output_marks). Batches are delivered
 * in order: once every writer is done up to a batch's marks
 * (output_reached), its positions are published as the rings' consumed
 * heads and waiting producers are woken. A collector killed before that
 * reads the undelivered batches again at its next start: the batches in
 * flight, and those a skipping writer has not read again yet (replay.c). Durability (sync_req/synced)
 * is published here too, after every writer synced.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collector.h"
#include "../shared/ring.h"

/* Wake producers sleeping on rh (flush, block policy, sync). */
static void wake_waiters(struct shmlog_ring_header *rh)
{
	/* seq_cst: ordered against the head/synced store before it and the
	 * producer's waiters increment (shmlog__wait_pos) */
	if (atomic_load_explicit(&rh->waiters, memory_order_seq_cst)) {
		atomic_fetch_add_explicit(&rh->wake_seq, 1, memory_order_seq_cst);
		syscall(SYS_futex, &rh->wake_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
}

static void free_notices(struct kept_notice *k)
{
	while (k) {
		struct kept_notice *next = k->next;
		free(k);
		k = next;
	}
}

/* Copy n bytes of s to *p and return where they went; *p moves past them. */
static const char *keep_text(char **p, const char *s, size_t n)
{
	const char *at = *p;
	if (n)
		memcpy(*p, s, n);
	*p += n;
	return at;
}

/*
 * Keep notice tr (no fields: notices have none) for writers, which skip live
 * records, with the batch this cycle makes. When memory runs out it is lost
 * for them, and said so. Returns nothing.
 */
void ledger_keep_notice(struct collector *c, const struct text_record *tr, uint32_t writers)
{
	size_t name = tr->name ? tr->name_len : 0, msg;
	const char *text = text_record_msg(tr, &msg);
	size_t file = tr->file ? tr->file_len : 0;
	struct kept_notice *k = malloc(sizeof *k + name + msg + file);
	if (!k) {
		collector_warn("out of memory: a notice is lost for writers that could not take it");
		return;
	}
	char *p = k->text;
	k->next = NULL;
	k->writers = writers;
	k->tr = *tr;
	k->tr.name = keep_text(&p, tr->name, name);
	k->tr.msg = keep_text(&p, text, msg);
	k->tr.msg_len = msg;
	k->tr.lazy = NULL;
	k->tr.file = tr->file ? keep_text(&p, tr->file, file) : NULL;
	k->tr.fields = NULL;
	k->tr.n_fields = 0;
	if (!c->kept_tail)
		c->kept_tail = &c->kept;
	*c->kept_tail = k;
	c->kept_tail = &k->next;
}

/*
 * Have a batch ready for the next cycle's positions, one entry per ring
 * attached: it is allocated before the cycle reads, since records handed to
 * the writers must be queued. Returns false when out of memory (the cycle
 * then reads nothing).
 */
bool ledger_reserve(struct collector *c)
{
	uint32_t rings = 0;
	for (unsigned si = 0; si < c->n_segs; si++)
		rings += c->segs[si]->seg.ring_count;
	if (c->spare && c->spare_cap >= rings)
		return true;
	free(c->spare);
	c->spare = malloc(sizeof *c->spare + rings * sizeof c->spare->p[0]);
	c->spare_cap = c->spare ? rings : 0;
	return c->spare != NULL;
}

/* Queue this cycle's ring positions as a batch ending at the records the writers have been given
 * (in the batch ledger_reserve made ready). */
void ledger_push(struct collector *c)
{
	uint32_t moved = 0;
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		READER_FOR_RINGS(&s->rd, i) /* the reader moves no other ring */
			moved += s->rd.rings[i].new_read != s->rd.rings[i].read;
	}
	if ((!moved && !c->kept) || !c->spare)
		return;
	struct batch *b = c->spare;
	c->spare = NULL;
	b->next = NULL;
	b->n = 0;
	b->skipped = c->out.skipping;
	b->calib = c->calib;
	b->notices = c->kept;
	c->kept = NULL;
	c->kept_tail = &c->kept;
	output_marks(&c->out, b->mark);
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		bool any = false;
		READER_FOR_RINGS(&s->rd, i) {
			struct reader_ring *cr = &s->rd.rings[i];
			if (cr->new_read == cr->read)
				continue;
			b->p[b->n++] = (struct batch_pos){s, i, cr->read, cr->new_read, cr->lost_reported,
							  cr->records_consumed};
			cr->read = cr->new_read;
			any = true;
		}
		s->pending += any;
	}
	if (c->bq_tail)
		c->bq_tail->next = b;
	else
		c->bq_head = b;
	c->bq_tail = b;
}

/* Pop delivered batches: their positions become the rings' consumed heads. */
void ledger_pop(struct collector *c)
{
	while (c->bq_head && !c->bq_head->skipped && output_reached(&c->out, c->bq_head->mark)) {
		struct batch *b = c->bq_head;
		struct cseg *last = NULL;
		for (uint32_t k = 0; k < b->n; k++) {
			struct batch_pos *p = &b->p[k];
			p->s->rd.rings[p->ring].pos = p->pos;
			if (!p->s->rd.rejected) {
				struct shmlog_ring_header *rh = seg_ring(&p->s->seg, p->ring);
				/* counters first: a collector that restarts reads them with head,
				 * so a loss reported in an undelivered batch is not counted twice;
				 * `shmlog tail` reads the three as one (head_seq). head is stored
				 * seq_cst: ordered against the waiters load in wake_waiters */
				ring_publish_head(rh, p->pos, p->lost_reported, p->records_consumed);
				wake_waiters(rh);
			}
			if (p->s != last)
				p->s->pending--;
			last = p->s;
		}
		c->bq_head = b->next;
		if (!c->bq_head)
			c->bq_tail = NULL;
		free_notices(b->notices);
		free(b);
	}
}

void ledger_forget(struct collector *c)
{
	while (c->bq_head) {
		struct batch *b = c->bq_head;
		c->bq_head = b->next;
		free_notices(b->notices);
		free(b);
	}
	c->bq_tail = NULL;
	free_notices(c->kept);
	c->kept = NULL;
	c->kept_tail = &c->kept;
	free(c->spare);
	c->spare = NULL;
	c->spare_cap = 0;
	for (unsigned si = 0; si < c->n_segs; si++)
		c->segs[si]->pending = 0;
}

/*
 * A sync is wanted where a producer asks for more than is synced and there
 * is more consumed than synced: what is not consumed yet cannot be synced,
 * so a sync_req beyond the ring's records (never met) costs one sync, not
 * one per poll.
 */
bool ledger_sync_wanted(const struct collector *c)
{
	for (unsigned si = 0; si < c->n_segs; si++) {
		const struct cseg *s = c->segs[si];
		if (s->rd.rejected)
			continue;
		READER_FOR_RINGS(&s->rd, i) { /* only a thread's own ring asks for sync: one in use */
			struct shmlog_ring_header *rh = seg_ring(&s->seg, i);
			uint64_t synced = atomic_load_explicit(&rh->synced, memory_order_relaxed);
			if (atomic_load_explicit(&rh->sync_req, memory_order_seq_cst) > synced &&
			    s->rd.rings[i].pos > synced)
				return true;
		}
	}
	return false;
}

/*
 * If a producer waits for durability (sync_req beyond synced), sync every
 * writer and publish synced = consumed for every ring: everything consumed
 * has been written, and is now on disk.
 */
void ledger_publish_synced(struct collector *c)
{
	if (!ledger_sync_wanted(c))
		return;
	if (output_sync(&c->out) < 0)
		return; /* not durable: nobody is told it is */
	for (unsigned si = 0; si < c->n_segs; si++) {
		struct cseg *s = c->segs[si];
		if (s->rd.rejected)
			continue;
		READER_FOR_RINGS(&s->rd, i) {
			struct shmlog_ring_header *rh = seg_ring(&s->seg, i);
			if (atomic_load_explicit(&rh->synced, memory_order_relaxed) >= s->rd.rings[i].pos)
				continue;
			atomic_store_explicit(&rh->synced, s->rd.rings[i].pos, memory_order_seq_cst);
			wake_waiters(rh);
		}
	}
}

