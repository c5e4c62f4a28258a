/*
 * test_multiproc.c — several processes on one server: forked children that
 * keep using the client and handles inherited from their parent (atomic
 * dict incr, list appends, value and array adds add up exactly), a process
 * that knows only an object's name, and object lifetimes across processes:
 * a SIGKILLed child's or a normally exiting child's anonymous objects are
 * freed, stored OM_REFs keep objects (and chains of them) alive, a child's
 * om_disconnect leaves the parent's connection alone, and a child's own
 * reference keeps an object alive after the parent releases it.
 */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NCHILD = 4 };

/* ---------------------------------------------------------------- helpers */

/* Wait until objects and bytes are back to `base` (the server frees a dead
 * session's objects on its own time). */
static void expect_back_to(om_client *c, const om_server_stats *base)
{
	wait_stat(c, objects, base->objects);
	wait_stat(c, bytes, base->bytes);
}

/* ------------------------------------------------------- inherited incr */

struct incr_arg {
	om_dict *d;
	int n;
	om_item delta;
};

static int child_incr(void *p)
{
	struct incr_arg *a = p;
	for (int i = 0; i < a->n; i++)
		if (om_dict_incr(a->d, om_str("n"), a->delta, NULL) != OM_OK)
			return 1;
	return 0;
}

static void test_incr_inherited(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	/* The parent uses the client before the fork: the children must not
	 * write to this connection, only open their own. */
	expect_ok(c, om_dict_set(d, om_str("other"), om_int(1)));

	struct incr_arg a = {.d = d, .n = 5000, .delta = om_int(1)};
	pid_t pids[NCHILD];
	for (int i = 0; i < NCHILD; i++)
		pids[i] = spawn_child(child_incr, &a);
	reap_all(pids, NCHILD);
	om_item v;
	expect_ok(c, om_dict_get(d, om_str("n"), &v));
	assert_int_item(&v, NCHILD * 5000);
	om_item_free(&v);

	/* floats: 0.5 is exact, so the sum is exactly 2000.0 */
	struct incr_arg f = {.d = d, .n = 1000, .delta = om_float(0.5)};
	expect_ok(c, om_dict_del(d, om_str("n")));
	for (int i = 0; i < NCHILD; i++)
		pids[i] = spawn_child(child_incr, &f);
	reap_all(pids, NCHILD);
	expect_ok(c, om_dict_get(d, om_str("n"), &v));
	assert_float_item(&v, 2000.0);
	om_item_free(&v);

	/* the parent's connection is intact */
	expect_ok(c, om_ping(c));
	expect_ok(c, om_dict_get(d, om_str("other"), &v));
	assert_int_equal(v.i, 1);
	om_release(d);
	om_disconnect(c);
}

/* ------------------------------------------------- several handle types */

enum { NAPPEND = 500, NADD = 1000 };

struct types_arg {
	om_dict *d;
	om_list *l;
	om_value *v;
	om_array *a;
	int who;
};

static int child_types(void *p)
{
	struct types_arg *a = p;
	char key[16];
	snprintf(key, sizeof key, "child%d", a->who);
	if (om_dict_set(a->d, om_str(key), om_int(a->who)) != OM_OK)
		return 1;
	for (int i = 0; i < NAPPEND; i++)
		if (om_list_append(a->l, om_int(a->who * 100000 + i)) != OM_OK)
			return 2;
	for (int i = 0; i < NADD; i++) {
		if (om_value_add(a->v, om_int(1), NULL) != OM_OK)
			return 3;
		if (om_array_add(a->a, (size_t)a->who, om_int(1), NULL) !=
		    OM_OK)
			return 4;
		if (om_array_add(a->a, NCHILD, om_float(0.25), NULL) != OM_OK)
			return 5;
	}
	return 0;
}

