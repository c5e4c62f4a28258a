/*
 * test_basic.c — connecting, ping, stats, errors of the connection calls,
 * object naming (OM_CREATE, OM_EXCL, ENOENT, ETYPE, unlink), om_open_ref,
 * released handles, and om_spawn.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_ping_stats(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	expect_ok(c, om_ping(c));
	om_server_stats st;
	expect_ok(c, om_stats(c, &st));
	assert_true(st.connections >= 1);
	assert_int_equal(om_stats(c, NULL), OM_EINVAL);
	assert_int_equal(om_ping(NULL), OM_EINVAL);
	om_disconnect(c);
}

static void test_connect_errors(void **state)
{
	(void)state;
	om_client *c = NULL;
	assert_int_equal(om_connect("/nonexistent/dir/s.sock", &c), OM_ECONN);
	assert_null(c);
	/* TCP needs a key (test_remote has the rest); bad addresses */
	unsetenv("OBJMGR_AUTHKEY_FILE");
	assert_int_equal(om_connect("tcp:localhost:1", &c), OM_EAUTH);
	assert_int_equal(om_connect("tcp:localhost", &c), OM_EINVAL);
	assert_int_equal(om_connect("tcp:localhost:65536", &c), OM_EINVAL);
	assert_int_equal(om_connect("tcp::1:5", &c), OM_EINVAL);
	assert_int_equal(om_connect("tcp:[::1:5", &c), OM_EINVAL);
	assert_int_equal(om_connect("tcp::5", &c), OM_EINVAL);
	assert_int_equal(om_connect("tcp:h:5x", &c), OM_EINVAL);
	assert_int_equal(om_connect("http://x", &c), OM_EINVAL);
	assert_null(c);
	assert_int_equal(om_connect(srv.path, NULL), OM_EINVAL);
	char longp[200];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	assert_int_equal(om_connect(longp, &c), OM_EINVAL);
	/* unix: prefix */
	char addr[400];
	snprintf(addr, sizeof addr, "unix:%s", srv.path);
	expect_ok(NULL, om_connect(addr, &c));
	om_disconnect(c);
	/* the default address from $OBJMGR_ADDRESS */
	setenv("OBJMGR_ADDRESS", srv.path, 1);
	expect_ok(NULL, om_connect(NULL, &c));
	unsetenv("OBJMGR_ADDRESS");
	om_disconnect(c);
	om_disconnect(NULL); /* allowed */
}

static void test_names(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d = NULL, *d2 = NULL;
	expect_rc(c, om_dict_open(c, "basic.names", 0, &d), OM_ENOENT);
	expect_ok(c, om_dict_open(c, "basic.names", OM_CREATE, &d));
	expect_rc(c, om_dict_open(c, "basic.names", OM_CREATE | OM_EXCL, &d2),
	          OM_EEXIST);
	expect_rc(c, om_dict_open(c, "basic.names", OM_EXCL, &d2), OM_EINVAL);
	expect_ok(c, om_dict_open(c, "basic.names", 0, &d2));
	expect_ok(c, om_dict_set(d, om_str("k"), om_int(7)));
	om_item v;
	expect_ok(c, om_dict_get(d2, om_str("k"), &v));
	assert_int_equal(v.i, 7);
	om_list *l = NULL;
	expect_rc(c, om_list_open(c, "basic.names", 0, &l), OM_ETYPE);
	expect_rc(c, om_list_open(c, "basic.names", OM_CREATE, &l), OM_ETYPE);
	expect_rc(c, om_dict_open(c, "", OM_CREATE, &d2), OM_EINVAL);
	expect_rc(c, om_dict_open(c, "x", 0x10000, &d2), OM_EINVAL);
	expect_rc(c, om_dict_open(c, NULL, 0, NULL), OM_EINVAL);

	/* unlink: the name goes, handles keep working, then the object dies */
	om_server_stats st0, st1;
	expect_ok(c, om_stats(c, &st0));
	expect_ok(c, om_unlink(c, "basic.names"));
	expect_rc(c, om_unlink(c, "basic.names"), OM_ENOENT);
	expect_rc(c, om_unlink(c, ""), OM_EINVAL);
	expect_ok(c, om_dict_get(d, om_str("k"), &v));
	om_release(d);
	om_release(d2);
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects - 1);
	expect_rc(c, om_dict_open(c, "basic.names", 0, &d), OM_ENOENT);
	om_disconnect(c);
}

/* Every type refuses at OPEN the flags that mean nothing to it, and every
 * flag bit that means nothing at all; the flags it takes work. */
