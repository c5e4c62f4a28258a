/*
 * lock.h — the state of a lock and the rules that move it, shared by the
 * LOCK type (lock.c), the CONDITION type (cond.c), whose lock is either a
 * LOCK object it refers to or a lock of its own embedded in it, and the
 * ARRAY type (array.c), whose get_lock() is an RLock in its segment.
 *
 * The lock itself is a word (struct omi_slock, proto/shm.h): the holder's
 * session token (conn->token) and an RLock's depth. A LOCK's and an
 * ARRAY's word is in its segment, where mapped clients take and release it
 * without the server; a condition's own lock is in private memory, moved
 * by the same code. So the holder is whoever's token is in the word
 * (lock_held_by), never a pointer the server keeps.
 *
 * RPC acquirers that must wait are parked, in arrival order, on
 * `acquirers`, and the word is marked OMI_LK_SRV: the release that frees
 * the lock — the server's own, or a mapped client's, which then kicks the
 * server's kick socket — hands it to the first of them whose connection is
 * alive. Every waiter there is a struct lock_waiter: the depth the lock is
 * to have once it is handed over and the code to answer with. A plain
 * acquirer wants depth 1 and OM_OK. A condition's waiter that wants the
 * lock back (notified, or at its deadline) is moved onto `acquirers` with
 * lock_requeue(), with the depth to restore and OM_OK or OM_ETIMEOUT; an
 * owner-died lock turns either into OM_OWNER_DIED, the warning that must
 * not be lost. A waiter with `granted` (an array's READ or WRITE) does its
 * work when handed the lock and gives it back at once. So the lock rules
 * never ask what kind of call a waiter is.
 *
 * A session's end: locks_conn_gone() frees every lock word that holds its
 * token, as owner-died (the next acquirer, mapped or RPC, is told once);
 * its parked acquirers are dropped by the conn_gone() of the object they
 * watch (lock_drop_waiters()).
 */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"
#include "shm.h"
#include "waiter.h"

struct lock_waiter {
	struct waiter w;
	uint64_t depth; /* the holder's depth once it has the lock */
	int code;       /* the answer then (before OWNER_DIED) */
	/* Optional: the lock is held for the waiter's session now; answer
	 * the waiter (and free it: waiter_finish). The lock is released one
	 * level right after, keeping an owner-died mark for the next
	 * acquirer. */
	void (*granted)(struct lock_waiter *lw);
};

struct lock_state {
	struct omi_slock *sl; /* the word: in a segment, or the cond's own */
	struct obj *mapped;   /* the object whose segment holds it, or NULL */
	struct obj *obj; /* the object it is part of (its events), or NULL */
	bool recursive;  /* OM_RECURSIVE: the holder may acquire again */
	struct wait_list acquirers;     /* parked, in arrival order */
	struct kick kick;               /* armed while acquirers are parked */
	struct lock_state *prev, *next; /* every lock (locks_conn_gone) */
};

/** A free lock on the word `sl` (zeroed: free), which must outlive the
 *  state (lock_state_clear); `mapped`: the object in whose segment the
 *  word is, which sessions may map (NULL: private memory). */
void lock_state_init(struct lock_state *l, struct omi_slock *sl, bool recursive,
                     struct obj *mapped);
/** For fini(): answer whoever is still parked (normally nobody: a waiter
 *  watches its object) with OM_ECLOSED, and forget the lock. */
void lock_state_clear(struct lock_state *l);

/** The lock state of a LOCK object, or NULL if `o` is not a LOCK. */
struct lock_state *lock_state_of(struct obj *o);

/** Whether `conn`'s session holds the lock (its token is in the word). */
bool lock_held_by(const struct lock_state *l, const struct conn *conn);
/** The holder's depth (at least 1): what a condition's WAIT restores. The
 *  caller has checked the holder. */
uint64_t lock_depth(const struct lock_state *l);

/**
 * Take the lock for `conn` now, unless that would pass parked acquirers
 * (its own recursive re-acquisition passes them, as it must): OM_OK or
 * OM_OWNER_DIED (taken), OM_ETIMEOUT (held by another, or by conn on a
 * plain lock, or others wait first), OM_EVALUE (an RLock's depth would
 * overflow). No message is set.
 */
int lock_try(struct lock_state *l, struct conn *conn);
/** Give back one level taken by lock_try() for the server's own use;
 *  `died`: lock_try said OM_OWNER_DIED, which stays for the next
 *  acquirer. Hands the lock on if that freed it. */
void lock_untake(struct lock_state *l, struct conn *conn, bool died);
/** A lock_waiter (fields set) was just parked on `acquirers`: mark the
 *  word for the server and hand the lock on if it is free after all
 *  (which may answer and free the waiter). */
void lock_queued(struct lock_state *l);

/**
 * ACQUIRE for c->conn with c->req->timeout: OM_OK or OM_OWNER_DIED when
 * taken now, OM_ETIMEOUT (timeout 0), CALL_PARKED (parked on `acquirers`
 * as a waiter of object `o`, which is the object the operation runs on;
 * OM_ETIMEOUT at its deadline), or an error set on c.
 */
int lock_acquire(struct lock_state *l, struct obj *o, struct call *c);
/** RELEASE by c->conn: OM_OK, or OM_ENOTOWNER if it does not hold it. */
int lock_release(struct lock_state *l, struct call *c);
/** The holder `conn` lets go wholly (a condition's wait) and the lock is
 *  handed on. The caller has checked the holder, and read lock_depth(). */
void lock_release_all(struct lock_state *l, struct conn *conn);
/**
 * Make `lw`, a condition's waiter now on another list, a re-acquirer: move
 * it to the tail of `acquirers`, to be answered `code` with the lock held
 * at lw->depth. Its deadline no longer matters (it must hold the lock
 * again before it is answered). If the lock is free it is handed on now,
 * which may answer and free `lw`: the caller must not touch it afterwards.
 */
void lock_requeue(struct lock_state *l, struct lock_waiter *lw, int code);
/** Connection `conn` ended: drop its parked acquirers (an object's
 *  conn_gone; the lock it held is freed by locks_conn_gone()). */
void lock_drop_waiters(struct lock_state *l, struct conn *conn);
/** Connection `conn` is ending (conn_close, before its references go):
 *  free every lock whose word holds its token (or a token no open
 *  session has: a scribbling client's), as owner-died, waking a
 *  mapped sleeper and handing it to a parked acquirer; and wake every
 *  mapped sleeper on the words it had handles on (a sleeper of this
 *  session may have died with a wake-up meant for the next). */
void locks_conn_gone(struct conn *conn);

/** DUMP of a lock: [int holder's connection number (0: free), int
 *  depth (0: free)]. */
int lock_dump(const struct lock_state *l, struct call *c);
/** How many locks `conn`'s session holds now (CLIENTS). */
uint64_t locks_held(const struct conn *conn);

#endif /* LOCK_H */
