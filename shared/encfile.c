/*
 * encfile.c — sealing and opening the streams of an encrypted log file
 * (the format is encfile.h). The collector's encryption layer seals, `shmlog
 * decrypt` opens; both through these functions, so the two can only agree.
 * Every primitive is libsodium's: crypto_secretstream_xchacha20poly1305 or
 * crypto_aead_aes256gcm for the chunks, crypto_secretbox or crypto_box_seal
 * for the file key, keyed crypto_generichash for the header.
 */
#include "encfile.h"

#include <stdbool.h>
#include <string.h>

int encfile_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int encfile_alg_available(enum encfile_alg alg)
{
	return alg == ENCFILE_ALG_XCHACHA20POLY1305 || (alg == ENCFILE_ALG_AES256GCM && crypto_aead_aes256gcm_is_available());
}

const char *encfile_alg_name(int alg)
{
	return alg == ENCFILE_ALG_XCHACHA20POLY1305 ? "xchacha20poly1305" : alg == ENCFILE_ALG_AES256GCM ? "aes256gcm" : "unknown";
}

void encfile_key_id(uint8_t id[ENCFILE_KEY_ID_BYTES], const uint8_t key[ENCFILE_KEY_BYTES])
{
	uint8_t h[crypto_generichash_BYTES_MIN];
	crypto_generichash(h, sizeof h, key, ENCFILE_KEY_BYTES, NULL, 0);
	memcpy(id, h, ENCFILE_KEY_ID_BYTES);
}

/* The header's MAC over its first ENCFILE_OFF_MAC bytes, under s's file key, into mac. */
static void header_mac(const struct encfile_stream *s, const uint8_t *hdr, uint8_t *mac)
{
	crypto_generichash(mac, ENCFILE_MAC_BYTES, hdr, ENCFILE_OFF_MAC, s->key, sizeof s->key);
}

/* The file key of s wrapped for k into hdr's wrapped_key. Returns 0 or -1. */
static int wrap_key(const struct encfile_stream *s, uint8_t *hdr, const struct encfile_key *k)
{
	uint8_t *w = hdr + ENCFILE_OFF_WRAPPED;
	if (k->mode == ENCFILE_KEY_SEALED)
		return crypto_box_seal(w, s->key, sizeof s->key, k->pub);
	static_assert(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + ENCFILE_KEY_BYTES <= ENCFILE_WRAPPED_BYTES,
		      "the wrapped key fits");
	static_assert(crypto_box_SEALBYTES + ENCFILE_KEY_BYTES == ENCFILE_WRAPPED_BYTES, "the sealed key fits");
	randombytes_buf(w, crypto_secretbox_NONCEBYTES);
	return crypto_secretbox_easy(w + crypto_secretbox_NONCEBYTES, s->key, sizeof s->key, w, k->key);
}

int encfile_begin(struct encfile_stream *s, uint8_t *hdr, enum encfile_alg alg, const struct encfile_key *k,
		  uint16_t hflags)
{
	memset(hdr, 0, ENCFILE_HEADER_BYTES);
	s->alg = alg;
	s->index = 0;
	s->ct_total = ENCFILE_HEADER_BYTES;
	crypto_secretstream_xchacha20poly1305_keygen(s->key);
	memcpy(hdr, ENCFILE_MAGIC, ENCFILE_MAGIC_BYTES);
	hdr[ENCFILE_OFF_VERSION] = ENCFILE_VERSION;
	hdr[ENCFILE_OFF_ALG] = (uint8_t)alg;
	hdr[ENCFILE_OFF_KEY_MODE] = (uint8_t)k->mode;
	hdr[ENCFILE_OFF_HEADER_BYTES] = (uint8_t)ENCFILE_HEADER_BYTES;
	hdr[ENCFILE_OFF_FLAGS] = (uint8_t)hflags;
	memcpy(hdr + ENCFILE_OFF_KEY_ID, k->id, ENCFILE_KEY_ID_BYTES);
	if (wrap_key(s, hdr, k) != 0)
		return -1;
	int rc = alg == ENCFILE_ALG_AES256GCM
			 ? crypto_aead_aes256gcm_beforenm(&s->aes, s->key)
			 : crypto_secretstream_xchacha20poly1305_init_push(&s->ss, hdr + ENCFILE_OFF_STREAM_INIT, s->key);
	header_mac(s, hdr, hdr + ENCFILE_OFF_MAC);
	return rc == 0 ? 0 : -1;
}

