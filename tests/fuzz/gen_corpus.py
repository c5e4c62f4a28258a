#!/usr/bin/env python3
"""Write the fuzzers' seed corpus: tests/fuzz/corpus/{server,item}/.

  tests/fuzz/gen_corpus.py [OUTDIR]     (default: tests/fuzz/corpus)

server/: what a client writes on its connection (fuzz_server.c): frames of a
4-byte little-endian length and a protobuf body, a Hello first. One file per
story: OPEN of every type with valid creation arguments and its methods,
blocking calls with timeout 0, > 0 and forever, refs stored in containers,
pipelined bursts, and some malformed frames. An empty frame is also a tick
for fuzz_server (one virtual second passes), so "a parked call times out,
then the next request" can be written down.

item/: one encoded Item per file, every kind (fuzz_item.c).

Op, Type and Status numbers are read from proto/objmgr.proto, so the corpus
follows the protocol. The encoder below is the few lines of protobuf the
messages need (no protobuf package required). Output is deterministic:
running it again rewrites the same files.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "proto", "objmgr.proto")


def read_enums(path):
    enums, cur = {}, None
    for line in open(path):
        m = re.match(r"\s*enum (\w+) \{", line)
        if m:
            cur = enums.setdefault(m.group(1), {})
            continue
        if cur is not None and re.match(r"\s*\}", line):
            cur = None
            continue
        m = re.match(r"\s*(\w+) = (\d+);", line)
        if cur is not None and m:
            cur[m.group(1)] = int(m.group(2))
    return enums


ENUMS = read_enums(PROTO)
OP = ENUMS["Op"]
TYPE = ENUMS["Type"]

CREATE, EXCL, LIFO, PRIORITY, JOINABLE, RECURSIVE, BOUNDED = (
    1, 2, 4, 8, 16, 32, 64)

# ------------------------------------------------------------- protobuf


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63) if n < 0 else n << 1


def f_varint(field, n):
    return varint(field << 3) + varint(n)


def f_sint(field, n):
    return f_varint(field, zigzag(n))


def f_double(field, x):
    return varint(field << 3 | 1) + struct.pack("<d", x)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b


# Items: Python values -> Item messages.
class Ref:
    def __init__(self, id, type):
        self.id, self.type = id, type


class Bytes(bytes):
    """A bytes item (a plain str or bytes is a str item)."""


def item(v):
    if v is None:
        return f_varint(1, 1)
    if isinstance(v, bool):
        return f_varint(2, int(v))
    if isinstance(v, int):
        return f_sint(3, v)
    if isinstance(v, float):
        return f_double(4, v)
    if isinstance(v, Bytes):
        return f_bytes(6, bytes(v))
    if isinstance(v, (str, bytes)):
        return f_bytes(5, v)
    if isinstance(v, Ref):
        return f_bytes(7, f_varint(1, v.id) + f_varint(2, v.type))
    raise TypeError(v)


def hello(version=1):
    return f_varint(1, version)


def request(id, op, target=0, args=(), num=0, num2=0, timeout=None,
            name=None):
    b = f_varint(1, id)
    if target:
        b += f_varint(2, target)
    b += f_varint(3, OP[op] if isinstance(op, str) else op)
    for a in args:
        b += f_bytes(4, item(a))
    if num:
        b += f_sint(5, num)
    if num2:
        b += f_sint(6, num2)
    if timeout is not None:
        b += f_double(7, timeout)
    if name:
        b += f_bytes(8, name)
    return b


def frame(body):
    return struct.pack("<I", len(body)) + body


# ------------------------------------------------------------- sessions


class Session:
    """One connection's bytes; knows the ids the server will give (from 1,
    one per object created)."""

    def __init__(self, hello_frame=True):
        self.out = bytearray()
        self.next_req = 1
        self.next_obj = 1
        if hello_frame:
            self.raw(hello())

    def raw(self, body):
        self.out += frame(body)

    def tick(self):
        """An empty frame: fuzz_server lets one virtual second pass."""
        self.out += frame(b"")

    def req(self, op, target=0, **kw):
        rid = self.next_req
        self.next_req += 1
        self.raw(request(rid, op, target, **kw))
        return rid

    def open(self, type, args=(), flags=0, name=None, new=True):
        """OPEN; returns the object's id if it is created (new)."""
        self.req("OPEN", num=TYPE[type], num2=flags, args=args, name=name)
        if not new:
            return None
        oid = self.next_obj
        self.next_obj += 1
        return oid


