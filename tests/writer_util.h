/*
 * writer_util.h — what the writer tests share: an output opened from the
 * text of a "writers = (...)" list, and records to give it.
 */
#ifndef SHMLOG_WRITER_UTIL_H
#define SHMLOG_WRITER_UTIL_H

#include <stdint.h>

#include "collector/output.h"

/* Open o on the writers of the libconfig list text, written to dir/collector.conf (asserts success). */
void wu_output_from(struct output *o, const char *dir, const char *writers);

/* The text of a record of app[7/8] at a.c:9. msg must outlive it. */
struct text_record wu_rec(int level, const char *msg, uint64_t ts_ns);

#endif
