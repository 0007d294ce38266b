/*
 * writer_console.c — the "console" writer: standard output or error.
 *
 * Keys: stream = "stdout" (default) | "stderr"; color = "auto" (default) |
 * "always" | "never". "auto" colours the level names when the stream is a
 * terminal and NO_COLOR is unset or empty (https://no-color.org). The
 * stream's descriptor belongs to the process, so close leaves it open, and
 * there is nothing to make durable, so it has no sync. Its output is not
 * durable: a failed write (a closed pipe) drops that batch.
 */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const char *const console_keys[] = {"stream", "color", NULL};

static bool no_color_env(void)
{
	const char *v = getenv("NO_COLOR");
	return v && *v;
}

/*
 * Read stream and color from cfg (NULL: stdout, auto) and point w at the
 * stream. Returns 0, or -EINVAL with d->msg naming the key.
 */
static int console_configure(struct writer *w, const config_setting_t *cfg, struct diag *d)
{
	const char *stream = "stdout", *color = "auto";
	if (cfg) {
		int r = writer_cfg_string(cfg, "stream", &stream, d);
		if (r < 0)
			return r;
		r = writer_cfg_string(cfg, "color", &color, d);
		if (r < 0)
			return r;
	}

	if (strcmp(stream, "stdout") == 0) {
		w->fd = STDOUT_FILENO;
	} else if (strcmp(stream, "stderr") == 0) {
		w->fd = STDERR_FILENO;
	} else {
		writer_diag(d, config_setting_get_member(cfg, "stream"), NULL,
			    "must be \"stdout\" or \"stderr\", not \"%s\"", stream);
		return -EINVAL;
	}

	if (strcmp(color, "auto") == 0) {
		w->color = isatty(w->fd) && !no_color_env();
	} else if (strcmp(color, "always") == 0) {
		w->color = true;
	} else if (strcmp(color, "never") == 0) {
		w->color = false;
	} else {
		writer_diag(d, config_setting_get_member(cfg, "color"), NULL,
			    "must be \"auto\", \"always\" or \"never\", not \"%s\"", color);
		return -EINVAL;
	}
	return 0;
}

/* The stream is the process's: nothing to open. Returns 0. */
static int console_open(struct writer *w, struct diag *d)
{
	(void)w;
	(void)d;
	return 0;
}

/* The descriptor is the process's stdout/stderr: leave it open. */
static void console_close(struct writer *w)
{
	w->fd = -1;
}

const struct writer_ops writer_console_ops = {
	.keys = console_keys,
	.type = "console",
	.configure = console_configure,
	.open = console_open,
	.add = writer_add_line,
	.prepare = writer_prepare_line,
	.complete = writer_complete_line,
	.close = console_close, /* nothing to make durable on a terminal or pipe: no sync */
};
