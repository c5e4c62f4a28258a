/*
 * test_sync.c — the synchronisation objects, after CPython's _TestLock,
 * _TestSemaphore, _TestCondition, _TestEvent and _TestBarrier: what lock,
 * rlock, semaphore, condition, event and barrier calls return, when they
 * block and what a timeout returns (never sooner than asked); forked
 * children contending for them (ticket grabbing under a named lock, a
 * semaphore that never has more than its permits out, ping-pong over two
 * queues); and the session guarantees under a real SIGKILL: a dead lock or
 * rlock holder hands the lock to the next acquirer with OM_OWNER_DIED, a
 * dead barrier party breaks the barrier, a dead semaphore holder keeps its
 * permit.
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

/* d[key] as an int (0 if absent); -1000 on error. */
static int64_t dict_int(om_dict *d, const char *key)
{
	om_item v;
	int rc = om_dict_get(d, om_str(key), &v);
	if (rc == OM_ENOKEY)
		return 0;
	if (rc != OM_OK)
		return -1000;
	if (v.kind != OM_INT) {
		om_item_free(&v);
		return -1000;
	}
	return v.i;
}

struct dict_want {
	om_dict *d;
	const char *key;
	int64_t want;
};

static bool dict_reached(void *p)
{
	const struct dict_want *w = p;
	return dict_int(w->d, w->key) == w->want;
}

/* Until d[key] == want (bounded by `seconds`): waits for other processes'
 * progress, asserts nothing about timing. */
static bool wait_dict(om_dict *d, const char *key, int64_t want, int seconds)
{
	struct dict_want w = {d, key, want};
	return poll_until(dict_reached, &w, seconds);
}

struct waiting_want {
	om_barrier *b;
	unsigned want;
};

static bool n_waiting_reached(void *p)
{
	const struct waiting_want *w = p;
	unsigned n;
	return om_barrier_n_waiting(w->b, &n) == OM_OK && n == w->want;
}

static bool wait_n_waiting(om_barrier *b, unsigned want, int seconds)
{
	struct waiting_want w = {b, want};
	return poll_until(n_waiting_reached, &w, seconds);
}

#define expect_elapsed_at_least(t0, secs)                                      \
	do {                                                                   \
		double dt_ = now() - (t0);                                     \
		assert_true(dt_ >= (secs) - 0.001);                            \
		assert_true(dt_ < 10.0);                                       \
	} while (0)

/* ------------------------------------------------------------------ lock */

static int child_lock_held(void *p)
{
	om_lock *l = p;
	bool locked = false;
	if (om_lock_locked(l, &locked) != OM_OK || !locked)
		return 1;
	if (om_lock_acquire(l, 0) != OM_ETIMEOUT)
		return 2;
	double t0 = now();
	if (om_lock_acquire(l, 0.2) != OM_ETIMEOUT)
		return 3;
	if (now() - t0 < 0.2 - 0.001)
		return 4;
	if (om_lock_release(l) != OM_ENOTOWNER)
		return 5;
	return 0;
}

static int child_lock_free(void *p)
{
	om_lock *l = p;
	if (om_lock_acquire(l, 10) != OM_OK)
		return 1;
	if (om_lock_release(l) != OM_OK)
		return 2;
	return 0;
}

static void test_lock(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_lock *l;
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	bool locked = true;
	expect_ok(c, om_lock_locked(l, &locked));
	assert_false(locked);
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	expect_ok(c, om_lock_acquire(l, OM_FOREVER));
	expect_ok(c, om_lock_locked(l, &locked));
	assert_true(locked);
	/* the holder acquiring again blocks like anyone else */
	expect_rc(c, om_lock_acquire(l, 0), OM_ETIMEOUT);
	double t0 = now();
	expect_rc(c, om_lock_acquire(l, 0.2), OM_ETIMEOUT);
	expect_elapsed_at_least(t0, 0.2);

	pid_t pid = spawn_child(child_lock_held, l);
	reap_all(&pid, 1);

	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_locked(l, &locked));
	assert_false(locked);
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	pid = spawn_child(child_lock_free, l);
	reap_all(&pid, 1);
	expect_ok(c, om_lock_acquire(l, 0));
	expect_ok(c, om_lock_release(l));
	om_disconnect(c);
}

