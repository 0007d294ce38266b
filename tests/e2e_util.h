/*
 * e2e_util.h — what the end-to-end tests share: a segment directory and an
 * output directory per test, running the collector and the test producer,
 * and checking the records that come out.
 */
#ifndef SHMLOG_E2E_UTIL_H
#define SHMLOG_E2E_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

extern char *dir;  /* segment directory of the test */
extern char *work; /* where outputs go */

void setup(void);
void teardown(void);
/* A malloc'd path inside work. */
char *wpath(const char *name);
/* Write a collector config (printf-style text) to work/c.cfg; returns its malloc'd path. */
char *wconfig(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start the collector on dir, stdout to out, stderr to err, with up to two more arguments. */
pid_t start_collector(const char *out, const char *err, const char *a1, const char *a2);
/* Start argv (a collector, perhaps behind a wrapper that execs it) as start_collector does. */
pid_t start_collector_argv(char *const argv[], const char *out, const char *err);
/* How many times needle occurs in the file at path (0 if it cannot be read). */
int count_in_file(const char *path, const char *needle);
/* SIGTERM the collector and assert it exits 0 within 30 s. */
void stop_collector(pid_t p);
/* Start tests/producer_prog with args (NULL-terminated); returns its pid. */
pid_t spawn_producer(const char *out, char *const args[], char *const env[]);
/* Run tests/producer_prog with args (NULL-terminated) and wait; returns its wait status. */
int run_producer(const char *out, char *const args[], char *const env[]);

struct parsed_line {
	char level[16];
	char name[64];
	int pid, tid;
	const char *msg;
};
/* Split "TS LEVEL NAME[PID/TID]: MSG" (line is modified). */
bool parse_line(char *line, struct parsed_line *pl);

struct tally {
	int threads;
	long records;
	long *last;  /* per thread: last i seen */
	long seen;   /* records seen */
	long lost;   /* sum of "N records lost" */
	long debug;  /* debug records seen */
	long ended;  /* "[shmlog] process ..." notices */
	long other;  /* lines that are none of the above, when allow_other */
	bool allow_other;
	int pid;     /* only lines of this pid (0: any) */
};
/* Check every record line of out: exact text, INFO, per-thread order, no duplicates. */
void tally_output(const char *out, struct tally *ty);
/* tally_output, and assert that path holds every record of threads x records exactly once. */
void assert_every_record(const char *path, int threads, long records);
/* For th_wait_until: a file and a size in bytes (file_has_bytes) or a line count (file_has_lines). */
struct file_wait {
	const char *path;
	long n;
};
bool file_has_bytes(void *arg);
bool file_has_lines(void *arg);
/* For th_wait_until: the file at path holds needle. */
struct file_needle {
	const char *path, *needle;
};
bool file_says(void *arg);

/* For th_wait_until: path is a directory. */
bool is_dir(void *path);

/* Segment files in dir. */
int count_segments(void);
bool no_segments(void *arg);

/*
 * With the disk of filler's file system filled (th_fill_disk), start a collector on cfg
 * (stderr to err) and log 2 threads x 2000 records (output to pout); assert that the full disk
 * is reported and nothing consumed; free the space; assert that the writers catch up by
 * themselves. Returns the collector, still running.
 */
pid_t full_disk_then_space(const char *cfg, const char *err, const char *filler, const char *pout);
/* Run the real logrotate -s STATE -f on app with the directives given; assert that it succeeds. */
void run_logrotate(const char *app, const char *directives);
/* A collector on cfg, and a paced producer (2 threads x 40000 records over about 2 s, its output to pout):
 * once app holds 64 KiB, logrotate with directives (and a postrotate that sends the collector SIGHUP, if
 * hup) while the producer still logs; then wait for both and stop the collector. */
void logrotate_while_logging(const char *cfg, const char *app, const char *directives, bool hup, const char *pout);

/*
 * Start a collector on cfg and a producer (2 threads x 40000 paced records, output to pout);
 * once ref holds 1000 lines, rename path to moved and SIGHUP the collector; wait until every
 * segment is drained and stop the collector. Returns nothing.
 */
void rename_and_sighup_under_load(const char *cfg, const char *ref, const char *path, const char *moved,
				  const char *pout);

#endif
