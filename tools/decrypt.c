/*
 * decrypt.c — `shmlog decrypt --key KEYFILE [-o OUT] [--json] FILE...`: the
 * plaintext of encrypted log files (shared/encfile.h), checked chunk by chunk.
 *
 * Each file is walked stream by stream. Every chunk that authenticates is
 * written out (a record spanning chunks once its last piece is there); the
 * lines of a text or JSON writer as they are, a binary log through `shmlog
 * decode`'s decoder (decode.c). Anything else gets one line naming the file,
 * the stream, the chunk and the byte offset:
 *
 *   damage (exit 1): a wrong key, a modified header or chunk, a chunk out of
 *     place (reordered, dropped, duplicated), data after a final tag; the
 *     walk goes on at the next stream header, if any;
 *   incomplete (exit 3): a stream without its final tag, at the end of the
 *     file (truncated there, or its collector was killed or still writes),
 *     or followed by the next stream (the collector was killed and
 *     restarted), with the bytes of a torn chunk dropped.
 *
 * A torn chunk is told from a modified one by where the next stream header
 * is: a restarted writer's header starts inside the torn chunk's span.
 * A FILE or the key that is not a regular file (a FIFO, a device) is refused
 * by open_regular() (cli.c) without blocking.
 * Exit status: 0 every file intact and ended cleanly, 1 damage or a file that
 * cannot be read, 2 misuse, 3 only incomplete streams.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "shared/binlog.h"
#include "shared/encfile.h"
#include "tools/cli.h"

#define DECRYPT_FLUSH (64u * 1024u)
#define EXIT_INCOMPLETE 3

const char usage_decrypt[] =
	"usage: shmlog decrypt --key KEYFILE [-o OUT] [--json] FILE...\n"
	"\n"
	"Write the plaintext of each encrypted log FILE (a writer's encrypt group):\n"
	"its lines, or for a binary log its records as the text (or, with --json,\n"
	"JSON) writer would have printed them. KEYFILE is the key_file, or in\n"
	"public-key mode the secret KEYFILE of shmlog keygen --public.\n"
	"Every chunk is authenticated; a problem gets one line naming the file\n"
	"and the place, and every intact chunk is still written out.\n"
	"\n"
	"  -k, --key KEYFILE   the key (required)\n"
	"  -o, --output OUT    write to OUT instead of standard output\n"
	"  -j, --json          a binary log's records as JSON lines\n"
	"  -h, --help          print this help\n"
	"\n"
	"Exit status: 0 intact and ended cleanly, 1 a file that cannot be read (or is\n"
	"not a regular file), a wrong key or damage (modified, reordered, dropped or\n"
	"duplicated chunks), 2 misuse, 3 a truncated file or a stream left unfinished\n"
	"by a crash.\n";

/* One file being walked. */
struct walk {
	const char *path;
	const uint8_t *map;
	size_t size, pos;
	const struct encfile_key *key;
	const char *key_path;
	struct encfile_stream st;
	unsigned stream;     /* streams seen, the current one's number (from 1) */
	size_t stream_at;    /* its header's offset */
	bool in_stream, finished;
	struct sbuf held;    /* plaintext of chunks flagged MORE, waiting for the record's last piece */
	uint8_t *pt, *zpt;   /* one chunk's plaintext, decompressed */
	struct out *o;
	enum text_format format;
	struct dec *dec;     /* a binary log: its decoder */
	bool kind_known;
	int status;          /* 0, EXIT_INCOMPLETE or 1 */
};

static void worse(struct walk *w, int status)
{
	if (status == 1 || w->status == 0)
		w->status = status;
}

/* The offset of the next stream magic in [from, to), or SIZE_MAX. */
static size_t next_magic(const struct walk *w, size_t from, size_t to)
{
	if (to > w->size)
		to = w->size;
	if (from >= to)
		return SIZE_MAX;
	const uint8_t *p = memmem(w->map + from, to - from, ENCFILE_MAGIC, ENCFILE_MAGIC_BYTES);
	return p ? (size_t)(p - w->map) : SIZE_MAX;
}

/* Plaintext of whole records to the output: a binary log to its decoder. Returns 0 or -1 (said). */
static int emit(struct walk *w, const uint8_t *p, size_t len)
{
	if (!w->kind_known && len) {
		w->kind_known = true;
		if (len >= BINLOG_MAGIC_BYTES && memcmp(p, BINLOG_MAGIC, BINLOG_MAGIC_BYTES) == 0 &&
		    !(w->dec = decode_new(w->path, w->o, w->format)))
			return -1;
	}
	if (w->dec)
		return decode_feed(w->dec, p, len);
	sbuf_append(&w->o->buf, p, len);
	return w->o->buf.len > DECRYPT_FLUSH ? out_flush(w->o) : 0;
}

