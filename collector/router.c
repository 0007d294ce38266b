/*
 * router.c — compiling the config's routes, and sending each record to the
 * writers they name.
 *
 * At load, every route of the `routes` list becomes a struct route: its
 * level filters folded into one bit set, its name and field lists copied with
 * their lengths, its `message` regex compiled and JIT-compiled once with its
 * match data allocated, and its `to` list turned into a mask of writers (bit i
 * for names[i]). The `default` list becomes one more mask. Everything the
 * router keeps is copied into blocks it owns (freed together at close), so the
 * config may go away after router_open().
 *
 * Per record, router_route() walks the routes in order: within a route the
 * cheap tests run first (level bit, names, fields) and the regex last, at most
 * once. Nothing is allocated and no config string is measured there.
 * docs/routing.md is the reference for the keys and their semantics.
 */
#include "router.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/escape.h"

/*
 * Backtracking steps one regex may take on one record. A pathological
 * pattern then costs a bounded time per record (and counts as no match)
 * instead of stalling the collector.
 */
#define ROUTER_MATCH_LIMIT 1000000


struct router_str {
	const char *p; /* NUL-terminated copy, owned by the router */
	uint32_t len;
};

struct router_list {
	struct router_str *items;
	uint32_t n;
};

enum router_value {
	ROUTER_VALUE_INT,   /* libconfig int or int64 */
	ROUTER_VALUE_FLOAT,
	ROUTER_VALUE_BOOL,
	ROUTER_VALUE_STR,
};

struct router_field {
	struct router_str key;
	enum router_value kind;
	union {
		int64_t i;
		double d;
		bool b;
		struct router_str s;
	} v;
};

struct route {
	uint32_t to;                  /* writers, bit i = names[i]; never 0 */
	bool stop;                    /* end the search when this route matched */
	bool has_levels;              /* level, min_level or max_level given */
	uint32_t levels;              /* bit L: a record at level L passes */
	uint32_t level_list;          /* the `level` key's bits, 0 if absent (for describe) */
	int min_level, max_level;     /* 0 if absent (for describe) */
	struct router_list names;     /* `name`; n = 0 if absent */
	struct router_list has_field; /* `has_field`; n = 0 if absent */
	struct router_field *fields;  /* `fields`, n_fields of them */
	uint32_t n_fields;
	pcre2_code *re;               /* `message`, NULL if absent */
	pcre2_match_data *md;         /* re's match data, allocated once */
	bool jit;                     /* re was JIT-compiled */
	struct router_str pattern;    /* re's source (for describe) */
	struct router_list to_names;  /* `to` as written (for describe) */
};

/* One allocation the router owns; all are freed together by router_close. */
struct router_block {
	struct router_block *next;
	max_align_t data[];
};

struct router {
	struct route *routes;
	unsigned n_routes;
	bool has_routes;              /* a routes key was given */
	bool has_default;             /* a default key was given */
	uint32_t dflt;                /* the writers of a record no route matched */
	struct router_list dflt_names; /* default as written (for describe) */
	struct router_list names;     /* the writers' names */
	pcre2_match_context *mctx;    /* the match limit, shared by every regex */
	pcre2_jit_stack *jit_stack;   /* the JIT's stack, made once (else each match sets 32 KiB of its own up) */
	struct router_block *blocks;
};

/* What the readers of the config need besides the router itself. */
struct router_load {
	struct router *rt;
	struct diag *d;
};

/* ---- memory the router owns ---- */

/* Zeroed memory freed at router_close. Returns it, or NULL. */
static void *router_alloc(struct router *rt, size_t size)
{
	struct router_block *b = calloc(1, sizeof *b + size);
	if (!b)
		return NULL;
	b->next = rt->blocks;
	rt->blocks = b;
	return b->data;
}

/* Copy s into memory rt owns, with its length. Returns 0 or -ENOMEM. */
static int router_copy(struct router *rt, const char *s, struct router_str *out)
{
	size_t len = strlen(s);
	char *p = router_alloc(rt, len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, s, len + 1);
	out->p = p;
	out->len = (uint32_t)len;
	return 0;
}

static int router_oom(struct diag *d, const config_setting_t *s)
{
	writer_diag(d, s, NULL, "out of memory");
	return -ENOMEM;
}