CORPUS = {}


def story(name):
    def deco(fn):
        CORPUS[name] = fn
        return fn
    return deco


@story("hello")
def _(s):
    pass


@story("hello_ping_stats")
def _(s):
    s.req("PING")
    s.req("STATS")


@story("open_every_type")
def _(s):
    s.open("DICT")
    s.open("LIST")
    s.open("QUEUE", [0])
    s.open("LOCK")
    s.open("SEM", [1])
    s.open("COND", [None])
    s.open("EVENT")
    s.open("BARRIER", [2])
    s.open("VALUE", [0])
    s.open("ARRAY", [2, 4])
    s.req("STATS")


@story("open_named")
def _(s):
    d = s.open("DICT", name="shared", flags=CREATE)
    s.open("DICT", name="shared", flags=CREATE, new=False)   # same one
    s.open("DICT", name="shared", flags=CREATE | EXCL, new=False)  # EEXIST
    s.open("LIST", name="shared", flags=CREATE, new=False)   # ETYPE
    s.open("DICT", name="missing", new=False)                # ENOENT
    s.req("ADDREF", d)
    s.req("RELEASE", d)
    s.req("UNLINK", name="shared")
    s.req("UNLINK", name="shared")                           # ENOENT
    s.req("RELEASE", d)
    s.req("RELEASE", d)                                      # EINVAL


@story("dict_methods")
def _(s):
    d = s.open("DICT")
    s.req("DICT_SET", d, args=["a", 1])
    s.req("DICT_SET", d, args=[2, 2.5])
    s.req("DICT_SET", d, args=[Bytes(b"b\x00y"), None])
    s.req("DICT_GET", d, args=["a"])
    s.req("DICT_GET", d, args=["nope"])
    s.req("DICT_CONTAINS", d, args=[2.0])
    s.req("DICT_LEN", d)
    s.req("DICT_INCR", d, args=["a", 41])
    s.req("DICT_INCR", d, args=["new", 1.5])
    s.req("DICT_INCR", d, args=[Bytes(b"b\x00y"), 1])       # ETYPE
    s.req("DICT_SETDEFAULT", d, args=["sd", True])
    s.req("DICT_UPDATE", d, args=["k1", "v1", "k2", "v2", 3, -3])
    s.req("DICT_GET_MANY", d, args=["k1", "zz", 3])
    s.req("DICT_KEYS", d)
    s.req("DICT_VALUES", d)
    s.req("DICT_ITEMS", d)
    s.req("DICT_POP", d, args=["k1"])
    s.req("DICT_DEL", d, args=["k2"])
    s.req("DICT_DEL", d, args=["k2"])
    s.req("DICT_POPITEM", d)
    s.req("DICT_CLEAR", d)
    s.req("DICT_POPITEM", d)                                 # ENOKEY


@story("list_methods")
def _(s):
    lst = s.open("LIST")
    s.req("LIST_APPEND", lst, args=[3])
    s.req("LIST_EXTEND", lst, args=[1, 2.5, True, -7])
    s.req("LIST_INSERT", lst, num=-1, args=[0])
    s.req("LIST_GET", lst, num=2)
    s.req("LIST_GET", lst, num=99)                           # EINDEX
    s.req("LIST_SET", lst, num=0, args=[10])
    s.req("LIST_INDEX", lst, args=[True])
    s.req("LIST_COUNT", lst, args=[1])
    s.req("LIST_CONTAINS", lst, args=[2.5])
    s.req("LIST_SORT", lst)
    s.req("LIST_SORT", lst, num=1)
    s.req("LIST_REVERSE", lst)
    s.req("LIST_SLICE", lst, num=1, num2=-1)
    s.req("LIST_SPLICE", lst, num=0, num2=2, args=["x", "y", "z"])
    s.req("LIST_SORT", lst)                                  # ETYPE
    s.req("LIST_REMOVE", lst, args=["y"])
    s.req("LIST_REMOVE", lst, args=["nope"])                 # EVALUE
    s.req("LIST_POP", lst, num=-1)
    s.req("LIST_DEL", lst, num=0)
    s.req("LIST_LEN", lst)
    s.req("LIST_CLEAR", lst)
    s.req("LIST_POP", lst, num=-1)                           # EINDEX


