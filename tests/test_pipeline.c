/*
 * test_pipeline.c — om_pipeline_begin/_end and the batch calls against a
 * real objmgrd: outputs filled only at the end and every completion kind
 * in a pipeline; rcs and the result with mixed errors; blocking calls
 * answered out of order (by a later call of the same pipeline, and by
 * another process); misuse (begin twice, end without begin, calls that
 * cannot be pipelined, calls that fail at once); om_release and
 * om_disconnect in a pipeline; pipelines in a forked child on inherited
 * handles (its first-use references, and one that fails); 20,000 calls
 * (written in parts), answers far larger than the requests (both
 * directions at once), a connection lost or closed by the server mid
 * pipeline; and om_dict_get_many, om_queue_put_many, om_queue_get_many
 * with their errors, alone and pipelined.
 */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/* An output value no call writes: outputs must keep it until the end. */
#define SENTINEL (-777)

static om_item sentinel(void)
{
	return om_int(SENTINEL);
}

static void assert_sentinel(const om_item *it)
{
	assert_int_equal(it->kind, OM_INT);
	assert_int_equal(it->i, SENTINEL);
}

static void expect_all(const int *rcs, size_t n, int rc)
{
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] != rc)
			print_error("rcs[%zu] = %d, expected %d\n", i, rcs[i],
			            rc);
		assert_int_equal(rcs[i], rc);
	}
}

/* ------------------------------------------------------- sets then gets */

static void test_sets_then_gets(void **state)
{
	(void)state;
	enum { N = 1000 };
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	static om_item out[N];
	static int rcs[2 * N];
	size_t len = 12345;

	expect_ok(c, om_pipeline_begin(c));
	for (int i = 0; i < N; i++)
		expect_ok(c, om_dict_set(d, om_int(i), om_int(i * 10)));
	for (int i = 0; i < N; i++) {
		out[i] = sentinel();
		expect_ok(c, om_dict_get(d, om_int(i), &out[i]));
	}
	expect_ok(c, om_dict_len(d, &len));
	/* nothing is written before the end */
	for (int i = 0; i < N; i++)
		assert_sentinel(&out[i]);
	assert_int_equal(len, 12345);
	for (int i = 0; i < 2 * N; i++)
		rcs[i] = 99;

	expect_ok(c, om_pipeline_end(c, rcs, 2 * N));
	expect_all(rcs, 2 * N, OM_OK);
	for (int i = 0; i < N; i++) {
		assert_int_item(&out[i], i * 10);
		om_item_free(&out[i]);
	}
	assert_int_equal(len, N);
	assert_string_equal(om_errmsg(c), "");

	/* the client is back to synchronous calls */
	expect_ok(c, om_dict_len(d, &len));
	assert_int_equal(len, N);
	om_release(d);
	om_disconnect(c);
}

/* --------------------------------------------------- every completion */

