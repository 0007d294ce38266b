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
 *     restarted), with the bytes of a torn chunk or stream header dropped;
 *     zeros where a chunk or header would start (space a crash left
 *     unwritten), to the end or to the next stream.
 *
 * A torn chunk is told from a modified one by where the next stream header
 * is: a restarted writer's header starts inside the torn chunk's span.
 * A FILE or the key that is not a regular file (a FIFO, a device) is refused
 * by open_regular() (cli.c) without blocking. The key and every FILE are
 * checked before anything is written; an output that is one of them is
 * refused; -o OUT is a new file (0600) renamed over OUT at the end (struct
 * dest), so OUT holds what it held or the whole output; a run that decrypts
 * nothing (a wrong key) leaves it as it was.
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
	"  -o, --output OUT    write to OUT instead of standard output: a new file\n"
	"                      (mode 0600) that replaces OUT once all is written\n"
	"  -j, --json          a binary log's records as JSON lines\n"
	"  -h, --help          print this help\n"
	"\n"
	"Exit status: 0 intact and ended cleanly, 1 a file that cannot be read (or is\n"
	"not a regular file), an output that is the key or a FILE, an output that\n"
	"cannot be written, a wrong key or damage (modified, reordered, dropped or\n"
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
	unsigned *opened;    /* streams whose header opened with the key, counted across files */
	size_t stream_at;    /* its header's offset */
	bool in_stream, finished;
	struct sbuf held;    /* plaintext of chunks flagged MORE, waiting for the record's last piece */
	uint8_t *pt, *zpt;   /* one chunk's plaintext, decompressed */
	struct out *o;
	enum text_format format;
	struct dec *dec;     /* a binary log: its decoder */
	bool kind_known;
	int status;          /* 0, EXIT_INCOMPLETE or 1 */
	struct wrong_key {   /* streams not for the key: told in one line at the end (wrong_key_line) */
		unsigned n, first; /* how many; the first one's number */
		size_t first_at;
		bool ids_differ;   /* not all written for the first one's key id */
		char id[2 * ENCFILE_KEY_ID_BYTES + 1], mine[2 * ENCFILE_KEY_ID_BYTES + 1];
	} wrong;
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

/* The offset of the next stream magic from from on, or the file's size. */
static size_t stream_or_end(const struct walk *w, size_t from)
{
	size_t q = next_magic(w, from, w->size);
	return q == SIZE_MAX ? w->size : q;
}