static void test_types_inherited(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct types_arg args[NCHILD];
	om_dict *d;
	om_list *l;
	om_value *v;
	om_array *a;
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_value_open(c, NULL, 0, om_int(0), &v));
	expect_ok(c, om_array_open(c, NULL, 0, OM_FLOAT, NCHILD + 1, &a));
	pid_t pids[NCHILD];
	for (int i = 0; i < NCHILD; i++) {
		args[i] = (struct types_arg){d, l, v, a, i};
		pids[i] = spawn_child(child_types, &args[i]);
	}
	reap_all(pids, NCHILD);

	size_t n;
	expect_ok(c, om_dict_len(d, &n));
	assert_int_equal(n, NCHILD);
	for (int i = 0; i < NCHILD; i++) {
		char key[16];
		snprintf(key, sizeof key, "child%d", i);
		om_item it;
		expect_ok(c, om_dict_get(d, om_str(key), &it));
		assert_int_equal(it.i, i);
	}

	/* every child's values exactly once, each child's in its order */
	expect_ok(c, om_list_len(l, &n));
	assert_int_equal(n, NCHILD * NAPPEND);
	om_items all;
	expect_ok(c, om_list_slice(l, 0, INT64_MAX, &all));
	assert_int_equal(all.n, NCHILD * NAPPEND);
	int next[NCHILD] = {0};
	for (size_t i = 0; i < all.n; i++) {
		assert_int_equal(all.v[i].kind, OM_INT);
		int64_t who = all.v[i].i / 100000, k = all.v[i].i % 100000;
		assert_true(who >= 0 && who < NCHILD);
		assert_int_equal(k, next[who]);
		next[who]++;
	}
	for (int i = 0; i < NCHILD; i++)
		assert_int_equal(next[i], NAPPEND);
	om_items_free(&all);

	om_item it;
	expect_ok(c, om_value_get(v, &it));
	assert_int_item(&it, NCHILD * NADD);
	om_items cells;
	expect_ok(c, om_array_read(a, 0, NCHILD + 1, &cells));
	for (int i = 0; i < NCHILD; i++) {
		assert_float_item(&cells.v[i], NADD);
	}
	assert_true(cells.v[NCHILD].f == NCHILD * NADD * 0.25);
	om_items_free(&cells);
	om_release(d);
	om_release(l);
	om_release(v);
	om_release(a);
	om_disconnect(c);
}

/* ---------------------------------------------------- by name, no fork */

static int child_by_name(void *p)
{
	(void)p;
	/* Only the name: a connection of its own, no inherited handle. */
	om_client *c = NULL;
	if (om_connect(srv.path, &c) != OM_OK)
		return 1;
	om_dict *d;
	if (om_dict_open(c, "mp.byname", 0, &d) != OM_OK)
		return 2;
	om_item v;
	if (om_dict_get(d, om_str("from-parent"), &v) != OM_OK)
		return 3;
	int ok = v.kind == OM_STR && strcmp(v.s.ptr, "hello") == 0;
	om_item_free(&v);
	if (!ok)
		return 4;
	if (om_dict_set(d, om_str("from-child"), om_int(getpid())) != OM_OK)
		return 5;
	om_release(d);
	om_disconnect(c);
	return 0;
}

static void test_by_name(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, "mp.byname", OM_CREATE | OM_EXCL, &d));
	expect_ok(c, om_dict_set(d, om_str("from-parent"), om_str("hello")));
	pid_t pid = spawn_child(child_by_name, NULL);
	assert_int_equal(reap(pid, 60), 0);
	om_item v;
	expect_ok(c, om_dict_get(d, om_str("from-child"), &v));
	assert_int_item(&v, pid);
	size_t n;
	expect_ok(c, om_dict_len(d, &n));
	assert_int_equal(n, 2);
	om_release(d);
	expect_ok(c, om_unlink(c, "mp.byname"));
	om_disconnect(c);
}

/* -------------------------------------------- a killed child's objects */

enum { NHOARD = 50 };

struct hoard_arg {
	om_client *inherited; /* NULL: the child connects on its own */
	om_dict *keep;        /* the parent's object, also used (may be NULL) */
	int ready;            /* write end of the readiness pipe */
};