static void test_open_flags(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	const int unknown = 0x80;
	om_dict *d, *d2;
	om_list *l;
	om_value *v;
	om_array *a;
	om_queue *q;
	om_lock *lk;
	om_sem *s;
	om_cond *cv;
	om_event *e;
	om_barrier *b;
	const int not_dict = OM_LIFO | OM_PRIORITY | OM_JOINABLE |
	                     OM_RECURSIVE | OM_BOUNDED | unknown;
	for (int f = OM_LIFO; f <= unknown; f <<= 1) {
		if (!(not_dict & f))
			continue;
		expect_rc(c, om_dict_open(c, NULL, f, &d), OM_EINVAL);
		expect_rc(c, om_list_open(c, NULL, f, &l), OM_EINVAL);
		expect_rc(c, om_value_open(c, NULL, f, om_int(0), &v),
		          OM_EINVAL);
		expect_rc(c, om_array_open(c, NULL, f, OM_INT, 1, &a),
		          OM_EINVAL);
		expect_rc(c, om_event_open(c, NULL, f, &e), OM_EINVAL);
		expect_rc(c, om_barrier_open(c, NULL, f, 1, &b), OM_EINVAL);
		if (f != OM_LIFO && f != OM_PRIORITY && f != OM_JOINABLE)
			expect_rc(c, om_queue_open(c, NULL, f, 0, &q),
			          OM_EINVAL);
		if (f != OM_RECURSIVE) {
			expect_rc(c, om_lock_open(c, NULL, f, &lk), OM_EINVAL);
			expect_rc(c, om_cond_open(c, NULL, f, NULL, &cv),
			          OM_EINVAL);
		}
		if (f != OM_BOUNDED)
			expect_rc(c, om_sem_open(c, NULL, f, 1, &s), OM_EINVAL);
	}
	/* Refused for a named object that exists, too. */
	expect_ok(c, om_dict_open(c, "basic.flags", OM_CREATE, &d));
	expect_rc(c, om_dict_open(c, "basic.flags", OM_LIFO, &d2), OM_EINVAL);
	assert_non_null(strstr(om_errmsg(c), "not valid for a dict"));
	expect_ok(c, om_unlink(c, "basic.flags"));
	om_release(d);
	/* The flags each type takes. */
	expect_ok(c, om_queue_open(c, NULL, OM_LIFO | OM_JOINABLE, 0, &q));
	expect_ok(c, om_lock_open(c, NULL, OM_RECURSIVE, &lk));
	expect_ok(c, om_cond_open(c, NULL, OM_RECURSIVE, NULL, &cv));
	expect_ok(c, om_sem_open(c, NULL, OM_BOUNDED, 1, &s));
	om_disconnect(c);
}

static void test_released_handle(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	om_release(d);
	size_t n;
	assert_int_equal(om_dict_len(d, &n), OM_EINVAL);
	assert_int_equal(om_dict_set(d, om_int(1), om_int(1)), OM_EINVAL);
	assert_int_equal(om_dict_len(NULL, &n), OM_EINVAL);
	assert_int_equal(om_dict_len((om_dict *)(uintptr_t)0x12345, &n),
	                 OM_EINVAL);
	om_release(d);    /* twice: ignored */
	om_release(NULL); /* allowed */
	/* a list handle passed as a dict is a type error */
	om_list *l;
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	assert_int_equal(om_dict_len((om_dict *)l, &n), OM_ETYPE);
	om_release(l);
	om_disconnect(c);
}

static void test_open_ref(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_dict *d;
	om_list *l;
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	expect_ok(c, om_list_open(c, NULL, 0, &l));
	expect_ok(c, om_list_append(l, om_int(42)));
	expect_ok(c, om_dict_set(d, om_str("inner"), om_ref(l)));
	om_server_stats st0, st1;
	expect_ok(c, om_stats(c, &st0));
	om_release(l); /* still stored in d: stays alive */
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects);
	om_item ref;
	expect_ok(c, om_dict_get(d, om_str("inner"), &ref));
	assert_int_equal(ref.kind, OM_REF);
	assert_int_equal(ref.ref.type, OM_TYPE_LIST);
	void *h;
	expect_ok(c, om_open_ref(c, &ref, &h));
	om_item v;
	expect_ok(c, om_list_get(h, 0, &v));
	assert_int_equal(v.i, 42);
	om_release(h);
	/* removing the stored ref frees the list */
	expect_ok(c, om_dict_del(d, om_str("inner")));
	expect_ok(c, om_stats(c, &st1));
	assert_int_equal(st1.objects, st0.objects - 1);
	expect_rc(c, om_open_ref(c, &ref, &h), OM_ENOENT);
	om_item notref = om_int(1);
	expect_rc(c, om_open_ref(c, &notref, &h), OM_EINVAL);
	/* storing a ref to an object that is gone */
	expect_rc(c, om_dict_set(d, om_str("x"), ref), OM_ENOENT);
	om_release(d);
	om_disconnect(c);
}

