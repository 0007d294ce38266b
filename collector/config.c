/*
 * config.c — reading the collector's libconfig file and opening its writers.
 *
 * The file has two top-level settings, the group "collector" (dir,
 * merge_window_us, poll_max_ms, sleep_after_ms, idle_poll_ms, rescan_ms) and
 * the list "writers" (groups with a required "type"; the rest is read by
 * writer_open and the type). Anything else is an error rather than being
 * ignored: a misspelt key would otherwise
 * silently fall back to a default. Every error is one line,
 * "FILE:LINE: KEY: problem", with KEY a path such as "writers.[1].type".
 *
 * Loading either succeeds completely or leaves nothing open: writers opened
 * before an error are closed again.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>


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
	for (unsigned i = 0; i < CONFIG_MAX_WRITERS; i++)
		c->writers[i].fd = -1;
}

/*
 * Read the integer member key of grp, if present, into *out after checking
 * it lies in [min, max]. Returns 0 (also when absent) or -EINVAL.
 */
static int read_uint(const config_setting_t *grp, const char *key, long long min, long long max,
		     uint32_t *out, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	if (!s)
		return 0;
	int type = config_setting_type(s);
	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		writer_diag(d, s, NULL, "expected an integer");
		return -EINVAL;
	}
	long long v = config_setting_get_int64(s);
	if (v < min || v > max) {
		writer_diag(d, s, NULL, "%lld is out of range (%lld to %lld)", v, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int read_collector(struct collector_config *c, const config_setting_t *grp, struct diag *d)
{
	static const char *const keys[] = {"dir", "merge_window_us", "poll_max_ms", "sleep_after_ms",
					   "idle_poll_ms", "rescan_ms"};
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
			writer_diag(d, s, NULL, "unknown key (known: dir, merge_window_us, poll_max_ms, sleep_after_ms, "
					    "idle_poll_ms, rescan_ms)");
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
	r = read_uint(grp, "merge_window_us", 0, CONFIG_MERGE_WINDOW_US_MAX, &c->merge_window_us, d);
	if (r < 0)
		return r;
	r = read_uint(grp, "poll_max_ms", CONFIG_POLL_MAX_MS_MIN, CONFIG_POLL_MAX_MS_MAX, &c->poll_max_ms, d);
	if (r < 0)
		return r;
	r = read_uint(grp, "sleep_after_ms", 0, CONFIG_SLEEP_AFTER_MS_MAX, &c->sleep_after_ms, d);
	if (r < 0)
		return r;
	r = read_uint(grp, "idle_poll_ms", 1, CONFIG_IDLE_POLL_MS_MAX, &c->idle_poll_ms, d);
	if (r < 0)
		return r;
	return read_uint(grp, "rescan_ms", CONFIG_RESCAN_MS_MIN, CONFIG_RESCAN_MS_MAX, &c->rescan_ms, d);
}

/* Open writers.[i] into the next slot of c. Returns 0 or -errno. */
static int open_writer(struct collector_config *c, const config_setting_t *grp, struct diag *d)
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
	r = writer_open(&c->writers[c->n_writers], ops, grp, d);
	if (r < 0)
		return r;
	c->n_writers++;
	return 0;
}

static int read_writers(struct collector_config *c, const config_setting_t *list, struct diag *d)
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
		int r = open_writer(c, config_setting_get_elem(list, (unsigned)i), d);
		if (r < 0)
			return r;
	}
	return 0;
}

static int default_writer(struct collector_config *c, struct diag *d)
{
	int r = writer_open(&c->writers[0], writer_lookup("console"), NULL, d);
	if (r == 0)
		c->n_writers = 1;
	return r;
}

static int read_file(struct collector_config *c, config_t *cfg, const char *path, struct diag *d)
{
	/* libconfig reports an unreadable file as a bare "file I/O error"; find the reason first. */
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(d->msg, sizeof d->msg, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	fclose(f);

	if (config_read_file(cfg, path) != CONFIG_TRUE) {
		const char *file = config_error_file(cfg);
		snprintf(d->msg, sizeof d->msg, "%s:%d: %s", file ? file : path, config_error_line(cfg),
			 config_error_text(cfg));
		return config_error_type(cfg) == CONFIG_ERR_FILE_IO ? -EIO : -EINVAL;
	}

	config_setting_t *root = config_root_setting(cfg);
	config_setting_t *collector = NULL, *writers = NULL;
	int n = config_setting_length(root);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		if (strcmp(name, "collector") == 0) {
			collector = s;
		} else if (strcmp(name, "writers") == 0) {
			writers = s;
		} else {
			writer_diag(d, s, NULL, "unknown key (known: collector, writers)");
			return -EINVAL;
		}
	}

	int r = collector ? read_collector(c, collector, d) : 0;
	if (r < 0)
		return r;
	return writers ? read_writers(c, writers, d) : default_writer(c, d);
}

/*
 * Load the config at path (NULL: built-in defaults and one console writer on
 * stdout) into *c, which needs no initialisation, and open its writers.
 * Returns 0, or -errno with d->msg holding one line "FILE:LINE: KEY: problem"
 * ("FILE:LINE: problem" for a syntax error, "FILE: cannot read: reason" for
 * an unreadable file) and nothing left open: -EINVAL for a bad config, the
 * open's -errno for an unreadable config or a writer that cannot open.
 */
int config_load(struct collector_config *c, const char *path, struct diag *d)
{
	set_defaults(c);
	d->msg[0] = '\0';
	if (!path)
		return default_writer(c, d);

	config_t cfg;
	config_init(&cfg);
	int r = read_file(c, &cfg, path, d);
	config_destroy(&cfg);
	if (r < 0)
		config_free(c);
	return r;
}

/* Close every writer; c may then be loaded again. Returns nothing. */
void config_free(struct collector_config *c)
{
	for (unsigned i = 0; i < c->n_writers; i++)
		writer_close(&c->writers[i]);
	c->n_writers = 0;
}
