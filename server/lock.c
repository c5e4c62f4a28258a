/*
 * lock.c — the LOCK type (Python's Lock and, with OM_RECURSIVE, RLock),
 * and the lock rules of lock.h that the CONDITION and ARRAY types share.
 *
 * The holder is a session, not a process or a thread: whoever acquired on
 * a connection releases on it, and when the connection ends with the lock
 * held the server releases it (wholly, for an RLock) and tells the next
 * acquirer OM_OWNER_DIED once — where Python's manager would leave it held
 * forever. A LOCK's word is in its segment (proto/shm.h): a mapped client
 * acquires and releases it with no round trip, under its session's token,
 * and the server applies RPC calls to the same word with the same
 * functions (proto/shm.c). Waiting RPC acquirers are parked (waiter.h),
 * never blocking the loop; the word is marked OMI_LK_SRV so that a mapped
 * client's release kicks the server (segment.h), and every release the
 * server sees hands the lock to the first parked acquirer whose connection
 * is alive.
 *
 * Fairness: among parked RPC acquirers arrival order holds, and an RPC
 * newcomer never passes them. A mapped client, though, takes a free word
 * without asking the server, so it may take the lock ahead of parked RPC
 * acquirers (as threads do with any futex lock), and a mapped sleeper
 * woken by a release races them too. The old guarantee of first come,
 * first served across all acquirers holds only while every client uses
 * RPC.
 *
 * What the server reads from a word it does not trust: a token is only
 * ever compared with sessions' tokens, never used to find anything. A word
 * that holds a token no open connection has (a client wrote garbage, or
 * stopped using its mapping as it should after its session ended) is held
 * by nobody the server can release for: it stays held until a client
 * writes it free — as a client that acquires and never releases would
 * hold it. A garbage depth only changes how many releases its holder's
 * session needs.
 *
 * The same queue also holds a condition's waiters that want the lock back
 * (see lock.h): they are answered as the condition's WAIT, with their old
 * depth restored; and an array's READ and WRITE, done when handed the
 * lock.
 */
#include <limits.h>
#include <stdlib.h>

#include "conn.h"
#include "lock.h"
#include "look.h"

struct lock {
	struct obj o;
	struct segment seg;
	struct lock_state st;
};

/* Every lock state, for locks_conn_gone(). */
static struct lock_state *all_locks;

/* ------------------------------------------------------------ lock rules */

/*
 * Hand the lock to the first parked acquirers that can take it, in order.
 * A waiter whose peer is gone is dropped rather than given a lock that
 * only its session's end would take back. Stops when the lock is held by
 * someone else, with the word marked OMI_LK_SRV (so that the release
 * kicks the server); if the mark finds it free, tries again.
 */
static void hand_on(struct lock_state *l)
{
	struct waiter *w;
	while ((w = wait_list_head_alive(&l->acquirers))) {
		struct lock_waiter *lw = container_of(w, struct lock_waiter, w);
		uint32_t tok = w->conn->token, seen, old;
		int rc = omi_slock_try(l->sl, tok, l->recursive, false, &seen);
		if (rc == OM_ETIMEOUT) {
			if (omi_slock_mark(l->sl, &seen, OMI_LK_SRV))
				return;
			continue; /* released meanwhile */
		}
		if (rc == OM_EVALUE) {
			waiter_answer_msg(w, rc, "lock acquired too often");
			continue;
		}
		if (lw->granted) {
			lw->granted(lw); /* answers and frees it */
			omi_slock_release(l->sl, tok, rc == OM_OWNER_DIED,
			                  &old);
			omi_slock_wake(l->sl, old);
			continue;
		}
		/* Fresh, depth is 1; on top of the session's own holding (a
		 * mapped client of it took it meanwhile), lw->depth more. */
		l->sl->depth += lw->depth - 1;
		waiter_answer(w, rc == OM_OWNER_DIED ? rc : lw->code);
	}
}

/* The kick socket's retry (segment.h). */
static bool kick_lock(struct kick *k)
{
	struct lock_state *l = container_of(k, struct lock_state, kick);
	hand_on(l);
	return l->acquirers.n > 0;
}

void lock_state_init(struct lock_state *l, struct omi_slock *sl, bool recursive,
                     struct obj *mapped)
{
	*l = (struct lock_state){
	        .sl = sl,
	        .mapped = mapped,
	        .recursive = recursive,
	        .kick = {.fn = kick_lock},
	};
	l->next = all_locks;
	if (all_locks)
		all_locks->prev = l;
	all_locks = l;
}

