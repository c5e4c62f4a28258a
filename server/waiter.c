/*
 * waiter.c — parked requests (see waiter.h): lists, deadlines, answers.
 */
#include <math.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "waiter.h"

static struct waiter *all;
static uint64_t seqs;

static void unlink_list(struct waiter *w)
{
	struct wait_list *l = w->list;
	if (!l)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		l->tail = w->prev;
	l->n--;
	w->list = NULL;
	w->prev = w->next = NULL;
}

static void waiter_free(struct waiter *w)
{
	unlink_list(w);
	if (w->aprev)
		w->aprev->anext = w->anext;
	else
		all = w->anext;
	if (w->anext)
		w->anext->aprev = w->aprev;
	if (w->timer)
		event_free(w->timer);
	store_clear(&w->item);
	w->conn->nparked--;
	stats.parked--;
	conn_unwatch(w->conn, w->obj);
	conn_decref(w->conn);
	free(w);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct waiter *w = arg;
	struct obj *o = w->obj;
	struct conn *conn = w->conn;
	conn_incref(conn);
	obj_incref(o); /* on_timeout may free w and drop the last watch */
	pthread_mutex_lock(&o->mu);
	w->on_timeout(o, w);
	pthread_mutex_unlock(&o->mu);
	obj_decref(o);
	conns_flush();
	obj_reap();
	conn_decref(conn);
}

int waiter_park(struct call *c, struct obj *o, struct wait_list *list,
                double timeout, const om_item *item, waiter_fn on_timeout,
                struct waiter **out)
{
	struct conn *conn = c->conn;
	if (conn->nparked >= limits.max_inflight)
		return call_err(c, OM_ENOMEM,
		                "too many parked requests on this connection "
		                "(limit %u)", limits.max_inflight);
	struct waiter *w = calloc(1, sizeof *w);
	if (!w)
		return call_err(c, OM_ENOMEM, "out of memory");
	w->item.kind = OM_NIL;
	int rc;
	if (item && (rc = store_item(c, &w->item, item)))
		goto out_free;
	if (timeout > 0) {
		w->timer = evtimer_new(base, on_deadline, w);
		/* Clamp absurd timeouts to ~a century rather than overflow. */
		double t = isfinite(timeout) && timeout < 3e9 ? timeout : 3e9;
		struct timeval tv = {(time_t)t,
		                     (suseconds_t)((t - floor(t)) * 1e6)};
		if (!w->timer || evtimer_add(w->timer, &tv)) {
			rc = call_err(c, OM_ENOMEM, "out of memory");
			goto out_item;
		}
	}
	if ((rc = conn_watch(conn, o))) {
		call_err(c, rc, "cannot park the request");
		goto out_item;
	}
	w->conn = conn;
	conn_incref(conn);
	conn->nparked++;
	stats.parked++;
	w->obj = o;
	w->id = c->req->id;
	w->op = (int)c->req->op;
	w->num = c->req->num;
	w->num2 = c->req->num2;
	w->seq = ++seqs;
	w->on_timeout = on_timeout;
	w->list = list;
	w->prev = list->tail;
	if (list->tail)
		list->tail->next = w;
	else
		list->head = w;
	list->tail = w;
	list->n++;
	w->anext = all;
	if (all)
		all->aprev = w;
	all = w;
	if (out)
		*out = w;
	return CALL_PARKED;

out_item:
	if (w->timer)
		event_free(w->timer);
	store_clear(&w->item);
out_free:
	free(w);
	return rc;
}

void waiter_reply(struct waiter *w, int code, Objmgr__Response *resp)
{
	resp->id = w->id;
	resp->status = (Objmgr__Status)omi_code_to_status(code);
	conn_send(w->conn, resp);
	waiter_free(w);
}

void waiter_answer(struct waiter *w, int code)
{
	Objmgr__Response resp = OBJMGR__RESPONSE__INIT;
	waiter_reply(w, code, &resp);
}

void waiter_drop(struct waiter *w)
{
	waiter_free(w);
}

void wait_list_drop_conn(struct wait_list *list, struct conn *conn)
{
	for (struct waiter *w = list->head, *next; w; w = next) {
		next = w->next;
		if (w->conn == conn)
			waiter_free(w);
	}
}

void wait_list_answer_all(struct wait_list *list, int code)
{
	while (list->head)
		waiter_answer(list->head, code);
}

void waiters_stop_all(void)
{
	while (all) {
		struct waiter *w = all;
		Objmgr__Response resp = OBJMGR__RESPONSE__INIT;
		resp.message = "the server is stopping";
		waiter_reply(w, OM_ESTOPPING, &resp);
	}
	conns_flush();
}