/* The chunk header of a chunk of ct_bytes with index and flags into p. */
static void put_chunk_header(uint8_t *p, uint32_t ct_bytes, uint32_t index, uint32_t flags)
{
	encfile_put32(p, ct_bytes);
	encfile_put32(p + 4, ~ct_bytes);
	encfile_put32(p + 8, index);
	encfile_put32(p + 12, flags);
}

/* The AES-GCM nonce of chunk index: the index, little-endian, zero-padded. */
static void aes_nonce(uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES], uint32_t index)
{
	memset(nonce, 0, crypto_aead_aes256gcm_NPUBBYTES);
	encfile_put32(nonce, index);
}

size_t encfile_tag_bytes(enum encfile_alg alg)
{
	return alg == ENCFILE_ALG_AES256GCM ? crypto_aead_aes256gcm_ABYTES : crypto_secretstream_xchacha20poly1305_ABYTES;
}

size_t encfile_seal(struct encfile_stream *s, uint8_t *out, const uint8_t *pt, size_t len, uint32_t flags)
{
	uint32_t ct_bytes = (uint32_t)(len + encfile_tag_bytes(s->alg));
	put_chunk_header(out, ct_bytes, s->index, flags);
	uint8_t *ct = out + ENCFILE_CHUNK_HEADER_BYTES;
	if (s->alg == ENCFILE_ALG_AES256GCM) {
		uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES];
		aes_nonce(nonce, s->index);
		crypto_aead_aes256gcm_encrypt_afternm(ct, NULL, pt, len, out, ENCFILE_CHUNK_HEADER_BYTES, NULL, nonce,
						      &s->aes);
	} else {
		uint8_t tag = flags & ENCFILE_CFLAG_FINAL ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
							  : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
		crypto_secretstream_xchacha20poly1305_push(&s->ss, ct, NULL, pt, len, out, ENCFILE_CHUNK_HEADER_BYTES,
							   tag);
	}
	s->index++;
	s->ct_total += ENCFILE_CHUNK_HEADER_BYTES + ct_bytes;
	return ENCFILE_CHUNK_HEADER_BYTES + ct_bytes;
}

/* Check the fixed fields of hdr. Returns ENCFILE_OK or why not. */
static enum encfile_bad check_fields(const uint8_t *hdr)
{
	if (memcmp(hdr, ENCFILE_MAGIC, ENCFILE_MAGIC_BYTES) != 0)
		return ENCFILE_BAD_MAGIC;
	if (hdr[ENCFILE_OFF_VERSION] != ENCFILE_VERSION || hdr[ENCFILE_OFF_VERSION + 1] != 0)
		return ENCFILE_BAD_VERSION;
	uint8_t alg = hdr[ENCFILE_OFF_ALG], mode = hdr[ENCFILE_OFF_KEY_MODE];
	if ((alg != ENCFILE_ALG_XCHACHA20POLY1305 && alg != ENCFILE_ALG_AES256GCM) ||
	    (mode != ENCFILE_KEY_SECRET && mode != ENCFILE_KEY_SEALED) ||
	    hdr[ENCFILE_OFF_HEADER_BYTES] != ENCFILE_HEADER_BYTES || hdr[ENCFILE_OFF_HEADER_BYTES + 1] != 0)
		return ENCFILE_BAD_FIELD;
	if (!encfile_alg_available(alg))
		return ENCFILE_NO_AES;
	return ENCFILE_OK;
}

