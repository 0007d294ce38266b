/*
 * config.c — reading the collector's libconfig file and opening its writers.
 *
 * The file has four top-level settings: the group "collector" (dir,
 * merge_window_us, poll_max_ms, sleep_after_ms, idle_poll_ms, rescan_ms),
 * the list "writers" (groups with a required "type"; the rest is read by
 * writer_configure and the type), and "routes" and "default", compiled by
 * router.c. Anything else is an error rather than being ignored: a misspelt
 * key would otherwise silently fall back to a default. Every error is one
 * line, "FILE:LINE: KEY: problem", with KEY a path such as "writers.[1].type".
 *
 * Loading opens nothing (output.c opens the writers), and either succeeds
 * completely or leaves nothing allocated.
 */
#include "config.h"
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (1u << 20)    /* a config file, or a file it includes */
#define CONFIG_MAX_INCLUDE_DEPTH 10    /* libconfig's own limit */


#define CONFIG_MERGE_WINDOW_US_DEFAULT 100u
#define CONFIG_MERGE_WINDOW_US_MAX 1000000
#define CONFIG_POLL_MAX_MS_DEFAULT 20u
#define CONFIG_POLL_MAX_MS_MIN 1
#define CONFIG_POLL_MAX_MS_MAX 1000
#define CONFIG_SLEEP_AFTER_MS_DEFAULT 500u
#define CONFIG_SLEEP_AFTER_MS_MAX 3600000
#define CONFIG_IDLE_POLL_MS_DEFAULT 200u
#define CONFIG_IDLE_POLL_MS_MAX 60000
#define CONFIG_RESCAN_MS_DEFAULT 1000u
#define CONFIG_RESCAN_MS_MIN 10
#define CONFIG_RESCAN_MS_MAX 3600000

static void set_defaults(struct collector_config *c)
{
	memset(c, 0, sizeof *c);
	c->merge_window_us = CONFIG_MERGE_WINDOW_US_DEFAULT;
	c->poll_max_ms = CONFIG_POLL_MAX_MS_DEFAULT;
	c->sleep_after_ms = CONFIG_SLEEP_AFTER_MS_DEFAULT;
	c->idle_poll_ms = CONFIG_IDLE_POLL_MS_DEFAULT;
	c->rescan_ms = CONFIG_RESCAN_MS_DEFAULT;
	c->threads = 1;
	c->threads_adaptive = true;
	c->threads_pin = true;
	for (unsigned i = 0; i < CONFIG_MAX_WRITERS; i++)
		c->writers[i].fd = -1;
}

static int read_collector(struct collector_config *c, const config_setting_t *grp, struct diag *d)
{
	static const char *const keys[] = {"dir",	   "merge_window_us", "poll_max_ms",  "sleep_after_ms",
					   "idle_poll_ms", "rescan_ms",	      "allow_users",  "allow_groups",
					   "threads",	   "threads_adaptive", "threads_pin"};
	if (config_setting_type(grp) != CONFIG_TYPE_GROUP) {
		writer_diag(d, grp, NULL, "expected a group { ... }");
		return -EINVAL;
	}
	int n = config_setting_length(grp);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s);
		bool known = false;
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			known = known || strcmp(name, keys[k]) == 0;
		if (!known) {
			char list[256];
			size_t len = 0;
			for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
				len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", keys[k]);
			writer_diag(d, s, NULL, "unknown key (known: %s)", list);
			return -EINVAL;
		}
	}

	const char *dir;
	int r = writer_cfg_string(grp, "dir", &dir, d);
	if (r < 0)
		return r;
	if (r > 0) {
		if (strlen(dir) >= sizeof c->dir) {
			writer_diag(d, config_setting_get_member(grp, "dir"), NULL, "longer than %zu bytes",
				    sizeof c->dir - 1);
			return -EINVAL;
		}
		strcpy(c->dir, dir);
	}
	r = allow_read(&c->allow, grp, d);
	if (r < 0)
		return r;
	r = writer_cfg_uint(grp, "merge_window_us", 0, CONFIG_MERGE_WINDOW_US_MAX, &c->merge_window_us, d);
	if (r < 0)
		return r;
	r = writer_cfg_uint(grp, "poll_max_ms", CONFIG_POLL_MAX_MS_MIN, CONFIG_POLL_MAX_MS_MAX, &c->poll_max_ms, d);
	if (r < 0)
		return r;
	r = writer_cfg_uint(grp, "sleep_after_ms", 0, CONFIG_SLEEP_AFTER_MS_MAX, &c->sleep_after_ms, d);
	if (r < 0)
		return r;
	r = writer_cfg_uint(grp, "idle_poll_ms", 1, CONFIG_IDLE_POLL_MS_MAX, &c->idle_poll_ms, d);
	if (r < 0)
		return r;
	r = writer_cfg_uint(grp, "threads", 1, RENDER_THREADS_MAX, &c->threads, d);
	if (r < 0)
		return r;
	r = writer_cfg_bool(grp, "threads_adaptive", &c->threads_adaptive, d);
	if (r < 0)
		return r;
	r = writer_cfg_bool(grp, "threads_pin", &c->threads_pin, d);
	if (r < 0)
		return r;
	return writer_cfg_uint(grp, "rescan_ms", CONFIG_RESCAN_MS_MIN, CONFIG_RESCAN_MS_MAX, &c->rescan_ms, d);
}

