/*
 * test_introspect.c — looking inside the server: om_objects (patterns,
 * paging past 1000 names, each object's type, length, bytes and refs),
 * om_clients (a forked child's pid, locks held, parked calls, request
 * counts, the asker's flag), om_info (its keys in order, requests.OP
 * counting exactly), om_dump of every type, and the subscriptions: a watch
 * sees another process's change, a mapped write ("MAPPED"), a killed lock
 * holder ("GONE"); a monitor sees another process's requests; a subscriber
 * that does not read is dropped with OM_ELIMIT while the server's buffers
 * stay bounded; a subscriber's other calls are OM_EINVAL; a watch keeps an
 * unlinked object alive.
 *
 * Every wait is on server state or on a child's byte, never on time.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static om_server_stats stats(om_client *c)
{
	om_server_stats st;
	expect_ok(c, om_stats(c, &st));
	return st;
}

static bool shm_on(void)
{
	const char *e = getenv("OBJMGR_SHM");
	return !e || strcmp(e, "0") != 0;
}

/* The row of om_objects(c, name) for exactly that name. */
static om_object_info object_info(om_client *c, const char *name)
{
	om_object_info *v;
	size_t n;
	expect_ok(c, om_objects(c, name, &v, &n));
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, name);
	om_object_info r = v[0];
	r.name = NULL;
	free(v);
	return r;
}

/* ----------------------------------------------------------------- OBJECTS */

static void test_objects_paging(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	enum { N = 1234 };
	om_dict *d;
	char name[64];
	om_dict **hs = calloc(N, sizeof *hs);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "page.%04d", (i * 7919) % N);
		expect_ok(c, om_dict_open(c, name, OM_CREATE, &hs[i]));
	}
	expect_ok(c, om_dict_open(c, "zzz.other", OM_CREATE, &d));

	om_object_info *v;
	size_t n;
	expect_ok(c, om_objects(c, "page.*", &v, &n));
	assert_int_equal(n, N);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "page.%04zu", i);
		assert_string_equal(v[i].name, name);
		assert_int_equal(v[i].type, OM_TYPE_DICT);
		assert_int_equal(v[i].refs, 2); /* the name, this session */
	}
	free(v);
	expect_ok(c, om_objects(c, "page.1?3?", &v, &n));
	assert_int_equal(n, 24); /* 1030..1039, 1130..1139, 1230..1233 */
	assert_string_equal(v[0].name, "page.1030");
	assert_string_equal(v[10].name, "page.1130");
	assert_string_equal(v[23].name, "page.1233");
	free(v);
	expect_ok(c, om_objects(c, "nothing*", &v, &n));
	assert_int_equal(n, 0);
	free(v);
	/* NULL is every name: ours and zzz.other at least, sorted. */
	expect_ok(c, om_objects(c, NULL, &v, &n));
	assert_true(n >= N + 1);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(v[i - 1].name, v[i].name) < 0);
	free(v);

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "page.%04d", i);
		expect_ok(c, om_unlink(c, name));
		om_release(hs[i]);
	}
	free(hs);
	expect_ok(c, om_unlink(c, "zzz.other"));
	om_release(d);
	om_disconnect(c);
}

/* Bytes as om_stats counts them: the delta an object's creation and
 * filling made. */
