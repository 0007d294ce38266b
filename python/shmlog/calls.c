/*
 * calls.c — the record path of the extension: a call's fields, the site
 * cache, writing through the site (or its fallback, or an overflow site),
 * and the records of shmlog.Handler (the story is in _shmlog.c's opening).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <string.h>

#include "ext.h"

#define CACHE_MAX 2000 /* sites per logger (a segment's registry holds 8192, two per entry at most) */
#define FLAG_LITERAL 1 /* the message is taken as it is (no arguments) */
#define FLAG_TAIL 2    /* then (flags >> 1): the texts that follow the message (an exception) */

static PyTypeObject SiteType;
static PyObject *empty_tuple;

/* ---- fields ---- */

/* One field value: bool, int (64 bits signed, else unsigned), float, str; anything else as str(v). */
static int field_value(PyObject *o, struct shmlog_value *v, int *type, struct pyfmt_call *keep)
{
	if (PyBool_Check(o)) {
		*type = v->type = SHMLOG_VALUE_BOOL;
		v->v.i = o == Py_True;
		return 0;
	}
	if (PyLong_Check(o)) {
		int overflow;
		v->v.i = PyLong_AsLongLongAndOverflow(o, &overflow);
		*type = v->type = SHMLOG_VALUE_INT;
		if (!overflow)
			return 0;
		v->v.u = PyLong_AsUnsignedLongLong(o);
		*type = v->type = SHMLOG_VALUE_UINT;
		if (!PyErr_Occurred())
			return 0;
		PyErr_Clear();
	} else if (PyFloat_Check(o)) {
		*type = v->type = SHMLOG_VALUE_DOUBLE;
		v->v.d = PyFloat_AS_DOUBLE(o);
		return 0;
	}
	*type = SHMLOG_VALUE_STRING;
	if (PyUnicode_Check(o))
		return pyfmt_str_value(o, v, keep);
	PyObject *s = PyObject_Str(o);
	if (!s)
		return -1;
	keep->keep[keep->nkeep++] = s;
	return pyfmt_str_value(s, v, keep);
}

/* Add the field (key, value) to f. Returns 0, or -1 with an exception set. */
int ext_field_add(struct fields *f, PyObject *key, PyObject *value, struct pyfmt_call *keep)
{
	Py_ssize_t kl;
	if (!PyUnicode_Check(key)) {
		PyErr_Format(PyExc_TypeError, "shmlog: a field key is a str, not %R", key);
		return -1;
	}
	const char *k = PyUnicode_AsUTF8AndSize(key, &kl);
	if (!k)
		return -1;
	if (kl < 1 || kl > 255 || memchr(k, 0, (size_t)kl)) {
		PyErr_Format(PyExc_ValueError, "shmlog: field key %R: 1 to 255 bytes, no NUL", key);
		return -1;
	}
	if (f->n >= PYFMT_MAX_FIELDS) {
		PyErr_SetString(PyExc_ValueError, "shmlog: at most 16 fields per record");
		return -1;
	}
	f->keys[f->n] = key;
	f->values[f->n] = value;
	f->spec[f->n].key = k;
	if (field_value(value, &f->v[f->n], &f->spec[f->n].type, keep) < 0)
		return -1;
	f->n++;
	return 0;
}

/* ---- the site cache ---- */

/* A call's level and flags, as one number. */
static int level_flags(const struct call *k)
{
	return k->level | ((k->args ? 0 : FLAG_LITERAL) | k->tail_n * FLAG_TAIL) << 3;
}

/* The cache key of a call: (msg, file, line, level and flags, key, type, ...). */
static PyObject *site_key(const struct call *k, const struct fields *f)
{
	PyObject *t = PyTuple_New(4 + 2 * (Py_ssize_t)f->n);
	if (!t)
		return NULL;
	PyObject *file = k->file ? k->file : Py_None;
	int flags = level_flags(k);
	PyObject *items[] = {k->msg, file, k->line_obj ? Py_NewRef(k->line_obj) : PyLong_FromLong(k->line),
			     PyLong_FromLong(flags)};
	for (int i = 0; i < 4; i++) {
		if (!items[i]) {
			Py_DECREF(t);
			return NULL;
		}
		if (i < 2)
			Py_INCREF(items[i]);
		PyTuple_SET_ITEM(t, i, items[i]);
	}
	for (uint32_t i = 0; i < f->n; i++) {
		PyObject *ty = PyLong_FromLong(f->spec[i].type);
		if (!ty) {
			Py_DECREF(t);
			return NULL;
		}
		Py_INCREF(f->keys[i]);
		PyTuple_SET_ITEM(t, 4 + 2 * i, f->keys[i]);
		PyTuple_SET_ITEM(t, 5 + 2 * i, ty);
	}
	return t;
}