/* The same before any setting is involved. */
static int router_nomem(struct diag *d)
{
	snprintf(d->msg, sizeof d->msg, "router: out of memory");
	return -ENOMEM;
}

/* ---- reading lists of strings ---- */

/*
 * Check that s is a list or array of strings ("what" names them in the
 * message), non-empty unless allow_empty. Returns its length or -EINVAL.
 */
static int string_list_length(const config_setting_t *s, const char *what, bool allow_empty,
			      struct diag *d)
{
	int type = config_setting_type(s);
	int n = config_setting_length(s);
	bool ok = type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST;
	for (int i = 0; ok && i < n; i++)
		ok = config_setting_type(config_setting_get_elem(s, (unsigned)i)) == CONFIG_TYPE_STRING;
	if (!ok) {
		writer_diag(d, s, NULL, "expected a list of %s [\"...\", ...]", what);
		return -EINVAL;
	}
	if (n == 0 && !allow_empty) {
		writer_diag(d, s, NULL, "empty list (name at least one)");
		return -EINVAL;
	}
	return n;
}

/* Copy the strings of list s (checked by string_list_length) into *out. Returns 0 or -ENOMEM. */
static int copy_list(struct router_load *ld, const config_setting_t *s, unsigned n,
		     struct router_list *out)
{
	out->items = router_alloc(ld->rt, n * sizeof *out->items);
	if (!out->items)
		return router_oom(ld->d, s);
	for (unsigned i = 0; i < n; i++)
		if (router_copy(ld->rt, config_setting_get_string_elem(s, (int)i), &out->items[i]) < 0)
			return router_oom(ld->d, s);
	out->n = n;
	return 0;
}

/* Read a non-empty list of strings into *out. Returns 0, -EINVAL or -ENOMEM. */
static int read_string_list(struct router_load *ld, const config_setting_t *s, const char *what,
			    struct router_list *out)
{
	int n = string_list_length(s, what, false, ld->d);
	if (n < 0)
		return n;
	return copy_list(ld, s, (unsigned)n, out);
}

/* The writers' names, comma separated ("console, errors"), into out. Returns out. */
static char *known_writers(const struct router *rt, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (uint32_t i = 0; i < rt->names.n && len < size; i++) {
		int r = snprintf(out + len, size - len, "%s%s", i ? ", " : "", rt->names.items[i].p);
		if (r < 0)
			break;
		len += (size_t)r;
	}
	if (rt->names.n == 0)
		snprintf(out, size, "none");
	return out;
}

/*
 * Read list s of writer names (empty allowed only when allow_empty) into its
 * mask *mask and, as written, *names. Returns 0, -EINVAL or -ENOMEM.
 */
static int read_writer_list(struct router_load *ld, const config_setting_t *s, bool allow_empty,
			    uint32_t *mask, struct router_list *names)
{
	int n = string_list_length(s, "writer names", allow_empty, ld->d);
	if (n < 0)
		return n;
	*mask = 0;
	for (int i = 0; i < n; i++) {
		const char *name = config_setting_get_string_elem(s, i);
		uint32_t bits = 0;
		for (uint32_t w = 0; w < ld->rt->names.n; w++)
			if (strcmp(ld->rt->names.items[w].p, name) == 0)
				bits |= 1u << w;
		if (!bits) {
			char known[400];
			writer_diag(ld->d, config_setting_get_elem(s, (unsigned)i), NULL,
				    "unknown writer \"%s\" (known: %s)", name,
				    known_writers(ld->rt, known, sizeof known));
			return -EINVAL;
		}
		*mask |= bits;
	}
	return copy_list(ld, s, (unsigned)n, names);
}

/* ---- the keys of a route ---- */

/* The level string s names (OFF refused: no record has it). Returns 0 with *level, or -EINVAL. */
static int parse_level(const config_setting_t *s, int *level, struct diag *d)
{
	const char *name = config_setting_get_string(s);
	int l = text_level_parse(name);
	if (l < TEXT_LEVEL_TRACE || l > TEXT_LEVEL_CRITICAL) {
		writer_diag(d, s, NULL, "%s level \"%s\" (known: TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL)",
			    l < 0 ? "unknown" : "no record has the", name);
		return -EINVAL;
	}
	*level = l;
	return 0;
}