static void test_objects_facts(void **state)
{
	(void)state;
	om_client *c = client(&srv), *c2 = client(&srv);
	uint64_t b0 = stats(c).bytes;
	om_dict *d;
	expect_ok(c, om_dict_open(c, "facts.dict", OM_CREATE, &d));
	expect_ok(c, om_dict_set(d, om_str("k1"), om_str("a long value")));
	expect_ok(c, om_dict_set(d, om_int(2), om_bytes("xyz", 3)));
	expect_ok(c, om_dict_set(d, om_str("k3"), om_int(3)));
	uint64_t b1 = stats(c).bytes;
	om_object_info oi = object_info(c, "facts.dict");
	assert_int_equal(oi.type, OM_TYPE_DICT);
	assert_int_equal(oi.length, 3);
	assert_int_equal(oi.bytes, b1 - b0);
	assert_int_equal(oi.id, om_ref(d).ref.id);
	assert_int_equal(oi.refs, 2);
	om_dict *d2;
	expect_ok(c2, om_dict_open(c2, "facts.dict", 0, &d2));
	assert_int_equal(object_info(c, "facts.dict").refs, 3);

	om_list *l;
	expect_ok(c, om_list_open(c, "facts.list", OM_CREATE, &l));
	for (int i = 0; i < 5; i++)
		expect_ok(c, om_list_append(l, om_str("twelve bytes")));
	uint64_t b2 = stats(c).bytes;
	oi = object_info(c, "facts.list");
	assert_int_equal(oi.type, OM_TYPE_LIST);
	assert_int_equal(oi.length, 5);
	assert_int_equal(oi.bytes, b2 - b1);

	om_queue *q;
	expect_ok(c, om_queue_open(c, "facts.queue", OM_CREATE, 0, &q));
	expect_ok(c, om_queue_put(q, om_str("abc"), 0));
	expect_ok(c, om_queue_put(q, om_int(1), 0));
	uint64_t b3 = stats(c).bytes;
	oi = object_info(c, "facts.queue");
	assert_int_equal(oi.length, 2);
	assert_int_equal(oi.bytes, b3 - b2);

	om_array *a;
	expect_ok(c, om_array_open(c, "facts.array", OM_CREATE, OM_FLOAT, 1000,
	                           &a));
	uint64_t b4 = stats(c).bytes;
	oi = object_info(c, "facts.array");
	assert_int_equal(oi.type, OM_TYPE_ARRAY);
	assert_int_equal(oi.length, 1000);
	assert_int_equal(oi.bytes, b4 - b3);

	om_value *val;
	expect_ok(c,
	          om_value_open(c, "facts.value", OM_CREATE,
	                        om_str("a str is kept by the server"), &val));
	uint64_t b5 = stats(c).bytes;
	oi = object_info(c, "facts.value");
	assert_int_equal(oi.length, 0);
	assert_int_equal(oi.bytes, b5 - b4);

	om_pipe *pa, *pb;
	expect_ok(c, om_pipe_open(c, "facts.pipe", OM_CREATE, &pa, &pb));
	uint64_t b6 = stats(c).bytes;
	expect_ok(c, om_pipe_send(pb, om_str("hello")));
	expect_ok(c, om_pipe_send(pb, om_int(5)));
	uint64_t b7 = stats(c).bytes;
	oi = object_info(c, "facts.pipe");
	assert_int_equal(oi.type, OM_TYPE_PIPE);
	assert_int_equal(oi.length, 2);
	assert_int_equal(oi.bytes, b7 - b6);

	const char *names[] = {"facts.dict",  "facts.list",  "facts.queue",
	                       "facts.array", "facts.value", "facts.pipe"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		expect_ok(c, om_unlink(c, names[i]));
	om_release(d2);
	om_disconnect(c2);
	om_disconnect(c);
}

/* ----------------------------------------------------------------- CLIENTS */

struct child_arg {
	const char *path;
	int up[2], down[2];
};

/* Connect, hold the lock "cl.lock", say so, then park on a queue get
 * until the parent puts. */
static int clients_child(void *p)
{
	struct child_arg *a = p;
	om_client *c;
	om_lock *l;
	om_queue *q;
	if (om_connect(a->path, &c) || om_lock_open(c, "cl.lock", 0, &l) ||
	    om_queue_open(c, "cl.queue", 0, 0, &q) ||
	    om_lock_acquire(l, OM_FOREVER) || send_byte(a->up[1]))
		return 1;
	om_item it;
	if (om_queue_get(q, &it, OM_FOREVER))
		return 2;
	om_disconnect(c);
	return 0;
}

static const om_client_info *find_pid(const om_client_info *v, size_t n,
                                      int64_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return &v[i];
	return NULL;
}

static void test_clients(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	settle(c);
	om_lock *l;
	om_queue *q;
	expect_ok(c, om_lock_open(c, "cl.lock", OM_CREATE, &l));
	expect_ok(c, om_queue_open(c, "cl.queue", OM_CREATE, 0, &q));
	struct child_arg a = {.path = srv.path};
	assert_int_equal(pipe(a.up), 0);
	pid_t pid = spawn_child(clients_child, &a);
	assert_int_equal(wait_byte(a.up[0], 30), 0);
	wait_stat(c, parked, 1);

	om_client_info *v;
	size_t n;
	expect_ok(c, om_clients(c, &v, &n));
	assert_int_equal(n, 2);
	const om_client_info *me = find_pid(v, n, getpid());
	const om_client_info *kid = find_pid(v, n, pid);
	assert_non_null(me);
	assert_non_null(kid);
	assert_true(me == &v[0]); /* connected first */
	assert_int_equal(me->flags, OM_CLIENT_SELF);
	assert_int_equal(kid->flags, 0);
	assert_int_equal(me->uid, (int64_t)getuid());
	assert_string_equal(kid->addr, "unix");
	assert_int_equal(kid->locks, 1);
	assert_int_equal(kid->parked, 1);
	assert_int_equal(me->locks, 0);
	assert_int_equal(me->parked, 0);
	assert_int_equal(me->refs, 2);
	assert_int_equal(kid->refs, 2);
	assert_true(kid->id > me->id);
	assert_true(me->since > 1e9 && me->since <= kid->since);
	uint64_t reqs = me->requests;
	free(v);
	for (int i = 0; i < 5; i++)
		expect_ok(c, om_ping(c));
	expect_ok(c, om_clients(c, &v, &n));
	me = find_pid(v, n, getpid());
	assert_int_equal(me->requests, reqs + 6); /* 5 pings, 1 CLIENTS */
	free(v);

	expect_ok(c, om_queue_put(q, om_int(1), 0));
	assert_int_equal(reap(pid, 30), 0);
	close(a.up[0]);
	close(a.up[1]);
	expect_ok(c, om_unlink(c, "cl.lock"));
	expect_ok(c, om_unlink(c, "cl.queue"));
	om_disconnect(c);
}

/* -------------------------------------------------------------------- INFO */

/* The value of INFO key `key`, which must be there. */
static const om_item *info_get(const om_items *k, const om_items *v,
                               const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->v[i].kind == OM_STR && strcmp(k->v[i].s.ptr, key) == 0)
			return &v->v[i];
	fail_msg("no INFO key %s", key);
	return NULL;
}

