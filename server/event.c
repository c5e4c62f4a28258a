/*
 * event.c — the EVENT type: a flag that processes wait on, like Python's
 * threading.Event. set() raises it and wakes every waiter, clear() lowers
 * it, wait() returns at once while it is up.
 *
 * A wait on a clear event parks its request on the wait list (waiter.h)
 * instead of blocking the loop; set answers them all. A waiter whose
 * connection ends is simply dropped (conn_gone): an event holds nothing
 * for anyone.
 */
#include <stdlib.h>

#include "waiter.h"

struct event_obj {
	struct obj o;
	bool flag;
	struct wait_list waiters; /* parked EVENT_WAITs, in arrival order */
};

/* EVENT_SET: raise the flag and wake every waiter */
static int event_set(struct obj *o, struct call *c)
{
	(void)c;
	struct event_obj *e = (struct event_obj *)o;
	e->flag = true;
	wait_list_answer_all(&e->waiters, OM_OK);
	return OM_OK;
}

/* EVENT_CLEAR */
static int event_clear(struct obj *o, struct call *c)
{
	(void)c;
	((struct event_obj *)o)->flag = false;
	return OM_OK;
}

/* EVENT_IS_SET -> num 0/1 */
static int event_is_set(struct obj *o, struct call *c)
{
	call_num(c, ((struct event_obj *)o)->flag);
	return OM_OK;
}

/* EVENT_WAIT timeout | ETIMEOUT */
static int event_wait(struct obj *o, struct call *c)
{
	struct event_obj *e = (struct event_obj *)o;
	if (e->flag)
		return OM_OK;
	double timeout = c->req->timeout;
	if (timeout == 0)
		return call_err(c, OM_ETIMEOUT, "the event is not set");
	return waiter_park(c, o, &e->waiters, timeout, waiter_expire,
	                   sizeof(struct waiter), NULL);
}

/* The connection ended: cancel its parked waits. */
static void event_conn_gone(struct obj *o, struct conn *conn)
{
	wait_list_drop_conn(&((struct event_obj *)o)->waiters, conn);
}

static void event_fini(struct obj *o)
{
	struct event_obj *e = (struct event_obj *)o;
	/* Parked waits watch the object, so none is left by now. */
	wait_list_answer_all(&e->waiters, OM_ECLOSED);
}

static const struct op_def event_ops[] = {
        OP(EVENT_SET, event_set, 0, 0),
        OP(EVENT_CLEAR, event_clear, 0, 0),
        OP(EVENT_IS_SET, event_is_set, 0, 0),
        OP(EVENT_WAIT, event_wait, 0, OPF_TIMEOUT),
};

/* OPEN EVENT: no creation parameters; the flag starts clear. */
TYPE_DEF(event, EVENT, "event", struct event_obj, 0, 0, NULL, event_fini,
         event_conn_gone, NULL, NULL);
