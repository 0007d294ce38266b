"""shmlog.Handler through a real collector: the collector's message equals
record.getMessage(), extra= becomes fields, exc_info follows as text, and
levels map as logging defines them."""
import logging

import pytest

import shmlog


@pytest.fixture
def handler(collector):
    h = shmlog.Handler(name="pyh", dir=collector.dir)
    yield h
    h.close()


@pytest.fixture
def log(handler):
    lg = logging.getLogger("test.shmlog")
    lg.propagate = False
    lg.setLevel(1)
    lg.addHandler(handler)
    yield lg
    lg.removeHandler(handler)


class Keep(logging.Handler):
    """Keeps the records it is given, to compare with what the collector wrote."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def kept(log):
    k = Keep()
    log.addHandler(k)
    yield k
    log.removeHandler(k)


def written(collector, handler, n):
    handler.logger.flush(10000)
    return collector.records(n)


CASES = [
    ("value=%d name=%s pi=%f", (42, "alice", 3.14159)),
    ("%i %u %5d|%-5d|%05d %+d % d", (1, 2, 3, 4, 5, 6, 7)),
    ("%x %X %o %#x %#o %#X", (255, 255, 8, 255, 8, 0)),
    ("%x %d", (-1, -2**63 - 1)),
    ("%d %d", (2**64, True)),
    ("%e %E %g %G %.3e %10.4f|%-10.2f|", (1.5e-9, 2e30, 1e-5, 123456789.0, 0.5, 3.14159, 2.5)),
    ("%f %e %g %5.1f", (float("inf"), float("-inf"), float("nan"), float("inf"))),
    ("%s %s %s %s %s", ("s", 1, 2.5, None, (1, 2))),
    ("%r %a %r", ("it's", "naïve", b"bytes")),
    ("%c %c %3c|", ("x", 0x263A, "y")),
    ("%.3s|%8s|%-8s|", ("truncate", "right", "left")),
    ("%5s|%.2s|", ("ÿé", "éèê")),
    ("%*d|%-*s|%.*f", (6, 1, 4, "ab", 2, 2.71828)),
    ("%(user)s has %(n)d %(what)r", {"user": "bob", "n": 3, "what": "items"}),
    ("%%d %d%%", (5,)),
    ("%ld %lf %hd", (1, 2.0, 3)),
    ("no args, 100%", ()),
]


@pytest.mark.parametrize("fmt,args", CASES)
def test_the_message_equals_getmessage(collector, handler, log, kept, fmt, args):
    if isinstance(args, dict):
        log.info(fmt, args)
    else:
        log.info(fmt, *args)
    r = written(collector, handler, 1)[0]
    assert r["msg"] == kept.records[0].getMessage()


def test_a_message_that_is_not_a_str_is_str_of_it(collector, handler, log):
    log.warning(ValueError("bad"))
    log.warning(12345)
    assert [r["msg"] for r in written(collector, handler, 2)] == ["bad", "12345"]


def test_extra_becomes_fields_and_the_logger_name_one_more(collector, handler, log):
    log.info("login %s", "bob", extra={"user_id": 7, "ip": "10.0.0.1", "admin": False, "score": 0.25})
    r = written(collector, handler, 1)[0]
    assert r["msg"] == "login bob"
    assert r["fields"] == {"logger": "test.shmlog", "user_id": 7, "ip": "10.0.0.1", "admin": False, "score": 0.25}


def test_name_field_none_leaves_the_logger_name_out(collector):
    h = shmlog.Handler(name="pyh", dir=collector.dir, name_field=None)
    lg = logging.getLogger("test.noname")
    lg.propagate = False
    lg.addHandler(h)
    lg.warning("w", extra={"k": 1})
    r = written(collector, h, 1)[0]
    lg.removeHandler(h)
    h.close()
    assert r["fields"] == {"k": 1}


def test_exc_info_follows_the_message_as_logging_formats_it(collector, handler, log, kept):
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup of %s failed", "missing")
    r = written(collector, handler, 1)[0]
    rec = kept.records[0]
    assert r["level"] == "ERROR"
    assert r["msg"] == rec.getMessage() + "\n" + logging.Formatter().formatException(rec.exc_info)
    assert "KeyError: 'missing'" in r["msg"]


def test_stack_info_follows_the_message(collector, handler, log):
    log.info("where", stack_info=True)
    r = written(collector, handler, 1)[0]
    assert r["msg"].startswith("where\nStack (most recent call last):\n")
    assert "test_stack_info_follows_the_message" in r["msg"]


@pytest.mark.parametrize("level,name", [
    (shmlog.TRACE, "TRACE"), (logging.DEBUG, "DEBUG"), (logging.INFO, "INFO"), (25, "INFO"),
    (logging.WARNING, "WARN"), (logging.ERROR, "ERROR"), (logging.CRITICAL, "CRITICAL"), (60, "CRITICAL"),
    (1, "TRACE")])
def test_levels_map_as_logging_defines_them(collector, handler, log, level, name):
    log.log(level, "at %d", level)
    r = written(collector, handler, 1)[0]
    assert (r["level"], r["msg"]) == (name, "at %d" % level)


def test_the_handler_level_and_filters_apply(collector, handler, log):
    handler.setLevel(logging.WARNING)
    handler.addFilter(lambda rec: "skip" not in rec.getMessage())
    log.info("no")
    log.warning("skip me")
    log.error("yes")
    assert [r["msg"] for r in written(collector, handler, 1)] == ["yes"]


def test_the_file_and_line_are_the_records(collector, handler, log, kept):
    log.info("here")
    r = written(collector, handler, 1)[0]
    assert (r["file"], r["line"]) == (kept.records[0].pathname, kept.records[0].lineno)


def test_a_bad_record_goes_to_handle_error(collector, handler, log, capsys):
    log.info("%d items", "many")
    log.info("after")
    assert "--- Logging error ---" in capsys.readouterr().err
    assert [r["msg"] for r in written(collector, handler, 1)] == ["after"]


def test_a_handler_on_a_given_logger_leaves_it_open(collector):
    lg = shmlog.Logger(dir=collector.dir)
    h = shmlog.Handler(logger=lg)
    h.close()
    assert not lg.closed
    lg.close()


def test_the_root_logger_as_the_readme_shows(collector):
    root = logging.getLogger()
    h = shmlog.Handler(dir=collector.dir)
    root.addHandler(h)
    try:
        logging.warning("disk %s at %d%%", "/var", 91)
    finally:
        root.removeHandler(h)
    r = written(collector, h, 1)[0]
    h.close()
    assert (r["level"], r["msg"], r["fields"]) == ("WARN", "disk /var at 91%", {"logger": "root"})
