/*
 * test_pipe.c — om_pipe_*, after CPython's _TestConnection
 * (test_connection: every item kind through a pipe, big bytes included,
 * poll with and without a timeout, recv after the other end closed;
 * test_duplex_false; test_spawn_close) and the closing rules of the
 * contract: messages in order and each once (several forked readers on one
 * end); a SIGKILLed only holder of an end (the other drains, then
 * OM_ECLOSED); Python's idiom both ways (parent closes its copy of the
 * child's end and sees EOF when the child exits; child closes its copy of
 * the parent's end and sees EOF when the parent closes); a child that never
 * calls the library holds its inherited end until it exits; om_disconnect
 * in a child; named pipes opened from a second connection; simplex
 * directions; parked receivers in arrival order, a killed one swallowing
 * nothing (nor a killed poller); poll's deadline and wake-ups; a stored
 * Ref keeps an end open; a cycle through an inbox is collected;
 * --max-memory; no leak; bad input, by the API and by hand on the wire;
 * pipelined pipe calls; om_release in a child of an inherited handle it
 * never used lets the object go at once.
 */
#include "harness.h"
#include "raw.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static void new_pipe(om_client *c, int flags, om_pipe **a, om_pipe **b)
{
	expect_ok(c, om_pipe_open(c, NULL, flags, a, b));
}

static void expect_recv_int(om_client *c, om_pipe *e, int64_t want)
{
	om_item it;
	expect_ok(c, om_pipe_recv(e, &it, 10));
	assert_int_item(&it, want);
	om_item_free(&it);
}

static void expect_poll(om_client *c, om_pipe *e, double timeout, bool want)
{
	bool ready = !want;
	expect_ok(c, om_pipe_poll(e, timeout, &ready));
	assert_int_equal(ready, want);
}

/* An OS pipe between the test and its children (send_byte/wait_byte). */
struct chan {
	int r, w;
};

static struct chan chan_open(void)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	return (struct chan){p[0], p[1]};
}

static void chan_close(struct chan *ch)
{
	close(ch->r);
	close(ch->w);
}

/* What children get: the ends, a channel each way, a count. */
struct arg {
	om_pipe *a, *b;
	om_dict *d;
	struct chan up, down; /* child -> parent, parent -> child */
	int n;
};

/* The client some children inherit and let go of with om_disconnect. */
static om_client *child_client;

/* ----------------------------------------------------- _TestConnection */

static void test_items(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pipe *a, *b;
	new_pipe(c, 0, &a, &b);
	size_t big_n = 4 << 20;
	char *big = malloc(big_n);
	assert_non_null(big);
	for (size_t i = 0; i < big_n; i++)
		big[i] = (char)(i * 7 + 3);
	om_dict *d = new_dict(c);
	om_item sent[] = {om_nil(),
	                  om_bool(true),
	                  om_int(-1234567890123),
	                  om_float(-0.0),
	                  om_str("hello"),
	                  om_bytes("a\0b", 3),
	                  om_bytes(big, big_n),
	                  om_ref(d)};
	size_t n = sizeof sent / sizeof *sent;
	for (size_t i = 0; i < n; i++)
		expect_ok(c, om_pipe_send(a, sent[i]));
	/* And back the other way, duplex. */
	expect_ok(c, om_pipe_send(b, om_str("back")));
	for (size_t i = 0; i < n; i++) {
		om_item it;
		expect_ok(c, om_pipe_recv(b, &it, 0));
		assert_int_equal(it.kind, sent[i].kind);
		switch (it.kind) {
		case OM_NIL:
			break;
		case OM_BOOL:
			assert_true(it.b);
			break;
		case OM_INT:
			assert_int_item(&it, -1234567890123);
			break;
		case OM_FLOAT:
			assert_float_item(&it, -0.0);
			break;
		case OM_STR:
			assert_str_item(&it, "hello");
			break;
		case OM_BYTES:
			assert_int_equal(it.s.len, sent[i].s.len);
			assert_memory_equal(it.s.ptr, sent[i].s.ptr, it.s.len);
			break;
		case OM_REF:
			assert_int_equal(it.ref.type, OM_TYPE_DICT);
			void *h;
			expect_ok(c, om_open_ref(c, &it, &h));
			expect_ok(c, om_dict_set(h, om_str("k"), om_int(1)));
			om_release(h);
			break;
		}
		om_item_free(&it);
	}
	om_item it;
	expect_rc(c, om_pipe_recv(b, &it, 0), OM_ETIMEOUT);
	expect_ok(c, om_pipe_recv(a, &it, 0));
	assert_str_item(&it, "back");
	om_item_free(&it);
	om_item v;
	expect_ok(c, om_dict_get(d, om_str("k"), &v));
	assert_int_item(&v, 1);
	free(big);
	om_release(d);
	om_pipe_close(a);
	om_pipe_close(b);
	om_disconnect(c);
}

static void test_order_and_send_many(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pipe *a, *b;
	new_pipe(c, 0, &a, &b);
	om_item batch[100];
	for (int i = 0; i < 1000; i++) {
		if (i % 200 < 100) {
			expect_ok(c, om_pipe_send(a, om_int(i)));
			continue;
		}
		for (int k = 0; k < 100; k++)
			batch[k] = om_int(i + k);
		expect_ok(c, om_pipe_send_many(a, batch, 100));
		i += 99;
	}
	expect_ok(c, om_pipe_send_many(a, NULL, 0)); /* nothing */
	for (int i = 0; i < 1000; i++)
		expect_recv_int(c, b, i);
	expect_poll(c, b, 0, false);
	om_pipe_close(a);
	om_pipe_close(b);
	om_disconnect(c);
}

