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
 * A parked put or put_many keeps its items in its own waiter (struct
 * putter), which releases whatever it still holds when it is freed,
 * answered or not.
 */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "obj.h"
#include "waiter.h"

enum order { FIFO, LIFO, PRIO };

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

/* A parked put (items == &one) or put_many (an array of n, charged). */
struct putter {
	struct waiter w;
	om_item *items; /* kept with store_item(); OM_NIL once moved in */
	size_t n;
	int64_t prio;
	om_item one;
};

/* A parked get (max 1) or get_many. */
struct getter {
	struct waiter w;
	size_t max;
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

	if (cap > q->cap && store_charge(c, (cap - q->cap) * sizeof *v))
		return OM_ENOMEM;
	v = malloc(cap * sizeof *v);
	if (!v) {
		if (cap > q->cap)
			store_refund((cap - q->cap) * sizeof *v);
		return c ? call_err(c, OM_ENOMEM, "out of memory for a queue")
		         : OM_ENOMEM;
	}
	for (size_t i = 0; i < q->n; i++)
		v[i] = *at(q, i);
	if (cap < q->cap)
		store_refund((q->cap - cap) * sizeof *v);
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

/* Remove the top slot and return it (the caller owns its item). */
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

/* Release a putter's items (those not moved into the queue). */
static void putter_free(struct waiter *w)
{
	struct putter *p = container_of(w, struct putter, w);
	for (size_t i = 0; i < p->n; i++)
		store_clear(&p->items[i]);
	if (p->items != &p->one) {
		store_refund(p->n * sizeof *p->items);
		free(p->items);
	}
}

/* Take up to `max` items (the queue is not empty) as c's results,
 * stopping before the response could go over the frame limit. If an item
 * cannot be taken it stays, and so do the ones after it; the call fails
 * only if it took nothing. */
static int take(struct queue *q, struct call *c, size_t max)
{
	size_t bytes = RESP_OVERHEAD;
	char *msg = c->resp.message;
	for (size_t k = 0; k < max && q->n > 0; k++) {
		struct slot *s = top(q);
		size_t n0 = c->resp.n_results;
		bytes += wire_size(&s->it);
		if (k > 0 && bytes > omi_srv.limits.max_frame)
			break;
		int rc = call_result_take(c, &s->it);
		if (rc != OM_OK) {
			c->resp.n_results = n0;
			if (k == 0)
				return rc;
			c->resp.message = msg;
			break;
		}
		pop(q);
	}
	return OM_OK;
}

/* Hand items to parked getter w (the queue is not empty; w is alive). */
static void serve_getter(struct queue *q, struct waiter *w)
{
	struct call c;
	waiter_call(w, &c);
	int rc = take(q, &c, container_of(w, struct getter, w)->max);
	waiter_finish(w, &c, rc);
}

/* Move the head putter's items into the queue if they fit, and answer it.
 * Returns false when they do not fit (the putter waits). */
static bool admit_putter(struct queue *q, struct waiter *w)
{
	struct putter *p = container_of(w, struct putter, w);
	if (!room(q, p->n))
		return false;
	if (reserve(q, NULL, p->n)) {
		waiter_answer_msg(w, OM_ENOMEM, "out of memory");
		return true;
	}
	for (size_t i = 0; i < p->n; i++)
		push_item(q, &p->items[i], p->prio); /* leaves OM_NIL */
	q->unfinished += p->n;
	waiter_answer(w, OM_OK);
	return true;
}

/* Serve every parked request that can complete now (see the top). */
static void pump(struct queue *q)
{
	bool progress = true;
	while (progress) {
		progress = false;
		struct waiter *w;
		while (q->n > 0 && (w = wait_list_head_alive(&q->getters))) {
			serve_getter(q, w);
			progress = true;
		}
		while (q->putters.head && admit_putter(q, q->putters.head))
			progress = true;
	}
	if (q->closed && q->n == 0)
		while (q->getters.head)
			waiter_answer_msg(q->getters.head, OM_ECLOSED,
			                  "queue closed and drained");
	if (q->unfinished == 0)
		wait_list_answer_all(&q->joiners, OM_OK);
	shrink(q);
}

static void getter_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer_msg(w, OM_EEMPTY, "queue still empty at the deadline");
}

static void putter_timeout(struct obj *o, struct waiter *w)
{
	waiter_answer_msg(w, OM_EFULL, "queue still full at the deadline");
	pump((struct queue *)o); /* a smaller putter behind it may fit now */
}

static void joiner_timeout(struct obj *o, struct waiter *w)
{
	(void)o;
	waiter_answer_msg(w, OM_ETIMEOUT, "unfinished tasks at the deadline");
}

/* Park a put of `n` items, kept in `items` (n == 1: moved into the putter;
 * else a charged array that the putter takes over), or fail. On failure
 * the caller still owns the items. */
