/*
 * queue.c — the QUEUE type: Python's queue.Queue, LifoQueue, PriorityQueue
 * and JoinableQueue in one, plus close (instead of sentinels) and the
 * batch operations put_many / get_many. libclient/queue.c is the other half.
 *
 * Items live in one array of slots used three ways: a ring buffer (FIFO), a
 * stack (LIFO) or a binary heap keyed by (priority, arrival number), so
 * equal priorities come out in the order they went in. Every item is kept
 * with store_item(); the array's own growth is charged with store_charge().
 *
 * Blocking never blocks the loop: a get on an empty queue, a put on a full
 * one and a join with unfinished tasks park their request (waiter.h) on
 * `getters`, `putters` or `joiners`, in arrival order. Every operation that
 * changes the state ends with pump(), which serves the parked requests that
 * can now complete, always from the head of a list: getters take items,
 * putters move their kept items in, joiners are released. Invariant after
 * pump(): getters are parked only on an empty queue, and the head putter
 * does not fit. An item is never handed to a getter whose connection is
 * already gone (conn_alive), so a killed consumer loses nothing.
 *
 * A parked put_many keeps its items in a `struct many` beside its waiter
 * (a waiter holds one item only).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "obj.h"
#include "waiter.h"

enum order { FIFO, LIFO, PRIO };

/* Flags that mean something to a queue (see objmgr.h). */
#define QUEUE_FLAGS (OM_CREATE | OM_EXCL | OM_LIFO | OM_PRIORITY | OM_JOINABLE)

/* Bytes of a Response beyond its items, and of one item beyond its bytes,
 * with room to spare: get_many stops before its answer could go over the
 * frame limit, which would turn it into an error and lose the items. */
#define RESP_OVERHEAD 64
#define ITEM_OVERHEAD 32

struct slot {
	om_item it;   /* kept with store_item() */
	int64_t prio; /* PRIO queues: lowest first */
	uint64_t seq; /* PRIO queues: arrival, to keep equal priorities FIFO */
};

/* The items of a parked put_many. */
struct many {
	struct waiter *w;
	om_item *items; /* kept with store_item() */
	size_t n;
	struct many *next;
};

struct queue {
	struct obj o;
	enum order order;
	bool joinable, closed;
	int64_t maxsize;     /* 0: unbounded */
	struct slot *v;      /* cap slots, charged with store_charge() */
	size_t cap, n, head; /* head: the ring's front (FIFO only) */
	uint64_t seq;        /* next arrival number */
	uint64_t unfinished; /* items put and not yet task_done */
	struct wait_list getters, putters, joiners;
	struct many *manies; /* parked put_many items, by waiter */
};

/* ---------------------------------------------------------------- storage */

/* The i-th slot in storage order: from the ring's front for FIFO, from the
 * bottom of the stack or the root of the heap otherwise (head is 0). */
static struct slot *at(struct queue *q, size_t i)
{
	return &q->v[(q->head + i) % q->cap];
}

/* Reallocate the slots to `cap` (>= n), in storage order from 0. */
static int resize(struct queue *q, struct call *c, size_t cap)
{
	struct slot *v;

	if (cap > q->cap && store_charge(c, (cap - q->cap) * sizeof(*v)))
		return OM_ENOMEM;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		if (cap > q->cap)
			store_refund((cap - q->cap) * sizeof(*v));
		return c ? call_err(c, OM_ENOMEM, "out of memory for a queue")
		         : OM_ENOMEM;
	}
	for (size_t i = 0; i < q->n; i++)
		v[i] = *at(q, i);
	if (cap < q->cap)
		store_refund((q->cap - cap) * sizeof(*v));
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	return OM_OK;
}

/* Make room for `need` more slots (c may be NULL: no message). */
static int reserve(struct queue *q, struct call *c, size_t need)
{
	size_t cap = q->cap ? q->cap : 8;

	if (need <= q->cap - q->n)
		return OM_OK;
	while (cap - q->n < need) {
		if (cap > SIZE_MAX / 2 / sizeof(struct slot))
			return c ? call_err(c, OM_ENOMEM, "queue too large")
			         : OM_ENOMEM;
		cap *= 2;
	}
	return resize(q, c, cap);
}

