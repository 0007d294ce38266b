/*
 * pyfmt.h — Python %-formats as printf formats, so that the collector
 * renders a Python record exactly as `msg % args` would.
 *
 * A format is translated once per call site into a plan: a printf format
 * for shmlog_site_register() and, for each of its conversions, where the
 * value comes from (a position or a mapping key) and how it is passed.
 * Python and printf agree on d i u (as lld), o x X without the '#', '+' and
 * ' ' flags, e E f F g G for finite values, and a plain %s; those travel as
 * typed values. Where they differ (%r and %a, which printf lacks, pass
 * repr() and ascii() as %s; %c, a string with flags, width or precision,
 * an integer with a precision or those flags, any '*') the plan keeps the
 * conversion's own Python spec and renders just that piece with Python,
 * passing the text as %s. A value that printf would show differently (an
 * int beyond 64 bits, a negative %x, a NaN or infinity, a non-number for a
 * numeric conversion) makes the call fall back: Python renders the whole
 * message, passed to a "%s" site. So the output always equals Python's.
 */
#ifndef SHMLOG_PYFMT_H
#define SHMLOG_PYFMT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <stdint.h>

#include <shmlog.h>

#define PYFMT_MAX_ARGS 32   /* printf arguments one site may take (shared/abi.h's SHMLOG_MAX_ARGS) */
#define PYFMT_MAX_FIELDS 16 /* fields one site may have (shmlog_site_register) */
/* A long text (an exception, a message Python rendered) travels as up to
 * this many %s of SHMLOG_MAX_STRING bytes each; beyond, it is cut and marked. */
#define PYFMT_MAX_CHUNKS 16

enum pyfmt_op {
	PYFMT_INT,   /* an int in int64, as lld */
	PYFMT_UINT,  /* an int in 0 .. 2^64-1, as llo llx llX */
	PYFMT_FLOAT, /* a float (or an int) that is finite */
	PYFMT_STR,   /* str(v) as %s */
	PYFMT_REPR,  /* repr(v) as %s */
	PYFMT_ASCII, /* ascii(v) as %s */
	PYFMT_PIECE, /* the conversion rendered by Python (piece % its arguments) as %s */
};

struct pyfmt_slot {
	uint8_t op;      /* enum pyfmt_op */
	uint8_t nsrc;    /* positional arguments it reads: 1, or 2-3 for a piece with '*' */
	uint16_t src;    /* the first of them */
	PyObject *key;   /* mapping key (a str), or NULL for positional */
	PyObject *piece; /* PYFMT_PIECE: the conversion's Python spec, e.g. "%-8.3s" or "%(k)5c" */
};

struct pyfmt_plan {
	char *cfmt;      /* the printf format (UTF-8, NUL-terminated), malloc'd */
	uint32_t nslots; /* its arguments, one per slot */
	uint32_t nsrc;   /* positional arguments the Python format reads */
	bool mapping;    /* it reads its arguments from a mapping, by key */
	struct pyfmt_slot slots[PYFMT_MAX_ARGS];
};

/* One call's values, and the objects they point into (released afterwards). */
struct pyfmt_call {
	struct shmlog_value v[PYFMT_MAX_ARGS + PYFMT_MAX_CHUNKS]; /* then the text appended after the message */
	uint32_t n;
	/* up to two per value and per field (a text and its escaped bytes), and a few texts of the message */
	PyObject *keep[2 * PYFMT_MAX_ARGS + 2 * PYFMT_MAX_FIELDS + 16];
	uint32_t nkeep;
};

/*
 * Plan fmt (a str). literal: the message is taken as it is (logging does not
 * %-format a message without arguments), every '%' escaped. Returns 0, or -1
 * when printf cannot render it (a bad or unsupported Python format, a NUL, too
 * many conversions): then every call falls back. Never leaves an exception.
 */
int pyfmt_plan(struct pyfmt_plan *p, PyObject *fmt, bool literal);

/* Free what the plan holds (it may be zeroed or half built). */
void pyfmt_plan_clear(struct pyfmt_plan *p);

/*
 * Convert args (as for `fmt % args`: a tuple, a mapping, or one object) by
 * the plan into c->v[0..nslots). Returns 1, 0 when this call must fall back
 * (no exception), or -1 with a Python exception set. c must be released with
 * pyfmt_call_release() in every case.
 */
int pyfmt_values(const struct pyfmt_plan *p, PyObject *args, struct pyfmt_call *c);

/* s (a str) as a STRING value in *v; c keeps what it points into. Returns 0 or -1 (exception set). */
int pyfmt_str_value(PyObject *s, struct shmlog_value *v, struct pyfmt_call *c);

/* text (a str) as up to PYFMT_MAX_CHUNKS STRING values at v, each at most
 * SHMLOG_MAX_STRING bytes and ending between two UTF-8 characters (the last
 * takes the rest). Returns their count (at least 1) or -1 (exception set). */
int pyfmt_text_chunks(PyObject *text, struct shmlog_value *v, struct pyfmt_call *c);

/* The printf format of n texts: "%s" n times, in buf (room for 2 * PYFMT_MAX_CHUNKS + 1). */
const char *pyfmt_chunks_format(char *buf, int n);

/* A new tuple of a[0..n). */
PyObject *pyfmt_tuple(PyObject *const *a, Py_ssize_t n);

/* Release what c keeps. */
void pyfmt_call_release(struct pyfmt_call *c);

#endif