static void test_info(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	settle(c);
	om_items k, v;
	expect_ok(c, om_info(c, &k, &v));
	assert_int_equal(k.n, v.n);
	static const char *const order[] = {
	        "version",
	        "pid",
	        "uptime",
	        "connections",
	        "objects",
	        "objects.dict",
	        "objects.list",
	        "objects.queue",
	        "objects.lock",
	        "objects.semaphore",
	        "objects.condition",
	        "objects.event",
	        "objects.barrier",
	        "objects.value",
	        "objects.array",
	        "objects.pipe",
	        "objects.pool",
	        "bytes",
	        "max_memory",
	        "buffered",
	        "requests",
	};
	size_t i = 0;
	for (; i < ARRAY_SIZE(order); i++) {
		assert_int_equal(k.v[i].kind, OM_STR);
		assert_string_equal(k.v[i].s.ptr, order[i]);
	}
	while (i < k.n && strncmp(k.v[i].s.ptr, "requests.", 9) == 0)
		i++;
	static const char *const rest[] = {"parked", "segments", "mapped",
	                                   "listen"};
	for (size_t j = 0; j < ARRAY_SIZE(rest); j++, i++) {
		assert_true(i < k.n);
		assert_string_equal(k.v[i].s.ptr, rest[j]);
	}
	assert_int_equal(info_get(&k, &v, "pid")->i, srv.pid);
	char listen[sizeof srv.path + 8];
	snprintf(listen, sizeof listen, "unix:%s", srv.path);
	assert_str_item(info_get(&k, &v, "listen"), listen);
	assert_int_equal(info_get(&k, &v, "connections")->i, 1);
	assert_int_equal(info_get(&k, &v, "stopping")->i, 0);
	assert_true(info_get(&k, &v, "max_connections")->i > 0);
	assert_int_equal(info_get(&k, &v, "uptime")->kind, OM_FLOAT);
	/* requests.DICT_SET counts exactly the sets. */
	int64_t sets = 0;
	for (size_t j = 0; j < k.n; j++)
		if (strcmp(k.v[j].s.ptr, "requests.DICT_SET") == 0)
			sets = v.v[j].i;
	om_items_free(&k);
	om_items_free(&v);
	om_dict *d = new_dict(c);
	for (int j = 0; j < 7; j++)
		expect_ok(c, om_dict_set(d, om_int(j), om_int(j)));
	om_item it;
	expect_ok(c, om_dict_get(d, om_int(1), &it));
	expect_ok(c, om_info(c, &k, &v));
	assert_int_equal(info_get(&k, &v, "requests.DICT_SET")->i, sets + 7);
	assert_int_equal(info_get(&k, &v, "objects.dict")->i,
	                 (int64_t)stats(c).objects >= 1 ? 1 : 0);
	om_items_free(&k);
	om_items_free(&v);
	om_release(d);
	om_disconnect(c);
}

