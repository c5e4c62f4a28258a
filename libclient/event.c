/*
 * event.c — the client side of the event type; server/event.c is the
 * other half. Each om_event_* call is one EVENT_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * on a clear event is parked in the server, so this process simply waits
 * for the answer. Outputs are written only on success.
 */
#include <math.h>

#include "internal.h"

/* Run `op` on event e with a timeout. */
static int event_call(om_event *e, int op, double timeout, Objmgr__Response **r)
{
	struct omi_args a = {.op = op, .timeout = timeout};

	return omi_call(e, OM_TYPE_EVENT, &a, r);
}

/* e.set() */
int om_event_set(om_event *e)
{
	Objmgr__Response *r;

	return event_call(e, OBJMGR__OP__EVENT_SET, 0, &r);
}

/* e.clear() */
int om_event_clear(om_event *e)
{
	Objmgr__Response *r;

	return event_call(e, OBJMGR__OP__EVENT_CLEAR, 0, &r);
}

/* *out = e.is_set() */
int om_event_is_set(om_event *e, bool *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = event_call(e, OBJMGR__OP__EVENT_IS_SET, 0, &r);
	if (rc < 0)
		return rc;
	*out = r->num != 0;
	return OM_OK;
}

/* e.wait(timeout), with False as OM_ETIMEOUT */
int om_event_wait(om_event *e, double timeout)
{
	Objmgr__Response *r;

	if (isnan(timeout)) {
		struct omi_handle *h = omi_handle_get(e);

		return h ? omi_fail(h->c, OM_EINVAL, "timeout is NaN")
		         : OM_EINVAL;
	}
	return event_call(e, OBJMGR__OP__EVENT_WAIT, timeout, &r);
}
