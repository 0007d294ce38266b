"""shmlog.Logger through a real collector: every level, every argument type,
fields, the site cache, and bad input as Python exceptions."""
import struct
import threading

import pytest

import shmlog


def logged(collector, lg, n):
    lg.flush(10000)
    return collector.records(n)


def test_every_level_is_written_with_its_name(collector, logger):
    logger.trace("t")
    logger.debug("d")
    logger.info("i")
    logger.warn("w")
    logger.warning("w2")
    logger.error("e")
    logger.critical("c")
    logger.log(shmlog.INFO, "l")
    logger.log("error", "l2")
    logger.log(60, "above critical")
    recs = logged(collector, logger, 10)
    assert [(r["level"], r["msg"]) for r in recs] == [
        ("TRACE", "t"), ("DEBUG", "d"), ("INFO", "i"), ("WARN", "w"), ("WARN", "w2"),
        ("ERROR", "e"), ("CRITICAL", "c"), ("INFO", "l"), ("ERROR", "l2"), ("CRITICAL", "above critical")]
    assert all(r["name"] == "pytest" for r in recs)


def test_below_the_threshold_nothing_is_written(collector, logger):
    logger.level = shmlog.WARNING
    assert logger.level == shmlog.WARNING
    logger.info("no")
    logger.debug("no")
    logger.warning("yes")
    logger.level = "off"
    logger.critical("no")
    logger.level = shmlog.TRACE
    logger.trace("last")
    assert [r["msg"] for r in logged(collector, logger, 2)] == ["yes", "last"]


ARGS = [
    ("%d %i %u", (-42, 7, 3)),
    ("%d", (2**63 - 1,)),
    ("%d", (-2**63,)),
    ("%d", (2**70,)),               # beyond 64 bits: Python renders it
    ("%x %X %o", (255, 255, 8)),
    ("%x", (-255,)),                # negative hex: Python's "-ff"
    ("%x", (2**64 - 1,)),
    ("%f %.2f %e %g %G", (3.14159, 2.5, 1e-9, 1e20, 2.5e-7)),
    ("%f %f", (float("inf"), float("nan"))),
    ("%f", (3,)),                   # an int for %f
    ("%d", (True,)),
    ("%d", (3.7,)),                 # a float for %d: Python truncates
    ("%s|%s|%s|%s", ("str", None, [1, 2], 1.5)),
    ("%s", ("ünïcödé ✓",)),
    ("%r %a", ("q", "é")),
    ("%c%c", (65, "é")),
    ("%5s|%-5s|%.2s", ("ab", "cd", "xyz")),
    ("%5s|", ("éé",)),              # width in characters, not bytes
    ("%*d|%-*.*f", (5, 42, 8, 2, 3.14159)),
    ("%+d % d %05d %-5d|", (5, 5, 5, 5)),
    ("%#x %#o %+x", (255, 8, 255)),
    ("%.3d %.0d", (5, 0)),
    ("100%% of %s", ("it",)),
]


@pytest.mark.parametrize("fmt,args", ARGS)
def test_arguments_render_as_python_formats_them(collector, logger, fmt, args):
    logger.info(fmt, *args)
    logger.info(fmt, *args)  # the second call goes through the cached site
    recs = logged(collector, logger, 2)
    assert [r["msg"] for r in recs] == [fmt % args] * 2


def test_long_texts_arrive_whole_up_to_16_kib(collector, logger):
    logger.info("%s|%d", "xé" * 2000, 7)  # 6000 bytes: more than one argument holds; 1024 bytes end inside an é
    logger.info("x" * 5000)
    logger.info("%s", "y" * 20000)
    logger.info("f", v="z" * 2000)  # a field value is cut as a C one is
    recs = logged(collector, logger, 4)
    assert recs[0]["msg"] == "xé" * 2000 + "|7"
    assert recs[1]["msg"] == "x" * 5000
    assert recs[2]["msg"].startswith("y" * 16384) and recs[2]["msg"].endswith("...[truncated]")
    assert recs[3]["fields"]["v"].startswith("z" * 1024) and recs[3]["fields"]["v"].endswith("...[truncated]")


def test_a_mapping_argument_is_used_by_key(collector, logger):
    logger.info("%(a)s=%(n)05d %(a)r", {"a": "x", "n": 7})
    logger.info("%s", {"a": 1})
    assert [r["msg"] for r in logged(collector, logger, 2)] == ["x=00007 'x'", "{'a': 1}"]


def test_without_arguments_the_message_is_taken_as_it_is(collector, logger):
    logger.info("100% sure, %d %s")
    assert logged(collector, logger, 1)[0]["msg"] == "100% sure, %d %s"


def test_fields_are_typed_values(collector, logger):
    logger.info("f %s", "x", user="bob", n=-3, big=2**64 - 1, huge=2**70, r=0.5, ok=True, no=False,
                other=[1, "a"], none=None)
    r = logged(collector, logger, 1)[0]
    assert r["msg"] == "f x"
    assert r["fields"] == {"user": "bob", "n": -3, "big": 2**64 - 1, "huge": str(2**70), "r": 0.5, "ok": True,
                           "no": False, "other": "[1, 'a']", "none": "None"}