/* -------------------------------------------------------------------- DUMP */

static om_items dump(om_client *c, const void *h)
{
	om_items v;
	expect_ok(c, om_dump(h, &v));
	return v;
}

static int t_nop(om_task *t, const om_item *a, size_t n)
{
	(void)a;
	(void)n;
	return om_task_return(t, om_nil());
}

static void test_dump_every_type(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_items v;

	om_dict *d = new_dict(c);
	expect_ok(c, om_dict_set(d, om_str("b"), om_int(1)));
	expect_ok(c, om_dict_set(d, om_str("a"), om_ref(d)));
	v = dump(c, d);
	assert_int_equal(v.n, 4);
	assert_str_item(&v.v[0], "b");
	assert_int_item(&v.v[1], 1);
	assert_str_item(&v.v[2], "a");
	assert_int_equal(v.v[3].kind, OM_REF);
	assert_int_equal(v.v[3].ref.id, om_ref(d).ref.id);
	om_items_free(&v);
	expect_ok(c, om_dict_clear(d));

	om_list *l = new_list(c);
	expect_ok(c, om_list_append(l, om_int(3)));
	expect_ok(c, om_list_append(l, om_str("x")));
	v = dump(c, l);
	assert_int_equal(v.n, 2);
	assert_int_item(&v.v[0], 3);
	assert_str_item(&v.v[1], "x");
	om_items_free(&v);

	/* Queues: in the order gets take them. */
	om_queue *qs[3];
	int flags[3] = {0, OM_LIFO, OM_PRIORITY};
	for (int k = 0; k < 3; k++) {
		expect_ok(c, om_queue_open(c, NULL, flags[k], 0, &qs[k]));
		int64_t prio[3] = {5, 1, 3};
		for (int j = 0; j < 3; j++)
			expect_ok(c,
			          k == 2 ? om_queue_put_prio(qs[k], prio[j],
			                                     om_int(j), 0)
			                 : om_queue_put(qs[k], om_int(j), 0));
	}
	int64_t want[3][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
	for (int k = 0; k < 3; k++) {
		v = dump(c, qs[k]);
		assert_int_equal(v.n, 3);
		for (int j = 0; j < 3; j++)
			assert_int_item(&v.v[j], want[k][j]);
		om_items_free(&v);
		om_release(qs[k]);
	}

	om_value *val;
	expect_ok(c, om_value_open(c, NULL, 0, om_float(2.5), &val));
	v = dump(c, val);
	assert_int_equal(v.n, 1);
	assert_float_item(&v.v[0], 2.5);
	om_items_free(&v);

	om_array *a;
	expect_ok(c, om_array_open(c, NULL, 0, OM_INT, 3, &a));
	expect_ok(c, om_array_set(a, 1, om_int(-4)));
	v = dump(c, a);
	assert_int_equal(v.n, 3);
	assert_int_item(&v.v[0], 0);
	assert_int_item(&v.v[1], -4);
	assert_int_item(&v.v[2], 0);
	om_items_free(&v);

	/* A lock: free, then held by this connection, twice (an RLock). */
	om_lock *lk;
	expect_ok(c, om_lock_open(c, NULL, OM_RECURSIVE, &lk));
	v = dump(c, lk);
	assert_int_equal(v.n, 2);
	assert_int_item(&v.v[0], 0);
	assert_int_item(&v.v[1], 0);
	om_items_free(&v);
	expect_ok(c, om_lock_acquire(lk, OM_FOREVER));
	expect_ok(c, om_lock_acquire(lk, OM_FOREVER));
	om_client_info *ci;
	size_t nci;
	expect_ok(c, om_clients(c, &ci, &nci));
	uint64_t me = 0;
	for (size_t i = 0; i < nci; i++)
		if (ci[i].flags & OM_CLIENT_SELF)
			me = ci[i].id;
	free(ci);
	v = dump(c, lk);
	assert_int_item(&v.v[0], (int64_t)me);
	assert_int_item(&v.v[1], 2);
	om_items_free(&v);
	expect_ok(c, om_lock_release(lk));
	expect_ok(c, om_lock_release(lk));

	om_sem *s;
	expect_ok(c, om_sem_open(c, NULL, 0, 4, &s));
	expect_ok(c, om_sem_acquire(s, OM_FOREVER));
	v = dump(c, s);
	assert_int_equal(v.n, 1);
	assert_int_item(&v.v[0], 3);
	om_items_free(&v);

	om_cond *cv;
	expect_ok(c, om_cond_open(c, NULL, 0, lk, &cv));
	v = dump(c, cv);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.v[0].kind, OM_REF);
	assert_int_equal(v.v[0].ref.id, om_ref(lk).ref.id);
	assert_int_item(&v.v[1], 0);
	om_items_free(&v);

	om_event *ev;
	expect_ok(c, om_event_open(c, NULL, 0, &ev));
	v = dump(c, ev);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.v[0].kind, OM_BOOL);
	assert_false(v.v[0].b);
	om_items_free(&v);
	expect_ok(c, om_event_set(ev));
	v = dump(c, ev);
	assert_true(v.v[0].b);
	om_items_free(&v);

	om_barrier *b;
	expect_ok(c, om_barrier_open(c, NULL, 0, 3, &b));
	expect_ok(c, om_barrier_abort(b));
	v = dump(c, b);
	assert_int_equal(v.n, 3);
	assert_int_item(&v.v[0], 3);
	assert_int_item(&v.v[1], 0);
	assert_int_equal(v.v[2].kind, OM_BOOL);
	assert_true(v.v[2].b);
	om_items_free(&v);

	om_pipe *pa, *pb;
	expect_ok(c, om_pipe_open(c, NULL, 0, &pa, &pb));
	expect_ok(c, om_pipe_send(pb, om_str("m1")));
	expect_ok(c, om_pipe_send(pb, om_int(2)));
	v = dump(c, pa);
	assert_int_equal(v.n, 3);
	assert_str_item(&v.v[0], "m1");
	assert_int_item(&v.v[1], 2);
	assert_true(v.v[2].kind == OM_BOOL && v.v[2].b);
	om_items_free(&v);
	om_release(pa);
	v = dump(c, pb);
	assert_int_equal(v.n, 1);
	assert_true(v.v[0].kind == OM_BOOL && !v.v[0].b);
	om_items_free(&v);

	static const om_task_def defs[] = {{"nop", t_nop}};
	static const om_pool_config cfg = {.tasks = defs, .ntasks = 1};
	om_pool *p;
	expect_ok(c, om_pool_open(c, NULL, 0, 2, &cfg, &p));
	v = dump(c, p);
	assert_true(v.n >= 5);
	assert_int_item(&v.v[0], 2); /* processes */
	assert_int_item(&v.v[2], 0); /* queued */
	assert_int_item(&v.v[4], 0); /* not closed */
	om_items_free(&v);
	expect_ok(c, om_pool_close(p));
	expect_ok(c, om_pool_join(p, 30));
	v = dump(c, p);
	assert_int_item(&v.v[4], 1);
	om_items_free(&v);

	expect_rc(c, om_dump(NULL, &v), OM_EINVAL);
	om_release(p);
	om_release(pb);
	om_release(b);
	om_release(ev);
	om_release(cv);
	om_release(s);
	om_release(lk);
	om_release(a);
	om_release(val);
	om_release(l);
	om_release(d);
	om_disconnect(c);
}

