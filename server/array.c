/*
 * array.c — the ARRAY type: a fixed-length typed array of int64_t (OM_INT)
 * or double (OM_FLOAT), zero-filled, like the Array proxy of Python's
 * multiprocessing.Manager (array.array('q') / array.array('d')), plus an
 * atomic a[i] += delta.
 *
 * The elements are plain numbers, not om_items: no bytes or references to
 * keep, so the storage is one calloc'd block charged to the server's memory
 * limit with store_charge() at creation and refunded in destroy. Positions
 * are int64 on the wire (size_t in the C API, so a negative one can only
 * come from a bad client) and must lie in [0, length): there is no Python
 * negative indexing here. An int array accepts ints and bools (as 0/1); a
 * float array accepts any number, converted. Every operation checks all of
 * its arguments before it writes anything, so an error changes nothing.
 */
#include <stdlib.h>

#include "obj.h"

/* Defined at the end, with the op table; create() needs it first. */

/* Longer than any memory could hold; keeps length * sizeof(om_item) (the
 * scratch array of a whole-array READ) far from overflowing. */
#define ARRAY_MAX_LEN ((int64_t)1 << 40)

struct array {
	struct obj o;
	om_kind kind; /* OM_INT or OM_FLOAT */
	size_t len;
	union {
		int64_t *i; /* kind OM_INT */
		double *f;  /* kind OM_FLOAT */
		void *p;
	};
};

/* One element, in the array's own representation. */
union elem {
	int64_t i;
	double f;
};

/* Bytes of element storage for `len` elements (both kinds are 8 bytes). */
static size_t storage(size_t len)
{
	return len * sizeof(union elem);
}

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

/* Element i as an item. */
static om_item get_item(const struct array *a, size_t i)
{
	if (a->kind == OM_INT)
		return (om_item){.kind = OM_INT, .i = a->i[i]};
	return (om_item){.kind = OM_FLOAT, .f = a->f[i]};
}

/*
 * Convert `it` to an element of `a`: an int array takes ints and bools (a
 * float would lose its fraction, so it is refused, like Python's array),
 * a float array takes any number. OM_OK, or OM_ETYPE set on c.
 */
static int to_elem(struct call *c, const struct array *a, const om_item *it,
                   union elem *out)
{
	if (a->kind == OM_INT) {
		if (it->kind == OM_INT) {
			out->i = it->i;
			return OM_OK;
		}
		if (it->kind == OM_BOOL) {
			out->i = it->b ? 1 : 0;
			return OM_OK;
		}
		return call_err(c, OM_ETYPE,
		                "'%s' object cannot be interpreted as an "
		                "integer",
		                omi_kind_name(it));
	}
	switch (it->kind) {
	case OM_FLOAT:
		out->f = it->f;
		return OM_OK;
	case OM_INT:
		out->f = (double)it->i;
		return OM_OK;
	case OM_BOOL:
		out->f = it->b ? 1.0 : 0.0;
		return OM_OK;
	default:
		return call_err(c, OM_ETYPE, "must be real number, not %s",
		                omi_kind_name(it));
	}
}

static void put_elem(struct array *a, size_t i, union elem e)
{
	if (a->kind == OM_INT)
		a->i[i] = e.i;
	else
		a->f[i] = e.f;
}

/* ARRAY_GET num=index -> item | EINDEX */
static int array_get(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	int64_t i = c->req->num;
	if (!in_range(a, i))
		return call_err(c, OM_EINDEX, "array index %lld out of range",
		                (long long)i);
	om_item it = get_item(a, (size_t)i);
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
	union elem e;
	int rc = to_elem(c, a, &c->args[0], &e);
	if (rc != OM_OK)
		return rc;
	put_elem(a, (size_t)i, e);
	return OM_OK;
}

/* ARRAY_ADD num=index delta -> new value | EINDEX, ETYPE, EVALUE (overflow) */
static int array_add(struct obj *o, struct call *c)
{
	struct array *a = (struct array *)o;
	int64_t i = c->req->num;
	if (!in_range(a, i))
		return call_err(c, OM_EINDEX, "array index %lld out of range",
		                (long long)i);
	om_item cur = get_item(a, (size_t)i), sum;
	int rc = call_add(c, &cur, &c->args[0], &sum);
	if (rc != OM_OK)
		return rc;
	/* int + float is a float, which an int array cannot hold. */
	union elem e;
	rc = to_elem(c, a, &sum, &e);
	if (rc != OM_OK)
		return rc;
	put_elem(a, (size_t)i, e);
	sum = get_item(a, (size_t)i);
	return call_result(c, &sum);
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
	/* One scratch block for all the items, freed with the request. */
	om_item *items = call_alloc(c, (size_t)n * sizeof *items);
	if (!items)
		return call_err(c, OM_ENOMEM, "out of memory for %lld items",
		                (long long)n);
	for (size_t k = 0; k < (size_t)n; k++)
		items[k] = get_item(a, (size_t)start + k);
	return call_results(c, items, (size_t)n);
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
	/* Check every item before writing any, so an error changes nothing. */
	union elem e;
	for (size_t k = 0; k < c->nargs; k++) {
		int rc = to_elem(c, a, &c->args[k], &e);
		if (rc != OM_OK)
			return rc;
	}
	for (size_t k = 0; k < c->nargs; k++) {
		to_elem(c, a, &c->args[k], &e);
		put_elem(a, (size_t)start + k, e);
	}
	return OM_OK;
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
	int rc = store_charge(c, storage((size_t)len->i));
	if (rc != OM_OK)
		return rc;
	struct array *a = (struct array *)o;
	/* calloc(0) may return NULL: keep one element's room for length 0. */
	a->p = calloc(len->i ? (size_t)len->i : 1, sizeof(union elem));
	if (!a->p) {
		store_refund(storage((size_t)len->i));
		return call_err(c, OM_ENOMEM,
		                "out of memory for an array of %lld",
		                (long long)len->i);
	}
	a->kind = (om_kind)kind->i;
	a->len = (size_t)len->i;
	return OM_OK;
}

static void array_fini(struct obj *o)
{
	struct array *a = (struct array *)o;
	store_refund(storage(a->len));
	free(a->p);
}

/* Tables indented with tabs like the rest of the file. */
static const struct op_def array_ops[] = {
        OP(ARRAY_GET, array_get, 0, 0),
        OP(ARRAY_SET, array_set, 1, 0),
        OP(ARRAY_ADD, array_add, 1, 0),
        OP(ARRAY_LEN, array_len, 0, 0),
        OP(ARRAY_READ, array_read, 0, 0),
        OP(ARRAY_WRITE, array_write, OP_VARARGS, 0),
};

TYPE_DEF(array, ARRAY, "array", struct array, 2, 0, array_init, array_fini,
         NULL, NULL, NULL);
