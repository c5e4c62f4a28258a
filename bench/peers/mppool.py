#!/usr/bin/env python3
"""The Python peer of the process, pipe and pool workloads (issue 10):
multiprocessing's Pool and Pipe, as a Python programmer writes them.

    python3 bench/peers/mppool.py --workload W [--clients N] [--depth D]
        [--ops K] [--chunksize C] [--processes P] [--value-size B]

is driven like manager.py and mpshm.py, by the same harness (harness.py,
the shape of bench/common.c), and prints one line in common.h's format:

    RESULT peer=python-mp workload=W clients=N depth=1 ops=T ops_per_s=X
        p50_us=A p99_us=B cpu_us_per_op=C server_cpu_us_per_op=0 ...

(or SKIP / FAIL). There is no server; a Pool's workers are the client's
children, and their CPU counts in the client's.

Workloads, as bench_objmgr runs them:
    pool_map     pool.map(square, range(ops), chunksize=C): the client's
                 whole run is one map call of --ops items (square(x) is
                 x * x), on a Pool(P) the client makes before the gate
                 (P: --processes, 0 the CPU count); every result checked
    apply_async  pool.apply_async(square, (i,)).get(): one task's round
                 trip, its result checked
    pipe_pingpong  one round trip of a --value-size bytes object over a
                 multiprocessing.Pipe() (duplex: a socketpair) with
                 Connection.send/recv (pickled, as objmgr's pipe carries
                 typed items) made in the parent, whose two ends the clients
                 of a pair inherit: client 2k sends on one end and
                 receives the echo (checked), client 2k+1 echoes it
The other workloads are manager.py's and mpshm.py's, and skipped here, as
is depth > 1 (one call at a time).
"""

import argparse
import multiprocessing as mp
import os
import sys

from harness import run_clients, skip

PEER = "python-mp"
WORKLOADS = ("pool_map", "apply_async", "pipe_pingpong")
# Accepted so that every peer takes every workload name, then skipped.
OTHERS = ("dict_set", "dict_get", "dict_incr", "list_append", "queue_pair",
          "lock_pair", "value_add", "locked_rmw", "array_add", "array_get",
          "sem_pair", "event_pingpong")


def square(x):
    """The pool's trivial function (a module-level one, as Pool needs)."""
    return x * x


def parse_args():
    """The options of common.h's bench_parse(), with its defaults; the
    ones that mean nothing here (--address, --server-pid, --keys) are
    accepted so every peer takes the same command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True, choices=WORKLOADS + OTHERS)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--ops", type=int, default=10000)
    ap.add_argument("--chunksize", type=int, default=1)
    ap.add_argument("--processes", type=int, default=0)
    ap.add_argument("--value-size", type=int, default=16)
    for name in ("--keys", "--server-pid"):
        ap.add_argument(name, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--address", help=argparse.SUPPRESS)
    o = ap.parse_args()
    for name in ("clients", "depth", "ops", "chunksize"):
        if getattr(o, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if o.processes < 0 or o.value_size < 0:
        ap.error("--processes and --value-size must not be negative")
    return o


def processes(o):
    """The pool size: --processes, or the CPUs this process may run on
    (what bench_objmgr's pool takes, and Pool()'s own default here)."""
    return o.processes or len(os.sched_getaffinity(0))


def pool_op(o, ctx):
    """In the client, before the gate: the Pool, warmed up (every worker
    started and through a task), and the operation."""
    pool = ctx.Pool(processes(o))
    if pool.map(square, range(8), chunksize=1) != [x * x for x in range(8)]:
        raise RuntimeError("warm-up map: wrong results")
    if o.workload == "pool_map":
        items = list(range(o.ops))
        want = [x * x for x in items]

        def op(i):
            # i is 0: the one batch is the whole run (batch=o.ops).
            if pool.map(square, items, chunksize=o.chunksize) != want:
                raise RuntimeError("pool.map: wrong results")
    else:
        def op(i):
            if pool.apply_async(square, (i,)).get() != i * i:
                raise RuntimeError("apply_async: wrong result")

    def close():
        pool.close()
        pool.join()
    op.close = close
    return op


def pipe_op(o, pipes, client):
    """The pinging or echoing side of the pair's pipe."""
    mine = pipes[client // 2][client % 2]
    msg = bytearray(b"p" * o.value_size)
    if client % 2 == 0:
        def op(i):
            # Stamped with the operation number, so a lost or repeated
            # message fails the check.
            msg[:8] = i.to_bytes(8, "little")[:len(msg)]
            out = bytes(msg)
            mine.send(out)
            if mine.recv() != out:
                raise RuntimeError("pipe: wrong echo")
    else:
        def op(i):
            mine.send(mine.recv())
    return op


def main():
    o = parse_args()
    if o.workload in OTHERS:
        return skip(o, PEER, "not-a-process-pipe-or-pool-workload")
    if o.depth > 1:
        return skip(o, PEER, "one-call-at-a-time")
    ctx = mp.get_context("fork")
    if o.workload == "pipe_pingpong":
        if o.clients % 2:
            return skip(o, PEER, "needs-an-even-number-of-clients")
        pipes = [ctx.Pipe() for _ in range(o.clients // 2)]
        return run_clients(o, ctx, PEER,
                           lambda client: pipe_op(o, pipes, client),
                           procs_per_op=2)
    chunk = o.chunksize if o.workload == "pool_map" else 1
    return run_clients(o, ctx, PEER, lambda client: pool_op(o, ctx),
                       batch=o.ops if o.workload == "pool_map" else 1,
                       kids=True,
                       extra=f" chunksize={chunk} processes={processes(o)}")


if __name__ == "__main__":
    sys.exit(main())