/* ---------------------------------------------------------------- WATCH */

/* The next event, which must come (30 s bound). */
static om_notice next_event(om_client *c)
{
	om_notice ev;
	expect_ok(c, om_notice_next(c, &ev, 10));
	return ev;
}

struct set_arg {
	const char *path, *name;
	int kind; /* 0 dict set, 1 value set */
};

static int setter_child(void *p)
{
	struct set_arg *a = p;
	om_client *c;
	if (om_connect(a->path, &c))
		return 1;
	int rc;
	if (a->kind == 0) {
		om_dict *d;
		rc = om_dict_open(c, a->name, 0, &d) ||
		     om_dict_set(d, om_str("k"), om_int(1));
	} else {
		om_value *v;
		rc = om_value_open(c, a->name, 0, om_nil(), &v) ||
		     om_value_set(v, om_int(42));
	}
	om_disconnect(c);
	return rc ? 2 : 0;
}

static void test_watch_other_process(void **state)
{
	(void)state;
	om_client *c = client(&srv), *w = client(&srv);
	om_dict *d, *wd;
	expect_ok(c, om_dict_open(c, "w.dict", OM_CREATE, &d));
	expect_ok(w, om_dict_open(w, "w.dict", 0, &wd));
	expect_ok(w, om_watch(wd));
	/* A read changes nothing: no event for it. */
	om_item it;
	expect_rc(c, om_dict_get(d, om_str("k"), &it), OM_ENOKEY);
	struct set_arg a = {srv.path, "w.dict", 0};
	pid_t pid = spawn_child(setter_child, &a);
	assert_int_equal(reap(pid, 30), 0);
	om_notice ev = next_event(w);
	assert_string_equal(ev.op, "DICT_SET");
	assert_string_equal(ev.name, "w.dict");
	assert_int_equal(ev.target, om_ref(d).ref.id);
	assert_int_equal(ev.type, OM_TYPE_DICT);
	assert_true(ev.client > 0);
	assert_true(ev.time > 1e9);
	expect_ok(c, om_dict_del(d, om_str("k")));
	ev = next_event(w);
	assert_string_equal(ev.op, "DICT_DEL");
	expect_rc(w, om_notice_next(w, &ev, 0), OM_ETIMEOUT);
	om_disconnect(w);
	expect_ok(c, om_unlink(c, "w.dict"));
	om_release(d);
	om_disconnect(c);
}

