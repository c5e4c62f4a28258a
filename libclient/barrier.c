/*
 * barrier.c — the client side of the barrier type; server/barrier.c is
 * the other half. Each om_barrier_* call is one BARRIER_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * is parked in the server until the round completes or breaks, so this
 * process simply waits for the answer (or, in a pipeline, collects it at
 * om_pipeline_end()). Outputs are written only on success.
 */
#include "internal.h"

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
	return omi_call_op(b, OM_TYPE_BARRIER, OBJMGR__OP__BARRIER_WAIT, 0,
	                   timeout, omi_done_unsigned, index);
}

/* b.reset() */
int om_barrier_reset(om_barrier *b)
{
	return omi_call_op(b, OM_TYPE_BARRIER, OBJMGR__OP__BARRIER_RESET, 0, 0,
	                   NULL, NULL);
}

/* b.abort() */
int om_barrier_abort(om_barrier *b)
{
	return omi_call_op(b, OM_TYPE_BARRIER, OBJMGR__OP__BARRIER_ABORT, 0, 0,
	                   NULL, NULL);
}

/* *n = b.parties */
int om_barrier_parties(om_barrier *b, unsigned *n)
{
	if (!n)
		return OM_EINVAL;
	return omi_call_op(b, OM_TYPE_BARRIER, OBJMGR__OP__BARRIER_PARTIES, 0,
	                   0, omi_done_unsigned, n);
}

/* *n = b.n_waiting */
int om_barrier_n_waiting(om_barrier *b, unsigned *n)
{
	if (!n)
		return OM_EINVAL;
	return omi_call_op(b, OM_TYPE_BARRIER, OBJMGR__OP__BARRIER_N_WAITING, 0,
	                   0, omi_done_unsigned, n);
}

/* *out = b.broken */
int om_barrier_broken(om_barrier *b, bool *out)
{
	if (!out)
		return OM_EINVAL;
	return omi_call_op(b, OM_TYPE_BARRIER, OBJMGR__OP__BARRIER_BROKEN, 0, 0,
	                   omi_done_bool, out);
}