/* poll with and without a timeout; recv after the other end closed
 * returns what is left, then OM_ECLOSED, and poll says ready. */
static void test_poll_and_eof(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pipe *a, *b;
	new_pipe(c, 0, &a, &b);
	expect_poll(c, b, 0, false);
	expect_poll(c, b, 0.05, false); /* the deadline: OM_OK, false */
	om_item it;
	expect_rc(c, om_pipe_recv(b, &it, 0.05), OM_ETIMEOUT);
	expect_ok(c, om_pipe_send(a, om_int(1)));
	expect_ok(c, om_pipe_send(a, om_int(2)));
	expect_poll(c, b, 0, true);
	expect_poll(c, b, OM_FOREVER, true);
	expect_recv_int(c, b, 1);
	expect_ok(c, om_pipe_close(a));
	expect_poll(c, b, 0, true);
	expect_recv_int(c, b, 2);
	expect_poll(c, b, 0, true); /* nothing left, peer closed */
	expect_poll(c, b, OM_FOREVER, true);
	expect_rc(c, om_pipe_recv(b, &it, 0), OM_ECLOSED);
	expect_rc(c, om_pipe_recv(b, &it, OM_FOREVER), OM_ECLOSED);
	expect_rc(c, om_pipe_send(b, om_int(3)), OM_ECLOSED);
	om_item two[] = {om_int(1), om_int(2)};
	expect_rc(c, om_pipe_send_many(b, two, 2), OM_ECLOSED);
	/* a call on the closed handle */
	expect_rc(c, om_pipe_send(a, om_int(1)), OM_EINVAL);
	expect_rc(c, om_pipe_recv(a, &it, 0), OM_EINVAL);
	bool r;
	expect_rc(c, om_pipe_poll(a, 0, &r), OM_EINVAL);
	expect_rc(c, om_pipe_close(a), OM_EINVAL);
	expect_ok(c, om_pipe_close(b));
	expect_rc(c, om_pipe_close(b), OM_EINVAL);
	om_disconnect(c);
}

/* test_duplex_false */
static void test_simplex(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pipe *r, *w;
	new_pipe(c, OM_SIMPLEX, &r, &w);
	om_item it;
	bool ready;
	expect_rc(c, om_pipe_send(r, om_int(1)), OM_EINVAL);
	om_item one = om_int(1);
	expect_rc(c, om_pipe_send_many(r, &one, 1), OM_EINVAL);
	expect_rc(c, om_pipe_recv(w, &it, 0), OM_EINVAL);
	expect_rc(c, om_pipe_poll(w, 0, &ready), OM_EINVAL);
	expect_ok(c, om_pipe_send(w, om_str("one way")));
	expect_poll(c, r, 0, true);
	expect_ok(c, om_pipe_recv(r, &it, 0));
	assert_str_item(&it, "one way");
	om_item_free(&it);
	expect_ok(c, om_pipe_close(w));
	expect_rc(c, om_pipe_recv(r, &it, 0), OM_ECLOSED);
	expect_ok(c, om_pipe_close(r));
	om_disconnect(c);
}

/* ------------------------------------------------ parked calls, wake-ups */

/* Receive on a until EOF (first closing the inherited copy of b, as
 * Python's child closes the end it does not use), each int into d. */
static int child_reader(void *p)
{
	struct arg *x = p;
	if (om_pipe_close(x->b) != OM_OK)
		return 1;
	for (;;) {
		om_item it;
		int rc = om_pipe_recv(x->a, &it, 30);
		if (rc == OM_ECLOSED)
			return 0;
		if (rc != OM_OK)
			return 2;
		if (it.kind != OM_INT)
			return 3;
		if (om_dict_incr(x->d, om_int(it.i), om_int(1), NULL) != OM_OK)
			return 4;
	}
}

enum { NREADERS = 4, NMSGS = 600 };

/* Several forked readers on one end: every message received exactly
 * once; they all see EOF when the writer closes. */
static void test_readers_each_once(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct arg x = {0};
	new_pipe(c, 0, &x.a, &x.b);
	x.d = new_dict(c);
	pid_t pids[NREADERS];
	for (int i = 0; i < NREADERS; i++)
		pids[i] = spawn_child(child_reader, &x);
	expect_ok(c, om_pipe_close(x.a)); /* the parent only writes */
	om_item batch[NMSGS / 2];
	for (int i = 0; i < NMSGS / 2; i++) {
		expect_ok(c, om_pipe_send(x.b, om_int(i)));
		batch[i] = om_int(NMSGS / 2 + i);
	}
	expect_ok(c, om_pipe_send_many(x.b, batch, NMSGS / 2));
	expect_ok(c, om_pipe_close(x.b));
	reap_all(pids, NREADERS);
	om_items keys, vals;
	expect_ok(c, om_dict_items(x.d, &keys, &vals));
	assert_int_equal(keys.n, NMSGS);
	static bool seen[NMSGS];
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < keys.n; i++) {
		assert_int_equal(keys.v[i].kind, OM_INT);
		assert_in_range(keys.v[i].i, 0, NMSGS - 1);
		assert_false(seen[keys.v[i].i]);
		seen[keys.v[i].i] = true;
		assert_int_item(&vals.v[i], 1);
	}
	om_items_free(&keys);
	om_items_free(&vals);
	om_release(x.d);
	om_disconnect(c);
}

