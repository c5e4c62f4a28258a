/*
 * value.c — the VALUE type: one shared item, like the Value proxy of
 * Python's multiprocessing.Manager, plus the two updates that proxy cannot
 * do atomically: add (v += delta) and compare-and-swap.
 *
 * The item is any kind and is kept with store_item(), so its bytes, its
 * memory charge and the reference held by a stored OM_REF are handled the
 * same way as in a dict or a list. Every update goes through
 * store_replace(), which stores the new item before it clears the old one,
 * so a failure (size or memory limit, dead REF) leaves the value as it was.
 */
#include <stdlib.h>

#include "obj.h"

/* Defined at the end, with the op table; create() needs it first. */

struct value {
	struct obj o;
	om_item v; /* kept with store_item() */
};

/* VALUE_GET -> item */
static int value_get(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	return call_result(c, &v->v);
}

/* VALUE_SET item */
static int value_set(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	return store_replace(c, &v->v, &c->args[0]);
}

/* VALUE_ADD delta -> new value | ETYPE, EVALUE (int64 overflow) */
static int value_add(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	om_item sum;
	int rc = call_add(c, &v->v, &c->args[0], &sum);
	if (rc != OM_OK)
		return rc;
	rc = store_replace(c, &v->v, &sum);
	if (rc != OM_OK)
		return rc;
	return call_result(c, &v->v);
}

/* VALUE_CAS expected desired -> num 1 (swapped) / 0 (value != expected) */
static int value_cas(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	if (!omi_item_eq(&v->v, &c->args[0])) {
		call_num(c, 0);
		return OM_OK;
	}
	int rc = store_replace(c, &v->v, &c->args[1]);
	if (rc != OM_OK)
		return rc;
	call_num(c, 1);
	return OM_OK;
}

/* OPEN creation: args [initial item] */
static int value_init(struct obj *o, struct call *c)
{
	return store_item(c, &((struct value *)o)->v, &c->args[0]);
}

static void value_fini(struct obj *o)
{
	struct value *v = (struct value *)o;
	store_clear(&v->v);
}

static void value_traverse(struct obj *o, visit_fn visit, void *arg)
{
	store_visit(&((struct value *)o)->v, visit, arg);
}

/* Tables indented with tabs like the rest of the file. */
static const struct op_def value_ops[] = {
        OP(VALUE_GET, value_get, 0, 0),
        OP(VALUE_SET, value_set, 1, 0),
        OP(VALUE_ADD, value_add, 1, 0),
        OP(VALUE_CAS, value_cas, 2, 0),
};

TYPE_DEF(value, VALUE, "value", struct value, 1, 0, value_init, value_fini,
         NULL, value_traverse, value_fini);
