/*
 * event.c — the client side of the event type; server/event.c is the
 * other half. Each om_event_* call is one EVENT_* request (see
 * proto/objmgr.proto) run with omi_call(), which checks the handle; a wait
 * on a clear event is parked in the server, so this process simply waits
 * for the answer (or, in a pipeline, collects it at om_pipeline_end()).
 * Outputs are written only on success.
 */
#include "internal.h"

#define OMI_TYPE OM_TYPE_EVENT /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Event(), or the one called `name` */
int om_event_open(om_client *c, const char *name, int flags, om_event **out)
{
	return omi_open(c, name, flags, OM_TYPE_EVENT, NULL, 0, (void **)out);
}

/* e.set() */
OMI_CALL(om_event_set, om_event, EVENT_SET)

/* e.clear() */
OMI_CALL(om_event_clear, om_event, EVENT_CLEAR)

/* *out = e.is_set() */
OMI_GET(om_event_is_set, om_event, bool, EVENT_IS_SET, omi_done_bool)

/* e.wait(timeout), with False as OM_ETIMEOUT */
OMI_WAIT(om_event_wait, om_event, EVENT_WAIT)
