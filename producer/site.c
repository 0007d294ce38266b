/*
 * site.c — call sites made at run time, for language bindings: the public
 * shmlog_site_register() and shmlog_log_values() (contracts in shmlog.h).
 *
 * A run-time site is a struct shmlog__site, the struct a macro compiles in,
 * built on the heap from a format known only at run time: the format is
 * parsed here, once, then the site goes through the registry exactly as a
 * macro's does (so a forked child registers it again in its own segment).
 * shmlog_log_values() converts the binding's typed values into the general
 * path's struct shmlog__values, in the kinds the format reads, and hands
 * them to the general path's writer (log.c), which encodes every record.
 * The sites of a logger are kept in a list and freed with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/fmt.h"
#include "internal.h"

#define SHMLOG_EXPORT __attribute__((visibility("default")))

/* a value type names its field kind: one table for both */
static_assert(SHMLOG_VALUE_INT == SHMLOG_FIELD_I64 && SHMLOG_VALUE_UINT == SHMLOG_FIELD_U64 &&
		      SHMLOG_VALUE_DOUBLE == SHMLOG_FIELD_F64 && SHMLOG_VALUE_BOOL == SHMLOG_FIELD_BOOL &&
		      SHMLOG_VALUE_STRING == SHMLOG_FIELD_STRING,
	      "SHMLOG_VALUE_* are the ABI's field kinds");

struct shmlog_site {
	struct shmlog__site site;     /* what the registry and the writer see */
	struct shmlog__fields fields; /* site.fields points here when it has fields */
	struct shmlog_site *next;     /* the logger's list (under site_lock) */
	char strings[];               /* the format, the file, the keys, each NUL-terminated */
};

/* Whether the fields are well formed; their keys' bytes (with NULs) in *bytes. */
static bool fields_valid(const struct shmlog_field_spec *fields, unsigned n, size_t *bytes)
{
	if (n > SHMLOG_MAX_FIELDS || (n && !fields))
		return false;
	for (unsigned i = 0; i < n; i++) {
		size_t kl = fields[i].key ? strlen(fields[i].key) : 0;
		if (kl < 1 || kl > SHMLOG_FIELD_KEY_MAX || fields[i].type < SHMLOG_VALUE_INT ||
		    fields[i].type > SHMLOG_VALUE_STRING)
			return false;
		*bytes += kl + 1;
	}
	return true;
}

/* A copy of s at *at, which moves past it. */
static const char *put_string(char **at, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = memcpy(*at, s, n);
	*at += n;
	return d;
}

/* A new site for fmt, as parsed into *pf (the caller checked the rest). */
static struct shmlog_site *site_new(const struct fmt_parsed *pf, int level, const char *fmt, const char *file,
				    int line, const struct shmlog_field_spec *fields, unsigned nfields, size_t bytes)
{
	struct shmlog_site *s = calloc(1, sizeof *s + bytes);
	if (!s)
		return NULL;
	char *at = s->strings;
	s->site.fmt = put_string(&at, fmt);
	s->site.file = put_string(&at, file);
	s->site.line = line;
	s->site.level = level;
	s->site.nargs = (uint8_t)pf->n_args;
	memcpy(s->site.kinds, pf->kinds, pf->n_args);
	/* parsed here: the registry does not parse it again */
	atomic_init(&s->site.parsed, 1u);
	s->fields.n = (uint8_t)nfields;
	for (unsigned i = 0; i < nfields; i++) {
		s->fields.kinds[i] = (uint8_t)fields[i].type;
		s->fields.keys[i] = put_string(&at, fields[i].key);
	}
	s->site.fields = nfields ? &s->fields : NULL;
	return s;
}

