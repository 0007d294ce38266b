/*
 * e2e_relp.h — bench_e2e's RELP receiver (`syslog --relp`): a librelp
 * server on 127.0.0.1 that acknowledges and discards every message,
 * counting them.
 */
#ifndef SHMLOG_BENCH_E2E_RELP_H
#define SHMLOG_BENCH_E2E_RELP_H

#include <stdatomic.h>
#include <stdint.h>

/* Listen on 127.0.0.1:port and serve in a thread, adding 1 to *frames per message. Returns 0 or -1 (said). */
int e2e_relp_start(unsigned port, _Atomic uint64_t *frames);

#endif
