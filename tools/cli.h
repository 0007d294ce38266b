/*
 * cli.h — what the `shmlog` tool's command files share (tools/shmlog.c):
 * one-line complaints, misuse with the usage, the buffered output, and
 * finding segments and whether their producer still runs.
 * Exit status: 0 success, 1 an error, EXIT_MISUSE misuse.
 */
#ifndef SHMLOG_TOOLS_CLI_H
#define SHMLOG_TOOLS_CLI_H

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "shared/sbuf.h"
#include "shared/segment.h"
#include "shared/text.h"

#define EXIT_MISUSE 2

/*
 * Whether rec could not be read as its producer meant it (an unknown call
 * site, a refused format, malformed arguments or fields, no memory for its
 * call site): its message says so, in the reader's "[shmlog: ...]" words.
 */
bool record_malformed(const struct seg_rec *rec, const struct text_record *tr);
/* Say that n records of the segment at path could not be read as logged: one line on stderr. */
void complain_malformed(const char *path, uint64_t n);

/* Where formatted lines go: a buffer written out to fd when it grows. */
struct out {
	int fd;
	const char *name; /* for messages: the file, or "standard output" */
	struct sbuf buf;
	int err;          /* first write error (-errno), 0 if none */
};

/* Print "shmlog: <message>" as one line on stderr, escaped: it may name hostile files. */
/* s escaped as message text is (shared/escape.h), into buf of 4 * strlen(s) + 1 bytes. Returns buf. */
const char *escaped(char *buf, const char *s);

void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a misuse of cmd (one line), print its usage on stderr. Returns EXIT_MISUSE. */
int misuse(const char *usage, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Report getopt's answer c ('?' unknown option, ':' missing argument) as a misuse. Returns EXIT_MISUSE. */
int option_misuse(const char *usage, const char *cmd, int c, char **argv);

/* Write everything buffered to o->fd (once o->err is set, nothing more). Returns 0 or o->err. */
int out_flush(struct out *o);

/*
 * Open path to read it (what: "the key", or NULL for a file to read) without blocking, and refuse it
 * unless it is a regular file whose size is what it holds: a FIFO, socket, device or directory, or a
 * kernel file that says 0 bytes (/proc), gets one line naming it. Its fstat into *st.
 * Returns the descriptor (blocking, close-on-exec), or -1 (said).
 */
int open_regular(const char *path, const char *what, struct stat *st);

enum proc_state {
	PROC_ALIVE,
	PROC_DEAD,   /* no such process, or a zombie that will never write again */
	PROC_REUSED, /* the pid belongs to a process started at another time */
	PROC_EXECD,  /* its process runs on, another program: it exec'd (its liveness lock is free) */
};

/* Whether the producer of s still runs. Returns a PROC_* value. */
enum proc_state proc_state(const struct seg *s);

/* The segment files in dir, sorted by name (free with free_names). Returns the count or -errno (reported). */
int list_segments(const char *dir, struct dirent ***names);

/* The segment directory when none is given: $SHMLOG_DIR, else the default. Returns it. */
const char *default_dir(void);

/* Free what list_segments() returned. Returns nothing. */
void free_names(struct dirent **names, int n);

/* shmlog decode (tools/decode.c). */
extern const char usage_decode[];
int cmd_decode(int argc, char **argv);

/* The binary log decoder, fed bytes (tools/decode.c): for shmlog decrypt. */
struct dec;
/* A decoder printing the records of the binary log named path to o in format f. Returns it, or NULL (said). */
struct dec *decode_new(const char *path, struct out *o, enum text_format f);
/* Decode len more bytes of the log. Returns 0, or -1 on garbage (said). */
int decode_feed(struct dec *d, const uint8_t *data, size_t len);
/* The log ends here (a torn tail is said). Returns 0, or -1 when it never had a header (said). */
int decode_end(struct dec *d);
void decode_free(struct dec *d);

/* shmlog decrypt and shmlog keygen (tools/decrypt.c, tools/keygen.c). */
extern const char usage_decrypt[], usage_keygen[];
int cmd_decrypt(int argc, char **argv);
int cmd_keygen(int argc, char **argv);

/* shmlog tail (tools/tail.c). */
extern const char usage_tail[];
int cmd_tail(int argc, char **argv);

#endif
