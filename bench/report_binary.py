"""report_binary.py — the binary case of bench/report.py: the binary writer (bench_e2e threads
--format binary, scenario "binary") against the text file writer (`threads 1`) of the same run,
paired by run: the end-to-end rate and the collector CPU per record. Split from report.py (which
passes its helpers in) to keep each file short."""

BINARY_TARGETS = {"rate": 3.0, "cpu": 0.2}  # binary ÷ text file (threads 1), same run


def binary_summary(rows, med):
    """The binary writer against `threads 1` (the text file writer) of the same run: rate and CPU per record."""
    text = {r.get("run"): r for r in rows if r.get("scenario") == "threads" and r.get("producers") == 1}
    runs = []
    for r in (x for x in rows if x.get("scenario") == "binary"):
        s = text.get(r.get("run")) or {}
        tc, bc = s.get("collector_cpu_ms_per_M"), r.get("collector_cpu_ms_per_M")
        runs.append({"run": r.get("run"), "text_rps": s.get("rps"), "binary_rps": r.get("rps"),
                     "rate_ratio": r["rps"] / s["rps"] if s.get("rps") else None,
                     "text_cpu_ms_per_M": tc, "binary_cpu_ms_per_M": bc,
                     "cpu_ratio": bc / tc if tc and bc is not None else None,
                     "ok": bool(r.get("ok")) and bool(s.get("ok"))})
    if not runs:
        return {}
    runs.sort(key=lambda x: x["run"] or 0)
    return {"runs": runs, "targets": BINARY_TARGETS, "all_ok": all(x["ok"] for x in runs),
            **{f"median_{k}": med([x[k] for x in runs]) for k in
               ("rate_ratio", "cpu_ratio", "text_rps", "binary_rps", "text_cpu_ms_per_M", "binary_cpu_ms_per_M")}}


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