static void test_watch_mapped_write(void **state)
{
	(void)state;
	om_client *c = client(&srv), *w = client(&srv);
	om_value *v, *wv;
	expect_ok(c, om_value_open(c, "w.value", OM_CREATE, om_int(0), &v));
	expect_ok(w, om_value_open(w, "w.value", 0, om_nil(), &wv));
	expect_ok(w, om_watch(wv));
	struct set_arg a = {srv.path, "w.value", 1};
	pid_t pid = spawn_child(setter_child, &a);
	assert_int_equal(reap(pid, 30), 0);
	om_notice ev = next_event(w);
	assert_string_equal(ev.op, shm_on() ? "MAPPED" : "VALUE_SET");
	assert_int_equal(ev.target, om_ref(v).ref.id);
	assert_string_equal(ev.name, "w.value");
	if (shm_on())
		assert_int_equal(ev.client, 0);
	/* This process's mapped write too. */
	expect_ok(c, om_value_set(v, om_int(7)));
	ev = next_event(w);
	assert_string_equal(ev.op, shm_on() ? "MAPPED" : "VALUE_SET");
	om_disconnect(w);
	expect_ok(c, om_unlink(c, "w.value"));
	om_release(v);
	om_disconnect(c);
}

static int holder_child(void *p)
{
	struct child_arg *a = p;
	om_client *c;
	om_lock *l;
	if (om_connect(a->path, &c) || om_lock_open(c, "w.lock", 0, &l) ||
	    om_lock_acquire(l, OM_FOREVER) || send_byte(a->up[1]))
		return 1;
	pause(); /* until SIGKILL */
	return 0;
}

