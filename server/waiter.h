/*
 * waiter.h — parked requests: blocking calls that never block the loop.
 *
 * A blocking operation that cannot complete now (queue get on an empty
 * queue, lock acquire on a held lock, ...) parks its request: a waiter
 * keeps the request id, sits on one of the object's wait lists in arrival
 * order, and has a libevent timer for its deadline. A type that needs to
 * keep more (an item, a depth) embeds `struct waiter` in a struct of its
 * own, gives waiter_park() that struct's size, and gets its struct back
 * with container_of(). The type answers a waiter when its state changes,
 * through a `struct call` as a direct call is answered (waiter_call,
 * waiter_finish), or with a bare status (waiter_answer); its on_timeout
 * runs at the deadline. A waiter pins its connection and watches its
 * object (conn_watch), so when the connection ends the type's conn_gone()
 * is called and drops the waiters of that connection (waiter_drop)
 * without answering.
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
	uint64_t id;  /* the request's id, echoed in the answer */
	uint64_t seq; /* arrival number (priority ties, fairness) */
	waiter_fn on_timeout;
	/* Optional: release what the type's struct keeps (its items);
	 * runs whenever the waiter is freed, answered or not. */
	void (*on_free)(struct waiter *w);
	struct event *timer;
	struct waiter *prev, *next;   /* in list */
	struct waiter *aprev, *anext; /* in the list of all waiters */
};

/**
 * Park the request of `c` on `list` of object `o`, in a zeroed waiter of
 * `size` bytes (sizeof (struct waiter) or a type's struct that embeds one).
 * `timeout` > 0 arms a deadline that calls on_timeout(o, w); < 0 waits
 * forever (0 must not park: the caller answers at once). Returns
 * CALL_PARKED with *out set (may be NULL), or an error set on c (the
 * per-connection limit, out of memory).
 */
int waiter_park(struct call *c, struct obj *o, struct wait_list *list,
                double timeout, waiter_fn on_timeout, size_t size,
                struct waiter **out);

/** Begin the answer to w's request: *c is a call whose results go to it. */
void waiter_call(struct waiter *w, struct call *c);
/** Send that answer with status `code` (call_send), then free w. */
void waiter_finish(struct waiter *w, struct call *c, int code);
/** Answer w's request with just a status, then free w. */
void waiter_answer(struct waiter *w, int code);
/** The same with a message (why it failed). */
void waiter_answer_msg(struct waiter *w, int code, const char *msg);
/** A deadline that answers OM_ETIMEOUT (an on_timeout for most types). */
void waiter_expire(struct obj *o, struct waiter *w);
/** Free w without answering (its connection is gone). */
void waiter_drop(struct waiter *w);
/** Move w from the list it is on to the tail of `to`. */
void waiter_move(struct waiter *w, struct wait_list *to);

/** The first waiter on `list` whose connection is alive (conn_alive),
 *  after dropping the dead ones before it; NULL if none is left. What a
 *  type hands to it (an item, a permit, a lock) cannot be lost. */
struct waiter *wait_list_head_alive(struct wait_list *list);
/** Drop every waiter of `conn` on `list` (for conn_gone).
 *  @return how many there were. */
size_t wait_list_drop_conn(struct wait_list *list, struct conn *conn);
/** Answer every waiter on `list` with `code` (close, destroy, abort). */
void wait_list_answer_all(struct wait_list *list, int code);

/** Server stopping: answer every parked request with OM_ESTOPPING. */
void waiters_stop_all(void);

#endif /* WAITER_H */
