/*
 * cli.h — what the `shmlog` tool's command files share (tools/shmlog.c):
 * one-line complaints, misuse with the usage, and the buffered output.
 * Exit status: 0 success, 1 an error, EXIT_MISUSE misuse.
 */
#ifndef SHMLOG_TOOLS_CLI_H
#define SHMLOG_TOOLS_CLI_H

#include "shared/sbuf.h"

#define EXIT_MISUSE 2

/* Where formatted lines go: a buffer written out to fd when it grows. */
struct out {
	int fd;
	const char *name; /* for messages: the file, or "standard output" */
	struct sbuf buf;
	int err;          /* first write error (-errno), 0 if none */
};

/* Print "shmlog: <message>" as one line on stderr, escaped: it may name hostile files. */
void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a misuse of cmd (one line), print its usage on stderr. Returns EXIT_MISUSE. */
int misuse(const char *usage, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Report getopt's answer c ('?' unknown option, ':' missing argument) as a misuse. Returns EXIT_MISUSE. */
int option_misuse(const char *usage, const char *cmd, int c, char **argv);

/* Write everything buffered to o->fd (once o->err is set, nothing more). Returns 0 or o->err. */
int out_flush(struct out *o);

/* shmlog decode (tools/decode.c). */
extern const char usage_decode[];
int cmd_decode(int argc, char **argv);

#endif
