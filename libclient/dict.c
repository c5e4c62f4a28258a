/*
 * dict.c — the client side of the dict type; server/dict.c is the other
 * half. Each om_dict_* call packs its key, values and integers into one
 * request (see the DICT_* ops in proto/objmgr.proto) and runs it with
 * omi_call(), which checks the handle and the items; the call's completion
 * (done.c) copies what the server answered into the caller's outputs, at
 * once or, in a pipeline, at om_pipeline_end(). Outputs are written only
 * on success; required output pointers that are NULL are OM_EINVAL before
 * any round trip.
 */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

#define OMI_TYPE OM_TYPE_DICT /* the rows' type (OMI_CALL, internal.h) */

/* *out = manager.dict(), or the one called `name` */
int om_dict_open(om_client *c, const char *name, int flags, om_dict **out)
{
	return omi_open(c, name, flags, OM_TYPE_DICT, NULL, 0, (void **)out);
}

/* d[key] = val */
int om_dict_set(om_dict *d, om_item key, om_item val)
{
	om_item kv[2] = {key, val};

	return omi_call_op(d, OMI_TYPE, OBJMGR__OP__DICT_SET, kv, 2, 0, 0, NULL,
	                   NULL);
}

/* d[key] -> *out */
OMI_GET1(om_dict_get, om_dict, om_item, DICT_GET, omi_done_item)

/* del d[key] */
OMI_CALL1(om_dict_del, om_dict, DICT_DEL)

/* *out = d.pop(key) */
OMI_GET1(om_dict_pop, om_dict, om_item, DICT_POP, omi_done_item)

/* *key, *val = d.popitem() */
OMI_GET2(om_dict_popitem, om_dict, om_item, DICT_POPITEM, omi_done_item2)

/* *out = d.setdefault(key, dflt) */
int om_dict_setdefault(om_dict *d, om_item key, om_item dflt, om_item *out)
{
	om_item kv[2] = {key, dflt};

	return omi_call_op(d, OMI_TYPE, OBJMGR__OP__DICT_SETDEFAULT, kv, 2, 0,
	                   0, omi_done_item, out);
}

/* *out = key in d */
OMI_GET1(om_dict_contains, om_dict, bool, DICT_CONTAINS, omi_done_bool)

/* *out = len(d) */
OMI_GET(om_dict_len, om_dict, size_t, DICT_LEN, omi_done_size)

/* *out = list(d.keys()) */
OMI_GET(om_dict_keys, om_dict, om_items, DICT_KEYS, omi_done_items)

/* *out = list(d.values()) */
OMI_GET(om_dict_values, om_dict, om_items, DICT_VALUES, omi_done_items)

/* *keys, *values = zip(*d.items()) */
OMI_GET2(om_dict_items, om_dict, om_items, DICT_ITEMS, omi_done_split)

/* d.update(zip(keys, values)) */
int om_dict_update(om_dict *d, const om_item *keys, const om_item *values,
                   size_t n)
{
	if (n > 0 && (!keys || !values))
		return OM_EINVAL;
	om_item *kv = NULL;
	if (n > 0) {
		if (n > SIZE_MAX / 2 / sizeof *kv)
			return OM_ENOMEM;
		kv = malloc(2 * n * sizeof *kv);
		if (!kv)
			return OM_ENOMEM;
		for (size_t i = 0; i < n; i++) {
			kv[2 * i] = keys[i];
			kv[2 * i + 1] = values[i];
		}
	}
	/* The request is packed by the call, pipelined or not: kv can go. */
	int rc = omi_call_op(d, OMI_TYPE, OBJMGR__OP__DICT_UPDATE, kv, 2 * n, 0,
	                     0, NULL, NULL);
	free(kv);
	return rc;
}

/* d.clear() */
OMI_CALL(om_dict_clear, om_dict, DICT_CLEAR)

/* *values = [d.get(k) for k in keys]; *found = how many were there */
int om_dict_get_many(om_dict *d, const om_item *keys, size_t n,
                     om_items *values, size_t *found)
{
	if (!values || (n > 0 && !keys))
		return OM_EINVAL;
	return omi_call(d, OMI_TYPE,
	                &(struct omi_args){.op = OBJMGR__OP__DICT_GET_MANY,
	                                   .args = keys,
	                                   .nargs = n,
	                                   .done = omi_done_items,
	                                   .out = values,
	                                   .out2 = found});
}

/* d[key] += delta; *out = d[key] (atomic; a missing key counts as 0) */
int om_dict_incr(om_dict *d, om_item key, om_item delta, om_item *out)
{
	om_item kd[2] = {key, delta};

	return omi_call_op(d, OMI_TYPE, OBJMGR__OP__DICT_INCR, kd, 2, 0, 0,
	                   omi_done_item, out);
}