static int park_putter(struct queue *q, struct call *c, om_item *items,
                       size_t n)
{
	struct waiter *w;
	int rc = waiter_park(c, &q->o, &q->putters, c->req->timeout,
	                     putter_timeout, sizeof(struct putter), &w);
	if (rc != CALL_PARKED)
		return rc;
	struct putter *p = container_of(w, struct putter, w);
	if (n == 1) {
		p->one = items[0];
		p->items = &p->one;
	} else {
		p->items = items;
	}
	p->n = n;
	p->prio = c->req->num;
	w->on_free = putter_free;
	return CALL_PARKED;
}

/* ------------------------------------------------------------- operations */

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
	int rc;
	if ((rc = check_prio(q, c)) || (rc = store_check(c, &c->args[0])))
		return rc;
	if (q->closed)
		return call_err(c, OM_ECLOSED, "put to a closed queue");
	bool now = room(q, 1) && !q->putters.head;
	if (!now && c->req->timeout == 0)
		return call_err(c, OM_EFULL, "queue full");
	if (now && (rc = reserve(q, c, 1)))
		return rc;
	om_item it;
	if ((rc = store_item(c, &it, &c->args[0])))
		return rc;
	if (!now) {
		if ((rc = park_putter(q, c, &it, 1)) != CALL_PARKED)
			store_clear(&it);
		return rc;
	}
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
	om_item *items;
	size_t n = c->nargs, i = 0;
	int rc;
	if ((rc = check_prio(q, c)))
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
	if ((rc = store_charge(c, n * sizeof *items)))
		return rc;
	items = malloc(n * sizeof *items);
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
		store_refund(n * sizeof *items);
		q->unfinished += n;
		pump(q);
		return OM_OK;
	}
	if ((rc = park_putter(q, c, items, n)) == CALL_PARKED) {
		if (n == 1) { /* the one item was moved into the putter */
			free(items);
			store_refund(sizeof *items);
		}
		return rc;
	}

out_clear:
	while (i-- > 0)
		store_clear(&items[i]);
	free(items);
out_refund:
	store_refund(n * sizeof *items);
	return rc;
}

/* Take up to `max` items now (then pump: room for parked putters), or
 * park the get, or fail at once if it cannot wait. */
static int get(struct queue *q, struct call *c, size_t max)
{
	if (q->n > 0) {
		int rc = take(q, c, max);
		pump(q);
		return rc;
	}
	if (q->closed)
		return call_err(c, OM_ECLOSED, "queue closed and drained");
	if (c->req->timeout == 0)
		return call_err(c, OM_EEMPTY, "queue empty");
	struct waiter *w;
	int rc = waiter_park(c, &q->o, &q->getters, c->req->timeout,
	                     getter_timeout, sizeof(struct getter), &w);
	if (rc == CALL_PARKED)
		container_of(w, struct getter, w)->max = max;
	return rc;
}

/* QUEUE_GET [timeout] -> item | EEMPTY, ECLOSED */
static int queue_get(struct obj *o, struct call *c)
{
	return get((struct queue *)o, c, 1);
}

/* QUEUE_GET_MANY num = max [timeout] -> 1..max items | EEMPTY, ECLOSED */
static int queue_get_many(struct obj *o, struct call *c)
{
	if (c->req->num < 1)
		return call_err(c, OM_EINVAL, "get_many of %lld items",
		                (long long)c->req->num);
	uint64_t max = (uint64_t)c->req->num;
	return get((struct queue *)o, c,
	           max < SIZE_MAX ? (size_t)max : SIZE_MAX);
}

/* QUEUE_SIZE -> num */
static int queue_size(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	call_num(c, (int64_t)q->n);
	return OM_OK;
}

/* QUEUE_EMPTY -> num 0/1 */
static int queue_empty(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	call_num(c, q->n == 0);
	return OM_OK;
}

/* QUEUE_FULL -> num 0/1 (never 1 when unbounded) */
static int queue_full(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	call_num(c, !room(q, 1));
	return OM_OK;
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

	if ((rc = check_joinable(q, c)))
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

	if ((rc = check_joinable(q, c)))
		return rc;
	if (q->unfinished == 0)
		return OM_OK;
	if (c->req->timeout == 0)
		return call_err(c, OM_ETIMEOUT, "%llu unfinished tasks",
		                (unsigned long long)q->unfinished);
	return waiter_park(c, o, &q->joiners, c->req->timeout, joiner_timeout,
	                   sizeof(struct waiter), NULL);
}

/* QUEUE_CLOSE: later puts fail ECLOSED, gets drain then fail ECLOSED */
static int queue_close(struct obj *o, struct call *c)
{
	(void)c;
	struct queue *q = (struct queue *)o;
	q->closed = true;
	while (q->putters.head)
		waiter_answer_msg(q->putters.head, OM_ECLOSED, "queue closed");
	pump(q);
	return OM_OK;
}

/* ------------------------------------------------------------- life cycle */