static const char *file_utf8(const struct call *k)
{
	const char *s = k->file ? PyUnicode_AsUTF8(k->file) : NULL;
	PyErr_Clear();
	return s;
}

/* Register the site's printf format (then a "%s" per text of the tail); on any failure the site falls back. */
static void site_register(LoggerObject *self, SiteObject *s, const struct call *k, const struct fields *f)
{
	if (pyfmt_plan(&s->plan, k->msg, !k->args) < 0)
		return;
	size_t n = strlen(s->plan.cfmt);
	char *fmt = PyMem_Malloc(n + 2 * PYFMT_MAX_CHUNKS + 1);
	if (!fmt)
		return;
	memcpy(fmt, s->plan.cfmt, n);
	pyfmt_chunks_format(fmt + n, k->tail_n);
	struct shmlog_site *site;
	int rc = shmlog_site_register(self->lg, &site, k->level, fmt, file_utf8(k), k->line, f->spec, f->n);
	PyMem_Free(fmt);
	if (rc >= 0 && (uint32_t)rc == s->plan.nslots + (uint32_t)k->tail_n)
		s->site = site;
}

static SiteObject *site_lookup(LoggerObject *self, const struct call *k, const struct fields *f);

/* ---- the identity cache in front of the dict ---- */

/* Its slot in the identity cache: the same message, file and line objects come back call after call. */
static struct fast_entry *fast_slot(LoggerObject *self, const struct call *k)
{
	uintptr_t h = ((uintptr_t)k->msg >> 4) ^ ((uintptr_t)k->file >> 5) ^ (uintptr_t)k->line * 0x9e3779b1u;
	return &self->fast[(h ^ (h >> 11)) & (EXT_FAST_SLOTS - 1)];
}

static bool fast_match(const struct fast_entry *e, const struct call *k, const struct fields *f)
{
	if (!e->site || e->msg != k->msg || e->file != k->file || e->line != k->line ||
	    e->level_flags != level_flags(k) || e->nf != f->n)
		return false;
	for (uint32_t i = 0; i < f->n; i++)
		if (e->fkeys[i] != f->keys[i] || e->ftypes[i] != f->spec[i].type)
			return false;
	return true;
}

void ext_fast_clear(struct fast_entry *e)
{
	Py_CLEAR(e->msg);
	Py_CLEAR(e->file);
	for (uint32_t i = 0; i < e->nf; i++)
		Py_CLEAR(e->fkeys[i]);
	e->nf = 0;
	Py_CLEAR(e->site);
}

/* Remember (k, f) -> s in e; it holds its objects, so that their addresses stay theirs. */
static void fast_put(struct fast_entry *e, const struct call *k, const struct fields *f, SiteObject *s)
{
	ext_fast_clear(e);
	e->msg = Py_NewRef(k->msg);
	e->file = Py_XNewRef(k->file);
	e->line = k->line;
	e->level_flags = level_flags(k);
	e->nf = f->n;
	for (uint32_t i = 0; i < f->n; i++) {
		e->fkeys[i] = Py_NewRef(f->keys[i]);
		e->ftypes[i] = (uint8_t)f->spec[i].type;
	}
	e->site = (SiteObject *)Py_NewRef((PyObject *)s);
}

/* The call's site: cached, else made now. NULL without an exception: the cache is full. */
static SiteObject *site_get(LoggerObject *self, const struct call *k, const struct fields *f)
{
	struct fast_entry *e = fast_slot(self, k);
	if (fast_match(e, k, f))
		return e->site;
	SiteObject *s = site_lookup(self, k, f);
	if (s)
		fast_put(e, k, f, s);
	return s;
}

