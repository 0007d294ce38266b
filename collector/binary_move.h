/*
 * binary_move.h — what a binary log's backlog needs at the start of a new
 * file when the file it was meant for was removed (binary_move.c).
 */
#ifndef SHMLOG_BINARY_MOVE_H
#define SHMLOG_BINARY_MOVE_H

#include <stdint.h>

#include "../shared/sbuf.h"

/*
 * The removed binary log open as old_fd (its writer's descriptor, all that
 * was written to it there): into out, the start of a new file that the
 * bytes not yet written decode after: a file header, a session (start_ns),
 * every definition frame since the old file's last header, and the frame
 * its last write cut short, if any. Returns 0, or -errno when the old file
 * cannot be read back or holds what is not a binary log (out is then of no
 * use).
 */
int binary_move_prefix(int old_fd, uint64_t start_ns, struct sbuf *out);

#endif
