/*
 * _shmlog.c — the CPython extension over libshmlog: shmlog.Logger, and the
 * record path under shmlog.Handler (shmlog/__init__.py).
 *
 * A log call finds its call site in the logger's cache, a dict keyed by
 * (message, file, line, level, flags, field keys and types), so that a site
 * is registered in the segment once, on its first call, never per call.
 * A site holds the plan that turns its Python %-format into a printf format
 * (pyfmt.h); a call passes its arguments as typed values through
 * shmlog_log_values(), and the collector does the formatting. A call whose
 * values printf would render differently from Python goes through the site's
 * fallback, a "%s" site registered on first need, with the message rendered
 * by Python. When the cache is full (or the segment's registry is), a call
 * goes through one of the per-level overflow sites registered at open, its
 * fields appended to the message as text. Every way writes a record.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <string.h>

#include "ext.h"




/* ---- levels: logging's numbers, TRACE = 5 ---- */

/* logging's level number as a shmlog level: the highest one at or below it; above 50: OFF. */
int ext_level_from_py(long v)
{
	return v > 50 ? SHMLOG_LEVEL_OFF : v >= 50 ? SHMLOG_LEVEL_CRITICAL : v >= 40 ? SHMLOG_LEVEL_ERROR
	     : v >= 30 ? SHMLOG_LEVEL_WARN : v >= 20 ? SHMLOG_LEVEL_INFO : v >= 10 ? SHMLOG_LEVEL_DEBUG
	     : SHMLOG_LEVEL_TRACE;
}

static long level_to_py(int l)
{
	static const long py[] = {0, 5, 10, 20, 30, 40, 50, 100};
	return l >= 0 && l <= SHMLOG_LEVEL_OFF ? py[l] : 0;
}

/* A level given as logging's number or a name ("info", "WARNING", ...). Returns 0 with an exception set. */
static int level_arg(PyObject *o)
{
	static const char *names[] = {"", "trace", "debug", "info", "warn", "error", "critical", "off"};
	if (PyLong_Check(o)) {
		long v = PyLong_AsLong(o);
		return v == -1 && PyErr_Occurred() ? 0 : ext_level_from_py(v);
	}
	const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
	for (int i = 1; s && i <= SHMLOG_LEVEL_OFF; i++)
		if (!strcasecmp(s, names[i]) || (i == SHMLOG_LEVEL_WARN && !strcasecmp(s, "warning")))
			return i;
	if (!PyErr_Occurred())
		PyErr_Format(PyExc_ValueError, "shmlog: bad level %R (a logging level number or a name such as 'info')", o);
	return 0;
}

/* ---- Logger methods ---- */

/* The calling Python frame's file and line. */
static void caller(struct call *k)
{
	PyFrameObject *fr = PyEval_GetFrame();
	if (!fr)
		return;
	PyCodeObject *code = PyFrame_GetCode(fr);
	k->file = code->co_filename;
	k->line = PyFrame_GetLineNumber(fr);
	Py_DECREF(code); /* the frame keeps it, and co_filename, alive */
}

/* msg, *args, **fields at level: args follow logging's rules (none: msg as it is; one non-empty dict: the mapping). */
static PyObject *log_at(LoggerObject *self, int level, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
	if (ext_check_open(self) < 0)
		return NULL;
	if (nargs < 1) {
		PyErr_SetString(PyExc_TypeError, "shmlog: a log call takes a message, then its arguments");
		return NULL;
	}
	if (level < shmlog_get_level(self->lg))
		Py_RETURN_NONE;
	struct call k = {.level = level};
	struct fields f = {0};
	struct pyfmt_call c = {0};
	PyObject *held = NULL;
	int rc = -1;
	k.msg = PyUnicode_Check(args[0]) ? (Py_INCREF(args[0]), args[0]) : PyObject_Str(args[0]);
	if (!k.msg)
		return NULL;
	if (nargs == 2 && PyDict_Check(args[1]) && PyDict_GET_SIZE(args[1]))
		k.args = args[1];
	else if (nargs > 1)
		k.args = held = pyfmt_tuple(args + 1, nargs - 1);
	if (nargs > 1 && !k.args)
		goto out;
	caller(&k);
	Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	for (Py_ssize_t i = 0; i < nkw; i++) {
		if (ext_field_add(&f, PyTuple_GET_ITEM(kwnames, i), args[nargs + i], &c) < 0)
			goto out;
	}
	rc = ext_log_call(self, &k, &f, &c);
out:
	pyfmt_call_release(&c);
	Py_XDECREF(held);
	Py_DECREF(k.msg);
	return rc < 0 ? NULL : Py_NewRef(Py_None);
}

