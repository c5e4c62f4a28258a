/*
 * barrier.c — the client side of the barrier type; server/barrier.c is
 * the other half. Each om_barrier_* call is one BARRIER_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * is parked in the server until the round completes or breaks, so this
 * process simply waits for the answer (or, in a pipeline, collects it at
 * om_pipeline_end()). Outputs are written only on success.
 */
#include "internal.h"

#define OMI_TYPE OM_TYPE_BARRIER /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Barrier(parties), or the one called `name` */
int om_barrier_open(om_client *c, const char *name, int flags, unsigned parties,
                    om_barrier **out)
{
	if (parties < 1)
		return omi_fail(c, OM_EINVAL,
		                "a barrier needs at least 1 party");
	om_item p = om_int(parties);
	return omi_open(c, name, flags, OM_TYPE_BARRIER, &p, 1, (void **)out);
}

/* *index = b.wait(timeout) */
int om_barrier_wait(om_barrier *b, double timeout, unsigned *index)
{
	return omi_call_op(b, OMI_TYPE, OBJMGR__OP__BARRIER_WAIT, NULL, 0, 0,
	                   timeout, omi_done_unsigned, index);
}

/* b.reset() */
OMI_CALL(om_barrier_reset, om_barrier, BARRIER_RESET)

/* b.abort() */
OMI_CALL(om_barrier_abort, om_barrier, BARRIER_ABORT)

/* *n = b.parties */
OMI_GET(om_barrier_parties, om_barrier, unsigned, BARRIER_PARTIES,
        omi_done_unsigned)

/* *n = b.n_waiting */
OMI_GET(om_barrier_n_waiting, om_barrier, unsigned, BARRIER_N_WAITING,
        omi_done_unsigned)

/* *out = b.broken */
OMI_GET(om_barrier_broken, om_barrier, bool, BARRIER_BROKEN, omi_done_bool)