@story("queue_fifo")
def _(s):
    q = s.open("QUEUE", [2])
    s.req("QUEUE_PUT", q, args=[1], timeout=0)
    s.req("QUEUE_PUT", q, args=["two"], timeout=0)
    s.req("QUEUE_PUT", q, args=[3], timeout=0)               # EFULL
    s.req("QUEUE_FULL", q)
    s.req("QUEUE_SIZE", q)
    s.req("QUEUE_GET", q, timeout=0)
    s.req("QUEUE_GET_MANY", q, num=5, timeout=0)
    s.req("QUEUE_EMPTY", q)
    s.req("QUEUE_GET", q, timeout=0)                         # EEMPTY
    s.req("QUEUE_PUT_MANY", q, args=[4, 5], timeout=0)
    s.req("QUEUE_PUT_MANY", q, args=[6, 7, 8], timeout=0)    # EFULL
    s.req("QUEUE_CLOSE", q)
    s.req("QUEUE_PUT", q, args=[9], timeout=0)               # ECLOSED
    s.req("QUEUE_GET_MANY", q, num=2, timeout=0)
    s.req("QUEUE_GET", q, timeout=0)                         # ECLOSED


@story("queue_blocking")
def _(s):
    q = s.open("QUEUE", [1])
    s.req("QUEUE_GET", q, timeout=0.5)      # parks; times out at the tick
    s.tick()
    s.req("QUEUE_GET", q, timeout=-1)       # parks forever
    s.req("QUEUE_PUT", q, args=["a"], timeout=0)   # hands it to the getter
    s.req("QUEUE_PUT", q, args=["b"], timeout=0)
    s.req("QUEUE_PUT", q, args=["c"], timeout=2.5)  # parks: full
    s.req("QUEUE_PUT_MANY", q, args=["d", "e"], timeout=-1)
    s.req("QUEUE_GET_MANY", q, num=3, timeout=1)
    s.tick()
    s.req("QUEUE_GET", q, timeout=10)
    s.req("QUEUE_CLOSE", q)                 # answers the parked ones
    s.req("QUEUE_GET", q, timeout=-1)


@story("queue_lifo_priority_joinable")
def _(s):
    lq = s.open("QUEUE", [0], flags=LIFO)
    pq = s.open("QUEUE", [0], flags=PRIORITY | JOINABLE)
    s.open("QUEUE", [0], flags=LIFO | PRIORITY, new=False)   # EINVAL
    for i in range(3):
        s.req("QUEUE_PUT", lq, args=[i], timeout=0)
        s.req("QUEUE_PUT", pq, args=["p%d" % i], num=3 - i, timeout=0)
    s.req("QUEUE_GET", lq, timeout=0)
    s.req("QUEUE_GET", pq, timeout=0)
    s.req("QUEUE_TASK_DONE", pq)
    s.req("QUEUE_JOIN", pq, timeout=0)
    s.req("QUEUE_JOIN", pq, timeout=1.5)    # parks; times out
    s.tick()
    s.req("QUEUE_GET_MANY", pq, num=2, timeout=0)
    s.req("QUEUE_JOIN", pq, timeout=-1)     # parks until the task_dones
    s.req("QUEUE_TASK_DONE", pq)
    s.req("QUEUE_TASK_DONE", pq)
    s.req("QUEUE_TASK_DONE", pq)            # EVALUE
    s.req("QUEUE_TASK_DONE", lq)            # not joinable


@story("queue_put_many_parks")
def _(s):
    q = s.open("QUEUE", [1])
    s.req("QUEUE_PUT", q, args=["full"], timeout=0)
    s.req("QUEUE_PUT_MANY", q, args=["one"], timeout=0.5)   # parks, expires
    s.tick()
    s.req("QUEUE_PUT_MANY", q, args=["one"], timeout=-1)    # parks
    s.req("QUEUE_PUT", q, args=["two"], timeout=5)          # parks behind it
    s.req("QUEUE_GET", q, timeout=0)        # admits the first putter
    s.req("QUEUE_GET_MANY", q, num=2, timeout=0)


@story("cond_requeue")
def _(s):
    cv = s.open("COND", [None], flags=RECURSIVE)
    s.req("COND_ACQUIRE", cv, timeout=-1)
    s.req("COND_WAIT", cv, timeout=0.5)     # parks, the lock released
    s.req("COND_ACQUIRE", cv, timeout=0)    # free: this connection takes it
    s.req("COND_NOTIFY", cv, num=1)         # the waiter now waits for the lock
    s.tick()                                # its deadline passes: it waits on
    s.req("COND_RELEASE", cv)               # it gets the lock
    s.req("COND_RELEASE", cv)