enum { NPARKED = 12 };

static int child_ordered_receiver(void *p)
{
	struct arg *x = p;
	bool ready;
	if (om_pipe_poll(x->a, 0, &ready) != OM_OK) /* connects */
		return 1;
	if (send_byte(x->up.w))
		return 2;
	om_item it;
	if (om_pipe_recv(x->a, &it, 30) != OM_OK)
		return 3;
	int ret = it.kind == OM_INT && it.i >= 0 && it.i < NPARKED
	                  ? 100 + (int)it.i
	                  : 4;
	om_item_free(&it);
	return ret;
}

/* Parked receivers are served in arrival order. */
static void test_receivers_arrival_order(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	wait_stat(c, parked, 0);
	struct arg x = {.up = chan_open()};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pids[NPARKED];
	int started = 0;
	bool ok = true;
	for (; started < NPARKED; started++) {
		pids[started] = spawn_child(child_ordered_receiver, &x);
		if (wait_byte(x.up.r, 10)) {
			ok = false;
			started++;
			break;
		}
		wait_stat(c, parked, (uint64_t)started + 1);
	}
	for (int i = 0; ok && i < NPARKED; i++)
		expect_ok(c, om_pipe_send(x.b, om_int(i)));
	int st[NPARKED];
	for (int i = 0; i < started; i++)
		st[i] = reap(pids[i], 10);
	assert_true(ok);
	for (int i = 0; i < NPARKED; i++)
		assert_int_equal(st[i], 100 + i);
	expect_poll(c, x.a, 0, false);
	chan_close(&x.up);
	om_pipe_close(x.a);
	om_pipe_close(x.b);
	om_disconnect(c);
}

static int child_recv_forever(void *p)
{
	struct arg *x = p;
	bool ready;
	if (om_pipe_poll(x->a, 0, &ready) != OM_OK || send_byte(x->up.w))
		return 1;
	om_item it;
	if (om_pipe_recv(x->a, &it, OM_FOREVER) == OM_OK)
		om_item_free(&it);
	return 3; /* should have been killed first */
}

/* A SIGKILLed parked receiver swallows nothing. */
static void test_killed_receiver(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	wait_stat(c, parked, 0);
	struct arg x = {.up = chan_open()};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_recv_forever, &x);
	assert_int_equal(wait_byte(x.up.r, 10), 0);
	wait_blocked(c, pid, 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid, 10), -1);
	expect_ok(c, om_pipe_send(x.b, om_int(42)));
	expect_recv_int(c, x.a, 42);
	chan_close(&x.up);
	om_pipe_close(x.a);
	om_pipe_close(x.b);
	om_disconnect(c);
}

/* Close the inherited copy of b, then wait (parked) in poll or recv on a
 * for the parent's message or close; exit 0 if the answer is `n`'s. */
static int child_wait_woken(void *p)
{
	struct arg *x = p;
	if (om_pipe_close(x->b) != OM_OK || send_byte(x->up.w))
		return 1;
	bool ready = false;
	om_item it;
	switch (x->n) {
	case 0: /* poll woken by a message */
	case 1: /* poll woken by the peer's close */
		if (om_pipe_poll(x->a, 30, &ready) != OM_OK || !ready)
			return 2;
		return 0;
	case 2: /* recv woken by the peer's close */
		return om_pipe_recv(x->a, &it, 30) == OM_ECLOSED ? 0 : 3;
	}
	return 4;
}

static void test_parked_woken(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	wait_stat(c, parked, 0);
	for (int n = 0; n < 3; n++) {
		struct arg x = {.up = chan_open(), .n = n};
		new_pipe(c, 0, &x.a, &x.b);
		pid_t pid = spawn_child(child_wait_woken, &x);
		assert_int_equal(wait_byte(x.up.r, 10), 0);
		wait_blocked(c, pid, 1);
		if (n == 0)
			expect_ok(c, om_pipe_send(x.b, om_int(7)));
		else
			expect_ok(c, om_pipe_close(x.b));
		assert_int_equal(reap(pid, 10), 0);
		if (n == 0) {
			expect_recv_int(c, x.a, 7);
			om_pipe_close(x.b);
		}
		chan_close(&x.up);
		om_pipe_close(x.a);
	}
	om_disconnect(c);
}

/* ------------------------------------------------ closing across fork() */

/* Send 3 messages on b, tell the parent, and wait to be killed. */
static int child_send_then_hang(void *p)
{
	struct arg *x = p;
	for (int i = 0; i < 3; i++)
		if (om_pipe_send(x->b, om_int(i)) != OM_OK)
			return 1;
	if (send_byte(x->up.w))
		return 2;
	wait_byte(x->down.r, 60);
	return 3;
}

/* SIGKILL of the only holder of an end: the other end drains what was
 * sent, then gets OM_ECLOSED; a send to it is OM_ECLOSED. */
