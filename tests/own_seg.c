/*
 * own_seg.c — see own_seg.h.
 */
#include "own_seg.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "shared/text.h"

char *own_dir;
struct shmlog *own_lg;
struct seg own_seg;
uint64_t own_pos;
static struct sbuf msg, line;

void own_open(struct shmlog_options o)
{
	if (!own_dir)
		own_dir = th_mkdtemp(true);
	o.dir = own_dir;
	cr_assert_eq(shmlog_open(&own_lg, &o), 0);
	char err[256];
	cr_assert_eq(seg_open(&own_seg, shmlog_segment_path(own_lg), false, err, sizeof err), 0, "%s", err);
	own_pos = 0;
}

void own_close(bool keep_dir)
{
	sbuf_free(&msg);
	sbuf_free(&line);
	seg_close(&own_seg);
	shmlog_close(own_lg);
	own_lg = NULL;
	if (!keep_dir) {
		th_rmrf(own_dir);
		free(own_dir);
		own_dir = NULL;
	}
}

int own_records_left(void)
{
	uint64_t head, tail, pos = own_pos;
	const char *why = NULL;
	cr_assert(seg_ring_positions(&own_seg, 0, &head, &tail, &why), "%s", why);
	int n = 0;
	struct seg_rec r;
	for (; seg_ring_next(&own_seg, 0, &pos, tail, &r, &why) == 1; n++)
		pos += r.size;
	return n;
}

const char *own_next_text(void)
{
	uint64_t head, tail;
	const char *why = NULL;
	cr_assert(seg_ring_positions(&own_seg, 0, &head, &tail, &why), "%s", why);
	struct seg_rec r;
	cr_assert_eq(seg_ring_next(&own_seg, 0, &own_pos, tail, &r, &why), 1, "no record: %s", why ? why : "");
	own_pos += r.size;
	struct text_record tr;
	struct seg_space sp;
	seg_render(&own_seg, 0, &r, 0, &msg, &tr, &sp);
	sbuf_reset(&line);
	text_append(&line, &tr, TEXT_FORMAT_TEXT, false);
	line.data[line.len - 1] = 0;
	const char *level = strchr(line.data, ' ');
	cr_assert(level, "%s", line.data);
	return level + 1;
}
