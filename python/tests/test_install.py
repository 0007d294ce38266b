"""The module installed into a virtual environment with pip (setup.py, Debian's
setuptools, nothing downloaded), then used from it through the collector."""
import os
import shutil
import subprocess
import sys

from conftest import ROOT

SCRIPT = r'''
import logging, sys, shmlog
assert shmlog.__file__.startswith(sys.prefix), shmlog.__file__
lg = shmlog.Logger(name="venv", dir=sys.argv[1])
logging.getLogger().addHandler(shmlog.Handler(logger=lg))
logging.warning("from the venv: %s %d", "pip", 1)
lg.flush(10000)
'''


def test_pip_install_into_a_venv(collector, tmp_path):
    # a copy of the sources: pip builds in the tree it is given
    src = tmp_path / "src"
    for d in ("python", "producer", "shared"):
        shutil.copytree(os.path.join(ROOT, d), src / d, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    venv = tmp_path / "venv"
    # --system-site-packages: Debian's setuptools and wheel build it
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pip = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "-q", str(src / "python")],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([py, "-c", SCRIPT, collector.dir], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    r = collector.records(1)[0]
    assert (r["name"], r["level"], r["msg"]) == ("venv", "WARN", "from the venv: pip 1")


def test_the_readme_example_logs_through_a_collector(collector, tmp_path):
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    example = readme.split("## Logging from Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(example.strip().splitlines()) <= 10
    env = dict(os.environ, SHMLOG_DIR=collector.dir)
    run = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    recs = collector.records(2)
    assert [(r["name"], r["level"], r["msg"]) for r in recs] == [
        ("trader", "INFO", "order 42 filled at 101.25 on XNAS"), ("trader", "WARN", "limit EUR at 91%")]
    assert recs[0]["fields"] == {"qty": 100} and recs[1]["fields"] == {"logger": "risk", "desk": "fx"}
