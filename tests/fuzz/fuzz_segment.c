/*
 * fuzz_segment.c — the segment reader, from a file's bytes.
 *
 * The input is a segment file. It is written to a file of the harness's own
 * and read the way `shmlog read` and the collector read one: seg_open()
 * validates it, the shared reader (shared/reader.c) walks every ring and
 * merges them, and every record and notice is rendered as text (plain and in
 * colour) and as JSON by text_append(). Each text line must be one line with
 * every control byte escaped, each JSON line one valid JSON value, whatever
 * the file holds.
 *
 * So that mutations of a valid segment stay readable, the file is made as
 * long as its header's segment_bytes says (cut, or zeros past the input),
 * up to FUZZ_SEGMENT_MAX: a compacted real segment (make_seeds.sh) then
 * needs only its non-zero bytes. A header out of that range keeps the input's
 * length, and "truncated or resized" is still reached. Input bytes past the
 * segment say how the reader reads (take_how): records per cycle, whether a
 * damaged ring drops the segment, whether the producer is alive (the merge
 * window then applies, at a "now" of the input's choosing). Whatever the
 * segment holds, a cycle that leaves records to read emits some (issue 17's
 * forward progress).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shared/reader.h"
#include "shared/segment.h"
#include "shared/text.h"

#define FUZZ_SEGMENT_MAX (4u << 20)
#define FUZZ_SEGMENT_CYCLES 64 /* reader cycles per input, at most: records come in bounded batches */

static char seg_path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(seg_path, sizeof seg_path, "%s/fuzz.shm", fz_dir());
	fz_check(seg_guard_install() == 0, "seg_guard_install");
	return 0;
}

/* How the reader reads, from the input's bytes past the segment (see the file comment). */
struct how {
	uint32_t max_records; /* per cycle */
	bool drop;            /* the rejection handler drops a damaged ring's segment */
	bool alive;           /* the producer runs: the merge window applies */
	uint64_t now_ns, window_ns;
	struct sbuf line;     /* where each line is rendered */
};

/* reader_record_fn: every record and notice, rendered and checked. */
static void on_record(void *clientd, struct reader_seg *rs, const struct seg_rec *rec, const struct text_record *tr)
{
	(void)rs;
	(void)rec;
	struct how *h = clientd;
	fz_check_lines(&h->line, tr);
}

static enum reader_action on_reject(void *clientd, struct reader_seg *rs, uint32_t ring, const char *why)
{
	(void)rs;
	(void)ring;
	struct how *h = clientd;
	fz_check(why && *why && !strchr(why, '\n'), "a rejection is one line");
	return h->drop ? READER_DROP : READER_KEEP;
}

/* The file's length: as its header says, when that is in range (see the file comment). */
static size_t file_size(const uint8_t *data, size_t size)
{
	uint64_t want = 0;
	if (size >= offsetof(struct shmlog_seg_header, segment_bytes) + 8)
		memcpy(&want, data + offsetof(struct shmlog_seg_header, segment_bytes), 8);
	return want >= SHMLOG_SEG_HEADER_BYTES && want <= FUZZ_SEGMENT_MAX ? (size_t)want : size;
}

/* What the bytes past the segment ask for; none: as `shmlog read` reads. */
static void take_how(struct how *h, const uint8_t *p, size_t n)
{
	struct fz in = {p, n};
	uint8_t flags = fz_u8(&in);
	uint32_t max = (uint32_t)fz_uint(&in, 2);
	*h = (struct how){.max_records = max ? max : 512, .drop = flags & 1, .alive = flags & 2};
	h->now_ns = fz_uint(&in, 8);
	h->window_ns = fz_uint(&in, 4);
}

/* Read s through the shared reader until it has nothing more to give now, as `shmlog read` does. */
static void read_all(struct seg *s, struct how *h)
{
	struct clock_calib cal;
	seg_clock(s, &cal);
	struct reader_seg rs = {0};
	if (reader_seg_init(&rs, s, &cal) < 0)
		return;
	rs.gone = !h->alive; /* a dead producer: everything is read, and the end noticed */
	struct reader rd;
	reader_init(&rd, on_record, on_reject, h);
	struct reader_seg *list[1] = {&rs};
	struct reader_params p = {.max_records = h->max_records, .deadline_ns = UINT64_MAX, .final = !h->alive,
				  .now_ns = h->now_ns, .window_ns = h->window_ns};
	struct reader_result res;
	long n;
	int cycles = 0;
	do {
		n = reader_cycle(&rd, list, 1, &p, &res);
		reader_seg_take(&rs);
		/* forward progress (issue 17): a cycle that leaves records to read now emits some */
		fz_check(n != 0 || !res.more, "a cycle left records to read and emitted none");
	} while (n > 0 && ++cycles < FUZZ_SEGMENT_CYCLES);
	fz_check(n >= 0, "reader_cycle: %ld", n);
	reader_free(&rd);
	reader_seg_free(&rs);
	sbuf_free(&h->line);
}

/* What `shmlog stat` looks at: every ring's positions and record count. */
static void count_rings(const struct seg *s)
{
	for (uint32_t i = 0; i < s->ring_count; i++) {
		uint64_t head, tail;
		const char *why = NULL;
		if (seg_ring_positions(s, i, &head, &tail, &why)) {
			long long c = seg_ring_count(s, i, head, tail, &why);
			fz_check(c >= 0 || (why && *why), "a corrupt ring says why");
		} else {
			fz_check(why && *why, "bad positions say why");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_SEGMENT_MAX)
		return 0;
	size_t len = file_size(data, size);
	fz_check(fz_write_file(seg_path, data, size < len ? size : len, (off_t)len) == 0, "cannot write %s", seg_path);
	struct seg s;
	char err[PATH_MAX + 256] = "";
	int rc = seg_open(&s, seg_path, false, err, sizeof err);
	if (rc < 0) {
		fz_check(err[0] && !strchr(err, '\n'), "a refused segment gets one line, got [%s]", err);
		return 0;
	}
	struct how h;
	take_how(&h, data + (size < len ? size : len), size > len ? size - len : 0);
	count_rings(&s);
	read_all(&s, &h);
	seg_close(&s);
	return 0;
}
