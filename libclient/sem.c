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

#define OMI_TYPE OM_TYPE_SEM /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Semaphore(initial), or the one called `name` */
int om_sem_open(om_client *c, const char *name, int flags, unsigned initial,
                om_sem **out)
{
	om_item p = om_int(initial);
	return omi_open(c, name, flags, OM_TYPE_SEM, &p, 1, (void **)out);
}

/* s.acquire(timeout=timeout) */
OMI_WAIT(om_sem_acquire, om_sem, SEM_ACQUIRE)

/* s.release(n) */
int om_sem_release(om_sem *s, unsigned n)
{
	return omi_call_op(s, OMI_TYPE, OBJMGR__OP__SEM_RELEASE, NULL, 0, n, 0,
	                   NULL, NULL);
}

/* *v = s._value */
OMI_GET(om_sem_value, om_sem, unsigned, SEM_VALUE, omi_done_unsigned)