@story("lock")
def _(s):
    lk = s.open("LOCK")
    rl = s.open("LOCK", flags=RECURSIVE)
    s.req("LOCK_ACQUIRE", lk, timeout=-1)
    s.req("LOCK_LOCKED", lk)
    s.req("LOCK_ACQUIRE", lk, timeout=0)    # ETIMEOUT
    s.req("LOCK_ACQUIRE", lk, timeout=0.25)  # parks (same connection)
    s.tick()
    s.req("LOCK_RELEASE", lk)
    s.req("LOCK_RELEASE", lk)               # ENOTOWNER
    s.req("LOCK_ACQUIRE", rl, timeout=0)
    s.req("LOCK_ACQUIRE", rl, timeout=0)
    s.req("LOCK_RELEASE", rl)
    s.req("LOCK_RELEASE", rl)
    s.req("LOCK_RELEASE", rl)               # ENOTOWNER
    s.req("LOCK_ACQUIRE", lk, timeout=-1)   # held at the end: conn_gone


@story("sem")
def _(s):
    sm = s.open("SEM", [1])
    bs = s.open("SEM", [1], flags=BOUNDED)
    s.req("SEM_ACQUIRE", sm, timeout=0)
    s.req("SEM_ACQUIRE", sm, timeout=0)     # ETIMEOUT
    s.req("SEM_ACQUIRE", sm, timeout=3)     # parks
    s.req("SEM_ACQUIRE", sm, timeout=-1)    # parks
    s.req("SEM_RELEASE", sm, num=1)
    s.req("SEM_VALUE", sm)
    s.req("SEM_RELEASE", bs, num=1)         # EVALUE (bounded)
    s.req("SEM_ACQUIRE", bs, timeout=0)
    s.req("SEM_RELEASE", bs, num=1)
    s.req("SEM_RELEASE", sm, num=5)
    s.open("SEM", [-1], new=False)          # EINVAL


@story("cond")
def _(s):
    cv = s.open("COND", [None])
    lk = s.open("LOCK")
    cv2 = s.open("COND", [Ref(lk, TYPE["LOCK"])])
    s.open("COND", [Ref(cv, TYPE["COND"])], new=False)       # ETYPE
    s.req("COND_WAIT", cv, timeout=0)       # ENOTOWNER
    s.req("COND_ACQUIRE", cv, timeout=-1)
    s.req("COND_WAIT", cv, timeout=0.5)     # parks; times out at the tick
    s.tick()
    s.req("COND_NOTIFY", cv, num=1)
    s.req("COND_NOTIFY_ALL", cv)
    s.req("COND_RELEASE", cv)
    s.req("COND_RELEASE", cv)               # ENOTOWNER
    s.req("COND_ACQUIRE", cv2, timeout=0)
    s.req("LOCK_LOCKED", lk)
    s.req("COND_WAIT", cv2, timeout=-1)     # parks forever
    s.req("RELEASE", lk)


@story("event")
def _(s):
    ev = s.open("EVENT")
    s.req("EVENT_IS_SET", ev)
    s.req("EVENT_WAIT", ev, timeout=0)      # ETIMEOUT
    s.req("EVENT_WAIT", ev, timeout=1)      # parks
    s.req("EVENT_WAIT", ev, timeout=-1)     # parks
    s.req("EVENT_SET", ev)                  # answers both
    s.req("EVENT_WAIT", ev, timeout=-1)
    s.req("EVENT_CLEAR", ev)
    s.req("EVENT_WAIT", ev, timeout=0.5)
    s.tick()
    s.req("EVENT_IS_SET", ev)


@story("barrier")
def _(s):
    b = s.open("BARRIER", [2])
    one = s.open("BARRIER", [1])
    s.req("BARRIER_PARTIES", b)
    s.req("BARRIER_WAIT", one, timeout=-1)  # passes at once
    s.req("BARRIER_WAIT", b, timeout=0.5)   # parks; breaks at the tick
    s.tick()
    s.req("BARRIER_BROKEN", b)
    s.req("BARRIER_WAIT", b, timeout=0)     # EBROKEN
    s.req("BARRIER_RESET", b)
    s.req("BARRIER_WAIT", b, timeout=-1)    # parks
    s.req("BARRIER_N_WAITING", b)
    s.req("BARRIER_WAIT", b, timeout=-1)    # the second party: both go
    s.req("BARRIER_WAIT", b, timeout=-1)
    s.req("BARRIER_ABORT", b)
    s.open("BARRIER", [0], new=False)       # EINVAL


