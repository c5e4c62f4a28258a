/*
 * cond.c — the client side of the condition type (Python's
 * threading.Condition); server/cond.c is the other half. Each call is one
 * request (the COND_* ops in proto/objmgr.proto) run with omi_call(),
 * which checks the handle. A wait is parked inside the server, which
 * answers it only once this client holds the lock again, so every return
 * of om_cond_wait() other than OM_ENOTOWNER (or a lost connection) comes
 * with the lock held.
 */
#include "internal.h"

/* *out = manager.Condition(lock), or the one called `name` */
int om_cond_open(om_client *c, const char *name, int flags, om_lock *lock,
                 om_cond **out)
{
	om_item p = om_nil();
	if (lock) {
		p = om_ref(lock);
		if (p.kind != OM_REF || p.ref.type != OM_TYPE_LOCK)
			return omi_fail(c, OM_EINVAL, "not a lock handle");
	}
	return omi_open(c, name, flags, OM_TYPE_COND, &p, 1, (void **)out);
}

/* cv.acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
int om_cond_acquire(om_cond *cv, double timeout)
{
	return omi_call_op(cv, OM_TYPE_COND, OBJMGR__OP__COND_ACQUIRE, 0,
	                   timeout, NULL, NULL);
}

/* cv.release() | ENOTOWNER */
int om_cond_release(om_cond *cv)
{
	return omi_call_op(cv, OM_TYPE_COND, OBJMGR__OP__COND_RELEASE, 0, 0,
	                   NULL, NULL);
}

/* cv.wait(timeout) -> OK | OWNER_DIED | ETIMEOUT | ENOTOWNER */
int om_cond_wait(om_cond *cv, double timeout)
{
	return omi_call_op(cv, OM_TYPE_COND, OBJMGR__OP__COND_WAIT, 0, timeout,
	                   NULL, NULL);
}

/* cv.notify(n) | ENOTOWNER */
int om_cond_notify(om_cond *cv, unsigned n)
{
	return omi_call_op(cv, OM_TYPE_COND, OBJMGR__OP__COND_NOTIFY,
	                   (int64_t)n, 0, NULL, NULL);
}

/* cv.notify_all() | ENOTOWNER */
int om_cond_notify_all(om_cond *cv)
{
	return omi_call_op(cv, OM_TYPE_COND, OBJMGR__OP__COND_NOTIFY_ALL, 0, 0,
	                   NULL, NULL);
}
