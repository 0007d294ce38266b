/*
 * e2e_crypt.c — counting the lines of an encrypted text log as it grows
 * (e2e_crypt.h). Whole chunks are opened as soon as they are read, so the
 * reader keeps pace with the collector as the text case's newline count does.
 */
#include "e2e_crypt.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../shared/encfile.h"

struct e2e_crypt {
	struct encfile_key key;
	struct encfile_stream st;
	bool in_stream;
	uint8_t *buf; /* bytes read and not yet a whole header or chunk */
	size_t len, cap;
	uint8_t pt[ENCFILE_CT_MAX];
};

struct e2e_crypt *e2e_crypt_new(const char *key_path)
{
	struct e2e_crypt *c = calloc(1, sizeof *c);
	int fd = open(key_path, O_RDONLY | O_CLOEXEC);
	if (!c || fd < 0 || encfile_init() < 0 || read(fd, c->key.key, ENCFILE_KEY_BYTES) != ENCFILE_KEY_BYTES) {
		fprintf(stderr, "bench_e2e: cannot read the key %s\n", key_path);
		free(c);
		c = NULL;
	}
	if (fd >= 0)
		close(fd);
	return c;
}

/* Lines and notices in p[0..n). */
static void count_lines(const uint8_t *p, size_t n, uint64_t *lines, uint64_t *notices)
{
	for (const uint8_t *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++)
		++*lines;
	static const char notice[] = "]: [shmlog] ";
	for (const uint8_t *q = p; (q = memmem(q, (size_t)(p + n - q), notice, sizeof notice - 1)) != NULL; q++)
		++*notices;
}

/* Open the unit at c->buf + at if it is whole. Returns its length, 0 if not whole, -1 if it does not open. */
static long open_unit(struct e2e_crypt *c, size_t at, uint64_t *lines, uint64_t *notices)
{
	const uint8_t *p = c->buf + at;
	size_t left = c->len - at;
	if (!c->in_stream) {
		if (left < ENCFILE_HEADER_BYTES)
			return 0;
		c->in_stream = encfile_open(&c->st, p, &c->key) == ENCFILE_OK;
		return c->in_stream ? (long)ENCFILE_HEADER_BYTES : -1;
	}
	struct encfile_chunk ch;
	if (left < ENCFILE_CHUNK_HEADER_BYTES)
		return 0;
	if (encfile_chunk_parse(p, &ch) < 0)
		return -1;
	if (left < ENCFILE_CHUNK_HEADER_BYTES + ch.ct_bytes)
		return 0;
	long n = encfile_unseal(&c->st, p, &ch, c->pt);
	if (n < 0)
		return -1;
	count_lines(c->pt, (size_t)n, lines, notices);
	c->in_stream = !(ch.flags & ENCFILE_CFLAG_FINAL);
	return ENCFILE_CHUNK_HEADER_BYTES + ch.ct_bytes;
}

int e2e_crypt_count(struct e2e_crypt *c, const uint8_t *data, size_t n, uint64_t *lines, uint64_t *notices)
{
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 1 << 17;
		while (cap < c->len + n)
			cap *= 2;
		uint8_t *b = realloc(c->buf, cap);
		if (!b)
			return -1;
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, data, n);
	c->len += n;
	size_t at = 0;
	long u;
	while ((u = open_unit(c, at, lines, notices)) > 0)
		at += (size_t)u;
	memmove(c->buf, c->buf + at, c->len - at);
	c->len -= at;
	if (u < 0)
		fprintf(stderr, "bench_e2e: a chunk of the encrypted log does not open\n");
	return u < 0 ? -1 : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int e2e_crypt_settled(struct e2e_crypt *c, const char *path, uint64_t *lines, uint64_t *notices)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	c->in_stream = false;
	c->len = 0;
	*lines = *notices = 0;
	static uint8_t buf[1 << 16];
	ssize_t r;
	int rc = 0;
	while (rc == 0 && (r = read(fd, buf, sizeof buf)) > 0)
		rc = e2e_crypt_count(c, buf, (size_t)r, lines, notices);
	close(fd);
	return rc;
}

int e2e_crypt_wait(struct e2e_crypt *c, const char *path, uint64_t records, uint64_t timeout_ns, uint64_t *lines,
		   uint64_t *notices)
{
	uint64_t deadline = now_ns() + timeout_ns;
	*lines = *notices = 0;
	for (;;) {
		if (e2e_crypt_settled(c, path, lines, notices) == 0 && *lines - *notices >= records)
			return 0;
		if (now_ns() > deadline) {
			fprintf(stderr, "bench_e2e: %s has %llu lines, expected %llu\n", path, (unsigned long long)*lines,
				(unsigned long long)records);
			return -1;
		}
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
}
