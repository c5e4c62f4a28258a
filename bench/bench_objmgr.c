/*
 * bench_objmgr.c — the objmgr peer: drives a running objmgrd (--address,
 * started by bench/run) through libobjmgr.
 *
 * All clients share the same named objects ("bench.dict", "bench.list",
 * "bench.queue", "bench.lock", "bench.value", "bench.array", "bench.sem",
 * and a pair of events "bench.ev.<pair>.ping"/".pong" per two clients),
 * created and reset by the parent in prepare(), so the server sees the
 * contention a real program would. Each client opens them by name on its
 * own connection. One operation per workload:
 *   dict_set     om_dict_set(key, value of --value-size bytes)
 *   dict_get     om_dict_get(key) (the --keys keys are preloaded)
 *   dict_incr    om_dict_incr(key, 1)
 *   list_append  om_list_append(value)
 *   queue_pair   om_queue_put(value) then om_queue_get() (unbounded FIFO)
 *   lock_pair    om_lock_acquire(OM_FOREVER) then om_lock_release()
 *   value_add    om_value_add(1)
 *   locked_rmw   om_value_add(1): our one atomic call is what replaces
 *                Python's `with lock: v.value += 1`
 *   array_add    om_array_add(BENCH_ARRAY_HOT, 1) on a 1024-int array:
 *                every client on the same element
 *   array_get    om_array_get(bench_array_index()): each client walks it
 *   sem_pair     om_sem_acquire(OM_FOREVER) then om_sem_release(1), on a
 *                semaphore made with the client count as its value, so no
 *                acquire ever has to wait (the fast path, on one shared
 *                word; lock_pair is the one that hands over)
 *   event_pingpong  one round trip of a pair: client 2k does
 *                set(ping), wait(pong), clear(pong); client 2k+1 does
 *                wait(ping), clear(ping), set(pong)
 *   pool_map     one item of om_pool_map(pool, "square", items, --ops,
 *                --chunksize): a client's whole run is one map call
 *                (bench_batch) of the ints 0..ops-1 on a pool of
 *                --processes workers (0: the CPU count) that the client
 *                creates before the gate; every result is checked to be
 *                x * x
 *   apply_async  om_pool_apply_async(pool, "square", i) then
 *                om_async_get(OM_FOREVER) and om_async_free: one task's
 *                round trip through the pool, its result checked
 *   pipe_pingpong  one round trip of a --value-size message over the
 *                pipe "bench.pipe.<pair>": client 2k sends on end a and
 *                receives the echo, client 2k+1 receives on end b and
 *                sends it back; the pinger checks that the echo carries
 *                its operation number
 * A pool workload's workers, and the supervisor that keeps them, are the
 * client's descendants: their CPU counts in the client's (common.c).
 * Value, array, lock, semaphore and event calls run in shared memory when
 * the library maps the object (OBJMGR_SHM=0 in the environment: it does
 * not, which bench/run reports as the peer objmgr-rpc, --peer); the RESULT
 * line says which with shared=1 or shared=0. At depth > 1 a batch is one
 * om_pipeline_begin/om_pipeline_end (calls on shared objects then go as
 * requests too, to keep their order). After the run the parent checks that
 * the counters hold clients * ops, so a lost update cannot pass for speed.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <objmgr.h>

#include "common.h"

/* One client's connection and the handle its workload uses. */
struct ctx {
	om_client *c;
	enum bench_workload w;
	int client;
	void *obj;      /* om_dict, om_list, om_queue, om_lock, om_value,
	                   om_array, om_sem, or the event this client sets */
	om_event *wait; /* event_pingpong: the event this client waits on */
	char *value;    /* --value-size bytes, the stored value */
	om_item *out;   /* depth outputs (dict_get, queue get) */
	om_pool *pool;  /* pool_map, apply_async: this client's pool */
	om_item *items; /* pool_map: the ints 0..ops-1 to map */
	om_pipe *end;   /* pipe_pingpong: the end this client uses */
};

