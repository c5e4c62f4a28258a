/*
 * event.c — the EVENT type: a flag that processes wait on, like Python's
 * threading.Event. set() raises it and wakes every waiter, clear() lowers
 * it, wait() returns at once while it is up.
 *
 * A wait on a clear event parks its request on the wait list (waiter.h)
 * instead of blocking the loop; set answers them all. A waiter whose
 * connection ends is simply dropped (conn_gone): an event holds nothing
 * for anyone. Dispatch holds the object's lock around each operation and
 * the waiter timers take it too, so nothing here locks.
 */
#include <math.h>
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
	struct event_obj *e = (struct event_obj *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	e->flag = true;
	wait_list_answer_all(&e->waiters, OM_OK);
	return OM_OK;
}

/* EVENT_CLEAR */
static int event_clear(struct obj *o, struct call *c)
{
	struct event_obj *e = (struct event_obj *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	e->flag = false;
	return OM_OK;
}

/* EVENT_IS_SET -> num 0/1 */
static int event_is_set(struct obj *o, struct call *c)
{
	struct event_obj *e = (struct event_obj *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	call_num(c, e->flag);
	return OM_OK;
}

/* The deadline of a parked wait: the flag was not raised in time. */
static void wait_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer(w, OM_ETIMEOUT);
}

/* EVENT_WAIT timeout | ETIMEOUT */
static int event_wait(struct obj *o, struct call *c)
{
	struct event_obj *e = (struct event_obj *)o;
	double timeout = c->req->timeout;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	if (isnan(timeout))
		return call_err(c, OM_EINVAL, "timeout is NaN");
	if (e->flag)
		return OM_OK;
	if (timeout == 0)
		return call_err(c, OM_ETIMEOUT, "the event is not set");
	return waiter_park(c, o, &e->waiters, timeout, NULL, wait_timeout,
	                   NULL);
}

/* The connection ended: cancel its parked waits. */
static void event_conn_gone(struct obj *o, struct conn *conn)
{
	struct event_obj *e = (struct event_obj *)o;

	wait_list_drop_conn(&e->waiters, conn);
}

/* OPEN EVENT: no creation parameters; the flag starts clear. */
static int event_create(struct call *c, struct obj **out)
{
	const int64_t allowed = OM_CREATE | OM_EXCL;
	int64_t flags = c->req->num2;
	struct event_obj *e;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	if (flags & ~allowed)
		return call_err(c, OM_EINVAL,
		                "flags 0x%llx do not apply to an event",
		                (unsigned long long)(flags & ~allowed));
	e = calloc(1, sizeof(*e));
	if (!e)
		return call_err(c, OM_ENOMEM, "out of memory for an event");
	obj_init(&e->o, &event_type);
	*out = &e->o;
	return OM_OK;
}

static void event_destroy(struct obj *o)
{
	struct event_obj *e = (struct event_obj *)o;

	/* Parked waits watch the object, so none is left by now. */
	wait_list_answer_all(&e->waiters, OM_ECLOSED);
	free(e);
}

/* clang-format off */
#define OP(name) [OBJMGR__OP__##name - OBJMGR__OP__EVENT_SET]
static const op_fn ops[] = {
	OP(EVENT_SET) = event_set,
	OP(EVENT_CLEAR) = event_clear,
	OP(EVENT_IS_SET) = event_is_set,
	OP(EVENT_WAIT) = event_wait,
};
#undef OP

const struct type_def event_type = {
	.name = "event",
	.type = OM_TYPE_EVENT,
	.op_base = OBJMGR__OP__EVENT_SET,
	.nops = sizeof(ops) / sizeof(ops[0]),
	.ops = ops,
	.create = event_create,
	.destroy = event_destroy,
	.conn_gone = event_conn_gone,
};
/* clang-format on */
