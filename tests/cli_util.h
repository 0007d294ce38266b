/*
 * cli_util.h — what the tests of the `shmlog` tool (test_cli_*.c) share: a
 * segment directory per test, real producers that log known records and end
 * as a test asks (exit, SIGKILL, or stay alive), writable mappings of their
 * segments for damaging or consuming them, running the built tool, and
 * checking its text and JSON output against the records that were logged.
 */
#ifndef SHMLOG_CLI_UTIL_H
#define SHMLOG_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/abi.h"

#define NAME "clitest"
#define WAIT_MS 20000

extern char *dir;  /* segment directory of the test */
extern char *work; /* tool outputs */
extern char *bin;  /* the shmlog tool */

/* Make dir and work, find bin; the suite's .init. */
void setup(void);
/* Remove dir and work; the suite's .fini. */
void teardown(void);

/* ------------------------------------------------------------- producers */

enum ending {
	END_EXIT,   /* _exit(0) without shmlog_close, threads joined */
	END_KILL,   /* SIGKILL while the logging threads still exist */
	END_HOLD,   /* stay alive, logger open, until released */
	END_CLOSE_HOLD, /* shmlog_close, then stay alive until released */
};

struct prod {
	pid_t pid;
	int ready;   /* read end: one byte once everything is logged */
	int release; /* write end: closing it lets a holding child exit */
};

/* Fork a producer logging n records from each of threads threads into dir, ending as end says. */
struct prod start_producer(int threads, int n, enum ending end, uint32_t ring_bytes);
/* Let a holding producer exit and reap it. */
void prod_release(struct prod *p);
/* Path of the segment of process pid in dir (malloc'd). */
char *segment_of(pid_t pid);

/* ------------------------------------------------------- segment surgery */

struct mapped {
	uint8_t *base;
	size_t len;
};

/* Map the whole segment file at path shared and writable. */
struct mapped map_rw(const char *path);
/* Undo map_rw. */
void unmap(struct mapped *m);
/* The segment header of a mapping. */
struct shmlog_seg_header *hdr_of(struct mapped *m);
/* The header of ring i. */
struct shmlog_ring_header *ring_of(struct mapped *m, uint32_t i);
/* The first data byte of ring i. */
uint8_t *ring_data(struct mapped *m, uint32_t i);
/* The only ring holding records (single-threaded producers). */
uint32_t used_ring(struct mapped *m);
/* Position of the k-th record of ring i (no wrap in the first lap). */
uint64_t record_pos(struct mapped *m, uint32_t i, int k);

/* ------------------------------------------------------------ the tool */

struct result {
	int status; /* exit status, 128 + signal if killed */
	char *out, *err;
	int ended; /* "[shmlog] process N ..." notices, taken out of out */
};

/* Take the "[shmlog] process ..." lines out of text (in place); returns how many there were. */
int take_end_notices(char *text);
/* Free what a run of the tool collected. */
void result_free(struct result *r);
/* Run shmlog with the NULL-terminated arguments, wait (bounded), collect stdout and stderr. */
struct result run_tool_argv(const char *const *args);
#define run_tool(...) run_tool_argv((const char *const[]){__VA_ARGS__, NULL})
/* The number of LFs in s. */
int count_lines(const char *s);

/* ------------------------------------------------------ checking output */

struct line {
	char ts[31];
	char level[16];
	unsigned pid, tid;
	const char *msg; /* into a copy of the line */
	bool consumed;
};

/* Parse one text line ("TS LEVEL NAME[PID/TID]: MSG"), NUL-terminated without its LF. */
void parse_text_line(char *l, struct line *pl);
/* Check msg is exactly record (t, i) of a thread with tid; returns t * n + i through *idx. */
void check_message(const struct line *pl, int threads, int n, int *idx);
/* Check out holds every record of producer pid (threads x n) once, exact, in timestamp order, and nothing else. */
void check_all_records(const char *out, pid_t pid, int threads, int n);

/* A field of one of the tool's flat JSON objects. */
struct jfield {
	char key[16];
	char val[512]; /* decoded string, or the literal */
	bool is_str;
};

/* Turn a JSON line into a struct line (tid, level, msg, consumed) after checking its fields. */
void parse_json_line(const char *l, pid_t pid, struct jfield *f, struct line *pl);

#endif