void lock_state_clear(struct lock_state *l)
{
	wait_list_answer_all(&l->acquirers, OM_ECLOSED);
	kick_disarm(&l->kick);
	if (l->prev)
		l->prev->next = l->next;
	else
		all_locks = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

bool lock_held_by(const struct lock_state *l, const struct conn *conn)
{
	return omi_slock_owner(l->sl) == conn->token;
}

uint64_t lock_depth(const struct lock_state *l)
{
	uint64_t d = l->sl->depth;
	return d ? d : 1;
}

int lock_try(struct lock_state *l, struct conn *conn)
{
	if (l->acquirers.n) {
		hand_on(l); /* a mapped client's release not kicked yet */
		if (l->acquirers.n && !(l->recursive && lock_held_by(l, conn)))
			return OM_ETIMEOUT;
	}
	return omi_slock_try(l->sl, conn->token, l->recursive, false, NULL);
}

/* Release one level for `tok`; hand the lock on if that freed it. */
static int release(struct lock_state *l, uint32_t tok, bool died)
{
	uint32_t old;
	int rc = omi_slock_release(l->sl, tok, died, &old);
	if (rc != OM_OK || !old)
		return rc;
	omi_slock_wake(l->sl, old);
	hand_on(l);
	return OM_OK;
}

void lock_untake(struct lock_state *l, struct conn *conn, bool died)
{
	release(l, conn->token, died);
}

void lock_queued(struct lock_state *l)
{
	kick_arm(&l->kick);
	hand_on(l);
}

int lock_acquire(struct lock_state *l, struct obj *o, struct call *c)
{
	double timeout = c->req->timeout;
	int rc = lock_try(l, c->conn);
	if (rc == OM_EVALUE)
		return call_err(c, OM_EVALUE, "lock acquired too often");
	if (rc != OM_ETIMEOUT)
		return rc;
	/* Held by another, or by this connection on a plain lock: that
	 * blocks like any acquirer, as in Python. */
	if (timeout == 0)
		return OM_ETIMEOUT;
	struct waiter *w;
	rc = waiter_park(c, o, &l->acquirers, timeout, waiter_expire,
	                 sizeof(struct lock_waiter), &w);
	if (rc != CALL_PARKED)
		return rc;
	struct lock_waiter *lw = container_of(w, struct lock_waiter, w);
	lw->depth = 1;
	lw->code = OM_OK;
	lock_queued(l);
	return CALL_PARKED;
}

int lock_release(struct lock_state *l, struct call *c)
{
	if (release(l, c->conn->token, false) != OM_OK)
		return call_err(c, OM_ENOTOWNER,
		                "cannot release un-acquired lock");
	return OM_OK;
}

void lock_release_all(struct lock_state *l, struct conn *conn)
{
	l->sl->depth = 1;
	release(l, conn->token, false);
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
	lock_queued(l);
}

void lock_drop_waiters(struct lock_state *l, struct conn *conn)
{
	wait_list_drop_conn(&l->acquirers, conn);
}

void locks_conn_gone(struct conn *conn)
{
	/* hand_on() answers calls but destroys no object (obj_reap() runs
	 * after the callback), so the list does not change under us. */
	for (struct lock_state *l = all_locks; l; l = l->next) {
		uint32_t old;
		/* A word that names no open session was written by a client
		 * that scribbled on its mapping: nobody could ever release
		 * it, so it is repaired as its holder's death would be. A
		 * session's token is live until the end of its conn_close(),
		 * after this. */
		uint32_t tok = conn->token, owner = omi_slock_owner(l->sl);
		if (owner != tok && owner != 0 && !conn_token_live(owner))
			tok = owner;
		if (!omi_slock_repair(l->sl, tok, &old))
			continue;
		omi_slock_wake(l->sl, old);
		hand_on(l);
		if (l->obj)
			look_gone(l->obj);
	}
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
	call_num(c, omi_slock_owner(((struct lock *)o)->st.sl) != 0);
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
	bool recursive = (c->req->num2 & OM_RECURSIVE) != 0;
	int rc = segment_init(&x->seg, c, OM_TYPE_LOCK, 0, 0,
	                      recursive ? OM_RECURSIVE : 0);
	if (rc != OM_OK)
		return rc;
	lock_state_init(&x->st, omi_shm_state(x->seg.base), recursive,
	                x->seg.fd >= 0 ? o : NULL);
	x->st.obj = o;
	o->seg = &x->seg;
	return OM_OK;
}

static void lock_fini(struct obj *o)
{
	struct lock *x = (struct lock *)o;
	lock_state_clear(&x->st);
	segment_fini(&x->seg);
}

/* Its parked acquirers watch it; a holder does not (locks_conn_gone). */
static void lock_conn_gone(struct obj *o, struct conn *conn)
{
	lock_drop_waiters(&((struct lock *)o)->st, conn);
}

int lock_dump(const struct lock_state *l, struct call *c)
{
	uint32_t owner = omi_slock_owner(l->sl);
	om_item v[2] = {{.kind = OM_INT}, {.kind = OM_INT}};
	v[0].i = (int64_t)conn_serial_of_token(owner);
	v[1].i = owner ? (int64_t)lock_depth(l) : 0;
	return call_results(c, v, 2);
}

uint64_t locks_held(const struct conn *conn)
{
	uint64_t n = 0;
	for (const struct lock_state *l = all_locks; l; l = l->next)
		n += lock_held_by(l, conn);
	return n;
}

static int lock_dump_op(struct obj *o, struct call *c)
{
	return lock_dump(&((struct lock *)o)->st, c);
}

static const struct type_look lock_look = {NULL, NULL, lock_dump_op};

static const struct op_def lock_ops[] = {
        OP(LOCK_ACQUIRE, lock_acquire_op, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(LOCK_RELEASE, lock_release_op, 0, OPF_CHANGES),
        OP(LOCK_LOCKED, lock_locked_op, 0, 0),
};

TYPE_DEF(lock, LOCK, "lock", struct lock, 0, OM_RECURSIVE, lock_init, lock_fini,
         lock_conn_gone, NULL, NULL);