/* Go on at the next stream header after a damaged place (or end the walk). */
static void resync(struct walk *w)
{
	size_t q = next_magic(w, w->pos + 1, w->size);
	w->pos = q == SIZE_MAX ? w->size : q;
	w->in_stream = false;
	w->finished = true; /* what follows is a new stream, not an unfinished one */
	w->held.len = 0;
}

/* The stream left unfinished at w->pos, the next stream header at q. */
static void unfinished(struct walk *w, size_t q)
{
	complain("%s: stream %u (from byte %zu) is unfinished, its collector was killed: %zu bytes dropped at byte %zu; "
		 "stream %u follows",
		 w->path, w->stream, w->stream_at, q - w->pos + w->held.len, w->pos, w->stream + 1);
	worse(w, EXIT_INCOMPLETE);
	w->pos = q;
	w->in_stream = false;
	w->held.len = 0;
}

/* The key id id in hex into out (2 * ENCFILE_KEY_ID_BYTES + 1 bytes). Returns out. */
static const char *hex_id(char *out, const uint8_t *id)
{
	for (unsigned i = 0; i < ENCFILE_KEY_ID_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
	return out;
}

/* The id of the reader's key for a header of key mode h_mode (sealed: its public key's) into id. */
static void reader_key_id(const struct walk *w, uint8_t h_mode, uint8_t *id)
{
	uint8_t pub[crypto_box_PUBLICKEYBYTES];
	if (h_mode == ENCFILE_KEY_SEALED)
		crypto_scalarmult_base(pub, w->key->key);
	encfile_key_id(id, h_mode == ENCFILE_KEY_SEALED ? pub : w->key->key);
}

/* Why a stream header did not open, as one line. */
static void bad_header(struct walk *w, enum encfile_bad bad)
{
	const uint8_t *h = w->map + w->pos;
	char id[2 * ENCFILE_KEY_ID_BYTES + 1], mine[sizeof id];
	uint8_t my_id[ENCFILE_KEY_ID_BYTES];
	reader_key_id(w, h[ENCFILE_OFF_KEY_MODE], my_id);
	const char *why = bad == ENCFILE_BAD_VERSION ? "an unknown version (this shmlog reads version 1)"
			  : bad == ENCFILE_BAD_FIELD ? "a damaged header (unknown algorithm, key mode or size)"
			  : bad == ENCFILE_NO_AES    ? "written with aes256gcm, which needs AES-NI; this CPU lacks it"
			  : bad == ENCFILE_BAD_WRAP  ? "a modified header: its wrapped file key does not open"
			  : bad == ENCFILE_BAD_MAC   ? "a modified header: its MAC does not match"
						     : "the wrong key";
	if (bad == ENCFILE_WRONG_KEY)
		complain("%s: stream %u (byte %zu): wrong key: it was written for key id %s, %s is key id %s", w->path,
			 w->stream + 1, w->pos, hex_id(id, h + ENCFILE_OFF_KEY_ID), w->key_path, hex_id(mine, my_id));
	else
		complain("%s: stream %u (byte %zu): %s", w->path, w->stream + 1, w->pos, why);
}

/* A stream header at w->pos. */
static void read_header(struct walk *w)
{
	size_t left = w->size - w->pos;
	size_t m = left < ENCFILE_MAGIC_BYTES ? left : ENCFILE_MAGIC_BYTES;
	if (memcmp(w->map + w->pos, ENCFILE_MAGIC, m) != 0) {
		if (w->stream == 0)
			complain("%s: not an encrypted shmlog log (no stream header at byte 0)", w->path);
		else
			complain("%s: at byte %zu: %zu bytes after the final tag of stream %u that are no stream (appended?)",
				 w->path, w->pos, next_magic(w, w->pos, w->size) - w->pos, w->stream);
		worse(w, 1);
		resync(w);
		return;
	}
	if (left < ENCFILE_HEADER_BYTES) {
		complain("%s: truncated: the stream header at byte %zu is cut short (%zu of %u bytes)", w->path, w->pos,
			 left, ENCFILE_HEADER_BYTES);
		worse(w, EXIT_INCOMPLETE);
		w->pos = w->size;
		return;
	}
	enum encfile_bad bad = encfile_open(&w->st, w->map + w->pos, w->key);
	if (bad != ENCFILE_OK) {
		bad_header(w, bad);
		worse(w, 1);
		w->stream++;
		resync(w);
		return;
	}
	w->stream++;
	w->stream_at = w->pos;
	w->in_stream = true;
	w->finished = false;
	w->pos += ENCFILE_HEADER_BYTES;
}

/* The chunk at w->pos cannot be read (why): torn, if the next stream starts inside it; else damage. */
static void bad_chunk(struct walk *w, size_t span, const char *why)
{
	size_t q = next_magic(w, w->pos, w->pos + span);
	if (q != SIZE_MAX) {
		unfinished(w, q);
		return;
	}
	complain("%s: stream %u, chunk %u (byte %zu): %s", w->path, w->stream, w->st.index, w->pos, why);
	worse(w, 1);
	resync(w);
}

/* The end of the file inside the chunk at w->pos, or the next stream inside it: one line says the stream
 * is unfinished, and walk_end() says nothing more of it. */
static void torn_chunk(struct walk *w)
{
	size_t q = next_magic(w, w->pos, w->size);
	if (q != SIZE_MAX) {
		unfinished(w, q);
		return;
	}
	complain("%s: truncated inside chunk %u of stream %u (byte %zu): the last %zu bytes are an incomplete chunk; "
		 "dropped",
		 w->path, w->st.index, w->stream, w->pos, w->size - w->pos + w->held.len);
	worse(w, EXIT_INCOMPLETE);
	w->pos = w->size;
	w->in_stream = false;
	w->held.len = 0;
}

/* Decompress a chunk's plaintext (flag ZSTD) into w->zpt. Returns its length, or -1. */
static long unzstd(struct walk *w, long n)
{
	size_t r = ZSTD_decompress(w->zpt, ENCFILE_CHUNK_MAX, w->pt, (size_t)n);
	return ZSTD_isError(r) ? -1 : (long)r;
}

/* The plaintext of an authentic chunk with flags: held or written out. Returns 0 or -1 (said). */
static int take_plain(struct walk *w, const uint8_t *p, long n, uint32_t flags)
{
	if (!(flags & ENCFILE_CFLAG_MORE) && w->held.len == 0)
		return emit(w, p, (size_t)n); /* a whole record set in one chunk: nothing to hold */
	sbuf_append(&w->held, p, (size_t)n);
	if (w->held.oom) {
		complain("%s: out of memory", w->path);
		return -1;
	}
	if (flags & ENCFILE_CFLAG_MORE)
		return 0;
	int rc = emit(w, (const uint8_t *)w->held.data, w->held.len);
	w->held.len = 0;
	return rc;
}

/* A chunk at w->pos of the open stream. Returns 0, or -1 when the output failed (said). */
static int read_chunk(struct walk *w)
{
	struct encfile_chunk c;
	if (w->size - w->pos < ENCFILE_CHUNK_HEADER_BYTES) {
		torn_chunk(w);
		return 0;
	}
	if (encfile_chunk_parse(w->map + w->pos, &c) < 0) {
		bad_chunk(w, ENCFILE_CHUNK_HEADER_BYTES + ENCFILE_CT_MAX, "its length field is damaged");
		return 0;
	}
	size_t span = ENCFILE_CHUNK_HEADER_BYTES + c.ct_bytes;
	if (w->size - w->pos < span) {
		torn_chunk(w);
		return 0;
	}
	if (c.index != w->st.index) {
		char why[160];
		snprintf(why, sizeof why,
			 c.index < w->st.index ? "it is chunk %u again or out of order (expected chunk %u): duplicated or "
						 "reordered chunks"
					       : "it is chunk %u (expected chunk %u): chunks dropped or reordered",
			 c.index, w->st.index);
		bad_chunk(w, span, why);
		return 0;
	}
	long n = encfile_unseal(&w->st, w->map + w->pos, &c, w->pt);
	if (n >= 0 && (c.flags & ENCFILE_CFLAG_ZSTD) && (n = unzstd(w, n)) >= 0)
		memcpy(w->pt, w->zpt, (size_t)n);
	if (n < 0) {
		bad_chunk(w, span, "it does not authenticate: modified, or from another stream");
		return 0;
	}
	w->pos += span;
	if (c.flags & ENCFILE_CFLAG_FINAL) {
		w->finished = true;
		w->in_stream = false;
	}
	return take_plain(w, w->pt, n, c.flags);
}

/* The end of the walk: a stream without its final tag. Returns nothing. */
static void walk_end(struct walk *w)
{
	if (!w->in_stream)
		return;
	complain("%s: stream %u (from byte %zu) ends at byte %zu without its final tag: truncated, or its collector "
		 "was killed or still writes%s",
		 w->path, w->stream, w->stream_at, w->size, w->held.len ? "; the last record's pieces dropped" : "");
	worse(w, EXIT_INCOMPLETE);
}

/* Walk the mapped file. Returns its status. */
static int walk_file(struct walk *w)
{
	if (w->size == 0) { /* a collector ends every open with a stream, even one that took no record */
		complain("%s: empty: no stream at all (its collector was killed before its first record, or it was "
			 "truncated)", w->path);
		worse(w, EXIT_INCOMPLETE);
	}
	while (w->pos < w->size) {
		if (!w->in_stream)
			read_header(w);
		else if (read_chunk(w) < 0)
			return 1;
	}
	walk_end(w);
	if (w->dec && decode_end(w->dec) < 0)
		worse(w, 1);
	return w->status;
}

/* Decrypt path to o. Returns 0, 1 or EXIT_INCOMPLETE. */
static int decrypt_file(const char *path, const struct encfile_key *key, const char *key_path, struct out *o,
			enum text_format f)
{
	struct stat st;
	int fd = open_regular(path, NULL, &st);
	if (fd < 0)
		return 1;
	struct walk w = {.path = path, .size = (size_t)st.st_size, .key = key, .key_path = key_path, .o = o, .format = f};
	w.map = w.size ? mmap(NULL, w.size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	w.pt = malloc(ENCFILE_CT_MAX);
	w.zpt = malloc(ENCFILE_CHUNK_MAX);
	int rc = 1;
	if (w.map == MAP_FAILED || !w.pt || !w.zpt)
		complain("%s: cannot read: %s", path, strerror(errno ? errno : ENOMEM));
	else
		rc = walk_file(&w);
	out_flush(o);
	if (w.dec)
		decode_free(w.dec);
	if (w.map && w.map != MAP_FAILED)
		munmap((void *)w.map, w.size);
	encfile_stream_wipe(&w.st);
	sbuf_free(&w.held);
	free(w.pt);
	free(w.zpt);
	return rc;
}

/* The 32 bytes of the key file path into k. Returns 0 or -1 (said). */
static int read_key(const char *path, struct encfile_key *k)
{
	struct stat st;
	int fd = open_regular(path, "the key", &st);
	if (fd < 0)
		return -1;
	ssize_t n = st.st_size == ENCFILE_KEY_BYTES ? read(fd, k->key, ENCFILE_KEY_BYTES) : -1;
	close(fd);
	if (n != ENCFILE_KEY_BYTES) {
		complain("%s: not a key: %lld bytes, not %u (made by shmlog keygen)", path, (long long)st.st_size,
			 ENCFILE_KEY_BYTES);
		return -1;
	}
	return 0;
}

/* The output: OUT (created 0600, replaced) or standard output. Returns 0 or -1 (said). */
static int open_out(struct out *o, const char *path)
{
	*o = (struct out){.fd = STDOUT_FILENO, .name = "standard output"};
	if (!path)
		return 0;
	o->name = path;
	if ((o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		complain("%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int cmd_decrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *key_path = NULL, *out_path = NULL;
	enum text_format f = TEXT_FORMAT_TEXT;
	int c;
	while ((c = getopt_long(argc, argv, ":k:o:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key_path = optarg; break;
		case 'o': out_path = optarg; break;
		case 'j': f = TEXT_FORMAT_JSON; break;
		case 'h': fputs(usage_decrypt, stdout); return 0;
		default: return option_misuse(usage_decrypt, "decrypt", c, argv);
		}
	}
	if (!key_path)
		return misuse(usage_decrypt, "decrypt", "no --key KEYFILE given");
	if (optind >= argc)
		return misuse(usage_decrypt, "decrypt", "no FILE given");
	struct encfile_key key = {0};
	struct out o;
	if (encfile_init() < 0 || read_key(key_path, &key) < 0 || open_out(&o, out_path) < 0)
		return 1;
	int status = 0;
	for (int i = optind; i < argc && !o.err; i++) {
		int rc = decrypt_file(argv[i], &key, key_path, &o, f);
		status = rc == 1 || status == 1 ? 1 : rc ? rc : status;
	}
	sodium_memzero(&key, sizeof key);
	if (out_path)
		close(o.fd);
	sbuf_free(&o.buf);
	return o.err ? 1 : status;
}