static void test_spawn(void **state)
{
	(void)state;
	om_client *c;
	expect_ok(NULL, om_spawn(NULL, &c));
	om_value *v;
	expect_ok(c, om_value_open(c, "spawned", OM_CREATE, om_int(5), &v));
	om_item it;
	expect_ok(c, om_value_get(v, &it));
	assert_int_equal(it.i, 5);
	expect_ok(c, om_shutdown(c));
	/* the server is gone: calls fail with ECONN, and nobody answers */
	assert_int_equal(om_value_get(v, &it), OM_ECONN);
	om_disconnect(c);
	assert_int_equal(om_spawn(NULL, NULL), OM_EINVAL);
}

static void test_errmsg_strerror(void **state)
{
	(void)state;
	assert_string_equal(om_strerror(OM_OK), "success");
	assert_string_equal(om_strerror(OM_ENOKEY), "key not found");
	assert_string_equal(om_strerror(12345), "unknown error");
	/* NULL: this thread's last failed connect */
	om_client *c;
	assert_int_equal(om_connect("/nonexistent/objmgr.sock", &c), OM_ECONN);
	assert_non_null(strstr(om_errmsg(NULL), "/nonexistent/objmgr.sock"));
	c = client(&srv);
	om_dict *d;
	expect_ok(c, om_dict_open(c, NULL, 0, &d));
	om_item v;
	assert_int_equal(om_dict_get(d, om_str("nope"), &v), OM_ENOKEY);
	assert_non_null(strstr(om_errmsg(c), "nope"));
	om_release(d);
	om_disconnect(c);
}

static void test_server_options(void **state)
{
	(void)state;
	assert_int_equal(server_run((const char *[]){"--help", NULL}), 0);
	assert_int_equal(server_run((const char *[]){"--version", NULL}), 0);
	assert_int_equal(server_run((const char *[]){"--bogus", NULL}), 2);
	assert_int_equal(server_run((const char *[]){"--max-frame", "x", NULL}),
	                 2);
	assert_int_equal(
	        server_run((const char *[]){"--log-level", "loud", NULL}), 2);
	assert_int_equal(server_run((const char *[]){"extra", NULL}), 2);
	/* a live server on the socket: a second one refuses to start */
	assert_int_equal(
	        server_run((const char *[]){"--socket", srv.path, NULL}), 1);
	om_client *c = client(&srv); /* and the first is unharmed */
	expect_ok(c, om_ping(c));
	om_disconnect(c);
}

static void test_stale_socket(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, NULL);
	assert_int_equal(server_crash(&s2), -1); /* leaves its socket behind */
	struct stat sb;
	assert_int_equal(stat(s2.path, &sb), 0);
	om_client *c = NULL;
	assert_int_equal(om_connect(s2.path, &c), OM_ECONN);
	/* a new server replaces the stale socket */
	server_restart(&s2, NULL);
	c = client(&s2);
	expect_ok(c, om_ping(c));
	om_disconnect(c);
	server_stop(&s2);
}

static void test_limits(void **state)
{
	(void)state;
	struct server s2;
	server_start(&s2, (const char *[]){"--max-connections", "2",
	                                   "--max-memory", "4096", NULL});
	om_client *a = client(&s2), *b = client(&s2), *x = NULL;
	/* refused with the server's own code and message */
	assert_int_equal(om_connect(s2.path, &x), OM_ELIMIT);
	assert_non_null(strstr(om_errmsg(NULL), "connection limit"));
	om_disconnect(b);
	/* a slot is free again once the server has seen b go */
	wait_stat(a, connections, 1);
	expect_ok(a, om_connect(s2.path, &x));
	om_disconnect(x);
	/* the memory limit */
	om_dict *d;
	expect_ok(a, om_dict_open(a, NULL, 0, &d));
	char big[8192] = {0};
	expect_rc(a, om_dict_set(d, om_str("k"), om_bytes(big, sizeof big)),
	          OM_ENOMEM);
	expect_ok(a, om_dict_set(d, om_str("k"), om_bytes(big, 100)));
	size_t n;
	expect_ok(a, om_dict_len(d, &n));
	assert_int_equal(n, 1);
	om_release(d);
	om_disconnect(a);
	server_stop(&s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ping_stats),
	        cmocka_unit_test(test_connect_errors),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_open_flags),
	        cmocka_unit_test(test_released_handle),
	        cmocka_unit_test(test_open_ref),
	        cmocka_unit_test(test_spawn),
	        cmocka_unit_test(test_errmsg_strerror),
	        cmocka_unit_test(test_server_options),
	        cmocka_unit_test(test_stale_socket),
	        cmocka_unit_test(test_limits),
	};
	return RUN(tests, 120, srv_setup, srv_teardown);
}