/* Give memory back after a burst; failing to is harmless. */
static void shrink(struct queue *q)
{
	if (q->cap > 64 && q->n < q->cap / 4)
		resize(q, NULL, q->cap / 2);
}

/* Heap order: lower priority first, then earlier arrival. */
static bool before(const struct slot *a, const struct slot *b)
{
	return a->prio < b->prio || (a->prio == b->prio && a->seq < b->seq);
}

static void heap_up(struct slot *v, size_t i)
{
	struct slot s = v[i];

	while (i > 0 && before(&s, &v[(i - 1) / 2])) {
		v[i] = v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	v[i] = s;
}

static void heap_down(struct slot *v, size_t n, size_t i)
{
	struct slot s = v[i];

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= n)
			break;
		if (k + 1 < n && before(&v[k + 1], &v[k]))
			k++;
		if (!before(&v[k], &s))
			break;
		v[i] = v[k];
		i = k;
	}
	v[i] = s;
}

/* Add a slot at the back (reserve() first). */
static void push(struct queue *q, const struct slot *s)
{
	*at(q, q->n) = *s;
	q->n++;
	if (q->order == PRIO)
		heap_up(q->v, q->n - 1);
}

/* Store a new item (reserve() first). Takes ownership of *it. */
static void push_item(struct queue *q, om_item *it, int64_t prio)
{
	struct slot s = {.it = *it, .prio = prio, .seq = q->seq++};

	it->kind = OM_NIL;
	push(q, &s);
}

/* The slot the next get takes (n > 0). */
static struct slot *top(struct queue *q)
{
	if (q->order == LIFO)
		return at(q, q->n - 1);
	return at(q, 0);
}

/* Remove the top slot and return it (the caller owns its item). Never
 * shrinks, so unpop() always has room. */
static struct slot pop(struct queue *q)
{
	struct slot s = *top(q);

	q->n--;
	if (q->order == FIFO) {
		q->head = (q->head + 1) % q->cap;
	} else if (q->order == PRIO && q->n > 0) {
		q->v[0] = q->v[q->n];
		heap_down(q->v, q->n, 0);
	}
	return s;
}

/* Undo the last pop(): put s back where it came from. */
static void unpop(struct queue *q, const struct slot *s)
{
	if (q->order == FIFO) {
		q->head = (q->head + q->cap - 1) % q->cap;
		q->v[q->head] = *s;
		q->n++;
	} else {
		push(q, s); /* PRIO: s keeps its seq, so its place too */
	}
}

static bool room(const struct queue *q, size_t need)
{
	return q->maxsize == 0 || (need <= (uint64_t)q->maxsize &&
	                           q->n <= (uint64_t)q->maxsize - need);
}

/* Bytes an item may add to a response (see RESP_OVERHEAD). */
static size_t wire_size(const om_item *it)
{
	return omi_item_extra(it) + ITEM_OVERHEAD;
}

/* --------------------------------------------------------------- waiters */

static struct many **many_find(struct queue *q, const struct waiter *w)
{
	struct many **p = &q->manies;

	while (*p && (*p)->w != w)
		p = &(*p)->next;
	return p;
}

static void many_free(struct many *m)
{
	for (size_t i = 0; i < m->n; i++)
		store_clear(&m->items[i]);
	store_refund(m->n * sizeof(*m->items));
	free(m->items);
	free(m);
}

/* Unlink and free the items of putter w, if it is a put_many. */
static void many_forget(struct queue *q, const struct waiter *w)
{
	struct many **p = many_find(q, w);
	struct many *m = *p;

	if (m) {
		*p = m->next;
		many_free(m);
	}
}

/* Answer a parked request with a status and a message. */
static void answer(struct waiter *w, int code, const char *msg)
{
	Objmgr__Response resp = OBJMGR__RESPONSE__INIT;

	resp.message = (char *)msg;
	waiter_reply(w, code, &resp);
}

/* Hand up to `max` items to parked getter w (the queue is not empty), or
 * drop w if its connection is gone, so no item goes to a dead process. The
 * reply is packed at once, so it borrows the items' bytes until they are
 * cleared; a taken OM_REF is handed to w's connection (see
 * call_result_take). On failure the items go back and w gets ENOMEM. */
