/*
 * event.c — the EVENT type: a flag that processes wait on, like Python's
 * threading.Event. set() raises it and wakes every waiter, clear() lowers
 * it, wait() returns at once while it is up.
 *
 * The flag is a word in the object's segment (struct omi_sevent,
 * proto/shm.h) with a generation that every set bumps: a waiter returns
 * once the flag is up or the generation has moved since it began, so a
 * set followed at once by a clear (a mapped client's, which the server
 * does not see) still wakes it, as Python's Event.wait. Mapped clients
 * set, clear and wait on the word with no round trip; the server applies
 * RPC calls to the same word with the same functions.
 *
 * An RPC wait on a clear event parks its request (waiter.h), with the
 * generation it began at, and marks the word OMI_LK_SRV so that a mapped
 * client's set kicks the server (segment.h); a set answers them all. A
 * waiter whose connection ends is simply dropped (conn_gone): an event
 * holds nothing for anyone.
 */
#include <stdlib.h>

#include "segment.h"
#include "shm.h"
#include "waiter.h"

struct event_obj {
	struct obj o;
	struct segment seg;
	struct omi_sevent *se;    /* the word, in seg */
	struct wait_list waiters; /* parked EVENT_WAITs (struct ev_waiter) */
	struct kick kick;         /* armed while some are parked */
};

struct ev_waiter {
	struct waiter w;
	uint32_t gen0; /* the generation when it began */
};

/* Answer every parked waiter whose event fired since it began. */
static void serve(struct event_obj *e)
{
	for (struct waiter *w = e->waiters.head, *next; w; w = next) {
		next = w->next;
		if (omi_sevent_fired(
		            e->se, container_of(w, struct ev_waiter, w)->gen0))
			waiter_answer(w, OM_OK);
	}
}

/* The kick socket's retry (segment.h). */
static bool kick_event(struct kick *k)
{
	struct event_obj *e = container_of(k, struct event_obj, kick);
	serve(e);
	return e->waiters.n > 0;
}

/* EVENT_SET: raise the flag and wake every waiter */
static int event_set(struct obj *o, struct call *c)
{
	(void)c;
	struct event_obj *e = (struct event_obj *)o;
	omi_sevent_wake(e->se, omi_sevent_set(e->se));
	wait_list_answer_all(&e->waiters, OM_OK);
	return OM_OK;
}

/* EVENT_CLEAR */
static int event_clear(struct obj *o, struct call *c)
{
	(void)c;
	omi_sevent_clear(((struct event_obj *)o)->se);
	return OM_OK;
}

/* EVENT_IS_SET -> num 0/1 */
static int event_is_set(struct obj *o, struct call *c)
{
	call_num(c, omi_sevent_is_set(((struct event_obj *)o)->se));
	return OM_OK;
}

/* EVENT_WAIT timeout | ETIMEOUT */
static int event_wait(struct obj *o, struct call *c)
{
	struct event_obj *e = (struct event_obj *)o;
	uint32_t gen0 = omi_sevent_gen(e->se);
	if (omi_sevent_fired(e->se, gen0))
		return OM_OK;
	double timeout = c->req->timeout;
	if (timeout == 0)
		return call_err(c, OM_ETIMEOUT, "the event is not set");
	struct waiter *w;
	int rc = waiter_park(c, o, &e->waiters, timeout, waiter_expire,
	                     sizeof(struct ev_waiter), &w);
	if (rc != CALL_PARKED)
		return rc;
	container_of(w, struct ev_waiter, w)->gen0 = gen0;
	/* Mark, then look again (Dekker): a set either sees the mark and
	 * kicks, or came before it and is seen here. */
	omi_sevent_mark_srv(e->se);
	kick_arm(&e->kick);
	serve(e);
	return CALL_PARKED;
}

/* The connection ended: cancel its parked waits. */
static void event_conn_gone(struct obj *o, struct conn *conn)
{
	wait_list_drop_conn(&((struct event_obj *)o)->waiters, conn);
}

/* OPEN EVENT: no creation parameters; the flag starts clear. */
static int event_init(struct obj *o, struct call *c)
{
	struct event_obj *e = (struct event_obj *)o;
	int rc = segment_init(&e->seg, c, OM_TYPE_EVENT, 0, 0, 0);
	if (rc != OM_OK)
		return rc;
	e->se = omi_shm_state(e->seg.base);
	e->kick.fn = kick_event;
	o->seg = &e->seg;
	return OM_OK;
}

static void event_fini(struct obj *o)
{
	struct event_obj *e = (struct event_obj *)o;
	/* Parked waits watch the object, so none is left by now. */
	wait_list_answer_all(&e->waiters, OM_ECLOSED);
	kick_disarm(&e->kick);
	segment_fini(&e->seg);
}

static int event_dump(struct obj *o, struct call *c)
{
	om_item v = {.kind = OM_BOOL};
	v.b = omi_sevent_is_set(((struct event_obj *)o)->se);
	return call_result(c, &v);
}

static const struct type_look event_look = {NULL, NULL, event_dump};

static const struct op_def event_ops[] = {
        OP(EVENT_SET, event_set, 0, OPF_CHANGES),
        OP(EVENT_CLEAR, event_clear, 0, OPF_CHANGES),
        OP(EVENT_IS_SET, event_is_set, 0, 0),
        OP(EVENT_WAIT, event_wait, 0, OPF_TIMEOUT),
};

TYPE_DEF(event, EVENT, "event", struct event_obj, 0, 0, event_init, event_fini,
         event_conn_gone, NULL, NULL);