static void test_killed_holder(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct arg x = {.up = chan_open(), .down = chan_open()};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_send_then_hang, &x);
	expect_ok(c, om_pipe_close(x.b));
	assert_int_equal(wait_byte(x.up.r, 10), 0);
	expect_poll(c, x.a, 0, true);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid, 10), -1);
	for (int i = 0; i < 3; i++)
		expect_recv_int(c, x.a, i);
	om_item it;
	expect_rc(c, om_pipe_recv(x.a, &it, 10), OM_ECLOSED);
	expect_rc(c, om_pipe_send(x.a, om_int(9)), OM_ECLOSED);
	chan_close(&x.up);
	chan_close(&x.down);
	om_pipe_close(x.a);
	om_disconnect(c);
}

static int child_send_and_exit(void *p)
{
	struct arg *x = p;
	for (int i = 0; i < x->n; i++)
		if (om_pipe_send(x->b, om_int(i)) != OM_OK)
			return 1;
	return 0;
}

/* Python's idiom: the parent closes its copy of the child's end right
 * after the fork, and sees EOF when the child exits. */
static void test_parent_sees_child_exit(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct arg x = {.n = 50};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_send_and_exit, &x);
	expect_ok(c, om_pipe_close(x.b));
	for (int i = 0; i < x.n; i++)
		expect_recv_int(c, x.a, i);
	om_item it;
	expect_rc(c, om_pipe_recv(x.a, &it, 10), OM_ECLOSED);
	assert_int_equal(reap(pid, 10), 0);
	om_pipe_close(x.a);
	om_disconnect(c);
}

/* The child closes its inherited copy of the parent's end (never used in
 * the child), drains b and sees EOF when the parent closes a; exits with
 * how many it got. */
static int child_drain(void *p)
{
	struct arg *x = p;
	if (om_pipe_close(x->a) != OM_OK || send_byte(x->up.w))
		return 200;
	for (int i = 0;; i++) {
		om_item it;
		int rc = om_pipe_recv(x->b, &it, 30);
		if (rc == OM_ECLOSED)
			return i;
		if (rc != OM_OK || it.kind != OM_INT || it.i != i)
			return 201;
	}
}

static void test_child_sees_parent_close(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct arg x = {.up = chan_open()};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_drain, &x);
	expect_ok(c, om_pipe_close(x.b));
	/* The child's close went first: so the parent's is the last. */
	assert_int_equal(wait_byte(x.up.r, 10), 0);
	for (int i = 0; i < 20; i++)
		expect_ok(c, om_pipe_send(x.a, om_int(i)));
	expect_ok(c, om_pipe_close(x.a));
	assert_int_equal(reap(pid, 20), 20);
	chan_close(&x.up);
	om_disconnect(c);
}

/* A child that never calls the library. */
static int child_idle(void *p)
{
	struct arg *x = p;
	return wait_byte(x->down.r, 30) ? 1 : 0;
}

/* ... still holds its inherited end (the fork hold) until it exits. */
static void test_idle_child_holds(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct arg x = {.down = chan_open()};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_idle, &x);
	expect_ok(c, om_pipe_close(x.b));
	expect_poll(c, x.a, 0, false); /* b is open: the child holds it */
	expect_ok(c, om_pipe_send(x.a, om_int(5)));
	assert_int_equal(send_byte(x.down.w), 0);
	assert_int_equal(reap(pid, 10), 0);
	om_item it;
	expect_rc(c, om_pipe_recv(x.a, &it, 10), OM_ECLOSED);
	expect_rc(c, om_pipe_send(x.a, om_int(5)), OM_ECLOSED);
	chan_close(&x.down);
	om_pipe_close(x.a);
	om_disconnect(c);
}

/* om_disconnect in a child lets go of every end it holds through that
 * client: after using b (n == 1) or without ever calling the library. */
static int child_disconnect(void *p)
{
	struct arg *x = p;
	if (x->n && om_pipe_send(x->b, om_str("bye")) != OM_OK)
		return 1;
	om_disconnect(child_client);
	if (send_byte(x->up.w))
		return 2;
	return wait_byte(x->down.r, 30) ? 3 : 0;
}

static void test_child_disconnect(void **state)
{
	(void)state;
	om_client *c = child_client = client(&srv);
	for (int n = 0; n < 2; n++) {
		struct arg x = {.up = chan_open(), .down = chan_open(), .n = n};
		new_pipe(c, 0, &x.a, &x.b);
		pid_t pid = spawn_child(child_disconnect, &x);
		expect_ok(c, om_pipe_close(x.b));
		assert_int_equal(wait_byte(x.up.r, 10), 0);
		om_item it;
		if (n) {
			expect_ok(c, om_pipe_recv(x.a, &it, 10));
			assert_str_item(&it, "bye");
			om_item_free(&it);
		}
		/* The child is alive, and b closed. */
		expect_rc(c, om_pipe_recv(x.a, &it, 10), OM_ECLOSED);
		assert_int_equal(send_byte(x.down.w), 0);
		assert_int_equal(reap(pid, 10), 0);
		chan_close(&x.up);
		chan_close(&x.down);
		om_pipe_close(x.a);
	}
	om_disconnect(c);
}

/* ------------------------------------------------------------ named pipes */

