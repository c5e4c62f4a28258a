/*
 * sem.c — the SEM type: a counting semaphore, like Python's
 * threading.Semaphore, or BoundedSemaphore with OM_BOUNDED (a release that
 * would take the value above its initial value is a ValueError, OM_EVALUE).
 *
 * The value is a word in the object's segment (struct omi_ssem,
 * proto/shm.h): mapped clients take and add permits there with no round
 * trip, and the server applies RPC calls to the same word with the same
 * functions. The initial value and whether it is bounded are the server's
 * own copy, never read back from the segment.
 *
 * An RPC acquire that finds no permit parks its request on the wait list
 * (waiter.h) instead of blocking the loop, and marks the word OMI_WAIT_SRV
 * so that a mapped client's release kicks the server (segment.h); a
 * release hands permits to the parked acquirers in arrival order, and an
 * RPC acquire takes one at once only when nobody is parked, so no RPC
 * newcomer overtakes a parked one. A mapped client takes a free permit
 * without asking, so it may overtake them (as with any futex semaphore).
 *
 * A semaphore has no owner (as in Python): a process that dies holding
 * permits does not give them back. Only its parked acquires are dropped
 * (conn_gone), and a permit is never handed to a connection that is
 * already gone (conn_alive), since nobody would ever release it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "segment.h"
#include "shm.h"
#include "waiter.h"

struct sem {
	struct obj o;
	struct segment seg;
	struct omi_ssem *ss; /* the value and wait flags, in seg */
	uint32_t initial; /* the creation value: the bound of a bounded one */
	bool bounded;
	struct wait_list waiters; /* parked SEM_ACQUIREs, in arrival order */
	struct kick kick;         /* armed while some are parked */
};

/* Hand free permits to parked acquirers, first come first served. A
 * waiter whose connection is gone is dropped rather than given a permit
 * it could never release. With none left parked, releases need not kick
 * the server any more. */
static void serve(struct sem *s)
{
	struct waiter *w;
	while ((w = wait_list_head_alive(&s->waiters)) &&
	       omi_ssem_try(s->ss) == OM_OK)
		waiter_answer(w, OM_OK);
	if (!s->waiters.head)
		omi_ssem_mark_srv(s->ss, false);
}

/* The kick socket's retry (segment.h). */
static bool kick_sem(struct kick *k)
{
	struct sem *s = container_of(k, struct sem, kick);
	serve(s);
	return s->waiters.n > 0;
}

/* SEM_ACQUIRE timeout | ETIMEOUT */
static int sem_acquire(struct obj *o, struct call *c)
{
	struct sem *s = (struct sem *)o;
	if (s->waiters.head)
		serve(s); /* a mapped client's release not kicked yet */
	if (!s->waiters.head && omi_ssem_try(s->ss) == OM_OK)
		return OM_OK;
	double timeout = c->req->timeout;
	if (timeout == 0)
		return call_err(c, OM_ETIMEOUT, "no permit free");
	int rc = waiter_park(c, o, &s->waiters, timeout, waiter_expire,
	                     sizeof(struct waiter), NULL);
	if (rc != CALL_PARKED)
		return rc;
	/* Mark, then look again (Dekker): a release either sees the mark
	 * and kicks, or came before it and left a permit seen here. */
	omi_ssem_mark_srv(s->ss, true);
	kick_arm(&s->kick);
	serve(s);
	return CALL_PARKED;
}

/* SEM_RELEASE num=n | EVALUE (n < 1, or over the bound), EINVAL */
static int sem_release(struct obj *o, struct call *c)
{
	struct sem *s = (struct sem *)o;
	int64_t n = c->req->num;
	if (n < 1)
		return call_err(c, OM_EVALUE, "n must be one or more");
	if (n > UINT32_MAX)
		return call_err(c, OM_EINVAL, "n must be at most %lu",
		                (unsigned long)UINT32_MAX);
	uint32_t flags;
	if (omi_ssem_release(s->ss, (uint64_t)n, s->bounded, s->initial,
	                     &flags) != OM_OK) {
		/* A bound is at most UINT32_MAX: bounded, it is the bound. */
		if (s->bounded)
			return call_err(c, OM_EVALUE,
			                "Semaphore released too many times");
		/* Keep the value within what om_sem_value() can report. */
		return call_err(c, OM_EVALUE,
		                "semaphore value would exceed %lu",
		                (unsigned long)UINT32_MAX);
	}
	serve(s);
	return OM_OK;
}

/* SEM_VALUE -> num */
static int sem_value(struct obj *o, struct call *c)
{
	struct sem *s = (struct sem *)o;
	call_num(c, omi_ssem_value(s->ss));
	return OM_OK;
}

/* The connection ended: cancel its parked acquires. It keeps no permits
 * to give back (no owner), so the value does not change. */
static void sem_conn_gone(struct obj *o, struct conn *conn)
{
	wait_list_drop_conn(&((struct sem *)o)->waiters, conn);
}

/* OPEN SEM: args [int initial (0..UINT32_MAX)]; flags may add OM_BOUNDED */
static int sem_init(struct obj *o, struct call *c)
{
	const om_item *init = &c->args[0];
	if (init->kind != OM_INT || init->i < 0 || init->i > UINT32_MAX)
		return call_err(c, OM_EINVAL,
		                "semaphore initial value must be an int in "
		                "[0, %lu]",
		                (unsigned long)UINT32_MAX);
	struct sem *s = (struct sem *)o;
	s->initial = (uint32_t)init->i;
	s->bounded = (c->req->num2 & OM_BOUNDED) != 0;
	int rc = segment_init(&s->seg, c, OM_TYPE_SEM, s->initial, 0,
	                      s->bounded ? OM_BOUNDED : 0);
	if (rc != OM_OK)
		return rc;
	s->ss = omi_shm_state(s->seg.base);
	s->ss->value = s->initial; /* nobody maps it yet */
	s->kick.fn = kick_sem;
	o->seg = &s->seg;
	return OM_OK;
}

static void sem_fini(struct obj *o)
{
	struct sem *s = (struct sem *)o;
	/* Parked acquires watch the object, so none is left by now. */
	wait_list_answer_all(&s->waiters, OM_ECLOSED);
	kick_disarm(&s->kick);
	segment_fini(&s->seg);
}

static int sem_dump(struct obj *o, struct call *c)
{
	om_item v = {.kind = OM_INT};
	v.i = omi_ssem_value(((struct sem *)o)->ss);
	return call_result(c, &v);
}

static const struct type_look sem_look = {NULL, NULL, sem_dump};

static const struct op_def sem_ops[] = {
        OP(SEM_ACQUIRE, sem_acquire, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(SEM_RELEASE, sem_release, 0, OPF_CHANGES),
        OP(SEM_VALUE, sem_value, 0, 0),
};

TYPE_DEF(sem, SEM, "semaphore", struct sem, 1, OM_BOUNDED, sem_init, sem_fini,
         sem_conn_gone, NULL, NULL);
