/*
 * test_queue.c — om_queue_*, after CPython's _TestQueue and the queue
 * module's tests: FIFO, LIFO and priority order; maxsize (full, EFULL and
 * EEMPTY with and without a timeout, a parked put released by a get);
 * size/empty/full; joinable queues (task_done, join, EVALUE, ETIMEOUT,
 * EINVAL on plain queues); close (puts fail, gets drain then fail, a parked
 * getter is answered); one producer and three consumer processes delivering
 * every item exactly once, ended by close or by sentinels; parked getters
 * served in arrival order; a SIGKILLed parked getter swallows nothing; an
 * OM_REF in a queue keeps its object alive; bad arguments.
 */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/* Get one int item and check its value (parent side). */
static void expect_get_int(om_client *c, om_queue *q, int64_t want)
{
	om_item it;
	expect_ok(c, om_queue_get(q, &it, 0));
	assert_int_item(&it, want);
	om_item_free(&it);
}

static void expect_size(om_client *c, om_queue *q, size_t want)
{
	size_t n = 12345;
	expect_ok(c, om_queue_size(q, &n));
	assert_int_equal(n, want);
}

/* Wait until the server shows `n` parked calls: a child that announced
 * itself has reached the server and parked (state, not time). */
static void let_park(om_client *c, uint64_t n)
{
	wait_stat(c, parked, n);
}

/* ------------------------------------------------------------------ order */

static void test_fifo(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q = new_queue(c, 0);
	for (int i = 0; i < 10; i++)
		expect_ok(c, om_queue_put(q, om_int(i), 0));
	expect_ok(c, om_queue_put(q, om_str("s"), 0));
	expect_size(c, q, 11);
	for (int i = 0; i < 10; i++)
		expect_get_int(c, q, i);
	om_item it;
	expect_ok(c, om_queue_get(q, &it, 0));
	assert_str_item(&it, "s");
	om_item_free(&it);
	expect_rc(c, om_queue_get(q, &it, 0), OM_EEMPTY);
	expect_rc(c, om_queue_put_prio(q, 1, om_int(1), 0), OM_EINVAL);
	expect_size(c, q, 0);
	om_release(q);
	om_disconnect(c);
}

static void test_lifo(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q;
	expect_ok(c, om_queue_open(c, "queue.lifo", OM_CREATE | OM_LIFO, 0,
	                           &q));
	for (int i = 0; i < 10; i++)
		expect_ok(c, om_queue_put(q, om_int(i), 0));
	for (int i = 9; i >= 5; i--)
		expect_get_int(c, q, i);
	expect_ok(c, om_queue_put(q, om_int(100), 0));
	expect_get_int(c, q, 100);
	for (int i = 4; i >= 0; i--)
		expect_get_int(c, q, i);
	om_item it;
	expect_rc(c, om_queue_get(q, &it, 0), OM_EEMPTY);
	expect_rc(c, om_queue_put_prio(q, 1, om_int(1), 0), OM_EINVAL);
	expect_ok(c, om_unlink(c, "queue.lifo"));
	om_release(q);
	om_disconnect(c);
}

static void test_priority(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q;
	expect_ok(c, om_queue_open(c, NULL, OM_PRIORITY, 0, &q));
	/* (prio, value): lowest prio first, FIFO among equal prios */
	static const int64_t put[][2] = {
		{5, 50}, {1, 10}, {3, 30}, {1, 11}, {-2, -20},
		{3, 31}, {1, 12}, {5, 51}, {0, 0},   {3, 32},
	};
	static const int64_t want[] = {-20, 0, 10, 11, 12, 30, 31, 32, 50, 51};
	for (size_t i = 0; i < sizeof put / sizeof put[0]; i++)
		expect_ok(c, om_queue_put_prio(q, put[i][0], om_int(put[i][1]),
		                               0));
	expect_size(c, q, 10);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		expect_get_int(c, q, want[i]);
	om_item it;
	expect_rc(c, om_queue_get(q, &it, 0), OM_EEMPTY);
	om_release(q);
	om_disconnect(c);
}

/* ---------------------------------------------------- maxsize and timeouts */

