/*
 * cli.h — what the `shmlog` tool's commands share (tools/shmlog.c defines
 * it): one-line messages, misuse with the usage, the buffered output, and
 * finding segments and whether their producer still runs.
 */
#ifndef SHMLOG_TOOLS_CLI_H
#define SHMLOG_TOOLS_CLI_H

#include <dirent.h>
#include <stdbool.h>

#include "shared/sbuf.h"
#include "shared/segment.h"

#define EXIT_MISUSE 2

/* Print "shmlog: <message>" as one line on stderr. Returns nothing. */
void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "shmlog CMD: <message>" and usage on stderr. Returns EXIT_MISUSE. */
int misuse(const char *usage, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Report getopt's answer c ('?' unknown option, ':' missing argument) as a misuse. Returns EXIT_MISUSE. */
int option_misuse(const char *usage, const char *cmd, int c, char **argv);

/* Where formatted lines go: a buffer written out to fd when it grows. */
struct out {
	int fd;
	const char *name; /* for messages: the file, or "standard output" */
	struct sbuf buf;
	int err;          /* first write error (-errno), 0 if none */
};

/* Write o's buffer out (reporting the first failure, kept in o->err). Returns 0 or o->err. */
int out_flush(struct out *o);

enum proc_state {
	PROC_ALIVE,
	PROC_DEAD,   /* no such process, or a zombie that will never write again */
	PROC_REUSED, /* the pid belongs to a process started at another time */
};

/* Whether the producer of s still runs. Returns a PROC_* value. */
enum proc_state proc_state(const struct seg *s);

/* Whether the producer closed its logger (nothing more will be written). Returns that. */
bool seg_closed(const struct seg *s);

/* The segment files in dir, sorted by name (free with free_names). Returns the count or -errno (reported). */
int list_segments(const char *dir, struct dirent ***names);

/* The segment directory when none is given: $SHMLOG_DIR, else the default. Returns it. */
const char *default_dir(void);

/* Free what list_segments() returned. Returns nothing. */
void free_names(struct dirent **names, int n);

/* shmlog tail (tools/tail.c). Returns the exit status. */
int cmd_tail(int argc, char **argv);
extern const char usage_tail[];

#endif