/* The call's site from the dict, made now when it is not there. NULL without an exception: the cache is full. */
static SiteObject *site_lookup(LoggerObject *self, const struct call *k, const struct fields *f)
{
	PyObject *key = site_key(k, f);
	if (!key)
		return NULL;
	SiteObject *s = (SiteObject *)PyDict_GetItemWithError(self->sites, key);
	if (s || PyErr_Occurred() || PyDict_GET_SIZE(self->sites) >= CACHE_MAX) {
		Py_DECREF(key);
		return s;
	}
	s = PyObject_New(SiteObject, &SiteType);
	if (s) {
		s->site = NULL;
		memset(s->fallback, 0, sizeof s->fallback);
		memset(&s->plan, 0, sizeof s->plan);
		site_register(self, s, k, f);
		if (PyDict_SetItem(self->sites, key, (PyObject *)s) < 0)
			Py_CLEAR(s);
		Py_XDECREF(s); /* the dict holds it */
	}
	Py_DECREF(key);
	return s;
}

static void site_dealloc(SiteObject *s)
{
	pyfmt_plan_clear(&s->plan); /* the shmlog sites belong to the logger */
	PyObject_Free(s);
}

/* ---- writing ---- */

static int write_values(LoggerObject *self, struct shmlog_site *site, const struct shmlog_value *a, uint32_t n,
			const struct fields *f)
{
	int rc;
	if (self->release_gil) {
		self->busy++;
		Py_BEGIN_ALLOW_THREADS
		rc = shmlog_log_values(self->lg, site, a, n, f ? f->v : NULL, f ? f->n : 0);
		Py_END_ALLOW_THREADS
		self->busy--;
	} else {
		rc = shmlog_log_values(self->lg, site, a, n, f ? f->v : NULL, f ? f->n : 0);
	}
	if (rc == -EINVAL) {
		PyErr_SetString(PyExc_SystemError, "shmlog: a record did not fit its call site");
		return -1;
	}
	return 0; /* -ENOBUFS, -ENOSPC: dropped, and counted as lost by libshmlog */
}

/* The message as Python renders it, with the tail: a new reference. */
static PyObject *render(const struct call *k)
{
	PyObject *m = k->args ? PyUnicode_Format(k->msg, k->args) : (Py_INCREF(k->msg), k->msg);
	if (m && k->tail) {
		PyObject *t = PyUnicode_Concat(m, k->tail);
		Py_DECREF(m);
		m = t;
	}
	return m;
}

/* text, then " key=value" for each field: for the overflow sites, which have none. */
static PyObject *with_fields_text(PyObject *text, const struct fields *f)
{
	for (uint32_t i = 0; text && i < f->n; i++) {
		PyObject *t = PyUnicode_FromFormat("%U %U=%S", text, f->keys[i], f->values[i]);
		Py_DECREF(text);
		text = t;
	}
	return text;
}

/* The fallback site of s for n texts, registered now if need be; NULL if it cannot be. */
static struct shmlog_site *fallback_site(LoggerObject *self, SiteObject *s, const struct call *k,
					 const struct fields *f, int n)
{
	char fmt[2 * PYFMT_MAX_CHUNKS + 1];
	if (!s->fallback[n] && shmlog_site_register(self->lg, &s->fallback[n], k->level, pyfmt_chunks_format(fmt, n),
						    file_utf8(k), k->line, f->spec, f->n) < 0)
		s->fallback[n] = NULL;
	return s->fallback[n];
}

/* The overflow site of level for n texts: [1] always exists; a larger one is registered now if it can be. */
static struct shmlog_site *overflow_site(LoggerObject *self, int level, int n)
{
	char fmt[2 * PYFMT_MAX_CHUNKS + 1];
	struct shmlog_site **o = self->overflow[level];
	if (!o[n] && shmlog_site_register(self->lg, &o[n], level, pyfmt_chunks_format(fmt, n), "", 0, NULL, 0) < 0)
		o[n] = NULL;
	return o[n];
}

/* Write the call through s's fallback, or the overflow site of its level: the message rendered by Python. */
static int write_rendered(LoggerObject *self, SiteObject *s, const struct call *k, const struct fields *f,
			  struct pyfmt_call *c)
{
	PyObject *text = render(k);
	struct shmlog_value v[PYFMT_MAX_CHUNKS];
	int n;
	if (!text)
		return -1;
	c->keep[c->nkeep++] = text;
	if ((n = pyfmt_text_chunks(text, v, c)) < 0)
		return -1;
	struct shmlog_site *site = s ? fallback_site(self, s, k, f, n) : NULL;
	if (site)
		return write_values(self, site, v, (uint32_t)n, f);
	if (!(text = with_fields_text(Py_NewRef(text), f)))
		return -1;
	c->keep[c->nkeep++] = text;
	if ((n = pyfmt_text_chunks(text, v, c)) < 0)
		return -1;
	site = overflow_site(self, k->level, n);
	if (!site) { /* the registry is full: one text, cut at SHMLOG_MAX_STRING */
		site = self->overflow[k->level][1];
		n = 1;
		if (pyfmt_str_value(text, &v[0], c) < 0)
			return -1;
	}
	return write_values(self, site, v, (uint32_t)n, NULL);
}

