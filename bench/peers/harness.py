"""The client harness the Python peers share (manager.py, mpshm.py): what
bench/common.c does for the C peers, in the same shape, so the figures
compare.

run_clients() forks N client processes (the 'fork' context: each child
inherits the objects the parent made), has each one set up (connect, make
its operation) and report ready on a pipe, holds them at a start gate (a
second pipe whose write end only the parent holds: closing it releases them
all at once), times an evenly spread subset of the operations with
time.perf_counter_ns, and prints one line in common.h's format:

    RESULT peer=P workload=W clients=N depth=1 ops=T ops_per_s=X
        p50_us=A p99_us=B cpu_us_per_op=C server_cpu_us_per_op=S

(or FAIL). The measured window, like common.c's, runs from the gate opening
to the end of the last client's last operation; the client CPU is each
child's own CPU time over its run (time.process_time, the
CLOCK_PROCESS_CPUTIME_ID common.c reads), the server CPU (if there is a
server process) its utime + stime from /proc/PID/stat, all its threads,
before the gate opens and after the clients have exited. A client that
starts processes of its own (a Pool's workers) counts theirs too, read the
same way before the gate and after its last operation (common.c's
bench_descendants_cpu).
"""

import os
import select
import sys
import time

# As in common.c: latency samples kept per client, and the time limits.
SAMPLES_PER_CHILD = 20000
READY_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 300.0

# Child status codes, as in common.c.
CHILD_RUNNING, CHILD_OK, CHILD_CONNECT_FAILED, CHILD_RUN_FAILED = range(4)

PROG = os.path.basename(sys.argv[0])


def head(o, peer):
    """The fields every output line starts with."""
    return (f"peer={peer} workload={o.workload} clients={o.clients} "
            f"depth={o.depth}")


def fail(o, peer, reason):
    print(f"FAIL {head(o, peer)} reason={reason}", flush=True)
    return 1


def skip(o, peer, reason):
    print(f"SKIP {head(o, peer)} reason={reason}", flush=True)
    return 0


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


