/*
 * dict.c — the client side of the dict type; server/dict.c is the other
 * half. Each om_dict_* call packs its key, values and integers into one
 * request (see the DICT_* ops in proto/objmgr.proto), runs it with
 * omi_call(), which checks the handle and the items, and copies what the
 * server answered into the caller's outputs. Outputs are written only on
 * success; required output pointers that are NULL are OM_EINVAL before any
 * round trip.
 */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

/* Run `op` on dict d with `nargs` items from `args`. */
static int dict_call(om_dict *d, int op, const om_item *args, size_t nargs,
                     Objmgr__Response **r)
{
	struct omi_args a = {.op = op, .args = args, .nargs = nargs};

	return omi_call(d, OM_TYPE_DICT, &a, r);
}

/* d[key] = val */
int om_dict_set(om_dict *d, om_item key, om_item val)
{
	om_item kv[2] = {key, val};
	Objmgr__Response *r;

	return dict_call(d, OBJMGR__OP__DICT_SET, kv, 2, &r);
}

/* d[key] -> *out */
int om_dict_get(om_dict *d, om_item key, om_item *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_GET, &key, 1, &r);
	return rc < 0 ? rc : omi_out_item(r, 0, out);
}

/* del d[key] */
int om_dict_del(om_dict *d, om_item key)
{
	Objmgr__Response *r;

	return dict_call(d, OBJMGR__OP__DICT_DEL, &key, 1, &r);
}

/* *out = d.pop(key) */
int om_dict_pop(om_dict *d, om_item key, om_item *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_POP, &key, 1, &r);
	return rc < 0 ? rc : omi_out_item(r, 0, out);
}

/* *key, *val = d.popitem() */
int om_dict_popitem(om_dict *d, om_item *key, om_item *val)
{
	Objmgr__Response *r;
	om_item k, v;
	int rc;

	if (!key || !val)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_POPITEM, NULL, 0, &r);
	if (rc < 0)
		return rc;
	rc = omi_out_item(r, 0, &k);
	if (rc < 0)
		return rc;
	rc = omi_out_item(r, 1, &v);
	if (rc < 0) {
		om_item_free(&k);
		return rc;
	}
	*key = k;
	*val = v;
	return OM_OK;
}

/* *out = d.setdefault(key, dflt) */
int om_dict_setdefault(om_dict *d, om_item key, om_item dflt, om_item *out)
{
	om_item kv[2] = {key, dflt};
	Objmgr__Response *r;
	int rc;

	rc = dict_call(d, OBJMGR__OP__DICT_SETDEFAULT, kv, 2, &r);
	if (rc < 0 || !out)
		return rc;
	return omi_out_item(r, 0, out);
}

/* *out = key in d */
int om_dict_contains(om_dict *d, om_item key, bool *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_CONTAINS, &key, 1, &r);
	if (rc < 0)
		return rc;
	*out = r->num != 0;
	return OM_OK;
}

/* *out = len(d) */
int om_dict_len(om_dict *d, size_t *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_LEN, NULL, 0, &r);
	if (rc < 0)
		return rc;
	if (r->num < 0 || (uint64_t)r->num > SIZE_MAX)
		return OM_EPROTO;
	*out = (size_t)r->num;
	return OM_OK;
}

/* *out = list(d.keys()) */
int om_dict_keys(om_dict *d, om_items *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_KEYS, NULL, 0, &r);
	return rc < 0 ? rc : omi_out_items(r, 0, 1, out);
}

/* *out = list(d.values()) */
int om_dict_values(om_dict *d, om_items *out)
{
	Objmgr__Response *r;
	int rc;

	if (!out)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_VALUES, NULL, 0, &r);
	return rc < 0 ? rc : omi_out_items(r, 0, 1, out);
}

/* *keys, *values = zip(*d.items()) */
int om_dict_items(om_dict *d, om_items *keys, om_items *values)
{
	Objmgr__Response *r;
	om_items k, v;
	int rc;

	if (!keys || !values)
		return OM_EINVAL;
	rc = dict_call(d, OBJMGR__OP__DICT_ITEMS, NULL, 0, &r);
	if (rc < 0)
		return rc;
	if (r->n_results % 2)
		return OM_EPROTO;
	rc = omi_out_items(r, 0, 2, &k);
	if (rc < 0)
		return rc;
	rc = omi_out_items(r, 1, 2, &v);
	if (rc < 0) {
		om_items_free(&k);
		return rc;
	}
	*keys = k;
	*values = v;
	return OM_OK;
}

/* d.update(zip(keys, values)) */
int om_dict_update(om_dict *d, const om_item *keys, const om_item *values,
                   size_t n)
{
	Objmgr__Response *r;
	om_item *kv = NULL;
	size_t i;
	int rc;

	if (n > 0 && (!keys || !values))
		return OM_EINVAL;
	if (n > 0) {
		if (n > SIZE_MAX / 2 / sizeof(*kv))
			return OM_ENOMEM;
		kv = malloc(2 * n * sizeof(*kv));
		if (!kv)
			return OM_ENOMEM;
		for (i = 0; i < n; i++) {
			kv[2 * i] = keys[i];
			kv[2 * i + 1] = values[i];
		}
	}
	rc = dict_call(d, OBJMGR__OP__DICT_UPDATE, kv, 2 * n, &r);
	free(kv);
	return rc;
}

/* d.clear() */
int om_dict_clear(om_dict *d)
{
	Objmgr__Response *r;

	return dict_call(d, OBJMGR__OP__DICT_CLEAR, NULL, 0, &r);
}

/* d[key] += delta; *out = d[key] (atomic; a missing key counts as 0) */
int om_dict_incr(om_dict *d, om_item key, om_item delta, om_item *out)
{
	om_item kd[2] = {key, delta};
	Objmgr__Response *r;
	int rc;

	rc = dict_call(d, OBJMGR__OP__DICT_INCR, kd, 2, &r);
	if (rc < 0 || !out)
		return rc;
	return omi_out_item(r, 0, out);
}