/* Log one call with its fields. Returns 0 or -1 with an exception set. */
int ext_log_call(LoggerObject *self, struct call *k, const struct fields *f, struct pyfmt_call *c)
{
	struct shmlog_value tail[PYFMT_MAX_CHUNKS];
	if (k->tail && (k->tail_n = pyfmt_text_chunks(k->tail, tail, c)) < 0)
		return -1;
	SiteObject *s = site_get(self, k, f);
	if (!s && PyErr_Occurred())
		return -1;
	if (s && s->site) {
		uint32_t keep = c->nkeep;
		int rc = pyfmt_values(&s->plan, k->args ? k->args : empty_tuple, c);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			memcpy(&c->v[c->n], tail, (size_t)k->tail_n * sizeof *tail);
			return write_values(self, s->site, c->v, c->n + (uint32_t)k->tail_n, f);
		}
		while (c->nkeep > keep) /* the tail's texts stay kept: render() uses k->tail again */
			Py_DECREF(c->keep[--c->nkeep]);
		c->n = 0;
	}
	return write_rendered(self, s, k, f, c);
}

int ext_check_open(LoggerObject *self)
{
	if (self->lg)
		return 0;
	PyErr_SetString(PyExc_ValueError, "shmlog: the logger is closed");
	return -1;
}

/* ---- the record path of shmlog.Handler ---- */

static PyObject *s_dict, *s_msg, *s_args, *s_levelno, *s_pathname, *s_lineno, *s_name;
static PyObject *s_exc_info, *s_exc_text, *s_stack_info;
static PyObject *standard_attrs; /* a frozenset: LogRecord's own attributes, not fields */
static Py_ssize_t plain_size;    /* the __dict__ size of a record without extra attributes */

/* A record's extra attributes as fields, after the logger name field (name_field, or None). */
static int record_fields(PyObject *d, PyObject *name_field, struct fields *f, struct pyfmt_call *c)
{
	if (name_field != Py_None) {
		PyObject *name = PyDict_GetItemWithError(d, s_name);
		if (name ? ext_field_add(f, name_field, name, c) < 0 : PyErr_Occurred() != NULL)
			return -1;
	}
	Py_ssize_t pos = 0;
	PyObject *key, *value;
	if (PyDict_GET_SIZE(d) == plain_size) /* the usual record: no extra={...}, nothing to look at */
		return 0;
	while (PyDict_Next(d, &pos, &key, &value)) {
		int std = PySet_Contains(standard_attrs, key);
		if (std < 0)
			return -1;
		if (std)
			continue;
		if (ext_field_add(f, key, value, c) < 0)
			return -1;
	}
	return 0;
}

/* The record's attribute name: borrowed from its __dict__; NULL with an exception if missing. */
static PyObject *record_attr(PyObject *d, PyObject *name)
{
	PyObject *v = PyDict_GetItemWithError(d, name);
	if (!v && !PyErr_Occurred())
		PyErr_Format(PyExc_AttributeError, "shmlog: the log record has no %U", name);
	return v;
}

/* Fill k from a LogRecord's __dict__ d; *msg_ref: a new reference to the message. */
static int record_call(PyObject *d, struct call *k)
{
	PyObject *msg = record_attr(d, s_msg), *args = record_attr(d, s_args), *lv = record_attr(d, s_levelno);
	PyObject *path = record_attr(d, s_pathname), *line = record_attr(d, s_lineno);
	if (!msg || !args || !lv || !path || !line)
		return -1;
	long level = PyLong_AsLong(lv), ln = PyLong_AsLong(line);
	if (PyErr_Occurred())
		return -1;
	k->level = ext_level_from_py(level);
	if (k->level == SHMLOG_LEVEL_OFF)
		k->level = SHMLOG_LEVEL_CRITICAL;
	k->line = (int)ln;
	k->line_obj = PyLong_CheckExact(line) ? line : NULL;
	k->file = PyUnicode_Check(path) ? path : NULL;
	int truth = PyObject_IsTrue(args); /* logging formats only when args is true */
	if (truth < 0)
		return -1;
	k->args = truth ? args : NULL;
	k->msg = PyUnicode_Check(msg) ? (Py_INCREF(msg), msg) : PyObject_Str(msg);
	return k->msg ? 0 : -1;
}

