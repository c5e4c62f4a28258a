/*
 * barrier.c — the client side of the barrier type; server/barrier.c is
 * the other half. Each om_barrier_* call is one BARRIER_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * is parked in the server until the round completes or breaks, so this
 * process simply waits for the answer (or, in a pipeline, collects it at
 * om_pipeline_end()). Outputs are written only on success.
 */
#include "internal.h"

/* Run `op` on barrier b with a timeout; `done` converts the answer into
 * *out. */
static int barrier_call(om_barrier *b, int op, double timeout,
                        omi_done_fn *done, void *out)
{
	struct omi_args a = {
	        .op = op, .timeout = timeout, .done = done, .out = out};

	return omi_call(b, OM_TYPE_BARRIER, &a);
}

/* *index = b.wait(timeout) */
int om_barrier_wait(om_barrier *b, double timeout, unsigned *index)
{
	return barrier_call(b, OBJMGR__OP__BARRIER_WAIT, timeout,
	                    omi_done_unsigned, index);
}

/* b.reset() */
int om_barrier_reset(om_barrier *b)
{
	return barrier_call(b, OBJMGR__OP__BARRIER_RESET, 0, NULL, NULL);
}

/* b.abort() */
int om_barrier_abort(om_barrier *b)
{
	return barrier_call(b, OBJMGR__OP__BARRIER_ABORT, 0, NULL, NULL);
}

/* *n = b.parties */
int om_barrier_parties(om_barrier *b, unsigned *n)
{
	if (!n)
		return OM_EINVAL;
	return barrier_call(b, OBJMGR__OP__BARRIER_PARTIES, 0,
	                    omi_done_unsigned, n);
}

/* *n = b.n_waiting */
int om_barrier_n_waiting(om_barrier *b, unsigned *n)
{
	if (!n)
		return OM_EINVAL;
	return barrier_call(b, OBJMGR__OP__BARRIER_N_WAITING, 0,
	                    omi_done_unsigned, n);
}

/* *out = b.broken */
int om_barrier_broken(om_barrier *b, bool *out)
{
	if (!out)
		return OM_EINVAL;
	return barrier_call(b, OBJMGR__OP__BARRIER_BROKEN, 0, omi_done_bool,
	                    out);
}