/* Plaintext of whole records to the output: a binary log to its decoder. Returns 0 or -1 (said). */
static int emit(struct walk *w, const uint8_t *p, size_t len)
{
	if (!w->kind_known && len) {
		/* a binary log: its file header first, or what a truncation left before it; a text or JSON
		 * line never holds a NUL byte (text.h escapes it), a binary log's frames always do */
		w->kind_known = true;
		if (memchr(p, 0, len) && !(w->dec = decode_new(w->path, w->o, w->format)))
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

/* The stream header h (at w->pos) is for another key: remembered for wrong_key_line(). */
static void note_wrong_key(struct walk *w, const uint8_t *h)
{
	struct wrong_key *k = &w->wrong;
	char id[sizeof k->id];
	hex_id(id, h + ENCFILE_OFF_KEY_ID);
	if (k->n++) {
		k->ids_differ |= strcmp(id, k->id) != 0;
		return;
	}
	uint8_t my_id[ENCFILE_KEY_ID_BYTES];
	reader_key_id(w, h[ENCFILE_OFF_KEY_MODE], my_id);
	hex_id(k->mine, my_id);
	memcpy(k->id, id, sizeof id);
	k->first = w->stream + 1;
	k->first_at = w->pos;
}

/* One line for every stream of the file that is not for the key (a file of many restarts or rotations
 * read with the wrong key says so once). */
static void wrong_key_line(const struct walk *w)
{
	const struct wrong_key *k = &w->wrong;
	if (k->n == 1)
		complain("%s: stream %u (byte %zu): wrong key: it was written for key id %s, %s is key id %s", w->path,
			 k->first, k->first_at, k->id, w->key_path, k->mine);
	else if (k->n > 1)
		complain("%s: %u of its %u streams, from stream %u (byte %zu): wrong key: written for key id %s%s, %s is "
			 "key id %s",
			 w->path, k->n, w->stream, k->first, k->first_at, k->id, k->ids_differ ? " and others" : "",
			 w->key_path, k->mine);
}

/* Why a stream header did not open, as one line. */
static void bad_header(struct walk *w, enum encfile_bad bad)
{
	const uint8_t *h = w->map + w->pos;
	if (bad == ENCFILE_WRONG_KEY) {
		note_wrong_key(w, h);
		return;
	}
	const char *why = bad == ENCFILE_BAD_VERSION ? "an unknown version (this shmlog reads version 1)"
			  : bad == ENCFILE_BAD_FIELD ? "a damaged header (unknown algorithm, key mode or size)"
			  : bad == ENCFILE_NO_AES    ? "written with aes256gcm, which needs AES-NI; this CPU lacks it"
			  : bad == ENCFILE_BAD_WRAP  ? "a modified header: its wrapped file key does not open"
			  : bad == ENCFILE_BAD_MAC   ? "a modified header: its MAC does not match"
						     : "the wrong key";
	complain("%s: stream %u (byte %zu): %s", w->path, w->stream + 1, w->pos, why);
}

/* Whole chunks from w->pos on that lead to a stream header: its offset, else SIZE_MAX. */
static size_t headless_chunks(const struct walk *w)
{
	size_t at = w->pos;
	struct encfile_chunk c;
	while (w->size - at >= ENCFILE_CHUNK_HEADER_BYTES && encfile_chunk_parse(w->map + at, &c) == 0 &&
	       w->size - at - ENCFILE_CHUNK_HEADER_BYTES >= c.ct_bytes)
		at += ENCFILE_CHUNK_HEADER_BYTES + c.ct_bytes;
	bool header = at > w->pos && w->size - at >= ENCFILE_MAGIC_BYTES &&
		      memcmp(w->map + at, ENCFILE_MAGIC, ENCFILE_MAGIC_BYTES) == 0;
	return header ? at : SIZE_MAX;
}

/* A stream header at w->pos. */
static void read_header(struct walk *w)
{
	size_t left = w->size - w->pos;
	size_t m = left < ENCFILE_MAGIC_BYTES ? left : ENCFILE_MAGIC_BYTES;
	if (memcmp(w->map + w->pos, ENCFILE_MAGIC, m) != 0) {
		size_t q = w->stream == 0 ? headless_chunks(w) : SIZE_MAX;
		if (q != SIZE_MAX) {
			complain("%s: the first %zu bytes are chunks without their stream header (the file was truncated "
				 "under its collector, as logrotate's copytruncate does): dropped",
				 w->path, q);
			worse(w, EXIT_INCOMPLETE);
			w->pos = q;
			return;
		}
		if (w->stream == 0)
			complain("%s: not an encrypted shmlog log (no stream header at byte 0)", w->path);
		else
			complain("%s: at byte %zu: %zu bytes after the final tag of stream %u that are no stream (appended?)",
				 w->path, w->pos, stream_or_end(w, w->pos) - w->pos, w->stream);
		worse(w, 1);
		resync(w);
		return;
	}
	size_t q = next_magic(w, w->pos + 1, w->pos + ENCFILE_HEADER_BYTES);
	if (q != SIZE_MAX) { /* the next stream starts inside this one's header */
		complain("%s: stream %u (byte %zu): its header is cut short, its collector was killed: %zu bytes dropped; "
			 "stream %u follows",
			 w->path, w->stream + 1, w->pos, q - w->pos, w->stream + 2);
		worse(w, EXIT_INCOMPLETE);
		w->stream++;
		w->pos = q;
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
	(*w->opened)++;
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

/*
 * Zero bytes at w->pos, where a chunk or a stream header would start (a
 * chunk header's worth at least: no chunk is 0 bytes, no header starts with
 * one; the file's start included), that reach the end
 * of the file or the next stream header: space a crash left unwritten (the
 * filesystem grew the file, its data never reached the disk). Said in one
 * line and skipped (the stream is unfinished). Returns whether they were.
 */
static bool zero_run(struct walk *w)
{
	size_t z = w->pos;
	while (z < w->size && w->map[z] == 0)
		z++;
	bool header = w->size - z >= ENCFILE_MAGIC_BYTES && memcmp(w->map + z, ENCFILE_MAGIC, ENCFILE_MAGIC_BYTES) == 0;
	if (z - w->pos < ENCFILE_CHUNK_HEADER_BYTES || (z < w->size && !header))
		return false;
	char in[96] = "";
	if (w->in_stream)
		snprintf(in, sizeof in, "stream %u (from byte %zu) is unfinished, ", w->stream, w->stream_at);
	else if (w->stream)
		snprintf(in, sizeof in, "after the final tag of stream %u, ", w->stream);
	complain("%s: at byte %zu: %s%zu zero bytes (space a crash left unwritten)%s; dropped%s", w->path, w->pos, in,
		 z - w->pos, z < w->size ? ", then the next stream" : "",
		 w->held.len ? ", with the last record's pieces" : "");
	worse(w, EXIT_INCOMPLETE);
	w->pos = z;
	w->in_stream = false;
	w->held.len = 0;
	return true;
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
		if (w->map[w->pos] == 0 && zero_run(w))
			continue;
		if (!w->in_stream)
			read_header(w);
		else if (read_chunk(w) < 0)
			return 1;
	}
	walk_end(w);
	wrong_key_line(w);
	if (w->dec && decode_end(w->dec) < 0)
		worse(w, 1);
	return w->status;
}

/* Decrypt path to o, counting the streams that open in *opened. Returns 0, 1 or EXIT_INCOMPLETE. */
static int decrypt_file(const char *path, const struct encfile_key *key, const char *key_path, struct out *o,
			enum text_format f, unsigned *opened)
{
	struct stat st;
	int fd = open_regular(path, NULL, &st);
	if (fd < 0)
		return 1;
	struct walk w = {.path = path, .size = (size_t)st.st_size, .key = key, .key_path = key_path, .opened = opened,
			 .o = o, .format = f};
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

/* The 32 bytes of the key file path into k, its fstat into st. Returns 0 or -1 (said). */
static int read_key(const char *path, struct encfile_key *k, struct stat *st)
{
	int fd = open_regular(path, "the key", st);
	if (fd < 0)
		return -1;
	ssize_t n = st->st_size == ENCFILE_KEY_BYTES ? read(fd, k->key, ENCFILE_KEY_BYTES) : -1;
	close(fd);
	if (n != ENCFILE_KEY_BYTES) {
		complain("%s: not a key: %lld bytes, not %u (made by shmlog keygen)", path, (long long)st->st_size,
			 ENCFILE_KEY_BYTES);
		return -1;
	}
	return 0;
}

/*
 * Where the plaintext goes: standard output; OUT itself when it is a device
 * or a FIFO (written as standard output would be); else a new file beside the
 * file OUT names (symbolic links followed), mode 0600, renamed over it once
 * everything is written, so that it holds either what it held or the whole
 * output, never a truncated mix.
 */
struct dest {
	const char *path; /* OUT, or NULL: standard output */
	char *target;     /* the regular file OUT names, links resolved, or NULL */
	char *tmp;        /* the new file beside it, or NULL */
	bool exists;      /* st is OUT's (or standard output's) file */
	bool over;        /* and it is a regular file, which the output replaces (or appends to) */
	unsigned opened;  /* streams that opened with the key: none, and OUT is left as it was */
	struct stat st;
	struct out o;
};

/* Whether a and b are the same file. Returns that. */
static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* What d's output would write over: OUT if it is (or will be) a regular file, then d->target names it,
 * or standard output if it is one; d->over says whether there is one. Returns 0 or -1 (said). */
static int dest_target(struct dest *d)
{
	int rc = d->path ? stat(d->path, &d->st) : fstat(STDOUT_FILENO, &d->st);
	int e = rc < 0 ? errno : 0;
	d->exists = rc == 0;
	d->over = d->exists && S_ISREG(d->st.st_mode);
	if (!d->path || (d->exists && !d->over))
		return 0;
	struct stat l;
	const char *why = NULL;
	if (e && e != ENOENT)
		why = strerror(e);
	else if (e && lstat(d->path, &l) == 0)
		why = "a symbolic link to nothing";
	else if (!(d->target = e ? strdup(d->path) : realpath(d->path, NULL)))
		why = strerror(errno);
	if (why)
		complain("%s: cannot use it as the output: %s", d->path, why);
	return why ? -1 : 0;
}

/* Whether the file path, st, is what d writes over (what: "the key" or "an input"); if so it says so.
 * Returns that. */
static bool clobbers(const struct dest *d, const char *path, const struct stat *st, const char *what)
{
	if (!d->over || !same_file(&d->st, st))
		return false;
	complain("%s: is both %s and the output (%s%s): refusing to write over it", path, what,
		 d->path ? "-o " : "standard output", d->path ? d->path : "");
	return true;
}

/* Before anything is written: every FILE opens and is a regular file, and neither it nor the key (st) is
 * what d writes over. Returns 0 or -1 (each problem said in one line). */
static int check_files(const struct dest *d, const char *key_path, const struct stat *key_st, char **files,
		       int n)
{
	if (clobbers(d, key_path, key_st, "the key"))
		return -1;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		struct stat st;
		int fd = open_regular(files[i], NULL, &st);
		if (fd < 0) {
			rc = -1;
			continue;
		}
		close(fd);
		if (clobbers(d, files[i], &st, "an input"))
			return -1;
	}
	return rc;
}

/* Open d's output (struct dest). Returns 0 or -1 (said). */
static int dest_open(struct dest *d)
{
	d->o = (struct out){.fd = STDOUT_FILENO, .name = d->path ? d->path : "standard output"};
	if (!d->path)
		return 0;
	bool in_place = !d->target; /* a device or a FIFO (a directory fails to open) */
	d->o.fd = -1;
	if (in_place) /* O_NONBLOCK: a FIFO that no process reads is refused, not waited on; then cleared */
		d->o.fd = open(d->path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	else if ((d->tmp = malloc(strlen(d->target) + sizeof ".XXXXXX")))
		d->o.fd = mkostemp(strcat(strcpy(d->tmp, d->target), ".XXXXXX"), O_CLOEXEC);
	if (d->o.fd >= 0 && (in_place ? fcntl(d->o.fd, F_SETFL, 0) : fchmod(d->o.fd, 0600)) == 0)
		return 0;
	int e = d->tmp || in_place ? errno : ENOMEM;
	complain("%s: cannot %s: %s", d->path, in_place ? "write to it" : "create a new file beside it",
		 e == ENXIO ? "a FIFO that no process reads" : strerror(e));
	if (d->o.fd >= 0) {
		if (d->tmp)
			unlink(d->tmp);
		close(d->o.fd);
	}
	return -1;
}

/* The end of d's output (after dest_open succeeded): the new file synced and renamed over OUT; or, when
 * the output failed or nothing was decrypted, removed, OUT left as it was. Returns 0 or -1 (said). */
static int dest_close(struct dest *d)
{
	int e = 0;
	bool keep = d->tmp && (d->o.err || !d->opened); /* nothing decrypted: a wrong key, or no encrypted log */
	if (d->path) {
		if (d->tmp && !keep && fsync(d->o.fd) < 0)
			e = errno;
		if (close(d->o.fd) < 0 && !e && !keep && !d->o.err)
			e = errno;
		if (e)
			complain("%s: cannot write: %s", d->path, strerror(e));
		else if (d->tmp && !keep && rename(d->tmp, d->target) < 0)
			complain("%s: cannot replace it: %s", d->path, strerror(e = errno));
		if (d->tmp && (keep || e))
			unlink(d->tmp);
	}
	sbuf_free(&d->o.buf);
	return e || d->o.err ? -1 : 0;
}

/* Decrypt the n files to d's output with key (read from key_path). Returns the exit status. */
static int run(struct dest *d, const char *key_path, char **files, int n, enum text_format f)
{
	struct encfile_key key = {0};
	struct stat key_st;
	int status = 1;
	if (encfile_init() == 0 && read_key(key_path, &key, &key_st) == 0 && dest_target(d) == 0 &&
	    check_files(d, key_path, &key_st, files, n) == 0 && dest_open(d) == 0) {
		status = 0;
		for (int i = 0; i < n && !d->o.err; i++) {
			int rc = decrypt_file(files[i], &key, key_path, &d->o, f, &d->opened);
			status = rc == 1 || status == 1 ? 1 : rc ? rc : status;
		}
		if (dest_close(d) < 0)
			status = 1;
	}
	sodium_memzero(&key, sizeof key);
	free(d->target);
	free(d->tmp);
	return status;
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
	const char *key_path = NULL;
	struct dest d = {0};
	enum text_format f = TEXT_FORMAT_TEXT;
	int c;
	while ((c = getopt_long(argc, argv, ":k:o:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key_path = optarg; break;
		case 'o': d.path = optarg; break;
		case 'j': f = TEXT_FORMAT_JSON; break;
		case 'h': fputs(usage_decrypt, stdout); return 0;
		default: return option_misuse(usage_decrypt, "decrypt", c, argv);
		}
	}
	if (!key_path)
		return misuse(usage_decrypt, "decrypt", "no --key KEYFILE given");
	if (optind >= argc)
		return misuse(usage_decrypt, "decrypt", "no FILE given");
	return run(&d, key_path, argv + optind, argc - optind, f);
}
