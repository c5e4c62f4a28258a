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
 * (one line, space-separated key=value), or
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
	W_COUNT
};
extern const char *const bench_workload_names[W_COUNT];

struct bench_opts {
	const char *peer;     /* for the RESULT line */
	const char *workload; /* its name, for output */
	enum bench_workload w;
	const char *address;  /* server address (socket path), if any */
	int clients;          /* client processes */
	int depth;            /* operations in flight per client (pipeline) */
	long ops;             /* operations per client */
	pid_t server_pid;     /* for CPU accounting; 0: none */
	int keys;             /* distinct keys for dict workloads (1000) */
	int value_size;       /* bytes in a stored value (16) */
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
 *  --server-pid P --keys K --value-size B. Exits with usage on error. */
void bench_parse(int argc, char **argv, struct bench_opts *o);

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