static void test_every_completion(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_list *l;
	om_value *v;
	om_array *a;
	om_lock *lk;
	om_sem *s;
	om_event *e;
	om_barrier *b;
	om_queue *q = new_queue(c, 2);
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(5), &v));
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 4, &a));
	expect_ok(c, om_lock_open(c, NULL, 0, &lk));
	expect_ok(c, om_sem_open(c, NULL, 0, 3, &s));
	expect_ok(c, om_event_open(c, NULL, 0, &e));
	expect_ok(c, om_barrier_open(c, NULL, 0, 1, &b));

	om_item pop = sentinel(), sd = sentinel(), inc = sentinel();
	om_item pk = sentinel(), pv = sentinel(), lget = sentinel();
	om_item lpop = sentinel(), vget = sentinel(), vadd = sentinel();
	om_item aget = sentinel(), aadd = sentinel(), qget = sentinel();
	om_items keys = {NULL, 7}, vals = {NULL, 7}, ik = {NULL, 7},
	         iv = {NULL, 7}, slice = {NULL, 7}, aread = {NULL, 7};
	size_t dlen = 7, lcount = 7, llen = 7, alen = 7, qsize = 7;
	bool has = false, lhas = false, swapped = false, qempty = true,
	     qfull = false, locked = false, isset = true, broken = true;
	int64_t pos = -1;
	unsigned semv = 0, parties = 0, waiting = 9, index = 9;
	om_server_stats st = {0};
	int rcs[64];
	for (int i = 0; i < 64; i++)
		rcs[i] = 99;

	expect_ok(c, om_pipeline_begin(c));
	/* dict */
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("b"), om_int(2)));
	expect_ok(c, om_dict_set(d, om_str("c"), om_int(3)));
	expect_ok(c, om_dict_pop(d, om_str("c"), &pop));
	expect_ok(c, om_dict_setdefault(d, om_str("s"), om_int(7), &sd));
	expect_ok(c, om_dict_incr(d, om_str("a"), om_int(10), &inc));
	expect_ok(c, om_dict_contains(d, om_str("b"), &has));
	expect_ok(c, om_dict_len(d, &dlen));
	expect_ok(c, om_dict_keys(d, &keys));
	expect_ok(c, om_dict_values(d, &vals));
	expect_ok(c, om_dict_items(d, &ik, &iv));
	expect_ok(c, om_dict_popitem(d, &pk, &pv));
	/* list */
	om_item three[3] = {om_str("x"), om_str("y"), om_str("x")};
	expect_ok(c, om_list_extend(l, three, 3));
	expect_ok(c, om_list_get(l, 1, &lget));
	expect_ok(c, om_list_index(l, om_str("y"), &pos));
	expect_ok(c, om_list_count(l, om_str("x"), &lcount));
	expect_ok(c, om_list_contains(l, om_str("y"), &lhas));
	expect_ok(c, om_list_slice(l, 0, 2, &slice));
	expect_ok(c, om_list_pop(l, -1, &lpop));
	expect_ok(c, om_list_len(l, &llen));
	/* value and array */
	expect_ok(c, om_value_cas(v, om_int(5), om_int(6), &swapped));
	expect_ok(c, om_value_add(v, om_int(1), &vadd));
	expect_ok(c, om_value_get(v, &vget));
	expect_ok(c, om_array_set(a, 1, om_int(4)));
	expect_ok(c, om_array_add(a, 1, om_int(1), &aadd));
	expect_ok(c, om_array_get(a, 1, &aget));
	expect_ok(c, om_array_read(a, 0, 3, &aread));
	expect_ok(c, om_array_len(a, &alen));
	/* queue */
	expect_ok(c, om_queue_put(q, om_str("q1"), 0));
	expect_ok(c, om_queue_put(q, om_str("q2"), 0));
	expect_ok(c, om_queue_full(q, &qfull));
	expect_ok(c, om_queue_get(q, &qget, 0));
	expect_ok(c, om_queue_size(q, &qsize));
	expect_ok(c, om_queue_empty(q, &qempty));
	/* synchronisation objects */
	expect_ok(c, om_lock_acquire(lk, 0));
	expect_ok(c, om_lock_locked(lk, &locked));
	expect_ok(c, om_lock_release(lk));
	expect_ok(c, om_sem_acquire(s, 0));
	expect_ok(c, om_sem_value(s, &semv));
	expect_ok(c, om_event_is_set(e, &isset));
	expect_ok(c, om_barrier_parties(b, &parties));
	expect_ok(c, om_barrier_wait(b, 1, &index));
	expect_ok(c, om_barrier_n_waiting(b, &waiting));
	expect_ok(c, om_barrier_broken(b, &broken));
	/* server-level calls that can be pipelined */
	expect_ok(c, om_ping(c));
	expect_ok(c, om_stats(c, &st));
	size_t ncalls = 46;

	assert_sentinel(&pop);
	assert_null(keys.v);
	assert_int_equal(dlen, 7);
	assert_false(has);
	expect_ok(c, om_pipeline_end(c, rcs, 64));
	expect_all(rcs, ncalls, OM_OK);
	assert_int_equal(rcs[ncalls], 99);

	assert_int_item(&pop, 3);
	assert_int_item(&sd, 7);
	assert_int_item(&inc, 11);
	assert_true(has);
	assert_int_equal(dlen, 3);
	assert_int_equal(keys.n, 3);
	assert_str_item(&keys.v[0], "a");
	assert_str_item(&keys.v[2], "s");
	assert_int_equal(vals.n, 3);
	assert_int_item(&vals.v[1], 2);
	assert_int_equal(ik.n, 3);
	assert_int_equal(iv.n, 3);
	assert_str_item(&ik.v[1], "b");
	assert_int_item(&iv.v[0], 11);
	assert_str_item(&pk, "s");
	assert_int_item(&pv, 7);
	assert_str_item(&lget, "y");
	assert_int_equal(pos, 1);
	assert_int_equal(lcount, 2);
	assert_true(lhas);
	assert_int_equal(slice.n, 2);
	assert_str_item(&slice.v[0], "x");
	assert_str_item(&lpop, "x");
	assert_int_equal(llen, 2);
	assert_true(swapped);
	assert_int_item(&vadd, 7);
	assert_int_item(&vget, 7);
	assert_int_item(&aadd, 5);
	assert_int_item(&aget, 5);
	assert_int_equal(aread.n, 3);
	assert_int_item(&aread.v[1], 5);
	assert_int_equal(alen, 4);
	assert_true(qfull);
	assert_str_item(&qget, "q1");
	assert_int_equal(qsize, 1);
	assert_false(qempty);
	assert_true(locked);
	assert_int_equal(semv, 2);
	assert_false(isset);
	assert_int_equal(parties, 1);
	assert_int_equal(index, 0);
	assert_int_equal(waiting, 0);
	assert_false(broken);
	assert_true(st.objects >= 9);
	assert_true(st.connections >= 1);

	om_item *items[] = {&pop, &sd, &inc, &pk, &pv, &lget, &lpop,
	                    &vget, &vadd, &aget, &aadd, &qget};
	for (size_t i = 0; i < sizeof items / sizeof *items; i++)
		om_item_free(items[i]);
	om_items *lists[] = {&keys, &vals, &ik, &iv, &slice, &aread};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		om_items_free(lists[i]);
	void *hs[] = {d, l, v, a, q, lk, s, e, b};
	for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
		om_release(hs[i]);
	om_disconnect(c);
}