@story("value")
def _(s):
    v = s.open("VALUE", [0])
    f = s.open("VALUE", [1.5])
    t = s.open("VALUE", ["text"])
    s.req("VALUE_GET", v)
    s.req("VALUE_ADD", v, args=[5])
    s.req("VALUE_ADD", v, args=[0.5])
    s.req("VALUE_ADD", f, args=[True])
    s.req("VALUE_ADD", t, args=[1])          # ETYPE
    s.req("VALUE_ADD", v, args=[(1 << 63) - 1])
    s.req("VALUE_CAS", v, args=[5.5, 6])
    s.req("VALUE_CAS", v, args=[0, 7])
    s.req("VALUE_SET", v, args=[Bytes(b"\xff\x00")])
    s.req("VALUE_SET", t, args=[Ref(f, TYPE["VALUE"])])
    s.req("VALUE_GET", t)


@story("array")
def _(s):
    ai = s.open("ARRAY", [2, 8])
    af = s.open("ARRAY", [3, 4])
    s.open("ARRAY", [4, 4], new=False)       # EINVAL: kind
    s.open("ARRAY", [2, -1], new=False)      # EINVAL: length
    s.req("ARRAY_LEN", ai)
    s.req("ARRAY_SET", ai, num=0, args=[5])
    s.req("ARRAY_SET", ai, num=-1, args=[True])
    s.req("ARRAY_SET", ai, num=8, args=[1])  # EINDEX
    s.req("ARRAY_SET", ai, num=1, args=[1.5])  # ETYPE
    s.req("ARRAY_ADD", ai, num=0, args=[2])
    s.req("ARRAY_GET", ai, num=0)
    s.req("ARRAY_WRITE", ai, num=2, args=[1, 2, 3])
    s.req("ARRAY_READ", ai, num=0, num2=8)
    s.req("ARRAY_READ", ai, num=6, num2=4)   # EINDEX
    s.req("ARRAY_SET", af, num=0, args=[2])
    s.req("ARRAY_ADD", af, num=0, args=[0.25])
    s.req("ARRAY_WRITE", af, num=1, args=[1.0, 2, False])
    s.req("ARRAY_READ", af, num=0, num2=4)


@story("refs_in_containers")
def _(s):
    d = s.open("DICT")
    lst = s.open("LIST")
    q = s.open("QUEUE", [0])
    inner = s.open("DICT")
    lk = s.open("LOCK")
    s.req("DICT_SET", d, args=["inner", Ref(inner, TYPE["DICT"])])
    s.req("DICT_SET", d, args=["lock", Ref(lk, TYPE["LOCK"])])
    s.req("LIST_APPEND", lst, args=[Ref(d, TYPE["DICT"])])
    s.req("QUEUE_PUT", q, args=[Ref(lst, TYPE["LIST"])], timeout=0)
    s.req("DICT_SET", inner, args=["self", Ref(inner, TYPE["DICT"])])
    s.req("DICT_SET", d, args=["bad", Ref(99, TYPE["DICT"])])   # ENOENT
    s.req("DICT_SET", d, args=["bad", Ref(lk, TYPE["DICT"])])   # EINVAL
    s.req("RELEASE", inner)
    s.req("RELEASE", lk)
    s.req("RELEASE", d)
    s.req("RELEASE", lst)
    s.req("QUEUE_GET", q, timeout=0)        # takes the list's reference
    s.req("ADDREF", lst)                    # adopts it
    s.req("LIST_POP", lst, num=0)
    s.req("ADDREF", d)
    s.req("DICT_POP", d, args=["inner"])
    s.req("DICT_GET", d, args=["lock"])


@story("pipelined_burst")
def _(s):
    d = s.open("DICT")
    q = s.open("QUEUE", [0])
    for i in range(64):
        s.req("DICT_SET", d, args=["k%d" % (i % 16), i])
        s.req("QUEUE_PUT", q, args=[i], timeout=0)
        s.req("DICT_INCR", d, args=["n", 1])
    s.req("QUEUE_GET_MANY", q, num=100, timeout=0)
    s.req("DICT_ITEMS", d)


