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
#include <math.h>
#include <stdlib.h>

#include "lock.h"

struct lock {
	struct obj o;
	struct lock_state st;
};

/* ------------------------------------------------------------ lock rules */

/* Move w from the list it is on to the tail of `to`. waiter.c keeps the
 * lists but has no move; a waiter's links are plain fields of waiter.h, kept
 * consistent here exactly as waiter.c keeps them (w->list names the list
 * that waiter_free() unlinks it from). */
static void list_move(struct waiter *w, struct wait_list *to)
{
	struct wait_list *from = w->list;

	if (from) {
		if (w->prev)
			w->prev->next = w->next;
		else
			from->head = w->next;
		if (w->next)
			w->next->prev = w->prev;
		else
			from->tail = w->prev;
		from->n--;
	}
	w->list = to;
	w->next = NULL;
	w->prev = to->tail;
	if (to->tail)
		to->tail->next = w;
	else
		to->head = w;
	to->tail = w;
	to->n++;
}

/* The lock is free: hand it to the first parked acquirer that can take it.
 * A waiter whose peer is gone is dropped rather than given a lock that
 * only its conn_gone() would take back. */
static void hand_on(struct lock_state *l)
{
	while (!l->holder && l->acquirers.head) {
		struct waiter *w = l->acquirers.head;
		bool again = w->op == OBJMGR__OP__COND_WAIT;
		int code = again ? (int)w->num2 : OM_OK;

		if (!conn_alive(w->conn)) {
			waiter_drop(w);
			continue;
		}
		if (conn_watch(w->conn, l->watch) != OM_OK) {
			waiter_answer(w, OM_ENOMEM);
			continue;
		}
		l->holder = w->conn;
		l->depth = again ? (uint64_t)w->num : 1;
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

int lock_acquire(struct lock_state *l, struct obj *o, struct call *c,
                 waiter_fn on_timeout)
{
	double timeout = c->req->timeout;
	struct waiter *w;

	if (isnan(timeout))
		return call_err(c, OM_EINVAL, "timeout is not a number");
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
	return waiter_park(c, o, &l->acquirers, timeout, NULL, on_timeout, &w);
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

void lock_requeue(struct lock_state *l, struct waiter *w, uint64_t depth,
                  int code)
{
	w->num = (int64_t)depth;
	w->num2 = code;
	list_move(w, &l->acquirers);
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

/* A LOCK_ACQUIRE's deadline. */
static void acquire_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer(w, OM_ETIMEOUT);
}

/* LOCK_ACQUIRE timeout -> OK | OWNER_DIED | ETIMEOUT */
static int lock_acquire_op(struct obj *o, struct call *c)
{
	struct lock *x = (struct lock *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	return lock_acquire(&x->st, o, c, acquire_timeout);
}

/* LOCK_RELEASE | ENOTOWNER */
static int lock_release_op(struct obj *o, struct call *c)
{
	struct lock *x = (struct lock *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	return lock_release(&x->st, c);
}

/* LOCK_LOCKED -> num 0/1 */
static int lock_locked_op(struct obj *o, struct call *c)
{
	struct lock *x = (struct lock *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	call_num(c, x->st.holder != NULL);
	return OM_OK;
}

struct lock_state *lock_state_of(struct obj *o)
{
	return o && o->type == &lock_type ? &((struct lock *)o)->st : NULL;
}

static int lock_create(struct call *c, struct obj **out)
{
	int64_t flags = c->req->num2;
	struct lock *x;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	if (flags & ~(int64_t)(OM_CREATE | OM_EXCL | OM_RECURSIVE))
		return call_err(c, OM_EINVAL,
		                "flags 0x%llx not valid for a lock",
		                (unsigned long long)flags);
	x = calloc(1, sizeof(*x));
	if (!x)
		return call_err(c, OM_ENOMEM, "out of memory for a lock");
	obj_init(&x->o, &lock_type);
	lock_state_init(&x->st, &x->o, (flags & OM_RECURSIVE) != 0);
	*out = &x->o;
	return OM_OK;
}

static void lock_destroy(struct obj *o)
{
	struct lock *x = (struct lock *)o;

	lock_state_clear(&x->st);
	free(x);
}

static void lock_conn_gone_op(struct obj *o, struct conn *conn)
{
	lock_conn_gone(&((struct lock *)o)->st, conn);
}

static const op_fn ops[] = {
        [OBJMGR__OP__LOCK_ACQUIRE - OBJMGR__OP__LOCK_ACQUIRE] = lock_acquire_op,
        [OBJMGR__OP__LOCK_RELEASE - OBJMGR__OP__LOCK_ACQUIRE] = lock_release_op,
        [OBJMGR__OP__LOCK_LOCKED - OBJMGR__OP__LOCK_ACQUIRE] = lock_locked_op,
};

const struct type_def lock_type = {
        .name = "lock",
        .type = OM_TYPE_LOCK,
        .op_base = OBJMGR__OP__LOCK_ACQUIRE,
        .nops = sizeof(ops) / sizeof(ops[0]),
        .ops = ops,
        .create = lock_create,
        .destroy = lock_destroy,
        .conn_gone = lock_conn_gone_op,
};