static void test_named(void **state)
{
	(void)state;
	om_client *c2 = client(&srv);
	om_server_stats st0 = settle(c2);
	om_client *c1 = client(&srv);
	om_pipe *a1, *b1, *a2, *b2;
	expect_rc(c2, om_pipe_open(c2, "pipe.named", 0, &a2, &b2), OM_ENOENT);
	expect_ok(c1, om_pipe_open(c1, "pipe.named", OM_CREATE, &a1, &b1));
	expect_rc(c1,
	          om_pipe_open(c1, "pipe.named", OM_CREATE | OM_EXCL, &a2, &b2),
	          OM_EEXIST);
	om_dict *d;
	expect_rc(c1, om_dict_open(c1, "pipe.named", 0, &d), OM_ETYPE);
	expect_ok(c1, om_pipe_send(b1, om_str("to a")));
	expect_ok(c1, om_pipe_send(a1, om_str("to b")));
	/* Both ends stay open while named, with nobody holding them. */
	om_pipe_close(a1);
	om_pipe_close(b1);
	om_disconnect(c1);
	wait_stat(c2, connections, 1);
	expect_ok(c2, om_pipe_open(c2, "pipe.named", 0, &a2, &b2));
	om_item it;
	expect_ok(c2, om_pipe_recv(a2, &it, 10));
	assert_str_item(&it, "to a");
	om_item_free(&it);
	expect_ok(c2, om_pipe_recv(b2, &it, 10));
	assert_str_item(&it, "to b");
	om_item_free(&it);
	expect_ok(c2, om_unlink(c2, "pipe.named"));
	/* Unlinked: open while held, closed when the last holder goes. */
	expect_poll(c2, a2, 0, false);
	expect_ok(c2, om_pipe_send(a2, om_int(1)));
	expect_recv_int(c2, b2, 1);
	expect_ok(c2, om_pipe_close(b2));
	expect_rc(c2, om_pipe_recv(a2, &it, 10), OM_ECLOSED);
	expect_ok(c2, om_pipe_close(a2));
	expect_rc(c2, om_pipe_open(c2, "pipe.named", 0, &a2, &b2), OM_ENOENT);
	wait_stat(c2, objects, st0.objects);
	wait_stat(c2, bytes, st0.bytes);
	om_disconnect(c2);
}

/* A named pipe's ends reach another process by name; the ends close once
 * the name is gone and every holder has closed. */
static int child_named_echo(void *p)
{
	(void)p;
	/* Not this process's business: the parent's pipe end it inherited
	 * would keep that end open until it exits. */
	om_disconnect(child_client);
	om_client *c;
	if (om_connect(srv.path, &c) != OM_OK)
		return 1;
	om_pipe *a, *b;
	int ret = 0;
	if (om_pipe_open(c, "pipe.echo", 0, &a, &b) != OM_OK)
		return 2;
	om_pipe_close(a); /* the parent's end */
	for (;;) {
		om_item it;
		int rc = om_pipe_recv(b, &it, 30);
		if (rc == OM_ECLOSED)
			break;
		if (rc != OM_OK || om_pipe_send(b, it) != OM_OK)
			ret = 3;
		om_item_free(&it);
		if (ret)
			break;
	}
	om_disconnect(c);
	return ret;
}

static void test_named_other_process(void **state)
{
	(void)state;
	om_client *c = child_client = client(&srv);
	om_pipe *a, *b;
	expect_ok(c, om_pipe_open(c, "pipe.echo", OM_CREATE, &a, &b));
	om_pipe_close(b); /* the child opens its own */
	pid_t pid = spawn_child(child_named_echo, NULL);
	for (int i = 0; i < 10; i++) {
		expect_ok(c, om_pipe_send(a, om_int(i)));
		expect_recv_int(c, a, i);
	}
	expect_ok(c, om_unlink(c, "pipe.echo"));
	expect_ok(c, om_pipe_close(a)); /* the child's recv: EOF */
	assert_int_equal(reap(pid, 10), 0);
	om_disconnect(c);
}

/* ------------------------------------------------------ references, memory */

/* A stored Ref to an end keeps it open. */
static void test_stored_ref(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pipe *a, *b;
	new_pipe(c, 0, &a, &b);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("end"), om_ref(b)));
	expect_ok(c, om_pipe_close(b));
	expect_poll(c, a, 0, false);
	expect_ok(c, om_pipe_send(a, om_int(3)));
	om_item ref;
	expect_ok(c, om_dict_get(d, om_str("end"), &ref));
	assert_int_equal(ref.kind, OM_REF);
	assert_int_equal(ref.ref.type, OM_TYPE_PIPE);
	om_pipe *b2;
	expect_ok(c, om_open_ref(c, &ref, (void **)&b2));
	expect_recv_int(c, b2, 3);
	expect_ok(c, om_dict_del(d, om_str("end")));
	expect_poll(c, a, 0, false); /* b2 still holds it */
	expect_ok(c, om_pipe_close(b2));
	om_item it;
	expect_rc(c, om_pipe_recv(a, &it, 10), OM_ECLOSED);
	/* The end is gone: a Ref to it cannot be opened. */
	expect_rc(c, om_open_ref(c, &ref, (void **)&b2), OM_ENOENT);
	om_release(d);
	om_pipe_close(a);
	om_disconnect(c);
}

/* No leak: objects and bytes come back to the baseline after pipes with
 * messages left in them, a Ref in an inbox, an end sent into its own
 * inbox (a cycle only the collector frees), and killed children. */
