/*
 * sem.c — the client side of the semaphore type; server/sem.c is the
 * other half. Each om_sem_* call is one SEM_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; an
 * acquire that must wait is parked in the server, so this process simply
 * waits for the answer (or, in a pipeline, collects it at
 * om_pipeline_end()). Outputs are written only on success.
 */
#include <stdint.h>

#include "internal.h"

/* Run `op` on semaphore s with integer argument n and a timeout; `done`
 * converts the answer into *out. */
static int sem_call(om_sem *s, int op, int64_t n, double timeout,
                    omi_done_fn *done, void *out)
{
	struct omi_args a = {.op = op,
	                     .num = n,
	                     .timeout = timeout,
	                     .done = done,
	                     .out = out};

	return omi_call(s, OM_TYPE_SEM, &a);
}

/* s.acquire(timeout=timeout) */
int om_sem_acquire(om_sem *s, double timeout)
{
	return sem_call(s, OBJMGR__OP__SEM_ACQUIRE, 0, timeout, NULL, NULL);
}

/* s.release(n) */
int om_sem_release(om_sem *s, unsigned n)
{
	return sem_call(s, OBJMGR__OP__SEM_RELEASE, n, 0, NULL, NULL);
}

/* *v = s._value */
int om_sem_value(om_sem *s, unsigned *v)
{
	if (!v)
		return OM_EINVAL;
	return sem_call(s, OBJMGR__OP__SEM_VALUE, 0, 0, omi_done_unsigned, v);
}
