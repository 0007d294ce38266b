/*
 * crypt.h — the encryption layer of file-shaped writers (the "encrypt"
 * group of a file or binary writer; the file format is shared/encfile.h).
 *
 * A layer, not a writer, like rotate.h: the writer goes on building its
 * plaintext stream (lines, a binary log) and counting it in w->out; the layer
 * sits where those bytes leave for the file. It is told where each record
 * starts (crypt_take, so chunks end at record boundaries), turns the
 * plaintext request prepare made into sealed chunks (crypt_prepare), and
 * turns the ciphertext bytes written back into whole plaintext chunks done
 * (crypt_complete), so the core's progress in records stays exact:
 *
 *   writer add:      crypt_take(c, stream offset, length)
 *   writer prepare:  crypt_prepare(c, req, written, end)   plaintext req -> ciphertext req
 *   writer complete: crypt_complete(c, req) -> plaintext bytes wholly written
 *   closing a file:  crypt_retire(c, fd)                    the final tag (clean close)
 *
 * Sealed chunks not yet written stay cached until they are: a retry (a full
 * disk) resends the same bytes. A stream begins in each new file (the layer
 * notices the descriptor names another file) and ends with a final chunk
 * when the writer lets go of the file cleanly: a rotation, a reopen, close.
 * With compress = "zstd" the layer compresses each chunk's plaintext before
 * sealing it, and the rotated files are left as they are (docs/encryption.md).
 */
#ifndef SHMLOG_CRYPT_H
#define SHMLOG_CRYPT_H

#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../shared/encfile.h"
#include "../shared/sbuf.h"
#include "rotate.h"
#include "uio.h"

struct diag;

struct crypt_piece {
	size_t ct_end;  /* end of this chunk in the cache */
	size_t pt_len;  /* plaintext bytes it covers (0: a header or a final chunk) */
};

struct crypt {
	enum encfile_alg alg;
	struct encfile_key key;
	int zlevel;                   /* compress each chunk at this zstd level; 0: no */
	void *zctx;                   /* ZSTD_CCtx */
	uint8_t *zbuf;                /* a compressed chunk */
	/* the stream */
	struct encfile_stream st;
	bool in_stream;               /* a header was sealed for the file dev/ino */
	dev_t dev;
	ino_t ino;
	uint32_t frame_bytes;         /* a chunk's bytes besides its plaintext (header and tag) */
	/* chunk boundaries (plaintext stream offsets) */
	uint64_t chunk_start;         /* where the chunk being filled starts */
	uint64_t *cuts;               /* record starts that begin a chunk, not yet sealed */
	uint32_t n_cuts, cap_cuts;
	/* sealed and not yet wholly written: plaintext [written, written + sum of pt_len) */
	struct sbuf ct;
	size_t ct_off;                /* cache bytes written */
	struct crypt_piece *pieces;
	uint32_t n_pieces, cap_pieces, first_piece;
};

/* The layer's config key, for a writer type's key list. */
#define CRYPT_KEYS "encrypt"

/*
 * Read the writer group cfg's "encrypt" group, if any, into *out (NULL when
 * absent): load and check the key file (permissions, owner, size). With r's
 * compress on, the layer takes the compression over (r->compress is then
 * cleared); r->frame_file becomes what a stream adds to each file besides
 * its chunks (its header and final chunk), so that max_bytes holds for the
 * file on disk (docs/files.md). Returns 0 or -errno with d->msg as
 * "FILE:LINE: KEY: problem".
 */
int crypt_configure(struct crypt **out, const config_setting_t *cfg, struct rotate *r, struct diag *d);

/* A unit (record) of len bytes starts at stream offset at: place a chunk boundary before it if need be. */
static inline void crypt_take(struct crypt *c, uint64_t at, uint64_t len);

/*
 * req holds plaintext from stream offset written (everything taken ends at
 * end): make it the ciphertext to write to req->fd instead. Returns 1 with
 * *req filled, 0 when there is nothing to write, -errno on failure.
 */
int crypt_prepare(struct crypt *c, struct uio_req *req, uint64_t written, uint64_t end);

/* The ciphertext req ended (req->done written): the plaintext bytes now wholly written, as a req. */
struct uio_req crypt_complete(struct crypt *c, const struct uio_req *req);

/* The writer lets go of the file open as fd: end its stream with the final chunk if it can. */
void crypt_retire(struct crypt *c, int fd);

/* crypt_retire for rotate.h's hook. */
void crypt_retire_hook(void *c, int fd);

void crypt_free(struct crypt *c);

/* --check-config: ", encrypt ALGORITHM, key ID" (and compression) of c; nothing for NULL. */
void crypt_describe(const struct crypt *c, FILE *f);

/* The file was truncated under the writer (copytruncate): what is sealed next begins a new stream in it,
 * the chunks sealed and not written included (their plaintext is sealed again). */
static inline void crypt_restart(struct crypt *c)
{
	c->in_stream = false;
}

/* Out of line: the push of a cut. */
void crypt_cut(struct crypt *c, uint64_t at);

/* Whether a unit of len bytes at stream offset at goes on in the chunk being filled (else it starts one). */
static inline bool crypt_continues(const struct crypt *c, uint64_t at, uint64_t len)
{
	return at > c->chunk_start && at + len - c->chunk_start <= ENCFILE_CHUNK_MAX;
}

static inline void crypt_take(struct crypt *c, uint64_t at, uint64_t len)
{
	if (at > c->chunk_start && at + len - c->chunk_start > ENCFILE_CHUNK_MAX) /* not crypt_continues */
		crypt_cut(c, at);
}

/*
 * What the chunks of a unit of len bytes at stream offset at add to the
 * file (rotate.h's frame): nothing when it goes on in the chunk being
 * filled, else a frame for each 64 KiB of it; and the same as the first
 * unit of a new file. An upper bound: a chunk's plaintext shrinks when zstd
 * comes first, and a reopen that seals again may join chunks.
 */
static inline struct rotate_frame crypt_frame(const struct crypt *c, uint64_t at, uint64_t len)
{
	uint64_t chunks = len ? (len + ENCFILE_CHUNK_MAX - 1) / ENCFILE_CHUNK_MAX : 1;
	uint64_t fresh = chunks * c->frame_bytes;
	return (struct rotate_frame){crypt_continues(c, at, len) ? 0 : fresh, fresh};
}

#endif