/* The file key of hdr, unwrapped with the reader's key k, into s->key. Returns 0 or -1. */
static int unwrap_key(struct encfile_stream *s, const uint8_t *hdr, const struct encfile_key *k, uint8_t *id)
{
	const uint8_t *w = hdr + ENCFILE_OFF_WRAPPED;
	if (hdr[ENCFILE_OFF_KEY_MODE] == ENCFILE_KEY_SEALED) {
		uint8_t pub[crypto_box_PUBLICKEYBYTES];
		crypto_scalarmult_base(pub, k->key);
		encfile_key_id(id, pub);
		return crypto_box_seal_open(s->key, w, ENCFILE_WRAPPED_BYTES, pub, k->key);
	}
	encfile_key_id(id, k->key);
	return crypto_secretbox_open_easy(s->key, w + crypto_secretbox_NONCEBYTES,
					  crypto_secretbox_MACBYTES + ENCFILE_KEY_BYTES, w, k->key);
}

enum encfile_bad encfile_open(struct encfile_stream *s, const uint8_t *hdr, const struct encfile_key *k)
{
	enum encfile_bad bad = check_fields(hdr);
	if (bad != ENCFILE_OK)
		return bad;
	uint8_t id[ENCFILE_KEY_ID_BYTES], mac[ENCFILE_MAC_BYTES];
	int unwrapped = unwrap_key(s, hdr, k, id) == 0;
	bool same_id = memcmp(id, hdr + ENCFILE_OFF_KEY_ID, sizeof id) == 0;
	if (!unwrapped)
		return same_id ? ENCFILE_BAD_WRAP : ENCFILE_WRONG_KEY;
	header_mac(s, hdr, mac);
	if (!same_id || sodium_memcmp(mac, hdr + ENCFILE_OFF_MAC, sizeof mac) != 0)
		return ENCFILE_BAD_MAC;
	s->alg = hdr[ENCFILE_OFF_ALG];
	s->index = 0;
	s->ct_total = ENCFILE_HEADER_BYTES;
	int rc = s->alg == ENCFILE_ALG_AES256GCM
			 ? crypto_aead_aes256gcm_beforenm(&s->aes, s->key)
			 : crypto_secretstream_xchacha20poly1305_init_pull(&s->ss, hdr + ENCFILE_OFF_STREAM_INIT, s->key);
	return rc == 0 ? ENCFILE_OK : ENCFILE_BAD_MAC;
}

int encfile_chunk_parse(const uint8_t *p, struct encfile_chunk *c)
{
	c->ct_bytes = encfile_get32(p);
	c->index = encfile_get32(p + 8);
	c->flags = encfile_get32(p + 12);
	if (encfile_get32(p + 4) != ~c->ct_bytes || c->ct_bytes > ENCFILE_CT_MAX || c->ct_bytes < crypto_aead_aes256gcm_ABYTES)
		return -1;
	return 0;
}

long encfile_unseal(struct encfile_stream *s, const uint8_t *p, const struct encfile_chunk *c, uint8_t *pt)
{
	const uint8_t *ct = p + ENCFILE_CHUNK_HEADER_BYTES;
	unsigned long long len = 0;
	if (c->ct_bytes < encfile_tag_bytes(s->alg))
		return -1;
	if (s->alg == ENCFILE_ALG_AES256GCM) {
		uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES];
		aes_nonce(nonce, s->index);
		if (crypto_aead_aes256gcm_decrypt_afternm(pt, &len, NULL, ct, c->ct_bytes, p, ENCFILE_CHUNK_HEADER_BYTES,
							  nonce, &s->aes) != 0)
			return -1;
	} else {
		uint8_t tag;
		if (crypto_secretstream_xchacha20poly1305_pull(&s->ss, pt, &len, &tag, ct, c->ct_bytes, p,
							       ENCFILE_CHUNK_HEADER_BYTES) != 0)
			return -1;
		if ((tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) != !!(c->flags & ENCFILE_CFLAG_FINAL))
			return -1;
	}
	s->index++;
	s->ct_total += ENCFILE_CHUNK_HEADER_BYTES + c->ct_bytes;
	return (long)len;
}

void encfile_stream_wipe(struct encfile_stream *s)
{
	sodium_memzero(s, sizeof *s);
}
