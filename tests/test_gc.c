/*
 * test_gc.c — the cycle collector (server/gc.c). Anonymous objects that
 * only keep each other alive through stored refs are freed once nothing
 * else refers to them: a dict storing itself, two dicts storing each other,
 * a ring of 100 dicts and lists, a cycle through a list, a value and a
 * queue's item, a cycle left behind by a connection that closed, and a
 * condition and its lock hanging off a cycle. Each time om_stats comes back
 * to its baseline: objects and bytes.
 *
 * Reachable cycles are untouched by a collection: one held by a name, by
 * another connection's handle, from a named dict, by a parked put's item,
 * or taken out of a dict and not yet opened; and a lock referenced only by
 * its condition. collect() makes a collection happen and waits until it
 * has: it drops an unrelated cycle and waits for it to be freed. Then the
 * reachable objects' contents are checked, and they are let go and freed.
 *
 * Nothing here waits for time to pass: every wait is on server state.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

static om_server_stats stats(om_client *c)
{
	om_server_stats st;
	expect_ok(c, om_stats(c, &st));
	return st;
}

/* Objects and bytes back where they were. */
static void back_to(om_client *c, const om_server_stats *base)
{
	wait_stat(c, objects, base->objects);
	wait_stat(c, bytes, base->bytes);
}

/* A garbage cycle of its own is collected: so a collection has run since
 * this was called, with everything else the test built alive. */
static void collect(om_client *c)
{
	uint64_t before = stats(c).objects;
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("me"), om_ref(d)));
	assert_int_equal(stats(c).objects, before + 1);
	om_release(d);
	wait_stat(c, objects, before);
}

/* d[key] must be the str s. */
static void dict_has_str(om_client *c, om_dict *d, const char *key,
                         const char *s)
{
	om_item it;
	expect_ok(c, om_dict_get(d, om_str(key), &it));
	assert_str_item(&it, s);
	om_item_free(&it);
}

/* d[key] must be a ref to the object of `handle`. */
static void dict_has_ref(om_client *c, om_dict *d, const char *key,
                         const void *handle)
{
	om_item it, want = om_ref(handle);
	expect_ok(c, om_dict_get(d, om_str(key), &it));
	assert_int_equal(it.kind, OM_REF);
	assert_int_equal(it.ref.id, want.ref.id);
	assert_int_equal(it.ref.type, want.ref.type);
}

/* A new handle on the dict that d[key] refers to. */
static om_dict *open_dict_at(om_client *c, om_dict *d, const char *key)
{
	om_item it;
	void *h;
	expect_ok(c, om_dict_get(d, om_str(key), &it));
	assert_int_equal(it.kind, OM_REF);
	assert_int_equal(it.ref.type, OM_TYPE_DICT);
	expect_ok(c, om_open_ref(c, &it, &h));
	return h;
}

/* Two dicts that store each other (and a payload each): *a and *b. */
static void make_pair(om_client *c, om_dict **a, om_dict **b)
{
	*a = new_dict(c);
	*b = new_dict(c);
	expect_ok(c, om_dict_set(*a, om_str("other"), om_ref(*b)));
	expect_ok(c, om_dict_set(*b, om_str("other"), om_ref(*a)));
	expect_ok(c, om_dict_set(*a, om_str("name"), om_str("a")));
	expect_ok(c, om_dict_set(*b, om_str("name"), om_str("b")));
}

/* The pair a <-> b (make_pair) is intact, seen from a. */
static void pair_intact(om_client *c, om_dict *a)
{
	dict_has_str(c, a, "name", "a");
	om_dict *b = open_dict_at(c, a, "other");
	dict_has_str(c, b, "name", "b");
	dict_has_ref(c, b, "other", a);
	om_release(b);
}

/* --------------------------------------------------------------- garbage */

static void test_self_cycle(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("self"), om_ref(d)));
	expect_ok(c, om_dict_set(d, om_str("payload"), om_str("some bytes")));
	assert_true(stats(c).bytes > base.bytes);
	om_release(d);
	back_to(c, &base);
	om_disconnect(c);
}

static void test_two_cycle(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_dict *a, *b;
	make_pair(c, &a, &b);
	assert_int_equal(stats(c).objects, base.objects + 2);
	om_release(a);
	om_release(b);
	back_to(c, &base);
	om_disconnect(c);
}