/* Create NHOARD anonymous objects holding data, say so, then wait to be
 * killed (or, with wait == 0, return: a normal exit without disconnect). */
static int hoard(struct hoard_arg *a, bool wait)
{
	om_client *c = a->inherited;
	if (!c && om_connect(srv.path, &c) != OM_OK)
		return 1;
	if (a->keep && om_dict_set(a->keep, om_int(99), om_int(7)) != OM_OK)
		return 2;
	for (int i = 0; i < NHOARD; i++) {
		char s[64];
		snprintf(s, sizeof s, "item %d of the child's hoard", i);
		if (i % 2) {
			om_dict *d;
			if (om_dict_open(c, NULL, 0, &d) ||
			    om_dict_set(d, om_str(s), om_str(s)))
				return 3;
		} else {
			om_list *l;
			if (om_list_open(c, NULL, 0, &l) ||
			    om_list_append(l, om_str(s)) ||
			    om_list_append(l, om_int(i)))
				return 4;
		}
	}
	if (send_byte(a->ready))
		return 5;
	while (wait)
		pause(); /* until SIGKILL (spawn_child's alarm bounds it) */
	return 0; /* no om_release, no om_disconnect */
}

static int child_hoard_wait(void *p)
{
	return hoard(p, true);
}

static int child_hoard_exit(void *p)
{
	return hoard(p, false);
}

static void hoard_case(bool inherited, bool killed)
{
	om_client *c = client(&srv);
	om_dict *keep = new_dict(c);
	expect_ok(c, om_dict_set(keep, om_str("parent"), om_str("data")));
	om_server_stats base = settle(c);
	om_server_stats st;

	int p[2];
	assert_int_equal(pipe(p), 0);
	struct hoard_arg a = {inherited ? c : NULL, inherited ? keep : NULL,
	                      p[1]};
	pid_t pid = spawn_child(killed ? child_hoard_wait : child_hoard_exit,
	                        &a);
	close(p[1]);
	int ready = wait_byte(p[0], 30);
	close(p[0]);
	if (ready) {
		print_error("child did not get ready: exit %d\n",
		            reap(pid, 1));
		fail();
	}
	if (killed) {
		/* all the child's objects exist while it lives */
		expect_ok(c, om_stats(c, &st));
		assert_int_equal(st.objects, base.objects + NHOARD);
		assert_true(st.bytes > base.bytes);
		assert_int_equal(st.connections, 2);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(reap(pid, 10), -1); /* killed by a signal */
	} else {
		assert_int_equal(reap(pid, 60), 0);
	}
	expect_back_to(c, &base);

	/* the parent's object outlives the child's reference on it */
	om_item v;
	expect_ok(c, om_dict_get(keep, om_str("parent"), &v));
	assert_string_equal(v.s.ptr, "data");
	om_item_free(&v);
	if (inherited) {
		expect_ok(c, om_dict_get(keep, om_int(99), &v));
		assert_int_equal(v.i, 7);
	}
	om_release(keep);
	om_disconnect(c);
}

static void test_killed_child_own_client(void **state)
{
	(void)state;
	hoard_case(false, true);
}

static void test_killed_child_inherited_client(void **state)
{
	(void)state;
	hoard_case(true, true);
}

static void test_exited_child_own_client(void **state)
{
	(void)state;
	hoard_case(false, false);
}

static void test_exited_child_inherited_client(void **state)
{
	(void)state;
	hoard_case(true, false);
}

/* ------------------------------------------------------- nested refs */

