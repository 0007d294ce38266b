"""Fixtures for the shmlog Python tests: a real shmlog-collector on a fresh
segment directory, writing JSON lines to a file the tests read back.

The build directory is $SHMLOG_BUILD_DIR (./dev test sets it), else build/
next to python/; the module is imported from its python/ (PYTHONPATH)."""
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SHMLOG_BUILD_DIR") or os.path.join(ROOT, "build")
COLLECTOR = os.path.join(BUILD, "shmlog-collector")


def wait_until(pred, timeout=10.0, what="condition"):
    """Poll pred() until it is true or timeout seconds pass (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.01)


def die_with_parent():
    """In the collector's child, before exec: SIGTERM it when the test process dies (a crash included)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Collector:
    def __init__(self, segdir, work):
        self.dir = segdir
        self.out = os.path.join(work, "out.json")
        cfg = os.path.join(work, "c.cfg")
        with open(cfg, "w") as f:
            f.write('writers = ( { type = "file"; path = "%s"; format = "json"; } );\n' % self.out)
        self.err = open(os.path.join(work, "err.txt"), "w+")
        # ready once it says READY=1 on $NOTIFY_SOCKET (systemd's protocol): set up, SIGTERM handled
        sock_path = os.path.join(work, "notify.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(sock_path)
            sock.settimeout(10)
            env = dict(os.environ, NOTIFY_SOCKET=sock_path)
            self.proc = subprocess.Popen([COLLECTOR, "--dir", segdir, "--config", cfg], stderr=self.err, env=env,
                                         preexec_fn=die_with_parent)
            while b"READY=1" not in sock.recv(4096):
                pass

    def records(self, n=None, timeout=10.0):
        """The JSON records written so far; with n, wait until there are at least n."""
        def read():
            try:
                with open(self.out) as f:
                    recs = [json.loads(line) for line in f if line.endswith("\n")]
            except FileNotFoundError:
                recs = []
            return recs if n is None or len(recs) >= n else None
        return read() if n is None else wait_until(read, timeout, "%d records in %s" % (n, self.out))

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(30)
        self.err.seek(0)
        return rc, self.err.read()


@pytest.fixture
def collector(tmp_path):
    segdir = tempfile.mkdtemp(prefix="shmlog-py.", dir="/dev/shm")
    c = Collector(segdir, str(tmp_path))
    yield c
    rc, err = c.stop()
    shutil.rmtree(segdir, ignore_errors=True)
    assert rc == 0, err


@pytest.fixture
def logger(collector):
    import shmlog
    lg = shmlog.Logger(name="pytest", dir=collector.dir, level=shmlog.TRACE)
    yield lg
    if not lg.closed:
        lg.close()
