/*
 * config.h — the collector's configuration (libconfig format).
 *
 * Example:
 *   collector: {
 *     dir = "/dev/shm/shmlog";      # segment directory
 *     merge_window_us = 100;         # reorder window across rings
 *     poll_max_ms = 20;              # longest idle sleep between polls
 *     sleep_after_ms = 500;          # idle this long: poll every idle_poll_ms (or, doorbell, sleep)
 *     idle_poll_ms = 200;            # poll interval after such a quiet spell
 *     rescan_ms = 1000;              # directory rescan (safety net), and the longest sleep
 *   };
 *   writers = (
 *     { type = "console"; stream = "stdout"; color = "auto"; },
 *     { type = "file"; name = "app"; path = "/var/log/app.log"; min_level = "WARN"; format = "json"; }
 *   );
 *   routes = ( { level = ["ERROR", "CRITICAL"]; to = ["app"]; } );   # router.h
 *   default = ["console"];
 *
 * With no config file the collector uses the defaults and one console writer
 * on stdout. Every error names the file, the line and the key.
 *
 * Loading parses and checks everything, configures the writers and compiles
 * the routes, but opens nothing: the live writers belong to the output module
 * (output.h), which takes them from here. So `--check-config` can load a file
 * without creating any log file.
 */
#ifndef SHMLOG_CONFIG_H
#define SHMLOG_CONFIG_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "allow.h"
#include "router.h"
#include "writer.h"

#define CONFIG_MAX_WRITERS 32
static_assert(CONFIG_MAX_WRITERS <= ROUTER_MAX_WRITERS, "a writer set is a router mask");

struct collector_config {
	char dir[4096];            /* segment directory; "" = library default */
	uint32_t merge_window_us;  /* default 100 */
	uint32_t poll_max_ms;      /* default 20 */
	uint32_t sleep_after_ms;   /* default 500; 0: keep polling every poll_max_ms at most */
	uint32_t idle_poll_ms;     /* default 200 */
	uint32_t rescan_ms;        /* default 1000 */
	uint32_t threads;          /* default 1: threads that render lines (render.h), 1..64 */
	bool threads_adaptive;     /* default true: only while they make the collector faster (render.h, the gauge) */
	bool threads_pin;          /* default true: with threads > 1, one CPU per thread (render_pin) */
	struct collector_allow allow; /* owners whose segments are read, besides ours and root */
	unsigned n_writers;
	struct writer writers[CONFIG_MAX_WRITERS]; /* configured, not opened; output_open takes them */
	struct router *router;     /* compiled routes; output_open takes it */
};

/*
 * Load path (NULL: built-in defaults, one console writer on stdout) into *c:
 * configure its writers and compile its routes (nothing is opened). On error
 * d->msg holds one line "FILE:LINE: KEY: problem". warn(line) is called for
 * each warning (a writer nothing routes to); it may be NULL.
 * Returns 0 or -errno (-EINVAL for a bad config).
 */
int config_load(struct collector_config *c, const char *path, struct diag *d, void (*warn)(const char *line));

/* Free what output_open did not take. */
void config_free(struct collector_config *c);

#endif
