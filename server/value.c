/*
 * value.c — the VALUE type: one shared item, like the Value proxy of
 * Python's multiprocessing.Manager, plus the two updates that proxy cannot
 * do atomically: add (v += delta) and compare-and-swap.
 *
 * The item is any kind and is kept with store_item(), so its bytes, its
 * memory charge and the reference held by a stored OM_REF are handled the
 * same way as in a dict or a list. Every update stores the new item before
 * it clears the old one, so a failure (size or memory limit, dead REF)
 * leaves the value as it was. Dispatch holds the object's lock around each
 * operation, so nothing here locks.
 */
#include <stdlib.h>

#include "obj.h"

struct value {
	struct obj o;
	om_item v; /* kept with store_item() */
};

/* An OM_INT or OM_BOOL item's integer (bools are 0 and 1, as in Python). */
static long long as_int(const om_item *it)
{
	return it->kind == OM_BOOL ? it->b : (long long)it->i;
}

/* Keep a copy of `src` as the new value, then drop the old one: the order
 * that leaves the value untouched when store_item() fails. */
static int replace(struct value *v, struct call *c, const om_item *src)
{
	om_item tmp;
	int rc = store_item(c, &tmp, src);

	if (rc != OM_OK)
		return rc;
	store_clear(&v->v);
	v->v = tmp;
	return OM_OK;
}

/* VALUE_GET -> item */
static int value_get(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	int rc = call_nargs(c, 0);

	if (rc != OM_OK)
		return rc;
	return call_result(c, &v->v);
}

/* VALUE_SET item */
static int value_set(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	int rc = call_nargs(c, 1);

	if (rc != OM_OK)
		return rc;
	return replace(v, c, &c->args[0]);
}

/* VALUE_ADD delta -> new value | ETYPE, EVALUE (int64 overflow) */
static int value_add(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	om_item sum;
	int rc = call_nargs(c, 1);

	if (rc != OM_OK)
		return rc;
	rc = omi_item_add(&v->v, &c->args[0], &sum);
	if (rc == OM_ETYPE)
		return call_err(c, rc,
		                "unsupported operand type(s) for +=: "
		                "'%s' and '%s'",
		                omi_kind_name(&v->v), omi_kind_name(&c->args[0]));
	if (rc != OM_OK)
		return call_err(c, rc, "int64 overflow in %lld + %lld",
		                as_int(&v->v), as_int(&c->args[0]));
	rc = replace(v, c, &sum);
	if (rc != OM_OK)
		return rc;
	return call_result(c, &v->v);
}

/* VALUE_CAS expected desired -> num 1 (swapped) / 0 (value != expected) */
static int value_cas(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	int rc = call_nargs(c, 2);

	if (rc != OM_OK)
		return rc;
	if (!omi_item_eq(&v->v, &c->args[0])) {
		call_num(c, 0);
		return OM_OK;
	}
	rc = replace(v, c, &c->args[1]);
	if (rc != OM_OK)
		return rc;
	call_num(c, 1);
	return OM_OK;
}

/* OPEN creation: args [initial item] */
static int value_create(struct call *c, struct obj **out)
{
	struct value *v;
	om_item init;
	int rc = call_nargs(c, 1);

	if (rc != OM_OK)
		return rc;
	rc = store_item(c, &init, &c->args[0]);
	if (rc != OM_OK)
		return rc;
	v = calloc(1, sizeof(*v));
	if (!v) {
		store_clear(&init);
		return call_err(c, OM_ENOMEM, "out of memory for a value");
	}
	obj_init(&v->o, &value_type);
	v->v = init;
	*out = &v->o;
	return OM_OK;
}

static void value_destroy(struct obj *o)
{
	struct value *v = (struct value *)o;

	store_clear(&v->v);
	free(v);
}

static const op_fn ops[] = {
	[OBJMGR__OP__VALUE_GET - OBJMGR__OP__VALUE_GET] = value_get,
	[OBJMGR__OP__VALUE_SET - OBJMGR__OP__VALUE_GET] = value_set,
	[OBJMGR__OP__VALUE_ADD - OBJMGR__OP__VALUE_GET] = value_add,
	[OBJMGR__OP__VALUE_CAS - OBJMGR__OP__VALUE_GET] = value_cas,
};

const struct type_def value_type = {
	.name = "value",
	.type = OM_TYPE_VALUE,
	.op_base = OBJMGR__OP__VALUE_GET,
	.nops = sizeof(ops) / sizeof(ops[0]),
	.ops = ops,
	.create = value_create,
	.destroy = value_destroy,
};
