"""Build the shmlog module with pip from the source tree, libshmlog compiled in:

    pip install --no-build-isolation ./python

(--no-build-isolation: Debian's python3-setuptools builds it, nothing is
downloaded). The module's C sources are python/shmlog/*.c; libshmlog's are
producer/ and shared/ of the same tree. meson builds the same module against
the shared libshmlog instead (python/meson.build)."""
import glob
import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# libshmlog's sources: meson.build's libshmlog and the shmlog_shared library it
# links whole (not shared/encfile.c, the collector's, which needs libsodium)
LIBSHMLOG = ["producer/shmlog.c", "producer/create.c", "producer/log.c", "producer/crash.c", "producer/site.c"] + [
    "shared/" + f for f in ("fmt.c", "fmt_parse.c", "escape.c", "record.c", "text.c", "segment.c", "clock.c",
                            "reader.c", "binlog.c", "binlog_cycle.c")]

ext = Extension(
    "shmlog._shmlog",
    sources=sorted(glob.glob(os.path.join(HERE, "shmlog", "*.c"))) + [os.path.join(ROOT, p) for p in LIBSHMLOG],
    include_dirs=[ROOT, os.path.join(ROOT, "producer")],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden", "-Wno-missing-field-initializers"],
    # only PyInit__shmlog: the libshmlog compiled in must not interpose on (or
    # be interposed by) another copy of libshmlog in the process
    extra_link_args=["-Wl,--version-script=" + os.path.join(HERE, "shmlog", "_shmlog.map")],
    libraries=["pthread", "m", "dl"],
)

setup(name="shmlog", version="0.5.0", description="shared-memory logging (libshmlog) for Python",
      packages=["shmlog"], ext_modules=[ext], python_requires=">=3.9")