/* A ring of 100: dicts and lists alternately, each storing the next (a
 * ref as a dict's key on every fourth), with a payload. */
static void test_ring_100(void **state)
{
	(void)state;
	enum { N = 100 };
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	void *h[N];
	for (int i = 0; i < N; i++) {
		if (i % 2 == 0) {
			h[i] = new_dict(c);
		} else {
			h[i] = new_list(c);
		}
	}
	for (int i = 0; i < N; i++) {
		om_item next = om_ref(h[(i + 1) % N]);
		char payload[32];
		snprintf(payload, sizeof payload, "object %d", i);
		if (i % 2 == 1) {
			expect_ok(c, om_list_append(h[i], om_str(payload)));
			expect_ok(c, om_list_append(h[i], next));
		} else if (i % 4 == 0) {
			expect_ok(c, om_dict_set(h[i], next, om_str(payload)));
		} else {
			expect_ok(c, om_dict_set(h[i], om_str(payload), next));
		}
	}
	assert_int_equal(stats(c).objects, base.objects + N);
	for (int i = 0; i < N; i++)
		om_release(h[i]);
	back_to(c, &base);
	om_disconnect(c);
}

/* list -> value -> queue (an item in it) -> list. */
static void test_list_value_queue(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_list *l = new_list(c);
	om_queue *q = new_queue(c, 0);
	om_value *v;
	expect_ok(c, om_value_open(c, NULL, 0, om_ref(q), &v));
	expect_ok(c, om_list_append(l, om_ref(v)));
	expect_ok(c, om_queue_put(q, om_str("before"), 0));
	expect_ok(c, om_queue_put(q, om_ref(l), 0));
	assert_int_equal(stats(c).objects, base.objects + 3);
	om_release(l);
	om_release(v);
	om_release(q);
	back_to(c, &base);
	om_disconnect(c);
}

/* A connection that ends without releasing leaves its cycles behind. */
static void test_cycles_after_close(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_client *c2 = client(&srv);
	om_dict *a, *b;
	make_pair(c2, &a, &b);
	om_dict *s = new_dict(c2);
	expect_ok(c2, om_dict_set(s, om_str("self"), om_ref(s)));
	om_list *l = new_list(c2);
	expect_ok(c2, om_list_append(l, om_ref(l)));
	expect_ok(c2, om_list_append(l, om_ref(a)));
	assert_int_equal(stats(c).objects, base.objects + 4);
	om_disconnect(c2);
	back_to(c, &base);
	om_disconnect(c);
}

/* A condition and its lock, hanging off a cycle: all three go. */
static void test_cond_off_cycle(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_lock *lk;
	om_cond *cv;
	expect_ok(c, om_lock_open(c, NULL, 0, &lk));
	expect_ok(c, om_cond_open(c, NULL, 0, lk, &cv));
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("self"), om_ref(d)));
	expect_ok(c, om_dict_set(d, om_str("cond"), om_ref(cv)));
	om_release(lk);
	om_release(cv);
	om_release(d);
	back_to(c, &base);
	om_disconnect(c);
}

/* ------------------------------------------------------------- reachable */

static void test_named_cycle_survives(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_dict *a, *b;
	make_pair(c, &a, &b);
	om_dict *n;
	expect_ok(c, om_dict_open(c, "gc-named", OM_CREATE | OM_EXCL, &n));
	expect_ok(c, om_dict_set(n, om_str("self"), om_ref(n)));
	expect_ok(c, om_dict_set(n, om_str("name"), om_str("named")));
	/* The pair is held only by the named dict's stored ref to a. */
	expect_ok(c, om_dict_set(n, om_str("pair"), om_ref(a)));
	om_release(a);
	om_release(b);
	om_release(n);
	collect(c);
	assert_int_equal(stats(c).objects, base.objects + 3);
	expect_ok(c, om_dict_open(c, "gc-named", 0, &n));
	dict_has_str(c, n, "name", "named");
	dict_has_ref(c, n, "self", n);
	a = open_dict_at(c, n, "pair");
	pair_intact(c, a);
	om_release(a);
	/* Cut the pair off: it alone goes. */
	expect_ok(c, om_dict_del(n, om_str("pair")));
	wait_stat(c, objects, base.objects + 1);
	dict_has_str(c, n, "name", "named");
	expect_ok(c, om_unlink(c, "gc-named"));
	om_release(n);
	back_to(c, &base);
	om_disconnect(c);
}