static int child_rlock(void *p)
{
	om_lock *l = p;
	if (om_lock_acquire(l, 0) != OM_ETIMEOUT)
		return 1;
	if (om_lock_release(l) != OM_ENOTOWNER)
		return 2;
	return 0;
}

static void test_rlock(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_lock *l;
	expect_ok(c, om_lock_open(c, "sync.rlock", OM_CREATE | OM_RECURSIVE,
	                          &l));
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	for (int i = 0; i < 3; i++)
		expect_ok(c, om_lock_acquire(l, 0));
	pid_t pid = spawn_child(child_rlock, l);
	reap_all(&pid, 1);
	bool locked;
	for (int i = 0; i < 3; i++) {
		expect_ok(c, om_lock_locked(l, &locked));
		assert_true(locked);
		expect_ok(c, om_lock_release(l));
	}
	expect_ok(c, om_lock_locked(l, &locked));
	assert_false(locked);
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	expect_ok(c, om_unlink(c, "sync.rlock"));
	om_disconnect(c);
}

/* ------------------------------------------------------------- semaphore */

static void test_semaphore(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_sem *s, *b;
	unsigned v = 99;
	expect_ok(c, om_sem_open(c, NULL, 0, 2, &s));
	expect_ok(c, om_sem_value(s, &v));
	assert_int_equal(v, 2);
	expect_ok(c, om_sem_acquire(s, 0));
	expect_ok(c, om_sem_value(s, &v));
	assert_int_equal(v, 1);
	expect_ok(c, om_sem_acquire(s, OM_FOREVER));
	expect_ok(c, om_sem_value(s, &v));
	assert_int_equal(v, 0);
	expect_rc(c, om_sem_acquire(s, 0), OM_ETIMEOUT);
	double t0 = now();
	expect_rc(c, om_sem_acquire(s, 0.2), OM_ETIMEOUT);
	expect_elapsed_at_least(t0, 0.2);
	expect_ok(c, om_sem_release(s, 1));
	expect_ok(c, om_sem_value(s, &v));
	assert_int_equal(v, 1);
	expect_ok(c, om_sem_release(s, 2));
	expect_ok(c, om_sem_value(s, &v));
	assert_int_equal(v, 3); /* an unbounded one may exceed its start */
	for (int i = 0; i < 3; i++)
		expect_ok(c, om_sem_acquire(s, 0));
	expect_rc(c, om_sem_acquire(s, 0), OM_ETIMEOUT);

	expect_ok(c, om_sem_open(c, NULL, OM_BOUNDED, 2, &b));
	expect_rc(c, om_sem_release(b, 1), OM_EVALUE);
	expect_ok(c, om_sem_acquire(b, 0));
	expect_rc(c, om_sem_release(b, 2), OM_EVALUE);
	expect_ok(c, om_sem_value(b, &v));
	assert_int_equal(v, 1); /* nothing released */
	expect_ok(c, om_sem_release(b, 1));
	expect_ok(c, om_sem_value(b, &v));
	assert_int_equal(v, 2);
	expect_rc(c, om_sem_release(b, 1), OM_EVALUE);
	om_disconnect(c);
}

/* ------------------------------------------------------------- condition */

static void test_condition_basic(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_cond *cv;
	expect_ok(c, om_cond_open(c, NULL, 0, NULL, &cv));
	expect_rc(c, om_cond_wait(cv, 0.1), OM_ENOTOWNER);
	expect_rc(c, om_cond_notify(cv, 1), OM_ENOTOWNER);
	expect_rc(c, om_cond_notify_all(cv), OM_ENOTOWNER);
	expect_rc(c, om_cond_release(cv), OM_ENOTOWNER);
	expect_ok(c, om_cond_acquire(cv, 10));
	expect_ok(c, om_cond_notify(cv, 1)); /* nobody waits: fine */
	expect_ok(c, om_cond_notify_all(cv));
	double t0 = now();
	expect_rc(c, om_cond_wait(cv, 0.2), OM_ETIMEOUT);
	expect_elapsed_at_least(t0, 0.2);
	/* the lock is held again after the timeout */
	expect_ok(c, om_cond_release(cv));
	expect_rc(c, om_cond_release(cv), OM_ENOTOWNER);

	/* over an explicit recursive lock: wait releases it wholly */
	om_lock *l;
	om_cond *cv2;
	expect_ok(c, om_lock_open(c, NULL, OM_RECURSIVE, &l));
	expect_ok(c, om_cond_open(c, NULL, 0, l, &cv2));
	expect_ok(c, om_lock_acquire(l, 0));
	expect_ok(c, om_cond_acquire(cv2, 0));
	expect_rc(c, om_cond_wait(cv2, 0.05), OM_ETIMEOUT);
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_release(l));
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	om_disconnect(c);
}