static void test_maxsize_timeouts(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q;
	bool b;
	expect_ok(c, om_queue_open(c, NULL, 0, 3, &q));
	expect_ok(c, om_queue_empty(q, &b));
	assert_true(b);
	expect_ok(c, om_queue_full(q, &b));
	assert_false(b);
	expect_size(c, q, 0);

	/* get on empty */
	om_item it;
	expect_rc(c, om_queue_get(q, &it, 0), OM_EEMPTY);
	double t0 = now();
	expect_rc(c, om_queue_get(q, &it, 0.2), OM_EEMPTY);
	double dt = now() - t0;
	assert_true(dt >= 0.2);
	assert_true(dt < 10);

	for (int i = 0; i < 3; i++) {
		expect_ok(c, om_queue_put(q, om_int(i), 0));
		expect_size(c, q, (size_t)i + 1);
		expect_ok(c, om_queue_empty(q, &b));
		assert_false(b);
	}
	expect_ok(c, om_queue_full(q, &b));
	assert_true(b);

	/* put on full */
	expect_rc(c, om_queue_put(q, om_int(9), 0), OM_EFULL);
	t0 = now();
	expect_rc(c, om_queue_put(q, om_int(9), 0.2), OM_EFULL);
	dt = now() - t0;
	assert_true(dt >= 0.2);
	assert_true(dt < 10);
	expect_size(c, q, 3);

	expect_get_int(c, q, 0);
	expect_ok(c, om_queue_full(q, &b));
	assert_false(b);
	expect_ok(c, om_queue_put(q, om_int(3), 0.2));
	for (int i = 1; i <= 3; i++)
		expect_get_int(c, q, i);
	expect_ok(c, om_queue_empty(q, &b));
	assert_true(b);

	/* an unbounded queue is never full */
	om_queue *u = new_queue(c, 0);
	for (int i = 0; i < 100; i++)
		expect_ok(c, om_queue_put(u, om_int(i), 0));
	expect_ok(c, om_queue_full(u, &b));
	assert_false(b);
	om_release(u);
	om_release(q);
	om_disconnect(c);
}

struct park_arg {
	om_queue *q;
	int fd;
};

static int child_parked_put(void *arg)
{
	struct park_arg *a = arg;
	size_t n;
	if (om_queue_size(a->q, &n) != OM_OK || n != 1) /* connects */
		return 2;
	if (send_byte(a->fd))
		return 3;
	int rc = om_queue_put(a->q, om_str("second"), 30);
	return rc == OM_OK ? 0 : 4;
}

static void test_parked_put(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	let_park(c, 0);
	om_queue *q = new_queue(c, 1);
	expect_ok(c, om_queue_put(q, om_str("first"), 0));
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct park_arg a = {q, p[1]};
	pid_t pid = spawn_child(child_parked_put, &a);
	assert_int_equal(wait_byte(p[0], 10), 0);
	let_park(c, 1);
	om_item it;
	expect_ok(c, om_queue_get(q, &it, 0));
	assert_str_item(&it, "first");
	om_item_free(&it);
	assert_int_equal(reap(pid, 10), 0);
	expect_ok(c, om_queue_get(q, &it, 5));
	assert_str_item(&it, "second");
	om_item_free(&it);
	close(p[0]);
	close(p[1]);
	om_release(q);
	om_disconnect(c);
}

/* --------------------------------------------------------------- joinable */

static void test_task_done_errors(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q, *plain;
	expect_ok(c, om_queue_open(c, NULL, OM_JOINABLE, 0, &q));
	expect_rc(c, om_queue_task_done(q), OM_EVALUE);
	expect_ok(c, om_queue_join(q, 0)); /* nothing unfinished */
	for (int i = 0; i < 3; i++)
		expect_ok(c, om_queue_put(q, om_int(i), 0));
	expect_rc(c, om_queue_join(q, 0), OM_ETIMEOUT);
	for (int i = 0; i < 3; i++)
		expect_get_int(c, q, i);
	/* got but not task_done: still unfinished */
	expect_rc(c, om_queue_join(q, 0), OM_ETIMEOUT);
	for (int i = 0; i < 3; i++)
		expect_ok(c, om_queue_task_done(q));
	expect_rc(c, om_queue_task_done(q), OM_EVALUE);
	expect_ok(c, om_queue_join(q, 0));

	expect_ok(c, om_queue_open(c, NULL, 0, 0, &plain));
	expect_rc(c, om_queue_task_done(plain), OM_EINVAL);
	expect_rc(c, om_queue_join(plain, 0), OM_EINVAL);
	expect_ok(c, om_queue_put(plain, om_int(1), 0));
	expect_rc(c, om_queue_task_done(plain), OM_EINVAL);
	expect_rc(c, om_queue_join(plain, 0), OM_EINVAL);
	om_release(plain);
	om_release(q);
	om_disconnect(c);
}

