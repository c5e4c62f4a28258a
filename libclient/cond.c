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

#define OMI_TYPE OM_TYPE_COND /* the rows' type (OMI_CALL, internal.h) */

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
OMI_WAIT(om_cond_acquire, om_cond, COND_ACQUIRE)

/* cv.release() | ENOTOWNER */
OMI_CALL(om_cond_release, om_cond, COND_RELEASE)

/* cv.wait(timeout) -> OK | OWNER_DIED | ETIMEOUT | ENOTOWNER */
OMI_WAIT(om_cond_wait, om_cond, COND_WAIT)

/* cv.notify(n) | ENOTOWNER */
int om_cond_notify(om_cond *cv, unsigned n)
{
	return omi_call_op(cv, OMI_TYPE, OBJMGR__OP__COND_NOTIFY, NULL, 0,
	                   (int64_t)n, 0, NULL, NULL);
}

/* cv.notify_all() | ENOTOWNER */
OMI_CALL(om_cond_notify_all, om_cond, COND_NOTIFY_ALL)
