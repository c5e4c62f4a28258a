/*
 * bench_objmgr.c — the objmgr peer: drives a running objmgrd (--address,
 * started by bench/run) through libobjmgr.
 *
 * All clients share the same named objects ("bench.dict", "bench.list",
 * "bench.queue", "bench.lock", "bench.value"), created and reset by the
 * parent in prepare(), so the server sees the contention a real program
 * would. Each client opens them by name on its own connection. One
 * operation per workload:
 *   dict_set     om_dict_set(key, value of --value-size bytes)
 *   dict_get     om_dict_get(key) (the --keys keys are preloaded)
 *   dict_incr    om_dict_incr(key, 1)
 *   list_append  om_list_append(value)
 *   queue_pair   om_queue_put(value) then om_queue_get() (unbounded FIFO)
 *   lock_pair    om_lock_acquire(OM_FOREVER) then om_lock_release()
 *   value_add    om_value_add(1)
 *   locked_rmw   om_value_add(1): our one atomic call is what replaces
 *                Python's `with lock: v.value += 1`
 * At depth > 1 a batch is one om_pipeline_begin/om_pipeline_end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <objmgr.h>

#include "common.h"

/* One client's connection and the handle its workload uses. */
struct ctx {
	om_client *c;
	enum bench_workload w;
	int client;
	void *obj;       /* om_dict, om_list, om_queue, om_lock or om_value */
	char *value;     /* --value-size bytes, the stored value */
	om_item *out;    /* depth outputs (dict_get, queue get) */
};

static int fail(om_client *c, const char *what, int rc)
{
	fprintf(stderr, "bench_objmgr: %s: %s%s%s\n", what, om_strerror(rc),
	        c && *om_errmsg(c) ? ": " : "", c ? om_errmsg(c) : "");
	return -1;
}

/* Open the workload's object on c by name; flags as for om_*_open. */
static int open_obj(om_client *c, enum bench_workload w, int flags, void **obj)
{
	switch (w) {
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
	case W_COUNT:
		break;
	}
	return OM_EINVAL;
}

static bool supports(const struct bench_opts *o, const char **why)
{
	/* Acquire/release pairs queued by one client say nothing about a
	 * lock: every acquire but the first would wait on its own holder. */
	if (o->w == W_LOCK_PAIR && o->depth > 1) {
		*why = "lock-pairs-cannot-pipeline";
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
	void *obj;
	int rc = om_connect(o->address, &c);
	if (rc < 0)
		return fail(NULL, "connect", rc);
	rc = open_obj(c, w, OM_CREATE, &obj);
	if (rc < 0) {
		fail(c, "open", rc);
		goto out;
	}
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
	rc = open_obj(x->c, x->w, 0, &x->obj);
	if (rc < 0) {
		fail(x->c, "open", rc);
		goto fail;
	}
	return x;
fail:
	om_disconnect(x->c);
	free(x->value);
	free(x->out);
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
	case W_COUNT:
		rc = OM_EINVAL;
		break;
	}
	return OM_EINVAL;
}

static int run(void *ctx, const struct bench_opts *o, long i, int n)
{
	struct ctx *x = ctx;
	int rc = OM_OK;
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
	om_disconnect(x->c); /* releases x->obj too */
	free(x->value);
	free(x->out);
	free(x);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	bench_parse(argc, argv, &o);
	o.peer = "objmgr";
	struct bench_peer p = {
		.name = "objmgr",
		.connect = connect_client,
		.run = run,
		.disconnect = disconnect,
		.supports = supports,
		.prepare = prepare,
	};
	return bench_main(&o, &p);
}
