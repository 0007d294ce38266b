"""report_binary.py — two cases of bench/report.py, each against the text file writer (`threads 1`)
of the same run, paired by run (the end-to-end rate and the collector CPU per record):

- the binary case: the binary writer (bench_e2e threads --format binary, scenario "binary");
- the render-threads case: the text file writer with collector.threads = 2 and the collector
  allowed both CPUs (scenario "render2"). The claim it checks: a second render thread does not
  slow a 2-core machine down (rate ratio >= 1 in the median; single runs are noisier); beside it
  threads = 1 allowed both CPUs too (scenario "render1"), for what leaving its CPU costs alone.

Split from report.py (which passes its helpers in) to keep each file short."""

BINARY_TARGETS = {"rate": 3.0, "cpu": 0.2}  # binary ÷ text file (threads 1), same run


def paired_with_text(rows, med, scenario, base, case):
    """Each run of scenario against `threads 1` (the text file writer) of the same run: rates and CPU per record
    (named base_* and case_*), their ratios, per run and median."""
    text = {r.get("run"): r for r in rows if r.get("scenario") == "threads" and r.get("producers") == 1}
    runs = []
    for r in (x for x in rows if x.get("scenario") == scenario):
        s = text.get(r.get("run")) or {}
        tc, bc = s.get("collector_cpu_ms_per_M"), r.get("collector_cpu_ms_per_M")
        runs.append({"run": r.get("run"), f"{base}_rps": s.get("rps"), f"{case}_rps": r.get("rps"),
                     "rate_ratio": r["rps"] / s["rps"] if s.get("rps") else None,
                     f"{base}_cpu_ms_per_M": tc, f"{case}_cpu_ms_per_M": bc,
                     "cpu_ratio": bc / tc if tc and bc is not None else None,
                     "ok": bool(r.get("ok")) and bool(s.get("ok"))})
    if not runs:
        return {}
    runs.sort(key=lambda x: x["run"] or 0)
    return {"runs": runs, "all_ok": all(x["ok"] for x in runs),
            **{f"median_{k}": med([x[k] for x in runs]) for k in
               ("rate_ratio", "cpu_ratio", f"{base}_rps", f"{case}_rps", f"{base}_cpu_ms_per_M", f"{case}_cpu_ms_per_M")}}


def binary_summary(rows, med):
    """The binary writer against `threads 1` (the text file writer) of the same run: rate and CPU per record."""
    b = paired_with_text(rows, med, "binary", "text", "binary")
    return {**b, "targets": BINARY_TARGETS} if b else {}


def binary_table(b, Table, fmt_rate):
    t = Table("Binary log end to end: 1 producer thread, message 1, into a binary writer against the text file "
              f"writer (threads 1) of the same run; targets: rate ≥ {BINARY_TARGETS['rate']:g}×, collector CPU "
              f"per record ≤ {BINARY_TARGETS['cpu']:g}×", ["run", "text records/s", "binary records/s", "rate ratio",
                                                      "collector CPU per M (text / binary)", "CPU ratio", "OK"])
    f3 = lambda v: "-" if v is None else f"{v:.3f}×"
    for x in b["runs"] + [dict(run="median", ok=b["all_ok"], **{k[7:]: v for k, v in b.items() if k.startswith("median_")})]:
        t.add(x["run"] if x["run"] == "median" else f"run {x['run']}", fmt_rate(x["text_rps"]),
              fmt_rate(x["binary_rps"]), f3(x["rate_ratio"]),
              f"{x['text_cpu_ms_per_M'] or 0:.0f} / {x['binary_cpu_ms_per_M'] or 0:.0f} ms", f3(x["cpu_ratio"]),
              "yes" if x["ok"] else "NO")
    t.notes.append("  Ratios are per run (each binary run against the text run next to it); medians of those.")
    return t


def render_summary(rows, med):
    """collector.threads = 2 against `threads 1` of the same run: rate and CPU per record, per run and median;
    and against threads = 1 with the collector on both CPUs too (scenario "render1"), when the run has it."""
    b = paired_with_text(rows, med, "render2", "one", "two")
    both = {r.get("run"): r for r in rows if r.get("scenario") == "render1"}
    for x in b.get("runs", []):
        r = both.get(x["run"]) or {}
        x["both_rps"] = r.get("rps")
        x["both_ratio"] = x["two_rps"] / r["rps"] if r.get("rps") and x["two_rps"] else None
        x["ok"] = x["ok"] and bool(r.get("ok", True))
    if b and any(x["both_rps"] for x in b["runs"]):
        b["median_both_rps"] = med([x["both_rps"] for x in b["runs"] if x["both_rps"]])
        b["median_both_ratio"] = med([x["both_ratio"] for x in b["runs"] if x["both_ratio"]])
    return b


def render_table(b, Table, fmt_rate):
    t = Table("Render threads: 1 producer thread, message 1, the text file writer with collector.threads = 2 "
              "(the collector allowed both CPUs) against threads = 1 (the collector on its one CPU) of the same "
              "run; claim: not slower (rate ratio ≥ 1); and against threads = 1 allowed both CPUs too",
              ["run", "threads = 1", "threads = 1, both CPUs", "threads = 2", "rate ratio (2 ÷ 1)",
               "2 ÷ 1 on both CPUs", "collector CPU per M (1 / 2)", "CPU ratio", "OK"])
    f3 = lambda v: "-" if v is None else f"{v:.3f}×"
    for x in b["runs"] + [dict(run="median", ok=b["all_ok"], **{k[7:]: v for k, v in b.items() if k.startswith("median_")})]:
        t.add(x["run"] if x["run"] == "median" else f"run {x['run']}", fmt_rate(x["one_rps"]),
              fmt_rate(x.get("both_rps")) if x.get("both_rps") else "-", fmt_rate(x["two_rps"]),
              f3(x["rate_ratio"]), f3(x.get("both_ratio")),
              f"{x['one_cpu_ms_per_M'] or 0:.0f} / {x['two_cpu_ms_per_M'] or 0:.0f} ms", f3(x["cpu_ratio"]),
              "yes" if x["ok"] else "NO")
    t.notes.append("  Ratios are per run (each threads = 2 run against the threads = 1 runs next to it); medians of "
                   "those. The CPU is the collector's in all, both threads and the io-wq worker. With "
                   "threads_adaptive (the default) the helpers render only in the cycles the collector's own "
                   "measure says they make faster (docs/collector.md, \"More than one core\").")
    return t