/* Bits lo..hi of a level set. */
static uint32_t level_bits(int lo, int hi)
{
	return ((1u << (hi + 1)) - 1) & ~((1u << lo) - 1);
}

static int read_level(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	int n = string_list_length(s, "levels", false, ld->d);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		int l;
		if (parse_level(config_setting_get_elem(s, (unsigned)i), &l, ld->d) < 0)
			return -EINVAL;
		ro->level_list |= level_bits(l, l);
	}
	return 0;
}

static int read_bound(const config_setting_t *s, int *level, struct diag *d)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		writer_diag(d, s, NULL, "expected a level name (\"TRACE\" .. \"CRITICAL\")");
		return -EINVAL;
	}
	return parse_level(s, level, d);
}

static int read_min_level(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	return read_bound(s, &ro->min_level, ld->d);
}

static int read_max_level(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	return read_bound(s, &ro->max_level, ld->d);
}

static int read_name(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	return read_string_list(ld, s, "logger names", &ro->names);
}

static int read_has_field(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	return read_string_list(ld, s, "field keys", &ro->has_field);
}

/* Read one `key = value;` of a route's fields group into *f. Returns 0, -EINVAL or -ENOMEM. */
static int read_field(struct router_load *ld, const config_setting_t *s, struct router_field *f)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		f->kind = ROUTER_VALUE_INT;
		f->v.i = config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		f->kind = ROUTER_VALUE_FLOAT;
		f->v.d = config_setting_get_float(s);
		break;
	case CONFIG_TYPE_BOOL:
		f->kind = ROUTER_VALUE_BOOL;
		f->v.b = config_setting_get_bool(s);
		break;
	case CONFIG_TYPE_STRING:
		f->kind = ROUTER_VALUE_STR;
		if (router_copy(ld->rt, config_setting_get_string(s), &f->v.s) < 0)
			return router_oom(ld->d, s);
		break;
	default:
		writer_diag(ld->d, s, NULL, "expected an integer, a float, true/false or a string");
		return -EINVAL;
	}
	if (router_copy(ld->rt, config_setting_name(s), &f->key) < 0)
		return router_oom(ld->d, s);
	return 0;
}

static int read_fields(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	int n = config_setting_length(s);
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		writer_diag(ld->d, s, NULL, "expected a group { key = value; ... }");
		return -EINVAL;
	}
	if (n == 0) {
		writer_diag(ld->d, s, NULL, "empty group (name at least one field)");
		return -EINVAL;
	}
	ro->fields = router_alloc(ld->rt, (size_t)n * sizeof *ro->fields);
	if (!ro->fields)
		return router_oom(ld->d, s);
	for (int i = 0; i < n; i++) {
		int r = read_field(ld, config_setting_get_elem(s, (unsigned)i), &ro->fields[i]);
		if (r < 0)
			return r;
	}
	ro->n_fields = (uint32_t)n;
	return 0;
}

/* Compile, JIT-compile (when the platform can) and prepare match data for pattern s. */
static int read_message(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		writer_diag(ld->d, s, NULL, "expected a regular expression string");
		return -EINVAL;
	}
	int err;
	PCRE2_SIZE off;
	const char *pattern = config_setting_get_string(s);
	ro->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	if (!ro->re) {
		if (err == PCRE2_ERROR_HEAP_FAILED)
			return router_oom(ld->d, s);
		PCRE2_UCHAR text[256];
		pcre2_get_error_message(err, text, sizeof text);
		writer_diag(ld->d, s, NULL, "bad regex at offset %zu: %s", (size_t)off, (const char *)text);
		return -EINVAL;
	}
	/* Without JIT support pcre2_match interprets the same code: slower, same answers. */
	ro->jit = pcre2_jit_compile(ro->re, PCRE2_JIT_COMPLETE) == 0;
	/* one pair: whether it matches is all a route asks, and PCRE2 then fills no group (a fifth
	 * less per match of "(login|logout|permission|access)" here) */
	ro->md = pcre2_match_data_create(1, NULL);
	if (!ro->md || router_copy(ld->rt, pattern, &ro->pattern) < 0)
		return router_oom(ld->d, s);
	return 0;
}

static int read_to(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	return read_writer_list(ld, s, false, &ro->to, &ro->to_names);
}

