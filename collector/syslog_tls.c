/*
 * syslog_tls.c — TLS for the syslog writer through OpenSSL 3 (see
 * syslog_tls.h). The socket is the writer's non-blocking TCP socket;
 * OpenSSL reads and writes it directly, and every call here returns at
 * once: a handshake or a write that would block is taken up again on the
 * collector's next cycle.
 */
#include "syslog_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tls_keys[] = {"ca_file", "server_name", "cert_file", "key_file", "verify", NULL};

/* Refuse a member of grp that is not a tls key. Returns 0 or -EINVAL. */
static int refuse_unknown(const config_setting_t *grp, struct diag *d)
{
	for (int i = 0; i < config_setting_length(grp); i++) {
		config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *const *k = tls_keys;
		while (*k && strcmp(*k, config_setting_name(s)) != 0)
			k++;
		if (!*k) {
			writer_diag(d, s, NULL, "unknown key (known: ca_file, server_name, cert_file, key_file, verify)");
			return -EINVAL;
		}
	}
	return 0;
}

/* Read string key of grp into out (room size) if present: 1 to size - 1 bytes. Returns 0 or -EINVAL. */
static int read_path(const config_setting_t *grp, const char *key, char *out, size_t size, struct diag *d)
{
	const char *v;
	int r = writer_cfg_string(grp, key, &v, d);
	if (r <= 0)
		return r;
	if (!*v || strlen(v) >= size) {
		writer_diag(d, config_setting_get_member(grp, key), NULL, "must be 1 to %zu bytes long", size - 1);
		return -EINVAL;
	}
	strcpy(out, v);
	return 0;
}

int syslog_tls_configure(const config_setting_t *cfg, bool tls, const char *host, struct syslog_tls_cfg *t,
			 struct diag *d)
{
	config_setting_t *grp = config_setting_get_member(cfg, "tls");
	memset(t, 0, sizeof *t);
	t->verify = true;
	snprintf(t->server_name, sizeof t->server_name, "%s", host);
	struct diag where;
	writer_diag(&where, grp ? grp : cfg, grp ? NULL : "tls", "%s", "");
	snprintf(t->where, sizeof t->where, "%.*s", (int)strlen(where.msg) - 2, where.msg); /* without ": " */
	if (!grp)
		return 0;
	if (!tls || !config_setting_is_group(grp)) {
		writer_diag(d, grp, NULL, tls ? "must be a group { ... }" : "only for transport \"tls\"");
		return -EINVAL;
	}
	int r;
	if ((r = refuse_unknown(grp, d)) < 0 || (r = read_path(grp, "ca_file", t->ca_file, sizeof t->ca_file, d)) < 0 ||
	    (r = read_path(grp, "server_name", t->server_name, sizeof t->server_name, d)) < 0 ||
	    (r = read_path(grp, "cert_file", t->cert_file, sizeof t->cert_file, d)) < 0 ||
	    (r = read_path(grp, "key_file", t->key_file, sizeof t->key_file, d)) < 0 ||
	    (r = writer_cfg_bool(grp, "verify", &t->verify, d)) < 0)
		return r;
	if (!t->cert_file[0] != !t->key_file[0]) {
		writer_diag(d, grp, t->cert_file[0] ? "key_file" : "cert_file", "needed with %s",
			    t->cert_file[0] ? "cert_file" : "key_file");
		return -EINVAL;
	}
	return 0;
}

/* OpenSSL's first queued error as text, into why. */
static void ssl_reason(char *why, size_t size)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	if (reason)
		snprintf(why, size, "%s", reason);
	else if (e)
		ERR_error_string_n(e, why, size);
	else
		snprintf(why, size, "unknown error");
	ERR_clear_error();
}

