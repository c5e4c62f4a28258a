/*
 * pipe.c — the PIPE type: Python's multiprocessing.Pipe, whose two ends
 * are two objects of this type. libclient/pipe.c is the other half.
 *
 * An end is open exactly while its object lives, so Python's closing
 * semantics come from the reference machinery alone: a session's handles,
 * a fork hold (hold.c), a stored Ref, and the name of end a (which also
 * pins end b, so a named pipe keeps both ends until UNLINK). When an end's
 * last reference goes, its fini is "this end is closed": its own inbox is
 * dropped and its peer learns it has no peer any more (parked receivers
 * then get ECLOSED, pollers are told a recv would not wait). The ends hold
 * no reference on each other, only these peer pointers, cleared at fini;
 * otherwise neither end could ever close while the other lives.
 *
 * Messages sent on an end wait in its peer's inbox, a FIFO of items kept
 * with store_item() (so --max-memory bounds it: a send never blocks) in
 * nodes charged with store_charge(). A recv on an empty inbox parks
 * (waiter.h); receivers are served in arrival order, never handing an item
 * to a dead connection (wait_list_head_alive), so a killed receiver loses
 * nothing. Invariant after every change: receivers are parked only on an
 * empty inbox of an end whose peer is open, pollers only on such an end.
 */
#include <stdlib.h>

#include "conn.h"
#include "obj.h"
#include "waiter.h"

/* One message in an inbox. */
struct msg {
	om_item it; /* kept with store_item() */
	struct msg *next;
};

struct pipe_end {
	struct obj o;
	struct pipe_end *peer; /* NULL once the other end is closed */
	bool can_send, can_recv;
	struct msg *head, *tail; /* the inbox: items sent TO this end */
	struct wait_list receivers, pollers;
	/* End a while named: the reference it holds on b, so that both
	 * ends stay open while the name exists (dropped at UNLINK). */
	struct pipe_end *pinned;
};

static const char closed_msg[] = "the other end of the pipe is closed";

/* --------------------------------------------------------------- inbox */

/* Unlink and free the inbox's first message, whose item is already
 * cleared or taken. */
static void msg_pop(struct pipe_end *e)
{
	struct msg *m = e->head;
	e->head = m->next;
	if (!e->head)
		e->tail = NULL;
	free(m);
	store_refund(sizeof *m);
}

/* Release every message of e's inbox. */
static void inbox_clear(struct pipe_end *e)
{
	while (e->head) {
		store_clear(&e->head->it);
		msg_pop(e);
	}
}

/* Answer c with the inbox's first message (there is one). If it cannot
 * be taken (out of memory for the answer) it stays, first. */
static int take(struct pipe_end *e, struct call *c)
{
	int rc = call_result_take(c, &e->head->it);
	if (rc == OM_OK)
		msg_pop(e);
	return rc;
}

/* Answer every parked poller of e: a recv would not wait now. */
static void answer_pollers(struct pipe_end *e)
{
	while (e->pollers.head) {
		struct waiter *w = e->pollers.head;
		struct call c;
		waiter_call(w, &c);
		call_num(&c, 1);
		waiter_finish(w, &c, OM_OK);
	}
}

/* Serve what e's state now allows (see the invariant at the top). */
static void pump(struct pipe_end *e)
{
	struct waiter *w;
	while (e->head && (w = wait_list_head_alive(&e->receivers))) {
		struct call c;
		waiter_call(w, &c);
		waiter_finish(w, &c, take(e, &c));
	}
	if (!e->head && !e->peer)
		while (e->receivers.head)
			waiter_answer_msg(e->receivers.head, OM_ECLOSED,
			                  closed_msg);
	if (e->head || !e->peer)
		answer_pollers(e);
}

/* ------------------------------------------------------------ operations */