static void test_watch_gone(void **state)
{
	(void)state;
	om_client *c = client(&srv), *w = client(&srv);
	om_lock *l, *wl;
	expect_ok(c, om_lock_open(c, "w.lock", OM_CREATE, &l));
	expect_ok(w, om_lock_open(w, "w.lock", 0, &wl));
	expect_ok(w, om_watch(wl));
	struct child_arg a = {.path = srv.path};
	assert_int_equal(pipe(a.up), 0);
	pid_t pid = spawn_child(holder_child, &a);
	assert_int_equal(wait_byte(a.up[0], 30), 0);
	om_notice ev = next_event(w);
	/* Its acquire: a request, or (mapped) a write in the segment. */
	assert_string_equal(ev.op, shm_on() ? "MAPPED" : "LOCK_ACQUIRE");
	kill(pid, SIGKILL);
	assert_int_equal(reap(pid, 30), -1);
	ev = next_event(w);
	assert_string_equal(ev.op, "GONE");
	assert_int_equal(ev.target, om_ref(l).ref.id);
	assert_string_equal(ev.name, "w.lock");
	expect_rc(c, om_lock_acquire(l, 0), OM_OWNER_DIED);
	close(a.up[0]);
	close(a.up[1]);
	om_disconnect(w);
	expect_ok(c, om_unlink(c, "w.lock"));
	om_release(l);
	om_disconnect(c);
}

/* -------------------------------------------------------------- MONITOR */

static int pinger_child(void *p)
{
	const char *path = p;
	om_client *c;
	if (om_connect(path, &c))
		return 1;
	om_list *l;
	int rc = om_list_open(c, "m.list", OM_CREATE, &l) ||
	         om_list_append(l, om_int(1));
	om_disconnect(c);
	return rc ? 2 : 0;
}

static void test_monitor(void **state)
{
	(void)state;
	om_client *m = client(&srv);
	expect_ok(m, om_monitor(m));
	om_client_info *ci;
	size_t n;
	expect_rc(m, om_clients(m, &ci, &n), OM_EINVAL);
	pid_t pid = spawn_child(pinger_child, (void *)srv.path);
	assert_int_equal(reap(pid, 30), 0);
	/* The child's OPEN (after the FORKs of this process's other
	 * clients), then its LIST_APPEND. */
	om_notice ev;
	do
		ev = next_event(m);
	while (strcmp(ev.op, "OPEN") != 0 || strcmp(ev.name, "m.list") != 0);
	uint64_t child = ev.client;
	assert_true(child > 0);
	ev = next_event(m);
	assert_string_equal(ev.op, "LIST_APPEND");
	assert_int_equal(ev.client, child);
	assert_int_equal(ev.type, OM_TYPE_LIST);
	assert_string_equal(ev.name, "m.list");
	om_disconnect(m);
	om_client *c = client(&srv);
	expect_ok(c, om_unlink(c, "m.list"));
	om_disconnect(c);
}

/* ------------------------------------------------------------ subscribers */

static void test_subscriber_calls_refused(void **state)
{
	(void)state;
	om_client *w = client(&srv);
	om_dict *d = new_dict(w);
	om_value *v;
	expect_ok(w, om_value_open(w, NULL, 0, om_int(1), &v));
	om_notice ev;
	expect_rc(w, om_notice_next(w, &ev, 0), OM_EINVAL);
	expect_ok(w, om_watch(d));
	expect_rc(w, om_ping(w), OM_EINVAL);
	assert_true(strstr(om_errmsg(w), "subscriber") != NULL);
	om_item it;
	expect_rc(w, om_dict_get(d, om_int(1), &it), OM_EINVAL);
	expect_rc(w, om_value_get(v, &it), OM_EINVAL); /* mapped or not */
	expect_ok(w, om_watch(v)); /* more watches are fine */
	expect_rc(w, om_notice_next(w, &ev, 0), OM_ETIMEOUT);
	om_disconnect(w);
}

/* A watch holds its object: unlinked and let go by its creator, it lives
 * until the watcher leaves. */
static void test_watch_keeps_alive(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_server_stats base = settle(c);
	om_client *w = client(&srv);
	om_dict *d, *wd;
	expect_ok(c, om_dict_open(c, "alive.dict", OM_CREATE, &d));
	expect_ok(w, om_dict_open(w, "alive.dict", 0, &wd));
	expect_ok(w, om_watch(wd));
	om_release(wd); /* refused: the watcher is a subscriber */
	expect_ok(c, om_unlink(c, "alive.dict"));
	om_release(d);
	expect_ok(c, om_ping(c));
	assert_int_equal(stats(c).objects, base.objects + 1);
	om_object_info *v;
	size_t n;
	expect_ok(c, om_objects(c, "alive.*", &v, &n));
	assert_int_equal(n, 0); /* no name any more */
	free(v);
	om_disconnect(w);
	wait_stat(c, objects, base.objects);
	om_disconnect(c);
}

