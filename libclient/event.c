/*
 * event.c — the client side of the event type; server/event.c is the
 * other half. A mapped event (map.c) is set, cleared, read and waited on
 * here, on its word (shm.h's rules, omi_sevent_*): a waiter sleeps on the
 * futex. Otherwise, and in a pipeline, each om_event_* call is one
 * EVENT_* request (see proto/objmgr.proto) run with omi_call(); a wait on
 * a clear event is parked in the server, so this process simply waits for
 * the answer (or, in a pipeline, collects it at om_pipeline_end()).
 * Outputs are written only on success.
 */
#include "internal.h"
#include "shm.h"

#define OMI_TYPE OM_TYPE_EVENT /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.Event(), or the one called `name` */
int om_event_open(om_client *c, const char *name, int flags, om_event **out)
{
	return omi_open(c, name, flags, OM_TYPE_EVENT, NULL, 0, (void **)out);
}

/* e.set() */
int om_event_set(om_event *e)
{
	OMI_LOCAL(h, e, 0, EVENT_SET, NULL, 0, 0, NULL, NULL);
	struct omi_sevent *w = omi_shm_state(h->shm);
	uint32_t old = omi_sevent_set(w);
	omi_sevent_wake(w, old);
	if (old & OMI_LK_SRV)
		omi_kick(h->c);
	omi_wrote(h);
	return OM_OK;
}

/* e.clear() */
int om_event_clear(om_event *e)
{
	OMI_LOCAL(h, e, 0, EVENT_CLEAR, NULL, 0, 0, NULL, NULL);
	omi_sevent_clear(omi_shm_state(h->shm));
	omi_wrote(h);
	return OM_OK;
}

/* *out = e.is_set() */
int om_event_is_set(om_event *e, bool *out)
{
	if (!out)
		return OM_EINVAL;
	OMI_LOCAL(h, e, 0, EVENT_IS_SET, NULL, 0, 0, omi_done_bool, out);
	*out = omi_sevent_is_set(omi_shm_state(h->shm));
	return OM_OK;
}

/* e.wait(timeout), with False as OM_ETIMEOUT */
int om_event_wait(om_event *e, double timeout)
{
	OMI_LOCAL(h, e, timeout, EVENT_WAIT, NULL, 0, 0, NULL, NULL);
	int rc = omi_sevent_wait(omi_shm_state(h->shm), timeout);
	if (rc == OM_ETIMEOUT && timeout == 0)
		return omi_fail(h->c, rc, "the event is not set");
	return rc < 0 ? omi_local_fail(h->c, rc) : rc;
}
