/*
 * own_seg.h — a test's own logger in a fresh segment directory, with its
 * segment opened for reading, and the records of the calling thread's ring
 * (ring 0) read back one by one, rendered as the collector renders them.
 */
#ifndef SHMLOG_TESTS_OWN_SEG_H
#define SHMLOG_TESTS_OWN_SEG_H

#include <shmlog.h>

#include "shared/segment.h"

extern char *own_dir;       /* the segment directory */
extern struct shmlog *own_lg;
extern struct seg own_seg;  /* own_lg's segment, for reading */
extern uint64_t own_pos;    /* ring 0: where the next record is read */

/* Open own_lg with o (its dir: own_dir, made on the first call) and its segment. */
void own_open(struct shmlog_options o);
/* Close both; own_dir is removed unless keep_dir. */
void own_close(bool keep_dir);
/* Records in ring 0 after own_pos. */
int own_records_left(void);
/* The next record of ring 0 as a text line without its LF, from the level on. */
const char *own_next_text(void);

#endif