/* A subscriber that does not read: the server keeps at most about
 * --max-output for it, then drops it with one ELIMIT. */
static void test_slow_subscriber(void **state)
{
	(void)state;
	struct server s = {0};
	const char *const extra[] = {"--max-output", "65536", NULL};
	server_start(&s, extra);
	om_client *c = client(&s), *w = client(&s);
	om_dict *d, *wd;
	expect_ok(c, om_dict_open(c, "slow", OM_CREATE, &d));
	expect_ok(w, om_dict_open(w, "slow", 0, &wd));
	expect_ok(w, om_watch(wd));
	/* Each set is an event of ~40 bytes: 50000 are far more than the
	 * socket and 64 KiB hold. */
	uint64_t most = 0;
	for (int round = 0; round < 50; round++) {
		expect_ok(c, om_pipeline_begin(c));
		for (int i = 0; i < 1000; i++)
			expect_ok(c, om_dict_set(d, om_int(i), om_int(round)));
		expect_ok(c, om_pipeline_end(c, NULL, 0));
		uint64_t b = stats(c).buffered;
		most = b > most ? b : most;
	}
	assert_true(most < 65536 + 4096);
	om_notice ev;
	int rc;
	uint64_t got = 0;
	while ((rc = om_notice_next(w, &ev, 30)) == OM_OK)
		got++;
	assert_int_equal(rc, OM_ELIMIT);
	assert_true(strstr(om_errmsg(w), "max-output") != NULL);
	assert_true(got > 100 && got < 50000);
	expect_rc(w, om_notice_next(w, &ev, 0), OM_ECONN);
	wait_stat(c, connections, 1);
	om_disconnect(w);
	om_release(d);
	om_disconnect(c);
	server_stop(&s);
}

/* A send changes the receiving end: its watchers are told, once. */
static void test_watch_pipe_receiver(void **state)
{
	(void)state;
	om_client *c = client(&srv), *w = client(&srv);
	om_pipe *a, *b;
	expect_ok(c, om_pipe_open(c, "wpipe", OM_CREATE, &a, &b));
	void *wa;
	expect_ok(w, om_open_any(w, "wpipe", &wa)); /* the named end: a */
	assert_int_equal(om_ref(wa).ref.id, om_ref(a).ref.id);
	expect_ok(w, om_watch(wa));
	expect_ok(c, om_pipe_send(b, om_int(7)));
	om_notice ev = next_event(w);
	assert_string_equal(ev.op, "PIPE_SEND");
	assert_int_equal(ev.target, om_ref(a).ref.id);
	expect_rc(w, om_notice_next(w, &ev, 0), OM_ETIMEOUT);
	om_disconnect(w);
	expect_ok(c, om_unlink(c, "wpipe"));
	om_disconnect(c);
}

/* om_disconnect() of a subscriber that spawned its server stops the
 * server and returns (SHUTDOWN is a subscriber's call too). */
static void test_spawned_subscriber_disconnect(void **state)
{
	(void)state;
	om_client *c;
	expect_ok(NULL, om_spawn(NULL, &c));
	expect_ok(c, om_monitor(c));
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_objects_paging),
	        cmocka_unit_test(test_objects_facts),
	        cmocka_unit_test(test_clients),
	        cmocka_unit_test(test_info),
	        cmocka_unit_test(test_dump_every_type),
	        cmocka_unit_test(test_watch_other_process),
	        cmocka_unit_test(test_watch_mapped_write),
	        cmocka_unit_test(test_watch_gone),
	        cmocka_unit_test(test_monitor),
	        cmocka_unit_test(test_subscriber_calls_refused),
	        cmocka_unit_test(test_watch_keeps_alive),
	        cmocka_unit_test(test_slow_subscriber),
	        cmocka_unit_test(test_watch_pipe_receiver),
	        cmocka_unit_test(test_spawned_subscriber_disconnect),
	};
	return RUN(tests, 120, srv_setup, srv_teardown);
}
