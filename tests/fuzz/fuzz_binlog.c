/*
 * fuzz_binlog.c — the binary-log decoder (shared/binlog.c), read the way
 * `shmlog decode` reads a file (tools/decode.c).
 *
 * The input is a binary log. It is decoded twice by binlog_next(): once
 * from the whole input, and once streamed as decode.c streams a file, the
 * bytes arriving in chunks (of 1 to 97 bytes, chosen by the input's length)
 * and each call seeing only the bytes so far, so that a unit is often cut
 * and must be asked for again. Every record is rendered as text and JSON by
 * text_append() and checked (fz_check_lines). Both readings must give the
 * same lines and stop at the same byte with the same verdict: the decoder
 * may not depend on where reads happen to end. At each unit the restart
 * search (binlog_restart_in) runs too, and must stay inside the bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shared/binlog.h"
#include "shared/text.h"

/* What one reading gave: the lines, where it stopped and why. */
struct reading {
	struct sbuf out;  /* every record's text and JSON lines */
	size_t stopped;   /* bytes decoded */
	long long status; /* the last binlog_next result: 0 (the end, or a torn tail) or -EPROTO */
	char err[256];
};

/* tr's line (checked) into r's output. */
static void put_line(struct reading *r, struct sbuf *line, const struct text_record *tr)
{
	fz_check_lines(line, tr);
	sbuf_append(&r->out, line->data, line->len);
}

/* Decode the units in data[at..avail) into r; with at moved past them. Returns false at an error. */
static bool decode_units(struct binlog_reader *rd, const uint8_t *data, size_t avail, size_t *at, struct reading *r,
			 struct sbuf *line)
{
	while (*at < avail) {
		struct text_record tr;
		bool is_record;
		size_t done;
		long long rs = binlog_restart_in(data + *at, avail - *at, 1, &done); /* the decoder asks it first */
		fz_check(rs >= -1 && rs < (long long)(avail - *at) && done <= avail - *at, "binlog_restart_in %lld (%zu)", rs,
			 done);
		long long n = binlog_next(rd, data + *at, avail - *at, &tr, &is_record);
		r->status = n;
		if (n < 0) {
			fz_check(n == -EPROTO && rd->err[0] && !strchr(rd->err, '\n'), "binlog_next %lld: [%s]", n, rd->err);
			snprintf(r->err, sizeof r->err, "%s", rd->err);
			return false;
		}
		if (n == 0)
			return true;
		fz_check((size_t)n <= avail - *at, "binlog_next took %lld of %zu bytes", n, avail - *at);
		if (is_record)
			put_line(r, line, &tr);
		while (!is_record && binlog_cycle_next(rd, &tr)) /* a CYCLE frame's records */
			put_line(r, line, &tr);
		*at += (size_t)n;
	}
	r->status = 0;
	return true;
}

/* Read data[0..size) arriving chunk bytes at a time, into r. */
static void decode(const uint8_t *data, size_t size, size_t chunk, struct reading *r)
{
	struct binlog_reader *rd = malloc(sizeof *rd);
	fz_check(rd != NULL, "out of memory");
	binlog_reader_init(rd);
	struct sbuf line = {0};
	size_t at = 0, avail = 0;
	while (avail < size) {
		avail = size - avail < chunk ? size : avail + chunk;
		if (!decode_units(rd, data, avail, &at, r, &line))
			break;
	}
	r->stopped = at;
	sbuf_free(&line);
	binlog_reader_free(rd);
	free(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of its own: ASan sees a read past the end of the input */
	uint8_t *copy = malloc(size ? size : 1);
	fz_check(copy != NULL, "out of memory");
	memcpy(copy, data, size);
	struct reading whole = {0}, streamed = {0};
	decode(copy, size, size ? size : 1, &whole);
	decode(copy, size, 1 + size % 97, &streamed);
	fz_check(whole.stopped == streamed.stopped && whole.status == streamed.status,
		 "whole: stopped at %zu (%lld, %s), streamed: at %zu (%lld, %s)", whole.stopped, whole.status, whole.err,
		 streamed.stopped, streamed.status, streamed.err);
	fz_check(whole.out.len == streamed.out.len &&
			 (whole.out.len == 0 || memcmp(whole.out.data, streamed.out.data, whole.out.len) == 0),
		 "the streamed reading printed other lines");
	sbuf_free(&whole.out);
	sbuf_free(&streamed.out);
	free(copy);
	return 0;
}
