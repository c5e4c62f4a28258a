/*
 * cond.c — the CONDITION type: Python's threading.Condition, served by the
 * manager. Its lock is a LOCK object given at creation (kept by a stored
 * OM_REF, so it lives as long as the condition) or a plain lock of its own,
 * embedded here (its word in private memory: a condition is not shared);
 * either way the lock rules are those of lock.h, and COND_ACQUIRE /
 * COND_RELEASE behave as LOCK_ACQUIRE / LOCK_RELEASE. A LOCK given may be
 * held by a mapped client of the caller's session: the holder is the
 * session whose token is in the word, whoever took it.
 *
 * WAIT releases the lock wholly (remembering an RLock's depth) and parks on
 * `waiters`. NOTIFY moves waiters, oldest first, onto the lock's queue of
 * acquirers (lock_requeue): a notified waiter is answered only once it
 * holds the lock again, at its old depth. A waiter whose deadline comes
 * first is requeued the same way and answered OM_ETIMEOUT then, so WAIT
 * always returns with the lock held, as in Python. A WAIT is registered
 * before the lock is released, as Python's Condition.wait does, so no
 * notify that the release lets in is lost.
 */
#include <stdlib.h>

#include "lock.h"

struct cond {
	struct obj o;
	om_item ref;          /* OM_REF to the LOCK used, or OM_NIL */
	struct obj *lock_obj; /* that LOCK, or NULL: `own` is the lock */
	struct lock_state own;
	struct omi_slock own_word; /* own's word */
	/* WAITs not yet notified, in arrival order: lock_waiters, with the
	 * depth to restore, ready for lock_requeue(). */
	struct wait_list waiters;
};

/* The condition's lock: the LOCK object's state, or its own. */
static struct lock_state *lock_of(struct cond *cv)
{
	return cv->lock_obj ? lock_state_of(cv->lock_obj) : &cv->own;
}

/* A WAIT not notified by its deadline: it wants the lock back, and is
 * answered OM_ETIMEOUT once it holds it. */
static void wait_timeout(struct obj *o, struct waiter *w)
{
	lock_requeue(lock_of((struct cond *)o),
	             container_of(w, struct lock_waiter, w), OM_ETIMEOUT);
}

/* COND_ACQUIRE timeout -> OK | OWNER_DIED | ETIMEOUT */
static int cond_acquire(struct obj *o, struct call *c)
{
	return lock_acquire(lock_of((struct cond *)o), o, c);
}

/* COND_RELEASE | ENOTOWNER */
static int cond_release(struct obj *o, struct call *c)
{
	return lock_release(lock_of((struct cond *)o), c);
}

/* COND_WAIT timeout -> OK | OWNER_DIED | ETIMEOUT | ENOTOWNER */
static int cond_wait(struct obj *o, struct call *c)
{
	struct cond *cv = (struct cond *)o;
	double timeout = c->req->timeout;
	struct lock_state *l = lock_of(cv);
	if (!lock_held_by(l, c->conn))
		return call_err(c, OM_ENOTOWNER,
		                "cannot wait on un-acquired lock");
	/* wait(0) releases and re-acquires at once: with nobody queued for
	 * the lock, that is keeping it. */
	if (timeout == 0 && l->acquirers.n == 0)
		return OM_ETIMEOUT;
	/* Park first: if that fails, the caller still holds the lock. A
	 * wait(0) parks without a deadline, straight into the lock's queue,
	 * behind those it lets go first. */
	struct waiter *w;
	int rc = waiter_park(c, o, &cv->waiters, timeout == 0 ? -1 : timeout,
	                     wait_timeout, sizeof(struct lock_waiter), &w);
	if (rc != CALL_PARKED)
		return rc;
	struct lock_waiter *lw = container_of(w, struct lock_waiter, w);
	lw->depth = lock_depth(l);
	if (timeout == 0)
		lock_requeue(l, lw, OM_ETIMEOUT);
	lock_release_all(l, c->conn);
	return rc;
}

/* Move up to n live waiters, oldest first, to the lock's queue. The caller
 * must hold the lock. A waiter whose peer is gone is dropped and does not
 * count, so a notify is not wasted on it. */
static int notify(struct cond *cv, struct call *c, uint64_t n)
{
	struct lock_state *l = lock_of(cv);
	if (!lock_held_by(l, c->conn))
		return call_err(c, OM_ENOTOWNER,
		                "cannot notify on un-acquired lock");
	struct waiter *w;
	while (n > 0 && (w = wait_list_head_alive(&cv->waiters))) {
		lock_requeue(l, container_of(w, struct lock_waiter, w), OM_OK);
		n--;
	}
	return OM_OK;
}

