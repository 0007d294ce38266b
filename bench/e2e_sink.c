/*
 * e2e_sink.c — bench_e2e's syslog receiver (see e2e_sink.h): a listening
 * socket on 127.0.0.1, the octet-counting frame count, and over TLS a
 * server context from the run's certificate, one session per accepted
 * connection, blocking reads.
 */
#include "e2e_sink.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int e2e_sink_listen(unsigned port)
{
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0) {
		fprintf(stderr, "bench_e2e: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

uint64_t e2e_count_octet_frames(const char *b, size_t n, uint64_t *len, uint64_t *skip)
{
	uint64_t frames = 0;
	for (size_t i = 0; i < n;) {
		if (*skip) {
			size_t take = *skip < n - i ? (size_t)*skip : n - i;
			i += take;
			*skip -= take;
			frames += *skip == 0;
		} else if (b[i++] == ' ') {
			*skip = *len;
			*len = 0;
		} else {
			*len = *len * 10 + (uint64_t)(b[i - 1] - '0');
		}
	}
	return frames;
}

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
