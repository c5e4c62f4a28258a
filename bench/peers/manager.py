#!/usr/bin/env python3
"""The Python multiprocessing.Manager peer of the benchmark.

    python3 bench/peers/manager.py --workload W [--clients N] [--depth D]
        [--ops K] [--keys K] [--value-size B]

does what bench/common.c does for the C peers, in the same shape, so the
figures compare: it starts a Manager (the server process), makes the
dict, list, Queue, Lock and Value the workloads use, forks N client
processes (the 'fork' context: each child inherits the proxies and opens
its own connection to the manager on first use), holds them at a start
gate until all are connected, times the operations with
time.perf_counter_ns, and prints one line in common.h's format:

    RESULT peer=python-manager workload=W clients=N depth=1 ops=T
        ops_per_s=X p50_us=A p99_us=B cpu_us_per_op=C server_cpu_us_per_op=S

(or SKIP / FAIL). The measured window, like common.c's, runs from the gate
opening to the end of the last client's last operation; the client CPU is
each child's own CPU time over its run (time.process_time, the
CLOCK_PROCESS_CPUTIME_ID common.c reads), the server CPU is the manager
process's utime + stime from /proc/PID/stat (all its threads) before the
gate opens and after the clients have exited.

Workloads, written the way a Python programmer writes them:
    dict_set     d[k] = v
    dict_get     d[k]                     (the keys are preloaded)
    dict_incr    d[k] += 1                (a get and a set: not atomic)
    list_append  l.append(v)
    queue_pair   q.put(v); q.get()        (one op = the pair)
    lock_pair    lock.acquire(); lock.release()
    value_add    v.value += 1             (a get and a set: not atomic)
    locked_rmw   with lock: v.value += 1  (the atomic way to do it)
Proxies have no pipelining, so depth > 1 is skipped.
"""

import argparse
import multiprocessing as mp
import os
import select
import sys
import time

PEER = "python-manager"
WORKLOADS = ("dict_set", "dict_get", "dict_incr", "list_append",
             "queue_pair", "lock_pair", "value_add", "locked_rmw")
# As in common.c: latency samples kept per client, and the time limits.
SAMPLES_PER_CHILD = 20000
READY_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 300.0

# Child status codes, as in common.c.
CHILD_RUNNING, CHILD_OK, CHILD_CONNECT_FAILED, CHILD_RUN_FAILED = range(4)


def parse_args():
    """The options of common.h's bench_parse(), with its defaults. --address
    and --server-pid are accepted so every peer takes the same command
    line, but unused: this script starts its own server."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True, choices=WORKLOADS)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--ops", type=int, default=10000)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--value-size", type=int, default=16)
    ap.add_argument("--address", help=argparse.SUPPRESS)
    ap.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    o = ap.parse_args()
    for name in ("clients", "depth", "ops", "keys"):
        if getattr(o, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if o.value_size < 0:
        ap.error("--value-size must not be negative")
    return o


def head(o):
    """The fields every output line starts with."""
    return (f"peer={PEER} workload={o.workload} clients={o.clients} "
            f"depth={o.depth}")


def fail(o, reason):
    print(f"FAIL {head(o)} reason={reason}", flush=True)
    return 1


def key_base(o, client):
    """Where client `client` starts in the key space: the same spread as
    common.c's bench_key(), so the clients work on different keys."""
    return client * o.keys // o.clients


