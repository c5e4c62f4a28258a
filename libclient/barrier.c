/*
 * barrier.c — the client side of the barrier type; server/barrier.c is
 * the other half. Each om_barrier_* call is one BARRIER_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * is parked in the server until the round completes or breaks, so this
 * process simply waits for the answer. Outputs are written only on
 * success.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "internal.h"

/* Run `op` on barrier b with a timeout. */
static int barrier_call(om_barrier *b, int op, double timeout,
                        Objmgr__Response **r)
{
	struct omi_args a = {.op = op, .timeout = timeout};

	return omi_call(b, OM_TYPE_BARRIER, &a, r);
}

/* Run `op`, whose answer is a count, into *out. */
static int barrier_count(om_barrier *b, int op, unsigned *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = barrier_call(b, op, 0, &r);
	if (rc < 0)
		return rc;
	if (r->num < 0 || (uint64_t)r->num > UINT_MAX)
		return OM_EPROTO;
	*out = (unsigned)r->num;
	return OM_OK;
}

/* *index = b.wait(timeout) */
int om_barrier_wait(om_barrier *b, double timeout, unsigned *index)
{
	Objmgr__Response *r;
	int rc;

	if (isnan(timeout)) {
		struct omi_handle *h = omi_handle_get(b);

		return h ? omi_fail(h->c, OM_EINVAL, "timeout is NaN")
		         : OM_EINVAL;
	}
	rc = barrier_call(b, OBJMGR__OP__BARRIER_WAIT, timeout, &r);
	if (rc < 0)
		return rc;
	if (r->num < 0 || (uint64_t)r->num > UINT_MAX)
		return OM_EPROTO;
	if (index)
		*index = (unsigned)r->num;
	return rc;
}

/* b.reset() */
int om_barrier_reset(om_barrier *b)
{
	Objmgr__Response *r;

	return barrier_call(b, OBJMGR__OP__BARRIER_RESET, 0, &r);
}

/* b.abort() */
int om_barrier_abort(om_barrier *b)
{
	Objmgr__Response *r;

	return barrier_call(b, OBJMGR__OP__BARRIER_ABORT, 0, &r);
}

/* *n = b.parties */
int om_barrier_parties(om_barrier *b, unsigned *n)
{
	return barrier_count(b, OBJMGR__OP__BARRIER_PARTIES, n);
}

/* *n = b.n_waiting */
int om_barrier_n_waiting(om_barrier *b, unsigned *n)
{
	return barrier_count(b, OBJMGR__OP__BARRIER_N_WAITING, n);
}

/* *out = b.broken */
int om_barrier_broken(om_barrier *b, bool *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = barrier_call(b, OBJMGR__OP__BARRIER_BROKEN, 0, &r);
	if (rc < 0)
		return rc;
	*out = r->num != 0;
	return OM_OK;
}
