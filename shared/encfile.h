/*
 * encfile.h — the encrypted log file, specified here as shared/abi.h
 * specifies the segment: the one source of truth, written by the collector's
 * encryption layer (collector/crypt.c) and read by `shmlog decrypt`
 * (tools/decrypt.c). The sealing and opening code both use is encfile.c.
 *
 * Rules:
 *
 *  1. Every integer is little-endian. Nothing is aligned: read with memcpy.
 *  2. A file is a sequence of streams. The writer starts one at every open
 *     (each collector start appends one to an existing file), after every
 *     rotation (in the new file), after a reopen, and after
 *     ENCFILE_STREAM_LIMIT bytes in one stream. A stream is a stream header,
 *     then chunks; a clean close ends it with a chunk flagged FINAL.
 *  3. Each stream has its own random 32-byte file key (a fresh key per
 *     stream keeps AES-256-GCM far below its limit per key). The header
 *     carries it wrapped: with a symmetric key file, by crypto_secretbox
 *     (XSalsa20-Poly1305) under the key; in public-key mode, sealed by
 *     crypto_box_seal to the recipient's public key, so the writer's host
 *     keeps nothing that opens it.
 *  4. A chunk holds at most ENCFILE_CHUNK_MAX plaintext bytes and never
 *     more than one batch. Chunks end at record boundaries; only a record
 *     bigger than ENCFILE_CHUNK_MAX spans chunks, each but its last flagged
 *     MORE, so a crash never leaves part of a record readable.
 *  5. A chunk is authenticated with its 16-byte chunk header as associated
 *     data: its length, its index in the stream (from 0) and its flags, so
 *     a chunk moved, dropped, repeated or carried over from another stream
 *     fails, and a FINAL flag cannot be added or removed.
 *  6. The stream header is authenticated by header_mac, keyed BLAKE2b of
 *     every header byte before it under the file key.
 *  7. A crash mid-write leaves a torn chunk at the end of the stream; the
 *     restarted writer's stream header follows it. Every earlier chunk
 *     still opens. A crash can also leave zeros where a chunk would start
 *     (the filesystem grew the file, the data never reached the disk): no
 *     chunk header is all zeros (ct_bytes >= the tag), so a reader takes
 *     zeros from there to the end, or to the next stream header, for the
 *     end of an unfinished stream.
 *
 * Stream header (ENCFILE_HEADER_BYTES = 144):
 *
 *   off size field
 *     0    8 magic          ENCFILE_MAGIC, "SHMLOGE\0"
 *     8    2 version        ENCFILE_VERSION: a reader refuses another one, naming both
 *    10    1 algorithm      ENCFILE_ALG_XCHACHA20POLY1305 (1) or ENCFILE_ALG_AES256GCM (2)
 *    11    1 key_mode       ENCFILE_KEY_SECRET (1) or ENCFILE_KEY_SEALED (2)
 *    12    2 header_bytes   ENCFILE_HEADER_BYTES
 *    14    2 flags          ENCFILE_HFLAG_ZSTD: chunk plaintexts may be zstd frames
 *    16    8 key_id         first 8 bytes of BLAKE2b(key) (KEY_SECRET) or of the public key (SEALED)
 *    24   80 wrapped_key    SECRET: nonce (24) + secretbox (48) + 8 zero bytes; SEALED: box_seal (80)
 *   104   24 stream_init    crypto_secretstream's header (xchacha20poly1305); zero for aes256gcm
 *   128   16 header_mac     BLAKE2b-128 of bytes 0..127, keyed with the file key
 *
 * Chunk (ENCFILE_CHUNK_HEADER_BYTES + ct_bytes):
 *
 *     0    4 ct_bytes       ciphertext bytes after this header (plaintext + the algorithm's tag)
 *     4    4 ct_bytes_check ~ct_bytes: a damaged length is told from a damaged chunk
 *     8    4 index          the chunk's position in its stream, from 0
 *    12    4 flags          ENCFILE_CFLAG_FINAL, _MORE, _ZSTD
 *    16    . ciphertext     xchacha20poly1305: crypto_secretstream push (tag FINAL on the final
 *                           chunk, else MESSAGE); aes256gcm: crypto_aead_aes256gcm with the
 *                           index (little-endian, zero-padded) as nonce
 *
 * The plaintext of a stream's chunks, concatenated, is exactly what the
 * writer would have written to the file without encryption (after
 * decompressing chunks flagged ZSTD): lines, or a binary log.
 */
