/*
 * enc_util.h — what the encryption tests share (test_encrypt.c,
 * test_encrypt_tamper.c): running `shmlog keygen` and `shmlog decrypt`, the
 * files of a rotated series, and where a file's chunks are.
 */
#ifndef SHMLOG_ENC_UTIL_H
#define SHMLOG_ENC_UTIL_H

#include <stddef.h>

/* What one run of the shmlog tool did. */
struct ran {
	int status; /* exit status, -1 if it did not exit */
	char *out, *err;
	size_t out_len;
};

/* Run build/shmlog with args (NULL-terminated). Returns what it did (free with ran_free). */
struct ran run_shmlog(const char *const *args);
void ran_free(struct ran *r);

/* A collector writes 2 threads x records records of tests/producer_prog to the text file plain and to enc,
 * encrypted as the encrypt group's members (`key_file = "K";`) say; returns once it has drained them. */
void collect_encrypted(const char *plain, const char *enc, const char *members, long records);

/* `shmlog keygen [--public] work/name`; returns the malloc'd key path. */
char *make_key(const char *name, int public_pair);

/* `shmlog decrypt --key key [--json] files...` (NULL-terminated). */
struct ran decrypt(const char *key, int json, const char *const *files);

/* The files of path's rotated series, oldest first, NULL-terminated (malloc'd; free with free_names). */
char **series(const char *path);
void free_series(char **names);

/* The byte offsets of the file's stream header(s) and chunks, in order, as a walk of their
 * lengths finds them (malloc'd, *n entries; the file's size last). */
size_t *chunk_offsets(const char *path, size_t *n);

/* Assert that the len bytes of got are exactly the file at path. */
void assert_same_bytes(const char *got, size_t len, const char *path);

#endif
