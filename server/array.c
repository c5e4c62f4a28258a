/*
 * array.c — the ARRAY type: a fixed-length typed array of int64_t (OM_INT)
 * or double (OM_FLOAT), zero-filled, like the Array proxy of Python's
 * multiprocessing.Manager (array.array('q') / array.array('d')), plus an
 * atomic a[i] += delta and the array's own lock (Python's get_lock()).
 *
 * The elements are 8-byte words in the object's segment (proto/shm.h, at
 * OMI_SHM_DATA), which mapped clients read and write with no round trip;
 * the server applies RPC calls to the same words with the same functions
 * (omi_sarray_*: atomic loads and stores, add by compare-and-swap with
 * Python's overflow and type rules). Whatever bits a client writes there
 * are a number, so nothing read back needs checking; the length and kind
 * are the server's own copy, never read from the segment. Positions are
 * int64 on the wire (size_t in the C API, so a negative one can only come
 * from a bad client) and must lie in [0, length): there is no Python
 * negative indexing here. An int array accepts ints and bools (as 0/1); a
 * float array accepts any number, converted. Every operation checks all
 * of its arguments before it writes anything, so an error changes nothing.
 *
 * The array's lock is an RLock whose word is in the segment too (at
 * OMI_SHM_STATE), with the rules of lock.h: ARRAY_LOCK and ARRAY_UNLOCK
 * are a lock's ACQUIRE and RELEASE. READ and WRITE of a range hold it
 * while they run, so ranges are consistent against each other and against
 * a holder of the lock: the holder's own session proceeds (recursively),
 * another session's READ or WRITE waits parked for it, and is done when
 * the lock is handed to it (lock_waiter.granted). A mapped client writes
 * ranges through the server for the same reason: a writer killed half-way
 * through its own copy would leave a mixed row.
 */
#include <stdlib.h>
#include <string.h>

#include "lock.h"

/* Longer than any memory could hold; keeps length * sizeof(om_item) (the
 * scratch array of a whole-array READ) far from overflowing. */
#define ARRAY_MAX_LEN ((int64_t)1 << 40)

struct array {
	struct obj o;
	om_kind kind; /* OM_INT or OM_FLOAT */
	size_t len;
	struct segment seg;     /* the elements at omi_shm_data(seg.base) */
	struct lock_state lock; /* get_lock(): its word at OMI_SHM_STATE */
};

/* A READ or WRITE parked until the array's lock is handed to it. */
struct array_waiter {
	struct lock_waiter lw;
	int64_t start;
	size_t n;
	uint64_t
	        *bits; /* WRITE: its elements (malloc'd, charged); READ: NULL */
};

/* Is position `i` (from the wire) inside the array? */
static bool in_range(const struct array *a, int64_t i)
{
	return i >= 0 && (uint64_t)i < a->len;
}

/* Is [start, start + n) inside the array? Written so nothing overflows. */
static bool range_ok(const struct array *a, int64_t start, int64_t n)
{
	return start >= 0 && n >= 0 && (uint64_t)start <= a->len &&
	       (uint64_t)n <= a->len - (uint64_t)start;
}

/* `it` as an element of `a` (omi_sarray_elem: an int array takes ints and
 * bools, since a float would lose its fraction, as in Python's array; a
 * float array any number). OM_OK, or OM_ETYPE set on c. */
static int to_elem(struct call *c, const struct array *a, const om_item *it,
                   uint64_t *bits)
{
	if (omi_sarray_elem(a->kind, it, bits) == OM_OK)
		return OM_OK;
	if (a->kind == OM_INT)
		return call_err(c, OM_ETYPE, OMI_MSG_NOT_INT,
		                omi_kind_name(it));
	return call_err(c, OM_ETYPE, OMI_MSG_NOT_REAL, omi_kind_name(it));
}

