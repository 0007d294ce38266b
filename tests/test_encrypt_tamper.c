/*
 * test_encrypt_tamper.c — `shmlog decrypt` on encrypted files a real
 * collector wrote and the test then damaged: a bit flipped in the header, in
 * a chunk's length, ciphertext and tag; two chunks swapped; one dropped; one
 * repeated; a chunk of another file appended; a cut at a chunk boundary and
 * inside a chunk; the zeros a crash leaves where the file grew unwritten. Each is found and named, the exit status says damage (1)
 * or an incomplete file (3), and the chunks before the damage still come out.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"
#include "enc_util.h"
#include "helpers.h"
#include "shared/encfile.h"

TestSuite(tamper, .timeout = 240); /* each test: tamper_setup, tamper_teardown */

static char *key, *plain, *enc_a, *enc_b;

/* A collector writes the same records to plain, and encrypted to enc_a and enc_b (two streams). */
static void write_files(void)
{
	key = make_key("k", 0);
	plain = wpath("t.log");
	enc_a = wpath("a.log");
	enc_b = wpath("b.log");
	char *pout = wpath("prod.out");
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; },\n"
			    " { type = \"file\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; },\n"
			    " { type = \"file\"; path = \"%s\"; encrypt = { key_file = \"%s\"; }; } );\n",
			    plain, enc_a, key, enc_b, key);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *args[] = {"-t", "2", "-r", "3000", "-p", "block", "-s", "30000", "-f", "60000", "-C", NULL};
	run_producer(pout, args, NULL);
	cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
	stop_collector(c);
	free(pout);
	free(cfg);
}

static void tamper_setup(void)
{
	setup();
	write_files();
}

static void tamper_teardown(void)
{
	free(key);
	free(plain);
	free(enc_a);
	free(enc_b);
	teardown();
}

/* A file's bytes and where its header and chunks start (at[0] the header, at[1 + k] chunk k, at[n - 1] the end). */
struct image {
	char *data;
	size_t len;
	size_t *at, n;
};

static struct image load(const char *path)
{
	struct image im;
	im.data = th_read_file(path, &im.len);
	im.at = chunk_offsets(path, &im.n);
	cr_assert(im.data && im.n >= 6, "want a header and at least 4 chunks, got %zu offsets", im.n);
	return im;
}

static void image_free(struct image *im)
{
	free(im->data);
	free(im->at);
}

/* Write len bytes of d to work/bad.log, decrypt it, assert status and that err holds want. Returns what ran. */
static struct ran decrypt_bytes(const char *d, size_t len, int status, const char *want)
{
	char *bad = wpath("bad.log");
	FILE *f = fopen(bad, "w");
	cr_assert(f && fwrite(d, 1, len, f) == len);
	fclose(f);
	const char *files[] = {bad, NULL};
	struct ran r = decrypt(key, 0, files);
	cr_assert_eq(r.status, status, "status %d, not %d: %s", r.status, status, r.err);
	cr_assert(strstr(r.err, want), "want \"%s\" in: %s", want, r.err);
	cr_assert(strstr(r.err, bad), "the line names the file: %s", r.err);
	free(bad);
	return r;
}

/* Assert that what came out is the start of the plain file, at least through chunk 0. */
static void assert_prefix(const struct ran *r)
{
	size_t len;
	char *want = th_read_file(plain, &len);
	cr_assert(want && r->out_len > 0 && r->out_len <= len, "the chunks before the damage come out");
	cr_assert(memcmp(r->out, want, r->out_len) == 0, "and are the plain file's start");
	free(want);
}

/* Flip bit 0 of byte off of the file, decrypt: status 1 and want. */
static void flip(size_t off, const char *want)
{
	struct image im = load(enc_a);
	im.data[off] ^= 1;
	struct ran r = decrypt_bytes(im.data, im.len, 1, want);
	ran_free(&r);
	image_free(&im);
}

