/*
 * waiter.h — parked requests: blocking calls that never block the loop.
 *
 * A blocking operation that cannot complete now (queue get on an empty
 * queue, lock acquire on a held lock, ...) parks its request: a waiter
 * keeps the request id and what the operation needs to finish later, sits
 * on one of the object's wait lists in arrival order, and has a libevent
 * timer for its deadline. The type answers it when its state changes
 * (waiter_answer), or its on_timeout runs at the deadline. A waiter pins
 * its connection and watches its object (conn_watch), so when the
 * connection ends the type's conn_gone() is called and drops the waiters
 * of that connection (waiter_drop) without answering.
 */
#ifndef WAITER_H
#define WAITER_H

#include "conn.h"
#include "obj.h"

struct waiter;
typedef void (*waiter_fn)(struct obj *o, struct waiter *w);

struct wait_list {
	struct waiter *head, *tail;
	size_t n;
};

struct waiter {
	struct conn *conn;
	struct obj *obj;
	struct wait_list *list;
	uint64_t id;       /* the request's id, echoed in the answer */
	int op;            /* the request's op */
	int64_t num, num2; /* its integer arguments */
	om_item item;      /* a kept item argument (store_item), or OM_NIL */
	uint64_t seq;      /* arrival number (priority ties, fairness) */
	waiter_fn on_timeout;
	struct event *timer;
	struct waiter *prev, *next;     /* in list */
	struct waiter *aprev, *anext;   /* in the list of all waiters */
};

/**
 * Park the request of `c` on `list` of object `o`. `timeout` > 0 arms a
 * deadline that calls on_timeout(o, w) under the object's lock; < 0 waits
 * forever (0 must not park: the caller answers at once). `item` (may be
 * NULL) is kept with store_item(). Returns CALL_PARKED, or an error set on
 * c (the per-connection limit, out of memory); *out gets the waiter.
 */
int waiter_park(struct call *c, struct obj *o, struct wait_list *list,
                double timeout, const om_item *item, waiter_fn on_timeout,
                struct waiter **out);

/** Answer w's request with a status, then free w. */
void waiter_answer(struct waiter *w, int code);
/** Answer w's request with `resp` (id and status filled in here), then
 *  free w. The response may borrow the object's bytes: it is packed now. */
void waiter_reply(struct waiter *w, int code, Objmgr__Response *resp);
/** Free w without answering (its connection is gone). */
void waiter_drop(struct waiter *w);

/** Drop every waiter of `conn` on `list` (for conn_gone). */
void wait_list_drop_conn(struct wait_list *list, struct conn *conn);
/** Answer every waiter on `list` with `code` (close, destroy, abort). */
void wait_list_answer_all(struct wait_list *list, int code);

/** Server stopping: answer every parked request with OM_ESTOPPING. */
void waiters_stop_all(void);

#endif /* WAITER_H */
