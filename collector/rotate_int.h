/*
 * rotate_int.h — what rotate.c, rotate_time.c and rotate_files.c share
 * (not for writers: they use rotate.h).
 */
#ifndef SHMLOG_ROTATE_INT_H
#define SHMLOG_ROTATE_INT_H

#include "rotate.h"

/*
 * Rename r->path to the first name of its rotated files for a file of
 * interval start (PATH.1, or PATH.INTERVAL), shifting the run of taken names
 * from there up by one first; that name into to (PATH_MAX bytes). Returns 0
 * or -errno (nothing of the live file renamed then).
 */
int rotate_rename_away(struct rotate *r, int64_t start, char *to);

/* With compress, on open: remove leftover .zst.tmp files and the plain form of what has a .zst,
 * and queue every other uncompressed rotated file. Returns nothing. */
void rotate_recover(struct rotate *r);

/* Remove the oldest rotated files beyond r->backups. Failures are reported once. Returns nothing. */
void rotate_prune(struct rotate *r);

#endif