static void test_nested_ref(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_server_stats st;
	om_dict *d;
	om_list *l;
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_list_append(l, om_str("inside")));
	expect_ok(c, om_dict_set(d, om_str("l"), om_ref(l)));
	om_release(l); /* no handle on the list: the dict keeps it */
	expect_ok(c, om_stats(c, &st));
	assert_int_equal(st.objects, base.objects + 2);

	om_item ref;
	expect_ok(c, om_dict_get(d, om_str("l"), &ref));
	assert_int_equal(ref.kind, OM_REF);
	void *h;
	expect_ok(c, om_open_ref(c, &ref, &h));
	om_item v;
	expect_ok(c, om_list_get(h, 0, &v));
	assert_string_equal(v.s.ptr, "inside");
	om_item_free(&v);
	om_release(h);
	expect_ok(c, om_stats(c, &st));
	assert_int_equal(st.objects, base.objects + 2);

	/* the last handle on the dict goes: the list goes with it */
	om_release(d);
	expect_back_to(c, &base);
	expect_rc(c, om_open_ref(c, &ref, &h), OM_ENOENT);
	om_item_free(&ref);
	om_disconnect(c);
}

static void test_nested_chain(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_server_stats st;
	om_dict *d;
	om_list *l;
	om_value *v;
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_value_open(c, NULL, 0, om_str("the end of the chain"),
	                           &v));
	expect_ok(c, om_list_append(l, om_ref(v)));
	expect_ok(c, om_dict_set(d, om_str("l"), om_ref(l)));
	om_release(v);
	om_release(l);
	expect_ok(c, om_stats(c, &st));
	assert_int_equal(st.objects, base.objects + 3);

	/* walk the chain from the dict down to the value */
	om_item r1, r2, it;
	void *hl, *hv;
	expect_ok(c, om_dict_get(d, om_str("l"), &r1));
	expect_ok(c, om_open_ref(c, &r1, &hl));
	expect_ok(c, om_list_get(hl, 0, &r2));
	assert_int_equal(r2.kind, OM_REF);
	assert_int_equal(r2.ref.type, OM_TYPE_VALUE);
	expect_ok(c, om_open_ref(c, &r2, &hv));
	expect_ok(c, om_value_get(hv, &it));
	assert_string_equal(it.s.ptr, "the end of the chain");
	om_item_free(&it);
	om_release(hl);
	om_release(hv);

	om_release(d); /* the whole chain goes */
	expect_back_to(c, &base);
	expect_rc(c, om_open_ref(c, &r1, &hl), OM_ENOENT);
	expect_rc(c, om_open_ref(c, &r2, &hv), OM_ENOENT);
	om_item_free(&r1);
	om_item_free(&r2);
	om_disconnect(c);
}

/* A child stores a ref to its own anonymous list in the parent's dict and
 * exits: the stored ref keeps the list alive after the child's session. */
static int child_store_ref(void *p)
{
	(void)p;
	om_client *c;
	if (om_connect(srv.path, &c) != OM_OK)
		return 1;
	om_dict *d;
	om_list *l;
	if (om_dict_open(c, "mp.nested", 0, &d) ||
	    om_list_open(c, NULL, 0, &l) ||
	    om_list_append(l, om_str("made by the child")) ||
	    om_dict_set(d, om_str("l"), om_ref(l)))
		return 2;
	return 0; /* exit without releasing or disconnecting */
}

static void test_nested_ref_across_processes(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_server_stats st;
	om_dict *d;
	expect_ok(c, om_dict_open(c, "mp.nested", OM_CREATE, &d));
	pid_t pid = spawn_child(child_store_ref, NULL);
	assert_int_equal(reap(pid, 60), 0);
	st = settle(c); /* the child's session is over */
	assert_int_equal(st.objects, base.objects + 2);
	om_item ref;
	expect_ok(c, om_dict_get(d, om_str("l"), &ref));
	void *h;
	expect_ok(c, om_open_ref(c, &ref, &h));
	om_item v;
	expect_ok(c, om_list_get(h, 0, &v));
	assert_string_equal(v.s.ptr, "made by the child");
	om_item_free(&v);
	om_item_free(&ref);
	om_release(h);
	/* the name goes, then the handle: dict and list are freed */
	expect_ok(c, om_unlink(c, "mp.nested"));
	om_release(d);
	expect_back_to(c, &base);
	om_disconnect(c);
}

