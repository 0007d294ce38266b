/*
 * ext.h — what the two halves of the extension share: the Logger object
 * (_shmlog.c: the type, its options and methods) and the record path
 * (calls.c: fields, the site cache, writing, shmlog.Handler's records).
 */
#ifndef SHMLOG_PY_EXT_H
#define SHMLOG_PY_EXT_H

#include "pyfmt.h"

/* The identity cache: slots before the dict, matched by the objects' addresses. */
#define EXT_FAST_SLOTS 256
struct fast_entry {
	PyObject *msg, *file;                   /* held, so their addresses stay theirs */
	int line, level_flags;
	uint32_t nf;
	PyObject *fkeys[PYFMT_MAX_FIELDS];      /* held */
	uint8_t ftypes[PYFMT_MAX_FIELDS];
	struct SiteObject *site;                /* held; NULL: an empty slot */
};

typedef struct {
	PyObject_HEAD
	struct shmlog *lg;
	struct fast_entry *fast;               /* EXT_FAST_SLOTS of them */
	PyObject *sites;                       /* dict: key tuple -> Site */
	/* per level and count of texts: "%s" that many times, no fields ([l][1] registered at open) */
	struct shmlog_site *overflow[SHMLOG_LEVEL_CRITICAL + 1][PYFMT_MAX_CHUNKS + 1];
	int busy;                              /* calls in libshmlog with the GIL released */
	int release_gil;                       /* a call may wait (block policy, sync_level) */
} LoggerObject;

typedef struct SiteObject {
	PyObject_HEAD
	struct shmlog_site *site;     /* the plan's printf format; NULL: every call falls back */
	/* [n]: "%s" n times, the message rendered by Python in n pieces; registered on first need */
	struct shmlog_site *fallback[PYFMT_MAX_CHUNKS + 1];
	struct pyfmt_plan plan;
} SiteObject;

/* One log call as it arrives. */
struct call {
	int level;       /* SHMLOG_LEVEL_* */
	PyObject *msg;   /* a str */
	PyObject *args;  /* for msg % args; NULL: take msg as it is */
	PyObject *tail;  /* a str appended to the message, or NULL */
	int tail_n;      /* the texts it takes (pyfmt_text_chunks), 0 without a tail */
	PyObject *file;  /* a str, or NULL */
	int line;
	PyObject *line_obj; /* line as an int object, borrowed, or NULL */
};

/* A call's fields: keys (borrowed), specs, values. */
struct fields {
	uint32_t n;
	PyObject *keys[PYFMT_MAX_FIELDS];
	PyObject *values[PYFMT_MAX_FIELDS];     /* borrowed: the objects the values were made from */
	struct shmlog_field_spec spec[PYFMT_MAX_FIELDS];
	struct shmlog_value v[PYFMT_MAX_FIELDS];
};
/* Empty one slot of the identity cache. */
void ext_fast_clear(struct fast_entry *e);

/* logging's level number as a shmlog level: the highest one at or below it; above 50: OFF. */
int ext_level_from_py(long v);

/* 0 when self is open, else -1 with ValueError set. */
int ext_check_open(LoggerObject *self);

/* Add the field (key, value) to f (c keeps what its value points into). Returns 0 or -1 (exception set). */
int ext_field_add(struct fields *f, PyObject *key, PyObject *value, struct pyfmt_call *c);

/* Log one call with its fields; sets k->tail_n. Returns 0 or -1 (exception set). */
int ext_log_call(LoggerObject *self, struct call *k, const struct fields *f, struct pyfmt_call *c);

/*
 * Write a logging.LogRecord: its msg and args, levelno, pathname and lineno,
 * its extra attributes as fields after the logger name (under name_field,
 * unless None), and when it has an exception or a stack, the text
 * tail_fn(record) returns (a str or None) after the message. Returns 0 or -1
 * (exception set).
 */
int ext_emit_record(LoggerObject *self, PyObject *record, PyObject *tail_fn, PyObject *name_field);

/* _emit(record, tail_fn, name_field): ext_emit_record() as a method (shmlog.Handler.emit). */
PyObject *ext_emit(LoggerObject *self, PyObject *const *args, Py_ssize_t nargs);

/* _set_standard_attrs(frozenset, plain_size): the LogRecord attributes that are not fields. */
PyObject *ext_set_standard_attrs(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);

/* _handle_fn(logger, handler, tail_fn, name_field, slow): a callable(record) for shmlog.Handler.handle
 * (handler.c). */
PyObject *ext_handle_fn(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);

/* handler.c's type, once at import. Returns 0 or -1. */
int ext_handler_init(void);

/* The Logger type (_shmlog.c). */
extern PyTypeObject ext_LoggerType;

/* The record path's types and interned names, once at import. Returns 0 or -1. */
int ext_calls_init(void);

#endif