/* Held by another connection's handle only. */
static void test_other_conn_handle(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_client *c2 = client(&srv);
	om_dict *a, *b;
	make_pair(c, &a, &b);
	om_dict *a2 = share(c, a, c2);
	om_release(a);
	om_release(b);
	collect(c);
	assert_int_equal(stats(c).objects, base.objects + 2);
	pair_intact(c2, a2);
	om_release(a2);
	back_to(c, &base);
	om_disconnect(c2);
	om_disconnect(c);
}

/* A lock that only its condition refers to lives as long as the
 * condition, which a handle holds. */
static void test_cond_lock_survives(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_lock *lk;
	om_cond *cv;
	expect_ok(c, om_lock_open(c, NULL, 0, &lk));
	expect_ok(c, om_cond_open(c, NULL, 0, lk, &cv));
	om_release(lk);
	collect(c);
	assert_int_equal(stats(c).objects, base.objects + 2);
	expect_ok(c, om_cond_acquire(cv, 0));
	expect_ok(c, om_cond_notify_all(cv));
	expect_ok(c, om_cond_release(cv));
	om_release(cv);
	back_to(c, &base);
	om_disconnect(c);
}

struct put_arg {
	om_queue *q;
	om_item ref;
};

/* Connects (the size), then parks a put of a->ref on the full queue. */
static int child_put_ref(void *arg)
{
	struct put_arg *a = arg;
	size_t n;
	if (om_queue_size(a->q, &n) != OM_OK || n != 1)
		return 2;
	return om_queue_put(a->q, a->ref, 30) == OM_OK ? 0 : 3;
}

/* A parked put's item is a root: the pair it names survives until the
 * item is in the queue and taken out again. */
static void test_parked_put_root(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_queue *q = new_queue(c, 1);
	expect_ok(c, om_queue_put(q, om_str("filler"), 0));
	om_dict *a, *b;
	make_pair(c, &a, &b);
	struct put_arg arg = {q, om_ref(a)};
	pid_t pid = spawn_child(child_put_ref, &arg);
	wait_stat(c, parked, 1);
	om_release(a);
	om_release(b);
	collect(c);
	assert_int_equal(stats(c).objects, base.objects + 3);
	om_item it;
	expect_ok(c, om_queue_get(q, &it, 0));
	assert_str_item(&it, "filler");
	om_item_free(&it);
	assert_int_equal(reap(pid, 30), 0);
	expect_ok(c, om_queue_get(q, &it, 0));
	assert_int_equal(it.kind, OM_REF);
	void *h;
	expect_ok(c, om_open_ref(c, &it, &h));
	a = h;
	pair_intact(c, a);
	om_release(a);
	om_release(q);
	back_to(c, &base);
	om_disconnect(c);
}

/* A ref popped out of a dict and not yet opened is the connection's
 * (taken): what it names survives until the client opens it. */
static void test_taken_ref_survives(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_dict *a, *b;
	make_pair(c, &a, &b);
	om_dict *holder = new_dict(c);
	expect_ok(c, om_dict_set(holder, om_str("pair"), om_ref(a)));
	om_release(a);
	om_release(b);
	om_item it;
	expect_ok(c, om_dict_pop(holder, om_str("pair"), &it));
	om_release(holder);
	collect(c);
	assert_int_equal(stats(c).objects, base.objects + 2);
	void *h;
	expect_ok(c, om_open_ref(c, &it, &h));
	a = h;
	pair_intact(c, a);
	om_release(a);
	back_to(c, &base);
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_self_cycle),
	        cmocka_unit_test(test_two_cycle),
	        cmocka_unit_test(test_ring_100),
	        cmocka_unit_test(test_list_value_queue),
	        cmocka_unit_test(test_cycles_after_close),
	        cmocka_unit_test(test_cond_off_cycle),
	        cmocka_unit_test(test_named_cycle_survives),
	        cmocka_unit_test(test_other_conn_handle),
	        cmocka_unit_test(test_cond_lock_survives),
	        cmocka_unit_test(test_parked_put_root),
	        cmocka_unit_test(test_taken_ref_survives),
	};
	return RUN(tests, 60, srv_setup, srv_teardown);
}