static int read_stop(struct router_load *ld, struct route *ro, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		writer_diag(ld->d, s, NULL, "expected true or false");
		return -EINVAL;
	}
	ro->stop = config_setting_get_bool(s);
	return 0;
}

static const struct route_key {
	const char *name;
	int (*read)(struct router_load *ld, struct route *ro, const config_setting_t *s);
} route_keys[] = {
	{"level", read_level},         {"min_level", read_min_level}, {"max_level", read_max_level},
	{"name", read_name},           {"has_field", read_has_field}, {"fields", read_fields},
	{"message", read_message},     {"to", read_to},               {"stop", read_stop},
};
#define ROUTE_KEY_COUNT (sizeof route_keys / sizeof route_keys[0])

static const struct route_key *route_key_lookup(const char *name)
{
	for (size_t i = 0; i < ROUTE_KEY_COUNT; i++)
		if (strcmp(route_keys[i].name, name) == 0)
			return &route_keys[i];
	return NULL;
}

static int unknown_route_key(const config_setting_t *s, struct diag *d)
{
	char known[256];
	size_t len = 0;
	for (size_t i = 0; i < ROUTE_KEY_COUNT; i++)
		len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
					route_keys[i].name);
	writer_diag(d, s, NULL, "unknown key for a route (known: %s)", known);
	return -EINVAL;
}

/* Fold level, min_level and max_level into one bit set. Returns 0 or -EINVAL (min above max). */
static int route_levels(const config_setting_t *grp, struct route *ro, struct diag *d)
{
	int lo = ro->min_level ? ro->min_level : TEXT_LEVEL_TRACE;
	int hi = ro->max_level ? ro->max_level : TEXT_LEVEL_CRITICAL;
	if (lo > hi) {
		writer_diag(d, config_setting_get_member(grp, "min_level"), NULL, "%s is above max_level %s",
			    text_level_name(lo), text_level_name(hi));
		return -EINVAL;
	}
	ro->has_levels = ro->level_list || ro->min_level || ro->max_level;
	/* With no `level` list, the range alone: it is TRACE..CRITICAL when unbounded. */
	ro->levels = (ro->level_list ? ro->level_list : UINT32_MAX) & level_bits(lo, hi);
	return 0;
}

/* Read routes.[i], group grp, into *ro. Returns 0, -EINVAL or -ENOMEM. */
static int read_route(struct router_load *ld, const config_setting_t *grp, struct route *ro)
{
	if (config_setting_type(grp) != CONFIG_TYPE_GROUP) {
		writer_diag(ld->d, grp, NULL, "expected a group { to = [...]; ... }");
		return -EINVAL;
	}
	int n = config_setting_length(grp);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const struct route_key *k = route_key_lookup(config_setting_name(s));
		if (!k)
			return unknown_route_key(s, ld->d);
		int r = k->read(ld, ro, s);
		if (r < 0)
			return r;
	}
	if (!ro->to) {
		writer_diag(ld->d, grp, "to", "missing required key (the writers this route sends to)");
		return -EINVAL;
	}
	return route_levels(grp, ro, ld->d);
}