struct cond_arg {
	om_cond *cv;
	om_dict *d;
};

static int child_cond_wait(void *p)
{
	struct cond_arg *a = p;
	if (om_cond_acquire(a->cv, 30) != OM_OK)
		return 1;
	if (om_dict_incr(a->d, om_str("waiting"), om_int(1), NULL) != OM_OK)
		return 2;
	if (om_cond_wait(a->cv, 30) != OM_OK)
		return 3;
	if (om_dict_incr(a->d, om_str("woken"), om_int(1), NULL) != OM_OK)
		return 4;
	if (om_cond_release(a->cv) != OM_OK)
		return 5;
	return 0;
}

enum { NCOND = 3 };

/* Each child counts itself under the lock and then waits, so once this
 * holds the lock and sees NCOND, all of them are parked in wait; it returns
 * true holding the lock. */
static bool all_waiting_locked(void *p)
{
	struct cond_arg *a = p;
	expect_ok(NULL, om_cond_acquire(a->cv, 30));
	if (dict_int(a->d, "waiting") == NCOND)
		return true;
	expect_ok(NULL, om_cond_release(a->cv));
	return false;
}

static void test_condition_notify(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct cond_arg a;
	expect_ok(c, om_cond_open(c, NULL, 0, NULL, &a.cv));
	expect_ok(c, om_dict_open(c, NULL, 0, &a.d));
	pid_t pids[NCOND];
	for (int i = 0; i < NCOND; i++)
		pids[i] = spawn_child(child_cond_wait, &a);
	assert_true(poll_until(all_waiting_locked, &a, 30));
	assert_int_equal(dict_int(a.d, "woken"), 0);
	expect_ok(c, om_cond_notify(a.cv, 1));
	expect_ok(c, om_cond_release(a.cv));
	/* A woken waiter queues for the lock at notify time, ahead of our
	 * next acquire, and counts itself while holding it: once we hold the
	 * lock again, exactly the one woken waiter has counted (a second,
	 * wrongly woken one would have too). */
	expect_ok(c, om_cond_acquire(a.cv, 30));
	assert_int_equal(dict_int(a.d, "woken"), 1);
	expect_ok(c, om_cond_notify(a.cv, 1));
	expect_ok(c, om_cond_release(a.cv));
	assert_true(wait_dict(a.d, "woken", 2, 30));

	expect_ok(c, om_cond_acquire(a.cv, 30));
	expect_ok(c, om_cond_notify_all(a.cv));
	expect_ok(c, om_cond_release(a.cv));
	assert_true(wait_dict(a.d, "woken", NCOND, 30));
	reap_all(pids, NCOND);
	om_disconnect(c);
}

/* ----------------------------------------------------------------- event */

struct event_arg {
	om_event *e;
	om_dict *d;
};

static int child_event_wait(void *p)
{
	struct event_arg *a = p;
	if (om_dict_incr(a->d, om_str("waiting"), om_int(1), NULL) != OM_OK)
		return 1;
	if (om_event_wait(a->e, 30) != OM_OK)
		return 2;
	bool set = false;
	if (om_event_is_set(a->e, &set) != OM_OK || !set)
		return 3;
	return 0;
}

enum { NEVENT = 4 };

