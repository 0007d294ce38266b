/*
 * pyfmt.c — Python %-formats as printf formats (see pyfmt.h for the rules).
 *
 * The parser follows Python's own (Objects/unicodeobject.c): '%', an
 * optional "(key)" with nested parentheses, flags "-+ #0", a width and a
 * precision (digits or '*'), one ignored length modifier h l L, then the
 * conversion. It runs on the format's UTF-8 bytes: every byte it looks at is
 * ASCII, and the literal text is copied as it is. Anything it does not
 * recognise makes the plan fail, and every call then falls back to Python's
 * own formatting, which raises the error Python would raise.
 */
#include "pyfmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A conversion as written in the Python format. */
struct conv {
	const char *at, *end;  /* from its '%' to just past the conversion character */
	const char *key;       /* "(key)": the key's bytes, or NULL */
	size_t key_len;
	char flags[8];         /* as written, NUL-terminated (at most one of each is kept) */
	const char *width, *prec; /* digits as written (prec after its '.'), or NULL */
	size_t width_len, prec_len;
	int stars;             /* '*' widths and precisions */
	bool has_prec;
	char c;
};

static bool has_flag(const struct conv *cv, char f)
{
	return strchr(cv->flags, f) != NULL;
}

/* The "(key)" after a '%', Python's way: parentheses nest. Returns the end, or NULL. */
static const char *parse_key(const char *s, const char *end, struct conv *cv)
{
	int depth = 1;
	const char *k = ++s;
	for (; s < end && depth > 0; s++)
		depth += *s == '(' ? 1 : *s == ')' ? -1 : 0;
	if (depth)
		return NULL;
	cv->key = k;
	cv->key_len = (size_t)(s - 1 - k);
	return s;
}

/* Digits or '*' at s: a width or a precision. Returns the end. */
static const char *parse_number(const char *s, const char *end, const char **num, size_t *len, int *stars)
{
	if (s < end && *s == '*') {
		(*stars)++;
		return s + 1;
	}
	const char *d = s;
	while (s < end && *s >= '0' && *s <= '9')
		s++;
	if (s > d) {
		*num = d;
		*len = (size_t)(s - d);
	}
	return s;
}

/* Parse the conversion whose '%' is at s. Returns false for an incomplete one. */
static bool parse_conv(const char *s, const char *end, struct conv *cv)
{
	memset(cv, 0, sizeof *cv);
	cv->at = s++;
	if (s < end && *s == '(' && !(s = parse_key(s, end, cv)))
		return false;
	for (size_t n = 0; s < end && strchr("-+ #0", *s); s++)
		if (!strchr(cv->flags, *s) && n < sizeof cv->flags - 1)
			cv->flags[n++] = *s;
	s = parse_number(s, end, &cv->width, &cv->width_len, &cv->stars);
	if (s < end && *s == '.') {
		cv->has_prec = true;
		s = parse_number(s + 1, end, &cv->prec, &cv->prec_len, &cv->stars);
	}
	if (s < end && (*s == 'h' || *s == 'l' || *s == 'L'))
		s++;
	if (s >= end)
		return false;
	cv->c = *s;
	cv->end = s + 1;
	return true;
}

/* Append the printf spec for cv: its flags but skip, width, precision, then tail. */
static char *put_spec(char *o, const struct conv *cv, const char *skip, const char *tail)
{
	*o++ = '%';
	for (const char *f = cv->flags; *f; f++)
		if (!strchr(skip, *f))
			*o++ = *f;
	if (cv->width_len) /* width and prec are NULL when absent */
		o = (char *)memcpy(o, cv->width, cv->width_len) + cv->width_len;
	if (cv->has_prec)
		*o++ = '.';
	if (cv->prec_len)
		o = (char *)memcpy(o, cv->prec, cv->prec_len) + cv->prec_len;
	size_t tl = strlen(tail);
	memcpy(o, tail, tl);
	return o + tl;
}

/* How cv travels: its op, and the printf spec written at *o (always "%s" for the str ops and pieces). */
static enum pyfmt_op conv_op(const struct conv *cv, char **o)
{
	char c = cv->c, tail[4] = {'l', 'l', c, 0};
	bool plain = !cv->flags[0] && !cv->width && !cv->has_prec && !cv->stars;
	enum pyfmt_op op = PYFMT_PIECE;
	if (cv->stars)
		; /* a piece: Python reads the '*' values */
	else if ((c == 'd' || c == 'i' || c == 'u') && !cv->has_prec)
		op = PYFMT_INT, tail[2] = 'd';
	else if ((c == 'o' || c == 'x' || c == 'X') && !cv->has_prec && !has_flag(cv, '#') && !has_flag(cv, '+') &&
		 !has_flag(cv, ' '))
		op = PYFMT_UINT;
	else if (strchr("eEfFgG", c))
		op = PYFMT_FLOAT, tail[0] = c, tail[1] = 0;
	else if (plain && (c == 's' || c == 'r' || c == 'a'))
		op = c == 's' ? PYFMT_STR : c == 'r' ? PYFMT_REPR : PYFMT_ASCII;
	if (op == PYFMT_INT || op == PYFMT_UINT)
		*o = put_spec(*o, cv, "#", tail); /* '#' does nothing to d i u in Python, and o x X keep none */
	else if (op == PYFMT_FLOAT)
		*o = put_spec(*o, cv, "", tail);
	else
		*o = put_spec(*o, &(struct conv){0}, "", "s");
	return op;
}

