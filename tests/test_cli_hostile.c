/*
 * test_cli_hostile.c — `shmlog read`, `stat` and `recover` against hostile
 * files beside a real segment: a FIFO named like a segment (an open without
 * O_NONBLOCK would wait forever), and a segment truncated again and again
 * while `stat` reads it (SIGBUS). Each run ends in bounded time, says what
 * is wrong in one line, exits non-zero, and still handles the real segment.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "helpers.h"

TestSuite(cli_hostile, .init = setup, .fini = teardown, .timeout = 120);

/* A FIFO dir/fifo.shm beside a dead producer's segment of 5 records; returns the FIFO's malloc'd path. */
static char *fifo_beside_a_segment(struct prod *p)
{
	*p = start_producer(1, 5, END_EXIT, 64 * 1024);
	char *fifo;
	cr_assert(asprintf(&fifo, "%s/fifo.shm", dir) > 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	return fifo;
}

/* r failed with lines lines on stderr, one about the FIFO not being a regular file. */
static void refused_the_fifo(const struct result *r, int lines)
{
	cr_assert_eq(r->status, 1, "status %d: %s", r->status, r->err);
	cr_assert_eq(count_lines(r->err), lines, "%s", r->err);
	cr_assert(strstr(r->err, "fifo.shm") && strstr(r->err, "not a regular file"), "%s", r->err);
}

Test(cli_hostile, read_refuses_a_fifo_without_blocking_and_reads_the_next_file)
{
	struct prod p;
	char *fifo = fifo_beside_a_segment(&p), *seg = segment_of(p.pid);
	struct result r = run_tool("read", fifo, seg);
	refused_the_fifo(&r, 1);
	take_end_notices(r.out);
	cr_assert_eq(count_lines(r.out), 5, "the real segment's records: %s", r.out);
	result_free(&r);
	free(seg);
	free(fifo);
}

Test(cli_hostile, stat_refuses_a_fifo_without_blocking_and_lists_the_rest)
{
	struct prod p;
	char *fifo = fifo_beside_a_segment(&p), *seg = segment_of(p.pid);
	struct result r = run_tool("stat", dir);
	refused_the_fifo(&r, 1);
	cr_assert(strstr(r.out, seg), "the real segment is listed: %s", r.out);
	result_free(&r);
	free(seg);
	free(fifo);
}

Test(cli_hostile, recover_refuses_a_fifo_without_blocking_and_recovers_the_rest)
{
	struct prod p;
	char *fifo = fifo_beside_a_segment(&p);
	struct result r = run_tool("recover", dir);
	refused_the_fifo(&r, 2); /* and one line about the segment it recovered */
	take_end_notices(r.out);
	cr_assert_eq(count_lines(r.out), 5, "the real segment's records: %s", r.out);
	result_free(&r);
	free(fifo);
}

struct truncator {
	const char *path;
	atomic_bool stop;
	off_t size;
};

/* Shrink the file to nothing and grow it back, again and again, until told to stop. */
static void *truncate_loop(void *arg)
{
	struct truncator *t = arg;
	while (!atomic_load(&t->stop)) {
		truncate(t->path, 0);
		truncate(t->path, t->size);
	}
	return NULL;
}

Test(cli_hostile, stat_survives_a_segment_truncated_while_it_reads)
{
	struct prod p = start_producer(2, 200, END_HOLD, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct stat sb;
	cr_assert_eq(stat(seg, &sb), 0);
	struct truncator t = {.path = seg, .size = sb.st_size};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, truncate_loop, &t), 0);
	int signalled = 0;
	for (int k = 0; k < 100; k++) {
		struct result r = run_tool("stat", dir);
		signalled += r.status >= 128;
		result_free(&r);
	}
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(signalled, 0, "%d of 100 runs died of a signal", signalled);
	prod_release(&p);
	free(seg);
}

Test(cli_hostile, stat_and_errors_escape_logger_and_file_names)
{
	struct prod p = start_producer(1, 5, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	memcpy(hdr_of(&m)->name, "ev\x1b[2Jil", 9); /* clears the screen of whoever runs stat */
	unmap(&m);
	char *fifo;
	cr_assert(asprintf(&fifo, "%s/a\nshmlog: FORGED.shm", dir) > 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	struct result r = run_tool("stat", dir);
	cr_assert_null(memchr(r.out, 0x1b, strlen(r.out)), "no ESC reaches the terminal: %s", r.out);
	cr_assert(strstr(r.out, "name ev\\x1b[2Jil"), "%s", r.out);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "a\\nshmlog: FORGED.shm"), "%s", r.err);
	result_free(&r);
	free(fifo);
	free(seg);
}

/* What read and tail (verb) print of a segment with one record of an unknown call site among 6. */
static void check_unknown_site(const char *verb, const char *seg)
{
	struct result r = run_tool(verb, seg);
	cr_assert_eq(r.status, 1, "%s: status %d", verb, r.status);
	take_end_notices(r.out);
	cr_assert_eq(count_lines(r.out), 6, "%s: every record is still printed: %s", verb, r.out);
	cr_assert(strstr(r.out, "unknown call-site id 7777"), "%s: %s", verb, r.out);
	cr_assert_eq(count_lines(r.err), 1, "%s: %s", verb, r.err);
	cr_assert(strstr(r.err, "1 records could not be read as logged"), "%s: %s", verb, r.err);
	result_free(&r);
}

Test(cli_hostile, read_and_tail_exit_non_zero_after_records_of_unknown_call_sites)
{
	struct prod p = start_producer(1, 6, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t ring = used_ring(&m);
	uint32_t bad_site = 7777; /* no such call site */
	memcpy(ring_data(&m, ring) + record_pos(&m, ring, 2) + 4, &bad_site, 4);
	unmap(&m);
	check_unknown_site("read", seg);
	check_unknown_site("tail", seg);
	free(seg);
}