/* ----------------------------------------------------------- errors */

static void test_mixed_errors(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_list *l = new_list(c);
	om_item a = sentinel(), missing = sentinel(), idx = sentinel();
	int rcs[6];
	for (int i = 0; i < 6; i++)
		rcs[i] = 99;

	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	expect_ok(c, om_dict_get(d, om_str("missing"), &missing));
	expect_ok(c, om_dict_get(d, om_str("a"), &a));
	expect_ok(c, om_list_get(l, 5, &idx));
	expect_ok(c, om_dict_del(d, om_str("a")));
	/* the first failing call's code, its message */
	expect_rc(c, om_pipeline_end(c, rcs, 6), OM_ENOKEY);
	assert_true(strlen(om_errmsg(c)) > 0);
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(rcs[1], OM_ENOKEY);
	assert_int_equal(rcs[2], OM_OK);
	assert_int_equal(rcs[3], OM_EINDEX);
	assert_int_equal(rcs[4], OM_OK);
	assert_int_equal(rcs[5], 99); /* only 5 calls */
	assert_sentinel(&missing); /* failed calls write nothing */
	assert_sentinel(&idx);
	assert_int_item(&a, 1);

	/* rcs may be NULL; a shorter rcs gets the first n */
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_get(d, om_str("gone"), &missing));
	expect_rc(c, om_pipeline_end(c, NULL, 0), OM_ENOKEY);
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_set(d, om_str("x"), om_int(1)));
	expect_ok(c, om_dict_get(d, om_str("gone"), &missing));
	rcs[1] = 99;
	expect_rc(c, om_pipeline_end(c, rcs, 1), OM_ENOKEY);
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(rcs[1], 99);
	assert_sentinel(&missing);

	/* an empty pipeline */
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_pipeline_end(c, rcs, 6));
	om_release(d);
	om_release(l);
	om_disconnect(c);
}

/* Calls that fail at once are not queued; calls that need their answer at
 * once refuse to run in a pipeline; begin and end out of turn. */
static void test_misuse(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_dict *d2 = NULL;
	om_item ref = om_ref(d), out = sentinel();
	void *h = NULL;
	int rcs[4] = {99, 99, 99, 99};

	expect_rc(c, om_pipeline_end(c, rcs, 4), OM_EINVAL);
	assert_true(strlen(om_errmsg(c)) > 0);
	expect_rc(NULL, om_pipeline_begin(NULL), OM_EINVAL);
	expect_rc(NULL, om_pipeline_end(NULL, NULL, 0), OM_EINVAL);

	expect_ok(c, om_pipeline_begin(c));
	expect_rc(c, om_pipeline_begin(c), OM_EINVAL);
	assert_true(strlen(om_errmsg(c)) > 0);
	/* failing at once: not queued */
	expect_rc(c, om_dict_get(d, om_str("k"), NULL), OM_EINVAL);
	expect_rc(c, om_dict_set(d, om_strn(NULL, 3), om_int(1)), OM_EINVAL);
	expect_rc(c, om_dict_set(NULL, om_str("k"), om_int(1)), OM_EINVAL);
	expect_rc(c, om_queue_put((om_queue *)d, om_int(1), 0), OM_ETYPE);
	/* refused in a pipeline, with a message */
	expect_rc(c, om_dict_open(c, NULL, 0, &d2), OM_EINVAL);
	assert_non_null(strstr(om_errmsg(c), "pipeline"));
	expect_rc(c, om_open_ref(c, &ref, &h), OM_EINVAL);
	expect_rc(c, om_shutdown(c), OM_EINVAL);
	assert_null(d2);
	assert_null(h);
	/* still one pipeline, with the calls queued in it only */
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(2)));
	expect_ok(c, om_dict_get(d, om_str("k"), &out));
	expect_ok(c, om_pipeline_end(c, rcs, 4));
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(rcs[1], OM_OK);
	assert_int_equal(rcs[2], 99);
	assert_int_item(&out, 2);
	expect_rc(c, om_pipeline_end(c, rcs, 4), OM_EINVAL);

	/* a released handle in a pipeline is invalid at once */
	om_release(d);
	expect_ok(c, om_pipeline_begin(c));
	expect_rc(c, om_dict_set(d, om_str("k"), om_int(1)), OM_EINVAL);
	expect_ok(c, om_pipeline_end(c, NULL, 0));
	om_disconnect(c);
}

