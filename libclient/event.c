/*
 * event.c — the client side of the event type; server/event.c is the
 * other half. Each om_event_* call is one EVENT_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * on a clear event is parked in the server, so this process simply waits
 * for the answer (or, in a pipeline, collects it at om_pipeline_end()).
 * Outputs are written only on success.
 */
#include "internal.h"

/* *out = manager.Event(), or the one called `name` */
int om_event_open(om_client *c, const char *name, int flags, om_event **out)
{
	return omi_open(c, name, flags, OM_TYPE_EVENT, NULL, 0, (void **)out);
}

/* e.set() */
int om_event_set(om_event *e)
{
	return omi_call_op(e, OM_TYPE_EVENT, OBJMGR__OP__EVENT_SET, 0, 0, NULL,
	                   NULL);
}

/* e.clear() */
int om_event_clear(om_event *e)
{
	return omi_call_op(e, OM_TYPE_EVENT, OBJMGR__OP__EVENT_CLEAR, 0, 0,
	                   NULL, NULL);
}

/* *out = e.is_set() */
int om_event_is_set(om_event *e, bool *out)
{
	if (!out)
		return OM_EINVAL;
	return omi_call_op(e, OM_TYPE_EVENT, OBJMGR__OP__EVENT_IS_SET, 0, 0,
	                   omi_done_bool, out);
}

/* e.wait(timeout), with False as OM_ETIMEOUT */
int om_event_wait(om_event *e, double timeout)
{
	return omi_call_op(e, OM_TYPE_EVENT, OBJMGR__OP__EVENT_WAIT, 0, timeout,
	                   NULL, NULL);
}