Test(tamper, the_untouched_file_decrypts_to_the_plain_file, .init = tamper_setup, .fini = tamper_teardown)
{
	const char *files[] = {enc_a, NULL};
	struct ran r = decrypt(key, 0, files);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	assert_same_bytes(r.out, r.out_len, plain);
	ran_free(&r);
}

Test(tamper, a_bit_flipped_in_the_header_is_a_modified_header, .init = tamper_setup, .fini = tamper_teardown)
{
	flip(ENCFILE_OFF_STREAM_INIT + 3, "stream 1 (byte 0): a modified header: its MAC does not match");
	flip(ENCFILE_OFF_KEY_ID, "a modified header");
	flip(ENCFILE_OFF_WRAPPED + 30, "a modified header: its wrapped file key does not open");
	flip(ENCFILE_OFF_ALG, "a damaged header");
}

Test(tamper, a_bit_flipped_in_a_chunks_length_is_named, .init = tamper_setup, .fini = tamper_teardown)
{
	struct image im = load(enc_a);
	im.data[im.at[2]] ^= 1; /* chunk 1's ct_bytes */
	char want[128];
	snprintf(want, sizeof want, "stream 1, chunk 1 (byte %zu): its length field is damaged", im.at[2]);
	struct ran r = decrypt_bytes(im.data, im.len, 1, want);
	assert_prefix(&r);
	ran_free(&r);
	image_free(&im);
}

Test(tamper, a_bit_flipped_in_a_chunks_ciphertext_or_tag_fails_authentication, .init = tamper_setup,
     .fini = tamper_teardown)
{
	struct image im = load(enc_a);
	char want[128];
	snprintf(want, sizeof want, "stream 1, chunk 1 (byte %zu): it does not authenticate: modified", im.at[2]);
	size_t places[] = {im.at[2] + ENCFILE_CHUNK_HEADER_BYTES + 2, im.at[3] - 1}; /* ciphertext, tag */
	for (int k = 0; k < 2; k++) {
		im.data[places[k]] ^= 1;
		struct ran r = decrypt_bytes(im.data, im.len, 1, want);
		assert_prefix(&r);
		ran_free(&r);
		im.data[places[k]] ^= 1;
	}
	image_free(&im);
}

/* The file with chunks arranged: the header, then chunk order[0], order[1], ... (-1 ends). */
static void arrange(const struct image *im, const int *order, struct sbuf *out)
{
	sbuf_append(out, im->data, im->at[1]);
	for (int k = 0; order[k] >= 0; k++)
		sbuf_append(out, im->data + im->at[1 + order[k]], im->at[2 + order[k]] - im->at[1 + order[k]]);
}

/* Chunks of im from first to the end, as order entries from at. */
static void rest(const struct image *im, int first, int *order, int at)
{
	for (int k = first; (size_t)k + 2 < im->n; k++)
		order[at++] = k;
	order[at] = -1;
}

/* Decrypt im arranged as order: status 1 and want, the chunks before the damage out. */
static void assert_arranged(const struct image *im, const int *order, const char *want)
{
	struct sbuf b = {0};
	arrange(im, order, &b);
	struct ran r = decrypt_bytes(b.data, b.len, 1, want);
	assert_prefix(&r);
	ran_free(&r);
	sbuf_free(&b);
}

Test(tamper, swapped_dropped_and_repeated_chunks_are_named, .init = tamper_setup, .fini = tamper_teardown)
{
	struct image im = load(enc_a);
	int *order = calloc(im.n + 4, sizeof *order);
	cr_assert(order);
	order[0] = 0, order[1] = 2, order[2] = 1; /* swap */
	rest(&im, 3, order, 3);
	assert_arranged(&im, order, "stream 1, chunk 1 (byte");
	assert_arranged(&im, order, "it is chunk 2 (expected chunk 1): chunks dropped or reordered");
	order[0] = 0; /* drop chunk 1 */
	rest(&im, 2, order, 1);
	assert_arranged(&im, order, "it is chunk 2 (expected chunk 1): chunks dropped or reordered");
	order[0] = 0, order[1] = 1, order[2] = 1; /* repeat chunk 1 */
	rest(&im, 2, order, 3);
	assert_arranged(&im, order, "it is chunk 1 again or out of order (expected chunk 2)");
	free(order);
	image_free(&im);
}

