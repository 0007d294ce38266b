/* TEMPORARY stub interface (replaced by the router branch) */
#ifndef SHMLOG_ROUTER_H
#define SHMLOG_ROUTER_H
#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>
#include "../shared/text.h"
struct diag;
struct router;
int router_open(struct router **out, const config_setting_t *routes, const config_setting_t *dflt,
		const char *const *names, unsigned n, struct diag *d,
		void (*warn)(void *arg, const char *line), void *arg);
uint32_t router_route(struct router *rt, const struct text_record *r);
void router_describe(const struct router *rt, FILE *f);
void router_close(struct router *rt);
#endif