/* ------------------------------------------------------ blocking calls */

static void test_blocking_out_of_order(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q = new_queue(c, 0);
	om_dict *d = new_dict(c);
	om_item out = sentinel(), got = sentinel();
	om_items many = {NULL, 0};
	int rcs[5];

	/* The get parks; the set is answered before it; the put wakes it. */
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_queue_get(q, &out, OM_FOREVER));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	expect_ok(c, om_queue_put(q, om_str("item"), 0));
	expect_ok(c, om_pipeline_end(c, rcs, 3));
	expect_all(rcs, 3, OM_OK);
	assert_str_item(&out, "item");
	om_item_free(&out);

	/* a blocking get_many woken by a put_many, a timed-out get */
	om_item three[3] = {om_int(1), om_int(2), om_int(3)};
	size_t left = 99;
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_queue_get_many(q, 10, &many, OM_FOREVER));
	expect_ok(c, om_queue_get(q, &got, 0.05));
	expect_ok(c, om_queue_put_many(q, three, 3, 0));
	expect_ok(c, om_queue_size(q, &left));
	expect_rc(c, om_pipeline_end(c, rcs, 4), OM_EEMPTY);
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(rcs[1], OM_EEMPTY);
	assert_int_equal(rcs[2], OM_OK);
	assert_int_equal(rcs[3], OM_OK);
	assert_sentinel(&got);
	assert_true(many.n >= 1 && many.n <= 3);
	assert_int_equal(many.n + left, 3);
	assert_int_item(&many.v[0], 1);
	om_items_free(&many);
	om_release(q);
	om_release(d);
	om_disconnect(c);
}

struct put_arg {
	om_client *c;
	om_queue *q;
};

/* Wait until the parent's get is parked, then put (inherited handles). */
static int child_put_when_parked(void *p)
{
	struct put_arg *a = p;
	if (!poll_stat(a->c, parked, 1, 10))
		return 2;
	return om_queue_put(a->q, om_str("from child"), 0) ? 3 : 0;
}

/* A pipelined blocking call answered by another process; the child is
 * forked while the parent's pipeline is open (it is not the child's). */
static void test_blocking_answered_by_another(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q = new_queue(c, 0);
	om_item out = sentinel();
	int rcs[2];

	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_queue_get(q, &out, 30));
	expect_ok(c, om_ping(c));
	struct put_arg a = {c, q};
	pid_t pid = spawn_child(child_put_when_parked, &a);
	expect_ok(c, om_pipeline_end(c, rcs, 2));
	expect_all(rcs, 2, OM_OK);
	assert_int_equal(reap(pid, 30), 0);
	assert_str_item(&out, "from child");
	om_item_free(&out);
	om_release(q);
	om_disconnect(c);
}

/* ------------------------------------------------ release, disconnect */

static void test_release_and_disconnect(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_client *w = client(&srv); /* watches the server */
	om_server_stats base;
	wait_stat(w, connections, 2); /* earlier tests' sessions are over */
	expect_ok(w, om_stats(w, &base));
	om_dict *d = new_dict(c);
	wait_stat(w, objects, base.objects + 1);
	int rcs[3] = {99, 99, 99};

	/* om_release is queued after the calls already made: no rcs slot */
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	om_release(d);
	expect_rc(c, om_dict_set(d, om_str("k"), om_int(2)), OM_EINVAL);
	expect_ok(c, om_ping(c));
	expect_ok(c, om_pipeline_end(c, rcs, 3));
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(rcs[1], OM_OK);
	assert_int_equal(rcs[2], 99);
	wait_stat(w, objects, base.objects);

	/* om_disconnect drops an open pipeline: nothing is written */
	d = new_dict(c);
	om_item out = sentinel();
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_get(d, om_str("k"), &out));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	om_disconnect(c);
	assert_sentinel(&out);
	wait_stat(w, connections, 1);
	wait_stat(w, objects, base.objects);
	om_disconnect(w);
}

/* ---------------------------------------------------------------- fork */

struct fork_arg {
	om_client *c;
	om_dict *d;
	om_queue *q;
	int fd; /* read end: go */
};

/* A pipeline on inherited handles: each takes the child's reference first
 * (queued ahead of its first call; not in rcs). */