def descendants_cpu():
    """CPU seconds (utime + stime) used so far by every living descendant
    of this process: a Pool's workers."""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parent[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    me, total = os.getpid(), 0.0
    for pid in parent:
        up, steps = parent[pid], 0
        while up > 1 and up != me and steps < len(parent):
            up, steps = parent.get(up, 0), steps + 1
        if up == me:
            cpu = server_cpu(pid)
            if cpu > 0:
                total += cpu
    return total


def quantile(v, q):
    """The q-quantile of sorted v, nearest rank (as common.c)."""
    if not v:
        return 0.0
    return v[min(int(q * len(v)), len(v) - 1)]


def child(o, setup, client, shared, ready_w, gate_r, gate_w, batch, kids):
    """The body of client process `client` (a forked mp.Process)."""
    status, failed_op, t_end, cpu_s, nsamples, lat_us = shared
    # Only the parent may hold the gate's write end, or it never opens.
    os.close(gate_w)
    try:
        op = setup(client)
    except Exception as e:  # report it, then let the parent say FAIL
        print(f"{PROG}: client {client}: connect: {e!r}", file=sys.stderr)
        status[client] = CHILD_CONNECT_FAILED
        os.write(ready_w, b"!")
        os._exit(1)
    kids0 = descendants_cpu() if kids else 0.0
    os.write(ready_w, b".")

    # The gate: read() returns b"" when the parent closes the write end.
    os.read(gate_r, 1)
    os.close(gate_r)

    # Time every stride-th operation so at most SAMPLES_PER_CHILD are
    # kept, spread over the whole run, as common.c does.
    # A batch of more than one (pool_map's whole map) is one op(i) call
    # standing for operations i..i+batch-1.
    stride = -(-o.ops // SAMPLES_PER_CHILD) if batch == 1 else 1
    base = client * SAMPLES_PER_CHILD
    n = 0
    clock = time.perf_counter_ns
    cpu0 = time.process_time()
    try:
        for i in range(0, o.ops, batch):
            if i % stride == 0 and n < SAMPLES_PER_CHILD:
                t = clock()
                op(i)
                lat_us[base + n] = (clock() - t) / 1e3
                n += 1
            else:
                op(i)
    except Exception as e:
        print(f"{PROG}: client {client}: op {i}: {e!r}", file=sys.stderr)
        failed_op[client] = i
        status[client] = CHILD_RUN_FAILED
    # monotonic_ns and perf_counter_ns are both CLOCK_MONOTONIC on Linux,
    # comparable across processes (the parent's t0 is monotonic_ns too).
    t_end[client] = time.monotonic_ns() / 1e9
    cpu_s[client] = time.process_time() - cpu0
    if kids:
        cpu_s[client] += descendants_cpu() - kids0
    nsamples[client] = n
    # What the client started (a Pool) is stopped here, not left to the
    # interpreter's exit.
    close = getattr(op, "close", None)
    if close:
        close()
    if status[client] == CHILD_RUNNING:
        status[client] = CHILD_OK


def run_clients(o, ctx, peer, setup, check=None, server_pid=None,
                procs_per_op=1, batch=1, kids=False, extra=""):
    """Run o.clients clients of o.ops operations each and print the line.

    setup(client) runs in the child before the gate: it opens whatever the
    client needs (a proxy's connection) and returns op(i), operation number
    i. check() runs in the parent after the clients: a FAIL reason, or None.
    server_pid: the server process whose CPU to count (None: none).
    procs_per_op: clients per operation (2 for a ping-pong's round trip,
    as common.c's bench_procs_per_op). batch: operations per op() call
    (common.c's bench_batch). kids: count the CPU of the processes a
    client starts. extra: " key=value" pairs for the RESULT line.
    Returns the exit status."""
    # What each child leaves for the parent, in shared memory made before
    # the fork (common.c's struct child_slot, one array per field).
    n = o.clients
    shared = (ctx.RawArray("i", n), ctx.RawArray("l", n),
              ctx.RawArray("d", n), ctx.RawArray("d", n),
              ctx.RawArray("l", n), ctx.RawArray("d", n * SAMPLES_PER_CHILD))
    status, failed_op, t_end, cpu_s, nsamples, lat_us = shared

    # The ready pipe (children say '.' connected or '!' failed) and the
    # gate (closing its write end releases every child at once), as in
    # common.c. Made after any server started, so it holds neither.
    ready_r, ready_w = os.pipe()
    gate_r, gate_w = os.pipe()
    procs = [ctx.Process(target=child,
                         args=(o, setup, c, shared, ready_w, gate_r, gate_w,
                               batch, kids))
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
                return fail(o, peer, "connect" if got else
                            "client-died-connecting")
            nready += len(got)
        if any(p.exitcode is not None for p in procs):
            kill_all()
            return fail(o, peer, "client-died-connecting")
        if time.monotonic() > deadline:
            kill_all()
            return fail(o, peer, "connect-timeout")

    srv0 = server_cpu(server_pid) if server_pid else 0.0
    t0 = time.monotonic_ns() / 1e9
    os.close(gate_w)  # go

    deadline = t0 + RUN_TIMEOUT_S
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic_ns() / 1e9))
        if p.exitcode is None:
            kill_all()
            return fail(o, peer, f"timeout-{RUN_TIMEOUT_S:.0f}s")
    srv1 = server_cpu(server_pid) if server_pid else 0.0
    os.close(ready_r)

    for c in range(n):
        if status[c] != CHILD_OK:
            if status[c] == CHILD_RUN_FAILED:
                return fail(o, peer,
                            f"run-error client={c} op={failed_op[c]}")
            return fail(o, peer, f"client-crashed client={c}")
    if srv0 < 0 or srv1 < 0:
        return fail(o, peer, f"server-gone pid={server_pid}")
    reason = check() if check else None
    if reason:
        return fail(o, peer, reason)

    lat = sorted(x for c in range(n) for x in
                 lat_us[c * SAMPLES_PER_CHILD:
                        c * SAMPLES_PER_CHILD + nsamples[c]])
    total = n * o.ops // procs_per_op
    wall = max(t_end) - t0
    client_cpu = sum(cpu_s)
    srv_cpu = srv1 - srv0
    print(f"RESULT {head(o, peer)} ops={total} "
          f"ops_per_s={total / wall if wall > 0 else 0:.0f} "
          f"p50_us={quantile(lat, 0.50):.2f} "
          f"p99_us={quantile(lat, 0.99):.2f} "
          f"cpu_us_per_op={(client_cpu + srv_cpu) * 1e6 / total:.3f} "
          f"server_cpu_us_per_op={srv_cpu * 1e6 / total:.3f}{extra}",
          flush=True)
    return 0
