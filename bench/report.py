#!/usr/bin/env python3
"""Turn bench/run's RESULT lines into a Markdown table and a gnuplot chart.

usage: report.py RESULTS_TXT OUT_PREFIX  -> OUT_PREFIX.md, OUT_PREFIX.png

Each row is one (workload, clients, depth); each peer gets ops/s, p50 and
p99 latency (µs), CPU µs per operation (all processes), and its ratio to
objmgr's ops/s (peer / objmgr: below 1 means objmgr is faster). The
shared-memory workloads (issue 9) get a summary table of their own, objmgr
against raw shared memory, against itself over RPC and against Python's
multiprocessing shared objects; the process, pipe and pool workloads
(issue 10) one against Python's multiprocessing Pool and Pipe and a raw
socketpair; the targets of the three issues are checked against this
run's figures.
"""
import os
import platform
import subprocess
import sys
from collections import OrderedDict
from datetime import datetime, timezone

PEERS = ["objmgr", "objmgr-rpc", "objmgr-tcp", "raw", "shm", "redis",
         "redis-tcp", "python-manager", "python-shm", "python-mp"]
# The shared-memory workloads, in bench/run's order.
SHM_WORKLOADS = ["value_add", "array_add", "array_get", "lock_pair",
                 "sem_pair", "event_pingpong"]
# The process, pipe and pool workloads (issue 10), as parse() names them:
# pool_map once per chunk size. What one operation is, for their table.
PROC_UNITS = OrderedDict([
    ("pool_map", "tasks/s"), ("apply_async", "round trips/s"),
    ("pipe_pingpong", "round trips/s")])


def proc_base(w):
    """The workload a process/pipe/pool row belongs to ("pool_map
    chunksize=1" is pool_map's), or None for the others."""
    base = w.split()[0]
    return base if base in PROC_UNITS else None


def parse(path):
    rows, skips = [], []
    for line in open(path):
        parts = line.split()
        if not parts or parts[0] not in ("RESULT", "SKIP", "FAIL"):
            continue
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        kv["kind"] = parts[0]
        # A map's chunk size makes a workload of its own: its rows key on
        # it as the other workloads' on clients and depth.
        if kv.get("workload") == "pool_map" and "chunksize" in kv:
            kv["workload"] = "pool_map chunksize=%s" % kv["chunksize"]
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


def ratio_fmt(v):
    """A ratio: two decimals, or two significant digits below 0.1 (objmgr
    over RPC against raw shared memory is 0.0002)."""
    return "%.2f" % v if v >= 0.1 else "%.2g" % v


def small(v, digits):
    """A time in µs with `digits` decimals, more below 1 (memory-speed
    calls take tens of nanoseconds)."""
    v = float(v)
    if 0 < v < 1:
        digits = max(digits, 3)
    return fmt(v, digits)


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
        "forked client processes doing the same operations. ops: the "
        "operations measured, all clients together (a memory-speed cell "
        "runs more of them: bench/README.md). ops/s: all "
        "clients together. p50/p99: latency of one call at depth 1, of a "
        "whole pipelined batch at depth 16 (µs). cpu: CPU µs per operation "
        "over every process, server included. ×: the peer's ops/s divided "
        "by objmgr's (below 1: objmgr is faster).",
        "",
    ]
    lines += shm_summary(table)
    lines += proc_summary(table)
    workloads = OrderedDict()
    for (w, n, d) in table:
        workloads.setdefault(w, []).append((n, d))
    for w, cells in workloads.items():
        lines.append("## %s" % w)
        lines.append("")
        lines.append("| clients | depth | peer | ops | ops/s | p50 µs "
                     "| p99 µs | cpu µs/op | server cpu µs/op | × objmgr |")
        lines.append("|---:|---:|:---|---:|---:|---:|---:|---:|---:|---:|")
        for (n, d) in sorted(cells):
            cell = table[(w, n, d)]
            base = float(cell["objmgr"]["ops_per_s"]) if "objmgr" in cell else None
            for p in PEERS:
                r = cell.get(p)
                if not r:
                    continue
                ratio = ("%.2f" % (float(r["ops_per_s"]) / base)) if base else "–"
                lines.append("| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    n, d, p, fmt(r["ops"]), fmt(r["ops_per_s"]),
                    small(r["p50_us"], 1), small(r["p99_us"], 1),
                    small(r["cpu_us_per_op"], 2),
                    small(r.get("server_cpu_us_per_op", 0), 2), ratio))
        lines.append("")
    lines += targets(table)
    if skips:
        lines.append("## Skipped or failed")
        lines.append("")
        for s in skips:
            lines.append("- %s %s" % (s["kind"], " ".join(
                "%s=%s" % (k, v) for k, v in s.items() if k != "kind")))
        lines.append("")
    # A run of only the process, pipe and pool workloads has no chart.
    if chart(table, workloads, out):
        lines.append("![ops/s by clients, depth 1](%s.png)" %
                     os.path.basename(out))
    open(out + ".md", "w").write("\n".join(lines) + "\n")


