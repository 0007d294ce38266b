"""report_callgrind.py — bench/report.py's reading of callgrind: callgrind_annotate output parsed into
instructions per function, and differenced between two runs of N1 and N2 records (or calls) into
instructions per record. Split from report.py to keep each file short."""
import os
import re

COLLECTOR_IR_TARGET = 1000  # collector instructions per message-1 record, text to one file


ANNOT_RE = re.compile(r"^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(\S.*?)\s*$")


def parse_annotate(path):
    funcs = {}
    if not os.path.exists(path):
        return funcs
    started = False
    with open(path) as f:
        for line in f:
            if "file:function" in line:
                started = True
                continue
            if not started or line.startswith("--"):
                continue
            m = ANNOT_RE.match(line)
            if not m:
                continue
            name = m.group(2)
            if "PROGRAM TOTALS" in name:
                continue
            name = re.sub(r"\s*\[[^\]]*\]$", "", name)  # object file
            name = re.sub(r"^\?\?\?:", "", name)
            name = re.sub(r"^.*/(?:sysdeps|string)/.*/([^/]+:)", r"libc \1", name)
            name = name.replace("build-release-g/../producer/../", "").replace("build-release-g/../", "")
            funcs[name] = funcs.get(name, 0) + int(m.group(1).replace(",", ""))
    return funcs


def shmlog_breakdown(cg_dir):
    """Per-call instructions of each function, from the difference of two callgrind runs."""
    res = {}
    for kind, suffix in (("exclusive", ""), ("inclusive", "i"), ("by_source", "g")):
        a = parse_annotate(os.path.join(cg_dir, f"annot10{suffix}.txt"))
        b = parse_annotate(os.path.join(cg_dir, f"annot20{suffix}.txt"))
        rows = []
        for name in set(a) | set(b):
            d = (b.get(name, 0) - a.get(name, 0)) / 10000.0
            if d >= 0.5:
                rows.append([name, round(d, 1)])
        rows.sort(key=lambda r: -r[1])
        res[kind] = rows[:25]
    return res


def collector_instr(rows, cg_dir, med):
    """The collector's instructions per record, (Ir(n2) − Ir(n1)) ÷ (n2 − n1) per run, for each clock
    (slow: CLOCK_REALTIME slowed by bench/slowclock.c, no output cycle cut: the target's figure;
    plain: as callgrind runs it, every cycle cut by the 300 µs budget), and by function."""
    out = {"target": COLLECTOR_IR_TARGET}
    for kind in ("slow", "plain", "routing"):
        runs = []
        for r in rows:
            if r.get("clock", "plain") != kind:
                continue
            a, b, d = r.get("ir_n1", -1), r.get("ir_n2", -1), r.get("n2", 0) - r.get("n1", 0)
            runs.append({"run": r.get("run"), "n1": r.get("n1"), "n2": r.get("n2"), "ir_n1": a, "ir_n2": b,
                         "per_record": (b - a) / d if a > 0 and b > 0 and d > 0 else None})
        if not runs:
            continue
        m = {"runs": runs, "median": med([x["per_record"] for x in runs])}
        d = runs[0]["n2"] - runs[0]["n1"] if runs[0]["n1"] and runs[0]["n2"] else 0
        for how, suffix in (("exclusive", ""), ("inclusive", "i")):
            x1 = parse_annotate(os.path.join(cg_dir, f"annot.{kind}.1{suffix}.txt"))
            x2 = parse_annotate(os.path.join(cg_dir, f"annot.{kind}.2{suffix}.txt"))
            fr = [[name, round((x2.get(name, 0) - x1.get(name, 0)) / d, 1)] for name in set(x1) | set(x2)] if d else []
            fr = sorted((f for f in fr if f[1] >= 0.5), key=lambda f: -f[1])
            m[f"by_function_{how}"] = fr[:25]
        out[kind] = m
    if not any(k in out for k in ("slow", "plain", "routing")):
        return {}
    out["median"] = (out.get("slow") or {}).get("median")
    out["pass"] = None if out["median"] is None else out["median"] <= COLLECTOR_IR_TARGET
    return out

def hot_lines(path, calls, top=16):
    """Top source lines of callgrind_annotate --auto=yes output, in instructions per call."""
    rows = []
    if not os.path.exists(path):
        return rows
    src, line_no = None, None
    with open(path) as f:
        for raw in f:
            raw = raw.rstrip("\n")
            m = re.match(r"^-- Auto-annotated source: (.*)$", raw)
            if m:
                src = m.group(1).replace("build-release-g/../", "").replace("producer/../", "")
                line_no = None
                continue
            m = re.match(r"^-- line (\d+) -+$", raw)
            if m:
                line_no = int(m.group(1))
                continue
            if src is None or line_no is None:
                continue
            m = re.match(r"^\s*([\d,]+|\.)\s(.*)$", raw)
            if not m:
                continue
            text = m.group(2)
            if not text.lstrip().startswith("=>"):
                if m.group(1) != ".":
                    n = int(m.group(1).replace(",", ""))
                    if n / calls >= 1.0 and "bench" not in os.path.basename(src):
                        rows.append([f"{os.path.basename(src)}:{line_no}", round(n / calls, 1), text.strip()[:70]])
                line_no += 1
    rows.sort(key=lambda r: -r[1])
    return rows[:top]