static void serve_getter(struct queue *q, struct waiter *w)
{
	Objmgr__Response resp = OBJMGR__RESPONSE__INIT;
	struct omi_arena a;
	struct slot *s;
	om_item *items;
	size_t max = 1, k = 0, bytes = RESP_OVERHEAD, nref = 0;

	if (!conn_alive(w->conn)) {
		waiter_drop(w);
		return;
	}
	if (w->op == OBJMGR__OP__QUEUE_GET_MANY && (uint64_t)w->num > 1)
		max = (uint64_t)w->num < q->n ? (size_t)w->num : q->n;
	omi_arena_init(&a);
	s = omi_arena_alloc(&a, max * sizeof(*s));
	items = omi_arena_alloc(&a, max * sizeof(*items));
	if (!s || !items)
		goto out_nomem;
	while (k < max) {
		s[k] = pop(q);
		bytes += wire_size(&s[k].it);
		if (k > 0 && bytes > limits.max_frame) {
			unpop(q, &s[k]);
			break;
		}
		items[k] = s[k].it;
		k++;
	}
	resp.results = omi_items_to_pb(&a, items, k);
	if (!resp.results)
		goto out_unpop;
	resp.n_results = k;
	for (; nref < k; nref++) {
		struct obj *r;

		if (items[nref].kind != OM_REF)
			continue;
		r = obj_lookup(items[nref].ref.id);
		if (r && conn_ref_take(w->conn, r))
			goto out_unref;
	}
	waiter_reply(w, OM_OK, &resp);
	for (size_t i = 0; i < k; i++)
		store_clear(&s[i].it);
	omi_arena_free(&a);
	return;

out_unref:
	while (nref-- > 0) {
		if (items[nref].kind == OM_REF) {
			struct obj *r = obj_lookup(items[nref].ref.id);

			if (r)
				conn_ref_drop(w->conn, r);
		}
	}
out_unpop:
	while (k-- > 0)
		unpop(q, &s[k]);
out_nomem:
	omi_arena_free(&a);
	answer(w, OM_ENOMEM, "out of memory");
}

/* Move the head putter's items into the queue if they fit, and answer it.
 * Returns false when they do not fit (the putter waits). */
static bool admit_putter(struct queue *q, struct waiter *w)
{
	struct many **p = NULL;
	size_t need = 1;

	if (w->op == OBJMGR__OP__QUEUE_PUT_MANY) {
		p = many_find(q, w);
		need = *p ? (*p)->n : 0;
	}
	if (!room(q, need))
		return false;
	if (reserve(q, NULL, need)) {
		if (p)
			many_forget(q, w);
		answer(w, OM_ENOMEM, "out of memory");
		return true;
	}
	if (p && *p) {
		struct many *m = *p;

		for (size_t i = 0; i < m->n; i++)
			push_item(q, &m->items[i], w->num);
		many_forget(q, w); /* the moved items are OM_NIL now */
	} else if (!p) {
		push_item(q, &w->item, w->num);
	}
	q->unfinished += need;
	waiter_answer(w, OM_OK);
	return true;
}

/* Serve every parked request that can complete now (see the top). */
static void pump(struct queue *q)
{
	bool progress = true;

	while (progress) {
		progress = false;
		while (q->getters.head && q->n > 0) {
			serve_getter(q, q->getters.head);
			progress = true;
		}
		while (q->putters.head && admit_putter(q, q->putters.head))
			progress = true;
	}
	if (q->closed && q->n == 0) {
		while (q->getters.head)
			answer(q->getters.head, OM_ECLOSED,
			       "queue closed and drained");
	}
	if (q->unfinished == 0)
		wait_list_answer_all(&q->joiners, OM_OK);
	shrink(q);
}

static void getter_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	answer(w, OM_EEMPTY, "queue still empty at the deadline");
}

static void putter_timeout(struct obj *o, struct waiter *w)
{
	struct queue *q = (struct queue *)o;

	many_forget(q, w);
	answer(w, OM_EFULL, "queue still full at the deadline");
	pump(q); /* a smaller putter behind a put_many may fit now */
}

static void joiner_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	answer(w, OM_ETIMEOUT, "unfinished tasks at the deadline");
}

/* ------------------------------------------------------------- operations */

