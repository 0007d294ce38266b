/*
 * writer.c — the writer type table and what every writer has in common.
 *
 * A writer type is a struct writer_ops plus the list of config keys it reads
 * beyond the common ones (type, name, min_level, format). Both live in the
 * type's own file (writer_console.c, writer_file.c); adding a type means one
 * new file and one line in writer_types[] below.
 *
 * writer_configure() reads the common keys, refuses any key neither it nor
 * the type knows (a misspelt key should not silently do nothing), and then
 * hands the group to the type's configure; writer_open() then opens it.
 *
 * The helpers below are shared by the type files, config.c and router.c:
 * config errors (writer_diag, writer_cfg_string, writer_types_list) and the
 * line writers' add/prepare/complete over struct wout.
 */
#include "writer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/escape.h"
#include "../shared/grow.h"

static const struct writer_ops *const writer_types[] = {
	&writer_console_ops,
	&writer_file_ops,
	&writer_syslog_ops,
	&writer_binary_ops,
};
#define WRITER_TYPE_COUNT (sizeof writer_types / sizeof writer_types[0])

/* Bytes a writer may hold unwritten before it skips records (output.h): the default, and backlog_bytes' range. */
#define WRITER_BACKLOG_MAX (64u << 20)
#define WRITER_BACKLOG_MIN 4096
#define WRITER_BACKLOG_LIMIT (1ll << 40)

static const char *const writer_common_keys[] = {"type", "name", "min_level", "format", "backlog_bytes", NULL};

/* The ops for a type name. Returns NULL for an unknown (or NULL) name. */
const struct writer_ops *writer_lookup(const char *type)
{
	if (!type)
		return NULL;
	for (size_t i = 0; i < WRITER_TYPE_COUNT; i++)
		if (strcmp(writer_types[i]->type, type) == 0)
			return writer_types[i];
	return NULL;
}

/*
 * Write the known type names, comma separated ("console, file"), into out
 * (NUL-terminated, truncated to size). Returns out.
 */
char *writer_types_list(char *out, size_t size)
{
	size_t len = 0;
	if (size == 0)
		return out;
	out[0] = '\0';
	for (size_t i = 0; i < WRITER_TYPE_COUNT && len < size; i++) {
		int r = snprintf(out + len, size - len, "%s%s", i ? ", " : "", writer_types[i]->type);
		if (r < 0)
			break;
		len += (size_t)r;
	}
	return out;
}

/* Append the path of s ("writers.[1].path") to buf at *len; roots append nothing. */
static void setting_path(const config_setting_t *s, char *buf, size_t size, size_t *len)
{
	const config_setting_t *parent = config_setting_parent(s);
	if (!parent)
		return; /* the root group has no name */
	setting_path(parent, buf, size, len);
	const char *name = config_setting_name(s);
	const char *dot = *len ? "." : "";
	int r;
	if (name)
		r = snprintf(buf + *len, size - *len, "%s%s", dot, name);
	else
		r = snprintf(buf + *len, size - *len, "%s[%d]", dot, config_setting_index(s));
	if (r > 0)
		*len = *len + (size_t)r < size ? *len + (size_t)r : size - 1;
}

/*
 * Fill d->msg with "FILE:LINE: KEY: problem" for setting s (or, when key is
 * not NULL, for its member key, which may be missing: the line is then s's).
 * The file is the one s came from (it may be an @include), else "config".
 * Control bytes in the problem are escaped as in the text format. Returns
 * nothing.
 */
void writer_diag(struct diag *d, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	char path[256];
	size_t len = 0;
	path[0] = '\0';
	setting_path(s, path, sizeof path, &len);
	if (key)
		snprintf(path + len, sizeof path - len, "%s%s", len ? "." : "", key);

	const char *file = config_setting_source_file(s);
	int n = snprintf(d->msg, sizeof d->msg, "%s:%u: %s: ", file ? file : "config",
			 config_setting_source_line(s), path);
	if (n < 0 || (size_t)n >= sizeof d->msg)
		return;
	char raw[sizeof d->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* a value the problem quotes may hold any byte (a libconfig string may span lines) */
	writer_diag_line(d->msg + n, sizeof d->msg - (size_t)n, raw);
}

char *writer_diag_line(char *out, size_t cap, const char *s)
{
	char *p = out, *end = out + cap;
	for (const unsigned char *r = (const unsigned char *)s; *r && end - p > 4; r++) {
		if (*r < 0x20 || *r == 0x7f)
			p = esc_text_byte(p, *r);
		else
			*p++ = (char)*r;
	}
	*p = '\0';
	return out;
}

/*
 * Read the string member key of group grp into *out, if present.
 * Returns 1 when found, 0 when absent (*out untouched), -EINVAL with d->msg
 * filled when it is not a string.
 */
int writer_cfg_string(const config_setting_t *grp, const char *key, const char **out, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		writer_diag(d, s, NULL, "expected a string");
		return -EINVAL;
	}
	*out = config_setting_get_string(s);
	return 1;
}

