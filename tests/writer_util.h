/*
 * writer_util.h — what the writer tests share: an output opened from the
 * text of a "writers = (...)" list, and records to give it.
 */
#ifndef SHMLOG_WRITER_UTIL_H
#define SHMLOG_WRITER_UTIL_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "collector/output.h"

extern char *wu_dir;            /* the test's directory */
extern struct io_uring wu_ring; /* a real io_uring to write through */

/* A suite's init and fini: make wu_dir and wu_ring (skip the test without io_uring); remove them. */
void wu_setup(void);
void wu_teardown(void);

/* wu_dir/name, malloc'd. */
char *wu_path(const char *name);
/* Whether wu_dir/name exists. */
bool wu_exists(const char *name);

/* Open o on the writers of the libconfig list text, written to dir/collector.conf (asserts success). */
void wu_output_from(struct output *o, const char *dir, const char *writers);

/* Assert that loading one file writer with keys (written to wu_dir/bad.conf) fails with the one
 * line "PATH:1: writers.[0]." followed by key_problem. */
void wu_refused(const char *keys, const char *key_problem);

/* The text of a record of app[7/8] at a.c:9. msg must outlive it. */
struct text_record wu_rec(int level, const char *msg, uint64_t ts_ns);

#endif