static int check_timeout(struct call *c)
{
	if (isnan(c->req->timeout))
		return call_err(c, OM_EINVAL, "timeout is NaN");
	return OM_OK;
}

/* The priority of a put: any int on a PRIO queue, 0 elsewhere. */
static int check_prio(struct queue *q, struct call *c)
{
	if (q->order != PRIO && c->req->num != 0)
		return call_err(c, OM_EINVAL,
		                "a priority given to a queue created without "
		                "OM_PRIORITY");
	return OM_OK;
}

/* QUEUE_PUT item [num = priority] [timeout] | EFULL, ECLOSED */
static int queue_put(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	om_item it;
	int rc;

	if ((rc = call_nargs(c, 1)) || (rc = check_timeout(c)) ||
	    (rc = check_prio(q, c)) || (rc = store_check(c, &c->args[0])))
		return rc;
	if (q->closed)
		return call_err(c, OM_ECLOSED, "put to a closed queue");
	if (!room(q, 1) || q->putters.head) {
		if (c->req->timeout == 0)
			return call_err(c, OM_EFULL, "queue full");
		return waiter_park(c, o, &q->putters, c->req->timeout,
		                   &c->args[0], putter_timeout, NULL);
	}
	if ((rc = reserve(q, c, 1)) || (rc = store_item(c, &it, &c->args[0])))
		return rc;
	push_item(q, &it, c->req->num);
	q->unfinished++;
	pump(q); /* a parked getter takes it at once */
	return OM_OK;
}

/* QUEUE_PUT_MANY items... [num = priority] [timeout]: all or nothing
 * | EFULL, ECLOSED */
static int queue_put_many(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	struct waiter *w;
	struct many *m = NULL;
	om_item *items;
	size_t n = c->nargs, i = 0;
	int rc;

	if ((rc = check_timeout(c)) || (rc = check_prio(q, c)))
		return rc;
	for (size_t j = 0; j < n; j++)
		if ((rc = store_check(c, &c->args[j])))
			return rc;
	if (q->closed)
		return call_err(c, OM_ECLOSED, "put to a closed queue");
	if (q->maxsize > 0 && n > (uint64_t)q->maxsize)
		return call_err(c, OM_EINVAL,
		                "%zu items can never fit in a queue of "
		                "maxsize %lld",
		                n, (long long)q->maxsize);
	if (n == 0)
		return OM_OK;
	bool now = room(q, n) && !q->putters.head;
	if (!now && c->req->timeout == 0)
		return call_err(c, OM_EFULL, "queue full");
	if (now && (rc = reserve(q, c, n)))
		return rc;
	/* Keep every item first, so a failure changes nothing. */
	if ((rc = store_charge(c, n * sizeof(*items))))
		return rc;
	items = malloc(n * sizeof(*items));
	if (!items) {
		rc = call_err(c, OM_ENOMEM, "out of memory");
		goto out_refund;
	}
	for (; i < n; i++)
		if ((rc = store_item(c, &items[i], &c->args[i])))
			goto out_clear;
	if (now) {
		for (size_t j = 0; j < n; j++)
			push_item(q, &items[j], c->req->num);
		free(items);
		store_refund(n * sizeof(*items));
		q->unfinished += n;
		pump(q);
		return OM_OK;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = call_err(c, OM_ENOMEM, "out of memory");
		goto out_clear;
	}
	rc = waiter_park(c, o, &q->putters, c->req->timeout, NULL,
	                 putter_timeout, &w);
	if (rc != CALL_PARKED)
		goto out_clear;
	m->w = w;
	m->items = items;
	m->n = n;
	m->next = q->manies;
	q->manies = m;
	return CALL_PARKED;

out_clear:
	free(m);
	while (i-- > 0)
		store_clear(&items[i]);
	free(items);
out_refund:
	store_refund(n * sizeof(*items));
	return rc;
}

/* Take up to `max` items for c (the queue is not empty), stopping before
 * the response could go over the frame limit. */
