/*
 * bench_redis.c — the Redis peer of the benchmark: each workload done the
 * way a C programmer would do it with Redis and hiredis, against a
 * redis-server that bench/run starts itself on a private Unix socket
 * (`redis-server --port 0 --unixsocket PATH --save '' --appendonly no`),
 * passed here as --address PATH, or over TCP loopback as --address
 * tcp:HOST:PORT (the peer redis-tcp: the same server's --port).
 *
 * Each workload maps to the closest Redis idiom:
 *   dict_set     SET k v          (value_size bytes)
 *   dict_get     GET k            (prepare preloads the o->keys keys)
 *   dict_incr    INCR k           (prepare sets the keys to 0)
 *   list_append  RPUSH bench:list v
 *   queue_pair   RPUSH bench:q v, then LPOP bench:q   (one op = the pair)
 *   lock_pair    SET bench:lock <client-id> NX, retried until it succeeds,
 *                then DEL bench:lock                  (one op = the pair)
 *   value_add    INCR bench:v
 *   locked_rmw   INCR bench:v
 * At depth > 1 a batch is pipelined: every command of the batch is queued
 * with redisAppendCommand (sent in one write by the first redisGetReply),
 * then all replies are read. lock_pair cannot be pipelined (whether to
 * retry the SET NX depends on its reply), so it is skipped at depth > 1.
 * After the run the parent checks the counters and lists hold what the
 * operations must have left, so a lost command cannot pass for speed.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define LIST_KEY  "bench:list"
#define QUEUE_KEY "bench:q"
#define LOCK_KEY  "bench:lock"
#define VALUE_KEY "bench:v"

/* One client process's connection. */
struct redis_client {
	redisContext *rc;
	int workload;
	int client;
	char id[32]; /* this client's lock token: SET bench:lock <id> NX */
	char *value; /* value_size bytes, sent by the set/append/put ops */
};

/* Connect to the server's Unix socket, or its TCP port for "tcp:HOST:PORT"
 * (hiredis sets TCP_NODELAY); NULL (with a message) on failure. */
