/*
 * test_crypt.c — the encryption layer (collector/crypt.c) under a real file
 * writer, driven record by record through the output module: chunks end at
 * record boundaries and hold at most 64 KiB; a record longer than a chunk
 * spans chunks flagged MORE and decrypts whole; a clean close ends the
 * stream with its final tag. The chunks are opened with shared/encfile.c.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/encfile.h"
#include "shared/text.h"
#include "tests/helpers.h"
#include "tests/writer_util.h"

TestSuite(crypt, .init = wu_setup, .fini = wu_teardown);

/* Write a fresh 32-byte key to wu_dir/k (0600) into key. Returns the malloc'd path. */
static char *new_key(struct encfile_key *key)
{
	cr_assert_geq(sodium_init(), 0);
	char *path = wu_path("k");
	randombytes_buf(key->key, sizeof key->key);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0 && write(fd, key->key, sizeof key->key) == (ssize_t)sizeof key->key);
	close(fd);
	return path;
}

/* An output with one encrypted text file writer on wu_dir/e.log. */
static void open_enc(struct output *o, const char *key_path)
{
	char list[1024];
	snprintf(list, sizeof list, "( { type = \"file\"; path = \"%s/e.log\"; encrypt = { key_file = \"%s\"; }; } )",
		 wu_dir, key_path);
	wu_output_from(o, wu_dir, list);
}

/* One opened chunk. */
struct opened {
	uint32_t flags;
	size_t len;
};

/* Open every chunk of wu_dir/e.log (one stream) with key: their flags and lengths into out (at most cap),
 * their plaintext appended to pt. Returns the number of chunks. */
static size_t open_all(const struct encfile_key *key, struct opened *out, size_t cap, struct sbuf *pt)
{
	char *path = wu_path("e.log");
	size_t len, n = 0;
	uint8_t *d = (uint8_t *)th_read_file(path, &len), *buf = malloc(ENCFILE_CT_MAX);
	cr_assert(d && buf && len >= ENCFILE_HEADER_BYTES);
	struct encfile_stream st;
	cr_assert_eq(encfile_open(&st, d, key), ENCFILE_OK);
	for (size_t at = ENCFILE_HEADER_BYTES; at < len; n++) {
		struct encfile_chunk c;
		cr_assert(n < cap && encfile_chunk_parse(d + at, &c) == 0 && c.index == n);
		long m = encfile_unseal(&st, d + at, &c, buf);
		cr_assert_geq(m, 0, "chunk %zu opens", n);
		out[n] = (struct opened){c.flags, (size_t)m};
		sbuf_append(pt, buf, (size_t)m);
		at += ENCFILE_CHUNK_HEADER_BYTES + c.ct_bytes;
	}
	free(buf);
	free(d);
	free(path);
	return n;
}

/* The text line of r into b. */
static void render(struct sbuf *b, const struct text_record *r)
{
	text_append(b, r, TEXT_FORMAT_TEXT, false);
}

Test(crypt, chunks_end_at_record_boundaries_hold_at_most_64_KiB_and_the_close_writes_the_final_tag)
{
	struct encfile_key key = {0};
	char *kp = new_key(&key);
	struct output o;
	open_enc(&o, kp);
	struct sbuf want = {0}, pt = {0};
	char msg[128];
	for (unsigned i = 0; i < 3000; i++) { /* one batch of about 300 KB */
		snprintf(msg, sizeof msg, "record %05u of a batch bigger than four chunks, padded to some length", i);
		struct text_record r = wu_rec(3, msg, 1000000000u + i);
		cr_assert_eq(output_add(&o, &r, NULL), 1u);
		render(&want, &r);
	}
	output_write(&o, &wu_ring);
	cr_assert_eq(o.w[0].done, o.w[0].taken);
	output_close(&o);
	struct opened ch[64];
	size_t n = open_all(&key, ch, 64, &pt);
	cr_assert_geq(n, 6, "at least 5 chunks and the final one, not %zu", n);
	for (size_t k = 0; k + 1 < n; k++) {
		cr_assert_leq(ch[k].len, ENCFILE_CHUNK_MAX);
		cr_assert_eq(ch[k].flags, 0u, "chunk %zu: no flag", k);
		if (k + 2 < n) /* all but the batch's last */
			cr_assert_gt(ch[k].len, ENCFILE_CHUNK_MAX - 200, "chunk %zu is full but for a record", k);
	}
	cr_assert_eq(ch[n - 1].flags, ENCFILE_CFLAG_FINAL);
	cr_assert_eq(ch[n - 1].len, 0u);
	cr_assert_eq(pt.len, want.len);
	cr_assert(memcmp(pt.data, want.data, pt.len) == 0, "the plaintext is the lines");
	/* every chunk ends at the end of a line: none holds part of a record */
	size_t at = 0;
	for (size_t k = 0; k + 1 < n; k++) {
		at += ch[k].len;
		cr_assert_eq(pt.data[at - 1], '\n', "chunk %zu ends inside a record", k);
	}
	sbuf_free(&want);
	sbuf_free(&pt);
	free(kp);
}

Test(crypt, a_record_longer_than_a_chunk_spans_chunks_flagged_more)
{
	struct encfile_key key = {0};
	char *kp = new_key(&key);
	struct output o;
	open_enc(&o, kp);
	size_t big = TEXT_MSG_MAX - 20; /* not cut (TEXT_MSG_MAX - 14), and its line is over 64 KiB */
	char *long_msg = malloc(big + 1);
	cr_assert(long_msg);
	memset(long_msg, 'x', big);
	long_msg[big] = '\0';
	const char *msgs[] = {"before", long_msg, "after"};
	struct sbuf want = {0}, pt = {0};
	for (int i = 0; i < 3; i++) {
		struct text_record r = wu_rec(3, msgs[i], 1000000000u + (unsigned)i);
		cr_assert_eq(output_add(&o, &r, NULL), 1u);
		render(&want, &r);
	}
	output_write(&o, &wu_ring);
	output_close(&o);
	struct opened ch[8];
	size_t n = open_all(&key, ch, 8, &pt);
	cr_assert_eq(pt.len, want.len);
	cr_assert(memcmp(pt.data, want.data, pt.len) == 0);
	size_t more = 0;
	for (size_t k = 0; k < n; k++)
		more += !!(ch[k].flags & ENCFILE_CFLAG_MORE);
	cr_assert_eq(more, 1u, "the long record's first piece is flagged MORE, nothing else");
	cr_assert_eq(n, 5u, "before, the long record in two pieces, after, the final tag");
	cr_assert_eq(ch[0].len, (size_t)(strchr(want.data, '\n') - want.data) + 1, "the first record is a chunk of its own");
	cr_assert_eq(ch[1].flags, ENCFILE_CFLAG_MORE);
	cr_assert_eq(ch[1].len, ENCFILE_CHUNK_MAX);
	/* shmlog decrypt puts the pieces together */
	char *bin = th_build_path("shmlog"), *e = wu_path("e.log"), *out = wu_path("d.out");
	char *argv[] = {bin, "decrypt", "--key", kp, e, NULL};
	cr_assert_eq(th_waitpid_timeout(th_spawn(argv, out, NULL, NULL), 30000), 0);
	size_t got_len;
	char *got = th_read_file(out, &got_len);
	cr_assert(got && got_len == want.len && memcmp(got, want.data, got_len) == 0);
	free(got);
	free(bin);
	free(e);
	free(out);
	free(long_msg);
	sbuf_free(&want);
	sbuf_free(&pt);
	free(kp);
}