static int take(struct queue *q, struct call *c, size_t max)
{
	size_t bytes = RESP_OVERHEAD;
	char *msg = c->resp->message;
	int rc = OM_OK;

	for (size_t k = 0; k < max && q->n > 0; k++) {
		struct slot *s = top(q);
		size_t n0 = c->resp->n_results;

		bytes += wire_size(&s->it);
		if (k > 0 && bytes > limits.max_frame)
			break;
		rc = call_result_take(c, &s->it);
		if (rc != OM_OK) {
			/* Nothing taken: the item stays, and so do the ones
			 * already taken if there are any. */
			c->resp->n_results = n0;
			if (k == 0)
				return rc;
			c->resp->message = msg;
			rc = OM_OK;
			break;
		}
		pop(q);
	}
	pump(q); /* room for parked putters */
	return rc;
}

/* Park a get, or fail at once if it cannot wait. */
static int get_wait(struct queue *q, struct call *c)
{
	if (q->closed)
		return call_err(c, OM_ECLOSED, "queue closed and drained");
	if (c->req->timeout == 0)
		return call_err(c, OM_EEMPTY, "queue empty");
	return waiter_park(c, &q->o, &q->getters, c->req->timeout, NULL,
	                   getter_timeout, NULL);
}

/* QUEUE_GET [timeout] -> item | EEMPTY, ECLOSED */
static int queue_get(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc;

	if ((rc = call_nargs(c, 0)) || (rc = check_timeout(c)))
		return rc;
	if (q->n == 0)
		return get_wait(q, c);
	return take(q, c, 1);
}

/* QUEUE_GET_MANY num = max [timeout] -> 1..max items | EEMPTY, ECLOSED */
static int queue_get_many(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc;

	if ((rc = call_nargs(c, 0)) || (rc = check_timeout(c)))
		return rc;
	if (c->req->num < 1)
		return call_err(c, OM_EINVAL, "get_many of %lld items",
		                (long long)c->req->num);
	if (q->n == 0)
		return get_wait(q, c);
	return take(q, c,
	            (uint64_t)c->req->num < q->n ? (size_t)c->req->num : q->n);
}

/* QUEUE_SIZE -> num */
static int queue_size(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc = call_nargs(c, 0);

	if (rc == OM_OK)
		call_num(c, (int64_t)q->n);
	return rc;
}

/* QUEUE_EMPTY -> num 0/1 */
static int queue_empty(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc = call_nargs(c, 0);

	if (rc == OM_OK)
		call_num(c, q->n == 0);
	return rc;
}

/* QUEUE_FULL -> num 0/1 (never 1 when unbounded) */
static int queue_full(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc = call_nargs(c, 0);

	if (rc == OM_OK)
		call_num(c, !room(q, 1));
	return rc;
}

static int check_joinable(struct queue *q, struct call *c)
{
	if (!q->joinable)
		return call_err(c, OM_EINVAL,
		                "task_done/join on a queue created without "
		                "OM_JOINABLE");
	return OM_OK;
}

/* QUEUE_TASK_DONE | EVALUE */
static int queue_task_done(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc;

	if ((rc = call_nargs(c, 0)) || (rc = check_joinable(q, c)))
		return rc;
	if (q->unfinished == 0)
		return call_err(c, OM_EVALUE,
		                "task_done() called too many times");
	q->unfinished--;
	pump(q);
	return OM_OK;
}

/* QUEUE_JOIN [timeout] | ETIMEOUT */
static int queue_join(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc;

	if ((rc = call_nargs(c, 0)) || (rc = check_joinable(q, c)) ||
	    (rc = check_timeout(c)))
		return rc;
	if (q->unfinished == 0)
		return OM_OK;
	if (c->req->timeout == 0)
		return call_err(c, OM_ETIMEOUT, "%llu unfinished tasks",
		                (unsigned long long)q->unfinished);
	return waiter_park(c, o, &q->joiners, c->req->timeout, NULL,
	                   joiner_timeout, NULL);
}

/* QUEUE_CLOSE: later puts fail ECLOSED, gets drain then fail ECLOSED */
static int queue_close(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	q->closed = true;
	while (q->putters.head) {
		many_forget(q, q->putters.head);
		answer(q->putters.head, OM_ECLOSED, "queue closed");
	}
	pump(q);
	return OM_OK;
}

/* ------------------------------------------------------------- life cycle */

