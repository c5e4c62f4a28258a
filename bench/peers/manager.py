#!/usr/bin/env python3
"""The Python multiprocessing.Manager peer of the benchmark.

    python3 bench/peers/manager.py --workload W [--clients N] [--depth D]
        [--ops K] [--keys K] [--value-size B]

does what bench/common.c does for the C peers, in the same shape, so the
figures compare (harness.py, shared with mpshm.py): it starts a Manager
(the server process), makes the dict, list, Queue, Lock and Value the
workloads use, forks N client processes (the 'fork' context: each child
inherits the proxies and opens its own connection to the manager on first
use), holds them at a start gate until all are connected, times the
operations, and prints one line in common.h's format:

    RESULT peer=python-manager workload=W clients=N depth=1 ops=T
        ops_per_s=X p50_us=A p99_us=B cpu_us_per_op=C server_cpu_us_per_op=S

(or SKIP / FAIL). The server CPU is the manager process's.

Workloads, written the way a Python programmer writes them:
    dict_set     d[k] = v
    dict_get     d[k]                     (the keys are preloaded)
    dict_incr    d[k] += 1                (a get and a set: not atomic)
    list_append  l.append(v)
    queue_pair   q.put(v); q.get()        (one op = the pair)
    lock_pair    lock.acquire(); lock.release()
    value_add    v.value += 1             (a get and a set: not atomic)
    locked_rmw   with lock: v.value += 1  (the atomic way to do it)
Proxies have no pipelining, so depth > 1 is skipped. The shared-memory
workloads (array_add, array_get, sem_pair, event_pingpong) are mpshm.py's,
and skipped here.
"""

import argparse
import multiprocessing as mp
import sys

from harness import run_clients, skip

PEER = "python-manager"
WORKLOADS = ("dict_set", "dict_get", "dict_incr", "list_append",
             "queue_pair", "lock_pair", "value_add", "locked_rmw")
# Accepted so that every peer takes every workload name, then skipped.
SHM_ONLY = ("array_add", "array_get", "sem_pair", "event_pingpong")


def parse_args():
    """The options of common.h's bench_parse(), with its defaults. --address
    and --server-pid are accepted so every peer takes the same command
    line, but unused: this script starts its own server."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True,
                    choices=WORKLOADS + SHM_ONLY)
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






def key_base(o, client):
    """Where client `client` starts in the key space: the same spread as
    common.c's bench_key(), so the clients work on different keys."""
    return client * o.keys // o.clients




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


def run(o, ctx, manager):
    objs = (manager.dict(), manager.list(), manager.Queue(),
            manager.Lock(), manager.Value("q", 0))
    prepare(o, objs)

    def setup(client):
        op = make_op(o, objs, client)
        connect(o, objs)
        return op

    return run_clients(o, ctx, PEER, setup, check=lambda: check(o, objs),
                       server_pid=manager._process.pid)


def main():
    o = parse_args()
    if o.workload in SHM_ONLY:
        return skip(o, PEER, "a-shared-memory-workload-see-mpshm.py")
    if o.depth > 1:
        return skip(o, PEER, "no-pipelining-in-manager-proxies")
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
