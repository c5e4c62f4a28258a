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

/* Run `op` on dict d with `nargs` items from `args`; `done` converts the
 * answer into out and out2. */
static int dict_call(om_dict *d, int op, const om_item *args, size_t nargs,
                     omi_done_fn *done, void *out, void *out2)
{
	struct omi_args a = {.op = op,
	                     .args = args,
	                     .nargs = nargs,
	                     .done = done,
	                     .out = out,
	                     .out2 = out2};

	return omi_call(d, OM_TYPE_DICT, &a);
}

/* *out = manager.dict(), or the one called `name` */
int om_dict_open(om_client *c, const char *name, int flags, om_dict **out)
{
	return omi_open(c, name, flags, OM_TYPE_DICT, NULL, 0, (void **)out);
}

/* d[key] = val */
int om_dict_set(om_dict *d, om_item key, om_item val)
{
	om_item kv[2] = {key, val};

	return dict_call(d, OBJMGR__OP__DICT_SET, kv, 2, NULL, NULL, NULL);
}

/* d[key] -> *out */
int om_dict_get(om_dict *d, om_item key, om_item *out)
{
	if (!out)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_GET, &key, 1, omi_done_item, out,
	                 NULL);
}

/* del d[key] */
int om_dict_del(om_dict *d, om_item key)
{
	return dict_call(d, OBJMGR__OP__DICT_DEL, &key, 1, NULL, NULL, NULL);
}

/* *out = d.pop(key) */
int om_dict_pop(om_dict *d, om_item key, om_item *out)
{
	if (!out)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_POP, &key, 1, omi_done_item, out,
	                 NULL);
}

/* *key, *val = d.popitem() */
int om_dict_popitem(om_dict *d, om_item *key, om_item *val)
{
	if (!key || !val)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_POPITEM, NULL, 0, omi_done_item2,
	                 key, val);
}

/* *out = d.setdefault(key, dflt) */
int om_dict_setdefault(om_dict *d, om_item key, om_item dflt, om_item *out)
{
	om_item kv[2] = {key, dflt};

	return dict_call(d, OBJMGR__OP__DICT_SETDEFAULT, kv, 2, omi_done_item,
	                 out, NULL);
}

/* *out = key in d */
int om_dict_contains(om_dict *d, om_item key, bool *out)
{
	if (!out)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_CONTAINS, &key, 1, omi_done_bool,
	                 out, NULL);
}

/* *out = len(d) */
int om_dict_len(om_dict *d, size_t *out)
{
	if (!out)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_LEN, NULL, 0, omi_done_size, out,
	                 NULL);
}

/* *out = list(d.keys()) */
int om_dict_keys(om_dict *d, om_items *out)
{
	if (!out)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_KEYS, NULL, 0, omi_done_items, out,
	                 NULL);
}

/* *out = list(d.values()) */
int om_dict_values(om_dict *d, om_items *out)
{
	if (!out)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_VALUES, NULL, 0, omi_done_items,
	                 out, NULL);
}

/* *keys, *values = zip(*d.items()) */
int om_dict_items(om_dict *d, om_items *keys, om_items *values)
{
	if (!keys || !values)
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_ITEMS, NULL, 0, omi_done_split,
	                 keys, values);
}

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
	int rc = dict_call(d, OBJMGR__OP__DICT_UPDATE, kv, 2 * n, NULL, NULL,
	                   NULL);
	free(kv);
	return rc;
}

/* d.clear() */
int om_dict_clear(om_dict *d)
{
	return dict_call(d, OBJMGR__OP__DICT_CLEAR, NULL, 0, NULL, NULL, NULL);
}

/* *values = [d.get(k) for k in keys]; *found = how many were there */
int om_dict_get_many(om_dict *d, const om_item *keys, size_t n,
                     om_items *values, size_t *found)
{
	if (!values || (n > 0 && !keys))
		return OM_EINVAL;
	return dict_call(d, OBJMGR__OP__DICT_GET_MANY, keys, n, omi_done_items,
	                 values, found);
}

/* d[key] += delta; *out = d[key] (atomic; a missing key counts as 0) */
int om_dict_incr(om_dict *d, om_item key, om_item delta, om_item *out)
{
	om_item kd[2] = {key, delta};

	return dict_call(d, OBJMGR__OP__DICT_INCR, kd, 2, omi_done_item, out,
	                 NULL);
}
