/*
 * lock.c — the client side of the lock type (Python's Lock and RLock);
 * server/lock.c is the other half. Each call is one request (the LOCK_*
 * ops in proto/objmgr.proto) run with omi_call(), which checks the handle.
 * The holder is this client's connection: the server releases the lock
 * when it ends, and tells the next acquirer OM_OWNER_DIED.
 */
#include <math.h>

#include "internal.h"

/* Run `op` on lock l with `timeout`. */
static int lock_call(om_lock *l, int op, double timeout, Objmgr__Response **r)
{
	struct omi_args a = {.op = op, .timeout = timeout};

	return omi_call(l, OM_TYPE_LOCK, &a, r);
}

/* l.acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
int om_lock_acquire(om_lock *l, double timeout)
{
	Objmgr__Response *r;

	if (isnan(timeout)) {
		struct omi_handle *h = omi_handle_get(l);
		return h ? omi_fail(h->c, OM_EINVAL, "timeout is NaN")
		         : OM_EINVAL;
	}
	return lock_call(l, OBJMGR__OP__LOCK_ACQUIRE, timeout, &r);
}

/* l.release() | ENOTOWNER */
int om_lock_release(om_lock *l)
{
	Objmgr__Response *r;

	return lock_call(l, OBJMGR__OP__LOCK_RELEASE, 0, &r);
}

/* *out = l.locked() */
int om_lock_locked(om_lock *l, bool *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = lock_call(l, OBJMGR__OP__LOCK_LOCKED, 0, &r);
	if (rc < 0)
		return rc;
	*out = r->num != 0;
	return OM_OK;
}
