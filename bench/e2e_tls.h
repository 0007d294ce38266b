/*
 * e2e_tls.h — the TLS end of bench_e2e's syslog receiver (`--tls DIR`):
 * OpenSSL 3 on the accepted socket, with DIR/cert.pem and DIR/key.pem
 * (run.sh makes them with the openssl CLI).
 */
#ifndef SHMLOG_BENCH_E2E_TLS_H
#define SHMLOG_BENCH_E2E_TLS_H

#include <sys/types.h>

/* Take the TLS handshake on the connected, blocking socket fd. Returns the session, or NULL (said on stderr). */
void *e2e_tls_accept(int fd, const char *dir);

/* Read up to n bytes of plaintext into b. Returns the bytes, 0 at the session's end, -1 on an error. */
ssize_t e2e_tls_read(void *session, char *b, size_t n);

void e2e_tls_free(void *session);

#endif
