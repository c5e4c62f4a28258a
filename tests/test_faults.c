/*
 * test_faults.c — objmgrd runs out of memory anywhere and goes on. Built
 * only with meson -Dfault_injection=true (server/fault.c).
 *
 * As SQLite's malloc tests do, walk N = 1, 2, 3, ...: start a server whose
 * Nth allocation after it is ready fails (OBJMGR_FAIL_ALLOC=N), run one
 * fixed sequence of requests against it (every type, anonymous and named;
 * several methods on each; refs stored in a dict and a list, taken out and
 * opened; a parked get answered by a later put; a parked acquire answered
 * by another client's release; parked calls that time out; a pipeline; a
 * client that disconnects holding a lock and one killed while parked), and
 * check that
 *   - every call returns what it would without the fault, or OM_ENOMEM,
 *     or OM_ECONN (its connection was closed); the values the client did
 *     get are right;
 *   - nothing hangs: the sequence runs in a child, reaped with a bound;
 *   - a fresh client can connect and ping the server afterwards (the
 *     first try may be refused, if the fault falls on it; not the second);
 *   - the server exits 0 on SIGTERM: under ASan a crash, a memory error
 *     or a leak makes that non-zero (tests/run sets ASAN_OPTIONS).
 * The walk ends when the server reports (OBJMGR_FAULT_REPORT) that the
 * whole run, shutdown included, made fewer than N allocations. Then a few
 * persistent runs (OBJMGR_FAIL_ALLOC_REPEAT=1: every allocation from the
 * Nth on fails) check the same, without the ping.
 *
 * Every failure is printed with its N and the walk goes on, so one run
 * shows every bug; the case fails at the end if any was found. To rerun
 * one: FAULTS_ONLY=N (and FAULTS_REPEAT=1 for a persistent run).
 */
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
	PARALLEL = 2,   /* servers walked at once */
	SEQ_SECS = 60,  /* bound on one sequence (a hang fails it) */
	MAX_N = 20000,  /* a walk that does not end is a failure too */
	PARK_WAIT = 10, /* seconds for a parked call that will be answered */
};

/* ------------------------------------------------------- checking a call */

/* In the sequence's child: the wrong results seen, and whether this run
 * fails every allocation after the Nth (then more may time out). */
static int bad;
static bool persistent;

/* rc is `want` (true), or a permitted failure (false); anything else is
 * a wrong answer. */
#define CHECK2(rc, want, also) check_(rc, want, also, __LINE__)
#define CHECK(rc, want)        CHECK2(rc, want, want)
#define OK(rc)                 CHECK(rc, OM_OK)
static bool check_(int rc, int want, int also, int line)
{
	if (rc == want)
		return true;
	if (rc == also || rc == OM_ENOMEM || rc == OM_ECONN)
		return false;
	fprintf(stderr, "test_faults.c:%d: got %d (%s), expected %d (%s)\n",
	        line, rc, om_strerror(rc), want, om_strerror(want));
	bad++;
	return false;
}