/* Add the slot for cv to p (cfmt written at *o). Returns false when the plan cannot take it. */
static bool add_slot(struct pyfmt_plan *p, const struct conv *cv, char **o)
{
	if (!strchr("diuoxXeEfFgGcsra", cv->c) || p->nslots >= PYFMT_MAX_ARGS)
		return false;
	bool keyed = cv->key != NULL;
	if (p->nslots + p->nsrc > 0 && keyed != p->mapping)
		return false; /* keys and positions mixed: Python's own rules apply */
	if (keyed && cv->stars)
		return false;
	p->mapping = keyed;
	struct pyfmt_slot *sl = &p->slots[p->nslots];
	sl->op = (uint8_t)conv_op(cv, o);
	sl->src = (uint16_t)p->nsrc;
	sl->nsrc = (uint8_t)(keyed ? 0 : 1 + cv->stars);
	p->nsrc += sl->nsrc;
	p->nslots++;
	if (keyed && !(sl->key = PyUnicode_DecodeUTF8(cv->key, (Py_ssize_t)cv->key_len, "strict")))
		return false;
	if (sl->op == PYFMT_PIECE &&
	    !(sl->piece = PyUnicode_DecodeUTF8(cv->at, (Py_ssize_t)(cv->end - cv->at), "strict")))
		return false;
	return true;
}

/* Translate s[0..len) into p->cfmt. */
static bool translate(struct pyfmt_plan *p, const char *s, size_t len, bool literal)
{
	const char *end = s + len;
	char *o = p->cfmt;
	while (s < end) {
		if (*s != '%') {
			*o++ = *s++;
			continue;
		}
		if (literal || (s + 1 < end && s[1] == '%')) {
			*o++ = '%';
			*o++ = '%';
			s += literal ? 1 : 2;
			continue;
		}
		struct conv cv;
		if (!parse_conv(s, end, &cv) || !add_slot(p, &cv, &o))
			return false;
		s = cv.end;
	}
	*o = 0;
	return true;
}

int pyfmt_plan(struct pyfmt_plan *p, PyObject *fmt, bool literal)
{
	memset(p, 0, sizeof *p);
	Py_ssize_t len;
	const char *s = PyUnicode_AsUTF8AndSize(fmt, &len);
	if (!s || memchr(s, 0, (size_t)len)) { /* not encodable (a lone surrogate), or a NUL printf would stop at */
		PyErr_Clear();
		return -1;
	}
	p->cfmt = malloc(2 * (size_t)len + 1);
	if (p->cfmt && translate(p, s, (size_t)len, literal))
		return 0;
	PyErr_Clear();
	pyfmt_plan_clear(p);
	return -1;
}

void pyfmt_plan_clear(struct pyfmt_plan *p)
{
	for (uint32_t i = 0; i < PYFMT_MAX_ARGS; i++) {
		Py_CLEAR(p->slots[i].key);
		Py_CLEAR(p->slots[i].piece);
	}
	free(p->cfmt);
	p->cfmt = NULL;
}

int pyfmt_str_value(PyObject *s, struct shmlog_value *v, struct pyfmt_call *c)
{
	Py_ssize_t len;
	const char *u = PyUnicode_AsUTF8AndSize(s, &len);
	if (!u) { /* a lone surrogate: as Python would print it escaped */
		PyErr_Clear();
		PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
		if (!b)
			return -1;
		c->keep[c->nkeep++] = b;
		u = PyBytes_AS_STRING(b);
		len = PyBytes_GET_SIZE(b);
	}
	v->type = SHMLOG_VALUE_STRING;
	v->v.s.p = u;
	v->v.s.len = (size_t)len;
	return 0;
}

int pyfmt_text_chunks(PyObject *text, struct shmlog_value *v, struct pyfmt_call *c)
{
	struct shmlog_value all;
	if (pyfmt_str_value(text, &all, c) < 0)
		return -1;
	int n = 0;
	const char *p = all.v.s.p;
	size_t left = all.v.s.len;
	do {
		size_t take = left > SHMLOG_MAX_STRING && n < PYFMT_MAX_CHUNKS - 1 ? SHMLOG_MAX_STRING : left;
		/* pieces end between characters: a reader checks each string argument's UTF-8 */
		for (size_t back = 0; take < left && back < 3 && ((uint8_t)p[take] & 0xc0) == 0x80; back++)
			take--;
		v[n].type = SHMLOG_VALUE_STRING;
		v[n].v.s.p = p;
		v[n++].v.s.len = take;
		p += take;
		left -= take;
	} while (left);
	return n;
}

const char *pyfmt_chunks_format(char *buf, int n)
{
	for (int i = 0; i < n; i++)
		memcpy(buf + 2 * i, "%s", 2);
	buf[2 * n] = 0;
	return buf;
}

