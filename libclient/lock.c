/*
 * lock.c — the client side of the lock type (Python's Lock and RLock);
 * server/lock.c is the other half. Each call is one request (the LOCK_*
 * ops in proto/objmgr.proto) run with omi_call(), which checks the handle.
 * The holder is this client's connection: the server releases the lock
 * when it ends, and tells the next acquirer OM_OWNER_DIED.
 */
#include "internal.h"

/* *out = manager.Lock(), or the one called `name` */
int om_lock_open(om_client *c, const char *name, int flags, om_lock **out)
{
	return omi_open(c, name, flags, OM_TYPE_LOCK, NULL, 0, (void **)out);
}

/* l.acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
int om_lock_acquire(om_lock *l, double timeout)
{
	return omi_call_op(l, OM_TYPE_LOCK, OBJMGR__OP__LOCK_ACQUIRE, 0,
	                   timeout, NULL, NULL);
}

/* l.release() | ENOTOWNER */
int om_lock_release(om_lock *l)
{
	return omi_call_op(l, OM_TYPE_LOCK, OBJMGR__OP__LOCK_RELEASE, 0, 0,
	                   NULL, NULL);
}

/* *out = l.locked() */
int om_lock_locked(om_lock *l, bool *out)
{
	if (!out)
		return OM_EINVAL;
	return omi_call_op(l, OM_TYPE_LOCK, OBJMGR__OP__LOCK_LOCKED, 0, 0,
	                   omi_done_bool, out);
}
