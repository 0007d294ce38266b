#!/usr/bin/env bash
# bench/run.sh — shmlog against its peers, on one harness (bench/bench.h).
#
#   bench/run.sh                   everything: latency (burst, flood, cold), throughput,
#                                  end to end (routing included), idle CPU, instructions
#                                  per call, the collector's instructions per record
#   bench/run.sh --quick           the same with smaller counts and one run (a smoke test)
#   bench/run.sh --instructions    only the instructions per call (callgrind)
#   bench/run.sh --routing         only the routing case: one thread through a three-writer
#                                  routing config (two files, the console sent to a file),
#                                  each run paired with the single-file `threads 1` case;
#                                  target: routing rate >= 0.8x single file (median of runs)
#   bench/run.sh --syslog          only the syslog cases: one thread to a syslog writer (TCP, then
#                                  TLS, then RELP) to a local receiver that reads and discards,
#                                  each run paired with the single-file `threads 1` case;
#                                  target: syslog rate >= 0.7x single file (median of runs)
#   bench/run.sh --collector-instructions
#                                  only the collector's instructions per message-1 record
#                                  written as text to one file (callgrind on --once over a
#                                  segment of N records: N=200000 minus N=100000); target <= 1000
#   bench/run.sh --scaling         only the scaling case: 1, 4, 16 and 64 producer processes
#                                  (message 1, block policy), each against the 1 of its run;
#                                  targets: 16 >= 0.8x and 64 >= 0.7x of 1 (median of runs);
#                                  and one thread of each message (m1, mixed8, str200) into a text file
#   bench/run.sh --binary          only the binary case: one thread into a binary writer
#                                  (type = "binary"), each run paired with the text-file
#                                  `threads 1` case; targets: rate >= 3x text, collector CPU
#                                  per record <= 0.2x text (medians of the per-run ratios)
#   bench/run.sh --encrypt         only the encrypted case: one thread into a text file writer with
#                                  encrypt (xchacha20poly1305), each run paired with the text-file
#                                  `threads 1` case; target: rate >= 0.8x text (median of runs)
#   bench/run.sh --encrypt-algorithm ALG
#                                  the encrypted case with ALG (xchacha20poly1305 or aes256gcm)
#   bench/run.sh --render          only the render-threads case: one thread into the text file
#                                  writer with collector.threads = 2, the collector allowed both
#                                  CPUs, each run paired with the `threads 1` case (threads = 1,
#                                  the collector on its one CPU); shows that a second thread
#                                  does not slow a 2-core machine down (rate and CPU ratios); and
#                                  threads = 1 on both CPUs, for what leaving its CPU costs by itself
#   bench/run.sh --python          only the Python case (bench/bench_python.py): shmlog.Handler against
#                                  logging.FileHandler for the same record, handle() alone and
#                                  logger.info() through logging, and shmlog.Logger.info;
#                                  target: handle() >= 5x cheaper (median of runs);
#                                  writes bench/results/python.json
#   bench/run.sh --no-instructions everything but the instruction counts (both callgrind parts)
#   bench/run.sh --runs N          repeat each latency / end-to-end / routing / collector case N
#                                  times (default 3)
#   (--instructions, --routing, --syslog, --collector-instructions, --scaling, --binary, --encrypt,
#   --render and --python combine: each adds its part)
#   Whenever an end-to-end case with files runs (the full run, --routing, --binary, --encrypt),
#   bench/iofloor.c also measures the kernel's CPU per byte appended to the same file system, and
#   the report's "I/O floor" table turns it into bounds on those cases' ratios (report_io.py); with the
#   encrypted case, bench/sealfloor.c measures sealing's CPU per byte too (the encrypted ratio's bound).
#
# Installs what it needs from Debian (root or sudo), builds shmlog in release
# mode into build-release/ and the bench programs into build-release/bench/,
# runs, prints one table, and writes bench/results/latest.json (medians, ratios,
# targets, every raw run), bench/results/latency.png and the line-level callgrind
# annotations (callgrind-shmlog-m1.txt: a producer call; callgrind-collector-m1.txt:
# the collector's records). The measuring thread runs on CPU 0; loggers'
# background threads, shmlog-collector and LTTng's daemons on CPU 1. Every
# process runs under `timeout`; a trap stops the collector, the LTTng session and
# the session daemon we started, and removes the scratch directory, also on
# failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARGS="$*"
BENCH=$ROOT/bench
RESULTS=$BENCH/results

RUNS=3 N=1000000 COLD_N=20000 WARMUP=100000 E2E_N=2000000 DELIVERY_S=5 IDLE_S=5 QUICK=0
DO_LATENCY=1 DO_INSTR=1 DO_ROUTING=1 DO_SYSLOG=1 DO_CINSTR=1 DO_SCALING=1 DO_BINARY=1 DO_ENCRYPT=1 DO_PYTHON=1 DO_RENDER=1 ONLY="" ENCRYPT_ALG=xchacha20poly1305
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 RUNS=1 N=100000 COLD_N=5000 WARMUP=10000 E2E_N=400000 DELIVERY_S=2 IDLE_S=2 ;;
	--instructions | --routing | --syslog | --collector-instructions | --scaling | --binary | --encrypt | --python | --render) ONLY+=" $1" ;;
	--no-instructions) DO_INSTR=0 DO_CINSTR=0 ;;
	--encrypt-algorithm) ENCRYPT_ALG=${2:?--encrypt-algorithm needs a name}; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift ;;
	-h | --help) sed -n '2,53p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$ONLY" ]; then # only the parts asked for
	DO_LATENCY=0 DO_INSTR=0 DO_ROUTING=0 DO_SYSLOG=0 DO_CINSTR=0 DO_SCALING=0 DO_BINARY=0 DO_ENCRYPT=0 DO_PYTHON=0 DO_RENDER=0
	case "$ONLY " in *" --python "*) DO_PYTHON=1 ;; esac
	case "$ONLY " in *" --render "*) DO_RENDER=1 ;; esac
	case "$ONLY " in *" --binary "*) DO_BINARY=1 ;; esac
	case "$ONLY " in *" --encrypt "*) DO_ENCRYPT=1 ;; esac
	case "$ONLY " in *" --instructions "*) DO_INSTR=1 ;; esac
	case "$ONLY " in *" --scaling "*) DO_SCALING=1 ;; esac
	case "$ONLY " in *" --routing "*) DO_ROUTING=1 ;; esac
	case "$ONLY " in *" --syslog "*) DO_SYSLOG=1 ;; esac
	case "$ONLY " in *" --collector-instructions "*) DO_CINSTR=1 ;; esac
