/*
 * e2e_tls.c — bench_e2e's TLS receiver end (see e2e_tls.h): a server
 * context from the run's certificate, one session per accepted connection,
 * blocking reads.
 */
#include "e2e_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

void *e2e_tls_accept(int fd, const char *dir)
{
	char cert[4096], key[4096];
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl = NULL;
	if (ctx && SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) == 1 &&
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1)
		ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the session holds it */
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
		fprintf(stderr, "bench_e2e: the TLS handshake failed: ");
		ERR_print_errors_fp(stderr);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

ssize_t e2e_tls_read(void *session, char *b, size_t n)
{
	size_t got = 0;
	if (SSL_read_ex(session, b, n, &got) == 1)
		return (ssize_t)got;
	int e = SSL_get_error(session, 0);
	return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

void e2e_tls_free(void *session)
{
	SSL_free(session);
}