#ifndef SHMLOG_ENCFILE_H
#define SHMLOG_ENCFILE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define ENCFILE_MAGIC "SHMLOGE" /* with its NUL: 8 bytes */
#define ENCFILE_MAGIC_BYTES 8u
#define ENCFILE_VERSION 1u
#define ENCFILE_HEADER_BYTES 144u
#define ENCFILE_CHUNK_HEADER_BYTES 16u
#define ENCFILE_CHUNK_MAX (64u * 1024u)          /* plaintext bytes in one chunk */
#define ENCFILE_TAG_MAX 17u                      /* the larger of the two algorithms' tags */
#define ENCFILE_CT_MAX (ENCFILE_CHUNK_MAX + 1024u + ENCFILE_TAG_MAX) /* zstd may grow a chunk a little */
#define ENCFILE_STREAM_LIMIT (64ull << 30)       /* ciphertext bytes before a stream is ended and a new one begun */
#define ENCFILE_KEY_BYTES 32u
#define ENCFILE_KEY_ID_BYTES 8u
#define ENCFILE_WRAPPED_BYTES 80u

enum encfile_alg {
	ENCFILE_ALG_XCHACHA20POLY1305 = 1,
	ENCFILE_ALG_AES256GCM = 2,
};

enum encfile_key_mode {
	ENCFILE_KEY_SECRET = 1,
	ENCFILE_KEY_SEALED = 2,
};

#define ENCFILE_HFLAG_ZSTD 1u
#define ENCFILE_CFLAG_FINAL 1u /* the stream ended cleanly here (an empty chunk) */
#define ENCFILE_CFLAG_MORE 2u  /* the record goes on in the next chunk */
#define ENCFILE_CFLAG_ZSTD 4u  /* the plaintext is one zstd frame */

/* Field offsets of the stream header. */
#define ENCFILE_OFF_VERSION 8u
#define ENCFILE_OFF_ALG 10u
#define ENCFILE_OFF_KEY_MODE 11u
#define ENCFILE_OFF_HEADER_BYTES 12u
#define ENCFILE_OFF_FLAGS 14u
#define ENCFILE_OFF_KEY_ID 16u
#define ENCFILE_OFF_WRAPPED 24u
#define ENCFILE_OFF_STREAM_INIT 104u
#define ENCFILE_OFF_MAC 128u
#define ENCFILE_MAC_BYTES 16u

static_assert(sizeof ENCFILE_MAGIC == ENCFILE_MAGIC_BYTES, "the magic is 8 bytes with its NUL");
static_assert(ENCFILE_OFF_WRAPPED + ENCFILE_WRAPPED_BYTES == ENCFILE_OFF_STREAM_INIT, "header layout");
static_assert(ENCFILE_OFF_STREAM_INIT + 24u == ENCFILE_OFF_MAC, "header layout");
static_assert(ENCFILE_OFF_MAC + ENCFILE_MAC_BYTES == ENCFILE_HEADER_BYTES, "header layout");

/* A chunk header, decoded. */
struct encfile_chunk {
	uint32_t ct_bytes;
	uint32_t index;
	uint32_t flags;
};