static void test_event(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct event_arg a;
	expect_ok(c, om_event_open(c, NULL, 0, &a.e));
	expect_ok(c, om_dict_open(c, NULL, 0, &a.d));
	bool set = true;
	expect_ok(c, om_event_is_set(a.e, &set));
	assert_false(set);
	expect_rc(c, om_event_wait(a.e, 0), OM_ETIMEOUT);
	double t0 = now();
	expect_rc(c, om_event_wait(a.e, 0.2), OM_ETIMEOUT);
	expect_elapsed_at_least(t0, 0.2);

	pid_t pids[NEVENT];
	for (int i = 0; i < NEVENT; i++)
		pids[i] = spawn_child(child_event_wait, &a);
	assert_true(wait_dict(a.d, "waiting", NEVENT, 30));
	expect_ok(c, om_event_set(a.e));
	reap_all(pids, NEVENT);

	expect_ok(c, om_event_is_set(a.e, &set));
	assert_true(set);
	expect_ok(c, om_event_wait(a.e, 0));
	expect_ok(c, om_event_wait(a.e, OM_FOREVER));
	expect_ok(c, om_event_set(a.e)); /* again: still set */
	expect_ok(c, om_event_clear(a.e));
	expect_ok(c, om_event_is_set(a.e, &set));
	assert_false(set);
	expect_rc(c, om_event_wait(a.e, 0), OM_ETIMEOUT);
	om_disconnect(c);
}

/* --------------------------------------------------------------- barrier */

static int child_barrier_index(void *p)
{
	om_barrier *b = p;
	unsigned idx = 99;
	if (om_barrier_wait(b, 30, &idx) != OM_OK)
		return 1;
	if (idx >= 4)
		return 2;
	return 10 + (int)idx;
}

static void test_barrier_indexes(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_barrier *b;
	expect_rc(c, om_barrier_open(c, NULL, 0, 0, &b), OM_EINVAL);
	expect_ok(c, om_barrier_open(c, NULL, 0, 4, &b));
	unsigned n = 0;
	expect_ok(c, om_barrier_parties(b, &n));
	assert_int_equal(n, 4);
	expect_ok(c, om_barrier_n_waiting(b, &n));
	assert_int_equal(n, 0);
	for (int round = 0; round < 2; round++) {
		pid_t pids[4];
		for (int i = 0; i < 4; i++)
			pids[i] = spawn_child(child_barrier_index, b);
		bool seen[4] = {false};
		for (int i = 0; i < 4; i++) {
			int st = reap(pids[i], 60);
			if (st < 10 || st > 13)
				print_error("child %d exited with %d\n", i, st);
			assert_true(st >= 10 && st <= 13);
			assert_false(seen[st - 10]);
			seen[st - 10] = true;
		}
	}
	bool broken = true;
	expect_ok(c, om_barrier_broken(b, &broken));
	assert_false(broken);
	/* a one-party barrier passes at once */
	om_barrier *one;
	unsigned idx = 99;
	expect_ok(c, om_barrier_open(c, NULL, 0, 1, &one));
	expect_ok(c, om_barrier_wait(one, 0, &idx));
	assert_int_equal(idx, 0);
	expect_ok(c, om_barrier_wait(one, OM_FOREVER, NULL));
	om_disconnect(c);
}

/* exit 20 if the wait was broken, 21 if it passed, 22 on timeout */
static int child_barrier_broken(void *p)
{
	om_barrier *b = p;
	int rc = om_barrier_wait(b, 30, NULL);
	return rc == OM_EBROKEN ? 20 : rc == OM_OK ? 21 :
	       rc == OM_ETIMEOUT ? 22 : 1;
}

static void test_barrier_abort_reset(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_barrier *b;
	expect_ok(c, om_barrier_open(c, NULL, 0, 3, &b));
	pid_t pid = spawn_child(child_barrier_broken, b);
	assert_true(wait_n_waiting(b, 1, 30));
	expect_ok(c, om_barrier_abort(b));
	assert_int_equal(reap(pid, 60), 20);
	bool broken = false;
	expect_ok(c, om_barrier_broken(b, &broken));
	assert_true(broken);
	expect_rc(c, om_barrier_wait(b, 10, NULL), OM_EBROKEN);
	expect_ok(c, om_barrier_reset(b));
	expect_ok(c, om_barrier_broken(b, &broken));
	assert_false(broken);

	/* reset while a party waits: it gets EBROKEN, the barrier works */
	pid = spawn_child(child_barrier_broken, b);
	assert_true(wait_n_waiting(b, 1, 30));
	expect_ok(c, om_barrier_reset(b));
	assert_int_equal(reap(pid, 60), 20);
	expect_ok(c, om_barrier_broken(b, &broken));
	assert_false(broken);
	pid_t pids[2];
	pids[0] = spawn_child(child_barrier_broken, b);
	pids[1] = spawn_child(child_barrier_broken, b);
	expect_ok(c, om_barrier_wait(b, 30, NULL));
	assert_int_equal(reap(pids[0], 60), 21);
	assert_int_equal(reap(pids[1], 60), 21);
	om_disconnect(c);
}