#define LEVEL_METHOD(name, lvl)                                                                            \
	static PyObject *logger_##name(LoggerObject *self, PyObject *const *args, Py_ssize_t nargs,       \
				       PyObject *kwnames)                                                  \
	{                                                                                                  \
		return log_at(self, lvl, args, nargs, kwnames);                                            \
	}
LEVEL_METHOD(trace, SHMLOG_LEVEL_TRACE)
LEVEL_METHOD(debug, SHMLOG_LEVEL_DEBUG)
LEVEL_METHOD(info, SHMLOG_LEVEL_INFO)
LEVEL_METHOD(warn, SHMLOG_LEVEL_WARN)
LEVEL_METHOD(error, SHMLOG_LEVEL_ERROR)
LEVEL_METHOD(critical, SHMLOG_LEVEL_CRITICAL)

/* log(level, msg, *args, **fields) */
static PyObject *logger_log(LoggerObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
	if (nargs < 2) {
		PyErr_SetString(PyExc_TypeError, "shmlog: log() takes a level, a message, then its arguments");
		return NULL;
	}
	int level = level_arg(args[0]);
	if (!level)
		return NULL;
	if (level == SHMLOG_LEVEL_OFF && !PyLong_Check(args[0])) {
		PyErr_SetString(PyExc_ValueError, "shmlog: 'off' is a threshold, not a record's level");
		return NULL;
	}
	if (level == SHMLOG_LEVEL_OFF) /* a number above 50: as logging, the record is CRITICAL */
		level = SHMLOG_LEVEL_CRITICAL;
	return log_at(self, level, args + 1, nargs - 1, kwnames);
}

/* ---- flush, sync, close, level, stats ---- */

static int timeout_arg(PyObject *const *args, Py_ssize_t nargs, int *ms)
{
	*ms = 1000;
	if (nargs > 1) {
		PyErr_SetString(PyExc_TypeError, "shmlog: takes one argument, timeout_ms");
		return -1;
	}
	if (nargs == 1 && args[0] != Py_None) {
		long v = PyLong_AsLong(args[0]);
		if (v == -1 && PyErr_Occurred())
			return -1;
		*ms = v < -1 ? -1 : v > 0x7fffffffL ? 0x7fffffff : (int)v;
	}
	return 0;
}

/* flush() and sync(): wait with the GIL released; a timeout raises TimeoutError. */
static PyObject *wait_call(LoggerObject *self, PyObject *const *args, Py_ssize_t nargs,
			   int (*fn)(struct shmlog *, int), const char *what)
{
	int ms, rc;
	if (ext_check_open(self) < 0 || timeout_arg(args, nargs, &ms) < 0)
		return NULL;
	self->busy++;
	Py_BEGIN_ALLOW_THREADS
	rc = fn(self->lg, ms);
	Py_END_ALLOW_THREADS
	self->busy--;
	if (rc == -ETIMEDOUT) {
		PyErr_Format(PyExc_TimeoutError, "shmlog: %s timed out after %d ms (is shmlog-collector running?)", what, ms);
		return NULL;
	}
	if (rc < 0) {
		errno = -rc;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	Py_RETURN_NONE;
}

static PyObject *logger_flush(LoggerObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	return wait_call(self, args, nargs, shmlog_flush, "flush");
}

static PyObject *logger_sync(LoggerObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	return wait_call(self, args, nargs, shmlog_sync, "sync");
}

static void logger_release(LoggerObject *self)
{
	for (int i = 0; self->fast && i < EXT_FAST_SLOTS; i++)
		ext_fast_clear(&self->fast[i]);
	PyMem_Free(self->fast);
	self->fast = NULL;
	if (self->sites)
		PyDict_Clear(self->sites); /* the plans; the shmlog sites go with the logger */
	shmlog_close(self->lg);
	self->lg = NULL;
}

static PyObject *logger_close(LoggerObject *self, PyObject *unused)
{
	(void)unused;
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "shmlog: close() while another thread is in a call of this logger");
		return NULL;
	}
	logger_release(self);
	Py_RETURN_NONE;
}

