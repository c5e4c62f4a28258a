/*
 * lock.c — the LOCK type (Python's Lock and, with OM_RECURSIVE, RLock),
 * and the lock rules of lock.h that the CONDITION type shares.
 *
 * The holder is a connection, not a process or a thread: whoever acquired
 * on a connection releases on it, and when the connection ends with the
 * lock held the server releases it (wholly, for an RLock) and tells the
 * next acquirer OM_OWNER_DIED once — where Python's manager would leave it
 * held forever. Waiting acquirers are parked (waiter.h), never blocking the
 * loop, and served in arrival order: a release hands the lock directly to
 * the first parked acquirer whose connection is alive, so the lock is never
 * free while someone waits for it and a newcomer cannot jump the queue.
 *
 * The same queue also holds a condition's waiters that want the lock back
 * (see lock.h): they are answered as the condition's WAIT, with their old
 * depth restored.
 */
#include <stdlib.h>

#include "lock.h"

struct lock {
	struct obj o;
	struct lock_state st;
};

/* ------------------------------------------------------------ lock rules */

/* The lock is free: hand it to the first parked acquirer that can take it.
 * A waiter whose peer is gone is dropped rather than given a lock that
 * only its conn_gone() would take back. */
static void hand_on(struct lock_state *l)
{
	struct waiter *w;
	while (!l->holder && (w = wait_list_head_alive(&l->acquirers))) {
		struct lock_waiter *lw = container_of(w, struct lock_waiter, w);
		if (conn_watch(w->conn, l->watch) != OM_OK) {
			waiter_answer(w, OM_ENOMEM);
			continue;
		}
		l->holder = w->conn;
		l->depth = lw->depth;
		int code = lw->code;
		if (l->owner_died) {
			l->owner_died = false;
			code = OM_OWNER_DIED;
		}
		waiter_answer(w, code);
	}
}

void lock_state_init(struct lock_state *l, struct obj *watch, bool recursive)
{
	l->watch = watch;
	l->holder = NULL;
	l->depth = 0;
	l->recursive = recursive;
	l->owner_died = false;
	l->acquirers.head = l->acquirers.tail = NULL;
	l->acquirers.n = 0;
}

void lock_state_clear(struct lock_state *l)
{
	wait_list_answer_all(&l->acquirers, OM_ECLOSED);
}

int lock_acquire(struct lock_state *l, struct obj *o, struct call *c)
{
	double timeout = c->req->timeout;
	if (!l->holder)
		hand_on(l); /* never true with waiters parked; cheap to ensure
		             */
	if (!l->holder) {
		if (conn_watch(c->conn, l->watch) != OM_OK)
			return call_err(c, OM_ENOMEM, "out of memory");
		l->holder = c->conn;
		l->depth = 1;
		if (l->owner_died) {
			l->owner_died = false;
			return OM_OWNER_DIED;
		}
		return OM_OK;
	}
	if (l->holder == c->conn && l->recursive) {
		if (l->depth == UINT64_MAX)
			return call_err(c, OM_EVALUE,
			                "lock acquired too often");
		l->depth++;
		return OM_OK;
	}
	/* Held by another, or by this connection on a plain lock: that
	 * blocks like any acquirer, as in Python. */
	if (timeout == 0)
		return OM_ETIMEOUT;
	struct waiter *w;
	int rc = waiter_park(c, o, &l->acquirers, timeout, waiter_expire,
	                     sizeof(struct lock_waiter), &w);
	if (rc == CALL_PARKED) {
		struct lock_waiter *lw = container_of(w, struct lock_waiter, w);
		lw->depth = 1;
		lw->code = OM_OK;
	}
	return rc;
}

int lock_release(struct lock_state *l, struct call *c)
{
	if (l->holder != c->conn)
		return call_err(c, OM_ENOTOWNER,
		                "cannot release un-acquired lock");
	if (--l->depth > 0)
		return OM_OK;
	l->holder = NULL;
	conn_unwatch(c->conn, l->watch);
	hand_on(l);
	return OM_OK;
}

uint64_t lock_release_all(struct lock_state *l)
{
	uint64_t depth = l->depth;
	struct conn *conn = l->holder;

	l->holder = NULL;
	l->depth = 0;
	conn_unwatch(conn, l->watch);
	hand_on(l);
	return depth;
}

/* The deadline of a waiter already queued for the lock. */
static void requeued_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	(void)w;
}

void lock_requeue(struct lock_state *l, struct lock_waiter *lw, int code)
{
	lw->code = code;
	lw->w.on_timeout = requeued_timeout;
	waiter_move(&lw->w, &l->acquirers);
	if (!l->holder)
		hand_on(l);
}

void lock_conn_gone(struct lock_state *l, struct conn *conn)
{
	wait_list_drop_conn(&l->acquirers, conn);
	if (l->holder != conn)
		return;
	/* No conn_unwatch: the ending connection drops its watches itself. */
	l->holder = NULL;
	l->depth = 0;
	l->owner_died = true;
	hand_on(l);
}

/* ------------------------------------------------------------ operations */

/* LOCK_ACQUIRE timeout -> OK | OWNER_DIED | ETIMEOUT */
static int lock_acquire_op(struct obj *o, struct call *c)
{
	return lock_acquire(&((struct lock *)o)->st, o, c);
}

/* LOCK_RELEASE | ENOTOWNER */
static int lock_release_op(struct obj *o, struct call *c)
{
	return lock_release(&((struct lock *)o)->st, c);
}

/* LOCK_LOCKED -> num 0/1 */
static int lock_locked_op(struct obj *o, struct call *c)
{
	call_num(c, ((struct lock *)o)->st.holder != NULL);
	return OM_OK;
}

struct lock_state *lock_state_of(struct obj *o)
{
	return o && o->type == &lock_type ? &((struct lock *)o)->st : NULL;
}

/* OPEN LOCK; OM_RECURSIVE makes it an RLock. */
static int lock_init(struct obj *o, struct call *c)
{
	struct lock *x = (struct lock *)o;
	lock_state_init(&x->st, o, (c->req->num2 & OM_RECURSIVE) != 0);
	return OM_OK;
}

static void lock_fini(struct obj *o)
{
	lock_state_clear(&((struct lock *)o)->st);
}

static void lock_conn_gone_op(struct obj *o, struct conn *conn)
{
	lock_conn_gone(&((struct lock *)o)->st, conn);
}

static const struct op_def lock_ops[] = {
        OP(LOCK_ACQUIRE, lock_acquire_op, 0, OPF_TIMEOUT),
        OP(LOCK_RELEASE, lock_release_op, 0, 0),
        OP(LOCK_LOCKED, lock_locked_op, 0, 0),
};

TYPE_DEF(lock, LOCK, "lock", struct lock, 0, OM_RECURSIVE, lock_init, lock_fini,
         lock_conn_gone_op, NULL, NULL);