static void test_barrier_timeout(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_barrier *b;
	expect_ok(c, om_barrier_open(c, NULL, 0, 3, &b));
	pid_t pid = spawn_child(child_barrier_broken, b);
	assert_true(wait_n_waiting(b, 1, 30));
	double t0 = now();
	expect_rc(c, om_barrier_wait(b, 0.2, NULL), OM_ETIMEOUT);
	expect_elapsed_at_least(t0, 0.2);
	assert_int_equal(reap(pid, 60), 20);
	bool broken = false;
	expect_ok(c, om_barrier_broken(b, &broken));
	assert_true(broken);
	expect_rc(c, om_barrier_wait(b, 0, NULL), OM_EBROKEN);
	expect_ok(c, om_barrier_reset(b));
	expect_ok(c, om_barrier_broken(b, &broken));
	assert_false(broken);
	om_disconnect(c);
}

/* ------------------------------------------------------- seed scenarios */

enum { NTICKET = 10 };

static int child_ticket(void *p)
{
	om_client *c = NULL;
	if (om_connect(((struct server *)p)->path, &c) != OM_OK)
		return 1;
	om_lock *l;
	om_dict *d;
	if (om_lock_open(c, "tickets.lock", 0, &l) != OM_OK ||
	    om_dict_open(c, "tickets.dict", 0, &d) != OM_OK)
		return 2;
	if (om_lock_acquire(l, 30) != OM_OK)
		return 3;
	int64_t n = dict_int(d, "count");
	if (n < 0)
		return 4;
	if (n > 0) {
		if (om_dict_set(d, om_str("count"), om_int(n - 1)) != OM_OK)
			return 5;
		if (om_dict_incr(d, om_str("sold"), om_int(1), NULL) != OM_OK)
			return 6;
	}
	if (om_lock_release(l) != OM_OK)
		return 7;
	om_disconnect(c);
	return 0;
}

static void test_tickets(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_lock *l;
	om_dict *d;
	expect_ok(c, om_lock_open(c, "tickets.lock", OM_CREATE, &l));
	expect_ok(c, om_dict_open(c, "tickets.dict", OM_CREATE, &d));
	expect_ok(c, om_dict_set(d, om_str("count"), om_int(3)));
	pid_t pids[NTICKET];
	for (int i = 0; i < NTICKET; i++)
		pids[i] = spawn_child(child_ticket, &srv);
	reap_all(pids, NTICKET);
	assert_int_equal(dict_int(d, "sold"), 3);
	assert_int_equal(dict_int(d, "count"), 0);
	expect_ok(c, om_unlink(c, "tickets.lock"));
	expect_ok(c, om_unlink(c, "tickets.dict"));
	om_disconnect(c);
}

struct holders_arg {
	om_sem *s;
	om_dict *d;
};

static int child_holder(void *p)
{
	struct holders_arg *a = p;
	for (int i = 0; i < 5; i++) {
		if (om_sem_acquire(a->s, 30) != OM_OK)
			return 1;
		om_item v;
		if (om_dict_incr(a->d, om_str("holders"), om_int(1), &v) !=
		    OM_OK)
			return 2;
		if (v.i > 3 || v.i < 1)
			return 3;
		usleep(1000);
		if (om_dict_incr(a->d, om_str("holders"), om_int(-1), NULL) !=
		    OM_OK)
			return 4;
		if (om_sem_release(a->s, 1) != OM_OK)
			return 5;
	}
	return 0;
}

enum { NHOLDER = 13 };

static void test_sem_holders(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct holders_arg a;
	expect_ok(c, om_sem_open(c, NULL, OM_BOUNDED, 3, &a.s));
	expect_ok(c, om_dict_open(c, NULL, 0, &a.d));
	expect_ok(c, om_dict_set(a.d, om_str("holders"), om_int(0)));
	pid_t pids[NHOLDER];
	for (int i = 0; i < NHOLDER; i++)
		pids[i] = spawn_child(child_holder, &a);
	reap_all(pids, NHOLDER);
	assert_int_equal(dict_int(a.d, "holders"), 0);
	unsigned v;
	expect_ok(c, om_sem_value(a.s, &v));
	assert_int_equal(v, 3);
	om_disconnect(c);
}