def mapped(table, w, n):
    """Whether objmgr ran (w, n clients, depth 1) in shared memory."""
    r = table.get((w, n, 1), {}).get("objmgr")
    return bool(r) and r.get("shared") == "1"


def shm_summary(table):
    """The shared-memory workloads at depth 1: objmgr's ops/s against raw
    shared memory, objmgr over RPC and Python's multiprocessing objects."""
    cells = sorted((w, n) for (w, n, d) in table
                   if d == 1 and w in SHM_WORKLOADS)
    if not cells:
        return []
    cells.sort(key=lambda c: (SHM_WORKLOADS.index(c[0]), c[1]))
    out = ["## Shared-memory workloads", "",
           "Depth 1, ops/s of all clients together (event_pingpong: round "
           "trips of all pairs). objmgr maps the object and runs the call "
           "in its own process; objmgr-rpc is the same client with "
           "`OBJMGR_SHM=0`; shm is raw shared memory (pthread mutex, "
           "robust mutex, sem_t, futex); python-shm is multiprocessing's "
           "Value/Array/Lock/Semaphore/Event. The ratios are objmgr's "
           "ops/s over the other's (above 1: objmgr is faster).", ""]
    ran = [c for c in cells if "objmgr" in table[(c[0], c[1], 1)]]
    unmapped = [c for c in ran if not mapped(table, c[0], c[1])]
    if unmapped:
        out += ["**objmgr did not map its objects in %s** (shared=0): "
                "its figures there are RPC ones." %
                ("this run" if len(unmapped) == len(ran) else
                 ", ".join("%s at %d" % c for c in unmapped)), ""]
    out += ["| workload | clients | objmgr | objmgr-rpc | shm | python-shm "
            "| ÷ shm | ÷ objmgr-rpc | ÷ python-shm |",
            "|:---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (w, n) in cells:
        cell = table[(w, n, 1)]

        def rate(p):
            r = cell.get(p)
            return float(r["ops_per_s"]) if r else None

        def ratio(p):
            a, b = rate("objmgr"), rate(p)
            return ratio_fmt(a / b) if a is not None and b else "–"
        row = ["%s" % w, "%d" % n]
        for p in ("objmgr", "objmgr-rpc", "shm", "python-shm"):
            v = rate(p)
            row.append(fmt(v) if v is not None else "–")
        row += [ratio("shm"), ratio("objmgr-rpc"), ratio("python-shm")]
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    return out


def proc_summary(table):
    """The process, pipe and pool workloads: objmgr against Python's
    multiprocessing and (pipe) a raw socketpair, in their own units."""
    cells = [(w, n) for (w, n, d) in table if proc_base(w) and d == 1]
    if not cells:
        return []
    order = list(PROC_UNITS)
    cells.sort(key=lambda c: (order.index(proc_base(c[0])), c[0], c[1]))
    out = ["## Processes, pipes and pools", "",
           "pool_map: one `om_pool_map` / `Pool.map` of x*x over the ints "
           "0..N-1 on a pool of the CPU count, in tasks (items) per second. "
           "apply_async: `om_pool_apply_async` + `om_async_get` / "
           "`apply_async(...).get()` of the same function, one at a time. "
           "pipe_pingpong: two processes send a 16-byte message back and "
           "forth; objmgr's `om_pipe` is relayed by the server, python-mp "
           "is `multiprocessing.Pipe()` (`send`/`recv`), raw a "
           "`socketpair(AF_UNIX, SOCK_STREAM)` in C. cpu: µs per operation "
           "over every process (server, pool workers included). Each figure "
           "is the median of 3 runs, their range in brackets (on 2 cores a "
           "ping-pong swings with where the scheduler puts its processes, "
           "and a pool with the machine's load). The ratios are objmgr's rate over the "
           "other's (above 1: objmgr is faster).", "",
           "| workload | unit | objmgr | python-mp | raw | ÷ python-mp "
           "| ÷ raw | objmgr cpu µs/op | python-mp cpu µs/op |",
           "|:---|:---|---:|---:|---:|---:|---:|---:|---:|"]
    for (w, n) in cells:
        cell = table[(w, n, 1)]

        def rate(p):
            r = cell.get(p)
            return float(r["ops_per_s"]) if r else None

        def ratio(p):
            a, b = rate("objmgr"), rate(p)
            return ratio_fmt(a / b) if a is not None and b else "–"

        def cpu(p):
            r = cell.get(p)
            return small(r["cpu_us_per_op"], 2) if r else "–"
        def shown(p):
            """The rate, and the range of the runs it is the median of."""
            r, v = cell.get(p), rate(p)
            if v is None:
                return "–"
            if r.get("runs", "1") != "1":
                return "%s (%s–%s)" % (fmt(v), fmt(r["min_ops_per_s"]),
                                       fmt(r["max_ops_per_s"]))
            return fmt(v)
        row = [w, PROC_UNITS[proc_base(w)]]
        for p in ("objmgr", "python-mp", "raw"):
            row.append(shown(p))
        row += [ratio("python-mp"), ratio("raw"), cpu("objmgr"),
                cpu("python-mp")]
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    return out


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
           "A target's workload that this run did not measure at all is "
           "left out; one measured but not at the target's client count "
           "says so.", "",
           "| target | workload | figure | met |", "|:---|:---|---:|:---:|"]
    measured = {w for (w, n, d) in table}

    def check(name, w, a, b, want, less=False, note=""):
        if w not in measured:
            return
        if a is None or b is None or b == 0:
            out.append("| %s | %s | – | not measured |" % (name, w))
            return
        v = a / b
        ok = v <= want if less else v >= want
        figure = ratio_fmt(v) + "×"
        out.append("| %s | %s | %s%s | %s |" % (
            name, w, figure, note, "yes" if ok else "**no**"))

    def rpc_note(w, n):
        """For a shared-memory target: say so when objmgr did not map."""
        r = table.get((w, n, 1), {}).get("objmgr")
        return " (objmgr not mapped: RPC)" if r and not mapped(table, w, n) else ""

    def clients(w):
        """The client counts this run measured w at (depth 1)."""
        return sorted(n for (w2, n, d) in table if w2 == w and d == 1)

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
    # The shared-memory targets (issue 9), objmgr mapping its objects.
    for w, what in (("value_add", "value add"), ("array_add", "array add"),
                    ("lock_pair", "lock acquire+release")):
        for n in (1, 4):
            check("%s, %d client%s: ≥ 1/3 of raw shared memory"
                  % (what, n, "s" if n > 1 else ""), w,
                  ops(w, n, 1, "objmgr"), ops(w, n, 1, "shm"), 1 / 3,
                  note=rpc_note(w, n))
    for n in [n for n in clients("value_add") if n <= 16] or [1, 4]:
        check("value add, %d client%s: ≥ 10× multiprocessing.Value with its "
              "lock" % (n, "s" if n > 1 else ""), "value_add",
              ops("value_add", n, 1, "objmgr"),
              ops("value_add", n, 1, "python-shm"), 10,
              note=rpc_note("value_add", n))
    for n in (4, 16):
        check("contended lock hand-over, %d clients: ≥ 0.5× a robust "
              "process-shared mutex" % n, "lock_pair",
              ops("lock_pair", n, 1, "objmgr"),
              ops("lock_pair", n, 1, "shm"), 0.5,
              note=rpc_note("lock_pair", n))
    # The process, pipe and pool targets (issue 10).
    for cs, want in (("1", 5), ("100", 1)):
        w = "pool_map chunksize=%s" % cs
        check("pool.map, chunksize %s: ≥ %d× Python's Pool" % (cs, want), w,
              ops(w, 1, 1, "objmgr"), ops(w, 1, 1, "python-mp"), want)
    check("pipe round trips: ≥ Python's multiprocessing.Pipe",
          "pipe_pingpong", ops("pipe_pingpong", 2, 1, "objmgr"),
          ops("pipe_pingpong", 2, 1, "python-mp"), 1)
    if out[-1].startswith("|:---"):
        return []  # no target for this run's workloads
    out.append("")
    return out


