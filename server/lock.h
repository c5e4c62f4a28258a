/*
 * lock.h — the state of a lock and the rules that move it, shared by the
 * LOCK type (lock.c) and the CONDITION type (cond.c), whose lock is either
 * a LOCK object it refers to or a lock of its own embedded in it.
 *
 * A lock is held by a connection (its session), at a depth (an RLock's
 * count). Acquirers that must wait are parked, in arrival order, on
 * `acquirers`; a release that frees the lock hands it straight to the
 * first of them whose connection is alive, so a newcomer never jumps the
 * queue. The holder watches `watch` (conn_watch), so when its connection
 * ends that object's conn_gone() releases the lock and marks it owner-died:
 * the next acquirer is told OM_OWNER_DIED, once.
 *
 * Every waiter on `acquirers` is a struct lock_waiter: the depth the lock
 * is to have when it is handed over and the code to answer with. A plain
 * acquirer wants depth 1 and OM_OK. A condition's waiter that wants the
 * lock back (notified, or at its deadline) is moved onto `acquirers` with
 * lock_requeue(), with the depth to restore and OM_OK or OM_ETIMEOUT; an
 * owner-died lock turns either into OM_OWNER_DIED, the warning that must
 * not be lost. So the lock rules never ask what kind of call a waiter is.
 */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "waiter.h"

struct lock_waiter {
	struct waiter w;
	uint64_t depth; /* the holder's depth once it has the lock */
	int code;       /* the answer then (before OWNER_DIED) */
};

struct lock_state {
	struct obj *watch;   /* what a holder watches: the LOCK, or the cond */
	struct conn *holder; /* NULL: free */
	uint64_t depth;      /* acquisitions by holder not yet released */
	bool recursive;      /* OM_RECURSIVE: the holder may acquire again */
	bool owner_died;     /* a holder's connection ended holding it */
	struct wait_list acquirers; /* parked, in arrival order */
};

/** A free lock whose holders will watch `watch`. */
void lock_state_init(struct lock_state *l, struct obj *watch, bool recursive);
/** For destroy(): answer whoever is still parked (normally nobody: a
 *  waiter watches its object) with OM_ECLOSED. */
void lock_state_clear(struct lock_state *l);

/** The lock state of a LOCK object, or NULL if `o` is not a LOCK. */
struct lock_state *lock_state_of(struct obj *o);

/**
 * ACQUIRE for c->conn with c->req->timeout: OM_OK or OM_OWNER_DIED when
 * taken now, OM_ETIMEOUT (timeout 0), CALL_PARKED (parked on `acquirers`
 * as a waiter of object `o`, which is the object the operation runs on;
 * OM_ETIMEOUT at its deadline), or an error set on c.
 */
int lock_acquire(struct lock_state *l, struct obj *o, struct call *c);
/** RELEASE by c->conn: OM_OK, or OM_ENOTOWNER if it does not hold it. */
int lock_release(struct lock_state *l, struct call *c);
/** The holder lets go wholly (a condition's wait): hands the lock on and
 *  returns the depth it had. The caller has checked the holder. */
uint64_t lock_release_all(struct lock_state *l);
/**
 * Make `lw`, a condition's waiter now on another list, a re-acquirer: move
 * it to the tail of `acquirers`, to be answered `code` with the lock held
 * at lw->depth. Its deadline no longer matters (it must hold the lock
 * again before it is answered). If the lock is free it is handed on now,
 * which may answer and free `lw`: the caller must not touch it afterwards.
 */
void lock_requeue(struct lock_state *l, struct lock_waiter *lw, int code);
/** Connection `conn` ended: drop its parked acquirers; if it held the
 *  lock, release it wholly, mark it owner-died and hand it on. */
void lock_conn_gone(struct lock_state *l, struct conn *conn);

#endif /* LOCK_H */
