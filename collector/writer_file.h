/*
 * writer_file.h — what the file-shaped writers share (writer_file.c): the
 * path and mode keys, the rotation layer, opening, and checking that the
 * path still names the open file. The "file" and "binary" writers both
 * embed a struct file_state, first in their state (file_state_complete
 * relies on it).
 */
#ifndef SHMLOG_WRITER_FILE_H
#define SHMLOG_WRITER_FILE_H

#include <stdint.h>
#include <sys/types.h>

#include "crypt.h"
#include "rotate.h"
#include "writer.h"

struct file_state {
	char *path;
	mode_t mode;
	struct rotate rot;
	struct crypt *crypt; /* the encryption layer, NULL without encrypt */
	char where[sizeof(struct diag)]; /* "FILE:LINE: KEY: " of the path key, for the open's error */
	int gone_err;                    /* why the path could not be opened again, as last told; 0 */
	bool headed;   /* the file must begin with a header (binary, encrypted): see file_state_complete */
	bool took_out; /* a write was taken out again, and no truncation was seen since */
	/* told the plaintext each write put in the file, before it leaves the buffer; NULL: nothing */
	void (*wrote)(void *arg, const char *p, size_t n);
	void *wrote_arg;
};

/* What the path names now, against the open file. */
enum file_path {
	FILE_PATH_SAME, /* the open file (its size into *size; a device's: what was written to it) */
	FILE_PATH_AWAY, /* nothing, and the open file is still visible elsewhere: renamed away */
	FILE_PATH_GONE, /* another file, or nothing and ours removed: open the path again */
};

/*
 * Read path, mode and the rotation keys of a writer of type from cfg into
 * *fs (nothing is opened). Returns 0, or -errno with d->msg naming the key
 * (fs then holds nothing to free but fs->path, which may be set).
 */
int file_state_configure(struct file_state *fs, const config_setting_t *cfg, const char *type, struct diag *d);

/* Open fs's path for appending through the rotation layer. Returns the descriptor, or -errno with d filled. */
int file_state_open(struct file_state *fs, const char *who, struct diag *d);

/* What fs's path names against the open descriptor fd. */
enum file_path file_state_check(const struct file_state *fs, int fd, uint64_t *size);

/* Whether fs's file, size bytes now, was truncated under writer who (logrotate's copytruncate): said, and an
 * encrypted one starts a new stream there. Asked before rotate_resize. */
bool file_state_truncated(struct file_state *fs, uint64_t size, const char *who);

/* A unit of len bytes taken at stream offset at: tell rotation (with the record's time ts_ns and the frames
 * encryption adds) and encryption. Returns whether rotation placed a cut before it. */
bool file_state_take(struct file_state *fs, uint64_t at, uint64_t len, uint64_t ts_ns);

/* The unit at stream offset at grew from from bytes to len (0 to len: bytes that are not a record, a binary
 * log's preamble), without a cut before it: rotation counts the bytes and their frames, encryption learns
 * them. */
void file_state_grow(struct file_state *fs, uint64_t at, uint64_t from, uint64_t len);

/* prepare's req holds the plaintext from written (all taken ends at end): encrypt it if fs does. Returns rc,
 * or crypt_prepare's answer. */
int file_state_prepare(struct file_state *fs, int rc, struct uio_req *req, uint64_t written, uint64_t end);

/* The writer lets go of fd (a reopen, close): sync and close it, ending its encrypted stream first. */
void file_state_retire(struct file_state *fs, int fd);

/* complete() of the file-shaped writers, whose w->priv starts with a struct file_state. A write that
 * landed alone in a file truncated right before it (copytruncate between the writer's look and its write)
 * is taken out again and counted not written when the file must begin with a header: the truncation is
 * then seen before the next write, which begins the file properly (once per truncation seen: a write
 * that lands so again before one is seen stays). */
uint64_t file_state_complete(struct writer *w, const struct uio_req *req);

/* describe() of the file-shaped writers (w->priv starts with a struct file_state): path, rotation, encryption. */
void file_state_describe(const struct writer *w, FILE *f);

/* Free what file_state_configure and file_state_open took. */
void file_state_free(struct file_state *fs);

#endif