static PyObject *logger_enter(LoggerObject *self, PyObject *unused)
{
	(void)unused;
	return ext_check_open(self) < 0 ? NULL : Py_NewRef((PyObject *)self);
}

static PyObject *logger_exit(LoggerObject *self, PyObject *args)
{
	(void)args;
	return logger_close(self, NULL);
}

static PyObject *logger_stats(LoggerObject *self, PyObject *unused)
{
	(void)unused;
	struct shmlog_stats st;
	if (ext_check_open(self) < 0)
		return NULL;
	shmlog_get_stats(self->lg, &st);
	return Py_BuildValue("{sKsKsKsI}", "committed_bytes", (unsigned long long)st.committed_bytes,
			     "consumed_bytes", (unsigned long long)st.consumed_bytes, "lost",
			     (unsigned long long)st.lost, "rings_in_use", st.rings_in_use);
}

static PyObject *logger_get_level(LoggerObject *self, void *unused)
{
	(void)unused;
	return ext_check_open(self) < 0 ? NULL : PyLong_FromLong(level_to_py(shmlog_get_level(self->lg)));
}

static int logger_set_level(LoggerObject *self, PyObject *v, void *unused)
{
	(void)unused;
	if (!v) {
		PyErr_SetString(PyExc_AttributeError, "shmlog: the level cannot be deleted");
		return -1;
	}
	int level = ext_check_open(self) < 0 ? 0 : level_arg(v);
	if (!level)
		return -1;
	shmlog_set_level(self->lg, level);
	return 0;
}

static PyObject *logger_get_path(LoggerObject *self, void *unused)
{
	(void)unused;
	return ext_check_open(self) < 0 ? NULL : PyUnicode_DecodeFSDefault(shmlog_segment_path(self->lg));
}

static PyObject *logger_get_closed(LoggerObject *self, void *unused)
{
	(void)unused;
	return PyBool_FromLong(self->lg == NULL);
}

/* ---- construction ---- */

/* The default logger name: the script's, without ".py" ("python" when there is none). */
static PyObject *default_name(void)
{
	PyObject *argv = PySys_GetObject("argv"); /* borrowed */
	PyObject *a0 = argv && PyList_Check(argv) && PyList_GET_SIZE(argv) > 0 ? PyList_GET_ITEM(argv, 0) : NULL;
	const char *s = a0 && PyUnicode_Check(a0) ? PyUnicode_AsUTF8(a0) : NULL;
	PyErr_Clear();
	const char *base = s ? strrchr(s, '/') : NULL;
	base = base ? base + 1 : s;
	size_t n = base ? strlen(base) : 0;
	if (n > 3 && !strcmp(base + n - 3, ".py"))
		n -= 3;
	if (n == 0 || n > 63 || (base[0] == '-' && n == 1))
		return PyUnicode_FromString("python");
	return PyUnicode_FromStringAndSize(base, (Py_ssize_t)n);
}

