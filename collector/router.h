/*
 * router.h — which writers each record goes to (the `routes` and `default`
 * keys of the collector's config; docs/routing.md is the reference).
 *
 * The config names writers by their names; the router turns each route into
 * a compiled filter (a level bit set, name and field lists with their lengths
 * precomputed, a JIT-compiled PCRE2 regex with its match data) and a bit mask
 * of writers, bit i for names[i]. router_route() is on the collector's hot
 * path: it allocates nothing and returns the mask of the writers a record
 * goes to. The router copies what it keeps, so the config_t may be destroyed
 * once router_open() has returned.
 */
#ifndef SHMLOG_ROUTER_H
#define SHMLOG_ROUTER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../shared/text.h"
#include "writer.h"

#define ROUTER_MAX_WRITERS 32 /* bits in the mask router_route() returns */

struct router;

/*
 * Compile the top-level `routes` list and `default` array of a config (either
 * may be NULL: absent). names[0..n) are the writers' names in config order and
 * writer_settings[0..n) their config groups (writer_settings, or any entry of
 * it, may be NULL, e.g. for the built-in console writer: a warning about that
 * writer then names the routes or default setting instead). n <= 32.
 *
 * warn(arg, line) (warn may be NULL) is called once per writer that neither a
 * route nor the default can reach, with a line such as
 *   FILE:LINE: writers.[2]: writer "audit" is not reachable: no route and no default names it
 * It is not called when there is neither `routes` nor `default` (every writer
 * then gets every record).
 *
 * Returns 0 with *out set, or -EINVAL (a bad config) or -ENOMEM with *out
 * untouched and d->msg holding one line "FILE:LINE: KEY: problem", KEY a path
 * such as "routes.[1].message".
 */
int router_open(struct router **out, const config_setting_t *routes, const config_setting_t *dflt,
		const char *const *names, const config_setting_t *const *writer_settings, unsigned n,
		struct diag *d, void (*warn)(void *arg, const char *line), void *arg)
	__attribute__((warn_unused_result));

/*
 * The set of writers record r goes to: bit i stands for names[i]. Routes are
 * tried in order, each matching route adds its `to` writers, a matching route
 * with stop ends the search; a record no route matches gets the default
 * (none when there is no default key). Without a routes key: the default, or
 * every writer when there is no default either. Allocates nothing; one thread
 * at a time per router (each regex has one preallocated match data).
 * Returns the mask (0: no writer).
 */
uint32_t router_route(struct router *rt, const struct text_record *r);

/* router_route() with r's formatted message at hand: msg, msg_len (NULL: rendered when a regex needs it). */
uint32_t router_route_msg(struct router *rt, const struct text_record *r, const char *msg, size_t msg_len);

/* Whether a route looks at the formatted message (a message regex). */
bool router_wants_msg(const struct router *rt);

/* Whether every record goes to the same writers (no routes): then *mask holds them. Returns that. */
bool router_fixed(const struct router *rt, uint32_t *mask);

/*
 * For shmlog-collector --check-config: one line per route into f, e.g.
 *   route 1: level in [ERROR, CRITICAL] -> errors, console
 *   route 2: message =~ /(login|logout)/ -> security (stop)
 * (routes numbered from 1) and a last line for the default, e.g.
 *   default -> console
 * Returns nothing.
 */
void router_describe(const struct router *rt, FILE *f);

/* Free rt and all it holds. rt may be NULL. Returns nothing. */
void router_close(struct router *rt);

#endif