/* COND_NOTIFY num=n | ENOTOWNER */
static int cond_notify(struct obj *o, struct call *c)
{
	if (c->req->num < 0)
		return call_err(c, OM_EINVAL,
		                "cannot notify %lld waiters (negative)",
		                (long long)c->req->num);
	return notify((struct cond *)o, c, (uint64_t)c->req->num);
}

/* COND_NOTIFY_ALL | ENOTOWNER */
static int cond_notify_all(struct obj *o, struct call *c)
{
	return notify((struct cond *)o, c, UINT64_MAX);
}

/* OPEN COND: args [Ref to a LOCK | nil]; OM_RECURSIVE makes its own lock
 * an RLock. */
static int cond_init(struct obj *o, struct call *c)
{
	int64_t flags = c->req->num2;
	om_item ref = {.kind = OM_NIL};
	struct obj *lock_obj = NULL;
	const om_item *arg = &c->args[0];
	int rc;
	if (arg->kind == OM_REF) {
		lock_obj = call_reach(c, arg->ref.id);
		if (!lock_obj)
			return call_err(c, OM_ENOENT,
			                "referenced object %llu does not exist",
			                (unsigned long long)arg->ref.id);
		if (!lock_state_of(lock_obj))
			return call_err(c, OM_ETYPE,
			                "a condition needs a lock, not a %s",
			                lock_obj->type->name);
		if (flags & OM_RECURSIVE)
			return call_err(c, OM_EINVAL,
			                "OM_RECURSIVE is for a condition's own "
			                "lock; the lock given decides");
		if ((rc = store_item(c, &ref, arg)) != OM_OK)
			return rc;
	} else if (arg->kind != OM_NIL) {
		return call_err(c, OM_ETYPE,
		                "a condition's lock must be a lock reference "
		                "or nil");
	}
	struct cond *cv = (struct cond *)o;
	cv->ref = ref;
	cv->lock_obj = lock_obj;
	if (!lock_obj) {
		lock_state_init(&cv->own, &cv->own_word,
		                (flags & OM_RECURSIVE) != 0, NULL);
		cv->own.obj = o;
	}
	return OM_OK;
}

/* Waiters watch the condition, so normally none is left here. The LOCK
 * object (if any) is not touched: it may already be gone at teardown. */
static void cond_fini(struct obj *o)
{
	struct cond *cv = (struct cond *)o;

	wait_list_answer_all(&cv->waiters, OM_ECLOSED);
	if (!cv->lock_obj)
		lock_state_clear(&cv->own);
	store_clear(&cv->ref);
}

/* A connection that waited here, or parked to acquire its lock, ended.
 * The lock it held, its own or a LOCK object, is freed by
 * locks_conn_gone(). */
static void cond_conn_gone(struct obj *o, struct conn *conn)
{
	struct cond *cv = (struct cond *)o;
	wait_list_drop_conn(&cv->waiters, conn);
	lock_drop_waiters(lock_of(cv), conn);
}

/* The LOCK object given at creation, if any. */
static void cond_traverse(struct obj *o, visit_fn visit, void *arg)
{
	store_visit(&((struct cond *)o)->ref, visit, arg);
}

/* Drop the LOCK's reference. lock_obj stays: a garbage condition is
 * destroyed in this same obj_reap(), and cond_fini() does not use it. */
static void cond_clear(struct obj *o)
{
	store_clear(&((struct cond *)o)->ref);
}

/* [the LOCK's ref (nil: its own lock), int waiters]; then its own
 * lock's holder and depth, as a lock's DUMP, when it has one. */
static int cond_dump(struct obj *o, struct call *c)
{
	struct cond *cv = (struct cond *)o;
	om_item n = {.kind = OM_INT, .i = (int64_t)cv->waiters.n};
	int rc = call_result(c, &cv->ref);
	if (rc == OM_OK)
		rc = call_result(c, &n);
	if (rc == OM_OK && !cv->lock_obj)
		rc = lock_dump(&cv->own, c);
	return rc;
}

static const struct type_look cond_look = {NULL, NULL, cond_dump};

static const struct op_def cond_ops[] = {
        OP(COND_ACQUIRE, cond_acquire, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(COND_RELEASE, cond_release, 0, OPF_CHANGES),
        OP(COND_WAIT, cond_wait, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(COND_NOTIFY, cond_notify, 0, OPF_CHANGES),
        OP(COND_NOTIFY_ALL, cond_notify_all, 0, OPF_CHANGES),
};

TYPE_DEF(cond, COND, "condition", struct cond, 1, OM_RECURSIVE, cond_init,
         cond_fini, cond_conn_gone, cond_traverse, cond_clear);