/* PIPE_SEND items... (all or nothing) | ECLOSED, EINVAL */
static int pipe_send(struct obj *o, struct call *c)
{
	struct pipe_end *e = (struct pipe_end *)o;
	struct msg *first = NULL, **link = &first, *last = NULL;
	int rc;
	if (!e->can_send)
		return call_err(c, OM_EINVAL,
		                "send on the end of a simplex pipe that only "
		                "receives");
	if (!e->peer)
		return call_err(c, OM_ECLOSED, "%s", closed_msg);
	for (size_t i = 0; i < c->nargs; i++)
		if ((rc = store_check(c, &c->args[i])))
			return rc;
	/* Keep every item first, so that a failure sends nothing. */
	for (size_t i = 0; i < c->nargs; i++) {
		if ((rc = store_charge(c, sizeof *last)))
			goto out_free;
		if (!(last = malloc(sizeof *last))) {
			store_refund(sizeof *last);
			rc = call_err(c, OM_ENOMEM,
			              "out of memory for a message");
			goto out_free;
		}
		last->next = NULL;
		*link = last;
		link = &last->next;
		if ((rc = store_item(c, &last->it, &c->args[i])))
			goto out_free;
	}
	if (!first)
		return OM_OK;
	struct pipe_end *p = e->peer;
	if (p->tail)
		p->tail->next = first;
	else
		p->head = first;
	p->tail = last;
	/* The messages are the receiving end's state: its watchers are told
	 * (the sending end did not change; its row has no OPF_CHANGES). */
	look_changed(&p->o, c->conn, OBJMGR__OP__PIPE_SEND);
	pump(p);
	return OM_OK;

out_free:
	while (first) {
		struct msg *m = first;
		first = m->next;
		store_clear(&m->it); /* OM_NIL if never stored */
		free(m);
		store_refund(sizeof *m);
	}
	return rc;
}

/* PIPE_RECV [timeout] -> item | ETIMEOUT, ECLOSED, EINVAL */
static int pipe_recv(struct obj *o, struct call *c)
{
	struct pipe_end *e = (struct pipe_end *)o;
	if (!e->can_recv)
		return call_err(c, OM_EINVAL,
		                "recv on the end of a simplex pipe that only "
		                "sends");
	if (e->head)
		return take(e, c);
	if (!e->peer)
		return call_err(c, OM_ECLOSED, "%s", closed_msg);
	if (c->req->timeout == 0)
		return call_err(c, OM_ETIMEOUT, "nothing to receive");
	return waiter_park(c, o, &e->receivers, c->req->timeout, waiter_expire,
	                   sizeof(struct waiter), NULL);
}

/* At a poll's deadline: OK, num 0 (nothing came). */
static void poller_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer(w, OM_OK);
}

/* PIPE_POLL [timeout] -> num 0/1 | EINVAL */
static int pipe_poll(struct obj *o, struct call *c)
{
	struct pipe_end *e = (struct pipe_end *)o;
	if (!e->can_recv)
		return call_err(c, OM_EINVAL,
		                "poll of the end of a simplex pipe that only "
		                "sends");
	if (e->head || !e->peer || c->req->timeout == 0) {
		call_num(c, e->head || !e->peer);
		return OM_OK;
	}
	return waiter_park(c, o, &e->pollers, c->req->timeout, poller_timeout,
	                   sizeof(struct waiter), NULL);
}

/* ------------------------------------------------------------- life cycle */

/* OPEN creation (no arguments), num2 = flags: this object is end a; end b
 * is registered here, anonymous, held by nothing until opened() gives the
 * connection its reference. */
static int pipe_init(struct obj *o, struct call *c)
{
	struct pipe_end *a = (struct pipe_end *)o;
	struct pipe_end *b = calloc(1, sizeof *b);
	if (!b)
		return call_err(c, OM_ENOMEM, "out of memory for a pipe");
	b->o.type = &pipe_type;
	bool simplex = c->req->num2 & OM_SIMPLEX;
	a->can_recv = b->can_send = true;
	a->can_send = b->can_recv = !simplex;
	if (obj_register(&b->o, NULL)) /* destroys b */
		return call_err(c, OM_ENOMEM, "out of memory for a pipe");
	a->peer = b;
	b->peer = a;
	return OM_OK;
}

/* An end whose count is 0 and that is not doomed was never handed out
 * (its creation failed half-way): doom it, or it would never be freed. */
static void doom_orphan(struct pipe_end *e)
{
	if (e->o.refs == 0 && !e->o.doomed) {
		obj_incref(&e->o);
		obj_decref(&e->o);
	}
}