/* Load cfg's CA and client certificate into ctx. Returns 0 or -EINVAL with d filled. */
static int load_files(SSL_CTX *ctx, const struct syslog_tls_cfg *cfg, struct diag *d)
{
	char why[256];
	const char *key = NULL, *file = NULL;
	if (cfg->ca_file[0] && SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1)
		key = "ca_file", file = cfg->ca_file;
	else if (!cfg->ca_file[0] && SSL_CTX_set_default_verify_paths(ctx) != 1)
		key = "ca_file", file = "(the system's store)";
	else if (cfg->cert_file[0] && SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
		key = "cert_file", file = cfg->cert_file;
	else if (cfg->key_file[0] && SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1)
		key = "key_file", file = cfg->key_file;
	else if (cfg->key_file[0] && SSL_CTX_check_private_key(ctx) != 1)
		key = "key_file", file = cfg->key_file;
	if (!key)
		return 0;
	ssl_reason(why, sizeof why);
	snprintf(d->msg, sizeof d->msg, "%.150s.%s: cannot use %.250s: %.80s", cfg->where, key, file, why);
	return -EINVAL;
}

int syslog_tls_open(struct syslog_tls *t, const struct syslog_tls_cfg *cfg, struct diag *d)
{
	errno = 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		int err = errno;
		char why[256] = "";
		if (ERR_peek_error()) {
			memcpy(why, ": ", 2);
			ssl_reason(why + 2, sizeof why - 2);
		} else if (err) { /* OpenSSL does not always queue one for a failed allocation: what failed says */
			snprintf(why, sizeof why, ": %s", strerror(err));
		}
		snprintf(d->msg, sizeof d->msg, "%.150s: cannot make a TLS context%.82s", cfg->where, why);
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(ctx, cfg->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	int r = load_files(ctx, cfg, d);
	if (r < 0) {
		SSL_CTX_free(ctx);
		return r;
	}
	t->ctx = ctx;
	t->verify = cfg->verify;
	snprintf(t->server_name, sizeof t->server_name, "%s", cfg->server_name);
	return 0;
}

/* The name to check: an address as an IP SAN, a name as a DNS one (and sent as SNI). Returns 1 or 0 (no memory). */
static int set_peer_name(SSL *ssl, const char *name)
{
	unsigned char addr[16];
	bool ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
	if (!ip && SSL_set_tlsext_host_name(ssl, name) != 1)
		return 0;
	if (ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	return SSL_set1_host(ssl, name);
}

int syslog_tls_begin(struct syslog_tls *t, int fd)
{
	syslog_tls_end(t, false);
	SSL *ssl = SSL_new(t->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || (t->verify && set_peer_name(ssl, t->server_name) != 1)) {
		SSL_free(ssl);
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_connect_state(ssl);
	t->ssl = ssl;
	t->mark_next = t->n_marks = 0;
	return 0;
}

/* Why call failed (ret its return value), as -errno; a TLS error's reason into why (may be NULL). */
static int ssl_failure(SSL *ssl, int ret, char *why, size_t size)
{
	int e = SSL_get_error(ssl, ret), err = errno;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
		if (why)
			snprintf(why, size, "TLS: %s", e == SSL_ERROR_SYSCALL && err ? strerror(err)
						       : "the receiver closed the connection");
		ERR_clear_error();
		return e == SSL_ERROR_SYSCALL && err ? -err : -ECONNRESET;
	}
	if (why) {
		char reason[256];
		ssl_reason(reason, sizeof reason);
		snprintf(why, size, "TLS: %s", reason);
	}
	ERR_clear_error();
	return -EPROTO;
}

int syslog_tls_handshake(struct syslog_tls *t, char *why, size_t size)
{
	ERR_clear_error();
	int ret = SSL_do_handshake(t->ssl);
	if (ret == 1)
		return 1;
	long v = SSL_get_verify_result(t->ssl);
	if (v != X509_V_OK && SSL_get_error(t->ssl, ret) == SSL_ERROR_SSL) {
		snprintf(why, size, "TLS: the receiver's certificate is refused: %s", X509_verify_cert_error_string(v));
		ERR_clear_error();
		return -EPROTO;
	}
	int r = ssl_failure(t->ssl, ret, why, size);
	if (r == -ECONNRESET)
		snprintf(why, size, "TLS: the receiver ended the handshake");
	return r;
}

/* A record of plain bytes was written: remember where it ends, in plaintext and on the wire. */
static void mark_record(struct syslog_tls *t, size_t plain)
{
	if (!t->marks && !(t->marks = calloc(SYSLOG_TLS_MARKS, sizeof *t->marks)))
		return; /* then a loss sends everything of the tail again */
	uint64_t before = t->n_marks ? t->marks[(t->mark_next + SYSLOG_TLS_MARKS - 1) % SYSLOG_TLS_MARKS].plain : 0;
	t->marks[t->mark_next] = (struct syslog_tls_mark){before + plain, BIO_number_written(SSL_get_wbio(t->ssl))};
	t->mark_next = (t->mark_next + 1) % SYSLOG_TLS_MARKS;
	t->n_marks += t->n_marks < SYSLOG_TLS_MARKS;
}

ssize_t syslog_tls_write(struct syslog_tls *t, const char *buf, size_t len)
{
	ERR_clear_error();
	size_t done = 0;
	int ret = SSL_write_ex(t->ssl, buf, len < SYSLOG_TLS_CHUNK ? len : SYSLOG_TLS_CHUNK, &done);
	if (ret == 1) {
		mark_record(t, done);
		return (ssize_t)done;
	}
	return ssl_failure(t->ssl, ret, NULL, 0);
}

uint64_t syslog_tls_unacked_plain(const struct syslog_tls *t, uint64_t wire_unacked)
{
	if (!t->ssl || !t->n_marks)
		return wire_unacked ? UINT64_MAX : 0;
	uint64_t wire = BIO_number_written(SSL_get_wbio(t->ssl));
	uint64_t acked = wire > wire_unacked ? wire - wire_unacked : 0;
	const struct syslog_tls_mark *last = &t->marks[(t->mark_next + SYSLOG_TLS_MARKS - 1) % SYSLOG_TLS_MARKS];
	for (uint32_t k = 0; k < t->n_marks; k++) { /* newest first: the last record wholly acknowledged */
		const struct syslog_tls_mark *m = &t->marks[(t->mark_next + SYSLOG_TLS_MARKS - 1 - k) % SYSLOG_TLS_MARKS];
		if (m->wire <= acked)
			return last->plain - m->plain;
	}
	return t->n_marks < SYSLOG_TLS_MARKS ? last->plain : UINT64_MAX; /* beyond what is remembered: all of it */
}

int syslog_tls_drain(struct syslog_tls *t)
{
	char junk[4096]; /* a syslog receiver sends nothing but TLS's own messages */
	size_t n;
	for (;;) {
		ERR_clear_error();
		int ret = SSL_read_ex(t->ssl, junk, sizeof junk, &n);
		if (ret != 1)
			return ssl_failure(t->ssl, ret, NULL, 0);
	}
}

void syslog_tls_end(struct syslog_tls *t, bool clean)
{
	if (!t->ssl)
		return;
	if (clean)
		SSL_shutdown(t->ssl); /* sends close_notify; the receiver's is not waited for */
	SSL_free(t->ssl);
	ERR_clear_error();
	t->ssl = NULL;
}

void syslog_tls_close(struct syslog_tls *t)
{
	syslog_tls_end(t, false);
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
	free(t->marks);
	t->marks = NULL;
}