static int read_routes(struct router_load *ld, const config_setting_t *list)
{
	int type = config_setting_type(list);
	int n = config_setting_length(list);
	/* An empty "routes = [];" parses as an array: the same as "routes = ();". */
	if (type != CONFIG_TYPE_LIST && !(type == CONFIG_TYPE_ARRAY && n == 0)) {
		writer_diag(ld->d, list, NULL, "expected a list of routes ( { ... }, ... )");
		return -EINVAL;
	}
	struct router *rt = ld->rt;
	rt->has_routes = true;
	rt->routes = router_alloc(rt, (size_t)n * sizeof *rt->routes);
	if (!rt->routes)
		return router_oom(ld->d, list);
	/* Counted before reading, so router_close frees the regexes of a half-read list. */
	rt->n_routes = (unsigned)n;
	for (int i = 0; i < n; i++) {
		int r = read_route(ld, config_setting_get_elem(list, (unsigned)i), &rt->routes[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- loading ---- */

static int copy_names(struct router_load *ld, const char *const *names, unsigned n)
{
	struct router *rt = ld->rt;
	rt->names.items = router_alloc(rt, n * sizeof *rt->names.items);
	if (!rt->names.items)
		return router_nomem(ld->d);
	for (unsigned i = 0; i < n; i++)
		if (router_copy(rt, names[i], &rt->names.items[i]) < 0)
			return router_nomem(ld->d);
	rt->names.n = n;
	return 0;
}

/* Tell warn about every writer no route and no default can reach. */
static void warn_unreachable(const struct router *rt, const config_setting_t *routes,
			     const config_setting_t *dflt, const config_setting_t *const *writer_settings,
			     void (*warn)(void *arg, const char *line), void *arg)
{
	if (!warn || (!routes && !dflt))
		return;
	uint32_t reach = rt->dflt;
	for (unsigned i = 0; i < rt->n_routes; i++)
		reach |= rt->routes[i].to;
	for (uint32_t i = 0; i < rt->names.n; i++) {
		if (reach & (1u << i))
			continue;
		const config_setting_t *s = writer_settings && writer_settings[i] ? writer_settings[i]
					  : routes ? routes : dflt;
		struct diag line;
		writer_diag(&line, s, NULL, "writer \"%s\" is not reachable: no route and no default names it",
			    rt->names.items[i].p);
		warn(arg, line.msg);
	}
}

static int router_load(struct router_load *ld, const config_setting_t *routes,
		       const config_setting_t *dflt, const char *const *names, unsigned n)
{
	struct router *rt = ld->rt;
	if (n > ROUTER_MAX_WRITERS) {
		snprintf(ld->d->msg, sizeof ld->d->msg, "router: %u writers, at most %d can be routed", n,
			 ROUTER_MAX_WRITERS);
		return -EINVAL;
	}
	int r = copy_names(ld, names, n);
	if (r < 0)
		return r;
	rt->mctx = pcre2_match_context_create(NULL);
	if (!rt->mctx || pcre2_set_match_limit(rt->mctx, ROUTER_MATCH_LIMIT) != 0)
		return router_nomem(ld->d);
	rt->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (!rt->jit_stack)
		return router_nomem(ld->d);
	pcre2_jit_stack_assign(rt->mctx, NULL, rt->jit_stack);
	if (routes && (r = read_routes(ld, routes)) < 0)
		return r;
	rt->has_default = dflt != NULL;
	if (dflt)
		return read_writer_list(ld, dflt, true, &rt->dflt, &rt->dflt_names);
	/* No default: unmatched records go nowhere, unless there are no routes at all. */
	rt->dflt = routes ? 0 : (uint32_t)((1ull << n) - 1);
	return 0;
}

/*
 * Compile routes and dflt for the writers names[0..n). See router.h.
 * Returns 0 with *out set, or -EINVAL / -ENOMEM with d->msg filled.
 */
int router_open(struct router **out, const config_setting_t *routes, const config_setting_t *dflt,
		const char *const *names, const config_setting_t *const *writer_settings, unsigned n,
		struct diag *d, void (*warn)(void *arg, const char *line), void *arg)
{
	d->msg[0] = '\0';
	struct router *rt = calloc(1, sizeof *rt);
	if (!rt)
		return router_nomem(d);
	struct router_load ld = {.rt = rt, .d = d};
	int r = router_load(&ld, routes, dflt, names, n);
	if (r < 0) {
		router_close(rt);
		return r;
	}
	warn_unreachable(rt, routes, dflt, writer_settings, warn, arg);
	*out = rt;
	return 0;
}

/* Free rt, its regexes and every block it owns. rt may be NULL. Returns nothing. */
void router_close(struct router *rt)
{
	if (!rt)
		return;
	for (unsigned i = 0; i < rt->n_routes; i++) {
		pcre2_match_data_free(rt->routes[i].md);
		pcre2_code_free(rt->routes[i].re);
	}
	pcre2_match_context_free(rt->mctx);
	pcre2_jit_stack_free(rt->jit_stack);
	while (rt->blocks) {
		struct router_block *b = rt->blocks;
		rt->blocks = b->next;
		free(b);
	}
	free(rt);
}

/* ---- per record: the hot path ---- */

/* memcmp that is fine with a NULL pointer at length 0. */
static inline bool bytes_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static inline bool list_has(const struct router_list *l, const char *s, size_t len)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (bytes_eq(l->items[i].p, l->items[i].len, s, len))
			return true;
	return false;
}

/* The first field of r with key key, or NULL. */
static inline const struct text_field *find_field(const struct text_record *r,
						  const struct router_str *key)
{
	for (uint32_t i = 0; i < r->n_fields; i++)
		if (bytes_eq(r->fields[i].key, r->fields[i].key_len, key->p, key->len))
			return &r->fields[i];
	return NULL;
}

/* Does field f hold want's value? Types must agree, except that an integer also matches an F64. */
static bool field_equals(const struct router_field *want, const struct text_field *f)
{
	switch (want->kind) {
	case ROUTER_VALUE_INT:
		if (f->type == TEXT_FIELD_I64)
			return f->v.i == want->v.i;
		if (f->type == TEXT_FIELD_U64)
			return want->v.i >= 0 && f->v.u == (uint64_t)want->v.i;
		return f->type == TEXT_FIELD_F64 && f->v.d == (double)want->v.i;
	case ROUTER_VALUE_FLOAT:
		return f->type == TEXT_FIELD_F64 && f->v.d == want->v.d;
	case ROUTER_VALUE_BOOL:
		return f->type == TEXT_FIELD_BOOL && f->v.b == want->v.b;
	case ROUTER_VALUE_STR:
		return f->type == TEXT_FIELD_STR && !f->null &&
		       bytes_eq(f->v.s.p, f->v.s.len, want->v.s.p, want->v.s.len);
	}
	return false;
}

static bool fields_match(const struct route *ro, const struct text_record *r)
{
	for (uint32_t i = 0; i < ro->has_field.n; i++)
		if (!find_field(r, &ro->has_field.items[i]))
			return false;
	for (uint32_t i = 0; i < ro->n_fields; i++) {
		const struct text_field *f = find_field(r, &ro->fields[i].key);
		if (!f || !field_equals(&ro->fields[i], f))
			return false;
	}
	return true;
}

/* msg: r's message, or NULL to have it rendered. */
static bool regex_matches(const struct router *rt, const struct route *ro, const struct text_record *r,
			  const char *msg, size_t len)
{
	/* PCRE2 10.42 refuses a NULL subject even at length 0. */
	PCRE2_SPTR subject = (PCRE2_SPTR)(msg ? msg : text_record_msg(r, &len));
	int rc = ro->jit ? pcre2_jit_match(ro->re, subject, len, 0, 0, ro->md, rt->mctx)
			 : pcre2_match(ro->re, subject, len, 0, 0, ro->md, rt->mctx);
	return rc >= 0; /* 0: matched, the ovector too small to hold every group */
}

/* Does r pass every filter of ro? The regex, the dearest test, runs last. */
static bool route_matches(const struct router *rt, const struct route *ro, const struct text_record *r,
			  const char *msg, size_t msg_len)
{
	if (ro->has_levels && ((unsigned)r->level >= 32 || !(ro->levels & (1u << r->level))))
		return false;
	if (ro->names.n && !list_has(&ro->names, r->name, r->name_len))
		return false;
	if (!fields_match(ro, r))
		return false;
	return !ro->re || regex_matches(rt, ro, r, msg, msg_len);
}

/* The writers r goes to. See router.h. Returns the mask. */
uint32_t router_route_msg(struct router *rt, const struct text_record *r, const char *msg, size_t msg_len)
{
	uint32_t mask = 0;
	for (unsigned i = 0; i < rt->n_routes; i++) {
		const struct route *ro = &rt->routes[i];
		/* A route that could add no writer and does not stop changes nothing: skip its tests. */
		if (mask && !ro->stop && (ro->to & ~mask) == 0)
			continue;
		if (!route_matches(rt, ro, r, msg, msg_len))
			continue;
		mask |= ro->to;
		if (ro->stop)
			break;
	}
	/* Every route's `to` is non-empty, so mask != 0 exactly when a route matched. */
	return mask ? mask : rt->dflt;
}

uint32_t router_route(struct router *rt, const struct text_record *r)
{
	return router_route_msg(rt, r, NULL, 0);
}

bool router_wants_msg(const struct router *rt)
{
	for (unsigned i = 0; rt && i < rt->n_routes; i++)
		if (rt->routes[i].re)
			return true;
	return false;
}

bool router_fixed(const struct router *rt, uint32_t *mask)
{
	*mask = rt->dflt;
	return rt->n_routes == 0;
}

/* ---- describe ---- */

/* s into f with the text escapes: names, keys and patterns come from the config as written. */
static void put_esc(FILE *f, const char *s)
{
	char buf[4 * 64];
	for (size_t n = strlen(s), i = 0; i < n; i += 64) {
		size_t k = n - i < 64 ? n - i : 64;
		fwrite(buf, 1, (size_t)(esc_text(buf, s + i, k) - buf), f);
	}
}

static void put_list(FILE *f, const struct router_list *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		fputs(i ? ", " : "", f);
		put_esc(f, l->items[i].p);
	}
}

static void put_levels(FILE *f, const struct route *ro, const char **sep)
{
	if (ro->level_list) {
		fprintf(f, "%slevel in [", *sep);
		const char *comma = "";
		for (int l = TEXT_LEVEL_TRACE; l <= TEXT_LEVEL_CRITICAL; l++) {
			if (ro->level_list & (1u << l)) {
				fprintf(f, "%s%s", comma, text_level_name(l));
				comma = ", ";
			}
		}
		fputc(']', f);
		*sep = " and ";
	}
	if (ro->min_level && ro->max_level)
		fprintf(f, "%slevel in %s..%s", *sep, text_level_name(ro->min_level),
			text_level_name(ro->max_level));
	else if (ro->min_level)
		fprintf(f, "%slevel >= %s", *sep, text_level_name(ro->min_level));
	else if (ro->max_level)
		fprintf(f, "%slevel <= %s", *sep, text_level_name(ro->max_level));
	if (ro->min_level || ro->max_level)
		*sep = " and ";
}

static void put_field(FILE *f, const struct router_field *fl)
{
	put_esc(f, fl->key.p);
	fputs(" = ", f);
	switch (fl->kind) {
	case ROUTER_VALUE_INT:
		fprintf(f, "%lld", (long long)fl->v.i);
		break;
	case ROUTER_VALUE_FLOAT:
		fprintf(f, "%g", fl->v.d);
		break;
	case ROUTER_VALUE_BOOL:
		fputs(fl->v.b ? "true" : "false", f);
		break;
	case ROUTER_VALUE_STR:
		fputc('"', f);
		put_esc(f, fl->v.s.p);
		fputc('"', f);
		break;
	}
}

static void put_route(FILE *f, const struct route *ro, unsigned number)
{
	const char *sep = "";
	fprintf(f, "route %u: ", number);
	put_levels(f, ro, &sep);
	if (ro->names.n) {
		fprintf(f, "%sname in [", sep);
		put_list(f, &ro->names);
		fputc(']', f);
		sep = " and ";
	}
	if (ro->has_field.n) {
		fprintf(f, "%shas_field [", sep);
		put_list(f, &ro->has_field);
		fputc(']', f);
		sep = " and ";
	}
	for (uint32_t i = 0; i < ro->n_fields; i++) {
		fprintf(f, "%sfield ", sep);
		put_field(f, &ro->fields[i]);
		sep = " and ";
	}
	if (ro->re) {
		fprintf(f, "%smessage =~ /", sep);
		put_esc(f, ro->pattern.p);
		fputc('/', f);
		sep = " and ";
	}
	fprintf(f, "%s -> ", *sep ? "" : "every record");
	put_list(f, &ro->to_names);
	fputs(ro->stop ? " (stop)\n" : "\n", f);
}

/* One line per route, then the default, into f. See router.h. Returns nothing. */
void router_describe(const struct router *rt, FILE *f)
{
	if (!rt->has_routes)
		fprintf(f, "no routes: every record goes to the default\n");
	for (unsigned i = 0; i < rt->n_routes; i++)
		put_route(f, &rt->routes[i], i + 1);
	if (rt->has_default && rt->dflt_names.n) {
		fputs("default -> ", f);
		put_list(f, &rt->dflt_names);
		fputc('\n', f);
	} else if (rt->has_default || rt->has_routes) {
		fputs("default -> nowhere (a record no route matches is dropped)\n", f);
	} else {
		fputs("default -> every writer (", f);
		put_list(f, &rt->names);
		fputs(")\n", f);
	}
}