def server_cpu(pid):
    """CPU seconds (utime + stime, all threads) process `pid` has used,
    or -1 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return -1.0
    # The command name (field 2) may hold spaces: split after its ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def make_op(o, objs, client):
    """The function doing operation number i for this client."""
    d, lst, q, lock, v = objs
    value = b"v" * o.value_size
    keys, base = o.keys, key_base(o, client)
    w = o.workload

    if w == "dict_set":
        def op(i):
            d[f"k{(base + i) % keys}"] = value
    elif w == "dict_get":
        def op(i):
            d[f"k{(base + i) % keys}"]  # KeyError if not preloaded
    elif w == "dict_incr":
        def op(i):
            # Two round trips, __getitem__ then __setitem__, with nothing
            # between them: two clients on the same key can both read n
            # and both write n + 1. NOT atomic in a Manager -- which is
            # the point of measuring it against an atomic om_dict_incr.
            d[f"k{(base + i) % keys}"] += 1
    elif w == "list_append":
        def op(i):
            lst.append(value)
    elif w == "queue_pair":
        def op(i):
            # Each client puts before it gets, so get never waits long.
            q.put(value)
            q.get()
    elif w == "lock_pair":
        def op(i):
            lock.acquire()
            lock.release()
    elif w == "value_add":
        def op(i):
            # A get of .value and a set of it: NOT atomic, increments
            # are lost under contention (reported on stderr at the end).
            v.value += 1
    else:  # locked_rmw
        def op(i):
            # The correct idiom: four round trips (acquire, get, set,
            # release) where objmgr needs one om_value_add.
            with lock:
                v.value += 1
    return op


def connect(o, objs):
    """Open this process's connection to the manager before the gate: a
    proxy connects on its first call, which must not be timed. The calls
    read without changing anything (the lock is taken and released)."""
    d, lst, q, lock, v = objs
    w = o.workload
    if w.startswith("dict_"):
        len(d)
    elif w == "list_append":
        len(lst)
    elif w == "queue_pair":
        q.qsize()
    else:
        if w != "value_add":
            lock.acquire()
            lock.release()
        if w != "lock_pair":
            v.value


def child(o, objs, client, shared, ready_w, gate_r, gate_w):
    """The body of client process `client` (a forked mp.Process)."""
    status, failed_op, t_end, cpu_s, nsamples, lat_us = shared
    # Only the parent may hold the gate's write end, or it never opens.
    os.close(gate_w)
    try:
        op = make_op(o, objs, client)
        connect(o, objs)
    except Exception as e:  # report it, then let the parent say FAIL
        print(f"manager.py: client {client}: connect: {e!r}",
              file=sys.stderr)
        status[client] = CHILD_CONNECT_FAILED
        os.write(ready_w, b"!")
        os._exit(1)
    os.write(ready_w, b".")

    # The gate: read() returns b"" when the parent closes the write end.
    os.read(gate_r, 1)
    os.close(gate_r)

    # Time every stride-th operation so at most SAMPLES_PER_CHILD are
    # kept, spread over the whole run, as common.c does.
    stride = -(-o.ops // SAMPLES_PER_CHILD)
    base = client * SAMPLES_PER_CHILD
    n = 0
    clock = time.perf_counter_ns
    cpu0 = time.process_time()
    try:
        for i in range(o.ops):
            if i % stride == 0 and n < SAMPLES_PER_CHILD:
                t = clock()
                op(i)
                lat_us[base + n] = (clock() - t) / 1e3
                n += 1
            else:
                op(i)
    except Exception as e:
        print(f"manager.py: client {client}: op {i}: {e!r}",
              file=sys.stderr)
        failed_op[client] = i
        status[client] = CHILD_RUN_FAILED
    # monotonic_ns and perf_counter_ns are both CLOCK_MONOTONIC on Linux,
    # comparable across processes (the parent's t0 is monotonic_ns too).
    t_end[client] = time.monotonic_ns() / 1e9
    cpu_s[client] = time.process_time() - cpu0
    nsamples[client] = n
    if status[client] == CHILD_RUNNING:
        status[client] = CHILD_OK


def prepare(o, objs):
    """Put the objects the workload uses in their starting state."""
    d, lst, q, lock, v = objs
    if o.workload == "dict_get":
        d.update({f"k{k}": b"v" * o.value_size for k in range(o.keys)})
    elif o.workload == "dict_incr":
        d.update({f"k{k}": 0 for k in range(o.keys)})


def check(o, objs):
    """After the run: what the objects must hold. Returns a FAIL reason,
    or None. Increments lost by the non-atomic workloads are not a
    failure (that is what they show) but are reported on stderr."""
    d, lst, q, lock, v = objs
    total = o.clients * o.ops
    if o.workload in ("dict_incr", "value_add"):
        got = sum(d.values()) if o.workload == "dict_incr" else v.value
        if got != total:
            print(f"manager.py: {o.workload}: {total - got} of {total} "
                  f"increments lost (not atomic)", file=sys.stderr)
    elif o.workload == "locked_rmw" and v.value != total:
        return f"lost-updates-{total - v.value}"
    elif o.workload == "list_append" and len(lst) != total:
        return f"list-length-{len(lst)}"
    elif o.workload == "queue_pair" and q.qsize() != 0:
        return f"queue-left-{q.qsize()}"
    return None


def quantile(v, q):
    """The q-quantile of sorted v, nearest rank (as common.c)."""
    if not v:
        return 0.0
    return v[min(int(q * len(v)), len(v) - 1)]


def run(o, ctx, manager):
    objs = (manager.dict(), manager.list(), manager.Queue(),
            manager.Lock(), manager.Value("q", 0))
    prepare(o, objs)
    server_pid = manager._process.pid  # the manager's server process

    # What each child leaves for the parent, in shared memory made before
    # the fork (common.c's struct child_slot, one array per field).
    n = o.clients
    shared = (ctx.RawArray("i", n), ctx.RawArray("l", n),
              ctx.RawArray("d", n), ctx.RawArray("d", n),
              ctx.RawArray("l", n), ctx.RawArray("d", n * SAMPLES_PER_CHILD))
    status, failed_op, t_end, cpu_s, nsamples, lat_us = shared

    # The ready pipe (children say '.' connected or '!' failed) and the
    # gate (closing its write end releases every child at once), as in
    # common.c. Made after the manager started, so it holds neither.
    ready_r, ready_w = os.pipe()
    gate_r, gate_w = os.pipe()
    procs = [ctx.Process(target=child,
                         args=(o, objs, c, shared, ready_w, gate_r, gate_w))
             for c in range(n)]
    for p in procs:
        p.start()
    os.close(ready_w)
    os.close(gate_r)

    def kill_all():
        for p in procs:
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join()

    # Wait for every child to connect.
    nready, deadline = 0, time.monotonic() + READY_TIMEOUT_S
    while nready < n:
        r, _, _ = select.select([ready_r], [], [], 0.2)
        if r:
            got = os.read(ready_r, 256)
            if not got or b"!" in got:
                kill_all()
                return fail(o, "connect" if got else
                            "client-died-connecting")
            nready += len(got)
        if any(p.exitcode is not None for p in procs):
            kill_all()
            return fail(o, "client-died-connecting")
        if time.monotonic() > deadline:
            kill_all()
            return fail(o, "connect-timeout")

    srv0 = server_cpu(server_pid)
    t0 = time.monotonic_ns() / 1e9
    os.close(gate_w)  # go

    deadline = t0 + RUN_TIMEOUT_S
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic_ns() / 1e9))
        if p.exitcode is None:
            kill_all()
            return fail(o, f"timeout-{RUN_TIMEOUT_S:.0f}s")
    srv1 = server_cpu(server_pid)
    os.close(ready_r)

    for c in range(n):
        if status[c] != CHILD_OK:
            if status[c] == CHILD_RUN_FAILED:
                return fail(o, f"run-error client={c} op={failed_op[c]}")
            return fail(o, f"client-crashed client={c}")
    if srv0 < 0 or srv1 < 0:
        return fail(o, f"server-gone pid={server_pid}")
    reason = check(o, objs)
    if reason:
        return fail(o, reason)

    lat = sorted(x for c in range(n) for x in
                 lat_us[c * SAMPLES_PER_CHILD:
                        c * SAMPLES_PER_CHILD + nsamples[c]])
    total = n * o.ops
    wall = max(t_end) - t0
    client_cpu = sum(cpu_s)
    srv_cpu = srv1 - srv0
    print(f"RESULT {head(o)} ops={total} "
          f"ops_per_s={total / wall if wall > 0 else 0:.0f} "
          f"p50_us={quantile(lat, 0.50):.2f} "
          f"p99_us={quantile(lat, 0.99):.2f} "
          f"cpu_us_per_op={(client_cpu + srv_cpu) * 1e6 / total:.3f} "
          f"server_cpu_us_per_op={srv_cpu * 1e6 / total:.3f}", flush=True)
    return 0


def main():
    o = parse_args()
    if o.depth > 1:
        print(f"SKIP {head(o)} reason=no-pipelining-in-manager-proxies",
              flush=True)
        return 0
    # 'fork': the children inherit the proxies (each reconnects on first
    # use, after multiprocessing's after-fork hooks reset the inherited
    # connection) and this script's state, with no pickling or re-import.
    ctx = mp.get_context("fork")
    manager = ctx.Manager()
    try:
        return run(o, ctx, manager)
    finally:
        manager.shutdown()


if __name__ == "__main__":
    sys.exit(main())