enum { NJOIN = 20 };

static int child_worker(void *arg)
{
	om_queue *q = arg;
	for (int i = 0; i < NJOIN; i++) {
		om_item it;
		if (om_queue_get(q, &it, 30) != OM_OK)
			return 2;
		bool ok = it.kind == OM_INT && it.i == i;
		om_item_free(&it);
		if (!ok)
			return 3;
		if (om_queue_task_done(q) != OM_OK)
			return 4;
	}
	return 0;
}

static void test_join(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q;
	expect_ok(c, om_queue_open(c, NULL, OM_JOINABLE, 0, &q));
	for (int i = 0; i < NJOIN; i++)
		expect_ok(c, om_queue_put(q, om_int(i), 0));
	pid_t pid = spawn_child(child_worker, q);
	expect_ok(c, om_queue_join(q, OM_FOREVER));
	expect_size(c, q, 0);
	assert_int_equal(reap(pid, 10), 0);
	expect_rc(c, om_queue_task_done(q), OM_EVALUE);
	om_release(q);
	om_disconnect(c);
}

/* ------------------------------------------------------------------ close */

static void test_close(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q = new_queue(c, 0);
	expect_ok(c, om_queue_put(q, om_int(1), 0));
	expect_ok(c, om_queue_put(q, om_int(2), 0));
	expect_ok(c, om_queue_close(q));
	expect_rc(c, om_queue_put(q, om_int(3), 0), OM_ECLOSED);
	expect_rc(c, om_queue_put(q, om_int(3), 1), OM_ECLOSED);
	expect_get_int(c, q, 1);
	expect_get_int(c, q, 2);
	om_item it;
	expect_rc(c, om_queue_get(q, &it, 0), OM_ECLOSED);
	expect_rc(c, om_queue_get(q, &it, 5), OM_ECLOSED);
	om_release(q);
	om_disconnect(c);
}

static int child_parked_get_closed(void *arg)
{
	struct park_arg *a = arg;
	size_t n;
	if (om_queue_size(a->q, &n) != OM_OK || n != 0)
		return 2;
	if (send_byte(a->fd))
		return 3;
	om_item it;
	int rc = om_queue_get(a->q, &it, 30);
	if (rc == OM_OK)
		om_item_free(&it);
	return rc == OM_ECLOSED ? 0 : 4;
}