static int child_pipeline(void *p)
{
	struct fork_arg *a = p;
	om_item out = sentinel(), miss = sentinel();
	size_t n = 0;
	int rcs[6] = {99, 99, 99, 99, 99, 99};

	if (om_pipeline_begin(a->c))
		return 1;
	if (om_dict_set(a->d, om_str("child"), om_int(1)) ||
	    om_dict_get(a->d, om_str("parent"), &out) ||
	    om_queue_put(a->q, om_str("c"), 0) ||
	    om_dict_get(a->d, om_str("missing"), &miss) ||
	    om_queue_size(a->q, &n))
		return 2;
	if (out.kind != OM_INT || out.i != SENTINEL)
		return 3;
	if (om_pipeline_end(a->c, rcs, 6) != OM_ENOKEY)
		return 4;
	if (rcs[0] || rcs[1] || rcs[2] || rcs[3] != OM_ENOKEY || rcs[4] ||
	    rcs[5] != 99)
		return 5;
	if (out.kind != OM_INT || out.i != 42 || n != 1)
		return 6;
	if (miss.kind != OM_INT || miss.i != SENTINEL)
		return 7;
	/* synchronous again, with the references taken */
	if (om_dict_set(a->d, om_str("child2"), om_int(2)))
		return 8;
	om_release(a->d);
	om_release(a->q);
	om_disconnect(a->c);
	return 0;
}

static void test_fork_child_pipeline(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_queue *q = new_queue(c, 0);
	expect_ok(c, om_dict_set(d, om_str("parent"), om_int(42)));

	struct fork_arg a = {c, d, q, -1};
	pid_t pid = spawn_child(child_pipeline, &a);
	assert_int_equal(reap(pid, 30), 0);

	om_item v;
	expect_ok(c, om_dict_get(d, om_str("child"), &v));
	assert_int_item(&v, 1);
	expect_ok(c, om_dict_get(d, om_str("child2"), &v));
	assert_int_item(&v, 2);
	size_t n = 0;
	expect_ok(c, om_queue_size(q, &n));
	assert_int_equal(n, 1);
	om_release(d);
	om_release(q);
	om_disconnect(c);
}

/* fork() has no window: the parent releases the dict right after forking,
 * and the child still finds it — its first calls, pipelined and not,
 * succeed — because the server holds what the parent held until the child's
 * session adopts it; once the child is gone the dict is freed. */
static int child_after_release(void *p)
{
	struct fork_arg *a = p;
	int rcs[1] = {99};
	if (wait_byte(a->fd, 10))
		return 1;
	if (om_pipeline_begin(a->c) ||
	    om_dict_set(a->d, om_str("k"), om_int(1)))
		return 2;
	if (om_pipeline_end(a->c, rcs, 1) != OM_OK || rcs[0] != OM_OK)
		return 3;
	om_item v;
	if (om_dict_get(a->d, om_str("k"), &v) != OM_OK || v.i != 1)
		return 4;
	om_disconnect(a->c);
	return 0;
}

static void test_fork_no_window(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats st0 = settle(c);
	om_dict *d = new_dict(c);
	int go[2];
	assert_int_equal(pipe(go), 0);
	struct fork_arg a = {c, d, NULL, go[0]};
	pid_t pid = spawn_child(child_after_release, &a);
	close(go[0]);
	om_release(d); /* the parent's last reference, before the child's */
	expect_ok(c, om_ping(c));
	assert_int_equal(write(go[1], "x", 1), 1);
	close(go[1]);
	assert_int_equal(reap(pid, 30), 0);
	wait_stat(c, objects, st0.objects); /* child gone: the hold ended */
	om_disconnect(c);
}

/* Forking inside an open pipeline: the hold is made before fork() returns
 * (FORK waits for its answer; the answers before it are completed early),
 * so the child reaches the dict even though the parent's release of it is
 * queued right after the fork. */
static int child_uses(void *p)
{
	struct fork_arg *a = p;
	size_t n = 0;
	if (wait_byte(a->fd, 10))
		return 1;
	if (om_dict_len(a->d, &n) != OM_OK || n != 1)
		return 2;
	om_disconnect(a->c);
	return 0;
}

static void test_fork_in_pipeline(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	int go[2];
	assert_int_equal(pipe(go), 0);
	int rcs[3];
	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	struct fork_arg a = {c, d, NULL, go[0]};
	pid_t pid = spawn_child(child_uses, &a);
	close(go[0]);
	om_release(d);
	expect_ok(c, om_ping(c));
	expect_ok(c, om_pipeline_end(c, rcs, 2));
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(write(go[1], "x", 1), 1);
	close(go[1]);
	assert_int_equal(reap(pid, 30), 0);
	om_disconnect(c);
}

/* A child's first ADDREF that fails (here: the server it reconnects to is a
 * new one, which never had the object) fails the call that needed it, and
 * is tried again on the next use. */
static int child_addref_fails(void *p)
{
	struct fork_arg *a = p;
	int rcs[1] = {99};
	if (om_pipeline_begin(a->c) ||
	    om_dict_set(a->d, om_str("k"), om_int(1)))
		return 2;
	if (om_pipeline_end(a->c, rcs, 1) != OM_ENOENT || rcs[0] != OM_ENOENT)
		return 3;
	if (om_dict_set(a->d, om_str("k"), om_int(1)) != OM_ENOENT)
		return 4;
	if (om_ping(a->c))
		return 5;
	om_disconnect(a->c);
	return 0;
}