/* This end is closed. */
static void pipe_fini(struct obj *o)
{
	struct pipe_end *e = (struct pipe_end *)o;
	/* Waiters watch the object, so none is left unless the server is
	 * stopping; answer any anyway rather than leave them dangling. */
	wait_list_answer_all(&e->receivers, OM_ECLOSED);
	wait_list_answer_all(&e->pollers, OM_ECLOSED);
	inbox_clear(e);
	if (e->pinned)
		obj_decref(&e->pinned->o);
	struct pipe_end *p = e->peer;
	if (p) {
		p->peer = NULL;
		/* Only when the server stops can a pin outlive its end. */
		if (p->pinned == e)
			p->pinned = NULL;
		pump(p);
		doom_orphan(p);
	}
}

/* A connection that ends cancels its parked calls. */
static void pipe_conn_gone(struct obj *o, struct conn *conn)
{
	struct pipe_end *e = (struct pipe_end *)o;
	wait_list_drop_conn(&e->receivers, conn);
	wait_list_drop_conn(&e->pollers, conn);
}

/* The inbox's items: the only references an end keeps (its peer pointer
 * is none). */
static void pipe_traverse(struct obj *o, visit_fn visit, void *arg)
{
	struct pipe_end *e = (struct pipe_end *)o;
	for (struct msg *m = e->head; m; m = m->next)
		store_visit(&m->it, visit, arg);
}

/* The collector found this end garbage: drop its inbox (fini follows). */
static void pipe_clear(struct obj *o)
{
	inbox_clear((struct pipe_end *)o);
}

/* OPEN handed end a to the connection: hand it end b too (results[1]),
 * with a reference of its own, and pin b while a is named. */
static int pipe_opened(struct obj *o, struct call *c)
{
	struct pipe_end *a = (struct pipe_end *)o;
	struct pipe_end *b = a->peer;
	if (!b)
		return call_err(c, OM_ECLOSED, "%s", closed_msg);
	if (a->o.name && !a->pinned) {
		obj_incref(&b->o);
		a->pinned = b;
	}
	if (conn_ref_add(c->conn, &b->o))
		return call_err(c, OM_ENOMEM, "out of memory");
	om_item ref = {.kind = OM_REF};
	ref.ref.id = b->o.id;
	ref.ref.type = OM_TYPE_PIPE;
	int rc = call_result(c, &ref);
	if (rc)
		conn_ref_drop(c->conn, &b->o);
	return rc;
}

/* UNLINK took a's name: the ends close when their last holders go. */
static void pipe_unnamed(struct obj *o)
{
	struct pipe_end *a = (struct pipe_end *)o;
	if (a->pinned) {
		struct pipe_end *b = a->pinned;
		a->pinned = NULL;
		obj_decref(&b->o);
	}
}

static const struct type_hooks pipe_hooks = {
        .opened = pipe_opened,
        .unnamed = pipe_unnamed,
};

static uint64_t pipe_length(const struct obj *o)
{
	uint64_t n = 0;
	for (const struct msg *m = ((const struct pipe_end *)o)->head; m;
	     m = m->next)
		n++;
	return n;
}

/* The inbox: its nodes and their items. */
static uint64_t pipe_bytes(const struct obj *o)
{
	uint64_t n = 0;
	for (const struct msg *m = ((const struct pipe_end *)o)->head; m;
	     m = m->next)
		n += sizeof *m + omi_item_extra(&m->it);
	return n;
}

/* [the messages waiting here..., bool the other end open] */
static int pipe_dump(struct obj *o, struct call *c)
{
	struct pipe_end *e = (struct pipe_end *)o;
	int rc = OM_OK;
	for (const struct msg *m = e->head; m && rc == OM_OK; m = m->next)
		rc = call_result(c, &m->it);
	om_item open = {.kind = OM_BOOL, .b = e->peer != NULL};
	return rc ? rc : call_result(c, &open);
}

static const struct type_look pipe_look = {pipe_length, pipe_bytes, pipe_dump};

static const struct op_def pipe_ops[] = {
        OP(PIPE_SEND, pipe_send, OP_VARARGS, 0),
        OP(PIPE_RECV, pipe_recv, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(PIPE_POLL, pipe_poll, 0, OPF_TIMEOUT),
};

TYPE_DEF_HOOKS(pipe, PIPE, "pipe", struct pipe_end, 0, OM_SIMPLEX, pipe_init,
               pipe_fini, pipe_conn_gone, pipe_traverse, pipe_clear,
               &pipe_hooks);