/*
 * Read the integer member key of grp, if present, into *out after checking
 * it lies in [min, max]. Returns 0 (also when absent) or -EINVAL with d filled.
 */
int writer_cfg_uint(const config_setting_t *grp, const char *key, long long min, long long max, uint32_t *out,
		    struct diag *d)
{
	uint64_t v = *out;
	int r = writer_cfg_u64(grp, key, min, max, &v, d);
	*out = (uint32_t)v;
	return r;
}

/* writer_cfg_uint for 64-bit values. Returns 0 (also when absent) or -EINVAL with d filled. */
int writer_cfg_u64(const config_setting_t *grp, const char *key, long long min, long long max, uint64_t *out,
		   struct diag *d)
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
	*out = (uint64_t)v;
	return 0;
}

/* Read the boolean member key of grp, if present, into *out. Returns 0 (also when absent) or -EINVAL with d filled. */
int writer_cfg_bool(const config_setting_t *grp, const char *key, bool *out, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		writer_diag(d, s, NULL, "expected true or false");
		return -EINVAL;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

static bool key_in(const char *const *keys, const char *key)
{
	for (; keys && *keys; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

/* Read backlog_bytes, if present. Returns 0 or -EINVAL with d filled. */
static int read_backlog(struct writer *w, const config_setting_t *cfg, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(cfg, "backlog_bytes");
	if (!s)
		return 0;
	int type = config_setting_type(s);
	long long v = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64 ? config_setting_get_int64(s) : -1;
	if (v < WRITER_BACKLOG_MIN || v > WRITER_BACKLOG_LIMIT) {
		writer_diag(d, s, NULL, "must be an integer from %d to %lld (bytes)", WRITER_BACKLOG_MIN,
			    (long long)WRITER_BACKLOG_LIMIT);
		return -EINVAL;
	}
	w->backlog_max = (uint64_t)v;
	return 0;
}

/* Read name, min_level, format and backlog_bytes from cfg and refuse unknown keys. Returns 0 or -EINVAL. */
static int read_common(struct writer *w, const config_setting_t *cfg,
		       struct diag *d)
{
	int n = config_setting_length(cfg);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(cfg, (unsigned)i);
		const char *key = config_setting_name(s);
		if (!key_in(writer_common_keys, key) && !key_in(w->ops->keys, key)) {
			writer_diag(d, s, NULL, "unknown key for a %s writer", w->ops->type);
			return -EINVAL;
		}
	}

	const char *v;
	int r = writer_cfg_string(cfg, "name", &v, d);
	if (r < 0)
		return r;
	if (r > 0) {
		if (!*v || strlen(v) >= sizeof w->name) {
			writer_diag(d, config_setting_get_member(cfg, "name"), NULL,
				    "must be 1 to %zu bytes long", sizeof w->name - 1);
			return -EINVAL;
		}
		strcpy(w->name, v);
	}

	r = writer_cfg_string(cfg, "min_level", &v, d);
	if (r < 0)
		return r;
	if (r > 0) {
		int level = text_level_parse(v);
		if (level < 0) {
			writer_diag(d, config_setting_get_member(cfg, "min_level"), NULL,
				    "unknown level \"%s\" (known: TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, OFF)",
				    v);
			return -EINVAL;
		}
		w->min_level = level;
	}

	r = writer_cfg_string(cfg, "format", &v, d);
	if (r < 0)
		return r;
	if (r > 0 && w->ops->unformatted) {
		writer_diag(d, config_setting_get_member(cfg, "format"), NULL,
			    "does not apply to a %s writer, which writes no text or JSON lines", w->ops->type);
		return -EINVAL;
	}
	if (r > 0) {
		if (strcmp(v, "text") == 0) {
			w->format = TEXT_FORMAT_TEXT;
		} else if (strcmp(v, "json") == 0) {
			w->format = TEXT_FORMAT_JSON;
		} else {
			writer_diag(d, config_setting_get_member(cfg, "format"), NULL,
				    "must be \"text\" or \"json\", not \"%s\"", v);
			return -EINVAL;
		}
	}
	return read_backlog(w, cfg, d);
}

/*
 * Configure w as a writer of type ops from its config group cfg (NULL: all
 * defaults: the type name as name, every level, text format). w needs no
 * initialisation; nothing is opened. Returns 0, or -errno with d->msg filled
 * (writer_close on w is harmless then).
 */
int writer_configure(struct writer *w, const struct writer_ops *ops, const config_setting_t *cfg,
		     struct diag *d)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	w->ops = ops;
	w->min_level = TEXT_LEVEL_TRACE;
	w->format = TEXT_FORMAT_TEXT;
	w->backlog_max = WRITER_BACKLOG_MAX;
	w->plain_add = ops->add == writer_add_line;
	snprintf(w->name, sizeof w->name, "%s", ops->type);
	int r = cfg ? read_common(w, cfg, d) : 0;
	if (r == 0)
		r = ops->configure(w, cfg, d);
	if (r < 0)
		writer_close(w);
	return r;
}

/* writer_configure, then the type's open. Returns 0, or -errno with d->msg filled and w closed. */
int writer_open(struct writer *w, const struct writer_ops *ops, const config_setting_t *cfg, struct diag *d)
{
	int r = writer_configure(w, ops, cfg, d);
	if (r == 0 && (r = w->ops->open(w, d)) < 0)
		writer_close(w);
	return r;
}

/* Take rec as one line in w's format. Returns 0 or -ENOMEM (the record is then lost to w). */
int writer_add_line(struct writer *w, struct output_rec *rec)
{
	return output_rec_append(rec, w->format, w->color, &w->out.buf);
}

/* Remember that the bytes now held end a batch of w->taken records. */
static void wout_mark(struct writer *w)
{
	struct wout *o = &w->out;
	uint64_t end = o->written + o->buf.len;
	if (o->n_marks && o->marks[o->n_marks - 1].bytes == end)
		return;
	if (GROW(o->marks, o->n_marks, o->cap_marks, 16) < 0)
		return; /* the next mark that fits covers these records too */
	o->marks[o->n_marks++] = (struct wout_mark){end, w->taken};
}

/*
 * prepare() of line writers: everything w->out holds, to w->fd. Output
 * never holds part of a line (output_rec_append reserves a whole line).
 * Returns 1 with *req filled, 0 when nothing is held.
 */
int writer_prepare_line(struct writer *w, struct uio_req *req)
{
	if (w->out.buf.len == 0)
		return 0;
	wout_mark(w);
	*req = (struct uio_req){.fd = w->fd, .buf = w->out.buf.data, .len = w->out.buf.len};
	return 1;
}

/*
 * complete() of line writers: drop the req->done bytes written from the
 * front of w->out; a non-durable writer (console) that failed drops the rest
 * too, as it has nowhere to keep it. Returns the records wholly written (or
 * dropped) since open.
 */
uint64_t writer_complete_line(struct writer *w, const struct uio_req *req)
{
	struct wout *o = &w->out;
	size_t done = req->done;
	if (req->err && !w->durable)
		done = o->buf.len;
	if (done == 0) /* a full disk: nothing moves (the backlog may be large) */
		return o->records_done;
	memmove(o->buf.data, o->buf.data + done, o->buf.len - done);
	o->buf.len -= done;
	o->written += done;
	uint32_t k = 0;
	while (k < o->n_marks && o->marks[k].bytes <= o->written)
		o->records_done = o->marks[k++].records;
	memmove(o->marks, o->marks + k, (o->n_marks - k) * sizeof *o->marks);
	o->n_marks -= k;
	if (o->buf.len == 0) /* everything taken is written, also what a lost mark covered */
		o->records_done = w->taken;
	return o->records_done;
}

/* Close w through its type and free its buffers. Safe on a closed or failed writer. Returns nothing. */
void writer_close(struct writer *w)
{
	if (w->ops && w->ops->close)
		w->ops->close(w);
	w->ops = NULL;
	w->fd = -1;
	w->priv = NULL;
	sbuf_free(&w->out.buf);
	free(w->out.marks);
	w->out.marks = NULL;
	w->out.n_marks = w->out.cap_marks = 0;
}