static void test_fork_child_addref_fails(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, NULL);
	om_client *c = client(&s2);
	om_dict *d = new_dict(c);
	server_crash(&s2);
	server_restart(&s2, NULL); /* the same socket, a new server */
	struct fork_arg a = {c, d, NULL, -1};
	pid_t pid = spawn_child(child_addref_fails, &a);
	assert_int_equal(reap(pid, 30), 0);
	om_disconnect(c);
	server_stop(&s2);
}

/* ----------------------------------------------------------------- size */

/* 20,000 calls: more than is buffered before writing starts. */
static void test_long_pipeline(void **state)
{
	(void)state;
	enum { N = 10000, VLEN = 200 };
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_item *out = calloc(N, sizeof *out);
	int *rcs = calloc(2 * N, sizeof *rcs);
	char val[VLEN + 1];
	assert_non_null(out);
	assert_non_null(rcs);

	expect_ok(c, om_pipeline_begin(c));
	for (int i = 0; i < N; i++) {
		/* the value is borrowed for the call only */
		snprintf(val, sizeof val, "%0*d", VLEN, i);
		expect_ok(c, om_dict_set(d, om_int(i), om_str(val)));
	}
	for (int i = 0; i < N; i++) {
		out[i] = sentinel();
		expect_ok(c, om_dict_get(d, om_int(i), &out[i]));
	}
	for (int i = 0; i < N; i++)
		assert_sentinel(&out[i]);
	expect_ok(c, om_pipeline_end(c, rcs, 2 * N));
	expect_all(rcs, 2 * N, OM_OK);
	for (int i = 0; i < N; i++) {
		snprintf(val, sizeof val, "%0*d", VLEN, i);
		assert_str_item(&out[i], val);
		om_item_free(&out[i]);
	}
	size_t len = 0;
	expect_ok(c, om_dict_len(d, &len));
	assert_int_equal(len, N);
	free(out);
	free(rcs);
	om_release(d);
	om_disconnect(c);
}

/* Answers much larger than the requests: more than the server keeps for
 * an unread client arrives while the pipeline is still being written. */
static void test_big_answers(void **state)
{
	(void)state;
	enum { N = 40000, VLEN = 600 };
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	char key[48], val[VLEN + 1];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	memset(val, 'v', VLEN);
	val[VLEN] = '\0';
	expect_ok(c, om_dict_set(d, om_str(key), om_str(val)));
	om_item *out = calloc(N, sizeof *out);
	assert_non_null(out);

	expect_ok(c, om_pipeline_begin(c));
	for (int i = 0; i < N; i++)
		expect_ok(c, om_dict_get(d, om_str(key), &out[i]));
	expect_ok(c, om_pipeline_end(c, NULL, 0));
	for (int i = 0; i < N; i++) {
		assert_int_equal(out[i].kind, OM_STR);
		assert_int_equal(out[i].s.len, VLEN);
		om_item_free(&out[i]);
	}
	free(out);
	om_release(d);
	om_disconnect(c);
}

/* ----------------------------------------------------- lost connection */

static void test_connection_lost(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, NULL);
	om_client *c = client(&s2);
	om_dict *d = new_dict(c);
	om_item out = sentinel();
	int rcs[3] = {99, 99, 99};

	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	expect_ok(c, om_dict_get(d, om_str("k"), &out));
	server_stop(&s2);
	expect_rc(c, om_pipeline_end(c, rcs, 3), OM_ECONN);
	expect_all(rcs, 2, OM_ECONN);
	assert_int_equal(rcs[2], 99);
	assert_true(strlen(om_errmsg(c)) > 0);
	assert_sentinel(&out);
	/* lost for good: calls fail at once, in a pipeline or not */
	expect_rc(c, om_ping(c), OM_ECONN);
	expect_ok(c, om_pipeline_begin(c));
	expect_rc(c, om_dict_get(d, om_str("k"), &out), OM_ECONN);
	expect_ok(c, om_pipeline_end(c, rcs, 3));
	om_disconnect(c);
}

/* A frame over the server's limit mid pipeline: the server says why and
 * closes; the calls answered before keep their codes. */
static void test_frame_over_limit(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, (const char *[]){"--max-frame", "4096", NULL});
	om_client *c = client(&s2);
	om_dict *d = new_dict(c);
	static char big[8000];
	memset(big, 'b', sizeof big);
	int rcs[3] = {99, 99, 99};

	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("big"), om_strn(big, sizeof big)));
	expect_ok(c, om_ping(c));
	expect_rc(c, om_pipeline_end(c, rcs, 3), OM_ECONN);
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(rcs[1], OM_ECONN);
	assert_int_equal(rcs[2], OM_ECONN);
	assert_non_null(strstr(om_errmsg(c), "limit"));
	om_disconnect(c);
	server_stop(&s2);
}

