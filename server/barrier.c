/*
 * barrier.c — the BARRIER type: a meeting point for a fixed number of
 * parties, like Python's threading.Barrier. Each wait() arrives with an
 * index (0 for the first arrival of a round, parties - 1 for the last);
 * the last arrival releases everyone and the barrier is ready for the
 * next round at once. A wait that times out, an abort(), or a party whose
 * connection ends while waiting breaks the barrier: every parked party
 * gets OM_EBROKEN, and so does every later wait until reset().
 *
 * Arrivals that are not the last park their request on the wait list
 * (waiter.h), so the wait list is exactly the current round: a round ends
 * either by completing or by breaking, and both answer everyone parked.
 * Hence the number of parties waiting is the list's length, and a
 * waiter's index is the list's length when it arrived, which its
 * barrier_waiter keeps to send back with the answer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "waiter.h"

struct barrier {
	struct obj o;
	uint32_t parties;
	bool broken;
	struct wait_list waiters; /* this round's parked parties, in order */
};

/* A parked party. */
struct barrier_waiter {
	struct waiter w;
	uint32_t index; /* its arrival index, the answer to its wait */
};

/* Break the barrier: every parked party gets OM_EBROKEN, and so does
 * every wait until a reset. */
static void barrier_break(struct barrier *b)
{
	b->broken = true;
	wait_list_answer_all(&b->waiters, OM_EBROKEN);
}

/* Drop the parked parties whose connection is already gone although the
 * server has not noticed yet (a killed process whose hang-up is still in
 * the socket). @return whether there was one. */
static bool drop_dead(struct barrier *b)
{
	bool found = false;
	for (struct waiter *w = b->waiters.head, *next; w; w = next) {
		next = w->next;
		if (!conn_alive(w->conn)) {
			waiter_drop(w);
			found = true;
		}
	}
	return found;
}

/* The last party arrived: answer every parked one with its index. */
static void release_all(struct barrier *b)
{
	while (b->waiters.head) {
		struct waiter *w = b->waiters.head;
		struct call c;
		waiter_call(w, &c);
		call_num(&c, container_of(w, struct barrier_waiter, w)->index);
		waiter_finish(w, &c, OM_OK);
	}
}

/* The deadline of a parked wait: as in Python, the timeout breaks the
 * barrier for everyone; the party that timed out is told ETIMEOUT. */
static void wait_timeout(struct obj *o, struct waiter *w)
{
	waiter_expire(o, w);
	barrier_break((struct barrier *)o);
}

/* BARRIER_WAIT timeout -> num index | EBROKEN, ETIMEOUT */
static int barrier_wait(struct obj *o, struct call *c)
{
	struct barrier *b = (struct barrier *)o;
	if (b->broken)
		return call_err(c, OM_EBROKEN, "the barrier is broken");
	uint32_t index = (uint32_t)b->waiters.n;
	if (index + 1 == b->parties) {
		/* A party that died while waiting breaks the round, even if
		 * its hang-up has not been read yet. */
		if (drop_dead(b)) {
			barrier_break(b);
			return call_err(c, OM_EBROKEN,
			                "a waiting party's connection ended");
		}
		release_all(b);
		call_num(c, index);
		return OM_OK;
	}
	double timeout = c->req->timeout;
	if (timeout == 0) {
		barrier_break(b);
		return call_err(c, OM_ETIMEOUT,
		                "not all parties arrived; the barrier is now "
		                "broken");
	}
	struct waiter *w;
	int rc = waiter_park(c, o, &b->waiters, timeout, wait_timeout,
	                     sizeof(struct barrier_waiter), &w);
	if (rc == CALL_PARKED)
		container_of(w, struct barrier_waiter, w)->index = index;
	return rc;
}

/* BARRIER_RESET: parked parties get EBROKEN; the barrier is whole again */
static int barrier_reset(struct obj *o, struct call *c)
{
	(void)c;
	struct barrier *b = (struct barrier *)o;
	wait_list_answer_all(&b->waiters, OM_EBROKEN);
	b->broken = false;
	return OM_OK;
}

/* BARRIER_ABORT: break it until a reset */
static int barrier_abort(struct obj *o, struct call *c)
{
	(void)c;
	barrier_break((struct barrier *)o);
	return OM_OK;
}

/* BARRIER_PARTIES -> num */
static int barrier_parties(struct obj *o, struct call *c)
{
	call_num(c, ((struct barrier *)o)->parties);
	return OM_OK;
}

/* BARRIER_N_WAITING -> num */
static int barrier_n_waiting(struct obj *o, struct call *c)
{
	call_num(c, (int64_t)((struct barrier *)o)->waiters.n);
	return OM_OK;
}

/* BARRIER_BROKEN -> num 0/1 */
static int barrier_broken(struct obj *o, struct call *c)
{
	call_num(c, ((struct barrier *)o)->broken);
	return OM_OK;
}

/* The connection ended. If it was a party waiting here, the round can
 * never complete: drop it and break the barrier for the others. */
static void barrier_conn_gone(struct obj *o, struct conn *conn)
{
	struct barrier *b = (struct barrier *)o;
	if (wait_list_drop_conn(&b->waiters, conn))
		barrier_break(b);
}

/* OPEN BARRIER: args [int parties (1..UINT32_MAX)] */
static int barrier_init(struct obj *o, struct call *c)
{
	const om_item *parties = &c->args[0];
	if (parties->kind != OM_INT || parties->i < 1 ||
	    parties->i > UINT32_MAX)
		return call_err(c, OM_EINVAL,
		                "barrier parties must be an int in [1, %lu]",
		                (unsigned long)UINT32_MAX);
	((struct barrier *)o)->parties = (uint32_t)parties->i;
	return OM_OK;
}

static void barrier_fini(struct obj *o)
{
	struct barrier *b = (struct barrier *)o;
	/* Parked parties watch the object, so none is left by now. */
	wait_list_answer_all(&b->waiters, OM_ECLOSED);
}

/* [int parties, int waiting, bool broken] */
static int barrier_dump(struct obj *o, struct call *c)
{
	struct barrier *b = (struct barrier *)o;
	om_item v[3] = {{.kind = OM_INT}, {.kind = OM_INT}, {.kind = OM_BOOL}};
	v[0].i = b->parties;
	v[1].i = (int64_t)b->waiters.n;
	v[2].b = b->broken;
	return call_results(c, v, 3);
}

static const struct type_look barrier_look = {NULL, NULL, barrier_dump};

static const struct op_def barrier_ops[] = {
        OP(BARRIER_WAIT, barrier_wait, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(BARRIER_RESET, barrier_reset, 0, OPF_CHANGES),
        OP(BARRIER_ABORT, barrier_abort, 0, OPF_CHANGES),
        OP(BARRIER_PARTIES, barrier_parties, 0, 0),
        OP(BARRIER_N_WAITING, barrier_n_waiting, 0, 0),
        OP(BARRIER_BROKEN, barrier_broken, 0, 0),
};

TYPE_DEF(barrier, BARRIER, "barrier", struct barrier, 1, 0, barrier_init,
         barrier_fini, barrier_conn_gone, NULL, NULL);