/* OPEN creation: args [int maxsize], num2 = flags */
static int queue_init(struct obj *o, struct call *c)
{
	int64_t flags = c->req->num2;
	const om_item *max = &c->args[0];
	if (max->kind != OM_INT || max->i < 0)
		return call_err(c, OM_EINVAL,
		                "queue maxsize must be an int >= 0");
	if ((flags & OM_LIFO) && (flags & OM_PRIORITY))
		return call_err(c, OM_EINVAL,
		                "a queue is OM_LIFO or OM_PRIORITY, not both");
	struct queue *q = (struct queue *)o;
	q->order = flags & OM_LIFO ? LIFO : flags & OM_PRIORITY ? PRIO : FIFO;
	q->joinable = flags & OM_JOINABLE;
	q->maxsize = max->i;
	return OM_OK;
}

/* A connection that ends cancels its parked requests: a parked put never
 * happened, so its items go. */
static void queue_conn_gone(struct obj *o, struct conn *conn)
{
	struct queue *q = (struct queue *)o;
	wait_list_drop_conn(&q->getters, conn);
	wait_list_drop_conn(&q->joiners, conn);
	wait_list_drop_conn(&q->putters, conn);
	pump(q); /* a putter behind a dropped put_many may fit now */
}

static void queue_fini(struct obj *o)
{
	struct queue *q = (struct queue *)o;

	/* Waiters watch the object, so none is left unless the server is
	 * stopping; answer any anyway rather than leave them dangling. */
	wait_list_answer_all(&q->putters, OM_ECLOSED);
	wait_list_answer_all(&q->getters, OM_ECLOSED);
	wait_list_answer_all(&q->joiners, OM_ECLOSED);
	for (size_t i = 0; i < q->n; i++)
		store_clear(&at(q, i)->it);
	store_refund(q->cap * sizeof *q->v);
	free(q->v);
}

/* The queued items only: a parked putter's items are the putter's (an
 * external reference, a root), and a garbage queue has no waiters anyway
 * (each watches it). */
static void queue_traverse(struct obj *o, visit_fn visit, void *arg)
{
	struct queue *q = (struct queue *)o;
	for (size_t i = 0; i < q->n; i++)
		store_visit(&at(q, i)->it, visit, arg);
}

/* Drop the queued items; the slots stay for queue_fini() to free. */
static void queue_clear(struct obj *o)
{
	struct queue *q = (struct queue *)o;
	for (size_t i = 0; i < q->n; i++)
		store_clear(&at(q, i)->it);
	q->n = q->head = 0;
}

static uint64_t queue_length(const struct obj *o)
{
	return ((const struct queue *)o)->n;
}

/* The slots, the queued items and what parked putters keep. */
static uint64_t queue_bytes(const struct obj *o)
{
	struct queue *q = (struct queue *)o;
	uint64_t n = q->cap * sizeof *q->v;
	for (size_t i = 0; i < q->n; i++)
		n += omi_item_extra(&at(q, i)->it);
	for (struct waiter *w = q->putters.head; w; w = w->next) {
		const struct putter *p = container_of(w, struct putter, w);
		if (p->items != &p->one)
			n += p->n * sizeof *p->items;
		for (size_t i = 0; i < p->n; i++)
			n += omi_item_extra(&p->items[i]);
	}
	return n;
}

static int slot_cmp(const void *a, const void *b)
{
	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

/* The items in the order gets take them. */
static int queue_dump(struct obj *o, struct call *c)
{
	struct queue *q = (struct queue *)o;
	if (q->n == 0)
		return OM_OK;
	struct slot *s = call_alloc(c, q->n * sizeof *s);
	om_item *out = call_alloc(c, q->n * sizeof *out);
	if (!s || !out)
		return call_err(c, OM_ENOMEM, "out of memory dumping a queue");
	for (size_t i = 0; i < q->n; i++)
		s[i] = *at(q, i);
	if (q->order == PRIO)
		qsort(s, q->n, sizeof *s, slot_cmp);
	for (size_t i = 0; i < q->n; i++)
		out[i] = s[q->order == LIFO ? q->n - 1 - i : i].it;
	return call_results(c, out, q->n);
}

static const struct type_look queue_look = {queue_length, queue_bytes,
                                            queue_dump};

static const struct op_def queue_ops[] = {
        OP(QUEUE_PUT, queue_put, 1, OPF_TIMEOUT | OPF_CHANGES),
        OP(QUEUE_GET, queue_get, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(QUEUE_SIZE, queue_size, 0, 0),
        OP(QUEUE_EMPTY, queue_empty, 0, 0),
        OP(QUEUE_FULL, queue_full, 0, 0),
        OP(QUEUE_TASK_DONE, queue_task_done, 0, OPF_CHANGES),
        OP(QUEUE_JOIN, queue_join, 0, OPF_TIMEOUT),
        OP(QUEUE_CLOSE, queue_close, 0, OPF_CHANGES),
        OP(QUEUE_PUT_MANY, queue_put_many, OP_VARARGS,
           OPF_TIMEOUT | OPF_CHANGES),
        OP(QUEUE_GET_MANY, queue_get_many, 0, OPF_TIMEOUT | OPF_CHANGES),
};

TYPE_DEF(queue, QUEUE, "queue", struct queue, 1,
         OM_LIFO | OM_PRIORITY | OM_JOINABLE, queue_init, queue_fini,
         queue_conn_gone, queue_traverse, queue_clear);
