"""report_io.py — the I/O floor of bench/report.py: what the kernel alone charges, on this machine, to
write the bytes each end-to-end case produces, and what that bounds. iofloor.c measures the CPU per
byte of appending to the file system the cases write to (write(2), 256 KiB at a time, on the
collector's CPU), in the same run; bench_e2e reports each case's output bytes (out_bytes). The
collector writes through io_uring, which on tmpfs hands every write to a kernel worker on the same
CPU, so its real I/O cost is higher: what follows are bounds, not estimates. Split from report.py
to keep each file short. sealfloor.c measures sealing's CPU per plaintext byte (the collector's
sealing code, 64 KiB chunks, warm buffers) in the same run, which bounds the encrypted case the same way."""

# (scenario, label, the JSON rows' selector)
CASES = (("threads", "text file (threads 1)", lambda r: r.get("producers") == 1),
         ("routing", "routing: three writers", lambda r: True),
         ("binary", "binary file", lambda r: True),
         ("encrypted", "encrypted text file", lambda r: True))


def io_summary(rows, med):
    """The I/O floor per case (medians over the runs), or {} without an iofloor row."""
    floor = [r for r in rows if r.get("scenario") == "iofloor"]
    if not floor:
        return {}
    c = med([r["append_ns_per_byte"] for r in floor])
    s = {"append_ns_per_byte": c, "overwrite_ns_per_byte": med([r["overwrite_ns_per_byte"] for r in floor]),
         "dir": floor[0].get("dir"), "cases": {}}
    for scen, label, sel in CASES:
        runs = [r for r in rows if r.get("scenario") == scen and sel(r) and r.get("out_bytes") and r.get("rps")]
        if not runs:
            continue
        bpr = med([r["out_bytes"] / r["records"] for r in runs])
        s["cases"][scen] = {"label": label, "bytes_per_record": bpr, "floor_ns": bpr * c,
                            "e2e_ns": med([1e9 / r["rps"] for r in runs]),
                            "cpu_ns": med([r.get("collector_cpu_ms_per_M") or 0 for r in runs])}
    seal = [r for r in rows if r.get("scenario") == "sealfloor"]
    if seal and "encrypted" in s["cases"]:
        e = s["cases"]["encrypted"]
        s["seal"] = {"algorithm": seal[0].get("algorithm"), "ns_per_byte": med([r["seal_ns_per_byte"] for r in seal])}
        e["seal_ns"] = e["bytes_per_record"] * s["seal"]["ns_per_byte"]
    return s


def bounds(s):
    """What the floor alone bounds: the routing and binary ratios, and text end to end against snprintf."""
    k, out = s["cases"], {}
    if "threads" in k and "routing" in k:
        t, r = k["threads"], k["routing"]
        # the routing case at the single writer's time per record plus only the floor of its extra bytes
        out["routing_ratio_at_most"] = t["e2e_ns"] / (t["e2e_ns"] + r["floor_ns"] - t["floor_ns"])
    if "threads" in k and "binary" in k and k["threads"]["cpu_ns"]:
        out["binary_cpu_ratio_at_least"] = k["binary"]["floor_ns"] / k["threads"]["cpu_ns"]
    if "threads" in k and "seal_ns" in k.get("encrypted", {}):
        t = k["threads"]
        # the plain writer's time per record plus only the sealing of its bytes, on the same core
        out["encrypted_ratio_bound"] = t["e2e_ns"] / (t["e2e_ns"] + k["encrypted"]["seal_ns"])
    if "threads" in k:
        out["text_rps_at_most"] = 1e9 / k["threads"]["floor_ns"]
    return out


def io_tables(rows, med, Table, fmt_rate):
    """[the I/O floor table], or [] when the run measured no floor."""
    s = io_summary(rows, med)
    if not s or not s["cases"]:
        return []
    t = Table(f"The I/O floor: the kernel's CPU to append the bytes each case writes (iofloor: "
              f"{s['append_ns_per_byte']:.3f} ns per byte appended to {s['dir']}, "
              f"{s['overwrite_ns_per_byte']:.3f} written over in place; same run, collector's CPU)",
              ["case", "bytes per record", "floor per record", "end to end per record", "collector CPU per record",
               "floor ÷ collector CPU"])
    for x in s["cases"].values():
        t.add(x["label"], f"{x['bytes_per_record']:.1f}", f"{x['floor_ns']:.1f} ns", f"{x['e2e_ns']:.1f} ns",
              f"{x['cpu_ns']:.1f} ns", f"{x['floor_ns'] / x['cpu_ns']:.0%}" if x["cpu_ns"] else "-")
    if "seal" in s:
        e = s["cases"]["encrypted"]
        t.notes.append(f"  The seal floor (sealfloor: {s['seal']['ns_per_byte']:.3f} ns of CPU per byte sealed with "
                       f"{s['seal']['algorithm']}, 64 KiB chunks, warm buffers; same run, collector's CPU): "
                       f"{e['seal_ns']:.1f} ns per encrypted record, on top of the bytes' I/O floor.")
    b = bounds(s)
    if "routing_ratio_at_most" in b:
        t.notes.append(f"  Routing ÷ single file can be at most {b['routing_ratio_at_most']:.3f}× here: the single "
                       "writer's time per record plus only the floor of the routing case's extra bytes (no more "
                       "user-space work than one writer's). This assumes the single case keeps the "
                       "collector's CPU busy, as it does here (the producer outruns the collector), so the extra "
                       "bytes' kernel time adds to its time.")
    if "binary_cpu_ratio_at_least" in b:
        t.notes.append(f"  Binary ÷ text collector CPU is at least {b['binary_cpu_ratio_at_least']:.3f}× here: the "
                       "floor of the binary bytes alone, against the text writer's whole CPU; what is left of "
                       "the target is all the collector may spend per record in user space.")
    if "encrypted_ratio_bound" in b:
        t.notes.append(f"  Encrypted ÷ plain text file comes to about {b['encrypted_ratio_bound']:.3f}× here with "
                       "the sealing on the collector's core: the plain writer's time per record plus only the seal "
                       "floor of its bytes (the same bytes are written either way); the two floors are measured "
                       "apart, so the case itself may land a few per cent either side of it.")
    if "text_rps_at_most" in b:
        t.notes.append(f"  Text end to end cannot pass {fmt_rate(b['text_rps_at_most'])} here, even with "
                       "formatting and reading for free.")
    return [t]
