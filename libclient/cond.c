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

/* Run `op` on condition cv with `num` and `timeout`. */
static int cond_call(om_cond *cv, int op, int64_t num, double timeout)
{
	struct omi_args a = {.op = op, .num = num, .timeout = timeout};

	return omi_call(cv, OM_TYPE_COND, &a);
}

/* cv.acquire(timeout) -> OK | OWNER_DIED | ETIMEOUT */
int om_cond_acquire(om_cond *cv, double timeout)
{
	return cond_call(cv, OBJMGR__OP__COND_ACQUIRE, 0, timeout);
}

/* cv.release() | ENOTOWNER */
int om_cond_release(om_cond *cv)
{
	return cond_call(cv, OBJMGR__OP__COND_RELEASE, 0, 0);
}

/* cv.wait(timeout) -> OK | OWNER_DIED | ETIMEOUT | ENOTOWNER */
int om_cond_wait(om_cond *cv, double timeout)
{
	return cond_call(cv, OBJMGR__OP__COND_WAIT, 0, timeout);
}

/* cv.notify(n) | ENOTOWNER */
int om_cond_notify(om_cond *cv, unsigned n)
{
	return cond_call(cv, OBJMGR__OP__COND_NOTIFY, (int64_t)n, 0);
}

/* cv.notify_all() | ENOTOWNER */
int om_cond_notify_all(om_cond *cv)
{
	return cond_call(cv, OBJMGR__OP__COND_NOTIFY_ALL, 0, 0);
}
