"""report_scaling.py — the end-to-end cases that pair runs with a reference of the
same run: the text path against snprintf alone, and P producer processes against one
(report.py prints their tables and targets). med is report.py's median of non-None values."""


TEXT_TARGET = 1.4  # text end to end (1 thread, m1) ÷ snprintf alone (the same messages, no I/O), same run


def text_summary(rows, med):
    """The 1-thread text end to end against snprintf alone (bench_e2e snprintf), paired by run."""
    ref = {r.get("run"): r for r in rows if r.get("scenario") == "snprintf"}
    runs = []
    for r in rows:
        s_ = ref.get(r.get("run"))
        if r.get("scenario") == "threads" and r.get("producers") == 1 and s_ and s_.get("rps") and r.get("rps"):
            runs.append({"run": r.get("run"), "e2e_rps": r["rps"], "snprintf_rps": s_["rps"],
                         "ratio": r["rps"] / s_["rps"], "ok": bool(r.get("ok"))})
    if not runs:
        return {}
    return {"runs": runs, "median_ratio": med([x["ratio"] for x in runs]), "target": TEXT_TARGET,
            "median_snprintf_rps": med([x["snprintf_rps"] for x in runs]), "all_ok": all(x["ok"] for x in runs)}


SCALING_TARGETS = {16: 0.8, 64: 0.7}  # rate with P producer processes ÷ rate with 1, same run


def scaling_summary(rows, med):
    """Producer processes 1, 4, 16, 64: each run's rate against the 1-process rate of the same run."""
    procs = {}
    for r in rows:
        if r.get("scenario") == "procs" and r.get("producers"):
            procs.setdefault(r["producers"], {})[r.get("run")] = r
    one = procs.get(1, {})
    if not one:
        return {}
    m = {"procs": {}, "targets": {str(k): v for k, v in SCALING_TARGETS.items()}}
    for p in sorted(procs):
        runs = []
        for run, r in sorted(procs[p].items(), key=lambda x: x[0] or 0):
            base = one.get(run)
            runs.append({"run": run, "rps": r.get("rps"), "ok": bool(r.get("ok")),
                         "ratio": r["rps"] / base["rps"] if base and base.get("rps") and r.get("rps") else None,
                         "collector_cpu_ms_per_M": r.get("collector_cpu_ms_per_M")})
        x = {"runs": runs, "median_rps": med([y["rps"] for y in runs]),
             "median_ratio": med([y["ratio"] for y in runs]), "all_ok": all(y["ok"] for y in runs),
             "median_collector_cpu_ms_per_M": med([y["collector_cpu_ms_per_M"] for y in runs])}
        if p in SCALING_TARGETS and x["median_ratio"] is not None:
            x["pass"] = x["median_ratio"] >= SCALING_TARGETS[p] and x["all_ok"]
        m["procs"][str(p)] = x
    return m


MESSAGES = {"threads": "m1", "threads-mixed8": "mixed8", "threads-str200": "str200"}  # bench_e2e --message


def messages_summary(rows, med):
    """1 producer thread end to end into a text file, per message (run.sh runs mixed8 and str200 with
    --scaling): median records/s and collector CPU. {} when only message 1 ran."""
    by = {}
    for r in rows:
        name = MESSAGES.get(r.get("scenario"))
        if name and r.get("producers") == 1 and r.get("rps"):
            by.setdefault(name, []).append(r)
    if len(by) < 2:
        return {}
    return {n: {"median_rps": med([r["rps"] for r in v]), "runs": len(v), "all_ok": all(r.get("ok") for r in v),
                "median_collector_cpu_ms_per_M": med([r.get("collector_cpu_ms_per_M") for r in v])}
            for n, v in by.items()}


def messages_table(m, table, fmt_rate):
    """report.py's table of messages_summary (table: its Table class)."""
    t = table("Messages end to end: 1 producer thread into a text file, per message of bench.h (m1, mixed8: eight "
              "conversions of every kind, str200: one 200-byte %s)",
              ["message", "records/s (median)", "collector CPU per M (median)", "runs", "OK (all lines)"])
    for n in ("m1", "mixed8", "str200"):
        x = m.get(n)
        if x:
            t.add(n, fmt_rate(x["median_rps"]), f"{x['median_collector_cpu_ms_per_M'] or 0:.0f} ms", str(x["runs"]),
                  "yes" if x["all_ok"] else "NO")
    return t