static void test_no_leak(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats st0 = settle(c), st;
	om_pipe *a, *b;
	new_pipe(c, 0, &a, &b);
	expect_ok(c, om_stats(c, &st));
	assert_int_equal(st.objects, st0.objects + 2); /* two ends */
	expect_ok(c, om_pipe_send(a, om_str("left over")));
	expect_ok(c, om_pipe_send(b, om_bytes("xyz", 3)));
	expect_ok(c, om_stats(c, &st));
	assert_true(st.bytes > st0.bytes);
	om_dict *d = new_dict(c);
	expect_ok(c, om_pipe_send(a, om_ref(d)));
	om_release(d);
	om_pipe_close(a);
	om_pipe_close(b);
	wait_stat(c, objects, st0.objects);
	wait_stat(c, bytes, st0.bytes);

	/* a cycle: end a's inbox holds a Ref to a */
	new_pipe(c, 0, &a, &b);
	expect_ok(c, om_pipe_send(b, om_ref(a)));
	om_pipe_close(a);
	om_pipe_close(b);
	wait_stat(c, objects, st0.objects);
	wait_stat(c, bytes, st0.bytes);

	/* killed children holding ends, one parked */
	struct arg x = {.up = chan_open(), .down = chan_open()};
	new_pipe(c, 0, &x.a, &x.b);
	struct arg y = x; /* the second receives on b, where nothing comes */
	y.a = x.b;
	pid_t p1 = spawn_child(child_send_then_hang, &x);
	pid_t p2 = spawn_child(child_recv_forever, &y);
	assert_int_equal(wait_byte(x.up.r, 10), 0);
	assert_int_equal(wait_byte(x.up.r, 10), 0);
	om_pipe_close(x.a);
	om_pipe_close(x.b);
	wait_blocked(c, p2, 1);
	kill(p1, SIGKILL);
	kill(p2, SIGKILL);
	assert_int_equal(reap(p1, 10), -1);
	assert_int_equal(reap(p2, 10), -1);
	chan_close(&x.up);
	chan_close(&x.down);
	settle(c);
	wait_stat(c, objects, st0.objects);
	wait_stat(c, bytes, st0.bytes);
	wait_stat(c, parked, 0);
	om_disconnect(c);
}

/* --max-memory bounds the inbox: a send that does not fit fails OM_ENOMEM
 * and sends nothing (all or nothing for send_many). */
static void test_max_memory(void **state)
{
	(void)state;
	struct server s2;
	/* Items small enough that each request arrives in one read: a
	 * request still arriving counts against the limit too, and one
	 * over it is refused with the connection (test_hostile). */
	server_start(&s2,
	             (const char *const[]){"--max-memory", "100000", NULL});
	om_client *c = client(&s2);
	om_pipe *a, *b;
	new_pipe(c, 0, &a, &b);
	static char chunk[3000];
	int sent = 0;
	int rc;
	while ((rc = om_pipe_send(a, om_bytes(chunk, sizeof chunk))) == OM_OK)
		sent++;
	assert_int_equal(rc, OM_ENOMEM);
	assert_true(sent >= 10 && sent < 34);
	om_item batch[] = {om_int(1), om_bytes(chunk, sizeof chunk)};
	expect_rc(c, om_pipe_send_many(a, batch, 2), OM_ENOMEM);
	for (int i = 0; i < sent; i++) {
		om_item it;
		expect_ok(c, om_pipe_recv(b, &it, 0));
		assert_int_equal(it.s.len, sizeof chunk);
		om_item_free(&it);
	}
	expect_poll(c, b, 0, false); /* the failed batch sent nothing */
	expect_ok(c, om_pipe_send_many(a, batch, 2));
	expect_recv_int(c, b, 1);
	om_pipe_close(a);
	om_pipe_close(b);
	om_disconnect(c);
	server_stop(&s2);
}

/* Stopping the server answers a parked recv: OM_ESTOPPING, not a hang. */
static int child_recv_stopping(void *p)
{
	struct arg *x = p;
	om_item it;
	int rc = om_pipe_recv(x->a, &it, OM_FOREVER);
	return rc == OM_ESTOPPING ? 0 : 10 - rc;
}

static void test_shutdown_answers_parked(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, NULL);
	om_client *c = client(&s2);
	struct arg x = {0};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_recv_stopping, &x);
	wait_stat(c, parked, 1);
	expect_ok(c, om_shutdown(c));
	assert_int_equal(reap(pid, 10), 0);
	om_disconnect(c);
	server_stop(&s2);
}

/* -------------------------------------------------------------- bad input */

