/*
 * lock.c — the client side of the lock type (Python's Lock and RLock);
 * server/lock.c is the other half. Each call is one request (the LOCK_*
 * ops in proto/objmgr.proto) run with omi_call(), which checks the handle.
 * The holder is this client's connection: the server releases the lock
 * when it ends, and tells the next acquirer OM_OWNER_DIED.
 */
#include "internal.h"

/* Run `op` on lock l with `timeout`; `done` converts the answer into
 * *out. */
static int lock_call(om_lock *l, int op, double timeout, omi_done_fn *done,
                     void *out)
{
	struct omi_args a = {
	        .op = op, .timeout = timeout, .done = done, .out = out};

	return omi_call(l, OM_TYPE_LOCK, &a);
}

/* l.acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
int om_lock_acquire(om_lock *l, double timeout)
{
	return lock_call(l, OBJMGR__OP__LOCK_ACQUIRE, timeout, NULL, NULL);
}

/* l.release() | ENOTOWNER */
int om_lock_release(om_lock *l)
{
	return lock_call(l, OBJMGR__OP__LOCK_RELEASE, 0, NULL, NULL);
}

/* *out = l.locked() */
int om_lock_locked(om_lock *l, bool *out)
{
	if (!out)
		return OM_EINVAL;
	return lock_call(l, OBJMGR__OP__LOCK_LOCKED, 0, omi_done_bool, out);
}