static void test_close_wakes_getter(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	let_park(c, 0);
	om_queue *q = new_queue(c, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct park_arg a = {q, p[1]};
	pid_t pid = spawn_child(child_parked_get_closed, &a);
	assert_int_equal(wait_byte(p[0], 10), 0);
	let_park(c, 1);
	expect_ok(c, om_queue_close(q));
	assert_int_equal(reap(pid, 10), 0);
	close(p[0]);
	close(p[1]);
	om_release(q);
	om_disconnect(c);
}

/* ------------------------------------------------- producers and consumers */

enum { NITEMS = 1000, NCONS = 3 };

struct pc_arg {
	om_queue *q;
	om_dict *d;
	bool sentinels; /* end with NCONS OM_NILs instead of close */
};

static int child_producer(void *arg)
{
	struct pc_arg *a = arg;
	for (int i = 0; i < NITEMS; i++)
		if (om_queue_put(a->q, om_int(i), 30) != OM_OK)
			return 2;
	if (a->sentinels) {
		for (int i = 0; i < NCONS; i++)
			if (om_queue_put(a->q, om_nil(), 30) != OM_OK)
				return 3;
	} else if (om_queue_close(a->q) != OM_OK) {
		return 4;
	}
	return 0;
}

static int child_consumer(void *arg)
{
	struct pc_arg *a = arg;
	for (;;) {
		om_item it;
		int rc = om_queue_get(a->q, &it, 30);
		if (rc == OM_ECLOSED && !a->sentinels)
			return 0;
		if (rc != OM_OK)
			return 2;
		if (it.kind == OM_NIL && a->sentinels)
			return 0;
		if (it.kind != OM_INT) {
			om_item_free(&it);
			return 3;
		}
		rc = om_dict_incr(a->d, om_int(it.i), om_int(1), NULL);
		om_item_free(&it);
		if (rc != OM_OK)
			return 4;
	}
}

static void run_producer_consumers(bool sentinels)
{
	om_client *c = client(&srv);
	struct pc_arg a = {.sentinels = sentinels};
	expect_ok(c, om_queue_open(c, NULL, 0, 16, &a.q));
	expect_ok(c, om_dict_open(c, NULL, 0, &a.d));
	pid_t pids[NCONS + 1];
	for (int i = 0; i < NCONS; i++)
		pids[i] = spawn_child(child_consumer, &a);
	pids[NCONS] = spawn_child(child_producer, &a);
	reap_all(pids, NCONS + 1);

	om_items keys, vals;
	expect_ok(c, om_dict_items(a.d, &keys, &vals));
	assert_int_equal(keys.n, NITEMS);
	static bool seen[NITEMS];
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < keys.n; i++) {
		assert_int_equal(keys.v[i].kind, OM_INT);
		assert_in_range(keys.v[i].i, 0, NITEMS - 1);
		assert_false(seen[keys.v[i].i]);
		seen[keys.v[i].i] = true;
		assert_int_item(&vals.v[i], 1);
	}
	om_items_free(&keys);
	om_items_free(&vals);
	expect_size(c, a.q, 0);
	om_release(a.q);
	om_release(a.d);
	om_disconnect(c);
}

static void test_producer_consumers_close(void **state)
{
	(void)state;
	run_producer_consumers(false);
}

static void test_producer_consumers_sentinels(void **state)
{
	(void)state;
	run_producer_consumers(true);
}

/* -------------------------------------------------------- parked getters */

enum { NGETTERS = 20 };

static int child_ordered_getter(void *arg)
{
	struct park_arg *a = arg;
	size_t n;
	if (om_queue_size(a->q, &n) != OM_OK) /* opens this child's client */
		return 1;
	if (send_byte(a->fd))
		return 2;
	om_item it;
	if (om_queue_get(a->q, &it, 30) != OM_OK)
		return 3;
	int ret = it.kind == OM_INT && it.i >= 0 && it.i < NGETTERS
	                  ? 100 + (int)it.i
	                  : 4;
	om_item_free(&it);
	return ret;
}

static void test_getters_arrival_order(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	let_park(c, 0);
	om_queue *q = new_queue(c, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct park_arg a = {q, p[1]};
	pid_t pids[NGETTERS];
	int started = 0;
	bool ok = true;
	for (; started < NGETTERS; started++) {
		pids[started] = spawn_child(child_ordered_getter, &a);
		if (wait_byte(p[0], 10)) {
			ok = false;
			started++;
			break;
		}
		let_park(c, (uint64_t)started + 1);
	}
	for (int i = 0; ok && i < NGETTERS; i++)
		expect_ok(c, om_queue_put(q, om_int(i), 0));
	int st[NGETTERS];
	for (int i = 0; i < started; i++)
		st[i] = reap(pids[i], 10);
	assert_true(ok);
	/* child i exits 100 + the item it received */
	for (int i = 0; i < NGETTERS; i++)
		assert_int_equal(st[i], 100 + i);
	expect_size(c, q, 0);
	close(p[0]);
	close(p[1]);
	om_release(q);
	om_disconnect(c);
}

static int child_get_forever(void *arg)
{
	struct park_arg *a = arg;
	size_t n;
	if (om_queue_size(a->q, &n) != OM_OK)
		return 1;
	if (send_byte(a->fd))
		return 2;
	om_item it;
	if (om_queue_get(a->q, &it, OM_FOREVER) == OM_OK)
		om_item_free(&it);
	return 3; /* should have been killed first */
}

static void test_killed_getter(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	let_park(c, 0);
	om_queue *q = new_queue(c, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct park_arg a = {q, p[1]};
	pid_t pid = spawn_child(child_get_forever, &a);
	assert_int_equal(wait_byte(p[0], 10), 0);
	let_park(c, 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid, 10), -1);
	expect_ok(c, om_queue_put(q, om_int(42), 0));
	expect_get_int(c, q, 42);
	close(p[0]);
	close(p[1]);
	om_release(q);
	om_disconnect(c);
}

/* ------------------------------------------------------------------- refs */

static void test_ref_keeps_alive(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats st0, st1;
	om_queue *q;
	om_dict *d;
	expect_ok(c, om_queue_open(c, NULL, 0, 0, &q));
	expect_ok(c, om_stats(c, &st0));
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(7)));
	expect_ok(c, om_queue_put(q, om_ref(d), 0));
	om_release(d);
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects + 1); /* held by the queue */

	om_item it;
	expect_ok(c, om_queue_get(q, &it, 0));
	assert_int_equal(it.kind, OM_REF);
	assert_int_equal(it.ref.type, OM_TYPE_DICT);
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects + 1); /* held for us */
	void *h;
	expect_ok(c, om_open_ref(c, &it, &h));
	om_item_free(&it);
	om_item v;
	expect_ok(c, om_dict_get(h, om_str("k"), &v));
	assert_int_equal(v.i, 7);
	om_release(h);
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects);
	om_release(q);
	om_disconnect(c);
}