/* _emit(record, tail, name_field): write a logging.LogRecord (shmlog.Handler.emit). */
/* A record's exception and stack as text: tail_fn(record), called only when it has one. */
static int record_tail(PyObject *d, PyObject *record, PyObject *tail_fn, struct call *k)
{
	PyObject *names[] = {s_exc_info, s_exc_text, s_stack_info};
	int any = 0;
	for (int i = 0; i < 3 && !any; i++) {
		PyObject *v = PyDict_GetItemWithError(d, names[i]);
		if (v && (any = PyObject_IsTrue(v)) < 0)
			return -1;
	}
	if (!any || tail_fn == Py_None)
		return PyErr_Occurred() ? -1 : 0;
	PyObject *t = PyObject_CallOneArg(tail_fn, record);
	if (!t)
		return -1;
	if (t != Py_None && !PyUnicode_Check(t)) {
		Py_DECREF(t);
		PyErr_SetString(PyExc_TypeError, "shmlog: the tail function returns a str or None");
		return -1;
	}
	k->tail = t == Py_None ? (Py_DECREF(t), NULL) : t;
	return 0;
}

int ext_emit_record(LoggerObject *self, PyObject *record, PyObject *tail_fn, PyObject *name_field)
{
	if (ext_check_open(self) < 0)
		return -1;
	PyObject *d = PyObject_GenericGetDict(record, NULL);
	if (!d)
		return -1;
	struct call k = {0};
	struct fields f = {0};
	struct pyfmt_call c = {0};
	int rc = PyDict_Check(d) ? record_call(d, &k) : -1;
	if (rc == 0 && k.level >= shmlog_get_level(self->lg)) {
		rc = record_tail(d, record, tail_fn, &k);
		if (rc == 0)
			rc = record_fields(d, name_field, &f, &c);
		if (rc == 0)
			rc = ext_log_call(self, &k, &f, &c);
	}
	if (rc < 0 && !PyErr_Occurred())
		PyErr_SetString(PyExc_TypeError, "shmlog: not a logging.LogRecord");
	pyfmt_call_release(&c);
	Py_XDECREF(k.tail);
	Py_XDECREF(k.msg);
	Py_DECREF(d);
	return rc;
}

PyObject *ext_emit(LoggerObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (nargs != 3) {
		PyErr_SetString(PyExc_TypeError, "shmlog: _emit(record, tail_fn, name_field)");
		return NULL;
	}
	return ext_emit_record(self, args[0], args[1], args[2]) < 0 ? NULL : Py_NewRef(Py_None);
}

/* _set_standard_attrs(frozenset, plain_size): the LogRecord attributes that are not fields, and how many a plain record has. */
PyObject *ext_set_standard_attrs(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
	(void)mod;
	if (nargs != 2 || !PyFrozenSet_Check(args[0]) || !PyLong_Check(args[1])) {
		PyErr_SetString(PyExc_TypeError, "shmlog: _set_standard_attrs(frozenset, int)");
		return NULL;
	}
	Py_XSETREF(standard_attrs, Py_NewRef(args[0]));
	plain_size = PyLong_AsSsize_t(args[1]);
	return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
}

static PyTypeObject SiteType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmlog._Site",
	.tp_basicsize = sizeof(SiteObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = (destructor)site_dealloc,
};

int ext_calls_init(void)
{
	PyObject **slots[] = {&s_dict,     &s_msg,  &s_args,     &s_levelno,  &s_pathname,
			      &s_lineno,   &s_name, &s_exc_info, &s_exc_text, &s_stack_info};
	const char *names[] = {"__dict__", "msg",  "args",     "levelno",  "pathname",
			       "lineno",   "name", "exc_info", "exc_text", "stack_info"};
	for (size_t i = 0; i < sizeof slots / sizeof *slots; i++)
		if (!(*slots[i] = PyUnicode_InternFromString(names[i])))
			return -1;
	if (PyType_Ready(&SiteType) < 0)
		return -1;
	empty_tuple = PyTuple_New(0);
	standard_attrs = PyFrozenSet_New(NULL);
	return empty_tuple && standard_attrs ? 0 : -1;
}