@story("many_parked")
def _(s):
    q = s.open("QUEUE", [0])
    ev = s.open("EVENT")
    for i in range(20):
        s.req("QUEUE_GET", q, timeout=[-1, 0.5, 2.0, 1e300][i % 4])
        s.req("EVENT_WAIT", ev, timeout=[-1, 1.0][i % 2])
    s.tick()
    s.req("STATS")
    s.req("QUEUE_PUT_MANY", q, args=list(range(5)), timeout=0)


@story("shutdown_with_parked")
def _(s):
    q = s.open("QUEUE", [0])
    s.req("QUEUE_GET", q, timeout=-1)
    s.req("SHUTDOWN")
    s.req("PING")                           # after the stop


@story("release_then_use")
def _(s):
    d = s.open("DICT")
    s.req("DICT_SET", d, args=["a", 1])
    s.req("RELEASE", d)
    s.req("DICT_GET", d, args=["a"])        # ENOENT after the reap
    s.req("ADDREF", d)


@story("bad_requests")
def _(s):
    d = s.open("DICT")
    s.raw(request(0, "PING"))               # id 0: EINVAL
    s.req(4242)                             # unknown op
    s.req("DICT_SET", d, args=["only-key"])  # argument count
    s.req("LIST_LEN", d)                    # ETYPE
    s.req("DICT_LEN", 12345)                # ENOENT
    s.req("QUEUE_GET", d, timeout=float("nan"))
    s.open("NONE" if "NONE" in TYPE else "TYPE_NONE", new=False)
    s.req("OPEN", num=77)                   # unknown type
    s.open("DICT", flags=0x1000, new=False)  # unknown flag
    s.open("DICT", flags=EXCL, name="x", new=False)
    s.open("DICT", name="n" * 1100, flags=CREATE, new=False)  # name too long
    s.open("QUEUE", [], new=False)          # creation argument count
    s.raw(request(99, "DICT_SET", d) + f_bytes(4, b""))  # empty Item
    s.raw(request(100, "DICT_SET", d, args=[Ref(0, 1), 1]))  # ref id 0
    s.req("PING")


@story("bad_hello_version")
def _(s):
    s.out = bytearray(frame(hello(2)))
    s.raw(request(1, "PING"))


@story("bad_hello_garbage")
def _(s):
    s.out = bytearray(frame(b"\xff\xff\xff"))


@story("no_hello")
def _(s):
    s.out = bytearray(frame(request(1, "PING")))


@story("request_garbage")
def _(s):
    s.req("PING")
    s.raw(b"\x0a\x05\x01")                  # truncated field
    s.req("PING")


@story("frame_too_big")
def _(s):
    s.req("PING")
    s.out += struct.pack("<I", 0x7FFFFFFF) + b"xx"


@story("frame_truncated")
def _(s):
    s.req("PING")
    s.out += struct.pack("<I", 100) + b"\x08\x01"


@story("empty_frames")
def _(s):
    s.tick()
    s.tick()
    s.req("PING")


def open_pipe(s, flags=0, name=None):
    """OPEN of a PIPE: two objects, end b (made by the type's init) first,
    then end a, the one OPEN names; returns (a, b)."""
    s.req("OPEN", num=TYPE["PIPE"], num2=flags, name=name)
    b, a = s.next_obj, s.next_obj + 1
    s.next_obj += 2
    return a, b


@story("pipe_methods")
def _(s):
    a, b = open_pipe(s)
    s.req("PIPE_SEND", a, args=[1, "two", Bytes(b"3"), None, 4.5])
    s.req("PIPE_SEND", a)                   # nothing
    s.req("PIPE_POLL", b, timeout=0)
    for _ in range(6):
        s.req("PIPE_RECV", b, timeout=0)    # the last: ETIMEOUT
    s.req("PIPE_POLL", b, timeout=1.0)      # parked, then num 0
    s.tick()
    s.tick()
    s.req("PIPE_RECV", b, timeout=-1)       # parked
    s.req("PIPE_SEND", a, args=[7])         # answers it
    s.req("PIPE_RECV", a, timeout=float("nan"))
    s.req("RELEASE", a)                     # end a closed
    s.req("PIPE_RECV", b, timeout=0)        # ECLOSED
    s.req("PIPE_SEND", b, args=[1])         # ECLOSED
    s.req("STATS")