static redisContext *redis_open(const struct bench_opts *o)
{
	redisContext *rc;
	const char *colon = strrchr(o->address, ':');
	if (!strncmp(o->address, "tcp:", 4) && colon > o->address + 4) {
		char host[256];
		snprintf(host, sizeof host, "%.*s",
		         (int)(colon - (o->address + 4)), o->address + 4);
		rc = redisConnect(host, atoi(colon + 1));
	} else {
		rc = redisConnectUnix(o->address);
	}
	if (rc == NULL || rc->err) {
		fprintf(stderr, "bench_redis: connect %s: %s\n", o->address,
		        rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		return NULL;
	}
	return rc;
}

/* Read one reply and check it is not an error (nor a lost connection).
 * Returns the reply (the caller frees it), or NULL after a message. */
static redisReply *redis_reply(redisContext *rc)
{
	void *r = NULL;
	if (redisGetReply(rc, &r) != REDIS_OK || r == NULL) {
		fprintf(stderr, "bench_redis: %s\n",
		        rc->err ? rc->errstr : "no reply");
		return NULL;
	}
	redisReply *reply = r;
	if (reply->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "bench_redis: server error: %s\n", reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* Read n replies, discarding them. 0, or -1 on the first error. */
static int redis_drain(redisContext *rc, int n)
{
	for (int k = 0; k < n; k++) {
		redisReply *reply = redis_reply(rc);
		if (reply == NULL)
			return -1;
		freeReplyObject(reply);
	}
	return 0;
}

static bool redis_supports(const struct bench_opts *o, const char **why)
{
	/* The shared-memory workloads have no Redis counterpart here. */
	if (bench_shm_only(o->w)) {
		*why = "a-shared-memory-workload";
		return false;
	}
	/* Nor have the process, pipe and pool ones: Python's multiprocessing
	 * and a raw socketpair are their peers. */
	if (bench_proc_workload(o->w)) {
		*why = "a-process-pipe-or-pool-workload";
		return false;
	}
	if (o->w == W_LOCK_PAIR && o->depth > 1) {
		/* The SET NX must be retried until it succeeds, which needs
		 * its reply before the DEL: nothing to pipeline. */
		*why = "lock-pair-cannot-be-pipelined";
		return false;
	}
	return true;
}

/* In the parent, before the clients start: put the keys the workload
 * uses in a known state, so every run starts from the same server state
 * whatever ran before on this server. Done in one pipeline. */
static int redis_prepare(const struct bench_opts *o)
{
	int w = o->w;
	redisContext *rc = redis_open(o);
	if (rc == NULL)
		return -1;

	int queued = 0;
	char *value = malloc((size_t)o->value_size + 1);
	if (value == NULL) {
		redisFree(rc);
		return -1;
	}
	memset(value, 'v', (size_t)o->value_size);

	switch (w) {
	case W_DICT_GET:
	case W_DICT_INCR:
		/* bench_key() names keys "k<number>" over o->keys numbers:
		 * GET must find every one of them (dict_get checks it does),
		 * and INCR needs integers, not values a dict_set left. */
		for (int k = 0; k < o->keys; k++) {
			if (w == W_DICT_GET)
				redisAppendCommand(rc, "SET k%d %b", k, value,
				                   (size_t)o->value_size);
			else
				redisAppendCommand(rc, "SET k%d 0", k);
			queued++;
		}
		break;
	case W_LIST_APPEND:
		redisAppendCommand(rc, "DEL " LIST_KEY);
		queued++;
		break;
	case W_QUEUE_PAIR:
		redisAppendCommand(rc, "DEL " QUEUE_KEY);
		queued++;
		break;
	case W_LOCK_PAIR:
		redisAppendCommand(rc, "DEL " LOCK_KEY);
		queued++;
		break;
	case W_VALUE_ADD:
	case W_LOCKED_RMW:
		redisAppendCommand(rc, "SET " VALUE_KEY " 0");
		queued++;
		break;
	default:
		break;
	}
	int rv = redis_drain(rc, queued);
	free(value);
	redisFree(rc);
	return rv;
}

static void *redis_connect(const struct bench_opts *o, int client)
{
	struct redis_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->workload = o->w;
	if (c->workload < 0) { /* supports() should have said so */
		free(c);
		return NULL;
	}
	c->client = client;
	/* Unique per client process, as a real lock token would be. */
	snprintf(c->id, sizeof c->id, "client-%d-%d", client, (int)getpid());
	c->value = malloc((size_t)o->value_size + 1);
	c->rc = redis_open(o);
	if (c->value == NULL || c->rc == NULL) {
		free(c->value);
		free(c);
		return NULL;
	}
	memset(c->value, 'v', (size_t)o->value_size);
	return c;
}

/* lock_pair: take the lock with SET NX, retrying while another client
 * holds it, then release it with DEL. This is the common simple form;
 * a careful lock would also set an expiry (PX) and release with a Lua
 * compare-and-delete, which only costs Redis more, so the simple form
 * flatters Redis if anything. Retrying at once (no sleep) gives the
 * lowest latency hand-off, at the price of server CPU under contention,
 * which the CPU column shows. */
static int redis_lock_pair(struct redis_client *c)
{
	for (;;) {
		redisAppendCommand(c->rc, "SET " LOCK_KEY " %s NX", c->id);
		redisReply *reply = redis_reply(c->rc);
		if (reply == NULL)
			return -1;
		bool taken = reply->type == REDIS_REPLY_STATUS; /* +OK */
		freeReplyObject(reply);
		if (taken)
			break;
		/* nil: held by another client; try again. */
	}
	redisAppendCommand(c->rc, "DEL " LOCK_KEY);
	return redis_drain(c->rc, 1);
}

static int redis_run(void *ctx, const struct bench_opts *o, long i, int n)
{
	struct redis_client *c = ctx;
	char key[64];
	size_t vlen = (size_t)o->value_size;

	if (c->workload == W_LOCK_PAIR)
		return redis_lock_pair(c); /* n == 1: depth 1 only */

	/* Queue the whole batch; the first redisGetReply writes it all. */
	int replies = 0;
	for (int k = 0; k < n; k++) {
		switch (c->workload) {
		case W_DICT_SET:
			bench_key(o, c->client, i + k, key, sizeof key);
			redisAppendCommand(c->rc, "SET %s %b", key, c->value,
			                   vlen);
			break;
		case W_DICT_GET:
			bench_key(o, c->client, i + k, key, sizeof key);
			redisAppendCommand(c->rc, "GET %s", key);
			break;
		case W_DICT_INCR:
			bench_key(o, c->client, i + k, key, sizeof key);
			redisAppendCommand(c->rc, "INCR %s", key);
			break;
		case W_LIST_APPEND:
			redisAppendCommand(c->rc, "RPUSH " LIST_KEY " %b",
			                   c->value, vlen);
			break;
		case W_QUEUE_PAIR:
			/* Each client pushes before it pops, and Redis runs
			 * commands one at a time, so the LPOP never finds the
			 * list empty. */
			redisAppendCommand(c->rc, "RPUSH " QUEUE_KEY " %b",
			                   c->value, vlen);
			if (n == 1) {
				/* Depth 1: the pair is two round trips, as
				 * for every other peer (a put, then a get). */
				if (redis_drain(c->rc, 1))
					return -1;
				replies--;
			}
			redisAppendCommand(c->rc, "LPOP " QUEUE_KEY);
			replies++;
			break;
		case W_VALUE_ADD:
			redisAppendCommand(c->rc, "INCR " VALUE_KEY);
			break;
		case W_LOCKED_RMW:
			/* Python's `with lock: v.value += 1` is a lock, a read,
			 * a write and an unlock; Redis's idiom for the same
			 * effect is its atomic INCR, so it is measured that
			 * way (as objmgr's is its single om_value_add). */
			redisAppendCommand(c->rc, "INCR " VALUE_KEY);
			break;
		}
		replies++;
	}

	if (c->workload != W_DICT_GET)
		return redis_drain(c->rc, replies);

	/* dict_get: a missing key would measure nothing useful (a nil is
	 * cheaper than a value), so insist on a value of the right size. */
	for (int k = 0; k < replies; k++) {
		redisReply *reply = redis_reply(c->rc);
		if (reply == NULL)
			return -1;
		bool ok = reply->type == REDIS_REPLY_STRING &&
		          reply->len == (size_t)o->value_size;
		freeReplyObject(reply);
		if (!ok) {
			fprintf(stderr, "bench_redis: GET found no value "
			                "(was the key preloaded?)\n");
			return -1;
		}
	}
	return 0;
}

static void redis_disconnect(void *ctx)
{
	struct redis_client *c = ctx;
	redisFree(c->rc);
	free(c->value);
	free(c);
}

/* After the run, in the parent: check the server holds what clients *
 * ops operations must have left, so lost or failed commands cannot pass
 * for speed. 0, or -1 after a message. */
static int redis_verify(const struct bench_opts *o)
{
	long long want = (long long)o->clients * o->ops;
	const char *cmd;

	switch (o->w) {
	case W_LIST_APPEND:
		cmd = "LLEN " LIST_KEY;
		break;
	case W_QUEUE_PAIR:
		cmd = "LLEN " QUEUE_KEY;
		want = 0; /* every push was popped */
		break;
	case W_VALUE_ADD:
	case W_LOCKED_RMW:
		cmd = "GET " VALUE_KEY;
		break;
	default:
		return 0;
	}
	redisContext *rc = redis_open(o);
	if (rc == NULL)
		return -1;
	redisAppendCommand(rc, cmd);
	redisReply *reply = redis_reply(rc);
	long long got = -1;
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
		got = reply->integer;
	else if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		got = strtoll(reply->str, NULL, 10);
	if (reply != NULL)
		freeReplyObject(reply);
	redisFree(rc);
	if (got != want) {
		fprintf(stderr,
		        "bench_redis: %s after %s: %lld, expected %lld\n", cmd,
		        o->workload, got, want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct bench_peer peer = {
	        .name = "redis",
	        .connect = redis_connect,
	        .run = redis_run,
	        .disconnect = redis_disconnect,
	        .supports = redis_supports,
	        .prepare = redis_prepare,
	};
	struct bench_opts o = {0};

	bench_parse(argc, argv, &o);
	if (o.peer == NULL)
		o.peer = peer.name;
	if (o.address == NULL) {
		fprintf(stderr, "bench_redis: --address (the redis-server Unix "
		                "socket path) is required\n");
		return 2;
	}
	int status = bench_main(&o, &peer);
	const char *why;
	if (status == 0 && redis_supports(&o, &why) && redis_verify(&o) < 0)
		status = 1;
	return status;
}