SHMLOG_EXPORT int shmlog_site_register(struct shmlog *lg, struct shmlog_site **out, int level, const char *fmt,
				       const char *file, int line, const struct shmlog_field_spec *fields,
				       unsigned nfields)
{
	*out = NULL;
	if (!file)
		file = "";
	size_t bytes = 0;
	if (!fmt || level < SHMLOG_LEVEL_TRACE || level > SHMLOG_LEVEL_CRITICAL ||
	    !fields_valid(fields, nfields, &bytes))
		return -EINVAL;
	if (shmlog__seg_pending(lg) ? shmlog__segment_ensure(lg) < 0 : !lg->base) /* a forked child's, not made */
		return -ENODEV;
	struct fmt_parsed *pf = malloc(sizeof *pf);
	if (!pf)
		return -ENOMEM;
	struct shmlog_site *s = NULL;
	int rc = fmt_parse(pf, fmt, strlen(fmt), NULL) < 0 ? -EINVAL : 0;
	if (rc == 0) {
		s = site_new(pf, level, fmt, file, line, fields, nfields, bytes + strlen(fmt) + strlen(file) + 2);
		rc = s ? (int)pf->n_args : -ENOMEM;
	}
	free(pf);
	uint32_t id;
	if (s && shmlog__register(lg, &s->site, &id) < 0) {
		free(s);
		return -ENOSPC;
	}
	if (s) {
		pthread_mutex_lock(&lg->site_lock);
		s->next = lg->run_sites;
		lg->run_sites = s;
		pthread_mutex_unlock(&lg->site_lock);
		*out = s;
	}
	return rc;
}

/* v as an argument the format reads as kind. Returns false when its type does not fit. */
static bool arg_value(struct record_value *out, uint8_t kind, const struct shmlog_value *v, uint32_t max_str)
{
	bool integer = v->type == SHMLOG_VALUE_INT || v->type == SHMLOG_VALUE_UINT;
	switch (kind) {
	case SHMLOG_ARG_INT32:
	case SHMLOG_ARG_INT64:
	case SHMLOG_ARG_POINTER:
		out->v.w = v->type == SHMLOG_VALUE_INT ? (uint64_t)v->v.i : v->v.u;
		if (kind == SHMLOG_ARG_INT32)
			out->v.w = (uint32_t)out->v.w; /* what printf reads of an int */
		return integer;
	case SHMLOG_ARG_DOUBLE: out->v.d = v->v.d; return v->type == SHMLOG_VALUE_DOUBLE;
	case SHMLOG_ARG_LDOUBLE: record_ld_bytes(out->v.ld, (long double)v->v.d); return v->type == SHMLOG_VALUE_DOUBLE;
	case SHMLOG_ARG_STRING:
		out->v.s = v->v.s.p;
		out->slen = record_strn_len(v->v.s.p, v->v.s.len, max_str);
		return v->type == SHMLOG_VALUE_STRING;
	}
	return false;
}

/* v as a value of a field of this kind. Returns false when its type is not the field's. */
static bool field_value(struct record_value *out, uint8_t kind, const struct shmlog_value *v, uint32_t max_str)
{
	if (v->type != kind)
		return false;
	switch (kind) {
	case SHMLOG_FIELD_I64: out->v.w = (uint64_t)v->v.i; break;
	case SHMLOG_FIELD_U64: out->v.w = v->v.u; break;
	case SHMLOG_FIELD_F64: out->v.d = v->v.d; break;
	case SHMLOG_FIELD_BOOL: out->v.w = v->v.i != 0; break;
	case SHMLOG_FIELD_STRING:
		out->v.s = v->v.s.p;
		out->slen = record_strn_len(v->v.s.p, v->v.s.len, max_str);
		break;
	}
	return true;
}

SHMLOG_EXPORT int shmlog_log_values(struct shmlog *lg, struct shmlog_site *site, const struct shmlog_value *args,
				    unsigned nargs, const struct shmlog_value *fields, unsigned nfields)
{
	const struct shmlog__site *ss = &site->site;
	/* relaxed: as the macros' level check */
	if (ss->level < atomic_load_explicit(&lg->hot.level, memory_order_relaxed))
		return 0;
	if (nargs != ss->nargs || nfields != site->fields.n || (nargs && !args) || (nfields && !fields))
		return -EINVAL;
	struct shmlog__values cv;
	for (unsigned i = 0; i < nargs; i++)
		if (!arg_value(&cv.args[i], ss->kinds[i], &args[i], lg->max_string))
			return -EINVAL;
	for (unsigned i = 0; i < nfields; i++)
		if (!field_value(&cv.fields[i], site->fields.kinds[i], &fields[i], lg->max_string))
			return -EINVAL;
	uint32_t id;
	int rc = shmlog__site_id(lg, &site->site, &id);
	if (rc < 0)
		return rc;
	return shmlog__log_values(lg, ss, id, &cv) ? 0 : -ENOBUFS;
}

void shmlog__sites_free(struct shmlog *lg)
{
	for (struct shmlog_site *s = lg->run_sites, *next; s; s = next) {
		next = s->next;
		free(s);
	}
	lg->run_sites = NULL;
}