static int int_opt(PyObject *o, const char *what, int *out)
{
	if (!o || o == Py_None)
		return 0;
	long v = PyLong_Check(o) ? PyLong_AsLong(o) : -1;
	if (!PyLong_Check(o) || (PyErr_Occurred() && (PyErr_Clear(), 1)) || v < -0x7fffffffL || v > 0x7fffffffL) {
		PyErr_Format(PyExc_ValueError, "shmlog: %s must be an int, not %R", what, o);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int policy_opt(PyObject *o, int *out)
{
	const char *s = o && o != Py_None && PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
	if (!o || o == Py_None)
		return 0;
	if (s && !strcmp(s, "drop"))
		*out = SHMLOG_FULL_DROP;
	else if (s && !strcmp(s, "block"))
		*out = SHMLOG_FULL_BLOCK;
	else {
		PyErr_Clear();
		PyErr_Format(PyExc_ValueError, "shmlog: full_policy is 'drop' or 'block', not %R", o);
		return -1;
	}
	return 0;
}

/* Level options: None (the default) or a level; sync_level also accepts 0 (off). */
static int level_opt(PyObject *o, int *out)
{
	if (!o || o == Py_None)
		return 0;
	if (PyLong_Check(o) && PyLong_AsLong(o) == 0 && !PyErr_Occurred())
		return 0;
	return (*out = level_arg(o)) ? 0 : -1;
}

static int options_from_args(PyObject *kw[], struct shmlog_options *o, PyObject **name)
{
	int ring_bytes = 0, max_threads = 0;
	if (int_opt(kw[2], "ring_bytes", &ring_bytes) < 0 || int_opt(kw[3], "max_threads", &max_threads) < 0 ||
	    level_opt(kw[4], &o->min_level) < 0 || policy_opt(kw[5], &o->full_policy) < 0 ||
	    int_opt(kw[6], "block_timeout_ms", &o->block_timeout_ms) < 0 ||
	    level_opt(kw[8], &o->sync_level) < 0 || int_opt(kw[9], "sync_timeout_ms", &o->sync_timeout_ms) < 0 ||
	    int_opt(kw[11], "block_spin_us", &o->block_spin_us) < 0)
		return -1;
	if (ring_bytes < 0 || max_threads < 0) {
		PyErr_SetString(PyExc_ValueError, "shmlog: ring_bytes and max_threads are not negative");
		return -1;
	}
	o->ring_bytes = (uint32_t)ring_bytes;
	o->max_threads = (uint32_t)max_threads;
	o->crash_handler = kw[7] && PyObject_IsTrue(kw[7]) == 1;
	o->doorbell = kw[10] && PyObject_IsTrue(kw[10]) == 1;
	*name = kw[0] && kw[0] != Py_None ? Py_NewRef(kw[0]) : default_name();
	if (!*name || !PyUnicode_Check(*name) || !(o->name = PyUnicode_AsUTF8(*name))) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError, "shmlog: name is a str");
		return -1;
	}
	if (kw[1] && kw[1] != Py_None && (!PyUnicode_Check(kw[1]) || !(o->dir = PyUnicode_AsUTF8(kw[1])))) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError, "shmlog: dir is a str");
		return -1;
	}
	return 0;
}

/* Register the per-level overflow sites. */
static int overflow_sites(LoggerObject *self)
{
	for (int l = SHMLOG_LEVEL_TRACE; l <= SHMLOG_LEVEL_CRITICAL; l++)
		if (shmlog_site_register(self->lg, &self->overflow[l][1], l, "%s", "", 0, NULL, 0) < 0) {
			PyErr_SetString(PyExc_OSError, "shmlog: cannot register the logger's call sites");
			return -1;
		}
	return 0;
}

static int logger_init(LoggerObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = {"name", "dir", "ring_bytes", "max_threads", "level", "full_policy",
				 "block_timeout_ms", "crash_handler", "sync_level", "sync_timeout_ms", "doorbell",
				 "block_spin_us", NULL};
	PyObject *kw[12] = {0}, *name = NULL;
	if (self->lg) {
		PyErr_SetString(PyExc_RuntimeError, "shmlog: Logger.__init__ called twice");
		return -1;
	}
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OOOOOOOOOOOO:Logger", kwlist, &kw[0], &kw[1], &kw[2], &kw[3],
					 &kw[4], &kw[5], &kw[6], &kw[7], &kw[8], &kw[9], &kw[10], &kw[11]))
		return -1;
	struct shmlog_options o = {0};
	int rc = options_from_args(kw, &o, &name);
	if (rc == 0 && (!(self->sites = PyDict_New()) || !(self->fast = PyMem_Calloc(EXT_FAST_SLOTS, sizeof *self->fast))))
		rc = -1;
	if (rc == 0 && (rc = shmlog_open(&self->lg, &o)) < 0) {
		if (rc == -EINVAL)
			PyErr_SetString(PyExc_ValueError, "shmlog: an option is out of range (see shmlog(3))");
		else
			errno = -rc, PyErr_SetFromErrnoWithFilename(PyExc_OSError, o.dir ? o.dir : "$SHMLOG_DIR");
		rc = -1;
	}
	Py_XDECREF(name);
	if (rc == 0 && overflow_sites(self) < 0)
		rc = -1;
	self->release_gil = o.full_policy == SHMLOG_FULL_BLOCK || o.sync_level != 0;
	return rc;
}