Test(tamper, a_chunk_of_another_file_appended_is_found, .init = tamper_setup, .fini = tamper_teardown)
{
	struct image a = load(enc_a), b = load(enc_b);
	struct sbuf s = {0};
	sbuf_append(&s, a.data, a.len);
	sbuf_append(&s, b.data + b.at[2], b.at[3] - b.at[2]);
	char want[128];
	snprintf(want, sizeof want, "at byte %zu: %zu bytes after the final tag of stream 1 that are no stream", a.len,
		 b.at[3] - b.at[2]);
	struct ran r = decrypt_bytes(s.data, s.len, 1, want);
	assert_same_bytes(r.out, r.out_len, plain);
	ran_free(&r);
	/* into the stream, before the final tag: it does not authenticate there */
	sbuf_reset(&s);
	sbuf_append(&s, a.data, a.at[3]);
	sbuf_append(&s, b.data + b.at[3], b.at[4] - b.at[3]);
	sbuf_append(&s, a.data + a.at[4], a.len - a.at[4]);
	r = decrypt_bytes(s.data, s.len, 1, "chunk 2 (byte");
	cr_assert(strstr(r.err, "does not authenticate"), "%s", r.err);
	ran_free(&r);
	sbuf_free(&s);
	image_free(&a);
	image_free(&b);
}

Test(tamper, a_cut_at_a_chunk_boundary_is_told_from_a_clean_end, .init = tamper_setup, .fini = tamper_teardown)
{
	struct image im = load(enc_a);
	size_t cut = im.at[im.n - 2]; /* the final chunk's start */
	struct ran r = decrypt_bytes(im.data, cut, 3, "ends at byte");
	cr_assert(strstr(r.err, "without its final tag: truncated"), "%s", r.err);
	assert_same_bytes(r.out, r.out_len, plain);
	ran_free(&r);
	r = decrypt_bytes(im.data, im.at[3], 3, "without its final tag");
	assert_prefix(&r);
	ran_free(&r);
	image_free(&im);
}

/* Cut enc_a at cut, inside chunk 1 (at im->at[2]): status 3 and exactly one line, the documented one. */
static void assert_cut_in_chunk_1(const struct image *im, size_t cut)
{
	char want[160];
	snprintf(want, sizeof want, "truncated inside chunk 1 of stream 1 (byte %zu): the last %zu bytes are an "
		 "incomplete chunk; dropped\n", im->at[2], cut - im->at[2]);
	struct ran r = decrypt_bytes(im->data, cut, 3, want);
	const char *nl = strchr(r.err, '\n');
	cr_assert(nl && !nl[1], "one line, and no second one for the unfinished stream: %s", r.err);
	assert_prefix(&r);
	ran_free(&r);
}

Test(tamper, a_cut_inside_a_chunk_is_a_truncation_with_the_bytes_dropped_told_in_one_line, .init = tamper_setup,
     .fini = tamper_teardown)
{
	struct image im = load(enc_a);
	assert_cut_in_chunk_1(&im, im.at[3] - 5);                     /* in its ciphertext */
	assert_cut_in_chunk_1(&im, im.at[2] + ENCFILE_CHUNK_HEADER_BYTES - 1); /* in its header */
	image_free(&im);
}

