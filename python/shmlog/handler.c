/*
 * handler.c — shmlog.Handler.handle as a C callable.
 *
 * logging calls handler.handle(record) for every record that passes the
 * handler's level. A shmlog.Handler sets its instance's handle to one of
 * these objects, so that such a call runs no Python frame: without filters
 * it writes the record (ext_emit_record) at once, no lock (a Logger is safe
 * from any thread). Everything else goes to the handler's Python method
 * slow(record), logging.Handler.handle's own steps: a handler with filters,
 * and a record whose writing failed with an Exception, which slow() writes
 * again inside emit()'s try, so that handleError() sees the exception as
 * logging's handlers do (nothing was written the first time).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ext.h"

typedef struct {
	PyObject_HEAD
	vectorcallfunc vectorcall;
	PyObject *logger;     /* the shmlog.Logger */
	PyObject *handler;    /* the shmlog.Handler (its filters are read per call) */
	PyObject *tail_fn;    /* handler._tail */
	PyObject *name_field; /* str or None */
	PyObject *slow;       /* handler._handle_slow */
} HandleObject;

static PyTypeObject HandleType;
static PyObject *s_filters;

static PyObject *handle_call(PyObject *self_, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
	HandleObject *self = (HandleObject *)self_;
	if (PyVectorcall_NARGS(nargsf) != 1 || kwnames) {
		PyErr_SetString(PyExc_TypeError, "shmlog: handle(record)");
		return NULL;
	}
	PyObject *filters = PyObject_GetAttr(self->handler, s_filters);
	if (!filters)
		return NULL;
	int plain = PyList_CheckExact(filters) && PyList_GET_SIZE(filters) == 0;
	Py_DECREF(filters);
	if (plain) {
		if (ext_emit_record((LoggerObject *)self->logger, args[0], self->tail_fn, self->name_field) == 0)
			Py_RETURN_TRUE;
		if (!PyErr_ExceptionMatches(PyExc_Exception))
			return NULL; /* KeyboardInterrupt and the like go on up */
		PyErr_Clear();
	}
	return PyObject_CallOneArg(self->slow, args[0]);
}

static int handle_traverse(HandleObject *self, visitproc visit, void *arg)
{
	Py_VISIT(self->logger);
	Py_VISIT(self->handler);
	Py_VISIT(self->tail_fn);
	Py_VISIT(self->name_field);
	Py_VISIT(self->slow);
	return 0;
}

static int handle_clear(HandleObject *self)
{
	Py_CLEAR(self->logger);
	Py_CLEAR(self->handler);
	Py_CLEAR(self->tail_fn);
	Py_CLEAR(self->name_field);
	Py_CLEAR(self->slow);
	return 0;
}

static void handle_dealloc(HandleObject *self)
{
	PyObject_GC_UnTrack(self);
	handle_clear(self);
	PyObject_GC_Del(self);
}

PyObject *ext_handle_fn(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
	(void)mod;
	if (nargs != 5 || !PyObject_TypeCheck(args[0], &ext_LoggerType)) {
		PyErr_SetString(PyExc_TypeError, "shmlog: _handle_fn(logger, handler, tail_fn, name_field, slow)");
		return NULL;
	}
	HandleObject *h = PyObject_GC_New(HandleObject, &HandleType);
	if (!h)
		return NULL;
	h->vectorcall = handle_call;
	h->logger = Py_NewRef(args[0]);
	h->handler = Py_NewRef(args[1]);
	h->tail_fn = Py_NewRef(args[2]);
	h->name_field = Py_NewRef(args[3]);
	h->slow = Py_NewRef(args[4]);
	PyObject_GC_Track(h);
	return (PyObject *)h;
}

static PyTypeObject HandleType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmlog._Handle",
	.tp_basicsize = sizeof(HandleObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
	.tp_vectorcall_offset = offsetof(HandleObject, vectorcall),
	.tp_call = PyVectorcall_Call,
	.tp_traverse = (traverseproc)handle_traverse,
	.tp_clear = (inquiry)handle_clear,
	.tp_dealloc = (destructor)handle_dealloc,
	.tp_doc = "shmlog.Handler.handle(record), in C",
};

int ext_handler_init(void)
{
	s_filters = PyUnicode_InternFromString("filters");
	return s_filters && PyType_Ready(&HandleType) == 0 ? 0 : -1;
}