struct pp_arg {
	om_queue *to, *from;
};

enum { ROUNDS = 100 };

static int child_pong(void *p)
{
	struct pp_arg *a = p;
	for (int i = 0; i < ROUNDS; i++) {
		om_item v;
		if (om_queue_get(a->to, &v, 30) != OM_OK)
			return 1;
		if (v.kind != OM_INT || v.i != 2 * i)
			return 2;
		if (om_queue_put(a->from, om_int(v.i + 1), 30) != OM_OK)
			return 3;
	}
	return 0;
}

static void test_ping_pong(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct pp_arg a;
	expect_ok(c, om_queue_open(c, NULL, 0, 0, &a.to));
	expect_ok(c, om_queue_open(c, NULL, 0, 0, &a.from));
	pid_t pid = spawn_child(child_pong, &a);
	int64_t x = 0;
	for (int i = 0; i < ROUNDS; i++) {
		expect_ok(c, om_queue_put(a.to, om_int(x), 30));
		om_item v;
		expect_ok(c, om_queue_get(a.from, &v, 30));
		assert_int_item(&v, x + 1);
		x = v.i + 1;
	}
	assert_int_equal(x, 2 * ROUNDS);
	reap_all(&pid, 1);
	size_t n = 9;
	expect_ok(c, om_queue_size(a.to, &n));
	assert_int_equal(n, 0);
	expect_ok(c, om_queue_size(a.from, &n));
	assert_int_equal(n, 0);
	om_disconnect(c);
}

/* ------------------------------------------------------ killed holders */

struct hold_arg {
	om_lock *l;
	om_sem *s;
	int depth;
	int fd; /* write end: a byte once held */
};

static int child_hold_lock(void *p)
{
	struct hold_arg *a = p;
	for (int i = 0; i < a->depth; i++)
		if (om_lock_acquire(a->l, 30) != OM_OK)
			return 1;
	if (send_byte(a->fd))
		return 2;
	pause(); /* until SIGKILL (spawn_child's alarm bounds it) */
	return 3;
}

/* Start a child that takes the lock `depth` times and is then SIGKILLed;
 * returns after it is reaped. */
static void kill_holder(om_lock *l, int depth, pid_t *pid)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct hold_arg a = {.l = l, .depth = depth, .fd = p[1]};
	*pid = spawn_child(child_hold_lock, &a);
	close(p[1]);
	int got = wait_byte(p[0], 30);
	close(p[0]);
	if (got) {
		reap(*pid, 1);
		fail_msg("lock holder did not report");
	}
}

static void sigkill_reap(pid_t pid)
{
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid, 30), -1); /* killed by the signal */
}

static void test_lock_holder_killed(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_lock *l;
	expect_ok(c, om_lock_open(c, NULL, 0, &l));
	pid_t pid;
	kill_holder(l, 1, &pid);
	bool locked = false;
	expect_ok(c, om_lock_locked(l, &locked));
	assert_true(locked);
	expect_rc(c, om_lock_acquire(l, 0), OM_ETIMEOUT);
	sigkill_reap(pid);
	expect_rc(c, om_lock_acquire(l, 10), OM_OWNER_DIED);
	expect_ok(c, om_lock_release(l));
	expect_ok(c, om_lock_acquire(l, 10)); /* told once */
	expect_ok(c, om_lock_release(l));
	om_disconnect(c);
}

struct waiter_arg {
	om_lock *l;
	om_dict *d;
};

/* exit 42: OM_OWNER_DIED, 43: plain OK */
static int child_lock_waiter(void *p)
{
	struct waiter_arg *a = p;
	if (om_dict_incr(a->d, om_str("w"), om_int(1), NULL) != OM_OK)
		return 1;
	int rc = om_lock_acquire(a->l, 30);
	if (rc != OM_OK && rc != OM_OWNER_DIED)
		return 2;
	if (om_lock_release(a->l) != OM_OK)
		return 3;
	return rc == OM_OWNER_DIED ? 42 : 43;
}