static void test_bad_input(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pipe *a, *b;
	expect_rc(c, om_pipe_open(NULL, NULL, 0, &a, &b), OM_EINVAL);
	expect_rc(c, om_pipe_open(c, NULL, 0, NULL, &b), OM_EINVAL);
	expect_rc(c, om_pipe_open(c, NULL, 0, &a, NULL), OM_EINVAL);
	expect_rc(c, om_pipe_open(c, "", OM_CREATE, &a, &b), OM_EINVAL);
	expect_rc(c, om_pipe_open(c, NULL, OM_LIFO, &a, &b), OM_EINVAL);
	expect_rc(c, om_pipe_open(c, NULL, 0x40000000, &a, &b), OM_EINVAL);
	new_pipe(c, 0, &a, &b);
	om_item it;
	bool ready;
	expect_rc(c, om_pipe_recv(a, NULL, 0), OM_EINVAL);
	expect_rc(c, om_pipe_poll(a, 0, NULL), OM_EINVAL);
	expect_rc(c, om_pipe_recv(a, &it, NAN), OM_EINVAL);
	expect_rc(c, om_pipe_poll(a, NAN, &ready), OM_EINVAL);
	om_item bad = {.kind = (om_kind)99};
	expect_rc(c, om_pipe_send(a, bad), OM_EINVAL);
	om_item mixed[] = {om_int(1), bad};
	expect_rc(c, om_pipe_send_many(a, mixed, 2), OM_EINVAL);
	expect_rc(c, om_pipe_send_many(a, NULL, 1), OM_EINVAL);
	/* A Ref to nothing this session reaches: nothing is sent. */
	om_item ghost = {.kind = OM_REF};
	ghost.ref.id = 0x123456789abcdefULL;
	ghost.ref.type = OM_TYPE_DICT;
	om_item with_ghost[] = {om_int(1), ghost};
	expect_rc(c, om_pipe_send_many(a, with_ghost, 2), OM_ENOENT);
	expect_poll(c, b, 0, false);
	/* NULL and other types' handles */
	assert_int_equal(om_pipe_send(NULL, om_int(1)), OM_EINVAL);
	assert_int_equal(om_pipe_recv(NULL, &it, 0), OM_EINVAL);
	assert_int_equal(om_pipe_poll(NULL, 0, &ready), OM_EINVAL);
	assert_int_equal(om_pipe_close(NULL), OM_EINVAL);
	om_dict *d = new_dict(c);
	assert_int_equal(om_pipe_send((om_pipe *)d, om_int(1)), OM_ETYPE);
	assert_int_equal(om_pipe_close((om_pipe *)d), OM_EINVAL);
	expect_ok(c, om_dict_set(d, om_str("still"), om_int(1))); /* open */
	size_t n;
	assert_int_equal(om_dict_len((om_dict *)a, &n), OM_ETYPE);
	om_release(d);
	/* the pipe still works after all that */
	expect_ok(c, om_pipe_send(a, om_int(8)));
	expect_recv_int(c, b, 8);
	om_pipe_close(a);
	om_pipe_close(b);
	om_disconnect(c);
}

/* The protocol by hand: OPEN answers two Refs; a pipe takes no creation
 * argument; the PIPE ops check their target's type and the timeout. */
static void test_raw(void **state)
{
	(void)state;
	int fd = raw_session();
	struct enc e;
	struct msg m;
	req(&e, 1, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(OM_TYPE_PIPE));
	arg_int(&e, 1);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	req(&e, 2, 0, OP_OPEN);
	put_uint(&e, 5, zigzag(OM_TYPE_PIPE));
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.nresults, 2);
	uint64_t a = m.ref_id;
	assert_true(a != 0);
	req(&e, 3, a, 1101); /* PIPE_RECV, timeout NaN */
	put_double(&e, 7, NAN);
	assert_int_equal(raw_call(fd, &e, &m), ST_EINVAL);
	req(&e, 4, a, 1102); /* PIPE_POLL, timeout 0 */
	assert_int_equal(raw_call(fd, &e, &m), ST_OK);
	assert_int_equal(m.f[5], 0); /* num: not ready */
	uint64_t d = raw_open(fd, 5, OM_TYPE_DICT);
	req(&e, 6, d, 1100); /* PIPE_SEND to a dict */
	arg_int(&e, 1);
	assert_int_equal(raw_call(fd, &e, &m), ST_ETYPE);
	req(&e, 7, a, OP_DICT_LEN); /* a dict op on a pipe end */
	assert_int_equal(raw_call(fd, &e, &m), ST_ETYPE);
	req(&e, 8, 0x5eed, 1101); /* an end that does not exist */
	assert_int_equal(raw_call(fd, &e, &m), ST_ENOENT);
	raw_expect_ping(fd, 9);
	raw_close(fd);
}

/* Pipe calls may be pipelined; opening one may not (its handles are
 * needed at once). */
static void test_pipelined(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_pipe *a, *b;
	new_pipe(c, 0, &a, &b);
	expect_ok(c, om_pipeline_begin(c));
	om_pipe *a2, *b2;
	expect_rc(c, om_pipe_open(c, NULL, 0, &a2, &b2), OM_EINVAL);
	om_item got[2];
	bool ready = false;
	expect_ok(c, om_pipe_send(a, om_int(1)));
	expect_ok(c, om_pipe_send(a, om_int(2)));
	expect_ok(c, om_pipe_poll(b, 0, &ready));
	expect_ok(c, om_pipe_recv(b, &got[0], 0));
	expect_ok(c, om_pipe_recv(b, &got[1], 0));
	expect_ok(c, om_pipe_recv(b, &got[1], 0)); /* nothing left */
	int rcs[6];
	expect_rc(c, om_pipeline_end(c, rcs, 6), OM_ETIMEOUT);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rcs[i], OM_OK);
	assert_int_equal(rcs[5], OM_ETIMEOUT);
	assert_true(ready);
	assert_int_item(&got[0], 1);
	assert_int_item(&got[1], 2);
	om_pipe_close(a);
	om_pipe_close(b);
	om_disconnect(c);
}

/* om_release in a child of a handle it inherited and never used gives
 * the object back at once (any type: here a dict), and leaves the
 * parent's connection alone. */