#define EXPECT(cond)                                                  \
	do {                                                          \
		if (!(cond)) {                                        \
			fprintf(stderr, "test_faults.c:%d: not %s\n", \
			        __LINE__, #cond);                     \
			bad++;                                        \
		}                                                     \
	} while (0)

static bool is_int(om_item *it, int64_t v)
{
	bool ok = it->kind == OM_INT && it->i == v;
	om_item_free(it);
	return ok;
}

static bool is_str(om_item *it, const char *s)
{
	bool ok = it->kind == OM_STR && it->s.len == strlen(s) &&
	          !memcmp(it->s.ptr, s, it->s.len);
	om_item_free(it);
	return ok;
}

/* A call on a handle that did not open fails as its open did. */
#define ON(h, call) ((h) ? (call) : OM_ENOMEM)

/* om_connect, tried twice (one fault may refuse the first): NULL if the
 * server refused both. */
static om_client *try_connect(const char *path)
{
	for (int i = 0; i < 2; i++) {
		om_client *c = NULL;
		int rc = om_connect(path, &c);
		if (rc == OM_OK)
			return c;
		CHECK(rc, OM_OK);
	}
	return NULL;
}

/* ------------------------------------------------------------ the objects */

struct objs {
	om_dict *d;
	om_list *l;
	om_queue *q;
	om_lock *k;
	om_sem *s;
	om_cond *cv;
	om_event *e;
	om_barrier *b;
	om_value *v;
	om_array *a;
};

/* Open one of each type: anonymous (prefix NULL) or named prefixN. */
static void open_all(om_client *c, const char *prefix, struct objs *o)
{
	char names[10][32];
	const char *nm[10] = {0};
	for (int i = 0; prefix && i < 10; i++)
		snprintf(names[i], sizeof names[i], "%s%d", prefix, i),
		        nm[i] = names[i];
	int fl = prefix ? OM_CREATE : 0;
	OK(om_dict_open(c, nm[0], fl, &o->d));
	OK(om_list_open(c, nm[1], fl, &o->l));
	OK(om_queue_open(c, nm[2], fl, 0, &o->q));
	OK(om_lock_open(c, nm[3], fl, &o->k));
	OK(om_sem_open(c, nm[4], fl, 1, &o->s));
	OK(ON(o->k, om_cond_open(c, nm[5], fl, o->k, &o->cv)));
	OK(om_event_open(c, nm[6], fl, &o->e));
	OK(om_barrier_open(c, nm[7], fl, 2, &o->b));
	OK(om_value_open(c, nm[8], fl, om_int(7), &o->v));
	OK(om_array_open(c, nm[9], fl, OM_INT, 4, &o->a));
}

static void release_all(struct objs *o)
{
	void *h[] = {o->d,  o->l, o->q, o->k, o->s,
	             o->cv, o->e, o->b, o->v, o->a};
	for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
		if (h[i])
			om_release(h[i]);
	memset(o, 0, sizeof *o);
}

/* ------------------------------------------------------- the methods */

static void use_dict(om_client *c, om_dict *d, struct objs *o)
{
	om_item out, k, v;
	bool set_a = OK(ON(d, om_dict_set(d, om_str("a"), om_int(1))));
	if (set_a && OK(ON(d, om_dict_get(d, om_str("a"), &out))))
		EXPECT(is_int(&out, 1));
	if (OK(ON(d, om_dict_incr(d, om_str("n"), om_int(5), &out))))
		EXPECT(is_int(&out, 5));
	bool set_s = OK(ON(d, om_dict_set(d, om_str("s"), om_str("hello"))));
	bool has;
	if (set_s && OK(ON(d, om_dict_contains(d, om_str("s"), &has))))
		EXPECT(has);
	if (set_s && OK(ON(d, om_dict_get(d, om_str("s"), &out))))
		EXPECT(is_str(&out, "hello"));
	om_item ks[] = {om_str("u1"), om_str("u2"), om_int(3)};
	om_item vs[] = {om_float(1.5), om_nil(), om_bytes("xy", 2)};
	OK(ON(d, om_dict_update(d, ks, vs, 3)));
	size_t n, found;
	OK(ON(d, om_dict_len(d, &n)));
	om_items keys, vals;
	if (OK(ON(d, om_dict_keys(d, &keys))))
		om_items_free(&keys);
	if (OK(ON(d, om_dict_values(d, &vals))))
		om_items_free(&vals);
	if (OK(ON(d, om_dict_items(d, &keys, &vals)))) {
		EXPECT(keys.n == vals.n);
		om_items_free(&keys);
		om_items_free(&vals);
	}
	if (OK(ON(d, om_dict_get_many(d, ks, 3, &vals, &found))))
		om_items_free(&vals);
	if (OK(ON(d, om_dict_setdefault(d, om_str("z"), om_int(9), &out))))
		EXPECT(is_int(&out, 9));
	int rc = ON(d, om_dict_pop(d, om_str("a"), &out));
	CHECK2(rc, set_a ? OM_OK : OM_ENOKEY, OM_OK);
	if (rc == OM_OK)
		EXPECT(is_int(&out, 1));
	CHECK2(ON(d, om_dict_del(d, om_str("z"))), OM_OK, OM_ENOKEY);
	CHECK(ON(d, om_dict_del(d, om_str("never"))), OM_ENOKEY);
	if (CHECK2(ON(d, om_dict_popitem(d, &k, &v)), OM_OK, OM_ENOKEY)) {
		om_item_free(&k);
		om_item_free(&v);
	}

	/* Refs: stored, read back, taken out, opened. */
	bool set_q =
	        OK(ON(d, ON(o->q, om_dict_set(d, om_str("q"), om_ref(o->q)))));
	bool set_l =
	        OK(ON(d, ON(o->l, om_dict_set(d, om_str("l"), om_ref(o->l)))));
	OK(ON(d, ON(o->v, om_dict_set(d, om_str("v"), om_ref(o->v)))));
	if (set_q && OK(ON(d, om_dict_get(d, om_str("q"), &out)))) {
		EXPECT(out.kind == OM_REF && out.ref.type == OM_TYPE_QUEUE);
		void *h = NULL;
		if (out.kind == OM_REF && OK(om_open_ref(c, &out, &h))) {
			OK(om_queue_put(h, om_str("via ref"), 0));
			om_release(h);
		}
		om_item_free(&out);
	}
	rc = ON(d, om_dict_pop(d, om_str("l"), &out));
	if (rc == OM_OK) {
		EXPECT(out.kind == OM_REF && out.ref.type == OM_TYPE_LIST);
		void *h = NULL;
		if (out.kind == OM_REF && OK(om_open_ref(c, &out, &h))) {
			OK(om_list_append(h, om_int(99)));
			om_release(h);
		}
		om_item_free(&out);
	} else {
		CHECK2(rc, set_l ? OM_OK : OM_ENOKEY, OM_ENOKEY);
	}
}

/* Bigger than the buffers and the arena's first chunk: the input and
 * output buffers, the arena and the dict's table grow. */
static void use_big(om_dict *d)
{
	static char big[100000];
	memset(big, 'b', sizeof big);
	om_item out;
	if (OK(ON(d,
	          om_dict_set(d, om_str("big"), om_bytes(big, sizeof big)))) &&
	    OK(ON(d, om_dict_get(d, om_str("big"), &out)))) {
		EXPECT(out.kind == OM_BYTES && out.s.len == sizeof big);
		om_item_free(&out);
	}
	enum { M = 600 };
	om_item keys[M], vals[M];
	for (int i = 0; i < M; i++)
		keys[i] = om_int(1000 + i), vals[i] = om_int(i);
	bool all = OK(ON(d, om_dict_update(d, keys, vals, M)));
	om_items got;
	if (OK(ON(d, om_dict_values(d, &got)))) {
		if (all)
			EXPECT(got.n >= M);
		om_items_free(&got);
	}
	if (all && OK(ON(d, om_dict_get(d, om_int(1599), &out))))
		EXPECT(is_int(&out, 599));
	CHECK2(ON(d, om_dict_del(d, om_str("big"))), OM_OK, OM_ENOKEY);
}

/* A list and a queue that grow, sort (the merge's buffer) and shrink. */
static void use_long(om_client *c)
{
	enum { M = 600 };
	om_item v[M];
	for (int i = 0; i < M; i++)
		v[i] = om_int(M - 1 - i);
	om_list *l = NULL;
	om_queue *q = NULL;
	om_item out;
	om_items got;
	if (OK(om_list_open(c, NULL, 0, &l))) {
		bool all = OK(om_list_extend(l, v, M));
		all = all && OK(om_list_sort(l, false));
		if (all && OK(om_list_get(l, 0, &out)))
			EXPECT(is_int(&out, 0));
		OK(om_list_splice(l, 0, M - 10, NULL, 0));
		om_release(l);
	}
	if (OK(om_queue_open(c, NULL, OM_LIFO, 0, &q))) {
		bool all = OK(om_queue_put_many(q, v, M, 0));
		if (all && OK(om_queue_get(q, &out, 0)))
			EXPECT(is_int(&out, 0));
		if (CHECK2(om_queue_get_many(q, M - 10, &got, 0), OM_OK,
		           OM_EEMPTY))
			om_items_free(&got);
		om_release(q);
	}
}

static void use_list(om_client *c, om_list *l, om_dict *d)
{
	om_item out;
	/* After these, with every call OK: [0, 3, 1, 2, 4, 5]. */
	bool all = OK(ON(l, om_list_clear(l))); /* a 99 came through a ref */
	all &= OK(ON(l, om_list_append(l, om_int(3))));
	all &= OK(ON(l, om_list_append(l, om_int(1))));
	all &= OK(ON(l, om_list_append(l, om_int(2))));
	om_item more[] = {om_int(4), om_int(5)};
	all &= OK(ON(l, om_list_extend(l, more, 2)));
	all &= OK(ON(l, om_list_insert(l, 0, om_int(0))));
	if (all && OK(ON(l, om_list_get(l, 1, &out))))
		EXPECT(is_int(&out, 3));
	all &= OK(ON(l, om_list_sort(l, false)));
	if (all && OK(ON(l, om_list_get(l, 5, &out))))
		EXPECT(is_int(&out, 5));
	OK(ON(l, om_list_reverse(l)));
	int64_t pos;
	CHECK2(ON(l, om_list_index(l, om_int(4), &pos)), OM_OK, OM_EVALUE);
	size_t n;
	OK(ON(l, om_list_count(l, om_int(1), &n)));
	bool has;
	OK(ON(l, om_list_contains(l, om_int(2), &has)));
	om_items sl;
	if (OK(ON(l, om_list_slice(l, 0, 3, &sl))))
		om_items_free(&sl);
	om_item sp[] = {om_str("s1"), om_str("s2")};
	OK(ON(l, om_list_splice(l, 1, 2, sp, 2)));
	CHECK2(ON(l, om_list_remove(l, om_str("s1"))), OM_OK, OM_EVALUE);
	/* (EINDEX: the list is empty if every append failed) */
	CHECK2(ON(l, om_list_set(l, 0, om_str("first"))), OM_OK, OM_EINDEX);
	if (CHECK2(ON(l, om_list_pop(l, -1, &out)), OM_OK, OM_EINDEX))
		om_item_free(&out);
	CHECK2(ON(l, om_list_del(l, 0)), OM_OK, OM_EINDEX);
	CHECK(ON(l, om_list_get(l, 1000, &out)), OM_EINDEX);
	/* A ref through a list: appended, popped (taken), opened. */
	if (OK(ON(l, ON(d, om_list_append(l, om_ref(d))))) &&
	    OK(ON(l, om_list_pop(l, -1, &out)))) {
		EXPECT(out.kind == OM_REF && out.ref.type == OM_TYPE_DICT);
		void *h = NULL;
		if (out.kind == OM_REF && OK(om_open_ref(c, &out, &h))) {
			size_t len;
			OK(om_dict_len(h, &len));
			om_release(h);
		}
		om_item_free(&out);
	}
	OK(ON(l, om_list_len(l, &n)));
	OK(ON(l, om_list_clear(l)));
}

static void use_queue(om_client *c, om_queue *q)
{
	om_item out;
	om_items got;
	/* Empty it first (a put through a ref may have gone in). */
	int rc = ON(q, om_queue_get_many(q, 100, &got, 0));
	if (CHECK2(rc, OM_OK, OM_EEMPTY))
		om_items_free(&got);
	bool all = rc == OM_OK || rc == OM_EEMPTY;
	all &= OK(ON(q, om_queue_put(q, om_int(1), 0)));
	all &= OK(ON(q, om_queue_put(q, om_int(2), 0)));
	if (all && OK(ON(q, om_queue_get(q, &out, 0))))
		EXPECT(is_int(&out, 1));
	om_item many[] = {om_int(3), om_str("four"), om_float(5)};
	OK(ON(q, om_queue_put_many(q, many, 3, 0)));
	size_t n;
	bool b;
	OK(ON(q, om_queue_size(q, &n)));
	OK(ON(q, om_queue_empty(q, &b)));
	OK(ON(q, om_queue_full(q, &b)));
	/* Empty it (whatever went in), then park a get that a put answers:
	 * one pipeline, so the get is parked when the put arrives. */
	bool drained = false;
	rc = ON(q, om_queue_get_many(q, 100, &got, 0));
	if (CHECK2(rc, OM_OK, OM_EEMPTY)) {
		om_items_free(&got);
		drained = true;
	} else if (rc == OM_EEMPTY) {
		drained = true;
	}
	if (q && drained && OK(om_pipeline_begin(c))) {
		int rcs[3];
		out = om_nil();
		om_queue_get(q, &out, PARK_WAIT);
		om_queue_put(q, om_int(42), 0);
		om_queue_put(q, om_int(43), 0);
		om_pipeline_end(c, rcs, 3);
		if (CHECK2(rcs[0], OM_OK, persistent ? OM_ETIMEOUT : OM_OK)) {
			EXPECT(out.kind == OM_INT &&
			       (out.i == 42 ||
			        (rcs[1] != OM_OK && out.i == 43)));
			om_item_free(&out);
		}
		OK(rcs[1]);
		OK(rcs[2]);
		if (CHECK2(om_queue_get_many(q, 100, &got, 0), OM_OK,
		           OM_EEMPTY))
			om_items_free(&got);
	}

	/* Joinable and priority queues. */
	om_queue *j = NULL, *p = NULL;
	if (OK(om_queue_open(c, NULL, OM_JOINABLE, 0, &j))) {
		bool done = OK(om_queue_put(j, om_int(1), 0)) &&
		            OK(om_queue_get(j, &out, 0));
		if (done)
			om_item_free(&out);
		done = done && OK(om_queue_task_done(j));
		CHECK2(om_queue_join(j, done ? 1.0 : 0), OM_OK,
		       done ? OM_OK : OM_ETIMEOUT);
		OK(om_queue_close(j));
		CHECK(om_queue_put(j, om_int(2), 0), OM_ECLOSED);
		om_release(j);
	}
	if (OK(om_queue_open(c, NULL, OM_PRIORITY, 0, &p))) {
		bool both = OK(om_queue_put_prio(p, 5, om_str("b"), 0));
		both &= OK(om_queue_put_prio(p, 1, om_str("a"), 0));
		if (both && OK(om_queue_get(p, &out, 0)))
			EXPECT(is_str(&out, "a"));
		om_release(p);
	}
}

static void use_sync(struct objs *o)
{
	bool b;
	unsigned u;
	/* lock */
	bool held = OK(ON(o->k, om_lock_acquire(o->k, 0)));
	if (held && OK(ON(o->k, om_lock_locked(o->k, &b))))
		EXPECT(b);
	CHECK2(ON(o->k, om_lock_release(o->k)), OM_OK,
	       held ? OM_OK : OM_ENOTOWNER);
	/* semaphore */
	bool took = OK(ON(o->s, om_sem_acquire(o->s, 0)));
	if (took && OK(ON(o->s, om_sem_value(o->s, &u))))
		EXPECT(u == 0);
	if (OK(ON(o->s, om_sem_release(o->s, 1))) && took &&
	    OK(ON(o->s, om_sem_value(o->s, &u))))
		EXPECT(u == 1);
	/* condition: a wait that times out (parked with a deadline) */
	/* (not held: the acquire failed, or only its answer did) */
	held = OK(ON(o->cv, om_cond_acquire(o->cv, 0)));
	int also = held ? OM_OK : OM_ENOTOWNER;
	CHECK2(ON(o->cv, om_cond_notify(o->cv, 1)), OM_OK, also);
	CHECK2(ON(o->cv, om_cond_wait(o->cv, 0.01)), OM_ETIMEOUT,
	       held ? OM_ETIMEOUT : OM_ENOTOWNER);
	CHECK2(ON(o->cv, om_cond_notify_all(o->cv)), OM_OK, also);
	CHECK2(ON(o->cv, om_cond_release(o->cv)), OM_OK, also);
	/* event */
	bool set = OK(ON(o->e, om_event_set(o->e)));
	if (set && OK(ON(o->e, om_event_is_set(o->e, &b))))
		EXPECT(b);
	CHECK2(ON(o->e, om_event_wait(o->e, set ? 1 : 0.01)), OM_OK,
	       OM_ETIMEOUT);
	OK(ON(o->e, om_event_clear(o->e)));
	CHECK(ON(o->e, om_event_wait(o->e, 0.01)), OM_ETIMEOUT);
	/* barrier of 2: a lone wait times out and breaks it */
	if (OK(ON(o->b, om_barrier_parties(o->b, &u))))
		EXPECT(u == 2);
	OK(ON(o->b, om_barrier_n_waiting(o->b, &u)));
	CHECK(ON(o->b, om_barrier_wait(o->b, 0.01, &u)), OM_ETIMEOUT);
	OK(ON(o->b, om_barrier_broken(o->b, &b)));
	OK(ON(o->b, om_barrier_reset(o->b)));
	OK(ON(o->b, om_barrier_abort(o->b)));
}

static void use_value_array(struct objs *o)
{
	om_item out;
	bool swapped;
	bool chain = OK(ON(o->v, om_value_set(o->v, om_int(10))));
	chain = chain && OK(ON(o->v, om_value_add(o->v, om_int(5), &out)));
	if (chain)
		EXPECT(is_int(&out, 15));
	chain = chain && OK(ON(o->v, om_value_cas(o->v, om_int(15), om_int(20),
	                                          &swapped)));
	if (chain)
		EXPECT(swapped);
	if (chain && OK(ON(o->v, om_value_get(o->v, &out))))
		EXPECT(is_int(&out, 20));

	chain = OK(ON(o->a, om_array_set(o->a, 0, om_int(3))));
	if (chain && OK(ON(o->a, om_array_get(o->a, 0, &out))))
		EXPECT(is_int(&out, 3));
	size_t n;
	if (OK(ON(o->a, om_array_len(o->a, &n))))
		EXPECT(n == 4);
	om_item w[] = {om_int(7), om_int(8)};
	chain = OK(ON(o->a, om_array_write(o->a, 2, w, 2)));
	om_items r;
	if (OK(ON(o->a, om_array_read(o->a, 0, 4, &r)))) {
		if (chain)
			EXPECT(r.n == 4 && r.v[2].kind == OM_INT &&
			       r.v[2].i == 7 && r.v[3].i == 8);
		om_items_free(&r);
	}
	if (chain && OK(ON(o->a, om_array_add(o->a, 3, om_int(2), &out))))
		EXPECT(is_int(&out, 10));
	CHECK(ON(o->a, om_array_get(o->a, 4, &out)), OM_EINDEX);
}

/* Pipelined sets, then the values of those that were answered OK. */
static void use_pipeline(om_client *c)
{
	om_dict *d = NULL;
	if (!OK(om_dict_open(c, NULL, 0, &d)))
		return;
	enum { K = 40 };
	int rcs[K + 2];
	om_server_stats st;
	if (OK(om_pipeline_begin(c))) {
		for (int i = 0; i < K; i++) {
			char key[16];
			snprintf(key, sizeof key, "k%d", i);
			om_dict_set(d, om_str(key), om_int(i));
		}
		om_ping(c);
		om_stats(c, &st);
		om_pipeline_end(c, rcs, K + 2);
		for (int i = 0; i < K + 2; i++) {
			OK(rcs[i]);
			if (i >= K || rcs[i] != OM_OK)
				continue;
			char key[16];
			om_item out;
			snprintf(key, sizeof key, "k%d", i);
			if (OK(om_dict_get(d, om_str(key), &out)))
				EXPECT(is_int(&out, i));
		}
	}
	om_release(d);
}

/* Pipes: OPEN makes two objects and answers two Refs; messages; a recv
 * parked in a pipeline and answered by the send after it; EOF; a named
 * pipe's ends kept by its name, then unlinked. */
static void use_pipe(om_client *c)
{
	om_pipe *a = NULL, *b = NULL;
	om_item out;
	if (OK(om_pipe_open(c, NULL, 0, &a, &b))) {
		if (OK(om_pipe_send(a, om_int(1))) &&
		    OK(om_pipe_recv(b, &out, 0)))
			EXPECT(is_int(&out, 1));
		/* 1 is left there if the recv above failed; 43 is for a
		 * failed send of 42. */
		int rcs[3];
		if (OK(om_pipeline_begin(c))) {
			out = om_nil();
			om_pipe_recv(b, &out, PARK_WAIT);
			om_pipe_send(a, om_int(42));
			om_pipe_send(a, om_int(43));
			om_pipeline_end(c, rcs, 3);
			if (CHECK2(rcs[0], OM_OK,
			           persistent ? OM_ETIMEOUT : OM_OK)) {
				EXPECT(out.kind == OM_INT &&
				       (out.i == 1 || out.i == 42 ||
				        (rcs[1] != OM_OK && out.i == 43)));
				om_item_free(&out);
			}
			OK(rcs[1]);
			OK(rcs[2]);
		}
		om_pipe_close(a);
		/* Whatever is left, then EOF (or nothing, if the release
		 * failed: then a is still open). */
		int rc = OM_OK;
		for (int i = 0; i < 4 && rc == OM_OK; i++) {
			rc = om_pipe_recv(b, &out, 0);
			if (rc == OM_OK) {
				EXPECT(out.kind == OM_INT &&
				       (out.i == 1 || out.i >= 42));
				om_item_free(&out);
			}
		}
		CHECK2(rc, OM_ECLOSED, OM_ETIMEOUT);
		om_pipe_close(b);
	}
	if (OK(om_pipe_open(c, "pp", OM_CREATE, &a, &b))) {
		bool sent = OK(om_pipe_send(b, om_str("kept")));
		om_pipe_close(a);
		om_pipe_close(b);
		if (OK(om_pipe_open(c, "pp", 0, &a, &b))) {
			if (sent && OK(om_pipe_recv(a, &out, 0)))
				EXPECT(is_str(&out, "kept"));
			om_pipe_close(a);
			om_pipe_close(b);
		}
	}
	for (int try = 0; try < 3; try++) {
		int rc = om_unlink(c, "pp");
		if (CHECK2(rc, OM_OK, OM_ENOENT) || rc != OM_ENOMEM)
			break;
	}
}

/* ----------------------------------------------- other clients, parked */

struct acquirer {
	const char *path;
	atomic_bool done;
	atomic_int tid; /* the thread's, once it runs */
	int rc;
};

/* A second client's thread: acquire the named lock, held by the main
 * thread's client, so the acquire parks until that one releases. */
static void *acquire_thread(void *arg)
{
	struct acquirer *a = arg;
	atomic_store(&a->tid, (int)gettid());
	a->rc = OM_ENOMEM;
	om_client *c = try_connect(a->path);
	om_lock *k = NULL;
	if (c && OK(om_lock_open(c, "held", OM_CREATE, &k))) {
		a->rc = om_lock_acquire(k, PARK_WAIT);
		if (a->rc == OM_OK || a->rc == OM_OWNER_DIED)
			OK(om_lock_release(k));
	} else if (c) {
		a->rc = OM_ECONN; /* as if: nothing was tried */
	}
	om_disconnect(c);
	atomic_store(&a->done, true);
	return NULL;
}

static bool parked_or_done(void *arg)
{
	void **p = arg;
	om_client *c = p[0];
	struct acquirer *a = p[1];
	om_server_stats st;
	/* Parked in the server, or asleep on the mapped lock's futex. */
	int tid = atomic_load(&a->tid);
	return atomic_load(&a->done) || (tid && in_futex(tid)) ||
	       (om_stats(c, &st) == OM_OK && st.parked >= 1);
}

/* b holds "held"; a thread's client parks an acquire; b releases. */
static void parked_acquire(const char *path)
{
	om_client *b = try_connect(path);
	om_lock *k = NULL;
	if (!b || !OK(om_lock_open(b, "held", OM_CREATE, &k)) ||
	    !OK(om_lock_acquire(k, 0))) {
		om_disconnect(b);
		return;
	}
	struct acquirer a = {.path = path};
	pthread_t t;
	if (pthread_create(&t, NULL, acquire_thread, &a)) {
		bad++;
		om_disconnect(b);
		return;
	}
	void *p[2] = {b, &a};
	poll_until(parked_or_done, p, PARK_WAIT);
	/* Retried: one fault fails one release (ENOTOWNER after one that
	 * took effect but lost its answer). */
	bool released = false;
	for (int i = 0; i < 3 && !released; i++) {
		int rc = om_lock_release(k);
		released = rc == OM_OK || (i > 0 && rc == OM_ENOTOWNER);
		if (!released && (!CHECK(rc, OM_OK) || rc == OM_ECONN))
			break;
	}
	pthread_join(t, NULL);
	/* Released: handed to the thread. b's connection closed: released
	 * as owner-died. Neither (every release failed): a timeout. */
	int also = released                            ? OM_OK
	           : persistent && a.rc == OM_ETIMEOUT ? OM_ETIMEOUT
	                                               : OM_OWNER_DIED;
	CHECK2(a.rc, OM_OK, also);
	om_disconnect(b);
}

/* A client disconnects while holding "gone": the next acquirer gets
 * OM_OWNER_DIED (parked until the server sees the end, if need be). */
static void holder_disconnects(om_client *c, const char *path)
{
	om_client *h = try_connect(path);
	om_lock *k = NULL;
	bool held = h && OK(om_lock_open(h, "gone", OM_CREATE, &k)) &&
	            OK(om_lock_acquire(k, 0));
	om_disconnect(h);
	om_lock *mine = NULL;
	if (!OK(om_lock_open(c, "gone", OM_CREATE, &mine)))
		return;
	int rc = om_lock_acquire(mine, PARK_WAIT);
	/* held: owner-died; not held: free, or held all the same if only
	 * the acquire's answer was lost */
	CHECK2(rc, OM_OWNER_DIED, held ? OM_OWNER_DIED : OM_OK);
	if (rc == OM_OK || rc == OM_OWNER_DIED)
		OK(om_lock_release(mine));
	om_release(mine);
}

/* A process killed while its get is parked: a later put is not lost to
 * it. */
static void parked_then_killed(om_client *c, const char *path)
{
	om_queue *q = NULL;
	if (!OK(om_queue_open(c, "pk", OM_CREATE, 0, &q)))
		return;
	int ready[2];
	if (pipe(ready)) {
		bad++;
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		om_client *k = NULL;
		om_queue *kq = NULL;
		if (om_connect(path, &k) == OM_OK &&
		    om_queue_open(k, "pk", 0, 0, &kq) == OM_OK) {
			om_item out;
			send_byte(ready[1]);
			om_queue_get(kq, &out, PARK_WAIT);
		}
		_exit(0);
	}
	close(ready[1]);
	om_server_stats st0;
	bool parked = false;
	if (wait_byte(ready[0], PARK_WAIT) == 0) {
		/* Parked once the server counts it (or its park failed). */
		for (int i = 0; i < 500 && !parked; i++) {
			parked = om_stats(c, &st0) == OM_OK && st0.parked >= 1;
			if (!parked)
				usleep(2000);
		}
	}
	close(ready[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	om_item out;
	if (OK(om_queue_put(q, om_int(77), 0)) &&
	    OK(om_queue_get(q, &out, PARK_WAIT)))
		EXPECT(is_int(&out, 77));
	om_release(q);
}

/* One connection parked on 8 queues at once, twice on the first: its
 * table of watched objects is full when a put answers one of those two.
 * Another client's thread puts, once the server has served all 9 gets
 * (parked them, or failed them). */
enum { NPM = 8 };

struct putter_arg {
	const char *path;
	atomic_bool ready; /* base taken: the gets may go */
};

static void *put_thread(void *arg)
{
	struct putter_arg *a = arg;
	om_client *b = try_connect(a->path);
	om_queue *q[NPM] = {0};
	for (int i = 0; b && i < NPM; i++) {
		char name[8];
		snprintf(name, sizeof name, "pm%d", i);
		OK(om_queue_open(b, name, OM_CREATE, 0, &q[i]));
	}
	om_server_stats st = {0};
	uint64_t base = 0, polls = 0;
	for (int i = 0; b && i < 3 && om_stats(b, &st) != OM_OK; i++)
		;
	base = st.requests;
	atomic_store(&a->ready, true);
	/* Every request counts, this client's stats too. */
	for (double end = now() + 2; b && now() < end; usleep(1000)) {
		polls++;
		if (om_stats(b, &st) == OM_OK &&
		    st.requests >= base + polls + NPM + 1)
			break;
	}
	for (int i = 0; b && i <= NPM; i++) {
		int k = i < NPM ? i : 0; /* pm0 twice */
		for (int try = 0; try < 3; try++) {
			int rc = ON(q[k], om_queue_put(q[k], om_int(k), 0));
			if (OK(rc) || rc != OM_ENOMEM)
				break;
		}
	}
	om_disconnect(b);
	return NULL;
}

static void parked_many(om_client *c, const char *path)
{
	om_queue *q[NPM] = {0};
	for (int i = 0; i < NPM; i++) {
		char name[8];
		snprintf(name, sizeof name, "pm%d", i);
		if (!OK(om_queue_open(c, name, OM_CREATE, 0, &q[i])))
			goto out;
	}
	struct putter_arg a = {.path = path};
	pthread_t t;
	if (pthread_create(&t, NULL, put_thread, &a)) {
		bad++;
		goto out;
	}
	while (!atomic_load(&a.ready))
		usleep(1000);
	om_item out[NPM + 1];
	int rcs[NPM + 1];
	if (OK(om_pipeline_begin(c))) {
		/* pm0 twice first: the 8th watch fills the table */
		for (int i = 0; i <= NPM; i++) {
			out[i] = om_nil();
			om_queue_get(q[i ? i - 1 : 0], &out[i], 3);
		}
		om_pipeline_end(c, rcs, NPM + 1);
		for (int i = 0; i <= NPM; i++) {
			if (CHECK2(rcs[i], OM_OK, OM_EEMPTY))
				EXPECT(is_int(&out[i], i ? i - 1 : 0));
		}
	}
	pthread_join(t, NULL);
out:
	for (int i = 0; i < NPM; i++)
		if (q[i])
			om_release(q[i]);
}

/* ------------------------------------------------------------ a sequence */

struct run {
	struct server s;
	uint64_t n;
	char report[300];
	pid_t child;
};

static int sequence(void *arg)
{
	const struct run *r = arg;
	const char *path = r->s.path;
	om_client *c = try_connect(path);
	if (!c)
		return bad ? 1 : 0;
	struct objs anon = {0}, named = {0}, again = {0};
	open_all(c, NULL, &anon);
	open_all(c, "n", &named);
	open_all(c, "n", &again); /* the named ones, opened again */
	use_dict(c, anon.d, &anon);
	use_dict(c, named.d, &named);
	use_big(anon.d);
	use_list(c, anon.l, anon.d);
	use_long(c);
	use_queue(c, anon.q);
	use_sync(&anon);
	use_value_array(&anon);
	use_value_array(&named);
	use_pipeline(c);
	use_pipe(c);
	parked_acquire(path);
	holder_disconnects(c, path);
	parked_then_killed(c, path);
	parked_many(c, path);
	release_all(&again);
	release_all(&named);
	om_disconnect(c); /* the anonymous ones go with the connection */
	/* Unlink every name, on a new connection (c's may have been closed)
	 * and retried (a fault fails one try, or only its answer), so that
	 * nothing is left (ping_works()). */
	if (!(c = try_connect(path)))
		return bad ? 1 : 0;
	for (int i = 0; i < 13 + NPM; i++) {
		static const char *const more[] = {"held", "gone", "pk"};
		char name[8];
		if (i < 10)
			snprintf(name, sizeof name, "n%d", i);
		else if (i < 13)
			snprintf(name, sizeof name, "%s", more[i - 10]);
		else
			snprintf(name, sizeof name, "pm%d", i - 13);
		for (int try = 0; try < 3; try++) {
			int rc = om_unlink(c, name);
			if (CHECK2(rc, OM_OK, OM_ENOENT) || rc != OM_ENOMEM)
				break;
		}
	}
	om_disconnect(c);
	return bad ? 1 : 0;
}

/* --------------------------------------------------------------- the walk */

/* "counted C failed F" from r's report: false if there is none. */
static bool read_report(const struct run *r, unsigned long long *counted,
                        unsigned long long *failed, char *site, size_t cap)
{
	FILE *f = fopen(r->report, "r");
	if (!f)
		return false;
	char line[512] = "";
	bool ok =
	        fgets(line, sizeof line, f) &&
	        sscanf(line, "counted %llu failed %llu", counted, failed) == 2;
	fclose(f);
	unlink(r->report);
	const char *at = strstr(line, " at ");
	snprintf(site, cap, "%s", at ? at + 4 : "nowhere\n");
	return ok;
}

/* Nothing left: every object of the sequence freed, every stored byte
 * refunded, no call parked, only the caller's connection. */
static bool nothing_left(void *arg)
{
	void **p = arg;
	om_server_stats *st = p[1];
	return om_stats(p[0], st) == OM_OK && !st->objects && !st->bytes &&
	       !st->parked && st->connections == 1;
}

/* A fresh client pings s (the first try may meet the fault, not both);
 * then the server must come back to holding nothing: `why` says what is
 * wrong, or is NULL. */
static const char *ping_works(const struct server *s, om_server_stats *st)
{
	om_client *c = NULL;
	int rc = OM_ECONN;
	for (int i = 0; i < 2 && rc != OM_OK; i++) {
		om_disconnect(c);
		c = NULL;
		rc = om_connect(s->path, &c);
		if (rc == OM_OK)
			rc = om_ping(c);
	}
	const char *why = NULL;
	if (rc != OM_OK)
		why = "a fresh client cannot ping the server";
	else if (!poll_until(nothing_left, (void *[]){c, st}, 5))
		why = "the server still holds something";
	om_disconnect(c);
	return why;
}

static int failures;
static bool verbose;          /* FAULTS_ONLY */
static uint64_t walked = 200; /* the one-shot walk's end (test_walk) */

#define FAIL_N(r, ...)                                                    \
	do {                                                              \
		fprintf(stderr, "N=%llu%s: ", (unsigned long long)(r)->n, \
		        mode);                                            \
		fprintf(stderr, __VA_ARGS__);                             \
		fputc('\n', stderr);                                      \
		failures++;                                               \
	} while (0)

/* Run the sequence with the Nth allocation failing for each N in
 * [first, first + count): in parallel, one server each. Returns how many
 * of them reached their fault. */
static int walk_batch(uint64_t first, int count, bool repeat,
                      int (*seq)(void *))
{
	const char *mode = repeat ? " (persistent)" : "";
	struct run runs[PARALLEL];
	const char *tmp = getenv("TMPDIR");
	for (int i = 0; i < count; i++) {
		struct run *r = &runs[i];
		memset(r, 0, sizeof *r);
		r->n = first + (uint64_t)i;
		snprintf(r->report, sizeof r->report,
		         "%s/objmgr-faults-%d-%d.txt",
		         tmp && *tmp ? tmp : "/tmp", (int)getpid(), i);
		unlink(r->report);
		char n[32];
		snprintf(n, sizeof n, "%llu", (unsigned long long)r->n);
		setenv("OBJMGR_FAIL_ALLOC", n, 1);
		setenv("OBJMGR_FAIL_ALLOC_REPEAT", repeat ? "1" : "0", 1);
		setenv("OBJMGR_FAULT_REPORT", r->report, 1);
		server_start(&r->s, NULL);
	}
	unsetenv("OBJMGR_FAIL_ALLOC");
	unsetenv("OBJMGR_FAIL_ALLOC_REPEAT");
	unsetenv("OBJMGR_FAULT_REPORT");
	persistent = repeat;
	for (int i = 0; i < count; i++)
		runs[i].child = spawn_child(seq, &runs[i]);
	int reached = 0;
	for (int i = 0; i < count; i++) {
		struct run *r = &runs[i];
		int before = failures;
		int st = reap(r->child, SEQ_SECS);
		if (st == -2)
			FAIL_N(r, "the sequence hung (killed after %d s)",
			       SEQ_SECS);
		else if (st != 0)
			FAIL_N(r, "the sequence got wrong answers (exit %d)",
			       st);
		om_server_stats ss = {0};
		const char *why = repeat ? NULL : ping_works(&r->s, &ss);
		if (why)
			FAIL_N(r,
			       "%s (objects %llu, bytes %llu, parked %llu, "
			       "connections %llu)",
			       why, (unsigned long long)ss.objects,
			       (unsigned long long)ss.bytes,
			       (unsigned long long)ss.parked,
			       (unsigned long long)ss.connections);
		st = server_end(&r->s);
		if (st != 0)
			FAIL_N(r, "the server exited with %d on SIGTERM", st);
		unsigned long long counted = 0, failed = 0;
		char site[400] = "nowhere\n";
		if (!read_report(r, &counted, &failed, site, sizeof site))
			FAIL_N(r, "the server wrote no report");
		else if (failed)
			reached++;
		/* addr2line -e FILE OFFSET: the line that got NULL */
		if (failures > before || verbose)
			fprintf(failures > before ? stderr : stdout,
			        "N=%llu%s: %llu allocations counted, %llu "
			        "failed, the Nth at %s",
			        (unsigned long long)r->n, mode, counted, failed,
			        site);
	}
	return reached;
}

static void test_walk(void **state)
{
	(void)state;
	double t0 = now();
	uint64_t n = 1;
	const char *only = getenv("FAULTS_ONLY"); /* to rerun one N */
	if (only && *only) {
		n = strtoull(only, NULL, 10);
		verbose = true;
		walk_batch(n, 1, getenv("FAULTS_REPEAT") != NULL, sequence);
		assert_int_equal(failures, 0);
		return;
	}
	for (; n < MAX_N; n += PARALLEL)
		if (walk_batch(n, PARALLEL, false, sequence) == 0)
			break;
	walked = n;
	printf("one-shot walk: N = 1..%llu in %.1f s, %d failures\n",
	       (unsigned long long)n + PARALLEL - 1, now() - t0, failures);
	assert_true(n < MAX_N);
	assert_int_equal(failures, 0);
}

static void test_persistent(void **state)
{
	(void)state;
	failures = 0;
	double t0 = now();
	/* From the first connection on, and from points through the walk. */
	uint64_t at[] = {1,          walked / 8,     walked / 4,
	                 walked / 2, walked * 3 / 4, walked - 10};
	size_t n = sizeof at / sizeof at[0];
	for (size_t i = 0; i < n; i++)
		walk_batch(at[i] ? at[i] : 1, PARALLEL, true, sequence);
	printf("persistent: %zu runs in %.1f s, %d failures\n", n * PARALLEL,
	       now() - t0, failures);
	assert_int_equal(failures, 0);
}

/* ------------------------------------------------- no item is lost */

/*
 * An item taken out (queue get, dict pop and popitem, list pop) is never
 * lost to a failed allocation: call_result_take() makes room for the
 * answer in the connection's output before it takes the item, so either
 * the take fails with OM_ENOMEM and the item stays, or its answer is
 * queued. (Before, the item was removed, then the answer could not be
 * queued, and the client got OM_ENOMEM with the item gone.)
 */
static int lost_take(void *arg)
{
	const struct run *r = arg;
	static char big[100000]; /* its answer must grow conn->out */
	om_client *c = try_connect(r->s.path);
	om_queue *q = NULL;
	om_item out;
	size_t n = 0;
	if (c && OK(om_queue_open(c, NULL, 0, 0, &q)) &&
	    OK(om_queue_put(q, om_bytes(big, sizeof big), 0))) {
		int rc = om_queue_get(q, &out, 0);
		if (OK(rc))
			om_item_free(&out);
		else if (rc == OM_ENOMEM && OK(om_queue_size(q, &n)) && n != 1)
			fprintf(stderr, "a get failed with ENOMEM and its "
			                "item is gone\n"),
			        bad++;
	}
	om_disconnect(c);
	return bad ? 1 : 0;
}

static void test_no_lost_take(void **state)
{
	(void)state;
	failures = 0;
	for (uint64_t n = 1; n < 200; n += PARALLEL)
		if (walk_batch(n, PARALLEL, false, lost_take) == 0)
			break;
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_walk),
	        cmocka_unit_test(test_persistent),
	        cmocka_unit_test(test_no_lost_take),
	};
	return RUN(tests, 900, NULL, NULL);
}
