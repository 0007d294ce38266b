/*
 * crypt.c — the encryption layer of file-shaped writers (see crypt.h for the
 * protocol with the writer, shared/encfile.h for the file format).
 *
 * Config: encrypt = { key_file = "..."; } or { recipient_file = "....pub"; },
 * algorithm = "xchacha20poly1305" (default) or "aes256gcm". The key file is
 * read when the config is, so --check-config refuses a bad one: it must be
 * 32 bytes, belong to the collector's user (or root) and give others no
 * access (a recipient file: no write access to others).
 */
#include "crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "../shared/grow.h"
#include "collector.h"
#include "rotate.h"
#include "writer.h"

static const char *const crypt_keys[] = {"key_file", "recipient_file", "algorithm", NULL};

/* Refuse keys of the encrypt group g other than crypt_keys. Returns 0 or -EINVAL (d filled). */
static int check_keys(const config_setting_t *g, struct diag *d)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		bool known = false;
		for (const char *const *k = crypt_keys; *k; k++)
			known |= strcmp(*k, config_setting_name(s)) == 0;
		if (!known) {
			writer_diag(d, s, NULL, "unknown key for encrypt (known: key_file, recipient_file, algorithm)");
			return -EINVAL;
		}
	}
	return 0;
}

/* algorithm into c->alg. Returns 0 or -EINVAL (d filled). */
static int read_alg(struct crypt *c, const config_setting_t *g, struct diag *d)
{
	const char *v = "xchacha20poly1305";
	int rc = writer_cfg_string(g, "algorithm", &v, d);
	const config_setting_t *s = config_setting_get_member(g, "algorithm");
	if (rc < 0)
		return rc;
	if (strcmp(v, "xchacha20poly1305") == 0) {
		c->alg = ENCFILE_ALG_XCHACHA20POLY1305;
	} else if (strcmp(v, "aes256gcm") == 0) {
		c->alg = ENCFILE_ALG_AES256GCM;
		if (!encfile_alg_available(c->alg)) {
			writer_diag(d, s, NULL, "aes256gcm needs AES-NI, which this CPU lacks; use \"xchacha20poly1305\"");
			return -EINVAL;
		}
	} else {
		writer_diag(d, s, NULL, "must be \"xchacha20poly1305\" or \"aes256gcm\", not \"%s\"%s", v,
			    strstr(v, "cbc") ? " (CBC is not offered: it is unauthenticated)" : "");
		return -EINVAL;
	}
	return 0;
}

/*
 * Read the 32 bytes of the key file at path (member key of g) into out,
 * refusing a file others may read (secret) or write (public), or of another
 * owner than us or root. Returns 0 or -EINVAL (d filled).
 */