static int fail(om_client *c, const char *what, int rc)
{
	fprintf(stderr, "bench_objmgr: %s: %s%s%s\n", what, om_strerror(rc),
	        c && *om_errmsg(c) ? ": " : "", c ? om_errmsg(c) : "");
	return -1;
}

/* The events of pair `pair`: "bench.ev.<pair>.ping" (set by the pinger)
 * and ".pong" (set by the ponger). */
static void event_name(char *buf, size_t cap, int pair, bool ping)
{
	snprintf(buf, cap, "bench.ev.%d.%s", pair, ping ? "ping" : "pong");
}

/* Open the workload's object on c by name; flags as for om_*_open.
 * event_pingpong opens none (open_events). */
static int open_obj(om_client *c, const struct bench_opts *o, int flags,
                    void **obj)
{
	switch (o->w) {
	case W_DICT_SET:
	case W_DICT_GET:
	case W_DICT_INCR:
		return om_dict_open(c, "bench.dict", flags, (om_dict **)obj);
	case W_LIST_APPEND:
		return om_list_open(c, "bench.list", flags, (om_list **)obj);
	case W_QUEUE_PAIR:
		return om_queue_open(c, "bench.queue", flags, 0,
		                     (om_queue **)obj);
	case W_LOCK_PAIR:
		return om_lock_open(c, "bench.lock", flags, (om_lock **)obj);
	case W_VALUE_ADD:
	case W_LOCKED_RMW:
		return om_value_open(c, "bench.value", flags, om_int(0),
		                     (om_value **)obj);
	case W_ARRAY_ADD:
	case W_ARRAY_GET:
		return om_array_open(c, "bench.array", flags, OM_INT,
		                     BENCH_ARRAY_LEN, (om_array **)obj);
	case W_SEM_PAIR:
		return om_sem_open(c, "bench.sem", flags, (unsigned)o->clients,
		                   (om_sem **)obj);
	case W_EVENT_PINGPONG:
	case W_POOL_MAP:
	case W_APPLY_ASYNC:
	case W_PIPE_PINGPONG:
	case W_COUNT:
		break;
	}
	return OM_EINVAL;
}

/* event_pingpong: open client `client`'s two events, *set the one it sets,
 * *wait the one it waits on. */
static int open_events(om_client *c, int client, int flags, om_event **set,
                       om_event **wait)
{
	char name[64];
	bool pinger = bench_pinger(client);
	event_name(name, sizeof name, client / 2, pinger);
	int rc = om_event_open(c, name, flags, set);
	if (rc < 0)
		return rc;
	event_name(name, sizeof name, client / 2, !pinger);
	return om_event_open(c, name, flags, wait);
}

/* The pool's one function: x * x of an int, as Python's peer maps. */
static int square(om_task *t, const om_item *args, size_t nargs)
{
	if (nargs != 1 || args[0].kind != OM_INT)
		return om_task_fail(t, "square takes one int, got %zu args",
		                    nargs);
	return om_task_return(t, om_int(args[0].i * args[0].i));
}

static const om_task_def pool_tasks[] = {{"square", square}};

/* The pool size a run asks for: --processes, or the CPUs this process may
 * run on (what om_pool_open's 0 means, and Python's Pool() default), made
 * explicit so the RESULT line can say it. */
static int pool_processes(const struct bench_opts *o)
{
	if (o->processes > 0)
		return o->processes;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return 1;
}

/* The pipe of pair `pair`. */
static void pipe_name(char *buf, size_t cap, int pair)
{
	snprintf(buf, cap, "bench.pipe.%d", pair);
}

/*
 * Make client x's pool and wait, before the gate opens, until every worker
 * is connected and has run a task: otherwise the measured window would
 * include forking the workers and their first connections.
 */
