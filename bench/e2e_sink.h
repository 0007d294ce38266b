/*
 * e2e_sink.h — bench_e2e's syslog receiver over TCP and TLS: the listening
 * socket, the count of octet-counted frames, and the TLS end (`--tls DIR`:
 * OpenSSL 3 on the accepted socket, with DIR/cert.pem and DIR/key.pem,
 * which run.sh makes with the openssl CLI).
 */
#ifndef SHMLOG_BENCH_E2E_SINK_H
#define SHMLOG_BENCH_E2E_SINK_H

#include <stdint.h>
#include <sys/types.h>

/* Listen on 127.0.0.1:port. Returns the socket, or -1 (said on stderr). */
int e2e_sink_listen(unsigned port);

/* The frames b[0..n) completes: *len is the LEN being read, *skip what is left of the current MSG. */
uint64_t e2e_count_octet_frames(const char *b, size_t n, uint64_t *len, uint64_t *skip);

/* Take the TLS handshake on the connected, blocking socket fd. Returns the session, or NULL (said on stderr). */
void *e2e_tls_accept(int fd, const char *dir);

/* Read up to n bytes of plaintext into b. Returns the bytes, 0 at the session's end, -1 on an error. */
ssize_t e2e_tls_read(void *session, char *b, size_t n);

void e2e_tls_free(void *session);

#endif