static int load_key(const config_setting_t *g, const char *key, const char *path, bool secret, uint8_t *out,
		    struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO is refused, not waited on */
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		writer_diag(d, s, NULL, "cannot open \"%s\": %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	mode_t bad = secret ? 077 : 022;
	ssize_t n = 0;
	if (!S_ISREG(st.st_mode))
		writer_diag(d, s, NULL, "\"%s\" is not a regular file", path);
	else if (st.st_mode & bad)
		writer_diag(d, s, NULL, "\"%s\" has mode %04o: others may %s it (chmod 600)", path,
			    (unsigned)(st.st_mode & 07777), secret ? "read or write" : "write");
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		writer_diag(d, s, NULL, "\"%s\" belongs to uid %u, not to the collector's user (uid %u) or root", path,
			    (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_size != ENCFILE_KEY_BYTES || (n = read(fd, out, ENCFILE_KEY_BYTES)) != ENCFILE_KEY_BYTES)
		writer_diag(d, s, NULL, "\"%s\" is %lld bytes, not a %u-byte key (make one with shmlog keygen)", path,
			    (long long)st.st_size, ENCFILE_KEY_BYTES);
	close(fd);
	return n == ENCFILE_KEY_BYTES ? 0 : -EINVAL;
}

/* key_file or recipient_file (exactly one) into c->key. Returns 0 or -EINVAL (d filled). */
static int read_key(struct crypt *c, const config_setting_t *g, struct diag *d)
{
	const char *kf = NULL, *rf = NULL;
	int a = writer_cfg_string(g, "key_file", &kf, d), b = a < 0 ? a : writer_cfg_string(g, "recipient_file", &rf, d);
	if (a < 0 || b < 0)
		return -EINVAL;
	if (a == b) {
		writer_diag(d, g, NULL, a ? "key_file and recipient_file exclude each other"
					  : "needs key_file (shmlog keygen) or recipient_file (shmlog keygen --public)");
		return -EINVAL;
	}
	int rc;
	if (kf) {
		c->key.mode = ENCFILE_KEY_SECRET;
		rc = load_key(g, "key_file", kf, true, c->key.key, d);
		encfile_key_id(c->key.id, c->key.key);
	} else {
		c->key.mode = ENCFILE_KEY_SEALED;
		rc = load_key(g, "recipient_file", rf, false, c->key.pub, d);
		encfile_key_id(c->key.id, c->key.pub);
	}
	return rc;
}

/* The zstd context and buffer, with compression. Returns 0 or -ENOMEM (d filled). */
static int alloc_bufs(struct crypt *c, struct diag *d)
{
	if (c->zlevel) {
		c->zctx = ZSTD_createCCtx();
		c->zbuf = malloc(ZSTD_compressBound(ENCFILE_CHUNK_MAX));
	}
	if (c->zlevel && (!c->zctx || !c->zbuf)) {
		snprintf(d->msg, sizeof d->msg, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int crypt_configure(struct crypt **out, const config_setting_t *cfg, struct rotate *r, struct diag *d)
{
	*out = NULL;
	const config_setting_t *g = cfg ? config_setting_get_member(cfg, "encrypt") : NULL;
	if (!g)
		return 0;
	if (!config_setting_is_group(g)) {
		writer_diag(d, g, NULL, "expected a group { key_file = \"...\"; }");
		return -EINVAL;
	}
	if (encfile_init() < 0) {
		writer_diag(d, g, NULL, "libsodium does not start");
		return -EINVAL;
	}
	struct crypt *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(d->msg, sizeof d->msg, "out of memory");
		return -ENOMEM;
	}
	if (r->compress) { /* compress first, then encrypt: per chunk (crypt.h) */
		c->zlevel = r->level;
		r->compress = false;
	}
	int rc = check_keys(g, d);
	if (rc == 0 && (rc = read_alg(c, g, d)) == 0 && (rc = read_key(c, g, d)) == 0)
		rc = alloc_bufs(c, d);
	if (rc < 0) {
		crypt_free(c);
		return rc;
	}
	c->frame_bytes = (uint32_t)(ENCFILE_CHUNK_HEADER_BYTES + encfile_tag_bytes(c->alg));
	r->frame_file = ENCFILE_HEADER_BYTES + c->frame_bytes;
	*out = c;
	return 0;
}

void crypt_cut(struct crypt *c, uint64_t at)
{
	c->chunk_start = at;
	if (GROW(c->cuts, c->n_cuts, c->cap_cuts, 16) < 0)
		return; /* the chunk grows past 64 KiB; crypt_prepare splits it with MORE */
	c->cuts[c->n_cuts++] = at;
}

/* The cache's last len bytes are one piece covering pt_len plaintext bytes. Returns 0 or -ENOMEM. */
static int add_piece(struct crypt *c, size_t pt_len)
{
	if (GROW(c->pieces, c->n_pieces, c->cap_pieces, 16) < 0)
		return -ENOMEM;
	c->pieces[c->n_pieces++] = (struct crypt_piece){c->ct.len, pt_len};
	return 0;
}

/* Seal pt[0..len) with flags at the end of the cache, as a piece covering pt_len plaintext bytes.
 * Returns 0 or -ENOMEM. */
static int seal_into_cache(struct crypt *c, const uint8_t *pt, size_t len, uint32_t flags, size_t pt_len)
{
	if (sbuf_reserve(&c->ct, ENCFILE_CHUNK_HEADER_BYTES + len + ENCFILE_TAG_MAX) < 0)
		return -ENOMEM;
	c->ct.len += encfile_seal(&c->st, (uint8_t *)c->ct.data + c->ct.len, pt, len, flags);
	return add_piece(c, pt_len);
}

static void cache_reset(struct crypt *c)
{
	sbuf_reset(&c->ct);
	c->ct_off = 0;
	c->n_pieces = c->first_piece = 0;
}

/* Seal pt[0..len) (compressed if that helps) into the cache. Returns 0 or -ENOMEM. */
static int seal_chunk(struct crypt *c, const uint8_t *pt, size_t len, uint32_t flags)
{
	const uint8_t *in = pt;
	size_t in_len = len;
	if (c->zlevel && len) {
		size_t z = ZSTD_compressCCtx(c->zctx, c->zbuf, ZSTD_compressBound(ENCFILE_CHUNK_MAX), pt, len, c->zlevel);
		if (!ZSTD_isError(z) && z < len) {
			in = c->zbuf;
			in_len = z;
			flags |= ENCFILE_CFLAG_ZSTD;
		}
	}
	return seal_into_cache(c, in, in_len, flags, len);
}

/* Begin a stream for the file open as fd: its header into the cache. Returns 0 or -errno. */
static int begin_stream(struct crypt *c, int fd)
{
	struct stat st;
	uint8_t hdr[ENCFILE_HEADER_BYTES];
	if (fstat(fd, &st) < 0)
		return -errno;
	if (encfile_begin(&c->st, hdr, c->alg, &c->key, c->zlevel ? ENCFILE_HFLAG_ZSTD : 0) < 0)
		return -EIO;
	c->in_stream = true;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	sbuf_append(&c->ct, hdr, sizeof hdr);
	return c->ct.oom ? -ENOMEM : add_piece(c, 0);
}

/* Whether the stream is the file open as fd. */
static bool same_file(const struct crypt *c, int fd)
{
	struct stat st;
	return c->in_stream && fstat(fd, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino;
}

/* Seal plaintext [written, written + len) at pt into chunks: at the cuts, and at most
 * ENCFILE_CHUNK_MAX each (a longer record in pieces flagged MORE). Returns 0 or -ENOMEM. */
static int seal_range(struct crypt *c, const uint8_t *pt, size_t len, uint64_t written)
{
	size_t pos = 0;
	uint32_t k = 0;
	while (pos < len) {
		while (k < c->n_cuts && c->cuts[k] <= written + pos)
			k++;
		size_t end = k < c->n_cuts && c->cuts[k] < written + len ? (size_t)(c->cuts[k] - written) : len;
		size_t n = end - pos > ENCFILE_CHUNK_MAX ? ENCFILE_CHUNK_MAX : end - pos;
		int rc = seal_chunk(c, pt + pos, n, pos + n < end ? ENCFILE_CFLAG_MORE : 0);
		if (rc < 0)
			return rc;
		pos += n;
	}
	while (k < c->n_cuts && c->cuts[k] <= written + len)
		k++;
	if (k) {
		memmove(c->cuts, c->cuts + k, (c->n_cuts - k) * sizeof *c->cuts);
		c->n_cuts -= k;
	}
	return 0;
}

/* The final chunk of the stream into the cache. Returns 0 or -ENOMEM. */
static int seal_final(struct crypt *c)
{
	c->in_stream = false;
	return seal_into_cache(c, NULL, 0, ENCFILE_CFLAG_FINAL, 0);
}

/* Seal req's plaintext into the empty cache, in a new stream if the file is new. Returns 0 or -errno. */
static int seal_req(struct crypt *c, const struct uio_req *req, uint64_t written)
{
	int rc = 0;
	if (c->in_stream && c->st.ct_total > ENCFILE_STREAM_LIMIT && (rc = seal_final(c)) < 0)
		return rc;
	if (!same_file(c, req->fd) && (rc = begin_stream(c, req->fd)) < 0)
		return rc;
	return seal_range(c, (const uint8_t *)req->buf, req->len, written);
}

int crypt_prepare(struct crypt *c, struct uio_req *req, uint64_t written, uint64_t end)
{
	if (c->ct.len && !same_file(c, req->fd))
		cache_reset(c); /* sealed for a file let go of: its plaintext is sealed again below */
	if (c->ct.len == 0) {
		if (req->len == 0)
			return 0;
		int rc = seal_req(c, req, written);
		if (rc < 0) {
			cache_reset(c);
			c->in_stream = false; /* chunks of the lost cache are missing: start afresh */
			return rc;
		}
		if (written + req->len == end)
			c->chunk_start = end;
	}
	req->buf = c->ct.data + c->ct_off;
	req->len = c->ct.len - c->ct_off;
	return 1;
}

struct uio_req crypt_complete(struct crypt *c, const struct uio_req *req)
{
	struct uio_req pt = *req;
	pt.done = 0;
	c->ct_off += req->done;
	while (c->first_piece < c->n_pieces && c->pieces[c->first_piece].ct_end <= c->ct_off)
		pt.done += c->pieces[c->first_piece++].pt_len;
	if (c->ct_off == c->ct.len)
		cache_reset(c);
	return pt;
}

void crypt_retire(struct crypt *c, int fd)
{
	/* chunks sealed and not written: the stream stays unfinished (their plaintext goes to the next) */
	if (!c || fd < 0 || c->ct.len)
		return;
	/* nothing was sealed for this file in this open: an empty stream says that it ended cleanly,
	 * so that only a collector killed before its first record leaves an empty file */
	if (!same_file(c, fd) && begin_stream(c, fd) < 0) {
		cache_reset(c);
		c->in_stream = false;
		return;
	}
	if (seal_final(c) == 0)
		uio_write_all(fd, c->ct.data, c->ct.len);
	cache_reset(c);
}

void crypt_retire_hook(void *c, int fd)
{
	crypt_retire(c, fd);
}

void crypt_free(struct crypt *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->zctx);
	free(c->zbuf);
	free(c->cuts);
	free(c->pieces);
	sbuf_free(&c->ct);
	sodium_memzero(c, sizeof *c);
	free(c);
}

void crypt_describe(const struct crypt *c, FILE *f)
{
	if (!c)
		return;
	fprintf(f, ", encrypt %s, %s ", encfile_alg_name(c->alg),
		c->key.mode == ENCFILE_KEY_SEALED ? "file keys sealed to recipient key" : "key");
	for (size_t i = 0; i < sizeof c->key.id; i++)
		fprintf(f, "%02x", c->key.id[i]);
	if (c->zlevel)
		fprintf(f, ", zstd level %d before sealing", c->zlevel);
}
