#!/usr/bin/env python3
"""The Python shared-memory peer of the benchmark: multiprocessing's own
shared objects (Value, Array, Lock, Semaphore, Event), no Manager.

    python3 bench/peers/mpshm.py --workload W [--clients N] [--depth D]
        [--ops K]

is driven like manager.py, by the same harness (harness.py, the shape of
bench/common.c): the parent makes the objects, forks N client processes
(the 'fork' context: the children inherit them, in shared memory), holds
them at a start gate, times them, and prints one line in common.h's format:

    RESULT peer=python-shm workload=W clients=N depth=1 ops=T ops_per_s=X
        p50_us=A p99_us=B cpu_us_per_op=C server_cpu_us_per_op=0

(or SKIP / FAIL). There is no server, so no server CPU.

Workloads, written the way a Python programmer writes them:
    value_add    with v.get_lock(): v.value += 1
                 (v = Value('q', lock=True): the atomic way to add)
    array_add    with a.get_lock(): a[0] += 1
                 (a = Array('q', 1024, lock=True); every client on
                 element 0, as the other peers)
    array_get    a[i]  (the synchronized wrapper takes the array's lock
                 for every element read; each client walks the array)
    lock_pair    lock.acquire(); lock.release()     (mp.Lock)
    sem_pair     sem.acquire(); sem.release()
                 (mp.Semaphore(clients): no acquire ever waits)
    event_pingpong  one round trip between the two clients of a pair on
                 two mp.Events: client 2k does ping.set(); pong.wait();
                 pong.clear(), client 2k+1 ping.wait(); ping.clear();
                 pong.set(). Counted as one operation per round trip.
The other workloads (dicts, lists, queues, locked_rmw) are manager.py's,
and skipped here, as is depth > 1 (nothing to pipeline).
"""

import argparse
import multiprocessing as mp
import sys

from harness import run_clients, skip

PEER = "python-shm"
WORKLOADS = ("value_add", "array_add", "array_get", "lock_pair", "sem_pair",
             "event_pingpong")
# Accepted so that every peer takes every workload name, then skipped.
OTHERS = ("dict_set", "dict_get", "dict_incr", "list_append", "queue_pair",
          "locked_rmw")
# As common.h: the array's length, and the element array_add updates.
ARRAY_LEN = 1024
ARRAY_HOT = 0


def parse_args():
    """The options of common.h's bench_parse(), with its defaults; the
    ones that mean nothing here (--address, --server-pid, --keys,
    --value-size) are accepted so every peer takes the same command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True, choices=WORKLOADS + OTHERS)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--ops", type=int, default=10000)
    for name in ("--keys", "--value-size", "--server-pid"):
        ap.add_argument(name, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--address", help=argparse.SUPPRESS)
    o = ap.parse_args()
    for name in ("clients", "depth", "ops"):
        if getattr(o, name) < 1:
            ap.error(f"--{name} must be at least 1")
    return o


def make_objects(o, ctx):
    """The objects of the workload, made in the parent before the fork."""
    w = o.workload
    if w == "value_add":
        return ctx.Value("q", 0, lock=True)
    if w in ("array_add", "array_get"):
        return ctx.Array("q", ARRAY_LEN, lock=True)
    if w == "lock_pair":
        return ctx.Lock()
    if w == "sem_pair":
        return ctx.Semaphore(o.clients)
    # event_pingpong: (ping, pong) per pair of clients.
    return [(ctx.Event(), ctx.Event()) for _ in range(o.clients // 2)]


def make_op(o, obj, client):
    """The function doing operation number i for this client."""
    w = o.workload
    if w == "value_add":
        lock = obj.get_lock()

        def op(i):
            with lock:
                obj.value += 1
    elif w == "array_add":
        lock = obj.get_lock()

        def op(i):
            with lock:
                obj[ARRAY_HOT] += 1
    elif w == "array_get":
        # As common.c's bench_array_index(): client c starts c/clients of
        # the way along and walks the array.
        start = client * ARRAY_LEN // o.clients

        def op(i):
            obj[(start + i) % ARRAY_LEN]
    elif w == "lock_pair":
        def op(i):
            obj.acquire()
            obj.release()
    elif w == "sem_pair":
        def op(i):
            obj.acquire()
            obj.release()
    else:  # event_pingpong
        ping, pong = obj[client // 2]
        if client % 2 == 0:
            def op(i):
                ping.set()
                pong.wait()
                pong.clear()
        else:
            def op(i):
                ping.wait()
                ping.clear()
                pong.set()
    return op


def check(o, obj):
    """After the run: what the objects must hold (a FAIL reason, or None)."""
    total = o.clients * o.ops
    if o.workload == "value_add" and obj.value != total:
        return f"lost-updates-{total - obj.value}"
    if o.workload == "array_add" and obj[ARRAY_HOT] != total:
        return f"lost-updates-{total - obj[ARRAY_HOT]}"
    if o.workload == "sem_pair":
        # get_value() is sem_getvalue(): every permit must be back.
        got = obj.get_value()
        if got != o.clients:
            return f"semaphore-left-at-{got}"
    return None


def main():
    o = parse_args()
    if o.workload in OTHERS:
        return skip(o, PEER, "not-a-shared-memory-workload")
    if o.depth > 1:
        return skip(o, PEER, "no-pipelining-without-a-server")
    if o.workload == "event_pingpong" and o.clients % 2:
        return skip(o, PEER, "needs-an-even-number-of-clients")
    ctx = mp.get_context("fork")
    obj = make_objects(o, ctx)
    return run_clients(o, ctx, PEER, lambda client: make_op(o, obj, client),
                       check=lambda: check(o, obj),
                       procs_per_op=2 if o.workload == "event_pingpong"
                       else 1)


if __name__ == "__main__":
    sys.exit(main())