/*
 * Writers are addressed by name in routes, so a name given twice is an
 * error. A writer without a name is named after its type; two such writers
 * of one type are fine while nothing addresses writers by name.
 * Returns 0 or -EINVAL with d filled.
 */
static int check_name(const struct collector_config *c, const config_setting_t *grp, bool by_name,
		      struct diag *d)
{
	const struct writer *w = &c->writers[c->n_writers];
	const config_setting_t *name = config_setting_get_member(grp, "name");
	for (unsigned i = 0; i < c->n_writers; i++) {
		if (strcmp(c->writers[i].name, w->name) != 0 || (!name && !by_name))
			continue;
		writer_diag(d, name ? name : grp, NULL, "writer \"%s\" is named twice (the first is writers.[%u])",
			    w->name, i);
		return -EINVAL;
	}
	return 0;
}

/* Configure writers.[i] into the next slot of c. Returns 0 or -errno. */
static int add_writer(struct collector_config *c, const config_setting_t *grp, bool by_name, struct diag *d)
{
	if (config_setting_type(grp) != CONFIG_TYPE_GROUP) {
		writer_diag(d, grp, NULL, "expected a group { type = ...; }");
		return -EINVAL;
	}
	const char *type;
	int r = writer_cfg_string(grp, "type", &type, d);
	if (r < 0)
		return r;
	if (r == 0) {
		writer_diag(d, grp, "type", "missing required key");
		return -EINVAL;
	}
	const struct writer_ops *ops = writer_lookup(type);
	if (!ops) {
		char known[128];
		writer_diag(d, config_setting_get_member(grp, "type"), NULL,
			    "unknown writer type \"%s\" (known: %s)", type,
			    writer_types_list(known, sizeof known));
		return -EINVAL;
	}
	r = writer_configure(&c->writers[c->n_writers], ops, grp, d);
	if (r == 0 && (r = check_name(c, grp, by_name, d)) < 0)
		writer_close(&c->writers[c->n_writers]);
	if (r < 0)
		return r;
	c->n_writers++;
	return 0;
}

static int read_writers(struct collector_config *c, const config_setting_t *list, bool by_name, struct diag *d)
{
	int type = config_setting_type(list);
	int n = config_setting_length(list);
	/* An empty "writers = [];" parses as an array; say the same thing for both. */
	if ((type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) || (type == CONFIG_TYPE_ARRAY && n)) {
		writer_diag(d, list, NULL, "expected a list ( { ... }, ... )");
		return -EINVAL;
	}
	if (n == 0) {
		writer_diag(d, list, NULL, "no writers (leave the key out for the default console writer)");
		return -EINVAL;
	}
	if (n > CONFIG_MAX_WRITERS) {
		writer_diag(d, list, NULL, "too many writers (%d, at most %d)", n, CONFIG_MAX_WRITERS);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		int r = add_writer(c, config_setting_get_elem(list, (unsigned)i), by_name, d);
		if (r < 0)
			return r;
	}
	return 0;
}

static int default_writer(struct collector_config *c, struct diag *d)
{
	int r = writer_configure(&c->writers[0], writer_lookup("console"), NULL, d);
	if (r == 0)
		c->n_writers = 1;
	return r;
}

/* Forwards the router's warnings to config_load's caller. */
struct warn_to {
	void (*fn)(const char *line);
};

static void forward_warning(void *arg, const char *line)
{
	const struct warn_to *to = arg;
	if (to->fn)
		to->fn(line);
}

/* Compile routes and default against the writers' names. Returns 0 or -errno with d filled. */
static int read_routes(struct collector_config *c, const config_setting_t *writers, const config_setting_t *routes,
		       const config_setting_t *dflt, struct diag *d, void (*warn)(const char *))
{
	const char *names[CONFIG_MAX_WRITERS];
	const config_setting_t *settings[CONFIG_MAX_WRITERS];
	for (unsigned i = 0; i < c->n_writers; i++) {
		names[i] = c->writers[i].name;
		settings[i] = writers ? config_setting_get_elem(writers, i) : NULL;
	}
	struct warn_to to = {warn};
	return router_open(&c->router, routes, dflt, names, settings, c->n_writers, d, forward_warning, &to);
}

/*
 * The regular file at path, read whole into *text (malloc'd, NUL-terminated).
 * A FIFO or a device is refused without blocking on its open. Returns 0 or
 * -errno (d says why).
 */
