"""shmlog for Python: log through libshmlog's shared-memory rings.

``shmlog.Logger`` is a libshmlog logger (the options of ``struct
shmlog_options``); ``shmlog.Handler`` is a ``logging.Handler`` that sends
every stdlib record through one. The collector (shmlog-collector) does the
%-formatting, so a record costs a few hundred nanoseconds in the program.
See docs/python.md.
"""
import logging

from ._shmlog import Logger, _handle_fn, _set_standard_attrs

__all__ = ["Logger", "Handler", "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "OFF"]

# Levels are logging's numbers; TRACE is 5, OFF (as a threshold) logs nothing.
TRACE = 5
DEBUG = logging.DEBUG
INFO = logging.INFO
WARN = WARNING = logging.WARNING
ERROR = logging.ERROR
CRITICAL = logging.CRITICAL
OFF = 100

if logging.getLevelName(TRACE) == "Level 5":
    logging.addLevelName(TRACE, "TRACE")

# A LogRecord's own attributes (and the two a Formatter adds): everything
# else in its __dict__ came from extra={...} and becomes a field.
_plain = vars(logging.LogRecord("", 0, "", 0, "", (), None))
_set_standard_attrs(frozenset(_plain) | {"message", "asctime"}, len(_plain))
del _plain


class Handler(logging.Handler):
    """A logging.Handler writing each record through a shmlog.Logger.

    record.msg is the call site's format and record.args its values: the
    collector renders them as record.getMessage() would. extra={...} items
    become fields, and so does the logger's name (under name_field, unless
    None). exc_info and stack_info follow the message as text.

    logger: a shmlog.Logger to write through (the handler does not close it);
    otherwise the handler opens one with **options, at level TRACE so that
    the logging package's levels decide what is written.
    """

    def __init__(self, level=logging.NOTSET, *, logger=None, name_field="logger", **options):
        super().__init__(level)
        self._owns = logger is None
        if logger is None:
            options.setdefault("level", TRACE)
            logger = Logger(**options)
        self.logger = logger
        self._name_field = name_field
        self._emit = logger._emit
        self._fmt = logging.Formatter()
        # handle(record) in C: no Python frame, no lock (a Logger is safe from
        # any thread); with filters, or to report an error, it calls _handle_slow
        self.handle = _handle_fn(logger, self, self._tail, name_field, self._handle_slow)

    def _tail(self, record):
        """The text after the message: the exception and the stack, as logging.Formatter adds them."""
        text = ""
        if record.exc_info and not record.exc_text:
            record.exc_text = self._fmt.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + self._fmt.formatStack(record.stack_info)
        return text or None

    def emit(self, record):
        try:
            self._emit(record, self._tail, self._name_field)
        except Exception:
            self.handleError(record)

    def _handle_slow(self, record):
        return logging.Handler.handle(self, record)

    def flush(self):
        """Does not wait for the collector: call self.logger.flush() for that."""

    def close(self):
        if self._owns and not self.logger.closed:
            self.logger.close()
        super().close()
