#!/usr/bin/env python3
"""report.py — turn the raw runs of bench/run.sh into the results.

Reads the JSON lines run.sh collected in its scratch directory (raw.jsonl: one
line per contender, message, mode and run; e2e.jsonl: shmlog end to end, the
routing case included; instr.jsonl: callgrind totals; cg/annot*.txt:
callgrind_annotate of shmlog; cinstr.jsonl and ccg/annot*.txt: the same for
the collector's records),
takes the median over runs of every figure, computes shmlog's ratio to each
peer, checks the targets, prints one table, and writes:

  results/latest.json   medians, ratios, targets, machine, command, every raw run
  results/latest.md     the same tables in Markdown (for .notes/bench-section.md)
  results/latency.png   latency percentiles of every contender (gnuplot)

With --instructions 0 (or 1 without latency), figures of the other kind are
taken from the previous latest.json, so a partial rerun keeps a full report;
the same for --routing 0 and --collector-instructions 0.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_binary import BINARY_TARGETS, binary_summary, binary_table, render_summary, render_table  # noqa: E402
from report_callgrind import COLLECTOR_IR_TARGET, collector_instr, hot_lines, shmlog_breakdown  # noqa: E402
from report_io import io_tables  # noqa: E402
from report_scaling import SCALING_TARGETS, TEXT_TARGET, messages_summary, messages_table, scaling_summary, text_summary  # noqa: E402,E501

CONTENDERS = ["shmlog", "spdlog", "lttng", "fprintf"]
PEERS = ["spdlog", "lttng", "fprintf"]
MSGS = ["m1", "const", "mixed8", "str200", "below"]
MSG_TEXT = {
    "m1": '"value=%d name=%s pi=%f" (int, short string, double)',
    "const": "constant message, no arguments",
    "mixed8": "8 mixed arguments (int, unsigned, long, hex u64, char, string, 2 doubles)",
    "str200": "one 200-byte string argument",
    "below": "message 1 below the level threshold (DEBUG < INFO)",
    "empty": "empty call: the timer's own cost",
    "floor": "the hardware floor: rdtsc + 32-byte store + release (bench_floor.c), no logger",
}
# reference rows measured by the same harness in the same run: (contender, message, label)
REFS = [("empty", "empty", "timer (empty call)"), ("floor", "m1", "floor (rdtsc + 32-byte store + release)")]
REF_MSG = {ref: msg for ref, msg, _ in REFS}
REF_LABEL = {ref: label for ref, _, label in REFS}
PCTS = ["p50", "p90", "p99", "p99.9", "p99.99", "max"]


def load_jsonl(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        print(f"report.py: skipping a malformed line in {path}: {line[:80]}", file=sys.stderr)
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mhz = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    mhz = float(line.split(":", 1)[1])
                    break
    except (OSError, ValueError):
        pass
    kernel = os.uname().release
    git = {}
    if os.environ.get("SHMLOG_BENCH_REVISION"):  # a source snapshot that is not a git checkout
        return_rev = os.environ["SHMLOG_BENCH_REVISION"]
        git = {"commit": return_rev, "uncommitted_changes_in_measured_code": False}
    try:
        if git:
            raise OSError("revision given")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        git["commit"] = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                                       text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "producer", "shared", "collector"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        git["uncommitted_changes_in_measured_code"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
    except OSError:
        load = None
    return {"cpu": model, "mhz": mhz, "nproc": os.cpu_count(), "kernel": kernel, "git": git,
            "loadavg_1min_at_report": load}


def latency_medians(raw):
    """(contender, mode, msg) -> {metric: median over runs}, plus run count."""
    groups = {}
    for r in raw:
        if "mode" not in r:
            continue
        groups.setdefault((r["contender"], r["mode"], r["msg"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        m = {"runs": len(rs)}
        for k in PCTS + ["mean", "stalls_1ms", "ns_per_call", "e2e_rps", "e2e_s"]:
            v = med([r.get(k) for r in rs])
            if v is not None:
                m[k] = v
        if key[1] in ("burst", "flood"):
            # median curve: per percentile point, median over runs
            pts = {}
            for r in rs:
                for p, v in r.get("curve", []):
                    pts.setdefault(p, []).append(v)
            m["curve"] = [[p, statistics.median(v)] for p, v in sorted(pts.items())]
        if any("lines" in r for r in rs):
            m["lines_ok"] = all(r.get("lines") == r.get("expected") for r in rs)
        m["drain_failed"] = sum(r.get("drain_failed", 0) for r in rs)
        lost = [r.get("lost_reported") for r in rs if r.get("lost_reported") is not None]
        if lost:
            m["lost_reported"] = max(lost)
        out[key] = m
    for r in raw:  # lttng's own discarded-event count, per session
        if "lttng_discarded" in r:
            for mode in ("burst", "flood", "throughput"):
                k = ("lttng", mode, r["msg"])
                if k in out:
                    out[k]["lttng_discarded"] = max(out[k].get("lttng_discarded", 0), r["lttng_discarded"])
    return out


def e2e_medians(rows):
    groups = {}
    for r in rows:
        if "probe" in r:
            continue
        key = (r["scenario"], r.get("producers", r.get("rate")))
        groups.setdefault(key, []).append(r)
    out = {}
    for (sc, p), rs in groups.items():
        m = {"runs": len(rs), "ok": all(r.get("ok") for r in rs)}
        if sc == "delivery":
            m["p99_us_each_run"] = [r.get("p99_us") for r in rs]
        for k in ["rps", "collector_cpu_ms_per_M", "collector_cpu_stat_ms_per_M", "p50_us", "p90_us", "p99_us",
                  "p99.9_us", "max_us", "collector_cpu_pct", "collector_cpu_stat_pct", "achieved_rate", "missing"]:
            v = med([r.get(k) for r in rs])
            if v is not None:
                m[k] = v
        out[f"{sc}:{p}"] = m
    return out


def instr_per_call(rows):
    out = {}
    for r in rows:
        a, b = r.get("ir_10000", -1), r.get("ir_20000", -1)
        out.setdefault(r["contender"], {})[r["msg"]] = (b - a) / 10000.0 if a > 0 and b > 0 else None
    return out


ROUTING_TARGET = 0.8  # routing rate ÷ single-file rate, same run


SYSLOG_TARGET = 0.7  # syslog (TCP to a local discarding receiver) rate ÷ single-file rate, same run
ENCRYPT_TARGET = 0.8  # encrypted text file rate ÷ plain text file rate, same run


def paired_summary(rows, scenario, target, extra=lambda r: {}):
    """A scenario's runs against `threads 1` (the single file writer) of the same run, paired by run."""
    single = {r.get("run"): r for r in rows if r.get("scenario") == "threads" and r.get("producers") == 1}
    runs = []
    for r in rows:
        if r.get("scenario") != scenario:
            continue
        s = single.get(r.get("run"))
        ratio_ = r["rps"] / s["rps"] if s and s.get("rps") else None
        runs.append({"run": r.get("run"), "single_rps": s.get("rps") if s else None, f"{scenario}_rps": r.get("rps"),
                     "ratio": ratio_, "ok": bool(r.get("ok")) and bool(s and s.get("ok")),
                     "collector_cpu_ms_per_M": r.get("collector_cpu_ms_per_M"),
                     "single_collector_cpu_ms_per_M": s.get("collector_cpu_ms_per_M") if s else None, **extra(r)})
    if not runs:
        return {}
    runs.sort(key=lambda x: x["run"] or 0)
    m = {"runs": runs, "target_ratio": target,
         "median_ratio": med([x["ratio"] for x in runs]),
         "median_single_rps": med([x["single_rps"] for x in runs]),
         f"median_{scenario}_rps": med([x[f"{scenario}_rps"] for x in runs]),
         "median_collector_cpu_ms_per_M": med([x["collector_cpu_ms_per_M"] for x in runs]),
         "median_single_collector_cpu_ms_per_M": med([x["single_collector_cpu_ms_per_M"] for x in runs]),
         "all_ok": all(x["ok"] for x in runs)}
    m["pass"] = None if m["median_ratio"] is None or target is None else m["median_ratio"] >= target and m["all_ok"]
    return m


