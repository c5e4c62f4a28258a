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

/* Answers to parked calls are built here, not in the arena of whatever
 * request is being served when they are given (it may be another
 * connection's, or none: a deadline). Reset once the outermost answer is
 * packed. */
static struct omi_arena answer_arena;
static bool answer_arena_ready;
static unsigned answering;

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

static void link_tail(struct waiter *w, struct wait_list *l)
{
	w->list = l;
	w->next = NULL;
	w->prev = l->tail;
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	l->n++;
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
	if (w->on_free)
		w->on_free(w);
	u64map_del(&w->conn->parked, w->id);
	w->conn->nparked--;
	omi_srv.stats.parked--;
	conn_unwatch(w->conn, w->obj);
	conn_decref(w->conn);
	free(w);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct waiter *w = arg;
	w->on_timeout(w->obj, w);
}

int waiter_park(struct call *c, struct obj *o, struct wait_list *list,
                double timeout, waiter_fn on_timeout, size_t size,
                struct waiter **out)
{
	struct conn *conn = c->conn;
	if (conn->nparked >= omi_srv.limits.max_inflight)
		return call_err(c, OM_ENOMEM,
		                "too many parked requests on this connection "
		                "(limit %u)",
		                omi_srv.limits.max_inflight);
	struct waiter *w = calloc(1, size);
	if (!w)
		return call_err(c, OM_ENOMEM, "out of memory");
	int rc;
	if (timeout > 0) {
		w->timer = evtimer_new(omi_srv.base, on_deadline, w);
		/* Clamp absurd timeouts to ~a century rather than overflow. */
		double t = isfinite(timeout) && timeout < 3e9 ? timeout : 3e9;
		struct timeval tv = {(time_t)t,
		                     (suseconds_t)((t - floor(t)) * 1e6)};
		if (!w->timer || evtimer_add(w->timer, &tv)) {
			rc = call_err(c, OM_ENOMEM, "out of memory");
			goto out_free;
		}
	}
	if (u64map_put(&conn->parked, c->req->id, w)) {
		rc = call_err(c, OM_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = conn_watch(conn, o))) {
		u64map_del(&conn->parked, c->req->id);
		call_err(c, rc, "cannot park the request");
		goto out_free;
	}
	w->conn = conn;
	conn_incref(conn);
	conn->nparked++;
	omi_srv.stats.parked++;
	w->obj = o;
	w->id = c->req->id;
	w->seq = ++seqs;
	w->on_timeout = on_timeout;
	link_tail(w, list);
	w->anext = all;
	if (all)
		all->aprev = w;
	all = w;
	if (out)
		*out = w;
	return CALL_PARKED;

out_free:
	if (w->timer)
		event_free(w->timer);
	free(w);
	return rc;
}

void waiter_call(struct waiter *w, struct call *c)
{
	if (!answer_arena_ready) {
		omi_arena_init(&answer_arena);
		answer_arena_ready = true;
	}
	answering++;
	*c = (struct call){
	        .conn = w->conn,
	        .resp = OBJMGR__RESPONSE__INIT,
	        .arena = &answer_arena,
	};
	c->resp.id = w->id;
}

void waiter_finish(struct waiter *w, struct call *c, int code)
{
	call_send(c, code);
	waiter_free(w);
	if (--answering == 0)
		omi_arena_reset(&answer_arena);
}

void waiter_answer(struct waiter *w, int code)
{
	struct call c;
	waiter_call(w, &c);
	waiter_finish(w, &c, code);
}

void waiter_answer_msg(struct waiter *w, int code, const char *msg)
{
	struct call c;
	waiter_call(w, &c);
	call_err(&c, code, "%s", msg);
	waiter_finish(w, &c, code);
}

void waiter_expire(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer(w, OM_ETIMEOUT);
}

void waiter_drop(struct waiter *w)
{
	waiter_free(w);
}

void waiter_move(struct waiter *w, struct wait_list *to)
{
	unlink_list(w);
	link_tail(w, to);
}

size_t wait_list_drop_conn(struct wait_list *list, struct conn *conn)
{
	size_t n = 0;
	for (struct waiter *w = list->head, *next; w; w = next) {
		next = w->next;
		if (w->conn == conn) {
			waiter_free(w);
			n++;
		}
	}
	return n;
}

struct waiter *wait_list_head_alive(struct wait_list *list)
{
	while (list->head && !conn_alive(list->head->conn))
		waiter_free(list->head);
	return list->head;
}

void wait_list_answer_all(struct wait_list *list, int code)
{
	while (list->head)
		waiter_answer(list->head, code);
}

void waiters_stop_all(void)
{
	while (all)
		waiter_answer_msg(all, OM_ESTOPPING, "the server is stopping");
	if (answer_arena_ready)
		omi_arena_free(&answer_arena);
	answer_arena_ready = false;
}