/* What sealing or opening one stream needs (encfile.c). */
struct encfile_stream {
	enum encfile_alg alg;
	uint8_t key[ENCFILE_KEY_BYTES]; /* the stream's file key */
	crypto_secretstream_xchacha20poly1305_state ss; /* xchacha20poly1305 */
	crypto_aead_aes256gcm_state aes;                /* aes256gcm: the key expanded */
	uint32_t index;                 /* the next chunk's index */
	uint64_t ct_total;              /* ciphertext bytes so far */
};

/* The key a stream is written or read with. */
struct encfile_key {
	enum encfile_key_mode mode;     /* writer: how it wraps; reader: unused (the header says) */
	uint8_t key[ENCFILE_KEY_BYTES]; /* writer SECRET, reader: the key file's 32 bytes */
	uint8_t pub[ENCFILE_KEY_BYTES]; /* writer SEALED: the recipient's public key */
	uint8_t id[ENCFILE_KEY_ID_BYTES]; /* writer: the key id its headers carry */
};

static inline void encfile_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t encfile_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Start libsodium. Returns 0 or -1. */
int encfile_init(void);

/* Whether algorithm alg runs here (aes256gcm needs AES-NI). */
int encfile_alg_available(enum encfile_alg alg);

/* The key id of a 32-byte key (symmetric) or public key: the first bytes of its BLAKE2b. */
void encfile_key_id(uint8_t id[ENCFILE_KEY_ID_BYTES], const uint8_t key[ENCFILE_KEY_BYTES]);

/*
 * Start a stream: a fresh file key wrapped for k, the stream header into
 * hdr (ENCFILE_HEADER_BYTES), s ready to seal. Returns 0 or -1.
 */
int encfile_begin(struct encfile_stream *s, uint8_t *hdr, enum encfile_alg alg, const struct encfile_key *k,
		  uint16_t hflags) __attribute__((warn_unused_result));

/*
 * Seal pt[0..len) as the next chunk with flags into out, which has room for
 * ENCFILE_CHUNK_HEADER_BYTES + len + ENCFILE_TAG_MAX bytes. Returns the
 * chunk's size in bytes.
 */
size_t encfile_seal(struct encfile_stream *s, uint8_t *out, const uint8_t *pt, size_t len, uint32_t flags);

/* The tag's bytes in each chunk of alg (a chunk is ENCFILE_CHUNK_HEADER_BYTES + its plaintext + this). */
size_t encfile_tag_bytes(enum encfile_alg alg);

/* Why a stream header does not open. */
enum encfile_bad {
	ENCFILE_OK,
	ENCFILE_BAD_MAGIC,
	ENCFILE_BAD_VERSION,
	ENCFILE_BAD_FIELD,   /* algorithm, key mode or size unknown */
	ENCFILE_NO_AES,      /* aes256gcm without AES-NI here */
	ENCFILE_WRONG_KEY,   /* key id differs and the file key does not unwrap */
	ENCFILE_BAD_WRAP,    /* key id matches, the wrapped key is damaged */
	ENCFILE_BAD_MAC,     /* the header was modified */
};

/* Open a stream header hdr with k (a reader's key) into s. Returns ENCFILE_OK or why not. */
enum encfile_bad encfile_open(struct encfile_stream *s, const uint8_t *hdr, const struct encfile_key *k);

/* Decode a chunk header. Returns 0, or -1 when its length check fails or it is too long. */
int encfile_chunk_parse(const uint8_t *p, struct encfile_chunk *c);

/*
 * Open the chunk at p (header and c->ct_bytes of ciphertext) into pt (room
 * for c->ct_bytes). Returns the plaintext length, or -1 if it does not
 * authenticate.
 */
long encfile_unseal(struct encfile_stream *s, const uint8_t *p, const struct encfile_chunk *c, uint8_t *pt);

/* Forget s's keys. */
void encfile_stream_wipe(struct encfile_stream *s);

/* A name for algorithm alg ("xchacha20poly1305"), or "unknown". */
const char *encfile_alg_name(int alg);

#endif