/* OPEN creation: args [int maxsize], num2 = flags */
static int queue_create(struct call *c, struct obj **out)
{
	int64_t flags = c->req->num2;
	const om_item *max;
	struct queue *q;
	int rc = call_nargs(c, 1);

	if (rc != OM_OK)
		return rc;
	max = &c->args[0];
	if (max->kind != OM_INT || max->i < 0)
		return call_err(c, OM_EINVAL,
		                "queue maxsize must be an int >= 0");
	if (flags & ~(int64_t)QUEUE_FLAGS)
		return call_err(c, OM_EINVAL,
		                "flags 0x%llx do not apply to a "
		                "queue",
		                (unsigned long long)(flags & ~QUEUE_FLAGS));
	if ((flags & OM_LIFO) && (flags & OM_PRIORITY))
		return call_err(c, OM_EINVAL,
		                "a queue is OM_LIFO or OM_PRIORITY, not both");
	q = calloc(1, sizeof(*q));
	if (!q)
		return call_err(c, OM_ENOMEM, "out of memory for a queue");
	obj_init(&q->o, &queue_type);
	q->order = flags & OM_LIFO ? LIFO : flags & OM_PRIORITY ? PRIO : FIFO;
	q->joinable = flags & OM_JOINABLE;
	q->maxsize = max->i;
	*out = &q->o;
	return OM_OK;
}

/* A connection that ends cancels its parked requests: a parked put never
 * happened, so its items go. */
static void queue_conn_gone(struct obj *o, struct conn *conn)
{
	struct queue *q = (struct queue *)o;

	wait_list_drop_conn(&q->getters, conn);
	wait_list_drop_conn(&q->joiners, conn);
	for (struct waiter *w = q->putters.head, *next; w; w = next) {
		next = w->next;
		if (w->conn == conn) {
			many_forget(q, w);
			waiter_drop(w);
		}
	}
	pump(q); /* a putter behind a dropped put_many may fit now */
}

static void queue_destroy(struct obj *o)
{
	struct queue *q = (struct queue *)o;

	/* Waiters watch the object, so none is left unless the server is
	 * stopping; answer any anyway rather than leave them dangling. */
	while (q->putters.head) {
		many_forget(q, q->putters.head);
		waiter_answer(q->putters.head, OM_ECLOSED);
	}
	wait_list_answer_all(&q->getters, OM_ECLOSED);
	wait_list_answer_all(&q->joiners, OM_ECLOSED);
	for (size_t i = 0; i < q->n; i++)
		store_clear(&at(q, i)->it);
	store_refund(q->cap * sizeof(*q->v));
	free(q->v);
	free(q);
}

static const op_fn ops[] = {
        [OBJMGR__OP__QUEUE_PUT - OBJMGR__OP__QUEUE_PUT] = queue_put,
        [OBJMGR__OP__QUEUE_GET - OBJMGR__OP__QUEUE_PUT] = queue_get,
        [OBJMGR__OP__QUEUE_SIZE - OBJMGR__OP__QUEUE_PUT] = queue_size,
        [OBJMGR__OP__QUEUE_EMPTY - OBJMGR__OP__QUEUE_PUT] = queue_empty,
        [OBJMGR__OP__QUEUE_FULL - OBJMGR__OP__QUEUE_PUT] = queue_full,
        [OBJMGR__OP__QUEUE_TASK_DONE - OBJMGR__OP__QUEUE_PUT] = queue_task_done,
        [OBJMGR__OP__QUEUE_JOIN - OBJMGR__OP__QUEUE_PUT] = queue_join,
        [OBJMGR__OP__QUEUE_CLOSE - OBJMGR__OP__QUEUE_PUT] = queue_close,
        [OBJMGR__OP__QUEUE_PUT_MANY - OBJMGR__OP__QUEUE_PUT] = queue_put_many,
        [OBJMGR__OP__QUEUE_GET_MANY - OBJMGR__OP__QUEUE_PUT] = queue_get_many,
};

const struct type_def queue_type = {
        .name = "queue",
        .type = OM_TYPE_QUEUE,
        .op_base = OBJMGR__OP__QUEUE_PUT,
        .nops = sizeof(ops) / sizeof(ops[0]),
        .ops = ops,
        .create = queue_create,
        .destroy = queue_destroy,
        .conn_gone = queue_conn_gone,
};