/* The bytes of d (len) and zeros zero bytes, then tail (tlen) into b. */
static void zeros_between(struct sbuf *b, const char *d, size_t len, size_t zeros, const char *tail, size_t tlen)
{
	sbuf_reset(b);
	sbuf_append(b, d, len);
	for (size_t k = 0; k < zeros; k++)
		sbuf_append(b, "", 1);
	sbuf_append(b, tail, tlen);
	cr_assert(!b->oom);
}

/* Zeros where a chunk or a stream would start (the filesystem grew the file, the crash left it unwritten;
 * the file's start included): to the end or before the next stream, one line and status 3, every chunk
 * out; before garbage, damage. And a stream header cut short, then a restart's stream. */
Test(tamper, zeros_a_crash_left_unwritten_are_an_unfinished_stream_told_in_one_line, .init = tamper_setup,
     .fini = tamper_teardown)
{
	struct image a = load(enc_a), b = load(enc_b);
	size_t cut = a.at[a.n - 2], zeros = 300000; /* the stream loses its final chunk */
	struct sbuf s = {0}, both = {0};
	char want[200];
	zeros_between(&s, a.data, cut, zeros, "", 0);
	snprintf(want, sizeof want, "at byte %zu: stream 1 (from byte 0) is unfinished, %zu zero bytes (space a crash "
		 "left unwritten); dropped\n", cut, zeros);
	struct ran r = decrypt_bytes(s.data, s.len, 3, want);
	cr_assert(strchr(r.err, '\n') == strrchr(r.err, '\n'), "one line: %s", r.err);
	assert_same_bytes(r.out, r.out_len, plain);
	ran_free(&r);

	zeros_between(&s, a.data, cut, zeros, b.data, b.len); /* a restart's stream after them */
	snprintf(want, sizeof want, "at byte %zu: stream 1 (from byte 0) is unfinished, %zu zero bytes (space a crash "
		 "left unwritten), then the next stream; dropped\n", cut, zeros);
	r = decrypt_bytes(s.data, s.len, 3, want);
	cr_assert(strchr(r.err, '\n') == strrchr(r.err, '\n'), "one line: %s", r.err);
	size_t plen;
	char *p = th_read_file(plain, &plen);
	zeros_between(&both, p, plen, 0, p, plen);
	cr_assert(r.out_len == both.len && memcmp(r.out, both.data, both.len) == 0, "both streams' records");
	ran_free(&r);

	zeros_between(&s, "", 0, 5000, a.data, a.len); /* at the start of the file */
	r = decrypt_bytes(s.data, s.len, 3, "at byte 0: 5000 zero bytes (space a crash left unwritten), then the next "
				 "stream; dropped\n");
	cr_assert(strchr(r.err, '\n') == strrchr(r.err, '\n'), "one line: %s", r.err);
	assert_same_bytes(r.out, r.out_len, plain);
	ran_free(&r);

	zeros_between(&s, a.data, 60, 0, a.data, a.len); /* a header cut short, then a restart's stream */
	r = decrypt_bytes(s.data, s.len, 3, "stream 1 (byte 0): its header is cut short, its collector was killed: 60 "
				 "bytes dropped; stream 2 follows\n");
	cr_assert(strchr(r.err, '\n') == strrchr(r.err, '\n'), "one line: %s", r.err);
	assert_same_bytes(r.out, r.out_len, plain);
	ran_free(&r);

	zeros_between(&s, a.data, a.len, 100, "", 0);
	snprintf(want, sizeof want, "at byte %zu: after the final tag of stream 1, 100 zero bytes", a.len);
	r = decrypt_bytes(s.data, s.len, 3, want);
	ran_free(&r);

	zeros_between(&s, a.data, cut, 64, "garbage!", 8);
	snprintf(want, sizeof want, "stream 1, chunk %zu (byte %zu): its length field is damaged", a.n - 3, cut);
	r = decrypt_bytes(s.data, s.len, 1, want);
	ran_free(&r);
	free(p);
	sbuf_free(&s);
	sbuf_free(&both);
	image_free(&a);
	image_free(&b);
}