static int child_release_inherited(void *p)
{
	struct arg *x = p;
	om_release(x->d);
	if (send_byte(x->up.w))
		return 1;
	return wait_byte(x->down.r, 30) ? 2 : 0;
}

static void test_child_release_inherited(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats st0 = settle(c);
	struct arg x = {.up = chan_open(), .down = chan_open()};
	x.d = new_dict(c);
	expect_ok(c, om_dict_set(x.d, om_str("k"), om_int(1)));
	pid_t pid = spawn_child(child_release_inherited, &x);
	assert_int_equal(wait_byte(x.up.r, 10), 0);
	size_t n = 0;
	expect_ok(c, om_dict_len(x.d, &n)); /* ours still works */
	assert_int_equal(n, 1);
	om_release(x.d);
	wait_stat(c, objects, st0.objects); /* while the child lives */
	assert_int_equal(send_byte(x.down.w), 0);
	assert_int_equal(reap(pid, 10), 0);
	chan_close(&x.up);
	chan_close(&x.down);
	om_disconnect(c);
}

/* A SIGKILLed parked poller is dropped; the pipe goes on. */
static int child_poll_forever(void *p)
{
	struct arg *x = p;
	bool ready;
	if (om_pipe_poll(x->a, 0, &ready) != OM_OK || send_byte(x->up.w))
		return 1;
	om_pipe_poll(x->a, OM_FOREVER, &ready);
	return 3; /* should have been killed first */
}

static void test_killed_poller(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	wait_stat(c, parked, 0);
	struct arg x = {.up = chan_open()};
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_poll_forever, &x);
	assert_int_equal(wait_byte(x.up.r, 10), 0);
	wait_blocked(c, pid, 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid, 10), -1);
	wait_stat(c, parked, 0);
	expect_ok(c, om_pipe_send(x.b, om_int(4)));
	expect_poll(c, x.a, 10, true);
	expect_recv_int(c, x.a, 4);
	chan_close(&x.up);
	om_pipe_close(x.a);
	om_pipe_close(x.b);
	om_disconnect(c);
}

static int raw_teardown(void **state)
{
	(void)state;
	raw_close_all();
	return 0;
}

/* A grandchild lets go of an end it inherited through a child whose session
 * had adopted the fork hold without using the end: the hold names each
 * object once, so the grandchild's close is the last holder's and the
 * reader sees EOF while the grandchild still lives. */
static int grandchild_close(void *p)
{
	struct arg *x = p;
	if (om_pipe_send(x->b, om_int(42)) || om_pipe_close(x->b))
		return 1;
	om_release(x->a);
	if (send_byte(x->up.w) || wait_byte(x->down.r, 30))
		return 2;
	return 0;
}

static int child_adopts_then_forks(void *p)
{
	struct arg *x = p;
	/* A call on another handle: the child's session adopts the hold. */
	if (om_dict_set(x->d, om_str("k"), om_int(1)))
		return 1;
	pid_t g = spawn_child(grandchild_close, x);
	if (g < 0 || om_pipe_close(x->b))
		return 2;
	om_release(x->a);
	return reap(g, 60) == 0 ? 0 : 3;
}

static void test_grandchild_close(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct arg x = {.up = chan_open(), .down = chan_open()};
	x.d = new_dict(c);
	new_pipe(c, 0, &x.a, &x.b);
	pid_t pid = spawn_child(child_adopts_then_forks, &x);
	expect_ok(c, om_pipe_close(x.b));
	expect_recv_int(c, x.a, 42);
	assert_int_equal(wait_byte(x.up.r, 10), 0); /* both ends let go */
	om_item it;
	assert_int_equal(om_pipe_recv(x.a, &it, 10), OM_ECLOSED);
	assert_int_equal(send_byte(x.down.w), 0);
	assert_int_equal(reap(pid, 10), 0);
	om_pipe_close(x.a);
	om_release(x.d);
	chan_close(&x.up);
	chan_close(&x.down);
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_items),
	        cmocka_unit_test(test_order_and_send_many),
	        cmocka_unit_test(test_poll_and_eof),
	        cmocka_unit_test(test_simplex),
	        cmocka_unit_test(test_readers_each_once),
	        cmocka_unit_test(test_receivers_arrival_order),
	        cmocka_unit_test(test_killed_receiver),
	        cmocka_unit_test(test_parked_woken),
	        cmocka_unit_test(test_killed_holder),
	        cmocka_unit_test(test_parent_sees_child_exit),
	        cmocka_unit_test(test_child_sees_parent_close),
	        cmocka_unit_test(test_idle_child_holds),
	        cmocka_unit_test(test_child_disconnect),
	        cmocka_unit_test(test_named),
	        cmocka_unit_test(test_named_other_process),
	        cmocka_unit_test(test_stored_ref),
	        cmocka_unit_test(test_no_leak),
	        cmocka_unit_test(test_max_memory),
	        cmocka_unit_test(test_shutdown_answers_parked),
	        cmocka_unit_test(test_bad_input),
	        cmocka_unit_test_teardown(test_raw, raw_teardown),
	        cmocka_unit_test(test_pipelined),
	        cmocka_unit_test(test_child_release_inherited),
	        cmocka_unit_test(test_killed_poller),
	        cmocka_unit_test(test_grandchild_close),
	};
	return RUN(tests, 110, srv_setup, srv_teardown);
}
