/*
 * value.c — the VALUE type: one shared item, like the Value proxy of
 * Python's multiprocessing.Manager, plus the two updates that proxy cannot
 * do atomically: add (v += delta) and compare-and-swap.
 *
 * A number or a bool lives in the object's segment, in one 16-byte cell
 * (struct omi_svalue, proto/shm.h) that mapped clients read and update
 * with no round trip, always by a 16-byte compare-and-swap, so no reader
 * sees a torn or mixed item. Any other item (a str, bytes, nil or ref) is
 * kept here with store_item() — its bytes, memory charge and the
 * reference a stored OM_REF holds handled as in a dict or a list — and the
 * cell says OMI_SV_SERVER: mapped clients then come to the server. A cell
 * of any kind the server does not know (garbage a client wrote) counts as
 * "with the server" too.
 *
 * Clients change the cell concurrently with the server, but only from a
 * number to a number: so the server changes it only by compare-and-swap
 * against the cell it based its decision on, and starts over when it lost
 * (value_put). The kept item and the cell change together: a new kept
 * item is stored before the cell points to it, and the old one is cleared
 * after, so a failure (size or memory limit, dead REF) changes nothing.
 */
#include <stdlib.h>

#include "segment.h"
#include "shm.h"

struct value {
	struct obj o;
	struct segment seg;
	struct omi_svalue *sv; /* the cell, in seg */
	om_item v; /* the item while the cell says OMI_SV_SERVER, else nil */
};

typedef unsigned __int128 cell_t;

/* The item the cell `cell` stands for: unpacked into *tmp, or the kept
 * one. */
static const om_item *item_of(struct value *v, cell_t cell, om_item *tmp)
{
	return omi_svalue_unpack(cell, tmp) ? tmp : &v->v;
}

/*
 * Make `x` the value, if the cell still is `cur`: *done then, else the
 * caller reads the cell again and starts over. OM_OK, or an error set on
 * c (storing x failed: nothing changed).
 */
static int value_put(struct value *v, struct call *c, cell_t cur,
                     const om_item *x, bool *done)
{
	om_item kept = {.kind = OM_NIL};
	int rc;
	if (!omi_svalue_fits(x) && (rc = store_item(c, &kept, x)) != OM_OK)
		return rc;
	*done = omi_svalue_cas(v->sv, &cur, omi_svalue_pack(x));
	if (!*done) {
		store_clear(&kept);
		return OM_OK;
	}
	store_clear(&v->v);
	v->v = kept;
	return OM_OK;
}

/* VALUE_GET -> item */
static int value_get(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	om_item tmp;
	return call_result(c, item_of(v, omi_svalue_load(v->sv), &tmp));
}

/* VALUE_SET item */
static int value_set(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	bool done;
	do {
		int rc = value_put(v, c, omi_svalue_load(v->sv), &c->args[0],
		                   &done);
		if (rc != OM_OK)
			return rc;
	} while (!done);
	return OM_OK;
}

/* VALUE_ADD delta -> new value | ETYPE, EVALUE (int64 overflow) */
static int value_add(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	om_item tmp, sum;
	bool done = false;
	do {
		cell_t cur = omi_svalue_load(v->sv);
		int rc = call_add(c, item_of(v, cur, &tmp), &c->args[0], &sum);
		if (rc == OM_OK)
			rc = value_put(v, c, cur, &sum, &done);
		if (rc != OM_OK)
			return rc;
	} while (!done);
	return call_result(c, &sum);
}

/* VALUE_CAS expected desired -> num 1 (swapped) / 0 (value != expected) */
static int value_cas(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	om_item tmp;
	bool done = false;
	do {
		cell_t cur = omi_svalue_load(v->sv);
		if (!omi_item_eq(item_of(v, cur, &tmp), &c->args[0])) {
			call_num(c, 0);
			return OM_OK;
		}
		int rc = value_put(v, c, cur, &c->args[1], &done);
		if (rc != OM_OK)
			return rc;
	} while (!done);
	call_num(c, 1);
	return OM_OK;
}

/* OPEN creation: args [initial item], stored as VALUE_SET does. */
static int value_init(struct obj *o, struct call *c)
{
	struct value *v = (struct value *)o;
	int rc = segment_init(&v->seg, c, OM_TYPE_VALUE, 0, 0, 0);
	if (rc != OM_OK)
		return rc;
	v->sv = omi_shm_state(v->seg.base);
	v->v = (om_item){.kind = OM_NIL};
	bool done;
	/* Nobody else has the segment yet: the swap cannot lose. */
	if ((rc = value_put(v, c, omi_svalue_load(v->sv), &c->args[0],
	                    &done)) != OM_OK) {
		segment_fini(&v->seg);
		return rc;
	}
	o->seg = &v->seg;
	return OM_OK;
}

/* The cycle collector's clear: the kept item goes (a ref, maybe); the
 * cell still says the server has it, so the value reads nil. */
static void value_clear(struct obj *o)
{
	store_clear(&((struct value *)o)->v);
}

static void value_fini(struct obj *o)
{
	struct value *v = (struct value *)o;
	store_clear(&v->v);
	segment_fini(&v->seg);
}

static void value_traverse(struct obj *o, visit_fn visit, void *arg)
{
	store_visit(&((struct value *)o)->v, visit, arg);
}

/* Beyond the segment: the item kept here (a str, bytes). */
static uint64_t value_bytes(const struct obj *o)
{
	return omi_item_extra(&((const struct value *)o)->v);
}

static const struct type_look value_look = {NULL, value_bytes, value_get};

static const struct op_def value_ops[] = {
        OP(VALUE_GET, value_get, 0, 0),
        OP(VALUE_SET, value_set, 1, OPF_CHANGES),
        OP(VALUE_ADD, value_add, 1, OPF_CHANGES),
        OP(VALUE_CAS, value_cas, 2, OPF_CHANGES),
};

TYPE_DEF(value, VALUE, "value", struct value, 1, 0, value_init, value_fini,
         NULL, value_traverse, value_clear);