fi

CPU=0 BG=1
if [ "$(nproc)" -lt 2 ]; then BG=0; fi
PACKAGES=(gcc g++ make meson ninja-build pkg-config liburing-dev libsodium-dev libconfig-dev
	libpcre2-dev libspdlog-dev libfmt-dev liblttng-ust-dev lttng-tools gnuplot-nox valgrind python3 python3-dev util-linux procps)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf 'run.sh: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

deps() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		as_root apt-get update -qq
		DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

build() {
	if [ ! -f build-release/build.ninja ]; then
		say "configuring build-release (release with link-time optimisation, no tests)"
		meson setup build-release --buildtype=release -Db_lto=true -Dtests=false >/dev/null
	else # one made before link-time optimisation was the bench's
		meson configure build-release -Db_lto=true >/dev/null
	fi
	say "building shmlog (build-release) and the bench programs (build-release/bench)"
	ninja -C build-release >/dev/null
	make -s -C bench SHMLOG_BUILD="$ROOT/build-release" OUT="$ROOT/build-release/bench" >/dev/null
}

# ---- scratch space, cleanup ----
TMP=""
COLLECTOR_PID=""
LTTNG_SESSION=""
SESSIOND_PID=""
cleanup() {
	local rc=$?
	set +e
	stop_collector
	if [ -n "$LTTNG_SESSION" ]; then timeout 20 lttng destroy "$LTTNG_SESSION" >/dev/null 2>&1; fi
	if [ -n "$SESSIOND_PID" ] && kill -0 "$SESSIOND_PID" 2>/dev/null; then
		kill -TERM "$SESSIOND_PID"
		for _ in $(seq 100); do kill -0 "$SESSIOND_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$SESSIOND_PID" 2>/dev/null && kill -KILL "$SESSIOND_PID"
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_tmp() {
	local base=/dev/shm
	# log files are written to tmpfs (the same for every contender): the bench measures loggers, not the disk
	[ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2{print $4}')" -gt 4000000 ] || base=${TMPDIR:-/tmp}
	TMP=$(mktemp -d "$base/shmlog-bench.XXXXXX")
	mkdir -p "$TMP/seg" "$RESULTS"
	export SHMLOG_DIR=$TMP/seg
	cat >"$TMP/collector.conf" <<-EOF
		# one file writer, text format, every other setting at its default
		collector: { dir = "$TMP/seg"; };
		writers = ( { type = "file"; name = "bench"; path = "$TMP/shmlog.log"; format = "text"; } );
	EOF
}

# ---- this VM's free page reporting ----
# Pages a case frees go back to the host within seconds (virtio-balloon free page reporting), and the
# next case that writes as much to tmpfs has the host fault every page in again: 1 GiB written with dd
# costs 1.2 to 2 s cold against 0.35 s warm, and one 2 M-record str200 run gave 2.5 M/s cold against
# 6.1 M/s warm. Which case came after a big free decided it. So every case that writes files starts
# right after WARM_MB of pages were written to $TMP's file system and freed again (bench/README.md,
# "How it measures", warm pages).
WARM_MB=1024
warm_pages() {
	dd if=/dev/zero of="$TMP/warm" bs=1M count="$WARM_MB" status=none 2>/dev/null || true
	rm -f "$TMP/warm"
}

# ---- the shmlog collector ----
start_collector() { # [CONFIG FILE_IT_CREATES STDOUT CPUS]: default the one-file-writer config on $BG
	local conf=${1:-$TMP/collector.conf} made=${2:-$TMP/shmlog.log} out=${3:-$TMP/collector.out}
	rm -f "$made"
	warm_pages
	# taskset execs the collector, so $! is the collector's own pid (its CPU time is read from /proc)
	taskset -c "${4:-$BG}" "$ROOT/build-release/shmlog-collector" --config "$conf" \
		>>"$out" 2>>"$TMP/collector.out" &
	COLLECTOR_PID=$!
	local i
	for i in $(seq 100); do [ -f "$made" ] && return 0; sleep 0.05; done
	warn "shmlog-collector did not create $made within 5 s: $(tail -3 "$TMP/collector.out")"
	return 1
}

stop_collector() { # SIGTERM drains and exits; bounded, then SIGKILL
	[ -n "$COLLECTOR_PID" ] || return 0
	local pid=$COLLECTOR_PID i
	COLLECTOR_PID=""
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		warn "shmlog-collector did not exit within 10 s of SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$TMP"/seg/* 2>/dev/null || true
}

# ---- LTTng ----
LTTNG_OK=0 LTTNG_WHY=""
lttng_setup() {
	if ! command -v lttng-sessiond >/dev/null; then LTTNG_WHY="lttng-sessiond not installed"; return; fi
	if pgrep -x lttng-sessiond >/dev/null; then
		warn "an lttng-sessiond is already running (not ours): using it and leaving it running"
	else
		local out
		if ! out=$(taskset -c "$BG" timeout 30 lttng-sessiond --daemonize 2>&1); then
			LTTNG_WHY="lttng-sessiond --daemonize failed: $(tail -1 <<<"$out")"
			return
		fi
		local rundir=/var/run/lttng
		[ "$(id -u)" -eq 0 ] || rundir=$HOME/.lttng
		SESSIOND_PID=$(cat "$rundir/lttng-sessiond.pid" 2>/dev/null || pgrep -xo lttng-sessiond || true)
	fi
	if ! timeout 20 lttng list -u >/dev/null 2>&1; then LTTNG_WHY="lttng list -u fails: the session daemon does not answer"; return; fi
	LTTNG_OK=1
}

lttng_session_start() { # NAME OUTDIR
	LTTNG_SESSION=$1
	timeout 20 lttng create "$1" --output="$2" >/dev/null &&
		timeout 20 lttng enable-channel -u ch0 -s "$1" --blocking-timeout=inf >/dev/null &&
		timeout 20 lttng enable-event -u 'bench:*' -c ch0 -s "$1" --loglevel=TRACE_INFO >/dev/null &&
		timeout 20 lttng start "$1" >/dev/null
}

LTTNG_DISCARDED=0
lttng_session_end() { # sets LTTNG_DISCARDED
	local d
	d=$(timeout 20 lttng list "$LTTNG_SESSION" 2>/dev/null | awk -F: '/Discarded events/{gsub(/ /,"",$2); s+=$2} END{print s+0}')
	timeout 30 lttng destroy "$LTTNG_SESSION" >/dev/null 2>&1 || warn "lttng destroy $LTTNG_SESSION failed"
	LTTNG_SESSION=""
	LTTNG_DISCARDED=${d:-0}
}

# ---- one contender, one message: burst, flood, throughput in one process ----
FAILURES=()
run_case() { # CONTENDER MSG RUN
	local c=$1 msg=$2 run=$3 out="" rc=0 bin=$ROOT/build-release/bench/bench_$1
	[ "$c" = empty ] && bin=$ROOT/build-release/bench/bench_fprintf
	local modes=burst,flood
	# cold calls (each after a cache sweep and a system call) for message 1 and the timer;
	# throughput comes last: its final flush is `lttng stop` for LTTng
	case "$msg" in m1 | empty) modes+=,cold ;; esac
	modes+=,throughput
	local args=(--msg "$msg" --modes "$modes" --n "$N" --cold-n "$COLD_N" --warmup "$WARMUP" --run "$run"
		--cpu "$CPU" --bg-cpu "$BG")
	case "$c" in
	shmlog) start_collector || { FAILURES+=("$c/$msg/run$run: collector"); return; }
		out=$TMP/shmlog.log ;;
	spdlog | fprintf) out=$TMP/$c.log; warm_pages ;;
	lttng) warm_pages
		lttng_session_start "shmlog-bench-$$-$msg-$run" "$TMP/lttng-trace" ||
		{ FAILURES+=("lttng/$msg/run$run: session setup"); lttng_session_end; return; } ;;
	esac
	[ -n "$out" ] && args+=(--out "$out")
	LTTNG_UST_ALLOW_BLOCKING=1 BENCH_LTTNG_SESSION=$LTTNG_SESSION \
		taskset -c "$BG" timeout --kill-after=10 900 "$bin" "${args[@]}" \
		>"$TMP/case.json" 2>"$TMP/case.err" || rc=$?
	if [ "$c" = empty ]; then sed -i 's/"contender":"fprintf"/"contender":"empty"/' "$TMP/case.json"; fi
	cat "$TMP/case.json" >>"$TMP/raw.jsonl"
	case "$c" in
	shmlog) stop_collector ;;
	lttng) lttng_session_end
		printf '{"contender":"lttng","msg":"%s","run":%s,"lttng_discarded":%s}\n' "$msg" "$run" \
			"$LTTNG_DISCARDED" >>"$TMP/raw.jsonl"
		rm -rf "$TMP/lttng-trace" ;;
	esac
	rm -f "$TMP/spdlog.log" "$TMP/fprintf.log"
	if [ $rc -ne 0 ]; then
		FAILURES+=("$c/$msg/run$run: exit $rc: $(tail -2 "$TMP/case.err" | tr '\n' ' ')")
		warn "$c $msg run $run: exit $rc"; cat "$TMP/case.err" >&2
	fi
}

latency() {
	local run msg c contenders=(shmlog spdlog lttng fprintf)
	[ $LTTNG_OK -eq 1 ] || contenders=(shmlog spdlog fprintf)
	for run in $(seq "$RUNS"); do
		say "latency and throughput, run $run of $RUNS ($N calls after $WARMUP warm-up, per contender and message)"
		run_case empty empty "$run"
		run_case floor m1 "$run"
		for msg in m1 const mixed8 str200 below; do
			for c in "${contenders[@]}"; do
				printf '  %-8s %-7s\n' "$c" "$msg" >&2
				run_case "$c" "$msg" "$run"
			done
		done
	done
}

# ---- shmlog end to end (one fresh collector per scenario) ----
e2e_case() { # SCENARIO ARGS...
	local rc=0
	start_collector || { FAILURES+=("e2e $*: collector"); return; }
	timeout --kill-after=10 600 "$ROOT/build-release/bench/bench_e2e" "$@" --out "$TMP/shmlog.log" \
		--collector-pid "$COLLECTOR_PID" --cpu "$CPU" --bg-cpu "$BG" >>"$TMP/e2e.jsonl" 2>"$TMP/case.err" || rc=$?
	stop_collector
	if [ $rc -ne 0 ]; then FAILURES+=("e2e $*: exit $rc: $(tail -2 "$TMP/case.err" | tr '\n' ' ')"); fi
}

# ---- routing end to end: three writers against the single file writer, same run ----
# Every record is message 1 at ERROR (route 1: errors + console); every 4th has
# name=login and also matches route 2's regex (security), so the collector writes
# 2.25 lines per record: to errors.log, security.log and its stdout (console.out).
routing_config() {
	cat >"$TMP/routing.conf" <<-EOF
		# the routing case: two files and the console writer (the collector's stdout, sent to a file)
		collector: { dir = "$TMP/seg"; };
		writers = (
		  { name = "console";  type = "console"; },
		  { name = "errors";   type = "file"; path = "$TMP/errors.log"; },
		  { name = "security"; type = "file"; path = "$TMP/security.log"; }
		);
		routes = (
		  { level = ["ERROR", "CRITICAL"]; to = ["errors", "console"]; },
		  { message = "(login|logout|permission|access)"; to = ["security"]; stop = true; }
		);
		default = ["console"];
	EOF
}

routing_case() { # RUN
	local rc=0
	[ -f "$TMP/routing.conf" ] || routing_config
	rm -f "$TMP/errors.log" "$TMP/security.log" "$TMP/console.out"
	start_collector "$TMP/routing.conf" "$TMP/security.log" "$TMP/console.out" ||
		{ FAILURES+=("routing run $1: collector"); return; }
	timeout --kill-after=10 600 "$ROOT/build-release/bench/bench_e2e" routing --n "$E2E_N" --security-every 4 \
		--errors "$TMP/errors.log" --security "$TMP/security.log" --console "$TMP/console.out" \
		--collector-pid "$COLLECTOR_PID" --cpu "$CPU" --bg-cpu "$BG" --run "$1" \
		>>"$TMP/e2e.jsonl" 2>"$TMP/case.err" || rc=$?
	stop_collector
	rm -f "$TMP/errors.log" "$TMP/security.log" "$TMP/console.out"
	if [ $rc -ne 0 ]; then FAILURES+=("routing run $1: exit $rc: $(tail -2 "$TMP/case.err" | tr '\n' ' ')"); fi
}

# A case (routing_case, syslog_case, binary_case, encrypt_case) and its reference, the single text file writer
# (`threads 1`), back to back; which comes first alternates from run to run so that a
# drift in the machine's load does not always favour the same one. report.py pairs them by run.
pair_with_text() { # CASE RUN
	if [ $(($2 % 2)) -eq 1 ]; then
		e2e_case threads --threads 1 --n "$E2E_N" --run "$2"
		"$1" "$2"
	else
		"$1" "$2"
		e2e_case threads --threads 1 --n "$E2E_N" --run "$2"
	fi
}

routing_pair() { pair_with_text routing_case "$1"; }
# the text-formatting reference: the same messages through snprintf alone, no I/O (bench_e2e snprintf)
snprintf_case() { # RUN
	timeout 120 "$ROOT/build-release/bench/bench_e2e" snprintf --n "$E2E_N" --bg-cpu "$BG" --run "$1" \
		>>"$TMP/e2e.jsonl" 2>"$TMP/case.err" || FAILURES+=("snprintf run $1: $(tail -2 "$TMP/case.err" | tr '\n' ' ')")
}

# Every run of CASE paired with the single text file writer of the same run, and then EXTRA.
paired_runs() { # CASE WHAT [EXTRA]
	local run
	for run in $(seq "$RUNS"); do
		say "$2 end to end against the single file writer, run $run of $RUNS ($E2E_N records each)"
		pair_with_text "$1" "$run"
		[ -z "${3:-}" ] || "$3" "$run"
	done
}

routing() { paired_runs routing_case routing snprintf_case; }

# ---- syslog end to end: the syslog writer over TCP, TLS and RELP against the single file writer, same run ----
# The collector's one syslog writer sends octet-counted RFC 5424 frames to bench_e2e's own
# receiver on 127.0.0.1, which reads and discards them (counting frames); over TLS the
# receiver holds a self-signed certificate for 127.0.0.1 that the writer checks (ca_file). A
# file writer that takes nothing (min_level OFF) only tells start_collector that the collector is up.
syslog_config() { # PORT TRANSPORT [MORE KEYS]
	cat >"$TMP/syslog.conf" <<-EOF
		collector: { dir = "$TMP/seg"; };
		writers = (
		  { name = "central"; type = "syslog"; transport = "$2"; host = "127.0.0.1"; port = $1; ${3:-} },
		  { name = "started"; type = "file"; path = "$TMP/syslog-started"; min_level = "OFF"; }
		);
	EOF
}

syslog_case() { # RUN [tls | relp]
	local rc=0 port tls=()
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	if [ "${2:-}" = tls ]; then
		tls=(--tls "$TMP/tls")
		syslog_config "$port" tls "tls = { ca_file = \"$TMP/tls/cert.pem\"; };"
	elif [ "${2:-}" = relp ]; then
		tls=(--relp on)
		syslog_config "$port" relp
	else
		syslog_config "$port" tcp
	fi
	start_collector "$TMP/syslog.conf" "$TMP/syslog-started" || { FAILURES+=("syslog ${2:-tcp} run $1: collector"); return; }
	timeout --kill-after=10 600 "$ROOT/build-release/bench/bench_e2e" syslog --port "$port" "${tls[@]}" --n "$E2E_N" \
		--collector-pid "$COLLECTOR_PID" --cpu "$CPU" --bg-cpu "$BG" --run "$1" \
		>>"$TMP/e2e.jsonl" 2>"$TMP/case.err" || rc=$?
	stop_collector
	if [ $rc -ne 0 ]; then FAILURES+=("syslog ${2:-tcp} run $1: exit $rc: $(tail -2 "$TMP/case.err" | tr '\n' ' ')"); fi
}

# The receiver's certificate for the TLS case, made once per bench run.
syslog_tls_case() { # RUN
	if [ ! -f "$TMP/tls/cert.pem" ]; then
		mkdir -p "$TMP/tls"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=127.0.0.1" \
			-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" 2>/dev/null ||
			{ FAILURES+=("syslog tls: openssl could not make the certificate"); return; }
	fi
	syslog_case "$1" tls
}

# TLS, then RELP (a librelp server of bench_e2e's that acknowledges and discards), after each TCP pair.
syslog_more_cases() { # RUN
	syslog_tls_case "$1"
	syslog_case "$1" relp
}

syslog_runs() { paired_runs syslog_case "syslog (TCP, then TLS and RELP)" syslog_more_cases; }

# ---- binary log end to end: one thread into a binary writer against the text file writer ----
binary_case() { # RUN
	local rc=0
	cat >"$TMP/binary.conf" <<-EOF
		# the binary case: one binary writer, every other setting at its default
		collector: { dir = "$TMP/seg"; };
		writers = ( { type = "binary"; name = "bench"; path = "$TMP/shmlog.bin"; } );
	EOF
	start_collector "$TMP/binary.conf" "$TMP/shmlog.bin" || { FAILURES+=("binary run $1: collector"); return; }
	timeout --kill-after=10 600 "$ROOT/build-release/bench/bench_e2e" threads --threads 1 --n "$E2E_N" \
		--format binary --out "$TMP/shmlog.bin" --collector-pid "$COLLECTOR_PID" --cpu "$CPU" --bg-cpu "$BG" \
		--run "$1" >>"$TMP/e2e.jsonl" 2>"$TMP/case.err" || rc=$?
	stop_collector
	rm -f "$TMP/shmlog.bin"
	if [ $rc -ne 0 ]; then FAILURES+=("binary run $1: exit $rc: $(tail -2 "$TMP/case.err" | tr '\n' ' ')"); fi
}

binary() { paired_runs binary_case "binary log"; }

# ---- render threads: the text file writer with collector.threads = 2, the collector on both CPUs ----
# beside it, threads = 1 with the collector on both CPUs too: what leaving its CPU costs by itself
render_one() { # THREADS RUN
	local rc=0
	cat >"$TMP/render.conf" <<-EOF
		# the render case: collector.conf's text file writer, rendered on $1 thread(s), the collector on both CPUs
		collector: { dir = "$TMP/seg"; threads = $1; };
		writers = ( { type = "file"; name = "bench"; path = "$TMP/shmlog.log"; } );
	EOF
	start_collector "$TMP/render.conf" "$TMP/shmlog.log" "" "$CPU,$BG" || { FAILURES+=("render $1 run $2: collector"); return; }
	timeout --kill-after=10 600 "$ROOT/build-release/bench/bench_e2e" threads --threads 1 --n "$E2E_N" \
		--out "$TMP/shmlog.log" --collector-pid "$COLLECTOR_PID" --cpu "$CPU" --bg-cpu "$BG" \
		--scenario "render$1" --run "$2" >>"$TMP/e2e.jsonl" 2>"$TMP/case.err" || rc=$?
	stop_collector
	rm -f "$TMP/shmlog.log"
	if [ $rc -ne 0 ]; then FAILURES+=("render $1 run $2: exit $rc: $(tail -2 "$TMP/case.err" | tr '\n' ' ')"); fi
}

render_case() { # RUN
	render_one 1 "$1"
	render_one 2 "$1"
}

render() { paired_runs render_case "render threads (collector.threads = 2)"; }

# ---- encrypted text file end to end: the text file writer with encrypt against the plain one ----
encrypt_case() { # RUN
	local rc=0 key=$TMP/bench.key
	[ -f "$key" ] || "$ROOT/build-release/shmlog" keygen "$key" >/dev/null
	cat >"$TMP/encrypt.conf" <<-EOF
		# the encrypted case: the text file writer of collector.conf, encrypted
		collector: { dir = "$TMP/seg"; };
		writers = ( { type = "file"; name = "bench"; path = "$TMP/shmlog.log.enc"; format = "text";
		              encrypt = { key_file = "$key"; algorithm = "$ENCRYPT_ALG"; }; } );
	EOF
	start_collector "$TMP/encrypt.conf" "$TMP/shmlog.log.enc" || { FAILURES+=("encrypt run $1: collector"); return; }
	timeout --kill-after=10 600 "$ROOT/build-release/bench/bench_e2e" threads --threads 1 --n "$E2E_N" \
		--key "$key" --out "$TMP/shmlog.log.enc" --collector-pid "$COLLECTOR_PID" --cpu "$CPU" --bg-cpu "$BG" \
		--run "$1" >>"$TMP/e2e.jsonl" 2>"$TMP/case.err" || rc=$?
	stop_collector
	rm -f "$TMP/shmlog.log.enc"
	if [ $rc -ne 0 ]; then FAILURES+=("encrypt run $1: exit $rc: $(tail -2 "$TMP/case.err" | tr '\n' ' ')"); fi
}

encrypt() { paired_runs encrypt_case "encrypted text file"; }

# ---- scaling: 1, 4, 16 and 64 producer processes, each run against its own 1 ----
SCALING_PROCS="1 4 16 64"
scaling_run() { # RUN
	local p m
	for p in $SCALING_PROCS; do e2e_case procs --procs "$p" --n "$E2E_N" --run "$1"; done
	for m in mixed8 str200; do e2e_case threads --threads 1 --message "$m" --n "$E2E_N" --run "$1"; done
}

scaling() {
	local run
	for run in $(seq "$RUNS"); do
		say "scaling: $SCALING_PROCS producer processes, run $run of $RUNS ($E2E_N records each)"
		e2e_case threads --threads 1 --n "$E2E_N" --run "$run" # message 1, beside mixed8 and str200
		scaling_run "$run"
	done
}

end_to_end() {
	local run t
	for run in $(seq "$RUNS"); do
		say "end to end, run $run of $RUNS"
		if [ $DO_ROUTING -eq 1 ]; then routing_pair "$run"; else e2e_case threads --threads 1 --n "$E2E_N" --run "$run"; fi
		if [ $DO_BINARY -eq 1 ]; then binary_case "$run"; fi
		if [ $DO_RENDER -eq 1 ]; then render_case "$run"; fi
		if [ $DO_ENCRYPT -eq 1 ]; then encrypt_case "$run"; fi
		snprintf_case "$run"
		if [ $DO_SYSLOG -eq 1 ]; then syslog_case "$run"; syslog_more_cases "$run"; fi
		for t in 2 4; do e2e_case threads --threads "$t" --n "$E2E_N" --run "$run"; done
		if [ $DO_SCALING -eq 1 ]; then scaling_run "$run"; else e2e_case procs --procs 16 --n "$E2E_N" --run "$run"; fi
		e2e_case delivery --rate 100000 --seconds "$DELIVERY_S" --run "$run"
	done
	say "collector CPU with idle producers (${IDLE_S} s each)"
	e2e_case idle --procs 0 --seconds "$IDLE_S"
	e2e_case idle --procs 10 --seconds "$IDLE_S"
}

# ---- instructions per call (callgrind, user space, calling thread only) ----
INSTR_ENV=()
instr_total() { # NAME MSG N PROGRAM ARGS... -> prints the calling thread's Ir (environment: INSTR_ENV)
	local name=$1 msg=$2 n=$3 f
	shift 3
	rm -f "$TMP/cg/$name.$msg.$n".*
	env "${INSTR_ENV[@]+"${INSTR_ENV[@]}"}" timeout --kill-after=10 300 valgrind --tool=callgrind --separate-threads=yes \
		--callgrind-out-file="$TMP/cg/$name.$msg.$n.%p" "$@" --msg "$msg" --modes instr --n "$n" --warmup 10000 \
		>/dev/null 2>"$TMP/cg/$name.$msg.$n.err" || { echo -1; return; }
	f=$(ls "$TMP/cg/$name.$msg.$n".*-01 2>/dev/null | head -1)
	[ -n "$f" ] && awk '/^totals:/{print $2}' "$f" || echo -1
}

instructions() {
	say "instructions per call (callgrind: N=20000 minus N=10000, divided by 10000)"
	mkdir -p "$TMP/cg"
	local B=$ROOT/build-release/bench name msg a b cmd
	local names=(shmlog shmlog-c++ spdlog fprintf snprintf)
	[ $LTTNG_OK -eq 1 ] && names=(shmlog shmlog-c++ spdlog lttng fprintf snprintf)
	: >"$TMP/instr.jsonl"
	for name in "${names[@]}"; do
		INSTR_ENV=()
		case $name in
		shmlog) INSTR_ENV=(BENCH_RING_BYTES=$((64 << 20))) cmd=("$B/bench_shmlog") ;;
		shmlog-c++) INSTR_ENV=(BENCH_RING_BYTES=$((64 << 20))) cmd=("$B/bench_shmlog_cxx") ;;
		spdlog) cmd=("$B/bench_spdlog" --out "$TMP/spdlog.log") ;;
		lttng) INSTR_ENV=(LTTNG_UST_ALLOW_BLOCKING=1) cmd=("$B/bench_lttng")
			lttng_session_start "shmlog-bench-$$-instr" "$TMP/lttng-trace" || { warn "lttng session setup failed"; lttng_session_end; continue; } ;;
		fprintf) cmd=("$B/bench_fprintf" --out "$TMP/fprintf.log") ;;
		snprintf) INSTR_ENV=(BENCH_SNPRINTF=1) cmd=("$B/bench_fprintf") ;;
		esac
		msgs=(m1 const mixed8 str200 below)
		[ "${name#shmlog}" != "$name" ] && msgs+=(m1args2 m1kv2) # the cost of two fields against two more arguments
		for msg in "${msgs[@]}"; do
			a=$(instr_total "$name" "$msg" 10000 "${cmd[@]}")
			b=$(instr_total "$name" "$msg" 20000 "${cmd[@]}")
			printf '  %-8s %-7s %s -> %s\n' "$name" "$msg" "$a" "$b" >&2
			printf '{"contender":"%s","msg":"%s","ir_10000":%s,"ir_20000":%s}\n' "$name" "$msg" "$a" "$b" >>"$TMP/instr.jsonl"
			rm -f "$TMP/spdlog.log" "$TMP/fprintf.log" "$TMP"/seg/*
		done
		if [ "$name" = lttng ]; then lttng_session_end; rm -rf "$TMP/lttng-trace"; fi
	done
	# where a shmlog call's instructions go: function level (from the release
	# build), and line level from the same release build with debug info
	local f10 f20
	f10=$(ls "$TMP"/cg/shmlog.m1.10000.*-01 | head -1)
	f20=$(ls "$TMP"/cg/shmlog.m1.20000.*-01 | head -1)
	callgrind_annotate --auto=no --threshold=100 "$f10" >"$TMP/cg/annot10.txt" 2>/dev/null || true
	callgrind_annotate --auto=no --threshold=100 "$f20" >"$TMP/cg/annot20.txt" 2>/dev/null || true
	callgrind_annotate --auto=no --threshold=100 --inclusive=yes "$f10" >"$TMP/cg/annot10i.txt" 2>/dev/null || true
	callgrind_annotate --auto=no --threshold=100 --inclusive=yes "$f20" >"$TMP/cg/annot20i.txt" 2>/dev/null || true
	# the same release build with debug info (-Ddebug=true: same -O3 code) tells which
	# source file and line, inlined code included, the instructions come from
	if [ ! -f build-release-g/build.ninja ]; then
		meson setup build-release-g --buildtype=release -Ddebug=true -Db_lto=true -Dtests=false >/dev/null
	else
		meson configure build-release-g -Db_lto=true >/dev/null
	fi
	INSTR_ENV=(BENCH_RING_BYTES=$((64 << 20)))
	ninja -C build-release-g >/dev/null &&
		make -s -C bench SHMLOG_BUILD="$ROOT/build-release-g" OUT="$ROOT/build-release-g/bench" \
			"$ROOT/build-release-g/bench/bench_shmlog" >/dev/null &&
		instr_total shmlog-g m1 10000 "$ROOT/build-release-g/bench/bench_shmlog" >/dev/null &&
		instr_total shmlog-g m1 20000 "$ROOT/build-release-g/bench/bench_shmlog" >/dev/null &&
		callgrind_annotate --auto=no --threshold=100 "$(ls "$TMP"/cg/shmlog-g.m1.10000.*-01 | head -1)" \
			>"$TMP/cg/annot10g.txt" 2>/dev/null &&
		callgrind_annotate --auto=no --threshold=100 "$(ls "$TMP"/cg/shmlog-g.m1.20000.*-01 | head -1)" \
			>"$TMP/cg/annot20g.txt" 2>/dev/null &&
		callgrind_annotate --auto=yes --show-percs=no --context=2 \
			"$(ls "$TMP"/cg/shmlog-g.m1.20000.*-01 | head -1)" >"$RESULTS/callgrind-shmlog-m1.txt" 2>/dev/null ||
		warn "line-level annotation failed"
}

# ---- the collector's instructions per record (callgrind, user space, whole process) ----
# A producer with no collector running fills one 64 MiB ring (drop policy: a ring too
# small shows as lost records and fails the case, it never stalls) with N message-1
# records; then `shmlog-collector --once` with the one-file-writer config drains it
# under callgrind. (Ir(200000) - Ir(100000)) / 100000 cancels start-up and teardown.
# Each N runs twice: plain, and with bench/slowclock.c preloaded (CLOCK_REALTIME 1000x
# slower), because the collector cuts a cycle after 300 us of wall time and reads the
# rest again: under callgrind's slowdown every cycle is cut at 256 records, so the plain
# count depends on valgrind's speed. The slowed clock (no cycle cut) is the collector's
# work per record and the figure the target is judged on; the plain one is shown too.
CI_N1=100000 CI_N2=200000
collector_ir() { # BUILD_DIR N NAME [PRELOAD [CONFIG FILE_WITH_N_RECORDS FILL_ARGS...]] -> prints the Ir
	local build=$1 n=$2 name=$3 preload=${4:-} conf=${5:-$TMP/collector.conf} check=${6:-$TMP/shmlog.log} lines
	shift 6 2>/dev/null || shift $#
	rm -rf "$TMP/ccg/seg" "$TMP/shmlog.log" "$TMP/errors.log" "$TMP/security.log" "$TMP/console.out"
	mkdir -p "$TMP/ccg/seg"
	timeout 120 "$build/bench/bench_e2e" fill --dir "$TMP/ccg/seg" --n "$n" --ring-bytes $((64 << 20)) "$@" \
		>>"$TMP/ccg/fill.jsonl" 2>>"$TMP/ccg/$name.err" || { echo -1; return; }
	env ${preload:+LD_PRELOAD="$preload"} timeout --kill-after=10 600 valgrind --tool=callgrind \
		--callgrind-out-file="$TMP/ccg/$name.out" \
		"$build/shmlog-collector" --config "$conf" --dir "$TMP/ccg/seg" --once \
		>"$TMP/console.out" 2>>"$TMP/ccg/$name.err" || { echo -1; return; }
	# every record must have been written (a notice line, if any, is not a record)
	lines=$(grep -vc ']: \[shmlog\] ' "$check" 2>/dev/null || true)
	if [ "${lines:-0}" -ne "$n" ]; then
		warn "collector instructions: $check holds ${lines:-0} records, expected $n"
		echo -1; return
	fi
	awk '/^totals:/{print $2}' "$TMP/ccg/$name.out"
}

collector_annotate() { # PREFIX: function-level annotations of PREFIX.N1.1 and PREFIX.N2.1 (report.py differences them)
	local p=$1 k n
	for k in 1 2; do
		n=$CI_N1; [ $k -eq 2 ] && n=$CI_N2
		callgrind_annotate --auto=no --threshold=100 "$TMP/ccg/$p.$n.1.out" >"$TMP/ccg/annot.$p.$k.txt" 2>/dev/null || true
		callgrind_annotate --auto=no --threshold=100 --inclusive=yes "$TMP/ccg/$p.$n.1.out" \
			>"$TMP/ccg/annot.$p.${k}i.txt" 2>/dev/null || true
	done
}

collector_instructions() {
	say "collector instructions per message-1 record, text to one file (callgrind on shmlog-collector --once: N=$CI_N2 minus N=$CI_N1, divided by $((CI_N2 - CI_N1)); slowed clock and plain)"
	mkdir -p "$TMP/ccg"
	: >"$TMP/cinstr.jsonl"
	local B=$ROOT/build-release slow=$ROOT/build-release/bench/slowclock.so run kind a b
	gcc -std=gnu11 -O2 -Wall -Wextra -shared -fPIC -o "$slow" "$BENCH/slowclock.c" -ldl ||
		{ FAILURES+=("collector instructions: building slowclock.so"); return; }
	for run in $(seq "$RUNS"); do
		for kind in slow plain; do
			local pre=""
			[ $kind = slow ] && pre=$slow
			a=$(collector_ir "$B" "$CI_N1" "$kind.$CI_N1.$run" "$pre")
			b=$(collector_ir "$B" "$CI_N2" "$kind.$CI_N2.$run" "$pre")
			printf '  run %s, %-5s clock: %s -> %s\n' "$run" "$kind" "$a" "$b" >&2
			printf '{"run":%s,"clock":"%s","n1":%s,"n2":%s,"ir_n1":%s,"ir_n2":%s}\n' "$run" "$kind" \
				"$CI_N1" "$CI_N2" "$a" "$b" >>"$TMP/cinstr.jsonl"
			[ "$a" -gt 0 ] && [ "$b" -gt 0 ] ||
				FAILURES+=("collector instructions run $run ($kind): $(tail -2 "$TMP/ccg/$kind.$CI_N2.$run.err" | tr '\n' ' ')")
		done
	done
	# for comparison (no target): the routing case's config and records, slowed clock, once
	[ -f "$TMP/routing.conf" ] || routing_config
	a=$(collector_ir "$B" "$CI_N1" "routing.$CI_N1.1" "$slow" "$TMP/routing.conf" "$TMP/errors.log" --mix routing)
	b=$(collector_ir "$B" "$CI_N2" "routing.$CI_N2.1" "$slow" "$TMP/routing.conf" "$TMP/errors.log" --mix routing)
	printf '  routing config, slow clock: %s -> %s\n' "$a" "$b" >&2
	printf '{"run":1,"clock":"routing","n1":%s,"n2":%s,"ir_n1":%s,"ir_n2":%s}\n' "$CI_N1" "$CI_N2" "$a" "$b" \
		>>"$TMP/cinstr.jsonl"
	collector_annotate routing
	# where a record's instructions go: by function from the release build (report.py takes
	# the difference of the two N), and line by line from the release build with debug info
	collector_annotate slow
	collector_annotate plain
	if [ ! -f build-release-g/build.ninja ]; then
		meson setup build-release-g --buildtype=release -Ddebug=true -Dtests=false >/dev/null
	fi
	{ ninja -C build-release-g >/dev/null &&
		make -s -C bench SHMLOG_BUILD="$ROOT/build-release-g" OUT="$ROOT/build-release-g/bench" \
			"$ROOT/build-release-g/bench/bench_e2e" >/dev/null &&
		[ "$(collector_ir "$ROOT/build-release-g" "$CI_N2" "g.$CI_N2" "$slow")" -gt 0 ] &&
		{ echo "# shmlog-collector --once over $CI_N2 message-1 records, text to one file, CLOCK_REALTIME slowed"
		  echo "# 1000x (bench/slowclock.c: no output cycle cut); release build with debug info. Totals include"
		  echo "# start-up: the per-record figures are in bench/results/latest.json (collector_instructions)."
		  callgrind_annotate --auto=yes --show-percs=no --context=2 --threshold=99 "$TMP/ccg/g.$CI_N2.out"
		} >"$RESULTS/callgrind-collector-m1.txt" 2>/dev/null; } ||
		warn "collector line-level annotation failed"
}

# ---- the I/O floor: the kernel's CPU per byte appended to the log files' file system, on the collector's CPU ----
# (bench/iofloor.c; report_io.py multiplies it by each case's bytes per record to bound the ratios)
io_floor() {
	say "the I/O floor: the kernel's CPU per byte appended to $TMP's file system (iofloor on CPU $BG, 3 runs)"
	warm_pages
	timeout 120 "$ROOT/build-release/bench/iofloor" "$TMP" --cpu "$BG" --runs 3 >>"$TMP/e2e.jsonl" 2>"$TMP/case.err" ||
		FAILURES+=("iofloor: $(tail -1 "$TMP/case.err")")
	[ $DO_ENCRYPT -eq 1 ] || return 0
	say "the seal floor: sealing's CPU per byte ($ENCRYPT_ALG, 64 KiB chunks; sealfloor on CPU $BG, 3 runs)"
	timeout 120 "$ROOT/build-release/bench/sealfloor" --alg "$ENCRYPT_ALG" --cpu "$BG" --runs 3 >>"$TMP/e2e.jsonl" \
		2>"$TMP/case.err" || FAILURES+=("sealfloor: $(tail -1 "$TMP/case.err")")
}

# ---- main ----
deps
build
make_tmp
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
say "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine skews every figure)"
SECONDS=0
: >"$TMP/raw.jsonl"
: >"$TMP/e2e.jsonl"
if [ $DO_LATENCY -eq 1 ] || [ $DO_INSTR -eq 1 ]; then
	lttng_setup
	[ $LTTNG_OK -eq 1 ] || warn "LTTng contender skipped: $LTTNG_WHY"
fi
if [ $DO_LATENCY -eq 1 ]; then
	say "the machine itself: gaps a spinning thread sees on every CPU at once (${IDLE_S} s)"
	timeout 60 "$ROOT/build-release/bench/probe_gaps" --seconds "$IDLE_S" >>"$TMP/e2e.jsonl" ||
		warn "probe_gaps failed"
	latency
	end_to_end
	timeout 60 "$ROOT/build-release/bench/probe_gaps" --seconds "$IDLE_S" >>"$TMP/e2e.jsonl" ||
		warn "probe_gaps failed"
fi
[ $DO_ROUTING -eq 1 ] && [ $DO_LATENCY -eq 0 ] && routing
[ $DO_SYSLOG -eq 1 ] && [ $DO_LATENCY -eq 0 ] && syslog_runs
[ $DO_SCALING -eq 1 ] && [ $DO_LATENCY -eq 0 ] && scaling
[ $DO_BINARY -eq 1 ] && [ $DO_LATENCY -eq 0 ] && binary
[ $DO_RENDER -eq 1 ] && [ $DO_LATENCY -eq 0 ] && render
[ $DO_ENCRYPT -eq 1 ] && [ $DO_LATENCY -eq 0 ] && encrypt
if [ $DO_LATENCY -eq 1 ] || [ $DO_ROUTING -eq 1 ] || [ $DO_BINARY -eq 1 ] || [ $DO_ENCRYPT -eq 1 ]; then
	io_floor
fi
[ $DO_INSTR -eq 1 ] && instructions
[ $DO_CINSTR -eq 1 ] && collector_instructions
if [ $DO_PYTHON -eq 1 ]; then
	say "Python: shmlog.Handler against logging.FileHandler, the same record ($RUNS runs, interleaved)"
	taskset -c "$CPU" timeout 600 "$(cat build-release/python/python-path)" "$BENCH/bench_python.py" \
		--build "$ROOT/build-release" --runs "$RUNS" --n $((QUICK ? 20000 : 200000)) \
		$([ $BG -ne $CPU ] && echo "--collector-cpu $BG") --out "$RESULTS/python.json" ||
		FAILURES+=("python: bench_python.py failed")
fi
if [ $DO_LATENCY -eq 0 ] && [ $DO_INSTR -eq 0 ] && [ $DO_ROUTING -eq 0 ] && [ $DO_SYSLOG -eq 0 ] &&
	[ $DO_CINSTR -eq 0 ] && [ $DO_SCALING -eq 0 ] && [ $DO_BINARY -eq 0 ] && [ $DO_ENCRYPT -eq 0 ] &&
	[ $DO_RENDER -eq 0 ]; then # --python alone: its own table
	[ ${#FAILURES[@]} -eq 0 ] || { printf '  %s\n' "${FAILURES[@]}" >&2; exit 1; }
	exit 0
fi
say "report (${SECONDS} s of benchmarking)"
python3 "$BENCH/report.py" --tmp "$TMP" --results "$RESULTS" --start "$START" --elapsed "$SECONDS" \
	--quick "$QUICK" --runs "$RUNS" --n "$N" --cold-n "$COLD_N" --warmup "$WARMUP" --lttng-why "$LTTNG_WHY" \
	--latency "$DO_LATENCY" --instructions "$DO_INSTR" --routing "$DO_ROUTING" --syslog "$DO_SYSLOG" \
	--collector-instructions "$DO_CINSTR" --scaling "$DO_SCALING" --binary "$DO_BINARY" --render "$DO_RENDER" --encrypt "$DO_ENCRYPT" --encrypt-algorithm "$ENCRYPT_ALG" \
	--command "bench/run.sh${ARGS:+ $ARGS}" \
	--failures "$(printf '%s\n' "${FAILURES[@]+"${FAILURES[@]}"}")"
if [ ${#FAILURES[@]} -gt 0 ]; then
	warn "${#FAILURES[@]} case(s) failed:"
	printf '  %s\n' "${FAILURES[@]}" >&2
	exit 1
fi