static void logger_dealloc(LoggerObject *self)
{
	if (self->lg)
		logger_release(self);
	Py_CLEAR(self->sites);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

#define FASTKW METH_FASTCALL | METH_KEYWORDS
static PyMethodDef logger_methods[] = {
	{"trace", (PyCFunction)(void (*)(void))logger_trace, FASTKW, "trace(msg, *args, **fields)"},
	{"debug", (PyCFunction)(void (*)(void))logger_debug, FASTKW, "debug(msg, *args, **fields)"},
	{"info", (PyCFunction)(void (*)(void))logger_info, FASTKW, "info(msg, *args, **fields)"},
	{"warn", (PyCFunction)(void (*)(void))logger_warn, FASTKW, "warn(msg, *args, **fields)"},
	{"warning", (PyCFunction)(void (*)(void))logger_warn, FASTKW, "warning(msg, *args, **fields)"},
	{"error", (PyCFunction)(void (*)(void))logger_error, FASTKW, "error(msg, *args, **fields)"},
	{"critical", (PyCFunction)(void (*)(void))logger_critical, FASTKW, "critical(msg, *args, **fields)"},
	{"log", (PyCFunction)(void (*)(void))logger_log, FASTKW, "log(level, msg, *args, **fields)"},
	{"_emit", (PyCFunction)(void (*)(void))ext_emit, METH_FASTCALL, "_emit(record, tail_fn, name_field)"},
	{"flush", (PyCFunction)(void (*)(void))logger_flush, METH_FASTCALL,
	 "flush(timeout_ms=1000): wait until the collector consumed every record logged so far"},
	{"sync", (PyCFunction)(void (*)(void))logger_sync, METH_FASTCALL,
	 "sync(timeout_ms=1000): wait until the collector wrote and synced every record logged so far"},
	{"close", (PyCFunction)logger_close, METH_NOARGS, "close(): the segment stays until drained"},
	{"stats", (PyCFunction)logger_stats, METH_NOARGS, "stats(): counters summed over rings"},
	{"__enter__", (PyCFunction)logger_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)logger_exit, METH_VARARGS, NULL},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef logger_getset[] = {
	{"level", (getter)logger_get_level, (setter)logger_set_level, "threshold, as logging's level number", NULL},
	{"segment_path", (getter)logger_get_path, NULL, "the segment file", NULL},
	{"closed", (getter)logger_get_closed, NULL, "whether close() ran", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject ext_LoggerType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmlog.Logger",
	.tp_basicsize = sizeof(LoggerObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Logger(*, name=None, dir=None, ring_bytes=0, max_threads=0, level=None, full_policy='drop', "
		  "block_timeout_ms=None, crash_handler=False, sync_level=None, sync_timeout_ms=None, doorbell=False, "
		  "block_spin_us=None): a libshmlog logger (shmlog(3) for each option)",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)logger_init,
	.tp_dealloc = (destructor)logger_dealloc,
	.tp_methods = logger_methods,
	.tp_getset = logger_getset,
};


static PyMethodDef module_methods[] = {
	{"_set_standard_attrs", (PyCFunction)(void (*)(void))ext_set_standard_attrs, METH_FASTCALL, NULL},
	{"_handle_fn", (PyCFunction)(void (*)(void))ext_handle_fn, METH_FASTCALL, NULL},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "_shmlog", "libshmlog for Python: shmlog.Logger", -1, module_methods,
	NULL, NULL, NULL, NULL,
};


PyMODINIT_FUNC PyInit__shmlog(void)
{
	if (PyType_Ready(&ext_LoggerType) < 0 || ext_calls_init() < 0 || ext_handler_init() < 0)
		return NULL;
	PyObject *m = PyModule_Create(&module);
	if (!m)
		return NULL;
	if (PyModule_AddObjectRef(m, "Logger", (PyObject *)&ext_LoggerType) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