static void test_lock_holder_killed_waiter(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	struct waiter_arg a;
	expect_ok(c, om_lock_open(c, NULL, 0, &a.l));
	expect_ok(c, om_dict_open(c, NULL, 0, &a.d));
	pid_t holder;
	kill_holder(a.l, 1, &holder);
	wait_stat(c, parked, 0);
	pid_t waiter = spawn_child(child_lock_waiter, &a);
	wait_blocked(c, waiter, 1); /* the waiter waits behind the holder */
	sigkill_reap(holder);
	assert_int_equal(reap(waiter, 60), 42);
	expect_ok(c, om_lock_acquire(a.l, 10)); /* released cleanly */
	expect_ok(c, om_lock_release(a.l));
	om_disconnect(c);
}

static void test_rlock_holder_killed(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_lock *l;
	expect_ok(c, om_lock_open(c, NULL, OM_RECURSIVE, &l));
	pid_t pid;
	kill_holder(l, 3, &pid);
	expect_rc(c, om_lock_acquire(l, 0), OM_ETIMEOUT);
	sigkill_reap(pid);
	expect_rc(c, om_lock_acquire(l, 10), OM_OWNER_DIED);
	expect_ok(c, om_lock_release(l)); /* depth 1: ours alone */
	expect_rc(c, om_lock_release(l), OM_ENOTOWNER);
	bool locked = true;
	expect_ok(c, om_lock_locked(l, &locked));
	assert_false(locked);
	om_disconnect(c);
}

static int child_barrier_park(void *p)
{
	om_barrier *b = p;
	om_barrier_wait(b, 30, NULL);
	return 3; /* should have been killed first */
}

static void test_barrier_party_killed(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_barrier *b;
	expect_ok(c, om_barrier_open(c, NULL, 0, 3, &b));
	pid_t pid = spawn_child(child_barrier_park, b);
	assert_true(wait_n_waiting(b, 1, 30));
	sigkill_reap(pid);
	/* the server notices the death asynchronously: another party that
	 * waits now either finds it broken or sees it break */
	pid = spawn_child(child_barrier_broken, b);
	assert_int_equal(reap(pid, 60), 20);
	bool broken = false;
	expect_ok(c, om_barrier_broken(b, &broken));
	assert_true(broken);
	expect_rc(c, om_barrier_wait(b, 10, NULL), OM_EBROKEN);
	om_disconnect(c);
}

static int child_sem_hold(void *p)
{
	struct hold_arg *a = p;
	if (om_sem_acquire(a->s, 30) != OM_OK)
		return 1;
	if (send_byte(a->fd))
		return 2;
	pause();
	return 3;
}

static void test_sem_holder_killed(void **state)
{
	(void)state;
	om_client *c = client(&srv);
	om_sem *s;
	expect_ok(c, om_sem_open(c, NULL, 0, 2, &s));
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct hold_arg a = {.s = s, .fd = p[1]};
	pid_t pid = spawn_child(child_sem_hold, &a);
	close(p[1]);
	int got = wait_byte(p[0], 30);
	close(p[0]);
	if (got) {
		reap(pid, 1);
		fail_msg("semaphore holder did not report");
	}
	unsigned v = 99;
	expect_ok(c, om_sem_value(s, &v));
	assert_int_equal(v, 1);
	sigkill_reap(pid);
	settle(c); /* the server has dropped the dead connection */
	expect_ok(c, om_sem_value(s, &v));
	assert_int_equal(v, 1); /* the permit is not given back */
	expect_ok(c, om_sem_acquire(s, 0));
	expect_rc(c, om_sem_acquire(s, 0), OM_ETIMEOUT);
	om_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_rlock),
		cmocka_unit_test(test_semaphore),
		cmocka_unit_test(test_condition_basic),
		cmocka_unit_test(test_condition_notify),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_barrier_indexes),
		cmocka_unit_test(test_barrier_abort_reset),
		cmocka_unit_test(test_barrier_timeout),
		cmocka_unit_test(test_tickets),
		cmocka_unit_test(test_sem_holders),
		cmocka_unit_test(test_ping_pong),
		cmocka_unit_test(test_lock_holder_killed),
		cmocka_unit_test(test_lock_holder_killed_waiter),
		cmocka_unit_test(test_rlock_holder_killed),
		cmocka_unit_test(test_barrier_party_killed),
		cmocka_unit_test(test_sem_holder_killed),
	};
	return RUN(tests, 110, srv_setup, srv_teardown);
}
