#!/usr/bin/env bash
# make_seeds.sh BUILD_DIR — make again the seeds of tests/fuzz/corpus/ that
# come from real programs (docs/fuzzing.md):
#   segment/  real segments of a real producer, compacted (seed_segments.c),
#             two of them followed by how the harness reads them
#   binlog/   real binary logs: the collector's binary writer draining the
#             same producer's segments, and seed_prog's records
#   config/   every config in docs/ and examples/ (the configs' own code
#             blocks), each followed by a few records to route
# The fmt/ and syslog/ seeds and config/every-key.conf are written by hand
# (each file: what it holds is in docs/fuzzing.md) and left as they are.
set -euo pipefail
cd "$(dirname "$0")"
B=$(cd "../../$1" && pwd)
work=$(mktemp -d /dev/shm/shmlog-seeds.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p corpus/segment corpus/binlog
"$B/tests/fuzz/seed_segments" "$work" corpus/segment

# segments read another way: the bytes past a segment are fuzz_segment's take_how()
python3 - <<'PY'
import struct
def how(name, src, flags, max_records, now_ns=0, window_ns=0):
    b = open('corpus/segment/%s.shm' % src, 'rb').read()
    size = struct.unpack_from('<Q', b, 32)[0]
    b += bytes(size - len(b)) + bytes([flags]) + struct.pack('<HQI', max_records, now_ns, window_ns)
    open('corpus/segment/%s.shm' % name, 'wb').write(b)
how('threads-one-record-a-cycle-drop', 'threads', 1, 1)
how('kinds-alive-in-a-window', 'kinds', 2, 4, 2**63, 10**9)
PY

# binary logs: a collector drains each producer's directory into one file
binlog() { # binlog NAME DIR: the collector's binary log of what DIR holds
	printf 'writers = ( { type = "binary"; path = "%s/%s.bin"; } );\n' "$work" "$1" >"$work/$1.cfg"
	"$B/shmlog-collector" --dir "$2" --config "$work/$1.cfg" 2>/dev/null &
	local c=$!
	sleep 1.5
	kill -TERM $c
	wait $c || true
	cp "$work/$1.bin" "corpus/binlog/$1.bin"
}
for d in "$work"/*/; do
	binlog "$(basename "$d")" "$d"
done
mkdir -p "$work/seed"
(
	"$B/tests/seed_prog" "$work/seed"
	"$B/tests/seed_prog" "$work/seed" fields
	"$B/tests/seed_prog" "$work/seed" syslog
)
binlog seed "$work/seed"

# configs: each code block of docs/ and examples/ with a routes, writers,
# default or collector key, then records for fuzz_config to route
python3 - <<'PY'
import glob, os, re, struct
blocks = []
for path in sorted(glob.glob('../../docs/*.md')) + ['../../README.md']:
    text = open(path).read()
    for i, m in enumerate(re.finditer(r'```[a-z]*\n(.*?)```', text, re.S)):
        b = m.group(1)
        if re.search(r'^\s*(writers|routes|default|collector)\s*[=:]', b, re.M) and ';' in b:
            blocks.append((os.path.basename(path)[:-3] + '-%d' % i, b))
for f in ['../../examples/routing.conf', '../../collector/dist/collector.conf']:
    blocks.append((os.path.basename(f)[:-5], open(f).read()))
def s(b): return bytes([len(b)]) + b
def rec(level, name, msg, fields=()):  # fuzz_config.c's next_record()
    r = bytes([level]) + s(name) + s(msg) + bytes([len(fields)])
    for k, t, v in fields:
        r += s(k) + bytes([t - 1]) + (s(v) if t == 5 else struct.pack('<Q', v))
    return r
records = (rec(5, b'app', b'user login failed', [(b'user', 5, b'root'), (b'id', 1, 12345)]) +
           rec(3, b'db', b'permission denied on access', [(b'ok', 4, 1)]) +
           rec(6, b'kernel', b'critical failure', [(b'px', 3, 0x3ff8000000000000)]) +
           rec(1, b'trace', b'a trace message'))
for name, b in blocks:
    open('corpus/config/%s.conf' % name, 'wb').write(b.encode() + b'\0' + records)
PY
ls -l corpus/segment corpus/binlog corpus/config