def chart(table, workloads, out):
    """One panel per workload: ops/s against clients at depth 1, a line
    per peer (log scales). Returns whether there was anything to draw."""
    # The process, pipe and pool workloads have one client count each:
    # nothing to draw against clients (their table says it all).
    names = [w for w in workloads if not proc_base(w)]
    if not names:
        return False
    # Each panel plots the peers that have a figure in it (gnuplot fails
    # on a data block without points); a workload with none has no panel.
    lines = {w: [p for p in PEERS
                 if any(d == 1 and p in table[(w, n, d)]
                        for (n, d) in workloads[w])]
             for w in names}
    names = [w for w in names if lines[w]]
    if not names:
        return False
    dat = out + ".dat"
    index = {}
    with open(dat, "w") as f:
        for w in names:
            for p in lines[w]:
                index[(w, p)] = len(index)
                f.write("# %s %s\n" % (w, p))
                for (n, d) in sorted(workloads[w]):
                    r = table[(w, n, d)].get(p)
                    if d == 1 and r:
                        f.write("%d %s\n" % (n, r["ops_per_s"]))
                f.write("\n\n")
    cols = 4
    rows = (len(names) + cols - 1) // cols
    gp = ["set terminal pngcairo size %d,%d font ',9'" % (cols * 500, rows * 320),
          "set output '%s.png'" % out,
          "set multiplot layout %d,%d title 'ops/s by client processes (depth 1)'" % (rows, cols),
          "set termoption noenhanced",  # workload names have underscores
          "set logscale xy", "set xrange [0.8:100]",
          "set key outside right top font ',7'", "set grid",
          "set xlabel 'clients'", "set format y '%.0s%c'"]
    for w in names:
        plots = []
        for p in lines[w]:
            # A fixed style per peer, so each has one colour in every panel.
            plots.append("'%s' index %d using 1:2 with linespoints lt %d "
                         "title '%s'" % (dat, index[(w, p)],
                                         PEERS.index(p) + 1, p))
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
    return True


if __name__ == "__main__":
    main()
