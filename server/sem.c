/*
 * sem.c — the SEM type: a counting semaphore, like Python's
 * threading.Semaphore, or BoundedSemaphore with OM_BOUNDED (a release that
 * would take the value above its initial value is a ValueError, OM_EVALUE).
 *
 * An acquire that finds no permit parks its request on the wait list
 * (waiter.h) instead of blocking the loop; a release hands the new permits
 * to the parked acquirers in arrival order. So that a late comer never
 * overtakes a parked acquirer, an acquire takes a permit at once only when
 * nobody is parked; and since a release serves waiters while permits are
 * left, the value is 0 whenever someone is parked.
 *
 * A semaphore has no owner (as in Python): a process that dies holding
 * permits does not give them back. Only its parked acquires are dropped
 * (conn_gone), and a permit is never handed to a connection that is
 * already gone (conn_alive), since nobody would ever release it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "waiter.h"

struct sem {
	struct obj o;
	uint32_t value;   /* free permits */
	uint32_t initial; /* the creation value: the bound of a bounded one */
	bool bounded;
	struct wait_list waiters; /* parked SEM_ACQUIREs, in arrival order */
};

/* Hand free permits to parked acquirers, first come first served. A
 * waiter whose connection is gone is dropped rather than given a permit
 * it could never release. */
static void wake(struct sem *s)
{
	struct waiter *w;
	while (s->value > 0 && (w = wait_list_head_alive(&s->waiters))) {
		s->value--;
		waiter_answer(w, OM_OK);
	}
}

/* SEM_ACQUIRE timeout | ETIMEOUT */
static int sem_acquire(struct obj *o, struct call *c)
{
	struct sem *s = (struct sem *)o;
	if (s->value > 0 && !s->waiters.head) {
		s->value--;
		return OM_OK;
	}
	double timeout = c->req->timeout;
	if (timeout == 0)
		return call_err(c, OM_ETIMEOUT, "no permit free");
	return waiter_park(c, o, &s->waiters, timeout, waiter_expire,
	                   sizeof(struct waiter), NULL);
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
	if (s->bounded && (uint64_t)s->value + (uint64_t)n > s->initial)
		return call_err(c, OM_EVALUE,
		                "Semaphore released too many times");
	/* Keep the value within what om_sem_value() can report. */
	if ((uint64_t)s->value + (uint64_t)n > UINT32_MAX)
		return call_err(c, OM_EVALUE,
		                "semaphore value would exceed %lu",
		                (unsigned long)UINT32_MAX);
	s->value += (uint32_t)n;
	wake(s);
	return OM_OK;
}

/* SEM_VALUE -> num */
static int sem_value(struct obj *o, struct call *c)
{
	call_num(c, ((struct sem *)o)->value);
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
	s->value = s->initial = (uint32_t)init->i;
	s->bounded = (c->req->num2 & OM_BOUNDED) != 0;
	return OM_OK;
}

static void sem_fini(struct obj *o)
{
	struct sem *s = (struct sem *)o;
	/* Parked acquires watch the object, so none is left by now. */
	wait_list_answer_all(&s->waiters, OM_ECLOSED);
}

static const struct op_def sem_ops[] = {
        OP(SEM_ACQUIRE, sem_acquire, 0, OPF_TIMEOUT),
        OP(SEM_RELEASE, sem_release, 0, 0),
        OP(SEM_VALUE, sem_value, 0, 0),
};

TYPE_DEF(sem, SEM, "semaphore", struct sem, 1, OM_BOUNDED, sem_init, sem_fini,
         sem_conn_gone, NULL, NULL);