/* The results of a READ of n elements at start (in range). */
static int read_elems(struct array *a, struct call *c, int64_t start, size_t n)
{
	/* One scratch block for all the items, freed with the answer. */
	om_item *items = call_alloc(c, n * sizeof *items);
	if (!items)
		return call_err(c, OM_ENOMEM, "out of memory for %zu items", n);
	for (size_t k = 0; k < n; k++)
		items[k] =
		        omi_sarray_get(a->seg.base, a->kind, (size_t)start + k);
	return call_results(c, items, n);
}

static void write_elems(struct array *a, int64_t start, const uint64_t *bits,
                        size_t n)
{
	for (size_t k = 0; k < n; k++)
		omi_sarray_put(a->seg.base, (size_t)start + k, bits[k]);
}

/* A parked READ or WRITE: the lock is its session's now. */
static void granted(struct lock_waiter *lw)
{
	struct array_waiter *aw = container_of(lw, struct array_waiter, lw);
	struct array *a = (struct array *)lw->w.obj;
	struct call c;
	int rc = OM_OK;
	waiter_call(&lw->w, &c);
	if (aw->bits)
		write_elems(a, aw->start, aw->bits, aw->n);
	else
		rc = read_elems(a, &c, aw->start, aw->n);
	waiter_finish(&lw->w, &c, rc);
}

static void free_waiter(struct waiter *w)
{
	struct array_waiter *aw = container_of(w, struct array_waiter, lw.w);
	if (aw->bits)
		store_refund(aw->n * sizeof *aw->bits);
	free(aw->bits);
}

/*
 * A READ (bits NULL) or WRITE of n >= 1 elements at start, checked, under
 * the array's lock for c's session: done now if the lock is free or the
 * session's own, else parked (forever, as objmgr.proto says) until it is
 * handed over; a WRITE's elements are copied into the waiter.
 */
static int locked_op(struct array *a, struct call *c, int64_t start, size_t n,
                     const uint64_t *bits)
{
	int rc = lock_try(&a->lock, c->conn);
	if (rc == OM_OK || rc == OM_OWNER_DIED) {
		int res = OM_OK;
		if (bits)
			write_elems(a, start, bits, n);
		else
			res = read_elems(a, c, start, n);
		/* An owner-died warning is for whoever takes it next. */
		lock_untake(&a->lock, c->conn, rc == OM_OWNER_DIED);
		return res;
	}
	if (rc != OM_ETIMEOUT)
		return call_err(c, rc, "array lock acquired too often");
	uint64_t *copy = NULL;
	size_t bytes = n * sizeof *copy;
	if (bits) {
		if ((rc = store_charge(c, bytes)) != OM_OK)
			return rc;
		if (!(copy = malloc(bytes))) {
			store_refund(bytes);
			return call_err(c, OM_ENOMEM, "out of memory");
		}
		memcpy(copy, bits, bytes);
	}
	struct waiter *w;
	rc = waiter_park(c, &a->o, &a->lock.acquirers, -1, waiter_expire,
	                 sizeof(struct array_waiter), &w);
	if (rc != CALL_PARKED) {
		if (copy)
			store_refund(bytes);
		free(copy);
		return rc;
	}
	struct array_waiter *aw = container_of(w, struct array_waiter, lw.w);
	aw->start = start;
	aw->n = n;
	aw->bits = copy;
	aw->lw.depth = 1;
	aw->lw.code = OM_OK;
	aw->lw.granted = granted;
	w->on_free = free_waiter;
	lock_queued(&a->lock);
	return CALL_PARKED;
}

/* ARRAY_GET num=index -> item | EINDEX */
static int array_get(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	int64_t i = c->req->num;
	if (!in_range(a, i))
		return call_err(c, OM_EINDEX, "array index %lld out of range",
		                (long long)i);
	om_item it = omi_sarray_get(a->seg.base, a->kind, (size_t)i);
	return call_result(c, &it);
}

