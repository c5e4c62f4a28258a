/*
 * event.c — the client side of the event type; server/event.c is the
 * other half. Each om_event_* call is one EVENT_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * on a clear event is parked in the server, so this process simply waits
 * for the answer (or, in a pipeline, collects it at om_pipeline_end()).
 * Outputs are written only on success.
 */
#include "internal.h"

/* Run `op` on event e with a timeout; `done` converts the answer into
 * *out. */
static int event_call(om_event *e, int op, double timeout, omi_done_fn *done,
                      void *out)
{
	struct omi_args a = {
	        .op = op, .timeout = timeout, .done = done, .out = out};

	return omi_call(e, OM_TYPE_EVENT, &a);
}

/* e.set() */
int om_event_set(om_event *e)
{
	return event_call(e, OBJMGR__OP__EVENT_SET, 0, NULL, NULL);
}

/* e.clear() */
int om_event_clear(om_event *e)
{
	return event_call(e, OBJMGR__OP__EVENT_CLEAR, 0, NULL, NULL);
}

/* *out = e.is_set() */
int om_event_is_set(om_event *e, bool *out)
{
	if (!out)
		return OM_EINVAL;
	return event_call(e, OBJMGR__OP__EVENT_IS_SET, 0, omi_done_bool, out);
}

/* e.wait(timeout), with False as OM_ETIMEOUT */
int om_event_wait(om_event *e, double timeout)
{
	return event_call(e, OBJMGR__OP__EVENT_WAIT, timeout, NULL, NULL);
}
