/*
 * e2e_relp.c — bench_e2e's RELP receiver (see e2e_relp.h): librelp's
 * engine runs its event loop (relpEngineRun) in a thread of its own; the
 * syslog callback only counts.
 */
#include "e2e_relp.h"

#include <stddef.h> /* librelp.h needs size_t */
#include <librelp.h>
#include <pthread.h>
#include <stdio.h>

static relpEngine_t *engine;
static pthread_t server;
static _Atomic uint64_t *counted;

static void __attribute__((format(printf, 1, 2))) no_debug(char *fmt, ...)
{
	(void)fmt;
}

/* A message arrived: count it (librelp acknowledges it when this returns). */
static relpRetVal on_syslog(void *usr, unsigned char *host, unsigned char *ip, unsigned char *msg, size_t len)
{
	(void)usr, (void)host, (void)ip, (void)msg, (void)len;
	/* release: pairs with wait_frames' acquire of the count */
	atomic_fetch_add_explicit(counted, 1, memory_order_release);
	return RELP_RET_OK;
}

static void *serve(void *arg)
{
	(void)arg;
	relpEngineRun(engine);
	return NULL;
}

int e2e_relp_start(unsigned port, _Atomic uint64_t *frames)
{
	char p[16];
	snprintf(p, sizeof p, "%u", port);
	counted = frames;
	relpSrv_t *srv = NULL;
	if (relpEngineConstruct(&engine) != RELP_RET_OK || relpEngineSetDbgprint(engine, no_debug) != RELP_RET_OK ||
	    relpEngineSetEnableCmd(engine, (unsigned char *)"syslog", eRelpCmdState_Required) != RELP_RET_OK ||
	    relpEngineSetSyslogRcv2(engine, on_syslog) != RELP_RET_OK ||
	    relpEngineListnerConstruct(engine, &srv) != RELP_RET_OK ||
	    relpSrvSetLstnPort(srv, (unsigned char *)p) != RELP_RET_OK ||
	    relpSrvSetLstnAddr(srv, (unsigned char *)"127.0.0.1") != RELP_RET_OK ||
	    relpEngineListnerConstructFinalize(engine, srv) != RELP_RET_OK || pthread_create(&server, NULL, serve, NULL) != 0) {
		fprintf(stderr, "bench_e2e: cannot serve RELP on 127.0.0.1:%u\n", port);
		return -1;
	}
	return 0;
}