static int start_pool(struct ctx *x, const struct bench_opts *o)
{
	int procs = pool_processes(o);
	om_pool_config cfg = {.tasks = pool_tasks, .ntasks = 1};
	int rc = om_pool_open(x->c, NULL, 0, (unsigned)procs, &cfg, &x->pool);
	if (rc < 0)
		return fail(x->c, "pool open", rc);
	/* Bounded: 10 s of 1 ms naps. This is set-up, not a measurement;
	 * the pool has no call that waits for its workers. */
	om_pool_stats st = {0};
	for (int k = 0; k < 10000; k++) {
		rc = om_pool_info(x->pool, &st);
		if (rc < 0)
			return fail(x->c, "pool info", rc);
		if (st.workers >= (unsigned)procs)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	if (st.workers < (unsigned)procs) {
		fprintf(stderr, "bench_objmgr: %u of %d pool workers came up\n",
		        st.workers, procs);
		return -1;
	}
	/* One task per worker and then some, so each has run one. */
	om_item warm[8];
	for (int k = 0; k < 8; k++)
		warm[k] = om_int(k);
	om_items res = {0};
	rc = om_pool_map(x->pool, "square", warm, 8, 1, &res);
	om_items_free(&res);
	return rc < 0 ? fail(x->c, "pool warm-up", rc) : 0;
}

static bool supports(const struct bench_opts *o, const char **why)
{
	/* A map's batch is the whole map (bench_batch); one apply_async
	 * round trip, or one ping-pong, needs the answer before the next. */
	if (bench_proc_workload(o->w) && o->depth > 1) {
		*why = "one-call-at-a-time";
		return false;
	}
	/* Acquire/release pairs queued by one client say nothing about a
	 * lock: every acquire but the first would wait on its own holder. */
	if (o->w == W_LOCK_PAIR && o->depth > 1) {
		*why = "lock-pairs-cannot-pipeline";
		return false;
	}
	/* The same for a semaphore's pairs; a ping-pong's wait needs the
	 * other side's answer to the set before it. */
	if ((o->w == W_SEM_PAIR || o->w == W_EVENT_PINGPONG) && o->depth > 1) {
		*why = "waits-cannot-pipeline";
		return false;
	}
	return true;
}

/*
 * Create the objects and put them in the state the workload starts from,
 * whatever ran before: an empty dict (dict_incr fails on the bytes values
 * dict_set leaves) with the keys preloaded for dict_get, an empty list
 * (appends would otherwise pile up run after run), an empty queue, a value
 * of 0.
 */
static int prepare(const struct bench_opts *o)
{
	enum bench_workload w = o->w;
	om_client *c;
	void *obj = NULL;
	int rc = om_connect(o->address, &c);
	if (rc < 0)
		return fail(NULL, "connect", rc);
	if (w == W_SEM_PAIR) {
		/* A semaphore's value is fixed when it is created: make it anew
		 * with this run's client count (and whatever a failed run left
		 * it at gone). */
		rc = om_unlink(c, "bench.sem");
		if (rc < 0 && rc != OM_ENOENT) {
			fail(c, "unlink", rc);
			goto out;
		}
	}
	if (w == W_POOL_MAP || w == W_APPLY_ASYNC) {
		/* Each client makes its own (unnamed) pool: nothing to reset.
		 */
		snprintf(bench_result_extra, sizeof bench_result_extra,
		         " chunksize=%ld processes=%d",
		         w == W_POOL_MAP ? o->chunksize : 1L,
		         pool_processes(o));
		goto out;
	}
	if (w == W_PIPE_PINGPONG) {
		/* Every pair's pipe made anew: a failed run may have left
		 * messages in it. */
		char name[64];
		om_pipe *a, *b;
		for (int k = 0; k < o->clients && rc >= 0; k += 2) {
			pipe_name(name, sizeof name, k / 2);
			rc = om_unlink(c, name);
			if (rc == OM_ENOENT)
				rc = OM_OK;
			if (rc >= 0)
				rc = om_pipe_open(c, name, OM_CREATE, &a, &b);
		}
		if (rc < 0)
			fail(c, "pipe", rc);
		goto out;
	}
	if (w == W_EVENT_PINGPONG) {
		/* Every pair's events, cleared (a failed run may leave one
		 * set). The handles go with the connection. */
		rc = OM_OK;
		for (int k = 0; k < o->clients && rc >= 0; k += 2) {
			om_event *set, *wait;
			rc = open_events(c, k, OM_CREATE, &set, &wait);
			if (rc >= 0)
				rc = om_event_clear(set);
			if (rc >= 0)
				rc = om_event_clear(wait);
			obj = set;
		}
	} else {
		rc = open_obj(c, o, OM_CREATE, &obj);
	}
	if (rc < 0) {
		fail(c, "open", rc);
		goto out;
	}
	/* The parent runs with the clients' environment, so it maps (or not)
	 * as they do. */
	snprintf(bench_result_extra, sizeof bench_result_extra, " shared=%d",
	         om_is_shared(obj) ? 1 : 0);
	if (w == W_DICT_SET || w == W_DICT_GET || w == W_DICT_INCR) {
		rc = om_dict_clear(obj);
		if (rc < 0)
			fail(c, "dict clear", rc);
	}
	if (w == W_DICT_GET && rc >= 0) {
		char *val = calloc(1, (size_t)o->value_size + 1);
		char key[32];
		if (!val) {
			rc = OM_ENOMEM;
			goto out;
		}
		memset(val, 'v', (size_t)o->value_size);
		/* Client 0's keys for the first --keys operations are every
		 * key once: exactly the keys the clients will ask for. */
		for (long i = 0; i < o->keys && rc >= 0; i++) {
			bench_key(o, 0, i, key, sizeof key);
			rc = om_dict_set(obj, om_str(key),
			                 om_bytes(val, (size_t)o->value_size));
		}
		free(val);
		if (rc < 0)
			fail(c, "preload", rc);
	} else if (w == W_LIST_APPEND) {
		rc = om_list_clear(obj);
		if (rc < 0)
			fail(c, "list clear", rc);
	} else if (w == W_QUEUE_PAIR) {
		/* Every run takes out what it puts in, but a failed run may
		 * have left items behind. */
		om_item it;
		while ((rc = om_queue_get(obj, &it, 0)) == OM_OK)
			om_item_free(&it);
		if (rc == OM_EEMPTY)
			rc = OM_OK;
		else
			fail(c, "queue drain", rc);
	} else if (w == W_VALUE_ADD || w == W_LOCKED_RMW) {
		rc = om_value_set(obj, om_int(0));
		if (rc < 0)
			fail(c, "value set", rc);
	} else if (w == W_ARRAY_ADD) {
		rc = om_array_set(obj, BENCH_ARRAY_HOT, om_int(0));
		if (rc < 0)
			fail(c, "array set", rc);
	}
out:
	/* The objects are named, so they outlive this connection; the
	 * children open their own and inherit nothing from the parent. */
	om_disconnect(c);
	return rc < 0 ? -1 : 0;
}

static void *connect_client(const struct bench_opts *o, int client)
{
	struct ctx *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->w = o->w;
	x->client = client;
	x->value = malloc((size_t)o->value_size + 1);
	x->out = calloc((size_t)o->depth, sizeof *x->out);
	if (!x->value || !x->out)
		goto fail;
	memset(x->value, 'v', (size_t)o->value_size);
	int rc = om_connect(o->address, &x->c);
	if (rc < 0) {
		fail(NULL, "connect", rc);
		goto fail;
	}
	if (x->w == W_POOL_MAP || x->w == W_APPLY_ASYNC) {
		if (x->w == W_POOL_MAP) {
			x->items = calloc((size_t)o->ops, sizeof *x->items);
			if (!x->items)
				goto fail;
			for (long k = 0; k < o->ops; k++)
				x->items[k] = om_int(k);
		}
		if (start_pool(x, o) < 0)
			goto fail;
		return x;
	}
	if (x->w == W_PIPE_PINGPONG) {
		char name[64];
		om_pipe *a, *b;
		pipe_name(name, sizeof name, client / 2);
		rc = om_pipe_open(x->c, name, 0, &a, &b);
		if (rc < 0) {
			fail(x->c, "pipe open", rc);
			goto fail;
		}
		/* Both ends stay held (the disconnect lets go of them): the
		 * pinger uses a, the ponger b. */
		x->end = bench_pinger(client) ? a : b;
		return x;
	}
	if (x->w == W_EVENT_PINGPONG)
		rc = open_events(x->c, client, 0, (om_event **)&x->obj,
		                 &x->wait);
	else
		rc = open_obj(x->c, o, 0, &x->obj);
	if (rc < 0) {
		fail(x->c, "open", rc);
		goto fail;
	}
	return x;
fail:
	om_disconnect(x->c); /* stops its pool too */
	free(x->value);
	free(x->out);
	free(x->items);
	free(x);
	return NULL;
}

/*
 * Operation number i, its output (if any) going to *out. In a pipeline the
 * call only queues the request; its rc is then OM_OK or a local error.
 */
static int one_op(struct ctx *x, const struct bench_opts *o, long i,
                  om_item *out)
{
	char key[32];
	om_item val = om_bytes(x->value, (size_t)o->value_size);
	int rc;
	switch (x->w) {
	case W_DICT_SET:
		bench_key(o, x->client, i, key, sizeof key);
		return om_dict_set(x->obj, om_str(key), val);
	case W_DICT_GET:
		bench_key(o, x->client, i, key, sizeof key);
		return om_dict_get(x->obj, om_str(key), out);
	case W_DICT_INCR:
		bench_key(o, x->client, i, key, sizeof key);
		return om_dict_incr(x->obj, om_str(key), om_int(1), NULL);
	case W_LIST_APPEND:
		return om_list_append(x->obj, val);
	case W_QUEUE_PAIR:
		/* OM_FOREVER: a timeout would cost the server a timer per get;
		 * the harness bounds the run instead. */
		rc = om_queue_put(x->obj, val, OM_FOREVER);
		return rc < 0 ? rc : om_queue_get(x->obj, out, OM_FOREVER);
	case W_LOCK_PAIR:
		rc = om_lock_acquire(x->obj, OM_FOREVER);
		return rc < 0 ? rc : om_lock_release(x->obj);
	case W_VALUE_ADD:
	case W_LOCKED_RMW:
		return om_value_add(x->obj, om_int(1), NULL);
	case W_ARRAY_ADD:
		return om_array_add(x->obj, BENCH_ARRAY_HOT, om_int(1), NULL);
	case W_ARRAY_GET:
		return om_array_get(x->obj, bench_array_index(o, x->client, i),
		                    out);
	case W_SEM_PAIR:
		rc = om_sem_acquire(x->obj, OM_FOREVER);
		return rc < 0 ? rc : om_sem_release(x->obj, 1);
	case W_EVENT_PINGPONG:
		if (bench_pinger(x->client)) {
			rc = om_event_set(x->obj);
			if (rc >= 0)
				rc = om_event_wait(x->wait, OM_FOREVER);
			return rc < 0 ? rc : om_event_clear(x->wait);
		}
		rc = om_event_wait(x->wait, OM_FOREVER);
		if (rc >= 0)
			rc = om_event_clear(x->wait);
		return rc < 0 ? rc : om_event_set(x->obj);
	case W_POOL_MAP: /* run() makes the one call for the batch */
	case W_APPLY_ASYNC:
	case W_PIPE_PINGPONG:
	case W_COUNT:
		break;
	}
	return OM_EINVAL;
}

/* pool_map: operations i..i+n-1 are one map of those items; every result
 * is checked, so a lost or misordered one fails the run. */
static int run_map(struct ctx *x, const struct bench_opts *o, long i, int n)
{
	om_items res = {0};
	int rc = om_pool_map(x->pool, "square", x->items + i, (size_t)n,
	                     (size_t)o->chunksize, &res);
	if (rc < 0)
		return fail(x->c, "pool map", rc);
	rc = res.n == (size_t)n ? 0 : -1;
	for (size_t k = 0; rc == 0 && k < res.n; k++) {
		int64_t v = i + (int64_t)k;
		if (res.v[k].kind != OM_INT || res.v[k].i != v * v)
			rc = -1;
	}
	if (rc < 0)
		fprintf(stderr, "bench_objmgr: pool map: wrong results\n");
	om_items_free(&res);
	return rc;
}

/* apply_async: one task, submitted and waited for; its result checked. */
static int run_apply(struct ctx *x, long i)
{
	om_async *a;
	om_item arg = om_int(i), res = {0};
	int rc = om_pool_apply_async(x->pool, "square", &arg, 1, &a);
	if (rc < 0)
		return fail(x->c, "apply_async", rc);
	rc = om_async_get(a, &res, OM_FOREVER);
	om_async_free(a);
	if (rc < 0)
		return fail(x->c, "async get", rc);
	rc = res.kind == OM_INT && res.i == i * i ? 0 : -1;
	if (rc < 0)
		fprintf(stderr, "bench_objmgr: apply_async: wrong result\n");
	om_item_free(&res);
	return rc;
}

/* pipe_pingpong: the pinger sends its message, stamped with the operation
 * number, and waits for the echo; the ponger echoes what it receives. */
static int run_pingpong(struct ctx *x, const struct bench_opts *o, long i)
{
	om_item got = {0};
	int rc;
	if (bench_pinger(x->client)) {
		size_t len = (size_t)o->value_size;
		if (len >= sizeof i)
			memcpy(x->value, &i, sizeof i);
		rc = om_pipe_send(x->end, om_bytes(x->value, len));
		if (rc < 0)
			return fail(x->c, "pipe send", rc);
		rc = om_pipe_recv(x->end, &got, OM_FOREVER);
		if (rc < 0)
			return fail(x->c, "pipe recv", rc);
		rc = got.kind == OM_BYTES && got.s.len == len &&
		                     memcmp(got.s.ptr, x->value, len) == 0
		             ? 0
		             : -1;
		if (rc < 0)
			fprintf(stderr, "bench_objmgr: pipe: wrong echo\n");
	} else {
		rc = om_pipe_recv(x->end, &got, OM_FOREVER);
		if (rc < 0)
			return fail(x->c, "pipe recv", rc);
		rc = om_pipe_send(x->end, got);
		if (rc < 0)
			rc = fail(x->c, "pipe send", rc);
	}
	om_item_free(&got);
	return rc;
}

static int run(void *ctx, const struct bench_opts *o, long i, int n)
{
	struct ctx *x = ctx;
	int rc = OM_OK;
	switch (x->w) {
	case W_POOL_MAP:
		return run_map(x, o, i, n);
	case W_APPLY_ASYNC:
		return run_apply(x, i);
	case W_PIPE_PINGPONG:
		return run_pingpong(x, o, i);
	default:
		break;
	}
	bool pipelined = n > 1;
	if (pipelined && (rc = om_pipeline_begin(x->c)) < 0)
		return fail(x->c, "pipeline begin", rc);
	for (int k = 0; k < n && rc >= 0; k++)
		rc = one_op(x, o, i + k, &x->out[k]);
	if (pipelined) {
		/* End the pipeline even after a local error, so the client is
		 * left usable; its own rc reports any server-side error. */
		int end = om_pipeline_end(x->c, NULL, 0);
		if (rc >= 0)
			rc = end;
	}
	/* Outputs exist only for the calls that produced one; freeing an
	 * OM_NIL item (calloc'd or already freed) is a no-op. */
	for (int k = 0; k < n; k++)
		om_item_free(&x->out[k]);
	if (rc < 0)
		return fail(x->c, bench_workload_names[x->w], rc);
	return 0;
}

static void disconnect(void *ctx)
{
	struct ctx *x = ctx;
	om_disconnect(x->c); /* releases x->obj, stops x->pool */
	free(x->value);
	free(x->out);
	free(x->items);
	free(x);
}

/*
 * After the run, in the parent: what clients * ops operations must have
 * left (every add counted, every permit back). 0, or -1 after a message.
 */
static int verify(const struct bench_opts *o)
{
	int64_t want = (int64_t)o->clients * o->ops, got;
	om_client *c;
	void *obj;
	om_item it = {0};
	unsigned v = 0;
	if (o->w != W_VALUE_ADD && o->w != W_LOCKED_RMW &&
	    o->w != W_ARRAY_ADD && o->w != W_SEM_PAIR)
		return 0;
	int rc = om_connect(o->address, &c);
	if (rc < 0)
		return fail(NULL, "verify connect", rc);
	rc = open_obj(c, o, 0, &obj);
	if (rc >= 0) {
		if (o->w == W_ARRAY_ADD)
			rc = om_array_get(obj, BENCH_ARRAY_HOT, &it);
		else if (o->w == W_SEM_PAIR)
			rc = om_sem_value(obj, &v);
		else
			rc = om_value_get(obj, &it);
	}
	if (rc < 0) {
		fail(c, "verify", rc);
		om_disconnect(c);
		return -1;
	}
	om_disconnect(c);
	if (o->w == W_SEM_PAIR) {
		want = o->clients;
		got = v;
	} else {
		got = it.kind == OM_INT ? it.i : -1;
		om_item_free(&it);
	}
	if (got != want) {
		fprintf(stderr, "bench_objmgr: %s left %lld, expected %lld\n",
		        o->workload, (long long)got, (long long)want);
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* bench_objmgr --connect-cost N ADDRESS: the cost of a connection, N
 * times om_connect + om_disconnect (over TCP, with $OBJMGR_AUTHKEY_FILE:
 * the TCP handshake and the mutual authentication; over a Unix socket,
 * the connect and the Hellos). Prints
 *   CONNECT address=A n=N mean_us=X p50_us=Y p99_us=Z */
static int connect_cost(int n, const char *address)
{
	double *t = calloc((size_t)n, sizeof *t), sum = 0;
	if (!t || n <= 0)
		return 1;
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		om_client *c;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = om_connect(address, &c);
		if (rc) {
			fprintf(stderr, "bench_objmgr: connect %s: %s: %s\n",
			        address, om_strerror(rc), om_errmsg(NULL));
			free(t);
			return 1;
		}
		om_disconnect(c);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 +
		       (double)(b.tv_nsec - a.tv_nsec) / 1e3;
		sum += t[i];
	}
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	printf("CONNECT address=%s n=%d mean_us=%.1f p50_us=%.1f "
	       "p99_us=%.1f\n",
	       address, n, sum / n, t[n / 2], t[(size_t)(n * 0.99)]);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--connect-cost"))
		return connect_cost(atoi(argv[2]), argv[3]);
	struct bench_opts o;
	bench_parse(argc, argv, &o);
	if (!o.peer)
		o.peer = "objmgr";
	struct bench_peer p = {
	        .name = "objmgr",
	        .connect = connect_client,
	        .run = run,
	        .disconnect = disconnect,
	        .supports = supports,
	        .prepare = prepare,
	};
	int status = bench_main(&o, &p);
	const char *why;
	/* A skipped run (status 0 too) has nothing to check. */
	if (status == 0 && supports(&o, &why) && verify(&o) < 0) {
		printf("FAIL peer=%s workload=%s clients=%d depth=%d"
		       " reason=verify\n",
		       o.peer, o.workload, o.clients, o.depth);
		status = 1;
	}
	return status;
}