/* ARRAY_SET num=index item | EINDEX, ETYPE */
static int array_set(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	int64_t i = c->req->num;
	if (!in_range(a, i))
		return call_err(c, OM_EINDEX,
		                "array assignment index %lld out of range",
		                (long long)i);
	uint64_t bits;
	int rc = to_elem(c, a, &c->args[0], &bits);
	if (rc != OM_OK)
		return rc;
	omi_sarray_put(a->seg.base, (size_t)i, bits);
	return OM_OK;
}

/* An int operand as Python would print it in the overflow message. */
static long long as_int(const om_item *it)
{
	return it->kind == OM_BOOL ? it->b : (long long)it->i;
}

/* ARRAY_ADD num=index delta -> new value | EINDEX, ETYPE, EVALUE (overflow) */
static int array_add(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	int64_t i = c->req->num;
	const om_item *delta = &c->args[0];
	if (!in_range(a, i))
		return call_err(c, OM_EINDEX, "array index %lld out of range",
		                (long long)i);
	om_item sum;
	int rc = omi_sarray_add(a->seg.base, a->kind, (size_t)i, delta, &sum);
	if (rc == OM_OK)
		return call_result(c, &sum);
	/* The element as the message shows it (clients may have moved it). */
	om_item cur = omi_sarray_get(a->seg.base, a->kind, (size_t)i);
	if (rc == OM_EVALUE)
		return call_err(c, rc, OMI_MSG_OVERFLOW, (long long)cur.i,
		                as_int(delta));
	/* int + float is a float, which an int array cannot hold. */
	if (omi_item_is_num(delta))
		return call_err(c, rc, OMI_MSG_NOT_INT, "float");
	return call_err(c, rc, OMI_MSG_ADD_TYPES, omi_kind_name(&cur),
	                omi_kind_name(delta));
}

/* ARRAY_LEN -> num length */
static int array_len(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	call_num(c, (int64_t)a->len);
	return OM_OK;
}

/* ARRAY_READ num=start num2=count -> items a[start:start+count] | EINDEX */
static int array_read(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	int64_t start = c->req->num, n = c->req->num2;
	if (!range_ok(a, start, n))
		return call_err(c, OM_EINDEX,
		                "array read of %lld items at %lld out of range "
		                "(length %zu)",
		                (long long)n, (long long)start, a->len);
	if (n == 0)
		return OM_OK;
	return locked_op(a, c, start, (size_t)n, NULL);
}

/* ARRAY_WRITE num=start items... | EINDEX, ETYPE (all or nothing) */
static int array_write(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	int64_t start = c->req->num;
	if (c->nargs > (uint64_t)INT64_MAX ||
	    !range_ok(a, start, (int64_t)c->nargs))
		return call_err(c, OM_EINDEX,
		                "array write of %zu items at %lld out of range "
		                "(length %zu)",
		                c->nargs, (long long)start, a->len);
	if (c->nargs == 0)
		return OM_OK;
	/* Convert every item before writing any, so an error changes
	 * nothing. */
	uint64_t *bits = call_alloc(c, c->nargs * sizeof *bits);
	if (!bits)
		return call_err(c, OM_ENOMEM, "out of memory for %zu items",
		                c->nargs);
	for (size_t k = 0; k < c->nargs; k++) {
		int rc = to_elem(c, a, &c->args[k], &bits[k]);
		if (rc != OM_OK)
			return rc;
	}
	return locked_op(a, c, start, c->nargs, bits);
}

/* ARRAY_LOCK timeout -> OK | OWNER_DIED | ETIMEOUT */
static int array_lock(struct obj *o, struct call *c)
{
	return lock_acquire(&((struct array *)o)->lock, o, c);
}

/* ARRAY_UNLOCK | ENOTOWNER */
static int array_unlock(struct obj *o, struct call *c)
{
	return lock_release(&((struct array *)o)->lock, c);
}

