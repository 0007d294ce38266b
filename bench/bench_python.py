#!/usr/bin/env python3
"""bench_python.py — the Python module against logging.FileHandler, side by side.

The record is the C benchmarks' message 1, "value=%d name=%s pi=%f" with
(i, "hello", 3.14159265358979). Cases, each timed over N calls after N/10 of
warm-up, in interleaved runs (file, shmlog, file, shmlog, ...):

  handle  handler.handle(record) for one prebuilt LogRecord: the handler's own
          cost. logging.FileHandler formats "%(asctime)s %(levelname)s
          %(name)s: %(message)s" and writes the line to a file (flushing it, as
          it does); shmlog.Handler writes the record to its ring, and a
          shmlog-collector (on its own CPU) formats it into a file.
  info    logger.info(fmt, i, "hello", pi) through the logging package to that
          handler: what a program pays per call, logging's own record-making
          included (the same for both).
  direct  shmlog.Logger.info(fmt, ...) without the logging package (shmlog only).

Prints one table (median ns per call and the ratio file/shmlog; every run
listed) and writes it as JSON. The collector's output is checked to hold
every record the shmlog cases logged, and the rings to have lost none.

usage: bench_python.py --build DIR [--runs 3] [--n 200000] [--collector-cpu CPU] [--out FILE]
"""
import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

FMT = "value=%d name=%s pi=%f"
NAME, PI = "hello", 3.14159265358979


def timed(fn, n):
    for i in range(n // 10):
        fn(i)
    t = time.perf_counter_ns()
    for i in range(n):
        fn(i)
    return (time.perf_counter_ns() - t) / n


def start_collector(build, segdir, work, cpu):
    conf = os.path.join(work, "collector.conf")
    with open(conf, "w") as f:
        f.write('writers = ( { type = "file"; path = "%s/shmlog.log"; } );\n' % work)
    sock_path = os.path.join(work, "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(sock_path)
        sock.settimeout(10)
        cmd = [os.path.join(build, "shmlog-collector"), "--dir", segdir, "--config", conf]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        proc = subprocess.Popen(cmd, env=dict(os.environ, NOTIFY_SOCKET=sock_path))
        while b"READY=1" not in sock.recv(4096):  # a timeout raises: the collector did not start
            pass
    return proc


def stdlib_logger(name, handler):
    lg = logging.getLogger(name)
    lg.propagate = False
    lg.setLevel(logging.INFO)
    lg.addHandler(handler)
    return lg


def make_cases(shmlog, work, segdir):
    fh = logging.FileHandler(os.path.join(work, "file.log"))
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    sl = shmlog.Logger(name="bench", dir=segdir, ring_bytes=64 << 20)
    sh = shmlog.Handler(logger=sl)
    rec = logging.LogRecord("bench", logging.INFO, __file__, 1, FMT, (42, NAME, PI), None)
    lf, ls = stdlib_logger("bench.file", fh), stdlib_logger("bench.shmlog", sh)
    cases = {
        "handle": (lambda i: fh.handle(rec), lambda i: sh.handle(rec)),
        "info": (lambda i: lf.info(FMT, i, NAME, PI), lambda i: ls.info(FMT, i, NAME, PI)),
        "direct": (None, lambda i: sl.info(FMT, i, NAME, PI)),
    }
    return cases, fh, sl


def run(shmlog, args, work, segdir):
    cases, fh, sl = make_cases(shmlog, work, segdir)
    runs = {case: {"file": [], "shmlog": []} for case in cases}
    logged = 0
    for _ in range(args.runs):
        for case, (file_fn, shm_fn) in cases.items():
            if file_fn:
                runs[case]["file"].append(timed(file_fn, args.n))
            runs[case]["shmlog"].append(timed(shm_fn, args.n))
            logged += args.n + args.n // 10
            sl.flush(60000)  # the next case starts with the collector idle
    fh.close()
    return runs, sl, logged


def report(runs, stats, logged, lines):
    out = {"n_records_checked": logged, "collector_lines": lines, "lost": stats["lost"], "cases": {}}
    print("%-7s %14s %14s %8s   runs (ns per call)" % ("case", "FileHandler", "shmlog", "ratio"))
    for case, r in runs.items():
        mf = statistics.median(r["file"]) if r["file"] else None
        ms = statistics.median(r["shmlog"])
        ratio = mf / ms if mf else None
        out["cases"][case] = {"file_ns": mf, "shmlog_ns": ms, "ratio": ratio, "runs": r}
        print("%-7s %14s %14.0f %8s   file %s / shmlog %s" % (
            case, "%.0f" % mf if mf else "-", ms, "%.1fx" % ratio if ratio else "-",
            " ".join("%.0f" % v for v in r["file"]) or "-", " ".join("%.0f" % v for v in r["shmlog"])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="a build directory with shmlog-collector and python/")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--collector-cpu", type=int, default=None)
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args()
    if args.runs < 1 or args.n < 10:
        ap.error("--runs >= 1 and --n >= 10")
    sys.path.insert(0, os.path.join(os.path.abspath(args.build), "python"))
    import shmlog
    work = tempfile.mkdtemp(prefix="shmlog-bench-py.")
    segdir = tempfile.mkdtemp(prefix="shmlog-bench-py.", dir="/dev/shm")
    proc = start_collector(args.build, segdir, work, args.collector_cpu)
    try:
        runs, sl, logged = run(shmlog, args, work, segdir)
        stats = sl.stats()
        sl.close()
    finally:
        proc.terminate()
        rc = proc.wait(60)
    with open(os.path.join(work, "shmlog.log")) as f:
        lines = sum(1 for line in f if "value=" in line)
    shutil.rmtree(work)
    shutil.rmtree(segdir, ignore_errors=True)
    out = report(runs, stats, logged, lines)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    if rc != 0 or lines != logged or stats["lost"]:
        print("bench_python.py: collector exit %d, %d of %d records written, %d lost" % (rc, lines, logged,
              stats["lost"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