/* ------------------------------------------------ om_disconnect in a child */

struct disc_arg {
	om_client *c;
	om_dict *d;
	bool use_first;
};

static int child_disconnect(void *p)
{
	struct disc_arg *a = p;
	if (a->use_first &&
	    om_dict_set(a->d, om_str("child"), om_int(getpid())) != OM_OK)
		return 1;
	om_disconnect(a->c);
	return 0;
}

static void test_child_disconnect(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("parent"), om_int(1)));
	om_server_stats base = settle(c);
	om_server_stats st;
	for (int use = 0; use < 2; use++) {
		struct disc_arg a = {c, d, use == 1};
		pid_t pid = spawn_child(child_disconnect, &a);
		assert_int_equal(reap(pid, 60), 0);
		/* the parent keeps working, on the same connection */
		expect_ok(c, om_ping(c));
		expect_ok(c, om_dict_set(d, om_str("after"), om_int(use)));
		om_item v;
		expect_ok(c, om_dict_get(d, om_str("parent"), &v));
		assert_int_equal(v.i, 1);
		if (use) {
			expect_ok(c, om_dict_get(d, om_str("child"), &v));
			assert_int_equal(v.i, pid);
		}
		st = settle(c);
		assert_int_equal(st.objects, base.objects);
	}
	om_release(d);
	om_disconnect(c);
}

/* ------------------------------- the parent releases, the child goes on */

struct relay_arg {
	om_list *l;
	int to_parent, from_parent;
};

static int child_outlives(void *p)
{
	struct relay_arg *a = p;
	if (om_list_append(a->l, om_str("child 1")) != OM_OK)
		return 1;
	if (send_byte(a->to_parent) || wait_byte(a->from_parent, 30))
		return 2;
	/* the parent has released its handle: ours keeps the list alive */
	size_t n;
	if (om_list_len(a->l, &n) != OM_OK || n != 2)
		return 3;
	om_item v;
	if (om_list_get(a->l, 0, &v) != OM_OK)
		return 4;
	int ok = v.kind == OM_STR && strcmp(v.s.ptr, "parent") == 0;
	om_item_free(&v);
	if (!ok)
		return 5;
	if (om_list_append(a->l, om_str("child 2")) != OM_OK)
		return 6;
	if (om_list_len(a->l, &n) != OM_OK || n != 3)
		return 7;
	om_release(a->l);
	return 0;
}

static void test_child_keeps_released(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_server_stats st = {0};
	om_list *l = new_list(c);
	expect_ok(c, om_list_append(l, om_str("parent")));
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	struct relay_arg a = {l, up[1], down[0]};
	pid_t pid = spawn_child(child_outlives, &a);
	close(up[1]);
	close(down[0]);
	int got = wait_byte(up[0], 30);
	if (got == 0) {
		om_release(l);
		expect_ok(c, om_stats(c, &st));
		/* still alive: the child holds a reference */
		if (st.objects != base.objects + 1)
			got = -1;
	}
	int sent = send_byte(down[1]);
	close(up[0]);
	close(down[1]);
	int status = reap(pid, 60);
	assert_int_equal(got, 0);
	assert_int_equal(sent, 0);
	assert_int_equal(status, 0);
	assert_int_equal(st.objects, base.objects + 1);
	expect_back_to(c, &base); /* the child's session ended: freed */
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incr_inherited),
		cmocka_unit_test(test_types_inherited),
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_killed_child_own_client),
		cmocka_unit_test(test_killed_child_inherited_client),
		cmocka_unit_test(test_exited_child_own_client),
		cmocka_unit_test(test_exited_child_inherited_client),
		cmocka_unit_test(test_nested_ref),
		cmocka_unit_test(test_nested_chain),
		cmocka_unit_test(test_nested_ref_across_processes),
		cmocka_unit_test(test_child_disconnect),
		cmocka_unit_test(test_child_keeps_released),
	};
	return RUN(tests, 110, srv_setup, srv_teardown);
}