/* --------------------------------------------------------------- bad args */

static void test_bad_args(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_queue *q;
	expect_rc(c, om_queue_open(c, NULL, 0, 0, NULL), OM_EINVAL);
	expect_rc(c, om_queue_open(NULL, NULL, 0, 0, &q), OM_EINVAL);
	expect_ok(c, om_queue_open(c, NULL, 0, 0, &q));
	expect_ok(c, om_queue_put(q, om_int(1), 0));
	expect_rc(c, om_queue_get(q, NULL, 0), OM_EINVAL);
	expect_rc(c, om_queue_size(q, NULL), OM_EINVAL);
	expect_rc(c, om_queue_empty(q, NULL), OM_EINVAL);
	expect_rc(c, om_queue_full(q, NULL), OM_EINVAL);
	/* the failed get took nothing */
	expect_size(c, q, 1);
	size_t n;
	om_item it;
	assert_int_equal(om_queue_size(NULL, &n), OM_EINVAL);
	assert_int_equal(om_queue_put(NULL, om_int(1), 0), OM_EINVAL);
	assert_int_equal(om_queue_get(NULL, &it, 0), OM_EINVAL);
	assert_int_equal(om_queue_close(NULL), OM_EINVAL);
	om_release(q);
	assert_int_equal(om_queue_size(q, &n), OM_EINVAL);
	assert_int_equal(om_queue_put(q, om_int(1), 0), OM_EINVAL);
	om_disconnect(c);
}

/* Stopping the server answers parked calls: OM_ESTOPPING, not a hang. */
static int child_get_stopping(void *p)
{
	om_queue *q = p;
	om_item it;
	int rc = om_queue_get(q, &it, OM_FOREVER);
	return rc == OM_ESTOPPING ? 0 : 10 - rc;
}

static void test_shutdown_answers_parked(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, NULL);
	om_client *c = client(&s2);
	om_queue *q = new_queue(c, 0);
	pid_t pid = spawn_child(child_get_stopping, q);
	wait_stat(c, parked, 1);
	expect_ok(c, om_shutdown(c));
	assert_int_equal(reap(pid, 10), 0);
	assert_int_equal(om_queue_put(q, om_int(1), 0), OM_ECONN);
	om_disconnect(c);
	server_stop(&s2); /* it has exited by itself: exit status 0 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_lifo),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_maxsize_timeouts),
		cmocka_unit_test(test_parked_put),
		cmocka_unit_test(test_task_done_errors),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_close_wakes_getter),
		cmocka_unit_test(test_producer_consumers_close),
		cmocka_unit_test(test_producer_consumers_sentinels),
		cmocka_unit_test(test_getters_arrival_order),
		cmocka_unit_test(test_killed_getter),
		cmocka_unit_test(test_ref_keeps_alive),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_shutdown_answers_parked),
	};
	return RUN(tests, 110, srv_setup, srv_teardown);
}
