/*
 * common.h — the harness every benchmark driver shares, so every peer is
 * measured the same way: N separate client processes (fork), each with its
 * own connection, the same number of operations each, the same item sizes,
 * released together from a start gate, timed per batch.
 *
 * A driver (bench_objmgr, bench_raw, bench_redis, bench_shm) fills a
 * struct bench_peer and calls bench_main(). It prints one line:
 *   RESULT peer=P workload=W clients=N depth=D ops=T ops_per_s=X
 *          p50_us=A p99_us=B cpu_us_per_op=C server_cpu_us_per_op=S
 * (one line, space-separated key=value; a driver may append more pairs,
 * bench_result_extra), or
 *   SKIP peer=P workload=W reason=...
 * when the peer cannot run that workload.
 *
 * Latency: each batch of `depth` operations is timed; at depth 1 that is
 * one operation's round trip, at depth > 1 the time to complete the whole
 * pipelined batch. CPU per op counts every client process plus the server
 * process (--server-pid, read from /proc before and after), divided by the
 * operations done: the cost of an operation to the machine.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Workloads: bench_parse() turns the name on the command line into the
 * number every driver switches on (bench_opts.w). */
enum bench_workload {
	W_DICT_SET,
	W_DICT_GET,
	W_DICT_INCR,
	W_LIST_APPEND,
	W_QUEUE_PAIR,
	W_LOCK_PAIR,
	W_VALUE_ADD,
	W_LOCKED_RMW,
	/* The shared-memory workloads (issue 9): memory-speed calls once
	 * objmgr maps the object (value_add and lock_pair above are two of
	 * them). Only objmgr, objmgr-rpc, shm and python-shm run these. */
	W_ARRAY_ADD,      /* add 1 to element BENCH_ARRAY_HOT, shared by all */
	W_ARRAY_GET,      /* read element bench_array_index() */
	W_SEM_PAIR,       /* acquire + release, initial value = clients */
	W_EVENT_PINGPONG, /* one round trip between the two clients of a pair */
	/* Processes, pipes and pools (issue 10): objmgr against Python's
	 * multiprocessing (and, for the pipe, a raw socketpair). */
	W_POOL_MAP,      /* one item of a map: a whole run is one map call */
	W_APPLY_ASYNC,   /* apply_async + get of a trivial function */
	W_PIPE_PINGPONG, /* one round trip of a message between a pair */
	W_COUNT
};
extern const char *const bench_workload_names[W_COUNT];

/* The shared-memory array's length (ints), and the one element every
 * client's array_add updates: a shared element, so the clients contend
 * for its cache line as counters in a real program do. */
#define BENCH_ARRAY_LEN 1024
#define BENCH_ARRAY_HOT 0

struct bench_opts {
	const char *peer;     /* for the RESULT line */
	const char *workload; /* its name, for output */
	enum bench_workload w;
	const char *address; /* server address (socket path), if any */
	int clients;         /* client processes */
	int depth;           /* operations in flight per client (pipeline) */
	long ops;            /* operations per client */
	pid_t server_pid;    /* for CPU accounting; 0: none */
	int keys;            /* distinct keys for dict workloads (1000) */
	int value_size;      /* bytes in a stored value (16) */
	long chunksize;      /* pool_map: items per task (1) */
	int processes;       /* pool workloads: workers (0: the CPU count) */
};

/* One client process's connection and state, made in the child. */
struct bench_peer {
	const char *name;
	/* Connect client number `client` (0..clients-1) and prepare the
	 * workload (open objects, preload keys for dict_get). Return a
	 * context, or NULL to fail the run. Called in the child. */
	void *(*connect)(const struct bench_opts *o, int client);
	/* Do `n` operations of the workload (n == depth, pipelined when the
	 * peer can; n may be smaller for the last batch), starting at
	 * operation number `i`. Return 0, or -1 on an error (fails the run). */
	int (*run)(void *ctx, const struct bench_opts *o, long i, int n);
	void (*disconnect)(void *ctx);
	/* Optional: whether the peer supports the workload/depth at all
	 * (a peer without pipelining skips depth > 1). NULL: all. */
	bool (*supports)(const struct bench_opts *o, const char **why);
	/* Optional: run once in the parent before the clients start (create
	 * shared objects, preload); NULL: nothing. Return 0 or -1. */
	int (*prepare)(const struct bench_opts *o);
};

/** Parse --workload W --clients N --depth D --ops K --address A
 *  --server-pid P --keys K --value-size B --peer NAME --chunksize C
 *  --processes P. Exits with usage on
 *  error. --peer names the RESULT line's peer (o->peer; NULL if absent:
 *  the driver's own name). */
void bench_parse(int argc, char **argv, struct bench_opts *o);

/** Extra " key=value" pairs for the RESULT line (empty: none); a driver
 *  may fill it in prepare(), e.g. objmgr's " shared=1". */
extern char bench_result_extra[128];

/** Client processes per operation: 2 for event_pingpong and
 *  pipe_pingpong, whose two clients of a pair share each round trip
 *  (client 2k pings, 2k+1 pongs), 1 otherwise. The RESULT's ops (and ops/s, cpu
 * per op) count clients * ops / this: round trips, not each side's half. */
int bench_procs_per_op(const struct bench_opts *o);

/** Whether w is one of the shared-memory workloads that are no RPC
 *  workload (array_add .. event_pingpong): the RPC peers skip them. */
static inline bool bench_shm_only(enum bench_workload w)
{
	return w >= W_ARRAY_ADD && w <= W_EVENT_PINGPONG;
}

/** Whether w is one of the process, pipe and pool workloads (issue 10):
 *  only objmgr, python-mp and (pipe_pingpong) raw run them. */
static inline bool bench_proc_workload(enum bench_workload w)
{
	return w >= W_POOL_MAP && w < W_COUNT;
}

/** Whether w runs its clients in pinging and ponging pairs. */
static inline bool bench_paired(enum bench_workload w)
{
	return w == W_EVENT_PINGPONG || w == W_PIPE_PINGPONG;
}

/** Operations per call of bench_peer.run(): the depth, except for
 *  pool_map, whose whole run (--ops items) is one map call, so that a
 *  run measures what the map's chunking and its workers do with them. */
long bench_batch(const struct bench_opts *o);

/** CPU seconds used so far by every living descendant of this process
 *  (the pool workers and supervisor a client started), all threads.
 *  The harness adds the change over the run to the client's CPU. */
double bench_descendants_cpu(void);

/** For event_pingpong: whether client `client` is the pinging side
 *  (even) of pair client / 2. */
static inline bool bench_pinger(int client)
{
	return client % 2 == 0;
}

/** The element operation i of client c reads in array_get: client c
 *  starts c/clients of the way along the array and walks it in order. */
size_t bench_array_index(const struct bench_opts *o, int client, long i);

/** Run the clients and print the RESULT (or SKIP) line.
 *  @return the process exit status (0 ok). */
int bench_main(const struct bench_opts *o, const struct bench_peer *p);

/** The key for operation i of client c: "k<number>" in *buf, over
 *  o->keys distinct keys (spread so clients touch different keys). */
int bench_key(const struct bench_opts *o, int client, long i, char *buf,
              int cap);

/** Seconds (CLOCK_MONOTONIC). */
double bench_now(void);

#endif /* BENCH_COMMON_H */