/* ---------------------------------------------------------- batch calls */

static void test_dict_get_many(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	om_items vals = {NULL, 0};
	size_t found = 99;
	expect_ok(c, om_dict_set(d, om_str("a"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("b"), om_str("two")));

	om_item keys[4] = {om_str("a"), om_str("missing"), om_str("b"),
	                   om_float(1.5)};
	expect_ok(c, om_dict_get_many(d, keys, 4, &vals, &found));
	assert_int_equal(found, 2);
	assert_int_equal(vals.n, 4);
	assert_int_item(&vals.v[0], 1);
	assert_int_equal(vals.v[1].kind, OM_NIL);
	assert_str_item(&vals.v[2], "two");
	assert_int_equal(vals.v[3].kind, OM_NIL);
	om_items_free(&vals);

	/* found may be NULL; no keys is an empty answer */
	expect_ok(c, om_dict_get_many(d, keys, 1, &vals, NULL));
	assert_int_equal(vals.n, 1);
	om_items_free(&vals);
	found = 99;
	expect_ok(c, om_dict_get_many(d, NULL, 0, &vals, &found));
	assert_int_equal(vals.n, 0);
	assert_int_equal(found, 0);

	/* errors, with nothing written */
	vals.n = 77;
	found = 99;
	expect_rc(c, om_dict_get_many(d, keys, 2, NULL, &found), OM_EINVAL);
	expect_rc(c, om_dict_get_many(d, NULL, 2, &vals, &found), OM_EINVAL);
	om_item bad[2] = {om_str("a"), om_strn(NULL, 4)};
	expect_rc(c, om_dict_get_many(d, bad, 2, &vals, &found), OM_EINVAL);
	expect_rc(c, om_dict_get_many(NULL, keys, 2, &vals, &found), OM_EINVAL);
	om_queue *q = new_queue(c, 0);
	expect_rc(c, om_dict_get_many((om_dict *)q, keys, 2, &vals, &found),
	          OM_ETYPE);
	assert_int_equal(vals.n, 77);
	assert_int_equal(found, 99);
	om_release(q);
	om_release(d);
	om_disconnect(c);
}

static void test_queue_many(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q = new_queue(c, 0);
	om_items got = {NULL, 0};
	om_item five[5] = {om_int(1), om_int(2), om_int(3), om_int(4),
	                   om_int(5)};
	size_t n = 0;

	expect_ok(c, om_queue_put_many(q, five, 5, 0));
	expect_ok(c, om_queue_get_many(q, 3, &got, 0));
	assert_int_equal(got.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_item(&got.v[i], i + 1);
	om_items_free(&got);
	/* max larger than the size: what is there */
	expect_ok(c, om_queue_get_many(q, 100, &got, 0));
	assert_int_equal(got.n, 2);
	assert_int_item(&got.v[1], 5);
	om_items_free(&got);
	/* empty, no waiting: EEMPTY, nothing written; with a wait too */
	got.n = 77;
	expect_rc(c, om_queue_get_many(q, 3, &got, 0), OM_EEMPTY);
	expect_rc(c, om_queue_get_many(q, 3, &got, 0.05), OM_EEMPTY);
	assert_int_equal(got.n, 77);
	assert_null(got.v);
	/* max beyond int64 means no limit */
	expect_ok(c, om_queue_put_many(q, five, 2, 0));
	expect_ok(c, om_queue_get_many(q, SIZE_MAX, &got, 0));
	assert_int_equal(got.n, 2);
	om_items_free(&got);

	/* argument errors before any round trip */
	expect_rc(c, om_queue_get_many(q, 0, &got, 0), OM_EINVAL);
	expect_rc(c, om_queue_get_many(q, 1, NULL, 0), OM_EINVAL);
	expect_rc(c, om_queue_get_many(q, 1, &got, NAN), OM_EINVAL);
	expect_rc(c, om_queue_put_many(q, NULL, 2, 0), OM_EINVAL);
	expect_rc(c, om_queue_put_many(q, five, 2, NAN), OM_EINVAL);
	om_item bad[2] = {om_int(1), om_strn(NULL, 2)};
	expect_rc(c, om_queue_put_many(q, bad, 2, 0), OM_EINVAL);
	expect_ok(c, om_queue_put_many(q, NULL, 0, 0)); /* nothing to put */
	expect_ok(c, om_queue_size(q, &n));
	assert_int_equal(n, 0);

	/* bounded: more than maxsize can never fit; all or nothing */
	om_queue *b = new_queue(c, 3);
	expect_rc(c, om_queue_put_many(b, five, 4, 0), OM_EINVAL);
	assert_true(strlen(om_errmsg(c)) > 0);
	expect_ok(c, om_queue_put_many(b, five, 2, 0));
	expect_rc(c, om_queue_put_many(b, five, 2, 0), OM_EFULL);
	expect_rc(c, om_queue_put_many(b, five, 2, 0.05), OM_EFULL);
	expect_ok(c, om_queue_size(b, &n));
	assert_int_equal(n, 2);
	expect_ok(c, om_queue_put_many(b, five, 1, 0));

	/* closed: puts fail, gets drain then fail */
	expect_ok(c, om_queue_close(b));
	expect_rc(c, om_queue_put_many(b, five, 1, 0), OM_ECLOSED);
	expect_ok(c, om_queue_get_many(b, 10, &got, 0));
	assert_int_equal(got.n, 3);
	om_items_free(&got);
	expect_rc(c, om_queue_get_many(b, 10, &got, OM_FOREVER), OM_ECLOSED);

	/* a priority queue: lowest first */
	om_queue *p;
	expect_ok(c, om_queue_open(c, NULL, OM_PRIORITY, 0, &p));
	expect_ok(c, om_queue_put_prio(p, 5, om_str("late"), 0));
	expect_ok(c, om_queue_put_prio(p, 1, om_str("early"), 0));
	expect_ok(c, om_queue_get_many(p, 2, &got, 0));
	assert_int_equal(got.n, 2);
	assert_str_item(&got.v[0], "early");
	om_items_free(&got);

	/* wrong handle type */
	om_dict *d = new_dict(c);
	expect_rc(c, om_queue_put_many((om_queue *)d, five, 1, 0), OM_ETYPE);
	expect_rc(c, om_queue_get_many((om_queue *)d, 1, &got, 0), OM_ETYPE);
	om_release(d);
	om_release(p);
	om_release(b);
	om_release(q);
	om_disconnect(c);
}

static void test_many_in_pipeline(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q = new_queue(c, 4);
	om_dict *d = new_dict(c);
	om_item kv[3] = {om_str("x"), om_str("y"), om_str("z")};
	om_item vs[5] = {om_int(1), om_int(2), om_int(3), om_int(4),
	                 om_int(5)};
	om_items got = {NULL, 0}, none = {NULL, 77}, vals = {NULL, 0};
	size_t found = 99;
	int rcs[6];

	expect_ok(c, om_pipeline_begin(c));
	expect_ok(c, om_dict_update(d, kv, vs, 2));
	om_item keys[2] = {om_str("y"), om_str("z")};
	expect_ok(c, om_dict_get_many(d, keys, 2, &vals, &found));
	expect_ok(c, om_queue_put_many(q, vs, 3, 0));
	expect_ok(c, om_queue_put_many(q, vs, 5, 0)); /* > maxsize */
	expect_ok(c, om_queue_get_many(q, 2, &got, 0));
	expect_ok(c, om_queue_get_many(q, 5, &none, 0));
	assert_int_equal(found, 99);
	expect_rc(c, om_pipeline_end(c, rcs, 6), OM_EINVAL);
	assert_int_equal(rcs[0], OM_OK);
	assert_int_equal(rcs[1], OM_OK);
	assert_int_equal(rcs[2], OM_OK);
	assert_int_equal(rcs[3], OM_EINVAL);
	assert_int_equal(rcs[4], OM_OK);
	assert_int_equal(rcs[5], OM_OK);
	assert_int_equal(found, 1);
	assert_int_equal(vals.n, 2);
	assert_int_item(&vals.v[0], 2);
	assert_int_equal(vals.v[1].kind, OM_NIL);
	assert_int_equal(got.n, 2);
	assert_int_item(&got.v[0], 1);
	assert_int_equal(none.n, 1);
	assert_int_item(&none.v[0], 3);
	om_items_free(&vals);
	om_items_free(&got);
	om_items_free(&none);
	om_release(q);
	om_release(d);
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sets_then_gets),
		cmocka_unit_test(test_every_completion),
		cmocka_unit_test(test_mixed_errors),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_blocking_out_of_order),
		cmocka_unit_test(test_blocking_answered_by_another),
		cmocka_unit_test(test_release_and_disconnect),
		cmocka_unit_test(test_fork_child_pipeline),
		cmocka_unit_test(test_fork_no_window),
		cmocka_unit_test(test_fork_in_pipeline),
		cmocka_unit_test(test_fork_child_addref_fails),
		cmocka_unit_test(test_long_pipeline),
		cmocka_unit_test(test_big_answers),
		cmocka_unit_test(test_connection_lost),
		cmocka_unit_test(test_frame_over_limit),
		cmocka_unit_test(test_dict_get_many),
		cmocka_unit_test(test_queue_many),
		cmocka_unit_test(test_many_in_pipeline),
	};
	return RUN(tests, 60, srv_setup, srv_teardown);
}