def paired_table(title, m, scenario, ok_label):
    """The table of a paired_summary(): each run, then the medians and the verdict."""
    t = Table(title, ["run", "single file records/s", f"{scenario} records/s", "ratio",
                      f"collector CPU per M (single / {scenario})", ok_label])
    for x in m["runs"]:
        t.add(f"run {x['run']}", fmt_rate(x["single_rps"]), fmt_rate(x[f"{scenario}_rps"]),
              "-" if x["ratio"] is None else f"{x['ratio']:.3f}×",
              f"{x['single_collector_cpu_ms_per_M'] or 0:.0f} / {x['collector_cpu_ms_per_M'] or 0:.0f} ms",
              "yes" if x["ok"] else "NO")
    mr = m.get("median_ratio")
    t.add("median", fmt_rate(m.get("median_single_rps")), fmt_rate(m.get(f"median_{scenario}_rps")),
          "-" if mr is None else f"{mr:.3f}×",
          f"{m.get('median_single_collector_cpu_ms_per_M') or 0:.0f} / {m.get('median_collector_cpu_ms_per_M') or 0:.0f} ms",
          "no target" if m.get("target_ratio") is None else
          "not measured" if m.get("pass") is None else ("PASS" if m["pass"] else "FAIL"))
    return t


def routing_summary(rows):
    """The routing case against `threads 1` (the single file writer) of the same run, paired by run."""
    return paired_summary(rows, "routing", ROUTING_TARGET, lambda r: {
        "lines": {k: r.get(f"{k}_lines") for k in ("errors", "security", "console")},
        "security_every": r.get("security_every")})


def syslog_summary(rows, scenario="syslog"):
    """A syslog case (TCP; syslog_tls, syslog_relp: TLS, RELP, without a target: the issue's is for TCP; a local
    receiver that discards) against `threads 1` of the same run."""
    target = SYSLOG_TARGET if scenario == "syslog" else None
    return paired_summary(rows, scenario, target, lambda r: {"frames": r.get("frames")})

def fmt_ns(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f} ms"
    if v >= 1e4:
        return f"{v / 1e3:.1f} µs"
    return f"{v:.0f}"


def fmt_num(v, nd=0):
    if v is None:
        return "-"
    return f"{v:,.{nd}f}"


def fmt_rate(v):
    if v is None:
        return "-"
    return f"{v / 1e6:.2f} M/s"


