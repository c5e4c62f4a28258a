/*
 * sem.c — the client side of the semaphore type; server/sem.c is the
 * other half. Each om_sem_* call is one SEM_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; an
 * acquire that must wait is parked in the server, so this process simply
 * waits for the answer. Outputs are written only on success.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "internal.h"

/* Run `op` on semaphore s with integer argument n and a timeout. */
static int sem_call(om_sem *s, int op, int64_t n, double timeout,
                    Objmgr__Response **r)
{
	struct omi_args a = {.op = op, .num = n, .timeout = timeout};

	return omi_call(s, OM_TYPE_SEM, &a, r);
}

/* s.acquire(timeout=timeout) */
int om_sem_acquire(om_sem *s, double timeout)
{
	Objmgr__Response *r;

	if (isnan(timeout)) {
		struct omi_handle *h = omi_handle_get(s);

		return h ? omi_fail(h->c, OM_EINVAL, "timeout is NaN")
		         : OM_EINVAL;
	}
	return sem_call(s, OBJMGR__OP__SEM_ACQUIRE, 0, timeout, &r);
}

/* s.release(n) */
int om_sem_release(om_sem *s, unsigned n)
{
	Objmgr__Response *r;

	return sem_call(s, OBJMGR__OP__SEM_RELEASE, n, 0, &r);
}

/* *v = s._value */
int om_sem_value(om_sem *s, unsigned *v)
{
	Objmgr__Response *r;
	int rc;

	if (!v)
		return OM_EINVAL;
	rc = sem_call(s, OBJMGR__OP__SEM_VALUE, 0, 0, &r);
	if (rc < 0)
		return rc;
	if (r->num < 0 || (uint64_t)r->num > UINT_MAX)
		return OM_EPROTO;
	*v = (unsigned)r->num;
	return OM_OK;
}