static int slurp(const char *path, char **text, struct diag *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	int e = fd < 0 || fstat(fd, &st) < 0 ? errno : 0;
	if (!e && !S_ISREG(st.st_mode))
		e = EINVAL;
	else if (!e && st.st_size > CONFIG_MAX_BYTES)
		e = EFBIG;
	char *t = e ? NULL : malloc((size_t)st.st_size + 1);
	ssize_t n = t ? read(fd, t, (size_t)st.st_size) : -1;
	if (!e && n < 0)
		e = t ? errno : ENOMEM;
	if (fd >= 0)
		close(fd);
	if (e) {
		free(t);
		snprintf(d->msg, sizeof d->msg, "%s: cannot read: %s", path,
			 e == EINVAL ? "not a regular file" : e == EFBIG ? "larger than 1 MiB" : strerror(e));
		return -e;
	}
	t[n] = 0;
	*text = t;
	return 0;
}

/*
 * Check that every file text (of file path) includes, and every file they
 * include, is a regular file that can be read: libconfig opens them itself,
 * and would block forever on a FIFO. Returns 0 or -errno (d says why).
 */
static int check_includes(const char *path, const char *text, int depth, struct diag *d)
{
	int line = 1;
	for (const char *p = text; *p; p += *p != 0) {
		const char *q = p + strspn(p, " \t");
		if (strncmp(q, "@include", 8) == 0 && (q = strchr(q, '"')) && strchr(q + 1, '"')) {
			char inc[PATH_MAX], *sub;
			const char *end = strchr(q + 1, '"');
			snprintf(inc, sizeof inc, "%.*s", (int)(end - q - 1), q + 1);
			int rc = depth >= CONFIG_MAX_INCLUDE_DEPTH ? -ELOOP : slurp(inc, &sub, d);
			if (rc == 0) {
				rc = check_includes(inc, sub, depth + 1, d);
				free(sub);
				if (rc < 0)
					return rc;
			} else {
				char why[sizeof d->msg];
				/* the path between the quotes may span lines: one line, escaped */
				writer_diag_line(why, 400, rc == -ELOOP ? "includes nested too deep" : d->msg);
				snprintf(d->msg, sizeof d->msg, "%.80s:%d: @include: %.400s", path, line, why);
				return rc;
			}
		}
		p += strcspn(p, "\n");
		line++;
	}
	return 0;
}

static int read_file(struct collector_config *c, config_t *cfg, const char *path, struct diag *d,
		     void (*warn)(const char *))
{
	/* looked at here first: libconfig reports an unreadable file as a bare
	 * "file I/O error", and would block on a FIFO (libconfig reads the file
	 * again by name, so that errors name the file a setting came from) */
	char *text = NULL;
	int rc = slurp(path, &text, d);
	if (rc == 0)
		rc = check_includes(path, text, 0, d);
	free(text);
	if (rc < 0)
		return rc;
	if (config_read_file(cfg, path) != CONFIG_TRUE) {
		const char *file = config_error_file(cfg);
		snprintf(d->msg, sizeof d->msg, "%s:%d: %s", file ? file : path, config_error_line(cfg),
			 config_error_text(cfg));
		return config_error_type(cfg) == CONFIG_ERR_FILE_IO ? -EIO : -EINVAL;
	}

	config_setting_t *root = config_root_setting(cfg);
	config_setting_t *collector = NULL, *writers = NULL, *routes = NULL, *dflt = NULL;
	int n = config_setting_length(root);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		if (strcmp(name, "collector") == 0) {
			collector = s;
		} else if (strcmp(name, "writers") == 0) {
			writers = s;
		} else if (strcmp(name, "routes") == 0) {
			routes = s;
		} else if (strcmp(name, "default") == 0) {
			dflt = s;
		} else {
			writer_diag(d, s, NULL, "unknown key (known: collector, writers, routes, default)");
			return -EINVAL;
		}
	}

	int r = collector ? read_collector(c, collector, d) : 0;
	if (r < 0)
		return r;
	r = writers ? read_writers(c, writers, routes || dflt, d) : default_writer(c, d);
	if (r < 0)
		return r;
	return read_routes(c, writers, routes, dflt, d, warn);
}

/*
 * Load the config at path (NULL: built-in defaults and one console writer on
 * stdout) into *c, which needs no initialisation: configure its writers and
 * compile its routes; warn(line), if not NULL, gets each warning. Returns 0,
 * or -errno with d->msg holding one line "FILE:LINE: KEY: problem"
 * ("FILE:LINE: problem" for a syntax error, "FILE: cannot read: reason" for
 * an unreadable file) and nothing left allocated: -EINVAL for a bad config,
 * the -errno of an unreadable config.
 */
int config_load(struct collector_config *c, const char *path, struct diag *d, void (*warn)(const char *line))
{
	set_defaults(c);
	d->msg[0] = '\0';
	if (!path) {
		int r = default_writer(c, d);
		return r < 0 ? r : read_routes(c, NULL, NULL, NULL, d, warn);
	}

	config_t cfg;
	config_init(&cfg);
	int r = read_file(c, &cfg, path, d, warn);
	config_destroy(&cfg);
	if (r < 0)
		config_free(c);
	return r;
}

/* Free the writers and routes output_open did not take; c may then be loaded again. Returns nothing. */
void config_free(struct collector_config *c)
{
	for (unsigned i = 0; i < c->n_writers; i++)
		writer_close(&c->writers[i]);
	c->n_writers = 0;
	router_close(c->router);
	c->router = NULL;
}