def test_same_format_other_field_types_are_other_sites(collector, logger):
    logger.info("v", k=1)
    logger.info("v", k="one")
    logger.info("v", k=1.5)
    assert [r["fields"]["k"] for r in logged(collector, logger, 3)] == [1, "one", 1.5]


def sites_used(lg):
    """The segment's sites_used (shared/abi.h: a u32 at offset 320 of the header)."""
    with open(lg.segment_path, "rb") as f:
        f.seek(320)
        return struct.unpack("<I", f.read(4))[0]


def test_a_site_is_registered_once_not_per_call(collector, logger):
    before = sites_used(logger)
    for i in range(500):
        logger.info("n=%d s=%s", i, "x", k=i)
    assert sites_used(logger) == before + 1
    recs = logged(collector, logger, 500)
    assert recs[499]["msg"] == "n=499 s=x" and recs[499]["fields"] == {"k": 499}


def test_more_sites_than_the_cache_holds_are_all_written(collector, logger):
    n = 2100  # the cache holds 2000 sites: the rest go through the overflow sites
    for i in range(n):
        logger.info("message %d" % i, i=i)
    recs = logged(collector, logger, n)
    assert [r["msg"] for r in recs[:2]] == ["message 0", "message 1"]
    assert recs[0]["fields"] == {"i": 0}
    assert recs[n - 1]["msg"] == "message %d i=%d" % (n - 1, n - 1)  # fields as text there


def test_threads_each_write_their_records(collector, logger):
    def work(t):
        for i in range(200):
            logger.info("t%d i%d", t, i)
    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    msgs = {r["msg"] for r in logged(collector, logger, 800)}
    assert msgs == {"t%d i%d" % (t, i) for t in range(4) for i in range(200)}


def test_block_policy_and_sync(collector):
    with shmlog.Logger(name="blk", dir=collector.dir, full_policy="block", ring_bytes=4096,
                       sync_level="error") as lg:
        for i in range(300):
            lg.info("b %d", i)
        lg.error("synced")
        lg.sync(10000)
        recs = collector.records(301)
    assert recs[-1]["msg"] == "synced" and recs[0]["msg"] == "b 0"


def test_the_file_and_line_are_the_callers(collector, logger):
    logger.info("here")
    r = logged(collector, logger, 1)[0]
    assert r["file"] == __file__
    assert r["line"] == test_the_file_and_line_are_the_callers.__code__.co_firstlineno + 1


def test_bad_options_raise(collector):
    with pytest.raises(ValueError):
        shmlog.Logger(dir=collector.dir, level="loud")
    with pytest.raises(ValueError):
        shmlog.Logger(dir=collector.dir, full_policy="wait")
    with pytest.raises(ValueError):
        shmlog.Logger(dir=collector.dir, ring_bytes=-1)
    with pytest.raises(ValueError):
        shmlog.Logger(dir=collector.dir, max_threads=5000)
    with pytest.raises(ValueError):
        shmlog.Logger(dir=collector.dir, name="x" * 64)
    with pytest.raises(TypeError):
        shmlog.Logger(dir=collector.dir, name=3)
    with pytest.raises(TypeError):
        shmlog.Logger("positional")
    with pytest.raises(OSError):
        shmlog.Logger(dir="/proc/no/such/dir")


def test_bad_calls_raise(logger):
    with pytest.raises(TypeError):
        logger.info()
    with pytest.raises(TypeError):
        logger.info("%d", "not a number")
    with pytest.raises(TypeError):
        logger.info("%s %s", 1)
    with pytest.raises(ValueError):
        logger.info("%y", 1)
    with pytest.raises(ValueError):
        logger.info("x", **{"k%d" % i: i for i in range(17)})
    with pytest.raises(ValueError):
        logger.info("x", **{"k" * 256: 1})
    with pytest.raises(TypeError):
        logger.flush("soon")
    with pytest.raises(ValueError):
        logger.log("loud", "x")
    with pytest.raises(ValueError):
        logger.log("off", "x")


def test_a_closed_logger_raises(collector):
    lg = shmlog.Logger(dir=collector.dir)
    lg.close()
    assert lg.closed
    with pytest.raises(ValueError):
        lg.info("x")
    with pytest.raises(ValueError):
        lg.flush()
    lg.close()  # twice is fine


def test_flush_without_a_collector_times_out(tmp_path):
    lg = shmlog.Logger(dir=str(tmp_path))
    lg.info("nobody reads this")
    with pytest.raises(TimeoutError):
        lg.flush(50)
    lg.close()


class BadStr:
    def __str__(self):
        raise RuntimeError("no str for you")


def test_errors_of_the_values_themselves_reach_the_caller(collector, logger):
    with pytest.raises(RuntimeError):
        logger.info("%s", BadStr())
    with pytest.raises(RuntimeError):
        logger.info("x", k=BadStr())
    with pytest.raises(RuntimeError):
        logger.info(BadStr())
    with pytest.raises(AttributeError):
        logger._emit(object(), None, None)
    with pytest.raises(TypeError):
        logger._emit(1, None)
    unopened = shmlog.Logger.__new__(shmlog.Logger)
    with pytest.raises(ValueError):
        unopened.info("x")
    with pytest.raises(RuntimeError):
        logger.__init__()
    logger.info("still fine")
    assert [r["msg"] for r in logged(collector, logger, 1)] == ["still fine"]