@story("pipe_simplex_named")
def _(s):
    a, b = open_pipe(s, flags=128, name="p")  # SIMPLEX
    s.req("PIPE_SEND", a, args=[1])         # EINVAL: a only receives
    s.req("PIPE_RECV", b, timeout=0)        # EINVAL: b only sends
    s.req("PIPE_POLL", b, timeout=0)        # EINVAL
    s.req("PIPE_SEND", b, args=[Ref(a, TYPE["PIPE"]), Ref(b, TYPE["PIPE"])])
    s.req("OPEN", num=TYPE["PIPE"], name="p")             # the same ends
    s.req("OPEN", num=TYPE["PIPE"], name="p", num2=3)     # EEXIST
    s.req("OPEN", num=TYPE["PIPE"], args=[1])             # EINVAL
    s.req("OPEN", num=TYPE["PIPE"], num2=LIFO)            # EINVAL
    for _ in range(2):
        s.req("RELEASE", a)
        s.req("RELEASE", b)
    s.req("UNLINK", name="p")               # both ends close (a cycle)
    s.req("PIPE_RECV", a, timeout=0)


@story("pipe_parked_close")
def _(s):
    a, b = open_pipe(s)
    s.req("PIPE_RECV", b, timeout=5)
    s.req("PIPE_POLL", b, timeout=-1)
    s.req("PIPE_RECV", b, timeout=-1)
    s.req("PIPE_SEND", b, args=[Ref(b, TYPE["PIPE"])])
    s.req("RELEASE", a)                     # answers all three
    s.tick()
    s.req("DICT_SET", a, args=[1, 2])


# Pools: one connection plays creator, supervisor, worker and submitter
# (job and task ids are guesses: the fuzzer finds the rest).
def open_pool(s, processes=2, maxtasks=0, fns=("sq", "add"), name=None):
    return s.open("POOL", args=[processes, maxtasks, *fns], name=name)


@story("pool_lifecycle")
def _(s):
    p = open_pool(s)
    s.req("POOL_SUPERVISE", p)
    s.req("POOL_SUBMIT", p, num=0, args=["sq", 3])           # APPLY
    s.req("POOL_SUBMIT", p, num=1, num2=2, args=["sq", 1, 2, 3, 4, 5])
    s.req("POOL_SUBMIT", p, num=2, num2=1, args=["add", 2, 1, 2, 1, 7])
    s.req("POOL_SUBMIT", p, num=3, num2=1, args=["sq", 1, 2])  # IMAP
    s.req("POOL_TAKE", p, num2=4, timeout=-1)
    s.req("POOL_DONE", p, num=1, args=[9])
    s.req("POOL_DONE", p, num=2, num2=21, args=["it failed"])
    s.req("POOL_DONE", p, num=3, args=[1, 4])
    s.req("POOL_GET", p, num=1, timeout=0)
    s.req("POOL_GET", p, num=2, num2=1, timeout=1.0)
    s.req("POOL_WAIT", p, args=[1, 2, 3], timeout=0.5)
    s.req("POOL_NEXT", p, num=4, timeout=0)
    s.tick()
    s.req("POOL_INFO", p)
    s.req("POOL_FORGET", p, num=2)
    s.req("POOL_CLOSE", p)
    s.req("POOL_SUBMIT", p, num=0, args=["sq", 1])           # ECLOSED
    s.req("POOL_WAIT", p, num=1, args=[1], timeout=0)
    s.req("POOL_TERMINATE", p)
    s.req("POOL_TAKE", p, num2=1, timeout=0)                 # ECLOSED


