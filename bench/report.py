#!/usr/bin/env python3
"""Turn bench/run's RESULT lines into a Markdown table and a gnuplot chart.

usage: report.py RESULTS_TXT OUT_PREFIX  -> OUT_PREFIX.md, OUT_PREFIX.png

Each row is one (workload, clients, depth); each peer gets ops/s, p50 and
p99 latency (µs), CPU µs per operation (all processes), and its ratio to
objmgr's ops/s (peer / objmgr: below 1 means objmgr is faster).
"""
import os
import platform
import subprocess
import sys
from collections import OrderedDict
from datetime import datetime, timezone

PEERS = ["objmgr", "raw", "shm", "redis", "python-manager"]


def parse(path):
    rows, skips = [], []
    for line in open(path):
        parts = line.split()
        if not parts or parts[0] not in ("RESULT", "SKIP", "FAIL"):
            continue
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        kv["kind"] = parts[0]
        (rows if parts[0] == "RESULT" else skips).append(kv)
    return rows, skips


def machine():
    cpu = "unknown cpu"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(open("/proc/meminfo").readline().split()[1])
        mem = "%.0f GiB" % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return "%s, %d cores, %s, Linux %s" % (cpu, os.cpu_count() or 0, mem,
                                         platform.release())


def fmt(v, digits=0):
    v = float(v)
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:.{}f}".format(v, digits)


def main():
    src, out = sys.argv[1], sys.argv[2]
    rows, skips = parse(src)
    table = OrderedDict()
    for r in rows:
        key = (r["workload"], int(r["clients"]), int(r["depth"]))
        table.setdefault(key, {})[r["peer"]] = r
    lines = [
        "# objmgr benchmark, %s" % datetime.now(timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        "",
        "Machine: %s." % machine(),
        "",
        "All peers measured in this one run by `bench/run`, each with N "
        "forked client processes doing the same operations. ops/s: all "
        "clients together. p50/p99: latency of one call at depth 1, of a "
        "whole pipelined batch at depth 16 (µs). cpu: CPU µs per operation "
        "over every process, server included. ×: the peer's ops/s divided "
        "by objmgr's (below 1: objmgr is faster).",
        "",
    ]
    workloads = OrderedDict()
    for (w, n, d) in table:
        workloads.setdefault(w, []).append((n, d))
    for w, cells in workloads.items():
        lines.append("## %s" % w)
        lines.append("")
        lines.append("| clients | depth | peer | ops/s | p50 µs | p99 µs "
                     "| cpu µs/op | server cpu µs/op | × objmgr |")
        lines.append("|---:|---:|:---|---:|---:|---:|---:|---:|---:|")
        for (n, d) in sorted(cells):
            cell = table[(w, n, d)]
            base = float(cell["objmgr"]["ops_per_s"]) if "objmgr" in cell else None
            for p in PEERS:
                r = cell.get(p)
                if not r:
                    continue
                ratio = ("%.2f" % (float(r["ops_per_s"]) / base)) if base else "–"
                lines.append("| %d | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                    n, d, p, fmt(r["ops_per_s"]), fmt(r["p50_us"], 1),
                    fmt(r["p99_us"], 1), fmt(r["cpu_us_per_op"], 2),
                    fmt(r.get("server_cpu_us_per_op", 0), 2), ratio))
        lines.append("")
    lines += targets(table)
    if skips:
        lines.append("## Skipped or failed")
        lines.append("")
        for s in skips:
            lines.append("- %s %s" % (s["kind"], " ".join(
                "%s=%s" % (k, v) for k, v in s.items() if k != "kind")))
        lines.append("")
    lines.append("![ops/s by clients, depth 1](%s.png)" % os.path.basename(out))
    open(out + ".md", "w").write("\n".join(lines) + "\n")
    chart(table, workloads, out)


def targets(table):
    """The performance issue's targets, checked against this run's
    figures (ratios within the run)."""
    def ops(w, n, d, p):
        r = table.get((w, n, d), {}).get(p)
        return float(r["ops_per_s"]) if r else None

    def cpu(w, n, d, p):
        r = table.get((w, n, d), {}).get(p)
        return float(r["server_cpu_us_per_op"]) if r else None

    out = ["## Targets", "",
           "| target | workload | figure | met |", "|:---|:---|---:|:---:|"]

    def check(name, w, a, b, want, less=False):
        if a is None or b is None or b == 0:
            out.append("| %s | %s | – | not measured |" % (name, w))
            return
        v = a / b
        ok = v <= want if less else v >= want
        out.append("| %s | %s | %.2f× | %s |" % (name, w, v, "yes" if ok else "**no**"))

    for w in ("dict_get", "dict_set", "dict_incr"):
        check("1 client, depth 1: ≥ 0.9× raw round trip", w,
              ops(w, 1, 1, "objmgr"), ops(w, 1, 1, "raw"), 0.9)
        for n in (4, 16):
            check("%d clients: ≥ 0.85× raw" % n, w, ops(w, n, 1, "objmgr"),
                  ops(w, n, 1, "raw"), 0.85)
            check("%d clients: ≥ 1.5× Redis" % n, w, ops(w, n, 1, "objmgr"),
                  ops(w, n, 1, "redis"), 1.5)
            check("%d clients: ≥ 3× Python's Manager" % n, w,
                  ops(w, n, 1, "objmgr"), ops(w, n, 1, "python-manager"), 3)
        for n in (1, 4):
            check("depth 16, %d client(s): ≥ Redis" % n, w,
                  ops(w, n, 16, "objmgr"), ops(w, n, 16, "redis"), 1.0)
        check("server CPU per op at 16 clients ≤ Redis's", w,
              cpu(w, 16, 1, "objmgr"), cpu(w, 16, 1, "redis"), 1.0, less=True)
    for n in (4, 16):
        check("%d clients: locked read-modify-write ≥ 10× Python" % n,
              "locked_rmw", ops("locked_rmw", n, 1, "objmgr"),
              ops("locked_rmw", n, 1, "python-manager"), 10)
    out.append("")
    return out


def chart(table, workloads, out):
    """One panel per workload: ops/s against clients at depth 1, a line
    per peer (log scales)."""
    names = list(workloads)
    if not names:
        return
    dat = out + ".dat"
    with open(dat, "w") as f:
        for w in names:
            for p in PEERS:
                f.write("# %s %s\n" % (w, p))
                for (n, d) in sorted(workloads[w]):
                    r = table[(w, n, d)].get(p)
                    if d == 1 and r:
                        f.write("%d %s\n" % (n, r["ops_per_s"]))
                f.write("\n\n")
    cols = 4
    rows = (len(names) + cols - 1) // cols
    gp = ["set terminal pngcairo size %d,%d font ',9'" % (cols * 420, rows * 320),
          "set output '%s.png'" % out,
          "set multiplot layout %d,%d title 'ops/s by client processes (depth 1)'" % (rows, cols),
          "set termoption noenhanced",  # workload names have underscores
          "set logscale xy", "set xrange [0.8:100]",
          "set key left top font ',7'", "set grid",
          "set xlabel 'clients'", "set format y '%.0s%c'"]
    for wi, w in enumerate(names):
        plots = []
        for pi, p in enumerate(PEERS):
            plots.append("'%s' index %d using 1:2 with linespoints title '%s'"
                         % (dat, wi * len(PEERS) + pi, p))
        gp.append("set title '%s'" % w)
        gp.append("plot " + ", ".join(plots))
    gp.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp), text=True,
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("gnuplot failed: %s" % getattr(e, "stderr", e), file=sys.stderr)
    finally:
        os.unlink(dat)


if __name__ == "__main__":
    main()