/* A new reference to text made from o (its ownership goes to c), passed as %s. */
static int text_value(PyObject *text, struct shmlog_value *v, struct pyfmt_call *c)
{
	if (!text)
		return -1;
	c->keep[c->nkeep++] = text;
	return pyfmt_str_value(text, v, c);
}

/* An int as INT (signed) or UINT. Returns 1, or 0 when it does not fit or is not an int. */
static int int_value(PyObject *o, bool is_unsigned, struct shmlog_value *v)
{
	if (!PyLong_Check(o))
		return 0;
	if (is_unsigned) {
		v->type = SHMLOG_VALUE_UINT;
		v->v.u = PyLong_AsUnsignedLongLong(o); /* a negative one raises too */
	} else {
		v->type = SHMLOG_VALUE_INT;
		v->v.i = PyLong_AsLongLong(o);
	}
	if (PyErr_Occurred()) {
		PyErr_Clear();
		return 0;
	}
	return 1;
}

/* A float or an int as a finite DOUBLE. Returns 1, or 0 otherwise. */
static int float_value(PyObject *o, struct shmlog_value *v)
{
	double d;
	if (PyFloat_Check(o)) {
		d = PyFloat_AS_DOUBLE(o);
	} else if (PyLong_Check(o)) {
		d = PyLong_AsDouble(o);
		if (PyErr_Occurred()) {
			PyErr_Clear();
			return 0;
		}
	} else {
		return 0;
	}
	if (!isfinite(d)) /* printf pads infinities with spaces, Python with '0'; NaN signs differ */
		return 0;
	v->type = SHMLOG_VALUE_DOUBLE;
	v->v.d = d;
	return 1;
}

/* The argument(s) slot reads: a new reference. */
static PyObject *slot_source(const struct pyfmt_slot *sl, PyObject *args, PyObject *const *argv)
{
	if (sl->key)
		return PyObject_GetItem(args, sl->key);
	if (sl->op == PYFMT_PIECE)
		return pyfmt_tuple(argv + sl->src, sl->nsrc);
	Py_INCREF(argv[sl->src]);
	return argv[sl->src];
}

/* One slot's value from its source o (borrowed). */
static int slot_value(const struct pyfmt_slot *sl, PyObject *o, PyObject *args, struct shmlog_value *v,
		      struct pyfmt_call *c)
{
	switch (sl->op) {
	case PYFMT_INT: return int_value(o, false, v);
	case PYFMT_UINT: return int_value(o, true, v);
	case PYFMT_FLOAT: return float_value(o, v);
	case PYFMT_STR:
		if (PyUnicode_CheckExact(o))
			return pyfmt_str_value(o, v, c) < 0 ? -1 : 1;
		return text_value(PyObject_Str(o), v, c) < 0 ? -1 : 1;
	case PYFMT_REPR: return text_value(PyObject_Repr(o), v, c) < 0 ? -1 : 1;
	case PYFMT_ASCII: return text_value(PyObject_ASCII(o), v, c) < 0 ? -1 : 1;
	case PYFMT_PIECE: return text_value(PyUnicode_Format(sl->piece, sl->key ? args : o), v, c) < 0 ? -1 : 1;
	}
	return 0;
}

int pyfmt_values(const struct pyfmt_plan *p, PyObject *args, struct pyfmt_call *c)
{
	PyObject *const *argv = &args;
	Py_ssize_t argc = 1;
	if (PyTuple_Check(args)) {
		argv = &PyTuple_GET_ITEM(args, 0);
		argc = PyTuple_GET_SIZE(args);
	}
	if (p->mapping ? !PyDict_Check(args) : argc != (Py_ssize_t)p->nsrc)
		return 0; /* Python raises what it raises for that */
	for (uint32_t i = 0; i < p->nslots; i++) {
		const struct pyfmt_slot *sl = &p->slots[i];
		PyObject *o = slot_source(sl, args, argv);
		if (!o) {
			PyErr_Clear(); /* a missing key: the fallback raises Python's KeyError */
			return 0;
		}
		struct shmlog_value *v = &c->v[c->n];
		int rc = slot_value(sl, o, args, v, c);
		Py_DECREF(o);
		if (rc <= 0)
			return rc;
		if (v->type == SHMLOG_VALUE_STRING && v->v.s.len > SHMLOG_MAX_STRING)
			return 0; /* it would be cut: the whole message travels in pieces instead */
		c->n++;
	}
	return 1;
}

PyObject *pyfmt_tuple(PyObject *const *a, Py_ssize_t n)
{
	PyObject *t = PyTuple_New(n);
	for (Py_ssize_t i = 0; t && i < n; i++)
		PyTuple_SET_ITEM(t, i, Py_NewRef(a[i]));
	return t;
}

void pyfmt_call_release(struct pyfmt_call *c)
{
	for (uint32_t i = 0; i < c->nkeep; i++)
		Py_DECREF(c->keep[i]);
	c->nkeep = 0;
	c->n = 0;
}