def ratio(peer, mine, higher_better=False):
    if peer is None or mine is None or mine == 0 or peer == 0:
        return None
    return mine / peer if higher_better else peer / mine


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}×"


class Table:
    def __init__(self, title, header):
        self.title, self.header, self.rows, self.notes = title, header, [], []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def text(self):
        w = [max(len(self.header[i]), *(len(r[i]) for r in self.rows)) if self.rows else len(self.header[i])
             for i in range(len(self.header))]
        lines = [self.title]
        lines.append("  ".join(h.ljust(w[i]) for i, h in enumerate(self.header)))
        lines.append("  ".join("-" * w[i] for i in range(len(w))))
        for r in self.rows:
            lines.append("  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)))
        lines += self.notes
        return "\n".join(lines)

    def md(self):
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.header))) + "|"]
        for r in self.rows:
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        if self.notes:
            lines.append("")
            lines += [n.strip() for n in self.notes]
        return "\n".join(lines)


def plot(lat, results_dir, tmp):
    """Percentile curves: one panel per (mode, message), one line per contender, the timer dashed."""
    panels = [("burst", "m1"), ("burst", "mixed8"), ("burst", "str200"),
              ("flood", "m1"), ("flood", "mixed8"), ("flood", "str200")]
    have = [c for c in CONTENDERS if any((c, m, g) in lat for m, g in panels)]
    if not have:
        return None
    import math

    def x_of(p):
        return 6.0 if p >= 100 else -math.log10(1 - p / 100.0)

    datafiles = {}
    for mode, msg in panels:
        for c in have + [ref for ref, _, _ in REFS]:
            key = (c, mode, REF_MSG.get(c, msg))
            if key not in lat:
                continue
            path = os.path.join(tmp, f"plot_{mode}_{msg}_{c}.dat")
            with open(path, "w") as f:
                for p, v in lat[key]["curve"]:
                    f.write(f"{x_of(p):.4f} {max(v, 1):.1f}\n")
            datafiles[(mode, msg, c)] = path
    colors = {"shmlog": "#1f77b4", "spdlog": "#d62728", "lttng": "#2ca02c", "fprintf": "#9467bd", "empty": "#7f7f7f",
              "floor": "#000000"}
    png = os.path.join(results_dir, "latency.png")
    gp = [
        "set terminal pngcairo size 1500,900 font 'DejaVu Sans,9'" ,
        f"set output '{png}'",
        "set multiplot layout 2,3 title 'shmlog bench: per-call latency percentiles (ns, log scale; median of runs); "
        "producer on CPU 0, background on CPU 1' font ',11'",
        "set logscale y", "set grid ytics mytics xtics", "set yrange [5:*]", "set format y '%.0s%c'",
        "set xtics ('50' 0.301, '90' 1, '99' 2, '99.9' 3, '99.99' 4, '99.999' 5, 'max' 6)",
        "set xlabel 'percentile'", "set ylabel 'ns'", "set key top left font ',8'",
    ]
    for mode, msg in panels:
        gp.append(f"set title '{mode}: {msg}'")
        parts = []
        for c in have + [ref for ref, _, _ in REFS]:
            p = datafiles.get((mode, msg, c))
            if p:
                dash = "dt 2" if c in REF_MSG else "dt 1"
                label = REF_LABEL.get(c, c)
                parts.append(f"'{p}' using 1:2 with linespoints lw 2 pt 7 ps 0.6 {dash} lc rgb '{colors[c]}' title '{label}'")
        gp.append("plot " + ", \\\n     ".join(parts) if parts else "plot NaN notitle")
    gp.append("unset multiplot")
    script = os.path.join(tmp, "latency.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    try:
        subprocess.run(["gnuplot", script], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"report.py: gnuplot failed: {e}", file=sys.stderr)
        return None
    return png


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--start", default="")
    ap.add_argument("--elapsed", type=int, default=0)
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--cold-n", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--lttng-why", default="")
    ap.add_argument("--latency", type=int, default=1)
    ap.add_argument("--instructions", type=int, default=1)
    ap.add_argument("--routing", type=int, default=1)
    ap.add_argument("--syslog", type=int, default=1)
    ap.add_argument("--collector-instructions", type=int, default=1)
    ap.add_argument("--scaling", type=int, default=1)
    ap.add_argument("--binary", type=int, default=1)
    ap.add_argument("--render", type=int, default=1)
    ap.add_argument("--encrypt", type=int, default=1)
    ap.add_argument("--encrypt-algorithm", default="xchacha20poly1305")
    ap.add_argument("--command", default="bench/run.sh")
    ap.add_argument("--failures", default="")
    a = ap.parse_args()

    latest_path = os.path.join(a.results, "latest.json")
    previous = {}
    if os.path.exists(latest_path):
        try:
            with open(latest_path) as f:
                previous = json.load(f)
        except (OSError, json.JSONDecodeError):
            previous = {}

    raw = load_jsonl(os.path.join(a.tmp, "raw.jsonl"))
    e2e_raw = load_jsonl(os.path.join(a.tmp, "e2e.jsonl"))
    instr_raw = load_jsonl(os.path.join(a.tmp, "instr.jsonl"))

    lat = latency_medians(raw)
    e2e = e2e_medians(e2e_raw)
    instr = instr_per_call(instr_raw)
    breakdown = shmlog_breakdown(os.path.join(a.tmp, "cg")) if a.instructions else {}
    routing = routing_summary(e2e_raw) if a.routing else previous.get("routing", {})
    syslog = syslog_summary(e2e_raw) if a.syslog else previous.get("syslog", {})
    syslog_tls = syslog_summary(e2e_raw, "syslog_tls") if a.syslog else previous.get("syslog_tls", {})
    syslog_relp = syslog_summary(e2e_raw, "syslog_relp") if a.syslog else previous.get("syslog_relp", {})
    scaling = scaling_summary(e2e_raw, med) if a.scaling else previous.get("scaling", {})
    messages = messages_summary(e2e_raw, med) if a.scaling else previous.get("messages", {})
    binary = binary_summary(e2e_raw, med) if a.binary else previous.get("binary", {})
    render = render_summary(e2e_raw, med) if a.render else previous.get("render", {})
    encrypt = paired_summary(e2e_raw, "encrypted", ENCRYPT_TARGET, lambda r: {"algorithm": a.encrypt_algorithm}) \
        if a.encrypt else previous.get("encrypt", {})
    text_vs = text_summary(e2e_raw, med) or previous.get("text_vs_snprintf", {})
    cinstr = collector_instr(load_jsonl(os.path.join(a.tmp, "cinstr.jsonl")), os.path.join(a.tmp, "ccg"), med) \
        if a.collector_instructions else previous.get("collector_instructions", {})
    meta_routing_from = previous.get("meta", {}).get("date") if not a.routing and routing else None

    meta = {"date": a.start, "machine": machine(), "command": a.command, "quick": bool(a.quick),
            "runs": a.runs, "calls": a.n, "warmup": a.warmup, "elapsed_s": a.elapsed,
            "lttng": "ok" if not a.lttng_why else f"skipped: {a.lttng_why}",
            "failures": [f for f in a.failures.split("\n") if f]}

    # a partial rerun keeps the other half of the previous report
    lat_json = {f"{c}/{mode}/{msg}": v for (c, mode, msg), v in lat.items()}
    if not a.latency and previous:
        lat_json = previous.get("latency", {})
        e2e = previous.get("end_to_end", {})
        meta["latency_from"] = previous.get("meta", {}).get("date")
    if meta_routing_from:
        meta["routing_from"] = meta_routing_from
    if not a.collector_instructions and cinstr:
        meta["collector_instructions_from"] = previous.get("meta", {}).get("date")
    if not a.instructions and previous:
        instr = previous.get("instructions_per_call", {})
        breakdown = previous.get("shmlog_instruction_breakdown", {})
        meta["instructions_from"] = previous.get("meta", {}).get("date")
    lat = {tuple(k.split("/")): v for k, v in lat_json.items()}

    def L(c, mode, msg, k):
        return lat.get((c, mode, msg), {}).get(k)

    tables = []
    present = [c for c in CONTENDERS if any(k[0] == c for k in lat)]
    peers = [p for p in PEERS if p in present]

    for mode in ("burst", "flood", "cold"):
        if mode == "cold":
            title = (f"Latency of a cold call (ns; median of {a.runs} run(s) of {a.cold_n:,} calls after "
                     f"{a.warmup:,} warm-up, each right after a 4 MiB write sweep and a system call: the core's "
                     f"caches and, with page-table isolation and no PCID, its TLB emptied, as an interrupt or a "
                     f"hypervisor gap leaves them; message 1 only)")
        else:
            title = (f"Latency per call, {mode} mode (ns; median of {a.runs} run(s) of {a.n:,} timed calls after "
                     f"{a.warmup:,} warm-up; {'64 calls then 50 µs pause' if mode == 'burst' else 'back-to-back, block policy'})")
        hdr = ["message / contender"] + PCTS + (["stalls >1 ms"] if mode == "flood" else [])
        t = Table(title, hdr)
        for ref, rmsg, label in REFS:
            if (ref, mode, rmsg) in lat:
                t.add(label, *[fmt_ns(L(ref, mode, rmsg, k)) for k in PCTS],
                      *([fmt_num(L(ref, mode, rmsg, "stalls_1ms"))] if mode == "flood" else []))
        for msg in MSGS:
            for c in present:
                if (c, mode, msg) not in lat:
                    continue
                t.add(f"{msg} / {c}", *[fmt_ns(L(c, mode, msg, k)) for k in PCTS],
                      *([fmt_num(L(c, mode, msg, "stalls_1ms"))] if mode == "flood" else []))
        tables.append(t)

    t = Table("Throughput (untimed loop; end to end = until the last record is in the output, final flush included)",
              ["message / contender", "ns/call amortised", "end-to-end records/s", "records lost"])
    for msg in MSGS:
        for c in present:
            m = lat.get((c, "throughput", msg))
            if not m:
                continue
            if c == "lttng":
                lost = m.get("lttng_discarded")
                lost_s = "-" if lost is None else f"{lost} (lttng count)"
            elif "lines_ok" in m:
                lost_s = "0 (lines counted)" if m["lines_ok"] and not m["drain_failed"] else "MISSING LINES"
            else:
                lost_s = "-"
            t.add(f"{msg} / {c}", f"{m.get('ns_per_call', 0):.2f}",
                  fmt_rate(m.get("e2e_rps")) if msg != "below" else "-", lost_s if msg != "below" else "-")
    t.notes.append("  LTTng's end-to-end time includes `lttng stop` (its flush: a command that waits for the consumer "
                   "daemon), a fixed cost of a few hundred ms per run; its loss column is the session's discarded-event count.")
    tables.append(t)

    ratios = {}
    if "shmlog" in present and peers:
        t = Table("shmlog against each peer, same run (peer ÷ shmlog for times, shmlog ÷ peer for rates: "
                  ">1 means shmlog is better)",
                  ["message / figure", "shmlog"] + [f"{p}" for p in peers] + [f"vs {p}" for p in peers])
        figs = [("burst", "p50"), ("burst", "p99"), ("burst", "p99.9"), ("cold", "p50"), ("flood", "p99.9"),
                ("flood", "max"),
                ("throughput", "ns_per_call"), ("throughput", "e2e_rps")]
        for msg in MSGS:
            for mode, k in figs:
                if msg == "below" and k == "e2e_rps":
                    continue
                mine = L("shmlog", mode, msg, k)
                if mine is None:
                    continue
                hb = k == "e2e_rps"
                vals = [L(p, mode, msg, k) for p in peers]
                rs = [ratio(v, mine, hb) for v in vals]
                ratios[f"{msg}/{mode}/{k}"] = {p: r for p, r in zip(peers, rs)}
                f = fmt_rate if hb else (lambda v: "-" if v is None else f"{v:.2f}") if k == "ns_per_call" else fmt_ns
                t.add(f"{msg} {mode} {k}", f(mine), *[f(v) for v in vals], *[fmt_ratio(r) for r in rs])
        tables.append(t)

    if e2e:
        t = Table("shmlog end to end (producer → collector → text file; m1 records; block policy)",
                  ["scenario", "records/s", "collector CPU per M records", "OK (all lines)"])
        for key, label in (("threads:1", "1 producer thread"), ("threads:2", "2 producer threads"),
                           ("threads:4", "4 producer threads"), ("procs:1", "1 producer process"),
                           ("procs:4", "4 producer processes"), ("procs:16", "16 producer processes"),
                           ("procs:64", "64 producer processes")):
            m = e2e.get(key)
            if m:
                t.add(label, fmt_rate(m.get("rps")), f"{m.get('collector_cpu_ms_per_M', 0):.0f} ms",
                      "yes" if m.get("ok") else "NO")
        tables.append(t)
        t = Table("shmlog delivery latency and idle cost", ["figure", "value"])
        d = e2e.get("delivery:100000")
        if d:
            t.add("delivery latency at 100k records/s, p50", f"{d.get('p50_us', 0):.0f} µs")
            t.add("delivery latency at 100k records/s, p90", f"{d.get('p90_us', 0):.0f} µs")
            t.add("delivery latency at 100k records/s, p99",
                  f"{d.get('p99_us', 0):.0f} µs (runs: {', '.join(f'{v:.0f}' for v in d.get('p99_us_each_run', []))})")
            t.add("delivery latency at 100k records/s, p99.9", f"{d.get('p99.9_us', 0):.0f} µs")
            t.add("delivery latency at 100k records/s, max", f"{d.get('max_us', 0):.0f} µs")
            t.add("collector CPU at 100k records/s", f"{d.get('collector_cpu_pct', 0):.1f} % of a core")
        for key, label in (("idle:0", "collector CPU, no producer"), ("idle:10", "collector CPU, 10 idle producers")):
            m = e2e.get(key)
            if m:
                t.add(label, f"{m.get('collector_cpu_pct', 0):.3f} % of a core "
                      f"(/proc stat ticks: {m.get('collector_cpu_stat_pct', 0):.2f} %)")
        tables.append(t)

    if text_vs:
        t = Table("Text formatting: 1 producer thread end to end into a text file against formatting the same "
                  "messages with snprintf alone (no I/O, on the collector's CPU), same run",
                  ["run", "end to end records/s", "snprintf alone records/s", "ratio"])
        for x in text_vs["runs"]:
            t.add(f"run {x['run']}", fmt_rate(x["e2e_rps"]), fmt_rate(x["snprintf_rps"]), f"{x['ratio']:.3f}×")
        t.add("median", "", fmt_rate(text_vs["median_snprintf_rps"]), f"{text_vs['median_ratio']:.3f}×")
        tables.append(t)

    if scaling:
        t = Table("Scaling: producer processes (message 1, block policy, sharing CPU 0; the collector on CPU 1), "
                  "each run against the 1-process run of the same run",
                  ["producers", "records/s (median)", "÷ 1 process (median of runs)", "runs", "collector CPU per M",
                   "target", "OK (all lines)"])
        for p, x in scaling["procs"].items():
            tgt = scaling["targets"].get(p)
            t.add(p, fmt_rate(x["median_rps"]), "-" if x["median_ratio"] is None else f"{x['median_ratio']:.3f}×",
                  ", ".join("-" if y["ratio"] is None else f"{y['ratio']:.2f}" for y in x["runs"]),
                  f"{x.get('median_collector_cpu_ms_per_M') or 0:.0f} ms",
                  f"≥ {tgt:g}×" if tgt else "-", "yes" if x["all_ok"] else "NO")
        tables.append(t)
    tables += [messages_table(messages, Table, fmt_rate)] if messages else []

    if routing:
        every = routing["runs"][0].get("security_every") or 4
        t = paired_table(f"Routing end to end: 1 producer thread, message 1 at ERROR (every {every}th with "
                         f"name=login), three writers (errors.log, security.log, console → a file: "
                         f"{1 + 1 + 1 / every:.2f} lines per record) against the single file writer (threads 1) of "
                         f"the same run; target ≥ {ROUTING_TARGET:g}×", routing, "routing", "OK (lines in every file)")
        t.notes.append("  The ratio is per run (each routing run against the threads-1 run next to it); the median "
                       "is the median of those ratios. PASS needs it ≥ the target and every file complete.")
        tables.append(t)

    if syslog:
        tables.append(paired_table(f"Syslog end to end: 1 producer thread, message 1, one syslog writer (TCP, octet "
                                   f"counting) to a local receiver that reads and discards, against the single file "
                                   f"writer (threads 1) of the same run; target ≥ {SYSLOG_TARGET:g}×", syslog, "syslog",
                                   "OK (every frame)"))
    if syslog_tls:
        tables.append(paired_table("Syslog over TLS end to end: the same, TLS 1.3 to a receiver of ours (no target)",
                                   syslog_tls, "syslog_tls", "OK (every frame)"))
    if syslog_relp:
        tables.append(paired_table("Syslog over RELP end to end: the same, to a librelp receiver of ours that "
                                   "acknowledges (no target)", syslog_relp, "syslog_relp", "OK (every frame)"))
    tables += ([binary_table(binary, Table, fmt_rate)] if binary else []) + \
        ([render_table(render, Table, fmt_rate)] if render else [])
    tables += io_tables(e2e_raw, med, Table, fmt_rate)
    if encrypt:
        tables.append(paired_table(f"Encrypted text file end to end: 1 producer thread, message 1, the text file writer "
                                   f"with encrypt ({encrypt['runs'][0].get('algorithm')}; timed until the producer's flush returns, "
                                   f"its lines then counted in the opened chunks) against the plain one (threads 1) of the same run; target ≥ {ENCRYPT_TARGET:g}×",
                                   encrypt, "encrypted", "OK (every line)"))

    if cinstr:
        ref = (cinstr.get("slow") or cinstr.get("plain"))["runs"][0]
        n1, n2 = ref["n1"] or 0, ref["n2"] or 0
        t = Table(f"Collector instructions per message-1 record written as text to one file (callgrind, user space, "
                  f"shmlog-collector --once: (Ir({n2:,}) − Ir({n1:,})) ÷ {n2 - n1:,}); target ≤ "
                  f"{COLLECTOR_IR_TARGET:,}, judged with the slowed clock",
                  ["clock / run", f"Ir({n1:,})", f"Ir({n2:,})", "instructions/record"])
        for kind, label in (("slow", "slowed (no cycle cut)"), ("plain", "plain (cycles cut)"),
                            ("routing", "routing config and mix, slowed (no target)")):
            k = cinstr.get(kind)
            if not k:
                continue
            for x in k["runs"]:
                t.add(f"{label} / run {x['run']}", fmt_num(x["ir_n1"]), fmt_num(x["ir_n2"]),
                      "-" if x["per_record"] is None else f"{x['per_record']:.1f}")
            verdict = ""
            if kind == "slow":
                verdict = " " + ("(not measured)" if cinstr.get("pass") is None else
                                 "(PASS)" if cinstr["pass"] else "(FAIL)")
            t.add(f"{label} / median", "", "", "-" if k.get("median") is None else f"{k['median']:.1f}{verdict}")
        t.notes.append("  The collector ends an output cycle after 300 µs of wall time (BATCH_TIME_NS) and the next "
                       "cycle reads the rest again. Under callgrind every cycle is cut after 256 records, so the "
                       "plain count depends on valgrind's speed (before a2df85a it was ~1.9× the slowed one); with "
                       "CLOCK_REALTIME slowed 1000× (bench/slowclock.c, LD_PRELOAD) no cycle is cut and the count "
                       "is the work per record. The routing row is the routing case's config and records (2.25 "
                       "lines per record, one regex per record), for comparison.")
        tables.append(t)
        for kind, how in (("slow", "exclusive"), ("slow", "inclusive"), ("plain", "exclusive"),
                          ("routing", "exclusive")):
            rows_ = (cinstr.get(kind) or {}).get(f"by_function_{how}") or []
            if rows_:
                t = Table(f"Where a collector record's instructions go "
                          f"({ {'slow': 'slowed clock', 'plain': 'plain clock', 'routing': 'routing config, slowed clock'}[kind]}; per record; callgrind {how}, by function, release build; line by line: "
                          f"bench/results/callgrind-collector-m1.txt)", ["function", "instructions/record"])
                for name, v in rows_[:15]:
                    t.add(name, f"{v:.1f}")
                tables.append(t)

    probes = [r for r in e2e_raw if r.get("probe") == "gaps"]
    if probes:
        t = Table("The machine itself during the run (probe_gaps: a thread spinning on every CPU at once; before and "
                  "after the latency runs)", ["probe / CPU", "gaps > 10 µs", "gaps > 1 ms", "longest", "time taken"])
        for k, r in enumerate(probes):
            for cpu in r.get("cpus", []):
                t.add(f"{'before' if k == 0 else 'after'} / CPU {cpu['cpu']} ({r['seconds']:g} s)",
                      fmt_num(cpu["gaps_10us"]), fmt_num(cpu["gaps_1ms"]), f"{cpu['longest_us']:.0f} µs",
                      f"{cpu['lost_pct']:.1f} %")
        t.notes.append("  A pinned thread that only reads the TSC is interrupted only by the kernel or the hypervisor: "
                       "a gap over 1 ms here is a stall over 1 ms for any logger's call that it lands in.")
        tables.append(t)

    if instr:
        names = [n for n in ["shmlog", "shmlog-c++", "spdlog", "lttng", "fprintf", "snprintf"] if n in instr]
        t = Table("User-space instructions per log call, calling thread only (callgrind: (Ir(20000) − Ir(10000)) ÷ 10000)",
                  ["message"] + names)
        for msg in MSGS + ["m1args2", "m1kv2"]:
            t.add(msg, *[("-" if instr[n].get(msg) is None else f"{instr[n][msg]:.0f}") for n in names])
        tables.append(t)
        if breakdown.get("exclusive"):
            t = Table("Where a shmlog call's instructions go (message m1; per call; callgrind exclusive, by function)",
                      ["function", "instructions/call"])
            for name, v in breakdown["exclusive"][:12]:
                t.add(name, f"{v:.1f}")
            tables.append(t)
        hl = hot_lines(os.path.join(a.results, "callgrind-shmlog-m1.txt"), 30000) if a.instructions else \
            breakdown.get("hot_lines", [])
        if hl:
            breakdown["hot_lines"] = hl
            t = Table("The hottest source lines of a shmlog m1 call (instructions per call; callgrind, release build "
                      "with debug info, 30,000 calls)", ["file:line", "instr/call", "source"])
            for loc, v, text in hl:
                t.add(loc, f"{v:.1f}", text)
            tables.append(t)
        if breakdown.get("by_source"):
            t = Table("The same by source file of the (inlined) code (release build with debug info; "
                      "line by line: bench/results/callgrind-shmlog-m1.txt)", ["source file:function", "instructions/call"])
            for name, v in breakdown["by_source"][:14]:
                t.add(name, f"{v:.1f}")
            tables.append(t)

    # targets
    def tv(v):
        return v

    targets = []

    def target(name, measured, limit, unit, higher=False, fmt=lambda v: f"{v:.0f}", floor=None):
        if measured is None:
            targets.append({"target": name, "limit": limit, "unit": unit, "measured": None, "pass": None,
                            "higher": higher})
            return
        ok = measured >= limit if higher else measured <= limit
        if name.startswith("routing") and not routing.get("all_ok"):
            ok = False  # a routing run that lost or misrouted lines does not pass whatever its rate
        if name.startswith("syslog") and not syslog.get("all_ok"):
            ok = False  # nor a syslog run whose receiver missed frames
        if "binary" in name and not binary.get("all_ok"):
            ok = False  # a binary run that lost records does not pass
        if name.startswith("encrypted") and not encrypt.get("all_ok"):
            ok = False  # nor an encrypted run that lost lines
        if "producer processes" in name and not ((scaling.get("procs") or {}).get(name.split()[0]) or {}).get("all_ok"):
            ok = False  # likewise a scaling run that lost lines
        targets.append({"target": name, "limit": limit, "unit": unit, "measured": measured, "pass": ok, "higher": higher,
                        "shown": fmt(measured), "floor_same_run": floor,
                        "floor_shown": fmt(floor) if floor is not None else "-"})

    ns1 = lambda v: f"{v:.1f}"  # the TSC ticks in ~10 ns steps here: show that 40.1 is not 40
    target("burst p50, message 1", L("shmlog", "burst", "m1", "p50"), 40, "ns", fmt=ns1,
           floor=L("floor", "burst", "m1", "p50"))
    target("burst p99, message 1", L("shmlog", "burst", "m1", "p99"), 80, "ns", fmt=ns1,
           floor=L("floor", "burst", "m1", "p99"))
    target("burst p99.9, message 1", L("shmlog", "burst", "m1", "p99.9"), 150, "ns", fmt=ns1,
           floor=L("floor", "burst", "m1", "p99.9"))
    target("flood p99.9 (block), message 1", L("shmlog", "flood", "m1", "p99.9"), 400, "ns", fmt=ns1,
           floor=L("floor", "flood", "m1", "p99.9"))
    stalls = L("shmlog", "flood", "m1", "stalls_1ms")
    target("flood calls stalled > 1 ms, message 1", stalls, 0, "calls")
    target("instructions per call, message 1", (instr.get("shmlog") or {}).get("m1"), 70, "instructions")
    c_m1, cxx_m1 = (instr.get("shmlog") or {}).get("m1"), (instr.get("shmlog-c++") or {}).get("m1")
    target("C++ instructions per message-1 call ÷ C's", cxx_m1 / c_m1 if c_m1 and cxx_m1 else None, 1.05, "×",
           fmt=lambda v: f"{v:.3f}")
    target("below-threshold call, amortised", L("shmlog", "throughput", "below", "ns_per_call"), 2, "ns",
           fmt=lambda v: f"{v:.2f}")
    target("end to end, 1 producer thread", (e2e.get("threads:1") or {}).get("rps"), 5e6, "records/s", True,
           fmt=lambda v: f"{v / 1e6:.2f} M")
    target("collector CPU, 10 idle producers", (e2e.get("idle:10") or {}).get("collector_cpu_pct"), 0.5,
           "% of a core", fmt=lambda v: f"{v:.3f}")
    target("delivery latency p99 at 100k/s", (e2e.get("delivery:100000") or {}).get("p99_us"), 1000, "µs")
    target("routing (2 files + console) ÷ single file, end to end", routing.get("median_ratio"), ROUTING_TARGET,
           "× (same run)", True, fmt=lambda v: f"{v:.3f}")
    target("syslog (TCP, local receiver) ÷ single file, end to end, message 1", syslog.get("median_ratio"),
           SYSLOG_TARGET, "× (same run)", True, fmt=lambda v: f"{v:.3f}")
    target("collector instructions per m1 record, text to one file", cinstr.get("median"), COLLECTOR_IR_TARGET,
           "instructions")
    for k, name in (("rate", "binary file ÷ text file, end to end"), ("cpu", "collector CPU per record, binary ÷ text")):
        target(name, binary.get(f"median_{k}_ratio"), BINARY_TARGETS[k], "× (same run)", k == "rate",
               fmt=lambda v: f"{v:.3f}")
    target("encrypted text file ÷ plain text file, end to end, message 1", encrypt.get("median_ratio"), ENCRYPT_TARGET,
           "× (same run)", True, fmt=lambda v: f"{v:.3f}")
    target("text end to end, 1 thread ÷ snprintf alone", text_vs.get("median_ratio"), TEXT_TARGET, "× (same run)",
           True, fmt=lambda v: f"{v:.3f}")
    for p, lim in SCALING_TARGETS.items():
        target(f"{p} producer processes ÷ 1, end to end", ((scaling.get("procs") or {}).get(str(p)) or {})
               .get("median_ratio"), lim, "× (same run)", True, fmt=lambda v: f"{v:.3f}")
    t = Table("Targets (shmlog; the floor is bench_floor.c in the same run, for scale)",
              ["target", "limit", "measured", "floor", "result"])
    for x in targets:
        lim = x["limit"]
        lim_s = f"≥ {lim / 1e6:.0f} M records/s" if x["unit"] == "records/s" else \
            f"{'≥' if x.get('higher') else '≤'} {lim:g} {x['unit']}"
        t.add(x["target"], lim_s, "-" if x["measured"] is None else f"{x['shown']} {x['unit'] if x['unit'] != 'records/s' else 'records/s'}",
              x.get("floor_shown", "-"),
              "not measured" if x["pass"] is None else ("pass" if x["pass"] else "FAIL"))
    tables.append(t)

    png = plot(lat, a.results, a.tmp) if a.latency else (os.path.join(a.results, "latency.png")
                                                          if os.path.exists(os.path.join(a.results, "latency.png")) else None)

    m = meta["machine"]
    g = m.get("git", {})
    gs = f"shmlog {g.get('commit', '?')}{' + uncommitted changes' if g.get('uncommitted_changes_in_measured_code') else ''}"
    head = (f"shmlog bench — {meta['date']} — {m['cpu']}, {m['nproc']} CPUs, Linux {m['kernel']}, {gs}\n"
            f"command: {meta['command']}   runs: {a.runs}   LTTng: {meta['lttng']}")
    text = head + "\n\n" + "\n\n".join(t.text() for t in tables)
    print(text)
    if meta["failures"]:
        print("\nFailed cases:\n  " + "\n  ".join(meta["failures"]))

    md = [f"Measured {meta['date']} on {m['cpu']} ({m['nproc']} CPUs, Linux {m['kernel']}), {gs}, "
          f"with `{meta['command']}` ({a.runs} run(s); medians).", ""]
    md += [t.md() + "\n" for t in tables]
    with open(os.path.join(a.results, "latest.md"), "w") as f:
        f.write("\n".join(md))

    out = {"meta": meta, "latency": lat_json, "ratios_vs_peers": ratios, "end_to_end": e2e,
           "instructions_per_call": instr, "shmlog_instruction_breakdown": breakdown, "routing": routing,
           "syslog": syslog, "syslog_tls": syslog_tls, "syslog_relp": syslog_relp, "scaling": scaling, "binary": binary,
           "render": render, "encrypt": encrypt, "text_vs_snprintf": text_vs, "messages": messages,
           "collector_instructions": cinstr, "targets": targets,
           "plot": os.path.relpath(png, os.path.dirname(a.results.rstrip("/"))) if png else None,
           "raw": {"latency": raw, "end_to_end": e2e_raw, "instructions": instr_raw}}
    if not a.latency and previous:
        out["raw"]["latency"] = previous.get("raw", {}).get("latency", [])
        out["raw"]["end_to_end"] = previous.get("raw", {}).get("end_to_end", [])
    if not a.instructions and previous:
        out["raw"]["instructions"] = previous.get("raw", {}).get("instructions", [])
    with open(latest_path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nwrote {latest_path}" + (f", {png}" if png else "") + f", {os.path.join(a.results, 'latest.md')}")


if __name__ == "__main__":
    main()