/* OPEN creation: args [int kind (OM_INT or OM_FLOAT), int length] */
static int array_init(struct obj *o, struct call *c)
{
	const om_item *kind = &c->args[0], *len = &c->args[1];
	if (kind->kind != OM_INT || (kind->i != OM_INT && kind->i != OM_FLOAT))
		return call_err(c, OM_EINVAL,
		                "array kind must be OM_INT (%d) or "
		                "OM_FLOAT (%d)",
		                (int)OM_INT, (int)OM_FLOAT);
	if (len->kind != OM_INT || len->i < 0 || len->i > ARRAY_MAX_LEN)
		return call_err(c, OM_EINVAL,
		                "array length must be an int in [0, %lld]",
		                (long long)ARRAY_MAX_LEN);
	struct array *a = (struct array *)o;
	int rc = segment_init(&a->seg, c, OM_TYPE_ARRAY, (uint64_t)len->i,
	                      (uint32_t)kind->i, 0);
	if (rc != OM_OK)
		return rc;
	a->kind = (om_kind)kind->i;
	a->len = (size_t)len->i;
	lock_state_init(&a->lock, omi_shm_state(a->seg.base), true,
	                a->seg.fd >= 0 ? o : NULL);
	a->lock.obj = o;
	o->seg = &a->seg;
	return OM_OK;
}

static void array_fini(struct obj *o)
{
	struct array *a = (struct array *)o;
	lock_state_clear(&a->lock);
	segment_fini(&a->seg);
}

/* Its parked READs, WRITEs and LOCKs watch it; a holder of its lock does
 * not (locks_conn_gone). */
static void array_conn_gone(struct obj *o, struct conn *conn)
{
	lock_drop_waiters(&((struct array *)o)->lock, conn);
}

static uint64_t array_length(const struct obj *o)
{
	return ((const struct array *)o)->len;
}

/* Beyond the segment: the elements parked WRITEs keep. */
static uint64_t array_bytes(const struct obj *o)
{
	const struct array *a = (const struct array *)o;
	uint64_t n = 0;
	for (struct waiter *w = a->lock.acquirers.head; w; w = w->next) {
		struct lock_waiter *lw = container_of(w, struct lock_waiter, w);
		if (lw->granted != granted)
			continue; /* an ARRAY_LOCK */
		const struct array_waiter *aw =
		        container_of(lw, struct array_waiter, lw);
		if (aw->bits)
			n += aw->n * sizeof *aw->bits;
	}
	return n;
}

/* The elements as they are in the segment now. */
static int array_dump(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	/* Each element takes 2 bytes or more on the wire. */
	if (a->len > omi_srv.limits.max_frame / 2)
		return call_err(c, OM_ETOOBIG,
		                "an array of %zu elements is over the frame "
		                "limit",
		                a->len);
	if (a->len == 0)
		return OM_OK;
	om_item *v = call_alloc(c, a->len * sizeof *v);
	if (!v)
		return call_err(c, OM_ENOMEM, "out of memory dumping an array");
	for (size_t i = 0; i < a->len; i++)
		v[i] = omi_sarray_get(a->seg.base, a->kind, i);
	return call_results(c, v, a->len);
}

static const struct type_look array_look = {array_length, array_bytes,
                                            array_dump};

static const struct op_def array_ops[] = {
        OP(ARRAY_GET, array_get, 0, 0),
        OP(ARRAY_SET, array_set, 1, OPF_CHANGES),
        OP(ARRAY_ADD, array_add, 1, OPF_CHANGES),
        OP(ARRAY_LEN, array_len, 0, 0),
        OP(ARRAY_READ, array_read, 0, 0),
        OP(ARRAY_WRITE, array_write, OP_VARARGS, OPF_CHANGES),
        OP(ARRAY_LOCK, array_lock, 0, OPF_TIMEOUT | OPF_CHANGES),
        OP(ARRAY_UNLOCK, array_unlock, 0, OPF_CHANGES),
};

TYPE_DEF(array, ARRAY, "array", struct array, 2, 0, array_init, array_fini,
         array_conn_gone, NULL, NULL);