@story("pool_hostile")
def _(s):
    p = open_pool(s, processes=1, maxtasks=1, fns=("f",))
    s.req("OPEN", num=TYPE["POOL"], args=[0, 0, "f"])        # EINVAL
    s.req("OPEN", num=TYPE["POOL"], args=[1, 0, "f", "f"])   # EINVAL
    s.req("OPEN", num=TYPE["POOL"], args=[1, 0])             # EINVAL
    s.req("POOL_SUBMIT", p, num=9, args=["f"])               # bad kind
    s.req("POOL_SUBMIT", p, num=0, args=["nope"])            # EINVAL
    s.req("POOL_SUBMIT", p, num=2, num2=1, args=["f", 5, 1]) # bad payload
    s.req("POOL_SUBMIT", p, num=1, num2=0, args=["f", 1])    # chunksize 0
    s.req("POOL_SUBMIT", p, num=1, num2=1, args=["f"])       # empty map
    s.req("POOL_TAKE", p, num2=0, timeout=0)                 # EINVAL
    s.req("POOL_TAKE", p, num2=1 << 40, timeout=0)
    s.req("POOL_DONE", p, num=77, args=[1])                  # ENOENT
    s.req("POOL_DONE", p, num=1, num2=5, args=[1, 2, 3])     # malformed
    s.req("POOL_GET", p, num=-1, timeout=0)
    s.req("POOL_WAIT", p, timeout=0)                          # nothing
    s.req("POOL_SUPERVISE", p)
    s.req("POOL_SUPERVISE", p)                               # EEXIST
    s.req("POOL_INIT_FAILED", p, args=["no db"])             # breaks it
    s.req("POOL_SUBMIT", p, num=0, args=["f", 1])            # ECLOSED
    s.req("RELEASE", p)


# ----------------------------------------------------------------- items


@story("look_inside")
def _(s):
    d = s.open("DICT", name="look.d", flags=CREATE)
    s.req("DICT_SET", d, args=["k", "v"])
    s.open("ARRAY", [2, 3], name="look.a", flags=CREATE)
    s.req("OBJECTS", args=["look.*", ""])
    s.req("OBJECTS", args=["*", "look.a"], num2=1)
    s.req("OBJECTS", args=["[", ""])                # a bad glob: no match
    s.req("OBJECTS", args=[1, ""])                  # EINVAL
    s.req("CLIENTS")
    s.req("INFO")
    s.req("DUMP", d)
    s.req("DUMP", 2)
    s.req("DUMP", 99)                                # ENOENT


@story("dump_every_type")
def _(s):
    ids = [s.open("DICT"), s.open("LIST"), s.open("QUEUE", [0]),
           s.open("LOCK"), s.open("SEM", [1]), s.open("COND", [None]),
           s.open("EVENT"), s.open("BARRIER", [2]), s.open("VALUE", ["x"]),
           s.open("ARRAY", [3, 2])]
    for o in ids:
        s.req("DUMP", o)


@story("watch_monitor")
def _(s):
    d = s.open("DICT")
    s.req("WATCH", d)
    s.req("WATCH", d)                                # again: same watch
    s.req("DICT_SET", d, args=["k", 1])              # EINVAL: a subscriber
    s.req("MONITOR")                                 # EINVAL too
    s.req("WATCH", 12345)                            # ENOENT

ITEMS = {
    "nil": None,
    "bool_true": True,
    "bool_false": False,
    "int_0": 0,
    "int_neg": -42,
    "int_max": (1 << 63) - 1,
    "int_min": -(1 << 63),
    "float": 2.5,
    "float_int": 3.0,
    "float_neg_zero": -0.0,
    "float_big": 9.223372036854775807e18,
    "float_inf": float("inf"),
    "float_nan": float("nan"),
    "str_empty": "",
    "str": "hello",
    "str_nul": "a\x00b",
    "bytes": Bytes(b"\x00\xff\x10"),
    "bytes_empty": Bytes(b""),
    "ref_dict": Ref(1, TYPE["DICT"]),
    "ref_array": Ref(1 << 40, TYPE["ARRAY"]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    sdir, idir = os.path.join(out, "server"), os.path.join(out, "item")
    for d in (sdir, idir):
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("gen_"):
                os.unlink(os.path.join(d, f))
    for name, fn in CORPUS.items():
        s = Session()
        fn(s)
        open(os.path.join(sdir, "gen_" + name), "wb").write(bytes(s.out))
    for name, v in ITEMS.items():
        open(os.path.join(idir, "gen_" + name), "wb").write(item(v))
    # An Item with nothing set (EINVAL), and a Ref of an unknown type.
    open(os.path.join(idir, "gen_bad_none"), "wb").write(b"")
    open(os.path.join(idir, "gen_bad_ref_type"), "wb").write(
        f_bytes(7, f_varint(1, 1) + f_varint(2, 99)))
    print("%d server inputs, %d items in %s" % (
        len(CORPUS), len(ITEMS) + 2, out))


if __name__ == "__main__":
    main()
